/**
 * One kpg failover (or apply) at a time per cluster: the Lease NAME-failover
 * (coordination.k8s.io), renewed while the command runs. A second run fails
 * at once naming the holder; a holder that stopped renewing (killed) is waited
 * out until its lease expires.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { LeaseHeldError, type LeaseObject } from '../kube/index.js';
import { emit, type FailoverContext } from './context.js';

export const LEASE_TTL_S = 15;
export const RENEW_EVERY_MS = 3_000;

/** Who holds the lease: host, pid and a nonce; the command when it is not a failover. */
export function leaseHolder(command?: string): string {
  const id = `kpg@${hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`;
  return command ? `${id}:${command}` : id;
}

export function leaseName(cluster: string): string {
  return `${cluster}-failover`;
}

export interface LeaseHandle {
  /** Fires when the lease was lost (taken over after we failed to renew). */
  signal: AbortSignal;
  release(): Promise<void>;
}

/** Seconds since the holder last renewed. */
function ageSeconds(lease: LeaseObject, now: number): number {
  const t = Date.parse(lease.spec?.renewTime ?? lease.spec?.acquireTime ?? '');
  return Number.isNaN(t) ? Infinity : (now - t) / 1000;
}

export async function takeLease(ctx: FailoverContext): Promise<LeaseHandle> {
  const name = leaseName(ctx.cluster);
  for (let attempt = 0; ; attempt++) {
    const r = await ctx.kube.acquireLease(ctx.namespace, name, ctx.holder, LEASE_TTL_S);
    if (r.acquired) break;
    const now = ctx.clock.now();
    const left = Math.max(0, (r.expiresAt.getTime() - now) / 1000);
    // A live holder renews every few seconds; one that stopped is waited out once.
    if (
      attempt === 0 &&
      ageSeconds(r.lease, now) * 1000 > 2 * RENEW_EVERY_MS &&
      left <= LEASE_TTL_S
    ) {
      emit(ctx, {
        type: 'info',
        message: `lease ${name} is held by ${r.holder}, which stopped renewing it: waiting ${left.toFixed(1)}s for it to expire`,
      });
      await ctx.clock.sleep(left * 1000 + 250, ctx.signal);
      continue;
    }
    throw new LeaseHeldError(
      `another kpg failover or apply is running on ${ctx.namespace}/${ctx.cluster}: lease ${name} is held by ${r.holder} (expires in ${left.toFixed(0)}s unless renewed)`,
      r.holder,
      'wait for it to finish, then run the command again (an interrupted failover is completed by the next one)',
    );
  }
  const lost = new AbortController();
  let failures = 0;
  const timer = setInterval(() => {
    ctx.kube.renewLease(ctx.namespace, name, ctx.holder, LEASE_TTL_S).then(
      () => (failures = 0),
      (err: unknown) => {
        failures++;
        if (err instanceof LeaseHeldError || failures * RENEW_EVERY_MS >= LEASE_TTL_S * 1000) {
          lost.abort(
            new LeaseHeldError(`lost lease ${name}: ${(err as Error).message}`, undefined),
          );
        }
      },
    );
  }, RENEW_EVERY_MS);
  timer.unref();
  return {
    signal: lost.signal,
    release: async () => {
      clearInterval(timer);
      await ctx.kube.releaseLease(ctx.namespace, name, ctx.holder).catch((err: Error) => {
        emit(ctx, {
          type: 'warn',
          message: `could not release lease ${name} (it expires in ${LEASE_TTL_S}s): ${err.message}`,
        });
      });
    },
  };
}

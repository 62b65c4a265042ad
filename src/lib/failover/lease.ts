/**
 * One kpg failover (or apply) at a time per cluster: the Lease NAME-failover
 * (coordination.k8s.io), renewed while the command runs. A second run fails
 * at once naming the holder; a holder that stopped renewing (killed) is waited
 * out until this run has seen its lease unchanged for a whole lease duration.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { LeaseHeldError, type LeaseObject } from '../kube/index.js';
import { emit, type FailoverContext } from './context.js';
import { HOLDER_PROCESS_ANNOTATION, holderGone, holderProcessValue } from './holder-process.js';

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

/** The holder was a process of this machine's boot and pid namespace that is gone. */
function gone(lease: LeaseObject): boolean {
  return holderGone(
    lease.spec?.holderIdentity,
    lease.metadata?.annotations?.[HOLDER_PROCESS_ANNOTATION],
  );
}

/** Seconds since the holder last renewed, by its clock against ours: a hint, never a verdict. */
function ageSeconds(lease: LeaseObject, now: number): number {
  const t = Date.parse(lease.spec?.renewTime ?? lease.spec?.acquireTime ?? '');
  return Number.isNaN(t) ? Infinity : (now - t) / 1000;
}

function heldError(ctx: FailoverContext, name: string, holder: string): LeaseHeldError {
  return new LeaseHeldError(
    `another kpg failover or apply is running on ${ctx.namespace}/${ctx.cluster}: lease ${name} is held by ${holder}`,
    holder,
    'wait for it to finish, then run the command again (an interrupted failover is completed by the next one)',
  );
}

/** What this run has seen of a lease held by another. */
interface Watch {
  /** The version first seen stale, and when (this run's clock). */
  watched?: { version: string; sinceMs: number };
  /** The version to take over (watched for a whole duration, or its holder gone). */
  expired?: string;
}

type Verdict =
  | { kind: 'held' }
  | { kind: 'gone' }
  | { kind: 'watch'; ttlS: number; sleepMs: number }
  | { kind: 'wait'; sleepMs: number }
  | { kind: 'take' };

/** Judges a lease another holds, updating `w`; pure but for `holderGone`. */
export function judgeHeld(
  w: Watch,
  lease: LeaseObject,
  now: number,
  holderGone: (lease: LeaseObject) => boolean,
): Verdict {
  const version = lease.metadata?.resourceVersion ?? '';
  const ttlS = lease.spec?.leaseDurationSeconds ?? LEASE_TTL_S;
  if (w.expired === undefined && holderGone(lease)) {
    w.expired = version;
    return { kind: 'gone' };
  }
  let first = false;
  if (w.watched === undefined) {
    // Fresh-looking, or held for longer than a kpg run's TTL on purpose: not ours to wait out.
    if (ageSeconds(lease, now) * 1000 <= 2 * RENEW_EVERY_MS || ttlS > LEASE_TTL_S)
      return { kind: 'held' };
    w.watched = { version, sinceMs: now };
    first = true;
  } else if (version !== w.watched.version) {
    // Renewed (the holder lives) or taken by another run meanwhile.
    return { kind: 'held' };
  }
  const left = w.watched.sinceMs + ttlS * 1000 - now;
  if (left > 0) {
    const sleepMs = Math.min(left, RENEW_EVERY_MS);
    return first ? { kind: 'watch', ttlS, sleepMs } : { kind: 'wait', sleepMs };
  }
  // Refused again at the version already asked for: the compare-and-swap found it changed.
  if (w.expired === version) return { kind: 'held' };
  w.expired = version;
  return { kind: 'take' };
}

/**
 * Takes NAME-failover. A holder whose renewTime looks fresh is taken to be
 * alive: the command fails at once, naming it (refusing on a wrong clock
 * costs a retry, nothing more). One that looks stale is watched: the lease
 * is taken over only once this run has seen the same resourceVersion for a
 * whole lease duration on its own clock, with a compare-and-swap on that
 * version; a renewal meanwhile means the holder lives, and the command fails.
 * A holder that was a process of this machine (same boot and pid namespace)
 * and no longer exists is taken over at once, also by compare-and-swap.
 */
export async function takeLease(ctx: FailoverContext): Promise<LeaseHandle> {
  const name = leaseName(ctx.cluster);
  const value = holderProcessValue(ctx.holder);
  const annotations: Record<string, string> = value ? { [HOLDER_PROCESS_ANNOTATION]: value } : {};
  const watch: Watch = {};
  for (;;) {
    const r = await ctx.kube.acquireLease(ctx.namespace, name, ctx.holder, LEASE_TTL_S, {
      ...(watch.expired !== undefined ? { expiredVersion: watch.expired } : {}),
      annotations,
    });
    if (r.acquired) break;
    const v = judgeHeld(watch, r.lease, ctx.clock.now(), gone);
    if (v.kind === 'held') throw heldError(ctx, name, r.holder);
    if (v.kind === 'gone' || v.kind === 'watch') {
      const why =
        v.kind === 'gone'
          ? 'a process of this machine that has exited: taking it over'
          : `which seems to have stopped renewing it: taking it over if it stays unchanged for ${v.ttlS}s`;
      emit(ctx, { type: 'info', message: `lease ${name} is held by ${r.holder}, ${why}` });
    }
    if (v.kind === 'watch' || v.kind === 'wait') await ctx.clock.sleep(v.sleepMs, ctx.signal);
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

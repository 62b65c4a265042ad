// coordination.k8s.io/v1 Lease as a mutex (kpg failover runs one at a time).
// Optimistic concurrency: create when absent, update with the read
// resourceVersion when free, ours, or the very version the caller has seen
// unchanged for a whole lease duration (expiry judged on the observer's own
// clock, as client-go's leaderelection does: never the holder's renewTime
// against ours); refuse, naming the holder, otherwise.
import type { Kube } from './client.js';
import {
  AlreadyExistsError,
  ConflictError,
  LeaseHeldError,
  NotFoundError,
  UnknownResourceError,
} from './errors.js';
import type { LeaseObject, LeaseResult } from './types.js';

const LEASE = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' } as const;
const MAX_ROUNDS = 5;

/** RFC 3339 with microseconds, as MicroTime wants it. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** When the lease runs out by the holder's clock (renewTime, else acquireTime, plus the duration): display only. */
export function leaseExpiry(lease: LeaseObject): Date {
  const spec = lease.spec ?? {};
  const from = Date.parse(spec.renewTime ?? spec.acquireTime ?? '');
  if (Number.isNaN(from)) return new Date(0);
  return new Date(from + (spec.leaseDurationSeconds ?? 0) * 1000);
}

/** Free to take: released, or still the version the caller watched expire. */
function isFree(lease: LeaseObject, expiredVersion: string | undefined): boolean {
  if (!lease.spec?.holderIdentity) return true;
  const rv = lease.metadata?.resourceVersion;
  return expiredVersion !== undefined && rv !== undefined && rv === expiredVersion;
}

/** How a caller takes a lease. */
export interface AcquireOptions {
  /** The resourceVersion the caller saw unchanged for a whole lease duration: taken over if still current. */
  expiredVersion?: string;
  /** Set on the lease for this holder (a previous holder's are dropped). */
  annotations?: Record<string, string>;
}

function heldBy(
  lease: LeaseObject,
  holder: string,
  ttlSeconds: number,
  now: number,
  annotations?: Record<string, string>,
): LeaseObject {
  const spec = lease.spec ?? {};
  const ours = spec.holderIdentity === holder;
  const metadata = ours ? lease.metadata : { ...lease.metadata, annotations: { ...annotations } };
  return {
    ...lease,
    ...(metadata ? { metadata } : {}),
    spec: {
      ...spec,
      holderIdentity: holder,
      leaseDurationSeconds: ttlSeconds,
      acquireTime: ours && spec.acquireTime ? spec.acquireTime : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: (spec.leaseTransitions ?? 0) + (ours ? 0 : 1),
    },
  };
}

/** Which lease, and who asks. */
export interface LeaseRef {
  ns: string;
  name: string;
  holder: string;
}

async function tryAcquire(
  kube: Kube,
  { ns, name, holder }: LeaseRef,
  ttlSeconds: number,
  opts: AcquireOptions,
): Promise<LeaseResult> {
  const now = kube.clock.now();
  const current = await kube.find<LeaseObject>(LEASE, ns, name);
  if (!current) {
    const lease = await kube.create<LeaseObject>({
      ...LEASE,
      metadata: {
        name,
        namespace: ns,
        ...(opts.annotations ? { annotations: opts.annotations } : {}),
      },
      spec: {
        holderIdentity: holder,
        leaseDurationSeconds: ttlSeconds,
        acquireTime: microTime(now),
        renewTime: microTime(now),
        leaseTransitions: 0,
      },
    });
    return { acquired: true, lease };
  }
  if (current.spec?.holderIdentity !== holder && !isFree(current, opts.expiredVersion)) {
    return {
      acquired: false,
      holder: current.spec?.holderIdentity ?? '',
      expiresAt: leaseExpiry(current),
      lease: current,
    };
  }
  // The PUT carries the resourceVersion we read: a concurrent taker makes it fail with 409.
  return {
    acquired: true,
    lease: await kube.replace(heldBy(current, holder, ttlSeconds, now, opts.annotations)),
  };
}

export async function acquireLease(
  kube: Kube,
  ref: LeaseRef,
  ttlSeconds: number,
  opts: AcquireOptions = {},
): Promise<LeaseResult> {
  const { ns, name } = ref;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    try {
      return await tryAcquire(kube, ref, ttlSeconds, opts);
    } catch (err) {
      // Someone else created or updated it between our read and write: look again.
      if (!(err instanceof AlreadyExistsError || err instanceof ConflictError)) throw err;
    }
  }
  throw new LeaseHeldError(
    `could not acquire lease ${ns}/${name}: it kept changing under us`,
    undefined,
    'another kpg is contending for it; retry shortly',
  );
}

export async function renewLease(
  kube: Kube,
  { ns, name, holder }: LeaseRef,
  ttlSeconds?: number,
): Promise<LeaseResult> {
  const { object } = await kube.mutate<LeaseObject>(LEASE, ns, name, (lease) => {
    const current = lease.spec?.holderIdentity;
    if (current !== holder) {
      throw new LeaseHeldError(
        `lease ${ns}/${name} is held by ${current || 'nobody'}, not ${holder}`,
        current,
        'the lease expired and was taken over; stop and start again',
      );
    }
    return heldBy(
      lease,
      holder,
      ttlSeconds ?? lease.spec?.leaseDurationSeconds ?? 15,
      kube.clock.now(),
    );
  });
  return { acquired: true, lease: object };
}

export async function releaseLease(kube: Kube, { ns, name, holder }: LeaseRef): Promise<boolean> {
  if (!(await kube.find<LeaseObject>(LEASE, ns, name))) return false;
  let released = false;
  try {
    await kube.mutate<LeaseObject>(LEASE, ns, name, (lease) => {
      released = lease.spec?.holderIdentity === holder;
      if (!released || !lease.spec) return lease;
      // As client-go does: clear the holder, keep the object and its transition count.
      delete lease.spec.holderIdentity;
      lease.spec.leaseDurationSeconds = 1;
      lease.spec.renewTime = microTime(kube.clock.now());
      return lease;
    });
  } catch (err) {
    if (err instanceof NotFoundError && !(err instanceof UnknownResourceError)) return false;
    throw err;
  }
  return released;
}

/** A fake Lease API server, a fake world clock, and observed states for decide(). */
import type { LeaseObject } from '../../../src/lib/kube/types.js';
import {
  DEFAULT_TIMING,
  LeaseConflictError,
  LeaseElector,
  type HaClock,
  type Identity,
  type LeaseApi,
  type LocalState,
  type Observed,
  type Policy,
} from '../../../src/lib/ha/index.js';

/** Real time in the test, in ms; every participant's clock derives from it. */
export class World {
  t = 0;
  advance(ms: number): void {
    this.t += ms;
  }
  /** A participant's clock: its own origin (seconds since its boot) and rate. */
  clock(opts: { origin?: number; rate?: number } = {}): HaClock & { origin: number } {
    const origin = opts.origin ?? 1_000_000;
    const rate = opts.rate ?? 1;
    return {
      origin,
      now: () => origin + this.t * rate,
      // Wall clocks may be anywhere: nothing should read them for decisions.
      wall: () => 1_700_000_000_000 + this.t * rate,
    };
  }
}

export class TimeoutError extends Error {}

/** What the next request of one client does. */
export type Fault =
  /** The write lands, then the response is lost. */
  | 'timeout-landed'
  /** The request is lost before it reaches the server. */
  | 'timeout-lost';

/** One Lease in one API server; each client has its own scripted faults. */
export class FakeLeaseServer {
  object: LeaseObject | undefined;
  private rv = 0;
  /** Every request fails (API server down). */
  down = false;
  writes = 0;

  client(): LeaseApi & { faults: Fault[] } {
    const faults: Fault[] = [];
    const run = <T>(apply: () => T): T => {
      if (this.down) throw new TimeoutError('the API server does not answer');
      const f = faults.shift();
      if (f === 'timeout-lost') throw new TimeoutError('request timed out');
      const out = apply();
      if (f === 'timeout-landed') throw new TimeoutError('request timed out');
      return out;
    };
    return {
      faults,
      get: async () => run(() => (this.object ? structuredClone(this.object) : undefined)),
      create: async (lease) =>
        run(() => {
          if (this.object) throw new LeaseConflictError('leases "pg-primary" already exists');
          return this.store(lease);
        }),
      replace: async (lease) =>
        run(() => {
          if (!this.object) throw new Error('not found');
          if (lease.metadata?.resourceVersion !== this.object.metadata?.resourceVersion) {
            throw new LeaseConflictError('the object has been modified');
          }
          return this.store(lease);
        }),
    };
  }

  /** Someone else (kpg failover, a test) writes the lease directly. */
  store(lease: LeaseObject): LeaseObject {
    this.writes++;
    this.object = structuredClone({
      ...lease,
      metadata: { ...lease.metadata, resourceVersion: String(++this.rv) },
    });
    return structuredClone(this.object);
  }
}

export const POLICY: Policy = {
  timing: { ...DEFAULT_TIMING },
  maximumLagBytes: 1024n * 1024n,
  synchronous: false,
  recentStreamingMs: 20_000,
  primaryDownMs: 2_000,
  primaryRecoveryMs: 20_000,
};

export function identity(pod: string, uid = `uid-${pod}`): Identity {
  return { pod, uid };
}

export function elector(
  server: FakeLeaseServer,
  world: World,
  self: Identity,
  clockOpts: { origin?: number; rate?: number } = {},
) {
  const api = server.client();
  const clock = world.clock(clockOpts);
  const e = new LeaseElector({
    api,
    clock,
    self,
    timing: POLICY.timing,
    ref: { namespace: 'demo', name: 'pg-primary' },
  });
  return { e, api, clock };
}

export function standby(over: Partial<LocalState> = {}): LocalState {
  return {
    role: 'standby',
    timeline: 1,
    flushLsn: 0x3000000n,
    replayLsn: 0x3000000n,
    streaming: true,
    replayPaused: false,
    roleSinceMs: 0,
    ...over,
  };
}

export function primary(over: Partial<LocalState> = {}): LocalState {
  return standby({ role: 'primary', streaming: false, ...over });
}

/** The Observed an agent would build from its elector and the rest. */
export function observedFrom(
  e: LeaseElector,
  rest: Omit<Observed, 'lease' | 'holding' | 'policy'> & { policy?: Policy },
): Observed {
  const obs = e.observed;
  const deadline = e.renewDeadlineMs;
  return {
    policy: POLICY,
    ...rest,
    lease: {
      readable: true,
      ...(obs?.snapshot ? { snapshot: obs.snapshot } : {}),
      unchangedForMs: e.unchangedForMs(),
    },
    ...(deadline !== undefined ? { holding: { renewDeadlineMs: deadline } } : {}),
  };
}

/** decide(): each takeover rule, the holder's steps, fencing a primary without the lease. */
import { describe, expect, it } from 'vitest';
import {
  LeaseAnnotation,
  decide,
  lagProblem,
  snapshotOf,
  type Action,
  type Observed,
  type PeerState,
} from '../../../src/lib/ha/index.js';
import type { LeaseObject } from '../../../src/lib/kube/types.js';
import { POLICY, identity, primary, standby } from './fakes.js';

const NOW = 100_000;
const stepOf = (a: Action) => (a.kind === 'lead' ? a.step : a.kind);
const self = identity('pg-1');

function lease(annotations: Record<string, string>, holder: string | undefined = 'pg-0/uid-pg-0') {
  const o: LeaseObject = {
    metadata: {
      name: 'pg-primary',
      resourceVersion: '7',
      annotations: {
        [LeaseAnnotation.lsn]: '0/3000000',
        [LeaseAnnotation.timeline]: '1',
        ...annotations,
      },
    },
    spec: { ...(holder ? { holderIdentity: holder } : {}), leaseDurationSeconds: 10 },
  };
  return snapshotOf(o);
}

/** A standby pg-1 looking at pg-0's lease, unchanged for 10 s (expired) unless told. */
function seen(
  over: Partial<Observed> = {},
  annotations: Record<string, string> = {},
  unchangedForMs = 10_000,
): Observed {
  return {
    self,
    policy: POLICY,
    lease: { readable: true, snapshot: lease(annotations), unchangedForMs },
    record: { primary: 'pg-0', timeline: 1 },
    local: standby(),
    peers: [],
    ...over,
  };
}
const peer = (pod: string, lsn: bigint, over: Partial<PeerState> = {}): PeerState => ({
  pod,
  reachable: true,
  role: 'standby',
  timeline: 1,
  flushLsn: lsn,
  eligible: true,
  ...over,
});

describe('decide: takeover by a standby', () => {
  it('follows while the lease is changing', () => {
    expect(decide(seen({}, {}, 9_999), NOW)).toMatchObject({ kind: 'follow' });
  });

  it('takes over an expired lease when it is the best eligible standby', () => {
    const a = decide(seen({ peers: [peer('pg-2', 0x2000000n)] }), NOW);
    expect(a).toMatchObject({ kind: 'acquire', as: 'takeover' });
    expect(a.reason).toContain('has not changed for 10.0s');
  });

  it('a recently streaming standby may take over; one that stopped long ago may not', () => {
    const recent = standby({ streaming: false, lastStreamingMs: NOW - 15_000 });
    expect(decide(seen({ local: recent }), NOW).kind).toBe('acquire');
    const stale = standby({ streaming: false, lastStreamingMs: NOW - 25_000 });
    expect(decide(seen({ local: stale }), NOW)).toMatchObject({
      kind: 'refuse',
      reason: expect.stringContaining('last streamed from the primary 25.0s ago'),
    });
    const never = standby({ streaming: false });
    expect(decide(seen({ local: never }), NOW).reason).toContain('has not streamed');
  });

  it('a pod back with an empty data directory never takes over a bootstrapped cluster, and says why', () => {
    const empty = standby({ role: 'starting', data: 'empty' });
    const a = decide(
      seen({ local: empty, record: { primary: 'pg-0', timeline: 1, bootstrapped: '7301' } }),
      NOW,
    );
    expect(a).toMatchObject({
      kind: 'refuse',
      reason: expect.stringContaining(
        "(system identifier 7301): it will not initdb over the cluster's data",
      ),
    });
  });

  it('time the lease could not be read does not count as time without streaming', () => {
    // Streaming stopped at -40 s, during an API outage from -45 s to -12 s: 7 s count.
    const cut = standby({ streaming: false, lastStreamingMs: NOW - 40_000 });
    const after = (fromMs: number, toMs: number) =>
      seen({
        local: cut,
        lease: {
          readable: true,
          snapshot: lease({}),
          unchangedForMs: 10_000,
          outage: { fromMs: NOW - fromMs, toMs: NOW - toMs },
        },
      });
    expect(decide(after(45_000, 12_000), NOW)).toMatchObject({ kind: 'acquire' });
    // An outage long before it stopped streaming excuses nothing.
    expect(decide(after(300_000, 200_000), NOW)).toMatchObject({
      kind: 'refuse',
      reason: expect.stringContaining('last streamed from the primary 40.0s ago'),
    });
    // Only the part after streaming stopped: 40 s - (40 - 35) s = 35 s.
    expect(decide(after(50_000, 35_000), NOW)).toMatchObject({
      kind: 'refuse',
      reason: expect.stringContaining(
        'last streamed from the primary 40.0s ago (more than 20.0s, 35.0s not counting 5.0s without the lease)',
      ),
    });
  });

  it('a standby that stopped streaming long ago may take over when the lease says the primary is down', () => {
    const stale = standby({ streaming: false, lastStreamingMs: NOW - 300_000 });
    expect(decide(seen({ local: stale }), NOW).kind).toBe('refuse');
    const down = decide(seen({ local: stale }, { [LeaseAnnotation.primaryDown]: 'true' }), NOW);
    expect(down).toMatchObject({ kind: 'acquire', as: 'takeover' });
    // The lag to the LSN it last published still bounds the loss.
    const behind = standby({
      streaming: false,
      lastStreamingMs: NOW - 300_000,
      flushLsn: 0x1000000n,
    });
    expect(
      decide(seen({ local: behind }, { [LeaseAnnotation.primaryDown]: 'true' }), NOW).kind,
    ).toBe('refuse');
  });

  it('refuses when WAL replay is paused', () => {
    const a = decide(seen({ local: standby({ replayPaused: true }) }), NOW);
    expect(a).toMatchObject({
      kind: 'refuse',
      reason: expect.stringContaining('replay is paused'),
    });
  });

  it("refuses a standby on a timeline older than the record's", () => {
    const a = decide(seen({ record: { primary: 'pg-0', timeline: 2 } }), NOW);
    expect(a.kind).toBe('refuse');
    expect(a.reason).toContain("timeline 1 is older than the record's 2");
    expect(
      decide(
        seen({ local: standby({ timeline: 3 }), record: { primary: 'pg-0', timeline: 2 } }),
        NOW,
      ).kind,
    ).toBe('acquire');
  });

  it('takes over within maximumLagBeforeFailover of the published LSN, never beyond', () => {
    const within = standby({ flushLsn: 0x3000000n - 1024n * 1024n });
    expect(decide(seen({ local: within }), NOW).kind).toBe('acquire');
    const beyond = standby({ flushLsn: 0x3000000n - 1024n * 1024n - 1n });
    const a = decide(seen({ local: beyond }), NOW);
    expect(a.kind).toBe('refuse');
    expect(a.reason).toContain('1048577 bytes) behind the LSN the primary last published');
    expect(a.reason).toContain('maximumLagBeforeFailover 1048576');
  });

  it('refuses when the primary never published an LSN (the loss cannot be bounded)', () => {
    const o = seen();
    if (o.lease.readable && o.lease.snapshot) o.lease.snapshot.published = {};
    expect(decide(o, NOW)).toMatchObject({
      kind: 'refuse',
      reason: expect.stringContaining('never published'),
    });
  });

  it('waits for a reachable eligible peer ahead of it', () => {
    const a = decide(seen({ peers: [peer('pg-2', 0x3000100n)] }), NOW);
    expect(a).toMatchObject({
      kind: 'wait',
      reason: expect.stringContaining('pg-2 is ahead (0/3000100 vs 0/3000000)'),
    });
  });

  it('ignores peers that are unreachable or not eligible (asynchronous)', () => {
    const peers = [
      peer('pg-2', 0x3000100n, { reachable: false }),
      peer('pg-3', 0x3000200n, { eligible: false }),
    ];
    expect(decide(seen({ peers }), NOW).kind).toBe('acquire');
  });

  it('breaks ties by ordinal: the lower one goes first, the other waits', () => {
    const equal = 0x3000000n;
    const pg2 = { ...seen({ self: identity('pg-2'), peers: [peer('pg-1', equal)] }) };
    expect(decide(pg2, NOW)).toMatchObject({
      kind: 'wait',
      reason: expect.stringContaining('pg-1 has the same LSN'),
    });
    const pg1 = seen({ peers: [peer('pg-2', equal)] });
    expect(decide(pg1, NOW).kind).toBe('acquire');
    // pg-10 sorts after pg-9: by number, not text.
    const pg10 = seen({ self: identity('pg-10'), peers: [peer('pg-9', equal)] });
    expect(decide(pg10, NOW).kind).toBe('wait');
  });

  it('synchronous mode: only a standby the lease lists as synchronous', () => {
    const policy = { ...POLICY, synchronous: true };
    const unlisted = decide(seen({ policy }, { [LeaseAnnotation.synchronous]: 'pg-2' }), NOW);
    expect(unlisted).toMatchObject({
      kind: 'refuse',
      reason: expect.stringContaining('synchronous standby'),
    });
    const listed = decide(
      seen(
        { policy, peers: [peer('pg-2', 0x3000000n)] },
        { [LeaseAnnotation.synchronous]: 'pg-1,pg-2' },
      ),
      NOW,
    );
    expect(listed.kind).toBe('acquire');
  });

  it('synchronous mode: a listed peer ahead blocks even when it judged itself ineligible; a silent one blocks too', () => {
    const policy = { ...POLICY, synchronous: true };
    const ann = { [LeaseAnnotation.synchronous]: 'pg-1,pg-2' };
    const ahead = decide(
      seen({ policy, peers: [peer('pg-2', 0x3000100n, { eligible: false })] }, ann),
      NOW,
    );
    expect(ahead.kind).toBe('wait');
    const silent = decide(
      seen({ policy, peers: [peer('pg-2', 0n, { reachable: false })] }, ann),
      NOW,
    );
    expect(silent).toMatchObject({
      kind: 'refuse',
      reason: expect.stringContaining('pg-2 does not answer'),
    });
  });

  it('never takes over when its pod is annotated kpg.io/nofailover, even as the most advanced', () => {
    expect(
      decide(seen({ noFailover: true, peers: [peer('pg-2', 0x2000000n)] }), NOW),
    ).toMatchObject({
      kind: 'refuse',
      reason: expect.stringContaining('kpg.io/nofailover'),
    });
  });

  it('waits while kpg failover drives the cluster', () => {
    const a = decide(seen({}, { [LeaseAnnotation.paused]: 'kpg failover (host/123)' }), NOW);
    expect(a).toMatchObject({
      kind: 'wait',
      reason: expect.stringContaining('kpg failover (host/123) drives'),
    });
  });

  it('a lease that cannot be read changes nothing for a standby', () => {
    const o = seen({ lease: { readable: false, error: 'connect ETIMEDOUT' } });
    expect(decide(o, NOW)).toMatchObject({ kind: 'unknown' });
  });
});

describe('decide: the primary side', () => {
  const holder = identity('pg-0');
  const mine = (over: Partial<Observed> = {}): Observed =>
    seen(
      {
        self: holder,
        local: primary({ flushLsn: 0x3000000n, lastPrimaryMs: NOW }),
        labelled: 'primary',
        record: { primary: 'pg-0', timeline: 1 },
        holding: { renewDeadlineMs: NOW + 5000 },
        ...over,
      },
      {},
      500,
    );

  it('renews while it holds the lease and postgres serves', () => {
    expect(decide(mine(), NOW)).toMatchObject({ kind: 'lead', step: 'none' });
  });

  it('steps down once the renew deadline passed', () => {
    const a = decide(mine({ holding: { renewDeadlineMs: NOW - 1 } }), NOW);
    expect(a).toMatchObject({
      kind: 'step-down',
      reason: expect.stringContaining('renew deadline'),
    });
    const unreadable = decide(
      mine({ holding: { renewDeadlineMs: NOW - 1 }, lease: { readable: false, error: 'x' } }),
      NOW,
    );
    expect(unreadable.kind).toBe('step-down');
    const before = decide(mine({ lease: { readable: false, error: 'x' } }), NOW);
    expect(before).toMatchObject({ kind: 'lead', step: 'none' });
  });

  it('steps down when the lease names another pod', () => {
    const o = mine();
    if (o.lease.readable && o.lease.snapshot) o.lease.snapshot.holder = 'pg-2/uid-pg-2';
    expect(decide(o, NOW)).toMatchObject({
      kind: 'step-down',
      reason: expect.stringContaining('pg-2'),
    });
  });

  it('gives the lease up once its postgres stays down', () => {
    const down = (sinceMs: number) =>
      mine({ local: { ...primary(), role: 'down', roleSinceMs: sinceMs, lastPrimaryMs: sinceMs } });
    expect(decide(down(NOW - 1000), NOW).kind).toBe('lead');
    expect(decide(down(NOW - 2500), NOW)).toMatchObject({ kind: 'release' });
    // Never served yet (bootstrap, the postgres container still pulling its image): not given up.
    const notYet = mine({
      local: { ...primary(), role: 'down', roleSinceMs: NOW - 60_000, lastPrimaryMs: undefined },
    });
    expect(decide(notYet, NOW)).toMatchObject({ kind: 'lead', step: 'start-primary' });
  });

  it('gives a holder that just reclaimed the lease after a long outage its full time to start', () => {
    const back = (heldForMs: number) =>
      mine({
        holding: { renewDeadlineMs: NOW + 5000, sinceMs: NOW - heldForMs },
        local: {
          ...primary(),
          role: 'starting',
          roleSinceMs: NOW - 500,
          lastPrimaryMs: NOW - 600_000,
        },
      });
    expect(decide(back(1000), NOW)).toMatchObject({ kind: 'lead', step: 'start-primary' });
    expect(decide(back(2500), NOW)).toMatchObject({ kind: 'release' });
  });

  it('lets crash recovery (the postmaster started, not answering yet) take longer', () => {
    const recovering = (downMs: number) =>
      mine({
        local: {
          ...primary(),
          role: 'starting',
          recovering: true,
          roleSinceMs: NOW - downMs,
          lastPrimaryMs: NOW - downMs,
        },
      });
    expect(decide(recovering(10_000), NOW)).toMatchObject({ kind: 'lead', step: 'start-primary' });
    expect(decide(recovering(25_000), NOW)).toMatchObject({ kind: 'release' });
  });

  it('gives the lease up when its postgres is killed at each restart (down, starting, down...)', () => {
    // Each state lasts under the bound; the time since it last served as primary does not.
    const flapping = (role: 'down' | 'starting') =>
      mine({ local: { ...primary(), role, roleSinceMs: NOW - 500, lastPrimaryMs: NOW - 2500 } });
    expect(decide(flapping('starting'), NOW)).toMatchObject({ kind: 'release' });
    expect(decide(flapping('down'), NOW)).toMatchObject({ kind: 'release' });
    const recovering = mine({
      local: { ...primary(), role: 'starting', roleSinceMs: NOW - 500, lastPrimaryMs: NOW - 1000 },
    });
    expect(decide(recovering, NOW)).toMatchObject({ kind: 'lead', step: 'start-primary' });
  });

  it('takes the steps of a takeover in order: record, promote, label, timeline', () => {
    const me = identity('pg-1');
    const base = (over: Partial<Observed>) => mine({ self: me, ...over });
    const leaseOfMe = (o: Observed) => {
      if (o.lease.readable && o.lease.snapshot) o.lease.snapshot.holder = 'pg-1/uid-pg-1';
      return o;
    };
    expect(stepOf(decide(leaseOfMe(base({ local: standby() })), NOW))).toBe('write-record');
    const recorded = { record: { primary: 'pg-1', timeline: 1 } };
    expect(stepOf(decide(leaseOfMe(base({ ...recorded, local: standby() })), NOW))).toBe('promote');
    const unlabelled = base({ ...recorded, local: primary({ timeline: 2 }), labelled: 'replica' });
    expect(stepOf(decide(leaseOfMe(unlabelled), NOW))).toBe('label');
    expect(
      stepOf(decide(leaseOfMe(base({ ...recorded, local: primary({ timeline: 2 }) })), NOW)),
    ).toBe('record-timeline');
    const done = base({
      record: { primary: 'pg-1', timeline: 2 },
      local: primary({ timeline: 2 }),
    });
    expect(stepOf(decide(leaseOfMe(done), NOW))).toBe('none');
  });

  it('lets the start script start postgres as primary once the lease is held', () => {
    const o = mine({ local: { ...primary(), role: 'starting', roleSinceMs: NOW - 60_000 } });
    expect(decide(o, NOW)).toMatchObject({ kind: 'lead', step: 'start-primary' });
  });

  it('creates the lease at bootstrap only from the pod the record names', () => {
    const none = (pod: string): Observed => ({
      ...seen({ self: identity(pod), local: { ...standby(), role: 'starting' } }),
      lease: { readable: true, unchangedForMs: 0 },
    });
    expect(decide(none('pg-0'), NOW)).toMatchObject({ kind: 'acquire', as: 'bootstrap' });
    expect(decide(none('pg-1'), NOW)).toMatchObject({ kind: 'follow' });
  });

  it('never bootstraps empty data once the record says the cluster was bootstrapped', () => {
    const empty: Observed = {
      ...seen({
        self: identity('pg-0'),
        local: { ...standby(), role: 'starting', data: 'empty' },
        record: { primary: 'pg-0', timeline: 3, bootstrapped: '7581234567890123456' },
      }),
      lease: { readable: true, unchangedForMs: 0 },
    };
    expect(decide(empty, NOW)).toMatchObject({
      kind: 'refuse',
      reason: expect.stringContaining('will not initdb over the cluster'),
    });
    // Its own data (a primary's, the Lease deleted): it may recreate the lease.
    const own = { ...empty, local: { ...empty.local, data: 'primary' as const } };
    expect(decide(own, NOW)).toMatchObject({ kind: 'acquire', as: 'bootstrap' });
  });

  it('gives the lease up when its own volume comes back empty after the bootstrap', () => {
    const held = mine({
      local: { ...standby(), role: 'starting', data: 'empty' },
      record: { primary: 'pg-0', timeline: 3, bootstrapped: '7581234567890123456' },
    });
    expect(decide(held, NOW)).toMatchObject({
      kind: 'release',
      reason: expect.stringContaining('will not initdb over the cluster'),
    });
    // Before the first bootstrap, empty data is what the holder initdbs.
    const first = { ...held, record: { primary: 'pg-0', timeline: 1 } };
    expect(decide(first, NOW)).toMatchObject({ kind: 'lead', step: 'start-primary' });
  });

  it('marks the record bootstrapped once it serves as primary', () => {
    const o = mine({
      local: primary({ systemIdentifier: '7581234567890123456' }),
      record: { primary: 'pg-0', timeline: 1 },
      labelled: 'primary',
    });
    expect(decide(o, NOW)).toMatchObject({ kind: 'lead', step: 'record-bootstrap' });
    const marked = { ...o, record: { primary: 'pg-0', timeline: 1, bootstrapped: '1' } };
    expect(decide(marked, NOW)).toMatchObject({ kind: 'lead', step: 'none' });
  });

  it('fences a postgres that serves as primary without the lease', () => {
    const other = seen({ local: primary() }, {}, 2000);
    expect(decide(other, NOW)).toMatchObject({
      kind: 'fence',
      reason: expect.stringContaining('pg-0 holds the lease'),
    });
    const expired = seen({ local: primary() });
    expect(decide(expired, NOW).kind).toBe('fence');
    const unreadable = seen({ local: primary(), lease: { readable: false, error: 'x' } });
    expect(decide(unreadable, NOW).kind).toBe('fence');
  });

  it('the record’s primary reclaims an expired lease only when its data is a primary’s', () => {
    const me = identity('pg-0', 'uid-new');
    const withData = (data: 'primary' | 'empty') =>
      seen({ self: me, local: { ...standby(), role: 'starting', data } });
    expect(decide(withData('primary'), NOW)).toMatchObject({ kind: 'acquire', as: 'reclaim' });
    expect(decide(withData('empty'), NOW)).toMatchObject({ kind: 'refuse' });
  });
});

describe('decide: handover', () => {
  const released = (to: string, unchangedForMs = 100) =>
    seen({}, { [LeaseAnnotation.handoverTo]: to }, unchangedForMs);
  const releasedLease = (o: Observed) => {
    if (o.lease.readable && o.lease.snapshot) {
      delete o.lease.snapshot.holder;
      o.lease.snapshot.handoverTo =
        o.lease.snapshot.object.metadata?.annotations?.[LeaseAnnotation.handoverTo] ?? '';
    }
    return o;
  };

  it('the named standby takes over at once', () => {
    const a = decide(releasedLease(released('pg-1')), NOW);
    expect(a).toMatchObject({ kind: 'acquire', as: 'handover' });
  });

  it('the others wait for the lease duration, then may take over (the named one died)', () => {
    expect(decide(releasedLease(released('pg-2')), NOW).kind).toBe('follow');
    expect(decide(releasedLease(released('pg-2', 10_000)), NOW).kind).toBe('acquire');
  });
});

describe('lagProblem, as kpg failover could word it', () => {
  it('names what the lag is measured against and the bound', () => {
    expect(lagProblem(0x3000000n, 0x3000000n - 1024n, 1024n)).toBeUndefined();
    expect(
      lagProblem(0x3000000n, 0x2000000n, 1024n, { what: 'the old primary', limit: '--max-lag' }),
    ).toBe(
      'it is 16.0 MiB (16777216 bytes) behind the old primary (0/2000000 vs 0/3000000), more than --max-lag 1024 bytes',
    );
  });
});

describe('decide: paused (kpg pause)', () => {
  const PAUSED = '2026-12-02T03:00:00.000Z';
  const pausedRecord = { primary: 'pg-0', timeline: 1, paused: PAUSED };
  const holder = identity('pg-0');
  const mine = (over: Partial<Observed> = {}): Observed =>
    seen(
      {
        self: holder,
        local: primary({ flushLsn: 0x3000000n, lastPrimaryMs: NOW }),
        labelled: 'primary',
        record: pausedRecord,
        holding: { renewDeadlineMs: NOW + 5000 },
        ...over,
      },
      {},
      500,
    );

  it('no standby takes an expired lease over, and says why', () => {
    const a = decide(seen({ record: pausedRecord }), NOW);
    expect(a).toMatchObject({
      kind: 'wait',
      reason: expect.stringContaining(`paused since ${PAUSED}`),
    });
    expect(a.reason).toContain('acquire');
  });

  it('a handover is still taken (a switchover, a pod deleted)', () => {
    const o = seen({ record: pausedRecord }, { [LeaseAnnotation.handoverTo]: 'pg-1' }, 100);
    if (o.lease.readable && o.lease.snapshot) {
      delete o.lease.snapshot.holder;
      o.lease.snapshot.handoverTo = 'pg-1';
    }
    expect(decide(o, NOW)).toMatchObject({ kind: 'acquire', as: 'handover' });
  });

  it('the holder neither steps down past its renew deadline nor gives up a postgres kept down', () => {
    const late = decide(
      mine({ holding: { renewDeadlineMs: NOW - 1 }, lease: { readable: false, error: 'x' } }),
      NOW,
    );
    expect(late).toMatchObject({ kind: 'lead', step: 'none' });
    expect(decide(mine({ holding: { renewDeadlineMs: NOW - 1 } }), NOW)).toMatchObject({
      kind: 'lead',
      step: 'none',
    });
    const down = mine({
      local: { ...primary(), role: 'down', roleSinceMs: NOW - 60_000, lastPrimaryMs: NOW - 60_000 },
    });
    expect(decide(down, NOW)).toMatchObject({
      kind: 'lead',
      reason: expect.stringMatching(/paused since .*release, postgres has not answered/),
    });
  });

  it('still steps down when another pod holds the lease', () => {
    const o = mine();
    if (o.lease.readable && o.lease.snapshot) o.lease.snapshot.holder = 'pg-2/uid-pg-2';
    expect(decide(o, NOW).kind).toBe('step-down');
  });

  it('fences no primary without the lease', () => {
    expect(decide(seen({ local: primary(), record: pausedRecord }, {}, 2000), NOW).kind).toBe(
      'wait',
    );
    const unreadable = seen({
      local: primary(),
      record: pausedRecord,
      lease: { readable: false, error: 'x' },
    });
    expect(decide(unreadable, NOW).kind).toBe('wait');
  });
});

describe('decide: failsafe', () => {
  it('a holder past its renewal but within a confirmed failsafe round leads on, saying so', () => {
    const o = seen(
      {
        self: identity('pg-0'),
        local: primary({ lastPrimaryMs: NOW }),
        labelled: 'primary',
        record: { primary: 'pg-0', timeline: 1 },
        holding: { renewDeadlineMs: NOW + 4000, failsafeSentMs: NOW - 2000 },
        lease: { readable: false, error: 'connect ECONNREFUSED' },
      },
      {},
      500,
    );
    expect(decide(o, NOW)).toMatchObject({
      kind: 'lead',
      step: 'none',
      reason: expect.stringContaining('every member confirmed this primary 2.0s ago (failsafe)'),
    });
  });

  it('a standby that confirmed the holder waits out its promise, then races', () => {
    const heard = { holder: 'pg-0/uid-pg-0', atMs: NOW - 3000 };
    expect(decide(seen({ failsafe: heard }), NOW)).toMatchObject({
      kind: 'wait',
      reason: expect.stringContaining('no race for another 7.0s'),
    });
    expect(decide(seen({ failsafe: heard }), NOW + 7000).kind).toBe('acquire');
    // Past the promise, the lag counts from the LSN the holder sent, newer than the lease's.
    const far = { ...heard, lsn: 0x3000000n + 2n * 1024n * 1024n };
    expect(decide(seen({ failsafe: far }), NOW + 7000)).toMatchObject({
      kind: 'refuse',
      reason: expect.stringContaining('behind the LSN the primary last published'),
    });
    // A yes to another holder promises nothing about this one.
    expect(decide(seen({ failsafe: { ...heard, holder: 'pg-2/uid-pg-2' } }), NOW).kind).toBe(
      'acquire',
    );
  });
});

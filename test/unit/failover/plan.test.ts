import { describe, expect, it } from 'vitest';
import { FailoverRefusedError } from '../../../src/lib/failover/errors.js';
import { DEFAULT_MAX_LAG, judgePrimary, planOperation } from '../../../src/lib/failover/plan.js';
import type { PlanOptions } from '../../../src/lib/failover/types.js';
import { downOf, primaryOf, standbyOf } from './helpers.js';

const opts = (o: Partial<PlanOptions> = {}): PlanOptions => ({
  force: false,
  maxLagBytes: DEFAULT_MAX_LAG,
  synchronous: false,
  ...o,
});

const P = 'pg-0';
const streaming: [string, string][] = [
  ['pg-1', 'streaming'],
  ['pg-2', 'streaming'],
];

describe('judgePrimary', () => {
  it('healthy when standbys stream from it', () => {
    expect(judgePrimary(primaryOf(P, '0/5000000', streaming), []).health).toBe('healthy');
  });
  it('unreachable behind a partition, though its walsenders still say streaming', () => {
    const s = [
      standbyOf('pg-1', '0/5000000', '0/5000000', { reachesPrimary: false }),
      standbyOf('pg-2', '0/5000000', '0/5000000', { reachesPrimary: false }),
    ];
    expect(judgePrimary(primaryOf(P, '0/5000000', streaming), s).health).toBe('unreachable');
    expect(
      judgePrimary(primaryOf(P, '0/5000000', streaming), [{ ...s[0]!, reachesPrimary: true }])
        .health,
    ).toBe('healthy');
  });
  it('unreachable when it answers locally but no standby reaches it', () => {
    const s = [standbyOf('pg-1', '0/5000000', '0/5000000', { reachesPrimary: false })];
    expect(judgePrimary(primaryOf(P, '0/5000000'), s).health).toBe('unreachable');
  });
  it('hung when the probe timed out', () => {
    const frozen = downOf(P, { probeFailure: 'timeout', probeError: 'exec timed out after 3s' });
    expect(judgePrimary(frozen, []).health).toBe('hung');
    // The verdict comes from the failure's kind, never from its wording.
    const worded = downOf(P, { probeFailure: 'exec', probeError: 'timed out (in the message)' });
    expect(judgePrimary(worded, []).health).toBe('down');
  });
  it('unknown when the exec fails but a standby reaches its port; down when none does', () => {
    const forbidden = downOf(P, { probeFailure: 'exec', probeError: 'pods "pg-0" is forbidden' });
    const reaching = [standbyOf('pg-1', '0/5000000', '0/5000000', { reachesPrimary: true })];
    const judged = judgePrimary(forbidden, reaching);
    expect(judged.health).toBe('unknown');
    expect(judged.detail).toMatch(
      /cannot probe it \(pods "pg-0" is forbidden\), but postgres answers pg-1 on its port/,
    );
    // A hung kubelet tunnel looks like a frozen pod to exec; postgres answering the standbys tells them apart.
    const tunnel = downOf(P, { probeFailure: 'timeout', probeError: 'exec timed out after 3s' });
    expect(judgePrimary(tunnel, reaching).health).toBe('unknown');
    const cut = [standbyOf('pg-1', '0/5000000', '0/5000000', { reachesPrimary: false })];
    expect(judgePrimary(forbidden, cut).health).toBe('down');
  });
  it('refuses to fail over a primary whose state is unknown, even with --force', () => {
    const members = [
      downOf(P, { probeFailure: 'exec', probeError: 'error dialing backend: EOF' }),
      standbyOf('pg-1', '0/5000000', '0/5000000', { reachesPrimary: true }),
    ];
    for (const force of [false, true]) {
      try {
        planOperation({ recordPrimary: P, members, options: opts({ force }) });
        expect.unreachable('must refuse');
      } catch (err) {
        expect(err).toBeInstanceOf(FailoverRefusedError);
        expect((err as FailoverRefusedError).reason).toBe('primary-unknown');
        expect((err as Error).message).toMatch(/state of the primary pg-0 is unknown/);
      }
    }
  });
  it('down without a pod or a running container', () => {
    expect(judgePrimary(undefined, []).health).toBe('down');
    expect(judgePrimary(downOf(P, { exists: false }), []).health).toBe('down');
    expect(judgePrimary(downOf(P, { containerRunning: false }), []).health).toBe('down');
  });
  it('not-primary while starting or in recovery', () => {
    expect(judgePrimary({ ...primaryOf(P, '0/1'), accepts: false }, []).health).toBe('not-primary');
    expect(judgePrimary({ ...primaryOf(P, '0/1'), inRecovery: true }, []).health).toBe(
      'not-primary',
    );
  });
});

describe('planOperation: switchover', () => {
  const members = [
    primaryOf(P, '0/5000100', streaming),
    standbyOf('pg-1', '0/5000100', '0/50000F0'),
    standbyOf('pg-2', '0/5000100', '0/5000100'),
  ];
  it('picks the most advanced streaming standby; no loss expected', () => {
    const plan = planOperation({ recordPrimary: P, members, options: opts() });
    expect(plan.kind).toBe('switchover');
    expect(plan.target).toBe('pg-2');
    expect(plan.expectedLossBytes).toBe(0n);
    expect(plan.referenceSource).toBe('old primary');
  });
  it('never picks a member annotated kpg.io/nofailover, even the most advanced; refuses it as --to', () => {
    const m = [members[0]!, members[1]!, { ...members[2]!, noFailover: true }];
    expect(planOperation({ recordPrimary: P, members: m, options: opts() }).target).toBe('pg-1');
    expect(() =>
      planOperation({ recordPrimary: P, members: m, options: opts({ to: 'pg-2' }) }),
    ).toThrow(/nofailover/);
  });
  it('honours --to', () => {
    const plan = planOperation({ recordPrimary: P, members, options: opts({ to: 'pg-1' }) });
    expect(plan.target).toBe('pg-1');
    expect(plan.why).toMatch(/--to/);
  });
  it('refuses --to of the primary itself or an unknown pod', () => {
    expect(() =>
      planOperation({ recordPrimary: P, members, options: opts({ to: 'pg-0' }) }),
    ).toThrow(/no such standby/);
    expect(() =>
      planOperation({ recordPrimary: P, members, options: opts({ to: 'pg-9' }) }),
    ).toThrow(FailoverRefusedError);
  });
  it('refuses a target that is not streaming from the primary', () => {
    const m = [primaryOf(P, '0/5000100', [['pg-2', 'streaming']]), ...members.slice(1)];
    expect(() =>
      planOperation({ recordPrimary: P, members: m, options: opts({ to: 'pg-1' }) }),
    ).toThrow(/not streaming from the primary/);
  });
  it('refuses a lagging --to with the measured lag; --force accepts it', () => {
    const m = [
      primaryOf(P, '0/9000000', streaming),
      standbyOf('pg-1', '0/5000000'),
      standbyOf('pg-2', '0/9000000'),
    ];
    expect(() =>
      planOperation({ recordPrimary: P, members: m, options: opts({ to: 'pg-1' }) }),
    ).toThrow(/pg-1 is 64\.0 MiB \(67108864 bytes\) behind the old primary/);
    const plan = planOperation({
      recordPrimary: P,
      members: m,
      options: opts({ to: 'pg-1', force: true }),
    });
    expect(plan.forced).toBe(true);
    expect(plan.lagBytes).toBe(67108864n);
    expect(plan.expectedLossBytes).toBe(0n);
  });
});

describe('planOperation: failover', () => {
  it('promotes the highest received LSN, then replayed', () => {
    const members = [
      downOf(P),
      standbyOf('pg-1', '0/5000100', '0/5000000'),
      standbyOf('pg-2', '0/5000100', '0/5000100'),
    ];
    const plan = planOperation({ recordPrimary: P, members, options: opts() });
    expect(plan.kind).toBe('failover');
    expect(plan.target).toBe('pg-2');
    expect(plan.referenceSource).toBe('most advanced standby');
    expect(plan.expectedLossBytes).toBe(0n);
    expect(plan.warnings.join()).toMatch(/last LSN is unknown/);
    expect(plan.warnings.join()).toMatch(/copied from its volume/);
  });
  it('counts lag against an unreachable primary that still answers locally', () => {
    const members = [
      primaryOf(P, '0/5200000'),
      standbyOf('pg-1', '0/5000000', '0/5000000', { reachesPrimary: false }),
      standbyOf('pg-2', '0/5100000', '0/5100000', { reachesPrimary: false }),
    ];
    const plan = planOperation({ recordPrimary: P, members, options: opts() });
    expect(plan.oldPrimaryHealth).toBe('unreachable');
    expect(plan.target).toBe('pg-2');
    expect(plan.lagBytes).toBe(0x100000n);
    expect(plan.expectedLossBytes).toBe(0x100000n);
  });
  it('refuses a lagging --to; --force reports the possible loss', () => {
    const members = [downOf(P), standbyOf('pg-1', '0/5000000'), standbyOf('pg-2', '0/5300000')];
    expect(() =>
      planOperation({ recordPrimary: P, members, options: opts({ to: 'pg-1' }) }),
    ).toThrow(/3\.0 MiB \(3145728 bytes\) behind the most advanced standby/);
    const plan = planOperation({
      recordPrimary: P,
      members,
      options: opts({ to: 'pg-1', force: true }),
    });
    expect(plan.expectedLossBytes).toBe(3145728n);
    expect(plan.forced).toBe(true);
  });
  it('skips unhealthy standbys and refuses when none is left', () => {
    const members = [
      downOf(P),
      downOf('pg-1'),
      standbyOf('pg-2', '0/5000000', '0/5000000', { startState: 'rewind' }),
    ];
    expect(() => planOperation({ recordPrimary: P, members, options: opts() })).toThrow(
      /no standby can be promoted/,
    );
  });
  it('a warm standby without SQL is a candidate by its WAL on disk', () => {
    const warm = standbyOf('pg-1', '0/5000000', '0/5000000', { accepts: false });
    delete warm.inRecovery;
    delete warm.replayLsn;
    const plan = planOperation({ recordPrimary: P, members: [downOf(P), warm], options: opts() });
    expect(plan.target).toBe('pg-1');
  });
  it('synchronous: only the highest flushed standby, unless --force', () => {
    const members = [downOf(P), standbyOf('pg-1', '0/5000000'), standbyOf('pg-2', '0/5000100')];
    const sync = opts({ synchronous: true });
    expect(planOperation({ recordPrimary: P, members, options: sync }).target).toBe('pg-2');
    expect(() =>
      planOperation({ recordPrimary: P, members, options: { ...sync, to: 'pg-1' } }),
    ).toThrow(/synchronous.*acknowledged commits may be missing/);
    const forced = planOperation({
      recordPrimary: P,
      members,
      options: { ...sync, to: 'pg-1', force: true },
    });
    expect(forced.warnings.join()).toMatch(/synchronous/);
  });
  it('synchronous: a standby whose position is unknown refuses the failover, unless --force', () => {
    // ANY 1 (*): the standby that acknowledged the last commits may be the one that is down.
    const members = [downOf(P), standbyOf('pg-1', '0/5000000'), downOf('pg-2')];
    const sync = opts({ synchronous: true });
    try {
      planOperation({ recordPrimary: P, members, options: sync });
      expect.unreachable('must refuse');
    } catch (err) {
      expect((err as FailoverRefusedError).reason).toBe('position-unknown');
      expect((err as Error).message).toMatch(/WAL position of pg-2 \(.*\) is unknown/);
    }
    const forced = planOperation({ recordPrimary: P, members, options: { ...sync, force: true } });
    expect(forced.target).toBe('pg-1');
    expect(forced.warnings.join()).toMatch(/pg-2.*unknown/);
    // Asynchronous mode does not wait for that standby (the salvage covers the old primary).
    expect(planOperation({ recordPrimary: P, members, options: opts() }).target).toBe('pg-1');
  });
  it('typed reasons: lag, no candidate while standbys do not stream yet', () => {
    const lagging = [downOf(P), standbyOf('pg-1', '0/1000000'), standbyOf('pg-2', '0/9000000')];
    try {
      planOperation({ recordPrimary: P, members: lagging, options: opts({ to: 'pg-1' }) });
      expect.unreachable('must refuse');
    } catch (err) {
      expect((err as FailoverRefusedError).reason).toBe('lag');
    }
    const notStreaming = [
      primaryOf(P, '0/5000000', [['pg-1', 'catchup']]),
      standbyOf('pg-1', '0/5000000', '0/5000000', { reachesPrimary: true }),
    ];
    try {
      planOperation({ recordPrimary: P, members: notStreaming, options: opts() });
      expect.unreachable('must refuse');
    } catch (err) {
      expect((err as FailoverRefusedError).reason).toBe('no-candidate');
      expect((err as FailoverRefusedError).waitingForStreaming).toBe(true);
    }
  });
});

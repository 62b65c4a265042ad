/** The agent's loop against fakes: a takeover end to end, stepping down, refusals, the handover. */
import { describe, expect, it } from 'vitest';
import { Agent } from '../../../src/agent/agent.js';
import type {
  AgentEvent,
  ClusterApi,
  ConfigMapObject,
  PodInfo,
} from '../../../src/agent/cluster-api.js';
import { RecordConflictError } from '../../../src/agent/cluster-api.js';
import { parseConfig } from '../../../src/agent/config.js';
import type { SharedFiles } from '../../../src/agent/files.js';
import type { PeerClient } from '../../../src/agent/peers.js';
import type { PgSnapshot, Postgres } from '../../../src/agent/postgres.js';
import type { SlotRow } from '../../../src/lib/ha/slots.js';
import { LeaseElector, type PeerState } from '../../../src/lib/ha/index.js';
import { FakeLeaseServer, World } from './fakes.js';

const ENV = {
  KPG_CLUSTER: 'pg',
  POD_NAMESPACE: 'demo',
  POD_UID: 'uid-1',
  POD_IP: '10.0.0.11',
  KPG_PG_MAJOR: '15',
  KUBERNETES_SERVICE_HOST: '10.96.0.1',
};

class FakeCluster implements ClusterApi {
  record: ConfigMapObject = {
    metadata: { name: 'pg-kpg', resourceVersion: '1' },
    data: { primary: 'pg-0', timeline: '1', spec: '', generation: '1', history: '[]' },
  };
  labels: Record<string, string> = { 'pg-0': 'primary', 'pg-1': 'replica', 'pg-2': 'replica' };
  events: AgentEvent[] = [];
  constructor(readonly lease: ClusterApi['lease']) {}
  getRecord = async () => structuredClone(this.record);
  replaceRecord = async (cm: ConfigMapObject) => {
    if (cm.metadata?.resourceVersion !== this.record.metadata?.resourceVersion) {
      throw new RecordConflictError('conflict');
    }
    const rv = String(Number(this.record.metadata?.resourceVersion) + 1);
    this.record = { ...structuredClone(cm), metadata: { ...cm.metadata, resourceVersion: rv } };
    return structuredClone(this.record);
  };
  /** Pods whose sandbox has no IP yet. */
  noIp = new Set<string>();
  /** Pods annotated kpg.io/nofailover: "true". */
  noFailover = new Set<string>();
  listings = 0;
  listPeers = async (): Promise<PodInfo[]> => {
    this.listings++;
    return ['pg-0', 'pg-1', 'pg-2'].map((name, i) => ({
      name,
      ...(this.noIp.has(name) ? {} : { ip: `10.0.0.${10 + i}` }),
      role: this.labels[name],
      ...(this.noFailover.has(name) ? { noFailover: true } : {}),
    }));
  };
  labelPod = async (pod: string, role: 'primary' | 'replica') => {
    this.labels[pod] = role;
  };
  event = async (e: AgentEvent) => {
    this.events.push(e);
  };
}

class FakePg implements Postgres {
  snap: PgSnapshot | undefined = {
    role: 'standby',
    timeline: 1,
    flushLsn: 0x3000000n,
    replayLsn: 0x3000000n,
    streaming: true,
    replayPaused: false,
    synchronous: [],
  };
  promoted = 0;
  snapshot = async () => (this.snap ? { ...this.snap } : undefined);
  promote = async () => {
    this.promoted++;
    this.snap = { ...this.snap!, role: 'primary', timeline: 2, streaming: false };
  };
  slotRows: SlotRow[] = [];
  slotChanges: { create: { name: string; reserve: boolean }[]; drop: string[] }[] = [];
  slots = async () => (this.snap ? this.slotRows.map((r) => ({ ...r })) : undefined);
  changeSlots = async (plan: { create: { name: string; reserve: boolean }[]; drop: string[] }) => {
    this.slotChanges.push(plan);
    this.slotRows = this.slotRows.filter((r) => !plan.drop.includes(r.name));
    for (const c of plan.create)
      this.slotRows.push({ name: c.name, active: false, ...(c.reserve ? { restartLsn: 1n } : {}) });
    return undefined;
  };
  close = async () => undefined;
}

class FakeFiles implements SharedFiles {
  deadline: string | undefined;
  role: string | undefined;
  stopping = false;
  checkpoint: { lsn: bigint; timeline: number } | undefined;
  states: Record<string, unknown>[] = [];
  writeDeadline = (ms: number) => {
    this.deadline = String(ms);
  };
  fenceNow = () => {
    this.deadline = '0';
  };
  writeRole = (r: 'primary' | 'replica' | 'wait') => {
    this.role = r;
  };
  startState = () => 'running';
  data = () => undefined;
  shuttingDown = () => this.stopping;
  shutdownCheckpoint = () => this.checkpoint;
  standbyState = () => undefined;
  stopRequested = false;
  requestStop = (on: boolean) => {
    this.stopRequested = on;
  };
  writeAgentState = (s: Record<string, unknown>) => {
    this.states.push(s);
  };
}

function setup(pod = 'pg-1') {
  const world = new World();
  const server = new FakeLeaseServer();
  const clock = world.clock();
  const config = parseConfig({ ...ENV, POD_NAME: pod });
  const elector = new LeaseElector({
    api: server.client(),
    clock,
    self: config.self,
    timing: config.timing,
    ref: { namespace: 'demo', name: 'pg-primary' },
  });
  const cluster = new FakeCluster(server.client());
  const pg = new FakePg();
  const files = new FakeFiles();
  const peerStates: Record<string, PeerState> = {};
  const confirmed = new Set<string>();
  /** Members that answer a failsafe request yes. */
  const failsafeYes = new Set<string>();
  const failsafeAsked: string[] = [];
  const peers: PeerClient = {
    state: async (name) => peerStates[name] ?? { pod: name, reachable: false },
    confirm: async (name, ip) => ({ pod: name, confirmed: !!ip && confirmed.has(name) }),
    failsafe: async (name) => {
      failsafeAsked.push(name);
      return failsafeYes.has(name)
        ? { pod: name, confirmed: true }
        : { pod: name, confirmed: false, reason: 'unreachable' };
    },
  };
  const lines: string[] = [];
  const agent = new Agent({
    config,
    clock,
    elector,
    cluster,
    pg,
    peers,
    files,
    log: (l) => lines.push(l),
    sleep: async () => undefined,
  });
  /** The old primary pg-0 holding the lease, as it would have written it. */
  const holdByPg0 = async () => {
    const old = new LeaseElector({
      api: server.client(),
      clock,
      self: { pod: 'pg-0', uid: 'uid-0' },
      timing: config.timing,
      ref: { namespace: 'demo', name: 'pg-primary' },
    });
    await old.read();
    await old.claim({ lsn: 0x3000000n, timeline: 1 });
    return old;
  };
  const cycles = async (n: number) => {
    const out = [];
    for (let i = 0; i < n; i++) {
      out.push(await agent.cycle());
      world.advance(1000);
    }
    return out;
  };
  return {
    world,
    server,
    agent,
    cluster,
    pg,
    files,
    peerStates,
    confirmed,
    failsafeYes,
    failsafeAsked,
    lines,
    holdByPg0,
    cycles,
    clock,
  };
}

describe('Agent', () => {
  it('takes over an expired lease: lease, record, promotion, labels, event, history', async () => {
    const t = setup();
    await t.holdByPg0();
    const kinds = (await t.cycles(12)).map(
      (a) => a && ('step' in a ? `${a.kind}:${a.step}` : a.kind),
    );
    expect(kinds.slice(0, 10).every((k) => k === 'follow')).toBe(true);
    // The whole takeover in one cycle, each step decided on a fresh observation.
    expect(kinds.slice(10)).toEqual(['lead:none', 'lead:none']);
    const decisions = t.lines.slice(1).filter((l) => !l.startsWith('slots'));
    expect(decisions.map((l) => l.split(':')[0])).toEqual([
      'acquire takeover',
      'lead write-record',
      'lead promote',
      'lead label',
      'lead record-timeline',
      'lead none',
    ]);
    expect(t.server.object?.spec?.holderIdentity).toBe('pg-1/uid-1');
    expect(t.cluster.record.data?.primary).toBe('pg-1');
    expect(t.cluster.record.data?.timeline).toBe('2');
    expect(JSON.parse(t.cluster.record.data?.history ?? '[]')).toEqual([
      expect.objectContaining({
        oldPrimary: 'pg-0',
        newPrimary: 'pg-1',
        timeline: 2,
        reason: 'automatic failover',
        cause: expect.stringContaining('the lease held by pg-0 has not changed'),
      }),
    ]);
    // From the old holder's last renewal this pod saw to the new timeline: the lease's 10 s.
    const [entry] = JSON.parse(t.cluster.record.data?.history ?? '[]') as { durationMs: number }[];
    expect(entry?.durationMs).toBeGreaterThanOrEqual(10_000);
    expect(entry?.durationMs).toBeLessThan(12_000);
    expect(t.pg.promoted).toBe(1);
    expect(t.cluster.labels).toEqual({ 'pg-0': 'replica', 'pg-1': 'primary', 'pg-2': 'replica' });
    expect(t.cluster.events).toEqual([
      expect.objectContaining({
        reason: 'PromotedToPrimary',
        message: expect.stringContaining('took over from pg-0'),
      }),
    ]);
    expect(t.files.role).toBe('primary');
    // The fence deadline: the renew deadline after the last renewal was sent.
    expect(Number(t.files.deadline)).toBe(t.clock.now() - 1000 + 6000);
    // The new primary publishes its own position in the lease.
    expect(t.server.object?.metadata?.annotations?.['kpg.io/timeline']).toBe('2');
    // One log line per change of decision, not per cycle.
    expect(t.lines.filter((l) => l.startsWith('follow'))).toHaveLength(1);
    expect(
      t.lines.some((l) => l.startsWith('acquire takeover: the lease held by pg-0 has not changed')),
    ).toBe(true);
    // Unreserved copies as a standby; the same slots reserved once it is primary.
    expect(t.pg.slotChanges[0]).toMatchObject({
      drop: [],
      create: [
        { name: 'kpg_pg_0', reserve: false },
        { name: 'kpg_pg_2', reserve: false },
      ],
    });
    expect(t.pg.slotRows.map((r) => [r.name, r.restartLsn !== undefined])).toEqual([
      ['kpg_pg_0', true],
      ['kpg_pg_2', true],
    ]);
  });

  it('steps down and fences once it cannot renew within the renew deadline', async () => {
    const t = setup('pg-0');
    t.cluster.record.data!.primary = 'pg-0';
    t.pg.snap = { ...t.pg.snap!, role: 'primary', streaming: false };
    await t.agent.cycle(); // bootstrap: no lease yet
    t.world.advance(1000);
    await t.cycles(3);
    expect(t.files.role).toBe('primary');
    t.server.down = true;
    const after = await t.cycles(8);
    expect(after.map((a) => a?.kind)).toContain('step-down');
    expect(t.files.deadline).toBe('0');
    // The record still names it and nobody else holds the lease: the start script waits.
    expect(t.files.role).toBe('wait');
    expect(t.cluster.events).toContainEqual(
      expect.objectContaining({ reason: 'Fenced', type: 'Warning' }),
    );
  });

  it('keeps leading through an API outage while every member confirms it (failsafe), and fences once one does not', async () => {
    const t = setup('pg-0');
    t.cluster.record.data!.primary = 'pg-0';
    t.pg.snap = { ...t.pg.snap!, role: 'primary', streaming: false };
    await t.agent.cycle(); // bootstrap: no lease yet
    t.world.advance(1000);
    await t.cycles(6); // labelled, and the peer list read as holder
    t.failsafeYes.add('pg-1').add('pg-2');
    t.server.down = true;
    const during = await t.cycles(30);
    expect(during.map((a) => a?.kind)).not.toContain('step-down');
    expect(during.at(-1)).toMatchObject({
      kind: 'lead',
      reason: expect.stringMatching(/failsafe/),
    });
    expect(new Set(t.failsafeAsked)).toEqual(new Set(['pg-1', 'pg-2']));
    // The fence deadline follows the confirmed rounds: never in the past.
    expect(Number(t.files.deadline)).toBeGreaterThan(t.clock.now());
    // One member stops answering: the deadline stays, and the renew deadline after it fences.
    t.failsafeYes.delete('pg-2');
    const after = await t.cycles(8);
    expect(after.map((a) => a?.kind)).toContain('step-down');
    expect(t.files.deadline).toBe('0');
    expect(t.lines.join('\n')).toMatch(/pg-2: unreachable/);
  });

  it('renews normally once the API answers again after a failsafe stretch', async () => {
    const t = setup('pg-0');
    t.cluster.record.data!.primary = 'pg-0';
    t.pg.snap = { ...t.pg.snap!, role: 'primary', streaming: false };
    await t.agent.cycle();
    t.world.advance(1000);
    await t.cycles(6);
    t.failsafeYes.add('pg-1').add('pg-2');
    t.server.down = true;
    await t.cycles(12);
    t.server.down = false;
    const asked = t.failsafeAsked.length;
    const back = await t.cycles(4);
    expect(back.at(-1)).toMatchObject({ kind: 'lead', reason: 'this pod holds the lease' });
    expect(t.failsafeAsked.length - asked).toBeLessThanOrEqual(2); // one round at most
    expect(t.lines.join('\n')).toMatch(/failsafe: over/);
  });

  it('a standby that confirmed the primary over the pod network does not race for its lease', async () => {
    const t = setup('pg-1');
    const old = await t.holdByPg0();
    await t.cycles(2);
    const holder = old.observed!.snapshot!.holder!;
    expect(t.agent.failsafeAnswer({ holder, timeline: 1 })).toEqual({ confirmed: true });
    // The old holder renews no more (its API is away); this standby keeps confirming it.
    const waited = [];
    for (let i = 0; i < 20; i++) {
      expect(t.agent.failsafeAnswer({ holder, timeline: 1 }).confirmed).toBe(true);
      waited.push(await t.agent.cycle());
      t.world.advance(1000);
    }
    expect(waited.map((a) => a?.kind)).not.toContain('acquire');
    expect(waited.at(-1)).toMatchObject({
      kind: 'wait',
      reason: expect.stringMatching(/failsafe/),
    });
    // The confirmations stop: a lease duration later it takes over.
    await t.cycles(12);
    expect(t.server.object?.spec?.holderIdentity).toBe('pg-1/uid-1');
    // Holding now, it confirms nobody else.
    expect(t.agent.failsafeAnswer({ holder, timeline: 1 }).confirmed).toBe(false);
  });

  it('fences and gives the lease up once its postgres stays down for a renew deadline', async () => {
    const t = setup('pg-0');
    t.cluster.record.data!.primary = 'pg-0';
    t.pg.snap = { ...t.pg.snap!, role: 'primary', streaming: false };
    await t.cycles(3);
    t.pg.snap = undefined; // killed, and kept down
    const after = await t.cycles(9);
    // Counted from its last answer as primary (the third cycle): retry 1 s, bound 6 s.
    expect(after.map((a) => a?.kind)).toEqual([
      ...Array<string>(6).fill('lead'),
      'release',
      'refuse',
      'refuse',
    ]);
    expect(t.files.deadline).toBe('0');
    expect(t.server.object?.spec?.holderIdentity).toBeUndefined();
  });

  it('a standby whose pod is stopping takes nothing over', async () => {
    const t = setup();
    await t.holdByPg0();
    t.files.stopping = true;
    const actions = await t.cycles(12);
    expect(actions.at(-1)).toMatchObject({
      kind: 'wait',
      reason: expect.stringContaining('this pod is stopping'),
    });
    expect(t.server.object?.spec?.holderIdentity).toBe('pg-0/uid-0');
  });

  it('refuses with one FailoverRefused Event per reason, not one per cycle', async () => {
    const t = setup();
    await t.holdByPg0();
    t.pg.snap = { ...t.pg.snap!, flushLsn: 0x1000000n }; // 32 MiB behind
    await t.cycles(15);
    const refused = t.cluster.events.filter((e) => e.reason === 'FailoverRefused');
    expect(refused).toHaveLength(1);
    expect(refused[0]?.message).toContain('maximumLagBeforeFailover');
    expect(t.server.object?.spec?.holderIdentity).toBe('pg-0/uid-0');
  });

  it('tells its peers whether it is eligible, and waits for a peer ahead', async () => {
    const t = setup();
    await t.holdByPg0();
    t.peerStates['pg-2'] = {
      pod: 'pg-2',
      reachable: true,
      role: 'standby',
      flushLsn: 0x3000100n,
      eligible: true,
      timeline: 1,
    };
    const actions = await t.cycles(12);
    expect(actions.at(-1)).toMatchObject({
      kind: 'wait',
      reason: expect.stringContaining('pg-2 is ahead'),
    });
    expect(t.agent.report()).toMatchObject({
      pod: 'pg-1',
      role: 'standby',
      eligible: true,
      flushLsn: '0/3000000',
    });
  });

  it('does not call itself eligible while it cannot read the lease (peers would wait for it)', async () => {
    const t = setup();
    await t.holdByPg0();
    await t.cycles(2);
    expect(t.agent.report().eligible).toBe(true);
    t.server.down = true;
    await t.cycles(1);
    expect(t.agent.report()).toMatchObject({
      eligible: false,
      reason: expect.stringContaining('cannot read the lease'),
    });
  });

  it('hands the lease over to the standby that confirmed the shutdown checkpoint', async () => {
    const t = setup('pg-0');
    t.cluster.record.data!.primary = 'pg-0';
    t.pg.snap = { ...t.pg.snap!, role: 'primary', streaming: false };
    await t.cycles(3);
    t.files.stopping = true;
    t.pg.snap = undefined;
    await t.cycles(1);
    expect(t.server.object?.spec?.holderIdentity).toBe('pg-0/uid-1');
    t.files.checkpoint = { lsn: 0x3000028n, timeline: 1 };
    t.confirmed.add('pg-2');
    await t.cycles(1);
    expect(t.agent.handoverSettled()).toBe(true);
    expect(t.server.object?.spec?.holderIdentity).toBeUndefined();
    expect(t.server.object?.metadata?.annotations?.['kpg.io/handover-to']).toBe('pg-2');
    expect(t.server.object?.metadata?.annotations?.['kpg.io/handover-reason']).toBe('pod stopping');
    expect(t.cluster.events).toContainEqual(expect.objectContaining({ reason: 'HandedOver' }));
  });

  it('hands nothing over to a standby annotated nofailover, even one that confirmed', async () => {
    const t = setup('pg-0');
    t.cluster.record.data!.primary = 'pg-0';
    t.pg.snap = { ...t.pg.snap!, role: 'primary', streaming: false };
    t.cluster.noFailover.add('pg-2');
    await t.cycles(3);
    t.files.stopping = true;
    t.pg.snap = undefined;
    t.files.checkpoint = { lsn: 0x3000028n, timeline: 1 };
    t.confirmed.add('pg-2');
    await t.cycles(2);
    expect(t.server.object?.metadata?.annotations?.['kpg.io/handover-to']).toBeUndefined();
    t.confirmed.add('pg-1');
    await t.cycles(1);
    expect(t.server.object?.metadata?.annotations?.['kpg.io/handover-to']).toBe('pg-1');
  });

  it('reads the peers again for a handover: a standby without an IP when the lease was taken can confirm', async () => {
    const t = setup('pg-0');
    t.cluster.record.data!.primary = 'pg-0';
    t.cluster.noIp = new Set(['pg-1', 'pg-2']);
    t.pg.snap = { ...t.pg.snap!, role: 'primary', streaming: false };
    await t.cycles(3);
    t.cluster.noIp.clear();
    t.files.stopping = true;
    t.pg.snap = undefined;
    t.files.checkpoint = { lsn: 0x3000028n, timeline: 1 };
    t.confirmed.add('pg-1');
    await t.cycles(1);
    expect(t.agent.handoverSettled()).toBe(true);
    expect(t.server.object?.metadata?.annotations?.['kpg.io/handover-to']).toBe('pg-1');
  });

  it('takes a lease handed over to it at once, and records a switchover', async () => {
    const t = setup();
    const old = await t.holdByPg0();
    await t.cycles(2);
    await old.read();
    await old.release('pg-1');
    await t.cycles(1);
    expect(t.server.object?.spec?.holderIdentity).toBe('pg-1/uid-1');
    expect(t.cluster.labels['pg-1']).toBe('primary');
    expect(JSON.parse(t.cluster.record.data?.history ?? '[]')).toEqual([
      expect.objectContaining({
        reason: 'automatic switchover',
        oldPrimary: 'pg-0',
        newPrimary: 'pg-1',
      }),
    ]);
  });

  it('records a handover kpg failover asked for as a switchover', async () => {
    const t = setup();
    const old = await t.holdByPg0();
    await t.cycles(2);
    await old.read();
    await old.release('pg-1', 'switchover');
    await t.cycles(1);
    expect(t.server.object?.spec?.holderIdentity).toBe('pg-1/uid-1');
    expect(JSON.parse(t.cluster.record.data?.history ?? '[]')).toEqual([
      expect.objectContaining({ reason: 'switchover', oldPrimary: 'pg-0', newPrimary: 'pg-1' }),
    ]);
  });

  it('keeps the lease when no standby confirms in time', async () => {
    const t = setup('pg-0');
    t.cluster.record.data!.primary = 'pg-0';
    t.pg.snap = { ...t.pg.snap!, role: 'primary', streaming: false };
    await t.cycles(3);
    t.files.stopping = true;
    t.files.checkpoint = { lsn: 0x3000028n, timeline: 1 };
    await t.cycles(12);
    expect(t.agent.handoverSettled()).toBe(true);
    expect(t.server.object?.spec?.holderIdentity).toBe('pg-0/uid-1');
    expect(t.cluster.events).toContainEqual(
      expect.objectContaining({
        reason: 'FailoverRefused',
        message: expect.stringContaining('keeping the lease'),
      }),
    );
  });

  /** pg-0 serving as primary and holding the lease; then kpg failover asks for `to`. */
  async function askedForSwitchover(
    to: string,
    from = 'pg-0/uid-1',
    prepare: (c: FakeCluster) => void = () => undefined,
  ) {
    const t = setup('pg-0');
    prepare(t.cluster);
    t.cluster.record.data!.primary = 'pg-0';
    t.pg.snap = { ...t.pg.snap!, role: 'primary', streaming: false };
    await t.cycles(3);
    const lease = t.server.object!;
    lease.metadata!.annotations = {
      ...lease.metadata!.annotations,
      'kpg.io/switchover-to': to,
      'kpg.io/switchover-from': from,
    };
    t.server.store(lease);
    return t;
  }

  it('carries a switchover request out: fast shutdown, confirmation by the target only, release to it', async () => {
    const t = await askedForSwitchover('pg-2');
    await t.cycles(1);
    expect(t.files.stopRequested).toBe(true);
    expect(t.files.role).toBe('wait');
    t.pg.snap = undefined; // the fast shutdown
    t.files.checkpoint = { lsn: 0x3000028n, timeline: 1 };
    t.confirmed.add('pg-1'); // confirmed, but not the one asked for
    await t.cycles(2);
    expect(t.server.object?.spec?.holderIdentity).toBe('pg-0/uid-1');
    t.confirmed.add('pg-2');
    await t.cycles(1);
    const a = t.server.object?.metadata?.annotations ?? {};
    expect(t.server.object?.spec?.holderIdentity).toBeUndefined();
    expect(a['kpg.io/handover-to']).toBe('pg-2');
    expect(a['kpg.io/handover-reason']).toBe('switchover');
    expect(a['kpg.io/switchover-to']).toBeUndefined();
    expect(t.files.stopRequested).toBe(false);
    // The pod lives on: back to the ordinary cycle, following the lease it handed over.
    expect((await t.cycles(1))[0]?.kind).toBe('follow');
  });

  it('gives a switchover up when the target does not confirm in time, saying why, and serves again', async () => {
    const t = await askedForSwitchover('pg-2');
    await t.cycles(1);
    t.pg.snap = undefined;
    t.files.checkpoint = { lsn: 0x3000028n, timeline: 1 };
    await t.cycles(12);
    const a = t.server.object?.metadata?.annotations ?? {};
    expect(t.server.object?.spec?.holderIdentity).toBe('pg-0/uid-1');
    expect(a['kpg.io/switchover-to']).toBeUndefined();
    expect(a['kpg.io/switchover-refused']).toContain('no standby confirmed');
    expect(t.files.stopRequested).toBe(false);
    expect(t.files.role).toBe('primary');
  });

  it('refuses a switchover to a member annotated nofailover, saying why', async () => {
    const t = await askedForSwitchover('pg-2', undefined, (c) => c.noFailover.add('pg-2'));
    await t.cycles(1);
    expect(t.files.stopRequested).toBe(false);
    expect(t.server.object?.metadata?.annotations?.['kpg.io/switchover-refused']).toContain(
      'kpg.io/nofailover',
    );
  });

  it('ignores a request meant for another incarnation, and refuses one naming itself', async () => {
    const stale = await askedForSwitchover('pg-2', 'pg-0/uid-old');
    await stale.cycles(2);
    expect(stale.files.stopRequested).toBe(false);
    const self = await askedForSwitchover('pg-0');
    await self.cycles(1);
    expect(self.files.stopRequested).toBe(false);
    expect(self.server.object?.metadata?.annotations?.['kpg.io/switchover-refused']).toContain(
      'names the primary itself',
    );
  });

  it('relabels the old primary replica at a later cycle when the first relabel failed', async () => {
    const t = setup();
    const real = t.cluster.labelPod;
    let failures = 1;
    t.cluster.labelPod = async (pod, role) => {
      if (pod === 'pg-0' && failures-- > 0) throw new Error('the API timed out');
      return real(pod, role);
    };
    await t.holdByPg0();
    await t.cycles(11);
    expect(t.server.object?.spec?.holderIdentity).toBe('pg-1/uid-1');
    expect(t.lines).toContain('pg-0 is still labelled primary: the API timed out');
    await t.cycles(1);
    expect(t.cluster.labels).toEqual({ 'pg-0': 'replica', 'pg-1': 'primary', 'pg-2': 'replica' });
  });

  it('labels its own pod replica once its postgres follows as a standby', async () => {
    const t = setup();
    delete t.cluster.labels['pg-1'];
    await t.holdByPg0();
    expect((await t.cycles(1))[0]?.kind).toBe('follow');
    expect(t.cluster.labels['pg-1']).toBe('replica');
  });

  it('counts a standby as recently streaming past a failed handover and the lease after it', () => {
    const t = setup();
    const { leaseDurationMs } = t.agent.policy.timing;
    // A handover that kept the lease for its timeout (10 s), then a whole lease to expire.
    expect(t.agent.policy.recentStreamingMs).toBeGreaterThan(10_000 + leaseDurationMs);
  });
});

/** The Lease state machine: CAS writes, 409s, timeouts that landed, expiry on the observer's clock, identity. */
import { describe, expect, it } from 'vitest';
import {
  LeaseAnnotation,
  decide,
  holderOf,
  leaseForWrite,
  snapshotOf,
} from '../../../src/lib/ha/index.js';
import {
  FakeLeaseServer,
  World,
  elector,
  identity,
  observedFrom,
  primary,
  standby,
} from './fakes.js';

const pg0 = identity('pg-0');
const pg1 = identity('pg-1');
const pg2 = identity('pg-2');
const record = { primary: 'pg-0', timeline: 1 };

describe('LeaseElector', () => {
  it('creates the lease when absent and renews it with a compare-and-swap, publishing the LSN', async () => {
    const server = new FakeLeaseServer();
    const world = new World();
    const { e } = elector(server, world, pg0);
    expect(await e.read()).toBeUndefined();
    const first = await e.claim({ lsn: 0x1000000n, timeline: 1 });
    expect(first).toMatchObject({ ok: true, landed: 'now' });
    expect(server.object?.spec?.holderIdentity).toBe('pg-0/uid-pg-0');
    expect(server.object?.spec?.leaseDurationSeconds).toBe(10);
    expect(server.object?.metadata?.annotations?.[LeaseAnnotation.lsn]).toBe('0/1000000');
    world.advance(1000);
    const second = await e.claim({ lsn: 0x1000100n });
    expect(second.ok).toBe(true);
    expect(server.object?.metadata?.resourceVersion).toBe('2');
    expect(server.object?.metadata?.annotations?.[LeaseAnnotation.lsn]).toBe('0/1000100');
    expect(server.object?.metadata?.annotations?.[LeaseAnnotation.timeline]).toBe('1');
    expect(server.object?.spec?.leaseTransitions).toBe(0);
    expect(e.holding).toBe(true);
  });

  it('a holder whose postgres is down says so, keeping its last LSN; serving again clears it', async () => {
    const server = new FakeLeaseServer();
    const world = new World();
    const { e } = elector(server, world, pg0);
    await e.read();
    await e.claim({ lsn: 0x1000000n, timeline: 1 });
    await e.claim({ down: true });
    const a = () => server.object?.metadata?.annotations ?? {};
    expect(a()[LeaseAnnotation.primaryDown]).toBe('true');
    expect(a()[LeaseAnnotation.lsn]).toBe('0/1000000');
    expect(snapshotOf(server.object!).published).toMatchObject({ lsn: 0x1000000n, down: true });
    await e.claim({ lsn: 0x1000200n, timeline: 1 });
    expect(a()[LeaseAnnotation.primaryDown]).toBeUndefined();
  });

  it('counts the renew deadline from when the renewal that landed was sent', async () => {
    const server = new FakeLeaseServer();
    const world = new World();
    const { e, clock } = elector(server, world, pg0);
    await e.read();
    const sent = clock.now();
    await e.claim({});
    expect(e.lastRenewalSentMs).toBe(sent);
    expect(e.renewDeadlineMs).toBe(sent + 6000);
  });

  it('after a 409 re-reads: a lease another pod took is not ours', async () => {
    const server = new FakeLeaseServer();
    const world = new World();
    const a = elector(server, world, pg1);
    const b = elector(server, world, pg2);
    const holder = elector(server, world, pg0);
    await holder.e.read();
    await holder.e.claim({ lsn: 0x3000000n });
    await a.e.read();
    await b.e.read();
    world.advance(10_000);
    await a.e.read();
    await b.e.read();
    // Both saw the same version unchanged for a lease duration: both try, one wins.
    const [ra, rb] = await Promise.all([a.e.claim({}), b.e.claim({})]);
    expect([ra.ok, rb.ok].sort()).toEqual([false, true]);
    const loser = ra.ok ? rb : ra;
    expect(loser).toMatchObject({ ok: false, why: 'conflict' });
    expect(loser.ok === false && loser.snapshot?.holder).toBe(
      ra.ok ? holderOf(pg1) : holderOf(pg2),
    );
    expect(a.e.holding !== b.e.holding).toBe(true);
    expect(server.object?.spec?.leaseTransitions).toBe(1);
  });

  it('a timed-out write that landed is recognised on the re-read', async () => {
    const server = new FakeLeaseServer();
    const world = new World();
    const { e, api, clock } = elector(server, world, pg0);
    await e.read();
    api.faults.push('timeout-landed');
    const sent = clock.now();
    const r = await e.claim({});
    expect(r).toMatchObject({ ok: true, landed: 'now' });
    expect(e.holding).toBe(true);
    expect(e.renewDeadlineMs).toBe(sent + 6000);
  });

  it('a timed-out write that did not land leaves the lease as it was', async () => {
    const server = new FakeLeaseServer();
    const world = new World();
    const { e, api } = elector(server, world, pg0);
    await e.read();
    api.faults.push('timeout-lost');
    const r = await e.claim({});
    expect(r).toMatchObject({ ok: false, why: 'error' });
    expect(server.object).toBeUndefined();
    expect(e.holding).toBe(false);
  });

  it('an earlier attempt found on a later 409 counts from when it was sent', async () => {
    const server = new FakeLeaseServer();
    const world = new World();
    const { e, api, clock } = elector(server, world, pg0);
    await e.read();
    await e.claim({});
    world.advance(1000);
    const earlier = clock.now();
    // Lands, but the response and the re-read are both lost.
    api.faults.push('timeout-landed', 'timeout-lost');
    expect((await e.claim({})).ok).toBe(false);
    world.advance(1000);
    // The next renewal carries the stale resourceVersion: 409, and the re-read finds the earlier write.
    const r = await e.claim({});
    expect(r).toMatchObject({ ok: true, landed: 'earlier' });
    // Only then is it counted, and from its own send time, not the later one's.
    expect(e.lastRenewalSentMs).toBe(earlier);
    expect(e.renewDeadlineMs).toBe(earlier + 6000);
  });

  it('renews again at once when someone else changed its own lease (kpg failover marking a pause)', async () => {
    const server = new FakeLeaseServer();
    const world = new World();
    const { e } = elector(server, world, pg0);
    await e.read();
    await e.claim({});
    const o = structuredClone(server.object!);
    o.metadata!.annotations![LeaseAnnotation.paused] = 'kpg failover';
    server.store(o);
    const r = await e.claim({});
    expect(r.ok).toBe(true);
    expect(server.object?.metadata?.annotations?.[LeaseAnnotation.paused]).toBe('kpg failover');
  });

  it('a version naming us that none of our writes produced extends nothing', async () => {
    const server = new FakeLeaseServer();
    const world = new World();
    const { e } = elector(server, world, pg0);
    await e.read();
    await e.claim({});
    const deadline = e.renewDeadlineMs;
    world.advance(3000);
    const o = structuredClone(server.object!);
    o.metadata!.annotations![LeaseAnnotation.attempt] = 'someone-else:1';
    server.store(o);
    await e.read();
    expect(e.holding).toBe(true);
    expect(e.renewDeadlineMs).toBe(deadline);
  });

  it('releases with the standby it hands over to, and holds nothing afterwards', async () => {
    const server = new FakeLeaseServer();
    const world = new World();
    const { e } = elector(server, world, pg0);
    await e.read();
    await e.claim({});
    const r = await e.release('pg-1');
    expect(r.ok).toBe(true);
    expect(server.object?.spec?.holderIdentity).toBeUndefined();
    expect(server.object?.metadata?.annotations?.[LeaseAnnotation.handoverTo]).toBe('pg-1');
    expect(e.holding).toBe(false);
  });
});

describe('expiry on the observer’s own clock', () => {
  async function heldLease() {
    const server = new FakeLeaseServer();
    const world = new World();
    const holder = elector(server, world, pg0);
    await holder.e.read();
    await holder.e.claim({ lsn: 0x3000000n, timeline: 1 });
    const obs = elector(server, world, pg1, { origin: 5_000 });
    return { server, world, holder, obs };
  }
  const view = (e: ReturnType<typeof elector>['e']) =>
    observedFrom(e, { self: pg1, record, local: standby(), peers: [] });

  it('a lease unchanged for a whole lease duration since first seen is free', async () => {
    const { world, obs } = await heldLease();
    await obs.e.read();
    world.advance(9_900);
    await obs.e.read();
    expect(decide(view(obs.e), obs.clock.now()).kind).toBe('follow');
    world.advance(100);
    await obs.e.read();
    expect(decide(view(obs.e), obs.clock.now())).toMatchObject({ kind: 'acquire', as: 'takeover' });
  });

  it('each renewal restarts the count', async () => {
    const { world, holder, obs } = await heldLease();
    await obs.e.read();
    for (let i = 0; i < 30; i++) {
      world.advance(1000);
      await holder.e.claim({ lsn: 0x3000000n });
      await obs.e.read();
      expect(decide(view(obs.e), obs.clock.now()).kind).toBe('follow');
    }
  });

  it("never reads the holder's renewTime: one far in the past does not expire a lease that changes", async () => {
    const { server, world, obs } = await heldLease();
    const o = structuredClone(server.object!);
    o.spec!.renewTime = '2001-01-01T00:00:00.000000Z';
    server.store(o);
    await obs.e.read();
    world.advance(5000);
    await obs.e.read();
    expect(decide(view(obs.e), obs.clock.now()).kind).toBe('follow');
  });

  it('one far in the future does not keep a stale lease alive', async () => {
    const { server, world, obs } = await heldLease();
    const o = structuredClone(server.object!);
    o.spec!.renewTime = '2999-01-01T00:00:00.000000Z';
    server.store(o);
    await obs.e.read();
    world.advance(10_000);
    await obs.e.read();
    expect(decide(view(obs.e), obs.clock.now()).kind).toBe('acquire');
  });

  it('an observer that just started waits a whole lease duration, however old the lease is', async () => {
    const { world, obs } = await heldLease();
    world.advance(60_000);
    await obs.e.read();
    expect(decide(view(obs.e), obs.clock.now()).kind).toBe('follow');
  });
});

describe('identity is pod name and UID', () => {
  it('a new pod with the same name does not inherit the lease', async () => {
    const server = new FakeLeaseServer();
    const world = new World();
    const old = elector(server, world, identity('pg-0', 'uid-old'));
    await old.e.read();
    await old.e.claim({ lsn: 0x3000000n, timeline: 1 });
    const fresh = elector(server, world, identity('pg-0', 'uid-new'));
    await fresh.e.read();
    expect(fresh.e.holding).toBe(false);
    const obs = () =>
      observedFrom(fresh.e, {
        self: identity('pg-0', 'uid-new'),
        record,
        local: { ...standby(), role: 'starting', data: 'primary' },
        peers: [],
      });
    expect(decide(obs(), fresh.clock.now())).toMatchObject({ kind: 'follow' });
    // Its own data is the primary's: once the old incarnation's lease expires, it reclaims.
    world.advance(10_000);
    await fresh.e.read();
    expect(decide(obs(), fresh.clock.now())).toMatchObject({ kind: 'acquire', as: 'reclaim' });
  });

  it('the same incarnation (agent restarted in the pod) renews its own lease at once', async () => {
    const server = new FakeLeaseServer();
    const world = new World();
    const before = elector(server, world, pg0);
    await before.e.read();
    await before.e.claim({});
    const after = elector(server, world, pg0);
    await after.e.read();
    expect(after.e.holding).toBe(false);
    const o = observedFrom(after.e, { self: pg0, record, local: primary(), peers: [] });
    expect(decide(o, after.clock.now())).toMatchObject({ kind: 'acquire', as: 'reclaim' });
    expect((await after.e.claim({})).ok).toBe(true);
    expect(after.e.holding).toBe(true);
  });
});

describe('switchover requests in the lease', () => {
  const ref = { namespace: 'demo', name: 'pg-primary' };
  const base = (annotations: Record<string, string>) => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'pg-primary', namespace: 'demo', resourceVersion: '7', annotations },
    spec: { holderIdentity: 'pg-0/uid-0', leaseDurationSeconds: 10 },
  });
  const asked = { 'kpg.io/switchover-to': 'pg-2', 'kpg.io/switchover-from': 'pg-0/uid-0' };
  const write = { leaseDurationSeconds: 10, wallMs: 0, attempt: 'uid-0:1' };

  it('reads a request only with both its target and the holder meant to carry it out', () => {
    expect(snapshotOf(base(asked)).switchover).toEqual({ to: 'pg-2', from: 'pg-0/uid-0' });
    expect(snapshotOf(base({ 'kpg.io/switchover-to': 'pg-2' })).switchover).toBeUndefined();
  });

  it('keeps it across renewals, and settles it by a release, a new holder or a refusal', () => {
    const a = (w: Parameters<typeof leaseForWrite>[2]) =>
      leaseForWrite(ref, base(asked), w).metadata?.annotations ?? {};
    expect(a({ ...write, holder: 'pg-0/uid-0' })['kpg.io/switchover-to']).toBe('pg-2');
    expect(a({ ...write, handoverTo: 'pg-2' })['kpg.io/switchover-to']).toBeUndefined();
    expect(a({ ...write, holder: 'pg-1/uid-1' })['kpg.io/switchover-from']).toBeUndefined();
    const refused = a({ ...write, holder: 'pg-0/uid-0', refuseSwitchover: 'no standby confirmed' });
    expect(refused['kpg.io/switchover-to']).toBeUndefined();
    expect(refused['kpg.io/switchover-refused']).toBe('no standby confirmed');
  });
});

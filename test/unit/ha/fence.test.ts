/** The fence deadline against takeovers: renew deadline, clock rate skew, a holder cut off from the API. */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TIMING,
  FENCE_NOW,
  decide,
  fenceDeadlineMs,
  fenceMarginMs,
  formatDeadline,
  parseDeadline,
  parseUptime,
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

const record = { primary: 'pg-0', timeline: 1 };

describe('fence deadline', () => {
  it('is the renew deadline after the renewal was sent', () => {
    expect(fenceDeadlineMs(50_000, DEFAULT_TIMING)).toBe(56_000);
  });

  it('leaves lease − renew deadline of margin, less what rate skew eats', () => {
    expect(fenceMarginMs(DEFAULT_TIMING)).toBe(4000);
    expect(fenceMarginMs(DEFAULT_TIMING, 0.1)).toBeGreaterThan(2000);
  });

  it('is written and read as seconds since boot, like /proc/uptime', () => {
    expect(formatDeadline(123_456_789)).toBe('123456.789\n');
    expect(parseDeadline('123456.789\n')).toBe(123_456_789);
    expect(parseDeadline(FENCE_NOW)).toBe(0);
    expect(parseDeadline('soon')).toBeUndefined();
    expect(parseUptime('35123.45 61234.99\n')).toBe(35_123_450);
    expect(parseUptime('')).toBeUndefined();
  });
});

/**
 * A holder renews every second until it is cut off from the API server; a
 * standby watches. Each has its own clock running at its own rate. The
 * holder's postgres must be fenced (its clock passes the deadline) before
 * the standby decides to take over, in real time.
 */
async function cutOff(rates: { holder: number; observer: number }) {
  const server = new FakeLeaseServer();
  const world = new World();
  const holder = elector(server, world, identity('pg-0'), { origin: 7_000, rate: rates.holder });
  const observer = elector(server, world, identity('pg-1'), {
    origin: 90_000,
    rate: rates.observer,
  });
  await holder.e.read();
  let fence = 0;
  const renew = async () => {
    await holder.e.read().catch(() => undefined);
    const r = await holder.e.claim({ lsn: 0x3000000n, timeline: 1 });
    if (r.ok) fence = fenceDeadlineMs(holder.e.lastRenewalSentMs!, DEFAULT_TIMING);
  };
  for (let i = 0; i < 5; i++) {
    await renew();
    await observer.e.read();
    world.advance(1000);
  }
  // The holder is cut off from the API server (the standby is not).
  const cut = world.t;
  const holderApi = holder.api;
  holderApi.faults.push(...Array<'timeout-lost'>(100).fill('timeout-lost'));
  let fencedAt: number | undefined;
  let steppedDownAt: number | undefined;
  let takenAt: number | undefined;
  for (let step = 0; step < 400 && takenAt === undefined; step++) {
    world.advance(100);
    if (fencedAt === undefined && holder.clock.now() >= fence) fencedAt = world.t;
    if (step % 10 === 0) {
      await renew();
      const me = observedFrom(holder.e, {
        self: identity('pg-0'),
        record,
        local: primary({ lastPrimaryMs: holder.clock.now() }),
        peers: [],
        labelled: 'primary',
      });
      if (steppedDownAt === undefined && decide(me, holder.clock.now()).kind === 'step-down')
        steppedDownAt = world.t;
      await observer.e.read();
      const them = observedFrom(observer.e, {
        self: identity('pg-1'),
        record,
        local: standby(),
        peers: [],
      });
      if (decide(them, observer.clock.now()).kind === 'acquire') takenAt = world.t;
    }
  }
  return { cut, fencedAt: fencedAt!, steppedDownAt: steppedDownAt!, takenAt: takenAt! };
}

describe('a holder cut off from the API server', () => {
  it('is fenced and steps down before a standby may take over', async () => {
    const r = await cutOff({ holder: 1, observer: 1 });
    expect(r.fencedAt - r.cut).toBeLessThanOrEqual(6000);
    expect(r.steppedDownAt).toBeLessThanOrEqual(r.fencedAt + 1000);
    expect(r.takenAt - r.cut).toBeGreaterThanOrEqual(9000);
    expect(r.takenAt).toBeGreaterThan(r.fencedAt + 3000);
  });

  it('stays safe with the holder’s clock 10% slow and the standby’s 10% fast', async () => {
    const r = await cutOff({ holder: 0.9, observer: 1.1 });
    expect(r.fencedAt).toBeLessThan(r.takenAt);
    expect(r.takenAt - r.fencedAt).toBeGreaterThan(1500);
  });

  it('stays safe the other way round too (fast holder, slow standby)', async () => {
    const r = await cutOff({ holder: 1.1, observer: 0.9 });
    expect(r.fencedAt).toBeLessThan(r.takenAt);
  });
});

describe('the API server away for 60 s with every pod healthy', () => {
  it('no standby promotes; the old primary fences itself, then takes its own lease back', async () => {
    const server = new FakeLeaseServer();
    const world = new World();
    const pg0 = identity('pg-0');
    const pg1 = identity('pg-1');
    const holder = elector(server, world, pg0);
    const standbyE = elector(server, world, pg1, { origin: 50_000 });
    await holder.e.read();
    await holder.e.claim({ lsn: 0x3000000n, timeline: 1 });
    await standbyE.e.read();
    const me = () =>
      observedFrom(holder.e, {
        self: pg0,
        record,
        local: primary({ lastPrimaryMs: holder.clock.now() }),
        peers: [],
        labelled: 'primary',
      });
    server.down = true;
    const actions: string[] = [];
    let fencedAt: number | undefined;
    for (let s = 0; s < 60; s++) {
      world.advance(1000);
      await holder.e.read().catch(() => undefined);
      const a = decide(
        { ...me(), lease: { readable: false, error: 'no answer' } },
        holder.clock.now(),
      );
      actions.push(a.kind);
      if (a.kind === 'step-down') {
        holder.e.stepDown();
        fencedAt ??= standbyE.clock.now();
      }
    }
    expect(actions.indexOf('step-down')).toBe(6);
    server.down = false;
    world.advance(1000);
    // The standby stopped streaming when the primary was fenced, 54 s ago.
    await standbyE.e.read();
    const local = standby({ streaming: false, lastStreamingMs: fencedAt! });
    const theirs = observedFrom(standbyE.e, { self: pg1, record, local, peers: [] });
    expect(decide(theirs, standbyE.clock.now())).toMatchObject({
      kind: 'refuse',
      reason: expect.stringContaining('last streamed from the primary'),
    });
    // The old primary's agent: the lease still names its incarnation, so it renews it again.
    await holder.e.read();
    const mine = observedFrom(holder.e, {
      self: pg0,
      record,
      local: { ...primary(), role: 'starting' },
      peers: [],
    });
    expect(decide(mine, holder.clock.now())).toMatchObject({ kind: 'acquire', as: 'reclaim' });
    expect((await holder.e.claim({})).ok).toBe(true);
  });
});

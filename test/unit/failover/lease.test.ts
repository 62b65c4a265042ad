import { describe, expect, it } from 'vitest';
import type { Clock, Kube, LeaseResult } from '../../../src/lib/kube/index.js';
import { LeaseHeldError } from '../../../src/lib/kube/index.js';
import type { FailoverContext, ProgressEvent } from '../../../src/lib/failover/context.js';
import { takeLease } from '../../../src/lib/failover/lease.js';

function fakeClock(start: number): Clock & { slept: number[] } {
  let t = start;
  const slept: number[] = [];
  return {
    now: () => t,
    sleep: async (ms: number) => {
      slept.push(ms);
      t += ms;
    },
    random: () => 0.5,
    slept,
  };
}

function ctxWith(
  results: LeaseResult[],
  clock: Clock,
  events: ProgressEvent[] = [],
): FailoverContext {
  const kube = {
    acquireLease: async () => results.shift() ?? { acquired: true, lease: {} },
    renewLease: async () => ({ acquired: true, lease: {} }),
    releaseLease: async () => true,
  } as unknown as Kube;
  return {
    kube,
    namespace: 'demo',
    cluster: 'pg',
    clock,
    holder: 'me',
    onEvent: (e) => events.push(e),
  };
}

const held = (renewedAt: number): LeaseResult => ({
  acquired: false,
  holder: 'kpg@other/42',
  expiresAt: new Date(renewedAt + 15_000),
  lease: {
    spec: {
      holderIdentity: 'kpg@other/42',
      renewTime: new Date(renewedAt).toISOString(),
      leaseDurationSeconds: 15,
    },
  },
});

describe('takeLease', () => {
  it('fails at once, naming the holder, when the holder renews', async () => {
    const now = Date.parse('2026-01-01T00:00:10Z');
    const clock = fakeClock(now);
    const err = await takeLease(ctxWith([held(now - 1_000)], clock)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LeaseHeldError);
    expect((err as Error).message).toMatch(
      /another kpg failover or apply is running on demo\/pg: lease pg-failover is held by kpg@other\/42/,
    );
    expect(clock.slept).toEqual([]);
  });
  it('waits out a holder that stopped renewing, then takes the lease', async () => {
    const now = Date.parse('2026-01-01T00:00:10Z');
    const clock = fakeClock(now);
    const events: ProgressEvent[] = [];
    const lease = await takeLease(ctxWith([held(now - 10_000)], clock, events));
    expect(clock.slept[0]).toBeGreaterThan(4_000);
    expect(events.some((e) => e.type === 'info' && /stopped renewing/.test(e.message))).toBe(true);
    await lease.release();
  });
});

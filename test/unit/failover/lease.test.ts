import { describe, expect, it } from 'vitest';
import type { Clock, Kube, LeaseResult } from '../../../src/lib/kube/index.js';
import { LeaseHeldError } from '../../../src/lib/kube/index.js';
import type { FailoverContext, ProgressEvent } from '../../../src/lib/failover/context.js';
import { takeLease } from '../../../src/lib/failover/lease.js';
import { thisProcess } from '../../../src/lib/failover/holder-process.js';
import { spawnSync } from 'node:child_process';

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

/**
 * A lease held by another run: at version "7" while `renews` is false; each
 * read of a renewing holder shows a new version. Taken when asked with the
 * version the caller watched expire.
 */
function ctxWith(
  renewedAt: number,
  clock: Clock,
  opts: {
    renews?: boolean;
    events?: ProgressEvent[];
    asked?: (string | undefined)[];
    process?: string;
  } = {},
): FailoverContext {
  let version = 7;
  const kube = {
    acquireLease: async (
      _ns: string,
      _name: string,
      _holder: string,
      _ttl: number,
      o: { expiredVersion?: string } = {},
    ): Promise<LeaseResult> => {
      opts.asked?.push(o.expiredVersion);
      if (opts.renews) version++;
      if (o.expiredVersion === String(version)) return { acquired: true, lease: {} };
      const r = held(renewedAt, String(version));
      if (opts.process && !r.acquired)
        r.lease.metadata = {
          ...r.lease.metadata,
          annotations: { 'kpg.io/holder-process': `kpg@other/42 ${opts.process}` },
        };
      return r;
    },
    renewLease: async () => ({ acquired: true, lease: {} }),
    releaseLease: async () => true,
  } as unknown as Kube;
  return {
    kube,
    namespace: 'demo',
    cluster: 'pg',
    clock,
    holder: 'me',
    onEvent: (e) => opts.events?.push(e),
  };
}

const held = (renewedAt: number, resourceVersion: string): LeaseResult => ({
  acquired: false,
  holder: 'kpg@other/42',
  expiresAt: new Date(renewedAt + 15_000),
  lease: {
    metadata: { resourceVersion },
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
    const err = await takeLease(ctxWith(now - 1_000, clock)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LeaseHeldError);
    expect((err as Error).message).toMatch(
      /another kpg failover or apply is running on demo\/pg: lease pg-failover is held by kpg@other\/42/,
    );
    expect(clock.slept).toEqual([]);
  });

  it('takes over a stale lease only after seeing it unchanged for a whole lease duration', async () => {
    const now = Date.parse('2026-01-01T00:00:10Z');
    const clock = fakeClock(now);
    const events: ProgressEvent[] = [];
    const asked: (string | undefined)[] = [];
    const lease = await takeLease(ctxWith(now - 10_000, clock, { events, asked }));
    // Watched 15 s on this run's clock, although renewTime said it had 5 s left.
    expect(clock.now() - now).toBe(15_000);
    expect(asked.at(-1)).toBe('7');
    expect(asked.slice(0, -1).every((v) => v === undefined)).toBe(true);
    expect(events.some((e) => e.type === 'info' && /stopped renewing/.test(e.message))).toBe(true);
    await lease.release();
  });

  it('a renewTime far in the past (a wrong clock) still waits a whole lease duration', async () => {
    const now = Date.parse('2026-01-01T00:00:10Z');
    const clock = fakeClock(now);
    const lease = await takeLease(ctxWith(now - 3_600_000, clock));
    expect(clock.now() - now).toBe(15_000);
    await lease.release();
  });

  it('fails, naming the holder, when a stale-looking lease is renewed while watched', async () => {
    const now = Date.parse('2026-01-01T00:00:10Z');
    const clock = fakeClock(now);
    const err = await takeLease(ctxWith(now - 60_000, clock, { renews: true })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LeaseHeldError);
    expect(clock.now() - now).toBeLessThan(15_000);
  });

  it('takes over at once, by version, a lease whose holder was a process here that exited', async () => {
    const now = Date.parse('2026-01-01T00:00:10Z');
    const clock = fakeClock(now);
    const me = thisProcess()!;
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const asked: (string | undefined)[] = [];
    const events: ProgressEvent[] = [];
    const lease = await takeLease(
      ctxWith(now - 1_000, clock, {
        asked,
        events,
        process: `${me.slice(0, me.lastIndexOf('/'))}/${dead}`,
      }),
    );
    expect(clock.slept).toEqual([]);
    expect(asked).toEqual([undefined, '7']);
    expect(
      events.some(
        (e) => e.type === 'info' && /process of this machine that has exited/.test(e.message),
      ),
    ).toBe(true);
    await lease.release();
  });

  it('a holder that is a live process here is not taken over', async () => {
    const now = Date.parse('2026-01-01T00:00:10Z');
    const err = await takeLease(
      ctxWith(now - 1_000, fakeClock(now), {
        process: thisProcess()!.replace(/\d+$/, String(process.ppid)),
      }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LeaseHeldError);
  });

  it("does not trust a process annotation left by another holder (a Lease applied over kpg's)", async () => {
    const now = Date.parse('2026-01-01T00:00:10Z');
    const clock = fakeClock(now);
    const me = thisProcess()!;
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const ctx = ctxWith(now - 1_000, clock, {
      process: `${me.slice(0, me.lastIndexOf('/'))}/${dead}`,
    });
    const acquire = ctx.kube.acquireLease.bind(ctx.kube);
    ctx.kube.acquireLease = (async (...a: Parameters<typeof acquire>) => {
      const r = await acquire(...a);
      if (!r.acquired) {
        const an = r.lease.metadata!.annotations!;
        an['kpg.io/holder-process'] = an['kpg.io/holder-process']!.replace(
          'kpg@other/42',
          'kpg@earlier/1',
        );
      }
      return r;
    }) as typeof acquire;
    const err = await takeLease(ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LeaseHeldError);
    expect(clock.slept).toEqual([]);
  });
});

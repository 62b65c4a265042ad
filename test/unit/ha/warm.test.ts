import { describe, expect, it } from 'vitest';
import type { PgSnapshot, Postgres } from '../../../src/agent/postgres.js';
import { warmSnapshot, withWarmStandby } from '../../../src/agent/warm.js';

const FILE =
  'at=100.50\nstreaming=1\nlsn=0/5000148\nwal_end=\ntimeline=2\nsystem=7714473435037495598\n';

describe('warmSnapshot', () => {
  it("reads warm-standby.sh's report as a standby's snapshot", () => {
    expect(warmSnapshot(FILE, 101_000)).toEqual({
      role: 'standby',
      timeline: 2,
      flushLsn: 0x5000148n,
      streaming: true,
      replayPaused: false,
      synchronous: [],
      systemIdentifier: '7714473435037495598',
    });
  });
  it('gives the end of WAL on disk when the report has it', () => {
    const s = warmSnapshot(
      FILE.replace('wal_end=', 'wal_end=0/3025B1A').replace('streaming=1', 'streaming=0'),
      101_000,
    );
    expect(s?.walEnd).toBe(0x3025b1an);
    expect(s?.streaming).toBe(false);
  });
  it('says nothing for a report older than 3 s (its loop or postmaster is gone), from the future, or none', () => {
    expect(warmSnapshot(FILE, 103_500)).toEqual(expect.objectContaining({ role: 'standby' }));
    expect(warmSnapshot(FILE, 103_501)).toBeUndefined();
    expect(warmSnapshot(FILE, 99_000)).toBeUndefined();
    expect(warmSnapshot(undefined, 101_000)).toBeUndefined();
    expect(warmSnapshot('garbage', 101_000)).toBeUndefined();
  });
});

describe('withWarmStandby', () => {
  const primary: PgSnapshot = {
    role: 'primary',
    streaming: false,
    replayPaused: false,
    synchronous: [],
  };
  /** A fake postgres (its answer, its SQL attempts) and a fake clock. */
  function world(
    answer: PgSnapshot | undefined,
    file: string = FILE,
    endsAfterMs = 200,
    answersAfterMs = 300,
  ) {
    const w = {
      now: 101_000,
      file: file as string,
      answer,
      attempts: 0,
      promoted: 0,
      pg: undefined as unknown as Postgres,
    };
    const inner: Postgres = {
      snapshot: async () => {
        w.attempts++;
        return w.answer;
      },
      promote: async () => {
        w.promoted++;
      },
      slots: async () => [],
      changeSlots: async () => undefined,
      close: async () => undefined,
    };
    w.pg = withWarmStandby(
      inner,
      // The loop keeps its report fresh while it runs.
      () => w.file.replace(/^at=.*$/m, `at=${(w.now / 1000).toFixed(2)}`),
      () => w.now,
      {
        timeoutMs: 3000,
        // Promotion ends (the file goes) after endsAfterMs of waiting.
        sleep: async (ms) => {
          w.now += ms;
          if (w.promoted && w.now >= 101_000 + endsAfterMs) w.file = '';
          if (w.promoted && w.now >= 101_000 + answersAfterMs) w.answer = primary;
        },
      },
    );
    return w;
  }

  it('SQL first; the report only when SQL gets no answer', async () => {
    expect(await world(primary).pg.snapshot()).toBe(primary);
    expect((await world(undefined).pg.snapshot())?.role).toBe('standby');
    expect(await world(undefined, '').pg.snapshot()).toBeUndefined();
  });

  it('once the report has spoken, no SQL attempt for 5 s (each is a FATAL in the log)', async () => {
    const w = world(undefined);
    await w.pg.snapshot();
    await w.pg.snapshot();
    expect(w.attempts).toBe(1);
    w.now += 5000;
    await w.pg.snapshot();
    expect(w.attempts).toBe(2);
  });

  it('promote waits for the end of recovery and for postgres to answer as primary', async () => {
    const w = world(undefined);
    await w.pg.snapshot();
    // The file goes after 200 ms; connections come after 300 ms.
    await w.pg.promote();
    expect(w.promoted).toBe(1);
    expect(w.now).toBeGreaterThanOrEqual(101_300);
    expect(await w.pg.snapshot()).toBe(primary);
  });

  it('promote gives up waiting after its timeout', async () => {
    const w = world(undefined, FILE, Number.POSITIVE_INFINITY);
    await w.pg.promote();
    expect(w.now - 101_000).toBeGreaterThanOrEqual(3000);
    expect(w.now - 101_000).toBeLessThan(3100);
  });
});

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
  const pg = (snap: PgSnapshot | undefined): Postgres => ({
    snapshot: async () => snap,
    promote: async () => undefined,
    close: async () => undefined,
  });
  it('SQL first; the report only when SQL gets no answer', async () => {
    const primary: PgSnapshot = {
      role: 'primary',
      streaming: false,
      replayPaused: false,
      synchronous: [],
    };
    expect(
      await withWarmStandby(
        pg(primary),
        () => FILE,
        () => 101_000,
      ).snapshot(),
    ).toBe(primary);
    expect(
      (
        await withWarmStandby(
          pg(undefined),
          () => FILE,
          () => 101_000,
        ).snapshot()
      )?.role,
    ).toBe('standby');
    expect(
      await withWarmStandby(
        pg(undefined),
        () => undefined,
        () => 101_000,
      ).snapshot(),
    ).toBeUndefined();
  });
});

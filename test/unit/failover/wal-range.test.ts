import { describe, expect, it } from 'vitest';
import { parseLsn } from '../../../src/lib/failover/lsn.js';
import { planCopy, segmentFileName, splitRange } from '../../../src/lib/failover/wal-range.js';

const MiB16 = 16n * 1024n * 1024n;
const lsn = (t: string): bigint => parseLsn(t) ?? -1n;

describe('WAL segment files', () => {
  it('names segments as PostgreSQL does', () => {
    expect(segmentFileName(1, 3n, MiB16)).toBe('000000010000000000000003');
    // 256 segments of 16 MiB per 4 GiB "xlogid".
    expect(segmentFileName(2, 256n + 0xabn, MiB16)).toBe('0000000200000001000000AB');
    expect(segmentFileName(0x1f, lsn('16/B374D848') / MiB16, MiB16)).toBe(
      '0000001F00000016000000B3',
    );
    // 1 GiB segments: 4 per xlogid.
    expect(segmentFileName(1, 5n, 1024n * 1024n * 1024n)).toBe('000000010000000100000001');
  });

  it('splits a byte range over segment files', () => {
    expect(splitRange(1, lsn('0/3000100'), lsn('0/3000200'), MiB16)).toEqual([
      { file: '000000010000000000000003', offset: 0x100, length: 0x100 },
    ]);
    expect(splitRange(1, lsn('0/3FFFF00'), lsn('0/4000080'), MiB16)).toEqual([
      { file: '000000010000000000000003', offset: 0xffff00, length: 0x100 },
      { file: '000000010000000000000004', offset: 0, length: 0x80 },
    ]);
    expect(splitRange(1, lsn('0/3000000'), lsn('0/3000000'), MiB16)).toEqual([]);
  });

  it('crosses the 4 GiB boundary', () => {
    const pieces = splitRange(1, lsn('0/FFFFFFF0'), lsn('1/10'), MiB16);
    expect(pieces.map((p) => [p.file, p.offset, p.length])).toEqual([
      ['0000000100000000000000FF', 0xfffff0, 0x10],
      ['000000010000000100000000', 0, 0x10],
    ]);
  });
});

describe('planCopy', () => {
  it('copies from what the target received to the end of the last record page', () => {
    const p = planCopy(lsn('0/3004010'), lsn('0/3006123'), 8192n, MiB16);
    expect(p.copy).toEqual({ from: lsn('0/3004010'), to: lsn('0/3008000') });
    expect(p.compare).toEqual({ from: lsn('0/3002010'), to: lsn('0/3004010') });
  });

  it('keeps the compared span inside the received segment', () => {
    const p = planCopy(lsn('0/3000100'), lsn('0/3000200'), 8192n, MiB16);
    expect(p.compare).toEqual({ from: lsn('0/3000000'), to: lsn('0/3000100') });
  });

  it('copies nothing when the target holds everything', () => {
    const p = planCopy(lsn('0/3006000'), lsn('0/3006000'), 8192n, MiB16);
    expect(p.copy.to).toBe(lsn('0/3006000'));
    const q = planCopy(lsn('0/3008000'), lsn('0/3007F00'), 8192n, MiB16);
    expect(q.copy.to).toBe(q.copy.from);
  });
});

import { describe, expect, it } from 'vitest';
import {
  formatBytes,
  formatLsn,
  lsnDistance,
  maxLsn,
  parseLsn,
} from '../../../src/lib/failover/lsn.js';

describe('lsn', () => {
  it('parses and formats', () => {
    expect(parseLsn('0/3000148')).toBe(0x3000148n);
    expect(parseLsn('16/B374D848')).toBe((0x16n << 32n) | 0xb374d848n);
    expect(formatLsn(parseLsn('16/B374D848') ?? 0n)).toBe('16/B374D848');
    expect(parseLsn('')).toBeUndefined();
    expect(parseLsn('nope')).toBeUndefined();
    expect(parseLsn(undefined)).toBeUndefined();
  });
  it('compares across the 4 GiB boundary', () => {
    const a = parseLsn('0/FFFFFFFF') ?? 0n;
    const b = parseLsn('1/0') ?? 0n;
    expect(lsnDistance(b, a)).toBe(1n);
    expect(lsnDistance(a, b)).toBe(0n);
    expect(maxLsn(a, undefined, b)).toBe(b);
    expect(maxLsn()).toBeUndefined();
  });
  it('formats bytes', () => {
    expect(formatBytes(512n)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(3n * 1024n * 1024n)).toBe('3.0 MiB');
  });
});

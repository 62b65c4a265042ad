import { describe, expect, it } from 'vitest';
import type { BackupInfo } from '../../../src/lib/backup/info.js';
import { planPrune, walFileName } from '../../../src/lib/backup/prune.js';

const b = (id: string, timeline: number, startLsn: string): BackupInfo => ({
  id,
  cluster: 'demo/pg',
  serverVersionNum: 150010,
  timeline,
  startLsn,
  stopLsn: startLsn,
  startTime: '',
  stopTime: `t-${id}`,
  nextXid: '1',
  bytes: 1,
  source: 'pg',
});

describe('walFileName', () => {
  it('names the 16 MB segment holding the LSN, as pg_walfile_name does', () => {
    expect(walFileName(1, '0/5000028')).toBe('000000010000000000000005');
    expect(walFileName(2, '0/FF000000')).toBe('0000000200000000000000FF');
    expect(walFileName(3, '1/0')).toBe('000000030000000100000000');
    expect(walFileName(10, 'A/2B000060')).toBe('0000000A0000000A0000002B');
  });
});

describe('planPrune', () => {
  const all = [
    b('20261204T030000Z', 2, '0/9000028'),
    b('20261204T010000Z', 1, '0/3000028'),
    b('20261204T020000Z', 1, '0/6000060'),
  ];

  it('keeps the newest N, removes the rest and the WAL before the oldest kept start', () => {
    const p = planPrune(all, 2);
    expect(p.keep.map((x) => x.id)).toEqual(['20261204T020000Z', '20261204T030000Z']);
    expect(p.remove.map((x) => x.id)).toEqual(['20261204T010000Z']);
    expect(p.walBefore).toBe('000000010000000000000006');
  });

  it('keeping more than there are removes no backup, only WAL older than the oldest', () => {
    const p = planPrune(all, 5);
    expect(p.remove).toEqual([]);
    expect(p.walBefore).toBe('000000010000000000000003');
  });

  it('no backups: nothing to do', () => {
    expect(planPrune([], 1)).toEqual({ keep: [], remove: [] });
  });

  it('refuses to keep none', () => {
    expect(() => planPrune(all, 0)).toThrow(/would leave no base backup/);
  });
});

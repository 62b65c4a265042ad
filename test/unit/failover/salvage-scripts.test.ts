import { describe, expect, it } from 'vitest';
import { parseLsn } from '../../../src/lib/failover/lsn.js';
import { endsBeforeNextRecord, parseWalEnd } from '../../../src/lib/failover/salvage-scripts.js';

const COMMIT =
  'rmgr: Transaction len (rec/tot):     34/    34, tx:        745, lsn: 0/04025108, prev 0/040250D0, desc: COMMIT 2026-11-22 04:20:01.123456 UTC';

describe('parseWalEnd', () => {
  it('reads a stopped former primary and the end of its WAL', () => {
    const w = parseWalEnd(
      [
        'state=preparing',
        'postmaster=0',
        'signal=0',
        'tli=1',
        'cluster_state=in production',
        'segsize=16777216',
        'blcksz=8192',
        `walrec=1|${COMMIT}`,
        'dump_error=pg_waldump: error: error in WAL record at 0/4025108: invalid record length at 0/4025130: expected at least 24, got 0',
      ].join('\n'),
    );
    expect(w).toMatchObject({
      postmaster: false,
      standbySignal: false,
      startState: 'preparing',
      clusterState: 'in production',
      timeline: 1,
      segSize: 16777216n,
      blockSize: 8192n,
    });
    expect(w.last?.lsn).toBe(parseLsn('0/4025108'));
    expect(w.last?.end).toBe(parseLsn('0/4025108')! + 34n);
    expect(w.last?.kind).toBe('COMMIT');
    expect(w.last?.timeline).toBe(1);
    expect(endsBeforeNextRecord(w.dumpError)).toBe(false);
  });

  it('tells "nothing after the start" from "cannot read"', () => {
    const none = parseWalEnd(
      'postmaster=0\nsignal=0\nsegsize=16777216\nblcksz=8192\ndump_error=pg_waldump: error: could not find a valid record after 0/4025130',
    );
    expect(none.last).toBeUndefined();
    expect(endsBeforeNextRecord(none.dumpError)).toBe(true);
    const missing = parseWalEnd(
      'postmaster=0\nsignal=0\ndump_error=pg_waldump: error: could not find file "000000010000000000000004": No such file or directory',
    );
    expect(endsBeforeNextRecord(missing.dumpError)).toBe(false);
  });

  it('says when PGDATA holds no database at all (a lost volume: nothing to wait for)', () => {
    const w = parseWalEnd(
      'gone=1\nerror=its data directory holds no database (its volume is gone)\n',
    );
    expect(w.gone).toBe(true);
    expect(w.error).toMatch(/holds no database/);
    expect(parseWalEnd('tli=1\n').gone).toBeUndefined();
  });

  it('reports a postmaster, a standby signal and an unreadable control file', () => {
    expect(parseWalEnd('postmaster=1\nsignal=1').postmaster).toBe(true);
    expect(parseWalEnd('postmaster=1\nsignal=1').standbySignal).toBe(true);
    expect(parseWalEnd('error=pg_controldata cannot read /x').error).toMatch(/pg_controldata/);
    expect(parseWalEnd('segsize=abc').segSize).toBeUndefined();
  });
});

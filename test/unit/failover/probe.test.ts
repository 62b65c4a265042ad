import { describe, expect, it } from 'vitest';
import { parseLsn } from '../../../src/lib/failover/lsn.js';
import { parseProbe, parseWalRecord } from '../../../src/lib/failover/probe.js';

describe('parseProbe', () => {
  it('reads a primary', () => {
    const p = parseProbe(
      [
        'state=running',
        'postmaster=1',
        'signal=0',
        'cluster_state=in production',
        'sql=f|0/5000148|||3||pg-1:streaming:0/5000148:0/5000148,pg-2:catchup::',
      ].join('\n'),
    );
    expect(p).toMatchObject({
      postmaster: true,
      accepts: true,
      inRecovery: false,
      timeline: 3,
      startState: 'running',
    });
    expect(p.currentLsn).toBe(parseLsn('0/5000148'));
    expect(p.peers).toEqual([
      { name: 'pg-1', state: 'streaming', flushLsn: 0x5000148n, replayLsn: 0x5000148n },
      { name: 'pg-2', state: 'catchup' },
    ]);
  });
  it('reads a hot standby', () => {
    const p = parseProbe(
      'postmaster=1\nsignal=1\nsql=t||0/6000000|0/5FFFFF0|2|streaming|\nreach=0',
    );
    expect(p).toMatchObject({
      inRecovery: true,
      receiveLsn: 0x6000000n,
      replayLsn: 0x5fffff0n,
      walReceiver: 'streaming',
      reachesPrimary: false,
    });
  });
  it('reads a warm standby from its WAL on disk', () => {
    const p = parseProbe(
      'postmaster=1\nsignal=1\nsql=\nwalrec=1|rmgr: XLOG        len (rec/tot):    114/   114, tx:          0, lsn: 0/030000D8, prev 0/030000A0, desc: CHECKPOINT_SHUTDOWN redo 0/30000D8; tli 1',
    );
    expect(p.accepts).toBe(false);
    expect(p.receiveLsn).toBe(0x30000d8n + 114n);
    expect(p.lastRecord?.kind).toBe('CHECKPOINT_SHUTDOWN');
    expect(p.timeline).toBe(1);
  });
  it('ignores garbage', () => {
    expect(parseWalRecord('x')).toBeUndefined();
    expect(parseProbe('')).toMatchObject({ postmaster: false, accepts: false });
  });
});

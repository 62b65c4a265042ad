/** Graceful handover: release to the standby that replayed the shutdown checkpoint, or keep the lease. */
import { describe, expect, it } from 'vitest';
import { confirmsCheckpoint, decideHandover } from '../../../src/lib/ha/index.js';
import { standby } from './fakes.js';

const cp = { lsn: 0x3000028n, timeline: 1 };

describe('confirmsCheckpoint', () => {
  it('a standby that replayed past the checkpoint record on the same timeline confirms', () => {
    expect(confirmsCheckpoint(standby({ replayLsn: 0x30000a0n }), cp)).toBe(true);
  });
  it('one that only reached its start, another timeline, or a primary does not', () => {
    expect(confirmsCheckpoint(standby({ replayLsn: 0x3000028n }), cp)).toBe(false);
    expect(confirmsCheckpoint(standby({ replayLsn: 0x30000a0n, timeline: 2 }), cp)).toBe(false);
    expect(confirmsCheckpoint({ ...standby({ replayLsn: 0x30000a0n }), role: 'primary' }, cp)).toBe(
      false,
    );
    expect(confirmsCheckpoint(standby({ replayLsn: undefined }), cp)).toBe(false);
  });
  it('a warm standby (no replay LSN) confirms by the whole records on its disk, never by its flush position', () => {
    const warm = standby({ replayLsn: undefined, flushLsn: 0x30000a0n });
    expect(confirmsCheckpoint(warm, cp)).toBe(false);
    expect(confirmsCheckpoint({ ...warm, walEnd: 0x30000a0n }, cp)).toBe(true);
    expect(confirmsCheckpoint({ ...warm, walEnd: 0x3000028n }, cp)).toBe(false);
  });
});

describe('decideHandover', () => {
  const base = { sinceMs: 0, timeoutMs: 10_000 };
  it('releases to the confirming standby, the lowest ordinal when several confirm', () => {
    const d = decideHandover(
      {
        ...base,
        checkpoint: cp,
        confirmations: [
          { pod: 'pg-2', confirmed: true, replayLsn: 0x30000a0n },
          { pod: 'pg-1', confirmed: true, replayLsn: 0x30000a0n },
          { pod: 'pg-0', confirmed: false },
        ],
      },
      2000,
    );
    expect(d).toMatchObject({ kind: 'release', to: 'pg-1' });
    expect(d.reason).toContain('0/3000028');
  });
  it('waits for the checkpoint, then for a confirmation', () => {
    expect(decideHandover({ ...base, confirmations: [] }, 1000)).toMatchObject({ kind: 'wait' });
    const none = { ...base, checkpoint: cp, confirmations: [{ pod: 'pg-1', confirmed: false }] };
    expect(decideHandover(none, 1000)).toMatchObject({ kind: 'wait' });
  });
  it('keeps the lease at once when every standby answers that it is stopping too (the whole cluster goes)', () => {
    const all = {
      ...base,
      checkpoint: cp,
      confirmations: [
        { pod: 'pg-1', confirmed: false, stopping: true },
        { pod: 'pg-2', confirmed: false, stopping: true },
      ],
    };
    expect(decideHandover(all, 500)).toMatchObject({
      kind: 'keep',
      reason: expect.stringContaining('every standby is stopping too (pg-1, pg-2)'),
    });
    // One that did not answer may be back: it is waited for, as before.
    const some = {
      ...all,
      confirmations: [all.confirmations[0]!, { pod: 'pg-2', confirmed: false }],
    };
    expect(decideHandover(some, 500).kind).toBe('wait');
    // A stopping standby that confirmed is still handed the lease (it may outlive the primary).
    const confirmed = {
      ...all,
      confirmations: [{ pod: 'pg-1', confirmed: true, stopping: true, replayLsn: 0x30000a0n }],
    };
    expect(decideHandover(confirmed, 500)).toMatchObject({ kind: 'release', to: 'pg-1' });
  });

  it('keeps the lease when nobody confirms in time', () => {
    const none = { ...base, checkpoint: cp, confirmations: [{ pod: 'pg-1', confirmed: false }] };
    const d = decideHandover(none, 10_000);
    expect(d).toMatchObject({ kind: 'keep', reason: expect.stringContaining('keeping the lease') });
    expect(decideHandover({ ...base, confirmations: [] }, 10_000).kind).toBe('keep');
  });
});

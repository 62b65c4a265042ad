import { describe, expect, it } from 'vitest';
import { decideResume, replanReason } from '../../../src/lib/failover/resume.js';
import type { FailoverOperation } from '../../../src/lib/failover/store.js';
import { downOf, primaryOf, standbyOf } from './helpers.js';

const op = (
  completedSteps: string[],
  extra: Partial<FailoverOperation> = {},
): FailoverOperation => ({
  id: 'switchover-1',
  kind: 'switchover',
  startedAt: '2026-01-01T00:00:00Z',
  holder: 'kpg@test',
  oldPrimary: 'pg-0',
  newPrimary: 'pg-1',
  completedSteps,
  stepMs: {},
  plan: {
    why: 'test',
    oldPrimaryHealth: 'healthy',
    lagBytes: '0',
    expectedLossBytes: '0',
    forced: false,
  },
  ...extra,
});

describe('decideResume', () => {
  it('completes once the target was promoted', () => {
    expect(
      decideResume(op(['record', 'fence', 'stop', 'catch-up', 'promote']), downOf('pg-1')).action,
    ).toBe('complete');
    expect(
      decideResume(op(['record', 'fence', 'stop', 'catch-up']), primaryOf('pg-1', '0/5000000'))
        .action,
    ).toBe('complete');
  });
  it('completes while the target is a running standby', () => {
    const d = decideResume(op(['record', 'fence']), standbyOf('pg-1', '0/5000000'));
    expect(d).toEqual({ action: 'complete', reason: 'pg-1 is a running standby' });
  });
  it('rolls back when the target cannot be promoted and was not', () => {
    const d = decideResume(op(['record']), downOf('pg-1'));
    expect(d.action).toBe('rollback');
    expect(d.reason).toMatch(/pg-1 cannot be promoted/);
  });
  it('keeps rolling back a rollback under way', () => {
    expect(
      decideResume(op(['record'], { rollingBack: 'x' }), standbyOf('pg-1', '0/1')).action,
    ).toBe('rollback');
  });
});

describe('replanReason', () => {
  const failover = (steps: string[]) =>
    op(steps, {
      kind: 'failover',
      plan: {
        why: 'most advanced',
        oldPrimaryHealth: 'hung',
        lagBytes: '0',
        expectedLossBytes: '0',
        forced: false,
      },
    });
  it('re-plans when this run names another target, until the promotion', () => {
    expect(
      replanReason(op(['record']), { to: 'pg-2', oldPrimary: primaryOf('pg-0', '0/1') }),
    ).toMatch(/asks for pg-2, the unfinished switchover was going to pg-1/);
    expect(
      replanReason(op(['record']), { to: 'pg-1', oldPrimary: primaryOf('pg-0', '0/1') }),
    ).toBeUndefined();
    expect(
      replanReason(op(['record', 'fence', 'stop', 'catch-up', 'promote']), {
        to: 'pg-2',
        oldPrimary: downOf('pg-0'),
      }),
    ).toBeUndefined();
  });
  it('re-plans a failover whose "hung" primary serves again before it was fenced', () => {
    expect(replanReason(failover(['record']), { oldPrimary: primaryOf('pg-0', '0/1') })).toMatch(
      /pg-0 was hung when the failover was planned, and serves again/,
    );
    // Still down, or already fenced: the saved plan stands.
    expect(replanReason(failover(['record']), { oldPrimary: downOf('pg-0') })).toBeUndefined();
    expect(
      replanReason(failover(['record', 'fence']), { oldPrimary: primaryOf('pg-0', '0/1') }),
    ).toBeUndefined();
    // A rollback under way finishes first.
    expect(
      replanReason(op(['record'], { rollingBack: 'x' }), {
        to: 'pg-2',
        oldPrimary: primaryOf('pg-0', '0/1'),
      }),
    ).toBeUndefined();
  });
});

/** lease > renew deadline > 1.2 × retry, and the defaults. */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LEADER_ELECTION,
  DEFAULT_TIMING,
  timingOf,
  timingProblems,
  withDefaults,
} from '../../../src/lib/ha/index.js';

describe('leader election timing', () => {
  it('defaults: lease 10 s, renew deadline 6 s, retry 1 s, 1 MiB of lag', () => {
    expect(DEFAULT_TIMING).toEqual({
      leaseDurationMs: 10_000,
      renewDeadlineMs: 6000,
      retryPeriodMs: 1000,
    });
    expect(DEFAULT_LEADER_ELECTION.maximumLagBeforeFailover).toBe(1048576);
    expect(timingProblems(DEFAULT_LEADER_ELECTION)).toEqual([]);
  });
  it('fills in what is not given', () => {
    expect(withDefaults({ leaseDurationSeconds: 15 })).toEqual({
      ...DEFAULT_LEADER_ELECTION,
      leaseDurationSeconds: 15,
    });
    expect(timingOf(withDefaults({ retryPeriodSeconds: 2 })).retryPeriodMs).toBe(2000);
  });
  it('refuses a renew deadline not below the lease duration', () => {
    const p = timingProblems({
      leaseDurationSeconds: 6,
      renewDeadlineSeconds: 6,
      retryPeriodSeconds: 1,
    });
    expect(p).toEqual([
      {
        field: 'renewDeadlineSeconds',
        message: expect.stringContaining(
          'renewDeadlineSeconds (6) must be less than leaseDurationSeconds (6)',
        ),
      },
    ]);
  });
  it('refuses a renew deadline not above 1.2 × the retry period', () => {
    const p = timingProblems({
      leaseDurationSeconds: 15,
      renewDeadlineSeconds: 6,
      retryPeriodSeconds: 5,
    });
    expect(p).toEqual([
      {
        field: 'retryPeriodSeconds',
        message: expect.stringContaining('must be more than 1.2 × retryPeriodSeconds (6)'),
      },
    ]);
    expect(
      timingProblems({ leaseDurationSeconds: 15, renewDeadlineSeconds: 7, retryPeriodSeconds: 5 }),
    ).toEqual([]);
  });
});

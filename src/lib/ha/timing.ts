/**
 * The leader election's three durations and the lag bound, as KubeDB's
 * `spec.leaderElection` names them, with the one validation that keeps the
 * fence ahead of any takeover. Pure.
 */
import type { LeaderElectionSpec } from '../manifest/types.js';

/** Bytes a standby may be behind the primary's last published LSN and still take over (= kpg failover's --max-lag default). */
export const DEFAULT_MAXIMUM_LAG = 1024n * 1024n;

/** The manifest's spec.leaderElection, with defaults applied. */
export type LeaderElection = LeaderElectionSpec;

export const DEFAULT_LEADER_ELECTION: Readonly<LeaderElection> = Object.freeze({
  leaseDurationSeconds: 10,
  renewDeadlineSeconds: 6,
  retryPeriodSeconds: 1,
  maximumLagBeforeFailover: Number(DEFAULT_MAXIMUM_LAG),
});

/** The same durations in milliseconds, as the state machine uses them. */
export interface Timing {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export const DEFAULT_TIMING: Readonly<Timing> = Object.freeze(timingOf(DEFAULT_LEADER_ELECTION));

/** One problem with the durations: the field it belongs to and a sentence. */
export interface TimingProblem {
  field: 'leaseDurationSeconds' | 'renewDeadlineSeconds' | 'retryPeriodSeconds';
  message: string;
}

/**
 * lease > renew deadline > 1.2 × retry, as client-go's NewLeaderElector
 * demands: the holder must give up (and fence) before anyone else may take
 * the lease, and must get more than one try at renewing before it gives up.
 */
export function timingProblems(t: Pick<LeaderElection, TimingProblem['field']>): TimingProblem[] {
  const out: TimingProblem[] = [];
  const { leaseDurationSeconds: lease, renewDeadlineSeconds: renew, retryPeriodSeconds: retry } = t;
  if (!(lease > renew)) {
    out.push({
      field: 'renewDeadlineSeconds',
      message: `renewDeadlineSeconds (${renew}) must be less than leaseDurationSeconds (${lease}): the primary must fence itself before another pod may take its lease`,
    });
  }
  if (!(renew > 1.2 * retry)) {
    out.push({
      field: 'retryPeriodSeconds',
      message: `renewDeadlineSeconds (${renew}) must be more than 1.2 × retryPeriodSeconds (${round(1.2 * retry)}): the primary needs more than one try at renewing before it gives up`,
    });
  }
  return out;
}

/** spec.leaderElection as given (any subset) → every field, defaults filled in. */
export function withDefaults(given: Partial<LeaderElection> | undefined): LeaderElection {
  return { ...DEFAULT_LEADER_ELECTION, ...definedOnly(given ?? {}) };
}

export function timingOf(le: Pick<LeaderElection, TimingProblem['field']>): Timing {
  return {
    leaseDurationMs: le.leaseDurationSeconds * 1000,
    renewDeadlineMs: le.renewDeadlineSeconds * 1000,
    retryPeriodMs: le.retryPeriodSeconds * 1000,
  };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

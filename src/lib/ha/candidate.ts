/**
 * Which standby may become primary: the rules kpg failover's planner and the
 * agents share. A candidate's own view (streaming, paused, timeline, lag) is
 * judged by candidateProblem; whether a reachable peer should go first by
 * peerAhead. Pure.
 */
import { formatBytes, formatLsn, lsnDistance, type Lsn } from '../failover/lsn.js';
import { newestPublished } from './failsafe.js';
import { ordinalOf } from './identity.js';
import type { LeaseSnapshot } from './lease-record.js';
import type { LocalState, Observed, PeerState, Policy } from './types.js';

/**
 * Why `position` is too far behind `reference` to be promoted; undefined
 * when within `maxLagBytes`. `limit` names the bound in the message (kpg
 * failover: "--max-lag").
 */
export function lagProblem(
  reference: Lsn,
  position: Lsn,
  maxLagBytes: bigint,
  words: { what?: string; limit?: string } = {},
): string | undefined {
  const lag = lsnDistance(reference, position);
  if (lag <= maxLagBytes) return undefined;
  const what = words.what ?? 'the LSN the primary last published';
  const limit = words.limit ?? 'maximumLagBeforeFailover';
  return `it is ${formatBytes(lag)} (${lag} bytes) behind ${what} (${formatLsn(position)} vs ${formatLsn(reference)}), more than ${limit} ${maxLagBytes} bytes`;
}

export interface CandidateView {
  pod: string;
  local: LocalState;
  policy: Policy;
  /** The record's timeline: a standby still on an older one missed a promotion. */
  recordTimeline?: number;
  /** The system identifier the record says the cluster was bootstrapped with. */
  bootstrapped?: string;
  /** The LSN the primary published in the lease at its last renewal. */
  publishedLsn?: Lsn;
  /** The standbys the lease lists as synchronous. */
  synchronousStandbys?: string[];
  /** Annotated kpg.io/nofailover: "true". */
  noFailover?: boolean;
  /** The lease says the holder's postgres is down: it wrote nothing after publishedLsn. */
  primaryDown?: boolean;
  /** The last time this agent could not read the lease (see streamingProblem). */
  leaseOutage?: { fromMs: number; toMs: number };
}

/** The candidate view of the pod that observed `o`, against the lease version `snap`. */
export function candidateViewOf(o: Observed, snap: LeaseSnapshot | undefined): CandidateView {
  const { synchronous } = snap?.published ?? {};
  const lsn = newestPublished(o.failsafe, snap);
  return {
    pod: o.self.pod,
    local: o.local,
    policy: o.policy,
    ...(o.record ? { recordTimeline: o.record.timeline } : {}),
    ...(o.record?.bootstrapped ? { bootstrapped: o.record.bootstrapped } : {}),
    ...(lsn !== undefined ? { publishedLsn: lsn } : {}),
    ...(synchronous ? { synchronousStandbys: synchronous } : {}),
    ...(o.noFailover ? { noFailover: true } : {}),
    ...(snap?.published.down ? { primaryDown: true } : {}),
    ...(o.lease.readable && o.lease.outage ? { leaseOutage: o.lease.outage } : {}),
  };
}

/** Why this pod may not take over, on its own view; undefined when it may. */
export function candidateProblem(c: CandidateView, now: number): string | undefined {
  const { local, policy } = c;
  if (c.noFailover) return 'its pod is annotated kpg.io/nofailover: "true"';
  if (local.data === 'empty' && c.bootstrapped && local.role !== 'standby')
    return `its data directory is empty, but the cluster was bootstrapped (system identifier ${c.bootstrapped}): it will not initdb over the cluster's data; it waits for a member that has the data`;
  if (local.role !== 'standby') return `its postgres is ${describeRole(local.role)}`;
  const streaming = streamingProblem(local, policy, now, c);
  if (streaming) return streaming;
  if (local.replayPaused) return 'its WAL replay is paused (pg_wal_replay_resume() to resume)';
  if (local.timeline === undefined) return 'its timeline is unknown';
  if (c.recordTimeline !== undefined && local.timeline < c.recordTimeline) {
    return `its timeline ${local.timeline} is older than the record's ${c.recordTimeline}`;
  }
  if (local.flushLsn === undefined) return 'its WAL position is unknown';
  if (c.publishedLsn === undefined) {
    return 'the primary never published its LSN in the lease, so the loss cannot be bounded';
  }
  const lag = lagProblem(c.publishedLsn, local.flushLsn, policy.maximumLagBytes);
  if (lag) return lag;
  if (policy.synchronous && !(c.synchronousStandbys ?? []).includes(c.pod)) {
    return 'streamingMode is synchronous and the lease does not list it as a synchronous standby';
  }
  return undefined;
}

/**
 * A standby that stopped streaming long ago may lack what the primary wrote
 * since; not when the holder said its postgres is down (kept down while
 * paused, say): then the lag to the LSN it last published bounds the loss.
 *
 * Time this agent could not read the lease does not count: the primary could
 * publish nothing through the API either, and in failsafe mode it kept
 * writing only while this member confirmed it (each round carrying its LSN).
 * Once the lease is read again, the lag to the newest LSN published bounds
 * the loss as for any failover. Counting it would leave a cluster whose
 * primary was cut off during an API outage with no primary for good: every
 * standby stopped streaming when the primary went, longer ago than allowed.
 */
function streamingProblem(
  local: LocalState,
  policy: Policy,
  now: number,
  c: Pick<CandidateView, 'primaryDown' | 'leaseOutage'>,
): string | undefined {
  if (local.streaming) return undefined;
  if (local.lastStreamingMs === undefined) return 'it has not streamed from the primary';
  if (c.primaryDown) return undefined;
  const last = local.lastStreamingMs;
  const out = c.leaseOutage;
  const blind = out ? Math.max(0, out.toMs - Math.max(last, out.fromMs)) : 0;
  const ago = now - last - blind;
  if (ago <= policy.recentStreamingMs) return undefined;
  const excused =
    blind > 0 ? `, ${seconds(ago)} not counting ${seconds(blind)} without the lease` : '';
  return `it last streamed from the primary ${seconds(now - last)} ago (more than ${seconds(policy.recentStreamingMs)}${excused})`;
}

function describeRole(role: LocalState['role']): string {
  return role === 'primary' ? 'a primary' : role === 'starting' ? 'still starting' : 'down';
}

/**
 * Highest flushed LSN first, then the lowest ordinal: the order in which
 * standbys get to take over (and a total order, so two never both go first).
 */
export function comparePositions(
  a: { pod: string; flushLsn?: Lsn },
  b: { pod: string; flushLsn?: Lsn },
): number {
  const la = a.flushLsn ?? -1n;
  const lb = b.flushLsn ?? -1n;
  if (la !== lb) return la > lb ? -1 : 1;
  return ordinalOf(a.pod) - ordinalOf(b.pod) || a.pod.localeCompare(b.pod);
}

export interface PeerRules {
  synchronous: boolean;
  synchronousStandbys?: string[];
}

/**
 * A reachable peer that should take over before `self`, with why. A peer
 * counts when it judged itself eligible; in synchronous mode a listed peer
 * ahead counts even when it is not (it may hold commits `self` lacks).
 */
export function peerAhead(
  self: { pod: string; flushLsn?: Lsn },
  peers: PeerState[],
  rules: PeerRules,
): { pod: string; reason: string } | undefined {
  const listed = new Set(rules.synchronous ? (rules.synchronousStandbys ?? []) : []);
  const ahead = peers
    .filter((p) => p.pod !== self.pod && p.reachable && p.role === 'standby')
    .filter((p) => p.eligible === true || listed.has(p.pod))
    .filter((p) => comparePositions(p, self) < 0)
    .sort(comparePositions)[0];
  if (!ahead) return undefined;
  const same = (ahead.flushLsn ?? -1n) === (self.flushLsn ?? -1n);
  return {
    pod: ahead.pod,
    reason: same
      ? `${ahead.pod} has the same LSN (${fmt(ahead.flushLsn)}) and a lower ordinal`
      : `${ahead.pod} is ahead (${fmt(ahead.flushLsn)} vs ${fmt(self.flushLsn)})`,
  };
}

/** In synchronous mode: a listed standby that does not answer may hold commits nobody else has. */
export function silentSynchronousPeer(
  self: string,
  peers: PeerState[],
  rules: PeerRules,
): string | undefined {
  if (!rules.synchronous) return undefined;
  return (rules.synchronousStandbys ?? []).find(
    (pod) => pod !== self && !peers.some((p) => p.pod === pod && p.reachable),
  );
}

function fmt(l: Lsn | undefined): string {
  return l === undefined ? 'unknown' : formatLsn(l);
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

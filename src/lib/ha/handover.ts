/**
 * Graceful handover, when the primary's pod is deleted or drained: postgres
 * is shut down fast, a standby confirms it replayed the shutdown checkpoint,
 * and the lease is released naming it, so it takes over within one retry
 * period with nothing lost (asynchronous streaming included). If nobody
 * confirms in time, the lease is kept and simply expires. Pure.
 */
import { formatLsn, type Lsn } from '../failover/lsn.js';
import { comparePositions, seconds } from './candidate.js';
import type { LocalState } from './types.js';

/** The primary's last checkpoint after its clean shutdown (pg_controldata). */
export interface ShutdownCheckpoint {
  lsn: Lsn;
  timeline: number;
}

/**
 * A standby holds the shutdown checkpoint once it replayed (or, warm, holds) past its start:
 * replay positions are ends of replayed records, so a replay LSN beyond the
 * checkpoint's location means the checkpoint record itself was replayed.
 */
export function confirmsCheckpoint(local: LocalState, cp: ShutdownCheckpoint): boolean {
  const held = heldLsn(local);
  return (
    local.role === 'standby' &&
    local.timeline === cp.timeline &&
    held !== undefined &&
    held > cp.lsn
  );
}

/**
 * What a standby is sure to replay before it serves: a hot standby's replay
 * position; a warm one's whole records on disk (it replays all of them when
 * promoted), never its walreceiver's position, which can end mid-record.
 */
export function heldLsn(local: LocalState): Lsn | undefined {
  return local.replayLsn ?? local.walEnd;
}

export interface Confirmation {
  pod: string;
  confirmed: boolean;
  replayLsn?: Lsn;
  /** The peer answered, and its own pod is stopping too. */
  stopping?: boolean;
}

export interface HandoverInput {
  /** Monotonic ms the shutdown began. */
  sinceMs: number;
  timeoutMs: number;
  /** Undefined while postgres is still shutting down. */
  checkpoint?: ShutdownCheckpoint;
  confirmations: Confirmation[];
}

export type HandoverDecision =
  | { kind: 'wait'; reason: string }
  | { kind: 'release'; to: string; reason: string }
  | { kind: 'keep'; reason: string };

export function decideHandover(h: HandoverInput, now: number): HandoverDecision {
  const waited = now - h.sinceMs;
  const confirmed = h.confirmations
    .filter((c) => c.confirmed)
    .map((c) => ({ pod: c.pod, ...(c.replayLsn !== undefined ? { flushLsn: c.replayLsn } : {}) }))
    .sort(comparePositions);
  const to = confirmed[0];
  if (h.checkpoint && to) {
    return {
      kind: 'release',
      to: to.pod,
      reason: `${to.pod} replayed the shutdown checkpoint ${formatLsn(h.checkpoint.lsn)}: handing the lease over`,
    };
  }
  // The whole cluster is going (kpg delete, a scale to zero): nobody is left to take over.
  const asked = h.confirmations;
  if (h.checkpoint && asked.length > 0 && asked.every((c) => c.stopping === true)) {
    return {
      kind: 'keep',
      reason: `every standby is stopping too (${asked.map((c) => c.pod).join(', ')}): nobody to hand the lease to`,
    };
  }
  if (waited >= h.timeoutMs) {
    return {
      kind: 'keep',
      reason: h.checkpoint
        ? `no standby confirmed the shutdown checkpoint ${formatLsn(h.checkpoint.lsn)} within ${seconds(h.timeoutMs)}: keeping the lease until it expires`
        : `postgres did not report its shutdown checkpoint within ${seconds(h.timeoutMs)}: keeping the lease until it expires`,
    };
  }
  return {
    kind: 'wait',
    reason: h.checkpoint
      ? `waiting for a standby to confirm the shutdown checkpoint ${formatLsn(h.checkpoint.lsn)}`
      : 'waiting for postgres to finish its shutdown checkpoint',
  };
}

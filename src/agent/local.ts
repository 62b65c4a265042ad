/**
 * LocalState for decide(): the postgres snapshot plus what the agent
 * remembers between cycles (since when the role holds, when it last
 * streamed, when it last served as primary) and what start.sh reports.
 */
import type { LocalState } from '../lib/ha/types.js';
import type { PgSnapshot } from './postgres.js';

export interface LocalMemory {
  role?: LocalState['role'];
  roleSinceMs: number;
  lastStreamingMs?: number;
  lastPrimaryMs?: number;
  /** The highest timeline seen: a standby's walreceiver reports it only while it streams. */
  timeline?: number;
}

/** Pure: the new state and the memory to keep. */
export function observeLocal(
  snap: PgSnapshot | undefined,
  reports: { startState?: string; data?: LocalState['data'] },
  memory: LocalMemory,
  now: number,
): { local: LocalState; memory: LocalMemory } {
  const role = roleOf(snap, reports.startState);
  // Once the walreceiver stops (its primary died) a standby's only other
  // source is its last restartpoint, minutes old: after a failover it would
  // claim the old timeline and refuse to take over. Timelines only grow.
  const timeline =
    snap?.timeline === undefined
      ? memory.timeline
      : Math.max(snap.timeline, snap.role === 'standby' ? (memory.timeline ?? 0) : 0);
  const next: LocalMemory = {
    role,
    roleSinceMs: memory.role === role ? memory.roleSinceMs : now,
    lastStreamingMs: snap?.streaming ? now : memory.lastStreamingMs,
    lastPrimaryMs: snap?.role === 'primary' ? now : memory.lastPrimaryMs,
    ...(timeline !== undefined ? { timeline } : {}),
  };
  const local: LocalState = {
    role,
    streaming: snap?.streaming ?? false,
    replayPaused: snap?.replayPaused ?? false,
    roleSinceMs: next.roleSinceMs,
    timeline: snap ? timeline : undefined,
    flushLsn: snap?.flushLsn,
    replayLsn: snap?.replayLsn,
    ...(snap?.walEnd !== undefined ? { walEnd: snap.walEnd } : {}),
    lastStreamingMs: next.lastStreamingMs,
    lastPrimaryMs: next.lastPrimaryMs,
    data: reports.data,
    ...(snap?.systemIdentifier ? { systemIdentifier: snap.systemIdentifier } : {}),
    ...(role === 'starting' ? { recovering: reports.startState === 'starting' } : {}),
  };
  return { local, memory: next };
}

/** Not answering while start.sh reports progress is starting; not answering otherwise is down. */
function roleOf(snap: PgSnapshot | undefined, startState: string | undefined): LocalState['role'] {
  if (snap) return snap.role;
  return startState !== undefined && startState !== 'running' ? 'starting' : 'down';
}

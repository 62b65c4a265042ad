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
}

/** Pure: the new state and the memory to keep. */
export function observeLocal(
  snap: PgSnapshot | undefined,
  reports: { startState?: string; data?: LocalState['data'] },
  memory: LocalMemory,
  now: number,
): { local: LocalState; memory: LocalMemory } {
  const role = roleOf(snap, reports.startState);
  const next: LocalMemory = {
    role,
    roleSinceMs: memory.role === role ? memory.roleSinceMs : now,
    lastStreamingMs: snap?.streaming ? now : memory.lastStreamingMs,
    lastPrimaryMs: snap?.role === 'primary' ? now : memory.lastPrimaryMs,
  };
  const local: LocalState = {
    role,
    streaming: snap?.streaming ?? false,
    replayPaused: snap?.replayPaused ?? false,
    roleSinceMs: next.roleSinceMs,
    timeline: snap?.timeline,
    flushLsn: snap?.flushLsn,
    replayLsn: snap?.replayLsn,
    lastStreamingMs: next.lastStreamingMs,
    lastPrimaryMs: next.lastPrimaryMs,
    data: reports.data,
    ...(role === 'starting' ? { recovering: reports.startState === 'starting' } : {}),
  };
  return { local, memory: next };
}

/** Not answering while start.sh reports progress is starting; not answering otherwise is down. */
function roleOf(snap: PgSnapshot | undefined, startState: string | undefined): LocalState['role'] {
  if (snap) return snap.role;
  return startState !== undefined && startState !== 'running' ? 'starting' : 'down';
}

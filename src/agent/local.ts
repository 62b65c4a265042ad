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
  const starting = reports.startState !== undefined && reports.startState !== 'running';
  const role: LocalState['role'] = snap ? snap.role : starting ? 'starting' : 'down';
  const next: LocalMemory = {
    role,
    roleSinceMs: memory.role === role ? memory.roleSinceMs : now,
    ...(memory.lastStreamingMs !== undefined ? { lastStreamingMs: memory.lastStreamingMs } : {}),
    ...(memory.lastPrimaryMs !== undefined ? { lastPrimaryMs: memory.lastPrimaryMs } : {}),
  };
  if (snap?.streaming) next.lastStreamingMs = now;
  if (snap?.role === 'primary') next.lastPrimaryMs = now;
  const local: LocalState = {
    role,
    streaming: snap?.streaming ?? false,
    replayPaused: snap?.replayPaused ?? false,
    roleSinceMs: next.roleSinceMs,
    ...(snap?.timeline !== undefined ? { timeline: snap.timeline } : {}),
    ...(snap?.flushLsn !== undefined ? { flushLsn: snap.flushLsn } : {}),
    ...(snap?.replayLsn !== undefined ? { replayLsn: snap.replayLsn } : {}),
    ...(next.lastStreamingMs !== undefined ? { lastStreamingMs: next.lastStreamingMs } : {}),
    ...(next.lastPrimaryMs !== undefined ? { lastPrimaryMs: next.lastPrimaryMs } : {}),
    ...(reports.data !== undefined ? { data: reports.data } : {}),
  };
  return { local, memory: next };
}

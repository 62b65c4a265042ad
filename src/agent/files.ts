/**
 * The files the agent shares with the postgres container (an emptyDir both
 * mount at KPG_HA_DIR), and the clock both read: /proc/uptime.
 *
 *   deadline             agent → watchdog   fence deadline, seconds of uptime
 *   role                 agent → start.sh   "primary" once this incarnation holds the lease; "replica" when
 *                                           another pod does; "wait" while its own old lease runs out
 *   start-state          start.sh → agent   start.sh's progress (preparing, initdb, basebackup, rewind, running...)
 *   data                 start.sh → agent   what PGDATA holds: primary, standby or empty
 *   shutting-down        start.sh → agent   present once the pod is stopping (SIGTERM)
 *   shutdown-checkpoint  start.sh → agent   "LSN TIMELINE" of the clean shutdown's checkpoint (pg_controldata)
 *   stop-request         agent → watchdog   shut postgres down fast (a switchover, or a standby to rewind); the
 *                                           start script removes it and starts over (the container stays)
 *   agent-state          agent → people     the last decision and its reason, one line of JSON
 *   standby-state        warm-standby.sh → agent   a warm standby's position (it refuses SQL): src/agent/warm.ts
 *   promote              agent → postgres   the trigger file: postgres below 12, warm-standby.sh from 12 (warm)
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseLsn } from '../lib/failover/lsn.js';
import type { HaClock } from '../lib/ha/clock.js';
import { parseUptime } from '../lib/ha/clock.js';
import { FENCE_NOW, formatDeadline } from '../lib/ha/fence.js';
import type { ShutdownCheckpoint } from '../lib/ha/handover.js';
import type { LocalState } from '../lib/ha/types.js';
import type { StartGate } from '../lib/ha/start-gate.js';

export interface SharedFiles {
  writeDeadline(ms: number): void;
  fenceNow(): void;
  writeRole(role: StartGate): void;
  startState(): string | undefined;
  data(): LocalState['data'];
  shuttingDown(): boolean;
  shutdownCheckpoint(): ShutdownCheckpoint | undefined;
  /** Ask the postgres container for a fast shutdown (why: switchover, rewind); false withdraws it. */
  requestStop(on: boolean, why?: string): void;
  writeAgentState(state: Record<string, unknown>): void;
  /** warm-standby.sh's report, as text (src/agent/warm.ts parses it). */
  standbyState(): string | undefined;
}

/** Replaced whole (rename), so a reader never sees half a file. */
function atomicWrite(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, path);
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export function sharedFiles(dir: string): SharedFiles {
  const at = (name: string) => join(dir, name);
  return {
    writeDeadline: (ms) => atomicWrite(at('deadline'), formatDeadline(ms)),
    fenceNow: () => atomicWrite(at('deadline'), FENCE_NOW),
    writeRole: (role) => atomicWrite(at('role'), `${role}\n`),
    startState: () => readOptional(at('start-state'))?.trim() || undefined,
    data: () => {
      const d = readOptional(at('data'))?.trim();
      return d === 'primary' || d === 'standby' || d === 'empty' ? d : undefined;
    },
    shuttingDown: () => readOptional(at('shutting-down')) !== undefined,
    shutdownCheckpoint: () => parseCheckpoint(readOptional(at('shutdown-checkpoint'))),
    requestStop: (on, why) => {
      if (on) atomicWrite(at('stop-request'), `${why ?? 'switchover'}\n`);
      else rmSync(at('stop-request'), { force: true });
    },
    writeAgentState: (state) => atomicWrite(at('agent-state'), `${JSON.stringify(state)}\n`),
    standbyState: () => readOptional(at('standby-state')),
  };
}

/** "0/3000028 1" → the checkpoint; undefined for anything else. */
export function parseCheckpoint(text: string | undefined): ShutdownCheckpoint | undefined {
  const [lsnText, tlText] = (text ?? '').trim().split(/\s+/);
  const lsn = parseLsn(lsnText);
  const timeline = Number(tlText);
  return lsn !== undefined && Number.isInteger(timeline) && timeline > 0
    ? { lsn, timeline }
    : undefined;
}

/**
 * Uptime from /proc/uptime (shared with the watchdog). Chosen once: where
 * there is no /proc (a developer's Mac) a monotonic stand-in, never a mix.
 */
export function uptimeClock(file = '/proc/uptime'): HaClock {
  const read = () => parseUptime(readFileSync(file, 'utf8'));
  let proc = false;
  try {
    proc = read() !== undefined;
  } catch {
    proc = false;
  }
  return {
    now: proc
      ? () => {
          const ms = read();
          if (ms === undefined) throw new Error(`${file} is unreadable`);
          return ms;
        }
      : () => performance.now(),
    wall: () => Date.now(),
  };
}

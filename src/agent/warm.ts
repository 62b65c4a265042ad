/**
 * A warm standby (hot_standby = off) refuses every connection, the agent's
 * too: the postgres container's warm-standby.sh writes its state to
 * KPG_HA_DIR/standby-state instead (walreceiver's title, pg_waldump), and
 * promotes it when the agent writes the trigger file. This reads that file
 * where SQL gets no answer.
 */
import { parseLsn } from '../lib/failover/lsn.js';
import { keyValues } from '../lib/failover/probe.js';
import { parseUptime } from '../lib/ha/clock.js';
import type { PgSnapshot, Postgres } from './postgres.js';

/** Written every 0.5 s: older than this, the loop or its postmaster is gone or frozen. */
export const WARM_STATE_MAX_AGE_MS = 3000;

/** The file's text at uptime nowMs → a standby's snapshot; undefined when stale or unreadable. Pure. */
export function warmSnapshot(text: string | undefined, nowMs: number): PgSnapshot | undefined {
  if (!text) return undefined;
  const kv = keyValues(text);
  const at = parseUptime(kv.get('at') ?? '');
  if (at === undefined || nowMs - at > WARM_STATE_MAX_AGE_MS || at - nowMs > 1000) return undefined;
  const lsn = parseLsn(kv.get('lsn'));
  const walEnd = parseLsn(kv.get('wal_end'));
  const timeline = Number.parseInt(kv.get('timeline') ?? '', 10);
  const system = kv.get('system');
  return {
    role: 'standby',
    ...(Number.isInteger(timeline) && timeline > 0 ? { timeline } : {}),
    ...(lsn !== undefined ? { flushLsn: lsn } : {}),
    ...(walEnd !== undefined ? { walEnd } : {}),
    streaming: kv.get('streaming') === '1',
    // Pausing replay takes SQL, which a warm standby never answers.
    replayPaused: false,
    synchronous: [],
    ...(system ? { systemIdentifier: system } : {}),
  };
}

/** The local postgres, read from the warm standby's file when SQL gets no answer. */
export function withWarmStandby(
  pg: Postgres,
  readState: () => string | undefined,
  nowMs: () => number,
): Postgres {
  return {
    ...pg,
    snapshot: async () => (await pg.snapshot()) ?? warmSnapshot(readState(), nowMs()),
  };
}

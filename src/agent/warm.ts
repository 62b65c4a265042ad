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

/** How long a warm standby is taken at its file's word, without an SQL attempt. */
export const WARM_TRUST_MS = 5000;

/**
 * The local postgres, read from the warm standby's file when SQL gets no
 * answer. Once the file has spoken, SQL is not tried again for WARM_TRUST_MS:
 * each refused attempt is a FATAL line in postgres's log, several a second.
 * Only a promotion turns a warm standby into a server that answers, and this
 * agent's promote() waits for it (the file goes once PGDATA is no longer a
 * standby's), then asks SQL again.
 */
export function withWarmStandby(
  pg: Postgres,
  readState: () => string | undefined,
  nowMs: () => number,
  opts: { timeoutMs: number; sleep: (ms: number) => Promise<void> },
): Postgres {
  let trustUntil = Number.NEGATIVE_INFINITY;
  const warm = () => warmSnapshot(readState(), nowMs());
  return {
    ...pg,
    snapshot: async () => {
      if (nowMs() < trustUntil) {
        const w = warm();
        if (w) return w;
      }
      const snap = await pg.snapshot();
      if (snap) return snap;
      const w = warm();
      if (w) trustUntil = nowMs() + WARM_TRUST_MS;
      return w;
    },
    promote: async () => {
      const wasWarm = warm() !== undefined;
      trustUntil = Number.NEGATIVE_INFINITY;
      await pg.promote();
      if (!wasWarm) return;
      // pg_ctl promote returns at once: wait until postgres answers as the
      // primary (the file goes as recovery ends, connections come a moment
      // later), so the agent's next look sees it, as pg_promote(wait) does for a hot one.
      const until = nowMs() + opts.timeoutMs;
      while (warm() !== undefined && nowMs() < until) await opts.sleep(50);
      while (nowMs() < until && (await pg.snapshot())?.role !== 'primary') await opts.sleep(50);
    },
  };
}

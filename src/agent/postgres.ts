/**
 * The local postgres over its Unix socket (trusted in pg_hba.conf), with
 * `pg`, a pure-JS client bundled into the agent. One connection, reopened
 * after any failure; every query bounded so a hung server reads as down.
 */
import pg from 'pg';
import { parseLsn } from '../lib/failover/lsn.js';
import type { Lsn } from '../lib/failover/lsn.js';
import type { SlotPlan, SlotRow } from '../lib/ha/slots.js';
import { SLOT_PREFIX } from '../lib/ha/slots.js';
import type { AgentConfig } from './config.js';

export interface PgSnapshot {
  role: 'primary' | 'standby';
  timeline?: number;
  /** A primary's flushed LSN; a standby's received-and-flushed LSN. */
  flushLsn?: Lsn;
  replayLsn?: Lsn;
  /** A warm standby's end of WAL on disk (pg_waldump, a record boundary): all a promotion replays. */
  walEnd?: Lsn;
  /** The walreceiver streams. */
  streaming: boolean;
  replayPaused: boolean;
  /** A primary's standbys that acknowledge commits (sync or quorum). */
  synchronous: string[];
  /** pg_control_system().system_identifier. */
  systemIdentifier?: string;
}

export interface Postgres {
  /** Undefined when postgres does not answer (down, starting, hung). */
  snapshot(): Promise<PgSnapshot | undefined>;
  /** pg_promote() from 12 (the trigger file when it refuses connections: warm), the trigger file below. */
  promote(): Promise<void>;
  /** This server's kpg_* physical slots; undefined when it does not answer. */
  slots(): Promise<SlotRow[] | undefined>;
  /** Drops, then creates; what failed, or undefined. */
  changeSlots(plan: Pick<SlotPlan, 'create' | 'drop'>): Promise<string | undefined>;
  close(): Promise<void>;
}

/**
 * wal_status exists from 13; restart_lsn is NULL for an unreserved or
 * invalidated slot. `active` counts a walsender only: a checkpoint that
 * invalidates the slot, or a backend creating or dropping it, holds it for
 * a moment too (seen in e2e: a slot "streamed again" while its standby was frozen).
 */
export function slotsQuery(pgNum: number): string {
  return `SELECT slot_name,
  (active AND active_pid IN (SELECT pid FROM pg_stat_replication)) AS active,
  restart_lsn::text AS restart_lsn,
  ${pgNum >= 1300 ? 'wal_status' : 'NULL::text AS wal_status'}
  FROM pg_replication_slots WHERE slot_type = 'physical' AND slot_name LIKE '${SLOT_PREFIX.replace('_', '\\_')}%'`;
}

interface SlotQueryRow {
  slot_name: string;
  active: boolean;
  restart_lsn: string | null;
  wal_status: string | null;
}

export function slotOfRow(r: SlotQueryRow): SlotRow {
  const restart = parseLsn(r.restart_lsn);
  return {
    name: r.slot_name,
    active: r.active,
    ...(restart !== undefined ? { restartLsn: restart } : {}),
    ...(r.wal_status ? { walStatus: r.wal_status } : {}),
  };
}

/** The one query, by version: 9.6 names WAL functions "xlog"; 10 renamed them. */
export function stateQuery(pgNum: number): string {
  const x = pgNum >= 1000 ? { wal: 'wal', lsn: 'lsn' } : { wal: 'xlog', lsn: 'location' };
  return `SELECT pg_is_in_recovery() AS recovery,
  CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_${x.wal}_flush_${x.lsn}()::text END AS primary_lsn,
  CASE WHEN pg_is_in_recovery() THEN NULL
       ELSE ('x' || substr(pg_${x.wal}file_name(pg_current_${x.wal}_${x.lsn}()), 1, 8))::bit(32)::int END AS primary_tli,
  pg_last_${x.wal}_receive_${x.lsn}()::text AS receive_lsn,
  pg_last_${x.wal}_replay_${x.lsn}()::text AS replay_lsn,
  CASE WHEN pg_is_in_recovery() THEN pg_is_${x.wal}_replay_paused() ELSE false END AS paused,
  (SELECT status FROM pg_stat_wal_receiver) AS receiver,
  (SELECT received_tli FROM pg_stat_wal_receiver) AS received_tli,
  (SELECT timeline_id FROM pg_control_checkpoint()) AS checkpoint_tli,
  (SELECT system_identifier::text FROM pg_control_system()) AS system_id,
  (SELECT coalesce(string_agg(application_name, ','), '') FROM pg_stat_replication
    WHERE sync_state IN ('sync', 'quorum')) AS synchronous`;
}

interface Row {
  recovery: boolean;
  primary_lsn: string | null;
  primary_tli: number | null;
  receive_lsn: string | null;
  replay_lsn: string | null;
  paused: boolean;
  receiver: string | null;
  received_tli: number | null;
  checkpoint_tli: number | null;
  system_id?: string | null;
  synchronous: string | null;
}

/** The row → what decide() needs. Pure. */
export function snapshotOfRow(r: Row): PgSnapshot {
  const replay = parseLsn(r.replay_lsn);
  const base = {
    ...(replay !== undefined ? { replayLsn: replay } : {}),
    replayPaused: r.paused,
    synchronous: (r.synchronous ?? '').split(',').filter((s) => s !== ''),
    ...(r.system_id ? { systemIdentifier: r.system_id } : {}),
  };
  if (!r.recovery) {
    const flush = parseLsn(r.primary_lsn);
    const tl = r.primary_tli ?? r.checkpoint_tli;
    return {
      role: 'primary',
      ...(flush !== undefined ? { flushLsn: flush } : {}),
      ...(tl !== null ? { timeline: tl } : {}),
      streaming: false,
      ...base,
    };
  }
  // What it holds: received, or replayed beyond that (WAL read from its own
  // pg_wal after the walreceiver stopped), whichever is further.
  const received = parseLsn(r.receive_lsn);
  const flush =
    received === undefined ? replay : replay !== undefined && replay > received ? replay : received;
  const tl = r.received_tli ?? r.checkpoint_tli;
  return {
    role: 'standby',
    ...(flush !== undefined ? { flushLsn: flush } : {}),
    ...(tl !== null ? { timeline: tl } : {}),
    streaming: r.receiver === 'streaming',
    ...base,
  };
}

export function localPostgres(
  cfg: AgentConfig['pg'] & { timeoutMs: number },
  promoteByFile: () => Promise<void>,
): Postgres {
  let client: pg.Client | undefined;
  const query = stateQuery(cfg.major);
  const connect = async (): Promise<pg.Client> => {
    if (client) return client;
    const c = new pg.Client({
      host: cfg.socketDir,
      port: cfg.port,
      user: cfg.user,
      database: cfg.database,
      application_name: 'kpg-agent',
      connectionTimeoutMillis: cfg.timeoutMs,
      query_timeout: cfg.timeoutMs,
    });
    // A dropped connection is noticed on the next query; nothing to do here but not crash.
    c.on('error', () => undefined);
    await c.connect();
    client = c;
    return c;
  };
  const drop = () => {
    const c = client;
    client = undefined;
    c?.end().catch(() => undefined);
  };
  return {
    snapshot: async () => {
      try {
        const c = await connect();
        const res = await c.query<Row>(query);
        const row = res.rows[0];
        return row ? snapshotOfRow(row) : undefined;
      } catch {
        drop();
        return undefined;
      }
    },
    promote: async () => {
      if (cfg.major < 1200) return promoteByFile();
      let c: pg.Client;
      try {
        c = await connect();
      } catch {
        // A warm standby refuses connections: warm-standby.sh promotes it on the file.
        drop();
        return promoteByFile();
      }
      // Wait up to the query timeout: the next cycles see the outcome anyway.
      await c.query('SELECT pg_promote(true, $1)', [Math.max(1, Math.floor(cfg.timeoutMs / 1000))]);
    },
    slots: async () => {
      try {
        const c = await connect();
        const res = await c.query<SlotQueryRow>(slotsQuery(cfg.major));
        return res.rows.map(slotOfRow);
      } catch {
        drop();
        return undefined;
      }
    },
    changeSlots: async (plan) => {
      try {
        const c = await connect();
        for (const name of plan.drop) await c.query('SELECT pg_drop_replication_slot($1)', [name]);
        for (const { name, reserve } of plan.create)
          await c.query('SELECT pg_create_physical_replication_slot($1, $2)', [name, reserve]);
        return undefined;
      } catch (err) {
        drop();
        return (err as Error).message;
      }
    },
    close: async () => drop(),
  };
}

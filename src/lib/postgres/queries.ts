/**
 * The SQL kpg asks each instance, for every supported major (9.6 names WAL
 * functions and columns "xlog"/"location"; 10 and later "wal"/"lsn"), and the
 * parsers of their answers. Pure apart from runSql.
 */
import {
  pgBool,
  pgNumber,
  pgText,
  runSql,
  type PodExec,
  type SqlOptions,
  type SqlTarget,
} from './psql.js';

/** 9.6 → 906, "15" → 1500. */
export function majorNum(major: string): number {
  const [a, b] = major.split('.');
  return Number(a) * 100 + (a === '9' ? Number(b ?? 0) : 0);
}

const isOld = (major: string) => majorNum(major) < 1000;

/** One instance's own view: role, timeline, positions. */
export interface InstanceInfo {
  inRecovery: boolean;
  timeline?: number;
  /** Primary: current write LSN. Standby: last replayed LSN. */
  lsn?: string;
  /** Standby only: last received LSN. */
  receiveLsn?: string;
  /** Standby only: seconds since the last replayed transaction's commit. */
  replayDelaySeconds?: number;
  /** Standby only: its WAL receiver's state ('streaming'...) and upstream host. */
  receiverStatus?: string;
  upstream?: string;
  serverVersion?: string;
  /**
   * Directories beside PGDATA holding WAL a former primary had and the new
   * primary never got (start.sh's keep_diverged_wal), by absolute path.
   */
  unsentWal?: string[];
}

export function instanceSql(major: string): string {
  const old = isOld(major);
  const cur = old ? 'pg_current_xlog_location()' : 'pg_current_wal_lsn()';
  const replay = old ? 'pg_last_xlog_replay_location()' : 'pg_last_wal_replay_lsn()';
  const receive = old ? 'pg_last_xlog_receive_location()' : 'pg_last_wal_receive_lsn()';
  const conninfo = "substring(conninfo from 'host=([^ ]+)')";
  const parent = "regexp_replace(current_setting('data_directory'), '/[^/]+$', '')";
  return [
    'select pg_is_in_recovery()',
    `coalesce((select received_tli from pg_stat_wal_receiver), (select timeline_id from pg_control_checkpoint()))`,
    `case when pg_is_in_recovery() then ${replay} else ${cur} end`,
    `case when pg_is_in_recovery() then ${receive} end`,
    'case when pg_is_in_recovery() then extract(epoch from now() - pg_last_xact_replay_timestamp()) end',
    '(select status from pg_stat_wal_receiver)',
    `(select ${conninfo} from pg_stat_wal_receiver)`,
    "current_setting('server_version')",
    // The volume's top directory: before 11 pg_ls_dir refuses any absolute
    // path outside PGDATA, the superuser's too.
    majorNum(major) >= 1100
      ? `(select string_agg(${parent} || '/' || d, ' ' order by d) from pg_ls_dir(${parent}) d where d like '%.unsent-wal-%')`
      : 'null',
  ].join(', ');
}

export function parseInstance(rows: string[][]): InstanceInfo {
  const r = rows[0];
  const inRecovery = pgBool(r?.[0]);
  if (!r || inRecovery === undefined) throw new Error(`unexpected answer: ${JSON.stringify(rows)}`);
  const info: InstanceInfo = { inRecovery };
  const set = <K extends keyof InstanceInfo>(k: K, v: InstanceInfo[K] | undefined) => {
    if (v !== undefined) info[k] = v;
  };
  set('timeline', pgNumber(r[1]));
  set('lsn', pgText(r[2]));
  set('receiveLsn', pgText(r[3]));
  set('replayDelaySeconds', pgNumber(r[4]));
  set('receiverStatus', pgText(r[5]));
  set('upstream', pgText(r[6]));
  set('serverVersion', pgText(r[7]));
  set('unsentWal', pgText(r[8])?.split(' '));
  return info;
}

/** One row of pg_stat_replication on a primary. */
export interface ReplicationRow {
  /** application_name: the standby's pod name. */
  standby: string;
  clientAddr?: string;
  state: string;
  sentLsn?: string;
  writeLsn?: string;
  flushLsn?: string;
  replayLsn?: string;
  /** Seconds (PostgreSQL 10 and later; absent on 9.6 or when idle). */
  writeLag?: number;
  flushLag?: number;
  replayLag?: number;
  syncState?: string;
}

/** A physical replication slot on the primary (the agents keep kpg_<pod> for each member). */
export interface SlotInfo {
  name: string;
  active: boolean;
  restartLsn?: string;
  /** WAL the slot holds back: the primary's current LSN minus restart_lsn. */
  retainedBytes?: number;
  /** 13 and later: reserved, extended, unreserved, lost. */
  walStatus?: string;
}

export interface ReplicationView {
  /** The primary's current WAL LSN when asked. */
  currentLsn?: string;
  rows: ReplicationRow[];
  slots?: SlotInfo[];
}

/** Marks slot rows among pg_stat_replication's in one psql call. */
const SLOT_ROW = 'kpg-slot';

export function slotsSql(major: string): string {
  const n = majorNum(major);
  const cur = n < 1000 ? 'pg_current_xlog_location()' : 'pg_current_wal_lsn()';
  const diff = n < 1000 ? 'pg_xlog_location_diff' : 'pg_wal_lsn_diff';
  return (
    `select '${SLOT_ROW}', slot_name, active, restart_lsn, ${diff}(${cur}, restart_lsn), ` +
    `${n >= 1300 ? 'wal_status' : 'null'} from pg_replication_slots where slot_type = 'physical' order by slot_name`
  );
}

function slotOf(r: string[]): SlotInfo {
  const slot: SlotInfo = { name: r[1] ?? '', active: pgBool(r[2]) === true };
  const restart = pgText(r[3]);
  const retained = pgNumber(r[4]);
  const status = pgText(r[5]);
  return {
    ...slot,
    ...(restart !== undefined ? { restartLsn: restart } : {}),
    ...(retained !== undefined ? { retainedBytes: retained } : {}),
    ...(status !== undefined ? { walStatus: status } : {}),
  };
}

export function replicationSql(major: string): string {
  const old = isOld(major);
  const col = (n: string) => (old ? `${n}_location` : `${n}_lsn`);
  const lag = (n: string) => (old ? 'null' : `extract(epoch from ${n}_lag)`);
  const cur = old ? 'pg_current_xlog_location()' : 'pg_current_wal_lsn()';
  return (
    `select application_name, client_addr, state, ${col('sent')}, ${col('write')}, ${col('flush')}, ` +
    `${old ? 'replay_location' : 'replay_lsn'}, ${lag('write')}, ${lag('flush')}, ${lag('replay')}, sync_state, ` +
    `${cur} from pg_stat_replication order by application_name`
  );
}

export function parseReplication(rows: string[][]): ReplicationView {
  const slots: SlotInfo[] = [];
  const view: ReplicationView = { rows: [], slots };
  for (const r of rows) {
    if (r[0] === SLOT_ROW && r.length === 6) {
      slots.push(slotOf(r));
      continue;
    }
    if (r.length < 12) continue;
    const row: ReplicationRow = { standby: r[0] ?? '', state: r[2] ?? '' };
    const opt: [keyof ReplicationRow, string | number | undefined][] = [
      ['clientAddr', pgText(r[1])],
      ['sentLsn', pgText(r[3])],
      ['writeLsn', pgText(r[4])],
      ['flushLsn', pgText(r[5])],
      ['replayLsn', pgText(r[6])],
      ['writeLag', pgNumber(r[7])],
      ['flushLag', pgNumber(r[8])],
      ['replayLag', pgNumber(r[9])],
      ['syncState', pgText(r[10])],
    ];
    for (const [k, v] of opt)
      if (v !== undefined) (row as unknown as Record<string, unknown>)[k] = v;
    view.currentLsn = pgText(r[11]) ?? view.currentLsn;
    view.rows.push(row);
  }
  return view;
}

export async function queryInstance(
  kube: PodExec,
  at: SqlTarget,
  major: string,
  opts?: SqlOptions,
): Promise<InstanceInfo> {
  return parseInstance(await runSql(kube, at, [instanceSql(major)], opts));
}

export async function queryReplication(
  kube: PodExec,
  at: SqlTarget,
  major: string,
  opts?: SqlOptions,
): Promise<ReplicationView> {
  return parseReplication(await runSql(kube, at, [replicationSql(major), slotsSql(major)], opts));
}

/** The write probe: not in recovery, and a transaction id can be assigned. */
export interface WriteProbe {
  writable: boolean;
  inRecovery: boolean;
  txid?: number;
}

export const WRITE_PROBE_SQL = ['select pg_is_in_recovery()', 'select txid_current()'];

export function parseWriteProbe(rows: string[][]): WriteProbe {
  const inRecovery = pgBool(rows[0]?.[0]);
  if (inRecovery === undefined) throw new Error(`unexpected answer: ${JSON.stringify(rows)}`);
  const txid = pgNumber(rows[1]?.[0]);
  return {
    writable: !inRecovery && txid !== undefined,
    inRecovery,
    ...(txid !== undefined ? { txid } : {}),
  };
}

/** Runs the write probe; a standby (in recovery) answers writable: false rather than failing. */
export async function probeWrite(
  kube: PodExec,
  at: SqlTarget,
  opts?: SqlOptions,
): Promise<WriteProbe> {
  const first = await runSql(kube, at, [WRITE_PROBE_SQL[0] as string], opts);
  if (pgBool(first[0]?.[0]) !== false) return parseWriteProbe(first);
  return parseWriteProbe(await runSql(kube, at, WRITE_PROBE_SQL, opts));
}

/** `pg_controldata` output (works while the server refuses connections, e.g. on a warm standby). */
export interface ControlData {
  state?: string;
  timeline?: number;
  /** "Minimum recovery ending location" or the latest checkpoint's REDO location. */
  lsn?: string;
}

export function parseControlData(text: string): ControlData {
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) kv.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  const out: ControlData = {};
  const state = kv.get('Database cluster state');
  if (state) out.state = state;
  const tli = pgNumber(kv.get("Latest checkpoint's TimeLineID"));
  if (tli !== undefined) out.timeline = tli;
  const minRec = kv.get('Minimum recovery ending location');
  const redo = kv.get("Latest checkpoint's REDO location");
  const lsn = minRec && minRec !== '0/0' ? minRec : redo;
  if (lsn) out.lsn = lsn;
  return out;
}

export async function queryControlData(
  kube: PodExec,
  at: SqlTarget,
  opts?: SqlOptions,
): Promise<ControlData> {
  const res = await kube.exec(
    at.ns,
    at.pod,
    'postgres',
    ['bash', '-c', 'pg_controldata -D "$PGDATA"'],
    {
      timeoutMs: opts?.timeoutMs ?? 10_000,
      signal: opts?.signal,
    },
  );
  if (res.exitCode !== 0)
    throw new Error(
      `pg_controldata in pod ${at.pod} failed: ${res.stderr.trim().split('\n')[0] ?? ''}`,
    );
  return parseControlData(res.stdout);
}

/**
 * How the primary's WAL archiving goes, for kpg describe: pg_stat_archiver,
 * the segments waiting (archive_status/*.ready) and the storage sidecar's
 * last error (the spool's last-error file). Pure apart from the one query.
 */
import {
  pgNumber,
  pgText,
  runSql,
  type PodExec,
  type SqlOptions,
  type SqlTarget,
} from '../postgres/psql.js';
import { majorNum } from '../postgres/queries.js';
import { StoragePaths } from '../render/storage.js';

export interface ArchiveStatus {
  /** Where the archive is (describeLocation). */
  location: string;
  /** The pod asked (the primary). */
  pod?: string;
  archivedCount?: number;
  lastArchivedWal?: string;
  lastArchivedTime?: string;
  failedCount?: number;
  lastFailedWal?: string;
  lastFailedTime?: string;
  /** Segments PostgreSQL still has to archive. */
  pending?: number;
  /** The sidecar's words for the last failure (from 11: older servers cannot read the file). */
  lastError?: string;
  /** Archiving fails now: the last attempt failed after the last success. */
  failing: boolean;
  /** Why nothing was read. */
  error?: string;
}

export function archiveSql(major: string): string {
  const num = majorNum(major);
  const status = num < 1000 ? 'pg_xlog/archive_status' : 'pg_wal/archive_status';
  const lastError =
    num >= 1100 ? `pg_read_file('${StoragePaths.spool}/last-error', 0, 2000, true)` : 'null';
  return (
    [
      'select archived_count, last_archived_wal, last_archived_time, failed_count, last_failed_wal, last_failed_time',
      `(select count(*) from pg_ls_dir('${status}') f where f like '%.ready')`,
      `replace(${lastError}, E'\\n', ' ')`,
    ].join(', ') + ' from pg_stat_archiver'
  );
}

/** psql's timestamptz text ("2026-12-04 01:00:02.5+00") in ms since the epoch. */
export function pgTimeMs(text: string): number {
  return Date.parse(
    text
      .trim()
      .replace(' ', 'T')
      .replace(/([+-]\d{2})$/, '$1:00'),
  );
}

/** A failure is current when it came after the last success. */
export function isFailing(s: Pick<ArchiveStatus, 'lastFailedTime' | 'lastArchivedTime'>): boolean {
  if (!s.lastFailedTime) return false;
  if (!s.lastArchivedTime) return true;
  return pgTimeMs(s.lastFailedTime) > pgTimeMs(s.lastArchivedTime);
}

export function parseArchive(rows: string[][], location: string, pod: string): ArchiveStatus {
  const r = rows[0] ?? [];
  const out: ArchiveStatus = { location, pod, failing: false };
  const set = <K extends keyof ArchiveStatus>(k: K, v: ArchiveStatus[K] | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set('archivedCount', pgNumber(r[0]));
  set('lastArchivedWal', pgText(r[1]));
  set('lastArchivedTime', pgText(r[2]));
  set('failedCount', pgNumber(r[3]));
  set('lastFailedWal', pgText(r[4]));
  set('lastFailedTime', pgText(r[5]));
  set('pending', pgNumber(r[6]));
  set('lastError', pgText(r[7]?.trim()));
  out.failing = isFailing(out);
  return out;
}

export async function queryArchive(
  kube: PodExec,
  at: SqlTarget,
  major: string,
  location: string,
  opts?: SqlOptions,
): Promise<ArchiveStatus> {
  return parseArchive(await runSql(kube, at, [archiveSql(major)], opts), location, at.pod);
}

/** The problem describe lists (and --exit-code counts as degraded), if any. */
export function archiveProblem(a: ArchiveStatus | undefined): string | undefined {
  if (!a?.failing) return undefined;
  return `WAL archiving to ${a.location} fails (${a.failedCount ?? '?'} failures, the last at ${a.lastFailedTime ?? '?'} for ${a.lastFailedWal ?? '?'}; ${a.pending ?? '?'} segments wait in pg_wal): ${a.lastError ?? 'see kubectl logs -c storage'}`;
}

/** describe's section. */
export function archiveLines(a: ArchiveStatus): string[] {
  if (a.error) return [`Location:       ${a.location}`, `Status:         unknown: ${a.error}`];
  return [
    `Location:       ${a.location}`,
    `Status:         ${a.failing ? 'FAILING' : 'ok'} (asked ${a.pod ?? '?'})`,
    `Last archived:  ${a.lastArchivedWal ?? '<none yet>'}${a.lastArchivedTime ? ` at ${a.lastArchivedTime}` : ''} (${a.archivedCount ?? 0} in all)`,
    `Last failed:    ${a.lastFailedWal ? `${a.lastFailedWal} at ${a.lastFailedTime ?? '?'}` : '<none>'} (${a.failedCount ?? 0} failures)`,
    `Waiting:        ${a.pending ?? '?'} segments`,
    ...(a.failing && a.lastError ? [`Last error:     ${a.lastError}`] : []),
  ];
}

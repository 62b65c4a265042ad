/**
 * backup.info: the facts of one complete base backup, written by the backup
 * Job's uploader beside base.tar (key=value lines, so that the sidecar's
 * POSIX sh can read them too). Pure.
 */
export interface BackupInfo {
  id: string;
  /** NAMESPACE/NAME of the cluster it was taken of. */
  cluster: string;
  serverVersionNum: number;
  timeline: number;
  startLsn: string;
  stopLsn: string;
  /** RFC 3339, UTC. */
  startTime: string;
  stopTime: string;
  /** Every transaction from this id on began after the backup ended. */
  nextXid: string;
  bytes: number;
  /** The host (Service) it was taken from. */
  source: string;
}

const num = (s: string | undefined) => (s !== undefined && /^\d+$/.test(s) ? Number(s) : 0);

/** One info from its key=value text; undefined without an id. */
export function parseBackupInfo(text: string): BackupInfo | undefined {
  const kv = new Map<string, string>();
  for (const line of text.split(/\n/)) {
    const i = line.indexOf('=');
    if (i > 0) kv.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  const id = kv.get('id');
  if (!id) return undefined;
  return {
    id,
    cluster: kv.get('cluster') ?? '',
    serverVersionNum: num(kv.get('server_version_num')),
    timeline: num(kv.get('timeline')),
    startLsn: kv.get('start_lsn') ?? '',
    stopLsn: kv.get('stop_lsn') ?? '',
    startTime: kv.get('start_time') ?? '',
    stopTime: kv.get('stop_time') ?? '',
    nextXid: kv.get('next_xid') ?? '',
    bytes: num(kv.get('bytes')),
    source: kv.get('source') ?? '',
  };
}

/** `storage.sh list`: infos separated by `---` lines, oldest id first. */
export function parseBackupList(text: string): BackupInfo[] {
  return text
    .split(/^---$/m)
    .map(parseBackupInfo)
    .filter((b): b is BackupInfo => b !== undefined)
    .sort((a, b) => a.id.localeCompare(b.id));
}

/** The uploader's last log line: `KPG-BACKUP key=value key=value …`. */
export function backupFromLog(log: string): BackupInfo | undefined {
  const line = log
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('KPG-BACKUP '));
  if (!line) return undefined;
  return parseBackupInfo(line.slice('KPG-BACKUP '.length).trim().split(/\s+/).join('\n'));
}

/** A backup id from the clock: sortable, in UTC, safe in object paths and Job names. */
export function backupId(now: Date): string {
  return now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

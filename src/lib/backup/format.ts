/** What kpg backup and kpg backup list print. Pure. */
import { formatAge, formatBytes, formatTable, toJson, toYaml } from '../cluster/format.js';
import type { BackupResult } from '../cluster/backup.js';
import type { BackupInfo } from './info.js';
import type { PrunePlan } from './prune.js';

export function formatBackup(r: BackupResult, output: string): string {
  if (output === 'json') return toJson(r);
  if (output === 'yaml') return toYaml(r);
  return [
    `base backup ${r.id} of ${r.cluster} complete`,
    `  start LSN  ${r.startLsn} (timeline ${r.timeline})`,
    `  end LSN    ${r.stopLsn}`,
    `  size       ${formatBytes(r.bytes)}`,
    `  duration   ${r.durationSeconds} s`,
    `  stored in  ${r.location}/basebackups/${r.id}`,
  ].join('\n');
}

export function formatBackupList(
  l: { location: string; backups: BackupInfo[] },
  output: string,
  now: Date,
): string {
  if (output === 'json') return toJson(l);
  if (output === 'yaml') return toYaml(l);
  if (l.backups.length === 0) return `No base backups in ${l.location}.`;
  return formatTable(
    ['ID', 'TIMELINE', 'START LSN', 'END LSN', 'SIZE', 'ENDED', 'AGE'],
    l.backups.map((b) => [
      b.id,
      String(b.timeline),
      b.startLsn,
      b.stopLsn,
      formatBytes(b.bytes),
      b.stopTime,
      formatAge(b.stopTime, now),
    ]),
  );
}

export function formatPrunePlan(location: string, p: PrunePlan): string {
  if (!p.walBefore) return `No base backups in ${location}: nothing to prune.`;
  return [
    `Prune ${location}:`,
    ...p.keep.map((b) => `  keep    base backup ${b.id} (${b.stopTime})`),
    ...p.remove.map((b) => `  remove  base backup ${b.id} (${b.stopTime})`),
    `  remove  the WAL of segments before ${p.walBefore} (the oldest kept backup's first)`,
  ].join('\n');
}

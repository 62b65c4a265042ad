/**
 * kpg backup prune NAME --keep N: which base backups go (all but the newest
 * N) and the WAL segment before which the archive's WAL goes too (the
 * oldest kept backup's first segment: nothing older can be replayed from
 * any backup left). Pure.
 */
import { InvalidInputError } from '../errors.js';
import type { BackupInfo } from './info.js';

/** PostgreSQL's default segment size; kpg never initdb's with another. */
const SEGMENT_BYTES = 16n * 1024n * 1024n;

/** The WAL file holding LSN on TIMELINE: TTTTTTTTXXXXXXXXYYYYYYYY. */
export function walFileName(timeline: number, lsn: string): string {
  const m = /^([0-9A-F]+)\/([0-9A-F]+)$/i.exec(lsn);
  if (!m) throw new Error(`not an LSN: ${lsn}`);
  const pos = (BigInt(`0x${m[1]}`) << 32n) + BigInt(`0x${m[2]}`);
  const seg = pos / SEGMENT_BYTES;
  const perId = 0x1_0000_0000n / SEGMENT_BYTES;
  const hex = (n: bigint | number) => n.toString(16).toUpperCase().padStart(8, '0');
  return hex(timeline) + hex(seg / perId) + hex(seg % perId);
}

export interface PrunePlan {
  keep: BackupInfo[];
  remove: BackupInfo[];
  /** WAL files of segments before this one go (timeline ignored: timelines only branch forward). */
  walBefore?: string;
}

export function planPrune(backups: BackupInfo[], keep: number): PrunePlan {
  if (!Number.isInteger(keep) || keep < 1) {
    throw new InvalidInputError(
      `--keep ${keep} would leave no base backup, and nothing could be restored: keep 1 or more`,
    );
  }
  const sorted = [...backups].sort((a, b) => a.id.localeCompare(b.id));
  const kept = sorted.slice(-keep);
  const oldest = kept[0];
  return {
    keep: kept,
    remove: sorted.slice(0, Math.max(0, sorted.length - keep)),
    ...(oldest ? { walBefore: walFileName(oldest.timeline, oldest.startLsn) } : {}),
  };
}

/**
 * WAL as files: which segment file holds an LSN, and how a byte range of the
 * WAL stream splits over segment files. Used to copy the WAL a killed primary
 * wrote but never sent from its volume into the target's pg_wal. Pure.
 */
import type { Lsn } from './lsn.js';

/** "000000010000000000000003" for timeline 1, segment 3 (16 MiB segments). */
export function segmentFileName(timeline: number, segno: bigint, segSize: bigint): string {
  const perId = 0x1_0000_0000n / segSize;
  const hex = (n: bigint): string => n.toString(16).toUpperCase().padStart(8, '0');
  return hex(BigInt(timeline)) + hex(segno / perId) + hex(segno % perId);
}

export interface SegmentPiece {
  file: string;
  /** Byte offset in the segment file. */
  offset: number;
  length: number;
}

/** The bytes [from, to) of the WAL stream, as pieces of segment files. */
export function splitRange(timeline: number, from: Lsn, to: Lsn, segSize: bigint): SegmentPiece[] {
  const out: SegmentPiece[] = [];
  for (let at = from; at < to;) {
    const segno = at / segSize;
    const segEnd = (segno + 1n) * segSize;
    const end = to < segEnd ? to : segEnd;
    out.push({
      file: segmentFileName(timeline, segno, segSize),
      offset: Number(at - segno * segSize),
      length: Number(end - at),
    });
    at = end;
  }
  return out;
}

export interface CopyPlan {
  /** Bytes both pods must hold identically (the tail of what the target received). */
  compare: { from: Lsn; to: Lsn };
  /** Bytes to copy from the old primary to the target. */
  copy: { from: Lsn; to: Lsn };
}

/**
 * What to compare and copy when the target received WAL up to `received` and
 * the old primary's last record ends at `oldEnd`: the copy runs to the end of
 * that record's page (the rest of the page is what the old primary had there,
 * zeros as a rule), and the compared span is up to a page before `received`
 * in its segment, proof that both hold the same WAL stream (an older segment
 * may already be recycled on either side).
 */
export function planCopy(received: Lsn, oldEnd: Lsn, blockSize: bigint, segSize: bigint): CopyPlan {
  const segStart = (received / segSize) * segSize;
  const back = received - blockSize;
  const compareFrom = back > segStart ? back : segStart;
  const pageEnd = ((oldEnd + blockSize - 1n) / blockSize) * blockSize;
  return {
    compare: { from: compareFrom, to: received },
    copy: { from: received, to: pageEnd > received ? pageEnd : received },
  };
}

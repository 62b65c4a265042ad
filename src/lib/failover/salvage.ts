/**
 * WAL salvage: a primary that was killed, hung or cut off may have flushed
 * and acknowledged commits it never sent (asynchronous replication). Its WAL
 * is still on its volume. Once the old pod is fenced and back (start.sh waits
 * there for the new primary, before pg_rewind touches anything), kpg reads
 * where that WAL ends, copies what the target lacks into the target's pg_wal,
 * checks the target now reads it, and only then promotes: a standby replays
 * the WAL in its pg_wal before it leaves recovery. Nothing acknowledged is
 * lost, by construction, as long as the old volume can be read.
 */
import { emit, type FailoverContext } from './context.js';
import { formatBytes, formatLsn, type Lsn } from './lsn.js';
import { type PodObject } from './observe.js';
import { shell } from './pg.js';
import {
  READ_SCRIPT,
  WAL_END_SCRIPT,
  WRITE_SCRIPT,
  endsBeforeNextRecord,
  parseWalEnd,
  type WalEnd,
} from './salvage-scripts.js';
import { planCopy, splitRange, type SegmentPiece } from './wal-range.js';

export interface SalvageInput {
  oldPrimary: string;
  /** The old primary pod's uid when it was fenced: its replacement is what we wait for. */
  oldUid?: string;
  target: string;
  /** What the target holds: its received (flushed) LSN. */
  targetLsn: Lsn;
  /** How long to wait for the old pod to run again. */
  timeoutMs: number;
}

export type SalvageResult =
  { ok: true; end: Lsn; copiedBytes: number } | { ok: false; reason: string };

class SalvageError extends Error {}

export async function salvageWal(ctx: FailoverContext, s: SalvageInput): Promise<SalvageResult> {
  try {
    const old = await waitForOldData(ctx, s);
    return await copyMissing(ctx, s, old);
  } catch (err) {
    if (err instanceof SalvageError) return { ok: false, reason: err.message };
    throw err;
  }
}

async function walEnd(
  ctx: FailoverContext,
  pod: string,
  tli: number | 'latest',
  start: Lsn,
): Promise<WalEnd> {
  const r = await shell(ctx, pod, WAL_END_SCRIPT, {
    args: [String(tli), formatLsn(start)],
    timeoutMs: 30_000,
  });
  if (r.exitCode !== 0)
    throw new SalvageError(`${pod}: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
  return parseWalEnd(r.stdout);
}

/** Why this old pod's PGDATA cannot be read as the old primary's untouched WAL (undefined: it can). */
function notUntouched(w: WalEnd): string | undefined {
  if (w.error) return w.error;
  if (w.postmaster) return 'postgres runs on its data again';
  if (w.standbySignal) return 'its data was already turned into a standby';
  if (/recovery/.test(w.clusterState ?? '') && !/crash/.test(w.clusterState ?? ''))
    return `its data is a standby's (${w.clusterState ?? ''})`;
  return undefined;
}

/** The old primary's pod runs again: a replacement of the fenced one. */
function runsAgain(pod: PodObject | undefined, oldUid: string | undefined): boolean {
  if (!pod || pod.metadata?.deletionTimestamp) return false;
  if (oldUid !== undefined && pod.metadata?.uid === oldUid) return false;
  return (
    pod.status?.containerStatuses?.some((c) => c.name === 'postgres' && c.state?.running) ?? false
  );
}

/** Its WAL end, or why not yet (a string); SalvageError when it never will be. */
async function tryOldData(ctx: FailoverContext, s: SalvageInput): Promise<WalEnd | string> {
  try {
    const w = await walEnd(ctx, s.oldPrimary, 'latest', s.targetLsn);
    const problem = notUntouched(w);
    if (!problem) return w;
    // Started on its data already, or its data is gone: waiting cannot help.
    if (w.postmaster || w.standbySignal || w.gone)
      throw new SalvageError(`${s.oldPrimary}: ${problem}`);
    return problem;
  } catch (err) {
    if (err instanceof SalvageError || ctx.signal?.aborted) throw err;
    return (err as Error).message;
  }
}

/**
 * Waits until the old primary's pod runs again (a replacement: the fenced one
 * was deleted) and reads its WAL end, from the target's position on.
 */
async function waitForOldData(ctx: FailoverContext, s: SalvageInput): Promise<WalEnd> {
  const deadline = ctx.clock.now() + s.timeoutMs;
  emit(ctx, {
    type: 'info',
    message: `waiting for ${s.oldPrimary} to run again, to read the WAL it may not have sent`,
  });
  for (;;) {
    const pod = await ctx.kube.find<PodObject>('Pod', ctx.namespace, s.oldPrimary, ctx.signal);
    const got = runsAgain(pod, s.oldUid)
      ? await tryOldData(ctx, s)
      : `its pod ${pod ? 'is not running' : 'does not exist'}`;
    if (typeof got !== 'string') return got;
    if (ctx.clock.now() > deadline) {
      throw new SalvageError(
        `${s.oldPrimary}'s data could not be read within ${Math.round(s.timeoutMs / 1000)}s (${got})`,
      );
    }
    await ctx.clock.sleep(200, ctx.signal);
  }
}

async function copyMissing(
  ctx: FailoverContext,
  s: SalvageInput,
  old: WalEnd,
): Promise<SalvageResult> {
  const { segSize, blockSize, timeline } = old;
  if (!segSize || !blockSize || timeline === undefined)
    throw new SalvageError(`${s.oldPrimary}: WAL sizes or timeline unknown`);
  if (!old.last && !endsBeforeNextRecord(old.dumpError)) {
    throw new SalvageError(
      `${s.oldPrimary}'s WAL from ${formatLsn(s.targetLsn)} on timeline ${timeline} cannot be read: ${old.dumpError ?? 'unknown error'}`,
    );
  }
  const end = old.last && old.last.end > s.targetLsn ? old.last.end : s.targetLsn;
  const plan = planCopy(s.targetLsn, end, blockSize, segSize);
  const pieces = (from: Lsn, to: Lsn): SegmentPiece[] => splitRange(timeline, from, to, segSize);

  // The same timeline and the same bytes before the target's end: one history.
  const compare = pieces(plan.compare.from, plan.compare.to);
  const [mine, theirs] = await Promise.all([
    readBytes(ctx, s.oldPrimary, compare),
    readBytes(ctx, s.target, compare),
  ]);
  if (!mine.equals(theirs)) {
    throw new SalvageError(
      `${s.target}'s WAL before ${formatLsn(s.targetLsn)} differs from ${s.oldPrimary}'s on timeline ${timeline}: not the same history`,
    );
  }
  if (!old.last || end <= s.targetLsn) return { ok: true, end, copiedBytes: 0 };
  const copy = pieces(plan.copy.from, plan.copy.to);
  const bytes = await readBytes(ctx, s.oldPrimary, copy);
  await writeBytes(ctx, s.target, segSize, copy, bytes);
  const check = await walEnd(ctx, s.target, timeline, s.targetLsn);
  if (check.last?.lsn !== old.last.lsn) {
    throw new SalvageError(
      `${s.target} does not read the copied WAL back (its last record: ${check.last ? formatLsn(check.last.lsn) : (check.dumpError ?? 'none')}, expected ${formatLsn(old.last.lsn)})`,
    );
  }
  emit(ctx, {
    type: 'info',
    message: `copied ${formatBytes(end - s.targetLsn)} of WAL ${s.oldPrimary} had not sent (${formatLsn(s.targetLsn)} to ${formatLsn(end)}, timeline ${timeline}) into ${s.target}`,
  });
  return { ok: true, end, copiedBytes: Number(end - s.targetLsn) };
}

function pieceArgs(pieces: SegmentPiece[]): string[] {
  return pieces.flatMap((p) => [p.file, String(p.offset), String(p.length)]);
}

async function readBytes(
  ctx: FailoverContext,
  pod: string,
  pieces: SegmentPiece[],
): Promise<Buffer> {
  const want = pieces.reduce((n, p) => n + p.length, 0);
  if (want === 0) return Buffer.alloc(0);
  const r = await shell(ctx, pod, READ_SCRIPT, {
    args: pieceArgs(pieces),
    binary: true,
    timeoutMs: 60_000,
  });
  const got = r.stdoutBytes ?? Buffer.alloc(0);
  if (r.exitCode !== 0 || got.length !== want) {
    throw new SalvageError(
      `reading WAL from ${pod}: ${r.stderr.trim() || `got ${got.length} of ${want} bytes`}`,
    );
  }
  return got;
}

async function writeBytes(
  ctx: FailoverContext,
  pod: string,
  segSize: bigint,
  pieces: SegmentPiece[],
  bytes: Buffer,
): Promise<void> {
  const r = await shell(ctx, pod, WRITE_SCRIPT, {
    args: [String(segSize), ...pieceArgs(pieces)],
    stdin: bytes,
    timeoutMs: 60_000,
  });
  if (r.exitCode !== 0 || !r.stdout.includes(`written=${bytes.length}`)) {
    throw new SalvageError(
      `writing WAL into ${pod}: ${r.stderr.trim() || r.stdout.trim() || `exit ${r.exitCode}`}`,
    );
  }
}

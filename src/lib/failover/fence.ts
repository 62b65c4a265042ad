/**
 * Fencing the old primary: out of the primary Service first (relabel), then
 * stopped. A primary that still serves is shut down cleanly (`pg_ctl stop -m
 * fast`: clients are cut, a shutdown checkpoint is written and the WAL
 * senders wait until connected standbys have flushed all of it); one that is
 * down, hung or cut off is deleted with grace 0. The record already names
 * the new primary, so whatever restarts comes back as a standby.
 */
import { ROLE_LABEL } from '../render/labels.js';
import { NotFoundError } from '../kube/index.js';
import { emit, type FailoverContext } from './context.js';
import { formatLsn, type Lsn } from './lsn.js';
import { observeOne } from './observe.js';
import { shell } from './pg.js';
import type { MemberState } from './types.js';

export type Role = 'primary' | 'replica';

/** Sets kubedb.com/role on a pod (only the pod with this uid, when given); false if it is gone. */
export async function setRole(ctx: FailoverContext, pod: string, role: Role): Promise<boolean> {
  try {
    await ctx.kube.patch(
      'Pod',
      ctx.namespace,
      pod,
      { metadata: { labels: { [ROLE_LABEL]: role } } },
      {
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      },
    );
    return true;
  } catch (err) {
    if (err instanceof NotFoundError) return false;
    throw err;
  }
}

/** The old primary still serves writes and can be shut down cleanly. */
export function canStopCleanly(m: MemberState, health: string): boolean {
  return (
    m.probed && m.postmaster && m.accepts && m.inRecovery === false && health !== 'unreachable'
  );
}

export interface StopOutcome {
  graceful: boolean;
  stopLsn?: Lsn;
}

/** Pod gone, or replaced by a new one (another uid): the old processes are fenced. */
export function isReplaced(m: MemberState, oldUid: string | undefined): boolean {
  return !m.exists || (oldUid !== undefined && m.uid !== undefined && m.uid !== oldUid);
}

/**
 * Clean shutdown. Returns false when postgres still runs as a primary after
 * it (the caller then kills it).
 */
export async function stopCleanly(
  ctx: FailoverContext,
  pod: string,
  timeoutS: number,
): Promise<boolean> {
  try {
    const r = await shell(
      ctx,
      pod,
      `pg_ctl stop -D "$PGDATA" -m fast -w -t ${timeoutS} >/dev/null 2>&1 && echo stopped`,
      {
        timeoutMs: (timeoutS + 10) * 1000,
      },
    );
    if (r.stdout.includes('stopped')) return true;
  } catch (err) {
    // The container ends with its postmaster, and our exec stream may end with it.
    if (ctx.signal?.aborted) throw err;
  }
  const after = await observeOne(ctx, pod, { timeoutMs: 3_000 });
  return !(after.probed && after.accepts && after.inRecovery === false);
}

/** Deletes the pod (grace 0, only this uid) and waits until it is gone or replaced. */
export async function killPod(
  ctx: FailoverContext,
  pod: string,
  uid: string | undefined,
  timeoutMs: number,
): Promise<void> {
  await ctx.kube
    .delete('Pod', ctx.namespace, pod, {
      gracePeriodSeconds: 0,
      ...(uid ? { uid } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    })
    .catch((err: unknown) => {
      // A precondition failure (409) means it is already another pod: fenced.
      if ((err as { status?: number }).status === 409) return;
      throw err;
    });
  await ctx.kube.waitFor<{ metadata?: { uid?: string } }>(
    'Pod',
    ctx.namespace,
    pod,
    (p) => p === undefined || (uid !== undefined && p.metadata?.uid !== uid),
    {
      timeoutMs,
      description: `the old primary ${pod} to be deleted`,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    },
  );
}

export interface FenceInput {
  pod: string;
  oldUid?: string;
  health: string;
  /** Persist the intent (stopLsn) before the shutdown, so a crash mid-way still knows it. */
  beforeStop: (stopLsn: Lsn) => Promise<void>;
  stopTimeoutS: number;
  deleteTimeoutMs: number;
  /** What an earlier, interrupted run found. */
  earlier?: StopOutcome;
}

export async function stopOldPrimary(
  ctx: FailoverContext,
  input: FenceInput,
): Promise<StopOutcome> {
  const { pod } = input;
  if ((input.health === 'hung' || input.health === 'unreachable') && !input.earlier?.graceful) {
    // Asking a frozen pod again would only cost another probe timeout.
    await killPod(ctx, pod, input.oldUid, input.deleteTimeoutMs);
    return { graceful: false };
  }
  const m = await observeOne(ctx, pod, { timeoutMs: 3_000 });
  if (isReplaced(m, input.oldUid)) {
    emit(ctx, {
      type: 'info',
      message: `${pod}: the old primary's pod is already gone or replaced`,
    });
    return input.earlier ?? { graceful: false };
  }
  if (canStopCleanly(m, input.health) && m.currentLsn !== undefined) {
    await input.beforeStop(m.currentLsn);
    emit(ctx, { type: 'info', message: `${pod}: clean shutdown at ${formatLsn(m.currentLsn)}` });
    if (await stopCleanly(ctx, pod, input.stopTimeoutS))
      return { graceful: true, stopLsn: m.currentLsn };
    emit(ctx, {
      type: 'warn',
      message: `${pod}: the clean shutdown did not finish in ${input.stopTimeoutS}s: deleting the pod`,
    });
  } else if (m.probed && !(m.accepts && m.inRecovery === false) && input.earlier?.graceful) {
    // Shut down cleanly by the earlier run; it now waits (start.sh) as a standby-to-be.
    return input.earlier;
  }
  await killPod(ctx, pod, input.oldUid ?? m.uid, input.deleteTimeoutMs);
  return { graceful: false };
}

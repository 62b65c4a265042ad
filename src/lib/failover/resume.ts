/**
 * Unfinished operations. The record keeps the plan and the completed steps;
 * the next kpg failover either completes it (the default: every step is
 * idempotent) or, when the target cannot be promoted and was not yet,
 * rolls it back to the old primary, which holds everything it wrote.
 */
import { emit, type FailoverContext } from './context.js';
import { setRole } from './fence.js';
import { observeOne } from './observe.js';
import { pointOfNoReturn } from './steps.js';
import {
  currentOperation,
  updateRecord,
  withoutOperation,
  type FailoverOperation,
} from './store.js';
import type { MemberState } from './types.js';

export type ResumeDecision =
  { action: 'complete'; reason: string } | { action: 'rollback'; reason: string };

/**
 * Pure: why the saved operation must not be completed as it was planned,
 * though it could be (nothing promoted yet): this run names another target,
 * or the old primary it was going to fence as down or hung serves again (a
 * stale verdict would kill a healthy primary with grace 0). Then it is
 * rolled back and planned afresh, with this run's options and question.
 */
export function replanReason(
  op: FailoverOperation,
  now: { to?: string; oldPrimary: MemberState },
): string | undefined {
  if (op.rollingBack || pointOfNoReturn(op)) return undefined;
  if (now.to !== undefined && now.to !== op.newPrimary)
    return `this run asks for ${now.to}, the unfinished ${op.kind} was going to ${op.newPrimary}`;
  const o = now.oldPrimary;
  if (
    op.plan.oldPrimaryHealth !== 'healthy' &&
    !op.completedSteps.includes('fence') &&
    o.accepts &&
    o.inRecovery === false
  )
    return `${op.oldPrimary} was ${op.plan.oldPrimaryHealth} when the ${op.kind} was planned, and serves again`;
  return undefined;
}

/** Pure: complete, or roll back, from what the target looks like now. */
export function decideResume(op: FailoverOperation, target: MemberState): ResumeDecision {
  if (op.rollingBack)
    return { action: 'rollback', reason: `a rollback was under way: ${op.rollingBack}` };
  if (pointOfNoReturn(op))
    return { action: 'complete', reason: `${op.newPrimary} is already promoted` };
  if (target.accepts && target.inRecovery === false) {
    return { action: 'complete', reason: `${op.newPrimary} was promoted before the interruption` };
  }
  const healthy = target.exists && target.probed && target.postmaster && target.standbySignal;
  if (!healthy) {
    return {
      action: 'rollback',
      reason: `the target ${op.newPrimary} cannot be promoted (${target.probeError ?? 'not a running standby'})`,
    };
  }
  return { action: 'complete', reason: `${op.newPrimary} is a running standby` };
}

/**
 * Back to the old primary: the record names it again; if it still serves it
 * gets its label back, else its pod restarts and start.sh brings it up as
 * the primary (its data is a primary's). The target was never promoted.
 */
export async function rollback(
  ctx: FailoverContext,
  op: FailoverOperation,
  reason: string,
): Promise<void> {
  if (pointOfNoReturn(op)) throw new Error('cannot roll back: the target was promoted');
  emit(ctx, { type: 'warn', message: `rolling back to ${op.oldPrimary}: ${reason}` });
  await updateRecord(ctx, (r) => ({
    ...r,
    primary: op.oldPrimary,
    operation: { ...(currentOperation(r) ?? op), rollingBack: reason },
  }));
  if (op.completedSteps.includes('catch-up')) {
    // A promotion may have been sent to the target before the interruption: restart it
    // (grace 0) so it comes back as a standby, whatever state it is in.
    await ctx.kube.delete('Pod', ctx.namespace, op.newPrimary, {
      gracePeriodSeconds: 0,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
  }
  const old = await observeOne(ctx, op.oldPrimary, { timeoutMs: 4_000 });
  if (old.probed && old.accepts && old.inRecovery === false) {
    await setRole(ctx, op.oldPrimary, 'primary');
  } else if (old.exists) {
    // It waits in start.sh for a primary that will not come: start it again.
    await ctx.kube.delete('Pod', ctx.namespace, op.oldPrimary, {
      gracePeriodSeconds: 10,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
  }
  await updateRecord(ctx, (r) => ({ ...withoutOperation(r), primary: op.oldPrimary }));
}

/**
 * kpg failover's logic: observe, plan, then run the steps under the lease,
 * or finish the operation an interrupted run left in the record.
 */
import { parse } from 'yaml';
import type { LeaseSnapshot } from '../ha/lease-record.js';
import { requireAccess } from '../cluster/access.js';
import { failoverAccessChecks } from './access.js';
import { agentLease, checkAgentPlan, switchoverByAgents } from './agents.js';
import { emit, type FailoverContext } from './context.js';
import { FailoverRefusedError, FailoverStepError } from './errors.js';
import { takeLease } from './lease.js';
import { formatLsn, parseLsn, type Lsn } from './lsn.js';
import { observe, observeOne, waitStreaming } from './observe.js';
import { planOperation } from './plan.js';
import { decideResume, replanReason, rollback } from './resume.js';
import { persist, runSteps, STEP_TITLES, STEPS, type StepName, type StepOutcome } from './steps.js';
import { currentOperation, readRecord, type FailoverOperation } from './store.js';
import type { ClusterRecord } from '../cluster/record.js';
import type { MemberState, Plan } from './types.js';

export { DEFAULT_MAX_LAG } from './plan.js';
export type { FailoverContext, ProgressEvent } from './context.js';
export type { Plan } from './types.js';

export interface FailoverOptions {
  to?: string;
  force: boolean;
  maxLagBytes: bigint;
  dryRun: boolean;
  timeoutMs: number;
  /** How long an asynchronous failover waits for the old primary's pod, to read its unsent WAL. */
  salvageTimeoutMs: number;
  /** Asked after planning, before acting (a terminal without --yes); false cancels. */
  confirm?: (plan: Plan) => Promise<boolean>;
}

export interface StepReport {
  name: string;
  title: string;
  ms: number;
}

export interface FailoverResult {
  cluster: string;
  namespace: string;
  kind: 'switchover' | 'failover';
  dryRun: boolean;
  /** An unfinished operation from an earlier run was completed or rolled back. */
  resumed: boolean;
  rolledBack: boolean;
  oldPrimary: string;
  newPrimary: string;
  oldPrimaryHealth: string;
  why: string;
  timeline?: number;
  lsn: { reference?: string; target?: string; oldPrimaryStop?: string; promoted?: string };
  lagBytes: number;
  /**
   * Asynchronous failover: the WAL the old primary had not sent, copied from
   * its volume into the new primary (end: where its WAL ended), or why not.
   */
  walSalvage?: { end?: string; copiedBytes?: number; failed?: string };
  /** Bytes of acknowledged commits that may have been lost (0: none). */
  possibleLossBytes: number;
  forced: boolean;
  steps: StepReport[];
  totalMs: number;
  rejoined: string[];
  notRejoined: string[];
  warnings: string[];
  /** Set when cancelled at the confirmation. */
  cancelled?: boolean;
}

/** spec.streamingMode of the applied manifest; an unreadable spec counts as synchronous (the stricter rules). */
export function synchronousOf(record: ClusterRecord): boolean {
  let doc: { spec?: { streamingMode?: string } } | null;
  try {
    doc = parse(record.spec) as typeof doc;
  } catch (err) {
    if (err instanceof Error && err.name.startsWith('YAML')) return true;
    throw err;
  }
  return doc?.spec?.streamingMode === 'synchronous';
}

const lsnText = (l: Lsn | undefined) => (l === undefined ? undefined : formatLsn(l));

function newOperation(
  ctx: FailoverContext,
  plan: Plan,
  oldUid: string | undefined,
): FailoverOperation {
  const now = ctx.clock.now();
  return {
    id: `${plan.kind}-${now.toString(36)}`,
    kind: plan.kind,
    startedAt: new Date(now).toISOString(),
    holder: ctx.holder,
    oldPrimary: plan.oldPrimary,
    newPrimary: plan.target,
    completedSteps: [],
    stepMs: {},
    ...(oldUid ? { oldUid } : {}),
    plan: {
      why: plan.why,
      oldPrimaryHealth: plan.oldPrimaryHealth,
      lagBytes: String(plan.lagBytes),
      expectedLossBytes: String(plan.expectedLossBytes),
      ...(plan.referenceLsn !== undefined ? { referenceLsn: formatLsn(plan.referenceLsn) } : {}),
      ...(plan.targetLsn !== undefined ? { targetLsn: formatLsn(plan.targetLsn) } : {}),
      forced: plan.forced,
    },
  };
}

function resultOf(
  ctx: FailoverContext,
  op: FailoverOperation,
  extra: Partial<FailoverResult>,
): FailoverResult {
  const steps = STEPS.filter((s) => op.stepMs[s] !== undefined).map((s: StepName) => ({
    name: s,
    title: STEP_TITLES[s],
    ms: op.stepMs[s] ?? 0,
  }));
  const lost = BigInt(op.lostBytes ?? op.plan.expectedLossBytes);
  return {
    cluster: ctx.cluster,
    namespace: ctx.namespace,
    kind: op.kind,
    dryRun: false,
    resumed: false,
    rolledBack: false,
    oldPrimary: op.oldPrimary,
    newPrimary: op.newPrimary,
    oldPrimaryHealth: op.plan.oldPrimaryHealth,
    why: op.plan.why,
    ...(op.timeline !== undefined ? { timeline: op.timeline } : {}),
    lsn: {
      ...(op.plan.referenceLsn ? { reference: op.plan.referenceLsn } : {}),
      ...(op.plan.targetLsn ? { target: op.plan.targetLsn } : {}),
      ...(op.stopLsn ? { oldPrimaryStop: op.stopLsn } : {}),
      ...(op.promotedLsn ? { promoted: op.promotedLsn } : {}),
    },
    lagBytes: Number(op.plan.lagBytes),
    ...salvageOf(op),
    possibleLossBytes: possibleLoss(op, lost),
    forced: op.plan.forced,
    steps,
    totalMs: 0,
    rejoined: [],
    notRejoined: [],
    warnings: [],
    ...extra,
  };
}

function salvageOf(op: FailoverOperation): Pick<FailoverResult, 'walSalvage'> {
  if (op.salvageFailed) return { walSalvage: { failed: op.salvageFailed } };
  if (op.salvageEnd === undefined) return {};
  return {
    walSalvage: { end: op.salvageEnd, copiedBytes: Number(op.salvagedBytes ?? '0') },
  };
}

/** 0 after a clean shutdown or a complete WAL salvage (unless promotion fell short of it). */
function possibleLoss(op: FailoverOperation, lost: bigint): number {
  if (op.graceful || (op.salvageEnd !== undefined && lost === 0n)) return 0;
  const planned = BigInt(op.plan.expectedLossBytes);
  return Number(lost > planned ? lost : planned);
}

function dryRunResult(ctx: FailoverContext, plan: Plan): FailoverResult {
  return {
    cluster: ctx.cluster,
    namespace: ctx.namespace,
    kind: plan.kind,
    dryRun: true,
    resumed: false,
    rolledBack: false,
    oldPrimary: plan.oldPrimary,
    newPrimary: plan.target,
    oldPrimaryHealth: plan.oldPrimaryHealth,
    why: plan.why,
    lsn: {
      ...(plan.referenceLsn !== undefined ? { reference: lsnText(plan.referenceLsn) } : {}),
      ...(plan.targetLsn !== undefined ? { target: lsnText(plan.targetLsn) } : {}),
    },
    lagBytes: Number(plan.lagBytes),
    possibleLossBytes: Number(plan.expectedLossBytes),
    forced: plan.forced,
    steps: [],
    totalMs: 0,
    rejoined: [],
    notRejoined: [],
    warnings: plan.warnings,
  };
}

/** How long a switchover waits for standbys to stream again (e.g. just after the primary restarted). */
const STREAMING_WAIT_MS = 15_000;

/**
 * Observe and plan (no lease, no change). A healthy primary whose standbys are
 * not streaming yet (they reconnect every few seconds after a restart) is
 * observed again for a while before the switchover is refused.
 */
export async function makePlan(
  ctx: FailoverContext,
  record: ClusterRecord,
  opts: FailoverOptions,
): Promise<{ plan: Plan; oldUid?: string }> {
  const until = ctx.clock.now() + Math.min(STREAMING_WAIT_MS, opts.timeoutMs);
  for (let said = false; ; said = true) {
    try {
      return await planOnce(ctx, record, opts);
    } catch (err) {
      const waiting = err instanceof FailoverRefusedError && err.waitingForStreaming;
      if (!waiting || ctx.clock.now() > until) throw err;
      if (!said)
        emit(ctx, {
          type: 'info',
          message: 'the primary serves but no standby streams from it yet: waiting for one',
        });
      await ctx.clock.sleep(500, ctx.signal);
    }
  }
}

/**
 * Members whose probe timed out are asked once more, with longer to answer,
 * before the primary is called hung or a standby unusable: a busy machine must
 * cause neither a failover (and, asynchronous, a possible loss) nor a refusal.
 */
async function secondLook(
  ctx: FailoverContext,
  members: MemberState[],
  primary: string,
): Promise<MemberState[]> {
  const late = members.filter((m) => !m.probed && m.probeFailure === 'timeout').map((m) => m.pod);
  if (late.length === 0) return members;
  emit(ctx, {
    type: 'info',
    message: `${late.join(', ')} did not answer within 3s: asking once more`,
  });
  const again = await observe(ctx, { primary, only: late, timeoutMs: 5_000 });
  return members.map((m) => again.find((a) => a.pod === m.pod) ?? m);
}

async function planOnce(
  ctx: FailoverContext,
  record: ClusterRecord,
  opts: FailoverOptions,
): Promise<{ plan: Plan; oldUid?: string }> {
  const first = await observe(ctx, { primary: record.primary, timeoutMs: 3_000 });
  const members = await secondLook(ctx, first, record.primary);
  const plan = planOperation({
    recordPrimary: record.primary,
    members,
    options: {
      ...(opts.to ? { to: opts.to } : {}),
      force: opts.force,
      maxLagBytes: opts.maxLagBytes,
      synchronous: synchronousOf(record),
    },
  });
  const uid = members.find((m) => m.pod === record.primary)?.uid;
  return { plan, ...(uid ? { oldUid: uid } : {}) };
}

export async function runFailover(
  ctx: FailoverContext,
  opts: FailoverOptions,
): Promise<FailoverResult> {
  const t0 = ctx.clock.now();
  const first = await readRecord(ctx);
  const pending = currentOperation(first);
  if (opts.dryRun) {
    if (pending) {
      emit(ctx, {
        type: 'warn',
        message: `an unfinished ${pending.kind} (${pending.oldPrimary} → ${pending.newPrimary}, done: ${pending.completedSteps.join(', ') || 'nothing'}) would be completed first`,
      });
    }
    const { plan } = await makePlan(ctx, first, opts);
    return dryRunResult(ctx, plan);
  }
  await requireAccess(ctx.kube, ctx.namespace, failoverAccessChecks(ctx.cluster));
  const lease = await takeLease(ctx);
  const signals = [lease.signal, ...(ctx.signal ? [ctx.signal] : [])];
  const inner: FailoverContext = { ...ctx, signal: AbortSignal.any(signals) };
  try {
    const record = await readRecord(inner);
    const op = currentOperation(record);
    const agents = op ? undefined : await agentLease(inner);
    const result = op
      ? await resume(inner, op, opts)
      : agents
        ? await viaAgents(inner, record, opts, agents)
        : await fresh(inner, record, opts);
    return { ...result, totalMs: ctx.clock.now() - t0 };
  } finally {
    await lease.release();
  }
}

async function fresh(
  ctx: FailoverContext,
  record: ClusterRecord,
  opts: FailoverOptions,
): Promise<FailoverResult> {
  const { plan, oldUid } = await makePlan(ctx, record, opts);
  for (const w of plan.warnings) emit(ctx, { type: 'warn', message: w });
  if (opts.confirm && !(await opts.confirm(plan))) {
    return { ...dryRunResult(ctx, plan), dryRun: false, cancelled: true };
  }
  const op = newOperation(ctx, plan, oldUid);
  await persist(ctx, op);
  emit(ctx, {
    type: 'info',
    message: `plan: ${plan.kind} ${plan.oldPrimary} → ${plan.target} (${plan.why})`,
  });
  if (ctx.crashAfter === 'plan') ctx.crash?.();
  return execute(ctx, op, opts, { warnings: plan.warnings });
}

/** The cluster's agents carry the switchover out; kpg asks, waits and reports. */
async function viaAgents(
  ctx: FailoverContext,
  record: ClusterRecord,
  opts: FailoverOptions,
  lease: LeaseSnapshot,
): Promise<FailoverResult> {
  const { plan } = await makePlan(ctx, record, opts);
  checkAgentPlan(ctx, plan, lease);
  for (const w of plan.warnings) emit(ctx, { type: 'warn', message: w });
  if (opts.confirm && !(await opts.confirm(plan))) {
    return { ...dryRunResult(ctx, plan), dryRun: false, cancelled: true };
  }
  const done = await switchoverByAgents(ctx, plan, lease, opts.timeoutMs);
  const rejoin = await waitRejoined(ctx, plan.target, [plan.oldPrimary], opts.timeoutMs);
  return {
    ...dryRunResult(ctx, plan),
    dryRun: false,
    ...(done.timeline !== undefined ? { timeline: done.timeline } : {}),
    // The agent hands over only once the target replayed the shutdown checkpoint.
    possibleLossBytes: 0,
    steps: [{ name: 'handover', title: 'Agents handed the primary over', ms: done.handedOverMs }],
    ...rejoin,
  };
}

async function waitRejoined(
  ctx: FailoverContext,
  primary: string,
  pods: string[],
  timeoutMs: number,
): Promise<Pick<FailoverResult, 'rejoined' | 'notRejoined' | 'warnings'>> {
  const streaming = await waitStreaming(ctx, primary, pods, timeoutMs);
  const notRejoined = pods.filter((p) => !streaming.includes(p));
  return {
    rejoined: streaming,
    notRejoined,
    warnings: notRejoined.length
      ? [`not streaming from ${primary} yet: ${notRejoined.join(', ')} (see kpg describe)`]
      : [],
  };
}

async function execute(
  ctx: FailoverContext,
  op: FailoverOperation,
  opts: FailoverOptions,
  extra: Partial<FailoverResult>,
): Promise<FailoverResult> {
  try {
    const settings = {
      timeoutMs: opts.timeoutMs,
      stopTimeoutS: 20,
      rejoinTimeoutMs: opts.timeoutMs,
      pinned: opts.to !== undefined || op.plan.why === 'chosen with --to',
      synchronous: synchronousOf(await readRecord(ctx)),
      force: opts.force,
      salvageTimeoutMs: opts.salvageTimeoutMs,
    };
    const { op: done, outcome } = await runSteps(ctx, op, settings);
    return resultOf(ctx, done, { ...extra, ...outcomeFields(outcome, extra.warnings ?? []) });
  } catch (err) {
    if (ctx.signal?.aborted) throw err;
    if (!(err instanceof FailoverStepError)) {
      // Any other error before promotion (a 403 after fencing, the API gone)
      // must not leave the cluster without a labelled primary: roll back if
      // the API lets us, and report the error itself.
      await rollbackAfter(ctx, err);
      throw err;
    }
    const now = currentOperation(await readRecord(ctx));
    if (!now || now.completedSteps.includes('promote')) throw err;
    await rollback(ctx, now, err.message);
    throw new FailoverStepError(
      err.step,
      `${err.detail}; rolled back: ${now.oldPrimary} is the primary again`,
      {
        suggestions: [
          ...err.suggestions,
          'nothing was promoted and nothing acknowledged was lost; fix the cause and run kpg failover again',
        ],
      },
    );
  }
}

/** Best effort: back to the old primary when nothing was promoted; says what happened. */
async function rollbackAfter(ctx: FailoverContext, err: unknown): Promise<void> {
  const why = err instanceof Error ? err.message : String(err);
  try {
    const now = currentOperation(await readRecord(ctx));
    if (!now || now.completedSteps.includes('promote')) return;
    await rollback(ctx, now, why);
    emit(ctx, { type: 'warn', message: `rolled back: ${now.oldPrimary} is the primary again` });
  } catch (again) {
    emit(ctx, {
      type: 'warn',
      message: `could not roll back (${again instanceof Error ? again.message : String(again)}): the unfinished operation stays in the record; kpg failover completes or rolls it back`,
    });
  }
}

function outcomeFields(o: StepOutcome, warnings: string[]): Partial<FailoverResult> {
  return {
    rejoined: o.rejoined,
    notRejoined: o.notRejoined,
    warnings: [...warnings, ...o.warnings],
  };
}

/** The saved operation's plan, as the question of a resumed run shows it. */
function savedPlan(op: FailoverOperation): Plan {
  const referenceLsn = parseLsn(op.plan.referenceLsn);
  const targetLsn = parseLsn(op.plan.targetLsn);
  return {
    kind: op.kind as Plan['kind'],
    oldPrimary: op.oldPrimary,
    oldPrimaryHealth: op.plan.oldPrimaryHealth as Plan['oldPrimaryHealth'],
    healthDetail: `as planned ${op.startedAt} by ${op.holder}; done: ${op.completedSteps.join(', ') || 'nothing'}`,
    target: op.newPrimary,
    why: op.plan.why,
    ...(referenceLsn !== undefined ? { referenceLsn } : {}),
    referenceSource: referenceLsn !== undefined ? 'old primary' : 'unknown',
    ...(targetLsn !== undefined ? { targetLsn } : {}),
    lagBytes: BigInt(op.plan.lagBytes),
    expectedLossBytes: BigInt(op.plan.expectedLossBytes),
    forced: op.plan.forced,
    candidates: [],
    warnings: [],
  };
}

async function resume(
  ctx: FailoverContext,
  op: FailoverOperation,
  opts: FailoverOptions,
): Promise<FailoverResult> {
  emit(ctx, {
    type: 'info',
    message: `found an unfinished ${op.kind} ${op.oldPrimary} → ${op.newPrimary} started ${op.startedAt} by ${op.holder} (done: ${op.completedSteps.join(', ') || 'nothing'})`,
  });
  const [target, oldNow] = await Promise.all([
    observeOne(ctx, op.newPrimary, { timeoutMs: 4_000 }),
    observeOne(ctx, op.oldPrimary, { timeoutMs: 4_000 }),
  ]);
  const replan = replanReason(op, { ...(opts.to ? { to: opts.to } : {}), oldPrimary: oldNow });
  if (replan) {
    await rollback(ctx, op, replan);
    emit(ctx, { type: 'info', message: `rolled back (${replan}); planning again` });
    const fresher = await fresh(ctx, await readRecord(ctx), opts);
    return { ...fresher, resumed: true, warnings: [replan, ...fresher.warnings] };
  }
  const decision = decideResume(op, target);
  if (decision.action === 'rollback') {
    await rollback(ctx, op, decision.reason);
    return resultOf(ctx, op, {
      resumed: true,
      rolledBack: true,
      newPrimary: op.oldPrimary,
      warnings: [decision.reason],
    });
  }
  emit(ctx, { type: 'info', message: `completing it: ${decision.reason}` });
  // Asked again: the person who started it may not be the one running this.
  if (opts.confirm && !(await opts.confirm(savedPlan(op)))) {
    return { ...resultOf(ctx, op, { resumed: true }), cancelled: true };
  }
  const pinned = op.plan.why === 'chosen with --to';
  return execute(ctx, op, { ...opts, ...(pinned ? { to: op.newPrimary } : {}) }, { resumed: true });
}

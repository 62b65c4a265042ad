/**
 * The steps of a switchover or failover, in order. Each is idempotent and
 * judged on the cluster's actual state, and its completion is written to the
 * record's `operation` before the next starts, so an interrupted run is
 * finished (or rolled back) by the next one.
 *
 *   record    the record names the target: any pod that restarts from now on follows it
 *   fence     the old primary leaves the primary Service (kubedb.com/role=replica)
 *   stop      clean shutdown of a serving old primary, else delete its pod (grace 0)
 *   catch-up  the target holds everything: the old primary's shutdown checkpoint,
 *             or (after a kill) it is the most advanced standby and, asynchronous,
 *             got the WAL the old primary never sent from its volume (salvage.ts)
 *   promote   pg_ctl promote, CHECKPOINT
 *   label     the target enters the primary Service
 *   rejoin    the old primary and the other standbys stream from the new one
 *   finish    history entry, operation cleared
 */
import { readBlockers } from '../cluster/blocker-read.js';
import { blockerLine } from '../cluster/blockers.js';
import { emit, type FailoverContext } from './context.js';
import { FailoverStepError } from './errors.js';
import { setRole, stopOldPrimary } from './fence.js';
import { formatLsn, lsnDistance, maxLsn, parseLsn, type Lsn } from './lsn.js';
import { observe, observeOne, listPods, waitStreaming } from './observe.js';
import { rankCandidates } from './plan.js';
import { psql } from './pg.js';
import { promote } from './promote.js';
import { salvageWal } from './salvage.js';
import { updateRecord, withoutOperation, type FailoverOperation } from './store.js';
import type { MemberState } from './types.js';

export const STEPS = [
  'record',
  'fence',
  'stop',
  'catch-up',
  'promote',
  'label',
  'rejoin',
  'finish',
] as const;
export type StepName = (typeof STEPS)[number];

export const STEP_TITLES: Record<StepName, string> = {
  record: 'record names the new primary',
  fence: 'old primary out of the primary Service',
  stop: 'old primary stopped',
  'catch-up': 'new primary has all the WAL',
  promote: 'promoted',
  label: 'new primary in the primary Service',
  rejoin: 'standbys follow the new primary',
  finish: 'history written',
};

/** Steps after which there is no way back: the target is a primary. */
export function pointOfNoReturn(op: FailoverOperation): boolean {
  return op.completedSteps.includes('promote');
}

export interface StepSettings {
  /** --timeout: the longest any single wait may take. */
  timeoutMs: number;
  stopTimeoutS: number;
  /** How long to wait for standbys to stream from the new primary (a warning, not a failure). */
  rejoinTimeoutMs: number;
  /** The user named the target (--to): it is not switched for a more advanced one. */
  pinned: boolean;
  synchronous: boolean;
  /** --force: fail over even when the old primary's unsent WAL cannot be read. */
  force: boolean;
  /** How long to wait for a killed old primary's pod to run again, to read its WAL. */
  salvageTimeoutMs: number;
}

/** Extra results of the steps, for the command's output. */
export interface StepOutcome {
  rejoined: string[];
  notRejoined: string[];
  warnings: string[];
}

type Patch = Partial<FailoverOperation>;

export async function persist(ctx: FailoverContext, op: FailoverOperation): Promise<void> {
  await updateRecord(ctx, (r) => ({ ...r, operation: op }));
}

export async function runSteps(
  ctx: FailoverContext,
  start: FailoverOperation,
  settings: StepSettings,
): Promise<{ op: FailoverOperation; outcome: StepOutcome }> {
  let op = start;
  const outcome: StepOutcome = { rejoined: [], notRejoined: [], warnings: [] };
  for (const step of STEPS) {
    const title = STEP_TITLES[step];
    if (op.completedSteps.includes(step)) {
      emit(ctx, { type: 'step-skip', step, title });
      continue;
    }
    emit(ctx, { type: 'step-start', step, title });
    const t0 = ctx.clock.now();
    const patch = (await STEP_IMPL[step](ctx, op, settings, outcome)) ?? {};
    const ms = ctx.clock.now() - t0;
    op = {
      ...op,
      ...patch,
      completedSteps: [...op.completedSteps, step],
      stepMs: { ...op.stepMs, [step]: ms },
    };
    if (step !== 'finish') await persist(ctx, op);
    emit(ctx, {
      type: 'step-done',
      step,
      title,
      ms,
      ...(detailOf(step, op) ? { detail: detailOf(step, op) } : {}),
    });
    if (ctx.crashAfter === step) ctx.crash?.();
  }
  return { op, outcome };
}

function detailOf(step: StepName, op: FailoverOperation): string | undefined {
  if (step === 'stop')
    return op.graceful ? `clean shutdown at ${op.stopLsn ?? '?'}` : 'pod deleted';
  if (step === 'promote') return `${op.newPrimary}, timeline ${op.timeline ?? '?'}`;
  if (step === 'catch-up') return op.newPrimary;
  return undefined;
}

type StepFn = (
  ctx: FailoverContext,
  op: FailoverOperation,
  s: StepSettings,
  out: StepOutcome,
) => Promise<Patch | void>;

const STEP_IMPL: Record<StepName, StepFn> = {
  record: stepRecord,
  fence: stepFence,
  stop: stepStop,
  'catch-up': stepCatchUp,
  promote: stepPromote,
  label: stepLabel,
  rejoin: stepRejoin,
  finish: stepFinish,
};

async function stepRecord(ctx: FailoverContext, op: FailoverOperation): Promise<void> {
  if (op.kind === 'switchover') {
    // A checkpoint now makes the shutdown checkpoint (inside the write pause) short.
    await psql(ctx, op.oldPrimary, 'CHECKPOINT', 60_000).catch((err: Error) =>
      emit(ctx, { type: 'warn', message: `CHECKPOINT on ${op.oldPrimary}: ${err.message}` }),
    );
  }
  await updateRecord(ctx, (r) => ({ ...r, primary: op.newPrimary }));
}

async function stepFence(ctx: FailoverContext, op: FailoverOperation): Promise<void> {
  await setRole(ctx, op.oldPrimary, 'replica');
  // Nothing but the new primary, later, may carry the primary label.
  const pods = await listPods(ctx);
  for (const [name, p] of pods) {
    if (name !== op.oldPrimary && p.metadata?.labels?.['kubedb.com/role'] === 'primary') {
      await setRole(ctx, name, 'replica');
    }
  }
}

async function stepStop(
  ctx: FailoverContext,
  op: FailoverOperation,
  s: StepSettings,
): Promise<Patch> {
  const earlier =
    op.graceful !== undefined ? { graceful: op.graceful, ...lsnOf(op.stopLsn) } : undefined;
  const r = await stopOldPrimary(ctx, {
    pod: op.oldPrimary,
    ...(op.oldUid ? { oldUid: op.oldUid } : {}),
    health: op.plan.oldPrimaryHealth,
    stopTimeoutS: s.stopTimeoutS,
    deleteTimeoutMs: s.timeoutMs,
    ...(earlier ? { earlier } : {}),
    beforeStop: async (lsn) => {
      op = { ...op, graceful: true, stopLsn: formatLsn(lsn) };
      await persist(ctx, op);
    },
  });
  return {
    graceful: r.graceful,
    ...(r.stopLsn !== undefined ? { stopLsn: formatLsn(r.stopLsn) } : {}),
  };
}

function lsnOf(text: string | undefined): { stopLsn?: Lsn } {
  const l = parseLsn(text);
  return l === undefined ? {} : { stopLsn: l };
}

async function stepCatchUp(
  ctx: FailoverContext,
  op: FailoverOperation,
  s: StepSettings,
  out: StepOutcome,
): Promise<Patch> {
  if (op.graceful && op.stopLsn) return waitForShutdownCheckpoint(ctx, op, s);
  return chooseAfterKill(ctx, op, s, out);
}

/**
 * After a clean shutdown the old primary's last WAL record is its shutdown
 * checkpoint. Once the target's WAL ends with that record (at or after the
 * LSN read just before the shutdown) and it has replayed it, the target holds
 * everything the old primary ever wrote.
 */
async function waitForShutdownCheckpoint(
  ctx: FailoverContext,
  op: FailoverOperation,
  s: StepSettings,
): Promise<Patch> {
  const stopLsn = parseLsn(op.stopLsn) ?? 0n;
  const deadline = ctx.clock.now() + s.timeoutMs;
  let last: MemberState | undefined;
  for (;;) {
    last = await observeOne(ctx, op.newPrimary, { waldump: true, timeoutMs: 5_000 });
    const rec = last.lastRecord;
    const has = rec !== undefined && rec.kind === 'CHECKPOINT_SHUTDOWN' && rec.lsn >= stopLsn;
    const replayed =
      !last.accepts ||
      (last.replayLsn !== undefined && rec !== undefined && last.replayLsn > rec.lsn);
    const promoted = last.accepts && last.inRecovery === false;
    if ((has && replayed) || promoted) {
      return rec ? { forkLsn: formatLsn(rec.end) } : {};
    }
    if (ctx.clock.now() > deadline) break;
    await ctx.clock.sleep(50, ctx.signal);
  }
  const rec = last?.lastRecord;
  throw new FailoverStepError(
    'catch-up',
    `${op.newPrimary} did not receive the old primary's shutdown checkpoint (at or after ${op.stopLsn}) within ${s.timeoutMs / 1000}s; its last record: ${rec ? `${rec.kind} at ${formatLsn(rec.lsn)}` : 'unknown'}`,
  );
}

/**
 * After a kill nothing more can be written anywhere: measure again and keep
 * the most advanced standby (the highest flushed one in synchronous mode),
 * unless the user pinned the target with --to.
 */
async function chooseAfterKill(
  ctx: FailoverContext,
  op: FailoverOperation,
  s: StepSettings,
  out: StepOutcome,
): Promise<Patch> {
  const members = (await observe(ctx)).filter((m) => m.pod !== op.oldPrimary);
  const best = maxLsn(...members.map((m) => m.receiveLsn));
  const ranked = rankCandidates(members, best);
  let target = op.newPrimary;
  const top = ranked[0];
  const current = ranked.find((c) => c.pod === target);
  if (
    !s.pinned &&
    top?.eligible &&
    top.pod !== target &&
    (top.receiveLsn ?? 0n) > (current?.receiveLsn ?? -1n)
  ) {
    emit(ctx, {
      type: 'info',
      message: `${top.pod} is now more advanced than ${target}: promoting it instead`,
    });
    target = top.pod;
    await updateRecord(ctx, (r) => ({ ...r, primary: target }));
  }
  const chosen = members.find((m) => m.pod === target);
  if (!chosen?.probed || !chosen.postmaster) {
    throw new FailoverStepError(
      'catch-up',
      `${target} is not running (${chosen?.probeError ?? 'no postmaster'})`,
    );
  }
  // The old pod restarts while the target replays: both waits run at once.
  const [, salvaged] = await Promise.all([
    waitReplayed(ctx, target, chosen.receiveLsn, s),
    s.synchronous ? Promise.resolve<Patch>({}) : salvage(ctx, op, s, chosen),
  ]);
  if (salvaged.salvageFailed)
    out.warnings.push(lossWarning(op, chosen.pod, salvaged.salvageFailed));
  const fork = maxLsn(chosen.receiveLsn, parseLsn(salvaged.salvageEnd));
  const ahead = members
    .filter(
      (m) =>
        m.pod !== target && fork !== undefined && m.receiveLsn !== undefined && m.receiveLsn > fork,
    )
    .map((m) => m.pod);
  const lost = best !== undefined && fork !== undefined ? lsnDistance(best, fork) : 0n;
  return {
    newPrimary: target,
    ...(fork !== undefined ? { forkLsn: formatLsn(fork) } : {}),
    restartStandbys: ahead,
    lostBytes: String(lost),
    ...salvaged,
  };
}

/**
 * Asynchronous: the old primary may have acknowledged commits it never sent.
 * They are copied from its volume into the target; when that cannot be done
 * kpg refuses (the step fails and the operation is rolled back) unless --force.
 */
async function salvage(
  ctx: FailoverContext,
  op: FailoverOperation,
  s: StepSettings,
  target: MemberState,
): Promise<Patch> {
  const r =
    target.receiveLsn !== undefined
      ? await salvageWal(ctx, {
          oldPrimary: op.oldPrimary,
          ...(op.oldUid ? { oldUid: op.oldUid } : {}),
          target: target.pod,
          targetLsn: target.receiveLsn,
          timeoutMs: s.salvageTimeoutMs,
        })
      : { ok: false as const, reason: `${target.pod}'s WAL position is unknown` };
  if (r.ok) return { salvageEnd: formatLsn(r.end), salvagedBytes: String(r.copiedBytes) };
  if (!s.force) {
    throw new FailoverStepError('catch-up', lossWarning(op, target.pod, r.reason), {
      suggestions: [
        `bring ${op.oldPrimary}'s pod and volume back and run kpg failover again`,
        '--force fails over without its WAL, accepting that loss',
      ],
    });
  }
  emit(ctx, { type: 'warn', message: `--force: ${lossWarning(op, target.pod, r.reason)}` });
  return { salvageFailed: r.reason };
}

function lossWarning(op: FailoverOperation, target: string, reason: string): string {
  return `${reason}: commits ${op.oldPrimary} acknowledged but had not sent to ${target} would be lost (asynchronous replication; how many is unknown)`;
}

async function waitReplayed(
  ctx: FailoverContext,
  pod: string,
  upTo: Lsn | undefined,
  s: StepSettings,
): Promise<void> {
  if (upTo === undefined) return;
  const deadline = ctx.clock.now() + Math.min(s.timeoutMs, 15_000);
  for (;;) {
    const m = await observeOne(ctx, pod, { timeoutMs: 5_000 });
    // A warm standby replays all it has when promoted; a hot one is watched.
    if (!m.accepts || m.inRecovery === false || (m.replayLsn !== undefined && m.replayLsn >= upTo))
      return;
    if (ctx.clock.now() > deadline) {
      emit(ctx, {
        type: 'warn',
        message: `${pod} has not replayed up to ${formatLsn(upTo)} yet: promotion replays the rest`,
      });
      return;
    }
    await ctx.clock.sleep(50, ctx.signal);
  }
}

async function stepPromote(
  ctx: FailoverContext,
  op: FailoverOperation,
  s: StepSettings,
): Promise<Patch> {
  const p = await promote(ctx, op.newPrimary, s.timeoutMs);
  const salvaged = parseLsn(op.salvageEnd);
  if (salvaged !== undefined && p.switchLsn !== undefined && p.switchLsn < salvaged) {
    // Should not happen (a standby replays its pg_wal before it leaves recovery); say so loudly.
    const lost = lsnDistance(salvaged, p.switchLsn);
    emit(ctx, {
      type: 'warn',
      message: `${op.newPrimary} left recovery at ${formatLsn(p.switchLsn)}, before the end of the copied WAL ${formatLsn(salvaged)}: up to ${lost} bytes of acknowledged commits are not on the new timeline (the old primary's volume still has them until it rejoins)`,
    });
    return {
      timeline: p.timeline,
      promotedLsn: formatLsn(p.lsn),
      lostBytes: String(lost),
    };
  }
  return { timeline: p.timeline, promotedLsn: formatLsn(p.lsn) };
}

async function stepLabel(ctx: FailoverContext, op: FailoverOperation): Promise<void> {
  if (!(await setRole(ctx, op.newPrimary, 'primary'))) {
    throw new FailoverStepError('label', `the new primary's pod ${op.newPrimary} is gone`);
  }
}

async function stepRejoin(
  ctx: FailoverContext,
  op: FailoverOperation,
  s: StepSettings,
  out: StepOutcome,
): Promise<void> {
  const pods = await listPods(ctx);
  const restart = new Set<string>(op.restartStandbys ?? []);
  const old = pods.get(op.oldPrimary);
  const oldRunning = old?.status?.containerStatuses?.some(
    (c) => c.name === 'postgres' && c.state?.running,
  );
  // A stopped old primary may wait out a restart back-off: a new pod starts at once.
  if (old && !oldRunning) restart.add(op.oldPrimary);
  for (const pod of restart) {
    emit(ctx, {
      type: 'info',
      message: `restarting ${pod} so that it rejoins (pg_rewind when needed)`,
    });
    await ctx.kube.delete('Pod', ctx.namespace, pod, {
      gracePeriodSeconds: 10,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
  }
  const others = [...new Set([...pods.keys(), op.oldPrimary])]
    .filter((p) => p !== op.newPrimary)
    .sort();
  const rejoined = await waitStreaming(ctx, op.newPrimary, others, s.rejoinTimeoutMs);
  out.rejoined = rejoined;
  out.notRejoined = others.filter((p) => !rejoined.includes(p));
  if (out.notRejoined.length > 0) {
    // What the cluster says keeps them from coming back (an image, a crash loop…).
    const why = await readBlockers(ctx.kube, {
      ns: ctx.namespace,
      name: ctx.cluster,
      onlyPods: out.notRejoined,
    })
      .then((bs) => bs.map(blockerLine))
      .catch(() => []);
    const msg = `not streaming from ${op.newPrimary} after ${s.rejoinTimeoutMs / 1000}s: ${out.notRejoined.join(', ')} (they keep trying; see kpg describe)${why.length ? `; ${why.join('; ')}` : ''}`;
    out.warnings.push(msg);
    emit(ctx, { type: 'warn', message: msg });
  }
}

async function stepFinish(ctx: FailoverContext, op: FailoverOperation): Promise<void> {
  await updateRecord(ctx, (r) => {
    return {
      ...withoutOperation(r),
      primary: op.newPrimary,
      timeline: op.timeline ?? r.timeline,
      history: [
        ...r.history,
        {
          time: new Date(ctx.clock.now()).toISOString(),
          reason: op.kind,
          oldPrimary: op.oldPrimary,
          newPrimary: op.newPrimary,
          timeline: op.timeline ?? r.timeline,
          ...(op.promotedLsn ? { lsn: op.promotedLsn } : {}),
        },
      ],
    };
  });
}

/**
 * kpg failover on a cluster whose pods run the in-pod agent: the agents are
 * the one authority over the primary, so kpg does not stop, promote or label
 * anything itself. A switchover becomes a request written into the Lease
 * NAME-primary (target, and the holder meant to carry it out: a
 * compare-and-swap on the version that holder renewed); the holder's agent
 * shuts postgres down fast, waits for the target to confirm the shutdown
 * checkpoint, and hands the lease over, and the target's agent promotes
 * itself. A primary that is down is the agents' own business: kpg refuses
 * and says where to look.
 */
import { ROLE_LABEL } from '../render/labels.js';
import type { LeaseObject } from '../kube/types.js';
import { podOfHolder } from '../ha/identity.js';
import { LeaseAnnotation, leaseName, snapshotOf, type LeaseSnapshot } from '../ha/lease-record.js';
import { emit, type FailoverContext } from './context.js';
import { FailoverRefusedError, FailoverStepError } from './errors.js';
import { listPods } from './observe.js';
import { readRecord } from './store.js';
import type { Plan } from './types.js';

const LEASE = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' } as const;
const POLL_MS = 200;

/** The agents' Lease, when the cluster runs them. */
export async function agentLease(ctx: FailoverContext): Promise<LeaseSnapshot | undefined> {
  const lease = await ctx.kube.find<LeaseObject>(LEASE, ctx.namespace, leaseName(ctx.cluster));
  return lease ? snapshotOf(lease) : undefined;
}

/** Throws unless `plan` is something the agents can be asked for. */
export function checkAgentPlan(ctx: FailoverContext, plan: Plan, lease: LeaseSnapshot): void {
  if (plan.kind !== 'switchover') {
    throw new FailoverRefusedError(
      `${ctx.cluster}'s pods run the in-pod agent, which fails over a primary that is down by itself; kpg failover only asks it for switchovers (the primary ${plan.oldPrimary} is ${plan.oldPrimaryHealth})`,
      {
        reason: 'other',
        suggestions: [
          `kpg describe ${ctx.cluster} -n ${ctx.namespace} shows the lease holder and why no standby took over`,
          `kubectl get events -n ${ctx.namespace} --field-selector reason=FailoverRefused`,
        ],
      },
    );
  }
  const holder = lease.holder ? podOfHolder(lease.holder) : undefined;
  if (holder !== plan.oldPrimary) {
    throw new FailoverRefusedError(
      `the lease ${leaseName(ctx.cluster)} is held by ${holder ?? 'nobody'}, not by the primary ${plan.oldPrimary}: the agents are changing the primary now; try again shortly`,
      { reason: 'other' },
    );
  }
}

/**
 * Writes the request over the version observed (409: the holder renewed in
 * between; the request is written again over the new version as long as the
 * same incarnation holds the lease).
 */
async function request(ctx: FailoverContext, target: string, holder: string): Promise<void> {
  await ctx.kube.mutate<LeaseObject>(LEASE, ctx.namespace, leaseName(ctx.cluster), (lease) => {
    if (lease.spec?.holderIdentity !== holder) {
      throw new FailoverRefusedError(
        `the lease ${leaseName(ctx.cluster)} changed hands while kpg asked for the switchover: nothing was asked; try again`,
        { reason: 'other' },
      );
    }
    const a = (lease.metadata ??= {}).annotations ?? {};
    a[LeaseAnnotation.switchoverTo] = target;
    a[LeaseAnnotation.switchoverFrom] = holder;
    delete a[LeaseAnnotation.switchoverRefused];
    lease.metadata.annotations = a;
    return lease;
  });
}

/** Withdraws a request still pending (the wait timed out or was interrupted). */
async function withdraw(ctx: FailoverContext, holder: string): Promise<void> {
  await ctx.kube.mutate<LeaseObject>(LEASE, ctx.namespace, leaseName(ctx.cluster), (lease) => {
    const a = lease.metadata?.annotations ?? {};
    if (a[LeaseAnnotation.switchoverFrom] !== holder) return lease;
    delete a[LeaseAnnotation.switchoverTo];
    delete a[LeaseAnnotation.switchoverFrom];
    return lease;
  });
}

export interface AgentSwitchover {
  /** Asked until the new primary was labelled (ms). */
  handedOverMs: number;
  timeline?: number;
}

/** Asks the holder's agent for the switchover and waits until the target is the labelled primary. */
export async function switchoverByAgents(
  ctx: FailoverContext,
  plan: Plan,
  lease: LeaseSnapshot,
  timeoutMs: number,
): Promise<AgentSwitchover> {
  const holder = lease.holder ?? '';
  const t0 = ctx.clock.now();
  await request(ctx, plan.target, holder);
  emit(ctx, {
    type: 'info',
    message: `asked ${plan.oldPrimary}'s agent (lease ${leaseName(ctx.cluster)}) to hand the primary over to ${plan.target}`,
  });
  const deadline = t0 + timeoutMs;
  try {
    for (;;) {
      const now = await agentLease(ctx);
      const outcome = await settled(ctx, plan, holder, now);
      if (outcome === 'done') {
        const record = await readRecord(ctx);
        return { handedOverMs: ctx.clock.now() - t0, timeline: record.timeline };
      }
      if (ctx.clock.now() > deadline) {
        await withdraw(ctx, holder).catch(() => undefined);
        throw new FailoverStepError(
          'handover',
          `${plan.target} was not the labelled primary within ${timeoutMs / 1000}s of the request (lease holder: ${now?.holder ? podOfHolder(now.holder) : 'nobody'}); a request still pending was withdrawn`,
          { suggestions: [`kpg describe ${ctx.cluster} -n ${ctx.namespace}`] },
        );
      }
      await ctx.clock.sleep(POLL_MS, ctx.signal);
    }
  } catch (err) {
    if (ctx.signal?.aborted) await withdraw(ctx, holder).catch(() => undefined);
    throw err;
  }
}

/** 'done' once the target holds the lease, the record names it and its pod is labelled primary. */
async function settled(
  ctx: FailoverContext,
  plan: Plan,
  holder: string,
  lease: LeaseSnapshot | undefined,
): Promise<'done' | 'pending'> {
  if (lease?.switchoverRefused && !lease.switchover && lease.holder === holder) {
    throw new FailoverRefusedError(
      `${plan.oldPrimary}'s agent did not hand over: ${lease.switchoverRefused}`,
      {
        reason: 'other',
        suggestions: [
          `${plan.oldPrimary} is the primary again; nothing acknowledged was lost`,
          `kubectl get events -n ${ctx.namespace} --field-selector reason=FailoverRefused`,
        ],
      },
    );
  }
  const held = lease?.holder ? podOfHolder(lease.holder) : undefined;
  if (held !== plan.target) {
    if (held !== undefined && held !== plan.oldPrimary) {
      throw new FailoverStepError(
        'handover',
        `${held} took the lease instead of ${plan.target}; the agents chose it (see kpg describe)`,
      );
    }
    return 'pending';
  }
  const record = await readRecord(ctx);
  if (record.primary !== plan.target) return 'pending';
  const pod = (await listPods(ctx)).get(plan.target);
  return pod?.metadata?.labels?.[ROLE_LABEL] === 'primary' ? 'done' : 'pending';
}

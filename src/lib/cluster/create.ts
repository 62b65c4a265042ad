/**
 * `kpg create`: which objects to create and which to apply (a pure plan), and
 * carrying it out. The record and the create-only objects (the generated
 * Secret) are created only when absent and never re-applied; everything else
 * is server-side applied, so re-running on a half-created cluster converges.
 * A cluster whose StatefulSet already exists is refused: that is `kpg apply`.
 */
import { ConflictError } from '../errors.js';
import { AlreadyExistsError, type AccessCheck, type Kube } from '../kube/index.js';
import { accessCheck, RESOURCES } from './access.js';
import type { PostgresCluster } from '../manifest/types.js';
import {
  allObjects,
  isCreateOnly,
  objectNames,
  renderCluster,
  type KubeObject,
  type RenderOptions,
  type RenderResult,
} from '../render/index.js';

export type StepAction = 'create' | 'apply' | 'skip';

export interface PlanStep {
  object: KubeObject;
  action: StepAction;
  /** Why it is skipped, e.g. "exists". */
  note?: string;
}

/** What exists in the cluster already, by "Kind/name". */
export interface Existing {
  has(kindName: string): boolean;
}

export interface CreatePlan {
  name: string;
  namespace: string;
  steps: PlanStep[];
  /** Set when creation is refused (the cluster exists). */
  refused?: string;
  /** True when some objects already existed (a half-created cluster). */
  resuming: boolean;
}

export const key = (o: Pick<KubeObject, 'kind' | 'metadata'>) => `${o.kind}/${o.metadata.name}`;

/** Objects whose existence matters to the plan: the StatefulSet, the record, the create-only ones. */
export function probedObjects(r: RenderResult): KubeObject[] {
  return allObjects(r).filter((o) => o === r.record || isCreateOnly(o) || o.kind === 'StatefulSet');
}

export function planCreate(r: RenderResult, existing: Existing): CreatePlan {
  const sts = r.objects.find((o) => o.kind === 'StatefulSet');
  const name = sts?.metadata.name ?? r.record.metadata.name.replace(/-kpg$/, '');
  const namespace = r.record.metadata.namespace ?? 'default';
  const plan: CreatePlan = { name, namespace, steps: [], resuming: false };
  if (sts && existing.has(key(sts))) {
    plan.refused = existing.has(key(r.record))
      ? `postgres "${name}" already exists in namespace ${namespace}`
      : `StatefulSet ${namespace}/${name} already exists, without a cluster record (${objectNames(name).record})`;
    return plan;
  }
  for (const o of allObjects(r)) {
    if (o === r.record || isCreateOnly(o)) {
      const there = existing.has(key(o));
      if (there) plan.resuming = true;
      plan.steps.push(
        there ? { object: o, action: 'skip', note: 'exists' } : { object: o, action: 'create' },
      );
    } else plan.steps.push({ object: o, action: 'apply' });
  }
  return plan;
}

/**
 * Every permission the plan needs: create for what is created, create and
 * patch for what is server-side applied, and what the wait after it uses.
 * The pods' Role grants get/patch on pods, which RBAC lets only a holder grant.
 */
export function createAccessChecks(plan: CreatePlan): AccessCheck[] {
  const checks = new Map<string, AccessCheck>();
  const add = (c: AccessCheck) => checks.set(JSON.stringify(c), c);
  for (const step of plan.steps) {
    const r = RESOURCES[step.object.kind];
    if (!r || step.action === 'skip') continue;
    add(accessCheck('create', r[0], r[1]));
    if (step.action === 'apply') add(accessCheck('patch', r[0], r[1]));
  }
  for (const verb of ['get', 'list', 'patch']) add(accessCheck(verb, '', 'pods'));
  add(accessCheck('create', '', 'pods', 'exec'));
  return [...checks.values()];
}

export interface CreateRun {
  dryRun?: 'server';
  /** Called after each step (progress). */
  onStep?: (step: PlanStep, ms: number) => void;
  signal?: AbortSignal;
}

/** Looks up what exists of the objects the plan depends on. */
export async function existingObjects(kube: Kube, r: RenderResult): Promise<Set<string>> {
  const found = await Promise.all(
    probedObjects(r).map(async (o) =>
      (await kube.find(
        { apiVersion: o.apiVersion, kind: o.kind },
        o.metadata.namespace,
        o.metadata.name,
      ))
        ? key(o)
        : undefined,
    ),
  );
  return new Set(found.filter((k): k is string => k !== undefined));
}

export async function executePlan(
  kube: Kube,
  plan: CreatePlan,
  run: CreateRun = {},
): Promise<void> {
  for (const step of plan.steps) {
    const started = Date.now();
    if (step.action === 'apply') {
      await kube.apply(step.object, {
        ...(run.dryRun ? { dryRun: 'server' } : {}),
        force: true,
        signal: run.signal,
      });
    } else if (step.action === 'create') {
      try {
        await kube.create(step.object, {
          ...(run.dryRun ? { dryRun: 'server' } : {}),
          signal: run.signal,
        });
      } catch (err) {
        // Created meanwhile (another kpg, or our own retried request): keep what is there.
        if (!(err instanceof AlreadyExistsError)) throw err;
        step.action = 'skip';
        step.note = 'exists';
      }
    }
    run.onStep?.(step, Date.now() - started);
  }
}

/** Renders, plans and refuses an existing cluster with a pointer to `kpg apply`. */
export async function prepareCreate(
  kube: Kube,
  c: PostgresCluster,
  namespace: string,
  how: { applyHint: string; render?: Pick<RenderOptions, 'agentBundle'> },
): Promise<CreatePlan> {
  const rendered = renderCluster(c, { ...how.render, namespace });
  const plan = planCreate(rendered, await existingObjects(kube, rendered));
  if (plan.refused) {
    throw new ConflictRefusal(`${plan.refused}; kpg create does not change a running cluster`, {
      suggestions: [
        `to change it, use: ${how.applyHint}`,
        `to look at it: kpg describe ${plan.name} -n ${plan.namespace}`,
      ],
    });
  }
  return plan;
}

/** `create` on an existing cluster (exit 6). */
export class ConflictRefusal extends ConflictError {}

/**
 * `kpg create`: which objects to create and which to apply (a pure plan), and
 * carrying it out. The record and the create-only objects (the generated
 * Secret) are created only when absent and never re-applied; everything else
 * is server-side applied, so re-running on a half-created cluster converges.
 * A cluster whose StatefulSet already exists is refused: that is `kpg apply`.
 */
import { ConflictError } from '../errors.js';
import { issueTls } from './tls.js';
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
  /**
   * The kpg cluster an existing object belongs to (its instance label, with
   * managed-by=kpg); '' when kpg did not make it. Absent: not looked at.
   */
  ownerOf?(kindName: string): string | undefined;
}

const MANAGED_BY = 'app.kubernetes.io/managed-by';
const INSTANCE = 'app.kubernetes.io/instance';

/** Existing objects by "Kind/name", with whose they are. */
export class ExistingObjects implements Existing {
  constructor(private readonly owners: ReadonlyMap<string, string>) {}
  has(kindName: string): boolean {
    return this.owners.has(kindName);
  }
  ownerOf(kindName: string): string | undefined {
    return this.owners.get(kindName);
  }
}

/** kpg's instance label of an object kpg made; '' for anyone else's. */
export function ownerOfLabels(labels: Record<string, string> | undefined): string {
  return labels?.[MANAGED_BY] === 'kpg' ? (labels[INSTANCE] ?? '') : '';
}

export interface CreatePlan {
  name: string;
  namespace: string;
  steps: PlanStep[];
  /** Set when creation is refused (the cluster exists). */
  refused?: string;
  /** Set when an object of the plan exists and is not this cluster's: nothing is taken over. */
  foreign?: string;
  /** True when some objects already existed (a half-created cluster). */
  resuming: boolean;
}

export const key = (o: Pick<KubeObject, 'kind' | 'metadata'>) => `${o.kind}/${o.metadata.name}`;

/**
 * Objects whose existence matters to the plan: every one, since an object
 * of the same name that is not this cluster's must not be taken over (a
 * cluster named `default` without the agent would apply over the
 * namespace's own ServiceAccount, and `kpg delete` would later delete it).
 */
export function probedObjects(r: RenderResult): KubeObject[] {
  return allObjects(r);
}

/** The first object of the plan that exists and is not this cluster's, said in a sentence. */
function foreignObject(
  r: RenderResult,
  existing: Existing,
  name: string,
  ns: string,
): string | undefined {
  for (const o of allObjects(r)) {
    const k = key(o);
    // A Secret NAME-auth the user made is used as it is, never written: nothing is taken over.
    if (!existing.has(k) || isCreateOnly(o)) continue;
    const owner = existing.ownerOf?.(k);
    if (owner === undefined || owner === name) continue;
    const what = `${o.kind} ${ns}/${o.metadata.name}`;
    return owner === ''
      ? `${what} exists and kpg did not make it (it has no label ${MANAGED_BY}=kpg)`
      : `${what} belongs to postgres "${owner}"`;
  }
  return undefined;
}

export function planCreate(r: RenderResult, existing: Existing): CreatePlan {
  const sts = r.objects.find((o) => o.kind === 'StatefulSet');
  const name = sts?.metadata.name ?? r.record.metadata.name.replace(/-kpg$/, '');
  const namespace = r.record.metadata.namespace ?? 'default';
  const plan: CreatePlan = { name, namespace, steps: [], resuming: false };
  const foreign = foreignObject(r, existing, name, namespace);
  if (foreign) {
    plan.foreign = foreign;
    return plan;
  }
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
    if (!r) continue;
    // Every object is looked up first (probedObjects): is it there, and whose?
    // By name: a Role may grant some of them only by name (examples/rbac: the Secret).
    add({ ...accessCheck('get', r[0], r[1]), name: step.object.metadata.name });
    if (step.action === 'skip') continue;
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
export async function existingObjects(kube: Kube, r: RenderResult): Promise<ExistingObjects> {
  const found = await Promise.all(
    probedObjects(r).map(async (o) => {
      const there = await kube.find(
        { apiVersion: o.apiVersion, kind: o.kind },
        o.metadata.namespace,
        o.metadata.name,
      );
      return there ? ([key(o), ownerOfLabels(there.metadata?.labels)] as const) : undefined;
    }),
  );
  return new ExistingObjects(new Map(found.filter((f) => f !== undefined)));
}

export async function executePlan(
  kube: Kube,
  plan: CreatePlan,
  run: CreateRun = {},
): Promise<void> {
  for (const step of plan.steps) {
    // Ctrl-C stops between two objects, never within one.
    run.signal?.throwIfAborted();
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
  // The certificate names the cluster's own namespace: the manifest's, else the command's.
  const tls = await issueTls(c, c.namespace ?? namespace);
  const rendered = renderCluster(c, { ...how.render, namespace, tls });
  const plan = planCreate(rendered, await existingObjects(kube, rendered));
  if (plan.foreign) {
    throw new ConflictRefusal(
      `${plan.foreign}: kpg create takes over no object it did not make, nor another cluster's; nothing was created`,
      {
        suggestions: [
          `choose another name for the cluster (metadata.name)`,
          `or, if that object is not needed, delete it first`,
        ],
      },
    );
  }
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

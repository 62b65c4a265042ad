/**
 * Carrying out an apply plan against the cluster: read what runs (the record
 * and the StatefulSet), check permissions up front, re-apply the rendered
 * objects, scale, roll the pods, and record the new spec. No printing:
 * progress goes to `onStep`.
 */
import { stringify } from 'yaml';
import { type AccessCheck, type Kube, type KubeObject as ApiObject } from '../kube/index.js';
import { NotFoundError, UnsafeStateError } from '../errors.js';
import { accessCheck as check, RESOURCES as GROUPS } from './access.js';
import { validateText } from '../manifest/index.js';
import type { PostgresCluster } from '../manifest/types.js';
import {
  isCreateOnly,
  objectNames,
  RECORD_LABEL,
  renderCluster,
  type KubeObject,
  type RenderOptions,
} from '../render/index.js';
import { AGENT_CONTAINER } from '../render/agent.js';
import { baseLabels } from '../render/labels.js';
import type { ApplyPlan } from './apply-plan.js';
import { parseRecord, serializeRecord, type ClusterRecord } from './record.js';
import { podIsReady, rollPods, type PodObject, type RolloutContext } from './rollout.js';
import { waitScaledDown, waitScaledUp } from './scale.js';
import { waitForCluster } from './wait.js';

interface ConfigMapObject extends ApiObject {
  data?: Record<string, string>;
}

export interface StatefulSetObject extends ApiObject {
  spec?: { replicas?: number; volumeClaimTemplates?: unknown[]; [k: string]: unknown };
}

/** The StatefulSet's pods run the in-pod agent (its native sidecar is in their template). */
export function runsAgent(sts: StatefulSetObject): boolean {
  const tpl = sts.spec?.template as { spec?: { initContainers?: { name?: string }[] } } | undefined;
  return tpl?.spec?.initContainers?.some((c) => c.name === AGENT_CONTAINER) ?? false;
}

/** The StatefulSet's pods serve TLS (their container is given the certificate's directory). */
export function runsTls(sts: StatefulSetObject): boolean {
  const tpl = sts.spec?.template as
    { spec?: { containers?: { name?: string; env?: { name?: string }[] }[] } } | undefined;
  const pg = tpl?.spec?.containers?.find((c) => c.name === 'postgres');
  return pg?.env?.some((e) => e.name === 'KPG_TLS_DIR') ?? false;
}

/** What runs now. */
export interface RunningCluster {
  namespace: string;
  record: ClusterRecord;
  /** The spec the cluster was created or last applied with. */
  old: PostgresCluster;
  statefulSet?: StatefulSetObject;
}

/** Reads the record and the StatefulSet; NotFoundError (exit 5) when the cluster does not exist. */
export async function readRunning(
  kube: Kube,
  namespace: string,
  name: string,
): Promise<RunningCluster> {
  const recordName = objectNames(name).record;
  const cm = await kube.find<ConfigMapObject>('ConfigMap', namespace, recordName);
  if (!cm) {
    throw new NotFoundError(
      `postgres "${name}" not found in namespace ${namespace} (no record ${recordName})`,
      {
        suggestions: [
          'kpg apply changes a running cluster: create it first with kpg create -f FILE',
        ],
      },
    );
  }
  const record = parseRecord(cm.data, name);
  const loaded = validateText(record.spec, `configmap/${recordName} (the applied spec)`);
  const old = loaded.clusters[0];
  if (!loaded.ok || !old) {
    throw new UnsafeStateError(
      `the spec in the record ${recordName} cannot be read: ${loaded.problems[0]?.message ?? 'no document'}`,
    );
  }
  const statefulSet = await kube.find<StatefulSetObject>('StatefulSet', namespace, name);
  return { namespace, record, old, ...(statefulSet ? { statefulSet } : {}) };
}

/** Everything the plan will do, as access checks. */
export function applyAccessChecks(
  plan: ApplyPlan,
  next: PostgresCluster,
  render: Pick<RenderOptions, 'agentBundle'> = {},
): AccessCheck[] {
  const checks: AccessCheck[] = [check('update', '', 'configmaps')];
  if (plan.changes.every((c) => c.effect === 'record') && !plan.scale && !plan.restart)
    return checks;
  const kinds = new Set(
    renderCluster(next, { ...render, namespace: plan.namespace })
      .objects.filter((o) => !isCreateOnly(o))
      .map((o) => o.kind),
  );
  for (const k of kinds) {
    const g = GROUPS[k];
    if (g) checks.push(check('patch', g[0], g[1]), check('create', g[0], g[1]));
  }
  // The pods' Role grants get/patch on pods: RBAC lets only a holder of those grant them.
  checks.push(check('get', '', 'pods'), check('patch', '', 'pods'));
  for (const o of plan.removeObjects) {
    const g = GROUPS[o.kind];
    if (g) checks.push(check('delete', g[0], g[1]));
  }
  if (plan.scale || plan.restart) {
    checks.push(check('list', '', 'pods'), check('create', '', 'pods', 'exec'));
  }
  if (plan.restart) checks.push(check('delete', '', 'pods'));
  return checks;
}

/** The StatefulSet to apply: OnDelete while kpg rolls the pods, claim templates as they are. */
function statefulSetFor(
  obj: KubeObject,
  live: StatefulSetObject | undefined,
  onDelete: boolean,
): KubeObject {
  const spec = { ...(obj['spec'] as Record<string, unknown>) };
  if (onDelete) spec['updateStrategy'] = { type: 'OnDelete' };
  // volumeClaimTemplates cannot change on a StatefulSet: keep the live ones (labels included).
  if (live?.spec?.volumeClaimTemplates)
    spec['volumeClaimTemplates'] = live.spec.volumeClaimTemplates;
  return { ...obj, spec };
}

export interface ApplyRun {
  ctx: RolloutContext;
  plan: ApplyPlan;
  next: PostgresCluster;
  running: RunningCluster;
  /** What rendering needs besides the spec (the in-pod agent's bundle). */
  render?: Pick<RenderOptions, 'agentBundle'>;
}

async function applyObjects(run: ApplyRun, onDelete: boolean): Promise<void> {
  const { ctx, next, running } = run;
  const objects = renderCluster(next, {
    ...run.render,
    namespace: running.namespace,
  }).objects.filter((o) => !isCreateOnly(o));
  for (const o of objects) {
    const body = o.kind === 'StatefulSet' ? statefulSetFor(o, running.statefulSet, onDelete) : o;
    await ctx.kube.apply(body, { force: true, ...(ctx.signal ? { signal: ctx.signal } : {}) });
  }
}

async function requireHealthyPrimary(ctx: RolloutContext): Promise<void> {
  const p = await ctx.kube.find<PodObject>('Pod', ctx.namespace, ctx.primary, ctx.signal);
  if (!podIsReady(p)) {
    throw new UnsafeStateError(
      `the primary ${ctx.primary} is not Ready: kpg apply does not scale or restart an unhealthy cluster; nothing was changed`,
      { suggestions: [`see kpg describe ${ctx.name} -n ${ctx.namespace}`] },
    );
  }
}

/** Writes the new spec into the record and bumps its generation (retried on conflict). */
export async function recordSpec(
  kube: Kube,
  namespace: string,
  next: PostgresCluster,
): Promise<number> {
  let generation = 0;
  await kube.mutate<ConfigMapObject>(
    'ConfigMap',
    namespace,
    objectNames(next.name).record,
    (cm) => {
      const r = parseRecord(cm.data, next.name);
      generation = r.generation + 1;
      cm.data = serializeRecord({
        ...r,
        spec: stringify(next.raw, { aliasDuplicateObjects: false }),
        generation,
      });
      cm.metadata = { ...cm.metadata, labels: { ...baseLabels(next), [RECORD_LABEL]: 'true' } };
      return cm;
    },
  );
  return generation;
}

/** Carries out the plan; returns the record's new generation. */
export async function executeApply(run: ApplyRun): Promise<number> {
  const { ctx, plan, next } = run;
  const touchesPods = plan.scale !== undefined || plan.restart !== undefined;
  if (touchesPods) await requireHealthyPrimary(ctx);
  const objectsChange = plan.changes.some((c) => c.effect !== 'record') || touchesPods;
  if (objectsChange) {
    ctx.onStep?.('applying the objects');
    await applyObjects(run, plan.restart !== undefined);
  }
  if (plan.scale) {
    await waitScaledDown(ctx, plan.scale);
    await waitScaledUp(ctx, plan.scale);
  }
  if (plan.restart) {
    try {
      await rollPods(ctx, plan.restart.order);
    } catch (err) {
      // Ctrl-C never leaves the StatefulSet OnDelete: its own strategy again,
      // so its controller finishes what kpg did not (a new request: the run's signal is aborted).
      if (ctx.signal?.aborted && next.updateStrategy.type !== 'OnDelete') {
        const unsignalled: RolloutContext = { ...ctx };
        delete unsignalled.signal;
        await applyObjects({ ...run, ctx: unsignalled }, false);
      }
      throw err;
    }
    if (next.updateStrategy.type !== 'OnDelete') await applyObjects(run, false);
  }
  for (const o of plan.removeObjects) {
    ctx.onStep?.(`removing ${o.kind} ${o.name}`);
    await ctx.kube.delete(o.kind, run.running.namespace, o.name);
  }
  if (touchesPods) {
    ctx.onStep?.('waiting for the primary to accept writes and every standby to stream');
    await waitForCluster(
      ctx.kube,
      { ns: ctx.namespace, name: next.name, replicas: next.replicas, primary: ctx.primary },
      {
        timeoutMs: ctx.timeoutMs,
        major: next.major,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      },
    );
  }
  return recordSpec(ctx.kube, run.running.namespace, next);
}

/**
 * Carrying out `kpg delete`: find everything kpg made for a cluster (by its
 * labels, plus the StatefulSet's claims data-NAME-N), read the policy from the
 * record, remove what the plan says in its order and wait until it is gone.
 * No printing: progress goes to `onStep`.
 */
import { parse } from 'yaml';
import type { AccessCheck, Kube, KubeObject } from '../kube/index.js';
import type { TerminationPolicy } from '../manifest/types.js';
import { TimeoutError } from '../errors.js';
import { backupCronJobName } from '../render/backup-job.js';
import { objectNames } from '../render/labels.js';
import { tlsSecretNames } from '../render/tls.js';
import { archiveLocation, describeLocation } from '../backup/location.js';
import { validateText } from '../manifest/index.js';
import { backupStorage } from '../render/storage.js';
import { purgeArchive } from './backup.js';
import { clusterSelector, isClaimOf, type DeletePlan, type ObjectRef } from './delete-plan.js';

/** The kinds kpg creates for a cluster, with their API group and plural (for access checks). */
export const CLUSTER_KINDS: { kind: string; group: string; resource: string }[] = [
  { kind: 'StatefulSet', group: 'apps', resource: 'statefulsets' },
  { kind: 'CronJob', group: 'batch', resource: 'cronjobs' },
  { kind: 'PodDisruptionBudget', group: 'policy', resource: 'poddisruptionbudgets' },
  { kind: 'NetworkPolicy', group: 'networking.k8s.io', resource: 'networkpolicies' },
  { kind: 'Pod', group: '', resource: 'pods' },
  { kind: 'Service', group: '', resource: 'services' },
  { kind: 'ConfigMap', group: '', resource: 'configmaps' },
  { kind: 'RoleBinding', group: 'rbac.authorization.k8s.io', resource: 'rolebindings' },
  { kind: 'Role', group: 'rbac.authorization.k8s.io', resource: 'roles' },
  { kind: 'ServiceAccount', group: '', resource: 'serviceaccounts' },
  { kind: 'PersistentVolumeClaim', group: '', resource: 'persistentvolumeclaims' },
  { kind: 'Secret', group: '', resource: 'secrets' },
  { kind: 'Lease', group: 'coordination.k8s.io', resource: 'leases' },
];

/** Kinds looked up by name instead of listed: reading every Secret of a namespace is not needed. */
const BY_NAME: Record<string, (name: string) => string[]> = {
  Secret: (name) => [objectNames(name).authSecret, ...Object.values(tlsSecretNames(name))],
  // spec.backupSchedule's; most clusters have none.
  CronJob: (name) => [backupCronJobName(name)],
  // kpg failover's lock and the in-pod agents' election; neither carries labels.
  Lease: (name) => [`${name}-failover`, `${name}-primary`],
};

export interface Inventory {
  found: ObjectRef[];
  recordFound: boolean;
  policy?: TerminationPolicy;
  /** The archive's place (describeLocation), when the applied spec has one. */
  archive?: string;
}

/** Where the applied spec (the record's) archives, if anywhere. */
function archiveOf(specYaml: string | undefined, namespace: string): string | undefined {
  if (!specYaml) return undefined;
  const c = validateText(specYaml, 'record').clusters[0];
  const storage = c && backupStorage(c);
  return storage && c ? describeLocation(archiveLocation(storage, namespace, c.name)) : undefined;
}

const POLICIES: TerminationPolicy[] = ['DoNotTerminate', 'Pause', 'Delete', 'WipeOut'];

/** terminationPolicy from the record's spec (YAML); undefined when unset or unreadable. */
export function policyFromSpec(specYaml: string | undefined): TerminationPolicy | undefined {
  if (!specYaml) return undefined;
  try {
    const doc = parse(specYaml) as { spec?: { terminationPolicy?: unknown } } | null;
    const p = doc?.spec?.terminationPolicy;
    return POLICIES.find((x) => x === p);
  } catch {
    // An unreadable spec gives no policy: Pause, which keeps the data, applies.
    return undefined;
  }
}

const refOf = (kind: string, o: KubeObject): ObjectRef => ({
  kind,
  name: o.metadata?.name ?? '',
  ...(o.metadata?.labels ? { labels: o.metadata.labels } : {}),
});

/** Lists everything of the cluster: labelled objects, and the claim-template PVCs by name. */
export async function takeInventory(
  kube: Kube,
  namespace: string,
  name: string,
): Promise<Inventory> {
  const labelSelector = clusterSelector(name);
  const lists = await Promise.all(
    CLUSTER_KINDS.map(async ({ kind }) => {
      const byName = BY_NAME[kind];
      if (byName) {
        const found = await Promise.all(byName(name).map((n) => kube.find(kind, namespace, n)));
        return found
          .filter(
            (o): o is KubeObject =>
              o !== undefined &&
              (kind === 'Lease' || o.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'kpg'),
          )
          .map((o) => refOf(kind, o));
      }
      const { items } = await kube.list(kind, { namespace, labelSelector });
      return items.map((o) => refOf(kind, o));
    }),
  );
  const found = lists.flat();
  const seen = new Set(found.map((o) => `${o.kind}/${o.name}`));
  const { items: pvcs } = await kube.list('PersistentVolumeClaim', { namespace });
  for (const p of pvcs) {
    const ref = refOf('PersistentVolumeClaim', p);
    if (isClaimOf(name, ref.name) && !seen.has(`PersistentVolumeClaim/${ref.name}`))
      found.push(ref);
  }
  const record = await kube.find<KubeObject & { data?: Record<string, string> }>(
    'ConfigMap',
    namespace,
    objectNames(name).record,
  );
  const policy = policyFromSpec(record?.data?.['spec']);
  const archive = archiveOf(record?.data?.['spec'], namespace);
  return {
    found,
    recordFound: record !== undefined,
    ...(policy ? { policy } : {}),
    ...(archive ? { archive } : {}),
  };
}

/** Access checks for the plan: delete on every kind it removes (list was needed to plan it). */
export function deleteAccessChecks(plan: DeletePlan): AccessCheck[] {
  const kinds = new Set(plan.remove.map((o) => o.kind));
  return CLUSTER_KINDS.filter((k) => kinds.has(k.kind)).flatMap((k) => {
    const check = { verb: 'delete', group: k.group, resource: k.resource };
    // Looked up by name, and a Role may grant them only by name (examples/rbac).
    if (!BY_NAME[k.kind]) return [check];
    return plan.remove.filter((o) => o.kind === k.kind).map((o) => ({ ...check, name: o.name }));
  });
}

export interface DeleteContext {
  kube: Kube;
  namespace: string;
  timeoutMs: number;
  onStep?: (line: string) => void;
  /** `Kind/name` of each object removed (or found gone). */
  onRemoved?: (object: string) => void;
  /** Ctrl-C: stop before the next object. */
  signal?: AbortSignal;
}

/** Removes the plan's objects in order; then, when asked, waits until all are gone. */
export async function executeDelete(
  ctx: DeleteContext,
  plan: DeletePlan,
  wait: boolean,
): Promise<void> {
  // While the pods run: the storage sidecar of one of them removes it.
  if (plan.archive?.remove) await removeArchive(ctx, plan);
  for (const o of plan.remove) {
    ctx.signal?.throwIfAborted();
    const r = await ctx.kube.delete(o.kind, ctx.namespace, o.name, {
      propagationPolicy: 'Background',
    });
    ctx.onStep?.(`${o.kind} ${o.name} ${r.deleted ? 'deleted' : 'already gone'}`);
    ctx.onRemoved?.(`${o.kind}/${o.name}`);
  }
  if (!wait || plan.remove.length === 0) return;
  ctx.onStep?.('waiting for the removed objects to be gone');
  await waitGone(ctx, plan);
}

async function waitGone(ctx: DeleteContext, plan: DeletePlan): Promise<void> {
  const byKind = new Map<string, Set<string>>();
  for (const o of plan.remove) {
    const s = byKind.get(o.kind) ?? new Set<string>();
    s.add(o.name);
    byKind.set(o.kind, s);
  }
  for (const [kind, names] of byKind) {
    if (BY_NAME[kind]) {
      for (const n of names) await pollGone(ctx, kind, n);
      continue;
    }
    await ctx.kube.waitFor(
      kind,
      ctx.namespace,
      { labelSelector: kind === 'PersistentVolumeClaim' ? undefined : clusterSelector(plan.name) },
      (items) => !items.some((i) => names.has(i.metadata?.name ?? '')),
      {
        timeoutMs: ctx.timeoutMs,
        description: `the ${kind} objects of ${plan.name} to be gone`,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      },
    );
  }
}

/**
 * Waits with `get` for an object looked up by name: watching would need
 * `list` and `watch`, which the minimal Role does not grant on Secrets and
 * Leases (and the access checks did not ask for).
 */
async function pollGone(ctx: DeleteContext, kind: string, name: string): Promise<void> {
  const { clock } = ctx.kube;
  const deadline = clock.now() + ctx.timeoutMs;
  while (await ctx.kube.find(kind, ctx.namespace, name)) {
    if (clock.now() > deadline) {
      throw new TimeoutError(
        `${kind} ${name} was not gone after ${Math.round(ctx.timeoutMs / 1000)}s`,
      );
    }
    await clock.sleep(250, ctx.signal);
  }
}

/** The archive goes first; a failure is said and the rest of the delete goes on. */
async function removeArchive(ctx: DeleteContext, plan: DeletePlan): Promise<void> {
  const where = plan.archive?.location ?? '';
  try {
    await purgeArchive(ctx.kube, { namespace: plan.namespace, name: plan.name }, ctx.signal);
    ctx.onStep?.(`removed the archive ${where}`);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    plan.notes.push(
      `the archive ${where} was not removed (${why}): remove it with the storage's own tools`,
    );
    ctx.onStep?.(`the archive ${where} was NOT removed: ${why}`);
  }
}

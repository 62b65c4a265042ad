/**
 * The plan of `kpg apply`: what changes between the spec a running cluster was
 * made from (the record) and a new manifest, what each change costs (nothing,
 * a re-applied object, a scale, a rolling restart) and what is refused because
 * it cannot change on a running cluster (as KubeDB's `edit` refuses it).
 * Pure: no I/O, no printing.
 */
import { jsonEqual } from '../kube/index.js';
import type { PostgresCluster } from '../manifest/types.js';
import { quantityValue } from '../manifest/quantity.js';
import { AGENT_ANNOTATION, agentEnabled } from '../render/agent.js';
import { TLS_ANNOTATION, tlsEnabled } from '../render/tls.js';
import { walSenders } from '../render/config.js';
import { isCreateOnly, renderCluster } from '../render/index.js';
import type { KubeObject, RenderOptions } from '../render/types.js';

/** What a changed field needs. */
export type Effect =
  /** Only the record changes (e.g. terminationPolicy). */
  | 'record'
  /** Objects are re-applied; the pods keep running (Services, PDB, StatefulSet metadata). */
  | 'objects'
  /** Pods are added or removed. */
  | 'scale'
  /** The pod template changes: every pod restarts, one at a time. */
  | 'restart';

export interface FieldChange {
  /** Manifest path, e.g. spec.podTemplate.spec.resources. */
  path: string;
  from: string;
  to: string;
  effect: Effect;
}

export interface Refusal {
  path: string;
  from: string;
  to: string;
  reason: string;
  /** What to do instead. */
  suggestion?: string;
}

export interface ScaleStep {
  from: number;
  to: number;
  /** Pods the StatefulSet adds (new standbys) or removes (highest ordinals). */
  added: string[];
  removed: string[];
  /** PVCs of removed pods: kept, as StatefulSets keep them. */
  keptClaims: string[];
}

export interface RestartStep {
  /** Pods to restart, in this order (the pods present after scaling, new ones excluded). */
  order: string[];
  /** The primary restarts first (a setting standbys must hold at least the primary's value decreases). */
  primaryFirst: boolean;
  why: string;
}

export interface ApplyPlan {
  name: string;
  namespace: string;
  primary: string;
  changes: FieldChange[];
  refusals: Refusal[];
  scale?: ScaleStep;
  restart?: RestartStep;
  /** Objects rendered for the old spec but not for the new one (e.g. the PDB at replicas 1). */
  removeObjects: { kind: string; name: string }[];
  /** Steps that remove pods or interrupt the primary: asked for on a terminal. */
  destructive: boolean;
  notes: string[];
}

export interface PlanInput {
  /** The spec the cluster runs, from its record. */
  old: PostgresCluster;
  /** The new, validated manifest. */
  next: PostgresCluster;
  /** The namespace the cluster lives in. */
  namespace: string;
  /** The pod the record names primary. */
  primary: string;
  /** The StatefulSet's live replicas, when it differs from the record's. */
  liveReplicas?: number;
  /** Whether the live pods run the in-pod agent (read from the StatefulSet), when known. */
  liveAgent?: boolean;
  /** Whether the live pods serve TLS (read from the StatefulSet), when known. */
  liveTls?: boolean;
  /** What rendering needs besides the spec (the in-pod agent's bundle, for clusters with the agent). */
  render?: Pick<RenderOptions, 'agentBundle'>;
}

const show = (v: unknown): string => {
  if (v === undefined) return '(unset)';
  if (typeof v === 'string') return v === '' ? '""' : v;
  return JSON.stringify(v);
};

/** One comparable field: where it is, how to read it, and what a change costs. */
interface Field {
  path: string;
  get: (c: PostgresCluster) => unknown;
  effect: Effect;
}

const pt = (k: keyof PostgresCluster['podTemplate']) => (c: PostgresCluster) => c.podTemplate[k];

/** Fields that may change, and their cost. Replicas are handled by the scale step. */
const MUTABLE: Field[] = [
  { path: 'metadata.labels', get: (c) => c.labels, effect: 'restart' },
  // kpg.io/network-policy and kpg.io/tls render objects (a template change restarts on its own).
  { path: 'metadata.annotations', get: (c) => c.annotations, effect: 'objects' },
  { path: 'spec.version', get: (c) => c.version, effect: 'restart' },
  { path: 'spec.standbyMode', get: (c) => c.standbyMode, effect: 'restart' },
  { path: 'spec.streamingMode', get: (c) => c.streamingMode, effect: 'restart' },
  { path: 'spec.configSource', get: (c) => c.configConfigMap, effect: 'restart' },
  { path: 'spec.podTemplate.metadata.labels', get: pt('labels'), effect: 'restart' },
  { path: 'spec.podTemplate.metadata.annotations', get: pt('annotations'), effect: 'restart' },
  { path: 'spec.podTemplate.spec.resources', get: pt('resources'), effect: 'restart' },
  { path: 'spec.podTemplate.spec.env', get: pt('env'), effect: 'restart' },
  { path: 'spec.podTemplate.spec.nodeSelector', get: pt('nodeSelector'), effect: 'restart' },
  { path: 'spec.podTemplate.spec.affinity', get: pt('affinity'), effect: 'restart' },
  { path: 'spec.podTemplate.spec.tolerations', get: pt('tolerations'), effect: 'restart' },
  {
    path: 'spec.podTemplate.spec.imagePullSecrets',
    get: pt('imagePullSecrets'),
    effect: 'restart',
  },
  { path: 'spec.podTemplate.spec.schedulerName', get: pt('schedulerName'), effect: 'restart' },
  {
    path: 'spec.podTemplate.spec.priorityClassName',
    get: pt('priorityClassName'),
    effect: 'restart',
  },
  { path: 'spec.podTemplate.controller', get: pt('controller'), effect: 'objects' },
  { path: 'spec.serviceTemplate', get: (c) => c.serviceTemplate, effect: 'objects' },
  { path: 'spec.updateStrategy', get: (c) => c.updateStrategy, effect: 'objects' },
  // The config (archive_mode) and the storage sidecar: the pods roll, standbys first.
  { path: 'spec.archiver', get: (c) => c.archiver, effect: 'restart' },
  { path: 'spec.backupSchedule', get: (c) => c.backupSchedule, effect: 'objects' },
  { path: 'spec.terminationPolicy', get: (c) => c.terminationPolicy, effect: 'record' },
  { path: 'spec.monitor', get: (c) => c.monitor, effect: 'record' },
];

const RECREATE = 'to change it, create a new cluster and move the data (pg_dump/pg_restore)';

/** Fields a running cluster cannot change: KubeDB's edit refuses them too. */
function refusals(old: PostgresCluster, next: PostgresCluster): Refusal[] {
  const out: Refusal[] = [];
  const refuse = (path: string, from: unknown, to: unknown, reason: string, suggestion?: string) =>
    out.push({
      path,
      from: show(from),
      to: show(to),
      reason,
      ...(suggestion ? { suggestion } : {}),
    });

  if (old.name !== next.name) {
    refuse(
      'metadata.name',
      old.name,
      next.name,
      'the name identifies the cluster and cannot change',
    );
  }
  if (old.namespace && next.namespace && old.namespace !== next.namespace) {
    refuse(
      'metadata.namespace',
      old.namespace,
      next.namespace,
      'a cluster cannot move to another namespace',
    );
  }
  if (old.major !== next.major) {
    refuse(
      'spec.version',
      old.version,
      next.version,
      `a major version upgrade (PostgreSQL ${old.major} → ${next.major}) changes the data directory format: the data needs pg_upgrade or a dump and restore`,
      RECREATE,
    );
  }
  if (old.storageType !== next.storageType) {
    refuse(
      'spec.storageType',
      old.storageType,
      next.storageType,
      'the kind of storage of running pods cannot change',
      RECREATE,
    );
  }
  storageRefusals(old, next, refuse);
  if (old.databaseSecretName !== next.databaseSecretName) {
    refuse(
      'spec.databaseSecret',
      old.databaseSecretName ?? '(generated)',
      next.databaseSecretName ?? '(generated)',
      'the database already holds the passwords of the current Secret; a different Secret would lock the pods out',
      'change the password inside the database and in the current Secret instead',
    );
  }
  if (old.initScriptConfigMap !== next.initScriptConfigMap) {
    refuse(
      'spec.init',
      old.initScriptConfigMap,
      next.initScriptConfigMap,
      'init scripts run once, when the cluster is first created',
      'run the SQL against the primary instead',
    );
  }
  if (JSON.stringify(old.restore) !== JSON.stringify(next.restore)) {
    refuse(
      'spec.init.postgresWAL',
      old.restore ? 'set' : '(none)',
      next.restore ? 'set' : '(none)',
      'a cluster is restored once, when it is first created',
      'restore into a new cluster: kpg create -f with spec.init.postgresWAL and another name',
    );
  }
  return out;
}

type RefuseFn = (
  path: string,
  from: unknown,
  to: unknown,
  reason: string,
  suggestion?: string,
) => void;

function storageRefusals(old: PostgresCluster, next: PostgresCluster, refuse: RefuseFn): void {
  const a = old.storage;
  const b = next.storage;
  if (!a || !b) return;
  if (a.storageClassName !== b.storageClassName) {
    refuse(
      'spec.storage.storageClassName',
      a.storageClassName ?? '(default)',
      b.storageClassName ?? '(default)',
      'the volumes already exist in their StorageClass; a PVC cannot move to another',
      RECREATE,
    );
  }
  if (!jsonEqual([...a.accessModes].sort(), [...b.accessModes].sort())) {
    refuse(
      'spec.storage.accessModes',
      a.accessModes,
      b.accessModes,
      'the access modes of existing volumes cannot change',
    );
  }
  const from = quantityValue(a.size);
  const to = quantityValue(b.size);
  if (from !== undefined && to !== undefined && to < from) {
    refuse(
      'spec.storage.resources.requests.storage',
      a.size,
      b.size,
      'a volume cannot shrink (Kubernetes refuses to decrease a PVC)',
    );
  } else if (from !== undefined && to !== undefined && to > from) {
    refuse(
      'spec.storage.resources.requests.storage',
      a.size,
      b.size,
      "kpg apply cannot grow volumes yet: the StatefulSet's volumeClaimTemplates cannot change",
      'expand each PVC data-NAME-N with kubectl patch (if its StorageClass allows volume expansion), then apply the new size',
    );
  }
}

function fieldChanges(old: PostgresCluster, next: PostgresCluster): FieldChange[] {
  const out: FieldChange[] = [];
  for (const f of MUTABLE) {
    const a = f.get(old);
    const b = f.get(next);
    if (jsonEqual(a ?? null, b ?? null)) continue;
    if (f.path === 'spec.version' && old.major !== next.major) continue;
    out.push({ path: f.path, from: show(a), to: show(b), effect: f.effect });
  }
  if (old.replicas !== next.replicas) {
    out.push({
      path: 'spec.replicas',
      from: String(old.replicas),
      to: String(next.replicas),
      effect: 'scale',
    });
  }
  return out;
}

/** Ordinal of a pod of the StatefulSet NAME, e.g. "pg-2" → 2; undefined if not one of its pods. */
export function ordinalOf(name: string, pod: string): number | undefined {
  const prefix = `${name}-`;
  if (!pod.startsWith(prefix)) return undefined;
  const rest = pod.slice(prefix.length);
  return /^\d+$/.test(rest) ? Number(rest) : undefined;
}

const podNames = (name: string, from: number, to: number): string[] =>
  Array.from({ length: Math.max(0, to - from) }, (_, i) => `${name}-${from + i}`);

/** The scale step, or a refusal when it would remove the primary. */
function scaleStep(input: PlanInput, from: number): { step?: ScaleStep; refusal?: Refusal } {
  const { next, primary } = input;
  const to = next.replicas;
  if (from === to) return {};
  const durable = next.storageType === 'Durable' && next.storage !== undefined;
  if (to > from) {
    return {
      step: { from, to, added: podNames(next.name, from, to), removed: [], keptClaims: [] },
    };
  }
  const removed = podNames(next.name, to, from);
  const ord = ordinalOf(next.name, primary);
  if (ord !== undefined && ord >= to) {
    const survivor = `${next.name}-0`;
    return {
      refusal: {
        path: 'spec.replicas',
        from: String(from),
        to: String(to),
        reason: `scaling down removes the highest ordinals (${removed.join(', ')}), and that includes the primary ${primary}`,
        suggestion: `move the primary to a pod that stays first: kpg failover ${next.name} --to ${survivor}, then apply again`,
      },
    };
  }
  const keptClaims = durable ? removed.map((p) => `data-${p}`) : [];
  return { step: { from, to, added: [], removed, keptClaims } };
}

type Extra = Pick<RenderOptions, 'agentBundle'> | undefined;

function statefulSetOf(c: PostgresCluster, namespace: string, extra: Extra): KubeObject {
  const sts = renderCluster(c, { ...extra, namespace }).objects.find(
    (o) => o.kind === 'StatefulSet',
  );
  if (!sts) throw new Error(`no StatefulSet rendered for ${c.name}`);
  return sts;
}

const templateOf = (sts: KubeObject): unknown =>
  (sts['spec'] as Record<string, unknown>)['template'];

/** Objects kind/name rendered for a spec, without the create-only Secret and the record. */
function renderedRefs(
  c: PostgresCluster,
  namespace: string,
  extra: Extra,
): { kind: string; name: string }[] {
  // Never removed by apply: the passwords and the CA the clients trust.
  return renderCluster(c, { ...extra, namespace })
    .objects.filter((o) => !isCreateOnly(o))
    .map((o) => ({ kind: o.kind, name: o.metadata.name }));
}

/** Why the pod template changes, for the plan. */
function restartCause(old: PostgresCluster, next: PostgresCluster): string {
  const fields = fieldChanges(old, next)
    .filter((c) => c.effect === 'restart')
    .map((c) => c.path);
  if (fields.length > 0) return `the pod template changes (${fields.join(', ')})`;
  return 'postgresql.conf changes with the number of replicas (max_wal_senders)';
}

function restartStep(input: PlanInput, podsAfter: number): RestartStep | undefined {
  const { old, next, namespace, primary, liveReplicas } = input;
  // The template as the pods run it: old spec, scaled as live (config depends on replicas).
  const before = templateOf(
    statefulSetOf({ ...old, replicas: liveReplicas ?? old.replicas }, namespace, input.render),
  );
  const after = templateOf(statefulSetOf(next, namespace, input.render));
  if (jsonEqual(before, after)) return undefined;
  const existing = podNames(next.name, 0, podsAfter);
  const standbys = existing.filter((p) => p !== primary).reverse();
  const hasPrimary = existing.includes(primary);
  // PostgreSQL refuses to start a hot standby whose max_wal_senders is below the primary's:
  // when it decreases, the primary must restart first.
  const primaryFirst =
    hasPrimary && walSenders(next.replicas) < walSenders(liveReplicas ?? old.replicas);
  const order = !hasPrimary
    ? standbys
    : primaryFirst
      ? [primary, ...standbys]
      : [...standbys, primary];
  const cause = restartCause(old, next);
  const why = primaryFirst
    ? `${cause}; max_wal_senders decreases (${walSenders(liveReplicas ?? old.replicas)} → ${walSenders(next.replicas)}) and a standby may not run with less than its primary, so the primary restarts first`
    : `${cause}; standbys first, the primary last`;
  return { order, primaryFirst, why };
}

/** A setting the running pods cannot switch: the annotation, what runs, the words of the refusal. */
interface Toggle {
  annotation: string;
  live: (i: PlanInput) => boolean | undefined;
  enabled: (c: PostgresCluster) => boolean;
  words: [on: string, off: string];
  reason: [turningOn: string, turningOff: string];
  suggestion: [turningOn: string, turningOff: string];
}

const TOGGLES: Toggle[] = [
  // Turning the in-pod agent on or off hands the authority over failover from
  // kpg failover to the agents or back while the pods run: not built. The
  // live StatefulSet decides what runs (a cluster created before the agent
  // became the default has no annotation and no agent).
  {
    annotation: AGENT_ANNOTATION,
    live: (i) => i.liveAgent,
    enabled: agentEnabled,
    words: ['agent', 'no agent'],
    reason: [
      'the pods run without the in-pod agent, and turning it on for a running cluster is not supported',
      'the pods run the in-pod agent, and turning it off for a running cluster is not supported',
    ],
    suggestion: [
      'keep kpg.io/agent: "false" in the manifest for this cluster, or recreate it (data kept with terminationPolicy Pause)',
      'remove kpg.io/agent: "false" from the manifest, or recreate the cluster',
    ],
  },
  // TLS cannot be rolled one pod at a time: a standby restarted first would
  // verify a primary that serves no TLS yet, a primary restarted first hands
  // over to a standby still without it. Recreating the cluster does it at once.
  {
    annotation: TLS_ANNOTATION,
    live: (i) => i.liveTls,
    enabled: tlsEnabled,
    words: ['TLS', 'no TLS'],
    reason: [
      'the pods run without TLS, and turning it on for a running cluster is not supported',
      'the pods serve TLS, and turning it off for a running cluster is not supported',
    ],
    suggestion: [
      'keep kpg.io/tls: "false" in the manifest for this cluster, or recreate it with TLS (kpg delete, then kpg create: data kept with terminationPolicy Pause)',
      'remove kpg.io/tls: "false" from the manifest, or recreate the cluster (data kept with terminationPolicy Pause)',
    ],
  },
];

function toggleRefusals(input: PlanInput): Refusal[] {
  return TOGGLES.flatMap((t) => {
    const before = t.live(input) ?? t.enabled(input.old);
    const after = t.enabled(input.next);
    if (before === after) return [];
    const k = after ? 0 : 1;
    return [
      {
        path: `metadata.annotations["${t.annotation}"]`,
        from: before ? t.words[0] : t.words[1],
        to: after ? t.words[0] : t.words[1],
        reason: t.reason[k],
        suggestion: t.suggestion[k],
      },
    ];
  });
}

/**
 * The plan of applying `next` to a cluster running `old`. Refusals mean
 * nothing may be changed at all.
 */
export function planApply(input: PlanInput): ApplyPlan {
  const { old, next, namespace, primary } = input;
  const from = input.liveReplicas ?? old.replicas;
  const refused = [...refusals(old, next), ...toggleRefusals(input)];
  const changes = fieldChanges(old, next);
  if (
    input.liveReplicas !== undefined &&
    input.liveReplicas !== old.replicas &&
    next.replicas === old.replicas
  ) {
    changes.push({
      path: 'spec.replicas',
      from: `${input.liveReplicas} (live)`,
      to: String(next.replicas),
      effect: 'scale',
    });
  }
  const { step: scale, refusal } = scaleStep(input, from);
  if (refusal) refused.push(refusal);
  const plan: ApplyPlan = {
    name: next.name,
    namespace,
    primary,
    changes,
    refusals: refused,
    removeObjects: [],
    destructive: false,
    notes: [],
  };
  if (refused.length > 0) return plan;
  if (scale) plan.scale = scale;

  const restart = restartStep(input, Math.min(from, next.replicas));
  if (restart && restart.order.includes(primary) && next.storageType === 'Ephemeral') {
    plan.refusals.push({
      path: 'spec',
      from: '',
      to: '',
      reason: `these changes restart every pod, and the primary ${primary} keeps its data in an emptyDir (storageType: Ephemeral): restarting it would lose the data`,
      suggestion: 'recreate the cluster with the new spec instead',
    });
    return plan;
  }
  if (restart) plan.restart = restart;

  const nextRefs = new Set(
    renderedRefs(next, namespace, input.render).map((r) => `${r.kind}/${r.name}`),
  );
  plan.removeObjects = renderedRefs({ ...old, replicas: from }, namespace, input.render).filter(
    (r) => !nextRefs.has(`${r.kind}/${r.name}`),
  );
  plan.destructive =
    (scale?.removed.length ?? 0) > 0 || (restart?.order.includes(primary) ?? false);
  plan.notes = planNotes(plan, next);
  return plan;
}

function planNotes(plan: ApplyPlan, next: PostgresCluster): string[] {
  const notes: string[] = [];
  if (plan.scale && plan.scale.keptClaims.length > 0) {
    notes.push(
      `the PVCs of removed pods are kept (${plan.scale.keptClaims.join(', ')}), as StatefulSets keep them: scaling up again reuses them; delete them with kubectl to free the space`,
    );
  }
  if (plan.restart?.order.includes(plan.primary)) {
    notes.push(
      `restarting the primary ${plan.primary} is a brief outage: writes fail until it is back (about as long as a PostgreSQL restart)`,
    );
  }
  if (plan.changes.some((c) => c.path === 'metadata.labels') && next.storageType === 'Durable') {
    notes.push('existing PVCs keep their labels (volume claim templates cannot change)');
  }
  return notes;
}

/** True when applying the plan would change anything. */
export function hasChanges(plan: ApplyPlan): boolean {
  return plan.changes.length > 0 || plan.scale !== undefined || plan.restart !== undefined;
}

/** The plan as lines for a person (no colour). */
export function formatApplyPlan(plan: ApplyPlan): string[] {
  const lines = [
    `postgres "${plan.name}" in namespace ${plan.namespace} (primary ${plan.primary}):`,
  ];
  if (plan.refusals.length > 0) {
    for (const r of plan.refusals) {
      const what = r.from || r.to ? `${r.path}: ${r.from} → ${r.to}` : r.path;
      lines.push(`  refused  ${what}: ${r.reason}`);
      if (r.suggestion) lines.push(`           ${r.suggestion}`);
    }
    return lines;
  }
  if (!hasChanges(plan)) return [...lines, '  no changes'];
  for (const c of plan.changes)
    lines.push(`  ${c.effect.padEnd(8)} ${c.path}: ${c.from} → ${c.to}`);
  if (plan.scale?.added.length)
    lines.push(`  add pods (new standbys): ${plan.scale.added.join(', ')}`);
  if (plan.scale?.removed.length) lines.push(`  remove pods: ${plan.scale.removed.join(', ')}`);
  for (const o of plan.removeObjects) lines.push(`  remove ${o.kind} ${o.name}`);
  if (plan.restart) {
    lines.push(
      `  rolling restart, one pod at a time (${plan.restart.why}): ${plan.restart.order.join(' → ')}`,
    );
  }
  for (const n of plan.notes) lines.push(`  note: ${n}`);
  return lines;
}

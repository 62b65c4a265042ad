/**
 * The plan of `kpg delete`: which of a cluster's objects go and which stay,
 * by its terminationPolicy (KubeDB's table): DoNotTerminate refuses; Pause
 * removes the workloads and keeps the data, the Secret and the record; Delete
 * also removes the data and the record; WipeOut removes everything. Unset is
 * Pause. Pure: no I/O, no printing.
 */
import type { TerminationPolicy } from '../manifest/types.js';
import { RECORD_LABEL, objectNames } from '../render/labels.js';

/** What an object is to the cluster, which decides its fate. */
export type Category = 'workload' | 'data' | 'secret' | 'record';

export interface ObjectRef {
  kind: string;
  name: string;
  labels?: Record<string, string>;
}

export interface Kept extends ObjectRef {
  why: string;
}

export interface DeletePlan {
  name: string;
  namespace: string;
  policy: TerminationPolicy;
  /** The policy came from the record (false: the record is missing, Pause assumed). */
  policyKnown: boolean;
  /** In deletion order. */
  remove: ObjectRef[];
  keep: Kept[];
  /** DoNotTerminate: why nothing may be removed. */
  refusal?: string;
  notes: string[];
  /** Why everything goes whatever the policy says (see DeleteInput.wipe). */
  wipe?: string;
  /** The WAL archive and base backups (spec.archiver, spec.backupSchedule): WipeOut removes them. */
  archive?: { location: string; remove: boolean };
}

/** Label selector of everything kpg made for the cluster (PVCs included: they inherit it). */
export function clusterSelector(name: string): string {
  return `kubedb.com/name=${name},app.kubernetes.io/managed-by=kpg`;
}

/** True for the PVCs of the StatefulSet's claim template: data-NAME-<ordinal>. */
export function isClaimOf(name: string, pvc: string): boolean {
  const prefix = `data-${name}-`;
  return pvc.startsWith(prefix) && /^\d+$/.test(pvc.slice(prefix.length));
}

export function categoryOf(name: string, o: ObjectRef): Category {
  if (o.kind === 'PersistentVolumeClaim') return 'data';
  if (o.kind === 'Secret') return 'secret';
  if (
    o.kind === 'ConfigMap' &&
    (o.name === objectNames(name).record || o.labels?.[RECORD_LABEL] === 'true')
  ) {
    return 'record';
  }
  return 'workload';
}

/** Which categories each policy removes. */
const REMOVES: Record<TerminationPolicy, Category[]> = {
  DoNotTerminate: [],
  Pause: ['workload'],
  Delete: ['workload', 'data', 'record'],
  WipeOut: ['workload', 'data', 'secret', 'record'],
};

const KEEP_WHY: Record<Category, string> = {
  workload: '',
  data: 'the data: `kpg create` with the same manifest resumes it',
  secret: 'the passwords the data was created with, and the CA its clients trust',
  record: 'the record names the primary, so a new `kpg create` resumes where it stopped',
};

/** Deletion order: the StatefulSet first (it would re-create pods), the record last. */
const ORDER = [
  'StatefulSet',
  'CronJob',
  'PodDisruptionBudget',
  'NetworkPolicy',
  'Pod',
  'Service',
  'ConfigMap',
  'RoleBinding',
  'Role',
  'ServiceAccount',
  'Lease',
  'PersistentVolumeClaim',
  'Secret',
];

function rank(name: string, o: ObjectRef): number {
  if (categoryOf(name, o) === 'record') return ORDER.length + 1;
  const i = ORDER.indexOf(o.kind);
  return i < 0 ? ORDER.length : i;
}

export interface DeleteInput {
  name: string;
  namespace: string;
  /** From the record's spec; undefined when the record is missing or names none. */
  policy?: TerminationPolicy;
  /** Whether the record exists. */
  recordFound: boolean;
  /** Everything found: labelled objects and the claim-template PVCs, without duplicates. */
  found: ObjectRef[];
  /**
   * Remove everything whatever the policy says (DoNotTerminate still
   * refuses): `--force`, or a dormant cluster deleted as such (drmn).
   */
  wipe?: string;
  /** Where the cluster's archive is (describeLocation), when it has one. */
  archive?: string;
}

export function planDelete(input: DeleteInput): DeletePlan {
  const { name, namespace, found } = input;
  const policy = input.policy ?? 'Pause';
  const plan: DeletePlan = {
    name,
    namespace,
    policy,
    policyKnown: input.recordFound,
    remove: [],
    keep: [],
    notes: [],
  };
  if (!input.recordFound) {
    plan.notes.push(
      `the record ${objectNames(name).record} is missing: terminationPolicy Pause assumed (the data is kept)`,
    );
  } else if (input.policy === undefined) {
    plan.notes.push('terminationPolicy is unset: Pause (the data is kept)');
  }
  if (policy === 'DoNotTerminate') {
    plan.refusal = `postgres "${name}" has terminationPolicy DoNotTerminate: nothing was deleted`;
    plan.keep = found.map((o) => ({ ...o, why: 'DoNotTerminate' }));
    return plan;
  }
  if (input.wipe) plan.wipe = input.wipe;
  const removes = input.wipe ? REMOVES.WipeOut : REMOVES[policy];
  // KubeDB: only WipeOut deletes the archived WAL and the backups.
  if (input.archive) plan.archive = { location: input.archive, remove: removes.includes('secret') };
  const sorted = [...found].sort(
    (a, b) => rank(name, a) - rank(name, b) || a.name.localeCompare(b.name),
  );
  for (const o of sorted) {
    const cat = categoryOf(name, o);
    if (removes.includes(cat)) plan.remove.push(o);
    else plan.keep.push({ ...o, why: KEEP_WHY[cat] });
  }
  return plan;
}

/** The plan as lines for a person (no colour). */
export function formatDeletePlan(plan: DeletePlan): string[] {
  const lines = [
    `postgres "${plan.name}" in namespace ${plan.namespace}, terminationPolicy ${plan.policy}${plan.wipe && !plan.refusal ? `, wiped (${plan.wipe})` : ''}:`,
  ];
  if (plan.refusal) return [...lines, `  refused: ${plan.refusal}`];
  if (plan.remove.length === 0) lines.push('  nothing to remove');
  for (const o of plan.remove) lines.push(`  remove ${o.kind} ${o.name}`);
  for (const o of plan.keep) lines.push(`  keep   ${o.kind} ${o.name} (${o.why})`);
  if (plan.archive) {
    lines.push(
      plan.archive.remove
        ? `  remove the archive ${plan.archive.location} (its WAL and base backups)`
        : `  keep   the archive ${plan.archive.location} (a new cluster restores from it: spec.init.postgresWAL)`,
    );
  }
  for (const n of plan.notes) lines.push(`  note: ${n}`);
  return lines;
}

/** True when the plan removes data (PVCs) or the Secret: asked for on a terminal. */
export function removesData(plan: DeletePlan): boolean {
  return (
    plan.archive?.remove === true ||
    plan.remove.some((o) => o.kind === 'PersistentVolumeClaim' || o.kind === 'Secret')
  );
}

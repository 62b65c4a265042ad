import { describe, expect, it } from 'vitest';
import { deleteAccessChecks, policyFromSpec } from '../../../src/lib/cluster/delete-exec.js';
import {
  categoryOf,
  clusterSelector,
  formatDeletePlan,
  isClaimOf,
  planDelete,
  removesData,
  type ObjectRef,
} from '../../../src/lib/cluster/delete-plan.js';
import type { TerminationPolicy } from '../../../src/lib/manifest/index.js';

/** Everything kpg makes for a 2-replica cluster "pg", in no particular order. */
const FOUND: ObjectRef[] = [
  { kind: 'Secret', name: 'pg-auth' },
  { kind: 'PersistentVolumeClaim', name: 'data-pg-0' },
  { kind: 'PersistentVolumeClaim', name: 'data-pg-1' },
  { kind: 'ConfigMap', name: 'pg-kpg', labels: { 'kpg.io/record': 'true' } },
  { kind: 'ConfigMap', name: 'pg-config' },
  { kind: 'Pod', name: 'pg-0' },
  { kind: 'Pod', name: 'pg-1' },
  { kind: 'Service', name: 'pg' },
  { kind: 'Service', name: 'pg-replicas' },
  { kind: 'Service', name: 'pg-pods' },
  { kind: 'ServiceAccount', name: 'pg' },
  { kind: 'Role', name: 'pg' },
  { kind: 'RoleBinding', name: 'pg' },
  { kind: 'PodDisruptionBudget', name: 'pg' },
  { kind: 'StatefulSet', name: 'pg' },
];

const WORKLOADS = [
  'StatefulSet/pg',
  'PodDisruptionBudget/pg',
  'Pod/pg-0',
  'Pod/pg-1',
  'Service/pg',
  'Service/pg-pods',
  'Service/pg-replicas',
  'ConfigMap/pg-config',
  'RoleBinding/pg',
  'Role/pg',
  'ServiceAccount/pg',
];

const refs = (os: ObjectRef[]) => os.map((o) => `${o.kind}/${o.name}`);

function plan(policy: TerminationPolicy | undefined, recordFound = true) {
  return planDelete({
    name: 'pg',
    namespace: 'demo',
    recordFound,
    found: FOUND,
    ...(policy ? { policy } : {}),
  });
}

describe('planDelete per terminationPolicy', () => {
  it('DoNotTerminate refuses and removes nothing', () => {
    const p = plan('DoNotTerminate');
    expect(p.refusal).toMatch(/DoNotTerminate/);
    expect(p.remove).toEqual([]);
    expect(p.keep).toHaveLength(FOUND.length);
    expect(formatDeletePlan(p).join('\n')).toMatch(/refused/);
  });

  it('Pause removes the workloads (StatefulSet first) and keeps PVCs, Secret and record', () => {
    const p = plan('Pause');
    expect(refs(p.remove)).toEqual(WORKLOADS);
    expect(refs(p.keep).sort()).toEqual(
      [
        'ConfigMap/pg-kpg',
        'PersistentVolumeClaim/data-pg-0',
        'PersistentVolumeClaim/data-pg-1',
        'Secret/pg-auth',
      ].sort(),
    );
    expect(removesData(p)).toBe(false);
    expect(p.keep.find((k) => k.name === 'pg-kpg')?.why).toMatch(/resumes/);
  });

  it('unset means Pause, and says so', () => {
    const p = plan(undefined);
    expect(p.policy).toBe('Pause');
    expect(refs(p.remove)).toEqual(WORKLOADS);
    expect(p.notes.join()).toMatch(/unset: Pause/);
  });

  it('a missing record means Pause too (data kept), and says so', () => {
    const p = plan('WipeOut', false);
    expect(p.policy).toBe('WipeOut'); // only if given; the command never passes one without a record
    const q = planDelete({ name: 'pg', namespace: 'demo', recordFound: false, found: FOUND });
    expect(q.policy).toBe('Pause');
    expect(q.policyKnown).toBe(false);
    expect(q.notes.join()).toMatch(/record pg-kpg is missing/);
  });

  it('Delete also removes the PVCs and the record (last), keeps the Secret', () => {
    const p = plan('Delete');
    expect(refs(p.remove)).toEqual([
      ...WORKLOADS,
      'PersistentVolumeClaim/data-pg-0',
      'PersistentVolumeClaim/data-pg-1',
      'ConfigMap/pg-kpg',
    ]);
    expect(refs(p.keep)).toEqual(['Secret/pg-auth']);
    expect(removesData(p)).toBe(true);
  });

  it('WipeOut removes everything, the Secret included, the record last', () => {
    const p = plan('WipeOut');
    expect(refs(p.remove)).toEqual([
      ...WORKLOADS,
      'PersistentVolumeClaim/data-pg-0',
      'PersistentVolumeClaim/data-pg-1',
      'Secret/pg-auth',
      'ConfigMap/pg-kpg',
    ]);
    expect(p.keep).toEqual([]);
    const text = formatDeletePlan(p).join('\n');
    expect(text).toMatch(/terminationPolicy WipeOut/);
    expect(text).toMatch(/remove Secret pg-auth/);
  });

  it('a wipe (--force, a dormant database) removes everything whatever the policy; DoNotTerminate still refuses', () => {
    const input = {
      name: 'pg',
      namespace: 'demo',
      recordFound: true,
      found: FOUND,
      wipe: '--force',
    };
    const p = planDelete({ ...input, policy: 'Pause' });
    expect(refs(p.remove)).toEqual(
      refs(planDelete({ ...input, policy: 'WipeOut', wipe: undefined }).remove),
    );
    expect(p.keep).toEqual([]);
    expect(formatDeletePlan(p)[0]).toMatch(/terminationPolicy Pause, wiped \(--force\):$/);
    const refused = planDelete({ ...input, policy: 'DoNotTerminate' });
    expect(refused.refusal).toMatch(/DoNotTerminate/);
    expect(refused.remove).toEqual([]);
    expect(formatDeletePlan(refused)[0]).not.toMatch(/wiped/);
  });

  it('nothing left to remove after a Pause is reported as such', () => {
    const kept = FOUND.filter(
      (o) => ['Secret', 'PersistentVolumeClaim'].includes(o.kind) || o.name === 'pg-kpg',
    );
    const p = planDelete({
      name: 'pg',
      namespace: 'demo',
      recordFound: true,
      policy: 'Pause',
      found: kept,
    });
    expect(p.remove).toEqual([]);
    expect(formatDeletePlan(p)).toContain('  nothing to remove');
  });
});

describe('what belongs to the cluster', () => {
  it('selects by kpg labels', () => {
    expect(clusterSelector('pg')).toBe('kubedb.com/name=pg,app.kubernetes.io/managed-by=kpg');
  });

  it('recognises the claim-template PVCs of this cluster only', () => {
    expect(isClaimOf('pg', 'data-pg-0')).toBe(true);
    expect(isClaimOf('pg', 'data-pg-17')).toBe(true);
    expect(isClaimOf('pg', 'data-pg-x-0')).toBe(false);
    expect(isClaimOf('pg', 'data-pgx-0')).toBe(false);
    expect(isClaimOf('pg', 'other-pg-0')).toBe(false);
  });

  it('categorises the record by name or label', () => {
    expect(categoryOf('pg', { kind: 'ConfigMap', name: 'pg-kpg' })).toBe('record');
    expect(
      categoryOf('pg', { kind: 'ConfigMap', name: 'x', labels: { 'kpg.io/record': 'true' } }),
    ).toBe('record');
    expect(categoryOf('pg', { kind: 'ConfigMap', name: 'pg-config' })).toBe('workload');
  });

  it('reads the policy from the record spec, Pause-safe when unreadable', () => {
    expect(policyFromSpec('spec:\n  terminationPolicy: WipeOut\n')).toBe('WipeOut');
    expect(policyFromSpec('spec:\n  replicas: 1\n')).toBeUndefined();
    expect(policyFromSpec('spec:\n  terminationPolicy: Bogus\n')).toBeUndefined();
    expect(policyFromSpec(': : :\n\t- [')).toBeUndefined();
    expect(policyFromSpec(undefined)).toBeUndefined();
  });

  it('asks for delete on exactly the kinds it removes', () => {
    const checks = deleteAccessChecks(plan('Pause'));
    expect(checks.map((c) => `${c.verb} ${c.resource}`).sort()).toEqual(
      [
        'delete configmaps',
        'delete poddisruptionbudgets',
        'delete pods',
        'delete rolebindings',
        'delete roles',
        'delete serviceaccounts',
        'delete services',
        'delete statefulsets',
      ].sort(),
    );
    expect(deleteAccessChecks(plan('WipeOut')).map((c) => c.resource)).toContain('secrets');
  });
});

describe('the archive (spec.archiver): only WipeOut removes it, as KubeDB', () => {
  const input = {
    name: 'pg',
    namespace: 'demo',
    recordFound: true,
    found: FOUND,
    archive: 's3://kubedb/kubedb/demo/pg/archive',
  };
  it.each(['Pause', 'Delete'] as const)('%s keeps it and says so', (policy) => {
    const p = planDelete({ ...input, policy });
    expect(p.archive).toEqual({ location: input.archive, remove: false });
    expect(formatDeletePlan(p)).toContain(
      '  keep   the archive s3://kubedb/kubedb/demo/pg/archive (a new cluster restores from it: spec.init.postgresWAL)',
    );
  });

  it('WipeOut and --force remove it, which counts as removing data', () => {
    for (const p of [
      planDelete({ ...input, policy: 'WipeOut' }),
      planDelete({ ...input, policy: 'Pause', wipe: '--force' }),
    ]) {
      expect(p.archive?.remove).toBe(true);
      expect(removesData(p)).toBe(true);
      expect(formatDeletePlan(p)).toContain(
        '  remove the archive s3://kubedb/kubedb/demo/pg/archive (its WAL and base backups)',
      );
    }
  });

  it('DoNotTerminate: nothing, the archive neither', () => {
    expect(planDelete({ ...input, policy: 'DoNotTerminate' }).archive).toBeUndefined();
  });
});

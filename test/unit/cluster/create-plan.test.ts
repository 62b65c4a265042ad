import { describe, expect, it } from 'vitest';
import { ExistingObjects, ownerOfLabels, planCreate } from '../../../src/lib/cluster/create.js';
import { validateText } from '../../../src/lib/manifest/index.js';
import { renderCluster } from '../../../src/lib/render/index.js';

const manifest = `apiVersion: kubedb.com/v1alpha1
kind: Postgres
metadata: {name: pg, namespace: ns, annotations: {kpg.io/agent: "false"}}
spec: {version: '15', replicas: 3, storage: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}}
`;
const rendered = () =>
  renderCluster(validateText(manifest, 't').clusters[0]!, { namespace: 'default' });
const has = (...k: string[]) => ({ has: (x: string) => k.includes(x) });

describe('planCreate', () => {
  it('a new cluster: the record and the generated Secret are created, the rest applied, the record before the StatefulSet', () => {
    const p = planCreate(rendered(), has());
    expect(p.refused).toBeUndefined();
    expect(p.resuming).toBe(false);
    const steps = p.steps.map((s) => `${s.action} ${s.object.kind}/${s.object.metadata.name}`);
    expect(steps).toContain('create Secret/pg-auth');
    expect(steps).toContain('create Secret/pg-ca');
    expect(steps).toContain('create Secret/pg-tls');
    expect(steps).toContain('create ConfigMap/pg-kpg');
    expect(steps).toContain('apply ConfigMap/pg-config');
    expect(steps).toContain('apply Service/pg');
    expect(steps.indexOf('create ConfigMap/pg-kpg')).toBeLessThan(
      steps.indexOf('apply StatefulSet/pg'),
    );
    expect(p.steps.filter((s) => s.action === 'create')).toHaveLength(4);
  });

  it('a half-created cluster (record and Secret exist, no StatefulSet): skips them, applies the rest', () => {
    const p = planCreate(rendered(), has('ConfigMap/pg-kpg', 'Secret/pg-auth'));
    expect(p.refused).toBeUndefined();
    expect(p.resuming).toBe(true);
    expect(
      p.steps
        .filter((s) => s.action === 'skip')
        .map((s) => s.object.metadata.name)
        .sort(),
    ).toEqual(['pg-auth', 'pg-kpg']);
    expect(p.steps.some((s) => s.action === 'apply' && s.object.kind === 'StatefulSet')).toBe(true);
  });

  it('an existing cluster is refused', () => {
    const p = planCreate(rendered(), has('ConfigMap/pg-kpg', 'StatefulSet/pg'));
    expect(p.refused).toBe('postgres "pg" already exists in namespace ns');
    expect(p.steps).toEqual([]);
  });

  it('a StatefulSet without a record is refused too', () => {
    expect(planCreate(rendered(), has('StatefulSet/pg')).refused).toMatch(
      /without a cluster record/,
    );
  });

  it('an object of the same name that kpg did not make is refused, naming it; nothing is planned', () => {
    const owners = new Map([
      ['ServiceAccount/pg', ''],
      ['Secret/pg-auth', ''],
    ]);
    const p = planCreate(rendered(), new ExistingObjects(owners));
    expect(p.foreign).toBe(
      'ServiceAccount ns/pg exists and kpg did not make it (it has no label app.kubernetes.io/managed-by=kpg)',
    );
    expect(p.steps).toEqual([]);
  });

  it("another kpg cluster's object is refused too; a user's own Secret NAME-auth is used as it is", () => {
    const other = planCreate(
      rendered(),
      new ExistingObjects(new Map([['Service/pg-replicas', 'pg-replicas']])),
    );
    expect(other.foreign).toBe('Service ns/pg-replicas belongs to postgres "pg-replicas"');
    const secret = planCreate(rendered(), new ExistingObjects(new Map([['Secret/pg-auth', '']])));
    expect(secret.foreign).toBeUndefined();
    expect(secret.steps.find((s) => s.object.kind === 'Secret')).toMatchObject({ action: 'skip' });
  });

  it('reads the owner from the labels kpg puts on everything it makes', () => {
    expect(
      ownerOfLabels({ 'app.kubernetes.io/managed-by': 'kpg', 'app.kubernetes.io/instance': 'pg' }),
    ).toBe('pg');
    expect(ownerOfLabels({ 'app.kubernetes.io/instance': 'pg' })).toBe('');
    expect(ownerOfLabels(undefined)).toBe('');
  });
});

// kpg apply against the local cluster: scale 3 → 5 → 2 with the data intact,
// a refused immutable change that changes nothing, a podTemplate change rolled
// standbys first, and a cluster that does not exist.
import { withLocalAgentImage } from '../../cluster/manifests.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, createNamespace, deleteNamespace, getJson, podNames } from '../../cluster/kube.js';
import { kpg, kubectlOk, podSql, streaming, waitFor } from './helpers.js';

const NAME = 'pga';

function manifest(
  ns: string,
  o: { replicas: number; storageClass?: string; team?: string },
): string {
  const file = join(tmpdir(), `kpg-apply-${ns}-${Date.now()}.yaml`);
  writeFileSync(
    file,
    withLocalAgentImage(`apiVersion: kubedb.com/v1alpha1
kind: Postgres
metadata:
  name: ${NAME}
  namespace: ${ns}
spec:
  version: "15"
  replicas: ${o.replicas}
  standbyMode: Hot
  storage:
    storageClassName: ${o.storageClass ?? 'standard'}
    accessModes: [ReadWriteOnce]
    resources:
      requests:
        storage: 128Mi
${o.team ? `  podTemplate:\n    metadata:\n      labels:\n        team: ${o.team}\n` : ''}`),
  );
  return file;
}

const generation = async (ns: string) =>
  (
    await kubectlOk([
      '-n',
      ns,
      'get',
      'configmap',
      `${NAME}-kpg`,
      '-o',
      'jsonpath={.data.generation}',
    ])
  ).trim();

async function rows(ns: string, pod: string): Promise<string> {
  const r = await podSql(ns, pod, 'select count(*) from t');
  return r.stdout.trim();
}

describe('kpg apply', () => {
  let ns = '';
  beforeAll(async () => {
    ns = await createNamespace('apply');
    const c = await kpg(['create', '-f', manifest(ns, { replicas: 3 })]);
    expect(c.code, c.stderr).toBe(0);
    const w = await podSql(
      ns,
      `${NAME}-0`,
      'create table t(x int); insert into t select generate_series(1, 100)',
    );
    expect(w.code, w.stderr).toBe(0);
  });
  afterAll(async () => {
    if (ns) await deleteNamespace(ns);
  });

  it('refuses a cluster that does not exist, pointing to kpg create (exit 5)', async () => {
    const r = await kpg(['apply', '-f', manifest(ns, { replicas: 3 })]);
    expect(r.code).toBe(0); // the cluster exists: nothing to change
    expect(r.stdout).toMatch(/no changes/);
    const other = await kpg(['apply', '-f', manifest(`${ns}-nope`, { replicas: 3 }), '--yes']);
    expect(other.code).toBe(5);
    expect(other.stderr).toMatch(/not found/);
    expect(other.stderr).toMatch(/kpg create/);
  });

  it('scales 3 → 5: new standbys stream and hold the rows', async () => {
    const r = await kpg(['apply', '-f', manifest(ns, { replicas: 5 }), '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/add pods \(new standbys\): pga-3, pga-4/);
    expect(await podNames(ns, `kubedb.com/name=${NAME}`)).toEqual([
      'pga-0',
      'pga-1',
      'pga-2',
      'pga-3',
      'pga-4',
    ]);
    expect(await streaming(ns, 'pga-0')).toEqual(['pga-1', 'pga-2', 'pga-3', 'pga-4']);
    for (const p of ['pga-3', 'pga-4']) expect(await rows(ns, p)).toBe('100');
    expect(await generation(ns)).toBe('2');
  });

  it('scales 5 → 2: removes the highest ordinals, keeps their PVCs and the data', async () => {
    await podSql(ns, 'pga-0', 'insert into t select generate_series(101, 150)');
    const r = await kpg(['apply', '-f', manifest(ns, { replicas: 2 }), '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/remove pods: pga-2, pga-3, pga-4/);
    expect(r.stdout).toMatch(/PVCs of removed pods are kept/);
    expect(await podNames(ns, `kubedb.com/name=${NAME}`)).toEqual(['pga-0', 'pga-1']);
    const pvcs = await kubectlOk(['-n', ns, 'get', 'pvc', '-o', 'name']);
    for (const i of [0, 1, 2, 3, 4]) expect(pvcs).toContain(`data-pga-${i}`);
    await waitFor(async () => (await rows(ns, 'pga-1')) === '150', 30_000, {
      what: 'rows on pga-1',
    });
    expect(await streaming(ns, 'pga-0')).toEqual(['pga-1']);
    expect(await generation(ns)).toBe('3');
  });

  it('refuses a storageClassName change and changes nothing (exit 1)', async () => {
    const before = await getJson<{ metadata: { generation: number } }>([
      '-n',
      ns,
      'statefulset',
      NAME,
    ]);
    const r = await kpg([
      'apply',
      '-f',
      manifest(ns, { replicas: 2, storageClass: 'local-path' }),
      '--yes',
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/refused\s+spec\.storage\.storageClassName: standard → local-path/);
    expect(r.stderr).toMatch(/nothing was changed/);
    const after = await getJson<{ metadata: { generation: number } }>([
      '-n',
      ns,
      'statefulset',
      NAME,
    ]);
    expect(after.metadata.generation).toBe(before.metadata.generation);
    expect(await generation(ns)).toBe('3');
  });

  it('refuses a major version change (15 → 16) and changes nothing', async () => {
    const file = manifest(ns, { replicas: 2 });
    writeFileSync(file, readFileSync(file, 'utf8').replace('version: "15"', 'version: "16"'));
    const r = await kpg(['apply', '-f', file, '--yes']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/major version upgrade \(PostgreSQL 15 → 16\)/);
    expect(await generation(ns)).toBe('3');
  });

  it('refuses turning the in-pod agent off for the running cluster and changes nothing', async () => {
    const file = manifest(ns, { replicas: 2 });
    const text = readFileSync(file, 'utf8');
    const off = text.replace('\n  annotations:\n', '\n  annotations:\n    kpg.io/agent: "false"\n');
    expect(off).not.toBe(text);
    writeFileSync(file, off);
    const r = await kpg(['apply', '-f', file, '--yes']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/run the in-pod agent, and turning it off .* is not supported/);
    expect(r.stderr).toContain('the change was refused; nothing was changed');
    expect(await generation(ns)).toBe('3');
  });

  it('refuses while a failover holds the cluster lease (exit 6) and changes nothing', async () => {
    const now = new Date().toISOString().replace('Z', '000Z');
    await apply(
      ns,
      JSON.stringify({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: `${NAME}-failover`, namespace: ns },
        spec: {
          holderIdentity: 'kpg@elsewhere/7/abcdef',
          // Held until deleted below: a kpg slowed by other files must still find it held.
          leaseDurationSeconds: 300,
          acquireTime: now,
          renewTime: now,
        },
      }),
    );
    try {
      const r = await kpg(['apply', '-f', manifest(ns, { replicas: 3 }), '--yes']);
      expect(r.code, r.stderr).toBe(6);
      expect(r.stderr).toMatch(/is held by kpg@elsewhere\/7\/abcdef/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(await podNames(ns, `kubedb.com/name=${NAME}`)).toEqual(['pga-0', 'pga-1']);
      expect(await generation(ns)).toBe('3');
    } finally {
      await kubectlOk(['-n', ns, 'delete', 'lease', `${NAME}-failover`]);
    }
  });

  it('rolls a podTemplate label change standbys first, the primary last', async () => {
    const dry = await kpg(['apply', '-f', manifest(ns, { replicas: 2, team: 'db' }), '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/rolling restart.*pga-1 → pga-0/);
    expect(await generation(ns)).toBe('3');

    const r = await kpg(['apply', '-f', manifest(ns, { replicas: 2, team: 'db' }), '--yes']);
    expect(r.code, r.stderr).toBe(0);
    const standby = r.stderr.indexOf('pod pga-1 (standby): restarting');
    const primary = r.stderr.indexOf('pod pga-0 (primary): restarting');
    expect(standby).toBeGreaterThanOrEqual(0);
    expect(primary).toBeGreaterThan(standby);
    expect(r.stderr.indexOf('pod pga-1 (standby): back and streaming')).toBeLessThan(primary);
    // The agents (the default) make the primary's restart a handover to the standby.
    expect(r.stderr).toContain('pod pga-0: handed over to pga-1');
    expect(await podNames(ns, 'team=db')).toEqual(['pga-0', 'pga-1']);
    await waitFor(async () => (await streaming(ns, 'pga-1')).join() === 'pga-0', 60_000, {
      what: 'pga-0 streaming from pga-1',
    });
    expect(await rows(ns, 'pga-0')).toBe('150');
    expect(await generation(ns)).toBe('4');
    const sts = await getJson<{ spec: { updateStrategy: { type: string } } }>([
      '-n',
      ns,
      'statefulset',
      NAME,
    ]);
    expect(sts.spec.updateStrategy.type).toBe('RollingUpdate');
  });
});

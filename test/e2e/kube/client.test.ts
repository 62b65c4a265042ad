// src/lib/kube against the real local cluster (test/cluster): server-side
// apply, get/list/delete, mutate, exec, port-forward, logs, leases, watches,
// and the 401/403 messages with real RBAC.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import {
  AlreadyExistsError,
  FieldManagerConflictError,
  ForbiddenError,
  InvalidError,
  UnauthorizedError,
  createKube,
  type Kube,
  type KubeObject,
} from '../../../src/lib/kube/index.js';
import { createNamespace, deleteNamespace, getJson, kubeconfigPath } from '../../cluster/kube.js';

interface Pod extends KubeObject {
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}
interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
  metadata?: KubeObject['metadata'] & { managedFields?: { manager: string; operation: string }[] };
}

let ns = '';
let kube: Kube;
let dir = '';

/** A copy of the admin kubeconfig with the user changed. */
function variantKubeconfig(name: string, user: Record<string, unknown>): string {
  const kc = parse(readFileSync(kubeconfigPath, 'utf8')) as {
    users: { name: string; user: Record<string, unknown> }[];
  };
  const first = kc.users[0];
  if (!first) throw new Error('admin kubeconfig has no user');
  first.user = typeof user.token === 'string' ? user : { ...first.user, ...user };
  const file = join(dir, name);
  writeFileSync(file, stringify(kc));
  return file;
}

function httpGet(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(`http://127.0.0.1:${port}/`, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe('kube client against the local cluster', () => {
  beforeAll(async () => {
    ns = await createNamespace('e2e-kube');
    dir = mkdtempSync(join(tmpdir(), 'kpg-e2e-kube-'));
    kube = await createKube({ kubeconfig: kubeconfigPath, namespace: ns });
    await kube.apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: {
        containers: [
          {
            name: 'main',
            image: 'postgres:15',
            command: [
              'bash',
              '-c',
              'cd "$(mktemp -d)" && echo hello-from-web > index.html && exec python3 -m http.server 8080 --bind 0.0.0.0',
            ],
          },
        ],
      },
    });
    await kube.waitFor<Pod>('Pod', ns, 'web', (p) => p?.status?.phase === 'Running', {
      timeoutMs: 60_000,
    });
  });

  afterAll(async () => {
    if (ns) await deleteNamespace(ns);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reads the context from the kubeconfig', () => {
    expect(kube.contextName).toBe('kpg-local');
    expect(kube.server).toBe('https://127.0.0.1:6443');
    expect(kube.namespace).toBe(ns);
  });

  it('server-side applies with field manager kpg, strict validation and dry-run', async () => {
    const cm = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings' },
      data: { a: '1' },
    };
    const dry = await kube.apply<ConfigMap>(cm, { dryRun: 'server' });
    expect(dry.metadata?.namespace).toBe(ns);
    expect(await kube.find('ConfigMap', ns, 'settings')).toBeUndefined();

    const applied = await kube.apply<ConfigMap>(cm);
    expect(applied.data).toEqual({ a: '1' });
    expect(applied.metadata?.managedFields?.map((f) => `${f.manager}/${f.operation}`)).toEqual([
      'kpg/Apply',
    ]);
    const again = await kube.apply<ConfigMap>(cm);
    expect(again.metadata?.resourceVersion).toBe(applied.metadata?.resourceVersion);

    const viaKubectl = await getJson<{ data: Record<string, string> }>([
      'configmap',
      'settings',
      '-n',
      ns,
    ]);
    expect(viaKubectl.data).toEqual({ a: '1' });

    // Another field manager setting the same field conflicts until it forces.
    const other = await createKube({
      kubeconfig: kubeconfigPath,
      namespace: ns,
      fieldManager: 'other',
    });
    const changed = { ...cm, data: { a: '2' } };
    await expect(other.apply(changed)).rejects.toBeInstanceOf(FieldManagerConflictError);
    expect((await other.apply<ConfigMap>(changed, { force: true })).data).toEqual({ a: '2' });

    // Server-side apply answers a schema mismatch with a 500; we report it as the object's fault.
    const err = await kube.apply({ ...cm, spec: { nope: true } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidError);
    expect((err as Error).message).toBe(
      'configmaps "settings" does not match its schema: .spec: field not declared in schema',
    );
    expect(await kube.find('ConfigMap', ns, 'settings')).toBeDefined();
  });

  it('reports 422 causes from the real API server', async () => {
    const err = await kube
      .apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Bad_Name' }, data: {} })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidError);
    expect((err as InvalidError).causes[0]?.field).toBe('metadata.name');
  });

  it('gets, lists, mutates and deletes (404 counts as done)', async () => {
    await kube.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'm1', labels: { t: 'x' } },
      data: { n: '0' },
    });
    await expect(
      kube.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'm1' } }),
    ).rejects.toBeInstanceOf(AlreadyExistsError);
    const { items } = await kube.list<ConfigMap>('ConfigMap', { labelSelector: 't=x' });
    expect(items.map((i) => i.metadata?.name)).toEqual(['m1']);

    const results = await Promise.all(
      [1, 2, 3, 4].map(() =>
        kube.mutate<ConfigMap>('ConfigMap', ns, 'm1', (cm) => {
          cm.data = { n: String(Number(cm.data?.n ?? '0') + 1) };
        }),
      ),
    );
    expect(results.every((r) => r.changed)).toBe(true);
    expect((await kube.get<ConfigMap>('ConfigMap', ns, 'm1')).data).toEqual({ n: '4' });
    const unchanged = await kube.mutate<ConfigMap>('ConfigMap', ns, 'm1', () => undefined);
    expect(unchanged.changed).toBe(false);

    const uid = (await kube.get('ConfigMap', ns, 'm1')).metadata?.uid;
    expect(
      await kube.delete('ConfigMap', ns, 'm1', { uid, propagationPolicy: 'Background' }),
    ).toEqual({ deleted: true });
    expect(await kube.delete('ConfigMap', ns, 'm1')).toEqual({ deleted: false });
  });

  it('execs with exit codes and stdin through the API', async () => {
    expect(
      await kube.exec(ns, 'web', 'main', ['bash', '-c', 'echo out; echo err >&2; exit 3']),
    ).toEqual({
      stdout: 'out\n',
      stderr: 'err\n',
      exitCode: 3,
    });
    expect(await kube.exec(ns, 'web', 'main', ['cat'], { stdin: 'piped\n' })).toEqual({
      stdout: 'piped\n',
      stderr: '',
      exitCode: 0,
    });
    await expect(
      kube.exec(ns, 'web', 'main', ['sleep', '30'], { timeoutMs: 1000 }),
    ).rejects.toThrow(/timed out after 1s/);
  });

  it('port-forwards a local port to the pod, and reads logs', async () => {
    const pf = await kube.portForward(ns, 'web', 8080);
    try {
      const a = await httpGet(pf.localPort);
      const b = await httpGet(pf.localPort);
      expect([a.status, b.status]).toEqual([200, 200]);
      expect(a.body).toBe('hello-from-web\n');
      expect(pf.errors).toEqual([]);
    } finally {
      await pf.close();
    }
    const logs = await kube.logs(ns, 'web', 'main', { tailLines: 5 });
    expect(logs).toContain('GET / HTTP/1.1');
  });

  it('uses a Lease as a mutex: refuse, expire (as the caller watched it), take over', async () => {
    const first = await kube.acquireLease(ns, 'failover', 'alice', 2);
    expect(first.acquired).toBe(true);
    const refused = await kube.acquireLease(ns, 'failover', 'bob', 2);
    expect(refused).toMatchObject({ acquired: false, holder: 'alice' });
    await kube.renewLease(ns, 'failover', 'alice');
    // A version bob saw before alice's renewal is not taken over.
    const stale = await kube.acquireLease(ns, 'failover', 'bob', 2, {
      expiredVersion: refused.lease.metadata?.resourceVersion,
    });
    expect(stale).toMatchObject({ acquired: false, holder: 'alice' });
    // Unchanged for a whole lease duration on bob's own clock: taken, by that version.
    await new Promise((r) => setTimeout(r, 2500));
    const seen = await kube.acquireLease(ns, 'failover', 'bob', 2);
    expect(seen.acquired).toBe(false);
    expect(seen.lease.metadata?.resourceVersion).toBe(stale.lease.metadata?.resourceVersion);
    const taken = await kube.acquireLease(ns, 'failover', 'bob', 2, {
      expiredVersion: seen.lease.metadata?.resourceVersion,
    });
    expect(taken.acquired).toBe(true);
    if (taken.acquired) expect(taken.lease.spec?.leaseTransitions).toBe(1);
    expect(await kube.releaseLease(ns, 'failover', 'alice')).toBe(false);
    expect(await kube.releaseLease(ns, 'failover', 'bob')).toBe(true);
  });

  it('watches: waitFor sees a change made after it started', async () => {
    await kube.apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'w' },
      data: { v: '1' },
    });
    const waiting = kube.waitFor<ConfigMap>('ConfigMap', ns, 'w', (c) => c?.data?.v === '2', {
      timeoutMs: 20_000,
    });
    setTimeout(() => void kube.patch('ConfigMap', ns, 'w', { data: { v: '2' } }), 300);
    expect((await waiting)?.data).toEqual({ v: '2' });
    const gone = kube.waitFor('ConfigMap', ns, 'w', (c) => c === undefined, { timeoutMs: 20_000 });
    await kube.delete('ConfigMap', ns, 'w');
    expect(await gone).toBeUndefined();
  });

  it('explains 403 and lists denied permissions for a user without RBAC', async () => {
    const file = variantKubeconfig('nobody', { as: `system:serviceaccount:${ns}:nobody` });
    const nobody = await createKube({ kubeconfig: file, namespace: ns });
    const err = await nobody
      .patch('Pod', ns, 'web', { metadata: { labels: { x: 'y' } } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForbiddenError);
    expect((err as Error).message).toMatch(
      new RegExp(
        `^forbidden: kpg needs permission to \`patch\` \`pods\` in namespace \`${ns}\` \\(the server said: .*\\)$`,
      ),
    );
    const denied = await nobody.checkAccess(ns, [
      { verb: 'get', group: '', resource: 'pods' },
      { verb: 'create', group: 'coordination.k8s.io', resource: 'leases' },
    ]);
    expect(denied.map((d) => d.resource)).toEqual(['pods', 'leases']);
    expect(
      await kube.checkAccess(ns, [
        { verb: 'create', group: '', resource: 'pods', subresource: 'exec' },
      ]),
    ).toEqual([]);
  });

  it('explains 401 without leaking the token', async () => {
    const file = variantKubeconfig('bogus', { token: 'bogus-token-value' });
    const bogus = await createKube({ kubeconfig: file });
    const err = await bogus.get('Pod', ns, 'web').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnauthorizedError);
    expect((err as Error).message).toBe(
      'the server rejected your credentials for context kpg-local',
    );
    expect(JSON.stringify(err)).not.toContain('bogus-token-value');
  });
});

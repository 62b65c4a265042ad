// Request shapes and the read-modify-write helpers of Kube.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AlreadyExistsError,
  ConflictError,
  KubeUsageError,
  type KubeObject,
} from '../../../src/lib/kube/index.js';
import { FakeStore, sendJson, sendStatus, startFakeApi, type FakeApi } from './fake-api.js';

const CM = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c1' }, data: { a: '1' } };

let api: FakeApi;
beforeEach(async () => {
  api = await startFakeApi();
});
afterEach(async () => {
  await api.close();
});

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

describe('apply', () => {
  it('sends a server-side apply PATCH', async () => {
    api.handle((req, res) => sendJson(res, 200, req.json));
    const kube = await api.kube();
    const out: KubeObject = await kube.apply(CM);
    expect(out.metadata?.namespace).toBe('demo');
    const req = api.requests[0]!;
    expect(req.method).toBe('PATCH');
    expect(req.url.pathname).toBe('/api/v1/namespaces/demo/configmaps/c1');
    expect(req.headers['content-type']).toBe('application/apply-patch+yaml');
    expect(req.url.searchParams.get('fieldManager')).toBe('kpg');
    expect(req.url.searchParams.get('fieldValidation')).toBe('Strict');
    expect(req.url.searchParams.has('force')).toBe(false);
    expect(req.url.searchParams.has('dryRun')).toBe(false);
    expect(req.json).toEqual({ ...CM, metadata: { name: 'c1', namespace: 'demo' } });
  });

  it('passes force and dry-run, and finds the path of grouped and cluster-scoped kinds', async () => {
    api.handle((req, res) => sendJson(res, 200, req.json));
    const kube = await api.kube();
    await kube.apply(
      { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'pg', namespace: 'other' } },
      { force: true, dryRun: 'server' },
    );
    await kube.apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'kpg' },
    });
    await kube.apply({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'l' },
    });
    await kube.apply({
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'p' },
    });
    const [sts, cr, lease, pdb] = api.requests;
    expect(sts!.url.pathname).toBe('/apis/apps/v1/namespaces/other/statefulsets/pg');
    expect(sts!.url.searchParams.get('force')).toBe('true');
    expect(sts!.url.searchParams.get('dryRun')).toBe('All');
    expect(cr!.url.pathname).toBe('/apis/rbac.authorization.k8s.io/v1/clusterroles/kpg');
    expect((cr!.json as KubeObject).metadata?.namespace).toBeUndefined();
    expect(lease!.url.pathname).toBe('/apis/coordination.k8s.io/v1/namespaces/demo/leases/l');
    expect(pdb!.url.pathname).toBe('/apis/policy/v1/namespaces/demo/poddisruptionbudgets/p');
  });

  it('discovers unknown kinds once per group/version', async () => {
    api.handle((req, res) => {
      if (req.url.pathname === '/apis/example.com/v1') {
        return sendJson(res, 200, {
          resources: [
            { name: 'widgets', kind: 'Widget', namespaced: true },
            { name: 'widgets/status', kind: 'Widget', namespaced: true },
            { name: 'gizmos', kind: 'Gizmo', namespaced: false },
          ],
        });
      }
      sendJson(res, 200, req.json ?? {});
    });
    const kube = await api.kube();
    await kube.apply({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } });
    await kube.get({ apiVersion: 'example.com/v1', kind: 'Gizmo' }, 'demo', 'g');
    expect(api.requests.map((r) => r.url.pathname)).toEqual([
      '/apis/example.com/v1',
      '/apis/example.com/v1/namespaces/demo/widgets/w',
      '/apis/example.com/v1/gizmos/g',
    ]);
    await expect(
      kube.get({ apiVersion: 'example.com/v1', kind: 'Nope' }, 'demo', 'x'),
    ).rejects.toThrow('the API server does not serve kind Nope in example.com/v1');
  });

  it('refuses an object without apiVersion/kind/name', async () => {
    const kube = await api.kube();
    await expect(kube.apply({ kind: 'ConfigMap', metadata: { name: 'x' } })).rejects.toBeInstanceOf(
      KubeUsageError,
    );
  });
});

describe('delete', () => {
  it('treats 404 as done', async () => {
    api.handle((_req, res) =>
      sendStatus(res, 404, 'NotFound', 'configmaps "c1" not found', { name: 'c1' }),
    );
    const kube = await api.kube();
    expect(await kube.delete('ConfigMap', 'demo', 'c1')).toEqual({ deleted: false });
  });

  it('sends propagationPolicy and preconditions', async () => {
    api.handle((_req, res) => sendJson(res, 200, { kind: 'Status', status: 'Success' }));
    const kube = await api.kube();
    expect(
      await kube.delete('StatefulSet', undefined, 'pg', {
        propagationPolicy: 'Foreground',
        uid: 'u-1',
      }),
    ).toEqual({
      deleted: true,
    });
    const req = api.requests[0]!;
    expect(req.method).toBe('DELETE');
    expect(req.url.pathname).toBe('/apis/apps/v1/namespaces/demo/statefulsets/pg');
    expect(req.json).toEqual({
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      propagationPolicy: 'Foreground',
      preconditions: { uid: 'u-1' },
    });
  });

  it('still reports a 404 of an unknown resource type as an error', async () => {
    api.handle((_req, res) =>
      sendStatus(res, 404, 'NotFound', 'the server could not find the requested resource'),
    );
    const kube = await api.kube();
    await expect(kube.delete('ConfigMap', 'demo', 'c1')).rejects.toThrow(
      /does not serve configmaps/,
    );
  });
});

describe('create, patch, list', () => {
  it('maps 409 AlreadyExists on create', async () => {
    const store = new FakeStore();
    store.put('demo', 'configmaps', { ...CM });
    api.handle(store.handler);
    const kube = await api.kube();
    const err = (await kube.create(CM).catch((e: unknown) => e)) as AlreadyExistsError;
    expect(err).toBeInstanceOf(AlreadyExistsError);
    expect(err.message).toBe('configmaps "c1" already exists in namespace demo');
  });

  it('patches with the right content type', async () => {
    api.handle((_req, res) => sendJson(res, 200, {}));
    const kube = await api.kube();
    await kube.patch('Pod', 'demo', 'p', { metadata: { labels: { role: 'primary' } } });
    await kube.patch('Pod', 'demo', 'p', [{ op: 'remove', path: '/metadata/labels/role' }], {
      type: 'json',
    });
    await kube.patch(
      'StatefulSet',
      'demo',
      's',
      { spec: { replicas: 3 } },
      { type: 'strategic', subresource: 'scale' },
    );
    expect(api.requests.map((r) => [r.headers['content-type'], r.url.pathname])).toEqual([
      ['application/merge-patch+json', '/api/v1/namespaces/demo/pods/p'],
      ['application/json-patch+json', '/api/v1/namespaces/demo/pods/p'],
      [
        'application/strategic-merge-patch+json',
        '/apis/apps/v1/namespaces/demo/statefulsets/s/scale',
      ],
    ]);
  });

  it('lists all pages with selectors, in one namespace or all', async () => {
    api.handle((req, res) => {
      const cont = req.url.searchParams.get('continue');
      if (!cont)
        return sendJson(res, 200, {
          items: [{ metadata: { name: 'a' } }],
          metadata: { continue: 't1', resourceVersion: '5' },
        });
      sendJson(res, 200, {
        items: [{ metadata: { name: 'b' } }],
        metadata: { resourceVersion: '6' },
      });
    });
    const kube = await api.kube();
    const out = await kube.list('Pod', {
      labelSelector: 'app=pg',
      fieldSelector: 'status.phase=Running',
      pageSize: 1,
    });
    expect(out.items.map((i) => i.metadata?.name)).toEqual(['a', 'b']);
    expect(out.resourceVersion).toBe('6');
    const first = api.requests[0]!;
    expect(first.url.pathname).toBe('/api/v1/namespaces/demo/pods');
    expect(first.url.searchParams.get('labelSelector')).toBe('app=pg');
    expect(first.url.searchParams.get('fieldSelector')).toBe('status.phase=Running');
    expect(api.requests[1]!.url.searchParams.get('continue')).toBe('t1');
    await kube.list('Pod', { allNamespaces: true });
    expect(api.requests[3]!.url.pathname).toBe('/api/v1/pods');
  });

  it('reads logs with tailLines and previous', async () => {
    api.handle((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('line1\nline2\n');
    });
    const kube = await api.kube();
    expect(await kube.logs('demo', 'pg-0', 'postgres', { tailLines: 2, previous: true })).toBe(
      'line1\nline2\n',
    );
    const q = api.requests[0]!.url;
    expect(q.pathname).toBe('/api/v1/namespaces/demo/pods/pg-0/log');
    expect(Object.fromEntries(q.searchParams)).toEqual({
      container: 'postgres',
      tailLines: '2',
      previous: 'true',
    });
  });
});

describe('mutate', () => {
  it('retries on 409 Conflict, then succeeds', async () => {
    const store = new FakeStore();
    store.put('demo', 'configmaps', { ...CM });
    let puts = 0;
    api.handle((req, res, raw) => {
      // Another writer sneaks in before our first update.
      if (req.method === 'PUT' && puts++ === 0) {
        const cur = store.get('demo', 'configmaps', 'c1')!;
        store.put('demo', 'configmaps', { ...(cur as typeof CM), data: { a: '1', other: 'x' } });
      }
      return store.handler(req, res, raw);
    });
    const kube = await api.kube();
    const r = await kube.mutate<ConfigMap>('ConfigMap', 'demo', 'c1', (cm) => {
      cm.data = { ...cm.data, b: '2' };
    });
    expect(r.changed).toBe(true);
    expect(r.attempts).toBe(2);
    expect(r.object.data).toEqual({ a: '1', other: 'x', b: '2' });
    expect(api.requests.map((q) => q.method)).toEqual(['GET', 'PUT', 'GET', 'PUT']);
    const firstPut = api.requests[1]!.json as KubeObject;
    expect(firstPut.metadata?.resourceVersion).toBe('101');
  });

  it('skips the write when nothing changed', async () => {
    const store = new FakeStore();
    store.put('demo', 'configmaps', { ...CM });
    api.handle(store.handler);
    const kube = await api.kube();
    const r = await kube.mutate<ConfigMap>('ConfigMap', 'demo', 'c1', (cm) => ({
      ...cm,
      data: { a: '1' },
    }));
    expect(r.changed).toBe(false);
    expect(api.requests.map((q) => q.method)).toEqual(['GET']);
  });

  it('gives up after maxAttempts conflicts', async () => {
    const store = new FakeStore();
    store.put('demo', 'configmaps', { ...CM });
    api.handle((req, res, raw) => {
      if (req.method === 'PUT')
        return sendStatus(res, 409, 'Conflict', 'the object has been modified', { name: 'c1' });
      return store.handler(req, res, raw);
    });
    const kube = await api.kube();
    const err = await kube
      .mutate<ConfigMap>('ConfigMap', 'demo', 'c1', (cm) => ({ ...cm, data: { z: '1' } }), {
        maxAttempts: 3,
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect(api.requests.filter((q) => q.method === 'PUT')).toHaveLength(3);
  });
});

describe('checkAccess', () => {
  it('returns the denied checks', async () => {
    api.handle((req, res) => {
      const spec = (
        req.json as {
          spec: { resourceAttributes: { verb: string; resource: string; namespace: string } };
        }
      ).spec;
      const allowed = spec.resourceAttributes.verb !== 'delete';
      sendJson(res, 201, { status: { allowed, reason: allowed ? '' : 'no RBAC policy matched' } });
    });
    const kube = await api.kube();
    const denied = await kube.checkAccess('demo', [
      { verb: 'get', group: '', resource: 'pods' },
      { verb: 'delete', group: 'apps', resource: 'statefulsets' },
      { verb: 'create', group: '', resource: 'pods', subresource: 'exec' },
    ]);
    expect(denied).toEqual([
      { verb: 'delete', group: 'apps', resource: 'statefulsets', reason: 'no RBAC policy matched' },
    ]);
    expect(api.requests[0]!.url.pathname).toBe(
      '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
    );
    expect((api.requests[2]!.json as { spec: unknown }).spec).toEqual({
      resourceAttributes: {
        namespace: 'demo',
        verb: 'create',
        group: '',
        resource: 'pods',
        subresource: 'exec',
      },
    });
  });
});

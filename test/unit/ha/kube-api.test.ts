/** The agent's API client against a local HTTPS server: token and CA, 404, 409, merge patch, Events, timeouts. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterApi } from '../../../src/agent/cluster-api.js';
import { inClusterHttp, KubeTimeoutError } from '../../../src/agent/kube.js';
import { LeaseConflictError } from '../../../src/lib/ha/index.js';

interface Seen {
  method?: string;
  url?: string;
  auth?: string;
  type?: string;
  body: string;
}
let dir: string;
let server: Server;
const seen: Seen[] = [];
/** url → [status, body]; a missing entry is a 404. */
const routes = new Map<string, [number, unknown]>();
let port = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kpg-agent-api-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'ca.crt'),
      '-days',
      '1',
      '-subj',
      '/CN=kubernetes',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'pipe' },
  );
  writeFileSync(join(dir, 'token'), 'token-1\n');
  server = createServer(
    { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'ca.crt')) },
    (req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        seen.push({
          method: req.method,
          url: req.url,
          auth: req.headers.authorization,
          type: req.headers['content-type'],
          body,
        });
        if (req.url?.includes('/slow')) return; // never answers
        const [status, obj] = routes.get(`${req.method} ${req.url}`) ?? [
          404,
          { message: 'not found' },
        ];
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(obj));
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

const api = () => {
  const http = inClusterHttp({ host: '127.0.0.1', port, serviceAccountDir: dir, timeoutMs: 300 });
  return {
    http,
    cluster: clusterApi(
      http,
      { namespace: 'demo', cluster: 'pg', self: { pod: 'pg-1', uid: 'u1' } },
      () => 0,
    ),
  };
};
const LEASE = '/apis/coordination.k8s.io/v1/namespaces/demo/leases/pg-primary';

describe('the agent’s API client', () => {
  it('reads with the token (re-read each time) and the CA; a 404 is undefined', async () => {
    const { cluster } = api();
    expect(await cluster.lease.get()).toBeUndefined();
    writeFileSync(join(dir, 'token'), 'token-2\n');
    routes.set(`GET ${LEASE}`, [200, { metadata: { name: 'pg-primary', resourceVersion: '5' } }]);
    expect(await cluster.lease.get()).toMatchObject({ metadata: { resourceVersion: '5' } });
    expect(seen.filter((s) => s.url === LEASE).map((s) => s.auth)).toEqual([
      'Bearer token-1',
      'Bearer token-2',
    ]);
  });

  it('a 409 on create or replace is a LeaseConflictError', async () => {
    const { cluster } = api();
    routes.set(`PUT ${LEASE}`, [409, { message: 'the object has been modified' }]);
    routes.set('POST /apis/coordination.k8s.io/v1/namespaces/demo/leases', [
      409,
      { message: 'already exists' },
    ]);
    await expect(
      cluster.lease.replace({ metadata: { name: 'pg-primary' } }),
    ).rejects.toBeInstanceOf(LeaseConflictError);
    await expect(cluster.lease.create({ metadata: { name: 'pg-primary' } })).rejects.toBeInstanceOf(
      LeaseConflictError,
    );
  });

  it('labels with a JSON merge patch and writes Events on its own pod', async () => {
    const { cluster } = api();
    routes.set('PATCH /api/v1/namespaces/demo/pods/pg-0', [200, {}]);
    routes.set('POST /api/v1/namespaces/demo/events', [201, {}]);
    await cluster.labelPod('pg-0', 'replica');
    await cluster.event({
      reason: 'FailoverRefused',
      type: 'Warning',
      message: 'pg-1 is 2 MiB behind',
    });
    const patch = seen.find((s) => s.method === 'PATCH')!;
    expect(patch.type).toBe('application/merge-patch+json');
    expect(JSON.parse(patch.body)).toEqual({
      metadata: { labels: { 'kubedb.com/role': 'replica' } },
    });
    const event = JSON.parse(
      seen.find((s) => s.url === '/api/v1/namespaces/demo/events')!.body,
    ) as Record<string, unknown>;
    expect(event).toMatchObject({
      reason: 'FailoverRefused',
      type: 'Warning',
      involvedObject: { kind: 'Pod', name: 'pg-1', uid: 'u1' },
      source: { component: 'kpg-agent' },
    });
  });

  it('lists the peers by the StatefulSet’s replicas, with their IPs and role labels', async () => {
    const { cluster } = api();
    routes.set('GET /apis/apps/v1/namespaces/demo/statefulsets/pg', [
      200,
      { spec: { replicas: 2 } },
    ]);
    routes.set('GET /api/v1/namespaces/demo/pods/pg-0', [
      200,
      {
        metadata: { uid: 'u0', labels: { 'kubedb.com/role': 'primary' } },
        status: { podIP: '10.0.0.10' },
      },
    ]);
    expect(await cluster.listPeers()).toEqual([
      { name: 'pg-0', uid: 'u0', ip: '10.0.0.10', role: 'primary' },
      { name: 'pg-1' },
    ]);
  });

  it('a request with no answer in time is a KubeTimeoutError', async () => {
    const { http } = api();
    await expect(http.call('GET', '/slow')).rejects.toBeInstanceOf(KubeTimeoutError);
  });
});

import { describe, expect, it } from 'vitest';
import { isCreateOnly, renderCluster } from '../../../src/lib/render/index.js';
import { renderNetworkPolicy } from '../../../src/lib/render/network-policy.js';
import { renderTlsSecrets, serverNames } from '../../../src/lib/render/tls.js';
import type { KubeObject } from '../../../src/lib/render/types.js';
import { cluster } from './fixture.js';

const material = { caCert: 'CA', caKey: 'CAKEY', serverCert: 'CERT', serverKey: 'KEY' };
const decoded = (o: KubeObject | undefined) =>
  Object.fromEntries(
    Object.entries((o?.['data'] ?? {}) as Record<string, string>).map(([k, v]) => [
      k,
      Buffer.from(v, 'base64').toString(),
    ]),
  );

describe('TLS Secrets', () => {
  it('NAME-ca holds the CA and its key; NAME-tls the server pair and the CA certificate only', () => {
    const [ca, server] = renderTlsSecrets(cluster(), 'demo', material);
    expect(ca?.metadata.name).toBe('ha-postgres-ca');
    expect(decoded(ca)).toEqual({ 'tls.crt': 'CA', 'tls.key': 'CAKEY' });
    expect(server?.metadata.name).toBe('ha-postgres-tls');
    expect(server?.['type']).toBe('Opaque');
    expect(decoded(server)).toEqual({ 'tls.crt': 'CERT', 'tls.key': 'KEY', 'ca.crt': 'CA' });
    expect([ca, server].every((o) => o && isCreateOnly(o))).toBe(true);
  });

  it('none with kpg.io/tls: "false"', () => {
    expect(
      renderTlsSecrets(cluster({ annotations: { 'kpg.io/tls': 'false' } }), 'demo', material),
    ).toEqual([]);
  });

  it('without material (plans): rendered without data', () => {
    const r = renderCluster(cluster(), { namespace: 'demo' });
    const tls = r.objects.find((o) => o.metadata.name === 'ha-postgres-tls');
    expect(tls).toBeDefined();
    expect(tls?.['data']).toBeUndefined();
  });

  it('names every Service in its short and qualified forms, the pods, localhost', () => {
    const names = serverNames('pg', 'team');
    for (const n of [
      'pg',
      'pg.team',
      'pg.team.svc',
      'pg.team.svc.cluster.local',
      'pg-replicas',
      'pg-replicas.team.svc',
      'pg-pods.team.svc',
      '*.pg-pods.team.svc',
      '*.pg-pods.team.svc.cluster.local',
      'localhost',
    ])
      expect(names).toContain(n);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('NetworkPolicy', () => {
  it("admits PostgreSQL's port from anywhere and the agents' port only from the cluster's pods", () => {
    const np = renderNetworkPolicy(cluster({ annotations: {} }), 'demo') as KubeObject & {
      spec: Record<string, unknown>;
    };
    const pods = { 'kubedb.com/kind': 'Postgres', 'kubedb.com/name': 'ha-postgres' };
    expect(np.metadata.name).toBe('ha-postgres');
    expect(np.spec).toEqual({
      podSelector: { matchLabels: pods },
      policyTypes: ['Ingress'],
      ingress: [
        { ports: [{ protocol: 'TCP', port: 5432 }] },
        {
          from: [{ podSelector: { matchLabels: pods } }],
          ports: [{ protocol: 'TCP', port: 8008 }],
        },
      ],
    });
  });

  it('without the agent only the PostgreSQL rule; none with kpg.io/network-policy: "false"', () => {
    const np = renderNetworkPolicy(cluster(), 'demo') as KubeObject & {
      spec: { ingress: unknown[] };
    };
    expect(np.spec.ingress).toHaveLength(1);
    expect(
      renderNetworkPolicy(cluster({ annotations: { 'kpg.io/network-policy': 'false' } }), 'demo'),
    ).toBeUndefined();
  });
});

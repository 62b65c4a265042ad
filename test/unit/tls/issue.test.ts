import { X509Certificate, createPrivateKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { VALIDITY_DAYS, issueClusterCertificates } from '../../../src/lib/tls/issue.js';
import { serverNames } from '../../../src/lib/render/tls.js';

describe('issueClusterCertificates', async () => {
  const now = new Date('2026-12-03T12:00:00Z');
  const m = await issueClusterCertificates({
    cluster: 'ha-postgres',
    namespace: 'demo',
    dnsNames: serverNames('ha-postgres', 'demo'),
    ips: ['127.0.0.1', '::1'],
    now,
  });
  const ca = new X509Certificate(m.caCert);
  const server = new X509Certificate(m.serverCert);

  it('a CA of the cluster signs the server certificate, and only it', async () => {
    expect(ca.ca).toBe(true);
    expect(ca.verify(ca.publicKey)).toBe(true);
    expect(server.ca).toBe(false);
    expect(server.checkIssued(ca)).toBe(true);
    expect(server.verify(ca.publicKey)).toBe(true);
    // Another cluster's CA does not.
    const other = await issueClusterCertificates({
      cluster: 'x',
      namespace: 'demo',
      dnsNames: ['x'],
    });
    expect(server.verify(new X509Certificate(other.caCert).publicKey)).toBe(false);
  });

  it('holds the names standbys and clients connect by, the pods by wildcard, localhost', () => {
    for (const host of [
      'ha-postgres',
      'ha-postgres-replicas.demo.svc',
      'ha-postgres.demo.svc.cluster.local',
      'ha-postgres-2.ha-postgres-pods.demo.svc',
      'localhost',
    ])
      expect(server.checkHost(host), host).toBe(
        host.startsWith('ha-postgres-2.') ? '*.ha-postgres-pods.demo.svc' : host,
      );
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(server.checkHost('other-cluster.demo.svc')).toBeUndefined();
    expect(server.subject).toBe('CN=ha-postgres');
  });

  it('keys are PKCS#8 PEM that belong to their certificates', () => {
    expect(m.serverKey).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(server.checkPrivateKey(createPrivateKey(m.serverKey))).toBe(true);
    expect(ca.checkPrivateKey(createPrivateKey(m.caKey))).toBe(true);
    expect(server.checkPrivateKey(createPrivateKey(m.caKey))).toBe(false);
  });

  it(`is valid from just before now for ${VALIDITY_DAYS} days, with fresh serials`, () => {
    const from = new Date(server.validFrom).getTime();
    const to = new Date(server.validTo).getTime();
    expect(from).toBeLessThanOrEqual(now.getTime());
    expect(now.getTime() - from).toBeLessThan(5 * 60_000);
    expect(Math.round((to - from) / 86_400_000)).toBe(VALIDITY_DAYS);
    expect(server.serialNumber).not.toBe(ca.serialNumber);
  });
});

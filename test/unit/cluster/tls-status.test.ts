import { describe, expect, it } from 'vitest';
import { tlsStatusOf } from '../../../src/lib/cluster/tls-status.js';
import type { K8sStatefulSet } from '../../../src/lib/cluster/objects.js';
import { issueClusterCertificates } from '../../../src/lib/tls/issue.js';

const sts = (env: { name: string; value: string }[]): K8sStatefulSet =>
  ({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'pg' },
    spec: { template: { spec: { containers: [{ name: 'postgres', env }] } } },
  }) as unknown as K8sStatefulSet;
const on = sts([{ name: 'KPG_TLS_DIR', value: '/etc/kpg/tls' }]);

describe('tlsStatusOf', async () => {
  const issued = new Date('2026-01-01T00:00:00Z');
  const m = await issueClusterCertificates({
    cluster: 'pg',
    namespace: 'd',
    dnsNames: ['pg'],
    now: issued,
  });
  const secret = { data: { 'tls.crt': Buffer.from(m.serverCert).toString('base64') } };

  it('off when the StatefulSet mounts no certificate', () => {
    expect(tlsStatusOf('pg', sts([]), secret, issued)).toEqual({ enabled: false });
  });

  it('the end and the names of the certificate; no problem years before it ends', () => {
    const t = tlsStatusOf('pg', on, secret, new Date('2027-01-01T00:00:00Z'));
    expect(t).toMatchObject({ enabled: true, secret: 'pg-tls', names: ['pg'] });
    expect(t.notAfter?.startsWith('2035-')).toBe(true);
    expect(t.problem).toBeUndefined();
  });

  it('a problem when it ends within 30 days, has ended, or is missing', () => {
    const end = new Date(tlsStatusOf('pg', on, secret, issued).notAfter!);
    const soon = new Date(end.getTime() - 10 * 86_400_000 + 3_600_000);
    expect(tlsStatusOf('pg', on, secret, soon).problem).toMatch(/ends in 9 day/);
    expect(tlsStatusOf('pg', on, secret, new Date(end.getTime() + 1000)).problem).toMatch(
      /expired/,
    );
    expect(tlsStatusOf('pg', on, undefined, issued).problem).toMatch(/pg-tls not found/);
    expect(
      tlsStatusOf('pg', on, { data: { 'tls.crt': 'bm90IGEgY2VydA==' } }, issued).problem,
    ).toMatch(/not a certificate/);
  });
});

// Issue 12, item 9: TLS by default. The cluster starts with TLS turned off
// (kpg.io/tls: "false": plain TCP works); `kpg apply` refuses to turn it on
// under running pods; deleted (Pause) and created again without the
// annotation, it resumes its data with TLS. kpg issues the cluster's CA and a server
// certificate (Secrets NAME-ca, NAME-tls); clients connect with
// sslmode=verify-full through the primary Service, a connection without TLS
// and a certificate checked against another CA are refused, standbys stream
// over TLS, and replication connections are admitted only for the
// replication user. The NetworkPolicy is rendered and admitted by the API
// server (this cluster has no policy engine to enforce it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, deleteNamespace, getJson } from '../../cluster/kube.js';
import { PG_IMAGE, pgSecurityContext, withLocalAgentImage } from '../../cluster/manifests.js';
import { kpg, kubectl, kubectlOk, podSql, waitFor } from './helpers.js';

const NAME = 'tlsc';
let ns = '';

const manifest = (namespace: string, tls: boolean) =>
  withTls(
    tls,
    withLocalAgentImage(`apiVersion: kubedb.com/v1alpha1
kind: Postgres
metadata:
  name: ${NAME}
  namespace: ${namespace}
spec:
  version: "15"
  replicas: 2
  standbyMode: Hot
  storage:
    storageClassName: standard
    accessModes: [ReadWriteOnce]
    resources:
      requests:
        storage: 128Mi
`),
  );

/** The annotation beside the agent image's (withLocalAgentImage wrote the mapping). */
const withTls = (tls: boolean, yaml: string) =>
  tls ? yaml : yaml.replace('  annotations:\n', '  annotations:\n    kpg.io/tls: "false"\n');

/** A psql client with the cluster's CA certificate (only ca.crt of NAME-tls) and both passwords in its environment. */
function clientPod(): object {
  const fromSecret = (name: string, key: string) => ({
    name,
    valueFrom: { secretKeyRef: { name: `${NAME}-auth`, key } },
  });
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'tls-client' },
    spec: {
      terminationGracePeriodSeconds: 1,
      securityContext: pgSecurityContext,
      containers: [
        {
          name: 'client',
          image: PG_IMAGE,
          command: ['bash', '-c', 'exec sleep infinity'],
          env: [
            fromSecret('PGPASSWORD', 'POSTGRES_PASSWORD'),
            fromSecret('REPL_PASSWORD', 'REPLICATION_PASSWORD'),
          ],
          volumeMounts: [{ name: 'ca', mountPath: '/ca', readOnly: true }],
        },
      ],
      volumes: [
        {
          name: 'ca',
          secret: { secretName: `${NAME}-tls`, items: [{ key: 'ca.crt', path: 'ca.crt' }] },
        },
      ],
    },
  };
}

/** psql in the client pod with a conninfo; `env` prefixes the command (e.g. PGPASSWORD=...). */
const psql = (conninfo: string, sql: string, env = '') =>
  kubectl(
    [
      '-n',
      ns,
      'exec',
      'tls-client',
      '--',
      'bash',
      '-c',
      `${env} psql "$1" -XAtq -c "$2"`,
      '-',
      `${conninfo} connect_timeout=5`,
      sql,
    ],
    { timeoutMs: 30_000 },
  );

const verified = (host: string, user = 'postgres', extra = '') =>
  `host=${host} user=${user} dbname=postgres sslmode=verify-full sslrootcert=/ca/ca.crt ${extra}`;

beforeAll(async () => {
  ns = await createNamespace('kpg-tls');
  const created = await kpg(['create', '-f', '-', '--timeout', '5m'], {
    input: manifest(ns, false),
  });
  expect(created.code, `${created.stdout}\n${created.stderr}`).toBe(0);
}, 360_000);

afterAll(async () => {
  if (ns) await deleteNamespace(ns);
});

describe('TLS by default', () => {
  it('off with kpg.io/tls: "false": plain TCP, no TLS Secrets, describe says so', async () => {
    const plain = await kubectl([
      '-n',
      ns,
      'exec',
      `${NAME}-0`,
      '-c',
      'postgres',
      '--',
      'bash',
      '-c',
      `PGPASSWORD=$POSTGRES_PASSWORD psql "host=${NAME} user=postgres dbname=postgres sslmode=disable" -XAtqc 'select 1'`,
    ]);
    expect(plain.code, plain.stderr).toBe(0);
    const secrets = await kubectlOk(['-n', ns, 'get', 'secrets', '-o', 'name']);
    expect(secrets).not.toMatch(/tlsc-(ca|tls)/);
    const d = await kpg(['describe', NAME, '-n', ns]);
    expect(d.stdout).toMatch(/^TLS:\n\s+off \(/m);
  });

  it('apply refuses to turn TLS on under running pods; delete and create again resume the data with it', async () => {
    expect(
      (await podSql(ns, `${NAME}-0`, 'create table kept(x int); insert into kept values (7)')).code,
    ).toBe(0);
    const refused = await kpg(['apply', '-f', '-', '--yes'], { input: manifest(ns, true) });
    expect(refused.code).toBe(1);
    expect(`${refused.stdout}${refused.stderr}`).toMatch(
      /turning it on for a running cluster is not supported/,
    );
    expect((await kpg(['delete', NAME, '-n', ns, '--yes'])).code).toBe(0);
    const created = await kpg(['create', '-f', '-', '--timeout', '5m'], {
      input: manifest(ns, true),
    });
    expect(created.code, `${created.stdout}\n${created.stderr}`).toBe(0);
    expect(created.stdout).toContain('finishing an earlier create');
    expect((await podSql(ns, `${NAME}-0`, 'select x from kept')).stdout.trim()).toBe('7');
    const secrets = await kubectlOk(['-n', ns, 'get', 'secrets', '-o', 'name']);
    expect(secrets).toMatch(/secret\/tlsc-ca/);
    expect(secrets).toMatch(/secret\/tlsc-tls/);
    await kubectlOk(['-n', ns, 'apply', '-f', '-'], { input: JSON.stringify(clientPod()) });
    await kubectlOk(
      ['-n', ns, 'wait', '--for=condition=Ready', 'pod/tls-client', '--timeout=120s'],
      { timeoutMs: 130_000 },
    );
  }, 420_000);

  it('verify-full through the primary Service and to the standby; the certificate names them', async () => {
    const primary = await psql(
      verified(NAME),
      'select s.ssl, s.version, pg_is_in_recovery() from pg_stat_ssl s where s.pid = pg_backend_pid()',
    );
    expect(primary.code, primary.stderr).toBe(0);
    expect(primary.stdout.trim()).toMatch(/^t\|TLSv1\.[23]\|f$/);
    // The hot standby, through the Service of every pod: the same certificate serves it.
    await waitFor(
      async () =>
        (await psql(verified(`${NAME}-replicas`), 'select pg_is_in_recovery()')).code === 0,
      60_000,
      { what: `${NAME}-replicas to answer with TLS` },
    );
  });

  it('refuses a connection without TLS, and a certificate checked against another CA', async () => {
    const plain = await psql(
      `host=${NAME} user=postgres dbname=postgres sslmode=disable`,
      'select 1',
    );
    expect(plain.code).not.toBe(0);
    expect(plain.stderr).toMatch(/no pg_hba\.conf entry for host .*no encryption/);
    const otherCa = await psql(
      `host=${NAME} user=postgres dbname=postgres sslmode=verify-full sslrootcert=/etc/ssl/certs/ca-certificates.crt`,
      'select 1',
    );
    expect(otherCa.code).not.toBe(0);
    expect(otherCa.stderr).toMatch(/certificate verify failed/);
    // The name is checked too: a pod IP is not in the certificate.
    const pod = await getJson<{ status: { podIP: string } }>(['-n', ns, 'pod', `${NAME}-0`]);
    const byIp = await psql(verified(pod.status.podIP), 'select 1');
    expect(byIp.code).not.toBe(0);
    expect(byIp.stderr).toMatch(
      /does not match host name|server certificate for .* does not match/,
    );
  });

  it('replication only for the replication user; the standby streams over TLS', async () => {
    const asSuperuser = await psql(
      verified(NAME, 'postgres', 'replication=true'),
      'IDENTIFY_SYSTEM',
    );
    expect(asSuperuser.code).not.toBe(0);
    expect(asSuperuser.stderr).toMatch(
      /no pg_hba\.conf entry for replication connection .*user "postgres"/,
    );
    const asReplicator = await psql(
      verified(NAME, 'replicator', 'replication=true'),
      'IDENTIFY_SYSTEM',
      'PGPASSWORD=$REPL_PASSWORD',
    );
    expect(asReplicator.code, asReplicator.stderr).toBe(0);
    const streams = await podSql(
      ns,
      `${NAME}-0`,
      "select r.application_name || ':' || s.ssl from pg_stat_replication r join pg_stat_ssl s on s.pid = r.pid",
    );
    expect(streams.stdout.trim()).toBe(`${NAME}-1:true`);
  });

  it('describe shows the certificate and how to connect with verify-full', async () => {
    const d = await kpg(['describe', NAME, '-n', ns]);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toMatch(/^TLS:\n\s+Certificate:\s+tlsc-tls\n\s+Valid until:\s+20\d\d-/m);
    expect(d.stdout).toContain(
      `psql "host=${NAME}.${ns}.svc user=postgres dbname=postgres sslmode=verify-full sslrootcert=${NAME}-ca.crt"`,
    );
    const json = JSON.parse((await kpg(['describe', NAME, '-n', ns, '-o', 'json'])).stdout) as {
      tls?: { enabled: boolean; names: string[] };
    };
    expect(json.tls?.enabled).toBe(true);
    expect(json.tls?.names).toContain(`${NAME}.${ns}.svc`);
  });

  it('the NetworkPolicy is admitted: PostgreSQL from anywhere, the agents only from their pods', async () => {
    const np = await getJson<{
      spec: { ingress: { from?: unknown[]; ports: { port: number }[] }[] };
    }>(['-n', ns, 'networkpolicy', NAME]);
    expect(np.spec.ingress.map((r) => [r.ports[0]?.port, r.from ? 'pods' : 'anyone'])).toEqual([
      [5432, 'anyone'],
      [8008, 'pods'],
    ]);
  });
});

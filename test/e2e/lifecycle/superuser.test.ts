// A cluster whose own Secret names another superuser than "postgres": create
// waits for it, describe reads every instance, failover switches over —
// every psql kpg runs uses the Secret's POSTGRES_USER (issue 12, item 6).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, deleteNamespace } from '../../cluster/kube.js';
import { example, kpg, kubectl, kubectlOk } from './helpers.js';

let ns = '';
const NAME = 'p1';

beforeAll(async () => {
  ns = await createNamespace('kpg-su');
  await kubectlOk(['-n', ns, 'apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'p1-auth' },
      stringData: { POSTGRES_USER: 'admin', POSTGRES_PASSWORD: 'a-long-password-0123456789' },
    }),
  });
});

afterAll(async () => {
  if (ns) await deleteNamespace(ns);
});

describe('a superuser named by the cluster Secret', () => {
  it('create waits for the cluster, describe reads the instances, switchover works', async () => {
    // Hot standbys answer psql, so describe reads every instance.
    const manifest = example('existing-secret.yaml', ns, (s) =>
      s.replace('replicas: 2', 'replicas: 2\n  standbyMode: Hot'),
    );
    const created = await kpg(['create', '-f', '-', '--timeout', '5m'], { input: manifest });
    expect(created.code, `${created.stdout}\n${created.stderr}`).toBe(0);

    // No role "postgres" exists: only the Secret's superuser can log in.
    const r = await kubectl([
      '-n',
      ns,
      'exec',
      `${NAME}-0`,
      '-c',
      'postgres',
      '--',
      'psql',
      '-XAtq',
      '-h',
      '/var/run/postgresql',
      '-U',
      'postgres',
      '-c',
      'select 1',
    ]);
    expect(r.stderr).toMatch(/role "postgres" does not exist/);

    const d = await kpg(['describe', NAME, '-n', ns, '-o', 'json']);
    expect(d.code, d.stderr).toBe(0);
    const status = JSON.parse(d.stdout) as {
      instances: { pod: string; postgres?: { lsn?: string }; error?: string }[];
    };
    expect(status.instances).toHaveLength(2);
    for (const i of status.instances) {
      expect(i.postgres?.lsn, `${i.pod} read by describe: ${i.error ?? ''}`).toMatch(/\//);
    }

    const fo = await kpg(['failover', NAME, '-n', ns, '--yes', '-o', 'json']);
    expect(fo.code, `${fo.stdout}\n${fo.stderr}`).toBe(0);
    expect((JSON.parse(fo.stdout) as { kind: string }).kind).toBe('switchover');
  });
});

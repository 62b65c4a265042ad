import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Config, Errors } from '@oclif/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import Create from '../../../src/commands/create.js';
import { memoryTerminal } from '../../../src/lib/cli/terminal.js';

const ROOT = join(import.meta.dirname, '../../..');
const dir = mkdtempSync(join(tmpdir(), 'kpg-create-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HA = `apiVersion: kubedb.com/v1alpha1
kind: Postgres
metadata:
  name: ha-postgres
  namespace: demo
spec:
  version: "15"
  replicas: 3
  standbyMode: Hot
  storage:
    storageClassName: "standard"
    accessModes:
    - ReadWriteOnce
    resources:
      requests:
        storage: 1Gi
  podTemplate:
    spec:
      resources:
        requests:
          memory: 256Mi
`;

let config: Config;
beforeAll(async () => {
  config = await Config.load(ROOT);
});

/** Runs `kpg create ARGV` in process with a recording terminal. */
async function create(argv: string[]) {
  const term = memoryTerminal();
  const cmd = new Create(argv, config);
  cmd.terminal = term;
  let exit = 0;
  try {
    // _run (init, run, catch) is protected in oclif types; tests drive it like oclif does.
    await (cmd as unknown as { _run(): Promise<unknown> })._run();
  } catch (err) {
    if (!(err instanceof Errors.ExitError)) throw err;
    exit = err.oclif.exit ?? 1;
  }
  return { exit, stdout: term.out(), stderr: term.err() };
}

describe('kpg create --dry-run=client', () => {
  const file = join(dir, 'ha.yaml');
  writeFileSync(file, HA);

  it('-o yaml prints a YAML stream with every kind, record before the StatefulSet', async () => {
    const r = await create(['-f', file, '--dry-run=client', '-o', 'yaml']);
    expect(r.exit).toBe(0);
    expect(r.stderr).toBe(
      'note: Secret/ha-postgres-auth, Secret/ha-postgres-ca, Secret/ha-postgres-tls printed without their data (--show-secrets prints the passwords and keys)\n',
    );
    const docs = parseAllDocuments(r.stdout).map(
      (d) => d.toJS() as { kind: string; metadata: { name: string; namespace: string } },
    );
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual([
      'Secret/ha-postgres-auth',
      'Secret/ha-postgres-ca',
      'Secret/ha-postgres-tls',
      'ServiceAccount/ha-postgres.kpg-agent',
      'Role/ha-postgres.kpg-agent',
      'RoleBinding/ha-postgres.kpg-agent',
      'ConfigMap/ha-postgres-config',
      'ConfigMap/ha-postgres-kpg-agent',
      'Service/ha-postgres',
      'Service/ha-postgres-replicas',
      'Service/ha-postgres-pods',
      'ConfigMap/ha-postgres-kpg',
      'StatefulSet/ha-postgres',
      'PodDisruptionBudget/ha-postgres',
      'NetworkPolicy/ha-postgres',
    ]);
    expect(docs.every((d) => d.metadata.namespace === 'demo')).toBe(true);
  });

  it('prints the Secret without its generated passwords unless --show-secrets', async () => {
    const secretOf = (out: string) =>
      (
        JSON.parse(out) as {
          items: {
            kind: string;
            data?: Record<string, string>;
            metadata: { annotations?: Record<string, string> };
          }[];
        }
      ).items.find((i) => i.kind === 'Secret');
    const hidden = secretOf((await create(['-f', file, '--dry-run=client', '-o', 'json'])).stdout);
    expect(hidden?.data).toBeUndefined();
    expect(hidden?.metadata.annotations?.['kpg.io/redacted']).toContain('--show-secrets');
    // The TLS Secrets too: no key leaves without --show-secrets.
    const all = JSON.parse(
      (await create(['-f', file, '--dry-run=client', '-o', 'json'])).stdout,
    ) as { items: { metadata: { name: string }; data?: Record<string, string> }[] };
    expect(all.items.find((i) => i.metadata.name === 'ha-postgres-tls')?.data).toBeUndefined();
    const shown = await create(['-f', file, '--dry-run=client', '--show-secrets', '-o', 'json']);
    expect(shown.stderr).toBe('');
    const data = secretOf(shown.stdout)?.data ?? {};
    const password = Buffer.from(data.POSTGRES_PASSWORD ?? '', 'base64').toString();
    expect(password.length).toBeGreaterThanOrEqual(16);
    // The certificates too, issued for this cluster's names.
    const items = JSON.parse(shown.stdout).items as {
      metadata: { name: string };
      data?: Record<string, string>;
    }[];
    const tls = items.find((i) => i.metadata.name === 'ha-postgres-tls')?.data ?? {};
    const cert = new X509Certificate(Buffer.from(tls['tls.crt'] ?? '', 'base64'));
    const ca = new X509Certificate(Buffer.from(tls['ca.crt'] ?? '', 'base64'));
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.checkHost('ha-postgres.demo.svc')).toBe('ha-postgres.demo.svc');
    expect(cert.checkHost('ha-postgres-1.ha-postgres-pods.demo.svc.cluster.local')).toBeDefined();
    expect(Object.keys(tls).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
    const yaml = (await create(['-f', file, '--dry-run=client', '-o', 'yaml'])).stdout;
    const secret = parseAllDocuments(yaml)
      .map((d) => d.toJS() as { kind: string; data?: unknown; stringData?: unknown })
      .find((d) => d.kind === 'Secret');
    expect(secret).toBeDefined();
    expect(secret?.data ?? secret?.stringData).toBeUndefined();
  });

  it('-o json prints a v1 List', async () => {
    const r = await create(['-f', file, '--dry-run=client', '-o', 'json']);
    const list = JSON.parse(r.stdout);
    expect(list.kind).toBe('List');
    expect(list.items).toHaveLength(15);
  });

  it('-n names the namespace of manifests without one, else default', async () => {
    const f = join(dir, 'nons.yaml');
    writeFileSync(f, HA.replace('  namespace: demo\n', ''));
    const ns = async (argv: string[]) =>
      new Set(
        JSON.parse(
          (await create(['-f', f, '--dry-run=client', '-o', 'json', ...argv])).stdout,
        ).items.map((i: { metadata: { namespace: string } }) => i.metadata.namespace),
      );
    expect(await ns(['-n', 'team'])).toEqual(new Set(['team']));
    expect(await ns([])).toEqual(new Set(['default']));
  });

  it('refuses invalid input with its problems and exit 1, printing no objects', async () => {
    const f = join(dir, 'bad.yaml');
    writeFileSync(f, HA.replace('replicas: 3', 'replicas: three'));
    const r = await create(['-f', f, '--dry-run=client', '-o', 'yaml']);
    expect(r.exit).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('bad.yaml');
  });
});

describe('kpg create (live)', () => {
  it('without a usable kubeconfig: exit 3, nothing printed as created', async () => {
    const f = join(dir, 'live.yaml');
    writeFileSync(f, HA);
    const r = await create(['-f', f, '--kubeconfig', join(dir, 'missing-kubeconfig')]);
    expect(r.exit).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('missing-kubeconfig');
  });

  it('without -f and without a terminal: a usage error (exit 2)', async () => {
    const r = await create([]);
    expect(r.exit).toBe(2);
    expect(r.stderr).toContain('no manifest given');
  });
});

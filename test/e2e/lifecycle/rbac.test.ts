// examples/rbac against the local cluster: a kubeconfig bound to a
// ServiceAccount with the minimal Role (token from `kubectl create token`)
// can create, get, describe, apply and delete; a Role missing one verb fails
// up front with a message naming the verb and the resource.
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withLocalAgent } from '../../cluster/manifests.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import {
  createNamespace,
  deleteNamespace,
  kubectlPath,
  repoRoot,
  run,
} from '../../cluster/kube.js';
import { bin, kubectlOk } from './helpers.js';

const NAME = 'pgr';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

// The Role grants the Secret and the Leases by name, for cluster ha-postgres: renamed as its README says.
const exampleDocs = (file: string, ns: string) =>
  readFileSync(join(repoRoot, 'examples', 'rbac', file), 'utf8')
    .replaceAll('namespace: demo', `namespace: ${ns}`)
    .replaceAll('ha-postgres-', `${NAME}-`);

/** A ServiceAccount `sa` bound to the example Role, with `edit` applied to its rules. */
async function account(
  ns: string,
  sa: string,
  edit: (rules: Rule[]) => Rule[] = (r) => r,
): Promise<string> {
  const role = parse(exampleDocs('role.yaml', ns)) as { metadata: { name: string }; rules: Rule[] };
  role.metadata.name = sa;
  role.rules = edit(role.rules);
  const binding = parseAllDocuments(exampleDocs('rolebinding.yaml', ns))[0]!.toJS() as {
    metadata: { name: string };
    roleRef: { name: string };
    subjects: { name: string }[];
  };
  binding.metadata.name = sa;
  binding.roleRef.name = sa;
  binding.subjects[0]!.name = sa;
  const saDoc = exampleDocs('serviceaccount.yaml', ns).replace('name: kpg', `name: ${sa}`);
  await kubectlOk(['apply', '-f', '-'], {
    input: [saDoc, stringify(role), stringify(binding)].join('\n---\n'),
  });
  const token = (await kubectlOk(['-n', ns, 'create', 'token', sa, '--duration=1h'])).trim();
  const admin = JSON.parse(
    await kubectlOk(['config', 'view', '--minify', '--raw', '-o', 'json']),
  ) as {
    clusters: { name: string; cluster: Record<string, unknown> }[];
  };
  const cluster = admin.clusters[0]!;
  const file = join(tmpdir(), `kpg-rbac-${ns}-${sa}.kubeconfig`);
  writeFileSync(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [cluster],
      users: [{ name: sa, user: { token } }],
      contexts: [{ name: sa, context: { cluster: cluster.name, user: sa, namespace: ns } }],
      'current-context': sa,
    }),
    { mode: 0o600 },
  );
  return file;
}

function kpgAs(kubeconfig: string, args: string[]) {
  return run(process.execPath, [bin, ...args], {
    timeoutMs: 600_000,
    env: { ...process.env, KUBECONFIG: kubeconfig, NO_COLOR: '1' },
  });
}

function manifest(ns: string, team: string): string {
  const file = join(tmpdir(), `kpg-rbac-${ns}-${team}.yaml`);
  writeFileSync(
    file,
    // With the in-pod agent: its Role is the widest kpg creates, and the
    // example Role must hold every permission of it.
    withLocalAgent(`apiVersion: kubedb.com/v1alpha1
kind: Postgres
metadata:
  name: ${NAME}
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
  podTemplate:
    metadata:
      labels:
        team: ${team}
`),
  );
  return file;
}

const without = (resource: string, verb: string) => (rules: Rule[]) =>
  rules.map((r) =>
    r.resources.includes(resource) ? { ...r, verbs: r.verbs.filter((v) => v !== verb) } : r,
  );

describe('examples/rbac: namespace-scoped permissions', () => {
  let ns = '';
  let full = '';
  beforeAll(async () => {
    ns = await createNamespace('rbac');
    full = await account(ns, 'kpg');
  });
  afterAll(async () => {
    if (ns) await deleteNamespace(ns);
  });

  it('a Role missing `create` on statefulsets fails naming it, before creating anything', async () => {
    const limited = await account(ns, 'no-sts', without('statefulsets', 'create'));
    const r = await kpgAs(limited, ['create', '-f', manifest(ns, 'a')]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/statefulsets/);
    expect(r.stderr).toMatch(/`(create|patch)`/);
    // Checked up front: not even the Secret or the record was created.
    const left = await kubectlOk([
      'get',
      'statefulsets,services,configmaps,secrets,serviceaccounts,roles,rolebindings',
      '-n',
      ns,
      '-l',
      `kubedb.com/name=${NAME}`,
      '-o',
      'name',
    ]);
    expect(left.trim()).toBe('');
  });

  it('the minimal Role can create, get, describe, apply and delete', async () => {
    // The create above may have left objects (create's own business): start clean.
    await kubectlOk([
      '-n',
      ns,
      'delete',
      'all,cm,secret,sa,role,rolebinding,pdb,pvc',
      '-l',
      `kubedb.com/name=${NAME}`,
      '--wait',
    ]);
    const c = await kpgAs(full, ['create', '-f', manifest(ns, 'a')]);
    expect(c.code, c.stderr).toBe(0);
    const g = await kpgAs(full, ['get', NAME]);
    expect(g.code, g.stderr).toBe(0);
    expect(g.stdout).toMatch(NAME);
    const d = await kpgAs(full, ['describe', NAME]);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stderr).not.toMatch(/forbidden/i);
    const a = await kpgAs(full, ['apply', '-f', manifest(ns, 'b'), '--yes']);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toMatch(/applied \(generation 2\)/);
  });

  it('the minimal Role reads its own Secret only, by name (issue 12, item 12)', async () => {
    const can = async (what: string) =>
      (
        await run(kubectlPath, ['--kubeconfig', full, 'auth', 'can-i', 'get', what, '-n', ns])
      ).stdout.trim();
    expect(await can(`secret/${NAME}-auth`)).toBe('yes');
    expect(await can('secret/someone-elses')).toBe('no');
    expect(await can('secrets')).toBe('no');
  });

  it('a Role missing `delete` on pods refuses a rolling restart up front, changing nothing', async () => {
    const limited = await account(ns, 'no-pod-delete', without('pods', 'delete'));
    const r = await kpgAs(limited, ['apply', '-f', manifest(ns, 'c'), '--yes']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/kpg needs permission to `delete` `pods`/);
    expect(r.stderr).toMatch(/nothing was changed/);
    const gen = await kubectlOk([
      '-n',
      ns,
      'get',
      'cm',
      `${NAME}-kpg`,
      '-o',
      'jsonpath={.data.generation}',
    ]);
    expect(gen.trim()).toBe('2');
    const labels = await kubectlOk([
      '-n',
      ns,
      'get',
      'sts',
      NAME,
      '-o',
      'jsonpath={.spec.template.metadata.labels.team}',
    ]);
    expect(labels.trim()).toBe('b');
  });

  it('a Role missing `patch` on pods cannot grant it to the pods’ Role: refused by name', async () => {
    const limited = await account(ns, 'no-pod-patch', without('pods', 'patch'));
    const r = await kpgAs(limited, ['apply', '-f', manifest(ns, 'c'), '--yes']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/`patch` `pods`/);
  });

  // Issue 12 item 4: kpg failover checks its permissions before it takes
  // its Lease; a 403 half way is what that prevents.
  it('a Role missing `delete` on pods refuses kpg failover up front, changing nothing', async () => {
    // The record and the Lease (kpg apply held it before) are untouched.
    const state = async () =>
      (
        await kubectlOk([
          '-n',
          ns,
          'get',
          `cm/${NAME}-kpg`,
          `lease/${NAME}-failover`,
          '-o',
          'jsonpath={.items[*].metadata.resourceVersion}',
        ])
      ).trim();
    const before = await state();
    const limited = await account(ns, 'no-pod-delete', without('pods', 'delete'));
    const r = await kpgAs(limited, ['failover', NAME, '--yes']);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/kpg needs permission to `delete` `pods`/);
    expect(r.stderr).toMatch(/nothing was changed/);
    expect(await state()).toBe(before);
  });

  it('the minimal Role can switch over with kpg failover', async () => {
    const r = await kpgAs(full, ['failover', NAME, '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/switched over/);
  });

  it('the minimal Role deletes the cluster', async () => {
    const r = await kpgAs(full, ['delete', NAME, '--yes']);
    expect(r.code, r.stderr).toBe(0);
    const left = await kubectlOk([
      '-n',
      ns,
      'get',
      'pods,sts',
      '-l',
      `kubedb.com/name=${NAME}`,
      '-o',
      'name',
    ]);
    expect(left.trim()).toBe('');
  });
});

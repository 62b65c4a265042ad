// kpg create, end to end, in a namespace that enforces Pod Security
// `restricted`: KubeDB's hot-standby walkthrough, data through the
// primary Service, recovery of deleted pods with no kpg running (the in-pod
// agents, the default, fail over a deleted primary), refusals,
// invalid input, and convergence of a half-created cluster.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, deleteNamespace } from '../../cluster/kube.js';
import {
  clientSql,
  endpointsOf,
  example,
  kpg,
  kubectl,
  kubectlOk,
  podLabels,
  podSql,
  recordPrimary,
  startClient,
  streaming,
  waitFor,
} from './helpers.js';

const NAME = 'hot-postgres';
let ns = '';
let createMs = 0;

beforeAll(async () => {
  ns = await createNamespace('kpg-create');
  // Issue 12, item 10: a namespace that enforces Pod Security `restricted` admits a kpg cluster.
  await kubectlOk([
    'label',
    'namespace',
    ns,
    'pod-security.kubernetes.io/enforce=restricted',
    'pod-security.kubernetes.io/enforce-version=latest',
  ]);
});
afterAll(async () => {
  if (ns) await deleteNamespace(ns);
});

describe('kpg create: the hot-standby walkthrough', () => {
  it('creates and waits until the primary writes and both standbys stream', async () => {
    const r = await kpg(['create', '-f', '-', '--timeout', '5m'], {
      input: example('hot-postgres.yaml', ns),
    });
    createMs = r.ms;
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`postgres "${NAME}" created`);
    expect(r.stdout).toMatch(
      /is ready: primary hot-postgres-0 accepts writes, 2 standbys streaming/,
    );
    // Plain progress lines (no terminal): one per finished step.
    expect(r.stderr).toMatch(/done: primary hot-postgres-0 accepts writes \(\d/);
    expect(r.stderr).toMatch(/done: 2 standbys streaming from hot-postgres-0/);
    console.log(`kpg create (3 servers, hot) took ${(createMs / 1000).toFixed(1)}s`);
  });

  it('pods label themselves primary and replica', async () => {
    expect(await podLabels(ns, NAME)).toEqual({
      'hot-postgres-0': 'primary',
      'hot-postgres-1': 'replica',
      'hot-postgres-2': 'replica',
    });
  });

  it("the two Services have the seed's selectors and endpoints", async () => {
    const sel = async (svc: string) =>
      JSON.parse(
        await kubectlOk(['-n', ns, 'get', 'svc', svc, '-o', 'jsonpath={.spec.selector}']),
      ) as unknown;
    expect(await sel(NAME)).toEqual({
      'kubedb.com/kind': 'Postgres',
      'kubedb.com/name': NAME,
      'kubedb.com/role': 'primary',
    });
    expect(await sel(`${NAME}-replicas`)).toEqual({
      'kubedb.com/kind': 'Postgres',
      'kubedb.com/name': NAME,
    });
    await waitFor(async () => (await endpointsOf(ns, NAME)).join() === 'hot-postgres-0', 30_000, {
      what: 'primary endpoint',
    });
    await waitFor(async () => (await endpointsOf(ns, `${NAME}-replicas`)).length === 3, 30_000, {
      what: 'replicas endpoints',
    });
  });

  it('pg_stat_replication on the primary lists both standbys streaming', async () => {
    expect(await streaming(ns, 'hot-postgres-0')).toEqual(['hot-postgres-1', 'hot-postgres-2']);
  });

  it("no backend holds a password in its environment (what a superuser's SQL can read)", async () => {
    // A backend's environment, as any program it starts inherits it (the
    // postmaster's own /proc environ is overwritten by its process title).
    const r = await podSql(
      ns,
      'hot-postgres-0',
      "create temp table e(l text); copy e from program 'env'; select count(*) filter (where l like '%PASSWORD=%'), count(*) filter (where l like 'PGPASSFILE=%') from e",
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('0|1');
  });

  it('a hot standby refuses CREATE DATABASE (read-only) and answers a read query', async () => {
    const w = await podSql(ns, 'hot-postgres-2', 'CREATE DATABASE standby');
    expect(w.code).not.toBe(0);
    expect(w.stderr).toContain('cannot execute CREATE DATABASE in a read-only transaction');
    const r = await podSql(ns, 'hot-postgres-2', 'select pg_last_wal_receive_lsn()');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
  });

  it('data written through the primary Service is readable on every hot standby', async () => {
    await startClient(ns, `${NAME}-auth`);
    const w = await clientSql(
      ns,
      NAME,
      "create table t(v text); insert into t values ('written-through-service')",
    );
    expect(w.stderr).toBe('');
    expect(w.code).toBe(0);
    for (const pod of ['hot-postgres-1', 'hot-postgres-2']) {
      await waitFor(
        async () =>
          (await clientSql(ns, `${pod}.${NAME}-pods`, 'select v from t')).stdout.trim() ===
          'written-through-service',
        30_000,
        {
          what: `the row on ${pod}`,
        },
      );
    }
  });

  it('with no kpg running: a deleted primary pod → a standby takes over, the old one rejoins, the data kept', async () => {
    // The seed's walkthrough, on a cluster created with the defaults (the in-pod agent).
    const old = await recordPrimary(ns, NAME);
    await kubectlOk(['-n', ns, 'delete', 'pod', old, '--wait=true']);
    const next = await waitFor(
      async () => {
        const primaries = Object.entries(await podLabels(ns, NAME)).filter(
          ([, role]) => role === 'primary',
        );
        const only = primaries.length === 1 ? primaries[0]?.[0] : undefined;
        return only !== undefined && only !== old ? only : undefined;
      },
      180_000,
      { what: `a pod other than ${old} labelled primary` },
    );
    expect(await recordPrimary(ns, NAME)).toBe(next);
    await waitFor(
      async () =>
        (await clientSql(ns, NAME, 'select v from t')).stdout.trim() === 'written-through-service',
      120_000,
      {
        what: 'the row through the primary Service',
      },
    );
    await waitFor(async () => (await streaming(ns, next)).length === 2, 180_000, {
      what: `both standbys (${old} too) streaming from ${next}`,
    });
    await waitFor(async () => (await podLabels(ns, NAME))[old] === 'replica', 30_000, {
      what: `${old} labelled replica`,
    });
    expect(await endpointsOf(ns, NAME)).toEqual([next]);
  });

  it('with no kpg running: a deleted standby comes back streaming', async () => {
    const primary = await recordPrimary(ns, NAME);
    const standby = [0, 1, 2].map((i) => `${NAME}-${i}`).find((p) => p !== primary) ?? '';
    await kubectlOk(['-n', ns, 'delete', 'pod', standby, '--wait=true']);
    await waitFor(async () => (await streaming(ns, primary)).includes(standby), 180_000, {
      what: `${standby} streaming again`,
    });
    // Its agent labels it at its next cycle once its postgres runs as a standby.
    await waitFor(async () => (await podLabels(ns, NAME))[standby] === 'replica', 30_000, {
      what: `${standby} labelled replica`,
    });
    await waitFor(async () => (await endpointsOf(ns, `${NAME}-replicas`)).length === 3, 120_000, {
      what: 'all pods behind the replicas Service',
    });
    expect(await endpointsOf(ns, NAME)).toEqual([primary]);
  });

  it('create on the existing cluster is refused with a pointer to kpg apply (exit 6)', async () => {
    const r = await kpg(['create', '-f', '-'], { input: example('hot-postgres.yaml', ns) });
    expect(r.code).toBe(6);
    expect(r.stderr).toContain(`postgres "${NAME}" already exists in namespace ${ns}`);
    expect(r.stderr).toContain('kpg apply -f -');
    expect(r.stdout).toBe('');
  });
});

describe('kpg create: refusals and convergence', () => {
  let ns2 = '';
  beforeAll(async () => {
    ns2 = await createNamespace('kpg-create2');
  });
  afterAll(async () => {
    if (ns2) await deleteNamespace(ns2);
  });

  it('invalid input sends nothing, even when another document is valid', async () => {
    const good = example('ha-postgres.yaml', ns2, (s) =>
      s.replace('name: ha-postgres', 'name: good'),
    );
    const bad = example('ha-postgres.yaml', ns2, (s) =>
      s.replace('name: ha-postgres', 'name: bad').replace('replicas: 3', 'replicas: -1'),
    );
    const r = await kpg(['create', '-f', '-'], { input: `${good}\n---\n${bad}` });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('nothing was created');
    const cms = await kubectlOk([
      '-n',
      ns2,
      'get',
      'configmaps,statefulsets,secrets,services',
      '-l',
      'app.kubernetes.io/managed-by=kpg',
      '-o',
      'name',
    ]);
    expect(cms.trim()).toBe('');
  });

  // Issue 12, item 8: kpg create takes over no object it did not make.
  const kpgObjects = async () =>
    (
      await kubectlOk([
        '-n',
        ns2,
        'get',
        'configmaps,statefulsets,secrets,services,serviceaccounts,roles',
        '-l',
        'app.kubernetes.io/managed-by=kpg',
        '-o',
        'name',
      ])
    ).trim();

  it("a cluster named default (no agent) leaves the namespace's own ServiceAccount alone", async () => {
    const before = await kubectlOk(['-n', ns2, 'get', 'serviceaccount', 'default', '-o', 'json']);
    const r = await kpg(['create', '-f', '-'], {
      input: example('ha-postgres.yaml', ns2, (t) =>
        t
          .replace('name: ha-postgres', 'name: default')
          .replace(
            /( *)kpg\.io\/agent-image: .*\n/,
            (m, sp: string) => `${m}${sp}kpg.io/agent: "false"\n`,
          ),
      ),
    });
    expect(r.code, r.stderr).toBe(6);
    expect(r.stderr).toContain(
      `ServiceAccount ${ns2}/default exists and kpg did not make it (it has no label app.kubernetes.io/managed-by=kpg)`,
    );
    expect(r.stderr).toContain('nothing was created');
    expect(await kpgObjects()).toBe('');
    const after = await kubectlOk(['-n', ns2, 'get', 'serviceaccount', 'default', '-o', 'json']);
    expect(JSON.parse(after).metadata).toEqual(JSON.parse(before).metadata);
  });

  it("a Service of the user's with a name the cluster needs is refused, and left as it was", async () => {
    await kubectlOk(['-n', ns2, 'create', 'service', 'clusterip', 'mine-replicas', '--tcp=5432']);
    const r = await kpg(['create', '-f', '-'], {
      input: example('ha-postgres.yaml', ns2, (t) => t.replace('name: ha-postgres', 'name: mine')),
    });
    expect(r.code, r.stderr).toBe(6);
    expect(r.stderr).toContain(`Service ${ns2}/mine-replicas exists and kpg did not make it`);
    expect(await kpgObjects()).toBe('');
    const svc = JSON.parse(
      await kubectlOk(['-n', ns2, 'get', 'service', 'mine-replicas', '-o', 'json']),
    );
    expect(svc.metadata.labels).toEqual({ app: 'mine-replicas' });
    await kubectlOk(['-n', ns2, 'delete', 'service', 'mine-replicas']);
  });

  it('a namespace flag that contradicts the manifest is refused', async () => {
    const r = await kpg(['create', '-f', '-', '-n', 'elsewhere'], {
      input: example('ha-postgres.yaml', ns2),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('does not match --namespace elsewhere');
  });

  it('--dry-run=server validates on the server and persists nothing', async () => {
    const r = await kpg(['create', '-f', '-', '--dry-run=server'], {
      input: example('ha-postgres.yaml', ns2),
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('postgres "ha-postgres" created (server dry run)');
    expect((await kubectl(['-n', ns2, 'get', 'statefulset', 'ha-postgres'])).code).not.toBe(0);
  });

  it('a half-created cluster (record and Secret only) converges on a second create', async () => {
    const manifest = example('ha-postgres.yaml', ns2, (s) =>
      s.replace('replicas: 3', 'replicas: 2'),
    );
    const objs = JSON.parse(
      (
        await kpg(['create', '-f', '-', '--dry-run=client', '--show-secrets', '-o', 'json'], {
          input: manifest,
        })
      ).stdout,
    ) as {
      items: { kind: string; metadata: { name: string } }[];
    };
    const partial = objs.items.filter(
      (o) => o.metadata.name === 'ha-postgres-kpg' || o.kind === 'Secret',
    );
    // The record, NAME-auth, and the TLS pair NAME-ca and NAME-tls.
    expect(partial).toHaveLength(4);
    await kubectlOk(['-n', ns2, 'create', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: partial }),
    });
    const secretBefore = await kubectlOk([
      '-n',
      ns2,
      'get',
      'secret',
      'ha-postgres-auth',
      '-o',
      'jsonpath={.metadata.uid}',
    ]);
    const r = await kpg(['create', '-f', '-', '--timeout', '5m'], { input: manifest });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('postgres "ha-postgres" created (finishing an earlier create)');
    expect(r.stdout).toContain('1 standby streaming');
    // The existing Secret was kept, not replaced.
    expect(
      await kubectlOk([
        '-n',
        ns2,
        'get',
        'secret',
        'ha-postgres-auth',
        '-o',
        'jsonpath={.metadata.uid}',
      ]),
    ).toBe(secretBefore);
  });

  it('a warm standby refuses connections', async () => {
    const r = await podSql(ns2, 'ha-postgres-1', 'select 1');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/not (yet )?accepting connections|hot standby mode is disabled/i);
    expect(await streaming(ns2, 'ha-postgres-0')).toEqual(['ha-postgres-1']);
    // describe reads the warm standby's control file instead, and calls the cluster healthy.
    const d = await kpg(['describe', 'ha-postgres', '-n', ns2, '--exit-code']);
    expect(d.code).toBe(0);
    expect(d.stdout).toMatch(/ha-postgres-1 +replica +standby \(warm\) +true/);
  });
});

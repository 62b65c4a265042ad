// kpg delete against the local cluster: each terminationPolicy leaves exactly
// what it promises (everything labelled with the cluster, and its PVCs, listed
// after), Pause then create resumes the data, DoNotTerminate refuses.
import { withLocalAgentImage } from '../../cluster/manifests.js';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, deleteNamespace } from '../../cluster/kube.js';
import { kpg, kubectlOk, podSql, streaming, waitFor } from './helpers.js';

const KINDS =
  'pods,services,statefulsets,poddisruptionbudgets,networkpolicies,configmaps,secrets,serviceaccounts,roles,rolebindings,persistentvolumeclaims,endpointslices,controllerrevisions,leases';

function manifest(
  ns: string,
  name: string,
  o: { replicas: number; policy?: string; team?: string },
): string {
  const file = join(tmpdir(), `kpg-delete-${ns}-${name}-${Date.now()}.yaml`);
  writeFileSync(
    file,
    withLocalAgentImage(`apiVersion: kubedb.com/v1alpha1
kind: Postgres
metadata:
  name: ${name}
  namespace: ${ns}
${o.team ? `  labels:\n    team: ${o.team}\n` : ''}spec:
  version: "15"
  replicas: ${o.replicas}
  storage:
    storageClassName: standard
    accessModes: [ReadWriteOnce]
    resources:
      requests:
        storage: 128Mi
${o.policy ? `  terminationPolicy: ${o.policy}\n` : ''}`),
  );
  return file;
}

/** Everything labelled with the cluster, plus PVCs named data-NAME-N, as sorted kind/name. */
async function leftovers(ns: string, name: string): Promise<string[]> {
  const out = await kubectlOk([
    '-n',
    ns,
    'get',
    KINDS,
    '-l',
    `kubedb.com/name=${name}`,
    '-o',
    'name',
  ]);
  const pvcs = await kubectlOk(['-n', ns, 'get', 'pvc', '-o', 'name']);
  const named = pvcs
    .split('\n')
    .filter((l) => new RegExp(`^persistentvolumeclaim/data-${name}-\\d+$`).test(l.trim()));
  return [...new Set([...out.split('\n'), ...named].map((l) => l.trim()).filter(Boolean))].sort();
}

/** Waits until the garbage collector is done (endpointslices, controllerrevisions) and compares. */
async function expectLeft(ns: string, name: string, want: string[]): Promise<void> {
  let last: string[] = [];
  await waitFor(
    async () => {
      last = await leftovers(ns, name);
      return JSON.stringify(last) === JSON.stringify([...want].sort());
    },
    60_000,
    { what: `only ${want.join(', ')} left`, intervalMs: 1000 },
  ).catch(() => undefined);
  expect(last).toEqual([...want].sort());
}

describe('kpg delete', () => {
  let ns = '';
  beforeAll(async () => {
    ns = await createNamespace('delete');
  });
  afterAll(async () => {
    if (ns) await deleteNamespace(ns);
  });

  it('not found is exit 5, and 0 with --ignore-not-found', async () => {
    const r = await kpg(['delete', 'nope', '-n', ns, '--yes']);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/postgres "nope" not found/);
    const q = await kpg(['delete', 'nope', '-n', ns, '--yes', '--ignore-not-found']);
    expect(q.code).toBe(0);
  });

  it('Pause (unset) keeps PVCs, Secret and record; create again finds the old data', async () => {
    const file = manifest(ns, 'pgp', { replicas: 2 });
    expect((await kpg(['create', '-f', file])).code).toBe(0);
    expect(
      (await podSql(ns, 'pgp-0', 'create table t(x int); insert into t values (42)')).code,
    ).toBe(0);

    const dry = await kpg(['delete', 'pgp', '-n', ns, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/terminationPolicy Pause/);
    expect(dry.stdout).toMatch(/keep\s+PersistentVolumeClaim data-pgp-0/);
    expect((await leftovers(ns, 'pgp')).some((l) => l === 'statefulset.apps/pgp')).toBe(true);

    const noTty = await kpg(['delete', 'pgp', '-n', ns]);
    expect(noTty.code).toBe(2);
    expect(noTty.stderr).toMatch(/--yes/);

    const r = await kpg(['delete', 'pgp', '-n', ns, '--yes']);
    expect(r.code, r.stderr).toBe(0);
    await expectLeft(ns, 'pgp', [
      'configmap/pgp-kpg',
      'persistentvolumeclaim/data-pgp-0',
      'persistentvolumeclaim/data-pgp-1',
      'secret/pgp-auth',
      'secret/pgp-ca',
      'secret/pgp-tls',
    ]);

    const again = await kpg(['create', '-f', file]);
    expect(again.code, again.stderr).toBe(0);
    const sel = await podSql(ns, 'pgp-0', 'select x from t');
    expect(sel.stdout.trim()).toBe('42');
    // The standby (warm: it takes no queries) resumed its own data and streams again.
    expect(await streaming(ns, 'pgp-0')).toEqual(['pgp-1']);
  });

  it('Delete removes the PVCs and the record, keeps the Secret', async () => {
    const set = await kpg([
      'apply',
      '-f',
      manifest(ns, 'pgp', { replicas: 2, policy: 'Delete' }),
      '--yes',
    ]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/record\s+spec\.terminationPolicy: Pause → Delete/);
    // Issue 16, item 12: what kpg did is on the StatefulSet, for kubectl alone to tell.
    const described = await kubectlOk(['-n', ns, 'describe', 'statefulset', 'pgp']);
    expect(described).toMatch(
      /Normal\s+Created\s+.*kpg\s+kpg create: primary pgp-0 accepts writes/,
    );
    expect(described).toMatch(
      /Normal\s+Applied\s+.*kpg apply: generation \d+: .*terminationPolicy/,
    );
    const r = await kpg(['delete', 'pgp', '-n', ns, '--yes']);
    expect(r.code, r.stderr).toBe(0);
    await expectLeft(ns, 'pgp', ['secret/pgp-auth', 'secret/pgp-ca', 'secret/pgp-tls']);
    const events = JSON.parse(
      await kubectlOk([
        '-n',
        ns,
        'get',
        'events',
        '--field-selector',
        'involvedObject.kind=StatefulSet,involvedObject.name=pgp',
        '-o',
        'json',
      ]),
    ) as { items: { reason: string; message: string; source?: { component?: string } }[] };
    const ours = events.items.filter((e) => e.source?.component === 'kpg');
    expect(ours.map((e) => e.reason)).toEqual(
      expect.arrayContaining(['Created', 'Deleted', 'Applied', 'Created']),
    );
    // The earlier Pause test's pgp was deleted too: its event is listed as well.
    expect(ours.filter((e) => e.reason === 'Deleted').map((e) => e.message)).toContainEqual(
      expect.stringMatching(
        /kpg delete \(terminationPolicy Delete\): \d+ objects removed; kept (Secret\/pgp-(auth|ca|tls)(, |$)){3}/,
      ),
    );
  });

  it('WipeOut removes everything', async () => {
    const file = manifest(ns, 'pgw', { replicas: 1, policy: 'WipeOut' });
    expect((await kpg(['create', '-f', file])).code).toBe(0);
    const r = await kpg(['delete', '-f', file, '--yes']);
    expect(r.code, r.stderr).toBe(0);
    await expectLeft(ns, 'pgw', []);
  });

  it('DoNotTerminate refuses (exit 9) and changes nothing', async () => {
    const file = manifest(ns, 'pgd', { replicas: 1, policy: 'DoNotTerminate' });
    expect((await kpg(['create', '-f', file])).code).toBe(0);
    const before = await leftovers(ns, 'pgd');
    const r = await kpg(['delete', 'pgd', '-n', ns, '--yes']);
    expect(r.code).toBe(9);
    expect(r.stderr).toMatch(/DoNotTerminate/);
    expect(r.stderr).toMatch(/kpg apply/);
    expect(await leftovers(ns, 'pgd')).toEqual(before);
    // Changing the policy first lets it go.
    expect(
      (await kpg(['apply', '-f', manifest(ns, 'pgd', { replicas: 1, policy: 'WipeOut' }), '--yes']))
        .code,
    ).toBe(0);
    expect((await kpg(['delete', 'pgd', '-n', ns, '--yes'])).code).toBe(0);
    await expectLeft(ns, 'pgd', []);
  });

  it('-l picks clusters by label (paused ones too); one DoNotTerminate among them stops all', async () => {
    const files = {
      pgl1: manifest(ns, 'pgl1', { replicas: 1, policy: 'WipeOut', team: 'scratch' }),
      pgl2: manifest(ns, 'pgl2', { replicas: 1, policy: 'DoNotTerminate', team: 'scratch' }),
      pgl3: manifest(ns, 'pgl3', { replicas: 1, team: 'other' }),
    };
    // Side by side: three waits for a cluster at once, not one after another.
    const created = await Promise.all(Object.values(files).map((f) => kpg(['create', '-f', f])));
    for (const c of created) expect(c.code, c.stderr).toBe(0);

    const bare = await kpg(['delete', '-A', '--yes']);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toMatch(/-A\/--all-namespaces needs -l\/--selector or --all/);
    const mixed = await kpg(['delete', 'pgl1', '-l', 'team=scratch', '-n', ns, '--yes']);
    expect(mixed.code).toBe(2);

    const before = await leftovers(ns, 'pgl1');
    const refused = await kpg(['delete', '-l', 'team=scratch', '-n', ns, '--yes']);
    expect(refused.code).toBe(9);
    expect(refused.stderr).toMatch(new RegExp(`${ns}/pgl2 has terminationPolicy DoNotTerminate`));
    expect(refused.stdout).toMatch(/postgres "pgl1" in namespace/);
    expect(await leftovers(ns, 'pgl1')).toEqual(before);

    // Paused: only the record, PVC and Secret are left, and -l still finds it by its labels.
    expect((await kpg(['delete', 'pgl3', '-n', ns, '--yes'])).code).toBe(0);
    const paused = await kpg(['delete', '-l', 'team=other', '-n', ns, '--dry-run']);
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout).toMatch(
      /postgres "pgl3" in namespace \S+, terminationPolicy Pause:\n\s+nothing to remove/,
    );

    const policy = manifest(ns, 'pgl2', { replicas: 1, policy: 'Delete', team: 'scratch' });
    expect((await kpg(['apply', '-f', policy, '--yes'])).code).toBe(0);
    const json = await kpg(['delete', '-l', 'team=scratch', '-n', ns, '--yes', '-o', 'json']);
    expect(json.code, json.stderr).toBe(0);
    expect((JSON.parse(json.stdout) as { deleted: string[] }).deleted).toEqual([
      `${ns}/pgl1`,
      `${ns}/pgl2`,
    ]);
    await expectLeft(ns, 'pgl1', []);
    await expectLeft(ns, 'pgl2', ['secret/pgl2-auth', 'secret/pgl2-ca', 'secret/pgl2-tls']);
    expect(await leftovers(ns, 'pgl3')).toContain('configmap/pgl3-kpg');

    const none = await kpg(['delete', '-l', 'team=nobody', '-n', ns, '--yes']);
    expect(none.code).toBe(0);
    expect(none.stderr).toMatch(new RegExp(`No resources found in ${ns} namespace`));
  });

  // Issue 16, item 4: KubeDB's types and the seed's clean-up line.
  it("pg, drmn, snap and --force: the guide's clean-up removes every cluster and what Pause kept", async () => {
    const files = [manifest(ns, 'pgf1', { replicas: 1 }), manifest(ns, 'pgf2', { replicas: 1 })];
    const created = await Promise.all(files.map((f) => kpg(['create', '-f', f])));
    for (const c of created) expect(c.code, c.stderr).toBe(0);
    expect((await kpg(['delete', 'pgf2', '-n', ns, '--yes'])).code).toBe(0);

    // kpg get drmn: what Pause kept (issue 16, item 2).
    const drmn = await kpg(['get', 'drmn', '-n', ns]);
    expect(drmn.code, drmn.stderr).toBe(0);
    expect(drmn.stdout).toMatch(/^NAME\s+VERSION\s+POLICY\s+VOLUMES\s+AGE\n/);
    expect(drmn.stdout).toMatch(/\npgf2\s+15\s+Pause\s+1\s+\d+[sm]\b/);
    expect(drmn.stdout).not.toMatch(/\npgf1\s/);
    const both = await kpg(['get', 'pg,drmn', '-n', ns, '-o', 'name']);
    expect(both.stdout.split('\n')).toEqual(
      expect.arrayContaining(['postgres/pgf1', 'dormantdatabase/pgf2']),
    );

    // Each type finds only its own: pgf2 is dormant now, pgf1 runs.
    const asPg = await kpg(['delete', 'pg', 'pgf2', '-n', ns, '--yes']);
    expect(asPg.code).toBe(5);
    expect(asPg.stderr).toMatch(
      /postgres "pgf2" not found .*\(a dormant database: kpg delete drmn pgf2\)/,
    );
    const asDrmn = await kpg(['delete', 'drmn', 'pgf1', '-n', ns, '--yes']);
    expect(asDrmn.code).toBe(5);
    expect(asDrmn.stderr).toMatch(
      /dormantdatabase "pgf1" not found .*\(postgres "pgf1" runs: kpg delete pg pgf1\)/,
    );
    const snap = await kpg(['delete', 'snap', 'nightly', '-n', ns, '--yes']);
    expect(snap.code).toBe(5);
    expect(snap.stderr).toMatch(/snapshot "nightly" not found .*kpg makes no snapshots yet/);
    expect((await kpg(['delete', 'widgets,pg', '-n', ns, '--all'])).code).toBe(2);

    const seed = ['delete', 'pg,drmn,snap', '-n', ns, '--all', '--force'];
    const dry = await kpg([...seed, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(
      /postgres "pgf1" in namespace \S+, terminationPolicy Pause, wiped \(--force\):[\s\S]*remove PersistentVolumeClaim data-pgf1-0/,
    );
    expect(dry.stdout).toMatch(
      /postgres "pgf2" in namespace \S+, terminationPolicy Pause, wiped \(--force\):[\s\S]*remove Secret pgf2-auth/,
    );
    expect(await leftovers(ns, 'pgf1')).toContain('statefulset.apps/pgf1');
    // Data goes: without a terminal it needs --yes.
    expect((await kpg(seed)).code).toBe(2);
    const r = await kpg([...seed, '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/postgres "pgf1" deleted \(wiped\)/);
    await expectLeft(ns, 'pgf1', []);
    await expectLeft(ns, 'pgf2', []);
    const none = await kpg(['get', 'drmn', '-n', ns]);
    expect(none.stderr).toMatch(new RegExp(`No resources found in ${ns} namespace`));
  });
});

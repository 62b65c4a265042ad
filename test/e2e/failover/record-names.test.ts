// Names in the record become API paths of deletes and patches: a record that
// names ".." (or any non-member) as primary makes every command refuse, with
// nothing touched (issue 12, item 7).
import { afterAll, describe, expect, it } from 'vitest';
import { getJson, kubectl, kubectlOk } from '../../cluster/kube.js';
import { cleanup, CLUSTER, createCluster, kpg, manifest, waitHealthy } from './harness.js';

interface PodList {
  items: { metadata: { name: string; uid: string; labels?: Record<string, string> } }[];
}

async function snapshot(ns: string): Promise<string[]> {
  const list = await getJson<PodList>(['-n', ns, 'pods', '-l', `kubedb.com/name=${CLUSTER}`]);
  return list.items
    .map((p) => `${p.metadata.name} ${p.metadata.uid} ${p.metadata.labels?.['kubedb.com/role']}`)
    .sort();
}

const setPrimary = (ns: string, primary: string) =>
  kubectlOk([
    '-n',
    ns,
    'patch',
    'configmap',
    `${CLUSTER}-kpg`,
    '--type',
    'merge',
    '-p',
    JSON.stringify({ data: { primary } }),
  ]);

describe('a record naming a non-member', () => {
  let ns: string | undefined;
  afterAll(async () => cleanup(ns));

  it('is refused by failover and apply (exit 9) with nothing touched', async () => {
    ns = await createCluster('fo-names');
    const primary = await waitHealthy(ns);
    const before = await snapshot(ns);
    for (const bad of ['..', '../../secrets', `${CLUSTER}-x`, 'other-0']) {
      await setPrimary(ns, bad);
      const fo = await kpg(['failover', CLUSTER, '-n', ns, '--yes', '--timeout', '30s']);
      expect(fo.code, `${bad}: ${fo.stdout}\n${fo.stderr}`).toBe(9);
      expect(fo.stderr).toContain(`names as primary ${JSON.stringify(bad)}`);
      expect(fo.stderr).not.toMatch(/\bat .*\.js:\d+/);
      const ap = await kpg(['apply', '-f', '-', '-n', ns, '--yes'], { input: manifest() });
      expect(ap.code, `${bad}: ${ap.stdout}\n${ap.stderr}`).toBe(9);
      // No pod deleted, relabelled or replaced; the failover lease is not left held.
      expect(await snapshot(ns)).toEqual(before);
      const lease = await kubectl(['-n', ns, 'get', 'lease', `${CLUSTER}-failover`, '-o', 'json']);
      if (lease.code === 0) {
        const holder = (JSON.parse(lease.stdout) as { spec?: { holderIdentity?: string } }).spec
          ?.holderIdentity;
        expect(holder ?? '').toBe('');
      }
    }
    // Put right, the same commands work again.
    await setPrimary(ns, primary);
    const ok = await kpg(['failover', CLUSTER, '-n', ns, '--yes', '-o', 'json']);
    expect(ok.code, `${ok.stdout}\n${ok.stderr}`).toBe(0);
    expect(await waitHealthy(ns)).not.toBe(primary);
  });

  // Issue 11: maintenance mode is for clusters whose agents fail over by themselves.
  it('kpg pause refuses a cluster without agents (exit 2), and a missing one (exit 5), changing nothing', async () => {
    if (!ns) throw new Error('no cluster');
    const before = await getJson<{ data?: Record<string, string> }>([
      '-n',
      ns,
      'configmap',
      `${CLUSTER}-kpg`,
    ]);
    const p = await kpg(['pause', CLUSTER, '-n', ns]);
    expect(p.code, `${p.stdout}\n${p.stderr}`).toBe(2);
    expect(p.stderr).toContain('runs no in-pod agent');
    expect(p.stderr).not.toMatch(/\bat .*\.js:\d+/);
    expect((await kpg(['resume', CLUSTER, '-n', ns])).code).toBe(2);
    expect((await kpg(['pause', 'nosuch', '-n', ns])).code).toBe(5);
    const after = await getJson<{ data?: Record<string, string> }>([
      '-n',
      ns,
      'configmap',
      `${CLUSTER}-kpg`,
    ]);
    expect(after.data).toEqual(before.data);
  });
});

// kpg cannot exec into the primary (its node's kubelet API hangs, as with a
// broken API→kubelet tunnel) while postgres serves: that is not a dead
// primary, and kpg failover must refuse rather than kill it (issue 12, item 3).
import { afterAll, describe, expect, it } from 'vitest';
import { breakKubelet, fixKubelet, podState } from '../../cluster/faults.js';
import { getJson } from '../../cluster/kube.js';
import { cleanup, CLUSTER, createCluster, kpg, primaryPod, waitHealthy } from './harness.js';
import { Writer } from './writer.js';

interface PodList {
  items: { metadata: { name: string; uid: string; labels?: Record<string, string> } }[];
}

async function snapshot(ns: string): Promise<string[]> {
  const list = await getJson<PodList>(['-n', ns, 'pods', '-l', `kubedb.com/name=${CLUSTER}`]);
  return list.items
    .map((p) => `${p.metadata.name} ${p.metadata.uid} ${p.metadata.labels?.['kubedb.com/role']}`)
    .sort();
}

describe('kpg failover when it cannot exec into a serving primary', () => {
  let ns: string | undefined;
  let node: string | undefined;
  afterAll(async () => {
    if (node) await fixKubelet(node);
    await cleanup(ns);
  });

  it('refuses (exit 9, the state is unknown) and touches nothing', async () => {
    ns = await createCluster('fo-exec', { spread: true });
    const primary = await waitHealthy(ns);
    const writer = await Writer.start(ns, CLUSTER);
    const before = await snapshot(ns);
    node = podState(ns, primary).node;
    await breakKubelet(node);
    const broken = Date.now() / 1000;
    let fixed = broken;
    try {
      const r = await kpg(['failover', CLUSTER, '-n', ns, '--yes', '--timeout', '60s']);
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(9);
      expect(r.stderr).toContain(`the state of the primary ${primary} is unknown`);
      expect(r.stderr).toMatch(/postgres answers .* on its port: it may be serving/);
      expect(await snapshot(ns)).toEqual(before);
    } finally {
      await fixKubelet(node);
      fixed = Date.now() / 1000;
      node = undefined;
    }
    // The primary kept serving throughout: the writer (which may share the
    // node, so it is read only now) committed through it while exec was broken.
    const acked = await writer.stop();
    expect(acked.filter((a) => a.at > broken + 1 && a.at < fixed).length).toBeGreaterThan(10);
    expect(await primaryPod(ns)).toBe(primary);
  });
});

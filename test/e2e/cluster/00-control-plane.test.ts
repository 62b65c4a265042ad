// The local cluster runs the real upstream control plane and three nodes.
import { describe, expect, it } from 'vitest';
import { getJson, kubectlOk } from '../../cluster/kube.js';

interface VersionInfo {
  serverVersion: { gitVersion: string; major: string; minor: string };
}
interface NodeList {
  items: {
    metadata: { name: string };
    status: { conditions: { type: string; status: string }[] };
  }[];
}

describe('local cluster control plane', () => {
  it('reports a v1.36 server', async () => {
    const v = JSON.parse(await kubectlOk(['version', '-o', 'json'])) as VersionInfo;
    expect(v.serverVersion.gitVersion).toMatch(/^v1\.36\.\d+$/);
    expect(v.serverVersion.major).toBe('1');
    expect(v.serverVersion.minor).toBe('36');
  });

  it('has three Ready nodes', async () => {
    const nodes = await getJson<NodeList>(['nodes']);
    const ready = nodes.items.filter((n) =>
      n.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    expect(ready.map((n) => n.metadata.name).sort()).toEqual([
      'kpg-worker-1',
      'kpg-worker-2',
      'kpg-worker-3',
    ]);
    const table = await kubectlOk(['get', 'nodes']);
    expect(table.match(/\sReady\s/g)?.length).toBe(3);
  });

  it('has the default StorageClass standard and local-path', async () => {
    const sc = await getJson<{
      items: {
        metadata: { name: string; annotations?: Record<string, string> };
        provisioner: string;
      }[];
    }>(['storageclass']);
    const byName = new Map(sc.items.map((s) => [s.metadata.name, s]));
    expect(byName.get('standard')?.provisioner).toBe('kpg.local/hostpath');
    expect(
      byName.get('standard')?.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'],
    ).toBe('true');
    expect(byName.get('local-path')?.provisioner).toBe('kpg.local/hostpath');
  });
});

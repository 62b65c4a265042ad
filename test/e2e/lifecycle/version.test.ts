// Issue 16, item 9: kpg version — this kpg, the API server's version, and
// which build of the agent each cluster's pods run.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, deleteNamespace, kubectlOk, run } from '../../cluster/kube.js';
import { withLocalAgentImage } from '../../cluster/manifests.js';
import { bin, kpg } from './helpers.js';

let ns = '';
beforeAll(async () => {
  ns = await createNamespace('version');
});
afterAll(async () => {
  if (ns) await deleteNamespace(ns);
});

describe('kpg version', () => {
  it("names the API server's version and the agent build of each cluster", async () => {
    const file = join(tmpdir(), `kpg-version-${ns}.yaml`);
    writeFileSync(
      file,
      withLocalAgentImage(`apiVersion: kubedb.com/v1alpha1
kind: Postgres
metadata:
  name: vers
  namespace: ${ns}
spec:
  version: "15"
  replicas: 1
  storage:
    storageClassName: standard
    accessModes: [ReadWriteOnce]
    resources:
      requests:
        storage: 128Mi
`),
    );
    const created = await kpg(['create', '-f', file]);
    expect(created.code, created.stderr).toBe(0);
    const server = JSON.parse(await kubectlOk(['version', '-o', 'json'])) as {
      serverVersion: { gitVersion: string };
    };

    const text = await kpg(['version', '-n', ns]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^Client Version: kpg \d+\.\d+\.\d+ \(Node\.js v\d+/);
    expect(text.stdout).toContain(`Server Version: ${server.serverVersion.gitVersion}`);
    expect(text.stdout).toMatch(
      new RegExp(`  ${ns}/vers: [0-9a-f]{16} \\(vers-0\\): this kpg’s agent`),
    );

    const json = await kpg(['version', '-n', ns, '-o', 'json']);
    const report = JSON.parse(json.stdout) as {
      agentBundle: string;
      agents: { name: string; pods: Record<string, string[]>; current: boolean }[];
    };
    expect(report.agents).toEqual([
      { namespace: ns, name: 'vers', pods: { [report.agentBundle]: ['vers-0'] }, current: true },
    ]);
  });

  it('--client asks no cluster: it works without one', async () => {
    const r = await run(process.execPath, [bin, 'version', '--client'], {
      env: { ...process.env, KUBECONFIG: '/nonexistent/kubeconfig', NO_COLOR: '1' },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Client Version: kpg /);
    expect(r.stdout).not.toMatch(/Server Version/);
  });
});

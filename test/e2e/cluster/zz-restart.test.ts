// `cluster:down` leaves nothing behind and `cluster:up` afterwards is Ready in
// under 60 s with cached binaries. Slow and destructive (every pod of the
// cluster goes away), so it sits in its own file; the cluster is up and empty
// again when it ends, so files that run after it are unaffected.
// KPG_E2E_SKIP_RESTART=1 skips it.
import { readdirSync, readlinkSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { clusterDir, clusterSh, getJson, kubectlOk, run } from '../../cluster/kube.js';

const cacheDir = `${process.env.KPG_CACHE ?? `${process.env.HOME ?? '/root'}/.cache/kpg`}/`;

/** Processes still running from .cluster/bin, or from the binary cache for this checkout's cluster. */
function leftoverProcesses(): string[] {
  const out: string[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const exe = readlinkSync(`/proc/${d}/exe`);
      const ours =
        exe.startsWith(`${clusterDir}/`) ||
        (exe.startsWith(cacheDir) &&
          readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(`${clusterDir}/`));
      if (ours) out.push(`${d} ${exe}`);
    } catch {
      /* gone or kernel thread */
    }
  }
  return out;
}

describe.skipIf(process.env.KPG_E2E_SKIP_RESTART === '1')('cluster down and up again', () => {
  it('down leaves no process, netns, link or mount; up is Ready in under 60 s', async () => {
    const down = await clusterSh(['down'], 180_000);
    expect(down.code, down.stderr).toBe(0);
    console.log(`cluster:down took ${down.ms} ms`);

    expect(leftoverProcesses()).toEqual([]);
    const netns = await run('ip', ['netns', 'list']);
    expect(netns.stdout.split('\n').filter((l) => l.startsWith('kpg-'))).toEqual([]);
    const links = await run('ip', ['-o', 'link', 'show']);
    expect(links.stdout).not.toMatch(/: kpg0[:@]/);
    expect(links.stdout).not.toMatch(/master kpg0/);
    expect(links.stdout).not.toMatch(/: kpgv[0-9a-z]+[:@]/); // host ends of pod veths
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4] ?? '')
      .filter((m) => m === clusterDir || m.startsWith(`${clusterDir}/`));
    expect(mounts).toEqual([]);

    const up = await clusterSh(['up'], 300_000);
    expect(up.code, up.stderr).toBe(0);
    const steps = up.stderr.split('\n').filter((l) => /^(build|cluster): /.test(l));
    console.log(
      `cluster:up after cluster:down took ${up.ms} ms (cached binaries)\n${steps.join('\n')}`,
    );
    expect(up.stdout.trim().split('\n').pop()).toBe(`${clusterDir}/kubeconfig`);
    expect(up.ms).toBeLessThan(60_000);

    const status = await clusterSh(['status'], 30_000);
    expect(status.code, status.stdout).toBe(0);
    const nodes = await getJson<{
      items: { status: { conditions: { type: string; status: string }[] } }[];
    }>(['nodes']);
    expect(
      nodes.items.filter((n) =>
        n.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True'),
      ),
    ).toHaveLength(3);
    expect(
      await kubectlOk(['-n', 'default', 'get', 'serviceaccount', 'default', '-o', 'name']),
    ).toMatch(/default/);
  });
});

// Issue 12 item 14, what kpg can see of a cluster's placement: two members
// on one node (here a nodeSelector puts both there) make `kpg describe` warn
// and name them, without calling the cluster degraded; a manifest with a
// memory request creates without the "no memory request" warning that one
// without it gets (the unit tests show where that warning points).
import { afterAll, describe, expect, it } from 'vitest';
import { deleteNamespace } from '../../cluster/kube.js';
import { made, manifest, NAME, namespace } from './blocked-helpers.js';
import { kpg } from './helpers.js';

afterAll(async () => {
  await Promise.all(made.map((ns) => deleteNamespace(ns)));
});

const PINNED =
  '      nodeSelector:\n        kubernetes.io/hostname: kpg-worker-1\n' +
  '      resources:\n        requests:\n          memory: 128Mi\n          cpu: 50m\n';

describe('members placed on one node', () => {
  it('kpg describe warns and names them and the node; the health is not changed by it', async () => {
    const ns = await namespace('placement');
    const file = manifest(ns, { replicas: 2, ephemeral: true, spec: PINNED });
    const created = await kpg(['create', '-f', file, '--timeout', '4m']);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).not.toMatch(/sets no memory request/);

    const d = await kpg(['describe', NAME, '-n', ns]);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toMatch(
      new RegExp(
        `Warnings:\\n  - ${NAME}-0, ${NAME}-1 run on one node \\(kpg-worker-1\\): losing it loses 2 members at once`,
      ),
    );
    const json = JSON.parse((await kpg(['describe', NAME, '-n', ns, '-o', 'json'])).stdout) as {
      warnings?: string[];
      problems: string[];
    };
    expect(json.warnings).toHaveLength(1);
    expect(json.problems.join('\n')).not.toMatch(/one node/);

    // Without a request, create says so (and still creates nothing less).
    const bare = manifest(ns, { replicas: 1, ephemeral: true });
    const dry = await kpg(['create', '-f', bare, '--dry-run=client', '-o', 'yaml']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stderr).toMatch(/warning: spec: sets no memory request for PostgreSQL/);
  });
});

// Issue 12 item 1, with the in-pod agent: an Ephemeral cluster (emptyDir
// data) keeps its data when its primary pod is deleted. The agents hand the
// lease to a standby; the deleted pod comes back over an empty PGDATA and
// copies the data from the new primary (the same system identifier), never
// initdb-ing a database of its own. Under the writer and the checker.
import { afterAll, describe, expect, it } from 'vitest';
import { kubectlOk } from '../../cluster/kube.js';
import { cleanup, pods, systemId } from '../failover/harness.js';
import { finish, startCluster, waitNewPrimary } from './setup.js';

describe('in-pod agent: an Ephemeral cluster, its primary pod deleted', () => {
  let ns: string | undefined;
  afterAll(async () => cleanup(ns));

  it('keeps its data: a standby takes over, the new pod copies it back', async () => {
    const s = await startCluster('agent-ephemeral', (n) => (ns = n), { ephemeral: true });
    const id = await systemId(s.ns, s.primary);
    expect(id).toMatch(/^\d+$/);
    const t0 = Date.now();
    await kubectlOk(['-n', s.ns, 'delete', 'pod', s.primary, '--wait=false']);
    const next = await waitNewPrimary(s.ns, s.primary, 60_000);
    const { acks } = await finish(s, next, t0);
    for (const p of await pods(s.ns)) expect(await systemId(s.ns, p.name)).toBe(id);
    console.log(
      `${s.ns}: ${s.primary} (Ephemeral) deleted → ${next} primary after ${Date.now() - t0} ms, ${acks.length} rows, one system identifier`,
    );
  });
});

// Issue 11, drains (done-when 6): `kubectl drain` of the primary's node under
// the writer and the split-brain checker → the eviction deletes the pod
// gracefully, its agent hands the primary over to a standby that confirmed
// the shutdown checkpoint before postgres stops: nothing acknowledged lost,
// a write pause under 3 s. While the evicted member's replacement cannot be
// scheduled (the node is cordoned, one pod per node), the
// PodDisruptionBudget refuses the eviction of a second member (429).
import { afterAll, describe, expect, it } from 'vitest';
import { getJson, kubectl, kubectlOk } from '../../cluster/kube.js';
import { CLUSTER, cleanup, standbysOf } from '../failover/harness.js';
import { finish, nodeOf, startCluster, waitNewPrimary } from './setup.js';

interface Lease {
  spec?: { holderIdentity?: string };
}
interface Pdb {
  status?: { disruptionsAllowed?: number };
}

describe('in-pod agent: kubectl drain of the primary node', () => {
  let ns: string | undefined;
  const cordoned: string[] = [];
  afterAll(async () => {
    for (const n of cordoned) await kubectl(['uncordon', n]);
    await cleanup(ns);
  });

  it('hands the primary over before the eviction, loses nothing, and the PDB keeps a second member', async () => {
    const s = await startCluster('agent-drain', (n) => (ns = n), { spread: true });
    const node = await nodeOf(s.ns, s.primary);
    const t0 = Date.now();
    cordoned.push(node);
    const drained = await kubectl(
      [
        'drain',
        node,
        '--ignore-daemonsets',
        '--delete-emptydir-data',
        `--pod-selector=kubedb.com/name=${CLUSTER}`,
        '--timeout=120s',
      ],
      { timeoutMs: 150_000 },
    );
    expect(drained.code, `${drained.stdout}\n${drained.stderr}`).toBe(0);
    const drainMs = Date.now() - t0;
    const next = await waitNewPrimary(s.ns, s.primary, 30_000);
    const lease = await getJson<Lease>(['-n', s.ns, 'lease', `${CLUSTER}-primary`]);
    expect(lease.spec?.holderIdentity?.split('/')[0]).toBe(next);

    // The replacement is Pending (its node cordoned, the others taken): one member is down.
    const [other] = (await standbysOf(s.ns, next)).filter((p) => p !== s.primary);
    if (!other) throw new Error('no second standby');
    const pdb = await getJson<Pdb>(['-n', s.ns, 'pdb', CLUSTER]);
    expect(pdb.status?.disruptionsAllowed).toBe(0);
    const eviction = await kubectl(
      ['create', '--raw', `/api/v1/namespaces/${s.ns}/pods/${other}/eviction`, '-f', '-'],
      {
        input: JSON.stringify({
          apiVersion: 'policy/v1',
          kind: 'Eviction',
          metadata: { name: other, namespace: s.ns },
        }),
      },
    );
    expect(eviction.code).not.toBe(0);
    expect(eviction.stderr).toMatch(/disruption budget|TooManyRequests|429/i);

    await kubectlOk(['uncordon', node]);
    cordoned.splice(cordoned.indexOf(node), 1);
    const { acks, pauseMs } = await finish(s, next, t0);
    console.log(
      `${s.ns}: drain of ${node} (${s.primary}) took ${drainMs} ms → ${next} primary; write pause ${pauseMs} ms; ${acks.length} rows; a second eviction (${other}) refused by the PDB`,
    );
    expect(pauseMs).toBeLessThan(3000);
  });
});

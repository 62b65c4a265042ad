// The seed's walkthrough with the in-pod agent (issue 10, done-when 1): under
// a writer through the primary Service and the split-brain checker, `kubectl
// delete pod` of the primary → another pod is labelled primary within 3 s
// (the agents hand the lease over once a standby has the shutdown
// checkpoint), the old pod returns as a streaming standby, no acknowledged
// row is missing on any pod, and never two writable pods. No kpg command
// runs after `kpg create`.
import { afterAll, describe, expect, it } from 'vitest';
import { getJson, kubectlOk } from '../../cluster/kube.js';
import { CLUSTER, cleanup } from '../failover/harness.js';
import { finish, startCluster, waitNewPrimary } from './setup.js';

interface Lease {
  spec?: { holderIdentity?: string };
}

describe('in-pod agent: kubectl delete pod of the primary', () => {
  let ns: string | undefined;
  afterAll(async () => cleanup(ns));

  it('another pod takes over within seconds, the old one streams again, nothing acknowledged lost', async () => {
    const s = await startCluster('agent-del', (n) => (ns = n));
    const t0 = Date.now();
    await kubectlOk(['-n', s.ns, 'delete', 'pod', s.primary, '--wait=false']);
    const next = await waitNewPrimary(s.ns, s.primary, 60_000);
    const labelledMs = Date.now() - t0;
    // Done-when 1: within 3 s (kubectl's own round trips included).
    expect(labelledMs).toBeLessThan(3_000);
    const lease = await getJson<Lease>(['-n', s.ns, 'lease', `${CLUSTER}-primary`]);
    expect(lease.spec?.holderIdentity?.split('/')[0]).toBe(next);
    // The old pod's replacement follows the new primary; rows, split brain, streaming.
    const { acks, pauseMs } = await finish(s, next, t0);
    console.log(
      `${s.ns}: ${s.primary} deleted → ${next} labelled primary after ${labelledMs} ms; write pause ${pauseMs} ms; ${acks.length} rows`,
    );
  });
});

// The seed's walkthrough with the in-pod agent (issue 10, done-when 1): under
// a writer through the primary Service, `kubectl delete pod` of the primary →
// another pod is labelled primary within seconds (the agents hand the lease
// over once a standby has the shutdown checkpoint), the old pod returns as a
// streaming standby, and no acknowledged row is missing on any pod. No kpg
// command runs after `kpg create`.
import { afterAll, describe, expect, it } from 'vitest';
import { getJson, kubectlOk, waitFor, createNamespace } from '../../cluster/kube.js';
import { CLUSTER, cleanup, kpg, missingRows, pods, sql, waitHealthy } from '../failover/harness.js';
import { longestGap, Writer } from '../failover/writer.js';
import { agentManifest } from './setup.js';

interface Lease {
  spec?: { holderIdentity?: string };
}

describe('in-pod agent: kubectl delete pod of the primary', () => {
  let ns: string | undefined;
  afterAll(async () => cleanup(ns));

  it('another pod takes over within seconds, the old one streams again, nothing acknowledged lost', async () => {
    ns = await createNamespace('agent-del');
    const created = await kpg(['create', '-f', '-', '-n', ns, '--timeout', '5m'], {
      input: agentManifest(),
      timeoutMs: 330_000,
    });
    expect(created.code, `${created.stdout}\n${created.stderr}`).toBe(0);
    const old = await waitHealthy(ns);
    const writer = await Writer.start(ns, CLUSTER);

    const t0 = Date.now();
    await kubectlOk(['-n', ns, 'delete', 'pod', old, '--wait=false']);
    const next = await waitFor(
      async () => {
        const primary = (await pods(ns ?? '')).filter((p) => p.role === 'primary');
        return primary.length === 1 && primary[0]?.name !== old ? primary[0]?.name : undefined;
      },
      60_000,
      { what: `a pod other than ${old} labelled primary`, intervalMs: 100 },
    );
    const labelledMs = Date.now() - t0;
    expect(labelledMs).toBeLessThan(10_000);

    const lease = await getJson<Lease>(['-n', ns, 'lease', `${CLUSTER}-primary`]);
    expect(lease.spec?.holderIdentity?.split('/')[0]).toBe(next);

    // The old pod's replacement follows the new primary (pg_rewind first).
    expect(await waitHealthy(ns, 3, 240_000)).toBe(next);
    const streaming = await sql(
      ns,
      next,
      `select count(*) from pg_stat_replication where application_name = '${old}' and state = 'streaming'`,
    );
    expect(streaming.stdout.trim()).toBe('1');

    await writer.waitMore(50);
    const acks = await writer.stop();
    console.log(
      `${ns}: ${old} deleted → ${next} labelled primary after ${labelledMs} ms; write pause ${longestGap(acks, t0 / 1000)} ms; ${acks.length} rows`,
    );
    expect(await missingRows(ns, acks)).toEqual({});
    expect((await pods(ns)).filter((p) => p.role === 'primary').map((p) => p.name)).toEqual([next]);
  });
});

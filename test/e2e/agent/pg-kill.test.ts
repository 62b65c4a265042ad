// Issue 10, done-when 3 and 8: the primary's postgres SIGKILLed and kept
// down (killed again each time the kubelet restarts it) → its agent gives the
// lease up once postgres has not answered for a renew deadline, and a standby
// takes over within lease duration + 3 s. Asynchronous: the loss is bounded by
// maximumLagBeforeFailover (hot standbys on one host lose nothing in practice,
// and the test demands nothing lost). Synchronous: only the standby the lease
// lists as synchronous may take over, and nothing acknowledged is lost.
import { afterAll, describe, expect, it } from 'vitest';
import { killContainer } from '../../cluster/faults.js';
import { getJson } from '../../cluster/kube.js';
import { CLUSTER, cleanup, kpg } from '../failover/harness.js';
import { finish, killUntilNewPrimary, LEASE_SECONDS, startCluster, writeSpan } from './setup.js';

interface Lease {
  metadata?: { annotations?: Record<string, string> };
}

describe.each([
  { mode: 'asynchronous', sync: false },
  { mode: 'synchronous', sync: true },
])("in-pod agent: the primary's postgres killed and kept down ($mode)", ({ mode, sync }) => {
  let ns: string | undefined;
  afterAll(async () => cleanup(ns));

  it('a standby takes over within lease duration + 3 s, nothing acknowledged lost', async () => {
    const s = await startCluster(sync ? 'agent-pgkill-sync' : 'agent-pgkill', (n) => (ns = n), {
      sync,
    });
    const lease = await getJson<Lease>(['-n', s.ns, 'lease', `${CLUSTER}-primary`]);
    const synchronous = (lease.metadata?.annotations?.['kpg.io/synchronous-standbys'] ?? '')
      .split(',')
      .filter(Boolean);
    if (sync) expect(synchronous.length).toBeGreaterThan(0);
    const t0 = Date.now();
    const { next, kills } = await killUntilNewPrimary(s.ns, s.primary, 'postgres', () => {
      killContainer(s.ns, s.primary, 'postgres');
    });
    const labelledMs = Date.now() - t0;
    expect(labelledMs).toBeLessThan((LEASE_SECONDS + 3) * 1000);
    if (sync) expect(synchronous).toContain(next);
    const { acks, pauseMs, verdict } = await finish(s, next, t0);
    // describe tells the story: the last automatic failover, how long it took, and why.
    const d = await kpg(['describe', CLUSTER, '-n', s.ns]);
    expect(d.stdout).toMatch(
      new RegExp(
        `Last automatic change: automatic failover ${s.primary} → ${next}, .* took \\d+\\.\\ds\\n +why: the lease`,
      ),
    );
    console.log(
      `${s.ns} (${mode}): ${s.primary}'s postgres killed and kept down (${kills} kills) → ${next} labelled primary after ${labelledMs} ms, first write on it ${Math.round(writeSpan(verdict, next).first * 1000 - t0)} ms; write pause ${pauseMs} ms; ${acks.length} rows`,
    );
  });
});

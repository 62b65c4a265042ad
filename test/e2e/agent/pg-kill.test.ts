// Issue 10, done-when 3 and 8: the primary's postgres SIGKILLed and kept
// down (killed again each time the kubelet restarts it) → its agent gives the
// lease up once postgres has not answered for a renew deadline, and a standby
// takes over within lease duration + 3 s. Asynchronous: the loss is bounded by
// maximumLagBeforeFailover (hot standbys on one host lose nothing in practice,
// and the test demands nothing lost). Synchronous: only the standby the lease
// lists as synchronous may take over, and nothing acknowledged is lost; and
// before the kill, with both standbys frozen, writes block.
import { afterAll, describe, expect, it } from 'vitest';
import { freezePod, killContainer, thawPod } from '../../cluster/faults.js';
import { getJson, sleep } from '../../cluster/kube.js';
import { CLUSTER, cleanup, kpg, standbysOf, waitHealthy } from '../failover/harness.js';
import { longestGap } from '../failover/writer.js';
import {
  finish,
  killUntilNewPrimary,
  LEASE_SECONDS,
  startCluster,
  writeSpan,
  type Started,
} from './setup.js';

const FROZEN_MS = 12_000;

/**
 * Issue 11, synchronous mode stated (done-when 8): kpg's choice is that
 * writes block while no standby acknowledges (synchronous_standby_names =
 * 'ANY 1 (*)'); it never degrades to asynchronous on its own. Both standbys'
 * pods frozen for 12 s: no acknowledgement meanwhile, the primary stays
 * primary; thawed, the writes that waited complete. (One cluster with the
 * kill below: a cluster fewer for CI.)
 */
async function writesBlockWithoutStandbys(s: Started): Promise<void> {
  const standbys = await standbysOf(s.ns, s.primary);
  expect(standbys).toHaveLength(2);
  const frozen: string[] = [];
  try {
    for (const p of standbys) {
      freezePod(s.ns, p);
      frozen.push(p);
    }
    // From when both are frozen: freezing scans /proc, seconds on a busy machine.
    const t0 = Date.now();
    await sleep(FROZEN_MS);
    const thawAt = Date.now();
    // A commit a standby confirmed just before the freeze may still come back within a moment.
    const during = (await s.writer.acked()).filter(
      (a) => a.at * 1000 > t0 + 1000 && a.at * 1000 < thawAt,
    );
    expect(during).toEqual([]);
    for (const p of frozen.splice(0)) thawPod(s.ns, p);
    const lease = await getJson<Lease>(['-n', s.ns, 'lease', `${CLUSTER}-primary`]);
    expect(lease.spec?.holderIdentity?.split('/')[0]).toBe(s.primary);
    expect(await waitHealthy(s.ns, 3, 120_000)).toBe(s.primary);
    await s.writer.waitMore(20);
    const pause = longestGap(await s.writer.acked(), t0 / 1000);
    console.log(
      `${s.ns}: both standbys frozen ${FROZEN_MS} ms → no acknowledgement for ${pause} ms`,
    );
    // No acknowledgement inside the window is the proof; the gap only says the
    // writer saw one (its first rows after the thaw may have run before it).
    expect(pause).toBeGreaterThanOrEqual(FROZEN_MS / 2);
  } finally {
    for (const p of frozen) thawPod(s.ns, p);
  }
}

interface Lease {
  metadata?: { annotations?: Record<string, string> };
  spec?: { holderIdentity?: string };
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
    if (sync) await writesBlockWithoutStandbys(s);
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
    // Asynchronous: the killed primary's unsent tail is not promised (README).
    const { acks, pauseMs, verdict } = await finish(s, next, t0, { unsentTail: !sync });
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

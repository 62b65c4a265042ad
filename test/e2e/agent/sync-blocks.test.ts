// Issue 11, synchronous mode stated (done-when 8): kpg's choice is that
// writes block while no standby acknowledges (synchronous_standby_names =
// 'ANY 1 (*)'); it never degrades to asynchronous on its own. Both standbys'
// pods frozen for 12 s: the writer gets no acknowledgement meanwhile, the
// primary stays primary and is not failed over (nothing it acknowledged could
// be missing anywhere, so nothing else is promoted); thawed, the writes that
// waited complete and every acknowledged row is on every pod.
import { afterAll, describe, expect, it } from 'vitest';
import { freezePod, thawPod } from '../../cluster/faults.js';
import { getJson, sleep } from '../../cluster/kube.js';
import { CLUSTER, cleanup, standbysOf } from '../failover/harness.js';
import { longestGap } from '../failover/writer.js';
import { settle, startCluster } from './setup.js';

const FROZEN_MS = 12_000;

interface Lease {
  spec?: { holderIdentity?: string };
}

describe('in-pod agent: synchronous mode without a standby to acknowledge', () => {
  let ns: string | undefined;
  let frozen: string[] = [];
  afterAll(async () => {
    for (const p of frozen) if (ns) thawPod(ns, p);
    await cleanup(ns);
  });

  it('writes block (no degrade to asynchronous), no failover, nothing lost once the standbys are back', async () => {
    const s = await startCluster('agent-syncblock', (n) => (ns = n), { sync: true });
    const standbys = await standbysOf(s.ns, s.primary);
    expect(standbys).toHaveLength(2);
    for (const p of standbys) freezePod(s.ns, p);
    frozen = standbys;
    // From when both are frozen: freezing scans /proc, seconds on a busy machine.
    const t0 = Date.now();
    await sleep(FROZEN_MS);
    const thawAt = Date.now();
    // A commit a standby confirmed just before the freeze may still come back within a moment.
    const during = (await s.writer.acked()).filter(
      (a) => a.at * 1000 > t0 + 1000 && a.at * 1000 < thawAt,
    );
    for (const p of standbys) thawPod(s.ns, p);
    frozen = [];
    expect(during).toEqual([]);
    const lease = await getJson<Lease>(['-n', s.ns, 'lease', `${CLUSTER}-primary`]);
    expect(lease.spec?.holderIdentity?.split('/')[0]).toBe(s.primary);
    const { acks } = await settle(s, s.primary);
    const pause = longestGap(acks, t0 / 1000);
    console.log(
      `${s.ns}: both standbys frozen ${FROZEN_MS} ms → no acknowledgement for ${pause} ms, ${s.primary} primary throughout; ${acks.length} rows`,
    );
    expect(pause).toBeGreaterThanOrEqual(FROZEN_MS - 1000);
  });
});

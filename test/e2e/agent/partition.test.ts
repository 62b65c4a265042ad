// Issue 10, done-when 5 (pod partition): the primary's pod cut off the
// network (isolatePod: its veth down and its API relay hung: no API server,
// no peers, no clients) → its agent
// cannot renew, steps down and its watchdog fences postgres at the renew
// deadline; a standby takes over once the lease has been unchanged for a
// lease duration. The isolated primary stops taking writes before the new
// one takes any; after healing it rejoins as a standby.
import { afterAll, describe, expect, it } from 'vitest';
import { isolatePod, rejoinPod } from '../../cluster/faults.js';
import { cleanup } from '../failover/harness.js';
import { finish, startCluster, waitNewPrimary, writeSpan } from './setup.js';

describe("in-pod agent: the primary's pod partitioned", () => {
  let ns: string | undefined;
  let cut: string | undefined;
  afterAll(async () => {
    if (ns && cut) await rejoinPod(ns, cut).catch(() => undefined);
    await cleanup(ns);
  });

  it('a standby takes over, the isolated primary is fenced first, and rejoins after healing', async () => {
    const s = await startCluster('agent-part', (n) => (ns = n));
    const t0 = Date.now();
    await isolatePod(s.ns, s.primary);
    cut = s.primary;
    const next = await waitNewPrimary(s.ns, s.primary, 60_000);
    const labelledMs = Date.now() - t0;
    await rejoinPod(s.ns, s.primary);
    cut = undefined;
    const { acks, pauseMs, verdict } = await finish(s, next, t0);
    const oldLast = writeSpan(verdict, s.primary).last;
    const nextFirst = writeSpan(verdict, next).first;
    console.log(
      `${s.ns}: ${s.primary} partitioned → ${next} labelled primary after ${labelledMs} ms; write pause ${pauseMs} ms; ${acks.length} rows`,
    );
    expect(nextFirst).toBeGreaterThan(oldLast);
  });
});

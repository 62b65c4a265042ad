// Issue 10, done-when 4: the primary's whole pod frozen (SIGSTOP of every
// process: postgres, its backends, the watchdog and the agent) → nothing
// renews the lease and a standby takes over once it has been unchanged for a
// lease duration. Thawed, the old primary's watchdog finds its deadline long
// past and fences postgres before anything commits (its clients gave up on
// it meanwhile), its agent steps down, and it rejoins as a standby: it
// accepts no write after the new primary took its first.
import { afterAll, describe, expect, it } from 'vitest';
import { freezePod, thawPod } from '../../cluster/faults.js';
import type { Thaw } from './checker.js';
import { cleanup } from '../failover/harness.js';
import { finish, startCluster, thaw, waitNewPrimary, writeSpan } from './setup.js';

describe("in-pod agent: the primary's pod frozen", () => {
  let ns: string | undefined;
  let frozen: string | undefined;
  afterAll(async () => {
    if (ns && frozen) thawPod(ns, frozen);
    await cleanup(ns);
  });

  it('is fenced and replaced; thawed, it accepts no write and rejoins as a standby', async () => {
    const s = await startCluster('agent-pfreeze', (n) => (ns = n));
    const t0 = Date.now();
    freezePod(s.ns, s.primary);
    frozen = s.primary;
    const next = await waitNewPrimary(s.ns, s.primary, 60_000);
    const labelledMs = Date.now() - t0;
    // Let the new primary take writes before the old one wakes up.
    await s.checker.waitWritable(next, t0 / 1000);
    const thawed: Thaw = await thaw(s.ns, s.primary);
    frozen = undefined;
    // Asynchronous: the frozen primary's unsent tail is not promised (README).
    const { acks, pauseMs, verdict } = await finish(s, next, t0, { unsentTail: true, thawed });
    const oldLast = writeSpan(verdict, s.primary).last;
    const nextFirst = writeSpan(verdict, next).first;
    console.log(
      `${s.ns}: ${s.primary} frozen → ${next} labelled primary after ${labelledMs} ms; last write on ${s.primary} ${Math.round(oldLast * 1000 - t0)} ms after the freeze; write pause ${pauseMs} ms; ${acks.length} rows`,
    );
    expect(nextFirst).toBeGreaterThan(oldLast);
    expect(oldLast * 1000).toBeLessThan(t0 + 1000);
  });
});

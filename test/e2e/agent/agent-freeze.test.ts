// Issue 10, done-when 6 (frozen): the primary's agent container SIGSTOPped
// while postgres runs → it renews no more, the watchdog fences postgres at
// the renew deadline, before the lease can expire for anyone else; a standby
// takes over; the checker never sees two pods accept writes. Thawed, the
// agent finds its renew deadline passed, steps down, and the pod rejoins.
import { afterAll, describe, expect, it } from 'vitest';
import { freezeContainer, thawContainer } from '../../cluster/faults.js';
import { cleanup } from '../failover/harness.js';
import { AGENT, finish, LEASE_SECONDS, startCluster, waitNewPrimary, writeSpan } from './setup.js';

describe("in-pod agent: the primary's agent frozen while postgres runs", () => {
  let ns: string | undefined;
  let frozen: { ns: string; pod: string } | undefined;
  afterAll(async () => {
    if (frozen) await thawContainer(frozen.ns, frozen.pod, AGENT).catch(() => undefined);
    await cleanup(ns);
  });

  it('the watchdog fences postgres before the lease expires, a standby takes over', async () => {
    const s = await startCluster('agent-afreeze', (n) => (ns = n));
    const t0 = Date.now();
    await freezeContainer(s.ns, s.primary, AGENT);
    frozen = { ns: s.ns, pod: s.primary };
    const next = await waitNewPrimary(s.ns, s.primary, 60_000);
    // Nobody may take over before the lease expires (10 s after its last renewal).
    const labelledMs = Date.now() - t0;
    await thawContainer(s.ns, s.primary, AGENT);
    frozen = undefined;
    const { acks, pauseMs, verdict } = await finish(s, next, t0);
    const oldLast = writeSpan(verdict, s.primary).last;
    const nextFirst = writeSpan(verdict, next).first;
    console.log(
      `${s.ns}: ${s.primary}'s agent frozen → last write on ${s.primary} ${Math.round(oldLast * 1000 - t0)} ms after; ${next} labelled primary after ${labelledMs} ms, first write on it ${Math.round(nextFirst * 1000 - t0)} ms; write pause ${pauseMs} ms; ${acks.length} rows`,
    );
    expect(oldLast * 1000 - t0).toBeLessThan(LEASE_SECONDS * 1000);
    expect(nextFirst).toBeGreaterThan(oldLast);
  });
});

// Issue 10, done-when 6 (killed): the primary's agent container SIGKILLed and
// kept down (killed again each time it restarts) while postgres runs → the
// watchdog fences postgres at the renew deadline, before the lease can expire
// for anyone else; a standby takes over; the checker never sees two pods
// accept writes; once the agent may run again the old pod rejoins.
import { afterAll, describe, expect, it } from 'vitest';
import { killContainer, podState } from '../../cluster/faults.js';
import { cleanup } from '../failover/harness.js';
import {
  AGENT,
  finish,
  LEASE_SECONDS,
  killUntilNewPrimary,
  startCluster,
  writeSpan,
} from './setup.js';

describe("in-pod agent: the primary's agent killed while postgres runs", () => {
  let ns: string | undefined;
  afterAll(async () => cleanup(ns));

  it('the watchdog fences postgres before the lease expires, a standby takes over', async () => {
    const s = await startCluster('agent-akill', (n) => (ns = n));
    const pgRestarts = podState(s.ns, s.primary).containers['postgres']?.restartCount ?? 0;
    const t0 = Date.now();
    const { next, kills } = await killUntilNewPrimary(s.ns, s.primary, AGENT, () => {
      killContainer(s.ns, s.primary, AGENT);
    });
    const labelledMs = Date.now() - t0;
    // The watchdog fenced postgres: its container restarted.
    // The watchdog fenced postgres: its container is down (restart back-off) or restarted.
    const pg = podState(s.ns, s.primary).containers['postgres'];
    expect(!pg?.running || pg.restartCount > pgRestarts).toBe(true);
    const { acks, pauseMs, verdict } = await finish(s, next, t0);
    const oldLast = writeSpan(verdict, s.primary).last;
    const nextFirst = writeSpan(verdict, next).first;
    console.log(
      `${s.ns}: ${s.primary}'s agent killed (${kills} kills) → last write on ${s.primary} ${Math.round(oldLast * 1000 - t0)} ms after the kill; ${next} labelled primary after ${labelledMs} ms, first write on it ${Math.round(nextFirst * 1000 - t0)} ms; write pause ${pauseMs} ms; ${acks.length} rows`,
    );
    // Fenced before the lease (renewed at the latest at the kill) could expire elsewhere.
    expect(oldLast * 1000 - t0).toBeLessThan(LEASE_SECONDS * 1000);
    expect(nextFirst).toBeGreaterThan(oldLast);
  });
});

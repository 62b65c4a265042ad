// Issue 11, maintenance mode and candidate control (done-whens 3 and 7), on
// one cluster: ha-postgres-1 is annotated kpg.io/nofailover ("true"); at the
// same LSN it would go first by its ordinal. `kpg pause`, then the primary's
// postgres killed and kept down: no failover for well over lease duration +
// renew deadline, and kpg get / describe say the cluster is paused. `kpg
// resume`: the agents fail over, to ha-postgres-2, never to the annotated
// pod, and nothing acknowledged is lost. Paused again, `kpg failover` still
// switches over (by hand), and again not to the annotated pod.
import { afterAll, describe, expect, it } from 'vitest';
import { killContainer } from '../../cluster/faults.js';
import { getJson, kubectlOk, sleep, waitFor } from '../../cluster/kube.js';
import { CLUSTER, cleanup, kpg, pods, waitHealthy } from '../failover/harness.js';
import {
  finish,
  keepKilling,
  LEASE_SECONDS,
  AGENT,
  RENEW_DEADLINE_SECONDS,
  startCluster,
  waitNewPrimary,
  writeSpan,
} from './setup.js';

interface Lease {
  spec?: { holderIdentity?: string };
}

const NOFAILOVER = `${CLUSTER}-1`;

describe('in-pod agent: kpg pause / resume, and a member annotated nofailover', () => {
  let ns: string | undefined;
  let keeper: { stop: () => Promise<number> } | undefined;
  afterAll(async () => {
    await keeper?.stop();
    await cleanup(ns);
  });

  it('paused: no failover while the primary is kept down; resumed: the agents fail over, not to the nofailover pod', async () => {
    const s = await startCluster('agent-pause', (n) => (ns = n));
    expect(s.primary).toBe(`${CLUSTER}-0`);
    await kubectlOk(['-n', s.ns, 'annotate', 'pod', NOFAILOVER, 'kpg.io/nofailover=true']);
    const paused = await kpg(['pause', CLUSTER, '-n', s.ns]);
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout).toContain(`${s.ns}/${CLUSTER} paused`);
    const again = await kpg(['pause', CLUSTER, '-n', s.ns, '-o', 'json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ paused: true, changed: false });
    // Under a full CI load a probe may briefly take the primary out of its Service.
    const get = await waitFor(
      async () => {
        const r = await kpg(['get', CLUSTER, '-n', s.ns]);
        return /Running,Paused/.test(r.stdout) ? r : undefined;
      },
      60_000,
      { what: 'kpg get to show Running,Paused', intervalMs: 1000 },
    );
    expect(get.stdout).toMatch(/Running,Paused/);
    const before = await kpg(['describe', CLUSTER, '-n', s.ns]);
    expect(before.stdout).toMatch(/Paused: +since .*kpg resume ha-postgres ends it/);
    expect(before.stdout).toContain(`${NOFAILOVER}: never promoted (annotated kpg.io/nofailover`);

    const t0 = Date.now();
    keeper = keepKilling(s.ns, s.primary, 'postgres', () =>
      killContainer(s.ns, s.primary, 'postgres'),
    );
    // Unpaused, a standby would be primary within lease duration + 3 s (agent/pg-kill).
    await sleep((LEASE_SECONDS + RENEW_DEADLINE_SECONDS + 6) * 1000);
    const lease = await getJson<Lease>(['-n', s.ns, 'lease', `${CLUSTER}-primary`]);
    expect(lease.spec?.holderIdentity?.split('/')[0]).toBe(s.primary);
    expect((await pods(s.ns)).filter((p) => p.role === 'primary').map((p) => p.name)).toEqual([
      s.primary,
    ]);
    // The holder's agent says what it did not do (describe reads that through
    // the postgres container, which is down).
    const log = await kubectlOk(['-n', s.ns, 'logs', s.primary, '-c', AGENT]);
    expect(log).toMatch(/paused since .*not done: release, postgres has not answered/);

    const resumedAt = Date.now();
    const resumed = await kpg(['resume', CLUSTER, '-n', s.ns]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('resumed');
    // Caught in crash recovery (killed at each restart), the holder gives its
    // postgres up to 60 s from when it last served before it lets go: 45 s seen.
    const next = await waitNewPrimary(s.ns, s.primary, 120_000);
    const afterResumeMs = Date.now() - resumedAt;
    const kills = await keeper.stop();
    keeper = undefined;
    expect(next).toBe(`${CLUSTER}-2`);
    const { acks, pauseMs, verdict } = await finish(s, next, t0);
    expect(writeSpan(verdict, next).first * 1000).toBeGreaterThan(resumedAt);
    console.log(
      `${s.ns}: paused, ${s.primary}'s postgres kept down ${Math.round((resumedAt - t0) / 1000)} s (${kills} kills): no failover; resumed → ${next} labelled primary ${afterResumeMs} ms later; write pause ${pauseMs} ms; ${acks.length} rows`,
    );

    // Paused again: a switchover by hand still works, and skips the annotated pod.
    expect((await kpg(['pause', CLUSTER, '-n', s.ns])).code).toBe(0);
    const sw = await kpg(['failover', CLUSTER, '-n', s.ns, '--yes', '-o', 'json']);
    expect(sw.code, `${sw.stdout}\n${sw.stderr}`).toBe(0);
    expect(JSON.parse(sw.stdout)).toMatchObject({
      kind: 'switchover',
      oldPrimary: next,
      newPrimary: s.primary,
    });
    expect(await waitHealthy(s.ns, 3, 120_000)).toBe(s.primary);
    const refused = await kpg(['failover', CLUSTER, '-n', s.ns, '--to', NOFAILOVER, '--yes']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('kpg.io/nofailover');
    expect((await kpg(['resume', CLUSTER, '-n', s.ns])).code).toBe(0);
  });
});

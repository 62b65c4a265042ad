// The in-pod agent with warm standbys (KubeDB's default standbyMode and the
// seed's ha-postgres): they refuse every connection, the agent's too, so the
// postgres container's warm-standby.sh reports their position from the
// walreceiver's title and pg_wal, and promotes them when the agent asks.
// Under the writer and the split-brain checker, the seed's walkthrough
// (`kubectl delete pod` of the primary: a handover, nothing lost), then the
// new primary's postgres SIGKILLed and kept down (a takeover by the lease's
// expiry). The rows are checked on the primary and, as replay positions past
// the last of them, on every warm standby.
import { afterAll, describe, expect, it } from 'vitest';
import { killContainer } from '../../cluster/faults.js';
import { kubectlOk } from '../../cluster/kube.js';
import { cleanup, sql, standbysOf, waitHealthy } from '../failover/harness.js';
import {
  finish,
  killUntilNewPrimary,
  LEASE_SECONDS,
  startCluster,
  waitNewPrimary,
} from './setup.js';

describe('in-pod agent with warm standbys', () => {
  let ns: string | undefined;
  afterAll(async () => cleanup(ns));

  it('the seed walkthrough hands over within 3 s, a killed primary is taken over; nothing acknowledged lost', async () => {
    const s = await startCluster('agent-warm', (n) => (ns = n), { standbyMode: 'Warm' });
    const refused = await sql(s.ns, (await standbysOf(s.ns, s.primary))[0]!, 'select 1', 10_000);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/not accepting connections|hot standby mode is disabled/);

    const t0 = Date.now();
    await kubectlOk(['-n', s.ns, 'delete', 'pod', s.primary, '--wait=false']);
    const next = await waitNewPrimary(s.ns, s.primary, 60_000);
    const handoverMs = Date.now() - t0;
    expect(handoverMs).toBeLessThan(3_000);
    // The old pod back as a streaming (warm) standby of the new primary.
    expect(await waitHealthy(s.ns, 3, 300_000)).toBe(next);
    const back = await sql(
      s.ns,
      next,
      `select state from pg_stat_replication where application_name = '${s.primary}'`,
    );
    expect(back.stdout.trim()).toBe('streaming');
    await s.checker.waitWritable(next, t0 / 1000);

    // Then the new primary's postgres killed and kept down, under the same writer and checker.
    const t1 = Date.now();
    const { next: third, kills } = await killUntilNewPrimary(s.ns, next, 'postgres', () => {
      killContainer(s.ns, next, 'postgres');
    });
    const takeoverMs = Date.now() - t1;
    expect(takeoverMs).toBeLessThan((LEASE_SECONDS + 3) * 1000);
    const { acks, pauseMs } = await finish({ ...s, primary: next }, third, t1, { warm: true });
    console.log(
      `${s.ns}: warm: ${s.primary} deleted → ${next} primary after ${handoverMs} ms; ${next}'s postgres killed (${kills} kills) → ${third} after ${takeoverMs} ms (write pause ${pauseMs} ms); ${acks.length} rows`,
    );
  });
});

// Warm standbys (KubeDB's default standbyMode, and examples/ha-postgres.yaml)
// take no queries, so kpg learns their position from their WAL on disk. Under
// write load: a switchover, then a failover of a primary killed while both
// standbys were cut off (its unsent WAL must be copied from its volume). The
// new primary must hold every acknowledged row, and every warm standby must
// report (in pg_stat_replication) that it replayed past the last one.
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../cluster/kube.js';
import {
  cleanup,
  CLUSTER,
  createCluster,
  killWithStandbysCutOff,
  kpg,
  missingRows,
  parseJson,
  primaryPod,
  sql,
  standbysOf,
  waitHealthy,
} from './harness.js';
import { Writer } from './writer.js';

/** Waits until every standby reports a replay position at or past the primary's current WAL end. */
async function replayedEverywhere(ns: string, primary: string, standbys: string[]): Promise<void> {
  const end = await sql(ns, primary, 'select pg_current_wal_lsn()');
  expect(end.code, end.stderr).toBe(0);
  const lsn = end.stdout.trim();
  let last = '';
  await waitFor(
    async () => {
      const r = await sql(
        ns,
        primary,
        `select application_name || ':' || state || ':' || (replay_lsn >= '${lsn}')::text from pg_stat_replication order by 1`,
      );
      last = r.stdout.trim().replace(/\n/g, ', ');
      return last === standbys.map((s) => `${s}:streaming:true`).join(', ');
    },
    120_000,
    { what: `every standby to replay up to ${lsn}`, intervalMs: 1000 },
  ).catch(() => undefined);
  expect(last).toBe(standbys.map((s) => `${s}:streaming:true`).join(', '));
}

describe('kpg failover with warm standbys', () => {
  let ns: string | undefined;
  afterAll(async () => {
    await cleanup(ns);
  });

  it('switchover, then failover with the unsent WAL copied: every acknowledged row kept', async () => {
    ns = await createCluster('fo-warm', { standbyMode: 'Warm' });
    const first = await waitHealthy(ns);
    const refused = await sql(ns, (await standbysOf(ns, first))[0]!, 'select 1', 10_000);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/not accepting connections|hot standby mode is disabled/);

    const writer = await Writer.start(ns, CLUSTER);
    const sw = await kpg(['failover', CLUSTER, '-n', ns, '--yes', '-o', 'json']);
    expect(sw.code, `${sw.stdout}\n${sw.stderr}`).toBe(0);
    const swOut = parseJson(sw);
    expect(swOut.kind).toBe('switchover');
    expect(swOut.newPrimary).not.toBe(first);
    expect(swOut.notRejoined).toEqual([]);

    const old = await waitHealthy(ns);
    expect(old).toBe(swOut.newPrimary);
    await writer.waitMore(20);
    await killWithStandbysCutOff(ns, old, () => writer.waitMore(100));
    const fo = await kpg(['failover', CLUSTER, '-n', ns, '--yes', '-o', 'json']);
    expect(fo.code, `${fo.stdout}\n${fo.stderr}`).toBe(0);
    const foOut = parseJson(fo);
    console.log(
      `${ns}: switchover ${swOut.totalMs} ms, failover ${foOut.totalMs} ms, salvage ${JSON.stringify(foOut.walSalvage)}`,
    );
    expect(foOut.kind).toBe('failover');
    expect(foOut.timeline).toBe(3);
    expect(foOut.walSalvage?.copiedBytes ?? 0).toBeGreaterThan(1000);
    expect(foOut.possibleLossBytes).toBe(0);
    const primary = await primaryPod(ns);
    expect(primary).toBe(foOut.newPrimary);

    await writer.waitMore(50);
    const acks = await writer.stop();
    expect(await missingRows(ns, acks, 120_000, [primary])).toEqual({});
    await waitHealthy(ns);
    await replayedEverywhere(ns, primary, await standbysOf(ns, primary));
  });
});

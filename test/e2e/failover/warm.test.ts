// Warm standbys (KubeDB's default standbyMode, and examples/ha-postgres.yaml)
// take no queries, so kpg learns their position from their WAL on disk. Under
// write load: a switchover, then a failover of a primary killed while both
// standbys were cut off (its unsent WAL must be copied from its volume). The
// new primary must hold every acknowledged row, and every warm standby must
// report (in pg_stat_replication) that it replayed past the last one.
import { afterAll, describe, expect, it } from 'vitest';
import {
  cleanup,
  CLUSTER,
  createCluster,
  killWithStandbysCutOff,
  kpg,
  missingRows,
  parseJson,
  primaryPod,
  replayedEverywhere,
  sql,
  standbysOf,
  waitHealthy,
} from './harness.js';
import { Writer } from './writer.js';

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

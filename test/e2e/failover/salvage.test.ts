// Asynchronous replication lets a primary acknowledge commits it has not sent.
// Here the standbys are cut off first, so the primary surely holds such
// commits when it is killed: kpg must copy them from its volume before it
// promotes. When that volume cannot be read (no node may run the old pod),
// kpg refuses and rolls back; --force goes on and says what may be lost.
import { afterAll, describe, expect, it } from 'vitest';
import { allowScheduling, forbidScheduling } from '../../cluster/faults.js';
import { sleep } from '../../cluster/kube.js';
import {
  cleanup,
  CLUSTER,
  createCluster,
  killPrimary,
  killWithStandbysCutOff,
  kpg,
  missingRows,
  parseJson,
  pods,
  primaryPod,
  sql,
  waitHealthy,
} from './harness.js';
import { Writer } from './writer.js';

describe('kpg failover: the WAL a killed primary never sent', () => {
  const namespaces: string[] = [];
  afterAll(async () => {
    await allowScheduling();
    for (const ns of namespaces) await cleanup(ns);
  });

  // Twice: the second time on timeline 2, where a standby's control file may
  // still name timeline 1 (a bug the benchmark once caught).
  it('is copied from the old primary volume (MBs, across segment files, on any timeline): every acknowledged row kept', async () => {
    const ns = await createCluster('fo-salvage');
    namespaces.push(ns);
    const writer = await Writer.start(ns, CLUSTER);
    for (const [round, pad] of [
      [1, 6000],
      [2, 0],
    ] as const) {
      const old = await waitHealthy(ns);
      await writer.waitMore(20);
      await killWithStandbysCutOff(ns, old, async () => {
        // Commits the standbys cannot receive: only the primary's disk has them,
        // about 8 MB of WAL (into the next segment file) and the writer's rows.
        const big = await sql(
          ns,
          old,
          `create table big${round} as select g, repeat('x', 1000) as pad from generate_series(1, ${pad}) g`,
          60_000,
        );
        expect(big.code, big.stderr).toBe(0);
        await writer.waitMore(100);
      });
      const r = await kpg(['failover', CLUSTER, '-n', ns, '--yes', '-o', 'json']);
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      const out = parseJson(r);
      console.log(
        `${ns} #${round}: ${out.totalMs} ms, timeline ${out.timeline}, salvage ${JSON.stringify(out.walSalvage)}`,
      );
      expect(out.kind).toBe('failover');
      expect(out.timeline).toBe(round + 1);
      expect(out.walSalvage?.copiedBytes ?? 0).toBeGreaterThan(pad > 0 ? 6_000_000 : 1000);
      expect(out.possibleLossBytes).toBe(0);
      expect(await primaryPod(ns)).toBe(out.newPrimary);
      await writer.waitMore(50);
    }
    const acks = await writer.stop();
    expect(await missingRows(ns, acks)).toEqual({});
    await waitHealthy(ns);
  });

  it('cannot be read: refused and rolled back; --force fails over and says so', async () => {
    const ns = await createCluster('fo-nosalv');
    namespaces.push(ns);
    const old = await waitHealthy(ns);
    await killPrimary(ns, old, true);
    // No node may run the old primary's pod again (as when its node is lost).
    await forbidScheduling();
    try {
      const args = ['failover', CLUSTER, '-n', ns, '--yes', '--salvage-timeout', '3s'];
      const refused = await kpg([...args, '--timeout', '20s']);
      expect(refused.code, `${refused.stdout}\n${refused.stderr}`).toBe(9);
      expect(refused.stderr).toMatch(/could not be read within 3s/);
      expect(refused.stderr).toMatch(/rolled back/);
      expect(refused.stderr).toMatch(/--force/);
      expect(refused.stderr).not.toMatch(/\n\s+at /);
      expect((await pods(ns)).filter((p) => p.role === 'primary')).toEqual([]);

      const forced = await kpg([...args, '--timeout', '20s', '--force', '-o', 'json']);
      expect(forced.code, `${forced.stdout}\n${forced.stderr}`).toBe(0);
      const out = parseJson(forced);
      expect(out.kind).toBe('failover');
      expect(out.walSalvage?.failed).toMatch(/could not be read/);
      expect(out.warnings?.join('\n')).toMatch(/would be lost/);
      expect(await primaryPod(ns)).toBe(out.newPrimary);
    } finally {
      await allowScheduling();
    }
    // The old primary's pod runs again and rejoins as a standby (pg_rewind).
    await sleep(1000);
    await waitHealthy(ns);
  });
});

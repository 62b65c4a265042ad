// Tests 3, 4 and 5: a frozen primary (SIGSTOP), a primary cut off the pod
// network, and a lagging standby as --to (refused with the measured lag;
// --force proceeds and reports the possible loss, the old primary's volume
// being out of reach).
import { afterAll, describe, expect, it } from 'vitest';
import {
  allowNewPods,
  forbidNewPods,
  freezePod,
  healPod,
  partitionPod,
  thawPod,
} from '../../cluster/faults.js';
import { exec, kubectlOk, sleep, waitFor } from '../../cluster/kube.js';
import {
  cleanup,
  CLUSTER,
  createCluster,
  kpg,
  missingRows,
  parseJson,
  pods,
  primaryPod,
  sql,
  waitHealthy,
} from './harness.js';
import { longestGap, Writer } from './writer.js';

/** The old primary's pod came back as a streaming standby of the new one. */
async function rejoined(ns: string, oldPrimary: string, newPrimary: string): Promise<void> {
  await waitFor(
    async () => {
      const r = await sql(
        ns,
        newPrimary,
        `select state from pg_stat_replication where application_name = '${oldPrimary}'`,
      );
      return r.code === 0 && r.stdout.trim() === 'streaming';
    },
    180_000,
    { what: `${oldPrimary} to stream from ${newPrimary}`, intervalMs: 1000 },
  );
}

/** healPod, unless the pod was replaced meanwhile (a new pod has a new, whole network). */
function healIfThere(ns: string, pod: string): void {
  try {
    healPod(ns, pod);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

describe('kpg failover under faults', () => {
  const namespaces: string[] = [];
  afterAll(async () => {
    for (const ns of namespaces) await cleanup(ns);
  });

  it('fences a frozen primary, which rejoins as a standby and takes no writes', async () => {
    const ns = await createCluster('fo-freeze');
    namespaces.push(ns);
    const old = await waitHealthy(ns);
    const writer = await Writer.start(ns, CLUSTER);
    const t0 = Date.now() / 1000;
    freezePod(ns, old);
    try {
      const r = await kpg(['failover', CLUSTER, '-n', ns, '--yes', '-o', 'json']);
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      const out = parseJson(r);
      expect(out.kind).toBe('failover');
      expect(out.newPrimary).not.toBe(old);
      await writer.waitMore(50);
      const acks = await writer.stop();
      console.log(
        `frozen primary: failover in ${out.totalMs} ms, write pause ${longestGap(acks, t0)} ms`,
      );
      // Resuming whatever is left of it changes nothing: it was fenced.
      thawPod(ns, old);
      await rejoined(ns, old, out.newPrimary);
      expect(await primaryPod(ns)).toBe(out.newPrimary);
      const r2 = await sql(ns, old, 'select pg_is_in_recovery()');
      expect(r2.stdout.trim()).toBe('t');
      expect(await missingRows(ns, acks)).toEqual({});
    } finally {
      thawPod(ns, old);
    }
  });

  it('fails over from a primary cut off the network, which rejoins once healed', async () => {
    const ns = await createCluster('fo-part');
    namespaces.push(ns);
    const old = await waitHealthy(ns);
    const writer = await Writer.start(ns, CLUSTER);
    partitionPod(ns, old);
    try {
      const r = await kpg(['failover', CLUSTER, '-n', ns, '--yes', '-o', 'json']);
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      const out = parseJson(r);
      expect(out.kind).toBe('failover');
      await writer.waitMore(50);
      healPod(ns, old);
      await rejoined(ns, old, out.newPrimary);
      expect(await primaryPod(ns)).toBe(out.newPrimary);
      const acks = await writer.stop();
      expect(await missingRows(ns, acks)).toEqual({});
    } finally {
      healPod(ns, old);
    }
  });

  it('refuses a lagging --to with the measured lag; --force proceeds and reports the possible loss', async () => {
    const ns = await createCluster('fo-lag');
    namespaces.push(ns);
    const old = await waitHealthy(ns);
    const lagging = (await pods(ns)).map((p) => p.name).find((n) => n !== old) ?? '';
    freezePod(ns, lagging);
    try {
      // About 45 MB of WAL the frozen standby does not get: its kernel still
      // takes what fits in its socket buffers (seen: all of 8 MB, so no lag).
      const w = await sql(
        ns,
        old,
        "create table big as select g, repeat('x', 1000) as pad from generate_series(1, 40000) g",
        120_000,
      );
      expect(w.code, w.stderr).toBe(0);
      // The primary goes away, so the standby cannot catch up once thawed.
      partitionPod(ns, old);
      thawPod(ns, lagging);
      await sleep(1_000);
      const refused = await kpg([
        'failover',
        CLUSTER,
        '-n',
        ns,
        '--to',
        lagging,
        '--yes',
        '-o',
        'json',
      ]);
      expect(refused.code, refused.stdout).toBe(9);
      const msg = parseJson(refused).error?.message ?? '';
      expect(msg).toMatch(new RegExp(`${lagging} is [0-9.]+ MiB \\(\\d+ bytes\\) behind`));
      // The old primary's volume could make up the lag (salvage.test.ts); here no
      // node may run its pod again, so the lag is what a forced failover may lose.
      await forbidNewPods(ns);
      const forced = await kpg([
        'failover',
        CLUSTER,
        '-n',
        ns,
        '--to',
        lagging,
        '--force',
        '--salvage-timeout',
        '3s',
        '--timeout',
        '20s',
        '--yes',
        '-o',
        'json',
      ]);
      await allowNewPods(ns);
      expect(forced.code, `${forced.stdout}\n${forced.stderr}`).toBe(0);
      const out = parseJson(forced);
      expect(out.newPrimary).toBe(lagging);
      expect(out.forced).toBe(true);
      expect(out.walSalvage?.failed).toMatch(/could not be read/);
      expect(out.possibleLossBytes).toBeGreaterThan(1024 * 1024);
      console.log(
        `forced failover to a lagging standby: refused first (${msg}); possible loss ${out.possibleLossBytes} bytes`,
      );
      // The old primary (a new pod, on a whole network) and the standby that was
      // ahead are rewound and follow the new primary.
      await waitHealthy(ns, 3, 240_000);
      expect(await primaryPod(ns)).toBe(lagging);
      // Issue 12 item 5: the old primary's WAL that the new primary never
      // had was copied aside before pg_rewind recycled it, and describe says where.
      const log = await kubectlOk(['-n', ns, 'logs', old, '-c', 'postgres']);
      const kept =
        /kept (\d+) WAL segment\(s\) after \S+ on timeline 1, which the new primary never had, in (\S+) /.exec(
          log,
        );
      expect(kept, log.slice(-3000)).not.toBeNull();
      expect(Number(kept?.[1])).toBeGreaterThan(0);
      const dir = kept?.[2] ?? '';
      const listed = await exec(ns, old, ['ls', dir], { container: 'postgres' });
      expect(listed.stdout).toMatch(/DIVERGED/);
      expect(listed.stdout).toMatch(/^00000001[0-9A-F]{16}$/m);
      const d = await kpg(['describe', CLUSTER, '-n', ns]);
      expect(d.stdout).toContain(`${old} keeps WAL the cluster never got in ${dir}`);
      console.log(`forced failover: ${old} kept ${kept?.[1]} WAL segment(s) aside in ${dir}`);
    } finally {
      await allowNewPods(ns);
      thawPod(ns, lagging);
      healIfThere(ns, old);
    }
  });
});

// Issue 11, failsafe (done-whens 1 and 2), on one cluster in turn:
//   1. the API server stopped for 120 s with every pod healthy: the primary
//      keeps its role because both standbys confirm it over the pod network
//      each retry period; the writer sees no gap longer than 2 s, no
//      promotion happens, and the record is unchanged afterwards;
//   2. the API server stopped again, and the primary's pod cut off the
//      network during that time: it hears from no member, so its watchdog
//      fences postgres at the renew deadline; no standby promotes while the
//      API server is away (none can take the lease); once it is back one
//      does, and every acknowledged row is on every pod.
import { afterAll, describe, expect, it } from 'vitest';
import {
  isolatePod,
  postgresPids,
  rejoinPod,
  startApiServer,
  stopApiServer,
} from '../../cluster/faults.js';
import { getJson, sleep, waitFor } from '../../cluster/kube.js';
import { CLUSTER, cleanup, pods, waitHealthy } from '../failover/harness.js';
import { longestGap } from '../failover/writer.js';
import { describeVerdict, splitBrain } from './checker.js';
import {
  finish,
  RENEW_DEADLINE_SECONDS,
  startCluster,
  waitNewPrimary,
  writeSpan,
  type Started,
} from './setup.js';

interface Record {
  data?: { primary?: string; timeline?: string; history?: string };
}

const OUTAGE_MS = 120_000;
const PARTITIONED_OUTAGE_MS = 30_000;

describe('in-pod agent: API server outages (failsafe)', () => {
  let ns: string | undefined;
  let s: Started | undefined;
  let stopped = false;
  let cut: string | undefined;
  afterAll(async () => {
    if (stopped) await startApiServer();
    if (ns && cut) await rejoinPod(ns, cut).catch(() => undefined);
    await cleanup(ns);
  });

  const outage = async () => {
    await stopApiServer();
    stopped = true;
  };
  const restore = async () => {
    await startApiServer();
    stopped = false;
  };

  it('120 s without the API server: the primary keeps serving, no gap over 2 s, no promotion', async () => {
    s = await startCluster('agent-api', (n) => (ns = n));
    const before = await getJson<Record>(['-n', s.ns, 'configmap', `${CLUSTER}-kpg`]);
    const t0 = Date.now();
    await outage();
    await sleep(OUTAGE_MS);
    const backAt = Date.now();
    await restore();
    const during = longestGap(await s.writer.acked(), t0 / 1000, backAt / 1000);
    expect(await waitHealthy(s.ns, 3, 300_000)).toBe(s.primary);
    const after = await getJson<Record>(['-n', s.ns, 'configmap', `${CLUSTER}-kpg`]);
    expect(after.data?.primary).toBe(s.primary);
    expect(after.data?.timeline).toBe(before.data?.timeline);
    expect(after.data?.history).toBe(before.data?.history);
    expect((await pods(s.ns)).filter((p) => p.role === 'primary').map((p) => p.name)).toEqual([
      s.primary,
    ]);
    console.log(
      `${s.ns}: API server down ${OUTAGE_MS / 1000} s → ${s.primary} still primary; longest write pause during the outage ${during} ms`,
    );
    expect(during).toBeLessThan(2000);
  });

  it('the primary partitioned during an outage: fenced, no promotion until the API is back, then one primary, nothing lost', async () => {
    if (!s) throw new Error('the first test did not start the cluster');
    const old = s.primary;
    const t1 = Date.now();
    await outage();
    await sleep(3000); // failsafe rounds are under way
    expect(postgresPids(s.ns, old).length).toBeGreaterThan(0);
    await isolatePod(s.ns, old);
    cut = old;
    const cutAt = Date.now();
    const ns1 = s.ns;
    await waitFor(() => postgresPids(ns1, old).length === 0, (RENEW_DEADLINE_SECONDS + 6) * 1000, {
      intervalMs: 100,
      what: `${old}'s postgres fenced`,
    });
    const fencedMs = Date.now() - cutAt;
    await sleep(Math.max(0, PARTITIONED_OUTAGE_MS - (Date.now() - cutAt)));
    const backAt = Date.now();
    await restore();
    const next = await waitNewPrimary(s.ns, old, 90_000);
    const promotedMs = Date.now() - backAt;
    await rejoinPod(s.ns, old);
    cut = undefined;
    const { acks, verdict, pauseMs } = await finish(s, next, t1);
    console.log(
      `${s.ns}: ${old} partitioned during an outage → fenced ${fencedMs} ms after the cut; ${next} labelled primary ${promotedMs} ms after the API server was back; write pause ${pauseMs} ms; ${describeVerdict(verdict)}; ${acks.length} rows`,
    );
    // Nobody took writes while the API server was away, but the old primary.
    expect(writeSpan(verdict, next).first * 1000).toBeGreaterThan(backAt);
    expect(writeSpan(verdict, old).last * 1000).toBeLessThan(cutAt + 1000);
    expect(splitBrain(verdict)).toEqual([]);
  });
});

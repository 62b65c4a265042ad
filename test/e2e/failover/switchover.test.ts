// Test 1: switchover under write load loses nothing acknowledged; the old
// primary rejoins as a standby; describe shows the topology and the history.
import { afterAll, describe, expect, it } from 'vitest';
import {
  CLUSTER,
  cleanup,
  createCluster,
  kpg,
  missingRows,
  parseJson,
  pods,
  primaryPod,
  waitHealthy,
} from './harness.js';
import { getJson } from '../../cluster/kube.js';
import { longestGap, Writer } from './writer.js';

describe('kpg failover: switchover', () => {
  let ns: string | undefined;
  afterAll(() => cleanup(ns));

  it('switches over under write load with zero acknowledged rows lost', async () => {
    ns = await createCluster('fo-switch');
    const old = await waitHealthy(ns);
    const writer = await Writer.start(ns, CLUSTER);
    const t0 = Date.now() / 1000;
    const r = await kpg(['failover', CLUSTER, '-n', ns, '--yes', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const out = parseJson(r);
    expect(out.kind).toBe('switchover');
    expect(out.oldPrimary).toBe(old);
    expect(out.newPrimary).not.toBe(old);
    expect(out.possibleLossBytes).toBe(0);
    expect(out.timeline).toBe(2);
    expect(await primaryPod(ns)).toBe(out.newPrimary);
    await writer.waitMore(50);
    const acks = await writer.stop();
    console.log(
      `switchover: ${out.totalMs} ms total, write pause ${longestGap(acks, t0)} ms, ${acks.length} rows`,
    );
    expect(await missingRows(ns, acks)).toEqual({});
    // The old primary is a streaming standby of the new one.
    expect(out.notRejoined).toEqual([]);
    expect((await pods(ns)).find((p) => p.name === old)?.role).toBe('replica');

    const d = await kpg(['describe', CLUSTER, '-n', ns, '-o', 'json'], { timeoutMs: 60_000 });
    expect(d.code, d.stderr).toBe(0);
    const text = d.stdout;
    expect(text).toContain(out.newPrimary);
    expect(text).toMatch(/switchover/);

    // Issue 16, item 12: the switchover is an Event on the StatefulSet.
    const events = await getJson<{ items: { reason: string; message: string }[] }>([
      '-n',
      ns,
      'events',
    ]);
    expect(events.items.find((e) => e.reason === 'SwitchedOver')?.message).toMatch(
      new RegExp(`kpg failover: switched over ${CLUSTER}: ${old} → ${out.newPrimary}`),
    );
  });
});

// Test 9: six role changes in a row, the target moving round the pods
// (--to the next one) and the kind alternating (a switchover, then a failover
// from a primary kept down by two SIGKILLs), under write load: the cluster stays healthy and keeps every
// acknowledged row.
import { afterAll, describe, expect, it } from 'vitest';
import { killPod, podState } from '../../cluster/faults.js';
import { waitFor } from '../../cluster/kube.js';
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
import { Writer } from './writer.js';

async function keepDown(ns: string, pod: string): Promise<void> {
  const before = podState(ns, pod).containers['postgres']?.restartCount ?? 0;
  killPod(ns, pod);
  await waitFor(() => {
    const c = podState(ns, pod).containers['postgres'];
    return c !== undefined && c.running && c.restartCount > before;
  }, 30_000);
  killPod(ns, pod);
}

describe('kpg failover, again and again', () => {
  let ns: string | undefined;
  afterAll(() => cleanup(ns));

  it('keeps a healthy cluster and all data through 6 role changes', async () => {
    ns = await createCluster('fo-repeat');
    await waitHealthy(ns);
    const writer = await Writer.start(ns, CLUSTER);
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const old = await waitHealthy(ns);
      const names = (await pods(ns)).map((p) => p.name);
      const next = names[(names.indexOf(old) + 1) % names.length] ?? '';
      const args = ['failover', CLUSTER, '-n', ns, '--yes', '-o', 'json', '--to', next];
      if (i % 2 === 1) await keepDown(ns, old);
      const r = await kpg(args);
      expect(r.code, `round ${i}: ${r.stdout}\n${r.stderr}`).toBe(0);
      const out = parseJson(r);
      expect(out.kind).toBe(i % 2 === 0 ? 'switchover' : 'failover');
      expect(out.timeline).toBe(i + 2);
      expect(out.newPrimary).toBe(next);
      expect(await primaryPod(ns)).toBe(out.newPrimary);
      seen.push(`${out.kind} ${out.oldPrimary}→${out.newPrimary} ${out.totalMs}ms`);
      await writer.waitMore(20);
    }
    console.log(seen.join('\n'));
    await waitHealthy(ns);
    const acks = await writer.stop();
    expect(await missingRows(ns, acks)).toEqual({});
    const d = await kpg(['describe', CLUSTER, '-n', ns, '-o', 'json'], { timeoutMs: 60_000 });
    expect((d.stdout.match(/"reason":\s*"(switchover|failover)"/g) ?? []).length).toBe(6);
  });
});

// Test 7: two kpg failover at once: exactly one proceeds, the other fails at
// once (exit 6) naming the holder of the Lease.
import { afterAll, describe, expect, it } from 'vitest';
import { CLUSTER, cleanup, createCluster, kpg, parseJson, pods, waitHealthy } from './harness.js';

describe('kpg failover: one at a time', () => {
  let ns: string | undefined;
  afterAll(() => cleanup(ns));

  it('lets exactly one of two concurrent runs proceed', async () => {
    ns = await createCluster('fo-lease');
    await waitHealthy(ns);
    const args = ['failover', CLUSTER, '-n', ns, '--yes', '-o', 'json'];
    const [a, b] = await Promise.all([kpg(args), kpg(args)]);
    const results = [a, b];
    const ok = results.filter((r) => r.code === 0);
    const refused = results.filter((r) => r.code !== 0);
    expect(ok.length, results.map((r) => r.stdout + r.stderr).join('\n---\n')).toBe(1);
    expect(refused.length).toBe(1);
    const loser = refused[0];
    expect(loser?.code).toBe(6);
    const err = parseJson(loser!).error;
    expect(err?.message).toMatch(/another kpg failover or apply is running .* held by kpg@/);
    // It failed at once: well before the winner finished.
    expect(loser!.ms).toBeLessThan(ok[0]!.ms);
    const out = parseJson(ok[0]!);
    expect((await pods(ns)).filter((p) => p.role === 'primary').map((p) => p.name)).toEqual([
      out.newPrimary,
    ]);
    await waitHealthy(ns);
  });
});

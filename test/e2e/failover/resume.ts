// Test 8's body, shared by resume-early and resume-late (two files, so that
// each fits beside the others): kpg failover killed (SIGKILL) right after
// each step in turn; the next run finds the unfinished operation in the record
// and finishes it: one primary, nothing acknowledged lost.
import { afterAll, describe, expect, it } from 'vitest';
import { sleep } from '../../cluster/kube.js';
import {
  CLUSTER,
  cleanup,
  createCluster,
  kpg,
  missingRows,
  parseJson,
  pods,
  waitHealthy,
} from './harness.js';
import { STEPS } from '../../../src/lib/failover/steps.js';
import { Writer } from './writer.js';

/** The plan, then every step but the last (after `finish` there is nothing to resume). */
export const CRASH_POINTS = ['plan', ...STEPS.filter((s) => s !== 'finish')];

/** Runs kpg failover until it is not refused for the lease (exit 6 means: held). */
async function failoverUntilNotHeld(
  ns: string,
): Promise<{ out: ReturnType<typeof parseJson>; runs: number }> {
  for (let i = 0; ; i++) {
    const r = await kpg(['failover', CLUSTER, '-n', ns, '--yes', '-o', 'json']);
    if (r.code === 0) return { out: parseJson(r), runs: i + 1 };
    if (r.code !== 6 || i > 15)
      throw new Error(`kpg failover exited ${r.code}: ${r.stdout}\n${r.stderr}`);
    await sleep(2_000);
  }
}

/** The suite: a cluster under the writer, kpg failover killed after each of `steps`. */
export function resumeSuite(name: string, steps: readonly string[]): void {
  describe(`kpg failover: interrupted runs are finished by the next one (${name})`, () => {
    let ns: string | undefined;
    afterAll(() => cleanup(ns));

    it(`recovers from SIGKILL after each of ${steps.join(', ')}`, async () => {
      ns = await createCluster(`fo-resume-${name}`);
      await waitHealthy(ns);
      const writer = await Writer.start(ns, CLUSTER);
      for (const step of steps) {
        const before = await waitHealthy(ns);
        const crashed = await kpg(['failover', CLUSTER, '-n', ns, '--yes', '-o', 'json'], {
          env: { KPG_FAILOVER_CRASH_AFTER: step },
        });
        expect(crashed.code, `${step}: ${crashed.stdout}\n${crashed.stderr}`).toBe(-1);
        const d = await kpg(['describe', CLUSTER, '-n', ns], { timeoutMs: 60_000 });
        expect(d.stdout + d.stderr, `describe after a crash at ${step}`).toMatch(
          /Unfinished operation/,
        );
        const { out, runs } = await failoverUntilNotHeld(ns);
        // The killed run was a process of this machine: its lease is taken at once.
        expect(runs, `${step}: runs of kpg failover until the lease was free`).toBe(1);
        expect(out.resumed, step).toBe(true);
        expect(out.oldPrimary).toBe(before);
        const primaries = (await pods(ns)).filter((p) => p.role === 'primary').map((p) => p.name);
        expect(primaries, step).toEqual([out.rolledBack ? before : out.newPrimary]);
        const d2 = await kpg(['describe', CLUSTER, '-n', ns], { timeoutMs: 60_000 });
        expect(d2.stdout).not.toMatch(/Unfinished operation/);
        console.log(
          `crash after ${step}: resumed, ${out.rolledBack ? 'rolled back' : `${out.oldPrimary} → ${out.newPrimary}`}`,
        );
      }
      await waitHealthy(ns);
      await writer.waitMore(50);
      const acks = await writer.stop();
      expect(await missingRows(ns, acks)).toEqual({});
    });
  });
}

// Issue 10, done-when 10 (first half): five automatic failovers in a row on
// one cluster, each by another cause, with no kpg command after `kpg
// create`: kubectl delete pod, postgres killed and kept down, the whole pod
// frozen, the agent killed and kept down, a forced delete. After each the
// cluster is healthy again (one primary, two streaming standbys); at the end
// every acknowledged row is on every pod and the checker never saw two pods
// accept writes in the same instant, and within each step the old primary
// accepted no write after the new one took its first (a frozen pod, thawed,
// is fenced but for what it finishes in its thaw window, THAW_WINDOW_MS; a
// force-deleted one is gone). After
// each, every standby streams through its own slot on the new primary.
import { afterAll, describe, expect, it } from 'vitest';
import { freezePod, killContainer } from '../../cluster/faults.js';
import { kubectlOk } from '../../cluster/kube.js';
import { cleanup, standbysOf, waitHealthy } from '../failover/harness.js';
import { describeVerdict, stepProblems, type Thaw } from './checker.js';
import {
  AGENT,
  expectRowsKept,
  killUntilNewPrimary,
  startCluster,
  streamingThroughSlots,
  thaw,
  waitNewPrimary,
} from './setup.js';

type Cause = (ns: string, primary: string) => Promise<string>;

/** The frozen pod's thaw (see THAW_WINDOW_MS). */
const thaws: Thaw[] = [];

const CAUSES: [string, Cause][] = [
  [
    'kubectl delete pod',
    async (ns, p) => {
      await kubectlOk(['-n', ns, 'delete', 'pod', p, '--wait=false']);
      return waitNewPrimary(ns, p);
    },
  ],
  [
    'postgres killed and kept down',
    async (ns, p) =>
      (await killUntilNewPrimary(ns, p, 'postgres', () => killContainer(ns, p, 'postgres'))).next,
  ],
  [
    'pod frozen',
    async (ns, p) => {
      freezePod(ns, p);
      try {
        return await waitNewPrimary(ns, p);
      } finally {
        thaws.push(await thaw(ns, p));
      }
    },
  ],
  [
    'agent killed and kept down',
    async (ns, p) =>
      (await killUntilNewPrimary(ns, p, AGENT, () => killContainer(ns, p, AGENT))).next,
  ],
  [
    'forced delete',
    async (ns, p) => {
      await kubectlOk([
        '-n',
        ns,
        'delete',
        'pod',
        p,
        '--grace-period=0',
        '--force',
        '--wait=false',
      ]);
      return waitNewPrimary(ns, p);
    },
  ],
];

describe('in-pod agent: five automatic failovers in a row', () => {
  let ns: string | undefined;
  afterAll(async () => cleanup(ns));

  it('each by another cause: a healthy cluster after each, all data at the end', async () => {
    const s = await startCluster('agent-repeat', (n) => (ns = n));
    let primary = s.primary;
    const took: string[] = [];
    const steps: { from: string; to: string; atS: number }[] = [];
    for (const [what, cause] of CAUSES) {
      const t0 = Date.now();
      const next = await cause(s.ns, primary);
      expect(next).not.toBe(primary);
      took.push(`${what}: ${primary} → ${next} in ${Date.now() - t0} ms`);
      steps.push({ from: primary, to: next, atS: t0 / 1000 });
      expect(await waitHealthy(s.ns, 3, 300_000)).toBe(next);
      // Issue 11: after each failover every standby streams through its slot on the new primary.
      await streamingThroughSlots(s.ns, next, await standbysOf(s.ns, next));
      await s.checker.waitWritable(next, t0 / 1000);
      primary = next;
    }
    await s.writer.waitMore(50);
    const acks = await s.writer.stop();
    const verdict = await s.checker.stop(thaws);
    console.log(`${s.ns}: ${took.join('; ')}; ${describeVerdict(verdict)}; ${acks.length} rows`);
    // Asynchronous: every cause but the first (a planned handover) may lose
    // the old primary's unsent tail, which the README does not promise.
    await expectRowsKept(
      s.ns,
      acks,
      steps.slice(1).map((st) => st.atS * 1000),
      thaws,
    );
    expect(verdict.sameSlot).toEqual([]);
    expect(stepProblems(verdict, steps)).toEqual([]);
  });
});

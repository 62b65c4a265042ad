// Issue 12 item 4: an interrupted kpg failover is not completed behind the
// back of whoever runs the next one. On a terminal the next run shows the
// saved plan and asks again ("no" keeps the operation and changes nothing);
// a run naming another target with --to rolls the unfinished operation back
// (nothing was promoted) and plans afresh. Under the writer and the checker.
import { afterAll, describe, expect, it } from 'vitest';
import { getJson, kubeconfigPath, repoRoot } from '../../cluster/kube.js';
import { Checker, describeVerdict, splitBrain } from '../agent/checker.js';
import { TmuxSession } from '../tmux.js';
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

const savedOperation = async (ns: string) => {
  const cm = await getJson<{ data?: { operation?: string } }>([
    '-n',
    ns,
    'configmap',
    `${CLUSTER}-kpg`,
  ]);
  return cm.data?.operation
    ? (JSON.parse(cm.data.operation) as { newPrimary: string; completedSteps: string[] })
    : undefined;
};

describe('kpg failover: resuming an interrupted run', () => {
  let ns: string | undefined;
  afterAll(() => cleanup(ns));

  it('asks again on a terminal, and a new --to re-plans instead of completing the old plan', async () => {
    ns = await createCluster('fo-resume-ask');
    const before = await waitHealthy(ns);
    const [writer, checker] = await Promise.all([
      Writer.start(ns, CLUSTER),
      Checker.start(ns, CLUSTER),
    ]);
    await checker.waitWritable(before);
    const crashed = await kpg(['failover', CLUSTER, '-n', ns, '--yes', '-o', 'json'], {
      env: { KPG_FAILOVER_CRASH_AFTER: 'record' },
    });
    expect(crashed.code, `${crashed.stdout}\n${crashed.stderr}`).toBe(-1);
    const saved = await savedOperation(ns);
    expect(saved?.completedSteps).toEqual(['record']);
    const planned = saved?.newPrimary ?? '';

    const term = new TmuxSession(`kpg-resume-ask-${process.pid}`);
    try {
      term.start(
        `cd ${repoRoot} && KUBECONFIG=${kubeconfigPath} ${process.execPath} bin/run.js failover ${CLUSTER} -n ${ns}`,
      );
      const asked = await term.until(
        new RegExp(`Go ahead with the switchover to ${planned}\\? \\[y/N\\]`),
      );
      expect(asked).toMatch(/found an unfinished switchover/);
      term.keys('n', 'Enter');
      const done = await term.until(/KPG-EXIT=\d+/);
      expect(done).toContain('KPG-EXIT=0');
      expect(done).toMatch(/cancelled/);
    } finally {
      term.close();
    }
    // "No" kept the operation for a later run; nothing was promoted.
    expect((await savedOperation(ns))?.newPrimary).toBe(planned);

    const other = (await pods(ns)).map((p) => p.name).find((p) => p !== before && p !== planned);
    expect(other).toBeDefined();
    const r = await kpg(['failover', CLUSTER, '-n', ns, '--yes', '--to', other!, '-o', 'json']);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const out = parseJson(r);
    expect(out.resumed).toBe(true);
    expect(out.newPrimary).toBe(other);
    expect(out.warnings?.join('\n')).toMatch(
      new RegExp(`asks for ${other}, the unfinished switchover was going to ${planned}`),
    );
    expect(await primaryPod(ns)).toBe(other);
    expect(await savedOperation(ns)).toBeUndefined();

    await waitHealthy(ns);
    await checker.waitWritable(other!);
    await writer.waitMore(50);
    const acks = await writer.stop();
    const verdict = await checker.stop();
    console.log(`${ns}: ${acks.length} rows; ${describeVerdict(verdict)}`);
    expect(splitBrain(verdict)).toEqual([]);
    expect(await missingRows(ns, acks)).toEqual({});
  });
});

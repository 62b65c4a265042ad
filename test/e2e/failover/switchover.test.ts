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
import { getJson, kubeconfigPath, repoRoot } from '../../cluster/kube.js';
import { TmuxSession } from '../tmux.js';
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

  // Issue 12 item 4 and the destructive-command rule: without a terminal and
  // without --yes kpg failover changes nothing (exit 2); on a terminal it
  // shows the plan and asks, and "no" changes nothing either.
  it('asks on a terminal, and "no" changes nothing; refuses without one and without --yes', async () => {
    if (!ns) throw new Error('the switchover test made no cluster');
    const primary = await waitHealthy(ns);
    const bare = await kpg(['failover', CLUSTER, '-n', ns]);
    expect(bare.code, bare.stderr).toBe(2);
    expect(bare.stderr).toMatch(/there is no terminal to ask on: nothing was changed/);
    expect(bare.stderr).toMatch(/--yes/);

    const term = new TmuxSession(`kpg-failover-${process.pid}`);
    try {
      term.start(
        `cd ${repoRoot} && KUBECONFIG=${kubeconfigPath} ${process.execPath} bin/run.js failover ${CLUSTER} -n ${ns}`,
      );
      const asked = await term.until(/Go ahead with the switchover to \S+\? \[y\/N\]/);
      expect(asked).toMatch(new RegExp(`switchover of the primary ${primary} \\(healthy`));
      expect(asked).toMatch(/expected loss: none/);
      term.keys('n', 'Enter');
      const done = await term.until(/KPG-EXIT=\d+/);
      expect(done).toMatch(/cancelled: switchover/);
      expect(done).toMatch(/nothing was changed/);
      expect(done).toContain('KPG-EXIT=0');
    } finally {
      term.close();
    }
    expect(await primaryPod(ns)).toBe(primary);
  });
});

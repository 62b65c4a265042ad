/**
 * The in-pod agent's automatic failover on the local cluster (not a timed
 * test; the machine is noisy): `npx tsx bench/failover.ts --agents [--runs N]
 * [--only agent-pod-deleted,agent-kept-down,agent-node-lost] [--warm]`. For each
 * scenario, N runs (default 5) on one fresh 3-pod cluster with the agent
 * (postgres 15, hot standbys or with --warm warm ones, asynchronous, one pod per node), under the
 * in-cluster writer; no kpg command runs after `kpg create`:
 *   agent-pod-deleted  kubectl delete pod of the primary (graceful handover)
 *   agent-kept-down    the primary's postgres SIGKILLed, and again at each restart
 *   agent-node-lost    the primary's node lost (containers frozen, traffic dropped)
 * Per run: the write pause (longest gap between acknowledged commits from just
 * before the fault until 30 commits after the new primary is labelled), the
 * time until another pod is labelled primary, and, at the end of the
 * scenario, the acknowledged rows missing on any pod (warm standbys take no
 * queries: the rows on the primary, and each standby's replay position past
 * the last of them). Medians.
 */
import { killContainer, loseNode, restoreNode } from '../test/cluster/faults.js';
import { createNamespace, kubectlOk } from '../test/cluster/kube.js';
import {
  cleanup,
  CLUSTER,
  kpg,
  missingRows,
  pods,
  replayedEverywhere,
  standbysOf,
  waitHealthy,
} from '../test/e2e/failover/harness.js';
import { longestGap, Writer } from '../test/e2e/failover/writer.js';
import {
  agentManifest,
  killUntilNewPrimary,
  nodeOf,
  waitNewPrimary,
} from '../test/e2e/agent/setup.js';

export const AGENT_SCENARIOS = ['agent-pod-deleted', 'agent-kept-down', 'agent-node-lost'] as const;
export type AgentScenario = (typeof AGENT_SCENARIOS)[number];

export interface AgentSample {
  pauseMs: number;
  labelledMs: number;
}

async function fault(ns: string, primary: string, scenario: AgentScenario): Promise<string> {
  switch (scenario) {
    case 'agent-pod-deleted':
      await kubectlOk(['-n', ns, 'delete', 'pod', primary, '--wait=false']);
      return waitNewPrimary(ns, primary);
    case 'agent-kept-down':
      return (
        await killUntilNewPrimary(ns, primary, 'postgres', () =>
          killContainer(ns, primary, 'postgres'),
        )
      ).next;
    case 'agent-node-lost': {
      const node = await nodeOf(ns, primary);
      await loseNode(node);
      try {
        return await waitNewPrimary(ns, primary);
      } finally {
        await restoreNode(node);
      }
    }
  }
}

/** The primary off the writer's node (a switchover through the agents), so losing its node spares the writer. */
async function offNode(ns: string, primary: string, node: string): Promise<string> {
  if ((await nodeOf(ns, primary)) !== node) return primary;
  const ps = await pods(ns);
  const nodes = await Promise.all(
    ps.map(async (p) => ({ p: p.name, n: await nodeOf(ns, p.name) })),
  );
  const to = nodes.find((x) => x.p !== primary && x.n !== node)?.p;
  if (!to) throw new Error(`no standby off ${node}`);
  const r = await kpg(['failover', CLUSTER, '-n', ns, '--to', to, '--yes']);
  if (r.code !== 0) throw new Error(`kpg failover --to ${to}: ${r.stderr}`);
  return waitHealthy(ns, 3, 300_000);
}

async function once(
  ns: string,
  writer: { w: Writer; node: string },
  scenario: AgentScenario,
): Promise<AgentSample> {
  let primary = await waitHealthy(ns, 3, 300_000);
  if (scenario === 'agent-node-lost') primary = await offNode(ns, primary, writer.node);
  const w = writer.w;
  await w.waitMore(20);
  const t0 = Date.now();
  await fault(ns, primary, scenario);
  const labelledMs = Date.now() - t0;
  await w.waitMore(30, 180_000);
  return { pauseMs: longestGap(await w.acked(), t0 / 1000), labelledMs };
}

/** Runs the scenarios; returns the samples and the rows missing per scenario. */
export async function runAgentScenarios(
  scenarios: AgentScenario[],
  runs: number,
  warm = false,
): Promise<Record<string, { samples: AgentSample[]; missing: number; rows: number }>> {
  const out: Record<string, { samples: AgentSample[]; missing: number; rows: number }> = {};
  for (const scenario of scenarios) {
    const ns = await createNamespace(`bench-${scenario}`);
    try {
      const created = await kpg(['create', '-f', '-', '-n', ns, '--timeout', '5m'], {
        input: agentManifest({ spread: true, standbyMode: warm ? 'Warm' : 'Hot' }),
        timeoutMs: 330_000,
      });
      if (created.code !== 0) throw new Error(`kpg create: ${created.stderr}`);
      const first = await waitHealthy(ns, 3, 300_000);
      // The writer stays off the first primary's node; later ones are moved off its node.
      const avoid = await nodeOf(ns, first);
      const writer = await Writer.start(ns, CLUSTER, 'writer', avoid);
      const writerNode = await nodeOf(ns, 'writer');
      const samples: AgentSample[] = [];
      for (let i = 0; i < runs; i++) {
        const s = await once(ns, { w: writer, node: writerNode }, scenario);
        samples.push(s);
        console.log(
          `${scenario} #${i + 1}: labelled ${s.labelledMs} ms, write pause ${s.pauseMs} ms`,
        );
      }
      const primary = await waitHealthy(ns, 3, 300_000);
      const acks = await writer.stop();
      const missing = await missingRows(ns, acks, 120_000, warm ? [primary] : undefined);
      if (warm) await replayedEverywhere(ns, primary, await standbysOf(ns, primary));
      const lost = new Set(Object.values(missing).flat()).size;
      console.log(
        `${scenario}: ${acks.length} acknowledged rows, missing: ${JSON.stringify(missing)}`,
      );
      out[scenario] = { samples, missing: lost, rows: acks.length };
    } finally {
      await cleanup(ns);
    }
  }
  return out;
}

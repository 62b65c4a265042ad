/** Apply's plan against what runs: the record's spec, the live StatefulSet, the agent bundle it needs. */
import type { Kube } from '../kube/index.js';
import type { PostgresCluster } from '../manifest/types.js';
import { agentBundleFor } from './agent-bundle.js';
import { readRunning, runsAgent, runsTls, type RunningCluster } from './apply-exec.js';
import { planApply, type ApplyPlan } from './apply-plan.js';

export interface PlannedApply {
  plan: ApplyPlan;
  running: RunningCluster;
  render: { agentBundle?: string };
}

export async function planAgainstCluster(
  kube: Kube,
  next: PostgresCluster,
  namespace: string,
): Promise<PlannedApply> {
  const running = await readRunning(kube, namespace, next.name);
  const live = running.statefulSet?.spec?.replicas;
  // Read only when the cluster runs, or gets, the in-pod agent.
  const agentBundle = agentBundleFor([running.old, next]);
  const render = agentBundle !== undefined ? { agentBundle } : {};
  const plan = planApply({
    old: running.old,
    next,
    namespace,
    render,
    primary: running.record.primary,
    ...(live !== undefined && live !== running.old.replicas ? { liveReplicas: live } : {}),
    ...(running.statefulSet
      ? { liveAgent: runsAgent(running.statefulSet), liveTls: runsTls(running.statefulSet) }
      : {}),
  });
  return { plan, running, render };
}

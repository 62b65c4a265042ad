/**
 * Maintenance mode: `kpg pause` sets the record's `paused` (the time it
 * began), `kpg resume` removes it. The agents read the record every retry
 * period: while it is set they neither fail over nor fence, and postgres
 * keeps its role. Only for clusters whose pods run the agent.
 */
import type { Kube } from '../kube/index.js';
import { NotFoundError, UsageError } from '../errors.js';
import { objectNames } from '../render/labels.js';
import { runsAgent, type StatefulSetObject } from './apply-exec.js';
import { toJson, toYaml } from './format.js';

export interface PauseResult {
  name: string;
  namespace: string;
  paused: boolean;
  /** When the pause began (paused), or when the one just ended had begun. */
  since?: string;
  /** false: it already was so. */
  changed: boolean;
}

interface ConfigMap {
  metadata?: { name?: string; resourceVersion?: string };
  data?: Record<string, string>;
}

/** Sets (on) or clears the record's pause mark, with compare-and-swap; idempotent. */
export async function setPaused(
  kube: Kube,
  target: { namespace: string; name: string },
  on: boolean,
  now: Date,
): Promise<PauseResult> {
  const { namespace, name } = target;
  const sts = await kube.find<StatefulSetObject>('StatefulSet', namespace, name);
  if (!sts) {
    throw new NotFoundError(`postgres "${name}" not found in namespace ${namespace}`, {
      suggestions: ['list the clusters: kpg get -A'],
    });
  }
  if (!runsAgent(sts)) {
    throw new UsageError(
      `${namespace}/${name} runs no in-pod agent (kpg.io/agent: "false"): nothing fails over by itself, so there is nothing to ${on ? 'pause' : 'resume'}`,
      { suggestions: ['kpg failover NAME changes its primary by hand'] },
    );
  }
  const record = objectNames(name).record;
  if (!(await kube.find<ConfigMap>('ConfigMap', namespace, record))) {
    throw new NotFoundError(`${namespace}/${name} has no record (ConfigMap ${record})`);
  }
  let before: string | undefined;
  const r = await kube.mutate<ConfigMap>('ConfigMap', namespace, record, (cm) => {
    const data = { ...(cm.data ?? {}) };
    before = data.paused;
    if (on) data.paused = before ?? now.toISOString();
    else delete data.paused;
    return { ...cm, data };
  });
  const since = on ? (r.object.data?.paused ?? before) : before;
  return { name, namespace, paused: on, changed: r.changed, ...(since ? { since } : {}) };
}

/** One line for the terminal. */
export function pauseLine(r: PauseResult): string {
  const who = `${r.namespace}/${r.name}`;
  if (r.paused) {
    return r.changed
      ? `${who} paused: its agents neither fail over nor fence until kpg resume ${r.name}`
      : `${who} was already paused (since ${r.since ?? 'unknown'})`;
  }
  return r.changed
    ? `${who} resumed (paused since ${r.since ?? 'unknown'}): its agents fail over again`
    : `${who} was not paused`;
}

/** What pause/resume print: -o json|yaml, or the line. */
export function formatPause(r: PauseResult, output: string): string {
  if (output === 'json') return toJson(r);
  if (output === 'yaml') return toYaml(r);
  return pauseLine(r);
}

/**
 * Waiting for a new cluster to serve: the pods exist, the recorded primary
 * accepts writes (not in recovery, and a write probe succeeds), every standby
 * streams from it (rows of pg_stat_replication on the primary with state
 * `streaming`, not assumed from pod readiness), and every pod is Ready and
 * labelled with its role (`kpg describe` right after shows no `<unlabelled>`).
 * The checks are pure (`evaluateWait`); `waitForCluster` polls them, and
 * stops at once when the cluster's own signals say it cannot get there
 * (blockers.ts): the reason, Kubernetes' message and what to do.
 */
import { BlockedError, TimeoutError } from '../errors.js';
import type { Kube } from '../kube/index.js';
import {
  probeWrite,
  queryReplication,
  type ReplicationView,
  type WriteProbe,
} from '../postgres/index.js';
import { readBlockers } from './blocker-read.js';
import { type Blocker, blockerLine } from './blockers.js';
import { CLUSTER_SELECTOR, withDeadline } from './collect.js';
import { podReady, type K8sPod } from './objects.js';
import { ROLE_LABEL } from '../render/index.js';

export type StepState = 'pending' | 'running' | 'done';

export interface WaitStep {
  id: 'pods' | 'primary' | 'streaming' | 'ready';
  title: string;
  state: StepState;
  detail?: string;
}

export interface Observation {
  replicas: number;
  primary: string;
  /** role: the pod's kubedb.com/role label, once its start script or agent set it. */
  pods: { name: string; ready: boolean; running: boolean; role?: string }[];
  probe?: WriteProbe;
  probeError?: string;
  replication?: ReplicationView;
  /** Why pods are not coming up, from the cluster's own signals. */
  blockers?: Blocker[];
}

const TITLES: Record<WaitStep['id'], (o: Observation) => string> = {
  pods: (o) => `${o.replicas} pod${o.replicas === 1 ? '' : 's'} started`,
  primary: (o) => `primary ${o.primary} accepts writes`,
  streaming: (o) =>
    `${o.replicas - 1} standby${o.replicas === 2 ? '' : 's'} streaming from ${o.primary}`,
  ready: () => 'all pods Ready and labelled',
};

/** The steps, in order: done ones first, then the first not done is running. Pure. */
export function evaluateWait(o: Observation): WaitStep[] {
  const running = o.pods.filter((p) => p.running).length;
  const streaming = (o.replication?.rows ?? [])
    .filter((r) => r.state === 'streaming')
    .map((r) => r.standby);
  const ready = o.pods.filter((p) => p.ready).length;
  const unlabelled = o.pods.filter((p) => !p.role).length;
  const checks: [WaitStep['id'], boolean, string][] = [
    ['pods', running >= o.replicas, `${running}/${o.replicas} running`],
    [
      'primary',
      o.probe?.writable === true,
      o.probe ? (o.probe.inRecovery ? 'in recovery' : 'writable') : (o.probeError ?? 'waiting'),
    ],
    [
      'streaming',
      streaming.length >= o.replicas - 1,
      `${streaming.length}/${o.replicas - 1}${streaming.length ? ` (${streaming.sort().join(', ')})` : ''}`,
    ],
    [
      'ready',
      ready >= o.replicas && o.pods.length === o.replicas && unlabelled === 0,
      `${ready}/${o.replicas} Ready${unlabelled ? `, ${unlabelled} without a role label yet` : ''}`,
    ],
  ];
  const steps: WaitStep[] = [];
  let blocked = false;
  const why = (o.blockers ?? []).map(blockerLine);
  for (const [id, ok, detail] of checks) {
    if (id === 'streaming' && o.replicas <= 1) continue;
    const state: StepState = ok && !blocked ? 'done' : blocked ? 'pending' : 'running';
    // The running step carries what holds it up, as the cluster tells it.
    const shown = state === 'running' && why.length ? `${detail}; ${why.join('; ')}` : detail;
    if (!ok) blocked = true;
    steps.push({ id, title: TITLES[id](o), state, detail: shown });
  }
  return steps;
}

export const isDone = (steps: WaitStep[]) => steps.every((s) => s.state === 'done');

export interface WaitOptions {
  timeoutMs: number;
  /** Major version, for the replication query. */
  major: string;
  pollMs?: number;
  /** Each poll's per-pod SQL deadline. Default 5000. */
  sqlTimeoutMs?: number;
  /** Events before this instant (ISO) are not signals of this wait. Default: its start. */
  since?: string;
  onUpdate?: (steps: WaitStep[]) => void;
  /** Once for each blocker that may clear by itself (the wait goes on). */
  onBlocker?: (b: Blocker) => void;
  signal?: AbortSignal;
}

async function observe(
  kube: Kube,
  ns: string,
  name: string,
  replicas: number,
  primary: string,
  o: WaitOptions,
): Promise<Observation> {
  const pods = await kube.list<K8sPod>('Pod', {
    namespace: ns,
    labelSelector: CLUSTER_SELECTOR(name),
    signal: o.signal,
  });
  const blockers = await readBlockers(
    kube,
    { ns, name, ...(o.since ? { since: o.since } : {}), ...(o.signal ? { signal: o.signal } : {}) },
    pods.items,
  ).catch(() => undefined);
  const obs: Observation = {
    replicas,
    primary,
    pods: pods.items.map((p) => ({
      name: p.metadata?.name ?? '',
      ready: podReady(p),
      running: p.status?.phase === 'Running',
      ...(p.metadata?.labels?.[ROLE_LABEL] ? { role: p.metadata.labels[ROLE_LABEL] } : {}),
    })),
    ...(blockers?.length ? { blockers } : {}),
  };
  const prim = obs.pods.find((p) => p.name === primary);
  if (!prim?.running) return obs;
  const t = o.sqlTimeoutMs ?? 5000;
  const at = { ns, pod: primary };
  try {
    obs.probe = await withDeadline(t, `asking ${primary}`, (signal) =>
      probeWrite(kube, at, { timeoutMs: t, signal }),
    );
    if (obs.probe.writable && replicas > 1) {
      obs.replication = await withDeadline(t, `asking ${primary}`, (signal) =>
        queryReplication(kube, at, o.major, { timeoutMs: t, signal }),
      );
    }
  } catch (err) {
    obs.probeError = (err instanceof Error ? err.message : String(err)).split('\n')[0];
  }
  return obs;
}

export async function waitForCluster(
  kube: Kube,
  target: { ns: string; name: string; replicas: number; primary: string },
  o: WaitOptions,
): Promise<WaitStep[]> {
  const deadline = Date.now() + o.timeoutMs;
  const opts = { ...o, since: o.since ?? new Date().toISOString() };
  let steps: WaitStep[] = [];
  const told = new Set<string>();
  for (;;) {
    const obs = await observe(kube, target.ns, target.name, target.replicas, target.primary, opts);
    steps = evaluateWait(obs);
    o.onUpdate?.(steps);
    for (const b of obs.blockers ?? []) {
      // A new message is news (an unbound claim first, then Insufficient cpu).
      const key = `${b.object} ${b.reason} ${b.message}`;
      if (!b.fatal && !told.has(key)) o.onBlocker?.(b);
      told.add(key);
    }
    if (isDone(steps)) return steps;
    const fatal = (obs.blockers ?? []).filter((b) => b.fatal);
    if (fatal.length) throw blockedError(target, fatal);
    if (Date.now() >= deadline) {
      const open = steps
        .filter((s) => s.state !== 'done')
        .map((s) => `${s.title} (${s.detail ?? ''})`);
      throw new TimeoutError(
        `postgres "${target.name}" was not ready after ${Math.round(o.timeoutMs / 1000)}s: still waiting for ${open.join('; ')}`,
        {
          suggestions: [
            ...(obs.blockers ?? []).map((b) => b.advice),
            `see what holds it up: kpg describe ${target.name} -n ${target.ns}`,
          ],
          details: { reasons: obs.blockers ?? [] },
        },
      );
    }
    await kube.clock.sleep(
      Math.min(o.pollMs ?? 1000, Math.max(0, deadline - Date.now())),
      o.signal,
    );
  }
}

/** The wait cannot succeed: what the cluster said, what was made, how to undo or retry. */
export function blockedError(target: { ns: string; name: string }, fatal: Blocker[]): BlockedError {
  const lines = fatal.map((b) => {
    const log = b.log?.length
      ? `\n    last log lines:\n${b.log.map((l) => `      ${l}`).join('\n')}`
      : '';
    return `${blockerLine(b)}${log}`;
  });
  return new BlockedError(`postgres "${target.name}" cannot become ready: ${lines.join('\n  ')}`, {
    suggestions: [
      ...new Set(fatal.map((b) => b.advice)),
      `the cluster's objects were created and stay as they are: fix the cause and run kpg apply with the same manifest, or remove them with kpg delete ${target.name} -n ${target.ns}`,
    ],
    details: { reasons: fatal },
  });
}

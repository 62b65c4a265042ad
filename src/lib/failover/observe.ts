/** Collects the state of every pod of the cluster: the API's view, then a probe inside each pod. */
import { isNoFailover, ROLE_LABEL } from '../render/labels.js';
import { podName, type FailoverContext } from './context.js';
import { probe } from './pg.js';
import type { MemberState } from './types.js';

export interface PodObject {
  metadata?: {
    name?: string;
    uid?: string;
    labels?: Record<string, string>;
    deletionTimestamp?: string;
    annotations?: Record<string, string>;
  };
  status?: {
    podIP?: string;
    phase?: string;
    conditions?: { type?: string; status?: string }[];
    containerStatuses?: {
      name?: string;
      ready?: boolean;
      restartCount?: number;
      state?: { running?: object };
    }[];
  };
}

interface StatefulSetObject {
  metadata?: { name?: string };
  spec?: { replicas?: number };
}

/** The cluster's pods by name (from the StatefulSet's replicas and what exists). */
export async function listPods(ctx: FailoverContext): Promise<Map<string, PodObject>> {
  const { items } = await ctx.kube.list<PodObject>('Pod', {
    namespace: ctx.namespace,
    labelSelector: `kubedb.com/kind=Postgres,kubedb.com/name=${ctx.cluster}`,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  return new Map(items.map((p) => [p.metadata?.name ?? '', p]));
}

export async function memberNames(
  ctx: FailoverContext,
  pods: Map<string, PodObject>,
  extra: string[],
): Promise<string[]> {
  const sts = await ctx.kube.find<StatefulSetObject>(
    'StatefulSet',
    ctx.namespace,
    ctx.cluster,
    ctx.signal,
  );
  const names = new Set<string>([...pods.keys(), ...extra].filter(Boolean));
  for (let i = 0; i < (sts?.spec?.replicas ?? 0); i++) names.add(podName(ctx.cluster, i));
  return [...names].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

function apiView(name: string, pod: PodObject | undefined): MemberState {
  const c = pod?.status?.containerStatuses?.find((s) => s.name === 'postgres');
  const live = pod !== undefined && !pod.metadata?.deletionTimestamp;
  return {
    pod: name,
    exists: live,
    ...(pod?.metadata?.uid ? { uid: pod.metadata.uid } : {}),
    ...(pod?.status?.podIP ? { ip: pod.status.podIP } : {}),
    ...(pod?.metadata?.labels?.[ROLE_LABEL] ? { label: pod.metadata.labels[ROLE_LABEL] } : {}),
    ...(isNoFailover(pod?.metadata?.annotations) ? { noFailover: true } : {}),
    ready: pod?.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') ?? false,
    containerRunning: live && c?.state?.running !== undefined,
    ...(c?.restartCount !== undefined ? { restartCount: c.restartCount } : {}),
    probed: false,
    postmaster: false,
    standbySignal: false,
    accepts: false,
  };
}

export interface ObserveOptions {
  /** The pod the record names primary: standbys test reaching it over the network. */
  primary?: string;
  /** Read the last WAL record on disk of these pods. */
  waldump?: string[];
  timeoutMs?: number;
  /** Probe only these members (a second look at those that did not answer in time). */
  only?: string[];
}

/** Every member (or those of `only`), probed in parallel. */
export async function observe(
  ctx: FailoverContext,
  opts: ObserveOptions = {},
): Promise<MemberState[]> {
  const pods = await listPods(ctx);
  const all = await memberNames(ctx, pods, opts.primary ? [opts.primary] : []);
  const names = opts.only ? all.filter((n) => opts.only?.includes(n)) : all;
  const primaryIp = opts.primary ? pods.get(opts.primary)?.status?.podIP : undefined;
  return Promise.all(
    names.map(async (name) => {
      const m = apiView(name, pods.get(name));
      if (!m.containerRunning) {
        m.probeError = m.exists ? 'the container is not running' : 'the pod does not exist';
        return m;
      }
      const reach = name !== opts.primary ? primaryIp : undefined;
      const r = await probe(ctx, name, {
        ...(reach ? { reach } : {}),
        waldump: opts.waldump?.includes(name) ?? false,
        ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
      });
      return { ...m, ...r };
    }),
  );
}

/** Observes a single member. */
export async function observeOne(
  ctx: FailoverContext,
  name: string,
  opts: { waldump?: boolean; timeoutMs?: number } = {},
): Promise<MemberState> {
  const pod = await ctx.kube.find<PodObject>('Pod', ctx.namespace, name, ctx.signal);
  const m = apiView(name, pod);
  if (!m.exists) return { ...m, probeError: 'the pod does not exist' };
  const r = await probe(ctx, name, {
    waldump: opts.waldump ?? false,
    ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
  });
  return { ...m, ...r };
}

/** Waits (until timeoutMs) for every pod of `pods` to stream from `primary`; returns those that do. */
export async function waitStreaming(
  ctx: FailoverContext,
  primary: string,
  pods: string[],
  timeoutMs: number,
): Promise<string[]> {
  const deadline = ctx.clock.now() + timeoutMs;
  for (;;) {
    const m = await observeOne(ctx, primary, { timeoutMs: 5_000 });
    const streaming = (m.peers ?? []).filter((p) => p.state === 'streaming').map((p) => p.name);
    if (pods.every((p) => streaming.includes(p)) || ctx.clock.now() > deadline)
      return pods.filter((p) => streaming.includes(p));
    await ctx.clock.sleep(250, ctx.signal);
  }
}

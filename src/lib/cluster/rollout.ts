/**
 * A safe rolling restart for `kpg apply`: the StatefulSet is switched to
 * `updateStrategy: OnDelete` (kpg, not the controller, decides the order),
 * then the pods are deleted one at a time in the plan's order (standbys
 * first, the primary last), each waited for until it is back on the new
 * revision, Ready, and streaming (a standby) or writable (the primary; with
 * the in-pod agent, the standby its agents handed the primary over to).
 * A pod already on the new revision is skipped, so running it again after an
 * interruption finishes the job.
 */
import { BlockedError } from '../errors.js';
import type { Kube, KubeObject } from '../kube/index.js';
import { KubeTimeoutError } from '../kube/index.js';
import { probeWrite, queryReplication } from '../postgres/index.js';
import { primarySelector, selectorString } from '../render/labels.js';
import { readBlockers } from './blocker-read.js';
import { blockerLine } from './blockers.js';

export const REVISION_LABEL = 'controller-revision-hash';

export interface PodObject extends KubeObject {
  metadata?: KubeObject['metadata'] & { deletionTimestamp?: string };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}

interface StsObject extends KubeObject {
  metadata?: KubeObject['metadata'] & { generation?: number };
  status?: { observedGeneration?: number; updateRevision?: string; currentRevision?: string };
}

/** What every step needs: the client, where, and how long each wait may take. */
export interface RolloutContext {
  kube: Kube;
  namespace: string;
  /** The cluster (StatefulSet) name. */
  name: string;
  /** The pod the record names primary (with agents: whichever they made primary since). */
  primary: string;
  /**
   * The pods run the in-pod agent: the primary's restart is a handover, and
   * the pod the agents label primary afterwards is the primary from then on.
   */
  agents?: boolean;
  /** PostgreSQL major (for the replication query). */
  major: string;
  /** Each wait's deadline (per pod). */
  timeoutMs: number;
  /** Progress lines for a person. */
  onStep?: (line: string) => void;
  signal?: AbortSignal;
}

const POLL_MS = 1000;

export function podIsReady(p: PodObject | undefined): boolean {
  if (!p || p.metadata?.deletionTimestamp) return false;
  return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Polls fn until it returns true, or throws a timeout naming `what` (and the last error). */
async function poll(ctx: RolloutContext, what: string, fn: () => Promise<boolean>): Promise<void> {
  const clock = ctx.kube.clock;
  const deadline = clock.now() + ctx.timeoutMs;
  let last = '';
  for (;;) {
    try {
      if (await fn()) return;
      last = '';
    } catch (err) {
      if (err instanceof BlockedError) throw err;
      last = (err as Error).message;
    }
    if (clock.now() >= deadline) {
      throw new KubeTimeoutError(
        `timed out after ${Math.round(ctx.timeoutMs / 1000)} s waiting for ${what}${last ? ` (last error: ${last})` : ''}`,
        'the change is partly applied; see `kpg describe`, then run the same `kpg apply` again to finish it',
      );
    }
    await clock.sleep(POLL_MS, ctx.signal);
  }
}

/** The StatefulSet's update revision, once the controller has seen its latest spec. */
export async function updateRevision(ctx: RolloutContext): Promise<string> {
  let revision = '';
  await poll(ctx, `the StatefulSet ${ctx.name} to observe its new spec`, async () => {
    const sts = await ctx.kube.get<StsObject>('StatefulSet', ctx.namespace, ctx.name, ctx.signal);
    const observed = (sts.status?.observedGeneration ?? 0) >= (sts.metadata?.generation ?? 0);
    revision = sts.status?.updateRevision ?? '';
    return observed && revision !== '';
  });
  return revision;
}

/** Every listed standby streams from the primary (pg_stat_replication state 'streaming'). */
export async function waitStreaming(ctx: RolloutContext, standbys: string[]): Promise<void> {
  if (standbys.length === 0) return;
  await poll(ctx, `${standbys.join(', ')} to stream from the primary ${ctx.primary}`, async () => {
    const view = await queryReplication(
      ctx.kube,
      { ns: ctx.namespace, pod: ctx.primary },
      ctx.major,
      {
        signal: ctx.signal,
      },
    );
    const streaming = new Set(
      view.rows.filter((r) => r.state === 'streaming').map((r) => r.standby),
    );
    return standbys.every((s) => streaming.has(s));
  });
}

/** The primary accepts writes. */
export async function waitWritable(ctx: RolloutContext): Promise<void> {
  await poll(ctx, `the primary ${ctx.primary} to accept writes`, async () => {
    const probe = await probeWrite(
      ctx.kube,
      { ns: ctx.namespace, pod: ctx.primary },
      { signal: ctx.signal },
    );
    return probe.writable;
  });
}

/** Pod names of the cluster's StatefulSet that exist now. */
export async function clusterPods(ctx: RolloutContext): Promise<PodObject[]> {
  const { items } = await ctx.kube.list<PodObject>('Pod', {
    namespace: ctx.namespace,
    labelSelector: `kubedb.com/kind=Postgres,kubedb.com/name=${ctx.name}`,
    signal: ctx.signal,
  });
  return items;
}

/** The primary writable and every other existing pod streaming from it. */
export async function waitHealthy(ctx: RolloutContext, expected: string[]): Promise<void> {
  await waitWritable(ctx);
  await waitStreaming(
    ctx,
    expected.filter((p) => p !== ctx.primary),
  );
}

/** Waits until the pod named `pod` is a new one (not `oldUid`) on `revision`, Ready. */
export async function waitPodBack(
  ctx: RolloutContext,
  pod: string,
  want: { oldUid?: string; revision: string },
): Promise<void> {
  const since = new Date(ctx.kube.clock.now()).toISOString();
  await poll(ctx, `pod ${pod} to be back on the new revision and Ready`, async () => {
    const p = await ctx.kube.find<PodObject>('Pod', ctx.namespace, pod, ctx.signal);
    const fresh = p && !(want.oldUid && p.metadata?.uid === want.oldUid);
    if (fresh && p.metadata?.labels?.[REVISION_LABEL] === want.revision && podIsReady(p))
      return true;
    await stopIfBlocked(ctx, pod, since, fresh ? p : undefined);
    return false;
  });
}

/**
 * The pod cannot come back (its creation forbidden, its image or volume
 * not to be had, a crash loop): stop here, with the other members serving
 * as they are, rather than wait out the timeout.
 */
async function stopIfBlocked(
  ctx: RolloutContext,
  pod: string,
  since: string,
  current: PodObject | undefined,
): Promise<void> {
  const found = await readBlockers(
    ctx.kube,
    {
      ns: ctx.namespace,
      name: ctx.name,
      since,
      onlyPods: [pod],
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    },
    current ? [current] : [],
  );
  const fatal = found.filter((b) => b.fatal);
  if (fatal.length === 0) return;
  throw new BlockedError(
    `the rolling restart stopped at pod ${pod}: ${fatal.map(blockerLine).join('; ')}`,
    {
      suggestions: [
        ...new Set(fatal.map((b) => b.advice)),
        `the other members serve as before; the StatefulSet has the new spec: fix the cause and run the same kpg apply again to finish, or apply the old manifest to go back`,
      ],
      details: { reasons: fatal },
    },
  );
}

/** The one Ready pod of the cluster labelled primary (the agents label it). */
async function labelledPrimary(ctx: RolloutContext): Promise<string> {
  let primary = '';
  await poll(ctx, 'the agents to label a Ready pod primary', async () => {
    const pods = await ctx.kube.list<PodObject>('Pod', {
      namespace: ctx.namespace,
      labelSelector: selectorString(primarySelector({ name: ctx.name })),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    const ready = pods.items.filter((p) => podIsReady(p));
    primary = ready.length === 1 ? (ready[0]?.metadata?.name ?? '') : '';
    return primary !== '';
  });
  return primary;
}

/** Restarts one pod and waits until it serves its role again. */
async function restartOne(
  ctx: RolloutContext,
  pod: string,
  revision: string,
  all: string[],
): Promise<boolean> {
  const current = await ctx.kube.find<PodObject>('Pod', ctx.namespace, pod, ctx.signal);
  if (current?.metadata?.labels?.[REVISION_LABEL] === revision && podIsReady(current)) {
    ctx.onStep?.(`pod ${pod}: already on the new revision`);
    return false;
  }
  const role = pod === ctx.primary ? 'primary' : 'standby';
  ctx.onStep?.(`pod ${pod} (${role}): restarting`);
  const uid = current?.metadata?.uid;
  if (current)
    await ctx.kube.delete('Pod', ctx.namespace, pod, {
      ...(uid ? { uid } : {}),
      signal: ctx.signal,
    });
  await waitPodBack(ctx, pod, { ...(uid ? { oldUid: uid } : {}), revision });
  if (role === 'primary') {
    if (ctx.agents) {
      ctx.primary = await labelledPrimary(ctx);
      if (ctx.primary !== pod) ctx.onStep?.(`pod ${pod}: handed over to ${ctx.primary}`);
    }
    await waitHealthy(ctx, all);
    ctx.onStep?.(`pod ${pod} (primary): back, writable, standbys streaming`);
  } else {
    await waitStreaming(ctx, [pod]);
    ctx.onStep?.(`pod ${pod} (standby): back and streaming`);
  }
  return true;
}

/**
 * Deletes the pods in `order` one at a time (the StatefulSet must already be
 * OnDelete with the new template) and waits for each. Returns the pods restarted.
 */
export async function rollPods(ctx: RolloutContext, order: string[]): Promise<string[]> {
  const revision = await updateRevision(ctx);
  const restarted: string[] = [];
  for (const pod of order) {
    // Ctrl-C stops between two pods: the one restarting is waited for first.
    ctx.signal?.throwIfAborted();
    if (await restartOne(ctx, pod, revision, order)) restarted.push(pod);
  }
  return restarted;
}

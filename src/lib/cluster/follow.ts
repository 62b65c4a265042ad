/**
 * `kpg get -w`: calls `refresh` whenever the clusters in scope may have
 * changed: a watch on their StatefulSets and one on their pods (readiness,
 * the role label, a pod gone), plus a slow resync for what no object shows
 * (a standby that stopped streaming). Changes that come together cause one
 * refresh, and refreshes never overlap. Returns when `signal` aborts;
 * `refresh` must not throw.
 */
import type { Kube } from '../kube/index.js';
import { joinSelectors } from '../cli/kube-flags.js';
import { CLUSTER_LABELS, type ClusterScope } from './list.js';

export interface FollowOptions {
  signal: AbortSignal;
  /** Quiet time after an event before the refresh. Default 300 ms. */
  settleMs?: number;
  /** A refresh at least this often. Default 30 s. */
  resyncMs?: number;
}

export async function followClusters(
  kube: Kube,
  scope: ClusterScope,
  refresh: () => Promise<void>,
  o: FollowOptions,
): Promise<void> {
  const settleMs = o.settleMs ?? 300;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const schedule = (delay: number) => {
    if (timer) clearTimeout(timer);
    if (o.signal.aborted) return;
    timer = setTimeout(() => {
      // refresh reports its own failures: one failed read must not end the watch.
      running = running.then(refresh).finally(() => schedule(o.resyncMs ?? 30_000));
    }, delay);
  };
  schedule(o.resyncMs ?? 30_000);
  const name = scope.name ? `kubedb.com/name=${scope.name}` : undefined;
  const watchOpts = {
    allNamespaces: scope.allNamespaces,
    namespace: scope.namespace,
    signal: o.signal,
  };
  const onEvent = (e: { type: string }) => {
    if (e.type !== 'LIST') schedule(settleMs);
  };
  try {
    await Promise.all([
      kube.watch(
        'StatefulSet',
        { ...watchOpts, labelSelector: joinSelectors(CLUSTER_LABELS, name, scope.selector) },
        onEvent,
      ),
      kube.watch(
        'Pod',
        { ...watchOpts, labelSelector: joinSelectors('kubedb.com/kind=Postgres', name) },
        onEvent,
      ),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
    await running;
  }
}

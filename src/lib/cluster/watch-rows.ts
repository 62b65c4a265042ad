/**
 * `kpg get -w`: which clusters to print again after a change. kubectl's
 * watch prints a row whenever an object changes; kpg's rows are computed
 * (from the StatefulSet, the pods and each primary's answer), so it prints a
 * cluster again only when what its row says changed: READY, PRIMARY or
 * STATUS. A cluster that disappeared is printed once more as Deleted.
 */
import type { ClusterSummary } from './status.js';

export type Seen = ReadonlyMap<string, ClusterSummary>;

const key = (c: ClusterSummary) => `${c.namespace}/${c.name}`;
const shown = (c: ClusterSummary) => `${c.ready}/${c.replicas} ${c.primary} ${c.status}`;

export function seenOf(clusters: ClusterSummary[]): Map<string, ClusterSummary> {
  return new Map(clusters.map((c) => [key(c), c]));
}

/** The rows to print for `now` after `before`, and what is seen afterwards. */
export function watchChanges(
  before: Seen,
  now: ClusterSummary[],
): { rows: ClusterSummary[]; seen: Map<string, ClusterSummary> } {
  const seen = seenOf(now);
  const rows = now.filter((c) => {
    const b = before.get(key(c));
    return !b || shown(b) !== shown(c);
  });
  for (const [k, b] of before) {
    if (!seen.has(k)) rows.push({ ...b, ready: 0, primary: '<none>', status: 'Deleted' });
  }
  return { rows, seen };
}

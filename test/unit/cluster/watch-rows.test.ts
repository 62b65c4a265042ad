/** kpg get -w: which clusters are printed again after a change. */
import { describe, expect, it } from 'vitest';
import type { ClusterSummary } from '../../../src/lib/cluster/status.js';
import { seenOf, watchChanges } from '../../../src/lib/cluster/watch-rows.js';

const row = (over: Partial<ClusterSummary> = {}): ClusterSummary => ({
  name: 'pg',
  namespace: 'demo',
  version: '15',
  replicas: 3,
  ready: 3,
  primary: 'pg-0',
  status: 'Running',
  standbyMode: 'Hot',
  streamingMode: 'asynchronous',
  storage: '1Gi',
  ...over,
});

describe('watchChanges', () => {
  it('prints a cluster again only when READY, PRIMARY or STATUS changed', () => {
    const seen = seenOf([row()]);
    expect(watchChanges(seen, [row({ storage: '2Gi' })]).rows).toEqual([]);
    for (const change of [{ ready: 2 }, { primary: 'pg-1' }, { status: 'Degraded' }]) {
      expect(watchChanges(seen, [row(change)]).rows).toEqual([row(change)]);
    }
  });

  it('prints a new cluster, and a vanished one once as Deleted', () => {
    const seen = seenOf([row()]);
    const other = row({ name: 'other' });
    const added = watchChanges(seen, [row(), other]);
    expect(added.rows).toEqual([other]);
    const gone = watchChanges(added.seen, [other]);
    expect(gone.rows).toEqual([row({ ready: 0, primary: '<none>', status: 'Deleted' })]);
    expect(watchChanges(gone.seen, [other]).rows).toEqual([]);
  });

  it('tells clusters of the same name in two namespaces apart', () => {
    const seen = seenOf([row(), row({ namespace: 'prod' })]);
    expect(watchChanges(seen, [row(), row({ namespace: 'prod', primary: 'pg-2' })]).rows).toEqual([
      row({ namespace: 'prod', primary: 'pg-2' }),
    ]);
  });
});

/**
 * The record ConfigMap NAME-kpg as the agent changes it: compare-and-swap on
 * its resourceVersion, keys the agent does not know kept as they are.
 */
import {
  parseRecord,
  serializeRecord,
  type ClusterRecord,
  type HistoryEntry,
} from '../lib/cluster/record.js';
import type { RecordView } from '../lib/ha/types.js';
import type { ConfigMapObject } from './cluster-api.js';

export function recordView(cm: ConfigMapObject | undefined): RecordView | undefined {
  if (!cm?.data) return undefined;
  try {
    const r = parseRecord(cm.data);
    return {
      primary: r.primary,
      timeline: r.timeline,
      ...(r.bootstrapped ? { bootstrapped: r.bootstrapped } : {}),
      ...(r.paused ? { paused: r.paused } : {}),
    };
  } catch {
    return undefined;
  }
}

/** The ConfigMap to PUT: `change` applied to the parsed record, carrying the read resourceVersion. */
export function recordWith(
  cm: ConfigMapObject,
  change: (r: ClusterRecord) => ClusterRecord,
): ConfigMapObject {
  const next = change(parseRecord(cm.data));
  return { ...cm, data: { ...(cm.data ?? {}), ...serializeRecord(next) } };
}

export function namingPrimary(pod: string) {
  return (r: ClusterRecord): ClusterRecord => ({ ...r, primary: pod });
}

/** After the promotion: the new timeline, and the history entry of this automatic failover. */
export function withTimeline(entry: HistoryEntry) {
  return (r: ClusterRecord): ClusterRecord => ({
    ...r,
    timeline: entry.timeline,
    history: [...r.history, entry],
  });
}

/** The first primary marks the cluster bootstrapped, once (a later value is never replaced). */
export function bootstrappedAs(systemIdentifier: string) {
  return (r: ClusterRecord): ClusterRecord => ({
    ...r,
    bootstrapped: r.bootstrapped ?? systemIdentifier,
  });
}

/**
 * The record (ConfigMap NAME-kpg) as the failover reads and writes it:
 * get → pure mutation of the parsed record → replace, retried on conflict.
 */
import { objectNames } from '../render/labels.js';
import {
  parseRecord,
  serializeRecord,
  type ClusterRecord,
  type PendingOperation,
} from '../cluster/record.js';
import { NotFoundError } from '../errors.js';
import type { FailoverContext } from './context.js';

/** What a failover keeps in the record's `operation` (PendingOperation plus our own fields). */
export interface FailoverOperation extends PendingOperation {
  /** Why, lag, expected loss: the plan as decided. */
  plan: {
    why: string;
    oldPrimaryHealth: string;
    lagBytes: string;
    expectedLossBytes: string;
    referenceLsn?: string;
    targetLsn?: string;
    forced: boolean;
  };
  /** The old primary pod's uid when the plan was made (fencing deletes only that pod). */
  oldUid?: string;
  /** The old primary was shut down cleanly (its last record is a shutdown checkpoint). */
  graceful?: boolean;
  /** The old primary's WAL position just before the shutdown. */
  stopLsn?: string;
  /** Set by promote. */
  timeline?: number;
  promotedLsn?: string;
  /** The target's end of WAL when it was chosen: standbys beyond it must be rewound. */
  forkLsn?: string;
  /** Standbys that hold WAL the new primary never had (a forced failover): restarted to rewind. */
  restartStandbys?: string[];
  /** Bytes the most advanced standby had beyond the target (what a forced failover drops). */
  lostBytes?: string;
  /** Asynchronous failover: the end of the old primary's WAL, all of it copied into the target. */
  salvageEnd?: string;
  salvagedBytes?: string;
  /** Why the old primary's WAL could not be read (a --force failover went on without it). */
  salvageFailed?: string;
  /** The operation is being rolled back (a step before promote failed). */
  rollingBack?: string;
  /** Durations of completed steps, ms. */
  stepMs: Record<string, number>;
}

interface ConfigMap {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; resourceVersion?: string };
  data?: Record<string, string>;
}

export function recordName(cluster: string): string {
  return objectNames(cluster).record;
}

export async function readRecord(ctx: FailoverContext): Promise<ClusterRecord> {
  const cm = await ctx.kube.find<ConfigMap>(
    'ConfigMap',
    ctx.namespace,
    recordName(ctx.cluster),
    ctx.signal,
  );
  if (!cm) {
    throw new NotFoundError(
      `cluster ${ctx.namespace}/${ctx.cluster} has no record (ConfigMap ${recordName(ctx.cluster)})`,
      {
        suggestions: ['is the name right? kpg failover NAME -n NAMESPACE'],
      },
    );
  }
  return parseRecord(cm.data, ctx.cluster);
}

/** Applies fn to the current record and writes it back; returns the new record. */
export async function updateRecord(
  ctx: FailoverContext,
  fn: (r: ClusterRecord) => ClusterRecord,
): Promise<ClusterRecord> {
  let result: ClusterRecord | undefined;
  await ctx.kube.mutate<ConfigMap>(
    'ConfigMap',
    ctx.namespace,
    recordName(ctx.cluster),
    (cm) => {
      result = fn(parseRecord(cm.data, ctx.cluster));
      // Keys kpg does not own stay; `operation` goes when the record has none.
      const data = { ...(cm.data ?? {}) };
      delete data.operation;
      return { ...cm, data: { ...data, ...serializeRecord(result) } };
    },
    { maxAttempts: 10, ...(ctx.signal ? { signal: ctx.signal } : {}) },
  );
  if (!result) throw new Error('record update did not run');
  return result;
}

export function currentOperation(r: ClusterRecord): FailoverOperation | undefined {
  const op = r.operation as FailoverOperation | undefined;
  if (!op) return undefined;
  return { ...op, completedSteps: op.completedSteps ?? [], stepMs: op.stepMs ?? {} };
}

/** The record without its operation. */
export function withoutOperation(r: ClusterRecord): ClusterRecord {
  const copy = { ...r };
  delete copy.operation;
  return copy;
}

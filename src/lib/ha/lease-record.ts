/**
 * The Lease NAME-primary as the election reads and writes it. The spec holds
 * the usual holder and times (for people and `kubectl`); annotations carry
 * what the holder publishes at each renewal and the token that lets a writer
 * recognise its own write after a timeout or a 409. Pure.
 */
import type { LeaseObject } from '../kube/types.js';
import { microTime } from '../kube/lease.js';
import { formatLsn, parseLsn, type Lsn } from '../failover/lsn.js';

export const LEASE_API = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' } as const;

export const LeaseAnnotation = {
  /** The holder's flushed LSN at its last renewal, "X/Y". */
  lsn: 'kpg.io/flushed-lsn',
  /** The holder's timeline at its last renewal. */
  timeline: 'kpg.io/timeline',
  /** Comma-separated standbys that acknowledge commits (pg_stat_replication sync or quorum). */
  synchronous: 'kpg.io/synchronous-standbys',
  /**
   * "true": at its last renewal the holder's postgres, which had served as
   * primary, was down: it has written nothing since the LSN above.
   */
  primaryDown: 'kpg.io/primary-down',
  /** A released lease names the standby that confirmed the shutdown checkpoint. */
  handoverTo: 'kpg.io/handover-to',
  /** ...and why: `switchover` (kpg failover asked for it) or `pod stopping`. */
  handoverReason: 'kpg.io/handover-reason',
  /** Token of the write that produced this version: `UID:N`. */
  attempt: 'kpg.io/attempt',
  /** Set by kpg failover while it drives: agents take nothing over meanwhile. */
  paused: 'kpg.io/paused-by',
  /** kpg failover's switchover request: the standby to hand the lease to... */
  switchoverTo: 'kpg.io/switchover-to',
  /** ...by this holder only (pod/UID): a request meant for another term is void. */
  switchoverFrom: 'kpg.io/switchover-from',
  /** Why the holder did not carry the last request out (it cleared it). */
  switchoverRefused: 'kpg.io/switchover-refused',
} as const;

export function leaseName(cluster: string): string {
  return `${cluster}-primary`;
}

/** What the holder publishes in the lease at each renewal. */
export interface Published {
  lsn?: Lsn;
  timeline?: number;
  synchronous?: string[];
  /** The holder's postgres, which served as primary, is down (the LSN is its last). */
  down?: boolean;
}

export interface SwitchoverRequest {
  /** The standby's pod name. */
  to: string;
  /** The holder identity (pod/UID) that is to carry it out. */
  from: string;
}

/** A read of the Lease, normalised. */
export interface LeaseSnapshot {
  resourceVersion: string;
  /** holderIdentity; undefined when released. */
  holder?: string;
  published: Published;
  handoverTo?: string;
  handoverReason?: string;
  attempt?: string;
  pausedBy?: string;
  /** A switchover kpg failover asked for, not carried out yet. */
  switchover?: SwitchoverRequest;
  /** Why the holder gave the last request up. */
  switchoverRefused?: string;
  transitions: number;
  acquireTime?: string;
  object: LeaseObject;
}

export function snapshotOf(object: LeaseObject): LeaseSnapshot {
  const a = object.metadata?.annotations ?? {};
  const spec = object.spec ?? {};
  const lsn = parseLsn(a[LeaseAnnotation.lsn]);
  const timeline = Number.parseInt(a[LeaseAnnotation.timeline] ?? '', 10);
  const sync = a[LeaseAnnotation.synchronous];
  return {
    resourceVersion: object.metadata?.resourceVersion ?? '',
    ...(spec.holderIdentity ? { holder: spec.holderIdentity } : {}),
    published: {
      ...(lsn !== undefined ? { lsn } : {}),
      ...(Number.isFinite(timeline) ? { timeline } : {}),
      ...(sync !== undefined ? { synchronous: sync.split(',').filter((s) => s !== '') } : {}),
      ...(a[LeaseAnnotation.primaryDown] === 'true' ? { down: true } : {}),
    },
    ...(a[LeaseAnnotation.handoverTo] ? { handoverTo: a[LeaseAnnotation.handoverTo] } : {}),
    ...(a[LeaseAnnotation.handoverReason]
      ? { handoverReason: a[LeaseAnnotation.handoverReason] }
      : {}),
    ...(a[LeaseAnnotation.attempt] ? { attempt: a[LeaseAnnotation.attempt] } : {}),
    ...(a[LeaseAnnotation.paused] ? { pausedBy: a[LeaseAnnotation.paused] } : {}),
    ...switchoverOf(a),
    ...(a[LeaseAnnotation.switchoverRefused]
      ? { switchoverRefused: a[LeaseAnnotation.switchoverRefused] }
      : {}),
    transitions: spec.leaseTransitions ?? 0,
    ...(spec.acquireTime ? { acquireTime: spec.acquireTime } : {}),
    object,
  };
}

function switchoverOf(a: Record<string, string>): { switchover?: SwitchoverRequest } {
  const to = a[LeaseAnnotation.switchoverTo];
  const from = a[LeaseAnnotation.switchoverFrom];
  return to && from ? { switchover: { to, from } } : {};
}

/** What one write changes. */
export interface LeaseWrite {
  /** The new holder; undefined releases the lease. */
  holder?: string;
  leaseDurationSeconds: number;
  /** Wall-clock ms, for renewTime/acquireTime only: nobody judges expiry by them. */
  wallMs: number;
  attempt: string;
  /** Replaces the published fields; absent ones are kept from the current version. */
  published?: Published;
  handoverTo?: string;
  handoverReason?: string;
  /** The holder gives a switchover request up, saying why. */
  refuseSwitchover?: string;
}

/**
 * The object to PUT over `current` (or to create when there is none). It
 * carries current's resourceVersion, so the API server refuses it with 409
 * if anyone wrote in between: every write is a compare-and-swap.
 */
export function leaseForWrite(
  ref: { namespace: string; name: string },
  current: LeaseObject | undefined,
  w: LeaseWrite,
): LeaseObject {
  const spec = current?.spec ?? {};
  const sameHolder = w.holder !== undefined && spec.holderIdentity === w.holder;
  const annotations: Record<string, string> = {
    ...(current?.metadata?.annotations ?? {}),
    [LeaseAnnotation.attempt]: w.attempt,
  };
  delete annotations[LeaseAnnotation.handoverTo];
  delete annotations[LeaseAnnotation.handoverReason];
  if (w.handoverTo !== undefined) annotations[LeaseAnnotation.handoverTo] = w.handoverTo;
  if (w.handoverTo !== undefined && w.handoverReason !== undefined)
    annotations[LeaseAnnotation.handoverReason] = w.handoverReason;
  settleSwitchover(annotations, w, spec.holderIdentity);
  publish(annotations, w.published);
  const next: LeaseObject['spec'] = {
    ...spec,
    leaseDurationSeconds: w.leaseDurationSeconds,
    renewTime: microTime(w.wallMs),
    // A new holder over an existing lease is a transition; the first holder is not.
    leaseTransitions:
      (spec.leaseTransitions ?? 0) + (current && w.holder !== undefined && !sameHolder ? 1 : 0),
  };
  if (w.holder === undefined) delete next.holderIdentity;
  else next.holderIdentity = w.holder;
  if (w.holder !== undefined && !sameHolder) next.acquireTime = microTime(w.wallMs);
  return {
    ...LEASE_API,
    ...(current ?? {}),
    metadata: {
      ...(current?.metadata ?? {}),
      name: ref.name,
      namespace: ref.namespace,
      annotations,
    },
    spec: next,
  };
}

/** A request is carried out by a release or a new holder, or given up: either way it is done. */
function settleSwitchover(
  annotations: Record<string, string>,
  w: LeaseWrite,
  holderNow: string | undefined,
): void {
  if (w.holder === undefined || w.holder !== holderNow || w.refuseSwitchover !== undefined) {
    delete annotations[LeaseAnnotation.switchoverTo];
    delete annotations[LeaseAnnotation.switchoverFrom];
  }
  if (w.refuseSwitchover !== undefined)
    annotations[LeaseAnnotation.switchoverRefused] = w.refuseSwitchover;
}

function publish(annotations: Record<string, string>, p: Published | undefined): void {
  if (!p) return;
  if (p.lsn !== undefined) annotations[LeaseAnnotation.lsn] = formatLsn(p.lsn);
  // A running primary publishes its LSN; one that is down says so, and its last LSN stays.
  if (p.down === true) annotations[LeaseAnnotation.primaryDown] = 'true';
  else if (p.lsn !== undefined) delete annotations[LeaseAnnotation.primaryDown];
  if (p.timeline !== undefined) annotations[LeaseAnnotation.timeline] = String(p.timeline);
  if (p.synchronous !== undefined)
    annotations[LeaseAnnotation.synchronous] = p.synchronous.join(',');
}

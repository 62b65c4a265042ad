/**
 * decide(observed, now) → the one thing this agent does next, with why.
 * Pure: the agent gathers `observed` (lease, record, local postgres, peers),
 * calls this, acts, and logs the reason. Rules, in order:
 *   1. a lease that cannot be read changes nothing, except that a holder
 *      past its renew deadline steps down (a failsafe round every member
 *      confirmed moves that deadline, as a renewal does);
 *   2. the holder renews, steps down past its renew deadline, gives the
 *      lease up once its postgres stays down, and otherwise takes the next
 *      step of becoming primary;
 *   3. a postgres serving as primary without the lease is fenced;
 *   4. a free lease (released, or unchanged for a whole lease duration on
 *      this agent's clock) is taken by the record's primary when its data is
 *      a primary's, by the standby it was handed to, or by the first eligible
 *      standby in (flushed LSN, ordinal) order — but not an expired lease
 *      whose holder this member confirmed over the pod network (failsafe)
 *      less than a lease duration ago.
 * Paused (kpg pause, the record's `paused`): no takeover, no fence, no
 * stepping down for want of a renewal, no giving up a lease whose postgres
 * is down; handovers (a switchover, a pod deleted) and a lease held by
 * another pod are honoured as ever.
 */
import {
  candidateProblem,
  candidateViewOf,
  peerAhead,
  seconds,
  silentSynchronousPeer,
} from './candidate.js';
import { failsafePromise } from './failsafe.js';
import { holderOf, podOfHolder } from './identity.js';
import type { LeaseSnapshot } from './lease-record.js';
import type { Action, LeadStep, Observed } from './types.js';

export function decide(o: Observed, now: number): Action {
  if (!o.lease.readable) return unreadable(o, now, o.lease.error);
  const snap = o.lease.snapshot;
  if (snap?.holder !== undefined && snap.holder === holderOf(o.self)) return asHolder(o, now);
  if (o.holding) {
    return {
      kind: 'step-down',
      reason: `the lease is held by ${snap ? whoHolds(snap) : 'nobody'} now`,
    };
  }
  if (!snap) return noLease(o);
  const unchanged = o.lease.unchangedForMs;
  const expired = unchanged >= o.policy.timing.leaseDurationMs;
  const released = snap.holder === undefined;
  const handedToMe = handedOverTo(snap, o.self.pod);
  // A lease handed to another standby stays that one's for a lease duration.
  const free = expired || handedToMe || (released && snap.handoverTo === undefined);
  return free ? whenFree(o, now, { snap, expired, handedToMe }) : whenHeld(o, snap, unchanged);
}

function whenHeld(o: Observed, snap: LeaseSnapshot, unchangedMs: number): Action {
  if (o.local.role === 'primary') {
    return ifPaused(o, {
      kind: 'fence',
      reason: `postgres runs as primary but ${whoHolds(snap)} holds the lease`,
    });
  }
  return {
    kind: 'follow',
    reason:
      snap.holder === undefined
        ? `the lease was handed over to ${snap.handoverTo ?? 'nobody'}`
        : `${whoHolds(snap)} holds the lease (changed ${seconds(unchangedMs)} ago)`,
  };
}

function whoHolds(snap: LeaseSnapshot): string {
  return snap.holder ? podOfHolder(snap.holder) : 'nobody';
}

/** Paused: `instead` replaces an automatic change, saying what it would have been. */
function ifPaused(o: Observed, action: Action, instead: Action['kind'] = 'wait'): Action {
  const since = o.record?.paused;
  if (since === undefined) return action;
  const reason = `paused since ${since} (kpg resume ends it): not done: ${action.kind}, ${action.reason}`;
  return instead === 'lead' ? { kind: 'lead', step: 'none', reason } : { kind: 'wait', reason };
}

function unreadable(o: Observed, now: number, error: string): Action {
  if (o.holding) {
    if (now > o.holding.renewDeadlineMs) {
      return ifPaused(
        o,
        {
          kind: 'step-down',
          reason: `could not renew the lease within the renew deadline (${error})`,
        },
        'lead',
      );
    }
    const failsafe = o.holding.failsafeSentMs;
    return {
      kind: 'lead',
      step: 'none',
      reason:
        failsafe !== undefined
          ? `the lease could not be read (${error}); every member confirmed this primary ${seconds(now - failsafe)} ago (failsafe)`
          : `the lease could not be read (${error}); renewing anyway`,
    };
  }
  if (o.local.role === 'primary') {
    return ifPaused(o, {
      kind: 'fence',
      reason: `postgres runs as primary and this pod does not hold the lease (${error})`,
    });
  }
  return { kind: 'unknown', reason: `the lease could not be read: ${error}` };
}

function noLease(o: Observed): Action {
  if (o.record?.bootstrapped && o.local.data === 'empty') {
    return {
      kind: 'refuse',
      reason: `no lease exists, but the cluster was bootstrapped (system identifier ${o.record.bootstrapped}) and this pod's data directory is empty: it will not initdb over the cluster's data; it waits for a primary to copy from`,
    };
  }
  if (o.record?.primary === o.self.pod) {
    return {
      kind: 'acquire',
      as: 'bootstrap',
      reason: 'no lease exists and the record names this pod primary',
    };
  }
  if (o.local.role === 'primary') {
    return ifPaused(o, {
      kind: 'fence',
      reason: `postgres runs as primary but the record names ${o.record?.primary ?? 'no pod'}`,
    });
  }
  return {
    kind: 'follow',
    reason: `no lease exists yet: ${o.record?.primary ?? "the record's primary"} creates it`,
  };
}

function asHolder(o: Observed, now: number): Action {
  if (!o.holding) {
    // This incarnation's name and UID, but no renewal of ours is confirmed
    // (the agent restarted, or stepped down while the API was away): renew.
    return { kind: 'acquire', as: 'reclaim', reason: 'the lease names this pod incarnation' };
  }
  if (now > o.holding.renewDeadlineMs) {
    return ifPaused(
      o,
      { kind: 'step-down', reason: 'could not renew the lease within the renew deadline' },
      'lead',
    );
  }
  const { local, policy } = o;
  // Its volume came back empty (lost, or wiped) after the cluster had data:
  // never initdb over the cluster; a standby with the data takes over, and
  // this pod copies from it.
  if (o.record?.bootstrapped && local.data === 'empty' && local.role !== 'primary') {
    return ifPaused(
      o,
      {
        kind: 'release',
        reason: `this pod's data directory is empty, but the cluster was bootstrapped (system identifier ${o.record.bootstrapped}): it will not initdb over the cluster's data; giving the lease up for a standby`,
      },
      'lead',
    );
  }
  // Only a postgres that has served as primary can be "kept down": before
  // its first start (bootstrap, a slow image pull) it is merely not there yet.
  // Counted from when it last answered as primary, not from its last change
  // of state: one killed at each restart goes down, starting, down... and
  // never stays in one state for long.
  // And only within this term: a holder that just reclaimed the lease after a
  // long outage gets its full time to start postgres.
  if ((local.role === 'down' || local.role === 'starting') && local.lastPrimaryMs !== undefined) {
    const downFor = now - Math.max(local.lastPrimaryMs, o.holding.sinceMs ?? -Infinity);
    // Crash recovery may take long on a big database; the start script's own
    // preparation (or a postgres killed at each restart) may not.
    const recovering = local.role === 'starting' && local.recovering === true;
    const bound = recovering ? policy.primaryRecoveryMs : policy.primaryDownMs;
    if (downFor > bound) {
      return ifPaused(
        o,
        {
          kind: 'release',
          reason: `postgres has not answered for ${seconds(downFor)}: fencing it and giving the lease up`,
        },
        'lead',
      );
    }
  }
  const step = leadStep(o);
  return {
    kind: 'lead',
    step,
    reason: step === 'none' ? 'this pod holds the lease' : `this pod holds the lease: ${step}`,
  };
}

function leadStep(o: Observed): LeadStep {
  const { local, record } = o;
  if (record?.primary !== o.self.pod) return 'write-record';
  if (local.role === 'standby') return 'promote';
  if (local.role === 'down' || local.role === 'starting') return 'start-primary';
  if (o.labelled !== 'primary') return 'label';
  if (local.timeline !== undefined && local.timeline > record.timeline) return 'record-timeline';
  if (record.bootstrapped === undefined && local.systemIdentifier !== undefined)
    return 'record-bootstrap';
  return 'none';
}

/** The lease was released naming `pod` as the standby to take it (a handover). */
export function handedOverTo(snap: LeaseSnapshot | undefined, pod: string): boolean {
  return snap !== undefined && snap.holder === undefined && snap.handoverTo === pod;
}

function whenFree(
  o: Observed,
  now: number,
  f: { snap: LeaseSnapshot; expired: boolean; handedToMe: boolean },
): Action {
  const { snap } = f;
  const why = freeBecause(o, f);
  if (snap.pausedBy)
    return { kind: 'wait', reason: `${why}, but ${snap.pausedBy} drives the cluster` };
  const promised = f.expired
    ? failsafePromise(o.failsafe, snap, now, o.policy.timing.leaseDurationMs)
    : undefined;
  if (promised !== undefined) {
    return {
      kind: 'wait',
      reason: `${why}, but ${whoHolds(snap)} was confirmed by this member over the pod network (failsafe): no race for another ${seconds(promised)}`,
    };
  }
  if (f.expired && o.record?.primary === o.self.pod && isPrimaryData(o)) {
    return { kind: 'acquire', as: 'reclaim', reason: `${why}; the record names this pod primary` };
  }
  if (o.local.role === 'primary') {
    return ifPaused(o, {
      kind: 'fence',
      reason: `${why}; postgres runs as primary, which the record does not name`,
    });
  }
  const problem = candidateProblem(candidateViewOf(o, snap), now);
  if (problem)
    return { kind: 'refuse', reason: `${why}, but this pod may not take over: ${problem}` };
  if (f.handedToMe) return { kind: 'acquire', as: 'handover', reason: why };
  const race = againstPeers(o, snap, why);
  return race.kind === 'acquire' ? ifPaused(o, race) : race;
}

function freeBecause(
  o: Observed,
  f: { snap: LeaseSnapshot; expired: boolean; handedToMe: boolean },
): string {
  if (f.handedToMe) return 'the lease was handed over to this pod';
  if (!f.expired) return 'the lease was released';
  const unchanged = o.lease.readable ? o.lease.unchangedForMs : 0;
  return `the lease held by ${whoHolds(f.snap)} has not changed for ${seconds(unchanged)}`;
}

/** An eligible standby still lets a better-placed peer go first. */
function againstPeers(o: Observed, snap: LeaseSnapshot, why: string): Action {
  const rules = {
    synchronous: o.policy.synchronous,
    ...(snap.published.synchronous ? { synchronousStandbys: snap.published.synchronous } : {}),
  };
  const silent = silentSynchronousPeer(o.self.pod, o.peers, rules);
  if (silent) {
    return {
      kind: 'refuse',
      reason: `${why}, but the synchronous standby ${silent} does not answer: it may hold commits this pod lacks`,
    };
  }
  const self = {
    pod: o.self.pod,
    ...(o.local.flushLsn !== undefined ? { flushLsn: o.local.flushLsn } : {}),
  };
  const ahead = peerAhead(self, o.peers, rules);
  if (ahead) return { kind: 'wait', reason: `${why}; ${ahead.reason}` };
  return {
    kind: 'acquire',
    as: 'takeover',
    reason: `${why}; this pod is the most advanced eligible standby`,
  };
}

function isPrimaryData(o: Observed): boolean {
  return o.local.role === 'primary' || (o.local.role !== 'standby' && o.local.data === 'primary');
}

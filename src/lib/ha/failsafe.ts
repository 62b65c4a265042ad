/**
 * Failsafe: a primary that cannot reach the API server keeps its role while
 * every member it knows confirms it over the pod network (Patroni's
 * failsafe_mode, on by default here). Pure rules for both sides.
 *
 * The invariant, never two writable primaries, rests on two durations:
 *   - the primary sent its request at s; it extends its fence deadline to
 *     s + renew deadline, and only when *every* member answered yes;
 *   - a member that answered yes at c (after s) takes no expired lease of
 *     that holder before c + lease duration, on its own clock.
 * Renew deadline < lease duration, so the fence comes first, as it does for
 * a renewal that landed. A member that was not asked, or did not answer,
 * promised nothing: the primary's deadline stays where it was.
 */
import type { Lsn } from '../failover/lsn.js';
import type { LeaseSnapshot } from './lease-record.js';
import { podOfHolder } from './identity.js';

/** What the primary sends each retry period while it cannot renew. */
export interface FailsafeRequest {
  /** Its holderIdentity (NAME/UID). */
  holder: string;
  timeline?: number;
  /**
   * Its flushed LSN now: the position a renewal would have published in the
   * lease. A standby judges its lag against the newer of the two.
   */
  lsn?: Lsn;
}

/** What a member knows when asked. */
export interface FailsafeView {
  /** This member's own holderIdentity. */
  self: string;
  /** This member holds the lease, or is in the middle of taking it. */
  holdingOrTaking: boolean;
  role: 'primary' | 'standby' | 'starting' | 'down';
  /** The lease as this member last read it (undefined: never read, or absent). */
  lastLease?: LeaseSnapshot;
  /** This member's own timeline, when it knows it. */
  timeline?: number;
}

export type FailsafeAnswer = { confirmed: true } | { confirmed: false; reason: string };

/** A member's answer: yes only to the holder of the lease it last read, and only as a standby. */
export function failsafeAnswer(v: FailsafeView, req: FailsafeRequest): FailsafeAnswer {
  const no = (reason: string): FailsafeAnswer => ({ confirmed: false, reason });
  if (req.holder === v.self) return no('that is this member');
  if (v.holdingOrTaking) return no('this member holds the lease, or is taking it');
  if (v.role === 'primary') return no('this member runs as primary');
  const lease = v.lastLease;
  if (!lease) return no('this member has not read the lease');
  if (lease.pausedBy) return no(`${lease.pausedBy} drives the cluster`);
  if (lease.holder !== req.holder) {
    return no(
      `the lease this member last read is held by ${lease.holder ? podOfHolder(lease.holder) : 'nobody'}`,
    );
  }
  if (v.timeline !== undefined && req.timeline !== undefined && req.timeline < v.timeline) {
    return no(`this member is on timeline ${v.timeline}, ahead of ${req.timeline}`);
  }
  return { confirmed: true };
}

/** The newest yes this member gave: to whom, when (monotonic ms). */
export interface FailsafeHeard {
  holder: string;
  atMs: number;
  /** The highest LSN that holder sent while it could not publish one. */
  lsn?: Lsn;
}

/** The newer of the LSN the lease published and the one its holder sent over the pod network. */
export function newestPublished(
  heard: FailsafeHeard | undefined,
  snap: LeaseSnapshot | undefined,
): Lsn | undefined {
  const published = snap?.published.lsn;
  if (!heard?.lsn || heard.holder !== snap?.holder) return published;
  return published === undefined || heard.lsn > published ? heard.lsn : published;
}

/** A member that confirmed `holder` within a lease duration does not race for its lease. */
export function failsafePromise(
  heard: FailsafeHeard | undefined,
  snap: LeaseSnapshot,
  now: number,
  leaseDurationMs: number,
): number | undefined {
  if (!heard || snap.holder === undefined || heard.holder !== snap.holder) return undefined;
  const left = heard.atMs + leaseDurationMs - now;
  return left > 0 ? left : undefined;
}

/** One round's answers: every member named must have said yes. */
export function everyoneConfirmed(
  members: string[],
  answers: { pod: string; confirmed: boolean }[],
): { ok: true } | { ok: false; missing: string[] } {
  const yes = new Set(answers.filter((a) => a.confirmed).map((a) => a.pod));
  const missing = members.filter((m) => !yes.has(m));
  return missing.length === 0 ? { ok: true } : { ok: false, missing };
}

/**
 * Physical replication slots, one per member, kept on every pod (Patroni's
 * permanent slots): after a failover each standby finds its slot on the new
 * primary. Pure: the agent's slot keeper reads pg_replication_slots and
 * carries out what planSlots() says.
 *
 * On the primary a member's slot is reserved (it keeps the WAL that member
 * still needs, up to max_slot_wal_keep_size). On a standby the copies are
 * unreserved: they hold no WAL there, and a standby that is promoted reserves
 * them at once. Slots not named kpg_* are the user's and never touched.
 */
import type { Lsn } from '../failover/lsn.js';
import { seconds } from './candidate.js';
import type { Observed } from './types.js';

export const SLOT_PREFIX = 'kpg_';
/** PostgreSQL's NAMEDATALEN - 1. */
const MAX_SLOT_NAME = 63;

/** The slot a pod streams through (start.sh writes the same name as primary_slot_name). */
export function slotName(pod: string): string {
  return `${SLOT_PREFIX}${pod.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, MAX_SLOT_NAME);
}

export interface SlotRow {
  name: string;
  active: boolean;
  /** Absent: the slot reserves no WAL (created unreserved, or invalidated). */
  restartLsn?: Lsn;
  /** pg_replication_slots.wal_status (13+): reserved, extended, unreserved, lost. */
  walStatus?: string;
}

export interface SlotInput {
  role: 'primary' | 'standby';
  self: string;
  /** Every member of the StatefulSet, by pod name (this pod included). */
  members: string[];
  slots: SlotRow[];
  /** The primary's current flush LSN: how far behind each slot is. */
  flushLsn?: Lsn;
  /**
   * Before 13 PostgreSQL has no max_slot_wal_keep_size: an inactive slot
   * further behind than this is given up by the keeper itself.
   */
  keeperLimitBytes?: bigint;
}

export interface SlotPlan {
  create: { name: string; reserve: boolean }[];
  drop: string[];
  /** Members whose WAL on the primary is gone: they can only re-clone. */
  lost: string[];
}

function retainedTooMuch(s: SlotRow, i: SlotInput): boolean {
  if (i.keeperLimitBytes === undefined || s.active) return false;
  if (s.restartLsn === undefined || i.flushLsn === undefined) return false;
  return i.flushLsn - s.restartLsn > i.keeperLimitBytes;
}

export function planSlots(i: SlotInput): SlotPlan {
  const plan: SlotPlan = { create: [], drop: [], lost: [] };
  const ours = new Map(
    i.slots.filter((s) => s.name.startsWith(SLOT_PREFIX)).map((s) => [s.name, s] as const),
  );
  const wanted = new Map(
    i.members.filter((m) => m !== i.self).map((m) => [slotName(m), m] as const),
  );
  // Its own slot (from its standby days) and former members' would hold WAL for no one.
  for (const [name, s] of ours) if (!wanted.has(name) && !s.active) plan.drop.push(name);
  const reserve = i.role === 'primary';
  for (const [name, member] of wanted) {
    const s = ours.get(name);
    if (!s) {
      plan.create.push({ name, reserve });
      continue;
    }
    if (s.active) continue;
    const lost = s.walStatus === 'lost' || (reserve && retainedTooMuch(s, i));
    if (lost && reserve) plan.lost.push(member);
    // A primary's slot must reserve (an unreserved copy from its standby days
    // keeps nothing for a member that is down); a standby's must not (it
    // would keep WAL on the standby for nobody). An invalidated one is renewed.
    const reserved = s.restartLsn !== undefined && s.walStatus !== 'lost';
    if (lost || reserved !== reserve) {
      plan.drop.push(name);
      plan.create.push({ name, reserve });
    }
  }
  return plan;
}

/** How long a standby must have gone without streaming before the primary's word makes it re-clone. */
export const RECLONE_AFTER_MS = 30_000;

/**
 * Why this standby must re-clone now: the lease holder's agent says the
 * slot it kept for this pod lost the WAL the pod needs, and the pod has not
 * streamed for a while (a verdict from before it caught up counts for nothing).
 */
export function recloneReason(o: Observed, now: number): string | undefined {
  const { local } = o;
  if (local.role !== 'standby' || local.streaming) return undefined;
  const quiet = now - Math.max(local.lastStreamingMs ?? 0, local.roleSinceMs);
  if (quiet < RECLONE_AFTER_MS) return undefined;
  const from = o.peers.find((p) => p.reachable && p.holder && p.reclone?.includes(o.self.pod));
  if (!from) return undefined;
  return `the primary ${from.pod} no longer has the WAL this standby needs (its slot lost it) and it has not streamed for ${seconds(quiet)}: re-cloning from a fresh base backup, the old data moved aside`;
}

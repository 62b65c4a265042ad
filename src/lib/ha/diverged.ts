/**
 * A standby that cannot follow the new timeline: it holds WAL the new
 * primary never had (written to its disk after the last position it
 * reported, as the old primary died mid-send), so recovery stops at the
 * fork ("new timeline forked off … before current recovery point") and it
 * never streams again. Its agent then asks for a fast shutdown; the start
 * script finds a standby shut down in recovery and pg_rewinds it onto the
 * primary's timeline, as after a clean stop. Pure.
 */
import { podOfHolder } from './identity.js';
import { seconds } from './candidate.js';
import type { Observed } from './types.js';

/** How long a standby behind the record's timeline may go without streaming before it rewinds. */
export const DIVERGED_AFTER_MS = 15_000;

/** Why this standby must rewind now; undefined when it need not. */
export function divergedStandby(o: Observed, now: number): string | undefined {
  const { local, record } = o;
  if (local.role !== 'standby' || local.streaming) return undefined;
  if (!record || local.timeline === undefined || local.timeline >= record.timeline)
    return undefined;
  // Only behind a primary that holds its lease now: there is a timeline to rewind onto.
  const snap = o.lease.readable ? o.lease.snapshot : undefined;
  const held =
    o.lease.readable &&
    snap?.holder !== undefined &&
    podOfHolder(snap.holder) !== o.self.pod &&
    o.lease.unchangedForMs < o.policy.timing.leaseDurationMs;
  if (!held) return undefined;
  const quiet = now - Math.max(local.lastStreamingMs ?? 0, local.roleSinceMs);
  if (quiet < DIVERGED_AFTER_MS) return undefined;
  return `its postgres is on timeline ${local.timeline}, the record's is ${record.timeline}, and it has not streamed for ${seconds(quiet)}: stopping it to pg_rewind onto the primary's timeline`;
}

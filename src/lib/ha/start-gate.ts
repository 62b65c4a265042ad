/**
 * The start gate: what the agent tells the start script about this pod's
 * role (the `role` file). `primary` only while this incarnation holds the
 * lease (`bootstrap` when its PGDATA is empty and the record says the
 * cluster was never bootstrapped: the only gate under which it initdbs); `replica` once another pod holds it or the record names another
 * pod; otherwise `wait` (ask again), so a primary's pod that restarts on its
 * own data does not rush into the standby path while its old lease runs out.
 * Pure.
 */
import { podOfHolder } from './identity.js';
import type { Action, Observed } from './types.js';

/** `bootstrap`: primary, and the one case the start script may initdb an empty PGDATA. */
export type StartGate = 'bootstrap' | 'primary' | 'replica' | 'wait';

/** The gate after `action`; undefined: leave it as it is (an acquire in flight). */
export function startGate(action: Action, o: Observed): StartGate | undefined {
  if (action.kind === 'lead') return leadGate(o);
  if (action.kind === 'acquire') return undefined;
  const snap = o.lease.readable ? o.lease.snapshot : undefined;
  const holder = snap?.holder;
  const expired = o.lease.readable && o.lease.unchangedForMs >= o.policy.timing.leaseDurationMs;
  if (holder !== undefined && !expired && podOfHolder(holder) !== o.self.pod) return 'replica';
  if (o.record !== undefined && o.record.primary !== o.self.pod) return 'replica';
  return 'wait';
}

/** The gate of the lease's holder. */
export function leadGate(o: Observed): 'bootstrap' | 'primary' {
  return o.local.data === 'empty' && !o.record?.bootstrapped ? 'bootstrap' : 'primary';
}

/**
 * Who holds the lease: a pod incarnation, its name and its UID. A pod
 * recreated under the same name gets a new UID, so it never inherits the
 * lease its predecessor held (nor the fence that went with it).
 */

export interface Identity {
  pod: string;
  uid: string;
}

/** The Lease's holderIdentity for a pod incarnation: `NAME/UID`. */
export function holderOf(id: Identity): string {
  return `${id.pod}/${id.uid}`;
}

/** The pod name in a holderIdentity (all of it when it has no UID part). */
export function podOfHolder(holder: string): string {
  const i = holder.lastIndexOf('/');
  return i === -1 ? holder : holder.slice(0, i);
}

export function isHeldBy(holder: string | undefined, id: Identity): boolean {
  return holder === holderOf(id);
}

/** A StatefulSet pod's ordinal (`ha-postgres-2` → 2); Infinity when the name has none. */
export function ordinalOf(pod: string): number {
  const m = /-(\d+)$/.exec(pod);
  return m ? Number(m[1]) : Infinity;
}

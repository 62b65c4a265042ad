// What kpg did, recorded as an Event on the cluster's StatefulSet (created,
// applied, switched or failed over, deleted): `kubectl describe statefulset`
// and `kubectl get events` tell the story without kpg. Best effort: a user
// whose Role may not create Events still gets the work done, and the command
// never fails for it.
import type { Kube } from '../kube/client.js';
import { eventObject } from '../render/event.js';

export interface KpgEvent {
  reason:
    | 'Created'
    | 'NotReady'
    | 'Applied'
    | 'SwitchedOver'
    | 'FailedOver'
    | 'FailoverRefused'
    | 'Deleted';
  message: string;
  type?: 'Normal' | 'Warning';
}

const STATEFULSET = { apiVersion: 'apps/v1', kind: 'StatefulSet' } as const;

/** Records the event; false when the API server would not take it (never throws). */
export async function recordEvent(
  kube: Kube,
  ns: string,
  cluster: string,
  e: KpgEvent,
  now = new Date(),
): Promise<boolean> {
  try {
    // kubectl describe matches events by the object's uid: without one they would not show.
    const sts = await kube.find(STATEFULSET, ns, cluster).catch(() => undefined);
    await kube.create(
      eventObject({
        namespace: ns,
        involved: { ...STATEFULSET, name: cluster, uid: sts?.metadata?.uid },
        reason: e.reason,
        message: e.message,
        type: e.type,
        component: 'kpg',
        now,
      }),
    );
    return true;
  } catch {
    return false;
  }
}

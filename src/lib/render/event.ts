// A core/v1 Event, as kpg and its in-pod agent record what they did: on the
// object it concerns, so that `kubectl describe` and `kubectl get events`
// tell the story without kpg.

export interface EventSpec {
  namespace: string;
  involved: { apiVersion: string; kind: string; name: string; uid?: string };
  reason: string;
  message: string;
  type?: 'Normal' | 'Warning';
  /** Who reports it: kpg, kpg-agent. */
  component: string;
  now: Date;
}

/** The API server refuses a longer message. */
const MAX_MESSAGE = 1024;

export function eventObject(e: EventSpec) {
  const at = e.now.toISOString();
  const message =
    e.message.length > MAX_MESSAGE ? `${e.message.slice(0, MAX_MESSAGE - 1)}…` : e.message;
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { generateName: `${e.involved.name}.`, namespace: e.namespace },
    involvedObject: { ...e.involved, namespace: e.namespace },
    reason: e.reason,
    message,
    type: e.type ?? 'Normal',
    source: { component: e.component },
    firstTimestamp: at,
    lastTimestamp: at,
    count: 1,
  };
}

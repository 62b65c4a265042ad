/**
 * Reads what findBlockers needs for one cluster: its pods, claims and the
 * namespace's events, and the last log lines of a crash-looping container
 * (passwords removed before anything else sees them).
 */
import type { Kube, KubeObject } from '../kube/index.js';
import { selectorLabels, selectorString } from '../render/labels.js';
import { type Blocker, type BlockerInput, findBlockers, redactLog } from './blockers.js';
import type { K8sEvent, K8sPod, K8sPvc } from './objects.js';

const LOG_LINES = 15;

export interface BlockerTarget {
  ns: string;
  name: string;
  since?: string;
  onlyPods?: string[];
  signal?: AbortSignal;
}

/** The cluster's pods, its claims (data-NAME-k) and the namespace's events. */
export async function readBlockerInput(
  kube: Kube,
  t: BlockerTarget,
  pods?: K8sPod[],
  events?: K8sEvent[],
): Promise<BlockerInput> {
  const signal = t.signal;
  const [podList, pvcs, eventList] = await Promise.all([
    pods
      ? Promise.resolve(pods)
      : kube
          .list<K8sPod>('Pod', {
            namespace: t.ns,
            labelSelector: selectorString(selectorLabels(t)),
            signal,
          })
          .then((l) => l.items),
    kube.list<K8sPvc>('PersistentVolumeClaim', { namespace: t.ns, signal }),
    events
      ? Promise.resolve(events)
      : kube.list<K8sEvent>('Event', { namespace: t.ns, signal }).then((l) => l.items),
  ]);
  return {
    name: t.name,
    pods: podList,
    pvcs: pvcs.items.filter((c) => (c.metadata?.name ?? '').startsWith(`data-${t.name}-`)),
    events: eventList,
    ...(t.since ? { since: t.since } : {}),
    ...(t.onlyPods ? { onlyPods: t.onlyPods } : {}),
  };
}

/** The passwords in the cluster's Secret, to cut out of log lines (none if unreadable). */
async function secretValues(kube: Kube, ns: string, name: string): Promise<string[]> {
  const s = await kube
    .find<KubeObject & { data?: Record<string, string> }>('Secret', ns, `${name}-auth`)
    .catch(() => undefined);
  // Passwords only: the user names (postgres) are words of every log line.
  return Object.entries(s?.data ?? {})
    .filter(([k]) => /PASSWORD/i.test(k))
    .map(([, v]) => Buffer.from(v, 'base64').toString('utf8'));
}

/** The blockers now, with the log tail of each crash-looping container. */
export async function readBlockers(
  kube: Kube,
  t: BlockerTarget,
  pods?: K8sPod[],
  events?: K8sEvent[],
): Promise<Blocker[]> {
  const input = await readBlockerInput(kube, t, pods, events);
  const found = findBlockers(input);
  const looping = found.filter((b) => b.kind === 'crash-loop' || b.kind === 'refused');
  if (looping.length === 0) return found;
  const secrets = await secretValues(kube, t.ns, t.name);
  const logs: Record<string, string[]> = {};
  for (const p of input.pods) {
    const pod = p.metadata?.name ?? '';
    for (const cs of p.status?.containerStatuses ?? []) {
      if (
        !looping.some(
          (b) => b.object === `pod/${pod}` && b.message.startsWith(`container ${cs.name} `),
        )
      )
        continue;
      const text = await kube
        .logs(t.ns, pod, cs.name, { previous: true, tailLines: LOG_LINES, signal: t.signal })
        .catch(() => '');
      const lines = text.split('\n').filter((l) => l.trim() !== '');
      if (lines.length) logs[`${pod}/${cs.name}`] = redactLog(lines, secrets);
    }
  }
  return findBlockers({ ...input, logs });
}

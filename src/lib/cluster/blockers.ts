/**
 * Why a cluster cannot get where a command waits for it to go, read from the
 * cluster's own signals: the StatefulSet controller's FailedCreate events,
 * the scheduler's Unschedulable condition, a PersistentVolumeClaim's warning
 * events, a container's waiting reason (image pull, crash loop). A blocker is
 * `fatal` when waiting on cannot help (someone must change the manifest or
 * the cluster); the others may clear by themselves (capacity freed, a
 * registry back) and are shown while the wait goes on. Pure.
 */
import type { K8sEvent, K8sPod, K8sPvc } from './objects.js';
import { AGENT_CONTAINER, AGENT_IMAGE_ANNOTATION } from '../render/agent.js';

export type BlockerKind =
  'create-forbidden' | 'unschedulable' | 'volume-pending' | 'image-pull' | 'crash-loop' | 'refused';

export interface Blocker {
  /** kubectl's kind/name, e.g. `pod/ha-postgres-0`. */
  object: string;
  kind: BlockerKind;
  /** Kubernetes' own reason word (FailedCreate, Unschedulable, ErrImagePull, …). */
  reason: string;
  /** Kubernetes' own message. */
  message: string;
  /** Waiting longer cannot help. */
  fatal: boolean;
  /** What to do about it, a sentence. */
  advice: string;
  /** The container's last log lines (crash loop), passwords removed. */
  log?: string[];
}

export interface BlockerInput {
  /** The cluster (StatefulSet) name. */
  name: string;
  pods: K8sPod[];
  pvcs: K8sPvc[];
  events: K8sEvent[];
  /** Events last seen before this instant (ISO) are history, not a signal. */
  since?: string;
  /** Only these pods (a rollout waits for one). Default: all. */
  onlyPods?: string[];
  /** The last log lines of a crash-looping container, by `pod/container`. */
  logs?: Record<string, string[]>;
}

/** Exit codes of a container that restarts for a reason kpg itself gave it. */
const EXPECTED_EXITS = new Set([
  0,
  3, // fenced by the watchdog: restarts as a standby
  143, // SIGTERM
]);

const IMAGE_GONE =
  /not found|manifest unknown|not installed|not available|does not exist|no such|pull access denied|unauthori[sz]ed|invalid reference|repository .* not/i;

function lastSeen(e: K8sEvent): string {
  return (
    e.lastTimestamp ??
    e.series?.lastObservedTime ??
    e.eventTime ??
    e.firstTimestamp ??
    e.metadata?.creationTimestamp ??
    ''
  );
}

/**
 * Warning events about the object, newest first, not older than `since`;
 * also the Normal ones whose reason is in `normalToo`.
 */
function warnings(
  events: K8sEvent[],
  kind: string,
  name: string,
  since?: string,
  normalToo: readonly string[] = [],
): K8sEvent[] {
  // Event times have whole seconds: compare on the second.
  const from = since ? new Date(Math.floor(Date.parse(since) / 1000) * 1000).toISOString() : '';
  return events
    .filter(
      (e) =>
        (e.type === 'Warning' || normalToo.includes(e.reason ?? '')) &&
        e.involvedObject?.kind === kind &&
        e.involvedObject?.name === name &&
        (!from || new Date(lastSeen(e)).toISOString() >= from),
    )
    .sort((a, b) => lastSeen(b).localeCompare(lastSeen(a)));
}

function createAdvice(message: string): string {
  if (/PodSecurity/i.test(message))
    return "the namespace's Pod Security level forbids the pod: change the pod template the message names, or the namespace's pod-security.kubernetes.io/enforce label";
  if (/exceeded quota|must specify/i.test(message))
    return "a ResourceQuota in the namespace forbids it: raise the quota (kubectl describe resourcequota), or lower the cluster's resources";
  if (/LimitRange|maximum|minimum/i.test(message))
    return "a LimitRange in the namespace forbids the pod's resources: change spec.podTemplate.spec.resources, or the LimitRange";
  if (/webhook/i.test(message))
    return 'an admission webhook denied it: its message says what it wants';
  return 'the API server refused to create it: its message says why';
}

/** `create Pod x-0 in StatefulSet x failed error: …` → `x-0` (or the claim's pod). */
function podOfFailedCreate(message: string): string | undefined {
  return /\bPod ([a-z0-9.-]+)/.exec(message)?.[1];
}

function forbiddenCreates(input: BlockerInput, present: Set<string>): Blocker[] {
  const out: Blocker[] = [];
  const seen = new Set<string>();
  for (const e of warnings(input.events, 'StatefulSet', input.name, input.since)) {
    if (e.reason !== 'FailedCreate') continue;
    const message = (e.message ?? '').trim();
    const pod = podOfFailedCreate(message);
    // A pod that exists since was created after all.
    if (!pod || present.has(pod) || seen.has(pod)) continue;
    if (input.onlyPods && !input.onlyPods.includes(pod)) continue;
    seen.add(pod);
    out.push({
      object: `statefulset/${input.name}`,
      kind: 'create-forbidden',
      reason: 'FailedCreate',
      message,
      fatal: true,
      advice: createAdvice(message),
    });
  }
  return out;
}

function volumeAdvice(message: string): { fatal: boolean; advice: string } {
  if (/storageclass.*not found/i.test(message))
    return {
      fatal: true,
      advice:
        'no StorageClass of that name: set spec.storage.storageClassName to one that `kubectl get storageclass` lists',
    };
  if (/no storage class is set|no persistent volumes available/i.test(message))
    return {
      fatal: true,
      advice:
        'the namespace has no default StorageClass: set spec.storage.storageClassName, or mark a StorageClass default',
    };
  return {
    fatal: false,
    advice: "the volume's provisioner could not make it yet; kpg keeps waiting while it retries",
  };
}

function pendingVolumes(input: BlockerInput, pods: Set<string>): Blocker[] {
  const out: Blocker[] = [];
  for (const pvc of input.pvcs) {
    const name = pvc.metadata?.name ?? '';
    if (pvc.status?.phase === 'Bound') continue;
    const pod = name.replace(/^data-/, '');
    if (input.onlyPods && !input.onlyPods.includes(pod)) continue;
    // The volume controller reports a claim with no class and no default one as a Normal event.
    const [e] = warnings(input.events, 'PersistentVolumeClaim', name, input.since, [
      'FailedBinding',
    ]);
    if (!e) continue;
    const message = (e.message ?? '').trim();
    out.push({
      object: `persistentvolumeclaim/${name}`,
      kind: 'volume-pending',
      reason: e.reason ?? 'Pending',
      message,
      ...volumeAdvice(message),
    });
    pods.add(pod);
  }
  return out;
}

function unschedulable(p: K8sPod, name: string): Blocker | undefined {
  const c = p.status?.conditions?.find((x) => x.type === 'PodScheduled');
  if (!c || c.status !== 'False' || c.reason !== 'Unschedulable') return undefined;
  return {
    object: `pod/${name}`,
    kind: 'unschedulable',
    reason: 'Unschedulable',
    message: (c.message ?? '').trim(),
    fatal: false,
    advice:
      'no node can take the pod now (the scheduler says why): free capacity, add nodes, or lower spec.podTemplate.spec.resources; kpg keeps waiting while it may clear',
  };
}

type ContainerStatus = NonNullable<NonNullable<K8sPod['status']>['containerStatuses']>[number];

const PULL_REASONS = /^(ErrImagePull|ImagePullBackOff|InvalidImageName|ErrImageNeverPull)$/;

function imagePull(cs: ContainerStatus, object: string): Blocker | undefined {
  const w = cs.state?.waiting;
  if (!w?.reason || !PULL_REASONS.test(w.reason)) return undefined;
  const message = (w.message ?? '').trim();
  const gone = w.reason === 'InvalidImageName' || IMAGE_GONE.test(message);
  return {
    object,
    kind: 'image-pull',
    reason: w.reason,
    message: `container ${cs.name}: ${message}`,
    fatal: gone,
    advice: !gone
      ? 'the image could not be pulled yet; kpg keeps waiting while the kubelet retries'
      : cs.name === AGENT_CONTAINER
        ? `the agent's image cannot be pulled: set the annotation ${AGENT_IMAGE_ANNOTATION} to a Node.js image (20 or later) the nodes can pull`
        : 'the image cannot be pulled: check spec.version (and any image in spec.podTemplate) against the images the nodes can pull',
  };
}

/**
 * A container that exited for no reason kpg gave it: in back-off now
 * (fatal: it will do the same again), or restarted and not ready yet
 * (shown: the next exit decides).
 */
function crashing(cs: ContainerStatus, pod: string, input: BlockerInput): Blocker | undefined {
  const w = cs.state?.waiting;
  const term = cs.lastState?.terminated;
  const code = term?.exitCode;
  const unexpected = code !== undefined && !EXPECTED_EXITS.has(code);
  const backOff = w?.reason === 'CrashLoopBackOff' && unexpected;
  const again = !w && unexpected && (cs.restartCount ?? 0) > 0 && cs.ready !== true;
  if (!backOff && !again) return undefined;
  const log = input.logs?.[`${pod}/${cs.name}`];
  const refusal = log?.some((l) => /^kpg: /.test(l) && /refus|not guessing|cannot/i.test(l));
  const exit =
    code !== undefined ? ` exited ${code}${term?.reason ? ` (${term.reason})` : ''}` : '';
  const tail = again
    ? `, restarted ${cs.restartCount} time${cs.restartCount === 1 ? '' : 's'}`
    : `: ${(w?.message ?? '').trim()}`;
  return {
    object: `pod/${pod}`,
    kind: refusal ? 'refused' : 'crash-loop',
    reason: again ? (term?.reason ?? 'Error') : (w?.reason ?? ''),
    message: `container ${cs.name}${exit}${tail}`,
    fatal: !again,
    advice: refusal
      ? 'the start script refused to act (its log says why): see kpg logs, fix what it names'
      : 'the container keeps crashing: its last log lines say why (kpg logs shows more)',
    ...(log?.length ? { log } : {}),
  };
}

/**
 * A Secret or ConfigMap the kubelet does not see yet (its cache lags a fresh
 * object, or the user creates it next): shown, the kubelet retries.
 */
function missingConfig(cs: ContainerStatus, pod: string): Blocker | undefined {
  const w = cs.state?.waiting;
  if (w?.reason !== 'CreateContainerConfigError') return undefined;
  return {
    object: `pod/${pod}`,
    kind: 'crash-loop',
    reason: w.reason,
    message: `container ${cs.name}: ${(w.message ?? '').trim()}`,
    fatal: false,
    advice:
      'the container refers to something the node cannot find yet (its message says what); kpg keeps waiting while the kubelet retries',
  };
}

function containerBlockers(p: K8sPod, name: string, input: BlockerInput): Blocker[] {
  const all = [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])];
  return all.flatMap((cs) => {
    const b = imagePull(cs, `pod/${name}`) ?? missingConfig(cs, name) ?? crashing(cs, name, input);
    return b ? [b] : [];
  });
}

/** The agent of a pod said it will not act (an Event): shown; another member may still act. */
function agentRefusal(input: BlockerInput, p: K8sPod, pod: string): Blocker | undefined {
  // This pod's own: an earlier pod of the same name said what it said.
  const uid = p.metadata?.uid;
  const [e] = warnings(input.events, 'Pod', pod, input.since).filter(
    (x) =>
      x.reason === 'FailoverRefused' &&
      (!uid || !x.involvedObject?.uid || x.involvedObject.uid === uid),
  );
  if (!e) return undefined;
  return {
    object: `pod/${pod}`,
    kind: 'refused',
    reason: 'FailoverRefused',
    message: (e.message ?? '').trim(),
    fatal: false,
    advice:
      "the pod's kpg agent refuses to act (its reason above): see kpg describe's agents and kpg logs",
  };
}

/** Every reason the cluster's pods are not coming up as asked, fatal ones first. Pure. */
export function findBlockers(input: BlockerInput): Blocker[] {
  const present = new Set(input.pods.map((p) => p.metadata?.name ?? ''));
  const out: Blocker[] = [...forbiddenCreates(input, present)];
  const volumePods = new Set<string>();
  out.push(...pendingVolumes(input, volumePods));
  for (const p of input.pods) {
    const name = p.metadata?.name ?? '';
    if (input.onlyPods && !input.onlyPods.includes(name)) continue;
    if (p.metadata?.deletionTimestamp) continue;
    const u = unschedulable(p, name);
    // An unbound claim is the reason the scheduler gives; the claim's own blocker says more.
    if (u && !volumePods.has(name)) out.push(u);
    out.push(...containerBlockers(p, name, input));
    const refusal = agentRefusal(input, p, name);
    if (refusal) out.push(refusal);
  }
  return out.sort((a, b) => Number(b.fatal) - Number(a.fatal));
}

/** One line: `pod/x-0 Unschedulable: 0/3 nodes are available: …`. */
export function blockerLine(b: Blocker): string {
  return `${b.object} ${b.reason}: ${b.message}`;
}

/** The log lines a person may see: anything that looks like a password is cut out. */
export function redactLog(lines: string[], secrets: string[] = []): string[] {
  const known = secrets.filter((s) => s.length >= 4);
  return lines.map((l) => {
    let out = l.replace(
      /((?:password|passwd|pwd|secret|token)[A-Za-z_]*\s*[=:]\s*)('[^']*'|"[^"]*"|\S+)/gi,
      '$1<redacted>',
    );
    for (const s of known) out = out.split(s).join('<redacted>');
    return out;
  });
}

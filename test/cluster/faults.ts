// Fault injection for tests against the local cluster. Pods are real process
// trees in their own network namespaces (run by kpg-node), so faults are
// signals to those processes, their cgroups, and link changes on the host
// side of their veth; node and API-path faults are asked of kpg-node over
// its control socket. Needs root (the same user that ran `cluster.sh up`).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { apply, clusterDir, clusterSh, getJson, kubectl, kubectlOk, waitFor } from './kube.js';

export interface ContainerState {
  pid: number;
  running: boolean;
  restartCount: number;
  /** The running instance's cgroup v2 directory (absent when not running). */
  cgroup?: string;
}

/** .cluster/pods/<ns>_<name>.json, written by kpg-node. */
export interface PodState {
  uid: string;
  namespace: string;
  name: string;
  node: string;
  ip: string;
  netns: string;
  hostVeth: string;
  containers: Record<string, ContainerState>;
}

export function podStatePath(ns: string, pod: string): string {
  return join(clusterDir, 'pods', `${ns}_${pod}.json`);
}

/** The pod's current runtime state as kpg-node last wrote it. */
export function podState(ns: string, pod: string): PodState {
  return JSON.parse(readFileSync(podStatePath(ns, pod), 'utf8')) as PodState;
}

function containerOf(state: PodState, container?: string): [string, ContainerState] {
  const names = Object.keys(state.containers);
  const name = container ?? names[0];
  const c = name === undefined ? undefined : state.containers[name];
  if (name === undefined || c === undefined) {
    throw new Error(
      `pod ${state.namespace}/${state.name} has no container ${container ?? '(none)'}; has ${names.join(', ')}`,
    );
  }
  return [name, c];
}

interface ProcInfo {
  pid: number;
  ppid: number;
  pgrp: number;
}

function procInfo(pid: number): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may contain spaces and parentheses: fields follow the last ')'
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, ppid: Number(rest[1]), pgrp: Number(rest[2]) };
  } catch {
    return undefined;
  }
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
}

/** Pids that must never be signalled: init, this process, the node agent. */
function protectedPids(): Set<number> {
  const s = new Set<number>([1, process.pid, process.ppid]);
  try {
    s.add(Number(readFileSync(join(clusterDir, 'run', 'kpg-node.pid'), 'utf8').trim()));
  } catch {
    /* not running */
  }
  return s;
}

/** Processes of one container: its process group (if it leads one) and all descendants. */
function containerPids(pid: number): number[] {
  const infos = allPids()
    .map(procInfo)
    .filter((p): p is ProcInfo => p !== undefined);
  const leader = infos.find((p) => p.pid === pid);
  if (!leader) return [];
  const out = new Set<number>([pid]);
  if (leader.pgrp === pid) for (const p of infos) if (p.pgrp === pid) out.add(p.pid);
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of infos) {
      if (!out.has(p.pid) && out.has(p.ppid)) {
        out.add(p.pid);
        grew = true;
      }
    }
  }
  return [...out];
}

function netnsPath(netns: string): string {
  return netns.startsWith('/') ? netns : `/run/netns/${netns}`;
}

/** Every process whose network namespace is the pod's. */
function netnsPids(netns: string): number[] {
  const ino = statSync(netnsPath(netns)).ino;
  const want = `net:[${ino}]`;
  const out: number[] = [];
  for (const pid of allPids()) {
    try {
      if (readlinkSync(`/proc/${pid}/ns/net`) === want) out.push(pid);
    } catch {
      /* gone or not ours to read */
    }
  }
  return out;
}

/**
 * The pod's postgres processes (comm "postgres", in its network namespace),
 * read from /proc: true to the host even when neither the API server nor
 * the pod network can be reached.
 */
export function postgresPids(ns: string, pod: string): number[] {
  return netnsPids(podState(ns, pod).netns).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres';
    } catch {
      return false;
    }
  });
}

function signal(pids: Iterable<number>, sig: NodeJS.Signals): number[] {
  const keep = protectedPids();
  const done: number[] = [];
  for (const pid of pids) {
    if (keep.has(pid) || !(pid > 1)) continue;
    try {
      process.kill(pid, sig);
      done.push(pid);
    } catch {
      /* already gone */
    }
  }
  return done;
}

/**
 * SIGKILLs a container's process group (and any descendants outside it).
 * Returns the pid of the killed container process.
 */
export function killPod(ns: string, pod: string, container?: string): number {
  const [name, c] = containerOf(podState(ns, pod), container);
  if (!c.running || !(c.pid > 1)) throw new Error(`container ${ns}/${pod}/${name} is not running`);
  const info = procInfo(c.pid);
  if (!info) throw new Error(`container ${ns}/${pod}/${name}: pid ${c.pid} does not exist`);
  const pids = containerPids(c.pid);
  if (info.pgrp === c.pid && !protectedPids().has(c.pid)) {
    try {
      process.kill(-c.pid, 'SIGKILL');
    } catch {
      /* raced with exit */
    }
  }
  signal(pids, 'SIGKILL');
  return c.pid;
}

function podPids(state: PodState): number[] {
  const pids = new Set<number>();
  for (const c of Object.values(state.containers)) {
    if (c.running && c.pid > 1) for (const p of containerPids(c.pid)) pids.add(p);
  }
  for (const p of netnsPids(state.netns)) pids.add(p);
  return [...pids];
}

/**
 * SIGSTOPs every process of the pod: each container's process group and
 * descendants, and every process in the pod's network namespace. Returns the
 * stopped pids.
 */
export function freezePod(ns: string, pod: string): number[] {
  const state = podState(ns, pod);
  // Repeat until no new process shows up (a fork may race with the first pass).
  const stopped = new Set<number>();
  for (let i = 0; i < 5; i++) {
    const fresh = podPids(state).filter((p) => !stopped.has(p));
    if (fresh.length === 0) break;
    for (const p of signal(fresh, 'SIGSTOP')) stopped.add(p);
  }
  return [...stopped];
}

/** SIGCONTs every process of the pod (see freezePod). Returns the pids. */
export function thawPod(ns: string, pod: string): number[] {
  return thawPodAt(ns, pod).pids;
}

/**
 * thawPod, with the instant (epoch ms) its first process ran again: the
 * scan of /proc for the pod's processes comes first and takes a while.
 */
export function thawPodAt(ns: string, pod: string): { pids: number[]; atMs: number } {
  const pids = podPids(podState(ns, pod));
  const atMs = Date.now();
  return { pids: signal(pids, 'SIGCONT'), atMs };
}

function ipLink(dev: string, updown: 'up' | 'down'): void {
  execFileSync('ip', ['link', 'set', 'dev', dev, updown], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Cuts the pod off the pod network: takes the host side of its veth down. */
export function partitionPod(ns: string, pod: string): string {
  const { hostVeth } = podState(ns, pod);
  ipLink(hostVeth, 'down');
  return hostVeth;
}

/** Reverses partitionPod. */
export function healPod(ns: string, pod: string): string {
  const { hostVeth } = podState(ns, pod);
  ipLink(hostVeth, 'up');
  return hostVeth;
}

/** Stops kube-apiserver (etcd and everything else keep running). */
export async function stopApiServer(): Promise<void> {
  const r = await clusterSh(['apiserver-stop'], 60_000);
  if (r.code !== 0) throw new Error(`cluster.sh apiserver-stop failed: ${r.stderr}`);
}

/** Starts kube-apiserver again and waits for /readyz. */
export async function startApiServer(): Promise<void> {
  const r = await clusterSh(['apiserver-start'], 120_000);
  if (r.code !== 0) throw new Error(`cluster.sh apiserver-start failed: ${r.stderr}`);
}

// ------------------------------------------------------------ containers

function runningCgroup(ns: string, pod: string, container: string): string {
  const [name, c] = containerOf(podState(ns, pod), container);
  if (!c.running || !c.cgroup) {
    throw new Error(`container ${ns}/${pod}/${name} is not running (or has no cgroup)`);
  }
  return c.cgroup;
}

function cgroupEvent(cg: string, key: string): boolean {
  try {
    return new RegExp(`^${key} 1$`, 'm').test(readFileSync(join(cg, 'cgroup.events'), 'utf8'));
  } catch {
    return false;
  }
}

async function setFrozen(cg: string, frozen: boolean): Promise<void> {
  writeFileSync(join(cg, 'cgroup.freeze'), frozen ? '1' : '0');
  const deadline = Date.now() + 5_000;
  while (cgroupEvent(cg, 'frozen') !== frozen) {
    if (Date.now() > deadline) throw new Error(`cgroup ${cg} did not become frozen=${frozen}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Freezes one container of a pod (every process of it, children included)
 * with the cgroup v2 freezer; the pod's other containers keep running.
 * Resolves once the kernel reports it frozen, with the cgroup path.
 */
export async function freezeContainer(ns: string, pod: string, container: string): Promise<string> {
  const cg = runningCgroup(ns, pod, container);
  await setFrozen(cg, true);
  return cg;
}

/** Reverses freezeContainer. */
export async function thawContainer(ns: string, pod: string, container: string): Promise<string> {
  const cg = runningCgroup(ns, pod, container);
  await setFrozen(cg, false);
  return cg;
}

/**
 * SIGKILLs every process of one container at once (cgroup.kill, children
 * that called setsid() included); kpg-node restarts it as a crashed
 * container. Returns the killed instance's pid.
 */
export function killContainer(ns: string, pod: string, container: string): number {
  const [, c] = containerOf(podState(ns, pod), container);
  const cg = runningCgroup(ns, pod, container);
  writeFileSync(join(cg, 'cgroup.kill'), '1');
  return c.pid;
}

// ------------------------------------------------------------ nodes and the API path

/** kpg-node's fault control socket (HTTP on a unix socket). */
export const faultsSocket = join(clusterDir, 'run', 'kpg-node-faults.sock');

export interface NodeFault {
  lost?: boolean;
  killed?: boolean;
  partitioned?: boolean;
  kubeletCut?: boolean;
  kubeletBroken?: boolean;
}

export interface FaultState {
  nodes: Record<string, NodeFault>;
  apiserver: { latencyMs?: number; timeout?: boolean };
  /** Network namespaces whose API relay hangs (isolatePod). */
  cutRelays?: string[];
}

export interface FaultResult extends FaultState {
  frozen?: number;
  killedContainers?: number;
  killedPods?: string[];
}

function control<T>(method: 'GET' | 'POST', path: string): Promise<T> {
  return new Promise((resolvePromise, reject) => {
    const req = request({ socketPath: faultsSocket, method, path, timeout: 60_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(body);
        } catch {
          parsed = { error: body };
        }
        if (res.statusCode !== 200) {
          const msg = (parsed as { error?: string }).error ?? body;
          reject(new Error(`kpg-node ${method} ${path}: ${res.statusCode}: ${msg}`));
        } else resolvePromise(parsed as T);
      });
    });
    req.on('timeout', () => req.destroy(new Error(`kpg-node ${method} ${path}: timed out`)));
    req.on('error', (err) =>
      reject(
        new Error(`kpg-node fault socket ${faultsSocket}: ${err.message} (is the cluster up?)`),
      ),
    );
    req.end();
  });
}

/**
 * The node is lost as a machine that died: its lease and status stop (the
 * control plane marks it NotReady after the node-monitor grace period), its
 * pods' containers are frozen (or, with kill, SIGKILLed), their traffic is
 * dropped, its kubelet API hangs (exec, logs), and kpg-node acts on nothing
 * the API says about it. Pod objects stay. Resolves once all of that holds.
 */
export function loseNode(node: string, opts: { kill?: boolean } = {}): Promise<FaultResult> {
  return control('POST', `/nodes/${encodeURIComponent(node)}/lose${opts.kill ? '?kill=true' : ''}`);
}

/**
 * Brings a lost node back: containers of pods deleted meanwhile are killed
 * first, the rest thaw (killed ones restart as crashed containers), traffic
 * and heartbeats resume, and kpg-node acts on what changed in the API.
 */
export function restoreNode(node: string): Promise<FaultResult> {
  return control('POST', `/nodes/${encodeURIComponent(node)}/restore`);
}

/**
 * Cuts every pod of the node (present and future) off from pods on other
 * nodes, the host and the API server (its in-pod relay hangs); pods on the
 * same node still reach each other and processes keep running. The node's
 * heartbeat and pod status reports stop. With cutKubelet the kubelet API
 * (exec, logs) hangs too; by default it still answers, so a test can look
 * inside.
 */
export function partitionNode(
  node: string,
  opts: { cutKubelet?: boolean } = {},
): Promise<FaultResult> {
  return control(
    'POST',
    `/nodes/${encodeURIComponent(node)}/partition${opts.cutKubelet ? '?kubelet=cut' : ''}`,
  );
}

/**
 * Cuts one pod off as a network partition would: partitionPod (its veth
 * down: no pod traffic either way) and its in-pod API relay hangs, so it
 * reaches neither its peers nor the API server. Processes keep running.
 */
export async function isolatePod(ns: string, pod: string): Promise<void> {
  partitionPod(ns, pod);
  await control('POST', `/relay/cut?netns=${encodeURIComponent(podState(ns, pod).netns)}`);
}

/** Reverses isolatePod. */
export async function rejoinPod(ns: string, pod: string): Promise<void> {
  await control('POST', `/relay/heal?netns=${encodeURIComponent(podState(ns, pod).netns)}`);
  healPod(ns, pod);
}

/** Ends a partition. */
export function healNode(node: string): Promise<FaultResult> {
  return control('POST', `/nodes/${encodeURIComponent(node)}/heal`);
}

/**
 * Only the node's kubelet API hangs (exec, logs, port-forward), as with a
 * broken API server→kubelet tunnel; the node heartbeats and its pods run and
 * reach everything as before.
 */
export function breakKubelet(node: string): Promise<FaultResult> {
  return control('POST', `/nodes/${encodeURIComponent(node)}/break-kubelet`);
}

/** Ends breakKubelet. */
export function fixKubelet(node: string): Promise<FaultResult> {
  return control('POST', `/nodes/${encodeURIComponent(node)}/fix-kubelet`);
}

/**
 * Slows the pods' path to the API server (the relay on each pod's
 * 127.0.0.1:6443): latencyMs is added to every round trip; with timeout,
 * connections are accepted and nothing is answered (open ones stall too).
 * The CLI, kpg-node and the control plane talk to the API server directly
 * and are not affected.
 */
export function slowApiServer(opts: {
  latencyMs: number;
  timeout?: boolean;
}): Promise<FaultResult> {
  const q = `latencyMs=${Math.max(0, Math.round(opts.latencyMs))}${opts.timeout ? '&timeout=true' : ''}`;
  return control('POST', `/apiserver/slow?${q}`);
}

/** Ends slowApiServer. */
export function restoreApiServer(): Promise<FaultResult> {
  return control('POST', '/apiserver/restore');
}

/** Every node and API-path fault in effect. */
export function faultState(): Promise<FaultState> {
  return control('GET', '/faults');
}

/** Ends every node and API-path fault (for afterEach / finally). */
export async function clearFaults(): Promise<void> {
  const s = await faultState();
  for (const [node, f] of Object.entries(s.nodes)) {
    if (f.lost) await restoreNode(node);
    if (f.partitioned) await healNode(node);
    if (f.kubeletBroken) await fixKubelet(node);
  }
  if (s.apiserver.latencyMs || s.apiserver.timeout) await restoreApiServer();
  for (const netns of s.cutRelays ?? [])
    await control('POST', `/relay/heal?netns=${encodeURIComponent(netns)}`);
}

const NO_SCHEDULE_TAINT = 'kpg.test/no-schedule';

/** No node may start a pod any more (as when the old primary's node is lost); running pods stay. */
export async function forbidScheduling(): Promise<void> {
  await kubectlOk(['taint', 'nodes', '--all', `${NO_SCHEDULE_TAINT}=1:NoSchedule`, '--overwrite']);
}

export async function allowScheduling(): Promise<void> {
  const r = await kubectl(['taint', 'nodes', '--all', `${NO_SCHEDULE_TAINT}-`]);
  // "not found" on a node without the taint is fine.
  if (r.code !== 0 && !/not found/.test(r.stderr)) throw new Error(`untaint: ${r.stderr}`);
}

const NO_NEW_PODS_QUOTA = 'kpg-test-no-new-pods';

/**
 * No new pod may be created in `ns` (a ResourceQuota of 0 pods: running pods
 * stay, a deleted one is not replaced) — the old primary's pod cannot come
 * back, as when its node is lost, without touching another file's namespace.
 */
export async function forbidNewPods(ns: string): Promise<void> {
  await apply(
    ns,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'ResourceQuota',
      metadata: { name: NO_NEW_PODS_QUOTA, namespace: ns },
      spec: { hard: { pods: '0' } },
    }),
  );
  // The quota admits nothing until its controller has counted the namespace's pods.
  await waitFor(
    async () => {
      const q = await getJson<{ status?: { hard?: { pods?: string } } }>([
        '-n',
        ns,
        'resourcequota',
        NO_NEW_PODS_QUOTA,
      ]);
      return q.status?.hard?.pods === '0';
    },
    30_000,
    { what: `ResourceQuota ${NO_NEW_PODS_QUOTA} in force`, intervalMs: 100 },
  );
}

export async function allowNewPods(ns: string): Promise<void> {
  await kubectlOk(['-n', ns, 'delete', 'resourcequota', NO_NEW_PODS_QUOTA, '--ignore-not-found']);
  // The StatefulSet controller backs off (exponentially, to minutes) after
  // each refused create; a change of the StatefulSet queues it again at once.
  const nudge = `kpg.test/resync=${Date.now()}`;
  await kubectlOk(['-n', ns, 'annotate', 'statefulset', '--all', nudge, '--overwrite']);
}

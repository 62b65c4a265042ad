// Fault injection for tests against the local cluster. Pods are real process
// trees in their own network namespaces (run by kpg-node), so faults are
// signals to those processes and link changes on the host side of their veth.
// Needs root (the same user that ran `cluster.sh up`).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { clusterDir, clusterSh, kubectl, kubectlOk } from './kube.js';

export interface ContainerState {
  pid: number;
  running: boolean;
  restartCount: number;
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
  return signal(podPids(podState(ns, pod)), 'SIGCONT');
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

// Shared pieces of the agent e2e tests: the failover tests' cluster opted in
// to the in-pod agent, created by `kpg create`, with the writer and the
// split-brain checker started, and the checks every test ends with.
import { expect } from 'vitest';
import { podState, thawPodAt } from '../../cluster/faults.js';
import { spawn } from 'node:child_process';
import {
  createNamespace,
  getJson,
  kubeconfigPath,
  kubectlOk,
  kubectlPath,
  sleep,
  waitFor,
} from '../../cluster/kube.js';
import {
  CLUSTER,
  kpg,
  manifest as harnessManifest,
  missingRows,
  pods,
  replayedEverywhere,
  sql,
  standbysOf,
  waitHealthy,
  type ClusterOptions,
} from '../failover/harness.js';
import { longestGap, Writer, type Ack } from '../failover/writer.js';
import {
  Checker,
  describeVerdict,
  inThawWindow,
  splitBrain,
  type Thaw,
  type Verdict,
} from './checker.js';
import { AGENT_CONTAINER } from '../../../src/lib/render/agent.js';
import { NODE_IMAGE } from '../../cluster/manifests.js';

export { NODE_IMAGE };

/** The agent's container (a native sidecar). */
export const AGENT = AGENT_CONTAINER;

/** The defaults the tests' clusters run with (spec.leaderElection unset). */
export const LEASE_SECONDS = 10;
export const RENEW_DEADLINE_SECONDS = 6;

/** The failover tests' cluster (3 pods, hot standbys), with the in-pod agent (the default). */
/** The ConfigMap startCluster makes for `userConf` (spec.configSource, key user.conf). */
export const USER_CONF_MAP = `${CLUSTER}-user-conf`;

export function agentManifest(
  opts: ClusterOptions & { maximumLagBeforeFailover?: number; userConf?: string } = {},
  name = CLUSTER,
): string {
  const plain = harnessManifest(opts);
  const extra = [
    ...(opts.maximumLagBeforeFailover === undefined
      ? []
      : [`  leaderElection:\n    maximumLagBeforeFailover: ${opts.maximumLagBeforeFailover}\n`]),
    ...(opts.userConf === undefined
      ? []
      : [`  configSource:\n    configMap:\n      name: ${USER_CONF_MAP}\n`]),
  ];
  const base = plain.replace('\nspec:\n', `\nspec:\n${extra.join('')}`);
  // The agent is the default: only its image is named (the machine's Node.js).
  const opted = base.replace(
    `metadata:\n  name: ${CLUSTER}\n  annotations:\n    kpg.io/agent: "false"\n`,
    `metadata:\n  name: ${name}\n  annotations:\n    kpg.io/agent-image: ${NODE_IMAGE}\n`,
  );
  if (opted === base) throw new Error('the harness manifest changed: cannot add the annotations');
  return opted;
}

export interface Started {
  ns: string;
  primary: string;
  writer: Writer;
  checker: Checker;
}

/** A fresh namespace with an opted-in cluster, healthy, under the writer and the checker. */
export async function startCluster(
  prefix: string,
  onNamespace: (ns: string) => void,
  opts: Parameters<typeof agentManifest>[0] = {},
): Promise<Started> {
  const ns = await createNamespace(prefix);
  onNamespace(ns);
  if (opts.userConf !== undefined)
    await kubectlOk([
      '-n',
      ns,
      'create',
      'configmap',
      USER_CONF_MAP,
      `--from-literal=user.conf=${opts.userConf}`,
    ]);
  const created = await kpg(['create', '-f', '-', '-n', ns, '--timeout', '5m'], {
    input: agentManifest(opts),
    timeoutMs: 330_000,
  });
  expect(created.code, `${created.stdout}\n${created.stderr}`).toBe(0);
  const primary = await waitHealthy(ns, 3, 240_000);
  // One pod per node: the clients stay off the primary's node, which the test may lose.
  const avoid = opts.spread ? await nodeOf(ns, primary) : undefined;
  const [writer, checker] = await Promise.all([
    Writer.start(ns, CLUSTER, 'writer', avoid),
    Checker.start(ns, CLUSTER, 'checker', avoid),
  ]);
  await checker.waitWritable(primary);
  return { ns, primary, writer, checker };
}

export async function nodeOf(ns: string, pod: string): Promise<string> {
  const p = await getJson<{ spec?: { nodeName?: string } }>(['-n', ns, 'pod', pod]);
  if (!p.spec?.nodeName) throw new Error(`${pod} has no node`);
  return p.spec.nodeName;
}

/**
 * Waits for a pod other than `old` to be the one labelled primary; returns
 * it. Event-driven (a `kubectl get -w` of the cluster's pods), so a timing
 * bound measures the cluster, not a poll; a pod being deleted still counts
 * while it exists, as the primary Service would still select it.
 */
export async function waitNewPrimary(ns: string, old: string, timeoutMs = 90_000): Promise<string> {
  const roles = new Map<string, string>();
  const watcher = spawn(
    kubectlPath,
    [
      '--kubeconfig',
      kubeconfigPath,
      '-n',
      ns,
      'get',
      'pods',
      '-l',
      `kubedb.com/name=${CLUSTER}`,
      '-w',
      '--output-watch-events',
      '-o',
      'jsonpath={.type} {.object.metadata.name} {.object.metadata.labels.kubedb\\.com/role}{"\\n"}',
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  try {
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no pod other than ${old} labelled primary in ${timeoutMs} ms`)),
        timeoutMs,
      );
      let buf = '';
      watcher.stdout.setEncoding('utf8').on('data', (d: string) => {
        buf += d;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const [type = '', name = '', role = ''] = buf.slice(0, nl).trim().split(' ');
          buf = buf.slice(nl + 1);
          if (type === 'DELETED') roles.delete(name);
          else if (name) roles.set(name, role);
          const primaries = [...roles].filter(([, r]) => r === 'primary').map(([n]) => n);
          if (primaries.length === 1 && primaries[0] !== old) {
            clearTimeout(timer);
            resolve(primaries[0]!);
          }
        }
      });
      watcher.on('close', () => {
        clearTimeout(timer);
        reject(new Error(`the watch of ${ns}'s pods ended before a new primary was labelled`));
      });
    });
  } finally {
    watcher.kill();
  }
}

/**
 * The end of every scenario: `old` is back as a streaming standby of `next`,
 * every acknowledged row is on every pod (warm: on `next`, and replayed by every standby), and the checker saw `old` and then
 * `next` accept writes and never two pods at once.
 */
export async function finish(
  s: Started,
  next: string,
  faultAt: number,
  opts: { warm?: boolean; unsentTail?: boolean; thawed?: Thaw } = {},
): Promise<{ acks: Ack[]; verdict: Verdict; pauseMs: number }> {
  const thaws = opts.thawed ? [opts.thawed] : [];
  const { ns, primary: old } = s;
  expect(await waitHealthy(ns, 3, 300_000)).toBe(next);
  const streaming = await sql(
    ns,
    next,
    `select count(*) from pg_stat_replication where application_name = '${old}' and state = 'streaming'`,
  );
  expect(streaming.stdout.trim()).toBe('1');
  await s.checker.waitWritable(next, faultAt / 1000);
  await s.writer.waitMore(50);
  const acks = await s.writer.stop();
  const verdict = await s.checker.stop(thaws);
  console.log(`${ns}: ${describeVerdict(verdict)}`);
  if (opts.warm) {
    // Warm standbys take no queries: the rows on the primary, and each
    // standby's replay position (pg_stat_replication) past the last of them.
    expect(await missingRows(ns, acks, 120_000, [next])).toEqual({});
    await replayedEverywhere(ns, next, await standbysOf(ns, next));
  } else {
    await expectRowsKept(ns, acks, opts.unsentTail ? [faultAt] : [], thaws);
  }
  expect((await pods(ns)).filter((p) => p.role === 'primary').map((p) => p.name)).toEqual([next]);
  expect(splitBrain(verdict)).toEqual([]);
  expect(verdict.writes[old] ?? 0).toBeGreaterThan(0);
  expect(verdict.writes[next] ?? 0).toBeGreaterThan(0);
  return { acks, verdict, pauseMs: longestGap(acks, faultAt / 1000) };
}

/** Thaws a pod frozen by freezePod; returns the instant and the IP it had (see THAW_WINDOW_MS). */
export async function thaw(ns: string, pod: string): Promise<Thaw> {
  const ip = (await pods(ns)).find((p) => p.name === pod)?.ip ?? '';
  return { pod, ip, atS: thawPodAt(ns, pod).atMs / 1000 };
}

/** How long before an unplanned loss of the primary its unsent tail may reach. */
export const UNSENT_TAIL_MS = 2_000;

/**
 * Which server acknowledged each lost row, and when against the nearest
 * fault or thaw: what a failure of expectRowsKept needs to be told apart (an
 * unsent tail, a thaw window, or a pod that took a write after it was
 * replaced).
 */
function lossReader(
  now: { name: string; ip: string }[],
  acks: Ack[],
  unsentTailAt: number[],
  thaws: Thaw[],
) {
  const byIp = new Map(now.map((p) => [p.ip, p.name]));
  for (const t of thaws) byIp.set(t.ip, t.pod);
  const ack = new Map(acks.map((a) => [a.n, a]));
  const thawOf = (a: Ack) => inThawWindow(thaws, `${byIp.get(a.server)}@${a.server}`, a.at);
  const whence = (n: number): string => {
    const a = ack.get(n);
    if (!a) return `${n}: not acknowledged`;
    const ms = a.at * 1000;
    const by = byIp.get(a.server) ?? a.server;
    const thaw = thawOf(a);
    if (thaw) return `${n} by ${by} ${Math.round(ms - thaw.atS * 1000)} ms after its thaw`;
    const f = unsentTailAt.reduce(
      (b, x) => (Math.abs(x - ms) < Math.abs(b - ms) ? x : b),
      Infinity,
    );
    const d = Math.round(ms - f);
    return `${n} by ${by} at fault${d < 0 ? '' : '+'}${d} ms`;
  };
  /** Lost in a thaw window, or in the unsent tail before a fault. */
  const excused = (n: number): boolean => {
    const a = ack.get(n);
    if (!a) return false;
    const t = a.at * 1000;
    return (
      thawOf(a) !== undefined || unsentTailAt.some((f) => t >= f - UNSENT_TAIL_MS && t <= f + 1_000)
    );
  };
  return { whence, excused };
}

/**
 * Every acknowledged row is on every pod. With `unsentTailAt` (asynchronous
 * mode, the primary frozen, killed or force-deleted at those instants, ms)
 * the agents promise every row but the old primary's unsent tail (README:
 * the old primary keeps it aside at its rejoin): a row may then be missing
 * only if it is missing on every pod and was acknowledged within
 * UNSENT_TAIL_MS before one of the faults. Returns how many were lost.
 */
export async function expectRowsKept(
  ns: string,
  acks: Ack[],
  unsentTailAt: number[] = [],
  thaws: Thaw[] = [],
): Promise<number> {
  if (unsentTailAt.length === 0 && thaws.length === 0) {
    expect(await missingRows(ns, acks)).toEqual({});
    return 0;
  }
  const missing = await missingRows(ns, acks, 30_000);
  const lists = Object.values(missing);
  if (lists.length === 0) return 0;
  const now = await pods(ns);
  const { whence, excused } = lossReader(now, acks, unsentTailAt, thaws);
  console.log(`${ns}: lost acknowledged rows: ${(lists[0] ?? []).map(whence).join('; ')}`);
  const everyPod = now.map((p) => p.name).sort();
  expect(Object.keys(missing).sort(), 'a row missing on one pod must be missing on all').toEqual(
    everyPod,
  );
  for (const l of lists) expect(l).toEqual(lists[0]);
  const outside = (lists[0] ?? []).filter((n) => !excused(n));
  expect(outside.map(whence), 'rows lost outside the unsent tail of a fault').toEqual([]);
  console.log(
    `${ns}: asynchronous: ${lists[0]?.length ?? 0} acknowledged row(s) of the old primary's unsent tail or thaw window lost (${(lists[0] ?? []).join(', ')}); kept aside on its volume`,
  );
  return lists[0]?.length ?? 0;
}

/**
 * The end of a scenario in which `primary` serves writes at the end: the
 * writer gets 50 more rows through it, then every acknowledged row must be on
 * every pod, the checker must never have seen two writable pods, and only
 * `primary` is labelled primary.
 */
export async function settle(
  s: Started,
  primary: string,
): Promise<{ acks: Ack[]; verdict: Verdict }> {
  await s.checker.waitWritable(primary, Date.now() / 1000);
  await s.writer.waitMore(50);
  const acks = await s.writer.stop();
  const verdict = await s.checker.stop();
  console.log(`${s.ns}: ${describeVerdict(verdict)}; ${acks.length} rows`);
  expect(await missingRows(s.ns, acks)).toEqual({});
  expect(splitBrain(verdict)).toEqual([]);
  expect((await pods(s.ns)).filter((p) => p.role === 'primary').map((p) => p.name)).toEqual([
    primary,
  ]);
  return { acks, verdict };
}

/** When the checker first and last saw `pod` (any IP) accept a write, epoch seconds. */
export function writeSpan(v: Verdict, pod: string): { first: number; last: number } {
  const runs = v.runs.filter((r) => r.pod.startsWith(`${pod}@`));
  return {
    first: Math.min(...runs.map((r) => r.first)),
    last: Math.max(...runs.map((r) => r.last)),
  };
}

/**
 * Kills `container` of `pod` with `kill` now, and again each time the
 * kubelet restarts it (a 20 ms poll of kpg-node's state), until stop().
 * stop() resolves to how many kills it took.
 */
export function keepKilling(
  ns: string,
  pod: string,
  container: string,
  kill: () => void,
): { stop: () => Promise<number> } {
  let keepDown = true;
  let kills = 0;
  kill();
  kills++;
  const keeper = (async () => {
    let seen = podState(ns, pod).containers[container]?.restartCount ?? 0;
    while (keepDown) {
      const c = podState(ns, pod).containers[container];
      if (c && c.running && c.restartCount > seen) {
        seen = c.restartCount;
        try {
          kill();
          kills++;
        } catch {
          /* exited by itself meanwhile */
        }
      }
      await sleep(20);
    }
  })();
  return {
    stop: async () => {
      keepDown = false;
      await keeper;
      return kills;
    },
  };
}

/** keepKilling until another pod is labelled primary. Returns that pod and how many kills it took. */
export async function killUntilNewPrimary(
  ns: string,
  pod: string,
  container: string,
  kill: () => void,
): Promise<{ next: string; kills: number }> {
  const keeper = keepKilling(ns, pod, container, kill);
  const next = await waitNewPrimary(ns, pod, 60_000).finally(() => keeper.stop());
  return { next, kills: await keeper.stop() };
}

/**
 * Waits until each of `standbys` streams from `primary` through its own
 * slot (kpg_<pod>, the walsender holding it); throws with what was seen.
 */
export async function streamingThroughSlots(
  ns: string,
  primary: string,
  standbys: string[],
  timeoutMs = 60_000,
): Promise<void> {
  const want = [...standbys].sort().join(',');
  let last = '';
  await waitFor(
    async () => {
      const r = await sql(
        ns,
        primary,
        `select coalesce(string_agg(r.application_name, ',' order by r.application_name), '')
           from pg_stat_replication r join pg_replication_slots s on s.active_pid = r.pid
          where r.state = 'streaming'
            and s.slot_name = 'kpg_' || replace(r.application_name, '-', '_')`,
      );
      last = r.code === 0 ? r.stdout.trim() : r.stderr.trim();
      return last === want;
    },
    timeoutMs,
    { what: `${want} streaming through their slots on ${primary}`, intervalMs: 1000 },
  ).catch(() => {
    throw new Error(
      `on ${primary} want ${want} streaming through their slots, saw ${last || 'none'}`,
    );
  });
}

// Shared pieces of the failover end-to-end tests: a kpg cluster in a fresh
// namespace (rendered by `kpg create --dry-run=client`, applied by kubectl),
// running kpg itself, and checking every acknowledged row everywhere.
import { join } from 'node:path';
import { healPod, killPod, partitionPod, podState } from '../../cluster/faults.js';
import {
  apply,
  createNamespace,
  deleteNamespace,
  exec,
  getJson,
  kubeconfigPath,
  repoRoot,
  run,
  waitFor,
  type RunResult,
} from '../../cluster/kube.js';
import type { Ack } from './writer.js';

export const CLUSTER = 'ha-postgres';

export interface ClusterOptions {
  sync?: boolean;
  replicas?: number;
  /** Hot by default here, so every pod answers the row check; Warm is KubeDB's default. */
  standbyMode?: 'Hot' | 'Warm';
  /** One pod per node, required (kpg only prefers it): for faults of a whole node. */
  spread?: boolean;
  /** storageType: Ephemeral (an emptyDir per pod, gone with the pod) instead of a claim. */
  ephemeral?: boolean;
}

export function manifest(opts: ClusterOptions = {}): string {
  return [
    'apiVersion: kubedb.com/v1alpha1',
    'kind: Postgres',
    'metadata:',
    `  name: ${CLUSTER}`,
    // kpg failover alone drives these clusters: no in-pod agent.
    '  annotations:',
    '    kpg.io/agent: "false"',
    'spec:',
    "  version: '15'",
    `  replicas: ${opts.replicas ?? 3}`,
    `  standbyMode: ${opts.standbyMode ?? 'Hot'}`,
    ...(opts.sync ? ['  streamingMode: synchronous'] : []),
    ...(opts.ephemeral
      ? ['  storageType: Ephemeral']
      : [
          '  storage:',
          '    storageClassName: standard',
          '    accessModes: [ReadWriteOnce]',
          '    resources:',
          '      requests:',
          '        storage: 1Gi',
        ]),
    ...(opts.spread
      ? [
          '  podTemplate:',
          '    spec:',
          '      affinity:',
          '        podAntiAffinity:',
          '          requiredDuringSchedulingIgnoredDuringExecution:',
          '            - topologyKey: kubernetes.io/hostname',
          '              labelSelector:',
          `                matchLabels: { kubedb.com/name: ${CLUSTER} }`,
        ]
      : []),
    '',
  ].join('\n');
}

/** `node bin/run.js ARGS` against the local cluster. */
export function kpg(
  args: string[],
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<RunResult> {
  return run(process.execPath, [join(repoRoot, 'bin', 'run.js'), ...args], {
    timeoutMs: opts.timeoutMs ?? 180_000,
    ...(opts.input !== undefined ? { input: opts.input } : {}),
    env: { ...process.env, KUBECONFIG: kubeconfigPath, NO_COLOR: '1', ...opts.env },
  });
}

interface PodList {
  items: {
    metadata: { name: string; labels?: Record<string, string> };
    status?: { podIP?: string; conditions?: { type: string; status: string }[] };
  }[];
}

export async function pods(
  ns: string,
): Promise<{ name: string; role: string | undefined; ready: boolean; ip: string }[]> {
  const list = await getJson<PodList>(['-n', ns, 'pods', '-l', `kubedb.com/name=${CLUSTER}`]);
  return list.items
    .map((p) => ({
      name: p.metadata.name,
      role: p.metadata.labels?.['kubedb.com/role'],
      ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      ip: p.status?.podIP ?? '',
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Every pod of the cluster but `primary`. */
export async function standbysOf(ns: string, primary: string): Promise<string[]> {
  return (await pods(ns)).map((p) => p.name).filter((n) => n !== primary);
}

export async function primaryPod(ns: string): Promise<string> {
  const ps = (await pods(ns)).filter((p) => p.role === 'primary');
  if (ps.length !== 1)
    throw new Error(
      `expected one pod labelled primary, found ${ps.map((p) => p.name).join(', ') || 'none'}`,
    );
  return ps[0]?.name ?? '';
}

export async function sql(
  ns: string,
  pod: string,
  query: string,
  timeoutMs = 20_000,
): Promise<RunResult> {
  return exec(
    ns,
    pod,
    ['psql', '-XAtq', '-h', '/var/run/postgresql', '-U', 'postgres', '-d', 'postgres', '-c', query],
    {
      container: 'postgres',
      timeoutMs,
    },
  );
}

/** The database system identifier of the pod's data (an initdb makes a new one). */
export async function systemId(ns: string, pod: string): Promise<string> {
  return (await sql(ns, pod, 'select system_identifier from pg_control_system()')).stdout.trim();
}

/** Creates the cluster and waits for one primary and streaming standbys. */
export async function createCluster(prefix: string, opts: ClusterOptions = {}): Promise<string> {
  const ns = await createNamespace(prefix);
  const r = await kpg(
    ['create', '-f', '-', '-n', ns, '--dry-run=client', '--show-secrets', '-o', 'yaml'],
    {
      timeoutMs: 60_000,
      input: manifest(opts),
    },
  );
  if (r.code !== 0) throw new Error(`kpg create --dry-run failed: ${r.stderr}`);
  await apply(ns, r.stdout);
  return ns;
}

export async function waitHealthy(ns: string, replicas = 3, timeoutMs = 180_000): Promise<string> {
  return waitFor<string | undefined>(
    async () => {
      // One list says which pods are Ready: a kubectl per pod per second adds up
      // when several files wait at once.
      const ps = await pods(ns);
      if (ps.length !== replicas || !ps.every((p) => p.ready)) return undefined;
      const primary = ps.filter((p) => p.role === 'primary');
      if (primary.length !== 1 || !primary[0]) return undefined;
      const r = await sql(
        ns,
        primary[0].name,
        "select count(*) from pg_stat_replication where state = 'streaming'",
      );
      return r.code === 0 && Number(r.stdout.trim()) === replicas - 1 ? primary[0].name : undefined;
    },
    timeoutMs,
    {
      what: `cluster in ${ns} to have a primary and ${replicas - 1} streaming standbys`,
      intervalMs: 1000,
    },
  );
}

/** Rows of kpg_writer on one pod. */
async function rowsOn(ns: string, pod: string): Promise<Set<number>> {
  const r = await sql(ns, pod, 'select n from kpg_writer', 60_000);
  if (r.code !== 0) throw new Error(`${pod}: ${r.stderr.trim()}`);
  return new Set(r.stdout.split('\n').filter(Boolean).map(Number));
}

/** Every acknowledged row is on every pod (standbys are given time to replay). Returns missing per pod. */
export async function missingRows(
  ns: string,
  acks: Ack[],
  timeoutMs = 120_000,
  only?: string[],
): Promise<Record<string, number[]>> {
  const missing: Record<string, number[]> = {};
  for (const p of (await pods(ns)).filter((q) => !only || only.includes(q.name))) {
    let last: number[] = [];
    try {
      await waitFor(
        async () => {
          const have = await rowsOn(ns, p.name);
          last = acks.filter((a) => !have.has(a.n)).map((a) => a.n);
          return last.length === 0;
        },
        timeoutMs,
        { what: `every acknowledged row on ${p.name}`, intervalMs: 1000 },
      );
    } catch {
      missing[p.name] = last.slice(0, 20);
    }
  }
  return missing;
}

export interface KpgJson {
  kind: string;
  oldPrimary: string;
  newPrimary: string;
  timeline?: number;
  possibleLossBytes: number;
  totalMs: number;
  steps: { name: string; ms: number }[];
  resumed: boolean;
  rolledBack: boolean;
  notRejoined: string[];
  lagBytes: number;
  forced: boolean;
  walSalvage?: { end?: string; copiedBytes?: number; failed?: string };
  warnings?: string[];
  error?: { message: string; exitCode: number };
}

export function parseJson(r: RunResult): KpgJson {
  try {
    return JSON.parse(r.stdout) as KpgJson;
  } catch {
    throw new Error(`kpg did not print JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
  }
}

export async function cleanup(ns: string | undefined): Promise<void> {
  if (ns && process.env.KPG_E2E_KEEP !== '1') await deleteNamespace(ns).catch(() => undefined);
}

/** Kills the primary; with `stayDown`, kills it again once restarted, so it waits out the back-off. */
export async function killPrimary(ns: string, pod: string, stayDown: boolean): Promise<void> {
  const before = podState(ns, pod).containers['postgres']?.restartCount ?? 0;
  killPod(ns, pod);
  if (!stayDown) return;
  await waitFor(
    () => {
      const c = podState(ns, pod).containers['postgres'];
      return c !== undefined && c.running && c.restartCount > before;
    },
    30_000,
    { what: `${pod} to restart` },
  );
  killPod(ns, pod);
}

/**
 * Cuts every standby off the pod network, runs `whileCutOff` (commits only the
 * primary's disk will hold), kills the primary for good, and heals the standbys.
 */
export async function killWithStandbysCutOff(
  ns: string,
  primary: string,
  whileCutOff: () => Promise<void>,
): Promise<void> {
  const standbys = await standbysOf(ns, primary);
  for (const s of standbys) partitionPod(ns, s);
  try {
    await whileCutOff();
    await killPrimary(ns, primary, true);
  } finally {
    for (const s of standbys) healPod(ns, s);
  }
}

/**
 * Waits until every standby reports a replay position at or past the
 * primary's current WAL end (warm standbys take no queries: this is how their
 * rows are checked). Throws, naming what it last saw, when they do not.
 */
export async function replayedEverywhere(
  ns: string,
  primary: string,
  standbys: string[],
): Promise<void> {
  const end = await sql(ns, primary, 'select pg_current_wal_lsn()');
  if (end.code !== 0) throw new Error(`${primary}: ${end.stderr.trim()}`);
  const lsn = end.stdout.trim();
  const want = standbys.map((s) => `${s}:streaming:true`).join(', ');
  let last = '';
  await waitFor(
    async () => {
      const r = await sql(
        ns,
        primary,
        `select application_name || ':' || state || ':' || (replay_lsn >= '${lsn}')::text from pg_stat_replication order by 1`,
      );
      last = r.stdout.trim().replace(/\n/g, ', ');
      return last === want;
    },
    120_000,
    { what: `every standby to replay up to ${lsn}`, intervalMs: 1000 },
  ).catch(() => {
    throw new Error(
      `standbys did not all replay up to ${lsn}: want ${want}, saw ${last || 'none'}`,
    );
  });
}

/**
 * Health rules, pure (unit-tested):
 *
 *   healthy  exactly one primary: the pod labelled primary, not in recovery,
 *            the one the record names; every standby streaming from it; every
 *            pod Ready; no standby lagging.
 *   degraded a primary serves writes behind the primary Service, but a standby
 *            is missing, not streaming or lagging, or a pod is not Ready.
 *   down     no writable primary behind the primary Service, or two servers
 *            that accept writes.
 */
import { ExitCode } from '../errors.js';
import type { ClusterStatus, Health, InstanceStatus } from './status.js';

export interface HealthThresholds {
  /** A standby further behind than this many bytes is lagging. Default 16 MiB. */
  maxLagBytes: number;
  /** ... or this many seconds of replay lag. Default 30. */
  maxLagSeconds: number;
}

export const DEFAULT_THRESHOLDS: HealthThresholds = {
  maxLagBytes: 16 * 1024 * 1024,
  maxLagSeconds: 30,
};

export interface HealthResult {
  health: Health;
  problems: string[];
}

type Input = Pick<
  ClusterStatus,
  'name' | 'instances' | 'services' | 'replication' | 'record' | 'spec' | 'statefulSet'
> &
  Partial<Pick<ClusterStatus, 'agents'>>;

const writable = (i: InstanceStatus) => i.postgres?.inRecovery === false;

function primaryEndpoints(s: Input): string[] {
  const svc = s.services.find((x) => x.name === s.name);
  return (svc?.endpoints ?? []).filter((e) => e.ready).map((e) => e.pod ?? e.ip);
}

function downProblems(s: Input): { problems: string[]; primary?: InstanceStatus } {
  const problems: string[] = [];
  const writers = s.instances.filter(writable);
  if (writers.length > 1) {
    problems.push(
      `${writers.length} servers accept writes (${writers.map((w) => w.pod).join(', ')}): split brain`,
    );
  }
  const behind = primaryEndpoints(s);
  const served = s.instances.filter(
    (i) => behind.includes(i.pod) || (i.ip !== undefined && behind.includes(i.ip)),
  );
  const servedWriters = served.filter(writable);
  if (behind.length === 0) problems.push(`the primary Service ${s.name} has no ready endpoint`);
  else if (servedWriters.length === 0) {
    problems.push(
      `no server behind the primary Service ${s.name} accepts writes (${behind.join(', ')})`,
    );
  } else if (behind.length > 1)
    problems.push(
      `the primary Service ${s.name} routes to ${behind.length} pods (${behind.join(', ')})`,
    );
  return { problems, primary: problems.length === 0 ? servedWriters[0] : undefined };
}

function standbyProblems(s: Input, primary: InstanceStatus, t: HealthThresholds): string[] {
  const problems: string[] = [];
  const want = s.spec?.replicas ?? s.statefulSet?.replicas ?? s.instances.length;
  const rows = s.replication?.primary === primary.pod ? s.replication.standbys : undefined;
  if (!rows) {
    if (want > 1) problems.push(`the replication view of ${primary.pod} is unknown`);
    return problems;
  }
  const streaming = rows.filter((r) => r.state === 'streaming');
  if (streaming.length < want - 1) {
    problems.push(`${streaming.length} of ${want - 1} standbys streaming from ${primary.pod}`);
  }
  for (const r of rows.filter((x) => x.state !== 'streaming'))
    problems.push(`standby ${r.standby} is ${r.state || 'not streaming'}`);
  for (const i of s.instances) {
    if (i === primary) continue;
    if (i.lagBytes !== undefined && i.lagBytes > t.maxLagBytes)
      problems.push(`standby ${i.pod} is ${i.lagBytes} bytes behind`);
    else if (i.lagSeconds !== undefined && i.lagSeconds > t.maxLagSeconds)
      problems.push(`standby ${i.pod} replays ${i.lagSeconds.toFixed(1)} s late`);
  }
  return problems;
}

export function evaluateHealth(s: Input, t: HealthThresholds = DEFAULT_THRESHOLDS): HealthResult {
  const down = downProblems(s);
  if (!down.primary) return { health: 'down', problems: [...down.problems, ...agentProblems(s)] };
  const primary = down.primary;
  const problems: string[] = [];
  if (primary.role !== 'primary')
    problems.push(`${primary.pod} accepts writes but is not labelled primary`);
  if (s.record && s.record.primary !== primary.pod) {
    problems.push(
      `the record names ${s.record.primary} as primary, but ${primary.pod} serves writes`,
    );
  }
  const labelled = s.instances.filter((i) => i.role === 'primary');
  if (labelled.length > 1) problems.push(`${labelled.length} pods are labelled primary`);
  const want = s.spec?.replicas ?? s.statefulSet?.replicas;
  if (want !== undefined && s.instances.length < want)
    problems.push(`${s.instances.length} of ${want} pods exist`);
  for (const i of s.instances) if (!i.ready) problems.push(`pod ${i.pod} is not Ready`);
  problems.push(...standbyProblems(s, primary, t));
  return { health: problems.length === 0 ? 'healthy' : 'degraded', problems };
}

/** Why the agents do not fail over (or fence): the decisions people must see. */
function agentProblems(s: Input): string[] {
  return (s.agents?.pods ?? [])
    .filter((p) => p.decision === 'refuse' || p.decision === 'fence')
    .map((p) =>
      p.decision === 'refuse'
        ? `${p.pod}'s agent does not take over: ${p.reason ?? 'no reason given'}`
        : `${p.pod}'s agent fences its postgres: ${p.reason ?? 'no reason given'}`,
    );
}

/**
 * Members that share a node: one node's loss takes several of them, and the
 * failover may find no standby left. A warning, not a degraded health: it is
 * how the scheduler placed the pods (too few nodes, a nodeSelector), and a
 * drain may do it for a while.
 */
export function placementWarnings(instances: Pick<InstanceStatus, 'pod' | 'node'>[]): string[] {
  const byNode = new Map<string, string[]>();
  for (const i of instances) {
    if (!i.node) continue;
    byNode.set(i.node, [...(byNode.get(i.node) ?? []), i.pod]);
  }
  return [...byNode]
    .filter(([, pods]) => pods.length > 1)
    .map(
      ([node, pods]) =>
        `${pods.join(', ')} run on one node (${node}): losing it loses ${pods.length} members at once; spread them with spec.podTemplate.spec.affinity (podAntiAffinity on kubernetes.io/hostname) or more nodes`,
    );
}

/** WAL a former primary kept aside at its rejoin: commits the cluster does not have. */
export function unsentWalWarnings(instances: Pick<InstanceStatus, 'pod' | 'postgres'>[]): string[] {
  return instances.flatMap((i) =>
    (i.postgres?.unsentWal ?? []).map(
      (dir) =>
        `${i.pod} keeps WAL the cluster never got in ${dir} (commits of a failover that could not copy them; its DIVERGED file says from where; pg_waldump reads it; delete it when done)`,
    ),
  );
}

/** The exit code of `describe --exit-code`. */
export function healthExitCode(h: Health): number {
  return h === 'healthy' ? ExitCode.Ok : h === 'degraded' ? ExitCode.Degraded : ExitCode.Down;
}

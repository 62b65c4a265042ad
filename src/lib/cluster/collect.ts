/**
 * Gathers everything `describe` (and `get`) shows about one cluster, in
 * parallel. Each pod is asked with its own deadline, so one hung pod degrades
 * the answer (its error is listed) instead of hanging it. Never throws for a
 * partial failure: errors met on the way end up in `errors`.
 */
import { archiveProblem, queryArchive, type ArchiveStatus } from '../backup/archive-status.js';
import { archiveLocation, describeLocation } from '../backup/location.js';
import { parse as parseYaml } from 'yaml';
import type { Kube, KubeObject } from '../kube/index.js';
import { validateText } from '../manifest/index.js';
import {
  lsnDiff,
  PsqlError,
  queryControlData,
  queryInstance,
  queryReplication,
  type PodExec,
  type ReplicationView,
} from '../postgres/index.js';
import { objectNames, ROLE_LABEL } from '../render/index.js';
import { collectAgents } from './agents.js';
import { readBlockers } from './blocker-read.js';
import { blockerLine } from './blockers.js';
import { evaluateHealth, placementWarnings, unsentWalWarnings } from './health.js';
import { parseRecord } from './record.js';
import type {
  ClusterStatus,
  EventStatus,
  InstanceStatus,
  RecordStatus,
  SecretStatus,
  ServiceStatus,
  SpecSummary,
  StatefulSetSummary,
} from './status.js';
import {
  type K8sEvent,
  type K8sPod,
  type K8sService,
  type K8sSlice,
  type K8sStatefulSet,
  podSummary,
  stsEnv,
  stsSummary,
} from './objects.js';
import { tlsStatusOf } from './tls-status.js';
import { tlsSecretNames } from '../render/tls.js';

export interface CollectOptions {
  /** Deadline for asking one pod (each psql call). Default 5000 ms. */
  podTimeoutMs?: number;
  /** Now, for `collectedAt` (injected in tests). */
  now?: () => Date;
  /** Ask PostgreSQL too (describe); `get` skips it. Default true. */
  queryPostgres?: boolean;
  /** How many recent events to keep. Default 20. */
  maxEvents?: number;
}

export const CLUSTER_SELECTOR = (name: string) =>
  `kubedb.com/kind=Postgres,kubedb.com/name=${name}`;

type Sub = KubeObject & { data?: Record<string, string> };

/** A promise that rejects after ms (the work itself is abandoned, its signal aborted). */
export async function withDeadline<T>(
  ms: number,
  what: string,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const ctl = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      ctl.abort();
      reject(new Error(`${what}: no answer within ${Math.round(ms / 100) / 10}s`));
    }, ms);
  });
  try {
    return await Promise.race([fn(ctl.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function errText(err: unknown): string {
  if (err instanceof PsqlError) return err.message;
  return err instanceof Error ? err.message : String(err);
}

export function specFromRecord(yamlText: string, ns?: string): SpecSummary | undefined {
  if (!yamlText) return undefined;
  const res = validateText(yamlText, 'record');
  const c = res.clusters[0];
  if (c) {
    const s: SpecSummary = {
      version: c.version,
      major: c.major,
      replicas: c.replicas,
      standbyMode: c.standbyMode,
      streamingMode: c.streamingMode,
      storageType: c.storageType,
      terminationPolicy: c.terminationPolicy,
    };
    if (c.storage?.storageClassName) s.storageClass = c.storage.storageClassName;
    if (c.storage?.size) s.storageSize = c.storage.size;
    if (c.archiver) {
      const where = archiveLocation(c.archiver.storage, c.namespace ?? ns ?? '', c.name);
      s.archive = describeLocation(where);
    }
    return s;
  }
  // Not valid any more (a newer kpg?): show what can be read.
  const raw = parseYaml(yamlText) as { spec?: Record<string, unknown> } | null;
  const spec = raw?.spec ?? {};
  return {
    version: String(spec.version ?? ''),
    major: String(spec.version ?? ''),
    replicas: Number(spec.replicas ?? 1),
    standbyMode: String(spec.standbyMode ?? spec.standby ?? 'warm').toLowerCase(),
    streamingMode: String(spec.streamingMode ?? spec.streaming ?? 'asynchronous').toLowerCase(),
    storageType: String(spec.storageType ?? 'Durable'),
  };
}

interface Ctx {
  kube: Kube;
  ns: string;
  name: string;
  errors: string[];
}

async function attempt<T>(ctx: Ctx, what: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    ctx.errors.push(`${what}: ${errText(err)}`);
    return undefined;
  }
}

async function readRecord(ctx: Ctx): Promise<{ record?: RecordStatus; spec?: SpecSummary }> {
  const cm = await attempt(ctx, 'reading the record', () =>
    ctx.kube.find<Sub>('ConfigMap', ctx.ns, objectNames(ctx.name).record),
  );
  if (!cm) return {};
  try {
    const r = parseRecord(cm.data, ctx.name);
    const record: RecordStatus = {
      primary: r.primary,
      timeline: r.timeline,
      generation: r.generation,
      history: r.history,
    };
    if (r.operation) record.operation = r.operation;
    if (r.paused) record.paused = r.paused;
    return { record, spec: specFromRecord(r.spec, ctx.ns) };
  } catch (err) {
    ctx.errors.push(`the record ${objectNames(ctx.name).record} is unreadable: ${errText(err)}`);
    return {};
  }
}

function servicesFrom(services: K8sService[], slices: K8sSlice[]): ServiceStatus[] {
  return services
    .map((s): ServiceStatus => {
      const name = s.metadata?.name ?? '';
      const endpoints = slices
        .filter((sl) => sl.metadata?.labels?.['kubernetes.io/service-name'] === name)
        .flatMap((sl) => sl.endpoints ?? [])
        .flatMap((e) =>
          (e.addresses ?? []).map((ip) => ({
            ip,
            ready: e.conditions?.ready !== false,
            ...(e.targetRef?.name ? { pod: e.targetRef.name } : {}),
          })),
        )
        .sort((a, b) => (a.pod ?? a.ip).localeCompare(b.pod ?? b.ip));
      const out: ServiceStatus = {
        name,
        ports: (s.spec?.ports ?? []).map(
          (p) => `${p.name ? `${p.name} ` : ''}${p.port}/${p.protocol ?? 'TCP'}`,
        ),
        selector: s.spec?.selector ?? {},
        endpoints,
      };
      if (s.spec?.type) out.type = s.spec.type;
      if (s.spec?.clusterIP) out.clusterIP = s.spec.clusterIP;
      return out;
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

function secretName(sts: K8sStatefulSet | undefined, name: string): string {
  const env = sts?.spec?.template?.spec?.containers?.flatMap((c) => c.env ?? []) ?? [];
  const ref = env.find((e) => e.name === 'POSTGRES_PASSWORD')?.valueFrom?.secretKeyRef?.name;
  return ref ?? objectNames(name).authSecret;
}

async function readSecret(ctx: Ctx, name: string): Promise<SecretStatus | undefined> {
  const s = await attempt(ctx, `reading Secret ${name}`, () =>
    ctx.kube.find<Sub & { type?: string }>('Secret', ctx.ns, name),
  );
  if (!s) return undefined;
  const keys = Object.entries(s.data ?? {})
    .map(([key, v]) => ({ key, bytes: Buffer.from(v, 'base64').length }))
    .sort((a, b) => a.key.localeCompare(b.key));
  const user = s.data?.['POSTGRES_USER'];
  return {
    name,
    ...(s.type ? { type: s.type } : {}),
    keys,
    ...(user ? { user: Buffer.from(user, 'base64').toString('utf8') } : {}),
  };
}

function eventsFor(events: K8sEvent[], objects: Set<string>, max: number): EventStatus[] {
  return events
    .filter((e) => objects.has(`${e.involvedObject?.kind}/${e.involvedObject?.name}`))
    .map((e): EventStatus => {
      const out: EventStatus = {
        object: `${e.involvedObject?.kind?.toLowerCase()}/${e.involvedObject?.name}`,
        count: e.count ?? 1,
      };
      const first = e.firstTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp;
      const last = e.lastTimestamp ?? e.series?.lastObservedTime ?? e.eventTime ?? first;
      if (e.type) out.type = e.type;
      if (e.reason) out.reason = e.reason;
      if (e.message) out.message = e.message.trim();
      if (first) out.firstSeen = first;
      if (last) out.lastSeen = last;
      return out;
    })
    .sort((a, b) => (a.lastSeen ?? '').localeCompare(b.lastSeen ?? ''))
    .slice(-max);
}

async function askInstance(
  ctx: Ctx,
  inst: InstanceStatus,
  major: string,
  timeoutMs: number,
): Promise<void> {
  const at = { ns: ctx.ns, pod: inst.pod };
  const kube: PodExec = ctx.kube;
  try {
    inst.postgres = await withDeadline(timeoutMs, `asking ${inst.pod}`, (signal) =>
      queryInstance(kube, at, major, { timeoutMs, signal }),
    );
  } catch (err) {
    if (err instanceof PsqlError && err.notAccepting) {
      // A warm standby refuses connections: read its control file instead.
      try {
        inst.controlData = await withDeadline(
          timeoutMs,
          `pg_controldata in ${inst.pod}`,
          (signal) => queryControlData(kube, at, { timeoutMs, signal }),
        );
        return;
      } catch (err2) {
        inst.error = errText(err2);
        return;
      }
    }
    inst.error = errText(err);
  }
}

async function askReplication(
  ctx: Ctx,
  primary: string,
  major: string,
  timeoutMs: number,
): Promise<ReplicationView | undefined> {
  return attempt(ctx, `reading pg_stat_replication on ${primary}`, () =>
    withDeadline(timeoutMs, `asking ${primary}`, (signal) =>
      queryReplication(ctx.kube, { ns: ctx.ns, pod: primary }, major, { timeoutMs, signal }),
    ),
  );
}

async function askArchive(
  ctx: Ctx,
  primary: string,
  major: string,
  location: string,
  timeoutMs: number,
): Promise<ArchiveStatus> {
  const a = await attempt(ctx, `reading pg_stat_archiver on ${primary}`, () =>
    withDeadline(timeoutMs, `asking ${primary}`, (signal) =>
      queryArchive(ctx.kube, { ns: ctx.ns, pod: primary }, major, location, { timeoutMs, signal }),
    ),
  );
  return (
    a ?? { location, pod: primary, failing: false, error: 'pg_stat_archiver could not be read' }
  );
}

/**
 * Each instance's WAL position, with where it comes from, and the standbys'
 * lag. A warm standby refuses queries, so its position is its row in the
 * primary's pg_stat_replication; pg_controldata only has its last
 * restartpoint, which may be far behind what it replayed, so no lag is
 * computed from it (unknown, never a figure that contradicts the LSN shown).
 */
export function applyLag(
  instances: InstanceStatus[],
  view: ReplicationView | undefined,
  primary: string,
): void {
  for (const i of instances) {
    const row = i.pod === primary ? undefined : view?.rows.find((r) => r.standby === i.pod);
    if (row?.replayLsn) {
      i.position = {
        lsn: row.replayLsn,
        ...(row.flushLsn ? { receiveLsn: row.flushLsn } : {}),
        source: 'pg_stat_replication',
      };
    } else if (i.postgres?.lsn) {
      i.position = {
        lsn: i.postgres.lsn,
        ...(i.postgres.receiveLsn ? { receiveLsn: i.postgres.receiveLsn } : {}),
        source: 'server',
      };
    } else if (i.controlData?.lsn) {
      i.position = { lsn: i.controlData.lsn, source: 'pg_controldata' };
    }
    if (i.pod === primary || !view) continue;
    const measured = i.position?.source === 'pg_controldata' ? undefined : i.position?.lsn;
    const bytes = lsnDiff(view.currentLsn, measured);
    if (bytes !== undefined) i.lagBytes = bytes;
    if (row?.replayLag !== undefined) i.lagSeconds = row.replayLag;
    else if (row && row.state === 'streaming' && bytes === 0) i.lagSeconds = 0;
  }
}

/** Which pod to ask for pg_stat_replication: the one writing, else the labelled primary, else the record's. */
function primaryToAsk(
  instances: InstanceStatus[],
  recorded: string | undefined,
): string | undefined {
  const writer = instances.find((i) => i.postgres?.inRecovery === false);
  const labelled = instances.find((i) => i.role === 'primary');
  return writer?.pod ?? labelled?.pod ?? recorded;
}

export async function collectStatus(
  kube: Kube,
  ns: string,
  name: string,
  opts: CollectOptions = {},
): Promise<ClusterStatus> {
  const now = opts.now ?? (() => new Date());
  const ctx: Ctx = { kube, ns, name, errors: [] };
  const sel = CLUSTER_SELECTOR(name);
  const [rec, sts, pods, services, slices, events] = await Promise.all([
    readRecord(ctx),
    attempt(ctx, 'reading the StatefulSet', () =>
      kube.find<K8sStatefulSet>('StatefulSet', ns, name),
    ),
    attempt(ctx, 'listing pods', () =>
      kube.list<K8sPod>('Pod', { namespace: ns, labelSelector: sel }),
    ),
    attempt(ctx, 'listing Services', () =>
      kube.list<K8sService>('Service', { namespace: ns, labelSelector: sel }),
    ),
    attempt(ctx, 'listing EndpointSlices', () =>
      kube.list<K8sSlice>('EndpointSlice', { namespace: ns }),
    ),
    attempt(ctx, 'listing events', () => kube.list<K8sEvent>('Event', { namespace: ns })),
  ]);
  const podItems = (pods?.items ?? []).sort((a, b) =>
    (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''),
  );
  const instances = podItems.map(podSummary);
  const stsSum: StatefulSetSummary | undefined = sts ? stsSummary(sts) : undefined;
  const major = rec.spec?.major ?? stsSum?.major ?? '15';
  const timeoutMs = opts.podTimeoutMs ?? 5000;

  // Read beside the instances, not after them: a describe of a cluster whose
  // primary is down waits for that pod's timeout once, not twice, and shows
  // the agents' decisions of the same moment.
  const agentsRead =
    opts.queryPostgres === false
      ? Promise.resolve(undefined)
      : attempt(ctx, 'reading the agents', () =>
          collectAgents(
            kube,
            ns,
            name,
            instances.filter((i) => i.phase === 'Running').map((i) => i.pod),
            timeoutMs,
          ),
        );
  let replication: ClusterStatus['replication'];
  let archive: ArchiveStatus | undefined;
  if (opts.queryPostgres !== false) {
    await Promise.all(
      instances
        .filter((i) => i.phase === 'Running')
        .map((i) => askInstance(ctx, i, major, timeoutMs)),
    );
    const primary = primaryToAsk(instances, rec.record?.primary);
    const asked = instances.find((i) => i.pod === primary);
    if (primary && asked && !asked.error && asked.postgres?.inRecovery === false) {
      const view = await askReplication(ctx, primary, major, timeoutMs);
      if (view)
        replication = {
          primary,
          ...(view.currentLsn ? { currentLsn: view.currentLsn } : {}),
          standbys: view.rows,
          ...(view.slots ? { slots: view.slots } : {}),
        };
      applyLag(instances, view, primary);
      if (rec.spec?.archive)
        archive = await askArchive(ctx, primary, major, rec.spec.archive, timeoutMs);
    } else {
      applyLag(instances, undefined, primary ?? '');
    }
    for (const i of instances) if (i.error) ctx.errors.push(`pod ${i.pod}: ${i.error}`);
  }

  const agents = await agentsRead;
  // describe only: `get` stays at its few list calls.
  const blockers =
    opts.queryPostgres === false
      ? undefined
      : await attempt(ctx, 'reading why pods are not up', () =>
          // The events listed above: read once.
          readBlockers(kube, { ns, name }, podItems, events?.items),
        );
  const [secret, tlsSecret] =
    sts || rec.record
      ? await Promise.all([
          readSecret(ctx, secretName(sts, name)),
          sts && !stsEnv(sts, 'KPG_TLS_DIR')
            ? undefined
            : attempt(ctx, `reading Secret ${tlsSecretNames(name).server}`, () =>
                kube.find<Sub>('Secret', ns, tlsSecretNames(name).server),
              ),
        ])
      : [undefined, undefined];
  const tls = sts || rec.record ? tlsStatusOf(name, sts, tlsSecret, now()) : undefined;
  const svc = servicesFrom(services?.items ?? [], slices?.items ?? []);
  const objects = new Set<string>([
    `StatefulSet/${name}`,
    `ConfigMap/${objectNames(name).record}`,
    `PodDisruptionBudget/${name}`,
    ...instances.map((i) => `Pod/${i.pod}`),
    ...svc.map((s) => `Service/${s.name}`),
    ...Array.from(
      { length: Math.max(stsSum?.replicas ?? 0, instances.length) },
      (_, k) => `PersistentVolumeClaim/data-${name}-${k}`,
    ),
  ]);

  const status: ClusterStatus = {
    name,
    namespace: ns,
    collectedAt: now().toISOString(),
    ...(sts?.metadata?.creationTimestamp ? { createdAt: sts.metadata.creationTimestamp } : {}),
    ...(rec.spec ? { spec: rec.spec } : {}),
    ...(rec.record ? { record: rec.record } : {}),
    ...(stsSum ? { statefulSet: stsSum } : {}),
    instances,
    ...(replication ? { replication } : {}),
    services: svc,
    ...(secret ? { secret } : {}),
    ...(tls ? { tls } : {}),
    ...(archive ? { archive } : {}),
    events: eventsFor(events?.items ?? [], objects, opts.maxEvents ?? 20),
    ...(agents ? { agents } : {}),
    ...(blockers?.length ? { blockers } : {}),
    health: 'down',
    problems: [],
    errors: ctx.errors,
  };
  const h = evaluateHealth(status);
  // A cluster whose WAL no longer reaches its archive serves, but cannot be restored past now.
  const archiving = archiveProblem(archive);
  if (archiving) {
    h.problems.push(archiving);
    if (h.health === 'healthy') h.health = 'degraded';
  }
  status.health = h.health;
  status.problems = [
    ...(blockers ?? []).map(
      (b) =>
        `${blockerLine(b)} (${b.advice})${b.log?.length ? `\n      last log lines:\n${b.log.map((l) => `        ${l}`).join('\n')}` : ''}`,
    ),
    ...h.problems,
  ];
  const warnings = [
    ...placementWarnings(instances),
    ...unsentWalWarnings(instances),
    ...(tls?.problem ? [tls.problem] : []),
  ];
  if (warnings.length) status.warnings = warnings;
  return status;
}

export { ROLE_LABEL };

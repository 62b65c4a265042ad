/**
 * kpg backup NAME: one base backup of a running cluster into its archive,
 * as a Job (render/backup-job.ts) that kpg creates and waits for; and
 * kpg backup list NAME: the complete backups in the archive, read by the
 * storage sidecar of one of the cluster's pods (kpg itself may not reach
 * the storage). Never prints; the commands format the results.
 */
import { archiveLocation, describeLocation } from '../backup/location.js';
import { backupFromLog, backupId, parseBackupList, type BackupInfo } from '../backup/info.js';
import { planPrune, type PrunePlan } from '../backup/prune.js';
import { ClusterFailureError, InvalidInputError, NotFoundError } from '../errors.js';
import type { Kube } from '../kube/index.js';
import { runSql } from '../postgres/psql.js';
import type { PostgresCluster } from '../manifest/types.js';
import {
  BACKUP_LABEL,
  UPLOAD_CONTAINER,
  backupJobName,
  renderBackupJob,
} from '../render/backup-job.js';
import { ROLE_LABEL, objectNames, selectorLabels, selectorString } from '../render/labels.js';
import { STORAGE_CONTAINER, backupStorage } from '../render/storage.js';
import { readRunning } from './apply-exec.js';
import type { K8sPod } from './objects.js';

export interface BackupTarget {
  namespace: string;
  name: string;
}

export interface BackupResult extends BackupInfo {
  /** Where the backup went, e.g. s3://bucket/kubedb/demo/pg/archive. */
  location: string;
  job: string;
  durationSeconds: number;
}

interface JobObject {
  metadata?: { name?: string };
  status?: {
    succeeded?: number;
    failed?: number;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

/** The applied spec, refused when it archives nowhere. */
async function archivingCluster(kube: Kube, t: BackupTarget): Promise<PostgresCluster> {
  const { old } = await readRunning(kube, t.namespace, t.name);
  if (!backupStorage(old)) {
    throw new InvalidInputError(
      `postgres "${t.name}" has no spec.archiver (nor spec.backupSchedule): a base backup goes into the cluster's WAL archive, without which it could not be restored to any point`,
      {
        suggestions: [
          'add spec.archiver.storage (s3 or local) to the manifest and recreate the cluster',
        ],
      },
    );
  }
  return old;
}

const finished = (j: JobObject | undefined) =>
  (j?.status?.succeeded ?? 0) > 0 || (j?.status?.failed ?? 0) > 0;

/** Runs one base backup and waits for it; throws with the Job's own words when it fails. */
export async function runBackup(
  kube: Kube,
  t: BackupTarget,
  opts: { now: () => Date; timeoutMs: number; signal?: AbortSignal },
): Promise<BackupResult> {
  const c = await archivingCluster(kube, t);
  const started = opts.now();
  const id = backupId(started);
  const archive = archiveLocation(backupStorage(c)!, t.namespace, c.name);
  const host = await backupSource(kube, t, c);
  const job = renderBackupJob(c, t.namespace, { id, archive, host });
  const name = backupJobName(c.name, id);
  await kube.create(job);
  const done = await kube.waitFor<JobObject>('Job', t.namespace, name, finished, {
    timeoutMs: opts.timeoutMs,
    ...(opts.signal ? { signal: opts.signal } : {}),
    description: `job ${name} to finish`,
  });
  const { items: pods } = await kube.list<K8sPod>('Pod', {
    namespace: t.namespace,
    labelSelector: `${BACKUP_LABEL}=${id.toLowerCase()}`,
  });
  const pod = pods[0]?.metadata?.name;
  const upload = pod ? await kube.logs(t.namespace, pod, UPLOAD_CONTAINER).catch(() => '') : '';
  const info = (done?.status?.succeeded ?? 0) > 0 ? backupFromLog(upload) : undefined;
  if (!info) {
    const base = pod
      ? await kube.logs(t.namespace, pod, 'basebackup', { tailLines: 12 }).catch(() => '')
      : '';
    const why = [...base.split('\n'), ...upload.split('\n')]
      .filter((l) => /!!!|error|fatal|failed/i.test(l))
      .slice(-4)
      .join('; ');
    throw new ClusterFailureError(`base backup ${id} of ${t.name} failed${why ? `: ${why}` : ''}`, {
      suggestions: [`kubectl logs -n ${t.namespace} job/${name} --all-containers`],
    });
  }
  return {
    ...info,
    location: describeLocation(archive),
    job: name,
    durationSeconds: Math.round((opts.now().getTime() - started.getTime()) / 100) / 10,
  };
}

/**
 * Where pg_basebackup reads: a Ready hot standby (through the pods' headless
 * Service, a name the server certificate has), so the primary serves on
 * undisturbed; else the primary. A warm standby takes no connections.
 */
async function backupSource(kube: Kube, t: BackupTarget, c: PostgresCluster): Promise<string> {
  if (c.standbyMode !== 'hot') return objectNames(c.name).primaryService;
  const { items } = await kube.list<K8sPod>('Pod', {
    namespace: t.namespace,
    labelSelector: `${selectorString(selectorLabels(c))},${ROLE_LABEL}=replica`,
  });
  const ready = items
    .filter((p) => p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'))
    .map((p) => p.metadata?.name ?? '')
    .filter(Boolean)
    .sort();
  return ready[0]
    ? `${ready[0]}.${objectNames(c.name).podsService}.${t.namespace}`
    : objectNames(c.name).primaryService;
}

const clusterPods = async (kube: Kube, t: BackupTarget) =>
  (
    await kube.list<K8sPod>('Pod', {
      namespace: t.namespace,
      labelSelector: selectorString(selectorLabels({ name: t.name })),
    })
  ).items;

/** The running pod whose storage sidecar reads the archive: the primary first. */
async function storagePod(kube: Kube, t: BackupTarget, pods?: K8sPod[]): Promise<string> {
  const ready = (pods ?? (await clusterPods(kube, t))).filter((p) =>
    p.status?.initContainerStatuses?.some(
      (s) => s.name === STORAGE_CONTAINER && s.state?.running !== undefined,
    ),
  );
  const primary = ready.find((p) => p.metadata?.labels?.[ROLE_LABEL] === 'primary');
  const pod = (primary ?? ready[0])?.metadata?.name;
  if (!pod) {
    throw new NotFoundError(
      `no pod of postgres "${t.name}" runs a storage sidecar now: kpg reads the archive through one`,
      { suggestions: [`kpg describe ${t.name} -n ${t.namespace}`] },
    );
  }
  return pod;
}

/** The complete base backups in the cluster's archive, oldest first. */
export async function listBackups(
  kube: Kube,
  t: BackupTarget,
  opts: { signal?: AbortSignal } = {},
): Promise<{ location: string; backups: BackupInfo[] }> {
  const c = await archivingCluster(kube, t);
  const pod = await storagePod(kube, t);
  const r = await kube.exec(
    t.namespace,
    pod,
    STORAGE_CONTAINER,
    ['sh', '/scripts/storage.sh', 'list', 'ARC'],
    { timeoutMs: 120_000, ...(opts.signal ? { signal: opts.signal } : {}) },
  );
  if (r.exitCode !== 0) {
    throw new ClusterFailureError(
      `cannot list the archive of ${t.name}: ${r.stderr.trim().split('\n').slice(-2).join('; ') || `exit ${r.exitCode}`}`,
    );
  }
  return {
    location: describeLocation(archiveLocation(backupStorage(c)!, t.namespace, c.name)),
    backups: parseBackupList(r.stdout),
  };
}

/** The prune plan against what the archive holds now. */
export async function planBackupPrune(
  kube: Kube,
  t: BackupTarget,
  keep: number,
  opts: { signal?: AbortSignal } = {},
): Promise<{ location: string; plan: PrunePlan }> {
  const l = await listBackups(kube, t, opts);
  return { location: l.location, plan: planPrune(l.backups, keep) };
}

/** Removes what the plan says, through the storage sidecar; its report lines. */
export async function runBackupPrune(
  kube: Kube,
  t: BackupTarget,
  plan: PrunePlan,
  opts: { signal?: AbortSignal } = {},
): Promise<string[]> {
  if (!plan.walBefore) return [];
  const pod = await storagePod(kube, t);
  const r = await kube.exec(
    t.namespace,
    pod,
    STORAGE_CONTAINER,
    ['sh', '/scripts/storage.sh', 'prune', plan.walBefore, ...plan.remove.map((b) => b.id)],
    { timeoutMs: 600_000, ...(opts.signal ? { signal: opts.signal } : {}) },
  );
  if (r.exitCode !== 0) {
    throw new ClusterFailureError(
      `pruning the archive of ${t.name} failed: ${r.stderr.trim().split('\n').slice(-2).join('; ') || `exit ${r.exitCode}`}`,
    );
  }
  return r.stdout.trim().split('\n').filter(Boolean);
}

/**
 * Removes the whole archive (WAL and base backups): kpg delete of a WipeOut
 * cluster. Every pod stops archiving first (archive_command 'true', reloaded:
 * a segment of the shutdown, or a .history file of a standby promoted while
 * the pods go, would otherwise land after the purge).
 */
export async function purgeArchive(
  kube: Kube,
  t: BackupTarget,
  signal?: AbortSignal,
): Promise<void> {
  const items = await clusterPods(kube, t);
  await Promise.all(
    items.map((p) =>
      runSql(
        kube,
        { ns: t.namespace, pod: p.metadata?.name ?? '' },
        ["ALTER SYSTEM SET archive_command TO 'true'", 'SELECT pg_reload_conf()'],
        { timeoutMs: 15_000, ...(signal ? { signal } : {}) },
      ).catch(() => undefined),
    ),
  );
  const pod = await storagePod(kube, t, items);
  const r = await kube.exec(
    t.namespace,
    pod,
    STORAGE_CONTAINER,
    ['sh', '/scripts/storage.sh', 'purge'],
    {
      timeoutMs: 600_000,
      ...(signal ? { signal } : {}),
    },
  );
  if (r.exitCode !== 0) {
    throw new ClusterFailureError(
      r.stderr.trim().split('\n').slice(-2).join('; ') || `exit ${r.exitCode}`,
    );
  }
}

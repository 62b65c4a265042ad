/**
 * A base backup as a Job (kpg backup): pg_basebackup in the official
 * postgres image writes one tar into a FIFO on a shared emptyDir, and the
 * storage image's uploader streams it to the cluster's archive, then writes
 * backup.info, which marks it complete. The Job runs on its own: kpg only
 * creates it and waits. Pure.
 */
import { archiveLocation, type ArchiveLocation } from '../backup/location.js';
import type { PostgresCluster } from '../manifest/types.js';
import { baseLabels, objectNames } from './labels.js';
import { PG_PORT, Paths } from './paths.js';
import { RESTRICTED_CONTAINER, secretEnv } from './statefulset.js';
import { StoragePaths, remoteEnv, remoteMounts, remoteVolumes, storageImage } from './storage.js';
import { TlsPaths, tlsEnabled, tlsSecretNames } from './tls.js';
import type { KubeObject } from './types.js';

type Obj = Record<string, unknown>;

/** On the Job and its pod: which backup, of which cluster. */
export const BACKUP_LABEL = 'kpg.io/backup';
export const BACKUP_CLUSTER_LABEL = 'kpg.io/cluster';
export const UPLOAD_CONTAINER = 'upload';

export interface BackupJobInput {
  /** Empty: the Job names the backup by its start time (scheduled backups). */
  id: string;
  /** The archive (the cluster's spec.archiver location). */
  archive: ArchiveLocation;
  /** The Service pg_basebackup connects to. */
  host: string;
}

/** The Job's name: NAME-backup-<id in lower case>, at most 63 characters. */
export const backupJobName = (cluster: string, id: string) =>
  `${cluster}-backup-${id.toLowerCase()}`.slice(0, 63);

/**
 * Labels of the Job's pod: never the cluster's selector (kubedb.com/name),
 * which would put the pod behind the cluster's Services and under its StatefulSet.
 */
export function backupLabels(c: PostgresCluster, id: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'postgres',
    'app.kubernetes.io/instance': c.name,
    'app.kubernetes.io/managed-by': 'kpg',
    'app.kubernetes.io/component': 'backup',
    [BACKUP_CLUSTER_LABEL]: c.name,
    [BACKUP_LABEL]: id.toLowerCase(),
  };
}

/** The pod both the Job of kpg backup and the CronJob of spec.backupSchedule run. */
function backupPod(
  c: PostgresCluster,
  ns: string,
  input: BackupJobInput,
  extra: { labels: Record<string, string>; annotations?: Record<string, string>; spec?: Obj },
): Obj {
  const tls = tlsEnabled(c);
  const work = { name: 'work', mountPath: StoragePaths.work };
  const scripts = { name: 'scripts', mountPath: Paths.scriptsDir, readOnly: true };
  const resources = extra.spec?.['resources'];
  const basebackup: Obj = {
    name: 'basebackup',
    image: c.image,
    command: ['bash', `${Paths.scriptsDir}/basebackup.sh`, ...(input.id ? [input.id] : [])],
    env: [
      ...secretEnv(c),
      { name: 'KPG_BACKUP_HOST', value: input.host },
      { name: 'KPG_CLUSTER', value: c.name },
      { name: 'POD_NAMESPACE', value: ns },
      { name: 'KPG_WORK', value: StoragePaths.work },
      { name: 'PGPORT', value: String(PG_PORT) },
      ...(tls
        ? [
            { name: 'PGSSLMODE', value: 'verify-full' },
            { name: 'PGSSLROOTCERT', value: `${TlsPaths.dir}/ca.crt` },
          ]
        : []),
    ],
    volumeMounts: [
      work,
      scripts,
      { name: 'tmp', mountPath: Paths.tmp },
      ...(tls ? [{ name: 'tls', mountPath: TlsPaths.dir, readOnly: true }] : []),
    ],
    ...(resources ? { resources } : {}),
    securityContext: RESTRICTED_CONTAINER,
  };
  const upload: Obj = {
    name: UPLOAD_CONTAINER,
    image: storageImage(c),
    command: [
      'sh',
      `${Paths.scriptsDir}/storage.sh`,
      'upload-base',
      ...(input.id ? [input.id] : []),
    ],
    env: [
      { name: 'KPG_WORK', value: StoragePaths.work },
      { name: 'KPG_SPOOL', value: StoragePaths.spool },
      ...remoteEnv('ARC', input.archive),
    ],
    volumeMounts: [
      work,
      scripts,
      { name: 'spool', mountPath: StoragePaths.spool },
      ...remoteMounts('ARC', input.archive),
    ],
    securityContext: RESTRICTED_CONTAINER,
  };
  const sched = (k: string) => extra.spec?.[k] ?? (c.podTemplate as unknown as Obj)[k];
  const spec: Obj = {
    restartPolicy: 'Never',
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: {
      runAsUser: 999,
      runAsGroup: 999,
      fsGroup: 999,
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    containers: [basebackup, upload],
    volumes: [
      { name: 'work', emptyDir: {} },
      { name: 'tmp', emptyDir: {} },
      { name: 'spool', emptyDir: {} },
      {
        name: 'scripts',
        configMap: {
          name: objectNames(c.name).config,
          defaultMode: 0o755,
          items: ['basebackup.sh', 'storage.sh'].map((k) => ({ key: k, path: k })),
        },
      },
      ...(tls
        ? [
            {
              name: 'tls',
              secret: {
                secretName: tlsSecretNames(c.name).server,
                items: [{ key: 'ca.crt', path: 'ca.crt' }],
                defaultMode: 0o444,
              },
            },
          ]
        : []),
      ...remoteVolumes('ARC', input.archive),
    ],
  };
  for (const k of [
    'nodeSelector',
    'tolerations',
    'affinity',
    'imagePullSecrets',
    'schedulerName',
    'priorityClassName',
  ]) {
    const v = sched(k);
    if (v !== undefined) spec[k] = v;
  }
  return {
    metadata: {
      labels: extra.labels,
      ...(extra.annotations && Object.keys(extra.annotations).length
        ? { annotations: extra.annotations }
        : {}),
    },
    spec,
  };
}

/** A failed backup is reported, not retried behind the user's back; finished Jobs go after a week. */
const JOB_SPEC = { backoffLimit: 0, ttlSecondsAfterFinished: 7 * 24 * 3600 } as const;

export function renderBackupJob(c: PostgresCluster, ns: string, input: BackupJobInput): KubeObject {
  const labels = backupLabels(c, input.id);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: backupJobName(c.name, input.id), namespace: ns, labels },
    spec: { ...JOB_SPEC, template: backupPod(c, ns, input, { labels }) },
  };
}

/** NAME-backup: spec.backupSchedule's CronJob, which runs without kpg. */
export const backupCronJobName = (cluster: string) => `${cluster}-backup`;

export function renderBackupCronJob(c: PostgresCluster, ns: string): KubeObject | undefined {
  const s = c.backupSchedule;
  if (!s) return undefined;
  const labels = backupLabels(c, 'scheduled');
  const archive = archiveLocation(s.storage, ns, c.name);
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: {
      name: backupCronJobName(c.name),
      namespace: ns,
      // The cluster's labels: kpg delete finds it with the cluster's other objects.
      labels: baseLabels(c),
      ...(Object.keys(s.jobAnnotations).length ? { annotations: s.jobAnnotations } : {}),
    },
    spec: {
      schedule: s.schedule,
      // One backup at a time; one missed by more than 5 minutes is skipped, not run late.
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: 300,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
      jobTemplate: {
        metadata: {
          labels,
          ...(Object.keys(s.jobAnnotations).length ? { annotations: s.jobAnnotations } : {}),
        },
        spec: {
          ...JOB_SPEC,
          template: backupPod(
            c,
            ns,
            { id: '', archive, host: objectNames(c.name).primaryService },
            { labels, annotations: s.podAnnotations, spec: s.podSpec },
          ),
        },
      },
    },
  };
}

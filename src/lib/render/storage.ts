/**
 * The storage sidecar: a container of the rclone project's own image beside
 * postgres in every pod of a cluster that archives (spec.archiver) or is
 * restored (spec.init.postgresWAL). The postgres image stays the official
 * one; its archive_command and restore_command (scripts/wal.sh) hand each
 * file to the sidecar (scripts/storage.sh) through a shared spool and wait
 * for its answer. Pure.
 */
import { archiveLocation, restoreLocation, type ArchiveLocation } from '../backup/location.js';
import type { PostgresCluster } from '../manifest/types.js';
import { Paths } from './paths.js';

type Obj = Record<string, unknown>;

export const STORAGE_CONTAINER = 'storage';
/** Overrides the sidecar's image (an rclone image: rclone and a POSIX sh). */
export const STORAGE_IMAGE_ANNOTATION = 'kpg.io/storage-image';
/** The rclone project's image, pinned: the release every backend below was written against. */
export const DEFAULT_STORAGE_IMAGE = 'rclone/rclone:1.60.1';

export const StoragePaths = {
  spool: '/spool',
  /** The backup Job's work directory (the FIFO and the facts of the backup). */
  work: '/work',
  secret: (r: Remote) => `/etc/kpg/storage/${r.toLowerCase()}`,
} as const;

/** ARC: the cluster's own archive; SRC: the archive it was restored from. */
export type Remote = 'ARC' | 'SRC';

export const storageEnabled = (
  c: Pick<PostgresCluster, 'archiver' | 'restore' | 'backupSchedule'>,
): boolean => c.archiver !== undefined || c.restore !== undefined || c.backupSchedule !== undefined;

/** Where base backups go: the archiver's storage, else the schedule's (the manifest checks they agree). */
export const backupStorage = (c: Pick<PostgresCluster, 'archiver' | 'backupSchedule'>) =>
  c.archiver?.storage ?? c.backupSchedule?.storage;

export const storageImage = (c: Pick<PostgresCluster, 'annotations'>): string =>
  c.annotations[STORAGE_IMAGE_ANNOTATION] ?? DEFAULT_STORAGE_IMAGE;

/** The archives a cluster's pods use, by remote. */
export function remotes(c: PostgresCluster, ns: string): [Remote, ArchiveLocation][] {
  const out: [Remote, ArchiveLocation][] = [];
  const backups = backupStorage(c);
  if (backups) out.push(['ARC', archiveLocation(backups, ns, c.name)]);
  if (c.restore) out.push(['SRC', restoreLocation(c.restore.storage)]);
  return out;
}

const volumeName = (r: Remote, what: 'secret' | 'local') => `${what}-${r.toLowerCase()}`;

/** KPG_<R>_*: what storage.sh configures rclone's remote R from. */
export function remoteEnv(r: Remote, l: ArchiveLocation): Obj[] {
  const b = l.backend;
  return [
    { name: `KPG_${r}_KIND`, value: b.kind },
    { name: `KPG_${r}_ROOT`, value: l.root },
    ...(b.endpoint ? [{ name: `KPG_${r}_ENDPOINT`, value: b.endpoint }] : []),
    ...(b.region ? [{ name: `KPG_${r}_REGION`, value: b.region }] : []),
    ...(b.secretName ? [{ name: `KPG_${r}_SECRET`, value: StoragePaths.secret(r) }] : []),
  ];
}

/** The credentials' Secret (read by storage.sh at every call) or the local volume. */
export function remoteVolumes(r: Remote, l: ArchiveLocation): Obj[] {
  const b = l.backend;
  if (b.kind === 'local' && b.local) return [{ name: volumeName(r, 'local'), ...b.local.volume }];
  if (!b.secretName) return [];
  // Group-readable: the pods run as the postgres group (fsGroup).
  return [
    { name: volumeName(r, 'secret'), secret: { secretName: b.secretName, defaultMode: 0o440 } },
  ];
}

export function remoteMounts(r: Remote, l: ArchiveLocation): Obj[] {
  const b = l.backend;
  if (b.kind === 'local' && b.local) {
    return [
      {
        name: volumeName(r, 'local'),
        mountPath: b.local.mountPath,
        ...(b.local.subPath ? { subPath: b.local.subPath } : {}),
        // A restore only reads its source.
        ...(r === 'SRC' ? { readOnly: true } : {}),
      },
    ];
  }
  if (!b.secretName) return [];
  return [{ name: volumeName(r, 'secret'), mountPath: StoragePaths.secret(r), readOnly: true }];
}

/** The pod's volumes for the sidecar: the spool and each remote's. */
export function storageVolumes(c: PostgresCluster, ns: string): Obj[] {
  if (!storageEnabled(c)) return [];
  return [
    { name: 'spool', emptyDir: {} },
    ...remotes(c, ns).flatMap(([r, l]) => remoteVolumes(r, l)),
  ];
}

/** The spool, in the postgres container. */
export function postgresStorageMounts(c: PostgresCluster): Obj[] {
  return storageEnabled(c) ? [{ name: 'spool', mountPath: StoragePaths.spool }] : [];
}

/** What start.sh restores to (spec.init.postgresWAL), and where the spool is. */
export function postgresStorageEnv(c: PostgresCluster): Obj[] {
  if (!storageEnabled(c)) return [];
  const out: Obj[] = [{ name: 'KPG_SPOOL', value: StoragePaths.spool }];
  const t = c.restore?.target;
  if (t) {
    out.push({ name: 'KPG_RESTORE', value: '1' });
    out.push({ name: 'KPG_RESTORE_TIMELINE', value: t.timeline });
    if (t.time) out.push({ name: 'KPG_RESTORE_TIME', value: t.time });
    if (t.xid) out.push({ name: 'KPG_RESTORE_XID', value: t.xid });
    out.push({ name: 'KPG_RESTORE_INCLUSIVE', value: t.inclusive ? 'on' : 'off' });
  }
  return out;
}

/** Names of the variables above: podTemplate env entries with them are dropped. */
export const STORAGE_ENV_NAMES = [
  'KPG_SPOOL',
  'KPG_RESTORE',
  'KPG_RESTORE_TIMELINE',
  'KPG_RESTORE_TIME',
  'KPG_RESTORE_XID',
  'KPG_RESTORE_INCLUSIVE',
];

/**
 * The sidecar, as a native sidecar (an init container that keeps running):
 * it is up before postgres starts (a restore needs it first) and stops after.
 * It writes PGDATA only for a restore (the base backup, fetched WAL).
 */
export function storageContainer(
  c: PostgresCluster,
  ns: string,
  securityContext: Obj,
): Obj | undefined {
  if (!storageEnabled(c)) return undefined;
  const rs = remotes(c, ns);
  return {
    name: STORAGE_CONTAINER,
    image: storageImage(c),
    restartPolicy: 'Always',
    command: ['sh', `${Paths.scriptsDir}/storage.sh`, 'serve'],
    env: [
      { name: 'KPG_SPOOL', value: StoragePaths.spool },
      { name: 'PGDATA', value: Paths.pgdata },
      ...rs.flatMap(([r, l]) => remoteEnv(r, l)),
    ],
    volumeMounts: [
      { name: 'spool', mountPath: StoragePaths.spool },
      { name: 'scripts', mountPath: Paths.scriptsDir, readOnly: true },
      { name: 'data', mountPath: Paths.dataMount, ...(c.restore ? {} : { readOnly: true }) },
      ...rs.flatMap(([r, l]) => remoteMounts(r, l)),
    ],
    resources: { requests: { cpu: '10m', memory: '32Mi' } },
    securityContext,
  };
}

/**
 * postgresql.conf lines: only the primary archives (archive_mode on, not
 * always); a segment switch at least every 5 minutes bounds how much a
 * quiet cluster can lose with its volumes (CloudNativePG's default).
 */
export function archiveConfLines(c: PostgresCluster): string[] {
  if (!c.archiver) return [];
  return [
    '# WAL archive (spec.archiver): wal.sh hands each segment to the storage sidecar',
    'archive_mode = on',
    `archive_command = 'bash ${Paths.scriptsDir}/wal.sh archive "%p" "%f"'`,
    'archive_timeout = 300',
    '',
  ];
}

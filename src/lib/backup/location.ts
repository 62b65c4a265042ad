/**
 * Where a cluster's archive lives inside its backend, as KubeDB lays it out:
 * `{bucket}/{prefix}/kubedb/{namespace}/{name}/archive/` for the archiver,
 * and exactly `{bucket}/{prefix}/` for a restore (spec.init.postgresWAL names
 * the archive directory itself, e.g. `kubedb/demo/wal-postgres/archive`).
 * Inside it: `wal/<segment>.gz` and `basebackups/<id>/` (base.tar, backup.info).
 */
import type { StorageBackend } from '../manifest/types.js';

export const WAL_DIR = 'wal';
export const BASE_DIR = 'basebackups';

/** Path of the archive for rclone: `bucket/dir` for object stores, a directory for local. */
export interface ArchiveLocation {
  backend: StorageBackend;
  /** No leading or trailing '/' for object stores; absolute for local. */
  root: string;
}

const join = (...parts: (string | undefined)[]) =>
  parts.filter((p): p is string => p !== undefined && p !== '').join('/');

/** The archiver's archive of cluster NAME in namespace NS. */
export function archiveLocation(b: StorageBackend, ns: string, name: string): ArchiveLocation {
  const tail = join('kubedb', ns, name, 'archive');
  if (b.kind === 'local') return { backend: b, root: join(b.local?.mountPath, tail) };
  return { backend: b, root: join(b.bucket, b.prefix, tail) };
}

/** The archive a new cluster is restored from. */
export function restoreLocation(b: StorageBackend): ArchiveLocation {
  if (b.kind === 'local') return { backend: b, root: b.local?.mountPath ?? '/' };
  return { backend: b, root: join(b.bucket, b.prefix) };
}

/** A human-readable name of the place, e.g. `s3://kubedb/kubedb/demo/pg/archive`. */
export function describeLocation(l: ArchiveLocation): string {
  if (l.backend.kind === 'local') {
    const claim = (
      l.backend.local?.volume['persistentVolumeClaim'] as { claimName?: string } | undefined
    )?.claimName;
    return `local:${l.root}${claim ? ` (claim ${claim}${l.backend.local?.subPath ? `, ${l.backend.local.subPath}` : ''})` : ''}`;
  }
  const scheme = { s3: 's3', gcs: 'gs', azure: 'azure', swift: 'swift' }[l.backend.kind];
  return `${scheme}://${l.root}${l.backend.endpoint ? ` at ${l.backend.endpoint}` : ''}`;
}

/** Same backend and same path (credentials aside). */
export function sameLocation(a: ArchiveLocation, b: ArchiveLocation): boolean {
  const key = (l: ArchiveLocation) =>
    JSON.stringify([
      l.backend.kind,
      l.backend.endpoint ?? '',
      l.root,
      l.backend.local?.volume ?? {},
    ]);
  return key(a) === key(b);
}

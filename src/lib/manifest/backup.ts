/**
 * spec.archiver and spec.init.postgresWAL: the schema checks each field; the
 * rules between fields (one backend, its credentials, one target) are here,
 * with the field each problem is about.
 */
import type { PathSegment } from './locate.js';
import { archiveLocation, restoreLocation, sameLocation } from '../backup/location.js';
import { ProblemCode, type Severity } from './problem.js';
import type { BackendKind, BackupScheduleSpec, RecoveryTarget, StorageBackend } from './types.js';

type Obj = Record<string, unknown>;

/** What the document checker offers: a problem at a path. */
export interface ProblemSink {
  add(
    severity: Severity,
    code: string,
    path: PathSegment[],
    message: string,
    at?: 'key' | 'value',
  ): void;
}

export const BACKEND_KINDS: readonly BackendKind[] = ['s3', 'gcs', 'azure', 'swift', 'local'];
/** Proven end to end against real servers on the local cluster; the others are rendered only. */
export const PROVEN_BACKENDS: readonly BackendKind[] = ['s3', 'local'];
const LOCAL_VOLUMES = ['persistentVolumeClaim', 'hostPath', 'nfs'] as const;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const trimSlashes = (s: string) => s.replace(/^\/+|\/+$/g, '');

/** An s3 endpoint as a URL: https:// unless the manifest says http://, no trailing '/'. */
export function endpointUrl(given: string): string {
  const bare = given.replace(/\/+$/, '');
  return /^https?:\/\//.test(bare) ? bare : `https://${bare}`;
}

/** One backend, or undefined after reporting why not. */
export function readBackend(
  given: Obj,
  path: PathSegment[],
  r: ProblemSink,
): StorageBackend | undefined {
  const kinds = BACKEND_KINDS.filter((k) => given[k] !== undefined);
  if (kinds.length === 0) {
    r.add(
      'error',
      ProblemCode.Required,
      path,
      'names no storage: give one of s3, gcs, azure, swift or local',
      'key',
    );
    return undefined;
  }
  if (kinds.length > 1) {
    r.add(
      'error',
      ProblemCode.Conflict,
      [...path, kinds[1]!],
      `is a second backend beside ${kinds[0]}: give one storage backend`,
      'key',
    );
    return undefined;
  }
  const kind = kinds[0]!;
  const body = isObj(given[kind]) ? given[kind] : {};
  const secretName = str(given.storageSecretName);
  if (kind === 'local') return readLocal(body, [...path, 'local'], r);
  if (!secretName) {
    r.add(
      'error',
      ProblemCode.Required,
      path,
      `missing required field "storageSecretName": the Secret with the ${kind} credentials`,
      'key',
    );
    return undefined;
  }
  if (!PROVEN_BACKENDS.includes(kind)) {
    r.add(
      'note',
      ProblemCode.Default,
      [...path, kind],
      `is rendered for rclone's ${kind} backend, but kpg's tests prove only s3 and local against real servers`,
      'key',
    );
  }
  const out: StorageBackend = { kind, secretName };
  const bucket = str(body.bucket) ?? str(body.container);
  if (bucket) out.bucket = bucket;
  const prefix = str(body.prefix);
  if (prefix && trimSlashes(prefix)) out.prefix = trimSlashes(prefix);
  const endpoint = str(body.endpoint);
  if (endpoint) out.endpoint = endpointUrl(endpoint);
  const region = str(body.region);
  if (region) out.region = region;
  return out;
}

function readLocal(body: Obj, path: PathSegment[], r: ProblemSink): StorageBackend | undefined {
  const sources = LOCAL_VOLUMES.filter((k) => body[k] !== undefined);
  if (sources.length !== 1) {
    r.add(
      'error',
      sources.length === 0 ? ProblemCode.Required : ProblemCode.Conflict,
      sources.length === 0 ? path : [...path, sources[1]!],
      sources.length === 0
        ? 'names no volume: give persistentVolumeClaim (claimName), hostPath or nfs'
        : `is a second volume beside ${sources[0]}: give one`,
      'key',
    );
    return undefined;
  }
  const src = sources[0]!;
  const local: NonNullable<StorageBackend['local']> = {
    mountPath: str(body.mountPath) ?? '/backup',
    volume: { [src]: body[src] },
  };
  const sub = str(body.subPath);
  if (sub && trimSlashes(sub)) local.subPath = trimSlashes(sub);
  return { kind: 'local', local };
}

function readTarget(
  pitr: unknown,
  path: PathSegment[],
  r: ProblemSink,
): RecoveryTarget | undefined {
  const p = isObj(pitr) ? pitr : {};
  const time = str(p.targetTime);
  const xid = str(p.targetXID);
  if (time !== undefined && xid !== undefined) {
    r.add(
      'error',
      ProblemCode.Conflict,
      [...path, 'targetXID'],
      'is a second target beside targetTime: give one',
      'key',
    );
    return undefined;
  }
  const t: RecoveryTarget = {
    timeline: str(p.targetTimeline) ?? 'latest',
    inclusive: typeof p.targetInclusive === 'boolean' ? p.targetInclusive : true,
  };
  if (time !== undefined) t.time = time;
  if (xid !== undefined) t.xid = xid;
  return t;
}

/** Five cron fields, a descriptor (@daily) or @every DURATION: what the CronJob controller parses. */
const CRON =
  /^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|@every ([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+|(\S+\s+){4}\S+)$/;

function readSchedule(given: Obj, r: ProblemSink): BackupScheduleSpec | undefined {
  const path = ['spec', 'backupSchedule'];
  const schedule = str(given.cronExpression)?.trim() ?? '';
  if (schedule && !CRON.test(schedule)) {
    r.add(
      'error',
      ProblemCode.Value,
      [...path, 'cronExpression'],
      `must be a cron schedule: five fields ("0 */6 * * *"), @hourly, @daily, or @every with a duration (@every 6h), not ${JSON.stringify(schedule)}`,
    );
    return undefined;
  }
  const storage = readBackend(given, path, r);
  if (!storage || !schedule) return undefined;
  if (given.podVolumeClaimSpec !== undefined) {
    r.add(
      'note',
      ProblemCode.Ignored,
      [...path, 'podVolumeClaimSpec'],
      'is not needed: kpg streams the backup to the storage, through no scratch volume',
      'key',
    );
  }
  const tpl = isObj(given.podTemplate) ? given.podTemplate : {};
  const strings = (v: unknown) =>
    Object.fromEntries(
      Object.entries(isObj(v) ? v : {}).filter(([, x]) => typeof x === 'string'),
    ) as Record<string, string>;
  return {
    schedule,
    storage,
    podAnnotations: strings(tpl.annotations),
    jobAnnotations: strings(isObj(tpl.controller) ? tpl.controller.annotations : undefined),
    podSpec: isObj(tpl.spec) ? tpl.spec : {},
  };
}

export interface BackupFields {
  archiver?: { storage: StorageBackend };
  backupSchedule?: BackupScheduleSpec;
  restore?: { storage: StorageBackend; target: RecoveryTarget };
}

/** spec.archiver and spec.init.postgresWAL of one document. */
export function readBackupFields(
  spec: Obj,
  r: ProblemSink,
  cluster: { name: string; namespace?: string },
): BackupFields {
  const out: BackupFields = {};
  const archiver = isObj(spec.archiver) ? spec.archiver : undefined;
  if (archiver && isObj(archiver.storage)) {
    const storage = readBackend(archiver.storage, ['spec', 'archiver', 'storage'], r);
    if (storage) out.archiver = { storage };
  }
  if (isObj(spec.backupSchedule)) {
    const s = readSchedule(spec.backupSchedule, r);
    if (s) out.backupSchedule = s;
  }
  const init = isObj(spec.init) ? spec.init : {};
  if (isObj(init.postgresWAL)) {
    const path = ['spec', 'init', 'postgresWAL'];
    const storage = readBackend(init.postgresWAL, path, r);
    const target = readTarget(init.postgresWAL.pitr, [...path, 'pitr'], r);
    if (storage && target) out.restore = { storage, target };
    if (init.scriptSource !== undefined) {
      r.add(
        'warning',
        ProblemCode.Ignored,
        ['spec', 'init', 'scriptSource'],
        'is not run: the cluster is restored from spec.init.postgresWAL, and init scripts run only after an initdb',
        'key',
      );
    }
  }
  if (
    out.archiver &&
    out.backupSchedule &&
    !sameLocation(
      archiveLocation(out.archiver.storage, 'ns', 'name'),
      archiveLocation(out.backupSchedule.storage, 'ns', 'name'),
    )
  ) {
    r.add(
      'error',
      ProblemCode.Conflict,
      ['spec', 'backupSchedule'],
      "names another storage than spec.archiver: kpg keeps the base backups beside the WAL they are restored with; give backupSchedule the archiver's storage",
      'key',
    );
    delete out.backupSchedule;
  }
  // Known only when the manifest names its namespace; kpg create checks again.
  if (
    out.archiver &&
    out.restore &&
    cluster.namespace !== undefined &&
    sameLocation(
      archiveLocation(out.archiver.storage, cluster.namespace, cluster.name),
      restoreLocation(out.restore.storage),
    )
  ) {
    r.add(
      'error',
      ProblemCode.Conflict,
      ['spec', 'archiver', 'storage'],
      'is the archive spec.init.postgresWAL restores from: the new cluster would write its own timeline into it; archive to another prefix or bucket',
      'key',
    );
    delete out.archiver;
  }
  return out;
}

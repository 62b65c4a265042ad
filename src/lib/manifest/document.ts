/**
 * One parsed document → problems and, when valid, a PostgresCluster with
 * defaults applied and deprecated fields mapped onto their replacements.
 */
import type { LineCounter } from 'yaml';
import { formatPath, locate, type PathSegment, scalarSource } from './locate.js';
import type { ParsedDocument } from './parse.js';
import { type Problem, ProblemCode, type Severity } from './problem.js';
import { readBackupFields } from './backup.js';
import { quantityValue } from './quantity.js';
import { schemaIssues } from './schema-errors.js';
import { closest } from './suggest.js';
import type {
  LeaderElectionSpec,
  PodTemplateSpec,
  PostgresCluster,
  ServiceTemplateSpec,
  StandbyMode,
  StorageSpec,
  StorageType,
  StreamingMode,
  TerminationPolicy,
} from './types.js';
import { validatePostgres } from './validator.js';
import { timingProblems, withDefaults } from '../ha/timing.js';
import { imageFor, parseVersion } from './version.js';

export const API_VERSION = 'kubedb.com/v1alpha1';
export const KIND = 'Postgres';
export const MAX_NAME_LENGTH = 52;
export const DEFAULT_STORAGE_SIZE = '1Gi';

/** Top-level spec fields of old KubeDB releases and where kpg puts them. */
export const DEPRECATED_POD_FIELDS = [
  'nodeSelector',
  'resources',
  'affinity',
  'schedulerName',
  'tolerations',
  'imagePullSecrets',
] as const;

const SERVER_SET_METADATA = [
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'selfLink',
  'managedFields',
  'finalizers',
];
const FORBIDDEN_ENV = new Set(['POSTGRES_USER', 'POSTGRES_PASSWORD']);

/**
 * Variables kpg's scripts set or read (and the shells' own start-up hooks):
 * a value from the manifest would silently override them, e.g. PGDATA moving
 * the data directory or BASH_ENV running a file before every script.
 */
const RESERVED_ENV =
  /^(KPG_.*|PG.*|POD_(NAME|NAMESPACE|IP|UID)|REPLICATION_(USER|PASSWORD)|BASH_ENV|ENV|SHELLOPTS|BASHOPTS|LD_PRELOAD|LD_LIBRARY_PATH)$/;

type Obj = Record<string, unknown>;

export interface DocumentResult {
  cluster?: PostgresCluster;
  problems: Problem[];
  name?: string;
  namespace?: string;
}

class Reporter {
  readonly problems: Problem[] = [];
  constructor(
    private readonly source: string,
    private readonly parsed: ParsedDocument,
    private readonly lineCounter: LineCounter,
  ) {}

  add(
    severity: Severity,
    code: string,
    path: PathSegment[],
    message: string,
    at: 'key' | 'value' = 'value',
  ): void {
    const pos = locate(this.parsed.doc, this.lineCounter, path, at);
    this.problems.push({
      source: this.source,
      ...pos,
      path: formatPath(path),
      message,
      severity,
      code,
    });
  }
  error(code: string, path: PathSegment[], message: string, at: 'key' | 'value' = 'value'): void {
    this.add('error', code, path, message, at);
  }
  get parsedDoc(): ParsedDocument['doc'] {
    return this.parsed.doc;
  }
  get failed(): boolean {
    return this.problems.some((p) => p.severity === 'error');
  }
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function obj(v: unknown): Obj {
  return isObj(v) ? v : {};
}
function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
function strMap(v: unknown): Record<string, string> {
  return isObj(v)
    ? (Object.fromEntries(Object.entries(v).filter(([, x]) => typeof x === 'string')) as Record<
        string,
        string
      >)
    : {};
}

/** apiVersion and kind first: a document of another kind is not checked further. */
function checkTypeMeta(doc: Obj, r: Reporter): boolean {
  const { apiVersion, kind } = doc;
  let ok = true;
  if (kind === undefined) {
    r.error(ProblemCode.Required, [], 'missing required field "kind" (kpg reads kind: Postgres)');
    ok = false;
  } else if (kind !== KIND) {
    const hint =
      typeof kind === 'string' && closest(kind, [KIND]) ? ' (did you mean "Postgres"?)' : '';
    r.error(
      ProblemCode.Kind,
      ['kind'],
      `kind ${JSON.stringify(kind)} is not supported: kpg reads only kind Postgres (apiVersion ${API_VERSION})${hint}`,
    );
    ok = false;
  }
  if (apiVersion === undefined) {
    r.error(
      ProblemCode.Required,
      [],
      `missing required field "apiVersion" (kpg reads apiVersion: ${API_VERSION})`,
    );
    ok = false;
  } else if (apiVersion !== API_VERSION && ok) {
    r.error(
      ProblemCode.ApiVersion,
      ['apiVersion'],
      `apiVersion ${JSON.stringify(apiVersion)} is not supported: kpg reads ${API_VERSION}`,
    );
    ok = false;
  }
  return ok;
}

function checkMetadata(doc: Obj, r: Reporter): void {
  const meta = obj(doc.metadata);
  const name = meta.name;
  if (
    typeof name === 'string' &&
    name.length > MAX_NAME_LENGTH &&
    name.length <= 63 &&
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)
  ) {
    r.error(
      ProblemCode.Value,
      ['metadata', 'name'],
      `must be at most ${MAX_NAME_LENGTH} characters long, not ${name.length}: the StatefulSet's pods carry the label ` +
        `controller-revision-hash=NAME-<10 characters>, which must fit in 63 characters`,
    );
  }
  for (const field of SERVER_SET_METADATA) {
    if (field in meta)
      r.add(
        'note',
        ProblemCode.Ignored,
        ['metadata', field],
        'is set by the API server; ignored',
        'key',
      );
  }
  if ('status' in doc)
    r.add(
      'note',
      ProblemCode.Ignored,
      ['status'],
      'is written by the cluster, not by you; ignored',
      'key',
    );
}

function checkVersion(spec: Obj, r: Reporter): { version: string; major: string } | undefined {
  const v = spec.version;
  if (v === undefined) return undefined; // the schema reports it missing
  if (typeof v !== 'string' && typeof v !== 'number') {
    r.error(ProblemCode.Type, ['spec', 'version'], 'must be a string such as "15" or "9.6-v1"');
    return undefined;
  }
  const text =
    typeof v === 'number' ? (scalarSource(r.parsedDoc, ['spec', 'version']) ?? String(v)) : v;
  const res = parseVersion(text);
  if (!res.ok) {
    r.error(ProblemCode.Version, ['spec', 'version'], res.message);
    return undefined;
  }
  return res;
}

function checkStandby(spec: Obj, r: Reporter): StandbyMode {
  const mode = str(spec.standbyMode)?.toLowerCase();
  const alias = str(spec.standby)?.toLowerCase();
  if (alias !== undefined) {
    if (mode !== undefined && mode !== alias) {
      r.error(
        ProblemCode.Conflict,
        ['spec', 'standby'],
        `says "${spec.standby as string}" but spec.standbyMode says "${spec.standbyMode as string}"; keep only standbyMode`,
        'key',
      );
    } else {
      r.add(
        'warning',
        ProblemCode.Deprecated,
        ['spec', 'standby'],
        'is the old name of spec.standbyMode; kpg reads it as standbyMode',
        'key',
      );
    }
  }
  return (mode ?? alias ?? 'warm') === 'hot' ? 'hot' : 'warm';
}

function checkStreaming(spec: Obj, replicas: number, r: Reporter): StreamingMode {
  const mode =
    str(spec.streamingMode)?.toLowerCase() === 'synchronous' ? 'synchronous' : 'asynchronous';
  if (mode === 'synchronous' && replicas === 1) {
    r.add(
      'warning',
      ProblemCode.Ignored,
      ['spec', 'streamingMode'],
      'synchronous has no effect with one replica: there is no standby to wait for',
    );
  }
  return mode;
}

function checkStorage(spec: Obj, r: Reporter): { storageType: StorageType; storage?: StorageSpec } {
  const storageType: StorageType = spec.storageType === 'Ephemeral' ? 'Ephemeral' : 'Durable';
  const given = spec.storage;
  if (storageType === 'Ephemeral') {
    if (given !== undefined) {
      r.error(
        ProblemCode.Conflict,
        ['spec', 'storage'],
        'must not be set when storageType is Ephemeral: Ephemeral pods keep their data in an emptyDir volume',
        'key',
      );
    } else {
      r.add(
        'note',
        ProblemCode.Default,
        ['spec', 'storageType'],
        'Ephemeral: data lives in emptyDir volumes and is lost with its pod; a restarted standby copies it again from the primary',
      );
    }
    return { storageType };
  }
  if (given === undefined) {
    r.add(
      'note',
      ProblemCode.Default,
      ['spec', 'storage'],
      `not set: each replica gets a ${DEFAULT_STORAGE_SIZE} volume from the cluster's default StorageClass`,
      'key',
    );
    return { storageType, storage: { accessModes: ['ReadWriteOnce'], size: DEFAULT_STORAGE_SIZE } };
  }
  const s = obj(given);
  const accessModes = Array.isArray(s.accessModes)
    ? s.accessModes.filter((m): m is string => typeof m === 'string')
    : ['ReadWriteOnce'];
  if (accessModes.length > 0 && accessModes.every((m) => m === 'ReadOnlyMany')) {
    r.error(
      ProblemCode.Value,
      ['spec', 'storage', 'accessModes'],
      'must allow writing (ReadWriteOnce, ReadWriteOncePod or ReadWriteMany): PostgreSQL writes to its volume',
    );
  }
  const sizePath = ['spec', 'storage', 'resources', 'requests', 'storage'];
  const raw = obj(obj(obj(s.resources).requests)).storage;
  let size = DEFAULT_STORAGE_SIZE;
  if (raw === undefined) {
    r.add(
      'note',
      ProblemCode.Default,
      ['spec', 'storage'],
      `has no resources.requests.storage: each replica gets ${DEFAULT_STORAGE_SIZE}`,
      'key',
    );
  } else if (typeof raw === 'string' || typeof raw === 'number') {
    size = String(raw);
    const bytes = quantityValue(raw);
    if (bytes !== undefined && bytes <= 0)
      r.error(ProblemCode.Value, sizePath, `must be more than zero, not ${size}`);
  }
  const storage: StorageSpec = { accessModes, size };
  if (typeof s.storageClassName === 'string') storage.storageClassName = s.storageClassName;
  return { storageType, storage };
}

/** spec.leaderElection: the schema checks each field; the order between them is checked here. */
function checkLeaderElection(spec: Obj, r: Reporter): LeaderElectionSpec {
  const given = obj(spec.leaderElection);
  const num = (k: string) => (typeof given[k] === 'number' ? (given[k] as number) : undefined);
  const le = withDefaults({
    leaseDurationSeconds: num('leaseDurationSeconds'),
    renewDeadlineSeconds: num('renewDeadlineSeconds'),
    retryPeriodSeconds: num('retryPeriodSeconds'),
    maximumLagBeforeFailover: num('maximumLagBeforeFailover'),
  });
  for (const p of timingProblems(le)) {
    // Point at the field the user wrote: the one named, else the other one of the pair.
    const field =
      p.field in given
        ? p.field
        : p.field === 'renewDeadlineSeconds'
          ? 'leaseDurationSeconds'
          : 'renewDeadlineSeconds';
    const path = field in given ? ['spec', 'leaderElection', field] : ['spec', 'leaderElection'];
    r.error(ProblemCode.Value, path, p.message, field in given ? 'value' : 'key');
  }
  return le;
}

/** kpg.io/agent: "true" or "false", nothing a reader would have to guess at. */
function checkAgent(meta: Obj, r: Reporter): void {
  const key = 'kpg.io/agent';
  const agent = obj(meta.annotations)[key];
  if (agent === undefined || agent === 'true' || agent === 'false') return;
  r.error(
    ProblemCode.Value,
    ['metadata', 'annotations', key],
    `must be "true" (the default: an agent in every pod fails over by itself) or "false" (failover only by kpg failover), not ${JSON.stringify(agent)}`,
  );
}

function checkDeprecatedPodFields(spec: Obj, r: Reporter): void {
  const podSpec = obj(obj(spec.podTemplate).spec);
  for (const f of DEPRECATED_POD_FIELDS) {
    if (spec[f] === undefined) continue;
    if (podSpec[f] !== undefined) {
      r.error(
        ProblemCode.Conflict,
        ['spec', f],
        `is also set as spec.podTemplate.spec.${f}; keep only that one`,
        'key',
      );
    } else {
      r.add(
        'warning',
        ProblemCode.Deprecated,
        ['spec', f],
        `is deprecated; kpg reads it as spec.podTemplate.spec.${f}`,
        'key',
      );
    }
  }
}

function checkTermination(spec: Obj, r: Reporter): TerminationPolicy {
  const policy = str(spec.terminationPolicy) as TerminationPolicy | undefined;
  const dnp = spec.doNotPause;
  if (dnp === true) {
    if (policy !== undefined && policy !== 'DoNotTerminate') {
      r.error(
        ProblemCode.Conflict,
        ['spec', 'doNotPause'],
        `true means terminationPolicy DoNotTerminate, but spec.terminationPolicy is ${policy}; keep only terminationPolicy`,
        'key',
      );
    } else {
      r.add(
        'warning',
        ProblemCode.Deprecated,
        ['spec', 'doNotPause'],
        'is deprecated; kpg reads doNotPause: true as terminationPolicy: DoNotTerminate',
        'key',
      );
    }
    return 'DoNotTerminate';
  }
  if (dnp === false)
    r.add(
      'warning',
      ProblemCode.Deprecated,
      ['spec', 'doNotPause'],
      'is deprecated and false changes nothing; use spec.terminationPolicy',
      'key',
    );
  return policy ?? 'Pause';
}

function checkEnv(spec: Obj, r: Reporter): void {
  const env = obj(obj(spec.podTemplate).spec).env;
  if (!Array.isArray(env)) return;
  env.forEach((e, i) => {
    const name = str(obj(e).name);
    if (name !== undefined && FORBIDDEN_ENV.has(name)) {
      r.error(
        ProblemCode.Value,
        ['spec', 'podTemplate', 'spec', 'env', i, 'name'],
        `must not be ${name}: set the superuser credentials with spec.databaseSecret.secretName`,
      );
    } else if (name !== undefined && RESERVED_ENV.test(name)) {
      r.error(
        ProblemCode.Value,
        ['spec', 'podTemplate', 'spec', 'env', i, 'name'],
        `must not be ${name}: kpg's start scripts set or read it themselves, and a value here would override them (KPG_*, PG*, POD_*, REPLICATION_*, BASH_ENV and the like are reserved)`,
      );
    }
  });
}

/** `labels` beside `metadata.labels` (the KubeDB examples write both forms): merged, but not contradicting. */
function mergeMeta(
  template: Obj,
  field: 'labels' | 'annotations',
  base: PathSegment[],
  r: Reporter,
): Record<string, string> {
  const top = strMap(template[field]);
  const meta = strMap(obj(template.metadata)[field]);
  for (const [k, v] of Object.entries(top)) {
    if (k in meta && meta[k] !== v) {
      r.error(
        ProblemCode.Conflict,
        [...base, field, k],
        `is "${v}" here but "${meta[k]}" in ${formatPath([...base, 'metadata', field, k])}`,
        'key',
      );
    }
  }
  return { ...top, ...meta };
}

function checkNotes(spec: Obj, r: Reporter): void {
  if (spec.monitor !== undefined) {
    r.add(
      'note',
      ProblemCode.Ignored,
      ['spec', 'monitor'],
      "is kept in the cluster's record, but kpg does not deploy a metrics exporter or Prometheus objects",
      'key',
    );
  }
  if (obj(obj(spec.serviceTemplate).spec).ports !== undefined) {
    r.add(
      'warning',
      ProblemCode.Ignored,
      ['spec', 'serviceTemplate', 'spec', 'ports'],
      "is ignored: kpg's Services always expose PostgreSQL on port 5432",
      'key',
    );
  }
}

/**
 * No memory request for the postgres container: the scheduler reserves
 * nothing for it, and under memory pressure the kubelet evicts such pods
 * first (BestEffort when nothing else in the pod requests anything). kpg does
 * not invent a size; it says so.
 */
function checkResources(spec: Obj, r: Reporter): void {
  const podSpec = obj(obj(spec.podTemplate).spec);
  const res = obj(podSpec.resources ?? spec.resources);
  if (obj(res.requests).memory !== undefined || obj(res.limits).memory !== undefined) return;
  const where =
    podSpec.resources !== undefined
      ? ['spec', 'podTemplate', 'spec', 'resources']
      : spec.resources !== undefined
        ? ['spec', 'resources']
        : spec.podTemplate !== undefined
          ? ['spec', 'podTemplate']
          : ['spec'];
  r.add(
    'warning',
    ProblemCode.Default,
    where,
    'sets no memory request for PostgreSQL: the scheduler reserves none, and the kubelet evicts such pods first when a node runs short of memory; set spec.podTemplate.spec.resources.requests (for example memory: 1Gi, cpu: 500m)',
    'key',
  );
}

function buildPodTemplate(spec: Obj, r: Reporter): PodTemplateSpec {
  const tpl = obj(spec.podTemplate);
  const podSpec = obj(tpl.spec);
  const pick = (f: string): unknown => podSpec[f] ?? spec[f];
  const out: PodTemplateSpec = {
    labels: mergeMeta(tpl, 'labels', ['spec', 'podTemplate'], r),
    annotations: mergeMeta(tpl, 'annotations', ['spec', 'podTemplate'], r),
  };
  const controller = obj(tpl.controller);
  if (tpl.controller !== undefined)
    out.controller = {
      labels: strMap(controller.labels),
      annotations: strMap(controller.annotations),
    };
  if (isObj(pick('resources'))) out.resources = pick('resources') as Obj;
  if (isObj(pick('nodeSelector'))) out.nodeSelector = strMap(pick('nodeSelector'));
  if (isObj(pick('affinity'))) out.affinity = pick('affinity') as Obj;
  if (Array.isArray(pick('tolerations'))) out.tolerations = pick('tolerations') as Obj[];
  if (Array.isArray(pick('imagePullSecrets')))
    out.imagePullSecrets = pick('imagePullSecrets') as { name: string }[];
  if (typeof pick('schedulerName') === 'string')
    out.schedulerName = pick('schedulerName') as string;
  if (Array.isArray(podSpec.env)) out.env = podSpec.env as Obj[];
  if (typeof podSpec.priorityClassName === 'string')
    out.priorityClassName = podSpec.priorityClassName;
  return out;
}

function buildServiceTemplate(spec: Obj, r: Reporter): ServiceTemplateSpec {
  const tpl = obj(spec.serviceTemplate);
  const type = str(obj(tpl.spec).type) as ServiceTemplateSpec['type'] | undefined;
  return {
    type: type ?? 'ClusterIP',
    labels: mergeMeta(tpl, 'labels', ['spec', 'serviceTemplate'], r),
    annotations: mergeMeta(tpl, 'annotations', ['spec', 'serviceTemplate'], r),
  };
}

function buildCluster(
  doc: Obj,
  r: Reporter,
  source: string,
  index: number,
): PostgresCluster | undefined {
  const meta = obj(doc.metadata);
  const spec = obj(doc.spec);
  const version = checkVersion(spec, r);
  const replicas = typeof spec.replicas === 'number' ? spec.replicas : 1;
  const standbyMode = checkStandby(spec, r);
  const streamingMode = checkStreaming(spec, replicas, r);
  const { storageType, storage } = checkStorage(spec, r);
  checkDeprecatedPodFields(spec, r);
  const terminationPolicy = checkTermination(spec, r);
  const leaderElection = checkLeaderElection(spec, r);
  checkAgent(meta, r);
  checkEnv(spec, r);
  checkNotes(spec, r);
  checkResources(spec, r);
  const podTemplate = buildPodTemplate(spec, r);
  const serviceTemplate = buildServiceTemplate(spec, r);
  const backup = readBackupFields(spec, r, {
    name: String(meta.name),
    namespace: str(meta.namespace),
  });
  if (r.failed || !version) return undefined;
  const cluster: PostgresCluster = {
    name: meta.name as string,
    labels: strMap(meta.labels),
    annotations: strMap(meta.annotations),
    version: version.version,
    major: version.major,
    image: imageFor(version.major),
    replicas,
    standbyMode,
    streamingMode,
    storageType,
    podTemplate,
    serviceTemplate,
    updateStrategy: {
      type: obj(spec.updateStrategy).type === 'OnDelete' ? 'OnDelete' : 'RollingUpdate',
    },
    terminationPolicy,
    leaderElection,
    raw: structuredClone(doc),
    from: { source, index },
  };
  if (typeof meta.namespace === 'string') cluster.namespace = meta.namespace;
  if (storage) cluster.storage = storage;
  const secretName = str(obj(spec.databaseSecret).secretName);
  if (secretName) cluster.databaseSecretName = secretName;
  const script = str(obj(obj(obj(spec.init).scriptSource).configMap).name);
  if (script) cluster.initScriptConfigMap = script;
  const config = str(obj(obj(spec.configSource).configMap).name);
  if (config) cluster.configConfigMap = config;
  if (isObj(spec.monitor)) cluster.monitor = spec.monitor;
  return { ...cluster, ...backup };
}

/** Validates one non-empty document whose YAML parsed cleanly. */
export function validateDocument(
  parsed: ParsedDocument,
  source: string,
  lineCounter: LineCounter,
): DocumentResult {
  const r = new Reporter(source, parsed, lineCounter);
  const value = parsed.value;
  if (!isObj(value)) {
    r.error(
      ProblemCode.NotAMapping,
      [],
      `a manifest must be a mapping with apiVersion, kind, metadata and spec, not ${Array.isArray(value) ? 'a list' : typeof value}`,
    );
    return { problems: r.problems };
  }
  const meta = obj(value.metadata);
  const ident = { name: str(meta.name), namespace: str(meta.namespace) };
  if (!checkTypeMeta(value, r)) return { problems: r.problems, ...ident };
  if (!validatePostgres(value)) {
    for (const issue of schemaIssues(validatePostgres.errors))
      r.error(issue.code, issue.path, issue.message, issue.at);
  }
  checkMetadata(value, r);
  const cluster = buildCluster(value, r, source, parsed.index);
  return { problems: r.problems, ...ident, ...(cluster ? { cluster } : {}) };
}

// apiVersion + kind → REST path. A built-in table covers the kinds kpg uses;
// anything else is looked up once per Kube through API discovery.
import { KubeUsageError, UnknownResourceError } from './errors.js';

export interface ResourceInfo {
  /** '' for the core group. */
  group: string;
  version: string;
  kind: string;
  /** Plural resource name used in URLs and RBAC, e.g. statefulsets. */
  plural: string;
  namespaced: boolean;
}

/** A kind: 'Pod', 'StatefulSet' (from the built-in table) or an explicit apiVersion + kind. */
export type KindRef = string | { apiVersion: string; kind: string };

type Row = [apiVersion: string, kind: string, plural: string, namespaced: boolean];

const TABLE: Row[] = [
  ['v1', 'Pod', 'pods', true],
  ['v1', 'Service', 'services', true],
  ['v1', 'Endpoints', 'endpoints', true],
  ['v1', 'ConfigMap', 'configmaps', true],
  ['v1', 'Secret', 'secrets', true],
  ['v1', 'ServiceAccount', 'serviceaccounts', true],
  ['v1', 'PersistentVolumeClaim', 'persistentvolumeclaims', true],
  ['v1', 'Event', 'events', true],
  ['v1', 'LimitRange', 'limitranges', true],
  ['v1', 'ResourceQuota', 'resourcequotas', true],
  ['v1', 'PersistentVolume', 'persistentvolumes', false],
  ['v1', 'Namespace', 'namespaces', false],
  ['v1', 'Node', 'nodes', false],
  ['apps/v1', 'StatefulSet', 'statefulsets', true],
  ['apps/v1', 'Deployment', 'deployments', true],
  ['apps/v1', 'ReplicaSet', 'replicasets', true],
  ['apps/v1', 'DaemonSet', 'daemonsets', true],
  ['apps/v1', 'ControllerRevision', 'controllerrevisions', true],
  ['policy/v1', 'PodDisruptionBudget', 'poddisruptionbudgets', true],
  ['rbac.authorization.k8s.io/v1', 'Role', 'roles', true],
  ['rbac.authorization.k8s.io/v1', 'RoleBinding', 'rolebindings', true],
  ['rbac.authorization.k8s.io/v1', 'ClusterRole', 'clusterroles', false],
  ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'clusterrolebindings', false],
  ['coordination.k8s.io/v1', 'Lease', 'leases', true],
  ['batch/v1', 'Job', 'jobs', true],
  ['batch/v1', 'CronJob', 'cronjobs', true],
  ['discovery.k8s.io/v1', 'EndpointSlice', 'endpointslices', true],
  ['networking.k8s.io/v1', 'NetworkPolicy', 'networkpolicies', true],
  ['storage.k8s.io/v1', 'StorageClass', 'storageclasses', false],
  ['authorization.k8s.io/v1', 'SelfSubjectAccessReview', 'selfsubjectaccessreviews', false],
];

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

function fromRow([apiVersion, kind, plural, namespaced]: Row): ResourceInfo {
  return { ...splitApiVersion(apiVersion), kind, plural, namespaced };
}

/** The built-in entry for a kind, or undefined. */
export function builtinResource(ref: KindRef): ResourceInfo | undefined {
  const row =
    typeof ref === 'string'
      ? TABLE.find((r) => r[1] === ref)
      : TABLE.find((r) => r[0] === ref.apiVersion && r[1] === ref.kind);
  return row ? fromRow(row) : undefined;
}

export function apiVersionOf(info: ResourceInfo): string {
  return info.group ? `${info.group}/${info.version}` : info.version;
}

/** Collection or object path: /apis/apps/v1/namespaces/demo/statefulsets/pg[/status]. */
export function resourcePath(
  info: ResourceInfo,
  namespace?: string,
  name?: string,
  subresource?: string,
): string {
  const root = info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`;
  const ns =
    info.namespaced && namespace
      ? `/namespaces/${encodeURIComponent(segment(namespace, 'namespace'))}`
      : '';
  const obj =
    name === undefined ? '' : `/${encodeURIComponent(segment(name, `${info.kind} name`))}`;
  const sub = subresource && name !== undefined ? `/${subresource}` : '';
  return `${root}${ns}/${info.plural}${obj}${sub}`;
}

/**
 * A path segment from a name. encodeURIComponent leaves `.` and `..` as they
 * are, and URL parsing then collapses them: `/namespaces/demo/pods/..` would
 * address the namespace itself. No Kubernetes object is named so.
 */
function segment(value: string, what: string): string {
  if (value === '' || value === '.' || value === '..') {
    throw new KubeUsageError(
      `refusing the ${what} ${JSON.stringify(value)}: it is not a Kubernetes name`,
    );
  }
  return value;
}

interface APIResourceList {
  resources?: { name: string; kind: string; namespaced: boolean }[];
}

/** Resolves kinds, caching discovery answers (one GET per group/version). */
export class ResourceMapper {
  private readonly cache = new Map<string, Promise<APIResourceList>>();

  constructor(private readonly discover: (path: string) => Promise<APIResourceList>) {}

  async resolve(ref: KindRef): Promise<ResourceInfo> {
    const known = builtinResource(ref);
    if (known) return known;
    if (typeof ref === 'string') {
      throw new KubeUsageError(
        `unknown kind ${ref}: pass { apiVersion, kind } for kinds outside the built-in table`,
      );
    }
    const { group, version } = splitApiVersion(ref.apiVersion);
    const path = group ? `/apis/${group}/${version}` : `/api/${version}`;
    let list = this.cache.get(path);
    if (!list) {
      list = this.discover(path);
      this.cache.set(path, list);
      list.catch(() => this.cache.delete(path));
    }
    const found = (await list).resources?.find((r) => r.kind === ref.kind && !r.name.includes('/'));
    if (!found) {
      throw new UnknownResourceError(
        `the API server does not serve kind ${ref.kind} in ${ref.apiVersion}`,
        {
          status: 404,
          hint: 'is the CRD or API group installed on this cluster?',
        },
      );
    }
    return { group, version, kind: ref.kind, plural: found.name, namespaced: found.namespaced };
  }
}

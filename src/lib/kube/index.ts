// Public surface of the Kubernetes client. Commands import from here only.
export { createKube, Kube, jsonEqual, type KubeOptions } from './client.js';
export { loadKubeconfig, type KubeconfigOptions, type LoadedKubeconfig } from './config.js';
export * from './errors.js';
export { resourceName, type RequestTarget } from './failures.js';
export { leaseExpiry, microTime } from './lease.js';
export {
  apiVersionOf,
  builtinResource,
  resourcePath,
  type KindRef,
  type ResourceInfo,
} from './resources.js';
export {
  DEFAULT_RETRY,
  systemClock,
  type Clock,
  type KubeRequest,
  type RetryPolicy,
} from './transport.js';
export type * from './types.js';
export type { Selector } from './watch.js';

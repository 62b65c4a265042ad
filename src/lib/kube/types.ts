// Shapes shared by the kube modules. Objects are the API's raw JSON: timestamps
// are RFC 3339 strings (client-node's V1* types say Date; they are not here).

/** The metadata fields the client reads; any client-node V1ObjectMeta fits. */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** Any Kubernetes object (V1Pod, V1StatefulSet, a plain literal...). */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

export interface ListOptions {
  /** Defaults to the Kube's namespace; ignored for cluster-scoped kinds. */
  namespace?: string;
  /** List across all namespaces. */
  allNamespaces?: boolean;
  labelSelector?: string;
  fieldSelector?: string;
  /** Page size (the whole list is always fetched). Default 500. */
  pageSize?: number;
  signal?: AbortSignal;
}

export interface ListResult<T> {
  items: T[];
  /** The list's resourceVersion, to start a watch from. */
  resourceVersion: string;
}

export interface ApplyOptions {
  /** 'server': validate and default on the server, persist nothing. */
  dryRun?: 'server';
  /** Take ownership of fields another manager owns (SSA force). */
  force?: boolean;
  /** Apply to a subresource, e.g. 'status'. */
  subresource?: string;
  signal?: AbortSignal;
}

export interface CreateOptions {
  dryRun?: 'server';
  signal?: AbortSignal;
}

export type PropagationPolicy = 'Foreground' | 'Background' | 'Orphan';

export interface DeleteOptions {
  propagationPolicy?: PropagationPolicy;
  gracePeriodSeconds?: number;
  /** Delete only if the object still has this uid (not a re-created namesake). */
  uid?: string;
  /** Delete only if the object is still at this resourceVersion. */
  resourceVersion?: string;
  dryRun?: 'server';
  signal?: AbortSignal;
}

export interface DeleteResult {
  /** false when the object was already gone (404 counts as done). */
  deleted: boolean;
}

export type PatchType = 'merge' | 'json' | 'strategic';

export interface PatchOptions {
  /** Default 'merge'. */
  type?: PatchType;
  subresource?: string;
  dryRun?: 'server';
  signal?: AbortSignal;
}

export interface MutateOptions {
  /** Attempts on 409 Conflict before giving up. Default 5. */
  maxAttempts?: number;
  /** Update a subresource, e.g. 'status'. */
  subresource?: string;
  signal?: AbortSignal;
}

export interface MutateResult<T> {
  object: T;
  /** false when the mutation changed nothing (no write was made). */
  changed: boolean;
  attempts: number;
}

export interface LogOptions {
  tailLines?: number;
  previous?: boolean;
  sinceSeconds?: number;
  timestamps?: boolean;
  limitBytes?: number;
  signal?: AbortSignal;
}

export interface AccessCheck {
  verb: string;
  /** '' for the core group. */
  group: string;
  resource: string;
  subresource?: string;
  name?: string;
}

export interface AccessDenial extends AccessCheck {
  /** The authorizer's reason, when it gave one. */
  reason?: string;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export type WatchEvent<T> =
  /** A (re-)list: the complete current state; replaces whatever came before. */
  { type: 'LIST'; items: T[]; resourceVersion: string } | { type: WatchEventType; object: T };

export interface WatchOptions extends Omit<ListOptions, 'signal'> {
  /** Stops the watch; the watch() promise then resolves. */
  signal: AbortSignal;
  /** Server-side timeout of each watch request before it is renewed. Default 300. */
  timeoutSeconds?: number;
}

export interface WaitOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Poll interval used when watching is not allowed. Default 1000. */
  pollIntervalMs?: number;
  /** Describes the wait in the timeout message, e.g. "pod pg-0 to be Ready". */
  description?: string;
}

export interface ExecOptions {
  stdin?: string | Buffer;
  /** Also return stdout as bytes (stdoutBytes), for binary output. */
  binary?: boolean;
  /** Kills the stream after this long. Default 60000. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface ExecResult {
  stdout: string;
  /** stdout as received, when asked for with `binary`. */
  stdoutBytes?: Buffer;
  stderr: string;
  exitCode: number;
}

export interface PortForwardHandle {
  /** The local port on 127.0.0.1. */
  localPort: number;
  address: '127.0.0.1';
  /** Errors met by forwarded connections (each also closes its connection). */
  errors: Error[];
  /** Closes the connections forwarded to `pod`; how many. */
  drop(pod: string): number;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface LeaseObject extends KubeObject {
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export type LeaseResult =
  | { acquired: true; lease: LeaseObject }
  | { acquired: false; holder: string; expiresAt: Date; lease: LeaseObject };

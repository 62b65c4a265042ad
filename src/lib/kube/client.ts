// Kube: the context object every command gets (never a module-level singleton).
// All requests go through one Transport (retries, deadline, error mapping).
import type { KubeConfig } from '@kubernetes/client-node';
import {
  type ClientNode,
  loadClientNode,
  loadKubeconfigWith,
  type KubeconfigOptions,
  type LoadedKubeconfig,
} from './config.js';
import {
  ConflictError,
  GoneError,
  KubeUsageError,
  NotFoundError,
  UnknownResourceError,
} from './errors.js';
import type { IncomingMessage } from 'node:http';
import { execAttached, type AttachedIo } from './exec-attached.js';
import { execInPod, portForwardToPod } from './exec.js';
import type { RequestTarget } from './failures.js';
import { acquireLease, releaseLease, renewLease, type AcquireOptions } from './lease.js';
import { ResourceMapper, resourcePath, type KindRef, type ResourceInfo } from './resources.js';
import { Transport, type Clock, type KubeRequest, type RetryPolicy } from './transport.js';
import type {
  AccessCheck,
  AccessDenial,
  ApplyOptions,
  CreateOptions,
  DeleteOptions,
  DeleteResult,
  ExecOptions,
  ExecResult,
  KubeObject,
  LeaseResult,
  ListOptions,
  ListResult,
  LogOptions,
  MutateOptions,
  MutateResult,
  PatchOptions,
  PortForwardHandle,
  WaitOptions,
  WatchEvent,
  WatchOptions,
} from './types.js';
import { waitForObject, waitForSelector, watchResource, type Selector } from './watch.js';

export interface KubeOptions extends KubeconfigOptions {
  retry?: Partial<RetryPolicy>;
  clock?: Clock;
  /** Server-side apply field manager. Default 'kpg'. */
  fieldManager?: string;
  userAgent?: string;
}

/** Loads the kubeconfig (see config.ts for the precedence) and returns a Kube. */
export async function createKube(opts: KubeOptions = {}): Promise<Kube> {
  const k8s = await loadClientNode();
  return new Kube(k8s, loadKubeconfigWith(k8s, opts), opts);
}

const PATCH_TYPES = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
} as const;

export class Kube {
  /** The default namespace: --namespace, else the context's, else 'default'. */
  readonly namespace: string;
  readonly contextName: string;
  /** The API server URL of the context. */
  readonly server: string;
  readonly fieldManager: string;
  /** The files the kubeconfig was merged from, or ['in-cluster']. */
  readonly sources: string[];
  readonly transport: Transport;
  /** The selected, merged kubeconfig (for client-node helpers). */
  readonly kubeConfig: KubeConfig;
  readonly clientNode: ClientNode;
  private readonly mapper: ResourceMapper;

  constructor(k8s: ClientNode, loaded: LoadedKubeconfig, opts: KubeOptions = {}) {
    this.clientNode = k8s;
    this.kubeConfig = loaded.kc;
    this.namespace = loaded.namespace;
    this.contextName = loaded.contextName;
    this.server = loaded.server;
    this.sources = loaded.sources;
    this.fieldManager = opts.fieldManager ?? 'kpg';
    this.transport = new Transport(loaded.kc, {
      ctx: { contextName: loaded.contextName, server: loaded.server },
      policy: opts.retry,
      clock: opts.clock,
      userAgent: opts.userAgent,
    });
    this.mapper = new ResourceMapper((path) =>
      this.transport.json({
        method: 'GET',
        path,
        target: { verb: 'get', resource: `discovery ${path}` },
      }),
    );
  }

  get clock(): Clock {
    return this.transport.clock;
  }

  /** REST mapping of a kind (built-in table, else discovery). */
  resolve(kind: KindRef): Promise<ResourceInfo> {
    return this.mapper.resolve(kind);
  }

  /** The namespace a request for this kind goes to (undefined for cluster-scoped kinds). */
  nsFor(info: ResourceInfo, ns: string | undefined): string | undefined {
    return info.namespaced ? ns || this.namespace : undefined;
  }

  /** Describes a request for error messages. */
  target(
    info: ResourceInfo,
    verb: string,
    at: { ns?: string; name?: string; subresource?: string } = {},
  ): RequestTarget {
    return {
      verb,
      resource: info.plural,
      group: info.group,
      namespace: at.ns,
      name: at.name,
      subresource: at.subresource,
    };
  }

  /** Server-side apply (PATCH application/apply-patch+yaml, fieldManager, fieldValidation=Strict). */
  async apply<T extends KubeObject>(obj: T, opts: ApplyOptions = {}): Promise<T> {
    const { info, ns, name } = await this.locate(obj, 'apply');
    const body = info.namespaced ? { ...obj, metadata: { ...obj.metadata, namespace: ns } } : obj;
    return this.transport.json<T>({
      method: 'PATCH',
      path: resourcePath(info, ns, name, opts.subresource),
      query: {
        fieldManager: this.fieldManager,
        fieldValidation: 'Strict',
        force: opts.force ? true : undefined,
        dryRun: opts.dryRun ? 'All' : undefined,
      },
      body,
      contentType: 'application/apply-patch+yaml',
      // Applying the same configuration twice gives the same result.
      idempotent: true,
      target: this.target(info, 'patch', { ns, name, subresource: opts.subresource }),
      signal: opts.signal,
    });
  }

  async get<T extends KubeObject = KubeObject>(
    kind: KindRef,
    ns: string | undefined,
    name: string,
    signal?: AbortSignal,
  ): Promise<T> {
    const info = await this.resolve(kind);
    const n = this.nsFor(info, ns);
    return this.transport.json<T>({
      method: 'GET',
      path: resourcePath(info, n, name),
      target: this.target(info, 'get', { ns: n, name }),
      signal,
    });
  }

  /** Like get, but undefined when the object does not exist. */
  async find<T extends KubeObject = KubeObject>(
    kind: KindRef,
    ns: string | undefined,
    name: string,
    signal?: AbortSignal,
  ): Promise<T | undefined> {
    try {
      return await this.get<T>(kind, ns, name, signal);
    } catch (err) {
      if (err instanceof NotFoundError && !(err instanceof UnknownResourceError)) return undefined;
      throw err;
    }
  }

  /** Lists every page; label/field selectors; one namespace or all. */
  async list<T extends KubeObject = KubeObject>(
    kind: KindRef,
    opts: ListOptions = {},
  ): Promise<ListResult<T>> {
    const info = await this.resolve(kind);
    const ns = opts.allNamespaces ? undefined : this.nsFor(info, opts.namespace);
    for (let restart = 0; ; restart++) {
      try {
        return await this.listPages<T>(info, ns, opts);
      } catch (err) {
        // The continue token expired between pages: start again (twice at most).
        if (!(err instanceof GoneError) || restart >= 2) throw err;
      }
    }
  }

  private async listPages<T>(
    info: ResourceInfo,
    ns: string | undefined,
    opts: ListOptions,
  ): Promise<ListResult<T>> {
    const items: T[] = [];
    let cont: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.transport.json<{
        items?: T[];
        metadata?: { continue?: string; resourceVersion?: string };
      }>({
        method: 'GET',
        path: resourcePath(info, ns),
        query: {
          labelSelector: opts.labelSelector,
          fieldSelector: opts.fieldSelector,
          limit: opts.pageSize ?? 500,
          continue: cont,
        },
        target: this.target(info, 'list', { ns }),
        signal: opts.signal,
      });
      items.push(...(page.items ?? []));
      cont = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
    } while (cont);
    return { items, resourceVersion };
  }

  /** Deletes; a 404 is success ({ deleted: false }). */
  async delete(
    kind: KindRef,
    ns: string | undefined,
    name: string,
    opts: DeleteOptions = {},
  ): Promise<DeleteResult> {
    const info = await this.resolve(kind);
    const n = this.nsFor(info, ns);
    const preconditions =
      opts.uid || opts.resourceVersion
        ? { uid: opts.uid, resourceVersion: opts.resourceVersion }
        : undefined;
    try {
      await this.transport.request({
        method: 'DELETE',
        path: resourcePath(info, n, name),
        body: {
          apiVersion: 'v1',
          kind: 'DeleteOptions',
          propagationPolicy: opts.propagationPolicy,
          gracePeriodSeconds: opts.gracePeriodSeconds,
          preconditions,
          dryRun: opts.dryRun ? ['All'] : undefined,
        },
        target: this.target(info, 'delete', { ns: n, name }),
        signal: opts.signal,
      });
      return { deleted: true };
    } catch (err) {
      if (err instanceof NotFoundError && !(err instanceof UnknownResourceError))
        return { deleted: false };
      throw err;
    }
  }

  /** PATCH with a merge (default), JSON or strategic-merge patch. */
  // eslint-disable-next-line max-params -- kubectl-shaped: kind/namespace/name, then the payload and options
  async patch<T extends KubeObject = KubeObject>(
    kind: KindRef,
    ns: string | undefined,
    name: string,
    patch: unknown,
    opts: PatchOptions = {},
  ): Promise<T> {
    const info = await this.resolve(kind);
    const n = this.nsFor(info, ns);
    const type = opts.type ?? 'merge';
    return this.transport.json<T>({
      method: 'PATCH',
      path: resourcePath(info, n, name, opts.subresource),
      query: { fieldManager: this.fieldManager, dryRun: opts.dryRun ? 'All' : undefined },
      body: patch,
      contentType: PATCH_TYPES[type],
      // A merge patch sets values: sending it twice is harmless. A JSON patch may append.
      idempotent: type !== 'json',
      target: this.target(info, 'patch', { ns: n, name, subresource: opts.subresource }),
      signal: opts.signal,
    });
  }

  /** POST; an existing name raises AlreadyExistsError. Not retried unless the server surely did not see it. */
  async create<T extends KubeObject>(obj: T, opts: CreateOptions = {}): Promise<T> {
    const { info, ns, name } = await this.locate(obj, 'create', true);
    const body = info.namespaced ? { ...obj, metadata: { ...obj.metadata, namespace: ns } } : obj;
    return this.transport.json<T>({
      method: 'POST',
      path: resourcePath(info, ns),
      query: { fieldManager: this.fieldManager, dryRun: opts.dryRun ? 'All' : undefined },
      body,
      idempotent: false,
      target: this.target(info, 'create', { ns, name }),
      signal: opts.signal,
    });
  }

  /** PUT (update). With metadata.resourceVersion set, a stale object raises ConflictError. */
  async replace<T extends KubeObject>(
    obj: T,
    opts: { subresource?: string; signal?: AbortSignal } = {},
  ): Promise<T> {
    const { info, ns, name } = await this.locate(obj, 'update');
    return this.transport.json<T>({
      method: 'PUT',
      path: resourcePath(info, ns, name, opts.subresource),
      query: { fieldManager: this.fieldManager },
      body: obj,
      target: this.target(info, 'update', { ns, name, subresource: opts.subresource }),
      signal: opts.signal,
    });
  }

  /**
   * get → fn (a pure mutation of a copy; return the new object or mutate in place)
   * → skip if unchanged → PUT with the read resourceVersion; retried on 409 Conflict.
   */
  // eslint-disable-next-line max-params -- kubectl-shaped: kind/namespace/name, then the payload and options
  async mutate<T extends KubeObject = KubeObject>(
    kind: KindRef,
    ns: string | undefined,
    name: string,
    fn: (current: T) => T | void,
    opts: MutateOptions = {},
  ): Promise<MutateResult<T>> {
    const max = opts.maxAttempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      const current = await this.get<T>(kind, ns, name, opts.signal);
      const draft = structuredClone(current);
      const next = fn(draft) ?? draft;
      if (jsonEqual(next, current)) return { object: current, changed: false, attempts: attempt };
      const body = {
        ...next,
        metadata: { ...next.metadata, resourceVersion: current.metadata?.resourceVersion },
      };
      try {
        const object = await this.replace(body, {
          subresource: opts.subresource,
          signal: opts.signal,
        });
        return { object, changed: true, attempts: attempt };
      } catch (err) {
        if (!(err instanceof ConflictError) || attempt >= max) throw err;
        await this.clock.sleep(20 * attempt + this.clock.random() * 50 * attempt, opts.signal);
      }
    }
  }

  /** Watches a collection: LIST first (and again after 410 Gone), then ADDED/MODIFIED/DELETED. */
  watch<T extends KubeObject = KubeObject>(
    kind: KindRef,
    opts: WatchOptions,
    onEvent: (event: WatchEvent<T>) => void | Promise<void>,
  ): Promise<void> {
    return watchResource(this, kind, opts, onEvent);
  }

  /**
   * Waits until predicate holds. With a name, the predicate sees the object (undefined
   * while it does not exist); with a selector, it sees the matching objects.
   */
  waitFor<T extends KubeObject = KubeObject>(
    kind: KindRef,
    ns: string | undefined,
    name: string,
    predicate: (obj: T | undefined) => boolean,
    opts: WaitOptions,
  ): Promise<T | undefined>;
  waitFor<T extends KubeObject = KubeObject>(
    kind: KindRef,
    ns: string | undefined,
    selector: Selector,
    predicate: (items: T[]) => boolean,
    opts: WaitOptions,
  ): Promise<T[]>;
  // eslint-disable-next-line max-params -- kubectl-shaped: kind/namespace/name, then the predicate and options
  waitFor<T extends KubeObject = KubeObject>(
    kind: KindRef,
    ns: string | undefined,
    target: string | Selector,
    predicate: ((obj: T | undefined) => boolean) | ((items: T[]) => boolean),
    opts: WaitOptions,
  ): Promise<T | undefined | T[]> {
    if (typeof target === 'string') {
      return waitForObject(
        this,
        { kind, ns, name: target },
        predicate as (obj: T | undefined) => boolean,
        opts,
      );
    }
    return waitForSelector(
      this,
      { kind, ns, selector: target },
      predicate as (items: T[]) => boolean,
      opts,
    );
  }

  /** The API server's build (GET /version). */
  async serverVersion(): Promise<{ gitVersion: string; platform?: string }> {
    return this.transport.json<{ gitVersion: string; platform?: string }>({
      method: 'GET',
      path: '/version',
      target: { verb: 'get', resource: 'version' },
    });
  }

  /** Container logs as text. */
  async logs(
    ns: string | undefined,
    pod: string,
    container?: string,
    opts: LogOptions = {},
  ): Promise<string> {
    const n = ns || this.namespace;
    const res = await this.transport.request({
      method: 'GET',
      path: `/api/v1/namespaces/${encodeURIComponent(n)}/pods/${encodeURIComponent(pod)}/log`,
      query: {
        container,
        tailLines: opts.tailLines,
        previous: opts.previous || undefined,
        sinceSeconds: opts.sinceSeconds,
        timestamps: opts.timestamps || undefined,
        limitBytes: opts.limitBytes,
      },
      accept: '*/*',
      target: { verb: 'get', resource: 'pods', subresource: 'log', namespace: n, name: pod },
      signal: opts.signal,
    });
    return res.text;
  }

  /** Runs a command in a container through the API (websocket), collecting its output and exit code. */
  // eslint-disable-next-line max-params -- kubectl-shaped: kind/namespace/name, then the payload and options
  exec(
    ns: string | undefined,
    pod: string,
    container: string,
    command: string[],
    opts: ExecOptions = {},
  ): Promise<ExecResult> {
    return execInPod(this, { namespace: ns || this.namespace, pod, container, command }, opts);
  }

  /**
   * A container's log as a stream, followed as it grows (`kubectl logs -f`);
   * destroy it to stop. sinceTime: RFC 3339, whole seconds on the server.
   */
  followLogs(
    ns: string | undefined,
    pod: string,
    container: string,
    opts: { sinceTime?: string; tailLines?: number; timestamps?: boolean } = {},
  ): Promise<IncomingMessage> {
    const n = ns || this.namespace;
    return this.transport.stream({
      method: 'GET',
      path: `/api/v1/namespaces/${encodeURIComponent(n)}/pods/${encodeURIComponent(pod)}/log`,
      query: {
        container,
        follow: true,
        sinceTime: opts.sinceTime,
        tailLines: opts.tailLines,
        timestamps: opts.timestamps || undefined,
      },
      accept: '*/*',
      target: { verb: 'get', resource: 'pods', subresource: 'log', namespace: n, name: pod },
    });
  }

  /** Runs a command with the caller's streams attached (`kubectl exec -i [-t]`); resolves to its exit code. */
  // eslint-disable-next-line max-params -- as exec above
  execAttached(
    ns: string | undefined,
    pod: string,
    container: string,
    command: string[],
    io: AttachedIo,
  ): Promise<number> {
    return execAttached(this, { namespace: ns || this.namespace, pod, container, command }, io);
  }

  /** Forwards a local 127.0.0.1 port (localPort, 0 = any free one) to a pod port (`pod`: or the one a function names at each connection). */
  portForward(
    ns: string | undefined,
    pod: string | (() => Promise<string>),
    port: number,
    localPort = 0,
  ): Promise<PortForwardHandle> {
    return portForwardToPod(this, { namespace: ns || this.namespace, pod, port, localPort });
  }

  /** Which of the checks this user may NOT do (SelfSubjectAccessReview); empty means all allowed. */
  async checkAccess(
    ns: string | undefined,
    checks: AccessCheck[],
    signal?: AbortSignal,
  ): Promise<AccessDenial[]> {
    const n = ns || this.namespace;
    const results = await Promise.all(
      checks.map(async (c) => {
        const review = await this.transport.json<{
          status?: { allowed?: boolean; reason?: string; evaluationError?: string };
        }>({
          method: 'POST',
          path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SelfSubjectAccessReview',
            spec: { resourceAttributes: { namespace: n, ...c } },
          },
          // A review has no side effects.
          idempotent: true,
          target: {
            verb: 'create',
            resource: 'selfsubjectaccessreviews',
            group: 'authorization.k8s.io',
          },
          signal,
        });
        const st = review.status ?? {};
        if (st.allowed) return undefined;
        const reason = st.reason || st.evaluationError;
        const denial: AccessDenial = reason ? { ...c, reason } : { ...c };
        return denial;
      }),
    );
    return results.filter((r): r is AccessDenial => r !== undefined);
  }

  /**
   * Takes the Lease if released, already ours, or still at
   * `opts.expiredVersion` (a version the caller saw unchanged for a whole
   * lease duration); otherwise reports the holder.
   */
  acquireLease(
    ns: string | undefined,
    name: string,
    holder: string,
    ttlSeconds: number,
    opts?: AcquireOptions,
  ): Promise<LeaseResult> {
    return acquireLease(this, { ns: ns || this.namespace, name, holder }, ttlSeconds, opts);
  }

  /** Extends our Lease; LeaseHeldError if someone else holds it now. */
  renewLease(
    ns: string | undefined,
    name: string,
    holder: string,
    ttlSeconds?: number,
  ): Promise<LeaseResult> {
    return renewLease(this, { ns: ns || this.namespace, name, holder }, ttlSeconds);
  }

  /** Gives the Lease up if we hold it; returns false when it was not ours (or is gone). */
  releaseLease(ns: string | undefined, name: string, holder: string): Promise<boolean> {
    return releaseLease(this, { ns: ns || this.namespace, name, holder });
  }

  /** Low-level escape hatch: one request through the retrying transport. */
  request<T>(req: KubeRequest): Promise<T> {
    return this.transport.json<T>(req);
  }

  private async locate(
    obj: KubeObject,
    what: string,
    allowGenerateName = false,
  ): Promise<{ info: ResourceInfo; ns: string | undefined; name: string | undefined }> {
    const name = obj.metadata?.name;
    const generated = allowGenerateName && obj.metadata?.generateName;
    if (!obj.apiVersion || !obj.kind || (!name && !generated)) {
      throw new KubeUsageError(`${what} needs apiVersion, kind and metadata.name`);
    }
    const info = await this.resolve({ apiVersion: obj.apiVersion, kind: obj.kind });
    return { info, ns: this.nsFor(info, obj.metadata?.namespace), name };
  }
}

/** Deep equality of JSON-like values (key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (!isObject(a) || !isObject(b) || Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
  for (const k of keys) if (!jsonEqual(ao[k], bo[k])) return false;
  return true;
}

function isObject(v: unknown): v is object {
  return typeof v === 'object' && v !== null;
}

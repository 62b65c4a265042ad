// A fake Kubernetes API server on 127.0.0.1 for unit tests of src/lib/kube,
// plus a kubeconfig pointing at it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKube, type Kube, type KubeOptions } from '../../../src/lib/kube/index.js';

export interface Recorded {
  method: string;
  url: URL;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Parsed JSON body, when there is one. */
  json: unknown;
}

export type Handler = (req: Recorded, res: ServerResponse, raw: IncomingMessage) => unknown;

export interface FakeApi {
  port: number;
  server: string;
  httpServer: http.Server;
  requests: Recorded[];
  /** Replaces the request handler. */
  handle(h: Handler): void;
  kubeconfig: string;
  dir: string;
  kube(opts?: KubeOptions): Promise<Kube>;
  /** TCP connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

export const TOKEN = 'sekrit-token-0123456789';

/** Fast retries so tests do not wait for production backoff. */
export const FAST_RETRY = {
  baseDelayMs: 5,
  maxDelayMs: 20,
  deadlineMs: 5_000,
  attemptTimeoutMs: 2_000,
};

export async function startFakeApi(initial?: Handler): Promise<FakeApi> {
  let handler: Handler = initial ?? ((_r, res) => sendStatus(res, 404, 'NotFound', 'no handler'));
  const requests: Recorded[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const srv = http.createServer((raw, res) => {
    const chunks: Buffer[] = [];
    raw.on('data', (c: Buffer) => chunks.push(c));
    raw.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = body ? JSON.parse(body) : undefined;
      } catch {
        json = undefined;
      }
      const rec: Recorded = {
        method: raw.method ?? '',
        url: new URL(raw.url ?? '/', 'http://x'),
        headers: raw.headers,
        body,
        json,
      };
      requests.push(rec);
      Promise.resolve(handler(rec, res, raw)).catch((err: Error) =>
        sendStatus(res, 500, 'InternalError', err.message),
      );
    });
  });
  srv.on('connection', (s) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  const server = `http://127.0.0.1:${port}`;
  const dir = mkdtempSync(join(tmpdir(), 'kpg-kube-'));
  const kubeconfig = join(dir, 'config');
  writeFileSync(kubeconfig, kubeconfigYaml({ server, namespace: 'demo' }));
  return {
    port,
    server,
    httpServer: srv,
    requests,
    dir,
    kubeconfig,
    handle: (h) => {
      handler = h;
    },
    kube: (opts) => createKube({ kubeconfig, retry: FAST_RETRY, ...opts }),
    connections: () => connections,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => srv.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function kubeconfigYaml(o: {
  server: string;
  namespace?: string;
  context?: string;
  token?: string;
}): string {
  const ctx = o.context ?? 'fake';
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${ctx}-cluster`,
    '  cluster:',
    `    server: ${o.server}`,
    'users:',
    `- name: ${ctx}-user`,
    '  user:',
    `    token: ${o.token ?? TOKEN}`,
    'contexts:',
    `- name: ${ctx}`,
    '  context:',
    `    cluster: ${ctx}-cluster`,
    `    user: ${ctx}-user`,
    ...(o.namespace ? [`    namespace: ${o.namespace}`] : []),
    `current-context: ${ctx}`,
    '',
  ].join('\n');
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendStatus(
  res: ServerResponse,
  code: number,
  reason: string,
  message: string,
  details?: Record<string, unknown>,
  headers: Record<string, string> = {},
): void {
  sendJson(
    res,
    code,
    { kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code, details },
    headers,
  );
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * An in-memory object store behind the fake API: GET/POST/PUT/DELETE on
 * /api(s)/.../namespaces/NS/PLURAL[/NAME] with resourceVersion conflicts.
 */
export class FakeStore {
  readonly objects = new Map<string, Record<string, unknown>>();
  private rv = 100;

  handler: Handler = (req, res) => {
    const m = /^\/(?:api\/v1|apis\/[^/]+\/[^/]+)\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+))?$/.exec(
      req.url.pathname,
    );
    if (!m)
      return sendStatus(res, 404, 'NotFound', 'the server could not find the requested resource');
    const [, ns, plural, name] = m as unknown as [string, string, string, string | undefined];
    const key = `${ns}/${plural}/${name ?? ''}`;
    const obj = this.objects.get(key);
    const body = req.json as { metadata?: { name?: string; resourceVersion?: string } } | undefined;
    switch (req.method) {
      case 'GET':
        if (!name)
          return sendJson(res, 200, {
            items: this.list(ns, plural),
            metadata: { resourceVersion: String(this.rv) },
          });
        return obj ? sendJson(res, 200, obj) : this.notFound(res, plural, name);
      case 'POST': {
        const n = body?.metadata?.name ?? '';
        const k = `${ns}/${plural}/${n}`;
        if (this.objects.has(k))
          return sendStatus(res, 409, 'AlreadyExists', `${plural} "${n}" already exists`, {
            name: n,
          });
        return sendJson(res, 201, this.store(k, body));
      }
      case 'PUT': {
        if (!obj || !name) return this.notFound(res, plural, name ?? '');
        const sent = body?.metadata?.resourceVersion;
        const meta = obj.metadata as { resourceVersion: string };
        if (sent && sent !== meta.resourceVersion) {
          return sendStatus(
            res,
            409,
            'Conflict',
            `Operation cannot be fulfilled on ${plural} "${name}": the object has been modified`,
            { name },
          );
        }
        return sendJson(res, 200, this.store(key, body));
      }
      case 'DELETE':
        if (!obj || !name) return this.notFound(res, plural, name ?? '');
        this.objects.delete(key);
        return sendJson(res, 200, { kind: 'Status', status: 'Success' });
      default:
        return sendStatus(res, 405, 'MethodNotAllowed', 'no');
    }
  };

  put(
    ns: string,
    plural: string,
    obj: Record<string, unknown> & { metadata: { name: string } },
  ): Record<string, unknown> {
    return this.store(`${ns}/${plural}/${obj.metadata.name}`, obj);
  }

  get(ns: string, plural: string, name: string): Record<string, unknown> | undefined {
    return this.objects.get(`${ns}/${plural}/${name}`);
  }

  private list(ns: string, plural: string): Record<string, unknown>[] {
    return [...this.objects.entries()]
      .filter(([k]) => k.startsWith(`${ns}/${plural}/`))
      .map(([, v]) => v);
  }

  private store(key: string, body: unknown): Record<string, unknown> {
    const o = structuredClone(body ?? {}) as { metadata?: Record<string, unknown> };
    o.metadata = {
      ...o.metadata,
      resourceVersion: String(++this.rv),
      uid: (o.metadata?.uid as string) ?? `uid-${this.rv}`,
    };
    this.objects.set(key, o as Record<string, unknown>);
    return o as Record<string, unknown>;
  }

  private notFound(res: ServerResponse, plural: string, name: string): void {
    sendStatus(res, 404, 'NotFound', `${plural} "${name}" not found`, { name, kind: plural });
  }
}

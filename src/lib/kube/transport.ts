// The HTTP layer: every call to the API server goes through Transport.run, the
// one place that retries (429 Retry-After, 502/503/504, dropped connections),
// enforces an overall deadline and maps failures to our error classes.
import http from 'node:http';
import https from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import {
  KpgError,
  KubeAbortedError,
  KubeconfigError,
  ServerError,
  TooManyRequestsError,
  UnreachableError,
  redact,
} from './errors.js';
import {
  errorFromNetwork,
  errorFromResponse,
  type ConnectionContext,
  type RequestTarget,
} from './failures.js';

export interface RetryPolicy {
  /** Retries after the first attempt (so maxRetries + 1 attempts at most). */
  maxRetries: number;
  /** First backoff step; doubles each retry, with jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Longest single wait a Retry-After header may impose. */
  maxRetryAfterMs: number;
  /** Overall deadline of one call, retries included. */
  deadlineMs: number;
  /** Longest wait for one attempt (until the response headers, or the whole body). */
  attemptTimeoutMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxRetries: 6,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 30_000,
  deadlineMs: 120_000,
  attemptTimeoutMs: 60_000,
};

/** Time and randomness, injectable for tests. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  random(): number;
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new KubeAbortedError());
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new KubeAbortedError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: abortableSleep,
  random: () => Math.random(),
};

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type Query = Record<string, string | number | boolean | undefined>;

export interface KubeRequest {
  method: HttpMethod;
  /** Path below the server URL, already escaped, e.g. /api/v1/namespaces/demo/pods. */
  path: string;
  query?: Query;
  /** Sent as JSON. */
  body?: unknown;
  contentType?: string;
  accept?: string;
  /** Safe to send twice? Defaults by method: GET/PUT/DELETE yes, POST/PATCH no. */
  idempotent?: boolean;
  /** For error messages. */
  target: RequestTarget;
  signal?: AbortSignal;
  /** Overrides RetryPolicy.deadlineMs for this call. */
  deadlineMs?: number;
}

export interface KubeResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

export interface RunOptions {
  target: RequestTarget;
  idempotent: boolean;
  signal?: AbortSignal;
  deadlineMs?: number;
}

const RETRY_STATUSES = new Set([502, 503, 504]);
const RETRY_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'ECONNABORTED',
]);

export class Transport {
  readonly ctx: ConnectionContext;
  readonly policy: RetryPolicy;
  readonly clock: Clock;
  private readonly userAgent: string;
  /** One keep-alive agent while the TLS material stays the same: no handshake per request. */
  private agentCache: { key: string; agent: http.Agent } | undefined;

  constructor(
    private readonly kc: KubeConfig,
    opts: {
      ctx: ConnectionContext;
      policy?: Partial<RetryPolicy>;
      clock?: Clock;
      userAgent?: string;
    },
  ) {
    this.ctx = opts.ctx;
    this.policy = { ...DEFAULT_RETRY, ...opts.policy };
    this.clock = opts.clock ?? systemClock;
    this.userAgent = opts.userAgent ?? 'kpg';
  }

  /** Sends a request and parses the JSON answer. */
  async json<T>(req: KubeRequest): Promise<T> {
    const res = await this.request(req);
    return (res.text ? JSON.parse(res.text) : {}) as T;
  }

  /** Sends a request (with retries) and returns the whole 2xx response. */
  request(req: KubeRequest): Promise<KubeResponse> {
    return this.run(runOptions(req), async (signal) => {
      const res = await this.open(req, signal);
      return { status: res.statusCode ?? 0, headers: res.headers, text: await readBody(res) };
    });
  }

  /**
   * Opens a streaming 2xx response (watch, follow logs). Retries apply to
   * establishing it; the caller owns the stream afterwards (destroy it to stop:
   * neither the attempt timeout nor the caller's signal reach it any more).
   */
  stream(req: KubeRequest): Promise<IncomingMessage> {
    return this.run(runOptions(req), (signal) => this.open(req, signal));
  }

  /**
   * Runs attempt() until it succeeds, fails for good, or the deadline passes.
   * attempt gets a signal that fires on the caller's abort or the attempt timeout;
   * it must throw our error classes (errorFromResponse / errorFromNetwork).
   */
  async run<T>(
    opts: RunOptions,
    attempt: (signal: AbortSignal, timeoutMs: number) => Promise<T>,
  ): Promise<T> {
    const deadline = this.clock.now() + (opts.deadlineMs ?? this.policy.deadlineMs);
    for (let n = 0; ; n++) {
      const remaining = deadline - this.clock.now();
      const timeoutMs = Math.max(1, Math.min(this.policy.attemptTimeoutMs, remaining));
      let err: KpgError;
      try {
        return await this.once(opts.signal, timeoutMs, attempt);
      } catch (e) {
        err = e instanceof KpgError ? e : errorFromNetwork(e, this.ctx);
      }
      const delay =
        n < this.policy.maxRetries ? this.retryDelay(err, opts.idempotent, n) : undefined;
      if (delay === undefined || this.clock.now() + delay >= deadline) throw gaveUp(err, n + 1);
      await this.clock.sleep(delay, opts.signal);
    }
  }

  private async once<T>(
    outer: AbortSignal | undefined,
    timeoutMs: number,
    attempt: (signal: AbortSignal, timeoutMs: number) => Promise<T>,
  ): Promise<T> {
    if (outer?.aborted) throw new KubeAbortedError();
    const ac = new AbortController();
    const onAbort = (): void => ac.abort(new KubeAbortedError());
    outer?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => ac.abort(this.attemptTimeout(timeoutMs)), timeoutMs);
    try {
      return await attempt(ac.signal, timeoutMs);
    } catch (e) {
      // An aborted request rejects with a generic AbortError: report why it was aborted.
      if (ac.signal.aborted && ac.signal.reason instanceof KpgError) throw ac.signal.reason;
      throw e;
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onAbort);
    }
  }

  private attemptTimeout(ms: number): UnreachableError {
    return new UnreachableError(
      `the Kubernetes API at ${this.ctx.server} did not answer within ${Math.round(ms / 100) / 10}s`,
      'ETIMEDOUT',
      'the API server is slow or unreachable; try again',
    );
  }

  /** Milliseconds to wait before retrying, or undefined when err is final. */
  private retryDelay(err: KpgError, idempotent: boolean, n: number): number | undefined {
    const backoff = (): number => {
      const cap = Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** n);
      return cap / 2 + (this.clock.random() * cap) / 2;
    };
    const retryAfter = (s: number | undefined): number | undefined =>
      s === undefined ? undefined : Math.min(s * 1000, this.policy.maxRetryAfterMs);
    switch (retryClass(err, idempotent)) {
      case 'retry-after':
        return (
          retryAfter((err as TooManyRequestsError | ServerError).retryAfterSeconds) ?? backoff()
        );
      case 'server-hint':
        return retryAfter((err as ServerError).retryAfterSeconds);
      case 'backoff':
        return backoff();
      default:
        return undefined;
    }
  }

  /** One HTTP exchange. Resolves with a 2xx response; throws mapped errors otherwise. */
  private async open(req: KubeRequest, signal: AbortSignal): Promise<IncomingMessage> {
    const url = buildUrl(this.ctx.server, req.path, req.query);
    const { headers: authHeaders, agent } = await this.connection();
    const body = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
    const headers: http.OutgoingHttpHeaders = {
      ...authHeaders,
      Accept: req.accept ?? 'application/json',
      'User-Agent': this.userAgent,
    };
    if (body) {
      headers['Content-Type'] = req.contentType ?? 'application/json';
      headers['Content-Length'] = body.length;
    }
    const lib = url.protocol === 'https:' ? https : http;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const r = lib.request(url, { method: req.method, headers, agent, signal }, resolve);
      r.on('error', reject);
      r.end(body);
    });
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) return res;
    const text = await readBody(res);
    throw errorFromResponse(
      {
        status,
        statusText: res.statusMessage,
        body: text,
        retryAfterHeader: res.headers['retry-after'],
        now: this.clock.now(),
      },
      req.target,
      this.ctx,
    );
  }

  /** Auth headers and an agent for the current context (refreshed per request: tokens rotate). */
  private async connection(): Promise<{
    headers: Record<string, string>;
    agent: http.Agent | undefined;
  }> {
    const o: https.RequestOptions = {};
    try {
      await this.kc.applyToHTTPSOptions(o);
    } catch (err) {
      throw new KubeconfigError(
        `cannot load the credentials of context ${this.ctx.contextName}: ${redact((err as Error).message ?? String(err))}`,
        'fix the user entry of that context in the kubeconfig',
      );
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(o.headers ?? {})) {
      if (typeof v === 'string' || typeof v === 'number') headers[k] = String(v);
    }
    if (o.auth) headers.Authorization = `Basic ${Buffer.from(o.auth).toString('base64')}`;
    return { headers, agent: this.keepAliveAgent(o) };
  }

  /**
   * client-node builds a new agent on every call, and so a new TCP and TLS
   * handshake per request. Plain agents are replaced by one keep-alive agent
   * per TLS identity (rebuilt when an exec plugin rotates the client
   * certificate); a proxy agent is used as it comes.
   */
  private keepAliveAgent(o: https.RequestOptions): http.Agent | undefined {
    const given = o.agent instanceof http.Agent ? o.agent : undefined;
    if (!given || (given.constructor !== https.Agent && given.constructor !== http.Agent)) {
      return given;
    }
    const key = JSON.stringify([
      given.constructor === https.Agent,
      String(o.ca ?? ''),
      String(o.cert ?? ''),
      String(o.key ?? ''),
      o.rejectUnauthorized ?? null,
      o.servername ?? null,
    ]);
    if (this.agentCache?.key !== key) {
      this.agentCache?.agent.destroy();
      const options = { ...(given as http.Agent & { options: http.AgentOptions }).options };
      const agent =
        given.constructor === https.Agent
          ? new https.Agent({ ...(options as https.AgentOptions), keepAlive: true })
          : new http.Agent({ ...options, keepAlive: true });
      this.agentCache = { key, agent };
    }
    given.destroy();
    return this.agentCache.agent;
  }
}

/** How (whether) a failure may be retried. */
function retryClass(
  err: KpgError,
  idempotent: boolean,
): 'retry-after' | 'server-hint' | 'backoff' | 'final' {
  // 429 means the server did not process the request: safe for any verb.
  if (err instanceof TooManyRequestsError) return 'retry-after';
  if (err instanceof ServerError) {
    if (!idempotent) return 'final';
    if (RETRY_STATUSES.has(err.status)) return 'retry-after';
    return err.retryAfterSeconds === undefined ? 'final' : 'server-hint';
  }
  if (err instanceof UnreachableError) {
    // Refused: the request never reached the server, so even a create may be resent.
    if (err.code === 'ECONNREFUSED') return 'backoff';
    if (idempotent && RETRY_CODES.has(err.code)) return 'backoff';
  }
  return 'final';
}

function runOptions(req: KubeRequest): RunOptions {
  const idempotent =
    req.idempotent ?? (req.method === 'GET' || req.method === 'PUT' || req.method === 'DELETE');
  return { target: req.target, idempotent, signal: req.signal, deadlineMs: req.deadlineMs };
}

function gaveUp(err: KpgError, attempts: number): KpgError {
  if (attempts > 1) err.message = `${err.message} (gave up after ${attempts} attempts)`;
  return err;
}

export function buildUrl(server: string, path: string, query?: Query): URL {
  const url = new URL(server.replace(/\/+$/, '') + path);
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined) url.searchParams.set(k, String(v));
  }
  return url;
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
    res.on('aborted', () =>
      reject(Object.assign(new Error('response aborted'), { code: 'ECONNRESET' })),
    );
  });
}

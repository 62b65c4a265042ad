// exec and port-forward over the API server's websocket endpoints, with
// client-node's Exec and PortForward doing the channel framing. Connecting
// goes through Transport.run (same retry/deadline rules, and a failed upgrade
// is mapped from its HTTP status and body like any other request).
import { createRequire } from 'node:module';
import net from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Kube } from './client.js';
import {
  ExecError,
  KpgError,
  KubeAbortedError,
  KubeStateError,
  KubeTimeoutError,
} from './errors.js';
import {
  errorFromNetwork,
  errorFromResponse,
  type KubeStatus,
  type RequestTarget,
} from './failures.js';
import type { ExecOptions, ExecResult, KubeObject, PortForwardHandle } from './types.js';

/** The parts of a `ws` WebSocket we use. */
export interface Ws {
  readonly protocol: string;
  readonly readyState: number;
  on(event: 'close', fn: () => void): this;
  on(event: 'error', fn: (err: Error) => void): this;
  on(event: 'unexpected-response', fn: (req: ClientRequest, res: IncomingMessage) => void): this;
  close(): void;
  terminate(): void;
}
type WsCtor = new (uri: string, protocols: string[], opts: object) => Ws;

/** The `ws` package client-node itself uses (resolved from client-node, not from us). */
function wsConstructor(): WsCtor {
  const req = createRequire(import.meta.url);
  const clientNode = req.resolve('@kubernetes/client-node');
  const mod = createRequire(clientNode)('ws') as WsCtor | { WebSocket: WsCtor };
  return 'WebSocket' in mod ? mod.WebSocket : mod;
}

/**
 * A client-node WebSocketInterface that connects through our Transport: retries
 * (only when the server surely saw nothing), deadline, and mapped upgrade errors.
 */
export class ApiWebSocket {
  constructor(
    private readonly kube: Kube,
    private readonly target: RequestTarget,
    private readonly opts: { signal?: AbortSignal; deadlineMs?: number },
  ) {}

  connect(
    path: string,
    textHandler: ((text: string) => boolean) | null,
    binaryHandler: ((stream: number, buff: Buffer) => boolean) | null,
  ): Promise<Ws> {
    const { kube, target } = this;
    const run = {
      target,
      idempotent: false,
      signal: this.opts.signal,
      deadlineMs: this.opts.deadlineMs,
    };
    return kube.transport.run(run, async (signal) => {
      let failure: Promise<KpgError> | undefined;
      let socket: Ws | undefined;
      const Ctor = wsConstructor();
      const factory = (uri: string, protocols: string[], wsOpts: object): Ws => {
        socket = new Ctor(uri, protocols, wsOpts);
        socket.on('unexpected-response', (_req, res) => {
          failure = readAll(res).then((body) =>
            errorFromResponse(
              {
                status: res.statusCode ?? 0,
                statusText: res.statusMessage,
                body,
                retryAfterHeader: res.headers['retry-after'],
                now: Date.now(),
              },
              target,
              kube.transport.ctx,
            ),
          );
          void failure.finally(() => socket?.terminate());
        });
        return socket;
      };
      const onAbort = (): void => socket?.terminate();
      signal.addEventListener('abort', onAbort, { once: true });
      const streams = {
        stdin: new PassThrough(),
        stdout: new PassThrough(),
        stderr: new PassThrough(),
      };
      // The 3rd argument keeps client-node from touching process.stdout on a close frame.
      // Not re-exported from the package index; the package has no "exports" map, so the path is public.
      const { WebSocketHandler } =
        await import('@kubernetes/client-node/dist/web-socket-handler.js');
      const handler = new WebSocketHandler(kube.kubeConfig, factory as never, streams);
      try {
        return (await handler.connect(path, textHandler, binaryHandler)) as unknown as Ws;
      } catch (e) {
        if (failure) throw await failure;
        const cause = (e as { error?: unknown }).error ?? e;
        throw errorFromNetwork(cause, kube.transport.ctx);
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    });
  }
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

function sink(chunks: Buffer[]): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb): void {
      chunks.push(Buffer.from(chunk));
      cb();
    },
  });
}

/** 0 for Success, N for NonZeroExitCode; ExecError for anything else (e.g. no such binary). */
export function exitCodeFromStatus(st: KubeStatus): number {
  if (st.status === 'Success') return 0;
  if (st.reason === 'NonZeroExitCode') {
    const cause = st.details?.causes?.find((c) => c.reason === 'ExitCode');
    const code = Number(cause?.message);
    if (Number.isInteger(code)) return code;
  }
  throw new ExecError(`exec failed: ${st.message ?? st.reason ?? 'unknown error'}`);
}

export const V5 = 'v5.channel.k8s.io';

export interface ExecTarget {
  namespace: string;
  pod: string;
  container: string;
  command: string[];
}

export async function execInPod(kube: Kube, t: ExecTarget, opts: ExecOptions): Promise<ExecResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const started = Date.now();
  const target: RequestTarget = {
    verb: 'create',
    resource: 'pods',
    subresource: 'exec',
    namespace: t.namespace,
    name: t.pod,
  };
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const stdin = opts.stdin === undefined ? null : new PassThrough();
  let status: KubeStatus | undefined;
  const handler = new ApiWebSocket(kube, target, { signal: opts.signal, deadlineMs: timeoutMs });
  const exec = new kube.clientNode.Exec(kube.kubeConfig, handler as never);
  const ws = (await exec.exec(
    t.namespace,
    t.pod,
    t.container,
    t.command,
    sink(out),
    sink(err),
    stdin,
    false,
    (s) => {
      status = s as KubeStatus;
    },
  )) as unknown as Ws;
  const what = `exec ${t.command[0] ?? ''} in pod ${t.namespace}/${t.pod}`;
  return new Promise<ExecResult>((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const fail = (e: Error): void =>
      finish(() => {
        ws.terminate();
        reject(e);
      });
    const timer = setTimeout(
      () =>
        fail(
          new KubeTimeoutError(
            `${what} timed out after ${Math.round(timeoutMs / 100) / 10}s; the stream was closed`,
          ),
        ),
      Math.max(1, timeoutMs - (Date.now() - started)),
    );
    const onAbort = (): void => fail(new KubeAbortedError(`${what} was cancelled`));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    ws.on('error', (e) => fail(errorFromNetwork(e, kube.transport.ctx)));
    ws.on('close', () =>
      finish(() => {
        if (!status) {
          reject(
            new ExecError(`${what}: the stream closed before the command's exit status arrived`),
          );
          return;
        }
        try {
          const exitCode = exitCodeFromStatus(status);
          const bytes = Buffer.concat(out);
          resolve({
            stdout: bytes.toString('utf8'),
            ...(opts.binary ? { stdoutBytes: bytes } : {}),
            stderr: Buffer.concat(err).toString('utf8'),
            exitCode,
          });
        } catch (e) {
          reject(e);
        }
      }),
    );
    if (stdin && opts.stdin !== undefined) {
      if (ws.protocol !== V5) {
        // Without v5 the only way to signal end of input is closing the socket, which loses the exit code.
        fail(
          new ExecError(
            `${what}: sending stdin needs the ${V5} protocol, but the API server offered ${ws.protocol || 'none'}`,
            'use Kubernetes 1.30 or newer, or pass the input as an argument',
          ),
        );
        return;
      }
      stdin.end(opts.stdin);
    }
  });
}

export interface ForwardTarget {
  namespace: string;
  /** The pod, or how to find it for each new connection (`kpg port-forward` follows the primary). */
  pod: string | (() => Promise<string>);
  port: number;
  localPort: number;
}

interface PodLike extends KubeObject {
  status?: { phase?: string };
}

export async function portForwardToPod(kube: Kube, t: ForwardTarget): Promise<PortForwardHandle> {
  if (typeof t.pod === 'string') {
    const pod = await kube.get<PodLike>('Pod', t.namespace, t.pod);
    if (pod.status?.phase !== 'Running') {
      throw new KubeStateError(
        `cannot forward to pod ${t.namespace}/${t.pod}: it is ${pod.status?.phase ?? 'not running'}`,
        {
          suggestions: ['wait for the pod to run'],
        },
      );
    }
  }
  const podOf = typeof t.pod === 'string' ? () => Promise.resolve(t.pod as string) : t.pod;
  const errors: Error[] = [];
  /** Each forwarded connection, with the pod it goes to. */
  const sockets = new Map<net.Socket, string>();
  const forward = async (socket: net.Socket): Promise<void> => {
    const name = await podOf();
    sockets.set(socket, name);
    const target: RequestTarget = {
      verb: 'create',
      resource: 'pods',
      subresource: 'portforward',
      namespace: t.namespace,
      name,
    };
    let errText = '';
    const errStream = new Writable({
      write(chunk: Buffer, _enc, cb): void {
        errText += chunk.toString('utf8');
        cb();
      },
    });
    const pf = new kube.clientNode.PortForward(
      kube.kubeConfig,
      true,
      new ApiWebSocket(kube, target, {}) as never,
    );
    const ws = (await pf.portForward(
      t.namespace,
      name,
      [t.port],
      socket,
      errStream,
      socket,
    )) as unknown as Ws;
    ws.on('close', () => {
      if (errText) {
        errors.push(new ExecError(`port-forward to ${name}:${t.port}: ${errText.trim()}`));
        socket.destroy();
      } else socket.end();
    });
    ws.on('error', (e) => errors.push(errorFromNetwork(e, kube.transport.ctx)));
    socket.on('close', () => {
      if (ws.readyState <= 1) ws.close();
    });
  };
  const server = net.createServer((socket) => {
    socket.on('error', (e) => errors.push(e));
    socket.on('close', () => sockets.delete(socket));
    forward(socket).catch((e: Error) => {
      errors.push(e);
      socket.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(t.localPort, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const localPort = typeof addr === 'object' && addr ? addr.port : t.localPort;
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= new Promise<void>((resolve) => {
      for (const s of sockets.keys()) s.destroy();
      server.close(() => resolve());
    });
    return closed;
  };
  const drop = (pod: string): number => {
    const to = [...sockets].filter(([, p]) => p === pod).map(([s]) => s);
    for (const s of to) s.destroy();
    return to.length;
  };
  return { localPort, address: '127.0.0.1', errors, close, drop, [Symbol.asyncDispose]: close };
}

// exec over a fake websocket endpoint: exit codes from the status channel,
// stdin with the v5 close frame, timeouts that kill the stream, refused upgrades.
import { createRequire } from 'node:module';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExecError, ForbiddenError, KubeTimeoutError } from '../../../src/lib/kube/index.js';
import { startFakeApi, type FakeApi } from './fake-api.js';

interface ServerWs {
  protocol: string;
  send(data: Buffer): void;
  close(): void;
  on(ev: 'message', fn: (data: Buffer) => void): void;
  on(ev: 'close', fn: () => void): void;
}
interface Wss {
  handleUpgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    cb: (ws: ServerWs) => void,
  ): void;
  close(): void;
}
type WssCtor = new (o: {
  noServer: true;
  handleProtocols: (p: Set<string>) => string | false;
}) => Wss;

// The ws package client-node depends on.
const req = createRequire(import.meta.url);
const { WebSocketServer } = createRequire(req.resolve('@kubernetes/client-node'))('ws') as {
  WebSocketServer: WssCtor;
};

const frame = (channel: number, data: string | Buffer): Buffer =>
  Buffer.concat([Buffer.from([channel]), Buffer.from(data)]);
const status = (s: object): Buffer => frame(3, JSON.stringify(s));
const exitStatus = (code: number): Buffer =>
  code === 0
    ? status({ metadata: {}, status: 'Success' })
    : status({
        metadata: {},
        status: 'Failure',
        message: `command terminated with non-zero exit code: error executing command [sh -c exit ${code}], exit code ${code}`,
        reason: 'NonZeroExitCode',
        details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
      });

let api: FakeApi;
let wss: Wss;
let protocol = 'v5.channel.k8s.io';
let behave: (ws: ServerWs, url: URL) => void;
let refuse: { status: number; body: object } | undefined;
const upgrades: URL[] = [];

beforeEach(async () => {
  api = await startFakeApi();
  protocol = 'v5.channel.k8s.io';
  refuse = undefined;
  upgrades.length = 0;
  wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (p) => (p.has(protocol) ? protocol : false),
  });
  api.httpServer.on('upgrade', (r: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(r.url ?? '/', 'http://x');
    upgrades.push(url);
    if (refuse) {
      const body = JSON.stringify(refuse.body);
      socket.end(
        `HTTP/1.1 ${refuse.status} Refused\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      return;
    }
    wss.handleUpgrade(r, socket, head, (ws) => behave(ws, url));
  });
});
afterEach(async () => {
  wss.close();
  await api.close();
});

describe('exec', () => {
  it('returns stdout, stderr and a non-zero exit code from the status channel', async () => {
    behave = (ws) => {
      ws.send(frame(1, 'out\n'));
      ws.send(frame(2, 'err\n'));
      ws.send(exitStatus(3));
    };
    const kube = await api.kube();
    const r = await kube.exec('demo', 'pg-0', 'postgres', [
      'sh',
      '-c',
      'echo out; echo err >&2; exit 3',
    ]);
    expect(r).toEqual({ stdout: 'out\n', stderr: 'err\n', exitCode: 3 });
    const u = upgrades[0]!;
    expect(u.pathname).toBe('/api/v1/namespaces/demo/pods/pg-0/exec');
    expect(u.searchParams.getAll('command')).toEqual([
      'sh',
      '-c',
      'echo out; echo err >&2; exit 3',
    ]);
    expect(u.searchParams.get('container')).toBe('postgres');
    expect(u.searchParams.get('stdin')).toBe('false');
    expect(u.searchParams.get('tty')).toBe('false');
  });

  it('sends stdin and closes it with the v5 close frame', async () => {
    behave = (ws) => {
      const got: Buffer[] = [];
      ws.on('message', (m) => {
        if (m[0] === 0) got.push(m.subarray(1));
        if (m[0] === 255 && m[1] === 0) {
          ws.send(frame(1, Buffer.concat(got).toString().toUpperCase()));
          ws.send(exitStatus(0));
        }
      });
    };
    const kube = await api.kube();
    const r = await kube.exec('demo', 'pg-0', 'postgres', ['tr', 'a-z', 'A-Z'], {
      stdin: 'select 1;\n',
    });
    expect(r).toEqual({ stdout: 'SELECT 1;\n', stderr: '', exitCode: 0 });
    expect(upgrades[0]!.searchParams.get('stdin')).toBe('true');
  });

  it('refuses stdin when the server cannot half-close (v4)', async () => {
    protocol = 'v4.channel.k8s.io';
    behave = () => undefined;
    const kube = await api.kube();
    const err = await kube
      .exec('demo', 'pg-0', 'postgres', ['cat'], { stdin: 'x' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecError);
    expect((err as Error).message).toContain('needs the v5.channel.k8s.io protocol');
  });

  it('kills the stream on timeout', async () => {
    let serverSawClose = false;
    behave = (ws) => {
      ws.on('close', () => (serverSawClose = true));
      ws.send(frame(1, 'partial'));
    };
    const kube = await api.kube();
    const t0 = Date.now();
    const err = await kube
      .exec('demo', 'pg-0', 'postgres', ['sleep', '100'], { timeoutMs: 400 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeTimeoutError);
    expect((err as Error).message).toBe(
      'exec sleep in pod demo/pg-0 timed out after 0.4s; the stream was closed',
    );
    expect(Date.now() - t0).toBeLessThan(2000);
    await new Promise((r) => setTimeout(r, 100));
    expect(serverSawClose).toBe(true);
  });

  it('maps a refused upgrade like any API error', async () => {
    refuse = {
      status: 403,
      body: {
        kind: 'Status',
        status: 'Failure',
        reason: 'Forbidden',
        code: 403,
        message: 'pods "pg-0" is forbidden: cannot create pods/exec',
      },
    };
    const kube = await api.kube();
    const err = await kube.exec('demo', 'pg-0', 'postgres', ['true']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForbiddenError);
    expect((err as Error).message).toBe(
      'forbidden: kpg needs permission to `create` `pods/exec` in namespace `demo` (the server said: pods "pg-0" is forbidden: cannot create pods/exec)',
    );
  });

  it('reports a failure status that is not an exit code', async () => {
    behave = (ws) =>
      ws.send(
        status({ status: 'Failure', reason: 'InternalError', message: 'container not running' }),
      );
    const kube = await api.kube();
    await expect(kube.exec('demo', 'pg-0', 'postgres', ['true'])).rejects.toThrow(
      'exec failed: container not running',
    );
  });
});

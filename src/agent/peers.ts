/**
 * The agents talk to each other over their pod IPs: each serves what it
 * knows of its own postgres, confirms a shutdown checkpoint for a primary
 * that is handing over, and confirms a primary that cannot reach the API
 * server (failsafe). Plain node:http and fetch.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { formatLsn, parseLsn, type Lsn } from '../lib/failover/lsn.js';
import type { FailsafeAnswer, FailsafeRequest } from '../lib/ha/failsafe.js';
import type { ShutdownCheckpoint } from '../lib/ha/handover.js';
import type { LocalState, PeerState } from '../lib/ha/types.js';

/** What GET /state answers. LSNs as "X/Y" text. */
export interface PeerReport {
  pod: string;
  uid: string;
  role: LocalState['role'];
  timeline?: number;
  flushLsn?: string;
  replayLsn?: string;
  streaming: boolean;
  /** This agent's own judgement: may it take over now? */
  eligible: boolean;
  reason?: string;
  holder: boolean;
  decision?: { kind: string; reason: string };
  /** The holder only: members whose slot lost the WAL they need. */
  reclone?: string[];
}

export interface CheckpointAnswer {
  pod: string;
  confirmed: boolean;
  replayLsn?: string;
  /** This peer's own pod is stopping. */
  stopping?: boolean;
}

export interface PeerHandlers {
  report(): PeerReport;
  confirm(cp: ShutdownCheckpoint): Promise<CheckpointAnswer>;
  failsafe(req: FailsafeRequest): FailsafeAnswer;
}

/** Failsafe requests are small; anything bigger is not one. */
const MAX_BODY = 4096;

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > MAX_BODY) req.destroy(new Error('body too large'));
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(body));
      } catch (err) {
        reject(err as Error);
      }
    });
    req.on('error', reject);
  });
}

function failsafeRequestOf(v: unknown): FailsafeRequest | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const { holder, timeline, lsn } = v as Record<string, unknown>;
  if (typeof holder !== 'string' || holder === '') return undefined;
  if (timeline !== undefined && !Number.isInteger(timeline)) return undefined;
  const at = typeof lsn === 'string' ? parseLsn(lsn) : undefined;
  if (lsn !== undefined && at === undefined) return undefined;
  return {
    holder,
    ...(typeof timeline === 'number' ? { timeline } : {}),
    ...(at !== undefined ? { lsn: at } : {}),
  };
}

export function servePeers(host: string, port: number, h: PeerHandlers): Promise<Server> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://agent');
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify(body)}\n`);
    };
    if (req.method === 'POST' && url.pathname === '/failsafe') {
      readJson(req).then(
        (body) => {
          const r = failsafeRequestOf(body);
          if (!r) return reply(400, { error: 'holder (NAME/UID) is required' });
          reply(200, h.failsafe(r));
        },
        () => reply(400, { error: 'a JSON body is required' }),
      );
      return;
    }
    if (req.method !== 'GET') return reply(405, { error: 'GET only' });
    if (url.pathname === '/healthz') return reply(200, { ok: true });
    if (url.pathname === '/state') return reply(200, h.report());
    if (url.pathname === '/checkpoint') {
      const lsn = parseLsn(url.searchParams.get('lsn') ?? undefined);
      const timeline = Number(url.searchParams.get('timeline'));
      if (lsn === undefined || !Number.isInteger(timeline)) {
        return reply(400, { error: 'lsn=X/Y and timeline=N are required' });
      }
      h.confirm({ lsn, timeline }).then(
        (a) => reply(200, a),
        (err: Error) => reply(500, { error: err.message }),
      );
      return;
    }
    reply(404, { error: 'not found' });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

export interface PeerClient {
  state(pod: string, ip: string | undefined): Promise<PeerState>;
  confirm(
    pod: string,
    ip: string | undefined,
    cp: ShutdownCheckpoint,
  ): Promise<{ pod: string; confirmed: boolean; replayLsn?: Lsn; stopping?: boolean }>;
  failsafe(
    pod: string,
    ip: string | undefined,
    req: FailsafeRequest,
  ): Promise<{ pod: string; confirmed: boolean; reason?: string }>;
}

export function peerClient(port: number, timeoutMs: number): PeerClient {
  const get = async (ip: string, path: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`http://${ip.includes(':') ? `[${ip}]` : ip}:${port}${path}`, {
      signal: AbortSignal.timeout(timeoutMs),
      ...(body !== undefined
        ? {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
          }
        : {}),
    });
    if (!res.ok) throw new Error(`${path}: ${res.status}`);
    return res.json();
  };
  return {
    state: async (pod, ip) => {
      if (!ip) return { pod, reachable: false };
      try {
        return peerStateOf(pod, (await get(ip, '/state')) as PeerReport);
      } catch {
        return { pod, reachable: false };
      }
    },
    confirm: async (pod, ip, cp) => {
      if (!ip) return { pod, confirmed: false };
      try {
        const a = (await get(
          ip,
          `/checkpoint?lsn=${formatLsn(cp.lsn)}&timeline=${cp.timeline}`,
        )) as CheckpointAnswer;
        const replay = parseLsn(a.replayLsn);
        return {
          pod,
          confirmed: a.confirmed === true,
          ...(replay !== undefined ? { replayLsn: replay } : {}),
          ...(a.stopping === true ? { stopping: true } : {}),
        };
      } catch {
        return { pod, confirmed: false };
      }
    },
    failsafe: async (pod, ip, req) => {
      if (!ip) return { pod, confirmed: false, reason: 'no pod IP known' };
      try {
        const wire = { ...req, ...(req.lsn !== undefined ? { lsn: formatLsn(req.lsn) } : {}) };
        const a = (await get(ip, '/failsafe', wire)) as FailsafeAnswer;
        return a.confirmed === true
          ? { pod, confirmed: true }
          : { pod, confirmed: false, reason: a.confirmed === false ? a.reason : 'no answer' };
      } catch (err) {
        return { pod, confirmed: false, reason: `unreachable (${(err as Error).message})` };
      }
    },
  };
}

/** A peer's report → what decide() compares. */
export function peerStateOf(pod: string, r: PeerReport): PeerState {
  const flush = parseLsn(r.flushLsn);
  return {
    pod,
    reachable: r.pod === pod,
    role: r.role,
    ...(r.timeline !== undefined ? { timeline: r.timeline } : {}),
    ...(flush !== undefined ? { flushLsn: flush } : {}),
    eligible: r.eligible === true,
    ...(r.holder === true ? { holder: true } : {}),
    ...(Array.isArray(r.reclone)
      ? { reclone: r.reclone.filter((x) => typeof x === 'string') }
      : {}),
  };
}

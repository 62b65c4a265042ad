// Issue 16, item 6: `kpg port-forward NAME 0` forwards a local port to the
// primary and follows it through a failover without a restart: under the
// writer and the split-brain checker, a client connected through it reaches
// the primary; `kubectl delete pod` of the primary makes the agents hand
// over; kpg says so, closes the connection to the old primary, and the next
// connection through the same port reaches the new one. Ctrl-C exits 0.
import { spawn } from 'node:child_process';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { getJson, kubeconfigPath, kubectlOk, waitFor } from '../../cluster/kube.js';
import { CLUSTER, cleanup } from '../failover/harness.js';
import { bin } from '../lifecycle/helpers.js';
import { finish, startCluster, waitNewPrimary } from './setup.js';

describe('kpg port-forward', () => {
  let ns: string | undefined;
  afterAll(async () => cleanup(ns));

  it('follows the primary through a failover, without a restart', async () => {
    const s = await startCluster('agent-pf', (n) => (ns = n));
    const secret = await getJson<{ data: Record<string, string> }>([
      '-n',
      s.ns,
      'secret',
      `${CLUSTER}-auth`,
    ]);
    const b64 = (k: string) => Buffer.from(secret.data[k] ?? '', 'base64').toString();
    const tls = await getJson<{ data: Record<string, string> }>([
      '-n',
      s.ns,
      'secret',
      `${CLUSTER}-tls`,
    ]);
    const ca = Buffer.from(tls.data['ca.crt'] ?? '', 'base64').toString();
    const pf = spawn(process.execPath, [bin, 'port-forward', CLUSTER, '0', '-n', s.ns], {
      env: { ...process.env, KUBECONFIG: kubeconfigPath, NO_COLOR: '1' },
    });
    let out = '';
    let err = '';
    pf.stdout.on('data', (b: Buffer) => (out += b.toString()));
    pf.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const exited = new Promise<number | null>((r) => pf.on('close', r));
    const connect = async () => {
      const port = Number(/127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
      const c = new pg.Client({
        host: '127.0.0.1',
        port,
        user: b64('POSTGRES_USER'),
        password: b64('POSTGRES_PASSWORD'),
        database: 'postgres',
        // verify-full: the chain to the cluster's CA and 127.0.0.1 in the certificate.
        ssl: { ca, rejectUnauthorized: true },
      });
      await c.connect();
      return c;
    };
    // Which pod answers: through a port-forward the server's address is its
    // loopback, so ask its hostname (the pod's name).
    const server = async (c: pg.Client) => {
      const r = await c.query<{ pod: string; standby: boolean }>(
        "select trim(pg_read_file('/etc/hostname'), E' \\n') as pod, pg_is_in_recovery() as standby, (select ssl from pg_stat_ssl where pid = pg_backend_pid()) as ssl",
      );
      const row = r.rows[0] as { pod: string; standby: boolean; ssl?: boolean } | undefined;
      expect(row?.ssl).toBe(true);
      delete row?.ssl;
      return row;
    };
    let t0 = 0;
    let next = '';
    try {
      await waitFor(() => out.includes('Forwarding from'), 60_000, { what: 'kpg port-forward' });
      expect(out).toMatch(
        new RegExp(
          `^Forwarding from 127\\.0\\.0\\.1:\\d+ -> ${CLUSTER} \\(primary ${s.primary}:5432\\)`,
        ),
      );
      const before = await connect();
      let ended = false;
      before.on('error', () => undefined);
      before.on('end', () => (ended = true));
      expect(await server(before)).toEqual({ pod: s.primary, standby: false });
      t0 = Date.now();
      await kubectlOk(['-n', s.ns, 'delete', 'pod', s.primary, '--wait=false']);
      next = await waitNewPrimary(s.ns, s.primary, 60_000);
      await waitFor(() => err.includes(`the primary is now ${next} (was ${s.primary})`), 60_000, {
        what: 'kpg port-forward to say the primary changed',
      });
      await waitFor(() => ended, 30_000, { what: 'the connection to the old primary to close' });
      const after = await connect();
      expect(await server(after)).toEqual({ pod: next, standby: false });
      await after.end();
      console.log(`${s.ns}: kpg port-forward said:\n${out}${err}`);
    } finally {
      pf.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    await finish(s, next, t0);
  });
});

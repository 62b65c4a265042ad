import { execFileSync } from 'node:child_process';
import {
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
  mkdirSync,
  existsSync,
  copyFileSync,
  chmodSync,
} from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCRIPTS, SCRIPT_NAMES } from '../../../src/lib/render/scripts.js';
import { bash } from './bash.js';

const SRC = join(import.meta.dirname, '../../../src/lib/render/scripts');

describe('scripts', () => {
  it.each(SCRIPT_NAMES)('%s in scripts.ts matches its .sh source (run generate.mjs)', (name) => {
    expect(SCRIPTS[name]).toBe(readFileSync(join(SRC, name), 'utf8'));
  });

  it.each(SCRIPT_NAMES)('%s passes bash -n', (name) => {
    expect(() =>
      execFileSync('bash', ['-n', '-c', SCRIPTS[name]], { stdio: 'pipe' }),
    ).not.toThrow();
  });

  it('never put a password on a command line or in a log line', () => {
    const start = SCRIPTS['start.sh'];
    for (const line of start.split('\n')) {
      if (/PASSWORD|REPL_PASSWORD/.test(line) && !line.trim().startsWith('#')) {
        // Only assignments, tests, printf into files or env prefixes may name it.
        expect(line).not.toMatch(/\blog\b|\becho\b|\bloud\b|\bdie\b/);
        expect(line).not.toMatch(/psql .*PASSWORD|-c .*PASSWORD|initdb .*PASSWORD/);
      }
    }
  });
});

describe('start.sh functions', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kpg-start-'));
  beforeAll(() => {
    for (const n of SCRIPT_NAMES) writeFileSync(join(dir, n), SCRIPTS[n]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const env = (pgdata: string, extra: Record<string, string> = {}) => ({
    POD_NAME: 'pg-1',
    POD_NAMESPACE: 'demo',
    KPG_CLUSTER: 'pg',
    PGDATA: pgdata,
    POSTGRES_PASSWORD: 'pw:with\\specials',
    REPLICATION_USER: 'replicator',
    REPLICATION_PASSWORD: 'repl-pw',
    KPG_SCRIPTS: dir,
    KPG_TMP: join(pgdata, '..', 'tmp'),
    KPG_STATE: join(pgdata, '..', 'state'),
    KPG_TRIGGER: join(pgdata, '..', 'promote'),
    ...extra,
  });
  const src = `source ${JSON.stringify(join(dir, 'start.sh'))}; set +e; `;

  it.each([
    ['9.6', 906, 'recovery.conf'],
    ['11', 1100, 'recovery.conf'],
    ['12', 1200, 'standby.signal'],
    ['15', 1500, 'standby.signal'],
    ['17', 1700, 'standby.signal'],
  ])('writes the standby configuration of PostgreSQL %s', async (major, num, kind) => {
    const base = mkdtempSync(join(dir, `sb-${major}-`));
    const pgdata = join(base, 'pgdata');
    mkdirSync(pgdata);
    writeFileSync(
      join(pgdata, 'postgresql.auto.conf'),
      "# x\nprimary_conninfo = 'host=old'\nwork_mem = '8MB'\n",
    );
    const r = await bash(
      `${src} PGNUM=$(pg_num ${major}); [[ $PGNUM == ${num} ]] || exit 9; setup_tmp; write_standby_config`,
      env(pgdata),
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const passfile = join(base, 'tmp', 'pgpass');
    expect(readFileSync(passfile, 'utf8')).toBe(
      '*:*:*:postgres:pw\\:with\\\\specials\n*:*:*:replicator:repl-pw\n',
    );
    const auto = readFileSync(join(pgdata, 'postgresql.auto.conf'), 'utf8');
    if (kind === 'recovery.conf') {
      const rc = readFileSync(join(pgdata, 'recovery.conf'), 'utf8');
      expect(rc).toContain("standby_mode = 'on'");
      expect(rc).toContain("recovery_target_timeline = 'latest'");
      expect(rc).toContain(`trigger_file = '${join(base, 'promote')}'`);
      expect(rc).toContain(
        "primary_conninfo = 'host=pg port=5432 user=replicator application_name=pg-1",
      );
      expect(rc.includes('passfile=')).toBe(num >= 1000);
      expect(existsSync(join(pgdata, 'standby.signal'))).toBe(false);
      expect(auto).toContain('host=old'); // untouched below 12
    } else {
      expect(existsSync(join(pgdata, 'standby.signal'))).toBe(true);
      expect(existsSync(join(pgdata, 'recovery.conf'))).toBe(false);
      expect(auto).not.toContain('host=old');
      expect(auto).toContain("work_mem = '8MB'");
      expect(auto).toContain(
        `primary_conninfo = 'host=pg port=5432 user=replicator application_name=pg-1 passfile=${passfile} tcp_user_timeout=10000'`,
      );
      // No slot without the agent (nobody would keep it).
      expect(auto).not.toContain('primary_slot_name');
      expect(auto).toContain("recovery_target_timeline = 'latest'");
    }
    expect(r.stdout).not.toContain('repl-pw');
  });

  it('starts postgres without the passwords in its environment, the passfile named', async () => {
    const base = mkdtempSync(join(dir, 'env-'));
    const pgdata = join(base, 'pgdata');
    const bin = join(base, 'bin');
    mkdirSync(pgdata);
    mkdirSync(bin);
    writeFileSync(
      join(bin, 'postgres'),
      '#!/usr/bin/env bash\necho "postgres: password=${POSTGRES_PASSWORD-unset} repl=${REPLICATION_PASSWORD-unset} passfile=${PGPASSFILE-unset}"\n',
    );
    chmodSync(join(bin, 'postgres'), 0o755);
    const r = await bash(
      `${src} PGNUM=1500 PG_MAJOR_DETECTED=15; setup_tmp; start_postgres primary`,
      env(pgdata, { PATH: `${bin}:${process.env['PATH'] ?? ''}` }),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('postgres: password=unset repl=unset passfile=');
    expect(r.stdout).not.toContain('passfile=unset');
  });

  it('falls back to the superuser for replication', async () => {
    const base = mkdtempSync(join(dir, 'fb-'));
    const pgdata = join(base, 'pgdata');
    mkdirSync(pgdata);
    const r = await bash(
      `${src} PGNUM=1500; setup_tmp; write_standby_config; echo "$REPL_USER"`,
      env(pgdata, { REPLICATION_USER: '', REPLICATION_PASSWORD: '' }),
    );
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('postgres');
    expect(readFileSync(join(pgdata, 'postgresql.auto.conf'), 'utf8')).toContain('user=postgres ');
  });

  const decide = async (record: string, primary: string, state: string, pod = 'pg-1') => {
    const base = mkdtempSync(join(dir, 'dr-'));
    return bash(
      `${src} RECORD=${record}; RECORD_PRIMARY=${primary}; decide_role ${state}`,
      env(join(base, 'pgdata'), { POD_NAME: pod }),
    );
  };
  it.each([
    ['found', 'pg-1', 'primary', 'pg-1', 'primary'],
    ['found', 'pg-0', 'primary', 'pg-1', 'standby'],
    ['found', 'pg-1', 'empty', 'pg-1', 'primary'],
    ['absent', "''", 'empty', 'pg-0', 'primary'],
    ['absent', "''", 'empty', 'pg-1', 'standby'],
    ['absent', "''", 'primary', 'pg-0', 'standby'],
    ['unknown', "''", 'primary', 'pg-0', 'standby'],
    ['unknown', "''", 'standby', 'pg-0', 'standby'],
  ])('record %s (primary %s), data %s, pod %s: %s', async (...row) => {
    const [record, primary, state, pod, want] = row;
    const r = await decide(record, primary, state, pod);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').at(-1)).toBe(want);
  });

  it('refuses to guess a role for empty data when the record cannot be read', async () => {
    const r = await decide('unknown', "''", 'empty', 'pg-0');
    expect(r.code).not.toBe(0);
    expect(r.stdout).toContain('not guessing a role');
  });

  it('tells the data states apart', async () => {
    const base = mkdtempSync(join(dir, 'ds-'));
    const pgdata = join(base, 'pgdata');
    const state = async () => (await bash(`${src} data_state`, env(pgdata))).stdout.trim();
    expect(await state()).toBe('empty');
    mkdirSync(pgdata);
    writeFileSync(join(pgdata, 'PG_VERSION'), '15\n');
    expect(await state()).toBe('primary');
    writeFileSync(join(pgdata, 'standby.signal'), '');
    expect(await state()).toBe('standby');
    rmSync(join(pgdata, 'standby.signal'));
    writeFileSync(join(pgdata, 'recovery.conf'), '');
    expect(await state()).toBe('standby');
  });
});

describe('probes', () => {
  let dir: string;
  let bin: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kpg-probe-'));
    bin = join(dir, 'bin');
    mkdirSync(bin);
    for (const n of SCRIPT_NAMES) writeFileSync(join(dir, n), SCRIPTS[n]);
    // pg_isready answers what the test says.
    writeFileSync(join(bin, 'pg_isready'), '#!/bin/bash\nexit "${FAKE_ISREADY:-2}"\n');
    chmodSync(join(bin, 'pg_isready'), 0o755);
    // A "postmaster": a bash named postgres (so /proc/PID/comm says postgres).
    copyFileSync(
      execFileSync('bash', ['-c', 'command -v bash']).toString().trim(),
      join(bin, 'postgres'),
    );
    chmodSync(join(bin, 'postgres'), 0o755);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs PROBE with a fake postmaster (with or without a walreceiver child) in PGDATA. */
  async function probe(
    name: string,
    o: {
      isready: number;
      postmaster: boolean;
      walreceiver?: boolean;
      signal?: boolean;
      state?: string;
      args?: string;
    },
  ) {
    const base = mkdtempSync(join(dir, 'p-'));
    const pgdata = join(base, 'pgdata');
    mkdirSync(pgdata);
    if (o.signal) writeFileSync(join(pgdata, 'standby.signal'), '');
    if (o.state) writeFileSync(join(base, 'state'), `${o.state}\n`);
    // The fake postmaster stops its children (by pid) when it is terminated.
    const child = o.walreceiver
      ? `(exec -a "postgres: walreceiver streaming 0/3000148" sleep 30) & c=$!;`
      : 'c=;';
    const script = o.postmaster
      ? `${join(bin, 'postgres')} -c '${child} sleep 30 & s=$!; trap "kill $c $s 2>/dev/null; exit" TERM; wait' & pm=$!;
         echo $pm > "${pgdata}/postmaster.pid"; sleep 0.3;
         bash ${join(dir, name)} ${o.args ?? ''}; rc=$?; kill $pm; wait; exit $rc`
      : `bash ${join(dir, name)} ${o.args ?? ''}`;
    const r = await bash(script, {
      PGDATA: pgdata,
      KPG_STATE: join(base, 'state'),
      FAKE_ISREADY: String(o.isready),
      PATH: `${bin}:${process.env['PATH']}`,
    });
    lastStderr = r.stderr;
    return r.code;
  }
  let lastStderr = '';

  it('a probe that is simply not ready yet prints nothing (no Warning event text)', async () => {
    for (const name of ['live.sh', 'ready.sh']) {
      expect(await probe(name, { isready: 2, postmaster: false, state: 'running' })).toBe(1);
      expect(lastStderr, name).toBe('');
    }
    expect(
      await probe('live.sh', {
        isready: 2,
        postmaster: false,
        state: 'running',
        args: '--startup',
      }),
    ).toBe(1);
    expect(lastStderr).toBe('');
  });

  it('ready: accepting connections (primary, hot standby)', async () => {
    expect(await probe('ready.sh', { isready: 0, postmaster: true })).toBe(0);
  });
  it('ready: a warm standby that streams', async () => {
    expect(
      await probe('ready.sh', { isready: 1, postmaster: true, signal: true, walreceiver: true }),
    ).toBe(0);
  });
  it('not ready: a warm standby without walreceiver, a rejecting primary, no answer', async () => {
    expect(await probe('ready.sh', { isready: 1, postmaster: true, signal: true })).toBe(1);
    expect(await probe('ready.sh', { isready: 1, postmaster: true, walreceiver: true })).toBe(1);
    expect(
      await probe('ready.sh', { isready: 2, postmaster: true, signal: true, walreceiver: true }),
    ).toBe(1);
    expect(await probe('ready.sh', { isready: 1, postmaster: false, signal: true })).toBe(1);
  });
  it('live: never fails during initdb, base backup, rewind or crash recovery', async () => {
    for (const state of ['initdb', 'basebackup', 'rewind', 'recovering']) {
      expect(await probe('live.sh', { isready: 2, postmaster: false, state })).toBe(0);
    }
  });
  it('live: the postmaster must be alive', async () => {
    expect(await probe('live.sh', { isready: 2, postmaster: true, state: 'running' })).toBe(0);
    expect(await probe('live.sh', { isready: 2, postmaster: false, state: 'running' })).toBe(1);
  });
  it('startup: the postmaster must answer', async () => {
    expect(
      await probe('live.sh', { isready: 1, postmaster: true, state: 'running', args: '--startup' }),
    ).toBe(0);
    expect(
      await probe('live.sh', { isready: 2, postmaster: true, state: 'running', args: '--startup' }),
    ).toBe(1);
    expect(
      await probe('live.sh', {
        isready: 0,
        postmaster: false,
        state: 'preparing',
        args: '--startup',
      }),
    ).toBe(1);
  });
});

describe('kube.sh against a local HTTPS server', () => {
  let dir: string;
  let server: Server;
  let port: number;
  const seen: { method?: string; url?: string; headers: Record<string, unknown>; body: string }[] =
    [];
  const RECORD = {
    kind: 'ConfigMap',
    apiVersion: 'v1',
    metadata: {
      name: 'pg-kpg',
      namespace: 'demo',
      annotations: { primary: 'not-this' },
      managedFields: [{ fieldsV1: { 'f:data': { 'f:primary': {} } } }],
    },
    data: {
      generation: '1',
      history: '[{"primary":"pg-0"}]',
      bootstrapped: '7312345678901234567',
      primary: 'pg-2',
      spec: 'x: "primary":"pg-9"\n',
      timeline: '2',
    },
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kpg-kube-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'ca.crt'),
        '-days',
        '1',
        '-subj',
        '/CN=kubernetes',
        '-addext',
        'subjectAltName=DNS:kubernetes,IP:127.0.0.1',
      ],
      { stdio: 'pipe' },
    );
    writeFileSync(join(dir, 'token'), 'test-token-123');
    mkdirSync(join(dir, 'other'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'other', 'key.pem'),
        '-out',
        join(dir, 'other', 'ca.crt'),
        '-days',
        '1',
        '-subj',
        '/CN=other',
      ],
      { stdio: 'pipe' },
    );
    writeFileSync(join(dir, 'other', 'token'), 'x');
    writeFileSync(join(dir, 'kube.sh'), SCRIPTS['kube.sh']);
    server = createServer(
      { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'ca.crt')) },
      (req, res) => {
        let body = '';
        req.on('data', (d: Buffer) => (body += d.toString()));
        req.on('end', () => {
          seen.push({ method: req.method, url: req.url, headers: req.headers, body });
          const send = (code: number, obj: unknown) => {
            res.writeHead(code, { 'Content-Type': 'application/json' });
            res.end(JSON.stringify(obj));
          };
          if (req.headers.authorization !== 'Bearer test-token-123')
            return send(401, { kind: 'Status', code: 401 });
          if (req.url === '/api/v1/namespaces/demo/configmaps/pg-kpg') return send(200, RECORD);
          if (req.url === '/api/v1/namespaces/demo/configmaps/nop-kpg')
            return send(200, { ...RECORD, data: { timeline: '1' } });
          if (req.url === '/api/v1/namespaces/demo/pods/pg-1' && req.method === 'PATCH')
            return send(200, { kind: 'Pod' });
          if (req.url === '/boom') return send(500, { kind: 'Status', code: 500 });
          send(404, { kind: 'Status', code: 404, reason: 'NotFound' });
        });
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  const kube = (cmd: string, extra: Record<string, string> = {}) =>
    bash(`source ${JSON.stringify(join(dir, 'kube.sh'))}; ${cmd}`, {
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: String(port),
      KPG_SA_DIR: dir,
      POD_NAMESPACE: 'demo',
      POD_NAME: 'pg-1',
      KPG_CLUSTER: 'pg',
      ...extra,
    });

  it('GET prints the body and returns 0 on 2xx', async () => {
    const r = await kube('kube_api GET /api/v1/namespaces/demo/configmaps/pg-kpg');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(RECORD);
    const req = seen.at(-1)!;
    expect(req.method).toBe('GET');
    expect(req.headers['authorization']).toBe('Bearer test-token-123');
  });

  it('returns 4 for 404 and 3 for other errors, with the body', async () => {
    const nf = await kube('kube_api GET /api/v1/namespaces/demo/configmaps/none');
    expect(nf.code).toBe(4);
    expect(JSON.parse(nf.stdout)).toMatchObject({ code: 404 });
    expect(nf.stderr).toContain('HTTP 404');
    expect((await kube('kube_api GET /boom')).code).toBe(3);
    const unauth = await kube('kube_api GET /x', {
      KPG_SA_DIR: dir,
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
    });
    expect(unauth.code).toBe(4);
  });

  it('returns 2 when the server certificate is not from the CA, or nothing listens', async () => {
    const tls = await kube('kube_api GET /api/v1/namespaces/demo/configmaps/pg-kpg', {
      KPG_SA_DIR: join(dir, 'other'),
    });
    expect(tls.code).toBe(2);
    expect(tls.stdout).toBe('');
    const closed = await kube('kube_api GET /x', { KUBERNETES_SERVICE_PORT: '1' });
    expect(closed.code).toBe(2);
    expect(closed.stderr).toContain('no HTTP response');
  });

  it('record_primary extracts .data.primary only', async () => {
    const r = await kube('record_primary');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('pg-2\n');
    expect((await kube('record_primary', { KPG_CLUSTER: 'nop' })).code).toBe(5);
    expect((await kube('record_primary', { KPG_CLUSTER: 'absent' })).code).toBe(4);
  });

  it('record_field reads one key of the record data, record_bootstrapped merge-patches it', async () => {
    const r = await kube('record_field bootstrapped "$(record_get)"');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('7312345678901234567');
    const none = await kube('record_field paused "$(record_get)"');
    expect(none.stdout).toBe('');
    const w = await kube('record_bootstrapped 7312345678901234567');
    expect(w.code).toBe(0);
    const req = seen.at(-1)!;
    expect(req.method).toBe('PATCH');
    expect(req.url).toBe('/api/v1/namespaces/demo/configmaps/pg-kpg');
    expect(req.headers['content-type']).toBe('application/merge-patch+json');
    expect(JSON.parse(req.body)).toEqual({ data: { bootstrapped: '7312345678901234567' } });
  });

  it('label_self merge-patches the role label of this pod', async () => {
    const r = await kube('label_self replica');
    expect(r.code).toBe(0);
    const req = seen.at(-1)!;
    expect(req.method).toBe('PATCH');
    expect(req.url).toBe('/api/v1/namespaces/demo/pods/pg-1');
    expect(req.headers['content-type']).toBe('application/merge-patch+json');
    expect(JSON.parse(req.body)).toEqual({
      metadata: { labels: { 'kubedb.com/role': 'replica' } },
    });
    expect((await kube('label_self primary', { POD_NAME: 'pg-9' })).code).toBe(4);
  });
});

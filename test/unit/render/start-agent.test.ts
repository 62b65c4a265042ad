/**
 * agent-start.sh, the postgres container's command with the in-pod agent:
 * the start gate on the agent's `role` file, postgres as a child beside
 * watchdog.sh, and the shutdown handover files. postgres, pg_isready and pg_controldata are stand-ins on PATH; the
 * watchdog is the real one, on a fake uptime.
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AGENT_SCRIPTS,
  AGENT_SCRIPT_NAMES,
  SCRIPTS,
  SCRIPT_NAMES,
} from '../../../src/lib/render/scripts.js';
import { bash } from './bash.js';

const dir = mkdtempSync(join(tmpdir(), 'kpg-start-agent-'));
const bin = join(dir, 'bin');
const scripts = join(dir, 'scripts');

/**
 * A postmaster stand-in: a fast shutdown on SIGINT; `FAKE_PG_EXIT_AFTER` ms:
 * dies by itself. Node, not bash: a background job of a script starts with
 * SIGINT ignored, which bash cannot trap again but postgres (sigaction) can.
 */
const FAKE_POSTGRES = `#!/usr/bin/env node
process.on('SIGINT', () => process.exit(0));
// -C NAME: a setting, as postgres prints it from its configuration, and exits.
const c = process.argv.indexOf('-C');
if (c > 0) { process.stdout.write((process.env.FAKE_HOT_STANDBY || 'on') + '\\n'); process.exit(0); }
process.stderr.write('fake postgres ' + process.argv.slice(2).join(' ') + '\\n');
// What a backend would inherit: whether the password is in its environment.
require('fs').writeFileSync(process.env.KPG_HA_DIR + '/fake-postgres-env', process.env.POSTGRES_PASSWORD ? 'with the password' : 'no password');
const after = Number(process.env.FAKE_PG_EXIT_AFTER || 0);
if (after > 0) setTimeout(() => process.exit(1), after);
setInterval(() => {}, 1000);
`;
const FAKE_CONTROLDATA = `#!/usr/bin/env bash
if [[ -e $1/standby.signal ]]; then st=\${FAKE_STANDBY_STATE:-shut down in recovery}; else st=\${FAKE_PG_STATE:-shut down}; fi
printf 'Database cluster state:               %s\\n' "$st"
printf 'Latest checkpoint location:           0/3000028\\n'
printf "Latest checkpoint's TimeLineID:       2\\n"
`;

/** A base backup stand-in: a data directory at -D, marked as the fresh copy. */
const FAKE_BASEBACKUP = `#!/usr/bin/env bash
while (($#)); do [[ $1 == -D ]] && d=$2; shift; done
mkdir -p "$d" && echo 15 >"$d/PG_VERSION" && echo new >"$d/from-basebackup"
`;

beforeAll(() => {
  mkdirSync(bin);
  mkdirSync(scripts);
  for (const n of SCRIPT_NAMES) writeFileSync(join(scripts, n), SCRIPTS[n]);
  for (const n of AGENT_SCRIPT_NAMES) writeFileSync(join(scripts, n), AGENT_SCRIPTS[n]);
  const tool = (name: string, text: string) => {
    writeFileSync(join(bin, name), text);
    chmodSync(join(bin, name), 0o755);
  };
  tool('postgres', FAKE_POSTGRES);
  tool('pg_isready', '#!/bin/sh\nexit 0\n');
  tool('pg_controldata', FAKE_CONTROLDATA);
  tool('pg_basebackup', FAKE_BASEBACKUP);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A pod's directories: PGDATA (as `data` says), the shared HA dir, a fake uptime of 100 s. */
function pod(data: 'empty' | 'primary' | 'standby') {
  const base = mkdtempSync(join(dir, 'pod-'));
  const pgdata = join(base, 'pgdata');
  const ha = join(base, 'ha');
  mkdirSync(ha);
  if (data !== 'empty') {
    mkdirSync(pgdata);
    writeFileSync(join(pgdata, 'PG_VERSION'), '15\n');
    if (data === 'standby') writeFileSync(join(pgdata, 'standby.signal'), '');
  }
  writeFileSync(join(base, 'uptime'), '100.00 50.00\n');
  const env: Record<string, string> = {
    PATH: `${bin}:${process.env['PATH']}`,
    POD_NAME: 'pg-1',
    POD_NAMESPACE: 'demo',
    KPG_CLUSTER: 'pg',
    PGDATA: pgdata,
    POSTGRES_PASSWORD: 'pw',
    REPLICATION_USER: 'replicator',
    REPLICATION_PASSWORD: 'repl-pw',
    KPG_PG_MAJOR: '15',
    KPG_SCRIPTS: scripts,
    KPG_TMP: join(base, 'tmp'),
    KPG_TRIGGER: join(ha, 'promote'),
    KPG_HA_DIR: ha,
    KPG_STATE: join(ha, 'start-state'),
    KPG_UPTIME_FILE: join(base, 'uptime'),
    KPG_SOCKET_DIR: join(base, 'run'),
    KPG_ROLE_POLL: '0.05',
    KPG_WATCHDOG_INTERVAL: '0.05',
    // No API server: agent mode must not need one.
    KUBERNETES_SERVICE_HOST: '',
  };
  const file = (name: string) => join(ha, name);
  const read = (name: string) =>
    existsSync(file(name)) ? readFileSync(file(name), 'utf8') : undefined;
  return { base, pgdata, ha, env, file, read };
}

/** Runs SCRIPT in the background; `when(file)` waits for a file; `term()` sends SIGTERM. */
function background(script: string, env: Record<string, string>) {
  // Its own process group, which kpg's local node signals as a whole.
  const child = spawn('bash', ['-c', script], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const done = new Promise<{ code: number | null; out: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, out })),
  );
  return {
    done,
    term: () => child.kill('SIGTERM'),
    termGroup: () => process.kill(-(child.pid ?? 0), 'SIGTERM'),
    async when(path: string, want?: string, ms = 10_000) {
      const until = Date.now() + ms;
      for (;;) {
        const text = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
        if (text !== undefined && (want === undefined || text.trim() === want)) return;
        if (Date.now() > until) throw new Error(`no ${path} (${want ?? 'any'}) in time:\n${out}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}

const src = `source ${JSON.stringify(join(scripts, 'agent-start.sh'))}; set +e; PG_MAJOR_DETECTED=15; PGNUM=1500; `;

describe('agent-start.sh: the start gate', () => {
  it('takes replica at once', async () => {
    const p = pod('standby');
    writeFileSync(p.file('role'), 'replica\n');
    const r = await bash(`${src} wait_for_role; echo "role=$AGENT_ROLE"`, p.env);
    expect(r.stdout).toContain('role=replica');
  });

  it('takes primary only while the fence deadline lies ahead', async () => {
    const p = pod('primary');
    writeFileSync(p.file('role'), 'primary\n');
    writeFileSync(p.file('deadline'), '106.000');
    const ok = await bash(`${src} wait_for_role; echo "role=$AGENT_ROLE"`, p.env);
    expect(ok.stdout).toContain('role=primary');

    writeFileSync(p.file('deadline'), '99.999\n');
    const stale = await bash(
      `${src} ( sleep 0.4; printf 'replica\\n' >"$KPG_HA_DIR/role" ) & wait_for_role; echo "role=$AGENT_ROLE"`,
      p.env,
    );
    expect(stale.stdout).toContain('role: primary, with its fence deadline passed');
    expect(stale.stdout).toContain('role=replica');
  });

  it('over an empty PGDATA: starts only on bootstrap, never on primary', async () => {
    const p = pod('empty');
    writeFileSync(p.file('deadline'), '106.000');
    writeFileSync(p.file('role'), 'primary\n');
    const held = await bash(`${src} timeout 0.5 bash -c '${src} wait_for_role empty'`, p.env);
    expect(held.code).toBe(124);
    expect(held.stdout).toContain('PGDATA is empty and only bootstrap initdbs');
    writeFileSync(p.file('role'), 'bootstrap\n');
    const ok = await bash(`${src} wait_for_role empty; echo "role=$AGENT_ROLE"`, p.env);
    expect(ok.stdout).toContain('role=bootstrap');
  });

  it('keeps waiting on wait, or with no file', async () => {
    const p = pod('empty');
    const none = await bash(`${src} timeout 0.5 bash -c '${src} wait_for_role'`, p.env);
    expect(none.code).toBe(124);
    expect(none.stdout).toContain('role: none yet');
    writeFileSync(p.file('role'), 'wait\n');
    const wait = await bash(`${src} timeout 0.5 bash -c '${src} wait_for_role'`, p.env);
    expect(wait.code).toBe(124);
    expect(wait.stdout).toContain('role: wait');
  });
});

describe('agent-start.sh: postgres beside the watchdog', () => {
  it('is fenced when the deadline passes: postgres killed, exit 3, no checkpoint', async () => {
    const p = pod('primary');
    writeFileSync(p.file('deadline'), '100.300');
    const bg = background(`${src} run_postgres primary`, p.env);
    await bg.when(p.file('start-state'), 'running');
    expect(p.read('data')).toBe('primary\n');
    writeFileSync(join(p.base, 'uptime'), '100.50 50.00\n');
    const { code, out } = await bg.done;
    expect(code).toBe(3);
    expect(out).toMatch(/kpg-watchdog: the fence deadline 100300ms passed/);
    expect(out).toContain('fenced: this pod');
    expect(p.read('shutdown-checkpoint')).toBeUndefined();
  });

  it('on SIGTERM: a fast shutdown, shutting-down, then the shutdown checkpoint; exit 0', async () => {
    const p = pod('primary');
    writeFileSync(p.file('deadline'), '200.000');
    const bg = background(`${src} run_postgres primary`, p.env);
    await bg.when(p.file('start-state'), 'running');
    bg.term();
    const { code, out } = await bg.done;
    expect(out).toContain('stopping: fast shutdown of postgres');
    expect(code).toBe(0);
    expect(p.read('shutting-down')).toBe('');
    expect(p.read('shutdown-checkpoint')).toBe('0/3000028 2\n');
  });

  it('hands over the same when SIGTERM reaches the whole process group (kpg-node)', async () => {
    const p = pod('primary');
    writeFileSync(p.file('deadline'), '200.000');
    const bg = background(`${src} run_postgres primary`, p.env);
    await bg.when(p.file('start-state'), 'running');
    bg.termGroup();
    const { code, out } = await bg.done;
    expect(code, out).toBe(0);
    expect(out).not.toContain('stopping postgres at once');
    expect(p.read('shutdown-checkpoint')).toBe('0/3000028 2\n');
  });

  it.each([0, 60, 120, 200])(
    'preStop stops postgres first, SIGTERM to the group %d ms later: exit 0 with the checkpoint',
    async (delayMs) => {
      const p = pod('primary');
      writeFileSync(p.file('deadline'), '200.000');
      const bg = background(`${src} run_postgres primary`, p.env);
      await bg.when(p.file('start-state'), 'running');
      // The hook: shutting-down, then pg_ctl's fast shutdown (SIGINT to the postmaster).
      writeFileSync(p.file('shutting-down'), '');
      const pm = execFileSync('pgrep', ['-f', `fake.*${p.pgdata}|postgres -D ${p.pgdata}`])
        .toString()
        .trim()
        .split('\n')
        .map(Number);
      for (const pid of pm) process.kill(pid, 'SIGINT');
      await new Promise((r) => setTimeout(r, delayMs));
      try {
        bg.termGroup();
      } catch {
        /* the script ended by itself already */
      }
      const { code, out } = await bg.done;
      expect(code, out).toBe(0);
      expect(p.read('shutdown-checkpoint'), out).toBe('0/3000028 2\n');
    },
  );

  it('prestop-checkpoint (the hook, after its fast shutdown) writes the checkpoint itself', async () => {
    const p = pod('primary');
    writeFileSync(p.file('shutdown-checkpoint'), 'stale\n');
    const r = await bash(`bash ${join(scripts, 'agent-start.sh')} prestop-checkpoint`, p.env);
    expect(r.code, r.stderr).toBe(0);
    expect(p.read('shutdown-checkpoint')).toBe('0/3000028 2\n');
  });

  it("prestop-checkpoint never removes the checkpoint the container's script wrote", async () => {
    const p = pod('primary');
    writeFileSync(p.file('shutdown-checkpoint'), '0/3000028 2\n');
    // pg_controldata cannot say (the hook raced the container's exit): the file stays.
    const r = await bash(`bash ${join(scripts, 'agent-start.sh')} prestop-checkpoint`, {
      ...p.env,
      FAKE_PG_STATE: 'in production',
    });
    expect(r.code, r.stderr).toBe(0);
    expect(p.read('shutdown-checkpoint')).toBe('0/3000028 2\n');
  });

  it('writes no checkpoint after an unclean stop, and none for a standby', async () => {
    const p = pod('primary');
    writeFileSync(p.file('deadline'), '200.000');
    const bg = background(`${src} run_postgres primary`, {
      ...p.env,
      FAKE_PG_STATE: 'in production',
    });
    await bg.when(p.file('start-state'), 'running');
    bg.term();
    expect((await bg.done).code).toBe(0);
    expect(p.read('shutdown-checkpoint')).toBeUndefined();

    const s = pod('standby');
    const sb = background(`${src} run_postgres standby`, s.env);
    await sb.when(s.file('start-state'), 'running');
    sb.term();
    expect((await sb.done).code).toBe(0);
    expect(s.read('data')).toBe('standby\n');
    expect(s.read('shutdown-checkpoint')).toBeUndefined();
  });

  it('exits 1 when postgres dies by itself', async () => {
    const p = pod('primary');
    writeFileSync(p.file('deadline'), '200.000');
    const r = await bash(`${src} run_postgres primary`, { ...p.env, FAKE_PG_EXIT_AFTER: '300' });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('postgres exited by itself (status 1)');
  });
});

describe('agent-start.sh: main', () => {
  it('reports the data, waits for the agent, starts a standby; no API call, no label', async () => {
    const p = pod('standby');
    const bg = background(`bash ${JSON.stringify(join(scripts, 'agent-start.sh'))}`, p.env);
    await bg.when(p.file('data'), 'standby');
    expect(p.read('start-state')).toBe('preparing\n');
    writeFileSync(p.file('role'), 'replica\n');
    await bg.when(p.file('start-state'), 'running');
    const auto = readFileSync(join(p.pgdata, 'postgresql.auto.conf'), 'utf8');
    expect(auto).toContain("primary_conninfo = 'host=pg port=5432 user=replicator");
    expect(auto).toContain("primary_slot_name = 'kpg_pg_1'");
    bg.term();
    const { code, out } = await bg.done;
    expect(code).toBe(0);
    expect(out).toContain('agent mode: PGDATA: standby');
    expect(out).not.toMatch(/kube_api|record|label/);
  });

  it("re-clones on the agent's `reclone`: a base backup beside, the old data moved aside only then", async () => {
    const p = pod('standby');
    writeFileSync(join(p.pgdata, 'old-row'), 'kept\n');
    writeFileSync(p.file('role'), 'replica\n');
    // Crashed in recovery: no pg_rewind check first (it would look for a primary named pg).
    const bg = background(`bash ${JSON.stringify(join(scripts, 'agent-start.sh'))}`, {
      ...p.env,
      FAKE_STANDBY_STATE: 'in archive recovery',
    });
    await bg.when(p.file('start-state'), 'running');
    // The stand-in has its SIGINT handler once it wrote this (a real postmaster, at once).
    await bg.when(p.file('fake-postgres-env'));
    writeFileSync(p.file('stop-request'), 'reclone\n');
    await bg.when(join(p.pgdata, 'from-basebackup'), 'new');
    await bg.when(p.file('start-state'), 'running');
    const aside = readdirSync(p.base).filter((n) => n.startsWith('pgdata.before-reclone-'));
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(p.base, aside[0] ?? '', 'old-row'), 'utf8')).toBe('kept\n');
    // A standby again, through its slot, on the fresh copy.
    expect(existsSync(join(p.pgdata, 'standby.signal'))).toBe(true);
    expect(readFileSync(join(p.pgdata, 'postgresql.auto.conf'), 'utf8')).toContain(
      "primary_slot_name = 'kpg_pg_1'",
    );
    bg.term();
    const { code, out } = await bg.done;
    expect(code).toBe(0);
    expect(out).toContain('re-cloning: the primary no longer has the WAL this standby needs');
    expect(out).toContain(`the old data is kept at ${join(p.base, aside[0] ?? '')}`);
  });

  it('reports a warm standby for the agent (warm-standby.sh beside it), a hot one not', async () => {
    for (const hot of ['off', 'on']) {
      const p = pod('standby');
      writeFileSync(p.file('role'), 'replica\n');
      const bg = background(`bash ${JSON.stringify(join(scripts, 'agent-start.sh'))}`, {
        ...p.env,
        FAKE_HOT_STANDBY: hot,
        KPG_WARM_INTERVAL: '0.05',
      });
      await bg.when(p.file('start-state'), 'running');
      if (hot === 'off') await bg.when(p.file('standby-state'));
      else await new Promise((r) => setTimeout(r, 300));
      expect(p.read('standby-state') !== undefined).toBe(hot === 'off');
      bg.term();
      expect((await bg.done).code).toBe(0);
    }
  });

  it('starts the primary on its own data once the agent holds the lease', async () => {
    const p = pod('primary');
    writeFileSync(p.file('role'), 'primary\n');
    writeFileSync(p.file('deadline'), '200.000');
    writeFileSync(p.file('shutdown-checkpoint'), '0/1 1\n');
    const bg = background(`bash ${JSON.stringify(join(scripts, 'agent-start.sh'))}`, p.env);
    await bg.when(p.file('start-state'), 'running');
    await bg.when(p.file('fake-postgres-env'));
    expect(p.read('fake-postgres-env')).toBe('no password');
    // A checkpoint left from an earlier run is not this one's.
    expect(p.read('shutdown-checkpoint')).toBeUndefined();
    expect(existsSync(join(p.pgdata, 'standby.signal'))).toBe(false);
    bg.term();
    const { code, out } = await bg.done;
    expect(code).toBe(0);
    expect(out).toContain('starting postgres 15 as primary');
    expect(p.read('shutdown-checkpoint')).toBe('0/3000028 2\n');
  });
});

describe('agent scripts', () => {
  it('agent-start.sh in scripts.ts matches its .sh source and passes bash -n', () => {
    const text = AGENT_SCRIPTS['agent-start.sh'];
    expect(text).toBe(
      readFileSync(
        join(import.meta.dirname, '../../../src/lib/render/scripts/agent-start.sh'),
        'utf8',
      ),
    );
    expect(() => execFileSync('bash', ['-n', '-c', text], { stdio: 'pipe' })).not.toThrow();
  });

  it('in scripts.ts matches src/lib/ha/watchdog.sh (run generate.mjs)', () => {
    expect(AGENT_SCRIPTS['watchdog.sh']).toBe(
      readFileSync(join(import.meta.dirname, '../../../src/lib/ha/watchdog.sh'), 'utf8'),
    );
  });
});

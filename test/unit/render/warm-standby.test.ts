/**
 * warm-standby.sh against a fake postmaster whose children carry postgres's
 * process titles, fake pg_controldata / pg_waldump / pg_ctl on PATH, and a
 * fake /proc/uptime.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keyValues } from '../../../src/lib/failover/probe.js';

const SCRIPT = join(import.meta.dirname, '../../../src/lib/render/scripts/warm-standby.sh');

let dir: string;
let procs: ChildProcess[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kpg-warm-'));
  for (const d of ['pgdata/pg_wal', 'ha', 'bin']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'pgdata/standby.signal'), '');
  writeFileSync(join(dir, 'uptime'), '100.00 50.00\n');
  const bin = (name: string, body: string) => {
    writeFileSync(join(dir, 'bin', name), `#!/usr/bin/env bash\n${body}\n`);
    chmodSync(join(dir, 'bin', name), 0o755);
  };
  bin(
    'pg_controldata',
    "printf 'Database system identifier:           7714473435037495598\\nBytes per WAL segment:                16777216\\nLatest checkpoint'\"'\"'s TimeLineID:       1\\n'",
  );
  bin(
    'pg_waldump',
    `echo "pg_waldump $*" >>"${dir}/calls"; echo 'rmgr: XLOG        len (rec/tot):    114/   114, tx:          0, lsn: 0/03025AA8, prev 0/03025A70, desc: CHECKPOINT_SHUTDOWN redo 0/3025AA8'`,
  );
  bin('pg_ctl', `echo "pg_ctl $*" >>"${dir}/calls"`);
});
afterEach(() => {
  for (const p of procs)
    if (p.pid)
      try {
        process.kill(-p.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
  procs = [];
  rmSync(dir, { recursive: true, force: true });
});

/** A "postmaster": bash whose children are named as postgres names its processes. */
async function fakePostmaster(titles: string[]): Promise<number> {
  const kids = titles.map((t) => `(exec -a '${t}' sleep 300) &`).join(' ');
  const p = spawn('bash', ['-c', `${kids} sleep 0.3; echo up; wait`], {
    detached: true,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  procs.push(p);
  await new Promise<void>((resolve) => p.stdout!.once('data', () => resolve()));
  return p.pid!;
}

function run(pm: number, env: Record<string, string> = {}): ChildProcess {
  const p = spawn('bash', [SCRIPT, join(dir, 'ha'), String(pm)], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env,
      PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}`,
      PGDATA: join(dir, 'pgdata'),
      KPG_UPTIME_FILE: join(dir, 'uptime'),
      KPG_WARM_INTERVAL: '0.05',
      KPG_WARM_TICK: '0.02',
      PGNUM: '1500',
      ...env,
    },
  });
  procs.push(p);
  return p;
}

async function until<T>(f: () => T | undefined, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const state = () => {
  const f = join(dir, 'ha/standby-state');
  return existsSync(f) ? keyValues(readFileSync(f, 'utf8')) : undefined;
};
const calls = () =>
  existsSync(join(dir, 'calls')) ? readFileSync(join(dir, 'calls'), 'utf8') : '';

describe('warm-standby.sh', () => {
  it('while it streams: the walreceiver title gives the position, the startup title the timeline; no pg_waldump', async () => {
    const pm = await fakePostmaster([
      'postgres: startup recovering 000000020000000000000005',
      'postgres: walreceiver streaming 0/5000148',
    ]);
    run(pm);
    const s = await until(state);
    expect(Object.fromEntries(s)).toEqual({
      at: '100.00',
      streaming: '1',
      lsn: '0/5000148',
      wal_end: '',
      timeline: '2',
      system: '7714473435037495598',
    });
    expect(calls()).not.toContain('pg_waldump');
  });

  it('without a walreceiver: the end of the last whole record in pg_wal, read once while pg_wal stays as it is', async () => {
    writeFileSync(join(dir, 'pgdata/pg_wal/000000010000000000000003'), 'x');
    writeFileSync(join(dir, 'pgdata/pg_wal/000000010000000000000003.partial'), 'x');
    const pm = await fakePostmaster(['postgres: checkpointer']);
    run(pm);
    const s = await until(state);
    // 0x3025AA8 + 114 bytes.
    expect(s.get('lsn')).toBe('0/3025B1A');
    expect(s.get('wal_end')).toBe('0/3025B1A');
    expect(s.get('streaming')).toBe('0');
    expect(s.get('timeline')).toBe('1');
    await new Promise((r) => setTimeout(r, 300));
    expect(calls().match(/pg_waldump/g)).toHaveLength(1);
    expect(calls()).toContain('-t 1 -s 0/3000000');
  });

  it('promotes when asked while the fence deadline lies ahead, and then ends and removes its report', async () => {
    const pm = await fakePostmaster(['postgres: walreceiver streaming 0/5000148']);
    const p = run(pm);
    await until(state);
    writeFileSync(join(dir, 'ha/deadline'), '106.000\n');
    writeFileSync(join(dir, 'ha/promote'), '');
    await until(() => (calls().includes('pg_ctl promote') ? true : undefined));
    expect(existsSync(join(dir, 'ha/promote'))).toBe(false);
    // postgres removes standby.signal as it leaves recovery.
    rmSync(join(dir, 'pgdata/standby.signal'));
    const code = await new Promise((r) => p.once('exit', r));
    expect(code).toBe(0);
    expect(state()).toBeUndefined();
  });

  it('never promotes on a request without a deadline ahead (left from an earlier term), nor below 12', async () => {
    const pm = await fakePostmaster(['postgres: walreceiver streaming 0/5000148']);
    const p = run(pm);
    await until(state);
    writeFileSync(join(dir, 'ha/deadline'), '99.000\n');
    writeFileSync(join(dir, 'ha/promote'), '');
    await until(() => (existsSync(join(dir, 'ha/promote')) ? undefined : true));
    p.kill('SIGKILL');
    const old = run(pm, { PGNUM: '906' });
    writeFileSync(join(dir, 'ha/deadline'), '106.000\n');
    writeFileSync(join(dir, 'ha/promote'), '');
    await new Promise((r) => setTimeout(r, 300));
    old.kill('SIGKILL');
    // Below 12 postgres reads the trigger file itself: it stays for it.
    expect(existsSync(join(dir, 'ha/promote'))).toBe(true);
    expect(calls()).not.toContain('pg_ctl');
  });

  it('reports nothing for a stopped (frozen) postmaster, and ends with it', async () => {
    const pm = await fakePostmaster(['postgres: walreceiver streaming 0/5000148']);
    const p = run(pm);
    await until(state);
    process.kill(pm, 'SIGSTOP');
    await until(() => (state() ? undefined : true));
    process.kill(pm, 'SIGCONT');
    await until(state);
    process.kill(-pm, 'SIGKILL');
    const code = await new Promise((r) => p.once('exit', r));
    expect(code).toBe(0);
  });
});

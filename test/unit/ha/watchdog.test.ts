/** watchdog.sh against a fake postmaster (bash with sleeping children) and a fake /proc/uptime. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const WATCHDOG = join(import.meta.dirname, '../../../src/lib/ha/watchdog.sh');

let dir: string;
let procs: ChildProcess[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kpg-watchdog-'));
  mkdirSync(join(dir, 'pgdata'));
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

/** Running, or stopped: anything but gone or a zombie waiting to be reaped. */
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\S+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
};

/** The one-letter state of a process (T: stopped). */
const state = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0];

/** A "postmaster": bash with two "backends" that, like postgres's, run in their own sessions. */
async function fakePostmaster(): Promise<{ pm: number; backends: number[] }> {
  const p = spawn('bash', ['-c', 'setsid sleep 300 & echo $!; setsid sleep 300 & echo $!; wait'], {
    detached: true,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  procs.push(p);
  const pids = await new Promise<number[]>((resolve) => {
    let out = '';
    p.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const lines = out.trim().split('\n');
      if (lines.length >= 2) resolve(lines.map(Number));
    });
  });
  return { pm: p.pid!, backends: pids };
}

function watchdog(
  pm: number,
  stopFile?: string,
): Promise<{ code: number | null; stderr: string }> & { proc: ChildProcess } {
  const args = [WATCHDOG, join(dir, 'deadline'), String(pm), ...(stopFile ? [stopFile] : [])];
  const proc = spawn('bash', args, {
    env: {
      ...process.env,
      PGDATA: join(dir, 'pgdata'),
      KPG_UPTIME_FILE: join(dir, 'uptime'),
      KPG_WATCHDOG_INTERVAL: '0.05',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    proc.on('close', (code) => resolve({ code, stderr })),
  ) as Promise<{ code: number | null; stderr: string }> & { proc: ChildProcess };
  done.proc = proc;
  procs.push(proc);
  return done;
}

/** Replaced whole, as the kernel and the agent (rename) do: never seen half written. */
const atomic = (name: string, text: string) => {
  writeFileSync(join(dir, `${name}.tmp`), text);
  renameSync(join(dir, `${name}.tmp`), join(dir, name));
};
const uptime = (s: string) => atomic('uptime', `${s} 999.00\n`);
const deadline = (s: string) => atomic('deadline', `${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('watchdog.sh', () => {
  it('kills the postmaster and every backend at once when the deadline passes, and exits 3', async () => {
    const { pm, backends } = await fakePostmaster();
    uptime('100.00');
    deadline('106.000');
    const w = watchdog(pm);
    await sleep(300);
    expect(alive(pm)).toBe(true);
    // Renewals move the deadline on.
    uptime('105.90');
    deadline('111.500');
    await sleep(300);
    expect(alive(pm)).toBe(true);
    uptime('111.50');
    const r = await w;
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('the fence deadline 111500ms passed (uptime 111500ms): fencing');
    await sleep(100);
    for (const pid of [pm, ...backends]) expect(alive(pid)).toBe(false);
  });

  it('stops every child of the postmaster in its first kill, from the kernel’s list', async () => {
    // A thawed pod runs its backends at once: the /proc scan that follows
    // is too slow to be the first stop (a CI run saw a thawed old primary
    // acknowledge rows while it ran, because this first stop read nothing).
    const { pm, backends } = await fakePostmaster();
    const r = spawnSync('bash', ['-c', `source ${WATCHDOG}; stop_children_now ${pm}`], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    // A signal is taken when its target next runs: on a loaded machine, a moment later.
    const until = Date.now() + 3000;
    while (Date.now() < until && !backends.every((pid) => state(pid) === 'T')) await sleep(10);
    for (const pid of backends) expect(state(pid)).toBe('T');
    expect(state(pm)).not.toBe('T');
  });

  it('lets the WAL senders stream what is flushed, with every backend already stopped, then kills them', async () => {
    // A backend, and a busy WAL sender (titled as postgres titles one).
    const p = spawn(
      'bash',
      [
        '-c',
        'setsid sleep 300 & echo $!; (exec -a "postgres: walsender replicator 10.0.0.2(5) streaming 0/3000000" bash -c "while :; do :; done") & echo $!; wait',
      ],
      { detached: true, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    procs.push(p);
    const [backend, sender] = await new Promise<number[]>((resolve) => {
      let out = '';
      p.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const lines = out.trim().split('\n');
        if (lines.length >= 2) resolve(lines.map(Number));
      });
    });
    const state = (pid: number) => {
      try {
        return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0];
      } catch {
        return 'gone';
      }
    };
    uptime('100.00');
    deadline('99.900');
    const started = Date.now();
    const w = watchdog(p.pid!);
    let seen = false;
    while (Date.now() - started < 3000 && !seen) {
      seen = state(backend!) === 'T' && state(sender!) === 'R';
      await sleep(10);
    }
    expect(seen, 'the backend stopped while the WAL sender still ran').toBe(true);
    const r = await w;
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('1 WAL sender(s) streamed what was flushed');
    // The busy sender got the whole grace (1 s), and not much more (a loaded machine adds some).
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(Date.now() - started).toBeLessThan(4000);
    await sleep(100);
    for (const pid of [p.pid!, backend!, sender!]) expect(alive(pid)).toBe(false);
  });

  it('gives the WAL senders no grace when the deadline passed long ago, or on "now"', async () => {
    // A pod thawed after a freeze: a successor may be primary already, and a
    // standby still attached to this one must not get what it commits now.
    for (const d of ['95.000', '0']) {
      const { pm, backends } = await fakePostmaster();
      uptime('100.00');
      deadline(d);
      const started = Date.now();
      const r = await watchdog(pm);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/fenced \d+\.\d{3}s after the deadline: no WAL sent/);
      expect(Date.now() - started).toBeLessThan(1000);
      await sleep(100);
      for (const pid of [pm, ...backends]) expect(alive(pid)).toBe(false);
    }
  });

  it('fences at once when the deadline file is missing or unreadable', async () => {
    const { pm, backends } = await fakePostmaster();
    uptime('100.00');
    const r = await watchdog(pm);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('no readable deadline');
    await sleep(100);
    for (const pid of [pm, ...backends]) expect(alive(pid)).toBe(false);
  });

  it('fences on the agent’s "now" (0)', async () => {
    const { pm } = await fakePostmaster();
    uptime('100.00');
    deadline('0.000');
    expect((await watchdog(pm)).code).toBe(3);
  });

  it('never fences a standby, whatever the deadline says; fences it once promoted', async () => {
    const { pm, backends } = await fakePostmaster();
    writeFileSync(join(dir, 'pgdata', 'standby.signal'), '');
    uptime('100.00');
    deadline('0.000');
    const w = watchdog(pm);
    await sleep(300);
    expect(alive(pm)).toBe(true);
    // Promoted (postgres removed standby.signal) without a renewal: fenced.
    rmSync(join(dir, 'pgdata', 'standby.signal'));
    expect((await w).code).toBe(3);
    await sleep(100);
    for (const pid of [pm, ...backends]) expect(alive(pid)).toBe(false);
  });

  it('asks a standby for a fast shutdown (SIGINT) once the stop file appears, and exits 0 after it', async () => {
    const { pm } = await fakePostmaster();
    writeFileSync(join(dir, 'pgdata', 'standby.signal'), '');
    uptime('100.00');
    deadline('0.000');
    const stop = join(dir, 'stop-request');
    const w = watchdog(pm, stop);
    await sleep(300);
    expect(alive(pm)).toBe(true);
    atomic('stop-request', 'rewind\n');
    const r = await w;
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('fast shutdown of postmaster');
    expect(r.stderr).toContain('(rewind)');
  });

  it('refuses to run without PGDATA', async () => {
    const r = await new Promise<number | null>((resolve) => {
      const env = { ...process.env };
      delete env.PGDATA;
      spawn('bash', [WATCHDOG, 'x', '1'], { env, stdio: 'ignore' }).on('close', resolve);
    });
    expect(r).toBe(2);
  });

  it('exits 0 when the postmaster ends by itself', async () => {
    const p = spawn('sleep', ['0.3']);
    procs.push(p);
    uptime('100.00');
    deadline('200.000');
    const r = await watchdog(p.pid!);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('exited by itself');
  });
});

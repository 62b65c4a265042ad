// The spool protocol between the postgres container (wal.sh) and the storage
// sidecar (storage.sh), run for real with rclone's local backend: what is
// archived is stored before wal.sh says so, a missing WAL file is "not
// found" (1) and an unreadable archive an error that stops recovery (130),
// a failure is kept for describe, and a restore picks the newest backup
// that ended before its target.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bash } from './bash.js';

const scripts = join(import.meta.dirname, '../../../src/lib/render/scripts');
let dir = '';
let serve: ChildProcess | undefined;
const wal = (args: string) =>
  bash(`cd "${dir}/pgdata" && bash "${scripts}/wal.sh" ${args}`, { KPG_SPOOL: `${dir}/spool` });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kpg-spool-'));
  for (const d of ['spool', 'pgdata/pg_wal', 'arc', 'src/wal'])
    mkdirSync(join(dir, d), { recursive: true });
  serve = spawn('sh', [join(scripts, 'storage.sh'), 'serve'], {
    env: {
      ...process.env,
      KPG_SPOOL: join(dir, 'spool'),
      PGDATA: join(dir, 'pgdata'),
      KPG_ARC_KIND: 'local',
      KPG_ARC_ROOT: join(dir, 'arc'),
      KPG_SRC_KIND: 'local',
      KPG_SRC_ROOT: join(dir, 'src'),
    },
    stdio: 'ignore',
  });
});

afterAll(() => {
  serve?.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

describe('archive_command through the sidecar', () => {
  it('exit 0 once the segment is in the archive, gzipped', async () => {
    writeFileSync(join(dir, 'pgdata/pg_wal/000000010000000000000001'), 'segment one');
    const r = await wal('archive pg_wal/000000010000000000000001 000000010000000000000001');
    expect(r.code).toBe(0);
    const stored = join(dir, 'arc/wal/000000010000000000000001.gz');
    expect(existsSync(stored)).toBe(true);
    expect(readFileSync(join(dir, 'spool/last-archived'), 'utf8')).toMatch(
      /^000000010000000000000001 /,
    );
  });

  it('exit 1 with the reason when the archive cannot take it; the reason stays for describe', async () => {
    writeFileSync(join(dir, 'pgdata/pg_wal/000000010000000000000002'), 'segment two');
    // A file where the archive's wal/ directory should be: no upload can succeed, root's neither.
    rmSync(join(dir, 'arc/wal'), { recursive: true });
    writeFileSync(join(dir, 'arc/wal'), 'not a directory');
    try {
      const r = await wal('archive pg_wal/000000010000000000000002 000000010000000000000002');
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/archiving 000000010000000000000002 failed/);
      expect(readFileSync(join(dir, 'spool/last-error'), 'utf8')).toMatch(
        /000000010000000000000002/,
      );
    } finally {
      rmSync(join(dir, 'arc/wal'));
    }
    // Fixed: the same segment goes, and the error is cleared.
    expect(
      (await wal('archive pg_wal/000000010000000000000002 000000010000000000000002')).code,
    ).toBe(0);
    expect(existsSync(join(dir, 'spool/last-error'))).toBe(false);
  });
});

describe('a promotion (its .history file archived)', () => {
  it("stores the former timeline's segments the archive lacks, not the new timeline's", async () => {
    const w = (f: string) => writeFileSync(join(dir, 'pgdata/pg_wal', f), f);
    // ...01 and ...02 were archived above; ...03 never was (the old primary died first).
    w('000000010000000000000003');
    w('000000010000000000000004.partial');
    w('000000020000000000000004');
    w('00000002.history');
    expect((await wal('archive pg_wal/00000002.history 00000002.history')).code).toBe(0);
    const stored = (f: string) => existsSync(join(dir, 'arc/wal', `${f}.gz`));
    for (let i = 0; i < 100 && !stored('000000010000000000000004.partial'); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(stored('00000002.history')).toBe(true);
    expect(stored('000000010000000000000003')).toBe(true);
    expect(stored('000000010000000000000004.partial')).toBe(true);
    expect(stored('000000020000000000000004')).toBe(false);
  });
});

describe('restore_command through the sidecar', () => {
  it('restores a file of the source archive (gunzipped), 1 for one it lacks', async () => {
    writeFileSync(
      join(dir, 'src/wal/00000002.history.gz'),
      gzipSync('1\t0/3000000\tno recovery target specified\n'),
    );
    expect((await wal('fetch 00000002.history pg_wal/RECOVERYHISTORY')).code).toBe(0);
    expect(readFileSync(join(dir, 'pgdata/pg_wal/RECOVERYHISTORY'), 'utf8')).toMatch(
      /^1\t0\/3000000/,
    );
    expect((await wal('fetch 00000003.history pg_wal/RECOVERYHISTORY')).code).toBe(1);
  });
});

describe('the base backup a restore starts from', () => {
  const backup = (id: string, epoch: number, xid: number) => {
    const d = join(dir, 'src/basebackups', id);
    mkdirSync(d, { recursive: true });
    writeFileSync(
      join(d, 'backup.info'),
      `id=${id}\nstop_time=t\nstop_epoch=${epoch}\nnext_xid=${xid}\n`,
    );
    return d;
  };
  const restore = async (lines: string) => {
    const r = await bash(`source "${scripts}/wal.sh"; spool_request base "${lines}" 20`, {
      KPG_SPOOL: `${dir}/spool`,
    });
    return r;
  };

  it('none: a clear refusal naming kpg backup', async () => {
    const r = await restore(`dest=${dir}/stage0\ntime_epoch=\nxid=`);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/no base backup .* ended before the target: take one with kpg backup/);
  });

  it('the newest that ended before the time or transaction; the newest of all without a target', async () => {
    for (const [id, epoch, xid] of [
      ['A', 100, 10],
      ['B', 200, 20],
      ['C', 300, 30],
    ] as const) {
      const d = backup(id, epoch, xid);
      await bash(
        `mkdir -p "${d}/x" && echo ${id} > "${d}/x/PG_VERSION" && tar -C "${d}/x" -cf "${d}/base.tar" PG_VERSION`,
      );
    }
    const cases: [string, string][] = [
      ['time_epoch=250\nxid=', 'B'],
      ['time_epoch=\nxid=25', 'B'],
      ['time_epoch=\nxid=', 'C'],
      ['time_epoch=100\nxid=', 'A'],
    ];
    for (const [target, want] of cases) {
      const dest = join(dir, `stage-${want}-${cases.indexOf([target, want])}`);
      const r = await restore(`dest=${dest}\n${target}`);
      expect(r.code, r.stdout).toBe(0);
      expect(r.stdout).toContain(`id=${want}`);
      expect(readFileSync(join(dest, 'PG_VERSION'), 'utf8').trim()).toBe(want);
    }
    const none = await restore(`dest=${dir}/stage-none\ntime_epoch=50\nxid=`);
    expect(none.code).toBe(2);
  });
});

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { extract, lineTime, readWindow } from '../../cluster/log-window.js';

/** Local time from [year, month, day, hour, minute, second, ms]. */
const local = (...f: [number, number, number, number, number, number, number?]) =>
  new Date(f[0], f[1] - 1, f[2], f[3], f[4], f[5], f[6] ?? 0).getTime();
const now = local(2026, 12, 1, 10, 0, 0);

describe('lineTime', () => {
  it('reads klog lines (local time, no year) with their level', () => {
    expect(lineTime('I1201 09:30:00.123456   42 x.go:1] hi', now)).toEqual({
      ms: local(2026, 12, 1, 9, 30, 0, 123),
      level: 'info',
    });
    expect(lineTime('W1201 09:30:01.000001   42 x.go:1] hm', now)?.level).toBe('warn');
    expect(lineTime('E1201 09:30:01.000001   42 x.go:1] no', now)?.level).toBe('error');
    // Read in January, a December line is last year's.
    expect(lineTime('I1231 23:59:59.000000 1 x.go:1] y', local(2027, 1, 1, 0, 0, 5))?.ms).toBe(
      local(2026, 12, 31, 23, 59, 59),
    );
  });

  it("reads Go's log package, etcd's JSON, cluster.sh's markers and CRI pod lines", () => {
    expect(lineTime('2026/12/01 09:30:02 relay: dial x: connection refused', now)).toEqual({
      ms: local(2026, 12, 1, 9, 30, 2),
      level: 'error',
    });
    expect(lineTime('2026/12/01 09:30:02 provisioner: created PV', now)?.level).toBe('info');
    expect(
      lineTime('{"level":"warn","ts":"2026-12-01T09:30:03.250000Z","msg":"slow"}', now),
    ).toEqual({ ms: Date.UTC(2026, 11, 1, 9, 30, 3, 250), level: 'warn' });
    expect(
      lineTime('==== 2026-12-01T09:30:04Z kube-scheduler exited with 1, restarting in 1s', now),
    ).toEqual({ ms: Date.UTC(2026, 11, 1, 9, 30, 4), level: 'warn' });
    expect(lineTime('2026-12-01T09:30:05.123456789Z stdout F LOG:  ready', now)?.ms).toBe(
      Date.UTC(2026, 11, 1, 9, 30, 5, 123),
    );
    expect(lineTime('\tgoroutine 1 [running]:', now)).toBeUndefined();
  });
});

describe('cutting logs to a window', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kpg-log-window-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const iso = (ms: number) => new Date(ms).toISOString();
  const t0 = Date.UTC(2026, 11, 1, 9, 0, 0);

  it('reads back only as far as the window and keeps untimed lines with their line', () => {
    const lines: string[] = [];
    // 30 000 lines, one every 100 ms, a stack trace after each 1000th: several MB.
    for (let i = 0; i < 30_000; i++) {
      lines.push(
        `{"level":"info","ts":"${iso(t0 + i * 100)}","msg":"line ${i} ${'x'.repeat(80)}"}`,
      );
      if (i % 1000 === 999) lines.push('\tat somewhere');
    }
    const file = join(dir, 'etcd.log');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const got = readWindow(file, t0 + 2_000_000, t0 + 2_000_500);
    expect(got.map((l) => /line (\d+)/.exec(l)?.[1] ?? l)).toEqual([
      '20000',
      '20001',
      '20002',
      '20003',
      '20004',
      '20005',
    ]);
    const trace = readWindow(file, t0 + 99_900, t0 + 100_000);
    expect(trace).toHaveLength(3);
    expect(trace[1]).toBe('\tat somewhere');
  });

  it("excerpts the namespace's lines and warnings, and every pod line", () => {
    const logs = join(dir, 'logs');
    mkdirSync(join(logs, 'pods', 'fo-x-1_pg-0_uid1', 'postgres'), { recursive: true });
    mkdirSync(join(logs, 'pods', 'other-2_pg-0_uid2', 'postgres'), { recursive: true });
    const d = new Date(t0 + 10_000);
    const klog = (l: string, ms: number, msg: string) => {
      const t = new Date(ms);
      const p = (n: number, w = 2) => String(n).padStart(w, '0');
      return `${l}${p(t.getMonth() + 1)}${p(t.getDate())} ${p(t.getHours())}:${p(t.getMinutes())}:${p(t.getSeconds())}.${p(t.getMilliseconds(), 3)}000 1 f.go:1] ${msg}`;
    };
    writeFileSync(
      join(logs, 'kube-apiserver.log'),
      [
        klog('I', t0, 'before the window: fo-x-1'),
        klog('I', d.getTime(), 'GET /api/v1/namespaces/fo-x-1/pods'),
        klog('I', d.getTime() + 1, 'GET /api/v1/namespaces/other-2/pods'),
        klog('W', d.getTime() + 2, 'something odd'),
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(logs, 'pods', 'fo-x-1_pg-0_uid1', 'postgres', '0.log'),
      `${iso(t0 + 10_500)} stderr F LOG:  database system is ready\n`,
    );
    writeFileSync(
      join(logs, 'pods', 'other-2_pg-0_uid2', 'postgres', '0.log'),
      `${iso(t0 + 10_500)} stderr F LOG:  not ours\n`,
    );
    const cut = extract({
      logDirs: [join(dir, 'no-logs.prev'), logs],
      namespaces: ['fo-x-1'],
      fromMs: t0 + 5_000,
      toMs: t0 + 20_000,
    });
    const ex = cut.excerpt.join('\n');
    expect(ex).toContain('kube-apiserver | I');
    expect(ex).toContain('namespaces/fo-x-1/pods');
    expect(ex).toContain('something odd');
    expect(ex).not.toContain('other-2');
    expect(ex).not.toContain('before the window');
    expect(ex).toContain('fo-x-1/pg-0/postgres | LOG:  database system is ready');
    expect(ex).not.toContain('not ours');
    expect(cut.full.join('\n')).toContain('namespaces/other-2/pods');
  });
});

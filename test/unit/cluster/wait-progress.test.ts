import { describe, expect, it } from 'vitest';
import { Progress, fitLine } from '../../../src/lib/cli/progress.js';
import { evaluateWait, isDone, type Observation } from '../../../src/lib/cluster/wait.js';
import { parseDuration } from '../../../src/lib/cli/duration.js';

const pods = (n: number, ready: number) =>
  Array.from({ length: n }, (_, i) => ({
    name: `pg-${i}`,
    running: true,
    ready: i < ready,
    role: i === 0 ? 'primary' : 'replica',
  }));
const obs = (over: Partial<Observation> = {}): Observation => ({
  replicas: 3,
  primary: 'pg-0',
  pods: pods(3, 0),
  ...over,
});

describe('evaluateWait', () => {
  it('is not done while a Ready pod has no role label yet', () => {
    const replication = {
      rows: [
        { standby: 'pg-1', state: 'streaming' },
        { standby: 'pg-2', state: 'streaming' },
      ],
    } as unknown as Observation['replication'];
    const all = pods(3, 3);
    const base = { probe: { writable: true, inRecovery: false }, replication };
    expect(isDone(evaluateWait(obs({ ...base, pods: all })))).toBe(true);
    const [p0, p1, p2] = all;
    const steps = evaluateWait(obs({ ...base, pods: [p0!, p1!, { ...p2!, role: undefined }] }));
    expect(isDone(steps)).toBe(false);
    expect(steps.at(-1)).toMatchObject({
      id: 'ready',
      state: 'running',
      detail: '3/3 Ready, 1 without a role label yet',
    });
  });

  it('the running step shows what the cluster says holds it up', () => {
    const s = evaluateWait(
      obs({
        pods: pods(2, 0),
        blockers: [
          {
            object: 'pod/pg-2',
            kind: 'unschedulable',
            reason: 'Unschedulable',
            message: '0/3 nodes are available: 3 Insufficient cpu.',
            fatal: false,
            advice: 'free capacity',
          },
        ],
      }),
    );
    expect(s[0]).toMatchObject({
      id: 'pods',
      state: 'running',
      detail: '2/3 running; pod/pg-2 Unschedulable: 0/3 nodes are available: 3 Insufficient cpu.',
    });
    expect(s[1]?.detail).not.toMatch(/Unschedulable/);
  });

  it('waits for the primary to accept writes, not for readiness', () => {
    const s = evaluateWait(obs({ pods: pods(3, 3), probe: { writable: false, inRecovery: true } }));
    expect(s.map((x) => [x.id, x.state])).toEqual([
      ['pods', 'done'],
      ['primary', 'running'],
      ['streaming', 'pending'],
      ['ready', 'pending'],
    ]);
  });

  it('streaming counts pg_stat_replication rows in state streaming only', () => {
    const s = evaluateWait(
      obs({
        pods: pods(3, 3),
        probe: { writable: true, inRecovery: false, txid: 1 },
        replication: {
          rows: [
            { standby: 'pg-1', state: 'streaming' },
            { standby: 'pg-2', state: 'catchup' },
          ],
        },
      }),
    );
    expect(s.find((x) => x.id === 'streaming')).toMatchObject({
      state: 'running',
      detail: '1/2 (pg-1)',
    });
    expect(isDone(s)).toBe(false);
  });

  it('done when everything holds', () => {
    const s = evaluateWait(
      obs({
        pods: pods(3, 3),
        probe: { writable: true, inRecovery: false, txid: 1 },
        replication: {
          rows: [
            { standby: 'pg-1', state: 'streaming' },
            { standby: 'pg-2', state: 'streaming' },
          ],
        },
      }),
    );
    expect(isDone(s)).toBe(true);
  });

  it('one server: no streaming step', () => {
    const s = evaluateWait({
      replicas: 1,
      primary: 'pg-0',
      pods: pods(1, 1),
      probe: { writable: true, inRecovery: false },
    });
    expect(s.map((x) => x.id)).toEqual(['pods', 'primary', 'ready']);
    expect(isDone(s)).toBe(true);
  });
});

describe('Progress', () => {
  const sink = (isTTY: boolean) => {
    const chunks: string[] = [];
    return { chunks, stream: { isTTY, write: (s: string) => chunks.push(s) } };
  };

  it('without a terminal: one plain line per finished step, with its duration', () => {
    let t = 0;
    const s = sink(false);
    const p = new Progress(s.stream, { tty: false, color: false, enabled: true, now: () => t });
    p.update([{ id: 'a', title: 'pods started', state: 'running' }]);
    t = 1500;
    p.update([
      { id: 'a', title: 'pods started', state: 'done' },
      { id: 'b', title: 'primary', state: 'running' },
    ]);
    t = 4000;
    p.update([
      { id: 'a', title: 'pods started', state: 'done' },
      { id: 'b', title: 'primary', state: 'done' },
    ]);
    p.stop();
    expect(s.chunks.join('')).toBe('done: pods started (1.5s)\ndone: primary (2.5s)\n');
    expect(p.durations()).toEqual({ a: 1500, b: 2500 });
  });

  it('on a terminal: redraws a task list in place', () => {
    const s = sink(true);
    const p = new Progress(s.stream, {
      tty: true,
      color: false,
      enabled: true,
      now: () => 0,
      tickMs: 0,
    });
    p.update([{ id: 'a', title: 'pods started', state: 'running', detail: '1/3 running' }]);
    p.update([{ id: 'a', title: 'pods started', state: 'done' }]);
    const out = s.chunks.join('');
    expect(out).toContain('pods started 0ms — 1/3 running');
    expect(out).toContain('\u001b[1A\u001b[0J');
    expect(out).toContain('✔ pods started');
  });

  it('on a terminal: no line wider than the terminal, so the redraw covers it (issue 16, item 13)', () => {
    const s = { ...sink(true) };
    const stream = Object.assign(s.stream, { columns: 30 });
    const p = new Progress(stream, {
      tty: true,
      color: true,
      enabled: true,
      now: () => 0,
      tickMs: 0,
    });
    const long = 'waiting for ha-postgres-2 to stream from the primary (it is still cloning)';
    p.update([{ id: 'a', title: 'standbys streaming', state: 'running', detail: long }]);
    p.update([{ id: 'a', title: 'standbys streaming', state: 'running', detail: long }]);
    const frames = s.chunks.join('').split('\u001b[1A\u001b[0J');
    for (const f of frames) {
      // eslint-disable-next-line no-control-regex
      const visible = f.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '').replace(/\n$/, '');
      expect([...visible].length).toBeLessThanOrEqual(29);
    }
    // Two frames, the second drawn over the first: one row each.
    expect(frames).toHaveLength(2);
    expect(frames[1]?.endsWith('…\u001b[0m\n')).toBe(true);
    expect(frames[1]).toContain('standbys streaming');
  });

  it('fitLine leaves a line that fits alone and counts no escape sequence', () => {
    expect(fitLine('\u001b[32m✔\u001b[39m ok', 5)).toBe('\u001b[32m✔\u001b[39m ok');
    expect(fitLine('abcdef', 5)).toBe('abc…\u001b[0m');
    expect(fitLine('abcdef', undefined)).toBe('abcdef');
  });

  it('disabled (-o json): nothing', () => {
    const s = sink(false);
    const p = new Progress(s.stream, { tty: false, color: false, enabled: false });
    p.update([{ id: 'a', title: 'x', state: 'done' }]);
    p.stop(true);
    expect(s.chunks).toEqual([]);
  });
});

describe('parseDuration', () => {
  it.each([
    ['10m', 600_000],
    ['90s', 90_000],
    ['1h30m', 5_400_000],
    ['1500ms', 1500],
    ['45', 45_000],
    ['24h', 86_400_000],
  ])('%s', (t, ms) => expect(parseDuration(t)).toBe(ms));
  it('refuses garbage', () => expect(() => parseDuration('ten minutes')).toThrow(/not a duration/));
  it('refuses waits shorter than 1s or longer than 24h, naming the flag', () => {
    expect(() => parseDuration('1ms', '--timeout')).toThrow(
      '--timeout "1ms" is too short: it must be between 1s and 24h',
    );
    expect(() => parseDuration('0', '--salvage-timeout')).toThrow(
      /--salvage-timeout "0" is too short/,
    );
    // 600h would overflow setTimeout (2^31-1 ms) and fire at once.
    expect(() => parseDuration('600h')).toThrow(
      '--timeout "600h" is too long: it must be between 1s and 24h',
    );
    expect(() => parseDuration('24h1ms')).toThrow(/too long/);
  });
  it('takes other bounds', () => {
    expect(parseDuration('500ms', '--x', { minMs: 0, maxMs: 1000 })).toBe(500);
    expect(() => parseDuration('2s', '--x', { minMs: 0, maxMs: 1000 })).toThrow(
      'between 0s and 1s',
    );
  });
});

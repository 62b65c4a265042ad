/** kpg logs' pure parts: timestamps parsed, lines prefixed and merged in time order. */
import { describe, expect, it } from 'vitest';
import { mergeLogs, normalizeTs, parseLogLines } from '../../../src/lib/cluster/logs.js';

describe('parseLogLines', () => {
  it('splits the API timestamp from the text; a line without one keeps the last', () => {
    const lines = parseLogLines(
      '2026-12-02T07:00:00.5Z first\ncontinued\n2026-12-02T07:00:01.000000001Z second\n',
    );
    expect(lines).toEqual([
      { ts: '2026-12-02T07:00:00.500000000Z', text: 'first' },
      { ts: '2026-12-02T07:00:00.500000000Z', text: 'continued' },
      { ts: '2026-12-02T07:00:01.000000001Z', text: 'second' },
    ]);
  });

  it('normalizes to a fixed width, so that text order is time order', () => {
    expect(normalizeTs('2026-12-02T07:00:00Z')).toBe('2026-12-02T07:00:00.000000000Z');
    expect(normalizeTs('2026-12-02T09:00:00.25+02:00')).toBe('2026-12-02T07:00:00.250000000Z');
  });
});

describe('mergeLogs', () => {
  it('merges by time, each line prefixed by pod, role and container, aligned', () => {
    const out = mergeLogs([
      {
        source: { pod: 'pg-0', role: 'primary', container: 'postgres' },
        lines: parseLogLines('2026-12-02T07:00:02Z b\n2026-12-02T07:00:04Z d\n'),
      },
      {
        source: { pod: 'pg-1', role: 'replica', container: 'kpg-agent' },
        lines: parseLogLines('2026-12-02T07:00:01Z a\n2026-12-02T07:00:03Z c\n'),
      },
    ]);
    expect(out).toEqual([
      '[pg-1/replica/kpg-agent] a',
      '[pg-0/primary/postgres]  b',
      '[pg-1/replica/kpg-agent] c',
      '[pg-0/primary/postgres]  d',
    ]);
  });

  it('--timestamps keeps them; a pod without a role label has none in its prefix', () => {
    const out = mergeLogs(
      [
        {
          source: { pod: 'pg-2', container: 'postgres' },
          lines: parseLogLines('2026-12-02T07:00:00Z x\n'),
        },
      ],
      { timestamps: true },
    );
    expect(out).toEqual(['[pg-2/postgres] 2026-12-02T07:00:00.000000000Z x']);
  });
});

/** The split-brain checker's verdict (test/e2e/agent/checker.ts), on hand-made probe logs. */
import { describe, expect, it } from 'vitest';
import {
  parseProbes,
  splitBrain,
  stepProblems,
  THAW_WINDOW_MS,
  verdict,
} from '../../../test/e2e/agent/checker.js';

const log = (lines: string[]) => verdict(parseProbes(lines.join('\n')));

describe('checker verdict', () => {
  it('passes a clean handover and fails two writable pods in one 100 ms slot', () => {
    const clean = log([
      '10.00 pg-0 10.0.0.1 W 10.01',
      '10.10 pg-1 10.0.0.2 R -',
      '12.00 pg-1 10.0.0.2 W 12.05',
    ]);
    expect(splitBrain(clean)).toEqual([]);
    const both = log(['10.00 pg-0 10.0.0.1 W 10.01', '10.00 pg-1 10.0.0.2 W 10.05']);
    expect(splitBrain(both)[0]).toContain('accepted writes at 10');
  });

  it('fails an old primary that writes again after the new one (no switch back expected)', () => {
    const v = log([
      '10.00 pg-0 10.0.0.1 W 10.01',
      '12.00 pg-1 10.0.0.2 W 12.05',
      '13.00 pg-0 10.0.0.1 W 13.01',
    ]);
    expect(splitBrain(v)).toHaveLength(1);
  });

  it('counts a thawed pod’s writes within the thaw window apart, and fails any later one', () => {
    const lines = [
      '10.00 pg-0 10.0.0.1 W 10.01',
      '22.00 pg-1 10.0.0.2 W 22.05',
      '22.09 pg-0 10.0.0.1 W 22.102',
      '22.20 pg-1 10.0.0.2 W 22.25',
    ];
    const thaw = [{ pod: 'pg-0', ip: '10.0.0.1', atS: 22.1 }];
    const v = verdict(parseProbes(lines.join('\n')), thaw);
    expect(splitBrain(v)).toEqual([]);
    expect(v.thawed).toEqual([{ pod: 'pg-0@10.0.0.1', count: 1, lastMs: 2 }]);
    // Without the thaw, or past its window, or by another pod: split brain.
    expect(splitBrain(verdict(parseProbes(lines.join('\n'))))).not.toEqual([]);
    const late = 22.1 + THAW_WINDOW_MS / 1000 + 0.05;
    const after = [...lines.slice(0, 2), `${late} pg-0 10.0.0.1 W ${late}`];
    expect(splitBrain(verdict(parseProbes(after.join('\n')), thaw))).not.toEqual([]);
    const other = [{ pod: 'pg-2', ip: '10.0.0.3', atS: 22.1 }];
    expect(splitBrain(verdict(parseProbes(lines.join('\n')), other))).not.toEqual([]);
  });

  it('judges several failovers step by step, allowing a pod to serve again in a later step', () => {
    const v = log([
      '10.00 pg-0 10.0.0.1 W 10.01',
      '12.00 pg-1 10.0.0.2 W 12.05',
      '20.00 pg-0 10.0.0.1 W 20.05',
    ]);
    const steps = [
      { from: 'pg-0', to: 'pg-1', atS: 11 },
      { from: 'pg-1', to: 'pg-0', atS: 19 },
    ];
    expect(stepProblems(v, steps)).toEqual([]);
    const late = log([
      '10.00 pg-0 10.0.0.1 W 10.01',
      '12.00 pg-1 10.0.0.2 W 12.05',
      '12.50 pg-0 10.0.0.1 W 12.55',
    ]);
    expect(stepProblems(late, [{ from: 'pg-0', to: 'pg-1', atS: 11 }])[0]).toContain(
      'after pg-1 took its first',
    );
  });
});

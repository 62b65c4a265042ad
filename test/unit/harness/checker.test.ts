/** The split-brain checker's verdict (test/e2e/agent/checker.ts), on hand-made probe logs. */
import { describe, expect, it } from 'vitest';
import { parseProbes, splitBrain, stepProblems, verdict } from '../../../test/e2e/agent/checker.js';

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

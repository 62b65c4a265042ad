import { describe, expect, it } from 'vitest';
import type { FailoverResult } from '../../../src/lib/failover/index.js';
import { DEFAULT_MAX_LAG, planOperation } from '../../../src/lib/failover/plan.js';
import { planLines, summaryLine } from '../../../src/lib/failover/render.js';
import { downOf, standbyOf } from './helpers.js';

const base: FailoverResult = {
  cluster: 'ha-postgres',
  namespace: 'demo',
  kind: 'switchover',
  dryRun: false,
  resumed: false,
  rolledBack: false,
  oldPrimary: 'ha-postgres-0',
  newPrimary: 'ha-postgres-1',
  oldPrimaryHealth: 'healthy',
  why: 'x',
  timeline: 3,
  lsn: {},
  lagBytes: 0,
  possibleLossBytes: 0,
  forced: false,
  steps: [],
  totalMs: 1400,
  rejoined: [],
  notRejoined: [],
  warnings: [],
};

describe('render', () => {
  it('prints the one-line summary', () => {
    expect(summaryLine(base)).toBe(
      'switched over ha-postgres: ha-postgres-0 → ha-postgres-1 (timeline 3, 1.4s)',
    );
    expect(summaryLine({ ...base, kind: 'failover', possibleLossBytes: 4096 })).toBe(
      'failed over ha-postgres: ha-postgres-0 → ha-postgres-1 (timeline 3, 1.4s, up to 4096 bytes may be lost)',
    );
    expect(summaryLine({ ...base, rolledBack: true })).toMatch(
      /^rolled back ha-postgres: ha-postgres-0 is the primary/,
    );
  });
  it('prints the plan with target, why and expected loss', () => {
    const plan = planOperation({
      recordPrimary: 'pg-0',
      members: [downOf('pg-0'), standbyOf('pg-1', '0/5000000'), standbyOf('pg-2', '0/5000100')],
      options: { force: false, maxLagBytes: DEFAULT_MAX_LAG, synchronous: false },
    });
    const text = planLines(plan).join('\n');
    expect(text).toMatch(/^failover of the primary pg-0 \(down/);
    expect(text).toMatch(/new primary: {3}pg-2 — most advanced/);
    expect(text).toMatch(/expected loss: none known/);
    expect(text).toMatch(/pg-1: standby, lag 256 B/);
  });
});

import { describe, expect, it } from 'vitest';
import { dormantTable, runningAndDormantText } from '../../../src/lib/cluster/dormant.js';

const now = new Date('2026-12-03T12:00:00Z');
const d = {
  name: 'pg',
  namespace: 'demo',
  version: '15',
  terminationPolicy: 'Pause',
  volumes: ['data-pg-0', 'data-pg-1'],
  createdAt: '2026-12-03T11:00:00Z',
};

describe('kpg get drmn', () => {
  it('NAME, VERSION, POLICY, VOLUMES, AGE (NAMESPACE with -A)', () => {
    expect(dormantTable([d], { now, allNamespaces: false }).split('\n')).toEqual([
      'NAME   VERSION   POLICY   VOLUMES   AGE',
      'pg     15        Pause    2         60m',
    ]);
    expect(dormantTable([d], { now, allNamespaces: true })).toMatch(/^NAME\s+NAMESPACE\s+VERSION/);
  });

  it('-o name says which kind each is', () => {
    expect(
      runningAndDormantText([], [d], {
        name: true,
        wide: false,
        now,
        allNamespaces: false,
        color: false,
      }),
    ).toBe('dormantdatabase/pg');
  });
});

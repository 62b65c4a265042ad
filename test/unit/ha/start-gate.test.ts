/** The start gate: primary only while holding; replica once another pod holds or the record names another; else wait. */
import { describe, expect, it } from 'vitest';
import {
  LeaseAnnotation,
  snapshotOf,
  startGate,
  type Observed,
} from '../../../src/lib/ha/index.js';
import { POLICY, identity, standby } from './fakes.js';

function observed(
  holder: string | undefined,
  recordPrimary: string,
  unchangedForMs = 1000,
): Observed {
  return {
    self: identity('pg-0', 'uid-new'),
    policy: POLICY,
    lease: {
      readable: true,
      snapshot: snapshotOf({
        metadata: { resourceVersion: '3', annotations: { [LeaseAnnotation.lsn]: '0/3000000' } },
        spec: holder ? { holderIdentity: holder } : {},
      }),
      unchangedForMs,
    },
    record: { primary: recordPrimary, timeline: 1 },
    local: { ...standby(), role: 'starting', data: 'primary' },
    peers: [],
  };
}

describe('startGate', () => {
  it('primary while leading; unchanged while acquiring', () => {
    const o = observed('pg-0/uid-new', 'pg-0');
    expect(startGate({ kind: 'lead', step: 'start-primary', reason: '' }, o)).toBe('primary');
    expect(startGate({ kind: 'acquire', as: 'reclaim', reason: '' }, o)).toBeUndefined();
  });
  it('bootstrap (the one gate that initdbs) only over empty data of a cluster never bootstrapped', () => {
    const lead = { kind: 'lead', step: 'start-primary', reason: '' } as const;
    const o = observed('pg-0/uid-new', 'pg-0');
    const empty = { ...o, local: { ...o.local, data: 'empty' as const } };
    expect(startGate(lead, empty)).toBe('bootstrap');
    const had = { ...empty, record: { primary: 'pg-0', timeline: 1, bootstrapped: '42' } };
    expect(startGate(lead, had)).toBe('primary');
    expect(startGate(lead, o)).toBe('primary');
  });
  it('replica once another pod holds the lease, or the record names another pod', () => {
    expect(startGate({ kind: 'follow', reason: '' }, observed('pg-1/u', 'pg-0'))).toBe('replica');
    expect(
      startGate({ kind: 'refuse', reason: '' }, observed('pg-0/uid-old', 'pg-1', 20_000)),
    ).toBe('replica');
  });
  it("wait while this pod's own previous incarnation's lease runs out, or nothing can be read", () => {
    expect(startGate({ kind: 'follow', reason: '' }, observed('pg-0/uid-old', 'pg-0'))).toBe(
      'wait',
    );
    const unreadable: Observed = {
      ...observed(undefined, 'pg-0'),
      lease: { readable: false, error: 'x' },
    };
    expect(startGate({ kind: 'unknown', reason: '' }, unreadable)).toBe('wait');
    expect(startGate({ kind: 'step-down', reason: '' }, observed('pg-0/uid-new', 'pg-0'))).toBe(
      'wait',
    );
  });
});

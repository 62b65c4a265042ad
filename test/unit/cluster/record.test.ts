/** The record ConfigMap's data: what every writer (create, apply, failover, the agent) keeps. */
import { describe, expect, it } from 'vitest';
import { parseRecord, serializeRecord } from '../../../src/lib/cluster/record.js';
import { bootstrappedAs, recordWith } from '../../../src/agent/record.js';

const data = {
  primary: 'pg-0',
  timeline: '2',
  spec: 'kind: Postgres\n',
  generation: '3',
  history: '[]',
};

describe('record', () => {
  it('keeps the bootstrapped system identifier through a parse and a write', () => {
    const r = parseRecord({ ...data, bootstrapped: '7581234567890123456' }, 'pg');
    expect(r.bootstrapped).toBe('7581234567890123456');
    expect(serializeRecord(r).bootstrapped).toBe('7581234567890123456');
    expect(serializeRecord(parseRecord(data, 'pg'))).not.toHaveProperty('bootstrapped');
  });

  it('is marked bootstrapped once by the agent, never replaced', () => {
    const cm = { metadata: { name: 'pg-kpg', resourceVersion: '5' }, data };
    const marked = recordWith(cm, bootstrappedAs('111'));
    expect(marked.data?.bootstrapped).toBe('111');
    expect(marked.metadata?.resourceVersion).toBe('5');
    expect(recordWith(marked, bootstrappedAs('222')).data?.bootstrapped).toBe('111');
  });
});

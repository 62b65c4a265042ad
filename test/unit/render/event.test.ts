import { describe, expect, it } from 'vitest';
import { eventObject } from '../../../src/lib/render/event.js';

describe('eventObject', () => {
  const base = {
    namespace: 'demo',
    involved: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'p', uid: 'u-1' },
    reason: 'Created',
    message: 'kpg create: primary p-0 accepts writes',
    component: 'kpg',
    now: new Date('2026-12-02T10:00:00Z'),
  };

  it('a Normal event on the object, in its namespace, reported by the component', () => {
    expect(eventObject(base)).toMatchObject({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { generateName: 'p.', namespace: 'demo' },
      involvedObject: { kind: 'StatefulSet', name: 'p', uid: 'u-1', namespace: 'demo' },
      type: 'Normal',
      source: { component: 'kpg' },
      firstTimestamp: '2026-12-02T10:00:00.000Z',
      lastTimestamp: '2026-12-02T10:00:00.000Z',
      count: 1,
    });
  });

  it('cuts a message longer than the API server takes', () => {
    const m = eventObject({ ...base, message: 'x'.repeat(5000), type: 'Warning' });
    expect(m.message.length).toBe(1024);
    expect(m.type).toBe('Warning');
  });
});

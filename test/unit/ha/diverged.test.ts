/** divergedStandby: when a standby must stop and rewind onto the primary's timeline. */
import { describe, expect, it } from 'vitest';
import { DIVERGED_AFTER_MS, divergedStandby, snapshotOf } from '../../../src/lib/ha/index.js';
import type { Observed } from '../../../src/lib/ha/types.js';
import { POLICY, identity, standby } from './fakes.js';

const NOW = 100_000;

function observed(
  over: Partial<Observed> = {},
  holder = 'pg-1/uid-pg-1',
  unchangedForMs = 500,
): Observed {
  return {
    self: identity('pg-2'),
    policy: POLICY,
    lease: {
      readable: true,
      snapshot: snapshotOf({
        metadata: { name: 'pg-primary', resourceVersion: '9' },
        spec: { holderIdentity: holder, leaseDurationSeconds: 10 },
      }),
      unchangedForMs,
    },
    record: { primary: 'pg-1', timeline: 2 },
    local: standby({ timeline: 1, streaming: false, lastStreamingMs: NOW - DIVERGED_AFTER_MS - 1 }),
    peers: [],
    ...over,
  };
}

describe('divergedStandby', () => {
  it('stops a standby behind the record’s timeline that has not streamed for a while', () => {
    expect(divergedStandby(observed(), NOW)).toMatch(/timeline 1, the record's is 2.*pg_rewind/);
  });

  it('leaves alone one that streams, that is on the timeline, or that stopped streaming just now', () => {
    expect(
      divergedStandby(observed({ local: standby({ timeline: 1, streaming: true }) }), NOW),
    ).toBeUndefined();
    expect(
      divergedStandby(
        observed({ local: standby({ timeline: 2, streaming: false, lastStreamingMs: 0 }) }),
        NOW,
      ),
    ).toBeUndefined();
    expect(
      divergedStandby(
        observed({
          local: standby({ timeline: 1, streaming: false, lastStreamingMs: NOW - 1000 }),
        }),
        NOW,
      ),
    ).toBeUndefined();
  });

  it('needs a primary holding its lease now: nothing to rewind onto otherwise', () => {
    expect(divergedStandby(observed({}, 'pg-1/uid-pg-1', 20_000), NOW)).toBeUndefined();
    expect(divergedStandby(observed({}, 'pg-2/uid-pg-2'), NOW)).toBeUndefined();
    expect(
      divergedStandby(observed({ lease: { readable: false, error: 'timeout' } }), NOW),
    ).toBeUndefined();
  });
});

/** observeLocal: what the agent remembers between cycles. */
import { describe, expect, it } from 'vitest';
import { observeLocal, type LocalMemory } from '../../../src/agent/local.js';
import type { PgSnapshot } from '../../../src/agent/postgres.js';

const standby = (over: Partial<PgSnapshot> = {}): PgSnapshot => ({
  role: 'standby',
  timeline: 2,
  streaming: true,
  replayPaused: false,
  synchronous: [],
  ...over,
});

describe('observeLocal', () => {
  it('keeps the timeline a standby streamed on once its walreceiver stops (its restartpoint lags)', () => {
    let memory: LocalMemory = { roleSinceMs: 0 };
    memory = observeLocal(standby(), {}, memory, 1000).memory;
    // The primary died: no walreceiver, pg_control_checkpoint() still says 1.
    const after = observeLocal(standby({ timeline: 1, streaming: false }), {}, memory, 2000);
    expect(after.local.timeline).toBe(2);
    expect(after.local.lastStreamingMs).toBe(1000);
  });

  it('reports a primary’s own timeline, and nothing while postgres does not answer', () => {
    const m = observeLocal(standby({ timeline: 3 }), {}, { roleSinceMs: 0 }, 0).memory;
    expect(observeLocal(undefined, {}, m, 1).local.timeline).toBeUndefined();
    expect(
      observeLocal({ ...standby(), role: 'primary', timeline: 4 }, {}, m, 2).local.timeline,
    ).toBe(4);
  });

  it('tells crash recovery (the postmaster started) from the start script preparing', () => {
    const m: LocalMemory = { roleSinceMs: 0 };
    expect(observeLocal(undefined, { startState: 'starting' }, m, 0).local).toMatchObject({
      role: 'starting',
      recovering: true,
    });
    expect(observeLocal(undefined, { startState: 'preparing' }, m, 0).local).toMatchObject({
      role: 'starting',
      recovering: false,
    });
  });
});

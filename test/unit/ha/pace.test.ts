/** When the agent's next cycle runs: every retry period, quicker around a handover. */
import { describe, expect, it } from 'vitest';
import { Pace, POLL_MS, QUICK_MS } from '../../../src/agent/pace.js';
import { World } from './fakes.js';

const RETRY = 1000;

function setup() {
  const world = new World();
  const clock = world.clock();
  const slept: number[] = [];
  const pace = new Pace(clock, RETRY, async (ms) => {
    slept.push(ms);
    world.advance(ms);
  });
  return { world, clock, pace, slept };
}

describe('Pace', () => {
  it('waits a retry period after the start of a cycle, counting the cycle itself', async () => {
    const t = setup();
    const started = t.clock.now();
    t.world.advance(300);
    await t.pace.wait(started, false, () => false);
    expect(t.clock.now() - started).toBe(RETRY);
    expect(Math.max(...t.slept)).toBeLessThanOrEqual(POLL_MS);
  });

  it('steps quickly while a handover is in progress', async () => {
    const t = setup();
    const started = t.clock.now();
    await t.pace.wait(started, true, () => false);
    expect(t.clock.now() - started).toBe(QUICK_MS);
  });

  it('ends a wait early, once, when the pod starts stopping', async () => {
    const t = setup();
    const stopAt = t.clock.now() + 120;
    let seen = false;
    const stoppingNow = () => {
      if (seen) return false;
      seen = t.clock.now() >= stopAt;
      return seen;
    };
    const started = t.clock.now();
    await t.pace.wait(started, false, stoppingNow);
    expect(t.clock.now() - started).toBeLessThanOrEqual(120 + POLL_MS);
    // Still stopping: the next wait is a whole one again.
    const next = t.clock.now();
    await t.pace.wait(next, false, stoppingNow);
    expect(t.clock.now() - next).toBe(RETRY);
  });

  it('after hurry(): the next cycle at once, then quick ones until the window closes', async () => {
    const t = setup();
    t.pace.hurry(2000);
    const started = t.clock.now();
    await t.pace.wait(started, false, () => false);
    expect(t.clock.now()).toBe(started);
    expect(t.pace.intervalMs(false)).toBe(QUICK_MS);
    t.world.advance(2000);
    expect(t.pace.intervalMs(false)).toBe(RETRY);
  });

  it('never waits longer than the retry period, even when it is shorter than a quick step', () => {
    const world = new World();
    const pace = new Pace(world.clock(), 100, async () => {});
    expect(pace.intervalMs(true)).toBe(100);
  });
});

/**
 * When the agent's next cycle runs. Normally every retry period; during a
 * handover quicker, on both sides: the stopping primary steps its handover
 * every QUICK_MS (the shutdown checkpoint appears a moment after the fast
 * shutdown), and a standby that has just confirmed a checkpoint looks for
 * the lease it is about to be handed as often. The pause between the pod's
 * stop and a labelled new primary is a few of these steps instead of a few
 * retry periods. A wait also ends early when the postgres container says
 * the pod is stopping (the preStop hook's file), so the handover starts at once.
 */
import type { HaClock } from '../lib/ha/clock.js';

/** A handover's cycle interval: short, and still a handful of API calls a second. */
export const QUICK_MS = 200;
/** How often a wait looks whether it should end early (a stat of one file). */
export const POLL_MS = 50;

export class Pace {
  private quickUntilMs = Number.NEGATIVE_INFINITY;
  private woken = false;

  constructor(
    private readonly clock: HaClock,
    private readonly retryMs: number,
    private readonly sleep: (ms: number) => Promise<void>,
  ) {}

  /** Cycles come quickly for the next `forMs` (a standby confirmed a checkpoint), the next one at once. */
  hurry(forMs: number): void {
    this.quickUntilMs = Math.max(this.quickUntilMs, this.clock.now() + forMs);
    this.woken = true;
  }

  /** The interval after a cycle: quick while `busy` (a handover in progress) or hurried. */
  intervalMs(busy: boolean): number {
    const quick = busy || this.clock.now() < this.quickUntilMs;
    return quick ? Math.min(QUICK_MS, this.retryMs) : this.retryMs;
  }

  /**
   * Waits until `startedMs + intervalMs(busy)`, or less: until hurry() is
   * called or `early()` turns true.
   */
  async wait(startedMs: number, busy: boolean, early: () => boolean): Promise<void> {
    const dueMs = startedMs + this.intervalMs(busy);
    for (;;) {
      if (this.woken) {
        this.woken = false;
        return;
      }
      const left = dueMs - this.clock.now();
      if (left <= 0 || early()) return;
      await this.sleep(Math.min(POLL_MS, left));
    }
  }
}

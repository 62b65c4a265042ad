/**
 * The self-fence: after each renewal that landed, the agent writes a deadline
 * to the volume it shares with the postgres container, and that container's
 * watchdog (watchdog.sh) kills postgres once /proc/uptime passes it. The
 * deadline counts the renew deadline from when the renewal was *sent*: the
 * write landed after that, so every observer saw it later still, and none can
 * judge the lease expired before send + lease duration > deadline. A frozen
 * or dead agent writes nothing more, so its primary is fenced all the same.
 */
import type { Timing } from './timing.js';

/** Monotonic ms (uptime) after which postgres must no longer run as primary. */
export function fenceDeadlineMs(renewalSentMs: number, timing: Timing): number {
  return renewalSentMs + timing.renewDeadlineMs;
}

/**
 * How long the fence has, at worst, between the deadline and the first
 * instant another pod could take the lease: lease duration minus renew
 * deadline, less what rate skew between the two clocks eats (client-go
 * assumes the same: clocks that run at about the same rate, not in sync).
 */
export function fenceMarginMs(timing: Timing, rateSkew = 0): number {
  const earliestTakeover = timing.leaseDurationMs / (1 + rateSkew);
  const latestFence = timing.renewDeadlineMs * (1 + rateSkew);
  return earliestTakeover - latestFence;
}

/** The deadline file's content: seconds since boot, as /proc/uptime counts them. */
export function formatDeadline(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(3)}\n`;
}

/** Written to fence at once (any uptime is past it). */
export const FENCE_NOW = formatDeadline(0);

export function parseDeadline(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*$/.exec(text);
  return m ? Math.round(Number(m[1]) * 1000) : undefined;
}

/**
 * The clocks the election runs on. `now` is monotonic and shared with the
 * postgres container's watchdog (seconds since boot from /proc/uptime, the
 * same kernel for every container of the pod): expiry, renew deadline and
 * the fence deadline are all measured on it. `wall` only fills the Lease's
 * renewTime for people; no decision reads it.
 */
export interface HaClock {
  /** Monotonic milliseconds. */
  now(): number;
  /** Wall-clock milliseconds since the epoch. */
  wall(): number;
}

/** /proc/uptime's first field ("12345.67 ...") in milliseconds. */
export function parseUptime(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s/.exec(`${text} `);
  return m ? Math.round(Number(m[1]) * 1000) : undefined;
}

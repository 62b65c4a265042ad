/** Go-style durations as kubectl takes them: 90s, 10m, 1h30m, 500ms; a bare number is seconds. */
import { InvalidInputError } from '../errors.js';

const UNIT: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export interface DurationBounds {
  minMs: number;
  maxMs: number;
}

/**
 * What a wait flag accepts by default. The ceiling keeps every value far
 * below what setTimeout can hold (2^31-1 ms, ~24.8 days; above it a timer
 * fires at once); the floor refuses waits no cluster can meet (--timeout 1ms).
 */
export const WAIT_BOUNDS: DurationBounds = { minMs: 1000, maxMs: 24 * 3_600_000 };

export function formatBound(ms: number): string {
  if (ms === 0) return '0s';
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

export function parseDuration(
  text: string,
  flag = '--timeout',
  bounds: DurationBounds = WAIT_BOUNDS,
): number {
  const ms = parse(text, flag);
  if (ms < bounds.minMs || ms > bounds.maxMs) {
    const which = ms < bounds.minMs ? 'too short' : 'too long';
    throw new InvalidInputError(
      `${flag} ${JSON.stringify(text)} is ${which}: it must be between ${formatBound(bounds.minMs)} and ${formatBound(bounds.maxMs)}`,
      { suggestions: [`write it like 90s, 10m or 1h30m`] },
    );
  }
  return ms;
}

function parse(text: string, flag: string): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(t)) !== null) {
    total += Number(m[1]) * (UNIT[m[2] as string] ?? 0);
    end = re.lastIndex;
  }
  if (end !== t.length || t.length === 0) {
    throw new InvalidInputError(`${flag} ${JSON.stringify(text)} is not a duration`, {
      suggestions: ['write it like 90s, 10m or 1h30m'],
    });
  }
  return Math.round(total);
}

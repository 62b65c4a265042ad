/** Go-style durations as kubectl takes them: 90s, 10m, 1h30m, 500ms; a bare number is seconds. */
import { InvalidInputError } from '../errors.js';

const UNIT: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(text: string, flag = '--timeout'): number {
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

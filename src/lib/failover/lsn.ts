/** LSN arithmetic the failover needs, on top of src/lib/postgres/lsn.ts. Pure. */
import { formatLsn, parseLsn as parseSharedLsn } from '../postgres/lsn.js';

export type Lsn = bigint;

/** Parses "X/Y" (the shared parser); undefined for empty or malformed input. */
export function parseLsn(text: string | undefined | null): Lsn | undefined {
  return parseSharedLsn(text ?? undefined);
}

export { formatLsn };

/** The larger of the defined values (undefined when none is). */
export function maxLsn(...values: (Lsn | undefined)[]): Lsn | undefined {
  let best: Lsn | undefined;
  for (const v of values) if (v !== undefined && (best === undefined || v > best)) best = v;
  return best;
}

/** Bytes from `from` to `to`, never negative. */
export function lsnDistance(to: Lsn, from: Lsn): bigint {
  return to > from ? to - from : 0n;
}

/** "1.4 MiB" style, for messages. */
export function formatBytes(n: bigint | number): string {
  const v = Number(n);
  if (v < 1024) return `${v} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let x = v / 1024;
  let i = 0;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return `${x.toFixed(1)} ${units[i]}`;
}

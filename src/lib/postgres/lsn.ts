/** PostgreSQL log sequence numbers ("16/B374D848") as bigints, and their differences. */

const LSN = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

export function parseLsn(text: string | undefined): bigint | undefined {
  const m = text === undefined ? null : LSN.exec(text.trim());
  if (!m) return undefined;
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

export function formatLsn(v: bigint): string {
  return `${(v >> 32n).toString(16).toUpperCase()}/${(v & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** Bytes from `behind` to `ahead` (0 when behind is not behind); undefined if either is unknown. */
export function lsnDiff(ahead: string | undefined, behind: string | undefined): number | undefined {
  const a = parseLsn(ahead);
  const b = parseLsn(behind);
  if (a === undefined || b === undefined) return undefined;
  return a > b ? Number(a - b) : 0;
}

/**
 * `kpg logs`: every container's log of every pod, each line prefixed by its
 * pod, role and container, merged in time order. Pure: the command fetches
 * the logs with timestamps (RFC 3339, nanoseconds) and prints what this makes.
 */

export interface LogSource {
  pod: string;
  role?: string;
  container: string;
}

export interface LogLine {
  /** The API's timestamp, as sent: RFC 3339 with nanoseconds, so text order is time order. */
  ts: string;
  text: string;
}

/** "2026-12-02T07:00:00.123456789Z text" → its parts; a line without a timestamp keeps the last one. */
export function parseLogLines(body: string, lastTs = ''): LogLine[] {
  const out: LogLine[] = [];
  let ts = lastTs;
  for (const raw of body.split('\n')) {
    if (raw === '') continue;
    const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) ?(.*)$/.exec(raw);
    if (m) ts = normalizeTs(m[1] ?? '');
    out.push({ ts, text: m ? (m[2] ?? '') : raw });
  }
  return out;
}

/** Fixed width (9 fraction digits, Z), so that comparing the strings compares the times. */
export function normalizeTs(ts: string): string {
  const m = /^(.{19})(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(ts);
  if (!m) return ts;
  const frac = (m[2] ?? '').padEnd(9, '0').slice(0, 9);
  if (m[3] === 'Z') return `${m[1]}.${frac}Z`;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  return Number.isNaN(ms) ? ts : `${new Date(ms).toISOString().slice(0, 19)}.${frac}Z`;
}

export function labelOf(s: LogSource): string {
  return `${s.pod}${s.role ? `/${s.role}` : ''}/${s.container}`;
}

/** One line as printed: the prefix (padded to `width` labels), the timestamp if asked for, the text. */
export function formatLogLine(
  s: LogSource,
  l: LogLine,
  o: { timestamps?: boolean; width?: number },
): string {
  const prefix = `[${labelOf(s)}]`.padEnd((o.width ?? 0) + 2);
  return `${prefix} ${o.timestamps ? `${l.ts} ` : ''}${l.text}`;
}

/** Merges the sources' lines by time; within one instant, by source order, then line order. */
export function mergeLogs(
  sources: { source: LogSource; lines: LogLine[] }[],
  o: { timestamps?: boolean } = {},
): string[] {
  const width = Math.max(0, ...sources.map((x) => labelOf(x.source).length));
  const all = sources.flatMap((x, si) => x.lines.map((l, li) => ({ x, l, si, li })));
  all.sort((a, b) => (a.l.ts < b.l.ts ? -1 : a.l.ts > b.l.ts ? 1 : a.si - b.si || a.li - b.li));
  return all.map(({ x, l }) => formatLogLine(x.source, l, { ...o, width }));
}

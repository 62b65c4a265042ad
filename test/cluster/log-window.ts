// Cuts the local cluster's logs (.cluster/logs) to a time window, for the log
// extract of a failed e2e test (test/e2e/failure-logs.ts). Which lines carry a
// time, and how:
//   klog (kube-*, most of kpg-node)  I1201 09:30:00.123456  level I/W/E/F, local time, no year
//   Go's log package (some kpg-node) 2026/12/01 09:30:00     local time, whole seconds
//   etcd                             {"level":"warn","ts":"2026-12-01T09:30:00.123456Z",...}
//   cluster.sh and its supervisor    ==== 2026-12-01T09:30:00Z starting ... / exited with N
//   pod logs (logs/pods/, CRI)       2026-12-01T09:30:00.123456789Z stdout F <text>
// A line without a time (a stack trace, a wrapped message) belongs to the
// last line that had one.
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

export type Level = 'info' | 'warn' | 'error';

export interface LogLine {
  ms: number;
  /** Component (`kube-apiserver`) or pod container (`ns/pod/container`). */
  source: string;
  level: Level;
  text: string;
}

const KLOG = /^([IWEF])(\d\d)(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{3})\d*\s/;
const GOLOG = /^(\d{4})\/(\d\d)\/(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?\s/;
const ISO_PREFIX = /^(?:==== )?(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d))\s/;
const ETCD = /^\{.*"ts":"([^"]+)"/;
const ETCD_LEVEL = /"level":"(\w+)"/;
const WORDS_OF_TROUBLE = /\b(error|errors|failed|failure|fatal|panic|refused|timeout|timed out)\b/i;

/** klog and Go's log print local time without a zone; klog also without a year. */
function localMs(
  year: number,
  fields: readonly (string | undefined)[],
  fraction: string | undefined,
): number {
  const [mo, d, h, mi, s] = fields.map(Number) as [number, number, number, number, number];
  const ms = Number((fraction ?? '0').padEnd(3, '0').slice(0, 3));
  return new Date(year, mo - 1, d, h, mi, s, ms).getTime();
}

type Stamp = { ms: number; level: Level };
type Parser = (line: string, now: number) => Stamp | undefined;

const klogLevel: Record<string, Level> = { I: 'info', W: 'warn', E: 'error', F: 'error' };

const parsers: Parser[] = [
  (line, now) => {
    const m = KLOG.exec(line);
    if (!m) return undefined;
    const year = new Date(now).getFullYear();
    const ms = localMs(year, m.slice(2, 7), m[7]);
    // A December line read in January.
    const fixed = ms > now + 86_400_000 ? localMs(year - 1, m.slice(2, 7), m[7]) : ms;
    return { ms: fixed, level: klogLevel[m[1] ?? 'I'] ?? 'info' };
  },
  (line) => {
    const m = GOLOG.exec(line);
    if (!m) return undefined;
    const level = WORDS_OF_TROUBLE.test(line) ? 'error' : 'info';
    return { ms: localMs(Number(m[1]), m.slice(2, 7), m[7]), level };
  },
  (line) => {
    const m = ISO_PREFIX.exec(line);
    // cluster.sh's own lines (a component started, exited, restarted) always matter.
    return m
      ? { ms: Date.parse(m[1] ?? ''), level: line.startsWith('====') ? 'warn' : 'info' }
      : undefined;
  },
  (line) => {
    const m = ETCD.exec(line);
    if (!m) return undefined;
    const l = ETCD_LEVEL.exec(line)?.[1] ?? 'info';
    const level = l === 'info' || l === 'debug' ? 'info' : l === 'warn' ? 'warn' : 'error';
    return { ms: Date.parse(m[1] ?? ''), level };
  },
];

/** The time and level a line carries, or undefined for a line without a time. */
export function lineTime(line: string, now = Date.now()): Stamp | undefined {
  for (const p of parsers) {
    const t = p(line, now);
    if (t) return t;
  }
  return undefined;
}

const CHUNK = 1 << 20;
/** Never read more than this much of one log, however long the window. */
const MAX_BYTES = 64 << 20;
/** Go's log has whole seconds: read a little further back. */
const SLACK_MS = 2_000;

/**
 * The lines of a log file from `fromMs` to `toMs`, read from the end back
 * only as far as the window needs (the control plane's logs grow to
 * hundreds of MB over a run).
 */
export function readWindow(file: string, fromMs: number, toMs: number): string[] {
  const out: string[] = [];
  let inWindow = false;
  for (const line of tailFrom(file, fromMs - SLACK_MS)) {
    if (line === '') continue;
    const t = lineTime(line);
    if (t) inWindow = t.ms >= fromMs - (GOLOG.test(line) ? 999 : 0) && t.ms <= toMs;
    if (inWindow) out.push(line);
  }
  return out;
}

/** The whole lines of the end of a file, from a little before the first line timed before `ms`. */
function tailFrom(file: string, ms: number): string[] {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return [];
  }
  try {
    const size = statSync(file).size;
    let pos = size;
    const chunks: Buffer[] = [];
    while (pos > 0 && size - pos < MAX_BYTES) {
      const len = Math.min(CHUNK, pos);
      pos -= len;
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, pos);
      chunks.unshift(buf);
      if (startsBefore(buf, pos > 0, ms)) break;
    }
    const lines = Buffer.concat(chunks).toString('utf8').split('\n');
    if (pos > 0) lines.shift(); // partial first line
    return lines;
  } finally {
    closeSync(fd);
  }
}

/** The chunk's first whole line with a time is before `ms`. */
function startsBefore(chunk: Buffer, partialFirst: boolean, ms: number): boolean {
  const lines = chunk
    .toString('utf8')
    .split('\n')
    .slice(partialFirst ? 1 : 0, 200);
  const first = lines.map((l) => lineTime(l)).find((t) => t !== undefined);
  return first !== undefined && first.ms < ms;
}

/** Parsed lines of one component's log in the window; untimed lines take the last time seen. */
export function componentLines(file: string, fromMs: number, toMs: number): LogLine[] {
  const source = basename(file, '.log');
  const out: LogLine[] = [];
  let last: Stamp | undefined;
  for (const text of readWindow(file, fromMs, toMs)) {
    const t = lineTime(text);
    if (t) last = t;
    if (last) out.push({ ms: last.ms, source, level: last.level, text });
  }
  return out;
}

const CRI = /^(\S+) (?:stdout|stderr) [FP] (.*)$/;

const ls = (dir: string): string[] => {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
};

/** Container logs of the namespace's pods: logs/pods/<ns>_<pod>_<uid>/<container>/<restarts>.log. */
function podLogFiles(podLogDir: string, ns: string): { file: string; source: string }[] {
  const out: { file: string; source: string }[] = [];
  for (const dir of ls(podLogDir).filter((d) => d.startsWith(`${ns}_`))) {
    const pod = dir.slice(ns.length + 1).replace(/_[^_]+$/, '');
    for (const container of ls(join(podLogDir, dir))) {
      for (const f of ls(join(podLogDir, dir, container)).filter((n) => n.endsWith('.log'))) {
        const restart = f === '0.log' ? '' : `#${f.replace('.log', '')}`;
        out.push({
          file: join(podLogDir, dir, container, f),
          source: `${ns}/${pod}/${container}${restart}`,
        });
      }
    }
  }
  return out;
}

/** The namespace's pod log lines in the window (a restarted container's as <container>#<n>). */
export function podLines(podLogDir: string, ns: string, fromMs: number, toMs: number): LogLine[] {
  const out: LogLine[] = [];
  for (const { file, source } of podLogFiles(podLogDir, ns)) {
    for (const line of readWindow(file, fromMs, toMs)) {
      const m = CRI.exec(line);
      if (m) out.push({ ms: Date.parse(m[1] ?? ''), source, level: 'info', text: m[2] ?? '' });
    }
  }
  return out;
}

export function formatLine(l: LogLine): string {
  const t = new Date(l.ms).toISOString().slice(11, 23);
  return `${t} ${l.source} | ${l.text}`;
}

/** Chronological, stable for equal times (a file's own order is kept). */
export function byTime(lines: LogLine[]): LogLine[] {
  return lines
    .map((l, i) => ({ l, i }))
    .sort((a, b) => a.l.ms - b.l.ms || a.i - b.i)
    .map((x) => x.l);
}

export interface Extract {
  /** Every component line in the window and every line of the namespaces' pods. */
  full: string[];
  /** The bounded part for the CI log. */
  excerpt: string[];
}

export interface ExtractOptions {
  /**
   * .cluster/logs, and .cluster/logs.prev before it: a `cluster.sh down`
   * (another run's, or zz-restart's) moves the logs there mid-window.
   */
  logDirs: readonly string[];
  namespaces: readonly string[];
  fromMs: number;
  toMs: number;
  /** Most component lines in the excerpt (the last ones are kept). */
  maxComponentLines?: number;
  maxPodLines?: number;
}

/** Warnings every component prints as it starts: they say nothing about a test. */
const STARTUP_NOISE = [
  /Skipping API \S+ because it has no resources/,
  /The manifest file is empty, ignoring/,
  /Running http and grpc server on single port/,
  /simple token is not cryptographically signed/,
];

/** The line without its time and pid, to recognise a message logged again and again. */
const messageKey = (l: LogLine) =>
  `${l.source} ${l.text
    .replace(KLOG, '')
    .replace(/^\s*\d+ /, '')
    .replace(/"ts":"[^"]*"/, '')}`;

/** Each message once, where it first appeared, with how often and until when it repeated. */
function collapse(lines: LogLine[]): string[] {
  const seen = new Map<string, { first: LogLine; n: number; lastMs: number }>();
  for (const l of lines) {
    const k = messageKey(l);
    const s = seen.get(k);
    if (s) {
      s.n++;
      s.lastMs = l.ms;
    } else seen.set(k, { first: l, n: 1, lastMs: l.ms });
  }
  return [...seen.values()].map(({ first, n, lastMs }) =>
    n === 1
      ? formatLine(first)
      : `${formatLine(first)} [${n} times, the last at ${new Date(lastMs).toISOString().slice(11, 23)}]`,
  );
}

function keepLast(lines: string[], max: number, what: string): string[] {
  if (lines.length <= max) return lines;
  return [`... ${lines.length - max} earlier ${what} in the full extract`, ...lines.slice(-max)];
}

/**
 * The window's log lines. The excerpt keeps, of the control plane and
 * kpg-node, lines that name one of the namespaces and warnings and errors
 * (other files running at the same time log too); of the pods, every line.
 */
export function extract(o: ExtractOptions): Extract {
  const components = byTime(
    o.logDirs.flatMap((dir) =>
      ls(dir)
        .filter((f) => f.endsWith('.log'))
        .sort()
        .flatMap((f) => componentLines(join(dir, f), o.fromMs, o.toMs)),
    ),
  );
  const pods = byTime(
    o.logDirs.flatMap((dir) =>
      o.namespaces.flatMap((ns) => podLines(join(dir, 'pods'), ns, o.fromMs, o.toMs)),
    ),
  );
  const mentions = (l: LogLine) => o.namespaces.some((ns) => l.text.includes(ns));
  const relevant = components.filter(
    (l) => mentions(l) || (l.level !== 'info' && !STARTUP_NOISE.some((re) => re.test(l.text))),
  );
  return {
    full: [
      '## control plane and kpg-node, every line in the window',
      ...components.map(formatLine),
      `## pods of ${o.namespaces.join(', ') || '(no namespace)'}`,
      ...pods.map(formatLine),
    ],
    excerpt: [
      `-- control plane and kpg-node: lines naming ${o.namespaces.join(', ') || '(no namespace)'}, warnings, errors`,
      ...keepLast(collapse(relevant), o.maxComponentLines ?? 120, 'lines'),
      '-- pods',
      ...keepLast(pods.map(formatLine), o.maxPodLines ?? 80, 'pod lines'),
    ],
  };
}

/**
 * Printing collected status: `kpg get` rows and `kpg describe` sections.
 * Pure: time (`now`) and colour are passed in.
 */
import { stringify } from 'yaml';
import type { ClusterStatus, ClusterSummary, Health } from './status.js';

export interface FormatOptions {
  now: Date;
  color?: boolean;
}

/** kubectl's age: 45s, 12m, 5h, 3d (2 units below 10: 2m30s, 5h10m, 3d4h). */
export function formatAge(since: string | undefined, now: Date): string {
  if (!since) return '<unknown>';
  const t = Date.parse(since);
  if (!Number.isFinite(t)) return '<unknown>';
  const s = Math.max(0, Math.floor((now.getTime() - t) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 ? `${m}m${s % 60}s` : `${m}m`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 8) return h % 24 ? `${d}d${h % 24}h` : `${d}d`;
  return `${d}d`;
}

/** Columns separated by 3 spaces, like kubectl; no trailing spaces. */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('   ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function formatBytes(n: number | undefined): string {
  if (n === undefined) return '-';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

export function formatSeconds(s: number | undefined): string {
  if (s === undefined) return '-';
  if (s < 1) return `${Math.round(s * 1000)}ms`;
  if (s < 120) return `${s.toFixed(1)}s`;
  return `${Math.round(s / 60)}m`;
}

/** The STATUS column of `get`. */
export function statusWord(s: Pick<ClusterStatus, 'health' | 'instances' | 'statefulSet'>): string {
  if (s.statefulSet === undefined) return 'Missing';
  if (s.instances.length > 0 && s.instances.every((i) => !i.ready) && s.health === 'down')
    return 'Provisioning';
  return s.health === 'healthy' ? 'Running' : s.health === 'degraded' ? 'Degraded' : 'Down';
}

export function summarize(s: ClusterStatus): ClusterSummary {
  const labelled = s.instances.filter((i) => i.role === 'primary').map((i) => i.pod);
  const primary =
    labelled.length > 0 ? labelled.join(',') : s.record ? `${s.record.primary}?` : '<none>';
  const storage =
    s.spec?.storageType === 'Ephemeral'
      ? 'ephemeral'
      : [s.spec?.storageSize, s.spec?.storageClass].filter(Boolean).join(' ') || '<default>';
  const out: ClusterSummary = {
    name: s.name,
    namespace: s.namespace,
    version: s.spec?.version ?? s.statefulSet?.major ?? '<unknown>',
    replicas: s.spec?.replicas ?? s.statefulSet?.replicas ?? 0,
    ready: s.instances.filter((i) => i.ready).length,
    primary,
    // As kubectl's Ready,SchedulingDisabled for a cordoned node.
    status: s.record?.paused ? `${statusWord(s)},Paused` : statusWord(s),
    standbyMode: s.spec?.standbyMode ?? '-',
    streamingMode: s.spec?.streamingMode ?? '-',
    storage,
  };
  if (s.createdAt) out.createdAt = s.createdAt;
  if (s.record?.paused) out.paused = s.record.paused;
  return out;
}

export interface TableOptions extends FormatOptions {
  wide?: boolean;
  allNamespaces?: boolean;
}

export function getTable(rows: ClusterSummary[], o: TableOptions): string {
  const headers = [
    'NAME',
    ...(o.allNamespaces ? ['NAMESPACE'] : []),
    'VERSION',
    'READY',
    'PRIMARY',
    'STATUS',
    'AGE',
  ];
  if (o.wide) headers.push('STANDBY', 'STREAMING', 'STORAGE');
  const body = rows.map((r) => {
    const cells = [
      r.name,
      ...(o.allNamespaces ? [r.namespace] : []),
      r.version,
      `${r.ready}/${r.replicas}`,
      r.primary,
      colorStatus(r.status, o.color),
      formatAge(r.createdAt, o.now),
    ];
    if (o.wide) cells.push(r.standbyMode, r.streamingMode, r.storage);
    return cells;
  });
  return formatTable(headers, body);
}

const ansi = (code: number) => (s: string) => `\u001b[${code}m${s}\u001b[39m`;
const green = ansi(32);
const yellow = ansi(33);
const red = ansi(31);

function colorStatus(word: string, color?: boolean): string {
  // Padding is computed on the raw text, so colour only at the end of a line
  // would be safe; in the middle it would break alignment. Keep tables plain.
  void color;
  return word;
}

export function colorHealth(h: Health, color?: boolean): string {
  if (!color) return h;
  return h === 'healthy' ? green(h) : h === 'degraded' ? yellow(h) : red(h);
}

/** `-o yaml` / `-o json` documents. */
export function toYaml(v: unknown): string {
  return stringify(v, { aliasDuplicateObjects: false }).trimEnd();
}
export function toJson(v: unknown): string {
  return JSON.stringify(v, null, 2);
}

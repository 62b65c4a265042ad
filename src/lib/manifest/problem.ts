/** One thing wrong with (or worth knowing about) an input, with where it is. */
export interface Problem {
  /** File path, URL, or `<stdin>`. */
  source: string;
  /** 1-based line, when the problem has a place in the text. */
  line?: number;
  /** 1-based column. */
  column?: number;
  /** Field path such as `spec.storage.resources.requests.storage`; empty for the whole document or source. */
  path: string;
  /** A plain sentence, without the path. */
  message: string;
  severity: 'error' | 'warning' | 'note';
  /** Stable machine-readable code, e.g. `unknown-field`, `unsupported`, `yaml-syntax`. */
  code: string;
}

export type Severity = Problem['severity'];

/** Problem codes kpg emits; stable for `-o json` consumers. */
export const ProblemCode = {
  Read: 'read-failed',
  TooLarge: 'too-large',
  Binary: 'binary',
  YamlSyntax: 'yaml-syntax',
  DuplicateKey: 'duplicate-key',
  CustomTag: 'custom-tag',
  Alias: 'alias-limit',
  NotAMapping: 'not-a-mapping',
  NoDocuments: 'no-documents',
  ApiVersion: 'api-version',
  Kind: 'kind',
  Required: 'required',
  UnknownField: 'unknown-field',
  Unsupported: 'unsupported',
  Type: 'type',
  Value: 'invalid-value',
  Version: 'version',
  Conflict: 'conflict',
  Deprecated: 'deprecated',
  Default: 'default',
  Ignored: 'ignored',
  DuplicateName: 'duplicate-name',
  Fetch: 'fetch-failed',
} as const;

const severityRank: Record<Severity, number> = { error: 0, warning: 1, note: 2 };

/**
 * Sorts problems of one source: by line, then column, then severity, keeping
 * the original order otherwise (Array.prototype.sort is stable).
 */
export function sortProblems(problems: Problem[]): Problem[] {
  return [...problems].sort(
    (a, b) =>
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.column ?? 0) - (b.column ?? 0) ||
      severityRank[a.severity] - severityRank[b.severity],
  );
}

export function hasErrors(problems: Problem[]): boolean {
  return problems.some((p) => p.severity === 'error');
}

/** Minimal ANSI styling so the pure library needs no terminal dependency. */
const ansi = {
  bold: (s: string) => `\u001b[1m${s}\u001b[22m`,
  red: (s: string) => `\u001b[31m${s}\u001b[39m`,
  yellow: (s: string) => `\u001b[33m${s}\u001b[39m`,
  cyan: (s: string) => `\u001b[36m${s}\u001b[39m`,
};

function paintSeverity(severity: Severity, color: boolean): string {
  if (!color) return severity;
  if (severity === 'error') return ansi.bold(ansi.red(severity));
  if (severity === 'warning') return ansi.bold(ansi.yellow(severity));
  return ansi.bold(ansi.cyan(severity));
}

/** `file:line:col` or `file` when the problem has no position. */
export function formatLocation(p: Pick<Problem, 'source' | 'line' | 'column'>): string {
  if (p.line === undefined) return p.source;
  return p.column === undefined ? `${p.source}:${p.line}` : `${p.source}:${p.line}:${p.column}`;
}

/**
 * One line per problem, compiler style:
 * `file:line:col: error: spec.replica: unknown field "replica" (did you mean "replicas"?)`.
 * No trailing newline; empty string for no problems.
 */
export function formatProblems(problems: Problem[], opts: { color: boolean }): string {
  return problems
    .map((p) => {
      const where = opts.color ? ansi.bold(formatLocation(p)) : formatLocation(p);
      const path = p.path ? `${p.path}: ` : '';
      return `${where}: ${paintSeverity(p.severity, opts.color)}: ${path}${p.message}`;
    })
    .join('\n');
}

/** `2 errors, 1 warning` — for summaries. */
export function countProblems(problems: Problem[]): string {
  const n = (sev: Severity) => problems.filter((p) => p.severity === sev).length;
  const part = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;
  const parts = [part(n('error'), 'error'), part(n('warning'), 'warning')];
  const notes = n('note');
  if (notes > 0) parts.push(part(notes, 'note'));
  return parts.join(', ');
}

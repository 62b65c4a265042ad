/**
 * SQL run inside a pod: `psql` over the container's local Unix socket, where
 * pg_hba.conf trusts the local user, so no password is ever sent or stored.
 * Output is unaligned, tuples only, with a unit-separator between fields, so
 * values holding `|` or spaces parse exactly. Every call has its own timeout.
 */
import type { ExecResult } from '../kube/index.js';

/** What psql needs from the Kubernetes client (Kube fits; tests pass a fake). */
export interface PodExec {
  exec(
    ns: string | undefined,
    pod: string,
    container: string,
    command: string[],
    opts?: { timeoutMs?: number; signal?: AbortSignal },
  ): Promise<ExecResult>;
}

export const PG_CONTAINER = 'postgres';
export const SOCKET_DIR = '/var/run/postgresql';
/** Field separator: ASCII unit separator, which never appears in our values. */
export const FIELD_SEP = '\u001f';
export const DEFAULT_SQL_TIMEOUT_MS = 10_000;

export interface SqlTarget {
  ns: string;
  pod: string;
}

export interface SqlOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** psql ran and reported an error (exit code != 0); `stderr` holds PostgreSQL's message. */
export class PsqlError extends Error {
  constructor(
    readonly pod: string,
    readonly exitCode: number,
    readonly stderr: string,
  ) {
    super(`psql in pod ${pod} failed (exit ${exitCode}): ${firstErrorLine(stderr)}`);
    this.name = 'PsqlError';
  }

  /** The server refuses connections: a warm standby, or a server starting up or shutting down. */
  get notAccepting(): boolean {
    return /not (yet )?accepting connections|is starting up|shutting down|hot standby mode is disabled|recovery/i.test(
      this.stderr,
    );
  }

  get readOnly(): boolean {
    return /read-only transaction|cannot assign transaction ?ids during recovery/i.test(
      this.stderr,
    );
  }
}

export function firstErrorLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const err = lines.find((l) => /\b(ERROR|FATAL|PANIC):/.test(l));
  return (err ?? lines[0] ?? 'no output').replace(/^psql:\s*(?:[^:]*:\d+:\s*)?/, '');
}

/**
 * The superuser is the cluster's own (POSTGRES_USER from its Secret, in the
 * container's environment), not always "postgres": exec runs no shell, so a
 * tiny one reads it. The statements stay separate arguments ("$@").
 */
const AS_SUPERUSER = 'exec psql -U "${POSTGRES_USER:-postgres}" "$@"';

/**
 * The argv of a person's psql session (`kpg psql`): the superuser over the
 * local socket (pg_hba trusts it; no password anywhere), history kept in the
 * writable /tmp (the root filesystem is read-only), then the caller's arguments.
 */
export function interactivePsqlArgv(database: string | undefined, args: string[]): string[] {
  return [
    'bash',
    '-c',
    `PSQL_HISTORY=\${PSQL_HISTORY:-/tmp/.psql_history} ${AS_SUPERUSER}`,
    'psql',
    '-h',
    SOCKET_DIR,
    ...(database !== undefined ? ['-d', database] : []),
    ...args,
  ];
}

/** The argv of one psql call: each statement becomes its own -c (results in order). */
export function psqlArgv(statements: string[]): string[] {
  return [
    'bash',
    '-c',
    AS_SUPERUSER,
    'psql',
    '-X',
    '-A',
    '-t',
    '-F',
    FIELD_SEP,
    '-v',
    'ON_ERROR_STOP=1',
    '-h',
    SOCKET_DIR,
    '-d',
    'postgres',
    ...statements.flatMap((s) => ['-c', s]),
  ];
}

/** Rows of unaligned, tuples-only output: one line per row, fields split on FIELD_SEP. */
export function parseRows(stdout: string): string[][] {
  return stdout
    .replace(/\r\n/g, '\n')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split(FIELD_SEP));
}

/** Runs statements in the pod's postgres container; rows of all results, in order. */
export async function runSql(
  kube: PodExec,
  at: SqlTarget,
  statements: string[],
  opts: SqlOptions = {},
): Promise<string[][]> {
  const res = await kube.exec(at.ns, at.pod, PG_CONTAINER, psqlArgv(statements), {
    timeoutMs: opts.timeoutMs ?? DEFAULT_SQL_TIMEOUT_MS,
    signal: opts.signal,
  });
  if (res.exitCode !== 0) throw new PsqlError(at.pod, res.exitCode, res.stderr);
  return parseRows(res.stdout);
}

/** psql's booleans. */
export function pgBool(v: string | undefined): boolean | undefined {
  if (v === 't' || v === 'true' || v === 'on') return true;
  if (v === 'f' || v === 'false' || v === 'off') return false;
  return undefined;
}

/** A number, or undefined for NULL (empty) and garbage. */
export function pgNumber(v: string | undefined): number | undefined {
  if (v === undefined || v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** A text value, undefined for NULL (empty). */
export function pgText(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

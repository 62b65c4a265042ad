/**
 * Error classes shared by every kpg command, each with the process exit code
 * it maps to. Commands throw these; the shared base command (src/lib/cli)
 * prints the message (no stack unless --debug) and exits with `exitCode`.
 *
 * Exit codes (documented in `kpg --help` and the README):
 *
 * | code | meaning                                                        |
 * | ---- | -------------------------------------------------------------- |
 * | 0    | success                                                        |
 * | 1    | invalid input: a manifest or flag value was refused            |
 * | 2    | usage: unknown flag, missing argument (oclif's parser errors)  |
 * | 3    | the cluster could not be reached (network, TLS, kubeconfig)    |
 * | 4    | the cluster refused the credentials or the action (401, 403)   |
 * | 5    | an object the command needs does not exist (404)               |
 * | 6    | conflict: the object already exists or changed meanwhile (409) |
 * | 7    | timed out waiting for the cluster to reach the wanted state    |
 * | 8    | the cluster failed the request (422, 429 after retries, 5xx)   |
 * | 9    | the cluster is in a state the command will not act on         |
 * | 10   | describe --exit-code: the cluster is degraded (writes work, a  |
 * |      | standby is missing, not streaming or lagging)                  |
 * | 11   | describe --exit-code: the cluster is down (no writable primary |
 * |      | behind the primary Service, or two)                            |
 * | 12   | blocked: the cluster says the wait cannot succeed (pods        |
 * |      | forbidden, a volume or image that cannot be had, a crash loop) |
 * | 70   | internal error: a bug in kpg (run again with --debug)          |
 * | 130  | interrupted (Ctrl-C)                                           |
 */

export const ExitCode = {
  Ok: 0,
  InvalidInput: 1,
  Usage: 2,
  ClusterUnreachable: 3,
  Forbidden: 4,
  NotFound: 5,
  Conflict: 6,
  Timeout: 7,
  ClusterFailure: 8,
  UnsafeState: 9,
  /** `kpg describe --exit-code`: a primary serves writes, but a standby is missing, not streaming or lagging. */
  Degraded: 10,
  /** `kpg describe --exit-code`: no writable primary behind the primary Service, or two. */
  Down: 11,
  /** A wait stopped at once: the cluster's own signals say it cannot succeed. */
  Blocked: 12,
  Internal: 70,
  Interrupted: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export interface KpgErrorOptions {
  /** What the user can do about it, printed after the message. */
  suggestions?: string[];
  cause?: unknown;
  /** Machine-readable fields added to `-o json`'s error object. */
  details?: Record<string, unknown>;
}

/** Base class: a message meant for a person, an exit code and suggestions. */
export class KpgError extends Error {
  readonly exitCode: ExitCodeValue = ExitCode.InvalidInput;
  readonly suggestions: string[];
  readonly details: Record<string, unknown>;

  constructor(message: string, options: KpgErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.suggestions = options.suggestions ?? [];
    this.details = options.details ?? {};
  }
}

/** A manifest or flag value was refused (exit 1). */
export class InvalidInputError extends KpgError {
  override readonly exitCode = ExitCode.InvalidInput;
}

/** The command line itself is wrong (exit 2). */
export class UsageError extends KpgError {
  override readonly exitCode = ExitCode.Usage;
}

/** The Kubernetes API could not be reached (exit 3). */
export class ClusterUnreachableError extends KpgError {
  override readonly exitCode = ExitCode.ClusterUnreachable;
}

/** 401 or 403 from the Kubernetes API (exit 4). */
export class ForbiddenError extends KpgError {
  override readonly exitCode = ExitCode.Forbidden;
}

/** 404: the object does not exist (exit 5). */
export class NotFoundError extends KpgError {
  override readonly exitCode = ExitCode.NotFound;
}

/** 409: already exists, or changed while we worked on it (exit 6). */
export class ConflictError extends KpgError {
  override readonly exitCode = ExitCode.Conflict;
}

/** The cluster's own signals say a wait cannot succeed: forbidden, unpullable, crashing (exit 12). */
export class BlockedError extends KpgError {
  override readonly exitCode = ExitCode.Blocked;
}

/** Ctrl-C: the command stopped at a step boundary and says what was done (exit 130). */
export class InterruptedError extends KpgError {
  override readonly exitCode = ExitCode.Interrupted;
}

/** Waiting for the cluster took longer than allowed (exit 7). */
export class TimeoutError extends KpgError {
  override readonly exitCode = ExitCode.Timeout;
}

/** 422, 429 after retries, 5xx or any other API failure (exit 8). */
export class ClusterFailureError extends KpgError {
  override readonly exitCode = ExitCode.ClusterFailure;
}

/** The cluster is in a state the command refuses to act on (exit 9). */
export class UnsafeStateError extends KpgError {
  override readonly exitCode = ExitCode.UnsafeState;
}

/**
 * Maps an HTTP status from the Kubernetes API to our error class, in one place.
 * `message` should already say what was attempted, e.g. `creating StatefulSet demo/pg`.
 */
export function errorFromHttpStatus(
  status: number,
  message: string,
  options: KpgErrorOptions = {},
): KpgError {
  if (status === 401 || status === 403) return new ForbiddenError(message, options);
  if (status === 404) return new NotFoundError(message, options);
  if (status === 409) return new ConflictError(message, options);
  return new ClusterFailureError(message, options);
}

export function isKpgError(err: unknown): err is KpgError {
  return err instanceof KpgError;
}

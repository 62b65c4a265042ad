// Every failure that leaves the Kubernetes client is one of these classes.
// Each extends the matching project-wide class of src/lib/errors.ts, so it
// carries that exit code and a `catch (e) { if (e instanceof NotFoundError) }`
// written against src/lib/errors.ts works for API failures too. The API
// details (status, reason, causes, Retry-After) ride along. Messages name the
// context, verb and resource, never credentials or Secret data; the suggested
// next step is `suggestions[0]`.
import {
  ClusterFailureError,
  ClusterUnreachableError,
  ConflictError as BaseConflictError,
  ExitCode,
  ForbiddenError as BaseForbiddenError,
  InvalidInputError,
  KpgError,
  NotFoundError as BaseNotFoundError,
  TimeoutError,
  UnsafeStateError,
  type KpgErrorOptions,
} from '../errors.js';

export { ExitCode, KpgError };

/** A cause from a Kubernetes Status object (field validation, exit code...). */
export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface ApiErrorDetails {
  /** HTTP status code. */
  status: number;
  /** Kubernetes Status.reason, e.g. NotFound, AlreadyExists, Conflict. */
  reason?: string;
  causes?: StatusCause[];
  /** Retry-After (header or Status.details.retryAfterSeconds), in seconds. */
  retryAfterSeconds?: number;
  /** The server's own message (already redacted). */
  serverMessage?: string;
  /** What to do about it. */
  hint?: string;
}

/** The fields every API error class has. */
export interface KubeApiFailure {
  readonly status: number;
  readonly reason: string | undefined;
  readonly causes: StatusCause[];
  readonly retryAfterSeconds: number | undefined;
  readonly serverMessage: string | undefined;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the mixin pattern needs any[]
type KpgCtor = new (...args: any[]) => KpgError;

function withApiFields<B extends KpgCtor>(Base: B) {
  return class extends Base implements KubeApiFailure {
    status = 0;
    reason: string | undefined;
    causes: StatusCause[] = [];
    retryAfterSeconds: number | undefined;
    serverMessage: string | undefined;
  };
}

function opts(d: ApiErrorDetails): KpgErrorOptions {
  return { suggestions: d.hint ? [d.hint] : [] };
}

function fill<T extends KubeApiFailure>(err: T, d: ApiErrorDetails): T {
  return Object.assign(err, {
    status: d.status,
    reason: d.reason,
    causes: d.causes ?? [],
    retryAfterSeconds: d.retryAfterSeconds,
    serverMessage: d.serverMessage,
  });
}

/** Any other API error status (exit 8). */
export class KubeApiError extends withApiFields(ClusterFailureError) {
  constructor(message: string, d: ApiErrorDetails) {
    super(message, opts(d));
    fill(this, d);
  }
}
/** 400: e.g. strict field validation found an unknown field (exit 8). */
export class BadRequestError extends KubeApiError {}
/** 410 Gone: a watch or list resourceVersion is too old (exit 8). */
export class GoneError extends KubeApiError {}
/** 422: the object is invalid; `causes` lists the fields (exit 8). */
export class InvalidError extends KubeApiError {}
/** 429 after the retries allowed (exit 8). */
export class TooManyRequestsError extends KubeApiError {}
/** 5xx after the retries allowed, or one that is never retried (exit 8). */
export class ServerError extends KubeApiError {}

/** 401 (exit 4). */
export class UnauthorizedError extends withApiFields(BaseForbiddenError) {
  constructor(message: string, d: ApiErrorDetails) {
    super(message, opts(d));
    fill(this, d);
  }
}

/** 403 (exit 4); says which verb on which resource was refused. */
export class ForbiddenError extends withApiFields(BaseForbiddenError) {
  verb = '';
  /** e.g. pods, statefulsets.apps, pods/exec. */
  resource = '';
  namespace: string | undefined;
  constructor(message: string, d: ApiErrorDetails) {
    super(message, opts(d));
    fill(this, d);
  }
}

/** 404: the object (or its namespace) does not exist (exit 5). */
export class NotFoundError extends withApiFields(BaseNotFoundError) {
  constructor(message: string, d: ApiErrorDetails) {
    super(message, opts(d));
    fill(this, d);
  }
}
/** 404 for a whole resource type: the server does not serve it (missing CRD / API group). */
export class UnknownResourceError extends NotFoundError {}

/** 409 Conflict: the resourceVersion moved on (exit 6). */
export class ConflictError extends withApiFields(BaseConflictError) {
  constructor(message: string, d: ApiErrorDetails) {
    super(message, opts(d));
    fill(this, d);
  }
}
/** 409 from server-side apply: another field manager owns some of the fields (exit 6). */
export class FieldManagerConflictError extends ConflictError {}
/** 409 AlreadyExists: create of an existing name (exit 6). */
export class AlreadyExistsError extends ConflictError {}

/** The kubeconfig is missing, broken or lacks the context (exit 3). */
export class KubeconfigError extends ClusterUnreachableError {
  constructor(message: string, hint?: string) {
    super(message, { suggestions: hint ? [hint] : [] });
  }
}

/** Network failure: refused, reset, DNS, TLS, attempt timeout (exit 3). */
export class UnreachableError extends ClusterUnreachableError {
  /** Node's error code (ECONNREFUSED, ECONNRESET, ETIMEDOUT, CERT_HAS_EXPIRED...). */
  readonly code: string;
  constructor(message: string, code: string, hint?: string, cause?: unknown) {
    super(message, { suggestions: hint ? [hint] : [], cause });
    this.code = code;
  }
}

/** A wait (waitFor, exec) ran out of time (exit 7). */
export class KubeTimeoutError extends TimeoutError {
  constructor(message: string, hint?: string) {
    super(message, { suggestions: hint ? [hint] : [] });
  }
}

/** The caller's AbortSignal fired (exit 130). */
export class KubeAbortedError extends KpgError {
  override readonly exitCode = ExitCode.Interrupted;
  constructor(message = 'the request was cancelled') {
    super(message);
  }
}

/** exec could not run the command or lost the stream; not a non-zero exit (exit 8). */
export class ExecError extends ClusterFailureError {
  constructor(message: string, hint?: string) {
    super(message, { suggestions: hint ? [hint] : [] });
  }
}

/** The lease is held by someone else, or kept changing under us (exit 6). */
export class LeaseHeldError extends BaseConflictError {
  readonly holder: string | undefined;
  constructor(message: string, holder: string | undefined, hint?: string) {
    super(message, { suggestions: hint ? [hint] : [] });
    this.holder = holder;
  }
}

/** A caller passed something unusable (unknown kind name, object without a name) (exit 1). */
export class KubeUsageError extends InvalidInputError {}

/** The pod/object is not in a state we can act on (e.g. port-forward to a Pending pod) (exit 9). */
export class KubeStateError extends UnsafeStateError {}

/** True for the errors this module raises (already mapped: do not map again). */
export function isMapped(err: unknown): err is KpgError {
  return err instanceof KpgError;
}

/** Removes bearer tokens, basic-auth user info and long base64 blobs from a server message. */
export function redact(text: string): string {
  return text
    .replace(/(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 [redacted]')
    .replace(/\/\/[^/@\s:]+:[^/@\s]+@/g, '//[redacted]@')
    .replace(/[A-Za-z0-9+/]{80,}={0,2}/g, '[redacted]');
}

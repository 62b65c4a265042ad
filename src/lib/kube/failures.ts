// The one place where API and network failures become our error classes.
import {
  AlreadyExistsError,
  BadRequestError,
  ConflictError,
  FieldManagerConflictError,
  ForbiddenError,
  GoneError,
  InvalidError,
  KubeApiError,
  NotFoundError,
  ServerError,
  TooManyRequestsError,
  UnauthorizedError,
  UnknownResourceError,
  UnreachableError,
  redact,
  type ApiErrorDetails,
  type KpgError,
  type KubeApiFailure,
  type StatusCause,
} from './errors.js';

/** What a request was trying to do, for messages ("patch pods in namespace demo"). */
export interface RequestTarget {
  /** RBAC verb: get, list, watch, create, update, patch, delete, deletecollection. */
  verb: string;
  /** Plural resource, e.g. pods, statefulsets. */
  resource: string;
  /** API group ('' for core). */
  group?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

/** Where the request went, for messages. */
export interface ConnectionContext {
  contextName: string;
  server: string;
}

/** A Kubernetes Status object (the body of most error responses). */
export interface KubeStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: StatusCause[];
    retryAfterSeconds?: number;
  };
}

/** "pods", "statefulsets.apps", "pods/exec". */
export function resourceName(t: Pick<RequestTarget, 'resource' | 'group' | 'subresource'>): string {
  const base = t.group ? `${t.resource}.${t.group}` : t.resource;
  return t.subresource ? `${base}/${t.subresource}` : base;
}

function where(t: RequestTarget): string {
  return t.namespace ? `in namespace \`${t.namespace}\`` : 'cluster-wide';
}

export function parseStatus(body: string): KubeStatus | undefined {
  try {
    const parsed = JSON.parse(body) as unknown;
    if (parsed && typeof parsed === 'object' && (parsed as KubeStatus).kind === 'Status')
      return parsed as KubeStatus;
  } catch {
    // not JSON: the caller falls back to the raw text
  }
  return undefined;
}

/** Seconds from a Retry-After header (delta-seconds or an HTTP date). */
export function parseRetryAfter(
  value: string | string[] | undefined,
  now: number,
): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v.trim())) return Number(v.trim());
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - now) / 1000);
}

interface HttpFailure {
  status: number;
  statusText?: string;
  body: string;
  retryAfterHeader?: string | string[];
  now: number;
}

/** Any of the API error classes. */
export type ApiFailureError = KpgError & KubeApiFailure;

/** Everything a mapper needs to word its message. */
interface Failure {
  d: ApiErrorDetails;
  t: RequestTarget;
  st: KubeStatus | undefined;
  ctx: ConnectionContext;
  /** " (the server said: ...)" or ''. */
  said: string;
  statusText: string;
}

type Mapper = (f: Failure) => ApiFailureError;

/** One entry per status code: the whole mapping table. */
const BY_STATUS: Record<number, Mapper> = {
  400: ({ d, t, said }) =>
    new BadRequestError(`the API server rejected the ${t.verb} of ${resourceName(t)}${said}`, {
      ...d,
      hint: 'the object has a field this server does not know or a malformed value',
    }),
  401: ({ d, ctx }) =>
    new UnauthorizedError(`the server rejected your credentials for context ${ctx.contextName}`, {
      ...d,
      hint: `the token or client certificate of context ${ctx.contextName} is missing, wrong or expired: log in again or fix the kubeconfig`,
    }),
  403: (f) => forbidden(f),
  404: (f) => notFound(f),
  409: (f) => conflict(f),
  410: ({ d, said }) => new GoneError(`the resource version is too old (410 Gone)${said}`, d),
  422: (f) => invalid(f),
  429: ({ d, ctx, said }) =>
    new TooManyRequestsError(
      `the API server at ${ctx.server} is throttling requests (429)${said}`,
      {
        ...d,
        hint: 'the API server is overloaded; try again in a moment',
      },
    ),
};

/** Server-side apply reports a schema mismatch as a 500; it is the object that is wrong. */
const TYPED_PATCH = /failed to create typed patch object \([^)]*\): (\.[^:]+): (.*)$/s;

function serverError(f: Failure): ApiFailureError {
  const { d, t, ctx, said, statusText } = f;
  const typed = d.status === 500 ? TYPED_PATCH.exec(d.serverMessage ?? '') : null;
  if (typed) {
    const [, field = '', message = ''] = typed;
    const name = t.name ? ` "${t.name}"` : '';
    return new InvalidError(
      `${resourceName(t)}${name} does not match its schema: ${field}: ${message}`,
      {
        ...d,
        causes: [{ reason: 'FieldValueInvalid', field: field.slice(1), message }],
        hint: 'remove or fix that field',
      },
    );
  }
  const head =
    `the API server at ${ctx.server} failed to ${t.verb} ${resourceName(t)}: ${d.status} ${statusText}`.trimEnd();
  return new ServerError(head + said, {
    ...d,
    hint: 'the API server or etcd is unhealthy; try again later',
  });
}

function otherError({ d, t, said }: Failure): ApiFailureError {
  return new KubeApiError(`${t.verb} ${resourceName(t)} failed with HTTP ${d.status}${said}`, d);
}

function detailsOf(f: HttpFailure, st: KubeStatus | undefined): ApiErrorDetails {
  const details = st?.details ?? {};
  return {
    status: f.status,
    reason: st?.reason,
    causes: details.causes,
    retryAfterSeconds: parseRetryAfter(f.retryAfterHeader, f.now) ?? details.retryAfterSeconds,
    serverMessage: redact((st?.message ?? f.body).trim().slice(0, 2000)) || undefined,
  };
}

/** Maps an HTTP error response to one of our error classes. */
export function errorFromResponse(
  f: HttpFailure,
  target: RequestTarget,
  ctx: ConnectionContext,
): ApiFailureError {
  const st = parseStatus(f.body);
  const d = detailsOf(f, st);
  const serverMessage = d.serverMessage;
  const said = serverMessage ? ` (the server said: ${serverMessage})` : '';
  const failure: Failure = { d, t: target, st, ctx, said, statusText: f.statusText ?? '' };
  const map = BY_STATUS[f.status] ?? (f.status >= 500 ? serverError : otherError);
  return map(failure);
}

function forbidden({ d, t, said }: Failure): ApiFailureError {
  const res = resourceName(t);
  const nsFlag = t.namespace ? ` -n ${t.namespace}` : '';
  const err = new ForbiddenError(
    `forbidden: kpg needs permission to \`${t.verb}\` \`${res}\` ${where(t)}${said}`,
    {
      ...d,
      hint: `ask a cluster admin to grant \`${t.verb}\` on \`${res}\` (check with: kubectl auth can-i ${t.verb} ${res}${nsFlag})`,
    },
  );
  err.verb = t.verb;
  err.resource = res;
  err.namespace = t.namespace;
  return err;
}

function notFound({ d, t, st, ctx }: Failure): ApiFailureError {
  const res = resourceName(t);
  // A missing object (or namespace) always comes with details.name; an unserved type never does.
  const name = st?.details?.name;
  if (st?.reason === 'NotFound' && name) {
    const kind = st.details?.kind ?? res;
    const inNs = t.namespace && kind !== 'namespaces' ? ` in namespace ${t.namespace}` : '';
    return new NotFoundError(`${kind} "${name}" not found${inNs}`, d);
  }
  return new UnknownResourceError(`the API server at ${ctx.server} does not serve ${res}`, {
    ...d,
    hint: 'the API group or version may be missing on this cluster (or the namespace does not exist)',
  });
}

function conflict({ d, t, said }: Failure): ApiFailureError {
  const res = resourceName(t);
  const inNs = t.namespace ? ` in namespace ${t.namespace}` : '';
  if (d.reason === 'AlreadyExists') {
    return new AlreadyExistsError(`${res} "${t.name ?? '?'}" already exists${inNs}`, {
      ...d,
      hint: 'delete it first or choose another name',
    });
  }
  if (d.serverMessage?.startsWith('Apply failed with')) {
    // Server-side apply: another field manager owns fields we set.
    return new FieldManagerConflictError(
      `${res} "${t.name ?? '?'}"${inNs}: fields are owned by another manager${said}`,
      {
        ...d,
        hint: 'apply with force to take those fields over, or stop setting them',
      },
    );
  }
  return new ConflictError(`${res} "${t.name ?? '?'}"${inNs} was changed by someone else${said}`, {
    ...d,
    hint: 'retry the command',
  });
}

const causeText = (c: StatusCause): string =>
  `${c.field ? `${c.field}: ` : ''}${c.message ?? c.reason ?? ''}`;

function invalid({ d, t, st }: Failure): ApiFailureError {
  const details = st?.details ?? {};
  const causes = (details.causes ?? []).map((c) =>
    c.message === undefined ? c : { ...c, message: redact(c.message) },
  );
  const kind = details.kind ?? resourceName(t);
  const name = details.name ?? t.name ?? '';
  const list = causes.map(causeText).join('; ');
  const msg = list
    ? `${kind} "${name}" is invalid: ${list}`
    : `${kind} "${name}" is invalid${d.serverMessage ? `: ${d.serverMessage}` : ''}`;
  return new InvalidError(msg, { ...d, causes, hint: 'fix the fields listed' });
}

const CODE_TEXT: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed while sending',
  ETIMEDOUT: 'connection timed out',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed (temporary)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_SOCKET: 'connection closed',
};

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Maps a socket/TLS/DNS error to UnreachableError with a one-line message. */
export function errorFromNetwork(err: unknown, ctx: ConnectionContext): UnreachableError {
  const e = err as NodeJS.ErrnoException;
  const code = e.code ?? (e.message === 'socket hang up' ? 'ECONNRESET' : 'EUNKNOWN');
  if (TLS_CODES.has(code)) {
    return new UnreachableError(
      `cannot verify the TLS certificate of the Kubernetes API at ${ctx.server}: ${code}`,
      code,
      `check certificate-authority of the cluster in context ${ctx.contextName}`,
      err,
    );
  }
  const text = CODE_TEXT[code] ?? redact(e.message ?? String(err));
  return new UnreachableError(
    `cannot reach the Kubernetes API at ${ctx.server}: ${text}`,
    code,
    `is the cluster running? check the server of context ${ctx.contextName}`,
    err,
  );
}

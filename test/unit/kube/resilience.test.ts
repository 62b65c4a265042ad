// Retries, deadlines and error messages at the HTTP boundary.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createKube,
  ForbiddenError,
  InvalidError,
  KubeAbortedError,
  ExitCode,
  FieldManagerConflictError,
  NotFoundError,
  ServerError,
  TooManyRequestsError,
  UnauthorizedError,
  UnreachableError,
} from '../../../src/lib/kube/index.js';
import { KpgError, NotFoundError as BaseNotFoundError } from '../../../src/lib/errors.js';
import { kubeOptions, requestTimeoutMs } from '../../../src/lib/cli/kube-flags.js';
import {
  FAST_RETRY,
  TOKEN,
  kubeconfigYaml,
  sendJson,
  sendStatus,
  startFakeApi,
  type FakeApi,
} from './fake-api.js';

const CM = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'c1', namespace: 'demo' },
  data: { a: '1' },
};

let api: FakeApi;
beforeEach(async () => {
  api = await startFakeApi();
});
afterEach(async () => {
  await api.close();
});

describe('retries', () => {
  it('honours Retry-After on 429, then succeeds', async () => {
    let n = 0;
    api.handle((_req, res) => {
      if (n++ === 0)
        return sendStatus(
          res,
          429,
          'TooManyRequests',
          'slow down',
          { retryAfterSeconds: 1 },
          { 'Retry-After': '1' },
        );
      sendJson(res, 200, CM);
    });
    const kube = await api.kube();
    const t0 = Date.now();
    const cm = await kube.get('ConfigMap', 'demo', 'c1');
    const elapsed = Date.now() - t0;
    expect(cm.metadata?.name).toBe('c1');
    expect(api.requests).toHaveLength(2);
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(4000);
  });

  it('retries a 429 even for a POST (the server did not process it)', async () => {
    let n = 0;
    api.handle((req, res) => {
      if (n++ === 0)
        return sendStatus(res, 429, 'TooManyRequests', 'slow down', {}, { 'Retry-After': '0' });
      sendJson(res, 201, req.json);
    });
    const kube = await api.kube();
    await kube.create(CM);
    expect(api.requests.map((r) => r.method)).toEqual(['POST', 'POST']);
  });

  it('gives up on 429 when Retry-After goes past the deadline', async () => {
    api.handle((_req, res) =>
      sendStatus(res, 429, 'TooManyRequests', 'slow down', {}, { 'Retry-After': '30' }),
    );
    const kube = await api.kube({ retry: { ...FAST_RETRY, deadlineMs: 1000 } });
    const err = await kube.get('ConfigMap', 'demo', 'c1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TooManyRequestsError);
    expect(api.requests).toHaveLength(1);
  });

  it('retries 503 with backoff, then succeeds', async () => {
    let n = 0;
    api.handle((_req, res) => {
      if (n++ < 2) return sendStatus(res, 503, 'ServiceUnavailable', 'etcd leader changed');
      sendJson(res, 200, CM);
    });
    const kube = await api.kube();
    await kube.get('ConfigMap', 'demo', 'c1');
    expect(api.requests).toHaveLength(3);
  });

  it('bounds 503 retries and reports the attempts', async () => {
    api.handle((_req, res) => sendStatus(res, 503, 'ServiceUnavailable', 'still down'));
    const kube = await api.kube({ retry: { ...FAST_RETRY, maxRetries: 3 } });
    const err = (await kube.get('ConfigMap', 'demo', 'c1').catch((e: unknown) => e)) as ServerError;
    expect(err).toBeInstanceOf(ServerError);
    expect(err.status).toBe(503);
    expect(err.exitCode).toBe(ExitCode.ClusterFailure);
    expect(err.message).toContain('gave up after 4 attempts');
    expect(api.requests).toHaveLength(4);
  });

  it('does not retry 500 or a POST that got 503', async () => {
    api.handle((_req, res) => sendStatus(res, 500, 'InternalError', 'boom'));
    const kube = await api.kube();
    await expect(kube.get('ConfigMap', 'demo', 'c1')).rejects.toBeInstanceOf(ServerError);
    expect(api.requests).toHaveLength(1);
    api.handle((_req, res) => sendStatus(res, 503, 'ServiceUnavailable', 'down'));
    await expect(kube.create(CM)).rejects.toBeInstanceOf(ServerError);
    expect(api.requests).toHaveLength(2);
  });

  it('retries a reset connection for GET and server-side apply, not for POST create', async () => {
    let n = 0;
    api.handle((_req, res, raw) => {
      if (n++ === 0) return void raw.socket.destroy();
      sendJson(res, 200, CM);
    });
    const kube = await api.kube();
    await kube.get('ConfigMap', 'demo', 'c1');
    expect(api.requests).toHaveLength(2);

    n = 0;
    await kube.apply(CM);
    expect(api.requests).toHaveLength(4);

    n = 0;
    const err = (await kube.create(CM).catch((e: unknown) => e)) as UnreachableError;
    expect(err).toBeInstanceOf(UnreachableError);
    expect(err.code).toBe('ECONNRESET');
    expect(api.requests).toHaveLength(5);
  });

  it('times out a hanging attempt and retries it', async () => {
    let n = 0;
    api.handle((_req, res) => {
      if (n++ === 0) return; // never answers
      sendJson(res, 200, CM);
    });
    const kube = await api.kube({ retry: { ...FAST_RETRY, attemptTimeoutMs: 300 } });
    await kube.get('ConfigMap', 'demo', 'c1');
    expect(api.requests).toHaveLength(2);
  });

  it('stops at once when the caller aborts', async () => {
    api.handle(() => undefined);
    const kube = await api.kube();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const t0 = Date.now();
    await expect(kube.get('ConfigMap', 'demo', 'c1', ac.signal)).rejects.toBeInstanceOf(
      KubeAbortedError,
    );
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});

describe('error messages', () => {
  it('401 names the context and does not leak the token', async () => {
    api.handle((_req, res) => sendStatus(res, 401, 'Unauthorized', 'Unauthorized'));
    const kube = await api.kube();
    const err = (await kube
      .get('ConfigMap', 'demo', 'c1')
      .catch((e: unknown) => e)) as UnauthorizedError;
    expect(err).toBeInstanceOf(UnauthorizedError);
    expect(err.message).toBe('the server rejected your credentials for context fake');
    expect(err.exitCode).toBe(ExitCode.Forbidden);
    expect(err.suggestions[0]).toContain('context fake');
    expect(JSON.stringify({ m: err.message, h: err.suggestions[0] })).not.toContain(TOKEN);
    expect(api.requests[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('403 names the verb, resource and namespace', async () => {
    api.handle((_req, res) =>
      sendStatus(
        res,
        403,
        'Forbidden',
        'pods "pg-0" is forbidden: User "dev" cannot patch resource "pods" in API group "" in the namespace "demo"',
        {
          name: 'pg-0',
          kind: 'pods',
        },
      ),
    );
    const kube = await api.kube();
    const err = (await kube
      .patch('Pod', 'demo', 'pg-0', { metadata: { labels: { a: 'b' } } })
      .catch((e: unknown) => e)) as ForbiddenError;
    expect(err).toBeInstanceOf(ForbiddenError);
    expect(err.message).toBe(
      'forbidden: kpg needs permission to `patch` `pods` in namespace `demo` (the server said: pods "pg-0" is forbidden: User "dev" cannot patch resource "pods" in API group "" in the namespace "demo")',
    );
    expect(err.verb).toBe('patch');
    expect(err.suggestions[0]).toContain('kubectl auth can-i patch pods -n demo');
  });

  it('403 on a grouped, cluster-scoped resource', async () => {
    api.handle((_req, res) => sendStatus(res, 403, 'Forbidden', 'nope'));
    const kube = await api.kube();
    const err = (await kube.list('ClusterRole').catch((e: unknown) => e)) as ForbiddenError;
    expect(err.message).toBe(
      'forbidden: kpg needs permission to `list` `clusterroles.rbac.authorization.k8s.io` cluster-wide (the server said: nope)',
    );
  });

  it('404 is NotFoundError naming the object', async () => {
    api.handle((_req, res) =>
      sendStatus(res, 404, 'NotFound', 'configmaps "c1" not found', {
        name: 'c1',
        kind: 'configmaps',
      }),
    );
    const kube = await api.kube();
    const err = (await kube
      .get('ConfigMap', 'demo', 'c1')
      .catch((e: unknown) => e)) as NotFoundError;
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toBe('configmaps "c1" not found in namespace demo');
    expect(err.exitCode).toBe(ExitCode.NotFound);
    expect(await kube.find('ConfigMap', 'demo', 'c1')).toBeUndefined();
  });

  it('422 carries the server causes', async () => {
    api.handle((_req, res) =>
      sendStatus(
        res,
        422,
        'Invalid',
        'StatefulSet.apps "pg" is invalid: spec.replicas: Invalid value: -1',
        {
          name: 'pg',
          kind: 'StatefulSet',
          causes: [
            {
              reason: 'FieldValueInvalid',
              message: 'Invalid value: -1: must be greater than or equal to 0',
              field: 'spec.replicas',
            },
            { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.selector' },
          ],
        },
      ),
    );
    const kube = await api.kube();
    const sts = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'pg' },
      spec: { replicas: -1 },
    };
    const err = (await kube.apply(sts).catch((e: unknown) => e)) as InvalidError;
    expect(err).toBeInstanceOf(InvalidError);
    expect(err.causes.map((c) => c.field)).toEqual(['spec.replicas', 'spec.selector']);
    expect(err.message).toBe(
      'StatefulSet "pg" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0; spec.selector: Required value',
    );
    expect(err.exitCode).toBe(ExitCode.ClusterFailure);
    expect(api.requests).toHaveLength(1);
  });

  it('reports a server-side apply schema mismatch (a 500) as invalid, without retrying', async () => {
    api.handle((_req, res) =>
      sendStatus(
        res,
        500,
        'InternalError',
        'failed to create typed patch object (demo/c1; /v1, Kind=ConfigMap): .data.a: expected string, got &value.valueUnstructured{Value:1}',
      ),
    );
    const kube = await api.kube();
    const err = (await kube.apply(CM).catch((e: unknown) => e)) as InvalidError;
    expect(err).toBeInstanceOf(InvalidError);
    expect(err.message).toBe(
      'configmaps "c1" does not match its schema: .data.a: expected string, got &value.valueUnstructured{Value:1}',
    );
    expect(err.causes[0]?.field).toBe('data.a');
    expect(api.requests).toHaveLength(1);
  });

  it('names a server-side apply field conflict and suggests force', async () => {
    api.handle((_req, res) =>
      sendStatus(
        res,
        409,
        'Conflict',
        'Apply failed with 1 conflict: conflict with "kubectl-edit" using v1: .data.a',
        {
          causes: [
            {
              reason: 'FieldManagerConflict',
              message: 'conflict with "kubectl-edit" using v1',
              field: '.data.a',
            },
          ],
        },
      ),
    );
    const kube = await api.kube();
    const err = (await kube.apply(CM).catch((e: unknown) => e)) as FieldManagerConflictError;
    expect(err).toBeInstanceOf(FieldManagerConflictError);
    expect(err.message).toBe(
      'configmaps "c1" in namespace demo: fields are owned by another manager (the server said: Apply failed with 1 conflict: conflict with "kubectl-edit" using v1: .data.a)',
    );
    expect(err.suggestions[0]).toContain('force');
    expect(err.exitCode).toBe(ExitCode.Conflict);
  });

  it('errors are the project-wide classes with their exit codes', async () => {
    api.handle((_req, res) =>
      sendStatus(res, 404, 'NotFound', 'pods "p" not found', { name: 'p', kind: 'pods' }),
    );
    const kube = await api.kube();
    const err = await kube.get('Pod', 'demo', 'p').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BaseNotFoundError);
    expect(err).toBeInstanceOf(KpgError);
    expect((err as KpgError).exitCode).toBe(ExitCode.NotFound);
  });

  it('connection refused names the server, retried then bounded', async () => {
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    writeFileSync(api.kubeconfig, kubeconfigYaml({ server: `https://127.0.0.1:${port}` }));
    const kube = await createKube({
      kubeconfig: api.kubeconfig,
      retry: { ...FAST_RETRY, maxRetries: 2 },
    });
    const t0 = Date.now();
    const err = (await kube
      .get('ConfigMap', 'demo', 'c1')
      .catch((e: unknown) => e)) as UnreachableError;
    expect(err).toBeInstanceOf(UnreachableError);
    expect(err.message).toBe(
      `cannot reach the Kubernetes API at https://127.0.0.1:${port}: connection refused (gave up after 3 attempts)`,
    );
    expect(err.code).toBe('ECONNREFUSED');
    expect(err.exitCode).toBe(ExitCode.ClusterUnreachable);
    expect(err.stack).toBeDefined();
    expect(Date.now() - t0).toBeLessThan(3000);
  });
});

describe('connections and --request-timeout', () => {
  it('reuses one keep-alive connection for consecutive requests', async () => {
    api.handle((_r, res) => sendJson(res, 200, CM));
    const kube = await api.kube();
    for (let i = 0; i < 5; i++) await kube.get('ConfigMap', 'demo', 'c1');
    expect(api.requests).toHaveLength(5);
    expect(api.connections()).toBe(1);
  });

  it('an API server that never answers fails within --request-timeout with exit 3', async () => {
    api.handle(() => undefined); // accept, never respond
    const kube = await createKube({
      ...kubeOptions({ kubeconfig: api.kubeconfig, 'request-timeout': '300ms' }),
      retry: { ...FAST_RETRY, ...kubeOptions({ 'request-timeout': '300ms' }).retry },
    });
    const started = Date.now();
    const err = await kube.get('ConfigMap', 'demo', 'c1').catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(err).toBeInstanceOf(UnreachableError);
    expect((err as KpgError).exitCode).toBe(ExitCode.ClusterUnreachable);
  });

  it('parses --request-timeout like kubectl (0: no limit) and refuses nonsense', () => {
    expect(requestTimeoutMs('30s')).toBe(30_000);
    expect(requestTimeoutMs('0')).toBe(86_400_000);
    expect(requestTimeoutMs(undefined)).toBeUndefined();
    expect(() => requestTimeoutMs('5ms')).toThrow(/too short/);
    expect(() => requestTimeoutMs('forever')).toThrow(/not a duration/);
    expect(kubeOptions({ 'request-timeout': '10s' }).retry).toEqual({
      deadlineMs: 10_000,
      attemptTimeoutMs: 10_000,
    });
  });
});

// Issue 15, the admission causes of FailedCreate beside blocked.test.ts's
// ResourceQuota: a validating webhook's denial (a real HTTPS webhook served by
// this test on loopback, for this namespace only) and a LimitRange. Each makes
// `kpg create` stop with exit 12 within 15 s of its objects being sent, with
// Kubernetes' message and what to do, and `kpg describe` lists it first under
// "Problems". (Pod Security is not among them: kpg's pods satisfy `restricted`,
// which create.test.ts proves by creating a cluster in such a namespace.)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteNamespace, kubectl, kubectlOk } from '../../cluster/kube.js';
import {
  describeProblems,
  made,
  manifest,
  NAME,
  namespace,
  timedCreate,
} from './blocked-helpers.js';

const DENIAL = 'pods here need the label team (the test webhook)';
let server: Server | undefined;
const webhooks: string[] = [];

afterAll(async () => {
  for (const w of webhooks)
    await kubectl(['delete', 'validatingwebhookconfiguration', w, '--ignore-not-found']);
  server?.close();
  await Promise.all(made.map((ns) => deleteNamespace(ns)));
});

/** A self-signed certificate for 127.0.0.1: the webhook's, and the CA the API server trusts. */
function loopbackCert(): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kpg-webhook-'));
  execFileSync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
    '-keyout',
    join(dir, 'key.pem'),
    '-out',
    join(dir, 'cert.pem'),
  ]);
  return {
    cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    key: readFileSync(join(dir, 'key.pem'), 'utf8'),
  };
}

/** An HTTPS server that denies every AdmissionReview it is sent; resolves with its port. */
async function denyingWebhook(tls: { cert: string; key: string }): Promise<number> {
  server = createServer(tls, (req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const review = JSON.parse(body) as { request?: { uid?: string } };
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          response: {
            uid: review.request?.uid,
            allowed: false,
            status: { code: 403, message: DENIAL },
          },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('kpg create when admission forbids the pods', () => {
  it("a validating webhook's denial: exit 12 at once, with its message", async () => {
    const ns = await namespace('blk-webhook');
    const tls = loopbackCert();
    const port = await denyingWebhook(tls);
    const name = `kpg-test-deny-${ns}`;
    webhooks.push(name);
    await kubectlOk(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingWebhookConfiguration',
        metadata: { name },
        webhooks: [
          {
            name: 'deny-pods.kpg.test',
            clientConfig: {
              url: `https://127.0.0.1:${port}/validate`,
              caBundle: Buffer.from(tls.cert).toString('base64'),
            },
            rules: [
              {
                operations: ['CREATE'],
                apiGroups: [''],
                apiVersions: ['v1'],
                resources: ['pods'],
              },
            ],
            // This namespace only: the other files' pods never meet it.
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
            sideEffects: 'None',
            admissionReviewVersions: ['v1'],
            failurePolicy: 'Fail',
            timeoutSeconds: 5,
          },
        ],
      }),
    });
    const r = await timedCreate(manifest(ns));
    console.log(`${ns}: webhook denial: create stopped ${r.waitMs} ms after its objects were sent`);
    expect(r.code, r.stderr).toBe(12);
    expect(r.waitMs).toBeLessThan(15_000);
    expect(r.stderr).toMatch(
      new RegExp(
        `statefulset/${NAME} FailedCreate: .*admission webhook "deny-pods.kpg.test" denied the request: ${DENIAL.replace(/[()]/g, '\\$&')}`,
      ),
    );
    expect(r.stderr).toMatch(/an admission webhook denied it/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect((await describeProblems(ns)).split('\n')[0]).toMatch(
      /statefulset\/blk FailedCreate: .*admission webhook "deny-pods.kpg.test" denied/,
    );
  });

  it("a LimitRange the pod's resources break: exit 12 at once", async () => {
    const ns = await namespace('blk-limits');
    await kubectlOk(['-n', ns, 'apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'LimitRange',
        metadata: { name: 'big-only' },
        spec: { limits: [{ type: 'Container', min: { memory: '4Gi' } }] },
      }),
    });
    const r = await timedCreate(
      manifest(ns, { spec: '      resources:\n        requests:\n          memory: 256Mi\n' }),
    );
    console.log(`${ns}: LimitRange: create stopped ${r.waitMs} ms after its objects were sent`);
    expect(r.code, r.stderr).toBe(12);
    expect(r.waitMs).toBeLessThan(15_000);
    expect(r.stderr).toMatch(
      new RegExp(`statefulset/${NAME} FailedCreate: .*minimum memory usage per Container is 4Gi`),
    );
    expect(r.stderr).toMatch(/a LimitRange in the namespace forbids the pod's resources/);
    expect((await describeProblems(ns)).split('\n')[0]).toMatch(
      /statefulset\/blk FailedCreate: .*minimum memory usage per Container/,
    );
  });
});

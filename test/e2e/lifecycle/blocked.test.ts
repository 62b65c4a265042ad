// Issue 15: when the cluster cannot do what kpg asked, kpg says why at once.
// Each cause in a fresh namespace: `kpg create` stops (exit 12) with the
// object, Kubernetes' reason and message, and what to do, within 15 s of the
// cluster saying so; what may clear by itself (a pod no node can take) is
// shown while create waits and in its timeout error. `-o json` carries the
// reason as a field, and `kpg describe` lists it under "Problems". A
// `kpg apply` whose new pods are forbidden stops at the first pod and leaves
// the running members serving.
import { afterAll, describe, expect, it } from 'vitest';
import { deleteNamespace, getJson, kubectlOk } from '../../cluster/kube.js';
import {
  createJson,
  describeProblems,
  made,
  manifest,
  NAME,
  namespace,
  timedCreate,
} from './blocked-helpers.js';
import { kpg, podSql, waitFor } from './helpers.js';

afterAll(async () => {
  await Promise.all(made.map((ns) => deleteNamespace(ns)));
});

const QUOTA_ZERO = ['create', 'quota', 'no-pods', '--hard=pods=0'];
const NO_CPU = '      resources:\n        requests:\n          cpu: "64"\n';

describe('kpg create when the cluster cannot do it', () => {
  it('the StatefulSet may not create the pod (a ResourceQuota): exit 12 at once', async () => {
    const ns = await namespace('blk-quota');
    await kubectlOk(['-n', ns, ...QUOTA_ZERO]);
    const r = await timedCreate(manifest(ns));
    console.log(`${ns}: FailedCreate: create stopped ${r.waitMs} ms after its objects were sent`);
    expect(r.code).toBe(12);
    expect(r.waitMs).toBeLessThan(15_000);
    expect(r.stderr).toMatch(
      /error: postgres "blk" cannot become ready: statefulset\/blk FailedCreate: .*pods "blk-0" is forbidden: exceeded quota: no-pods/,
    );
    expect(r.stderr).toMatch(/a ResourceQuota in the namespace forbids it/);
    expect(r.stderr).toMatch(new RegExp(`kpg delete ${NAME} -n ${ns}`));
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(await describeProblems(ns)).toMatch(/statefulset\/blk FailedCreate: .*exceeded quota/);
  });

  it('-o json: the reason is a field of the error', async () => {
    const ns = await namespace('blk-quotaj');
    await kubectlOk(['-n', ns, ...QUOTA_ZERO]);
    const { r, error } = await createJson(manifest(ns));
    expect(r.code).toBe(12);
    expect(error.exitCode).toBe(12);
    expect(error.message).toMatch(/cannot become ready/);
    expect(error.reasons?.[0]).toMatchObject({
      object: `statefulset/${NAME}`,
      reason: 'FailedCreate',
      fatal: true,
    });
    expect(error.reasons?.[0]?.message).toMatch(/exceeded quota: no-pods/);
  });

  it('no such StorageClass: exit 12 at once, the claim named', async () => {
    const ns = await namespace('blk-sc');
    const r = await timedCreate(manifest(ns, { storageClass: 'no-such-class' }));
    console.log(
      `${ns}: missing StorageClass: create stopped ${r.waitMs} ms after its objects were sent`,
    );
    expect(r.code).toBe(12);
    expect(r.waitMs).toBeLessThan(15_000);
    expect(r.stderr).toMatch(
      new RegExp(
        `persistentvolumeclaim/data-${NAME}-0 ProvisioningFailed: storageclass.storage.k8s.io "no-such-class" not found`,
      ),
    );
    expect(r.stderr).toMatch(/set spec.storage.storageClassName/);
    expect(await describeProblems(ns)).toMatch(/ProvisioningFailed/);
  });

  it('an image the nodes do not have: exit 12 at once', async () => {
    const ns = await namespace('blk-image');
    const r = await timedCreate(manifest(ns, { version: '16' }));
    console.log(
      `${ns}: image pull failure: create stopped ${r.waitMs} ms after its objects were sent`,
    );
    expect(r.code).toBe(12);
    expect(r.waitMs).toBeLessThan(15_000);
    expect(r.stderr).toMatch(
      /pod\/blk-0 (ErrImagePull|ImagePullBackOff): container postgres: postgres 16 is not installed/,
    );
    expect(r.stderr).toMatch(/check spec.version/);
    expect(await describeProblems(ns)).toMatch(/pod\/blk-0 (ErrImagePull|ImagePullBackOff)/);
  });

  it('an agent image the nodes do not have (a Node.js major): exit 12 at once', async () => {
    const ns = await namespace('blk-agentimg');
    const r = await timedCreate(manifest(ns, { agentImage: 'node:18' }));
    console.log(
      `${ns}: agent image pull failure: create stopped ${r.waitMs} ms after its objects were sent`,
    );
    expect(r.code, r.stderr).toBe(12);
    expect(r.waitMs).toBeLessThan(15_000);
    expect(r.stderr).toMatch(
      /pod\/blk-0 (ErrImagePull|ImagePullBackOff): container kpg-agent: node 18 is not installed/,
    );
    expect(r.stderr).toMatch(/set the annotation kpg\.io\/agent-image/);
    expect(await describeProblems(ns)).toMatch(/pod\/blk-0 (ErrImagePull|ImagePullBackOff)/);
  });

  it('a container that keeps crashing: exit 12 with its last log lines', async () => {
    const ns = await namespace('blk-crash');
    await kubectlOk([
      '-n',
      ns,
      'create',
      'configmap',
      'bad-conf',
      '--from-literal=user.conf=no_such_setting = 1',
    ]);
    const r = await timedCreate(manifest(ns, { configMap: 'bad-conf' }));
    const ended = Date.now();
    expect(r.code).toBe(12);
    expect(r.stderr).toMatch(
      new RegExp(`pod/${NAME}-0 CrashLoopBackOff: container postgres exited 1`),
    );
    expect(r.stderr).toMatch(/last log lines:/);
    expect(r.stderr).toMatch(/unrecognized configuration parameter "no_such_setting"/);
    // The password never: the Secret's values are cut out of the log lines.
    const secret = await getJson<{ data: Record<string, string> }>([
      '-n',
      ns,
      'secret',
      `${NAME}-auth`,
    ]);
    const password = Buffer.from(secret.data['POSTGRES_PASSWORD'] ?? '', 'base64').toString();
    expect(password.length).toBeGreaterThan(8);
    expect(r.stderr).not.toContain(password);
    // initdb comes first: the clock starts at the crash.
    const pod = await getJson<{
      status: {
        containerStatuses: { name: string; lastState?: { terminated?: { finishedAt?: string } } }[];
      };
    }>(['-n', ns, 'pod', `${NAME}-0`]);
    const crashed = pod.status.containerStatuses.find((c) => c.name === 'postgres')?.lastState
      ?.terminated?.finishedAt;
    console.log(
      `${ns}: crash loop: create stopped ${ended - Date.parse(crashed ?? '')} ms after the crash (${crashed})`,
    );
    expect(crashed).toBeDefined();
    // finishedAt has whole seconds: one more.
    expect(ended - Date.parse(crashed ?? '')).toBeLessThan(16_000);
    // Back-off over, it may be running again (and crashing): either way it is listed, with its log.
    const problems = await describeProblems(ns);
    expect(problems).toMatch(/pod\/blk-0 (CrashLoopBackOff|Error): container postgres exited 1/);
    expect(problems).toMatch(/no_such_setting/);
  });

  it('a pod no node can take may clear: shown while waiting, then in the timeout error', async () => {
    const ns = await namespace('blk-sched');
    const r = await timedCreate(manifest(ns, { spec: NO_CPU }), ['--timeout', '60s']);
    console.log(`${ns}: Unschedulable: first waiting line ${r.firstWaitingMs} ms after create`);
    expect(r.code).toBe(7);
    expect(r.firstWaitingMs).toBeLessThan(15_000);
    // Shown while it waited (a line of its own when stderr is not a terminal)…
    expect(r.stderr).toMatch(
      new RegExp(
        `waiting: pod/${NAME}-0 Unschedulable: 0/\\d+ nodes are available: .*Insufficient cpu`,
      ),
    );
    // …and in the final error, with what to do.
    expect(r.stderr).toMatch(/error: postgres "blk" was not ready after 60s: .*Insufficient cpu/);
    expect(r.stderr).toMatch(/lower spec.podTemplate.spec.resources/);
    expect(await describeProblems(ns)).toMatch(/pod\/blk-0 Unschedulable: .*Insufficient cpu/);
  });

  it('-o json: the timeout error carries what held it up', async () => {
    const ns = await namespace('blk-schedj');
    const { r, error } = await createJson(manifest(ns, { spec: NO_CPU }), ['--timeout', '45s']);
    expect(r.code).toBe(7);
    expect(error.exitCode).toBe(7);
    expect(error.reasons?.[0]).toMatchObject({
      object: `pod/${NAME}-0`,
      reason: 'Unschedulable',
      fatal: false,
    });
    expect(error.reasons?.[0]?.message).toMatch(/Insufficient cpu/);
  });
});

describe("the kpg agent's refusal", () => {
  it('an Ephemeral primary back empty: its agent will not initdb, and describe says so first', async () => {
    const ns = await namespace('blk-refuse');
    const created = await kpg(['create', '-f', manifest(ns, { ephemeral: true })]);
    expect(created.code, created.stderr).toBe(0);
    const w = await podSql(
      ns,
      `${NAME}-0`,
      'create table kept (x int); insert into kept values (1)',
    );
    expect(w.code, w.stderr).toBe(0);
    await kubectlOk(['-n', ns, 'delete', 'pod', `${NAME}-0`, '--wait=true']);
    const problems = await waitFor(
      async () => {
        const p = await describeProblems(ns);
        return /FailoverRefused: .*will not initdb/.test(p) ? p : '';
      },
      120_000,
      { what: "the agent's refusal under Problems", intervalMs: 2000 },
    );
    expect(problems.split('\n')[0]).toMatch(
      new RegExp(`pod/${NAME}-0 FailoverRefused: .*will not initdb over the cluster's data`),
    );
  });
});

describe('kpg apply whose new pods are forbidden', () => {
  it('stops the rolling restart at the first pod; the running members keep serving', async () => {
    const ns = await namespace('blk-apply');
    const created = await kpg(['create', '-f', manifest(ns, { replicas: 2 })]);
    expect(created.code, created.stderr).toBe(0);
    // Two pods run; a quota of one lets none be created again.
    await kubectlOk(['-n', ns, 'create', 'quota', 'one-pod', '--hard=pods=1']);
    await waitFor(
      async () => {
        const q = await getJson<{ status?: { used?: { pods?: string } } }>([
          '-n',
          ns,
          'quota',
          'one-pod',
        ]);
        return q.status?.used?.pods === '2';
      },
      30_000,
      { what: 'the quota to count the pods' },
    );
    const t0 = Date.now();
    const r = await kpg(['apply', '-f', manifest(ns, { replicas: 2, team: 'db' }), '--yes']);
    console.log(`${ns}: apply stopped after ${Date.now() - t0} ms: ${r.stderr.split('\n')[0]}`);
    expect(r.code).toBe(12);
    expect(r.stderr).toMatch(
      new RegExp(
        `the rolling restart stopped at pod ${NAME}-1: statefulset/${NAME} FailedCreate: .*exceeded quota: one-pod`,
      ),
    );
    expect(r.stderr).toMatch(/the other members serve as before/);
    // The primary was not touched and takes writes.
    const w = await podSql(
      ns,
      `${NAME}-0`,
      'create table after_stop (x int); insert into after_stop values (1); select count(*) from after_stop',
    );
    expect(w.code, w.stderr).toBe(0);
    expect(w.stdout.trim().split('\n').at(-1)).toBe('1');
    const labels = await getJson<{ metadata: { labels: Record<string, string> } }>([
      '-n',
      ns,
      'pod',
      `${NAME}-0`,
    ]);
    expect(labels.metadata.labels['team']).toBeUndefined();
    expect(await describeProblems(ns)).toMatch(/FailedCreate: .*exceeded quota: one-pod/);
  });
});

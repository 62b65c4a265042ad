// Node-level and container-level faults of test/cluster/faults.ts on real
// postgres:15 pods pinned to nodes: a lost node, a partitioned node, one
// container of a pod frozen or killed, and a slow or unresponsive API server
// on the pods' path to it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  clearFaults,
  freezeContainer,
  healNode,
  killContainer,
  loseNode,
  partitionNode,
  podState,
  restoreApiServer,
  restoreNode,
  slowApiServer,
  thawContainer,
} from '../../cluster/faults.js';
import {
  apply,
  createNamespace,
  deleteNamespace,
  exec,
  getJson,
  kubectl,
  kubectlOk,
  podReady,
  waitFor,
} from '../../cluster/kube.js';
import { clientPod, list, pgContainer, pgPod, pgService } from '../../cluster/manifests.js';

const N1 = 'kpg-worker-1';
const N2 = 'kpg-worker-2';
const N3 = 'kpg-worker-3';
/** cluster.sh's --node-monitor-grace-period. */
const GRACE_MS = 15_000;

let ns = '';
const ips: Record<string, string> = {};

function ip(pod: string): string {
  const v = ips[pod];
  if (!v) throw new Error(`no IP for ${pod}`);
  return v;
}

function onNode(obj: object, node: string): object {
  const o = obj as { spec: Record<string, unknown> };
  return { ...o, spec: { ...o.spec, nodeName: node } };
}

/** postgres plus a sidecar that stamps /shared/tick every 100 ms. */
function duoPod(name: string): object {
  const pg = pgContainer() as { volumeMounts: object[] };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: name } },
    spec: {
      terminationGracePeriodSeconds: 2,
      securityContext: { runAsUser: 999, runAsGroup: 999, fsGroup: 999 },
      containers: [
        { ...pg, volumeMounts: [...pg.volumeMounts, { name: 'shared', mountPath: '/shared' }] },
        {
          name: 'agent',
          image: 'postgres:15',
          command: ['bash', '-c', 'while :; do date +%s%N > /shared/tick; sleep 0.1; done'],
          volumeMounts: [{ name: 'shared', mountPath: '/shared' }],
        },
      ],
      volumes: [
        { name: 'data', emptyDir: {} },
        { name: 'shared', emptyDir: {} },
      ],
    },
  };
}

/** psql from pod `from` to host `to` (an IP or a Service name), bounded. */
const psql = (from: string, to: string, seconds = 3) =>
  exec(
    ns,
    from,
    [
      'timeout',
      String(seconds),
      'psql',
      `postgresql://postgres@${to}:5432/postgres?connect_timeout=${seconds}`,
      '-Atc',
      'select 1',
    ],
    { timeoutMs: (seconds + 30) * 1000 },
  );

/** Expects the query to hang until its timeout: dropped, not refused. */
async function expectCut(from: string, to: string): Promise<void> {
  const t0 = Date.now();
  const r = await psql(from, to, 3);
  expect(r.code, `${from} -> ${to} must fail: ${r.stdout}`).not.toBe(0);
  expect(
    Date.now() - t0,
    `${from} -> ${to} must time out, not be refused: ${r.stderr}`,
  ).toBeGreaterThanOrEqual(2_500);
}

async function expectReach(from: string, to: string): Promise<void> {
  const r = await waitFor(
    async () => {
      const q = await psql(from, to, 5);
      return q.code === 0 ? q : undefined;
    },
    60_000,
    { what: `${from} -> ${to}` },
  );
  expect(r.stdout.trim()).toBe('1');
}

/** curl of the API server's /version through the pod's relay: [exit code, seconds]. */
async function apiFromPod(pod: string, maxSeconds: number): Promise<[number, number]> {
  const r = await exec(
    ns,
    pod,
    [
      'curl',
      '-sk',
      '-o',
      '/dev/null',
      '-w',
      '%{time_total}',
      '--max-time',
      String(maxSeconds),
      'https://127.0.0.1:6443/version',
    ],
    { timeoutMs: (maxSeconds + 30) * 1000 },
  );
  return [r.code, Number(r.stdout.trim())];
}

interface NodeObj {
  status: { conditions: { type: string; status: string }[] };
  spec: { taints?: { key: string }[] };
}
const nodeReady = async (node: string): Promise<string> => {
  const n = await getJson<NodeObj>(['node', node]);
  return n.status.conditions.find((c) => c.type === 'Ready')?.status ?? 'none';
};
const leaseRenew = async (node: string): Promise<number> => {
  const l = await getJson<{ spec: { renewTime: string } }>([
    '-n',
    'kube-node-lease',
    'lease',
    node,
  ]);
  return Date.parse(l.spec.renewTime);
};
const restarts = async (pod: string, container: string): Promise<number> => {
  const p = await getJson<{
    status: { containerStatuses: { name: string; restartCount: number }[] };
  }>(['-n', ns, 'pod', pod]);
  return p.status.containerStatuses.find((c) => c.name === container)?.restartCount ?? -1;
};
const alive = (pid: number): boolean => existsSync(`/proc/${pid}`);
const frozen = (cg: string): boolean =>
  /^frozen 1$/m.test(readFileSync(join(cg, 'cgroup.events'), 'utf8'));
const tick = async (reader: string): Promise<number> => {
  const r = await exec(ns, 'duo', ['cat', '/shared/tick'], { container: reader });
  if (r.code !== 0) throw new Error(`read tick: ${r.stderr}`);
  return Number(r.stdout.trim().slice(0, -6)); // ns -> ms
};

async function waitRunning(pod: string): Promise<void> {
  await waitFor(
    async () =>
      (await kubectlOk(['-n', ns, 'get', 'pod', pod, '-o', 'jsonpath={.status.phase}'])) ===
      'Running',
    120_000,
    { what: `${pod} Running` },
  );
}

describe('node and container faults', () => {
  beforeAll(async () => {
    ns = await createNamespace('e2e-nodefaults');
    await apply(
      ns,
      list(
        onNode(pgPod('a1', { app: 'a1' }), N1),
        onNode(clientPod('c1'), N1),
        onNode(pgPod('b2', { app: 'b2' }), N2),
        onNode(clientPod('c2'), N2),
        onNode(duoPod('duo'), N3),
        pgService('svc-b', { app: 'b2' }),
      ),
    );
    for (const p of ['a1', 'b2', 'duo']) {
      await waitFor(() => podReady(ns, p), 180_000, { what: `${p} Ready` });
    }
    for (const p of ['c1', 'c2']) await waitRunning(p);
    for (const p of ['a1', 'b2', 'c1', 'c2', 'duo']) {
      ips[p] = await kubectlOk(['-n', ns, 'get', 'pod', p, '-o', 'jsonpath={.status.podIP}']);
    }
    await expectReach('c2', ip('a1'));
  });

  afterEach(async () => {
    // never leave a fault behind, whatever failed
    await clearFaults();
    for (const c of ['postgres', 'agent']) {
      try {
        await thawContainer(ns, 'duo', c);
      } catch {
        /* not running */
      }
    }
  });

  afterAll(async () => {
    await clearFaults().catch(() => undefined);
    if (ns) await deleteNamespace(ns);
  });

  it('loseNode: NotReady within the grace period, pods frozen and unreachable; restoreNode kills a pod deleted meanwhile', async () => {
    const c1Pid = podState(ns, 'c1').containers['client']?.pid ?? 0;
    const a1 = podState(ns, 'a1').containers['postgres'];
    expect(c1Pid).toBeGreaterThan(1);
    const t0 = Date.now();
    const r = await loseNode(N1);
    expect(r.nodes[N1]?.lost).toBe(true);
    expect(r.frozen).toBeGreaterThanOrEqual(2);
    expect(frozen(a1?.cgroup ?? '')).toBe(true);
    // Deleted while the node is lost: a dead kubelet does not notice.
    await kubectlOk([
      '-n',
      ns,
      'delete',
      'pod',
      'c1',
      '--force',
      '--grace-period=0',
      '--wait=false',
    ]);

    // Measured from the loss, while the checks below run.
    let notReadyAt = 0;
    const notReady = waitFor(
      async () => {
        if ((await nodeReady(N1)) === 'True') return false;
        notReadyAt = Date.now();
        return true;
      },
      GRACE_MS + 20_000,
      { what: `${N1} NotReady`, intervalMs: 250 },
    );
    await expectCut('c2', ip('a1'));
    // exec and logs hang (the kubelet neither answers nor refuses)
    const tx = Date.now();
    const ex = await exec(ns, 'a1', ['true'], { timeoutMs: 8_000 });
    expect(ex.code, `exec into a pod on a lost node must not succeed: ${ex.stderr}`).not.toBe(0);
    expect(Date.now() - tx).toBeGreaterThanOrEqual(7_500);
    const logs = await kubectl(['-n', ns, 'logs', 'a1'], { timeoutMs: 5_000 });
    expect(logs.code, `logs from a lost node must not succeed: ${logs.stderr}`).not.toBe(0);
    await notReady;
    const notReadyMs = notReadyAt - t0;
    console.log(`loseNode: ${N1} NotReady after ${notReadyMs} ms (grace ${GRACE_MS} ms)`);
    expect(notReadyMs).toBeGreaterThanOrEqual(GRACE_MS - 3_000);
    // the grace period, plus the controller's 1 s monitor period and a busy machine's slack
    expect(notReadyMs).toBeLessThanOrEqual(GRACE_MS + 5_000);
    expect(await leaseRenew(N1)).toBeLessThan(t0 + 1_000); // no renewal since the loss
    expect(await nodeReady(N2)).toBe('True');
    // the pod objects stay, and the force-deleted pod's process still exists
    await kubectlOk(['-n', ns, 'get', 'pod', 'a1']);
    expect(alive(c1Pid), 'the lost kubelet must not have acted on the deletion').toBe(true);

    const t1 = Date.now();
    const back = await restoreNode(N1);
    expect(back.killedPods).toContain(`${ns}/c1`);
    expect(alive(c1Pid)).toBe(false);
    expect(frozen(a1?.cgroup ?? '')).toBe(false);
    await waitFor(async () => (await nodeReady(N1)) === 'True', 30_000, {
      what: `${N1} Ready again`,
      intervalMs: 250,
    });
    console.log(`restoreNode: ${N1} Ready after ${Date.now() - t1} ms`);
    expect(podState(ns, 'a1').containers['postgres']?.pid).toBe(a1?.pid); // resumed, not restarted
    await expectReach('c2', ip('a1'));
    await waitFor(() => podReady(ns, 'a1'), 60_000, { what: 'a1 Ready after restore' });
    // c1 stays gone
    expect((await kubectl(['-n', ns, 'get', 'pod', 'c1'])).code).not.toBe(0);
  });

  it('loseNode with kill: processes die, nothing restarts until restoreNode', async () => {
    const before = podState(ns, 'b2').containers['postgres'];
    const count = await restarts('b2', 'postgres');
    const r = await loseNode(N2, { kill: true });
    expect(r.killedContainers).toBeGreaterThanOrEqual(1);
    await waitFor(() => !alive(before?.pid ?? 0), 10_000, { what: 'b2 postgres killed' });
    await expectCut('duo', ip('b2'));
    // The kill is not reported while the node is lost.
    expect(await restarts('b2', 'postgres')).toBe(count);
    await restoreNode(N2);
    await waitFor(async () => (await restarts('b2', 'postgres')) === count + 1, 60_000, {
      what: 'b2 postgres restarted after restore',
    });
    await waitFor(() => podReady(ns, 'b2'), 120_000, { what: 'b2 Ready' });
    await waitFor(async () => (await nodeReady(N2)) === 'True', 30_000, { what: `${N2} Ready` });
    await waitRunning('c2');
  });

  it('partitionNode: other nodes and the API are cut off, same-node traffic and other nodes work; healNode', async () => {
    // c1 was force-deleted above; a fresh client on N1
    await apply(ns, list(onNode(clientPod('c1b'), N1)));
    await waitRunning('c1b');
    await waitFor(
      async () => (await exec(ns, 'c1b', ['getent', 'hosts', 'svc-b'])).code === 0,
      30_000,
      {
        what: 'svc-b in c1b /etc/hosts',
      },
    );
    await expectReach('c1b', ip('a1'));
    await expectReach('c1b', 'svc-b');
    expect((await apiFromPod('c1b', 5))[0]).toBe(0);

    const r = await partitionNode(N1);
    expect(r.nodes[N1]?.partitioned).toBe(true);
    const tp = Date.now();
    // Once N2 has beaten after the partition, no beat of N1 begun before it
    // can still be in flight.
    const l2 = await leaseRenew(N2);
    await waitFor(async () => (await leaseRenew(N2)) > l2, 20_000, { what: `${N2} lease renewed` });
    const l1 = await leaseRenew(N1);
    expect(l1).toBeLessThan(tp + 1_000);
    // same node: fine
    await expectReach('c1b', ip('a1'));
    // across nodes, both ways, Service names included
    await expectCut('c1b', ip('b2'));
    await expectCut('c1b', 'svc-b');
    await expectCut('c2', ip('a1'));
    // the other nodes still talk to each other
    await expectReach('c2', ip('duo'));
    await expectReach('c2', 'svc-b');
    // the API server: gone for N1's pods, there for the others
    const [code, secs] = await apiFromPod('c1b', 3);
    expect(code, 'curl from a partitioned pod must time out (28)').toBe(28);
    expect(secs).toBeGreaterThanOrEqual(2.5);
    expect((await apiFromPod('c2', 10))[0]).toBe(0);
    // a pod started on the partitioned node is partitioned too
    await apply(ns, list(onNode(clientPod('late1'), N1)));
    await waitFor(() => podState(ns, 'late1').containers['client']?.running, 60_000, {
      what: 'late1 running (its status is not reported while partitioned)',
    });
    await expectCut('late1', ip('b2'));
    await expectReach('late1', ip('a1'));
    expect(
      await kubectlOk(['-n', ns, 'get', 'pod', 'late1', '-o', 'jsonpath={.status.phase}']),
      'a partitioned node reports no pod status',
    ).toBe('Pending');
    // heartbeats: N2's lease moved on twice while N1's stayed
    await waitFor(async () => (await leaseRenew(N2)) > l2 + 3_000, 20_000, {
      what: `${N2} lease renewed`,
    });
    expect(await leaseRenew(N1)).toBe(l1);

    await healNode(N1);
    await expectReach('c2', ip('a1'));
    await expectReach('c1b', 'svc-b');
    expect((await apiFromPod('c1b', 10))[0]).toBe(0);
    await waitFor(async () => (await leaseRenew(N1)) > l1, 20_000, { what: `${N1} lease renewed` });
    await waitRunning('late1');
  });

  it('freezeContainer/thawContainer and killContainer act on one container of a pod only', async () => {
    // the sidecar alone
    const cg = await freezeContainer(ns, 'duo', 'agent');
    expect(frozen(cg)).toBe(true);
    const t = await tick('postgres');
    await expectReach('c2', ip('duo')); // postgres still serves
    await new Promise((res) => setTimeout(res, 1_000));
    expect(await tick('postgres')).toBe(t); // the sidecar did not run
    await thawContainer(ns, 'duo', 'agent');
    await waitFor(async () => (await tick('postgres')) > t, 10_000, { what: 'ticks again' });

    // postgres alone
    await freezeContainer(ns, 'duo', 'postgres');
    await expectCut('c2', ip('duo'));
    const t2 = await tick('agent');
    await waitFor(async () => (await tick('agent')) > t2, 10_000, {
      what: 'the sidecar keeps ticking while postgres is frozen',
    });
    await thawContainer(ns, 'duo', 'postgres');
    await expectReach('c2', ip('duo'));

    // kill the sidecar: it restarts, postgres is untouched
    const pgPid = podState(ns, 'duo').containers['postgres']?.pid;
    const agentRestarts = await restarts('duo', 'agent');
    const pgRestarts = await restarts('duo', 'postgres');
    const killed = killContainer(ns, 'duo', 'agent');
    await waitFor(() => !alive(killed), 10_000, { what: 'agent killed' });
    await waitFor(async () => (await restarts('duo', 'agent')) === agentRestarts + 1, 60_000, {
      what: 'agent restartCount + 1',
    });
    expect(await restarts('duo', 'postgres')).toBe(pgRestarts);
    expect(podState(ns, 'duo').containers['postgres']?.pid).toBe(pgPid);
    const last = await kubectlOk([
      '-n',
      ns,
      'get',
      'pod',
      'duo',
      '-o',
      'jsonpath={.status.containerStatuses[?(@.name=="agent")].lastState.terminated.exitCode}',
    ]);
    expect(last).toBe('137');

    // kill postgres: it restarts, the sidecar is untouched
    const agentPid = await waitFor(() => podState(ns, 'duo').containers['agent']?.pid, 30_000);
    killContainer(ns, 'duo', 'postgres');
    await waitFor(async () => (await restarts('duo', 'postgres')) === pgRestarts + 1, 60_000, {
      what: 'postgres restartCount + 1',
    });
    expect(podState(ns, 'duo').containers['agent']?.pid).toBe(agentPid);
    await waitFor(() => podReady(ns, 'duo'), 120_000, { what: 'duo Ready again' });
  });

  it('slowApiServer: latency added to, and timeouts on, the pods path to the API server', async () => {
    const base = Math.min(
      ...(await Promise.all([1, 2, 3].map(() => apiFromPod('c2', 10)))).map(([c, s]) =>
        c === 0 ? s : 99,
      ),
    );
    expect(base).toBeLessThan(5);
    await slowApiServer({ latencyMs: 600 });
    const [code, slow] = await apiFromPod('c2', 20);
    expect(code).toBe(0);
    console.log(`slowApiServer 600 ms: /version from a pod ${slow}s (without: ${base}s)`);
    expect(slow).toBeGreaterThanOrEqual(base + 0.6);

    await slowApiServer({ latencyMs: 0, timeout: true });
    const [tcode, tsecs] = await apiFromPod('c2', 3);
    expect(tcode, 'curl must time out (28)').toBe(28);
    expect(tsecs).toBeGreaterThanOrEqual(2.5);
    // the CLI's own path is untouched
    expect((await kubectl(['get', 'ns', ns, '--request-timeout=5s'])).code).toBe(0);

    await restoreApiServer();
    const [rcode, rsecs] = await apiFromPod('c2', 10);
    expect(rcode).toBe(0);
    expect(rsecs).toBeLessThan(base + 0.6);
  });
});

// Each fault helper in test/cluster/faults.ts does what it says on a real pod.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freezePod,
  healPod,
  killPod,
  partitionPod,
  podState,
  startApiServer,
  stopApiServer,
  thawPod,
} from '../../cluster/faults.js';
import {
  apply,
  createNamespace,
  deleteNamespace,
  exec,
  kubectl,
  kubectlOk,
  podReady,
  run,
  waitFor,
} from '../../cluster/kube.js';
import { clientPod, list, pgPod } from '../../cluster/manifests.js';

let ns = '';
let targetIp = '';

/** psql from the client pod to the target's IP, bounded by `timeout`. */
const query = (seconds: number) =>
  exec(
    ns,
    'client',
    [
      'timeout',
      String(seconds),
      'psql',
      `postgresql://postgres@${targetIp}:5432/postgres?connect_timeout=${seconds}`,
      '-Atc',
      'select 1',
    ],
    { timeoutMs: (seconds + 20) * 1000 },
  );

const restartCount = async (pod: string) =>
  Number(
    await kubectlOk([
      '-n',
      ns,
      'get',
      'pod',
      pod,
      '-o',
      'jsonpath={.status.containerStatuses[0].restartCount}',
    ]),
  );

describe('fault injection', () => {
  beforeAll(async () => {
    ns = await createNamespace('e2e-faults');
    await apply(ns, list(pgPod('target', { app: 'target' }), clientPod('client')));
    await waitFor(() => podReady(ns, 'target'), 120_000, { what: 'target Ready' });
    await waitFor(
      async () =>
        (await kubectlOk(['-n', ns, 'get', 'pod', 'client', '-o', 'jsonpath={.status.phase}'])) ===
        'Running',
      60_000,
      { what: 'client Running' },
    );
    targetIp = await kubectlOk([
      '-n',
      ns,
      'get',
      'pod',
      'target',
      '-o',
      'jsonpath={.status.podIP}',
    ]);
    const r = await query(10);
    expect(r.code, r.stderr).toBe(0);
  });

  afterAll(async () => {
    // never leave a fault behind, even when a test failed half-way
    try {
      healPod(ns, 'target');
      thawPod(ns, 'target');
    } catch {
      /* pod may be gone */
    }
    if (ns) await deleteNamespace(ns);
  });

  it('killPod: SIGKILL, restartCount increments and postgres comes back', async () => {
    const before = await restartCount('target');
    const beforeState = podState(ns, 'target').containers['postgres']?.restartCount ?? -1;
    const pid = killPod(ns, 'target');
    expect(pid).toBeGreaterThan(1);
    await waitFor(async () => (await restartCount('target')) === before + 1, 60_000, {
      what: 'restartCount + 1 in the pod status',
    });
    // the state file follows (kpg-node writes it when the new process runs)
    const st = await waitFor(
      () => {
        const c = podState(ns, 'target').containers['postgres'];
        return c && c.restartCount === beforeState + 1 && c.running ? c : undefined;
      },
      30_000,
      { what: 'restartCount + 1 in the state file' },
    );
    expect(st.pid).not.toBe(pid);
    const lastState = await kubectlOk([
      '-n',
      ns,
      'get',
      'pod',
      'target',
      '-o',
      'jsonpath={.status.containerStatuses[0].lastState.terminated.exitCode}',
    ]);
    expect(lastState).toBe('137');
    await waitFor(() => podReady(ns, 'target'), 120_000, { what: 'target Ready again' });
    const r = await query(10);
    expect(r.code, r.stderr).toBe(0);
  });

  /** The target is Ready and answers (so a failure below is the fault's doing). */
  const healthy = async () => {
    await waitFor(() => podReady(ns, 'target'), 120_000, { what: 'target Ready' });
    const r = await query(10);
    expect(r.code, r.stderr).toBe(0);
  };

  it('freezePod/thawPod: queries hang while frozen and succeed after thaw', async () => {
    await healthy();
    const stopped = freezePod(ns, 'target');
    expect(stopped.length).toBeGreaterThan(0);
    try {
      const t0 = Date.now();
      const hung = await query(3);
      expect(hung.code).not.toBe(0); // `timeout` killed psql (124) or connect_timeout expired
      expect(Date.now() - t0).toBeGreaterThanOrEqual(2_500); // it hung, it was not refused
    } finally {
      thawPod(ns, 'target');
    }
    const r = await query(10);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('1');
  });

  it('partitionPod/healPod: traffic is blocked, then restored', async () => {
    await healthy();
    const veth = partitionPod(ns, 'target');
    expect(veth).toBeTruthy();
    try {
      const t0 = Date.now();
      const cut = await query(3);
      expect(cut.code).not.toBe(0);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(2_500); // a timeout, not a refusal
    } finally {
      healPod(ns, 'target');
    }
    const r = await waitFor(
      async () => {
        const q = await query(5);
        return q.code === 0 ? q : undefined;
      },
      30_000,
      { what: 'query after heal' },
    );
    expect(r.stdout.trim()).toBe('1');
  });

  it('stopApiServer/startApiServer: the API goes away and comes back; pods keep serving', async () => {
    await stopApiServer();
    try {
      const down = await kubectl(['get', 'namespaces', '--request-timeout=3s']);
      expect(down.code).not.toBe(0);
      expect(down.stderr).toMatch(/refused|unable to connect|timeout/i);
      // the data plane does not depend on the API server: from the client
      // pod's network namespace the target still answers
      const netns = podState(ns, 'client').netns;
      const q = await run(
        'nsenter',
        [
          `--net=${netns.startsWith('/') ? netns : `/run/netns/${netns}`}`,
          'psql',
          '-h',
          targetIp,
          '-U',
          'postgres',
          '-Atc',
          'select 1',
        ],
        { timeoutMs: 15_000, env: { ...process.env, PGCONNECT_TIMEOUT: '5' } },
      );
      expect(q.code, q.stderr).toBe(0);
    } finally {
      await startApiServer();
    }
    const up = await kubectl(['get', 'namespaces']);
    expect(up.code, up.stderr).toBe(0);
    await waitFor(() => podReady(ns, 'target'), 30_000, {
      what: 'target Ready after the API came back',
    });
  });
});

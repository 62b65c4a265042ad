// Pods are isolated as on a real node: each sees only its own processes, a
// kill -9 -1 in one leaves the others running, and a pod recreated under the
// same name is reachable through its Service as soon as it is Ready.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podState } from '../../cluster/faults.js';
import {
  apply,
  createNamespace,
  deleteNamespace,
  exec,
  getJson,
  kubeconfigPath,
  kubectlOk,
  kubectlPath,
  waitFor,
} from '../../cluster/kube.js';
import {
  clientPod,
  headlessService,
  list,
  PG_IMAGE,
  pgPod,
  pgSecurityContext,
  pgService,
  pgStatefulSet,
} from '../../cluster/manifests.js';

let ns = '';

interface PodJson {
  metadata: { uid: string };
  status: {
    podIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { restartCount: number }[];
  };
}

const isReady = (p: PodJson) =>
  p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** The PIDs and command lines a container sees in its own /proc. */
async function procs(pod: string, container?: string): Promise<string[]> {
  const r = await exec(
    ns,
    pod,
    [
      'bash',
      '-c',
      'for d in /proc/[0-9]*; do printf "%s %s\\n" "${d#/proc/}" "$(tr "\\0" " " < $d/cmdline 2>/dev/null)"; done',
    ],
    { ...(container ? { container } : {}), timeoutMs: 20_000 },
  );
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.split('\n').filter(Boolean);
}

/**
 * Resolves with the time (ms since the epoch) at which a watch first sees a
 * pod named `name` Ready with a UID other than `oldUid`.
 */
function watchReady(
  name: string,
  oldUid: string,
  timeoutMs: number,
): Promise<PodJson & { at: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(kubectlPath, [
      '--kubeconfig',
      kubeconfigPath,
      '-n',
      ns,
      'get',
      'pod',
      name,
      '--watch',
      '--output-watch-events=false',
      '-o',
      'json',
    ]);
    let buf = '';
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`pod ${name} not Ready again within ${timeoutMs} ms`));
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      // kubectl prints one pretty JSON object per event, each starting at column 0.
      for (;;) {
        const end = buf.indexOf('\n}\n');
        if (end < 0) return;
        const doc = buf.slice(0, end + 2);
        buf = buf.slice(end + 3);
        const p = JSON.parse(doc) as PodJson;
        if (p.metadata.uid !== oldUid && isReady(p)) {
          clearTimeout(timer);
          child.kill();
          resolve({ ...p, at: Date.now() });
          return;
        }
      }
    });
    child.on('error', reject);
  });
}

/** What a failed reachability wait leaves to look at: the client's view and the API's. */
async function whyUnreachable(p: PodJson & { at: number }): Promise<string> {
  const view = await exec(ns, 'client', [
    'bash',
    '-c',
    'grep db-rw /etc/hosts; tail -n 2 /tmp/ok; pgrep -fc "pg_isready -q -h db-rw"; pg_isready -h db-rw -t 2',
  ]);
  const slices = await getJson<{ items: { endpoints?: { addresses: string[] }[] }[] }>([
    '-n',
    ns,
    'endpointslices',
    '-l',
    'kubernetes.io/service-name=db-rw',
  ]);
  return [
    `Ready at ${p.at} with IP ${p.status.podIP ?? '?'}`,
    `client: ${view.stdout.trim().replace(/\n/g, ' | ')} ${view.stderr.trim()}`,
    `endpoints: ${JSON.stringify(slices.items.map((s) => s.endpoints ?? []))}`,
  ].join('; ');
}

describe('pod isolation and networking', () => {
  beforeAll(async () => {
    ns = await createNamespace('e2e-iso');
    await apply(
      ns,
      list(
        headlessService('db'),
        pgService('db-rw', { app: 'db' }),
        pgStatefulSet('db', { replicas: 1 }),
        pgPod('other', { app: 'other' }),
        clientPod('client'),
      ),
    );
    await waitFor(
      async () => {
        const pods = await getJson<{ items: PodJson[] }>(['-n', ns, 'pods']);
        return pods.items.length === 3 && pods.items.every(isReady);
      },
      180_000,
      { what: 'db-0, other and client Ready', intervalMs: 500 },
    );
  });

  afterAll(async () => {
    if (ns) await deleteNamespace(ns);
  });

  it('a container sees only its own processes in /proc', async () => {
    const seen = await procs('other');
    // postgres is PID 1 of its own PID namespace; no host or other-pod process shows.
    expect(seen.find((l) => l.startsWith('1 '))).toMatch(/postgres/);
    expect(seen.join('\n')).not.toMatch(/kube-apiserver|kpg-node|etcd|vitest|sleep infinity/);
    // The host sees the same process under another PID.
    const hostPid = podState(ns, 'other').containers['postgres']?.pid;
    expect(hostPid).toBeGreaterThan(1);
  });

  it('kill -9 -1 as the container user in one pod leaves other pods running', async () => {
    const aux = async (pod: string) =>
      (await procs(pod)).filter((l) => /postgres: (checkpointer|background writer)/.test(l));
    const dbBefore = await aux('db-0');
    const otherBefore = await aux('other');
    expect(dbBefore).toHaveLength(2);
    // Same uid (999) in both pods: without PID namespaces this would reach
    // db-0's postgres (and every other uid-999 process of the machine) too.
    await exec(ns, 'other', ['bash', '-c', 'kill -9 -1'], { timeoutMs: 20_000 });
    // The signal reached every process of that container but its PID 1: the
    // postmaster restarts its children (new PIDs).
    await waitFor(
      async () => {
        const now = await aux('other');
        return now.length === 2 && now.every((l) => !otherBefore.includes(l));
      },
      60_000,
      { what: "other's postmaster to restart its killed children" },
    );
    expect(await aux('db-0')).toEqual(dbBefore);
    const r = await exec(ns, 'client', ['pg_isready', '-h', 'db-rw', '-t', '3'], {
      timeoutMs: 20_000,
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });

  it('containers of a pod with shareProcessNamespace see each other, others do not', async () => {
    const twoContainers = (name: string, share: boolean) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: {
        terminationGracePeriodSeconds: 1,
        shareProcessNamespace: share,
        securityContext: pgSecurityContext,
        containers: [
          { name: 'a', image: PG_IMAGE, command: ['sleep', '1001'] },
          { name: 'b', image: PG_IMAGE, command: ['sleep', '2002'] },
        ],
      },
    });
    await apply(ns, list(twoContainers('shared', true), twoContainers('apart', false)));
    await waitFor(
      async () =>
        (await kubectlOk(['-n', ns, 'get', 'pod', 'shared', 'apart', '-o', 'name'])) &&
        (await getJson<{ items: PodJson[] }>(['-n', ns, 'pods', 'shared', 'apart'])).items.every(
          isReady,
        ),
      60_000,
      { what: 'pods shared and apart Ready' },
    );
    const shared = (await procs('shared', 'a')).join('\n');
    expect(shared).toMatch(/sleep 1001/);
    expect(shared).toMatch(/sleep 2002/);
    // The pause process holds the shared namespace as PID 1, as the kubelet's does.
    expect((await procs('shared', 'b')).find((l) => l.startsWith('1 '))).toMatch(/kpg-node pause/);
    const apart = (await procs('apart', 'a')).join('\n');
    expect(apart).toMatch(/sleep 1001/);
    expect(apart).not.toMatch(/sleep 2002/);
  });

  it('a pod recreated under the same name is reachable through its Service within 1 s of Ready, 5 times', async () => {
    // The client probes through the Service name every 50 ms and logs each success.
    await exec(ns, 'client', [
      'bash',
      '-c',
      "nohup bash -c 'while :; do pg_isready -q -h db-rw -t 1 && date +%s%3N >> /tmp/ok; sleep 0.05; done' >/dev/null 2>&1 &",
    ]);
    const gaps: number[] = [];
    for (let i = 0; i < 5; i++) {
      const old = await getJson<PodJson>(['-n', ns, 'pod', 'db-0']);
      const ready = watchReady('db-0', old.metadata.uid, 120_000);
      await kubectlOk(['-n', ns, 'delete', 'pod', 'db-0', '--wait=false']);
      const p = await ready;
      const ok = await waitFor(
        async () => {
          const r = await exec(ns, 'client', ['cat', '/tmp/ok']);
          return r.stdout
            .split('\n')
            .map(Number)
            .find((t) => t >= p.at - 200);
        },
        30_000,
        { what: 'the client to reach db-0 through Service db-rw', intervalMs: 100 },
      ).catch(async (err: unknown) => {
        throw new Error(`${String(err)}; ${await whyUnreachable(p)}`);
      });
      gaps.push(Math.max(0, ok - p.at));
      expect(p.status.podIP, 'a fresh pod IP per incarnation').not.toBe(old.status.podIP);
    }
    console.log(`reachable after Ready (ms): ${gaps.join(', ')}`);
    for (const g of gaps) expect(g).toBeLessThan(1000);
  });
});

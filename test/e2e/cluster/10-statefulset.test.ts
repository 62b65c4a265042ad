// A plain StatefulSet of postgres:15 pods on the local cluster: real
// scheduling, PVCs, readiness, exec, logs and port-forward.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apply,
  createNamespace,
  deleteNamespace,
  exec,
  getJson,
  kubectlOk,
  podReady,
  portForward,
  run,
  sleep,
  waitFor,
} from '../../cluster/kube.js';
import { headlessService, list, pgStatefulSet } from '../../cluster/manifests.js';

const GATE = '/var/lib/postgresql/data/ready-gate';
const PODS = ['pg-0', 'pg-1', 'pg-2'];

interface Pod {
  metadata: { name: string };
  spec: { nodeName?: string };
  status: { podIP?: string };
}

let ns = '';

const psqlIn = (pod: string, sql: string, host = '127.0.0.1') =>
  exec(ns, pod, ['psql', '-h', host, '-U', 'postgres', '-Atc', sql], { timeoutMs: 20_000 });

describe('StatefulSet of postgres:15', () => {
  beforeAll(async () => {
    ns = await createNamespace('e2e-sts');
    await apply(
      ns,
      list(
        headlessService('pg'),
        pgStatefulSet('pg', { replicas: 3, gateFile: GATE, spread: true }),
      ),
    );
  });

  afterAll(async () => {
    if (ns) await deleteNamespace(ns);
  });

  it('schedules the pods with the real scheduler, one per node', async () => {
    const pods = await waitFor(
      async () => {
        const l = await getJson<{ items: Pod[] }>(['pods', '-n', ns, '-l', 'app=pg']);
        return l.items.length === 3 && l.items.every((p) => p.spec.nodeName) ? l.items : undefined;
      },
      60_000,
      { what: '3 scheduled pods' },
    );
    const nodes = pods.map((p) => p.spec.nodeName).sort();
    expect(nodes).toEqual(['kpg-worker-1', 'kpg-worker-2', 'kpg-worker-3']);
    // the scheduler, not us, set nodeName: there is a Scheduled event from default-scheduler
    const events = await kubectlOk([
      '-n',
      ns,
      'get',
      'events',
      '--field-selector',
      'reason=Scheduled',
      '-o',
      'json',
    ]);
    const ev = JSON.parse(events) as {
      items: { source?: { component?: string }; reportingComponent?: string }[];
    };
    expect(ev.items.length).toBeGreaterThanOrEqual(3);
    expect(
      ev.items.every((e) => (e.reportingComponent || e.source?.component) === 'default-scheduler'),
    ).toBe(true);
  });

  it('binds a PVC per pod', async () => {
    await waitFor(
      async () => {
        const out = await kubectlOk([
          '-n',
          ns,
          'get',
          'pvc',
          '-o',
          'jsonpath={range .items[*]}{.status.phase}{"\\n"}{end}',
        ]);
        return (
          out
            .trim()
            .split('\n')
            .filter((s) => s === 'Bound').length === 3
        );
      },
      60_000,
      { what: '3 Bound PVCs' },
    );
    const pvcs = (await kubectlOk(['-n', ns, 'get', 'pvc', '-o', 'name']))
      .trim()
      .split('\n')
      .sort();
    expect(pvcs).toEqual([
      'persistentvolumeclaim/data-pg-0',
      'persistentvolumeclaim/data-pg-1',
      'persistentvolumeclaim/data-pg-2',
    ]);
  });

  it('makes each pod Ready only after its own postgres accepts connections and its probe passes', async () => {
    // postgres comes up in every pod ...
    for (const pod of PODS) {
      await waitFor(
        async () => (await exec(ns, pod, ['pg_isready', '-h', '127.0.0.1'])).code === 0,
        120_000,
        {
          what: `postgres accepting in ${pod}`,
        },
      );
    }
    // ... but no pod is Ready while its probe's gate file is missing
    await sleep(3_000);
    for (const pod of PODS) expect(await podReady(ns, pod)).toBe(false);

    // opening pg-0's gate makes pg-0 (and only pg-0) Ready
    expect((await exec(ns, 'pg-0', ['touch', GATE])).code).toBe(0);
    const t0 = Date.now();
    await waitFor(() => podReady(ns, 'pg-0'), 30_000, { what: 'pg-0 Ready' });
    const readyAfterMs = Date.now() - t0;
    expect(await podReady(ns, 'pg-1')).toBe(false);
    expect(await podReady(ns, 'pg-2')).toBe(false);

    for (const pod of ['pg-1', 'pg-2']) expect((await exec(ns, pod, ['touch', GATE])).code).toBe(0);
    for (const pod of PODS)
      await waitFor(() => podReady(ns, pod), 30_000, { what: `${pod} Ready` });
    console.log(`pg-0 became Ready ${readyAfterMs} ms after its readiness gate opened`);
  });

  it("kubectl exec psql reaches the pod's own server", async () => {
    const pods = await getJson<{ items: Pod[] }>(['pods', '-n', ns, '-l', 'app=pg']);
    const ips = new Set<string>();
    for (const p of pods.items) {
      const pod = p.metadata.name;
      const ip = p.status.podIP ?? '';
      expect(ip).toMatch(/^10\.244\.\d+\.\d+$/);
      ips.add(ip);
      const w = await psqlIn(
        pod,
        `create table marker(name text); insert into marker values ('${pod}')`,
      );
      expect(w.code, w.stderr).toBe(0);
      // over loopback and over the pod IP, the server is this pod's
      const local = await psqlIn(pod, 'select name from marker');
      expect(local.stdout.trim()).toBe(pod);
      const viaIp = await psqlIn(
        pod,
        'select host(inet_server_addr()), (select name from marker)',
        ip,
      );
      expect(viaIp.code, viaIp.stderr).toBe(0);
      expect(viaIp.stdout.trim()).toBe(`${ip}|${pod}`);
    }
    expect(ips.size).toBe(3);
  });

  it('reaches the other pods by their stable names through the headless Service', async () => {
    for (const name of ['pg-1.pg', `pg-2.pg.${ns}`, `pg-1.pg.${ns}.svc.cluster.local`]) {
      const r = await psqlIn('pg-0', 'select name from marker', name);
      expect(r.code, `${name}: ${r.stderr}`).toBe(0);
      expect(r.stdout.trim()).toBe(name.slice(0, 4));
    }
  });

  it('kubectl logs shows postgres output', async () => {
    const out = await kubectlOk(['-n', ns, 'logs', 'pg-1']);
    expect(out).toMatch(/database system is ready to accept connections/);
    expect(out).toMatch(/listening on IPv4 address "0\.0\.0\.0", port 5432/);
  });

  it('kubectl port-forward reaches the pod from the host', async () => {
    const pf = await portForward(ns, 'pg-2', 5432);
    try {
      const r = await run(
        'psql',
        [
          '-h',
          '127.0.0.1',
          '-p',
          String(pf.localPort),
          '-U',
          'postgres',
          '-Atc',
          'select name from marker',
        ],
        {
          timeoutMs: 20_000,
          env: { ...process.env, PGCONNECT_TIMEOUT: '10' },
        },
      );
      expect(r.code, r.stderr + pf.output()).toBe(0);
      expect(r.stdout.trim()).toBe('pg-2');
    } finally {
      await pf.close();
    }
  });
});

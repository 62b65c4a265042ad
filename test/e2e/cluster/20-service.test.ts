// Pods reach each other through Service names, and a Service follows its
// selector when pods are relabelled.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apply,
  createNamespace,
  deleteNamespace,
  exec,
  getJson,
  kubectlOk,
  podReady,
  waitFor,
} from '../../cluster/kube.js';
import { clientPod, list, pgPod, pgService } from '../../cluster/manifests.js';

let ns = '';
const ip: Record<string, string> = {};

const psqlFromClient = (host: string, extra: string[] = []) =>
  exec(
    ns,
    'client',
    ['psql', '-h', host, '-U', 'postgres', '-Atc', 'select host(inet_server_addr())', ...extra],
    {
      timeoutMs: 20_000,
    },
  );

describe('Services', () => {
  beforeAll(async () => {
    ns = await createNamespace('e2e-svc');
    await apply(
      ns,
      list(
        pgPod('db-a', { app: 'db', role: 'primary' }),
        pgPod('db-b', { app: 'db', role: 'replica' }),
        clientPod('client'),
        pgService('db', { app: 'db', role: 'primary' }),
      ),
    );
    for (const pod of ['db-a', 'db-b'])
      await waitFor(() => podReady(ns, pod), 120_000, { what: `${pod} Ready` });
    await waitFor(
      async () =>
        (await kubectlOk(['-n', ns, 'get', 'pod', 'client', '-o', 'jsonpath={.status.phase}'])) ===
        'Running',
      60_000,
      { what: 'client Running' },
    );
    const pods = await getJson<{
      items: { metadata: { name: string }; status: { podIP?: string } }[];
    }>(['pods', '-n', ns]);
    for (const p of pods.items) ip[p.metadata.name] = p.status.podIP ?? '';
  });

  afterAll(async () => {
    if (ns) await deleteNamespace(ns);
  });

  it('resolves svc, svc.ns, svc.ns.svc and svc.ns.svc.cluster.local from another pod', async () => {
    for (const name of ['db', `db.${ns}`, `db.${ns}.svc`, `db.${ns}.svc.cluster.local`]) {
      const r = await waitFor(
        async () => {
          const r = await psqlFromClient(name);
          return r.code === 0 ? r : undefined;
        },
        30_000,
        { what: `psql -h ${name}` },
      );
      expect(r.stdout.trim(), name).toBe(ip['db-a']);
    }
  });

  it('moves the Service within a second when pods are relabelled', async () => {
    // A loop inside the client pod records, with the shared host clock, which
    // server `psql -h db` reaches; meanwhile the labels are swapped.
    const loop = [
      'end=$(( $(date +%s) + 15 ))',
      'while [ $(date +%s) -lt $end ]; do',
      '  r=$(PGCONNECT_TIMEOUT=2 psql -h db -U postgres -Atc "select host(inet_server_addr())" 2>/dev/null || echo err)',
      '  echo "$(date +%s%3N) $r"',
      '  sleep 0.02',
      'done',
    ].join('\n');
    const probe = exec(ns, 'client', ['bash', '-c', loop], { timeoutMs: 40_000 });
    await new Promise((r) => setTimeout(r, 3_000));
    const unlabelAt = Date.now();
    await kubectlOk(['-n', ns, 'label', 'pod', 'db-a', 'role=replica', '--overwrite']);
    // the change that selects db-b: measured from when it is sent
    const changedAt = Date.now();
    await kubectlOk(['-n', ns, 'label', 'pod', 'db-b', 'role=primary', '--overwrite']);
    const labelledAt = Date.now();
    const out = await probe;
    const samples = out.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(' '))
      .map(([t, r]) => ({ t: Number(t), r: r ?? '' }));
    const before = samples.filter((s) => s.t < unlabelAt);
    expect(before.length).toBeGreaterThan(5);
    expect(before.every((s) => s.r === ip['db-a'])).toBe(true);
    const firstB = samples.find((s) => s.t >= changedAt && s.r === ip['db-b']);
    expect(firstB, out.stdout).toBeDefined();
    const moveMs = (firstB?.t ?? 0) - changedAt;
    const after = samples.filter((s) => s.t > (firstB?.t ?? 0));
    expect(after.length).toBeGreaterThan(5);
    expect(
      after.every((s) => s.r === ip['db-b']),
      out.stdout,
    ).toBe(true);
    console.log(
      `Service db moved to db-b ${moveMs} ms after the relabel was sent (kubectl label took ${labelledAt - changedAt} ms; ${samples.length} samples)`,
    );
    expect(moveMs).toBeLessThan(1_000);
  });
});

// Issue 10, done-when 11: the ServiceAccount of an opted-in cluster's pods,
// checked with `kubectl auth can-i --as=system:serviceaccount:NS:SA`, reads
// no Secret and touches nothing of another cluster in the namespace (its
// pods, its Lease, its record), while it can do what its own agent needs.
// Two opted-in clusters in one namespace: the first applied whole (its pods
// say which ServiceAccount they run as), the second's RBAC only.
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { apply, createNamespace, getJson, kubectl, waitFor } from '../../cluster/kube.js';
import { CLUSTER, cleanup, kpg } from '../failover/harness.js';
import { agentManifest } from './setup.js';

const OTHER = 'other-pg';

interface Doc {
  kind: string;
  metadata: { name: string };
}

async function render(ns: string, name: string): Promise<Doc[]> {
  const r = await kpg(
    ['create', '-f', '-', '-n', ns, '--dry-run=client', '--show-secrets', '-o', 'yaml'],
    {
      input: agentManifest({}, name),
      timeoutMs: 60_000,
    },
  );
  if (r.code !== 0) throw new Error(`kpg create --dry-run failed: ${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as Doc | null)
    .filter((d): d is Doc => d !== null);
}

const yamlOf = (docs: Doc[]) => docs.map((d) => JSON.stringify(d)).join('\n---\n');

describe("in-pod agent: the pods' ServiceAccount", () => {
  let ns: string | undefined;
  afterAll(async () => cleanup(ns));

  it("reads no Secret and cannot touch another cluster's pods, Lease or record", async () => {
    ns = await createNamespace('agent-rbac');
    const mine = await render(ns, CLUSTER);
    await apply(ns, yamlOf(mine));
    const theirs = (await render(ns, OTHER)).filter((d) =>
      ['ServiceAccount', 'Role', 'RoleBinding'].includes(d.kind),
    );
    expect(theirs.map((d) => d.kind).sort()).toEqual(['Role', 'RoleBinding', 'ServiceAccount']);
    await apply(ns, yamlOf(theirs));

    const space = ns;
    const sa = await waitFor(
      async () =>
        (
          await getJson<{ spec: { serviceAccountName?: string } }>([
            '-n',
            space,
            'pod',
            `${CLUSTER}-0`,
          ]).catch(() => undefined)
        )?.spec.serviceAccountName,
      120_000,
      { what: `pod ${CLUSTER}-0 to exist` },
    );
    const otherSa = theirs.find((d) => d.kind === 'ServiceAccount')?.metadata.name ?? '';
    expect(sa).not.toBe('default');
    expect(sa).not.toBe(otherSa);

    const can = async (account: string, verb: string, what: string): Promise<boolean> => {
      const r = await kubectl([
        'auth',
        'can-i',
        verb,
        what,
        '-n',
        space,
        `--as=system:serviceaccount:${space}:${account}`,
      ]);
      if (r.code !== 0 && r.stdout.trim() !== 'no')
        throw new Error(`kubectl auth can-i: ${r.stderr}`);
      return r.code === 0;
    };
    const checks = async (account: string, own: string, other: string) => {
      const allowed: string[] = [];
      const denied: string[] = [];
      const yes = [
        ['update', `leases.coordination.k8s.io/${own}-primary`],
        ['get', `configmaps/${own}-kpg`],
        ['update', `configmaps/${own}-kpg`],
        ['patch', `pods/${own}-0`],
        ['get', `pods/${own}-2`],
      ];
      const no = [
        ['get', 'secrets'],
        ['list', 'secrets'],
        ['watch', 'secrets'],
        ['get', `secrets/${own}-auth`],
        ['get', `secrets/${other}-auth`],
        ['patch', `pods/${other}-0`],
        ['get', `pods/${other}-1`],
        ['delete', `pods/${other}-0`],
        ['list', 'pods'],
        ['get', `leases.coordination.k8s.io/${other}-primary`],
        ['update', `leases.coordination.k8s.io/${other}-primary`],
        ['patch', `leases.coordination.k8s.io/${other}-primary`],
        ['delete', `leases.coordination.k8s.io/${other}-primary`],
        ['get', `configmaps/${other}-kpg`],
        ['update', `configmaps/${other}-kpg`],
        ['patch', `configmaps/${other}-kpg`],
        ['delete', `configmaps/${other}-kpg`],
      ];
      for (const [verb, what] of yes)
        if (!(await can(account, verb ?? '', what ?? ''))) denied.push(`${verb} ${what}`);
      for (const [verb, what] of no)
        if (await can(account, verb ?? '', what ?? '')) allowed.push(`${verb} ${what}`);
      return { deniedOwn: denied, allowedForeign: allowed };
    };
    expect(await checks(sa, CLUSTER, OTHER)).toEqual({ deniedOwn: [], allowedForeign: [] });
    expect(await checks(otherSa, OTHER, CLUSTER)).toEqual({ deniedOwn: [], allowedForeign: [] });
    console.log(`${space}: ${sa} and ${otherSa}: each limited to its own cluster, no Secrets`);
  });
});

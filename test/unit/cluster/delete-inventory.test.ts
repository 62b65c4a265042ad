/** What kpg delete finds of a cluster: labelled objects, and the unlabelled ones it knows by name. */
import { describe, expect, it } from 'vitest';
import { takeInventory } from '../../../src/lib/cluster/delete-exec.js';
import type { Kube } from '../../../src/lib/kube/index.js';

type Obj = { metadata: { name: string; labels?: Record<string, string> } };

/** Just find and list, over a fixed set of objects per kind. */
function fakeKube(objects: Record<string, Obj[]>): Kube {
  return {
    find: async (kind: string, _ns: string, name: string) =>
      (objects[kind] ?? []).find((o) => o.metadata.name === name),
    list: async (kind: string) => ({ items: objects[kind] ?? [] }),
  } as unknown as Kube;
}

describe('takeInventory', () => {
  it("finds both Leases by name: kpg failover's lock and the agents' election", async () => {
    const kube = fakeKube({
      Lease: [
        { metadata: { name: 'pg-failover' } },
        { metadata: { name: 'pg-primary' } },
        { metadata: { name: 'other-primary' } },
      ],
      Secret: [
        { metadata: { name: 'pg-auth', labels: { 'app.kubernetes.io/managed-by': 'kpg' } } },
      ],
    });
    const inv = await takeInventory(kube, 'demo', 'pg');
    const names = inv.found.map((o) => `${o.kind}/${o.name}`).sort();
    expect(names).toEqual(['Lease/pg-failover', 'Lease/pg-primary', 'Secret/pg-auth']);
  });

  it('leaves a Secret of that name alone when kpg does not manage it', async () => {
    const kube = fakeKube({ Secret: [{ metadata: { name: 'pg-auth' } }] });
    expect((await takeInventory(kube, 'demo', 'pg')).found).toEqual([]);
  });
});

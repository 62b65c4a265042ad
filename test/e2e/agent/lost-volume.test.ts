// Issue 10, the start gate: once the cluster was bootstrapped, an empty data
// directory is never initdb'ed. The primary's volume is wiped under it and its
// postgres killed: the container comes back over an empty PGDATA while its
// agent still holds the lease. The agent gives the lease up instead of
// letting the start script initdb (which would have made a new, empty
// cluster the primary Service points at); a synchronous standby takes over
// with every acknowledged row, and the old pod copies its data back from the
// new primary — the same system identifier, never a second one.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killContainer } from '../../cluster/faults.js';
import { getJson, kubectlOk } from '../../cluster/kube.js';
import { CLUSTER, cleanup, systemId } from '../failover/harness.js';
import { finish, startCluster, waitNewPrimary } from './setup.js';

interface Pod {
  spec?: { volumes?: { persistentVolumeClaim?: { claimName?: string } }[] };
}

/** The host directory behind the pod's data volume (the local cluster's hostPath PVs). */
async function volumeDir(ns: string, pod: string): Promise<string> {
  const p = await getJson<Pod>(['-n', ns, 'pod', pod]);
  const claim = p.spec?.volumes?.find((v) => v.persistentVolumeClaim)?.persistentVolumeClaim;
  if (!claim?.claimName) throw new Error(`${pod} has no claim`);
  const pvc = await getJson<{ spec?: { volumeName?: string } }>(['-n', ns, 'pvc', claim.claimName]);
  const pv = await getJson<{ spec?: { hostPath?: { path?: string } } }>([
    'pv',
    pvc.spec?.volumeName ?? '',
  ]);
  const dir = pv.spec?.hostPath?.path;
  if (!dir) throw new Error(`the volume of ${pod} has no hostPath`);
  return dir;
}

describe('in-pod agent: the primary comes back over an empty data directory', () => {
  let ns: string | undefined;
  afterAll(async () => cleanup(ns));

  it('is not initdb-ed: the lease goes to a standby, the pod copies the data back', async () => {
    const s = await startCluster('agent-lost-volume', (n) => (ns = n), { sync: true });
    const id = await systemId(s.ns, s.primary);
    expect(id).toMatch(/^\d+$/);
    const dir = await volumeDir(s.ns, s.primary);
    const t0 = Date.now();
    for (const f of readdirSync(dir)) rmSync(join(dir, f), { recursive: true, force: true });
    killContainer(s.ns, s.primary, 'postgres');

    const next = await waitNewPrimary(s.ns, s.primary, 120_000);
    console.log(
      `${s.ns}: ${s.primary}'s volume wiped → ${next} labelled after ${Date.now() - t0} ms`,
    );
    await finish(s, next, t0);
    // The old pod is a copy of the cluster, not a cluster of its own: an
    // initdb would have given it a system identifier of its own.
    expect(await systemId(s.ns, s.primary)).toBe(id);
    expect(await systemId(s.ns, next)).toBe(id);
    const agentLog = await kubectlOk(['-n', s.ns, 'logs', s.primary, '-c', 'kpg-agent']);
    expect(agentLog).toMatch(/will not initdb over the cluster's data; giving the lease up/);
    const record = await getJson<{ data?: { history?: string } }>([
      '-n',
      s.ns,
      'configmap',
      `${CLUSTER}-kpg`,
    ]);
    expect(JSON.parse(record.data?.history ?? '[]')).toContainEqual(
      expect.objectContaining({ oldPrimary: s.primary, newPrimary: next }),
    );
  });
});

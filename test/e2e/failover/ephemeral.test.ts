// Issue 12 item 1, without the agent: an Ephemeral cluster's primary pod is
// deleted, under the writer and the split-brain checker. Its emptyDir goes
// with it, and the pod comes back over an empty PGDATA while the record
// still names it primary. It must not initdb (a new, empty database behind
// the primary Service, which the standbys could no longer stream from): it
// waits and says why. `kpg failover` refuses at once (asynchronous: what the
// lost volume had not sent cannot be known); `--force` promotes the most
// advanced standby, the pod copies the data from it (the same system
// identifier), and nothing acknowledged is lost (a graceful stop sends all).
import { afterAll, describe, expect, it } from 'vitest';
import { getJson, kubectl, kubectlOk, waitFor } from '../../cluster/kube.js';
import { Checker } from '../agent/checker.js';
import { finish } from '../agent/setup.js';
import {
  CLUSTER,
  cleanup,
  createCluster,
  kpg,
  parseJson,
  pods,
  systemId,
  waitHealthy,
} from './harness.js';
import { Writer } from './writer.js';

describe('an Ephemeral cluster without the agent: its primary pod deleted', () => {
  let ns: string | undefined;
  afterAll(async () => cleanup(ns));

  it('comes back empty and waits instead of initdb; kpg failover refuses, --force promotes a standby; nothing acknowledged lost', async () => {
    ns = await createCluster('fo-ephemeral', { ephemeral: true });
    const primary = await waitHealthy(ns);
    const id = await systemId(ns, primary);
    expect(id).toMatch(/^\d+$/);
    // The first primary noted its database in the record.
    const record = await getJson<{ data?: { bootstrapped?: string } }>([
      '-n',
      ns,
      'configmap',
      `${CLUSTER}-kpg`,
    ]);
    expect(record.data?.bootstrapped).toBe(id);
    const [writer, checker] = await Promise.all([
      Writer.start(ns, CLUSTER),
      Checker.start(ns, CLUSTER),
    ]);
    await checker.waitWritable(primary);
    const before = await getJson<{ metadata: { uid: string } }>(['-n', ns, 'pod', primary]);

    const t0 = Date.now();
    await kubectlOk(['-n', ns, 'delete', 'pod', primary, '--wait=false']);
    const namespace = ns;
    await waitFor(
      async () => {
        const p = await kubectl([
          '-n',
          namespace,
          'get',
          'pod',
          primary,
          '-o',
          'jsonpath={.metadata.uid}',
        ]);
        if (p.code !== 0 || p.stdout.trim() === before.metadata.uid) return false;
        const log = await kubectl(['-n', namespace, 'logs', primary, '-c', 'postgres']);
        return log.code === 0 && /will not initdb over the cluster's data/.test(log.stdout);
      },
      180_000,
      { what: `the new ${primary} to say it waits instead of initdb`, intervalMs: 1000 },
    );
    console.log(
      `${ns}: ${primary} back over an empty PGDATA, waiting, after ${Date.now() - t0} ms`,
    );
    // Nothing is labelled primary: the Service points at no empty database.
    expect((await pods(ns)).filter((p) => p.role === 'primary')).toEqual([]);

    // Asynchronous: what it acknowledged but had not sent is gone with its
    // volume, and kpg cannot know how much that was. It refuses at once
    // (nothing to wait for), and changes nothing.
    const refused = await kpg(['failover', CLUSTER, '-n', ns, '--yes', '-o', 'json']);
    expect(refused.code, `${refused.stdout}\n${refused.stderr}`).toBe(9);
    expect(parseJson(refused).error?.message).toMatch(
      /holds no database \(its volume is gone\): commits .* would be lost/,
    );
    expect(refused.stdout).not.toMatch(/step catch-up: step catch-up/);
    // The rollback names the old pod primary again in the record, but nothing
    // serves from an empty PGDATA: no pod is labelled primary.
    expect((await pods(ns)).filter((p) => p.role === 'primary')).toEqual([]);

    // --force: the most advanced standby. A pod deleted gracefully sent all
    // its WAL before it stopped, so the rows below must all be there.
    const r = await kpg(['failover', CLUSTER, '-n', ns, '--yes', '--force', '-o', 'json']);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const out = parseJson(r);
    expect(out.oldPrimary).toBe(primary);
    expect(out.newPrimary).not.toBe(primary);
    expect(out.walSalvage?.failed).toMatch(/holds no database/);

    await finish({ ns, primary, writer, checker }, out.newPrimary, t0);
    // A copy of the cluster, not a cluster of its own.
    for (const p of await pods(ns)) expect(await systemId(ns, p.name)).toBe(id);
  });
});

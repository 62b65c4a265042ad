// Tests 2 and 6: the primary's processes are SIGKILLed under write load and
// kpg failover runs at once. After a first crash the container restarts at
// once (kubelet rules), so kpg may find the primary already back (then it
// switches over); killed again within the back-off it stays down, and kpg
// must fail over. Either way nothing acknowledged may be lost.
import { afterAll, describe, expect, it } from 'vitest';
import {
  CLUSTER,
  cleanup,
  createCluster,
  killPrimary,
  kpg,
  type KpgJson,
  missingRows,
  parseJson,
  pods,
  primaryPod,
  waitHealthy,
} from './harness.js';
import { kubectlOk } from '../../cluster/kube.js';
import { longestGap, Writer } from './writer.js';

async function killAndFailOver(ns: string, stayDown: boolean): Promise<KpgJson> {
  const old = await waitHealthy(ns);
  const writer = await Writer.start(ns, CLUSTER);
  const t0 = Date.now() / 1000;
  await killPrimary(ns, old, stayDown);
  const r = await kpg(['failover', CLUSTER, '-n', ns, '--yes', '-o', 'json']);
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  const out = parseJson(r);
  if (stayDown) expect(out.kind).toBe('failover');
  else expect(['failover', 'switchover']).toContain(out.kind);
  expect(out.oldPrimary).toBe(old);
  expect(out.newPrimary).not.toBe(old);
  expect(await primaryPod(ns)).toBe(out.newPrimary);
  await writer.waitMore(50);
  const acks = await writer.stop();
  console.log(
    `${ns}: ${out.kind} after SIGKILL, ${out.totalMs} ms, write pause ${longestGap(acks, t0)} ms, ${acks.length} rows, WAL salvage ${JSON.stringify(out.walSalvage ?? null)}`,
  );
  expect(await missingRows(ns, acks)).toEqual({});
  expect((await pods(ns)).filter((p) => p.role === 'primary').map((p) => p.name)).toEqual([
    out.newPrimary,
  ]);
  await waitHealthy(ns);
  // Nothing acknowledged was left behind, so nothing is kept aside at its rejoin.
  const log = await kubectlOk(['-n', ns, 'logs', old, '-c', 'postgres']);
  expect(log).not.toMatch(/kept \d+ WAL segment/);
  return out;
}

describe('kpg failover after SIGKILL of the primary', () => {
  const namespaces: string[] = [];
  afterAll(async () => {
    for (const ns of namespaces) await cleanup(ns);
  });

  it('asynchronous, killed once (it may be back before kpg looks): nothing acknowledged lost', async () => {
    const ns = await createCluster('fo-kill1');
    namespaces.push(ns);
    await killAndFailOver(ns, false);
  });

  // Asynchronous: the old primary may have acknowledged commits it had not yet
  // streamed when it was killed; kpg must copy them from its volume first.
  it('asynchronous, kept down: fails over with every acknowledged row kept', async () => {
    const ns = await createCluster('fo-kill');
    namespaces.push(ns);
    const out = await killAndFailOver(ns, true);
    expect(out.walSalvage?.end, JSON.stringify(out.walSalvage)).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(out.possibleLossBytes).toBe(0);
  });

  it('synchronous, kept down: fails over with every acknowledged row kept', async () => {
    const ns = await createCluster('fo-sync', { sync: true });
    namespaces.push(ns);
    await killAndFailOver(ns, true);
  });
});

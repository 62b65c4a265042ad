// Issue 10, done-when 10 (second half): `kpg failover` (a switchover) on a
// cluster whose agents run. The agents stay the one authority: kpg writes the
// request into the Lease, the primary's agent shuts postgres down fast, hands
// the lease to the target once it confirmed the shutdown checkpoint, and the
// target's agent promotes itself. Under the writer and the split-brain
// checker: nothing acknowledged lost, never two writable pods, the old
// primary streams from the new one, the history records the switchover.
// Then a request whose target never confirms (its agent frozen; its
// postgres streams, so kpg's own plan accepts it) is given up by the
// primary's agent after its handover timeout, kpg reports why, and the
// primary serves again.
import { afterAll, describe, expect, it } from 'vitest';
import { freezeContainer, thawContainer } from '../../cluster/faults.js';
import { getJson } from '../../cluster/kube.js';
import { CLUSTER, cleanup, kpg, parseJson, pods, standbysOf } from '../failover/harness.js';
import { AGENT, finish, startCluster } from './setup.js';

interface Lease {
  spec?: { holderIdentity?: string };
  metadata?: { annotations?: Record<string, string> };
}

describe('in-pod agent: kpg failover asks the agents for a switchover', () => {
  let ns: string | undefined;
  let frozen: string | undefined;
  afterAll(async () => {
    if (ns && frozen) await thawContainer(ns, frozen, AGENT).catch(() => undefined);
    await cleanup(ns);
  });

  it('the agents hand the primary over: nothing lost, never two primaries', async () => {
    const s = await startCluster('agent-switch', (n) => (ns = n));
    const [target] = await standbysOf(s.ns, s.primary);
    if (!target) throw new Error('no standby');
    const t0 = Date.now();
    const r = await kpg([
      'failover',
      CLUSTER,
      '-n',
      s.ns,
      '--to',
      target,
      '--yes',
      '-o',
      'json',
      '--timeout',
      '60s',
    ]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const result = parseJson(r);
    expect(result).toMatchObject({
      kind: 'switchover',
      oldPrimary: s.primary,
      newPrimary: target,
      possibleLossBytes: 0,
      rejoined: [s.primary],
    });
    const lease = await getJson<Lease>(['-n', s.ns, 'lease', `${CLUSTER}-primary`]);
    expect(lease.spec?.holderIdentity?.split('/')[0]).toBe(target);
    expect(lease.metadata?.annotations?.['kpg.io/switchover-to']).toBeUndefined();
    const { acks, pauseMs } = await finish(s, target, t0);
    console.log(
      `${s.ns}: kpg failover --to ${target}: ${Date.now() - t0} ms in all; write pause ${pauseMs} ms; ${acks.length} rows`,
    );
    const record = await getJson<{ data?: { history?: string } }>([
      '-n',
      s.ns,
      'configmap',
      `${CLUSTER}-kpg`,
    ]);
    const history = JSON.parse(record.data?.history ?? '[]') as {
      reason?: string;
      newPrimary?: string;
    }[];
    expect(history.at(-1)).toMatchObject({ reason: 'switchover', newPrimary: target });

    const other = (await pods(s.ns)).find((p) => p.name !== target && p.name !== s.primary)?.name;
    if (!other) throw new Error('no third pod');
    await freezeContainer(s.ns, other, AGENT);
    frozen = other;
    const refused = await kpg([
      'failover',
      CLUSTER,
      '-n',
      s.ns,
      '--to',
      other,
      '--yes',
      '--timeout',
      '60s',
    ]);
    await thawContainer(s.ns, other, AGENT);
    frozen = undefined;
    expect(refused.code, `${refused.stdout}\n${refused.stderr}`).not.toBe(0);
    expect(refused.stderr).toMatch(/did not hand over|not the labelled primary|refused/);
    const after = await getJson<Lease>(['-n', s.ns, 'lease', `${CLUSTER}-primary`]);
    expect(after.spec?.holderIdentity?.split('/')[0]).toBe(target);
  });
});

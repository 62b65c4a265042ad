// kpg apply's rolling restart of a cluster that runs the in-pod agent: a
// podTemplate label change restarts the standbys first and the primary last;
// the primary pod's restart is a handover to a standby (its agent hands the
// lease over), and apply goes on with that standby as the primary instead of
// waiting for the old pod to be primary again. Under the writer and the
// split-brain checker: every acknowledged row on every pod, never two
// writable pods, every pod on the new template.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { podNames } from '../../cluster/kube.js';
import { CLUSTER, cleanup, kpg, waitHealthy } from '../failover/harness.js';
import { agentManifest, settle, startCluster } from './setup.js';

describe('in-pod agent: kpg apply rolls the pods', () => {
  let ns: string | undefined;
  afterAll(async () => cleanup(ns));

  it('standbys first, then the primary by a handover; nothing lost, never two primaries', async () => {
    const s = await startCluster('agent-roll', (n) => (ns = n));
    const labelled = agentManifest().replace(
      '\nspec:\n',
      '\nspec:\n  podTemplate:\n    metadata:\n      labels:\n        team: db\n',
    );
    const file = join(tmpdir(), `kpg-${s.ns}.yaml`);
    writeFileSync(file, labelled);
    const r = await kpg(['apply', '-f', file, '-n', s.ns, '--yes', '--timeout', '5m'], {
      timeoutMs: 330_000,
    });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`pod ${s.primary} \\(primary\\): restarting`));
    const handed = new RegExp(`pod ${s.primary}: handed over to (${CLUSTER}-\\d)`).exec(r.stderr);
    expect(handed, r.stderr).not.toBeNull();
    const next = handed![1]!;
    expect(next).not.toBe(s.primary);
    // Standbys before the primary.
    const firstStandby = r.stderr.search(/\(standby\): restarting/);
    expect(firstStandby).toBeGreaterThanOrEqual(0);
    expect(firstStandby).toBeLessThan(r.stderr.indexOf(`pod ${s.primary} (primary): restarting`));

    expect(await waitHealthy(s.ns, 3, 240_000)).toBe(next);
    expect(await podNames(s.ns, 'team=db')).toHaveLength(3);
    await settle(s, next);
  });
});

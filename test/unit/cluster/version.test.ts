import { describe, expect, it } from 'vitest';
import { agentVersions, bundleHash, formatVersion } from '../../../src/lib/cluster/version.js';
import type { K8sPod } from '../../../src/lib/cluster/objects.js';

const pod = (ns: string, cluster: string, name: string, hash?: string): K8sPod => ({
  metadata: {
    name,
    namespace: ns,
    labels: { 'kubedb.com/name': cluster },
    ...(hash ? { annotations: { 'kpg.io/agent-hash': hash } } : {}),
  },
});

describe('agentVersions', () => {
  it("groups each cluster's pods by bundle hash and says whether it is this kpg's", () => {
    const v = agentVersions(
      [
        pod('demo', 'pg', 'pg-1', 'aaaa'),
        pod('demo', 'pg', 'pg-0', 'aaaa'),
        pod('demo', 'old', 'old-0', 'bbbb'),
        pod('demo', 'old', 'old-1', 'aaaa'),
        pod('demo', 'plain', 'plain-0'),
      ],
      'aaaa',
    );
    expect(v).toEqual([
      {
        namespace: 'demo',
        name: 'old',
        pods: { bbbb: ['old-0'], aaaa: ['old-1'] },
        current: false,
      },
      { namespace: 'demo', name: 'pg', pods: { aaaa: ['pg-0', 'pg-1'] }, current: true },
      { namespace: 'demo', name: 'plain', pods: { '': ['plain-0'] }, current: false },
    ]);
    const text = formatVersion({
      client: { version: '0.1.0', node: 'v20.20.2' },
      server: { gitVersion: 'v1.36.3' },
      agentBundle: 'aaaa',
      agents: v,
    });
    expect(text).toBe(
      [
        'Client Version: kpg 0.1.0 (Node.js v20.20.2)',
        'Server Version: v1.36.3',
        'Agent bundle: aaaa',
        'Agents (bundle hash, pods):',
        '  demo/old: aaaa (old-1); bbbb (old-0): not this kpg’s agent (kpg apply delivers it, restarting the pods)',
        '  demo/pg: aaaa (pg-0, pg-1): this kpg’s agent',
        '  demo/plain: no agent (plain-0)',
      ].join('\n'),
    );
  });

  it('an unreachable server is said, not thrown', () => {
    expect(
      formatVersion({
        client: { version: '0.1.0', node: 'v20' },
        serverError: 'connect ECONNREFUSED',
      }),
    ).toBe(
      'Client Version: kpg 0.1.0 (Node.js v20)\nServer Version: unknown (connect ECONNREFUSED)',
    );
  });

  it('hashes a bundle as the pod template annotation does', () => {
    expect(bundleHash('x')).toMatch(/^[0-9a-f]{16}$/);
  });
});

/** What describe shows of the in-pod agents: the agent-state file, the section, the problems. */
import { describe, expect, it } from 'vitest';
import { parseAgentState } from '../../../src/lib/cluster/agents.js';
import { describeText } from '../../../src/lib/cluster/describe.js';
import { evaluateHealth } from '../../../src/lib/cluster/health.js';
import type { ClusterStatus } from '../../../src/lib/cluster/status.js';

const now = new Date('2026-12-01T12:00:00Z');

function status(over: Partial<ClusterStatus> = {}): ClusterStatus {
  return {
    name: 'pg',
    namespace: 'ns',
    collectedAt: now.toISOString(),
    record: {
      primary: 'pg-0',
      timeline: 2,
      generation: 1,
      history: [
        {
          time: '2026-12-01T11:58:00Z',
          reason: 'automatic failover',
          oldPrimary: 'pg-1',
          newPrimary: 'pg-0',
          timeline: 2,
          cause: 'the lease held by pg-1 has not changed for 10.0s',
          durationMs: 11_580,
        },
      ],
    },
    instances: [],
    services: [],
    events: [],
    health: 'down',
    problems: [],
    errors: [],
    agents: {
      lease: {
        renewTime: '2026-12-01T11:59:57.000000Z',
        leaseDurationSeconds: 10,
        transitions: 3,
      },
      pods: [
        { pod: 'pg-0', role: 'down', decision: 'refuse', reason: 'its postgres is down' },
        {
          pod: 'pg-1',
          role: 'standby',
          decision: 'refuse',
          reason:
            'it is 2.0 KiB (2048 bytes) behind ..., more than maximumLagBeforeFailover 1024 bytes',
        },
        { pod: 'pg-2', error: 'no decision yet (agent-state not written)' },
      ],
    },
    ...over,
  };
}

describe('agents in describe', () => {
  it('reads the agent-state line the agent writes, and rejects anything else', () => {
    expect(
      parseAgentState(
        '{"decision":"lead","step":"none","reason":"this pod holds the lease","role":"primary"}\n',
      ),
    ).toEqual({
      decision: 'lead',
      step: 'none',
      reason: 'this pod holds the lease',
      role: 'primary',
    });
    expect(parseAgentState('not json')).toEqual({ error: 'agent-state is not JSON' });
    expect(parseAgentState('[1]')).toEqual({});
    expect(parseAgentState('null')).toEqual({ error: 'agent-state is not an object' });
  });

  it("shows the lease, each pod's decision and why, and the last automatic change", () => {
    const text = describeText(status(), { now });
    expect(text).toContain('Agents:');
    expect(text).toMatch(
      /Lease: +pg-primary held by nobody \(released\), renewed 3s ago \(lease 10s\), 3 transition\(s\)/,
    );
    expect(text).toMatch(/pg-1 +standby +refuse +it is 2.0 KiB/);
    expect(text).toMatch(/pg-2 +- +unknown +no decision yet/);
    expect(text).toContain(
      'Last automatic change: automatic failover pg-1 → pg-0, 2m ago (timeline 2), took 11.6s\n    why: the lease held by pg-1 has not changed for 10.0s',
    );
    expect(describeText(status({ agents: undefined }), { now })).not.toContain('Agents:');
  });

  it('lists every refusal among the problems, so a cluster that does not fail over says why', () => {
    const { health, problems } = evaluateHealth(status());
    expect(health).toBe('down');
    expect(problems).toContain(
      "pg-1's agent does not take over: it is 2.0 KiB (2048 bytes) behind ..., more than maximumLagBeforeFailover 1024 bytes",
    );
    expect(problems).toContain("pg-0's agent does not take over: its postgres is down");
  });
});

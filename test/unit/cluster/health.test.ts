import { describe, expect, it } from 'vitest';
import {
  evaluateHealth,
  healthExitCode,
  placementWarnings,
  unsentWalWarnings,
} from '../../../src/lib/cluster/health.js';
import type { ClusterStatus, InstanceStatus } from '../../../src/lib/cluster/status.js';

const inst = (
  pod: string,
  role: string,
  inRecovery: boolean,
  extra: Partial<InstanceStatus> = {},
): InstanceStatus => ({
  pod,
  role,
  ready: true,
  restarts: 0,
  ip: `10.0.0.${pod.slice(-1)}`,
  postgres: { inRecovery },
  ...extra,
});

function cluster(over: Partial<ClusterStatus> = {}): ClusterStatus {
  return {
    name: 'pg',
    namespace: 'ns',
    collectedAt: '2024-01-01T00:00:00Z',
    spec: {
      version: '15',
      major: '15',
      replicas: 3,
      standbyMode: 'hot',
      streamingMode: 'asynchronous',
      storageType: 'Durable',
    },
    record: { primary: 'pg-0', timeline: 1, generation: 1, history: [] },
    instances: [
      inst('pg-0', 'primary', false),
      inst('pg-1', 'replica', true),
      inst('pg-2', 'replica', true),
    ],
    replication: {
      primary: 'pg-0',
      currentLsn: '0/3000000',
      standbys: [
        { standby: 'pg-1', state: 'streaming', replayLsn: '0/3000000' },
        { standby: 'pg-2', state: 'streaming', replayLsn: '0/3000000' },
      ],
    },
    services: [
      {
        name: 'pg',
        ports: [],
        selector: {},
        endpoints: [{ ip: '10.0.0.0', pod: 'pg-0', ready: true }],
      },
      { name: 'pg-replicas', ports: [], selector: {}, endpoints: [] },
    ],
    events: [],
    health: 'down',
    problems: [],
    errors: [],
    ...over,
  };
}

describe('evaluateHealth', () => {
  it('healthy: one primary matching the record, standbys streaming, all Ready', () => {
    expect(evaluateHealth(cluster())).toEqual({ health: 'healthy', problems: [] });
  });

  it('degraded: a standby is missing from pg_stat_replication', () => {
    const c = cluster();
    c.replication!.standbys.pop();
    const h = evaluateHealth(c);
    expect(h.health).toBe('degraded');
    expect(h.problems).toContain('1 of 2 standbys streaming from pg-0');
  });

  it('degraded: a standby is not streaming (catchup)', () => {
    const c = cluster();
    c.replication!.standbys[0]!.state = 'catchup';
    expect(evaluateHealth(c).problems).toContain('standby pg-1 is catchup');
  });

  it('degraded: a standby lags beyond the threshold', () => {
    const c = cluster();
    c.instances[1]!.lagBytes = 64 * 1024 * 1024;
    const h = evaluateHealth(c);
    expect(h.health).toBe('degraded');
    expect(h.problems[0]).toMatch(/pg-1 is 67108864 bytes behind/);
  });

  it('degraded: a pod is not Ready, or missing', () => {
    const c = cluster({
      instances: [inst('pg-0', 'primary', false), inst('pg-1', 'replica', true, { ready: false })],
    });
    const h = evaluateHealth(c);
    expect(h.health).toBe('degraded');
    expect(h.problems).toEqual(
      expect.arrayContaining(['2 of 3 pods exist', 'pod pg-1 is not Ready']),
    );
  });

  it('degraded: the writer is not the one the record names', () => {
    const c = cluster({ record: { primary: 'pg-1', timeline: 1, generation: 1, history: [] } });
    expect(evaluateHealth(c).problems).toContain(
      'the record names pg-1 as primary, but pg-0 serves writes',
    );
  });

  it('down: the primary Service has no endpoint', () => {
    const c = cluster();
    c.services[0]!.endpoints = [];
    expect(evaluateHealth(c)).toEqual({
      health: 'down',
      problems: ['the primary Service pg has no ready endpoint'],
    });
  });

  it('down: the pod behind the primary Service is in recovery', () => {
    const c = cluster();
    c.instances[0]!.postgres = { inRecovery: true };
    expect(evaluateHealth(c).health).toBe('down');
  });

  it('down: the primary could not be asked (frozen)', () => {
    const c = cluster();
    delete c.instances[0]!.postgres;
    c.instances[0]!.error = 'no answer within 5s';
    expect(evaluateHealth(c).health).toBe('down');
  });

  it('down: two servers accept writes', () => {
    const c = cluster();
    c.instances[1]!.postgres = { inRecovery: false };
    const h = evaluateHealth(c);
    expect(h.health).toBe('down');
    expect(h.problems[0]).toMatch(/2 servers accept writes \(pg-0, pg-1\): split brain/);
  });

  it('a single-server cluster needs no standby', () => {
    const c = cluster({
      spec: {
        version: '15',
        major: '15',
        replicas: 1,
        standbyMode: 'warm',
        streamingMode: 'asynchronous',
        storageType: 'Durable',
      },
      instances: [inst('pg-0', 'primary', false)],
      replication: { primary: 'pg-0', standbys: [] },
    });
    expect(evaluateHealth(c).health).toBe('healthy');
  });

  it('maps health to exit codes 0, 10, 11', () => {
    expect([healthExitCode('healthy'), healthExitCode('degraded'), healthExitCode('down')]).toEqual(
      [0, 10, 11],
    );
  });
});

describe('placementWarnings', () => {
  it('names the members that share a node, one line per node', () => {
    expect(
      placementWarnings([
        { pod: 'pg-0', node: 'n1' },
        { pod: 'pg-1', node: 'n2' },
        { pod: 'pg-2', node: 'n1' },
        { pod: 'pg-3' },
      ]),
    ).toEqual([
      'pg-0, pg-2 run on one node (n1): losing it loses 2 members at once; spread them with spec.podTemplate.spec.affinity (podAntiAffinity on kubernetes.io/hostname) or more nodes',
    ]);
  });

  it('says nothing when every member has a node of its own (or none yet)', () => {
    expect(
      placementWarnings([
        { pod: 'pg-0', node: 'n1' },
        { pod: 'pg-1', node: 'n2' },
      ]),
    ).toEqual([]);
    expect(placementWarnings([{ pod: 'pg-0' }, { pod: 'pg-1' }])).toEqual([]);
  });
});

describe('unsentWalWarnings', () => {
  it('names each kept directory and its pod', () => {
    expect(
      unsentWalWarnings([
        { pod: 'pg-0', postgres: { inRecovery: true, unsentWal: ['/d/pgdata.unsent-wal-X'] } },
        { pod: 'pg-1', postgres: { inRecovery: true } },
        { pod: 'pg-2' },
      ]),
    ).toEqual([
      'pg-0 keeps WAL the cluster never got in /d/pgdata.unsent-wal-X (commits of a failover that could not copy them; its DIVERGED file says from where; pg_waldump reads it; delete it when done)',
    ]);
  });
});

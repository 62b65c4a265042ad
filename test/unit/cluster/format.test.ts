import { describe, expect, it } from 'vitest';
import { applyLag } from '../../../src/lib/cluster/collect.js';
import { describeText } from '../../../src/lib/cluster/describe.js';
import { formatAge, formatTable, getTable, summarize } from '../../../src/lib/cluster/format.js';
import type { ClusterStatus, ClusterSummary } from '../../../src/lib/cluster/status.js';

const now = new Date('2024-01-01T12:00:00Z');

describe('formatAge (kubectl style)', () => {
  it.each([
    ['2024-01-01T11:59:15Z', '45s'],
    ['2024-01-01T11:57:30Z', '2m30s'],
    ['2024-01-01T11:30:00Z', '30m'],
    ['2024-01-01T07:50:00Z', '4h10m'],
    ['2023-12-31T12:00:00Z', '24h'],
    ['2023-12-29T08:00:00Z', '3d4h'],
    [undefined, '<unknown>'],
  ])('%s → %s', (t, want) => expect(formatAge(t, now)).toBe(want));
});

const row: ClusterSummary = {
  name: 'ha-postgres',
  namespace: 'demo',
  version: '15',
  replicas: 3,
  ready: 3,
  primary: 'ha-postgres-0',
  status: 'Running',
  createdAt: '2024-01-01T11:55:00Z',
  standbyMode: 'warm',
  streamingMode: 'asynchronous',
  storage: '1Gi standard',
};

describe('get table', () => {
  it('prints kubectl-like columns', () => {
    expect(getTable([row], { now })).toBe(
      [
        'NAME          VERSION   READY   PRIMARY         STATUS    AGE',
        'ha-postgres   15        3/3     ha-postgres-0   Running   5m',
      ].join('\n'),
    );
  });

  it('adds NAMESPACE with -A and the wide columns with -o wide', () => {
    const t = getTable([row], { now, wide: true, allNamespaces: true }).split('\n');
    expect(t[0]).toBe(
      'NAME          NAMESPACE   VERSION   READY   PRIMARY         STATUS    AGE   STANDBY   STREAMING      STORAGE',
    );
    expect(t[1]).toBe(
      'ha-postgres   demo        15        3/3     ha-postgres-0   Running   5m    warm      asynchronous   1Gi standard',
    );
  });

  it('has no trailing spaces', () => {
    expect(formatTable(['A', 'B'], [['x', '']])).toBe('A   B\nx');
  });
});

function status(over: Partial<ClusterStatus> = {}): ClusterStatus {
  return {
    name: 'pg',
    namespace: 'ns',
    collectedAt: now.toISOString(),
    createdAt: '2024-01-01T11:00:00Z',
    spec: {
      version: '15',
      major: '15',
      replicas: 2,
      standbyMode: 'hot',
      streamingMode: 'asynchronous',
      storageType: 'Durable',
      storageSize: '1Gi',
    },
    record: { primary: 'pg-0', timeline: 1, generation: 1, history: [] },
    statefulSet: {
      name: 'pg',
      replicas: 2,
      readyReplicas: 1,
      currentReplicas: 2,
      updatedReplicas: 2,
    },
    instances: [
      {
        pod: 'pg-0',
        role: 'primary',
        ready: true,
        restarts: 0,
        postgres: { inRecovery: false, lsn: '0/3000000', timeline: 1 },
      },
      {
        pod: 'pg-1',
        role: 'replica',
        ready: false,
        restarts: 2,
        error: 'asking pg-1: no answer within 5s',
      },
    ],
    services: [
      {
        name: 'pg',
        ports: ['api 5432/TCP'],
        selector: { 'kubedb.com/role': 'primary' },
        endpoints: [{ ip: '10.0.0.1', pod: 'pg-0', ready: true }],
      },
    ],
    secret: { name: 'pg-auth', type: 'Opaque', keys: [{ key: 'POSTGRES_PASSWORD', bytes: 32 }] },
    events: [],
    health: 'degraded',
    problems: ['pod pg-1 is not Ready'],
    errors: ['pod pg-1: asking pg-1: no answer within 5s'],
    ...over,
  };
}

describe('summarize and describe', () => {
  it('summarizes a cluster for get', () => {
    expect(summarize(status())).toMatchObject({
      ready: 1,
      replicas: 2,
      primary: 'pg-0',
      status: 'Degraded',
      storage: '1Gi',
    });
    const none = status({
      instances: [{ pod: 'pg-0', ready: false, restarts: 0 }],
      health: 'down',
    });
    expect(summarize(none)).toMatchObject({ primary: 'pg-0?', status: 'Provisioning' });
  });

  it('describes every section, the Secret by sizes only, and the errors at the end', () => {
    const text = describeText(status(), { now });
    for (const h of [
      'Spec (as applied',
      'StatefulSet:',
      'Instances:',
      'Replication:',
      'Services:',
      'Secret:',
      'Failover history:',
      'Events:',
    ]) {
      expect(text).toContain(h);
    }
    expect(text).toContain('POSTGRES_PASSWORD:      32 bytes');
    expect(text).toContain('Selector:  kubedb.com/role=primary');
    expect(text).toContain('Endpoints: pg-0 10.0.0.1');
    expect(text.trimEnd().endsWith('- pod pg-1: asking pg-1: no answer within 5s')).toBe(true);
    expect(text).toContain('Health:    degraded');
  });

  it("lists the primary's slots: what each keeps back, and a lost one", () => {
    const base = status();
    const text = describeText(
      status({
        replication: {
          primary: 'pg-0',
          standbys: base.replication?.standbys ?? [],
          slots: [
            {
              name: 'kpg_pg_1',
              active: true,
              restartLsn: '0/5000000',
              retainedBytes: 2048,
              walStatus: 'reserved',
            },
            { name: 'kpg_pg_2', active: false, walStatus: 'lost' },
          ],
        },
      }),
      { now },
    );
    expect(text).toMatch(
      /Slots \(on pg-0\):\n\s+SLOT\s+ACTIVE\s+RESTART LSN\s+RETAINED\s+WAL STATUS/,
    );
    expect(text).toMatch(/kpg_pg_1\s+yes\s+0\/5000000\s+2(\.0)? ?Ki?B\s+reserved/);
    expect(text).toMatch(/kpg_pg_2\s+no\s+-\s+-\s+lost/);
  });

  it('shows the history and an unfinished operation', () => {
    const text = describeText(
      status({
        record: {
          primary: 'pg-1',
          timeline: 2,
          generation: 1,
          history: [
            {
              time: '2024-01-01T11:58:00Z',
              reason: 'failover',
              oldPrimary: 'pg-0',
              newPrimary: 'pg-1',
              timeline: 2,
              lsn: '0/4000000',
            },
          ],
          operation: {
            id: 'op1',
            kind: 'switchover',
            startedAt: '2024-01-01T11:59:00Z',
            holder: 'me',
            oldPrimary: 'pg-1',
            newPrimary: 'pg-0',
            completedSteps: ['fence'],
          },
        },
      }),
      { now },
    );
    expect(text).toMatch(/failover +pg-0 +pg-1 +2 +0\/4000000/);
    expect(text).toContain('Unfinished operation: switchover op1 from pg-1 to pg-0');
    expect(text).toContain('completed steps: fence');
  });
});

describe('positions and lag of warm standbys', () => {
  const warm = (): ClusterStatus['instances'][number] => ({
    pod: 'pg-1',
    role: 'replica',
    ready: true,
    restarts: 0,
    // pg_controldata: the last restartpoint, far behind what it replayed.
    controlData: { state: 'in archive recovery', lsn: '0/2000100', timeline: 1 },
  });
  const primary = (): ClusterStatus['instances'][number] => ({
    pod: 'pg-0',
    role: 'primary',
    ready: true,
    restarts: 0,
    postgres: { inRecovery: false, lsn: '0/4029350', timeline: 1 },
  });

  it('takes a warm standby position from pg_stat_replication, and the lag agrees with it', () => {
    const instances = [primary(), warm()];
    applyLag(
      instances,
      {
        currentLsn: '0/4029350',
        rows: [
          {
            standby: 'pg-1',
            state: 'streaming',
            flushLsn: '0/4029350',
            replayLsn: '0/4029350',
          },
        ],
      },
      'pg-0',
    );
    expect(instances[1]?.position).toEqual({
      lsn: '0/4029350',
      receiveLsn: '0/4029350',
      source: 'pg_stat_replication',
    });
    expect(instances[1]?.lagBytes).toBe(0);
    const text = describeText(status({ instances }), { now });
    expect(text).toMatch(/pg-1 +replica +standby \(warm\) .*0\/4029350 +0 B/);
    expect(text).not.toContain('0/2000100');
  });

  it('without a row the checkpoint is shown as such and the lag is unknown, not 0', () => {
    const instances = [primary(), warm()];
    applyLag(instances, { currentLsn: '0/4029350', rows: [] }, 'pg-0');
    expect(instances[1]?.position?.source).toBe('pg_controldata');
    expect(instances[1]?.lagBytes).toBeUndefined();
    const text = describeText(status({ instances }), { now });
    expect(text).toContain('0/2000100 (checkpoint)');
    expect(text).not.toMatch(/pg-1 .* 0 B/);
  });
});

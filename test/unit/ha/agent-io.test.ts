/** The agent's edges that need no cluster: configuration, the state query's row, the peers' HTTP endpoint. */
import type { Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, pgNum } from '../../../src/agent/config.js';
import { parseCheckpoint } from '../../../src/agent/files.js';
import { peerClient, servePeers } from '../../../src/agent/peers.js';
import { snapshotOfRow, stateQuery } from '../../../src/agent/postgres.js';

const ENV = {
  KPG_CLUSTER: 'pg',
  POD_NAMESPACE: 'demo',
  POD_NAME: 'pg-1',
  POD_UID: 'uid-1',
  POD_IP: '10.0.0.11',
  KPG_PG_MAJOR: '15',
  KUBERNETES_SERVICE_HOST: '10.96.0.1',
};

describe('agent configuration', () => {
  it('defaults: lease 10 s, renew 6 s, retry 1 s, 1 MiB, asynchronous, /run/kpg', () => {
    const c = parseConfig(ENV);
    expect(c).toMatchObject({
      cluster: 'pg',
      self: { pod: 'pg-1', uid: 'uid-1' },
      timing: { leaseDurationMs: 10_000, renewDeadlineMs: 6000, retryPeriodMs: 1000 },
      maximumLagBytes: 1048576n,
      synchronous: false,
      haDir: '/run/kpg',
      triggerFile: '/run/kpg/promote',
      pg: { socketDir: '/var/run/postgresql', port: 5432, major: 1500 },
      api: { host: '10.96.0.1', port: 443, timeoutMs: 2000 },
    });
  });

  it('says everything that is wrong at once', () => {
    let err: unknown;
    try {
      parseConfig({
        KPG_RENEW_DEADLINE_SECONDS: '10',
        KPG_STREAMING_MODE: 'sync',
        KPG_PG_MAJOR: 'x',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    expect(problems).toContain('POD_UID is required');
    expect(
      problems.some((p) =>
        p.includes('renewDeadlineSeconds (10) must be less than leaseDurationSeconds (10)'),
      ),
    ).toBe(true);
    expect(problems.some((p) => p.startsWith('KPG_STREAMING_MODE'))).toBe(true);
    expect(problems.some((p) => p.startsWith('KPG_PG_MAJOR'))).toBe(true);
  });

  it('reads majors as start.sh does', () => {
    expect(pgNum('9.6')).toBe(906);
    expect(pgNum('15')).toBe(1500);
    expect(pgNum('x')).toBeUndefined();
  });

  it('reads the shutdown checkpoint start.sh writes', () => {
    expect(parseCheckpoint('0/3000028 1\n')).toEqual({ lsn: 0x3000028n, timeline: 1 });
    expect(parseCheckpoint('')).toBeUndefined();
  });
});

describe('the state query', () => {
  it('names the WAL functions by version', () => {
    expect(stateQuery(1500)).toContain('pg_current_wal_flush_lsn()');
    expect(stateQuery(1500)).toContain('pg_is_wal_replay_paused()');
    expect(stateQuery(906)).toContain('pg_current_xlog_flush_location()');
    expect(stateQuery(906)).toContain('pg_last_xlog_receive_location()');
  });

  const row = {
    recovery: true,
    primary_lsn: null,
    primary_tli: null,
    receive_lsn: '0/3000100',
    replay_lsn: '0/3000000',
    paused: false,
    receiver: 'streaming',
    received_tli: 2,
    checkpoint_tli: 1,
    synchronous: '',
  };
  it('a standby: received LSN, receiver timeline, streaming', () => {
    expect(snapshotOfRow(row)).toEqual({
      role: 'standby',
      flushLsn: 0x3000100n,
      replayLsn: 0x3000000n,
      timeline: 2,
      streaming: true,
      replayPaused: false,
      synchronous: [],
    });
    expect(
      snapshotOfRow({ ...row, receiver: null, received_tli: null, receive_lsn: null }),
    ).toMatchObject({
      flushLsn: 0x3000000n,
      timeline: 1,
      streaming: false,
    });
  });
  it('a standby holds what it replayed beyond what it received (WAL read from its own pg_wal)', () => {
    expect(
      snapshotOfRow({ ...row, receiver: null, receive_lsn: '0/3000000', replay_lsn: '0/30000B0' }),
    ).toMatchObject({ flushLsn: 0x30000b0n, replayLsn: 0x30000b0n });
  });
  it('carries the system identifier', () => {
    expect(snapshotOfRow({ ...row, system_id: '7581234567890123456' })).toMatchObject({
      systemIdentifier: '7581234567890123456',
    });
  });
  it('a primary: flushed LSN, its WAL file timeline, its synchronous standbys', () => {
    const p = snapshotOfRow({
      ...row,
      recovery: false,
      primary_lsn: '0/5000000',
      primary_tli: 3,
      synchronous: 'pg-1,pg-2',
    });
    expect(p).toMatchObject({
      role: 'primary',
      flushLsn: 0x5000000n,
      timeline: 3,
      synchronous: ['pg-1', 'pg-2'],
    });
  });
});

describe("the peers' endpoint", () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  it('serves the state and confirms checkpoints; an absent peer is unreachable', async () => {
    server = await servePeers('127.0.0.1', 0, {
      report: () => ({
        pod: 'pg-2',
        uid: 'u2',
        role: 'standby',
        timeline: 1,
        flushLsn: '0/3000100',
        streaming: true,
        eligible: true,
        holder: false,
      }),
      confirm: async (cp) => ({
        pod: 'pg-2',
        confirmed: cp.lsn < 0x3000100n,
        replayLsn: '0/3000100',
      }),
      failsafe: (req) =>
        req.holder === 'pg-0/u0' ? { confirmed: true } : { confirmed: false, reason: 'not it' },
    });
    const port = (server.address() as { port: number }).port;
    const client = peerClient(port, 1000);
    expect(await client.state('pg-2', '127.0.0.1')).toEqual({
      pod: 'pg-2',
      reachable: true,
      role: 'standby',
      timeline: 1,
      flushLsn: 0x3000100n,
      eligible: true,
    });
    expect(await client.confirm('pg-2', '127.0.0.1', { lsn: 0x3000028n, timeline: 1 })).toEqual({
      pod: 'pg-2',
      confirmed: true,
      replayLsn: 0x3000100n,
    });
    // A pod that answers with another name (an IP reused) is not that peer.
    expect((await client.state('pg-3', '127.0.0.1')).reachable).toBe(false);
    expect(await client.state('pg-4', undefined)).toEqual({ pod: 'pg-4', reachable: false });
    const bad = await fetch(`http://127.0.0.1:${port}/checkpoint?lsn=nope`);
    expect(bad.status).toBe(400);
  });

  it('answers failsafe requests by POST, and refuses malformed ones', async () => {
    const asked: unknown[] = [];
    server = await servePeers('127.0.0.1', 0, {
      report: () => ({
        pod: 'pg-2',
        uid: 'u2',
        role: 'standby',
        streaming: true,
        eligible: true,
        holder: false,
      }),
      confirm: async () => ({ pod: 'pg-2', confirmed: false }),
      failsafe: (req) => {
        asked.push(req);
        return req.holder === 'pg-0/u0'
          ? { confirmed: true }
          : { confirmed: false, reason: 'not it' };
      },
    });
    const port = (server.address() as { port: number }).port;
    const client = peerClient(port, 1000);
    const req = { holder: 'pg-0/u0', timeline: 1, lsn: 0x5000028n };
    expect(await client.failsafe('pg-2', '127.0.0.1', req)).toEqual({
      pod: 'pg-2',
      confirmed: true,
    });
    expect(await client.failsafe('pg-2', '127.0.0.1', { holder: 'pg-1/u1' })).toEqual({
      pod: 'pg-2',
      confirmed: false,
      reason: 'not it',
    });
    expect(await client.failsafe('pg-2', undefined, { holder: 'pg-0/u0' })).toMatchObject({
      confirmed: false,
    });
    const post = (body: string) =>
      fetch(`http://127.0.0.1:${port}/failsafe`, { method: 'POST', body });
    expect(asked[0]).toEqual(req); // the LSN crosses as X/Y text
    expect((await post('{"holder":5}')).status).toBe(400);
    expect((await post('{"holder":"pg-0/u0","lsn":"nope"}')).status).toBe(400);
    expect((await post('not json')).status).toBe(400);
    expect((await fetch(`http://127.0.0.1:${port}/failsafe`)).status).toBe(404);
    // Nobody listens there: no promise, with the reason.
    const gone = await peerClient(1, 500).failsafe('pg-3', '127.0.0.1', { holder: 'pg-0/u0' });
    expect(gone).toMatchObject({ confirmed: false, reason: expect.stringMatching(/unreachable/) });
  });
});

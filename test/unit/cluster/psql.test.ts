import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  FIELD_SEP,
  firstErrorLine,
  formatLsn,
  instanceSql,
  lsnDiff,
  parseControlData,
  parseInstance,
  parseLsn,
  parseReplication,
  parseRows,
  parseWriteProbe,
  probeWrite,
  PsqlError,
  psqlArgv,
  replicationSql,
  slotsSql,
  runSql,
  type PodExec,
} from '../../../src/lib/postgres/index.js';

const row = (...f: string[]) => f.join(FIELD_SEP);

describe('psql output parsing', () => {
  it('splits rows and fields, keeping separators inside values apart', () => {
    expect(parseRows(`${row('a|b', '', 'c d')}\n${row('x', 'y', 'z')}\n`)).toEqual([
      ['a|b', '', 'c d'],
      ['x', 'y', 'z'],
    ]);
    expect(parseRows('')).toEqual([]);
    expect(parseRows('t\r\n')).toEqual([['t']]);
  });

  it("runs psql on the local socket as the cluster's superuser, no password", () => {
    const argv = psqlArgv(['select 1', "select 'a b'"]);
    expect(argv.slice(0, 2)).toEqual(['bash', '-c']);
    expect(argv[2]).toBe('exec psql -U "${POSTGRES_USER:-postgres}" "$@"');
    expect(argv.slice(3, 7)).toEqual(['psql', '-X', '-A', '-t']);
    expect(argv).toEqual(
      expect.arrayContaining(['-h', '/var/run/postgresql', '-c', 'select 1', '-c', "select 'a b'"]),
    );
    expect(argv).not.toContain('-U');
    expect(argv.join(' ')).not.toMatch(/password/i);
  });

  it('the superuser comes from POSTGRES_USER, else postgres (real bash)', () => {
    const argv = psqlArgv(['select 1']);
    // Replace psql by echo to see what it would run.
    const script = (argv[2] ?? '').replace('exec psql', 'echo');
    const run = (env: NodeJS.ProcessEnv) =>
      execFileSync('bash', ['-c', script, ...argv.slice(3)], { env, encoding: 'utf8' });
    expect(run({ PATH: process.env.PATH, POSTGRES_USER: 'admin' })).toMatch(/^-U admin -X /);
    expect(run({ PATH: process.env.PATH })).toMatch(/^-U postgres -X .* -c select 1\n$/);
  });

  it('parses an instance answer (primary and standby)', () => {
    expect(parseInstance([['f', '1', '0/3000148', '', '', '', '', '15.4']])).toEqual({
      inRecovery: false,
      timeline: 1,
      lsn: '0/3000148',
      serverVersion: '15.4',
    });
    expect(
      parseInstance([['t', '2', '0/5000060', '0/5000070', '0.5', 'streaming', 'pg', '15.4']]),
    ).toMatchObject({
      inRecovery: true,
      timeline: 2,
      receiveLsn: '0/5000070',
      replayDelaySeconds: 0.5,
      receiverStatus: 'streaming',
      upstream: 'pg',
    });
    expect(() => parseInstance([])).toThrow(/unexpected answer/);
  });

  it('lists the WAL a former primary kept aside (space-separated paths), none when empty', () => {
    const d = '/var/lib/postgresql/data';
    expect(
      parseInstance([
        [
          't',
          '2',
          '0/1',
          '0/1',
          '',
          '',
          '',
          '15.4',
          `${d}/pgdata.unsent-wal-A ${d}/pgdata.unsent-wal-B`,
        ],
      ]).unsentWal,
    ).toEqual([`${d}/pgdata.unsent-wal-A`, `${d}/pgdata.unsent-wal-B`]);
    expect(
      parseInstance([['t', '2', '0/1', '0/1', '', '', '', '15.4', '']]).unsentWal,
    ).toBeUndefined();
    expect(instanceSql('15')).toMatch(
      /pg_ls_dir\(regexp_replace\(current_setting\('data_directory'\)/,
    );
  });

  it('parses pg_stat_replication rows, NULL lags included', () => {
    const v = parseReplication([
      [
        'pg-1',
        '10.0.0.2',
        'streaming',
        '0/5000060',
        '0/5000060',
        '0/5000060',
        '0/5000050',
        '0.001',
        '',
        '0.002',
        'async',
        '0/5000060',
      ],
      ['pg-2', '', 'catchup', '0/4000000', '', '', '', '', '', '', 'async', '0/5000060'],
      ['garbage'],
    ]);
    expect(v.currentLsn).toBe('0/5000060');
    expect(v.rows).toHaveLength(2);
    expect(v.rows[0]).toEqual({
      standby: 'pg-1',
      clientAddr: '10.0.0.2',
      state: 'streaming',
      sentLsn: '0/5000060',
      writeLsn: '0/5000060',
      flushLsn: '0/5000060',
      replayLsn: '0/5000050',
      writeLag: 0.001,
      replayLag: 0.002,
      syncState: 'async',
    });
    expect(v.rows[1]).toEqual({
      standby: 'pg-2',
      state: 'catchup',
      sentLsn: '0/4000000',
      syncState: 'async',
    });
  });

  it("parses the primary's slots beside pg_stat_replication's rows, in one answer", () => {
    const v = parseReplication([
      ['kpg-slot', 'kpg_pg_1', 't', '0/5000000', '96', 'reserved'],
      ['kpg-slot', 'kpg_pg_2', 'f', '', '', 'lost'],
      ['pg-1', '', 'streaming', '', '', '', '', '', '', '', 'async', '0/5000060'],
    ]);
    expect(v.rows.map((r) => r.standby)).toEqual(['pg-1']);
    expect(v.slots).toEqual([
      {
        name: 'kpg_pg_1',
        active: true,
        restartLsn: '0/5000000',
        retainedBytes: 96,
        walStatus: 'reserved',
      },
      { name: 'kpg_pg_2', active: false, walStatus: 'lost' },
    ]);
    expect(slotsSql('12')).not.toContain('wal_status');
    expect(slotsSql('13')).toContain('wal_status');
    expect(slotsSql('9.6')).toContain(
      'pg_xlog_location_diff(pg_current_xlog_location(), restart_lsn)',
    );
  });

  it('uses 9.6 names below 10', () => {
    expect(instanceSql('9.6')).toContain('pg_current_xlog_location()');
    expect(replicationSql('9.6')).toContain('replay_location');
    expect(replicationSql('9.6')).not.toContain('replay_lag');
    expect(instanceSql('15')).toContain('pg_current_wal_lsn()');
    expect(replicationSql('10')).toContain('extract(epoch from replay_lag)');
  });

  it('reads the write probe', () => {
    expect(parseWriteProbe([['f'], ['745']])).toEqual({
      writable: true,
      inRecovery: false,
      txid: 745,
    });
    expect(parseWriteProbe([['t']])).toEqual({ writable: false, inRecovery: true });
  });

  it('parses pg_controldata', () => {
    const text = [
      'pg_control version number:            1300',
      'Database cluster state:               in archive recovery',
      "Latest checkpoint's TimeLineID:       2",
      "Latest checkpoint's REDO location:    0/2000028",
      'Minimum recovery ending location:     0/3000148',
    ].join('\n');
    expect(parseControlData(text)).toEqual({
      state: 'in archive recovery',
      timeline: 2,
      lsn: '0/3000148',
    });
  });

  it('LSN arithmetic', () => {
    expect(parseLsn('16/B374D848')).toBe((0x16n << 32n) | 0xb374d848n);
    expect(formatLsn(parseLsn('16/B374D848')!)).toBe('16/B374D848');
    expect(lsnDiff('1/0', '0/FFFFFFFF')).toBe(1);
    expect(lsnDiff('0/10', '0/20')).toBe(0);
    expect(lsnDiff(undefined, '0/1')).toBeUndefined();
    expect(parseLsn('nope')).toBeUndefined();
  });
});

describe('runSql', () => {
  const fake = (stdout: string, exitCode = 0, stderr = ''): PodExec & { calls: unknown[] } => {
    const calls: unknown[] = [];
    return {
      calls,
      exec: async (...args) => {
        calls.push(args);
        return { stdout, stderr, exitCode };
      },
    };
  };

  it('passes a per-call timeout and parses rows', async () => {
    const k = fake(`${row('t', '1')}\n`);
    expect(await runSql(k, { ns: 'n', pod: 'p' }, ['select 1'], { timeoutMs: 1234 })).toEqual([
      ['t', '1'],
    ]);
    const [ns, pod, container, , opts] = k.calls[0] as [
      string,
      string,
      string,
      string[],
      { timeoutMs: number },
    ];
    expect([ns, pod, container, opts.timeoutMs]).toEqual(['n', 'p', 'postgres', 1234]);
  });

  it("raises PsqlError with PostgreSQL's message", async () => {
    const k = fake(
      '',
      1,
      'psql: error: connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed: FATAL:  the database system is not yet accepting connections\nDETAIL:  Consistent recovery state has not been yet reached.',
    );
    const err = await runSql(k, { ns: 'n', pod: 'p' }, ['select 1']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PsqlError);
    expect((err as PsqlError).notAccepting).toBe(true);
    expect((err as PsqlError).message).toMatch(
      /FATAL: +the database system is not yet accepting connections/,
    );
  });

  it('a read-only refusal is recognised', () => {
    const e = new PsqlError(
      'p',
      1,
      'ERROR:  cannot execute CREATE DATABASE in a read-only transaction',
    );
    expect(e.readOnly).toBe(true);
    expect(firstErrorLine('psql:<stdin>:1: ERROR:  boom')).toBe('ERROR:  boom');
  });

  it('the write probe stops at a standby', async () => {
    const k = fake('t\n');
    expect(await probeWrite(k, { ns: 'n', pod: 'p' })).toEqual({
      writable: false,
      inRecovery: true,
    });
    expect(k.calls).toHaveLength(1);
  });
});

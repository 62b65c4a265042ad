// Issue 13: continuous archiving to a real S3 server over TLS (versitygw,
// certificate from the cluster's CA), a base backup, a failover, and
// point-in-time restores into new clusters. Rows at T1, `kpg backup`, rows
// at T2, `kpg failover`, rows at T3: a restore to a time between T1 and T2
// has exactly the T1 rows, one to the transaction that wrote the first T2
// row (exclusive) likewise, one to the end of the archive all three —
// across the failover's timeline switch, on its standby too (cloned from
// the restored primary). A target beyond the archive's end fails clearly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, deleteNamespace, podNames } from '../../cluster/kube.js';
import { kpg } from '../lifecycle/helpers.js';
import { backupHelpers, pause, s3Archive } from './helpers.js';
import type { S3 } from '../s3.js';

const SRC = 'arc';
const BUCKET = 'kpg-archive';
let ns = '';
let s3: S3;

let h: ReturnType<typeof backupHelpers>;

const restoreFrom = (pitr: string) => `  replicas: 1
  init:
    postgresWAL:
      storageSecretName: s3-secret
      s3:
        endpoint: ${s3.endpoint}
        bucket: ${BUCKET}
        prefix: kubedb/${ns}/${SRC}/archive
${pitr}`;

const times: Record<string, string> = {};
let xid = '';

beforeAll(async () => {
  ns = await createNamespace('pitr-s3');
  h = backupHelpers(ns);
  ({ s3 } = await s3Archive(ns, BUCKET));
}, 300_000);

afterAll(async () => {
  if (ns) await deleteNamespace(ns);
});

describe('archive, backup, failover, point-in-time restore (s3 over TLS)', () => {
  it('a cluster archives its WAL to the bucket', async () => {
    const r = await kpg([
      'create',
      '-f',
      h.manifest(
        SRC,
        `  replicas: 2
  archiver:
    storage:
      storageSecretName: s3-secret
      s3:
        endpoint: ${s3.endpoint}
        bucket: ${BUCKET}
`,
      ),
    ]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const p = await h.primaryOf(SRC);
    await h.sql(
      p,
      'create table t (id serial primary key, phase text not null, at timestamptz default clock_timestamp())',
    );
    await h.sql(p, "insert into t (phase) select 'T1' from generate_series(1, 100)");
    const seg = await h.archiveNow(p);
    const keys = await s3.list(BUCKET, `kubedb/${ns}/${SRC}/archive/wal/`);
    expect(keys).toContain(`kubedb/${ns}/${SRC}/archive/wal/${seg}.gz`);
  }, 600_000);

  it('kpg backup stores a base backup and kpg backup list shows it', async () => {
    const r = await kpg(['backup', SRC, '-n', ns, '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const b = JSON.parse(r.stdout) as {
      source: string;
      id: string;
      startLsn: string;
      stopLsn: string;
      bytes: number;
      timeline: number;
    };
    expect(b.id).toMatch(/^\d{8}T\d{6}Z$/);
    expect(b.startLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(b.bytes).toBeGreaterThan(1_000_000);
    expect(b.timeline).toBe(1);
    // From the hot standby, through the pods' headless Service (TLS verify-full).
    const standby = (
      await h.sql(await h.primaryOf(SRC), 'select application_name from pg_stat_replication')
    ).trim();
    expect(b.source).toBe(`${standby}.${SRC}-pods.${ns}`);
    const keys = await s3.list(BUCKET, `kubedb/${ns}/${SRC}/archive/basebackups/${b.id}/`);
    expect(keys.map((k) => k.split('/').pop())).toEqual(
      expect.arrayContaining(['base.tar', 'backup.info']),
    );
    const l = await kpg(['backup', 'list', SRC, '-n', ns]);
    expect(l.code, l.stderr).toBe(0);
    expect(l.stdout).toMatch(new RegExp(`^${b.id}\\s+1\\s+${b.startLsn.replace('/', '\\/')}`, 'm'));
  }, 300_000);

  it('rows at T2 (their first transaction noted), a switchover, rows at T3 on the new timeline', async () => {
    // A target strictly after the backup's end, and strictly before T2.
    await pause(1500);
    const p = await h.primaryOf(SRC);
    times.mid = await h.now(p);
    await pause(1500);
    // psql prints every statement's result: the id is the last line.
    xid =
      (await h.sql(p, "insert into t (phase) values ('T2'); select txid_current()"))
        .split('\n')
        .pop() ?? '';
    expect(xid).toMatch(/^\d+$/);
    await h.sql(p, "insert into t (phase) select 'T2' from generate_series(2, 50)");
    const f = await kpg(['failover', SRC, '-n', ns, '--yes']);
    expect(f.code, f.stderr + f.stdout).toBe(0);
    const q = await h.primaryOf(SRC);
    expect(q).not.toBe(p);
    expect(await h.sql(q, 'select timeline_id from pg_control_checkpoint()')).not.toBe('1');
    await h.sql(q, "insert into t (phase) select 'T3' from generate_series(1, 25)");
    await h.archiveNow(q);
    expect(await h.phases(q)).toBe('T1=100,T2=50,T3=25');
  }, 300_000);

  it('restored to a time between T1 and T2: exactly the T1 rows', async () => {
    const r = await kpg([
      'create',
      '-f',
      h.manifest('at-time', restoreFrom(`      pitr:\n        targetTime: "${times.mid}"\n`)),
    ]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(await h.phases(await h.primaryOf('at-time'))).toBe('T1=100');
  }, 600_000);

  it('restored to the first T2 transaction, exclusive: exactly the T1 rows', async () => {
    const r = await kpg([
      'create',
      '-f',
      h.manifest(
        'at-xid',
        restoreFrom(`      pitr:\n        targetXID: "${xid}"\n        targetInclusive: false\n`),
      ),
    ]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(await h.phases(await h.primaryOf('at-xid'))).toBe('T1=100');
  }, 600_000);

  it('restored to the end of the archive: T1, T2 and T3 across the timeline switch, on its standby too', async () => {
    const r = await kpg([
      'create',
      '-f',
      h.manifest('latest', restoreFrom('').replace('replicas: 1', 'replicas: 2')),
    ]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const pods = await podNames(ns, 'kubedb.com/name=latest');
    expect(pods).toHaveLength(2);
    for (const pod of pods) expect(await h.phases(pod), pod).toBe('T1=100,T2=50,T3=25');
    // Its own timeline: a new one after the source's.
    const tl = Number(
      await h.sql(await h.primaryOf('latest'), 'select timeline_id from pg_control_checkpoint()'),
    );
    expect(tl).toBeGreaterThanOrEqual(3);
  }, 600_000);

  it('a target beyond the end of the archive fails clearly, with a non-zero exit', async () => {
    const r = await kpg([
      'create',
      '-f',
      h.manifest(
        'beyond',
        restoreFrom('      pitr:\n        targetTime: "2099-01-01 00:00:00+00"\n'),
      ),
      '--timeout',
      '5m',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr + r.stdout).toMatch(
      /restore refused: recovery stopped before it reached time 2099-01-01 00:00:00\+00/,
    );
  }, 600_000);

  it('kpg delete of the WipeOut cluster removes its archive, and says so', async () => {
    const r = await kpg(['delete', SRC, '-n', ns, '--yes']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout + r.stderr).toMatch(
      /remove the archive s3:\/\/kpg-archive\/kubedb\/.*\/arc\/archive/,
    );
    expect(await s3.list(BUCKET, `kubedb/${ns}/${SRC}/archive/`)).toEqual([]);
  }, 300_000);
});

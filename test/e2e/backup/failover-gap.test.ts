// Issue 13: the archive stays continuous across an automatic failover
// although only the primary archives. The primary's storage sidecar is
// frozen (its archive_command waits), rows and two segment switches follow
// that only the standby has, then the whole primary pod is frozen and the
// standby's agent takes over. The new primary, archiving its .history
// file, stores the former timeline's segments the archive lacks; a restore
// to the end of the archive has every row.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freezeContainer, freezePod, thawPod } from '../../cluster/faults.js';
import { createNamespace, deleteNamespace } from '../../cluster/kube.js';
import { kpg, waitFor } from '../lifecycle/helpers.js';
import type { S3 } from '../s3.js';
import { backupHelpers, s3Archive } from './helpers.js';

const NAME = 'gap';
const BUCKET = 'kpg-gap';
let ns = '';
let s3: S3;
let h: ReturnType<typeof backupHelpers>;
let frozen = '';

let storage = '';

beforeAll(async () => {
  ns = await createNamespace('bk-gap');
  h = backupHelpers(ns);
  ({ s3, storage } = await s3Archive(ns, BUCKET));
}, 300_000);

afterAll(async () => {
  if (ns && frozen) thawPod(ns, frozen);
  if (ns) await deleteNamespace(ns);
});

const tl1 = async () =>
  (await s3.list(BUCKET, `kubedb/${ns}/${NAME}/archive/wal/`))
    .map((k) => k.split('/').pop() ?? '')
    .filter((f) => /^00000001[0-9A-F]{16}\.gz$/.test(f))
    .map((f) => f.slice(0, 24))
    .sort();

describe('an automatic failover while the primary could not archive', () => {
  it('the new primary stores the segments the old one never archived; the restore has every row', async () => {
    const r = await kpg([
      'create',
      '-f',
      h.manifest(NAME, `  replicas: 2\n  archiver:\n    storage:\n${storage}`),
    ]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const old = await h.primaryOf(NAME);
    await h.sql(old, 'create table t (id serial primary key, phase text not null)');
    await h.sql(old, "insert into t (phase) select 'T1' from generate_series(1, 100)");
    const b = await kpg(['backup', NAME, '-n', ns]);
    expect(b.code, b.stderr).toBe(0);
    await h.archiveNow(old);

    await freezeContainer(ns, old, 'storage');
    await h.sql(old, "insert into t (phase) select 'T2' from generate_series(1, 50)");
    const unarchived = [
      await h.sql(old, 'select pg_walfile_name(pg_switch_wal())'),
      await h.sql(
        old,
        "insert into t (phase) values ('T2'); select pg_walfile_name(pg_switch_wal())",
      ),
    ].map((s) => s.split('\n').pop() ?? '');
    const standby = (await h.sql(old, 'select application_name from pg_stat_replication')).trim();
    await waitFor(async () => (await h.phases(standby).catch(() => '')) === 'T1=100,T2=51', 60_000);
    // Not archived: the old primary's archiver waits on its frozen sidecar.
    const have = await tl1();
    expect(unarchived.filter((s) => have.includes(s))).toEqual([]);

    freezePod(ns, old);
    frozen = old;
    await waitFor(async () => (await h.primaryOf(NAME).catch(() => old)) === standby, 120_000);
    await h.sql(standby, "insert into t (phase) select 'T3' from generate_series(1, 25)");
    await h.archiveNow(standby, 120_000);
    await waitFor(async () => {
      const have = await tl1();
      return unarchived.every((s) => have.includes(s));
    }, 60_000);
    thawPod(ns, old);
    frozen = '';

    const restored = await kpg([
      'create',
      '-f',
      h.manifest(
        'after-gap',
        `  replicas: 1\n  init:\n    postgresWAL:\n${storage}        prefix: kubedb/${ns}/${NAME}/archive\n`,
      ),
    ]);
    expect(restored.code, restored.stderr + restored.stdout).toBe(0);
    expect(await h.phases(await h.primaryOf('after-gap'))).toBe('T1=100,T2=51,T3=25');
  }, 900_000);
});

// Issue 13: a failing archive is loud. With a wrong secret key in the
// storage Secret, `kpg describe` shows archiving failing (pg_stat_archiver,
// the segments waiting, the sidecar's reason) and `--exit-code` says
// degraded (10) within a minute; PostgreSQL keeps the WAL meanwhile. With
// the Secret fixed, archiving resumes by itself (the sidecar reads the
// mounted Secret at every call) and no segment is missing from the bucket.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, deleteNamespace } from '../../cluster/kube.js';
import { kpg, waitFor } from '../lifecycle/helpers.js';
import type { S3 } from '../s3.js';
import { backupHelpers, s3Archive } from './helpers.js';

const NAME = 'arcfail';
const BUCKET = 'kpg-fail';
let ns = '';
let s3: S3;
let h: ReturnType<typeof backupHelpers>;

beforeAll(async () => {
  ns = await createNamespace('arc-fail');
  h = backupHelpers(ns);
  ({ s3 } = await s3Archive(ns, BUCKET, { secretKey: 'not-the-secret-key' }));
}, 300_000);

afterAll(async () => {
  if (ns) await deleteNamespace(ns);
});

/** Segment names of timeline 1 in the bucket, without .gz. */
async function archived(): Promise<string[]> {
  const keys = await s3.list(BUCKET, `kubedb/${ns}/${NAME}/archive/wal/`);
  return keys
    .map((k) => k.split('/').pop() ?? '')
    .filter((f) => /^00000001[0-9A-F]{16}\.gz$/.test(f))
    .map((f) => f.replace(/\.gz$/, ''))
    .sort();
}

describe('an archive that fails, then recovers', () => {
  let seg = '';

  it('a wrong secret key: describe shows it failing and --exit-code says degraded within a minute', async () => {
    const r = await kpg([
      'create',
      '-f',
      h.manifest(
        NAME,
        `  replicas: 1
  archiver:
    storage:
      storageSecretName: s3-secret
      s3:
        endpoint: ${s3.endpoint}
        bucket: ${BUCKET}
`,
        'Delete',
      ),
    ]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const p = await h.primaryOf(NAME);
    await h.sql(p, 'create table t (id int)');
    seg = await h.sql(p, 'select pg_walfile_name(pg_switch_wal())');
    const started = Date.now();
    let d = await kpg(['describe', NAME, '-n', ns, '--exit-code']);
    await waitFor(async () => {
      d = await kpg(['describe', NAME, '-n', ns, '--exit-code']);
      return d.code === 10 && /Status:\s+FAILING/.test(d.stdout);
    }, 60_000);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(d.stdout).toMatch(
      /WAL archiving to s3:\/\/kpg-fail\/kubedb\/.*\/arcfail\/archive at https:\/\/s3\..*:9000 fails/,
    );
    expect(d.stdout).toMatch(/Last error:\s+\S+/);
    // PostgreSQL keeps what it could not archive.
    expect(
      Number(
        await h.sql(
          p,
          "select count(*) from pg_ls_dir('pg_wal/archive_status') f where f like '%.ready'",
        ),
      ),
    ).toBeGreaterThan(0);
    expect(await archived()).toEqual([]);
  }, 300_000);

  it('the Secret fixed: archiving resumes by itself, no segment missing, describe healthy', async () => {
    await s3.storageSecret('s3-secret');
    const p = await h.primaryOf(NAME);
    await waitFor(
      async () =>
        (await h.sql(p, "select coalesce(last_archived_wal, '') from pg_stat_archiver")) >= seg,
      180_000,
    );
    const names = await archived();
    expect(names[0]).toBe('000000010000000000000001');
    expect(names).toContain(seg);
    // Consecutive: every segment from the first to the last.
    const nums = names.map((n) => parseInt(n.slice(8), 16));
    expect(nums).toEqual(nums.map((_, i) => nums[0]! + i));
    const d = await kpg(['describe', NAME, '-n', ns, '--exit-code']);
    expect(d.code, d.stdout).toBe(0);
    expect(d.stdout).toMatch(/Status:\s+ok/);
  }, 300_000);

  it('kpg delete with terminationPolicy Delete keeps the archive, and says so', async () => {
    const before = await archived();
    const r = await kpg(['delete', NAME, '-n', ns, '--yes']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout + r.stderr).toMatch(
      /keep {3}the archive s3:\/\/kpg-fail\/.* \(a new cluster restores from it/,
    );
    // The shutdown may archive one more segment; nothing is removed.
    expect(await archived()).toEqual(expect.arrayContaining(before));
  }, 300_000);
});

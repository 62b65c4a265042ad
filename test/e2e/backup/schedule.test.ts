// Issue 13: spec.backupSchedule as a CronJob that takes base backups while
// no kpg runs (`@every 1m`); `kpg backup list` shows them; `kpg backup prune
// --keep 1` leaves the newest and the WAL it needs (a restore to the end of
// the archive still has every row) and removes the older WAL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, deleteNamespace, getJson, kubectlOk } from '../../cluster/kube.js';
import { kpg, waitFor } from '../lifecycle/helpers.js';
import type { S3 } from '../s3.js';
import { backupHelpers, s3Archive } from './helpers.js';

const NAME = 'sched';
const BUCKET = 'kpg-sched';
let ns = '';
let s3: S3;
let h: ReturnType<typeof backupHelpers>;

let storage = '';

beforeAll(async () => {
  ns = await createNamespace('bk-sched');
  h = backupHelpers(ns);
  ({ s3, storage } = await s3Archive(ns, BUCKET));
}, 300_000);

afterAll(async () => {
  if (ns) await deleteNamespace(ns);
});

const root = () => `kubedb/${ns}/${NAME}/archive`;
/** Ids of the complete base backups in the bucket (those with a backup.info). */
const infos = async () =>
  (await s3.list(BUCKET, `${root()}/basebackups/`))
    .filter((k) => k.endsWith('/backup.info'))
    .map((k) => k.split('/').at(-2) ?? '')
    .sort();

describe('scheduled base backups and prune', () => {
  let manual = '';

  it('the CronJob takes a base backup on its own; kpg backup list shows it beside one of kpg backup', async () => {
    const schedule = `  backupSchedule:\n    cronExpression: "@every 1m"\n${storage.replace(/^ {2}/gm, '')}`;
    const r = await kpg([
      'create',
      '-f',
      h.manifest(NAME, `  replicas: 1\n  archiver:\n    storage:\n${storage}${schedule}`),
    ]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const cron = await getJson<{ spec: { schedule: string; concurrencyPolicy: string } }>([
      '-n',
      ns,
      'cronjob',
      `${NAME}-backup`,
    ]);
    expect(cron.spec).toMatchObject({ schedule: '@every 1m', concurrencyPolicy: 'Forbid' });
    const p = await h.primaryOf(NAME);
    await h.sql(p, 'create table t (id serial primary key, phase text not null)');
    await h.sql(p, "insert into t (phase) select 'T1' from generate_series(1, 100)");
    const b = await kpg(['backup', NAME, '-n', ns, '-o', 'json']);
    expect(b.code, b.stderr).toBe(0);
    manual = (JSON.parse(b.stdout) as { id: string }).id;
    // No kpg runs from here until the scheduled backup is in the bucket.
    await waitFor(async () => (await infos()).some((id) => id > manual), 180_000);
    await h.sql(p, "insert into t (phase) select 'T2' from generate_series(1, 50)");
    await h.archiveNow(p);
    const l = await kpg(['backup', 'list', NAME, '-n', ns, '-o', 'json']);
    expect(l.code, l.stderr).toBe(0);
    const ids = (JSON.parse(l.stdout) as { backups: { id: string }[] }).backups.map((x) => x.id);
    expect(ids.length).toBeGreaterThanOrEqual(2);
    expect(ids[0]).toBe(manual);
  }, 600_000);

  it('prune --keep 1: one backup left, the older WAL gone, the WAL it needs kept', async () => {
    // The schedule would add backups while this test counts them.
    await kubectlOk([
      '-n',
      ns,
      'patch',
      'cronjob',
      `${NAME}-backup`,
      '-p',
      '{"spec":{"suspend":true}}',
    ]);
    await waitFor(async () => {
      const jobs = await getJson<{ items: { status?: { active?: number } }[] }>(['-n', ns, 'jobs']);
      return jobs.items.every((j) => !j.status?.active);
    }, 120_000);
    const before = await infos();
    const dry = await kpg(['backup', 'prune', NAME, '-n', ns, '--keep', '1', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stderr).toMatch(new RegExp(`remove\\s+base backup ${manual}`));
    expect(await infos()).toEqual(before);
    // Without a terminal and without --yes: refused, nothing removed.
    const refused = await kpg(['backup', 'prune', NAME, '-n', ns, '--keep', '1']);
    expect(refused.code).toBe(2);
    expect(await infos()).toEqual(before);
    const r = await kpg(['backup', 'prune', NAME, '-n', ns, '--keep', '1', '--yes', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const plan = (JSON.parse(r.stdout) as { plan: { walBefore: string; keep: { id: string }[] } })
      .plan;
    const left = await infos();
    expect(left).toEqual([before.at(-1)]);
    expect(plan.keep.map((k) => k.id)).toEqual(left);
    const wal = (await s3.list(BUCKET, `${root()}/wal/`)).map((k) => k.split('/').pop() ?? '');
    const segments = wal.filter((f) => /^[0-9A-F]{24}\.gz$/.test(f));
    expect(segments.length).toBeGreaterThan(0);
    expect(segments.every((f) => f.slice(8, 24) >= plan.walBefore.slice(8, 24))).toBe(true);
    expect(segments.some((f) => f.startsWith(plan.walBefore))).toBe(true);
  }, 300_000);

  it('a restore to the end of the archive after the prune has every row', async () => {
    const r = await kpg([
      'create',
      '-f',
      h.manifest(
        'after-prune',
        `  replicas: 1
  init:
    postgresWAL:
${storage}        prefix: ${root()}
`,
      ),
    ]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(await h.phases(await h.primaryOf('after-prune'))).toBe('T1=100,T2=50');
  }, 600_000);
});

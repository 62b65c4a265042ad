/**
 * Backups on the local cluster (not a timed test; the machine is noisy):
 * `npm run build && npx tsx bench/backup.ts [--gb 1] [--runs 3] [--lags 20]`.
 *
 * One namespace with its own S3 server (versitygw over TLS, test/e2e/s3.ts)
 * and a 2-pod cluster (postgres 15, hot standby) archiving to it; a table of
 * about --gb GB is loaded. Then, in the same run:
 *   1. Base backup throughput: `kpg backup` (a Job: pg_basebackup streamed
 *      through the uploader to the bucket) versus a bare `pg_basebackup -Ft
 *      -X fetch` from the standby's pod to a local file, the same bytes over
 *      the same network; interleaved, --runs of each; the ratio of medians
 *      (bare time / kpg time; goal >= 0.8). kpg's time is the command's wall
 *      time, Job start included.
 *   2. WAL archive lag under the in-cluster writer's load: --lags segment
 *      switches, each timed from its commit (the server's clock) to
 *      pg_stat_archiver's last_archived_time for that segment, which
 *      archive_command sets only once the object is stored; median and worst.
 *   3. Restore time: `kpg create` of a new cluster from the archive with
 *      pitr.targetTime (a point after the last backup), wall time until it
 *      reports the primary ready.
 */
import { parseArgs } from 'node:util';
import { createNamespace, deleteNamespace, kubectl } from '../test/cluster/kube.js';
import { backupHelpers } from '../test/e2e/backup/helpers.js';
import { kpg } from '../test/e2e/lifecycle/helpers.js';
import { deployS3 } from '../test/e2e/s3.js';
import { Writer } from '../test/e2e/failover/writer.js';

const { values } = parseArgs({
  options: {
    gb: { type: 'string', default: '1' },
    runs: { type: 'string', default: '3' },
    lags: { type: 'string', default: '20' },
    keep: { type: 'boolean', default: false },
  },
});
const GB = Number(values.gb);
const RUNS = Number(values.runs);
const LAGS = Number(values.lags);
const NAME = 'bench';
const BUCKET = 'kpg-bench';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const ns = await createNamespace('bench-backup');
const h = backupHelpers(ns);
try {
  const s3 = await deployS3(ns);
  await s3.createBucket(BUCKET);
  await s3.storageSecret('s3-secret');
  const storage = `      storageSecretName: s3-secret\n      s3:\n        endpoint: ${s3.endpoint}\n        bucket: ${BUCKET}\n`;
  const created = await kpg([
    'create',
    '-f',
    h
      .manifest(NAME, `  replicas: 2\n  archiver:\n    storage:\n${storage}`)
      .replace('storage: 256Mi', 'storage: 8Gi'),
  ]);
  if (created.code !== 0) throw new Error(created.stderr + created.stdout);
  const primary = await h.primaryOf(NAME);
  const standby = `${NAME}-${primary.endsWith('-0') ? 1 : 0}`;

  const rows = Math.round((GB * 1024 * 1024 * 1024) / 1100);
  const loadStart = Date.now();
  await h.sql(
    primary,
    `create table big as select g as id, repeat(md5(g::text), 31) as pad from generate_series(1, ${rows}) g`,
  );
  const dbBytes = Number(await h.sql(primary, 'select pg_database_size(current_database())'));
  console.log(
    `loaded ${rows} rows, database ${mib(dbBytes)} MiB, in ${((Date.now() - loadStart) / 1000).toFixed(0)} s`,
  );
  await h.archiveNow(primary, 600_000);

  // 1. kpg backup versus a bare pg_basebackup, interleaved.
  const bare: number[] = [];
  let bareBytes = 0;
  const kpgTimes: number[] = [];
  let backupBytes = 0;
  const conninfo = `host=${NAME} user=replicator sslmode=verify-full sslrootcert=/etc/kpg/tls/ca.crt passfile=/tmp/kpg/pgpass`;
  for (let i = 0; i < RUNS; i++) {
    const t0 = Date.now();
    const b = await kpg(['backup', NAME, '-n', ns, '-o', 'json']);
    if (b.code !== 0) throw new Error(b.stderr);
    kpgTimes.push((Date.now() - t0) / 1000);
    backupBytes = (JSON.parse(b.stdout) as { bytes: number }).bytes;
    const r = await kubectl(
      [
        '-n',
        ns,
        'exec',
        standby,
        '-c',
        'postgres',
        '--',
        'bash',
        '-c',
        `s=$(date +%s%N); pg_basebackup -d '${conninfo}' -D - -F tar -X fetch -c fast >/tmp/bare.tar || exit 1; e=$(date +%s%N); stat -c %s /tmp/bare.tar; echo $(( (e - s) / 1000000 )); rm -f /tmp/bare.tar`,
      ],
      { timeoutMs: 1_800_000 },
    );
    if (r.code !== 0) throw new Error(`bare pg_basebackup: ${r.stderr}`);
    const [size, ms] = r.stdout.trim().split('\n').map(Number);
    bare.push(ms! / 1000);
    bareBytes = size!;
    console.log(
      `run ${i + 1}: kpg backup ${kpgTimes.at(-1)!.toFixed(1)} s (${mib(backupBytes)} MiB), bare pg_basebackup ${(ms! / 1000).toFixed(1)} s (${mib(size!)} MiB)`,
    );
  }

  // 2. Archive lag under the writer's load.
  const writer = await Writer.start(ns, NAME);
  const lags: number[] = [];
  for (let i = 0; i < LAGS; i++) {
    const [seg, at] = (
      await h.sql(
        primary,
        'select pg_walfile_name(pg_switch_wal()), extract(epoch from clock_timestamp())',
      )
    ).split('|');
    for (;;) {
      const [last, when] = (
        await h.sql(
          primary,
          "select coalesce(last_archived_wal, ''), coalesce(extract(epoch from last_archived_time), 0) from pg_stat_archiver",
        )
      ).split('|');
      if (last! >= seg!) {
        lags.push(last === seg ? Number(when) - Number(at) : NaN);
        break;
      }
      await sleep(50);
    }
    await sleep(1000);
  }
  await writer.stop();
  const measured = lags.filter((x) => !Number.isNaN(x));

  // 3. Restore to a point in time after the last backup.
  await sleep(1500);
  const target = await h.now(primary);
  // A time target is reached only at a later commit: one after it proves nothing else came first.
  await h.sql(primary, 'create table after_target as select 1 as x');
  await h.archiveNow(primary, 600_000);
  const r0 = Date.now();
  const restored = await kpg([
    'create',
    '-f',
    h
      .manifest(
        'restored',
        `  replicas: 1\n  init:\n    postgresWAL:\n${storage}        prefix: kubedb/${ns}/${NAME}/archive\n      pitr:\n        targetTime: "${target}"\n`,
      )
      .replace('storage: 256Mi', 'storage: 8Gi'),
  ]);
  const restoreS = (Date.now() - r0) / 1000;
  if (restored.code !== 0) throw new Error(restored.stderr + restored.stdout);
  const count = await h.sql(await h.primaryOf('restored'), 'select count(*) from big');

  // Each side's own bytes: -X fetch includes the WAL of the moment, which differs between runs.
  const k = backupBytes / 1024 / 1024 / median(kpgTimes);
  const b = bareBytes / 1024 / 1024 / median(bare);
  console.log('\n| measurement | figure |\n| --- | --- |');
  console.log(
    `| database | ${mib(dbBytes)} MiB (${rows} rows); base backup ${mib(backupBytes)} MiB |`,
  );
  console.log(
    `| kpg backup, median of ${RUNS} | ${median(kpgTimes).toFixed(1)} s for ${mib(backupBytes)} MiB, ${k.toFixed(0)} MiB/s |`,
  );
  console.log(
    `| bare pg_basebackup to a local file, median of ${RUNS} | ${median(bare).toFixed(1)} s for ${mib(bareBytes)} MiB, ${b.toFixed(0)} MiB/s |`,
  );
  console.log(`| throughput ratio kpg / bare | ${(k / b).toFixed(2)} (goal >= 0.8) |`);
  console.log(
    `| archive lag, ${measured.length} of ${LAGS} switches timed | median ${(median(measured) * 1000).toFixed(0)} ms, worst ${(Math.max(...measured) * 1000).toFixed(0)} ms |`,
  );
  console.log(
    `| restore to a point in time (kpg create until ready) | ${restoreS.toFixed(1)} s, ${count} rows |`,
  );
} finally {
  if (!values.keep) await deleteNamespace(ns);
}

// Shared by the backup e2e tests: a cluster manifest in the test's namespace,
// SQL on a pod, the rows per phase, the primary, and a segment switch that
// waits until the archiver has stored the segment.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { podNames } from '../../cluster/kube.js';
import { withLocalAgentImage } from '../../cluster/manifests.js';
import { podSql, waitFor } from '../lifecycle/helpers.js';
import { deployS3, type S3, type StorageSecretOptions } from '../s3.js';

export function backupHelpers(ns: string) {
  /** A Postgres manifest file: version 15, hot standbys, the policy (WipeOut), then BODY (spec fields). */
  function manifest(name: string, body: string, policy = 'WipeOut'): string {
    const file = join(tmpdir(), `kpg-backup-${ns}-${name}-${Date.now()}.yaml`);
    writeFileSync(
      file,
      withLocalAgentImage(`apiVersion: kubedb.com/v1alpha1
kind: Postgres
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  version: "15"
  standbyMode: Hot
  terminationPolicy: ${policy}
  storage:
    storageClassName: standard
    accessModes: [ReadWriteOnce]
    resources:
      requests:
        storage: 256Mi
${body}`),
    );
    return file;
  }

  async function sql(pod: string, q: string): Promise<string> {
    const r = await podSql(ns, pod, q);
    if (r.code !== 0) throw new Error(`${pod}: ${q}: ${r.stderr}`);
    return r.stdout.trim();
  }

  /** "T1=100,T2=50": the rows of table t by phase. */
  const phases = (pod: string) =>
    sql(
      pod,
      "select coalesce(string_agg(phase || '=' || n, ',' order by phase), '') from (select phase, count(*) n from t group by phase) x",
    );

  async function primaryOf(name: string): Promise<string> {
    const pods = await podNames(ns, `kubedb.com/name=${name},kubedb.com/role=primary`);
    if (pods.length !== 1) throw new Error(`${name}: primary pods ${pods.join(',')}`);
    return pods[0]!;
  }

  /**
   * Writes a WAL record and switches segments (so the switch is never a
   * no-op that names the previous segment), then waits until the archiver
   * reports that segment stored (.backup/.partial names compared by their segment).
   */
  async function archiveNow(pod: string, timeoutMs = 60_000): Promise<string> {
    const seg = (
      await sql(
        pod,
        "select pg_logical_emit_message(false, 'kpg-test', 'switch'); select pg_walfile_name(pg_switch_wal())",
      )
    )
      .split('\n')
      .pop()!;
    await waitFor(async () => {
      const last = await sql(pod, "select coalesce(last_archived_wal, '') from pg_stat_archiver");
      return /^[0-9A-F]{24}/.test(last) && last.slice(0, 24) >= seg;
    }, timeoutMs);
    return seg;
  }

  /** A timestamp PostgreSQL reads, in UTC with microseconds: a recovery target. */
  const now = (pod: string) =>
    sql(
      pod,
      "select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'",
    );

  return { manifest, sql, phases, primaryOf, archiveNow, now };
}

export const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * An S3 server in ns with BUCKET and the storage Secret s3-secret (its keys
 * from SECRET, else the server's own); `storage` is that backend as a
 * manifest's storage block (six spaces in: under `storage:` or `postgresWAL:`).
 */
export async function s3Archive(
  ns: string,
  bucket: string,
  secret: StorageSecretOptions = {},
): Promise<{ s3: S3; storage: string }> {
  const s3 = await deployS3(ns);
  await s3.createBucket(bucket);
  await s3.storageSecret('s3-secret', secret);
  const storage = `      storageSecretName: s3-secret
      s3:
        endpoint: ${s3.endpoint}
        bucket: ${bucket}
`;
  return { s3, storage };
}

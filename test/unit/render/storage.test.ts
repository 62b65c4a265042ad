import { describe, expect, it } from 'vitest';
import type { StorageBackend } from '../../../src/lib/manifest/types.js';
import { renderCluster } from '../../../src/lib/render/index.js';
import { renderBackupJob, backupJobName } from '../../../src/lib/render/backup-job.js';
import { archiveLocation } from '../../../src/lib/backup/location.js';
import type { KubeObject } from '../../../src/lib/render/types.js';
import { cluster } from './fixture.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const s3: StorageBackend = {
  kind: 's3',
  secretName: 's3-secret',
  bucket: 'kubedb',
  endpoint: 'https://s3.demo.svc:9000',
};
const sts = (objects: KubeObject[]) => objects.find((o) => o.kind === 'StatefulSet') as Obj;
const config = (objects: KubeObject[]) =>
  objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'ha-postgres-config') as Obj;

describe('the storage sidecar', () => {
  it('is absent without spec.archiver and spec.init.postgresWAL (nothing else changes)', () => {
    const { objects } = renderCluster(cluster(), { namespace: 'demo' });
    const spec = sts(objects).spec.template.spec;
    expect(spec.initContainers).toBeUndefined();
    expect(config(objects).data['postgresql.conf']).not.toMatch(/archive_mode/);
    expect(Object.keys(config(objects).data)).not.toContain('storage.sh');
  });

  it('archives to s3: rclone image, remote from KPG_ARC_*, the Secret mounted read-only, PGDATA read-only', () => {
    const { objects } = renderCluster(cluster({ archiver: { storage: s3 } }), {
      namespace: 'demo',
    });
    const spec = sts(objects).spec.template.spec;
    const side = spec.initContainers[0];
    expect(side).toMatchObject({
      name: 'storage',
      image: 'rclone/rclone:1.60.1',
      restartPolicy: 'Always',
      command: ['sh', '/scripts/storage.sh', 'serve'],
    });
    const env = Object.fromEntries(side.env.map((e: Obj) => [e.name, e.value]));
    expect(env).toMatchObject({
      KPG_ARC_KIND: 's3',
      KPG_ARC_ROOT: 'kubedb/kubedb/demo/ha-postgres/archive',
      KPG_ARC_ENDPOINT: 'https://s3.demo.svc:9000',
      KPG_ARC_SECRET: '/etc/kpg/storage/arc',
    });
    // No credential in the pod spec: only the Secret's name.
    expect(JSON.stringify(spec)).not.toMatch(/AWS_SECRET_ACCESS_KEY/);
    expect(side.volumeMounts).toContainEqual({
      name: 'data',
      mountPath: '/var/lib/postgresql/data',
      readOnly: true,
    });
    expect(spec.volumes).toContainEqual({
      name: 'secret-arc',
      secret: { secretName: 's3-secret', defaultMode: 0o440 },
    });
    const pg = spec.containers[0];
    expect(pg.volumeMounts).toContainEqual({ name: 'spool', mountPath: '/spool' });
    const conf = config(objects).data['postgresql.conf'];
    expect(conf).toMatch(/^archive_mode = on$/m);
    expect(conf).toMatch(/^archive_command = 'bash \/scripts\/wal.sh archive "%p" "%f"'$/m);
    expect(Object.keys(config(objects).data)).toEqual(
      expect.arrayContaining(['storage.sh', 'wal.sh', 'basebackup.sh']),
    );
  });

  it('goes before the agent: a restore needs it before postgres starts', () => {
    const c = cluster({ annotations: {}, archiver: { storage: s3 } });
    const spec = sts(renderCluster(c, { namespace: 'demo', agentBundle: 'x' }).objects).spec
      .template.spec;
    expect(spec.initContainers.map((i: Obj) => i.name)).toEqual(['storage', 'kpg-agent']);
  });

  it('local: the volume mounted at mountPath (subPath), a restore source read-only; the restore target in the environment', () => {
    const local: StorageBackend = {
      kind: 'local',
      local: {
        mountPath: '/backup',
        subPath: 'old',
        volume: { persistentVolumeClaim: { claimName: 'pgbackup' } },
      },
    };
    const c = cluster({
      restore: { storage: local, target: { timeline: 'latest', inclusive: false, xid: '1234' } },
    });
    const spec = sts(renderCluster(c, { namespace: 'demo' }).objects).spec.template.spec;
    const side = spec.initContainers[0];
    expect(spec.volumes).toContainEqual({
      name: 'local-src',
      persistentVolumeClaim: { claimName: 'pgbackup' },
    });
    expect(side.volumeMounts).toContainEqual({
      name: 'local-src',
      mountPath: '/backup',
      subPath: 'old',
      readOnly: true,
    });
    // A restore writes PGDATA (the base backup, fetched WAL).
    expect(side.volumeMounts).toContainEqual({
      name: 'data',
      mountPath: '/var/lib/postgresql/data',
    });
    const env = Object.fromEntries(spec.containers[0].env.map((e: Obj) => [e.name, e.value]));
    expect(env).toMatchObject({
      KPG_RESTORE: '1',
      KPG_RESTORE_XID: '1234',
      KPG_RESTORE_INCLUSIVE: 'off',
      KPG_RESTORE_TIMELINE: 'latest',
    });
    expect(
      config(renderCluster(c, { namespace: 'demo' }).objects).data['postgresql.conf'],
    ).not.toMatch(/archive_mode/);
  });
});

describe('the base backup Job', () => {
  const c = cluster({ archiver: { storage: s3 } });
  const job = renderBackupJob(c, 'demo', {
    id: '20261204T010203Z',
    archive: archiveLocation(s3, 'demo', c.name),
    host: 'ha-postgres',
  }) as Obj;

  it('pg_basebackup in the postgres image, the uploader in the storage image, no retry', () => {
    expect(job.metadata.name).toBe(backupJobName('ha-postgres', '20261204T010203Z'));
    expect(job.metadata.name).toBe('ha-postgres-backup-20261204t010203z');
    expect(job.spec.backoffLimit).toBe(0);
    const [bb, up] = job.spec.template.spec.containers;
    expect(bb).toMatchObject({
      name: 'basebackup',
      image: 'postgres:15',
      command: ['bash', '/scripts/basebackup.sh', '20261204T010203Z'],
    });
    expect(up).toMatchObject({
      name: 'upload',
      image: 'rclone/rclone:1.60.1',
      command: ['sh', '/scripts/storage.sh', 'upload-base', '20261204T010203Z'],
    });
    const env = Object.fromEntries(bb.env.map((e: Obj) => [e.name, e.value]));
    expect(env).toMatchObject({
      KPG_BACKUP_HOST: 'ha-postgres',
      PGSSLMODE: 'verify-full',
      PGSSLROOTCERT: '/etc/kpg/tls/ca.crt',
    });
  });

  it("carries none of the cluster's selector labels (its Services and StatefulSet must not take the pod)", () => {
    const labels = job.spec.template.metadata.labels;
    expect(labels['kubedb.com/name']).toBeUndefined();
    expect(labels['kubedb.com/kind']).toBeUndefined();
    expect(labels['kpg.io/backup']).toBe('20261204t010203z');
  });

  it('mounts only ca.crt of NAME-tls, and no service account token', () => {
    const spec = job.spec.template.spec;
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.volumes).toContainEqual(
      expect.objectContaining({
        name: 'tls',
        secret: expect.objectContaining({ items: [{ key: 'ca.crt', path: 'ca.crt' }] }),
      }),
    );
  });
});

describe("spec.backupSchedule's CronJob", () => {
  const c = cluster({
    archiver: { storage: s3 },
    backupSchedule: {
      schedule: '@every 6h',
      storage: s3,
      podAnnotations: { passMe: 'ToBackupJobPod' },
      jobAnnotations: { passMe: 'ToBackupJob' },
      podSpec: { nodeSelector: { disk: 'ssd' } },
    },
  });
  const cron = renderCluster(c, { namespace: 'demo' }).objects.find(
    (o) => o.kind === 'CronJob',
  ) as Obj;

  it('runs the same backup pod on the schedule, one at a time, naming each backup by its start', () => {
    expect(cron.metadata.name).toBe('ha-postgres-backup');
    expect(cron.spec).toMatchObject({ schedule: '@every 6h', concurrencyPolicy: 'Forbid' });
    const pod = cron.spec.jobTemplate.spec.template;
    const [bb, up] = pod.spec.containers;
    expect(bb.command).toEqual(['bash', '/scripts/basebackup.sh']);
    expect(up.command).toEqual(['sh', '/scripts/storage.sh', 'upload-base']);
    expect(pod.metadata.annotations).toEqual({ passMe: 'ToBackupJobPod' });
    expect(cron.spec.jobTemplate.metadata.annotations).toEqual({ passMe: 'ToBackupJob' });
    expect(pod.spec.nodeSelector).toEqual({ disk: 'ssd' });
    expect(pod.metadata.labels['kubedb.com/name']).toBeUndefined();
    // The CronJob itself carries the cluster's labels: kpg delete finds it.
    expect(cron.metadata.labels['kubedb.com/name']).toBe('ha-postgres');
  });

  it('none without spec.backupSchedule', () => {
    const objects = renderCluster(cluster({ archiver: { storage: s3 } }), {
      namespace: 'demo',
    }).objects;
    expect(objects.some((o) => o.kind === 'CronJob')).toBe(false);
  });
});

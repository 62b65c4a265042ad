import { describe, expect, it } from 'vitest';
import { validateText } from '../../../src/lib/manifest/index.js';

const doc = (spec: string) => `apiVersion: kubedb.com/v1alpha1
kind: Postgres
metadata:
  name: pg
  namespace: demo
spec:
  version: "15"
${spec}`;

describe('spec.archiver, spec.init.postgresWAL, spec.backupSchedule', () => {
  it('an s3 archive: https:// added to a bare endpoint, the prefix without slashes', () => {
    const r = validateText(
      doc(`  archiver:
    storage:
      storageSecretName: s3-secret
      s3:
        endpoint: minio.demo.svc:443/
        bucket: kubedb
        prefix: /team/a/
`),
      't.yaml',
    );
    expect(r.ok).toBe(true);
    expect(r.clusters[0]?.archiver).toEqual({
      storage: {
        kind: 's3',
        secretName: 's3-secret',
        bucket: 'kubedb',
        prefix: 'team/a',
        endpoint: 'https://minio.demo.svc:443',
      },
    });
  });

  it('a restore: the latest timeline and an inclusive target unless given', () => {
    const r = validateText(
      doc(`  init:
    postgresWAL:
      local:
        mountPath: /restore
        subPath: kubedb/demo/old/archive
        persistentVolumeClaim:
          claimName: pgbackup
      pitr:
        targetTime: "2019-01-07 08:30:00+00"
`),
      't.yaml',
    );
    expect(r.ok).toBe(true);
    expect(r.clusters[0]?.restore).toEqual({
      storage: {
        kind: 'local',
        local: {
          mountPath: '/restore',
          subPath: 'kubedb/demo/old/archive',
          volume: { persistentVolumeClaim: { claimName: 'pgbackup' } },
        },
      },
      target: { time: '2019-01-07 08:30:00+00', timeline: 'latest', inclusive: true },
    });
  });

  it('gcs, azure and swift are accepted with a note that they are not proven here', () => {
    const r = validateText(
      doc(`  archiver:
    storage:
      storageSecretName: gcs-secret
      gcs:
        bucket: kubedb
`),
      't.yaml',
    );
    expect(r.ok).toBe(true);
    expect(r.problems).toContainEqual(
      expect.objectContaining({ severity: 'note', path: 'spec.archiver.storage.gcs' }),
    );
  });

  it('a local archive names one volume; an emptyDir keeps nothing', () => {
    const none = validateText(
      doc(`  archiver:\n    storage:\n      local:\n        mountPath: /b\n`),
      't.yaml',
    );
    expect(none.problems).toContainEqual(
      expect.objectContaining({ severity: 'error', path: 'spec.archiver.storage.local' }),
    );
    const empty = validateText(
      doc(`  archiver:\n    storage:\n      local:\n        mountPath: /b\n        emptyDir: {}\n`),
      't.yaml',
    );
    expect(empty.problems).toContainEqual(
      expect.objectContaining({ severity: 'error', path: 'spec.archiver.storage.local.emptyDir' }),
    );
  });

  it('a schedule with its podTemplate; podVolumeClaimSpec noted as not needed', () => {
    const r = validateText(
      doc(`  backupSchedule:
    cronExpression: "0 */6 * * *"
    storageSecretName: s3-secret
    s3:
      bucket: kubedb
    podVolumeClaimSpec:
      accessModes: [ReadWriteOnce]
    podTemplate:
      annotations:
        passMe: ToBackupJobPod
`),
      't.yaml',
    );
    expect(r.ok).toBe(true);
    expect(r.clusters[0]?.backupSchedule).toMatchObject({
      schedule: '0 */6 * * *',
      podAnnotations: { passMe: 'ToBackupJobPod' },
    });
    expect(r.problems).toContainEqual(
      expect.objectContaining({ severity: 'note', path: 'spec.backupSchedule.podVolumeClaimSpec' }),
    );
  });
});

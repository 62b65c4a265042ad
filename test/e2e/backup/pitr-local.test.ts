// Issue 13: the same archive, backup and point-in-time restore with
// spec.archiver.storage.local on a PersistentVolumeClaim (KubeDB's local
// backend): rows at T1, `kpg backup`, rows at T2, `kpg failover`, rows at
// T3; a restore to a time between T1 and T2 has exactly the T1 rows, one to
// the end of the archive all three, across the timeline switch.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, createNamespace, deleteNamespace, kubectlOk } from '../../cluster/kube.js';
import { kpg } from '../lifecycle/helpers.js';
import { backupHelpers, pause } from './helpers.js';

const SRC = 'loc';
let ns = '';
let h: ReturnType<typeof backupHelpers>;

const archiver = `  replicas: 2
  archiver:
    storage:
      local:
        mountPath: /backup
        persistentVolumeClaim:
          claimName: pgbackup
`;
const restoreFrom = (pitr: string) => `  replicas: 1
  init:
    postgresWAL:
      local:
        mountPath: /restore
        subPath: kubedb/${ns}/${SRC}/archive
        persistentVolumeClaim:
          claimName: pgbackup
${pitr}`;

let mid = '';

beforeAll(async () => {
  ns = await createNamespace('pitr-local');
  h = backupHelpers(ns);
  await apply(
    ns,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'pgbackup' },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'standard',
        resources: { requests: { storage: '1Gi' } },
      },
    }),
  );
}, 120_000);

afterAll(async () => {
  if (ns) await deleteNamespace(ns);
});

describe('archive, backup, failover, point-in-time restore (local volume)', () => {
  it('archives to the claim, takes a base backup there, fails over, archives the new timeline', async () => {
    const r = await kpg(['create', '-f', h.manifest(SRC, archiver)]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const p = await h.primaryOf(SRC);
    await h.sql(p, 'create table t (id serial primary key, phase text not null)');
    await h.sql(p, "insert into t (phase) select 'T1' from generate_series(1, 100)");
    const b = await kpg(['backup', SRC, '-n', ns, '-o', 'json']);
    expect(b.code, b.stderr).toBe(0);
    const id = (JSON.parse(b.stdout) as { id: string }).id;
    await pause(1500);
    mid = await h.now(p);
    await pause(1500);
    await h.sql(p, "insert into t (phase) select 'T2' from generate_series(1, 50)");
    const f = await kpg(['failover', SRC, '-n', ns, '--yes']);
    expect(f.code, f.stderr + f.stdout).toBe(0);
    const q = await h.primaryOf(SRC);
    expect(q).not.toBe(p);
    await h.sql(q, "insert into t (phase) select 'T3' from generate_series(1, 25)");
    const seg = await h.archiveNow(q);
    // The files, as the sidecar sees them on the volume.
    const ls = await kubectlOk([
      '-n',
      ns,
      'exec',
      q,
      '-c',
      'storage',
      '--',
      'ls',
      `/backup/kubedb/${ns}/${SRC}/archive/wal`,
      `/backup/kubedb/${ns}/${SRC}/archive/basebackups/${id}`,
    ]);
    expect(ls).toContain(`${seg}.gz`);
    expect(ls).toMatch(/00000002\.history\.gz/);
    expect(ls).toMatch(/base\.tar/);
    expect(ls).toMatch(/backup\.info/);
  }, 600_000);

  it('restored to a time between T1 and T2: exactly the T1 rows', async () => {
    const r = await kpg([
      'create',
      '-f',
      h.manifest('at-time', restoreFrom(`      pitr:\n        targetTime: "${mid}"\n`)),
    ]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(await h.phases(await h.primaryOf('at-time'))).toBe('T1=100');
  }, 600_000);

  it('restored to the end of the archive: T1, T2 and T3 across the timeline switch', async () => {
    const r = await kpg(['create', '-f', h.manifest('latest', restoreFrom(''))]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(await h.phases(await h.primaryOf('latest'))).toBe('T1=100,T2=50,T3=25');
  }, 600_000);
});

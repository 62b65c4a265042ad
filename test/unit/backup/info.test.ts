import { describe, expect, it } from 'vitest';
import { isFailing, parseArchive, archiveProblem } from '../../../src/lib/backup/archive-status.js';
import { backupFromLog, backupId, parseBackupList } from '../../../src/lib/backup/info.js';
import {
  archiveLocation,
  describeLocation,
  restoreLocation,
  sameLocation,
} from '../../../src/lib/backup/location.js';
import type { StorageBackend } from '../../../src/lib/manifest/types.js';

const info = (id: string) => `id=${id}
cluster=demo/pg
server_version_num=150010
timeline=2
start_lsn=0/5000028
stop_lsn=0/5000138
start_time=2026-12-04T01:02:03Z
stop_time=2026-12-04T01:02:05Z
stop_epoch=1796346125
next_xid=771
source=pg
bytes=31457280`;

describe('backup.info', () => {
  it('a list of infos, oldest first; text without an id is skipped', () => {
    const l = parseBackupList(
      `${info('20261204T020000Z')}\n---\n${info('20261204T010000Z')}\n---\ngarbage\n---\n`,
    );
    expect(l.map((b) => b.id)).toEqual(['20261204T010000Z', '20261204T020000Z']);
    expect(l[0]).toMatchObject({
      timeline: 2,
      startLsn: '0/5000028',
      stopLsn: '0/5000138',
      bytes: 31457280,
      nextXid: '771',
    });
  });

  it("the uploader's last log line", () => {
    const log = `kpg-storage: uploading\nKPG-BACKUP ${info('20261204T010203Z').split('\n').join(' ')} \n`;
    expect(backupFromLog(log)).toMatchObject({
      id: '20261204T010203Z',
      cluster: 'demo/pg',
      serverVersionNum: 150010,
    });
    expect(backupFromLog('kpg-storage: !!! failed')).toBeUndefined();
  });

  it('ids sort as time and fit object paths and Job names', () => {
    expect(backupId(new Date('2026-12-04T01:02:03.456Z'))).toBe('20261204T010203Z');
  });
});

describe('archive locations (KubeDB layout)', () => {
  const s3: StorageBackend = { kind: 's3', secretName: 's', bucket: 'b', prefix: 'p/q' };
  it('the archiver writes under {prefix}/kubedb/{ns}/{name}/archive; a restore reads the prefix itself', () => {
    expect(archiveLocation(s3, 'demo', 'pg').root).toBe('b/p/q/kubedb/demo/pg/archive');
    expect(restoreLocation({ ...s3, prefix: 'kubedb/demo/pg/archive' }).root).toBe(
      'b/kubedb/demo/pg/archive',
    );
    expect(
      sameLocation(
        archiveLocation({ ...s3, prefix: undefined }, 'demo', 'pg'),
        restoreLocation({ ...s3, prefix: 'kubedb/demo/pg/archive' }),
      ),
    ).toBe(true);
    expect(describeLocation(archiveLocation(s3, 'demo', 'pg'))).toBe(
      's3://b/p/q/kubedb/demo/pg/archive',
    );
  });
});

describe('archiving status', () => {
  it('failing only while the last failure is newer than the last success', () => {
    expect(isFailing({})).toBe(false);
    expect(isFailing({ lastFailedTime: '2026-12-04 01:00:00+00' })).toBe(true);
    expect(
      isFailing({
        lastFailedTime: '2026-12-04 01:00:00+00',
        lastArchivedTime: '2026-12-04 01:00:01+00',
      }),
    ).toBe(false);
    expect(
      isFailing({
        lastFailedTime: '2026-12-04 01:00:02.5+00',
        lastArchivedTime: '2026-12-04 01:00:01+00',
      }),
    ).toBe(true);
  });

  it("a failing archive is a problem naming the sidecar's reason", () => {
    const a = parseArchive(
      [
        [
          '3',
          '000000010000000000000003',
          '2026-12-04 01:00:00+00',
          '7',
          '000000010000000000000004',
          '2026-12-04 01:05:00+00',
          '2',
          'SignatureDoesNotMatch',
        ],
      ],
      's3://b/x',
      'pg-0',
    );
    expect(a).toMatchObject({ archivedCount: 3, failedCount: 7, pending: 2, failing: true });
    expect(archiveProblem(a)).toMatch(
      /WAL archiving to s3:\/\/b\/x fails \(7 failures.*2 segments wait.*SignatureDoesNotMatch/,
    );
    expect(archiveProblem({ ...a, failing: false })).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { pgHbaConf, postgresqlConf, walSenders } from '../../../src/lib/render/config.js';
import { slotWalKeepMb } from '../../../src/lib/render/slots.js';
import { majorNum, versionTraits } from '../../../src/lib/render/version.js';
import { cluster } from './fixture.js';

/** `key = value` settings of a postgresql.conf, comments stripped. */
function settings(conf: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of conf.split('\n')) {
    const m = /^\s*([a-z_]+)\s*=\s*(.*?)\s*(#.*)?$/.exec(line);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

const MAJORS = ['9.6', '10', '11', '12', '13', '15', '16', '17'];

describe('majorNum', () => {
  it('orders majors like PG_VERSION_NUM', () => {
    expect(MAJORS.map(majorNum)).toEqual([906, 1000, 1100, 1200, 1300, 1500, 1600, 1700]);
    expect(() => majorNum('x')).toThrow(/not a PostgreSQL major/);
  });
});

describe.each(MAJORS)('postgresql.conf for PostgreSQL %s', (major) => {
  const n = majorNum(major);
  const conf = postgresqlConf(cluster({ major }));
  const s = settings(conf);

  it('streams WAL at replica level with rewind support', () => {
    expect(s.get('wal_level')).toBe('replica');
    expect(s.get('wal_log_hints')).toBe('on');
    expect(Number(s.get('max_wal_senders'))).toBeGreaterThanOrEqual(10);
    expect(Number(s.get('max_replication_slots'))).toBeGreaterThanOrEqual(10);
    expect(s.get('listen_addresses')).toBe("'*'");
    expect(s.get('unix_socket_directories')).toBe("'/var/run/postgresql,/tmp'");
    expect(s.get('hba_file')).toBe("'/etc/kpg/config/pg_hba.conf'");
  });

  it('keeps WAL with the setting this major knows', () => {
    if (n < 1300) {
      expect(s.get('wal_keep_segments')).toBe('32');
      expect(s.has('wal_keep_size')).toBe(false);
    } else {
      expect(s.get('wal_keep_size')).toBe("'512MB'");
      expect(s.has('wal_keep_segments')).toBe(false);
    }
  });

  it('bounds what a slot keeps from 13 (before, the agent does: KPG_SLOT_WAL_KEEP_MB)', () => {
    expect(s.get('max_slot_wal_keep_size')).toBe(n < 1300 ? undefined : "'256MB'");
  });

  it('drops a peer that acknowledges nothing for 10 s (a cut-off standby keeps no walsender)', () => {
    expect(s.get('tcp_user_timeout')).toBe(n < 1200 ? undefined : '10000');
  });

  it('has promote_trigger_file only in 12 to 15', () => {
    expect(s.has('promote_trigger_file')).toBe(n >= 1200 && n < 1600);
    if (s.has('promote_trigger_file'))
      expect(s.get('promote_trigger_file')).toBe("'/tmp/kpg-promote'");
    // Never recovery settings here: start.sh writes them per pod.
    expect(s.has('primary_conninfo')).toBe(false);
    expect(s.has('trigger_file')).toBe(false);
    expect(s.has('standby_mode')).toBe(false);
  });

  it('encrypts passwords with SCRAM from 10 and md5 before', () => {
    // 9.6's password_encryption is a boolean: on means md5.
    expect(s.get('password_encryption')).toBe(n >= 1000 ? 'scram-sha-256' : 'on');
    const hba = pgHbaConf(cluster({ major }));
    const method = n >= 1000 ? 'scram-sha-256' : 'md5';
    expect(hba).toMatch(new RegExp(`^hostssl\\s+all\\s+all\\s+all\\s+${method}$`, 'm'));
    // Replication: only the users start.sh names from the Secret, over TLS.
    expect(hba).toMatch(
      new RegExp(`^hostssl\\s+replication\\s+@/tmp/kpg/replication-user\\s+all\\s+${method}$`, 'm'),
    );
    expect(hba).toMatch(/^local\s+all\s+all\s+trust$/m);
    expect(hba).not.toMatch(/^host.*trust/m);
    // No TCP line without TLS: such a connection matches nothing and is refused.
    expect(hba).not.toMatch(/^host\s/m);
    expect(hba).not.toMatch(/^host\S*\s+replication\s+all\s/m);
  });

  it('serves TLS with the mounted certificate, TLS 1.2 at least from 12', () => {
    expect(s.get('ssl')).toBe('on');
    expect(s.get('ssl_cert_file')).toBe("'/etc/kpg/tls/tls.crt'");
    expect(s.get('ssl_key_file')).toBe("'/tmp/kpg/tls.key'");
    expect(s.get('ssl_min_protocol_version')).toBe(n >= 1200 ? "'TLSv1.2'" : undefined);
  });

  it('with kpg.io/tls: "false", plain TCP lines and ssl off', () => {
    const off = cluster({ major, annotations: { 'kpg.io/tls': 'false' } });
    expect(settings(postgresqlConf(off)).get('ssl')).toBe('off');
    expect(settings(postgresqlConf(off)).has('ssl_cert_file')).toBe(false);
    const hba = pgHbaConf(off);
    expect(hba).not.toMatch(/hostssl/);
    expect(hba).toMatch(/^host\s+all\s+all\s+all\s+/m);
    expect(hba).toMatch(/^host\s+replication\s+@\/tmp\/kpg\/replication-user\s+all\s+/m);
  });

  it('sets synchronous replication with the syntax of this major', () => {
    const sync = settings(postgresqlConf(cluster({ major, streamingMode: 'synchronous' })));
    expect(sync.get('synchronous_commit')).toBe('on');
    expect(sync.get('synchronous_standby_names')).toBe(n >= 1000 ? "'ANY 1 (*)'" : "'*'");
    expect(s.has('synchronous_standby_names')).toBe(false);
  });

  it('includes the custom configuration last', () => {
    const lines = conf.trim().split('\n');
    expect(lines.at(-1)).toBe("include_if_exists '/etc/kpg/custom/user.conf'");
  });
});

describe('postgresql.conf choices', () => {
  it('hot standby on for hot, off for warm', () => {
    expect(settings(postgresqlConf(cluster({ standbyMode: 'hot' }))).get('hot_standby')).toBe('on');
    expect(settings(postgresqlConf(cluster({ standbyMode: 'warm' }))).get('hot_standby')).toBe(
      'off',
    );
  });

  it('does not make commits wait for a standby a single pod cannot have', () => {
    const s = settings(postgresqlConf(cluster({ replicas: 1, streamingMode: 'synchronous' })));
    expect(s.has('synchronous_standby_names')).toBe(false);
  });

  it('keeps WAL senders fixed up to 14 replicas, so scaling does not change the config', () => {
    expect(walSenders(1)).toBe(32);
    expect(walSenders(3)).toBe(32);
    expect(walSenders(14)).toBe(32);
    expect(walSenders(20)).toBe(44);
    expect(settings(postgresqlConf(cluster({ replicas: 9 }))).get('max_wal_senders')).toBe('32');
  });

  it('traits follow the version rules', () => {
    expect(versionTraits('11')).toMatchObject({
      recoveryConf: true,
      promoteTriggerFile: false,
      passfileParam: true,
    });
    expect(versionTraits('9.6')).toMatchObject({
      recoveryConf: true,
      passfileParam: false,
      scram: false,
    });
    expect(versionTraits('16')).toMatchObject({
      recoveryConf: false,
      promoteTriggerFile: false,
      walKeepSize: true,
    });
  });
});

describe('slotWalKeepMb', () => {
  it('is a quarter of the volume, at least 256 MB, 1 GB without a volume', () => {
    const sized = (size: string) => cluster({ storage: { accessModes: ['ReadWriteOnce'], size } });
    expect(slotWalKeepMb(sized('1Gi'))).toBe(256);
    expect(slotWalKeepMb(sized('20Gi'))).toBe(5120);
    expect(slotWalKeepMb(sized('100Mi'))).toBe(256);
    const ephemeral = cluster({ storageType: 'Ephemeral' });
    delete ephemeral.storage;
    expect(slotWalKeepMb(ephemeral)).toBe(1024);
  });
});

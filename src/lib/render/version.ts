import type { PgMajor } from '../manifest/types.js';

/**
 * A PostgreSQL major as a comparable number in PG_VERSION_NUM's style without
 * the minor: "9.6" → 906, "10" → 1000, "15" → 1500.
 */
export function majorNum(major: PgMajor): number {
  const [a = '', b = '0'] = major.split('.');
  const first = Number.parseInt(a, 10);
  const second = Number.parseInt(b, 10);
  if (!Number.isFinite(first) || !Number.isFinite(second)) {
    throw new Error(`not a PostgreSQL major version: ${JSON.stringify(major)}`);
  }
  return first >= 10 ? first * 100 : first * 100 + second;
}

/** What differs between the majors kpg supports, in one place. */
export function versionTraits(major: PgMajor) {
  const n = majorNum(major);
  return {
    num: n,
    /** 9.6 knows neither `ANY n (...)` nor SCRAM, and its password_encryption is a boolean. */
    scram: n >= 1000,
    /** libpq's `passfile` connection parameter exists from 10. */
    passfileParam: n >= 1000,
    /** Below 12 a standby is configured by recovery.conf; from 12 by standby.signal. */
    recoveryConf: n < 1200,
    /** promote_trigger_file exists in 12–15 (before: trigger_file in recovery.conf; removed in 16). */
    promoteTriggerFile: n >= 1200 && n < 1600,
    /** tcp_user_timeout (the server's and libpq's) exists from 12. */
    tcpUserTimeout: n >= 1200,
    /** wal_keep_segments was replaced by wal_keep_size in 13. */
    walKeepSize: n >= 1300,
    /**
     * pg_hba.conf asks for SCRAM wherever it exists: from 10 every password kpg
     * sets is stored as SCRAM (initdb --auth-host, password_encryption). md5
     * before, which would also accept SCRAM secrets.
     */
    hbaScram: n >= 1000,
  };
}

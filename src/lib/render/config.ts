import type { PostgresCluster } from '../manifest/types.js';
import { baseLabels, objectNames } from './labels.js';
import { Paths, PG_PORT } from './paths.js';
import { agentEnabled } from './agent.js';
import { AGENT_SCRIPTS, SCRIPTS, STORAGE_SCRIPTS } from './scripts.js';
import { archiveConfLines, storageEnabled } from './storage.js';
import { slotWalKeepMb } from './slots.js';
import type { KubeObject } from './types.js';
import { TlsPaths, tlsEnabled } from './tls.js';
import { versionTraits } from './version.js';

/** WAL kept for standbys that fall behind: KubeDB's 32 segments of 16 MB. */
const WAL_KEEP_SEGMENTS = 32;
const WAL_KEEP_SIZE = '512MB';
/** Also in start.sh's primary_conninfo: the standby's side of the same connection. */
export const TCP_USER_TIMEOUT_MS = 10_000;

/** WAL senders: one per standby plus two per concurrent base backup (-X stream), with headroom. */
export function walSenders(replicas: number): number {
  // Fixed for every usual size: the setting is in the rendered config, so a
  // value that followed `replicas` would restart the whole cluster on every
  // scale, and lowering it would stop standbys from starting (a standby's
  // max_wal_senders must not be below the primary's).
  return Math.max(32, replicas * 2 + 4);
}

const q = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * postgresql.conf for the cluster's major version. The same file serves the
 * primary and the standbys; what makes a standby (recovery.conf below 12,
 * standby.signal plus primary_conninfo in postgresql.auto.conf from 12) is
 * written into PGDATA by start.sh, because it names the pod.
 */
export function postgresqlConf(c: PostgresCluster): string {
  const v = versionTraits(c.major);
  const senders = walSenders(c.replicas);
  const lines = [
    `# Rendered by kpg for PostgreSQL ${c.major} (cluster ${c.name}). kpg replaces this file on every apply:`,
    `# put your own settings in the ConfigMap named by spec.configSource (key user.conf).`,
    '',
    `listen_addresses = '*'`,
    `port = ${PG_PORT}`,
    `unix_socket_directories = ${q(`${Paths.socketDir},${Paths.tmp}`)}`,
    `hba_file = ${q(Paths.hbaConf)}`,
    `max_connections = 100`,
    v.scram
      ? `password_encryption = scram-sha-256`
      : `password_encryption = on  # md5: before 10 this setting is a boolean`,
    ...tlsLines(c),
    '',
    '# Replication',
    `wal_level = replica`,
    `max_wal_senders = ${senders}`,
    `max_replication_slots = ${senders}`,
    v.walKeepSize
      ? `wal_keep_size = ${q(WAL_KEEP_SIZE)}`
      : `wal_keep_segments = ${WAL_KEEP_SEGMENTS}`,
    ...(v.walKeepSize
      ? [`max_slot_wal_keep_size = '${slotWalKeepMb(c)}MB'  # a standby further behind re-clones`]
      : []),
    // A peer gone without a word (its node lost, cut off) keeps the
    // connection, and a walsender its slot, until TCP gives up: minutes by
    // default, while the slot holds WAL beyond max_slot_wal_keep_size (seen
    // in e2e: the checkpointer waited on a walsender stuck sending to a cut-off standby).
    ...(v.tcpUserTimeout
      ? [
          `tcp_user_timeout = ${TCP_USER_TIMEOUT_MS}  # ms: a peer that acknowledges nothing this long is gone`,
        ]
      : []),
    `wal_log_hints = on  # pg_rewind needs it to turn a failed primary into a standby`,
    `hot_standby = ${c.standbyMode === 'hot' ? 'on' : 'off'}  # standbyMode: ${c.standbyMode}`,
    ...syncLines(c, v.scram),
    ...(v.promoteTriggerFile ? [`promote_trigger_file = ${q(Paths.promoteTrigger)}`] : []),
    '',
    ...archiveConfLines(c),
    '# Logging goes to the container output (kubectl logs)',
    `logging_collector = off`,
    `log_destination = 'stderr'`,
    `log_line_prefix = '%m [%p] %q%u@%d '`,
    '',
    `include_if_exists ${q(Paths.customConf)}`,
    '',
  ];
  return lines.join('\n');
}

/** TLS with the NAME-tls Secret's certificate; TLS 1.2 at least where the setting exists (12). */
function tlsLines(c: PostgresCluster): string[] {
  if (!tlsEnabled(c)) return ['ssl = off  # kpg.io/tls: "false"'];
  return [
    `ssl = on`,
    `ssl_cert_file = ${q(TlsPaths.cert)}`,
    `ssl_key_file = ${q(TlsPaths.key)}`,
    ...(versionTraits(c.major).num >= 1200 ? [`ssl_min_protocol_version = 'TLSv1.2'`] : []),
  ];
}

/**
 * Synchronous streaming: commits wait for any one standby. With a single
 * replica there is no standby to wait for, so every commit would hang; the
 * setting is left out then.
 */
function syncLines(c: PostgresCluster, anySyntax: boolean): string[] {
  if (c.streamingMode !== 'synchronous') return [];
  if (c.replicas < 2) {
    return [
      '# streamingMode synchronous: no standby with replicas: 1, so commits are not made to wait',
    ];
  }
  return [
    `synchronous_commit = on`,
    `synchronous_standby_names = ${q(anySyntax ? 'ANY 1 (*)' : '*')}`,
  ];
}

/**
 * pg_hba.conf: the container's own Unix socket is trusted (probes, kubectl
 * exec, the scripts); every TCP connection, localhost included (kubectl
 * port-forward arrives there), needs TLS (unless the cluster opted out) and a
 * password. Replication connections are admitted only for the replication
 * user, whom start.sh writes into the @file from the Secret. A connection no
 * line matches is refused ("no pg_hba.conf entry ... no encryption").
 */
export function pgHbaConf(c: PostgresCluster): string {
  const method = versionTraits(c.major).hbaScram ? 'scram-sha-256' : 'md5';
  const type = tlsEnabled(c) ? 'hostssl' : 'host   ';
  const replUsers = `@${Paths.replicationUsers}`;
  return [
    `# Rendered by kpg for PostgreSQL ${c.major} (cluster ${c.name}).`,
    '# TYPE  DATABASE     USER  ADDRESS  METHOD',
    'local   all          all            trust',
    'local   replication  all            trust',
    `${type} all          all   all      ${method}`,
    `${type} replication  ${replUsers}  all  ${method}`,
    '',
  ].join('\n');
}

/** ConfigMap NAME-config: postgresql.conf, pg_hba.conf and the container's scripts. */
export function renderConfigMap(c: PostgresCluster, namespace: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: objectNames(c.name).config, namespace, labels: baseLabels(c) },
    data: {
      'postgresql.conf': postgresqlConf(c),
      'pg_hba.conf': pgHbaConf(c),
      ...SCRIPTS,
      // agent-start.sh (the container's command then) and the self-fence it runs beside postgres.
      ...(agentEnabled(c) ? AGENT_SCRIPTS : {}),
      ...(storageEnabled(c) ? STORAGE_SCRIPTS : {}),
    },
  };
}

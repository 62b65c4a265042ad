/** Paths inside the postgres container. The scripts (scripts/*.sh) use the same ones. */
export const Paths = {
  dataMount: '/var/lib/postgresql/data',
  pgdata: '/var/lib/postgresql/data/pgdata',
  configDir: '/etc/kpg/config',
  postgresqlConf: '/etc/kpg/config/postgresql.conf',
  hbaConf: '/etc/kpg/config/pg_hba.conf',
  customDir: '/etc/kpg/custom',
  /** KubeDB's custom-config ConfigMap holds its settings under the key `user.conf`. */
  customConf: '/etc/kpg/custom/user.conf',
  scriptsDir: '/scripts',
  initScriptsDir: '/docker-entrypoint-initdb.d',
  socketDir: '/var/run/postgresql',
  tmp: '/tmp',
  /** The replication user's name, written by start.sh from the Secret; pg_hba.conf names it with @. */
  replicationUsers: '/tmp/kpg/replication-user',
  /** Touching it promotes a standby below 16 (trigger_file / promote_trigger_file). */
  promoteTrigger: '/tmp/kpg-promote',
} as const;

export const PG_PORT = 5432;

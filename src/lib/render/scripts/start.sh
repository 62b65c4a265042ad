#!/usr/bin/env bash
# start.sh: the postgres container's command, rendered by kpg.
#
# Reads the cluster's record (ConfigMap $KPG_CLUSTER-kpg) to learn which pod
# is the primary, prepares PGDATA for this pod's role, labels the pod
# (kubedb.com/role) and execs postgres, so the postmaster gets the signals.
#
#   primary: initdb on empty PGDATA (replication role, init scripts once).
#   standby: base backup on empty PGDATA, pg_rewind for a former primary,
#            then recovery.conf (< 12) or standby.signal (>= 12).
#
# Safety first: existing data is never started as primary unless the record
# names this pod, the script never promotes (kpg's failover does), and no
# data is ever deleted (a failed rewind moves the old data aside).
#
# Passwords come from the environment (secretKeyRef) and go only into a 0600
# passfile under /tmp (the pod's own emptyDir): never into a command line,
# a log line or a config file.
set -euo pipefail

# Until it execs postgres this script is its container's PID 1, and PID 1 gets
# no default action for SIGTERM: without a handler, a pod deleted while this
# waits (for the record, for the primary) would sit out its grace period.
trap 'echo "kpg: stopping: SIGTERM before postgres started" >&2; exit 143' TERM INT

: "${POD_NAME:?}" "${POD_NAMESPACE:?}" "${KPG_CLUSTER:?}" "${PGDATA:?}" "${POSTGRES_PASSWORD:?}"

KPG_SCRIPTS=${KPG_SCRIPTS:-/scripts}
KPG_CONFIG=${KPG_CONFIG:-/etc/kpg/config/postgresql.conf}
KPG_INITDB_D=${KPG_INITDB_D:-/docker-entrypoint-initdb.d}
KPG_TMP=${KPG_TMP:-/tmp/kpg}
KPG_STATE=${KPG_STATE:-/tmp/kpg-state}
KPG_TRIGGER=${KPG_TRIGGER:-/tmp/kpg-promote}
KPG_RECORD_TIMEOUT=${KPG_RECORD_TIMEOUT:-60}
PRIMARY_HOST=$KPG_CLUSTER
PG_PORT=5432
SUPERUSER=${POSTGRES_USER:-postgres}
REPL_USER=${REPLICATION_USER:-}
REPL_PASSWORD=${REPLICATION_PASSWORD:-}
PASSFILE=$KPG_TMP/pgpass
# The mounted NAME-tls Secret (tls.crt, tls.key, ca.crt); empty when the cluster runs without TLS.
KPG_TLS_DIR=${KPG_TLS_DIR:-}
# Appended to every conninfo for another pod: TLS, and the server's name checked against the cluster's CA.
TLS_CONNINFO=''

# shellcheck source=kube.sh
source "$KPG_SCRIPTS/kube.sh"

# `env` arguments that start postgres without the passwords: every backend
# inherits the postmaster's environment, which a superuser can read
# (pg_read_file('/proc/self/environ')); libpq, the walreceiver's included,
# reads the passfile instead.
NO_SECRETS=(-u POSTGRES_PASSWORD -u REPLICATION_PASSWORD)

log() { printf 'kpg: %s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
loud() { log "!!! $*"; }
die() { loud "$*"; exit 1; }
set_state() { printf '%s\n' "$1" >"$KPG_STATE"; }

# pg_num MAJOR: "9.6" -> 906, "15" -> 1500.
pg_num() {
  local v=$1
  if [[ $v == *.* ]]; then echo $((${v%%.*} * 100 + ${v#*.})); else echo $((v * 100)); fi
}

detect_major() {
  local m=${KPG_PG_MAJOR:-${PG_MAJOR:-}}
  if [[ -z $m ]]; then
    m=$(postgres --version | sed -n 's/^[^0-9]*\([0-9][0-9]*\)\(\.[0-9]*\)\{0,1\}.*/\1\2/p')
    [[ ${m%%.*} -ge 10 ]] && m=${m%%.*}
  fi
  printf '%s\n' "$m"
}

# pgpass_field VALUE: escapes \ and : for a .pgpass line.
pgpass_field() {
  local s=${1//\\/\\\\}
  printf '%s' "${s//:/\\:}"
}

# conf_quote VALUE: a postgresql.conf string literal.
conf_quote() { printf "'%s'" "${1//\'/\'\'}"; }

# conninfo_value VALUE: a libpq keyword value, quoted when it needs to be.
conninfo_value() {
  if [[ $1 =~ ^[A-Za-z0-9_.@/-]+$ ]]; then
    printf '%s' "$1"
  else
    local s=${1//\\/\\\\}
    printf "'%s'" "${s//\'/\\\'}"
  fi
}

setup_tmp() {
  umask 077
  mkdir -p "$KPG_TMP"
  chmod 700 "$KPG_TMP"
  # A trigger file left from an earlier run of this pod must not promote it now.
  rm -f "$KPG_TRIGGER"
  if [[ -z $REPL_USER || -z $REPL_PASSWORD ]]; then
    log "the Secret has no replication user: standbys replicate as $SUPERUSER"
    REPL_USER=$SUPERUSER
    REPL_PASSWORD=$POSTGRES_PASSWORD
  fi
  {
    printf '*:*:*:%s:%s\n' "$(pgpass_field "$SUPERUSER")" "$(pgpass_field "$POSTGRES_PASSWORD")"
    if [[ $REPL_USER != "$SUPERUSER" ]]; then
      printf '*:*:*:%s:%s\n' "$(pgpass_field "$REPL_USER")" "$(pgpass_field "$REPL_PASSWORD")"
    fi
  } >"$PASSFILE"
  chmod 600 "$PASSFILE"
  setup_tls
  # pg_hba.conf admits replication connections only for the users this file
  # names (@file): the replication user is known here, from the Secret, not
  # when kpg renders the file.
  if [[ $REPL_USER == *[\"[:space:],]* ]]; then
    die "the replication user name in the Secret holds a quote, a comma or a space: pg_hba.conf cannot name it"
  fi
  printf '"%s"\n' "$REPL_USER" >"$KPG_TMP/replication-user"
  chmod 644 "$KPG_TMP/replication-user"
  # Every libpq client started from here on (pg_basebackup, pg_rewind, psql,
  # and the postmaster's walreceiver, which inherits the environment) uses it.
  export PGPASSFILE=$PASSFILE
  mkdir -p /var/run/postgresql 2>/dev/null || true
}

# setup_tls: PostgreSQL refuses a key file that anyone but its owner can
# read, and a Secret volume's files belong to root: the key is copied into
# the pod's private /tmp (postgresql.conf's ssl_key_file names the copy).
setup_tls() {
  [[ -n $KPG_TLS_DIR ]] || return 0
  if [[ ! -r $KPG_TLS_DIR/tls.key || ! -r $KPG_TLS_DIR/tls.crt || ! -r $KPG_TLS_DIR/ca.crt ]]; then
    die "TLS is on but $KPG_TLS_DIR lacks tls.crt, tls.key or ca.crt: is the Secret $KPG_CLUSTER-tls complete?"
  fi
  # cp gives the copy the Secret file's mode (read-only): a run killed before
  # the chmod leaves it so, and the next cp could not open it for writing.
  rm -f "$KPG_TMP/tls.key.new"
  cp "$KPG_TLS_DIR/tls.key" "$KPG_TMP/tls.key.new"
  chmod 600 "$KPG_TMP/tls.key.new"
  mv -f "$KPG_TMP/tls.key.new" "$KPG_TMP/tls.key"
  TLS_CONNINFO=" sslmode=verify-full sslrootcert=$KPG_TLS_DIR/ca.crt"
}

# superuser_conninfo: libpq's conninfo for the primary, as the superuser.
superuser_conninfo() {
  printf 'host=%s port=%s user=%s dbname=postgres%s' "$PRIMARY_HOST" "$PG_PORT" "$(conninfo_value "$SUPERUSER")" "$TLS_CONNINFO"
}

# data_state: empty | standby | primary (what PGDATA holds).
data_state() {
  if [[ ! -s $PGDATA/PG_VERSION ]]; then
    echo empty
  elif [[ -f $PGDATA/standby.signal || -f $PGDATA/recovery.conf ]]; then
    echo standby
  else
    echo primary
  fi
}

# Sets RECORD (found | absent | unknown), RECORD_PRIMARY and RECORD_BOOTSTRAPPED
# (the system identifier the cluster was bootstrapped with, or empty).
read_record() {
  local deadline=$((SECONDS + KPG_RECORD_TIMEOUT)) json out rc
  RECORD=unknown RECORD_PRIMARY='' RECORD_BOOTSTRAPPED=''
  while :; do
    rc=0
    json=$(record_get) && out=$(record_primary "$json") || rc=$?
    case $rc in
      0)
        RECORD=found RECORD_PRIMARY=$out
        RECORD_BOOTSTRAPPED=$(record_field bootstrapped "$json")
        return 0 ;;
      4) RECORD=absent; return 0 ;;
    esac
    if ((SECONDS >= deadline)); then return 0; fi
    log "cannot read the cluster record $KPG_CLUSTER-kpg yet (status $rc); retrying"
    sleep 3
  done
}

# The record names this pod primary, but PGDATA is empty and the cluster was
# bootstrapped: an initdb would put a new, empty database behind the primary
# Service (the standbys hold the data and could no longer stream). Wait, and
# say so, until the record names another primary (kpg failover promotes a
# standby); this pod then copies the data from it.
await_other_primary() {
  local waited=0
  while [[ $RECORD == found && $RECORD_PRIMARY == "$POD_NAME" ]] || [[ $RECORD != found ]]; do
    if ((waited % 60 == 0)); then
      loud "PGDATA is empty, but the cluster was bootstrapped (system identifier $RECORD_BOOTSTRAPPED): this pod will not initdb over the cluster's data; waiting for a standby to be promoted (kpg failover $KPG_CLUSTER -n $POD_NAMESPACE), then it copies the data from the new primary"
    fi
    set_state waiting
    sleep 5
    waited=$((waited + 5))
    read_record
  done
  log "the record names $RECORD_PRIMARY primary: copying the data from it"
}

# decide_role STATE: prints primary | standby, or fails when unsafe to guess.
decide_role() {
  local state=$1 ordinal=${POD_NAME##*-}
  case $RECORD in
    found)
      if [[ $RECORD_PRIMARY == "$POD_NAME" ]]; then echo primary; else echo standby; fi ;;
    absent)
      if [[ $state == empty && $ordinal == 0 ]]; then
        echo primary
      else
        [[ $state == primary ]] && loud "the cluster record is missing: this pod's data is a former primary, starting it as a standby"
        echo standby
      fi ;;
    *)
      if [[ $state == empty ]]; then
        loud "cannot read the cluster record $KPG_CLUSTER-kpg (see above) and PGDATA is empty: not guessing a role"
        return 1
      fi
      loud "cannot read the cluster record $KPG_CLUSTER-kpg (see above): starting the existing data as a standby"
      echo standby ;;
  esac
}

# note_bootstrapped: the record learns this new database's system identifier.
# Best effort: a Role from before kpg wrote it may not patch the record (then
# `kpg apply` renders the one that may).
note_bootstrapped() {
  local id
  id=$(LC_ALL=C pg_controldata "$PGDATA" | sed -n 's/^Database system identifier: *//p')
  if [[ $id =~ ^[0-9]+$ ]] && record_bootstrapped "$id"; then
    log "record: bootstrapped with system identifier $id (no pod initdb's an empty PGDATA from now on)"
  else
    loud "could not write the system identifier into the record $KPG_CLUSTER-kpg: an empty PGDATA here would still be initdb'ed"
  fi
}

label_role() {
  local role=$1 i
  for i in $(seq 1 20); do
    if label_self "$role"; then
      log "labelled this pod kubedb.com/role=$role"
      return 0
    fi
    sleep 3
  done
  die "cannot label this pod kubedb.com/role=$role"
}

# --------------------------------------------------------------- primary

bootstrap_primary() {
  local stage=$PGDATA.initdb
  if [[ -e $stage ]]; then
    log "removing $stage: an unfinished bootstrap that never served clients"
    rm -rf "$stage"
  fi
  set_state initdb
  local pwfile=$KPG_TMP/pwfile auth=md5
  ((PGNUM >= 1000)) && auth=scram-sha-256
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  log "initdb: new cluster in $PGDATA (superuser $SUPERUSER, data checksums)"
  initdb -D "$stage" -U "$SUPERUSER" --pwfile="$pwfile" --auth-local=trust --auth-host="$auth" \
    -E UTF8 --data-checksums >/dev/null
  rm -f "$pwfile"

  # A private server (Unix socket in $KPG_TMP only, no synchronous standby to
  # wait for) for the replication role and the init scripts.
  # shellcheck disable=SC2064  # the stage's path now: it is local to this function
  trap "pg_ctl -D '$stage' -m immediate stop >/dev/null 2>&1 || true" EXIT
  log "starting a private server for the initial setup"
  # Its log to a file, shown if it fails: a bad setting (user.conf) is named there.
  if ! pg_ctl -D "$stage" -w -t 120 -l "$KPG_TMP/initial-setup.log" -o "-c config_file=$KPG_CONFIG -c listen_addresses='' -c unix_socket_directories=$KPG_TMP -c synchronous_standby_names=''" start >/dev/null; then
    tail -n 20 "$KPG_TMP/initial-setup.log" >&2 2>/dev/null || true
    die "the server for the initial setup did not start: its log is above"
  fi
  export PGHOST=$KPG_TMP PGPORT=$PG_PORT PGUSER=$SUPERUSER PGDATABASE=postgres
  create_replication_role
  create_database
  run_init_scripts
  pg_ctl -D "$stage" -m fast -w -t 120 stop >/dev/null
  trap - EXIT
  unset PGHOST PGPORT PGUSER PGDATABASE
  rmdir "$PGDATA" 2>/dev/null || true
  mv "$stage" "$PGDATA"
  log "initdb: done"
}

# --------------------------------------------------------------- restore

# restore_primary: instead of an initdb, the newest base backup that ended
# before the target and the archived WAL after it (spec.init.postgresWAL),
# fetched by the storage sidecar. A private server replays the WAL up to the
# target and starts the cluster's own timeline; only then does PGDATA exist.
# A target the archive does not reach is refused, never promoted short of it.
restore_primary() {
  local stage=$PGDATA.restore
  if [[ -e $stage ]]; then
    log "removing $stage: an unfinished restore that never served clients"
    rm -rf "$stage"
  fi
  set_state restoring
  # shellcheck source=wal.sh
  source "$KPG_SCRIPTS/wal.sh"
  local epoch='' target='the end of the archive' info rc=0
  if [[ -n ${KPG_RESTORE_TIME:-} ]]; then
    epoch=$(date -u -d "$KPG_RESTORE_TIME" +%s) || die "restore refused: cannot read the target time $KPG_RESTORE_TIME"
    target="time $KPG_RESTORE_TIME"
  elif [[ -n ${KPG_RESTORE_XID:-} ]]; then
    target="transaction $KPG_RESTORE_XID"
  fi
  log "restore: fetching the base backup for $target"
  info=$(spool_request base "$(printf 'dest=%s\ntime_epoch=%s\nxid=%s' "$stage" "$epoch" "${KPG_RESTORE_XID:-}")" 3600) || rc=$?
  ((rc == 0)) || die "restore refused: $info"
  log "restore: base backup $(sed -n 's/^id=//p' <<<"$info" | head -n 1), ended $(sed -n 's/^stop_time=//p' <<<"$info" | head -n 1)"
  chmod 0700 "$stage"
  write_recovery_config "$stage"
  replay_archive "$stage" "$target"
  mv "$stage" "$PGDATA"
  log "restore: done"
}

# write_recovery_config DIR: replay from the archive up to the target, then promote.
write_recovery_config() {
  local dir=$1 settings
  settings=$(
    echo "restore_command = $(conf_quote "bash $KPG_SCRIPTS/wal.sh fetch \"%f\" \"%p\"")"
    echo "recovery_target_timeline = $(conf_quote "${KPG_RESTORE_TIMELINE:-latest}")"
    [[ -z ${KPG_RESTORE_TIME:-} ]] || echo "recovery_target_time = $(conf_quote "$KPG_RESTORE_TIME")"
    [[ -z ${KPG_RESTORE_XID:-} ]] || echo "recovery_target_xid = $(conf_quote "$KPG_RESTORE_XID")"
    [[ -z ${KPG_RESTORE_TIME:-}${KPG_RESTORE_XID:-} ]] || echo "recovery_target_inclusive = ${KPG_RESTORE_INCLUSIVE:-on}"
    echo "recovery_target_action = 'promote'"
  )
  # A backup taken from a standby holds its standby.signal: this server must
  # end its recovery at the target, not follow a primary.
  rm -f "$dir/standby.signal"
  if ((PGNUM < 1200)); then
    printf '# Written by kpg for a restore.\n%s\n' "$settings" >"$dir/recovery.conf"
  else
    strip_recovery_settings "$dir"
    printf '%s\n' "$settings" >>"$dir/postgresql.auto.conf"
    : >"$dir/recovery.signal"
  fi
}

# strip_recovery_settings DIR: the restore's settings out of postgresql.auto.conf
# (a standby cloned later copies that file, and must not stop at the target).
strip_recovery_settings() {
  local auto=$1/postgresql.auto.conf
  [[ -f $auto ]] || return 0
  sed -i -E '/^[[:space:]]*(restore_command|recovery_target[a-z_]*|primary_conninfo|primary_slot_name)[[:space:]]*=/d' "$auto"
}

# replay_archive DIR TARGET: a private server (Unix socket in $KPG_TMP only)
# replays until it promotes; then passwords from this cluster's Secret.
replay_archive() {
  local dir=$1 target=$2 pid log=$KPG_TMP/restore.log
  log "restore: replaying the archive up to $target"
  env "${NO_SECRETS[@]}" postgres -D "$dir" -c config_file="$KPG_CONFIG" -c listen_addresses='' \
    -c unix_socket_directories="$KPG_TMP" -c hot_standby=on -c synchronous_standby_names='' \
    > >(tee "$log" >&2) 2>&1 &
  pid=$!
  # shellcheck disable=SC2064  # the pid now
  trap "kill -INT $pid 2>/dev/null || true" EXIT
  until [[ $(psql -X -h "$KPG_TMP" -p "$PG_PORT" -U "$SUPERUSER" -d postgres -Atc 'select pg_is_in_recovery()' 2>/dev/null) == f ]]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      trap - EXIT
      die "restore refused: recovery stopped before it reached $target: $(grep -E 'FATAL|PANIC' "$log" | tail -n 1)"
    fi
    sleep 1
  done
  if [[ $target != 'the end of the archive' ]] && ! grep -q 'recovery stopping' "$log"; then
    kill -INT "$pid"
    wait "$pid" || true
    trap - EXIT
    die "restore refused: the archive ends before $target (recovery replayed all of it without reaching the target)"
  fi
  log "restore: $(grep -E 'recovery stopping|archive recovery complete|selected new timeline' "$log" | tail -n 2 | tr '\n' ' ')"
  export PGHOST=$KPG_TMP PGPORT=$PG_PORT PGUSER=$SUPERUSER PGDATABASE=postgres
  set_restored_passwords
  psql -X -q -c CHECKPOINT
  unset PGHOST PGPORT PGUSER PGDATABASE
  kill -INT "$pid"
  wait "$pid" || true
  trap - EXIT
  ((PGNUM < 1200)) || strip_recovery_settings "$dir"
}

# The restored roles keep the old cluster's passwords: this cluster's Secret decides.
set_restored_passwords() {
  log "restore: setting the passwords of $SUPERUSER and $REPL_USER from this cluster's Secret"
  KPG_SU=$SUPERUSER KPG_SP=$POSTGRES_PASSWORD KPG_RU=$REPL_USER KPG_RP=$REPL_PASSWORD psql -X -q -v ON_ERROR_STOP=1 <<'EOSQL'
SET log_statement = 'none';
SET log_min_error_statement = 'panic';
\set su `printf '%s' "$KPG_SU"`
\set sp `printf '%s' "$KPG_SP"`
\set ru `printf '%s' "$KPG_RU"`
\set rp `printf '%s' "$KPG_RP"`
ALTER ROLE :"su" WITH PASSWORD :'sp';
SELECT format('CREATE ROLE %I WITH LOGIN REPLICATION', :'ru') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'ru') \gexec
ALTER ROLE :"ru" WITH LOGIN REPLICATION PASSWORD :'rp';
EOSQL
}

# new_primary_data: the first primary's data, on an empty PGDATA only: an
# initdb, or a restore from the archive spec.init.postgresWAL names.
new_primary_data() {
  if [[ -n ${KPG_RESTORE:-} ]]; then restore_primary; else bootstrap_primary; fi
}

# psql without echo of the statements: the password is read by psql itself
# from the environment (backquote), and the session neither logs statements
# nor the statement of an error.
create_replication_role() {
  [[ $REPL_USER == "$SUPERUSER" ]] && return 0
  log "creating the replication role $REPL_USER"
  KPG_RU=$REPL_USER KPG_RP=$REPL_PASSWORD psql -X -q -v ON_ERROR_STOP=1 <<'EOSQL'
SET log_statement = 'none';
SET log_min_error_statement = 'panic';
\set ru `printf '%s' "$KPG_RU"`
\set rp `printf '%s' "$KPG_RP"`
CREATE ROLE :"ru" WITH LOGIN REPLICATION PASSWORD :'rp';
EOSQL
}

# POSTGRES_DB (podTemplate env), as in the official image: created at bootstrap.
create_database() {
  local db=${POSTGRES_DB:-}
  [[ -z $db || $db == postgres ]] && return 0
  log "creating database $db"
  KPG_DB=$db psql -X -q -v ON_ERROR_STOP=1 <<'EOSQL'
\set db `printf '%s' "$KPG_DB"`
CREATE DATABASE :"db";
EOSQL
  export PGDATABASE=$db
}

run_init_scripts() {
  local f
  [[ -d $KPG_INITDB_D ]] || return 0
  for f in "$KPG_INITDB_D"/*; do
    [[ -f $f ]] || continue
    case $f in
      *.sql) log "init script $f"; psql -X -q -v ON_ERROR_STOP=1 -f "$f" ;;
      *.sql.gz) log "init script $f"; gunzip -c "$f" | psql -X -q -v ON_ERROR_STOP=1 ;;
      *.sh) log "init script $f"; bash "$f" ;;
      *) log "init script $f: ignored (not .sh, .sql or .sql.gz)" ;;
    esac
  done
}

# --------------------------------------------------------------- standby

wait_for_primary() {
  local waited=0
  until pg_isready -q -h "$PRIMARY_HOST" -p "$PG_PORT" -t 3; do
    if ((waited % 30 == 0)); then log "waiting for the primary (Service $PRIMARY_HOST) to accept connections"; fi
    sleep 3
    waited=$((waited + 3))
  done
  log "the primary (Service $PRIMARY_HOST) accepts connections"
}

base_backup() {
  local stage=$PGDATA.basebackup
  if [[ -e $stage ]]; then
    log "removing $stage: an unfinished base backup"
    rm -rf "$stage"
  fi
  set_state basebackup
  log "base backup from $PRIMARY_HOST as $REPL_USER"
  pg_basebackup -d "host=$PRIMARY_HOST port=$PG_PORT user=$(conninfo_value "$REPL_USER")$TLS_CONNINFO" \
    -D "$stage" -X stream -c fast -w
  if [[ -n ${BASE_BACKUP_ASIDE:-} ]]; then
    # A re-clone: the old data goes aside only now that the copy is complete.
    mv "$PGDATA" "$BASE_BACKUP_ASIDE"
    loud "the old data is kept at $BASE_BACKUP_ASIDE: delete it when you no longer need it"
  else
    rmdir "$PGDATA" 2>/dev/null || true
  fi
  mv "$stage" "$PGDATA"
  chmod 700 "$PGDATA"
  log "base backup: done"
}

# pg_rewind needs a target that was shut down cleanly (it does this itself only from 13).
ensure_clean_shutdown() {
  local st
  st=$(LC_ALL=C pg_controldata "$PGDATA" | sed -n 's/^Database cluster state: *//p')
  case $st in
    "shut down" | "shut down in recovery") return 0 ;;
  esac
  set_state recovering
  log "PGDATA was not shut down cleanly ($st): crash recovery in single-user mode"
  postgres --single -D "$PGDATA" -c config_file="$KPG_CONFIG" -c synchronous_standby_names='' postgres </dev/null >/dev/null
}

# pg_rewind reads the source's timeline from its control file, which a fresh
# promotion updates only at its first checkpoint: just after a failover it
# may find "no rewind required" for a former primary that diverged, which
# then never streams. Patroni checkpoints the new primary first, as here.
checkpoint_source() {
  if ! psql "$(superuser_conninfo) connect_timeout=5" \
    -XAtqc CHECKPOINT >/dev/null; then
    loud "CHECKPOINT on $PRIMARY_HOST failed: pg_rewind may not see a timeline it promoted just now"
  fi
}

# keep_diverged_wal SOURCE: a former primary whose WAL goes on past the point
# where the new primary's timeline forked holds commits the new primary never
# had (a failover that could not copy them: --force, or an agent's failover
# in asynchronous mode). pg_rewind would recycle those segments; a copy of
# them is kept beside PGDATA first (kpg describe lists it), never deleted by
# kpg. A dry run of pg_rewind names the fork point.
keep_diverged_wal() {
  local source=$1 out lsn tli hi lo seg segsize per first aside f n=0 need avail
  out=$(pg_rewind --dry-run --target-pgdata="$PGDATA" --source-server="$source" 2>&1) || true
  # "location" from PostgreSQL 10 on, "position" before.
  [[ $out =~ diverged\ at\ WAL\ (location|position)\ ([0-9A-F]+)/([0-9A-F]+)\ on\ timeline\ ([0-9]+) ]] || return 0
  hi=${BASH_REMATCH[2]} lo=${BASH_REMATCH[3]} tli=${BASH_REMATCH[4]}
  lsn=$hi/$lo
  [[ $out != *"no rewind required"* ]] || return 0
  local waldir=$PGDATA/pg_wal dump=pg_waldump commits
  [[ -d $waldir ]] || waldir=$PGDATA/pg_xlog
  command -v pg_waldump >/dev/null 2>&1 || dump=pg_xlogdump
  # Commits, not just any record: crash recovery's own checkpoint also lies
  # past the fork, and holds nothing of anyone's.
  commits=$("$dump" -p "$waldir" -t "$tli" -s "$lsn" 2>/dev/null | grep -c 'desc: COMMIT') || true
  if ((commits == 0)); then
    log "pg_rewind: nothing committed on timeline $tli after $lsn is left out of the new primary"
    return 0
  fi
  segsize=$(LC_ALL=C pg_controldata "$PGDATA" | sed -n 's/^Bytes per WAL segment: *//p')
  segsize=${segsize:-16777216}
  per=$((0x100000000 / segsize))
  seg=$(((16#$hi * 0x100000000 + 16#$lo) / segsize))
  first=$(printf '%08X%08X%08X' "$tli" $((seg / per)) $((seg % per)))
  local -a keep=()
  for f in "$waldir/$(printf '%08X' "$tli")"*; do
    f=${f##*/}
    [[ $f =~ ^[0-9A-F]{24}$ && ! $f < $first ]] && keep+=("$f")
  done
  ((${#keep[@]})) || return 0
  need=$((${#keep[@]} * segsize / 1024))
  avail=$(df -Pk "$(dirname "$PGDATA")" | tail -n 1 | tr -s ' ' | cut -d' ' -f4)
  if ((avail < need + 65536)); then
    loud "this former primary's WAL after $lsn (timeline $tli) holds commits the new primary lacks, but the volume has no room to keep a copy (need ${need} KiB): pg_rewind recycles it"
    return 0
  fi
  aside=$PGDATA.unsent-wal-$(date -u +%Y%m%dT%H%M%SZ)
  mkdir -p "$aside"
  for f in "${keep[@]}"; do cp -p "$waldir/$f" "$aside/" && n=$((n + 1)); done
  printf 'timeline %s diverged at %s: WAL of %s, with %s commit(s), the new primary (%s) never had\n' "$tli" "$lsn" "$POD_NAME" "$commits" "$PRIMARY_HOST" >"$aside/DIVERGED"
  loud "kept $n WAL segment(s) after $lsn on timeline $tli, which the new primary never had, in $aside ($commits commit(s) there are not in the cluster; pg_waldump reads them; delete the directory when done)"
}

rewind_or_rebuild() {
  ensure_clean_shutdown
  set_state rewind
  checkpoint_source
  local source
  source=$(superuser_conninfo)
  keep_diverged_wal "$source"
  log "pg_rewind: turning this former primary into a standby of $PRIMARY_HOST"
  if pg_rewind --target-pgdata="$PGDATA" --source-server="$source"; then
    log "pg_rewind: done"
    return 0
  fi
  move_aside_and_rebuild
}

# room_for_copy: the volume can hold a second copy of PGDATA beside it;
# otherwise says how much is needed, on stdout.
room_for_copy() {
  local need avail
  need=$(du -sk "$PGDATA" | cut -f1)
  avail=$(df -Pk "$(dirname "$PGDATA")" | tail -n 1 | tr -s ' ' | cut -d' ' -f4)
  ((avail >= need + need / 10 + 65536)) && return 0
  echo "need about ${need} KiB, ${avail} KiB free"
  return 1
}

# reclone_standby: the primary gave up the WAL this standby needs (its slot
# was lost), so it can never stream again. A base backup is taken beside the
# old data, which is moved aside (never deleted) only once the copy is complete.
reclone_standby() {
  local short
  if ! short=$(room_for_copy); then
    loud "cannot re-clone: no room for a fresh copy beside the old data ($short); starting it as it is"
    return 0
  fi
  loud "re-cloning: the primary no longer has the WAL this standby needs"
  BASE_BACKUP_ASIDE=$PGDATA.before-reclone-$(date -u +%Y%m%dT%H%M%SZ) base_backup
}

move_aside_and_rebuild() {
  local aside short
  aside=$PGDATA.failed-$(date -u +%Y%m%dT%H%M%SZ)
  if ! short=$(room_for_copy); then
    die "pg_rewind failed and there is no room to keep the old data beside a new copy ($short): nothing was changed; free space or move $PGDATA away by hand"
  fi
  loud "pg_rewind failed: moving the old data aside to $aside (kept: delete it when you no longer need it) and taking a fresh base backup"
  mv "$PGDATA" "$aside"
  base_backup
}

# A standby that replayed WAL the new primary never had (it was ahead when a
# failover picked another pod) cannot follow the new timeline. When it was
# shut down cleanly and the primary answers soon, pg_rewind fixes that; it is
# a quick no-op when nothing diverged. Otherwise the standby starts as it is.
maybe_rewind_standby() {
  local st i
  st=$(LC_ALL=C pg_controldata "$PGDATA" | sed -n 's/^Database cluster state: *//p')
  [[ $st == "shut down in recovery" ]] || return 0
  for i in 1 2 3 4 5; do
    pg_isready -q -h "$PRIMARY_HOST" -p "$PG_PORT" -t 3 && break
    [[ $i == 5 ]] && return 0
    sleep 2
  done
  set_state rewind
  checkpoint_source
  log "pg_rewind: checking this standby against $PRIMARY_HOST"
  if ! pg_rewind --target-pgdata="$PGDATA" \
    --source-server="$(superuser_conninfo)"; then
    loud "pg_rewind failed for this standby: starting it as it is"
  fi
}

write_standby_config() {
  local conninfo
  local slot=''
  conninfo="host=$PRIMARY_HOST port=$PG_PORT user=$(conninfo_value "$REPL_USER") application_name=$POD_NAME$TLS_CONNINFO"
  ((PGNUM >= 1000)) && conninfo+=" passfile=$PASSFILE"
  # A primary that vanished (its node lost) is noticed in 10 s, not when TCP gives up (postgresql.conf has the same).
  ((PGNUM >= 1200)) && conninfo+=" tcp_user_timeout=10000"
  # With the agent, each standby streams through the slot its primary's agent
  # keeps for it (src/lib/ha/slots.ts: kpg_ and the pod name, [a-z0-9_]).
  if [[ ${KPG_SLOTS:-} == 1 ]]; then
    slot=${POD_NAME,,}
    slot=kpg_${slot//[^a-z0-9_]/_}
    slot=${slot:0:63}
  fi
  if ((PGNUM < 1200)); then
    {
      echo "# Written by kpg's start.sh at every start of a standby."
      echo "standby_mode = 'on'"
      echo "primary_conninfo = $(conf_quote "$conninfo")"
      echo "recovery_target_timeline = 'latest'"
      echo "trigger_file = $(conf_quote "$KPG_TRIGGER")"
      [[ -z $slot ]] || echo "primary_slot_name = $(conf_quote "$slot")"
    } >"$PGDATA/recovery.conf"
    log "standby: wrote recovery.conf (primary $PRIMARY_HOST)"
  else
    local auto=$PGDATA/postgresql.auto.conf
    [[ -f $auto ]] || printf '# Do not edit this file manually!\n# It will be overwritten by the ALTER SYSTEM command.\n' >"$auto"
    sed -i -E '/^[[:space:]]*(primary_conninfo|primary_slot_name|recovery_target_timeline)[[:space:]]*=/d' "$auto"
    {
      echo "primary_conninfo = $(conf_quote "$conninfo")"
      echo "recovery_target_timeline = 'latest'"
      [[ -z $slot ]] || echo "primary_slot_name = $(conf_quote "$slot")"
    } >>"$auto"
    : >"$PGDATA/standby.signal"
    log "standby: wrote standby.signal and primary_conninfo (primary $PRIMARY_HOST)"
  fi
}

# --------------------------------------------------------------- main

# The socket lock files of a postmaster that was killed stay in a socket
# directory that outlives the container (a volume shared with the agent). A
# restarted container numbers its processes afresh, so the pid in such a file
# may belong to one of ours, and postgres would refuse to start ("lock file
# already exists"). Only this container runs a postmaster in the pod, and
# none runs now.
clear_stale_sockets() {
  local d
  for d in /var/run/postgresql /tmp; do
    rm -f "$d/.s.PGSQL.$PG_PORT" "$d/.s.PGSQL.$PG_PORT.lock"
  done
}

start_postgres() {
  set_state running
  log "starting postgres $PG_MAJOR_DETECTED as $1"
  clear_stale_sockets
  exec env "${NO_SECRETS[@]}" postgres -D "$PGDATA" -c config_file="$KPG_CONFIG"
}

main() {
  set_state preparing
  PG_MAJOR_DETECTED=$(detect_major)
  PGNUM=$(pg_num "$PG_MAJOR_DETECTED")
  log "pod $POD_NAME of cluster $KPG_CLUSTER, PostgreSQL $PG_MAJOR_DETECTED"
  setup_tmp
  local state role
  state=$(data_state)
  if [[ $state == empty && -d $PGDATA && -n $(ls -A "$PGDATA") ]]; then
    local aside
    aside=$PGDATA.invalid-$(date -u +%Y%m%dT%H%M%SZ)
    loud "$PGDATA holds files but no database: moving them aside to $aside"
    mv "$PGDATA" "$aside"
  fi
  read_record
  log "record: $RECORD${RECORD_PRIMARY:+ (primary $RECORD_PRIMARY)}; PGDATA: $state"
  role=$(decide_role "$state") || exit 1

  if [[ $role == primary && $state == standby ]]; then
    loud "the record names this pod primary but its data is a standby: starting as a standby (kpg's failover finishes the promotion)"
    role=standby
  fi

  if [[ $role == primary && $state == empty && -n $RECORD_BOOTSTRAPPED ]]; then
    await_other_primary
    role=standby
  fi

  if [[ $role == primary ]]; then
    if [[ $state == empty ]]; then
      new_primary_data
      [[ $RECORD != found ]] || note_bootstrapped
    fi
    label_role primary
    start_postgres primary
  fi

  label_role replica
  case $state in
    empty) wait_for_primary; base_backup ;;
    # A former primary touches nothing before a new primary serves: until then
    # kpg's failover may read the WAL it never sent from this PGDATA (salvage).
    primary) wait_for_primary; rewind_or_rebuild ;;
    standby) [[ $RECORD_PRIMARY == "$POD_NAME" ]] || maybe_rewind_standby ;;
  esac
  write_standby_config
  start_postgres standby
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  main "$@"
fi

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
#
# Agent mode (KPG_AGENT=1, clusters annotated kpg.io/agent: "true"): the pod's
# agent (a native sidecar, src/agent) decides the role through the Lease and
# labels the pod; this script has no token and calls no API. It reports what
# PGDATA holds, waits for the agent's `role` file, prepares PGDATA as above,
# and runs postgres as a child beside watchdog.sh, which kills it the moment
# the agent's fence deadline passes. See "agent mode" below.
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
KPG_HA_DIR=${KPG_HA_DIR:-/run/kpg}
KPG_UPTIME_FILE=${KPG_UPTIME_FILE:-/proc/uptime}
KPG_ROLE_POLL=${KPG_ROLE_POLL:-0.2}
PRIMARY_HOST=$KPG_CLUSTER
PG_PORT=5432
SUPERUSER=${POSTGRES_USER:-postgres}
REPL_USER=${REPLICATION_USER:-}
REPL_PASSWORD=${REPLICATION_PASSWORD:-}
PASSFILE=$KPG_TMP/pgpass
KPG_SOCKET_DIR=${KPG_SOCKET_DIR:-/var/run/postgresql}

# shellcheck source=kube.sh
source "$KPG_SCRIPTS/kube.sh"

log() { printf 'kpg: %s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
loud() { log "!!! $*"; }
die() { loud "$*"; exit 1; }
agent_mode() { [[ ${KPG_AGENT:-} == 1 ]]; }
# write_whole PATH TEXT: replaced in one rename, so the agent never reads half a file.
write_whole() {
  printf '%s\n' "$2" >"$1.tmp" && mv -f "$1.tmp" "$1"
}
set_state() {
  if agent_mode; then write_whole "$KPG_STATE" "$1"; else printf '%s\n' "$1" >"$KPG_STATE"; fi
}

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
  # Every libpq client started from here on (pg_basebackup, pg_rewind, psql,
  # and the postmaster's walreceiver, which inherits the environment) uses it.
  export PGPASSFILE=$PASSFILE
  mkdir -p /var/run/postgresql 2>/dev/null || true
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

# Sets RECORD (found | absent | unknown) and RECORD_PRIMARY.
read_record() {
  local deadline=$((SECONDS + KPG_RECORD_TIMEOUT)) out rc
  RECORD=unknown RECORD_PRIMARY=''
  while :; do
    rc=0
    out=$(record_primary) || rc=$?
    case $rc in
      0) RECORD=found RECORD_PRIMARY=$out; return 0 ;;
      4) RECORD=absent; return 0 ;;
    esac
    if ((SECONDS >= deadline)); then return 0; fi
    log "cannot read the cluster record $KPG_CLUSTER-kpg yet (status $rc); retrying"
    sleep 3
  done
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
  trap "pg_ctl -D '$stage' -m immediate stop >/dev/null 2>&1 || true" EXIT
  log "starting a private server for the initial setup"
  pg_ctl -D "$stage" -w -t 120 -o "-c config_file=$KPG_CONFIG -c listen_addresses='' -c unix_socket_directories=$KPG_TMP -c synchronous_standby_names=''" start >/dev/null
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
  pg_basebackup -h "$PRIMARY_HOST" -p "$PG_PORT" -U "$REPL_USER" -D "$stage" -X stream -c fast -w
  rmdir "$PGDATA" 2>/dev/null || true
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

rewind_or_rebuild() {
  ensure_clean_shutdown
  set_state rewind
  log "pg_rewind: turning this former primary into a standby of $PRIMARY_HOST"
  if pg_rewind --target-pgdata="$PGDATA" \
    --source-server="host=$PRIMARY_HOST port=$PG_PORT user=$(conninfo_value "$SUPERUSER") dbname=postgres"; then
    log "pg_rewind: done"
    return 0
  fi
  move_aside_and_rebuild
}

move_aside_and_rebuild() {
  local parent need avail aside
  parent=$(dirname "$PGDATA")
  aside=$PGDATA.failed-$(date -u +%Y%m%dT%H%M%SZ)
  need=$(du -sk "$PGDATA" | cut -f1)
  avail=$(df -Pk "$parent" | tail -n 1 | tr -s ' ' | cut -d' ' -f4)
  if ((avail < need + need / 10 + 65536)); then
    die "pg_rewind failed and there is no room to keep the old data beside a new copy (need about ${need} KiB, ${avail} KiB free): nothing was changed; free space or move $PGDATA away by hand"
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
  log "pg_rewind: checking this standby against $PRIMARY_HOST"
  if ! pg_rewind --target-pgdata="$PGDATA" \
    --source-server="host=$PRIMARY_HOST port=$PG_PORT user=$(conninfo_value "$SUPERUSER") dbname=postgres"; then
    loud "pg_rewind failed for this standby: starting it as it is"
  fi
}

write_standby_config() {
  local conninfo
  conninfo="host=$PRIMARY_HOST port=$PG_PORT user=$(conninfo_value "$REPL_USER") application_name=$POD_NAME"
  ((PGNUM >= 1000)) && conninfo+=" passfile=$PASSFILE"
  if ((PGNUM < 1200)); then
    {
      echo "# Written by kpg's start.sh at every start of a standby."
      echo "standby_mode = 'on'"
      echo "primary_conninfo = $(conf_quote "$conninfo")"
      echo "recovery_target_timeline = 'latest'"
      echo "trigger_file = $(conf_quote "$KPG_TRIGGER")"
    } >"$PGDATA/recovery.conf"
    log "standby: wrote recovery.conf (primary $PRIMARY_HOST)"
  else
    local auto=$PGDATA/postgresql.auto.conf
    [[ -f $auto ]] || printf '# Do not edit this file manually!\n# It will be overwritten by the ALTER SYSTEM command.\n' >"$auto"
    sed -i -E '/^[[:space:]]*(primary_conninfo|primary_slot_name|recovery_target_timeline)[[:space:]]*=/d' "$auto"
    {
      echo "primary_conninfo = $(conf_quote "$conninfo")"
      echo "recovery_target_timeline = 'latest'"
    } >>"$auto"
    : >"$PGDATA/standby.signal"
    log "standby: wrote standby.signal and primary_conninfo (primary $PRIMARY_HOST)"
  fi
}

# --------------------------------------------------------------- agent mode
# The files shared with the agent in $KPG_HA_DIR (src/agent/files.ts):
#   data, start-state (here -> agent), role, deadline (agent -> here),
#   shutting-down (preStop or SIGTERM -> agent), shutdown-checkpoint (here -> agent).

# secs_ms SECONDS: "12345.6789" -> 12345678; fails on anything else.
secs_ms() {
  [[ $1 =~ ^([0-9]+)(\.([0-9]*))?$ ]] || return 1
  local frac=${BASH_REMATCH[3]}000
  printf '%d\n' $((10#${BASH_REMATCH[1]} * 1000 + 10#${frac:0:3}))
}

# deadline_ahead: the agent's fence deadline lies ahead on the clock both
# containers read. A `role` of primary left from before a fence (the agent
# froze) must not start a primary that the watchdog would kill at once.
deadline_ahead() {
  local d='' up='' _ now dl
  { read -r d <"$KPG_HA_DIR/deadline" || [[ -n $d ]]; } 2>/dev/null || return 1
  { read -r up _ <"$KPG_UPTIME_FILE" || [[ -n $up ]]; } 2>/dev/null || return 1
  now=$(secs_ms "$up") && dl=$(secs_ms "$d") || return 1
  ((now < dl))
}

# wait_for_role: sets AGENT_ROLE to primary (this incarnation's agent holds
# the lease) or replica (another pod does); `wait`, no file, or a primary
# whose deadline has passed: ask again.
wait_for_role() {
  local r last=- polls=0
  while :; do
    r=''
    { read -r r <"$KPG_HA_DIR/role" || [[ -n $r ]]; } 2>/dev/null || true
    case $r in
      primary)
        if deadline_ahead; then AGENT_ROLE=primary; return 0; fi
        r='primary, with its fence deadline passed' ;;
      replica) AGENT_ROLE=replica; return 0 ;;
    esac
    if [[ $r != "$last" ]] || ((polls % 150 == 0)); then
      log "waiting for the agent's decision ($KPG_HA_DIR/role: ${r:-none yet})"
    fi
    last=$r
    polls=$((polls + 1))
    sleep "$KPG_ROLE_POLL"
  done
}

# After a clean shutdown of a primary: "LSN TIMELINE" of its last checkpoint,
# which the agent asks a standby to confirm before it hands the lease over.
write_shutdown_checkpoint() {
  local out='' st lsn tli i
  for i in 1 2 3; do
    # Immune to a SIGTERM sent to the whole process group as the pod stops.
    out=$(
      trap '' TERM INT
      LC_ALL=C pg_controldata "$PGDATA"
    ) && break
    out=''
  done
  if [[ -z $out ]]; then
    loud "pg_controldata failed: no shutdown checkpoint for the agent's handover (the lease expires instead)"
    return 0
  fi
  st=$(sed -n 's/^Database cluster state: *//p' <<<"$out")
  if [[ $st != "shut down" ]]; then
    log "postgres stopped ($st): no shutdown checkpoint to hand over"
    return 0
  fi
  lsn=$(sed -n 's/^Latest checkpoint location: *//p' <<<"$out")
  tli=$(sed -n "s/^Latest checkpoint's TimeLineID: *//p" <<<"$out")
  write_whole "$KPG_HA_DIR/shutdown-checkpoint" "$lsn $tli"
  log "clean shutdown at $lsn on timeline $tli: the agent hands over once a standby has it"
}

# SIGTERM (the pod stops): a fast shutdown, never a smart one; the preStop
# hook normally did both already.
on_stop() {
  STOPPING=1
  [[ -e $KPG_HA_DIR/shutting-down ]] || : >"$KPG_HA_DIR/shutting-down"
  log "stopping: fast shutdown of postgres"
  [[ -z $PM_PID ]] || kill -INT "$PM_PID" 2>/dev/null || true
}

# Until a primary answers, the agent reads "starting" (not "down", which it
# would fence and give up after its renew deadline): crash recovery can take long.
report_running() {
  local role=$1
  if [[ $role != primary ]]; then set_state running; return 0; fi
  set_state starting
  (
    set +e
    until pg_isready -q -h "$KPG_SOCKET_DIR" -p "$PG_PORT" -t 1; do
      kill -0 "$PM_PID" 2>/dev/null || exit 0
      sleep 0.2
    done
    set_state running
  ) &
}

# run_postgres ROLE: postgres as a child, not exec'd, with watchdog.sh beside
# it (for standbys too: it enforces nothing while PGDATA is a standby's, and
# fences a promoted one whose agent stops renewing). Exits with the outcome:
# 0 after a stop of the pod, 3 when fenced, 1 when postgres died by itself.
run_postgres() {
  local role=$1 wd_rc=0 pm_rc=0
  STOPPING=0 PM_PID=''
  write_whole "$KPG_HA_DIR/data" "$(data_state)"
  log "starting postgres $PG_MAJOR_DETECTED as $role, fenced by the deadline in $KPG_HA_DIR/deadline"
  trap on_stop TERM INT
  postgres -D "$PGDATA" -c config_file="$KPG_CONFIG" &
  PM_PID=$!
  ((STOPPING)) && kill -INT "$PM_PID"
  report_running "$role"
  # SIGTERM ignored: the pod's stop must not end the watchdog before postgres
  # (a runtime may signal the whole process group, as kpg's local node does).
  (
    trap '' TERM INT
    PGDATA=$PGDATA exec bash "$KPG_SCRIPTS/watchdog.sh" "$KPG_HA_DIR/deadline" "$PM_PID"
  ) &
  WD_PID=$!
  # The watchdog ends when postgres does (0) or once it has fenced it (3).
  # A trapped signal interrupts `wait` (status > 128) while it still runs.
  while :; do
    wd_rc=0
    wait "$WD_PID" || wd_rc=$?
    kill -0 "$WD_PID" 2>/dev/null || break
  done
  # Interrupted just as it ended: its status is still to be collected.
  if ((wd_rc > 128)); then
    wd_rc=0
    wait "$WD_PID" || wd_rc=$?
  fi
  if kill -0 "$PM_PID" 2>/dev/null; then
    # The watchdog failed on its own: nothing would fence this postgres any more.
    loud "watchdog.sh exited ($wd_rc) while postgres runs: stopping postgres at once"
    # shellcheck source=/dev/null  # src/lib/ha/watchdog.sh, delivered beside this script
    (source "$KPG_SCRIPTS/watchdog.sh" && fence "$PM_PID")
    wd_rc=3
  fi
  wait "$PM_PID" || pm_rc=$?
  if ((STOPPING)) || [[ -e $KPG_HA_DIR/shutting-down ]]; then
    ((wd_rc == 3)) || write_shutdown_checkpoint
    exit 0
  fi
  if ((wd_rc == 3)); then
    loud "fenced: this pod's lease ran out (see kpg-watchdog above); the container restarts as a standby"
    exit 3
  fi
  loud "postgres exited by itself (status $pm_rc)"
  exit 1
}

agent_main() {
  local state=$1
  [[ -d $KPG_HA_DIR && -w $KPG_HA_DIR ]] || die "agent mode: $KPG_HA_DIR (shared with the agent) is not a writable directory"
  [[ -r $KPG_SCRIPTS/watchdog.sh ]] || die "agent mode: $KPG_SCRIPTS/watchdog.sh is missing"
  # A checkpoint from an earlier run of this container is not this shutdown's.
  rm -f "$KPG_HA_DIR/shutdown-checkpoint"
  write_whole "$KPG_HA_DIR/data" "$state"
  log "agent mode: PGDATA: $state; the agent decides the role (no API access from here)"
  wait_for_role
  log "agent: start as $AGENT_ROLE"
  if [[ $AGENT_ROLE == primary ]]; then
    case $state in
      # The agent grants the lease to empty data only to bootstrap the cluster.
      empty) bootstrap_primary; run_postgres primary ;;
      primary) run_postgres primary ;;
      # A standby whose agent took the lease: its agent promotes the running standby.
      standby) log "the agent holds the lease and PGDATA is a standby's: starting it as a standby for the agent to promote" ;;
    esac
  else
    case $state in
      empty) wait_for_primary; base_backup ;;
      primary) wait_for_primary; rewind_or_rebuild ;;
      standby) maybe_rewind_standby ;;
    esac
  fi
  write_standby_config
  run_postgres standby
}

# --------------------------------------------------------------- main

start_postgres() {
  set_state running
  log "starting postgres $PG_MAJOR_DETECTED as $1"
  exec postgres -D "$PGDATA" -c config_file="$KPG_CONFIG"
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
  if agent_mode; then agent_main "$state"; fi
  read_record
  log "record: $RECORD${RECORD_PRIMARY:+ (primary $RECORD_PRIMARY)}; PGDATA: $state"
  role=$(decide_role "$state") || exit 1

  if [[ $role == primary && $state == standby ]]; then
    loud "the record names this pod primary but its data is a standby: starting as a standby (kpg's failover finishes the promotion)"
    role=standby
  fi

  if [[ $role == primary ]]; then
    [[ $state == empty ]] && bootstrap_primary
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

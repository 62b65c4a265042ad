#!/usr/bin/env bash
# agent-start.sh: the postgres container's command with the in-pod agent
# (every cluster but those annotated kpg.io/agent: "false"), rendered by kpg. It sources
# start.sh for its functions and settings (start.sh's own main runs only when
# it is executed) and replaces its start: the pod's agent (a native sidecar,
# src/agent) decides the role through the Lease and labels the pod; this
# script has no token and calls no API. It reports what PGDATA holds, waits
# for the agent's `role` file, prepares PGDATA as start.sh does, and runs
# postgres as a child beside watchdog.sh, which kills it the moment the
# agent's fence deadline passes.
#
# The files shared with the agent in $KPG_HA_DIR (src/agent/files.ts):
#   data, start-state (here -> agent), role, deadline (agent -> here),
#   shutting-down (preStop or SIGTERM -> agent), shutdown-checkpoint (here -> agent),
#   stop-request (agent -> watchdog.sh: a fast shutdown, for a switchover or
#   for a standby to rewind; this script removes it and starts over, without
#   a container restart, and the agent's `role` decides again),
#   standby-state, promote (warm-standby.sh <-> agent: a warm standby's
#   position, and the agent's request to promote it).
set -euo pipefail

KPG_SCRIPTS=${KPG_SCRIPTS:-/scripts}
# shellcheck source=start.sh
source "$KPG_SCRIPTS/start.sh"

KPG_HA_DIR=${KPG_HA_DIR:-/run/kpg}
KPG_UPTIME_FILE=${KPG_UPTIME_FILE:-/proc/uptime}
KPG_ROLE_POLL=${KPG_ROLE_POLL:-0.2}
KPG_SOCKET_DIR=${KPG_SOCKET_DIR:-/var/run/postgresql}
# Standbys stream through the slots the agents keep (start.sh's write_standby_config).
# shellcheck disable=SC2034  # read by the sourced start.sh
KPG_SLOTS=1

# write_whole PATH TEXT: replaced in one rename, so the agent never reads half a file.
# Two writers may race (the container's script and the preStop hook both
# write the shutdown checkpoint): each through its own temporary file.
write_whole() {
  printf '%s\n' "$2" >"$1.tmp.$$" && mv -f "$1.tmp.$$" "$1"
}
# start.sh's, made whole-file: the agent reads $KPG_STATE (its start-state).
set_state() { write_whole "$KPG_STATE" "$1"; }

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

# wait_for_role [DATA]: sets AGENT_ROLE to bootstrap or primary (this
# incarnation's agent holds the lease) or replica (another pod does); `wait`,
# no file, a primary whose deadline has passed, or primary over an empty
# PGDATA: ask again.
wait_for_role() {
  local data=${1:-} r last=- polls=0
  while :; do
    r=''
    { read -r r <"$KPG_HA_DIR/role" || [[ -n $r ]]; } 2>/dev/null || true
    case $r in
      primary | bootstrap)
        # Only `bootstrap` may initdb: the agent says so when the record
        # shows the cluster never had data. A primary's gate over an empty
        # PGDATA (a lost volume) waits: the agent gives the lease up instead.
        if [[ $data == empty && $r == primary ]]; then
          r='primary, but PGDATA is empty and only bootstrap initdbs'
        elif deadline_ahead; then
          AGENT_ROLE=$r
          return 0
        else
          r="$r, with its fence deadline passed"
        fi ;;
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
  local out='' st='' lsn='' tli='' line
  # The pod's SIGTERM reaches the whole process group, and every $(…) is a
  # subshell with the default disposition: one killed mid-parse left an empty
  # LSN (or, under set -e, ended the script with 143) and so no handover.
  # Ignored for what is left of this script (it exits or starts over next),
  # and the parse uses builtins only.
  trap '' TERM INT
  for _ in 1 2 3; do
    out=$(LC_ALL=C pg_controldata "$PGDATA") && break
    out=''
  done
  if [[ -z $out ]]; then
    loud "pg_controldata failed: no shutdown checkpoint for the agent's handover (the lease expires instead)"
    return 0
  fi
  while IFS= read -r line; do
    case $line in
      "Database cluster state:"*) st=${line#*:} ;;
      "Latest checkpoint location:"*) lsn=${line#*:} ;;
      "Latest checkpoint's TimeLineID:"*) tli=${line#*:} ;;
    esac
  done <<<"$out"
  st=${st#"${st%%[! ]*}"} lsn=${lsn//[[:space:]]/} tli=${tli//[[:space:]]/}
  if [[ $st != "shut down" ]]; then
    log "postgres stopped ($st): no shutdown checkpoint to hand over"
    return 0
  fi
  if [[ -z $lsn || -z $tli ]]; then
    loud "pg_controldata gave no checkpoint location or timeline: no handover (the lease expires instead)"
    return 0
  fi
  write_whole "$KPG_HA_DIR/shutdown-checkpoint" "$lsn $tli"
  log "clean shutdown at $lsn on timeline $tli: the agent hands over once a standby has it"
}

# SIGTERM (the pod stops): a fast shutdown, never a smart one; the preStop
# hook normally did both already.
on_stop() {
  STOPPING=1
  [[ -e $KPG_HA_DIR/shutting-down ]] || : >"$KPG_HA_DIR/shutting-down"
  log "stopping: fast shutdown of postgres"
  [[ -z $PM_PID ]] || stop_postgres
}

# SIGINT (fast shutdown) now and each second after, for at most 30 s: a
# postmaster that has not installed its handlers yet would lose the first
# (a background job starts with SIGINT ignored).
stop_postgres() {
  (
    for _ in $(seq 1 30); do
      kill -INT "$PM_PID" 2>/dev/null || exit 0
      sleep 1
    done
  ) &
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

# warm_standby: postgres's own reading of its configuration says hot_standby is off.
warm_standby() {
  [[ $(postgres -D "$PGDATA" -c config_file="$KPG_CONFIG" -C hot_standby 2>/dev/null) == off ]]
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
  clear_stale_sockets
  env "${NO_SECRETS[@]}" postgres -D "$PGDATA" -c config_file="$KPG_CONFIG" &
  PM_PID=$!
  if ((STOPPING)); then stop_postgres; fi
  report_running "$role"
  # SIGTERM ignored: the pod's stop must not end the watchdog before postgres
  # (a runtime may signal the whole process group, as kpg's local node does).
  (
    trap '' TERM INT
    PGDATA=$PGDATA exec bash "$KPG_SCRIPTS/watchdog.sh" "$KPG_HA_DIR/deadline" "$PM_PID" "$KPG_HA_DIR/stop-request"
  ) &
  WD_PID=$!
  if [[ $role == standby ]] && warm_standby; then
    # A warm standby refuses the agent's SQL: this loop reports for it and promotes it when asked.
    (
      trap '' TERM INT
      PGDATA=$PGDATA PGNUM=$PGNUM exec bash "$KPG_SCRIPTS/warm-standby.sh" "$KPG_HA_DIR" "$PM_PID"
    ) &
  fi
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
  if ((wd_rc != 3 && pm_rc == 0)) && [[ -e $KPG_HA_DIR/stop-request ]]; then
    local why
    why=$(head -c 64 "$KPG_HA_DIR/stop-request" 2>/dev/null || true)
    # Consumed here, before the next postgres starts: the watchdog would stop it again.
    rm -f "$KPG_HA_DIR/stop-request"
    write_shutdown_checkpoint
    log "stopped cleanly on the agent's request (${why:-?}); starting over as the agent decides"
    # A signal ignored across exec could never be trapped again by the next run.
    trap - TERM INT
    local again=''
    [[ $why != reclone ]] || again=1
    KPG_RECLONE=$again KPG_KEEP_CHECKPOINT=1 exec bash "$KPG_SCRIPTS/agent-start.sh"
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
  # A checkpoint from an earlier run of this container is not this shutdown's
  # (after a switchover this script starts over, and the agent still needs it).
  [[ ${KPG_KEEP_CHECKPOINT:-} == 1 ]] || rm -f "$KPG_HA_DIR/shutdown-checkpoint"
  unset KPG_KEEP_CHECKPOINT
  # The agent's stop-request said `reclone`: this standby's WAL is gone from the primary.
  local reclone=${KPG_RECLONE:-}
  unset KPG_RECLONE
  write_whole "$KPG_HA_DIR/data" "$state"
  log "agent mode: PGDATA: $state; the agent decides the role (no API access from here)"
  wait_for_role "$state"
  log "agent: start as $AGENT_ROLE"
  if [[ $AGENT_ROLE == bootstrap && $state == empty ]]; then
    # The one initdb (or restore): the agent holds the lease and the cluster never had data.
    new_primary_data
    run_postgres primary
  elif [[ $AGENT_ROLE != replica ]]; then
    case $state in
      primary) run_postgres primary ;;
      # A standby whose agent took the lease: its agent promotes the running standby.
      standby) log "the agent holds the lease and PGDATA is a standby's: starting it as a standby for the agent to promote" ;;
    esac
  else
    case $state in
      empty) wait_for_primary; base_backup ;;
      primary) wait_for_primary; rewind_or_rebuild ;;
      standby)
        if [[ $reclone == 1 ]]; then
          wait_for_primary
          reclone_standby
        else
          maybe_rewind_standby
        fi ;;
    esac
  fi
  write_standby_config
  run_postgres standby
}

agent_start() {
  set_state preparing
  PG_MAJOR_DETECTED=$(detect_major)
  PGNUM=$(pg_num "$PG_MAJOR_DETECTED")
  log "pod $POD_NAME of cluster $KPG_CLUSTER, PostgreSQL $PG_MAJOR_DETECTED (with the in-pod agent)"
  setup_tmp
  local state aside
  state=$(data_state)
  if [[ $state == empty && -d $PGDATA && -n $(ls -A "$PGDATA") ]]; then
    aside=$PGDATA.invalid-$(date -u +%Y%m%dT%H%M%SZ)
    loud "$PGDATA holds files but no database: moving them aside to $aside"
    mv "$PGDATA" "$aside"
  fi
  agent_main "$state"
}

# The preStop hook's second half (after its fast shutdown): the checkpoint
# for the agent's handover, written from the hook, a process the pod's
# SIGTERM that follows does not reach (the container's own script may be
# cut short by it). It never removes one first: the container's script may
# have written it already, and the hook is killed when the container exits
# (a removal then left none at all, and no handover: seen in e2e).
prestop_checkpoint() {
  write_shutdown_checkpoint
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  if [[ ${1:-} == prestop-checkpoint ]]; then
    prestop_checkpoint
    exit 0
  fi
  agent_start "$@"
fi

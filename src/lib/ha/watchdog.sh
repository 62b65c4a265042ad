#!/usr/bin/env bash
# watchdog.sh: the postgres container's self-fence (kpg's in-pod agent).
#
#   PGDATA=... watchdog.sh DEADLINE_FILE POSTMASTER_PID [STOP_FILE]
#
# The agent (another container of the pod) writes to DEADLINE_FILE, after
# each lease renewal that landed, the uptime in seconds ("12345.678") until
# which this pod may serve as primary; "0" fences at once. While PGDATA is a
# primary's (no standby.signal, no recovery.conf: postgres removes them as it
# leaves recovery, before it takes a write), this script checks every
# KPG_WATCHDOG_INTERVAL: once /proc/uptime passes the deadline, or the file
# is missing or unreadable, it stops the postmaster and every process below
# it (the WAL senders a moment later) and then kills them all with SIGKILL:
# an immediate stop, never a smart or fast shutdown, so no open session
# commits anything more. Then it exits
# 3 (the start script exits with it; the kubelet restarts the container,
# which comes back as a standby). It exits 0 when the postmaster ends by
# itself. A standby is never fenced: it takes no writes, and a deadline left
# from an earlier term must not kill it.
#
# STOP_FILE, when it appears, asks for a fast shutdown (SIGINT to the
# postmaster, once): a primary's switchover, or a standby that must rewind
# onto a timeline it cannot follow. The deadline still applies to a primary
# while it shuts down.
#
# Nothing here needs the agent alive: a frozen or crashed agent stops
# writing, the deadline passes, and the primary is fenced all the same.
# Both containers read the same kernel's /proc/uptime.
#
# Environment: PGDATA (required), KPG_WATCHDOG_INTERVAL (seconds between
# checks, default 0.1), KPG_UPTIME_FILE (default /proc/uptime; for tests),
# KPG_FENCE_WAL_GRACE and KPG_FENCE_GRACE_WITHIN (see fence).
set -uo pipefail

KPG_WATCHDOG_INTERVAL=${KPG_WATCHDOG_INTERVAL:-0.1}
KPG_UPTIME_FILE=${KPG_UPTIME_FILE:-/proc/uptime}

is_standby() { [[ -e $PGDATA/standby.signal || -e $PGDATA/recovery.conf ]]; }

wd_log() { printf 'kpg-watchdog: %s\n' "$*" >&2; }

# to_ms SECONDS: "12345.6789" -> 12345678 (integer milliseconds); fails on anything else.
to_ms() {
  local s=$1 int frac
  [[ $s =~ ^([0-9]+)(\.([0-9]*))?$ ]] || return 1
  int=${BASH_REMATCH[1]}
  frac=${BASH_REMATCH[3]}000
  printf '%d\n' $((10#$int * 1000 + 10#${frac:0:3}))
}

# ms_into VAR SECONDS: as to_ms, into VAR: no subshell, so no fork in the loop below.
ms_into() {
  [[ $2 =~ ^([0-9]+)(\.([0-9]*))?$ ]] || return 1
  local frac=${BASH_REMATCH[3]}000
  printf -v "$1" '%d' $((10#${BASH_REMATCH[1]} * 1000 + 10#${frac:0:3}))
}

# uptime_into VAR / deadline_into VAR FILE: the clock and the deadline, in ms.
uptime_into() {
  local up='' _
  read -r up _ <"$KPG_UPTIME_FILE" 2>/dev/null || return 1
  ms_into "$1" "$up"
}

deadline_into() {
  local d=''
  [[ -r $2 ]] || return 1
  { read -r d <"$2" || [[ -n $d ]]; } 2>/dev/null || return 1
  ms_into "$1" "$d"
}

# descendants PID: every process below PID (children, their children...), from /proc.
descendants() {
  local -a queue=("$1") found=()
  local stat pid ppid rest
  declare -A parent_of=()
  for stat in /proc/[0-9]*/stat; do
    read -r stat_line <"$stat" 2>/dev/null || continue
    pid=${stat_line%% *}
    rest=${stat_line##*) }
    read -r _ ppid _ <<<"$rest"
    parent_of[$pid]=$ppid
  done
  while ((${#queue[@]} > 0)); do
    local p=${queue[0]}
    queue=("${queue[@]:1}")
    for pid in "${!parent_of[@]}"; do
      if [[ ${parent_of[$pid]} == "$p" ]]; then
        found+=("$pid")
        queue+=("$pid")
      fi
    done
  done
  printf '%s\n' "${found[@]}"
}

# now_ms: this moment in milliseconds, from bash's EPOCHREALTIME.
now_ms() {
  local t=${EPOCHREALTIME/[,.]/}
  printf '%d\n' $((10#$t / 1000))
}

# is_walsender PID: the process title postgres gives a WAL sender.
is_walsender() {
  local title=''
  title=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
  [[ $title == *"walsender"* ]]
}

# senders_idle PID...: every one sleeps (state S: waiting for WAL to send), or is gone.
senders_idle() {
  local pid line
  for pid in "$@"; do
    read -r line <"/proc/$pid/stat" 2>/dev/null || continue
    line=${line##*) }
    [[ ${line:0:1} == S ]] || return 1
  done
}

# stop_children_now PID: SIGSTOP every child of PID in one kill, from the
# kernel's own list (no /proc scan, no fork): a pod thawed after a freeze
# runs its backends at once, and every millisecond before they stop is one
# in which a client may be told a commit succeeded that no standby has (seen
# in e2e: 12 rows acknowledged in the time the /proc scan below took). WAL
# senders stop too for now; fence() lets them go on once it knows them.
stop_children_now() {
  local f line
  local -a kids=() more=()
  for f in /proc/"$1"/task/*/children; do
    # The kernel ends this list with a space, not a newline: read returns 1
    # at that end with the line read all the same.
    line=''
    read -r line <"$f" 2>/dev/null || [[ -n $line ]] || continue
    read -r -a more <<<"$line"
    kids+=("${more[@]}")
  done
  ((${#kids[@]} == 0)) || kill -STOP "${kids[@]}" 2>/dev/null
  return 0
}

# fence PID: freeze the postmaster first (it can fork no more), then
# everything below it but the WAL senders, then SIGKILL the lot. Backends
# call setsid(), so a process-group kill would miss them. The WAL senders
# get up to KPG_FENCE_WAL_GRACE seconds (default 1) to stream what is
# flushed already: a commit is acknowledged only once flushed, so with every
# backend frozen, what the standbys receive meanwhile is exactly what clients
# were told is committed — the standby that takes over has it. Nothing can
# commit while they run; the fence still ends well before the lease can be
# taken elsewhere (renew deadline + this grace < lease duration).
#
# LATE_MS is how long ago the deadline passed. Over KPG_FENCE_GRACE_WITHIN
# seconds (default 1; "0", fence now, is always over) the senders get no
# grace: a pod thawed after a freeze, or one whose agent saw another
# holder, may already have a successor, and what it would stream now (the
# commits of the moment before this fence) would only put a standby still
# attached to it on a timeline the cluster left.
fence() {
  local pm=$1 late_ms=${2:-0} pid grace=${KPG_FENCE_WAL_GRACE:-1}
  local within_ms
  within_ms=$(to_ms "${KPG_FENCE_GRACE_WITHIN:-1}" || echo 1000)
  local -a all=("$pm") frozen=() senders=()
  kill -STOP "$pm" 2>/dev/null
  stop_children_now "$pm"
  if ((late_ms > within_ms)); then
    mapfile -t all < <(printf '%s\n' "$pm"; descendants "$pm")
    kill -KILL "${all[@]}" 2>/dev/null
    wd_log "fenced $((late_ms / 1000)).$(printf '%03d' $((late_ms % 1000)))s after the deadline: no WAL sent; killed the postmaster $pm and ${#all[@]} process(es) in all (SIGKILL)"
    return 0
  fi
  for _ in 1 2; do
    mapfile -t all < <(printf '%s\n' "$pm"; descendants "$pm")
    frozen=() senders=()
    for pid in "${all[@]}"; do
      if [[ $pid != "$pm" ]] && is_walsender "$pid"; then senders+=("$pid"); else frozen+=("$pid"); fi
    done
    kill -STOP "${frozen[@]}" 2>/dev/null
  done
  ((${#senders[@]} == 0)) || kill -CONT "${senders[@]}" 2>/dev/null
  if ((${#senders[@]} > 0)); then
    # Idle twice in a row, 50 ms apart: nothing flushed is left to send.
    # Bounded by the wall clock (bash's own, no fork), not by a count of polls.
    local idle=0 until
    until=$(($(now_ms) + $(to_ms "$grace" || echo 1000)))
    while ((idle < 2 && $(now_ms) < until)); do
      sleep 0.05
      if senders_idle "${senders[@]}"; then idle=$((idle + 1)); else idle=0; fi
    done
    wd_log "every backend stopped; ${#senders[@]} WAL sender(s) streamed what was flushed"
  fi
  kill -KILL "${all[@]}" 2>/dev/null
  wd_log "killed the postmaster $pm and ${#all[@]} process(es) in all (SIGKILL)"
}

watch() {
  local file=$1 pm=$2 stop=${3:-} now=0 dl=0 asked=0
  # A pipe nobody writes to: `read -t` on it is a sleep without a fork. A
  # pod thawed after a freeze is fenced the sooner, and idle pods cost less.
  local nap_fd
  exec {nap_fd}<> <(:)
  wd_log "watching postmaster $pm against the deadline in $file"
  while kill -0 "$pm" 2>/dev/null; do
    if ((!asked)) && [[ -n $stop && -e $stop ]]; then
      wd_log "$stop: fast shutdown of postmaster $pm ($(head -c 64 "$stop" 2>/dev/null))"
      kill -INT "$pm" 2>/dev/null
      asked=1
    fi
    if is_standby; then
      read -r -t "$KPG_WATCHDOG_INTERVAL" -u "$nap_fd" _
      continue
    fi
    if ! uptime_into now; then
      wd_log "cannot read $KPG_UPTIME_FILE: fencing"
      fence "$pm"
      return 3
    fi
    if ! deadline_into dl "$file"; then
      wd_log "no readable deadline in $file at uptime ${now}ms: fencing"
      fence "$pm"
      return 3
    fi
    if ((now >= dl)); then
      # Stop first, say so after: a thawed pod's backends run meanwhile.
      kill -STOP "$pm" 2>/dev/null
      stop_children_now "$pm"
      wd_log "the fence deadline ${dl}ms passed (uptime ${now}ms): fencing"
      fence "$pm" $((now - dl))
      return 3
    fi
    read -r -t "$KPG_WATCHDOG_INTERVAL" -u "$nap_fd" _
  done
  wd_log "postmaster $pm exited by itself"
  return 0
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  if (($# < 2 || $# > 3)) || [[ -z ${PGDATA:-} ]]; then
    echo "usage: PGDATA=DIR watchdog.sh DEADLINE_FILE POSTMASTER_PID [STOP_FILE]" >&2
    exit 2
  fi
  watch "$@"
  exit $?
fi

#!/usr/bin/env bash
# warm-standby.sh: what the in-pod agent cannot ask a warm standby itself.
#
#   PGDATA=... warm-standby.sh HA_DIR POSTMASTER_PID
#
# A warm standby (hot_standby = off) refuses every connection, the agent's
# too, so its agent could neither weigh it as a candidate, nor confirm a
# handover, nor promote it over SQL. agent-start.sh runs this loop beside
# such a standby's postgres. Every KPG_WARM_INTERVAL seconds (0.5) it writes
# HA_DIR/standby-state, key=value lines (src/agent/warm.ts reads them):
#   at=UPTIME      when, on the clock both containers read (a stale file means nothing)
#   streaming=1|0  a walreceiver streams (its process title)
#   lsn=X/Y        what it holds: the walreceiver's flushed position while it
#                  streams; otherwise the end of the last whole record in its
#                  pg_wal (pg_waldump), which a promotion replays first
#   wal_end=X/Y    only from pg_waldump, a record boundary: a handover's
#                  shutdown checkpoint is confirmed against it, never against a title
#   timeline=N     the startup process's WAL file, else pg_waldump's, else the control file's
#   system=ID      pg_controldata's database system identifier
# From PostgreSQL 12 it also promotes the standby when the agent asks (the
# file HA_DIR/promote; below 12 recovery.conf's trigger_file names that file
# and postgres reads it itself), and only while the agent's fence deadline
# lies ahead: a request left from an earlier term must never promote.
# It ends with the postmaster, and once PGDATA is no longer a standby's
# (promoted: from then on the server answers SQL).
set -uo pipefail

HA_DIR=${1:?HA_DIR}
PM=${2:?POSTMASTER_PID}
: "${PGDATA:?}"
KPG_WARM_INTERVAL=${KPG_WARM_INTERVAL:-0.5}
KPG_WARM_TICK=${KPG_WARM_TICK:-0.1}
KPG_UPTIME_FILE=${KPG_UPTIME_FILE:-/proc/uptime}
PGNUM=${PGNUM:-1500}
OUT=$HA_DIR/standby-state

ws_log() { printf 'kpg-warm: %s\n' "$*" >&2; }

is_standby() { [[ -e $PGDATA/standby.signal || -e $PGDATA/recovery.conf ]]; }

# Sets UP to the uptime ("12345.67"); fails when it cannot be read.
read_uptime() {
  local _
  UP=''
  { read -r UP _ <"$KPG_UPTIME_FILE"; } 2>/dev/null && [[ -n $UP ]]
}

# deadline_ahead: the agent's fence deadline lies ahead (this incarnation
# holds the lease). Integer milliseconds from "12345.678".
ms() {
  [[ $1 =~ ^([0-9]+)(\.([0-9]*))?$ ]] || return 1
  local frac=${BASH_REMATCH[3]}000
  printf '%d\n' $((10#${BASH_REMATCH[1]} * 1000 + 10#${frac:0:3}))
}
deadline_ahead() {
  local d='' now dl
  { read -r d <"$HA_DIR/deadline" || [[ -n $d ]]; } 2>/dev/null || return 1
  read_uptime && now=$(ms "$UP") && dl=$(ms "$d") || return 1
  ((now < dl))
}

# The postmaster runs and is not stopped (a frozen one reports nothing).
postmaster_live() {
  local s=''
  { read -r s <"/proc/$PM/stat"; } 2>/dev/null || return 1
  s=${s##*) }
  [[ ${s%% *} != T && ${s%% *} != t && ${s%% *} != Z ]]
}

# Sets TITLES to the postmaster's children's process titles, one per line.
children_titles() {
  local kids='' pid t
  TITLES=''
  # No newline ends the list: read fails at its end, having read it.
  { read -r kids <"/proc/$PM/task/$PM/children" || [[ -n $kids ]]; } 2>/dev/null || kids=''
  for pid in $kids; do
    t=''
    { IFS= read -r -d '' t <"/proc/$pid/cmdline"; } 2>/dev/null || true
    TITLES+="$t"$'\n'
  done
}

WALDIR=$PGDATA/pg_wal
[[ -d $WALDIR ]] || WALDIR=$PGDATA/pg_xlog
DUMP=pg_waldump
command -v pg_waldump >/dev/null 2>&1 || DUMP=pg_xlogdump
CTL=$(LC_ALL=C pg_controldata "$PGDATA" 2>/dev/null)
SYSTEM=$(sed -n 's/^Database system identifier: *//p' <<<"$CTL")
SEGSIZE=$(sed -n 's/^Bytes per WAL segment: *//p' <<<"$CTL")
SEGSIZE=${SEGSIZE:-16777216}
CTL_TLI=$(sed -n "s/^Latest checkpoint's TimeLineID: *//p" <<<"$CTL")

# Sets DUMP_END and DUMP_TLI from the newest segment holding a whole record
# (newer names may be recycled segments, which hold none); cached while
# pg_wal's newest files stay as they are (nothing streams in).
DUMP_KEY='' DUMP_END='' DUMP_TLI=''
wal_end() {
  local files='' key f n start last
  local -a segs=()
  # Globs sort by name, so the newest are last.
  for f in "$WALDIR"/[0-9A-F]*; do
    n=${f##*/}
    [[ $n =~ ^[0-9A-F]{24}$ ]] && segs+=("$n")
  done
  for ((n = ${#segs[@]} - 1; n >= 0 && n >= ${#segs[@]} - 6; n--)); do files+="${segs[n]} "; done
  # shellcheck disable=SC2086  # the names are hex: no spaces, no globs
  key=$(cd "$WALDIR" 2>/dev/null && stat -c '%n %s %y' $files 2>/dev/null)
  [[ -n $key && $key == "$DUMP_KEY" ]] && return 0
  DUMP_KEY=$key DUMP_END='' DUMP_TLI=''
  for f in $files; do
    start=$(printf '%X/%X' $((16#${f:8:8})) $((16#${f:16:8} * SEGSIZE)))
    last=$("$DUMP" -p "$WALDIR" -t $((16#${f:0:8})) -s "$start" 2>/dev/null | tail -n 1)
    if [[ $last =~ len\ \(rec/tot\):\ *[0-9]+/\ *([0-9]+),.*lsn:\ ([0-9A-Fa-f]+)/([0-9A-Fa-f]+), ]]; then
      local tot=${BASH_REMATCH[1]} hi=${BASH_REMATCH[2]} lo=${BASH_REMATCH[3]} end
      end=$(((16#$hi << 32 | 16#$lo) + tot))
      DUMP_END=$(printf '%X/%X' $((end >> 32)) $((end & 0xFFFFFFFF)))
      DUMP_TLI=$((16#${f:0:8}))
      return 0
    fi
  done
}

RECEIVER_RE='wal ?receiver[^0-9]*streaming +([0-9A-Fa-f]+/[0-9A-Fa-f]+)'
STARTUP_RE='startup[^0-9]* ([0-9A-F]{8})[0-9A-F]{16}'
# Sets STREAMING, LSN and TLI from the children's titles (builtins only).
look() {
  local line
  STREAMING=0 LSN='' TLI=''
  children_titles
  while IFS= read -r line; do
    if [[ $line =~ $RECEIVER_RE ]]; then
      STREAMING=1 LSN=${BASH_REMATCH[1]}
    elif [[ $line =~ $STARTUP_RE ]]; then
      # "startup recovering 000000020000000000000005": the timeline it replays.
      TLI=$((16#${BASH_REMATCH[1]}))
    fi
  done <<<"$TITLES"
}

report() {
  local lsn=$LSN tli=$TLI end=''
  if ((!STREAMING)); then
    wal_end
    lsn=$DUMP_END end=$DUMP_END
    tli=${tli:-$DUMP_TLI}
  fi
  tli=${tli:-$CTL_TLI}
  read_uptime || return 0
  printf 'at=%s\nstreaming=%s\nlsn=%s\nwal_end=%s\ntimeline=%s\nsystem=%s\n' \
    "$UP" "$STREAMING" "$lsn" "$end" "$tli" "$SYSTEM" >"$OUT.tmp" && mv -f "$OUT.tmp" "$OUT"
}

promote_if_asked() {
  ((PGNUM >= 1200)) && [[ -e $HA_DIR/promote ]] || return 0
  rm -f "$HA_DIR/promote"
  if deadline_ahead; then
    ws_log "the agent holds the lease and asks: promoting this warm standby"
    pg_ctl promote -D "$PGDATA" -W >&2 || ws_log "pg_ctl promote failed"
  else
    ws_log "a promotion request without a fence deadline ahead (not this term's): ignored"
  fi
}

# A pipe nobody writes to: `read -t` on it is a sleep without a fork.
exec {NAP_FD}<> <(:)
nap() { read -r -t "$1" -u "$NAP_FD" _ || true; }

trap 'rm -f "$OUT"' EXIT
ticks_per_report=$(awk -v i="$KPG_WARM_INTERVAL" -v t="$KPG_WARM_TICK" 'BEGIN { n = int(i / t + 0.5); print (n < 1 ? 1 : n) }')
tick=0 last=''
while kill -0 "$PM" 2>/dev/null && is_standby; do
  promote_if_asked
  if postmaster_live; then
    look
    # At once when the walreceiver comes or goes (a handover waits for it), else every interval.
    if [[ $STREAMING != "$last" ]] || ((tick % ticks_per_report == 0)); then report; fi
    last=$STREAMING
  else
    rm -f "$OUT"
    last=''
  fi
  tick=$((tick + 1))
  nap "$KPG_WARM_TICK"
done
exit 0

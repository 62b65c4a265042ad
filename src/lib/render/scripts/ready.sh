#!/usr/bin/env bash
# ready.sh: readiness probe, rendered by kpg. Exit 0 when this pod serves its role:
#  - the primary and hot standbys accept connections (pg_isready exit 0);
#  - a warm standby refuses connections by design (pg_isready exit 1), so it
#    is ready while it is in recovery with a live postmaster that streams WAL
#    (a walreceiver child process).
PGDATA=${PGDATA:?}
PG_PORT=5432

rc=0
pg_isready -q -h 127.0.0.1 -p "$PG_PORT" -t 3 || rc=$?
((rc == 0)) && exit 0
((rc == 1)) || exit 1
[[ -f $PGDATA/standby.signal || -f $PGDATA/recovery.conf ]] || exit 1

# The postmaster: first line of postmaster.pid, alive and named postgres.
# Braces: a missing file is the normal "not started yet", and a redirection
# error outside them would reach the probe's output (a Warning event).
{ read -r pm <"$PGDATA/postmaster.pid"; } 2>/dev/null || exit 1
[[ $pm =~ ^[0-9]+$ && $(cat "/proc/$pm/comm" 2>/dev/null) == postgres ]] || exit 1

# A walreceiver among its children ("walreceiver" from 10, "wal receiver" in 9.6).
for stat in /proc/[0-9]*/stat; do
  { read -r s <"$stat"; } 2>/dev/null || continue
  s=${s##*) }
  read -r _state ppid _rest <<<"$s"
  [[ $ppid == "$pm" ]] || continue
  title=''
  read -r -d '' title <"${stat%/stat}/cmdline" 2>/dev/null || true
  [[ $title =~ wal\ ?receiver ]] && exit 0
done
exit 1

#!/usr/bin/env bash
# live.sh: liveness probe (and, with --startup, startup probe), rendered by kpg.
#  - Never fails while start.sh runs initdb, a base backup, pg_rewind or crash
#    recovery (killing the container then would only start the work over), nor
#    while it waits on purpose (an empty PGDATA of a bootstrapped cluster).
#  - Otherwise: the postmaster (postmaster.pid) is alive. With --startup it
#    must also answer (pg_isready exit 0, or 1 for "starting up/standby").
PGDATA=${PGDATA:?}
PG_PORT=5432
KPG_STATE=${KPG_STATE:-/tmp/kpg-state}

state=$(cat "$KPG_STATE" 2>/dev/null || true)
case $state in
  initdb | basebackup | rewind | recovering | waiting) exit 0 ;;
esac

# Braces: a missing file is the normal "not started yet", and a redirection
# error outside them would reach the probe's output (a Warning event).
{ read -r pm <"$PGDATA/postmaster.pid"; } 2>/dev/null || exit 1
[[ $pm =~ ^[0-9]+$ && $(cat "/proc/$pm/comm" 2>/dev/null) == postgres ]] || exit 1

if [[ ${1-} == --startup ]]; then
  rc=0
  pg_isready -q -h 127.0.0.1 -p "$PG_PORT" -t 3 || rc=$?
  ((rc == 0 || rc == 1)) || exit 1
fi
exit 0

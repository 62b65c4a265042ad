#!/usr/bin/env bash
# basebackup.sh [ID]: the basebackup container of a backup Job (kpg backup),
# in the official postgres image. pg_basebackup writes one tar (PGDATA and
# the WAL the backup needs, -X fetch) into a FIFO the uploader container
# (storage.sh upload-base, rclone image) streams to the archive; then the
# facts a restore chooses by go to $KPG_WORK/meta and the exit status to
# $KPG_WORK/status, which the uploader waits for.
set -uo pipefail

work=${KPG_WORK:-/work}
# A scheduled backup is named by its start (the uploader reads the name from $work/id).
id=${1:-$(date -u +%Y%m%dT%H%M%SZ)}
printf '%s\n' "$id" >"$work/id.tmp" && mv "$work/id.tmp" "$work/id"
host=${KPG_BACKUP_HOST:?}
port=5432
user=${REPLICATION_USER:-${POSTGRES_USER:-postgres}}
superuser=${POSTGRES_USER:-postgres}

log() { printf 'kpg: %s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
field() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/:/\\:/g'; }

# The passwords go to a 0600 passfile in this container's own /tmp, never to
# the work directory the uploader shares.
umask 077
export PGPASSFILE=/tmp/pgpass
{
  printf '%s:%s:*:%s:%s\n' "$(field "$host")" "$port" "$(field "$user")" "$(field "${REPLICATION_PASSWORD:-$POSTGRES_PASSWORD}")"
  printf '%s:%s:*:%s:%s\n' "$(field "$host")" "$port" "$(field "$superuser")" "$(field "$POSTGRES_PASSWORD")"
} >"$PGPASSFILE"
umask 022

until [[ -p $work/base.tar ]]; do mkfifo "$work/base.tar" 2>/dev/null || sleep 0.1; done
start=$(date -u +%Y-%m-%dT%H:%M:%SZ)
log "base backup $id from $host (pg_basebackup -X fetch, checkpoint fast)"
pg_basebackup -h "$host" -p "$port" -U "$user" -w -D - -F tar -X fetch -c fast -v \
  >"$work/base.tar" 2>"$work/pg_basebackup.log"
rc=$?
sed 's/^/  /' "$work/pg_basebackup.log" >&2
if ((rc == 0)); then
  stop=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  stop_epoch=$(date -u +%s)
  log_text=$(cat "$work/pg_basebackup.log")
  start_lsn=$(sed -n 's/.*write-ahead log start point: \([0-9A-F/]*\) on timeline \([0-9]*\).*/\1/p' <<<"$log_text" | head -n 1)
  timeline=$(sed -n 's/.*write-ahead log start point: [0-9A-F/]* on timeline \([0-9]*\).*/\1/p' <<<"$log_text" | head -n 1)
  stop_lsn=$(sed -n 's/.*write-ahead log end point: \([0-9A-F/]*\).*/\1/p' <<<"$log_text" | head -n 1)
  # Every transaction id from here on began after the backup ended: a
  # restore to such a transaction may start from this backup.
  next_xid=$(psql -X -w -At "host=$host port=$port user=$superuser dbname=postgres" \
    -c 'select txid_snapshot_xmax(txid_current_snapshot())') || rc=$?
  major=$(psql -X -w -At "host=$host port=$port user=$superuser dbname=postgres" -c 'show server_version_num')
  {
    echo "id=$id"
    echo "cluster=${POD_NAMESPACE:-}/${KPG_CLUSTER:-}"
    echo "server_version_num=$major"
    echo "timeline=$timeline"
    echo "start_lsn=$start_lsn"
    echo "stop_lsn=$stop_lsn"
    echo "start_time=$start"
    echo "stop_time=$stop"
    echo "stop_epoch=$stop_epoch"
    echo "next_xid=$next_xid"
    echo "source=$host"
  } >"$work/meta"
  log "base backup $id: $start_lsn to $stop_lsn on timeline $timeline"
else
  log "!!! pg_basebackup failed with status $rc (its output is above)"
fi
echo "$rc" >"$work/status"
exit "$rc"

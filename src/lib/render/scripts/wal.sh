#!/usr/bin/env bash
# wal.sh: PostgreSQL's archive_command and restore_command, rendered by kpg
# for clusters with spec.archiver or spec.init.postgresWAL. The postgres
# image has no uploader, so each call asks the pod's storage sidecar
# (storage.sh, rclone image) through the shared spool and waits for its answer:
#
#   wal.sh archive %p %f   exit 0 only once the segment is stored in the
#                          archive (PostgreSQL recycles it after that, never before)
#   wal.sh fetch %f %p     exit 0: restored; 1: not in the archive (the end
#                          of recovery); 130: the archive could not be read,
#                          which makes recovery stop with an error instead of
#                          ending early at a point short of the target
#
# Sourced by start.sh for spool_request (a restore's base backup).
set -uo pipefail

SPOOL=${KPG_SPOOL:-/spool}

# spool_request BASE CONTENT TIMEOUT: writes $SPOOL/BASE.req and prints the
# answer's text. Returns 0 ok, 1 missing, 2 failed, 3 no answer in TIMEOUT s.
spool_request() {
  local base=$SPOOL/$1 deadline=$((SECONDS + $3)) s
  rm -f "$base.ok" "$base.missing" "$base.err"
  printf '%s\n' "$2" >"$base.req.tmp" && mv "$base.req.tmp" "$base.req" || return 2
  while ((SECONDS < deadline)); do
    for s in ok missing err; do
      if [[ -e $base.$s ]]; then
        cat "$base.$s"
        rm -f "$base.$s"
        case $s in ok) return 0 ;; missing) return 1 ;; *) return 2 ;; esac
      fi
    done
    sleep 0.05
  done
  rm -f "$base.req"
  echo "the storage sidecar did not answer within $3 s (kubectl logs -c storage)"
  return 3
}

wal_main() {
  local answer rc=0
  case ${1:-} in
    archive)
      # %p is relative to the data directory, the command's working directory.
      answer=$(spool_request "arc.$3" "$PWD/$2" "${KPG_ARCHIVE_TIMEOUT:-300}") || rc=$?
      ((rc == 0)) && return 0
      echo "kpg: archiving $3 failed (PostgreSQL keeps it and retries): $answer" >&2
      return 1 ;;
    fetch)
      answer=$(spool_request "src.$2" "$PWD/$3" "${KPG_FETCH_TIMEOUT:-600}") || rc=$?
      case $rc in
        0) return 0 ;;
        1) return 1 ;;
      esac
      echo "kpg: cannot fetch $2 from the archive: $answer" >&2
      return 130 ;;
    *)
      echo "usage: wal.sh archive %p %f | fetch %f %p" >&2
      return 2 ;;
  esac
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  wal_main "$@"
  exit $?
fi

#!/bin/sh
# storage.sh: the storage sidecar (rclone/rclone image: busybox sh, rclone),
# rendered by kpg for clusters with spec.archiver or spec.init.postgresWAL.
#
#   serve             answer the postgres container's requests in the spool
#   list              print every complete base backup's backup.info
#   upload-base [ID]  the uploader of a base backup Job (kpg backup)
#   prune BEFORE ID.. remove base backups and the WAL before a segment (kpg backup prune)
#   purge             remove the whole archive (kpg delete, WipeOut)
#
# The postgres container (official image, no rclone) asks through files in
# the shared spool directory, one request at a time (wal.sh, start.sh):
#   arc.F.req   archive the WAL file whose absolute path it holds, as F
#   src.F.req   fetch WAL file F from the restore source to the path it holds
#   base.req    extract the base backup a restore starts from
# and this script answers with F.ok, F.missing or F.err (the reason).
#
# Remotes: ARC (the archiver's archive) and SRC (the archive a new cluster is
# restored from), each from KPG_<R>_KIND, _ROOT, _ENDPOINT, _REGION and the
# Secret mounted at _SECRET, read again for every call: a corrected Secret
# is used as soon as the kubelet updates the volume. Credentials reach
# rclone through its environment only, never a command line or a file.
set -eu

SPOOL=${KPG_SPOOL:-/spool}
PGDATA=${PGDATA:-/var/lib/postgresql/data/pgdata}
export HOME="$SPOOL" XDG_CACHE_HOME="$SPOOL/.cache" RCLONE_CONFIG="$SPOOL/rclone.conf"
RCLONE_FLAGS="-q --contimeout 10s --timeout 60s --retries 1 --low-level-retries 3"

log() { printf 'kpg-storage: %s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }

# secret_value DIR KEY: a key of the mounted Secret, empty when absent.
secret_value() { if [ -r "$1/$2" ]; then cat "$1/$2"; fi; }

# var NAME: the value of the variable named NAME, empty when unset.
var() { eval "printf '%s' \"\${$1:-}\""; }

# configure R: exports rclone's RCLONE_CONFIG_<R>_* for remote R (ARC or SRC).
configure() {
  r=$1
  kind=$(var "KPG_${r}_KIND")
  secret=$(var "KPG_${r}_SECRET")
  endpoint=$(var "KPG_${r}_ENDPOINT")
  region=$(var "KPG_${r}_REGION")
  [ -n "$kind" ] || { echo "remote $r is not configured" >&2; return 1; }
  case $kind in
    local) export "RCLONE_CONFIG_${r}_TYPE=local" ;;
    s3)
      export "RCLONE_CONFIG_${r}_TYPE=s3" "RCLONE_CONFIG_${r}_PROVIDER=Other" \
        "RCLONE_CONFIG_${r}_FORCE_PATH_STYLE=true" "RCLONE_CONFIG_${r}_NO_CHECK_BUCKET=true" \
        "RCLONE_CONFIG_${r}_REGION=${region:-us-east-1}" \
        "RCLONE_CONFIG_${r}_ENDPOINT=${endpoint:-https://s3.amazonaws.com}" \
        "RCLONE_CONFIG_${r}_ACCESS_KEY_ID=$(secret_value "$secret" AWS_ACCESS_KEY_ID)" \
        "RCLONE_CONFIG_${r}_SECRET_ACCESS_KEY=$(secret_value "$secret" AWS_SECRET_ACCESS_KEY)"
      ;;
    gcs)
      export "RCLONE_CONFIG_${r}_TYPE=google cloud storage" \
        "RCLONE_CONFIG_${r}_PROJECT_NUMBER=$(secret_value "$secret" GOOGLE_PROJECT_ID)" \
        "RCLONE_CONFIG_${r}_SERVICE_ACCOUNT_CREDENTIALS=$(secret_value "$secret" GOOGLE_SERVICE_ACCOUNT_JSON_KEY)"
      ;;
    azure)
      export "RCLONE_CONFIG_${r}_TYPE=azureblob" \
        "RCLONE_CONFIG_${r}_ACCOUNT=$(secret_value "$secret" AZURE_ACCOUNT_NAME)" \
        "RCLONE_CONFIG_${r}_KEY=$(secret_value "$secret" AZURE_ACCOUNT_KEY)"
      ;;
    swift)
      export "RCLONE_CONFIG_${r}_TYPE=swift" \
        "RCLONE_CONFIG_${r}_USER=$(secret_value "$secret" OS_USERNAME)" \
        "RCLONE_CONFIG_${r}_KEY=$(secret_value "$secret" OS_PASSWORD)" \
        "RCLONE_CONFIG_${r}_AUTH=$(secret_value "$secret" OS_AUTH_URL)" \
        "RCLONE_CONFIG_${r}_TENANT=$(secret_value "$secret" OS_TENANT_NAME)" \
        "RCLONE_CONFIG_${r}_DOMAIN=$(secret_value "$secret" OS_USER_DOMAIN_NAME)" \
        "RCLONE_CONFIG_${r}_REGION=$(secret_value "$secret" OS_REGION_NAME)" \
        "RCLONE_CONFIG_${r}_AUTH_VERSION=$(secret_value "$secret" ST_AUTH_VERSION)"
      ;;
    *) echo "remote $r: unknown kind $kind" >&2; return 1 ;;
  esac
  # A custom CA (the storage Secret's CA_CERT_DATA) for a server of one's own.
  ca=$(secret_value "$secret" CA_CERT_DATA)
  if [ -n "$ca" ]; then
    printf '%s\n' "$ca" >"$SPOOL/ca-$r.pem"
    export RCLONE_CA_CERT="$SPOOL/ca-$r.pem"
  else
    unset RCLONE_CA_CERT
  fi
}

# root R: the archive's path for rclone (R:bucket/dir or R:/dir).
root() { printf '%s:%s' "$1" "$(var "KPG_${1}_ROOT")"; }

# rc R ARGS...: rclone with remote R configured; its errors on stderr.
rc() {
  r=$1
  shift
  configure "$r" || return 1
  # shellcheck disable=SC2086  # the flags are words
  rclone $RCLONE_FLAGS "$@"
}

# answer REQ STATUS [TEXT]: F.ok / F.missing / F.err beside request REQ, then the request goes.
answer() {
  base=${1%.req}
  printf '%s\n' "${3:-}" >"$base.$2.tmp"
  mv "$base.$2.tmp" "$base.$2"
  rm -f "$1"
}

archive_one() {
  req=$1 f=$2
  src=$(cat "$req")
  gz="$SPOOL/upload.gz"
  if ! gzip -1 -c "$src" >"$gz" 2>"$SPOOL/err"; then
    answer "$req" err "cannot read $src: $(cat "$SPOOL/err")"
    return 0
  fi
  # copyto compares size and checksum with what the server stored.
  if rc ARC copyto "$gz" "$(root ARC)/wal/$f.gz" 2>"$SPOOL/err"; then
    rm -f "$gz" "$SPOOL/last-error"
    printf '%s %s\n' "$f" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$SPOOL/last-archived"
    answer "$req" ok
    case $f in *.history) catch_up "${f%.history}" ;; esac
  else
    why=$(tr '\n' ' ' <"$SPOOL/err")
    log "!!! archiving $f failed, PostgreSQL keeps it and retries: $why"
    printf '%s %s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$f" "$why" >"$SPOOL/last-error"
    rm -f "$gz"
    answer "$req" err "$why"
  fi
}

# catch_up TIMELINE: this pod was just promoted onto TIMELINE (its .history
# file is stored). Only a primary archives, so the segments of the older
# timelines the former primary had not archived yet, which this pod has
# streamed (or kpg failover salvaged into its pg_wal), would be missing from
# the archive and no restore could cross the switch: store them now.
catch_up() {
  tl=$1 n=0
  set +e
  rc ARC lsf --files-only "$(root ARC)/wal/" >"$SPOOL/catch-up-list" 2>"$SPOOL/err"
  code=$?
  set -e
  if [ "$code" -ne 0 ] && [ "$code" -ne 3 ]; then
    log "!!! cannot list the archive to store the former timeline's segments: $(tr '\n' ' ' <"$SPOOL/err")"
    return 0
  fi
  for p in "$PGDATA"/pg_wal/*; do
    f=${p##*/}
    case $f in *.history | *.backup | archive_status) continue ;; esac
    [ "${#f}" -ge 24 ] || continue
    # Upper-case hex of equal length: the smaller sorts first.
    older=$(printf '%s\n%s\n' "$(printf '%s' "$f" | cut -c1-8)" "$tl" | sort | head -n 1)
    [ "$older" != "$tl" ] || continue
    grep -qx "$f.gz" "$SPOOL/catch-up-list" && continue
    if gzip -1 -c "$p" >"$SPOOL/catch-up.gz" && rc ARC copyto "$SPOOL/catch-up.gz" "$(root ARC)/wal/$f.gz" 2>"$SPOOL/err"; then
      n=$((n + 1))
    else
      log "!!! storing $f of the former timeline failed: $(tr '\n' ' ' <"$SPOOL/err")"
    fi
  done
  rm -f "$SPOOL/catch-up.gz"
  log "promoted onto timeline $tl: stored $n segment(s) of the former timeline the archive lacked"
}

fetch_one() {
  req=$1 f=$2
  dest=$(cat "$req")
  obj="$(root SRC)/wal/$f.gz"
  set +e
  found=$(rc SRC lsf "$obj" 2>"$SPOOL/err")
  code=$?
  set -e
  if [ "$code" -ne 0 ] && [ "$code" -ne 3 ]; then
    answer "$req" err "listing $obj: $(tr '\n' ' ' <"$SPOOL/err")"
    return 0
  fi
  if [ -z "$found" ]; then
    answer "$req" missing
    return 0
  fi
  if rc SRC cat "$obj" 2>"$SPOOL/err" | gzip -dc >"$dest.kpg-tmp" && [ -s "$dest.kpg-tmp" ]; then
    mv "$dest.kpg-tmp" "$dest"
    answer "$req" ok
  else
    rm -f "$dest.kpg-tmp"
    answer "$req" err "fetching $obj: $(tr '\n' ' ' <"$SPOOL/err")"
  fi
}

# info_field FILE KEY
info_field() { sed -n "s/^$2=//p" "$1" | head -n 1; }

# choose_base TIME_EPOCH XID: the newest complete backup that ended before the
# target (every backup when there is none), as its id on stdout.
choose_base() {
  want_epoch=$1 want_xid=$2 best='' best_epoch=0
  list_infos >"$SPOOL/infos" || return 1
  while IFS= read -r line; do
    case $line in
      id=*) id=${line#id=} epoch=0 xid=0 ;;
      stop_epoch=*) epoch=${line#stop_epoch=} ;;
      next_xid=*) xid=${line#next_xid=} ;;
      ---)
        if [ -n "$want_epoch" ] && [ "$epoch" -gt "$want_epoch" ]; then continue; fi
        if [ -n "$want_xid" ] && [ "$xid" -gt "$want_xid" ]; then continue; fi
        if [ "$epoch" -ge "$best_epoch" ]; then best=$id best_epoch=$epoch; fi
        ;;
    esac
  done <"$SPOOL/infos"
  printf '%s\n' "$best"
}

base_one() {
  req=$1
  dest=$(info_field "$req" dest)
  id=$(choose_base "$(info_field "$req" time_epoch)" "$(info_field "$req" xid)" 2>"$SPOOL/err") || {
    answer "$req" err "listing the base backups: $(tr '\n' ' ' <"$SPOOL/err")"
    return 0
  }
  if [ -z "$id" ]; then
    answer "$req" err "no base backup in $(root SRC)/basebackups ended before the target: take one with kpg backup (a restore starts from a base backup and replays the WAL after it)"
    return 0
  fi
  log "restoring base backup $id into $dest"
  mkdir -p "$dest"
  if rc SRC cat "$(root SRC)/basebackups/$id/base.tar" 2>"$SPOOL/err" | tar -x -f - -C "$dest" 2>>"$SPOOL/err"; then
    rc SRC cat "$(root SRC)/basebackups/$id/backup.info" >"$SPOOL/base.info" 2>>"$SPOOL/err" || true
    answer "$req" ok "$(cat "$SPOOL/base.info")"
  else
    answer "$req" err "extracting base backup $id: $(tr '\n' ' ' <"$SPOOL/err")"
  fi
}

serve() {
  log "serving the spool $SPOOL${KPG_ARC_KIND:+ (archive $KPG_ARC_KIND:$KPG_ARC_ROOT)}${KPG_SRC_KIND:+ (restore from $KPG_SRC_KIND:$KPG_SRC_ROOT)}"
  trap 'log "stopping"; exit 0' TERM INT
  while :; do
    busy=0
    for req in "$SPOOL"/*.req; do
      [ -e "$req" ] || continue
      busy=1
      name=${req##*/}
      case $name in
        arc.*) archive_one "$req" "$(basename "${name#arc.}" .req)" ;;
        src.*) fetch_one "$req" "$(basename "${name#src.}" .req)" ;;
        base.req) base_one "$req" ;;
        *) answer "$req" err "unknown request $name" ;;
      esac
    done
    [ "$busy" = 1 ] || sleep 0.2
  done
}

# list_infos [R]: every complete backup's backup.info, each followed by '---'.
list_infos() {
  r=${1:-SRC}
  set +e
  ids=$(rc "$r" lsf --dirs-only "$(root "$r")/basebackups/")
  code=$?
  set -e
  [ "$code" -eq 0 ] || [ "$code" -eq 3 ] || return 1
  for id in $ids; do
    id=${id%/}
    if info=$(rc "$r" cat "$(root "$r")/basebackups/$id/backup.info" 2>/dev/null) && [ -n "$info" ]; then
      printf '%s\n---\n' "$info"
    fi
  done
}

# upload-base ID: stream the Job's base.tar (a FIFO the basebackup container
# writes) to the archive, then, once pg_basebackup succeeded, its backup.info:
# a backup without one is incomplete and never restored from.
upload_base() {
  id=${1:-} work=${KPG_WORK:-/work}
  if [ -z "$id" ]; then
    until [ -s "$work/id" ]; do sleep 0.1; done
    id=$(cat "$work/id")
  fi
  dir="$(root ARC)/basebackups/$id"
  until [ -p "$work/base.tar" ]; do mkfifo "$work/base.tar" 2>/dev/null || sleep 0.1; done
  log "uploading base backup $id to ${dir#ARC:}"
  # Larger parts, four at a time: the default 5 MiB parts one after another
  # held a 1 GB backup to 16 MiB/s (bench/README.md). About 128 MiB of buffers.
  rc ARC rcat --s3-chunk-size 32M --s3-upload-concurrency 4 "$dir/base.tar" <"$work/base.tar" || {
    log "!!! the upload of base backup $id failed"
    exit 1
  }
  until [ -s "$work/status" ]; do sleep 0.2; done
  if [ "$(cat "$work/status")" != 0 ]; then
    log "!!! pg_basebackup failed; removing the incomplete upload"
    rc ARC purge "$dir" || true
    exit 1
  fi
  bytes=$(rc ARC size --json "$dir/base.tar" | sed -n 's/.*"bytes":\([0-9]*\).*/\1/p')
  { cat "$work/meta"; echo "bytes=${bytes:-0}"; } >"$work/backup.info"
  rc ARC copyto "$work/backup.info" "$dir/backup.info"
  log "base backup $id complete"
  # The last line of the log is what kpg backup prints.
  printf 'KPG-BACKUP '
  tr '\n' ' ' <"$work/backup.info"
  echo
}

# prune BEFORE ID...: removes base backups ID... and the WAL of segments
# before BEFORE (its timeline aside: timelines only branch forward); the
# .history files stay, restores of any kept backup may follow them.
prune() {
  before=$1
  shift
  for id in "$@"; do
    rc ARC purge "$(root ARC)/basebackups/$id"
    echo "removed base backup $id"
  done
  set +e
  rc ARC lsf --files-only "$(root ARC)/wal/" >"$SPOOL/wal-list"
  code=$?
  set -e
  [ "$code" -eq 0 ] || [ "$code" -eq 3 ] || return 1
  # Equal-length upper-case hex: string order is segment order ("" forces strings).
  awk -v want="$(printf '%s' "$before" | cut -c9-24)" \
    'substr($0, 1, 24) !~ /[^0-9A-F]/ && length($0) >= 24 && (substr($0, 9, 16) "") < (want "")' "$SPOOL/wal-list" >"$SPOOL/wal-old"
  if [ -s "$SPOOL/wal-old" ]; then
    rc ARC delete --files-from-raw "$SPOOL/wal-old" "$(root ARC)/wal/"
  fi
  echo "removed $(wc -l <"$SPOOL/wal-old" | tr -d ' ') WAL files before $before"
}

# purge: the whole archive (kpg delete of a WipeOut cluster, which has set
# every pod's archive_command to 'true' first). An upload still under way
# would put its object back: wait until the spool is idle (30 s at most).
purge() {
  i=0
  while [ "$i" -lt 150 ] && ls "$SPOOL"/*.req >/dev/null 2>&1; do
    sleep 0.2
    i=$((i + 1))
  done
  set +e
  rc ARC purge "$(root ARC)" 2>"$SPOOL/err"
  code=$?
  set -e
  # Nothing there (never archived, or removed before) is done too.
  [ "$code" -eq 0 ] || [ "$code" -eq 3 ] || { cat "$SPOOL/err" >&2; return 1; }
  echo "removed $(root ARC)"
}

case ${1:-} in
  serve) serve ;;
  list) list_infos "${2:-ARC}" ;;
  upload-base) upload_base "${2:-}" ;;
  prune) shift; prune "$@" ;;
  purge) purge ;;
  *) echo "usage: storage.sh serve | list [ARC|SRC] | upload-base [ID] | prune BEFORE [ID...] | purge" >&2; exit 2 ;;
esac

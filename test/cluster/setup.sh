#!/usr/bin/env bash
# Prepares this machine for the local test cluster. Idempotent and quiet when
# everything is already there (used by `npm test`, `npm run demo`, .ci/run).
#
#  - Debian packages the cluster uses (installed only when missing):
#      postgresql-15, postgresql-client-15  server binaries the pods run
#                                           (/usr/lib/postgresql/15/bin), psql
#      iproute2     ip netns / veth / bridge for pod networking
#      util-linux   nsenter, setsid, findmnt, mount
#      openssl      the cluster PKI
#      procps       ps/pkill-free process inspection, sysctl
#      tmux         `npm run demo`
#      nftables     nft(8): faults.ts partitionNode/loseNode drop pod traffic
#                   with a bridge-family table on kpg0
#      rclone       /usr/bin/rclone (1.60.1), what rclone/rclone:1.60 images
#                   run (the S3 client of test/e2e/s3.ts and of kpg's WAL
#                   archiving sidecar)
#  - Go >= 1.26 (builds the upstream Kubernetes binaries and kpg-node)
#  - test/cluster/build.sh
#
# Debian's own PostgreSQL service is not used: every pod runs its own server
# in its own network namespace, so nothing here starts or needs it.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PACKAGES=(postgresql-15 postgresql-client-15 iproute2 util-linux openssl procps tmux curl nftables rclone shellcheck vim-tiny)
GO_MIN=1.26

say() { echo "setup: $*"; }

if [[ $(id -u) != 0 ]]; then
  say "must run as root: it installs Debian packages, and the cluster's node agent" >&2
  say "creates network namespaces, veth links, a bridge and mounts. Nothing was changed." >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Installing postgresql-15 creates (and may start) Debian's own cluster
  # 15/main. Nothing here uses it: stop it and keep it from starting on boot.
  if [[ " ${missing[*]} " == *" postgresql-15 "* && -f /etc/postgresql/15/main/start.conf ]]; then
    pg_ctlcluster 15 main stop >/dev/null 2>&1 || true
    echo manual >/etc/postgresql/15/main/start.conf
    say "Debian's PostgreSQL cluster 15/main is not used: stopped, set to manual start"
  fi
fi
[[ -x /usr/lib/postgresql/15/bin/postgres && -x /usr/lib/postgresql/15/bin/initdb ]] \
  || { say "PostgreSQL 15 server binaries not found in /usr/lib/postgresql/15/bin" >&2; exit 1; }
say "packages ok (${#PACKAGES[@]} checked${missing:+, installed ${#missing[@]}})"

# Go
if ! command -v go >/dev/null && [[ -x /usr/local/go/bin/go ]]; then
  export PATH=/usr/local/go/bin:$PATH
fi
command -v go >/dev/null || { say "Go >= $GO_MIN is required (not found in PATH or /usr/local/go)" >&2; exit 1; }
gov=$(go env GOVERSION)            # go1.26.8
gov=${gov#go}
if [[ $(printf '%s\n%s\n' "$GO_MIN" "$gov" | sort -V | head -1) != "$GO_MIN" ]]; then
  say "Go >= $GO_MIN is required, found $gov" >&2
  exit 1
fi
say "go $gov ok"

exec bash "$here/build.sh"

#!/usr/bin/env bash
# Builds the local cluster's binaries.
#
#  1. The five upstream binaries (kube-apiserver, kube-controller-manager,
#     kube-scheduler, kubectl, etcd) from the wrapper module test/cluster/go,
#     pinned by its go.mod/go.sum, into ~/.cache/kpg/<key>/bin/. <key> is a
#     short sha256 of go.mod + go.sum + the version ldflags, so a warm machine
#     skips this step entirely (cold: tens of minutes on 2 cores, see README).
#  2. versitygw, the S3 server that versity/versitygw images run, from its
#     own small module test/cluster/s3 (a `tool` dependency pinned by its
#     go.mod/go.sum, so the upstream key above does not change with it), into
#     ~/.cache/kpg/<s3key>/bin/versitygw, <s3key> a short sha256 of that
#     go.mod + go.sum + its ldflags; linked to .cluster/bin/versitygw.
#  3. Our node agent kpg-node (./cmd/kpg-node), always rebuilt (incremental),
#     into .cluster/bin/kpg-node; kubectl is linked to .cluster/bin/kubectl.
#
# Environment: KPG_CACHE (default ~/.cache/kpg), KPG_FORCE_BUILD=1 rebuilds the
# upstream binaries and versitygw even when cached.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
gomod=$here/go
state=$repo/.cluster
cache=${KPG_CACHE:-$HOME/.cache/kpg}

K8S_VERSION=v1.36.3
K8S_MAJOR=1
K8S_MINOR=36
# kube-apiserver etc. report these through /version and `kubectl version`.
vpkgs=(k8s.io/component-base/version k8s.io/client-go/pkg/version)
version_ldflags=""
for p in "${vpkgs[@]}"; do
  version_ldflags+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=$K8S_MAJOR -X $p.gitMinor=$K8S_MINOR"
  version_ldflags+=" -X $p.gitTreeState=clean -X $p.gitCommit="
done
version_ldflags=${version_ldflags# }

PKGS=(
  k8s.io/kubernetes/cmd/kube-apiserver
  k8s.io/kubernetes/cmd/kube-controller-manager
  k8s.io/kubernetes/cmd/kube-scheduler
  k8s.io/kubernetes/cmd/kubectl
  go.etcd.io/etcd/server/v3
)
BINS=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd)

now() { date +%s%N; }
step() { # step <label> <start-ns>
  local ms=$(( ($(now) - $2) / 1000000 ))
  printf 'build: %-40s %4d.%01ds\n' "$1" $((ms / 1000)) $((ms % 1000 / 100))
}

key=$( { cat "$gomod/go.mod" "$gomod/go.sum"; echo "$version_ldflags"; } | sha256sum | cut -c1-12)
bindir=$cache/$key/bin
mkdir -p "$cache"

have_all() {
  local b
  for b in "${BINS[@]}"; do [[ -x $1/$b ]] || return 1; done
}

# trial_matches <dir>: binaries in <dir> were built from exactly the modules
# in go.sum (every dependency hash in the binaries is in go.sum) and carry the
# pinned gitVersion. Used to adopt a build made by hand with the same pins.
trial_matches() {
  local dir=$1 b f info
  [[ -x $dir/kube-apiserver && -x $dir/kube-controller-manager && -x $dir/kube-scheduler && -x $dir/kubectl ]] || return 1
  for b in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    info=$(go version -m "$dir/$b" 2>/dev/null) || return 1
    grep -q "gitVersion=$K8S_VERSION" <<<"$info" || return 1
    # dep lines: "dep <mod> <ver> <h1:...>"; replacements: "=> <mod> <ver> <h1:...>"
    while read -r mod ver sum; do
      grep -qF "$mod $ver $sum" "$gomod/go.sum" || return 1
    done < <(awk '($1=="dep"||$1=="=>") && $4 ~ /^h1:/ {print $2, $3, $4}' <<<"$info")
  done
  f=$dir/etcd; [[ -x $f ]] || f=$dir/v3; [[ -x $f ]] || f=$dir/server; [[ -x $f ]] || return 1
  info=$(go version -m "$f" 2>/dev/null) || return 1
  grep -q "path[[:space:]]*go.etcd.io/etcd/server/v3" <<<"$info" || return 1
  while read -r mod ver sum; do
    grep -qF "$mod $ver $sum" "$gomod/go.sum" || return 1
  done < <(awk '($1=="dep"||$1=="=>") && $4 ~ /^h1:/ {print $2, $3, $4}' <<<"$info")
  echo "$f"
}

t0=$(now)
if [[ ${KPG_FORCE_BUILD:-0} != 1 ]] && have_all "$bindir"; then
  step "upstream binaries (cached $key)" "$t0"
else
  tmp=$cache/$key/bin.tmp.$$
  rm -rf "$tmp"; mkdir -p "$tmp"
  trial=$cache/trial
  if [[ ${KPG_FORCE_BUILD:-0} != 1 ]] && etcdbin=$(trial_matches "$trial"); then
    for b in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
      cp "$trial/$b" "$tmp/$b"
    done
    cp "$etcdbin" "$tmp/etcd"
    how="adopted from $trial"
  else
    how=built
    echo "build: compiling upstream $K8S_VERSION + etcd (cold: ~8 min on 2 cores; log $cache/$key/build.log)"
    ldflags="-s -w $version_ldflags -X k8s.io/component-base/version.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ) -X k8s.io/client-go/pkg/version.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    if ! (cd "$gomod" && go build -trimpath -ldflags "$ldflags" -o "$tmp/" "${PKGS[@]}") \
         >"$cache/$key/build.log" 2>&1; then
      # Only if the module graph needs updating (should not happen with a
      # complete go.sum) retry with -mod=mod.
      if grep -qE 'updates to go.mod needed|missing go.sum entry' "$cache/$key/build.log"; then
        (cd "$gomod" && GOFLAGS=-mod=mod go build -trimpath -ldflags "$ldflags" -o "$tmp/" "${PKGS[@]}") \
          >>"$cache/$key/build.log" 2>&1 || { tail -30 "$cache/$key/build.log" >&2; exit 1; }
      else
        tail -30 "$cache/$key/build.log" >&2
        exit 1
      fi
    fi
    # go names the binary of .../server/v3 after "server".
    for cand in server v3; do [[ -x $tmp/$cand ]] && mv "$tmp/$cand" "$tmp/etcd"; done
  fi
  have_all "$tmp" || { echo "build: missing binaries in $tmp" >&2; ls -la "$tmp" >&2; exit 1; }
  rm -rf "$bindir"; mv "$tmp" "$bindir"
  step "upstream binaries ($key $how)" "$t0"
fi

mkdir -p "$state/bin"
ln -sfn "$bindir/kubectl" "$state/bin/kubectl"
# cluster.sh reads the binaries' location from here.
ln -sfn "$bindir" "$state/bin/upstream"

# versitygw (its module pins the version; main.Version is what its Makefile
# stamps, `versitygw --version` shows it). kpg-node reads the module version
# from the binary's build info to match versity/versitygw:<tag> images.
s3mod=$here/s3
VERSITYGW_VERSION=$(awk '$1 == "github.com/versity/versitygw" {print $2}' "$s3mod/go.mod")
[[ -n $VERSITYGW_VERSION ]] || { echo "build: $s3mod/go.mod does not require github.com/versity/versitygw" >&2; exit 1; }
vgw_ldflags="-s -w -X main.Version=$VERSITYGW_VERSION"
s3key=$( { cat "$s3mod/go.mod" "$s3mod/go.sum"; echo "$vgw_ldflags"; } | sha256sum | cut -c1-12)
s3bindir=$cache/$s3key/bin
t0=$(now)
if [[ ${KPG_FORCE_BUILD:-0} != 1 && -x $s3bindir/versitygw ]]; then
  step "versitygw (cached $s3key)" "$t0"
else
  mkdir -p "$cache/$s3key"
  tmp=$cache/$s3key/bin.tmp.$$
  rm -rf "$tmp"; mkdir -p "$tmp"
  echo "build: compiling versitygw $VERSITYGW_VERSION (cold: ~2 min on 2 cores; log $cache/$s3key/build.log)"
  # CGO_ENABLED=0 as in versitygw's Dockerfile: a static binary.
  if ! (cd "$s3mod" && CGO_ENABLED=0 go build -trimpath -ldflags "$vgw_ldflags" -o "$tmp/" \
          github.com/versity/versitygw/cmd/versitygw) >"$cache/$s3key/build.log" 2>&1; then
    tail -30 "$cache/$s3key/build.log" >&2
    exit 1
  fi
  [[ -x $tmp/versitygw ]] || { echo "build: versitygw missing in $tmp" >&2; ls -la "$tmp" >&2; exit 1; }
  rm -rf "$s3bindir"; mv "$tmp" "$s3bindir"
  step "versitygw ($s3key built)" "$t0"
fi
ln -sfn "$s3bindir/versitygw" "$state/bin/versitygw"

t0=$(now)
# kpg-node is our own code: rebuilt (incrementally, by go) whenever any of
# the wrapper module's files is newer than the binary. Skipping go entirely
# when nothing changed saves several seconds on a loaded 2-core machine.
kpg_node_stale() {
  [[ ${KPG_FORCE_BUILD:-0} == 1 || ! -x $state/bin/kpg-node ]] && return 0
  [[ -n $(find "$gomod/go.mod" "$gomod/go.sum" "$gomod/cmd" "$gomod/internal" \
            -newer "$state/bin/kpg-node" -print -quit 2>/dev/null) ]]
}
if compgen -G "$gomod/cmd/kpg-node/*.go" >/dev/null; then
  if kpg_node_stale; then
    (cd "$gomod" && go build -trimpath -o "$state/bin/kpg-node.new.$$" ./cmd/kpg-node) \
      || { rm -f "$state/bin/kpg-node.new.$$"; echo "build: kpg-node failed to build" >&2; exit 1; }
    mv -f "$state/bin/kpg-node.new.$$" "$state/bin/kpg-node"
    step "kpg-node (built)" "$t0"
  else
    step "kpg-node (up to date)" "$t0"
  fi
else
  echo "build: kpg-node: $gomod/cmd/kpg-node not present yet, skipped"
fi

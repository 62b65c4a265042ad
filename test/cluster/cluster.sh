#!/usr/bin/env bash
# The local Kubernetes test cluster: upstream etcd, kube-apiserver,
# kube-controller-manager and kube-scheduler plus our node agent kpg-node,
# each a plain process on this machine (see test/cluster/README.md).
#
#   bash test/cluster/cluster.sh up|down|status|apiserver-stop|apiserver-start|logs [name] [-f]
#
# Environment:
#   KPG_SKIP_BUILD=1   do not run build.sh from `up` (binaries must exist)
#   KPG_NO_NODES=1     control plane only (no kpg-node, no node wait)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
state=$repo/.cluster
cache=${KPG_CACHE:-$HOME/.cache/kpg}
pki=$state/pki
logs=$state/logs
run=$state/run
kcdir=$state/kubeconfigs
KUBECONFIG_ADMIN=$state/kubeconfig
upstream=$state/bin/upstream
KUBECTL=$state/bin/kubectl
KPG_NODE=$state/bin/kpg-node

ETCD_CLIENT_PORT=12379
ETCD_PEER_PORT=12380
APISERVER_PORT=6443
CM_PORT=10257
SCHED_PORT=10259
NODES=3
NODE_PREFIX=kpg-worker-
KUBELET_PORT_BASE=10250
BRIDGE=kpg0
# The node lifecycle controller marks a node NotReady this long after its
# last heartbeat (default 50s). Short so that tests of a lost node
# (faults.ts loseNode) are quick; kpg-node renews leases every 2 s, and an
# API server stopped by apiserver-stop for a few seconds stays well inside it.
NODE_MONITOR_GRACE=15s
NODE_MONITOR_PERIOD=1s

# Component order: started in this order, stopped in reverse.
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kpg-node)

log() { echo "cluster: $*" >&2; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
T_START=$(now_ms)
elapsed() { local ms=$(( $(now_ms) - T_START )); printf '%d.%01ds' $((ms / 1000)) $((ms % 1000 / 100)); }

# ---------------------------------------------------------------- processes

binary_of() {
  case $1 in
    kpg-node) echo "$KPG_NODE" ;;
    *) echo "$upstream/$1" ;;
  esac
}

# pid_of <name>: prints the pid if the component is running (pid file points
# at a live process whose command line names the component's binary).
pid_of() {
  local f=$run/$1.pid pid
  [[ -s $f ]] || return 1
  pid=$(<"$f")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/cmdline ]] || return 1
  # zombies count as gone
  [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$1" || return 1
  echo "$pid"
}

# start <name> <args...>: detached (own session, no controlling tty),
# logs appended to .cluster/logs/<name>.log, pid in .cluster/run/<name>.pid.
start() {
  local name=$1; shift
  local bin
  bin=$(binary_of "$name")
  [[ -x $bin ]] || { log "$name: binary $bin missing (run test/cluster/build.sh)"; exit 1; }
  mkdir -p "$logs" "$run"
  echo "==== $(date -u +%FT%TZ) starting $name" >>"$logs/$name.log"
  # In a non-interactive shell the background child is not a process-group
  # leader, so setsid(1) calls setsid() and execs in place: $! is the pid.
  # fd 9 is the lifecycle lock: not inherited.
  setsid nohup "$bin" "$@" </dev/null >>"$logs/$name.log" 2>&1 9>&- &
  echo $! >"$run/$name.pid"
}

# supervise <name> <args...>: like start, but restarted whenever it exits, as
# the kubelet restarts a static control-plane pod. The scheduler, for one,
# exits on purpose when it finds its cache inconsistent (seen after the API
# server was stopped under load). The pid file holds the supervisor, which
# leads its own process group: stop() signals the whole group.
supervise() {
  local name=$1; shift
  local bin
  bin=$(binary_of "$name")
  [[ -x $bin ]] || { log "$name: binary $bin missing (run test/cluster/build.sh)"; exit 1; }
  mkdir -p "$logs" "$run"
  echo "==== $(date -u +%FT%TZ) starting $name (supervised)" >>"$logs/$name.log"
  # shellcheck disable=SC2016  # expanded by the inner bash, not here
  setsid nohup bash -c '
    name=$1; shift
    trap "kill -TERM \$child 2>/dev/null; wait \$child; exit 0" TERM INT
    while :; do
      "$@" & child=$!
      wait $child; rc=$?
      echo "==== $(date -u +%FT%TZ) $name exited with $rc, restarting in 1s"
      sleep 1
    done' "supervise-$name" "$name" "$bin" "$@" </dev/null >>"$logs/$name.log" 2>&1 9>&- &
  echo $! >"$run/$name.pid"
}

# alive <pid>: exists and is not a zombie
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]
}

# stop <name> <timeout-s>: SIGTERM, wait, SIGKILL.
stop() {
  local name=$1 timeout=${2:-15} pid i
  if pid=$(pid_of "$name"); then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout * 10; i++)); do
      alive "$pid" || break
      sleep 0.1
    done
    if alive "$pid"; then
      log "$name (pid $pid) did not stop within ${timeout}s, killing"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
    fi
  fi
  rm -f "$run/$name.pid"
}

fail() { # fail <component> <message>
  log "$2"
  if [[ -f $logs/$1.log ]]; then
    echo "---- last lines of $logs/$1.log" >&2
    tail -n 40 "$logs/$1.log" >&2
    echo "----" >&2
  fi
  exit 1
}

# wait_until <component> <timeout-s> <description> <command...>
wait_until() {
  local comp=$1 timeout=$2 what=$3; shift 3
  local deadline=$(( $(now_ms) + timeout * 1000 ))
  while ! "$@" >/dev/null 2>&1; do
    if [[ $comp != - ]] && ! pid_of "$comp" >/dev/null; then
      fail "$comp" "$comp exited while waiting for $what"
    fi
    (( $(now_ms) < deadline )) || fail "$comp" "timed out after ${timeout}s waiting for $what"
    sleep 0.2
  done
}

port_in_use_by_other() { # port_in_use_by_other <port> <component>
  local pid
  ss -Hltn "sport = :$1" 2>/dev/null | grep -q . || return 1
  pid=$(pid_of "$2") && ss -Hltnp "sport = :$1" 2>/dev/null | grep -q "pid=$pid," && return 1
  return 0
}

# ---------------------------------------------------------------- config

b64() { base64 -w0 <"$1"; }

# kubeconfig <file> <user> <cert> <key> [namespace]
kubeconfig() {
  local f=$1 user=$2 crt=$3 key=$4 ns=${5:-default}
  mkdir -p "$(dirname "$f")"
  umask 077
  cat >"$f.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: kpg-local
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $(b64 "$pki/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(b64 "$crt")
    client-key-data: $(b64 "$key")
contexts:
- name: kpg-local
  context:
    cluster: kpg-local
    user: $user
    namespace: $ns
current-context: kpg-local
EOF
  mv "$f.tmp" "$f"
}

write_kubeconfigs() {
  kubeconfig "$KUBECONFIG_ADMIN" kpg-admin "$pki/admin.crt" "$pki/admin.key"
  kubeconfig "$kcdir/controller-manager.kubeconfig" system:kube-controller-manager \
    "$pki/controller-manager.crt" "$pki/controller-manager.key" kube-system
  kubeconfig "$kcdir/scheduler.kubeconfig" system:kube-scheduler \
    "$pki/scheduler.crt" "$pki/scheduler.key" kube-system
  kubeconfig "$kcdir/kpg-node.kubeconfig" kpg-node "$pki/kpg-node.crt" "$pki/kpg-node.key"
}

# ---------------------------------------------------------------- health

etcd_healthy() {
  curl -sf --max-time 2 "http://127.0.0.1:$ETCD_CLIENT_PORT/health" | grep -q '"health":"true"'
}
api_get() { # api_get <path>
  curl -sf --max-time 3 --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
    "https://127.0.0.1:$APISERVER_PORT$1"
}
apiserver_ready() { [[ $(api_get /readyz) == ok ]]; }
healthz_local() { # healthz_local <port>
  [[ $(curl -sk --max-time 2 "https://127.0.0.1:$1/healthz") == ok ]]
}
kc() { "$KUBECTL" --kubeconfig "$KUBECONFIG_ADMIN" --request-timeout=5s "$@"; }
ready_nodes() {
  kc get nodes -o jsonpath='{range .items[*]}{range .status.conditions[?(@.type=="Ready")]}{.status}{"\n"}{end}{end}' 2>/dev/null \
    | grep -c '^True$' || true
}
nodes_ready() { [[ $(ready_nodes) -ge $NODES ]]; }
default_sa() { kc -n default get serviceaccount default; }

# ---------------------------------------------------------------- components

start_etcd() {
  pid_of etcd >/dev/null && return 0
  port_in_use_by_other $ETCD_CLIENT_PORT etcd && fail etcd "port $ETCD_CLIENT_PORT is in use by another program"
  mkdir -p "$state/etcd"; chmod 700 "$state/etcd"
  start etcd \
    --name kpg \
    --data-dir "$state/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "kpg=http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster-state new \
    --unsafe-no-fsync \
    --log-level warn
}

start_apiserver() {
  pid_of kube-apiserver >/dev/null && return 0
  port_in_use_by_other $APISERVER_PORT kube-apiserver \
    && fail kube-apiserver "port $APISERVER_PORT is in use by another program"
  start kube-apiserver \
    --advertise-address=127.0.0.1 \
    --bind-address=127.0.0.1 \
    --secure-port=$APISERVER_PORT \
    --etcd-servers="http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --endpoint-reconciler-type=none \
    --service-cluster-ip-range=10.96.0.0/24 \
    --authorization-mode=Node,RBAC \
    --client-ca-file="$pki/ca.crt" \
    --tls-cert-file="$pki/apiserver.crt" \
    --tls-private-key-file="$pki/apiserver.key" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$pki/sa.pub" \
    --service-account-signing-key-file="$pki/sa.key" \
    --kubelet-client-certificate="$pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key="$pki/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority="$pki/ca.crt" \
    --kubelet-preferred-address-types=InternalIP,Hostname \
    --allow-privileged=true \
    --requestheader-client-ca-file="$pki/ca.crt" \
    --requestheader-allowed-names=front-proxy-client \
    --requestheader-username-headers=X-Remote-User \
    --requestheader-group-headers=X-Remote-Group \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --proxy-client-cert-file="$pki/front-proxy-client.crt" \
    --proxy-client-key-file="$pki/front-proxy-client.key" \
    --enable-admission-plugins=NodeRestriction \
    --profiling=false
}

start_controller_manager() {
  pid_of kube-controller-manager >/dev/null && return 0
  local kcf=$kcdir/controller-manager.kubeconfig
  supervise kube-controller-manager \
    --kubeconfig="$kcf" \
    --authentication-kubeconfig="$kcf" \
    --authorization-kubeconfig="$kcf" \
    --bind-address=127.0.0.1 \
    --secure-port=$CM_PORT \
    --client-ca-file="$pki/ca.crt" \
    --cluster-name=kpg-local \
    --cluster-signing-cert-file="$pki/ca.crt" \
    --cluster-signing-key-file="$pki/ca.key" \
    --root-ca-file="$pki/ca.crt" \
    --service-account-private-key-file="$pki/sa.key" \
    --service-cluster-ip-range=10.96.0.0/24 \
    --use-service-account-credentials \
    --node-monitor-grace-period=$NODE_MONITOR_GRACE \
    --node-monitor-period=$NODE_MONITOR_PERIOD \
    --leader-elect=false \
    --profiling=false
}

start_scheduler() {
  pid_of kube-scheduler >/dev/null && return 0
  local kcf=$kcdir/scheduler.kubeconfig
  supervise kube-scheduler \
    --kubeconfig="$kcf" \
    --authentication-kubeconfig="$kcf" \
    --authorization-kubeconfig="$kcf" \
    --bind-address=127.0.0.1 \
    --secure-port=$SCHED_PORT \
    --leader-elect=false \
    --profiling=false
}

start_node_agent() {
  pid_of kpg-node >/dev/null && return 0
  [[ $(id -u) == 0 ]] || fail kpg-node "kpg-node must run as root (network namespaces, bridge, mounts)"
  mkdir -p "$state/pods" "$state/pv"
  start kpg-node \
    --kubeconfig="$kcdir/kpg-node.kubeconfig" \
    --nodes=$NODES \
    --name-prefix=$NODE_PREFIX \
    --kubelet-port-base=$KUBELET_PORT_BASE \
    --state-dir="$state" \
    --tls-cert="$pki/kubelet.crt" \
    --tls-key="$pki/kubelet.key" \
    --client-ca="$pki/ca.crt" \
    --pv-dir="$state/pv" \
    --restart-backoff=10s \
    --apiserver=127.0.0.1:$APISERVER_PORT
}

storage_classes() {
  kc apply -f - >/dev/null <<'EOF'
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: kpg.local/hostpath
reclaimPolicy: Delete
volumeBindingMode: Immediate
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local-path
provisioner: kpg.local/hostpath
reclaimPolicy: Delete
volumeBindingMode: Immediate
EOF
}

want_nodes() { [[ ${KPG_NO_NODES:-0} != 1 ]]; }

all_up() {
  local c
  for c in "${COMPONENTS[@]}"; do
    [[ $c == kpg-node ]] && ! want_nodes && continue
    pid_of "$c" >/dev/null || return 1
  done
  apiserver_ready || return 1
  if want_nodes; then nodes_ready || return 1; fi
}

# ---------------------------------------------------------------- commands

cmd_status() {
  local c pid ok=0 n
  for c in "${COMPONENTS[@]}"; do
    if pid=$(pid_of "$c"); then
      printf '%-24s running  pid %s\n' "$c" "$pid"
    else
      printf '%-24s stopped\n' "$c"
      [[ $c == kpg-node ]] && ! want_nodes || ok=1
    fi
  done
  if [[ -f $KUBECONFIG_ADMIN ]] && pid_of kube-apiserver >/dev/null && apiserver_ready; then
    n=$(ready_nodes)
    printf '%-24s %s/%s Ready\n' nodes "$n" "$NODES"
    if want_nodes && (( n < NODES )); then ok=1; fi
  else
    printf '%-24s unknown (API not ready)\n' nodes
    ok=1
  fi
  printf '%-24s %s\n' kubeconfig "$KUBECONFIG_ADMIN"
  return $ok
}

cmd_up() {
  if [[ -f $KUBECONFIG_ADMIN ]] && all_up 2>/dev/null; then
    cmd_status
    echo "$KUBECONFIG_ADMIN"
    return 0
  fi
  if want_nodes && [[ $(id -u) != 0 ]]; then
    log "must run as root: kpg-node creates network namespaces, a bridge and mounts (KPG_NO_NODES=1 for the control plane only)"
    exit 1
  fi
  if [[ ${KPG_SKIP_BUILD:-0} != 1 ]]; then
    bash "$here/build.sh" >&2
  fi
  [[ -x $upstream/kube-apiserver ]] || { log "upstream binaries missing: run test/cluster/build.sh"; exit 1; }
  mkdir -p "$logs" "$run" "$kcdir"
  bash "$here/pki.sh" "$pki"
  write_kubeconfigs

  start_etcd
  wait_until etcd 30 "etcd health on 127.0.0.1:$ETCD_CLIENT_PORT" etcd_healthy
  log "etcd ready ($(elapsed))"

  start_apiserver
  wait_until kube-apiserver 90 "kube-apiserver /readyz" apiserver_ready
  log "kube-apiserver ready ($(elapsed))"

  start_controller_manager
  start_scheduler
  wait_until kube-controller-manager 30 "kube-controller-manager /healthz" healthz_local $CM_PORT
  wait_until kube-scheduler 30 "kube-scheduler /healthz" healthz_local $SCHED_PORT
  log "controller-manager and scheduler healthy ($(elapsed))"

  storage_classes || fail kube-apiserver "could not create the StorageClasses"

  if want_nodes; then
    [[ -x $KPG_NODE ]] || { log "kpg-node not built ($KPG_NODE); KPG_NO_NODES=1 for the control plane only"; exit 1; }
    start_node_agent
    wait_until kpg-node 60 "$NODES Ready nodes" nodes_ready
    log "$NODES nodes Ready ($(elapsed))"
  fi
  wait_until kube-controller-manager 30 "the default ServiceAccount" default_sa
  log "cluster up in $(elapsed)"
  cmd_status || true
  echo "$KUBECONFIG_ADMIN"
}

# Kill every process whose executable lives under <dir> and, with
# "mine", whose command line names this cluster's state dir (the binary
# cache is shared: a process of it may belong to another checkout).
kill_exe_under() {
  local dir=$1 mine=${2:-} p exe
  [[ -d $dir ]] || return 0
  dir=$(readlink -f "$dir")
  for p in /proc/[0-9]*; do
    exe=$(readlink "$p/exe" 2>/dev/null) || continue
    [[ $exe == "$dir"/* ]] || continue
    [[ ${p#/proc/} == "$$" ]] && continue
    if [[ -n $mine ]]; then
      tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF -- "$state/" || continue
    fi
    log "killing leftover ${p#/proc/} ($exe)"
    kill -KILL "${p#/proc/}" 2>/dev/null || true
  done
}

# other_node_agent: pid of a running kpg-node agent whose --state-dir is not ours.
other_node_agent() {
  local p args
  for p in /proc/[0-9]*; do
    [[ $(cat "$p/comm" 2>/dev/null) == kpg-node ]] || continue
    args=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) || continue
    [[ $args == *--state-dir* ]] || continue   # shims have no flags
    [[ $args == *"--state-dir=$state "* || $args == *"--state-dir $state "* ]] && continue
    echo "${p#/proc/}"
    return 0
  done
  return 1
}

sweep() {
  local ns pid link m
  # processes of our binaries
  kill_exe_under "$state/bin"
  kill_exe_under "$cache" mine
  # every process inside a pod network namespace, then the namespaces. Their
  # names (kpg-*, kpg0, kpgv*) are machine-wide: leave them alone while the
  # kpg-node of another checkout is running.
  local other
  other=$(other_node_agent || true)
  if [[ -n $other ]]; then
    log "kpg-node of another checkout is running (pid $other): leaving kpg-* netns and $BRIDGE alone"
  elif command -v ip >/dev/null; then
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^kpg-' || true); do
      for pid in $(ip netns pids "$ns" 2>/dev/null || true); do
        kill -KILL "$pid" 2>/dev/null || true
      done
    done
    sleep 0.2
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^kpg-' || true); do
      ip netns delete "$ns" 2>/dev/null || log "could not delete netns $ns"
    done
    if ip link show "$BRIDGE" >/dev/null 2>&1; then
      for link in $(ip -o link show master "$BRIDGE" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
        ip link delete "$link" 2>/dev/null || true
      done
      ip link delete "$BRIDGE" 2>/dev/null || log "could not delete bridge $BRIDGE"
    fi
    # the fault-injection filter kpg-node loads (faults.ts partitionNode, loseNode)
    if command -v nft >/dev/null; then nft delete table bridge kpg_faults 2>/dev/null || true; fi
    # host ends of pod veths (kpgv<uid>) that are no longer on the bridge
    for link in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep '^kpgv' || true); do
      ip link delete "$link" 2>/dev/null || log "could not delete link $link"
    done
  fi
  # mounts under .cluster, deepest first
  if [[ -d $state ]]; then
    while read -r m; do
      [[ -n $m ]] || continue
      umount -l "$m" 2>/dev/null || log "could not unmount $m"
    done < <(findmnt -rn -o TARGET 2>/dev/null | awk -v s="$state" 'index($0, s"/")==1 || $0==s' | awk '{print length, $0}' | sort -rn | cut -d' ' -f2-)
  fi
}

cmd_down() {
  local c i
  stop kpg-node 60
  stop kube-scheduler 10
  stop kube-controller-manager 10
  stop kube-apiserver 15
  stop etcd 10
  sweep
  # state; the PKI and binaries stay (they are reused by the next `up`)
  if [[ -d $logs ]]; then rm -rf "$state/logs.prev"; mv "$logs" "$state/logs.prev"; fi
  rm -rf "$state/etcd" "$state/pods" "$state/pv" "$run" "$kcdir" "$KUBECONFIG_ADMIN"
  for i in "$state"/*; do
    # anything else a component left in .cluster (netns files, sockets, state)
    case ${i##*/} in bin|pki|logs.prev|.lock) ;; *) rm -rf "$i" ;; esac
  done
  log "down ($(elapsed))"
}

cmd_apiserver_stop() {
  # Graceful first, but do not wait for the long drain of open watches.
  stop kube-apiserver 5
  log "kube-apiserver stopped"
}

cmd_apiserver_start() {
  pid_of etcd >/dev/null || fail etcd "etcd is not running (cluster down?)"
  start_apiserver
  wait_until kube-apiserver 90 "kube-apiserver /readyz" apiserver_ready
  log "kube-apiserver ready ($(elapsed))"
}

cmd_logs() {
  local name=${1:-} follow=${2:-}
  if [[ -z $name ]]; then
    for c in "${COMPONENTS[@]}"; do
      [[ -f $logs/$c.log ]] || continue
      echo "==== $c ($logs/$c.log)"
      tail -n 15 "$logs/$c.log"
    done
  elif [[ $follow == -f ]]; then
    exec tail -n 50 -F "$logs/$name.log"
  else
    tail -n 200 "$logs/$name.log"
  fi
}

# Lifecycle commands of concurrent callers (several test runs, a demo) are
# serialized on .cluster/.lock, which `down` keeps.
lock() {
  mkdir -p "$state"
  exec 9>"$state/.lock"
  flock -w 600 9 || { log "timed out waiting for another cluster.sh (lock $state/.lock)"; exit 1; }
}

case ${1:-} in
  up) lock; cmd_up ;;
  down) lock; cmd_down ;;
  status) cmd_status ;;
  apiserver-stop) lock; cmd_apiserver_stop ;;
  apiserver-start) lock; cmd_apiserver_start ;;
  logs) shift; cmd_logs "$@" ;;
  *) echo "usage: $0 up|down|status|apiserver-stop|apiserver-start|logs [name] [-f]" >&2; exit 2 ;;
esac

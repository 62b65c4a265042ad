#!/usr/bin/env bash
# kpg's demo on the local cluster: create the seed's ha-postgres cluster, look
# at it, write through the primary Service, read on a standby, switch the
# primary over, and delete it all again. Run by `npm run demo` (which sets up
# and builds first); every step is a real kpg or kubectl command.
set -euo pipefail
cd "$(dirname "$0")/.."

kpg() { node bin/run.js "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Starting the local Kubernetes cluster"
kubeconfig=$(bash test/cluster/cluster.sh up | tail -n 1)
export KUBECONFIG="$kubeconfig"
kubectl() { .cluster/bin/kubectl "$@"; }
kubectl get nodes

ns=demo
step "Validating the examples"
kpg validate -f examples/

step "A fresh namespace: $ns"
kubectl delete namespace "$ns" --ignore-not-found --wait=true >/dev/null
kubectl create namespace "$ns"

# The local cluster runs node:<major> images with this machine's Node.js and
# no other, so the manifest names the in-pod agent's image (kpg's default is
# a newer LTS, which a real cluster pulls).
node_image="node:$(node -p 'process.versions.node.split(".")[0]')-slim"
step "kpg create -f examples/ha-postgres.yaml (the agent's image: $node_image)"
sed "s|^metadata:|metadata:\n  annotations:\n    kpg.io/agent-image: $node_image|" examples/ha-postgres.yaml |
  kpg create -f - --timeout 5m

step "kpg get, and the pods with their role labels"
kpg get -n "$ns" -o wide
kubectl get pods -n "$ns" -L kubedb.com/role

step "Writing on the primary, reading on each standby (warm standbys refuse connections, as in KubeDB's guide)"
primary=$(kubectl get pods -n "$ns" -l kubedb.com/name=ha-postgres,kubedb.com/role=primary -o name | head -n 1)
kubectl exec -n "$ns" "${primary#pod/}" -c postgres -- psql -X -q -U postgres -h /var/run/postgresql \
  -c "create table if not exists demo(id int primary key, note text)" \
  -c "insert into demo values (1, 'written on the primary') on conflict do nothing"
for pod in $(kubectl get pods -n "$ns" -l kubedb.com/name=ha-postgres,kubedb.com/role=replica -o name); do
  # Warm standbys refuse connections by design: say so, not psql's error.
  if out=$(kubectl exec -n "$ns" "${pod#pod/}" -c postgres -- psql -X -A -t -U postgres -h /var/run/postgresql \
    -c "select '${pod#pod/}: ' || note from demo" 2>&1); then
    echo "$out"
  elif [[ $out == *"Hot standby mode is disabled"* || $out == *"not yet accepting connections"* ]]; then
    echo "${pod#pod/}: a warm standby, it refuses connections (as expected)"
  else
    echo "${pod#pod/}: $out"
  fi
done

step "kpg describe ha-postgres"
kpg describe ha-postgres -n "$ns"

wait_healthy() {
  # The old primary rejoins as a standby in the background.
  for _ in $(seq 1 90); do
    kpg describe ha-postgres -n "$ns" --exit-code >/dev/null 2>&1 && break
    sleep 2
  done
  kubectl get pods -n "$ns" -L kubedb.com/role
}

step "kpg failover ha-postgres (a switchover: the primary is healthy; the agents carry it out)"
kpg failover ha-postgres -n "$ns" --yes
wait_healthy

step "The seed's walkthrough: kubectl delete pod of the primary; the agents fail over by themselves"
primary=$(kubectl get pods -n "$ns" -l kubedb.com/name=ha-postgres,kubedb.com/role=primary -o name | head -n 1)
kubectl delete -n "$ns" "$primary" --wait=false
sleep 3
kubectl get pods -n "$ns" -L kubedb.com/role
wait_healthy
kpg describe ha-postgres -n "$ns"

step "kpg delete ha-postgres (terminationPolicy unset = Pause: data kept)"
kpg delete ha-postgres -n "$ns" --yes
kubectl get pvc,secret -n "$ns"

step "Done. The cluster stays up: npm run cluster:down stops it."

#!/usr/bin/env bash
# Generates the local cluster's PKI with openssl. Idempotent: every file that
# already exists (and is still valid for at least a day) is kept.
#
#   bash test/cluster/pki.sh <pki-dir>
#
# Layout of <pki-dir>:
#   ca.{crt,key}                    cluster CA (signs everything below; also the
#                                   controller-manager's cluster-signing CA)
#   apiserver.{crt,key}             kube-apiserver serving cert
#   apiserver-kubelet-client.*      kube-apiserver -> kubelet client (system:masters)
#   admin.{crt,key}                 kubectl admin client (O=system:masters)
#   controller-manager.{crt,key}    CN=system:kube-controller-manager
#   scheduler.{crt,key}             CN=system:kube-scheduler
#   kpg-node.{crt,key}              node agent client (O=system:masters: one agent
#                                   serves three nodes, which the Node authorizer
#                                   would not allow a single node identity)
#   front-proxy-client.{crt,key}    apiserver -> aggregated APIs (requestheader)
#   kubelet.{crt,key}               kubelet serving cert (127.0.0.1, node names)
#   sa.{key,pub}                    service-account token signing key pair
set -euo pipefail

dir=${1:?usage: pki.sh <pki-dir>}
mkdir -p "$dir"
chmod 700 "$dir"
cd "$dir"

DAYS=3650
umask 077

valid() { # valid <crt>: exists and does not expire within a day
  [[ -s $1 ]] && openssl x509 -in "$1" -noout -checkend 86400 >/dev/null 2>&1
}

if ! valid ca.crt || [[ ! -s ca.key ]]; then
  # A new CA invalidates every leaf cert signed by the old one.
  rm -f -- *.crt *.key *.csr *.srl *.ext
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$DAYS" \
    -keyout ca.key -out ca.crt -subj "/CN=kpg-local-ca" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign" \
    2>/dev/null
fi

# leaf <name> <subject> <serverAuth|clientAuth|both> [subjectAltName]
leaf() {
  local name=$1 subj=$2 usage=$3 san=${4:-}
  if valid "$name.crt" && [[ -s $name.key ]] \
     && openssl verify -CAfile ca.crt "$name.crt" >/dev/null 2>&1; then
    return 0
  fi
  local eku
  case $usage in
    serverAuth) eku=serverAuth ;;
    clientAuth) eku=clientAuth ;;
    both) eku=serverAuth,clientAuth ;;
  esac
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    [[ -n $san ]] && echo "subjectAltName=$san"
  } >"$name.ext"
  openssl req -new -newkey rsa:2048 -nodes -sha256 \
    -keyout "$name.key" -out "$name.csr" -subj "$subj" 2>/dev/null
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
    -sha256 -days "$DAYS" -extfile "$name.ext" -out "$name.crt" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}

leaf apiserver "/CN=kube-apiserver" serverAuth \
  "IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
leaf apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
leaf admin "/O=system:masters/CN=kubernetes-admin" clientAuth
leaf controller-manager "/CN=system:kube-controller-manager" clientAuth
leaf scheduler "/CN=system:kube-scheduler" clientAuth
leaf kpg-node "/O=system:masters/CN=kpg-node" clientAuth
# front proxy (aggregation layer) client; the apiserver's requestheader CA is ca.crt
leaf front-proxy-client "/CN=front-proxy-client" clientAuth
leaf kubelet "/CN=kpg-kubelet" serverAuth \
  "IP:127.0.0.1,DNS:localhost,DNS:kpg-worker-1,DNS:kpg-worker-2,DNS:kpg-worker-3"

if [[ ! -s sa.key || ! -s sa.pub ]]; then
  openssl genrsa -out sa.key 2048 2>/dev/null
  openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
fi
rm -f ca.srl

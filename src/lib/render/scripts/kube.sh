#!/usr/bin/env bash
# kube.sh: a minimal Kubernetes API client for the pod's own service account,
# sourced by start.sh. It needs only bash, coreutils, sed and openssl (the
# postgres image has them): no kubectl, no curl.
#
#   kube_api METHOD PATH [BODY [CONTENT_TYPE]]
#       One HTTP/1.0 request to the API server. Prints the response body on
#       stdout. Returns 0 for a 2xx status, 4 for 404, 3 for any other status,
#       2 when no HTTP response came back (connection, TLS or timeout).
#   record_get / record_field KEY JSON / record_primary [JSON]
#       The cluster's record, ConfigMap $KPG_CLUSTER-kpg; one string of its
#       data; its primary (status 5 when it names none).
#   record_bootstrapped ID
#       Writes the record's bootstrapped key (the system identifier).
#   label_self ROLE
#       Sets the label kubedb.com/role=ROLE on this pod ($POD_NAME).
#
# The token is written to openssl's stdin, never onto a command line.
# Overridable for tests: KPG_SA_DIR (token and ca.crt), KPG_API_TIMEOUT (s).

KPG_SA_DIR=${KPG_SA_DIR:-/var/run/secrets/kubernetes.io/serviceaccount}
KPG_API_TIMEOUT=${KPG_API_TIMEOUT:-10}

kube_api() {
  local method=$1 path=$2 body=${3-} ctype=${4:-application/json}
  local LC_ALL=C
  local host=${KUBERNETES_SERVICE_HOST:-} port=${KUBERNETES_SERVICE_PORT:-443}
  if [[ -z $host ]]; then
    echo "kube_api: KUBERNETES_SERVICE_HOST is not set" >&2
    return 2
  fi
  local target=$host:$port
  [[ $host == *:* ]] && target="[$host]:$port"
  local token
  if ! token=$(<"$KPG_SA_DIR/token"); then
    echo "kube_api: cannot read the service account token in $KPG_SA_DIR" >&2
    return 2
  fi
  # In-cluster clients (client-go) reach the API server by the IP in
  # KUBERNETES_SERVICE_HOST, so its certificate always names that IP.
  local verify=(-verify_hostname kubernetes)
  [[ $host =~ ^[0-9.]+$ || $host == *:* ]] && verify=(-verify_ip "$host")

  local errf resp rc=0
  errf=$(mktemp "${TMPDIR:-/tmp}/kube_api.XXXXXX")
  resp=$(
    {
      printf '%s %s HTTP/1.0\r\n' "$method" "$path"
      printf 'Host: %s\r\n' "$target"
      printf 'Authorization: Bearer %s\r\n' "$token"
      printf 'Accept: application/json\r\n'
      printf 'User-Agent: kpg-pod\r\n'
      if [[ -n $body ]]; then
        printf 'Content-Type: %s\r\n' "$ctype"
        printf 'Content-Length: %d\r\n' "${#body}"
      fi
      printf '\r\n'
      if [[ -n $body ]]; then printf '%s' "$body"; fi
    } | timeout "$KPG_API_TIMEOUT" openssl s_client -quiet -connect "$target" \
      -CAfile "$KPG_SA_DIR/ca.crt" -servername kubernetes -verify_return_error "${verify[@]}" 2>"$errf"
  ) || rc=$?

  local status=''
  if [[ $resp =~ ^HTTP/[0-9.]+\ ([0-9]{3}) ]]; then
    status=${BASH_REMATCH[1]}
  fi
  if [[ -z $status ]]; then
    local why
    why=$(grep -v '^depth=\|^verify return:' "$errf" | tail -n 1)
    rm -f "$errf"
    echo "kube_api: $method $path: no HTTP response (openssl exit $rc${why:+: $why})" >&2
    return 2
  fi
  rm -f "$errf"

  local out=''
  if [[ $resp == *$'\r\n\r\n'* ]]; then
    out=${resp#*$'\r\n\r\n'}
  fi
  printf '%s\n' "$out"
  case $status in
    2??) return 0 ;;
    404) echo "kube_api: $method $path: HTTP 404" >&2; return 4 ;;
    *) echo "kube_api: $method $path: HTTP $status" >&2; return 3 ;;
  esac
}

# record_get: the cluster's record, ConfigMap $KPG_CLUSTER-kpg, as compact
# JSON on one line. Returns kube_api's status.
record_get() {
  local json
  json=$(kube_api GET "/api/v1/namespaces/$POD_NAMESPACE/configmaps/$KPG_CLUSTER-kpg") || return
  printf '%s\n' "${json//$'\n'/}"
}

# record_field KEY JSON: the string .data.KEY of a record from record_get, or
# nothing. The API server answers with compact JSON. Top-level "data" follows
# "metadata", and a quote inside a JSON string is always escaped, so the last
# `"data":{` is the ConfigMap's data and `"KEY":"` after it can only be that key.
record_field() {
  printf '%s' "$2" | sed -n 's/.*"data":{//p' | sed -n "s/.*\"$1\":\"\\([^\"\\\\]*\\)\".*/\\1/p"
}

# record_primary [JSON]: .data.primary of the record (read now unless given).
# Returns kube_api's status, or 5 when the record names no primary.
record_primary() {
  local json=${1-} primary
  [[ -n $json ]] || json=$(record_get) || return
  primary=$(record_field primary "$json")
  if [[ ! $primary =~ ^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$ ]]; then
    echo "record_primary: the record $KPG_CLUSTER-kpg names no primary" >&2
    return 5
  fi
  printf '%s\n' "$primary"
}

# record_bootstrapped ID: merge-patch .data.bootstrapped of the record, the
# system identifier of the database this pod's initdb made (from then on no
# pod initdb's an empty PGDATA).
record_bootstrapped() {
  kube_api PATCH "/api/v1/namespaces/$POD_NAMESPACE/configmaps/$KPG_CLUSTER-kpg" \
    "{\"data\":{\"bootstrapped\":\"$1\"}}" application/merge-patch+json >/dev/null
}

# label_self ROLE: merge-patch this pod's kubedb.com/role label.
label_self() {
  local role=$1
  kube_api PATCH "/api/v1/namespaces/$POD_NAMESPACE/pods/$POD_NAME" \
    "{\"metadata\":{\"labels\":{\"kubedb.com/role\":\"$role\"}}}" \
    application/merge-patch+json >/dev/null
}

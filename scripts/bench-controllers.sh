#!/bin/sh
# bench-controllers.sh - times a Deployment coming up on simulated nodes and
# a rolling update of it, through a real `kplane server` (API, scheduler,
# controllers, node-sim in one process).
#
#   scripts/bench-controllers.sh [-b BUILD_DIR] [-n NODES] [-r REPLICAS] [-s memory|leveldb]
#
# Prints one line per phase: seconds from the write to the state the phase
# waits for (all replicas available; all replicas updated and available).
set -eu
BUILD=$(cd "$(dirname "$0")/.." && pwd)/build
NODES=1000
REPLICAS=10000
STORE=memory
while getopts b:n:r:s: o; do
	case $o in
	b) BUILD=$OPTARG ;;
	n) NODES=$OPTARG ;;
	r) REPLICAS=$OPTARG ;;
	s) STORE=$OPTARG ;;
	*) echo "usage: $0 [-b BUILD_DIR] [-n NODES] [-r REPLICAS] [-s memory|leveldb]" >&2; exit 2 ;;
	esac
done
command -v jq >/dev/null || { echo "$0: jq is needed" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$TMP"' EXIT
export KPLANE_PLUGIN_PATH="$BUILD/plugins/.libs"
HOME=$TMP
export HOME
"$BUILD/cli/kplane" server --store "$STORE" --data-dir "$TMP/data" --no-sync \
	--listen 127.0.0.1:0 --port-file "$TMP/port" >"$TMP/out" 2>"$TMP/err" &
PID=$!
i=0
while [ ! -s "$TMP/port" ]; do
	i=$((i + 1)); [ $i -lt 200 ] || { cat "$TMP/err"; exit 1; }
	sleep 0.05
done
S="http://127.0.0.1:$(cat "$TMP/port")"
K() { "$BUILD/kpctl" --server "$S" "$@"; }
now() { date +%s.%N; }
since() { echo "$(now) $1" | awk '{ printf "%.2f", $1 - $2 }'; }

i=1
while [ $i -le "$NODES" ]; do
	printf -- '---\napiVersion: v1\nkind: Node\nmetadata:\n  name: sim-%d\n  annotations: {kwok.x-k8s.io/node: fake}\nstatus:\n  capacity: {cpu: "32", memory: 256Gi, pods: "110"}\n  allocatable: {cpu: "32", memory: 256Gi, pods: "110"}\n' $i
	i=$((i + 1))
done >"$TMP/nodes.yaml"
t=$(now)
K apply -f "$TMP/nodes.yaml" >/dev/null
until [ "$(K get nodes -o json | jq '[.items[] | select(.status.conditions[]? | .type == "Ready" and .status == "True")] | length')" = "$NODES" ]; do
	sleep 0.5
done
echo "nodes: $NODES Ready in $(since "$t") s"

deploy() {
	cat <<EOF2
apiVersion: apps/v1
kind: Deployment
metadata: {name: bench, namespace: default}
spec:
  replicas: $REPLICAS
  selector: {matchLabels: {app: bench}}
  template:
    metadata: {labels: {app: bench}}
    spec:
      containers:
      - name: c
        image: $1
        resources: {requests: {cpu: 10m, memory: 16Mi}}
EOF2
}
status() { K get deploy bench -o json | jq -r "$1"; }

t=$(now)
deploy img:1 | K apply -f - >/dev/null
until [ "$(status '.status.availableReplicas // 0')" = "$REPLICAS" ]; do sleep 0.5; done
echo "deployment: $REPLICAS replicas available in $(since "$t") s"

t=$(now)
deploy img:2 | K apply -f - >/dev/null
until [ "$(status '[.status.updatedReplicas, .status.availableReplicas, .status.replicas] | map(. // 0) | join(" ")')" = "$REPLICAS $REPLICAS $REPLICAS" ]; do
	sleep 0.5
done
echo "rolling update: $REPLICAS replicas updated and available in $(since "$t") s"

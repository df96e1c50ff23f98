#!/bin/sh
# End to end: a simulated node that stops reporting (node-sim's
# sim.kplane.io/stop-heartbeat) goes Unknown after the grace period, is
# tainted unreachable, and loses the pods that do not tolerate it for long;
# the ReplicaSet replaces them on the node that still reports. When it
# reports again, the taints go.
test_description='node lifecycle: Unknown, taints, NoExecute eviction'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"
. "$KP_SRC_DIR/t/t4lib-ctl.sh"

cat >config.yaml <<'EOF2'
controllers:
  node-sim:
    args: {heartbeatSeconds: 1}
  node-lifecycle:
    args: {nodeMonitorGracePeriodSeconds: 3}
EOF2
start_server --store memory --components api,scheduler,controllers --config config.yaml ||
	{ echo "1..0 # SKIP server did not start"; exit 0; }

ready() { K get node "$1" -o json | jq -r '(.status.conditions[] | select(.type == "Ready")).status'; }
taints() { K get node "$1" -o json | jq -r '[.spec.taints[]? | .key + ":" + .effect] | sort | join(",")'; }

cat >rs.yaml <<'EOF2'
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web, namespace: default}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 1}
      containers: [{name: c, image: busybox}]
EOF2

cat >stay.yaml <<'EOF2'
apiVersion: v1
kind: Pod
metadata: {name: stay, namespace: default}
spec:
  nodeName: fake-2
  tolerations:
  - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute}
  containers: [{name: c, image: busybox}]
EOF2

test_expect_success 'pods spread over two reporting nodes' '
	fake_nodes 2 &&
	wait_for 10 "test \"\$(ready fake-1)\" = True && test \"\$(ready fake-2)\" = True" &&
	K apply -f rs.yaml && K apply -f stay.yaml &&
	wait_for 20 "test \"\$(K get pods -l app=web -o json | jq \"[.items[] | select(.status.phase == \\\"Running\\\")] | length\")\" = 4" &&
	test "$(taints fake-2)" = ""
'

test_expect_success 'a node that stops reporting becomes Unknown and unreachable-tainted' '
	K annotate node fake-2 sim.kplane.io/stop-heartbeat=true &&
	wait_for 15 "test \"\$(ready fake-2)\" = Unknown" &&
	K get node fake-2 -o json >n.json &&
	test "$(jq -r "(.status.conditions[] | select(.type == \"Ready\")).reason" n.json)" = NodeStatusUnknown &&
	test "$(jq -r "(.status.conditions[] | select(.type == \"MemoryPressure\")).status" n.json)" = Unknown &&
	wait_for 10 "test \"\$(taints fake-2)\" = node.kubernetes.io/unreachable:NoExecute,node.kubernetes.io/unreachable:NoSchedule" &&
	test "$(ready fake-1)" = True && test "$(taints fake-1)" = ""
'

test_expect_success 'pods tolerating it for 1 s are evicted and replaced on the other node' '
	wait_for 20 "K get pods -l app=web -o json | jq -e \"[.items[] | select(.spec.nodeName == \\\"fake-1\\\" and .status.phase == \\\"Running\\\")] | length == 4\"" &&
	test "$(K get pods -l app=web -o json | jq "[.items[] | select(.spec.nodeName == \"fake-2\")] | length")" = 0 &&
	api GET /api/v1/namespaces/default/events >/dev/null &&
	jqo ".items[] | select(.reason == \"TaintManagerEviction\") | .message" | grep -q "Marking for deletion Pod default/web-"
'

# stay.yaml's pod, tolerating the taint for 1 s only
sed -e 's/name: stay/name: late/' -e 's/effect: NoExecute}/effect: NoExecute, tolerationSeconds: 1}/' \
	stay.yaml >late.yaml

test_expect_success 'a pod bound to the tainted node afterwards, tolerating it for 1 s, is evicted' '
	test "$(taints fake-2)" = node.kubernetes.io/unreachable:NoExecute,node.kubernetes.io/unreachable:NoSchedule &&
	K apply -f late.yaml &&
	wait_for 10 "! K get pod late >/dev/null 2>&1" &&
	api GET /api/v1/namespaces/default/events >/dev/null &&
	jqo ".items[] | select(.reason == \"TaintManagerEviction\") | .message" | grep -q "Marking for deletion Pod default/late"
'

test_expect_success 'a pod tolerating it without tolerationSeconds stays' '
	K get pod stay -o json | jq -e ".metadata.deletionTimestamp == null"
'

test_expect_success 'reporting again clears the taints' '
	K annotate node fake-2 sim.kplane.io/stop-heartbeat- &&
	wait_for 15 "test \"\$(ready fake-2)\" = True" &&
	wait_for 10 "test \"\$(taints fake-2)\" = \"\""
'

test_done

#!/bin/sh
# End to end: node-sim reports simulated pods' and nodes' usage and the API
# server serves it read-only as metrics.k8s.io/v1beta1 PodMetrics and
# NodeMetrics, as metrics-server does. Expected values by hand:
#  - p1: cpu-usage 250m, memory-usage 64Mi, one container: usage 250m / 64Mi;
#  - p2: 1500m and 100Mi over two containers: 750m / 50Mi each;
#  - node n1 runs p1 and p2: 250m + 1500m = 1750m, 64Mi + 100Mi = 164Mi;
#  - p1 raised to 500m: n1 = 2 cores (500m + 1500m), 164Mi;
#  - p5 declares only memory (1Gi): cpu "0";
#  - p4's curve "0=100m,3=300m": 100m, then 300m three seconds after start.
test_description='metrics.k8s.io from node-sim'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"
. "$KP_SRC_DIR/t/t4lib-ctl.sh"

start_server --store memory --components api,scheduler,controllers ||
	{ echo "1..0 # SKIP server did not start"; exit 0; }

M=/apis/metrics.k8s.io/v1beta1

cat >objs.yaml <<'EOF2'
apiVersion: v1
kind: Node
metadata:
  name: n1
  annotations: {kwok.x-k8s.io/node: fake}
  labels: {zone: a}
status:
  allocatable: {cpu: "4", memory: 8Gi, pods: "110"}
  capacity: {cpu: "4", memory: 8Gi, pods: "110"}
---
apiVersion: v1
kind: Node
metadata:
  name: n2
  annotations: {kwok.x-k8s.io/node: fake}
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: v1
kind: Pod
metadata:
  name: p1
  namespace: default
  labels: {app: a}
  annotations: {sim.kplane.io/cpu-usage: 250m, sim.kplane.io/memory-usage: 64Mi}
spec:
  nodeName: n1
  containers: [{name: c, image: x}]
---
apiVersion: v1
kind: Pod
metadata:
  name: p2
  namespace: default
  labels: {app: b}
  annotations: {sim.kplane.io/cpu-usage: 1500m, sim.kplane.io/memory-usage: 100Mi}
spec:
  nodeName: n1
  containers: [{name: c1, image: x}, {name: c2, image: x}]
---
apiVersion: v1
kind: Pod
metadata: {name: p3, namespace: default, labels: {app: a}}
spec:
  nodeName: n2
  containers: [{name: c, image: x}]
---
apiVersion: v1
kind: Pod
metadata:
  name: p5
  namespace: other
  annotations: {sim.kplane.io/memory-usage: 1Gi}
spec:
  nodeName: n2
  containers: [{name: c, image: x}]
EOF2

cat >curve.yaml <<'EOF2'
apiVersion: v1
kind: Pod
metadata:
  name: p4
  namespace: other
  annotations: {sim.kplane.io/cpu-usage-curve: "0=100m,3=300m"}
spec:
  nodeName: n2
  containers: [{name: c, image: x}]
EOF2

pm() { api GET "$M/namespaces/$1/pods/$2" >/dev/null && jq -r "$3" out; }
nm() { api GET "$M/nodes/$1" >/dev/null && jq -r "$2" out; }

test_expect_success 'discovery: metrics.k8s.io/v1beta1 nodes and pods, get and list only' '
	api GET $M >/dev/null &&
	test "$(jqo "[.resources[] | \"\(.name):\(.kind):\(.namespaced):\(.verbs | join(\"+\"))\"] | sort | join(\" \")")" = "nodes:NodeMetrics:false:get+list pods:PodMetrics:true:get+list" &&
	api GET /apis >/dev/null &&
	test "$(jqo ".groups[] | select(.name == \"metrics.k8s.io\") | .preferredVersion.groupVersion")" = metrics.k8s.io/v1beta1
'

test_expect_success 'PodMetrics of a pod with usage annotations' '
	K apply -f objs.yaml >/dev/null &&
	wait_for 20 "test \"\$(pm default p1 .containers[0].usage.cpu)\" = 250m" &&
	pm default p1 . >p1.json &&
	test "$(jq -r ".kind + \" \" + .apiVersion" p1.json)" = "PodMetrics metrics.k8s.io/v1beta1" &&
	test "$(jq -r ".containers[0] | .name + \" \" + .usage.memory" p1.json)" = "c 64Mi" &&
	test "$(jq -r .metadata.labels.app p1.json)" = a &&
	test "$(jq -r .window p1.json)" = 30s &&
	jq -e ".timestamp | test(\"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$\")" p1.json >/dev/null
'

test_expect_success 'usage is split evenly over containers' '
	wait_for 20 "test \"\$(pm default p2 \"[.containers[] | .name + \\\"=\\\" + .usage.cpu + \\\"/\\\" + .usage.memory] | join(\\\",\\\")\")\" = c1=750m/50Mi,c2=750m/50Mi"
'

test_expect_success 'a pod without declared usage has no PodMetrics' '
	wait_for 20 "test \"\$(K get pod p3 -o json | jq -r .status.phase)\" = Running" &&
	sleep 0.3 &&
	expect_code 404 GET $M/namespaces/default/pods/p3
'

test_expect_success 'NodeMetrics sum the node'"'"'s pods, with the node'"'"'s labels' '
	wait_for 20 "test \"\$(nm n1 \".usage.cpu + \\\" \\\" + .usage.memory\")\" = \"1750m 164Mi\"" &&
	test "$(nm n1 .metadata.labels.zone)" = a &&
	test "$(nm n1 .kind)" = NodeMetrics
'

test_expect_success 'list with a label selector, per namespace and across namespaces' '
	api GET "$M/namespaces/default/pods?labelSelector=app%3Da" >/dev/null &&
	test "$(jqo "[.items[].metadata.name] | join(\",\")")" = p1 &&
	test "$(jqo .kind)" = PodMetricsList &&
	wait_for 20 "api GET $M/pods >/dev/null && test \"\$(jqo \"[.items[] | .metadata.namespace + \\\"/\\\" + .metadata.name] | sort | join(\\\",\\\")\")\" = default/p1,default/p2,other/p5" &&
	api GET "$M/nodes" >/dev/null &&
	test "$(jqo "[.items[].metadata.name] | sort | join(\",\")")" = n1,n2
'

test_expect_success 'a usage curve steps with time; only memory declared: cpu 0' '
	test "$(pm other p5 ".containers[0].usage.cpu + \" \" + .containers[0].usage.memory")" = "0 1Gi" &&
	K apply -f curve.yaml >/dev/null &&
	wait_for 20 "test \"\$(pm other p4 .containers[0].usage.cpu)\" = 100m" &&
	wait_for 20 "test \"\$(pm other p4 .containers[0].usage.cpu)\" = 300m"
'

test_expect_success 'changed usage is reported, and summed on the node' '
	K annotate pod p1 sim.kplane.io/cpu-usage=500m --overwrite >/dev/null &&
	wait_for 20 "test \"\$(pm default p1 .containers[0].usage.cpu)\" = 500m" &&
	wait_for 20 "test \"\$(nm n1 .usage.cpu)\" = 2"
'

test_expect_success 'writes through the API are refused: 405 MethodNotAllowed' '
	expect_code 405 POST $M/namespaces/default/pods -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"x\"},\"containers\":[]}" &&
	test "$(jqo .reason)" = MethodNotAllowed &&
	pm default p1 . >p1.json &&
	expect_code 405 PUT $M/namespaces/default/pods/p1 -H "$CT_JSON" --data-binary @p1.json &&
	expect_code 405 PATCH $M/namespaces/default/pods/p1 -H "Content-Type: application/merge-patch+json" -d "{\"window\":\"1s\"}" &&
	expect_code 405 DELETE $M/namespaces/default/pods/p1 &&
	expect_code 405 DELETE $M/namespaces/default/pods &&
	expect_code 405 POST $M/nodes -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"n9\"},\"usage\":{}}" &&
	expect_code 405 GET "$M/pods?watch=true" &&
	test "$(pm default p1 .window)" = 30s
'

test_expect_success 'Table: metrics-server'"'"'s columns' '
	api GET $M/namespaces/default/pods/p2 -H "Accept: application/json;as=Table;v=v1;g=meta.k8s.io" >/dev/null &&
	test "$(jqo "[.columnDefinitions[].name] | join(\",\")")" = Name,CPU,Memory,Window &&
	test "$(jqo ".rows[0].cells | map(tostring) | join(\",\")")" = p2,1500m,100Mi,30s
'

test_expect_success 'a deleted pod loses its PodMetrics and leaves the node sum' '
	K delete pod p2 >/dev/null &&
	wait_for 20 "test \"\$(api GET $M/namespaces/default/pods/p2)\" = 404" &&
	wait_for 20 "test \"\$(nm n1 \".usage.cpu + \\\" \\\" + .usage.memory\")\" = \"500m 64Mi\""
'

test_expect_success 'a node that stops reporting has no NodeMetrics' '
	K annotate node n2 sim.kplane.io/stop-heartbeat=true >/dev/null &&
	wait_for 20 "test \"\$(api GET $M/nodes/n2)\" = 404"
'

# The same path with node-sim in its own process: it writes the metrics
# through the API server's store gateway, which the public API refuses.
start_server --store memory --components api ||
	{ echo "Bail out! second server did not start"; exit 1; }
kplane controller-manager --server "$S" --listen 127.0.0.1:0 --leader-elect=false \
	--controllers node-sim >cm.out 2>cm.err &
CM_PID=$!
test_when_finished "kill $CM_PID 2>/dev/null; wait $CM_PID 2>/dev/null"

test_expect_success 'node-sim in kplane controller-manager --server: metrics still served' '
	K apply -f objs.yaml >/dev/null &&
	wait_for 20 "test \"\$(pm default p1 .containers[0].usage.cpu)\" = 250m" &&
	wait_for 20 "test \"\$(nm n1 \".usage.cpu + \\\" \\\" + .usage.memory\")\" = \"1750m 164Mi\"" &&
	expect_code 405 POST $M/nodes -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"n9\"},\"usage\":{}}"
'

test_done

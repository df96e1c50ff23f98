#!/bin/sh
test_description='API server: meta.k8s.io/v1 Table output'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"

start_server --store memory || exit 1

TBL='Accept: application/json;as=Table;v=v1;g=meta.k8s.io,application/json'
P=/api/v1/namespaces/default/pods
cols() { jqo "[.columnDefinitions[].name]|join(\",\")"; }
cells() { jqo ".rows[$1].cells|map(tostring)|join(\",\")"; }

test_expect_success 'setup' '
	expect_code 201 POST $P -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"t1\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}" &&
	expect_code 201 POST $P -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"t2\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"},{\"name\":\"d\",\"image\":\"y\"}]}}" &&
	expect_code 200 GET $P/t2 &&
	jq ".status.phase=\"Running\"|.status.podIP=\"10.0.0.5\"|.status.containerStatuses=[{\"name\":\"c\",\"ready\":true,\"restartCount\":2,\"state\":{\"running\":{}}},{\"name\":\"d\",\"ready\":false,\"restartCount\":1,\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}}}]" out >st.json &&
	expect_code 200 PUT $P/t2/status -H "$CT_JSON" -d @st.json
'

test_expect_success 'pod list as a Table has kubectl columns' '
	expect_code 200 GET $P -H "$TBL" &&
	test "$(jqo .kind)" = Table && test "$(jqo .apiVersion)" = meta.k8s.io/v1 &&
	test "$(cols)" = "Name,Ready,Status,Restarts,Age,IP,Node,Nominated Node,Readiness Gates" &&
	test "$(jqo "[.columnDefinitions[].priority]|map(tostring)|join(\",\")")" = 0,0,0,0,0,1,1,1,1 &&
	jqo .metadata.resourceVersion | grep -E "^[0-9]+$" &&
	test "$(jqo ".rows|length")" = 2
'

test_expect_success 'pod rows: ready count, status, restarts, IP, node' '
	test "$(jqo ".rows[0].cells[0:4]|join(\",\")")" = "t1,0/1,Pending,0" &&
	jqo ".rows[0].cells[4]" | grep -E "^[0-9]+s$" &&
	test "$(jqo ".rows[0].cells[5:9]|join(\",\")")" = "<none>,<none>,<none>,<none>" &&
	test "$(jqo ".rows[1].cells[0:4]|join(\",\")")" = "t2,1/2,CrashLoopBackOff,3" &&
	test "$(jqo ".rows[1].cells[5]")" = 10.0.0.5
'

test_expect_success 'row objects: PartialObjectMetadata by default, Object or None on request' '
	test "$(jqo ".rows[0].object.kind")" = PartialObjectMetadata &&
	test "$(jqo ".rows[0].object.metadata.name")" = t1 &&
	test "$(jqo ".rows[0].object.spec")" = null &&
	expect_code 200 GET "$P?includeObject=Object" -H "$TBL" &&
	test "$(jqo ".rows[0].object.kind")" = Pod &&
	test "$(jqo ".rows[0].object.spec.containers[0].name")" = c &&
	expect_code 200 GET "$P?includeObject=None" -H "$TBL" &&
	test "$(jqo ".rows[0]|has(\"object\")")" = false
'

test_expect_success 'a single object as a Table has one row' '
	expect_code 200 GET $P/t1 -H "$TBL" &&
	test "$(jqo .kind)" = Table && test "$(jqo ".rows|length")" = 1 &&
	test "$(jqo ".rows[0].cells[0]")" = t1
'

test_expect_success 'a Terminating pod says so' '
	expect_code 200 PATCH $P/t1 -H "Content-Type: application/merge-patch+json" -d "{\"metadata\":{\"finalizers\":[\"x/y\"]}}" &&
	expect_code 200 DELETE $P/t1 &&
	expect_code 200 GET $P/t1 -H "$TBL" &&
	test "$(jqo ".rows[0].cells[2]")" = Terminating
'

test_expect_success 'node table: status with SchedulingDisabled, roles, version' '
	expect_code 201 POST /api/v1/nodes -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"n1\",\"labels\":{\"node-role.kubernetes.io/control-plane\":\"\"}},\"spec\":{\"unschedulable\":true},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}],\"nodeInfo\":{\"kubeletVersion\":\"v1.32.1\"},\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"192.168.1.9\"}]}}" &&
	expect_code 201 POST /api/v1/nodes -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"n2\"}}" &&
	expect_code 200 GET /api/v1/nodes -H "$TBL" &&
	test "$(jqo "[.columnDefinitions[]|select(.priority==0)|.name]|join(\",\")")" = Name,Status,Roles,Age,Version &&
	test "$(jqo ".rows[0].cells[0:3]|join(\",\")")" = "n1,Ready,SchedulingDisabled,control-plane" &&
	test "$(jqo ".rows[0].cells[4]")" = v1.32.1 &&
	test "$(jqo ".rows[0].cells[5]")" = 192.168.1.9 &&
	test "$(jqo ".rows[1].cells[1:3]|join(\",\")")" = "Unknown,<none>"
'

test_expect_success 'deployment table' '
	expect_code 201 POST /apis/apps/v1/namespaces/default/deployments -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"d\"},\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":{\"app\":\"d\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"d\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"img:1\"}]}}}}" &&
	expect_code 200 GET /apis/apps/v1/namespaces/default/deployments -H "$TBL" &&
	test "$(jqo "[.columnDefinitions[]|select(.priority==0)|.name]|join(\",\")")" = Name,Ready,Up-to-date,Available,Age &&
	test "$(jqo ".rows[0].cells[0:4]|map(tostring)|join(\",\")")" = "d,0/3,0,0" &&
	test "$(jqo ".rows[0].cells[5:8]|join(\",\")")" = "c,img:1,app=d"
'

# Kubernetes' default table convertor (no kubectl printer, as for Roles):
# Name and "Created At", the creation timestamp itself.
test_expect_success 'kinds without a printer get Name and Created At' '
	expect_code 201 POST /apis/rbac.authorization.k8s.io/v1/namespaces/default/roles -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"r\"}}" &&
	expect_code 200 GET /apis/rbac.authorization.k8s.io/v1/namespaces/default/roles -H "$TBL" &&
	test "$(cols)" = "Name,Created At" &&
	test "$(jqo ".rows[0].cells[1]")" = "$(jqo ".rows[0].object.metadata.creationTimestamp")" &&
	expect_code 200 GET /api/v1/namespaces -H "$TBL" &&
	test "$(cols)" = Name,Status,Age &&
	test "$(jqo ".rows[0].cells[0:2]|join(\",\")")" = default,Active
'

test_expect_success 'a Table watch sends one-row Tables' '
	curl -sN -H "$TBL" "$S/api/v1/namespaces/kube-system/pods?watch=1&timeoutSeconds=1" >w.out &
	cpid=$!
	expect_code 201 POST /api/v1/namespaces/kube-system/pods -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"wt\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}" &&
	wait $cpid &&
	test "$(jq -r ".type+\" \"+.object.kind+\" \"+.object.rows[0].cells[0]" w.out)" = "ADDED Table wt"
'

test_done

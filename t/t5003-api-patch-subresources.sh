#!/bin/sh
test_description='API server: patch types, subresources, deletion semantics'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"

start_server --store memory || exit 1

MP='Content-Type: application/merge-patch+json'
JP='Content-Type: application/json-patch+json'
SP='Content-Type: application/strategic-merge-patch+json'
AP='Content-Type: application/apply-patch+yaml'
D=/apis/apps/v1/namespaces/default/deployments
P=/api/v1/namespaces/default/pods

mkpod() {
	api POST $P -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"$1\"${2:-}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}"
}

test_expect_success 'setup: a deployment with two containers' '
	expect_code 201 POST $D -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"w\",\"labels\":{\"a\":\"1\"}},\"spec\":{\"replicas\":1,\"selector\":{\"matchLabels\":{\"app\":\"w\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"w\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"img:1\",\"env\":[{\"name\":\"A\",\"value\":\"1\"}]},{\"name\":\"d\",\"image\":\"side:1\"}]}}}}"
'

test_expect_success 'merge patch: null removes, values merge' '
	expect_code 200 PATCH $D/w -H "$MP" -d "{\"metadata\":{\"labels\":{\"a\":null,\"b\":\"2\"}}}" &&
	test "$(jqo ".metadata.labels|to_entries|map(.key+\"=\"+.value)|join(\",\")")" = b=2
'

test_expect_success 'json patch: add and test' '
	expect_code 200 PATCH $D/w -H "$JP" -d "[{\"op\":\"test\",\"path\":\"/metadata/labels/b\",\"value\":\"2\"},{\"op\":\"add\",\"path\":\"/metadata/labels/c~1d\",\"value\":\"3\"}]" &&
	test "$(jqo ".metadata.labels[\"c/d\"]")" = 3
'

test_expect_success 'json patch: a failing test op changes nothing' '
	expect_code 200 GET $D/w && rv=$(jqo .metadata.resourceVersion) &&
	expect_code 422 PATCH $D/w -H "$JP" -d "[{\"op\":\"replace\",\"path\":\"/spec/replicas\",\"value\":9},{\"op\":\"test\",\"path\":\"/metadata/labels/b\",\"value\":\"nope\"}]" &&
	expect_code 200 GET $D/w &&
	test "$(jqo .spec.replicas)" = 1 && test "$(jqo .metadata.resourceVersion)" = "$rv"
'

test_expect_success 'json patch: removing a missing path fails' '
	expect_code 422 PATCH $D/w -H "$JP" -d "[{\"op\":\"remove\",\"path\":\"/metadata/labels/zzz\"}]"
'

test_expect_success 'strategic merge patch merges containers by name' '
	expect_code 200 PATCH $D/w -H "$SP" -d "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"img:2\",\"env\":[{\"name\":\"B\",\"value\":\"2\"}]}]}}}}" &&
	test "$(jqo "[.spec.template.spec.containers[]|.name+\"=\"+.image]|join(\",\")")" = c=img:2,d=side:1 &&
	test "$(jqo "[.spec.template.spec.containers[0].env[].name]|join(\",\")")" = A,B &&
	test "$(jqo .metadata.generation)" = 2
'

test_expect_success 'strategic merge patch $patch: delete removes a list element' '
	expect_code 200 PATCH $D/w -H "$SP" -d "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"d\",\"\$patch\":\"delete\"}]}}}}" &&
	test "$(jqo "[.spec.template.spec.containers[].name]|join(\",\")")" = c
'

test_expect_success 'merge patch replaces lists wholesale' '
	expect_code 200 PATCH $D/w -H "$MP" -d "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"e\",\"image\":\"e:1\"}]}}}}" &&
	test "$(jqo "[.spec.template.spec.containers[].name]|join(\",\")")" = e
'

test_expect_success 'a patch carrying a stale resourceVersion conflicts' '
	expect_code 409 PATCH $D/w -H "$MP" -d "{\"metadata\":{\"resourceVersion\":\"1\"},\"spec\":{\"replicas\":5}}" &&
	test "$(jqo .reason)" = Conflict
'

test_expect_success 'a patch that breaks validation is 422 and changes nothing' '
	expect_code 422 PATCH $D/w -H "$MP" -d "{\"spec\":{\"replicas\":-1}}" &&
	test "$(jqo ".details.causes[0].field")" = spec.replicas &&
	expect_code 200 GET $D/w && test "$(jqo .spec.replicas)" = 1
'

test_expect_success 'unknown patch media type is 415' '
	expect_code 415 PATCH $D/w -H "$CT_JSON" -d "{}"
'

test_expect_success 'apply patch creates a missing object, then updates it' '
	printf "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ap\ndata:\n  k: v1\n" >ap.yaml &&
	expect_code 201 PATCH "/api/v1/namespaces/default/configmaps/ap?fieldManager=t" -H "$AP" --data-binary @ap.yaml &&
	test "$(jqo .data.k)" = v1 &&
	sed "s/k: v1/k: v2/" ap.yaml >ap2.yaml &&
	expect_code 200 PATCH "/api/v1/namespaces/default/configmaps/ap?fieldManager=t" -H "$AP" --data-binary @ap2.yaml &&
	test "$(jqo .data.k)" = v2
'

test_expect_success 'scale subresource: get, put, patch' '
	expect_code 200 GET $D/w/scale &&
	test "$(jqo .kind)" = Scale && test "$(jqo .apiVersion)" = autoscaling/v1 &&
	test "$(jqo .spec.replicas)" = 1 &&
	test "$(jqo .status.selector)" = app=w &&
	test "$(jqo .metadata.name)" = w &&
	expect_code 200 PUT $D/w/scale -H "$CT_JSON" -d "{\"kind\":\"Scale\",\"apiVersion\":\"autoscaling/v1\",\"metadata\":{\"name\":\"w\"},\"spec\":{\"replicas\":3}}" &&
	test "$(jqo .spec.replicas)" = 3 && test "$(jqo .kind)" = Scale &&
	expect_code 200 PATCH $D/w/scale -H "$MP" -d "{\"spec\":{\"replicas\":4}}" &&
	test "$(jqo .spec.replicas)" = 4 &&
	expect_code 200 GET $D/w && test "$(jqo .spec.replicas)" = 4 &&
	expect_code 422 PUT $D/w/scale -H "$CT_JSON" -d "{\"spec\":{\"replicas\":-2}}" &&
	expect_code 404 GET /api/v1/namespaces/default/configmaps/ap/scale
'

test_expect_success 'pods/binding sets spec.nodeName once' '
	test "$(mkpod b1)" = 201 &&
	expect_code 201 POST $P/b1/binding -H "$CT_JSON" -d "{\"apiVersion\":\"v1\",\"kind\":\"Binding\",\"metadata\":{\"name\":\"b1\"},\"target\":{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"name\":\"n1\"}}" &&
	test "$(jqo .status)" = Success &&
	expect_code 200 GET $P/b1 &&
	test "$(jqo .spec.nodeName)" = n1 &&
	test "$(jqo ".status.conditions[]|select(.type==\"PodScheduled\")|.status")" = True &&
	expect_code 409 POST $P/b1/binding -H "$CT_JSON" -d "{\"target\":{\"name\":\"n2\"}}" &&
	test "$(jqo .reason)" = Conflict &&
	jqo .message | grep "is already assigned to node \"n1\"" &&
	expect_code 200 GET $P/b1 && test "$(jqo .spec.nodeName)" = n1
'

test_expect_success 'the bindings resource binds the pod it names' '
	test "$(mkpod b2)" = 201 &&
	expect_code 201 POST /api/v1/namespaces/default/bindings -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"b2\"},\"target\":{\"name\":\"n2\"}}" &&
	expect_code 200 GET $P/b2 && test "$(jqo .spec.nodeName)" = n2
'

test_expect_success 'a pod cannot move nodes through update' '
	expect_code 422 PATCH $P/b2 -H "$MP" -d "{\"spec\":{\"nodeName\":\"n3\"}}"
'

test_expect_success 'pods/eviction deletes the pod' '
	expect_code 201 POST $P/b2/eviction -H "$CT_JSON" -d "{\"apiVersion\":\"policy/v1\",\"kind\":\"Eviction\",\"metadata\":{\"name\":\"b2\"}}" &&
	expect_code 404 GET $P/b2 &&
	expect_code 404 POST $P/b2/eviction -H "$CT_JSON" -d "{}"
'

test_expect_success 'pods/log explains that simulated pods have no logs' '
	expect_code 400 GET $P/b1/log &&
	jqo .message | grep "no logs for simulated pods" &&
	expect_code 404 GET $P/nope/log
'

test_expect_success 'delete with finalizers marks deletionTimestamp; removing them deletes' '
	test "$(mkpod f1 ",\"finalizers\":[\"example.com/hold\"]")" = 201 &&
	expect_code 200 DELETE $P/f1 &&
	jqo .metadata.deletionTimestamp | grep -E "Z$" &&
	expect_code 200 GET $P/f1 &&
	test "$(jqo ".metadata.finalizers|join(\",\")")" = example.com/hold &&
	expect_code 200 PATCH $P/f1 -H "$MP" -d "{\"metadata\":{\"finalizers\":null}}" &&
	expect_code 404 GET $P/f1
'

test_expect_success 'propagationPolicy Foreground and Orphan add their finalizers' '
	test "$(mkpod g1)" = 201 && test "$(mkpod g2)" = 201 &&
	expect_code 200 DELETE "$P/g1?propagationPolicy=Foreground" &&
	test "$(jqo ".metadata.finalizers|join(\",\")")" = foregroundDeletion &&
	expect_code 200 DELETE $P/g2 -H "$CT_JSON" -d "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\",\"propagationPolicy\":\"Orphan\"}" &&
	test "$(jqo ".metadata.finalizers|join(\",\")")" = orphan &&
	expect_code 422 DELETE "$P/g1?propagationPolicy=Sideways"
'

test_expect_success 'delete preconditions on uid and resourceVersion' '
	test "$(mkpod pc)" = 201 &&
	expect_code 409 DELETE $P/pc -H "$CT_JSON" -d "{\"preconditions\":{\"uid\":\"wrong\"}}" &&
	jqo .message | grep "Precondition failed: UID in precondition: wrong" &&
	expect_code 409 DELETE $P/pc -H "$CT_JSON" -d "{\"preconditions\":{\"resourceVersion\":\"1\"}}" &&
	expect_code 200 GET $P/pc && uid=$(jqo .metadata.uid) &&
	expect_code 200 DELETE $P/pc -H "$CT_JSON" -d "{\"preconditions\":{\"uid\":\"$uid\"}}" &&
	expect_code 404 GET $P/pc
'

test_expect_success 'dryRun delete keeps the object' '
	test "$(mkpod dr)" = 201 &&
	expect_code 200 DELETE "$P/dr?dryRun=All" &&
	expect_code 200 GET $P/dr
'

test_expect_success 'deletecollection with a label selector' '
	test "$(mkpod dc1 ",\"labels\":{\"grp\":\"x\"}")" = 201 &&
	test "$(mkpod dc2 ",\"labels\":{\"grp\":\"x\"}")" = 201 &&
	expect_code 200 DELETE "$P?labelSelector=grp%3Dx" &&
	test "$(jqo "[.items[].metadata.name]|join(\",\")")" = dc1,dc2 &&
	expect_code 200 GET "$P?labelSelector=grp%3Dx" && test "$(jqo ".items|length")" = 0 &&
	expect_code 200 GET $P/dr
'

test_expect_success 'a deleted namespace is Terminating and refuses new content' '
	expect_code 201 POST /api/v1/namespaces -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"gone\"}}" &&
	test "$(jqo ".spec.finalizers|join(\",\")")" = kubernetes &&
	expect_code 200 DELETE /api/v1/namespaces/gone &&
	test "$(jqo .status.phase)" = Terminating &&
	expect_code 403 POST /api/v1/namespaces/gone/configmaps -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"c\"}}" &&
	test "$(jqo .reason)" = Forbidden &&
	jqo .message | grep "because it is being terminated" &&
	expect_code 200 PUT /api/v1/namespaces/gone/finalize -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"gone\"},\"spec\":{\"finalizers\":[]}}" &&
	expect_code 404 GET /api/v1/namespaces/gone
'

test_expect_success 'priorityClassName resolves spec.priority; a missing class is Forbidden' '
	expect_code 201 POST /apis/scheduling.k8s.io/v1/priorityclasses -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"high\"},\"value\":1000}" &&
	expect_code 201 POST $P -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"pr\"},\"spec\":{\"priorityClassName\":\"high\",\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}" &&
	test "$(jqo .spec.priority)" = 1000 &&
	expect_code 403 POST $P -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"pr2\"},\"spec\":{\"priorityClassName\":\"nope\",\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}" &&
	jqo .message | grep "no PriorityClass with name nope was found"
'

test_done

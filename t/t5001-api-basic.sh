#!/bin/sh
test_description='API server: health, discovery, CRUD, errors as Status'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"

start_server --store memory || exit 1

pod_json() { # name [extra metadata json]
	printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s"%s},"spec":{"containers":[{"name":"c","image":"nginx"}]}}' "$1" "${2:-}"
}

test_expect_success 'health endpoints answer ok' '
	expect_code 200 GET /healthz && test "$(cat out)" = ok &&
	expect_code 200 GET /livez && test "$(cat out)" = ok &&
	expect_code 200 GET /readyz && test "$(cat out)" = ok
'

test_expect_success '/version looks like a Kubernetes version' '
	expect_code 200 GET /version &&
	test "$(jqo .major)" = 1 &&
	jqo .gitVersion | grep "^v1\.[0-9]*\.[0-9]"
'

test_expect_success 'discovery: /api and /api/v1' '
	expect_code 200 GET /api &&
	test "$(jqo ".versions|join(\",\")")" = v1 &&
	expect_code 200 GET /api/v1 &&
	test "$(jqo .groupVersion)" = v1 &&
	test "$(jqo ".resources[]|select(.name==\"pods\")|.shortNames|join(\",\")")" = po &&
	test "$(jqo ".resources[]|select(.name==\"pods\")|.categories|join(\",\")")" = all &&
	test "$(jqo ".resources[]|select(.name==\"pods\")|.namespaced")" = true &&
	test "$(jqo ".resources[]|select(.name==\"nodes\")|.namespaced")" = false &&
	test "$(jqo ".resources[]|select(.name==\"nodes\")|.shortNames|join(\",\")")" = no &&
	test "$(jqo ".resources[]|select(.name==\"pods/eviction\")|.group+\"/\"+.version+\"/\"+.kind")" = policy/v1/Eviction &&
	test "$(jqo ".resources[]|select(.name==\"pods/binding\")|.verbs|join(\",\")")" = create &&
	test "$(jqo ".resources[]|select(.name==\"pods/status\")|.verbs|sort|join(\",\")")" = get,patch,update &&
	test "$(jqo ".resources[]|select(.name==\"pods\")|.verbs|sort|join(\",\")")" = create,delete,deletecollection,get,list,patch,update,watch
'

test_expect_success 'discovery: /apis groups and apps/v1 resources' '
	expect_code 200 GET /apis &&
	test "$(jqo ".groups[]|select(.name==\"apps\")|.preferredVersion.groupVersion")" = apps/v1 &&
	jqo ".groups[].name" >groups &&
	for g in apps batch autoscaling policy networking.k8s.io rbac.authorization.k8s.io \
		scheduling.k8s.io coordination.k8s.io apiextensions.k8s.io; do
		grep -x "$g" groups || exit 1
	done &&
	expect_code 200 GET /apis/apps &&
	test "$(jqo .kind)" = APIGroup &&
	expect_code 200 GET /apis/apps/v1 &&
	test "$(jqo ".resources[]|select(.name==\"deployments\")|.shortNames|join(\",\")")" = deploy &&
	test "$(jqo ".resources[]|select(.name==\"deployments/scale\")|.group+\"/\"+.version+\"/\"+.kind")" = autoscaling/v1/Scale &&
	test "$(jqo ".resources[]|select(.name==\"statefulsets/scale\")|.kind")" = Scale &&
	expect_code 404 GET /apis/nosuch.group/v1
'

test_expect_success 'system namespaces exist at startup' '
	expect_code 200 GET /api/v1/namespaces &&
	test "$(jqo "[.items[].metadata.name]|sort|join(\",\")")" = default,kube-node-lease,kube-public,kube-system &&
	test "$(jqo ".items[0].status.phase")" = Active
'

test_expect_success 'create a pod: server fills uid, timestamp, resourceVersion, namespace' '
	expect_code 201 POST /api/v1/namespaces/default/pods -H "$CT_JSON" -d "$(pod_json p1)" &&
	jqo .metadata.uid | grep -E "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$" &&
	jqo .metadata.creationTimestamp | grep -E "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$" &&
	jqo .metadata.resourceVersion | grep -E "^[1-9][0-9]*$" &&
	test "$(jqo .metadata.namespace)" = default &&
	test "$(jqo .status.phase)" = Pending &&
	test "$(jqo .spec.schedulerName)" = default-scheduler &&
	jqo .metadata.uid >uid1
'

test_expect_success 'get returns the same object' '
	expect_code 200 GET /api/v1/namespaces/default/pods/p1 &&
	test "$(jqo .metadata.uid)" = "$(cat uid1)" &&
	test "$(jqo .kind)" = Pod && test "$(jqo .apiVersion)" = v1
'

test_expect_success 'kind and apiVersion are filled when the body omits them' '
	expect_code 201 POST /api/v1/namespaces/default/configmaps -H "$CT_JSON" \
		-d "{\"metadata\":{\"name\":\"cm1\"},\"data\":{\"a\":\"1\"}}" &&
	test "$(jqo .kind)" = ConfigMap && test "$(jqo .apiVersion)" = v1
'

test_expect_success 'get of a missing object is a NotFound Status' '
	expect_code 404 GET /api/v1/namespaces/default/pods/nope &&
	test "$(jqo .kind)" = Status &&
	test "$(jqo .reason)" = NotFound &&
	test "$(jqo .code)" = 404 &&
	test "$(jqo .message)" = "pods \"nope\" not found" &&
	test "$(jqo .details.name)" = nope && test "$(jqo .details.kind)" = pods
'

test_expect_success 'NotFound names the group for grouped resources' '
	expect_code 404 GET /apis/apps/v1/namespaces/default/deployments/nope &&
	test "$(jqo .message)" = "deployments.apps \"nope\" not found" &&
	test "$(jqo .details.group)" = apps
'

test_expect_success 'creating an existing name is AlreadyExists' '
	expect_code 409 POST /api/v1/namespaces/default/pods -H "$CT_JSON" -d "$(pod_json p1)" &&
	test "$(jqo .reason)" = AlreadyExists &&
	test "$(jqo .message)" = "pods \"p1\" already exists"
'

test_expect_success 'generateName gets a 5-character suffix' '
	expect_code 201 POST /api/v1/namespaces/default/pods -H "$CT_JSON" \
		-d "{\"metadata\":{\"generateName\":\"gen-\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}" &&
	jqo .metadata.name | grep -E "^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$"
'

test_expect_success 'update with a stale resourceVersion is a Conflict' '
	expect_code 200 GET /api/v1/namespaces/default/pods/p1 &&
	rv=$(jqo .metadata.resourceVersion) &&
	jq ".metadata.labels={\"v\":\"2\"}" out >upd.json &&
	expect_code 200 PUT /api/v1/namespaces/default/pods/p1 -H "$CT_JSON" -d @upd.json &&
	test "$(jqo .metadata.labels.v)" = 2 &&
	test "$(jqo .metadata.resourceVersion)" -gt "$rv" &&
	jq ".metadata.labels={\"v\":\"3\"}" upd.json >stale.json &&
	expect_code 409 PUT /api/v1/namespaces/default/pods/p1 -H "$CT_JSON" -d @stale.json &&
	test "$(jqo .reason)" = Conflict &&
	test "$(jqo .message)" = "Operation cannot be fulfilled on pods \"p1\": the object has been modified; please apply your changes to the latest version and try again" &&
	expect_code 200 GET /api/v1/namespaces/default/pods/p1 &&
	test "$(jqo .metadata.labels.v)" = 2
'

test_expect_success 'an update that changes nothing does not bump resourceVersion' '
	expect_code 200 GET /api/v1/namespaces/default/pods/p1 &&
	cp out same.json && rv=$(jqo .metadata.resourceVersion) &&
	expect_code 200 PUT /api/v1/namespaces/default/pods/p1 -H "$CT_JSON" -d @same.json &&
	test "$(jqo .metadata.resourceVersion)" = "$rv"
'

test_expect_success 'PUT name must match the URL' '
	jq ".metadata.name=\"other\"|del(.metadata.resourceVersion)" same.json >other.json &&
	expect_code 400 PUT /api/v1/namespaces/default/pods/p1 -H "$CT_JSON" -d @other.json &&
	test "$(jqo .reason)" = BadRequest &&
	jqo .message | grep "does not match the name on the URL"
'

test_expect_success 'creating in a missing namespace is NotFound' '
	expect_code 404 POST /api/v1/namespaces/nosuchns/pods -H "$CT_JSON" -d "$(pod_json x)" &&
	test "$(jqo .message)" = "namespaces \"nosuchns\" not found" &&
	test "$(jqo .details.kind)" = namespaces
'

test_expect_success 'body namespace must match the URL namespace' '
	expect_code 400 POST /api/v1/namespaces/default/pods -H "$CT_JSON" \
		-d "$(pod_json x ",\"namespace\":\"kube-system\"")" &&
	jqo .message | grep "does not match the namespace"
'

test_expect_success 'invalid objects are 422 Invalid with causes' '
	expect_code 422 POST /api/v1/namespaces/default/pods -H "$CT_JSON" \
		-d "{\"metadata\":{\"name\":\"Bad_Name\"},\"spec\":{\"containers\":[]}}" &&
	test "$(jqo .reason)" = Invalid &&
	test "$(jqo .details.kind)" = Pod &&
	test "$(jqo .details.name)" = Bad_Name &&
	jqo ".details.causes[].field" >fields &&
	grep -x metadata.name fields && grep -x spec.containers fields &&
	test "$(jqo ".details.causes[]|select(.field==\"spec.containers\")|.reason")" = FieldValueRequired &&
	jqo .message | grep "^Pod \"Bad_Name\" is invalid: \[" &&
	expect_code 404 GET /api/v1/namespaces/default/pods/Bad_Name
'

test_expect_success 'a deployment whose selector does not match its template is Invalid' '
	expect_code 422 POST /apis/apps/v1/namespaces/default/deployments -H "$CT_JSON" \
		-d "{\"metadata\":{\"name\":\"d\"},\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"a\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"b\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}}}" &&
	test "$(jqo ".details.causes[0].field")" = spec.template.metadata.labels &&
	test "$(jqo .message | sed "s/:.*//")" = "Deployment.apps \"d\" is invalid"
'

test_expect_success 'malformed JSON and YAML are 400 and store nothing' '
	expect_code 400 POST /api/v1/namespaces/default/configmaps -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"broken\"" &&
	test "$(jqo .reason)" = BadRequest &&
	expect_code 400 POST /api/v1/namespaces/default/configmaps -H "Content-Type: application/yaml" \
		--data-binary "$(printf "metadata:\n  name: broken\n   bad: [\n")" &&
	test "$(jqo .reason)" = BadRequest &&
	expect_code 400 POST /api/v1/namespaces/default/configmaps -H "$CT_JSON" -d "[1,2]" &&
	expect_code 404 GET /api/v1/namespaces/default/configmaps/broken
'

test_expect_success 'YAML bodies are accepted' '
	printf "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fromyaml\ndata:\n  port: \"80\"\n" >cm.yaml &&
	expect_code 201 POST /api/v1/namespaces/default/configmaps -H "Content-Type: application/yaml" --data-binary @cm.yaml &&
	test "$(jqo .data.port)" = 80
'

test_expect_success 'kind or apiVersion that differ from the URL are 400' '
	expect_code 400 POST /api/v1/namespaces/default/pods -H "$CT_JSON" \
		-d "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"k\"}}" &&
	expect_code 400 POST /api/v1/namespaces/default/pods -H "$CT_JSON" \
		-d "{\"apiVersion\":\"apps/v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"k\"}}" &&
	expect_code 404 GET /api/v1/namespaces/default/pods/k
'

test_expect_success 'wrong JSON types in known fields are 400' '
	expect_code 400 POST /apis/apps/v1/namespaces/default/deployments -H "$CT_JSON" \
		-d "{\"metadata\":{\"name\":\"d\"},\"spec\":{\"replicas\":\"three\"}}" &&
	jqo .message | grep "spec.replicas" &&
	expect_code 400 POST /api/v1/namespaces/default/pods -H "$CT_JSON" \
		-d "{\"metadata\":{\"name\":\"t\",\"labels\":{\"a\":1}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}" &&
	jqo .message | grep "metadata.labels.a"
'

test_expect_success 'bodies over 3 MiB are 413 RequestEntityTooLarge' '
	head -c 3200000 /dev/zero | tr "\0" a >big &&
	{ printf "{\"metadata\":{\"name\":\"big\"},\"data\":{\"a\":\"" && cat big && printf "\"}}"; } >big.json &&
	expect_code 413 POST /api/v1/namespaces/default/configmaps -H "$CT_JSON" --data-binary @big.json &&
	expect_code 404 GET /api/v1/namespaces/default/configmaps/big
'

test_expect_success 'unsupported media type is 415' '
	expect_code 415 POST /api/v1/namespaces/default/configmaps -H "Content-Type: text/plain" -d "x" &&
	test "$(jqo .reason)" = UnsupportedMediaType
'

test_expect_success 'wrong methods are 405 and unknown paths 404' '
	expect_code 405 PUT /api/v1/namespaces/default/pods -H "$CT_JSON" -d "{}" &&
	test "$(jqo .reason)" = MethodNotAllowed &&
	expect_code 404 GET /api/v1/namespaces/default/nosuchresources &&
	expect_code 404 GET /api/v2 &&
	expect_code 404 GET /api/v1/namespaces/default/nodes
'

test_expect_success 'dryRun=All validates but does not store' '
	expect_code 201 "POST" "/api/v1/namespaces/default/pods?dryRun=All" -H "$CT_JSON" -d "$(pod_json dry)" &&
	test "$(jqo .metadata.name)" = dry &&
	expect_code 404 GET /api/v1/namespaces/default/pods/dry
'

test_expect_success 'cluster-scoped nodes have no namespace' '
	expect_code 201 POST /api/v1/nodes -H "$CT_JSON" \
		-d "{\"metadata\":{\"name\":\"n1\",\"namespace\":\"ignored\"},\"status\":{\"capacity\":{\"cpu\":\"4\"}}}" &&
	test "$(jqo .metadata.namespace)" = null &&
	test "$(jqo .status.capacity.cpu)" = 4 &&
	expect_code 200 GET /api/v1/nodes/n1
'

test_expect_success 'generation bumps on spec changes only' '
	expect_code 201 POST /apis/apps/v1/namespaces/default/deployments -H "$CT_JSON" \
		-d "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"w\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"w\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}}}" &&
	test "$(jqo .metadata.generation)" = 1 &&
	test "$(jqo .spec.replicas)" = 1 &&
	test "$(jqo .spec.strategy.type)" = RollingUpdate &&
	jq ".metadata.labels={\"x\":\"y\"}" out >d1.json &&
	expect_code 200 PUT /apis/apps/v1/namespaces/default/deployments/web -H "$CT_JSON" -d @d1.json &&
	test "$(jqo .metadata.generation)" = 1 &&
	jq ".spec.replicas=3" out >d2.json &&
	expect_code 200 PUT /apis/apps/v1/namespaces/default/deployments/web -H "$CT_JSON" -d @d2.json &&
	test "$(jqo .metadata.generation)" = 2 && test "$(jqo .spec.replicas)" = 3
'

test_expect_success 'status changes only through /status, which ignores spec' '
	expect_code 200 GET /apis/apps/v1/namespaces/default/deployments/web &&
	jq ".status={\"replicas\":7}" out >s1.json &&
	expect_code 200 PUT /apis/apps/v1/namespaces/default/deployments/web -H "$CT_JSON" -d @s1.json &&
	test "$(jqo .status.replicas)" = null &&
	expect_code 200 GET /apis/apps/v1/namespaces/default/deployments/web &&
	jq ".status={\"replicas\":7}|.spec.replicas=9" out >s2.json &&
	expect_code 200 PUT /apis/apps/v1/namespaces/default/deployments/web/status -H "$CT_JSON" -d @s2.json &&
	test "$(jqo .status.replicas)" = 7 && test "$(jqo .spec.replicas)" = 3 &&
	expect_code 200 GET /apis/apps/v1/namespaces/default/deployments/web/status &&
	test "$(jqo .status.replicas)" = 7
'

test_expect_success 'delete removes the object and returns it' '
	expect_code 200 DELETE /api/v1/namespaces/default/pods/p1 &&
	test "$(jqo .metadata.name)" = p1 &&
	expect_code 404 GET /api/v1/namespaces/default/pods/p1 &&
	expect_code 404 DELETE /api/v1/namespaces/default/pods/p1
'

test_expect_success 'metrics count requests by verb, resource and code' '
	expect_code 200 GET /metrics &&
	grep "^apiserver_request_total{code=\"404\",group=\"\",resource=\"pods\",verb=\"GET\"} [1-9]" out &&
	grep "^apiserver_request_total{code=\"201\",group=\"\",resource=\"pods\",verb=\"POST\"} [1-9]" out &&
	grep "^apiserver_request_duration_seconds_bucket{group=\"\",resource=\"pods\",verb=\"GET\",le=\"+Inf\"}" out &&
	grep "^kplane_store_keys [0-9]" out
'

test_expect_success 'SIGTERM stops the server cleanly' '
	stop_server &&
	grep "stopped" server.err
'

test_done

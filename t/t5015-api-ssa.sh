#!/bin/sh
test_description='API server: server-side apply and managedFields (curl, then kubectl apply --server-side)'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"

start_server --store memory || exit 1

AP='Content-Type: application/apply-patch+yaml'
D=/apis/apps/v1/namespaces/default/deployments

# deploy FILE REPLICAS IMAGE [EXTRA-METADATA-LINE]: a Deployment configuration.
deploy() {
	cat >"$1" <<-EOF
	apiVersion: apps/v1
	kind: Deployment
	metadata:
	  name: web
	  labels: {app: web}
	  ${4-}
	spec:
	  replicas: $2
	  selector: {matchLabels: {app: web}}
	  template:
	    metadata: {labels: {app: web}}
	    spec:
	      containers:
	      - name: nginx
	        image: $3
	        ports: [{containerPort: 80}]
	EOF
}
# fields MANAGER: the fieldsV1 of MANAGER's entry in ./out, compact.
fields() {
	jq -c --arg m "$1" '.metadata.managedFields[] | select(.manager == $m) | .fieldsV1' out
}

test_expect_success 'apply without fieldManager is 422, as PatchOptions validation says' '
	deploy d.yaml 2 nginx:1.25 &&
	expect_code 422 PATCH $D/web -H "$AP" --data-binary @d.yaml &&
	test "$(jqo .message)" = "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch" &&
	test "$(jqo .details.causes[0].field)" = fieldManager &&
	expect_code 404 GET $D/web
'

test_expect_success 'apply creates the object with an Apply managedFields entry' '
	expect_code 201 PATCH "$D/web?fieldManager=alice" -H "$AP" --data-binary @d.yaml &&
	test "$(jqo ".metadata.managedFields | length")" = 1 &&
	test "$(jqo ".metadata.managedFields[0] | [.manager, .operation, .apiVersion, .fieldsType] | join(\" \")")" = "alice Apply apps/v1 FieldsV1" &&
	jqo ".metadata.managedFields[0].time" | grep -E "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$" &&
	cat >expect <<-\EOF &&
	{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:replicas":{},"f:selector":{},"f:template":{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{},"f:name":{},"f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}}}}}
	EOF
	fields alice >got && test_cmp expect got &&
	expect_code 200 GET $D/web && test "$(jqo .spec.replicas)" = 2
'

test_expect_success 'applying a field another manager owns with a new value is a 409 Conflict' '
	deploy d3.yaml 3 nginx:1.25 &&
	expect_code 409 PATCH "$D/web?fieldManager=bob" -H "$AP" --data-binary @d3.yaml &&
	test "$(jqo .reason)" = Conflict &&
	test "$(jqo .message)" = "Apply failed with 1 conflict: conflict with \"alice\": .spec.replicas" &&
	test "$(jqo ".details.causes[0] | [.reason, .message, .field] | join(\"|\")")" = "FieldManagerConflict|conflict with \"alice\"|.spec.replicas" &&
	expect_code 200 GET $D/web && test "$(jqo .spec.replicas)" = 2 &&
	test "$(jqo ".metadata.managedFields | length")" = 1
'

test_expect_success 'force=true takes the field over' '
	expect_code 200 PATCH "$D/web?fieldManager=bob&force=true" -H "$AP" --data-binary @d3.yaml &&
	test "$(jqo .spec.replicas)" = 3 &&
	fields alice | jq -e "has(\"f:spec\") and (.\"f:spec\" | has(\"f:replicas\") | not)" &&
	fields bob | jq -e ".\"f:spec\".\"f:replicas\" == {}"
'

test_expect_success 'applying the value a field already has shares it without conflict' '
	expect_code 200 PATCH "$D/web?fieldManager=carol" -H "$AP" --data-binary @d3.yaml &&
	fields bob | jq -e ".\"f:spec\".\"f:replicas\" == {}" &&
	fields carol | jq -e ".\"f:spec\".\"f:replicas\" == {}"
'

test_expect_success 'a field left out of the next apply is removed unless someone else owns it' '
	deploy d4.yaml 3 nginx:1.25 "annotations: {note: x, team: a}" &&
	expect_code 200 PATCH "$D/web?fieldManager=alice" -H "$AP" --data-binary @d4.yaml &&
	test "$(jqo .metadata.annotations.note)" = x &&
	deploy d5.yaml 3 nginx:1.25 "annotations: {team: a}" &&
	expect_code 200 PATCH "$D/web?fieldManager=alice" -H "$AP" --data-binary @d5.yaml &&
	test "$(jqo .metadata.annotations.note)" = null &&
	test "$(jqo .metadata.annotations.team)" = a &&
	grep -v "^  labels: {app: web}" d5.yaml >d6.yaml &&
	expect_code 200 PATCH "$D/web?fieldManager=alice" -H "$AP" --data-binary @d6.yaml &&
	test "$(jqo .metadata.labels.app)" = web &&
	test "$(jqo .spec.template.metadata.labels.app)" = web
'

test_expect_success 'a merge patch is an Update entry that takes the field from the applier' '
	expect_code 200 PATCH "$D/web?fieldManager=dave" -H "Content-Type: application/merge-patch+json" \
		-d "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"nginx\",\"image\":\"nginx:1.26\",\"ports\":[{\"containerPort\":80}]}]}}}}" &&
	test "$(jqo ".metadata.managedFields[] | select(.manager == \"dave\") | [.operation, .apiVersion] | join(\" \")")" = "Update apps/v1" &&
	fields dave | jq -e ".\"f:spec\".\"f:template\".\"f:spec\".\"f:containers\".\"k:{\\\"name\\\":\\\"nginx\\\"}\".\"f:image\" == {}" &&
	fields alice | jq -e ".\"f:spec\".\"f:template\".\"f:spec\".\"f:containers\".\"k:{\\\"name\\\":\\\"nginx\\\"}\" | has(\"f:image\") | not" &&
	expect_code 409 PATCH "$D/web?fieldManager=alice" -H "$AP" --data-binary @d5.yaml &&
	test "$(jqo .message)" = "Apply failed with 1 conflict: conflict with \"dave\" using apps/v1: .spec.template.spec.containers[name=\"nginx\"].image"
'

test_expect_success 'conflicts with several managers are listed per manager' '
	deploy d7.yaml 5 nginx:1.27 &&
	expect_code 409 PATCH "$D/web?fieldManager=erin" -H "$AP" --data-binary @d7.yaml &&
	printf "%s\n" "Apply failed with 4 conflicts: conflicts with \"alice\":" "- .spec.replicas" \
		"conflicts with \"bob\":" "- .spec.replicas" \
		"conflicts with \"carol\":" "- .spec.replicas" \
		"conflicts with \"dave\" using apps/v1:" \
		"- .spec.template.spec.containers[name=\"nginx\"].image" >expect &&
	jqo .message >got && test_cmp expect got &&
	test "$(jqo ".details.causes | length")" = 4
'

test_expect_success 'create and update record Update entries (fieldManager, else the User-Agent)' '
	expect_code 201 POST /api/v1/namespaces/default/configmaps -H "$CT_JSON" -A "my-tool/1.0 (linux)" \
		-d "{\"metadata\":{\"name\":\"c1\"},\"data\":{\"a\":\"1\",\"b\":\"2\"}}" &&
	test "$(jqo ".metadata.managedFields[0] | [.manager, .operation, .apiVersion] | join(\" \")")" = "my-tool Update v1" &&
	echo "{\"f:data\":{\".\":{},\"f:a\":{},\"f:b\":{}}}" >expect &&
	fields my-tool >got && test_cmp expect got &&
	expect_code 200 PUT "/api/v1/namespaces/default/configmaps/c1?fieldManager=frank" -H "$CT_JSON" \
		-d "{\"metadata\":{\"name\":\"c1\"},\"data\":{\"a\":\"9\",\"b\":\"2\"}}" &&
	echo "{\"f:data\":{\"f:a\":{}}}" >expect && fields frank >got && test_cmp expect got &&
	echo "{\"f:data\":{\".\":{},\"f:b\":{}}}" >expect && fields my-tool >got && test_cmp expect got &&
	rv=$(jqo .metadata.resourceVersion) &&
	expect_code 200 PUT "/api/v1/namespaces/default/configmaps/c1?fieldManager=gina" -H "$CT_JSON" \
		-d "{\"metadata\":{\"name\":\"c1\"},\"data\":{\"a\":\"9\",\"b\":\"2\"}}" &&
	test "$(jqo .metadata.resourceVersion)" = "$rv" &&
	test -z "$(fields gina)"
'

# What Kubernetes records for a created Deployment (kube's FieldsV1 of
# "kubectl create", defaults included): LabelSelector is +structType=atomic,
# so .spec.selector is owned whole, and enableServiceLinks is a Pod default
# (SetDefaults_Pod), not a template's.
test_expect_success 'a created Deployment: every field, defaults too, selector owned whole' '
	deploy c.yaml 3 nginx:1.14.2 &&
	sed -i "s/name: web/name: made/" c.yaml &&
	expect_code 201 POST "$D?fieldManager=maker" -H "Content-Type: application/yaml" --data-binary @c.yaml &&
	cat >expect.json <<-\EOF &&
	{"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
	 "f:spec": {
	  "f:progressDeadlineSeconds": {}, "f:replicas": {}, "f:revisionHistoryLimit": {},
	  "f:selector": {},
	  "f:strategy": {"f:rollingUpdate": {".": {}, "f:maxSurge": {}, "f:maxUnavailable": {}},
	                 "f:type": {}},
	  "f:template": {
	   "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
	   "f:spec": {
	    "f:containers": {
	     "k:{\"name\":\"nginx\"}": {
	      ".": {}, "f:image": {}, "f:imagePullPolicy": {}, "f:name": {},
	      "f:ports": {".": {},
	       "k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}, "f:protocol": {}}},
	      "f:resources": {}, "f:terminationMessagePath": {}, "f:terminationMessagePolicy": {}}},
	    "f:dnsPolicy": {}, "f:restartPolicy": {}, "f:schedulerName": {},
	    "f:securityContext": {}, "f:terminationGracePeriodSeconds": {}}}}}
	EOF
	jq -c . expect.json >expect &&
	fields maker >got && test_cmp expect got
'

test_expect_success 'a pod: required node affinity (NodeSelector) and label selectors are atomic' '
	expect_code 201 POST "/api/v1/namespaces/default/pods?fieldManager=maker" -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"aff\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}],\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\"}]}]}},\"podAntiAffinity\":{\"preferredDuringSchedulingIgnoredDuringExecution\":[{\"weight\":1,\"podAffinityTerm\":{\"topologyKey\":\"z\",\"labelSelector\":{\"matchLabels\":{\"a\":\"b\"}}}}]}}}}" &&
	fields maker >f &&
	test "$(jq -c ".\"f:spec\".\"f:affinity\"" f)" = "{\".\":{},\"f:nodeAffinity\":{\".\":{},\"f:requiredDuringSchedulingIgnoredDuringExecution\":{}},\"f:podAntiAffinity\":{\".\":{},\"f:preferredDuringSchedulingIgnoredDuringExecution\":{}}}" &&
	test "$(jq -c ".\"f:spec\".\"f:enableServiceLinks\"" f)" = "{}"
'

test_expect_success 'removing a field takes it from every manager' '
	expect_code 200 PATCH "/api/v1/namespaces/default/configmaps/c1?fieldManager=frank" \
		-H "Content-Type: application/merge-patch+json" -d "{\"data\":{\"b\":null}}" &&
	echo "{\"f:data\":{}}" >expect && fields my-tool >got && test_cmp expect got
'

test_expect_success 'status writes are entries of subresource status' '
	expect_code 200 PATCH "$D/web/status?fieldManager=ctrl" -H "Content-Type: application/merge-patch+json" \
		-d "{\"status\":{\"replicas\":3}}" &&
	test "$(jqo ".metadata.managedFields[] | select(.manager == \"ctrl\") | [.operation, .subresource] | join(\" \")")" = "Update status" &&
	echo "{\"f:status\":{\"f:replicas\":{}}}" >expect && fields ctrl >got && test_cmp expect got
'

test_expect_success 'bad fieldManager values and force on other patches are 422' '
	long=$(printf "%0129d" 0) &&
	expect_code 422 PATCH "$D/web?fieldManager=$long" -H "$AP" --data-binary @d5.yaml &&
	grep "fieldManager: Too long: may not be more than 128 bytes" out &&
	expect_code 422 PATCH "$D/web?fieldManager=x&force=true" -H "Content-Type: application/merge-patch+json" -d "{}" &&
	grep "force: Forbidden: may not be specified for non-apply patch" out
'

# ---- the real kubectl ----------------------------------------------------------

if ! command -v kubectl >/dev/null 2>&1; then
	test_skip 'kubectl apply --server-side' 'kubectl not found'
	test_done
fi
HOME=$TRASH_DIRECTORY
export HOME
KUBECONFIG=$TRASH_DIRECTORY/no-kubeconfig
export KUBECONFIG
k() { timeout 30 kubectl --server "$S" "$@"; }

cat >app.yaml <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ssa
  labels: {app: ssa}
  annotations: {owner: team-a}
spec:
  replicas: 2
  selector: {matchLabels: {app: ssa}}
  template:
    metadata: {labels: {app: ssa}}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        env: [{name: A, value: "1"}, {name: B, value: "2"}]
YAML

test_expect_success 'kubectl apply --server-side creates, then is unchanged' '
	k apply --server-side -f app.yaml >out && grep "deployment.apps/ssa serverside-applied" out &&
	k get deploy ssa -o json --show-managed-fields >obj.json &&
	test "$(jq -r ".metadata.managedFields[0] | [.manager, .operation] | join(\" \")" obj.json)" = "kubectl Apply" &&
	rv=$(jq -r .metadata.resourceVersion obj.json) &&
	k apply --server-side -f app.yaml >out &&
	test "$(k get deploy ssa -o jsonpath={.metadata.resourceVersion})" = "$rv"
'

test_expect_success 'kubectl apply --server-side conflicts with kubectl patch, --force-conflicts wins' '
	k patch deploy ssa --type=merge -p "{\"spec\":{\"replicas\":4}}" &&
	sed "s/replicas: 2/replicas: 5/" app.yaml >app5.yaml &&
	! k apply --server-side -f app5.yaml >out 2>err &&
	grep "conflict with \"kubectl-patch\" using apps/v1: .spec.replicas" err &&
	test "$(k get deploy ssa -o jsonpath={.spec.replicas})" = 4 &&
	k apply --server-side --force-conflicts -f app5.yaml &&
	test "$(k get deploy ssa -o jsonpath={.spec.replicas})" = 5
'

test_expect_success 'kubectl apply --server-side removes what the configuration no longer has' '
	sed -e "/annotations: {owner: team-a}/d" -e "s/, {name: B, value: \"2\"}//" app5.yaml >app6.yaml &&
	k apply --server-side -f app6.yaml &&
	k get deploy ssa -o json >obj.json &&
	test "$(jq -r ".metadata.annotations.owner // \"gone\"" obj.json)" = gone &&
	test "$(jq -c "[.spec.template.spec.containers[0].env[].name]" obj.json)" = "[\"A\"]"
'

test_done

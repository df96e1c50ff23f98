#!/bin/sh
test_description='API server: kubectl create <generator>, run and expose (protobuf request bodies) read back with the fields they set'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"

start_server --store memory || exit 1

# ---- protobuf at the HTTP level (no kubectl needed) ----------------------------

PB='Content-Type: application/vnd.kubernetes.protobuf'
# runtime.Unknown{typeMeta{apiVersion "v1", kind "ConfigMap"}, raw ConfigMap{
# metadata{name "c9"}, data{"k": "v"}, field 99 = 1 (varint), field 100 = "zz"}}
TM='\012\017\012\002v1\022\011ConfigMap'

test_expect_success 'protobuf ConfigMap: unknown field numbers are skipped' '
	printf "k8s\000$TM\022\026\012\004\012\002c9\022\006\012\001k\022\001v\230\006\001\242\006\002zz" >cm.pb &&
	expect_code 201 POST /api/v1/namespaces/default/configmaps -H "$PB" --data-binary @cm.pb &&
	test "$(jqo .metadata.name)" = c9 && test "$(jqo .data.k)" = v
'

test_expect_success 'malformed protobuf bodies are 400 and create nothing' '
	printf "k8s\000$TM\022\026\012\004\012\002c8" >trunc.pb &&
	expect_code 400 POST /api/v1/namespaces/default/configmaps -H "$PB" --data-binary @trunc.pb &&
	grep "BadRequest" out &&
	printf "k8s\000$TM\022\001\230" >varint.pb &&
	expect_code 400 POST /api/v1/namespaces/default/configmaps -H "$PB" --data-binary @varint.pb &&
	grep "truncated" out &&
	printf "k8s\000$TM\022\001\013" >group.pb &&
	expect_code 400 POST /api/v1/namespaces/default/configmaps -H "$PB" --data-binary @group.pb &&
	printf "k8s\000$TM\022\002\010\001" >wire.pb &&
	expect_code 400 POST /api/v1/namespaces/default/configmaps -H "$PB" --data-binary @wire.pb &&
	grep "wrong wire type at field metadata" out &&
	printf "k8s\000$TM\022\007\022\005\012\003\377\376k" >utf8.pb &&
	expect_code 400 POST /api/v1/namespaces/default/configmaps -H "$PB" --data-binary @utf8.pb &&
	printf "k8s\000\012\377\377\377\377\377\377\377\377\377\377\001" >env.pb &&
	expect_code 400 POST /api/v1/namespaces/default/configmaps -H "$PB" --data-binary @env.pb &&
	printf "nope" >nomagic.pb &&
	expect_code 400 POST /api/v1/namespaces/default/configmaps -H "$PB" --data-binary @nomagic.pb &&
	expect_code 200 GET /api/v1/namespaces/default/configmaps &&
	test "$(jqo ".items | length")" = 1
'

test_expect_success 'protobuf of a kind kplane does not decode: 415 naming it' '
	printf "k8s\000\012\026\012\007apps/v1\022\013StatefulSet\022\000" >sts.pb &&
	expect_code 415 POST /apis/apps/v1/namespaces/default/statefulsets -H "$PB" \
		--data-binary @sts.pb &&
	grep "protobuf bodies of apps/v1 StatefulSet are not supported" out
'

# ---- the real kubectl ----------------------------------------------------------

if ! command -v kubectl >/dev/null 2>&1; then
	test_skip 'kubectl create|run|expose' 'kubectl not found'
	test_done
fi
HOME=$TRASH_DIRECTORY
export HOME
KUBECONFIG=$TRASH_DIRECTORY/no-kubeconfig
export KUBECONFIG
k() { timeout 30 kubectl --server "$S" "$@"; }
# get KIND NAME JQ-FILTER: the compact jq value of the object read back.
g() { k get "$1" "$2" -o json >obj.json && jq -c "$3" obj.json; }
# is VALUE CMD...: fails showing both sides unless the output of CMD is VALUE.
is() {
	want=$1
	shift
	got=$("$@") || return 1
	test "$got" = "$want" || { echo "expected $want, got $got from $*"; return 1; }
}

test_expect_success 'kubectl create deployment --replicas --port' '
	k create deployment web --image=nginx --replicas=3 --port=80 &&
	is 3 g deploy web .spec.replicas &&
	is "{\"app\":\"web\"}" g deploy web .metadata.labels &&
	is "{\"app\":\"web\"}" g deploy web .spec.selector.matchLabels &&
	is "{\"app\":\"web\"}" g deploy web .spec.template.metadata.labels &&
	is "\"nginx\"" g deploy web ".spec.template.spec.containers[0].name" &&
	is "\"nginx\"" g deploy web ".spec.template.spec.containers[0].image" &&
	is 80 g deploy web ".spec.template.spec.containers[0].ports[0].containerPort" &&
	is "\"RollingUpdate\"" g deploy web .spec.strategy.type
'

test_expect_success 'kubectl create deployment --replicas=0 keeps the explicit zero' '
	k create deployment zero --image=registry.k8s.io/pause:3.9 --replicas=0 &&
	is 0 g deploy zero .spec.replicas &&
	is "\"pause\"" g deploy zero ".spec.template.spec.containers[0].name"
'

test_expect_success 'kubectl create job with a command' '
	k create job j1 --image=busybox -- echo hi &&
	is "\"j1\"" g job j1 ".spec.template.spec.containers[0].name" &&
	is "[\"echo\",\"hi\"]" g job j1 ".spec.template.spec.containers[0].command" &&
	is "\"Never\"" g job j1 .spec.template.spec.restartPolicy
'

test_expect_success 'kubectl create cronjob' '
	k create cronjob c1 --image=busybox --schedule="*/5 * * * *" -- date &&
	is "\"*/5 * * * *\"" g cj c1 .spec.schedule &&
	is "[\"date\"]" g cj c1 ".spec.jobTemplate.spec.template.spec.containers[0].command" &&
	is "\"OnFailure\"" g cj c1 .spec.jobTemplate.spec.template.spec.restartPolicy &&
	is "\"c1\"" g cj c1 .spec.jobTemplate.metadata.name
'

test_expect_success 'kubectl create service clusterip and nodeport' '
	k create service clusterip s1 --tcp=80:8080 &&
	is "\"ClusterIP\"" g svc s1 .spec.type &&
	is "{\"app\":\"s1\"}" g svc s1 .spec.selector &&
	is "[\"80-8080\",80,8080,\"TCP\"]" g svc s1 \
		"[.spec.ports[0].name, .spec.ports[0].port, .spec.ports[0].targetPort, .spec.ports[0].protocol]" &&
	k create service nodeport s2 --tcp=80:http --node-port=30080 &&
	is "\"NodePort\"" g svc s2 .spec.type &&
	is "[30080,\"http\"]" g svc s2 "[.spec.ports[0].nodePort, .spec.ports[0].targetPort]"
'

test_expect_success 'kubectl create configmap, secret, namespace, serviceaccount' '
	k create configmap cm1 --from-literal=a=b --from-literal=x=y &&
	is "{\"a\":\"b\",\"x\":\"y\"}" g cm cm1 .data &&
	k create secret generic sec1 --from-literal=pw=hunter2 &&
	is "[\"aHVudGVyMg==\",\"Opaque\"]" g secret sec1 "[.data.pw, .type]" &&
	k create namespace team-a &&
	is "\"Active\"" g ns team-a .status.phase &&
	k create serviceaccount sa1 &&
	is "\"sa1\"" g sa sa1 .metadata.name
'

test_expect_success 'kubectl create quota and priorityclass' '
	k create quota q1 --hard=pods=10,cpu=2 --scopes=BestEffort &&
	is "{\"cpu\":\"2\",\"pods\":\"10\"}" g quota q1 .spec.hard &&
	is "[\"BestEffort\"]" g quota q1 .spec.scopes &&
	k create priorityclass pc1 --value=1000 --description=hi --preemption-policy=Never &&
	is "[1000,\"hi\",\"Never\"]" g pc pc1 "[.value, .description, .preemptionPolicy]" &&
	k create priorityclass pc0 --value=0 &&
	is 0 g pc pc0 .value
'

test_expect_success 'kubectl create role, rolebinding, clusterrole, clusterrolebinding' '
	k create role r1 --verb=get,list --resource=pods &&
	is "[{\"apiGroups\":[\"\"],\"resources\":[\"pods\"],\"verbs\":[\"get\",\"list\"]}]" \
		g role r1 ".rules | map(to_entries | sort_by(.key) | from_entries)" &&
	k create rolebinding rb1 --role=r1 --user=alice --serviceaccount=default:sa1 &&
	is "{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"Role\",\"name\":\"r1\"}" \
		g rolebinding rb1 .roleRef &&
	is "[\"User/alice/\",\"ServiceAccount/sa1/default\"]" g rolebinding rb1 \
		"[.subjects[] | \"\(.kind)/\(.name)/\(.namespace // \"\")\"]" &&
	k create clusterrole cr1 --verb=get --resource=nodes &&
	is "[[\"get\"],[\"nodes\"]]" g clusterrole cr1 "[.rules[0].verbs, .rules[0].resources]" &&
	k create clusterrolebinding crb1 --clusterrole=cr1 --group=devs &&
	is "[\"ClusterRole\",\"cr1\",\"Group\",\"devs\"]" g clusterrolebinding crb1 \
		"[.roleRef.kind, .roleRef.name, .subjects[0].kind, .subjects[0].name]"
'

test_expect_success 'kubectl create poddisruptionbudget (int and percent)' '
	k create poddisruptionbudget pdb1 --selector=app=web --min-available=1 &&
	is 1 g pdb pdb1 .spec.minAvailable &&
	is "{\"app\":\"web\"}" g pdb pdb1 .spec.selector.matchLabels &&
	k create pdb pdb2 --selector=app=web --max-unavailable=50% &&
	is "\"50%\"" g pdb pdb2 .spec.maxUnavailable
'

test_expect_success 'kubectl create ingress' '
	k create ingress ing1 --rule="foo.com/bar=svc1:8080,tls=my-cert" --class=nginx &&
	is "\"nginx\"" g ing ing1 .spec.ingressClassName &&
	is "[\"foo.com\",\"/bar\",\"Exact\",\"svc1\",8080]" g ing ing1 \
		".spec.rules[0] | [.host, .http.paths[0].path, .http.paths[0].pathType, .http.paths[0].backend.service.name, .http.paths[0].backend.service.port.number]" &&
	is "[{\"hosts\":[\"foo.com\"],\"secretName\":\"my-cert\"}]" g ing ing1 .spec.tls
'

test_expect_success 'kubectl run with env, port, labels and arguments' '
	k run p1 --image=nginx --port=80 --env=A=B --labels=x=y --restart=Never -- sleep 10 &&
	is "{\"x\":\"y\"}" g pod p1 .metadata.labels &&
	is "[\"p1\",\"nginx\"]" g pod p1 "[.spec.containers[0].name, .spec.containers[0].image]" &&
	is "[\"sleep\",\"10\"]" g pod p1 ".spec.containers[0].args" &&
	is "[{\"name\":\"A\",\"value\":\"B\"}]" g pod p1 ".spec.containers[0].env" &&
	is 80 g pod p1 ".spec.containers[0].ports[0].containerPort" &&
	is "\"Never\"" g pod p1 .spec.restartPolicy
'

test_expect_success 'kubectl expose deployment' '
	k expose deployment web --port=8080 --target-port=80 --name=websvc &&
	is "{\"app\":\"web\"}" g svc websvc .spec.selector &&
	is "[8080,80]" g svc websvc "[.spec.ports[0].port, .spec.ports[0].targetPort]"
'

test_done

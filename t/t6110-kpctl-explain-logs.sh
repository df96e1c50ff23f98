#!/bin/sh
test_description='kpctl explain (from /openapi/v3) and kpctl logs (pods/log)'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t6lib-kpctl.sh"

kpctl_start_server || kpctl_skip_all "kplane server is not available"

# What the server's OpenAPI v3 document says about a few fields, read with
# jq, so that the expected text follows the served schema.
v3() {
	curl -s "$KPLANE_SERVER$(curl -s "$KPLANE_SERVER/openapi/v3" | jq -r ".paths[\"$1\"].serverRelativeURL")" >doc.json &&
	jq -r "$2" doc.json
}

test_expect_success 'explain a field: header, FIELD line, DESCRIPTION from the schema' '
	desc=$(v3 apis/apps/v1 ".components.schemas[\"io.k8s.api.apps.v1.DeploymentSpec\"].properties.replicas.description") &&
	test -n "$desc" &&
	kpctl explain deployment.spec.replicas >out &&
	printf "%s\n" "GROUP:      apps" "KIND:       Deployment" "VERSION:    v1" "" \
		"FIELD: replicas <integer>" "" "" "DESCRIPTION:" "    $desc" "    " "" >expect &&
	test_cmp expect out
'

test_expect_success 'explain a kind: description wrapped at 76 columns, FIELDS with types' '
	kpctl explain pods >out &&
	head -n 3 out >h &&
	printf "%s\n" "KIND:       Pod" "VERSION:    v1" "" >expect && test_cmp expect h &&
	sed -n 4p out >l && echo "DESCRIPTION:" >expect && test_cmp expect l &&
	# no GROUP line for the core group; no description line longer than 4+76
	! grep "^GROUP:" out &&
	sed -n "/^DESCRIPTION:/,/^FIELDS:/p" out | awk "length > 80 { bad = 1 } END { exit bad }" &&
	grep "^FIELDS:$" out &&
	printf "  apiVersion\t<string>\n" >expect && grep -F "$(cat expect)" out &&
	printf "  metadata\t<ObjectMeta>\n" >expect && grep -F "$(cat expect)" out &&
	printf "  spec\t<PodSpec>\n" >expect && grep -F "$(cat expect)" out
'

test_expect_success 'explain follows $ref, arrays and maps; -required- from the schema' '
	kpctl explain pods.spec.containers >out &&
	sed -n 4p out >l && printf "FIELD: containers <[]Container>\n" >expect && test_cmp expect l &&
	printf "  name\t<string> -required-\n" >expect && grep -F "$(cat expect)" out &&
	printf "  ports\t<[]ContainerPort>\n" >expect && grep -F "$(cat expect)" out &&
	kpctl explain pod.metadata.labels >out &&
	sed -n 4p out >l && printf "FIELD: labels <map[string]string>\n" >expect && test_cmp expect l &&
	kpctl explain deploy.spec >out &&
	printf "  selector\t<LabelSelector> -required-\n    <no description>\n" >expect &&
	grep -A1 -F "$(printf "  selector\t")" out >got && test_cmp expect got
'

test_expect_success 'explain --recursive lists nested fields by indentation only' '
	kpctl explain deploy.spec --recursive >out &&
	printf "    metadata\t<ObjectMeta>\n" >expect && grep -F "$(cat expect)" out &&
	printf "      labels\t<map[string]string>\n" >expect && grep -F "$(cat expect)" out &&
	! grep "<no description>" out
'

test_expect_success 'explain errors: unknown field and unknown type' '
	! kpctl explain deploy.spec.nothing >out 2>err &&
	echo "error: field \"nothing\" does not exist" >expect && test_cmp expect err &&
	printf "%s\n" "GROUP:      apps" "KIND:       Deployment" "VERSION:    v1" "" >expect && test_cmp expect out &&
	! kpctl explain frobs 2>err &&
	grep "^the server doesn.t have a resource type \"frobs\"$" err &&
	! kpctl explain 2>err && grep "Required resource not specified." err
'

test_expect_success 'explain matches real kubectl on the same server' '
	if ! command -v kubectl >/dev/null 2>&1; then exit 0; fi
	for what in deploy pods.spec pods.spec.containers.resources "deploy.spec --recursive" svc.spec.type; do
		timeout 30 kubectl --server "$KPLANE_SERVER" explain $what >want &&
		kpctl explain $what >got && test_cmp want got || exit 1
	done
'

cat >pods.yaml <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: one, labels: {app: x}}
spec: {containers: [{name: c, image: "nginx:1"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: two, labels: {app: x}}
spec:
  nodeName: node-1
  containers: [{name: a, image: "nginx:1"}, {name: b, image: "busybox:1"}]
---
apiVersion: v1
kind: Service
metadata: {name: x}
spec:
  selector: {app: x}
  ports: [{port: 80}]
EOF

test_expect_success 'logs of a simulated pod: the server says there are none, exit 1' '
	kpctl apply -f pods.yaml >/dev/null &&
	! kpctl logs one >out 2>err &&
	test ! -s out &&
	grep "^Error from server (BadRequest): no logs for simulated pods" err &&
	! kpctl logs pod/one -c c 2>err &&
	grep "^Error from server (BadRequest): no logs for simulated pods" err
'

test_expect_success 'logs checks the pod and the container first, defaults to the first container' '
	! kpctl logs nope 2>err &&
	echo "error: error from server (NotFound): pods \"nope\" not found in namespace \"default\"" >expect &&
	test_cmp expect err &&
	! kpctl logs one -c zz 2>err &&
	echo "error: container zz is not valid for pod one" >expect && test_cmp expect err &&
	! kpctl logs two 2>err &&
	head -n 1 err >l && echo "Defaulted container \"a\" out of: a, b" >expect && test_cmp expect l &&
	! kpctl logs two b 2>err && ! grep Defaulted err &&
	! kpctl logs 2>err && grep "POD or TYPE/NAME is a required argument for the logs command" err
'

test_expect_success 'logs TYPE/NAME picks a pod as kubectl does (a scheduled one first)' '
	! kpctl logs svc/x -c a 2>err &&
	head -n 1 err >l && echo "Found 2 pods, using pod/two" >expect && test_cmp expect l &&
	grep "no logs for simulated pods: pod \"two\"" err &&
	! kpctl logs svc/nope 2>err &&
	echo "error: error from server (NotFound): services \"nope\" not found in namespace \"default\"" >expect &&
	test_cmp expect err
'

test_expect_success 'bash completion knows edit, rollout, explain, logs and the new -o formats' '
	kpctl completion bash >comp && bash -n comp &&
	cat >c.sh <<-\EOF &&
	. ./comp
	COMP_WORDS=(kpctl ro); COMP_CWORD=1; _kpctl; echo "${COMPREPLY[*]}"
	COMP_WORDS=(kpctl rollout un); COMP_CWORD=2; _kpctl; echo "${COMPREPLY[*]}"
	COMP_WORDS=(kpctl rollout undo st); COMP_CWORD=3; _kpctl; echo "${COMPREPLY[*]}"
	COMP_WORDS=(kpctl get -o custom); COMP_CWORD=3; _kpctl; echo "${COMPREPLY[*]}"
	COMP_WORDS=(kpctl e); COMP_CWORD=1; _kpctl; echo "${COMPREPLY[*]}"
	COMP_WORDS=(kpctl explain --rec); COMP_CWORD=2; _kpctl; echo "${COMPREPLY[*]}"
	COMP_WORDS=(kpctl logs o); COMP_CWORD=2; _kpctl; echo "${COMPREPLY[*]}"
	COMP_WORDS=(kpctl get --sort); COMP_CWORD=2; _kpctl; echo "${COMPREPLY[*]}"
	EOF
	bash c.sh >out &&
	printf "%s\n" rollout undo statefulsets "custom-columns= custom-columns-file=" "edit events explain" \
		--recursive one --sort-by >expect &&
	test_cmp expect out
'

test_done

#!/bin/sh
test_description='API server: more of kubectl against kplane server (every kind, watch, replace, annotate, taint, cordon, drain)'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"

if ! command -v kubectl >/dev/null 2>&1; then
	echo "1..0 # SKIP kubectl not found"
	exit 0
fi

start_server --store memory || exit 1
HOME=$TRASH_DIRECTORY
export HOME
KUBECONFIG=$TRASH_DIRECTORY/no-kubeconfig
export KUBECONFIG
k() { timeout 30 kubectl --server "$S" "$@"; }

cat >objs.yaml <<'YAML'
apiVersion: v1
kind: Node
metadata:
  name: n1
  labels: {kubernetes.io/hostname: n1}
---
apiVersion: v1
kind: Pod
metadata:
  name: a
  labels: {app: a}
spec:
  nodeName: n1
  containers:
  - name: c
    image: nginx:1.25
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  k: v
---
apiVersion: v1
kind: Service
metadata:
  name: svc
spec:
  selector: {app: a}
  ports:
  - port: 80
    targetPort: 8080
---
apiVersion: batch/v1
kind: Job
metadata:
  name: j
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: c
        image: busybox
YAML

test_expect_success 'kubectl create -f a multi-document file' '
	k create -f objs.yaml >out &&
	grep "^node/n1 created$" out && grep "^pod/a created$" out &&
	grep "^configmap/cfg created$" out && grep "^service/svc created$" out &&
	grep "^job.batch/j created$" out
'

test_expect_success 'kubectl get every listable kind, all namespaces' '
	k api-resources --verbs=list -o name >kinds &&
	test $(wc -l <kinds) -ge 30 &&
	while read kind; do
		k get "$kind" -A >out 2>&1 || { echo "get $kind failed:"; cat out; exit 1; }
	done <kinds
'

test_expect_success 'kubectl get -o json|yaml|wide for several kinds' '
	k get svc svc -o json >out && jq -r ".spec.ports[0].targetPort" out >v &&
	echo 8080 >expect && test_cmp expect v &&
	k get cm cfg -o yaml >out && grep "^  k: v$" out &&
	k get jobs -o wide >out && head -1 out | tr -s " " >hdr &&
	echo "NAME STATUS COMPLETIONS DURATION AGE CONTAINERS IMAGES SELECTOR" >expect &&
	test_cmp expect hdr &&
	k get nodes -o wide >out && head -1 out | tr -s " " >hdr &&
	echo "NAME STATUS ROLES AGE VERSION INTERNAL-IP EXTERNAL-IP OS-IMAGE KERNEL-VERSION CONTAINER-RUNTIME" >expect &&
	test_cmp expect hdr
'

test_expect_success 'kubectl get all lists the pod, service and job' '
	k get all -o name >out &&
	grep -x pod/a out && grep -x service/svc out && grep -x job.batch/j out &&
	! grep configmap out
'

test_expect_success 'kubectl get -w prints ADDED, MODIFIED and DELETED events' '
	(timeout 6 kubectl --server "$S" get pods -w --output-watch-events >w.out 2>&1 &) &&
	i=0 && while ! grep -q "^ADDED" w.out 2>/dev/null; do
		i=$((i + 1)); test $i -le 100 || exit 1; sleep 0.05; done &&
	k label pod a z=1 >/dev/null &&
	k create -f - >/dev/null <<-YAML &&
	apiVersion: v1
	kind: Pod
	metadata: {name: b}
	spec: {containers: [{name: c, image: busybox}]}
	YAML
	k delete pod b --wait=false >/dev/null &&
	i=0 && while ! grep -q "^DELETED *b " w.out; do
		i=$((i + 1)); test $i -le 100 || { cat w.out; exit 1; }; sleep 0.05; done &&
	awk "{print \$1, \$2}" w.out >ev &&
	printf "EVENT NAME\nADDED a\nMODIFIED a\nADDED b\nDELETED b\n" >expect &&
	test_cmp expect ev
'

test_expect_success 'kubectl annotate, then replace with a stale object conflicts' '
	k annotate pod a note=one >out && grep "pod/a annotated" out &&
	k get pod a -o yaml >a.yaml &&
	sed "s/note: one/note: two/" a.yaml >a2.yaml &&
	k replace -f a2.yaml >out && grep "pod/a replaced" out &&
	k get pod a -o jsonpath="{.metadata.annotations.note}" >v &&
	printf two >expect && test_cmp expect v &&
	! k replace -f a2.yaml >out 2>&1 &&
	grep "Error from server (Conflict)" out &&
	grep "the object has been modified" out
'

test_expect_success 'kubectl annotate --overwrite and removal' '
	! k annotate pod a note=three >out 2>&1 &&
	grep "already has a value (two)" out &&
	k annotate pod a note=three --overwrite >/dev/null &&
	k annotate pod a note- >/dev/null &&
	k get pod a -o json >out && jq -r ".metadata.annotations.note // \"none\"" out >v &&
	echo none >expect && test_cmp expect v
'

test_expect_success 'kubectl taint adds and removes a node taint' '
	k taint node n1 dedicated=db:NoSchedule >out && grep "node/n1 tainted" out &&
	k get node n1 -o jsonpath="{.spec.taints[0].key}={.spec.taints[0].value}:{.spec.taints[0].effect}" >v &&
	printf "dedicated=db:NoSchedule" >expect && test_cmp expect v &&
	k taint node n1 dedicated=db:NoSchedule- >out && grep "node/n1 untainted" out &&
	k get node n1 -o json >out && jq -r ".spec.taints // [] | length" out >v &&
	echo 0 >expect && test_cmp expect v
'

test_expect_success 'kubectl cordon and uncordon' '
	k cordon n1 >out && grep "node/n1 cordoned" out &&
	k get node n1 -o jsonpath="{.spec.unschedulable}" >v &&
	printf true >expect && test_cmp expect v &&
	k get nodes >out && grep "SchedulingDisabled" out &&
	k uncordon n1 >out && grep "node/n1 uncordoned" out &&
	k get node n1 -o json >out && jq -r ".spec.unschedulable // false" out >v &&
	echo false >expect && test_cmp expect v
'

test_expect_success 'kubectl drain evicts the node'\''s pods' '
	k drain n1 --force --ignore-daemonsets --timeout=20s >out 2>&1 &&
	grep "evicting pod default/a" out && grep "node/n1 drained" out &&
	! k get pod a >out 2>&1 && grep "NotFound" out &&
	k get node n1 -o jsonpath="{.spec.unschedulable}" >v &&
	printf true >expect && test_cmp expect v
'

test_expect_success 'kubectl describe deployment and service' '
	k create -f - >out <<-YAML &&
	apiVersion: apps/v1
	kind: Deployment
	metadata: {name: web}
	spec:
	  replicas: 2
	  selector: {matchLabels: {app: web}}
	  template:
	    metadata: {labels: {app: web}}
	    spec: {containers: [{name: c, image: "nginx:1.25"}]}
	YAML
	grep "deployment.apps/web created" out &&
	k describe deployment web >out &&
	grep "^Replicas: *2 desired" out && grep "nginx:1.25" out &&
	k describe svc svc >out && grep "^TargetPort: *8080/TCP$" out
'

# No kubelet runs the pods: the test plays it, marking the deployment's
# pods Running and Ready through pods/status.
pods_ready() {
	k get pods -l app=web -o name >pods &&
	test -s pods &&
	for p in $(cat pods); do
		expect_code 200 PATCH /api/v1/namespaces/default/pods/${p#pod/}/status \
			-H "Content-Type: application/merge-patch+json" \
			-d "{\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"lastTransitionTime\":\"2026-01-01T00:00:00Z\"}]}}" ||
		return 1
	done
}

test_expect_success 'kubectl create namespace|configmap|secret (protobuf bodies)' '
	k create namespace team-a >out && grep "namespace/team-a created" out &&
	k get ns team-a -o jsonpath="{.status.phase}" >v &&
	printf Active >expect && test_cmp expect v &&
	k create configmap c1 --from-literal=a=b --from-literal=x=y >out &&
	grep "configmap/c1 created" out &&
	k get cm c1 -o json >out && jq -c .data out >v &&
	echo "{\"a\":\"b\",\"x\":\"y\"}" >expect && test_cmp expect v &&
	k create secret generic s1 --from-literal=pw=hunter2 -n team-a >out &&
	grep "secret/s1 created" out &&
	k get secret s1 -n team-a -o jsonpath="{.data.pw}" >v &&
	printf aHVudGVyMg== >expect && test_cmp expect v &&
	k get secret s1 -n team-a -o jsonpath="{.type}" >v &&
	printf Opaque >expect && test_cmp expect v
'

test_expect_success 'protobuf bodies the server cannot decode: 415, malformed: 400' '
	printf "k8s\000\012\026\012\007apps/v1\022\013StatefulSet\022\000" >sts.pb &&
	expect_code 415 POST /apis/apps/v1/namespaces/default/statefulsets \
		-H "Content-Type: application/vnd.kubernetes.protobuf" --data-binary @sts.pb &&
	grep "protobuf bodies of apps/v1 StatefulSet are not supported" out &&
	printf "k8s\000\012\377" >bad.pb &&
	expect_code 400 POST /api/v1/namespaces/default/configmaps \
		-H "Content-Type: application/vnd.kubernetes.protobuf" --data-binary @bad.pb
'

test_expect_success 'kubectl rollout status, history and undo (server with the controllers)' '
	start_server --store memory --components api,controllers &&
	k create -f - >out <<-YAML &&
	apiVersion: apps/v1
	kind: Deployment
	metadata: {name: web}
	spec:
	  replicas: 2
	  selector: {matchLabels: {app: web}}
	  template:
	    metadata: {labels: {app: web}}
	    spec: {containers: [{name: c, image: "nginx:1.25"}]}
	YAML
	i=0 && while test "$(k get pods -l app=web -o name | wc -l)" -lt 2; do
		i=$((i + 1)); test $i -le 100 || exit 1; sleep 0.1; done &&
	pods_ready &&
	k rollout status deployment/web --timeout=20s >out &&
	grep "deployment \"web\" successfully rolled out" out &&
	k set image deployment/web c=nginx:1.26 >out &&
	i=0 && while test "$(k get rs -l app=web -o name | wc -l)" -lt 2; do
		i=$((i + 1)); test $i -le 100 || exit 1; sleep 0.1; done &&
	k rollout history deployment/web >out &&
	grep -E "^1 " out && grep -E "^2 " out &&
	k rollout undo deployment/web >out &&
	grep "deployment.apps/web rolled back" out &&
	k get deployment web -o jsonpath="{.spec.template.spec.containers[0].image}" >v &&
	printf nginx:1.25 >expect && test_cmp expect v &&
	stop_server
'

test_expect_success 'kubectl delete -f removes what create -f made' '
	k delete -f objs.yaml --ignore-not-found --wait=false >out &&
	grep "configmap \"cfg\" deleted" out &&
	! k get cm cfg >/dev/null 2>&1
'

test_done

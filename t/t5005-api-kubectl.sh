#!/bin/sh
test_description='API server: the real kubectl against kplane server'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"

if ! command -v kubectl >/dev/null 2>&1; then
	echo "1..0 # SKIP kubectl not found"
	exit 0
fi

start_server --store memory || exit 1
# kubectl caches discovery under $HOME/.kube: keep it in the trash directory.
HOME=$TRASH_DIRECTORY
export HOME
KUBECONFIG=$TRASH_DIRECTORY/no-kubeconfig
export KUBECONFIG
k() { timeout 30 kubectl --server "$S" "$@"; }

cat >pod.yaml <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels:
    app: web
spec:
  containers:
  - name: c
    image: nginx:1.25
    resources:
      requests:
        cpu: 250m
        memory: 64Mi
YAML

cat >deploy.yaml <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: d1
spec:
  replicas: 2
  selector:
    matchLabels: {app: d1}
  template:
    metadata:
      labels: {app: d1}
    spec:
      containers:
      - name: c
        image: nginx:1.25
        ports:
        - containerPort: 80
YAML

test_expect_success 'kubectl version reaches the server' '
	k version >out 2>&1 &&
	grep "^Server Version: v1\.32\." out
'

test_expect_success 'kubectl get pods -A on an empty cluster' '
	k get pods -A >out 2>&1 &&
	grep "No resources found" out
'

test_expect_success 'kubectl create -f (with kubectl'\''s default validation) and get' '
	k create -f pod.yaml >out 2>&1 &&
	grep "^pod/web created$" out &&
	k get pods >out &&
	head -1 out | tr -s " " >hdr &&
	echo "NAME READY STATUS RESTARTS AGE" >expect && test_cmp expect hdr &&
	sed -n 2p out | awk "{print \$1, \$2, \$3, \$4}" >row &&
	echo "web 0/1 Pending 0" >expect && test_cmp expect row
'

test_expect_success 'kubectl get -o wide shows the wide columns' '
	k get pods -o wide >out &&
	head -1 out | tr -s " " >hdr &&
	echo "NAME READY STATUS RESTARTS AGE IP NODE NOMINATED NODE READINESS GATES" >expect &&
	test_cmp expect hdr
'

test_expect_success 'kubectl get -o yaml reads back the fields given' '
	k get pod web -o yaml >out &&
	grep "^  name: web$" out &&
	grep "image: nginx:1.25" out &&
	grep "cpu: 250m" out &&
	grep "memory: 64Mi" out &&
	grep "qosClass: Burstable" out
'

test_expect_success 'kubectl describe pod' '
	k describe pod web >out &&
	grep "^Name: *web$" out &&
	grep "^Status: *Pending$" out
'

test_expect_success 'kubectl label patches the pod' '
	k label pod web tier=front >out &&
	grep "pod/web labeled" out &&
	k get pod web -o jsonpath="{.metadata.labels.tier}{\"\\n\"}" >out &&
	echo front >expect && test_cmp expect out
'

test_expect_success 'kubectl apply creates, leaves unchanged, then configures' '
	k apply -f deploy.yaml >out && grep "deployment.apps/d1 created" out &&
	k apply -f deploy.yaml >out && grep "deployment.apps/d1 unchanged" out &&
	sed "s/replicas: 2/replicas: 4/" deploy.yaml >deploy4.yaml &&
	k apply -f deploy4.yaml >out && grep "deployment.apps/d1 configured" out &&
	k get deploy d1 -o jsonpath="{.spec.replicas}{\"\\n\"}" >out &&
	echo 4 >expect && test_cmp expect out
'

test_expect_success 'kubectl scale uses the scale subresource' '
	k scale deploy d1 --replicas=5 >out && grep "deployment.apps/d1 scaled" out &&
	k get deploy d1 -o jsonpath="{.spec.replicas}{\"\\n\"}" >out &&
	echo 5 >expect && test_cmp expect out &&
	k get deploy >out &&
	head -1 out | tr -s " " >hdr &&
	echo "NAME READY UP-TO-DATE AVAILABLE AGE" >expect && test_cmp expect hdr
'

test_expect_success 'kubectl get nodes columns' '
	expect_code 201 POST /api/v1/nodes -H "$CT_JSON" \
		-d "{\"metadata\":{\"name\":\"n1\",\"labels\":{\"node-role.kubernetes.io/worker\":\"\"}},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}],\"nodeInfo\":{\"kubeletVersion\":\"v1.32.0\"}}}" &&
	k get nodes >out &&
	head -1 out | tr -s " " >hdr &&
	echo "NAME STATUS ROLES AGE VERSION" >expect && test_cmp expect hdr &&
	sed -n 2p out | awk "{print \$1, \$2, \$3, \$5}" >row &&
	echo "n1 Ready worker v1.32.0" >expect && test_cmp expect row
'

test_expect_success 'kubectl api-resources lists short names' '
	k api-resources >out &&
	grep -E "^deployments +deploy +apps/v1 +true +Deployment" out &&
	grep -E "^pods +po +v1 +true +Pod" out
'

test_expect_success 'kubectl get with a label selector and -A' '
	k get pods -A -l app=web -o name >out &&
	echo pod/web >expect && test_cmp expect out &&
	k get pods -A -l app=none >out 2>&1 &&
	grep "No resources found" out
'

test_expect_success 'kubectl explain walks the OpenAPI v3 schema' '
	k explain pods.spec >out &&
	grep "^KIND: *Pod$" out &&
	grep "^FIELD: spec <PodSpec>$" out &&
	grep -E "^  containers	<\[\]Container> -required-$" out &&
	k explain deployments.spec.template.spec.containers.resources >out &&
	grep "^GROUP: *apps$" out &&
	grep -E "^  limits	<map\[string\]Quantity>$" out &&
	! k explain pods.spec.nosuchfield >out 2>&1 &&
	grep "field \"nosuchfield\" does not exist" out
'

test_expect_success 'kubectl explain with the OpenAPI v2 (protobuf) document' '
	k explain pods.spec.tolerations --output plaintext-openapiv2 >out &&
	grep "^KIND: *Pod$" out &&
	grep -E "^   tolerationSeconds	<integer>$" out
'

test_expect_success 'kubectl apply --server-side creates and updates' '
	sed "s/name: d1/name: d2/; s/app: d1/app: d2/g" deploy.yaml >d2.yaml &&
	k apply --server-side -f d2.yaml >out && grep "deployment.apps/d2 serverside-applied" out &&
	sed "s/replicas: 2/replicas: 3/" d2.yaml >d2b.yaml &&
	k apply --server-side -f d2b.yaml >out && grep "deployment.apps/d2 serverside-applied" out &&
	k get deploy d2 -o jsonpath="{.spec.replicas}{\"\\n\"}" >out &&
	echo 3 >expect && test_cmp expect out
'

test_expect_success 'kubectl delete waits for the pod to be gone' '
	k delete pod web >out &&
	grep "pod \"web\" deleted" out &&
	! k get pod web >out 2>&1 &&
	grep "Error from server (NotFound): pods \"web\" not found" out
'

test_expect_success 'kubectl delete deployment' '
	k delete -f deploy.yaml >out &&
	grep "deployment.apps \"d1\" deleted" out
'

test_done

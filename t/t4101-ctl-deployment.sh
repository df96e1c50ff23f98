#!/bin/sh
# End to end: `kplane server` with the scheduler, node-sim, replicaset,
# deployment and garbage-collector controllers. A Deployment comes up on
# fake nodes, scales, rolls out a new template within maxSurge and
# maxUnavailable, rolls back, and goes with its ReplicaSets and pods.
test_description='Deployment rollout through ReplicaSets on simulated nodes'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"
. "$KP_SRC_DIR/t/t4lib-ctl.sh"

start_server --store memory --components api,scheduler,controllers || { echo "1..0 # SKIP server did not start"; exit 0; }

cat >web.yaml <<'EOF2'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: c
        image: nginx:1
EOF2

# pods_running N IMAGE: exactly N pods of app=web, all Running and Ready
# with a pod IP, all of IMAGE.
pods_running() {
	K get pods -l app=web -o json >pods.json &&
	test "$(jq '.items | length' pods.json)" = "$1" &&
	test "$(jq '[.items[] | select(.status.phase == "Running" and .status.podIP != null
		and (.status.conditions[] | select(.type == "Ready") | .status) == "True"
		and .spec.containers[0].image == "'"$2"'")] | length' pods.json)" = "$1"
}

deploy_status() {
	K get deploy web -o json >d.json && jq -r "$1" d.json
}

test_expect_success 'a Deployment of 3 comes up Running on fake nodes' '
	fake_nodes 2 &&
	K apply -f web.yaml &&
	wait_for 20 "pods_running 3 nginx:1" &&
	wait_for 10 "test \"\$(deploy_status .status.availableReplicas)\" = 3" &&
	jq -r ".items[].spec.nodeName" pods.json | grep -v "^fake-[12]$" >bad; test ! -s bad
'

test_expect_success 'one ReplicaSet <name>-<pod-template-hash>, owned, revision 1' '
	K get rs -l app=web -o json >rs.json &&
	test "$(jq ".items | length" rs.json)" = 1 &&
	rs=$(jq -r ".items[0].metadata.name" rs.json) &&
	hash=$(jq -r ".items[0].metadata.labels[\"pod-template-hash\"]" rs.json) &&
	test "$rs" = "web-$hash" &&
	test "$(jq -r ".items[0].metadata.ownerReferences[0].kind" rs.json)" = Deployment &&
	test "$(jq -r ".items[0].metadata.ownerReferences[0].controller" rs.json)" = true &&
	test "$(jq -r ".items[0].spec.selector.matchLabels[\"pod-template-hash\"]" rs.json)" = "$hash" &&
	test "$(jq -r ".items[0].metadata.annotations[\"deployment.kubernetes.io/revision\"]" rs.json)" = 1 &&
	test "$(deploy_status ".metadata.annotations[\"deployment.kubernetes.io/revision\"]")" = 1 &&
	test "$(jq "[.items[] | select(.metadata.ownerReferences[0].name == \"$rs\")] | length" pods.json)" = 3 &&
	echo "$rs" >rs1
'

test_expect_success 'status and conditions as kube-controller-manager writes them' '
	test "$(deploy_status .status.replicas)" = 3 &&
	test "$(deploy_status .status.updatedReplicas)" = 3 &&
	test "$(deploy_status .status.readyReplicas)" = 3 &&
	test "$(deploy_status .status.observedGeneration)" = 1 &&
	test "$(deploy_status "[.status.conditions[] | select(.type==\"Available\")][0].reason")" = MinimumReplicasAvailable &&
	wait_for 5 "test \"\$(deploy_status \"[.status.conditions[] | select(.type==\\\"Progressing\\\")][0].reason\")\" = NewReplicaSetAvailable" &&
	test "$(K get rs "$(cat rs1)" -o json | jq .status.availableReplicas)" = 3
'

test_expect_success 'scale up to 5 and down to 2' '
	K scale deploy web --replicas 5 &&
	wait_for 20 "pods_running 5 nginx:1" &&
	K scale deploy web --replicas 2 &&
	wait_for 20 "pods_running 2 nginx:1" &&
	wait_for 10 "test \"\$(deploy_status .status.replicas)\" = 2"
'

# 2 replicas with the default 25%/25%: maxSurge ceil(0.5) = 1, maxUnavailable
# floor(0.5) = 0. So at most 3 pods, never fewer than 2 available: the new
# ReplicaSet goes 0->1->2 and the old one 2->1->0, one step each.
test_expect_success 'a new template rolls out through a new ReplicaSet' '
	K patch deploy web -p "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx:2\"}]}}}}" &&
	wait_for 30 "pods_running 2 nginx:2" &&
	K get rs -l app=web -o json >rs.json &&
	test "$(jq ".items | length" rs.json)" = 2 &&
	old=$(cat rs1) &&
	new=$(jq -r ".items[] | select(.metadata.name != \"$old\") | .metadata.name" rs.json) &&
	echo "$new" >rs2 &&
	test "$(jq -r ".items[] | select(.metadata.name == \"$old\") | .spec.replicas" rs.json)" = 0 &&
	test "$(jq -r ".items[] | select(.metadata.name == \"$new\") | .spec.replicas" rs.json)" = 2 &&
	test "$(jq -r ".items[] | select(.metadata.name == \"$new\") | .metadata.annotations[\"deployment.kubernetes.io/revision\"]" rs.json)" = 2 &&
	wait_for 10 "test \"\$(deploy_status .status.updatedReplicas)\" = 2" &&
	test "$(deploy_status ".metadata.annotations[\"deployment.kubernetes.io/revision\"]")" = 2 &&
	test "$(deploy_status .status.observedGeneration)" -ge 2
'

test_expect_success 'the rollout stepped within maxSurge 1 and maxUnavailable 0' '
	old=$(cat rs1) new=$(cat rs2) &&
	api GET "/api/v1/namespaces/default/events" >/dev/null &&
	jqo ".items[] | select(.involvedObject.kind == \"Deployment\" and .reason == \"ScalingReplicaSet\") | .message" >msgs &&
	grep -qx "Scaled up replica set $new to 1" msgs &&
	grep -qx "Scaled down replica set $old to 1 from 2" msgs &&
	grep -qx "Scaled up replica set $new to 2 from 1" msgs &&
	grep -qx "Scaled down replica set $old to 0 from 1" msgs &&
	test "$(grep -c "$new" msgs)" = 2
'

test_expect_success 'rolling back to the first template reuses its ReplicaSet as revision 3' '
	K patch deploy web -p "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx:1\"}]}}}}" &&
	wait_for 30 "pods_running 2 nginx:1" &&
	K get rs -l app=web -o json >rs.json &&
	test "$(jq ".items | length" rs.json)" = 2 &&
	test "$(jq -r ".items[] | select(.metadata.name == \"$(cat rs1)\") | .metadata.annotations[\"deployment.kubernetes.io/revision\"]" rs.json)" = 3 &&
	test "$(jq -r ".items[] | select(.metadata.name == \"$(cat rs2)\") | .spec.replicas" rs.json)" = 0 &&
	wait_for 10 "test \"\$(deploy_status \".metadata.annotations[\\\"deployment.kubernetes.io/revision\\\"]\")\" = 3"
'

test_expect_success 'Recreate scales the old ReplicaSet to 0 before the new one starts' '
	K patch deploy web -p "{\"spec\":{\"strategy\":{\"type\":\"Recreate\",\"rollingUpdate\":null},\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx:3\"}]}}}}" &&
	wait_for 30 "pods_running 2 nginx:3" &&
	K get rs -l app=web -o json >rs.json &&
	test "$(jq ".items | length" rs.json)" = 3 &&
	test "$(jq "[.items[] | select(.spec.replicas == 2)] | length" rs.json)" = 1 &&
	new=$(jq -r ".items[] | select(.spec.replicas == 2) | .metadata.name" rs.json) &&
	api GET "/api/v1/namespaces/default/events" >/dev/null &&
	jqo ".items[] | select(.involvedObject.kind == \"Deployment\" and .reason == \"ScalingReplicaSet\") | .message" >msgs &&
	grep -qx "Scaled down replica set $(cat rs1) to 0 from 2" msgs &&
	grep -qx "Scaled up replica set $new to 2" msgs
'

test_expect_success 'a paused Deployment does not roll out; resuming it does' '
	K patch deploy web -p "{\"spec\":{\"paused\":true}}" &&
	wait_for 10 "test \"\$(deploy_status \"[.status.conditions[] | select(.type==\\\"Progressing\\\")][0].reason\")\" = DeploymentPaused" &&
	K patch deploy web -p "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx:4\"}]}}}}" &&
	K scale deploy web --replicas 3 &&
	wait_for 20 "pods_running 3 nginx:3" &&
	test "$(K get rs -l app=web -o json | jq ".items | length")" = 3 &&
	K patch deploy web -p "{\"spec\":{\"paused\":false}}" &&
	wait_for 30 "pods_running 3 nginx:4" &&
	test "$(K get rs -l app=web -o json | jq ".items | length")" = 4
'

test_expect_success 'deleting the Deployment removes its ReplicaSets and pods' '
	K delete deploy web &&
	wait_for 20 "test \"\$(K get rs -o json | jq \".items | length\")\" = 0" &&
	wait_for 20 "test \"\$(K get pods -o json | jq \".items | length\")\" = 0"
'

test_expect_success 'a rollout that cannot progress reports ProgressDeadlineExceeded' '
	cat >stuck.yaml <<-EOF2 &&
	apiVersion: apps/v1
	kind: Deployment
	metadata: {name: stuck, namespace: default}
	spec:
	  replicas: 1
	  progressDeadlineSeconds: 2
	  selector: {matchLabels: {app: stuck}}
	  template:
	    metadata: {labels: {app: stuck}}
	    spec:
	      nodeSelector: {no-such-label: "true"}
	      containers: [{name: c, image: nginx}]
	EOF2
	K apply -f stuck.yaml &&
	wait_for 15 "K get deploy stuck -o json | jq -e \"(.status.conditions[] | select(.type == \\\"Progressing\\\")) | .status == \\\"False\\\" and .reason == \\\"ProgressDeadlineExceeded\\\"\"" &&
	K get deploy stuck -o json | jq -e "(.status.conditions[] | select(.type == \"Available\")) | .status == \"False\" and .reason == \"MinimumReplicasUnavailable\""
'

test_done

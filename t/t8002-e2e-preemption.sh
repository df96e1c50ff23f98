#!/bin/sh
# End to end: preemption inside `kplane server`. One node with 2 cpu runs two
# low-priority pods of 1 cpu each; a high-priority pod of 2 cpu can only fit
# if both go. kube-scheduler's DefaultPreemption evicts both (the minimal
# victim set here is all of them), nominates the node, and binds the
# preemptor once the victims are gone.
test_description='DefaultPreemption evicts lower-priority pods through the store'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"

start_server --store memory --components api,scheduler

cat >cluster.yaml <<'EOT'
apiVersion: v1
kind: Node
metadata: {name: node-1, labels: {kubernetes.io/hostname: node-1}}
status:
  allocatable: {cpu: "2", memory: 4Gi, pods: "110"}
  capacity: {cpu: "2", memory: 4Gi, pods: "110"}
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: low}
value: 100
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high}
value: 1000
---
apiVersion: v1
kind: Pod
metadata: {name: low-1, namespace: default}
spec:
  priorityClassName: low
  containers: [{name: c, image: busybox, resources: {requests: {cpu: "1"}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: low-2, namespace: default}
spec:
  priorityClassName: low
  containers: [{name: c, image: busybox, resources: {requests: {cpu: "1"}}}]
EOT

cat >high.yaml <<'EOT'
apiVersion: v1
kind: Pod
metadata: {name: high, namespace: default}
spec:
  priorityClassName: high
  containers: [{name: c, image: busybox, resources: {requests: {cpu: "2"}}}]
EOT

# Polls until the jq filter $2 on GET $1 prints $3 (10 s at most).
wait_for() {
	i=0
	while :; do
		api GET "$1" >/dev/null
		[ "$(jqo "$2")" = "$3" ] && return 0
		i=$((i + 1))
		[ $i -le 200 ] || { echo "$1: $2 is \"$(jqo "$2")\", want \"$3\""; cat out; return 1; }
		sleep 0.05
	done
}

test_expect_success 'the low-priority pods fill the node' '
	kpctl --server "$S" apply -f cluster.yaml &&
	wait_for /api/v1/namespaces/default/pods/low-1 ".spec.nodeName // empty" node-1 &&
	wait_for /api/v1/namespaces/default/pods/low-2 ".spec.nodeName // empty" node-1 &&
	test "$(jqo .spec.priority)" = 100
'

test_expect_success 'the high-priority pod preempts both and is bound to node-1' '
	kpctl --server "$S" apply -f high.yaml &&
	wait_for /api/v1/namespaces/default/pods/high ".spec.nodeName // empty" node-1 &&
	test "$(jqo .spec.priority)" = 1000 &&
	test "$(api GET /api/v1/namespaces/default/pods/low-1)" = 404 &&
	test "$(api GET /api/v1/namespaces/default/pods/low-2)" = 404
'

test_expect_success 'the preemption was recorded as events' '
	api GET /api/v1/namespaces/default/events >/dev/null &&
	jqo "[.items[] | select(.reason==\"Preempted\")] | length" >n &&
	test "$(cat n)" -ge 2
'

test_expect_success 'SIGTERM stops the server cleanly' '
	stop_server &&
	! grep -i "sanitizer" server.err
'

test_done

#!/bin/sh
# End to end: `kplane server` runs the scheduler in-process on its store. The
# demo cluster's pods are created through the REST API and must end where the
# default profile puts them; the one that fits nowhere must say why, in
# kube-scheduler's words, as a condition and as an event.
test_description='in-process scheduler binds pods created through the API'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"

DEMO=$KP_SRC_DIR/examples/demo

# Waits until pod $1 (namespace demo) has spec.nodeName or a PodScheduled condition.
wait_decided() {
	i=0
	while :; do
		api GET "/api/v1/namespaces/demo/pods/$1" >/dev/null
		if [ "$(jqo '.spec.nodeName // empty')" ] ||
		   [ "$(jqo '.status.conditions[]? | select(.type=="PodScheduled") | .status')" ]; then
			return 0
		fi
		i=$((i + 1))
		[ $i -le 100 ] || { echo "pod $1 was never decided"; cat out; return 1; }
		sleep 0.05
	done
}

start_server --store memory --components api,scheduler

test_expect_success 'create the demo cluster and pods through the API' '
	kpctl --server "$S" apply -f "$DEMO/cluster.yaml" &&
	kpctl --server "$S" apply -f "$DEMO/pods.yaml"
'

# Hand-worked placements: db-0 needs disktype=ssd, which node-a1 and node-b1
# carry, but node-b1 has the untolerated taint dedicated=gpu:NoSchedule.
test_expect_success 'nodeSelector and taint leave db-0 one node: node-a1' '
	wait_decided db-0 &&
	test "$(jqo .spec.nodeName)" = node-a1 &&
	test "$(jqo ".status.conditions[] | select(.type==\"PodScheduled\") | .status")" = True
'

# Only node-b1 has nvidia.com/gpu, and trainer tolerates its taint.
test_expect_success 'the GPU pod lands on the only GPU node, node-b1' '
	wait_decided trainer &&
	test "$(jqo .spec.nodeName)" = node-b1
'

# web-1 and web-2 fit anywhere untainted: never on node-b1.
test_expect_success 'web pods avoid the tainted node' '
	for p in web-1 web-2; do
		wait_decided $p &&
		n=$(jqo .spec.nodeName) &&
		case $n in node-a1|node-a2|node-b2) ;; *) echo "$p on \"$n\""; exit 1 ;; esac
	done
'

# 16 cpu fits no node (largest has 8): three nodes fail NodeResourcesFit,
# node-b1 fails TaintToleration first (it runs earlier in the filter order).
MSG='0/4 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 3 Insufficient cpu.'
test_expect_success 'too-big stays pending with kube-scheduler'"'"'s message' '
	wait_decided too-big &&
	test "$(jqo ".spec.nodeName // empty")" = "" &&
	test "$(jqo ".status.conditions[] | select(.type==\"PodScheduled\") | .reason")" = Unschedulable &&
	msg=$(jqo ".status.conditions[] | select(.type==\"PodScheduled\") | .message") &&
	case $msg in "$MSG"*) ;; *) echo "message: $msg"; exit 1 ;; esac
'

test_expect_success 'the scheduler recorded Scheduled and FailedScheduling events' '
	i=0 &&
	while :; do
		api GET "/api/v1/namespaces/demo/events" >/dev/null &&
		s=$(jqo "[.items[] | select(.reason==\"Scheduled\")] | length") &&
		f=$(jqo "[.items[] | select(.reason==\"FailedScheduling\" and .involvedObject.name==\"too-big\")] | length") &&
		{ [ "$s" -ge 4 ] && [ "$f" -ge 1 ]; } && break
		i=$((i + 1)); [ $i -le 100 ] || { echo "Scheduled=$s FailedScheduling=$f"; exit 1; }
		sleep 0.05
	done &&
	jqo ".items[] | select(.reason==\"Scheduled\" and .involvedObject.name==\"db-0\") | .message" >msg &&
	grep -q "Successfully assigned demo/db-0 to node-a1" msg
'

test_expect_success 'a pod for an unknown scheduler is left alone' '
	cat >other.yaml <<-\EOT &&
	apiVersion: v1
	kind: Pod
	metadata: {name: other, namespace: demo}
	spec:
	  schedulerName: not-kplane
	  containers: [{name: c, image: busybox}]
	EOT
	kpctl --server "$S" apply -f other.yaml &&
	sleep 0.5 &&
	api GET /api/v1/namespaces/demo/pods/other >/dev/null &&
	test "$(jqo ".spec.nodeName // empty")" = "" &&
	test "$(jqo "[.status.conditions[]? | select(.type==\"PodScheduled\")] | length")" = 0
'

test_expect_success 'a node added later takes a pending pod on retry' '
	cat >big.yaml <<-\EOT &&
	apiVersion: v1
	kind: Node
	metadata: {name: node-big, labels: {kubernetes.io/hostname: node-big}}
	status:
	  allocatable: {cpu: "32", memory: 64Gi, pods: "110"}
	  capacity: {cpu: "32", memory: 64Gi, pods: "110"}
	EOT
	kpctl --server "$S" apply -f big.yaml &&
	i=0 &&
	while :; do
		api GET /api/v1/namespaces/demo/pods/too-big >/dev/null &&
		[ "$(jqo ".spec.nodeName // empty")" = node-big ] && break
		i=$((i + 1)); [ $i -le 200 ] || { cat out; exit 1; }
		sleep 0.05
	done
'

test_expect_success 'SIGTERM stops server and scheduler cleanly' '
	stop_server &&
	! grep -i "error\|sanitizer" server.err
'

test_done

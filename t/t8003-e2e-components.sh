#!/bin/sh
# Components apart: `kplane server --components api`, two `kplane scheduler`
# and one `kplane controller-manager --server URL`, leader election on
# coordination.k8s.io Leases, /healthz and /metrics naming the leader,
# takeover after a SIGKILL, a clean hand-over on SIGTERM, refused flags.
# Leases are short here (4 s / 3 s / 1 s) so that the test is quick; the
# defaults (15 s / 10 s / 2 s) follow the same code.
test_description='scheduler and controller manager as separate processes with leader election'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"
. "$KP_SRC_DIR/t/t4lib-ctl.sh"

LEASE="--leader-elect-lease-duration 4s --leader-elect-renew-deadline 3s --leader-elect-retry-period 1s"

# start_component NAME KIND ARGS...: runs `kplane KIND --server $S ARGS`,
# NAME.pid / NAME.port / NAME.err, killed at exit.
start_component() {
	name=$1 kind=$2
	shift 2
	rm -f $name.port
	# (The absolute --port-file lets the cleanup below find the process.)
	kplane $kind --server "$S" --listen 127.0.0.1:0 --port-file "$TRASH_DIRECTORY/$name.port" \
		"$@" >$name.out 2>$name.err &
	echo $! >$name.pid
	wait_for 10 "test -s $name.port"
}
# Components start inside tests (subshells): kill whatever is left at exit.
test_when_finished "pkill -9 -f -- '--port-file $TRASH_DIRECTORY/' 2>/dev/null"

# The holderIdentity of Lease kube-system/$1.
holder() {
	api GET /apis/coordination.k8s.io/v1/namespaces/kube-system/leases/$1 >/dev/null &&
	jqo '.spec.holderIdentity // ""'
}

start_server --store memory --components api || exit 1

test_expect_success 'bad flags are refused naming the flag' '
	! kplane scheduler --server ftp://x 2>e1 && grep -q "ftp://x" e1 &&
	! kplane scheduler 2>e2 && grep -q -- "--server" e2 &&
	! kplane scheduler --server "$S" --leader-elect-lease-duration soon 2>e3 &&
	grep -q "leader-elect-lease-duration" e3 &&
	! kplane scheduler --server "$S" --leader-elect-lease-duration 2s \
		--leader-elect-renew-deadline 3s --listen 127.0.0.1:0 2>e4 &&
	grep -q "must be greater than the renew deadline" e4 &&
	! kplane controller-manager --server "$S" --scheduler-config x 2>e5 &&
	grep -q "not an option of this command" e5 &&
	! kplane scheduler --server "$S" --leader-elect=maybe 2>e6 && grep -q "leader-elect" e6 &&
	! kplane controller-manager --server "$S" --config nope.yaml 2>e7 &&
	grep -q -- "--config nope.yaml" e7 &&
	echo "workers: 3" >cm.yaml &&
	! kplane controller-manager --server "$S" --config cm.yaml 2>e8 &&
	grep -q "workers: unknown key" e8
'

test_expect_success 'a controller manager and two schedulers start; one of each leads' '
	start_component s1 scheduler --identity sched-1 $LEASE &&
	wait_for 10 "test \"\$(holder kube-scheduler)\" = sched-1" &&
	start_component s2 scheduler --identity sched-2 $LEASE &&
	start_component c1 controller-manager --identity cm-1 $LEASE &&
	wait_for 10 "test \"\$(holder kube-controller-manager)\" = cm-1"
'

test_expect_success 'the Lease is coordination.k8s.io/v1 with the configured duration' '
	api GET /apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler >/dev/null &&
	test "$(jqo .spec.leaseDurationSeconds)" = 4 &&
	test "$(jqo .spec.leaseTransitions)" = 0 &&
	jqo .spec.renewTime | grep -Eq "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{6}Z$" ||
	{ cat out; false; }
'

test_expect_success '/metrics and /healthz say who leads' '
	curl -s "http://127.0.0.1:$(cat s1.port)/metrics" >m1 &&
	grep -qx "leader_election_master_status{name=\"kube-scheduler\"} 1" m1 &&
	curl -s "http://127.0.0.1:$(cat s2.port)/metrics" >m2 &&
	grep -qx "leader_election_master_status{name=\"kube-scheduler\"} 0" m2 &&
	grep -q "holder=\"sched-1\"" m2 &&
	grep -qx "kplane_component_running 0" m2 &&
	test "$(curl -s "http://127.0.0.1:$(cat s2.port)/healthz")" = ok &&
	curl -s "http://127.0.0.1:$(cat s1.port)/healthz?verbose" | grep -qx "leader: sched-1 (this process)"
'

test_expect_success 'the leaders schedule and reconcile: a Deployment runs on fake nodes' '
	fake_nodes 3 &&
	cat >d.yaml <<-EOF &&
	apiVersion: apps/v1
	kind: Deployment
	metadata: {name: web, namespace: default}
	spec:
	  replicas: 4
	  selector: {matchLabels: {app: web}}
	  template:
	    metadata: {labels: {app: web}}
	    spec:
	      containers: [{name: c, image: nginx}]
	EOF
	K apply -f d.yaml &&
	wait_for 20 "test \"\$(K get deploy web -o jsonpath={.status.availableReplicas})\" = 4" &&
	K get pods -o json >pods.json &&
	test "$(jq "[.items[] | select(.spec.nodeName | startswith(\"fake-\"))] | length" pods.json)" = 4
'

test_expect_success 'SIGKILL of the leading scheduler: the other takes over and schedules' '
	kill -9 $(cat s1.pid) &&
	t0=$(date +%s.%N) &&
	wait_for 15 "test \"\$(holder kube-scheduler)\" = sched-2" &&
	t1=$(date +%s.%N) &&
	awk "BEGIN { printf \"takeover after %.2f s\\n\", $t1 - $t0 }" &&
	# lease 4 s + retry 1 s, plus this loop polling every 0.1 s
	awk "BEGIN { exit !($t1 - $t0 <= 5.5) }" &&
	api GET /apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler >/dev/null &&
	test "$(jqo .spec.leaseTransitions)" = 1 &&
	K scale deploy web --replicas 6 &&
	wait_for 20 "test \"\$(K get deploy web -o jsonpath={.status.availableReplicas})\" = 6"
'

test_expect_success 'SIGTERM hands the lease back: a new scheduler leads at once' '
	start_component s3 scheduler --identity sched-3 $LEASE &&
	kill -TERM $(cat s2.pid) &&
	wait_for 10 "! kill -0 $(cat s2.pid)" &&
	grep -q "stopped" s2.err &&
	wait_for 3 "test \"\$(holder kube-scheduler)\" = sched-3"
'

test_expect_success 'with --leader-elect=false a scheduler acts at once' '
	kill -9 $(cat s3.pid) &&
	start_component s4 scheduler --leader-elect=false &&
	grep -q "leader election off" s4.err &&
	K scale deploy web --replicas 7 &&
	wait_for 20 "test \"\$(K get deploy web -o jsonpath={.status.availableReplicas})\" = 7"
'

test_done

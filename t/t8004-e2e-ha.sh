#!/bin/sh
# High availability, as issue 7 describes it: three etcd members, two
# `kplane server --components api` on them, two schedulers and two
# controller managers pointed at different API servers (each lists both, for
# failover), simulated nodes. While a Deployment of 200 replicas comes up and
# a client keeps creating pods, the leading scheduler, the leading controller
# manager, one API server and one etcd member are SIGKILLed in turn. Then:
# every pod is scheduled exactly once, no acknowledged create is lost, the
# ReplicaSet made exactly 200 pods, and each new leader took over within the
# lease duration plus one retry period. Leases are 4 s / 3 s / 1 s here (the
# defaults, 15 s / 10 s / 2 s, would only make the test slower).
test_description='HA: 3 etcd, 2 API servers, 2 schedulers, 2 controller managers, SIGKILLs'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"
. "$KP_SRC_DIR/t/t4lib-ctl.sh"

if ! command -v etcd >/dev/null 2>&1; then
	echo "1..0 # SKIP etcd not installed (Debian: etcd-server)"
	exit 0
fi

LEASE_S=4 RETRY_S=1
LEASE="--leader-elect-lease-duration ${LEASE_S}s --leader-elect-renew-deadline 3s --leader-elect-retry-period ${RETRY_S}s"

# spawn NAME CMD...: runs CMD in the background, NAME.pid, killed at exit.
spawn() {
	name=$1
	shift
	"$@" >$name.out 2>$name.err &
	echo $! >$name.pid
	test_when_finished "kill -9 $! 2>/dev/null"
}

# Three members on ports picked from the PID; other ports on a second and
# third try when those were taken (another test may run etcd beside this one).
start_etcd() {
	# Below the kernel's ephemeral range (32768-), where connections could
	# hold a port; other etcd tests pick from 20000-40000 too, hence the
	# check that all three members run and answer.
	base=$((20000 + ($$ * 13 + $1 * 1013) % 12000))
	ic=
	for i in 1 2 3; do
		ic="${ic:+$ic,}m$i=http://127.0.0.1:$((base + 10 + i))"
	done
	for i in 1 2 3; do
		c="http://127.0.0.1:$((base + i))"
		rm -rf m$i
		spawn etcd$i etcd --name m$i --data-dir m$i --listen-client-urls "$c" \
			--advertise-client-urls "$c" --listen-peer-urls "http://127.0.0.1:$((base + 10 + i))" \
			--initial-advertise-peer-urls "http://127.0.0.1:$((base + 10 + i))" \
			--initial-cluster "$ic" --log-level warn
	done
	i=0
	until etcd_all_up; do
		i=$((i + 1))
		if [ $i -gt 300 ] || ! kill -0 $(cat etcd1.pid etcd2.pid etcd3.pid) 2>/dev/null; then
			kill -9 $(cat etcd1.pid etcd2.pid etcd3.pid) 2>/dev/null
			sed 's/^/# /' etcd1.err etcd2.err etcd3.err | tail -n 5
			return 1
		fi
		sleep 0.1
	done
}
# etcd_all_up: every member answers healthy (quorum alone would hide a member
# that never bound its port).
etcd_all_up() {
	for i in 1 2 3; do
		curl -s "http://127.0.0.1:$((base + i))/health" | grep -q '"health":"true"' || return 1
	done
}
try=1
until start_etcd $try; do
	try=$((try + 1))
	if [ $try -gt 3 ]; then
		echo "1..0 # SKIP a 3-member etcd would not start on loopback (3 tries)"
		exit 0
	fi
done
EPS="http://127.0.0.1:$((base + 1)),http://127.0.0.1:$((base + 2)),http://127.0.0.1:$((base + 3))"

for a in A B; do
	rm -f api$a.port
	spawn api$a kplane server --store etcd --etcd-endpoints "$EPS" --components api \
		--listen 127.0.0.1:0 --port-file api$a.port
done
wait_for 20 "test -s apiA.port && test -s apiB.port" || exit 1
SA="http://127.0.0.1:$(cat apiA.port)"
SB="http://127.0.0.1:$(cat apiB.port)"
S=$SB # the one that survives: checks and kpctl go there

for x in 1 2; do
	if [ $x = 1 ]; then servers="$SA,$SB"; else servers="$SB,$SA"; fi
	spawn sched$x kplane scheduler --server "$servers" --listen 127.0.0.1:0 \
		--identity sched-$x $LEASE
	spawn cm$x kplane controller-manager --server "$servers" --listen 127.0.0.1:0 \
		--identity cm-$x $LEASE
done

holder() {
	curl -s "$S/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/$1" |
		jq -r '.spec.holderIdentity // ""'
}

# kill_leader LEASE PREFIX: SIGKILLs the holder of LEASE, waits for the other
# to hold it, prints the seconds it took into takeover-LEASE.
kill_leader() {
	h=$(holder $1) &&
	case $h in $2-1) other=$2-2 ;; $2-2) other=$2-1 ;; *) echo "no leader for $1: \"$h\""; return 1 ;; esac &&
	kill -9 $(cat ${h%%-*}${h##*-}.pid) &&
	t0=$(date +%s.%N) &&
	wait_for 20 "test \"\$(holder $1)\" = $other" &&
	t1=$(date +%s.%N) &&
	awk "BEGIN { printf \"%.2f\\n\", $t1 - $t0 }" >takeover-$1 &&
	echo "$1: $h killed, $other leads after $(cat takeover-$1) s"
}

test_expect_success 'one scheduler and one controller manager lead' '
	wait_for 20 "holder kube-scheduler | grep -q sched-" &&
	wait_for 20 "holder kube-controller-manager | grep -q cm-"
'

test_expect_success 'simulated nodes and a client creating pods through both API servers' '
	fake_nodes 20 &&
	# Pods created one by one, each through A then B on failure; a 201 is an
	# acknowledged write and goes to acked.
	touch writer.run &&
	(
		n=0
		while [ -e writer.run ] && [ ! -e stop ]; do
			n=$((n + 1))
			for s in $SA $SB; do
				code=$(curl -s -m 5 -o /dev/null -w "%{http_code}" -X POST \
					-H "Content-Type: application/json" \
					-d "{\"metadata\":{\"name\":\"w-$n\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}" \
					"$s/api/v1/namespaces/default/pods")
				case $code in 201) echo w-$n >>acked; break ;; 409) break ;; esac
			done
			sleep 0.05
		done
	) >/dev/null 2>&1 &
	echo $! >writer.pid &&
	cat >d.yaml <<-EOF &&
	apiVersion: apps/v1
	kind: Deployment
	metadata: {name: big, namespace: default}
	spec:
	  replicas: 200
	  selector: {matchLabels: {app: big}}
	  template:
	    metadata: {labels: {app: big}}
	    spec:
	      containers: [{name: c, image: nginx, resources: {requests: {cpu: 10m}}}]
	EOF
	K apply -f d.yaml
'
test_when_finished "rm -f $TRASH_DIRECTORY/writer.run"

test_expect_success 'SIGKILL the leading scheduler: the other takes over in time' '
	sleep 1 &&
	kill_leader kube-scheduler sched &&
	awk "BEGIN { exit !($(cat takeover-kube-scheduler) <= $LEASE_S + $RETRY_S + 0.5) }"
'

test_expect_success 'SIGKILL the leading controller manager: the other takes over in time' '
	kill_leader kube-controller-manager cm &&
	awk "BEGIN { exit !($(cat takeover-kube-controller-manager) <= $LEASE_S + $RETRY_S + 0.5) }"
'

test_expect_success 'SIGKILL API server A: components and the client go on through B' '
	kill -9 $(cat apiA.pid) &&
	n=$(wc -l <acked) &&
	wait_for 20 "test \$(wc -l <acked) -ge \$((n + 10))"
'

test_expect_success 'SIGKILL the etcd member the API server talks to: writes go on' '
	kill -9 $(cat etcd1.pid) &&
	n=$(wc -l <acked) &&
	wait_for 30 "test \$(wc -l <acked) -ge \$((n + 10))"
'

test_expect_success 'the Deployment ends with 200 available replicas, exactly 200 pods' '
	touch stop &&
	wait_for 60 "test \"\$(K get deploy big -o jsonpath={.status.availableReplicas})\" = 200" &&
	K get pods -l app=big -o json >big.json &&
	test "$(jq ".items | length" big.json)" = 200
'

test_expect_success 'every acknowledged create is there' '
	kill $(cat writer.pid) 2>/dev/null
	sort -u acked >want &&
	test "$(wc -l <want)" -ge 20 &&
	K get pods -o name >all &&
	sed "s|^pod/||" all | sort >have &&
	comm -23 want have >lost &&
	test ! -s lost || { echo "lost:"; cat lost; false; }
'

test_expect_success 'every pod is scheduled exactly once' '
	wait_for 30 "K get pods -o json | jq -e \"all(.items[]; .spec.nodeName != null)\"" &&
	K get pods -o json >pods.json &&
	jq -r ".items[] | select(.spec.nodeName == null) | .metadata.name" pods.json >unbound &&
	test ! -s unbound &&
	jq -e "all(.items[]; any(.status.conditions[]?; .type == \"PodScheduled\" and .status == \"True\"))" pods.json &&
	curl -s "$S/api/v1/namespaces/default/events" >ev.json &&
	jq -r ".items[] | select(.reason == \"Scheduled\") | .involvedObject.uid" ev.json |
		sort | uniq -d >twice &&
	jq -r ".items[] | select(.reason == \"Scheduled\") | .count // 1" ev.json | sort -u >counts &&
	test ! -s twice && test "$(cat counts)" = 1
'

test_when_finished "pkill -9 -f -- '--port-file $TRASH_DIRECTORY/apiC.port' 2>/dev/null"
test_expect_success 'a kplane server with every component on etcd waits for the lease' '
	rm -f apiC.port &&
	kplane server --store etcd --etcd-endpoints "$EPS" --listen 127.0.0.1:0 \
		--port-file "$TRASH_DIRECTORY/apiC.port" >apiC.out 2>apiC.err &
	echo $! >apiC.pid &&
	wait_for 20 "test -s apiC.port" &&
	sleep 2 &&
	! grep -q "scheduler running" apiC.err &&
	h=$(holder kube-scheduler) &&
	kill -9 $(cat ${h%%-*}${h##*-}.pid) &&
	wait_for 20 "grep -q \"scheduler running\" apiC.err" &&
	case $(holder kube-scheduler) in sched-*|"") false ;; esac &&
	kill -9 $(cat apiC.pid)
'

say "takeover after SIGKILL: scheduler $(cat takeover-kube-scheduler 2>/dev/null) s," \
	"controller manager $(cat takeover-kube-controller-manager 2>/dev/null) s" \
	"(lease ${LEASE_S} s, retry ${RETRY_S} s); $(wc -l <acked 2>/dev/null) acknowledged creates"
test_done

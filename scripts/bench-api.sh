#!/bin/sh
# scripts/bench-api.sh BUILD_DIR [--store leveldb|etcd] [--runs N] [--only create|sched]
#
# The API server benchmarks of docs/bench/api.md and docs/bench/etcd.md on
# an already built tree, each run on a fresh store (and, for etcd, a fresh
# one-member etcd on loopback ports), reporting every run and the median:
#
#   create  pods POSTed by 64 keep-alive clients for 5 s (api-load), then
#           GET of one of them by 64 clients for 4 s, on
#           `kplane server --components api`;
#   sched   sched-bench --mode api SchedulingBasic/5000Nodes against a whole
#           `kplane server` (API, scheduler, controllers) given by --server.
#
# Data goes under BUILD_DIR/api-bench.d (the disk under test: not /tmp,
# which may be tmpfs) and is removed afterwards. Needs `etcd` (Debian:
# etcd-server) for --store etcd and `jq` for the sched figures.
set -eu
usage() {
	echo "usage: $0 BUILD_DIR [--store leveldb|etcd] [--runs N] [--only create|sched]" >&2
	exit 2
}
[ $# -ge 1 ] || usage
build=$(cd "$1" && pwd)
shift
store=leveldb runs=3 only=
while [ $# -gt 0 ]; do
	case $1 in
	--store) store=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--only) only=$2; shift 2 ;;
	*) usage ;;
	esac
done
case $store in leveldb|etcd) ;; *) usage ;; esac
here=$(cd "$(dirname "$0")" && pwd)
kplane=$build/cli/kplane
load=$build/t/helper/api-load
sb=$build/cli/sched-bench
for f in "$kplane" "$load" "$sb"; do
	if [ ! -x "$f" ]; then
		echo "$0: $f is not built (make && make t/helper/api-load in $build)" >&2
		exit 1
	fi
done
# a server from a build tree loads the tree's plugin modules
[ -n "${KPLANE_PLUGIN_PATH:-}" ] || export KPLANE_PLUGIN_PATH="$build/plugins/.libs"
work=$build/api-bench.d
rm -rf "$work"
mkdir -p "$work"
spid= epid=
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	[ -n "$epid" ] && kill "$epid" 2>/dev/null && wait "$epid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

cat >"$work/body.json" <<'EOF'
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p-%n","labels":{"app":"bench"}},"spec":{"containers":[{"name":"c","image":"nginx:1.25","resources":{"requests":{"cpu":"100m","memory":"64Mi"}}}]}}
EOF

# Starts etcd on loopback ports picked at random; sets E.
start_etcd() {
	for try in 1 2 3 4 5; do
		c=$(( ($$ * 7 + try * 131) % 20000 + 30000 ))
		E=http://127.0.0.1:$c
		peer=http://127.0.0.1:$((c + 1))
		rm -rf "$work/etcd"
		etcd --data-dir "$work/etcd" --listen-client-urls "$E" --advertise-client-urls "$E" \
			--listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
			--initial-cluster "default=$peer" --log-level warn >"$work/etcd.log" 2>&1 &
		epid=$!
		for w in $(seq 50); do
			curl -s "$E/health" 2>/dev/null | grep -q '"health":"true"' && return 0
			kill -0 "$epid" 2>/dev/null || break
			sleep 0.1
		done
		kill "$epid" 2>/dev/null; wait "$epid" 2>/dev/null || true
		epid=
	done
	echo "$0: etcd did not start:" >&2
	cat "$work/etcd.log" >&2
	exit 1
}

# Starts kplane server on a fresh store with the given extra flags; sets S.
start_server() {
	rm -rf "$work/data" "$work/port"
	if [ "$store" = etcd ]; then
		start_etcd
		set -- --store etcd --etcd-endpoints "$E" "$@"
	else
		set -- --store leveldb --data-dir "$work/data" "$@"
	fi
	"$kplane" server --listen 127.0.0.1:0 --port-file "$work/port" "$@" >"$work/server.log" 2>&1 &
	spid=$!
	for w in $(seq 200); do
		[ -s "$work/port" ] && break
		sleep 0.05
	done
	[ -s "$work/port" ] || { echo "$0: server did not start:" >&2; cat "$work/server.log" >&2; exit 1; }
	S=http://127.0.0.1:$(cat "$work/port")
}

stop_all() {
	kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null || true
	spid=
	if [ -n "$epid" ]; then
		kill "$epid" 2>/dev/null; wait "$epid" 2>/dev/null || true
		epid=
	fi
}

# clock ticks of CPU the server has used; synced commits of its store
server_cpu() { awk '{ print $14 + $15 }' "/proc/$spid/stat" 2>/dev/null || echo 0; }
server_syncs() { curl -s "$S/metrics" | awk '/^kplane_store_syncs_total/ { print $2 }'; }

# median of the numbers on stdin
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "# kplane server on $store, $runs run(s) each; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -z "$only" ] || [ "$only" = create ]; then
	: >"$work/create" ; : >"$work/get"
	for i in $(seq "$runs"); do
		start_server --components api
		c=$("$load" -c 64 -d 5 -m POST -b "$work/body.json" "$S/api/v1/namespaces/default/pods")
		g=$("$load" -c 64 -d 4 "$S/api/v1/namespaces/default/pods/p-5")
		stop_all
		echo "create run $i: $c (load $(cut -d' ' -f1 /proc/loadavg))"
		echo "get    run $i: $g"
		echo "$c" | sed 's/.* \([0-9]*\) req\/s.*/\1/' >>"$work/create"
		echo "$g" | sed 's/.* \([0-9]*\) req\/s.*/\1/' >>"$work/get"
	done
	echo "create pods, 64 clients: median $(median <"$work/create") req/s ($(tr '\n' ' ' <"$work/create"))"
	echo "GET one pod, 64 clients: median $(median <"$work/get") req/s ($(tr '\n' ' ' <"$work/get"))"
fi
if [ -z "$only" ] || [ "$only" = sched ]; then
	: >"$work/sched"
	for i in $(seq "$runs"); do
		start_server
		# the server's CPU and synced commits over the run (nodes, pods, bindings)
		c0=$(server_cpu) m0=$(server_syncs)
		"$sb" run "$here/../bench/performance-config.yaml" --workload SchedulingBasic/5000Nodes \
			--mode api --server "$S" -o json >"$work/sched.json" || true
		c1=$(server_cpu) m1=$(server_syncs)
		stop_all
		a=$(jq -r '.dataItems[] | select(.labels.Metric == "SchedulingThroughput") | .data.Average | floor' "$work/sched.json")
		e=$(jq -r '.dataItems[] | select(.labels.Metric == "scheduler_pod_scheduling_sli_duration_seconds") | "\(.data.Perc50) \(.data.Perc99)"' "$work/sched.json")
		echo "sched-bench api SchedulingBasic/5000Nodes run $i: $a pods/s, created-to-bound p50/p99 ms $e; server CPU $(echo "$c0 $c1" | awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($2 - $1) / hz }') s, $((m1 - m0)) synced commits (load $(cut -d' ' -f1 /proc/loadavg))"
		echo "$a" >>"$work/sched"
	done
	echo "sched-bench api SchedulingBasic/5000Nodes: median $(median <"$work/sched") pods/s ($(tr '\n' ' ' <"$work/sched"))"
fi

#!/bin/sh
test_description='sched-bench run: every bench/ workload at its check size, in-process and through
a kplane server; placement invariants and the DataItems shape, never a timing'
. "$(dirname "$0")/test-lib.sh"

cfg=$KP_SRC_DIR/bench/performance-config.yaml

test_expect_success 'the check size of every bench/ workload is listed, none skipped' '
	sched-bench run "$cfg" --list --workload "*/check" >list &&
	test $(wc -l <list) -eq 7 &&
	! grep skipped list &&
	grep -x "SchedulingBasic/check" list &&
	grep -x "PreferredTopologySpreading/check" list
'

# jq programs over a DataItems file (expected values worked out from
# bench/performance-config.yaml: PackingCheck has 10 nodes x 10 pods of
# 100m on 1 cpu = 100 places for 110 pods)
check_json() {
	jq -e ".version == \"v1\" and (.dataItems | length) > 0" "$1" >/dev/null &&
	jq -e "[.dataItems[] | select(.labels.Metric == \"SchedulingThroughput\")] | length == 7" "$1" >/dev/null &&
	jq -e "all(.dataItems[] | select(.labels.Metric == \"SchedulingThroughput\");
		.unit == \"pods/s\" and .data.Average > 0 and .data.Perc50 > 0 and .data.Perc90 > 0
		and .data.Perc95 > 0 and .data.Perc99 > 0)" "$1" >/dev/null &&
	jq -e "all(.dataItems[] | select(.labels.Metric == \"PlacementViolations\"); .data.Value == 0)" "$1" >/dev/null &&
	jq -e "all(.dataItems[] | select(.labels.Metric == \"Pods\" and .labels.Name != \"PackingCheck/check\");
		.data.Scheduled == .data.Measured and .data.Unschedulable == 0)" "$1" >/dev/null &&
	jq -e ".dataItems[] | select(.labels.Metric == \"Pods\" and .labels.Name == \"PackingCheck/check\")
		| .data.Measured == 110 and .data.Scheduled == 100 and .data.Unschedulable == 10" "$1" >/dev/null &&
	jq -e ".dataItems[] | select(.labels.Metric == \"Pods\" and .labels.Name == \"SchedulingPodAntiAffinity/check\")
		| .data.Measured == 12 and .data.Nodes == 22" "$1" >/dev/null &&
	jq -e ".dataItems[] | select(.labels.Metric == \"NodeUtilisation\" and .labels.Name == \"PackingCheck/check\")
		| .data.CpuMean == 1 and .data.CpuMax == 1" "$1" >/dev/null &&
	# time per extension point and per plugin, labelled as upstream labels them
	jq -e "[.dataItems[] | select(.labels.Name == \"SchedulingBasic/check\" and
		.labels.Metric == \"scheduler_framework_extension_point_duration_seconds\")
		| select(.unit == \"ms\" and .data.Average > 0 and .data.Perc99 >= .data.Perc50)
		| .labels.extension_point] | contains([\"PreFilter\", \"Filter\", \"Score\", \"Bind\"])" "$1" >/dev/null &&
	jq -e "[.dataItems[] | select(.labels.Name == \"SchedulingBasic/check\" and
		.labels.Metric == \"scheduler_plugin_execution_duration_seconds\" and
		.labels.plugin == \"DefaultBinder\" and .labels.extension_point == \"Bind\" and
		.data.Average > 0)] | length == 1" "$1" >/dev/null
}

if test_have_prereq jq; then
	test_expect_success 'inprocess: all check workloads, no placement violation, DataItems shape' '
		sched-bench run "$cfg" --workload "*/check" -o json --report report >in.json &&
		check_json in.json &&
		# the scheduler cache per node and per pod, from whichever allocator is linked
		jq -e "all(.dataItems[] | select(.labels.Metric == \"Memory\");
			.data.PeakRSS > 0 and .data.PerNode > 0 and .data.PerPod > 0)" in.json >/dev/null
	'
	test_expect_success 'api: all check workloads through kplane server (leveldb), same invariants' '
		sched-bench run "$cfg" --workload "*/check" --mode api --threads 4 --settle 1 -o json >api.json &&
		check_json api.json &&
		jq -e "[.dataItems[] | select(.labels.Metric == \"Memory\") | .data.PeakRSS > 0] | all" api.json >/dev/null
	'
	test_expect_success 'compare prints A, B and B/A for the common items' '
		sched-bench compare in.json api.json >cmp &&
		grep "SchedulingBasic/check .*SchedulingThroughput .*Average" cmp &&
		sched-bench compare in.json in.json >same &&
		grep "PackingCheck/check .*Pods .*Unschedulable .* 1.000$" same
	'
else
	test_skip 'inprocess run (needs jq)'
	test_skip 'api run (needs jq)'
	test_skip 'compare (needs jq)'
fi

test_expect_success 'inprocess with the .so plugin modules instead of the static table' '
	sched-bench run "$cfg" --workload "*/check" --plugins so >so.out &&
	test $(grep -c " 0 violations" so.out) -eq 7 &&
	grep "^  ext point  ms avg: PreFilter [0-9.]* Filter [0-9.]*" so.out &&
	grep "^  plugins    ms avg x timed calls, most time first: .*DefaultBinder/Bind" so.out &&
	grep "100 scheduled, 10 unschedulable" so.out
'

test_expect_success 'the report has an SVG chart section per workload' '
	test -f report/index.html &&
	test $(grep -c "<svg" report/index.html) -ge 21 &&
	grep "TopologySpreading/check" report/index.html &&
	grep "Attempt latency CDF" report/index.html
'

test_expect_success 'a scheduler without the taint and resource filters is caught by the check' '
	cat >broken.yaml <<-\EOC &&
	apiVersion: kubescheduler.config.k8s.io/v1
	kind: KubeSchedulerConfiguration
	profiles:
	- schedulerName: default-scheduler
	  plugins:
	    filter:
	      disabled: [{name: TaintToleration}, {name: NodeResourcesFit}]
	EOC
	! sched-bench run "$cfg" --workload PackingCheck --scheduler-config broken.yaml >out &&
	grep "cpu requested .*> allocatable 1000m" out
'

test_expect_success 'unsupported ops are reported by name and the workload is skipped' '
	cat >odd.yaml <<-\EOC &&
	- name: Odd
	  workloadTemplate:
	  - opcode: createNodes
	    count: 2
	  - opcode: createAny
	    templatePath: svc.yaml
	  workloads:
	  - name: a
	EOC
	! sched-bench run odd.yaml 2>err &&
	grep "Odd/a: skipped: workloadTemplate\[1\]: op createAny is not supported" err
'

# upstream's newer ops on a small scale: gated pods and an Attempted barrier,
# createPodSets into labelled namespaces, namespaceSelector anti-affinity,
# background deletion; 4 nodes, so at most 4 green pods in devops namespaces
cat >ops.yaml <<-\EOC
- name: Ops
  workloadTemplate:
  - opcode: createNodes
    count: 4
  - opcode: createNamespaces
    prefix: team
    count: 2
    namespaceTemplatePath: ns.yaml
  - opcode: createPods
    count: 3
    podTemplatePath: gated.yaml
    skipWaitToCompletion: true
  - opcode: barrier
    stageRequirement: Attempted
  - opcode: createPodSets
    count: 2
    namespacePrefix: team
    createPodsOp: {opcode: createPods, count: 2, podTemplatePath: green.yaml}
  - opcode: deletePods
    namespace: team-0
    deletePodsPerSecond: 1000
    skipWaitToCompletion: true
  - opcode: createPods
    count: 6
    namespace: other
    collectMetrics: true
  workloads:
  - name: a
EOC
cat >ns.yaml <<-\EOC
apiVersion: v1
kind: Namespace
metadata: {labels: {team: devops}}
EOC
cat >gated.yaml <<-\EOC
apiVersion: v1
kind: Pod
metadata: {generateName: gated-}
spec:
  schedulingGates: [{name: example.com/wait}]
  containers: [{name: c, image: pause}]
EOC
cat >green.yaml <<-\EOC
apiVersion: v1
kind: Pod
metadata: {generateName: green-, labels: {color: green}}
spec:
  affinity:
    podAntiAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
      - labelSelector: {matchLabels: {color: green}}
        namespaceSelector: {matchLabels: {team: devops}}
        topologyKey: kubernetes.io/hostname
  containers: [{name: c, image: pause, resources: {requests: {cpu: 100m}}}]
EOC

for mode in inprocess api; do
	test_expect_success "$mode: gated pods, createPodSets, namespaceSelector, background deletePods" "
		sched-bench run ops.yaml --mode $mode --timeout 30 >ops-$mode.out &&
		grep '6 measured, 6 scheduled, 0 unschedulable; 4 nodes' ops-$mode.out &&
		grep ' 0 violations' ops-$mode.out
	"
done

test_expect_success 'bad arguments' '
	test_expect_code() { want=$1; shift; "$@"; test $? -eq $want; } &&
	test_expect_code 2 sched-bench run "$cfg" --mode nope &&
	test_expect_code 2 sched-bench run "$cfg" --runs 0 &&
	test_expect_code 2 sched-bench run "$cfg" -o yaml &&
	test_expect_code 2 sched-bench run "$cfg" --plugins dlopen &&
	test_expect_code 1 sched-bench run nonexistent.yaml &&
	test_expect_code 1 sched-bench run "$cfg" --workload NoSuch &&
	test_expect_code 2 sched-bench compare in.json
'

test_done

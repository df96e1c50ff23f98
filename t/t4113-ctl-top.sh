#!/bin/sh
# End to end: `kpctl top pods|nodes` (and `kubectl top` when kubectl is on
# PATH) print node-sim's simulated usage from metrics.k8s.io. Expected by
# hand, as kubectl prints it (CPU in millicores, memory in whole MiB,
# percentages of allocatable truncated):
#  - p1 250m/64Mi and p2 1500m/100Mi on n1 (allocatable 4 cpu, 8Gi):
#    n1 1750m = 1750/4000 = 43.75% -> 43%; 164Mi of 8192Mi = 2.0% -> 2%;
#  - p5 (namespace other) 1Gi, no cpu, on n2 (node-sim's default
#    allocatable 32 cpu, 256Gi): n2 0m 0%, 1024Mi = 0.39% -> 0%;
#  - p2's two containers: 750m/50Mi each.
test_description='kpctl top pods and nodes'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"
. "$KP_SRC_DIR/t/t4lib-ctl.sh"

start_server --store memory --components api,scheduler,controllers ||
	{ echo "1..0 # SKIP server did not start"; exit 0; }

cat >objs.yaml <<'EOF2'
apiVersion: v1
kind: Node
metadata:
  name: n1
  annotations: {kwok.x-k8s.io/node: fake}
  labels: {zone: a}
status:
  allocatable: {cpu: "4", memory: 8Gi, pods: "110"}
  capacity: {cpu: "4", memory: 8Gi, pods: "110"}
---
apiVersion: v1
kind: Node
metadata:
  name: n2
  annotations: {kwok.x-k8s.io/node: fake}
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: v1
kind: Pod
metadata:
  name: p1
  namespace: default
  labels: {app: a}
  annotations: {sim.kplane.io/cpu-usage: 250m, sim.kplane.io/memory-usage: 64Mi}
spec:
  nodeName: n1
  containers: [{name: c, image: x}]
---
apiVersion: v1
kind: Pod
metadata:
  name: p2
  namespace: default
  labels: {app: b}
  annotations: {sim.kplane.io/cpu-usage: 1500m, sim.kplane.io/memory-usage: 100Mi}
spec:
  nodeName: n1
  containers: [{name: c1, image: x}, {name: c2, image: x}]
---
apiVersion: v1
kind: Pod
metadata:
  name: p5
  namespace: other
  annotations: {sim.kplane.io/memory-usage: 1Gi}
spec:
  nodeName: n2
  containers: [{name: c, image: x}]
EOF2

# Squeezes runs of blanks so that column widths do not matter.
sq() { sed 's/[[:space:]][[:space:]]*/ /g; s/ $//'; }

test_expect_success 'setup: pods report usage' '
	K apply -f objs.yaml >/dev/null &&
	wait_for 20 "K top nodes 2>&1 | sq | grep -qx \"n1 1750m 43% 164Mi 2%\""
'

test_expect_success 'top pods: the namespace, summed over containers' '
	K top pods >out.txt &&
	sq <out.txt >got &&
	printf "NAME CPU(cores) MEMORY(bytes)\np1 250m 64Mi\np2 1500m 100Mi\n" >want &&
	test_cmp want got
'

test_expect_success 'top pods -A, -n, -l, NAME, --containers, --no-headers' '
	K top pods -A | sq >got &&
	printf "NAMESPACE NAME CPU(cores) MEMORY(bytes)\ndefault p1 250m 64Mi\ndefault p2 1500m 100Mi\nother p5 0m 1024Mi\n" >want &&
	test_cmp want got &&
	K top pods -n other --no-headers | sq >got &&
	echo "p5 0m 1024Mi" >want &&
	test_cmp want got &&
	K top pods -l app=a | sq >got &&
	printf "NAME CPU(cores) MEMORY(bytes)\np1 250m 64Mi\n" >want &&
	test_cmp want got &&
	K top pod p2 --containers | sq >got &&
	printf "POD NAME CPU(cores) MEMORY(bytes)\np2 c1 750m 50Mi\np2 c2 750m 50Mi\n" >want &&
	test_cmp want got
'

test_expect_success 'top nodes: usage and percentages of allocatable' '
	K top nodes | sq >got &&
	printf "NAME CPU(cores) CPU(%%) MEMORY(bytes) MEMORY(%%)\nn1 1750m 43%% 164Mi 2%%\nn2 0m 0%% 1024Mi 0%%\n" >want &&
	test_cmp want got &&
	K top node -l zone=a --no-headers | sq >got &&
	echo "n1 1750m 43% 164Mi 2%" >want &&
	test_cmp want got
'

test_expect_success '--sort-by cpu|memory: largest first' '
	K top pods -A --sort-by cpu --no-headers | sq >got &&
	printf "default p2 1500m 100Mi\ndefault p1 250m 64Mi\nother p5 0m 1024Mi\n" >want &&
	test_cmp want got &&
	K top pods -A --sort-by memory --no-headers | sq >got &&
	printf "other p5 0m 1024Mi\ndefault p2 1500m 100Mi\ndefault p1 250m 64Mi\n" >want &&
	test_cmp want got &&
	K top nodes --sort-by memory --no-headers | sq >got &&
	printf "n2 0m 0%% 1024Mi 0%%\nn1 1750m 43%% 164Mi 2%%\n" >want &&
	test_cmp want got &&
	! K top pods --sort-by disk 2>err.txt &&
	grep -q "accepts only cpu or memory" err.txt
'

test_expect_success 'a node without metrics is <unknown>' '
	K annotate node n2 sim.kplane.io/stop-heartbeat=true >/dev/null &&
	wait_for 20 "K top nodes | sq | grep -qx \"n2 <unknown> <unknown> <unknown> <unknown>\""
'

test_expect_success 'errors: nothing to show, unknown pod, bad arguments' '
	K top pods -n nope >out.txt 2>err.txt &&
	test ! -s out.txt &&
	grep -qx "No resources found in nope namespace." err.txt &&
	! K top pods nosuch 2>err.txt &&
	grep -q "NotFound" err.txt &&
	! K top services 2>err.txt &&
	grep -q "pods or nodes" err.txt &&
	! K top pods -l "a in (" 2>err.txt
'

if ! test_have_prereq kubectl; then
	test_skip 'kubectl top pods and nodes against kplane (no kubectl on PATH)'
	test_done
fi

test_expect_success 'kubectl top pods and nodes against kplane' '
	cat >kc <<-EOF2 &&
	apiVersion: v1
	kind: Config
	clusters: [{name: k, cluster: {server: "$S"}}]
	contexts: [{name: k, context: {cluster: k}}]
	current-context: k
	EOF2
	KUBECONFIG=$PWD/kc kubectl top pods -A | sq >got &&
	printf "NAMESPACE NAME CPU(cores) MEMORY(bytes)\ndefault p1 250m 64Mi\ndefault p2 1500m 100Mi\nother p5 0m 1024Mi\n" >want &&
	test_cmp want got &&
	KUBECONFIG=$PWD/kc kubectl top nodes -l zone=a | sq >got &&
	printf "NAME CPU(cores) CPU(%%) MEMORY(bytes) MEMORY(%%)\nn1 1750m 43%% 164Mi 2%%\n" >want &&
	test_cmp want got
'

test_done

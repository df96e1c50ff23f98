#!/bin/sh
# `kplane sim nodes N`: KWOK-style nodes created through the API, which
# node-sim then keeps Ready; a template for labels and taints; flags
# validated; a second run leaves existing nodes alone.
test_description='kplane sim nodes'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"
. "$KP_SRC_DIR/t/t4lib-ctl.sh"

start_server --store memory --components api,scheduler,controllers ||
	{ echo "1..0 # SKIP server did not start"; exit 0; }

test_expect_success 'three nodes with the given capacity, annotated for node-sim' '
	kplane sim nodes 3 --server "$S" --cpu 4 --memory 8Gi --pods 20 -q >out1 &&
	grep -qx "3 node(s) created, 0 already there" out1 &&
	K get nodes -o json >nodes.json &&
	test "$(jq -r "[.items[].metadata.name] | sort | join(\",\")" nodes.json)" = \
		kwok-node-0,kwok-node-1,kwok-node-2 &&
	jq -e "all(.items[]; .metadata.annotations[\"kwok.x-k8s.io/node\"] == \"fake\" and
		.metadata.labels[\"kubernetes.io/hostname\"] == .metadata.name and
		.status.allocatable.cpu == \"4\" and .status.capacity.memory == \"8Gi\" and
		.status.allocatable.pods == \"20\")" nodes.json
'

test_expect_success 'node-sim makes them Ready' '
	wait_for 20 "K get nodes -o json | jq -e \"[.items[] | select(any(.status.conditions[]?; .type == \\\"Ready\\\" and .status == \\\"True\\\"))] | length == 3\""
'

test_expect_success 'a second run leaves existing nodes alone' '
	kplane sim nodes 4 --server "$S" -q >out2 &&
	grep -qx "1 node(s) created, 3 already there" out2 &&
	test "$(K get node kwok-node-0 -o jsonpath={.status.allocatable.cpu})" = 4 &&
	test "$(K get node kwok-node-3 -o jsonpath={.status.allocatable.cpu})" = 32
'

test_expect_success 'a template gives labels and taints; --prefix and --start name them' '
	cat >tmpl.yaml <<-EOT &&
	apiVersion: v1
	kind: Node
	metadata:
	  labels: {topology.kubernetes.io/zone: zone-b}
	spec:
	  taints: [{key: dedicated, value: gpu, effect: NoSchedule}]
	status:
	  capacity: {cpu: "8", nvidia.com/gpu: "2"}
	EOT
	kplane sim nodes 2 --server "$S" --template tmpl.yaml --prefix gpu- --start 5 -q &&
	K get node gpu-6 -o json >g.json &&
	test "$(jq -r ".metadata.labels[\"topology.kubernetes.io/zone\"]" g.json)" = zone-b &&
	test "$(jq -r ".spec.taints[0].key" g.json)" = dedicated &&
	test "$(jq -r ".status.capacity[\"nvidia.com/gpu\"]" g.json)" = 2 &&
	test "$(jq -r ".status.capacity.cpu" g.json)" = 8 &&
	test "$(jq -r ".status.allocatable.cpu" g.json)" = 8 &&
	test "$(jq -r ".status.allocatable[\"nvidia.com/gpu\"]" g.json)" = 2 &&
	test "$(jq -r ".status.allocatable.memory" g.json)" = 256Gi &&
	! K get node gpu-4 2>/dev/null
'

test_expect_success 'bad arguments are refused naming the argument' '
	! kplane sim nodes 0 --server "$S" 2>e1 && grep -q "N: \"0\"" e1 &&
	! kplane sim nodes 2 --server "$S" --cpu lots 2>e2 && grep -q -- "--cpu" e2 &&
	! kplane sim nodes 2 --server ftp://x 2>e3 && grep -q "ftp://x" e3 &&
	echo "kind: Pod" >pod.yaml &&
	! kplane sim nodes 2 --server "$S" --template pod.yaml 2>e4 && grep -q "Node" e4 &&
	! kplane sim frobnicate 2>e5 && grep -q "unknown subcommand" e5 &&
	! kplane sim nodes 2 --server http://127.0.0.1:1 2>e6 && grep -q "kwok-node-0" e6
'

test_done

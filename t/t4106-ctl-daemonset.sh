#!/bin/sh
# End to end: a DaemonSet runs one pod per eligible node (taints and
# nodeSelector respected, the scheduler placing each pod by node affinity),
# follows nodes added and removed, and rolls a new template out.
test_description='DaemonSet: one pod per eligible node'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"
. "$KP_SRC_DIR/t/t4lib-ctl.sh"

start_server --store memory --components api,scheduler,controllers ||
	{ echo "1..0 # SKIP server did not start"; exit 0; }

cat >ds.yaml <<'EOF2'
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: default}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: c, image: agent:1}]
EOF2

# placed IMAGE: "node,node,..." of the Running agent pods of that image.
placed() {
	K get pods -l app=agent -o json | jq -r "[.items[] | select(.status.phase == \"Running\" and .metadata.deletionTimestamp == null and .spec.containers[0].image == \"$1\") | .spec.nodeName] | sort | join(\",\")"
}
dstat() { K get ds agent -o json | jq -r "$1"; }

test_expect_success 'one pod on every node whose taints it tolerates' '
	fake_nodes 3 &&
	K taint node fake-3 dedicated=x:NoSchedule &&
	K apply -f ds.yaml &&
	wait_for 20 "test \"\$(placed agent:1)\" = fake-1,fake-2" &&
	wait_for 10 "test \"\$(dstat .status.desiredNumberScheduled)\" = 2 && test \"\$(dstat .status.numberReady)\" = 2" &&
	K get pods -l app=agent -o json | jq -e "[.items[].metadata.labels[\"controller-revision-hash\"]] | unique | length == 1"
'

test_expect_success 'a new node gets its pod, a removed node loses it' '
	cat >n4.yaml <<-EOF2 &&
	apiVersion: v1
	kind: Node
	metadata: {name: fake-4, annotations: {kwok.x-k8s.io/node: fake}}
	EOF2
	K apply -f n4.yaml &&
	wait_for 20 "test \"\$(placed agent:1)\" = fake-1,fake-2,fake-4" &&
	K delete node fake-2 &&
	wait_for 20 "test \"\$(placed agent:1)\" = fake-1,fake-4" &&
	test "$(K get pods -l app=agent -o json | jq ".items | length")" = 2
'

test_expect_success 'a new template rolls out node by node' '
	K patch ds agent -p "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"agent:2\"}]}}}}" &&
	wait_for 60 "test \"\$(placed agent:2)\" = fake-1,fake-4" &&
	wait_for 10 "test \"\$(dstat .status.updatedNumberScheduled)\" = 2"
'

test_expect_success 'nodeSelector narrows the nodes' '
	K label node fake-4 role=edge &&
	K patch ds agent -p "{\"spec\":{\"template\":{\"spec\":{\"nodeSelector\":{\"role\":\"edge\"}}}}}" &&
	wait_for 60 "test \"\$(placed agent:2)\" = fake-4" &&
	wait_for 10 "test \"\$(dstat .status.desiredNumberScheduled)\" = 1"
'

test_expect_success 'a network-unavailable node takes hostNetwork daemons only' '
	K taint node fake-1 node.kubernetes.io/network-unavailable=:NoSchedule &&
	K label node fake-1 netz=a &&
	for d in net plain; do
		hn=false
		test $d = net && hn=true
		cat >$d.yaml <<-EOF2 || return 1
		apiVersion: apps/v1
		kind: DaemonSet
		metadata: {name: $d, namespace: default}
		spec:
		  selector: {matchLabels: {app: $d}}
		  template:
		    metadata: {labels: {app: $d}}
		    spec:
		      hostNetwork: $hn
		      nodeSelector: {netz: a}
		      containers: [{name: c, image: $d}]
		EOF2
		K apply -f $d.yaml || return 1
	done &&
	wait_for 20 "test \"\$(K get pods -l app=net -o json | jq -r \"[.items[] | select(.status.phase == \\\"Running\\\") | .spec.nodeName] | join(\\\",\\\")\")\" = fake-1" &&
	K get pods -l app=net -o json | jq -e "[.items[0].spec.tolerations[] | select(.key == \"node.kubernetes.io/network-unavailable\")] | length == 1" &&
	wait_for 20 "K get ds plain -o json | jq -e \".status.observedGeneration == 1 and .status.desiredNumberScheduled == 0\"" &&
	test "$(K get pods -l app=plain -o json | jq ".items | length")" = 0
'

test_done

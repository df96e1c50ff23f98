#!/bin/sh
# End to end: a DaemonSet's rolling update with maxSurge (the new pod first,
# the old one deleted once the new one is available), minReadySeconds, and
# its ControllerRevisions: one per template, revision numbers as kube keeps
# them, so that `kubectl rollout history|undo daemonset` work, and pruning
# by revisionHistoryLimit.
test_description='DaemonSet: maxSurge, minReadySeconds, ControllerRevisions'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"
. "$KP_SRC_DIR/t/t4lib-ctl.sh"

# Pods take 1 s to start, so that a surge pod is seen next to the old one.
cat >config.yaml <<'EOF2'
controllers:
  node-sim:
    args:
      podStartDelayMs: 1000
EOF2
start_server --store memory --components api,scheduler,controllers --config config.yaml ||
	{ echo "1..0 # SKIP server did not start"; exit 0; }

cat >ds.yaml <<'EOF2'
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: default}
spec:
  selector: {matchLabels: {app: agent}}
  updateStrategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: c, image: agent:1}]
EOF2

# placed IMAGE: "node,node,..." of the Running agent pods of that image.
placed() {
	K get pods -l app=agent -o json | jq -r "[.items[] | select(.status.phase == \"Running\" and .metadata.deletionTimestamp == null and .spec.containers[0].image == \"$1\") | .spec.nodeName] | sort | join(\",\")"
}
npods() { K get pods -l app=agent -o json | jq ".items | length"; }
dstat() { K get ds agent -o json | jq -r "$1"; }
# revs: "revision:image,..." of the DaemonSet's ControllerRevisions, by revision.
revs() {
	api GET /apis/apps/v1/namespaces/default/controllerrevisions >/dev/null &&
	jqo '[.items[] | select(.metadata.ownerReferences[0].kind == "DaemonSet") | "\(.revision):\(.data.spec.template.spec.containers[0].image)"] | sort | join(",")'
}

test_expect_success 'the first template is revision 1, named after the pods hash' '
	fake_nodes 3 &&
	K apply -f ds.yaml &&
	wait_for 20 "test \"\$(placed agent:1)\" = fake-1,fake-2,fake-3" &&
	wait_for 20 "test \"\$(revs)\" = 1:agent:1" &&
	h=$(K get pods -l app=agent -o json | jq -r "[.items[].metadata.labels[\"controller-revision-hash\"]] | unique | .[0]") &&
	api GET /apis/apps/v1/namespaces/default/controllerrevisions/agent-$h >/dev/null &&
	test "$(jqo ".metadata.labels[\"controller-revision-hash\"]")" = "$h" &&
	test "$(jqo ".metadata.ownerReferences[0].controller")" = true &&
	test "$(jqo ".metadata.labels.app")" = agent
'

test_expect_success 'maxSurge 1: a new pod joins the old one, which goes once the new is available' '
	K patch ds agent -p "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"agent:2\"}]}}}}" &&
	wait_for 20 "test \"\$(npods)\" = 4" &&
	wait_for 40 "test \"\$(placed agent:2)\" = fake-1,fake-2,fake-3" &&
	wait_for 20 "test \"\$(npods)\" = 3" &&
	wait_for 20 "test \"\$(dstat .status.updatedNumberScheduled)\" = 3" &&
	test "$(dstat .status.numberAvailable)" = 3 &&
	test "$(dstat .status.observedGeneration)" = "$(dstat .metadata.generation)" &&
	test "$(revs)" = "1:agent:1,2:agent:2"
'

test_expect_success 'kubectl rollout history and undo daemonset' '
	if ! command -v kubectl >/dev/null 2>&1; then
		echo "# kubectl not found: undo through a patch" &&
		K patch ds agent -p "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"agent:1\"}]}}}}"
	else
		timeout 30 kubectl --server "$S" rollout history daemonset agent >hist &&
		grep "^1 " hist && grep "^2 " hist &&
		timeout 30 kubectl --server "$S" rollout undo daemonset agent
	fi &&
	wait_for 40 "test \"\$(placed agent:1)\" = fake-1,fake-2,fake-3" &&
	wait_for 20 "test \"\$(revs)\" = \"2:agent:2,3:agent:1\""
'

test_expect_success 'revisionHistoryLimit 0 prunes revisions no pod runs' '
	wait_for 20 "test \"\$(npods)\" = 3" &&
	K patch ds agent -p "{\"spec\":{\"revisionHistoryLimit\":0}}" &&
	wait_for 20 "test \"\$(revs)\" = 3:agent:1"
'

test_expect_success 'minReadySeconds: ready pods count as available only after it' '
	cat >ds2.yaml <<-EOF2 &&
	apiVersion: apps/v1
	kind: DaemonSet
	metadata: {name: slow, namespace: default}
	spec:
	  minReadySeconds: 3
	  selector: {matchLabels: {app: slow}}
	  template:
	    metadata: {labels: {app: slow}}
	    spec:
	      containers: [{name: c, image: slow:1}]
	EOF2
	K apply -f ds2.yaml &&
	wait_for 20 "K get ds slow -o json | jq -e \".status.numberReady == 3 and (.status.numberAvailable // 0) == 0 and .status.numberUnavailable == 3\"" &&
	wait_for 20 "K get ds slow -o json | jq -e \".status.numberAvailable == 3 and (.status.numberUnavailable // 0) == 0\""
'

test_expect_success 'exactly one of maxSurge and maxUnavailable may be non-zero' '
	sed "s/name: agent/name: bad/; s/maxSurge: 1, maxUnavailable: 0/maxSurge: 1/" ds.yaml >bad1.yaml &&
	! K apply -f bad1.yaml 2>err &&
	grep "spec.updateStrategy.rollingUpdate.maxSurge" err &&
	sed "s/name: agent/name: bad/; s/maxSurge: 1, maxUnavailable: 0/maxSurge: 0%, maxUnavailable: 0/" ds.yaml >bad2.yaml &&
	! K apply -f bad2.yaml 2>err &&
	grep "spec.updateStrategy.rollingUpdate.maxUnavailable" err &&
	! K get ds bad >/dev/null 2>&1
'

test_done

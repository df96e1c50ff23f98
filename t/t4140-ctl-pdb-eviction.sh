#!/bin/sh
# End to end: the disruption controller keeps a PodDisruptionBudget's status
# from the pods it selects, and pods/eviction honours it (201 while a
# disruption is allowed, 429 TooManyRequests with a DisruptionBudget cause
# when not, 500 for a pod under two budgets); kpctl drain waits on it.
test_description='PodDisruptionBudget status and evictions'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"
. "$KP_SRC_DIR/t/t4lib-ctl.sh"

start_server --store memory --components api,scheduler,controllers ||
	{ echo "1..0 # SKIP server did not start"; exit 0; }

cat >web.yaml <<'EOF2'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: c, image: nginx}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web-pdb, namespace: default}
spec:
  minAvailable: 1
  selector: {matchLabels: {app: web}}
EOF2

ready_pods() {
	K get pods -l app=web -o json | jq '[.items[] | select(.metadata.deletionTimestamp == null
		and (.status.conditions // [] | map(select(.type == "Ready" and .status == "True")) | length) == 1)] | length'
}
pdb() { K get pdb web-pdb -o json >pdb.json && jq -r "$1" pdb.json; }
evict() {
	api POST "/api/v1/namespaces/default/pods/$1/eviction" -H "$CT_JSON" \
		-d "{\"apiVersion\":\"policy/v1\",\"kind\":\"Eviction\",\"metadata\":{\"name\":\"$1\",\"namespace\":\"default\"}}"
}
# The running (not deleting) pods of app=web, one name a line.
live_pods() {
	K get pods -l app=web -o json | jq -r '.items[] | select(.metadata.deletionTimestamp == null) | .metadata.name'
}

test_expect_success 'two ready pods, minAvailable 1: one disruption allowed' '
	fake_nodes 1 &&
	K apply -f web.yaml &&
	wait_for 30 "test \"\$(ready_pods)\" = 2" &&
	wait_for 20 "test \"\$(pdb .status.disruptionsAllowed)\" = 1" &&
	test "$(pdb .status.expectedPods)" = 2 &&
	test "$(pdb .status.currentHealthy)" = 2 &&
	test "$(pdb .status.desiredHealthy)" = 1 &&
	test "$(pdb .status.observedGeneration)" = "$(pdb .metadata.generation)" &&
	test "$(pdb ".status.conditions[] | select(.type == \"DisruptionAllowed\") | .status + \"/\" + .reason")" = True/SufficientPods
'

test_expect_success 'first eviction 201, second 429 while the replacement is not ready' '
	# A cordoned node keeps the replacement Pending, so the second
	# eviction meets a budget with nothing to spare.
	K cordon fake-1 >/dev/null &&
	live_pods >pods &&
	test "$(wc -l <pods)" = 2 &&
	a=$(sed -n 1p pods) b=$(sed -n 2p pods) &&
	test "$(evict "$a")" = 201 &&
	test "$(evict "$b")" = 429 &&
	test "$(jqo .reason)" = TooManyRequests &&
	test "$(jqo .message)" = "Cannot evict pod as it would violate the pod'"'"'s disruption budget." &&
	test "$(jqo .details.causes[0].reason)" = DisruptionBudget &&
	test "$(jqo .details.causes[0].message)" = "The disruption budget web-pdb needs 1 healthy pods and has 1 currently" &&
	K get pod "$b" >/dev/null &&
	wait_for 20 "test \"\$(pdb .status.currentHealthy)\" = 1" &&
	test "$(pdb .status.disruptionsAllowed)" = 0 &&
	test "$(pdb ".status.conditions[] | select(.type == \"DisruptionAllowed\") | .status + \"/\" + .reason")" = False/InsufficientPods &&
	test "$(evict "$b")" = 429
'

test_expect_success 'the replacement ready again: the eviction goes through' '
	K uncordon fake-1 >/dev/null &&
	wait_for 30 "test \"\$(ready_pods)\" = 2" &&
	wait_for 20 "test \"\$(pdb .status.disruptionsAllowed)\" = 1" &&
	p=$(live_pods | head -1) &&
	test "$(evict "$p")" = 201 &&
	wait_for 20 "! live_pods | grep -qx \"$p\""
'

test_expect_success 'a pod under two budgets: 500' '
	wait_for 30 "test \"\$(ready_pods)\" = 2" &&
	K apply -f - <<-\EOF &&
	apiVersion: policy/v1
	kind: PodDisruptionBudget
	metadata: {name: all, namespace: default}
	spec: {maxUnavailable: 0, selector: {}}
	EOF
	p=$(live_pods | head -1) &&
	test "$(evict "$p")" = 500 &&
	test "$(jqo .message)" = "Internal error occurred: This pod has more than one PodDisruptionBudget, which the eviction subresource does not support." &&
	K delete pdb all >/dev/null
'

test_expect_success 'percentages: maxUnavailable 50% of 2 leaves 1 desired' '
	K patch pdb web-pdb --type merge -p "{\"spec\":{\"minAvailable\":null,\"maxUnavailable\":\"50%\"}}" >/dev/null &&
	wait_for 20 "test \"\$(pdb .status.observedGeneration)\" = \"\$(pdb .metadata.generation)\"" &&
	wait_for 20 "test \"\$(pdb .status.desiredHealthy)\" = 1" &&
	K patch pdb web-pdb --type merge -p "{\"spec\":{\"maxUnavailable\":null,\"minAvailable\":\"51%\"}}" >/dev/null &&
	wait_for 20 "test \"\$(pdb .status.desiredHealthy)\" = 2" &&
	test "$(pdb .status.disruptionsAllowed)" = 0
'

test_expect_success 'kpctl drain waits on the budget, then drains' '
	wait_for 20 "test \"\$(pdb .status.currentHealthy)\" = 2" &&
	K patch pdb web-pdb --type merge -p "{\"spec\":{\"minAvailable\":1}}" >/dev/null &&
	wait_for 20 "test \"\$(pdb .status.disruptionsAllowed)\" = 1" &&
	# One node: the first pod goes, its replacement has nowhere to run,
	# the second is refused until the timeout.
	! K drain fake-1 --timeout 1 >drain.out 2>drain.err &&
	grep "Cannot evict pod as it would violate the pod" drain.err &&
	test "$(live_pods | wc -l)" = 2 &&
	test "$(ready_pods)" = 1 &&
	# A second node takes the replacement; then the drain completes.
	cat >n2.yaml <<-\EOF &&
	apiVersion: v1
	kind: Node
	metadata:
	  name: fake-2
	  annotations: {kwok.x-k8s.io/node: fake}
	EOF
	K apply -f n2.yaml >/dev/null &&
	wait_for 30 "test \"\$(ready_pods)\" = 2" &&
	wait_for 20 "test \"\$(pdb .status.disruptionsAllowed)\" = 1" &&
	K drain fake-1 --timeout 30 >drain.out 2>drain.err &&
	wait_for 30 "test \"\$(K get pods -l app=web -o json | jq \"[.items[] | select(.spec.nodeName == \\\"fake-2\\\" and .metadata.deletionTimestamp == null)] | length\")\" = 2"
'

# Without controllers nothing rewrites the budget's status: the eviction's
# own checks and writes can be looked at exactly.
stop_server
start_server --store memory || { echo "# API-only server did not start"; test_done; }

test_expect_success 'API only: budget without status 429, then the eviction spends it' '
	MP="Content-Type: application/merge-patch+json" &&
	for p in p1 p2 p3; do
		expect_code 201 POST /api/v1/namespaces/default/pods -H "$CT_JSON" \
			-d "{\"metadata\":{\"name\":\"$p\",\"labels\":{\"app\":\"x\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}" || return 1
	done &&
	for p in p1 p3; do
		expect_code 200 PATCH /api/v1/namespaces/default/pods/$p/status -H "$MP" \
			-d "{\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}" || return 1
	done &&
	expect_code 200 PATCH /api/v1/namespaces/default/pods/p2/status -H "$MP" \
		-d "{\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}]}}" &&
	expect_code 201 POST /apis/policy/v1/namespaces/default/poddisruptionbudgets -H "$CT_JSON" \
		-d "{\"metadata\":{\"name\":\"b1\"},\"spec\":{\"minAvailable\":1,\"selector\":{\"matchLabels\":{\"app\":\"x\"}}}}" &&
	test "$(evict p1)" = 429 &&
	test "$(jqo .reason)" = TooManyRequests &&
	test "$(jqo .details.causes[0].message)" = "The disruption budget b1 is still being processed by the server." &&
	expect_code 200 PATCH /apis/policy/v1/namespaces/default/poddisruptionbudgets/b1/status -H "$MP" \
		-d "{\"status\":{\"observedGeneration\":1,\"disruptionsAllowed\":1,\"currentHealthy\":2,\"desiredHealthy\":1,\"expectedPods\":3}}" &&
	test "$(evict p1)" = 201 &&
	expect_code 200 GET /apis/policy/v1/namespaces/default/poddisruptionbudgets/b1 &&
	test "$(jqo .status.disruptionsAllowed)" = 0 &&
	test "$(jqo ".status.disruptedPods | keys | join(\",\")")" = p1 &&
	# Not ready while the budget is met (2 healthy, 1 desired): goes freely.
	test "$(evict p2)" = 201 &&
	expect_code 200 GET /apis/policy/v1/namespaces/default/poddisruptionbudgets/b1 &&
	test "$(jqo ".status.disruptedPods | keys | join(\",\")")" = p1 &&
	test "$(evict p3)" = 429 &&
	test "$(jqo .details.causes[0].message)" = "The disruption budget b1 needs 1 healthy pods and has 2 currently" &&
	expect_code 200 GET /api/v1/namespaces/default/pods/p3
'

test_done

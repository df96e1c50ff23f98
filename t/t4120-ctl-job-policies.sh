#!/bin/sh
# End to end: a Job's podFailurePolicy, backoffLimitPerIndex/maxFailedIndexes
# and podReplacementPolicy, and the interim FailureTarget/SuccessCriteriaMet
# conditions, as kube-controller-manager's job controller handles them.
# node-sim ends pods after sim.kplane.io/run-seconds with
# sim.kplane.io/exit-code; where a test needs one pod to fail differently
# from its siblings, it plays the kubelet through pods/status.
test_description='Job podFailurePolicy, backoffLimitPerIndex, podReplacementPolicy, successPolicy'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"
. "$KP_SRC_DIR/t/t4lib-ctl.sh"

cat >config.yaml <<'EOF2'
controllers:
  job:
    args:
      podFailureBackoffMs: 100
EOF2
start_server --store memory --components api,scheduler,controllers --config config.yaml ||
	{ echo "1..0 # SKIP server did not start"; exit 0; }

# job NAME EXTRA-SPEC-JSON EXIT-CODE RUN-SECONDS: a Job whose container "main" exits so.
job() {
	cat <<EOF2 | jq --argjson x "$2" '.spec += $x' >"$1.json" && K apply -f "$1.json" >/dev/null
{"apiVersion": "batch/v1", "kind": "Job",
 "metadata": {"name": "$1", "namespace": "default"},
 "spec": {"template": {
   "metadata": {"annotations": {"sim.kplane.io/run-seconds": "$4", "sim.kplane.io/exit-code": "$3"}},
   "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}]}}}}
EOF2
}
jstat() { K get job "$1" -o json | jq -r "$2"; }
cond() { jstat "$1" "[.status.conditions[]? | select(.type == \"$2\" and .status == \"True\")][0].reason // empty"; }
condmsg() { jstat "$1" "[.status.conditions[]? | select(.type == \"$2\")][0].message // empty"; }
npods() { K get pods -l "job-name=$1" -o json | jq "[.items[] | $2] | length"; }
# podname JOB [INDEX]: the (first) pod of a Job, of that completion index if given.
podname() {
	K get pods -l "job-name=$1${2:+,batch.kubernetes.io/job-completion-index=$2}" -o json |
	jq -r '.items[0].metadata.name // empty'
}
running() { test "$(K get pod "$1" -o json | jq -r .status.phase)" = Running; }
# finish POD PHASE EXIT [CONDITION-TYPE]: ends the pod through pods/status.
finish() {
	extra=
	test -n "${4:-}" && extra=",{\"type\":\"$4\",\"status\":\"True\",\"reason\":\"Test\"}"
	expect_code 200 PATCH "/api/v1/namespaces/default/pods/$1/status" \
		-H "Content-Type: application/merge-patch+json" \
		-d "{\"status\":{\"phase\":\"$2\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}$extra],
		     \"containerStatuses\":[{\"name\":\"main\",\"ready\":false,\"restartCount\":0,\"image\":\"busybox\",\"imageID\":\"\",
		       \"state\":{\"terminated\":{\"exitCode\":$3,\"finishedAt\":\"2026-01-01T00:00:00Z\"}}}]}}"
}

test_expect_success 'defaults: podReplacementPolicy follows podFailurePolicy, backoffLimit unbounded per index' '
	fake_nodes 2 &&
	job dflt "{\"suspend\": true}" 0 1 &&
	test "$(jstat dflt .spec.podReplacementPolicy)" = TerminatingOrFailed &&
	test "$(jstat dflt .spec.backoffLimit)" = 6 &&
	job dflt2 "{\"suspend\": true, \"podFailurePolicy\": {\"rules\": [{\"action\": \"Ignore\", \"onPodConditions\": [{\"type\": \"DisruptionTarget\"}]}]}}" 0 1 &&
	test "$(jstat dflt2 .spec.podReplacementPolicy)" = Failed &&
	test "$(jstat dflt2 ".spec.podFailurePolicy.rules[0].onPodConditions[0].status")" = True &&
	job dflt3 "{\"suspend\": true, \"completions\": 2, \"completionMode\": \"Indexed\", \"backoffLimitPerIndex\": 1}" 0 1 &&
	test "$(jstat dflt3 .spec.backoffLimit)" = 2147483647
'

test_expect_success 'invalid policies are refused with the field named' '
	! job bad1 "{\"podFailurePolicy\": {\"rules\": [{\"action\": \"FailIndex\", \"onExitCodes\": {\"operator\": \"In\", \"values\": [1]}}]}}" 1 1 2>err &&
	grep "spec.podFailurePolicy.rules\[0\].action" err &&
	! job bad2 "{\"backoffLimitPerIndex\": 1}" 1 1 2>err &&
	grep "spec.backoffLimitPerIndex" err &&
	! job bad3 "{\"podFailurePolicy\": {\"rules\": [{\"action\": \"FailJob\", \"onExitCodes\": {\"operator\": \"In\", \"values\": [0]}}]}}" 1 1 2>err &&
	grep "values\[0\]" err &&
	! job bad4 "{\"podFailurePolicy\": {\"rules\": [{\"action\": \"Restart\", \"onExitCodes\": {\"operator\": \"In\", \"values\": [1]}}]}}" 1 1 2>err &&
	grep "Unsupported value" err &&
	! job bad5 "{\"podFailurePolicy\": {\"rules\": [{\"action\": \"FailJob\"}]}}" 1 1 2>err &&
	grep "OnExitCodes and OnPodConditions" err &&
	! job bad6 "{\"maxFailedIndexes\": 1, \"completionMode\": \"Indexed\", \"completions\": 2}" 1 1 2>err &&
	grep "spec.maxFailedIndexes" err &&
	! K get job bad1 >/dev/null 2>&1
'

test_expect_success 'FailJob on exit code 42 of container main: one pod, FailureTarget then Failed' '
	job fj "{\"backoffLimit\": 6, \"podFailurePolicy\": {\"rules\": [{\"action\": \"FailJob\", \"onExitCodes\": {\"containerName\": \"main\", \"operator\": \"In\", \"values\": [42]}}]}}" 42 1 &&
	wait_for 20 "test \"\$(cond fj Failed)\" = PodFailurePolicy" &&
	test "$(cond fj FailureTarget)" = PodFailurePolicy &&
	p=$(podname fj) &&
	test "$(condmsg fj Failed)" = "Container main for pod default/$p failed with exit code 42 matching FailJob rule at index 0" &&
	test "$(condmsg fj FailureTarget)" = "$(condmsg fj Failed)" &&
	test "$(jstat fj .status.failed)" = 1 &&
	test "$(npods fj .)" = 1 &&
	test "$(jstat fj ".status.completionTime // empty")" = ""
'

test_expect_success 'a rule for another container or exit code does not match: backoffLimit applies' '
	job other "{\"backoffLimit\": 1, \"podFailurePolicy\": {\"rules\": [{\"action\": \"FailJob\", \"onExitCodes\": {\"containerName\": \"sidecar\", \"operator\": \"In\", \"values\": [5]}}, {\"action\": \"Ignore\", \"onExitCodes\": {\"operator\": \"NotIn\", \"values\": [5]}}, {\"action\": \"Count\", \"onExitCodes\": {\"operator\": \"In\", \"values\": [5]}}]}}" 5 1 &&
	wait_for 20 "test \"\$(cond other Failed)\" = BackoffLimitExceeded" &&
	test "$(cond other FailureTarget)" = BackoffLimitExceeded &&
	test "$(condmsg other Failed)" = "Job has reached the specified backoff limit" &&
	test "$(jstat other .status.failed)" = 2 &&
	test "$(npods other .)" = 2
'

test_expect_success 'Ignore: ignored failures are replaced and not counted against backoffLimit 0' '
	job ign "{\"backoffLimit\": 0, \"podFailurePolicy\": {\"rules\": [{\"action\": \"Ignore\", \"onExitCodes\": {\"operator\": \"In\", \"values\": [3, 4]}}]}}" 3 0 &&
	wait_for 30 "test \$(npods ign \"select(.status.phase == \\\"Failed\\\")\") -ge 3" &&
	test "$(jstat ign ".status.failed // 0")" = 0 &&
	test -z "$(cond ign FailureTarget)" &&
	test -z "$(cond ign Failed)" &&
	K delete job ign >/dev/null
'

test_expect_success 'onPodConditions: DisruptionTarget ignored (replaced), a FailJob condition fails the Job' '
	job disr "{\"backoffLimit\": 0, \"podFailurePolicy\": {\"rules\": [{\"action\": \"Ignore\", \"onPodConditions\": [{\"type\": \"DisruptionTarget\"}]}, {\"action\": \"FailJob\", \"onPodConditions\": [{\"type\": \"ConfigIssue\", \"status\": \"True\"}]}]}}" 0 60 &&
	wait_for 20 "p=\$(podname disr) && test -n \"\$p\" && running \$p" &&
	p=$(podname disr) &&
	finish $p Failed 137 DisruptionTarget &&
	wait_for 20 "test \"\$(npods disr .)\" = 2" &&
	test "$(jstat disr ".status.failed // 0")" = 0 &&
	q=$(K get pods -l job-name=disr -o json | jq -r ".items[] | select(.metadata.name != \"$p\") | .metadata.name") &&
	wait_for 20 "running $q" &&
	finish $q Failed 1 ConfigIssue &&
	wait_for 20 "test \"\$(cond disr Failed)\" = PodFailurePolicy" &&
	test "$(condmsg disr Failed)" = "Pod default/$q has condition ConfigIssue matching FailJob rule at index 1" &&
	test "$(jstat disr .status.failed)" = 1
'

test_expect_success 'backoffLimitPerIndex 1: every index fails twice, failedIndexes 0-2, FailedIndexes' '
	job pix "{\"completions\": 3, \"parallelism\": 3, \"completionMode\": \"Indexed\", \"backoffLimitPerIndex\": 1}" 1 0 &&
	wait_for 30 "test \"\$(cond pix Failed)\" = FailedIndexes" &&
	test "$(condmsg pix Failed)" = "Job has failed indexes" &&
	test "$(jstat pix .status.failedIndexes)" = 0-2 &&
	test "$(jstat pix .status.failed)" = 6 &&
	test "$(npods pix .)" = 6 &&
	K get pods -l job-name=pix -o json >p.json &&
	test "$(jq -r "[.items[].metadata.annotations[\"batch.kubernetes.io/job-index-failure-count\"]] | sort | join(\",\")" p.json)" = "0,0,0,1,1,1"
'

test_expect_success 'maxFailedIndexes 1 with backoffLimitPerIndex 0: the second failed index fails the Job' '
	job mfi "{\"completions\": 4, \"parallelism\": 1, \"completionMode\": \"Indexed\", \"backoffLimitPerIndex\": 0, \"maxFailedIndexes\": 1}" 1 0 &&
	wait_for 30 "test \"\$(cond mfi Failed)\" = MaxFailedIndexesExceeded" &&
	test "$(condmsg mfi Failed)" = "Job has exceeded the specified maximal number of failed indexes" &&
	test "$(jstat mfi .status.failedIndexes)" = 0-1 &&
	test "$(npods mfi .)" = 2
'

test_expect_success 'per index: a failed index is not retried, the others complete, then FailedIndexes' '
	job mix "{\"completions\": 3, \"parallelism\": 3, \"completionMode\": \"Indexed\", \"backoffLimitPerIndex\": 0}" 0 60 &&
	wait_for 20 "test \"\$(npods mix \"select(.status.phase == \\\"Running\\\")\")\" = 3" &&
	finish $(podname mix 1) Failed 2 &&
	wait_for 20 "test \"\$(jstat mix .status.failedIndexes)\" = 1" &&
	test "$(npods mix .)" = 3 &&
	finish $(podname mix 0) Succeeded 0 &&
	finish $(podname mix 2) Succeeded 0 &&
	wait_for 20 "test \"\$(cond mix Failed)\" = FailedIndexes" &&
	test "$(jstat mix .status.completedIndexes)" = 0,2 &&
	test "$(jstat mix .status.succeeded)" = 2 &&
	test "$(npods mix .)" = 3
'

test_expect_success 'FailIndex marks the index failed at its first failure' '
	job fix "{\"completions\": 2, \"parallelism\": 2, \"completionMode\": \"Indexed\", \"backoffLimitPerIndex\": 5, \"podFailurePolicy\": {\"rules\": [{\"action\": \"FailIndex\", \"onExitCodes\": {\"operator\": \"In\", \"values\": [3]}}]}}" 3 0 &&
	wait_for 20 "test \"\$(cond fix Failed)\" = FailedIndexes" &&
	test "$(jstat fix .status.failedIndexes)" = 0-1 &&
	test "$(npods fix .)" = 2
'

test_expect_success 'success: SuccessCriteriaMet, then Complete with CompletionsReached' '
	job ok "{\"completions\": 2, \"parallelism\": 2}" 0 0 &&
	wait_for 20 "test \"\$(cond ok Complete)\" = CompletionsReached" &&
	test "$(cond ok SuccessCriteriaMet)" = CompletionsReached &&
	test "$(jstat ok .status.terminating)" = 0
'

test_expect_success 'successPolicy: index 0 succeeding completes the Job, the others are deleted' '
	job sp "{\"completions\": 3, \"parallelism\": 3, \"completionMode\": \"Indexed\", \"successPolicy\": {\"rules\": [{\"succeededIndexes\": \"0\"}]}}" 0 60 &&
	wait_for 20 "test \"\$(npods sp \"select(.status.phase == \\\"Running\\\")\")\" = 3" &&
	finish $(podname sp 0) Succeeded 0 &&
	wait_for 20 "test \"\$(cond sp Complete)\" = SuccessPolicy" &&
	test "$(cond sp SuccessCriteriaMet)" = SuccessPolicy &&
	test "$(condmsg sp Complete)" = "Matched rules at index 0" &&
	test "$(jstat sp .status.completedIndexes)" = 0 &&
	wait_for 20 "test \"\$(npods sp .)\" = 1"
'

test_expect_success 'successPolicy: a rule beyond completions is skipped, succeededCount 2 of 1-3 matches' '
	job sp2 "{\"completions\": 4, \"parallelism\": 4, \"completionMode\": \"Indexed\", \"successPolicy\": {\"rules\": [{\"succeededIndexes\": \"7-9\"}, {\"succeededIndexes\": \"1-3\", \"succeededCount\": 2}]}}" 0 60 &&
	wait_for 20 "test \"\$(npods sp2 \"select(.status.phase == \\\"Running\\\")\")\" = 4" &&
	finish $(podname sp2 0) Succeeded 0 &&
	finish $(podname sp2 2) Succeeded 0 &&
	wait_for 20 "test \"\$(jstat sp2 .status.succeeded)\" = 2" &&
	test -z "$(cond sp2 SuccessCriteriaMet)" &&
	finish $(podname sp2 3) Succeeded 0 &&
	wait_for 20 "test \"\$(cond sp2 Complete)\" = SuccessPolicy" &&
	test "$(condmsg sp2 Complete)" = "Matched rules at index 1" &&
	! job sp3 "{\"completions\": 2, \"successPolicy\": {\"rules\": [{\"succeededCount\": 1}]}}" 0 1 2>err &&
	grep "spec.successPolicy" err
'

test_expect_success 'managedBy another controller: the Job is left alone' '
	job ext "{\"managedBy\": \"example.com/batch\"}" 0 0 &&
	job own "{\"managedBy\": \"kubernetes.io/job-controller\"}" 0 0 &&
	wait_for 20 "test \"\$(cond own Complete)\" = CompletionsReached" &&
	test "$(npods ext .)" = 0 &&
	test "$(jstat ext ".status.startTime // empty")" = ""
'

test_expect_success 'Indexed: a second pod of an index is deleted, the Job keeps one per index' '
	job dup "{\"completions\": 2, \"parallelism\": 2, \"completionMode\": \"Indexed\"}" 0 60 &&
	wait_for 20 "test \"\$(npods dup \"select(.status.phase == \\\"Running\\\")\")\" = 2" &&
	uid=$(jstat dup .metadata.uid) &&
	cat >extra.json <<-EOF2 &&
	{"apiVersion": "v1", "kind": "Pod",
	 "metadata": {"name": "dup-extra", "namespace": "default",
	   "labels": {"job-name": "dup", "batch.kubernetes.io/job-completion-index": "0"},
	   "annotations": {"batch.kubernetes.io/job-completion-index": "0", "sim.kplane.io/run-seconds": "60"},
	   "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "dup", "uid": "$uid", "controller": true}]},
	 "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}]}}
	EOF2
	K apply -f extra.json >/dev/null &&
	wait_for 20 "! K get pod dup-extra >/dev/null 2>&1" &&
	test "$(npods dup .)" = 2 &&
	test "$(K get pods -l job-name=dup -o json | jq -r "[.items[].metadata.annotations[\"batch.kubernetes.io/job-completion-index\"]] | sort | join(\",\")")" = 0,1
'

# hold JOB: puts a finalizer on the Job's running pod and deletes it, so it stays terminating.
hold() {
	wait_for 20 "p=\$(podname $1) && test -n \"\$p\" && running \$p" &&
	p=$(podname $1) &&
	K patch pod $p -p "{\"metadata\":{\"finalizers\":[\"example.com/hold\"]}}" >/dev/null &&
	K delete pod $p --wait=false >/dev/null 2>&1
}

test_expect_success 'podReplacementPolicy Failed: no replacement while the pod terminates' '
	job rpf "{\"podReplacementPolicy\": \"Failed\"}" 0 60 &&
	hold rpf &&
	wait_for 20 "test \"\$(jstat rpf .status.terminating)\" = 1" &&
	test "$(npods rpf .)" = 1 &&
	test "$(jstat rpf ".status.active // 0")" = 0 &&
	test "$(jstat rpf ".status.failed // 0")" = 0 &&
	K patch pod $p --type=merge -p "{\"metadata\":{\"finalizers\":null}}" >/dev/null &&
	wait_for 20 "test \"\$(npods rpf \"select(.metadata.name != \\\"$p\\\")\")\" = 1" &&
	test "$(jstat rpf .status.terminating)" = 0
'

test_expect_success 'podReplacementPolicy TerminatingOrFailed: replaced at once, counted as failed' '
	job rpt "{}" 0 60 &&
	hold rpt &&
	wait_for 20 "test \"\$(npods rpt .)\" = 2" &&
	wait_for 20 "test \"\$(jstat rpt .status.terminating)\" = 1" &&
	test "$(jstat rpt .status.failed)" = 1 &&
	test "$(jstat rpt .status.active)" = 1 &&
	K patch pod $p --type=merge -p "{\"metadata\":{\"finalizers\":null}}" >/dev/null
'

test_done

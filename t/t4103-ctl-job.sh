#!/bin/sh
# End to end: Jobs on simulated nodes. node-sim ends each pod after
# sim.kplane.io/run-seconds with sim.kplane.io/exit-code; the job controller
# counts completions and failures as kube-controller-manager does.
test_description='Job completions, parallelism, backoff, deadline, suspend, Indexed, TTL'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"
. "$KP_SRC_DIR/t/t4lib-ctl.sh"

# Failed pods are recreated after 200 ms instead of kube's 10 s.
cat >config.yaml <<'EOF2'
controllers:
  job:
    args:
      podFailureBackoffMs: 200
EOF2
start_server --store memory --components api,scheduler,controllers --config config.yaml ||
	{ echo "1..0 # SKIP server did not start"; exit 0; }

# job NAME EXTRA-SPEC-JSON EXIT-CODE RUN-SECONDS
job() {
	cat <<EOF2 | jq --argjson x "$2" '.spec += $x' | K apply -f - >/dev/null
{"apiVersion": "batch/v1", "kind": "Job",
 "metadata": {"name": "$1", "namespace": "default"},
 "spec": {"template": {
   "metadata": {"annotations": {"sim.kplane.io/run-seconds": "$4", "sim.kplane.io/exit-code": "$3"}},
   "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}}
EOF2
}
jstat() { K get job "$1" -o json | jq -r "$2"; }
cond() { jstat "$1" "[.status.conditions[]? | select(.type == \"$2\" and .status == \"True\")][0].reason // empty"; }
created() {
	api GET /api/v1/namespaces/default/events >/dev/null &&
	jqo "[.items[] | select(.involvedObject.name == \"$1\" and .reason == \"SuccessfulCreate\")] | length"
}

test_expect_success 'completions 3, parallelism 2: three pods succeed, then Complete' '
	fake_nodes 2 &&
	job three "{\"completions\": 3, \"parallelism\": 2}" 0 1 &&
	wait_for 5 "test \"\$(jstat three .status.active)\" = 2" &&
	wait_for 20 "test \"\$(cond three Complete)\" = CompletionsReached" &&
	test "$(jstat three .status.succeeded)" = 3 &&
	test "$(jstat three ".status.active // 0")" = 0 &&
	jstat three .status.completionTime | grep -q "^20" &&
	test "$(created three)" = 3 &&
	K get pods -l job-name=three -o json | jq -e "[.items[] | select(.status.phase == \"Succeeded\")] | length == 3"
'

test_expect_success 'failing pods are retried until backoffLimit, then Failed' '
	job fails "{\"backoffLimit\": 1}" 2 1 &&
	wait_for 20 "test \"\$(cond fails Failed)\" = BackoffLimitExceeded" &&
	test "$(jstat fails .status.failed)" = 2 &&
	test "$(created fails)" = 2
'

test_expect_success 'activeDeadlineSeconds fails a Job and stops its pods' '
	job slow "{\"activeDeadlineSeconds\": 1}" 0 60 &&
	wait_for 20 "test \"\$(cond slow Failed)\" = DeadlineExceeded" &&
	wait_for 10 "test \"\$(K get pods -l job-name=slow -o json | jq \".items | length\")\" = 0"
'

test_expect_success 'Indexed: one pod per index, completedIndexes 0-2' '
	job idx "{\"completions\": 3, \"parallelism\": 3, \"completionMode\": \"Indexed\"}" 0 1 &&
	wait_for 20 "test \"\$(cond idx Complete)\" = CompletionsReached" &&
	test "$(jstat idx .status.completedIndexes)" = 0-2 &&
	K get pods -l job-name=idx -o json >p.json &&
	test "$(jq -r "[.items[].metadata.annotations[\"batch.kubernetes.io/job-completion-index\"]] | sort | join(\",\")" p.json)" = "0,1,2" &&
	test "$(jq -r "[.items[].spec.hostname] | sort | join(\",\")" p.json)" = "idx-0,idx-1,idx-2"
'

test_expect_success 'a suspended Job creates no pods until resumed' '
	job held "{\"suspend\": true}" 0 1 &&
	wait_for 10 "test \"\$(cond held Suspended)\" = JobSuspended" &&
	test "$(K get pods -l job-name=held -o json | jq ".items | length")" = 0 &&
	K patch job held -p "{\"spec\":{\"suspend\":false}}" &&
	wait_for 20 "test \"\$(cond held Complete)\" = CompletionsReached"
'

test_expect_success 'ttlSecondsAfterFinished deletes the finished Job and its pods' '
	job brief "{\"ttlSecondsAfterFinished\": 0}" 0 1 &&
	wait_for 20 "! K get job brief >/dev/null 2>&1" &&
	wait_for 10 "test \"\$(K get pods -l job-name=brief -o json | jq \".items | length\")\" = 0"
'

test_done

#!/bin/sh
# End to end: the cronjob controller. Waiting for real minutes would make
# the test slow, so each case moves status.lastScheduleTime back (through
# the status subresource): the controller then sees missed times and runs
# the latest one at once, as it does after an outage.
test_description='CronJob: missed times, Job creation, concurrency, suspend'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"
. "$KP_SRC_DIR/t/t4lib-ctl.sh"

start_server --store memory --components api,scheduler,controllers ||
	{ echo "1..0 # SKIP server did not start"; exit 0; }

# cj NAME POLICY RUN-SECONDS [EXTRA-SPEC-JSON]
cj() {
	cat <<EOF2 | jq --argjson x "${4:-{\}}" '.spec += $x' | K apply -f - >/dev/null
{"apiVersion": "batch/v1", "kind": "CronJob",
 "metadata": {"name": "$1", "namespace": "default"},
 "spec": {"schedule": "* * * * *", "concurrencyPolicy": "$2",
  "jobTemplate": {"metadata": {"labels": {"cron": "$1"}}, "spec": {"template": {
   "metadata": {"annotations": {"sim.kplane.io/run-seconds": "$3"}},
   "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}}}}
EOF2
}

# back NAME SECONDS: sets status.lastScheduleTime SECONDS ago.
back() {
	ts=$(date -u -d "@$(( $(date +%s) - $2 ))" +%Y-%m-%dT%H:%M:%SZ) &&
	expect_code 200 PATCH "/apis/batch/v1/namespaces/default/cronjobs/$1/status" \
		-H "Content-Type: application/merge-patch+json" \
		-d "{\"status\":{\"lastScheduleTime\":\"$ts\"}}"
}
jobs_of() { K get jobs -l "cron=$1" -o json | jq -r '[.items[].metadata.name] | sort | join(",")'; }

test_expect_success 'a missed time runs once, as <name>-<scheduled unix minutes>' '
	fake_nodes 1 &&
	cj tick Allow 1 &&
	sleep 0.3 &&
	back tick 180 &&
	wait_for 10 "test -n \"\$(jobs_of tick)\"" &&
	name=$(jobs_of tick) &&
	now=$(date +%s) &&
	minutes=${name#tick-} &&
	test $((minutes * 60)) -le "$now" && test $((minutes * 60)) -gt $((now - 120)) &&
	K get job "$name" -o json >j.json &&
	test "$(jq -r ".metadata.ownerReferences[0].kind" j.json)" = CronJob &&
	test "$(jq -r ".metadata.annotations[\"batch.kubernetes.io/cronjob-scheduled-timestamp\"]" j.json)" = "$(date -u -d "@$((minutes * 60))" +%Y-%m-%dT%H:%M:%SZ)" &&
	wait_for 10 "test \"\$(K get cronjob tick -o json | jq -r \".status.lastScheduleTime\")\" = \"$(date -u -d "@$((minutes * 60))" +%Y-%m-%dT%H:%M:%SZ)\""
'

test_expect_success 'the Job runs to completion and shows as lastSuccessfulTime' '
	wait_for 20 "K get cronjob tick -o json | jq -e \".status.lastSuccessfulTime != null and .status.active == null\""
'

test_expect_success 'Forbid does not start a second Job while one is active' '
	cj solo Forbid 60 &&
	sleep 0.3 &&
	back solo 180 &&
	wait_for 10 "test -n \"\$(jobs_of solo)\"" &&
	first=$(jobs_of solo) &&
	wait_for 10 "K get cronjob solo -o json | jq -e \".status.active | length == 1\"" &&
	back solo 600 &&
	sleep 1 &&
	test "$(jobs_of solo)" = "$first"
'

test_expect_success 'a suspended CronJob starts nothing' '
	cj held Allow 1 "{\"suspend\": true}" &&
	sleep 0.3 &&
	back held 180 &&
	sleep 1 &&
	test -z "$(jobs_of held)"
'

test_expect_success 'a time zone from the tz database: the scheduled time carries its offset' '
	cj berlin Allow 1 "{\"timeZone\": \"Europe/Berlin\"}" &&
	sleep 0.3 &&
	back berlin 180 &&
	wait_for 10 "test -n \"\$(jobs_of berlin)\"" &&
	ts=$(K get job "$(jobs_of berlin)" -o json | jq -r ".metadata.annotations[\"batch.kubernetes.io/cronjob-scheduled-timestamp\"]") &&
	case $ts in *+01:00|*+02:00) ;; *) echo "timestamp $ts"; exit 1 ;; esac
'

test_expect_success 'an unknown time zone is reported' '
	cj tz Allow 1 "{\"timeZone\": \"Mars/Olympus\"}" &&
	wait_for 10 "api GET /api/v1/namespaces/default/events >/dev/null && jqo \".items[] | select(.reason == \\\"UnknownTimeZone\\\") | .involvedObject.name\" | grep -qx tz"
'

test_done

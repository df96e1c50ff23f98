#!/bin/sh
# Times written through /status are stored in UTC as Kubernetes marshals a
# metav1.Time (RFC 3339, second precision, "Z"), whatever offset or fraction
# the client sent: 2024-01-02T03:04:05+02:00 is 2024-01-02T01:04:05Z.
test_description='status subresource writes normalise timestamps to UTC'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"

start_server --store memory || exit 1
JS='Content-Type: application/json'
MP='Content-Type: application/merge-patch+json'
P=/api/v1/namespaces/default/pods

test_expect_success 'pod status: condition, startTime and container state times in UTC' '
	expect_code 201 POST $P -H "$JS" \
		-d "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}" &&
	cat >st.json <<-\JSON &&
	{"status":{"startTime":"2024-01-02T03:04:05.750+02:00",
	 "conditions":[{"type":"Ready","status":"True","lastTransitionTime":"2024-01-02T03:04:05+02:00",
	                "lastProbeTime":"2024-01-01T23:30:00-01:30"}],
	 "containerStatuses":[{"name":"c","image":"i","imageID":"","ready":true,"restartCount":1,
	   "state":{"running":{"startedAt":"2024-01-02T00:00:00+00:00"}},
	   "lastState":{"terminated":{"exitCode":1,"startedAt":"2024-01-01T20:00:00-04:00","finishedAt":"2024-01-02T05:00:00+05:00"}}}]}}
	JSON
	expect_code 200 PATCH $P/p/status -H "$MP" --data-binary @st.json &&
	expect_code 200 GET $P/p &&
	test "$(jqo .status.startTime)" = 2024-01-02T01:04:05Z &&
	test "$(jqo ".status.conditions[0].lastTransitionTime")" = 2024-01-02T01:04:05Z &&
	test "$(jqo ".status.conditions[0].lastProbeTime")" = 2024-01-02T01:00:00Z &&
	test "$(jqo ".status.containerStatuses[0].state.running.startedAt")" = 2024-01-02T00:00:00Z &&
	test "$(jqo ".status.containerStatuses[0].lastState.terminated.startedAt")" = 2024-01-02T00:00:00Z &&
	test "$(jqo ".status.containerStatuses[0].lastState.terminated.finishedAt")" = 2024-01-02T00:00:00Z
'

test_expect_success 'job status PUT: startTime and completionTime in UTC' '
	expect_code 201 POST /apis/batch/v1/namespaces/default/jobs -H "$JS" \
		-d "{\"metadata\":{\"name\":\"j\"},\"spec\":{\"template\":{\"spec\":{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}}}" &&
	jq ".status = {\"startTime\":\"2024-06-30T23:59:59-00:30\",\"completionTime\":\"2024-07-01T10:00:00+10:00\"}" out >j.json &&
	expect_code 200 PUT /apis/batch/v1/namespaces/default/jobs/j/status -H "$JS" --data-binary @j.json &&
	test "$(jqo .status.startTime)" = 2024-07-01T00:29:59Z &&
	test "$(jqo .status.completionTime)" = 2024-07-01T00:00:00Z
'

test_expect_success 'node created with status: heartbeat times in UTC' '
	expect_code 201 POST /api/v1/nodes -H "$JS" \
		-d "{\"metadata\":{\"name\":\"n\"},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"lastHeartbeatTime\":\"2024-01-02T03:04:05+02:00\",\"lastTransitionTime\":\"2024-01-02T01:04:05Z\"}]}}" &&
	expect_code 200 GET /api/v1/nodes/n &&
	test "$(jqo ".status.conditions[0].lastHeartbeatTime")" = 2024-01-02T01:04:05Z &&
	test "$(jqo ".status.conditions[0].lastTransitionTime")" = 2024-01-02T01:04:05Z
'

test_done

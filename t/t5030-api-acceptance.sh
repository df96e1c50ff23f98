#!/bin/sh
# Acceptance of the API issue: items no other API script checks, with the
# expected values worked out from the Kubernetes API conventions.
test_description='acceptance: timestamps, watch spellings, health, discovery and subresources'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"

start_server --store memory || exit 1
J='Content-Type: application/json'

# Time is marshalled in UTC with second precision, MicroTime with six
# fraction digits; any RFC 3339 offset is accepted in. Worked by hand:
# 03:04:05+02:00 is 01:04:05Z; 03:04:05.5-01:30 is 04:34:05Z (fraction
# dropped); 03:04:05.123+01:00 is 02:04:05.123000Z; June 30 23:30:00.25
# at -01:00 is July 1 00:30:00.250000Z.
test_expect_success 'timestamps: offsets accepted, UTC with Z written back' '
	expect_code 201 POST /api/v1/namespaces/default/events -H "$J" -d "{\"metadata\":{\"name\":\"e1\"},\"involvedObject\":{\"kind\":\"Pod\",\"name\":\"x\",\"namespace\":\"default\"},\"reason\":\"R\",\"message\":\"m\",\"type\":\"Normal\",\"firstTimestamp\":\"2024-01-02T03:04:05+02:00\",\"lastTimestamp\":\"2024-01-02T03:04:05.5-01:30\",\"eventTime\":\"2024-01-02T03:04:05.123+01:00\"}" &&
	test "$(jqo "[.firstTimestamp, .lastTimestamp, .eventTime] | join(\" \")")" = \
		"2024-01-02T01:04:05Z 2024-01-02T04:34:05Z 2024-01-02T02:04:05.123000Z" &&
	expect_code 200 GET /api/v1/namespaces/default/events/e1 &&
	test "$(jqo .firstTimestamp)" = 2024-01-02T01:04:05Z &&
	expect_code 201 POST /apis/coordination.k8s.io/v1/namespaces/default/leases -H "$J" -d "{\"metadata\":{\"name\":\"l\"},\"spec\":{\"holderIdentity\":\"a\",\"renewTime\":\"2024-06-30T23:30:00.25-01:00\",\"acquireTime\":\"2024-06-30T10:00:00Z\"}}" &&
	test "$(jqo .spec.renewTime)" = 2024-07-01T00:30:00.250000Z &&
	test "$(jqo .spec.acquireTime)" = 2024-06-30T10:00:00.000000Z
'

test_expect_success 'watch=1, watch=true and watch=True all watch; timeoutSeconds ends them' '
	for w in 1 true True; do
		curl -s -m 20 "$S/api/v1/namespaces/default/events?watch=$w&timeoutSeconds=1" >w.out ||
			{ echo "watch=$w did not end"; return 1; }
		test "$(jq -r ".type + \" \" + .object.metadata.name" w.out)" = "ADDED e1" ||
			{ echo "watch=$w:"; cat w.out; return 1; }
	done
'

test_expect_success '/livez and /readyz answer ok; /metrics has the latency histogram' '
	expect_code 200 GET /livez && test "$(cat out)" = ok &&
	expect_code 200 GET /readyz && test "$(cat out)" = ok &&
	expect_code 200 GET /metrics &&
	grep "^apiserver_request_duration_seconds_bucket{.*le=\"+Inf\"} [0-9]" out &&
	grep "^apiserver_request_duration_seconds_count{" out &&
	grep "^apiserver_request_total{.*code=\"201\"" out
'

# Discovery as kube-apiserver serves it: the short names and the "all"
# category of the kinds kubectl lists with `get all`, and the subresources.
test_expect_success 'discovery: short names, categories, subresources' '
	expect_code 200 GET /api/v1 &&
	jqo ".resources[] | select(.name == \"pods\" or .name == \"services\" or .name == \"nodes\" or .name == \"namespaces\" or .name == \"configmaps\" or .name == \"persistentvolumeclaims\") | [.name, (.shortNames // [] | join(\",\")), (.categories // [] | join(\",\"))] | join(\" \")" | sort >got &&
	printf "%s\n" "configmaps cm " "namespaces ns " "nodes no " "persistentvolumeclaims pvc " "pods po all" "services svc all" >expect &&
	test_cmp expect got &&
	jqo ".resources[].name" | grep -x -e pods/status -e pods/binding -e pods/eviction -e pods/log -e nodes/status | sort >got &&
	printf "%s\n" nodes/status pods/binding pods/eviction pods/log pods/status >expect &&
	test_cmp expect got &&
	expect_code 200 GET /apis/apps/v1 &&
	jqo ".resources[] | [.name, (.shortNames // [] | join(\",\")), (.categories // [] | join(\",\"))] | join(\" \")" | sort >got &&
	printf "%s\n" "controllerrevisions  " "daemonsets ds all" "daemonsets/status  " "deployments deploy all" "deployments/scale  " "deployments/status  " "replicasets rs all" "replicasets/scale  " "replicasets/status  " "statefulsets sts all" "statefulsets/scale  " "statefulsets/status  " >expect &&
	test_cmp expect got &&
	expect_code 200 GET /apis/batch/v1 &&
	jqo "[.resources[] | select(.name == \"cronjobs\") | .shortNames[0], .categories[0]] | join(\" \")" >got &&
	test "$(cat got)" = "cj all"
'

test_expect_success 'statefulsets/scale and /status; nodes/status' '
	expect_code 201 POST /apis/apps/v1/namespaces/default/statefulsets -H "$J" -d "{\"metadata\":{\"name\":\"db\"},\"spec\":{\"replicas\":2,\"serviceName\":\"db\",\"selector\":{\"matchLabels\":{\"app\":\"db\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"db\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}}}" &&
	expect_code 200 GET /apis/apps/v1/namespaces/default/statefulsets/db/scale &&
	test "$(jqo ".kind + \" \" + .apiVersion + \" \" + (.spec.replicas|tostring) + \" \" + .status.selector")" = "Scale autoscaling/v1 2 app=db" &&
	expect_code 200 PATCH /apis/apps/v1/namespaces/default/statefulsets/db/scale -H "Content-Type: application/merge-patch+json" -d "{\"spec\":{\"replicas\":5}}" &&
	expect_code 200 GET /apis/apps/v1/namespaces/default/statefulsets/db &&
	test "$(jqo .spec.replicas)" = 5 &&
	expect_code 200 PATCH /apis/apps/v1/namespaces/default/statefulsets/db/status -H "Content-Type: application/merge-patch+json" -d "{\"status\":{\"replicas\":5,\"readyReplicas\":3},\"spec\":{\"replicas\":1}}" &&
	test "$(jqo "[.spec.replicas, .status.readyReplicas] | map(tostring) | join(\" \")")" = "5 3" &&
	expect_code 201 POST /api/v1/nodes -H "$J" -d "{\"metadata\":{\"name\":\"n1\"}}" &&
	expect_code 200 PATCH /api/v1/nodes/n1/status -H "Content-Type: application/merge-patch+json" -d "{\"status\":{\"capacity\":{\"cpu\":\"4\"}},\"spec\":{\"unschedulable\":true}}" &&
	test "$(jqo ".status.capacity.cpu + \" \" + (.spec.unschedulable // false | tostring)")" = "4 false"
'

# kubectl's Job printer: without completions but with parallelism N the
# completions cell is "S/1 of N"; a Job being deleted is Terminating.
test_expect_success 'Job table: "0/1 of 3" for a work queue, Terminating while deleted' '
	TBL="Accept: application/json;as=Table;v=v1;g=meta.k8s.io" &&
	expect_code 201 POST /apis/batch/v1/namespaces/default/jobs -H "$J" -d "{\"metadata\":{\"name\":\"q\",\"finalizers\":[\"example.com/hold\"]},\"spec\":{\"parallelism\":3,\"template\":{\"spec\":{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}}}" &&
	expect_code 200 GET /apis/batch/v1/namespaces/default/jobs/q -H "$TBL" &&
	test "$(jqo ".rows[0].cells[1:3] | join(\" \")")" = "Running 0/1 of 3" &&
	expect_code 200 DELETE /apis/batch/v1/namespaces/default/jobs/q &&
	expect_code 200 GET /apis/batch/v1/namespaces/default/jobs/q -H "$TBL" &&
	test "$(jqo ".rows[0].cells[1]")" = Terminating
'

test_done

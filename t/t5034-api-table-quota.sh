#!/bin/sh
# kubectl's ResourceQuota columns (pkg/printers printResourceQuota): NAME AGE
# REQUEST LIMIT, "resource: used/hard" in resource-name order, limits.* in
# LIMIT; used and hard from status, hard from spec while no status exists.
test_description='ResourceQuota table rows as kubectl prints them'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"

start_server --store memory || exit 1
TBL='Accept: application/json;as=Table;v=v1;g=meta.k8s.io'

test_expect_success 'REQUEST and LIMIT from spec.hard before any status' '
	expect_code 201 POST /api/v1/namespaces/default/resourcequotas -H "Content-Type: application/json" \
		-d "{\"metadata\":{\"name\":\"q\"},\"spec\":{\"hard\":{\"requests.cpu\":\"1\",\"limits.memory\":\"2Gi\",\"pods\":\"10\",\"limits.cpu\":\"2\"}}}" &&
	expect_code 200 GET /api/v1/namespaces/default/resourcequotas -H "$TBL" &&
	test "$(jqo "[.columnDefinitions[].name] | join(\",\")")" = Name,Age,Request,Limit &&
	test "$(jqo ".rows[0].cells[2]")" = "pods: 0/10, requests.cpu: 0/1" &&
	test "$(jqo ".rows[0].cells[3]")" = "limits.cpu: 0/2, limits.memory: 0/2Gi"
'

test_expect_success 'used and hard come from status once written' '
	expect_code 200 PATCH /api/v1/namespaces/default/resourcequotas/q/status \
		-H "Content-Type: application/merge-patch+json" \
		-d "{\"status\":{\"hard\":{\"requests.cpu\":\"1\",\"pods\":\"10\",\"limits.cpu\":\"2\",\"limits.memory\":\"2Gi\"},\"used\":{\"requests.cpu\":\"500m\",\"pods\":\"3\"}}}" &&
	expect_code 200 GET /api/v1/namespaces/default/resourcequotas/q -H "$TBL" &&
	test "$(jqo ".rows[0].cells[2]")" = "pods: 3/10, requests.cpu: 500m/1"
'

test_done

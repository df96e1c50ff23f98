#!/bin/sh
# autoscaling/v1 HorizontalPodAutoscalers: the autoscaling/v2 objects seen
# through v1 (kube-apiserver stores v2 and converts): targetCPUUtilization-
# Percentage <-> a Resource cpu Utilization metric, currentCPUUtilization-
# Percentage <-> the cpu current metric, what v1 cannot say in annotations.
test_description='autoscaling/v1 HPAs converted to and from the stored v2'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"

start_server --store memory || exit 1
V1=/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers
V2=/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers
JS='Content-Type: application/json'
MP='Content-Type: application/merge-patch+json'

test_expect_success 'discovery: autoscaling serves v2 (preferred) and v1' '
	expect_code 200 GET /apis/autoscaling &&
	test "$(jqo "[.versions[].version] | join(\",\")")" = v2,v1 &&
	test "$(jqo .preferredVersion.version)" = v2 &&
	expect_code 200 GET /apis/autoscaling/v1 &&
	test "$(jqo "[.resources[].name] | join(\",\")")" = \
		horizontalpodautoscalers,horizontalpodautoscalers/status
'

test_expect_success 'v1 create answers v1, reads back as v2 with a cpu metric' '
	cat >h1.json <<-\JSON &&
	{"apiVersion":"autoscaling/v1","kind":"HorizontalPodAutoscaler",
	 "metadata":{"name":"h1"},
	 "spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"web"},
	         "minReplicas":2,"maxReplicas":5,"targetCPUUtilizationPercentage":50}}
	JSON
	expect_code 201 POST $V1 -H "$JS" --data-binary @h1.json &&
	test "$(jqo .apiVersion)" = autoscaling/v1 &&
	test "$(jqo .spec.targetCPUUtilizationPercentage)" = 50 &&
	test "$(jqo .spec.metrics)" = null &&
	expect_code 200 GET $V2/h1 &&
	test "$(jqo .apiVersion)" = autoscaling/v2 &&
	test "$(jqo .spec.targetCPUUtilizationPercentage)" = null &&
	test "$(jqo ".spec.metrics | length")" = 1 &&
	test "$(jqo ".spec.metrics[0].type")" = Resource &&
	test "$(jqo ".spec.metrics[0].resource.name")" = cpu &&
	test "$(jqo ".spec.metrics[0].resource.target.type")" = Utilization &&
	test "$(jqo ".spec.metrics[0].resource.target.averageUtilization")" = 50 &&
	test "$(jqo .metadata.annotations)" = null
'

test_expect_success 'v1 read gives back what v1 created' '
	expect_code 200 GET $V1/h1 &&
	jq -c "{apiVersion, kind, spec}" out >got &&
	jq -c "{apiVersion, kind, spec}" h1.json >want &&
	test_cmp want got &&
	test "$(jqo .metadata.annotations)" = null
'

test_expect_success 'v2 status: v1 shows currentCPUUtilizationPercentage, conditions in the annotation' '
	cat >st.json <<-\JSON &&
	{"status":{"observedGeneration":1,"currentReplicas":2,"desiredReplicas":3,
	 "currentMetrics":[{"type":"Resource","resource":{"name":"cpu","current":{"averageUtilization":70,"averageValue":"140m"}}}],
	 "conditions":[{"type":"AbleToScale","status":"True","reason":"SucceededRescale","message":"m","lastTransitionTime":"2024-01-02T03:04:05Z"}]}}
	JSON
	expect_code 200 PATCH $V2/h1/status -H "$MP" --data-binary @st.json &&
	expect_code 200 GET $V1/h1 &&
	test "$(jqo .status.currentCPUUtilizationPercentage)" = 70 &&
	test "$(jqo .status.desiredReplicas)" = 3 &&
	test "$(jqo .status.currentReplicas)" = 2 &&
	test "$(jqo .status.observedGeneration)" = 1 &&
	test "$(jqo .status.currentMetrics)" = null &&
	test "$(jqo .status.conditions)" = null &&
	jqo ".metadata.annotations[\"autoscaling.alpha.kubernetes.io/conditions\"]" >c &&
	test "$(jq -r ".[0].reason" c)" = SucceededRescale
'

test_expect_success 'v2-only metrics and behavior survive a v1 read and write back' '
	cat >h2.json <<-\JSON &&
	{"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","metadata":{"name":"h2"},
	 "spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"web"},
	  "minReplicas":1,"maxReplicas":4,
	  "metrics":[{"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":60}}},
	             {"type":"Resource","resource":{"name":"memory","target":{"type":"AverageValue","averageValue":"100Mi"}}}],
	  "behavior":{"scaleDown":{"stabilizationWindowSeconds":30}}}}
	JSON
	expect_code 201 POST $V2 -H "$JS" --data-binary @h2.json &&
	expect_code 200 GET $V1/h2 &&
	test "$(jqo .spec.targetCPUUtilizationPercentage)" = 60 &&
	test "$(jqo .spec.behavior)" = null &&
	jq ".spec.maxReplicas = 6" out >h2v1.json &&
	expect_code 200 PUT $V1/h2 -H "$JS" --data-binary @h2v1.json &&
	test "$(jqo .apiVersion)" = autoscaling/v1 &&
	expect_code 200 GET $V2/h2 &&
	test "$(jqo .spec.maxReplicas)" = 6 &&
	jq -cS .spec.metrics h2.json >want &&
	jqo ".spec.metrics" | jq -cS . >got &&
	test_cmp want got &&
	test "$(jqo .spec.behavior.scaleDown.stabilizationWindowSeconds)" = 30 &&
	test "$(jqo .metadata.annotations)" = null
'

test_expect_success 'v1 merge patch of the target, list and missing maxReplicas' '
	expect_code 200 PATCH $V1/h1 -H "$MP" -d "{\"spec\":{\"targetCPUUtilizationPercentage\":80}}" &&
	test "$(jqo .spec.targetCPUUtilizationPercentage)" = 80 &&
	expect_code 200 GET $V2/h1 &&
	test "$(jqo ".spec.metrics[0].resource.target.averageUtilization")" = 80 &&
	expect_code 200 GET $V1 &&
	test "$(jqo ".items | length")" = 2 &&
	test "$(jqo "[.items[].spec.targetCPUUtilizationPercentage] | join(\",\")")" = 80,60 &&
	test "$(jqo ".items[0].spec.metrics")" = null &&
	expect_code 422 POST $V1 -H "$JS" \
		-d "{\"metadata\":{\"name\":\"bad\"},\"spec\":{\"scaleTargetRef\":{\"kind\":\"Deployment\",\"name\":\"x\"}}}"
'

test_expect_success 'a v1 watch sees v1 objects' '
	curl -s -m 2 "$S$V1?watch=1&resourceVersion=0" >w || :
	test "$(jq -s "length" w)" = 2 &&
	test "$(jq -r -s "[.[].object.apiVersion] | unique | join(\",\")" w)" = autoscaling/v1 &&
	test "$(jq -r -s "[.[].object.spec.targetCPUUtilizationPercentage] | join(\",\")" w)" = 80,60
'

test_expect_success 'a v1 Table shows the cpu target as the v2 one does' '
	TBL="Accept: application/json;as=Table;v=v1;g=meta.k8s.io" &&
	expect_code 200 GET $V1/h1 -H "$TBL" &&
	test "$(jqo ".rows[0].cells[2]")" = "cpu: 70%/80%"
'

if command -v kubectl >/dev/null 2>&1; then
	test_expect_success "kubectl get horizontalpodautoscalers.v1.autoscaling (the short name hpa maps to the preferred v2)" '
		kubectl --server "$S" get horizontalpodautoscalers.v1.autoscaling h1 \
			-o jsonpath="{.apiVersion} {.spec.targetCPUUtilizationPercentage}" >k &&
		test "$(cat k)" = "autoscaling/v1 80"
	'
else
	test_skip "kubectl get horizontalpodautoscalers.v1.autoscaling (kubectl is not on PATH)"
fi

test_done

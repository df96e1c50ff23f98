#!/bin/sh
# End to end: the HorizontalPodAutoscaler scales a Deployment on simulated
# cpu use (pods' sim.kplane.io/cpu-usage). Expected counts by hand:
#  - 2 pods using 200m of 100m requested = 200% against a 50% target:
#    ratio 4, desired ceil(4 * 2) = 8; the default scale-up policies allow
#    max(+100% = 4, +4 pods = 6) = 6; maxReplicas 5 caps it: 5, TooManyReplicas;
#  - 5 pods at 10m = 10%: ratio 0.2, desired ceil(0.2 * 5) = 1, below
#    minReplicas 2: 2, TooFewReplicas (scale-down window set to 0);
#  - 2 pods at 52m = 52%: ratio 1.04, within the 10% tolerance: stays 2.
test_description='HPA: scale out and in on cpu utilization'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"
. "$KP_SRC_DIR/t/t4lib-ctl.sh"

cat >config.yaml <<'EOF2'
controllers:
  hpa:
    args: {syncPeriodSeconds: 1}
EOF2
start_server --store memory --components api,scheduler,controllers --config config.yaml ||
	{ echo "1..0 # SKIP server did not start"; exit 0; }

cat >app.yaml <<'EOF2'
apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: app}}
  template:
    metadata:
      labels: {app: app}
      annotations: {sim.kplane.io/cpu-usage: 200m}
    spec:
      containers:
      - name: c
        image: app
        resources: {requests: {cpu: 100m}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: app, namespace: default}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: app}
  minReplicas: 2
  maxReplicas: 5
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
  behavior:
    scaleDown: {stabilizationWindowSeconds: 0}
EOF2

replicas() { K get deploy app -o json | jq .spec.replicas; }
limited() { K get hpa app -o json | jq -r '(.status.conditions[] | select(.type == "ScalingLimited")) | .status + "/" + .reason'; }
running() { K get pods -l app=app -o json | jq '[.items[] | select(.status.phase == "Running" and .metadata.deletionTimestamp == null)] | length'; }

test_expect_success 'high cpu use scales out to maxReplicas' '
	fake_nodes 2 &&
	K apply -f app.yaml &&
	wait_for 20 "test \"\$(replicas)\" = 5" &&
	# Within 15 s of the first scale-up the behavior'"'"'s scale-up rate may be the
	# limit that binds (ScaleUpLimit); after that window maxReplicas is.
	wait_for 30 "test \"\$(limited)\" = True/TooManyReplicas" &&
	K get hpa app -o json >h.json &&
	test "$(jq -r "(.status.conditions[] | select(.type == \"ScalingActive\")).status" h.json)" = True &&
	jq -e ".status.lastScaleTime != null" h.json
'

test_expect_success 'low cpu use scales in to minReplicas' '
	wait_for 20 "test \"\$(running)\" = 5" &&
	K annotate pods -l app=app sim.kplane.io/cpu-usage=10m --overwrite &&
	wait_for 20 "test \"\$(replicas)\" = 2" &&
	wait_for 10 "test \"\$(limited)\" = True/TooFewReplicas"
'

test_expect_success 'use within the 10% tolerance changes nothing' '
	wait_for 20 "test \"\$(running)\" = 2" &&
	K annotate pods -l app=app sim.kplane.io/cpu-usage=52m --overwrite &&
	sleep 3 &&
	test "$(replicas)" = 2 &&
	test "$(K get hpa app -o json | jq ".status.currentMetrics[0].resource.current.averageUtilization")" = 52
'

cat >miss.yaml <<'EOF2'
apiVersion: apps/v1
kind: Deployment
metadata: {name: miss, namespace: default}
spec:
  replicas: 4
  selector: {matchLabels: {app: miss}}
  template:
    metadata: {labels: {app: miss}}
    spec:
      containers:
      - name: c
        image: app
        resources: {requests: {cpu: 100m}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: miss, namespace: default}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: miss}
  minReplicas: 1
  maxReplicas: 10
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
  behavior:
    scaleDown: {stabilizationWindowSeconds: 0}
EOF2

# One of four pods reports 100m of its 100m (100%, ratio 2 against 50%);
# three have no metrics. kube counts them as using nothing on the way up:
# 100m / 400m = 25%, ratio 0.5, the other direction, so the count stays 4
# (measuring the one pod alone would say ceil(2 * 1) = 2).
test_expect_success 'pods without metrics are filled in as kube does' '
	K apply -f miss.yaml >/dev/null &&
	wait_for 20 "test \"\$(K get pods -l app=miss -o json | jq \"[.items[] | select(.status.phase == \\\"Running\\\")] | length\")\" = 4" &&
	pod=$(K get pods -l app=miss -o json | jq -r ".items[0].metadata.name") &&
	K annotate pod $pod sim.kplane.io/cpu-usage=100m >/dev/null &&
	wait_for 20 "test \"\$(K get hpa miss -o json | jq .status.currentMetrics[0].resource.current.averageUtilization)\" = 100" &&
	sleep 3 &&
	test "$(K get deploy miss -o json | jq .spec.replicas)" = 4 &&
	test "$(K get hpa miss -o json | jq .status.desiredReplicas)" = 4
'

test_expect_success 'a target that does not exist is reported' '
	api POST /apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"none\"},\"spec\":{\"scaleTargetRef\":{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"name\":\"nope\"},\"maxReplicas\":3}}" >/dev/null &&
	wait_for 10 "test \"\$(K get hpa none -o json | jq -r \"(.status.conditions[]? | select(.type == \\\"AbleToScale\\\")) | .reason\")\" = FailedGetScale"
'

test_done

#!/bin/sh
# End to end: the endpoints controller lists the ready pods of a Service's
# selector with the Service's ports resolved against the pods' named
# container ports, follows scaling, and removes the Endpoints with the
# Service.
test_description='Service selector to Endpoints'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"
. "$KP_SRC_DIR/t/t4lib-ctl.sh"

start_server --store memory --components api,scheduler,controllers ||
	{ echo "1..0 # SKIP server did not start"; exit 0; }

cat >app.yaml <<'EOF2'
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default, labels: {tier: front}}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http}
  - {name: metrics, port: 9100, targetPort: 9100}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: c
        image: nginx
        ports: [{name: http, containerPort: 8080}]
EOF2

eps() { K get endpoints web -o json >ep.json 2>/dev/null && jq -r "$1" ep.json; }
pod_ips() { K get pods -l app=web -o json | jq -r '[.items[] | select(.status.podIP != null) | .status.podIP] | sort | join(",")'; }

test_expect_success 'Endpoints list the ready pods with resolved ports' '
	fake_nodes 1 &&
	K apply -f app.yaml &&
	wait_for 20 "test \"\$(eps \"[.subsets[0].addresses[]?.ip] | length\")\" = 2" &&
	test "$(eps "[.subsets[0].addresses[].ip] | sort | join(\",\")")" = "$(pod_ips)" &&
	test "$(eps "[.subsets[0].ports[] | \"\(.name):\(.port)/\(.protocol)\"] | sort | join(\",\")")" = "http:8080/TCP,metrics:9100/TCP" &&
	test "$(eps ".subsets[0].addresses[0].targetRef.kind")" = Pod &&
	test "$(eps ".subsets[0].addresses[0].nodeName")" = fake-1 &&
	test "$(eps .metadata.labels.tier)" = front
'

test_expect_success 'scaling the pods updates the Endpoints' '
	K scale rs web --replicas 3 &&
	wait_for 20 "test \"\$(eps \"[.subsets[0].addresses[]?.ip] | length\")\" = 3" &&
	test "$(eps "[.subsets[0].addresses[].ip] | sort | join(\",\")")" = "$(pod_ips)"
'

test_expect_success 'a Service without selector keeps the Endpoints its user writes' '
	api POST /api/v1/namespaces/default/services -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"ext\"},\"spec\":{\"ports\":[{\"port\":5432}]}}" >/dev/null &&
	api POST /api/v1/namespaces/default/endpoints -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"ext\"},\"subsets\":[{\"addresses\":[{\"ip\":\"192.0.2.1\"}],\"ports\":[{\"port\":5432}]}]}" >/dev/null &&
	sleep 0.5 &&
	api GET /api/v1/namespaces/default/endpoints/ext >/dev/null &&
	test "$(jqo ".subsets[0].addresses[0].ip")" = 192.0.2.1
'

test_expect_success 'deleting the Service deletes its Endpoints' '
	K delete service web &&
	wait_for 10 "test \"\$(api GET /api/v1/namespaces/default/endpoints/web)\" = 404"
'

test_done

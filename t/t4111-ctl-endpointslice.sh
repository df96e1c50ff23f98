#!/bin/sh
# End to end: the endpoints controller keeps discovery.k8s.io/v1
# EndpointSlices of a Service's pods as kube's EndpointSlice controller does
# (labels, owner reference, named target ports resolved per pod, conditions,
# at most 100 endpoints per slice), follows pods and the Service, and the API
# validates and prints EndpointSlices.
test_description='Service selector to EndpointSlices'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"
. "$KP_SRC_DIR/t/t4lib-ctl.sh"

start_server --store memory --components api,scheduler,controllers ||
	{ echo "1..0 # SKIP server did not start"; exit 0; }

EPS=/apis/discovery.k8s.io/v1/namespaces/default/endpointslices

test_expect_success 'discovery lists endpointslices in discovery.k8s.io/v1' '
	api GET /apis/discovery.k8s.io/v1 >/dev/null &&
	test "$(jqo ".resources[] | select(.name == \"endpointslices\") | .kind + \" \" + (.namespaced | tostring)")" = "EndpointSlice true" &&
	api GET /apis >/dev/null &&
	test "$(jqo "[.groups[] | select(.name == \"discovery.k8s.io\")] | length")" = 1
'

test_expect_success 'validation: addressType, addresses, ports' '
	expect_code 422 POST $EPS -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"bad1\"},\"endpoints\":[]}" &&
	grep -q "addressType: Required value" out &&
	expect_code 422 POST $EPS -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"bad2\"},\"addressType\":\"IPv5\",\"endpoints\":[]}" &&
	grep -q "addressType: Unsupported value" out &&
	expect_code 422 POST $EPS -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"bad3\"},\"addressType\":\"IPv4\",\"endpoints\":[{\"addresses\":[]}]}" &&
	grep -q "endpoints\[0\].addresses: Required value" out &&
	expect_code 422 POST $EPS -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"bad4\"},\"addressType\":\"IPv4\",\"endpoints\":[{\"addresses\":[\"10.0.0.300\"]}]}" &&
	grep -q "endpoints\[0\].addresses\[0\]: Invalid value" out &&
	expect_code 422 POST $EPS -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"bad5\"},\"addressType\":\"IPv4\",\"endpoints\":[{\"addresses\":[\"127.0.0.1\"]}]}" &&
	grep -q "loopback" out &&
	expect_code 422 POST $EPS -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"bad6\"},\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"a\",\"port\":80},{\"name\":\"a\",\"port\":81}]}" &&
	grep -q "ports\[1\].name: Duplicate value" out &&
	expect_code 422 POST $EPS -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"bad7\"},\"addressType\":\"IPv4\",\"ports\":[{\"port\":80,\"protocol\":\"ICMP\"}]}" &&
	grep -q "ports\[0\].protocol: Unsupported value" out &&
	expect_code 400 POST $EPS -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"bad8\"},\"addressType\":\"IPv4\",\"endpoints\":[{\"addresses\":[\"10.0.0.1\"],\"conditions\":{\"ready\":\"yes\"}}]}"
'

test_expect_success 'a valid slice is stored with defaulted ports; addressType is immutable' '
	expect_code 201 POST $EPS -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"manual\"},\"addressType\":\"IPv4\",\"endpoints\":[{\"addresses\":[\"192.0.2.1\"]}],\"ports\":[{\"port\":5432}]}" &&
	test "$(jqo ".ports[0].protocol + \"/\" + .ports[0].name")" = "TCP/" &&
	expect_code 422 PUT $EPS/manual -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"manual\"},\"addressType\":\"IPv6\",\"endpoints\":[]}" &&
	grep -q "addressType: Invalid value.*field is immutable" out
'

test_expect_success 'kpctl get endpointslices prints kubectl'"'"'s columns' '
	K get endpointslices manual >get.out &&
	head -1 get.out | grep -q "^NAME  *ADDRESSTYPE  *PORTS  *ENDPOINTS  *AGE" &&
	grep -q "^manual  *IPv4  *5432  *192.0.2.1 " get.out
'

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
  selector: {matchLabels: {app: web, rs: web}}
  template:
    metadata: {labels: {app: web, rs: web}}
    spec:
      containers:
      - name: c
        image: nginx
        ports: [{name: http, containerPort: 8080}]
EOF2

slices() { api GET "$EPS?labelSelector=kubernetes.io/service-name%3Dweb" >/dev/null && jq -r "$1" out; }
pod_ips() { K get pods -l app=web -o json | jq -r '[.items[] | select(.status.podIP != null) | .status.podIP] | sort | join(",")'; }
n_ready() { slices "[.items[].endpoints[]? | select(.conditions.ready)] | length"; }

test_expect_success 'a Service gets a slice of its ready pods' '
	fake_nodes 1 &&
	K label node fake-1 topology.kubernetes.io/zone=zone-a >/dev/null &&
	K apply -f app.yaml &&
	wait_for 20 "test \"\$(n_ready)\" = 2" &&
	test "$(slices ".items | length")" = 1 &&
	test "$(slices "[.items[0].endpoints[].addresses[0]] | sort | join(\",\")")" = "$(pod_ips)" &&
	test "$(slices ".items[0].addressType")" = IPv4 &&
	test "$(slices ".items[0].metadata.labels[\"endpointslice.kubernetes.io/managed-by\"]")" = endpointslice-controller.k8s.io &&
	test "$(slices ".items[0].metadata.labels.tier")" = front &&
	slices ".items[0].metadata.name" | grep -q "^web-[a-z0-9]\{5\}$" &&
	test "$(slices ".items[0].metadata.ownerReferences[0] | .kind + \"/\" + .name + \"/\" + (.controller | tostring)")" = Service/web/true &&
	test "$(slices ".items[0].metadata.ownerReferences[0].uid")" = "$(K get svc web -o json | jq -r .metadata.uid)" &&
	test "$(slices "[.items[0].ports[] | \"\(.name):\(.port)/\(.protocol)\"] | sort | join(\",\")")" = "http:8080/TCP,metrics:9100/TCP" &&
	test "$(slices ".items[0].endpoints[0] | .nodeName + \" \" + .zone + \" \" + .targetRef.kind + \" \" + (.conditions.serving | tostring) + \" \" + (.conditions.terminating | tostring)")" = "fake-1 zone-a Pod true false" &&
	test "$(slices ".items[0].endpoints[0].targetRef.name")" = "$(slices ".items[0].endpoints[0].targetRef.name" | grep "^web-")"
'

test_expect_success 'scaling adds endpoints to the slice' '
	K scale rs web --replicas 3 &&
	wait_for 20 "test \"\$(n_ready)\" = 3" &&
	test "$(slices ".items | length")" = 1 &&
	test "$(slices "[.items[].endpoints[].addresses[0]] | sort | join(\",\")")" = "$(pod_ips)"
'

test_expect_success 'a pod that is not ready is listed with ready false, serving false' '
	pod=$(K get pods -l app=web -o json | jq -r ".items[0].metadata.name") &&
	K get pod $pod -o json | jq ".status.conditions |= map(if .type == \"Ready\" then .status = \"False\" else . end)" >pod.json &&
	api PUT /api/v1/namespaces/default/pods/$pod/status -H "$CT_JSON" --data-binary @pod.json >/dev/null &&
	wait_for 10 "test \"\$(n_ready)\" = 2" &&
	test "$(slices ".items[].endpoints[] | select(.targetRef.name == \"$pod\") | (.conditions.ready | tostring) + \"/\" + (.conditions.serving | tostring)")" = false/false
'

test_expect_success 'a pod whose named port resolves differently gets its own slice' '
	cat >odd.yaml <<-EOF2 &&
	apiVersion: v1
	kind: Pod
	metadata: {name: odd, namespace: default, labels: {app: web}}
	spec:
	  nodeName: fake-1
	  containers:
	  - name: c
	    image: nginx
	    ports: [{name: http, containerPort: 8081}]
	EOF2
	K apply -f odd.yaml &&
	wait_for 20 "test \"\$(slices \".items | length\")\" = 2" &&
	test "$(slices ".items[] | select(.endpoints[0].targetRef.name == \"odd\") | [.ports[] | .port] | sort | map(tostring) | join(\",\")")" = "8081,9100" &&
	K delete pod odd &&
	wait_for 20 "test \"\$(slices \".items | length\")\" = 1"
'

test_expect_success 'at most 100 endpoints per slice (150 pods: 100 + 50); placeholder; no selector, no slices' '
	cat >big.yaml <<-EOF2 &&
	apiVersion: v1
	kind: Service
	metadata: {name: big, namespace: default}
	spec:
	  selector: {app: big}
	  ports: [{port: 80}]
	---
	apiVersion: apps/v1
	kind: ReplicaSet
	metadata: {name: big, namespace: default}
	spec:
	  replicas: 150
	  selector: {matchLabels: {app: big}}
	  template:
	    metadata: {labels: {app: big}}
	    spec:
	      containers: [{name: c, image: nginx}]
	EOF2
	fake_nodes 2 &&
	K apply -f big.yaml &&
	bigs() { api GET "$EPS?labelSelector=kubernetes.io/service-name%3Dbig" >/dev/null && jq -r "$1" out; } &&
	wait_for 60 "test \"\$(bigs \"[.items[].endpoints[]?] | length\")\" = 150" &&
	test "$(bigs "[.items[] | .endpoints | length] | sort | map(tostring) | join(\",\")")" = "50,100" &&
	K scale rs big --replicas 0 &&
	wait_for 60 "test \"\$(bigs \"[.items[].endpoints[]?] | length\")\" = 0" &&
	test "$(bigs ".items | length")" = 1 &&
	test "$(bigs ".items[0].ports | length")" = 0 &&
	K patch svc big --type json -p "[{\"op\":\"remove\",\"path\":\"/spec/selector\"}]" >/dev/null &&
	wait_for 20 "test \"\$(bigs \".items | length\")\" = 0"
'

test_expect_success 'a changed Service port updates the slice in place' '
	name=$(slices ".items[0].metadata.name") &&
	K patch svc web --type merge -p "{\"spec\":{\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":8443}]}}" >/dev/null &&
	wait_for 20 "test \"\$(slices \"[.items[].ports[] | \\\"\\(.name):\\(.port)\\\"] | join(\\\",\\\")\")\" = http:8443" &&
	test "$(slices ".items | length")" = 1 &&
	test "$(slices ".items[0].metadata.name")" = "$name" &&
	test "$(n_ready)" = 2
'

test_expect_success 'deleting the Service deletes its slices' '
	K delete service web &&
	wait_for 10 "test \"\$(slices \".items | length\")\" = 0" &&
	api GET $EPS/manual >/dev/null &&
	test "$(jqo .metadata.name)" = manual
'

test_done

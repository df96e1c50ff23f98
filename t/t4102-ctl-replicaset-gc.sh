#!/bin/sh
# End to end: the replicaset controller's adoption and release, the garbage
# collector's three propagation policies, the namespace controller, and
# node-sim's heartbeats and finishing pods.
test_description='ReplicaSet ownership, garbage collection, namespaces, node-sim'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"
. "$KP_SRC_DIR/t/t4lib-ctl.sh"

cat >config.yaml <<'EOF2'
controllers:
  node-sim:
    workers: 2
    args:
      heartbeatSeconds: 1
      createNodes: 1
      nodeNamePrefix: tmpl-
      nodeTemplate:
        metadata: {labels: {zone: z1}}
EOF2
start_server --store memory --components api,scheduler,controllers --config config.yaml ||
	{ echo "1..0 # SKIP server did not start"; exit 0; }

# rs NAME REPLICAS LABEL: a ReplicaSet selecting app=LABEL.
rs() {
	cat <<EOF2
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: $1, namespace: ${4:-default}}
spec:
  replicas: $2
  selector: {matchLabels: {app: $3}}
  template:
    metadata: {labels: {app: $3}}
    spec:
      containers: [{name: c, image: busybox}]
EOF2
}

count() {
	K get pods ${2:+-n $2} -l "$1" -o json | jq '[.items[] | select(.metadata.deletionTimestamp == null)] | length'
}

test_expect_success 'node-sim makes fake nodes Ready and keeps their Lease' '
	fake_nodes 2 &&
	wait_for 10 "K get node fake-1 -o json | jq -e \".status.conditions[] | select(.type == \\\"Ready\\\" and .status == \\\"True\\\" and .reason == \\\"KubeletReady\\\")\"" &&
	K get node fake-1 -o json >n.json &&
	jq -e ".status.addresses[] | select(.type == \"InternalIP\")" n.json &&
	test "$(jq -r .status.allocatable.pods n.json)" = 110 &&
	api GET /apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/fake-1 >/dev/null &&
	test "$(jqo .spec.holderIdentity)" = fake-1 &&
	first=$(jqo .spec.renewTime) &&
	wait_for 10 "api GET /apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/fake-1 >/dev/null && test \"\$(jqo .spec.renewTime)\" != \"$first\""
'

test_expect_success 'node-sim creates the nodes its config asks for, from the template' '
	wait_for 10 "K get node tmpl-0 >/dev/null 2>&1" &&
	K get node tmpl-0 -o json >t.json &&
	test "$(jq -r .metadata.labels.zone t.json)" = z1 &&
	test "$(jq -r ".metadata.annotations[\"kwok.x-k8s.io/node\"]" t.json)" = fake &&
	wait_for 10 "K get node tmpl-0 -o json | jq -e \".status.conditions[] | select(.type == \\\"Ready\\\" and .status == \\\"True\\\")\""
'

test_expect_success 'an orphan pod matching the selector is adopted, not duplicated' '
	K run lone --image=busybox --labels=app=adopt 2>/dev/null ||
	K apply -f - <<-EOF2
	apiVersion: v1
	kind: Pod
	metadata: {name: lone, labels: {app: adopt}}
	spec:
	  containers: [{name: c, image: busybox}]
	EOF2
	rs adopt 2 adopt | K apply -f - &&
	wait_for 10 "test \"\$(count app=adopt)\" = 2" &&
	K get pod lone -o json >lone.json &&
	test "$(jq -r ".metadata.ownerReferences[0].name" lone.json)" = adopt &&
	test "$(jq -r ".metadata.ownerReferences[0].controller" lone.json)" = true &&
	wait_for 10 "test \"\$(K get rs adopt -o json | jq .status.readyReplicas)\" = 2"
'

test_expect_success 'a pod that stops matching is released and replaced' '
	K label pod lone app=other --overwrite &&
	wait_for 10 "K get pod lone -o json | jq -e \".metadata.ownerReferences == null\"" &&
	wait_for 10 "test \"\$(count app=adopt)\" = 2"
'

test_expect_success 'Orphan deletion keeps the pods and removes their ownerReferences' '
	api DELETE /apis/apps/v1/namespaces/default/replicasets/adopt -H "$CT_JSON" -d "{\"propagationPolicy\":\"Orphan\"}" &&
	wait_for 10 "! K get rs adopt >/dev/null 2>&1" &&
	test "$(count app=adopt)" = 2 &&
	K get pods -l app=adopt -o json | jq -e "[.items[] | select(.metadata.ownerReferences != null)] | length == 0"
'

test_expect_success 'Foreground deletion removes the pods first, then the ReplicaSet' '
	rs fg 3 fg | K apply -f - &&
	wait_for 10 "test \"\$(count app=fg)\" = 3" &&
	api DELETE /apis/apps/v1/namespaces/default/replicasets/fg -H "$CT_JSON" -d "{\"propagationPolicy\":\"Foreground\"}" >/dev/null &&
	jqo ".metadata.finalizers[]" | grep -qx foregroundDeletion &&
	wait_for 10 "! K get rs fg >/dev/null 2>&1" &&
	test "$(count app=fg)" = 0
'

test_expect_success 'Background deletion (the default) removes the pods after the owner' '
	rs bg 2 bg | K apply -f - &&
	wait_for 10 "test \"\$(count app=bg)\" = 2" &&
	K delete rs bg &&
	wait_for 10 "test \"\$(count app=bg)\" = 0"
'

test_expect_success 'a dangling reference to a vanished owner is dropped when another owner remains' '
	K create configmap keep --from-literal=a=b 2>/dev/null || api POST /api/v1/namespaces/default/configmaps -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"keep\"}}" >/dev/null &&
	K get configmap keep -o json >cm.json &&
	cmuid=$(jq -r .metadata.uid cm.json) &&
	api POST /api/v1/namespaces/default/secrets -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"dep\",\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"name\":\"keep\",\"uid\":\"$cmuid\"},{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"name\":\"gone\",\"uid\":\"00000000-0000-4000-8000-000000000000\"}]}}" >/dev/null &&
	wait_for 10 "api GET /api/v1/namespaces/default/secrets/dep >/dev/null && test \"\$(jqo \".metadata.ownerReferences | length\")\" = 1" &&
	test "$(jqo ".metadata.ownerReferences[0].name")" = keep &&
	K delete configmap keep &&
	wait_for 10 "test \"\$(api GET /api/v1/namespaces/default/secrets/dep)\" = 404"
'

test_expect_success 'deleting a namespace deletes its contents, then the namespace' '
	K create namespace doomed &&
	rs inns 2 inns doomed | K apply -f - &&
	api POST /api/v1/namespaces/doomed/configmaps -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"c1\"}}" >/dev/null &&
	api POST /api/v1/namespaces/doomed/events -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"e1\"},\"involvedObject\":{\"kind\":\"ConfigMap\",\"name\":\"c1\",\"namespace\":\"doomed\"},\"reason\":\"Test\",\"message\":\"m\"}" >/dev/null &&
	wait_for 10 "test \"\$(count app=inns doomed)\" = 2" &&
	K delete namespace doomed &&
	wait_for 15 "test \"\$(api GET /api/v1/namespaces/doomed)\" = 404" &&
	test "$(api GET /api/v1/namespaces/doomed/configmaps/c1)" = 404 &&
	test "$(api GET /api/v1/namespaces/doomed/events/e1)" = 404 &&
	api GET /api/v1/namespaces/doomed/events >/dev/null && test "$(jqo ".items | length")" = 0 &&
	api GET /api/v1/namespaces/doomed/pods >/dev/null && test "$(jqo ".items | length")" = 0
'

# run-seconds: the kubelet ends the container; restartPolicy Never keeps it
# ended (Succeeded for 0, Failed for another code), Always restarts it.
pod_run() {
	cat <<EOF2
apiVersion: v1
kind: Pod
metadata:
  name: $1
  annotations: {sim.kplane.io/run-seconds: "1", sim.kplane.io/exit-code: "$2"}
spec:
  restartPolicy: $3
  containers: [{name: c, image: busybox}]
EOF2
}

test_expect_success 'node-sim finishes pods after sim.kplane.io/run-seconds' '
	pod_run ok 0 Never | K apply -f - &&
	pod_run bad 3 Never | K apply -f - &&
	pod_run again 0 Always | K apply -f - &&
	wait_for 15 "test \"\$(K get pod ok -o json | jq -r .status.phase)\" = Succeeded" &&
	wait_for 15 "test \"\$(K get pod bad -o json | jq -r .status.phase)\" = Failed" &&
	K get pod bad -o json >bad.json &&
	test "$(jq ".status.containerStatuses[0].state.terminated.exitCode" bad.json)" = 3 &&
	test "$(jq -r ".status.containerStatuses[0].state.terminated.reason" bad.json)" = Error &&
	test "$(jq -r "(.status.conditions[] | select(.type == \"Ready\")).status" bad.json)" = False &&
	wait_for 15 "test \"\$(K get pod again -o json | jq .status.containerStatuses[0].restartCount)\" -ge 1" &&
	test "$(K get pod again -o json | jq -r .status.phase)" = Running
'

test_expect_success 'a node annotated stop-heartbeat stops reporting' '
	K annotate node fake-2 sim.kplane.io/stop-heartbeat=true &&
	sleep 1.5 &&
	api GET /api/v1/nodes/fake-2 >/dev/null && a=$(jqo "(.status.conditions[] | select(.type == \"Ready\")).lastHeartbeatTime") &&
	sleep 2.2 &&
	api GET /api/v1/nodes/fake-2 >/dev/null && b=$(jqo "(.status.conditions[] | select(.type == \"Ready\")).lastHeartbeatTime") &&
	test "$a" = "$b"
'

test_expect_success 'controller settings are checked: an unknown controller is refused' '
	printf "controllers:\n  no-such:\n    workers: 1\n" >bad.yaml &&
	! kplane server --store memory --listen 127.0.0.1:0 --config bad.yaml >o 2>e &&
	grep "no-such" e &&
	! kplane server --store memory --listen 127.0.0.1:0 --controllers replicaset,nope >o 2>e &&
	grep "\"nope\"" e
'

test_done

#!/bin/sh
# End to end: a StatefulSet's pods come up one at a time in ordinal order
# (each Running and Ready before the next is created), scale down from the
# highest ordinal, roll a new template out from the highest ordinal down to
# the partition, and get one claim per volumeClaimTemplate.
test_description='StatefulSet: ordered pods, partitioned rolling update, claims'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"
. "$KP_SRC_DIR/t/t4lib-ctl.sh"

start_server --store memory --components api,scheduler,controllers ||
	{ echo "1..0 # SKIP server did not start"; exit 0; }

cat >sts.yaml <<'EOF2'
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web, namespace: default}
spec:
  replicas: 3
  serviceName: web
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: web:1}]
EOF2

running() {
	K get pods -l app=web -o json | jq -r "[.items[] | select(.status.phase == \"Running\" and .metadata.deletionTimestamp == null and .spec.containers[0].image == \"$1\") | .metadata.name] | sort | join(\",\")"
}

test_expect_success 'pods web-0..2 are created in order, each after the previous is Ready' '
	fake_nodes 2 &&
	{ curl -sN "$S/api/v1/namespaces/default/pods?watch=1&timeoutSeconds=15" >watch.json & } &&
	sleep 0.3 &&
	K apply -f sts.yaml &&
	wait_for 20 "test \"\$(running web:1)\" = web-0,web-1,web-2" &&
	sleep 0.3 &&
	jq -c "[.type, .object.metadata.name, ([.object.status.conditions[]? | select(.type == \"Ready\") | .status][0] // \"-\")]" watch.json >seq &&
	for n in 1 2; do
		prev=$((n - 1)) &&
		added=$(grep -n "^\[\"ADDED\",\"web-$n\"" seq | head -1 | cut -d: -f1) &&
		readyprev=$(grep -n "\"web-$prev\",\"True\"\]" seq | head -1 | cut -d: -f1) &&
		test -n "$added" && test -n "$readyprev" && test "$readyprev" -lt "$added" || { cat seq; exit 1; }
	done &&
	K get pod web-1 -o json >p.json &&
	test "$(jq -r .spec.hostname p.json)" = web-1 &&
	test "$(jq -r .spec.subdomain p.json)" = web &&
	test "$(jq -r ".metadata.labels[\"statefulset.kubernetes.io/pod-name\"]" p.json)" = web-1 &&
	test "$(jq -r ".metadata.labels[\"apps.kubernetes.io/pod-index\"]" p.json)" = 1
'

test_expect_success 'status and a ControllerRevision for the template' '
	wait_for 10 "test \"\$(K get sts web -o json | jq .status.readyReplicas)\" = 3" &&
	K get sts web -o json >s.json &&
	rev=$(jq -r .status.updateRevision s.json) &&
	test "$(jq -r .status.currentRevision s.json)" = "$rev" &&
	test "$(K get pod web-0 -o json | jq -r ".metadata.labels[\"controller-revision-hash\"]")" = "$rev" &&
	api GET "/apis/apps/v1/namespaces/default/controllerrevisions/$rev" >/dev/null &&
	test "$(jqo .revision)" = 1 &&
	echo "$rev" >rev1
'

test_expect_success 'a rolling update with partition 1 replaces web-1 and web-2, not web-0' '
	K patch sts web -p "{\"spec\":{\"updateStrategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"partition\":1}},\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"web:2\"}]}}}}" &&
	wait_for 30 "test \"\$(running web:2)\" = web-1,web-2" &&
	test "$(running web:1)" = web-0 &&
	wait_for 10 "test \"\$(K get sts web -o json | jq .status.updatedReplicas)\" = 2" &&
	test "$(K get sts web -o json | jq -r .status.currentRevision)" = "$(cat rev1)"
'

test_expect_success 'partition 0 finishes the update and moves currentRevision' '
	K patch sts web -p "{\"spec\":{\"updateStrategy\":{\"rollingUpdate\":{\"partition\":0}}}}" &&
	wait_for 30 "test \"\$(running web:2)\" = web-0,web-1,web-2" &&
	wait_for 10 "test \"\$(K get sts web -o json | jq -r .status.currentRevision)\" != \"$(cat rev1)\""
'

test_expect_success 'scaling down removes the highest ordinals' '
	K scale sts web --replicas 1 &&
	wait_for 30 "test \"\$(K get pods -l app=web -o json | jq -r \"[.items[].metadata.name] | sort | join(\\\",\\\")\")\" = web-0"
'

test_expect_success 'volumeClaimTemplates give each pod its own claim' '
	cat >db.yaml <<-EOF2 &&
	apiVersion: apps/v1
	kind: StatefulSet
	metadata: {name: db, namespace: default}
	spec:
	  replicas: 2
	  podManagementPolicy: Parallel
	  serviceName: db
	  selector: {matchLabels: {app: db}}
	  template:
	    metadata: {labels: {app: db}}
	    spec:
	      containers: [{name: c, image: db, volumeMounts: [{name: data, mountPath: /data}]}]
	  volumeClaimTemplates:
	  - metadata: {name: data}
	    spec:
	      accessModes: [ReadWriteOnce]
	      resources: {requests: {storage: 1Gi}}
	EOF2
	K apply -f db.yaml &&
	wait_for 20 "K get pvc data-db-0 >/dev/null 2>&1 && K get pvc data-db-1 >/dev/null 2>&1" &&
	test "$(K get pvc data-db-1 -o json | jq -r .metadata.labels.app)" = db &&
	wait_for 10 "K get pod db-1 >/dev/null 2>&1" &&
	test "$(K get pod db-1 -o json | jq -r ".spec.volumes[] | select(.name == \"data\") | .persistentVolumeClaim.claimName")" = data-db-1
'

test_done

#!/bin/sh
# End to end: StatefulSet fields beyond the basics, as kube's controller
# handles them: spec.ordinals.start, persistentVolumeClaimRetentionPolicy
# (claims owned by the set or by their condemned pod, removed by the garbage
# collector), minReadySeconds holding ordered creation, maxUnavailable in a
# rolling update, and rollback through ControllerRevisions.
test_description='StatefulSet: ordinals, claim retention, minReadySeconds, maxUnavailable, undo'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"
. "$KP_SRC_DIR/t/t4lib-ctl.sh"

# Pods take 1 s to start, so that a batch of replaced pods can be seen.
cat >config.yaml <<'EOF2'
controllers:
  node-sim:
    args:
      podStartDelayMs: 1000
EOF2
start_server --store memory --components api,scheduler,controllers --config config.yaml ||
	{ echo "1..0 # SKIP server did not start"; exit 0; }

# sts NAME REPLICAS EXTRA-SPEC-JSON [CLAIMS]: a StatefulSet with app=NAME pods.
sts() {
	claims='[]'
	test -n "${4:-}" && claims='[{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]'
	cat <<EOF2 | jq --argjson x "$3" --argjson v "$claims" '.spec += $x | .spec.volumeClaimTemplates = $v' >"$1.json" &&
{"apiVersion": "apps/v1", "kind": "StatefulSet",
 "metadata": {"name": "$1", "namespace": "default"},
 "spec": {"replicas": $2, "serviceName": "$1", "selector": {"matchLabels": {"app": "$1"}},
   "template": {"metadata": {"labels": {"app": "$1"}},
     "spec": {"containers": [{"name": "c", "image": "$1:1"}]}}}}
EOF2
	K apply -f "$1.json" >/dev/null
}
# names APP: "name,name" of the pods of app=APP that are not being deleted.
names() { K get pods -l "app=$1" -o json | jq -r '[.items[] | select(.metadata.deletionTimestamp == null) | .metadata.name] | sort | join(",")'; }
claims() { K get pvc -l "app=$1" -o json | jq -r '[.items[] | select(.metadata.deletionTimestamp == null) | .metadata.name] | sort | join(",")'; }
# owners CLAIM: "Kind/name,..." of the claim's ownerReferences.
owners() { K get pvc "$1" -o json | jq -r '[.metadata.ownerReferences[]? | "\(.kind)/\(.name)"] | sort | join(",")'; }
# nready APP: pods of app=APP that are Ready and not being deleted.
nready() { K get pods -l "app=$1" -o json | jq '[.items[] | select(.metadata.deletionTimestamp == null and any(.status.conditions[]?; .type == "Ready" and .status == "True"))] | length'; }
allready() { K get sts "$1" -o json | jq -e ".status.readyReplicas == $2"; }

test_expect_success 'defaults Retain/Retain; a bad policy or a negative start is refused' '
	sts dflt 0 "{}" &&
	test "$(K get sts dflt -o json | jq -r ".spec.persistentVolumeClaimRetentionPolicy | \"\(.whenDeleted)/\(.whenScaled)\"")" = Retain/Retain &&
	! sts bad1 1 "{\"persistentVolumeClaimRetentionPolicy\": {\"whenScaled\": \"Keep\"}}" 2>err &&
	grep "spec.persistentVolumeClaimRetentionPolicy.whenScaled" err &&
	! sts bad2 1 "{\"ordinals\": {\"start\": -1}}" 2>err &&
	grep "spec.ordinals.start" err &&
	! sts bad3 1 "{\"updateStrategy\": {\"type\": \"RollingUpdate\", \"rollingUpdate\": {\"maxUnavailable\": 0}}}" 2>err &&
	grep "spec.updateStrategy.rollingUpdate.maxUnavailable" err
'

test_expect_success 'ordinals.start 5: pods web-5..web-7, scale-down removes web-7' '
	fake_nodes 3 &&
	sts web 3 "{\"ordinals\": {\"start\": 5}}" &&
	wait_for 30 "test \"\$(names web)\" = web-5,web-6,web-7" &&
	test "$(K get pod web-6 -o json | jq -r ".metadata.labels[\"apps.kubernetes.io/pod-index\"]")" = 6 &&
	test "$(K get pod web-7 -o json | jq -r .spec.hostname)" = web-7 &&
	wait_for 20 "allready web 3" &&
	K scale sts web --replicas 2 &&
	wait_for 20 "test \"\$(names web)\" = web-5,web-6" &&
	K patch sts web -p "{\"spec\":{\"ordinals\":{\"start\":0}}}" &&
	wait_for 40 "test \"\$(names web)\" = web-0,web-1"
'

test_expect_success 'whenScaled Delete: the claim of a removed pod goes, whenDeleted Retain keeps the rest' '
	sts keep 2 "{\"persistentVolumeClaimRetentionPolicy\": {\"whenScaled\": \"Delete\", \"whenDeleted\": \"Retain\"}}" 1 &&
	wait_for 30 "allready keep 2" &&
	test "$(claims keep)" = data-keep-0,data-keep-1 &&
	test "$(owners data-keep-0)" = "" &&
	K scale sts keep --replicas 1 &&
	wait_for 20 "test \"\$(names keep)\" = keep-0" &&
	wait_for 20 "test \"\$(claims keep)\" = data-keep-0" &&
	K delete sts keep >/dev/null &&
	wait_for 20 "test -z \"\$(names keep)\"" &&
	test "$(claims keep)" = data-keep-0
'

test_expect_success 'whenDeleted Delete: claims owned by the set go with it; whenScaled Retain keeps them on scale-down' '
	sts drop 2 "{\"persistentVolumeClaimRetentionPolicy\": {\"whenScaled\": \"Retain\", \"whenDeleted\": \"Delete\"}}" 1 &&
	wait_for 30 "allready drop 2" &&
	test "$(owners data-drop-0)" = StatefulSet/drop &&
	test "$(K get pvc data-drop-0 -o json | jq -r ".metadata.ownerReferences[0].controller")" = false &&
	K scale sts drop --replicas 1 &&
	wait_for 20 "test \"\$(names drop)\" = drop-0" &&
	test "$(claims drop)" = data-drop-0,data-drop-1 &&
	K delete sts drop >/dev/null &&
	wait_for 20 "test -z \"\$(claims drop)\""
'

test_expect_success 'Retain/Retain on an existing set: changing the policy adds and removes the references' '
	sts pol 1 "{}" 1 &&
	wait_for 30 "allready pol 1" &&
	test "$(owners data-pol-0)" = "" &&
	K patch sts pol -p "{\"spec\":{\"persistentVolumeClaimRetentionPolicy\":{\"whenDeleted\":\"Delete\"}}}" &&
	wait_for 20 "test \"\$(owners data-pol-0)\" = StatefulSet/pol" &&
	K patch sts pol -p "{\"spec\":{\"persistentVolumeClaimRetentionPolicy\":{\"whenDeleted\":\"Retain\"}}}" &&
	wait_for 20 "test -z \"\$(owners data-pol-0)\""
'

test_expect_success 'minReadySeconds 2: the next ordinal waits until the previous pod is available' '
	sts slow 2 "{\"minReadySeconds\": 2}" &&
	wait_for 30 "K get pod slow-1 >/dev/null 2>&1" &&
	r0=$(K get pod slow-0 -o json | jq -r "[.status.conditions[] | select(.type == \"Ready\")][0].lastTransitionTime | fromdate") &&
	c1=$(K get pod slow-1 -o json | jq -r ".metadata.creationTimestamp | fromdate") &&
	test $((c1 - r0)) -ge 2 &&
	wait_for 20 "K get sts slow -o json | jq -e \".status.availableReplicas == 2\""
'

test_expect_success 'maxUnavailable 2: two pods are replaced at once (one at a time keeps 3 Ready)' '
	sts par 4 "{\"podManagementPolicy\": \"Parallel\", \"updateStrategy\": {\"type\": \"RollingUpdate\", \"rollingUpdate\": {\"maxUnavailable\": 2}}}" &&
	wait_for 30 "allready par 4" &&
	K patch sts par -p "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"par:2\"}]}}}}" &&
	wait_for 40 "test \$(nready par) = 2" &&
	wait_for 40 "K get sts par -o json | jq -e \".status.updatedReplicas == 4 and .status.readyReplicas == 4\""
'

test_expect_success 'rollback: the old template becomes revision 3 (kubectl rollout undo when present)' '
	if command -v kubectl >/dev/null 2>&1; then
		timeout 30 kubectl --server "$S" rollout history statefulset par >hist &&
		grep "^1 " hist && grep "^2 " hist &&
		timeout 30 kubectl --server "$S" rollout undo statefulset par
	else
		K patch sts par -p "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"par:1\"}]}}}}"
	fi &&
	wait_for 40 "test \"\$(K get pods -l app=par -o json | jq -r \"[.items[] | select(.status.phase == \\\"Running\\\") | .spec.containers[0].image] | unique | join(\\\",\\\")\")\" = par:1" &&
	api GET /apis/apps/v1/namespaces/default/controllerrevisions >/dev/null &&
	test "$(jqo "[.items[] | select(.metadata.ownerReferences[0].name == \"par\") | \"\\(.revision):\\(.data.spec.template.spec.containers[0].image)\"] | sort | join(\",\")")" = "2:par:2,3:par:1"
'

test_expect_success 'a revision name held by another object raises collisionCount' '
	K create namespace other >/dev/null &&
	sed "s/\"namespace\": \"default\"/\"namespace\": \"other\"/" <<-EOF2 >col.json &&
	{"apiVersion": "apps/v1", "kind": "StatefulSet",
	 "metadata": {"name": "col", "namespace": "default"},
	 "spec": {"replicas": 0, "serviceName": "col", "selector": {"matchLabels": {"app": "col"}},
	   "template": {"metadata": {"labels": {"app": "col"}},
	     "spec": {"containers": [{"name": "c", "image": "col:1"}]}}}}
	EOF2
	K apply -f col.json >/dev/null &&
	wait_for 20 "test -n \"\$(K get sts col -n other -o json | jq -r \".status.updateRevision // empty\")\"" &&
	taken=$(K get sts col -n other -o json | jq -r .status.updateRevision) &&
	cat >cr.json <<-EOF2 &&
	{"apiVersion": "apps/v1", "kind": "ControllerRevision",
	 "metadata": {"name": "$taken", "namespace": "default"}, "revision": 1, "data": {}}
	EOF2
	K apply -f cr.json >/dev/null &&
	sed "s/\"namespace\": \"other\"/\"namespace\": \"default\"/" col.json >col2.json &&
	K apply -f col2.json >/dev/null &&
	wait_for 20 "test \"\$(K get sts col -o json | jq -r \".status.collisionCount // 0\")\" = 1" &&
	wait_for 20 "test -n \"\$(K get sts col -o json | jq -r \".status.updateRevision // empty\")\"" &&
	test "$(K get sts col -o json | jq -r .status.updateRevision)" != "$taken" &&
	api GET /apis/apps/v1/namespaces/default/controllerrevisions/$taken >/dev/null &&
	test "$(jqo ".metadata.ownerReferences // [] | length")" = 0
'

test_done

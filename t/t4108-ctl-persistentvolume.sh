#!/bin/sh
# End to end: the persistentvolume controller binds claims to the smallest
# matching volume, provisions local-path volumes for the default class
# "standard" once the scheduler picked a node, releases or deletes volumes
# whose claim went away, and a StatefulSet with volumeClaimTemplates comes up.
test_description='PersistentVolume binding and local-path provisioning'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"
. "$KP_SRC_DIR/t/t4lib-ctl.sh"

start_server --store memory --components api,scheduler,controllers ||
	{ echo "1..0 # SKIP server did not start"; exit 0; }

phase() { K get "$1" "$2" -o json 2>/dev/null | jq -r .status.phase; }

test_expect_success 'a default StorageClass "standard" exists' '
	wait_for 10 "K get storageclass standard >/dev/null 2>&1" &&
	K get storageclass standard -o json >sc.json &&
	test "$(jq -r ".metadata.annotations[\"storageclass.kubernetes.io/is-default-class\"]" sc.json)" = true &&
	test "$(jq -r .volumeBindingMode sc.json)" = WaitForFirstConsumer
'

cat >static.yaml <<'EOF2'
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv-small}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: manual
  hostPath: {path: /tmp/small}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv-big}
spec:
  capacity: {storage: 5Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: manual
  hostPath: {path: /tmp/big}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv-huge}
spec:
  capacity: {storage: 50Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: manual
  hostPath: {path: /tmp/huge}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: want2, namespace: default}
spec:
  storageClassName: manual
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 2Gi}}
EOF2

test_expect_success 'a claim binds to the smallest volume that fits' '
	K apply -f static.yaml &&
	wait_for 10 "test \"\$(phase pvc want2)\" = Bound" &&
	test "$(K get pvc want2 -o json | jq -r .spec.volumeName)" = pv-big &&
	test "$(K get pvc want2 -o json | jq -r .status.capacity.storage)" = 5Gi &&
	test "$(phase pv pv-big)" = Bound &&
	test "$(K get pv pv-big -o json | jq -r .spec.claimRef.name)" = want2 &&
	wait_for 10 "test \"\$(phase pv pv-small)\" = Available"
'

test_expect_success 'deleting the claim releases a Retain volume' '
	K delete pvc want2 &&
	wait_for 10 "test \"\$(phase pv pv-big)\" = Released"
'

cat >dyn.yaml <<'EOF2'
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: default}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 3Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: user, namespace: default}
spec:
  containers: [{name: c, image: busybox}]
  volumes: [{name: d, persistentVolumeClaim: {claimName: data}}]
EOF2

test_expect_success 'a claim of the default class is provisioned on the pod'"'"'s node' '
	fake_nodes 1 &&
	K apply -f dyn.yaml &&
	wait_for 10 "test \"\$(K get pvc data -o json | jq -r .spec.storageClassName)\" = standard" &&
	wait_for 20 "test \"\$(phase pvc data)\" = Bound" &&
	pv=$(K get pvc data -o json | jq -r .spec.volumeName) &&
	case $pv in pvc-*) ;; *) echo "volume $pv"; exit 1 ;; esac &&
	K get pv "$pv" -o json >pv.json &&
	test "$(jq -r .spec.capacity.storage pv.json)" = 3Gi &&
	test "$(jq -r ".spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]" pv.json)" = fake-1 &&
	test "$(jq -r .spec.persistentVolumeReclaimPolicy pv.json)" = Delete &&
	wait_for 20 "test \"\$(phase pod user)\" = Running" &&
	echo "$pv" >pvname
'

test_expect_success 'deleting a provisioned claim deletes its volume' '
	K delete pod user &&
	K delete pvc data &&
	wait_for 10 "! K get pv $(cat pvname) >/dev/null 2>&1"
'

test_expect_success 'a StatefulSet with volumeClaimTemplates comes up with bound claims' '
	cat >db.yaml <<-EOF2 &&
	apiVersion: apps/v1
	kind: StatefulSet
	metadata: {name: db, namespace: default}
	spec:
	  replicas: 2
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
	wait_for 30 "test \"\$(phase pod db-1)\" = Running" &&
	test "$(phase pvc data-db-0)" = Bound &&
	test "$(phase pvc data-db-1)" = Bound
'

test_done

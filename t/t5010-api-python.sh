#!/bin/sh
test_description='API server: Debian python3-kubernetes against kplane server'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"

# Another python3 may come first on PATH: the Debian package is for /usr/bin/python3.
PY=/usr/bin/python3
if ! test -x $PY || ! $PY -c 'import kubernetes' 2>/dev/null; then
	echo "1..0 # SKIP python3-kubernetes is not installed (apt-get install python3-kubernetes)"
	exit 0
fi

start_server --store memory --compact-interval 0.2 --event-retention 5 || exit 1

cat >kc.py <<'PY'
import json, sys
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

def api():
    cfg = client.Configuration()
    cfg.host = sys.argv[1]
    return client.ApiClient(cfg)

def pod(name, labels=None):
    return client.V1Pod(metadata=client.V1ObjectMeta(name=name, labels=labels or {}),
                        spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="nginx:1.25")]))
PY

py() { $PY -c "exec(open('kc.py').read())
$1" "$S"; }

test_expect_success 'create and list pods with a label selector' '
	py "
v1 = client.CoreV1Api(api())
for n in (\"p1\", \"p2\"):
    v1.create_namespaced_pod(\"default\", pod(n, {\"app\": n}))
names = [p.metadata.name for p in v1.list_namespaced_pod(\"default\", label_selector=\"app=p2\").items]
assert names == [\"p2\"], names
all = v1.list_pod_for_all_namespaces()
assert sorted(p.metadata.name for p in all.items) == [\"p1\", \"p2\"]
assert int(all.metadata.resource_version) > 0
p = v1.read_namespaced_pod(\"p1\", \"default\")
assert p.spec.containers[0].image == \"nginx:1.25\" and p.metadata.uid
print(\"ok\")
" >out && grep -x ok out
'

test_expect_success 'create of an existing pod is 409 AlreadyExists' '
	py "
v1 = client.CoreV1Api(api())
try:
    v1.create_namespaced_pod(\"default\", pod(\"p1\"))
    raise SystemExit(\"no error\")
except ApiException as e:
    assert e.status == 409, e.status
    assert json.loads(e.body)[\"reason\"] == \"AlreadyExists\"
print(\"ok\")
" >out && grep -x ok out
'

test_expect_success 'replace succeeds, then a stale resourceVersion is 409 Conflict' '
	py "
v1 = client.CoreV1Api(api())
p = v1.read_namespaced_pod(\"p1\", \"default\")
stale = p.metadata.resource_version
p.metadata.labels[\"v\"] = \"2\"
q = v1.replace_namespaced_pod(\"p1\", \"default\", p)
assert q.metadata.labels[\"v\"] == \"2\" and q.metadata.resource_version != stale
p.metadata.resource_version = stale
p.metadata.labels[\"v\"] = \"3\"
try:
    v1.replace_namespaced_pod(\"p1\", \"default\", p)
    raise SystemExit(\"no conflict\")
except ApiException as e:
    assert e.status == 409, e.status
    assert json.loads(e.body)[\"reason\"] == \"Conflict\"
assert v1.read_namespaced_pod(\"p1\", \"default\").metadata.labels[\"v\"] == \"2\"
print(\"ok\")
" >out && grep -x ok out
'

test_expect_success 'patch with a dict (merge) and with a list (JSON patch)' '
	py "
v1 = client.CoreV1Api(api())
q = v1.patch_namespaced_pod(\"p1\", \"default\", {\"metadata\": {\"labels\": {\"patched\": \"yes\"}}})
assert q.metadata.labels[\"patched\"] == \"yes\" and q.metadata.labels[\"app\"] == \"p1\"
q = v1.patch_namespaced_pod(\"p1\", \"default\", [{\"op\": \"remove\", \"path\": \"/metadata/labels/patched\"}])
assert \"patched\" not in q.metadata.labels
print(\"ok\")
" >out && grep -x ok out
'

test_expect_success 'deployment scale subresource' '
	py "
a = client.AppsV1Api(api())
d = client.V1Deployment(metadata=client.V1ObjectMeta(name=\"d\"),
    spec=client.V1DeploymentSpec(replicas=1,
        selector=client.V1LabelSelector(match_labels={\"app\": \"d\"}),
        template=client.V1PodTemplateSpec(metadata=client.V1ObjectMeta(labels={\"app\": \"d\"}),
            spec=client.V1PodSpec(containers=[client.V1Container(name=\"c\", image=\"nginx\")]))))
a.create_namespaced_deployment(\"default\", d)
s = a.read_namespaced_deployment_scale(\"d\", \"default\")
assert s.spec.replicas == 1 and s.status.selector == \"app=d\", s
a.patch_namespaced_deployment_scale(\"d\", \"default\", {\"spec\": {\"replicas\": 4}})
assert a.read_namespaced_deployment(\"d\", \"default\").spec.replicas == 4
s = a.read_namespaced_deployment_scale(\"d\", \"default\")
s.spec.replicas = 2
a.replace_namespaced_deployment_scale(\"d\", \"default\", s)
assert a.read_namespaced_deployment(\"d\", \"default\").spec.replicas == 2
print(\"ok\")
" >out && grep -x ok out
'

test_expect_success 'watch from a resourceVersion sees the changes after it' '
	py "
v1 = client.CoreV1Api(api())
rv = v1.list_namespaced_pod(\"default\").metadata.resource_version
v1.create_namespaced_pod(\"default\", pod(\"w1\"))
v1.delete_namespaced_pod(\"w1\", \"default\")
seen = []
w = watch.Watch()
for ev in w.stream(v1.list_namespaced_pod, \"default\", resource_version=rv, timeout_seconds=2):
    seen.append((ev[\"type\"], ev[\"object\"].metadata.name))
    if len(seen) == 2:
        w.stop()
assert seen == [(\"ADDED\", \"w1\"), (\"DELETED\", \"w1\")], seen
print(\"ok\")
" >out && grep -x ok out
'

test_expect_success 'watch from a compacted resourceVersion gets a 410 Expired ERROR event' '
	py "
import time
v1 = client.CoreV1Api(api())
old = v1.list_namespaced_pod(\"default\").metadata.resource_version
for i in range(20):
    v1.patch_namespaced_pod(\"p2\", \"default\", {\"metadata\": {\"labels\": {\"n\": str(i)}}})
time.sleep(1)
w = watch.Watch()
try:
    for ev in w.stream(v1.list_namespaced_pod, \"default\", resource_version=old, timeout_seconds=3):
        raise SystemExit(\"unexpected event %r\" % (ev[\"type\"],))
    raise SystemExit(\"no error\")
except ApiException as e:
    assert e.status == 410, e.status
print(\"ok\")
" >out && grep -x ok out
'

test_expect_success 'delete, then 404' '
	py "
v1 = client.CoreV1Api(api())
st = v1.delete_namespaced_pod(\"p2\", \"default\")
try:
    v1.read_namespaced_pod(\"p2\", \"default\")
    raise SystemExit(\"still there\")
except ApiException as e:
    assert e.status == 404, e.status
try:
    v1.delete_namespaced_pod(\"p2\", \"default\")
    raise SystemExit(\"deleted twice\")
except ApiException as e:
    assert e.status == 404, e.status
print(\"ok\")
" >out && grep -x ok out
'

test_done

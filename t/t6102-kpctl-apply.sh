#!/bin/sh
test_description='kpctl apply, create, replace and delete'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t6lib-kpctl.sh"

kpctl_start_server || kpctl_skip_all "kplane server is not available"

mkdir -p dir/sub
cat >dir/a-deploy.yaml <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web, team: blue}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
YAML
cat >dir/b-cm.json <<'JSON'
{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"k": "v"}}
{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg2"}}
JSON
echo "not a manifest" >dir/notes.txt
cat >dir/sub/c-svc.yaml <<'YAML'
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
YAML

test_expect_success 'apply a directory: creates in name order, skips other files and subdirs' '
	kpctl apply -f dir >out &&
	cat >expect <<-\EOF &&
	deployment.apps/web created
	configmap/cfg created
	configmap/cfg2 created
	EOF
	test_cmp expect out
'

test_expect_success 'apply -R descends' '
	kpctl apply -R -f dir >out &&
	cat >expect <<-\EOF &&
	deployment.apps/web unchanged
	configmap/cfg unchanged
	configmap/cfg2 unchanged
	service/web created
	EOF
	test_cmp expect out
'

test_expect_success 'apply stores the last-applied annotation' '
	kpctl get cm cfg -o json >out &&
	grep "\"kubectl.kubernetes.io/last-applied-configuration\": \"{\\\\\"apiVersion\\\\\":\\\\\"v1\\\\\",\\\\\"data\\\\\":{\\\\\"k\\\\\":\\\\\"v\\\\\"},\\\\\"kind\\\\\":\\\\\"ConfigMap\\\\\",\\\\\"metadata\\\\\":{\\\\\"name\\\\\":\\\\\"cfg\\\\\",\\\\\"namespace\\\\\":\\\\\"default\\\\\"}}\\\\n\"" out
'

test_expect_success 'changed manifest: configured, only the change is sent' '
	sed -e "s/replicas: 2/replicas: 3/" -e "s/team: blue/team: red/" dir/a-deploy.yaml >d2.yaml &&
	kpctl apply -f d2.yaml >out &&
	echo "deployment.apps/web configured" >expect && test_cmp expect out &&
	kpctl get deploy web -o yaml >y &&
	grep "^  replicas: 3$" y && grep "^    team: red$" y
'

test_expect_success 'a label dropped from the manifest is removed, others kept' '
	kpctl label deploy web extra=kept >/dev/null &&
	sed -e "s/replicas: 2/replicas: 3/" -e "s/, team: blue//" dir/a-deploy.yaml >d3.yaml &&
	kpctl apply -f d3.yaml >out &&
	echo "deployment.apps/web configured" >expect && test_cmp expect out &&
	kpctl get deploy web -o yaml >y &&
	! grep "team:" y && grep "^    extra: kept$" y
'

test_expect_success 'drift on the live object is put back by apply' '
	kpctl scale deploy web --replicas=7 >/dev/null &&
	kpctl apply -f d3.yaml >out &&
	echo "deployment.apps/web configured" >expect && test_cmp expect out &&
	kpctl get deploy web -o yaml | grep "^  replicas: 3$" &&
	kpctl apply -f d3.yaml >out &&
	echo "deployment.apps/web unchanged" >expect && test_cmp expect out
'

test_expect_success 'apply from stdin' '
	printf "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fromstdin\n" | kpctl apply -f - >out &&
	echo "configmap/fromstdin created" >expect && test_cmp expect out
'

test_expect_success 'apply with an explicit, different -n is refused' '
	printf "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: kube-system\n" >ns.yaml &&
	! kpctl apply -n default -f ns.yaml 2>err &&
	echo "error: the namespace from the provided object \"kube-system\" does not match the namespace \"default\". You must pass '"'"'--namespace=kube-system'"'"' to perform this operation." >expect &&
	test_cmp expect err
'

test_expect_success 'invalid manifests name the file' '
	printf "apiVersion: v1\nmetadata:\n  name: x\n" >nokind.yaml &&
	! kpctl apply -f nokind.yaml 2>err &&
	echo "error: error validating \"nokind.yaml\": error validating data: kind not set" >expect &&
	test_cmp expect err &&
	! kpctl apply -f missing.yaml 2>err &&
	echo "error: the path \"missing.yaml\" does not exist" >expect &&
	test_cmp expect err &&
	printf "apiVersion: v1\nkind: Widget\nmetadata:\n  name: w\n" >widget.yaml &&
	! kpctl apply -f widget.yaml 2>err &&
	printf "%s\n%s\n" "error: resource mapping not found for name: \"w\" namespace: \"\" from \"widget.yaml\": no matches for kind \"Widget\" in version \"v1\"" "ensure CRDs are installed first" >expect &&
	test_cmp expect err &&
	! kpctl apply 2>err &&
	grep "^error: must specify one of -f and -k$" err
'

test_expect_success 'create of an existing object: AlreadyExists with the file' '
	kpctl create -f dir/b-cm.json >out 2>err
	test $? -eq 1 &&
	cat >expect <<-\EOF &&
	Error from server (AlreadyExists): error when creating "dir/b-cm.json": configmaps "cfg" already exists
	Error from server (AlreadyExists): error when creating "dir/b-cm.json": configmaps "cfg2" already exists
	EOF
	test_cmp expect err && test ! -s out
'

test_expect_success 'create namespace NAME' '
	kpctl create namespace team-a >out &&
	echo "namespace/team-a created" >expect && test_cmp expect out
'

test_expect_success 'replace' '
	printf "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  k: replaced\n" >r.yaml &&
	kpctl replace -f r.yaml >out &&
	echo "configmap/cfg replaced" >expect && test_cmp expect out &&
	kpctl get cm cfg -o yaml | grep "^  k: replaced$" &&
	printf "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ghost\n" >g.yaml &&
	! kpctl replace -f g.yaml 2>err &&
	echo "Error from server (NotFound): error when replacing \"g.yaml\": configmaps \"ghost\" not found" >expect &&
	test_cmp expect err
'

test_expect_success 'replace with a stale resourceVersion: Conflict' '
	kpctl get cm cfg2 -o json >cur.json &&
	rv=$(sed -n "s/.*\"resourceVersion\": \"\([0-9]*\)\".*/\1/p" cur.json) &&
	printf "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg2\n  resourceVersion: \"%s\"\ndata: {a: b}\n" "$rv" >v1.yaml &&
	kpctl replace -f v1.yaml >/dev/null &&
	! kpctl replace -f v1.yaml 2>err &&
	grep "^Error from server (Conflict): error when replacing \"v1.yaml\": " err
'

test_expect_success 'delete by name, twice' '
	kpctl delete cm fromstdin >out &&
	echo "configmap \"fromstdin\" deleted" >expect && test_cmp expect out &&
	! kpctl delete cm fromstdin 2>err &&
	echo "Error from server (NotFound): configmaps \"fromstdin\" not found" >expect && test_cmp expect err &&
	kpctl delete cm fromstdin --ignore-not-found >out 2>err &&
	test ! -s out && test ! -s err
'

test_expect_success 'delete -l and the no-match message' '
	kpctl create namespace lab >/dev/null &&
	printf "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: l1\n  namespace: lab\n  labels: {x: z}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: l2\n  namespace: lab\n" | kpctl create -f - >/dev/null &&
	kpctl -n lab delete cm -l x=z >out &&
	echo "configmap \"l1\" deleted" >expect && test_cmp expect out &&
	kpctl -n lab delete cm -l x=z >out &&
	echo "No resources found" >expect && test_cmp expect out &&
	kpctl -n lab get cm -o name >out &&
	echo "configmap/l2" >expect && test_cmp expect out
'

test_expect_success 'delete needs a name, -l or --all' '
	! kpctl delete cm 2>err &&
	echo "error: resource(s) were provided, but no name was specified" >expect && test_cmp expect err &&
	kpctl -n lab delete cm --all >out &&
	echo "configmap \"l2\" deleted" >expect && test_cmp expect out &&
	! kpctl delete cm x -l a=b 2>err && grep "^error: " err &&
	! kpctl delete 2>err && grep "^You must provide one or more resources" err
'

test_expect_success 'delete -f' '
	kpctl delete -R -f dir >out &&
	cat >expect <<-\EOF &&
	deployment.apps "web" deleted
	configmap "cfg" deleted
	configmap "cfg2" deleted
	service "web" deleted
	EOF
	test_cmp expect out &&
	! kpctl delete -f dir 2>err &&
	grep "^Error from server (NotFound): error when deleting \"dir/a-deploy.yaml\": deployments.apps \"web\" not found$" err
'

test_expect_success 'delete --cascade validated' '
	! kpctl delete cm x --cascade=sometimes 2>err &&
	grep "invalid cascade value (sometimes)" err
'

test_done

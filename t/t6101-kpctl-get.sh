#!/bin/sh
test_description='kpctl get: tables, output formats, selectors and errors'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t6lib-kpctl.sh"

kpctl_start_server || kpctl_skip_all "kplane server is not available"

cat >objs.yaml <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: web-1
  labels: {app: web, tier: fe}
spec:
  containers:
  - name: c
    image: nginx
---
apiVersion: v1
kind: Pod
metadata:
  name: db-0
  labels: {app: db}
spec:
  containers:
  - name: c
    image: postgres
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data: {a: "1", b: "2"}
---
apiVersion: v1
kind: Namespace
metadata:
  name: other
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: elsewhere
  namespace: other
YAML

test_expect_success 'setup: create objects' '
	kpctl create -f objs.yaml >out &&
	cat >expect <<-\EOF &&
	pod/web-1 created
	pod/db-0 created
	configmap/settings created
	namespace/other created
	configmap/elsewhere created
	EOF
	test_cmp expect out
'

test_expect_success 'get pods prints the server table like kubectl' '
	kpctl get pods >out &&
	hide_ages <out >actual &&
	cat >expect <<-\EOF &&
	NAME    READY   STATUS    RESTARTS   AGE
	db-0    0/1     Pending   0          Ns
	web-1   0/1     Pending   0          Ns
	EOF
	test_cmp expect actual
'

test_expect_success 'short name, kind and plural all resolve' '
	kpctl get po -o name >a &&
	kpctl get Pod -o name >b &&
	kpctl get pods -o name >c &&
	printf "pod/db-0\npod/web-1\n" >expect &&
	test_cmp expect a && test_cmp expect b && test_cmp expect c
'

test_expect_success 'get -o wide adds the priority columns' '
	kpctl get po web-1 -o wide >out &&
	hide_ages <out >actual &&
	cat >expect <<-\EOF &&
	NAME    READY   STATUS    RESTARTS   AGE   IP       NODE     NOMINATED NODE   READINESS GATES
	web-1   0/1     Pending   0          Ns    <none>   <none>   <none>           <none>
	EOF
	test_cmp expect actual
'

test_expect_success 'get -A adds NAMESPACE' '
	kpctl get cm -A >out &&
	hide_ages <out >actual &&
	cat >expect <<-\EOF &&
	NAMESPACE   NAME        DATA   AGE
	default     settings    2      Ns
	other       elsewhere   0      Ns
	EOF
	test_cmp expect actual
'

test_expect_success 'two kinds: one table each, names prefixed, blank line between' '
	kpctl get cm,po >out &&
	hide_ages <out >actual &&
	cat >expect <<-\EOF &&
	NAME                 DATA   AGE
	configmap/settings   2      Ns

	NAME        READY   STATUS    RESTARTS   AGE
	pod/db-0    0/1     Pending   0          Ns
	pod/web-1   0/1     Pending   0          Ns
	EOF
	test_cmp expect actual
'

test_expect_success 'label and field selectors' '
	kpctl get po -l app=web -o name >a &&
	echo pod/web-1 >expect && test_cmp expect a &&
	kpctl get po -l "app in (web,db),tier!=fe" -o name >b &&
	echo pod/db-0 >expect && test_cmp expect b &&
	kpctl get po --field-selector metadata.name=db-0 -o name >c &&
	echo pod/db-0 >expect && test_cmp expect c
'

test_expect_success 'malformed selectors are refused before any request' '
	! kpctl get po -l "a in (b" 2>err &&
	grep "^error: unable to parse requirement: " err &&
	! kpctl get po --field-selector "a~b" 2>err &&
	grep "^error: invalid field selector \"a~b\": " err &&
	! kpctl --server http://127.0.0.1:1 delete po -l "x=(" 2>err &&
	grep "^error: unable to parse requirement: " err
'

test_expect_success 'no match: message on stderr, exit 0' '
	kpctl get po -l app=none >out 2>err &&
	test ! -s out &&
	echo "No resources found in default namespace." >expect &&
	test_cmp expect err &&
	kpctl get po -A -l app=none 2>err2 &&
	echo "No resources found" >expect2 &&
	test_cmp expect2 err2
'

test_expect_success '-n selects the namespace' '
	kpctl -n other get cm elsewhere -o name >a &&
	kpctl get cm elsewhere --namespace=other -o name >b &&
	echo configmap/elsewhere >expect &&
	test_cmp expect a && test_cmp expect b
'

test_expect_success '-o json of one object is the object' '
	kpctl get cm settings -o json >out &&
	head -n 1 out >first && echo "{" >expect && test_cmp expect first &&
	grep "^    \"kind\": \"ConfigMap\",$" out &&
	grep "^        \"name\": \"settings\",$" out &&
	! grep "\"items\"" out
'

test_expect_success '-o json of a list is a List with items' '
	kpctl get po -o json >out &&
	grep "^    \"kind\": \"List\",$" out &&
	grep "^    \"apiVersion\": \"v1\",$" out &&
	grep "^            \"kind\": \"Pod\",$" out >kinds &&
	test $(wc -l <kinds) -eq 2 &&
	grep "^        \"resourceVersion\": \"\"$" out
'

test_expect_success '-o yaml: sorted keys' '
	kpctl get cm settings -o yaml >out &&
	cat >expect <<-\EOF &&
	apiVersion: v1
	data:
	  a: "1"
	  b: "2"
	kind: ConfigMap
	EOF
	head -n 5 out >actual &&
	test_cmp expect actual &&
	grep "^  name: settings$" out
'

test_expect_success 'TYPE/NAME arguments; --no-headers drops the blank line too' '
	kpctl get pod/db-0 configmap/settings --no-headers >out &&
	hide_ages <out >actual &&
	cat >expect <<-\EOF &&
	pod/db-0   0/1   Pending   0     Ns
	configmap/settings   2     Ns
	EOF
	test_cmp expect actual
'

test_expect_success 'missing object: kubectl error, exit 1, others still printed' '
	test_must_fail_out() { "$@" >out 2>err; test $? -eq 1; } &&
	test_must_fail_out kpctl get po web-1 nope -o name &&
	echo pod/web-1 >expect && test_cmp expect out &&
	echo "Error from server (NotFound): pods \"nope\" not found" >expect && test_cmp expect err
'

test_expect_success '--ignore-not-found' '
	kpctl get po nope --ignore-not-found >out 2>err &&
	test ! -s out && test ! -s err
'

test_expect_success 'unknown resource type' '
	! kpctl get widgets 2>err &&
	echo "error: the server doesn'"'"'t have a resource type \"widgets\"" >expect &&
	test_cmp expect err
'

test_expect_success 'usage errors: no type, bad -o, unknown flag' '
	! kpctl get 2>err &&
	grep "^error: Required resource not specified.$" err &&
	grep "^See '"'"'kpctl get -h'"'"' for help and examples$" err &&
	! kpctl get po -o bogus 2>err &&
	grep "^error: unable to match a printer suitable for the output format \"bogus\"" err &&
	! kpctl get po --bogus 2>err &&
	printf "error: unknown flag: --bogus\nSee '"'"'kpctl get --help'"'"' for usage.\n" >expect &&
	test_cmp expect err &&
	! kpctl get po -n 2>err &&
	grep "flag needs an argument: '"'"'n'"'"' in -n" err
'

test_expect_success 'cluster-scoped kinds ignore -n' '
	kpctl get ns other -n default -o name >out &&
	echo namespace/other >expect && test_cmp expect out
'

test_expect_success 'unreachable server: kubectl wording, exit 1' '
	kpctl --server http://127.0.0.1:1 get po >out 2>err
	test $? -eq 1 &&
	echo "The connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?" >expect &&
	test_cmp expect err
'

test_done

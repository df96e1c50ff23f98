#!/bin/sh
test_description='kpctl get -o jsonpath|custom-columns, --sort-by, -L, --show-labels'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t6lib-kpctl.sh"

kpctl_start_server || kpctl_skip_all "kplane server is not available"

# Three pods whose names sort differently by name, by node and by grace
# period, with two containers each and labels that need FormatLabels' order.
cat >pods.yaml <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: p2
  labels: {app: web, app.kubernetes.io/name: shop}
spec:
  nodeName: node-b
  terminationGracePeriodSeconds: 5
  containers:
  - {name: main, image: nginx:1.25}
  - {name: side, image: envoy:1.30}
---
apiVersion: v1
kind: Pod
metadata:
  name: p10
  labels: {app: db}
spec:
  nodeName: node-c
  terminationGracePeriodSeconds: 120
  containers:
  - {name: main, image: postgres:16}
  - {name: side, image: envoy:1.30}
---
apiVersion: v1
kind: Pod
metadata:
  name: a1
  labels: {app: web}
spec:
  nodeName: node-a
  terminationGracePeriodSeconds: 30
  containers:
  - {name: main, image: nginx:1.25}
  - {name: side, image: busybox}
YAML

# (single quotes cannot appear inside a test body)
printf "%s" "{.spec.containers[*]['name','image']}" >union.jsonpath

test_expect_success 'setup' '
	kpctl apply -f pods.yaml >/dev/null
'

test_expect_success 'jsonpath: fields, [*], the List of a get without names' '
	kpctl get pods -o jsonpath="{.kind} {.items[*].metadata.name}" >out &&
	printf "List a1 p10 p2" >expect && test_cmp expect out &&
	kpctl get pod p2 -o jsonpath="{.kind}/{.metadata.name}: {.spec.containers[*].image}" >out &&
	printf "Pod/p2: nginx:1.25 envoy:1.30" >expect && test_cmp expect out
'

test_expect_success 'jsonpath: range, string literals with escapes, nested paths' '
	kpctl get pods -o jsonpath="{range .items[*]}{.metadata.name}{\"\\t\"}{.spec.nodeName}{\"\\n\"}{end}" >out &&
	printf "a1\tnode-a\np10\tnode-c\np2\tnode-b\n" >expect && test_cmp expect out &&
	kpctl get pod p2 -o jsonpath="{range .spec.containers[*]}[{.name}={.image}]{end}" >out &&
	printf "[main=nginx:1.25][side=envoy:1.30]" >expect && test_cmp expect out
'

test_expect_success 'jsonpath: filters ==, !=, <, >=, existence' '
	kpctl get pods -o jsonpath="{.items[?(@.spec.nodeName==\"node-c\")].metadata.name}" >out &&
	printf "p10" >expect && test_cmp expect out &&
	kpctl get pod a1 -o jsonpath="{.spec.containers[?(@.image!=\"busybox\")].name}" >out &&
	printf "main" >expect && test_cmp expect out &&
	kpctl get pods -o jsonpath="{.items[?(@.spec.terminationGracePeriodSeconds<30)].metadata.name}|{.items[?(@.spec.terminationGracePeriodSeconds>=30)].metadata.name}" >out &&
	printf "p2|a1 p10" >expect && test_cmp expect out &&
	kpctl get pods -o jsonpath="{.items[?(@.metadata.labels.app\\.kubernetes\\.io/name)].metadata.name}" >out &&
	printf "p2" >expect && test_cmp expect out
'

test_expect_success 'jsonpath: indexes, negative indexes, slices, unions' '
	kpctl get pods -o jsonpath="{.items[0].metadata.name} {.items[-1].metadata.name} {.items[0:2].metadata.name} {.items[::2].metadata.name}" >out &&
	printf "a1 p2 a1 p10 a1 p2" >expect && test_cmp expect out &&
	kpctl get pods -o jsonpath="{.items[2,0].metadata.name}" >out &&
	printf "p2 a1" >expect && test_cmp expect out &&
	# a union takes each member over every element: all names, then all images
	kpctl get pod p2 -o jsonpath-file=union.jsonpath >out &&
	printf "main side nginx:1.25 envoy:1.30" >expect && test_cmp expect out
'

test_expect_success 'jsonpath: maps and lists print as compact JSON, numbers and booleans as Go' '
	kpctl get pod p2 -o jsonpath="{.metadata.labels} {.spec.containers[1]} {.spec.terminationGracePeriodSeconds}" >out &&
	printf "%s" "{\"app\":\"web\",\"app.kubernetes.io/name\":\"shop\"} " >expect &&
	kpctl get pod p2 -o json | jq -cS ".spec.containers[1]" | tr -d "\n" >>expect &&
	printf " 5" >>expect &&
	test_cmp expect out
'

test_expect_success 'jsonpath: recursive descent, $ and @, missing fields print nothing' '
	kpctl get pod a1 -o jsonpath="{..image}|{\$.metadata.name}|{@.kind}|{.spec.nothing}|{.metadata.name.x}" >out &&
	printf "nginx:1.25 busybox|a1|Pod||" >expect && test_cmp expect out
'

test_expect_success 'jsonpath: errors as kubectl words them, exit 1' '
	! kpctl get pod a1 -o jsonpath="{.spec.containers[5].name}" >out 2>err &&
	echo "error: error executing jsonpath \"{.spec.containers[5].name}\": Error executing template: array index out of bounds: index 5, length 2" >expect &&
	test_cmp expect err &&
	! kpctl get pod a1 -o jsonpath="{.metadata.name" 2>err &&
	echo "error: error parsing jsonpath {.metadata.name, unclosed action" >expect && test_cmp expect err &&
	! kpctl get pod a1 -o jsonpath="{.a[x]}" 2>err &&
	echo "error: error parsing jsonpath {.a[x]}, invalid array index x" >expect && test_cmp expect err &&
	! kpctl get pod a1 -o jsonpath="{end}" 2>err &&
	grep "not in range, nothing to end" err &&
	! kpctl get pod a1 -o jsonpath 2>err &&
	echo "error: template format specified but no template given" >expect && test_cmp expect err
'

test_expect_success 'jsonpath-file reads the template from a file' '
	printf "{range .items[*]}{.metadata.name} {end}" >t.jsonpath &&
	kpctl get pods -o jsonpath-file=t.jsonpath >out &&
	printf "a1 p10 p2 " >expect && test_cmp expect out &&
	! kpctl get pods -o jsonpath-file=missing.txt 2>err &&
	grep "^error: error reading template missing.txt" err
'

test_expect_success 'custom-columns: header as given, several values joined by commas, <none>' '
	kpctl get pods -o custom-columns="NAME:.metadata.name,IMAGES:.spec.containers[*].image,NODE:spec.nodeName,X:{.nothing}" >out &&
	cat >expect <<-\EOF &&
	NAME   IMAGES                   NODE     X
	a1     nginx:1.25,busybox       node-a   <none>
	p10    postgres:16,envoy:1.30   node-c   <none>
	p2     nginx:1.25,envoy:1.30    node-b   <none>
	EOF
	test_cmp expect out &&
	kpctl get pod p2 -o custom-columns=L:.metadata.labels --no-headers >out &&
	echo "map[app:web app.kubernetes.io/name:shop]" >expect && test_cmp expect out
'

test_expect_success 'custom-columns-file and bad specs' '
	printf "NAME    GRACE\n.metadata.name   .spec.terminationGracePeriodSeconds\n" >cols &&
	kpctl get pods -o custom-columns-file=cols >out &&
	cat >expect <<-\EOF &&
	NAME   GRACE
	a1     30
	p10    120
	p2     5
	EOF
	test_cmp expect out &&
	! kpctl get pods -o custom-columns=NAME 2>err &&
	echo "error: unexpected custom-columns spec: NAME, expected <header>:<json-path-expr>" >expect &&
	test_cmp expect err &&
	! kpctl get pods -o custom-columns= 2>err &&
	echo "error: custom-columns format specified but no custom columns given" >expect && test_cmp expect err
'

test_expect_success '--sort-by orders tables, names, JSON lists; numbers by value' '
	kpctl get pods --sort-by=.spec.nodeName -o name >out &&
	printf "pod/a1\npod/p2\npod/p10\n" >expect && test_cmp expect out &&
	kpctl get pods --sort-by="{.spec.terminationGracePeriodSeconds}" -o custom-columns=N:.metadata.name --no-headers >out &&
	printf "p2\na1\np10\n" >expect && test_cmp expect out &&
	kpctl get pods --sort-by=.spec.terminationGracePeriodSeconds -o json | jq -r ".items[].metadata.name" >out &&
	test_cmp expect out &&
	kpctl get pods --sort-by=.spec.nodeName --no-headers | awk "{print \$1}" >out &&
	printf "a1\np2\np10\n" >expect && test_cmp expect out &&
	# strings compare byte by byte, as kubectl 1.32 prints them
	kpctl get pods --sort-by=.metadata.name -o name >out &&
	printf "pod/a1\npod/p10\npod/p2\n" >expect && test_cmp expect out &&
	! kpctl get pods --sort-by="{{.x}}" 2>err &&
	grep "unexpected path string" err
'

test_expect_success '-L adds label columns (last path segment), --show-labels sorts key=value' '
	kpctl get pods -L app -L app.kubernetes.io/name,none --show-labels --no-headers | hide_ages >out &&
	# tabwriter cells: width + 3, at least 6; the empty NONE column is 6 wide
	f="%-6s%-6s%-10s%-6s%-6s%-6s%-7s%-6s%s\n" &&
	printf "$f" a1 0/2 Pending 0 Ns web "" "" app=web >expect &&
	printf "$f" p10 0/2 Pending 0 Ns db "" "" app=db >>expect &&
	printf "$f" p2 0/2 Pending 0 Ns web shop "" app.kubernetes.io/name=shop,app=web >>expect &&
	test_cmp expect out &&
	kpctl get pods -L app.kubernetes.io/name | head -n 1 >out &&
	echo "NAME   READY   STATUS    RESTARTS   AGE   NAME" >expect && test_cmp expect out
'

test_expect_success '-w with custom-columns and jsonpath prints the listed objects, aligned' '
	timeout 2 kpctl get pods -w -o custom-columns=N:.metadata.name,NODE:.spec.nodeName >out;
	printf "%s\n" "N     NODE" "a1    node-a" "p10   node-c" "p2    node-b" >expect &&
	test_cmp expect out &&
	timeout 2 kpctl get pods -w -o jsonpath="{.metadata.name};" >out;
	printf "a1;p10;p2;" >expect && test_cmp expect out
'

test_expect_success 'go templates are refused with a pointer to jsonpath' '
	! kpctl get pods -o go-template="{{.kind}}" 2>err &&
	grep "^error: kpctl does not implement Go templates (-o go-template); use -o jsonpath=TEMPLATE" err &&
	! kpctl get pods -o bogus 2>err &&
	grep "allowed formats are: custom-columns,custom-columns-file,json,jsonpath,jsonpath-file,name,wide,yaml" err
'

test_expect_success 'the same templates through real kubectl give the same text' '
	if ! command -v kubectl >/dev/null 2>&1; then
		say "kubectl not found: skipping the comparison"; exit 0
	fi
	for tmpl in "{.items[*].metadata.name}" \
		"{range .items[*]}{.metadata.name}{\"\\t\"}{.spec.containers[*].image}{\"\\n\"}{end}" \
		"{.items[?(@.metadata.name==\"p2\")].spec.containers[0]}" \
		"{.items[0].metadata.labels} {..nodeName} {.items[-1:].spec.terminationGracePeriodSeconds}"; do
		timeout 30 kubectl --server "$KPLANE_SERVER" get pods -o jsonpath="$tmpl" >want &&
		kpctl get pods -o jsonpath="$tmpl" >got &&
		test_cmp want got || exit 1
	done &&
	timeout 30 kubectl --server "$KPLANE_SERVER" get pods --sort-by=.spec.nodeName \
		-o custom-columns=NAME:.metadata.name,IMAGES:.spec.containers[*].image,L:.metadata.labels >want &&
	kpctl get pods --sort-by=.spec.nodeName -o custom-columns=NAME:.metadata.name,IMAGES:.spec.containers[*].image,L:.metadata.labels >got &&
	test_cmp want got
'

test_done

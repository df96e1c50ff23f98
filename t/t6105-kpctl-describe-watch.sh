#!/bin/sh
test_description='kpctl describe, events and get -w'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t6lib-kpctl.sh"

kpctl_start_server || kpctl_skip_all "kplane server is not available"

# Ages at least 10 minutes old print as whole minutes: stable while the test runs.
ago() { date -u -d "-$1 seconds" +%Y-%m-%dT%H:%M:%SZ; }

test_expect_success 'setup: a config map, a pod and events about them' '
	cat >objs.yaml <<-EOF &&
	apiVersion: v1
	kind: ConfigMap
	metadata:
	  name: settings
	  labels: {app: web, tier: fe}
	  annotations: {note: hi}
	data: {a: "1"}
	---
	apiVersion: v1
	kind: Pod
	metadata: {name: p}
	spec: {containers: [{name: c, image: nginx}]}
	---
	apiVersion: v1
	kind: Event
	metadata: {name: p.1}
	involvedObject: {kind: Pod, name: p, namespace: default}
	reason: Scheduled
	message: Successfully assigned default/p to n1
	type: Normal
	source: {component: default-scheduler}
	firstTimestamp: "$(ago 10800)"
	lastTimestamp: "$(ago 1200)"
	count: 3
	---
	apiVersion: v1
	kind: Event
	metadata: {name: p.2}
	involvedObject: {kind: Pod, name: p, namespace: default}
	reason: BackOff
	message: Back-off pulling image
	type: Warning
	source: {component: kubelet, host: n1}
	firstTimestamp: "$(ago 900)"
	lastTimestamp: "$(ago 900)"
	count: 1
	---
	apiVersion: v1
	kind: Event
	metadata: {name: other.1}
	involvedObject: {kind: ConfigMap, name: other, namespace: default}
	reason: Other
	message: not about p
	type: Normal
	firstTimestamp: "$(ago 720)"
	lastTimestamp: "$(ago 720)"
	EOF
	kpctl create -f objs.yaml >/dev/null
'

test_expect_success 'describe: generic layout, header block aligned' '
	kpctl describe cm settings >out &&
	cat >expect <<-\EOF &&
	Name:         settings
	Namespace:    default
	Labels:       app=web
	              tier=fe
	Annotations:  note: hi
	API Version:  v1
	Data:
	  A:   1
	Kind:  ConfigMap
	Metadata:
	EOF
	head -n 10 out >actual &&
	test_cmp expect actual &&
	grep "^  Creation Timestamp:  [0-9-]*T[0-9:]*Z$" out &&
	grep "^  UID:                 " out &&
	tail -n 1 out >last && echo "Events:                <none>" >expect && test_cmp expect last
'

test_expect_success 'describe pod: its events only, oldest first, repeated ones counted' '
	kpctl describe po p >out &&
	sed -n "/^Events:/,\$p" out >actual &&
	cat >expect <<-\EOF &&
	Events:
	  Type     Reason     Age               From               Message
	  ----     ------     ----              ----               -------
	  Normal   Scheduled  20m (x3 over 3h)  default-scheduler  Successfully assigned default/p to n1
	  Warning  BackOff    15m               kubelet, n1        Back-off pulling image
	EOF
	test_cmp expect actual &&
	grep "^  Containers:$" out && grep "^    Image:  *nginx$" out
'

test_expect_success 'describe: --show-events=false, errors' '
	kpctl describe po p --show-events=false >out &&
	! grep "^Events" out &&
	! kpctl describe po nope 2>err &&
	echo "Error from server (NotFound): pods \"nope\" not found" >expect && test_cmp expect err &&
	! kpctl describe 2>err && grep "You must specify the type of resource to describe" err
'

test_expect_success 'events: kubectl events columns' '
	kpctl events >out &&
	cat >expect <<-\EOF &&
	LAST SEEN          TYPE      REASON      OBJECT            MESSAGE
	20m (x3 over 3h)   Normal    Scheduled   pod/p             Successfully assigned default/p to n1
	15m                Warning   BackOff     pod/p             Back-off pulling image
	12m                Normal    Other       configmap/other   not about p
	EOF
	test_cmp expect out &&
	kpctl events --for pod/p --types Warning >out &&
	cat >expect <<-\EOF &&
	LAST SEEN   TYPE      REASON    OBJECT   MESSAGE
	15m         Warning   BackOff   pod/p    Back-off pulling image
	EOF
	test_cmp expect out &&
	kpctl events -n kube-system 2>err &&
	echo "No events found in kube-system namespace." >expect && test_cmp expect err &&
	! kpctl events --types Bad 2>err && grep "valid --types are Normal or Warning" err
'

wait_for() { # file pattern: waits up to 10s for a line
	i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 100 ] && return 1
		sleep 0.1
	done
}

test_expect_success 'get -w: the list, then one row per event' '
	kpctl get cm -w >w.out 2>w.err &
	wpid=$! &&
	test_when_finished "kill $wpid 2>/dev/null" &&
	wait_for w.out "^settings " &&
	printf "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a-much-longer-name\ndata: {x: \"1\", z: \"2\"}\n" | kpctl apply -f - >/dev/null &&
	wait_for w.out "^a-much-longer-name " &&
	kpctl delete cm settings >/dev/null &&
	wait_for w.out "^settings .*" &&
	sleep 0.3 &&
	kill $wpid &&
	hide_ages <w.out >actual &&
	cat >expect <<-\EOF &&
	NAME       DATA   AGE
	settings   1      Ns
	a-much-longer-name   2      Ns
	settings             1      Ns
	EOF
	test_cmp expect actual
'

test_expect_success 'get -w -o name and --watch-only' '
	kpctl get po --watch-only -o name >w2.out 2>&1 &
	wpid=$! &&
	test_when_finished "kill $wpid 2>/dev/null" &&
	sleep 0.5 &&
	printf "apiVersion: v1\nkind: Pod\nmetadata:\n  name: q\nspec:\n  containers: [{name: c, image: i}]\n" | kpctl create -f - >/dev/null &&
	wait_for w2.out "^pod/q$" &&
	kill $wpid &&
	echo pod/q >expect && test_cmp expect w2.out
'

test_expect_success 'get -w -o yaml: listed objects one by one, --- between them' '
	timeout 2 kpctl get ns -w -o yaml >y.out
	test $? -eq 124 &&
	kpctl get ns -o name >names &&
	n=$(wc -l <names) &&
	test $(grep -c "^---$" y.out) -eq $((n - 1)) &&
	test $(grep -c "^kind: Namespace$" y.out) -eq $n &&
	head -n 1 y.out >first && echo "apiVersion: v1" >expect && test_cmp expect first
'

test_expect_success 'get -w with two types is refused' '
	! kpctl get po,cm -w 2>err &&
	echo "error: you may only specify a single resource type" >expect && test_cmp expect err
'

test_done

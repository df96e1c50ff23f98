#!/bin/sh
test_description='kpctl taint, cordon, uncordon and drain'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t6lib-kpctl.sh"

kpctl_start_server || kpctl_skip_all "kplane server is not available"

pods_on() { # node: the pods of a node as ns/name, sorted
	kpctl get po -A --field-selector spec.nodeName=$1 -o json |
	sed -n "s/^                \"name\": \"\(.*\)\",$/\1/p" | sort
}

test_expect_success 'setup: two nodes' '
	printf "apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n---\napiVersion: v1\nkind: Node\nmetadata:\n  name: n2\n" >nodes.yaml &&
	kpctl create -f nodes.yaml >/dev/null
'

test_expect_success 'taint add, conflict, overwrite, remove' '
	kpctl taint nodes n1 dedicated=gpu:NoSchedule >out &&
	echo "node/n1 tainted" >expect && test_cmp expect out &&
	! kpctl taint nodes n1 dedicated=cpu:NoSchedule 2>err &&
	echo "error: node n1 already has dedicated taint(s) with same effect(s) and --overwrite is false" >expect &&
	test_cmp expect err &&
	kpctl taint nodes n1 dedicated=cpu:NoSchedule --overwrite >out &&
	echo "node/n1 modified" >expect && test_cmp expect out &&
	kpctl taint no n1 evict:NoExecute >out && echo "node/n1 tainted" >expect && test_cmp expect out &&
	kpctl get no n1 -o yaml >y &&
	grep "^  - effect: NoSchedule$" y && grep "^    value: cpu$" y &&
	grep "^    key: evict$" y && grep "^    timeAdded: " y &&
	kpctl taint nodes n1 dedicated:NoSchedule- >out &&
	echo "node/n1 untainted" >expect && test_cmp expect out &&
	! kpctl taint nodes n1 dedicated:NoSchedule- 2>err &&
	echo "error: taint \"dedicated:NoSchedule\" not found" >expect && test_cmp expect err &&
	kpctl taint nodes n1 a=b:PreferNoSchedule evict- >out &&
	echo "node/n1 modified" >expect && test_cmp expect out &&
	kpctl get no n1 -o yaml >y && ! grep "evict" y && grep "^    key: a$" y
'

test_expect_success 'taint: bad specs' '
	! kpctl taint nodes n1 k=v:Sometimes 2>err &&
	grep "^error: invalid taint effect: Sometimes, unsupported taint effect$" err &&
	! kpctl taint nodes n1 k=v 2>err && grep "^error: invalid taint spec: k=v" err &&
	! kpctl taint nodes n1 2>err && grep "at least one taint update is required" err &&
	! kpctl taint pods n1 k=v:NoSchedule 2>err && grep "only node types are supported" err &&
	! kpctl taint nodes nope k=v:NoSchedule 2>err &&
	echo "Error from server (NotFound): nodes \"nope\" not found" >expect && test_cmp expect err
'

test_expect_success 'cordon and uncordon, idempotent wording' '
	kpctl cordon n2 >out && echo "node/n2 cordoned" >expect && test_cmp expect out &&
	kpctl cordon n2 >out && echo "node/n2 already cordoned" >expect && test_cmp expect out &&
	kpctl get no n2 -o yaml | grep "^  unschedulable: true$" &&
	kpctl uncordon n2 >out && echo "node/n2 uncordoned" >expect && test_cmp expect out &&
	kpctl uncordon n2 >out && echo "node/n2 already uncordoned" >expect && test_cmp expect out &&
	! kpctl get no n2 -o yaml | grep unschedulable
'

test_expect_success 'setup: pods on n2 (bare, DaemonSet, ReplicaSet)' '
	kpctl create -f - >/dev/null <<-\EOF
	apiVersion: apps/v1
	kind: DaemonSet
	metadata: {name: ds}
	spec:
	  selector: {matchLabels: {app: ds}}
	  template:
	    metadata: {labels: {app: ds}}
	    spec: {containers: [{name: c, image: i}]}
	---
	apiVersion: v1
	kind: Pod
	metadata: {name: bare}
	spec: {nodeName: n2, containers: [{name: c, image: i}]}
	---
	apiVersion: v1
	kind: Pod
	metadata:
	  name: dsp
	  ownerReferences: [{apiVersion: apps/v1, kind: DaemonSet, name: ds, uid: 11111111-1111-1111-1111-111111111111, controller: true}]
	spec: {nodeName: n2, containers: [{name: c, image: i}]}
	---
	apiVersion: v1
	kind: Pod
	metadata:
	  name: rsp
	  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: rs, uid: 21111111-1111-1111-1111-111111111111, controller: true}]
	spec: {nodeName: n2, containers: [{name: c, image: i}]}
	---
	apiVersion: v1
	kind: Pod
	metadata: {name: elsewhere}
	spec: {nodeName: n1, containers: [{name: c, image: i}]}
	EOF
'

test_expect_success 'drain refuses bare and DaemonSet pods, cordons anyway' '
	kpctl drain n2 >out 2>err
	test $? -eq 1 &&
	echo "node/n2 cordoned" >expect && test_cmp expect out &&
	cat >expect <<-\EOF &&
	error: unable to drain node "n2" due to error: [cannot delete Pods that declare no controller (use --force to override): default/bare, cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): default/dsp], continuing command...
	There are pending nodes to be drained:
	 n2
	cannot delete Pods that declare no controller (use --force to override): default/bare
	cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): default/dsp
	EOF
	test_cmp expect err &&
	pods_on n2 >actual && printf "bare\ndsp\nrsp\n" >expect && test_cmp expect actual
'

test_expect_success 'drain --ignore-daemonsets --force evicts the rest' '
	kpctl drain n2 --ignore-daemonsets --force >out 2>err &&
	cat >expect <<-\EOF &&
	node/n2 already cordoned
	evicting pod default/bare
	evicting pod default/rsp
	pod/bare evicted
	pod/rsp evicted
	node/n2 drained
	EOF
	test_cmp expect out &&
	cat >expect <<-\EOF &&
	Warning: ignoring DaemonSet-managed Pods: default/dsp
	Warning: deleting Pods that declare no controller: default/bare
	EOF
	test_cmp expect err &&
	pods_on n2 >actual && echo dsp >expect && test_cmp expect actual &&
	pods_on n1 >actual && echo elsewhere >expect && test_cmp expect actual
'

test_expect_success 'drain: argument errors' '
	! kpctl drain 2>err && grep "USAGE: drain NODE" err &&
	! kpctl drain nope 2>err &&
	echo "Error from server (NotFound): nodes \"nope\" not found" >expect && test_cmp expect err
'

test_done

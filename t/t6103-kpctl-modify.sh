#!/bin/sh
test_description='kpctl label, annotate, patch and scale'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t6lib-kpctl.sh"

kpctl_start_server || kpctl_skip_all "kplane server is not available"

test_expect_success 'setup' '
	cat >objs.yaml <<-\EOF &&
	apiVersion: v1
	kind: Pod
	metadata:
	  name: p
	  labels: {app: web}
	spec:
	  containers:
	  - {name: c, image: nginx}
	---
	apiVersion: apps/v1
	kind: Deployment
	metadata:
	  name: web
	spec:
	  replicas: 1
	  selector:
	    matchLabels: {app: web}
	  template:
	    metadata:
	      labels: {app: web}
	    spec:
	      containers:
	      - {name: c, image: nginx}
	EOF
	kpctl create -f objs.yaml >/dev/null
'

test_expect_success 'label: add, same value, conflict, overwrite, remove' '
	kpctl label po p tier=fe >out && echo "pod/p labeled" >expect && test_cmp expect out &&
	kpctl label po p tier=fe >out && echo "pod/p not labeled" >expect && test_cmp expect out &&
	! kpctl label po p tier=be 2>err &&
	echo "error: '"'"'tier'"'"' already has a value (fe), and --overwrite is false" >expect && test_cmp expect err &&
	kpctl label po p tier=be --overwrite >out && echo "pod/p labeled" >expect && test_cmp expect out &&
	kpctl get po p --show-labels --no-headers >out && grep "  app=web,tier=be$" out &&
	kpctl label pod/p tier- >out && echo "pod/p unlabeled" >expect && test_cmp expect out &&
	kpctl label po p tier- >out &&
	printf "label \"tier\" not found.\npod/p not labeled\n" >expect && test_cmp expect out
'

test_expect_success 'label: invalid keys and values are refused before any request' '
	! kpctl label po p "bad key=x" 2>err && grep "^error: invalid label spec: bad key=x: " err &&
	! kpctl label po p "k=bad value" 2>err && grep "^error: invalid label spec: k=bad value: " err &&
	! kpctl label po p 2>err && grep "at least one label update is required" err &&
	! kpctl label po p a=1 a- 2>err && grep "can not both modify and remove" err &&
	! kpctl label po nope a=1 2>err &&
	echo "Error from server (NotFound): pods \"nope\" not found" >expect && test_cmp expect err
'

test_expect_success 'label -l and --all' '
	kpctl label po --all stage=one >out && echo "pod/p labeled" >expect && test_cmp expect out &&
	kpctl label po -l app=web stage=two --overwrite >out && echo "pod/p labeled" >expect && test_cmp expect out &&
	kpctl label po p --list >out && grep "^stage=two$" out
'

test_expect_success 'annotate' '
	kpctl annotate po p note="hello world" >out && echo "pod/p annotated" >expect && test_cmp expect out &&
	! kpctl annotate po p note=x 2>err &&
	echo "error: --overwrite is false but found the following declared annotation(s): '"'"'note'"'"' already has a value (hello world)" >expect &&
	test_cmp expect err &&
	kpctl annotate po p note=x --overwrite >/dev/null &&
	kpctl get po p -o yaml | grep "^    note: x$" &&
	kpctl annotate po p note- >out && echo "pod/p annotated" >expect && test_cmp expect out &&
	! kpctl get po p -o yaml | grep "note:"
'

test_expect_success 'patch: strategic (default), merge, json; no change' '
	kpctl patch po p -p "{\"metadata\":{\"labels\":{\"x\":\"1\"}}}" >out &&
	echo "pod/p patched" >expect && test_cmp expect out &&
	kpctl patch po p -p "{\"metadata\":{\"labels\":{\"x\":\"1\"}}}" >out &&
	echo "pod/p patched (no change)" >expect && test_cmp expect out &&
	kpctl patch po p --type merge -p "{\"metadata\":{\"labels\":{\"x\":null}}}" >out &&
	echo "pod/p patched" >expect && test_cmp expect out &&
	kpctl patch po p --type json -p "[{\"op\":\"add\",\"path\":\"/metadata/labels/j\",\"value\":\"k\"}]" >out &&
	echo "pod/p patched" >expect && test_cmp expect out &&
	kpctl get po p --show-labels --no-headers >out && grep "  app=web,j=k,stage=two$" out
'

test_expect_success 'patch: YAML patch and --patch-file' '
	printf "metadata:\n  labels:\n    y: \"2\"\n" >p.yaml &&
	kpctl patch po p --patch-file p.yaml >out && echo "pod/p patched" >expect && test_cmp expect out &&
	kpctl patch deploy web -p "spec: {replicas: 2}" >out &&
	echo "deployment.apps/web patched" >expect && test_cmp expect out
'

test_expect_success 'patch: argument errors' '
	! kpctl patch po p --type bogus -p "{}" 2>err &&
	echo "error: --type must be one of [json merge strategic], not \"bogus\"" >expect && test_cmp expect err &&
	! kpctl patch po p 2>err && grep "must specify exactly one of --patch or --patch-file" err &&
	! kpctl patch po p --type json -p "{}" 2>err && grep "a json patch must be a JSON array" err &&
	! kpctl patch po p -p "{" 2>err && grep "^error: unable to parse \"{\": " err
'

test_expect_success 'scale through the scale subresource' '
	kpctl scale deploy web --replicas=5 >out &&
	echo "deployment.apps/web scaled" >expect && test_cmp expect out &&
	kpctl get deploy web -o yaml | grep "^  replicas: 5$" &&
	! kpctl scale deploy web --replicas=6 --current-replicas=4 2>err &&
	echo "error: Expected replicas to be 4, was 5" >expect && test_cmp expect err &&
	kpctl scale deployment.apps/web --replicas=6 --current-replicas=5 >out &&
	echo "deployment.apps/web scaled" >expect && test_cmp expect out
'

test_expect_success 'scale: argument errors' '
	! kpctl scale deploy web 2>err &&
	echo "error: required flag(s) \"replicas\" not set" >expect && test_cmp expect err &&
	! kpctl scale deploy web --replicas=-1 2>err && grep "COUNT must be greater than or equal to 0" err &&
	! kpctl scale deploy web --replicas=x 2>err && grep "invalid argument \"x\" for \"--replicas\" flag" err &&
	! kpctl scale po p --replicas=2 2>err && grep "does not serve a scale subresource for pods" err
'

test_done

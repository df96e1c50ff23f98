#!/bin/sh
test_description='sched-bench simulate: placements, scores and messages worked out by hand'
. "$(dirname "$0")/test-lib.sh"

cat >cluster.yaml <<'Y'
apiVersion: v1
kind: Node
metadata: {name: n1, labels: {zone: a}}
status: {allocatable: {cpu: "4", memory: 8Gi, pods: "110"}}
---
apiVersion: v1
kind: Node
metadata: {name: n2, labels: {zone: b}}
status: {allocatable: {cpu: "2", memory: 4Gi, pods: "110"}}
---
apiVersion: v1
kind: Node
metadata: {name: n3}
spec: {taints: [{key: dedicated, value: gpu, effect: NoSchedule}]}
status: {allocatable: {cpu: "8", memory: 16Gi, pods: "110"}}
Y
cat >pods.yaml <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: p1}
spec:
  containers: [{name: c, image: nginx, resources: {requests: {cpu: "1", memory: 1Gi}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: p2, namespace: web}
spec:
  containers: [{name: c, image: nginx, resources: {requests: {cpu: "2", memory: 1Gi}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: big}
spec:
  containers: [{name: c, image: nginx, resources: {requests: {cpu: "5"}}}]
Y
# Without preemption, so that the messages are the framework's alone.
cat >nopreempt.yaml <<'Y'
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- plugins:
    multiPoint:
      disabled: [{name: DefaultPreemption}]
Y

# p1 (1 cpu, 1Gi): n3 tainted.
#   n1: fit ((4-1)/4*100=75 + (8-1)/8*100=87)/2 = 81; balance fractions .25/.125 -> 93;
#       total 3*100 + 81 + 93 + 0 = 474
#   n2: fit (50 + 75)/2 = 62; balance .5/.25 -> 87; total 300 + 62 + 87 = 449  -> n1
# p2 (2 cpu, 1Gi), n1 now has 1 cpu / 1Gi requested:
#   n1: fit ((4-3)/4*100=25 + (8-2)/8*100=75)/2 = 50; balance .75/.25 -> 75; total 425
#   n2: fit (0 + 75)/2 = 37; balance 1/.25 -> 62 (62.5); total 399 -> n1
# big (5 cpu): nowhere.
cat >expect <<'Y'
{"pods":[{"namespace":"default","name":"p1","node":"n1","message":"","feasible":["n1","n2"],"filtered":{"n3":"node(s) had untolerated taint {dedicated: gpu}"},"scores":{"n1":{"total":474,"plugins":{"TaintToleration":100,"NodeResourcesFit":81,"NodeResourcesBalancedAllocation":93,"ImageLocality":0}},"n2":{"total":449,"plugins":{"TaintToleration":100,"NodeResourcesFit":62,"NodeResourcesBalancedAllocation":87,"ImageLocality":0}}}},{"namespace":"web","name":"p2","node":"n1","message":"","feasible":["n1","n2"],"filtered":{"n3":"node(s) had untolerated taint {dedicated: gpu}"},"scores":{"n1":{"total":425,"plugins":{"TaintToleration":100,"NodeResourcesFit":50,"NodeResourcesBalancedAllocation":75,"ImageLocality":0}},"n2":{"total":399,"plugins":{"TaintToleration":100,"NodeResourcesFit":37,"NodeResourcesBalancedAllocation":62,"ImageLocality":0}}}},{"namespace":"default","name":"big","node":null,"message":"0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient cpu.","feasible":[],"filtered":{"n1":"Insufficient cpu","n2":"Insufficient cpu","n3":"node(s) had untolerated taint {dedicated: gpu}"},"scores":{}}]}
Y

test_expect_success 'simulate -o json matches the hand-computed result' '
	sched-bench simulate --cluster cluster.yaml --pods pods.yaml --config nopreempt.yaml --seed 1 >out &&
	cmp expect out
'

test_expect_success 'the default profile places the same way' '
	sched-bench simulate --cluster cluster.yaml --pods pods.yaml >out2 &&
	grep -q "\"name\":\"p1\",\"node\":\"n1\"" out2 &&
	grep -q "\"name\":\"p2\",\"node\":\"n1\"" out2 &&
	grep -q "\"name\":\"big\",\"node\":null,\"message\":\"0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient cpu. preemption: " out2
'

test_expect_success 'table output names pods, nodes and reasons' '
	sched-bench simulate --cluster cluster.yaml --pods pods.yaml -o table >table &&
	grep -q "^default/p1 *n1" table &&
	grep -q "^default/big *<none> *0/3 nodes are available" table
'

test_expect_success 'bad config stops with the field named' '
	printf "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- plugins:\n    filter:\n      enabled: [{name: Nope}]\n" >bad.yaml &&
	! sched-bench simulate --cluster cluster.yaml --pods pods.yaml --config bad.yaml 2>err &&
	grep -q "profiles\[0\].plugins.filter.enabled\[0\]: plugin \"Nope\" is not loaded" err
'

test_expect_success 'bad input is refused with a message' '
	printf "kind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: c, resources: {requests: {cpu: huge}}}]}\n" >badpod.yaml &&
	! sched-bench simulate --cluster cluster.yaml --pods badpod.yaml 2>err &&
	grep -q "requests.cpu" err &&
	! sched-bench simulate --cluster missing.yaml --pods pods.yaml 2>err &&
	grep -q "missing.yaml" err
'

test_done

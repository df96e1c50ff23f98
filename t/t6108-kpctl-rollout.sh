#!/bin/sh
# kpctl rollout against a server running the scheduler, the controllers and
# node-sim (KWOK-style fake nodes make pods Running and Ready), so that
# Deployments, StatefulSets and DaemonSets really roll out.
test_description='kpctl rollout status|history|undo|pause|resume|restart'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"
. "$KP_SRC_DIR/t/t4lib-ctl.sh"

start_server --store memory --components api,scheduler,controllers ||
	{ echo "1..0 # SKIP server did not start"; exit 0; }
KPLANE_SERVER=$S
export KPLANE_SERVER

cat >web.yaml <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: c
        image: nginx:1
        ports: [{containerPort: 80}]
        env: [{name: MODE, value: prod}]
EOF

# The only lines kubectl's deployment status viewer prints.
status_lines_ok() {
	grep -v -E '^(Waiting for deployment spec update to be observed\.\.\.|Waiting for deployment "web" rollout to finish: [0-9]+ out of 3 new replicas have been updated\.\.\.|Waiting for deployment "web" rollout to finish: [0-9]+ old replicas are pending termination\.\.\.|Waiting for deployment "web" rollout to finish: [0-9]+ of [0-9]+ updated replicas are available\.\.\.|deployment "web" successfully rolled out)$' "$1" >bad
	test ! -s bad
}

image() {
	kpctl get deploy web -o jsonpath="{.spec.template.spec.containers[0].image}"
}

test_expect_success 'rollout status waits until the Deployment is rolled out' '
	fake_nodes 2 &&
	kpctl apply -f web.yaml >/dev/null &&
	kpctl rollout status deployment/web --timeout=60s >out &&
	tail -n 1 out >last &&
	echo "deployment \"web\" successfully rolled out" >expect && test_cmp expect last &&
	status_lines_ok out &&
	test "$(kpctl get deploy web -o jsonpath="{.status.availableReplicas}")" = 3
'

test_expect_success 'history lists revision 1 with <none> as its change cause' '
	kpctl rollout history deploy web >out &&
	printf "deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         <none>\n\n" >expect &&
	test_cmp expect out
'

test_expect_success 'a new template makes revision 2; CHANGE-CAUSE comes from the ReplicaSet' '
	kpctl patch deploy web --type merge \
		-p "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx:2\"}]}}}}" >/dev/null &&
	kpctl rollout status deploy/web --timeout=60s >out &&
	status_lines_ok out &&
	rs2=$(kpctl get rs -l app=web -o jsonpath="{.items[?(@.metadata.annotations.deployment\.kubernetes\.io/revision==\"2\")].metadata.name}") &&
	test -n "$rs2" &&
	kpctl annotate rs "$rs2" kubernetes.io/change-cause="image nginx:2" >/dev/null &&
	kpctl rollout history deploy/web >out &&
	printf "deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         <none>\n2         image nginx:2\n\n" >expect &&
	test_cmp expect out
'

test_expect_success 'history --revision shows that pod template as kubectl describes it' '
	rs1=$(kpctl get rs -l app=web -o jsonpath="{.items[?(@.metadata.annotations.deployment\.kubernetes\.io/revision==\"1\")].metadata.name}") &&
	hash=${rs1#web-} &&
	kpctl rollout history deploy/web --revision=1 >out &&
	printf "%s\n" "deployment.apps/web with revision #1" "Pod Template:" \
		"  Labels:	app=web" "	pod-template-hash=$hash" "  Containers:" "   c:" \
		"    Image:	nginx:1" "    Port:	80/TCP" "    Host Port:	0/TCP" \
		"    Environment:" "      MODE:	prod" "    Mounts:	<none>" "  Volumes:	<none>" \
		"  Node-Selectors:	<none>" "  Tolerations:	<none>" "" >expect &&
	test_cmp expect out &&
	! kpctl rollout history deploy/web --revision=7 2>err &&
	echo "error: unable to find the specified revision" >expect && test_cmp expect err
'

test_expect_success 'undo goes back to the previous revision, which becomes revision 3' '
	kpctl rollout undo deploy/web >out &&
	echo "deployment.apps/web rolled back" >expect && test_cmp expect out &&
	test "$(image)" = nginx:1 &&
	kpctl rollout status deploy/web --timeout=60s >/dev/null &&
	kpctl rollout history deploy/web | sed -n 3,4p | awk "{print \$1}" >revs &&
	printf "2\n3\n" >expect && test_cmp expect revs
'

test_expect_success 'undo --to-revision: to the current template is skipped, unknown revisions fail' '
	kpctl rollout undo deploy/web --to-revision=3 >out &&
	echo "deployment.apps/web skipped rollback (current template already matches revision 3)" >expect &&
	test_cmp expect out &&
	! kpctl rollout undo deploy/web --to-revision=9 2>err &&
	echo "error: unable to find specified revision 9 in history" >expect && test_cmp expect err &&
	kpctl rollout undo deploy/web --to-revision=2 >out &&
	echo "deployment.apps/web rolled back" >expect && test_cmp expect out &&
	test "$(image)" = nginx:2 &&
	kpctl rollout status deploy/web --timeout=60s >/dev/null
'

test_expect_success 'pause and resume set spec.paused; a paused Deployment refuses undo and restart' '
	kpctl rollout pause deploy/web >out &&
	echo "deployment.apps/web paused" >expect && test_cmp expect out &&
	test "$(kpctl get deploy web -o jsonpath="{.spec.paused}")" = true &&
	! kpctl rollout pause deploy/web 2>err &&
	echo "error: deployments.apps \"web\" is already paused" >expect && test_cmp expect err &&
	! kpctl rollout undo deploy/web 2>err &&
	echo "error: you cannot rollback a paused deployment; resume it first with '\''kpctl rollout resume'\'' and try again" >expect &&
	test_cmp expect err &&
	! kpctl rollout restart deploy/web 2>err &&
	echo "error: deployments.apps \"web\" can'\''t restart paused deployment (run rollout resume first)" >expect &&
	test_cmp expect err &&
	kpctl rollout resume deploy/web >out &&
	echo "deployment.apps/web resumed" >expect && test_cmp expect out &&
	test "$(kpctl get deploy web -o jsonpath="{.spec.paused}")" = false &&
	! kpctl rollout resume deploy/web 2>err &&
	echo "error: deployments.apps \"web\" is not paused" >expect && test_cmp expect err
'

test_expect_success 'restart stamps restartedAt on the template: a new revision rolls out' '
	kpctl rollout restart deploy/web >out &&
	echo "deployment.apps/web restarted" >expect && test_cmp expect out &&
	kpctl get deploy web -o jsonpath="{.spec.template.metadata.annotations.kubectl\.kubernetes\.io/restartedAt}" >at &&
	grep -E "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})$" at &&
	kpctl rollout status deploy/web --timeout=60s >out &&
	tail -n 1 out | grep "successfully rolled out" &&
	kpctl rollout history deploy/web | tail -n 2 | head -n 1 | awk "{print \$1}" >rev &&
	echo 5 >expect && test_cmp expect rev
'

test_expect_success 'status --timeout gives up with kubectl'\''s words; --watch=false prints once' '
	cat >stuck.yaml <<-\EOF &&
	apiVersion: apps/v1
	kind: Deployment
	metadata: {name: stuck}
	spec:
	  replicas: 1
	  selector: {matchLabels: {app: stuck}}
	  template:
	    metadata: {labels: {app: stuck}}
	    spec:
	      nodeSelector: {nowhere: "true"}
	      containers: [{name: c, image: x}]
	EOF
	kpctl apply -f stuck.yaml >/dev/null &&
	wait_for 20 "test \"\$(kpctl get deploy stuck -o jsonpath={.status.updatedReplicas})\" = 1" &&
	! kpctl rollout status deploy/stuck --timeout=1s >out 2>err &&
	echo "Waiting for deployment \"stuck\" rollout to finish: 0 of 1 updated replicas are available..." >expect &&
	test_cmp expect out &&
	echo "error: timed out waiting for the condition" >expect && test_cmp expect err &&
	kpctl rollout status deploy/stuck --watch=false >out &&
	echo "Waiting for deployment \"stuck\" rollout to finish: 0 of 1 updated replicas are available..." >expect &&
	test_cmp expect out
'

cat >sts.yaml <<'EOF'
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: c, image: "pg:15"}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: c, image: "agent:1"}]}
EOF

sts_image() {
	kpctl get sts db -o jsonpath="{.spec.template.spec.containers[0].image}"
}

test_expect_success 'StatefulSet: history from its ControllerRevisions, undo to the previous one' '
	kpctl apply -f sts.yaml >/dev/null &&
	wait_for 30 "test \"\$(kpctl get sts db -o jsonpath={.status.readyReplicas})\" = 2" &&
	kpctl patch sts db --type merge \
		-p "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"pg:16\"}]}}}}" >/dev/null &&
	wait_for 30 "test \"\$(kpctl get controllerrevisions -l app=db -o name | wc -l)\" = 2" &&
	kpctl rollout history statefulset/db >out &&
	printf "statefulset.apps/db \nREVISION  CHANGE-CAUSE\n1         <none>\n2         <none>\n\n" >expect &&
	test_cmp expect out &&
	kpctl rollout history sts/db --revision 1 | sed -n 1,7p >out &&
	printf "%s\n" "statefulset.apps/db with revision #1" "Pod Template:" "  Labels:	app=db" \
		"  Containers:" "   c:" "    Image:	pg:15" "    Port:	<none>" >expect &&
	test_cmp expect out &&
	kpctl rollout undo sts/db >out &&
	echo "statefulset.apps/db rolled back" >expect && test_cmp expect out &&
	test "$(sts_image)" = pg:15 &&
	# the controller renumbers the revision it went back to as the newest (3)
	wait_for 30 "kpctl rollout history sts/db | sed -n 3,4p | awk \"{print \\\$1}\" | tr \"\\n\" \" \" | grep -x \"2 3 \"" &&
	kpctl rollout undo sts/db --to-revision=3 >out &&
	echo "statefulset.apps/db skipped rollback (current template already matches revision 3)" >expect &&
	test_cmp expect out &&
	kpctl rollout status sts/db --timeout=60s >out &&
	tail -n 1 out | grep -E "^(partitioned roll out complete: [0-9]+ new pods have been updated|statefulset rolling update complete [0-9]+ pods at revision .*)\.\.\.$"
'

test_expect_success 'DaemonSet: status and restart; without ControllerRevisions no history to undo' '
	kpctl rollout status ds/agent --timeout=60s >out &&
	tail -n 1 out >last &&
	echo "daemon set \"agent\" successfully rolled out" >expect && test_cmp expect last &&
	kpctl rollout history ds/agent >out &&
	if test "$(kpctl get controllerrevisions -l app=agent -o name | wc -l)" = 0; then
		printf "daemonset.apps/agent \nNo rollout history found.\n" >expect && test_cmp expect out &&
		! kpctl rollout undo ds/agent 2>err &&
		echo "error: unable to find specified revision 0 in history" >expect && test_cmp expect err
	fi &&
	kpctl rollout restart ds/agent >out &&
	echo "daemonset.apps/agent restarted" >expect && test_cmp expect out &&
	! kpctl rollout pause ds/agent 2>err &&
	echo "error: daemonset.apps/agent pausing is not supported" >expect && test_cmp expect err
'

test_expect_success 'unsupported kinds, subcommands and arguments' '
	! kpctl rollout status pod/x 2>err &&
	echo "error: no status viewer has been implemented for Pod" >expect && test_cmp expect err &&
	! kpctl rollout history rs/x 2>err &&
	echo "error: no history viewer has been implemented for ReplicaSet.apps" >expect && test_cmp expect err &&
	! kpctl rollout frob deploy/web 2>err &&
	echo "error: unknown command \"frob\" for \"kpctl rollout\"" >expect && test_cmp expect err &&
	! kpctl rollout status 2>err && grep "required resource not specified" err &&
	! kpctl rollout status deploy/nope 2>err &&
	echo "Error from server (NotFound): deployments.apps \"nope\" not found" >expect && test_cmp expect err &&
	! kpctl rollout status deploy/web --timeout=soon 2>err && grep "invalid argument \"soon\"" err
'

test_expect_success 'kubectl reads the same history (when kubectl is on PATH)' '
	if ! command -v kubectl >/dev/null 2>&1; then exit 0; fi
	timeout 30 kubectl --server "$S" rollout history deploy/web >want &&
	kpctl rollout history deploy/web >got && test_cmp want got &&
	timeout 30 kubectl --server "$S" rollout history deploy/web --revision=4 >want &&
	kpctl rollout history deploy/web --revision=4 >got && test_cmp want got
'

test_done

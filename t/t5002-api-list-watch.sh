#!/bin/sh
test_description='API server: list with selectors and pagination, watch'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"

start_server --store memory --bookmark-interval 0.2 || exit 1

mkpod() { # ns name app
	api POST /api/v1/namespaces/$1/pods -H "$CT_JSON" \
		-d "{\"metadata\":{\"name\":\"$2\",\"labels\":{\"app\":\"$3\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}"
}

names() { jqo "[.items[].metadata.name]|join(\",\")"; }

test_expect_success 'setup: pods in two namespaces' '
	for p in p1:a p2:b p3:a p4:b p5:a; do
		test "$(mkpod default ${p%:*} ${p#*:})" = 201 || exit 1
	done &&
	test "$(mkpod kube-system sys1 a)" = 201
'

test_expect_success 'list in a namespace and across namespaces' '
	expect_code 200 GET /api/v1/namespaces/default/pods &&
	test "$(jqo .kind)" = PodList && test "$(jqo .apiVersion)" = v1 &&
	test "$(names)" = p1,p2,p3,p4,p5 &&
	jqo .metadata.resourceVersion | grep -E "^[0-9]+$" &&
	expect_code 200 GET /api/v1/pods &&
	test "$(jqo ".items|length")" = 6 &&
	test "$(jqo ".items[0].metadata.resourceVersion")" != null
'

test_expect_success 'labelSelector: equality, inequality and sets' '
	expect_code 200 GET "/api/v1/namespaces/default/pods?labelSelector=app%3Da" &&
	test "$(names)" = p1,p3,p5 &&
	expect_code 200 GET "/api/v1/namespaces/default/pods?labelSelector=app!%3Da" &&
	test "$(names)" = p2,p4 &&
	expect_code 200 GET "/api/v1/namespaces/default/pods?labelSelector=app+in+(a,b)" &&
	test "$(names)" = p1,p2,p3,p4,p5 &&
	expect_code 200 GET "/api/v1/namespaces/default/pods?labelSelector=nolabel" &&
	test "$(jqo ".items|length")" = 0
'

test_expect_success 'fieldSelector on name and namespace' '
	expect_code 200 GET "/api/v1/namespaces/default/pods?fieldSelector=metadata.name%3Dp4" &&
	test "$(names)" = p4 &&
	expect_code 200 GET "/api/v1/pods?fieldSelector=metadata.namespace%3Dkube-system" &&
	test "$(names)" = sys1 &&
	expect_code 200 GET "/api/v1/pods?fieldSelector=metadata.namespace!%3Dkube-system,status.phase%3DPending" &&
	test "$(jqo ".items|length")" = 5
'

test_expect_success 'a malformed selector is 400' '
	expect_code 400 GET "/api/v1/namespaces/default/pods?labelSelector=app+in+(a" &&
	test "$(jqo .reason)" = BadRequest
'

test_expect_success 'limit/continue pages through a consistent snapshot' '
	expect_code 200 GET "/api/v1/namespaces/default/pods?limit=2" &&
	test "$(names)" = p1,p2 &&
	c=$(jqo .metadata.continue) && test "$c" != null &&
	rv1=$(jqo .metadata.resourceVersion) &&
	test "$(mkpod default p0new a)" = 201 &&
	test "$(mkpod default p9new a)" = 201 &&
	expect_code 200 GET "/api/v1/namespaces/default/pods?limit=2&continue=$c" &&
	test "$(names)" = p3,p4 &&
	test "$(jqo .metadata.resourceVersion)" = "$rv1" &&
	c=$(jqo .metadata.continue) &&
	expect_code 200 GET "/api/v1/namespaces/default/pods?limit=2&continue=$c" &&
	test "$(names)" = p5 &&
	test "$(jqo .metadata.continue)" = null &&
	expect_code 200 GET "/api/v1/namespaces/default/pods" &&
	test "$(names)" = p0new,p1,p2,p3,p4,p5,p9new
'

test_expect_success 'limit counts matching items when a selector is given' '
	expect_code 200 GET "/api/v1/namespaces/default/pods?labelSelector=app%3Db&limit=1" &&
	test "$(names)" = p2 &&
	c=$(jqo .metadata.continue) &&
	expect_code 200 GET "/api/v1/namespaces/default/pods?labelSelector=app%3Db&limit=1&continue=$c" &&
	test "$(names)" = p4
'

test_expect_success 'a garbage continue token is 400' '
	expect_code 400 GET "/api/v1/namespaces/default/pods?limit=2&continue=garbage!!" &&
	test "$(jqo .reason)" = BadRequest
'

test_expect_success 'watch from a resourceVersion streams ADDED, MODIFIED, DELETED' '
	expect_code 200 GET /api/v1/namespaces/default/pods &&
	rv=$(jqo .metadata.resourceVersion) || exit 1
	curl -sN "$S/api/v1/namespaces/default/pods?watch=true&resourceVersion=$rv&timeoutSeconds=2" >w.out &
	cpid=$! &&
	test "$(mkpod default w1 a)" = 201 &&
	test "$(mkpod kube-system w-other a)" = 201 &&
	expect_code 200 PATCH /api/v1/namespaces/default/pods/w1 -H "Content-Type: application/merge-patch+json" \
		-d "{\"metadata\":{\"labels\":{\"x\":\"1\"}}}" &&
	expect_code 200 DELETE /api/v1/namespaces/default/pods/w1 &&
	wait $cpid &&
	jq -r ".type+\" \"+.object.metadata.name" w.out >events &&
	printf "ADDED w1\nMODIFIED w1\nDELETED w1\n" >expect &&
	test_cmp expect events &&
	jq -r ".object.metadata.resourceVersion" w.out >rvs &&
	sort -n -c rvs &&
	test "$(head -1 rvs)" -gt "$rv"
'

test_expect_success 'watch without resourceVersion starts with the current objects' '
	curl -sN "$S/api/v1/namespaces/kube-system/pods?watch=1&timeoutSeconds=1" >w2.out &&
	jq -r ".type+\" \"+.object.metadata.name" w2.out >events &&
	printf "ADDED sys1\nADDED w-other\n" >expect &&
	test_cmp expect events
'

test_expect_success 'watch with a label selector turns leaving into DELETED' '
	expect_code 200 GET /api/v1/namespaces/default/pods &&
	rv=$(jqo .metadata.resourceVersion) || exit 1
	curl -sN "$S/api/v1/namespaces/default/pods?watch=True&labelSelector=app%3Da&resourceVersion=$rv&timeoutSeconds=2" >w3.out &
	cpid=$! &&
	expect_code 200 PATCH /api/v1/namespaces/default/pods/p2 -H "Content-Type: application/merge-patch+json" \
		-d "{\"metadata\":{\"labels\":{\"app\":\"a\"}}}" &&
	expect_code 200 PATCH /api/v1/namespaces/default/pods/p2 -H "Content-Type: application/merge-patch+json" \
		-d "{\"metadata\":{\"labels\":{\"app\":\"c\"}}}" &&
	expect_code 200 PATCH /api/v1/namespaces/default/pods/p4 -H "Content-Type: application/merge-patch+json" \
		-d "{\"metadata\":{\"labels\":{\"other\":\"x\"}}}" &&
	wait $cpid &&
	jq -r ".type+\" \"+.object.metadata.name+\" \"+.object.metadata.labels.app" w3.out >events &&
	printf "ADDED p2 a\nDELETED p2 c\n" >expect &&
	test_cmp expect events
'

test_expect_success 'watch of one object through fieldSelector metadata.name' '
	expect_code 200 GET /api/v1/namespaces/default/pods &&
	rv=$(jqo .metadata.resourceVersion) || exit 1
	curl -sN "$S/api/v1/namespaces/default/pods?watch=1&fieldSelector=metadata.name%3Dp3&resourceVersion=$rv&timeoutSeconds=1" >w4.out &
	cpid=$! &&
	expect_code 200 PATCH /api/v1/namespaces/default/pods/p1 -H "Content-Type: application/merge-patch+json" -d "{\"metadata\":{\"labels\":{\"y\":\"1\"}}}" &&
	expect_code 200 PATCH /api/v1/namespaces/default/pods/p3 -H "Content-Type: application/merge-patch+json" -d "{\"metadata\":{\"labels\":{\"y\":\"1\"}}}" &&
	wait $cpid &&
	test "$(jq -r ".type+\" \"+.object.metadata.name" w4.out)" = "MODIFIED p3"
'

test_expect_success 'bookmarks carry the kind and a resourceVersion' '
	curl -sN "$S/api/v1/namespaces/default/pods?watch=1&allowWatchBookmarks=true&resourceVersion=1&timeoutSeconds=1" >w5.out &&
	jq -r "select(.type==\"BOOKMARK\")|.object.kind" w5.out | head -1 >kind &&
	echo Pod >expect && test_cmp expect kind &&
	jq -r "select(.type==\"BOOKMARK\")|.object.metadata.resourceVersion" w5.out | head -1 | grep -E "^[1-9][0-9]*$"
'

test_expect_success 'a bad timeoutSeconds is 400' '
	expect_code 400 GET "/api/v1/namespaces/default/pods?watch=1&timeoutSeconds=abc"
'

test_expect_success 'second server: compaction makes old revisions 410 Expired' '
	kplane server --listen 127.0.0.1:0 --store memory --port-file port2 --compact-interval 0.1 >s2.out 2>s2.err &
	pid2=$!
	i=0 && while ! test -s port2 && test $i -lt 100; do sleep 0.05; i=$((i+1)); done &&
	S="http://127.0.0.1:$(cat port2)" &&
	for n in 1 2 3 4 5; do
		test "$(mkpod default c$n a)" = 201 || { kill $pid2; exit 1; }
	done &&
	sleep 0.5 &&
	curl -sN "$S/api/v1/namespaces/default/pods?watch=1&resourceVersion=2&timeoutSeconds=2" >w6.out &&
	code=$(api GET "/api/v1/namespaces/default/pods?resourceVersion=2&resourceVersionMatch=Exact") &&
	kill $pid2 &&
	test "$(jq -r .type w6.out)" = ERROR &&
	test "$(jq -r .object.code w6.out)" = 410 &&
	test "$(jq -r .object.reason w6.out)" = Expired &&
	test "$code" = 410 &&
	test "$(jqo .reason)" = Expired
'

test_done

#!/bin/sh
# The store gateway (/kplane/store/v3/...) that components apart use: what it
# answers, in etcd v3's JSON gateway shapes, and how it refuses bad requests.
# (t1004-store-gateway runs the whole store suite through it.)
test_description='API server store gateway: etcd-shaped answers, refusals'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"

start_server --store memory || exit 1

b64() { printf %s "$1" | base64 -w0; }
G() { # G OP BODY: POST to the gateway, body in ./out, prints the status
	curl -s -o out -w '%{http_code}' -X POST -d "$2" "$S/kplane/store/v3/$1"
}

test_expect_success 'range of one key returns the stored object, base64, with revisions' '
	expect_code 201 POST /api/v1/namespaces/default/configmaps -H "Content-Type: application/json" \
		-d "{\"metadata\":{\"name\":\"c1\"},\"data\":{\"k\":\"v\"}}" &&
	rv=$(jqo .metadata.resourceVersion) &&
	test "$(G kv/range "{\"key\":\"$(b64 /registry/core/configmaps/default/c1)\"}")" = 200 &&
	test "$(jqo .count)" = 1 &&
	test "$(jqo .kvs[0].mod_revision)" = "$rv" &&
	test "$(jqo .kvs[0].create_revision)" = "$rv" &&
	test "$(jqo .kvs[0].version)" = 1 &&
	jqo .kvs[0].value | base64 -d | jq -e ".data.k == \"v\" and .metadata.name == \"c1\""
'

test_expect_success 'a prefix range lists in key order; limit sets more' '
	for n in c2 c3; do
		expect_code 201 POST /api/v1/namespaces/default/configmaps -H "Content-Type: application/json" \
			-d "{\"metadata\":{\"name\":\"$n\"}}" || exit 1
	done &&
	test "$(G kv/range "{\"key\":\"$(b64 /registry/core/configmaps/default/)\",\"range_end\":\"$(b64 /registry/core/configmaps/default0)\",\"limit\":2}")" = 200 &&
	jqo ".kvs[].key" | while read k; do echo "$k" | base64 -d; echo; done >keys &&
	printf "/registry/core/configmaps/default/c1\n/registry/core/configmaps/default/c2\n" >want &&
	test_cmp want keys &&
	test "$(jqo .more)" = true
'

test_expect_success 'txn: create if absent, then a stale compare-and-swap fails' '
	k=$(b64 /registry/test/x) &&
	put="{\"request_put\":{\"key\":\"$k\",\"value\":\"$(b64 one)\"}}" &&
	test "$(G kv/txn "{\"compare\":[{\"key\":\"$k\",\"target\":\"CREATE\",\"result\":\"EQUAL\",\"create_revision\":\"0\"}],\"success\":[$put]}")" = 200 &&
	test "$(jqo .succeeded)" = true &&
	rev=$(jqo .header.revision) &&
	test "$(G kv/txn "{\"compare\":[{\"key\":\"$k\",\"target\":\"CREATE\",\"result\":\"EQUAL\",\"create_revision\":\"0\"}],\"success\":[$put]}")" = 200 &&
	test "$(jqo .succeeded)" = false &&
	test "$(G kv/txn "{\"compare\":[{\"key\":\"$k\",\"target\":\"MOD\",\"result\":\"EQUAL\",\"mod_revision\":\"$((rev - 1))\"}],\"success\":[$put],\"failure\":[{\"request_range\":{\"key\":\"$k\",\"keys_only\":true}}]}")" = 200 &&
	test "$(jqo .succeeded)" = false &&
	test "$(jqo ".responses[0].response_range.kvs | length")" = 1 &&
	test "$(G kv/txn "{\"compare\":[{\"key\":\"$k\",\"target\":\"MOD\",\"result\":\"EQUAL\",\"mod_revision\":\"$rev\"}],\"success\":[{\"request_delete_range\":{\"key\":\"$k\",\"prev_kv\":true}}]}")" = 200 &&
	test "$(jqo .succeeded)" = true &&
	jqo .responses[0].response_delete_range.prev_kvs[0].value | base64 -d | grep -qx one
'

test_expect_success 'a watch stream reports a PUT with its previous value' '
	k=$(b64 /registry/test/) e=$(b64 /registry/test0) &&
	now=$(G kv/range "{\"key\":\"AA==\"}" >/dev/null; jqo .header.revision) &&
	curl -sN -m 2 -X POST -d "{\"create_request\":{\"key\":\"$k\",\"range_end\":\"$e\",\"start_revision\":\"$((now + 1))\",\"prev_kv\":true}}" \
		"$S/kplane/store/v3/watch" >w.out &
	sleep 0.3 &&
	kk=$(b64 /registry/test/y) &&
	G kv/txn "{\"compare\":[{\"key\":\"$kk\",\"target\":\"CREATE\",\"result\":\"EQUAL\",\"create_revision\":0}],\"success\":[{\"request_put\":{\"key\":\"$kk\",\"value\":\"$(b64 a)\"}}]}" >/dev/null &&
	G kv/txn "{\"compare\":[{\"key\":\"$kk\",\"target\":\"CREATE\",\"result\":\"GREATER\",\"create_revision\":0}],\"success\":[{\"request_put\":{\"key\":\"$kk\",\"value\":\"$(b64 b)\"}}]}" >/dev/null &&
	wait &&
	head -1 w.out | jq -e ".result.created == true" &&
	jq -r "select(.result.events) | .result.events[0] | [.type, .kv.version, (.kv.value | @base64d), (.prev_kv.value // \"\" | @base64d)] | join(\" \")" w.out >got &&
	printf "PUT 1 a \nPUT 2 b a\n" >want &&
	test_cmp want got
'

test_expect_success 'a range at a future revision is refused in etcd words' '
	test "$(G kv/range "{\"key\":\"AA==\",\"revision\":\"999999\"}")" = 400 &&
	jqo .error | grep -q "required revision is a future revision"
'

test_expect_success 'bad requests are 4xx naming what is wrong, and change nothing' '
	before=$(G kv/range "{\"key\":\"AA==\"}" >/dev/null; jqo .header.revision) &&
	test "$(G kv/range "not json")" = 400 && jqo .error | grep -q "JSON object" &&
	test "$(G kv/range "{\"key\":\"%%%\"}")" = 400 && jqo .error | grep -q "key" &&
	test "$(G kv/range "{}")" = 400 &&
	test "$(G kv/range "{\"key\":\"$(b64 /a)\",\"range_end\":\"$(b64 /z)\"}")" = 400 &&
	jqo .error | grep -q "prefix" &&
	test "$(G kv/txn "{\"compare\":[],\"success\":[]}")" = 400 &&
	jqo .error | grep -q "single-key" &&
	k=$(b64 /registry/test/z) &&
	test "$(G kv/txn "{\"compare\":[{\"key\":\"$k\",\"target\":\"VALUE\",\"result\":\"EQUAL\"}],\"success\":[{\"request_put\":{\"key\":\"$k\",\"value\":\"\"}}]}")" = 400 &&
	test "$(G kv/txn "{\"compare\":[{\"key\":\"$(b64 /other)\",\"target\":\"CREATE\",\"result\":\"EQUAL\",\"create_revision\":0}],\"success\":[{\"request_put\":{\"key\":\"$k\",\"value\":\"\"}}]}")" = 400 &&
	test "$(G watch "{\"create_request\":{\"key\":\"$k\"}}")" = 400 &&
	test "$(G kv/lease "{}")" = 404 &&
	test "$(curl -s -o out -w "%{http_code}" "$S/kplane/store/v3/kv/range")" = 405 &&
	after=$(G kv/range "{\"key\":\"AA==\"}" >/dev/null; jqo .header.revision) &&
	test "$before" = "$after"
'

test_done

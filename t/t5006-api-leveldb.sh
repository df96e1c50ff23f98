#!/bin/sh
test_description='API server on leveldb: persistence, lock, graceful shutdown'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"

start_server --store leveldb --data-dir data || exit 1

test_expect_success 'create objects on leveldb' '
	for n in 1 2 3; do
		expect_code 201 POST /api/v1/namespaces/default/configmaps -H "$CT_JSON" \
			-d "{\"metadata\":{\"name\":\"cm$n\"},\"data\":{\"n\":\"$n\"}}" || exit 1
	done &&
	expect_code 200 GET /api/v1/namespaces/default/configmaps/cm3 &&
	jqo .metadata.resourceVersion >rv3
'

test_expect_success 'a second server on the same data dir is refused' '
	! kplane server --listen 127.0.0.1:0 --store leveldb --data-dir data >s2.out 2>s2.err &&
	grep -i "data" s2.err
'

test_expect_success 'writes racing SIGTERM: every acknowledged create survives' '
	for n in $(seq 1 30); do
		curl -s -o /dev/null -w "%{http_code}" -X POST -H "$CT_JSON" \
			-d "{\"metadata\":{\"name\":\"race$n\"}}" \
			"$S/api/v1/namespaces/default/configmaps" >code.$n &
	done
	sleep 0.05
	stop_server &&
	wait &&
	cat code.* | tr -s "0-9" "\n" | sort | uniq -c >codes &&
	cat codes
'

start_server --store leveldb --data-dir data || exit 1

test_expect_success 'restart: data, revisions and acknowledged writes are back' '
	expect_code 200 GET /api/v1/namespaces/default/configmaps/cm3 &&
	test "$(jqo .data.n)" = 3 &&
	test "$(jqo .metadata.resourceVersion)" = "$(cat rv3)" &&
	for n in $(seq 1 30); do
		if test "$(cat code.$n)" = 201; then
			expect_code 200 GET /api/v1/namespaces/default/configmaps/race$n || exit 1
		fi
	done &&
	expect_code 201 POST /api/v1/namespaces/default/configmaps -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"after\"}}" &&
	test "$(jqo .metadata.resourceVersion)" -gt "$(cat rv3)" &&
	expect_code 200 GET /api/v1/namespaces &&
	test "$(jqo ".items|length")" = 4
'

test_done

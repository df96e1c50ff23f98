#!/bin/sh
# t5008-api-crash: creates streamed at the API server on leveldb from
# several clients; the server is killed with SIGKILL mid-stream, several
# times, and restarted on the same data directory. Every create the server
# answered 201 must be there afterwards, and the revision never goes back.
test_description='API server: acknowledged creates survive SIGKILL (leveldb)'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"

ROUNDS=${KP_CRASH_ROUNDS:-5}
WRITERS=4

rand() {
	od -An -N2 -tu2 /dev/urandom | awk -v lo="$1" -v hi="$2" '{ print lo + $1 % (hi - lo + 1) }'
}

# writer ROUND J: creates pods until the server stops answering; each 201
# is recorded as "name resourceVersion" in acks.ROUND.J.
writer() {
	n=0
	while :; do
		n=$((n + 1))
		name=r$1-w$2-$n
		code=$(curl -s -o w.$1.$2 -w '%{http_code}' -X POST -H "$CT_JSON" \
			-d "{\"metadata\":{\"name\":\"$name\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}" \
			"$S/api/v1/namespaces/default/pods") || return 0
		case $code in
		201) echo "$name $(jq -r .metadata.resourceVersion w.$1.$2)" >>acks.$1.$2 ;;
		000) return 0 ;;
		*) echo "unexpected $code: $(cat w.$1.$2)" >>errors ;;
		esac
	done
}

minrev=0
total=0
: >pids
test_when_finished 'test -s pids && kill $(cat pids) 2>/dev/null'

rnd=1
while [ "$rnd" -le "$ROUNDS" ]; do
	ms=$(rand 150 600)
	# A round that failed may have left its restarted server running (test
	# bodies run in subshells: their SERVER_PID is known from pids only).
	test -s pids && kill $(cat pids) 2>/dev/null && sleep 0.5 && : >pids
	test_expect_success "round $rnd: $WRITERS clients, server killed after ${ms}ms, nothing acknowledged lost" '
		start_server --store leveldb --data-dir db &&
		w=1 && while test $w -le $WRITERS; do
			: >acks.$rnd.$w; writer $rnd $w & w=$((w + 1)); done &&
		sleep $(awk -v m=$ms "BEGIN { print m / 1000 }") &&
		kill -9 $SERVER_PID && wait &&
		! test -s errors &&
		start_server --store leveldb --data-dir db &&
		echo $SERVER_PID >>pids &&
		expect_code 200 GET /api/v1/namespaces/default/pods &&
		jqo ".items[].metadata.name" | sort >present &&
		jqo ".metadata.resourceVersion" >rev &&
		cat acks.$rnd.* >acks.$rnd &&
		cut -d" " -f1 acks.$rnd | sort | comm -23 - present >lost &&
		test_cmp /dev/null lost &&
		maxack=$(cut -d" " -f2 acks.$rnd | sort -n | tail -1) &&
		test "$(cat rev)" -ge "${maxack:-0}" &&
		test "$(cat rev)" -ge $minrev &&
		echo "round $rnd: $(wc -l <acks.$rnd) acknowledged, revision $(cat rev)" &&
		stop_server
	'
	test -s rev && minrev=$(cat rev)
	test -s acks.$rnd && total=$((total + $(wc -l <acks.$rnd)))
	rnd=$((rnd + 1))
done

# Not vacuous: writes were being acknowledged when the kills landed.
test_expect_success "creates were acknowledged ($total in all)" '
	test $total -gt 0
'

test_done

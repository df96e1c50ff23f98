# t5lib-api.sh - helpers for the API server tests (t/t5*.sh); source after
# test-lib.sh.
#
#   start_server [flags...]  starts `kplane server` on an ephemeral port
#                            (memory store unless flags say otherwise; only
#                            the API unless --components is given), sets
#                            $S to its URL and $SERVER_PID, and kills it at exit
#   stop_server              SIGTERM and wait (graceful shutdown)
#   api METHOD PATH [curl args...]
#                            sends a request; the body lands in ./out, the
#                            HTTP status code is printed
#   jqo FILTER               jq -r FILTER on ./out
#   expect_code WANT METHOD PATH [curl args...]
#                            fails (printing the body) unless the status is WANT

if ! command -v jq >/dev/null 2>&1 || ! command -v curl >/dev/null 2>&1; then
	echo "1..0 # SKIP curl and jq are needed"
	exit 0
fi

SERVER_PID=
S=

start_server() {
	rm -f port
	# API tests see only their own writes: no scheduler or controllers unless
	# the caller names --components itself.
	case " $* " in
	*" --components "*) ;;
	*) set -- --components api "$@" ;;
	esac
	kplane server --listen 127.0.0.1:0 --port-file port "$@" >server.out 2>server.err &
	SERVER_PID=$!
	test_when_finished "kill $SERVER_PID 2>/dev/null; wait $SERVER_PID 2>/dev/null"
	i=0
	while ! test -s port; do
		i=$((i + 1))
		if test $i -gt 100 || ! kill -0 $SERVER_PID 2>/dev/null; then
			echo "# server did not start:"; sed 's/^/# /' server.err
			return 1
		fi
		sleep 0.05
	done
	S="http://127.0.0.1:$(cat port)"
}

stop_server() {
	# Tests run in subshells, where `wait` cannot reap the server: poll.
	kill -TERM $SERVER_PID || return 1
	i=0
	while kill -0 $SERVER_PID 2>/dev/null; do
		i=$((i + 1))
		test $i -le 200 || return 1
		sleep 0.05
	done
}

api() {
	m=$1 p=$2
	shift 2
	curl -s -o out -w '%{http_code}' -X "$m" "$@" "$S$p"
}

jqo() {
	jq -r "$1" out
}

expect_code() {
	want=$1
	shift
	got=$(api "$@")
	if test "$got" != "$want"; then
		echo "expected HTTP $want, got $got for $1 $2:"
		cat out
		echo
		return 1
	fi
}

# JSON POST/PUT shorthands: body from stdin or from a string.
CT_JSON='Content-Type: application/json'

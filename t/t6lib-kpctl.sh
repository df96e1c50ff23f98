# t6lib-kpctl.sh - shared setup for the kpctl scripts (t/t61xx-kpctl-*.sh):
# a private HOME (no stray kubeconfig), a `kplane server` on an ephemeral
# port with the memory store, and helpers to hide ages in table output.
# The server runs the API only (--components api): these scripts test the
# client, and a scheduler would add events and status updates of its own.

HOME=$TRASH_DIRECTORY
export HOME
unset KUBECONFIG KPLANE_SERVER

# kpctl_start_server: starts the server and exports KPLANE_SERVER. Returns 1
# only when the build has no `kplane server` (the caller skips); a server
# that exists but does not come up fails the script.
kpctl_start_server() {
	kplane server --help >/dev/null 2>&1 || return 1
	kplane server --components api --listen 127.0.0.1:0 --store memory --port-file "$TRASH_DIRECTORY/port" \
		>"$TRASH_DIRECTORY/server.log" 2>&1 &
	KP_SERVER_PID=$!
	test_when_finished "kill $KP_SERVER_PID 2>/dev/null; wait $KP_SERVER_PID 2>/dev/null"
	i=0
	while [ ! -s "$TRASH_DIRECTORY/port" ] && [ $i -lt 100 ] && kill -0 $KP_SERVER_PID 2>/dev/null; do
		sleep 0.1
		i=$((i + 1))
	done
	if [ ! -s "$TRASH_DIRECTORY/port" ]; then
		echo "not ok 1 - kplane server starts"
		sed -e 's/^/#   /' "$TRASH_DIRECTORY/server.log"
		echo "1..1"
		exit 1
	fi
	KP_PORT=$(cat "$TRASH_DIRECTORY/port")
	KPLANE_SERVER=http://127.0.0.1:$KP_PORT
	export KPLANE_SERVER KP_PORT
}

# Ages of objects made by a test are seconds: replace them with "Ns" so that
# expected tables can be written by hand. Single digits keep the column's
# width; on a loaded machine an age may reach "10s", which (under a header
# of "AGE") has the width of the header, so it becomes "Ns " and trailing
# blanks go.
hide_ages() {
	sed -E -e 's/(^|   )[0-9]s($|   )/\1Ns\2/g' -e 's/(^|   )[0-9][0-9]s($| )/\1Ns \2/g' \
		-e 's/ +$//'
}

# kpctl_skip_all REASON: reports the whole script as skipped.
kpctl_skip_all() {
	echo "1..0 # SKIP $1"
	test_run_cleanup_
	trap - EXIT
	cd "$KP_BUILD_DIR" && rm -rf "$TRASH_DIRECTORY"
	exit 0
}

# test-lib.sh - TAP helpers for shell tests (git's t/test-lib.sh in miniature).
#
#   test_description='what this script tests'
#   . "$(dirname "$0")/test-lib.sh"
#   test_expect_success 'name' '
#       cmd1 &&
#       cmd2
#   '
#   test_done
#
# Each script runs in its own trash directory (t/trash-<script>), removed on
# success. KP_BUILD_DIR points at the build tree (set by `make check`;
# defaults to the current directory for `prove`).

set -u
TEST_NAME=$(basename "$0" .sh)
KP_SRC_DIR=${KP_SRC_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
KP_BUILD_DIR=${KP_BUILD_DIR:-$(pwd)}
export KP_SRC_DIR KP_BUILD_DIR
PATH="$KP_BUILD_DIR/cli:$KP_BUILD_DIR/t/helper:$KP_BUILD_DIR:$PATH"
export PATH
: "${KPLANE_PLUGIN_PATH:=$KP_BUILD_DIR/plugins/.libs}"
export KPLANE_PLUGIN_PATH

TRASH_DIRECTORY="$KP_BUILD_DIR/t/trash-$TEST_NAME"
rm -rf "$TRASH_DIRECTORY"
mkdir -p "$TRASH_DIRECTORY" || exit 1
cd "$TRASH_DIRECTORY" || exit 1

test_count=0
test_failed=0
test_cleanup_cmds=

# Runs on exit: whatever test_when_finished registered (e.g. kill a server).
test_run_cleanup_() {
	eval "$test_cleanup_cmds"
	test_cleanup_cmds=
}
trap test_run_cleanup_ EXIT

test_when_finished() {
	test_cleanup_cmds="$1; $test_cleanup_cmds"
}

say() { printf '# %s\n' "$*"; }

test_expect_success() {
	test_count=$((test_count + 1))
	if (eval "$2") >"$TRASH_DIRECTORY/.out" 2>&1; then
		echo "ok $test_count - $1"
	else
		test_failed=$((test_failed + 1))
		echo "not ok $test_count - $1"
		sed -e 's/^/#   /' "$TRASH_DIRECTORY/.out" | tail -n 40
	fi
}

test_expect_failure_cmd() {
	# test_expect_failure_cmd 'name' 'cmd': passes when cmd exits non-zero.
	test_expect_success "$1" "! ( $2 )"
}

test_skip() {
	test_count=$((test_count + 1))
	echo "ok $test_count # SKIP $1"
}

# test_cmp expected actual: shows a diff on mismatch.
test_cmp() {
	diff -u "$1" "$2"
}

test_have_prereq() {
	command -v "$1" >/dev/null 2>&1
}

test_done() {
	echo "1..$test_count"
	if [ "$test_failed" -eq 0 ]; then
		cd "$KP_BUILD_DIR" && rm -rf "$TRASH_DIRECTORY"
		exit 0
	fi
	exit 1
}

#!/bin/sh
test_description='API body decoders: replay the fuzzing seeds and regression inputs (t/fuzz)'
. "$(dirname "$0")/test-lib.sh"

for t in body patch selector proto ssa; do
	test_expect_success "fuzz-$t inputs run cleanly" '
		{ ls "$KP_SRC_DIR"/t/fuzz/corpus/$t/* "$KP_SRC_DIR"/t/fuzz/regress/$t/* 2>/dev/null || :; } >inputs &&
		test -s inputs &&
		api-fuzz-$t $(cat inputs) >out 2>&1 &&
		! grep "^not ok" out &&
		test $(grep -c "^ok" out) -eq $(wc -l <inputs)
	'
done

test_done

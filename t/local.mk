# Tests: TAP programs and scripts, numbered by family (STYLE.md):
# 0 core, 1 store, 2 filter, 3 score, 4 controllers, 5 API, 6 CLI, 7 bench, 8 end-to-end.
T_LDADD = store/libkpstore.la core/libkplane.la $(JANSSON_LIBS) $(YAML_LIBS)
EXTRA_DIST += t/tap.h t/test-lib.sh

# C unit tests (one program each, listed here and in TESTS).
C_TESTS =
# Shell tests.
SH_TESTS =

# Test helpers: tools that expose internals (benchmarks, crash writer, ...).
HELPERS =

check_PROGRAMS += $(C_TESTS) $(HELPERS)
TESTS += $(C_TESTS) $(SH_TESTS)
EXTRA_DIST += $(SH_TESTS)

include t/core-values.mk
include t/core-meta.mk
include t/store.mk
include t/sched.mk
include t/api.mk
include t/kpctl.mk
include t/sched-affinity.mk
include t/sched-more.mk
include t/e2e.mk
include t/sched-bench.mk
include t/controllers.mk

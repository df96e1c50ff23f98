# API and kpctl tests
EXTRA_DIST += t/t5lib-api.sh
SH_TESTS += t/t5001-api-basic.sh
SH_TESTS += t/t5002-api-list-watch.sh
SH_TESTS += t/t5005-api-kubectl.sh
SH_TESTS += t/t5003-api-patch-subresources.sh
SH_TESTS += t/t5004-api-table.sh
SH_TESTS += t/t5006-api-leveldb.sh
# Load generator for the API benchmarks (docs/bench/api.md); not a test.
HELPERS += t/helper/api-load
t_helper_api_load_SOURCES = t/helper/api-load.c
t_helper_api_load_LDADD =
SH_TESTS += t/t5007-api-openapi.sh
SH_TESTS += t/t5009-api-kubectl-more.sh
SH_TESTS += t/t5010-api-python.sh
SH_TESTS += t/t5008-api-crash.sh

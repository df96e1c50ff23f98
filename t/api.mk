# API and kpctl tests
EXTRA_DIST += t/t5lib-api.sh
SH_TESTS += t/t5001-api-basic.sh

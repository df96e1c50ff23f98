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
# Fuzzing (t/fuzz/): `make fuzz` builds the libFuzzer harnesses with clang
# and runs each for FUZZ_SECONDS (not part of make check). make check
# replays the seed corpora and the regression inputs with the ordinary build.
HELPERS += t/helper/api-fuzz-body t/helper/api-fuzz-patch t/helper/api-fuzz-selector
HELPERS += t/helper/api-fuzz-proto t/helper/api-fuzz-ssa
t_helper_api_fuzz_ssa_SOURCES = t/fuzz/replay.c t/fuzz/fuzz-ssa.c t/fuzz/fuzz-common.h
t_helper_api_fuzz_ssa_LDADD = core/api/libkpapi.la
t_helper_api_fuzz_proto_SOURCES = t/fuzz/replay.c t/fuzz/fuzz-proto.c t/fuzz/fuzz-common.h
t_helper_api_fuzz_proto_LDADD = core/api/libkpapi.la
t_helper_api_fuzz_body_SOURCES = t/fuzz/replay.c t/fuzz/fuzz-body.c t/fuzz/fuzz-common.h
t_helper_api_fuzz_body_LDADD = core/api/libkpapi.la
t_helper_api_fuzz_patch_SOURCES = t/fuzz/replay.c t/fuzz/fuzz-patch.c t/fuzz/fuzz-common.h
t_helper_api_fuzz_patch_LDADD = core/api/libkpapi.la
t_helper_api_fuzz_selector_SOURCES = t/fuzz/replay.c t/fuzz/fuzz-selector.c t/fuzz/fuzz-common.h
t_helper_api_fuzz_selector_LDADD = core/api/libkpapi.la
SH_TESTS += t/t5011-api-fuzz-regress.sh
SH_TESTS += t/t5014-api-kubectl-create.sh
SH_TESTS += t/t5015-api-ssa.sh
EXTRA_DIST += t/fuzz/fuzz-nostore.c t/fuzz/corpus t/fuzz/regress

FUZZ_TARGETS = body patch selector proto ssa
FUZZ_SECONDS = 60
FUZZ_CC = clang
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -I$(top_srcdir)/core/include \
	-I$(top_srcdir) -I$(top_builddir)
FUZZ_SRCS = $(top_srcdir)/core/api/buf.c $(top_srcdir)/core/api/registry.c \
	$(top_srcdir)/core/api/kinds.c $(top_srcdir)/core/api/patch.c \
	$(top_srcdir)/core/api/proto.c $(top_srcdir)/core/api/ssa.c \
	$(top_srcdir)/core/yaml.c $(top_srcdir)/core/selector.c $(top_srcdir)/core/validate.c \
	$(top_srcdir)/core/object.c $(top_srcdir)/core/quantity.c $(top_srcdir)/core/error.c \
	$(top_srcdir)/t/fuzz/fuzz-nostore.c
fuzz:
	@mkdir -p t/fuzz
	@for t in $(FUZZ_TARGETS); do \
		echo "fuzz-$$t: building"; \
		$(FUZZ_CC) $(FUZZ_FLAGS) $(top_srcdir)/t/fuzz/fuzz-$$t.c $(FUZZ_SRCS) \
			$(JANSSON_LIBS) $(YAML_LIBS) -lm -o t/fuzz/fuzz-$$t || exit 1; \
		mkdir -p t/fuzz/corpus-$$t; \
		echo "fuzz-$$t: running $(FUZZ_SECONDS) s"; \
		regress=$(top_srcdir)/t/fuzz/regress/$$t; \
		test -d $$regress || regress=; \
		t/fuzz/fuzz-$$t -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
			-artifact_prefix=t/fuzz/crash-$$t- t/fuzz/corpus-$$t \
			$(top_srcdir)/t/fuzz/corpus/$$t $$regress \
			>t/fuzz/fuzz-$$t.log 2>&1 || { tail -40 t/fuzz/fuzz-$$t.log; \
			echo "fuzz-$$t: crash input in t/fuzz/crash-$$t-*: fix it, then copy it to t/fuzz/regress/$$t/"; \
			exit 1; }; \
		tail -1 t/fuzz/fuzz-$$t.log; \
	done
.PHONY: fuzz
# Watch delivery latency to many watchers (docs/bench/api.md); not a test.
HELPERS += t/helper/api-watch-bench
t_helper_api_watch_bench_SOURCES = t/helper/api-watch-bench.c
t_helper_api_watch_bench_LDADD =
SH_TESTS += t/t5012-api-crd.sh
SH_TESTS += t/t5013-api-fieldvalidation.sh
# the store gateway components apart use (lead)
SH_TESTS += t/t5020-api-store-gateway.sh
# Acceptance of the API issue (timestamps, watch spellings, health,
# discovery, subresources); t/t6120 drives real manifests through clients.
SH_TESTS += t/t5030-api-acceptance.sh
# autoscaling/v1 HPAs converted from the stored autoscaling/v2.
SH_TESTS += t/t5031-api-hpa-v1.sh
# Times written through /status are put in UTC.
SH_TESTS += t/t5032-api-status-times.sh
SH_TESTS += t/t5034-api-table-quota.sh

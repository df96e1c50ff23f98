# Scheduler framework and basic plugin tests (owned by the scheduler work).
# They run the real scheduler with the static plugin table (no dlopen),
# except the loader tests, which load the deliberately broken modules below.
EXTRA_DIST += t/sched-lib.h
SCHED_T_LDADD = plugins/libkpsched-static.la $(T_LDADD) -lm

C_TESTS += t/t2001-sched-filters
t_t2001_sched_filters_SOURCES = t/t2001-sched-filters.c t/sched-lib.h t/tap.h
t_t2001_sched_filters_LDADD = $(SCHED_T_LDADD)

C_TESTS += t/t3001-sched-scores
t_t3001_sched_scores_SOURCES = t/t3001-sched-scores.c t/sched-lib.h t/tap.h
t_t3001_sched_scores_LDADD = $(SCHED_T_LDADD)

C_TESTS += t/t2002-sched-framework
t_t2002_sched_framework_SOURCES = t/t2002-sched-framework.c t/sched-lib.h t/tap.h
t_t2002_sched_framework_LDADD = $(SCHED_T_LDADD)

# Deliberately broken (and one good) plugin modules for the loader test.
# -rpath makes libtool build them shared although they are never installed.
T_PLUGIN_LDFLAGS = -module -avoid-version -shared -rpath /nowhere $(KP_LDFLAGS)
check_LTLIBRARIES += t/plugin-wrong-abi.la t/plugin-wrong-layout.la t/plugin-no-symbol.la \
	t/plugin-duplicate.la t/plugin-good.la
t_plugin_wrong_abi_la_SOURCES = t/plugins/wrong-abi.c
t_plugin_wrong_abi_la_LDFLAGS = $(T_PLUGIN_LDFLAGS)
t_plugin_wrong_layout_la_SOURCES = t/plugins/wrong-layout.c
t_plugin_wrong_layout_la_LDFLAGS = $(T_PLUGIN_LDFLAGS)
t_plugin_no_symbol_la_SOURCES = t/plugins/no-symbol.c
t_plugin_no_symbol_la_LDFLAGS = $(T_PLUGIN_LDFLAGS)
t_plugin_duplicate_la_SOURCES = t/plugins/duplicate.c
t_plugin_duplicate_la_LDFLAGS = $(T_PLUGIN_LDFLAGS)
t_plugin_good_la_SOURCES = t/plugins/good.c
t_plugin_good_la_LDFLAGS = $(T_PLUGIN_LDFLAGS)

C_TESTS += t/t2003-sched-loader
t_t2003_sched_loader_SOURCES = t/t2003-sched-loader.c t/sched-lib.h t/tap.h
t_t2003_sched_loader_LDADD = $(SCHED_T_LDADD)

C_TESTS += t/t2004-sched-config
t_t2004_sched_config_SOURCES = t/t2004-sched-config.c t/sched-lib.h t/tap.h
t_t2004_sched_config_LDADD = $(SCHED_T_LDADD)

SH_TESTS += t/t2005-sched-simulate.sh

C_TESTS += t/t2006-sched-nominated
t_t2006_sched_nominated_SOURCES = t/t2006-sched-nominated.c t/sched-lib.h t/tap.h
t_t2006_sched_nominated_LDADD = $(SCHED_T_LDADD)

# Benchmark (not a test): scheduling throughput, see docs/scheduler.md.
HELPERS += t/helper/sched-microbench
t_helper_sched_microbench_SOURCES = t/helper/sched-microbench.c
t_helper_sched_microbench_LDADD = $(SCHED_T_LDADD)

C_TESTS += t/t2142-podtopologyspread-incremental
t_t2142_podtopologyspread_incremental_SOURCES = t/t2142-podtopologyspread-incremental.c t/sched-lib.h t/tap.h
t_t2142_podtopologyspread_incremental_LDADD = $(SCHED_T_LDADD)

C_TESTS += t/t2143-interpodaffinity-incremental
t_t2143_interpodaffinity_incremental_SOURCES = t/t2143-interpodaffinity-incremental.c t/sched-lib.h t/tap.h
t_t2143_interpodaffinity_incremental_LDADD = $(SCHED_T_LDADD)

C_TESTS += t/t2007-sched-permit
t_t2007_sched_permit_SOURCES = t/t2007-sched-permit.c t/sched-lib.h t/tap.h
t_t2007_sched_permit_LDADD = $(SCHED_T_LDADD)

# The out-of-tree plugin example, built against a staged install.
SH_TESTS += t/t2900-example-plugin.sh
EXTRA_DIST += examples/node-draining/node-draining.c examples/node-draining/Makefile \
	examples/node-draining/README.md

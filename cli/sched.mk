# Scheduler commands (owned by the scheduler work): sched-bench, and the
# `kplane plugins` subcommand (kp_cmd_plugins, wired into cli/kplane.c by the lead).
bin_PROGRAMS += cli/sched-bench
cli_sched_bench_SOURCES = cli/sched-bench.c
cli_sched_bench_LDADD = plugins/libkpsched-static.la core/libkplane.la $(JANSSON_LIBS) $(YAML_LIBS) -lm $(JEMALLOC_LIBS)

cli_kplane_SOURCES += cli/kplane-plugins.c cli/kplane-plugins.h

# sched-bench run/compare (the sched-bench owner's lines, appended by agreement)
cli_sched_bench_SOURCES += cli/bench/bench.h cli/bench/workload.c \
	cli/bench/run.c cli/bench/run-inprocess.c cli/bench/report.c \
	cli/bench/run-api.c cli/bench/svg.c cli/bench/compare.c cli/bench/hist.c
cli_sched_bench_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS)
cli_sched_bench_LDADD += $(CURL_LIBS) -lpthread

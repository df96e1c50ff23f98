# sched-bench run/compare tests (the sched-bench owner's)
C_TESTS += t/t7001-sched-bench-parse
t_t7001_sched_bench_parse_SOURCES = t/t7001-sched-bench-parse.c t/tap.h cli/bench/bench.h \
	cli/bench/workload.c cli/bench/report.c cli/bench/hist.c
t_t7001_sched_bench_parse_LDADD = $(T_LDADD) -lm
SH_TESTS += t/t7002-sched-bench-run.sh

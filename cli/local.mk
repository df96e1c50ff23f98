# Command-line programs: kplane (server and components), kpctl, sched-bench.
bin_PROGRAMS += cli/kplane
cli_kplane_SOURCES = cli/kplane.c
cli_kplane_LDADD = store/libkpstore.la core/libkplane.la $(JANSSON_LIBS)

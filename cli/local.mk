# Command-line programs: kplane (server and components), kpctl, sched-bench.
# The kplane binary's subcommands live in cli/kplane-<name>.c; the lead wires
# them into cli/kplane.c. Other programs have their own fragments below.
bin_PROGRAMS += cli/kplane
cli_kplane_SOURCES = cli/kplane.c cli/commands.h
cli_kplane_LDADD = core/runtime/libkpruntime.la store/libkpstore.la core/libkplane.la $(JANSSON_LIBS) $(JEMALLOC_LIBS)

include cli/api.mk
include cli/sched.mk
include cli/kpctl.mk

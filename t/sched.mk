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

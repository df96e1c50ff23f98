# VolumeBinding and DefaultPreemption unit tests (static plugin table, test
# doubles of the framework in t/sched-more-lib.h).
T_SCHED_MORE_LDADD = plugins/libkpsched-static.la $(T_LDADD)
EXTRA_DIST += t/sched-more-lib.h

C_TESTS += t/t2170-volumebinding
t_t2170_volumebinding_SOURCES = t/t2170-volumebinding.c t/sched-more-lib.h t/tap.h
t_t2170_volumebinding_LDADD = $(T_SCHED_MORE_LDADD)

C_TESTS += t/t2171-preemption
t_t2171_preemption_SOURCES = t/t2171-preemption.c t/sched-more-lib.h t/tap.h
t_t2171_preemption_LDADD = $(T_SCHED_MORE_LDADD)

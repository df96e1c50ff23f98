# InterPodAffinity and PodTopologySpread tests (sched-affinity). They call
# the plugins through their static descriptors in plugins/libkpsched-static.la.
EXTRA_DIST += t/sched-affinity-lib.h
SCHED_AFFINITY_T_LDADD = plugins/libkpsched-static.la $(T_LDADD)

C_TESTS += t/t2140-interpodaffinity
t_t2140_interpodaffinity_SOURCES = t/t2140-interpodaffinity.c t/sched-affinity-lib.h t/tap.h
t_t2140_interpodaffinity_LDADD = $(SCHED_AFFINITY_T_LDADD)

C_TESTS += t/t2141-podtopologyspread
t_t2141_podtopologyspread_SOURCES = t/t2141-podtopologyspread.c t/sched-affinity-lib.h t/tap.h
t_t2141_podtopologyspread_LDADD = $(SCHED_AFFINITY_T_LDADD)

C_TESTS += t/t3140-interpodaffinity-score
t_t3140_interpodaffinity_score_SOURCES = t/t3140-interpodaffinity-score.c t/sched-affinity-lib.h t/tap.h
t_t3140_interpodaffinity_score_LDADD = $(SCHED_AFFINITY_T_LDADD)

C_TESTS += t/t3141-podtopologyspread-score
t_t3141_podtopologyspread_score_SOURCES = t/t3141-podtopologyspread-score.c t/sched-affinity-lib.h t/tap.h
t_t3141_podtopologyspread_score_LDADD = $(SCHED_AFFINITY_T_LDADD)

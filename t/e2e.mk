# end-to-end tests and the component runtime (lead)
SH_TESTS += t/t8001-e2e-schedule.sh
SH_TESTS += t/t8002-e2e-preemption.sh
SH_TESTS += t/t8003-e2e-components.sh
SH_TESTS += t/t8004-e2e-ha.sh
C_TESTS += t/t0010-runtime-recorder
t_t0010_runtime_recorder_SOURCES = t/t0010-runtime-recorder.c t/tap.h
t_t0010_runtime_recorder_LDADD = core/runtime/libkpruntime.la $(T_LDADD)

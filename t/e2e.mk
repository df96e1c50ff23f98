# end-to-end tests (lead)
SH_TESTS += t/t8001-e2e-schedule.sh
SH_TESTS += t/t8002-e2e-preemption.sh

# Controller runtime and controller tests (owned by the controllers work).
C_TESTS += t/t4001-ctl-workqueue
t_t4001_ctl_workqueue_SOURCES = t/t4001-ctl-workqueue.c t/tap.h \
	core/controller/workqueue.c core/controller/workqueue.h
t_t4001_ctl_workqueue_LDADD = $(T_LDADD) -lpthread

C_TESTS += t/t4002-ctl-workload
t_t4002_ctl_workload_SOURCES = t/t4002-ctl-workload.c t/tap.h \
	plugins/controllers/workload.c plugins/controllers/workload.h \
	plugins/controllers/cron.c plugins/controllers/cron.h
t_t4002_ctl_workload_LDADD = $(T_LDADD)
# Per-target flags give the test its own copy of workload.o (the modules
# build it with libtool).
t_t4002_ctl_workload_CFLAGS = $(AM_CFLAGS)

EXTRA_DIST += t/t4lib-ctl.sh
SH_TESTS += t/t4101-ctl-deployment.sh
SH_TESTS += t/t4102-ctl-replicaset-gc.sh

# The manager and the static controller table over a memory store (no HTTP,
# no dlopen).
C_TESTS += t/t4003-ctl-manager
t_t4003_ctl_manager_SOURCES = t/t4003-ctl-manager.c t/tap.h
t_t4003_ctl_manager_LDADD = plugins/libkpctl-static.la core/runtime/libkpruntime.la \
	core/api/libkpapi.la $(T_LDADD) $(MHD_LIBS) $(YAML_LIBS) -lpthread
SH_TESTS += t/t4103-ctl-job.sh
SH_TESTS += t/t4104-ctl-node-lifecycle.sh
SH_TESTS += t/t4105-ctl-endpoints.sh
SH_TESTS += t/t4106-ctl-daemonset.sh
SH_TESTS += t/t4107-ctl-statefulset.sh
SH_TESTS += t/t4108-ctl-persistentvolume.sh
SH_TESTS += t/t4109-ctl-cronjob.sh
SH_TESTS += t/t4110-ctl-hpa.sh
SH_TESTS += t/t4111-ctl-endpointslice.sh
SH_TESTS += t/t4120-ctl-job-policies.sh
SH_TESTS += t/t4121-ctl-daemonset-history.sh
SH_TESTS += t/t4140-ctl-pdb-eviction.sh
C_TESTS += t/t4122-ctl-history
t_t4122_ctl_history_SOURCES = t/t4122-ctl-history.c t/tap.h \
	plugins/controllers/workload.c plugins/controllers/workload.h
t_t4122_ctl_history_LDADD = $(T_LDADD)
t_t4122_ctl_history_CFLAGS = $(AM_CFLAGS)
SH_TESTS += t/t4112-ctl-metrics.sh
SH_TESTS += t/t4123-ctl-statefulset-fields.sh
SH_TESTS += t/t4113-ctl-top.sh
# kplane sim nodes (lead)
SH_TESTS += t/t4130-ctl-sim-nodes.sh

# Controller plugins (owned by the controllers work). Same pattern as the
# scheduler plugins (plugins/sched-basic.mk): every module is
# plugins/<name>.la, so plugins/.libs/ is one plugin directory for tests, and
# each source is compiled again with -DKP_PLUGIN_STATIC into
# plugins/libkpctl-static.la for unit tests (kp_plugin_<id> descriptors).
# workload.c holds the pure logic the unit tests check; modules that use it
# carry their own copy (nothing but kp_plugin is exported).
noinst_LTLIBRARIES += plugins/libkpctl-static.la
plugins_libkpctl_static_la_CPPFLAGS = $(AM_CPPFLAGS) -DKP_PLUGIN_STATIC
plugins_libkpctl_static_la_SOURCES = \
	plugins/controllers/common.h \
	plugins/controllers/workload.h \
	plugins/controllers/workload.c

plugins_LTLIBRARIES += plugins/replicaset.la
plugins_replicaset_la_SOURCES = plugins/controllers/replicaset.c \
	plugins/controllers/workload.c plugins/controllers/workload.h \
	plugins/controllers/common.h
plugins_replicaset_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_libkpctl_static_la_SOURCES += plugins/controllers/replicaset.c

plugins_LTLIBRARIES += plugins/node-sim.la
plugins_node_sim_la_SOURCES = plugins/controllers/node-sim.c plugins/controllers/common.h
plugins_node_sim_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_libkpctl_static_la_SOURCES += plugins/controllers/node-sim.c

plugins_LTLIBRARIES += plugins/deployment.la
plugins_deployment_la_SOURCES = plugins/controllers/deployment.c \
	plugins/controllers/workload.c plugins/controllers/workload.h \
	plugins/controllers/common.h
plugins_deployment_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_libkpctl_static_la_SOURCES += plugins/controllers/deployment.c

plugins_LTLIBRARIES += plugins/garbage-collector.la
plugins_garbage_collector_la_SOURCES = plugins/controllers/garbage-collector.c \
	plugins/controllers/common.h plugins/controllers/kinds-all.h
plugins_garbage_collector_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_libkpctl_static_la_SOURCES += plugins/controllers/garbage-collector.c

plugins_LTLIBRARIES += plugins/namespace.la
plugins_namespace_la_SOURCES = plugins/controllers/namespace.c \
	plugins/controllers/common.h plugins/controllers/kinds-all.h
plugins_namespace_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_libkpctl_static_la_SOURCES += plugins/controllers/namespace.c

# Scheduler plugins (sched-affinity): InterPodAffinity and PodTopologySpread,
# each a loadable module and a member of the static table (the pattern of
# plugins/sched-basic.mk). plugins/filter/tpcount.h is their shared
# header-only domain-count map.
noinst_HEADERS += plugins/filter/tpcount.h plugins/filter/nodecache.h plugins/filter/labelcol.h

plugins_LTLIBRARIES += plugins/inter-pod-affinity.la
plugins_inter_pod_affinity_la_SOURCES = plugins/filter/inter-pod-affinity.c
plugins_inter_pod_affinity_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_libkpsched_static_la_SOURCES += plugins/filter/inter-pod-affinity.c
SCHED_STATIC_PLUGINS += InterPodAffinity

plugins_LTLIBRARIES += plugins/pod-topology-spread.la
plugins_pod_topology_spread_la_SOURCES = plugins/filter/pod-topology-spread.c
plugins_pod_topology_spread_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_libkpsched_static_la_SOURCES += plugins/filter/pod-topology-spread.c
SCHED_STATIC_PLUGINS += PodTopologySpread

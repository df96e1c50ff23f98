# scheduler plugins (sched-more): VolumeBinding and DefaultPreemption, built
# like every in-tree plugin (see plugins/sched-basic.mk): a loadable module
# and the same source in the static table for unit tests.
plugins_LTLIBRARIES += plugins/volume-binding.la
plugins_volume_binding_la_SOURCES = plugins/filter/volume-binding.c
plugins_volume_binding_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_libkpsched_static_la_SOURCES += plugins/filter/volume-binding.c
SCHED_STATIC_PLUGINS += VolumeBinding

plugins_LTLIBRARIES += plugins/default-preemption.la
plugins_default_preemption_la_SOURCES = plugins/filter/default-preemption.c
plugins_default_preemption_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_libkpsched_static_la_SOURCES += plugins/filter/default-preemption.c
SCHED_STATIC_PLUGINS += DefaultPreemption

# Components running next to the API server: informers over the store and the
# scheduler runner (in-tree only, linked into the kplane binary).
noinst_LTLIBRARIES += core/runtime/libkpruntime.la
core_runtime_libkpruntime_la_SOURCES = \
	core/runtime/runtime.h \
	core/runtime/informer.c \
	core/runtime/events.c \
	core/runtime/sched-runner.c \
	core/runtime/leader.c
core_runtime_libkpruntime_la_LIBADD = store/libkpstore.la core/libkplane.la $(JANSSON_LIBS)

# Controller runtime (owned by the controllers work): the plugin ABI header,
# the work queue and the controller manager, linked into libkpruntime (the
# kplane binary links libkpapi, whose defaulting and validation the
# in-process client reuses).
kplaneinclude_HEADERS += core/include/kplane/controller.h
core_runtime_libkpruntime_la_SOURCES += \
	core/controller/workqueue.h \
	core/controller/workqueue.c \
	core/controller/manager.h \
	core/controller/manager.c
core_runtime_libkpruntime_la_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS)

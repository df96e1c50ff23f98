# Scheduling framework: part of libkplane (owned by the scheduler work).
core_libkplane_la_SOURCES += \
	core/sched/internal.h \
	core/sched/intern.c \
	core/sched/util.c
kplaneinclude_HEADERS += \
	core/include/kplane/plugin.h \
	core/include/kplane/sched.h

# Scheduling framework: part of libkplane (owned by the scheduler work).
core_libkplane_la_SOURCES += \
	core/sched/internal.h \
	core/sched/intern.c \
	core/sched/util.c \
	core/sched/mem.c \
	core/sched/podinfo.c \
	core/sched/cache.c \
	core/sched/queue.c \
	core/sched/config.c \
	core/sched/registry.c \
	core/sched/framework.c \
	core/sched/scheduler.c
kplaneinclude_HEADERS += \
	core/include/kplane/plugin.h \
	core/include/kplane/sched.h \
	core/include/kplane/scheduler.h

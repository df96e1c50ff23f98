# Scheduler and controller plugins; each module is one .so whose only exported
# symbol is `kp_plugin` (see PLUGIN_LDFLAGS). Fragments by owner:
include plugins/sched-basic.mk
include plugins/sched-affinity.mk
include plugins/sched-more.mk
include plugins/controllers.mk

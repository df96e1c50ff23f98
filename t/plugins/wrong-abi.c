/* A module built for another plugin ABI: the loader must refuse it unread. */
#include "config.h"
#include <kplane/plugin.h>
static const struct kp_sched_ops ops = { KP_SCHED_OPS };
const struct kp_plugin kp_plugin = {
	.abi_version = KP_PLUGIN_ABI_VERSION + 1, .layout = KP_PLUGIN_LAYOUT, .kind = KP_PLUGIN_SCHED,
	.name = "WrongAbi", .sched = &ops,
};

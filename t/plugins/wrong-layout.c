/* Same ABI number, different struct layout signature. */
#include "config.h"
#include <kplane/plugin.h>
static const struct kp_sched_ops ops = { KP_SCHED_OPS };
const struct kp_plugin kp_plugin = {
	.abi_version = KP_PLUGIN_ABI_VERSION, .layout = KP_PLUGIN_LAYOUT ^ 1u, .kind = KP_PLUGIN_SCHED,
	.name = "WrongLayout", .sched = &ops,
};

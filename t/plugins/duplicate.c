/* A second module calling itself NodeUnschedulable. */
#include "config.h"
#include <kplane/plugin.h>
static int filter(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		  const struct kp_node_info *node, struct kp_status *st)
{
	return KP_STATUS_SUCCESS;
}
static const struct kp_sched_ops ops = { KP_SCHED_OPS, .filter = filter };
const struct kp_plugin kp_plugin = {
	KP_PLUGIN_HEADER(KP_PLUGIN_SCHED), .name = "NodeUnschedulable", .version = "9", .sched = &ops,
};

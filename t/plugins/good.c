/* A working out-of-tree-style filter that fails init when args say so. */
#include "config.h"
#include <stddef.h>
#include <kplane/plugin.h>
struct args {
	bool fail;
};
static const struct kp_arg_spec spec[] = {
	{ "fail", KP_ARG_BOOL, offsetof(struct args, fail), "false", 0, 0 },
	{ NULL, 0, 0, NULL, 0, 0 },
};
static int init(const struct kp_sched_init *in, void **self, char **errmsg)
{
	const struct args *a = in->args;
	if (a->fail)
		return kp_error_set(errmsg, KP_EINVAL, "asked to fail");
	return 0;
}
static int filter(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		  const struct kp_node_info *node, struct kp_status *st)
{
	if (kp_labels_get(&node->labels, kp_intern("draining")) == KP_ID_NONE)
		return KP_STATUS_SUCCESS;
	kp_status_add(st, "node(s) are draining");
	return KP_STATUS_UNSCHEDULABLE;
}
static const struct kp_sched_ops ops = { KP_SCHED_OPS, .init = init, .filter = filter };
const struct kp_plugin kp_plugin = {
	KP_PLUGIN_HEADER(KP_PLUGIN_SCHED), .name = "TestDraining", .version = "1.0", .sched = &ops,
	.args = spec, .args_size = sizeof(struct args),
};

/*
 * node-name.c - NodeName: a pod that names its node (spec.nodeName) fits
 * only that node (kube-scheduler's plugins/nodename).
 */
#include "config.h"

#include <string.h>

#include <kplane/plugin.h>

static size_t events(void *self, struct kp_cluster_event *out, size_t cap)
{
	if (cap < 1)
		return 0;
	out[0] = (struct kp_cluster_event){ KP_EV_NODE, KP_EV_ADD | KP_EV_UPDATE };
	return 1;
}

static int filter(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		  const struct kp_node_info *node, struct kp_status *st)
{
	if (pod->node_name == KP_ID_NONE || pod->node_name == node->name_id)
		return KP_STATUS_SUCCESS;
	kp_status_add(st, "node(s) didn't match the requested node name");
	return KP_STATUS_UNRESOLVABLE;
}

static size_t filter_batch(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
			   const struct kp_node_info *const *nodes, const uint32_t *idx,
			   size_t n, uint8_t *fit)
{
	size_t bad = 0;
	int32_t want = pod->node_name;
	if (want == KP_ID_NONE) {
		memset(fit, 1, n);
		return 0;
	}
	const int32_t *name = kp_snapshot_cols(cy->snapshot)->name_id;
	for (size_t i = 0; i < n; i++) {
		fit[i] = want == name[idx[i]];
		bad += !fit[i];
	}
	return bad;
}

static const struct kp_sched_ops ops = {
	KP_SCHED_OPS,
	.events_to_register = events,
	.filter = filter,
	.filter_batch = filter_batch,
};

KP_PLUGIN_DEFINE(NodeName) = {
	KP_PLUGIN_HEADER(KP_PLUGIN_SCHED),
	.name = "NodeName",
	.version = "1.0",
	.description = "filter: spec.nodeName must name the node",
	.sched = &ops,
};

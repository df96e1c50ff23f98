/*
 * node-unschedulable.c - NodeUnschedulable: keeps pods off nodes with
 * spec.unschedulable unless they tolerate the
 * node.kubernetes.io/unschedulable:NoSchedule taint (kube-scheduler's
 * plugins/nodeunschedulable).
 */
#include "config.h"

#include <stdlib.h>

#include <kplane/plugin.h>

struct self {
	struct kp_taint taint; /* node.kubernetes.io/unschedulable:NoSchedule */
};

static int init(const struct kp_sched_init *in, void **out, char **errmsg)
{
	struct self *s = calloc(1, sizeof(*s));
	if (!s)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	s->taint.key = kp_intern("node.kubernetes.io/unschedulable");
	s->taint.value = kp_intern("");
	s->taint.effect = KP_EFFECT_NO_SCHEDULE;
	*out = s;
	return 0;
}

static void fini(void *self)
{
	free(self);
}

static size_t events(void *self, struct kp_cluster_event *out, size_t cap)
{
	static const struct kp_cluster_event ev[] = {
		{ KP_EV_NODE, KP_EV_ADD | KP_EV_UPDATE_NODE_TAINT },
		{ KP_EV_POD, KP_EV_UPDATE_POD_TOLERATION },
	};
	size_t n = sizeof(ev) / sizeof(ev[0]);
	for (size_t i = 0; i < n && i < cap; i++)
		out[i] = ev[i];
	return n < cap ? n : cap;
}

static int filter(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		  const struct kp_node_info *node, struct kp_status *st)
{
	const struct self *s = self;
	if (!node->unschedulable)
		return KP_STATUS_SUCCESS;
	for (uint32_t i = 0; i < pod->ntolerations; i++)
		if (kp_toleration_tolerates(&pod->tolerations[i], &s->taint))
			return KP_STATUS_SUCCESS;
	kp_status_add(st, "node(s) were unschedulable");
	return KP_STATUS_UNRESOLVABLE;
}

static size_t filter_batch(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
			   const struct kp_node_info *const *nodes, const uint32_t *idx,
			   size_t n, uint8_t *fit)
{
	const struct self *s = self;
	bool tolerates = false;
	for (uint32_t i = 0; i < pod->ntolerations && !tolerates; i++)
		tolerates = kp_toleration_tolerates(&pod->tolerations[i], &s->taint);
	size_t bad = 0;
	const uint8_t *unsched = kp_snapshot_cols(cy->snapshot)->unschedulable;
	for (size_t i = 0; i < n; i++) {
		fit[i] = tolerates || !unsched[idx[i]];
		bad += !fit[i];
	}
	return bad;
}

static const struct kp_sched_ops ops = {
	KP_SCHED_OPS,
	.init = init,
	.fini = fini,
	.events_to_register = events,
	.filter = filter,
	.filter_batch = filter_batch,
};

KP_PLUGIN_DEFINE(NodeUnschedulable) = {
	KP_PLUGIN_HEADER(KP_PLUGIN_SCHED),
	.name = "NodeUnschedulable",
	.version = "1.0",
	.description = "filter: nodes marked unschedulable, unless the pod tolerates it",
	.sched = &ops,
};

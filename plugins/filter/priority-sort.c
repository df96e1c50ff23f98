/*
 * priority-sort.c - PrioritySort: the default QueueSort. Higher
 * spec.priority first; equal priorities in the order they entered the
 * queue (kube-scheduler's plugins/queuesort).
 */
#include "config.h"

#include <kplane/plugin.h>

static bool less(void *self, const struct kp_queued_pod *a, const struct kp_queued_pod *b)
{
	if (a->pod->priority != b->pod->priority)
		return a->pod->priority > b->pod->priority;
	return a->timestamp_ns < b->timestamp_ns;
}

static const struct kp_sched_ops ops = {
	KP_SCHED_OPS,
	.less = less,
};

KP_PLUGIN_DEFINE(PrioritySort) = {
	KP_PLUGIN_HEADER(KP_PLUGIN_SCHED),
	.name = "PrioritySort",
	.version = "1.0",
	.description = "queue sort: higher priority first, then first in",
	.sched = &ops,
};

/*
 * scheduling-gates.c - SchedulingGates: a pod with spec.schedulingGates
 * stays out of the active queue until the gates are removed
 * (kube-scheduler's plugins/schedulinggates).
 */
#include "config.h"

#include <string.h>

#include <kplane/plugin.h>

static size_t events(void *self, struct kp_cluster_event *out, size_t cap)
{
	if (cap < 1)
		return 0;
	out[0] = (struct kp_cluster_event){ KP_EV_POD, KP_EV_UPDATE_POD_GATES };
	return 1;
}

static int pre_enqueue(void *self, const struct kp_pod_info *pod, struct kp_status *st)
{
	if (pod->nscheduling_gates == 0)
		return KP_STATUS_SUCCESS;
	/* kube lists the gate names: "waiting for scheduling gates: [a b]" */
	char buf[KP_STATUS_BUFSZ - 40];
	size_t len = 0;
	buf[0] = 0;
	const json_t *gates = json_object_get(json_object_get(pod->obj, "spec"), "schedulingGates");
	size_t i;
	const json_t *g;
	json_array_foreach((json_t *)gates, i, g) {
		const char *name = json_string_value(json_object_get(g, "name"));
		int n = snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? " " : "", name ? name : "");
		if (n < 0 || (size_t)n >= sizeof(buf) - len)
			break;
		len += (size_t)n;
	}
	kp_status_addf(st, "waiting for scheduling gates: [%s]", buf);
	return KP_STATUS_UNRESOLVABLE;
}

static const struct kp_sched_ops ops = {
	KP_SCHED_OPS,
	.events_to_register = events,
	.pre_enqueue = pre_enqueue,
};

KP_PLUGIN_DEFINE(SchedulingGates) = {
	KP_PLUGIN_HEADER(KP_PLUGIN_SCHED),
	.name = "SchedulingGates",
	.version = "1.0",
	.description = "pre-enqueue: hold pods until their scheduling gates are removed",
	.sched = &ops,
};

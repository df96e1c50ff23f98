/*
 * node-ports.c - NodePorts: a pod's hostPorts must be free on the node
 * (kube-scheduler's plugins/nodeports). Two ports conflict when protocol
 * and port are equal and the host IPs are equal or either is 0.0.0.0.
 */
#include "config.h"

#include <stdlib.h>

#include <kplane/plugin.h>

struct self {
	int32_t any_ip; /* id of "0.0.0.0" */
};

static int init(const struct kp_sched_init *in, void **out, char **errmsg)
{
	struct self *s = calloc(1, sizeof(*s));
	if (!s)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	s->any_ip = kp_intern("0.0.0.0");
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
		{ KP_EV_POD, KP_EV_DELETE },
		{ KP_EV_NODE, KP_EV_ADD | KP_EV_UPDATE },
	};
	size_t n = cap < 2 ? cap : 2;
	for (size_t i = 0; i < n; i++)
		out[i] = ev[i];
	return n;
}

static int pre_filter(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		      struct kp_node_set *nodes, struct kp_status *st)
{
	/* nothing to check for pods without host ports */
	return pod->nhost_ports ? KP_STATUS_SUCCESS : KP_STATUS_SKIP;
}

static int filter(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		  const struct kp_node_info *node, struct kp_status *st)
{
	const struct self *s = self;
	for (uint32_t i = 0; i < pod->nhost_ports; i++) {
		const struct kp_host_port *want = &pod->host_ports[i];
		for (uint32_t j = 0; j < node->nused_ports; j++) {
			const struct kp_host_port *used = &node->used_ports[j];
			if (used->port != want->port || used->protocol != want->protocol)
				continue;
			if (used->ip == want->ip || used->ip == s->any_ip || want->ip == s->any_ip) {
				kp_status_add(st, "node(s) didn't have free ports for the requested pod ports");
				return KP_STATUS_UNSCHEDULABLE;
			}
		}
	}
	return KP_STATUS_SUCCESS;
}

static const struct kp_sched_ops ops = {
	KP_SCHED_OPS,
	.init = init,
	.fini = fini,
	.events_to_register = events,
	.pre_filter = pre_filter,
	.filter = filter,
};

KP_PLUGIN_DEFINE(NodePorts) = {
	KP_PLUGIN_HEADER(KP_PLUGIN_SCHED),
	.name = "NodePorts",
	.version = "1.0",
	.description = "filter: the pod's hostPorts must be free on the node",
	.sched = &ops,
};

/*
 * node-draining.c - an out-of-tree kplane scheduler plugin: the Filter
 * "NodeDraining" keeps pods off nodes labelled kplane.io/draining=true
 * (a node being emptied for maintenance before it is cordoned).
 *
 * Build against an installed kplane and drop the module into a plugin
 * directory (see README.md):
 *
 *   cc -shared -fPIC -o node-draining.so node-draining.c $(pkg-config --cflags --libs kplane)
 *
 * Then enable it in a profile (multiPoint joins every point it implements):
 *
 *   profiles:
 *   - plugins: {multiPoint: {enabled: [{name: NodeDraining}]}}
 */
#include <stdlib.h>

#include <kplane/plugin.h>

/* Interned once in init: Filter compares ids, never strings. */
struct self {
	int32_t key;   /* "kplane.io/draining" */
	int32_t value; /* "true" */
};

static int init(const struct kp_sched_init *in, void **out, char **errmsg)
{
	(void)in;
	(void)errmsg;
	struct self *s = malloc(sizeof(*s));
	if (!s)
		return KP_ENOMEM;
	s->key = kp_intern("kplane.io/draining");
	s->value = kp_intern("true");
	*out = s;
	return 0;
}

static void fini(void *self)
{
	free(self);
}

static int filter(void *self_, struct kp_cycle *cy, const struct kp_pod_info *pod,
		  const struct kp_node_info *node, struct kp_status *st)
{
	const struct self *self = self_;
	(void)cy;
	(void)pod;
	if (kp_labels_get(&node->labels, self->key) != self->value)
		return KP_STATUS_SUCCESS;
	/* a static string: the framework keeps the pointer without copying */
	kp_status_add(st, "node(s) were draining");
	/* preemption cannot make room on a draining node */
	return KP_STATUS_UNRESOLVABLE;
}

/* A pod rejected here may fit once a node's labels change (or a node comes). */
static size_t events(void *self, struct kp_cluster_event *out, size_t cap)
{
	(void)self;
	if (cap < 1)
		return 0;
	out[0] = (struct kp_cluster_event){ KP_EV_NODE, KP_EV_ADD | KP_EV_UPDATE_NODE_LABEL };
	return 1;
}

static const struct kp_sched_ops ops = {
	KP_SCHED_OPS,
	.init = init,
	.fini = fini,
	.events_to_register = events,
	.filter = filter,
};

const struct kp_plugin kp_plugin = {
	KP_PLUGIN_HEADER(KP_PLUGIN_SCHED),
	.name = "NodeDraining",
	.version = "1.0",
	.description = "keeps pods off nodes labelled kplane.io/draining=true",
	.sched = &ops,
};

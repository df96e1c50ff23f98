/*
 * default-binder.c - DefaultBinder: binds through the host (the store's
 * pods/binding in kplane server; the in-memory cluster in sched-bench).
 */
#include "config.h"

#include <stdlib.h>

#include <kplane/plugin.h>

struct self {
	struct kp_sched_handle *h;
};

static int init(const struct kp_sched_init *in, void **out, char **errmsg)
{
	struct self *s = calloc(1, sizeof(*s));
	if (!s)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	s->h = in->handle;
	*out = s;
	return 0;
}

static void fini(void *self)
{
	free(self);
}

static int bind(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		const struct kp_node_info *node, struct kp_status *st)
{
	struct self *s = self;
	char *e = NULL;
	int rc = kp_sched_host_bind(s->h, pod, node, &e);
	if (rc < 0) {
		kp_status_addf(st, "%s", e ? e : kp_strerror(rc));
		free(e);
		return KP_STATUS_ERROR;
	}
	return KP_STATUS_SUCCESS;
}

static const struct kp_sched_ops ops = {
	KP_SCHED_OPS,
	.init = init,
	.fini = fini,
	.bind = bind,
};

KP_PLUGIN_DEFINE(DefaultBinder) = {
	KP_PLUGIN_HEADER(KP_PLUGIN_SCHED),
	.name = "DefaultBinder",
	.version = "1.0",
	.description = "bind: set the pod's node through the host (pods/binding)",
	.sched = &ops,
};

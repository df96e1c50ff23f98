/*
 * namespace.c - the namespace controller: a namespace being deleted (the
 * API server set deletionTimestamp and phase Terminating, and keeps it
 * while spec.finalizers holds "kubernetes") has everything in it deleted;
 * once nothing is left, the controller removes its "kubernetes" finalizer
 * and the namespace goes.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <kplane/controller.h>

#include "plugins/controllers/common.h"
#include "plugins/controllers/kinds-all.h"

static const struct kp_ctl_kind kinds[] = {
	{ "", "v1", "Namespace", "namespaces" },
	KP__NAMESPACED_KINDS,
	{ "", "v1", "Event", "events" },
	{ NULL, NULL, NULL, NULL },
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]) - 1)

static bool terminating(const json_t *ns)
{
	return ns && kp_obj_str(ns, "metadata.deletionTimestamp");
}

static void on_change(struct kp_ctl *c, void *state, unsigned kind, int change,
		      const json_t *old, const json_t *obj)
{
	(void)state;
	(void)old;
	if (kind == 0) {
		if (change != KP_CTL_DELETED && terminating(obj))
			kp_ctl_enqueue(c, kp_obj_name(obj), 0);
		return;
	}
	/* The last objects of a terminating namespace going lets it finish. */
	if (change != KP_CTL_DELETED)
		return;
	json_t *ns = kp_ctl_get(c, 0, NULL, kp_obj_namespace(obj));
	if (terminating(ns))
		kp_ctl_enqueue(c, kp_obj_name(ns), 100);
	json_decref(ns);
}

static int64_t reconcile(struct kp_ctl *c, void *state, const char *key, char **errmsg)
{
	(void)state;
	json_t *ns = kp_ctl_get(c, 0, NULL, key);
	if (!terminating(ns)) {
		json_decref(ns);
		return 0;
	}
	size_t left = 0;
	int rc = 0;
	for (unsigned k = 1; k < NKINDS; k++) {
		json_t *objs = kp_ctl_list(c, k, key, NULL);
		size_t i;
		json_t *o;
		json_array_foreach(objs, i, o) {
			left++;
			if (kp_obj_str(o, "metadata.deletionTimestamp"))
				continue;
			char *err = NULL;
			int r = kp_ctl_delete(c, k, key, kp_obj_name(o), kp_obj_uid(o),
					      KP_CTL_BACKGROUND, &err);
			if (r < 0 && r != KP_ECONFLICT && r != KP_ENOENT && !rc)
				rc = kp_error_set(errmsg, r, "deleting %s %s/%s: %s", kinds[k].kind,
						  key, kp_obj_name(o), err ? err : kp_strerror(r));
			free(err);
		}
		json_decref(objs);
	}
	if (rc < 0 || left) {
		json_decref(ns);
		/* Deletions wake us through on_change; this catches finalizer waits. */
		return rc < 0 ? rc : 1000;
	}
	json_t *copy = json_deep_copy(ns);
	json_decref(ns);
	json_t *f = kp_obj_get(copy, "spec.finalizers");
	for (size_t i = 0; i < json_array_size(f);) {
		const char *v = json_string_value(json_array_get(f, i));
		if (v && !strcmp(v, "kubernetes"))
			json_array_remove(f, i);
		else
			i++;
	}
	rc = kp_ctl_update(c, 0, copy, NULL, errmsg);
	json_decref(copy);
	return rc == KP_ENOENT ? 0 : rc;
}

static const struct kp_controller_ops ops = {
	KP_CONTROLLER_OPS,
	.kinds = kinds,
	.workers = 2,
	.on_change = on_change,
	.reconcile = reconcile,
	/* Events: listed when a namespace goes, not watched (every pod bound
	 * writes one; decoding and caching them all cost more than the rest of
	 * this controller) */
	.uncached = 1ull << (NKINDS - 1),
};

KP_PLUGIN_DEFINE(namespace) = {
	KP_PLUGIN_HEADER(KP_PLUGIN_CONTROLLER),
	.name = "namespace",
	.version = "1.0",
	.description = "empties namespaces being deleted, then finalizes them",
	.controller = &ops,
};

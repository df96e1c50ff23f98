/*
 * garbage-collector.c - ownerReferences, as kube-controller-manager's
 * garbage collector handles them:
 *  - an object whose owners are all gone is deleted (in the foreground when
 *    one of them was being deleted in the foreground);
 *  - references to owners that are gone are removed when others remain;
 *  - an owner deleted with propagationPolicy Foreground (finalizer
 *    foregroundDeletion) has its dependents deleted first, and goes once no
 *    dependent with blockOwnerDeletion is left;
 *  - an owner deleted with Orphan (finalizer orphan) has the references to
 *    it removed from its dependents, then goes;
 *  - Background (the default) deletes the owner at once; its dependents go
 *    by the first rule.
 * Owners are looked up in the caches of the kinds below, and in the store
 * before anything is deleted (a cache may lag behind a new owner).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <kplane/controller.h>

#include "plugins/controllers/common.h"
#include "plugins/controllers/kinds-all.h"

static const struct kp_ctl_kind kinds[] = {
	{ "", "v1", "Node", "nodes" },
	{ "", "v1", "Namespace", "namespaces" },
	{ "", "v1", "PersistentVolume", "persistentvolumes" },
	{ "rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles" },
	{ "rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings" },
	{ "scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses" },
	{ "storage.k8s.io", "v1", "StorageClass", "storageclasses" },
	KP__NAMESPACED_KINDS,
	{ NULL, NULL, NULL, NULL },
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]) - 1)
/* kinds[] before this index are cluster-scoped. */
#define FIRST_NAMESPACED 7u

/* Kind index of an ownerReference's apiVersion/kind; -1 when not cached. */
static int kind_of_ref(const json_t *ref)
{
	const char *av = json_string_value(json_object_get(ref, "apiVersion"));
	const char *kind = json_string_value(json_object_get(ref, "kind"));
	if (!av || !kind)
		return -1;
	const char *slash = strchr(av, '/');
	size_t gl = slash ? (size_t)(slash - av) : 0;
	for (unsigned i = 0; i < NKINDS; i++)
		if (!strcmp(kinds[i].kind, kind) && strlen(kinds[i].group) == gl &&
		    !strncmp(kinds[i].group, av, gl))
			return (int)i;
	return -1;
}

static void enqueue(struct kp_ctl *c, unsigned kind, const char *ns, const char *name)
{
	char k[700];
	snprintf(k, sizeof(k), "%u/%s/%s", kind, kind >= FIRST_NAMESPACED && ns ? ns : "", name);
	kp_ctl_enqueue(c, k, 0);
}

static bool has_finalizer(const json_t *obj, const char *f)
{
	size_t i;
	json_t *v;
	json_array_foreach(kp_obj_get(obj, "metadata.finalizers"), i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), f))
			return true;
	return false;
}

static void enqueue_owners(struct kp_ctl *c, const json_t *obj)
{
	size_t i;
	json_t *ref;
	json_array_foreach(kp_obj_get(obj, "metadata.ownerReferences"), i, ref) {
		int k = kind_of_ref(ref);
		const char *name = json_string_value(json_object_get(ref, "name"));
		if (k >= 0 && name)
			enqueue(c, (unsigned)k, kp_obj_namespace(obj), name);
	}
}

static void on_change(struct kp_ctl *c, void *state, unsigned kind, int change,
		      const json_t *old, const json_t *obj)
{
	(void)state;
	(void)old;
	bool owned = json_array_size(kp_obj_get(obj, "metadata.ownerReferences")) > 0;
	if (change == KP_CTL_DELETED) {
		/* Dependents of a vanished owner, and owners waiting for their dependents. */
		for (unsigned i = 0; i < NKINDS; i++) {
			json_t *deps = kp_ctl_list_owned(c, i, NULL, kp_obj_uid(obj));
			size_t j;
			json_t *d;
			json_array_foreach(deps, j, d)
				enqueue(c, i, kp_obj_namespace(d), kp_obj_name(d));
			json_decref(deps);
		}
		if (owned)
			enqueue_owners(c, obj);
		return;
	}
	if (owned)
		enqueue(c, kind, kp_obj_namespace(obj), kp_obj_name(obj));
	if (kp_obj_str(obj, "metadata.deletionTimestamp")) {
		if (has_finalizer(obj, "foregroundDeletion") || has_finalizer(obj, "orphan"))
			enqueue(c, kind, kp_obj_namespace(obj), kp_obj_name(obj));
		if (owned)
			enqueue_owners(c, obj);
	}
}

static int remove_finalizer(struct kp_ctl *c, unsigned kind, const json_t *obj, const char *f,
			    char **errmsg)
{
	json_t *copy = json_deep_copy(obj);
	json_t *a = kp_obj_get(copy, "metadata.finalizers");
	for (size_t i = 0; i < json_array_size(a);) {
		const char *v = json_string_value(json_array_get(a, i));
		if (v && !strcmp(v, f))
			json_array_remove(a, i);
		else
			i++;
	}
	if (a && !json_array_size(a))
		kp_obj_del(copy, "metadata.finalizers");
	int rc = kp_ctl_update(c, kind, copy, NULL, errmsg);
	json_decref(copy);
	return rc == KP_ENOENT ? 0 : rc;
}

/* Every cached dependent of uid (new array of [kind index, object] pairs). */
static json_t *dependents(struct kp_ctl *c, const char *uid)
{
	json_t *out = json_array();
	for (unsigned i = 0; i < NKINDS; i++) {
		json_t *deps = kp_ctl_list_owned(c, i, NULL, uid);
		size_t j;
		json_t *d;
		json_array_foreach(deps, j, d)
			json_array_append_new(out, json_pack("[i, O]", (int)i, d));
		json_decref(deps);
	}
	return out;
}

static bool ref_blocks(const json_t *dep, const char *uid)
{
	size_t i;
	json_t *ref;
	json_array_foreach(kp_obj_get(dep, "metadata.ownerReferences"), i, ref) {
		const char *u = json_string_value(json_object_get(ref, "uid"));
		if (u && !strcmp(u, uid))
			return json_is_true(json_object_get(ref, "blockOwnerDeletion"));
	}
	return false;
}

/* The owner's deletion, when it waits for the collector. */
static int64_t finish_owner(struct kp_ctl *c, unsigned kind, const json_t *obj, char **errmsg)
{
	const char *uid = kp_obj_uid(obj);
	json_t *deps = dependents(c, uid);
	size_t i;
	json_t *pair;
	int rc = 0;
	if (has_finalizer(obj, "orphan")) {
		json_array_foreach(deps, i, pair) {
			unsigned k = (unsigned)json_integer_value(json_array_get(pair, 0));
			json_t *copy = json_deep_copy(json_array_get(pair, 1));
			kp__remove_owner_ref(copy, uid);
			int r = kp_ctl_update(c, k, copy, NULL, errmsg);
			json_decref(copy);
			if (r < 0 && r != KP_ENOENT) {
				json_decref(deps);
				return r;
			}
			free(*errmsg);
			*errmsg = NULL;
		}
		json_decref(deps);
		return remove_finalizer(c, kind, obj, "orphan", errmsg);
	}
	/* foregroundDeletion: dependents first. */
	bool blocked = false;
	json_array_foreach(deps, i, pair) {
		unsigned k = (unsigned)json_integer_value(json_array_get(pair, 0));
		json_t *d = json_array_get(pair, 1);
		if (ref_blocks(d, uid))
			blocked = true;
		if (kp_obj_str(d, "metadata.deletionTimestamp"))
			continue;
		int r = kp_ctl_delete(c, k, kp_obj_namespace(d), kp_obj_name(d), kp_obj_uid(d),
				      ref_blocks(d, uid) ? KP_CTL_FOREGROUND : KP_CTL_BACKGROUND,
				      errmsg);
		if (r < 0 && r != KP_ENOENT && !rc)
			rc = r;
	}
	json_decref(deps);
	if (rc < 0)
		return rc;
	if (blocked)
		return 2000; /* dependents' deletions wake us; this is a safety net */
	return remove_finalizer(c, kind, obj, "foregroundDeletion", errmsg);
}

enum owner_state { OWNER_ABSENT, OWNER_PRESENT, OWNER_FOREGROUND, OWNER_UNKNOWN };

static enum owner_state owner_state(struct kp_ctl *c, const json_t *dep, const json_t *ref)
{
	int k = kind_of_ref(ref);
	const char *name = json_string_value(json_object_get(ref, "name"));
	const char *uid = json_string_value(json_object_get(ref, "uid"));
	if (k < 0 || !name || !uid)
		return OWNER_UNKNOWN; /* a kind we cannot look up is never taken as gone */
	const char *ns = (unsigned)k >= FIRST_NAMESPACED ? kp_obj_namespace(dep) : NULL;
	json_t *o = kp_ctl_get(c, (unsigned)k, ns, name);
	if (!o || !kp_obj_uid(o) || strcmp(kp_obj_uid(o), uid)) {
		/* Confirm in the store: the cache may not have seen a new owner yet. */
		json_decref(o);
		o = kp_ctl_get_live(c, (unsigned)k, ns, name);
		if (!o || !kp_obj_uid(o) || strcmp(kp_obj_uid(o), uid)) {
			json_decref(o);
			return OWNER_ABSENT;
		}
	}
	enum owner_state s = kp_obj_str(o, "metadata.deletionTimestamp") &&
					     has_finalizer(o, "foregroundDeletion") ?
				     OWNER_FOREGROUND :
				     OWNER_PRESENT;
	json_decref(o);
	return s;
}

/* uids of obj's owners that are gone (new array); counts absent and foreground-waiting ones. */
static json_t *owners_gone(struct kp_ctl *c, const json_t *obj, size_t *absent, size_t *waiting)
{
	json_t *gone = json_array();
	*absent = *waiting = 0;
	size_t i;
	json_t *ref;
	json_array_foreach(kp_obj_get(obj, "metadata.ownerReferences"), i, ref) {
		enum owner_state s = owner_state(c, obj, ref);
		if (s == OWNER_ABSENT) {
			(*absent)++;
			json_array_append(gone, json_object_get(ref, "uid"));
		} else if (s == OWNER_FOREGROUND &&
			   json_is_true(json_object_get(ref, "blockOwnerDeletion"))) {
			(*waiting)++;
		}
	}
	return gone;
}

static int64_t reconcile(struct kp_ctl *c, void *state, const char *key, char **errmsg)
{
	(void)state;
	char *end;
	unsigned long kind = strtoul(key, &end, 10);
	if (*end != '/' || kind >= NKINDS)
		return 0;
	const char *ns = end + 1, *slash = strchr(ns, '/');
	if (!slash)
		return 0;
	char nsb[256];
	snprintf(nsb, sizeof(nsb), "%.*s", (int)(slash - ns), ns);
	const char *name = slash + 1;
	json_t *obj = kp_ctl_get(c, (unsigned)kind, nsb, name);
	if (!obj)
		return 0;
	int64_t ret = 0;
	if (kp_obj_str(obj, "metadata.deletionTimestamp") &&
	    (has_finalizer(obj, "orphan") || has_finalizer(obj, "foregroundDeletion"))) {
		ret = finish_owner(c, (unsigned)kind, obj, errmsg);
		if (ret < 0)
			goto out;
	}
	if (!json_array_size(kp_obj_get(obj, "metadata.ownerReferences")))
		goto out;
	/* Decide on the cached copy; act only on what the store says (kube's
	 * attemptToDeleteItem reads the latest object too): our own writes, such
	 * as an orphaning, may not have reached this kind's cache yet. */
	for (int pass = 0; pass < 2; pass++) {
		size_t absent, waiting;
		json_t *gone = owners_gone(c, obj, &absent, &waiting);
		size_t n = json_array_size(kp_obj_get(obj, "metadata.ownerReferences"));
		bool act = absent == n || (waiting && waiting + absent == n) || absent;
		if (!act || !n) {
			json_decref(gone);
			break;
		}
		if (pass == 0) {
			json_decref(gone);
			json_t *live = kp_ctl_get_live(c, (unsigned)kind, nsb, name);
			if (!live || strcmp(kp_obj_uid(live) ? kp_obj_uid(live) : "",
					    kp_obj_uid(obj) ? kp_obj_uid(obj) : "")) {
				json_decref(live);
				break;
			}
			json_decref(obj);
			obj = live;
			continue;
		}
		int rc = 0;
		if (absent == n || (waiting && waiting + absent == n)) {
			if (!kp_obj_str(obj, "metadata.deletionTimestamp"))
				rc = kp_ctl_delete(c, (unsigned)kind, nsb, name, kp_obj_uid(obj),
						   waiting ? KP_CTL_FOREGROUND : KP_CTL_BACKGROUND,
						   errmsg);
			if (rc == KP_ENOENT) /* gone already */
				rc = 0;
		} else {
			json_t *copy = json_deep_copy(obj);
			size_t i;
			json_t *u;
			json_array_foreach(gone, i, u)
				kp__remove_owner_ref(copy, json_string_value(u));
			rc = kp_ctl_update(c, (unsigned)kind, copy, NULL, errmsg);
			if (rc == KP_ENOENT)
				rc = 0;
			json_decref(copy);
		}
		json_decref(gone);
		if (rc < 0)
			ret = rc;
	}
out:
	json_decref(obj);
	return ret;
}

static const struct kp_controller_ops ops = {
	KP_CONTROLLER_OPS,
	.kinds = kinds,
	.workers = 4,
	.on_change = on_change,
	.reconcile = reconcile,
};

KP_PLUGIN_DEFINE(garbage_collector) = {
	KP_PLUGIN_HEADER(KP_PLUGIN_CONTROLLER),
	.name = "garbage-collector",
	.version = "1.0",
	.description = "deletes dependents of deleted owners (ownerReferences)",
	.controller = &ops,
};

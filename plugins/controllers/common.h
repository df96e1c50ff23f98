/*
 * common.h - small helpers shared by the in-tree controllers (static
 * inline: each module carries its own copy).
 */
#ifndef KPLANE_PLUGINS_CONTROLLERS_COMMON_H
#define KPLANE_PLUGINS_CONTROLLERS_COMMON_H

#include <stdio.h>
#include <string.h>

#include <kplane/controller.h>
#include <kplane/error.h>
#include <kplane/object.h>

/* Enqueues obj's "namespace/name" key. */
static inline void kp__enqueue_obj(struct kp_ctl *c, const json_t *obj)
{
	char k[600];
	snprintf(k, sizeof(k), "%s/%s", kp_obj_namespace(obj), kp_obj_name(obj));
	kp_ctl_enqueue(c, k, 0);
}

/*
 * Enqueues the key of obj's controller owner when it is of `kind`; returns
 * false when obj has no controller owner at all (an orphan), true otherwise.
 */
static inline bool kp__enqueue_owner(struct kp_ctl *c, const json_t *obj, const char *kind)
{
	json_t *ref = kp_obj_controller_ref(obj);
	if (!ref)
		return false;
	const char *rk = json_string_value(json_object_get(ref, "kind"));
	const char *rn = json_string_value(json_object_get(ref, "name"));
	if (rk && rn && !strcmp(rk, kind)) {
		char k[600];
		snprintf(k, sizeof(k), "%s/%s", kp_obj_namespace(obj), rn);
		kp_ctl_enqueue(c, k, 0);
	}
	return true;
}

/* Splits "ns/name" into its parts (buffers of n bytes); false when malformed. */
static inline bool kp__split_key(const char *key, char *ns, char *name, size_t n)
{
	const char *slash = strchr(key, '/');
	if (!slash || (size_t)(slash - key) >= n || strlen(slash + 1) >= n || !slash[1])
		return false;
	memcpy(ns, key, (size_t)(slash - key));
	ns[slash - key] = 0;
	strcpy(name, slash + 1);
	return true;
}

/*
 * Sets (or replaces) the condition of cond's type in status.conditions; steals
 * cond. Unlike kp_obj_set_condition() it always replaces: the workload
 * controllers compute lastUpdateTime/lastTransitionTime themselves, as their
 * Kubernetes counterparts do. kp_obj_condition() reads one back.
 */
static inline void kp__set_condition(json_t *obj, json_t *cond)
{
	json_t *conds = kp_obj_get(obj, "status.conditions");
	if (!json_is_array(conds)) {
		conds = json_array();
		kp_obj_set(obj, "status.conditions", conds);
	}
	const char *type = json_string_value(json_object_get(cond, "type"));
	size_t i;
	json_t *c;
	json_array_foreach(conds, i, c) {
		const char *t = json_string_value(json_object_get(c, "type"));
		if (t && type && !strcmp(t, type)) {
			json_array_set_new(conds, i, cond);
			return;
		}
	}
	json_array_append_new(conds, cond);
}

/* True when the template's labels (borrowed) are all on the pod. */
static inline bool kp__labels_subset(const json_t *want, const json_t *have)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)want, k, v) {
		const char *h = json_string_value(json_object_get(have, k));
		if (!h || !json_string_value(v) || strcmp(h, json_string_value(v)))
			return false;
	}
	return true;
}

/* Removes the ownerReference with this uid from obj (in place). */
static inline void kp__remove_owner_ref(json_t *obj, const char *uid)
{
	json_t *refs = kp_obj_get(obj, "metadata.ownerReferences");
	for (size_t i = 0; i < json_array_size(refs);) {
		const char *u = json_string_value(json_object_get(json_array_get(refs, i), "uid"));
		if (u && !strcmp(u, uid))
			json_array_remove(refs, i);
		else
			i++;
	}
	if (refs && !json_array_size(refs))
		kp_obj_del(obj, "metadata.ownerReferences");
}

/* Whether toleration tol matches taint t (kube's Toleration.ToleratesTaint). */
static inline bool kp__tolerates(const json_t *tol, const json_t *t)
{
	const char *te = json_string_value(json_object_get(t, "effect"));
	const char *oe = json_string_value(json_object_get(tol, "effect"));
	if (oe && *oe && (!te || strcmp(oe, te)))
		return false;
	const char *ok = json_string_value(json_object_get(tol, "key"));
	const char *tk = json_string_value(json_object_get(t, "key"));
	const char *op = json_string_value(json_object_get(tol, "operator"));
	if (ok && *ok && (!tk || strcmp(ok, tk)))
		return false;
	if (op && !strcmp(op, "Exists"))
		return true;
	if (!ok || !*ok)
		return false; /* an empty key needs Exists */
	const char *ov = json_string_value(json_object_get(tol, "value"));
	const char *tv = json_string_value(json_object_get(t, "value"));
	return !strcmp(ov ? ov : "", tv ? tv : "");
}

#endif

/*
 * controller.h - the controller plugin ABI: what a controller module
 * declares (the kinds it caches, its reconcile function) and the context
 * through which it reads caches and writes objects.
 *
 * A controller is a module of kind KP_PLUGIN_CONTROLLER (see plugin.h):
 *
 *   static const struct kp_ctl_kind kinds[] = {
 *           { "apps", "v1", "ReplicaSet", "replicasets" },   // index 0: primary
 *           { "", "v1", "Pod", "pods" },                     // index 1
 *           { NULL },
 *   };
 *   static const struct kp_controller_ops ops = {
 *           KP_CONTROLLER_OPS,
 *           .kinds = kinds,
 *           .reconcile = reconcile,
 *   };
 *   KP_PLUGIN_DEFINE(replicaset) = {
 *           KP_PLUGIN_HEADER(KP_PLUGIN_CONTROLLER),
 *           .name = "replicaset", .version = "1.0", .controller = &ops,
 *   };
 *
 * The manager keeps one informer cache per kind (shared by every
 * controller), calls ops.on_change for each change of a declared kind (or,
 * without on_change, enqueues the key of the object itself when it is of the
 * primary kind and of its controller owner when that owner is of the
 * primary kind), and runs `workers` threads that take keys from the
 * controller's work queue and call ops.reconcile. A key is never reconciled
 * by two workers at once.
 *
 * Calls into the core go through the function table in struct kp_ctl (the
 * Redis-modules / sqlite3_api pattern), wrapped by the static inline
 * kp_ctl_* functions below: a module needs no symbol from the kplane
 * binary. The table is size-prefixed and only grows at its end.
 *
 * Objects: every json_t a kp_ctl_* call returns is a NEW reference the
 * caller json_decref()s. Objects from the cache are shared and immutable:
 * never modify one, json_deep_copy() it first. Objects passed in are
 * borrowed.
 */
#ifndef KPLANE_CONTROLLER_H
#define KPLANE_CONTROLLER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include <kplane/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One kind a controller caches, by its API coordinates (docs/api.md). */
struct kp_ctl_kind {
	const char *group;    /* "" for the core group, "apps", ... */
	const char *version;  /* "v1" */
	const char *kind;     /* "ReplicaSet" */
	const char *resource; /* "replicasets" (the plural) */
};

struct kp_ctl;

/* Change codes given to on_change (the informer's). */
enum kp_ctl_change {
	KP_CTL_ADDED = 1,
	KP_CTL_MODIFIED = 2,
	KP_CTL_DELETED = 3,
};

struct kp_controller_ops {
	uint32_t size;  /* sizeof(struct kp_controller_ops), by KP_CONTROLLER_OPS */
	uint32_t flags; /* none defined yet: 0 */
	/*
	 * Kinds to cache, terminated by an entry with kind NULL; index 0 is
	 * the primary kind. Context calls name a kind by its index here.
	 */
	const struct kp_ctl_kind *kinds;
	/* Default number of workers (0 = 1); the config may override it. */
	unsigned workers;
	/*
	 * Optional. Called once before any other callback; args is the
	 * plugin's validated args struct (NULL when it declares none).
	 * *state is passed to every later callback. Nonzero refuses the
	 * controller with *errmsg.
	 */
	int (*init)(struct kp_ctl *ctl, const void *args, void **state, char **errmsg);
	/* Optional. Called after the workers stopped. */
	void (*fini)(void *state);
	/*
	 * Optional. Maps a change of a cached object to keys to enqueue
	 * (kp_ctl_enqueue). Runs on the kind's informer thread: keep it short,
	 * no writes. old is the previous state (MODIFIED only, else NULL);
	 * obj the new one (the last known for DELETED). Both borrowed.
	 */
	void (*on_change)(struct kp_ctl *ctl, void *state, unsigned kind, int change,
			  const json_t *old, const json_t *obj);
	/*
	 * Brings the world in line with the object behind key (by default
	 * "namespace/name" or "name" of the primary kind; whatever on_change
	 * enqueued otherwise). Returns 0 when done, a positive number of
	 * milliseconds to be called again after that long (a timer, not an
	 * error), or a negative KP_E* with *errmsg: the key is retried with
	 * per-item exponential backoff and the message logged.
	 */
	int64_t (*reconcile)(struct kp_ctl *ctl, void *state, const char *key, char **errmsg);
	/*
	 * Appended after the first release (the manager checks size). Bit i
	 * set: kinds[i] is neither watched nor cached - kp_ctl_get and
	 * kp_ctl_list read the store when called (kp_ctl_list_owned and
	 * kp_ctl_list_orphans return nothing), on_change never sees it. For a
	 * kind a controller rarely reads and the cluster writes often, as the
	 * namespace controller and Events: kube's namespace controller lists
	 * them when a namespace goes, it keeps no informer on them.
	 */
	uint64_t uncached;
};

#define KP_CONTROLLER_OPS .size = sizeof(struct kp_controller_ops)

/* Deletion propagation (metav1.DeletionPropagation). */
enum kp_ctl_propagation {
	KP_CTL_BACKGROUND = 0,
	KP_CTL_FOREGROUND = 1,
	KP_CTL_ORPHAN = 2,
};

/*
 * The context's function table; see the kp_ctl_* wrappers for the meaning
 * of each entry. Append-only: read `size` before using a newer member.
 */
struct kp_ctl_api {
	uint32_t size;
	json_t *(*get)(struct kp_ctl *c, unsigned kind, const char *ns, const char *name);
	json_t *(*list)(struct kp_ctl *c, unsigned kind, const char *ns, const json_t *selector);
	json_t *(*list_owned)(struct kp_ctl *c, unsigned kind, const char *ns, const char *uid);
	json_t *(*get_live)(struct kp_ctl *c, unsigned kind, const char *ns, const char *name);
	int (*create)(struct kp_ctl *c, unsigned kind, const json_t *obj, json_t **out,
		      char **errmsg);
	int (*update)(struct kp_ctl *c, unsigned kind, const json_t *obj, json_t **out,
		      char **errmsg);
	int (*update_status)(struct kp_ctl *c, unsigned kind, const json_t *obj, json_t **out,
			     char **errmsg);
	int (*delete_)(struct kp_ctl *c, unsigned kind, const char *ns, const char *name,
		       const char *uid, int propagation, char **errmsg);
	void (*event)(struct kp_ctl *c, const json_t *regarding, const char *type,
		      const char *reason, const char *fmt, va_list ap);
	void (*enqueue)(struct kp_ctl *c, const char *key, int64_t after_ms);
	void (*expect)(struct kp_ctl *c, const char *key, int adds, int dels);
	void (*observe)(struct kp_ctl *c, const char *key, int adds, int dels);
	bool (*satisfied)(struct kp_ctl *c, const char *key);
	void (*forget_expectations)(struct kp_ctl *c, const char *key);
	void (*log)(struct kp_ctl *c, const char *fmt, va_list ap);
	const char *(*name)(struct kp_ctl *c);
	bool (*synced)(struct kp_ctl *c);
	/* Appended after the first release of the table: check size first. */
	json_t *(*list_orphans)(struct kp_ctl *c, unsigned kind, const char *ns);
};

/* The public head of every context; the rest is private to the manager. */
struct kp_ctl {
	const struct kp_ctl_api *api;
};

/*
 * The cached object of `kind` (index into ops.kinds) named ns/name (ns NULL
 * or "" for cluster-scoped kinds); NULL when not cached. New reference,
 * read-only.
 */
static inline json_t *kp_ctl_get(struct kp_ctl *c, unsigned kind, const char *ns,
				 const char *name)
{
	return c->api->get(c, kind, ns, name);
}

/*
 * A new JSON array of the cached objects of kind in namespace ns (NULL: all
 * namespaces) whose labels match selector (a metav1.LabelSelector, borrowed;
 * NULL matches everything; an invalid selector matches nothing, as
 * Kubernetes' controllers treat it). Order unspecified.
 */
static inline json_t *kp_ctl_list(struct kp_ctl *c, unsigned kind, const char *ns,
				  const json_t *selector)
{
	return c->api->list(c, kind, ns, selector);
}

/*
 * A new JSON array of the cached objects of kind (in ns; NULL: any) that
 * have an ownerReference with this uid (the owner index).
 */
static inline json_t *kp_ctl_list_owned(struct kp_ctl *c, unsigned kind, const char *ns,
					const char *uid)
{
	return c->api->list_owned(c, kind, ns, uid);
}

/*
 * A new JSON array of the cached objects of kind in namespace ns (NULL: all)
 * without a controller ownerReference: the candidates for adoption, found
 * through an index instead of a scan of the namespace. Empty when the core
 * predates this call.
 */
static inline json_t *kp_ctl_list_orphans(struct kp_ctl *c, unsigned kind, const char *ns)
{
	if (c->api->size < offsetof(struct kp_ctl_api, list_orphans) + sizeof(void *))
		return json_array();
	return c->api->list_orphans(c, kind, ns);
}

/*
 * Reads the object from the store, bypassing the cache (for the rare checks
 * that must not act on a stale cache, as client-go's uncached reads).
 * New reference with metadata.resourceVersion, or NULL when absent.
 */
static inline json_t *kp_ctl_get_live(struct kp_ctl *c, unsigned kind, const char *ns,
				      const char *name)
{
	return c->api->get_live(c, kind, ns, name);
}

/*
 * Creates obj (borrowed; copied) the way the API server does: namespace
 * check (KP_EBUSY when the namespace is terminating, KP_ENOENT when it
 * does not exist), generateName, uid, creationTimestamp, generation,
 * defaulting and validation (KP_EINVAL with the field in *errmsg).
 * KP_EEXIST when the name is taken. *out (may be NULL) gets the stored
 * object, a new reference.
 */
static inline int kp_ctl_create(struct kp_ctl *c, unsigned kind, const json_t *obj,
				json_t **out, char **errmsg)
{
	return c->api->create(c, kind, obj, out, errmsg);
}

/*
 * Replaces the object (borrowed) as a PUT does: its
 * metadata.resourceVersion, when set, is a precondition (KP_ECONFLICT when
 * the stored one moved); system fields and status are kept from the store;
 * generation is bumped when spec changed; an object whose deletion waits
 * only for finalizers this update removed is deleted. An unchanged object
 * is not written. *out (may be NULL) gets the result.
 */
static inline int kp_ctl_update(struct kp_ctl *c, unsigned kind, const json_t *obj,
				json_t **out, char **errmsg)
{
	return c->api->update(c, kind, obj, out, errmsg);
}

/* Like kp_ctl_update for the status subresource: only status changes. */
static inline int kp_ctl_update_status(struct kp_ctl *c, unsigned kind, const json_t *obj,
				       json_t **out, char **errmsg)
{
	return c->api->update_status(c, kind, obj, out, errmsg);
}

/*
 * Deletes ns/name as DELETE does with propagationPolicy `propagation`
 * (enum kp_ctl_propagation). uid (may be NULL) is a precondition:
 * KP_ECONFLICT when the stored object has another. An object that is
 * already gone is KP_ENOENT (kube's NotFound), not success: a controller
 * that raised a deletion expectation for it counts it down itself with
 * kp_ctl_observe, since the deletion it waits for may have been seen
 * before the expectation was raised.
 */
static inline int kp_ctl_delete(struct kp_ctl *c, unsigned kind, const char *ns,
				const char *name, const char *uid, int propagation,
				char **errmsg)
{
	return c->api->delete_(c, kind, ns, name, uid, propagation, errmsg);
}

/*
 * Records an Event about regarding (borrowed) with type "Normal" or
 * "Warning", a CamelCase reason and a printf message; written
 * asynchronously, dropped under overload as Kubernetes' recorder does.
 */
static inline void kp_ctl_event(struct kp_ctl *c, const json_t *regarding, const char *type,
				const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static inline void kp_ctl_event(struct kp_ctl *c, const json_t *regarding, const char *type,
				const char *reason, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	c->api->event(c, regarding, type, reason, fmt, ap);
	va_end(ap);
}

/* Adds key (copied) to the work queue now (after_ms 0) or after after_ms. */
static inline void kp_ctl_enqueue(struct kp_ctl *c, const char *key, int64_t after_ms)
{
	c->api->enqueue(c, key, after_ms);
}

/*
 * Expectations (kube-controller-manager's ControllerExpectations): before
 * creating n objects for key, kp_ctl_expect(c, key, n, 0); the manager
 * counts one down each time its informer sees a creation of an object whose
 * controller owner is key (of the primary kind), and likewise deletions.
 * A failed write must be counted down by the controller with kp_ctl_observe.
 * kp_ctl_satisfied is true when nothing is pending or the expectation is
 * older than 5 minutes (a lost event must not block the controller).
 */
static inline void kp_ctl_expect(struct kp_ctl *c, const char *key, int adds, int dels)
{
	c->api->expect(c, key, adds, dels);
}
static inline void kp_ctl_observe(struct kp_ctl *c, const char *key, int adds, int dels)
{
	c->api->observe(c, key, adds, dels);
}
static inline bool kp_ctl_satisfied(struct kp_ctl *c, const char *key)
{
	return c->api->satisfied(c, key);
}
/* Drops key's expectations (its object was deleted). */
static inline void kp_ctl_forget_expectations(struct kp_ctl *c, const char *key)
{
	c->api->forget_expectations(c, key);
}

/* Logs a line to the server's stderr, prefixed with the controller's name. */
static inline void kp_ctl_log(struct kp_ctl *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline void kp_ctl_log(struct kp_ctl *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	c->api->log(c, fmt, ap);
	va_end(ap);
}

/* The controller's config name (borrowed, static). */
static inline const char *kp_ctl_name(struct kp_ctl *c)
{
	return c->api->name(c);
}

/* True once every cache of the controller's kinds has had its first list. */
static inline bool kp_ctl_synced(struct kp_ctl *c)
{
	return c->api->synced(c);
}

#ifdef __cplusplus
}
#endif

#endif

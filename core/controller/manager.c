/*
 * manager.c - the controller manager. See manager.h and <kplane/controller.h>.
 *
 * Caches: one per kind, shared by every controller that declares it, fed by
 * one informer (list + watch of the kind's store prefix). Objects in a cache
 * are immutable: a change replaces the object, so readers may hold a
 * reference without a lock (jansson's reference counts are atomic). Three
 * maps index a kind: key -> object, namespace -> {key: object}, owner uid ->
 * {key: object}.
 *
 * Writes go straight to the store with the API server's bookkeeping
 * (core/api: defaulting, validation, system metadata), as compare-and-swap
 * updates, so they interleave safely with API writes.
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kplane/controller.h>
#include <kplane/error.h>
#include <kplane/object.h>
#include <kplane/scheduler.h>
#include <kplane/selector.h>
#include <kplane/validate.h>

#include "core/api/internal.h"
#include "core/api/kinds.h"
#include "core/controller/manager.h"
#include "core/controller/workqueue.h"
#include "core/runtime/runtime.h"
#include "core/sched/internal.h"
#include "store/store.h"

#define WRITE_RETRIES 16
/* Expectations older than this are considered lost (kube's ExpectationsTimeout). */
#define EXPECTATIONS_TTL_NS (300ull * 1000000000ull)

struct ctl;

struct sub {
	struct ctl *c;
	unsigned idx;
};

struct cache {
	struct kp_ctl_manager *m;
	const struct kp_resource *res;
	pthread_rwlock_t lock;
	json_t *objs;     /* key -> object */
	json_t *by_ns;    /* namespace -> {key: object} */
	json_t *by_owner; /* owner uid -> {key: object} */
	json_t *orphans;  /* namespace ("" cluster-scoped) -> {key: object} without controller */
	struct kp_informer *inf;
	struct sub *subs;
	size_t nsubs;
	/* An uncached kind of one controller (kp_controller_ops.uncached): only
	 * m and res are set; reads go to the store. Owned by that controller. */
	bool live;
};

struct ctl {
	struct kp_ctl pub; /* first: the context handed to the plugin */
	struct kp_ctl_manager *m;
	const struct kp_plugin *p;
	const struct kp_controller_ops *ops;
	unsigned nkinds;
	struct cache **caches; /* by kind index */
	void *state;
	void *args;
	json_t *args_json;
	unsigned workers;
	pthread_t *threads;
	unsigned nthreads;
	struct kp_wq *wq;
	pthread_mutex_t exp_lock;
	json_t *exp; /* key -> [adds, dels, created_ns] */
	bool inited;
};

struct kp_ctl_manager {
	struct kp_store *st;
	struct cache **caches;
	size_t ncaches;
	struct ctl **ctls;
	size_t nctls;
	atomic_bool stop;
	bool started;
	struct kp_recorder *events; /* shared Event recorder (core/runtime) */
};

static const struct kp_ctl_api api;

/* ------------------------------------------------------------------ */
/* keys                                                               */

/* "ns/name" or "name" into buf. */
static void obj_key(char *buf, size_t n, const char *ns, const char *name)
{
	if (ns && *ns)
		snprintf(buf, n, "%s/%s", ns, name ? name : "");
	else
		snprintf(buf, n, "%s", name ? name : "");
}

static void store_key(char *buf, size_t n, const struct kp_resource *res, const char *ns,
		      const char *name)
{
	if ((res->flags & KP_RES_NAMESPACED) && ns && *ns)
		snprintf(buf, n, "%s%s/%s", res->key_prefix, ns, name);
	else
		snprintf(buf, n, "%s%s", res->key_prefix, name);
}

/* ------------------------------------------------------------------ */
/* caches                                                             */

static void index_del(json_t *idx, const char *bucket, const char *key)
{
	json_t *b = json_object_get(idx, bucket);
	if (!b)
		return;
	json_object_del(b, key);
	if (!json_object_size(b))
		json_object_del(idx, bucket);
}

static void index_add(json_t *idx, const char *bucket, const char *key, json_t *obj)
{
	json_t *b = json_object_get(idx, bucket);
	if (!b) {
		b = json_object();
		json_object_set_new(idx, bucket, b);
	}
	json_object_set(b, key, obj);
}

static void owners_foreach(json_t *idx, const json_t *obj, const char *key, json_t *add)
{
	json_t *refs = kp_obj_get(obj, "metadata.ownerReferences");
	size_t i;
	json_t *r;
	json_array_foreach(refs, i, r) {
		const char *uid = json_string_value(json_object_get(r, "uid"));
		if (!uid)
			continue;
		if (add)
			index_add(idx, uid, key, add);
		else
			index_del(idx, uid, key);
	}
}

static struct ctl *ctl_of(struct kp_ctl *c)
{
	return (struct ctl *)c;
}

static void expectations_observe(struct ctl *c, const char *key, int adds, int dels);

/* The key of obj's controller owner when that owner is of c's primary kind. */
static bool owner_key(struct ctl *c, const json_t *obj, char *buf, size_t n)
{
	json_t *ref = kp_obj_controller_ref(obj);
	if (!ref)
		return false;
	const char *kind = json_string_value(json_object_get(ref, "kind"));
	const char *name = json_string_value(json_object_get(ref, "name"));
	const struct kp_resource *pr = c->caches[0]->res;
	if (!kind || !name || strcmp(kind, pr->kind))
		return false;
	const char *av = json_string_value(json_object_get(ref, "apiVersion"));
	const char *slash = av ? strchr(av, '/') : NULL;
	size_t glen = slash ? (size_t)(slash - av) : 0;
	if (strlen(pr->group) != glen || strncmp(av ? av : "", pr->group, glen))
		return false;
	obj_key(buf, n, (pr->flags & KP_RES_NAMESPACED) ? kp_obj_namespace(obj) : NULL, name);
	return true;
}

static void dispatch(struct sub *s, int change, const json_t *old, const json_t *obj)
{
	struct ctl *c = s->c;
	char k[1024];
	if (s->idx && (change == KP_CTL_ADDED || change == KP_CTL_DELETED) &&
	    owner_key(c, obj, k, sizeof(k)))
		expectations_observe(c, k, change == KP_CTL_ADDED, change == KP_CTL_DELETED);
	if (c->ops->on_change) {
		c->ops->on_change(&c->pub, c->state, s->idx, change, old, obj);
		return;
	}
	if (s->idx == 0) {
		obj_key(k, sizeof(k), kp_obj_namespace(obj), kp_obj_name(obj));
		kp_wq_add(c->wq, k);
		return;
	}
	if (owner_key(c, obj, k, sizeof(k)))
		kp_wq_add(c->wq, k);
	if (old && owner_key(c, old, k, sizeof(k)))
		kp_wq_add(c->wq, k);
}

static void on_change(void *arg, int change, json_t *obj)
{
	struct cache *ca = arg;
	const char *name = kp_obj_name(obj), *ns = kp_obj_namespace(obj);
	if (!name)
		return;
	char key[1024];
	obj_key(key, sizeof(key), ns, name);
	pthread_rwlock_wrlock(&ca->lock);
	json_t *old = json_incref(json_object_get(ca->objs, key));
	if (old) {
		if (ns)
			index_del(ca->by_ns, ns, key);
		owners_foreach(ca->by_owner, old, key, NULL);
		if (!kp_obj_controller_ref(old))
			index_del(ca->orphans, ns ? ns : "", key);
	}
	if (change == KP_INFORMER_DELETED) {
		json_object_del(ca->objs, key);
	} else {
		json_object_set(ca->objs, key, obj);
		if (ns)
			index_add(ca->by_ns, ns, key, obj);
		owners_foreach(ca->by_owner, obj, key, obj);
		if (!kp_obj_controller_ref(obj))
			index_add(ca->orphans, ns ? ns : "", key, obj);
	}
	pthread_rwlock_unlock(&ca->lock);
	for (size_t i = 0; i < ca->nsubs; i++)
		dispatch(&ca->subs[i], change, change == KP_INFORMER_MODIFIED ? old : NULL, obj);
	json_decref(old);
}

static struct cache *cache_for(struct kp_ctl_manager *m, const struct kp_resource *res)
{
	for (size_t i = 0; i < m->ncaches; i++)
		if (m->caches[i]->res == res)
			return m->caches[i];
	struct cache *ca = calloc(1, sizeof(*ca));
	void *p = realloc(m->caches, (m->ncaches + 1) * sizeof(*m->caches));
	if (!ca || !p) {
		free(ca);
		if (p)
			m->caches = p;
		return NULL;
	}
	m->caches = p;
	ca->m = m;
	ca->res = res;
	pthread_rwlock_init(&ca->lock, NULL);
	ca->objs = json_object();
	ca->by_ns = json_object();
	ca->by_owner = json_object();
	ca->orphans = json_object();
	m->caches[m->ncaches++] = ca;
	return ca;
}

static void cache_free(struct cache *ca)
{
	json_decref(ca->objs);
	json_decref(ca->by_ns);
	json_decref(ca->by_owner);
	json_decref(ca->orphans);
	pthread_rwlock_destroy(&ca->lock);
	free(ca->subs);
	free(ca);
}

/* ------------------------------------------------------------------ */
/* reads                                                              */

static struct cache *kind_cache(struct ctl *c, unsigned kind)
{
	return kind < c->nkinds ? c->caches[kind] : NULL;
}

static json_t *c_get_live(struct kp_ctl *pc, unsigned kind, const char *ns, const char *name);
static json_t *list_live(struct ctl *c, const struct cache *ca, const char *ns,
			 const struct kp_label_selector *sel);

static json_t *c_get(struct kp_ctl *pc, unsigned kind, const char *ns, const char *name)
{
	struct cache *ca = kind_cache(ctl_of(pc), kind);
	if (ca && ca->live)
		return c_get_live(pc, kind, ns, name);
	if (!ca || !name)
		return NULL;
	char key[1024];
	obj_key(key, sizeof(key), (ca->res->flags & KP_RES_NAMESPACED) ? ns : NULL, name);
	pthread_rwlock_rdlock(&ca->lock);
	json_t *o = json_incref(json_object_get(ca->objs, key));
	pthread_rwlock_unlock(&ca->lock);
	return o;
}

static json_t *c_list(struct kp_ctl *pc, unsigned kind, const char *ns, const json_t *selector)
{
	struct cache *ca = kind_cache(ctl_of(pc), kind);
	json_t *out = json_array();
	if (!ca)
		return out;
	struct kp_label_selector *sel = NULL;
	if (selector && kp_label_selector_from_json(selector, &sel, NULL) < 0)
		return out; /* an invalid selector selects nothing */
	if (ca->live) {
		json_decref(out);
		out = list_live(ctl_of(pc), ca, ns, sel);
		kp_label_selector_free(sel);
		return out;
	}
	pthread_rwlock_rdlock(&ca->lock);
	json_t *src = ns ? json_object_get(ca->by_ns, ns) : ca->objs;
	const char *k;
	json_t *o;
	json_object_foreach(src, k, o) {
		if (!sel || kp_label_selector_matches(sel, kp_obj_labels(o)))
			json_array_append(out, o);
	}
	pthread_rwlock_unlock(&ca->lock);
	kp_label_selector_free(sel);
	return out;
}

static json_t *c_list_owned(struct kp_ctl *pc, unsigned kind, const char *ns, const char *uid)
{
	struct cache *ca = kind_cache(ctl_of(pc), kind);
	json_t *out = json_array();
	if (!ca || ca->live || !uid)
		return out;
	pthread_rwlock_rdlock(&ca->lock);
	const char *k;
	json_t *o;
	json_object_foreach(json_object_get(ca->by_owner, uid), k, o) {
		const char *ons = kp_obj_namespace(o);
		if (!ns || (ons && !strcmp(ons, ns)))
			json_array_append(out, o);
	}
	pthread_rwlock_unlock(&ca->lock);
	return out;
}

static json_t *c_list_orphans(struct kp_ctl *pc, unsigned kind, const char *ns)
{
	struct cache *ca = kind_cache(ctl_of(pc), kind);
	json_t *out = json_array();
	if (!ca || ca->live)
		return out;
	pthread_rwlock_rdlock(&ca->lock);
	const char *k, *bk;
	json_t *o, *b;
	if (ns) {
		json_object_foreach(json_object_get(ca->orphans, ns), k, o)
			json_array_append(out, o);
	} else {
		json_object_foreach(ca->orphans, bk, b)
			json_object_foreach(b, k, o)
				json_array_append(out, o);
	}
	pthread_rwlock_unlock(&ca->lock);
	return out;
}

/* Reads and decodes a stored object; *rev gets its mod_rev. NULL when absent. */
static json_t *load(struct kp_store *st, const char *key, uint64_t *rev, int *rc)
{
	struct kp_kv kv;
	*rc = kp_store_get(st, key, &kv);
	if (*rc)
		return NULL;
	json_t *o = kp_json_loadb(kv.value, kv.len, 0, NULL);
	*rev = kv.mod_rev;
	kp_kv_release(&kv);
	if (!o || !json_is_object(o)) {
		json_decref(o);
		*rc = KP_EIO;
		return NULL;
	}
	return o;
}

static json_t *c_get_live(struct kp_ctl *pc, unsigned kind, const char *ns, const char *name)
{
	struct ctl *c = ctl_of(pc);
	struct cache *ca = kind_cache(c, kind);
	if (!ca || !name)
		return NULL;
	char key[2048];
	store_key(key, sizeof(key), ca->res, ns, name);
	uint64_t rev;
	int rc;
	json_t *o = load(c->m->st, key, &rev, &rc);
	if (o)
		kp_obj_set_resource_version(o, rev);
	return o;
}

/* The objects of an uncached kind in ns (NULL: all) matching sel, read now. */
static json_t *list_live(struct ctl *c, const struct cache *ca, const char *ns,
			 const struct kp_label_selector *sel)
{
	json_t *out = json_array();
	char prefix[1024];
	if ((ca->res->flags & KP_RES_NAMESPACED) && ns && *ns)
		snprintf(prefix, sizeof(prefix), "%s%s/", ca->res->key_prefix, ns);
	else
		snprintf(prefix, sizeof(prefix), "%s", ca->res->key_prefix);
	struct kp_kv_list l = { 0 };
	if (kp_store_list(c->m->st, prefix, 0, NULL, 0, &l) < 0)
		return out;
	for (size_t i = 0; i < l.n; i++) {
		json_t *o = kp_json_loadb(l.items[i].value, l.items[i].len, 0, NULL);
		if (json_is_object(o) && (!sel || kp_label_selector_matches(sel, kp_obj_labels(o)))) {
			kp_obj_set_resource_version(o, l.items[i].mod_rev);
			json_array_append(out, o);
		}
		json_decref(o);
	}
	kp_kv_list_release(&l);
	return out;
}

/* ------------------------------------------------------------------ */
/* writes                                                             */

static char *encode(json_t *obj, size_t *len)
{
	kp_obj_del(obj, "metadata.resourceVersion");
	char *s = kp_json_dumps(obj, NULL);
	*len = s ? strlen(s) : 0;
	return s;
}

static int validate(const struct kp_resource *res, const json_t *obj, const json_t *old,
		    char **errmsg)
{
	struct kp_errlist errs = { 0 };
	kp_validate_object_meta(obj, res->flags & KP_RES_NAMESPACED, res->flags & KP_RES_NAME_LABEL,
				&errs);
	kp__kinds_validate(res, obj, old, &errs);
	if (!errs.n)
		return 0;
	char *s = kp_errlist_string(&errs);
	int rc = kp_error_set(errmsg, KP_EINVAL, "%s \"%s\" is invalid: %s", res->kind,
			      kp_obj_name(obj) ? kp_obj_name(obj) : "", s ? s : "");
	free(s);
	kp_errlist_release(&errs);
	return rc;
}

static int check_namespace(struct kp_ctl_manager *m, const char *ns, char **errmsg)
{
	char key[1024];
	snprintf(key, sizeof(key), "/registry/core/namespaces/%s", ns);
	uint64_t rev;
	int rc;
	json_t *o = load(m->st, key, &rev, &rc);
	if (!o)
		return kp_error_set(errmsg, rc, "namespace \"%s\": %s", ns,
				    rc == KP_ENOENT ? "not found" : kp_strerror(rc));
	bool terminating = kp_obj_str(o, "metadata.deletionTimestamp") ||
			   (kp_obj_str(o, "status.phase") &&
			    !strcmp(kp_obj_str(o, "status.phase"), "Terminating"));
	json_decref(o);
	if (terminating)
		return kp_error_set(errmsg, KP_EBUSY,
				    "unable to create new content in namespace %s because it is "
				    "being terminated",
				    ns);
	return 0;
}

static int c_create(struct kp_ctl *pc, unsigned kind, const json_t *in, json_t **out,
		    char **errmsg)
{
	struct ctl *c = ctl_of(pc);
	struct cache *ca = kind_cache(c, kind);
	if (out)
		*out = NULL;
	if (!ca || !json_is_object(in))
		return kp_error_set(errmsg, KP_EINVAL, "create: no such kind index %u or not an object",
				    kind);
	const struct kp_resource *res = ca->res;
	json_t *obj = json_deep_copy(in);
	if (!obj)
		return KP_ENOMEM;
	json_object_set_new(obj, "apiVersion", json_string(res->group_version));
	json_object_set_new(obj, "kind", json_string(res->kind));
	json_t *md = json_object_get(obj, "metadata");
	if (!json_is_object(md)) {
		md = json_object();
		json_object_set_new(obj, "metadata", md);
	}
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	int rc;
	if (res->flags & KP_RES_NAMESPACED) {
		if (!ns || !*ns) {
			json_object_set_new(md, "namespace", json_string("default"));
			ns = "default";
		}
		if ((rc = check_namespace(c->m, ns, errmsg)) < 0)
			goto out;
	} else {
		json_object_del(md, "namespace");
		ns = NULL;
	}
	const char *gen = json_string_value(json_object_get(md, "generateName"));
	const char *name = json_string_value(json_object_get(md, "name"));
	if ((!name || !*name) && gen && *gen) {
		/* Kubernetes' 5 random characters from "bcdfghjklmnpqrstvwxz2456789". */
		static const char alpha[] = "bcdfghjklmnpqrstvwxz2456789";
		char uid[37], buf[300];
		kp_uuid4(uid);
		char sfx[6];
		for (int i = 0; i < 5; i++)
			sfx[i] = alpha[(unsigned char)(uid[i * 3] ^ uid[i * 3 + 1] * 7 ^
						       uid[i * 3 + 2] * 13) %
				       (sizeof(alpha) - 1)];
		sfx[5] = 0;
		snprintf(buf, sizeof(buf), "%.*s%s", 58, gen, sfx);
		json_object_set_new(md, "name", json_string(buf));
	}
	char uid[37], ts[KP_TIME_BUFSZ];
	kp_uuid4(uid);
	json_object_set_new(md, "uid", json_string(uid));
	json_object_set_new(md, "creationTimestamp",
			    json_string(kp_time_format(kp_time_now(), ts)));
	json_object_del(md, "resourceVersion");
	json_object_del(md, "deletionTimestamp");
	json_object_del(md, "deletionGracePeriodSeconds");
	json_object_del(md, "managedFields");
	if (res->flags & KP_RES_GENERATION)
		json_object_set_new(md, "generation", json_integer(1));
	else
		json_object_del(md, "generation");
	char *why = NULL;
	if (kp__kinds_default(res, obj, c->m->st, &why)) {
		rc = kp_error_set(errmsg, KP_EINVAL, "%s \"%s\" is forbidden: %s", res->kind,
				  kp_obj_name(obj) ? kp_obj_name(obj) : "", why ? why : "admission");
		free(why);
		goto out;
	}
	if ((rc = validate(res, obj, NULL, errmsg)) < 0)
		goto out;
	char key[2048];
	store_key(key, sizeof(key), res, ns, kp_obj_name(obj));
	size_t len;
	char *s = encode(obj, &len);
	if (!s) {
		rc = KP_ENOMEM;
		goto out;
	}
	uint64_t rev = 0;
	rc = kp_store_create(c->m->st, key, s, len, &rev);
	free(s);
	if (rc < 0) {
		kp_error_set(errmsg, rc, "%s \"%s\": %s", res->kind, kp_obj_name(obj),
			     rc == KP_EEXIST ? "already exists" : kp_strerror(rc));
		goto out;
	}
	kp_obj_set_resource_version(obj, rev);
	if (out) {
		*out = obj;
		obj = NULL;
	}
out:
	json_decref(obj);
	return rc;
}

static bool can_vanish(const struct kp_resource *res, const json_t *obj)
{
	json_t *f = kp_obj_get(obj, "metadata.finalizers");
	if (json_is_array(f) && json_array_size(f))
		return false;
	if (res->flags & KP_RES_NS_FINALIZE) {
		f = kp_obj_get(obj, "spec.finalizers");
		if (json_is_array(f) && json_array_size(f))
			return false;
	}
	return true;
}

static void copy_md(json_t *dst, const json_t *src, const char *field)
{
	json_t *nmd = json_object_get(dst, "metadata");
	json_t *v = kp_obj_get(src, "metadata");
	v = json_object_get(v, field);
	if (v)
		json_object_set(nmd, field, v);
	else
		json_object_del(nmd, field);
}

enum { UPD_MAIN, UPD_STATUS };

static int write_update(struct ctl *c, unsigned kind, const json_t *in, int mode, json_t **out,
			char **errmsg)
{
	struct cache *ca = kind_cache(c, kind);
	if (out)
		*out = NULL;
	if (!ca || !json_is_object(in) || !kp_obj_name(in))
		return kp_error_set(errmsg, KP_EINVAL, "update: bad kind index %u or nameless object",
				    kind);
	const struct kp_resource *res = ca->res;
	char key[2048];
	store_key(key, sizeof(key), res, kp_obj_namespace(in), kp_obj_name(in));
	uint64_t want = kp_obj_resource_version(in);
	for (int attempt = 0; attempt < WRITE_RETRIES; attempt++) {
		uint64_t cur;
		int rc;
		json_t *old = load(c->m->st, key, &cur, &rc);
		if (!old)
			return kp_error_set(errmsg, rc, "%s \"%s\": %s", res->kind, kp_obj_name(in),
					    rc == KP_ENOENT ? "not found" : kp_strerror(rc));
		if (want && want != cur) {
			json_decref(old);
			return kp_error_set(errmsg, KP_ECONFLICT,
					    "Operation cannot be fulfilled on %s \"%s\": the object "
					    "has been modified; please apply your changes to the "
					    "latest version and try again",
					    res->qualified, kp_obj_name(in));
		}
		json_t *obj;
		if (mode == UPD_STATUS) {
			obj = json_deep_copy(old);
			json_t *st = json_object_get(in, "status");
			if (st)
				json_object_set_new(obj, "status", json_deep_copy(st));
			else
				json_object_del(obj, "status");
		} else {
			obj = json_deep_copy(in);
			json_object_set_new(obj, "apiVersion", json_string(res->group_version));
			json_object_set_new(obj, "kind", json_string(res->kind));
			if (!json_is_object(json_object_get(obj, "metadata")))
				json_object_set_new(obj, "metadata", json_object());
			static const char *const keep[] = { "uid", "creationTimestamp",
							    "deletionTimestamp",
							    "deletionGracePeriodSeconds",
							    "namespace", "name", "generation" };
			for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
				copy_md(obj, old, keep[i]);
			json_object_del(json_object_get(obj, "metadata"), "managedFields");
			if (res->flags & KP_RES_STATUS) {
				json_t *st = json_object_get(old, "status");
				if (st)
					json_object_set(obj, "status", st);
				else
					json_object_del(obj, "status");
			}
			if (res->flags & KP_RES_GENERATION) {
				json_int_t g = kp_obj_int(old, "metadata.generation", 1);
				if (g <= 0)
					g = 1;
				if (!json_equal(json_object_get(obj, "spec"), json_object_get(old, "spec")))
					g++;
				kp_obj_set(obj, "metadata.generation", json_integer(g));
			}
			kp__kinds_default(res, obj, NULL, NULL);
		}
		kp_obj_del(obj, "metadata.resourceVersion");
		if (json_equal(obj, old)) {
			json_decref(old);
			if (out) {
				kp_obj_set_resource_version(obj, cur);
				*out = obj;
			} else {
				json_decref(obj);
			}
			return 0;
		}
		if ((rc = validate(res, obj, old, errmsg)) < 0) {
			json_decref(old);
			json_decref(obj);
			return rc;
		}
		json_decref(old);
		uint64_t rev = 0;
		bool gone = kp_obj_str(obj, "metadata.deletionTimestamp") && can_vanish(res, obj);
		if (gone) {
			rc = kp_store_delete(c->m->st, key, cur, &rev, NULL);
		} else {
			size_t len;
			char *s = encode(obj, &len);
			rc = s ? kp_store_update(c->m->st, key, s, len, cur, &rev) : KP_ENOMEM;
			free(s);
		}
		if (rc == KP_ECONFLICT && !want) {
			json_decref(obj);
			continue;
		}
		if (rc < 0) {
			json_decref(obj);
			return kp_error_set(errmsg, rc, "%s \"%s\": %s", res->kind, kp_obj_name(in),
					    kp_strerror(rc));
		}
		if (out) {
			kp_obj_set_resource_version(obj, rev);
			*out = obj;
		} else {
			json_decref(obj);
		}
		return 0;
	}
	return kp_error_set(errmsg, KP_ECONFLICT, "%s \"%s\": too many conflicting writers",
			    res->kind, kp_obj_name(in));
}

static int c_update(struct kp_ctl *pc, unsigned kind, const json_t *obj, json_t **out,
		    char **errmsg)
{
	return write_update(ctl_of(pc), kind, obj, UPD_MAIN, out, errmsg);
}

static int c_update_status(struct kp_ctl *pc, unsigned kind, const json_t *obj, json_t **out,
			   char **errmsg)
{
	return write_update(ctl_of(pc), kind, obj, UPD_STATUS, out, errmsg);
}

static void add_finalizer(json_t *obj, const char *f)
{
	json_t *md = json_object_get(obj, "metadata");
	json_t *a = json_object_get(md, "finalizers");
	if (!json_is_array(a)) {
		a = json_array();
		json_object_set_new(md, "finalizers", a);
	}
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), f))
			return;
	json_array_append_new(a, json_string(f));
}

static int c_delete(struct kp_ctl *pc, unsigned kind, const char *ns, const char *name,
		    const char *uid, int propagation, char **errmsg)
{
	struct ctl *c = ctl_of(pc);
	struct cache *ca = kind_cache(c, kind);
	if (!ca || !name)
		return kp_error_set(errmsg, KP_EINVAL, "delete: bad kind index %u or no name", kind);
	const struct kp_resource *res = ca->res;
	char key[2048];
	store_key(key, sizeof(key), res, ns, name);
	for (int attempt = 0; attempt < WRITE_RETRIES; attempt++) {
		uint64_t cur;
		int rc;
		json_t *obj = load(c->m->st, key, &cur, &rc);
		if (!obj) /* NotFound, as kube's clients see it: see kp_ctl_delete */
			return rc == KP_ENOENT ?
				       kp_error_set(errmsg, rc, "%s \"%s\" not found", res->kind, name) :
				       kp_error_set(errmsg, rc, "%s \"%s\": %s", res->kind, name,
						    kp_strerror(rc));
		const char *ouid = kp_obj_uid(obj);
		if (uid && (!ouid || strcmp(uid, ouid))) {
			rc = kp_error_set(errmsg, KP_ECONFLICT,
					  "Precondition failed: UID in precondition: %s, UID in "
					  "object meta: %s",
					  uid, ouid ? ouid : "");
			json_decref(obj);
			return rc;
		}
		bool graceful = false;
		if (propagation == KP_CTL_FOREGROUND) {
			add_finalizer(obj, "foregroundDeletion");
			graceful = true;
		} else if (propagation == KP_CTL_ORPHAN) {
			add_finalizer(obj, "orphan");
			graceful = true;
		}
		if (res->flags & KP_RES_NS_FINALIZE) {
			if (!json_is_object(kp_obj_get(obj, "status")))
				kp_obj_set(obj, "status", json_object());
			kp_obj_set_str(obj, "status.phase", "Terminating");
		}
		if (!can_vanish(res, obj))
			graceful = true;
		uint64_t rev;
		if (graceful) {
			if (kp_obj_str(obj, "metadata.deletionTimestamp") &&
			    propagation == KP_CTL_BACKGROUND && !(res->flags & KP_RES_NS_FINALIZE)) {
				json_decref(obj);
				return 0; /* already being deleted */
			}
			if (!kp_obj_str(obj, "metadata.deletionTimestamp")) {
				char ts[KP_TIME_BUFSZ];
				kp_obj_set_str(obj, "metadata.deletionTimestamp",
					       kp_time_format(kp_time_now(), ts));
				kp_obj_set(obj, "metadata.deletionGracePeriodSeconds",
					   json_integer(0));
			}
			size_t len;
			char *s = encode(obj, &len);
			rc = s ? kp_store_update(c->m->st, key, s, len, cur, &rev) : KP_ENOMEM;
			free(s);
		} else {
			rc = kp_store_delete(c->m->st, key, cur, &rev, NULL);
		}
		json_decref(obj);
		if (rc == KP_ECONFLICT)
			continue;
		if (rc == KP_ENOENT)
			return 0;
		if (rc < 0)
			return kp_error_set(errmsg, rc, "%s \"%s\": %s", res->kind, name,
					    kp_strerror(rc));
		return 0;
	}
	return kp_error_set(errmsg, KP_ECONFLICT, "%s \"%s\": too many conflicting writers",
			    res->kind, name);
}

/* ------------------------------------------------------------------ */
/* events                                                             */

static void c_event(struct kp_ctl *pc, const json_t *regarding, const char *type,
		    const char *reason, const char *fmt, va_list ap)
{
	struct ctl *c = ctl_of(pc);
	char msg[1024], component[128];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	snprintf(component, sizeof(component), "%s-controller", c->p->name);
	kp_recorder_event(c->m->events, component, regarding, type, reason, msg);
}

/* ------------------------------------------------------------------ */
/* queue, expectations, misc                                          */

static void c_enqueue(struct kp_ctl *pc, const char *key, int64_t after_ms)
{
	struct ctl *c = ctl_of(pc);
	if (after_ms > 0)
		kp_wq_add_after(c->wq, key, (uint64_t)after_ms * 1000000u);
	else
		kp_wq_add(c->wq, key);
}

static void c_expect(struct kp_ctl *pc, const char *key, int adds, int dels)
{
	struct ctl *c = ctl_of(pc);
	pthread_mutex_lock(&c->exp_lock);
	json_t *e = json_object_get(c->exp, key);
	json_int_t a = e ? json_integer_value(json_array_get(e, 0)) : 0;
	json_int_t d = e ? json_integer_value(json_array_get(e, 1)) : 0;
	/* Like kube's SetExpectations when nothing is pending, else RaiseExpectations. */
	json_object_set_new(c->exp, key,
			    json_pack("[I, I, I]", (json_int_t)(a + adds), (json_int_t)(d + dels),
				      (json_int_t)kp_mono_ns()));
	pthread_mutex_unlock(&c->exp_lock);
}

static void expectations_observe(struct ctl *c, const char *key, int adds, int dels)
{
	pthread_mutex_lock(&c->exp_lock);
	json_t *e = json_object_get(c->exp, key);
	if (e) {
		json_array_set_new(e, 0, json_integer(json_integer_value(json_array_get(e, 0)) - adds));
		json_array_set_new(e, 1, json_integer(json_integer_value(json_array_get(e, 1)) - dels));
	}
	pthread_mutex_unlock(&c->exp_lock);
}

static void c_observe(struct kp_ctl *pc, const char *key, int adds, int dels)
{
	expectations_observe(ctl_of(pc), key, adds, dels);
}

static bool c_satisfied(struct kp_ctl *pc, const char *key)
{
	struct ctl *c = ctl_of(pc);
	pthread_mutex_lock(&c->exp_lock);
	json_t *e = json_object_get(c->exp, key);
	bool ok = !e || (json_integer_value(json_array_get(e, 0)) <= 0 &&
			 json_integer_value(json_array_get(e, 1)) <= 0) ||
		  kp_mono_ns() - (uint64_t)json_integer_value(json_array_get(e, 2)) >
			  EXPECTATIONS_TTL_NS;
	pthread_mutex_unlock(&c->exp_lock);
	return ok;
}

static void c_forget_expectations(struct kp_ctl *pc, const char *key)
{
	struct ctl *c = ctl_of(pc);
	pthread_mutex_lock(&c->exp_lock);
	json_object_del(c->exp, key);
	pthread_mutex_unlock(&c->exp_lock);
}

static void c_log(struct kp_ctl *pc, const char *fmt, va_list ap)
{
	char buf[2048];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	fprintf(stderr, "kplane: %s: %s\n", ctl_of(pc)->p->name, buf);
}

static const char *c_name(struct kp_ctl *pc)
{
	return ctl_of(pc)->p->name;
}

static bool c_synced(struct kp_ctl *pc)
{
	struct ctl *c = ctl_of(pc);
	for (unsigned i = 0; i < c->nkinds; i++)
		if (!c->caches[i]->live &&
		    (!c->caches[i]->inf || !kp_informer_synced(c->caches[i]->inf)))
			return false;
	return true;
}

static const struct kp_ctl_api api = {
	.size = sizeof(struct kp_ctl_api),
	.get = c_get,
	.list = c_list,
	.list_owned = c_list_owned,
	.get_live = c_get_live,
	.create = c_create,
	.update = c_update,
	.update_status = c_update_status,
	.delete_ = c_delete,
	.event = c_event,
	.enqueue = c_enqueue,
	.expect = c_expect,
	.observe = c_observe,
	.satisfied = c_satisfied,
	.forget_expectations = c_forget_expectations,
	.log = c_log,
	.name = c_name,
	.synced = c_synced,
	.list_orphans = c_list_orphans,
};

/* ------------------------------------------------------------------ */
/* workers                                                            */

static void *worker(void *p)
{
	struct ctl *c = p;
	/* As kube's WaitForCacheSync: never act on a partial picture. */
	while (!atomic_load(&c->m->stop) && !c_synced(&c->pub))
		usleep(5000);
	for (;;) {
		char *key = NULL;
		int rc = kp_wq_get(c->wq, -1, &key);
		if (rc == KP_ECLOSED)
			break;
		if (rc < 0)
			continue;
		char *err = NULL;
		int64_t r = c->ops->reconcile(&c->pub, c->state, key, &err);
		if (r < 0) {
			unsigned n = kp_wq_num_requeues(c->wq, key);
			/* Conflicts are routine (a stale cache): retry quietly. */
			if (r != KP_ECONFLICT || n >= 5)
				fprintf(stderr, "kplane: %s: %s: %s (retry %u)\n", c->p->name, key,
					err ? err : kp_strerror((int)r), n + 1);
			kp_wq_add_rate_limited(c->wq, key);
		} else {
			kp_wq_forget(c->wq, key);
			if (r > 0)
				kp_wq_add_after(c->wq, key, (uint64_t)r * 1000000u);
		}
		free(err);
		kp_wq_done(c->wq, key);
		free(key);
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* lifecycle                                                          */

int kp_ctl_manager_new(struct kp_store *st, struct kp_ctl_manager **out, char **errmsg)
{
	struct kp_ctl_manager *m = calloc(1, sizeof(*m));
	if (!m)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	kp__registry_init();
	m->st = st;
	*out = m;
	return 0;
}

size_t kp_ctl_manager_count(const struct kp_ctl_manager *m)
{
	return m->nctls;
}

static void ctl_free(struct ctl *c)
{
	if (!c)
		return;
	kp_wq_free(c->wq);
	if (c->args)
		kp__args_free(c->p, c->args);
	json_decref(c->args_json);
	json_decref(c->exp);
	pthread_mutex_destroy(&c->exp_lock);
	for (unsigned i = 0; c->caches && i < c->nkinds; i++)
		if (c->caches[i] && c->caches[i]->live)
			free(c->caches[i]);
	free(c->caches);
	free(c->threads);
	free(c);
}

int kp_ctl_manager_add(struct kp_ctl_manager *m, const struct kp_plugin *p, const json_t *args,
		       unsigned workers, char **errmsg)
{
	if (m->started)
		return kp_error_set(errmsg, KP_EBUSY, "controllers are already running");
	if (p->kind != KP_PLUGIN_CONTROLLER || !p->controller)
		return kp_error_set(errmsg, KP_EINVAL, "plugin \"%s\" is not a controller", p->name);
	const struct kp_controller_ops *ops = p->controller;
	if (ops->size < offsetof(struct kp_controller_ops, reconcile) + sizeof(void *))
		return kp_error_set(errmsg, KP_EABI,
				    "controller \"%s\" has a kp_controller_ops of %u bytes: set .size "
				    "with KP_CONTROLLER_OPS and rebuild",
				    p->name, ops->size);
	if (!ops->reconcile || !ops->kinds || !ops->kinds[0].kind)
		return kp_error_set(errmsg, KP_EINVAL,
				    "controller \"%s\" declares no kinds or no reconcile", p->name);
	for (size_t i = 0; i < m->nctls; i++)
		if (!strcmp(m->ctls[i]->p->name, p->name))
			return kp_error_set(errmsg, KP_EEXIST, "controller \"%s\" added twice",
					    p->name);
	struct ctl *c = calloc(1, sizeof(*c));
	if (!c)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	c->pub.api = &api;
	c->m = m;
	c->p = p;
	c->ops = ops;
	pthread_mutex_init(&c->exp_lock, NULL);
	c->exp = json_object();
	int rc;
	while (ops->kinds[c->nkinds].kind)
		c->nkinds++;
	uint64_t uncached = ops->size >= offsetof(struct kp_controller_ops, uncached) +
						 sizeof(ops->uncached) ? ops->uncached : 0;
	if (uncached & 1) {
		rc = kp_error_set(errmsg, KP_EINVAL,
				  "controller \"%s\": its primary kind (kinds[0]) cannot be uncached",
				  p->name);
		goto fail;
	}
	c->caches = calloc(c->nkinds, sizeof(*c->caches));
	if (!c->caches) {
		rc = kp_error_set(errmsg, KP_ENOMEM, "out of memory");
		goto fail;
	}
	for (unsigned i = 0; i < c->nkinds; i++) {
		const struct kp_ctl_kind *k = &ops->kinds[i];
		const struct kp_resource *res =
			kp__registry_find(k->group ? k->group : "", k->version ? k->version : "",
					  k->resource ? k->resource : "");
		if (!res || strcmp(res->kind, k->kind)) {
			rc = kp_error_set(errmsg, KP_EINVAL,
					  "controller \"%s\": kinds[%u]: %s/%s %s (%s) is not served "
					  "by the API server",
					  p->name, i, k->group ? k->group : "",
					  k->version ? k->version : "", k->kind,
					  k->resource ? k->resource : "?");
			goto fail;
		}
		if (i < 64 && (uncached >> i & 1)) {
			struct cache *ca = calloc(1, sizeof(*ca));
			if ((c->caches[i] = ca)) {
				ca->m = m;
				ca->res = res;
				ca->live = true;
			}
		} else {
			c->caches[i] = cache_for(m, res);
		}
		if (!c->caches[i]) {
			rc = kp_error_set(errmsg, KP_ENOMEM, "out of memory");
			goto fail;
		}
	}
	char where[256];
	snprintf(where, sizeof(where), "controllers.%s.args", p->name);
	if ((rc = kp__args_fill(p, args, where, &c->args, &c->args_json, errmsg)) < 0)
		goto fail;
	c->workers = workers ? workers : ops->workers ? ops->workers : 1;
	if ((rc = kp_wq_new(NULL, &c->wq)) < 0) {
		kp_error_set(errmsg, rc, "out of memory");
		goto fail;
	}
	/* Subscribe only now that nothing can fail. */
	void *pp = realloc(m->ctls, (m->nctls + 1) * sizeof(*m->ctls));
	if (!pp) {
		rc = kp_error_set(errmsg, KP_ENOMEM, "out of memory");
		goto fail;
	}
	m->ctls = pp;
	for (unsigned i = 0; i < c->nkinds; i++) {
		struct cache *ca = c->caches[i];
		if (ca->live)
			continue;
		bool dup = false;
		for (size_t j = 0; j < ca->nsubs; j++)
			dup |= ca->subs[j].c == c;
		if (dup)
			continue;
		void *s = realloc(ca->subs, (ca->nsubs + 1) * sizeof(*ca->subs));
		if (!s)
			continue; /* cannot happen in practice; the kind stays unwatched */
		ca->subs = s;
		ca->subs[ca->nsubs++] = (struct sub){ c, i };
	}
	m->ctls[m->nctls++] = c;
	return 0;
fail:
	ctl_free(c);
	return rc;
}

/* Whether name is on in a --controllers list. */
static bool enabled_in(const char *list, const char *name)
{
	bool on = false;
	const char *p = list ? list : "*";
	while (*p) {
		size_t n = strcspn(p, ",");
		if (n == 1 && *p == '*')
			on = true;
		else if (*p == '-' && n - 1 == strlen(name) && !strncmp(p + 1, name, n - 1))
			return false;
		else if (n == strlen(name) && !strncmp(p, name, n))
			on = true;
		p += n;
		if (*p == ',')
			p++;
	}
	return on;
}

int kp_ctl_manager_add_registry(struct kp_ctl_manager *m, struct kp_registry *reg,
				const char *enabled, const json_t *settings, char **errmsg)
{
	/* Every name given must exist: a typo must not silently run nothing. */
	const char *p = enabled ? enabled : "*";
	while (*p) {
		size_t n = strcspn(p, ",");
		const char *nm = *p == '-' ? p + 1 : p;
		size_t nl = *p == '-' ? n - 1 : n;
		if (!(n == 1 && *p == '*')) {
			bool found = false;
			for (size_t i = 0; i < kp_registry_count(reg) && !found; i++) {
				const struct kp_plugin *pl = kp_registry_get(reg, i)->plugin;
				found = pl->kind == KP_PLUGIN_CONTROLLER &&
					strlen(pl->name) == nl && !strncmp(pl->name, nm, nl);
			}
			if (!found)
				return kp_error_set(errmsg, KP_EINVAL,
						    "controllers: no controller \"%.*s\" is loaded",
						    (int)nl, nm);
		}
		p += n;
		if (*p == ',')
			p++;
	}
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)settings, k, v) {
		const struct kp_plugin *pl = kp_registry_find(reg, k);
		if (!pl || pl->kind != KP_PLUGIN_CONTROLLER)
			return kp_error_set(errmsg, KP_EINVAL,
					    "controllers.%s: no such controller is loaded", k);
		const char *f;
		json_t *fv;
		json_object_foreach(v, f, fv) {
			if (strcmp(f, "workers") && strcmp(f, "args"))
				return kp_error_set(errmsg, KP_EINVAL,
						    "controllers.%s.%s: unknown field (known: "
						    "workers, args)",
						    k, f);
		}
		json_t *w = json_object_get(v, "workers");
		if (w && (!json_is_integer(w) || json_integer_value(w) < 1 ||
			  json_integer_value(w) > 1000))
			return kp_error_set(errmsg, KP_EINVAL,
					    "controllers.%s.workers: expected an integer in 1..1000",
					    k);
	}
	for (size_t i = 0; i < kp_registry_count(reg); i++) {
		const struct kp_plugin *pl = kp_registry_get(reg, i)->plugin;
		if (pl->kind != KP_PLUGIN_CONTROLLER || !enabled_in(enabled, pl->name))
			continue;
		json_t *s = json_object_get(settings, pl->name);
		unsigned workers = (unsigned)json_integer_value(json_object_get(s, "workers"));
		int rc = kp_ctl_manager_add(m, pl, json_object_get(s, "args"), workers, errmsg);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void stop_all(struct kp_ctl_manager *m)
{
	atomic_store(&m->stop, true);
	for (size_t i = 0; i < m->ncaches; i++) {
		kp_informer_stop(m->caches[i]->inf);
		m->caches[i]->inf = NULL;
	}
	for (size_t i = 0; i < m->nctls; i++)
		kp_wq_shutdown(m->ctls[i]->wq);
	for (size_t i = 0; i < m->nctls; i++) {
		struct ctl *c = m->ctls[i];
		for (unsigned j = 0; j < c->nthreads; j++)
			pthread_join(c->threads[j], NULL);
		c->nthreads = 0;
		if (c->inited && c->ops->fini)
			c->ops->fini(c->state);
		c->inited = false;
	}
	/* Writes the events still queued. */
	kp_recorder_stop(m->events);
	m->events = NULL;
}

int kp_ctl_manager_start(struct kp_ctl_manager *m, char **errmsg)
{
	int rc;
	m->started = true;
	if ((rc = kp_recorder_start(m->st, "controller-manager", &m->events, errmsg)) < 0)
		return rc;
	for (size_t i = 0; i < m->nctls; i++) {
		struct ctl *c = m->ctls[i];
		if (c->ops->init) {
			char *e = NULL;
			rc = c->ops->init(&c->pub, c->args, &c->state, &e);
			if (rc) {
				kp_error_set(errmsg, rc < 0 ? rc : KP_EINVAL, "controller \"%s\": init: %s",
					     c->p->name, e ? e : "failed");
				free(e);
				goto fail;
			}
		}
		c->inited = true;
	}
	for (size_t i = 0; i < m->ncaches; i++) {
		rc = kp_informer_start(m->st, m->caches[i]->res->key_prefix, on_change, m->caches[i],
				       &m->caches[i]->inf, errmsg);
		if (rc < 0)
			goto fail;
	}
	for (size_t i = 0; i < m->nctls; i++) {
		struct ctl *c = m->ctls[i];
		c->threads = calloc(c->workers, sizeof(*c->threads));
		if (!c->threads) {
			rc = kp_error_set(errmsg, KP_ENOMEM, "out of memory");
			goto fail;
		}
		for (unsigned j = 0; j < c->workers; j++) {
			if (pthread_create(&c->threads[j], NULL, worker, c) == 0) {
				char tn[16];
				snprintf(tn, sizeof(tn), "ctl:%s", c->p->name);
				pthread_setname_np(c->threads[j], tn);
			} else {
				rc = kp_error_set(errmsg, KP_ENOMEM, "cannot start a worker of %s",
						  c->p->name);
				goto fail;
			}
			c->nthreads++;
		}
	}
	return 0;
fail:
	stop_all(m);
	return rc;
}

void kp_ctl_manager_free(struct kp_ctl_manager *m)
{
	if (!m)
		return;
	stop_all(m);
	for (size_t i = 0; i < m->nctls; i++)
		ctl_free(m->ctls[i]);
	for (size_t i = 0; i < m->ncaches; i++)
		cache_free(m->caches[i]);
	free(m->ctls);
	free(m->caches);
	free(m);
}

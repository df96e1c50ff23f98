/*
 * crd.c - custom resources: the served set comes from the stored
 * CustomResourceDefinitions, followed by an informer (a list, then a
 * store watch on the CRD prefix), so that every API server process on one
 * store serves the same set whoever wrote the CRD.
 *
 * Each served version of each CRD becomes a struct kp_resource that
 * routing, the verbs, watch and tables use like a built-in one (res->crd
 * set). A change of any CRD rebuilds the whole set and swaps it in; the
 * old entries stay allocated until the server stops, because requests
 * and watches in flight hold pointers to them (CRDs change rarely, so the
 * retired list stays small).
 *
 * Deleting a CRD: the DELETE marks it (deletionTimestamp and the
 * customresourcecleanup.apiextensions.k8s.io finalizer, as Kubernetes
 * does); the informer of every server sees the mark, deletes the custom
 * resources under the CRD's prefix and removes the finalizer, which
 * removes the CRD. The work is idempotent, so several servers may race.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kplane/kplane.h>

#include "core/api/internal.h"
#include "core/api/schema.h"

#define CRD_PREFIX "/registry/apiextensions.k8s.io/customresourcedefinitions/"
#define CLEANUP_FINALIZER "customresourcecleanup.apiextensions.k8s.io"

struct kp_crd_version {
	struct kp_resource res;
	json_t *crd;          /* the whole CRD (own reference) */
	json_t *ver;          /* spec.versions[i] (borrowed from crd) */
	json_t *schema;       /* its openAPIV3Schema or NULL (borrowed) */
	json_t *scale;        /* subresources.scale or NULL (borrowed) */
	json_t *columns;      /* additionalPrinterColumns or NULL (borrowed) */
	json_t *short_names;  /* spec.names.shortNames (borrowed) */
	json_t *categories;   /* spec.names.categories (borrowed) */
	char *storage_gv;     /* "stable.example.com/v1" */
	bool terminating;
	struct kp_crd_version *all_next;
};

struct kp_crds {
	pthread_rwlock_t lock;
	struct kp_crd_version **cur; /* the served set */
	size_t ncur;
	struct kp_crd_version *all;  /* every entry ever built (freed at stop) */
	json_t *cache;               /* store key -> CRD object */

	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t rev; /* the informer has seen every CRD change up to here */

	struct kp_store *st;
	struct kp_api_server *srv;
	struct kp_watch *w;
	pthread_t thread;
	bool started;
	int stop;
};

/* ---- building the served set -------------------------------------------------- */

static char *xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");
	if (!d)
		abort();
	return d;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	return s;
}

static void version_free(struct kp_crd_version *v)
{
	free((char *)v->res.group);
	free((char *)v->res.version);
	free((char *)v->res.kind);
	free((char *)v->res.plural);
	free((char *)v->res.singular);
	free(v->res.group_version);
	free(v->res.qualified);
	free(v->res.list_kind);
	free(v->res.key_prefix);
	free(v->storage_gv);
	json_decref(v->crd);
	free(v);
}

static char *lower(const char *s)
{
	char *d = xstrdup(s);
	for (char *p = d; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

static bool array_has(const json_t *a, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach (a, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), s))
			return true;
	return false;
}

/* Appends the served versions of crd to the vector (v, n, cap). */
static void build_crd(struct kp_crds *cs, json_t *crd, struct kp_crd_version ***v, size_t *n,
		      size_t *cap)
{
	const char *group = kp_obj_str(crd, "spec.group");
	const char *plural = kp_obj_str(crd, "spec.names.plural");
	const char *kind = kp_obj_str(crd, "spec.names.kind");
	json_t *versions = kp_obj_get(crd, "spec.versions");
	if (!group || !plural || !kind || !json_is_array(versions))
		return;
	/* A kind already served in this group by another CRD: not accepted. */
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*v)[i]->res.group, group) &&
		    (!strcmp((*v)[i]->res.kind, kind) || !strcmp((*v)[i]->res.plural, plural)))
			return;
	const char *singular = kp_obj_str(crd, "spec.names.singular");
	const char *list_kind = kp_obj_str(crd, "spec.names.listKind");
	const char *scope = kp_obj_str(crd, "spec.scope");
	bool namespaced = !scope || strcmp(scope, "Cluster");
	const char *storage = NULL;
	size_t i;
	json_t *ver;
	json_array_foreach (versions, i, ver)
		if (kp_obj_bool(ver, "storage", false))
			storage = kp_obj_str(ver, "name");
	if (!storage)
		return;
	json_t *cats = kp_obj_get(crd, "spec.names.categories");
	json_array_foreach (versions, i, ver) {
		const char *vname = kp_obj_str(ver, "name");
		if (!vname || !kp_obj_bool(ver, "served", false))
			continue;
		struct kp_crd_version *cv = calloc(1, sizeof(*cv));
		if (!cv)
			abort();
		struct kp_resource *r = &cv->res;
		r->group = xstrdup(group);
		r->version = xstrdup(vname);
		r->kind = xstrdup(kind);
		r->plural = xstrdup(plural);
		r->singular = singular && *singular ? xstrdup(singular) : lower(kind);
		r->all_category = array_has(cats, "all");
		r->verbs = KP_VERBS_ALL;
		r->flags = KP_RES_GENERATION | (namespaced ? KP_RES_NAMESPACED : 0);
		if (kp_obj_get(ver, "subresources.status"))
			r->flags |= KP_RES_STATUS;
		if (kp_obj_get(ver, "subresources.scale"))
			r->flags |= KP_RES_SCALE;
		if (json_array_size(versions) > 1)
			r->flags |= KP_RES_CONVERT;
		r->table = KP_TABLE_DEFAULT;
		r->group_version = xasprintf("%s/%s", group, vname);
		r->qualified = xasprintf("%s.%s", plural, group);
		r->list_kind = list_kind && *list_kind ? xstrdup(list_kind) :
							  xasprintf("%sList", kind);
		r->key_prefix = xasprintf("/registry/%s/%s/", group, plural);
		/* Metrics index built-in resources only. */
		r->index = (size_t)-1;
		r->crd = cv;
		cv->crd = json_incref(crd);
		cv->ver = ver;
		cv->schema = kp_obj_getv(ver, "schema", "openAPIV3Schema", NULL);
		cv->scale = kp_obj_get(ver, "subresources.scale");
		cv->columns = json_object_get(ver, "additionalPrinterColumns");
		cv->short_names = kp_obj_get(crd, "spec.names.shortNames");
		cv->categories = cats;
		cv->storage_gv = xasprintf("%s/%s", group, storage);
		cv->terminating = kp_obj_str(crd, "metadata.deletionTimestamp") != NULL;
		cv->all_next = cs->all;
		cs->all = cv;
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 16;
			*v = realloc(*v, *cap * sizeof(**v));
			if (!*v)
				abort();
		}
		(*v)[(*n)++] = cv;
	}
}

static const char *created(const json_t *crd)
{
	const char *c = kp_obj_str(crd, "metadata.creationTimestamp");
	return c ? c : "";
}

/* Rebuilds the served set from the cache; called by the informer only. */
static void rebuild(struct kp_crds *cs)
{
	/* Older CRDs win name conflicts: build in creation order. */
	size_t n = json_object_size(cs->cache), k = 0;
	json_t **order = calloc(n ? n : 1, sizeof(*order));
	if (!order)
		abort();
	const char *key;
	json_t *crd;
	json_object_foreach (cs->cache, key, crd)
		order[k++] = crd;
	for (size_t i = 1; i < k; i++)
		for (size_t j = i; j > 0 && strcmp(created(order[j - 1]), created(order[j])) > 0;
		     j--) {
			json_t *t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	struct kp_crd_version **v = NULL;
	size_t nv = 0, cap = 0;
	pthread_rwlock_wrlock(&cs->lock);
	for (size_t i = 0; i < k; i++)
		build_crd(cs, order[i], &v, &nv, &cap);
	free(cs->cur);
	cs->cur = v;
	cs->ncur = nv;
	pthread_rwlock_unlock(&cs->lock);
	free(order);
}

/* ---- informer -------------------------------------------------------------------- */

static void set_rev(struct kp_crds *cs, uint64_t rev)
{
	pthread_mutex_lock(&cs->mu);
	if (rev > cs->rev)
		cs->rev = rev;
	pthread_cond_broadcast(&cs->cv);
	pthread_mutex_unlock(&cs->mu);
}

static int relist(struct kp_crds *cs)
{
	struct kp_kv_list l;
	int rc = kp_store_list(cs->st, CRD_PREFIX, 0, NULL, 0, &l);
	if (rc)
		return rc;
	json_object_clear(cs->cache);
	for (size_t i = 0; i < l.n; i++) {
		json_t *o = kp_json_loadb(l.items[i].value, l.items[i].len, 0, NULL);
		if (json_is_object(o))
			json_object_set_new(cs->cache, l.items[i].key, o);
		else
			json_decref(o);
	}
	uint64_t rev = l.rev;
	kp_kv_list_release(&l);
	if (cs->w)
		kp_watch_free(cs->w);
	cs->w = NULL;
	rc = kp_store_watch(cs->st, CRD_PREFIX, rev, &cs->w);
	if (rc)
		return rc;
	rebuild(cs);
	set_rev(cs, rev);
	return 0;
}

static bool has_finalizer(const json_t *o, const char *f)
{
	return array_has(kp_obj_get(o, "metadata.finalizers"), f);
}

/*
 * Finishes the deletion of a marked CRD: deletes its custom resources,
 * then drops the cleanup finalizer (which deletes the CRD when it was the
 * last one). Other servers may do the same at the same time: a missing
 * key or a lost compare-and-swap just ends the attempt.
 */
static void cleanup_crd(struct kp_crds *cs, const char *key, const json_t *crd)
{
	const char *group = kp_obj_str(crd, "spec.group");
	const char *plural = kp_obj_str(crd, "spec.names.plural");
	if (group && plural) {
		char *prefix = xasprintf("/registry/%s/%s/", group, plural);
		for (int round = 0; round < 100; round++) {
			struct kp_kv_list l;
			if (kp_store_list(cs->st, prefix, 0, NULL, 500, &l))
				break;
			size_t n = l.n;
			for (size_t i = 0; i < l.n; i++)
				kp_store_delete(cs->st, l.items[i].key, 0, NULL, NULL);
			kp_kv_list_release(&l);
			if (!n)
				break;
		}
		free(prefix);
	}
	for (int attempt = 0; attempt < 8; attempt++) {
		struct kp_kv kv;
		if (kp_store_get(cs->st, key, &kv))
			return;
		json_t *o = kp_json_loadb(kv.value, kv.len, 0, NULL);
		uint64_t rev = kv.mod_rev;
		kp_kv_release(&kv);
		if (!json_is_object(o) || !has_finalizer(o, CLEANUP_FINALIZER)) {
			json_decref(o);
			return;
		}
		json_t *fin = kp_obj_get(o, "metadata.finalizers");
		json_t *keep = json_array();
		size_t i;
		json_t *f;
		json_array_foreach (fin, i, f)
			if (!json_is_string(f) || strcmp(json_string_value(f), CLEANUP_FINALIZER))
				json_array_append(keep, f);
		int rc;
		if (!json_array_size(keep)) {
			json_decref(keep);
			rc = kp_store_delete(cs->st, key, rev, NULL, NULL);
		} else {
			kp_obj_set(o, "metadata.finalizers", keep);
			char *s = json_dumps(o, JSON_COMPACT);
			rc = s ? kp_store_update(cs->st, key, s, strlen(s), rev, NULL) : KP_ENOMEM;
			free(s);
		}
		json_decref(o);
		if (rc != KP_ECONFLICT)
			return;
	}
}

static void cleanup_marked(struct kp_crds *cs)
{
	/* Copy the keys first: cleanup writes trigger events but not cache changes here. */
	json_t *todo = json_object();
	const char *key;
	json_t *crd;
	json_object_foreach (cs->cache, key, crd)
		if (kp_obj_str(crd, "metadata.deletionTimestamp") &&
		    has_finalizer(crd, CLEANUP_FINALIZER))
			json_object_set(todo, key, crd);
	json_object_foreach (todo, key, crd)
		cleanup_crd(cs, key, crd);
	json_decref(todo);
}

static void *informer_main(void *arg)
{
	struct kp_crds *cs = arg;
	while (!__atomic_load_n(&cs->stop, __ATOMIC_ACQUIRE)) {
		if (!cs->w && relist(cs)) {
			struct timespec ts = { 0, 200 * 1000000L };
			nanosleep(&ts, NULL);
			continue;
		}
		struct kp_event ev;
		int rc = kp_watch_next(cs->w, &ev, 500);
		bool changed = false;
		uint64_t rev = 0;
		while (rc == 0) {
			if (ev.type == KP_EVENT_DELETED) {
				json_object_del(cs->cache, ev.kv.key);
			} else {
				json_t *o = kp_json_loadb(ev.kv.value, ev.kv.len, 0, NULL);
				if (json_is_object(o))
					json_object_set_new(cs->cache, ev.kv.key, o);
				else
					json_decref(o);
			}
			rev = ev.kv.mod_rev;
			changed = true;
			kp_event_release(&ev);
			rc = kp_watch_next(cs->w, &ev, 0);
		}
		if (changed) {
			rebuild(cs);
			set_rev(cs, rev);
			/* Watches of custom resources no longer served end now. */
			kp__watch_wake_all(cs->srv);
			cleanup_marked(cs);
		}
		if (rc == KP_EEXPIRED) {
			kp_watch_free(cs->w);
			cs->w = NULL;
		} else if (rc == KP_ECLOSED) {
			break;
		}
	}
	return NULL;
}

int kp__crds_start(struct kp_api_server *srv, char **errmsg)
{
	struct kp_crds *cs = calloc(1, sizeof(*cs));
	if (!cs)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	pthread_rwlock_init(&cs->lock, NULL);
	pthread_mutex_init(&cs->mu, NULL);
	pthread_cond_init(&cs->cv, NULL);
	cs->cache = json_object();
	cs->st = srv->st;
	cs->srv = srv;
	srv->crds = cs;
	int rc = relist(cs);
	if (rc)
		return kp_error_set(errmsg, rc, "listing CustomResourceDefinitions: %s",
				    kp_strerror(rc));
	cleanup_marked(cs);
	if (pthread_create(&cs->thread, NULL, informer_main, cs))
		return kp_error_set(errmsg, KP_EIO, "cannot start the CRD informer thread");
	cs->started = true;
	return 0;
}

void kp__crds_stop(struct kp_api_server *srv)
{
	struct kp_crds *cs = srv->crds;
	if (!cs)
		return;
	__atomic_store_n(&cs->stop, 1, __ATOMIC_RELEASE);
	if (cs->started) {
		if (cs->w)
			kp_watch_cancel(cs->w);
		pthread_join(cs->thread, NULL);
		cs->started = false;
	}
	pthread_mutex_lock(&cs->mu);
	pthread_cond_broadcast(&cs->cv);
	pthread_mutex_unlock(&cs->mu);
}

void kp__crds_free(struct kp_api_server *srv)
{
	struct kp_crds *cs = srv->crds;
	if (!cs)
		return;
	kp__crds_stop(srv);
	if (cs->w)
		kp_watch_free(cs->w);
	for (struct kp_crd_version *v = cs->all, *next; v; v = next) {
		next = v->all_next;
		version_free(v);
	}
	free(cs->cur);
	json_decref(cs->cache);
	pthread_rwlock_destroy(&cs->lock);
	pthread_mutex_destroy(&cs->mu);
	pthread_cond_destroy(&cs->cv);
	free(cs);
	srv->crds = NULL;
}

void kp__crds_wait(struct kp_api_server *srv, uint64_t rev)
{
	struct kp_crds *cs = srv->crds;
	if (!cs || !rev)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	pthread_mutex_lock(&cs->mu);
	while (cs->rev < rev && !__atomic_load_n(&cs->stop, __ATOMIC_ACQUIRE))
		if (pthread_cond_timedwait(&cs->cv, &cs->mu, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&cs->mu);
}

const struct kp_resource *kp__crds_find(struct kp_api_server *srv, const char *group,
					const char *version, const char *plural)
{
	struct kp_crds *cs = srv->crds;
	if (!cs)
		return NULL;
	const struct kp_resource *r = NULL;
	pthread_rwlock_rdlock(&cs->lock);
	for (size_t i = 0; i < cs->ncur && !r; i++) {
		const struct kp_resource *c = &cs->cur[i]->res;
		if (!strcmp(c->plural, plural) && !strcmp(c->group, group) &&
		    !strcmp(c->version, version))
			r = c;
	}
	pthread_rwlock_unlock(&cs->lock);
	return r;
}

bool kp__cr_terminating(const struct kp_resource *res)
{
	return res->crd && res->crd->terminating;
}

const char *kp__cr_storage_gv(const struct kp_resource *res)
{
	return res->crd ? res->crd->storage_gv : res->group_version;
}

void kp__crds_storage_metrics(struct kp_api_server *srv, struct kp_buf *out)
{
	struct kp_crds *cs = srv->crds;
	if (!cs)
		return;
	pthread_rwlock_rdlock(&cs->lock);
	for (size_t i = 0; i < cs->ncur; i++) {
		const struct kp_resource *r = &cs->cur[i]->res;
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(cs->cur[j]->res.qualified, r->qualified);
		size_t n = 0;
		if (!seen && kp_store_count(srv->st, r->key_prefix, &n) == 0)
			kp__buf_addf(out, "apiserver_storage_objects{resource=\"%s\"} %zu\n",
				     r->qualified, n);
	}
	pthread_rwlock_unlock(&cs->lock);
}

/* ---- discovery ------------------------------------------------------------------- */

/* Kubernetes' version priority: GA > beta > alpha, higher numbers first, then others. */
static void version_key(const char *v, int *cls, long *major, long *minor)
{
	*cls = 0;
	*major = *minor = 0;
	if (v[0] != 'v' || !isdigit((unsigned char)v[1]))
		return;
	char *end;
	*major = strtol(v + 1, &end, 10);
	if (!*end) {
		*cls = 3;
		return;
	}
	int c = !strncmp(end, "beta", 4) ? 2 : !strncmp(end, "alpha", 5) ? 1 : 0;
	if (!c)
		return;
	const char *m = end + (c == 2 ? 4 : 5);
	if (!isdigit((unsigned char)*m))
		return;
	*minor = strtol(m, &end, 10);
	if (!*end)
		*cls = c;
}

static int version_cmp(const char *a, const char *b)
{
	int ca, cb;
	long ma, mb, na, nb;
	version_key(a, &ca, &ma, &na);
	version_key(b, &cb, &mb, &nb);
	if (ca != cb)
		return cb - ca;
	if (!ca)
		return strcmp(a, b);
	if (ma != mb)
		return ma > mb ? -1 : 1;
	if (na != nb)
		return na > nb ? -1 : 1;
	return 0;
}

/* The versions of group served now, by priority (new array of strings). */
static json_t *group_versions(struct kp_crds *cs, const char *group)
{
	json_t *vs = json_array();
	for (size_t i = 0; i < cs->ncur; i++) {
		const struct kp_resource *r = &cs->cur[i]->res;
		if (strcmp(r->group, group) || array_has(vs, r->version))
			continue;
		size_t at = 0;
		while (at < json_array_size(vs) &&
		       version_cmp(json_string_value(json_array_get(vs, at)), r->version) < 0)
			at++;
		json_array_insert_new(vs, at, json_string(r->version));
	}
	return vs;
}

static json_t *group_json(struct kp_crds *cs, const char *group)
{
	json_t *vs = group_versions(cs, group);
	if (!json_array_size(vs)) {
		json_decref(vs);
		return NULL;
	}
	json_t *versions = json_array();
	size_t i;
	json_t *v;
	json_array_foreach (vs, i, v) {
		char *gv = xasprintf("%s/%s", group, json_string_value(v));
		json_array_append_new(versions, json_pack("{s:s, s:s}", "groupVersion", gv,
							  "version", json_string_value(v)));
		free(gv);
	}
	json_decref(vs);
	json_t *pref = json_deep_copy(json_array_get(versions, 0));
	return json_pack("{s:s, s:o, s:o}", "name", group, "versions", versions,
			 "preferredVersion", pref);
}

void kp__crds_discovery_groups(struct kp_api_server *srv, json_t *groups)
{
	struct kp_crds *cs = srv->crds;
	if (!cs)
		return;
	pthread_rwlock_rdlock(&cs->lock);
	json_t *seen = json_object();
	for (size_t i = 0; i < cs->ncur; i++) {
		const char *g = cs->cur[i]->res.group;
		if (json_object_get(seen, g))
			continue;
		json_object_set_new(seen, g, json_true());
		json_t *gj = group_json(cs, g);
		if (gj)
			json_array_append_new(groups, gj);
	}
	json_decref(seen);
	pthread_rwlock_unlock(&cs->lock);
}

json_t *kp__crds_discovery_group(struct kp_api_server *srv, const char *group)
{
	struct kp_crds *cs = srv->crds;
	if (!cs)
		return NULL;
	pthread_rwlock_rdlock(&cs->lock);
	json_t *g = group_json(cs, group);
	pthread_rwlock_unlock(&cs->lock);
	if (g) {
		json_object_set_new(g, "kind", json_string("APIGroup"));
		json_object_set_new(g, "apiVersion", json_string("v1"));
	}
	return g;
}

static json_t *verbs_of(bool sub)
{
	if (sub)
		return json_pack("[s, s, s]", "get", "patch", "update");
	return json_pack("[s, s, s, s, s, s, s, s]", "delete", "deletecollection", "get", "list",
			 "patch", "create", "update", "watch");
}

json_t *kp__crds_discovery_resources(struct kp_api_server *srv, const char *group,
				     const char *version)
{
	struct kp_crds *cs = srv->crds;
	if (!cs)
		return NULL;
	json_t *list = json_array();
	bool any = false;
	pthread_rwlock_rdlock(&cs->lock);
	for (size_t i = 0; i < cs->ncur; i++) {
		const struct kp_crd_version *cv = cs->cur[i];
		const struct kp_resource *r = &cv->res;
		if (strcmp(r->group, group) || strcmp(r->version, version))
			continue;
		any = true;
		bool ns = r->flags & KP_RES_NAMESPACED;
		json_t *o = json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", r->plural,
				      "singularName", r->singular, "namespaced", ns, "kind",
				      r->kind, "verbs", verbs_of(false));
		if (json_array_size(cv->short_names))
			json_object_set_new(o, "shortNames", json_deep_copy(cv->short_names));
		if (json_array_size(cv->categories))
			json_object_set_new(o, "categories", json_deep_copy(cv->categories));
		json_array_append_new(list, o);
		char name[300];
		if (r->flags & KP_RES_STATUS) {
			snprintf(name, sizeof(name), "%s/status", r->plural);
			json_array_append_new(list, json_pack("{s:s, s:s, s:b, s:s, s:o}", "name",
							      name, "singularName", "",
							      "namespaced", ns, "kind", r->kind,
							      "verbs", verbs_of(true)));
		}
		if (r->flags & KP_RES_SCALE) {
			snprintf(name, sizeof(name), "%s/scale", r->plural);
			json_array_append_new(
				list, json_pack("{s:s, s:s, s:b, s:s, s:s, s:s, s:o}", "name", name,
						"singularName", "", "namespaced", ns, "group",
						"autoscaling", "version", "v1", "kind", "Scale",
						"verbs", verbs_of(true)));
		}
	}
	pthread_rwlock_unlock(&cs->lock);
	if (!any) {
		json_decref(list);
		return NULL;
	}
	char *gv = xasprintf("%s/%s", group, version);
	json_t *d = json_pack("{s:s, s:s, s:s, s:o}", "kind", "APIResourceList", "apiVersion", "v1",
			      "groupVersion", gv, "resources", list);
	free(gv);
	return d;
}

/* ---- OpenAPI v3 ----------------------------------------------------------------- */

/* "stable.example.com" + v1 + CronTab -> "com.example.stable.v1.CronTab" */
static char *schema_name(const struct kp_resource *r)
{
	struct kp_buf b = { 0 };
	const char *g = r->group;
	const char *end = g + strlen(g);
	while (end > g) {
		const char *dot = end;
		while (dot > g && dot[-1] != '.')
			dot--;
		kp__buf_add(&b, dot, (size_t)(end - dot));
		kp__buf_add(&b, ".", 1);
		end = dot > g ? dot - 1 : g;
	}
	kp__buf_addf(&b, "%s.%s", r->version, r->kind);
	return kp__buf_steal(&b, NULL);
}

/* The document of group/version (new reference) or NULL when not served. */
static json_t *cr_doc(struct kp_crds *cs, const char *group, const char *version)
{
	json_t *paths = json_object(), *schemas = json_object();
	bool any = false;
	for (size_t i = 0; i < cs->ncur; i++) {
		const struct kp_crd_version *cv = cs->cur[i];
		const struct kp_resource *r = &cv->res;
		if (strcmp(r->group, group) || strcmp(r->version, version))
			continue;
		any = true;
		char *name = schema_name(r);
		char *ref = xasprintf("#/components/schemas/%s", name);
		kp__openapi_add_paths(paths, r, ref, false);
		json_t *s = cv->schema ? json_deep_copy(cv->schema) :
					 json_pack("{s:s, s:b}", "type", "object",
						   "x-kubernetes-preserve-unknown-fields", 1);
		json_t *props = json_object_get(s, "properties");
		if (!json_is_object(props)) {
			props = json_object();
			json_object_set_new(s, "properties", props);
		}
		json_object_set_new(props, "apiVersion", json_pack("{s:s}", "type", "string"));
		json_object_set_new(props, "kind", json_pack("{s:s}", "type", "string"));
		json_object_set_new(props, "metadata",
				    json_pack("{s:[{s:s}]}", "allOf", "$ref",
					      "#/components/schemas/"
					      "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"));
		json_object_set_new(s, "x-kubernetes-group-version-kind",
				    json_pack("[{s:s, s:s, s:s}]", "group", r->group, "kind",
					      r->kind, "version", r->version));
		json_object_set_new(schemas, name, s);
		free(name);
		free(ref);
	}
	if (!any) {
		json_decref(paths);
		json_decref(schemas);
		return NULL;
	}
	const json_t *defs = kp__openapi_defs();
	static const char *const meta[] = { "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
					    "io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference" };
	for (size_t i = 0; i < 2; i++) {
		json_t *m = json_object_get(defs, meta[i]);
		if (m)
			json_object_set_new(schemas, meta[i], json_deep_copy(m));
	}
	return json_pack("{s:s, s:{s:s, s:s}, s:o, s:{s:o}}", "openapi", "3.0.0", "info", "title",
			 "Kubernetes CRD Swagger", "version", "v0.1.0", "paths", paths,
			 "components", "schemas", schemas);
}

static uint64_t fnv1a(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ull;
	}
	return h;
}

void kp__crds_openapi_index(struct kp_api_server *srv, json_t *paths)
{
	struct kp_crds *cs = srv->crds;
	if (!cs)
		return;
	pthread_rwlock_rdlock(&cs->lock);
	for (size_t i = 0; i < cs->ncur; i++) {
		const struct kp_resource *r = &cs->cur[i]->res;
		char *path = xasprintf("apis/%s", r->group_version);
		if (!json_object_get(paths, path)) {
			json_t *doc = cr_doc(cs, r->group, r->version);
			char *s = json_dumps(doc, JSON_COMPACT);
			char *url = xasprintf("/openapi/v3/%s?hash=%016llX", path,
					      (unsigned long long)fnv1a(s, strlen(s)));
			json_object_set_new(paths, path, json_pack("{s:s}", "serverRelativeURL", url));
			free(url);
			free(s);
			json_decref(doc);
		}
		free(path);
	}
	pthread_rwlock_unlock(&cs->lock);
}

json_t *kp__crds_openapi_doc(struct kp_api_server *srv, const char *path)
{
	struct kp_crds *cs = srv->crds;
	if (!cs || strncmp(path, "apis/", 5))
		return NULL;
	char *g = xstrdup(path + 5);
	char *slash = strchr(g, '/');
	json_t *doc = NULL;
	if (slash) {
		*slash = 0;
		pthread_rwlock_rdlock(&cs->lock);
		doc = cr_doc(cs, g, slash + 1);
		pthread_rwlock_unlock(&cs->lock);
	}
	free(g);
	return doc;
}

/* ---- custom resource objects -------------------------------------------------- */

static const json_t *meta_schema(void)
{
	return json_object_get(kp__openapi_defs(),
			       "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
}

void kp__cr_default(const struct kp_resource *res, json_t *obj, bool create)
{
	const struct kp_crd_version *cv = res->crd;
	/* Status comes only through /status when the subresource exists. */
	if (create && (res->flags & KP_RES_STATUS))
		json_object_del(obj, "status");
	if (cv->schema)
		kp__schema_prune(cv->schema, kp__openapi_defs(), meta_schema(), obj, NULL, true,
				 true, NULL);
}

void kp__cr_validate(const struct kp_resource *res, const json_t *obj, struct kp_errlist *errs)
{
	const struct kp_crd_version *cv = res->crd;
	if (cv->schema)
		kp__schema_validate(cv->schema, NULL, obj, errs);
}

void kp__unknown_fields(const struct kp_resource *res, json_t *obj, const json_t *old,
			struct kp_schema_unknown *unk, bool prune)
{
	const json_t *defs = kp__openapi_defs();
	const json_t *schema = res->crd ? res->crd->schema : kp__openapi_kind_schema(res);
	if (!schema)
		return;
	kp__schema_prune(schema, defs, meta_schema(), obj, old, prune, false, unk);
}

/* ".spec.replicas" -> "spec.replicas" (the scale paths of a CRD). */
static const char *dotted(const char *jsonpath)
{
	return jsonpath && jsonpath[0] == '.' ? jsonpath + 1 : jsonpath;
}

void kp__cr_scale_paths(const struct kp_resource *res, const char **spec, const char **status,
			const char **selector)
{
	*spec = "spec.replicas";
	*status = "status.replicas";
	*selector = NULL;
	if (!res->crd || !res->crd->scale)
		return;
	const json_t *sc = res->crd->scale;
	*spec = dotted(kp_obj_str(sc, "specReplicasPath"));
	*status = dotted(kp_obj_str(sc, "statusReplicasPath"));
	*selector = dotted(kp_obj_str(sc, "labelSelectorPath"));
	if (!*spec)
		*spec = "spec.replicas";
	if (!*status)
		*status = "status.replicas";
}

bool kp__cr_generation_changed(const struct kp_resource *res, const json_t *old,
			       const json_t *obj)
{
	if (res->flags & KP_RES_STATUS)
		return !json_equal(json_object_get(obj, "spec"), json_object_get(old, "spec"));
	/* Without a status subresource every change but metadata counts. */
	json_t *a = json_copy((json_t *)old), *b = json_copy((json_t *)obj);
	json_object_del(a, "metadata");
	json_object_del(b, "metadata");
	bool changed = !json_equal(a, b);
	json_decref(a);
	json_decref(b);
	return changed;
}

/* ---- tables ---------------------------------------------------------------------- */

/*
 * The simple JSONPath of additionalPrinterColumns: .a.b, ['a'], [n], [*]
 * and [?(@.k=="v")]; the first match wins, as in Kubernetes' converter.
 */
static const json_t *jsonpath_first(const json_t *v, const char *p, int depth)
{
	if (!v || depth > 32)
		return NULL;
	while (*p == ' ')
		p++;
	if (!*p)
		return v;
	if (*p == '.') {
		p++;
		if (*p == '.')
			return NULL; /* recursive descent: not supported */
		const char *e = p;
		while (*e && *e != '.' && *e != '[')
			e++;
		if (e == p)
			return jsonpath_first(v, e, depth + 1);
		return jsonpath_first(json_object_getn(v, p, (size_t)(e - p)), e, depth + 1);
	}
	if (*p != '[')
		return NULL;
	const char *close = strchr(p, ']');
	if (!close)
		return NULL;
	if (p[1] == '\'' || p[1] == '"') {
		const char *ks = p + 2, *ke = strchr(ks, p[1]);
		if (!ke || ke > close)
			return NULL;
		return jsonpath_first(json_object_getn(v, ks, (size_t)(ke - ks)), close + 1,
				      depth + 1);
	}
	if (p[1] == '*') {
		size_t i;
		json_t *e;
		json_array_foreach (v, i, e) {
			const json_t *r = jsonpath_first(e, close + 1, depth + 1);
			if (r)
				return r;
		}
		return NULL;
	}
	if (p[1] == '?') {
		/* [?(@.k=="v")] */
		const char *at = strstr(p, "@.");
		const char *eq = strstr(p, "==");
		const char *end = strstr(p, ")]");
		if (!at || !eq || !end || eq > end)
			return NULL;
		char key[256], val[256];
		snprintf(key, sizeof(key), "%.*s", (int)(eq - at - 1), at + 1);
		const char *vs = eq + 2;
		while (*vs == ' ')
			vs++;
		size_t vl = (size_t)(end - vs);
		while (vl && vs[vl - 1] == ' ')
			vl--;
		if (vl >= 2 && (vs[0] == '"' || vs[0] == '\''))
			vs++, vl -= 2;
		snprintf(val, sizeof(val), "%.*s", (int)vl, vs);
		size_t i;
		json_t *e;
		json_array_foreach (v, i, e) {
			const json_t *kv = jsonpath_first(e, key, depth + 1);
			char *t = kv ? (json_is_string(kv) ? xstrdup(json_string_value(kv)) :
							     json_dumps(kv, JSON_ENCODE_ANY)) :
				       NULL;
			bool m = t && !strcmp(t, val);
			free(t);
			if (m)
				return jsonpath_first(e, end + 2, depth + 1);
		}
		return NULL;
	}
	char *endn;
	long idx = strtol(p + 1, &endn, 10);
	if (endn != close || !json_is_array(v))
		return NULL;
	if (idx < 0)
		idx += (long)json_array_size(v);
	return jsonpath_first(json_array_get(v, (size_t)idx), close + 1, depth + 1);
}

static json_t *cell(const char *type, const json_t *v)
{
	if (!v || json_is_null(v))
		return json_null();
	if (!strcmp(type, "integer"))
		return json_is_number(v) ? json_integer((json_int_t)json_number_value(v)) :
					   json_null();
	if (!strcmp(type, "number"))
		return json_is_number(v) ? json_deep_copy(v) : json_null();
	if (!strcmp(type, "boolean"))
		return json_is_boolean(v) ? json_deep_copy(v) : json_null();
	if (!strcmp(type, "date"))
		return json_is_string(v) ? kp__table_age(json_string_value(v)) : json_null();
	if (json_is_string(v))
		return json_deep_copy(v);
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	json_t *c = json_string(s ? s : "");
	free(s);
	return c;
}

json_t *kp__cr_table(const struct kp_resource *res, json_t *items, const char *include_object,
		     const char *list_rv, const char *cont)
{
	const json_t *cols = res->crd->columns;
	json_t *owned = NULL;
	if (!json_array_size(cols))
		cols = owned = json_pack("[{s:s, s:s, s:s}]", "name", "Age", "type", "date",
					 "jsonPath", ".metadata.creationTimestamp");
	json_t *defs = json_array();
	json_array_append_new(defs, json_pack("{s:s, s:s, s:s, s:s, s:i}", "name", "Name", "type",
					      "string", "format", "name", "description",
					      "Name must be unique within a namespace.",
					      "priority", 0));
	size_t i;
	json_t *c;
	json_array_foreach (cols, i, c) {
		const char *type = kp_obj_str(c, "type");
		json_array_append_new(
			defs, json_pack("{s:s, s:s, s:s, s:s, s:I}", "name",
					kp_obj_str(c, "name") ?: "", "type",
					type && strcmp(type, "date") ? type : "date", "format",
					kp_obj_str(c, "format") ?: "", "description",
					kp_obj_str(c, "description") ?: "", "priority",
					(json_int_t)kp_obj_int(c, "priority", 0)));
	}
	json_t *rows = json_array();
	size_t j;
	json_t *o;
	json_array_foreach (items, j, o) {
		json_t *cells = json_array();
		const char *name = kp_obj_name(o);
		json_array_append_new(cells, json_string(name ? name : ""));
		json_array_foreach (cols, i, c) {
			const char *path = kp_obj_str(c, "jsonPath");
			const char *type = kp_obj_str(c, "type");
			const json_t *v = path ? jsonpath_first(o, path, 0) : NULL;
			json_array_append_new(cells, cell(type ? type : "string", v));
		}
		json_t *row = json_pack("{s:o}", "cells", cells);
		if (!include_object || strcmp(include_object, "None")) {
			json_t *ro;
			if (include_object && !strcmp(include_object, "Object"))
				ro = json_incref(o);
			else
				ro = json_pack("{s:s, s:s, s:O}", "kind", "PartialObjectMetadata",
					       "apiVersion", "meta.k8s.io/v1", "metadata",
					       kp_obj_get(o, "metadata") ?: json_object());
			json_object_set_new(row, "object", ro);
		}
		json_array_append_new(rows, row);
	}
	json_decref(owned);
	json_t *md = json_object();
	if (list_rv)
		json_object_set_new(md, "resourceVersion", json_string(list_rv));
	if (cont)
		json_object_set_new(md, "continue", json_string(cont));
	return json_pack("{s:s, s:s, s:o, s:o, s:o}", "kind", "Table", "apiVersion",
			 "meta.k8s.io/v1", "metadata", md, "columnDefinitions", defs, "rows", rows);
}

/* ---- the CustomResourceDefinition kind itself ---------------------------------- */

json_t *kp__crd_table(json_t *items, const char *include_object, const char *list_rv,
		      const char *cont)
{
	/* Kubernetes' default table convertor: Name and Created At (RFC 3339). */
	json_t *defs = json_pack("[{s:s, s:s, s:s, s:s, s:i}, {s:s, s:s, s:s, s:s, s:i}]", "name",
				 "Name", "type", "string", "format", "name", "description",
				 "Name must be unique within a namespace.", "priority", 0, "name",
				 "Created At", "type", "date", "format", "", "description",
				 "CreationTimestamp is a timestamp representing the server time when "
				 "this object was created.",
				 "priority", 0);
	json_t *rows = json_array();
	size_t i;
	json_t *o;
	json_array_foreach (items, i, o) {
		const char *name = kp_obj_name(o), *ts = kp_obj_str(o, "metadata.creationTimestamp");
		json_t *row = json_pack("{s:[s, s]}", "cells", name ? name : "", ts ? ts : "");
		if (!include_object || strcmp(include_object, "None")) {
			json_t *ro;
			if (include_object && !strcmp(include_object, "Object"))
				ro = json_incref(o);
			else
				ro = json_pack("{s:s, s:s, s:O}", "kind", "PartialObjectMetadata",
					       "apiVersion", "meta.k8s.io/v1", "metadata",
					       kp_obj_get(o, "metadata") ?: json_object());
			json_object_set_new(row, "object", ro);
		}
		json_array_append_new(rows, row);
	}
	json_t *md = json_object();
	if (list_rv)
		json_object_set_new(md, "resourceVersion", json_string(list_rv));
	if (cont)
		json_object_set_new(md, "continue", json_string(cont));
	return json_pack("{s:s, s:s, s:o, s:o, s:o}", "kind", "Table", "apiVersion",
			 "meta.k8s.io/v1", "metadata", md, "columnDefinitions", defs, "rows", rows);
}

static json_t *condition(const char *type, const char *reason, const char *msg,
			 const json_t *old_status)
{
	char ts[KP_TIME_BUFSZ];
	const char *when = kp_time_format(kp_time_now(), ts);
	/* Keep the transition time of a condition that was already True. */
	size_t i;
	json_t *c;
	json_array_foreach (json_object_get(old_status, "conditions"), i, c)
		if (!strcmp(kp_obj_str(c, "type") ?: "", type) &&
		    !strcmp(kp_obj_str(c, "status") ?: "", "True") &&
		    kp_obj_str(c, "lastTransitionTime"))
			when = kp_obj_str(c, "lastTransitionTime");
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", type, "status", "True",
			 "lastTransitionTime", when, "reason", reason, "message", msg);
}

void kp__crd_default(json_t *obj, bool create)
{
	json_t *spec = json_object_get(obj, "spec");
	if (!json_is_object(spec))
		return;
	json_t *names = json_object_get(spec, "names");
	const char *kind = kp_obj_str(names, "kind");
	if (json_is_object(names) && kind) {
		if (!kp_obj_str(names, "singular")) {
			char *l = lower(kind);
			json_object_set_new(names, "singular", json_string(l));
			free(l);
		}
		if (!kp_obj_str(names, "listKind")) {
			char *lk = xasprintf("%sList", kind);
			json_object_set_new(names, "listKind", json_string(lk));
			free(lk);
		}
	}
	if (!json_object_get(spec, "conversion"))
		json_object_set_new(spec, "conversion", json_pack("{s:s}", "strategy", "None"));
	size_t i;
	json_t *v;
	/*
	 * What the naming and establishing controllers of Kubernetes record;
	 * kplane accepts the names when the CRD is validated, so they are
	 * written with the object.
	 */
	json_t *old_status = create ? NULL : json_object_get(obj, "status");
	json_t *stored = json_array();
	json_array_foreach (json_object_get(old_status, "storedVersions"), i, v)
		if (json_is_string(v) && !array_has(stored, json_string_value(v)))
			json_array_append(stored, v);
	json_array_foreach (json_object_get(spec, "versions"), i, v)
		if (kp_obj_bool(v, "storage", false) && kp_obj_str(v, "name") &&
		    !array_has(stored, kp_obj_str(v, "name")))
			json_array_append_new(stored, json_string(kp_obj_str(v, "name")));
	json_t *conds = json_array();
	json_array_append_new(conds, condition("NamesAccepted", "NoConflicts",
					       "no conflicts found", old_status));
	json_array_append_new(conds, condition("Established", "InitialNamesAccepted",
					       "the initial names have been accepted", old_status));
	json_t *status = json_pack("{s:o, s:O, s:o}", "conditions", conds, "acceptedNames",
				   json_is_object(names) ? names : json_object(), "storedVersions",
				   stored);
	json_object_set_new(obj, "status", status);
}

static void add_err(struct kp_errlist *errs, enum kp_field_err_type t, const char *field,
		    const json_t *v, const char *detail)
{
	char *vt = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	kp_errlist_add(errs, t, field, vt, "%s", detail);
	free(vt);
}

void kp__crd_check_names(struct kp_api_server *srv, const json_t *obj, struct kp_errlist *errs)
{
	struct kp_crds *cs = srv->crds;
	const char *group = kp_obj_str(obj, "spec.group");
	const char *plural = kp_obj_str(obj, "spec.names.plural");
	const char *kind = kp_obj_str(obj, "spec.names.kind");
	json_t *shorts = kp_obj_get(obj, "spec.names.shortNames");
	if (!cs || !group || !plural)
		return;
	pthread_rwlock_rdlock(&cs->lock);
	for (size_t i = 0; i < cs->ncur; i++) {
		const struct kp_crd_version *cv = cs->cur[i];
		const struct kp_resource *r = &cv->res;
		/* The CRD's own versions are not a conflict. */
		if (strcmp(r->group, group) || !strcmp(r->plural, plural))
			continue;
		char msg[300];
		if (kind && !strcmp(r->kind, kind)) {
			snprintf(msg, sizeof(msg), "\"%s\" is already in use", kind);
			add_err(errs, KP_FIELD_INVALID, "spec.names.kind",
				kp_obj_get(obj, "spec.names.kind"), msg);
		}
		size_t j;
		json_t *sn;
		json_array_foreach (shorts, j, sn) {
			const char *s = json_string_value(sn);
			if (!s || (strcmp(s, r->plural) && !array_has(cv->short_names, s)))
				continue;
			char f[64];
			snprintf(f, sizeof(f), "spec.names.shortNames[%zu]", j);
			snprintf(msg, sizeof(msg), "\"%s\" is already in use", s);
			add_err(errs, KP_FIELD_INVALID, f, sn, msg);
		}
	}
	pthread_rwlock_unlock(&cs->lock);
}

static bool builtin_group(const char *group)
{
	for (size_t i = 0; i < kp__registry_count(); i++)
		if (!strcmp(kp__registry_at(i)->group, group))
			return true;
	return false;
}

void kp__crd_validate(const json_t *obj, const json_t *old, struct kp_errlist *errs)
{
	const char *group = kp_obj_str(obj, "spec.group");
	const char *plural = kp_obj_str(obj, "spec.names.plural");
	const char *kind = kp_obj_str(obj, "spec.names.kind");
	const char *singular = kp_obj_str(obj, "spec.names.singular");
	const char *name = kp_obj_name(obj);
	if (!group || !*group) {
		add_err(errs, KP_FIELD_REQUIRED, "spec.group", NULL, "");
	} else if (kp_check_dns1123_subdomain(group)) {
		add_err(errs, KP_FIELD_INVALID, "spec.group", kp_obj_get(obj, "spec.group"),
			kp_check_dns1123_subdomain(group));
	} else if (!strchr(group, '.')) {
		add_err(errs, KP_FIELD_INVALID, "spec.group", kp_obj_get(obj, "spec.group"),
			"should be a domain with at least one dot");
	} else if (builtin_group(group)) {
		add_err(errs, KP_FIELD_INVALID, "spec.group", kp_obj_get(obj, "spec.group"),
			"the group is served by a built-in API of kplane");
	}
	if (!plural || !*plural)
		add_err(errs, KP_FIELD_REQUIRED, "spec.names.plural", NULL, "");
	else if (kp_check_dns1123_label(plural))
		add_err(errs, KP_FIELD_INVALID, "spec.names.plural",
			kp_obj_get(obj, "spec.names.plural"), kp_check_dns1123_label(plural));
	if (singular && *singular && kp_check_dns1123_label(singular))
		add_err(errs, KP_FIELD_INVALID, "spec.names.singular",
			kp_obj_get(obj, "spec.names.singular"), kp_check_dns1123_label(singular));
	if (!kind || !*kind)
		add_err(errs, KP_FIELD_REQUIRED, "spec.names.kind", NULL, "");
	json_t *sn;
	size_t i;
	json_array_foreach (kp_obj_get(obj, "spec.names.shortNames"), i, sn) {
		const char *s = json_string_value(sn);
		char f[64];
		snprintf(f, sizeof(f), "spec.names.shortNames[%zu]", i);
		if (!s || kp_check_dns1123_label(s))
			add_err(errs, KP_FIELD_INVALID, f, sn,
				s ? kp_check_dns1123_label(s) : "must be a string");
	}
	if (group && plural && name) {
		char *want = xasprintf("%s.%s", plural, group);
		if (strcmp(want, name))
			add_err(errs, KP_FIELD_INVALID, "metadata.name", kp_obj_get(obj, "metadata.name"),
				"must be spec.names.plural+\".\"+spec.group");
		free(want);
	}
	const char *scope = kp_obj_str(obj, "spec.scope");
	if (!scope || !*scope)
		add_err(errs, KP_FIELD_REQUIRED, "spec.scope", NULL, "");
	else if (strcmp(scope, "Namespaced") && strcmp(scope, "Cluster"))
		add_err(errs, KP_FIELD_NOT_SUPPORTED, "spec.scope", kp_obj_get(obj, "spec.scope"),
			"supported values: \"Cluster\", \"Namespaced\"");
	json_t *versions = kp_obj_get(obj, "spec.versions");
	if (!json_is_array(versions) || !json_array_size(versions)) {
		add_err(errs, KP_FIELD_INVALID, "spec.versions", NULL,
			"must have exactly one version marked as storage version");
		return;
	}
	size_t nstorage = 0;
	json_t *seen = json_object();
	json_t *v;
	json_array_foreach (versions, i, v) {
		char f[160];
		const char *vn = kp_obj_str(v, "name");
		snprintf(f, sizeof(f), "spec.versions[%zu].name", i);
		if (!vn || !*vn)
			add_err(errs, KP_FIELD_REQUIRED, f, NULL, "");
		else if (kp_check_dns1035_label(vn))
			add_err(errs, KP_FIELD_INVALID, f, json_object_get(v, "name"),
				kp_check_dns1035_label(vn));
		else if (json_object_get(seen, vn))
			add_err(errs, KP_FIELD_DUPLICATE, f, json_object_get(v, "name"), "");
		if (vn)
			json_object_set_new(seen, vn, json_true());
		if (kp_obj_bool(v, "storage", false))
			nstorage++;
		json_t *schema = kp_obj_getv(v, "schema", "openAPIV3Schema", NULL);
		snprintf(f, sizeof(f), "spec.versions[%zu].schema.openAPIV3Schema", i);
		if (!schema)
			add_err(errs, KP_FIELD_REQUIRED, f, NULL, "schemas are required");
		else
			kp__schema_check_structural(schema, f, errs);
		json_t *sc = kp_obj_get(v, "subresources.scale");
		if (sc) {
			snprintf(f, sizeof(f), "spec.versions[%zu].subresources.scale.specReplicasPath",
				 i);
			const char *p = kp_obj_str(sc, "specReplicasPath");
			if (!p || p[0] != '.')
				add_err(errs, KP_FIELD_INVALID, f, json_object_get(sc, "specReplicasPath"),
					"should be a json path under .spec");
		}
		size_t j;
		json_t *c;
		json_array_foreach (json_object_get(v, "additionalPrinterColumns"), j, c) {
			const char *t = kp_obj_str(c, "type");
			snprintf(f, sizeof(f), "spec.versions[%zu].additionalPrinterColumns[%zu]", i, j);
			char ff[200];
			if (!kp_obj_str(c, "name")) {
				snprintf(ff, sizeof(ff), "%s.name", f);
				add_err(errs, KP_FIELD_REQUIRED, ff, NULL, "");
			}
			if (!kp_obj_str(c, "jsonPath")) {
				snprintf(ff, sizeof(ff), "%s.jsonPath", f);
				add_err(errs, KP_FIELD_REQUIRED, ff, NULL, "");
			}
			if (!t || (strcmp(t, "integer") && strcmp(t, "number") && strcmp(t, "string") &&
				   strcmp(t, "boolean") && strcmp(t, "date"))) {
				snprintf(ff, sizeof(ff), "%s.type", f);
				add_err(errs, t ? KP_FIELD_NOT_SUPPORTED : KP_FIELD_REQUIRED, ff,
					json_object_get(c, "type"),
					t ? "supported values: \"boolean\", \"date\", \"integer\", "
					    "\"number\", \"string\"" :
					    "");
			}
		}
	}
	json_decref(seen);
	if (nstorage != 1)
		add_err(errs, KP_FIELD_INVALID, "spec.versions", NULL,
			"must have exactly one version marked as storage version");
	if (old) {
		const char *os = kp_obj_str(old, "spec.scope");
		if (os && scope && strcmp(os, scope))
			add_err(errs, KP_FIELD_INVALID, "spec.scope", kp_obj_get(obj, "spec.scope"),
				"field is immutable");
	}
}

/*
 * cache.c - the scheduler's view of the cluster: nodes with their pods and
 * running sums, assumed pods, namespaces and the other objects plugins
 * read. Only the scheduling thread touches it, between attempts, so the
 * snapshot handed to plugins is the cache itself (no copy per cycle).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/error.h>
#include <kplane/object.h>

#include "core/sched/internal.h"

void kp__cache_init(struct kp__cache *c)
{
	memset(c, 0, sizeof(*c));
	c->pods = json_object();
	c->objects = json_object();
	c->snap.generation = 1;
}

static void ns_free(struct kp__ns *ns)
{
	if (ns) {
		kp__arena_release(&ns->arena);
		free(ns);
	}
}

void kp__cache_release(struct kp__cache *c)
{
	const char *k;
	json_t *v;
	json_object_foreach(c->pods, k, v) {
		struct kp__pod *p = (struct kp__pod *)(intptr_t)json_integer_value(v);
		kp__pod_free(p);
	}
	json_decref(c->pods);
	for (uint32_t i = 0; i < c->nodes.cap; i++)
		if (c->nodes.keys[i] >= 0)
			kp__node_free(c->nodes.vals[i]);
	kp__imap_release(&c->nodes);
	for (uint32_t i = 0; i < c->namespaces.cap; i++)
		if (c->namespaces.keys[i] >= 0)
			ns_free(c->namespaces.vals[i]);
	kp__imap_release(&c->namespaces);
	kp__imap_release(&c->images);
	json_decref(c->objects);
	free(c->order);
	free(c->with_aff);
	free(c->with_anti);
	free(c->log);
	free(c->cols_block);
	memset(c, 0, sizeof(*c));
}

#define LOG_CAP 8192

/* Bumps the generation and records that node name_id changed at it. */
static void node_changed(struct kp__cache *c, int32_t name_id)
{
	c->generation++;
	c->snap.generation = c->generation;
	if (!c->log) {
		c->log = malloc(LOG_CAP * sizeof(*c->log));
		if (!c->log) {
			c->log_floor = c->generation; /* nothing recorded: force rescans */
			return;
		}
		c->log_cap = LOG_CAP;
	}
	uint32_t at = (c->log_head + c->log_n) % c->log_cap;
	if (c->log_n == c->log_cap) {
		c->log_floor = c->log[c->log_head].gen;
		c->log_head = (c->log_head + 1) % c->log_cap;
	} else {
		c->log_n++;
	}
	c->log[at] = (struct kp__change){ c->generation, name_id };
}

static void image_counts(struct kp__cache *c, const struct kp_node_info *n, int delta)
{
	for (uint32_t i = 0; i < n->nimages; i++) {
		intptr_t cnt = (intptr_t)kp__imap_get(&c->images, n->images[i].name) + delta;
		if (cnt <= 0)
			kp__imap_del(&c->images, n->images[i].name);
		else
			kp__imap_put(&c->images, n->images[i].name, (void *)cnt);
	}
}

static int order_append(struct kp__cache *c, struct kp__node *n)
{
	if (c->norder == c->cap_order) {
		uint32_t nc = c->cap_order ? c->cap_order * 2 : 64;
		void *v = realloc(c->order, nc * sizeof(*c->order));
		if (!v)
			return KP_ENOMEM;
		c->order = v;
		c->cap_order = nc;
	}
	n->info.index = (int32_t)c->norder;
	c->order[c->norder++] = n;
	c->snap.nodes = (const struct kp_node_info *const *)c->order;
	c->snap.nnodes = c->norder;
	c->lists_dirty = true;
	c->cols_rebuild = true;
	return 0;
}

static void order_remove(struct kp__cache *c, struct kp__node *n)
{
	uint32_t i = (uint32_t)n->info.index;
	memmove(&c->order[i], &c->order[i + 1], (c->norder - i - 1) * sizeof(*c->order));
	c->norder--;
	for (uint32_t j = i; j < c->norder; j++)
		c->order[j]->info.index = (int32_t)j;
	n->info.index = -1;
	c->snap.nnodes = c->norder;
	c->lists_dirty = true;
	c->cols_rebuild = true;
}

static bool labels_equal(const struct kp_labels *a, const struct kp_labels *b)
{
	return a->n == b->n && (!a->n || !memcmp(a->v, b->v, a->n * sizeof(*a->v)));
}

static bool resources_equal(const struct kp_resources *a, const struct kp_resources *b)
{
	return a->milli_cpu == b->milli_cpu && a->memory == b->memory &&
	       a->ephemeral_storage == b->ephemeral_storage && a->pods == b->pods &&
	       a->nscalar == b->nscalar &&
	       (!a->nscalar || !memcmp(a->scalar, b->scalar, a->nscalar * sizeof(*a->scalar)));
}

uint32_t kp__cache_set_node(struct kp__cache *c, struct kp__node *n)
{
	struct kp__node *old = kp__imap_get(&c->nodes, n->info.name_id);
	node_changed(c, n->info.name_id);
	if (!old) {
		if (kp__imap_put(&c->nodes, n->info.name_id, n) < 0 || order_append(c, n) < 0) {
			kp__imap_del(&c->nodes, n->info.name_id);
			kp__node_free(n);
			return 0;
		}
		image_counts(c, &n->info, 1);
		return KP_EV_ADD;
	}
	uint32_t bits = 0;
	if (!old->obj) {
		bits = KP_EV_ADD; /* a ghost (pods but no node) comes back */
	} else {
		if (!resources_equal(&old->info.allocatable, &n->info.allocatable))
			bits |= KP_EV_UPDATE_NODE_ALLOC;
		if (!labels_equal(&old->info.labels, &n->info.labels))
			bits |= KP_EV_UPDATE_NODE_LABEL;
		if (old->info.unschedulable != n->info.unschedulable ||
		    old->info.ntaints != n->info.ntaints ||
		    (old->info.ntaints &&
		     memcmp(old->info.taints, n->info.taints, old->info.ntaints * sizeof(struct kp_taint))))
			bits |= KP_EV_UPDATE_NODE_TAINT;
		if (!bits)
			bits = KP_EV_UPDATE_OTHER;
		image_counts(c, &old->info, -1);
	}
	bool was_ghost = !old->obj;
	kp__node_replace_object(old, n);
	image_counts(c, &old->info, 1);
	if (was_ghost)
		order_append(c, old);
	return bits;
}

int kp__cache_delete_node(struct kp__cache *c, const char *name)
{
	int32_t id = kp_intern_lookup(name);
	struct kp__node *n = id == KP_ID_NONE ? NULL : kp__imap_get(&c->nodes, id);
	if (!n || !n->obj)
		return KP_ENOENT;
	node_changed(c, id);
	image_counts(c, &n->info, -1);
	order_remove(c, n);
	if (n->info.npods) {
		/* pods may outlive their node for a moment (kube's "ghost" NodeInfo) */
		json_decref(n->obj);
		n->obj = NULL;
		n->info.obj = NULL;
		n->info.nimages = 0;
		return 0;
	}
	kp__imap_del(&c->nodes, id);
	kp__node_free(n);
	return 0;
}

static struct kp__node *node_for(struct kp__cache *c, int32_t name_id)
{
	struct kp__node *n = kp__imap_get(&c->nodes, name_id);
	if (n)
		return n;
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->info.name = kp_intern_str(name_id);
	n->info.name_id = name_id;
	n->info.index = -1;
	if (kp__imap_put(&c->nodes, name_id, n) < 0) {
		free(n);
		return NULL;
	}
	return n;
}

static void drop_ghost(struct kp__cache *c, struct kp__node *n)
{
	if (!n->obj && n->info.npods == 0) {
		kp__imap_del(&c->nodes, n->info.name_id);
		kp__node_free(n);
	}
}

static int pods_put(struct kp__cache *c, struct kp__pod *p)
{
	return json_object_set_new(c->pods, p->info.uid, json_integer((json_int_t)(intptr_t)p));
}

struct kp__pod *kp__cache_get_pod(struct kp__cache *c, const char *uid)
{
	json_t *v = json_object_get(c->pods, uid);
	return v ? (struct kp__pod *)(intptr_t)json_integer_value(v) : NULL;
}

static void unlink_pod(struct kp__cache *c, struct kp__pod *p)
{
	struct kp__node *n = p->node;
	if (!n)
		return;
	kp__node_remove_pod(n, &p->info);
	/* a node leaving a list needs a rebuild; staying in it does not */
	if (((p->info.flags & KP_POD_HAS_AFFINITY) && n->info.npods_with_affinity == 0) ||
	    ((p->info.flags & KP_POD_HAS_REQ_ANTI) && n->info.npods_with_req_anti == 0))
		c->lists_dirty = true;
	p->node = NULL;
	c->npods--;
	node_changed(c, n->info.name_id);
	drop_ghost(c, n);
}

/* A node whose first pod with (anti-)affinity arrives joins the snapshot's
 * lists at their end (no order is promised), without a rebuild. */
static void list_join(struct kp__cache *c, struct kp__node *n, const struct kp_pod_info *pod)
{
	bool aff = (pod->flags & KP_POD_HAS_AFFINITY) && n->info.npods_with_affinity == 1;
	bool anti = (pod->flags & KP_POD_HAS_REQ_ANTI) && n->info.npods_with_req_anti == 1;
	if (!aff && !anti)
		return;
	if (c->lists_dirty || n->info.index < 0 || c->snap.nnodes_with_affinity >= c->cap_lists ||
	    c->snap.nnodes_with_req_anti >= c->cap_lists) {
		c->lists_dirty = true;
		return;
	}
	if (aff)
		c->with_aff[c->snap.nnodes_with_affinity++] = &n->info;
	if (anti)
		c->with_anti[c->snap.nnodes_with_req_anti++] = &n->info;
}

static int link_pod(struct kp__cache *c, struct kp__pod *p, struct kp__node *n)
{
	int rc = kp__node_add_pod(n, &p->info);
	if (rc < 0)
		return rc;
	p->node = n;
	list_join(c, n, &p->info);
	c->npods++;
	node_changed(c, n->info.name_id);
	return 0;
}

int kp__cache_add_pod(struct kp__cache *c, struct kp__pod *p, struct kp__pod **old)
{
	*old = kp__cache_remove_pod(c, p->info.uid);
	if (p->terminal) {
		/* finished pods hold no resources */
		kp__pod_free(p);
		return 0;
	}
	struct kp__node *n = node_for(c, p->info.node_name);
	if (!n) {
		kp__pod_free(p);
		return KP_ENOMEM;
	}
	int rc = link_pod(c, p, n);
	if (rc < 0 || pods_put(c, p) < 0) {
		if (rc == 0)
			unlink_pod(c, p);
		drop_ghost(c, n);
		kp__pod_free(p);
		return KP_ENOMEM;
	}
	return 0;
}

struct kp__pod *kp__cache_remove_pod(struct kp__cache *c, const char *uid)
{
	struct kp__pod *p = kp__cache_get_pod(c, uid);
	if (!p)
		return NULL;
	unlink_pod(c, p);
	json_object_del(c->pods, uid);
	p->assumed = false;
	return p;
}

int kp__cache_assume(struct kp__cache *c, struct kp__pod *p, struct kp__node *node)
{
	int rc = link_pod(c, p, node);
	if (rc < 0)
		return rc;
	if (pods_put(c, p) < 0) {
		unlink_pod(c, p);
		return KP_ENOMEM;
	}
	p->assumed = true;
	p->info.node_name = node->info.name_id;
	return 0;
}

void kp__cache_forget(struct kp__cache *c, struct kp__pod *p)
{
	if (!p->assumed)
		return;
	unlink_pod(c, p);
	json_object_del(c->pods, p->info.uid);
	p->assumed = false;
	p->info.node_name = KP_ID_NONE;
}

void kp__cache_set_object(struct kp__cache *c, const char *kind, const char *ns,
			  const char *name, json_t *obj)
{
	char key[512];
	snprintf(key, sizeof(key), "%s/%s", ns ? ns : "", name);
	json_t *m = json_object_get(c->objects, kind);
	if (!m) {
		if (!obj)
			return;
		m = json_object();
		json_object_set_new(c->objects, kind, m);
	}
	if (obj)
		json_object_set(m, key, obj);
	else
		json_object_del(m, key);
	if (!strcmp(kind, "Namespace")) {
		int32_t id = kp_intern(name);
		ns_free(kp__imap_del(&c->namespaces, id));
		if (obj) {
			struct kp__ns *n = calloc(1, sizeof(*n));
			if (!n)
				return;
			if (kp__labels_compile(kp_obj_labels(obj), &n->arena, &n->labels) < 0 ||
			    kp__imap_put(&c->namespaces, id, n) < 0)
				ns_free(n);
		}
	}
	c->generation++;
	c->snap.generation = c->generation;
}

/* Columns: one block, each column aligned to 64 bytes. */
static int cols_reserve(struct kp__cache *c, uint32_t n)
{
	if (n <= c->cols_cap && c->cols_block)
		return 0;
	uint32_t cap = n < 64 ? 64 : n * 2;
	size_t c64 = ((size_t)cap * 8 + 63) & ~(size_t)63;
	size_t c32 = ((size_t)cap * 4 + 63) & ~(size_t)63;
	size_t c8 = ((size_t)cap + 63) & ~(size_t)63;
	char *b = NULL;
	if (posix_memalign((void **)&b, 64, 10 * c64 + 3 * c32 + c8) != 0)
		return KP_ENOMEM;
	free(c->cols_block);
	c->cols_block = b;
	c->cols_cap = cap;
	struct kp_node_cols *k = &c->cols;
	const int64_t **i64[] = { &k->alloc_milli_cpu, &k->alloc_memory, &k->alloc_ephemeral_storage,
				  &k->alloc_pods, &k->req_milli_cpu, &k->req_memory,
				  &k->req_ephemeral_storage, &k->req_pods, &k->nonzero_milli_cpu,
				  &k->nonzero_memory };
	for (int i = 0; i < 10; i++, b += c64)
		*i64[i] = (const int64_t *)b;
	k->name_id = (const int32_t *)b;
	b += c32;
	k->ntaints = (const uint32_t *)b;
	b += c32;
	k->nimages = (const uint32_t *)b;
	b += c32;
	k->unschedulable = (const uint8_t *)b;
	c->cols_rebuild = true;
	return 0;
}

static void cols_set(struct kp__cache *c, const struct kp_node_info *n)
{
	struct kp_node_cols *k = &c->cols;
	uint32_t i = (uint32_t)n->index;
	((int64_t *)k->alloc_milli_cpu)[i] = n->allocatable.milli_cpu;
	((int64_t *)k->alloc_memory)[i] = n->allocatable.memory;
	((int64_t *)k->alloc_ephemeral_storage)[i] = n->allocatable.ephemeral_storage;
	((int64_t *)k->alloc_pods)[i] = n->allocatable.pods;
	((int64_t *)k->req_milli_cpu)[i] = n->requested.milli_cpu;
	((int64_t *)k->req_memory)[i] = n->requested.memory;
	((int64_t *)k->req_ephemeral_storage)[i] = n->requested.ephemeral_storage;
	((int64_t *)k->req_pods)[i] = n->requested.pods;
	((int64_t *)k->nonzero_milli_cpu)[i] = n->nonzero_milli_cpu;
	((int64_t *)k->nonzero_memory)[i] = n->nonzero_memory;
	((int32_t *)k->name_id)[i] = n->name_id;
	((uint32_t *)k->ntaints)[i] = n->ntaints;
	((uint32_t *)k->nimages)[i] = n->nimages;
	((uint8_t *)k->unschedulable)[i] = n->unschedulable;
}

static int cols_changed(int32_t name_id, void *arg)
{
	struct kp__cache *c = arg;
	const struct kp__node *n = kp__imap_get(&c->nodes, name_id);
	if (n && n->info.index >= 0 && (uint32_t)n->info.index < c->norder)
		cols_set(c, &n->info);
	return 0;
}

/* Brings the columns to the cache's state: the nodes changed since the last
 * call, or every node after the order changed or the log was outrun. On
 * allocation failure the columns are marked absent (n = 0): plugins then
 * must not use them, and the batch callers fall back (see scheduler.c). */
static void cols_sync(struct kp__cache *c)
{
	if (cols_reserve(c, c->norder) < 0) {
		c->cols.n = 0;
		return;
	}
	if (!c->cols_rebuild && c->cols.n == c->norder &&
	    kp_snapshot_each_changed_node(&c->snap, c->cols_gen, cols_changed, c) == 0) {
		c->cols_gen = c->generation;
		return;
	}
	for (uint32_t i = 0; i < c->norder; i++)
		cols_set(c, &c->order[i]->info);
	c->cols.n = c->norder;
	c->cols_gen = c->generation;
	c->cols_rebuild = false;
}

void kp__cache_snapshot(struct kp__cache *c)
{
	cols_sync(c);
	if (!c->lists_dirty)
		return;
	if (c->cap_lists < c->norder) {
		uint32_t nc = c->norder * 2;
		void *a = realloc(c->with_aff, nc * sizeof(*c->with_aff));
		if (!a)
			return;
		c->with_aff = a;
		void *b = realloc(c->with_anti, nc * sizeof(*c->with_anti));
		if (!b)
			return;
		c->with_anti = b;
		c->cap_lists = nc;
	}
	uint32_t na = 0, nb = 0;
	for (uint32_t i = 0; i < c->norder; i++) {
		const struct kp_node_info *n = &c->order[i]->info;
		if (n->npods_with_affinity)
			c->with_aff[na++] = n;
		if (n->npods_with_req_anti)
			c->with_anti[nb++] = n;
	}
	c->snap.nodes_with_affinity = c->with_aff;
	c->snap.nnodes_with_affinity = na;
	c->snap.nodes_with_req_anti = c->with_anti;
	c->snap.nnodes_with_req_anti = nb;
	c->lists_dirty = false;
}

void kp__cache_resolve_priority(struct kp__cache *c, struct kp__pod *p)
{
	if (p->has_priority)
		return;
	json_t *pcs = json_object_get(c->objects, "PriorityClass");
	if (!pcs)
		return;
	if (p->priority_class) {
		char key[512];
		snprintf(key, sizeof(key), "/%s", p->priority_class);
		json_t *pc = json_object_get(pcs, key);
		if (pc)
			p->info.priority = (int32_t)kp_obj_int(pc, "value", 0);
		return;
	}
	const char *k;
	json_t *pc;
	json_object_foreach(pcs, k, pc) {
		if (kp_obj_bool(pc, "globalDefault", false)) {
			p->info.priority = (int32_t)kp_obj_int(pc, "value", 0);
			return;
		}
	}
}

/* ------------------------------------------------------------------ */
/* snapshot API for plugins: the snapshot is embedded in the cache      */

static const struct kp__cache *cache_of(const struct kp_snapshot *s)
{
	return (const struct kp__cache *)((const char *)s - offsetof(struct kp__cache, snap));
}

const struct kp_node_cols *kp_snapshot_cols(const struct kp_snapshot *s)
{
	return &cache_of(s)->cols;
}

const struct kp_node_info *kp_snapshot_node(const struct kp_snapshot *s, int32_t name_id)
{
	const struct kp__node *n = kp__imap_get(&cache_of(s)->nodes, name_id);
	return n && n->obj ? &n->info : NULL;
}

uint32_t kp_snapshot_image_nodes(const struct kp_snapshot *s, int32_t image)
{
	return (uint32_t)(intptr_t)kp__imap_get(&cache_of(s)->images, image);
}

const struct kp_labels *kp_snapshot_namespace_labels(const struct kp_snapshot *s, int32_t ns_id)
{
	const struct kp__ns *ns = kp__imap_get(&cache_of(s)->namespaces, ns_id);
	return ns ? &ns->labels : NULL;
}

const json_t *kp_snapshot_object(const struct kp_snapshot *s, const char *kind, const char *ns,
				 const char *name)
{
	char key[512];
	snprintf(key, sizeof(key), "%s/%s", ns ? ns : "", name);
	return json_object_get(json_object_get(cache_of(s)->objects, kind), key);
}

int kp_snapshot_each_object(const struct kp_snapshot *s, const char *kind, const char *ns,
			    int (*fn)(const json_t *obj, void *arg), void *arg)
{
	json_t *m = json_object_get(cache_of(s)->objects, kind);
	const char *k;
	json_t *v;
	size_t nslen = ns ? strlen(ns) : 0;
	json_object_foreach(m, k, v) {
		if (ns && (strncmp(k, ns, nslen) || k[nslen] != '/'))
			continue;
		int rc = fn(v, arg);
		if (rc)
			return rc;
	}
	return 0;
}

int kp_snapshot_each_changed_node(const struct kp_snapshot *s, uint64_t since,
				  int (*fn)(int32_t name_id, void *arg), void *arg)
{
	const struct kp__cache *c = cache_of(s);
	if (since >= c->generation)
		return 0;
	if (since < c->log_floor)
		return KP_ERANGE;
	/* newest first, down to the first change at or before `since` */
	for (uint32_t k = c->log_n; k-- > 0;) {
		const struct kp__change *e = &c->log[(c->log_head + k) % c->log_cap];
		if (e->gen <= since)
			break;
		int rc = fn(e->node, arg);
		if (rc)
			return rc;
	}
	return 0;
}

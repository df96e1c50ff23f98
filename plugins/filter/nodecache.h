/*
 * nodecache.h - per-node contributions to topology-domain counts, kept
 * across scheduling attempts in a plugin's own state and brought up to date
 * from the snapshot's node change log (kp_snapshot_each_changed_node), so
 * that PreFilter costs O(changed nodes + domains) instead of O(pods in the
 * cluster). Header-only (static inline), shared by InterPodAffinity and
 * PodTopologySpread like tpcount.h.
 *
 * A cache holds nmaps count maps (struct tpcount). The plugin says what one
 * node contributes (nc_add for each (map, key, count)); the cache keeps each
 * node's list so that a changed node's old contribution can be subtracted
 * before its new one is added. A cache serves one "signature" (what the
 * counts depend on, e.g. a pod's constraints and labels); a pod with another
 * signature resets it. Single-threaded: PreFilter/PreScore only.
 */
#ifndef KPLANE_PLUGINS_NODECACHE_H
#define KPLANE_PLUGINS_NODECACHE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/error.h>
#include <kplane/sched.h>

#include "plugins/filter/tpcount.h"

struct nc_entry {
	uint32_t map;
	uint64_t key;
	int64_t cnt;
};

struct nc_node {
	uint32_t n, cap;
	struct nc_entry *v;
};

struct nodecache {
	char *sig;                     /* owned; NULL: empty cache */
	const struct kp_snapshot *snap;
	uint64_t gen;                  /* snapshot generation the counts reflect */
	uint32_t nmaps;
	struct tpcount *maps;          /* [nmaps] totals */
	struct tpcount idx;            /* node name id -> index + 1 into nodes */
	struct nc_node *nodes;
	uint32_t nnodes, cap_nodes;
};

/* Calls nc_add() for everything node contributes; -1 when out of memory. */
typedef int (*nc_contribute_fn)(struct nodecache *nc, struct nc_node *slot,
				const struct kp_node_info *node, void *arg);

static inline void nc_release(struct nodecache *nc)
{
	for (uint32_t i = 0; i < nc->nmaps; i++)
		tp_release(&nc->maps[i]);
	free(nc->maps);
	for (uint32_t i = 0; i < nc->nnodes; i++)
		free(nc->nodes[i].v);
	free(nc->nodes);
	tp_release(&nc->idx);
	free(nc->sig);
	memset(nc, 0, sizeof(*nc));
}

static inline int nc_add(struct nodecache *nc, struct nc_node *slot, uint32_t map, uint64_t key,
			 int64_t cnt)
{
	if (slot->n == slot->cap) {
		uint32_t ncap = slot->cap ? slot->cap * 2 : 4;
		void *v = realloc(slot->v, ncap * sizeof(*slot->v));
		if (!v)
			return -1;
		slot->v = v;
		slot->cap = ncap;
	}
	slot->v[slot->n++] = (struct nc_entry){ map, key, cnt };
	return tp_add(&nc->maps[map], key, cnt);
}

/* The node's slot with its old contribution subtracted; NULL on ENOMEM. */
static inline struct nc_node *nc_begin_node(struct nodecache *nc, int32_t name_id)
{
	int64_t *ix = tp_ref(&nc->idx, (uint64_t)(uint32_t)name_id);
	if (!ix)
		return NULL;
	if (*ix == 0) {
		if (nc->nnodes == nc->cap_nodes) {
			uint32_t ncap = nc->cap_nodes ? nc->cap_nodes * 2 : 64;
			void *v = realloc(nc->nodes, ncap * sizeof(*nc->nodes));
			if (!v)
				return NULL;
			nc->nodes = v;
			nc->cap_nodes = ncap;
		}
		memset(&nc->nodes[nc->nnodes], 0, sizeof(*nc->nodes));
		*ix = ++nc->nnodes;
	}
	struct nc_node *slot = &nc->nodes[*ix - 1];
	for (uint32_t i = 0; i < slot->n; i++)
		if (tp_add(&nc->maps[slot->v[i].map], slot->v[i].key, -slot->v[i].cnt) < 0)
			return NULL;
	slot->n = 0;
	return slot;
}

static inline int nc_reset(struct nodecache *nc, uint32_t nmaps, const char *sig)
{
	nc_release(nc);
	nc->maps = calloc(nmaps, sizeof(*nc->maps));
	nc->sig = strdup(sig);
	if (!nc->maps || !nc->sig) {
		nc_release(nc);
		return -1;
	}
	nc->nmaps = nmaps;
	return 0;
}

struct nc_sync_arg {
	struct nodecache *nc;
	const struct kp_snapshot *snap;
	nc_contribute_fn fn;
	void *arg;
};

static inline int nc_sync_one(int32_t name_id, void *arg_)
{
	struct nc_sync_arg *a = arg_;
	struct nc_node *slot = nc_begin_node(a->nc, name_id);
	if (!slot)
		return -1;
	const struct kp_node_info *node = kp_snapshot_node(a->snap, name_id);
	if (node && a->fn(a->nc, slot, node, a->arg) < 0)
		return -1;
	return 0;
}

/*
 * Brings nc to the snapshot for signature sig: keeps the counts and applies
 * the changed nodes when sig and snapshot are those of the last call and the
 * change log reaches back, else recounts every node. 0, or -1 when out of
 * memory (nc is then empty).
 */
static inline int nc_sync(struct nodecache *nc, const struct kp_snapshot *snap, const char *sig,
			  uint32_t nmaps, nc_contribute_fn fn, void *arg)
{
	struct nc_sync_arg a = { nc, snap, fn, arg };
	bool same = nc->sig && nc->snap == snap && nc->nmaps == nmaps && !strcmp(nc->sig, sig);
	if (same) {
		int rc = kp_snapshot_each_changed_node(snap, nc->gen, nc_sync_one, &a);
		if (rc == 0) {
			nc->gen = snap->generation;
			return 0;
		}
		if (rc != KP_ERANGE) {
			nc_release(nc);
			return -1;
		}
	}
	if (nc_reset(nc, nmaps, sig) < 0)
		return -1;
	nc->snap = snap;
	for (uint32_t i = 0; i < snap->nnodes; i++) {
		const struct kp_node_info *node = snap->nodes[i];
		struct nc_node *slot = nc_begin_node(nc, node->name_id);
		if (!slot || fn(nc, slot, node, arg) < 0) {
			nc_release(nc);
			return -1;
		}
	}
	nc->gen = snap->generation;
	return 0;
}

/*
 * A few caches for the signatures seen last (pods of several workloads
 * interleave in the queue): nc_pick() returns the one holding sig, or the
 * least recently used one, which nc_sync() then resets.
 */
#define NC_WAYS 4

struct nc_set {
	struct nodecache c[NC_WAYS];
	uint64_t used[NC_WAYS];
	uint64_t tick;
};

static inline struct nodecache *nc_pick(struct nc_set *set, const char *sig)
{
	uint32_t victim = 0;
	set->tick++;
	for (uint32_t i = 0; i < NC_WAYS; i++) {
		if (set->c[i].sig && !strcmp(set->c[i].sig, sig)) {
			set->used[i] = set->tick;
			return &set->c[i];
		}
		if (set->used[i] < set->used[victim])
			victim = i;
	}
	set->used[victim] = set->tick;
	return &set->c[victim];
}

static inline void nc_set_release(struct nc_set *set)
{
	for (uint32_t i = 0; i < NC_WAYS; i++)
		nc_release(&set->c[i]);
}

/*
 * Signatures built from a pod's compiled fields (interned ids and numbers,
 * each list preceded by its length, so that different inputs never give
 * the same text): a few hundred instructions where a JSON dump of the
 * pod's spec parts cost tens of thousands, per attempt. Ids are stable for
 * the process lifetime, so equal signatures mean equal inputs.
 */
struct nc_sig {
	char *buf;
	size_t len, cap;
	bool oom;
};

static inline void nc_sig_u32(struct nc_sig *s, uint32_t v)
{
	static const char hex[] = "0123456789abcdef";
	if (s->len + 9 > s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 256;
		char *b = s->oom ? NULL : realloc(s->buf, nc);
		if (!b) {
			s->oom = true;
			return;
		}
		s->buf = b;
		s->cap = nc;
	}
	for (int i = 7; i >= 0; i--)
		s->buf[s->len++] = hex[(v >> (4 * i)) & 0xf];
}

static inline void nc_sig_i64(struct nc_sig *s, int64_t v)
{
	nc_sig_u32(s, (uint32_t)((uint64_t)v >> 32));
	nc_sig_u32(s, (uint32_t)(uint64_t)v);
}

static inline void nc_sig_isel(struct nc_sig *s, const struct kp_isel *sel)
{
	nc_sig_u32(s, sel->nothing);
	nc_sig_u32(s, sel->n);
	for (uint32_t i = 0; i < sel->n; i++) {
		const struct kp_isel_req *r = &sel->reqs[i];
		nc_sig_u32(s, (uint32_t)r->key);
		nc_sig_u32(s, r->op);
		nc_sig_i64(s, r->num);
		nc_sig_u32(s, r->nvalues);
		for (uint32_t j = 0; j < r->nvalues; j++)
			nc_sig_u32(s, (uint32_t)r->values[j]);
	}
}

static inline void nc_sig_labels(struct nc_sig *s, const struct kp_labels *l)
{
	nc_sig_u32(s, l->n);
	for (uint32_t i = 0; i < l->n; i++) {
		nc_sig_u32(s, (uint32_t)l->v[i].key);
		nc_sig_u32(s, (uint32_t)l->v[i].value);
	}
}

/* The NUL-terminated signature (caller frees), NULL when out of memory. */
static inline char *nc_sig_end(struct nc_sig *s)
{
	nc_sig_u32(s, 0xffffffffu); /* also makes room for the NUL */
	if (s->oom) {
		free(s->buf);
		return NULL;
	}
	s->buf[s->len] = 0;
	return s->buf;
}

#endif

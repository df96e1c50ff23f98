/*
 * labelcol.h - label columns for the Filter loops of the label-matching
 * plugins (PodTopologySpread, NodeAffinity), shared as static inline code.
 *
 * A column holds the value id of one label key for every node of the
 * snapshot, by node index (kp_node_info.index, what the batch entry points
 * get in idx[]). A batch loop then reads one int per node instead of
 * following each node's pointer to its label array: those scattered reads,
 * not the instructions, were what the per-node label lookups cost.
 *
 * Kept up to date from the snapshot's change log in PreFilter (scheduling
 * thread only: kp_snapshot_each_changed_node); Filter on the worker threads
 * only reads. Ownership: the plugin's self owns the set (lc_release()).
 */
#ifndef KPLANE_PLUGINS_LABELCOL_H
#define KPLANE_PLUGINS_LABELCOL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <kplane/sched.h>

#define LC_MAX 4 /* keys kept; a fifth key's lookups go through the labels */

struct labelcol {
	int32_t key;
	uint64_t gen; /* snapshot generation the values reflect */
	uint32_t n;   /* nodes covered; != the snapshot's nnodes: rebuild */
	int32_t *v;   /* owned */
};

struct labelcols {
	struct labelcol c[LC_MAX];
	uint32_t n;
};

struct lc_sync {
	const struct kp_snapshot *snap;
	struct labelcol *c;
	bool rebuild;
};

static inline int lc_changed(int32_t name_id, void *arg)
{
	struct lc_sync *cs = arg;
	const struct kp_node_info *n = kp_snapshot_node(cs->snap, name_id);
	if (!n || n->index < 0 || (uint32_t)n->index >= cs->c->n) {
		cs->rebuild = true; /* a node went: indexes may have moved */
		return 1;
	}
	cs->c->v[n->index] = kp_labels_find(&n->labels, cs->c->key);
	return 0;
}

/*
 * The column of key brought up to snap (borrowed from set, valid until the
 * next call on the scheduling thread), or NULL when out of memory or
 * LC_MAX other keys are kept: then look the labels up.
 */
static inline const int32_t *lc_column(struct labelcols *set, const struct kp_snapshot *snap,
					int32_t key)
{
	struct labelcol *c = NULL;
	for (uint32_t i = 0; i < set->n && !c; i++)
		if (set->c[i].key == key)
			c = &set->c[i];
	if (!c) {
		if (set->n == LC_MAX)
			return NULL;
		c = &set->c[set->n++];
		*c = (struct labelcol){ .key = key };
	}
	struct lc_sync cs = { snap, c, c->n != snap->nnodes || !c->v };
	if (!cs.rebuild && c->gen != snap->generation &&
	    kp_snapshot_each_changed_node(snap, c->gen, lc_changed, &cs) == KP_ERANGE)
		cs.rebuild = true;
	if (cs.rebuild) {
		int32_t *v = realloc(c->v, sizeof(*v) * (snap->nnodes ? snap->nnodes : 1));
		if (!v)
			return NULL;
		c->v = v;
		for (uint32_t i = 0; i < snap->nnodes; i++)
			v[i] = kp_labels_find(&snap->nodes[i]->labels, key);
		c->n = snap->nnodes;
	}
	c->gen = snap->generation;
	return c->v;
}

static inline void lc_release(struct labelcols *set)
{
	for (uint32_t i = 0; i < set->n; i++)
		free(set->c[i].v);
	set->n = 0;
}

#endif

/*
 * inter-pod-affinity.c - InterPodAffinity: required pod affinity and
 * anti-affinity as a filter, preferred terms as a score, with
 * kube-scheduler's semantics (plugins/interpodaffinity):
 *
 *  - PreFilter counts, per topology domain (key id, value id), the existing
 *    pods that match ALL required affinity terms of the incoming pod, the
 *    pods matching each required anti-affinity term, and the existing pods
 *    whose required anti-affinity terms match the incoming pod (symmetry).
 *    Filter then does a few hash lookups per node.
 *  - The first-pod exception: when no pod anywhere matches the affinity
 *    terms and the incoming pod matches them itself, any node that has all
 *    the topology keys passes.
 *  - PreScore sums preferred term weights per domain: the incoming pod's
 *    preferred (anti-)affinity against existing pods, and the existing
 *    pods' preferred (anti-)affinity and required affinity (weighted by
 *    hardPodAffinityWeight) against the incoming pod. Score adds the
 *    domains of the node; NormalizeScore scales min..max to 0..100.
 *
 * Namespaces: a term with no namespaces and no namespaceSelector selects
 * its own pod's namespace; namespaceSelector {} selects every namespace.
 * For the incoming pod's terms a namespaceSelector only selects namespaces
 * that exist (kube-scheduler lists Namespace objects); for existing pods'
 * terms it is matched against the incoming pod's namespace labels (empty
 * when the Namespace object is unknown).
 */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/object.h>
#include <kplane/plugin.h>

#include "plugins/filter/nodecache.h"
#include "plugins/filter/tpcount.h"

#define REASON_AFFINITY "node(s) didn't match pod affinity rules"
#define REASON_ANTI "node(s) didn't match pod anti-affinity rules"
#define REASON_EXISTING_ANTI "node(s) didn't satisfy existing pods anti-affinity rules"

struct args {
	int64_t hard_pod_affinity_weight;
	bool ignore_preferred_terms_of_existing_pods;
};

static const struct kp_arg_spec arg_spec[] = {
	{ "hardPodAffinityWeight", KP_ARG_INT, offsetof(struct args, hard_pod_affinity_weight),
	  "1", 0, 100 },
	{ "ignorePreferredTermsOfExistingPods", KP_ARG_BOOL,
	  offsetof(struct args, ignore_preferred_terms_of_existing_pods), "false", 0, 0 },
	{ NULL, 0, 0, NULL, 0, 0 },
};

struct self {
	int slot;
	int64_t hard_weight;
	bool ignore_preferred;
	/* PreFilter's three count maps (existing_anti, affinity, anti) for the
	 * last pod signature, kept up to date from the node change log */
	struct nc_set pf_cache;
	struct tpcount scratch[3];
	/* every topology key an existing anti term ever counted under: a
	 * superset of any pod's existing_keys (a key without counts only costs
	 * a lookup that finds nothing) */
	int32_t *ek_all;
	uint32_t nek_all;
	/* PreScore's sums the same way: map 0 (key, value) -> summed weights,
	 * map 1 key 0 -> number of contributions (kube's "touched") */
	struct nc_set ps_cache;
	struct ps *ps_scratch;
};

/* A growable list of distinct topology key ids. */
struct keyset {
	uint32_t n, cap;
	int32_t *v;
};

/* PreFilter state. */
struct pf {
	const struct kp_pod_info *pod;
	const struct kp_labels *ns_labels;   /* incoming pod's namespace labels, never NULL */
	struct tpcount existing_anti;        /* existing pods' required anti terms matching pod */
	struct keyset existing_keys;         /* topology keys present in existing_anti */
	struct tpcount affinity;             /* pods matching all required affinity terms */
	struct tpcount anti;                 /* pods matching a required anti-affinity term */
	bool self_match;                     /* pod matches all of its own affinity terms */
	/*
	 * The three maps are the PreFilter cache's own (read-only, valid for
	 * this scheduling cycle: the cache changes only at the next pod's
	 * PreFilter): pf_own() copies them before a what-if changes them.
	 * Copying them for every pod was a sixth of an attempt with a few
	 * thousand anti-affinity pods.
	 */
	bool borrowed;
};

/* PreScore state. */
struct ps {
	struct tpcount score;                /* (key, value) -> summed weights */
	struct keyset keys;                  /* topology keys with an entry */
};

struct state {
	struct pf *pf;
	struct ps *ps;
};

static const struct kp_labels no_labels = { 0, NULL };

static int keyset_add(struct keyset *ks, int32_t key)
{
	for (uint32_t i = 0; i < ks->n; i++)
		if (ks->v[i] == key)
			return 0;
	if (ks->n == ks->cap) {
		uint32_t ncap = ks->cap ? ks->cap * 2 : 4;
		int32_t *nv = realloc(ks->v, sizeof(*nv) * ncap);
		if (!nv)
			return -1;
		ks->v = nv;
		ks->cap = ncap;
	}
	ks->v[ks->n++] = key;
	return 0;
}

static void pf_free(struct pf *pf)
{
	if (!pf)
		return;
	if (!pf->borrowed) {
		tp_release(&pf->existing_anti);
		tp_release(&pf->affinity);
		tp_release(&pf->anti);
	}
	free(pf->existing_keys.v);
	free(pf);
}

/* Gives pf its own copies of borrowed maps; -1 when out of memory. */
static int pf_own(struct pf *pf)
{
	if (!pf->borrowed)
		return 0;
	struct tpcount m[3] = { 0 };
	if (tp_clone(&m[0], &pf->existing_anti) < 0 || tp_clone(&m[1], &pf->affinity) < 0 ||
	    tp_clone(&m[2], &pf->anti) < 0) {
		tp_release(&m[0]);
		tp_release(&m[1]);
		return -1;
	}
	pf->existing_anti = m[0];
	pf->affinity = m[1];
	pf->anti = m[2];
	pf->borrowed = false;
	return 0;
}

static void ps_free(struct ps *ps)
{
	if (!ps)
		return;
	tp_release(&ps->score);
	free(ps->keys.v);
	free(ps);
}

static void state_release(void *arg)
{
	struct state *s = arg;
	pf_free(s->pf);
	ps_free(s->ps);
	free(s);
}

/* The plugin's state in cy, created (and registered for release) on first use. */
static struct state *state_get(const struct self *self, struct kp_cycle *cy, bool create)
{
	struct state *s = kp_cycle_get(cy, self->slot);
	if (s || !create)
		return s;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	if (kp_cycle_on_release(cy, state_release, s) < 0) {
		free(s);
		return NULL;
	}
	kp_cycle_set(cy, self->slot, s);
	return s;
}

/*
 * Does term t, written in a pod of namespace owner_ns, select namespace ns?
 * ns_labels are ns's labels or NULL when the Namespace object is unknown;
 * `incoming` tells which rule applies to an unknown namespace (see the top
 * of the file).
 */
static bool term_selects_ns(const struct kp_snapshot *snap, const struct kp_pod_affinity_term *t,
			    int32_t owner_ns, int32_t ns, const struct kp_labels *ns_labels,
			    bool incoming)
{
	if (t->nnamespaces == 0 && !t->has_ns_selector)
		return ns == owner_ns;
	for (uint32_t i = 0; i < t->nnamespaces; i++)
		if (t->namespaces[i] == ns)
			return true;
	if (!t->has_ns_selector || t->ns_selector.nothing)
		return false;
	if (t->ns_selector.n == 0)
		return true;
	if (incoming) {
		/* the incoming pod's terms: look the other pod's namespace up */
		ns_labels = kp_snapshot_namespace_labels(snap, ns);
		if (!ns_labels)
			return false;
	} else if (!ns_labels) {
		ns_labels = &no_labels;
	}
	return kp_isel_matches(&t->ns_selector, ns_labels);
}

/* Does the incoming pod's term t (pod in namespace owner_ns) match pod p? */
static bool incoming_term_matches(const struct kp_snapshot *snap,
				  const struct kp_pod_affinity_term *t, int32_t owner_ns,
				  const struct kp_pod_info *p)
{
	return kp_isel_matches(&t->selector, &p->labels) &&
	       term_selects_ns(snap, t, owner_ns, p->ns_id, NULL, true);
}

/* Does existing pod owner's term t match the incoming pod (with its ns labels)? */
static bool existing_term_matches(const struct kp_snapshot *snap,
				  const struct kp_pod_affinity_term *t, const struct kp_pod_info *owner,
				  const struct kp_pod_info *pod, const struct kp_labels *pod_ns_labels)
{
	return kp_isel_matches(&t->selector, &pod->labels) &&
	       term_selects_ns(snap, t, owner->ns_id, pod->ns_id, pod_ns_labels, false);
}

/* kube-scheduler's podMatchesAllAffinityTerms: false for no terms. */
static bool matches_all(const struct kp_snapshot *snap, const struct kp_pod_info *pod,
			const struct kp_pod_info *p)
{
	const struct kp_pod_affinity *a = &pod->affinity;
	if (a->nreq_affinity == 0)
		return false;
	for (uint32_t i = 0; i < a->nreq_affinity; i++)
		if (!incoming_term_matches(snap, &a->req_affinity[i], pod->ns_id, p))
			return false;
	return true;
}

/*
 * Counts other (on node) into pf with multiplier mult (+1 when it exists or
 * is added, -1 when removed): kube-scheduler's preFilterState.updateWithPod.
 * Returns -1 when out of memory.
 */
static int pf_update(struct pf *pf, const struct kp_snapshot *snap, const struct kp_pod_info *other,
		     const struct kp_node_info *node, int64_t mult, bool existing_terms,
		     bool incoming_terms)
{
	const struct kp_pod_info *pod = pf->pod;
	const struct kp_pod_affinity *oa = &other->affinity, *a = &pod->affinity;

	if (existing_terms) {
		for (uint32_t i = 0; i < oa->nreq_anti; i++) {
			const struct kp_pod_affinity_term *t = &oa->req_anti[i];
			if (!existing_term_matches(snap, t, other, pod, pf->ns_labels))
				continue;
			int32_t v = kp_labels_get(&node->labels, t->topology_key);
			if (v == KP_ID_NONE)
				continue;
			if (tp_add(&pf->existing_anti, tp_pair(t->topology_key, v), mult) < 0 ||
			    keyset_add(&pf->existing_keys, t->topology_key) < 0)
				return -1;
		}
	}
	if (!incoming_terms)
		return 0;
	if (a->nreq_affinity && matches_all(snap, pod, other)) {
		for (uint32_t i = 0; i < a->nreq_affinity; i++) {
			const struct kp_pod_affinity_term *t = &a->req_affinity[i];
			int32_t v = kp_labels_get(&node->labels, t->topology_key);
			if (v != KP_ID_NONE &&
			    tp_add(&pf->affinity, tp_pair(t->topology_key, v), mult) < 0)
				return -1;
		}
	}
	for (uint32_t i = 0; i < a->nreq_anti; i++) {
		const struct kp_pod_affinity_term *t = &a->req_anti[i];
		if (!incoming_term_matches(snap, t, pod->ns_id, other))
			continue;
		int32_t v = kp_labels_get(&node->labels, t->topology_key);
		if (v != KP_ID_NONE && tp_add(&pf->anti, tp_pair(t->topology_key, v), mult) < 0)
			return -1;
	}
	return 0;
}

/* True when node has the topology key of at least one required term of pod:
 * otherwise none of its pods can count anywhere. */
static bool node_has_any_key(const struct kp_pod_affinity *a, const struct kp_node_info *node)
{
	for (uint32_t i = 0; i < a->nreq_affinity; i++)
		if (kp_labels_get(&node->labels, a->req_affinity[i].topology_key) != KP_ID_NONE)
			return true;
	for (uint32_t i = 0; i < a->nreq_anti; i++)
		if (kp_labels_get(&node->labels, a->req_anti[i].topology_key) != KP_ID_NONE)
			return true;
	return false;
}

/*
 * What PreFilter's counts depend on besides the cluster: the pod's
 * namespace and its labels (existing pods' terms), their labels
 * (matchLabelKeys) and the pod's own required terms. NULL when they cannot
 * be kept: no object, or an incoming term with a namespaceSelector (its
 * result moves with other namespaces' labels, which the change log does not
 * track).
 */
static void sig_terms(struct nc_sig *g, const struct kp_pod_affinity_term *t, uint32_t n)
{
	nc_sig_u32(g, n);
	for (uint32_t i = 0; i < n; i++) {
		nc_sig_isel(g, &t[i].selector);
		nc_sig_u32(g, t[i].nnamespaces);
		for (uint32_t j = 0; j < t[i].nnamespaces; j++)
			nc_sig_u32(g, (uint32_t)t[i].namespaces[j]);
		nc_sig_u32(g, t[i].has_ns_selector);
		nc_sig_isel(g, &t[i].ns_selector);
		nc_sig_u32(g, (uint32_t)t[i].topology_key);
		nc_sig_u32(g, (uint32_t)t[i].weight);
	}
}

static char *signature(const struct kp_pod_info *pod, const struct kp_labels *ns_labels,
		       bool preferred)
{
	const struct kp_pod_affinity *a = &pod->affinity;
	if (!pod->obj)
		return NULL;
	for (uint32_t i = 0; preferred && i < a->npref_affinity; i++)
		if (a->pref_affinity[i].has_ns_selector)
			return NULL;
	for (uint32_t i = 0; preferred && i < a->npref_anti; i++)
		if (a->pref_anti[i].has_ns_selector)
			return NULL;
	for (uint32_t i = 0; i < a->nreq_affinity; i++)
		if (a->req_affinity[i].has_ns_selector)
			return NULL;
	for (uint32_t i = 0; i < a->nreq_anti; i++)
		if (a->req_anti[i].has_ns_selector)
			return NULL;
	/* from the compiled fields (nodecache.h's nc_sig), not a JSON dump */
	struct nc_sig g = { 0 };
	nc_sig_u32(&g, (uint32_t)pod->ns_id);
	nc_sig_labels(&g, ns_labels);
	nc_sig_labels(&g, &pod->labels);
	sig_terms(&g, a->req_affinity, a->nreq_affinity);
	sig_terms(&g, a->pref_affinity, a->npref_affinity);
	sig_terms(&g, a->req_anti, a->nreq_anti);
	sig_terms(&g, a->pref_anti, a->npref_anti);
	return nc_sig_end(&g);
}

/* What one node contributes to the three maps (nodecache.h): pf_update
 * into scratch maps, whose non-zero entries are then recorded. */
static int contribute(struct nodecache *nc, struct nc_node *slot, const struct kp_node_info *node,
		      void *arg)
{
	struct pf *tmp = arg; /* pod, ns_labels and the scratch maps */
	const struct kp_pod_affinity *a = &tmp->pod->affinity;
	struct tpcount *m[3] = { &tmp->existing_anti, &tmp->affinity, &tmp->anti };
	for (int k = 0; k < 3; k++) {
		if (m[k]->cap)
			memset(m[k]->keys, 0xff, sizeof(*m[k]->keys) * m[k]->cap);
		m[k]->n = m[k]->nonzero = 0;
	}
	for (uint32_t j = 0; j < node->npods_with_req_anti; j++)
		if (pf_update(tmp, nc->snap, node->pods_with_req_anti[j], node, 1, true, false) < 0)
			return -1;
	if ((a->nreq_affinity || a->nreq_anti) && node_has_any_key(a, node))
		for (uint32_t j = 0; j < node->npods; j++)
			if (pf_update(tmp, nc->snap, node->pods[j], node, 1, false, true) < 0)
				return -1;
	for (uint32_t k = 0; k < 3; k++)
		for (uint32_t i = 0; i < m[k]->cap; i++)
			if (m[k]->keys[i] != TP_EMPTY && m[k]->vals[i] &&
			    nc_add(nc, slot, k, m[k]->keys[i], m[k]->vals[i]) < 0)
				return -1;
	return 0;
}

/* PreFilter's counts from the kept ones (pf->pod and ns_labels set). */
static int pf_from_cache(struct self *self, const struct kp_snapshot *snap, struct pf *pf,
			 const char *sig)
{
	struct pf tmp = { .pod = pf->pod, .ns_labels = pf->ns_labels };
	tmp.existing_anti = self->scratch[0];
	tmp.affinity = self->scratch[1];
	tmp.anti = self->scratch[2];
	struct nodecache *nc = nc_pick(&self->pf_cache, sig);
	int rc = nc_sync(nc, snap, sig, 3, contribute, &tmp);
	self->scratch[0] = tmp.existing_anti;
	self->scratch[1] = tmp.affinity;
	self->scratch[2] = tmp.anti;
	/* the keys the nodes just counted (re)contributed join the superset */
	for (uint32_t i = 0; rc >= 0 && i < tmp.existing_keys.n; i++) {
		uint32_t j = 0;
		while (j < self->nek_all && self->ek_all[j] != tmp.existing_keys.v[i])
			j++;
		if (j < self->nek_all)
			continue;
		int32_t *v = realloc(self->ek_all, sizeof(*v) * (self->nek_all + 1));
		if (!v)
			rc = -1;
		else
			(self->ek_all = v)[self->nek_all++] = tmp.existing_keys.v[i];
	}
	free(tmp.existing_keys.v);
	if (rc < 0)
		return -1;
	const struct tpcount *m = nc->maps;
	pf->existing_anti = m[0];
	pf->affinity = m[1];
	pf->anti = m[2];
	pf->borrowed = true;
	for (uint32_t i = 0; i < self->nek_all; i++)
		if (keyset_add(&pf->existing_keys, self->ek_all[i]) < 0)
			return -1;
	return 0;
}

static int pre_filter(void *self_, struct kp_cycle *cy, const struct kp_pod_info *pod,
		      struct kp_node_set *nodes, struct kp_status *st)
{
	struct self *self = self_;
	const struct kp_snapshot *snap = cy->snapshot;
	const struct kp_pod_affinity *a = &pod->affinity;
	(void)nodes;

	struct pf *pf = calloc(1, sizeof(*pf));
	if (!pf)
		goto out_nomem;
	pf->pod = pod;
	pf->ns_labels = kp_snapshot_namespace_labels(snap, pod->ns_id);
	if (!pf->ns_labels)
		pf->ns_labels = &no_labels;

	/* Counts kept across attempts when the pod has terms or many nodes hold
	 * anti-affinity pods; a plain pod in a cluster with few is cheaper to
	 * count directly. */
	bool has_terms = a->nreq_affinity || a->nreq_anti;
	char *sig = has_terms || snap->nnodes_with_req_anti > 64 ? signature(pod, pf->ns_labels, false)
								 : NULL;
	if (sig) {
		int rc = pf_from_cache(self, snap, pf, sig);
		free(sig);
		if (rc < 0)
			goto out_free_pf;
		if (!has_terms && pf->existing_anti.nonzero == 0) {
			pf_free(pf);
			return KP_STATUS_SKIP;
		}
		if (has_terms)
			pf->self_match = matches_all(snap, pod, pod);
		goto out_store;
	}

	/* Symmetry: existing pods' required anti-affinity against this pod. */
	for (uint32_t i = 0; i < snap->nnodes_with_req_anti; i++) {
		const struct kp_node_info *node = snap->nodes_with_req_anti[i];
		for (uint32_t j = 0; j < node->npods_with_req_anti; j++)
			if (pf_update(pf, snap, node->pods_with_req_anti[j], node, 1, true, false) < 0)
				goto out_free_pf;
	}

	if (a->nreq_affinity == 0 && a->nreq_anti == 0) {
		if (pf->existing_anti.nonzero == 0) {
			pf_free(pf);
			return KP_STATUS_SKIP;
		}
	} else {
		for (uint32_t i = 0; i < snap->nnodes; i++) {
			const struct kp_node_info *node = snap->nodes[i];
			if (!node_has_any_key(a, node))
				continue;
			for (uint32_t j = 0; j < node->npods; j++)
				if (pf_update(pf, snap, node->pods[j], node, 1, false, true) < 0)
					goto out_free_pf;
		}
		pf->self_match = matches_all(snap, pod, pod);
	}

out_store:;
	struct state *s = state_get(self, cy, true);
	if (!s)
		goto out_free_pf;
	pf_free(s->pf);
	s->pf = pf;
	return KP_STATUS_SUCCESS;

out_free_pf:
	pf_free(pf);
out_nomem:
	kp_status_add(st, "InterPodAffinity: out of memory");
	return KP_STATUS_ERROR;
}

static bool satisfies_affinity(const struct pf *pf, const struct kp_node_info *node)
{
	const struct kp_pod_affinity *a = &pf->pod->affinity;
	bool pods_exist = true;
	for (uint32_t i = 0; i < a->nreq_affinity; i++) {
		int32_t key = a->req_affinity[i].topology_key;
		int32_t v = kp_labels_find(&node->labels, key);
		if (v == KP_ID_NONE)
			return false; /* every topology key must be on the node */
		if (tp_get(&pf->affinity, tp_pair(key, v)) <= 0)
			pods_exist = false;
	}
	if (pods_exist)
		return true;
	/* The first pod of a group that has affinity to itself. */
	return pf->affinity.nonzero == 0 && pf->self_match;
}

static bool satisfies_anti(const struct pf *pf, const struct kp_node_info *node)
{
	const struct kp_pod_affinity *a = &pf->pod->affinity;
	if (pf->anti.nonzero == 0)
		return true;
	for (uint32_t i = 0; i < a->nreq_anti; i++) {
		int32_t key = a->req_anti[i].topology_key;
		int32_t v = kp_labels_find(&node->labels, key);
		if (v != KP_ID_NONE && tp_get(&pf->anti, tp_pair(key, v)) > 0)
			return false;
	}
	return true;
}

static bool satisfies_existing_anti(const struct pf *pf, const struct kp_node_info *node)
{
	if (pf->existing_anti.nonzero == 0)
		return true;
	/* kube-scheduler walks the node's labels; walking the few keys that
	 * have counts finds the same pairs */
	for (uint32_t i = 0; i < pf->existing_keys.n; i++) {
		int32_t key = pf->existing_keys.v[i];
		int32_t v = kp_labels_find(&node->labels, key);
		if (v != KP_ID_NONE && tp_get(&pf->existing_anti, tp_pair(key, v)) > 0)
			return false;
	}
	return true;
}

static int filter(void *self_, struct kp_cycle *cy, const struct kp_pod_info *pod,
		  const struct kp_node_info *node, struct kp_status *st)
{
	const struct self *self = self_;
	const struct state *s = kp_cycle_get(cy, self->slot);
	(void)pod;
	if (!s || !s->pf)
		return KP_STATUS_SUCCESS; /* PreFilter skipped us */
	if (!satisfies_affinity(s->pf, node)) {
		kp_status_add(st, REASON_AFFINITY);
		return KP_STATUS_UNRESOLVABLE;
	}
	if (!satisfies_anti(s->pf, node)) {
		kp_status_add(st, REASON_ANTI);
		return KP_STATUS_UNSCHEDULABLE;
	}
	if (!satisfies_existing_anti(s->pf, node)) {
		kp_status_add(st, REASON_EXISTING_ANTI);
		return KP_STATUS_UNSCHEDULABLE;
	}
	return KP_STATUS_SUCCESS;
}

/* filter() for a run of nodes, without the reasons. */
static size_t filter_batch(void *self_, struct kp_cycle *cy, const struct kp_pod_info *pod,
			   const struct kp_node_info *const *nodes, const uint32_t *idx,
			   size_t n, uint8_t *fit)
{
	const struct self *self = self_;
	const struct state *s = kp_cycle_get(cy, self->slot);
	(void)pod;
	if (!s || !s->pf) {
		memset(fit, 1, n);
		return 0;
	}
	size_t bad = 0;
	for (size_t i = 0; i < n; i++) {
		bool ok = satisfies_affinity(s->pf, nodes[i]) && satisfies_anti(s->pf, nodes[i]) &&
			  satisfies_existing_anti(s->pf, nodes[i]);
		fit[i] = ok;
		bad += !ok;
	}
	return bad;
}

static int what_if(void *self_, struct kp_cycle *cy, const struct kp_pod_info *other,
		   const struct kp_node_info *node, int64_t mult, struct kp_status *st)
{
	const struct self *self = self_;
	struct state *s = kp_cycle_get(cy, self->slot);
	if (!s || !s->pf)
		return KP_STATUS_SUCCESS;
	if (pf_own(s->pf) < 0 || pf_update(s->pf, cy->snapshot, other, node, mult, true, true) < 0) {
		kp_status_add(st, "InterPodAffinity: out of memory");
		return KP_STATUS_ERROR;
	}
	return KP_STATUS_SUCCESS;
}

static int pre_filter_add_pod(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
			      const struct kp_pod_info *other, const struct kp_node_info *node,
			      struct kp_status *st)
{
	(void)pod;
	return what_if(self, cy, other, node, 1, st);
}

static int pre_filter_remove_pod(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
				 const struct kp_pod_info *other, const struct kp_node_info *node,
				 struct kp_status *st)
{
	(void)pod;
	return what_if(self, cy, other, node, -1, st);
}

/* What-if copies get their own PreFilter counts (AddPod/RemovePod change
 * them); scores are never computed on a copy, so PreScore state is not
 * carried over. */
static int cycle_copy(void *self_, const struct kp_cycle *src, struct kp_cycle *dst)
{
	const struct self *self = self_;
	const struct state *s = kp_cycle_get(src, self->slot);
	kp_cycle_set(dst, self->slot, NULL);
	if (!s || !s->pf)
		return 0;
	struct pf *pf = calloc(1, sizeof(*pf));
	if (!pf)
		return KP_ENOMEM;
	pf->pod = s->pf->pod;
	pf->ns_labels = s->pf->ns_labels;
	pf->self_match = s->pf->self_match;
	if (tp_clone(&pf->existing_anti, &s->pf->existing_anti) < 0 ||
	    tp_clone(&pf->affinity, &s->pf->affinity) < 0 ||
	    tp_clone(&pf->anti, &s->pf->anti) < 0)
		goto out_free_pf;
	for (uint32_t i = 0; i < s->pf->existing_keys.n; i++)
		if (keyset_add(&pf->existing_keys, s->pf->existing_keys.v[i]) < 0)
			goto out_free_pf;
	struct state *d = state_get(self, dst, true);
	if (!d)
		goto out_free_pf;
	d->pf = pf;
	return 0;

out_free_pf:
	pf_free(pf);
	return KP_ENOMEM;
}

/* ---- scoring */

struct score_ctx {
	const struct kp_snapshot *snap;
	const struct kp_pod_info *pod;
	const struct kp_labels *pod_ns_labels;
	struct ps *ps;
	bool touched;
	bool nomem;
};

static void add_score(struct score_ctx *c, const struct kp_node_info *node, int32_t key,
		      int64_t delta)
{
	int32_t v = kp_labels_find(&node->labels, key);
	if (v == KP_ID_NONE)
		return;
	c->touched = true;
	int64_t *p = tp_ref(&c->ps->score, tp_pair(key, v));
	if (!p || keyset_add(&c->ps->keys, key) < 0) {
		c->nomem = true;
		return;
	}
	*p += delta;
}

/* kube-scheduler's processExistingPod. */
static void process_existing(const struct self *self, struct score_ctx *c,
			     const struct kp_pod_info *ex, const struct kp_node_info *node)
{
	const struct kp_pod_affinity *a = &c->pod->affinity, *ea = &ex->affinity;
	if (node->labels.n == 0)
		return;
	for (uint32_t i = 0; i < a->npref_affinity; i++) {
		const struct kp_pod_affinity_term *t = &a->pref_affinity[i];
		if (incoming_term_matches(c->snap, t, c->pod->ns_id, ex))
			add_score(c, node, t->topology_key, t->weight);
	}
	for (uint32_t i = 0; i < a->npref_anti; i++) {
		const struct kp_pod_affinity_term *t = &a->pref_anti[i];
		if (incoming_term_matches(c->snap, t, c->pod->ns_id, ex))
			add_score(c, node, t->topology_key, -(int64_t)t->weight);
	}
	if (self->hard_weight > 0) {
		for (uint32_t i = 0; i < ea->nreq_affinity; i++) {
			const struct kp_pod_affinity_term *t = &ea->req_affinity[i];
			if (existing_term_matches(c->snap, t, ex, c->pod, c->pod_ns_labels))
				add_score(c, node, t->topology_key, self->hard_weight);
		}
	}
	for (uint32_t i = 0; i < ea->npref_affinity; i++) {
		const struct kp_pod_affinity_term *t = &ea->pref_affinity[i];
		if (existing_term_matches(c->snap, t, ex, c->pod, c->pod_ns_labels))
			add_score(c, node, t->topology_key, t->weight);
	}
	for (uint32_t i = 0; i < ea->npref_anti; i++) {
		const struct kp_pod_affinity_term *t = &ea->pref_anti[i];
		if (existing_term_matches(c->snap, t, ex, c->pod, c->pod_ns_labels))
			add_score(c, node, t->topology_key, -(int64_t)t->weight);
	}
}

struct ps_arg {
	const struct self *self;
	struct score_ctx *c;
	bool has_pref;
};

/* What one node adds to PreScore's sums (nodecache.h). */
static int ps_contribute(struct nodecache *nc, struct nc_node *slot,
			 const struct kp_node_info *node, void *arg)
{
	struct ps_arg *pa = arg;
	struct score_ctx *c = pa->c;
	struct tpcount *m = &c->ps->score;
	if (m->cap)
		memset(m->keys, 0xff, sizeof(*m->keys) * m->cap);
	m->n = m->nonzero = 0;
	c->touched = false;
	uint32_t np = pa->has_pref ? node->npods : node->npods_with_affinity;
	const struct kp_pod_info *const *pods = pa->has_pref ? node->pods : node->pods_with_affinity;
	uint32_t touched = 0;
	for (uint32_t j = 0; j < np; j++) {
		c->touched = false;
		process_existing(pa->self, c, pods[j], node);
		touched += c->touched;
	}
	if (c->nomem)
		return -1;
	for (uint32_t i = 0; i < m->cap; i++)
		if (m->keys[i] != TP_EMPTY && m->vals[i] &&
		    nc_add(nc, slot, 0, m->keys[i], m->vals[i]) < 0)
			return -1;
	if (touched && nc_add(nc, slot, 1, 0, touched) < 0)
		return -1;
	return 0;
}

/* PreScore's sums from the kept ones; *touched as kube's. */
static int ps_from_cache(struct self *self, const struct kp_snapshot *snap, struct score_ctx *c,
			 bool has_pref, const char *sig)
{
	if (!self->ps_scratch && !(self->ps_scratch = calloc(1, sizeof(*self->ps_scratch))))
		return -1;
	struct score_ctx tmp = { .snap = snap, .pod = c->pod, .pod_ns_labels = c->pod_ns_labels,
				 .ps = self->ps_scratch };
	struct ps_arg pa = { self, &tmp, has_pref };
	char full[32];
	snprintf(full, sizeof(full), "%d:", has_pref);
	size_t len = strlen(full) + strlen(sig) + 1;
	char *s2 = malloc(len);
	if (!s2)
		return -1;
	snprintf(s2, len, "%s%s", full, sig);
	struct nodecache *nc = nc_pick(&self->ps_cache, s2);
	int rc = nc_sync(nc, snap, s2, 2, ps_contribute, &pa);
	free(s2);
	free(self->ps_scratch->keys.v);
	memset(&self->ps_scratch->keys, 0, sizeof(self->ps_scratch->keys));
	if (rc < 0)
		return -1;
	const struct tpcount *m = &nc->maps[0];
	if (tp_clone(&c->ps->score, m) < 0)
		return -1;
	for (uint32_t i = 0; i < m->cap; i++)
		if (m->keys[i] != TP_EMPTY && m->vals[i] &&
		    keyset_add(&c->ps->keys, (int32_t)(m->keys[i] >> 32)) < 0)
			return -1;
	c->touched = tp_get(&nc->maps[1], 0) > 0;
	return 0;
}

static int pre_score(void *self_, struct kp_cycle *cy, const struct kp_pod_info *pod,
		     const struct kp_node_info *const *nodes, size_t n, struct kp_status *st)
{
	struct self *self = self_;
	const struct kp_snapshot *snap = cy->snapshot;
	const struct kp_pod_affinity *a = &pod->affinity;
	bool has_pref = a->npref_affinity > 0 || a->npref_anti > 0;
	(void)nodes;
	(void)n;

	if (self->ignore_preferred && !has_pref)
		return KP_STATUS_SKIP;

	struct score_ctx c = { .snap = snap, .pod = pod };
	c.pod_ns_labels = kp_snapshot_namespace_labels(snap, pod->ns_id);
	if (!c.pod_ns_labels)
		c.pod_ns_labels = &no_labels;
	c.ps = calloc(1, sizeof(*c.ps));
	if (!c.ps)
		goto out_nomem;

	/* kept sums: when the pod has preferred terms (all pods count) or many
	 * nodes hold pods with affinity */
	char *sig = has_pref || snap->nnodes_with_affinity > 64
			    ? signature(pod, c.pod_ns_labels, true) : NULL;
	if (sig) {
		int rc = ps_from_cache(self, snap, &c, has_pref, sig);
		free(sig);
		if (rc < 0)
			goto out_free_ps;
		goto scored;
	}

	/* Without preferred terms of its own, only pods with affinity can
	 * contribute (through their terms). */
	uint32_t nn = has_pref ? snap->nnodes : snap->nnodes_with_affinity;
	const struct kp_node_info *const *list = has_pref ? snap->nodes : snap->nodes_with_affinity;
	for (uint32_t i = 0; i < nn && !c.nomem; i++) {
		const struct kp_node_info *node = list[i];
		uint32_t np = has_pref ? node->npods : node->npods_with_affinity;
		const struct kp_pod_info *const *pods = has_pref ? node->pods
								  : node->pods_with_affinity;
		for (uint32_t j = 0; j < np; j++)
			process_existing(self, &c, pods[j], node);
	}
	if (c.nomem)
		goto out_free_ps;
scored:
	if (!c.touched) {
		ps_free(c.ps);
		return KP_STATUS_SKIP;
	}
	struct state *s = state_get(self, cy, true);
	if (!s)
		goto out_free_ps;
	ps_free(s->ps);
	s->ps = c.ps;
	return KP_STATUS_SUCCESS;

out_free_ps:
	ps_free(c.ps);
out_nomem:
	kp_status_add(st, "InterPodAffinity: out of memory");
	return KP_STATUS_ERROR;
}

static int score(void *self_, struct kp_cycle *cy, const struct kp_pod_info *pod,
		 const struct kp_node_info *node, int64_t *out, struct kp_status *st)
{
	const struct self *self = self_;
	const struct state *s = kp_cycle_get(cy, self->slot);
	(void)pod;
	(void)st;
	*out = 0;
	if (!s || !s->ps)
		return KP_STATUS_SUCCESS;
	int64_t sum = 0;
	for (uint32_t i = 0; i < s->ps->keys.n; i++) {
		int32_t key = s->ps->keys.v[i];
		int32_t v = kp_labels_find(&node->labels, key);
		if (v != KP_ID_NONE)
			sum += tp_get(&s->ps->score, tp_pair(key, v));
	}
	*out = sum;
	return KP_STATUS_SUCCESS;
}

static int score_batch(void *self_, struct kp_cycle *cy, const struct kp_pod_info *pod,
		       const struct kp_node_info *const *nodes, const uint32_t *idx,
		       size_t n, int64_t *scores)
{
	const struct self *self = self_;
	const struct state *s = kp_cycle_get(cy, self->slot);
	(void)pod;
	if (!s || !s->ps) {
		memset(scores, 0, n * sizeof(*scores));
		return KP_STATUS_SUCCESS;
	}
	const struct ps *ps = s->ps;
	for (size_t j = 0; j < n; j++) {
		int64_t sum = 0;
		for (uint32_t i = 0; i < ps->keys.n; i++) {
			int32_t key = ps->keys.v[i];
			int32_t v = kp_labels_find(&nodes[j]->labels, key);
			if (v != KP_ID_NONE)
				sum += tp_get(&ps->score, tp_pair(key, v));
		}
		scores[j] = sum;
	}
	return KP_STATUS_SUCCESS;
}

static int normalize_score(void *self_, struct kp_cycle *cy, const struct kp_pod_info *pod,
			   const struct kp_node_info *const *nodes, int64_t *scores, size_t n,
			   struct kp_status *st)
{
	const struct self *self = self_;
	const struct state *s = kp_cycle_get(cy, self->slot);
	(void)pod;
	(void)nodes;
	(void)st;
	if (!s || !s->ps || s->ps->keys.n == 0 || n == 0)
		return KP_STATUS_SUCCESS;
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	for (size_t i = 0; i < n; i++) {
		if (scores[i] > hi)
			hi = scores[i];
		if (scores[i] < lo)
			lo = scores[i];
	}
	int64_t diff = hi - lo;
	for (size_t i = 0; i < n; i++) {
		double f = 0;
		/* same float steps as kube-scheduler, so truncation agrees */
		if (diff > 0)
			f = (double)KP_MAX_NODE_SCORE * ((double)(scores[i] - lo) / (double)diff);
		scores[i] = (int64_t)f;
	}
	return KP_STATUS_SUCCESS;
}

/* ---- lifecycle */

static int init(const struct kp_sched_init *in, void **out, char **errmsg)
{
	struct self *s = calloc(1, sizeof(*s));
	if (!s)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	s->slot = in->slot;
	s->hard_weight = 1;
	if (in->args) {
		const struct args *a = in->args;
		if (a->hard_pod_affinity_weight < 0 || a->hard_pod_affinity_weight > 100) {
			free(s);
			return kp_error_set(errmsg, KP_EINVAL,
					    "pluginConfig[InterPodAffinity].args.hardPodAffinityWeight: "
					    "Invalid value: %lld: not in valid range [0-100]",
					    (long long)a->hard_pod_affinity_weight);
		}
		s->hard_weight = a->hard_pod_affinity_weight;
		s->ignore_preferred = a->ignore_preferred_terms_of_existing_pods;
	}
	*out = s;
	return 0;
}

static void fini(void *self_)
{
	struct self *self = self_;
	nc_set_release(&self->pf_cache);
	nc_set_release(&self->ps_cache);
	for (int k = 0; k < 3; k++)
		tp_release(&self->scratch[k]);
	ps_free(self->ps_scratch);
	free(self->ek_all);
	free(self);
}

static size_t events(void *self, struct kp_cluster_event *out, size_t cap)
{
	static const struct kp_cluster_event ev[] = {
		{ KP_EV_POD, KP_EV_ADD | KP_EV_DELETE | KP_EV_UPDATE_POD_LABEL },
		{ KP_EV_NODE, KP_EV_ADD | KP_EV_UPDATE_NODE_LABEL },
		{ KP_EV_NAMESPACE, KP_EV_ADD | KP_EV_UPDATE },
	};
	size_t n = sizeof(ev) / sizeof(ev[0]);
	(void)self;
	for (size_t i = 0; i < n && i < cap; i++)
		out[i] = ev[i];
	return n < cap ? n : cap;
}

static const struct kp_sched_ops ops = {
	KP_SCHED_OPS,
	.init = init,
	.fini = fini,
	.events_to_register = events,
	.pre_filter = pre_filter,
	.filter = filter,
	.pre_score = pre_score,
	.score = score,
	.normalize_score = normalize_score,
	.pre_filter_add_pod = pre_filter_add_pod,
	.pre_filter_remove_pod = pre_filter_remove_pod,
	.cycle_copy = cycle_copy,
	.filter_batch = filter_batch,
	.score_batch = score_batch,
};

KP_PLUGIN_DEFINE(InterPodAffinity) = {
	KP_PLUGIN_HEADER(KP_PLUGIN_SCHED),
	.name = "InterPodAffinity",
	.version = "1.0",
	.description = "filter+score: required and preferred pod affinity and anti-affinity",
	.sched = &ops,
	.args = arg_spec,
	.args_size = sizeof(struct args),
};

/*
 * pod-topology-spread.c - PodTopologySpread with kube-scheduler's semantics
 * (plugins/podtopologyspread):
 *
 *  - DoNotSchedule constraints filter: PreFilter counts, per constraint and
 *    topology value, the pods of the incoming pod's namespace that match the
 *    constraint's selector on eligible nodes (nodes having every topology
 *    key of the pod's constraints, and passing nodeAffinityPolicy /
 *    nodeTaintsPolicy), and the global minimum (0 when fewer domains than
 *    minDomains). A node passes when count(domain) + selfMatch - min <=
 *    maxSkew; a node without the topology key is UnschedulableAndUnresolvable.
 *  - ScheduleAnyway constraints score: count(domain) * log(domains + 2) +
 *    (maxSkew - 1) summed over constraints, rounded; NormalizeScore maps to
 *    100 * (max + min - s) / max, 100 for all when max is 0, 0 for ignored
 *    nodes (those missing a topology key).
 *  - Pods without constraints get the default constraints (System:
 *    hostname maxSkew 3 and zone maxSkew 5, both ScheduleAnyway) with the
 *    selector kube-scheduler deduces from the Services, ReplicationController,
 *    ReplicaSet or StatefulSet the pod belongs to; no such owner, no
 *    default constraints.
 *
 * matchLabelKeys is merged into the selector by the pod compiler (see
 * kp_spread_constraint), as the API server does in current Kubernetes.
 */
#include "config.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/object.h>
#include <kplane/plugin.h>

#include "plugins/filter/labelcol.h"
#include "plugins/filter/nodecache.h"
#include "plugins/filter/tpcount.h"

#define REASON_SKEW "node(s) didn't match pod topology spread constraints"
#define REASON_LABEL "node(s) didn't match pod topology spread constraints (missing required label)"

#define MAX_DEFAULTS 16

struct args {
	const json_t *default_constraints;
	const char *defaulting_type;
};

static const struct kp_arg_spec arg_spec[] = {
	{ "defaultConstraints", KP_ARG_JSON, offsetof(struct args, default_constraints), NULL, 0,
	  0 },
	{ "defaultingType", KP_ARG_STRING, offsetof(struct args, defaulting_type), "\"System\"", 0,
	  0 },
	{ NULL, 0, 0, NULL, 0, 0 },
};

/* A constraint as the plugin uses it: the pod's own or a default one. */
struct con {
	int32_t max_skew;
	int32_t key;
	int32_t min_domains;
	uint32_t when;
	uint32_t aff_policy;
	uint32_t taint_policy;
	const struct kp_isel *sel;
	bool hostname;
};

struct self {
	int slot;
	bool system_defaulted;
	uint32_t ndefaults;
	struct con defaults[MAX_DEFAULTS]; /* sel unset: deduced per pod */
	int32_t hostname_key;
	int32_t empty_id;                  /* "" : kube-scheduler's value for a missing label */
	/* PreFilter's counts for the last pod signature, kept up to date from
	 * the node change log: maps 2i (domain -> matching pods) and 2i + 1
	 * (domain -> eligible nodes) for DoNotSchedule constraint i */
	struct nc_set pf_cache;
	/* PreScore's the same way: map i (domain -> matching pods on eligible
	 * nodes) for each ScheduleAnyway constraint i */
	struct nc_set ps_cache;
	/* label columns of the constraint keys, for Filter (labelcol.h) */
	struct labelcols cols;
};

/* The constraints of one pod for one action, and the deduced default selector. */
struct cons {
	uint32_t n;
	struct con *c;
	bool has_defsel;
	struct kp_isel defsel;
};

struct pf {
	const struct kp_pod_info *pod;
	struct cons k;
	struct tpcount *dom;   /* per constraint: value id -> matching pods */
	int64_t *min;          /* per constraint: smallest count among its domains */
	bool *self_match;
	const int32_t *col[4]; /* per constraint (the first 4): its label column, or NULL */
};

struct ps {
	struct cons k;
	struct tpcount *dom;   /* per non-hostname constraint: value id -> matching pods */
	double *weight;        /* per constraint: log(size + 2) */
	uint8_t *ignored;      /* per snapshot node index */
	uint32_t nnodes;
};

struct state {
	struct pf *pf;
	struct ps *ps;
};

/* ---- constraints */

static void cons_release(struct cons *k)
{
	free(k->c);
	if (k->has_defsel)
		kp_isel_release(&k->defsel);
	memset(k, 0, sizeof(*k));
}

/* Does the pod carry label key=value (strings)? Not on a hot path. */
static bool pod_has_label(const struct kp_pod_info *pod, const char *key, const char *value)
{
	int32_t k = kp_intern_lookup(key), v = kp_intern_lookup(value);
	return k != KP_ID_NONE && v != KP_ID_NONE && kp_labels_get(&pod->labels, k) == v;
}

struct svc_arg {
	const struct kp_pod_info *pod;
	json_t *labels; /* merged selector labels */
	int err;
};

static int each_service(const json_t *svc, void *arg_)
{
	struct svc_arg *arg = arg_;
	const json_t *sel = kp_obj_get(svc, "spec.selector");
	const char *k;
	const json_t *v;
	if (!json_is_object(sel))
		return 0;
	json_object_foreach((json_t *)sel, k, v) {
		if (!json_is_string(v) || !pod_has_label(arg->pod, k, json_string_value(v)))
			return 0;
	}
	if (json_object_update(arg->labels, (json_t *)sel) < 0)
		arg->err = KP_ENOMEM;
	return 0;
}

/*
 * kube-scheduler's helper.DefaultSelector: the Services selecting the pod
 * (their selectors merged), plus the selector of its controller when that is
 * a ReplicationController (merged as labels), ReplicaSet or StatefulSet
 * (requirements added). *found is false when that comes out empty.
 */
static int default_selector(const struct kp_snapshot *snap, const struct kp_pod_info *pod,
			    struct kp_isel *out, bool *found)
{
	int rc = KP_ENOMEM;
	json_t *sel = json_object(), *labels = json_object(), *exprs = json_array();
	struct kp_label_selector *ls = NULL;
	*found = false;
	if (!sel || !labels || !exprs)
		goto out;

	struct svc_arg sa = { pod, labels, 0 };
	kp_snapshot_each_object(snap, "Service", pod->ns, each_service, &sa);
	if (sa.err)
		goto out;

	const json_t *owners = pod->obj ? kp_obj_get(pod->obj, "metadata.ownerReferences") : NULL;
	const json_t *owner = NULL, *o;
	size_t i;
	json_array_foreach((json_t *)owners, i, o) {
		if (json_is_true(json_object_get(o, "controller"))) {
			owner = o;
			break;
		}
	}
	if (owner) {
		const char *api = kp_obj_str(owner, "apiVersion");
		const char *kind = kp_obj_str(owner, "kind");
		const char *name = kp_obj_str(owner, "name");
		const json_t *ctl = NULL;
		if (api && kind && name && !strcmp(api, "v1") && !strcmp(kind, "ReplicationController")) {
			ctl = kp_snapshot_object(snap, "ReplicationController", pod->ns, name);
			const json_t *m = ctl ? kp_obj_get(ctl, "spec.selector") : NULL;
			if (json_is_object(m) && json_object_update(labels, (json_t *)m) < 0)
				goto out;
		} else if (api && kind && name && !strcmp(api, "apps/v1") &&
			   (!strcmp(kind, "ReplicaSet") || !strcmp(kind, "StatefulSet"))) {
			ctl = kp_snapshot_object(snap, kind, pod->ns, name);
			const json_t *ls_json = ctl ? kp_obj_get(ctl, "spec.selector") : NULL;
			if (json_is_object(ls_json)) {
				/* add its requirements: matchLabels as In [v] so that
				 * a key also in the services' labels ANDs, not overrides */
				const char *k;
				const json_t *v;
				json_object_foreach((json_t *)json_object_get(ls_json, "matchLabels"), k, v) {
					json_t *e = json_pack("{s:s, s:s, s:[O]}", "key", k, "operator",
							      "In", "values", v);
					if (!e || json_array_append_new(exprs, e) < 0)
						goto out;
				}
				const json_t *me = json_object_get(ls_json, "matchExpressions");
				if (json_is_array(me) && json_array_extend(exprs, (json_t *)me) < 0)
					goto out;
			}
		}
	}
	if (json_object_size(labels) == 0 && json_array_size(exprs) == 0) {
		rc = 0;
		goto out;
	}
	if (json_object_set(sel, "matchLabels", labels) < 0 ||
	    json_object_set(sel, "matchExpressions", exprs) < 0)
		goto out;
	/* a malformed owner selector is ignored, as kube-scheduler does */
	if (kp_label_selector_from_json(sel, &ls, NULL) < 0) {
		rc = 0;
		goto out;
	}
	rc = kp_isel_compile(ls, out, NULL);
	if (rc == 0)
		*found = out->n > 0 || out->nothing;
	if (rc == 0 && !*found)
		kp_isel_release(out);
out:
	kp_label_selector_free(ls);
	json_decref(sel);
	json_decref(labels);
	json_decref(exprs);
	return rc;
}

/* The pod's constraints with whenUnsatisfiable == when, or the defaults. */
static int cons_build(const struct self *self, const struct kp_snapshot *snap,
		      const struct kp_pod_info *pod, uint32_t when, struct cons *k)
{
	memset(k, 0, sizeof(*k));
	uint32_t cap = pod->nspread ? pod->nspread : self->ndefaults;
	if (cap == 0)
		return 0;
	k->c = calloc(cap, sizeof(*k->c));
	if (!k->c)
		return KP_ENOMEM;
	if (pod->nspread) {
		for (uint32_t i = 0; i < pod->nspread; i++) {
			const struct kp_spread_constraint *sc = &pod->spread[i];
			if (sc->when != when)
				continue;
			struct con *c = &k->c[k->n++];
			c->max_skew = sc->max_skew;
			c->key = sc->topology_key;
			c->min_domains = sc->min_domains > 0 ? sc->min_domains : 1;
			c->when = sc->when;
			c->aff_policy = sc->node_affinity_policy;
			c->taint_policy = sc->node_taints_policy;
			c->sel = &sc->selector;
			c->hostname = sc->topology_key == self->hostname_key;
		}
		return 0;
	}
	for (uint32_t i = 0; i < self->ndefaults; i++)
		if (self->defaults[i].when == when)
			k->c[k->n++] = self->defaults[i];
	if (k->n == 0)
		return 0;
	bool found;
	int rc = default_selector(snap, pod, &k->defsel, &found);
	if (rc < 0 || !found) {
		k->n = 0;
		return rc;
	}
	k->has_defsel = true;
	for (uint32_t i = 0; i < k->n; i++)
		k->c[i].sel = &k->defsel;
	return 0;
}

/* ---- per-node helpers */

static bool has_all_keys(const struct cons *k, const struct kp_node_info *node)
{
	for (uint32_t i = 0; i < k->n; i++)
		if (kp_labels_get(&node->labels, k->c[i].key) == KP_ID_NONE)
			return false;
	return true;
}

static bool untolerated_taint(const struct kp_pod_info *pod, const struct kp_node_info *node)
{
	for (uint32_t i = 0; i < node->ntaints; i++) {
		const struct kp_taint *t = &node->taints[i];
		if (t->effect != KP_EFFECT_NO_SCHEDULE && t->effect != KP_EFFECT_NO_EXECUTE)
			continue;
		bool tolerated = false;
		for (uint32_t j = 0; j < pod->ntolerations && !tolerated; j++)
			tolerated = kp_toleration_tolerates(&pod->tolerations[j], t);
		if (!tolerated)
			return true;
	}
	return false;
}

/* kube-scheduler's matchNodeInclusionPolicies. */
static bool node_included(const struct con *c, const struct kp_pod_info *pod,
			  const struct kp_node_info *node)
{
	if (c->aff_policy == KP_SPREAD_POLICY_HONOR &&
	    !kp_node_affinity_required_matches(&pod->node_affinity, &node->labels, node->name_id))
		return false;
	if (c->taint_policy == KP_SPREAD_POLICY_HONOR && untolerated_taint(pod, node))
		return false;
	return true;
}

/* kube-scheduler's countPodsMatchSelector: an empty selector counts nothing,
 * terminating pods and other namespaces are skipped. */
static int64_t count_matching(const struct kp_node_info *node, const struct kp_isel *sel,
			      int32_t ns)
{
	if (sel->n == 0)
		return 0;
	int64_t n = 0;
	for (uint32_t i = 0; i < node->npods; i++) {
		const struct kp_pod_info *p = node->pods[i];
		if ((p->flags & KP_POD_TERMINATING) || p->ns_id != ns)
			continue;
		if (kp_isel_matches(sel, &p->labels))
			n++;
	}
	return n;
}

/* ---- cycle state */

static void pf_free(struct pf *pf)
{
	if (!pf)
		return;
	if (pf->dom)
		for (uint32_t i = 0; i < pf->k.n; i++)
			tp_release(&pf->dom[i]);
	free(pf->dom);
	free(pf->min);
	free(pf->self_match);
	cons_release(&pf->k);
	free(pf);
}

static void ps_free(struct ps *ps)
{
	if (!ps)
		return;
	if (ps->dom)
		for (uint32_t i = 0; i < ps->k.n; i++)
			tp_release(&ps->dom[i]);
	free(ps->dom);
	free(ps->weight);
	free(ps->ignored);
	cons_release(&ps->k);
	free(ps);
}

static void state_release(void *arg)
{
	struct state *s = arg;
	pf_free(s->pf);
	ps_free(s->ps);
	free(s);
}

static struct state *state_get(const struct self *self, struct kp_cycle *cy)
{
	struct state *s = kp_cycle_get(cy, self->slot);
	if (s)
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

static void recompute_min(struct pf *pf, uint32_t i)
{
	const struct tpcount *m = &pf->dom[i];
	int64_t lo = INT64_MAX;
	for (uint32_t j = 0; j < m->cap; j++)
		if (m->keys[j] != TP_EMPTY && m->vals[j] < lo)
			lo = m->vals[j];
	pf->min[i] = lo;
}

/* ---- filter */

/* What one node contributes to PreFilter's counts (nodecache.h). */
static int contribute(struct nodecache *nc, struct nc_node *slot, const struct kp_node_info *node,
		      void *arg)
{
	const struct pf *pf = arg;
	if (!has_all_keys(&pf->k, node))
		return 0;
	for (uint32_t i = 0; i < pf->k.n; i++) {
		const struct con *c = &pf->k.c[i];
		if (!node_included(c, pf->pod, node))
			continue;
		uint64_t v = (uint64_t)(uint32_t)kp_labels_get(&node->labels, c->key);
		if (nc_add(nc, slot, 2 * i, v, count_matching(node, c->sel, pf->pod->ns_id)) < 0 ||
		    nc_add(nc, slot, 2 * i + 1, v, 1) < 0)
			return -1;
	}
	return 0;
}

/*
 * What PreFilter's counts depend on besides the cluster: the namespace,
 * labels (matchLabelKeys), the constraints and, through the inclusion
 * policies, node affinity and tolerations. NULL when the pod has no object
 * (then counts are not kept).
 */
static char *signature(const struct kp_pod_info *pod)
{
	if (!pod->obj)
		return NULL;
	struct nc_sig g = { 0 };
	nc_sig_u32(&g, (uint32_t)pod->ns_id);
	nc_sig_labels(&g, &pod->labels);
	nc_sig_u32(&g, pod->nspread);
	for (uint32_t i = 0; i < pod->nspread; i++) {
		const struct kp_spread_constraint *c = &pod->spread[i];
		nc_sig_u32(&g, (uint32_t)c->max_skew);
		nc_sig_u32(&g, (uint32_t)c->topology_key);
		nc_sig_u32(&g, c->when);
		nc_sig_u32(&g, (uint32_t)c->min_domains);
		nc_sig_u32(&g, c->node_affinity_policy);
		nc_sig_u32(&g, c->node_taints_policy);
		nc_sig_isel(&g, &c->selector);
	}
	const struct kp_node_affinity *na = &pod->node_affinity;
	nc_sig_u32(&g, na->has_node_selector);
	nc_sig_isel(&g, &na->node_selector);
	nc_sig_u32(&g, na->has_required);
	nc_sig_u32(&g, na->nrequired);
	for (uint32_t i = 0; i < na->nrequired; i++) {
		nc_sig_isel(&g, &na->required[i].exprs);
		nc_sig_isel(&g, &na->required[i].fields);
	}
	nc_sig_u32(&g, pod->ntolerations);
	for (uint32_t i = 0; i < pod->ntolerations; i++) {
		const struct kp_toleration *t = &pod->tolerations[i];
		nc_sig_u32(&g, (uint32_t)t->key);
		nc_sig_u32(&g, (uint32_t)t->value);
		nc_sig_u32(&g, t->op);
		nc_sig_u32(&g, t->effect);
	}
	return nc_sig_end(&g);
}

static int pre_filter(void *self_, struct kp_cycle *cy, const struct kp_pod_info *pod,
		      struct kp_node_set *nodes, struct kp_status *st)
{
	struct self *self = self_;
	const struct kp_snapshot *snap = cy->snapshot;
	(void)nodes;

	struct pf *pf = calloc(1, sizeof(*pf));
	if (!pf)
		goto out_nomem;
	pf->pod = pod;
	if (cons_build(self, snap, pod, KP_SPREAD_DO_NOT_SCHEDULE, &pf->k) < 0)
		goto out_free_pf;
	if (pf->k.n == 0) {
		pf_free(pf);
		return KP_STATUS_SKIP;
	}
	uint32_t n = pf->k.n;
	pf->dom = calloc(n, sizeof(*pf->dom));
	pf->min = calloc(n, sizeof(*pf->min));
	pf->self_match = calloc(n, sizeof(*pf->self_match));
	if (!pf->dom || !pf->min || !pf->self_match)
		goto out_free_pf;

	char *sig = pod->nspread ? signature(pod) : NULL;
	if (sig) {
		/* the pod's own constraints: counts kept across attempts */
		struct nodecache *nc = nc_pick(&self->pf_cache, sig);
		int rc = nc_sync(nc, snap, sig, 2 * n, contribute, pf);
		free(sig);
		if (rc < 0)
			goto out_free_pf;
		for (uint32_t i = 0; i < n; i++) {
			const struct tpcount *nodes_in = &nc->maps[2 * i + 1];
			const struct tpcount *counts = &nc->maps[2 * i];
			if (tp_reserve(&pf->dom[i], nodes_in->nonzero) < 0)
				goto out_free_pf;
			for (uint32_t j = 0; j < nodes_in->cap; j++) {
				if (nodes_in->keys[j] == TP_EMPTY || nodes_in->vals[j] <= 0)
					continue;
				int64_t *cnt = tp_ref(&pf->dom[i], nodes_in->keys[j]);
				if (!cnt)
					goto out_free_pf;
				*cnt = tp_get(counts, nodes_in->keys[j]);
			}
		}
	} else {
		for (uint32_t j = 0; j < snap->nnodes; j++) {
			const struct kp_node_info *node = snap->nodes[j];
			if (!has_all_keys(&pf->k, node))
				continue;
			for (uint32_t i = 0; i < n; i++) {
				const struct con *c = &pf->k.c[i];
				if (!node_included(c, pod, node))
					continue;
				int32_t v = kp_labels_get(&node->labels, c->key);
				int64_t *cnt = tp_ref(&pf->dom[i], (uint64_t)(uint32_t)v);
				if (!cnt)
					goto out_free_pf;
				*cnt += count_matching(node, c->sel, pod->ns_id);
			}
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		recompute_min(pf, i);
		pf->self_match[i] = kp_isel_matches(pf->k.c[i].sel, &pod->labels);
		if (i < 4)
			pf->col[i] = lc_column(&self->cols, snap, pf->k.c[i].key);
	}

	struct state *s = state_get(self, cy);
	if (!s)
		goto out_free_pf;
	pf_free(s->pf);
	s->pf = pf;
	return KP_STATUS_SUCCESS;

out_free_pf:
	pf_free(pf);
out_nomem:
	kp_status_add(st, "PodTopologySpread: out of memory");
	return KP_STATUS_ERROR;
}

static int filter(void *self_, struct kp_cycle *cy, const struct kp_pod_info *pod,
		  const struct kp_node_info *node, struct kp_status *st)
{
	const struct self *self = self_;
	const struct state *s = kp_cycle_get(cy, self->slot);
	(void)pod;
	if (!s || !s->pf)
		return KP_STATUS_SUCCESS;
	const struct pf *pf = s->pf;
	for (uint32_t i = 0; i < pf->k.n; i++) {
		const struct con *c = &pf->k.c[i];
		int32_t v = kp_labels_get(&node->labels, c->key);
		if (v == KP_ID_NONE) {
			kp_status_add(st, REASON_LABEL);
			return KP_STATUS_UNRESOLVABLE;
		}
		/* fewer eligible domains than minDomains: the global minimum is 0 */
		int64_t min = pf->dom[i].n < (uint32_t)c->min_domains ? 0 : pf->min[i];
		int64_t skew = tp_get(&pf->dom[i], (uint64_t)(uint32_t)v) + pf->self_match[i] - min;
		if (skew > c->max_skew) {
			kp_status_add(st, REASON_SKEW);
			return KP_STATUS_UNSCHEDULABLE;
		}
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
	const struct pf *pf = s->pf;
	size_t bad = 0;
	for (size_t j = 0; j < n; j++) {
		const struct kp_node_info *node = nodes[j];
		bool ok = true;
		for (uint32_t i = 0; i < pf->k.n && ok; i++) {
			const struct con *c = &pf->k.c[i];
			int32_t v = i < 4 && pf->col[i] ? pf->col[i][idx[j]] : kp_labels_find(&node->labels, c->key);
			if (v == KP_ID_NONE) {
				ok = false;
				break;
			}
			int64_t min = pf->dom[i].n < (uint32_t)c->min_domains ? 0 : pf->min[i];
			int64_t skew = tp_get(&pf->dom[i], (uint64_t)(uint32_t)v) + pf->self_match[i] - min;
			ok = skew <= c->max_skew;
		}
		fit[j] = ok;
		bad += !ok;
	}
	return bad;
}

/* kube-scheduler's updateWithPod (preemption's what-if). Like it, the
 * selector is matched directly: no empty-selector or terminating check. */
static int what_if(void *self_, struct kp_cycle *cy, const struct kp_pod_info *pod,
		   const struct kp_pod_info *other, const struct kp_node_info *node, int64_t delta,
		   struct kp_status *st)
{
	const struct self *self = self_;
	struct state *s = kp_cycle_get(cy, self->slot);
	if (!s || !s->pf)
		return KP_STATUS_SUCCESS;
	struct pf *pf = s->pf;
	if (other->ns_id != pod->ns_id || !has_all_keys(&pf->k, node))
		return KP_STATUS_SUCCESS;
	for (uint32_t i = 0; i < pf->k.n; i++) {
		const struct con *c = &pf->k.c[i];
		if (!kp_isel_matches(c->sel, &other->labels) || !node_included(c, pod, node))
			continue;
		int32_t v = kp_labels_get(&node->labels, c->key);
		int64_t *cnt = tp_ref(&pf->dom[i], (uint64_t)(uint32_t)v);
		if (!cnt) {
			kp_status_add(st, "PodTopologySpread: out of memory");
			return KP_STATUS_ERROR;
		}
		*cnt += delta;
		recompute_min(pf, i);
	}
	return KP_STATUS_SUCCESS;
}

static int pre_filter_add_pod(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
			      const struct kp_pod_info *other, const struct kp_node_info *node,
			      struct kp_status *st)
{
	return what_if(self, cy, pod, other, node, 1, st);
}

static int pre_filter_remove_pod(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
				 const struct kp_pod_info *other, const struct kp_node_info *node,
				 struct kp_status *st)
{
	return what_if(self, cy, pod, other, node, -1, st);
}

/* A what-if copy gets its own counts; the constraints (and the deduced
 * selector they point to) are rebuilt as a copy too. PreScore state is not
 * carried over: copies are only filtered. */
static int cycle_copy(void *self_, const struct kp_cycle *src, struct kp_cycle *dst)
{
	const struct self *self = self_;
	const struct state *s = kp_cycle_get(src, self->slot);
	kp_cycle_set(dst, self->slot, NULL);
	if (!s || !s->pf)
		return 0;
	const struct pf *o = s->pf;
	uint32_t n = o->k.n;
	struct pf *pf = calloc(1, sizeof(*pf));
	if (!pf)
		return KP_ENOMEM;
	pf->pod = o->pod;
	if (cons_build(self, src->snapshot, o->pod, KP_SPREAD_DO_NOT_SCHEDULE, &pf->k) < 0 ||
	    pf->k.n != n)
		goto out_free_pf;
	pf->dom = calloc(n, sizeof(*pf->dom));
	pf->min = malloc(n * sizeof(*pf->min));
	pf->self_match = malloc(n * sizeof(*pf->self_match));
	if (!pf->dom || !pf->min || !pf->self_match)
		goto out_free_pf;
	memcpy(pf->min, o->min, n * sizeof(*pf->min));
	memcpy(pf->self_match, o->self_match, n * sizeof(*pf->self_match));
	for (uint32_t i = 0; i < n; i++)
		if (tp_clone(&pf->dom[i], &o->dom[i]) < 0)
			goto out_free_pf;
	struct state *d = state_get(self, dst);
	if (!d)
		goto out_free_pf;
	d->pf = pf;
	return 0;

out_free_pf:
	pf_free(pf);
	return KP_ENOMEM;
}

/* ---- score */

struct ps_ctx {
	const struct self *self;
	const struct kp_pod_info *pod;
	const struct cons *k;
	bool require_all;
};

/* What one node adds to PreScore's per-domain counts (nodecache.h). */
static int ps_contribute(struct nodecache *nc, struct nc_node *slot,
			 const struct kp_node_info *node, void *arg)
{
	const struct ps_ctx *x = arg;
	if (x->require_all && !has_all_keys(x->k, node))
		return 0;
	for (uint32_t i = 0; i < x->k->n; i++) {
		const struct con *c = &x->k->c[i];
		if (c->hostname || !node_included(c, x->pod, node))
			continue;
		int32_t v = kp_labels_get(&node->labels, c->key);
		if (v == KP_ID_NONE)
			v = x->self->empty_id;
		int64_t cnt = count_matching(node, c->sel, x->pod->ns_id);
		if (cnt && nc_add(nc, slot, i, (uint64_t)(uint32_t)v, cnt) < 0)
			return -1;
	}
	return 0;
}

static int pre_score(void *self_, struct kp_cycle *cy, const struct kp_pod_info *pod,
		     const struct kp_node_info *const *nodes, size_t nfiltered,
		     struct kp_status *st)
{
	struct self *self = self_;
	const struct kp_snapshot *snap = cy->snapshot;
	if (snap->nnodes == 0)
		return KP_STATUS_SKIP;

	struct ps *ps = calloc(1, sizeof(*ps));
	if (!ps)
		goto out_nomem;
	if (cons_build(self, snap, pod, KP_SPREAD_SCHEDULE_ANYWAY, &ps->k) < 0)
		goto out_free_ps;
	if (ps->k.n == 0) {
		ps_free(ps);
		return KP_STATUS_SKIP;
	}
	uint32_t n = ps->k.n;
	/* Only the system defaults tolerate nodes without every key, so that
	 * nodes without a zone label still get hostname spreading. */
	bool require_all = pod->nspread > 0 || !self->system_defaulted;
	ps->nnodes = snap->nnodes;
	ps->dom = calloc(n, sizeof(*ps->dom));
	ps->weight = calloc(n, sizeof(*ps->weight));
	ps->ignored = calloc(snap->nnodes, 1);
	if (!ps->dom || !ps->weight || !ps->ignored)
		goto out_free_ps;

	size_t nignored = 0;
	for (size_t j = 0; j < nfiltered; j++) {
		const struct kp_node_info *node = nodes[j];
		if (require_all && !has_all_keys(&ps->k, node)) {
			if ((uint32_t)node->index < ps->nnodes)
				ps->ignored[node->index] = 1;
			nignored++;
			continue;
		}
		for (uint32_t i = 0; i < n; i++) {
			const struct con *c = &ps->k.c[i];
			if (c->hostname)
				continue; /* counted per node in Score */
			int32_t v = kp_labels_get(&node->labels, c->key);
			if (v == KP_ID_NONE)
				v = self->empty_id;
			if (!tp_ref(&ps->dom[i], (uint64_t)(uint32_t)v))
				goto out_free_ps;
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		size_t size = ps->k.c[i].hostname ? nfiltered - nignored : ps->dom[i].n;
		ps->weight[i] = log((double)size + 2);
	}

	/* the pod's own constraints: per-domain counts kept across attempts */
	char *sig = pod->nspread ? signature(pod) : NULL;
	if (sig) {
		struct ps_ctx x = { self, pod, &ps->k, require_all };
		struct nodecache *nc = nc_pick(&self->ps_cache, sig);
		int rc = nc_sync(nc, snap, sig, n, ps_contribute, &x);
		free(sig);
		if (rc < 0)
			goto out_free_ps;
		for (uint32_t i = 0; i < n; i++) {
			struct tpcount *d = &ps->dom[i];
			for (uint32_t j = 0; j < d->cap; j++)
				if (d->keys[j] != TP_EMPTY)
					d->vals[j] = tp_get(&nc->maps[i], d->keys[j]);
		}
		goto counted;
	}
	for (uint32_t j = 0; j < snap->nnodes; j++) {
		const struct kp_node_info *node = snap->nodes[j];
		if (require_all && !has_all_keys(&ps->k, node))
			continue;
		for (uint32_t i = 0; i < n; i++) {
			const struct con *c = &ps->k.c[i];
			if (c->hostname || ps->dom[i].n == 0 || !node_included(c, pod, node))
				continue;
			int32_t v = kp_labels_get(&node->labels, c->key);
			if (v == KP_ID_NONE)
				v = self->empty_id;
			uint64_t key = (uint64_t)(uint32_t)v;
			if (!tp_find(&ps->dom[i], key))
				continue; /* no candidate node in that domain */
			*tp_ref(&ps->dom[i], key) += count_matching(node, c->sel, pod->ns_id);
		}
	}

counted:;
	struct state *s = state_get(self, cy);
	if (!s)
		goto out_free_ps;
	ps_free(s->ps);
	s->ps = ps;
	return KP_STATUS_SUCCESS;

out_free_ps:
	ps_free(ps);
out_nomem:
	kp_status_add(st, "PodTopologySpread: out of memory");
	return KP_STATUS_ERROR;
}

static bool is_ignored(const struct ps *ps, const struct kp_node_info *node)
{
	return (uint32_t)node->index < ps->nnodes && ps->ignored[node->index];
}

static int score(void *self_, struct kp_cycle *cy, const struct kp_pod_info *pod,
		 const struct kp_node_info *node, int64_t *out, struct kp_status *st)
{
	const struct self *self = self_;
	const struct state *s = kp_cycle_get(cy, self->slot);
	(void)st;
	*out = 0;
	if (!s || !s->ps || is_ignored(s->ps, node))
		return KP_STATUS_SUCCESS;
	const struct ps *ps = s->ps;
	double sum = 0;
	for (uint32_t i = 0; i < ps->k.n; i++) {
		const struct con *c = &ps->k.c[i];
		int32_t v = kp_labels_get(&node->labels, c->key);
		if (v == KP_ID_NONE)
			continue;
		int64_t cnt = c->hostname ? count_matching(node, c->sel, pod->ns_id)
					  : tp_get(&ps->dom[i], (uint64_t)(uint32_t)v);
		sum += (double)cnt * ps->weight[i] + (double)(c->max_skew - 1);
	}
	*out = (int64_t)round(sum);
	return KP_STATUS_SUCCESS;
}

/* score() for a run of nodes; the same doubles in the same order. */
static int score_batch(void *self_, struct kp_cycle *cy, const struct kp_pod_info *pod,
		       const struct kp_node_info *const *nodes, const uint32_t *idx,
		       size_t n, int64_t *scores)
{
	const struct self *self = self_;
	const struct state *s = kp_cycle_get(cy, self->slot);
	if (!s || !s->ps) {
		memset(scores, 0, n * sizeof(*scores));
		return KP_STATUS_SUCCESS;
	}
	const struct ps *ps = s->ps;
	for (size_t j = 0; j < n; j++) {
		const struct kp_node_info *node = nodes[j];
		scores[j] = 0;
		if (is_ignored(ps, node))
			continue;
		double sum = 0;
		for (uint32_t i = 0; i < ps->k.n; i++) {
			const struct con *c = &ps->k.c[i];
			int32_t v = kp_labels_find(&node->labels, c->key);
			if (v == KP_ID_NONE)
				continue;
			int64_t cnt = c->hostname ? count_matching(node, c->sel, pod->ns_id)
						  : tp_get(&ps->dom[i], (uint64_t)(uint32_t)v);
			sum += (double)cnt * ps->weight[i] + (double)(c->max_skew - 1);
		}
		scores[j] = (int64_t)round(sum);
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
	(void)st;
	if (!s || !s->ps)
		return KP_STATUS_SUCCESS;
	int64_t lo = INT64_MAX, hi = 0;
	for (size_t i = 0; i < n; i++) {
		if (is_ignored(s->ps, nodes[i]))
			continue;
		if (scores[i] < lo)
			lo = scores[i];
		if (scores[i] > hi)
			hi = scores[i];
	}
	for (size_t i = 0; i < n; i++) {
		if (is_ignored(s->ps, nodes[i]))
			scores[i] = 0;
		else if (hi == 0)
			scores[i] = KP_MAX_NODE_SCORE;
		else
			scores[i] = KP_MAX_NODE_SCORE * (hi + lo - scores[i]) / hi;
	}
	return KP_STATUS_SUCCESS;
}

/* ---- lifecycle and args */

#define ARGS "pluginConfig[PodTopologySpread].args"

static int parse_policy(const json_t *c, const char *field, size_t idx, uint32_t def,
			uint32_t *out, char **errmsg)
{
	const json_t *v = json_object_get(c, field);
	*out = def;
	if (!v || json_is_null(v))
		return 0;
	const char *s = json_string_value(v);
	if (s && !strcmp(s, "Honor"))
		*out = KP_SPREAD_POLICY_HONOR;
	else if (s && !strcmp(s, "Ignore"))
		*out = KP_SPREAD_POLICY_IGNORE;
	else
		return kp_error_set(errmsg, KP_EINVAL,
				    ARGS ".defaultConstraints[%zu].%s: Unsupported value: "
				    "supported values: \"Honor\", \"Ignore\"", idx, field);
	return 0;
}

/* kube-scheduler's validation of defaultConstraints, then the compiled list. */
static int parse_defaults(struct self *s, const json_t *list, char **errmsg)
{
	size_t i;
	const json_t *c;
	if (!list || json_is_null(list))
		return 0;
	if (!json_is_array(list))
		return kp_error_set(errmsg, KP_EINVAL, ARGS ".defaultConstraints: must be a list");
	if (json_array_size(list) > MAX_DEFAULTS)
		return kp_error_set(errmsg, KP_EINVAL,
				    ARGS ".defaultConstraints: Too many: %zu: must have at most %d items",
				    json_array_size(list), MAX_DEFAULTS);
	json_array_foreach((json_t *)list, i, c) {
		struct con *d = &s->defaults[s->ndefaults];
		if (!json_is_object(c))
			return kp_error_set(errmsg, KP_EINVAL,
					    ARGS ".defaultConstraints[%zu]: must be an object", i);
		const json_t *ms = json_object_get(c, "maxSkew");
		if (!json_is_integer(ms) || json_integer_value(ms) <= 0 ||
		    json_integer_value(ms) > INT32_MAX)
			return kp_error_set(errmsg, KP_EINVAL,
					    ARGS ".defaultConstraints[%zu].maxSkew: Invalid value: "
					    "must be greater than zero", i);
		const char *key = json_string_value(json_object_get(c, "topologyKey"));
		if (!key || !*key)
			return kp_error_set(errmsg, KP_EINVAL,
					    ARGS ".defaultConstraints[%zu].topologyKey: Required value: "
					    "can not be empty", i);
		const char *when = json_string_value(json_object_get(c, "whenUnsatisfiable"));
		if (when && !strcmp(when, "DoNotSchedule"))
			d->when = KP_SPREAD_DO_NOT_SCHEDULE;
		else if (when && !strcmp(when, "ScheduleAnyway"))
			d->when = KP_SPREAD_SCHEDULE_ANYWAY;
		else
			return kp_error_set(errmsg, KP_EINVAL,
					    ARGS ".defaultConstraints[%zu].whenUnsatisfiable: "
					    "Unsupported value: supported values: \"DoNotSchedule\", "
					    "\"ScheduleAnyway\"", i);
		const json_t *sel = json_object_get(c, "labelSelector");
		if (sel && !json_is_null(sel))
			return kp_error_set(errmsg, KP_EINVAL,
					    ARGS ".defaultConstraints[%zu].labelSelector: Forbidden: "
					    "constraint must not define a selector, as they deduced "
					    "for each pod", i);
		const json_t *md = json_object_get(c, "minDomains");
		d->min_domains = 1;
		if (md && !json_is_null(md)) {
			if (!json_is_integer(md) || json_integer_value(md) <= 0 ||
			    json_integer_value(md) > INT32_MAX)
				return kp_error_set(errmsg, KP_EINVAL,
						    ARGS ".defaultConstraints[%zu].minDomains: Invalid "
						    "value: must be greater than 0", i);
			d->min_domains = (int32_t)json_integer_value(md);
		}
		if (parse_policy(c, "nodeAffinityPolicy", i, KP_SPREAD_POLICY_HONOR,
				 &d->aff_policy, errmsg) < 0 ||
		    parse_policy(c, "nodeTaintsPolicy", i, KP_SPREAD_POLICY_IGNORE,
				 &d->taint_policy, errmsg) < 0)
			return KP_EINVAL;
		d->max_skew = (int32_t)json_integer_value(ms);
		d->key = kp_intern(key);
		if (d->key == KP_ID_NONE)
			return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
		d->hostname = d->key == s->hostname_key;
		for (uint32_t j = 0; j < s->ndefaults; j++)
			if (s->defaults[j].key == d->key && s->defaults[j].when == d->when)
				return kp_error_set(errmsg, KP_EINVAL,
						    ARGS ".defaultConstraints[%zu]: Duplicate value: "
						    "{%s, %s}", i, key, when);
		s->ndefaults++;
	}
	return 0;
}

static int init(const struct kp_sched_init *in, void **out, char **errmsg)
{
	struct self *s = calloc(1, sizeof(*s));
	if (!s)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	s->slot = in->slot;
	s->hostname_key = kp_intern("kubernetes.io/hostname");
	s->empty_id = kp_intern("");
	int32_t zone = kp_intern("topology.kubernetes.io/zone");
	if (s->hostname_key == KP_ID_NONE || s->empty_id == KP_ID_NONE || zone == KP_ID_NONE) {
		free(s);
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	}
	const struct args *a = in->args;
	const char *type = a && a->defaulting_type ? a->defaulting_type : "System";
	const json_t *list = a ? a->default_constraints : NULL;
	int rc;
	if (!strcmp(type, "System")) {
		if (json_is_array(list) && json_array_size(list) > 0) {
			rc = kp_error_set(errmsg, KP_EINVAL,
					  ARGS ".defaultConstraints: Invalid value: when "
					  ".defaultingType is \"System\", .defaultConstraints must be empty");
			goto out_free_s;
		}
		s->system_defaulted = true;
		/* kube-scheduler's systemDefaultConstraints */
		s->defaults[0] = (struct con){ .max_skew = 3, .key = s->hostname_key,
					       .min_domains = 1,
					       .when = KP_SPREAD_SCHEDULE_ANYWAY,
					       .aff_policy = KP_SPREAD_POLICY_HONOR,
					       .taint_policy = KP_SPREAD_POLICY_IGNORE,
					       .hostname = true };
		s->defaults[1] = (struct con){ .max_skew = 5, .key = zone, .min_domains = 1,
					       .when = KP_SPREAD_SCHEDULE_ANYWAY,
					       .aff_policy = KP_SPREAD_POLICY_HONOR,
					       .taint_policy = KP_SPREAD_POLICY_IGNORE };
		s->ndefaults = 2;
	} else if (!strcmp(type, "List")) {
		rc = parse_defaults(s, list, errmsg);
		if (rc < 0)
			goto out_free_s;
	} else {
		rc = kp_error_set(errmsg, KP_EINVAL,
				  ARGS ".defaultingType: Unsupported value: \"%s\": supported values: "
				  "\"List\", \"System\"", type);
		goto out_free_s;
	}
	*out = s;
	return 0;

out_free_s:
	free(s);
	return rc;
}

static void fini(void *self_)
{
	struct self *self = self_;
	nc_set_release(&self->pf_cache);
	nc_set_release(&self->ps_cache);
	lc_release(&self->cols);
	free(self);
}

static size_t events(void *self, struct kp_cluster_event *out, size_t cap)
{
	static const struct kp_cluster_event ev[] = {
		{ KP_EV_POD, KP_EV_ADD | KP_EV_DELETE | KP_EV_UPDATE_POD_LABEL },
		{ KP_EV_NODE, KP_EV_ADD | KP_EV_DELETE | KP_EV_UPDATE_NODE_LABEL |
				      KP_EV_UPDATE_NODE_TAINT },
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

KP_PLUGIN_DEFINE(PodTopologySpread) = {
	KP_PLUGIN_HEADER(KP_PLUGIN_SCHED),
	.name = "PodTopologySpread",
	.version = "1.0",
	.description = "filter+score: spread pods evenly over topology domains",
	.sched = &ops,
	.args = arg_spec,
	.args_size = sizeof(struct args),
};

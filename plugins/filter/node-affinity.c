/*
 * node-affinity.c - NodeAffinity (kube-scheduler's plugins/nodeaffinity).
 *
 * PreFilter: skipped for pods without nodeSelector/required affinity (and
 * no addedAffinity); restricts to the node names of matchFields
 * metadata.name In terms when every term has one. Filter: nodeSelector AND
 * required terms (ORed), then the scheduler-enforced addedAffinity.
 * Score: sum of the weights of matching preferred terms (pod's and
 * addedAffinity's), normalised to 0..100 by the maximum.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <kplane/plugin.h>

#include "plugins/filter/labelcol.h"

struct args {
	const json_t *added_affinity;
};

struct self {
	bool has_added_required;
	uint32_t nreq;
	struct kp_node_term req[32];
	uint32_t npref;
	int32_t pref_weight[32];
	struct kp_node_term pref[32];
	int32_t metadata_name;
	int slot;
	struct labelcols cols; /* the label columns simple required terms read (labelcol.h) */
};

/* Cycle state of a pod with a simple required term: its keys' columns. */
struct state {
	const int32_t *col[LC_MAX]; /* per expression (the first LC_MAX); NULL: look up */
};

static const struct kp_arg_spec arg_spec[] = {
	{ "addedAffinity", KP_ARG_JSON, offsetof(struct args, added_affinity), NULL, 0, 0 },
	{ NULL, 0, 0, NULL, 0, 0 },
};

static void fini(void *self)
{
	struct self *s = self;
	if (!s)
		return;
	for (uint32_t i = 0; i < s->nreq; i++) {
		kp_isel_release(&s->req[i].exprs);
		kp_isel_release(&s->req[i].fields);
	}
	for (uint32_t i = 0; i < s->npref; i++) {
		kp_isel_release(&s->pref[i].exprs);
		kp_isel_release(&s->pref[i].fields);
	}
	lc_release(&s->cols);
	free(s);
}

static int compile_term(const struct kp_node_selector_term *t, struct kp_node_term *out,
			char **errmsg)
{
	int rc = kp_isel_compile(&t->exprs, &out->exprs, errmsg);
	if (rc < 0)
		return rc;
	return kp_isel_compile(&t->fields, &out->fields, errmsg);
}

static int init(const struct kp_sched_init *in, void **out, char **errmsg)
{
	const struct args *a = in->args;
	struct self *s = calloc(1, sizeof(*s));
	if (!s)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	s->metadata_name = kp_intern("metadata.name");
	s->slot = in->slot;
	int rc = 0;
	char *e = NULL;
	const json_t *aa = a ? a->added_affinity : NULL;
	if (aa && !json_is_null(aa)) {
		if (!json_is_object(aa)) {
			rc = kp_error_set(errmsg, KP_EINVAL, "addedAffinity: must be an object");
			goto fail;
		}
		json_t *req = json_object_get(aa, "requiredDuringSchedulingIgnoredDuringExecution");
		if (req && !json_is_null(req)) {
			struct kp_node_selector *ns = NULL;
			if ((rc = kp_node_selector_from_json(req, &ns, &e)) < 0) {
				kp_error_set(errmsg, rc,
					     "addedAffinity.requiredDuringSchedulingIgnoredDuringExecution: %s",
					     e ? e : "invalid");
				free(e);
				goto fail;
			}
			s->has_added_required = true;
			for (size_t i = 0; i < ns->n && i < 32 && rc == 0; i++) {
				rc = compile_term(&ns->terms[i], &s->req[i], errmsg);
				s->nreq++;
			}
			kp_node_selector_free(ns);
			if (rc < 0)
				goto fail;
		}
		json_t *pref = json_object_get(aa, "preferredDuringSchedulingIgnoredDuringExecution");
		size_t i;
		json_t *p;
		json_array_foreach(pref, i, p) {
			json_t *w = json_object_get(p, "weight");
			if (!json_is_integer(w) || json_integer_value(w) < 1 || json_integer_value(w) > 100) {
				rc = kp_error_set(errmsg, KP_EINVAL,
						  "addedAffinity.preferredDuringSchedulingIgnoredDuringExecution[%zu].weight: Invalid value: must be in the range 1-100",
						  i);
				goto fail;
			}
			if (s->npref == 32)
				break;
			struct kp_node_selector_term t;
			if ((rc = kp_node_selector_term_from_json(json_object_get(p, "preference"), &t, &e)) < 0) {
				kp_error_set(errmsg, rc,
					     "addedAffinity.preferredDuringSchedulingIgnoredDuringExecution[%zu].preference: %s",
					     i, e ? e : "invalid");
				free(e);
				goto fail;
			}
			rc = compile_term(&t, &s->pref[s->npref], errmsg);
			kp_node_selector_term_release(&t);
			s->pref_weight[s->npref++] = (int32_t)json_integer_value(w);
			if (rc < 0)
				goto fail;
		}
	}
	*out = s;
	return 0;
fail:
	fini(s);
	return rc;
}

static size_t events(void *self, struct kp_cluster_event *out, size_t cap)
{
	if (cap < 1)
		return 0;
	out[0] = (struct kp_cluster_event){ KP_EV_NODE, KP_EV_ADD | KP_EV_UPDATE_NODE_LABEL };
	return 1;
}

static bool simple_required(const struct self *s, const struct kp_node_affinity *na);

static void state_free(void *p)
{
	free(p);
}

static int pre_filter(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		      struct kp_node_set *nodes, struct kp_status *st)
{
	struct self *s = self;
	const struct kp_node_affinity *na = &pod->node_affinity;
	if (!na->has_required && !na->has_node_selector && !s->has_added_required)
		return KP_STATUS_SKIP;
	if (simple_required(s, na)) {
		/* Filter reads the keys' label columns (without: the labels) */
		struct state *cs = calloc(1, sizeof(*cs));
		if (cs && kp_cycle_on_release(cy, state_free, cs) == 0) {
			const struct kp_isel *e = &na->required[0].exprs;
			for (uint32_t r = 0; r < e->n && r < LC_MAX; r++)
				cs->col[r] = lc_column(&s->cols, cy->snapshot, e->reqs[r].key);
			kp_cycle_set(cy, s->slot, cs);
		} else {
			free(cs);
		}
	}
	if (!na->has_required || na->nrequired == 0)
		return KP_STATUS_SUCCESS;
	/* node names from matchFields metadata.name In: only when every term names nodes */
	int32_t names[256];
	size_t nn = 0;
	for (uint32_t t = 0; t < na->nrequired; t++) {
		const struct kp_isel *f = &na->required[t].fields;
		const struct kp_isel_req *in = NULL;
		for (uint32_t r = 0; r < f->n; r++)
			if (f->reqs[r].key == s->metadata_name && f->reqs[r].op == KP_SEL_IN) {
				if (in) /* several In requirements intersect: leave it to Filter */
					return KP_STATUS_SUCCESS;
				in = &f->reqs[r];
			}
		if (!in)
			return KP_STATUS_SUCCESS; /* this term allows any node name */
		for (uint32_t v = 0; v < in->nvalues; v++) {
			bool dup = false;
			for (size_t k = 0; k < nn && !dup; k++)
				dup = names[k] == in->values[v];
			if (!dup) {
				if (nn == 256)
					return KP_STATUS_SUCCESS;
				names[nn++] = in->values[v];
			}
		}
	}
	if (nn == 0) {
		kp_status_add(st, "pod affinity terms conflict");
		return KP_STATUS_UNRESOLVABLE;
	}
	kp_node_set_restrict(nodes, names, nn);
	return KP_STATUS_SUCCESS;
}

static int filter(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		  const struct kp_node_info *node, struct kp_status *st)
{
	const struct self *s = self;
	if (s->has_added_required) {
		bool ok = false;
		for (uint32_t i = 0; i < s->nreq && !ok; i++)
			ok = kp_node_term_matches(&s->req[i], &node->labels, node->name_id);
		if (!ok) {
			kp_status_add(st, "node(s) didn't match scheduler-enforced node affinity");
			return KP_STATUS_UNRESOLVABLE;
		}
	}
	if (!kp_node_affinity_required_matches(&pod->node_affinity, &node->labels, node->name_id)) {
		kp_status_add(st, "node(s) didn't match Pod's node affinity/selector");
		return KP_STATUS_UNRESOLVABLE;
	}
	return KP_STATUS_SUCCESS;
}

static int pre_score(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		     const struct kp_node_info *const *nodes, size_t n, struct kp_status *st)
{
	const struct self *s = self;
	return pod->node_affinity.npreferred || s->npref ? KP_STATUS_SUCCESS : KP_STATUS_SKIP;
}

static int score(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		 const struct kp_node_info *node, int64_t *out, struct kp_status *st)
{
	const struct self *s = self;
	int64_t sum = 0;
	const struct kp_node_affinity *na = &pod->node_affinity;
	for (uint32_t i = 0; i < na->npreferred; i++)
		if (kp_node_term_matches(&na->preferred[i].term, &node->labels, node->name_id))
			sum += na->preferred[i].weight;
	for (uint32_t i = 0; i < s->npref; i++)
		if (kp_node_term_matches(&s->pref[i], &node->labels, node->name_id))
			sum += s->pref_weight[i];
	*out = sum;
	return KP_STATUS_SUCCESS;
}

/*
 * The usual required affinity: one term of In/Equals expressions (zone,
 * instance type), no nodeSelector, no matchFields. Those are matched here
 * with the label lookup and value check inline: through the general
 * functions each node cost three calls.
 */
static bool simple_required(const struct self *s, const struct kp_node_affinity *na)
{
	if (s->has_added_required || na->has_node_selector || !na->has_required ||
	    na->nrequired != 1 || na->required[0].fields.n || na->required[0].exprs.nothing ||
	    !na->required[0].exprs.n /* an empty term matches nothing: the general path */)
		return false;
	const struct kp_isel *e = &na->required[0].exprs;
	for (uint32_t r = 0; r < e->n; r++)
		if (e->reqs[r].op != KP_SEL_IN && e->reqs[r].op != KP_SEL_EQUALS)
			return false;
	return true;
}

static size_t filter_batch(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
			   const struct kp_node_info *const *nodes, const uint32_t *idx,
			   size_t n, uint8_t *fit)
{
	const struct self *s = self;
	const struct kp_node_affinity *na = &pod->node_affinity;
	size_t bad = 0;
	if (simple_required(s, na)) {
		const struct kp_isel *e = &na->required[0].exprs;
		const struct state *cs = kp_cycle_get(cy, s->slot);
		for (size_t i = 0; i < n; i++) {
			bool ok = true;
			for (uint32_t r = 0; r < e->n && ok; r++) {
				const struct kp_isel_req *q = &e->reqs[r];
				int32_t v = cs && r < LC_MAX && cs->col[r] ?
						    cs->col[r][idx[i]] :
						    kp_labels_find(&nodes[i]->labels, q->key);
				ok = false;
				for (uint32_t j = 0; v != KP_ID_NONE && j < q->nvalues; j++)
					if (q->values[j] == v) {
						ok = true;
						break;
					}
			}
			fit[i] = ok;
			bad += !ok;
		}
		return bad;
	}
	for (size_t i = 0; i < n; i++) {
		const struct kp_node_info *node = nodes[i];
		bool ok = true;
		if (s->has_added_required) {
			ok = false;
			for (uint32_t k = 0; k < s->nreq && !ok; k++)
				ok = kp_node_term_matches(&s->req[k], &node->labels, node->name_id);
		}
		ok = ok && kp_node_affinity_required_matches(na, &node->labels, node->name_id);
		fit[i] = ok;
		bad += !ok;
	}
	return bad;
}

static int score_batch(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		       const struct kp_node_info *const *nodes, const uint32_t *idx,
		       size_t n, int64_t *scores)
{
	for (size_t i = 0; i < n; i++)
		score(self, cy, pod, nodes[i], &scores[i], NULL);
	return KP_STATUS_SUCCESS;
}

/* kube's DefaultNormalizeScore(MaxNodeScore, reverse=false) */
static int normalize(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		     const struct kp_node_info *const *nodes, int64_t *scores, size_t n,
		     struct kp_status *st)
{
	int64_t max = 0;
	for (size_t i = 0; i < n; i++)
		if (scores[i] > max)
			max = scores[i];
	if (max == 0)
		return KP_STATUS_SUCCESS;
	for (size_t i = 0; i < n; i++)
		scores[i] = KP_MAX_NODE_SCORE * scores[i] / max;
	return KP_STATUS_SUCCESS;
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
	.normalize_score = normalize,
	.filter_batch = filter_batch,
	.score_batch = score_batch,
};

KP_PLUGIN_DEFINE(NodeAffinity) = {
	KP_PLUGIN_HEADER(KP_PLUGIN_SCHED),
	.name = "NodeAffinity",
	.version = "1.0",
	.description = "filter: nodeSelector and required node affinity; score: preferred terms",
	.sched = &ops,
	.args = arg_spec,
	.args_size = sizeof(struct args),
};

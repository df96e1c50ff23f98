/*
 * podinfo.c - Pod and Node JSON compiled once into the compact structs of
 * <kplane/sched.h>, and the incremental per-node sums (requested resources,
 * pod lists, host ports) kept as pods come and go.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/error.h>
#include <kplane/object.h>
#include <kplane/quantity.h>
#include <kplane/selector.h>

#include "core/sched/internal.h"

/* ------------------------------------------------------------------ */
/* labels                                                             */

static int cmp_label(const void *a, const void *b)
{
	const struct kp_label *x = a, *y = b;
	return (x->key > y->key) - (x->key < y->key);
}

int kp__labels_compile(const json_t *labels, struct kp__arena *a, struct kp_labels *out)
{
	out->n = 0;
	out->v = NULL;
	if (!labels || !json_is_object(labels) || json_object_size(labels) == 0)
		return 0;
	size_t n = json_object_size(labels);
	struct kp_label *v = kp__arena_alloc(a, n * sizeof(*v));
	if (!v)
		return KP_ENOMEM;
	const char *k;
	json_t *val;
	size_t i = 0;
	json_object_foreach((json_t *)labels, k, val) {
		if (!json_is_string(val))
			continue;
		v[i].key = kp_intern(k);
		v[i].value = kp_intern(json_string_value(val));
		i++;
	}
	qsort(v, i, sizeof(*v), cmp_label);
	out->n = (uint32_t)i;
	out->v = v;
	return 0;
}

/* ------------------------------------------------------------------ */
/* resources                                                          */

#define MAX_SCALARS 32

struct rl {
	int64_t cpu, mem, eph;
	uint32_t n;
	struct kp_scalar s[MAX_SCALARS];
};

static bool is_scalar_name(const char *name)
{
	if (!strncmp(name, "hugepages-", 10) || !strncmp(name, "attachable-volumes-", 19))
		return true;
	if (strstr(name, "kubernetes.io/"))
		return true;           /* prefixed native resource */
	if (!strchr(name, '/'))
		return false;          /* unprefixed native ("storage") is not a scalar */
	return strncmp(name, "requests.", 9) != 0; /* extended resource */
}

static int64_t sat_add(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	if (b < 0 && a < INT64_MIN - b)
		return INT64_MIN;
	return a + b;
}

static int quantity_of(const json_t *v, bool milli, int64_t *out, const char *field, char **errmsg)
{
	struct kp_quantity q;
	char buf[64];
	const char *s;
	if (json_is_string(v)) {
		s = json_string_value(v);
	} else if (json_is_integer(v)) {
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
		s = buf;
	} else if (json_is_real(v)) {
		snprintf(buf, sizeof(buf), "%.9f", json_real_value(v));
		s = buf;
	} else {
		return kp_error_set(errmsg, KP_EINVAL, "%s: Invalid value: must be a quantity", field);
	}
	char *qerr = NULL;
	int rc = kp_quantity_parse(s, &q, &qerr);
	if (rc < 0) {
		kp_error_set(errmsg, KP_EINVAL, "%s: Invalid value: \"%s\": %s", field, s,
			     qerr ? qerr : "not a quantity");
		free(qerr);
		return KP_EINVAL;
	}
	*out = milli ? kp_quantity_milli_sat(&q) : kp_quantity_value_sat(&q);
	return 0;
}

static void rl_set_scalar(struct rl *r, int32_t name, int64_t v, bool add, bool max)
{
	for (uint32_t i = 0; i < r->n; i++) {
		if (r->s[i].name == name) {
			if (add)
				r->s[i].value = sat_add(r->s[i].value, v);
			else if (max && v > r->s[i].value)
				r->s[i].value = v;
			return;
		}
	}
	if (r->n < MAX_SCALARS)
		r->s[r->n++] = (struct kp_scalar){ name, v };
}

static void rl_add(struct rl *a, const struct rl *b)
{
	a->cpu = sat_add(a->cpu, b->cpu);
	a->mem = sat_add(a->mem, b->mem);
	a->eph = sat_add(a->eph, b->eph);
	for (uint32_t i = 0; i < b->n; i++)
		rl_set_scalar(a, b->s[i].name, b->s[i].value, true, false);
}

static void rl_max(struct rl *a, const struct rl *b)
{
	if (b->cpu > a->cpu) a->cpu = b->cpu;
	if (b->mem > a->mem) a->mem = b->mem;
	if (b->eph > a->eph) a->eph = b->eph;
	for (uint32_t i = 0; i < b->n; i++)
		rl_set_scalar(a, b->s[i].name, b->s[i].value, false, true);
}

/*
 * Parses a ResourceList. With nonzero, absent cpu/memory become 100m/200Mi
 * (kube-scheduler's defaults for scoring); explicit zero stays zero.
 */
static int rl_parse(const json_t *list, struct rl *r, bool nonzero, const char *field,
		    char **errmsg)
{
	memset(r, 0, sizeof(*r));
	bool has_cpu = false, has_mem = false;
	if (list && json_is_object(list)) {
		const char *k;
		json_t *v;
		char f[256];
		json_object_foreach((json_t *)list, k, v) {
			int64_t x;
			snprintf(f, sizeof(f), "%s.%s", field, k);
			if (!strcmp(k, "cpu")) {
				if (quantity_of(v, true, &x, f, errmsg) < 0)
					return KP_EINVAL;
				r->cpu = x;
				has_cpu = true;
			} else if (!strcmp(k, "memory")) {
				if (quantity_of(v, false, &x, f, errmsg) < 0)
					return KP_EINVAL;
				r->mem = x;
				has_mem = true;
			} else if (!strcmp(k, "ephemeral-storage")) {
				if (quantity_of(v, false, &x, f, errmsg) < 0)
					return KP_EINVAL;
				r->eph = x;
			} else if (is_scalar_name(k)) {
				if (quantity_of(v, false, &x, f, errmsg) < 0)
					return KP_EINVAL;
				rl_set_scalar(r, kp_intern(k), x, false, false);
			}
		}
	}
	if (nonzero) {
		if (!has_cpu)
			r->cpu = 100;
		if (!has_mem)
			r->mem = 200LL * 1024 * 1024;
	}
	return 0;
}

/* A container's requests, defaulted from limits where a request is missing
 * (what the API server's defaulting does). */
static int container_requests(const json_t *c, struct rl *r, bool nonzero, const char *field,
			      char **errmsg)
{
	json_t *res = json_object_get(c, "resources");
	json_t *req = res ? json_object_get(res, "requests") : NULL;
	json_t *lim = res ? json_object_get(res, "limits") : NULL;
	char f[200];
	json_t *merged = NULL;
	if (lim && json_is_object(lim) && json_object_size(lim)) {
		merged = json_object();
		if (!merged)
			return KP_ENOMEM;
		json_object_update(merged, lim);
		if (req && json_is_object(req))
			json_object_update(merged, req);
		req = merged;
	}
	snprintf(f, sizeof(f), "%s.resources.requests", field);
	int rc = rl_parse(req, r, nonzero, f, errmsg);
	json_decref(merged);
	return rc;
}

static bool is_sidecar(const json_t *c)
{
	const char *rp = json_string_value(json_object_get(c, "restartPolicy"));
	return rp && !strcmp(rp, "Always");
}

/* Kubernetes' PodRequests: containers and sidecars summed, each regular
 * init container with the sidecars started before it, max of both, plus
 * overhead. */
static int pod_requests(const json_t *spec, struct rl *out, bool nonzero, char **errmsg)
{
	struct rl sum, c, sidecars, init_max, tmp;
	memset(&sum, 0, sizeof(sum));
	memset(&sidecars, 0, sizeof(sidecars));
	memset(&init_max, 0, sizeof(init_max));
	json_t *cs = json_object_get(spec, "containers");
	size_t i;
	json_t *ct;
	char f[64];
	json_array_foreach(cs, i, ct) {
		snprintf(f, sizeof(f), "spec.containers[%zu]", i);
		if (container_requests(ct, &c, nonzero, f, errmsg) < 0)
			return KP_EINVAL;
		rl_add(&sum, &c);
	}
	json_t *ics = json_object_get(spec, "initContainers");
	json_array_foreach(ics, i, ct) {
		snprintf(f, sizeof(f), "spec.initContainers[%zu]", i);
		if (container_requests(ct, &c, nonzero, f, errmsg) < 0)
			return KP_EINVAL;
		if (is_sidecar(ct)) {
			rl_add(&sum, &c);
			rl_add(&sidecars, &c);
			tmp = sidecars;
		} else {
			tmp = c;
			rl_add(&tmp, &sidecars);
		}
		rl_max(&init_max, &tmp);
	}
	rl_max(&sum, &init_max);
	json_t *oh = json_object_get(spec, "overhead");
	if (oh) {
		if (rl_parse(oh, &c, false, "spec.overhead", errmsg) < 0)
			return KP_EINVAL;
		rl_add(&sum, &c);
	}
	*out = sum;
	return 0;
}

static int cmp_scalar(const void *a, const void *b)
{
	const struct kp_scalar *x = a, *y = b;
	return (x->name > y->name) - (x->name < y->name);
}

static int rl_store(const struct rl *r, struct kp__arena *a, struct kp_resources *out)
{
	out->milli_cpu = r->cpu;
	out->memory = r->mem;
	out->ephemeral_storage = r->eph;
	out->pods = 0;
	out->nscalar = 0;
	out->scalar = NULL;
	if (r->n) {
		struct kp_scalar *s = kp__arena_alloc(a, r->n * sizeof(*s));
		if (!s)
			return KP_ENOMEM;
		memcpy(s, r->s, r->n * sizeof(*s));
		qsort(s, r->n, sizeof(*s), cmp_scalar);
		out->scalar = s;
		out->nscalar = r->n;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* selectors                                                          */

static int isel_from(const struct kp_label_selector *sel, struct kp__arena *a, struct kp_isel *out,
		     char **errmsg)
{
	/* compile into the heap, then move into the arena so the pod frees it at once */
	struct kp_isel tmp;
	int rc = kp_isel_compile(sel, &tmp, errmsg);
	if (rc < 0)
		return rc;
	*out = tmp;
	if (tmp.n) {
		size_t nv = 0;
		for (uint32_t i = 0; i < tmp.n; i++)
			nv += tmp.reqs[i].nvalues;
		struct kp_isel_req *reqs = kp__arena_alloc(a, tmp.n * sizeof(*reqs));
		int32_t *vals = nv ? kp__arena_alloc(a, nv * sizeof(int32_t)) : NULL;
		if (!reqs || (nv && !vals)) {
			kp_isel_release(&tmp);
			return KP_ENOMEM;
		}
		for (uint32_t i = 0; i < tmp.n; i++) {
			reqs[i] = tmp.reqs[i];
			if (tmp.reqs[i].nvalues) {
				memcpy(vals, tmp.reqs[i].values, tmp.reqs[i].nvalues * sizeof(int32_t));
				reqs[i].values = vals;
				vals += tmp.reqs[i].nvalues;
			} else {
				reqs[i].values = NULL;
			}
		}
		kp_isel_release(&tmp);
		out->reqs = reqs;
	}
	return 0;
}

/* Appends requirements (key op value) to a compiled selector (matchLabelKeys). */
static int isel_append(struct kp_isel *s, struct kp__arena *a, int32_t key, uint32_t op, int32_t value)
{
	if (s->nothing)
		return 0;
	struct kp_isel_req *reqs = kp__arena_alloc(a, (s->n + 1) * sizeof(*reqs));
	int32_t *v = kp__arena_alloc(a, sizeof(int32_t));
	if (!reqs || !v)
		return KP_ENOMEM;
	if (s->n)
		memcpy(reqs, s->reqs, s->n * sizeof(*reqs));
	*v = value;
	reqs[s->n] = (struct kp_isel_req){ .key = key, .op = op, .nvalues = 1, .values = v };
	s->reqs = reqs;
	s->n++;
	return 0;
}

static int label_selector(const json_t *j, struct kp__arena *a, struct kp_isel *out,
			  const char *field, char **errmsg)
{
	struct kp_label_selector *sel = NULL;
	char *e = NULL;
	int rc = kp_label_selector_from_json(j, &sel, &e);
	if (rc < 0) {
		kp_error_set(errmsg, rc, "%s: %s", field, e ? e : "invalid selector");
		free(e);
		return rc;
	}
	rc = isel_from(sel, a, out, errmsg);
	kp_label_selector_free(sel);
	return rc;
}

static int node_term(const struct kp_node_selector_term *t, struct kp__arena *a,
		     struct kp_node_term *out, char **errmsg)
{
	int rc = isel_from(&t->exprs, a, &out->exprs, errmsg);
	if (rc < 0)
		return rc;
	rc = isel_from(&t->fields, a, &out->fields, errmsg);
	if (rc < 0)
		return rc;
	/* matchFields only knows metadata.name; anything else matches no node */
	int32_t mn = kp_intern("metadata.name");
	for (uint32_t i = 0; i < out->fields.n; i++)
		if (out->fields.reqs[i].key != mn)
			out->fields.nothing = true;
	return 0;
}

static int node_affinity(const json_t *spec, struct kp__arena *a, struct kp_node_affinity *na,
			 char **errmsg)
{
	json_t *ns = json_object_get(spec, "nodeSelector");
	if (ns && json_is_object(ns)) {
		size_t n = json_object_size(ns);
		struct kp_isel_req *reqs = n ? kp__arena_alloc(a, n * sizeof(*reqs)) : NULL;
		int32_t *vals = n ? kp__arena_alloc(a, n * sizeof(int32_t)) : NULL;
		if (n && (!reqs || !vals))
			return KP_ENOMEM;
		const char *k;
		json_t *v;
		size_t i = 0;
		json_object_foreach(ns, k, v) {
			if (!json_is_string(v))
				return kp_error_set(errmsg, KP_EINVAL,
						    "spec.nodeSelector.%s: Invalid value: must be a string", k);
			vals[i] = kp_intern(json_string_value(v));
			reqs[i] = (struct kp_isel_req){ .key = kp_intern(k), .op = KP_SEL_EQUALS,
							.nvalues = 1, .values = &vals[i] };
			i++;
		}
		na->has_node_selector = true;
		na->node_selector.n = (uint32_t)i;
		na->node_selector.reqs = reqs;
	}
	json_t *aff = kp_obj_getv(spec, "affinity", "nodeAffinity", NULL);
	if (!aff)
		return 0;
	json_t *req = json_object_get(aff, "requiredDuringSchedulingIgnoredDuringExecution");
	char *e = NULL;
	if (req && !json_is_null(req)) {
		struct kp_node_selector *sel = NULL;
		int rc = kp_node_selector_from_json(req, &sel, &e);
		if (rc < 0) {
			kp_error_set(errmsg, rc,
				     "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution: %s",
				     e ? e : "invalid");
			free(e);
			return rc;
		}
		struct kp_node_term *terms = sel->n ? kp__arena_alloc(a, sel->n * sizeof(*terms)) : NULL;
		if (sel->n && !terms) {
			kp_node_selector_free(sel);
			return KP_ENOMEM;
		}
		for (size_t i = 0; i < sel->n; i++) {
			rc = node_term(&sel->terms[i], a, &terms[i], errmsg);
			if (rc < 0) {
				kp_node_selector_free(sel);
				return rc;
			}
		}
		na->has_required = true;
		na->nrequired = (uint32_t)sel->n;
		na->required = terms;
		kp_node_selector_free(sel);
	}
	json_t *pref = json_object_get(aff, "preferredDuringSchedulingIgnoredDuringExecution");
	if (pref && json_is_array(pref) && json_array_size(pref)) {
		size_t n = json_array_size(pref);
		struct kp_preferred_node_term *pt = kp__arena_alloc(a, n * sizeof(*pt));
		if (!pt)
			return KP_ENOMEM;
		size_t i;
		json_t *p;
		json_array_foreach(pref, i, p) {
			struct kp_node_selector_term t;
			json_t *w = json_object_get(p, "weight");
			if (!json_is_integer(w) || json_integer_value(w) < 1 || json_integer_value(w) > 100)
				return kp_error_set(errmsg, KP_EINVAL,
						    "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[%zu].weight: Invalid value: must be in the range 1-100",
						    i);
			int rc = kp_node_selector_term_from_json(json_object_get(p, "preference"), &t, &e);
			if (rc < 0) {
				kp_error_set(errmsg, rc,
					     "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[%zu].preference: %s",
					     i, e ? e : "invalid");
				free(e);
				return rc;
			}
			pt[i].weight = (int32_t)json_integer_value(w);
			rc = node_term(&t, a, &pt[i].term, errmsg);
			kp_node_selector_term_release(&t);
			if (rc < 0)
				return rc;
		}
		na->npreferred = (uint32_t)n;
		na->preferred = pt;
	}
	return 0;
}

static int pod_affinity_terms(const json_t *list, bool weighted, const struct kp__pod *p,
			      struct kp__arena *a, const struct kp_pod_affinity_term **out,
			      uint32_t *nout, const char *field, char **errmsg)
{
	if (!list || !json_is_array(list) || !json_array_size(list))
		return 0;
	size_t n = json_array_size(list);
	struct kp_pod_affinity_term *t = kp__arena_alloc(a, n * sizeof(*t));
	if (!t)
		return KP_ENOMEM;
	size_t i;
	json_t *item;
	char f[256];
	json_array_foreach(list, i, item) {
		const json_t *term = item;
		if (weighted) {
			json_t *w = json_object_get(item, "weight");
			if (!json_is_integer(w) || json_integer_value(w) < 1 || json_integer_value(w) > 100)
				return kp_error_set(errmsg, KP_EINVAL,
						    "%s[%zu].weight: Invalid value: must be in the range 1-100",
						    field, i);
			t[i].weight = (int32_t)json_integer_value(w);
			term = json_object_get(item, "podAffinityTerm");
			if (!term)
				return kp_error_set(errmsg, KP_EINVAL, "%s[%zu].podAffinityTerm: Required value",
						    field, i);
		}
		snprintf(f, sizeof(f), "%s[%zu].labelSelector", field, i);
		int rc = label_selector(json_object_get(term, "labelSelector"), a, &t[i].selector, f,
					errmsg);
		if (rc < 0)
			return rc;
		const char *tk = json_string_value(json_object_get(term, "topologyKey"));
		if (!tk || !*tk)
			return kp_error_set(errmsg, KP_EINVAL, "%s[%zu].topologyKey: Required value",
					    field, i);
		t[i].topology_key = kp_intern(tk);
		json_t *nss = json_object_get(term, "namespaces");
		json_t *nsel = json_object_get(term, "namespaceSelector");
		if (nsel && !json_is_null(nsel)) {
			snprintf(f, sizeof(f), "%s[%zu].namespaceSelector", field, i);
			rc = label_selector(nsel, a, &t[i].ns_selector, f, errmsg);
			if (rc < 0)
				return rc;
			t[i].has_ns_selector = true;
		}
		size_t nn = json_is_array(nss) ? json_array_size(nss) : 0;
		if (nn == 0 && !t[i].has_ns_selector) {
			int32_t *v = kp__arena_alloc(a, sizeof(int32_t));
			if (!v)
				return KP_ENOMEM;
			*v = p->info.ns_id;
			t[i].namespaces = v;
			t[i].nnamespaces = 1;
		} else if (nn) {
			int32_t *v = kp__arena_alloc(a, nn * sizeof(int32_t));
			if (!v)
				return KP_ENOMEM;
			size_t j;
			json_t *s;
			json_array_foreach(nss, j, s)
				v[j] = kp_intern(json_is_string(s) ? json_string_value(s) : "");
			t[i].namespaces = v;
			t[i].nnamespaces = (uint32_t)nn;
		}
		/* matchLabelKeys / mismatchLabelKeys: key In/NotIn the pod's own value */
		static const char *const lk[2] = { "matchLabelKeys", "mismatchLabelKeys" };
		for (int m = 0; m < 2; m++) {
			json_t *keys = json_object_get(term, lk[m]);
			size_t j;
			json_t *k;
			json_array_foreach(keys, j, k) {
				if (!json_is_string(k))
					continue;
				int32_t key = kp_intern(json_string_value(k));
				int32_t val = kp_labels_get(&p->info.labels, key);
				if (val == KP_ID_NONE)
					continue;
				if (isel_append(&t[i].selector, a, key, m ? KP_SEL_NOT_IN : KP_SEL_IN, val) < 0)
					return KP_ENOMEM;
			}
		}
	}
	*out = t;
	*nout = (uint32_t)n;
	return 0;
}

static int spread_constraints(const json_t *list, const struct kp__pod *p, struct kp__arena *a,
			      struct kp_pod_info *info, char **errmsg)
{
	if (!list || !json_is_array(list) || !json_array_size(list))
		return 0;
	size_t n = json_array_size(list);
	struct kp_spread_constraint *c = kp__arena_alloc(a, n * sizeof(*c));
	if (!c)
		return KP_ENOMEM;
	size_t i;
	json_t *item;
	char f[128];
	json_array_foreach(list, i, item) {
		json_t *ms = json_object_get(item, "maxSkew");
		if (!json_is_integer(ms) || json_integer_value(ms) < 1 || json_integer_value(ms) > INT32_MAX)
			return kp_error_set(errmsg, KP_EINVAL,
					    "spec.topologySpreadConstraints[%zu].maxSkew: Invalid value: must be greater than zero",
					    i);
		c[i].max_skew = (int32_t)json_integer_value(ms);
		const char *tk = json_string_value(json_object_get(item, "topologyKey"));
		if (!tk || !*tk)
			return kp_error_set(errmsg, KP_EINVAL,
					    "spec.topologySpreadConstraints[%zu].topologyKey: Required value", i);
		c[i].topology_key = kp_intern(tk);
		const char *wu = json_string_value(json_object_get(item, "whenUnsatisfiable"));
		if (!wu || !strcmp(wu, "DoNotSchedule"))
			c[i].when = KP_SPREAD_DO_NOT_SCHEDULE;
		else if (!strcmp(wu, "ScheduleAnyway"))
			c[i].when = KP_SPREAD_SCHEDULE_ANYWAY;
		else
			return kp_error_set(errmsg, KP_EINVAL,
					    "spec.topologySpreadConstraints[%zu].whenUnsatisfiable: Unsupported value: \"%s\"",
					    i, wu);
		json_t *md = json_object_get(item, "minDomains");
		c[i].min_domains = json_is_integer(md) ? (int32_t)json_integer_value(md) : 1;
		if (c[i].min_domains < 1)
			return kp_error_set(errmsg, KP_EINVAL,
					    "spec.topologySpreadConstraints[%zu].minDomains: Invalid value: must be greater than zero",
					    i);
		const char *nap = json_string_value(json_object_get(item, "nodeAffinityPolicy"));
		const char *ntp = json_string_value(json_object_get(item, "nodeTaintsPolicy"));
		c[i].node_affinity_policy = nap && !strcmp(nap, "Ignore") ? KP_SPREAD_POLICY_IGNORE
									: KP_SPREAD_POLICY_HONOR;
		c[i].node_taints_policy = ntp && !strcmp(ntp, "Honor") ? KP_SPREAD_POLICY_HONOR
								      : KP_SPREAD_POLICY_IGNORE;
		snprintf(f, sizeof(f), "spec.topologySpreadConstraints[%zu].labelSelector", i);
		int rc = label_selector(json_object_get(item, "labelSelector"), a, &c[i].selector, f,
					errmsg);
		if (rc < 0)
			return rc;
		json_t *keys = json_object_get(item, "matchLabelKeys");
		size_t j;
		json_t *k;
		json_array_foreach(keys, j, k) {
			if (!json_is_string(k))
				continue;
			int32_t key = kp_intern(json_string_value(k));
			int32_t val = kp_labels_get(&p->info.labels, key);
			if (val != KP_ID_NONE && isel_append(&c[i].selector, a, key, KP_SEL_IN, val) < 0)
				return KP_ENOMEM;
		}
	}
	info->spread = c;
	info->nspread = (uint32_t)n;
	return 0;
}

static int effect_of(const char *s, uint32_t *out)
{
	if (!s || !*s)
		*out = KP_EFFECT_ALL;
	else if (!strcmp(s, "NoSchedule"))
		*out = KP_EFFECT_NO_SCHEDULE;
	else if (!strcmp(s, "PreferNoSchedule"))
		*out = KP_EFFECT_PREFER_NO_SCHEDULE;
	else if (!strcmp(s, "NoExecute"))
		*out = KP_EFFECT_NO_EXECUTE;
	else
		return -1;
	return 0;
}

static int tolerations(const json_t *list, struct kp__arena *a, struct kp_pod_info *info,
		       char **errmsg)
{
	if (!list || !json_is_array(list) || !json_array_size(list))
		return 0;
	size_t n = json_array_size(list);
	struct kp_toleration *t = kp__arena_alloc(a, n * sizeof(*t));
	if (!t)
		return KP_ENOMEM;
	size_t i;
	json_t *item;
	int32_t empty = kp_intern("");
	json_array_foreach(list, i, item) {
		const char *key = json_string_value(json_object_get(item, "key"));
		const char *op = json_string_value(json_object_get(item, "operator"));
		const char *val = json_string_value(json_object_get(item, "value"));
		const char *eff = json_string_value(json_object_get(item, "effect"));
		t[i].key = key && *key ? kp_intern(key) : KP_ID_NONE;
		t[i].value = val ? kp_intern(val) : empty;
		if (!op || !*op || !strcmp(op, "Equal"))
			t[i].op = KP_TOL_EQUAL;
		else if (!strcmp(op, "Exists"))
			t[i].op = KP_TOL_EXISTS;
		else
			return kp_error_set(errmsg, KP_EINVAL,
					    "spec.tolerations[%zu].operator: Unsupported value: \"%s\"", i, op);
		if (effect_of(eff, &t[i].effect) < 0)
			return kp_error_set(errmsg, KP_EINVAL,
					    "spec.tolerations[%zu].effect: Unsupported value: \"%s\"", i, eff);
		json_t *ts = json_object_get(item, "tolerationSeconds");
		t[i].toleration_seconds = json_is_integer(ts) ? json_integer_value(ts) : -1;
	}
	info->tolerations = t;
	info->ntolerations = (uint32_t)n;
	return 0;
}

static int proto_of(const char *s, uint16_t *out)
{
	if (!s || !strcmp(s, "TCP"))
		*out = KP_PROTO_TCP;
	else if (!strcmp(s, "UDP"))
		*out = KP_PROTO_UDP;
	else if (!strcmp(s, "SCTP"))
		*out = KP_PROTO_SCTP;
	else
		return -1;
	return 0;
}

static int host_ports(const json_t *spec, struct kp__arena *a, struct kp_pod_info *info,
		      char **errmsg)
{
	struct kp_host_port tmp[64];
	uint32_t n = 0;
	static const char *const lists[2] = { "containers", "initContainers" };
	for (int l = 0; l < 2; l++) {
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(spec, lists[l]), i, c) {
			if (l == 1 && !is_sidecar(c))
				continue;
			size_t j;
			json_t *p;
			json_array_foreach(json_object_get(c, "ports"), j, p) {
				json_t *hp = json_object_get(p, "hostPort");
				if (!json_is_integer(hp) || json_integer_value(hp) <= 0)
					continue;
				if (json_integer_value(hp) > 65535)
					return kp_error_set(errmsg, KP_EINVAL,
							    "spec.%s[%zu].ports[%zu].hostPort: Invalid value: must be between 1 and 65535",
							    lists[l], i, j);
				if (n == 64)
					return kp_error_set(errmsg, KP_E2BIG, "spec.containers: more than 64 hostPorts");
				const char *ip = json_string_value(json_object_get(p, "hostIP"));
				uint16_t proto;
				if (proto_of(json_string_value(json_object_get(p, "protocol")), &proto) < 0)
					return kp_error_set(errmsg, KP_EINVAL,
							    "spec.%s[%zu].ports[%zu].protocol: Unsupported value",
							    lists[l], i, j);
				tmp[n].ip = kp_intern(ip && *ip ? ip : "0.0.0.0");
				tmp[n].port = (uint16_t)json_integer_value(hp);
				tmp[n].protocol = proto;
				n++;
			}
		}
	}
	if (!n)
		return 0;
	struct kp_host_port *hp = kp__arena_alloc(a, n * sizeof(*hp));
	if (!hp)
		return KP_ENOMEM;
	memcpy(hp, tmp, n * sizeof(*hp));
	info->host_ports = hp;
	info->nhost_ports = n;
	return 0;
}

/* ImageLocality compares "name:tag"; an untagged image means ":latest". */
static int32_t normalized_image(const char *img)
{
	const char *colon = strrchr(img, ':'), *slash = strrchr(img, '/');
	if (strchr(img, '@') || (colon && (!slash || colon > slash)))
		return kp_intern(img);
	size_t len = strlen(img);
	char *s = malloc(len + 8);
	if (!s)
		return KP_ID_NONE;
	memcpy(s, img, len);
	memcpy(s + len, ":latest", 8);
	int32_t id = kp_intern(s);
	free(s);
	return id;
}

static int images_and_pvcs(const json_t *spec, struct kp__pod *p, char **errmsg)
{
	struct kp_pod_info *info = &p->info;
	json_t *cs = json_object_get(spec, "containers");
	json_t *ics = json_object_get(spec, "initContainers");
	size_t n = (json_is_array(cs) ? json_array_size(cs) : 0) +
		   (json_is_array(ics) ? json_array_size(ics) : 0);
	if (n) {
		int32_t *imgs = kp__arena_alloc(&p->arena, n * sizeof(int32_t));
		if (!imgs)
			return KP_ENOMEM;
		uint32_t k = 0;
		size_t i;
		json_t *c;
		json_array_foreach(ics, i, c) {
			const char *img = json_string_value(json_object_get(c, "image"));
			if (img && *img)
				imgs[k++] = normalized_image(img);
		}
		json_array_foreach(cs, i, c) {
			const char *img = json_string_value(json_object_get(c, "image"));
			if (img && *img)
				imgs[k++] = normalized_image(img);
		}
		info->images = imgs;
		info->nimages = k;
	}
	json_t *vols = json_object_get(spec, "volumes");
	size_t nv = json_is_array(vols) ? json_array_size(vols) : 0;
	if (nv) {
		const char **pvcs = kp__arena_alloc(&p->arena, nv * sizeof(char *));
		if (!pvcs)
			return KP_ENOMEM;
		uint32_t k = 0;
		size_t i;
		json_t *v;
		json_array_foreach(vols, i, v) {
			const char *claim = kp_obj_str(v, "persistentVolumeClaim.claimName");
			if (claim) {
				pvcs[k++] = kp__arena_strdup(&p->arena, claim);
			} else if (json_object_get(v, "ephemeral")) {
				const char *vn = json_string_value(json_object_get(v, "name"));
				char buf[512];
				snprintf(buf, sizeof(buf), "%s-%s", info->name, vn ? vn : "");
				pvcs[k++] = kp__arena_strdup(&p->arena, buf);
			}
		}
		info->pvcs = pvcs;
		info->npvcs = k;
	}
	(void)errmsg;
	return 0;
}

int kp__pod_compile(json_t *obj, struct kp__pod **out, char **errmsg)
{
	if (!json_is_object(obj))
		return kp_error_set(errmsg, KP_EINVAL, "pod: not an object");
	struct kp__pod *p = calloc(1, sizeof(*p));
	if (!p)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	p->obj = json_incref(obj);
	p->heap_pos = -1;
	struct kp_pod_info *info = &p->info;
	struct kp__arena *a = &p->arena;
	int rc;
	const char *name = kp_obj_name(obj), *ns = kp_obj_namespace(obj), *uid = kp_obj_uid(obj);
	if (!name || !*name) {
		rc = kp_error_set(errmsg, KP_EINVAL, "metadata.name: Required value");
		goto fail;
	}
	if (!ns || !*ns)
		ns = "default";
	info->name = kp__arena_strdup(a, name);
	info->ns = kp__arena_strdup(a, ns);
	if (uid && *uid) {
		info->uid = kp__arena_strdup(a, uid);
	} else {
		char buf[512];
		snprintf(buf, sizeof(buf), "%s/%s", ns, name);
		info->uid = kp__arena_strdup(a, buf);
	}
	if (!info->name || !info->ns || !info->uid)
		goto nomem;
	info->ns_id = kp_intern(ns);
	info->obj = obj;
	if (kp__labels_compile(kp_obj_labels(obj), a, &info->labels) < 0)
		goto nomem;
	json_t *spec = json_object_get(obj, "spec");
	if (!spec || !json_is_object(spec)) {
		rc = kp_error_set(errmsg, KP_EINVAL, "spec: Required value");
		goto fail;
	}
	const char *nn = json_string_value(json_object_get(spec, "nodeName"));
	info->node_name = nn && *nn ? kp_intern(nn) : KP_ID_NONE;
	const char *nom = kp_obj_str(obj, "status.nominatedNodeName");
	info->nominated_node = nom && *nom ? kp_intern(nom) : KP_ID_NONE;
	const char *sn = json_string_value(json_object_get(spec, "schedulerName"));
	info->scheduler_name = kp_intern(sn && *sn ? sn : "default-scheduler");
	json_t *prio = json_object_get(spec, "priority");
	if (json_is_integer(prio)) {
		info->priority = (int32_t)json_integer_value(prio);
		p->has_priority = true;
	}
	const char *pcn = json_string_value(json_object_get(spec, "priorityClassName"));
	if (pcn && *pcn)
		p->priority_class = kp__arena_strdup(a, pcn);
	json_t *gates = json_object_get(spec, "schedulingGates");
	info->nscheduling_gates = json_is_array(gates) ? (uint32_t)json_array_size(gates) : 0;
	if (kp_obj_get(obj, "metadata.deletionTimestamp"))
		info->flags |= KP_POD_TERMINATING;
	const char *phase = kp_obj_str(obj, "status.phase");
	p->terminal = phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
	const char *ct = kp_obj_str(obj, "metadata.creationTimestamp");
	int64_t sec;
	if (ct && kp_time_parse(ct, &sec) == 0)
		info->creation_ns = sec * 1000000000LL;

	struct rl req, nz;
	if ((rc = pod_requests(spec, &req, false, errmsg)) < 0)
		goto fail;
	if ((rc = pod_requests(spec, &nz, true, errmsg)) < 0)
		goto fail;
	if (rl_store(&req, a, &info->requests) < 0)
		goto nomem;
	info->nonzero_milli_cpu = nz.cpu;
	info->nonzero_memory = nz.mem;
	if (req.cpu == 0 && req.mem == 0 && req.eph == 0 && req.n == 0)
		info->flags |= KP_POD_BEST_EFFORT;

	if ((rc = node_affinity(spec, a, &info->node_affinity, errmsg)) < 0)
		goto fail;
	if ((rc = tolerations(json_object_get(spec, "tolerations"), a, info, errmsg)) < 0)
		goto fail;
	json_t *pa = kp_obj_getv(spec, "affinity", "podAffinity", NULL);
	json_t *paa = kp_obj_getv(spec, "affinity", "podAntiAffinity", NULL);
	struct kp_pod_affinity *af = &info->affinity;
	const char *R = "requiredDuringSchedulingIgnoredDuringExecution";
	const char *P = "preferredDuringSchedulingIgnoredDuringExecution";
	if ((rc = pod_affinity_terms(json_object_get(pa, R), false, p, a, &af->req_affinity,
				     &af->nreq_affinity,
				     "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution",
				     errmsg)) < 0 ||
	    (rc = pod_affinity_terms(json_object_get(pa, P), true, p, a, &af->pref_affinity,
				     &af->npref_affinity,
				     "spec.affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution",
				     errmsg)) < 0 ||
	    (rc = pod_affinity_terms(json_object_get(paa, R), false, p, a, &af->req_anti,
				     &af->nreq_anti,
				     "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution",
				     errmsg)) < 0 ||
	    (rc = pod_affinity_terms(json_object_get(paa, P), true, p, a, &af->pref_anti,
				     &af->npref_anti,
				     "spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution",
				     errmsg)) < 0)
		goto fail;
	if (af->nreq_affinity || af->npref_affinity || af->nreq_anti || af->npref_anti)
		info->flags |= KP_POD_HAS_AFFINITY;
	if (af->nreq_anti)
		info->flags |= KP_POD_HAS_REQ_ANTI;
	if ((rc = spread_constraints(json_object_get(spec, "topologySpreadConstraints"), p, a, info,
				     errmsg)) < 0)
		goto fail;
	if ((rc = host_ports(spec, a, info, errmsg)) < 0)
		goto fail;
	if ((rc = images_and_pvcs(spec, p, errmsg)) < 0)
		goto fail;
	*out = p;
	return 0;
nomem:
	rc = kp_error_set(errmsg, KP_ENOMEM, "out of memory");
fail:
	kp__pod_free(p);
	return rc;
}

void kp__pod_free(struct kp__pod *p)
{
	if (!p)
		return;
	kp__arena_release(&p->arena);
	json_decref(p->obj);
	free(p);
}

/* ------------------------------------------------------------------ */
/* nodes                                                              */

static int cmp_image(const void *a, const void *b)
{
	const struct kp_node_image *x = a, *y = b;
	return (x->name > y->name) - (x->name < y->name);
}

int kp__node_compile(json_t *obj, struct kp__node **out, char **errmsg)
{
	if (!json_is_object(obj))
		return kp_error_set(errmsg, KP_EINVAL, "node: not an object");
	const char *name = kp_obj_name(obj);
	if (!name || !*name)
		return kp_error_set(errmsg, KP_EINVAL, "node: metadata.name: Required value");
	struct kp__node *n = calloc(1, sizeof(*n));
	if (!n)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	n->obj = json_incref(obj);
	struct kp_node_info *ni = &n->info;
	struct kp__arena *a = &n->arena;
	int rc;
	ni->name = kp__arena_strdup(a, name);
	if (!ni->name)
		goto nomem;
	ni->name_id = kp_intern(name);
	ni->obj = obj;
	ni->index = -1;
	if (kp__labels_compile(kp_obj_labels(obj), a, &ni->labels) < 0)
		goto nomem;
	ni->unschedulable = kp_obj_bool(obj, "spec.unschedulable", false);
	json_t *taints = kp_obj_get(obj, "spec.taints");
	if (json_is_array(taints) && json_array_size(taints)) {
		size_t nt = json_array_size(taints);
		struct kp_taint *t = kp__arena_alloc(a, nt * sizeof(*t));
		if (!t)
			goto nomem;
		size_t i;
		json_t *item;
		json_array_foreach(taints, i, item) {
			const char *k = json_string_value(json_object_get(item, "key"));
			const char *v = json_string_value(json_object_get(item, "value"));
			const char *e = json_string_value(json_object_get(item, "effect"));
			if (!k || !*k) {
				rc = kp_error_set(errmsg, KP_EINVAL, "node %s: spec.taints[%zu].key: Required value",
						  name, i);
				goto fail;
			}
			if (effect_of(e, &t[i].effect) < 0 || t[i].effect == KP_EFFECT_ALL) {
				rc = kp_error_set(errmsg, KP_EINVAL,
						  "node %s: spec.taints[%zu].effect: Unsupported value: \"%s\"",
						  name, i, e ? e : "");
				goto fail;
			}
			t[i].key = kp_intern(k);
			t[i].value = kp_intern(v ? v : "");
		}
		ni->taints = t;
		ni->ntaints = (uint32_t)nt;
	}
	struct rl alloc;
	char *e = NULL;
	json_t *al = kp_obj_get(obj, "status.allocatable");
	if (!al)
		al = kp_obj_get(obj, "status.capacity");
	if ((rc = rl_parse(al, &alloc, false, "status.allocatable", &e)) < 0) {
		kp_error_set(errmsg, rc, "node %s: %s", name, e);
		free(e);
		goto fail;
	}
	if (rl_store(&alloc, a, &ni->allocatable) < 0)
		goto nomem;
	json_t *pods = al ? json_object_get(al, "pods") : NULL;
	if (pods) {
		if ((rc = quantity_of(pods, false, &ni->allocatable.pods, "status.allocatable.pods", &e)) < 0) {
			kp_error_set(errmsg, rc, "node %s: %s", name, e);
			free(e);
			goto fail;
		}
	}
	json_t *imgs = kp_obj_get(obj, "status.images");
	if (json_is_array(imgs)) {
		size_t total = 0, i;
		json_t *im;
		json_array_foreach(imgs, i, im) {
			json_t *names = json_object_get(im, "names");
			total += json_is_array(names) ? json_array_size(names) : 0;
		}
		if (total) {
			struct kp_node_image *v = kp__arena_alloc(a, total * sizeof(*v));
			if (!v)
				goto nomem;
			uint32_t k = 0;
			json_array_foreach(imgs, i, im) {
				json_t *sz = json_object_get(im, "sizeBytes");
				int64_t size = json_is_integer(sz) ? json_integer_value(sz) : 0;
				size_t j;
				json_t *nm;
				json_array_foreach(json_object_get(im, "names"), j, nm) {
					if (!json_is_string(nm))
						continue;
					v[k].name = kp_intern(json_string_value(nm));
					v[k].size = size;
					k++;
				}
			}
			qsort(v, k, sizeof(*v), cmp_image);
			/* one entry per name */
			uint32_t w = 0;
			for (uint32_t r = 0; r < k; r++)
				if (!w || v[w - 1].name != v[r].name)
					v[w++] = v[r];
			ni->images = v;
			ni->nimages = w;
		}
	}
	*out = n;
	return 0;
nomem:
	rc = kp_error_set(errmsg, KP_ENOMEM, "out of memory");
fail:
	kp__node_free(n);
	return rc;
}

void kp__node_replace_object(struct kp__node *dst, struct kp__node *src)
{
	kp__arena_release(&dst->arena);
	json_decref(dst->obj);
	dst->arena = src->arena;
	dst->obj = src->obj;
	struct kp_node_info *d = &dst->info, *s = &src->info;
	d->name = s->name;
	d->obj = s->obj;
	d->unschedulable = s->unschedulable;
	d->labels = s->labels;
	d->ntaints = s->ntaints;
	d->taints = s->taints;
	d->allocatable = s->allocatable;
	d->nimages = s->nimages;
	d->images = s->images;
	d->generation++;
	memset(&src->arena, 0, sizeof(src->arena));
	src->obj = NULL;
	kp__node_free(src);
}

void kp__node_free(struct kp__node *n)
{
	if (!n)
		return;
	if (!n->clone) {
		kp__arena_release(&n->arena);
		json_decref(n->obj);
	}
	free(n->pods);
	free(n->aff);
	free(n->anti);
	free(n->req_scalar);
	free(n->ports);
	free(n);
}

static int push_ptr(const struct kp_pod_info ***arr, uint32_t *cap, uint32_t *n,
		    const struct kp_pod_info *p)
{
	if (*n == *cap) {
		uint32_t nc = *cap ? *cap * 2 : 8;
		void *v = realloc(*arr, nc * sizeof(**arr));
		if (!v)
			return KP_ENOMEM;
		*arr = v;
		*cap = nc;
	}
	(*arr)[(*n)++] = p;
	return 0;
}

static int drop_ptr(const struct kp_pod_info **arr, uint32_t *n, const struct kp_pod_info *p)
{
	for (uint32_t i = 0; i < *n; i++) {
		if (arr[i] == p) {
			/* keep order: it decides iteration order for plugins */
			memmove(&arr[i], &arr[i + 1], (*n - i - 1) * sizeof(*arr));
			(*n)--;
			return 0;
		}
	}
	return KP_ENOENT;
}

static int add_scalars(struct kp__node *n, const struct kp_resources *r, int sign)
{
	for (uint32_t i = 0; i < r->nscalar; i++) {
		int32_t name = r->scalar[i].name;
		int64_t v = r->scalar[i].value * sign;
		uint32_t j;
		for (j = 0; j < n->info.requested.nscalar; j++)
			if (n->req_scalar[j].name == name)
				break;
		if (j == n->info.requested.nscalar) {
			if (j == n->cap_req_scalar) {
				uint32_t nc = n->cap_req_scalar ? n->cap_req_scalar * 2 : 4;
				void *p = realloc(n->req_scalar, nc * sizeof(*n->req_scalar));
				if (!p)
					return KP_ENOMEM;
				n->req_scalar = p;
				n->cap_req_scalar = nc;
			}
			/* insert keeping name order */
			uint32_t k = j;
			while (k > 0 && n->req_scalar[k - 1].name > name) {
				n->req_scalar[k] = n->req_scalar[k - 1];
				k--;
			}
			n->req_scalar[k] = (struct kp_scalar){ name, 0 };
			n->info.requested.nscalar++;
			j = k;
		}
		n->req_scalar[j].value = sat_add(n->req_scalar[j].value, v);
	}
	n->info.requested.scalar = n->req_scalar;
	return 0;
}

int kp__node_add_pod(struct kp__node *n, const struct kp_pod_info *pod)
{
	struct kp_node_info *ni = &n->info;
	if (push_ptr(&n->pods, &n->cap_pods, &ni->npods, pod) < 0)
		return KP_ENOMEM;
	ni->pods = n->pods;
	if (pod->flags & KP_POD_HAS_AFFINITY) {
		if (push_ptr(&n->aff, &n->cap_aff, &ni->npods_with_affinity, pod) < 0)
			return KP_ENOMEM;
		ni->pods_with_affinity = n->aff;
	}
	if (pod->flags & KP_POD_HAS_REQ_ANTI) {
		if (push_ptr(&n->anti, &n->cap_anti, &ni->npods_with_req_anti, pod) < 0)
			return KP_ENOMEM;
		ni->pods_with_req_anti = n->anti;
	}
	if (pod->nhost_ports) {
		uint32_t need = ni->nused_ports + pod->nhost_ports;
		if (need > n->cap_ports) {
			uint32_t nc = need * 2;
			void *v = realloc(n->ports, nc * sizeof(*n->ports));
			if (!v)
				return KP_ENOMEM;
			n->ports = v;
			n->cap_ports = nc;
		}
		memcpy(n->ports + ni->nused_ports, pod->host_ports,
		       pod->nhost_ports * sizeof(*n->ports));
		ni->nused_ports = need;
		ni->used_ports = n->ports;
	}
	ni->requested.milli_cpu = sat_add(ni->requested.milli_cpu, pod->requests.milli_cpu);
	ni->requested.memory = sat_add(ni->requested.memory, pod->requests.memory);
	ni->requested.ephemeral_storage =
		sat_add(ni->requested.ephemeral_storage, pod->requests.ephemeral_storage);
	ni->requested.pods++;
	ni->nonzero_milli_cpu = sat_add(ni->nonzero_milli_cpu, pod->nonzero_milli_cpu);
	ni->nonzero_memory = sat_add(ni->nonzero_memory, pod->nonzero_memory);
	if (pod->requests.nscalar && add_scalars(n, &pod->requests, 1) < 0)
		return KP_ENOMEM;
	ni->generation++;
	return 0;
}

int kp__node_remove_pod(struct kp__node *n, const struct kp_pod_info *pod)
{
	struct kp_node_info *ni = &n->info;
	if (drop_ptr(n->pods, &ni->npods, pod) < 0)
		return KP_ENOENT;
	if (pod->flags & KP_POD_HAS_AFFINITY)
		drop_ptr(n->aff, &ni->npods_with_affinity, pod);
	if (pod->flags & KP_POD_HAS_REQ_ANTI)
		drop_ptr(n->anti, &ni->npods_with_req_anti, pod);
	for (uint32_t i = 0; i < pod->nhost_ports; i++) {
		for (uint32_t j = 0; j < ni->nused_ports; j++) {
			const struct kp_host_port *a = &n->ports[j], *b = &pod->host_ports[i];
			if (a->ip == b->ip && a->port == b->port && a->protocol == b->protocol) {
				n->ports[j] = n->ports[--ni->nused_ports];
				break;
			}
		}
	}
	ni->requested.milli_cpu -= pod->requests.milli_cpu;
	ni->requested.memory -= pod->requests.memory;
	ni->requested.ephemeral_storage -= pod->requests.ephemeral_storage;
	ni->requested.pods--;
	ni->nonzero_milli_cpu -= pod->nonzero_milli_cpu;
	ni->nonzero_memory -= pod->nonzero_memory;
	if (pod->requests.nscalar)
		add_scalars(n, &pod->requests, -1);
	ni->generation++;
	return 0;
}

/* ------------------------------------------------------------------ */
/* public what-if API                                                 */

static int dup_arr(void **dst, uint32_t *cap, const void *src, uint32_t n, size_t elem)
{
	*dst = NULL;
	*cap = 0;
	if (!n)
		return 0;
	*dst = malloc(n * elem);
	if (!*dst)
		return KP_ENOMEM;
	memcpy(*dst, src, n * elem);
	*cap = n;
	return 0;
}

struct kp_node_info *kp_node_info_clone(const struct kp_node_info *node)
{
	const struct kp__node *src = (const struct kp__node *)node;
	struct kp__node *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->info = src->info;
	n->obj = src->obj;
	n->clone = true;
	const struct kp_node_info *s = &src->info;
	if (dup_arr((void **)&n->pods, &n->cap_pods, s->pods, s->npods, sizeof(void *)) < 0 ||
	    dup_arr((void **)&n->aff, &n->cap_aff, s->pods_with_affinity, s->npods_with_affinity,
		    sizeof(void *)) < 0 ||
	    dup_arr((void **)&n->anti, &n->cap_anti, s->pods_with_req_anti, s->npods_with_req_anti,
		    sizeof(void *)) < 0 ||
	    dup_arr((void **)&n->req_scalar, &n->cap_req_scalar, s->requested.scalar,
		    s->requested.nscalar, sizeof(struct kp_scalar)) < 0 ||
	    dup_arr((void **)&n->ports, &n->cap_ports, s->used_ports, s->nused_ports,
		    sizeof(struct kp_host_port)) < 0) {
		kp__node_free(n);
		return NULL;
	}
	n->info.pods = n->pods;
	n->info.pods_with_affinity = n->aff;
	n->info.pods_with_req_anti = n->anti;
	n->info.requested.scalar = n->req_scalar;
	n->info.used_ports = n->ports;
	return &n->info;
}

int kp_node_info_add_pod(struct kp_node_info *node, const struct kp_pod_info *pod)
{
	return kp__node_add_pod((struct kp__node *)node, pod);
}

int kp_node_info_remove_pod(struct kp_node_info *node, const struct kp_pod_info *pod)
{
	return kp__node_remove_pod((struct kp__node *)node, pod);
}

void kp_node_info_free(struct kp_node_info *node)
{
	struct kp__node *n = (struct kp__node *)node;
	if (n && n->clone)
		kp__node_free(n);
}

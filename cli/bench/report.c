/*
 * report.c - what a run measured, turned into upstream's metrics (sampled
 * throughput, attempt latency percentiles), a placement check done from
 * the final state with code of its own (not the scheduler's plugins), the
 * DataItems JSON and the table.
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kplane/object.h>
#include <kplane/quantity.h>
#include <kplane/selector.h>

#include "cli/bench/bench.h"

int64_t sb_quantity_milli(const json_t *v)
{
	if (json_is_integer(v))
		return json_integer_value(v) * 1000;
	if (json_is_real(v))
		return (int64_t)(json_real_value(v) * 1000);
	if (!json_is_string(v))
		return -1;
	struct kp_quantity q;
	if (kp_quantity_parse(json_string_value(v), &q, NULL) < 0)
		return -1;
	return kp_quantity_milli_sat(&q);
}

int64_t sb_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void sb_result_free(struct sb_result *r)
{
	if (!r)
		return;
	free(r->bind_ns);
	free(r->create_ns);
	free(r->attempt_ns);
	free(r->metrics_text);
	json_decref(r->nodes_final);
	json_decref(r->pods_final);
	json_decref(r->ns_labels);
	json_decref(r->violation_list);
	free(r->node_cpu);
	free(r->node_mem);
	memset(r, 0, sizeof(*r));
}

/* upstream's util.go: samples[ceil(n*p/100)-1] of the sorted samples */
double sb_percentile(double *sorted, size_t n, double p)
{
	if (!n)
		return 0;
	size_t i = (size_t)ceil((double)n * p / 100.0);
	if (i < 1)
		i = 1;
	if (i > n)
		i = n;
	return sorted[i - 1];
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* ------------------------------------------------------------------ */
/* summary                                                            */

void sb_summarise(const struct sb_result *r, double interval_s, struct sb_summary *s)
{
	memset(s, 0, sizeof(*s));
	int64_t t0 = r->t0_ns, t1 = r->t1_ns;
	s->wall_s = t1 > t0 ? (double)(t1 - t0) / 1e9 : 0;
	int64_t *b = malloc(((size_t)r->measured + 1) * sizeof(*b));
	size_t nb = 0;
	for (int64_t i = 0; b && i < r->measured; i++)
		if (r->bind_ns[i] >= 0)
			b[nb++] = r->bind_ns[i];
	qsort(b, nb, sizeof(*b), cmp_i64);
	int64_t iv = (int64_t)(interval_s * 1e9);
	size_t nint = t1 > t0 ? (size_t)((t1 - t0 + iv - 1) / iv) : 0;
	s->samples = calloc(nint + 1, sizeof(double));
	size_t k = 0;
	for (size_t j = 0; s->samples && j < nint; j++) {
		int64_t lo = t0 + (int64_t)j * iv, hi = lo + iv;
		if (hi > t1)
			hi = t1;
		size_t c = 0;
		while (k < nb && b[k] < hi) {
			k++;
			c++;
		}
		if (j == nint - 1) {
			c += nb - k; /* binds exactly at t1 */
			k = nb;
		}
		double len = (double)(hi - lo) / 1e9;
		/* a last partial interval counts scaled by its length (upstream) */
		if (len > 0)
			s->samples[s->nsamples++] = (double)c / len;
	}
	free(b);
	double sum = 0;
	for (size_t j = 0; j < s->nsamples; j++)
		sum += s->samples[j];
	s->tput_avg = s->nsamples ? sum / (double)s->nsamples : 0;
	double *sorted = malloc((s->nsamples + 1) * sizeof(double));
	if (sorted) {
		memcpy(sorted, s->samples, s->nsamples * sizeof(double));
		qsort(sorted, s->nsamples, sizeof(double), cmp_double);
		s->tput_p50 = sb_percentile(sorted, s->nsamples, 50);
		s->tput_p90 = sb_percentile(sorted, s->nsamples, 90);
		s->tput_p95 = sb_percentile(sorted, s->nsamples, 95);
		s->tput_p99 = sb_percentile(sorted, s->nsamples, 99);
		free(sorted);
	}
	if (r->nattempts) {
		double *a = malloc(r->nattempts * sizeof(double));
		double asum = 0;
		for (size_t j = 0; a && j < r->nattempts; j++) {
			a[j] = (double)r->attempt_ns[j] / 1e6;
			asum += a[j];
		}
		if (a) {
			qsort(a, r->nattempts, sizeof(double), cmp_double);
			s->att_p50 = sb_percentile(a, r->nattempts, 50);
			s->att_p90 = sb_percentile(a, r->nattempts, 90);
			s->att_p95 = sb_percentile(a, r->nattempts, 95);
			s->att_p99 = sb_percentile(a, r->nattempts, 99);
			s->att_avg = asum / (double)r->nattempts;
			free(a);
		}
	}
	double *e = malloc(((size_t)r->measured + 1) * sizeof(double));
	size_t ne = 0;
	for (int64_t i = 0; e && i < r->measured; i++)
		if (r->bind_ns[i] >= 0 && r->create_ns && r->create_ns[i] > 0)
			e[ne++] = (double)(r->bind_ns[i] - r->create_ns[i]) / 1e6;
	if (e) {
		qsort(e, ne, sizeof(double), cmp_double);
		s->e2e_p50 = sb_percentile(e, ne, 50);
		s->e2e_p90 = sb_percentile(e, ne, 90);
		s->e2e_p99 = sb_percentile(e, ne, 99);
		free(e);
	}
}

void sb_summary_release(struct sb_summary *s)
{
	free(s->samples);
	s->samples = NULL;
}

/* ------------------------------------------------------------------ */
/* placement check                                                    */

struct cnode {
	const char *name;
	json_t *labels;   /* borrowed */
	json_t *taints;   /* borrowed */
	bool unschedulable;
	json_t *alloc;    /* resource -> milli (owned) */
	json_t *used;     /* resource -> milli (owned) */
	int64_t npods;
};

struct cpod {
	json_t *obj;      /* borrowed */
	const char *ns;
	json_t *labels;
	int32_t node;     /* -1 unbound */
};

struct check {
	struct sb_result *r;
	struct cnode *n;
	size_t nn;
	struct cpod *p;
	size_t np;
	json_t *domains;  /* "key" -> { value -> [pod idx] } */
};

static void violation(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void violation(struct check *c, const char *fmt, ...)
{
	c->r->violations++;
	if (json_array_size(c->r->violation_list) >= 20)
		return;
	char buf[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_array_append_new(c->r->violation_list, json_string(buf));
}

static void add_milli(json_t *m, const char *k, int64_t v)
{
	json_t *x = json_object_get(m, k);
	json_object_set_new(m, k, json_integer((x ? json_integer_value(x) : 0) + v));
}

/* Effective requests: max(sum of containers, each init container) + overhead. */
static json_t *pod_requests(const json_t *pod)
{
	json_t *req = json_object();
	size_t i;
	json_t *c;
	json_array_foreach(kp_obj_get(pod, "spec.containers"), i, c) {
		const char *k;
		json_t *v;
		json_object_foreach(kp_obj_get(c, "resources.requests"), k, v)
			add_milli(req, k, sb_quantity_milli(v));
	}
	json_array_foreach(kp_obj_get(pod, "spec.initContainers"), i, c) {
		const char *k;
		json_t *v;
		json_object_foreach(kp_obj_get(c, "resources.requests"), k, v) {
			int64_t m = sb_quantity_milli(v);
			json_t *x = json_object_get(req, k);
			if (!x || json_integer_value(x) < m)
				json_object_set_new(req, k, json_integer(m));
		}
	}
	const char *k;
	json_t *v;
	json_object_foreach(kp_obj_get(pod, "spec.overhead"), k, v)
		add_milli(req, k, sb_quantity_milli(v));
	return req;
}

static bool tolerated(const json_t *pod, const json_t *taint)
{
	const char *tk = json_string_value(json_object_get(taint, "key"));
	const char *tv = json_string_value(json_object_get(taint, "value"));
	const char *te = json_string_value(json_object_get(taint, "effect"));
	size_t i;
	json_t *t;
	json_array_foreach(kp_obj_get(pod, "spec.tolerations"), i, t) {
		const char *k = json_string_value(json_object_get(t, "key"));
		const char *op = json_string_value(json_object_get(t, "operator"));
		const char *v = json_string_value(json_object_get(t, "value"));
		const char *e = json_string_value(json_object_get(t, "effect"));
		if (e && *e && (!te || strcmp(e, te)))
			continue;
		bool exists = op && !strcmp(op, "Exists");
		if (k && *k) {
			if (!tk || strcmp(k, tk))
				continue;
		} else if (!exists) {
			continue;
		}
		if (exists || !strcmp(v ? v : "", tv ? tv : ""))
			return true;
	}
	return false;
}

static const char *node_label(const struct cnode *n, const char *key)
{
	return json_string_value(json_object_get(n->labels, key));
}

/* pods on nodes whose label key == value: {value: [idx...]} built per key */
static json_t *domain_index(struct check *c, const char *key)
{
	json_t *d = json_object_get(c->domains, key);
	if (d)
		return d;
	d = json_object();
	for (size_t i = 0; i < c->np; i++) {
		if (c->p[i].node < 0)
			continue;
		const char *v = node_label(&c->n[c->p[i].node], key);
		if (!v)
			continue;
		json_t *a = json_object_get(d, v);
		if (!a) {
			a = json_array();
			json_object_set_new(d, v, a);
		}
		json_array_append_new(a, json_integer((json_int_t)i));
	}
	json_object_set_new(c->domains, key, d);
	return d;
}

/*
 * Does a pod-affinity term of a pod in pod_ns cover other_ns? Kubernetes:
 * the namespaces listed plus those namespaceSelector matches ({} = all);
 * neither = the pod's own. A selector over namespaces whose labels we do not
 * know sets *unknown.
 */
static bool term_ns_match(const struct check *c, const json_t *term, const char *pod_ns,
			  const char *other_ns, bool *unknown)
{
	json_t *nss = json_object_get(term, "namespaces");
	json_t *sel = json_object_get(term, "namespaceSelector");
	size_t i;
	json_t *x;
	json_array_foreach(nss, i, x)
		if (json_is_string(x) && !strcmp(json_string_value(x), other_ns))
			return true;
	if (sel) {
		struct kp_label_selector *ls = NULL;
		json_t *labels = json_object_get(c->r->ns_labels, other_ns);
		if (kp_label_selector_from_json(sel, &ls, NULL) < 0) {
			*unknown = true;
			return false;
		}
		bool everything = kp_label_selector_is_everything(ls);
		bool m = everything || (labels && kp_label_selector_matches(ls, labels));
		if (!everything && !labels)
			*unknown = true;
		kp_label_selector_free(ls);
		return m;
	}
	return !json_array_size(nss) && !strcmp(pod_ns, other_ns);
}

static void check_pod_terms(struct check *c, size_t pi, bool anti)
{
	struct cpod *p = &c->p[pi];
	json_t *terms = kp_obj_get(p->obj, anti ? "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution"
					       : "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution");
	size_t ti;
	json_t *term;
	json_array_foreach(terms, ti, term) {
		const char *key = json_string_value(json_object_get(term, "topologyKey"));
		struct kp_label_selector *sel = NULL;
		if (!key || kp_label_selector_from_json(json_object_get(term, "labelSelector"), &sel, NULL) < 0)
			continue;
		const char *dom = node_label(&c->n[p->node], key);
		bool unknown = false;
		if (!dom) {
			if (!anti)
				violation(c, "pod %s/%s: node %s has no %s label, required pod affinity cannot hold",
					  p->ns, kp_obj_name(p->obj), c->n[p->node].name, key);
			kp_label_selector_free(sel);
			continue;
		}
		json_t *members = json_object_get(domain_index(c, key), dom);
		size_t mi;
		json_t *m;
		size_t matches = 0;
		json_array_foreach(members, mi, m) {
			size_t q = (size_t)json_integer_value(m);
			if (q == pi)
				continue;
			if (!term_ns_match(c, term, p->ns, c->p[q].ns, &unknown))
				continue;
			if (!kp_label_selector_matches(sel, c->p[q].labels))
				continue;
			matches++;
			if (!anti)
				break; /* one co-located match is all affinity needs */
			{
				violation(c, "pod %s/%s on %s: required anti-affinity (%s) matches pod %s/%s on %s",
					  p->ns, kp_obj_name(p->obj), c->n[p->node].name, key, c->p[q].ns,
					  kp_obj_name(c->p[q].obj), c->n[c->p[q].node].name);
				break;
			}
		}
		if (!anti && matches == 0 && !unknown) {
			/* the first-pod exception: allowed only if no matching pod was
			 * placed before this one (pods are in creation order) */
			bool earlier = false;
			for (size_t q = 0; q < pi && !earlier; q++)
				earlier = c->p[q].node >= 0 &&
					  term_ns_match(c, term, p->ns, c->p[q].ns, &unknown) &&
					  kp_label_selector_matches(sel, c->p[q].labels);
			if (earlier || !kp_label_selector_matches(sel, p->labels))
				violation(c, "pod %s/%s on %s: required pod affinity (%s=%s) has no matching pod in its domain",
					  p->ns, kp_obj_name(p->obj), c->n[p->node].name, key, dom);
		}
		kp_label_selector_free(sel);
	}
}

static bool node_matches_pod(const struct check *c, const json_t *pod, size_t ni)
{
	const struct cnode *n = &c->n[ni];
	const char *k;
	json_t *v;
	json_object_foreach(kp_obj_get(pod, "spec.nodeSelector"), k, v) {
		const char *have = node_label(n, k);
		if (!have || !json_is_string(v) || strcmp(have, json_string_value(v)))
			return false;
	}
	json_t *req = kp_obj_get(pod, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution");
	if (req) {
		struct kp_node_selector *ns = NULL;
		if (kp_node_selector_from_json(req, &ns, NULL) < 0)
			return false;
		bool ok = kp_node_selector_matches(ns, n->labels, n->name);
		kp_node_selector_free(ns);
		if (!ok)
			return false;
	}
	return true;
}

/* DoNotSchedule constraints: final skew across eligible domains <= maxSkew. */
static void check_spread(struct check *c, json_t *seen, size_t pi)
{
	struct cpod *p = &c->p[pi];
	size_t ci;
	json_t *con;
	json_array_foreach(kp_obj_get(p->obj, "spec.topologySpreadConstraints"), ci, con) {
		const char *wu = json_string_value(json_object_get(con, "whenUnsatisfiable"));
		const char *key = json_string_value(json_object_get(con, "topologyKey"));
		int64_t max_skew = json_integer_value(json_object_get(con, "maxSkew"));
		if (!key || !wu || strcmp(wu, "DoNotSchedule"))
			continue;
		char *sig = json_dumps(con, JSON_SORT_KEYS | JSON_COMPACT);
		char *full = NULL;
		if (!sig || asprintf(&full, "%s|%s", p->ns, sig) < 0 || json_object_get(seen, full)) {
			free(sig);
			free(full);
			continue;
		}
		json_object_set_new(seen, full, json_true());
		struct kp_label_selector *sel = NULL;
		if (kp_label_selector_from_json(json_object_get(con, "labelSelector"), &sel, NULL) < 0) {
			free(sig);
			free(full);
			continue;
		}
		/* eligible domains: nodes with the key that pass the pod's node
		 * affinity (nodeAffinityPolicy Honor, the default) */
		json_t *counts = json_object();
		for (size_t ni = 0; ni < c->nn; ni++) {
			const char *d = node_label(&c->n[ni], key);
			if (d && !json_object_get(counts, d) && node_matches_pod(c, p->obj, ni))
				json_object_set_new(counts, d, json_integer(0));
		}
		for (size_t q = 0; q < c->np; q++) {
			if (c->p[q].node < 0 || strcmp(c->p[q].ns, p->ns) ||
			    !kp_label_selector_matches(sel, c->p[q].labels))
				continue;
			const char *d = node_label(&c->n[c->p[q].node], key);
			json_t *x = d ? json_object_get(counts, d) : NULL;
			if (x)
				json_integer_set(x, json_integer_value(x) + 1);
		}
		int64_t mn = INT64_MAX, mx = 0;
		const char *k;
		json_t *v;
		json_object_foreach(counts, k, v) {
			int64_t n = json_integer_value(v);
			if (n < mn)
				mn = n;
			if (n > mx)
				mx = n;
		}
		if (json_object_size(counts) && mx - mn > max_skew)
			violation(c, "topology spread %s in %s: skew %lld > maxSkew %lld", key, p->ns,
				  (long long)(mx - mn), (long long)max_skew);
		json_decref(counts);
		kp_label_selector_free(sel);
		free(sig);
		free(full);
	}
}

static void stats3(const double *v, size_t n, double *mean, double *sd, double *mx)
{
	double s = 0, s2 = 0, m = 0;
	for (size_t i = 0; i < n; i++) {
		s += v[i];
		if (v[i] > m)
			m = v[i];
	}
	*mean = n ? s / (double)n : 0;
	for (size_t i = 0; i < n; i++)
		s2 += (v[i] - *mean) * (v[i] - *mean);
	*sd = n ? sqrt(s2 / (double)n) : 0;
	*mx = m;
}

void sb_check_placement(struct sb_result *r)
{
	struct check c = { .r = r };
	r->violations = 0;
	free(r->node_cpu);
	free(r->node_mem);
	r->node_cpu = r->node_mem = NULL;
	json_decref(r->violation_list);
	r->violation_list = json_array();
	c.nn = json_array_size(r->nodes_final);
	c.np = json_array_size(r->pods_final);
	c.n = calloc(c.nn + 1, sizeof(*c.n));
	c.p = calloc(c.np + 1, sizeof(*c.p));
	c.domains = json_object();
	json_t *index = json_object();
	if (!c.n || !c.p || !index)
		goto out;
	for (size_t i = 0; i < c.nn; i++) {
		json_t *o = json_array_get(r->nodes_final, i);
		struct cnode *n = &c.n[i];
		n->name = kp_obj_name(o);
		n->labels = kp_obj_labels(o);
		n->taints = kp_obj_get(o, "spec.taints");
		n->unschedulable = kp_obj_bool(o, "spec.unschedulable", false);
		n->alloc = json_object();
		n->used = json_object();
		json_t *a = kp_obj_get(o, "status.allocatable");
		if (!a)
			a = kp_obj_get(o, "status.capacity");
		const char *k;
		json_t *v;
		json_object_foreach(a, k, v)
			json_object_set_new(n->alloc, k, json_integer(sb_quantity_milli(v)));
		if (n->name)
			json_object_set_new(index, n->name, json_integer((json_int_t)i));
	}
	for (size_t i = 0; i < c.np; i++) {
		json_t *o = json_array_get(r->pods_final, i);
		struct cpod *p = &c.p[i];
		p->obj = o;
		p->ns = kp_obj_namespace(o) ? kp_obj_namespace(o) : "default";
		p->labels = kp_obj_labels(o);
		const char *nn = kp_obj_str(o, "spec.nodeName");
		json_t *x = nn && *nn ? json_object_get(index, nn) : NULL;
		p->node = x ? (int32_t)json_integer_value(x) : -1;
		if (nn && *nn && !x)
			violation(&c, "pod %s/%s bound to unknown node %s", p->ns, kp_obj_name(o), nn);
		if (p->node < 0)
			continue;
		struct cnode *n = &c.n[p->node];
		n->npods++;
		json_t *req = pod_requests(o);
		const char *k;
		json_t *v;
		json_object_foreach(req, k, v)
			add_milli(n->used, k, json_integer_value(v));
		json_decref(req);
		if (!node_matches_pod(&c, o, (size_t)p->node))
			violation(&c, "pod %s/%s on %s: nodeSelector/required node affinity does not match",
				  p->ns, kp_obj_name(o), n->name);
		size_t ti;
		json_t *t;
		json_array_foreach(n->taints, ti, t) {
			const char *e = json_string_value(json_object_get(t, "effect"));
			if (e && (!strcmp(e, "NoSchedule") || !strcmp(e, "NoExecute")) && !tolerated(o, t))
				violation(&c, "pod %s/%s on %s: taint %s:%s not tolerated", p->ns,
					  kp_obj_name(o), n->name,
					  json_string_value(json_object_get(t, "key")), e);
		}
		if (n->unschedulable) {
			json_t *tt = json_pack("{s:s,s:s}", "key", "node.kubernetes.io/unschedulable",
					       "effect", "NoSchedule");
			if (!tolerated(o, tt))
				violation(&c, "pod %s/%s on unschedulable node %s", p->ns, kp_obj_name(o), n->name);
			json_decref(tt);
		}
	}
	/* resources and pod count */
	r->node_cpu = calloc(c.nn + 1, sizeof(double));
	r->node_mem = calloc(c.nn + 1, sizeof(double));
	for (size_t i = 0; i < c.nn; i++) {
		struct cnode *n = &c.n[i];
		const char *k;
		json_t *v;
		json_object_foreach(n->used, k, v) {
			json_t *a = json_object_get(n->alloc, k);
			int64_t have = a ? json_integer_value(a) : 0;
			if (json_integer_value(v) > have)
				violation(&c, "node %s: %s requested %lldm > allocatable %lldm", n->name, k,
					  (long long)json_integer_value(v), (long long)have);
		}
		json_t *pa = json_object_get(n->alloc, "pods");
		if (pa && n->npods * 1000 > json_integer_value(pa))
			violation(&c, "node %s: %lld pods > allocatable %lld", n->name, (long long)n->npods,
				  (long long)(json_integer_value(pa) / 1000));
		json_t *cu = json_object_get(n->used, "cpu"), *ca = json_object_get(n->alloc, "cpu");
		json_t *mu = json_object_get(n->used, "memory"), *ma = json_object_get(n->alloc, "memory");
		if (r->node_cpu && ca && json_integer_value(ca) > 0)
			r->node_cpu[i] = (double)(cu ? json_integer_value(cu) : 0) / (double)json_integer_value(ca);
		if (r->node_mem && ma && json_integer_value(ma) > 0)
			r->node_mem[i] = (double)(mu ? json_integer_value(mu) : 0) / (double)json_integer_value(ma);
	}
	if (r->node_cpu && r->node_mem) {
		stats3(r->node_cpu, c.nn, &r->cpu_mean, &r->cpu_sd, &r->cpu_max);
		stats3(r->node_mem, c.nn, &r->mem_mean, &r->mem_sd, &r->mem_max);
	}
	json_t *seen = json_object();
	for (size_t i = 0; i < c.np; i++) {
		if (c.p[i].node < 0)
			continue;
		check_pod_terms(&c, i, true);
		check_pod_terms(&c, i, false);
		check_spread(&c, seen, i);
	}
	json_decref(seen);
out:
	for (size_t i = 0; c.n && i < c.nn; i++) {
		json_decref(c.n[i].alloc);
		json_decref(c.n[i].used);
	}
	free(c.n);
	free(c.p);
	json_decref(c.domains);
	json_decref(index);
}

/* ------------------------------------------------------------------ */
/* output                                                             */

static json_t *item(const char *name, const char *metric, const char *unit, json_t *data)
{
	return json_pack("{s:o,s:s,s:{s:s,s:s}}", "data", data, "unit", unit, "labels", "Name", name,
			 "Metric", metric);
}

static int cmp_run_avg(const void *a, const void *b)
{
	return cmp_double(a, b);
}

void sb_data_items(json_t *items, const struct sb_result *rs, const struct sb_summary *ss,
		   size_t n, size_t med)
{
	const struct sb_result *r = &rs[med];
	const struct sb_summary *s = &ss[med];
	json_t *tp = json_pack("{s:f,s:f,s:f,s:f,s:f}", "Average", s->tput_avg, "Perc50", s->tput_p50,
			       "Perc90", s->tput_p90, "Perc95", s->tput_p95, "Perc99", s->tput_p99);
	if (n > 1) {
		double *avgs = calloc(n, sizeof(double));
		for (size_t i = 0; avgs && i < n; i++)
			avgs[i] = ss[i].tput_avg;
		if (avgs) {
			qsort(avgs, n, sizeof(double), cmp_run_avg);
			json_object_set_new(tp, "RunsMin", json_real(avgs[0]));
			json_object_set_new(tp, "RunsMax", json_real(avgs[n - 1]));
			json_object_set_new(tp, "Runs", json_integer((json_int_t)n));
			free(avgs);
		}
	}
	json_array_append_new(items, item(r->name, "SchedulingThroughput", "pods/s", tp));
	if (r->nattempts)
		json_array_append_new(items, item(r->name, "scheduler_scheduling_attempt_duration_seconds", "ms",
						  json_pack("{s:f,s:f,s:f,s:f,s:f}", "Average", s->att_avg, "Perc50", s->att_p50,
							    "Perc90", s->att_p90, "Perc95", s->att_p95, "Perc99", s->att_p99)));
	json_array_append_new(items, item(r->name, "scheduler_pod_scheduling_sli_duration_seconds", "ms",
					  json_pack("{s:f,s:f,s:f}", "Perc50", s->e2e_p50, "Perc90", s->e2e_p90,
						    "Perc99", s->e2e_p99)));
	json_array_append_new(items, item(r->name, "WallTime", "s", json_pack("{s:f}", "Value", s->wall_s)));
	if (r->cpu_ns > 0)
		json_array_append_new(items, item(r->name, "SchedulingThroughputPerCPU", "pods/cpu-s",
						  json_pack("{s:f,s:f}", "Value",
							    (double)r->scheduled / ((double)r->cpu_ns / 1e9),
							    "CPUSeconds", (double)r->cpu_ns / 1e9)));
	json_array_append_new(items, item(r->name, "Pods", "pods",
					  json_pack("{s:I,s:I,s:I,s:I}", "Measured", (json_int_t)r->measured,
						    "Scheduled", (json_int_t)r->scheduled, "Unschedulable",
						    (json_int_t)r->unschedulable, "Nodes", (json_int_t)r->nodes)));
	json_array_append_new(items, item(r->name, "PlacementViolations", "count",
					  json_pack("{s:I}", "Value", (json_int_t)r->violations)));
	json_array_append_new(items, item(r->name, "NodeUtilisation", "ratio",
					  json_pack("{s:f,s:f,s:f,s:f,s:f,s:f}", "CpuMean", r->cpu_mean, "CpuStddev",
						    r->cpu_sd, "CpuMax", r->cpu_max, "MemoryMean", r->mem_mean,
						    "MemoryStddev", r->mem_sd, "MemoryMax", r->mem_max)));
	json_t *mem = json_pack("{s:I}", "PeakRSS", (json_int_t)r->peak_rss);
	if (r->bytes_per_node >= 0)
		json_object_set_new(mem, "PerNode", json_real(r->bytes_per_node));
	if (r->bytes_per_pod >= 0)
		json_object_set_new(mem, "PerPod", json_real(r->bytes_per_pod));
	json_array_append_new(items, item(r->name, "Memory", "bytes", mem));
	/* upstream's duration metrics, one item per extension point and per
	 * plugin and extension point, with their labels */
	struct sb_hist *hs = NULL;
	size_t nh = sb_sched_hists(r->metrics_text, &hs);
	for (size_t i = 0; i < nh; i++) {
		json_t *it = item(r->name, hs[i].metric, "ms",
				  json_pack("{s:f,s:f,s:f,s:f,s:f}", "Average", hs[i].avg_ms, "Perc50",
					    hs[i].p50_ms, "Perc90", hs[i].p90_ms, "Perc95",
					    hs[i].p95_ms, "Perc99", hs[i].p99_ms));
		json_t *labels = json_object_get(it, "labels");
		if (*hs[i].plugin)
			json_object_set_new(labels, "plugin", json_string(hs[i].plugin));
		json_object_set_new(labels, "extension_point", json_string(hs[i].ext));
		json_object_set_new(labels, "profile", json_string(hs[i].profile));
		json_array_append_new(items, it);
	}
	free(hs);
	/* the scheduler's own counters (plugin counters, attempts by result):
	 * every sample line of its Prometheus text, name{labels} -> value */
	json_t *ctr = json_object();
	for (const char *l = r->metrics_text; l && *l;) {
		const char *eol = strchr(l, '\n');
		size_t len = eol ? (size_t)(eol - l) : strlen(l);
		const char *sp = memrchr(l, ' ', len);
		if (len && l[0] != '#' && sp && !strncmp(l, "kplane_scheduler", 16)) {
			char *k = strndup(l, (size_t)(sp - l));
			char *end;
			double v = strtod(sp + 1, &end);
			if (k && end == l + len)
				json_object_set_new(ctr, k, json_real(v));
			free(k);
		}
		l = eol ? eol + 1 : l + len;
	}
	if (json_object_size(ctr))
		json_array_append_new(items, item(r->name, "SchedulerCounters", "count", ctr));
	else
		json_decref(ctr);
}

/* Extension points in the order kube runs them; then the plugins that took
 * the most time. Times are the whole workload's, every profile's. */
static void print_hists(FILE *f, const struct sb_result *r)
{
	static const char *const order[] = { "PreFilter", "Filter", "PostFilter", "PreScore",
					     "Score", "Reserve", "Permit", "PreBind", "Bind",
					     "PostBind" };
	struct sb_hist *hs = NULL;
	size_t nh = sb_sched_hists(r->metrics_text, &hs), np = 0;
	if (!nh)
		return;
	/* Averages only: the percentiles (in the JSON) interpolate inside
	 * upstream's buckets, whose first ends at 0.1 ms - wider than most of
	 * these calls take. */
	fprintf(f, "  ext point  ms avg:");
	for (size_t o = 0; o < sizeof(order) / sizeof(order[0]); o++)
		for (size_t i = 0; i < nh; i++)
			if (!*hs[i].plugin && !strcmp(hs[i].ext, order[o]))
				fprintf(f, " %s %.4f", hs[i].ext, hs[i].avg_ms);
	fprintf(f, "\n");
	/* plugins to the front, most total time first */
	for (size_t i = 0; i < nh; i++)
		if (*hs[i].plugin) {
			struct sb_hist t = hs[np];
			hs[np++] = hs[i];
			hs[i] = t;
		}
	sb_hists_by_time(hs, np);
	if (np) {
		fprintf(f, "  plugins    ms avg x timed calls, most time first:");
		for (size_t i = 0; i < np && i < 6; i++)
			fprintf(f, "%s %s/%s %.4f x%.0f", i ? "," : "", hs[i].plugin, hs[i].ext,
				hs[i].avg_ms, hs[i].count);
		fprintf(f, "\n");
	}
	free(hs);
}

void sb_print_table(FILE *f, const struct sb_result *rs, const struct sb_summary *ss, size_t n,
		    size_t med, double threshold)
{
	const struct sb_result *r = &rs[med];
	const struct sb_summary *s = &ss[med];
	fprintf(f, "%s\n", r->name);
	fprintf(f, "  pods       %lld measured, %lld scheduled, %lld unschedulable; %lld nodes; wall %.3f s\n",
		(long long)r->measured, (long long)r->scheduled, (long long)r->unschedulable,
		(long long)r->nodes, s->wall_s);
	fprintf(f, "  pods/s     avg %.0f  p50 %.0f  p90 %.0f  p95 %.0f  p99 %.0f  (%zu samples)\n",
		s->tput_avg, s->tput_p50, s->tput_p90, s->tput_p95, s->tput_p99, s->nsamples);
	if (n > 1) {
		double mn = ss[0].tput_avg, mx = ss[0].tput_avg;
		for (size_t i = 1; i < n; i++) {
			if (ss[i].tput_avg < mn)
				mn = ss[i].tput_avg;
			if (ss[i].tput_avg > mx)
				mx = ss[i].tput_avg;
		}
		fprintf(f, "  runs       %zu: median %.0f  min %.0f  max %.0f pods/s\n", n, s->tput_avg, mn, mx);
	}
	if (r->cpu_ns > 0)
		fprintf(f, "  cpu        %.3f s of process CPU: %.0f pods per CPU-second\n",
			(double)r->cpu_ns / 1e9, (double)r->scheduled / ((double)r->cpu_ns / 1e9));
	if (threshold > 0)
		fprintf(f, "  upstream   threshold %.0f pods/s: %.1fx\n", threshold, s->tput_avg / threshold);
	if (r->nattempts)
		fprintf(f, "  attempt    ms p50 %.4f  p90 %.4f  p99 %.4f  avg %.4f  (%zu attempts)\n", s->att_p50,
			s->att_p90, s->att_p99, s->att_avg, r->nattempts);
	print_hists(f, r);
	fprintf(f, "  e2e        ms p50 %.3f  p90 %.3f  p99 %.3f (created -> bound)\n", s->e2e_p50,
		s->e2e_p90, s->e2e_p99);
	fprintf(f, "  placement  %lld violations; cpu mean %.3f sd %.3f max %.3f; memory mean %.3f sd %.3f max %.3f\n",
		(long long)r->violations, r->cpu_mean, r->cpu_sd, r->cpu_max, r->mem_mean, r->mem_sd,
		r->mem_max);
	size_t i;
	json_t *v;
	json_array_foreach(r->violation_list, i, v)
		fprintf(f, "    ! %s\n", json_string_value(v));
	fprintf(f, "  memory     peak RSS %.1f MiB", (double)r->peak_rss / 1048576.0);
	if (r->bytes_per_node >= 0)
		fprintf(f, "; cache %.0f B/node", r->bytes_per_node);
	if (r->bytes_per_pod >= 0)
		fprintf(f, ", %.0f B/pod", r->bytes_per_pod);
	fprintf(f, "\n");
}

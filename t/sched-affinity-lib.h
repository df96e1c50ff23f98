/*
 * sched-affinity-lib.h - hand-built pods and nodes for the InterPodAffinity
 * / PodTopologySpread unit tests (t2140, t2141, t3140, t3141), calling the
 * plugins through their static descriptors (kp_plugin_<Name>, built with
 * -DKP_PLUGIN_STATIC: no dlopen).
 *
 * The snapshot is the framework's real cache (struct kp__cache, whose first
 * member is the kp_snapshot plugins see): namespaces and other objects go
 * in through kp__cache_set_object(), so kp_snapshot_namespace_labels(),
 * kp_snapshot_object() and kp_snapshot_each_object() are libkplane's own.
 * Cycles are real cycle states (kp__cycle_init: arena, release callbacks).
 * Only the node list is the test's: nodes and pods are compiled by hand so
 * that each test states exactly the fields it exercises.
 *
 * Everything allocated here lives until the program exits, then it is
 * released (caches, compiled selectors, args) and freed (t_free_all), so
 * that LeakSanitizer reports only leaks of the code under test.
 */
#ifndef KPLANE_T_SCHED_AFFINITY_LIB_H
#define KPLANE_T_SCHED_AFFINITY_LIB_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/object.h>
#include <kplane/plugin.h>
#include <kplane/selector.h>

#include "core/sched/internal.h"
#include "t/tap.h"

#define T_MAX 64

/* Release functions run at exit, before the blocks are freed. */
struct t_defer {
	void (*fn)(void *);
	void *arg;
};
static struct t_defer t_defers[1024];
static int t_ndefers;

static void t_run_defers(void)
{
	while (t_ndefers > 0) {
		t_ndefers--;
		t_defers[t_ndefers].fn(t_defers[t_ndefers].arg);
	}
}

static inline void t_defer(void (*fn)(void *), void *arg)
{
	static bool registered;
	if (!registered) {
		atexit(t_run_defers);
		registered = true;
	}
	if (t_ndefers == 1024) {
		fprintf(stderr, "too many deferred releases\n");
		exit(99);
	}
	t_defers[t_ndefers++] = (struct t_defer){ fn, arg };
}

static inline void t_isel_release(void *arg)
{
	kp_isel_release(arg);
}

static inline void t_json_release(void *arg)
{
	json_decref(arg);
}

/* Every block t_alloc hands out is chained here and freed at exit, so that
 * LeakSanitizer reports only leaks of the code under test. */
struct t_block {
	struct t_block *next;
	max_align_t data[];
};
static struct t_block *t_blocks;

static void t_free_all(void)
{
	while (t_blocks) {
		struct t_block *b = t_blocks;
		t_blocks = b->next;
		free(b);
	}
}

static inline void *t_alloc(size_t n)
{
	struct t_block *b = calloc(1, sizeof(*b) + (n ? n : 1));
	if (!b) {
		fprintf(stderr, "out of memory\n");
		exit(99);
	}
	if (!t_blocks)
		atexit(t_free_all);
	b->next = t_blocks;
	t_blocks = b;
	return b->data;
}

static inline int t_cmp_label(const void *a, const void *b)
{
	const struct kp_label *x = a, *y = b;
	return (x->key > y->key) - (x->key < y->key);
}

/* "k=v,k2=v2" -> sorted interned labels ("" -> none). */
static inline struct kp_labels t_labels(const char *spec)
{
	struct kp_labels out = { 0, NULL };
	struct kp_label *v = t_alloc(sizeof(*v) * 32);
	char *copy = strdup(spec), *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		*eq = 0;
		v[out.n].key = kp_intern(tok);
		v[out.n].value = kp_intern(eq + 1);
		out.n++;
	}
	free(copy);
	qsort(v, out.n, sizeof(*v), t_cmp_label);
	out.v = v;
	return out;
}

/* A compiled selector from the string syntax; "!nothing" is the selector
 * of an absent labelSelector (matches nothing). */
static inline struct kp_isel t_sel(const char *s)
{
	struct kp_isel out;
	memset(&out, 0, sizeof(out));
	if (!strcmp(s, "!nothing")) {
		out.nothing = true;
		return out;
	}
	struct kp_label_selector *ls = NULL;
	char *err = NULL;
	if (kp_label_selector_parse(s, &ls, &err) < 0 || kp_isel_compile(ls, &out, &err) < 0) {
		fprintf(stderr, "bad selector %s: %s\n", s, err ? err : "?");
		exit(99);
	}
	kp_label_selector_free(ls);
	/* the returned struct is copied into the pod: release that copy's block */
	struct kp_isel *keep = t_alloc(sizeof(*keep));
	*keep = out;
	t_defer(t_isel_release, keep);
	return out;
}

/* ---- pods */

enum { T_REQ_AFF, T_PREF_AFF, T_REQ_ANTI, T_PREF_ANTI };

struct tpod {
	struct kp_pod_info info;
	struct kp_pod_affinity_term terms[4][8];
	uint32_t nterms[4];
	struct kp_spread_constraint spread[8];
	struct kp_toleration tols[4];
	struct kp_node_term req_node_terms[2];
};

static inline struct tpod *t_pod(const char *ns, const char *name, const char *labels)
{
	struct tpod *p = t_alloc(sizeof(*p));
	p->info.ns = ns;
	p->info.name = name;
	p->info.uid = name;
	p->info.ns_id = kp_intern(ns);
	p->info.node_name = KP_ID_NONE;
	p->info.nominated_node = KP_ID_NONE;
	p->info.labels = t_labels(labels);
	p->info.spread = p->spread;
	p->info.tolerations = p->tols;
	return p;
}

static inline void t_pod_sync(struct tpod *p)
{
	struct kp_pod_affinity *a = &p->info.affinity;
	a->req_affinity = p->terms[T_REQ_AFF];
	a->nreq_affinity = p->nterms[T_REQ_AFF];
	a->pref_affinity = p->terms[T_PREF_AFF];
	a->npref_affinity = p->nterms[T_PREF_AFF];
	a->req_anti = p->terms[T_REQ_ANTI];
	a->nreq_anti = p->nterms[T_REQ_ANTI];
	a->pref_anti = p->terms[T_PREF_ANTI];
	a->npref_anti = p->nterms[T_PREF_ANTI];
	p->info.flags &= ~(KP_POD_HAS_AFFINITY | KP_POD_HAS_REQ_ANTI);
	if (a->nreq_affinity || a->npref_affinity || a->nreq_anti || a->npref_anti)
		p->info.flags |= KP_POD_HAS_AFFINITY;
	if (a->nreq_anti)
		p->info.flags |= KP_POD_HAS_REQ_ANTI;
}

/*
 * Adds a pod (anti-)affinity term. namespaces: comma list or NULL (none);
 * ns_sel: NULL = no namespaceSelector, "" = {} (all), else a selector.
 * Like the pod compiler, a term with neither gets the pod's own namespace.
 */
static inline struct kp_pod_affinity_term *t_term(struct tpod *p, int kind, const char *sel,
					   const char *topology_key, int weight,
					   const char *namespaces, const char *ns_sel)
{
	struct kp_pod_affinity_term *t = &p->terms[kind][p->nterms[kind]++];
	t->selector = t_sel(sel);
	t->topology_key = kp_intern(topology_key);
	t->weight = weight;
	int32_t *ids = t_alloc(sizeof(int32_t) * 8);
	if (namespaces) {
		char *copy = strdup(namespaces), *save = NULL;
		for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			ids[t->nnamespaces++] = kp_intern(tok);
		free(copy);
	}
	if (ns_sel) {
		t->has_ns_selector = true;
		t->ns_selector = t_sel(ns_sel);
	}
	if (!t->nnamespaces && !t->has_ns_selector)
		ids[t->nnamespaces++] = p->info.ns_id;
	t->namespaces = ids;
	t_pod_sync(p);
	return t;
}

static inline struct kp_spread_constraint *t_spread(struct tpod *p, int max_skew, const char *key,
					     uint32_t when, const char *sel)
{
	struct kp_spread_constraint *c = &p->spread[p->info.nspread++];
	c->max_skew = max_skew;
	c->topology_key = kp_intern(key);
	c->when = when;
	c->min_domains = 1;
	c->node_affinity_policy = KP_SPREAD_POLICY_HONOR;
	c->node_taints_policy = KP_SPREAD_POLICY_IGNORE;
	c->selector = t_sel(sel);
	return c;
}

/* spec.affinity.nodeAffinity required: one term of match expressions. */
static inline void t_node_affinity(struct tpod *p, const char *exprs)
{
	p->req_node_terms[0].exprs = t_sel(exprs);
	p->req_node_terms[0].fields.n = 0;
	p->req_node_terms[0].fields.nothing = false;
	p->info.node_affinity.has_required = true;
	p->info.node_affinity.nrequired = 1;
	p->info.node_affinity.required = p->req_node_terms;
}

/* ---- nodes and snapshot */

struct tnode {
	struct kp_node_info info;
	const struct kp_pod_info *pods[T_MAX], *aff[T_MAX], *anti[T_MAX];
	struct kp_taint taints[4];
};

static inline struct tnode *t_node(const char *name, const char *labels)
{
	struct tnode *n = t_alloc(sizeof(*n));
	n->info.name = name;
	n->info.name_id = kp_intern(name);
	n->info.labels = t_labels(labels);
	n->info.pods = n->pods;
	n->info.pods_with_affinity = n->aff;
	n->info.pods_with_req_anti = n->anti;
	n->info.taints = n->taints;
	return n;
}

static inline void t_taint(struct tnode *n, const char *key, const char *value, uint32_t effect)
{
	struct kp_taint *t = &n->taints[n->info.ntaints++];
	t->key = kp_intern(key);
	t->value = kp_intern(value);
	t->effect = effect;
}

static inline void t_bind(struct tnode *n, struct tpod *p)
{
	p->info.node_name = n->info.name_id;
	n->pods[n->info.npods++] = &p->info;
	if (p->info.flags & KP_POD_HAS_AFFINITY)
		n->aff[n->info.npods_with_affinity++] = &p->info;
	if (p->info.flags & KP_POD_HAS_REQ_ANTI)
		n->anti[n->info.npods_with_req_anti++] = &p->info;
}

struct tsnap {
	union {
		struct kp__cache cache;   /* the framework's cache ... */
		struct kp_snapshot snap;  /* ... whose first member plugins see */
	};
	const struct kp_node_info *nodes[T_MAX], *aff[T_MAX], *anti[T_MAX];
};

static inline void t_snap_release(void *arg)
{
	struct tsnap *s = arg;
	kp__cache_release(&s->cache);
}

static inline struct tsnap *t_snap(void)
{
	struct tsnap *s = t_alloc(sizeof(*s));
	kp__cache_init(&s->cache);
	t_defer(t_snap_release, s);
	s->snap.nodes = s->nodes;
	s->snap.nodes_with_affinity = s->aff;
	s->snap.nodes_with_req_anti = s->anti;
	return s;
}

/* Adds the nodes (NULL-terminated) and computes the affinity lists; call
 * after binding pods. */
static inline void t_snap_nodes(struct tsnap *s, ...)
{
	va_list ap;
	va_start(ap, s);
	for (struct tnode *n; (n = va_arg(ap, struct tnode *));) {
		n->info.index = (int32_t)s->snap.nnodes;
		s->nodes[s->snap.nnodes++] = &n->info;
		if (n->info.npods_with_affinity)
			s->aff[s->snap.nnodes_with_affinity++] = &n->info;
		if (n->info.npods_with_req_anti)
			s->anti[s->snap.nnodes_with_req_anti++] = &n->info;
	}
	va_end(ap);
}

static inline json_t *t_json(const char *json_text)
{
	json_error_t e;
	json_t *o = json_loads(json_text, 0, &e);
	if (!o) {
		fprintf(stderr, "bad JSON: %s\n", e.text);
		exit(99);
	}
	return o;
}

/* A Namespace object with labels "k=v,k2=v2" into the cache. */
static inline void t_namespace(struct tsnap *s, const char *name, const char *labels)
{
	json_t *l = json_object();
	char *copy = strdup(labels), *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		*eq = 0;
		json_object_set_new(l, tok, json_string(eq + 1));
	}
	free(copy);
	json_t *ns = json_pack("{s:s,s:{s:s,s:o}}", "kind", "Namespace", "metadata", "name", name,
			       "labels", l);
	kp__cache_set_object(&s->cache, "Namespace", NULL, name, ns);
	json_decref(ns);
}

/* Caches an object (JSON text) of kind for kp_snapshot_object/_each_object. */
static inline void t_object(struct tsnap *s, const char *kind, const char *json_text)
{
	json_t *o = t_json(json_text);
	kp__cache_set_object(&s->cache, kind, kp_obj_str(o, "metadata.namespace"),
			     kp_obj_str(o, "metadata.name"), o);
	json_decref(o);
}

/* ---- running a plugin */

struct tcycle {
	struct kp_cycle cy;
};

/* Ends the attempt: runs its release callbacks (frees plugin state). */
static inline void t_cycle_end(struct tcycle *c)
{
	if (c)
		kp__cycle_release(&c->cy);
}

/* A fresh real cycle state over s in c (ending what c held). */
static inline void t_cycle_init(struct tcycle *c, struct tsnap *s)
{
	kp__cycle_release(&c->cy);
	if (kp__cycle_init(&c->cy, &s->snap, 2) < 0) {
		fprintf(stderr, "out of memory\n");
		exit(99);
	}
}

static struct tcycle t_the_cycle;

static inline void t_cycle_atexit(void *arg)
{
	t_cycle_end(arg);
}

/* The test's current cycle, fresh over s (the previous attempt ends). */
static inline struct tcycle *t_cycle(struct tsnap *s)
{
	static bool registered;
	if (!registered) {
		t_defer(t_cycle_atexit, &t_the_cycle);
		registered = true;
	}
	t_cycle_init(&t_the_cycle, s);
	return &t_the_cycle;
}

/*
 * The plugin's args struct filled from its spec's defaults, then from
 * args_json (an object, may be NULL), as the framework does; *out is
 * owned by the test.
 */
static inline void *t_args(const struct kp_plugin *pl, const char *args_json)
{
	char *a = t_alloc(pl->args_size);
	json_t *given = args_json ? json_loads(args_json, 0, NULL) : NULL;
	if (given)
		t_defer(t_json_release, given);
	for (const struct kp_arg_spec *sp = pl->args; sp && sp->name; sp++) {
		json_t *v = given ? json_object_get(given, sp->name) : NULL;
		json_t *def = sp->def ? json_loads(sp->def, JSON_DECODE_ANY, NULL) : NULL;
		if (!v)
			v = def;
		if (v) {
			switch (sp->type) {
			case KP_ARG_BOOL:
				*(bool *)(a + sp->offset) = json_is_true(v);
				break;
			case KP_ARG_INT:
				*(int64_t *)(a + sp->offset) = json_integer_value(v);
				break;
			case KP_ARG_STRING: {
				char *str = strdup(json_string_value(v));
				t_defer(free, str);
				*(const char **)(a + sp->offset) = str;
				break;
			}
			case KP_ARG_JSON:
				t_defer(t_json_release, json_incref(v));
				*(const json_t **)(a + sp->offset) = v;
				break;
			}
		}
		json_decref(def);
	}
	return a;
}

/* init with args (JSON text or NULL); returns init's code, self in *self. */
static inline int t_init(const struct kp_plugin *pl, const char *args_json, void **self, char **errmsg)
{
	struct kp_sched_init in;
	memset(&in, 0, sizeof(in));
	in.args = pl->args ? t_args(pl, args_json) : NULL;
	in.slot = 0;
	in.profile = "default-scheduler";
	*self = NULL;
	return pl->sched->init(&in, self, errmsg);
}

static inline void *t_init_ok(const struct kp_plugin *pl, const char *args_json)
{
	void *self;
	char *err = NULL;
	if (t_init(pl, args_json, &self, &err) < 0) {
		fprintf(stderr, "init %s failed: %s\n", pl->name, err);
		exit(99);
	}
	return self;
}

/* Filter result of one node as "OK" or "<code>: <reason>". */
static inline const char *t_filter(const struct kp_plugin *pl, void *self, struct tcycle *c,
			    struct tpod *p, struct tnode *n)
{
	static char buf[512];
	struct kp_status st;
	memset(&st, 0, sizeof(st));
	int code = pl->sched->filter(self, &c->cy, &p->info, &n->info, &st);
	if (code == KP_STATUS_SUCCESS)
		return "OK";
	snprintf(buf, sizeof(buf), "%s: %s",
		 code == KP_STATUS_UNSCHEDULABLE ? "Unschedulable"
		 : code == KP_STATUS_UNRESOLVABLE ? "UnschedulableAndUnresolvable"
						    : "Other",
		 st.nreasons ? st.reasons[0] : "");
	return buf;
}

static inline int t_pre_filter(const struct kp_plugin *pl, void *self, struct tcycle *c, struct tpod *p)
{
	struct kp_status st;
	memset(&st, 0, sizeof(st));
	return pl->sched->pre_filter(self, &c->cy, &p->info, NULL, &st);
}

/*
 * PreScore + Score + NormalizeScore over nodes (NULL-terminated) into out[];
 * returns the PreScore code (out[] all 0 when it is SKIP).
 */
static inline int t_scores(const struct kp_plugin *pl, void *self, struct tcycle *c, struct tpod *p,
		    int64_t *out, ...)
{
	const struct kp_node_info *nodes[T_MAX];
	size_t n = 0;
	va_list ap;
	va_start(ap, out);
	for (struct tnode *nd; (nd = va_arg(ap, struct tnode *));)
		nodes[n++] = &nd->info;
	va_end(ap);
	struct kp_status st;
	memset(&st, 0, sizeof(st));
	for (size_t i = 0; i < n; i++)
		out[i] = 0;
	int code = pl->sched->pre_score(self, &c->cy, &p->info, nodes, n, &st);
	if (code != KP_STATUS_SUCCESS)
		return code;
	for (size_t i = 0; i < n; i++) {
		if (pl->sched->score(self, &c->cy, &p->info, nodes[i], &out[i], &st) != KP_STATUS_SUCCESS)
			return KP_STATUS_ERROR;
	}
	return pl->sched->normalize_score(self, &c->cy, &p->info, nodes, out, n, &st);
}

#endif

/*
 * volume-binding.c - VolumeBinding: a pod's PersistentVolumeClaims against
 * PersistentVolumes, StorageClasses and the node (kube-scheduler's
 * plugins/volumebinding with its volume binder).
 *
 *  PreFilter  resolves the pod's claims (spec.volumes[].persistentVolumeClaim
 *             and generic ephemeral volumes), refuses missing, lost or
 *             deleting claims and unbound Immediate ones, and compiles every
 *             PersistentVolume it will look at (node affinity, capacity,
 *             access modes) so Filter does no JSON work. Bound local volumes
 *             restrict the node set (kube's GetEligibleNodes).
 *  Filter     bound claims: their volume's node affinity must admit the node;
 *             WaitForFirstConsumer claims: the smallest fitting available
 *             volume per claim, else dynamic provisioning if the class has a
 *             provisioner and its allowedTopologies admit the node.
 *  Reserve    assumes the chosen bindings (an overlay over the snapshot, so
 *             the next pods do not pick the same volume); Unreserve drops them.
 *  PreBind    writes the bindings through the host.
 *
 * kplane has no PersistentVolume controller, so PreBind does the binding
 * work that controller would do after kube-scheduler's PreBind (both sides
 * of a static binding, bind-completed annotation, phase Bound) and does not
 * wait for it; see docs/plugins-reference-volumes-preemption.md for this and
 * for what is left out (Score/VolumeCapacityPriority, CSIStorageCapacity,
 * CSI migration).
 */
#include "config.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/object.h>
#include <kplane/plugin.h>
#include <kplane/quantity.h>
#include <kplane/selector.h>

#define ANN_BIND_COMPLETED "pv.kubernetes.io/bind-completed"
#define ANN_BOUND_BY_CONTROLLER "pv.kubernetes.io/bound-by-controller"
#define ANN_SELECTED_NODE "volume.kubernetes.io/selected-node"
#define ANN_BETA_CLASS "volume.beta.kubernetes.io/storage-class"
#define NO_PROVISIONER "kubernetes.io/no-provisioner"
#define LABEL_HOSTNAME "kubernetes.io/hostname"

/* kube-scheduler's ConflictReasons, in the order it appends them. */
#define R_NODE_CONFLICT "node(s) had volume node affinity conflict"
#define R_BIND_CONFLICT "node(s) didn't find available persistent volumes to bind"
#define R_PV_MISSING "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"

/* Access modes as bits; anything else shares one bit (API validation keeps
 * it from happening). */
#define AM_RWO 0x1u
#define AM_ROX 0x2u
#define AM_RWX 0x4u
#define AM_RWOP 0x8u
#define AM_OTHER 0x80000000u

/* ------------------------------------------------------------------ */
/* Assumed bindings (kube's assume cache), shared across attempts       */

enum { ASSUMED_PV = 1, ASSUMED_PVC = 2 };

struct assumed {
	int kind;
	char *key;        /* PV name, or "<ns>/<name>" of a claim */
	uint64_t rv;      /* object's resourceVersion when assumed */
	char *claim_ns, *claim_name, *claim_uid; /* PV: the claim it is bound to */
	char *node;       /* PVC: the selected node */
	char *pod_uid;    /* whose Reserve made it */
};

struct self {
	int slot;
	struct kp_sched_handle *handle;
	int32_t empty_id;        /* id of "": the node name kube's CheckNodeAffinity sees */
	int32_t hostname_key;
	pthread_mutex_t lock;    /* assumed: PreFilter/Reserve vs Unreserve/PreBind threads */
	struct assumed *assumed;
	size_t nassumed, cap_assumed;
};

static void assumed_clear(struct assumed *a)
{
	free(a->key);
	free(a->claim_ns);
	free(a->claim_name);
	free(a->claim_uid);
	free(a->node);
	free(a->pod_uid);
}

static void assumed_remove_at(struct self *s, size_t i)
{
	assumed_clear(&s->assumed[i]);
	s->assumed[i] = s->assumed[--s->nassumed];
}

/* Index of the assumed entry for (kind, key), or -1. Caller holds lock. */
static long assumed_find(const struct self *s, int kind, const char *key)
{
	for (size_t i = 0; i < s->nassumed; i++)
		if (s->assumed[i].kind == kind && !strcmp(s->assumed[i].key, key))
			return (long)i;
	return -1;
}

static char *xstrdup(const char *p)
{
	return strdup(p ? p : "");
}

/* ------------------------------------------------------------------ */
/* Per-attempt state                                                  */

struct pv {
	const json_t *obj;
	const char *name;
	uint64_t rv;
	struct kp_quantity cap;
	uint32_t modes;
	bool block;
	bool deleting;
	bool available;            /* status.phase == Available */
	const char *claim_ns, *claim_name, *claim_uid; /* claimRef (assumed one wins); NULL = none */
	const char *class_name;
	bool has_affinity;         /* spec.nodeAffinity.required given */
	uint32_t nterms;
	struct kp_node_term *terms;
};

/* allowedTopologies term: AND of "key In values". */
struct topo_term {
	struct kp_isel sel;
	bool valid;
};

struct claim {
	const json_t *obj;
	const char *name, *uid;
	uint64_t rv;
	struct kp_quantity req;
	uint32_t modes;
	bool block;
	const char *class_name;
	bool has_selected_node;
	const char *selected_node;
	/* candidate volumes of the claim's class, in snapshot order */
	uint32_t ncand;
	int32_t *cand_pv;
	bool *cand_prebound;
	/* provisioning: */
	int class_state;           /* CLASS_* */
	uint32_t ntopo;
	struct topo_term *topo;
};

enum { CLASS_OK = 0, CLASS_NONE, CLASS_MISSING, CLASS_NO_PROVISIONER };

struct bound {
	int32_t pv;                /* index in pvs, -1 when the volume does not exist */
};

struct node_result {
	bool ok;                   /* Filter succeeded on this node */
	uint32_t nstatic, nprov;
};

struct state {
	bool skip;
	uint32_t nbound;
	struct bound *bound;
	uint32_t nclaims;          /* WaitForFirstConsumer claims, in volume order */
	struct claim *claims;
	uint32_t *by_size;         /* claim indexes sorted by request, stable */
	uint32_t npvs, cap_pvs;
	struct pv *pvs;
	uint32_t nnodes;
	struct node_result *nodes;
	int32_t *st_pv, *st_claim, *prov; /* nnodes * nclaims each */
	/* Reserve -> PreBind */
	bool all_bound;
	json_t *writes;            /* objects PreBind writes, in order (own ref) */
	const char *ns;
	/* what to release */
	struct kp_label_selector **sels;
	uint32_t nsels, cap_sels;
	void **allocs;
	uint32_t nallocs, cap_allocs;
};

static void *st_alloc(struct state *st, size_t size)
{
	if (st->nallocs == st->cap_allocs) {
		uint32_t nc = st->cap_allocs ? st->cap_allocs * 2 : 16;
		void *v = realloc(st->allocs, nc * sizeof(*st->allocs));
		if (!v)
			return NULL;
		st->allocs = v;
		st->cap_allocs = nc;
	}
	void *p = calloc(1, size ? size : 1);
	if (p)
		st->allocs[st->nallocs++] = p;
	return p;
}

static char *st_strdup(struct state *st, const char *p)
{
	size_t n = strlen(p ? p : "");
	char *d = st_alloc(st, n + 1);
	if (d && n)
		memcpy(d, p, n);
	return d;
}

static void state_free(void *arg)
{
	struct state *st = arg;
	if (!st)
		return;
	for (uint32_t i = 0; i < st->npvs; i++) {
		for (uint32_t j = 0; j < st->pvs[i].nterms; j++) {
			kp_isel_release(&st->pvs[i].terms[j].exprs);
			kp_isel_release(&st->pvs[i].terms[j].fields);
		}
	}
	for (uint32_t i = 0; i < st->nclaims; i++)
		for (uint32_t j = 0; j < st->claims[i].ntopo; j++)
			kp_isel_release(&st->claims[i].topo[j].sel);
	for (uint32_t i = 0; i < st->nsels; i++)
		kp_label_selector_free(st->sels[i]);
	free(st->sels);
	for (uint32_t i = 0; i < st->nallocs; i++)
		free(st->allocs[i]);
	free(st->allocs);
	free(st->pvs);
	json_decref(st->writes);
	free(st);
}

/* ------------------------------------------------------------------ */
/* Reading objects (PreFilter only)                                   */

static uint32_t access_modes(const json_t *arr)
{
	uint32_t m = 0;
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);
		if (!s)
			continue;
		if (!strcmp(s, "ReadWriteOnce"))
			m |= AM_RWO;
		else if (!strcmp(s, "ReadOnlyMany"))
			m |= AM_ROX;
		else if (!strcmp(s, "ReadWriteMany"))
			m |= AM_RWX;
		else if (!strcmp(s, "ReadWriteOncePod"))
			m |= AM_RWOP;
		else
			m |= AM_OTHER;
	}
	return m;
}

/* volumeMode; nil means Filesystem on both sides. */
static bool is_block(const json_t *spec)
{
	const char *m = kp_obj_str(spec, "volumeMode");
	return m && !strcmp(m, "Block");
}

/* A storage quantity; absent or malformed reads as zero, as an absent entry
 * of a ResourceList does in Go. */
static struct kp_quantity storage_qty(const json_t *list)
{
	struct kp_quantity q = kp_quantity_make(0, 0, KP_QUANTITY_BINARY_SI);
	const char *s = kp_obj_str(list, "storage");
	if (s && kp_quantity_parse(s, &q, NULL) < 0)
		q = kp_quantity_make(0, 0, KP_QUANTITY_BINARY_SI);
	return q;
}

/* GetPersistentVolumeClaimClass / GetPersistentVolumeClass: the beta
 * annotation, when present, wins over spec.storageClassName. */
static const char *class_of(const json_t *obj)
{
	json_t *ann = kp_obj_annotations(obj);
	json_t *a = json_object_get(ann, ANN_BETA_CLASS);
	if (a && json_is_string(a))
		return json_string_value(a);
	const char *c = kp_obj_str(obj, "spec.storageClassName");
	return c ? c : "";
}

static bool has_annotation(const json_t *obj, const char *key)
{
	return json_object_get(kp_obj_annotations(obj), key) != NULL;
}

/* Compiles a NodeSelector's terms into interned form. A selector that does
 * not compile matches no node, as kube's CheckNodeAffinity errors do. */
static int compile_terms(struct state *st, const json_t *ns, uint32_t *nterms,
			 struct kp_node_term **terms)
{
	struct kp_node_selector *sel = NULL;
	*nterms = 0;
	*terms = NULL;
	if (kp_node_selector_from_json(ns, &sel, NULL) < 0)
		return 0;
	int rc = 0;
	struct kp_node_term *t = st_alloc(st, sel->n * sizeof(*t));
	if (!t) {
		rc = KP_ENOMEM;
		goto out_free_sel;
	}
	uint32_t n = 0;
	for (size_t i = 0; i < sel->n; i++) {
		if (kp_isel_compile(&sel->terms[i].exprs, &t[n].exprs, NULL) < 0)
			continue;
		if (kp_isel_compile(&sel->terms[i].fields, &t[n].fields, NULL) < 0) {
			kp_isel_release(&t[n].exprs);
			continue;
		}
		n++;
	}
	*nterms = n;
	*terms = t;
out_free_sel:
	kp_node_selector_free(sel);
	return rc;
}

static bool pv_affinity_ok(const struct self *s, const struct pv *pv, const struct kp_node_info *node)
{
	if (!pv->has_affinity)
		return true;
	for (uint32_t i = 0; i < pv->nterms; i++)
		if (kp_node_term_matches(&pv->terms[i], &node->labels, s->empty_id))
			return true;
	return false;
}

/* Compiles the PV into st->pvs and returns its index. Caller holds s->lock. */
static int add_pv(struct self *s, struct state *st, const json_t *obj, int32_t *out)
{
	const char *name = kp_obj_name(obj);
	if (!name)
		name = "";
	if (st->npvs == st->cap_pvs) {
		uint32_t nc = st->cap_pvs ? st->cap_pvs * 2 : 16;
		void *v = realloc(st->pvs, nc * sizeof(*st->pvs));
		if (!v)
			return KP_ENOMEM;
		st->pvs = v;
		st->cap_pvs = nc;
	}
	struct pv *pv = &st->pvs[st->npvs];
	memset(pv, 0, sizeof(*pv));
	const json_t *spec = kp_obj_get(obj, "spec");
	pv->obj = obj;
	pv->name = name;
	pv->rv = kp_obj_resource_version(obj);
	pv->cap = storage_qty(kp_obj_get(spec, "capacity"));
	pv->modes = access_modes(kp_obj_get(spec, "accessModes"));
	pv->block = is_block(spec);
	pv->deleting = kp_obj_get(obj, "metadata.deletionTimestamp") != NULL &&
		       !json_is_null(kp_obj_get(obj, "metadata.deletionTimestamp"));
	const char *phase = kp_obj_str(obj, "status.phase");
	pv->available = phase && !strcmp(phase, "Available");
	pv->class_name = class_of(obj);
	const json_t *ref = kp_obj_get(spec, "claimRef");
	if (ref && json_is_object(ref)) {
		pv->claim_ns = kp_obj_str(ref, "namespace");
		pv->claim_name = kp_obj_str(ref, "name");
		pv->claim_uid = kp_obj_str(ref, "uid");
		if (!pv->claim_ns)
			pv->claim_ns = "";
		if (!pv->claim_name)
			pv->claim_name = "";
	}
	/* The assumed binding wins until the store shows a newer version. */
	long a = assumed_find(s, ASSUMED_PV, name);
	if (a >= 0) {
		if (s->assumed[a].rv != pv->rv) {
			assumed_remove_at(s, (size_t)a);
		} else {
			/* copied: Unreserve may drop the entry while Filter runs */
			pv->claim_ns = st_strdup(st, s->assumed[a].claim_ns);
			pv->claim_name = st_strdup(st, s->assumed[a].claim_name);
			pv->claim_uid = st_strdup(st, s->assumed[a].claim_uid);
			if (!pv->claim_ns || !pv->claim_name || !pv->claim_uid)
				return KP_ENOMEM;
		}
	}
	const json_t *req = kp_obj_get(spec, "nodeAffinity.required");
	if (req && !json_is_null(req)) {
		pv->has_affinity = true;
		int rc = compile_terms(st, req, &pv->nterms, &pv->terms);
		if (rc < 0)
			return rc;
	}
	*out = (int32_t)st->npvs++;
	return 0;
}

/* IsVolumeBoundToClaim */
static bool pv_bound_to(const struct pv *pv, const struct claim *c, const char *ns)
{
	if (!pv->claim_name)
		return false;
	if (strcmp(pv->claim_name, c->name) || strcmp(pv->claim_ns, ns))
		return false;
	return !pv->claim_uid || !*pv->claim_uid || (c->uid && !strcmp(pv->claim_uid, c->uid));
}

struct collect {
	struct self *s;
	struct state *st;
	const char *class_name;
	int rc;
};

static int collect_pv(const json_t *obj, void *arg)
{
	struct collect *c = arg;
	if (strcmp(class_of(obj), c->class_name))
		return 0;
	int32_t idx;
	c->rc = add_pv(c->s, c->st, obj, &idx);
	return c->rc < 0 ? 1 : 0;
}

/* The node-independent part of FindMatchingVolume for one claim: which
 * volumes of its class can ever match, and which are pre-bound to it. */
static int claim_candidates(struct state *st, struct claim *c, uint32_t first, uint32_t end)
{
	struct kp_label_selector *sel = NULL;
	const json_t *jsel = kp_obj_get(c->obj, "spec.selector");
	if (jsel && !json_is_null(jsel)) {
		char *err = NULL;
		int rc = kp_label_selector_from_json(jsel, &sel, &err);
		if (rc < 0) {
			free(err);
			return rc;
		}
		if (st->nsels == st->cap_sels) {
			uint32_t nc = st->cap_sels ? st->cap_sels * 2 : 8;
			void *v = realloc(st->sels, nc * sizeof(*st->sels));
			if (!v) {
				kp_label_selector_free(sel);
				return KP_ENOMEM;
			}
			st->sels = v;
			st->cap_sels = nc;
		}
		st->sels[st->nsels++] = sel;
	}
	uint32_t n = end - first;
	c->cand_pv = st_alloc(st, n * sizeof(*c->cand_pv));
	c->cand_prebound = st_alloc(st, n * sizeof(*c->cand_prebound));
	if (!c->cand_pv || !c->cand_prebound)
		return KP_ENOMEM;
	for (uint32_t i = first; i < end; i++) {
		const struct pv *pv = &st->pvs[i];
		bool prebound = pv_bound_to(pv, c, st->ns);
		if (pv->claim_name && !prebound)
			continue;
		if (kp_quantity_cmp(&pv->cap, &c->req) < 0)
			continue;
		if (pv->block != c->block)
			continue;
		if (pv->deleting)
			continue;
		if (!prebound) {
			if (!pv->available)
				continue;
			if (sel && !kp_label_selector_matches(sel, kp_obj_labels(pv->obj)))
				continue;
			if (strcmp(pv->class_name, c->class_name))
				continue;
			if ((c->modes & pv->modes) != c->modes)
				continue;
		}
		c->cand_pv[c->ncand] = (int32_t)i;
		c->cand_prebound[c->ncand] = prebound;
		c->ncand++;
	}
	return 0;
}

/* What checkVolumeProvisions needs from the claim's class. */
static int claim_class(struct state *st, const struct kp_snapshot *snap, struct claim *c)
{
	if (!*c->class_name) {
		c->class_state = CLASS_NONE;
		return 0;
	}
	const json_t *cls = kp_snapshot_object(snap, "StorageClass", NULL, c->class_name);
	if (!cls) {
		c->class_state = CLASS_MISSING;
		return 0;
	}
	const char *prov = kp_obj_str(cls, "provisioner");
	if (!prov || !*prov || !strcmp(prov, NO_PROVISIONER)) {
		c->class_state = CLASS_NO_PROVISIONER;
		return 0;
	}
	c->class_state = CLASS_OK;
	const json_t *topo = kp_obj_get(cls, "allowedTopologies");
	size_t nt = json_array_size(topo);
	if (!nt)
		return 0;
	c->topo = st_alloc(st, nt * sizeof(*c->topo));
	if (!c->topo)
		return KP_ENOMEM;
	c->ntopo = (uint32_t)nt;
	for (size_t i = 0; i < nt; i++) {
		/* TopologySelectorRequirementsAsSelector: each expression is
		 * "key In values"; an empty term or one that does not convert
		 * selects nothing. */
		const json_t *exprs = kp_obj_get(json_array_get(topo, i), "matchLabelExpressions");
		if (!json_array_size(exprs))
			continue;
		json_t *ls = json_pack("{s:[]}", "matchExpressions");
		if (!ls)
			return KP_ENOMEM;
		json_t *arr = json_object_get(ls, "matchExpressions");
		size_t j;
		json_t *e;
		json_array_foreach(exprs, j, e) {
			json_t *vals = json_object_get(e, "values");
			json_array_append_new(arr, json_pack("{s:O?,s:s,s:O?}", "key",
							     json_object_get(e, "key"),
							     "operator", "In", "values", vals));
		}
		struct kp_label_selector *sel = NULL;
		if (kp_label_selector_from_json(ls, &sel, NULL) == 0) {
			if (kp_isel_compile(sel, &c->topo[i].sel, NULL) == 0)
				c->topo[i].valid = true;
			kp_label_selector_free(sel);
		}
		json_decref(ls);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Plugin callbacks                                                   */

/* VolumeBindingArgs. kplane does not wait for binding to complete (there
 * is no PV controller to wait for), so bindTimeoutSeconds is validated and
 * otherwise unused; shape belongs to the Score (VolumeCapacityPriority /
 * StorageCapacityScoring), which kplane leaves out, so like kube-scheduler
 * with that feature off it is refused. */
struct args {
	int64_t bind_timeout_seconds;
	const json_t *shape;
};

static const struct kp_arg_spec arg_spec[] = {
	{ "bindTimeoutSeconds", KP_ARG_INT, offsetof(struct args, bind_timeout_seconds), "600",
	  0, INT64_MAX },
	{ "shape", KP_ARG_JSON, offsetof(struct args, shape), NULL, 0, 0 },
	{ NULL, 0, 0, NULL, 0, 0 },
};

static int init(const struct kp_sched_init *in, void **out, char **errmsg)
{
	const struct args *args = in->args;
	if (args && args->shape && !json_is_null(args->shape))
		return kp_error_set(errmsg, KP_EINVAL, "pluginConfig[VolumeBinding].args.shape: "
				    "Invalid value: unsupported: kplane does not implement "
				    "VolumeBinding scoring (StorageCapacityScoring)");
	struct self *s = calloc(1, sizeof(*s));
	if (!s)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	s->slot = in->slot;
	s->handle = in->handle;
	s->empty_id = kp_intern("");
	s->hostname_key = kp_intern(LABEL_HOSTNAME);
	pthread_mutex_init(&s->lock, NULL);
	*out = s;
	return 0;
}

static void fini(void *self)
{
	struct self *s = self;
	if (!s)
		return;
	for (size_t i = 0; i < s->nassumed; i++)
		assumed_clear(&s->assumed[i]);
	free(s->assumed);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static size_t events(void *self, struct kp_cluster_event *out, size_t cap)
{
	static const struct kp_cluster_event ev[] = {
		{ KP_EV_STORAGE_CLASS, KP_EV_ADD | KP_EV_UPDATE },
		{ KP_EV_PVC, KP_EV_ADD | KP_EV_UPDATE },
		{ KP_EV_PV, KP_EV_ADD | KP_EV_UPDATE },
		{ KP_EV_NODE, KP_EV_ADD | KP_EV_UPDATE_NODE_LABEL | KP_EV_UPDATE_NODE_TAINT },
		{ KP_EV_CSI_NODE, KP_EV_ADD | KP_EV_UPDATE },
	};
	(void)self;
	size_t n = sizeof(ev) / sizeof(ev[0]);
	for (size_t i = 0; i < n && i < cap; i++)
		out[i] = ev[i];
	return n < cap ? n : cap;
}

/* One pod volume that uses a claim. */
struct pod_claim {
	const char *name;     /* claim name (borrowed or st_alloc'ed) */
	bool ephemeral;
};

/* GetLocalPersistentVolumeNodeNames: per term the intersection of the
 * values of "kubernetes.io/hostname In" expressions, the union over terms.
 * Interned names go to *names (malloc'ed, deduplicated); returns the count
 * or KP_ENOMEM. */
static int local_pv_nodes(const json_t *pv, int32_t **names)
{
	const json_t *terms = kp_obj_get(pv, "spec.nodeAffinity.required.nodeSelectorTerms");
	size_t cap = 0, n = 0;
	int32_t *out = NULL;
	size_t i;
	json_t *term;
	json_array_foreach(terms, i, term) {
		int32_t *set = NULL; /* this term's names */
		size_t nset = 0;
		bool have = false;
		size_t j;
		json_t *e;
		json_array_foreach(json_object_get(term, "matchExpressions"), j, e) {
			const char *k = kp_obj_str(e, "key"), *op = kp_obj_str(e, "operator");
			if (!k || !op || strcmp(k, LABEL_HOSTNAME) || strcmp(op, "In"))
				continue;
			json_t *vals = json_object_get(e, "values");
			if (!have) {
				have = true;
				set = malloc((json_array_size(vals) + 1) * sizeof(*set));
				if (!set)
					goto out_nomem;
				size_t a;
				json_t *v;
				json_array_foreach(vals, a, v)
					if (json_is_string(v))
						set[nset++] = kp_intern(json_string_value(v));
				continue;
			}
			size_t keep = 0;
			for (size_t a = 0; a < nset; a++) {
				size_t b;
				json_t *v;
				json_array_foreach(vals, b, v)
					if (json_is_string(v) &&
					    kp_intern_lookup(json_string_value(v)) == set[a]) {
						set[keep++] = set[a];
						break;
					}
			}
			nset = keep;
		}
		for (size_t a = 0; a < nset; a++) {
			bool dup = false;
			for (size_t b = 0; b < n && !dup; b++)
				dup = out[b] == set[a];
			if (dup)
				continue;
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 8;
				void *v = realloc(out, nc * sizeof(*out));
				if (!v) {
					free(set);
					goto out_nomem;
				}
				out = v;
				cap = nc;
			}
			out[n++] = set[a];
		}
		free(set);
	}
	*names = out;
	return (int)n;
out_nomem:
	free(out);
	return KP_ENOMEM;
}

/* Drops assumptions the store has moved past (object gone or a newer
 * resourceVersion: the informer caught up with PreBind, or someone else
 * changed it). Caller holds s->lock. */
static void assumed_sweep(struct self *s, const struct kp_snapshot *snap)
{
	for (size_t i = 0; i < s->nassumed;) {
		const struct assumed *a = &s->assumed[i];
		const json_t *obj;
		if (a->kind == ASSUMED_PV) {
			obj = kp_snapshot_object(snap, "PersistentVolume", NULL, a->key);
		} else {
			const char *slash = strchr(a->key, '/');
			char ns[256];
			size_t n = slash ? (size_t)(slash - a->key) : 0;
			if (n >= sizeof(ns))
				n = sizeof(ns) - 1;
			memcpy(ns, a->key, n);
			ns[n] = 0;
			obj = kp_snapshot_object(snap, "PersistentVolumeClaim", ns,
						 slash ? slash + 1 : a->key);
		}
		if (!obj || kp_obj_resource_version(obj) != a->rv)
			assumed_remove_at(s, i);
		else
			i++;
	}
}

static int pre_filter(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		      struct kp_node_set *nodes, struct kp_status *stt)
{
	struct self *s = self;
	const struct kp_snapshot *snap = cy->snapshot;
	const json_t *vols = kp_obj_get(pod->obj, "spec.volumes");
	const char *pod_uid = kp_obj_uid(pod->obj);
	int rc = KP_STATUS_SUCCESS;

	struct state *st = calloc(1, sizeof(*st));
	if (!st)
		goto out_nomem_nostate;
	if (kp_cycle_on_release(cy, state_free, st) < 0) {
		state_free(st);
		goto out_nomem_nostate;
	}
	kp_cycle_set(cy, s->slot, st);
	st->ns = pod->ns;

	/* podHasPVCs: every claim the pod uses must exist and be usable. */
	size_t nv = json_array_size(vols);
	const json_t **objs = st_alloc(st, nv * sizeof(*objs));
	if (!objs)
		goto out_nomem;
	uint32_t nobjs = 0;
	size_t i;
	json_t *vol;
	json_array_foreach(vols, i, vol) {
		const char *name;
		bool ephemeral = false;
		const json_t *src = json_object_get(vol, "persistentVolumeClaim");
		if (src && json_is_object(src)) {
			name = kp_obj_str(src, "claimName");
			if (!name)
				name = "";
		} else if ((src = json_object_get(vol, "ephemeral")) && json_is_object(src)) {
			/* ephemeral.VolumeClaimName: "<pod>-<volume>" */
			const char *vn = kp_obj_str(vol, "name");
			char *n = st_alloc(st, strlen(pod->name) + strlen(vn ? vn : "") + 2);
			if (!n)
				goto out_nomem;
			sprintf(n, "%s-%s", pod->name, vn ? vn : "");
			name = n;
			ephemeral = true;
		} else {
			continue;
		}
		const json_t *pvc = kp_snapshot_object(snap, "PersistentVolumeClaim", pod->ns, name);
		if (!pvc) {
			if (ephemeral)
				kp_status_addf(stt, "waiting for ephemeral volume controller to "
					       "create the persistentvolumeclaim \"%s\"", name);
			else
				kp_status_addf(stt, "persistentvolumeclaim \"%s\" not found", name);
			return KP_STATUS_UNRESOLVABLE;
		}
		const char *phase = kp_obj_str(pvc, "status.phase");
		if (phase && !strcmp(phase, "Lost")) {
			const char *vn = kp_obj_str(pvc, "spec.volumeName");
			kp_status_addf(stt, "persistentvolumeclaim \"%s\" bound to non-existent "
				       "persistentvolume \"%s\"", name, vn ? vn : "");
			return KP_STATUS_UNRESOLVABLE;
		}
		const json_t *del = kp_obj_get(pvc, "metadata.deletionTimestamp");
		if (del && !json_is_null(del)) {
			kp_status_addf(stt, "persistentvolumeclaim \"%s\" is being deleted", name);
			return KP_STATUS_UNRESOLVABLE;
		}
		if (ephemeral) {
			/* ephemeral.VolumeIsForPod: the pod must be the claim's controller */
			const json_t *ref = kp_obj_controller_ref(pvc);
			const char *uid = kp_obj_str(ref, "uid");
			if (!uid || !pod_uid || strcmp(uid, pod_uid)) {
				kp_status_addf(stt, "PVC %s/%s was not created for pod %s/%s (pod is not owner)",
					       pod->ns, name, pod->ns, pod->name);
				return KP_STATUS_UNRESOLVABLE;
			}
		}
		objs[nobjs++] = pvc;
	}
	if (!nobjs) {
		st->skip = true;
		return KP_STATUS_SKIP;
	}

	/* GetPodVolumeClaims: bound, unbound WaitForFirstConsumer, unbound immediate. */
	st->bound = st_alloc(st, nobjs * sizeof(*st->bound));
	st->claims = st_alloc(st, nobjs * sizeof(*st->claims));
	st->by_size = st_alloc(st, nobjs * sizeof(*st->by_size));
	if (!st->bound || !st->claims || !st->by_size)
		goto out_nomem;
	bool immediate = false;
	int32_t *eligible = NULL; /* GetEligibleNodes; NULL = no restriction */
	int neligible = 0;

	pthread_mutex_lock(&s->lock);
	assumed_sweep(s, snap);
	for (uint32_t k = 0; k < nobjs; k++) {
		const json_t *pvc = objs[k];
		const char *vname = kp_obj_str(pvc, "spec.volumeName");
		if (vname && *vname && has_annotation(pvc, ANN_BIND_COMPLETED)) {
			struct bound *b = &st->bound[st->nbound++];
			const json_t *pv = kp_snapshot_object(snap, "PersistentVolume", NULL, vname);
			b->pv = -1;
			if (!pv)
				continue;
			if (add_pv(s, st, pv, &b->pv) < 0)
				goto out_nomem_locked;
			int32_t *names = NULL;
			int n = local_pv_nodes(pv, &names);
			if (n < 0)
				goto out_nomem_locked;
			if (n == 0) {
				free(names);
			} else if (!eligible) {
				eligible = names;
				neligible = n;
			} else {
				int keep = 0;
				for (int a = 0; a < neligible; a++)
					for (int c = 0; c < n; c++)
						if (eligible[a] == names[c]) {
							eligible[keep++] = eligible[a];
							break;
						}
				neligible = keep;
				free(names);
			}
			continue;
		}
		/* IsDelayBindingMode; a class without volumeBindingMode is taken as
		 * Immediate, the API server's default. */
		const char *cname = class_of(pvc);
		bool delay = false;
		if (*cname) {
			const json_t *cls = kp_snapshot_object(snap, "StorageClass", NULL, cname);
			const char *mode = kp_obj_str(cls, "volumeBindingMode");
			delay = mode && !strcmp(mode, "WaitForFirstConsumer");
		}
		if (!delay || (vname && *vname)) {
			immediate = true;
			continue;
		}
		struct claim *c = &st->claims[st->nclaims++];
		const json_t *spec = kp_obj_get(pvc, "spec");
		c->obj = pvc;
		c->name = kp_obj_name(pvc);
		if (!c->name)
			c->name = "";
		c->uid = kp_obj_uid(pvc);
		c->rv = kp_obj_resource_version(pvc);
		c->req = storage_qty(kp_obj_get(spec, "resources.requests"));
		c->modes = access_modes(kp_obj_get(spec, "accessModes"));
		c->block = is_block(spec);
		c->class_name = cname;
		const char *sel_node = kp_obj_annotation(pvc, ANN_SELECTED_NODE);
		char key[512];
		snprintf(key, sizeof(key), "%s/%s", pod->ns, c->name);
		long a = assumed_find(s, ASSUMED_PVC, key);
		if (a >= 0)
			sel_node = s->assumed[a].node;
		if (sel_node) {
			c->has_selected_node = true;
			c->selected_node = st_strdup(st, sel_node);
			if (!c->selected_node)
				goto out_nomem_locked;
		}
	}
	if (immediate) {
		pthread_mutex_unlock(&s->lock);
		free(eligible);
		kp_status_add(stt, "pod has unbound immediate PersistentVolumeClaims");
		return KP_STATUS_UNRESOLVABLE;
	}

	/* Volumes of each WaitForFirstConsumer claim's class (pvCache.ListPVs). */
	for (uint32_t k = 0; k < st->nclaims; k++) {
		struct claim *c = &st->claims[k];
		uint32_t first = st->npvs;
		struct collect col = { s, st, c->class_name, 0 };
		kp_snapshot_each_object(snap, "PersistentVolume", NULL, collect_pv, &col);
		if (col.rc < 0)
			goto out_nomem_locked;
		rc = claim_candidates(st, c, first, st->npvs);
		if (rc == KP_EINVAL) {
			pthread_mutex_unlock(&s->lock);
			free(eligible);
			kp_status_addf(stt, "error creating internal label selector for claim: %s/%s",
				       pod->ns, c->name);
			return KP_STATUS_ERROR;
		}
		if (rc < 0 || claim_class(st, snap, c) < 0)
			goto out_nomem_locked;
	}
	pthread_mutex_unlock(&s->lock);

	/* byPVCSize: increasing request; insertion sort keeps equal sizes in
	 * volume order, as Go's sort does for these short lists. */
	for (uint32_t k = 0; k < st->nclaims; k++) {
		uint32_t j = k;
		while (j > 0 && kp_quantity_cmp(&st->claims[st->by_size[j - 1]].req,
						&st->claims[k].req) > 0) {
			st->by_size[j] = st->by_size[j - 1];
			j--;
		}
		st->by_size[j] = k;
	}

	st->nnodes = snap->nnodes;
	st->nodes = st_alloc(st, (size_t)st->nnodes * sizeof(*st->nodes));
	if (!st->nodes)
		goto out_nomem_elig;
	if (st->nclaims) {
		size_t n = (size_t)st->nnodes * st->nclaims * sizeof(int32_t);
		st->st_pv = st_alloc(st, n);
		st->st_claim = st_alloc(st, n);
		st->prov = st_alloc(st, n);
		if (!st->st_pv || !st->st_claim || !st->prov)
			goto out_nomem_elig;
	}
	if (eligible && nodes && kp_node_set_restrict(nodes, eligible, (size_t)neligible) < 0)
		goto out_nomem_elig;
	free(eligible);
	return KP_STATUS_SUCCESS;

out_nomem_locked:
	pthread_mutex_unlock(&s->lock);
out_nomem_elig:
	free(eligible);
out_nomem:
out_nomem_nostate:
	kp_status_add(stt, "out of memory");
	return KP_STATUS_ERROR;
}

/* FindMatchingVolume for claim c on node, skipping volumes already chosen
 * for this pod (chosen[0..nchosen)): the first volume pre-bound to the claim
 * decides alone; otherwise the smallest fitting one, the first on ties. */
static int32_t match_volume(const struct self *s, const struct state *st, const struct claim *c,
			    const struct kp_node_info *node, const int32_t *chosen, uint32_t nchosen)
{
	int32_t best = -1;
	for (uint32_t j = 0; j < c->ncand; j++) {
		int32_t v = c->cand_pv[j];
		bool excluded = false;
		for (uint32_t k = 0; k < nchosen && !excluded; k++)
			excluded = chosen[k] == v || !strcmp(st->pvs[chosen[k]].name, st->pvs[v].name);
		if (excluded)
			continue;
		const struct pv *pv = &st->pvs[v];
		bool fits = pv_affinity_ok(s, pv, node);
		if (c->cand_prebound[j])
			return fits ? v : -1;
		if (fits && (best < 0 || kp_quantity_cmp(&st->pvs[best].cap, &pv->cap) > 0))
			best = v;
	}
	return best;
}

static int filter(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		  const struct kp_node_info *node, struct kp_status *stt)
{
	const struct self *s = self;
	struct state *st = kp_cycle_get(cy, s->slot);
	(void)pod;
	if (!st || st->skip)
		return KP_STATUS_SUCCESS;
	if (node->index < 0 || (uint32_t)node->index >= st->nnodes) {
		kp_status_addf(stt, "node %s is not in the attempt's snapshot", node->name);
		return KP_STATUS_ERROR;
	}
	bool bound_ok = true, pv_found = true, unbound_ok = true;
	for (uint32_t k = 0; k < st->nbound; k++) {
		if (st->bound[k].pv < 0) {
			pv_found = false;
			break;
		}
		if (!pv_affinity_ok(s, &st->pvs[st->bound[k].pv], node)) {
			bound_ok = false;
			break;
		}
	}
	struct node_result *r = &st->nodes[node->index];
	size_t off = (size_t)node->index * st->nclaims;
	uint32_t nstatic = 0, nprov = 0;
	r->ok = false;
	if (st->nclaims) {
		int32_t *spv = st->st_pv + off, *scl = st->st_claim + off, *prov = st->prov + off;
		for (uint32_t k = 0; k < st->nclaims; k++) {
			const struct claim *c = &st->claims[k];
			if (!c->has_selected_node)
				continue;
			if (strcmp(c->selected_node, node->name)) {
				unbound_ok = false;
				goto out_reasons;
			}
			prov[nprov++] = (int32_t)k;
		}
		bool found = true;
		for (uint32_t j = 0; j < st->nclaims; j++) {
			uint32_t k = st->by_size[j];
			const struct claim *c = &st->claims[k];
			if (c->has_selected_node)
				continue;
			int32_t v = match_volume(s, st, c, node, spv, nstatic);
			if (v < 0) {
				prov[nprov++] = (int32_t)k;
				found = false;
				continue;
			}
			spv[nstatic] = v;
			scl[nstatic++] = (int32_t)k;
		}
		unbound_ok = found;
		if (nprov) {
			/* checkVolumeProvisions */
			for (uint32_t j = 0; j < nprov; j++) {
				const struct claim *c = &st->claims[prov[j]];
				switch (c->class_state) {
				case CLASS_NONE:
					kp_status_addf(stt, "no class for claim \"%s/%s\"", st->ns, c->name);
					return KP_STATUS_ERROR;
				case CLASS_MISSING:
					kp_status_addf(stt, "failed to find storage class \"%s\"", c->class_name);
					return KP_STATUS_ERROR;
				case CLASS_NO_PROVISIONER:
					unbound_ok = false;
					goto out_reasons;
				}
				bool topo_ok = c->ntopo == 0;
				for (uint32_t t = 0; t < c->ntopo && !topo_ok; t++)
					topo_ok = c->topo[t].valid &&
						  kp_isel_matches(&c->topo[t].sel, &node->labels);
				if (!topo_ok) {
					unbound_ok = false;
					goto out_reasons;
				}
			}
			unbound_ok = true;
		}
	}
out_reasons:
	if (!bound_ok)
		kp_status_add(stt, R_NODE_CONFLICT);
	if (!unbound_ok)
		kp_status_add(stt, R_BIND_CONFLICT);
	if (!pv_found)
		kp_status_add(stt, R_PV_MISSING);
	if (stt->nreasons)
		return KP_STATUS_UNRESOLVABLE;
	r->nstatic = nstatic;
	r->nprov = nprov;
	r->ok = true;
	return KP_STATUS_SUCCESS;
}

static int assume(struct self *s, const char *pod_uid, int kind, const char *key, uint64_t rv,
		  const char *cns, const char *cname, const char *cuid, const char *node)
{
	long a = assumed_find(s, kind, key);
	if (a >= 0)
		assumed_remove_at(s, (size_t)a);
	if (s->nassumed == s->cap_assumed) {
		size_t nc = s->cap_assumed ? s->cap_assumed * 2 : 16;
		void *v = realloc(s->assumed, nc * sizeof(*s->assumed));
		if (!v)
			return KP_ENOMEM;
		s->assumed = v;
		s->cap_assumed = nc;
	}
	struct assumed *e = &s->assumed[s->nassumed];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->rv = rv;
	e->key = xstrdup(key);
	e->pod_uid = xstrdup(pod_uid);
	if (kind == ASSUMED_PV) {
		e->claim_ns = xstrdup(cns);
		e->claim_name = xstrdup(cname);
		e->claim_uid = xstrdup(cuid);
	} else {
		e->node = xstrdup(node);
	}
	if (!e->key || !e->pod_uid || (kind == ASSUMED_PV && (!e->claim_ns || !e->claim_name ||
							     !e->claim_uid)) ||
	    (kind == ASSUMED_PVC && !e->node)) {
		assumed_clear(e);
		return KP_ENOMEM;
	}
	s->nassumed++;
	return 0;
}

/* The PV and PVC as they are once bound: kube's GetBindVolumeToClaim for the
 * volume, and what its PV controller then writes on both objects. */
static int bound_objects(const struct pv *pv, const struct claim *c, const char *ns,
			 json_t *writes)
{
	json_t *v = json_deep_copy(pv->obj), *cl = json_deep_copy(c->obj);
	if (!v || !cl)
		goto out_nomem;
	bool prebound = pv_bound_to(pv, c, ns);
	if (!prebound) {
		char rv[24];
		snprintf(rv, sizeof(rv), "%llu", (unsigned long long)c->rv);
		json_t *ref = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "kind", "PersistentVolumeClaim",
					"apiVersion", "v1", "namespace", ns, "name", c->name,
					"uid", c->uid ? c->uid : "", "resourceVersion", rv);
		if (kp_obj_set(v, "spec.claimRef", ref) < 0)
			goto out_nomem;
		if (!kp_obj_annotation(v, ANN_BOUND_BY_CONTROLLER) &&
		    kp_obj_set_annotation(v, ANN_BOUND_BY_CONTROLLER, "yes") < 0)
			goto out_nomem;
	}
	if (kp_obj_set_str(v, "status.phase", "Bound") < 0)
		goto out_nomem;
	if (kp_obj_set_str(cl, "spec.volumeName", pv->name) < 0 ||
	    kp_obj_set_annotation(cl, ANN_BIND_COMPLETED, "yes") < 0 ||
	    (!prebound && kp_obj_set_annotation(cl, ANN_BOUND_BY_CONTROLLER, "yes") < 0) ||
	    kp_obj_set_str(cl, "status.phase", "Bound") < 0)
		goto out_nomem;
	json_t *modes = kp_obj_get(pv->obj, "spec.accessModes");
	json_t *cap = kp_obj_get(pv->obj, "spec.capacity");
	if ((modes && kp_obj_set(cl, "status.accessModes", json_deep_copy(modes)) < 0) ||
	    (cap && kp_obj_set(cl, "status.capacity", json_deep_copy(cap)) < 0))
		goto out_nomem;
	if (json_array_append_new(writes, v) < 0) {
		v = NULL;
		goto out_nomem;
	}
	if (json_array_append_new(writes, cl) < 0)
		return KP_ENOMEM;
	return 0;
out_nomem:
	json_decref(v);
	json_decref(cl);
	return KP_ENOMEM;
}

static int reserve(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		   const struct kp_node_info *node, struct kp_status *stt)
{
	struct self *s = self;
	struct state *st = kp_cycle_get(cy, s->slot);
	if (!st || st->skip || node->index < 0 || (uint32_t)node->index >= st->nnodes ||
	    !st->nodes[node->index].ok || (!st->nodes[node->index].nstatic &&
					   !st->nodes[node->index].nprov)) {
		/* no volume to bind here (kube: no PodVolumes for the node) */
		if (st)
			st->all_bound = true;
		return KP_STATUS_SUCCESS;
	}
	const struct node_result *r = &st->nodes[node->index];
	size_t off = (size_t)node->index * st->nclaims;
	const char *pod_uid = pod->uid;
	json_decref(st->writes);
	st->writes = json_array();
	if (!st->writes)
		goto out_nomem;
	pthread_mutex_lock(&s->lock);
	for (uint32_t k = 0; k < r->nstatic; k++) {
		const struct pv *pv = &st->pvs[st->st_pv[off + k]];
		const struct claim *c = &st->claims[st->st_claim[off + k]];
		if (bound_objects(pv, c, st->ns, st->writes) < 0 ||
		    assume(s, pod_uid, ASSUMED_PV, pv->name, pv->rv, st->ns, c->name,
			   c->uid ? c->uid : "", NULL) < 0)
			goto out_nomem_locked;
	}
	for (uint32_t k = 0; k < r->nprov; k++) {
		const struct claim *c = &st->claims[st->prov[off + k]];
		char key[512];
		snprintf(key, sizeof(key), "%s/%s", st->ns, c->name);
		json_t *cl = json_deep_copy(c->obj);
		if (!cl || kp_obj_set_annotation(cl, ANN_SELECTED_NODE, node->name) < 0) {
			json_decref(cl);
			goto out_nomem_locked;
		}
		if (json_array_append_new(st->writes, cl) < 0 ||
		    assume(s, pod_uid, ASSUMED_PVC, key, c->rv, NULL, NULL, NULL, node->name) < 0)
			goto out_nomem_locked;
	}
	pthread_mutex_unlock(&s->lock);
	st->all_bound = false;
	return KP_STATUS_SUCCESS;

out_nomem_locked:
	for (size_t i = 0; i < s->nassumed;)
		if (!strcmp(s->assumed[i].pod_uid, pod_uid))
			assumed_remove_at(s, i);
		else
			i++;
	pthread_mutex_unlock(&s->lock);
out_nomem:
	kp_status_add(stt, "out of memory");
	return KP_STATUS_ERROR;
}

static void unreserve(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		      const struct kp_node_info *node)
{
	struct self *s = self;
	(void)cy;
	(void)node;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->nassumed;)
		if (!strcmp(s->assumed[i].pod_uid, pod->uid))
			assumed_remove_at(s, i);
		else
			i++;
	pthread_mutex_unlock(&s->lock);
}

static int pre_bind(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		    const struct kp_node_info *node, struct kp_status *stt)
{
	struct self *s = self;
	struct state *st = kp_cycle_get(cy, s->slot);
	(void)pod;
	(void)node;
	if (!st || st->skip || st->all_bound || !st->writes)
		return KP_STATUS_SUCCESS;
	size_t i;
	json_t *obj;
	json_array_foreach(st->writes, i, obj) {
		char *err = NULL;
		int rc = kp_sched_host_update(s->handle, obj, &err);
		if (rc == KP_ENOTSUP) {
			/* a host that cannot write this kind: the assumed
			 * binding is the result, as for the pod's own bind (a
			 * host without a store, sched-bench simulate, has the
			 * framework apply the write to its cache instead) */
			free(err);
			return KP_STATUS_SUCCESS;
		}
		if (rc < 0) {
			kp_status_addf(stt, "binding volumes: %s %s: %s", kp_obj_kind(obj) ?
				       kp_obj_kind(obj) : "object", kp_obj_name(obj) ?
				       kp_obj_name(obj) : "", err ? err : kp_strerror(rc));
			free(err);
			return KP_STATUS_ERROR;
		}
	}
	return KP_STATUS_SUCCESS;
}

static const struct kp_sched_ops ops = {
	KP_SCHED_OPS,
	.init = init,
	.fini = fini,
	.events_to_register = events,
	.pre_filter = pre_filter,
	.filter = filter,
	.reserve = reserve,
	.unreserve = unreserve,
	.pre_bind = pre_bind,
};

KP_PLUGIN_DEFINE(VolumeBinding) = {
	KP_PLUGIN_HEADER(KP_PLUGIN_SCHED),
	.name = "VolumeBinding",
	.version = "1.0",
	.description = "filter: PersistentVolumeClaims bound or bindable on the node "
		       "(WaitForFirstConsumer), binds them in PreBind",
	.sched = &ops,
	.args = arg_spec,
	.args_size = sizeof(struct args),
};

/*
 * ssa.c - server-side apply and managedFields (see ssa.h).
 *
 * The semantics are those of sigs.k8s.io/structured-merge-diff's Updater as
 * the API server wires it up:
 *  - a write that is not an apply compares the stored object with the new
 *    one; what it added or changed becomes its manager's (operation Update,
 *    one entry per manager, apiVersion and subresource) and leaves the other
 *    managers, removed fields leave everyone;
 *  - an apply owns exactly the fields of its configuration (operation
 *    Apply, one entry per manager and subresource); changing a field
 *    another manager owns is a conflict unless forced (then the other
 *    manager loses it); fields the manager applied before and leaves out
 *    now are removed from the object unless another manager owns them;
 *  - applying to an object without managedFields first gives all its fields
 *    to "before-first-apply", as the API server does for objects that
 *    predate field management;
 *  - apiVersion, kind, the metadata the server sets, managedFields itself
 *    and (for kinds with a status subresource) status are nobody's on the
 *    main resource; a status write owns only status.
 *
 * Field sets are JSON objects in the FieldsV1 shape; internally a node is a
 * member of its set when it has a "." key (also for leaves), and is turned
 * into FieldsV1's "{}" for leaves on the way out.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/kplane.h>

#include "core/api/internal.h"
#include "core/api/ssa.h"

/* ---- list types ------------------------------------------------------------------- */

enum ltype { LT_ATOMIC, LT_ASSOC, LT_SET };

struct linfo {
	enum ltype type;
	const char *keys[2]; /* sorted by name, as FieldsV1 writes them */
	const char *key_default[2];
	int nk;
};

/*
 * x-kubernetes-list-type/-map-keys of the built-in types kplane serves
 * (patchMergeKey where no listType is declared), by field name.
 */
static const struct {
	const char *field, *k1, *k2;
} assoc_lists[] = {
	{ "containers", "name", NULL },
	{ "initContainers", "name", NULL },
	{ "ephemeralContainers", "name", NULL },
	{ "env", "name", NULL },
	{ "volumes", "name", NULL },
	{ "imagePullSecrets", "name", NULL },
	{ "resourceClaims", "name", NULL },
	{ "schedulingGates", "name", NULL },
	{ "claims", "name", NULL },
	{ "hostAliases", "ip", NULL },
	{ "volumeMounts", "mountPath", NULL },
	{ "volumeDevices", "devicePath", NULL },
	{ "conditions", "type", NULL },
	{ "ownerReferences", "uid", NULL },
	{ "readinessGates", "conditionType", NULL },
	{ "topologySpreadConstraints", "topologyKey", "whenUnsatisfiable" },
};

static bool item_has_keys(const json_t *item, const struct linfo *li)
{
	if (!json_is_object(item))
		return false;
	for (int i = 0; i < li->nk; i++) {
		json_t *v = json_object_get(item, li->keys[i]);
		if (!v && !li->key_default[i])
			return false;
		if (v && !json_is_string(v) && !json_is_integer(v) && !json_is_boolean(v))
			return false;
	}
	return true;
}

/* Path element of list item i (buf owned by the caller, freed with free()). */
static char *item_pe(const struct linfo *li, const json_t *item)
{
	if (li->type == LT_SET) {
		char *v = kp_json_dumps(item, NULL);
		char *out = NULL;
		if (!v || asprintf(&out, "v:%s", v) < 0)
			abort();
		free(v);
		return out;
	}
	json_t *k = json_object();
	for (int i = 0; i < li->nk; i++) {
		json_t *v = json_object_get(item, li->keys[i]);
		json_object_set_new(k, li->keys[i],
				    v ? json_incref(v) : json_string(li->key_default[i]));
	}
	char *s = kp_json_dumps(k, NULL); /* li->keys are sorted: so is k */
	json_decref(k);
	char *out = NULL;
	if (!s || asprintf(&out, "k:%s", s) < 0)
		abort();
	free(s);
	return out;
}

static bool scalar(const json_t *v)
{
	return !json_is_object(v) && !json_is_array(v);
}

/*
 * The type of list field (name) holding list; a list whose items lack their
 * keys or repeat one is treated as atomic, so a bad configuration never
 * makes two items share a path.
 */
static void list_info(const char *field, const json_t *list, struct linfo *li)
{
	memset(li, 0, sizeof(*li));
	li->type = LT_ATOMIC;
	if (!field || !json_is_array(list))
		return;
	if (!strcmp(field, "finalizers")) {
		li->type = LT_SET;
	} else if (!strcmp(field, "ports")) {
		/* container ports by containerPort+protocol, service ports by port+protocol */
		size_t i;
		json_t *e;
		bool container = false;
		json_array_foreach ((json_t *)list, i, e)
			if (json_object_get(e, "containerPort"))
				container = true;
		li->type = LT_ASSOC;
		li->keys[0] = container ? "containerPort" : "port";
		li->keys[1] = "protocol";
		li->key_default[1] = "TCP";
		li->nk = 2;
	} else {
		for (size_t i = 0; i < sizeof(assoc_lists) / sizeof(assoc_lists[0]); i++)
			if (!strcmp(field, assoc_lists[i].field)) {
				li->type = LT_ASSOC;
				li->keys[0] = assoc_lists[i].k1;
				li->keys[1] = assoc_lists[i].k2;
				li->nk = assoc_lists[i].k2 ? 2 : 1;
			}
	}
	if (li->type == LT_ATOMIC)
		return;
	size_t n = json_array_size(list);
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(list, i);
		if (li->type == LT_SET ? !scalar(e) : !item_has_keys(e, li)) {
			li->type = LT_ATOMIC;
			return;
		}
	}
	/* duplicate keys */
	char **pes = calloc(n ? n : 1, sizeof(char *));
	if (!pes)
		abort();
	for (size_t i = 0; i < n; i++)
		pes[i] = item_pe(li, json_array_get(list, i));
	for (size_t i = 0; i < n && li->type != LT_ATOMIC; i++)
		for (size_t j = i + 1; j < n; j++)
			if (!strcmp(pes[i], pes[j])) {
				li->type = LT_ATOMIC;
				break;
			}
	for (size_t i = 0; i < n; i++)
		free(pes[i]);
	free(pes);
}

/* The list type two versions of a list share (atomic unless both agree). */
static void list_info2(const char *field, const json_t *a, const json_t *b, struct linfo *li)
{
	struct linfo lb;
	list_info(field, a, li);
	list_info(field, b, &lb);
	if (li->type != lb.type || li->nk != lb.nk ||
	    (li->nk && strcmp(li->keys[0], lb.keys[0])))
		li->type = LT_ATOMIC;
}

/* ---- field sets ------------------------------------------------------------------- */

static json_t *ch(json_t *n, const char *pe)
{
	json_t *c = json_object_get(n, pe);
	if (!c) {
		c = json_object();
		json_object_set_new(n, pe, c);
	}
	return c;
}

static json_t *chf(json_t *n, const char *field)
{
	char buf[256];
	size_t len = strlen(field);
	if (len < sizeof(buf) - 2) {
		buf[0] = 'f';
		buf[1] = ':';
		memcpy(buf + 2, field, len + 1);
		return ch(n, buf);
	}
	char *pe = NULL;
	if (asprintf(&pe, "f:%s", field) < 0)
		abort();
	json_t *c = ch(n, pe);
	free(pe);
	return c;
}

/* Internally "." holds the immortal true, which costs no allocation. */
static void member(json_t *n)
{
	json_object_set_new(n, ".", json_true());
}

static bool is_member(const json_t *n)
{
	return n && json_object_get(n, ".") != NULL;
}

static bool set_empty(const json_t *n)
{
	return !n || json_object_size(n) == 0;
}

/* Drops nodes that are neither members nor have members below; true if n is empty. */
static bool prune(json_t *n)
{
	const char *k;
	json_t *v;
	void *tmp;
	json_object_foreach_safe (n, tmp, k, v)
		if (strcmp(k, ".") && prune(v))
			json_object_del(n, k);
	return json_object_size(n) == 0;
}

static void set_union(json_t *a, const json_t *b)
{
	const char *k;
	json_t *v;
	json_object_foreach ((json_t *)b, k, v) {
		if (!strcmp(k, "."))
			member(a);
		else
			set_union(ch(a, k), v);
	}
}

/* a \ b as a new set, NULL when empty. */
static json_t *set_diff(const json_t *a, const json_t *b)
{
	json_t *out = json_object();
	const char *k;
	json_t *v;
	json_object_foreach ((json_t *)a, k, v) {
		if (!strcmp(k, ".")) {
			if (!is_member(b))
				member(out);
			continue;
		}
		json_t *bv = b ? json_object_get(b, k) : NULL;
		json_t *d = bv ? set_diff(v, bv) : json_deep_copy(v);
		if (d)
			json_object_set_new(out, k, d);
	}
	if (!json_object_size(out)) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* a ∩ b as a new set, NULL when empty. */
static json_t *set_inter(const json_t *a, const json_t *b)
{
	json_t *out = json_object();
	const char *k;
	json_t *v;
	json_object_foreach ((json_t *)a, k, v) {
		if (!strcmp(k, ".")) {
			if (is_member(b))
				member(out);
			continue;
		}
		json_t *bv = json_object_get(b, k);
		json_t *d = bv ? set_inter(v, bv) : NULL;
		if (d)
			json_object_set_new(out, k, d);
	}
	if (!json_object_size(out)) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* FieldsV1 → internal (new); NULL when f is not a FieldsV1 object. */
static json_t *from_v1(const json_t *f, int depth)
{
	if (!json_is_object(f) || depth > 64)
		return NULL;
	json_t *out = json_object();
	if (!json_object_size(f))
		member(out);
	const char *k;
	json_t *v;
	json_object_foreach ((json_t *)f, k, v) {
		if (!strcmp(k, ".")) {
			member(out);
			continue;
		}
		if (strlen(k) < 2 || k[1] != ':' || !strchr("fkvi", k[0]))
			continue;
		json_t *c = from_v1(v, depth + 1);
		if (c)
			json_object_set_new(out, k, c);
	}
	return out;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static json_t *to_v1(const json_t *n)
{
	json_t *out = json_object();
	bool m = is_member(n);
	if (json_object_size(n) == (m ? 1u : 0u))
		return out;
	if (m)
		json_object_set_new(out, ".", json_object());
	/* sorted, as Kubernetes writes FieldsV1 */
	size_t nk = 0;
	const char **keys = calloc(json_object_size(n) + 1, sizeof(char *));
	if (!keys)
		abort();
	const char *k;
	json_t *v;
	json_object_foreach ((json_t *)n, k, v)
		if (strcmp(k, "."))
			keys[nk++] = k;
	qsort(keys, nk, sizeof(*keys), str_cmp);
	for (size_t i = 0; i < nk; i++)
		json_object_set_new(out, keys[i], to_v1(json_object_get(n, keys[i])));
	free(keys);
	return out;
}

/* ---- the fields of a value ---------------------------------------------------------- */

/*
 * Object fields that Go types hold as non-pointer structs: they exist (empty)
 * before anything sets them, so adding their content does not add the field
 * itself (FieldsV1 then shows no "." for them, as Kubernetes' does).
 */
static bool value_struct(const char *field)
{
	static const char *const s[] = { "metadata", "spec", "status", "template", "jobTemplate",
					  "strategy", "updateStrategy", "resources" };
	for (size_t i = 0; field && i < sizeof(s) / sizeof(s[0]); i++)
		if (!strcmp(field, s[i]))
			return true;
	return false;
}

/*
 * Structs Kubernetes marks +structType=atomic that kplane's kinds hold:
 * metav1.LabelSelector (selector of workloads, jobs and budgets;
 * labelSelector and namespaceSelector of affinity terms and spread
 * constraints) and core/v1 NodeSelector (required node affinity). They are
 * owned, compared and applied as a whole, like a scalar. A Service's
 * selector is a plain map, told apart by its keys.
 */
static bool atomic_struct(const char *field, const json_t *v)
{
	if (!field || !json_is_object(v))
		return false;
	if (!strcmp(field, "labelSelector") || !strcmp(field, "namespaceSelector"))
		return true;
	if (!strcmp(field, "selector"))
		return json_object_get(v, "matchLabels") || json_object_get(v, "matchExpressions");
	return !strcmp(field, "requiredDuringSchedulingIgnoredDuringExecution");
}

static void item_fields(json_t *n, const json_t *item, bool cfg);

/*
 * Adds the paths of value v (under node n, v's own path) to the set.
 * cfg: the fields an applied configuration specifies (leaves, list items,
 * empty objects); else every path in v, as a comparison finds them added.
 */
static void add_value(json_t *n, const char *field, const json_t *v, bool cfg)
{
	if (json_is_object(v) && !atomic_struct(field, v)) {
		if (!json_object_size(v) || (!cfg && !value_struct(field)))
			member(n);
		const char *k;
		json_t *c;
		json_object_foreach ((json_t *)v, k, c)
			add_value(chf(n, k), k, c, cfg);
		return;
	}
	if (json_is_array(v)) {
		struct linfo li;
		list_info(field, v, &li);
		/*
		 * A keyed list that appears is itself added, except containers (a
		 * list Go always encodes, so it never appears).
		 */
		if (li.type == LT_ATOMIC || (!cfg && strcmp(field ? field : "", "containers")) ||
		    !json_array_size(v))
			member(n);
		if (li.type == LT_ATOMIC)
			return;
		size_t i;
		json_t *e;
		json_array_foreach ((json_t *)v, i, e) {
			char *pe = item_pe(&li, e);
			json_t *c = ch(n, pe);
			free(pe);
			member(c);
			if (li.type == LT_ASSOC)
				item_fields(c, e, cfg);
		}
		return;
	}
	member(n);
}

static void item_fields(json_t *n, const json_t *item, bool cfg)
{
	const char *k;
	json_t *c;
	json_object_foreach ((json_t *)item, k, c)
		add_value(chf(n, k), k, c, cfg);
}

/* Every path of v including its own (an added or removed subtree). */
static void add_all(json_t *n, const char *field, const json_t *v)
{
	add_value(n, field, v, false);
	member(n);
}

/*
 * Compares l and r (the same path, n's) and adds what r added or changed to
 * am and what it removed to rm.
 */
static void compare(const json_t *l, const json_t *r, const char *field, json_t *am,
		    json_t *rm)
{
	if (json_equal((json_t *)l, (json_t *)r))
		return;
	if (json_is_object(l) && json_is_object(r) && !atomic_struct(field, r) &&
	    (json_object_size(l) || json_object_size(r))) {
		const char *k;
		json_t *lc, *rc;
		json_object_foreach ((json_t *)l, k, lc) {
			rc = json_object_get(r, k);
			if (!rc)
				add_all(chf(rm, k), k, lc);
			else if (!json_equal(lc, rc))
				compare(lc, rc, k, chf(am, k), chf(rm, k));
		}
		json_object_foreach ((json_t *)r, k, rc)
			if (!json_object_get(l, k))
				add_value(chf(am, k), k, rc, false);
		return;
	}
	struct linfo li;
	if (json_is_array(l) && json_is_array(r))
		list_info2(field, l, r, &li);
	else
		li.type = LT_ATOMIC;
	if (li.type == LT_ATOMIC) {
		member(am);
		return;
	}
	size_t nl = json_array_size(l), nr = json_array_size(r);
	char **lp = calloc(nl + 1, sizeof(char *)), **rp = calloc(nr + 1, sizeof(char *));
	if (!lp || !rp)
		abort();
	for (size_t i = 0; i < nl; i++)
		lp[i] = item_pe(&li, json_array_get(l, i));
	for (size_t i = 0; i < nr; i++)
		rp[i] = item_pe(&li, json_array_get(r, i));
	for (size_t i = 0; i < nl; i++) {
		size_t j = 0;
		while (j < nr && strcmp(lp[i], rp[j]))
			j++;
		json_t *li_ = json_array_get(l, i);
		if (j == nr) {
			json_t *c = ch(rm, lp[i]);
			member(c);
			if (li.type == LT_ASSOC)
				item_fields(c, li_, false);
		} else if (li.type == LT_ASSOC) {
			compare(li_, json_array_get(r, j), NULL, ch(am, lp[i]), ch(rm, lp[i]));
		}
	}
	for (size_t j = 0; j < nr; j++) {
		size_t i = 0;
		while (i < nl && strcmp(lp[i], rp[j]))
			i++;
		if (i == nl) {
			json_t *c = ch(am, rp[j]);
			member(c);
			if (li.type == LT_ASSOC)
				item_fields(c, json_array_get(r, j), false);
		}
	}
	for (size_t i = 0; i < nl; i++)
		free(lp[i]);
	for (size_t i = 0; i < nr; i++)
		free(rp[i]);
	free(lp);
	free(rp);
}

/* ---- what a manager may own ------------------------------------------------------- */

/*
 * A shallow view of obj without the fields nobody owns on this endpoint
 * (new object sharing obj's values; never modified).
 */
static json_t *ownable(const json_t *obj, const struct kp_ssa_op *op)
{
	json_t *out = json_object();
	if (!json_is_object(obj))
		return out;
	bool status_op = op->subresource && !strcmp(op->subresource, "status");
	const char *k;
	json_t *v;
	json_object_foreach ((json_t *)obj, k, v) {
		if (!strcmp(k, "apiVersion") || !strcmp(k, "kind"))
			continue;
		if (status_op && op->has_status) {
			if (!strcmp(k, "status"))
				json_object_set(out, k, v);
			continue;
		}
		if (!strcmp(k, "status") && op->has_status)
			continue;
		if (!strcmp(k, "metadata") && json_is_object(v)) {
			static const char *const skip[] = {
				"name", "namespace", "uid", "creationTimestamp", "selfLink",
				"generation", "managedFields", "resourceVersion", "deletionTimestamp",
				"deletionGracePeriodSeconds", "clusterName"
			};
			json_t *md = json_object();
			const char *mk;
			json_t *mv;
			json_object_foreach (v, mk, mv) {
				bool s = false;
				for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
					if (!strcmp(mk, skip[i]))
						s = true;
				if (!s)
					json_object_set(md, mk, mv);
			}
			if (json_object_size(md))
				json_object_set_new(out, k, md);
			else
				json_decref(md);
			continue;
		}
		json_object_set(out, k, v);
	}
	return out;
}

/* ---- managers ---------------------------------------------------------------------- */

struct mgr {
	const char *manager, *operation, *api_version, *subresource, *time; /* borrowed */
	json_t *set; /* internal form, owned; NULL = nothing */
	bool keep_time;
};

struct mgrs {
	struct mgr *v;
	size_t n;
};

static void mgrs_release(struct mgrs *m)
{
	for (size_t i = 0; i < m->n; i++)
		json_decref(m->v[i].set);
	free(m->v);
}

static const char *str_or(const json_t *o, const char *k, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : dflt;
}

/* The managers recorded on obj (strings borrowed from obj; obj must outlive m). */
static void mgrs_load(const json_t *obj, struct mgrs *m)
{
	json_t *mf = obj ? kp_obj_get(obj, "metadata.managedFields") : NULL;
	size_t n = json_is_array(mf) ? json_array_size(mf) : 0;
	m->v = calloc(n + 2, sizeof(*m->v)); /* room for the writer and before-first-apply */
	m->n = 0;
	if (!m->v)
		abort();
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(mf, i);
		const char *op = str_or(e, "operation", "");
		if (!json_is_object(e) || (strcmp(op, "Apply") && strcmp(op, "Update")))
			continue;
		json_t *set = from_v1(json_object_get(e, "fieldsV1"), 0);
		if (!set)
			continue;
		if (prune(set)) {
			json_decref(set);
			continue;
		}
		struct mgr *g = &m->v[m->n++];
		g->manager = str_or(e, "manager", "");
		g->operation = op;
		g->api_version = str_or(e, "apiVersion", "");
		g->subresource = str_or(e, "subresource", "");
		g->time = json_string_value(json_object_get(e, "time"));
		g->set = set;
		g->keep_time = true;
	}
}

static bool same_id(const struct mgr *g, const char *manager, const char *op,
		    const char *api_version, const char *sub)
{
	if (strcmp(g->manager, manager) || strcmp(g->operation, op) ||
	    strcmp(g->subresource, sub ? sub : ""))
		return false;
	/* Appliers are one manager across versions; updaters one per version. */
	return !strcmp(op, "Apply") || !strcmp(g->api_version, api_version);
}

static struct mgr *mgrs_find(struct mgrs *m, const char *manager, const char *op,
			     const char *api_version, const char *sub)
{
	for (size_t i = 0; i < m->n; i++)
		if (same_id(&m->v[i], manager, op, api_version, sub))
			return &m->v[i];
	return NULL;
}

static struct mgr *mgrs_add(struct mgrs *m, const char *manager, const char *op,
			    const char *api_version, const char *sub)
{
	struct mgr *g = &m->v[m->n++];
	memset(g, 0, sizeof(*g));
	g->manager = manager;
	g->operation = op;
	g->api_version = api_version;
	g->subresource = sub ? sub : "";
	return g;
}

static int entry_cmp(const void *a, const void *b)
{
	const json_t *p = *(json_t *const *)a, *q = *(json_t *const *)b;
	int c = strcmp(str_or(p, "operation", ""), str_or(q, "operation", ""));
	if (c)
		return c;
	/* RFC 3339 UTC timestamps of one format sort as text */
	c = strcmp(str_or(p, "time", ""), str_or(q, "time", ""));
	if (c)
		return c;
	if ((c = strcmp(str_or(p, "manager", ""), str_or(q, "manager", ""))))
		return c;
	if ((c = strcmp(str_or(p, "apiVersion", ""), str_or(q, "apiVersion", ""))))
		return c;
	return strcmp(str_or(p, "subresource", ""), str_or(q, "subresource", ""));
}

/* One managedFields entry (new); steals fields_v1; subresource NULL or "" for none. */
static json_t *entry_new(const char *manager, const char *operation, const char *api_version,
			 const char *time, json_t *fields_v1, const char *subresource)
{
	json_t *e = json_object();
	json_object_set_new(e, "manager", json_string(manager));
	json_object_set_new(e, "operation", json_string(operation));
	json_object_set_new(e, "apiVersion", json_string(api_version));
	json_object_set_new(e, "time", json_string(time));
	json_object_set_new(e, "fieldsType", json_string("FieldsV1"));
	json_object_set_new(e, "fieldsV1", fields_v1);
	if (subresource && *subresource)
		json_object_set_new(e, "subresource", json_string(subresource));
	return e;
}

/* The managedFields array of m (new), sorted as Kubernetes sorts it; NULL if empty. */
static json_t *mgrs_encode(struct mgrs *m, const char *now)
{
	json_t **ents = calloc(m->n + 1, sizeof(json_t *));
	size_t n = 0;
	if (!ents)
		abort();
	for (size_t i = 0; i < m->n; i++) {
		struct mgr *g = &m->v[i];
		if (!g->set || prune(g->set))
			continue;
		ents[n++] = entry_new(g->manager, g->operation, g->api_version,
				      g->keep_time && g->time ? g->time : now, to_v1(g->set),
				      g->subresource);
	}
	json_t *out = NULL;
	if (n) {
		qsort(ents, n, sizeof(*ents), entry_cmp);
		out = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(out, ents[i]);
	}
	free(ents);
	return out;
}

/* Takes am from every manager but skip, and rm from all of them. */
static void take_fields(struct mgrs *m, const struct mgr *skip, const json_t *am,
			const json_t *rm)
{
	for (size_t i = 0; i < m->n; i++) {
		struct mgr *g = &m->v[i];
		if (g == skip || !g->set)
			continue;
		json_t *d = am ? set_diff(g->set, am) : json_incref(g->set);
		json_t *d2 = d && rm ? set_diff(d, rm) : json_incref(d);
		json_decref(d);
		/* losing fields leaves the entry's time alone, as in Kubernetes */
		json_decref(g->set);
		g->set = d2;
	}
}

static void now_string(char buf[KP_TIME_BUFSZ])
{
	kp_time_format(kp_time_now(), buf);
}

/*
 * The FieldsV1 of every path in v (add_value's set with cfg false, as
 * to_v1 writes it: keys sorted, "." first), built directly for a create,
 * where the writer owns all of it: no comparison, union or conversion.
 * n is v's node (new, empty).
 */
static void v1_children(json_t *n, const json_t *v);

static void v1_node(json_t *n, const char *field, const json_t *v)
{
	if (atomic_struct(field, v))
		return; /* owned as a whole: {} */
	if (json_is_object(v)) {
		if (json_object_size(v) && !value_struct(field))
			json_object_set_new(n, ".", json_object());
		v1_children(n, v);
		return;
	}
	if (json_is_array(v)) {
		struct linfo li;
		list_info(field, v, &li);
		size_t na = json_array_size(v);
		if (li.type == LT_ATOMIC || na == 0)
			return; /* a member without children: {} */
		if (strcmp(field ? field : "", "containers"))
			json_object_set_new(n, ".", json_object());
		char **pe = malloc(na * sizeof(char *));
		size_t *idx = malloc(na * sizeof(size_t));
		if (!pe || !idx)
			abort();
		for (size_t i = 0; i < na; i++)
			pe[i] = item_pe(&li, json_array_get(v, i));
		/* sorted by path element; list_info made keys unique */
		for (size_t i = 0; i < na; i++)
			idx[i] = i;
		for (size_t i = 1; i < na; i++)
			for (size_t j = i; j > 0 && strcmp(pe[idx[j - 1]], pe[idx[j]]) > 0; j--) {
				size_t t = idx[j];
				idx[j] = idx[j - 1];
				idx[j - 1] = t;
			}
		for (size_t i = 0; i < na; i++) {
			json_t *c = json_object();
			if (li.type == LT_ASSOC) {
				json_t *item = json_array_get(v, idx[i]);
				if (json_object_size(item))
					json_object_set_new(c, ".", json_object());
				v1_children(c, item);
			}
			json_object_set_new(n, pe[idx[i]], c);
		}
		for (size_t i = 0; i < na; i++)
			free(pe[i]);
		free(pe);
		free(idx);
	}
}

static void v1_children(json_t *n, const json_t *v)
{
	size_t nk = json_object_size(v);
	if (!nk)
		return;
	const char *stack[32], **keys = nk <= 32 ? stack : malloc(nk * sizeof(char *));
	if (!keys)
		abort();
	size_t i = 0;
	const char *k;
	json_t *c;
	json_object_foreach ((json_t *)v, k, c)
		keys[i++] = k;
	qsort(keys, nk, sizeof(*keys), str_cmp);
	char buf[256];
	for (i = 0; i < nk; i++) {
		json_t *cn = json_object();
		v1_node(cn, keys[i], json_object_get(v, keys[i]));
		size_t len = strlen(keys[i]);
		if (len < sizeof(buf) - 2) {
			buf[0] = 'f';
			buf[1] = ':';
			memcpy(buf + 2, keys[i], len + 1);
			json_object_set_new(n, buf, cn);
		} else {
			char *pe = NULL;
			if (asprintf(&pe, "f:%s", keys[i]) < 0)
				abort();
			json_object_set_new(n, pe, cn);
			free(pe);
		}
	}
	if (keys != stack)
		free(keys);
}

/* kp__ssa_update for a create: the one Update entry owning every field. */
static json_t *create_fields(const json_t *obj, const struct kp_ssa_op *op)
{
	json_t *ro = ownable(obj, op), *f = json_object();
	v1_children(f, ro);
	json_decref(ro);
	if (!json_object_size(f)) {
		json_decref(f);
		return NULL;
	}
	char now[KP_TIME_BUFSZ];
	now_string(now);
	json_t *out = json_array();
	json_array_append_new(out, entry_new(op->manager, "Update", op->api_version, now, f,
					     op->subresource));
	return out;
}

json_t *kp__ssa_update(const json_t *old, const json_t *obj, const struct kp_ssa_op *op)
{
	if (!old)
		return create_fields(obj, op);
	struct mgrs m;
	mgrs_load(old, &m);
	json_t *lo = ownable(old, op), *ro = ownable(obj, op);
	json_t *am = json_object(), *rm = json_object();
	compare(lo, ro, NULL, am, rm);
	prune(am);
	prune(rm);
	json_decref(lo);
	json_decref(ro);
	take_fields(&m, NULL, am, rm);
	if (json_object_size(am)) {
		struct mgr *g = mgrs_find(&m, op->manager, "Update", op->api_version,
					  op->subresource);
		if (!g)
			g = mgrs_add(&m, op->manager, "Update", op->api_version, op->subresource);
		if (!g->set)
			g->set = json_incref(am); /* a create: nothing to merge with */
		else
			set_union(g->set, am);
		g->keep_time = false;
	}
	char now[KP_TIME_BUFSZ];
	now_string(now);
	json_t *out = mgrs_encode(&m, now);
	json_decref(am);
	json_decref(rm);
	mgrs_release(&m);
	return out;
}

/* ---- apply ------------------------------------------------------------------------- */

/* live merged with config (new): config wins; maps and keyed lists merge. */
static json_t *merge(const json_t *l, const json_t *c, const char *field)
{
	if (json_is_object(l) && json_is_object(c) && !atomic_struct(field, c)) {
		json_t *out = json_copy((json_t *)l);
		const char *k;
		json_t *v;
		json_object_foreach ((json_t *)c, k, v) {
			if (json_is_null(v))
				json_object_del(out, k);
			else
				json_object_set_new(out, k, merge(json_object_get(l, k), v, k));
		}
		return out;
	}
	if (json_is_array(l) && json_is_array(c)) {
		struct linfo li;
		list_info2(field, l, c, &li);
		if (li.type != LT_ATOMIC) {
			json_t *out = json_copy((json_t *)l);
			size_t nl = json_array_size(l);
			char **lp = calloc(nl + 1, sizeof(char *));
			if (!lp)
				abort();
			for (size_t i = 0; i < nl; i++)
				lp[i] = item_pe(&li, json_array_get(l, i));
			size_t i;
			json_t *e;
			json_array_foreach ((json_t *)c, i, e) {
				char *pe = item_pe(&li, e);
				size_t j = 0;
				while (j < nl && strcmp(lp[j], pe))
					j++;
				free(pe);
				if (j < nl) {
					if (li.type == LT_ASSOC)
						json_array_set_new(out, j,
								   merge(json_array_get(l, j), e, NULL));
				} else {
					json_array_append_new(out, json_deep_copy(e));
				}
			}
			for (size_t k = 0; k < nl; k++)
				free(lp[k]);
			free(lp);
			return out;
		}
	}
	return json_deep_copy(c);
}

/*
 * Removes from v the members of rm (path n) that nobody keeps (kn: the
 * union of what every manager owns after the apply, same path).
 */
static void remove_fields(json_t *v, const json_t *rn, const json_t *kn, const char *field)
{
	const char *pe;
	json_t *c;
	if (json_is_object(v)) {
		json_object_foreach ((json_t *)rn, pe, c) {
			if (strncmp(pe, "f:", 2))
				continue;
			json_t *cv = json_object_get(v, pe + 2);
			if (!cv)
				continue;
			json_t *ck = kn ? json_object_get(kn, pe) : NULL;
			if (is_member(c) && set_empty(ck))
				json_object_del(v, pe + 2);
			else
				remove_fields(cv, c, ck, pe + 2);
		}
		return;
	}
	if (!json_is_array(v))
		return;
	struct linfo li;
	list_info(field, v, &li);
	if (li.type == LT_ATOMIC)
		return;
	json_object_foreach ((json_t *)rn, pe, c) {
		if (pe[0] != 'k' && pe[0] != 'v')
			continue;
		json_t *ck = kn ? json_object_get(kn, pe) : NULL;
		for (size_t i = 0; i < json_array_size(v); i++) {
			char *ip = item_pe(&li, json_array_get(v, i));
			bool hit = !strcmp(ip, pe);
			free(ip);
			if (!hit)
				continue;
			if (is_member(c) && set_empty(ck))
				json_array_remove(v, i);
			else
				remove_fields(json_array_get(v, i), c, ck, NULL);
			break;
		}
	}
}

/* ".spec.containers[name=\"web\"].image" for a path element list. */
static void path_string(struct kp_buf *b, const char *pe)
{
	if (pe[0] == 'f') {
		kp__buf_addf(b, ".%s", pe + 2);
	} else if (pe[0] == 'v') {
		kp__buf_addf(b, "[=%s]", pe + 2);
	} else if (pe[0] == 'i') {
		kp__buf_addf(b, "[%s]", pe + 2);
	} else {
		json_t *k = json_loads(pe + 2, 0, NULL);
		kp__buf_adds(b, "[");
		const char *kk;
		json_t *kv;
		bool first = true;
		json_object_foreach (k, kk, kv) {
			char *s = json_dumps(kv, JSON_COMPACT | JSON_ENCODE_ANY);
			kp__buf_addf(b, "%s%s=%s", first ? "" : ",", kk, s ? s : "");
			free(s);
			first = false;
		}
		kp__buf_adds(b, "]");
		json_decref(k);
	}
}

struct conflict_list {
	char **paths;
	size_t n, cap;
};

static int pe_rank(const char *pe)
{
	switch (pe[0]) {
	case 'f': return 0;
	case 'k': return 1;
	case 'v': return 2;
	default: return 3;
	}
}

static int pe_cmp(const void *a, const void *b)
{
	const char *p = *(const char *const *)a, *q = *(const char *const *)b;
	int r = pe_rank(p) - pe_rank(q);
	return r ? r : strcmp(p, q);
}

/*
 * The member paths of set n in structured-merge-diff's iteration order: the
 * members directly below a node first, then each child's own paths.
 */
static void set_paths(const json_t *n, const char *prefix, struct conflict_list *out)
{
	size_t nk = json_object_size(n), m = 0;
	const char **keys = calloc(nk + 1, sizeof(char *));
	if (!keys)
		abort();
	const char *k;
	json_t *v;
	json_object_foreach ((json_t *)n, k, v)
		if (strcmp(k, "."))
			keys[m++] = k;
	qsort(keys, m, sizeof(*keys), pe_cmp);
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < m; i++) {
			json_t *c = json_object_get(n, keys[i]);
			struct kp_buf b = { 0 };
			kp__buf_adds(&b, prefix);
			path_string(&b, keys[i]);
			if (pass == 0 && is_member(c)) {
				if (out->n == out->cap) {
					out->cap = out->cap ? out->cap * 2 : 8;
					out->paths = realloc(out->paths, out->cap * sizeof(char *));
					if (!out->paths)
						abort();
				}
				out->paths[out->n++] = kp__buf_steal(&b, NULL);
			} else if (pass == 1 && json_object_size(c) > (is_member(c) ? 1u : 0u)) {
				set_paths(c, b.p, out);
			}
			kp__buf_release(&b);
		}
	free(keys);
}

static char *manager_text(const struct mgr *g)
{
	struct kp_buf b = { 0 };
	kp__buf_add_json_str(&b, g->manager);
	if (*g->subresource) {
		kp__buf_adds(&b, " with subresource ");
		kp__buf_add_json_str(&b, g->subresource);
	}
	if (!strcmp(g->operation, "Update"))
		kp__buf_addf(&b, " using %s", g->api_version);
	return kp__buf_steal(&b, NULL);
}

static int mgr_ptr_cmp(const void *a, const void *b)
{
	const struct mgr *p = *(const struct mgr *const *)a, *q = *(const struct mgr *const *)b;
	int c = strcmp(p->manager, q->manager);
	if (c)
		return c;
	if ((c = strcmp(p->operation, q->operation)))
		return c;
	if ((c = strcmp(p->api_version, q->api_version)))
		return c;
	return strcmp(p->subresource, q->subresource);
}

/* Kubernetes' apply conflict message and causes for managers with conflicts cs[i]. */
static void conflict_report(struct mgr **who, json_t **cs, size_t n, char **message,
			    json_t **causes)
{
	/* sort managers (and their sets along) */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && mgr_ptr_cmp(&who[j - 1], &who[j]) > 0; j--) {
			struct mgr *t = who[j];
			who[j] = who[j - 1];
			who[j - 1] = t;
			json_t *s = cs[j];
			cs[j] = cs[j - 1];
			cs[j - 1] = s;
		}
	struct conflict_list *lists = calloc(n, sizeof(*lists));
	if (!lists)
		abort();
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		set_paths(cs[i], "", &lists[i]);
		total += lists[i].n;
	}
	*causes = json_array();
	struct kp_buf msg = { 0 };
	for (size_t i = 0; i < n; i++) {
		char *mt = manager_text(who[i]);
		if (total == 1)
			kp__buf_addf(&msg, "Apply failed with 1 conflict: conflict with %s: %s", mt,
				     lists[i].n ? lists[i].paths[0] : "");
		else {
			if (i == 0)
				kp__buf_addf(&msg, "Apply failed with %zu conflicts: ", total);
			else
				kp__buf_adds(&msg, "\n");
			kp__buf_addf(&msg, "conflicts with %s:", mt);
		}
		for (size_t j = 0; j < lists[i].n; j++) {
			if (total != 1)
				kp__buf_addf(&msg, "\n- %s", lists[i].paths[j]);
			char *cm = NULL;
			if (asprintf(&cm, "conflict with %s", mt) < 0)
				abort();
			json_array_append_new(*causes,
					      json_pack("{s:s, s:s, s:s}", "reason",
							"FieldManagerConflict", "message", cm,
							"field", lists[i].paths[j]));
			free(cm);
			free(lists[i].paths[j]);
		}
		free(lists[i].paths);
		free(mt);
	}
	free(lists);
	*message = kp__buf_steal(&msg, NULL);
}

int kp__ssa_apply(const json_t *live, const json_t *config, const struct kp_ssa_op *op,
		  json_t **merged, json_t **managed, char **message, json_t **causes)
{
	struct mgrs m;
	mgrs_load(live, &m);
	json_t *lo = ownable(live, op);
	if (live && !m.n && json_object_size(lo)) {
		/* Fields of an object nobody managed yet belong to before-first-apply. */
		struct mgr *g = mgrs_add(&m, "before-first-apply", "Update", op->api_version,
					 op->subresource);
		g->set = json_object();
		item_fields(g->set, lo, false);
		prune(g->set);
	}
	struct mgr *self = mgrs_find(&m, op->manager, "Apply", op->api_version, op->subresource);
	json_t *last = self && self->set ? json_incref(self->set) : NULL;
	if (!self)
		self = mgrs_add(&m, op->manager, "Apply", op->api_version, op->subresource);
	json_t *co = ownable(config, op);
	json_t *applied = json_object();
	item_fields(applied, co, true);
	prune(applied);
	json_decref(co);
	json_decref(self->set);
	self->set = applied;

	/* a deep copy: the removal below must not reach into live's values */
	json_t *out = json_deep_copy(config);
	if (live) {
		json_t *m0 = merge(live, config, NULL);
		json_decref(out);
		out = json_deep_copy(m0);
		json_decref(m0);
	}
	kp_obj_del(out, "metadata.managedFields");
	if (last) {
		json_t *keep = json_object();
		for (size_t i = 0; i < m.n; i++)
			if (m.v[i].set)
				set_union(keep, m.v[i].set);
		json_t *gone = set_diff(last, keep);
		if (gone)
			remove_fields(out, gone, keep, NULL);
		json_decref(gone);
		json_decref(keep);
		json_decref(last);
	}

	json_t *ro = ownable(out, op);
	json_t *am = json_object(), *rm = json_object();
	compare(lo, ro, NULL, am, rm);
	prune(am);
	prune(rm);
	bool changed = !json_equal(lo, ro);
	json_decref(lo);
	json_decref(ro);

	struct mgr **who = calloc(m.n + 1, sizeof(*who));
	json_t **cs = calloc(m.n + 1, sizeof(*cs));
	if (!who || !cs)
		abort();
	size_t nc = 0;
	for (size_t i = 0; i < m.n; i++) {
		if (&m.v[i] == self || !m.v[i].set)
			continue;
		json_t *c = set_inter(m.v[i].set, am);
		if (c) {
			who[nc] = &m.v[i];
			cs[nc++] = c;
		}
	}
	int rc = 0;
	if (nc && !op->force) {
		conflict_report(who, cs, nc, message, causes);
		json_decref(out);
		rc = KP_ECONFLICT;
	} else {
		take_fields(&m, self, am, rm);
		self->keep_time = !changed && self->time;
		char now[KP_TIME_BUFSZ];
		now_string(now);
		*managed = mgrs_encode(&m, now);
		*merged = out;
	}
	for (size_t i = 0; i < nc; i++)
		json_decref(cs[i]);
	free(cs);
	free(who);
	json_decref(am);
	json_decref(rm);
	mgrs_release(&m);
	return rc;
}

/* ---- manager names ----------------------------------------------------------------- */

char *kp__ssa_check_manager(const char *manager)
{
	char *msg = NULL;
	size_t n = strlen(manager);
	if (n > 128) {
		if (asprintf(&msg, "fieldManager: Too long: may not be more than 128 bytes") < 0)
			abort();
		return msg;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)manager[i];
		if (c < 0x20 || c == 0x7f) {
			if (asprintf(&msg, "fieldManager: Invalid value: \"%s\": invalid character "
					   "U+%04X (at position %zu)",
				     "(not printable)", c, i) < 0)
				abort();
			return msg;
		}
	}
	return NULL;
}

void kp__ssa_default_manager(const char *user_agent, char *buf, size_t n)
{
	const char *ua = user_agent ? user_agent : "";
	size_t len = strcspn(ua, "/");
	if (len > 128)
		len = 128;
	if (len >= n)
		len = n - 1;
	memcpy(buf, ua, len);
	buf[len] = 0;
}

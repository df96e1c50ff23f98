/*
 * schema.c - structural OpenAPI v3 schemas, as the apiextensions API
 * server uses a CRD version's openAPIV3Schema: unknown-field detection
 * (for fieldValidation), pruning, defaulting, value validation, and the
 * structural checks a CRD's own schema must pass.
 *
 * Schemas are plain JSON (borrowed, read-only): the stored CRD's
 * openAPIV3Schema for custom resources, the generated OpenAPI components
 * for built-in kinds ($ref and allOf:[{$ref}] are followed through defs).
 */
#include "config.h"

#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/kplane.h>

#include "core/api/schema.h"

#define MAX_DEPTH 64

static const json_t *resolve(const json_t *s, const json_t *defs)
{
	for (int i = 0; i < 8 && json_is_object(s); i++) {
		const char *ref = json_string_value(json_object_get(s, "$ref"));
		if (!ref) {
			json_t *all = json_object_get(s, "allOf");
			if (json_is_array(all) && json_array_size(all) == 1 &&
			    !json_object_get(s, "properties") && !json_object_get(s, "type")) {
				s = json_array_get(all, 0);
				continue;
			}
			return s;
		}
		const char *slash = strrchr(ref, '/');
		s = defs ? json_object_get(defs, slash ? slash + 1 : ref) : NULL;
	}
	return json_is_object(s) ? s : NULL;
}

static bool flag(const json_t *s, const char *k)
{
	return json_is_true(json_object_get(s, k));
}

/* ---- path building ----------------------------------------------------------- */

struct path {
	char p[1024];
	size_t n;
};

static size_t path_key(struct path *p, const char *k)
{
	size_t old = p->n;
	int w = snprintf(p->p + p->n, sizeof(p->p) - p->n, "%s%s", p->n ? "." : "", k);
	if (w > 0 && (size_t)w < sizeof(p->p) - p->n)
		p->n += (size_t)w;
	return old;
}

static size_t path_idx(struct path *p, size_t i)
{
	size_t old = p->n;
	int w = snprintf(p->p + p->n, sizeof(p->p) - p->n, "[%zu]", i);
	if (w > 0 && (size_t)w < sizeof(p->p) - p->n)
		p->n += (size_t)w;
	return old;
}

static void path_back(struct path *p, size_t n)
{
	p->n = n;
	p->p[n] = 0;
}

/* ---- unknown fields, pruning, defaults ------------------------------------------- */

/*
 * The walk runs on every create and update, so its path is a stack of
 * segments turned into text only when an unknown field is found.
 */
struct lpath {
	const char *key[MAX_DEPTH + 2]; /* NULL: an array index */
	size_t idx[MAX_DEPTH + 2];
	int n;
};

struct prune_ctx {
	const json_t *defs;
	const json_t *meta_schema; /* ObjectMeta: what metadata may hold */
	struct kp_schema_unknown *unk;
	bool prune, defaults;
	struct lpath lp;
};

static void unknown_push(struct kp_schema_unknown *u, char *s)
{
	if (u->n == u->cap) {
		u->cap = u->cap ? u->cap * 2 : 8;
		u->v = realloc(u->v, u->cap * sizeof(*u->v));
		if (!u->v)
			abort();
	}
	u->v[u->n++] = s;
}

static void unknown_add(struct prune_ctx *c, const char *k)
{
	if (!c->unk)
		return;
	struct kp_buf b = { 0 };
	for (int i = 0; i < c->lp.n; i++) {
		if (c->lp.key[i])
			kp__buf_addf(&b, "%s%s", b.len ? "." : "", c->lp.key[i]);
		else
			kp__buf_addf(&b, "[%zu]", c->lp.idx[i]);
	}
	kp__buf_addf(&b, "%s%s", b.len ? "." : "", k);
	unknown_push(c->unk, kp__buf_steal(&b, NULL));
}

static void walk_prune(struct prune_ctx *c, const json_t *s, json_t *v, const json_t *old,
		       bool root, int depth);

static void walk_child(struct prune_ctx *c, const json_t *s, json_t *v, const json_t *old,
		       const char *key, size_t idx, int depth)
{
	if (c->lp.n >= MAX_DEPTH)
		return;
	c->lp.key[c->lp.n] = key;
	c->lp.idx[c->lp.n] = idx;
	c->lp.n++;
	walk_prune(c, s, v, old, false, depth + 1);
	c->lp.n--;
}

static void walk_prune(struct prune_ctx *c, const json_t *s, json_t *v, const json_t *old,
		       bool root, int depth)
{
	s = resolve(s, c->defs);
	if (!s || depth > MAX_DEPTH)
		return;
	if (json_is_object(v)) {
		bool embedded = root || flag(s, "x-kubernetes-embedded-resource");
		bool preserve = flag(s, "x-kubernetes-preserve-unknown-fields");
		json_t *props = json_object_get(s, "properties");
		json_t *addl = json_object_get(s, "additionalProperties");
		bool addl_schema = json_is_object(addl);
		if (c->defaults && json_is_object(props)) {
			const char *k;
			json_t *ps;
			json_object_foreach (props, k, ps) {
				const json_t *rs = resolve(ps, c->defs);
				json_t *d = rs ? json_object_get(rs, "default") : NULL;
				json_t *cur = json_object_get(v, k);
				if (d && (!cur || (json_is_null(cur) && !flag(rs, "nullable"))))
					json_object_set_new(v, k, json_deep_copy(d));
			}
		}
		const char *k;
		json_t *cv;
		void *tmp;
		json_object_foreach_safe (v, tmp, k, cv) {
			if (embedded && (!strcmp(k, "apiVersion") || !strcmp(k, "kind") ||
					 !strcmp(k, "metadata")))
				continue;
			json_t *ps = json_is_object(props) ? json_object_get(props, k) : NULL;
			if (!ps && addl_schema)
				ps = addl;
			if (ps) {
				walk_child(c, ps, cv, json_is_object(old) ? json_object_get(old, k) : NULL,
					   k, 0, depth);
				continue;
			}
			if (preserve || json_is_true(addl))
				continue;
			/* Unknown here; it counts as new unless the old object had it. */
			if (!json_is_object(old) || !json_object_get(old, k))
				unknown_add(c, k);
			if (c->prune)
				json_object_del(v, k);
		}
		json_t *md = embedded ? json_object_get(v, "metadata") : NULL;
		if (json_is_object(md) && c->meta_schema)
			walk_child(c, c->meta_schema, md, json_object_get(old, "metadata"), "metadata",
				   0, depth);
		return;
	}
	if (json_is_array(v)) {
		json_t *items = json_object_get(s, "items");
		if (!items)
			return;
		size_t i;
		json_t *e;
		json_array_foreach (v, i, e)
			walk_child(c, items, e, json_is_array(old) ? json_array_get(old, i) : NULL, NULL,
				   i, depth);
	}
}

void kp__schema_prune(const json_t *schema, const json_t *defs, const json_t *meta_schema,
		      json_t *obj, const json_t *old, bool prune, bool defaults,
		      struct kp_schema_unknown *unk)
{
	struct prune_ctx c = { defs, meta_schema, unk, prune, defaults, { { 0 }, { 0 }, 0 } };
	walk_prune(&c, schema, obj, old, true, 0);
}

void kp__schema_unknown_release(struct kp_schema_unknown *u)
{
	for (size_t i = 0; i < u->n; i++)
		free(u->v[i]);
	free(u->v);
	memset(u, 0, sizeof(*u));
}

/* ---- value validation ------------------------------------------------------------- */

static char *jtext(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

static const char *jtype(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "integer";
	case JSON_REAL: return "number";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	case JSON_NULL: return "null";
	}
	return "?";
}

static bool is_integral(const json_t *v)
{
	return json_is_integer(v) ||
	       (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
		fabs(json_real_value(v)) < 9.2e18);
}

static bool type_matches(const char *t, const json_t *v)
{
	if (!strcmp(t, "object"))
		return json_is_object(v);
	if (!strcmp(t, "array"))
		return json_is_array(v);
	if (!strcmp(t, "string"))
		return json_is_string(v);
	if (!strcmp(t, "integer"))
		return is_integral(v);
	if (!strcmp(t, "number"))
		return json_is_number(v);
	if (!strcmp(t, "boolean"))
		return json_is_boolean(v);
	return true;
}

/*
 * Rewrites the RE2 shorthands schemas use (\d \w \s and their negations)
 * into POSIX classes so that regcomp(REG_EXTENDED) understands them.
 */
static char *posix_re(const char *re)
{
	struct {
		char c;
		const char *in, *out;
	} map[] = { { 'd', "0-9", "[0-9]" },
		    { 'D', NULL, "[^0-9]" },
		    { 'w', "A-Za-z0-9_", "[A-Za-z0-9_]" },
		    { 'W', NULL, "[^A-Za-z0-9_]" },
		    { 's', "[:space:]", "[[:space:]]" },
		    { 'S', NULL, "[^[:space:]]" } };
	size_t n = strlen(re);
	char *out = malloc(n * 12 + 1);
	if (!out)
		abort();
	size_t o = 0;
	int in_class = 0;
	for (size_t i = 0; i < n; i++) {
		if (re[i] == '\\' && i + 1 < n) {
			bool done = false;
			for (size_t m = 0; m < sizeof(map) / sizeof(map[0]); m++) {
				if (re[i + 1] != map[m].c)
					continue;
				const char *rep = in_class ? map[m].in : map[m].out;
				if (!rep)
					break;
				memcpy(out + o, rep, strlen(rep));
				o += strlen(rep);
				i++;
				done = true;
				break;
			}
			if (done)
				continue;
			out[o++] = re[i++];
			out[o++] = re[i];
			continue;
		}
		if (re[i] == '[')
			in_class = 1;
		else if (re[i] == ']')
			in_class = 0;
		out[o++] = re[i];
	}
	out[o] = 0;
	return out;
}

/* 1 match, 0 no match, -1 the pattern does not compile. */
static int pattern_match(const char *re, const char *s)
{
	char *pre = posix_re(re);
	regex_t rx;
	int rc = regcomp(&rx, pre, REG_EXTENDED | REG_NOSUB);
	free(pre);
	if (rc)
		return -1;
	rc = regexec(&rx, s, 0, NULL, 0);
	regfree(&rx);
	return rc == 0;
}

static void num_text(const json_t *n, char *buf, size_t len)
{
	if (json_is_integer(n))
		snprintf(buf, len, "%lld", (long long)json_integer_value(n));
	else
		snprintf(buf, len, "%g", json_number_value(n));
}

/* An "Invalid value" whose detail is "<path> in body <what> <a>", as kube-openapi says. */
static void invalid(struct kp_errlist *errs, const struct path *p, const json_t *v,
		    const char *what, const char *a, const char *tail)
{
	char *vt = jtext(v);
	kp_errlist_add(errs, KP_FIELD_INVALID, p->p, vt, "%s in body %s %s%s", p->p, what, a,
		       tail);
	free(vt);
}

static void walk_validate(const json_t *s, const json_t *defs, const json_t *v, struct path *p,
			  struct kp_errlist *errs, int depth)
{
	s = resolve(s, defs);
	if (!s || depth > MAX_DEPTH)
		return;
	const char *type = json_string_value(json_object_get(s, "type"));
	if (json_is_null(v)) {
		if (flag(s, "nullable") || !type)
			return;
		kp_errlist_add(errs, KP_FIELD_TYPE_INVALID, p->p, "\"null\"",
			       "%s in body must be of type %s: \"null\"", p->p, type);
		return;
	}
	if (flag(s, "x-kubernetes-int-or-string")) {
		if (!is_integral(v) && !json_is_string(v)) {
			char vt[64];
			snprintf(vt, sizeof(vt), "\"%s\"", jtype(v));
			kp_errlist_add(errs, KP_FIELD_TYPE_INVALID, p->p, vt,
				       "%s in body must be of type integer,string: \"%s\"", p->p,
				       jtype(v));
			return;
		}
	} else if (type && !type_matches(type, v)) {
		char vt[64];
		snprintf(vt, sizeof(vt), "\"%s\"", jtype(v));
		kp_errlist_add(errs, KP_FIELD_TYPE_INVALID, p->p, vt,
			       "%s in body must be of type %s: \"%s\"", p->p, type, jtype(v));
		return;
	}
	json_t *en = json_object_get(s, "enum");
	if (json_is_array(en) && json_array_size(en)) {
		bool found = false;
		size_t i;
		json_t *e;
		json_array_foreach (en, i, e)
			if (json_equal(e, (json_t *)v))
				found = true;
		if (!found) {
			struct kp_buf b = { 0 };
			kp__buf_adds(&b, "supported values: ");
			json_array_foreach (en, i, e) {
				if (i)
					kp__buf_adds(&b, ", ");
				kp__buf_add_json(&b, e);
			}
			kp__buf_add(&b, "", 1);
			char *vt = jtext(v);
			kp_errlist_add(errs, KP_FIELD_NOT_SUPPORTED, p->p, vt, "%s", b.p);
			free(vt);
			kp__buf_release(&b);
		}
	}
	if (json_is_number(v)) {
		double x = json_number_value(v);
		json_t *mn = json_object_get(s, "minimum"), *mx = json_object_get(s, "maximum");
		char nb[64];
		if (json_is_number(mn)) {
			bool ex = flag(s, "exclusiveMinimum");
			double m = json_number_value(mn);
			num_text(mn, nb, sizeof(nb));
			if (ex ? x <= m : x < m)
				invalid(errs, p, v,
					ex ? "should be greater than" :
					     "should be greater than or equal to",
					nb, "");
		}
		if (json_is_number(mx)) {
			bool ex = flag(s, "exclusiveMaximum");
			double m = json_number_value(mx);
			num_text(mx, nb, sizeof(nb));
			if (ex ? x >= m : x > m)
				invalid(errs, p, v,
					ex ? "should be less than" :
					     "should be less than or equal to",
					nb, "");
		}
		json_t *mo = json_object_get(s, "multipleOf");
		if (json_is_number(mo) && json_number_value(mo) > 0) {
			double q = x / json_number_value(mo);
			if (q != floor(q)) {
				num_text(mo, nb, sizeof(nb));
				invalid(errs, p, v, "should be a multiple of", nb, "");
			}
		}
	}
	if (json_is_string(v)) {
		const char *str = json_string_value(v);
		size_t len = 0;
		/* Lengths count characters (UTF-8 code points), as Go's validator does. */
		for (const unsigned char *q = (const unsigned char *)str; *q; q++)
			if ((*q & 0xc0) != 0x80)
				len++;
		json_t *mnl = json_object_get(s, "minLength"), *mxl = json_object_get(s, "maxLength");
		char nb[64];
		if (json_is_integer(mnl) && (json_int_t)len < json_integer_value(mnl)) {
			num_text(mnl, nb, sizeof(nb));
			invalid(errs, p, v, "should be at least", nb, " chars long");
		}
		if (json_is_integer(mxl) && (json_int_t)len > json_integer_value(mxl)) {
			char *vt = jtext(v);
			kp_errlist_add(errs, KP_FIELD_TOO_LONG, p->p, vt,
				       "may not be more than %lld bytes",
				       (long long)json_integer_value(mxl));
			free(vt);
		}
		const char *pat = json_string_value(json_object_get(s, "pattern"));
		if (pat && pattern_match(pat, str) == 0)
			{
			char q[1100];
			snprintf(q, sizeof(q), "'%s'", pat);
			invalid(errs, p, v, "should match", q, "");
		}
	}
	if (json_is_array(v)) {
		size_t n = json_array_size(v);
		json_t *mni = json_object_get(s, "minItems"), *mxi = json_object_get(s, "maxItems");
		char nb[64];
		if (json_is_integer(mni) && (json_int_t)n < json_integer_value(mni)) {
			num_text(mni, nb, sizeof(nb));
			invalid(errs, p, v, "should have at least", nb, " items");
		}
		if (json_is_integer(mxi) && (json_int_t)n > json_integer_value(mxi)) {
			char vt[32];
			snprintf(vt, sizeof(vt), "%zu", n);
			kp_errlist_add(errs, KP_FIELD_INVALID, p->p, vt,
				       "must have at most %lld items",
				       (long long)json_integer_value(mxi));
		}
		json_t *items = json_object_get(s, "items");
		size_t i;
		json_t *e;
		if (items)
			json_array_foreach (v, i, e) {
				size_t o = path_idx(p, i);
				walk_validate(items, defs, e, p, errs, depth + 1);
				path_back(p, o);
			}
	}
	if (json_is_object(v)) {
		json_t *props = json_object_get(s, "properties");
		json_t *req = json_object_get(s, "required");
		size_t i;
		json_t *r;
		json_array_foreach (req, i, r) {
			const char *k = json_string_value(r);
			if (k && !json_object_get(v, k)) {
				size_t o = path_key(p, k);
				kp_errlist_add(errs, KP_FIELD_REQUIRED, p->p, NULL, "%s", "");
				path_back(p, o);
			}
		}
		json_t *mnp = json_object_get(s, "minProperties");
		json_t *mxp = json_object_get(s, "maxProperties");
		char nb[64];
		if (json_is_integer(mnp) && (json_int_t)json_object_size(v) < json_integer_value(mnp)) {
			num_text(mnp, nb, sizeof(nb));
			invalid(errs, p, v, "should have at least", nb, " properties");
		}
		if (json_is_integer(mxp) && (json_int_t)json_object_size(v) > json_integer_value(mxp)) {
			num_text(mxp, nb, sizeof(nb));
			invalid(errs, p, v, "should have at most", nb, " properties");
		}
		json_t *addl = json_object_get(s, "additionalProperties");
		const char *k;
		json_t *cv;
		json_object_foreach ((json_t *)v, k, cv) {
			json_t *ps = json_is_object(props) ? json_object_get(props, k) : NULL;
			if (!ps && json_is_object(addl))
				ps = addl;
			if (!ps)
				continue;
			size_t o = path_key(p, k);
			walk_validate(ps, defs, cv, p, errs, depth + 1);
			path_back(p, o);
		}
	}
}

void kp__schema_validate(const json_t *schema, const json_t *defs, const json_t *obj,
			 struct kp_errlist *errs)
{
	struct path p = { "", 0 };
	/* apiVersion, kind and metadata are the server's business, not the schema's. */
	const json_t *s = resolve(schema, defs);
	json_t *props = json_object_get(s, "properties");
	const char *k;
	json_t *cv;
	json_t *req = json_object_get(s, "required");
	size_t i;
	json_t *r;
	json_array_foreach (req, i, r) {
		const char *rk = json_string_value(r);
		if (rk && !json_object_get(obj, rk)) {
			size_t o = path_key(&p, rk);
			kp_errlist_add(errs, KP_FIELD_REQUIRED, p.p, NULL, "%s", "");
			path_back(&p, o);
		}
	}
	json_object_foreach ((json_t *)obj, k, cv) {
		if (!strcmp(k, "apiVersion") || !strcmp(k, "kind") || !strcmp(k, "metadata"))
			continue;
		json_t *ps = json_is_object(props) ? json_object_get(props, k) : NULL;
		if (!ps)
			continue;
		size_t o = path_key(&p, k);
		walk_validate(ps, defs, cv, &p, errs, 1);
		path_back(&p, o);
	}
}

/* ---- structural checks of a CRD's schema ------------------------------------------ */

static const char *const known_types[] = { "array", "boolean", "integer", "number", "object",
					   "string" };

static void check_node(const json_t *s, struct path *p, struct kp_errlist *errs, bool root,
		       int depth)
{
	if (depth > MAX_DEPTH) {
		kp_errlist_add(errs, KP_FIELD_INVALID, p->p, NULL, "%s", "schema nested too deeply");
		return;
	}
	if (!json_is_object(s)) {
		kp_errlist_add(errs, KP_FIELD_INVALID, p->p, NULL, "%s", "must be an object");
		return;
	}
	json_t *tv = json_object_get(s, "type");
	const char *type = json_string_value(tv);
	bool ios = flag(s, "x-kubernetes-int-or-string");
	bool preserve = flag(s, "x-kubernetes-preserve-unknown-fields");
	size_t o;
	if (tv && !type) {
		o = path_key(p, "type");
		kp_errlist_add(errs, KP_FIELD_INVALID, p->p, NULL, "%s", "must be a string");
		path_back(p, o);
		return;
	}
	if (type) {
		bool ok = false;
		for (size_t i = 0; i < sizeof(known_types) / sizeof(known_types[0]); i++)
			ok |= !strcmp(type, known_types[i]);
		if (!ok) {
			o = path_key(p, "type");
			char *vt = jtext(tv);
			kp_errlist_add(errs, KP_FIELD_NOT_SUPPORTED, p->p, vt, "%s",
				       "supported values: \"array\", \"boolean\", \"integer\", "
				       "\"number\", \"object\", \"string\"");
			free(vt);
			path_back(p, o);
		}
	}
	if (root && (!type || strcmp(type, "object"))) {
		o = path_key(p, "type");
		char *vt = type ? jtext(tv) : strdup("\"\"");
		kp_errlist_add(errs, KP_FIELD_INVALID, p->p, vt, "%s", "must be object at the root");
		free(vt);
		path_back(p, o);
	} else if (!type && !ios && !preserve) {
		o = path_key(p, "type");
		kp_errlist_add(errs, KP_FIELD_REQUIRED, p->p, NULL, "%s",
			       "must not be empty for specified object fields");
		path_back(p, o);
	}
	if (ios && type) {
		o = path_key(p, "type");
		kp_errlist_add(errs, KP_FIELD_FORBIDDEN, p->p, NULL, "%s",
			       "must be empty to be structural");
		path_back(p, o);
	}
	json_t *props = json_object_get(s, "properties");
	json_t *addl = json_object_get(s, "additionalProperties");
	json_t *items = json_object_get(s, "items");
	if (props && !json_is_object(props)) {
		o = path_key(p, "properties");
		kp_errlist_add(errs, KP_FIELD_INVALID, p->p, NULL, "%s", "must be an object");
		path_back(p, o);
		props = NULL;
	}
	if (json_is_object(props) && json_is_object(addl)) {
		o = path_key(p, "additionalProperties");
		kp_errlist_add(errs, KP_FIELD_FORBIDDEN, p->p, NULL, "%s",
			       "additionalProperties and properties are mutual exclusive");
		path_back(p, o);
	}
	if (type && !strcmp(type, "array") && !items) {
		o = path_key(p, "items");
		kp_errlist_add(errs, KP_FIELD_REQUIRED, p->p, NULL, "%s", "must be specified");
		path_back(p, o);
	}
	if (type && strcmp(type, "array") && items) {
		o = path_key(p, "items");
		kp_errlist_add(errs, KP_FIELD_FORBIDDEN, p->p, NULL, "%s",
			       "must be empty if type is not array");
		path_back(p, o);
	}
	const char *pat = json_string_value(json_object_get(s, "pattern"));
	if (pat && pattern_match(pat, "") < 0) {
		o = path_key(p, "pattern");
		char *vt = jtext(json_object_get(s, "pattern"));
		kp_errlist_add(errs, KP_FIELD_INVALID, p->p, vt, "%s",
			       "must be a valid regular expression");
		free(vt);
		path_back(p, o);
	}
	if (json_object_get(s, "$ref")) {
		o = path_key(p, "$ref");
		kp_errlist_add(errs, KP_FIELD_FORBIDDEN, p->p, NULL, "%s", "$ref is not supported");
		path_back(p, o);
	}
	static const char *const ints[] = { "minLength", "maxLength", "minItems", "maxItems",
					     "minProperties", "maxProperties" };
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		json_t *n = json_object_get(s, ints[i]);
		if (n && (!json_is_integer(n) || json_integer_value(n) < 0)) {
			o = path_key(p, ints[i]);
			char *vt = jtext(n);
			kp_errlist_add(errs, KP_FIELD_INVALID, p->p, vt, "%s",
				       "must be a non-negative integer");
			free(vt);
			path_back(p, o);
		}
	}
	json_t *en = json_object_get(s, "enum");
	if (en && !json_is_array(en)) {
		o = path_key(p, "enum");
		kp_errlist_add(errs, KP_FIELD_INVALID, p->p, NULL, "%s", "must be an array");
		path_back(p, o);
	}
	json_t *req = json_object_get(s, "required");
	if (req && !json_is_array(req)) {
		o = path_key(p, "required");
		kp_errlist_add(errs, KP_FIELD_INVALID, p->p, NULL, "%s",
			       "must be an array of strings");
		path_back(p, o);
	}
	if (json_is_object(props)) {
		const char *k;
		json_t *ps;
		json_object_foreach (props, k, ps) {
			char seg[600];
			snprintf(seg, sizeof(seg), "properties[%s]", k);
			o = path_key(p, seg);
			check_node(ps, p, errs, false, depth + 1);
			path_back(p, o);
		}
	}
	if (json_is_object(addl)) {
		o = path_key(p, "additionalProperties");
		check_node(addl, p, errs, false, depth + 1);
		path_back(p, o);
	}
	if (items) {
		o = path_key(p, "items");
		if (json_is_array(items))
			kp_errlist_add(errs, KP_FIELD_FORBIDDEN, p->p, NULL, "%s",
				       "items must be a schema object and not an array");
		else
			check_node(items, p, errs, false, depth + 1);
		path_back(p, o);
	}
}

void kp__schema_check_structural(const json_t *schema, const char *path,
				 struct kp_errlist *errs)
{
	struct path p = { "", 0 };
	snprintf(p.p, sizeof(p.p), "%s", path);
	p.n = strlen(p.p);
	check_node(schema, &p, errs, true, 0);
}

/* ---- key offsets and duplicates in raw JSON ------------------------------------- */

struct scan {
	const char *p, *end, *start;
	struct path path;
	json_t *want; /* path -> null, set to the offset of the key */
	struct kp_schema_unknown *dups;
	json_t *dup_offsets;
	int depth;
};

static void scan_ws(struct scan *sc)
{
	while (sc->p < sc->end && (*sc->p == ' ' || *sc->p == '\t' || *sc->p == '\n' ||
				   *sc->p == '\r'))
		sc->p++;
}

/* A string at sc->p (after the quote is checked); the raw text goes to out when given. */
static void scan_string(struct scan *sc, struct kp_buf *out)
{
	sc->p++;
	while (sc->p < sc->end && *sc->p != '"') {
		if (*sc->p == '\\' && sc->p + 1 < sc->end) {
			char c = sc->p[1];
			if (out)
				kp__buf_add(out, c == 'n' ? "\n" : c == 't' ? "\t" : &sc->p[1], 1);
			sc->p += 2;
			continue;
		}
		if (out)
			kp__buf_add(out, sc->p, 1);
		sc->p++;
	}
	if (sc->p < sc->end)
		sc->p++;
}

static void scan_value(struct scan *sc)
{
	scan_ws(sc);
	if (sc->p >= sc->end || ++sc->depth > 512)
		return;
	if (*sc->p == '{') {
		sc->p++;
		json_t *seen = json_object();
		for (;;) {
			scan_ws(sc);
			if (sc->p >= sc->end || *sc->p == '}' || *sc->p != '"')
				break;
			size_t off = (size_t)(sc->p - sc->start);
			struct kp_buf key = { 0 };
			scan_string(sc, &key);
			kp__buf_add(&key, "", 1);
			size_t o = path_key(&sc->path, key.p);
			if (json_object_get(seen, key.p)) {
				if (sc->dups) {
					char *d = strdup(sc->path.p);
					if (!d)
						abort();
					unknown_push(sc->dups, d);
					json_array_append_new(sc->dup_offsets,
							      json_integer((json_int_t)off));
				}
			} else {
				json_object_set_new(seen, key.p, json_true());
				if (sc->want && json_is_null(json_object_get(sc->want, sc->path.p)))
					json_object_set_new(sc->want, sc->path.p,
							    json_integer((json_int_t)off));
			}
			kp__buf_release(&key);
			scan_ws(sc);
			if (sc->p < sc->end && *sc->p == ':')
				sc->p++;
			scan_value(sc);
			path_back(&sc->path, o);
			scan_ws(sc);
			if (sc->p < sc->end && *sc->p == ',')
				sc->p++;
		}
		json_decref(seen);
		if (sc->p < sc->end)
			sc->p++;
	} else if (*sc->p == '[') {
		sc->p++;
		for (size_t i = 0;; i++) {
			scan_ws(sc);
			if (sc->p >= sc->end || *sc->p == ']')
				break;
			size_t o = path_idx(&sc->path, i);
			const char *before = sc->p;
			scan_value(sc);
			path_back(&sc->path, o);
			scan_ws(sc);
			if (sc->p < sc->end && *sc->p == ',')
				sc->p++;
			else if (sc->p == before)
				break;
		}
		if (sc->p < sc->end)
			sc->p++;
	} else if (*sc->p == '"') {
		scan_string(sc, NULL);
	} else {
		while (sc->p < sc->end && *sc->p != ',' && *sc->p != '}' && *sc->p != ']' &&
		       *sc->p != ' ' && *sc->p != '\n' && *sc->p != '\t' && *sc->p != '\r')
			sc->p++;
	}
	sc->depth--;
}

void kp__json_scan_keys(const char *buf, size_t len, json_t *want, struct kp_schema_unknown *dups,
			json_t *dup_offsets)
{
	struct scan sc = { buf, buf + len, buf, { "", 0 }, want, dups, dup_offsets, 0 };
	scan_value(&sc);
}

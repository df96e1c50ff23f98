/*
 * yaml.c - YAML <-> JSON with libyaml; see <kplane/yaml.h>.
 *
 * Loading walks libyaml's event stream and builds jansson values directly
 * (no libyaml document tree), resolving plain scalars the way go-yaml v2
 * does (resolve.go) because that is what kubectl and the API server use via
 * sigs.k8s.io/yaml. Dumping drives libyaml's emitter and only decides the
 * scalar style: a string that would read back as another type is quoted.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include <kplane/error.h>
#include <kplane/yaml.h>

/* Deeper nesting than this is an attack, not a manifest. */
#define MAX_DEPTH 256
/* Nodes that aliases may copy per document (billion-laughs guard). */
#define MAX_ALIAS_NODES 100000

#define TAG_PREFIX "tag:yaml.org,2002:"

struct anchor {
	char *name;
	json_t *value;
	size_t nodes;
};

struct loader {
	yaml_parser_t parser;
	struct anchor *anchors;
	size_t nanchors, cap;
	size_t alias_nodes;
	char **errmsg;
};

/* ---- scalar resolution (go-yaml v2 resolve.go) ---- */

enum scalar_kind { SK_STR, SK_NULL, SK_BOOL, SK_INT, SK_UINT, SK_FLOAT, SK_INF_NAN };

struct scalar {
	enum scalar_kind kind;
	bool b;
	int64_t i;
	uint64_t u;
	double f;
};

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

static const char *const true_words[] = { "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE",
					  "on", "On", "ON", NULL };
static const char *const false_words[] = { "n", "N", "no", "No", "NO", "false", "False", "FALSE",
					   "off", "Off", "OFF", NULL };
static const char *const null_words[] = { "", "~", "null", "Null", "NULL", NULL };
static const char *const inf_nan_words[] = { ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf",
					     "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", NULL };

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	return 99;
}

/*
 * Go's strconv.ParseUint(s, 0, 64) on an unsigned body: 0x/0o/0b prefixes,
 * a leading 0 means octal. Returns 0 on success, -1 on syntax error, -2 on
 * overflow.
 */
static int parse_go_uint(const char *s, uint64_t *out)
{
	int base = 10;
	uint64_t v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	} else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
		base = 8;
		s += 2;
	} else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
		base = 2;
		s += 2;
	} else if (s[0] == '0' && s[1]) {
		base = 8;
		s += 1;
	}
	if (!*s)
		return -1;
	for (; *s; s++) {
		int d = digit_value(*s);
		if (d >= base)
			return -1;
		if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return -2;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	*out = v;
	return 0;
}

/* ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ (go-yaml's yamlStyleFloat) */
static bool yaml_style_float(const char *s)
{
	const char *p = s;
	size_t n;

	if (*p == '-' || *p == '+')
		p++;
	if (*p == '.') {
		p++;
		n = strspn(p, "0123456789");
		if (!n)
			return false;
		p += n;
	} else {
		n = strspn(p, "0123456789");
		if (!n)
			return false;
		p += n;
		if (*p == '.')
			p += 1 + strspn(p + 1, "0123456789");
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		n = strspn(p, "0123456789");
		if (!n)
			return false;
		p += n;
	}
	return *p == '\0';
}

/* strtod, refusing what Go's ParseFloat refuses (overflow to +-Inf). */
static bool parse_float(const char *s, double *out)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (*end || isinf(d))
		return false;
	*out = d;
	return true;
}

/* Resolves a plain, untagged scalar. */
static void resolve_plain(const char *in, struct scalar *sc)
{
	char c = in[0];
	char *plain;
	size_t j = 0;

	memset(sc, 0, sizeof(*sc));
	sc->kind = SK_STR;
	if (in_list(in, null_words)) {
		sc->kind = SK_NULL;
		return;
	}
	if (in_list(in, true_words) || in_list(in, false_words)) {
		sc->kind = SK_BOOL;
		sc->b = in_list(in, true_words);
		return;
	}
	if (in_list(in, inf_nan_words)) {
		sc->kind = SK_INF_NAN;
		return;
	}
	if (c == '.') {
		/* Go's ParseFloat on ".5", ".5e3"; no underscores here. */
		if (yaml_style_float(in) && parse_float(in, &sc->f))
			sc->kind = SK_FLOAT;
		return;
	}
	if (!(c == '+' || c == '-' || (c >= '0' && c <= '9')))
		return;

	/* go-yaml drops every '_' before trying numbers ("1_000" is 1000). */
	plain = malloc(strlen(in) + 1);
	if (!plain)
		return; /* stays a string; callers see no number */
	for (size_t i = 0; in[i]; i++)
		if (in[i] != '_')
			plain[j++] = in[i];
	plain[j] = '\0';

	{
		const char *body = plain;
		int neg = 0;
		uint64_t u;
		int r;

		if (*body == '+' || *body == '-')
			neg = *body++ == '-';
		r = parse_go_uint(body, &u);
		if (r == 0 && !neg && u <= (uint64_t)INT64_MAX) {
			sc->kind = SK_INT;
			sc->i = (int64_t)u;
			goto out_free_plain;
		}
		if (r == 0 && neg && u <= (uint64_t)INT64_MAX + 1) {
			sc->kind = SK_INT;
			sc->i = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
			goto out_free_plain;
		}
		/* ParseUint takes no sign at all. */
		if (r == 0 && plain[0] != '+' && plain[0] != '-') {
			sc->kind = SK_UINT;
			sc->u = u;
			goto out_free_plain;
		}
	}
	if (yaml_style_float(plain) && parse_float(plain, &sc->f))
		sc->kind = SK_FLOAT;
out_free_plain:
	free(plain);
}

/*
 * Resolves a scalar with an explicit tag ("!!int 80", "!!str 80"); tags
 * other than the core ones leave the text a string, as in go-yaml.
 * Returns -1 when the text does not fit the tag.
 */
static int resolve_tagged(const char *tag, const char *in, struct scalar *sc)
{
	const char *t;

	if (strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) != 0) {
		memset(sc, 0, sizeof(*sc));
		sc->kind = SK_STR;
		return 0;
	}
	t = tag + strlen(TAG_PREFIX);
	if (!strcmp(t, "str") || !strcmp(t, "binary") || !strcmp(t, "timestamp") ||
	    !(strcmp(t, "int") == 0 || strcmp(t, "float") == 0 || strcmp(t, "bool") == 0 ||
	      strcmp(t, "null") == 0)) {
		memset(sc, 0, sizeof(*sc));
		sc->kind = SK_STR;
		return 0;
	}
	resolve_plain(in, sc);
	if (!strcmp(t, "int"))
		return sc->kind == SK_INT || sc->kind == SK_UINT ? 0 : -1;
	if (!strcmp(t, "bool"))
		return sc->kind == SK_BOOL ? 0 : -1;
	if (!strcmp(t, "null"))
		return sc->kind == SK_NULL ? 0 : -1;
	/* !!float also takes integers, as floats. */
	if (sc->kind == SK_INT) {
		sc->kind = SK_FLOAT;
		sc->f = (double)sc->i;
	} else if (sc->kind == SK_UINT) {
		sc->kind = SK_FLOAT;
		sc->f = (double)sc->u;
	}
	return sc->kind == SK_FLOAT || sc->kind == SK_INF_NAN ? 0 : -1;
}

/*
 * A float with an integral value in int64 range becomes an integer: in
 * Kubernetes the YAML goes through JSON text, where 1e3 and 8.0 are written
 * as 1000 and 8 and read back as integers. Integers beyond int64 (up to
 * uint64, or anything float-shaped) stay reals, as they do there.
 */
static json_t *number_json(double f)
{
	if (f == floor(f) && f >= -9223372036854775808.0 && f < 9223372036854775808.0)
		return json_integer((json_int_t)f);
	return json_real(f);
}

/* ---- loader ---- */

static int load_error(struct loader *ld, const yaml_mark_t *mark, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int load_error(struct loader *ld, const yaml_mark_t *mark, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	kp_error_set(ld->errmsg, KP_EINVAL, "line %zu, column %zu: %s", mark->line + 1,
		     mark->column + 1, msg ? msg : "out of memory");
	free(msg);
	return KP_EINVAL;
}

/* libyaml's own error, with both marks it knows. */
static int parser_error(struct loader *ld, const char *buf)
{
	yaml_parser_t *p = &ld->parser;

	if (p->error == YAML_MEMORY_ERROR)
		return kp_error_set(ld->errmsg, KP_ENOMEM, "out of memory parsing YAML");
	if (p->error == YAML_READER_ERROR) {
		/* Reader errors carry a byte offset only: count the lines. */
		size_t line = 1;
		for (size_t i = 0; i < p->problem_offset; i++)
			line += buf[i] == '\n';
		return kp_error_set(ld->errmsg, KP_EINVAL, "line %zu: %s (byte offset %zu)", line,
				    p->problem ? p->problem : "invalid input", p->problem_offset);
	}
	if (p->context)
		return kp_error_set(ld->errmsg, KP_EINVAL, "line %zu, column %zu: %s (%s at line %zu, column %zu)",
				    p->problem_mark.line + 1, p->problem_mark.column + 1,
				    p->problem ? p->problem : "syntax error", p->context,
				    p->context_mark.line + 1, p->context_mark.column + 1);
	return kp_error_set(ld->errmsg, KP_EINVAL, "line %zu, column %zu: %s",
			    p->problem_mark.line + 1, p->problem_mark.column + 1,
			    p->problem ? p->problem : "syntax error");
}

static size_t count_nodes(const json_t *v)
{
	size_t n = 1, i;
	const char *k;
	json_t *c;

	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, c)
			n += count_nodes(c);
	} else if (json_is_array(v)) {
		json_array_foreach((json_t *)v, i, c)
			n += count_nodes(c);
	}
	return n;
}

static int add_anchor(struct loader *ld, const char *name, json_t *v)
{
	struct anchor *a;

	if (ld->nanchors == ld->cap) {
		size_t cap = ld->cap ? 2 * ld->cap : 8;
		a = realloc(ld->anchors, cap * sizeof(*a));
		if (!a)
			return kp_error_set(ld->errmsg, KP_ENOMEM, "out of memory");
		ld->anchors = a;
		ld->cap = cap;
	}
	a = &ld->anchors[ld->nanchors];
	a->name = strdup(name);
	if (!a->name)
		return kp_error_set(ld->errmsg, KP_ENOMEM, "out of memory");
	a->value = json_incref(v);
	a->nodes = count_nodes(v);
	ld->nanchors++;
	return 0;
}

static void clear_anchors(struct loader *ld)
{
	for (size_t i = 0; i < ld->nanchors; i++) {
		free(ld->anchors[i].name);
		json_decref(ld->anchors[i].value);
	}
	ld->nanchors = 0;
	ld->alias_nodes = 0;
}

static int next_event(struct loader *ld, yaml_event_t *ev, const char *buf)
{
	if (!yaml_parser_parse(&ld->parser, ev))
		return parser_error(ld, buf);
	return 0;
}

static int parse_node(struct loader *ld, yaml_event_t *ev, const char *buf, int depth, json_t **out);

/* The text of a scalar used as a mapping key, as sigs.k8s.io/yaml makes it. */
static int scalar_key(struct loader *ld, const yaml_event_t *ev, char **key)
{
	const char *text = (const char *)ev->data.scalar.value;
	const char *tag = (const char *)ev->data.scalar.tag;
	struct scalar sc;
	char buf[64];

	*key = NULL;
	if (tag && strcmp(tag, "!") != 0) {
		if (resolve_tagged(tag, text, &sc) < 0)
			return load_error(ld, &ev->start_mark, "cannot decode `%s` as a %s", text, tag);
	} else if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !tag) {
		resolve_plain(text, &sc);
	} else {
		sc.kind = SK_STR;
	}
	switch (sc.kind) {
	case SK_STR:
		*key = strdup(text);
		break;
	case SK_NULL:
		return load_error(ld, &ev->start_mark, "unsupported map key: null");
	case SK_INF_NAN:
		return load_error(ld, &ev->start_mark, "unsupported map key: %s", text);
	case SK_BOOL:
		*key = strdup(sc.b ? "true" : "false");
		break;
	case SK_INT:
		snprintf(buf, sizeof(buf), "%" PRId64, sc.i);
		*key = strdup(buf);
		break;
	case SK_UINT:
		snprintf(buf, sizeof(buf), "%" PRIu64, sc.u);
		*key = strdup(buf);
		break;
	case SK_FLOAT:
		/* Go's FormatFloat(f, 'g', -1, 32): shortest float32 digits. A value
		 * beyond float32's range is an infinity there ("+Inf"), and %e
		 * prints no exponent for it. */
		if (isinf((float)sc.f)) {
			snprintf(buf, sizeof(buf), "%s", sc.f > 0 ? "+Inf" : "-Inf");
			*key = strdup(buf);
			break;
		}
		for (int prec = 1; prec <= 9; prec++) {
			int exp;
			char e[64];
			snprintf(e, sizeof(e), "%.*e", prec - 1, (double)(float)sc.f);
			if ((float)strtod(e, NULL) != (float)sc.f && prec < 9)
				continue;
			exp = atoi(strchr(e, 'e') + 1);
			if (exp < -4 || exp >= (prec > 6 ? 21 : 6)) {
				/* Go writes at least two exponent digits, like C. */
				snprintf(buf, sizeof(buf), "%s", e);
			} else {
				snprintf(buf, sizeof(buf), "%.*f", prec - 1 - exp > 0 ? prec - 1 - exp : 0,
					 (double)(float)sc.f);
			}
			break;
		}
		*key = strdup(buf);
		break;
	}
	if (!*key)
		return kp_error_set(ld->errmsg, KP_ENOMEM, "out of memory");
	return 0;
}

/* Copies the keys of a "<<" merge source that obj does not have yet. */
static int merge_into(json_t *obj, json_t *src)
{
	const char *k;
	json_t *v;

	if (json_is_array(src)) {
		size_t i;
		/* Earlier maps in the list win, as the merge key spec says. */
		json_array_foreach(src, i, v)
			if (merge_into(obj, v) < 0)
				return KP_ENOMEM;
		return 0;
	}
	json_object_foreach(src, k, v)
		if (!json_object_get(obj, k) && json_object_set(obj, k, v) < 0)
			return KP_ENOMEM;
	return 0;
}

static bool mergeable(const json_t *v)
{
	size_t i;
	json_t *c;

	if (json_is_object(v))
		return true;
	if (!json_is_array(v))
		return false;
	json_array_foreach(v, i, c)
		if (!json_is_object(c))
			return false;
	return true;
}

/* The key of a mapping entry: *key malloc'ed, or *is_merge for "<<". */
static int parse_key(struct loader *ld, yaml_event_t *kev, const char *buf, int depth, char **key,
		     bool *is_merge)
{
	const char *tag;
	int r = 0;

	*key = NULL;
	*is_merge = false;
	if (kev->type == YAML_ALIAS_EVENT) {
		/* An alias as a key: only a string anchor can be one. */
		json_t *kv = NULL;
		if ((r = parse_node(ld, kev, buf, depth + 1, &kv)) < 0)
			return r;
		if (!json_is_string(kv))
			r = load_error(ld, &kev->start_mark, "mapping key alias refers to a non-string");
		else if (!(*key = strdup(json_string_value(kv))))
			r = kp_error_set(ld->errmsg, KP_ENOMEM, "out of memory");
		json_decref(kv);
		return r;
	}
	if (kev->type != YAML_SCALAR_EVENT)
		return load_error(ld, &kev->start_mark, "mapping keys must be scalars, not a %s",
				  kev->type == YAML_MAPPING_START_EVENT ? "mapping" : "sequence");
	tag = (const char *)kev->data.scalar.tag;
	*is_merge = strcmp((const char *)kev->data.scalar.value, "<<") == 0 &&
		    ((!tag && kev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) ||
		     (tag && strcmp(tag, TAG_PREFIX "merge") == 0));
	if (*is_merge)
		return 0;
	if ((r = scalar_key(ld, kev, key)) < 0)
		return r;
	if (kev->data.scalar.anchor) {
		json_t *ks = json_string(*key);
		r = ks ? add_anchor(ld, (const char *)kev->data.scalar.anchor, ks)
		       : load_error(ld, &kev->start_mark, "mapping key is not valid UTF-8");
		json_decref(ks);
	}
	return r;
}

static int parse_mapping(struct loader *ld, const char *buf, int depth, json_t *obj)
{
	json_t *merges = NULL;
	int r = 0;

	for (;;) {
		yaml_event_t kev, vev;
		char *key = NULL;
		json_t *val = NULL;
		bool is_merge;

		if ((r = next_event(ld, &kev, buf)) < 0)
			break;
		if (kev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&kev);
			break;
		}
		r = parse_key(ld, &kev, buf, depth, &key, &is_merge);
		if (r == 0 && (r = next_event(ld, &vev, buf)) == 0) {
			r = parse_node(ld, &vev, buf, depth + 1, &val);
			yaml_event_delete(&vev);
		}
		if (r == 0 && is_merge) {
			if (!mergeable(val))
				r = load_error(ld, &kev.start_mark,
					       "map merge requires map or sequence of maps as the value");
			else if ((!merges && !(merges = json_array())) ||
				 json_array_append(merges, val) < 0)
				r = kp_error_set(ld->errmsg, KP_ENOMEM, "out of memory");
		} else if (r == 0) {
			if (json_object_get(obj, key))
				r = load_error(ld, &kev.start_mark, "duplicate mapping key \"%s\"", key);
			else if (json_object_set(obj, key, val) < 0)
				r = load_error(ld, &kev.start_mark, "mapping key is not valid UTF-8");
		}
		json_decref(val);
		free(key);
		yaml_event_delete(&kev);
		if (r < 0)
			break;
	}
	/* Explicit keys win over merged ones wherever "<<" stands: merge last. */
	if (r == 0 && merges && merge_into(obj, merges) < 0)
		r = kp_error_set(ld->errmsg, KP_ENOMEM, "out of memory");
	json_decref(merges);
	return r;
}

static int parse_scalar(struct loader *ld, const yaml_event_t *ev, json_t **out)
{
	const char *text = (const char *)ev->data.scalar.value;
	const char *tag = (const char *)ev->data.scalar.tag;
	struct scalar sc;

	if (tag && strcmp(tag, "!") != 0) {
		if (resolve_tagged(tag, text, &sc) < 0)
			return load_error(ld, &ev->start_mark, "cannot decode `%s` as a !!%s", text,
					  tag + strlen(TAG_PREFIX));
	} else if (!tag && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		resolve_plain(text, &sc);
	} else {
		/* quoted, block scalars, and the non-specific tag "!" */
		sc.kind = SK_STR;
	}
	switch (sc.kind) {
	case SK_STR:
		*out = json_stringn(text, ev->data.scalar.length);
		if (!*out)
			return load_error(ld, &ev->start_mark, "string is not valid UTF-8 or contains NUL");
		return 0;
	case SK_NULL:
		*out = json_null();
		return 0;
	case SK_BOOL:
		*out = json_boolean(sc.b);
		return 0;
	case SK_INT:
		*out = json_integer((json_int_t)sc.i);
		break;
	case SK_UINT:
		*out = json_real((double)sc.u);
		break;
	case SK_FLOAT:
		*out = number_json(sc.f);
		break;
	case SK_INF_NAN:
		return load_error(ld, &ev->start_mark,
				  "%s (infinity or NaN) cannot be represented in JSON", text);
	}
	return *out ? 0 : kp_error_set(ld->errmsg, KP_ENOMEM, "out of memory");
}

/* Builds the node that starts with *ev (which the caller deletes). */
static int parse_node(struct loader *ld, yaml_event_t *ev, const char *buf, int depth, json_t **out)
{
	const char *anchor = NULL;
	int r;

	*out = NULL;
	if (depth > MAX_DEPTH)
		return load_error(ld, &ev->start_mark, "nesting deeper than %d levels", MAX_DEPTH);
	switch (ev->type) {
	case YAML_ALIAS_EVENT: {
		const char *name = (const char *)ev->data.alias.anchor;
		for (size_t i = ld->nanchors; i-- > 0;) {
			if (strcmp(ld->anchors[i].name, name) != 0)
				continue;
			ld->alias_nodes += ld->anchors[i].nodes;
			if (ld->alias_nodes > MAX_ALIAS_NODES)
				return load_error(ld, &ev->start_mark,
						  "document expands aliases to more than %d nodes",
						  MAX_ALIAS_NODES);
			/* A copy: callers modify objects in place. */
			*out = json_deep_copy(ld->anchors[i].value);
			return *out ? 0 : kp_error_set(ld->errmsg, KP_ENOMEM, "out of memory");
		}
		return load_error(ld, &ev->start_mark, "unknown anchor '%s' referenced", name);
	}
	case YAML_SCALAR_EVENT:
		anchor = (const char *)ev->data.scalar.anchor;
		r = parse_scalar(ld, ev, out);
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = (const char *)ev->data.sequence_start.anchor;
		*out = json_array();
		if (!*out)
			return kp_error_set(ld->errmsg, KP_ENOMEM, "out of memory");
		for (r = 0;;) {
			yaml_event_t iev;
			json_t *item;

			if ((r = next_event(ld, &iev, buf)) < 0)
				break;
			if (iev.type == YAML_SEQUENCE_END_EVENT) {
				yaml_event_delete(&iev);
				break;
			}
			r = parse_node(ld, &iev, buf, depth + 1, &item);
			yaml_event_delete(&iev);
			if (r < 0)
				break;
			if (json_array_append_new(*out, item) < 0) {
				r = kp_error_set(ld->errmsg, KP_ENOMEM, "out of memory");
				break;
			}
		}
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = (const char *)ev->data.mapping_start.anchor;
		*out = json_object();
		if (!*out)
			return kp_error_set(ld->errmsg, KP_ENOMEM, "out of memory");
		r = parse_mapping(ld, buf, depth, *out);
		break;
	default:
		return load_error(ld, &ev->start_mark, "unexpected YAML event %d", (int)ev->type);
	}
	if (r == 0 && anchor)
		r = add_anchor(ld, anchor, *out);
	if (r < 0) {
		json_decref(*out);
		*out = NULL;
	}
	return r;
}

int kp_yaml_load(const char *buf, size_t len, json_t **out, char **errmsg)
{
	struct loader ld;
	json_t *docs;
	int r = 0;

	if (!out)
		return KP_EINVAL;
	*out = NULL;
	if (!buf && len)
		return kp_error_set(errmsg, KP_EINVAL, "no input");
	memset(&ld, 0, sizeof(ld));
	ld.errmsg = errmsg;
	docs = json_array();
	if (!docs || !yaml_parser_initialize(&ld.parser)) {
		json_decref(docs);
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	}
	yaml_parser_set_input_string(&ld.parser, (const unsigned char *)(buf ? buf : ""), len);

	for (;;) {
		yaml_event_t ev;
		json_t *doc = NULL;

		if ((r = next_event(&ld, &ev, buf)) < 0)
			break;
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type != YAML_DOCUMENT_START_EVENT) {
			/* STREAM_START, then documents */
			yaml_event_delete(&ev);
			continue;
		}
		yaml_event_delete(&ev);
		if ((r = next_event(&ld, &ev, buf)) < 0)
			break;
		r = parse_node(&ld, &ev, buf, 0, &doc);
		yaml_event_delete(&ev);
		if (r < 0)
			break;
		/* DOCUMENT_END */
		if ((r = next_event(&ld, &ev, buf)) < 0) {
			json_decref(doc);
			break;
		}
		yaml_event_delete(&ev);
		clear_anchors(&ld); /* anchors are per document */
		/* Empty documents (only "---", comments, or a bare null) are skipped. */
		if (json_is_null(doc)) {
			json_decref(doc);
			continue;
		}
		if (json_array_append_new(docs, doc) < 0) {
			r = kp_error_set(errmsg, KP_ENOMEM, "out of memory");
			break;
		}
	}
	clear_anchors(&ld);
	free(ld.anchors);
	yaml_parser_delete(&ld.parser);
	if (r < 0) {
		json_decref(docs);
		return r;
	}
	*out = docs;
	return 0;
}

int kp_yaml_or_json_load_one(const char *buf, size_t len, json_t **out, char **errmsg)
{
	size_t i = 0;
	json_t *docs;
	int r;

	if (!out)
		return KP_EINVAL;
	*out = NULL;
	if (!buf && len)
		return kp_error_set(errmsg, KP_EINVAL, "no input");
	/* A UTF-8 byte order mark does not decide anything. */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
		i++;
	if (i < len && (buf[i] == '{' || buf[i] == '[')) {
		json_error_t jerr;
		json_t *v = json_loadb(buf + i, len - i, JSON_REJECT_DUPLICATES, &jerr);
		if (!v) {
			/* jansson counts from the '{'; report lines of the whole body. */
			int line = jerr.line;
			for (size_t k = 0; k < i; k++)
				line += buf[k] == '\n';
			return kp_error_set(errmsg, KP_EINVAL, "line %d, column %d: %s", line,
					    jerr.column, jerr.text);
		}
		*out = v;
		return 0;
	}
	r = kp_yaml_load(buf, len, &docs, errmsg);
	if (r < 0)
		return r;
	if (json_array_size(docs) != 1) {
		size_t n = json_array_size(docs);
		json_decref(docs);
		if (n == 0)
			return kp_error_set(errmsg, KP_EINVAL, "empty document: expected one object");
		return kp_error_set(errmsg, KP_EINVAL, "found %zu YAML documents, expected one", n);
	}
	*out = json_incref(json_array_get(docs, 0));
	json_decref(docs);
	return 0;
}

/* ---- dumper ---- */

struct outbuf {
	char *p;
	size_t len, cap;
	int oom;
};

static int write_handler(void *data, unsigned char *buffer, size_t size)
{
	struct outbuf *o = data;

	if (o->len + size + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 256;
		char *p;
		while (cap < o->len + size + 1)
			cap *= 2;
		p = realloc(o->p, cap);
		if (!p) {
			o->oom = 1;
			return 0;
		}
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->len, buffer, size);
	o->len += size;
	o->p[o->len] = '\0';
	return 1;
}

/* Would this string, written plain, read back as something else? */
static bool needs_quotes(const char *s, size_t len)
{
	struct scalar sc;

	if (len == 0 || strlen(s) != len)
		return true;
	/* "<<" is the merge key; timestamps are strings to us but not to others. */
	if (strcmp(s, "<<") == 0)
		return true;
	resolve_plain(s, &sc);
	if (sc.kind != SK_STR)
		return true;
	/* YAML 1.1 timestamps and 1.2 octal spellings confuse other readers. */
	if (strlen(s) >= 8 && s[4] == '-' && strspn(s, "0123456789") == 4)
		return true;
	return false;
}

static int emit_scalar(yaml_emitter_t *em, const char *s, size_t len, yaml_scalar_style_t style)
{
	yaml_event_t ev;

	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)len, 1, 1, style))
		return -1;
	return yaml_emitter_emit(em, &ev) ? 0 : -1;
}

static int emit_string(yaml_emitter_t *em, const char *s, size_t len)
{
	yaml_scalar_style_t style = YAML_PLAIN_SCALAR_STYLE;

	if (len > INT32_MAX)
		return -1;
	if (memchr(s, '\n', len)) {
		/* libyaml falls back to double quotes if a literal block cannot hold it. */
		style = YAML_LITERAL_SCALAR_STYLE;
	} else if (needs_quotes(s, len)) {
		style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	}
	return emit_scalar(em, s, len, style);
}

/* Shortest text that strtod() turns back into d, always float-shaped. */
static void format_real(double d, char *buf, size_t n)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, n, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	if (!strpbrk(buf, ".eE")) {
		size_t l = strlen(buf);
		if (l + 3 <= n)
			memcpy(buf + l, ".0", 3);
	}
}

static int emit_value(yaml_emitter_t *em, const json_t *v, int depth)
{
	yaml_event_t ev;
	char buf[64];

	if (depth > 1000)
		return -1;
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *k;
		json_t *c;
		if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
							 json_object_size(v) ? YAML_BLOCK_MAPPING_STYLE
									     : YAML_FLOW_MAPPING_STYLE) ||
		    !yaml_emitter_emit(em, &ev))
			return -1;
		json_object_foreach((json_t *)v, k, c) {
			if (emit_string(em, k, strlen(k)) < 0 || emit_value(em, c, depth + 1) < 0)
				return -1;
		}
		if (!yaml_mapping_end_event_initialize(&ev) || !yaml_emitter_emit(em, &ev))
			return -1;
		return 0;
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *c;
		if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
							  json_array_size(v) ? YAML_BLOCK_SEQUENCE_STYLE
									     : YAML_FLOW_SEQUENCE_STYLE) ||
		    !yaml_emitter_emit(em, &ev))
			return -1;
		json_array_foreach((json_t *)v, i, c)
			if (emit_value(em, c, depth + 1) < 0)
				return -1;
		if (!yaml_sequence_end_event_initialize(&ev) || !yaml_emitter_emit(em, &ev))
			return -1;
		return 0;
	}
	case JSON_STRING:
		return emit_string(em, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return emit_scalar(em, buf, strlen(buf), YAML_PLAIN_SCALAR_STYLE);
	case JSON_REAL:
		format_real(json_real_value(v), buf, sizeof(buf));
		return emit_scalar(em, buf, strlen(buf), YAML_PLAIN_SCALAR_STYLE);
	case JSON_TRUE:
		return emit_scalar(em, "true", 4, YAML_PLAIN_SCALAR_STYLE);
	case JSON_FALSE:
		return emit_scalar(em, "false", 5, YAML_PLAIN_SCALAR_STYLE);
	case JSON_NULL:
		return emit_scalar(em, "null", 4, YAML_PLAIN_SCALAR_STYLE);
	}
	return -1;
}

int kp_yaml_dump(const json_t *v, char **out, size_t *len)
{
	yaml_emitter_t em;
	yaml_event_t ev;
	struct outbuf o = { 0 };
	int ok;

	if (!out || !v)
		return KP_EINVAL;
	*out = NULL;
	if (!yaml_emitter_initialize(&em))
		return KP_ENOMEM;
	yaml_emitter_set_output(&em, write_handler, &o);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_width(&em, -1);
	yaml_emitter_set_indent(&em, 2);
	ok = yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) && yaml_emitter_emit(&em, &ev) &&
	     yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) &&
	     yaml_emitter_emit(&em, &ev) && emit_value(&em, v, 0) == 0 &&
	     yaml_document_end_event_initialize(&ev, 1) && yaml_emitter_emit(&em, &ev) &&
	     yaml_stream_end_event_initialize(&ev) && yaml_emitter_emit(&em, &ev) &&
	     yaml_emitter_flush(&em);
	yaml_emitter_delete(&em);
	if (!ok || o.oom || !o.p) {
		free(o.p);
		return o.oom ? KP_ENOMEM : KP_EINVAL;
	}
	/* A bare top-level scalar makes libyaml close the document with "...". */
	if (o.len >= 4 && strcmp(o.p + o.len - 4, "...\n") == 0 &&
	    (o.len == 4 || o.p[o.len - 5] == '\n')) {
		o.len -= 4;
		o.p[o.len] = '\0';
	}
	*out = o.p;
	if (len)
		*len = o.len;
	return 0;
}

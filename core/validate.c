/*
 * validate.c - Kubernetes name, label and metadata validation; see
 * <kplane/validate.h>.
 *
 * The checks are hand-written scanners rather than regexes: they run on
 * every create and update, and a byte loop is both faster and free of a
 * regex library. The messages, however, quote Kubernetes' regexes word for
 * word (apimachinery pkg/util/validation), because clients match on them.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/validate.h>

/*
 * Kubernetes builds these with RegexError(msg, fmt, examples...), which
 * joins the examples as "'a', " + " or " + "'b', " -- hence the double
 * space before "or" that real API servers print.
 */
#define DNS1123_LABEL_FMT "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
#define DNS1123_SUBDOMAIN_FMT DNS1123_LABEL_FMT "(\\." DNS1123_LABEL_FMT ")*"
#define DNS1035_LABEL_FMT "[a-z]([-a-z0-9]*[a-z0-9])?"
#define QNAME_FMT "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#define LABEL_VALUE_FMT "(" QNAME_FMT ")?"

#define MSG_DNS1123_LABEL \
	"a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', " \
	"and must start and end with an alphanumeric character " \
	"(e.g. 'my-name',  or '123-abc', regex used for validation is '" DNS1123_LABEL_FMT "')"
#define MSG_DNS1123_SUBDOMAIN \
	"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', " \
	"and must start and end with an alphanumeric character " \
	"(e.g. 'example.com', regex used for validation is '" DNS1123_SUBDOMAIN_FMT "')"
#define MSG_DNS1035_LABEL \
	"a DNS-1035 label must consist of lower case alphanumeric characters or '-', " \
	"start with an alphabetic character, and end with an alphanumeric character " \
	"(e.g. 'my-name',  or 'abc-123', regex used for validation is '" DNS1035_LABEL_FMT "')"
#define MSG_QNAME_BODY \
	"must consist of alphanumeric characters, '-', '_' or '.', " \
	"and must start and end with an alphanumeric character " \
	"(e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '" QNAME_FMT "')"
#define MSG_QNAME_PARTS \
	"a qualified name " MSG_QNAME_BODY \
	" with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
#define MSG_LABEL_VALUE \
	"a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', " \
	"and must start and end with an alphanumeric character " \
	"(e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '" LABEL_VALUE_FMT "')"

#define MSG_MAXLEN_63 "must be no more than 63 characters"
#define MSG_MAXLEN_253 "must be no more than 253 characters"

/* Up to this many messages come out of one value (qualified names: 4). */
#define MAX_MSGS 6

/* Kubernetes returns a list of messages per value; these are all static. */
struct msgs {
	int n;
	const char *v[MAX_MSGS];
};

static void msgs_add(struct msgs *m, const char *msg)
{
	if (m->n < MAX_MSGS)
		m->v[m->n++] = msg;
}

static int is_lower_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_alnum(unsigned char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* [a-z0-9]([-a-z0-9]*[a-z0-9])? over s[0..n). */
static int match_dns1123_label(const char *s, size_t n)
{
	if (n == 0 || !is_lower_alnum((unsigned char)s[0]) || !is_lower_alnum((unsigned char)s[n - 1]))
		return 0;
	for (size_t i = 1; i + 1 < n; i++)
		if (!is_lower_alnum((unsigned char)s[i]) && s[i] != '-')
			return 0;
	return 1;
}

/* Labels as above joined by single dots. */
static int match_dns1123_subdomain(const char *s, size_t n)
{
	size_t start = 0;

	if (n == 0)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (!match_dns1123_label(s + start, i - start))
				return 0;
			start = i + 1;
		}
	}
	return 1;
}

static int match_dns1035_label(const char *s, size_t n)
{
	return n > 0 && s[0] >= 'a' && s[0] <= 'z' && match_dns1123_label(s, n);
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] over s[0..n). */
static int match_qname(const char *s, size_t n)
{
	if (n == 0 || !is_alnum((unsigned char)s[0]) || !is_alnum((unsigned char)s[n - 1]))
		return 0;
	for (size_t i = 1; i + 1 < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!is_alnum(c) && c != '-' && c != '_' && c != '.')
			return 0;
	}
	return 1;
}

static void check_dns1123_label(const char *s, size_t n, struct msgs *m)
{
	if (n > 63)
		msgs_add(m, MSG_MAXLEN_63);
	if (!match_dns1123_label(s, n))
		msgs_add(m, MSG_DNS1123_LABEL);
}

static void check_dns1123_subdomain(const char *s, size_t n, struct msgs *m)
{
	if (n > 253)
		msgs_add(m, MSG_MAXLEN_253);
	if (!match_dns1123_subdomain(s, n))
		msgs_add(m, MSG_DNS1123_SUBDOMAIN);
}

static void check_dns1035_label(const char *s, size_t n, struct msgs *m)
{
	if (n > 63)
		msgs_add(m, MSG_MAXLEN_63);
	if (!match_dns1035_label(s, n))
		msgs_add(m, MSG_DNS1035_LABEL);
}

/* IsQualifiedName: [prefix '/'] name, messages in Kubernetes' order. */
static void check_qualified_name(const char *s, struct msgs *m)
{
	const char *slash = strchr(s, '/');
	const char *name = s;
	size_t n;

	if (slash) {
		if (strchr(slash + 1, '/')) {
			msgs_add(m, MSG_QNAME_PARTS);
			return;
		}
		if (slash == s) {
			msgs_add(m, "prefix part must be non-empty");
		} else {
			size_t plen = (size_t)(slash - s);
			if (plen > 253)
				msgs_add(m, "prefix part " MSG_MAXLEN_253);
			if (!match_dns1123_subdomain(s, plen))
				msgs_add(m, "prefix part " MSG_DNS1123_SUBDOMAIN);
		}
		name = slash + 1;
	}
	n = strlen(name);
	if (n == 0)
		msgs_add(m, "name part must be non-empty");
	else if (n > 63)
		msgs_add(m, "name part " MSG_MAXLEN_63);
	if (!match_qname(name, n))
		msgs_add(m, "name part " MSG_QNAME_BODY);
}

static void check_label_value(const char *s, struct msgs *m)
{
	size_t n = strlen(s);

	if (n > 63)
		msgs_add(m, MSG_MAXLEN_63);
	if (n > 0 && !match_qname(s, n))
		msgs_add(m, MSG_LABEL_VALUE);
}

const char *kp_check_dns1123_label(const char *s)
{
	struct msgs m = { 0 };

	check_dns1123_label(s, strlen(s), &m);
	return m.n ? m.v[0] : NULL;
}

const char *kp_check_dns1123_subdomain(const char *s)
{
	struct msgs m = { 0 };

	check_dns1123_subdomain(s, strlen(s), &m);
	return m.n ? m.v[0] : NULL;
}

const char *kp_check_dns1035_label(const char *s)
{
	struct msgs m = { 0 };

	check_dns1035_label(s, strlen(s), &m);
	return m.n ? m.v[0] : NULL;
}

const char *kp_check_qualified_name(const char *s)
{
	struct msgs m = { 0 };

	check_qualified_name(s, &m);
	return m.n ? m.v[0] : NULL;
}

const char *kp_check_label_value(const char *s)
{
	struct msgs m = { 0 };

	check_label_value(s, &m);
	return m.n ? m.v[0] : NULL;
}

/* ---- error lists ---- */

/*
 * Validation must not lose an error (that would let a bad object in), and
 * kp_errlist_add() returns nothing, so running out of memory here is fatal.
 */
static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q) {
		fputs("kplane: out of memory in validation\n", stderr);
		abort();
	}
	return q;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xrealloc(NULL, n), s, n);
}

static void errlist_vadd(struct kp_errlist *l, enum kp_field_err_type type, const char *field,
			 const char *value_json, const char *fmt, va_list ap)
{
	struct kp_field_error *e;
	char *detail = NULL;

	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 4;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	if (vasprintf(&detail, fmt ? fmt : "", ap) < 0)
		detail = xstrdup("");
	e = &l->v[l->n++];
	e->type = type;
	e->field = xstrdup(field ? field : "");
	e->value = value_json ? xstrdup(value_json) : NULL;
	e->detail = detail;
}

void kp_errlist_add(struct kp_errlist *l, enum kp_field_err_type type, const char *field,
		    const char *value_json, const char *detail_fmt, ...)
{
	va_list ap;

	va_start(ap, detail_fmt);
	errlist_vadd(l, type, field, value_json, detail_fmt, ap);
	va_end(ap);
}

const char *kp_field_err_type_string(enum kp_field_err_type t)
{
	switch (t) {
	case KP_FIELD_INVALID: return "Invalid value";
	case KP_FIELD_REQUIRED: return "Required value";
	case KP_FIELD_NOT_SUPPORTED: return "Unsupported value";
	case KP_FIELD_DUPLICATE: return "Duplicate value";
	case KP_FIELD_TOO_LONG: return "Too long";
	case KP_FIELD_FORBIDDEN: return "Forbidden";
	case KP_FIELD_TYPE_INVALID: return "Invalid value";
	}
	return "Invalid value";
}

char *kp_field_error_string(const struct kp_field_error *e)
{
	char *s = NULL;
	const char *type = kp_field_err_type_string(e->type);
	const char *detail = e->detail ? e->detail : "";
	const char *sep = detail[0] ? ": " : "";
	/* Kubernetes leaves the value out of these three (field/errors.go ErrorBody). */
	int show_value = e->value && e->type != KP_FIELD_REQUIRED && e->type != KP_FIELD_FORBIDDEN &&
			 e->type != KP_FIELD_TOO_LONG;
	int r;

	if (show_value)
		r = asprintf(&s, "%s: %s: %s%s%s", e->field, type, e->value, sep, detail);
	else
		r = asprintf(&s, "%s: %s%s%s", e->field, type, sep, detail);
	return r < 0 ? NULL : s;
}

char *kp_errlist_string(const struct kp_errlist *l)
{
	char **msgs;
	size_t nuniq = 0, len = 3;
	char *out, *p;

	if (l->n == 0)
		return strdup("");
	msgs = calloc(l->n, sizeof(*msgs));
	if (!msgs)
		return NULL;
	/* Aggregate.Error(): identical messages once, brackets when more than one. */
	for (size_t i = 0; i < l->n; i++) {
		char *m = kp_field_error_string(&l->v[i]);
		int dup = 0;

		if (!m)
			goto out_free_msgs;
		for (size_t j = 0; j < nuniq && !dup; j++)
			dup = strcmp(msgs[j], m) == 0;
		if (dup) {
			free(m);
			continue;
		}
		msgs[nuniq++] = m;
		len += strlen(m) + 2;
	}
	out = malloc(len);
	if (!out)
		goto out_free_msgs;
	p = out;
	if (nuniq > 1)
		*p++ = '[';
	for (size_t i = 0; i < nuniq; i++) {
		size_t n = strlen(msgs[i]);
		if (i) {
			memcpy(p, ", ", 2);
			p += 2;
		}
		memcpy(p, msgs[i], n);
		p += n;
	}
	if (nuniq > 1)
		*p++ = ']';
	*p = '\0';
	for (size_t i = 0; i < nuniq; i++)
		free(msgs[i]);
	free(msgs);
	return out;

out_free_msgs:
	for (size_t i = 0; i < nuniq; i++)
		free(msgs[i]);
	free(msgs);
	return NULL;
}

void kp_errlist_release(struct kp_errlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].field);
		free(l->v[i].value);
		free(l->v[i].detail);
	}
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

/* ---- structured validation ---- */

/* JSON text of a value for the "Invalid value: <v>" part; caller frees. */
static char *value_text(const json_t *v)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

	return s ? s : xstrdup("null");
}

static void add_msgs(struct kp_errlist *errs, const char *field, const json_t *value,
		     const struct msgs *m)
{
	char *vt;

	if (m->n == 0)
		return;
	vt = value_text(value);
	for (int i = 0; i < m->n; i++)
		kp_errlist_add(errs, KP_FIELD_INVALID, field, vt, "%s", m->v[i]);
	free(vt);
}

static void add_str_msgs(struct kp_errlist *errs, const char *field, const char *s,
			 const struct msgs *m)
{
	json_t *j;

	if (m->n == 0)
		return;
	j = json_string(s);
	add_msgs(errs, field, j ? j : json_null(), m);
	json_decref(j);
}

static void type_error(struct kp_errlist *errs, const char *field, const json_t *v, const char *type)
{
	char *vt = value_text(v);

	kp_errlist_add(errs, KP_FIELD_TYPE_INVALID, field, vt, "must be of type %s", type);
	free(vt);
}

static char *child_path(const char *path, const char *child)
{
	char *s = NULL;

	if (asprintf(&s, "%s.%s", path, child) < 0) {
		fputs("kplane: out of memory in validation\n", stderr);
		abort();
	}
	return s;
}

void kp_validate_labels(const json_t *labels, const char *path, struct kp_errlist *errs)
{
	const char *k;
	json_t *v;

	if (!labels || json_is_null(labels))
		return;
	if (!json_is_object(labels)) {
		type_error(errs, path, labels, "object");
		return;
	}
	json_object_foreach((json_t *)labels, k, v) {
		struct msgs km = { 0 }, vm = { 0 };

		check_qualified_name(k, &km);
		add_str_msgs(errs, path, k, &km);
		if (!json_is_string(v)) {
			type_error(errs, path, v, "string");
			continue;
		}
		check_label_value(json_string_value(v), &vm);
		add_msgs(errs, path, v, &vm);
	}
}

void kp_validate_annotations(const json_t *ann, const char *path, struct kp_errlist *errs)
{
	const char *k;
	json_t *v;
	uint64_t total = 0;

	if (!ann || json_is_null(ann))
		return;
	if (!json_is_object(ann)) {
		type_error(errs, path, ann, "object");
		return;
	}
	json_object_foreach((json_t *)ann, k, v) {
		struct msgs km = { 0 };
		size_t klen = strlen(k);
		/* Case does not matter for annotation keys: Kubernetes lowercases first. */
		char *lower = xrealloc(NULL, klen + 1);

		for (size_t i = 0; i <= klen; i++)
			lower[i] = (k[i] >= 'A' && k[i] <= 'Z') ? (char)(k[i] - 'A' + 'a') : k[i];
		check_qualified_name(lower, &km);
		free(lower);
		add_str_msgs(errs, path, k, &km);
		total += klen;
		if (json_is_string(v))
			total += json_string_length(v);
		else
			type_error(errs, path, v, "string");
	}
	if (total > KP_ANNOTATIONS_MAX_BYTES)
		kp_errlist_add(errs, KP_FIELD_TOO_LONG, path, NULL, "must have at most %d bytes",
			       KP_ANNOTATIONS_MAX_BYTES);
}

/* Optional string member: NULL when absent or null, type error otherwise. */
static const char *opt_string(const json_t *obj, const char *key, const char *path,
			      struct kp_errlist *errs, int *bad)
{
	json_t *v = json_object_get(obj, key);
	char *field;

	*bad = 0;
	if (!v || json_is_null(v))
		return NULL;
	if (json_is_string(v))
		return json_string_value(v);
	field = child_path(path, key);
	type_error(errs, field, v, "string");
	free(field);
	*bad = 1;
	return NULL;
}

/*
 * Kubernetes' maskTrailingDash(): a generateName may end in '-' because a
 * suffix follows. It replaces the last TWO characters with "a" (an
 * upstream quirk kept here so the same prefixes pass and fail).
 */
static void check_name(const char *name, int prefix, bool name_is_label, struct msgs *m)
{
	size_t n = strlen(name);
	char *masked = NULL;

	if (prefix && n > 1 && name[n - 1] == '-') {
		masked = xrealloc(NULL, n);
		memcpy(masked, name, n - 2);
		masked[n - 2] = 'a';
		masked[n - 1] = '\0';
		name = masked;
		n--;
	}
	if (name_is_label)
		check_dns1123_label(name, n, m);
	else
		check_dns1123_subdomain(name, n, m);
	free(masked);
}

static void validate_owner_refs(const json_t *refs, const char *path, struct kp_errlist *errs)
{
	size_t i;
	json_t *ref;
	char *first_controller = NULL;

	if (!refs || json_is_null(refs))
		return;
	if (!json_is_array(refs)) {
		type_error(errs, path, refs, "array");
		return;
	}
	json_array_foreach((json_t *)refs, i, ref) {
		const char *av, *kind, *name, *uid, *version;
		int bad;
		char *f;
		json_t *ctl;

		if (!json_is_object(ref)) {
			type_error(errs, path, ref, "object");
			continue;
		}
		/* Kubernetes reports these at ownerReferences.<field>, without the index. */
		av = opt_string(ref, "apiVersion", path, errs, &bad);
		kind = opt_string(ref, "kind", path, errs, &bad);
		name = opt_string(ref, "name", path, errs, &bad);
		uid = opt_string(ref, "uid", path, errs, &bad);
		if (!av)
			av = "";
		version = strrchr(av, '/') ? strrchr(av, '/') + 1 : av;
		if (strchr(av, '/') != strrchr(av, '/'))
			version = ""; /* "a/b/c" is no group/version at all */
		if (!version[0]) {
			json_t *j = json_string(av);
			char *vt = value_text(j ? j : json_null());
			f = child_path(path, "apiVersion");
			kp_errlist_add(errs, KP_FIELD_INVALID, f, vt, "version must not be empty");
			free(f);
			free(vt);
			json_decref(j);
		}
		if (!kind || !kind[0]) {
			f = child_path(path, "kind");
			kp_errlist_add(errs, KP_FIELD_INVALID, f, "\"\"", "kind must not be empty");
			free(f);
		}
		if (!name || !name[0]) {
			f = child_path(path, "name");
			kp_errlist_add(errs, KP_FIELD_INVALID, f, "\"\"", "name must not be empty");
			free(f);
		}
		if (!uid || !uid[0]) {
			f = child_path(path, "uid");
			kp_errlist_add(errs, KP_FIELD_INVALID, f, "\"\"", "uid must not be empty");
			free(f);
		}
		if (strcmp(av, "v1") == 0 && kind && strcmp(kind, "Event") == 0) {
			char *vt = value_text(ref);
			kp_errlist_add(errs, KP_FIELD_INVALID, path, vt,
				       "/v1, Kind=Event is disallowed from being an owner");
			free(vt);
		}
		ctl = json_object_get(ref, "controller");
		if (json_is_true(ctl)) {
			char *cur = NULL;
			if (asprintf(&cur, "%s/%s", kind ? kind : "", name ? name : "") < 0)
				abort();
			if (first_controller) {
				char *vt = value_text(refs);
				kp_errlist_add(errs, KP_FIELD_INVALID, path, vt,
					       "Only one reference can have Controller set to true. "
					       "Found \"true\" in references for %s and %s",
					       first_controller, cur);
				free(vt);
				free(cur);
			} else {
				first_controller = cur;
			}
		} else if (ctl && !json_is_boolean(ctl) && !json_is_null(ctl)) {
			f = child_path(path, "controller");
			type_error(errs, f, ctl, "boolean");
			free(f);
		}
	}
	free(first_controller);
}

static void validate_finalizers(const json_t *fins, const char *path, struct kp_errlist *errs)
{
	size_t i;
	json_t *f;
	int orphan = 0, foreground = 0;

	if (!fins || json_is_null(fins))
		return;
	if (!json_is_array(fins)) {
		type_error(errs, path, fins, "array");
		return;
	}
	json_array_foreach((json_t *)fins, i, f) {
		struct msgs m = { 0 };

		if (!json_is_string(f)) {
			type_error(errs, path, f, "string");
			continue;
		}
		check_qualified_name(json_string_value(f), &m);
		add_msgs(errs, path, f, &m);
		orphan |= strcmp(json_string_value(f), "orphan") == 0;
		foreground |= strcmp(json_string_value(f), "foregroundDeletion") == 0;
	}
	if (orphan && foreground) {
		char *vt = value_text(fins);
		kp_errlist_add(errs, KP_FIELD_INVALID, path, vt,
			       "finalizer orphan and foregroundDeletion cannot be both set");
		free(vt);
	}
}

void kp_validate_object_meta(const json_t *obj, bool namespaced, bool name_is_label,
			     struct kp_errlist *errs)
{
	json_t *md = obj ? json_object_get(obj, "metadata") : NULL;
	json_t *empty = NULL, *gen;
	const char *name, *gname, *ns;
	int bad_name, bad_gname, bad_ns;

	if (md && !json_is_object(md) && !json_is_null(md)) {
		type_error(errs, "metadata", md, "object");
		return;
	}
	if (!md || json_is_null(md))
		md = empty = json_object();
	if (!md)
		abort();

	gname = opt_string(md, "generateName", "metadata", errs, &bad_gname);
	if (gname && gname[0]) {
		struct msgs m = { 0 };
		check_name(gname, 1, name_is_label, &m);
		add_str_msgs(errs, "metadata.generateName", gname, &m);
	}
	name = opt_string(md, "name", "metadata", errs, &bad_name);
	if (!name || !name[0]) {
		/* The API server fills name from generateName before storing. */
		if (!bad_name && !(gname && gname[0]))
			kp_errlist_add(errs, KP_FIELD_REQUIRED, "metadata.name", NULL,
				       "name or generateName is required");
	} else {
		struct msgs m = { 0 };
		check_name(name, 0, name_is_label, &m);
		add_str_msgs(errs, "metadata.name", name, &m);
	}

	ns = opt_string(md, "namespace", "metadata", errs, &bad_ns);
	if (namespaced) {
		if ((!ns || !ns[0]) && !bad_ns) {
			kp_errlist_add(errs, KP_FIELD_REQUIRED, "metadata.namespace", NULL, "%s", "");
		} else if (ns && ns[0]) {
			struct msgs m = { 0 };
			check_dns1123_label(ns, strlen(ns), &m);
			add_str_msgs(errs, "metadata.namespace", ns, &m);
		}
	} else if (ns && ns[0]) {
		kp_errlist_add(errs, KP_FIELD_FORBIDDEN, "metadata.namespace", NULL,
			       "not allowed on this type");
	}

	gen = json_object_get(md, "generation");
	if (gen && !json_is_null(gen)) {
		if (!json_is_integer(gen)) {
			type_error(errs, "metadata.generation", gen, "integer");
		} else if (json_integer_value(gen) < 0) {
			char *vt = value_text(gen);
			kp_errlist_add(errs, KP_FIELD_INVALID, "metadata.generation", vt,
				       "must be greater than or equal to 0");
			free(vt);
		}
	}

	kp_validate_labels(json_object_get(md, "labels"), "metadata.labels", errs);
	kp_validate_annotations(json_object_get(md, "annotations"), "metadata.annotations", errs);
	validate_owner_refs(json_object_get(md, "ownerReferences"), "metadata.ownerReferences", errs);
	validate_finalizers(json_object_get(md, "finalizers"), "metadata.finalizers", errs);
	json_decref(empty);
}

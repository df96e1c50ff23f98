/*
 * selector.c - label, node and field selectors; see <kplane/selector.h>.
 *
 * The string grammar and its error texts follow
 * k8s.io/apimachinery/pkg/labels (Parse), the object forms follow
 * metav1.LabelSelectorAsSelector and component-helpers' nodeaffinity, and
 * field selectors follow k8s.io/apimachinery/pkg/fields.
 *
 * Key and value checks live here as static functions rather than calling
 * validate.c, which was written in parallel; their rules and messages are
 * Kubernetes' IsQualifiedName / IsValidLabelValue.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/error.h>
#include <kplane/selector.h>

/* ---- growable arrays used while compiling ---- */

struct strvec {
	size_t n, cap;
	char **v;
};

struct reqvec {
	size_t n, cap;
	struct kp_sel_req *v;
};

static void strvec_release(struct strvec *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

static int strvec_addn(struct strvec *sv, const char *s, size_t len)
{
	char *c;

	if (sv->n == sv->cap) {
		size_t cap = sv->cap ? sv->cap * 2 : 4;
		char **v = realloc(sv->v, cap * sizeof(*v));
		if (!v)
			return KP_ENOMEM;
		sv->v = v;
		sv->cap = cap;
	}
	c = strndup(s, len);
	if (!c)
		return KP_ENOMEM;
	sv->v[sv->n++] = c;
	return 0;
}

static int strvec_add(struct strvec *sv, const char *s)
{
	return strvec_addn(sv, s, strlen(s));
}

static void req_release(struct kp_sel_req *r)
{
	free(r->key);
	for (size_t i = 0; i < r->nvalues; i++)
		free(r->values[i]);
	free(r->values);
}

static void reqvec_release(struct reqvec *rv)
{
	for (size_t i = 0; i < rv->n; i++)
		req_release(&rv->v[i]);
	free(rv->v);
	rv->v = NULL;
	rv->n = rv->cap = 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Appends a requirement: copies key, steals the strings of values (which
 * is left empty), and sorts and deduplicates them for binary search.
 */
static int reqvec_add(struct reqvec *rv, const char *key, enum kp_sel_op op, struct strvec *values)
{
	struct kp_sel_req *r;
	size_t i, j;

	if (rv->n == rv->cap) {
		size_t cap = rv->cap ? rv->cap * 2 : 4;
		struct kp_sel_req *v = realloc(rv->v, cap * sizeof(*v));
		if (!v)
			return KP_ENOMEM;
		rv->v = v;
		rv->cap = cap;
	}
	r = &rv->v[rv->n];
	r->key = strdup(key);
	if (!r->key)
		return KP_ENOMEM;
	r->op = op;
	r->nvalues = 0;
	r->values = NULL;
	if (values && values->n) {
		qsort(values->v, values->n, sizeof(char *), cmp_str);
		for (i = 1, j = 1; i < values->n; i++) {
			if (strcmp(values->v[i], values->v[j - 1]) == 0)
				free(values->v[i]);
			else
				values->v[j++] = values->v[i];
		}
		r->values = values->v;
		r->nvalues = j;
		values->v = NULL;
		values->n = values->cap = 0;
	}
	rv->n++;
	return 0;
}

static int cmp_req(const void *pa, const void *pb)
{
	const struct kp_sel_req *a = pa, *b = pb;
	int c = strcmp(a->key, b->key);
	size_t i;

	if (c)
		return c;
	if (a->op != b->op)
		return a->op < b->op ? -1 : 1;
	for (i = 0; i < a->nvalues && i < b->nvalues; i++) {
		c = strcmp(a->values[i], b->values[i]);
		if (c)
			return c;
	}
	return (a->nvalues > b->nvalues) - (a->nvalues < b->nvalues);
}

/* Moves the requirements of rv into sel, sorted. */
static void reqvec_finish(struct reqvec *rv, struct kp_label_selector *sel)
{
	if (rv->n > 1)
		qsort(rv->v, rv->n, sizeof(*rv->v), cmp_req);
	sel->n = rv->n;
	sel->reqs = rv->v;
	sel->nothing = false;
	rv->v = NULL;
	rv->n = rv->cap = 0;
}

/* ---- Kubernetes name and value checks ---- */

#define QUALIFIED_NAME_FMT \
	"must consist of alphanumeric characters, '-', '_' or '.', and must start and end " \
	"with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex " \
	"used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9], non-empty */
static bool is_name_part(const char *s, size_t len)
{
	if (len == 0 || !is_alnum(s[0]) || !is_alnum(s[len - 1]))
		return false;
	for (size_t i = 1; i + 1 < len; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

/* RFC 1123 subdomain syntax (length checked by the caller). */
static bool is_dns1123_subdomain(const char *s, size_t len)
{
	size_t i, start = 0;

	for (i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			/* each label: [a-z0-9]([-a-z0-9]*[a-z0-9])? */
			size_t n = i - start;
			const char *l = s + start;
			if (n == 0)
				return false;
			for (size_t k = 0; k < n; k++) {
				char c = l[k];
				bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
					  (c == '-' && k != 0 && k != n - 1);
				if (!ok)
					return false;
			}
			start = i + 1;
		}
	}
	return true;
}

/* Label key: [prefix/]name. NULL when valid, else Kubernetes' detail. */
static const char *check_label_key(const char *s)
{
	const char *slash = strchr(s, '/');
	const char *name = s;

	if (slash) {
		size_t plen = (size_t)(slash - s);
		if (strchr(slash + 1, '/'))
			return "a qualified name " QUALIFIED_NAME_FMT
			       " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')";
		if (plen == 0)
			return "prefix part must be non-empty";
		if (plen > 253)
			return "prefix part must be no more than 253 characters";
		if (!is_dns1123_subdomain(s, plen))
			return "prefix part a lowercase RFC 1123 subdomain must consist of lower case "
			       "alphanumeric characters, '-' or '.', and must start and end with an "
			       "alphanumeric character (e.g. 'example.com', regex used for validation is "
			       "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
		name = slash + 1;
	}
	if (!*name)
		return "name part must be non-empty";
	if (strlen(name) > 63)
		return "name part must be no more than 63 characters";
	if (!is_name_part(name, strlen(name)))
		return "name part " QUALIFIED_NAME_FMT;
	return NULL;
}

static const char *check_label_value(const char *s)
{
	size_t len = strlen(s);

	if (len > 63)
		return "must be no more than 63 characters";
	if (len && !is_name_part(s, len))
		return "a valid label must be an empty string or consist of alphanumeric characters, "
		       "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
		       "'MyValue',  or 'my_value',  or '12345', regex used for validation is "
		       "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
	return NULL;
}

/* Go's strconv.ParseInt(s, 10, 64): optional sign, digits, in range. */
static bool parse_int64(const char *s, int64_t *out)
{
	const char *p = s;
	bool neg = false;
	uint64_t v = 0, lim;

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (!*p)
		return false;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *p; p++) {
		unsigned d;
		if (*p < '0' || *p > '9')
			return false;
		d = (unsigned)(*p - '0');
		if (v > (lim - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (neg)
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	else
		*out = (int64_t)v;
	return true;
}

/*
 * Quotes s for a message, Go %q style (escapes, truncated to ~80 bytes).
 * Returns buf.
 */
static const char *quote(const char *s, char buf[128])
{
	size_t o = 0;

	buf[o++] = '"';
	for (; *s && o < 100; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(buf + o, 8, "\\x%02x", c);
		} else {
			buf[o++] = (char)c;
		}
	}
	if (*s) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

/* ---- matching ---- */

typedef const char *(*lookup_fn)(const char *key, void *arg);

static bool has_value(const struct kp_sel_req *r, const char *v)
{
	size_t lo = 0, hi = r->nvalues;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(v, r->values[mid]);
		if (c == 0)
			return true;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return false;
}

static bool req_matches(const struct kp_sel_req *r, const char *v)
{
	int64_t a, b;

	switch (r->op) {
	case KP_SEL_EQUALS:
	case KP_SEL_IN:
		return v && has_value(r, v);
	case KP_SEL_NOT_EQUALS:
	case KP_SEL_NOT_IN:
		return !v || !has_value(r, v);
	case KP_SEL_EXISTS:
		return v != NULL;
	case KP_SEL_DOES_NOT_EXIST:
		return v == NULL;
	case KP_SEL_GT:
	case KP_SEL_LT:
		/* Kubernetes: a label that is not an integer does not match. */
		if (!v || r->nvalues != 1 || !parse_int64(v, &a) || !parse_int64(r->values[0], &b))
			return false;
		return r->op == KP_SEL_GT ? a > b : a < b;
	}
	return false;
}

static bool sel_matches(const struct kp_label_selector *sel, lookup_fn lookup, void *arg)
{
	if (!sel || sel->nothing)
		return false;
	for (size_t i = 0; i < sel->n; i++)
		if (!req_matches(&sel->reqs[i], lookup(sel->reqs[i].key, arg)))
			return false;
	return true;
}

static const char *json_label(const char *key, void *arg)
{
	const json_t *labels = arg;
	return labels ? json_string_value(json_object_get(labels, key)) : NULL;
}

bool kp_label_selector_matches(const struct kp_label_selector *sel, const json_t *labels)
{
	if (labels && !json_is_object(labels))
		labels = NULL;
	return sel_matches(sel, json_label, (void *)labels);
}

bool kp_label_selector_matches_fn(const struct kp_label_selector *sel,
				  const char *(*lookup)(const char *key, void *arg), void *arg)
{
	return sel_matches(sel, lookup, arg);
}

bool kp_label_selector_is_everything(const struct kp_label_selector *sel)
{
	return sel && !sel->nothing && sel->n == 0;
}

/* ---- canonical string ---- */

struct sbuf {
	char *p;
	size_t n, cap;
	bool oom;
};

static void sb_add(struct sbuf *b, const char *s)
{
	size_t len = strlen(s);

	if (b->oom)
		return;
	if (b->n + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *p;
		while (cap < b->n + len + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, len + 1);
	b->n += len;
}

char *kp_label_selector_string(const struct kp_label_selector *sel)
{
	struct sbuf b = { NULL, 0, 0, false };

	sb_add(&b, "");
	for (size_t i = 0; sel && !sel->nothing && i < sel->n; i++) {
		const struct kp_sel_req *r = &sel->reqs[i];
		const char *op = NULL;
		if (i)
			sb_add(&b, ",");
		if (r->op == KP_SEL_DOES_NOT_EXIST)
			sb_add(&b, "!");
		sb_add(&b, r->key);
		switch (r->op) {
		case KP_SEL_EQUALS: op = "="; break;
		case KP_SEL_NOT_EQUALS: op = "!="; break;
		case KP_SEL_IN: op = " in ("; break;
		case KP_SEL_NOT_IN: op = " notin ("; break;
		case KP_SEL_GT: op = ">"; break;
		case KP_SEL_LT: op = "<"; break;
		case KP_SEL_EXISTS:
		case KP_SEL_DOES_NOT_EXIST:
			break;
		}
		if (!op)
			continue;
		sb_add(&b, op);
		for (size_t j = 0; j < r->nvalues; j++) {
			if (j)
				sb_add(&b, ",");
			sb_add(&b, r->values[j]);
		}
		if (r->op == KP_SEL_IN || r->op == KP_SEL_NOT_IN)
			sb_add(&b, ")");
	}
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

void kp_label_selector_release(struct kp_label_selector *sel)
{
	if (!sel)
		return;
	for (size_t i = 0; i < sel->n; i++)
		req_release(&sel->reqs[i]);
	free(sel->reqs);
	sel->reqs = NULL;
	sel->n = 0;
}

void kp_label_selector_free(struct kp_label_selector *sel)
{
	kp_label_selector_release(sel);
	free(sel);
}

/* ---- requirement checks shared by the string and object forms ---- */

/*
 * Checks one requirement as labels.NewRequirement does. path is the
 * prefix of the field names in the message ("" for the string syntax,
 * "matchExpressions[0]." for objects); key_path names the key.
 */
static int check_req(const char *key, enum kp_sel_op op, const struct strvec *vals,
		     const char *what, const char *path, const char *key_path, char **errmsg)
{
	char q[128];
	const char *d;

	if ((d = check_label_key(key)))
		return kp_error_set(errmsg, KP_EINVAL, "%s%s%s: Invalid value: %s: %s", what, path,
				    key_path, quote(key, q), d);
	switch (op) {
	case KP_SEL_IN:
	case KP_SEL_NOT_IN:
		if (vals->n == 0)
			return kp_error_set(errmsg, KP_EINVAL, "%s%svalues: Required value: "
					    "for 'In', 'NotIn' operators, values set can't be empty",
					    what, path);
		break;
	case KP_SEL_EQUALS:
	case KP_SEL_NOT_EQUALS:
		if (vals->n != 1)
			return kp_error_set(errmsg, KP_EINVAL, "%s%svalues: Invalid value: "
					    "exact-match compatibility requires one single value",
					    what, path);
		break;
	case KP_SEL_EXISTS:
	case KP_SEL_DOES_NOT_EXIST:
		if (vals->n != 0)
			return kp_error_set(errmsg, KP_EINVAL, "%s%svalues: Forbidden: "
					    "values set must be empty for 'Exists', 'DoesNotExist' operators",
					    what, path);
		break;
	case KP_SEL_GT:
	case KP_SEL_LT:
		if (vals->n != 1)
			return kp_error_set(errmsg, KP_EINVAL, "%s%svalues: Invalid value: "
					    "for 'Gt', 'Lt' operators, exactly one value is required",
					    what, path);
		int64_t dummy;
		if (!parse_int64(vals->v[0], &dummy))
			return kp_error_set(errmsg, KP_EINVAL, "%s%svalues[0]: Invalid value: %s: "
					    "for 'Gt', 'Lt' operators, the value must be an integer",
					    what, path, quote(vals->v[0], q));
		break;
	}
	for (size_t i = 0; i < vals->n; i++) {
		if ((d = check_label_value(vals->v[i])))
			return kp_error_set(errmsg, KP_EINVAL, "%s%svalues[%zu]: Invalid value: %s: %s",
					    what, path, i, quote(vals->v[i], q), d);
	}
	return 0;
}

/* ---- string syntax ---- */

enum tok {
	T_END, T_IDENT, T_IN, T_NOTIN, T_NOT, T_NE, T_EQ, T_DEQ, T_GT, T_LT,
	T_OPEN, T_CLOSE, T_COMMA,
};

struct lexer {
	const char *s;    /* whole input, for messages */
	const char *p;    /* next byte */
	enum tok tok;     /* current token */
	const char *text; /* its text */
	size_t len;
	size_t col;       /* its 1-based column */
};

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_special(char c)
{
	return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<';
}

/* Reads the next token into lx. */
static void lex(struct lexer *lx)
{
	const char *p = lx->p;

	while (is_ws(*p))
		p++;
	lx->text = p;
	lx->col = (size_t)(p - lx->s) + 1;
	if (!*p) {
		lx->tok = T_END;
		lx->len = 0;
	} else if (is_special(*p)) {
		/* Longest operator first, as Kubernetes' scanner does. */
		lx->len = 1;
		if (p[0] == '!' && p[1] == '=') {
			lx->tok = T_NE;
			lx->len = 2;
		} else if (p[0] == '=' && p[1] == '=') {
			lx->tok = T_DEQ;
			lx->len = 2;
		} else {
			switch (*p) {
			case '=': lx->tok = T_EQ; break;
			case '!': lx->tok = T_NOT; break;
			case '(': lx->tok = T_OPEN; break;
			case ')': lx->tok = T_CLOSE; break;
			case ',': lx->tok = T_COMMA; break;
			case '>': lx->tok = T_GT; break;
			default: lx->tok = T_LT; break;
			}
		}
	} else {
		const char *e = p;
		while (*e && !is_special(*e) && !is_ws(*e))
			e++;
		lx->len = (size_t)(e - p);
		if (lx->len == 2 && memcmp(p, "in", 2) == 0)
			lx->tok = T_IN;
		else if (lx->len == 5 && memcmp(p, "notin", 5) == 0)
			lx->tok = T_NOTIN;
		else
			lx->tok = T_IDENT;
	}
	lx->p = p + lx->len;
}

/* "in" and "notin" are plain words where a key or value is expected. */
static bool is_word(const struct lexer *lx)
{
	return lx->tok == T_IDENT || lx->tok == T_IN || lx->tok == T_NOTIN;
}

static int syntax_error(const struct lexer *lx, char **errmsg, const char *expected)
{
	char q[128];

	if (lx->tok == T_END)
		return kp_error_set(errmsg, KP_EINVAL,
				    "label selector %s: column %zu: found end of string, expected: %s",
				    quote(lx->s, q), lx->col, expected);
	return kp_error_set(errmsg, KP_EINVAL, "label selector %s: column %zu: found '%.*s', expected: %s",
			    quote(lx->s, q), lx->col, (int)(lx->len > 64 ? 64 : lx->len), lx->text,
			    expected);
}

/* Parses one requirement starting at the current token; leaves the next. */
static int parse_requirement(struct lexer *lx, struct reqvec *rv, char **errmsg)
{
	struct strvec vals = { 0, 0, NULL };
	enum kp_sel_op op;
	char *key = NULL;
	char what[160], q[128];
	bool negate = false;
	int rc;

	if (lx->tok == T_NOT) {
		negate = true;
		lex(lx);
	}
	if (!is_word(lx))
		return syntax_error(lx, errmsg, "identifier");
	key = strndup(lx->text, lx->len);
	if (!key)
		return KP_ENOMEM;
	lex(lx);
	if (negate || lx->tok == T_END || lx->tok == T_COMMA) {
		op = negate ? KP_SEL_DOES_NOT_EXIST : KP_SEL_EXISTS;
		goto out_add;
	}

	switch (lx->tok) {
	case T_IN: op = KP_SEL_IN; break;
	case T_NOTIN: op = KP_SEL_NOT_IN; break;
	case T_EQ:
	case T_DEQ: op = KP_SEL_EQUALS; break;
	case T_NE: op = KP_SEL_NOT_EQUALS; break;
	case T_GT: op = KP_SEL_GT; break;
	case T_LT: op = KP_SEL_LT; break;
	default:
		rc = syntax_error(lx, errmsg, "in, notin, =, ==, !=, >, <");
		goto out_free;
	}
	lex(lx);

	if (op == KP_SEL_IN || op == KP_SEL_NOT_IN) {
		/*
		 * Kubernetes' value list: "()" and empty items between commas
		 * stand for the empty value.
		 */
		bool want_value = true;
		if (lx->tok != T_OPEN) {
			rc = syntax_error(lx, errmsg, "'('");
			goto out_free;
		}
		lex(lx);
		for (;;) {
			if (is_word(lx) && want_value) {
				if ((rc = strvec_addn(&vals, lx->text, lx->len)) < 0)
					goto out_free;
				want_value = false;
			} else if (lx->tok == T_COMMA) {
				if (want_value && (rc = strvec_add(&vals, "")) < 0)
					goto out_free;
				want_value = true;
			} else if (lx->tok == T_CLOSE) {
				if (want_value && (rc = strvec_add(&vals, "")) < 0)
					goto out_free;
				lex(lx);
				break;
			} else {
				rc = syntax_error(lx, errmsg, want_value ? "',', ')' or identifier"
									 : "',' or ')'");
				goto out_free;
			}
			lex(lx);
		}
	} else {
		/* "a=" and "a!=" compare with the empty value. */
		if (lx->tok == T_END || lx->tok == T_COMMA) {
			rc = strvec_add(&vals, "");
		} else if (is_word(lx)) {
			rc = strvec_addn(&vals, lx->text, lx->len);
			lex(lx);
		} else {
			rc = syntax_error(lx, errmsg, "identifier");
		}
		if (rc < 0)
			goto out_free;
	}

out_add:
	/* Kubernetes checks the value set sorted, so indexes match its messages. */
	if (vals.n > 1)
		qsort(vals.v, vals.n, sizeof(char *), cmp_str);
	snprintf(what, sizeof(what), "label selector %s: ", quote(lx->s, q));
	rc = check_req(key, op, &vals, what, "", "key", errmsg);
	if (rc == 0)
		rc = reqvec_add(rv, key, op, &vals);
out_free:
	strvec_release(&vals);
	free(key);
	return rc;
}

int kp_label_selector_parse(const char *s, struct kp_label_selector **out, char **errmsg)
{
	struct reqvec rv = { 0, 0, NULL };
	struct lexer lx;
	struct kp_label_selector *sel;
	int rc;

	*out = NULL;
	if (!s)
		s = "";
	lx.s = lx.p = s;
	lex(&lx);
	while (lx.tok != T_END) {
		if (!is_word(&lx) && lx.tok != T_NOT) {
			rc = syntax_error(&lx, errmsg, "!, identifier, or end of string");
			goto out_free;
		}
		if ((rc = parse_requirement(&lx, &rv, errmsg)) < 0)
			goto out_free;
		if (lx.tok == T_END)
			break;
		if (lx.tok != T_COMMA) {
			rc = syntax_error(&lx, errmsg, "',' or end of string");
			goto out_free;
		}
		lex(&lx);
		if (!is_word(&lx) && lx.tok != T_NOT) {
			rc = syntax_error(&lx, errmsg, "identifier after ','");
			goto out_free;
		}
	}
	sel = calloc(1, sizeof(*sel));
	if (!sel) {
		rc = KP_ENOMEM;
		goto out_free;
	}
	reqvec_finish(&rv, sel);
	*out = sel;
	return 0;

out_free:
	reqvec_release(&rv);
	if (rc == KP_ENOMEM)
		kp_error_set(errmsg, rc, "out of memory");
	return rc;
}

/* ---- object forms ---- */

struct op_name {
	const char *name;
	enum kp_sel_op op;
};

static const struct op_name label_ops[] = {
	{ "In", KP_SEL_IN }, { "NotIn", KP_SEL_NOT_IN },
	{ "Exists", KP_SEL_EXISTS }, { "DoesNotExist", KP_SEL_DOES_NOT_EXIST },
	{ NULL, 0 },
};

static const struct op_name node_ops[] = {
	{ "In", KP_SEL_IN }, { "NotIn", KP_SEL_NOT_IN },
	{ "Exists", KP_SEL_EXISTS }, { "DoesNotExist", KP_SEL_DOES_NOT_EXIST },
	{ "Gt", KP_SEL_GT }, { "Lt", KP_SEL_LT },
	{ NULL, 0 },
};

static const struct op_name field_ops[] = {
	{ "In", KP_SEL_IN }, { "NotIn", KP_SEL_NOT_IN },
	{ NULL, 0 },
};

static int unsupported_op(const char *path, const char *opname, const struct op_name *ops,
			  char **errmsg)
{
	char list[160] = "", q[128];
	size_t o = 0;

	for (size_t i = 0; ops[i].name; i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s\"%s\"", i ? ", " : "",
				      ops[i].name);
	return kp_error_set(errmsg, KP_EINVAL, "%soperator: Unsupported value: %s: supported values: %s",
			    path, quote(opname, q), list);
}

/*
 * Compiles a list of {key, operator, values} requirements (matchExpressions
 * or matchFields) at path ("matchExpressions" with any prefix) into rv.
 */
static int compile_exprs(const json_t *arr, const char *path, const struct op_name *ops,
			 bool fields, struct reqvec *rv, char **errmsg)
{
	char p[256];
	size_t i;
	json_t *e;

	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return kp_error_set(errmsg, KP_EINVAL, "%s: Invalid value: must be a list", path);
	json_array_foreach(arr, i, e) {
		struct strvec vals = { 0, 0, NULL };
		const json_t *k, *o, *v;
		const char *key, *opname;
		enum kp_sel_op op = KP_SEL_IN;
		bool found = false;
		int rc;

		snprintf(p, sizeof(p), "%s[%zu].", path, i);
		if (!json_is_object(e))
			return kp_error_set(errmsg, KP_EINVAL, "%s[%zu]: Invalid value: must be an object",
					    path, i);
		k = json_object_get(e, "key");
		o = json_object_get(e, "operator");
		v = json_object_get(e, "values");
		if (!json_is_string(k))
			return kp_error_set(errmsg, KP_EINVAL, "%skey: %s", p,
					    k && !json_is_null(k) ? "Invalid value: must be a string"
								  : "Required value");
		if (!json_is_string(o))
			return kp_error_set(errmsg, KP_EINVAL, "%soperator: %s", p,
					    o && !json_is_null(o) ? "Invalid value: must be a string"
								  : "Required value");
		key = json_string_value(k);
		opname = json_string_value(o);
		for (size_t j = 0; ops[j].name; j++) {
			if (strcmp(opname, ops[j].name) == 0) {
				op = ops[j].op;
				found = true;
				break;
			}
		}
		if (!found)
			return unsupported_op(p, opname, ops, errmsg);
		if (v && !json_is_null(v)) {
			size_t j;
			json_t *s;
			if (!json_is_array(v))
				return kp_error_set(errmsg, KP_EINVAL, "%svalues: Invalid value: must be a list",
						    p);
			json_array_foreach(v, j, s) {
				if (!json_is_string(s)) {
					strvec_release(&vals);
					return kp_error_set(errmsg, KP_EINVAL,
							    "%svalues[%zu]: Invalid value: must be a string",
							    p, j);
				}
				if (strvec_add(&vals, json_string_value(s)) < 0) {
					strvec_release(&vals);
					return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
				}
			}
		}
		if (fields) {
			/* Nodes offer exactly one field to select on. */
			char q[128];
			if (strcmp(key, "metadata.name") != 0)
				rc = kp_error_set(errmsg, KP_EINVAL, "%skey: Invalid value: %s: "
						  "not a valid field selector key (only \"metadata.name\")",
						  p, quote(key, q));
			else if (vals.n != 1)
				rc = kp_error_set(errmsg, KP_EINVAL,
						  "%svalues: Invalid value: must have one element", p);
			else
				rc = 0;
		} else {
			rc = check_req(key, op, &vals, "", p, "key", errmsg);
		}
		if (rc == 0)
			rc = reqvec_add(rv, key, op, &vals);
		strvec_release(&vals);
		if (rc == KP_ENOMEM)
			return kp_error_set(errmsg, rc, "out of memory");
		if (rc < 0)
			return rc;
	}
	return 0;
}

int kp_label_selector_from_json(const json_t *sel, struct kp_label_selector **out, char **errmsg)
{
	struct reqvec rv = { 0, 0, NULL };
	struct kp_label_selector *ls;
	const json_t *ml, *me;
	int rc;

	*out = NULL;
	ls = calloc(1, sizeof(*ls));
	if (!ls)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	if (!sel || json_is_null(sel)) {
		ls->nothing = true;
		*out = ls;
		return 0;
	}
	if (!json_is_object(sel)) {
		rc = kp_error_set(errmsg, KP_EINVAL, "selector: Invalid value: must be an object");
		goto out_free;
	}
	ml = json_object_get(sel, "matchLabels");
	me = json_object_get(sel, "matchExpressions");
	if (ml && !json_is_null(ml)) {
		const char *k, *d;
		json_t *v;
		char q[128];
		if (!json_is_object(ml)) {
			rc = kp_error_set(errmsg, KP_EINVAL, "matchLabels: Invalid value: must be an object");
			goto out_free;
		}
		json_object_foreach((json_t *)ml, k, v) {
			struct strvec vals = { 0, 0, NULL };
			if (!json_is_string(v)) {
				rc = kp_error_set(errmsg, KP_EINVAL,
						  "matchLabels[%s]: Invalid value: must be a string", k);
				goto out_free;
			}
			if ((d = check_label_key(k))) {
				rc = kp_error_set(errmsg, KP_EINVAL, "matchLabels: Invalid value: %s: %s",
						  quote(k, q), d);
				goto out_free;
			}
			if ((d = check_label_value(json_string_value(v)))) {
				rc = kp_error_set(errmsg, KP_EINVAL, "matchLabels[%s]: Invalid value: %s: %s",
						  k, quote(json_string_value(v), q), d);
				goto out_free;
			}
			rc = strvec_add(&vals, json_string_value(v));
			if (rc == 0)
				rc = reqvec_add(&rv, k, KP_SEL_EQUALS, &vals);
			strvec_release(&vals);
			if (rc < 0) {
				rc = kp_error_set(errmsg, rc, "out of memory");
				goto out_free;
			}
		}
	}
	rc = compile_exprs(me, "matchExpressions", label_ops, false, &rv, errmsg);
	if (rc < 0)
		goto out_free;
	reqvec_finish(&rv, ls);
	*out = ls;
	return 0;

out_free:
	reqvec_release(&rv);
	free(ls);
	return rc;
}

/* ---- node selectors ---- */

static int term_compile(const json_t *term, const char *prefix, struct kp_node_selector_term *t,
			char **errmsg)
{
	struct reqvec rv = { 0, 0, NULL };
	char path[128];
	int rc;

	memset(t, 0, sizeof(*t));
	if (!json_is_object(term)) {
		size_t n = strlen(prefix);
		/* prefix ends with '.', dropped for the term's own name */
		if (n == 0)
			return kp_error_set(errmsg, KP_EINVAL, "term: Invalid value: must be an object");
		return kp_error_set(errmsg, KP_EINVAL, "%.*s: Invalid value: must be an object",
				    (int)(n - 1), prefix);
	}
	snprintf(path, sizeof(path), "%smatchExpressions", prefix);
	rc = compile_exprs(json_object_get(term, "matchExpressions"), path, node_ops, false, &rv,
			   errmsg);
	if (rc < 0)
		goto out_free;
	reqvec_finish(&rv, &t->exprs);
	snprintf(path, sizeof(path), "%smatchFields", prefix);
	rc = compile_exprs(json_object_get(term, "matchFields"), path, field_ops, true, &rv, errmsg);
	if (rc < 0)
		goto out_free;
	reqvec_finish(&rv, &t->fields);
	/* A term that constrains nothing selects no node (Kubernetes). */
	if (t->exprs.n == 0 && t->fields.n == 0)
		t->exprs.nothing = true;
	return 0;

out_free:
	reqvec_release(&rv);
	kp_node_selector_term_release(t);
	return rc;
}

int kp_node_selector_term_from_json(const json_t *term, struct kp_node_selector_term *out,
				    char **errmsg)
{
	return term_compile(term, "", out, errmsg);
}

int kp_node_selector_from_json(const json_t *ns, struct kp_node_selector **out, char **errmsg)
{
	struct kp_node_selector *sel;
	const json_t *terms;
	json_t *term;
	size_t i;
	int rc;

	*out = NULL;
	if (!json_is_object(ns))
		return kp_error_set(errmsg, KP_EINVAL, "nodeSelector: Invalid value: must be an object");
	terms = json_object_get(ns, "nodeSelectorTerms");
	if (terms && !json_is_null(terms) && !json_is_array(terms))
		return kp_error_set(errmsg, KP_EINVAL, "nodeSelectorTerms: Invalid value: must be a list");
	sel = calloc(1, sizeof(*sel));
	if (!sel)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	if (json_array_size(terms)) {
		sel->terms = calloc(json_array_size(terms), sizeof(*sel->terms));
		if (!sel->terms) {
			free(sel);
			return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
		}
	}
	json_array_foreach(terms, i, term) {
		char prefix[64];
		snprintf(prefix, sizeof(prefix), "nodeSelectorTerms[%zu].", i);
		rc = term_compile(term, prefix, &sel->terms[i], errmsg);
		if (rc < 0) {
			kp_node_selector_free(sel);
			return rc;
		}
		sel->n = i + 1;
	}
	*out = sel;
	return 0;
}

static const char *node_field(const char *key, void *arg)
{
	return strcmp(key, "metadata.name") == 0 ? arg : NULL;
}

bool kp_node_selector_term_matches(const struct kp_node_selector_term *t,
				   const json_t *node_labels, const char *node_name)
{
	if (!kp_label_selector_matches(&t->exprs, node_labels))
		return false;
	/* As Kubernetes: fields are not checked for a node without a name. */
	if (node_name && *node_name && !sel_matches(&t->fields, node_field, (void *)node_name))
		return false;
	return true;
}

bool kp_node_selector_matches(const struct kp_node_selector *ns,
			      const json_t *node_labels, const char *node_name)
{
	for (size_t i = 0; ns && i < ns->n; i++)
		if (kp_node_selector_term_matches(&ns->terms[i], node_labels, node_name))
			return true;
	return false;
}

void kp_node_selector_term_release(struct kp_node_selector_term *t)
{
	if (!t)
		return;
	kp_label_selector_release(&t->exprs);
	kp_label_selector_release(&t->fields);
}

void kp_node_selector_free(struct kp_node_selector *ns)
{
	if (!ns)
		return;
	for (size_t i = 0; i < ns->n; i++)
		kp_node_selector_term_release(&ns->terms[i]);
	free(ns->terms);
	free(ns);
}

/* ---- field selectors ---- */

/*
 * Unescapes a field selector value: "\\", "\," and "\=" stand for
 * themselves; any other escape, a lone trailing '\' and an unescaped ','
 * or '=' are errors (fields.UnescapeValue).
 */
static int unescape_value(const char *s, size_t len, struct strvec *out, const char *sel,
			  char **errmsg)
{
	char *v = malloc(len + 1), q[128];
	size_t i, o = 0;

	if (!v)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	for (i = 0; i < len; i++) {
		char c = s[i];
		if (c == '\\') {
			if (i + 1 == len || (s[i + 1] != '\\' && s[i + 1] != ',' && s[i + 1] != '=')) {
				free(v);
				return kp_error_set(errmsg, KP_EINVAL,
						    "field selector %s: invalid escape sequence '\\%.*s' "
						    "(only \\\\, \\, and \\= are allowed)",
						    quote(sel, q), i + 1 == len ? 0 : 1, s + i + 1);
			}
			v[o++] = s[++i];
		} else if (c == ',' || c == '=') {
			free(v);
			return kp_error_set(errmsg, KP_EINVAL,
					    "field selector %s: unescaped '%c' in a value (write \\%c)",
					    quote(sel, q), c, c);
		} else {
			v[o++] = c;
		}
	}
	v[o] = '\0';
	if (out->n == out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 1;
		char **nv = realloc(out->v, cap * sizeof(*nv));
		if (!nv) {
			free(v);
			return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
		}
		out->v = nv;
		out->cap = cap;
	}
	out->v[out->n++] = v;
	return 0;
}

static int field_term(const char *sel, const char *t, size_t len, struct reqvec *rv, char **errmsg)
{
	struct strvec vals = { 0, 0, NULL };
	char q[128];
	size_t i, oplen = 0;
	enum kp_sel_op op = KP_SEL_EQUALS;
	char *key;
	int rc;

	/* The first operator wins; at one position "!=" and "==" before "=". */
	for (i = 0; i < len; i++) {
		if (t[i] == '!' && i + 1 < len && t[i + 1] == '=') {
			op = KP_SEL_NOT_EQUALS;
			oplen = 2;
			break;
		}
		if (t[i] == '=') {
			oplen = i + 1 < len && t[i + 1] == '=' ? 2 : 1;
			break;
		}
	}
	if (!oplen)
		return kp_error_set(errmsg, KP_EINVAL,
				    "field selector %s: can't understand '%.*s' (expected field=value, "
				    "field==value or field!=value)",
				    quote(sel, q), (int)len, t);
	if (i == 0)
		return kp_error_set(errmsg, KP_EINVAL, "field selector %s: '%.*s' has no field name",
				    quote(sel, q), (int)len, t);
	rc = unescape_value(t + i + oplen, len - i - oplen, &vals, sel, errmsg);
	if (rc < 0)
		return rc;
	key = strndup(t, i);
	rc = key ? reqvec_add(rv, key, op, &vals) : KP_ENOMEM;
	free(key);
	strvec_release(&vals);
	if (rc < 0)
		return kp_error_set(errmsg, rc, "out of memory");
	return 0;
}

int kp_field_selector_parse(const char *s, struct kp_field_selector **out, char **errmsg)
{
	struct reqvec rv = { 0, 0, NULL };
	struct kp_label_selector tmp;
	struct kp_field_selector *fs;
	size_t i, start = 0, len;
	bool esc = false;
	int rc;

	*out = NULL;
	if (!s)
		s = "";
	len = strlen(s);
	for (i = 0; i <= len; i++) {
		if (i < len && esc) {
			esc = false;
		} else if (i < len && s[i] == '\\') {
			esc = true;
		} else if (i == len || s[i] == ',') {
			/* Empty terms ("a=b,,c=d", trailing ',') are skipped. */
			if (i > start && (rc = field_term(s, s + start, i - start, &rv, errmsg)) < 0) {
				reqvec_release(&rv);
				return rc;
			}
			start = i + 1;
		}
	}
	fs = calloc(1, sizeof(*fs));
	if (!fs) {
		reqvec_release(&rv);
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	}
	reqvec_finish(&rv, &tmp);
	fs->n = tmp.n;
	fs->reqs = tmp.reqs;
	*out = fs;
	return 0;
}

/*
 * The text of the field at dotted path key in obj, in buf when it needs
 * formatting. NULL for objects and arrays (they equal no value); "" for a
 * missing field or null.
 */
static const char *field_text(const json_t *obj, const char *key, char buf[32], bool *composite)
{
	const json_t *v = obj;
	const char *p = key;

	*composite = false;
	while (v) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		v = json_is_object(v) ? json_object_getn(v, p, n) : NULL;
		if (!dot)
			break;
		p = dot + 1;
	}
	if (!v)
		return "";
	switch (json_typeof(v)) {
	case JSON_STRING:
		return json_string_value(v);
	case JSON_INTEGER:
		snprintf(buf, 32, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return buf;
	case JSON_REAL:
		snprintf(buf, 32, "%.17g", json_real_value(v));
		return buf;
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	case JSON_OBJECT:
	case JSON_ARRAY:
		*composite = true;
		return NULL;
	case JSON_NULL:
	default:
		return "";
	}
}

bool kp_field_selector_matches(const struct kp_field_selector *sel, const json_t *obj)
{
	for (size_t i = 0; sel && i < sel->n; i++) {
		const struct kp_sel_req *r = &sel->reqs[i];
		char buf[32];
		bool composite, eq;
		const char *v = obj ? field_text(obj, r->key, buf, &composite) : "";
		if (!obj)
			composite = false;
		eq = !composite && strcmp(v, r->values[0]) == 0;
		if (eq != (r->op == KP_SEL_EQUALS))
			return false;
	}
	return true;
}

void kp_field_selector_free(struct kp_field_selector *sel)
{
	if (!sel)
		return;
	for (size_t i = 0; i < sel->n; i++)
		req_release(&sel->reqs[i]);
	free(sel->reqs);
	free(sel);
}

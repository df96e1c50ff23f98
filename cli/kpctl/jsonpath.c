/* jsonpath.c - kubectl's JSONPath templates; see jsonpath.h. */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/error.h>

#include "cli/kpctl/jsonpath.h"

enum step_type {
	S_ROOT,      /* $ */
	S_CUR,       /* @ */
	S_FIELDS,    /* .a or ['a','b'] */
	S_WILDCARD,  /* .* or [*] */
	S_RECURSIVE, /* .. */
	S_SLICES,    /* [n], [a:b:c], [n,m] */
	S_FILTER,    /* [?(...)] */
};

struct slice {
	long v[3];
	bool known[3];
	bool is_range; /* a ':' was present */
};

struct path;

enum operand_kind { O_PATH, O_STRING, O_INT, O_REAL, O_BOOL };

struct operand {
	enum operand_kind kind;
	struct path *path;
	json_t *lit; /* literal value (owned) */
};

enum filter_op { F_EXISTS, F_EQ, F_NE, F_LT, F_LE, F_GT, F_GE };

struct filter {
	struct operand left, right;
	enum filter_op op;
};

struct step {
	enum step_type type;
	char **names;
	size_t nnames;
	struct slice *slices;
	size_t nslices;
	struct filter *filter;
};

struct path {
	struct step *steps;
	size_t n;
};

enum node_type { N_TEXT, N_PATH, N_RANGE, N_END };

struct node {
	enum node_type type;
	char *text;        /* N_TEXT */
	struct path *path; /* N_PATH, N_RANGE */
	size_t end;        /* N_RANGE: index of its N_END */
};

struct kpc_jsonpath {
	struct node *nodes;
	size_t n, cap;
};

/* ---- small vectors of borrowed values ---- */

struct vals {
	const json_t **v;
	size_t n, cap;
};

static int vals_push(struct vals *a, const json_t *x)
{
	if (a->n == a->cap) {
		size_t nc = a->cap ? a->cap * 2 : 8;
		const json_t **nv = realloc(a->v, nc * sizeof(*nv));
		if (!nv)
			return KP_ENOMEM;
		a->v = nv;
		a->cap = nc;
	}
	a->v[a->n++] = x;
	return 0;
}

/* ---- freeing ---- */

static void path_free(struct path *p);

static void operand_release(struct operand *o)
{
	path_free(o->path);
	json_decref(o->lit);
}

static void path_free(struct path *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		struct step *s = &p->steps[i];
		for (size_t j = 0; j < s->nnames; j++)
			free(s->names[j]);
		free(s->names);
		free(s->slices);
		if (s->filter) {
			operand_release(&s->filter->left);
			operand_release(&s->filter->right);
			free(s->filter);
		}
	}
	free(p->steps);
	free(p);
}

void kpc_jsonpath_free(struct kpc_jsonpath *jp)
{
	if (!jp)
		return;
	for (size_t i = 0; i < jp->n; i++) {
		free(jp->nodes[i].text);
		path_free(jp->nodes[i].path);
	}
	free(jp->nodes);
	free(jp);
}

/* ---- parsing ---- */

struct parser {
	const char *tmpl; /* whole template, for messages */
	const char *p;
	char **errmsg;
};

static int perr(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int perr(struct parser *ps, const char *fmt, ...)
{
	va_list ap;
	char *m = NULL;
	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	kp_error_set(ps->errmsg, KP_EINVAL, "%s", m ? m : "invalid template");
	free(m);
	return KP_EINVAL;
}

static struct step *add_step(struct path *p, enum step_type t)
{
	struct step *ns = realloc(p->steps, (p->n + 1) * sizeof(*ns));
	if (!ns)
		return NULL;
	p->steps = ns;
	memset(&ns[p->n], 0, sizeof(ns[0]));
	ns[p->n].type = t;
	return &ns[p->n++];
}

static int add_name(struct step *s, char *name)
{
	char **nn = realloc(s->names, (s->nnames + 1) * sizeof(*nn));
	if (!nn) {
		free(name);
		return KP_ENOMEM;
	}
	s->names = nn;
	s->names[s->nnames++] = name;
	return 0;
}

/* client-go's isTerminator, plus the quote characters. */
static bool is_terminator(char c)
{
	return !c || strchr(" \t\n.,{}[]$@()=<>!'\"", c) != NULL;
}

/* A field name up to a terminator; `\x` keeps x (so `\.` is a dot). */
static char *parse_name(struct parser *ps)
{
	size_t cap = strlen(ps->p) + 1, n = 0;
	char *s = malloc(cap);
	if (!s)
		return NULL;
	while (*ps->p) {
		if (*ps->p == '\\' && ps->p[1]) {
			s[n++] = ps->p[1];
			ps->p += 2;
			continue;
		}
		if (is_terminator(*ps->p))
			break;
		s[n++] = *ps->p++;
	}
	s[n] = 0;
	return s;
}

/* A quoted literal at ps->p ('...' or "..."), Go escapes for "...". */
static int parse_quoted(struct parser *ps, char **out)
{
	char q = *ps->p++;
	size_t cap = strlen(ps->p) + 1, n = 0;
	char *s = malloc(cap);
	if (!s)
		return KP_ENOMEM;
	while (*ps->p && *ps->p != q) {
		char c = *ps->p++;
		if (c == '\\' && *ps->p) {
			char e = *ps->p++;
			switch (e) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'a': c = '\a'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'v': c = '\v'; break;
			case '0': c = 0; break;
			default: c = e; break; /* \\ \" \' */
			}
			if (!c)
				continue;
		}
		s[n++] = c;
	}
	if (*ps->p != q) {
		free(s);
		return perr(ps, "unterminated quoted string");
	}
	ps->p++;
	s[n] = 0;
	*out = s;
	return 0;
}

static void skip_ws(struct parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n')
		ps->p++;
}

static int parse_path(struct parser *ps, struct path **out);

static int parse_operand(struct parser *ps, struct operand *o)
{
	skip_ws(ps);
	char c = *ps->p;
	if (c == '@' || c == '$' || c == '.') {
		o->kind = O_PATH;
		return parse_path(ps, &o->path);
	}
	if (c == '\'' || c == '"') {
		char *s = NULL;
		int rc = parse_quoted(ps, &s);
		if (rc)
			return rc;
		o->kind = O_STRING;
		o->lit = json_string(s);
		free(s);
		return o->lit ? 0 : KP_ENOMEM;
	}
	if (c == '-' || isdigit((unsigned char)c)) {
		const char *st = ps->p;
		char *end;
		ps->p++;
		while (isdigit((unsigned char)*ps->p) || *ps->p == '.' || *ps->p == 'e' || *ps->p == 'E' ||
		       ((*ps->p == '+' || *ps->p == '-') && (ps->p[-1] == 'e' || ps->p[-1] == 'E')))
			ps->p++;
		char *num = strndup(st, (size_t)(ps->p - st));
		if (!num)
			return KP_ENOMEM;
		if (!strpbrk(num, ".eE")) {
			long long v = strtoll(num, &end, 10);
			o->kind = O_INT;
			o->lit = *end ? NULL : json_integer(v);
		} else {
			double d = strtod(num, &end);
			o->kind = O_REAL;
			o->lit = *end ? NULL : json_real(d);
		}
		if (!o->lit) {
			int rc = perr(ps, "invalid number %s", num);
			free(num);
			return rc;
		}
		free(num);
		return 0;
	}
	if (!strncmp(ps->p, "true", 4) || !strncmp(ps->p, "false", 5)) {
		bool t = *ps->p == 't';
		ps->p += t ? 4 : 5;
		o->kind = O_BOOL;
		o->lit = json_boolean(t);
		return 0;
	}
	return perr(ps, "unrecognized character in filter: %.1s", c ? ps->p : "EOF");
}

static int parse_filter(struct parser *ps, struct step *st)
{
	struct filter *f = calloc(1, sizeof(*f));
	int rc;
	if (!f)
		return KP_ENOMEM;
	st->filter = f;
	if ((rc = parse_operand(ps, &f->left)))
		return rc;
	skip_ws(ps);
	static const struct { const char *s; enum filter_op op; } ops[] = {
		{ "==", F_EQ }, { "!=", F_NE }, { "<=", F_LE }, { ">=", F_GE }, { "<", F_LT }, { ">", F_GT },
	};
	f->op = F_EXISTS;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strncmp(ps->p, ops[i].s, strlen(ops[i].s))) {
			f->op = ops[i].op;
			ps->p += strlen(ops[i].s);
			break;
		}
	if (f->op == F_EXISTS && *ps->p == '=')
		return perr(ps, "invalid filter operator in %s", ps->tmpl);
	if (f->op != F_EXISTS && (rc = parse_operand(ps, &f->right)))
		return rc;
	skip_ws(ps);
	if (ps->p[0] != ')' || ps->p[1] != ']')
		return perr(ps, "unclosed array expect ]");
	ps->p += 2;
	return 0;
}

/* One element of [ ... ]: "n", "a:b", "a:b:c", with empty parts unknown. */
static int parse_slice(struct parser *ps, const char *s, size_t len, struct slice *out)
{
	memset(out, 0, sizeof(*out));
	int part = 0;
	size_t i = 0;
	while (part < 3) {
		size_t st = i;
		while (i < len && s[i] != ':')
			i++;
		/* trim */
		size_t a = st, b = i;
		while (a < b && s[a] == ' ')
			a++;
		while (b > a && s[b - 1] == ' ')
			b--;
		if (b > a) {
			char buf[32], *end;
			if (b - a >= sizeof(buf))
				return perr(ps, "invalid array index %.*s", (int)len, s);
			memcpy(buf, s + a, b - a);
			buf[b - a] = 0;
			long v = strtol(buf, &end, 10);
			if (*end)
				return perr(ps, "invalid array index %s", buf);
			out->v[part] = v;
			out->known[part] = true;
		}
		if (i >= len)
			break;
		out->is_range = true;
		i++; /* ':' */
		part++;
	}
	if (part >= 3)
		return perr(ps, "invalid array index %.*s", (int)len, s);
	if (!out->is_range && !out->known[0])
		return perr(ps, "invalid array index %.*s", (int)len, s);
	if (out->known[2] && out->v[2] <= 0)
		return perr(ps, "step must be greater than 0");
	return 0;
}

static int parse_bracket(struct parser *ps, struct path *p)
{
	ps->p++; /* [ */
	skip_ws(ps);
	if (ps->p[0] == '?' && ps->p[1] == '(') {
		ps->p += 2;
		struct step *st = add_step(p, S_FILTER);
		return st ? parse_filter(ps, st) : KP_ENOMEM;
	}
	if (*ps->p == '\'') {
		struct step *st = add_step(p, S_FIELDS);
		if (!st)
			return KP_ENOMEM;
		for (;;) {
			char *name = NULL;
			int rc;
			skip_ws(ps);
			if (*ps->p != '\'')
				return perr(ps, "invalid array index %s", ps->p);
			if ((rc = parse_quoted(ps, &name)) || (rc = add_name(st, name)))
				return rc;
			skip_ws(ps);
			if (*ps->p == ',') {
				ps->p++;
				continue;
			}
			if (*ps->p != ']')
				return perr(ps, "unclosed array expect ]");
			ps->p++;
			return 0;
		}
	}
	const char *close = strchr(ps->p, ']');
	if (!close)
		return perr(ps, "unclosed array expect ]");
	size_t len = (size_t)(close - ps->p);
	const char *body = ps->p;
	ps->p = close + 1;
	size_t a = 0;
	while (a < len && body[a] == ' ')
		a++;
	if (len - a >= 1 && body[a] == '*') {
		size_t b = a + 1;
		while (b < len && body[b] == ' ')
			b++;
		if (b == len)
			return add_step(p, S_WILDCARD) ? 0 : KP_ENOMEM;
	}
	struct step *st = add_step(p, S_SLICES);
	if (!st)
		return KP_ENOMEM;
	size_t i = 0;
	while (i <= len) {
		size_t st0 = i;
		while (i < len && body[i] != ',')
			i++;
		struct slice *ns = realloc(st->slices, (st->nslices + 1) * sizeof(*ns));
		if (!ns)
			return KP_ENOMEM;
		st->slices = ns;
		int rc = parse_slice(ps, body + st0, i - st0, &st->slices[st->nslices]);
		if (rc)
			return rc;
		st->nslices++;
		i++;
	}
	return 0;
}

/* A path: [$|@] followed by .name, .*, .., [..] steps. */
static int parse_path(struct parser *ps, struct path **out)
{
	struct path *p = calloc(1, sizeof(*p));
	int rc = 0;
	if (!p)
		return KP_ENOMEM;
	*out = p;
	for (;;) {
		char c = *ps->p;
		if (c == '$' || c == '@') {
			if (!add_step(p, c == '$' ? S_ROOT : S_CUR))
				return KP_ENOMEM;
			ps->p++;
		} else if (c == '.' && ps->p[1] == '.') {
			ps->p += 2;
			if (!add_step(p, S_RECURSIVE))
				return KP_ENOMEM;
			if (*ps->p == '*') {
				ps->p++;
				if (!add_step(p, S_WILDCARD))
					return KP_ENOMEM;
			} else if (!is_terminator(*ps->p) || *ps->p == '\\') {
				char *name = parse_name(ps);
				struct step *st = name ? add_step(p, S_FIELDS) : NULL;
				if (!st) {
					free(name);
					return KP_ENOMEM;
				}
				if ((rc = add_name(st, name)))
					return rc;
			}
		} else if (c == '.') {
			ps->p++;
			if (*ps->p == '*') {
				ps->p++;
				if (!add_step(p, S_WILDCARD))
					return KP_ENOMEM;
			} else if (!is_terminator(*ps->p) || *ps->p == '\\') {
				char *name = parse_name(ps);
				struct step *st = name ? add_step(p, S_FIELDS) : NULL;
				if (!st) {
					free(name);
					return KP_ENOMEM;
				}
				if ((rc = add_name(st, name)))
					return rc;
			}
		} else if (c == '[') {
			if ((rc = parse_bracket(ps, p)))
				return rc;
		} else if (!is_terminator(c) && p->n == 0) {
			/* a bare name at the start: client-go reads it as a field */
			char *name = parse_name(ps);
			struct step *st = name ? add_step(p, S_FIELDS) : NULL;
			if (!st) {
				free(name);
				return KP_ENOMEM;
			}
			if ((rc = add_name(st, name)))
				return rc;
		} else {
			return 0;
		}
	}
}

static struct node *add_node(struct kpc_jsonpath *jp, enum node_type t)
{
	if (jp->n == jp->cap) {
		size_t nc = jp->cap ? jp->cap * 2 : 8;
		struct node *nn = realloc(jp->nodes, nc * sizeof(*nn));
		if (!nn)
			return NULL;
		jp->nodes = nn;
		jp->cap = nc;
	}
	struct node *n = &jp->nodes[jp->n++];
	memset(n, 0, sizeof(*n));
	n->type = t;
	return n;
}

static int add_text(struct kpc_jsonpath *jp, const char *s, size_t len)
{
	if (!len)
		return 0;
	struct node *n = add_node(jp, N_TEXT);
	if (!n || !(n->text = strndup(s, len)))
		return KP_ENOMEM;
	return 0;
}

/* client-go takes "range" and "end" as prefixes: {range.items[*]} is a range. */
static bool word_at(const char *p, const char *w)
{
	return !strncmp(p, w, strlen(w));
}

/* The inside of one {...}; ps->p is just past '{'. */
static int parse_action(struct parser *ps, struct kpc_jsonpath *jp, size_t *stack, size_t *depth)
{
	int rc;
	skip_ws(ps);
	if (word_at(ps->p, "range")) {
		ps->p += 5;
		skip_ws(ps);
		struct node *n = add_node(jp, N_RANGE);
		if (!n)
			return KP_ENOMEM;
		if ((rc = parse_path(ps, &n->path)))
			return rc;
		if (!n->path->n)
			return perr(ps, "missing range expression");
		if (*depth >= 64)
			return perr(ps, "ranges nested too deeply");
		stack[(*depth)++] = jp->n - 1;
	} else if (word_at(ps->p, "end")) {
		ps->p += 3;
		if (!*depth)
			return perr(ps, "not in range, nothing to end");
		struct node *n = add_node(jp, N_END);
		if (!n)
			return KP_ENOMEM;
		jp->nodes[stack[--(*depth)]].end = jp->n - 1;
	} else if (*ps->p == '"' || *ps->p == '\'') {
		char *s = NULL;
		if ((rc = parse_quoted(ps, &s)))
			return rc;
		struct node *n = add_node(jp, N_TEXT);
		if (!n) {
			free(s);
			return KP_ENOMEM;
		}
		n->text = s;
	} else {
		struct node *n = add_node(jp, N_PATH);
		if (!n)
			return KP_ENOMEM;
		if ((rc = parse_path(ps, &n->path)))
			return rc;
		if (!n->path->n && *ps->p != '}')
			return perr(ps, "unrecognized character in action: %.1s", ps->p);
	}
	skip_ws(ps);
	if (!*ps->p)
		return perr(ps, "unclosed action");
	if (*ps->p != '}')
		return perr(ps, "unrecognized character in action: %.1s", ps->p);
	ps->p++;
	return 0;
}

int kpc_jsonpath_parse(const char *tmpl, struct kpc_jsonpath **out, char **errmsg)
{
	struct kpc_jsonpath *jp = calloc(1, sizeof(*jp));
	struct parser ps = { tmpl, tmpl, errmsg };
	size_t stack[64], depth = 0;
	int rc = 0;
	if (!jp)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	while (*ps.p) {
		const char *open = strchr(ps.p, '{');
		if (!open) {
			rc = add_text(jp, ps.p, strlen(ps.p));
			break;
		}
		if ((rc = add_text(jp, ps.p, (size_t)(open - ps.p))))
			break;
		ps.p = open + 1;
		if ((rc = parse_action(&ps, jp, stack, &depth)))
			break;
	}
	if (!rc && depth)
		rc = perr(&ps, "unclosed range");
	if (rc) {
		if (rc == KP_ENOMEM)
			kp_error_set(errmsg, rc, "out of memory");
		kpc_jsonpath_free(jp);
		return rc;
	}
	*out = jp;
	return 0;
}

/* ---- evaluation ---- */

struct eval {
	const json_t *root;
	bool allow_missing;
	char **errmsg;
};

static int eval_path(struct eval *e, const struct path *p, const struct vals *in, struct vals *out);

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* An object's keys, sorted (Go ranges over maps in sorted order when printing). */
static const char **sorted_keys(const json_t *o, size_t *n)
{
	size_t cnt = json_object_size(o), i = 0;
	const char **keys = calloc(cnt ? cnt : 1, sizeof(*keys)), *k;
	json_t *v;
	if (!keys)
		return NULL;
	json_object_foreach((json_t *)o, k, v) keys[i++] = k;
	qsort(keys, cnt, sizeof(*keys), cmp_keys);
	*n = cnt;
	return keys;
}

static int push_children(struct vals *out, const json_t *v)
{
	if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++)
			if (vals_push(out, json_array_get(v, i)))
				return KP_ENOMEM;
	} else if (json_is_object(v)) {
		size_t n = 0;
		const char **keys = sorted_keys(v, &n);
		if (!keys)
			return KP_ENOMEM;
		for (size_t i = 0; i < n; i++)
			if (vals_push(out, json_object_get(v, keys[i]))) {
				free(keys);
				return KP_ENOMEM;
			}
		free(keys);
	}
	return 0;
}

static int push_recursive(struct vals *out, const json_t *v)
{
	if (vals_push(out, v))
		return KP_ENOMEM;
	struct vals kids = { 0 };
	int rc = push_children(&kids, v);
	for (size_t i = 0; !rc && i < kids.n; i++)
		if (json_is_object(kids.v[i]) || json_is_array(kids.v[i]))
			rc = push_recursive(out, kids.v[i]);
	free(kids.v);
	return rc;
}

static int eval_slice(struct eval *e, const struct slice *s, const json_t *v, struct vals *out)
{
	if (!json_is_array(v)) {
		if (e->allow_missing)
			return 0;
		return kp_error_set(e->errmsg, KP_EINVAL, "not an array: %s",
				    json_is_object(v) ? "map" : "value");
	}
	long len = (long)json_array_size(v);
	{
		long a = s->known[0] ? s->v[0] : 0;
		if (a < 0)
			a += len;
		if (!s->is_range) {
			if (a < 0 || a >= len)
				return kp_error_set(e->errmsg, KP_EINVAL,
						    "array index out of bounds: index %ld, length %ld",
						    s->known[0] ? s->v[0] : 0, len);
			return vals_push(out, json_array_get(v, (size_t)a));
		}
		long b = s->known[1] ? s->v[1] : len;
		if (b < 0)
			b += len;
		long step = s->known[2] ? s->v[2] : 1;
		if (a < 0)
			a = 0;
		if (b > len)
			b = len;
		if (a > len || a > b)
			return kp_error_set(e->errmsg, KP_EINVAL,
					    "array index out of bounds: index %ld, length %ld", a, len);
		for (long j = a; j < b; j += step)
			if (vals_push(out, json_array_get(v, (size_t)j)))
				return KP_ENOMEM;
	}
	return 0;
}

static bool is_number(const json_t *v)
{
	return json_is_integer(v) || json_is_real(v);
}

/* -2 when the values cannot be ordered (different kinds). */
static int compare_for_filter(const json_t *a, const json_t *b)
{
	if (is_number(a) && is_number(b)) {
		if (json_is_integer(a) && json_is_integer(b)) {
			json_int_t x = json_integer_value(a), y = json_integer_value(b);
			return x < y ? -1 : x > y;
		}
		double x = json_number_value(a), y = json_number_value(b);
		return x < y ? -1 : x > y;
	}
	if (json_is_string(a) && json_is_string(b)) {
		int c = strcmp(json_string_value(a), json_string_value(b));
		return c < 0 ? -1 : c > 0;
	}
	if (json_is_boolean(a) && json_is_boolean(b))
		return json_is_true(a) == json_is_true(b) ? 0 : 2; /* equal or not, never ordered */
	return -2;
}

static int operand_values(struct eval *e, const struct operand *o, const json_t *cur, struct vals *out)
{
	if (o->kind != O_PATH)
		return vals_push(out, o->lit);
	struct vals in = { 0 };
	if (vals_push(&in, cur))
		return KP_ENOMEM;
	bool am = e->allow_missing;
	e->allow_missing = true; /* a filter skips elements without the field */
	int rc = eval_path(e, o->path, &in, out);
	e->allow_missing = am;
	free(in.v);
	return rc;
}

static int eval_filter(struct eval *e, const struct filter *f, const json_t *v, struct vals *out)
{
	struct vals elems = { 0 };
	int rc = 0;
	if (json_is_array(v))
		rc = push_children(&elems, v);
	else if (json_is_object(v))
		rc = vals_push(&elems, v);
	for (size_t i = 0; !rc && i < elems.n; i++) {
		struct vals l = { 0 }, r = { 0 };
		const json_t *el = elems.v[i];
		rc = operand_values(e, &f->left, el, &l);
		if (!rc && f->op != F_EXISTS)
			rc = operand_values(e, &f->right, el, &r);
		if (!rc && l.n > 1)
			rc = kp_error_set(e->errmsg, KP_EINVAL, "can only compare one element at a time");
		bool keep = false;
		if (!rc && l.n == 1) {
			if (f->op == F_EXISTS) {
				keep = true;
			} else if (r.n == 1) {
				int c = compare_for_filter(l.v[0], r.v[0]);
				switch (f->op) {
				case F_EQ: keep = c == 0; break;
				case F_NE: keep = c != 0; break;
				case F_LT: keep = c == -1; break;
				case F_LE: keep = c == -1 || c == 0; break;
				case F_GT: keep = c == 1; break;
				case F_GE: keep = c == 1 || c == 0; break;
				default: break;
				}
			}
		}
		if (!rc && keep)
			rc = vals_push(out, el);
		free(l.v);
		free(r.v);
	}
	free(elems.v);
	return rc;
}

static int eval_step(struct eval *e, const struct step *st, const struct vals *in, struct vals *out)
{
	int rc = 0;
	/* A union ([0,1], ['a','b']) takes each member over every input in
	 * turn, as client-go: all the names, then all the images. */
	if (st->type == S_FIELDS) {
		for (size_t j = 0; !rc && j < st->nnames; j++)
			for (size_t i = 0; !rc && i < in->n; i++) {
				const json_t *v = in->v[i];
				const json_t *x = json_is_object(v) ? json_object_get(v, st->names[j]) : NULL;
				if (x)
					rc = vals_push(out, x);
				else if (!e->allow_missing)
					rc = kp_error_set(e->errmsg, KP_EINVAL, "%s is not found", st->names[j]);
			}
		return rc;
	}
	if (st->type == S_SLICES) {
		for (size_t j = 0; !rc && j < st->nslices; j++)
			for (size_t i = 0; !rc && i < in->n; i++)
				rc = eval_slice(e, &st->slices[j], in->v[i], out);
		return rc;
	}
	for (size_t i = 0; !rc && i < in->n; i++) {
		const json_t *v = in->v[i];
		switch (st->type) {
		case S_ROOT:
			rc = vals_push(out, e->root);
			break;
		case S_CUR:
			rc = vals_push(out, v);
			break;

		case S_WILDCARD:
			rc = push_children(out, v);
			break;
		case S_RECURSIVE:
			rc = push_recursive(out, v);
			break;
		default:
			break;
		case S_FILTER:
			rc = eval_filter(e, st->filter, v, out);
			break;
		}
	}
	return rc;
}

static int eval_path(struct eval *e, const struct path *p, const struct vals *in, struct vals *out)
{
	struct vals cur = { 0 };
	int rc = 0;
	for (size_t i = 0; i < in->n && !rc; i++)
		rc = vals_push(&cur, in->v[i]);
	for (size_t s = 0; !rc && s < p->n; s++) {
		struct vals next = { 0 };
		rc = eval_step(e, &p->steps[s], &cur, &next);
		free(cur.v);
		cur = next;
	}
	for (size_t i = 0; !rc && i < cur.n; i++)
		rc = vals_push(out, cur.v[i]);
	free(cur.v);
	if (rc == KP_ENOMEM)
		kp_error_set(e->errmsg, rc, "out of memory");
	return rc;
}

/* ---- printing ---- */

void kpc_go_float(double d, char *buf, size_t bufsz)
{
	if (isnan(d)) {
		snprintf(buf, bufsz, "NaN");
		return;
	}
	if (isinf(d)) {
		snprintf(buf, bufsz, d > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (d == 0) {
		snprintf(buf, bufsz, signbit(d) ? "-0" : "0");
		return;
	}
	/* Shortest digits that read back as d, as strconv does. */
	char e[64];
	int prec;
	for (prec = 1; prec <= 17; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec - 1, d);
		if (strtod(e, NULL) == d)
			break;
	}
	char *ep = strchr(e, 'e');
	int exp = ep ? atoi(ep + 1) : 0;
	if (exp < -4 || exp >= 6) {
		/* mantissa as is (shortest has no trailing zeros), exponent at least 2 digits */
		*ep = 0;
		snprintf(buf, bufsz, "%se%c%02d", e, exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
		return;
	}
	int decimals = prec - 1 - exp;
	snprintf(buf, bufsz, "%.*f", decimals > 0 ? decimals : 0, d);
}

/* Go's encoding/json float format: 'f', or 'e' outside [1e-6, 1e21). */
static void json_float(double d, FILE *out)
{
	char e[64];
	int prec;
	double ad = fabs(d);
	if (d == 0 || !isfinite(d)) {
		fputs("0", out);
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec - 1, d);
		if (strtod(e, NULL) == d)
			break;
	}
	if (ad < 1e-6 || ad >= 1e21) {
		char *ep = strchr(e, 'e');
		int exp = atoi(ep + 1);
		*ep = 0;
		fprintf(out, "%se%c%d", e, exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
		return;
	}
	int exp = atoi(strchr(e, 'e') + 1), decimals = prec - 1 - exp;
	fprintf(out, "%.*f", decimals > 0 ? decimals : 0, d);
}

static void json_string_go(const char *s, FILE *out)
{
	static const char hex[] = "0123456789abcdef";
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;
		if (c == '"' || c == '\\') {
			fputc('\\', out);
			fputc(c, out);
		} else if (c == '\n') {
			fputs("\\n", out);
		} else if (c == '\r') {
			fputs("\\r", out);
		} else if (c == '\t') {
			fputs("\\t", out);
		} else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
			fprintf(out, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
		} else if (c == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
			fprintf(out, "\\u202%c", p[2] == 0xa8 ? '8' : '9');
			p += 2;
		} else {
			fputc(c, out);
		}
	}
	fputc('"', out);
}

/* Compact JSON as Go's json.Marshal writes a map[string]interface{}. */
static void go_json(const json_t *v, FILE *out)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		size_t n = 0;
		const char **keys = sorted_keys(v, &n);
		fputc('{', out);
		for (size_t i = 0; keys && i < n; i++) {
			if (i)
				fputc(',', out);
			json_string_go(keys[i], out);
			fputc(':', out);
			go_json(json_object_get(v, keys[i]), out);
		}
		fputc('}', out);
		free(keys);
		break;
	}
	case JSON_ARRAY:
		fputc('[', out);
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i)
				fputc(',', out);
			go_json(json_array_get(v, i), out);
		}
		fputc(']', out);
		break;
	case JSON_STRING: json_string_go(json_string_value(v), out); break;
	case JSON_INTEGER: fprintf(out, "%lld", (long long)json_integer_value(v)); break;
	case JSON_REAL: json_float(json_real_value(v), out); break;
	case JSON_TRUE: fputs("true", out); break;
	case JSON_FALSE: fputs("false", out); break;
	default: fputs("null", out); break;
	}
}

static void go_text(const json_t *v, FILE *out)
{
	char buf[64];
	switch (json_typeof(v)) {
	case JSON_STRING: fputs(json_string_value(v), out); break;
	case JSON_INTEGER: fprintf(out, "%lld", (long long)json_integer_value(v)); break;
	case JSON_REAL:
		kpc_go_float(json_real_value(v), buf, sizeof(buf));
		fputs(buf, out);
		break;
	case JSON_TRUE: fputs("true", out); break;
	case JSON_FALSE: fputs("false", out); break;
	case JSON_NULL: fputs("<nil>", out); break;
	default: go_json(v, out); break;
	}
}

static void go_format(const json_t *v, FILE *out)
{
	if (json_is_object(v)) {
		size_t n = 0;
		const char **keys = sorted_keys(v, &n);
		fputs("map[", out);
		for (size_t i = 0; keys && i < n; i++) {
			fprintf(out, "%s%s:", i ? " " : "", keys[i]);
			go_format(json_object_get(v, keys[i]), out);
		}
		fputc(']', out);
		free(keys);
	} else if (json_is_array(v)) {
		fputc('[', out);
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i)
				fputc(' ', out);
			go_format(json_array_get(v, i), out);
		}
		fputc(']', out);
	} else {
		go_text(v, out);
	}
}

char *kpc_go_format(const json_t *v)
{
	char *s = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&s, &len);
	if (!m)
		return NULL;
	go_format(v, m);
	fclose(m);
	return s;
}

static int exec_range(struct eval *e, const struct kpc_jsonpath *jp, size_t from, size_t to,
		      const json_t *cur, FILE *out)
{
	for (size_t i = from; i < to; i++) {
		const struct node *n = &jp->nodes[i];
		if (n->type == N_TEXT) {
			fputs(n->text, out);
		} else if (n->type == N_PATH || n->type == N_RANGE) {
			struct vals in = { 0 }, res = { 0 };
			int rc = vals_push(&in, cur);
			if (!rc)
				rc = eval_path(e, n->path, &in, &res);
			free(in.v);
			if (rc) {
				free(res.v);
				return rc;
			}
			if (n->type == N_PATH) {
				for (size_t j = 0; j < res.n; j++) {
					if (j)
						fputc(' ', out);
					go_text(res.v[j], out);
				}
			} else {
				for (size_t j = 0; !rc && j < res.n; j++)
					rc = exec_range(e, jp, i + 1, n->end, res.v[j], out);
				i = n->end;
			}
			free(res.v);
			if (rc)
				return rc;
		}
	}
	return 0;
}

int kpc_jsonpath_exec(const struct kpc_jsonpath *jp, const json_t *data, bool allow_missing,
		      FILE *out, char **errmsg)
{
	struct eval e = { data, allow_missing, errmsg };
	return exec_range(&e, jp, 0, jp->n, data, out);
}

int kpc_jsonpath_find(const struct kpc_jsonpath *jp, const json_t *data, bool allow_missing,
		      json_t **out, char **errmsg)
{
	struct eval e = { data, allow_missing, errmsg };
	json_t *all = json_array();
	int rc = 0;
	if (!all)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < jp->n; i++) {
		const struct node *n = &jp->nodes[i];
		if (n->type != N_PATH)
			continue;
		struct vals in = { 0 }, res = { 0 };
		rc = vals_push(&in, data);
		if (!rc)
			rc = eval_path(&e, n->path, &in, &res);
		for (size_t j = 0; !rc && j < res.n; j++)
			json_array_append_new(all, json_deep_copy(res.v[j]));
		free(in.v);
		free(res.v);
	}
	if (rc) {
		json_decref(all);
		return rc;
	}
	*out = all;
	return 0;
}

char *kpc_jsonpath_relaxed(const char *expr, char **errmsg)
{
	size_t len = strlen(expr);
	const char *body = expr;
	char *s = NULL;
	if (!len)
		return strdup("");
	if (expr[0] == '{' && len >= 2 && expr[len - 1] == '}') {
		body = expr + 1;
		len -= 2;
	}
	if (len && body[0] == '.') {
		body++;
		len--;
	}
	bool ok = len > 0;
	for (size_t i = 0; i < len; i++)
		if (body[i] == '{' || body[i] == '}')
			ok = false;
	if (!ok) {
		kp_error_set(errmsg, KP_EINVAL, "unexpected path string, expected a 'name1.name2' or '.name1.name2' "
			     "or '{name1.name2}' or '{.name1.name2}'");
		return NULL;
	}
	if (asprintf(&s, "{.%.*s}", (int)len, body) < 0)
		return NULL;
	return s;
}

static int kind_rank(const json_t *v)
{
	if (!v || json_is_null(v))
		return 0;
	if (json_is_boolean(v))
		return 1;
	if (is_number(v))
		return 2;
	if (json_is_string(v))
		return 3;
	return 4;
}

int kpc_value_cmp(const json_t *a, const json_t *b)
{
	int ra = kind_rank(a), rb = kind_rank(b);
	if (ra != rb)
		return ra < rb ? -1 : 1;
	switch (ra) {
	case 0: return 0;
	case 1: return json_is_true(a) == json_is_true(b) ? 0 : (json_is_true(a) ? 1 : -1);
	case 2: {
		int c = compare_for_filter(a, b);
		return c == -2 ? 0 : c;
	}
	case 3: {
		int c = strcmp(json_string_value(a), json_string_value(b));
		return c < 0 ? -1 : c > 0;
	}
	default: {
		/* lists and maps: by their JSON text, for a stable order */
		char *x = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
		char *y = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
		int c = x && y ? strcmp(x, y) : 0;
		free(x);
		free(y);
		return c < 0 ? -1 : c > 0;
	}
	}
}

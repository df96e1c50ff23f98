/*
 * util.c - small helpers of <kplane/sched.h> that plugins call in their hot
 * loops: interned selector matching, tolerations, statuses.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/error.h>
#include <kplane/sched.h>

/*
 * The matching helpers are static inline bodies behind the exported names:
 * a call between exported functions of a shared library goes through the
 * PLT and cannot be inlined (symbols may be interposed), and selector
 * matching runs per node and plugin in Filter and Score.
 */
int32_t kp_labels_get(const struct kp_labels *labels, int32_t key)
{
	return kp_labels_find(labels, key);
}

static inline bool has_value(const struct kp_isel_req *r, int32_t v)
{
	if (r->nvalues <= 8) {
		for (uint32_t i = 0; i < r->nvalues; i++)
			if (r->values[i] == v)
				return true;
		return false;
	}
	uint32_t lo = 0, hi = r->nvalues;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (r->values[mid] < v)
			lo = mid + 1;
		else if (r->values[mid] > v)
			hi = mid;
		else
			return true;
	}
	return false;
}

static inline bool isel_matches(const struct kp_isel *sel, const struct kp_labels *labels)
{
	if (sel->nothing)
		return false;
	for (uint32_t i = 0; i < sel->n; i++) {
		const struct kp_isel_req *r = &sel->reqs[i];
		int32_t v = kp_labels_find(labels, r->key);
		int64_t num;
		switch (r->op) {
		case KP_SEL_EQUALS:
		case KP_SEL_IN:
			if (v == KP_ID_NONE || !has_value(r, v))
				return false;
			break;
		case KP_SEL_NOT_EQUALS:
		case KP_SEL_NOT_IN:
			if (v != KP_ID_NONE && has_value(r, v))
				return false;
			break;
		case KP_SEL_EXISTS:
			if (v == KP_ID_NONE)
				return false;
			break;
		case KP_SEL_DOES_NOT_EXIST:
			if (v != KP_ID_NONE)
				return false;
			break;
		case KP_SEL_GT:
			if (v == KP_ID_NONE || !kp_intern_int(v, &num) || !(num > r->num))
				return false;
			break;
		case KP_SEL_LT:
			if (v == KP_ID_NONE || !kp_intern_int(v, &num) || !(num < r->num))
				return false;
			break;
		default:
			return false;
		}
	}
	return true;
}

bool kp_isel_matches(const struct kp_isel *sel, const struct kp_labels *labels)
{
	return isel_matches(sel, labels);
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

static int cmp_req(const void *a, const void *b)
{
	const struct kp_isel_req *x = a, *y = b;
	return (x->key > y->key) - (x->key < y->key);
}

int kp_isel_compile(const struct kp_label_selector *sel, struct kp_isel *out, char **errmsg)
{
	memset(out, 0, sizeof(*out));
	if (!sel || sel->nothing) {
		out->nothing = true;
		return 0;
	}
	if (sel->n == 0)
		return 0;
	size_t nvals = 0;
	for (size_t i = 0; i < sel->n; i++)
		nvals += sel->reqs[i].nvalues;
	size_t size = sel->n * sizeof(struct kp_isel_req) + nvals * sizeof(int32_t);
	char *block = calloc(1, size);
	if (!block)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory compiling a selector");
	struct kp_isel_req *reqs = (struct kp_isel_req *)block;
	int32_t *vals = (int32_t *)(block + sel->n * sizeof(struct kp_isel_req));
	for (size_t i = 0; i < sel->n; i++) {
		const struct kp_sel_req *s = &sel->reqs[i];
		struct kp_isel_req *r = &reqs[i];
		r->key = kp_intern(s->key);
		r->op = s->op;
		r->nvalues = (uint32_t)s->nvalues;
		r->values = vals;
		for (size_t j = 0; j < s->nvalues; j++) {
			vals[j] = kp_intern(s->values[j]);
			if (vals[j] == KP_ID_NONE) {
				free(block);
				return kp_error_set(errmsg, KP_ENOMEM, "out of memory interning");
			}
		}
		qsort(vals, s->nvalues, sizeof(int32_t), cmp_i32);
		vals += s->nvalues;
		if (s->op == KP_SEL_GT || s->op == KP_SEL_LT) {
			char *end;
			if (s->nvalues != 1 || !*s->values[0])
				goto bad_num;
			r->num = strtoll(s->values[0], &end, 10);
			if (*end)
				goto bad_num;
		}
		continue;
bad_num:
		free(block);
		return kp_error_set(errmsg, KP_EINVAL, "%s: Gt/Lt need one integer value",
				    s->key);
	}
	/* keep requirements in key-id order so that equal selectors compare equal */
	qsort(reqs, sel->n, sizeof(*reqs), cmp_req);
	out->n = (uint32_t)sel->n;
	out->reqs = reqs;
	return 0;
}

void kp_isel_release(struct kp_isel *sel)
{
	if (!sel)
		return;
	/* reqs and values live in one block that starts at reqs */
	free((void *)sel->reqs);
	sel->reqs = NULL;
	sel->n = 0;
}

int64_t kp_resources_scalar(const struct kp_resources *r, int32_t name)
{
	for (uint32_t i = 0; i < r->nscalar; i++)
		if (r->scalar[i].name == name)
			return r->scalar[i].value;
	return 0;
}

bool kp_toleration_tolerates(const struct kp_toleration *tol, const struct kp_taint *taint)
{
	if (tol->effect != KP_EFFECT_ALL && tol->effect != taint->effect)
		return false;
	if (tol->key != KP_ID_NONE && tol->key != taint->key)
		return false;
	if (tol->op == KP_TOL_EXISTS)
		return true;
	return tol->value == taint->value;
}

char *kp_taint_string(const struct kp_taint *t, char *buf, size_t size)
{
	snprintf(buf, size, "{%s: %s}", kp_intern_str(t->key), kp_intern_str(t->value));
	return buf;
}

static inline bool node_term_matches(const struct kp_node_term *t,
				     const struct kp_labels *labels, int32_t node_name)
{
	/* a term with neither expressions nor fields matches nothing */
	if (t->exprs.n == 0 && t->fields.n == 0)
		return false;
	if (t->exprs.n && !isel_matches(&t->exprs, labels))
		return false;
	if (t->fields.n) {
		struct kp_label l = { t->fields.reqs[0].key, node_name };
		struct kp_labels fl = { 1, &l };
		if (!isel_matches(&t->fields, &fl))
			return false;
	}
	return true;
}

bool kp_node_term_matches(const struct kp_node_term *t, const struct kp_labels *labels,
			  int32_t node_name)
{
	return node_term_matches(t, labels, node_name);
}

bool kp_node_affinity_required_matches(const struct kp_node_affinity *a,
				       const struct kp_labels *labels, int32_t node_name)
{
	if (a->has_node_selector && !isel_matches(&a->node_selector, labels))
		return false;
	if (!a->has_required)
		return true;
	for (uint32_t i = 0; i < a->nrequired; i++)
		if (node_term_matches(&a->required[i], labels, node_name))
			return true;
	return false;
}

int64_t kp_node_image_size(const struct kp_node_info *node, int32_t name)
{
	uint32_t lo = 0, hi = node->nimages;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (node->images[mid].name < name)
			lo = mid + 1;
		else if (node->images[mid].name > name)
			hi = mid;
		else
			return node->images[mid].size;
	}
	return 0;
}

void kp_status_addf(struct kp_status *st, const char *fmt, ...)
{
	if (st->nreasons >= KP_STATUS_MAX_REASONS || st->buflen >= KP_STATUS_BUFSZ - 1)
		return;
	va_list ap;
	char *p = st->buf + st->buflen;
	size_t room = KP_STATUS_BUFSZ - st->buflen;
	va_start(ap, fmt);
	int n = vsnprintf(p, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t used = (size_t)n < room ? (size_t)n + 1 : room;
	st->buflen += (uint32_t)used;
	st->reasons[st->nreasons++] = p;
}

const char *kp_code_string(int code)
{
	switch (code) {
	case KP_STATUS_SUCCESS: return "Success";
	case KP_STATUS_ERROR: return "Error";
	case KP_STATUS_UNSCHEDULABLE: return "Unschedulable";
	case KP_STATUS_UNRESOLVABLE: return "UnschedulableAndUnresolvable";
	case KP_STATUS_WAIT: return "Wait";
	case KP_STATUS_SKIP: return "Skip";
	case KP_STATUS_PENDING: return "Pending";
	}
	return "Unknown";
}

/*
 * json-encode.c - compact JSON text of a jansson value, the encoder behind
 * every stored object, API answer and watch event.
 *
 * jansson's own json_dumps() guards against reference cycles by printing
 * each container's address with snprintf("%p") into a heap-allocated hash
 * table entry, and it feeds its output through a callback a few bytes at a
 * time. For a pod with managedFields (some 80 small objects) that is most of
 * the cost of a create. kplane's values never hold cycles (they are decoded
 * from text or built fresh), so this encoder walks the value directly into
 * one growing buffer and writes the very bytes json_dumps(v, JSON_COMPACT |
 * JSON_ENCODE_ANY) writes, so stored data and answers do not change.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/kplane.h>

/* Deeper than any parse jansson accepts (2048): a value built by code that loops. */
#define MAX_DEPTH 4096

struct out {
	char *p;
	size_t len, cap;
};

static int grow(struct out *o, size_t extra)
{
	if (o->len + extra + 1 <= o->cap)
		return 0;
	size_t cap = o->cap ? o->cap : 512;
	while (cap < o->len + extra + 1)
		cap *= 2;
	char *p = realloc(o->p, cap);
	if (!p)
		return KP_ENOMEM;
	o->p = p;
	o->cap = cap;
	return 0;
}

static int put(struct out *o, const char *s, size_t n)
{
	if (grow(o, n))
		return KP_ENOMEM;
	memcpy(o->p + o->len, s, n);
	o->len += n;
	return 0;
}

/* Which bytes a string cannot hold as they are: quote, backslash, controls. */
static const unsigned char needs_escape[256] = {
	[0 ... 0x1f] = 1,
	['"'] = 1,
	['\\'] = 1,
};

/* jansson's escapes: the short forms, else \u00XX in upper-case hex. */
static int put_string(struct out *o, const char *s, size_t n)
{
	/* worst case every byte becomes \u00XX */
	if (grow(o, n * 6 + 2))
		return KP_ENOMEM;
	char *d = o->p + o->len;
	*d++ = '"';
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	while (p < end) {
		const unsigned char *run = p;
		while (p < end && !needs_escape[*p])
			p++;
		memcpy(d, run, (size_t)(p - run));
		d += p - run;
		if (p == end)
			break;
		unsigned char c = *p++;
		*d++ = '\\';
		switch (c) {
		case '"': *d++ = '"'; break;
		case '\\': *d++ = '\\'; break;
		case '\b': *d++ = 'b'; break;
		case '\f': *d++ = 'f'; break;
		case '\n': *d++ = 'n'; break;
		case '\r': *d++ = 'r'; break;
		case '\t': *d++ = 't'; break;
		default:
			*d++ = 'u';
			*d++ = '0';
			*d++ = '0';
			*d++ = "0123456789ABCDEF"[c >> 4];
			*d++ = "0123456789ABCDEF"[c & 15];
		}
	}
	*d++ = '"';
	o->len = (size_t)(d - o->p);
	return 0;
}

static int put_int(struct out *o, json_int_t v)
{
	char tmp[24], *e = tmp + sizeof(tmp), *p = e;
	/* through unsigned so that INT64_MIN negates */
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	return put(o, p, (size_t)(e - p));
}

/* jansson's jsonp_dtostr with its default precision 17. */
static int put_real(struct out *o, double v)
{
	if (isnan(v) || isinf(v))
		return KP_EINVAL;
	char b[40];
	int n = snprintf(b, sizeof(b), "%.17g", v);
	if (n < 0 || (size_t)n >= sizeof(b) - 3)
		return KP_EINVAL;
	if (!strchr(b, '.') && !strchr(b, 'e')) {
		b[n++] = '.';
		b[n++] = '0';
		b[n] = 0;
	}
	char *e = strchr(b, 'e');
	if (e) {
		/* "1e+20" -> "1e20", "1e-05" -> "1e-5" */
		char *start = e + 1, *end = start + 1;
		if (*start == '-')
			start++;
		while (*end == '0')
			end++;
		if (end != start) {
			memmove(start, end, (size_t)(b + n - end) + 1);
			n -= (int)(end - start);
		}
	}
	return put(o, b, (size_t)n);
}

static int encode(struct out *o, const json_t *v, int depth)
{
	if (depth > MAX_DEPTH)
		return KP_EINVAL;
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		if (put(o, "{", 1))
			return KP_ENOMEM;
		const char *k;
		json_t *c;
		bool first = true;
		json_object_foreach ((json_t *)v, k, c) {
			if ((!first && put(o, ",", 1)) ||
			    put_string(o, k, json_object_iter_key_len(json_object_key_to_iter(k))) ||
			    put(o, ":", 1))
				return KP_ENOMEM;
			int rc = encode(o, c, depth + 1);
			if (rc)
				return rc;
			first = false;
		}
		return put(o, "}", 1);
	}
	case JSON_ARRAY: {
		if (put(o, "[", 1))
			return KP_ENOMEM;
		size_t n = json_array_size(v);
		for (size_t i = 0; i < n; i++) {
			if (i && put(o, ",", 1))
				return KP_ENOMEM;
			int rc = encode(o, json_array_get(v, i), depth + 1);
			if (rc)
				return rc;
		}
		return put(o, "]", 1);
	}
	case JSON_STRING:
		return put_string(o, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		return put_int(o, json_integer_value(v));
	case JSON_REAL:
		return put_real(o, json_real_value(v));
	case JSON_TRUE:
		return put(o, "true", 4);
	case JSON_FALSE:
		return put(o, "false", 5);
	case JSON_NULL:
		return put(o, "null", 4);
	}
	return KP_EINVAL;
}

int kp_json_append(const json_t *v, char **buf, size_t *len, size_t *cap)
{
	if (!v)
		return KP_EINVAL;
	struct out o = { *buf, *len, *cap };
	int rc = encode(&o, v, 0);
	if (!rc)
		rc = grow(&o, 0);
	if (rc)
		o.len = *len; /* nothing half-written stays visible */
	if (o.p)
		o.p[o.len] = 0;
	*buf = o.p;
	*len = o.len;
	*cap = o.cap;
	return rc;
}

char *kp_json_dumps(const json_t *v, size_t *len)
{
	char *p = NULL;
	size_t n = 0, cap = 0;
	if (kp_json_append(v, &p, &n, &cap)) {
		free(p);
		return NULL;
	}
	if (len)
		*len = n;
	return p;
}

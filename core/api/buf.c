/*
 * buf.c - growable buffers and the resourceVersion splice that lets a GET
 * answer with the stored bytes instead of decoding and re-encoding them.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/kplane.h>

#include "core/api/internal.h"

void kp__buf_grow(struct kp_buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p)
		abort();
	b->p = p;
	b->cap = cap;
}

void kp__buf_add(struct kp_buf *b, const void *p, size_t n)
{
	kp__buf_grow(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = 0;
}

void kp__buf_adds(struct kp_buf *b, const char *s)
{
	kp__buf_add(b, s, strlen(s));
}

void kp__buf_addf(struct kp_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	kp__buf_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void kp__buf_add_json_str(struct kp_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	kp__buf_grow(b, strlen(s) + 2);
	kp__buf_add(b, "\"", 1);
	const char *run = s;
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		kp__buf_add(b, run, (size_t)(p - run));
		char esc[7] = { '\\', 0 };
		switch (c) {
		case '"': esc[1] = '"'; kp__buf_add(b, esc, 2); break;
		case '\\': esc[1] = '\\'; kp__buf_add(b, esc, 2); break;
		case '\n': esc[1] = 'n'; kp__buf_add(b, esc, 2); break;
		case '\t': esc[1] = 't'; kp__buf_add(b, esc, 2); break;
		case '\r': esc[1] = 'r'; kp__buf_add(b, esc, 2); break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			kp__buf_add(b, esc, 6);
		}
		run = p + 1;
	}
	kp__buf_adds(b, run);
	kp__buf_add(b, "\"", 1);
}

void kp__buf_add_json(struct kp_buf *b, const json_t *v)
{
	if (kp_json_append(v, &b->p, &b->len, &b->cap) == KP_ENOMEM)
		abort();
}

void kp__buf_release(struct kp_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

char *kp__buf_steal(struct kp_buf *b, size_t *len)
{
	if (!b->p)
		kp__buf_grow(b, 0);
	char *p = b->p;
	if (len)
		*len = b->len;
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

/* ---- byte scanner for the splice ---------------------------------------- */

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* p at '"'; returns the byte after the closing quote, or NULL. */
static const char *skip_string(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

/* Skips one JSON value starting at p; returns the byte after it, or NULL. */
static const char *skip_value(const char *p, const char *end)
{
	if (p >= end)
		return NULL;
	if (*p == '"')
		return skip_string(p, end);
	if (*p == '{' || *p == '[') {
		int depth = 0;
		for (; p < end; p++) {
			if (*p == '"') {
				p = skip_string(p, end);
				if (!p)
					return NULL;
				p--;
			} else if (*p == '{' || *p == '[') {
				depth++;
			} else if (*p == '}' || *p == ']') {
				if (--depth == 0)
					return p + 1;
			}
		}
		return NULL;
	}
	while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n' &&
	       *p != '\t' && *p != '\r')
		p++;
	return p;
}

/*
 * Scans the object at p (at '{') for a key with the given (escape-free)
 * name; on success sets *vstart and *vend to its value's bytes.
 */
static bool find_key(const char *p, const char *end, const char *key, const char **vstart,
		     const char **vend)
{
	size_t klen = strlen(key);
	p = skip_ws(p + 1, end);
	while (p < end && *p != '}') {
		if (*p != '"')
			return false;
		const char *ks = p + 1;
		const char *ke = skip_string(p, end);
		if (!ke)
			return false;
		bool match = (size_t)(ke - 1 - ks) == klen && !memcmp(ks, key, klen);
		p = skip_ws(ke, end);
		if (p >= end || *p != ':')
			return false;
		p = skip_ws(p + 1, end);
		const char *ve = skip_value(p, end);
		if (!ve)
			return false;
		if (match) {
			*vstart = p;
			*vend = ve;
			return true;
		}
		p = skip_ws(ve, end);
		if (p < end && *p == ',')
			p = skip_ws(p + 1, end);
	}
	return false;
}

bool kp__splice_rv(struct kp_buf *out, const char *json, size_t len, uint64_t rv)
{
	const char *end = json + len;
	const char *p = skip_ws(json, end);
	if (p >= end || *p != '{')
		return false;
	const char *ms, *me;
	if (!find_key(p, end, "metadata", &ms, &me) || *ms != '{')
		return false;
	char num[32];
	int nl = snprintf(num, sizeof(num), "\"%llu\"", (unsigned long long)rv);
	const char *vs, *ve;
	kp__buf_grow(out, len + 40);
	if (find_key(ms, me, "resourceVersion", &vs, &ve)) {
		kp__buf_add(out, json, (size_t)(vs - json));
		kp__buf_add(out, num, (size_t)nl);
		kp__buf_add(out, ve, (size_t)(end - ve));
		return true;
	}
	const char *after = skip_ws(ms + 1, me);
	kp__buf_add(out, json, (size_t)(ms + 1 - json));
	kp__buf_adds(out, "\"resourceVersion\":");
	kp__buf_add(out, num, (size_t)nl);
	if (*after != '}')
		kp__buf_add(out, ",", 1);
	kp__buf_add(out, ms + 1, (size_t)(end - (ms + 1)));
	return true;
}

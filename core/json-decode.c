/*
 * json-decode.c - JSON text to jansson values, the decoder behind informers
 * and request bodies.
 *
 * jansson's parser reads through a stream with two function calls per
 * input byte and grows every string in a string buffer; a stored pod cost
 * ~200 instructions a byte, and each pod is decoded by every informer that
 * watches pods at each of its changes. This decoder scans the buffer in
 * place and hands strings to jansson without a second UTF-8 check (it did
 * that check itself).
 *
 * It accepts exactly the documents jansson accepts and builds the same
 * values; anything it does not take on its fast path (an error, a NUL
 * escape, a number it cannot read exactly) is handed to json_loadb, so
 * errors and their messages are jansson's own.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/kplane.h>

#define MAX_DEPTH 2048 /* jansson's JSON_PARSER_MAX_DEPTH */

struct parser {
	const unsigned char *s, *end;
	size_t flags;
	int depth;
	char *tmp; /* unescaped strings (owned, freed by the caller) */
	size_t tmpcap;
};

static void ws(struct parser *p)
{
	while (p->s < p->end && (*p->s == ' ' || *p->s == '\n' || *p->s == '\r' || *p->s == '\t'))
		p->s++;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int32_t hex4(const unsigned char *s)
{
	int32_t v = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexval(s[i]);
		if (h < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlongs, no surrogates), 0 if bad. */
static size_t utf8_len(const unsigned char *s, const unsigned char *end)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t cp;
	if (c < 0xC2 || c > 0xF4)
		return 0;
	if (c < 0xE0) {
		n = 2;
		cp = c & 0x1F;
	} else if (c < 0xF0) {
		n = 3;
		cp = c & 0x0F;
	} else {
		n = 4;
		cp = c & 0x07;
	}
	if ((size_t)(end - s) < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3F);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

static char *tmp_room(struct parser *p, size_t need)
{
	if (need > p->tmpcap) {
		size_t cap = p->tmpcap ? p->tmpcap : 256;
		while (cap < need)
			cap *= 2;
		char *t = realloc(p->tmp, cap);
		if (!t)
			return NULL;
		p->tmp = t;
		p->tmpcap = cap;
	}
	return p->tmp;
}

/*
 * The string at p->s (the opening quote). On success *out and *len point at its
 * text: into the input when it has no escapes, else into p->tmp (valid until
 * the next string). false when jansson would refuse it or it holds a NUL.
 */
static bool string(struct parser *p, const char **out, size_t *len)
{
	const unsigned char *s = ++p->s, *end = p->end;
	/* the common case: no escapes */
	while (s < end) {
		unsigned char c = *s;
		if (c == '"') {
			*out = (const char *)p->s;
			*len = (size_t)(s - p->s);
			p->s = s + 1;
			return true;
		}
		if (c == '\\' || c < 0x20)
			break;
		if (c < 0x80) {
			s++;
			continue;
		}
		size_t n = utf8_len(s, end);
		if (!n)
			return false;
		s += n;
	}
	if (s >= end || *s < 0x20)
		return false;
	/* escapes: unescape into tmp (never longer than the input) */
	size_t done = (size_t)(s - p->s);
	char *t = tmp_room(p, (size_t)(end - p->s) + 1);
	if (!t)
		return false;
	memcpy(t, p->s, done);
	char *d = t + done;
	while (s < end) {
		unsigned char c = *s;
		if (c == '"') {
			*out = t;
			*len = (size_t)(d - t);
			p->s = s + 1;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c >= 0x80) {
			size_t n = utf8_len(s, end);
			if (!n)
				return false;
			memcpy(d, s, n);
			d += n;
			s += n;
			continue;
		}
		if (c != '\\') {
			*d++ = (char)c;
			s++;
			continue;
		}
		if (end - s < 2)
			return false;
		switch (s[1]) {
		case '"': *d++ = '"'; s += 2; continue;
		case '\\': *d++ = '\\'; s += 2; continue;
		case '/': *d++ = '/'; s += 2; continue;
		case 'b': *d++ = '\b'; s += 2; continue;
		case 'f': *d++ = '\f'; s += 2; continue;
		case 'n': *d++ = '\n'; s += 2; continue;
		case 'r': *d++ = '\r'; s += 2; continue;
		case 't': *d++ = '\t'; s += 2; continue;
		case 'u': break;
		default: return false;
		}
		if (end - s < 6)
			return false;
		int32_t cp = hex4(s + 2);
		if (cp < 0)
			return false;
		s += 6;
		if (cp >= 0xD800 && cp <= 0xDBFF) {
			if (end - s < 6 || s[0] != '\\' || s[1] != 'u')
				return false;
			int32_t lo = hex4(s + 2);
			if (lo < 0xDC00 || lo > 0xDFFF)
				return false;
			cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			s += 6;
		} else if ((cp >= 0xDC00 && cp <= 0xDFFF) || cp == 0) {
			return false; /* lone low surrogate; NUL: jansson's call */
		}
		/* at most 4 bytes out for the 6 or 12 read */
		if (cp < 0x80) {
			*d++ = (char)cp;
		} else if (cp < 0x800) {
			*d++ = (char)(0xC0 | cp >> 6);
			*d++ = (char)(0x80 | (cp & 0x3F));
		} else if (cp < 0x10000) {
			*d++ = (char)(0xE0 | cp >> 12);
			*d++ = (char)(0x80 | (cp >> 6 & 0x3F));
			*d++ = (char)(0x80 | (cp & 0x3F));
		} else {
			*d++ = (char)(0xF0 | cp >> 18);
			*d++ = (char)(0x80 | (cp >> 12 & 0x3F));
			*d++ = (char)(0x80 | (cp >> 6 & 0x3F));
			*d++ = (char)(0x80 | (cp & 0x3F));
		}
	}
	return false;
}

/* A number as jansson's lexer reads it, into *out (new reference). */
static bool number(struct parser *p, json_t **out)
{
	const unsigned char *s = p->s, *end = p->end, *start = s;
	bool real = false;
	if (s < end && *s == '-')
		s++;
	if (s >= end || *s < '0' || *s > '9')
		return false;
	if (*s == '0') {
		s++;
		if (s < end && *s >= '0' && *s <= '9')
			return false;
	} else {
		while (s < end && *s >= '0' && *s <= '9')
			s++;
	}
	if (s < end && *s == '.') {
		real = true;
		s++;
		if (s >= end || *s < '0' || *s > '9')
			return false;
		while (s < end && *s >= '0' && *s <= '9')
			s++;
	}
	if (s < end && (*s == 'e' || *s == 'E')) {
		real = true;
		s++;
		if (s < end && (*s == '+' || *s == '-'))
			s++;
		if (s >= end || *s < '0' || *s > '9')
			return false;
		while (s < end && *s >= '0' && *s <= '9')
			s++;
	}
	size_t n = (size_t)(s - start);
	char buf[64];
	if (n >= sizeof(buf))
		return false; /* long numbers: jansson's */
	memcpy(buf, start, n);
	buf[n] = 0;
	char *e;
	errno = 0;
	if (!real) {
		long long v = strtoll(buf, &e, 10);
		if (errno || e != buf + n)
			return false; /* too big an integer */
		if (!(*out = json_integer(v)))
			return false;
	} else {
		double v = strtod(buf, &e);
		if (errno == ERANGE || e != buf + n)
			return false; /* overflow, or a locale with another decimal point */
		if (!(*out = json_real(v)))
			return false;
	}
	p->s = s;
	return true;
}

static bool literal(struct parser *p, const char *word, size_t n)
{
	if ((size_t)(p->end - p->s) < n || memcmp(p->s, word, n))
		return false;
	p->s += n;
	return true;
}

/* One value at p->s into *out (new reference). */
/*
 * The one empty object KP_JSON_SHARED_EMPTY decodes every "{}" to, created
 * once and never freed. A pod's managedFields alone hold some forty "{}",
 * each an object and a hash table allocated, decoded and freed again by
 * every informer; the caches that ask for this never write their objects.
 */
static json_t *the_empty;
static pthread_once_t the_empty_once = PTHREAD_ONCE_INIT;

static void make_empty(void)
{
	the_empty = json_object();
}

static json_t *shared_empty(void)
{
	pthread_once(&the_empty_once, make_empty);
	return the_empty;
}

static bool value(struct parser *p, json_t **out)
{
	if (p->s >= p->end)
		return false;
	switch (*p->s) {
	case '{': {
		if (++p->depth > MAX_DEPTH)
			return false;
		p->s++;
		ws(p);
		if (p->s < p->end && *p->s == '}') {
			p->s++;
			p->depth--;
			*out = p->flags & KP_JSON_SHARED_EMPTY ? json_incref(shared_empty())
							       : json_object();
			return *out != NULL;
		}
		json_t *o = json_object();
		if (!o)
			return false;
		for (;;) {
			if (p->s >= p->end || *p->s != '"')
				goto bad_obj;
			const char *k;
			size_t kl;
			if (!string(p, &k, &kl))
				goto bad_obj;
			/* the key may live in tmp, which the value's strings reuse */
			char kbuf[128], *key = kbuf;
			if (kl >= sizeof(kbuf) && !(key = malloc(kl + 1)))
				goto bad_obj;
			memcpy(key, k, kl);
			key[kl] = 0;
			ws(p);
			bool ok = p->s < p->end && *p->s == ':';
			json_t *v = NULL;
			if (ok) {
				p->s++;
				ws(p);
				ok = value(p, &v);
			}
			if (ok) {
				if ((p->flags & JSON_REJECT_DUPLICATES) && json_object_getn(o, key, kl)) {
					ok = false; /* v is dropped below */
				} else {
					/* steals v, also when it fails */
					ok = json_object_setn_new_nocheck(o, key, kl, v) == 0;
					v = NULL;
				}
			}
			json_decref(v);
			if (key != kbuf)
				free(key);
			if (!ok)
				goto bad_obj;
			ws(p);
			if (p->s < p->end && *p->s == ',') {
				p->s++;
				ws(p);
				continue;
			}
			if (p->s < p->end && *p->s == '}') {
				p->s++;
				break;
			}
			goto bad_obj;
		}
		p->depth--;
		*out = o;
		return true;
bad_obj:
		json_decref(o);
		return false;
	}
	case '[': {
		if (++p->depth > MAX_DEPTH)
			return false;
		p->s++;
		json_t *a = json_array();
		if (!a)
			return false;
		ws(p);
		if (p->s < p->end && *p->s == ']') {
			p->s++;
			p->depth--;
			*out = a;
			return true;
		}
		for (;;) {
			json_t *v = NULL;
			if (!value(p, &v) || json_array_append_new(a, v)) {
				json_decref(a);
				return false;
			}
			ws(p);
			if (p->s < p->end && *p->s == ',') {
				p->s++;
				ws(p);
				continue;
			}
			if (p->s < p->end && *p->s == ']') {
				p->s++;
				break;
			}
			json_decref(a);
			return false;
		}
		p->depth--;
		*out = a;
		return true;
	}
	case '"': {
		const char *s;
		size_t n;
		if (!string(p, &s, &n))
			return false;
		if (!(*out = json_stringn_nocheck(s, n)))
			return false;
		return true;
	}
	case 't':
		if (!literal(p, "true", 4))
			return false;
		*out = json_true();
		return true;
	case 'f':
		if (!literal(p, "false", 5))
			return false;
		*out = json_false();
		return true;
	case 'n':
		if (!literal(p, "null", 4))
			return false;
		*out = json_null();
		return true;
	default:
		return number(p, out);
	}
}

json_t *kp_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *error)
{
	/* the flags the fast path does not implement go to jansson (ours not) */
	size_t jflags = flags & ~(size_t)KP_JSON_SHARED_EMPTY;
	if (!buf || (jflags & ~(size_t)(JSON_REJECT_DUPLICATES | JSON_DECODE_ANY)))
		return json_loadb(buf, len, jflags, error);
	if ((flags & KP_JSON_SHARED_EMPTY) && !shared_empty())
		return json_loadb(buf, len, jflags, error);
	/* a member added to it would show in every cached object: a bug to catch */
	assert(!(flags & KP_JSON_SHARED_EMPTY) || json_object_size(the_empty) == 0);
	struct parser p = { (const unsigned char *)buf, (const unsigned char *)buf + len, flags,
			    0, NULL, 0 };
	ws(&p);
	if (p.s < p.end && !(flags & JSON_DECODE_ANY) && *p.s != '{' && *p.s != '[')
		return json_loadb(buf, len, jflags, error);
	json_t *v = NULL;
	bool ok = value(&p, &v);
	free(p.tmp);
	if (ok) {
		ws(&p);
		if (p.s == p.end)
			return v;
	}
	json_decref(v);
	return json_loadb(buf, len, jflags, error);
}

/*
 * t0007-json-decode: kp_json_loadb reads what json_loadb reads. Hand-picked
 * documents (escapes, surrogates, numbers at the edges, bad UTF-8, depth)
 * and thousands of random and randomly damaged ones must give the same
 * value with the same key order, or the same refusal, as jansson.
 */
#include "config.h"

#include <stdint.h>

#include <kplane/kplane.h>

#include "t/tap.h"

/* "same": both refuse (with the same message), or equal values in the same order */
static bool same(const char *doc, size_t len, size_t flags, char **why)
{
	json_error_t e1, e2;
	json_t *a = json_loadb(doc, len, flags, &e1);
	json_t *b = kp_json_loadb(doc, len, flags, &e2);
	bool ok;
	if (!a || !b) {
		ok = !a && !b && !strcmp(e1.text, e2.text);
	} else {
		char *sa = kp_json_dumps(a, NULL), *sb = kp_json_dumps(b, NULL);
		ok = sa && sb && !strcmp(sa, sb) && json_equal(a, b);
		free(sa);
		free(sb);
	}
	if (!ok && why)
		*why = strndup(doc, len > 200 ? 200 : len);
	json_decref(a);
	json_decref(b);
	return ok;
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A random document in the shapes kplane sees, with the odd edge case. */
static void gen(char *out, size_t *len, size_t cap, int depth)
{
	static const char *const atoms[] = {
		"0", "-0", "1", "-1", "42", "9223372036854775807", "-9223372036854775808",
		"9223372036854775808", "1.5", "-0.0", "1e3", "1E-3", "2.5e+10", "1e400", "1e-400",
		"0.1", "true", "false", "null", "\"\"", "\"a\"", "\"k8s.io/name\"",
		"\"\\u00e9\\n\\t\\\\\\\"\\/\"", "\"\\ud83d\\ude00\"", "\"\xc3\xa9\xe2\x82\xac\"",
		"\"\\u0041\\u20ac\"", "\"\xf0\x9f\x98\x80\"",
	};
	size_t n = sizeof(atoms) / sizeof(atoms[0]);
	int t = depth > 4 ? 0 : (int)(next() % 4);
	if (t < 2) {
		const char *a = atoms[next() % n];
		size_t l = strlen(a);
		if (*len + l < cap) {
			memcpy(out + *len, a, l);
			*len += l;
		}
		return;
	}
	bool obj = t == 2;
	if (*len + 2 >= cap)
		return;
	out[(*len)++] = obj ? '{' : '[';
	int items = (int)(next() % 5);
	for (int i = 0; i < items && *len + 64 < cap; i++) {
		if (i)
			out[(*len)++] = ',';
		if (next() % 4 == 0)
			out[(*len)++] = ' ';
		if (obj) {
			static const char *const keys[] = { "\"metadata\"", "\"managedFields\"", "\"a\"",
							    "\"b\"", "\"a\"", "\"spec\"", "\"\\u0061\"" };
			const char *k = keys[next() % 7];
			memcpy(out + *len, k, strlen(k));
			*len += strlen(k);
			out[(*len)++] = ':';
		}
		gen(out, len, cap, depth + 1);
	}
	out[(*len)++] = obj ? '}' : ']';
}

int main(void)
{
	/* documents jansson takes, and the values they must give */
	json_t *v = kp_json_loadb("{\"a\":[1,-2.5,\"x\\u00e9\",true,null],\"b\":{}}", 41, 0, NULL);
	char *s = v ? kp_json_dumps(v, NULL) : NULL;
	is_str(s ? s : "(null)", "{\"a\":[1,-2.5,\"x\xc3\xa9\",true,null],\"b\":{}}", "a document with every type");
	free(s);
	json_decref(v);
	v = kp_json_loadb("\"\\ud83d\\ude00\"", 14, JSON_DECODE_ANY, NULL);
	is_str(v ? json_string_value(v) : "(null)", "\xf0\x9f\x98\x80", "a surrogate pair is one code point");
	json_decref(v);
	v = kp_json_loadb("{\"a\":1,\"b\":2,\"a\":3}", 19, 0, NULL);
	s = v ? kp_json_dumps(v, NULL) : NULL;
	is_str(s ? s : "(null)", "{\"a\":3,\"b\":2}", "a repeated key: the last value, in the first place");
	free(s);
	json_decref(v);
	json_error_t e;
	ok(!kp_json_loadb("{\"a\":1,\"a\":2}", 13, JSON_REJECT_DUPLICATES, &e) && strstr(e.text, "duplicate"),
	   "JSON_REJECT_DUPLICATES refuses it with jansson's message: %s", e.text);

	static const char *const refused[] = {
		"", " ", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "[1,]", "[01]", "[1.]", "[.5]",
		"[1e]", "[-]", "[+1]", "[\"\\x\"]", "[\"\\ud800\"]", "[\"\\udc00\"]", "[\"\\u00\"]",
		"[\"a\nb\"]", "[\"\xc0\xaf\"]", "[\"\xed\xa0\x80\"]", "[\"\xf5\x80\x80\x80\"]",
		"[\"\xe2\x82\"]", "[tru]", "[nul]", "[1] x", "1", "\"a\"", "[9223372036854775808]",
		"[1e400]", "{\"a\\u0000b\":1}", "[\"\\u0000\"]", "{1:2}", "[1 2]",
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		char *why = NULL;
		ok(same(refused[i], strlen(refused[i]), 0, &why) &&
			   !kp_json_loadb(refused[i], strlen(refused[i]), 0, NULL),
		   "refused like jansson: case %zu%s%s", i, why ? ", " : "", why ? why : "");
		free(why);
	}
	ok(same("[\"a\\u0000b\"]", 12, JSON_ALLOW_NUL, NULL), "JSON_ALLOW_NUL goes to jansson");
	ok(same("1", 1, JSON_DECODE_ANY, NULL), "JSON_DECODE_ANY: a bare number");
	ok(same("[1e-400]", 8, 0, NULL), "an underflowing real is jansson's value");

	/* nesting: 2048 levels are fine, 2049 are not */
	char *deep = malloc(2 * 2049 + 1);
	for (int d = 2048; d <= 2049; d++) {
		memset(deep, '[', (size_t)d);
		memset(deep + d, ']', (size_t)d);
		char *why = NULL;
		ok(same(deep, 2 * (size_t)d, 0, &why), "depth %d as jansson", d);
		free(why);
	}
	free(deep);

	/* random documents, whole and damaged */
	int total = 0, agree = 0;
	char *first = NULL;
	static char buf[8192];
	for (int i = 0; i < 4000; i++) {
		size_t len = 0;
		gen(buf, &len, sizeof(buf), 0);
		size_t flags = next() % 3 == 0 ? JSON_REJECT_DUPLICATES : 0;
		for (int damage = 0; damage < 2; damage++) {
			if (damage && len) {
				/* flip, cut or insert one byte */
				size_t at = next() % len;
				switch (next() % 3) {
				case 0: buf[at] = (char)(next() & 0xff); break;
				case 1: len = at; break;
				default:
					memmove(buf + at + 1, buf + at, len - at);
					buf[at] = "{}[],:\"\\ 0e-.x\x80"[next() % 16];
					len++;
				}
			}
			total++;
			char *why = NULL;
			if (same(buf, len, flags, &why))
				agree++;
			else if (!first)
				first = why;
			else
				free(why);
		}
	}
	is_int(agree, total, "random documents: the same value or refusal as jansson");
	if (first)
		diag("first difference: %s", first);
	free(first);
	return done_testing();
}

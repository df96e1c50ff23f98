/*
 * t0006-json-encode: kp_json_dumps/kp_json_append write what Kubernetes
 * clients read: compact JSON with jansson's escapes and number forms. The
 * expected texts are written by hand from RFC 8259 and jansson's documented
 * output; then random values are checked byte for byte against jansson's own
 * json_dumps(JSON_COMPACT | JSON_ENCODE_ANY), which stored data was written
 * with before.
 */
#include "config.h"

#include <stdint.h>

#include <kplane/kplane.h>

#include "t/tap.h"

static void check(json_t *v, const char *want, const char *what)
{
	size_t n = 0;
	char *s = kp_json_dumps(v, &n);
	is_str(s ? s : "(null)", want, "%s", what);
	ok(s && n == strlen(want), "%s: length %zu", what, n);
	free(s);
	json_decref(v);
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static json_t *random_string(void)
{
	/* printable ASCII, controls, quotes, backslashes, UTF-8 */
	static const char *const parts[] = { "a", "Zz", "\"", "\\", "\n", "\t", "\x01", "\x1f",
					     "\x7f", "/", "\xc3\xa9", "\xe2\x82\xac",
					     "\xf0\x9f\x98\x80", " ", "k8s.io/name", "\b\f\r" };
	char buf[256] = "";
	size_t len = 0;
	int n = (int)(next() % 8);
	for (int i = 0; i < n; i++) {
		const char *p = parts[next() % (sizeof(parts) / sizeof(parts[0]))];
		size_t l = strlen(p);
		memcpy(buf + len, p, l);
		len += l;
	}
	/* sometimes an embedded NUL, which JSON writes as \u0000 */
	if (next() % 16 == 0)
		return json_stringn("a\0b", 3);
	return json_stringn(buf, len);
}

static json_t *random_value(int depth)
{
	int t = (int)(next() % (depth > 5 ? 6 : 8));
	switch (t) {
	case 0: return json_null();
	case 1: return json_boolean(next() & 1);
	case 2: {
		static const json_int_t ints[] = { 0, 1, -1, 42, INT64_MAX, INT64_MIN, 1000000007 };
		return json_integer(next() % 2 ? ints[next() % 7] : (json_int_t)next());
	}
	case 3: {
		static const double reals[] = { 0.0, 0.1, -2.5, 1e20, 1e-5, 1e300, 3.0, 123456789.125 };
		return json_real(next() % 2 ? reals[next() % 8] : (double)(int64_t)next() / 7.0);
	}
	case 4:
	case 5: return random_string();
	case 6: {
		json_t *a = json_array();
		for (int i = (int)(next() % 5); i > 0; i--)
			json_array_append_new(a, random_value(depth + 1));
		return a;
	}
	default: {
		json_t *o = json_object();
		for (int i = (int)(next() % 6); i > 0; i--) {
			json_t *k = random_string();
			json_object_setn_new(o, json_string_value(k), json_string_length(k),
					     random_value(depth + 1));
			json_decref(k);
		}
		return o;
	}
	}
}

int main(void)
{
	check(json_pack("{s:s, s:{s:[i, i]}, s:n, s:b, s:b}", "a", "x", "b", "c", 1, -2, "d", "e",
			1, "f", 0),
	      "{\"a\":\"x\",\"b\":{\"c\":[1,-2]},\"d\":null,\"e\":true,\"f\":false}",
	      "an object keeps insertion order, no spaces");
	check(json_object(), "{}", "empty object");
	check(json_array(), "[]", "empty array");
	check(json_string("q\"b\\s/n\nt\tr\rb\bf\fc\x01\x1f" "\x7f\xc3\xa9"),
	      "\"q\\\"b\\\\s/n\\nt\\tr\\rb\\bf\\fc\\u0001\\u001F\x7f\xc3\xa9\"",
	      "escapes: quote, backslash, short forms, \\u00XX in upper case; / DEL UTF-8 as they are");
	check(json_stringn("a\0b", 3), "\"a\\u0000b\"", "an embedded NUL");
	check(json_integer(INT64_MIN), "-9223372036854775808", "INT64_MIN");
	check(json_integer(INT64_MAX), "9223372036854775807", "INT64_MAX");
	check(json_integer(0), "0", "zero");
	check(json_real(3.0), "3.0", "a whole real keeps a .0 (stays a real when read back)");
	check(json_real(0.5), "0.5", "0.5");
	check(json_real(0.1), "0.10000000000000001", "0.1 with 17 significant digits");
	check(json_real(1e20), "1e20", "exponent without + or leading zeros");
	check(json_real(1e-5), "1.0000000000000001e-5", "negative exponent without leading zeros");
	check(json_real(-2.5e-300), "-2.5e-300", "three-digit exponent");

	json_t *k = json_object();
	json_object_setn_new(k, "a\0b", 3, json_integer(1));
	check(k, "{\"a\\u0000b\":1}", "a key with a NUL keeps its length");

	/* appending keeps what was there; errors leave it as it was */
	char *buf = NULL;
	size_t len = 0, cap = 0;
	json_t *one = json_integer(1);
	is_int(kp_json_append(one, &buf, &len, &cap), 0, "append to nothing");
	is_int(kp_json_append(one, &buf, &len, &cap), 0, "append again");
	is_str(buf, "11", "two appends");
	is_int(kp_json_append(NULL, &buf, &len, &cap), KP_EINVAL, "NULL value");
	json_decref(one);
	free(buf);

	json_t *deep = json_array(), *cur = deep;
	for (int i = 0; i < 5000; i++) {
		json_t *a = json_array();
		json_array_append_new(cur, a);
		cur = a;
	}
	ok(kp_json_dumps(deep, NULL) == NULL, "nesting deeper than 4096 is refused");
	json_decref(deep);

	int same = 0, total = 2000;
	for (int i = 0; i < total; i++) {
		json_t *v = random_value(0);
		char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		char *got = kp_json_dumps(v, NULL);
		if (want && got && !strcmp(want, got))
			same++;
		else if (same == i)
			diag("first difference: want %s got %s", want ? want : "(null)",
			     got ? got : "(null)");
		free(want);
		free(got);
		json_decref(v);
	}
	is_int(same, total, "random values: the same bytes as jansson's json_dumps");
	return done_testing();
}

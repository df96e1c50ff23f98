/*
 * t0001-quantity: parsing, canonical formatting, rounding and arithmetic of
 * resource quantities. Expected strings come from Kubernetes'
 * resource.Quantity tests and documentation (quantity_test.go
 * TestQuantityParse/TestQuantityString/TestQuantityParseEmit) or are worked
 * out by hand from its rules; they are not copied from this code's output.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <kplane/error.h>
#include <kplane/quantity.h>

#include "tap.h"

/* Parse then format; returns a static buffer or an "ERR(code)" marker. */
static const char *canon(const char *in)
{
	static char buf[KP_QUANTITY_BUFSZ];
	struct kp_quantity q;
	char *err = NULL;
	int rc = kp_quantity_parse(in, &q, &err);
	if (rc < 0) {
		snprintf(buf, sizeof(buf), "ERR(%d)", rc);
		free(err);
		return buf;
	}
	return kp_quantity_format(&q, buf);
}

static struct kp_quantity P(const char *s)
{
	struct kp_quantity q = { 0, 0, 0 };
	char *err = NULL;
	if (kp_quantity_parse(s, &q, &err) < 0) {
		diag("unexpected parse failure of %s: %s", s, err ? err : "?");
		free(err);
	}
	return q;
}

static void test_canonical(void)
{
	static const struct { const char *in, *out; } t[] = {
		/* from the brief and Kubernetes' doc comment */
		{ "1.5Gi", "1536Mi" }, { "0.5", "500m" }, { "1000m", "1" },
		{ "1e3", "1e3" }, { "2k", "2k" }, { "1E", "1E" }, { "1536", "1536" },
		{ "1.5", "1500m" }, { "100m", "100m" }, { "64Mi", "64Mi" },
		{ "1n", "1n" }, { "5u", "5u" },
		/* 0.1m = 10^-4 -> mantissa 100 at 10^-6 */
		{ "0.1m", "100u" }, { "100u", "100u" },
		/* TestQuantityParseEmit */
		{ "1Ki", "1Ki" }, { "1Mi", "1Mi" }, { "1Gi", "1Gi" }, { "1024Mi", "1Gi" },
		{ "1000M", "1G" }, { ".001Ki", "1024m" }, { ".000001Ki", "1024u" },
		{ ".000000001Ki", "1024n" }, { ".000000000001Ki", "2n" },
		/* TestQuantityString alternates */
		{ "307200Ki", "300Mi" }, { "1025024Mi", "1001Gi" }, { "1024Gi", "1Ti" },
		{ "1000M", "1G" }, { "0.001T", "1G" }, { "1000u", "1m" }, { "1.08", "1080m" },
		{ "1080000000n", "1080m" }, { ".001e12", "1e9" }, { "0.001e0", "1e-3" },
		{ "1000e-12", "1e-9" }, { "80e-3", "80e-3" }, { "300e6", "300e6" },
		{ "00", "0" }, { "1234567M", "1234567M" }, { "1025", "1025" },
		/* binary below 1024 or fractional falls back to decimal */
		{ "0.5Ki", "512" }, { "1.1Ki", "1126400m" }, { "1023", "1023" },
		{ "7Ei", "7Ei" }, { "3Ei", "3Ei" }, { "4Pi", "4Pi" }, { "1536Ki", "1536Ki" },
		{ "1048576Ki", "1Gi" }, { "1.5Ki", "1536" },
		/* decimal: largest suffix with an integer mantissa */
		{ "50k", "50k" }, { "40T", "40T" }, { "300T", "300T" }, { "9E", "9E" },
		{ "100.035k", "100035" }, { "10.035M", "10035k" }, { "8.1k", "8100" },
		{ "7.123456M", "7123456" }, { "2.5P", "2500T" }, { "1.01E", "1010P" },
		{ "0.0005k", "500m" }, { "0.05", "50m" }, { "9.01", "9010m" },
		{ "1.2e3", "1200" }, { "1.3E+6", "1300e3" }, { "1.40e9", "1400e6" },
		{ "1E-3", "1e-3" }, { "1E18", "1e18" }, { "12e1", "120" },
		{ "1.", "1" }, { "1.G", "1G" }, { ".0001k", "100m" }, { "+5", "5" },
		{ "9223372036854775807", "9223372036854775807" },
		/* rounding finer than nano away from zero */
		{ "3.001n", "4n" }, { "0.9n", "1n" }, { "0.0000000001", "1n" },
		{ "0.00000012345", "124n" }, { "1.1E-9", "2e-9" }, { "0.5e-9", "1e-9" },
		{ "1e-99999", "1e-9" },
		/* zeros: any suffix, any sign */
		{ "0", "0" }, { "0Ki", "0" }, { "-0", "0" }, { "0.000", "0" }, { "0e99999", "0" },
		/* negatives */
		{ "-1.5Gi", "-1536Mi" }, { "-0.5", "-500m" }, { "-1e3", "-1e3" }, { "-100m", "-100m" },
		{ "-0.0000000001", "-1n" }, { "-1Ki", "-1Ki" }, { "-512Ki", "-512Ki" },
		{ "-9.01", "-9010m" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		is_str(canon(t[i].in), t[i].out, "canonical form of %s", t[i].in);
}

static void test_bad_input(void)
{
	static const struct { const char *in; int rc; const char *msg_has; } t[] = {
		{ "", KP_EINVAL, "empty" },
		{ " 1", KP_EINVAL, "\" 1\"" }, { "1 ", KP_EINVAL, "\"1 \"" },
		{ "1.2.3", KP_EINVAL, "1.2.3" }, { "5Gb", KP_EINVAL, "5Gb" },
		{ "Mi", KP_EINVAL, "Mi" }, { "--1", KP_EINVAL, "--1" }, { "abc", KP_EINVAL, "abc" },
		{ "1.1.M", KP_EINVAL, "1.1.M" }, { "1+1.0M", KP_EINVAL, "1+1.0M" },
		{ "0.1mi", KP_EINVAL, "0.1mi" }, { "0.1am", KP_EINVAL, "0.1am" },
		{ ".5i", KP_EINVAL, ".5i" }, { "1i", KP_EINVAL, "1i" }, { "-3.01i", KP_EINVAL, "-3.01i" },
		{ "-3.01e-", KP_EINVAL, "-3.01e-" }, { "1e", KP_EINVAL, "1e" }, { ".", KP_EINVAL, "." },
		{ "-", KP_EINVAL, "-" }, { "1ki", KP_EINVAL, "1ki" }, { "1K", KP_EINVAL, "1K" },
		{ "1e3.5", KP_EINVAL, "1e3.5" }, { "1Mi1", KP_EINVAL, "1Mi1" },
		{ "10E", KP_ERANGE, "10E" }, { "12E", KP_ERANGE, "12E" }, { "9223372036854775808", KP_ERANGE, "9223372036854775808" },
		{ "-9223372036854775808", KP_ERANGE, "-9223372036854775808" },
		{ "8Ei", KP_ERANGE, "8Ei" }, { "9Ei", KP_ERANGE, "9Ei" },
		{ "9223372036854775807Ki", KP_ERANGE, "Ki" }, { "1e19", KP_ERANGE, "1e19" },
		{ "1e99999", KP_ERANGE, "1e99999" },
		{ "99999999999999999999999999999999999999999", KP_ERANGE, "9999" },
		/* in range, but 20 significant digits */
		{ "9223372036854775806.5", KP_ERANGE, "digits" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct kp_quantity q = { 42, 0, 0 };
		char *err = NULL;
		int rc = kp_quantity_parse(t[i].in, &q, &err);
		is_int(rc, t[i].rc, "\"%s\" is rejected with %s", t[i].in, kp_strerror(t[i].rc));
		ok(err && strstr(err, t[i].msg_has), "message for \"%s\" names it: %s", t[i].in,
		   err ? err : "(null)");
		free(err);
	}
	struct kp_quantity q;
	char *err = NULL;
	is_int(kp_quantity_parse(NULL, &q, &err), KP_EINVAL, "NULL is rejected");
	free(err);
	char big[400];
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	is_int(kp_quantity_parse(big, &q, NULL), KP_EINVAL, "overlong input rejected (errmsg NULL ok)");
}

static void test_parsed_fields(void)
{
	struct kp_quantity q;

	q = P("100m");
	ok(q.value == 1 && q.scale == -1 && q.format == KP_QUANTITY_DECIMAL_SI, "100m = 1 * 10^-1");
	q = P("64Mi");
	ok(q.value == 67108864 && q.scale == 0 && q.format == KP_QUANTITY_BINARY_SI,
	   "64Mi = 67108864, binary");
	q = P("1e3");
	is_int(q.format, KP_QUANTITY_DECIMAL_EXP, "1e3 keeps exponent format");
	q = P("1E");
	is_int(q.format, KP_QUANTITY_DECIMAL_SI, "1E is exa, decimal SI");
	q = P("0.000000000001Ki");
	is_int(q.format, KP_QUANTITY_DECIMAL_SI, "binary below 1 becomes decimal SI (Kubernetes)");
	q = P("0Ki");
	ok(kp_quantity_is_zero(&q), "0Ki is zero");
	q = P("5n");
	ok(!kp_quantity_is_zero(&q), "5n is not zero");
}

static void test_values(void)
{
	static const struct { const char *in; int64_t value, milli; } t[] = {
		{ "1", 1, 1000 }, { "100m", 1, 100 }, { "1500m", 2, 1500 }, { "0.5", 1, 500 },
		{ "1n", 1, 1 }, { "1001u", 1, 2 }, { "1Ki", 1024, 1024000 }, { "1.5Gi", 1610612736, 1610612736000LL },
		{ "-1.5", -2, -1500 }, { "-1n", -1, -1 }, { "0", 0, 0 }, { "2k", 2000, 2000000 },
		{ "1e3", 1000, 1000000 }, { "9.01", 10, 9010 }, { "-9.01", -10, -9010 },
		{ "9223372036854775", 9223372036854775LL, 9223372036854775000LL },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct kp_quantity q = P(t[i].in);
		int64_t v = 0, m = 0;
		is_int(kp_quantity_value(&q, &v), 0, "value of %s fits", t[i].in);
		is_int(v, t[i].value, "value of %s", t[i].in);
		is_int(kp_quantity_milli(&q, &m), 0, "milli of %s fits", t[i].in);
		is_int(m, t[i].milli, "milli of %s", t[i].in);
		is_int(kp_quantity_value_sat(&q), t[i].value, "saturating value of %s", t[i].in);
		is_int(kp_quantity_milli_sat(&q), t[i].milli, "saturating milli of %s", t[i].in);
	}
	struct kp_quantity q = P("1E");
	int64_t v = 0;
	is_int(kp_quantity_milli(&q, &v), KP_ERANGE, "milli of 1E overflows");
	is_int(v, INT64_MAX, "and is saturated");
	is_int(kp_quantity_milli_sat(&q), INT64_MAX, "milli_sat of 1E");
	is_int(kp_quantity_value_sat(&q), 1000000000000000000LL, "value of 1E");
	q = P("-8E");
	is_int(kp_quantity_milli_sat(&q), INT64_MIN, "milli_sat of -8E");
	q = P("9223372036854775807");
	is_int(kp_quantity_value_sat(&q), INT64_MAX, "value of 2^63-1");
}

static void test_cmp_arith(void)
{
	static const struct { const char *a, *b; int cmp; } c[] = {
		{ "0", "0", 0 }, { "100m", "50m", 1 }, { "50m", "100m", -1 }, { "10000T", "100Gi", 1 },
		{ "1", "1000m", 0 }, { "1Ki", "1024", 0 }, { "1k", "1Ki", -1 }, { "1e3", "1k", 0 },
		{ "0.5", "500m", 0 }, { "-1", "1n", -1 }, { "-1Gi", "-1G", -1 }, { "1n", "0", 1 },
		{ "9223372036854775807", "8E", 1 }, { "7Ei", "8E", 1 }, { "1.5Gi", "1536Mi", 0 },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct kp_quantity a = P(c[i].a), b = P(c[i].b);
		int r = kp_quantity_cmp(&a, &b);
		is_int((r > 0) - (r < 0), c[i].cmp, "cmp(%s, %s)", c[i].a, c[i].b);
		r = kp_quantity_cmp(&b, &a);
		is_int((r > 0) - (r < 0), -c[i].cmp, "cmp(%s, %s)", c[i].b, c[i].a);
	}

	static const struct { const char *a, *b, *sum, *diff; } s[] = {
		{ "100m", "900m", "1", "-800m" },
		{ "1Gi", "512Mi", "1536Mi", "512Mi" },
		{ "1", "1n", "1000000001n", "999999999n" },
		{ "1k", "1Ki", "2024", "-24" },
		{ "0", "1Gi", "1Gi", "-1Gi" },    /* zero takes the other's format */
		{ "100m", "0", "100m", "100m" },  /* adding zero keeps the suffix */
		{ "1e3", "1e3", "2e3", "0" },
		{ "-5", "5", "0", "-10" },
		{ "1E", "1E", "2E", "0" },
		{ "4E", "5E", "9E", "-1E" },
	};
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		char buf[KP_QUANTITY_BUFSZ];
		struct kp_quantity a = P(s[i].a), b = P(s[i].b), x = a;
		is_int(kp_quantity_add(&x, &b), 0, "%s + %s", s[i].a, s[i].b);
		is_str(kp_quantity_format(&x, buf), s[i].sum, "%s + %s", s[i].a, s[i].b);
		x = a;
		is_int(kp_quantity_sub(&x, &b), 0, "%s - %s", s[i].a, s[i].b);
		is_str(kp_quantity_format(&x, buf), s[i].diff, "%s - %s", s[i].a, s[i].b);
	}

	/* overflow leaves a unchanged */
	char buf[KP_QUANTITY_BUFSZ];
	struct kp_quantity a = P("5E"), b = P("5E");
	is_int(kp_quantity_add(&a, &b), KP_ERANGE, "5E + 5E overflows");
	is_str(kp_quantity_format(&a, buf), "5E", "a unchanged after overflow");
	a = P("-5E");
	is_int(kp_quantity_sub(&a, &b), KP_ERANGE, "-5E - 5E overflows");
	is_str(kp_quantity_format(&a, buf), "-5E", "a unchanged after overflow");
	a = P("9223372036854775807");
	b = P("1n");
	is_int(kp_quantity_add(&a, &b), KP_ERANGE, "(2^63-1) + 1n exceeds the range");
	a = P("9223372036854775807");
	b = P("9223372036854775807");
	is_int(kp_quantity_sub(&a, &b), 0, "(2^63-1) - (2^63-1)");
	ok(kp_quantity_is_zero(&a), "is zero");
}

static void test_make(void)
{
	static const struct { int64_t v; int32_t scale; enum kp_quantity_format f; const char *out; } t[] = {
		/* TestMilliNewSet / TestNewSet / TestNewScaledSet */
		{ 1, -3, KP_QUANTITY_DECIMAL_SI, "1m" },
		{ 1000, -3, KP_QUANTITY_DECIMAL_SI, "1" },
		{ 1234000, -3, KP_QUANTITY_DECIMAL_SI, "1234" },
		{ 1024, -3, KP_QUANTITY_BINARY_SI, "1024m" },
		{ 1000000, -3, KP_QUANTITY_DECIMAL_EXP, "1e3" },
		{ 1024 * 1024, -3, KP_QUANTITY_BINARY_SI, "1048576m" },
		{ 1, 0, KP_QUANTITY_DECIMAL_SI, "1" },
		{ 1000, 0, KP_QUANTITY_DECIMAL_SI, "1k" },
		{ 1234000, 0, KP_QUANTITY_DECIMAL_SI, "1234k" },
		{ 1024, 0, KP_QUANTITY_BINARY_SI, "1Ki" },
		{ 1000000, 0, KP_QUANTITY_DECIMAL_EXP, "1e6" },
		{ 1024 * 1024, 0, KP_QUANTITY_BINARY_SI, "1Mi" },
		{ 1, -9, KP_QUANTITY_DECIMAL_SI, "1n" },
		{ 1000, -9, KP_QUANTITY_DECIMAL_SI, "1u" },
		{ 1, -6, KP_QUANTITY_DECIMAL_SI, "1u" },
		{ 1000, -6, KP_QUANTITY_DECIMAL_SI, "1m" },
		{ 1, 3, KP_QUANTITY_DECIMAL_SI, "1k" },
		{ 5, 0, KP_QUANTITY_BINARY_SI, "5" },
		{ 500, -3, KP_QUANTITY_BINARY_SI, "500m" },
		{ 10800, -4, KP_QUANTITY_DECIMAL_SI, "1080m" },
		{ 10800, -10, KP_QUANTITY_DECIMAL_SI, "1080n" },
		/* finer than nano rounds away from zero; beyond 2^63-1 saturates */
		{ 1, -12, KP_QUANTITY_DECIMAL_SI, "1n" },
		{ -1001, -12, KP_QUANTITY_DECIMAL_SI, "-2n" },
		{ 1, 30, KP_QUANTITY_DECIMAL_SI, "9223372036854775807" },
		{ INT64_MIN, 0, KP_QUANTITY_DECIMAL_SI, "-9223372036854775807" },
		{ 0, 7, KP_QUANTITY_BINARY_SI, "0" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char buf[KP_QUANTITY_BUFSZ];
		struct kp_quantity q = kp_quantity_make(t[i].v, t[i].scale, t[i].f);
		is_str(kp_quantity_format(&q, buf), t[i].out, "make(%lld, %d)", (long long)t[i].v,
		       (int)t[i].scale);
	}
	/* Round trip: the canonical string parses back to an equal quantity. */
	static const char *const rt[] = { "1536Mi", "500m", "1e3", "7Ei", "-1080n", "123456789123456789" };
	for (size_t i = 0; i < sizeof(rt) / sizeof(rt[0]); i++) {
		char buf[KP_QUANTITY_BUFSZ];
		struct kp_quantity a = P(rt[i]), b;
		kp_quantity_format(&a, buf);
		b = P(buf);
		ok(kp_quantity_cmp(&a, &b) == 0 && a.format == b.format, "round trip %s", rt[i]);
	}
}

int main(void)
{
	test_canonical();
	test_bad_input();
	test_parsed_fields();
	test_values();
	test_cmp_arith();
	test_make();
	return done_testing();
}

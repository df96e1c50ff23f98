/*
 * quantity.c - Kubernetes resource quantities; see <kplane/quantity.h>.
 *
 * Every valid quantity lies within +/-(2^63-1) units at nano precision, so
 * its value in nanos fits a signed 128-bit integer (|n| < 2^94). Arithmetic
 * and comparison therefore go through nanos and are exact; the int64
 * mantissa/scale pair is only the storage form.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <kplane/error.h>
#include <kplane/quantity.h>

__extension__ typedef __int128 i128;
__extension__ typedef unsigned __int128 u128;

/* Longest input accepted: far more digits than any int64 value needs. */
#define QTY_MAX_INPUT 256
/* Digits kept while parsing: input digits plus what 2^60 can add. */
#define QTY_MAX_DIGITS (QTY_MAX_INPUT + 24)

static const int64_t pow10_i64[19] = {
	1LL, 10LL, 100LL, 1000LL, 10000LL, 100000LL, 1000000LL, 10000000LL,
	100000000LL, 1000000000LL, 10000000000LL, 100000000000LL,
	1000000000000LL, 10000000000000LL, 100000000000000LL,
	1000000000000000LL, 10000000000000000LL, 100000000000000000LL,
	1000000000000000000LL,
};

static i128 pow10_128(int e)
{
	i128 r = 1;
	while (e-- > 0)
		r *= 10;
	return r;
}

/* (2^63-1) * 10^9: the largest magnitude in nanos. */
static i128 max_nanos(void)
{
	return (i128)INT64_MAX * 1000000000;
}

/*
 * The quantity in nanos, saturated at +/-(max_nanos()+1) for values built
 * by hand outside the documented range, so that comparisons stay ordered.
 * Scales below nano round away from zero, as parsing does.
 */
static i128 to_nanos(const struct kp_quantity *q)
{
	i128 lim = max_nanos() + 1, v = q->value;
	int64_t e = (int64_t)q->scale + 9;

	if (v == 0)
		return 0;
	if (e < 0) {
		int64_t d = -e;
		i128 p, r;
		if (d > 18)
			return v < 0 ? -1 : 1;
		p = pow10_i64[d];
		r = v / p;
		if (v % p)
			r += v < 0 ? -1 : 1;
		return r;
	}
	if (e > 28)
		return v < 0 ? -lim : lim;
	v *= pow10_128((int)e); /* |v| < 2^63 * 10^28 < 2^127 */
	if (v > lim)
		return lim;
	if (v < -lim)
		return -lim;
	return v;
}

/*
 * Stores n nanos into q (keeping q->format). Fails when |n| is out of
 * range or the significant digits do not fit an int64 mantissa.
 */
static int from_nanos(i128 n, struct kp_quantity *q)
{
	int32_t scale = -9;

	if (n > max_nanos() || n < -max_nanos())
		return KP_ERANGE;
	if (n == 0) {
		q->value = 0;
		q->scale = 0;
		return 0;
	}
	while (n % 10 == 0) {
		n /= 10;
		scale++;
	}
	if (n > INT64_MAX || n < -INT64_MAX)
		return KP_ERANGE;
	q->value = (int64_t)n;
	q->scale = scale;
	return 0;
}

/* Writes |v| in decimal to p (big enough), returns the length. */
static size_t put_u128(char *p, u128 v)
{
	char tmp[48];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + (int)(v % 10));
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

struct suffix {
	const char *s;
	int exp10;  /* decimal exponent */
	int exp2;   /* binary exponent, in steps of 10 (Ki = 1) */
	enum kp_quantity_format f;
};

static const struct suffix suffixes[] = {
	{ "n", -9, 0, KP_QUANTITY_DECIMAL_SI },
	{ "u", -6, 0, KP_QUANTITY_DECIMAL_SI },
	{ "m", -3, 0, KP_QUANTITY_DECIMAL_SI },
	{ "k", 3, 0, KP_QUANTITY_DECIMAL_SI },
	{ "M", 6, 0, KP_QUANTITY_DECIMAL_SI },
	{ "G", 9, 0, KP_QUANTITY_DECIMAL_SI },
	{ "T", 12, 0, KP_QUANTITY_DECIMAL_SI },
	{ "P", 15, 0, KP_QUANTITY_DECIMAL_SI },
	{ "E", 18, 0, KP_QUANTITY_DECIMAL_SI },
	{ "Ki", 0, 1, KP_QUANTITY_BINARY_SI },
	{ "Mi", 0, 2, KP_QUANTITY_BINARY_SI },
	{ "Gi", 0, 3, KP_QUANTITY_BINARY_SI },
	{ "Ti", 0, 4, KP_QUANTITY_BINARY_SI },
	{ "Pi", 0, 5, KP_QUANTITY_BINARY_SI },
	{ "Ei", 0, 6, KP_QUANTITY_BINARY_SI },
};

/*
 * Interprets the suffix; returns false when it is not one. Exponents are
 * clamped at +/-10000: beyond that every non-zero value is out of range or
 * rounds to 1n alike, and the clamp keeps the arithmetic below in int.
 */
static bool parse_suffix(const char *s, int *exp10, int *exp2, enum kp_quantity_format *f)
{
	size_t i;

	*exp10 = 0;
	*exp2 = 0;
	*f = KP_QUANTITY_DECIMAL_SI;
	if (!*s)
		return true;
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		if (strcmp(s, suffixes[i].s) == 0) {
			*exp10 = suffixes[i].exp10;
			*exp2 = suffixes[i].exp2;
			*f = suffixes[i].f;
			return true;
		}
	}
	if ((s[0] == 'e' || s[0] == 'E') && s[1]) {
		const char *p = s + 1;
		bool neg = false;
		int e = 0;
		if (*p == '+' || *p == '-')
			neg = *p++ == '-';
		if (!*p)
			return false;
		for (; *p; p++) {
			if (*p < '0' || *p > '9')
				return false;
			if (e < 10000)
				e = e * 10 + (*p - '0');
		}
		*exp10 = neg ? -e : e;
		*f = KP_QUANTITY_DECIMAL_EXP;
		return true;
	}
	return false;
}

/* digits[0..*nd) *= 1024, most significant digit first. */
static void digits_mul1024(unsigned char *d, size_t *nd)
{
	unsigned carry = 0;
	size_t i = *nd;

	while (i-- > 0) {
		unsigned x = d[i] * 1024u + carry;
		d[i] = (unsigned char)(x % 10);
		carry = x / 10;
	}
	while (carry) {
		memmove(d + 1, d, *nd);
		d[0] = (unsigned char)(carry % 10);
		carry /= 10;
		(*nd)++;
	}
}

int kp_quantity_parse(const char *s, struct kp_quantity *q, char **errmsg)
{
	unsigned char digits[QTY_MAX_DIGITS];
	size_t nd = 0, len, i;
	const char *p;
	bool neg = false, seen_digit = false, seen_dot = false;
	int exp10, exp2, frac = 0, e9;
	enum kp_quantity_format f;
	i128 n = 0;
	int rc;

	if (!s || !*s)
		return kp_error_set(errmsg, KP_EINVAL, "quantity: empty string");
	len = strlen(s);
	if (len > QTY_MAX_INPUT)
		return kp_error_set(errmsg, KP_EINVAL, "quantity \"%.32s...\": longer than %d characters",
				    s, QTY_MAX_INPUT);
	p = s;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	for (; *p; p++) {
		if (*p >= '0' && *p <= '9') {
			seen_digit = true;
			if (nd || *p != '0')
				digits[nd++] = (unsigned char)(*p - '0');
			if (seen_dot)
				frac++;
		} else if (*p == '.' && !seen_dot) {
			seen_dot = true;
		} else {
			break;
		}
	}
	/*
	 * Kubernetes reads "Mi", "." and "-" as zero; a quantity without a
	 * single digit is a typo we would rather report.
	 */
	if (!seen_digit)
		return kp_error_set(errmsg, KP_EINVAL,
				    "quantity \"%s\": must start with a number (as in 100m, 1.5Gi, 1e3)",
				    s);
	if (!parse_suffix(p, &exp10, &exp2, &f)) {
		if (*p == '.')
			return kp_error_set(errmsg, KP_EINVAL, "quantity \"%s\": more than one '.'", s);
		return kp_error_set(errmsg, KP_EINVAL,
				    "quantity \"%s\": unknown suffix \"%s\" (expected one of "
				    "n u m k M G T P E Ki Mi Gi Ti Pi Ei, or an exponent such as e3)",
				    s, p);
	}

	q->value = 0;
	q->scale = 0;
	q->format = f;
	if (nd == 0)
		return 0; /* zero, whatever the suffix and sign */

	for (i = 0; i < (size_t)exp2; i++)
		digits_mul1024(digits, &nd);
	/* Value = digits * 10^(exp10 - frac); strip trailing zeros into it. */
	exp10 -= frac;
	while (digits[nd - 1] == 0) {
		nd--;
		exp10++;
	}
	e9 = exp10 + 9; /* exponent of the digits counted in nanos */
	if (e9 >= 0) {
		if ((int)nd + e9 > 28)
			goto out_range;
		for (i = 0; i < nd; i++)
			n = n * 10 + digits[i];
		n *= pow10_128(e9);
	} else {
		/* Digits below a nano are dropped and round away from zero. */
		size_t keep = (int)nd + e9 > 0 ? nd + (size_t)e9 : 0;
		if (keep > 28)
			goto out_range;
		for (i = 0; i < keep; i++)
			n = n * 10 + digits[i];
		n += 1; /* the dropped digits end in a non-zero digit */
	}
	if (n > max_nanos())
		goto out_range;
	rc = from_nanos(neg ? -n : n, q);
	if (rc < 0)
		return kp_error_set(errmsg, KP_ERANGE,
				    "quantity \"%s\": more significant digits than an int64 holds", s);
	/* Like Kubernetes: a binary value below 1 has no binary spelling. */
	if (f == KP_QUANTITY_BINARY_SI && n < 1000000000)
		q->format = KP_QUANTITY_DECIMAL_SI;
	return 0;

out_range:
	return kp_error_set(errmsg, KP_ERANGE,
			    "quantity \"%s\": magnitude exceeds 2^63-1 (9223372036854775807)", s);
}

char *kp_quantity_format(const struct kp_quantity *q, char buf[KP_QUANTITY_BUFSZ])
{
	static const char *const si[] = { "n", "u", "m", "", "k", "M", "G", "T", "P", "E" };
	static const char *const bin[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
	i128 n = to_nanos(q), m;
	char *p = buf;
	int exp;

	if (n == 0) {
		strcpy(buf, "0");
		return buf;
	}
	if (n < 0)
		*p++ = '-';
	m = n < 0 ? -n : n;

	/*
	 * Binary only for whole numbers of at least 1024: "1.5Gi" would lose
	 * precision, "512" gains nothing from a suffix.
	 */
	if (q->format == KP_QUANTITY_BINARY_SI && m % 1000000000 == 0 &&
	    m / 1000000000 >= 1024) {
		u128 v = (u128)(m / 1000000000);
		int k = 0;
		while (k < 6 && v % 1024 == 0) {
			v /= 1024;
			k++;
		}
		p += put_u128(p, v);
		strcpy(p, bin[k]);
		return buf;
	}

	/* Decimal: largest exponent that is a multiple of 3 and keeps an integer. */
	exp = -9;
	while (m % 1000 == 0 && exp < 18) {
		m /= 1000;
		exp += 3;
	}
	p += put_u128(p, (u128)m);
	if (q->format == KP_QUANTITY_DECIMAL_EXP) {
		if (exp != 0)
			sprintf(p, "e%d", exp);
		else
			*p = '\0';
	} else {
		strcpy(p, si[(exp + 9) / 3]);
	}
	return buf;
}

/* ceil-away-from-zero of q / 10^scale, or KP_ERANGE. */
static int scaled(const struct kp_quantity *q, int scale, int64_t *out)
{
	i128 n = to_nanos(q), p, r;
	int e = scale + 9; /* scale is 0 or -3 here */

	p = pow10_128(e);
	r = n / p;
	if (n % p)
		r += n < 0 ? -1 : 1;
	if (r > INT64_MAX || r < INT64_MIN) {
		*out = r < 0 ? INT64_MIN : INT64_MAX;
		return KP_ERANGE;
	}
	*out = (int64_t)r;
	return 0;
}

int kp_quantity_value(const struct kp_quantity *q, int64_t *out)
{
	return scaled(q, 0, out);
}

int kp_quantity_milli(const struct kp_quantity *q, int64_t *out)
{
	return scaled(q, -3, out);
}

int64_t kp_quantity_value_sat(const struct kp_quantity *q)
{
	int64_t v;
	scaled(q, 0, &v);
	return v;
}

int64_t kp_quantity_milli_sat(const struct kp_quantity *q)
{
	int64_t v;
	scaled(q, -3, &v);
	return v;
}

int kp_quantity_cmp(const struct kp_quantity *a, const struct kp_quantity *b)
{
	i128 x = to_nanos(a), y = to_nanos(b);
	return (x > y) - (x < y);
}

static int add_nanos(struct kp_quantity *a, const struct kp_quantity *b, bool negate)
{
	struct kp_quantity r = *a;
	i128 y = to_nanos(b);
	int rc;

	rc = from_nanos(to_nanos(a) + (negate ? -y : y), &r);
	if (rc < 0)
		return rc;
	/* As Kubernetes: a zero takes the format of what is added to it. */
	if (a->value == 0)
		r.format = b->format;
	*a = r;
	return 0;
}

int kp_quantity_add(struct kp_quantity *a, const struct kp_quantity *b)
{
	return add_nanos(a, b, false);
}

int kp_quantity_sub(struct kp_quantity *a, const struct kp_quantity *b)
{
	return add_nanos(a, b, true);
}

struct kp_quantity kp_quantity_make(int64_t value, int32_t scale, enum kp_quantity_format f)
{
	struct kp_quantity q = { value, scale, f };
	i128 n = to_nanos(&q);

	if (n > max_nanos())
		n = max_nanos();
	else if (n < -max_nanos())
		n = -max_nanos();
	/* In range, with no more digits than value itself had: cannot fail. */
	from_nanos(n, &q);
	q.format = f;
	return q;
}

bool kp_quantity_is_zero(const struct kp_quantity *q)
{
	return q->value == 0;
}

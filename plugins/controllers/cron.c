/*
 * cron.c - cron schedule parsing and next-time search. See cron.h.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <kplane/error.h>

#include "plugins/controllers/cron.h"

struct field {
	const char *name;
	int min, max;
	const char *const *names; /* index = value - min... NULL-terminated, or NULL */
};

static const char *const months[] = { "jan", "feb", "mar", "apr", "may", "jun", "jul",
				      "aug", "sep", "oct", "nov", "dec", NULL };
static const char *const days[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL };

static const struct field fields[5] = {
	{ "minute", 0, 59, NULL },
	{ "hour", 0, 23, NULL },
	{ "day of month", 1, 31, NULL },
	{ "month", 1, 12, months },
	{ "day of week", 0, 6, days },
};

static int value(const struct field *f, const char *s, size_t n, int *out)
{
	if (f->names && n == 3) {
		for (int i = 0; f->names[i]; i++)
			if (!strncasecmp(s, f->names[i], 3)) {
				*out = i + (f == &fields[3] ? 1 : 0);
				return 0;
			}
	}
	if (!n || n > 4)
		return -1;
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* One comma-separated part: "*", "a", "a-b", each optionally "/step". */
static int part(const struct field *f, const char *s, size_t n, uint64_t *bits, bool *star,
		char **errmsg)
{
	const char *slash = memchr(s, '/', n);
	size_t rn = slash ? (size_t)(slash - s) : n;
	int lo, hi, step = 1;
	bool is_star = false;
	if ((rn == 1 && (*s == '*' || *s == '?'))) {
		lo = f->min;
		hi = f->max;
		is_star = true;
	} else {
		const char *dash = memchr(s, '-', rn);
		if (value(f, s, dash ? (size_t)(dash - s) : rn, &lo) < 0 ||
		    (dash && value(f, dash + 1, rn - (size_t)(dash + 1 - s), &hi) < 0))
			return kp_error_set(errmsg, KP_EINVAL, "%s: invalid value \"%.*s\"", f->name,
					    (int)n, s);
		if (!dash)
			hi = slash ? f->max : lo; /* "N/step" means N-max/step */
	}
	if (slash) {
		size_t sn = n - rn - 1;
		if (value(f, slash + 1, sn, &step) < 0 || step < 1)
			return kp_error_set(errmsg, KP_EINVAL, "%s: invalid step \"%.*s\"", f->name,
					    (int)n, s);
	}
	if (lo < f->min || hi > f->max || lo > hi)
		return kp_error_set(errmsg, KP_EINVAL, "%s: \"%.*s\" is outside %d-%d", f->name,
				    (int)n, s, f->min, f->max);
	for (int v = lo; v <= hi; v += step)
		*bits |= 1ull << v;
	if (is_star && step == 1)
		*star = true;
	return 0;
}

int kp__cron_parse(const char *spec, struct kp__cron *out, char **errmsg)
{
	static const struct {
		const char *macro, *expansion;
	} macros[] = {
		{ "@yearly", "0 0 1 1 *" },  { "@annually", "0 0 1 1 *" }, { "@monthly", "0 0 1 * *" },
		{ "@weekly", "0 0 * * 0" },  { "@daily", "0 0 * * *" },    { "@midnight", "0 0 * * *" },
		{ "@hourly", "0 * * * *" },
	};
	memset(out, 0, sizeof(*out));
	if (!spec)
		return kp_error_set(errmsg, KP_EINVAL, "empty schedule");
	while (isspace((unsigned char)*spec))
		spec++;
	if (*spec == '@') {
		for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
			if (!strcmp(spec, macros[i].macro))
				return kp__cron_parse(macros[i].expansion, out, errmsg);
		return kp_error_set(errmsg, KP_EINVAL, "unrecognized descriptor: %s", spec);
	}
	uint64_t *bits[5] = { &out->minute, &out->hour, &out->dom, &out->month, &out->dow };
	const char *p = spec;
	for (int f = 0; f < 5; f++) {
		while (isspace((unsigned char)*p))
			p++;
		size_t n = strcspn(p, " \t");
		if (!n)
			return kp_error_set(errmsg, KP_EINVAL,
					    "expected exactly 5 fields, found %d: \"%s\"", f, spec);
		bool star = false;
		for (const char *q = p; q < p + n;) {
			size_t m = strcspn(q, ",");
			if (m > (size_t)(p + n - q))
				m = (size_t)(p + n - q);
			int rc = part(&fields[f], q, m, bits[f], &star, errmsg);
			if (rc < 0)
				return rc;
			q += m + (q + m < p + n);
		}
		if (f == 2)
			out->dom_star = star;
		if (f == 4)
			out->dow_star = star;
		p += n;
	}
	while (isspace((unsigned char)*p))
		p++;
	if (*p)
		return kp_error_set(errmsg, KP_EINVAL, "expected exactly 5 fields: \"%s\"", spec);
	return 0;
}

static bool day_matches(const struct kp__cron *c, const struct tm *tm)
{
	bool d = c->dom >> tm->tm_mday & 1, w = c->dow >> tm->tm_wday & 1;
	if (c->dom_star || c->dow_star)
		return d && w;
	return d || w;
}

int64_t kp__cron_next(const struct kp__cron *c, int64_t t, int32_t offset)
{
	/* Work on wall-clock time at the offset, as UTC fields. */
	time_t w = (time_t)(t + offset);
	w = w - w % 60 + 60;
	struct tm tm;
	gmtime_r(&w, &tm);
	int year_limit = tm.tm_year + 5;
	while (tm.tm_year <= year_limit) {
		if (!(c->month >> (tm.tm_mon + 1) & 1)) {
			tm.tm_mon++;
			tm.tm_mday = 1;
			tm.tm_hour = tm.tm_min = 0;
		} else if (!day_matches(c, &tm)) {
			tm.tm_mday++;
			tm.tm_hour = tm.tm_min = 0;
		} else if (!(c->hour >> tm.tm_hour & 1)) {
			tm.tm_hour++;
			tm.tm_min = 0;
		} else if (!(c->minute >> tm.tm_min & 1)) {
			tm.tm_min++;
		} else {
			return (int64_t)timegm(&tm) - offset;
		}
		time_t n = timegm(&tm); /* normalizes overflowed fields */
		gmtime_r(&n, &tm);
	}
	return 0;
}

/* ---- tz database ---- */

static int64_t be(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	if (n == 4)
		return (int32_t)(uint32_t)v;
	return (int64_t)v;
}

int kp__tz_load(const char *name, struct kp__tz *out, char **errmsg)
{
	memset(out, 0, sizeof(*out));
	if (!name || !*name || name[0] == '/' || strstr(name, "..") ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-/") !=
		    strlen(name))
		return kp_error_set(errmsg, KP_EINVAL, "invalid time zone name \"%s\"",
				    name ? name : "");
	char path[512];
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return kp_error_set(errmsg, KP_ENOENT, "unknown time zone \"%s\"", name);
	unsigned char *d = malloc(1 << 20);
	size_t len = d ? fread(d, 1, 1 << 20, f) : 0;
	fclose(f);
	int rc = KP_EINVAL;
	if (!d || len < 44 || memcmp(d, "TZif", 4))
		goto bad;
	/* Skip the 32-bit block when a 64-bit one follows (version 2+). */
	size_t o = 0;
	int tsz = 4;
	if (d[4] >= '2') {
		int64_t c[6];
		for (int i = 0; i < 6; i++)
			c[i] = be(d + 20 + 4 * i, 4);
		o = 44 + (size_t)(c[3] * 5 + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0]);
		if (o + 44 > len || memcmp(d + o, "TZif", 4))
			goto bad;
		tsz = 8;
	}
	int64_t isut = be(d + o + 20, 4), isstd = be(d + o + 24, 4), leap = be(d + o + 28, 4);
	int64_t timecnt = be(d + o + 32, 4), typecnt = be(d + o + 36, 4), charcnt = be(d + o + 40, 4);
	(void)isut;
	(void)isstd;
	(void)leap;
	(void)charcnt;
	size_t p = o + 44;
	if (timecnt < 0 || typecnt <= 0 || timecnt > 100000 || typecnt > 256 ||
	    p + (size_t)timecnt * ((size_t)tsz + 1) + (size_t)typecnt * 6 > len)
		goto bad;
	out->at = calloc((size_t)timecnt + 1, sizeof(*out->at));
	out->off = calloc((size_t)timecnt + 1, sizeof(*out->off));
	if (!out->at || !out->off) {
		rc = KP_ENOMEM;
		goto bad;
	}
	const unsigned char *times = d + p, *idx = times + timecnt * tsz,
			    *types = idx + timecnt;
	for (int64_t i = 0; i < timecnt; i++) {
		unsigned t = idx[i];
		if (t >= typecnt)
			goto bad;
		out->at[i] = be(times + i * tsz, tsz);
		out->off[i] = (int32_t)be(types + 6 * t, 4);
	}
	out->n = (size_t)timecnt;
	/* Before the first transition: the first standard-time type (RFC 8536 3.2). */
	out->initial = (int32_t)be(types, 4);
	for (int64_t t = 0; t < typecnt; t++)
		if (!types[6 * t + 4]) {
			out->initial = (int32_t)be(types + 6 * t, 4);
			break;
		}
	free(d);
	return 0;
bad:
	free(d);
	kp__tz_release(out);
	if (rc == KP_ENOMEM)
		return kp_error_set(errmsg, rc, "out of memory");
	return kp_error_set(errmsg, KP_EINVAL, "time zone \"%s\": not a TZif file", name);
}

void kp__tz_release(struct kp__tz *tz)
{
	free(tz->at);
	free(tz->off);
	memset(tz, 0, sizeof(*tz));
}

int32_t kp__tz_offset(const struct kp__tz *tz, int64_t t)
{
	if (!tz || !tz->n || t < tz->at[0])
		return tz ? tz->initial : 0;
	size_t lo = 0, hi = tz->n; /* the last transition <= t */
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (tz->at[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return tz->off[lo];
}

int64_t kp__cron_next_tz(const struct kp__cron *c, int64_t t, const struct kp__tz *tz)
{
	/*
	 * A candidate is valid when the zone's offset at it is the one it was
	 * computed with; a wall time skipped by a forward change has no valid
	 * candidate and is skipped, a repeated one runs twice (robfig/cron
	 * walking Go's local time does both).
	 */
	for (int guard = 0; guard < 16; guard++) {
		int32_t o1 = kp__tz_offset(tz, t);
		int64_t n1 = kp__cron_next(c, t, o1);
		if (!n1)
			return 0;
		if (kp__tz_offset(tz, n1) == o1)
			return n1;
		int32_t o2 = kp__tz_offset(tz, n1);
		int64_t n2 = kp__cron_next(c, t, o2);
		if (n2 && n2 > t && kp__tz_offset(tz, n2) == o2)
			return n2;
		t = n2 > n1 ? n2 : n1;
	}
	return 0;
}

/* object.c - JSON object helpers, time and UUIDs; see <kplane/object.h>. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <kplane/error.h>
#include <kplane/object.h>

/* Paths are short ("spec.template.metadata.labels"); longer ones are refused. */
#define PATH_MAX_SEGMENT 256

/*
 * Copies the next segment of a dotted path into seg; returns a pointer past
 * it (at '\0' or after the '.'), or NULL for an empty or overlong segment.
 */
static const char *next_segment(const char *p, char seg[PATH_MAX_SEGMENT])
{
	size_t n = strcspn(p, ".");

	if (n == 0 || n >= PATH_MAX_SEGMENT)
		return NULL;
	memcpy(seg, p, n);
	seg[n] = '\0';
	return p[n] == '.' ? p + n + 1 : p + n;
}

json_t *kp_obj_get(const json_t *obj, const char *path)
{
	char seg[PATH_MAX_SEGMENT];
	json_t *cur = (json_t *)obj;

	if (!obj || !path)
		return NULL;
	while (*path) {
		if (!json_is_object(cur))
			return NULL;
		path = next_segment(path, seg);
		if (!path)
			return NULL;
		cur = json_object_get(cur, seg);
	}
	return cur;
}

json_t *kp_obj_getv(const json_t *obj, ...)
{
	va_list ap;
	const char *seg;
	json_t *cur = (json_t *)obj;

	va_start(ap, obj);
	while (cur && (seg = va_arg(ap, const char *)) != NULL)
		cur = json_is_object(cur) ? json_object_get(cur, seg) : NULL;
	va_end(ap);
	return cur;
}

const char *kp_obj_str(const json_t *obj, const char *path)
{
	return json_string_value(kp_obj_get(obj, path));
}

int64_t kp_obj_int(const json_t *obj, const char *path, int64_t def)
{
	json_t *v = kp_obj_get(obj, path);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : def;
}

bool kp_obj_bool(const json_t *obj, const char *path, bool def)
{
	json_t *v = kp_obj_get(obj, path);

	return json_is_boolean(v) ? json_is_true(v) : def;
}

int kp_obj_set(json_t *obj, const char *path, json_t *value)
{
	char seg[PATH_MAX_SEGMENT];
	json_t *cur = obj;

	if (!value)
		return KP_ENOMEM;
	if (!json_is_object(obj) || !path || !*path)
		goto out_inval;
	for (;;) {
		json_t *next;

		path = next_segment(path, seg);
		if (!path)
			goto out_inval;
		if (!*path)
			break;
		next = json_object_get(cur, seg);
		if (!next || json_is_null(next)) {
			next = json_object();
			if (!next || json_object_set_new(cur, seg, next) < 0) {
				json_decref(value);
				return KP_ENOMEM;
			}
		} else if (!json_is_object(next)) {
			goto out_inval;
		}
		cur = next;
	}
	return json_object_set_new(cur, seg, value) < 0 ? KP_ENOMEM : 0;

out_inval:
	json_decref(value);
	return KP_EINVAL;
}

int kp_obj_set_str(json_t *obj, const char *path, const char *s)
{
	json_t *v;

	if (!s)
		return KP_EINVAL;
	v = json_string(s);
	if (!v)
		return KP_EINVAL; /* not UTF-8 (or out of memory) */
	return kp_obj_set(obj, path, v);
}

int kp_obj_del(json_t *obj, const char *path)
{
	const char *dot;
	json_t *parent;
	char *ppath;

	if (!obj || !path || !*path)
		return KP_EINVAL;
	dot = strrchr(path, '.');
	if (!dot) {
		if (json_is_object(obj))
			json_object_del(obj, path);
		return 0;
	}
	ppath = strndup(path, (size_t)(dot - path));
	if (!ppath)
		return KP_ENOMEM;
	parent = kp_obj_get(obj, ppath);
	free(ppath);
	if (json_is_object(parent))
		json_object_del(parent, dot + 1);
	return 0;
}

static const char *meta_str(const json_t *obj, const char *key)
{
	json_t *md = json_is_object(obj) ? json_object_get(obj, "metadata") : NULL;

	return json_is_object(md) ? json_string_value(json_object_get(md, key)) : NULL;
}

const char *kp_obj_name(const json_t *obj) { return meta_str(obj, "name"); }
const char *kp_obj_namespace(const json_t *obj) { return meta_str(obj, "namespace"); }
const char *kp_obj_uid(const json_t *obj) { return meta_str(obj, "uid"); }

const char *kp_obj_kind(const json_t *obj)
{
	return json_is_object(obj) ? json_string_value(json_object_get(obj, "kind")) : NULL;
}

const char *kp_obj_api_version(const json_t *obj)
{
	return json_is_object(obj) ? json_string_value(json_object_get(obj, "apiVersion")) : NULL;
}

static json_t *meta_obj(const json_t *obj, const char *key)
{
	json_t *v = kp_obj_getv(obj, "metadata", key, NULL);

	return json_is_object(v) ? v : NULL;
}

json_t *kp_obj_labels(const json_t *obj) { return meta_obj(obj, "labels"); }
json_t *kp_obj_annotations(const json_t *obj) { return meta_obj(obj, "annotations"); }

const char *kp_obj_label(const json_t *obj, const char *key)
{
	return key ? json_string_value(json_object_get(kp_obj_labels(obj), key)) : NULL;
}

const char *kp_obj_annotation(const json_t *obj, const char *key)
{
	return key ? json_string_value(json_object_get(kp_obj_annotations(obj), key)) : NULL;
}

/* Label keys contain dots ("app.kubernetes.io/name"): no dotted paths here. */
static int set_meta_map_entry(json_t *obj, const char *map, const char *key, const char *value)
{
	json_t *md, *m, *v;

	if (!json_is_object(obj) || !key || !value)
		return KP_EINVAL;
	md = json_object_get(obj, "metadata");
	if (!md || json_is_null(md)) {
		md = json_object();
		if (!md || json_object_set_new(obj, "metadata", md) < 0)
			return KP_ENOMEM;
	} else if (!json_is_object(md)) {
		return KP_EINVAL;
	}
	m = json_object_get(md, map);
	if (!m || json_is_null(m)) {
		m = json_object();
		if (!m || json_object_set_new(md, map, m) < 0)
			return KP_ENOMEM;
	} else if (!json_is_object(m)) {
		return KP_EINVAL;
	}
	v = json_string(value);
	if (!v)
		return KP_EINVAL;
	return json_object_set_new(m, key, v) < 0 ? KP_EINVAL : 0;
}

int kp_obj_set_label(json_t *obj, const char *key, const char *value)
{
	return set_meta_map_entry(obj, "labels", key, value);
}

int kp_obj_set_annotation(json_t *obj, const char *key, const char *value)
{
	return set_meta_map_entry(obj, "annotations", key, value);
}

static json_t *owner_refs(const json_t *obj)
{
	json_t *refs = kp_obj_getv(obj, "metadata", "ownerReferences", NULL);

	return json_is_array(refs) ? refs : NULL;
}

json_t *kp_obj_controller_ref(const json_t *obj)
{
	json_t *refs = owner_refs(obj), *ref;
	size_t i;

	json_array_foreach(refs, i, ref)
		if (json_is_object(ref) && json_is_true(json_object_get(ref, "controller")))
			return ref;
	return NULL;
}

bool kp_obj_owned_by(const json_t *obj, const char *uid)
{
	json_t *refs = owner_refs(obj), *ref;
	size_t i;

	if (!uid)
		return false;
	json_array_foreach(refs, i, ref) {
		const char *u = json_is_object(ref) ? json_string_value(json_object_get(ref, "uid")) : NULL;
		if (u && strcmp(u, uid) == 0)
			return true;
	}
	return false;
}

int kp_obj_add_owner_ref(json_t *obj, const json_t *owner, bool controller)
{
	const char *av = kp_obj_api_version(owner), *kind = kp_obj_kind(owner);
	const char *name = kp_obj_name(owner), *uid = kp_obj_uid(owner);
	json_t *ref, *md, *refs;

	if (!json_is_object(obj) || !av || !*av || !kind || !*kind || !name || !*name || !uid || !*uid)
		return KP_EINVAL;
	if (kp_obj_owned_by(obj, uid) || (controller && kp_obj_controller_ref(obj)))
		return KP_EEXIST;
	md = json_object_get(obj, "metadata");
	if (md && !json_is_object(md))
		return KP_EINVAL;
	refs = md ? json_object_get(md, "ownerReferences") : NULL;
	if (refs && !json_is_array(refs) && !json_is_null(refs))
		return KP_EINVAL;

	ref = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "apiVersion", av, "kind", kind, "name", name,
			"uid", uid, "controller", controller, "blockOwnerDeletion", controller);
	if (!ref)
		return KP_ENOMEM;
	if (!md) {
		md = json_object();
		if (!md || json_object_set_new(obj, "metadata", md) < 0)
			goto out_free_ref;
	}
	if (!json_is_array(refs)) {
		refs = json_array();
		if (!refs || json_object_set_new(md, "ownerReferences", refs) < 0)
			goto out_free_ref;
	}
	return json_array_append_new(refs, ref) < 0 ? KP_ENOMEM : 0;

out_free_ref:
	json_decref(ref);
	return KP_ENOMEM;
}

uint64_t kp_obj_resource_version(const json_t *obj)
{
	const char *s = meta_str(obj, "resourceVersion");
	uint64_t v = 0;

	if (!s || !*s)
		return 0;
	for (; *s; s++) {
		uint64_t d = (uint64_t)(*s - '0');
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	return v;
}

int kp_obj_set_resource_version(json_t *obj, uint64_t rev)
{
	char buf[24];
	json_t *md;

	if (!json_is_object(obj))
		return KP_EINVAL;
	snprintf(buf, sizeof(buf), "%" PRIu64, rev);
	md = json_object_get(obj, "metadata");
	if (!md || json_is_null(md)) {
		md = json_object();
		if (!md || json_object_set_new(obj, "metadata", md) < 0)
			return KP_ENOMEM;
	} else if (!json_is_object(md)) {
		return KP_EINVAL;
	}
	return json_object_set_new(md, "resourceVersion", json_string(buf)) < 0 ? KP_ENOMEM : 0;
}

/* ---- time ---- */

/*
 * Proleptic Gregorian calendar arithmetic (H. Hinnant's days_from_civil),
 * so that neither TZ nor the range of time_t/struct tm matter.
 */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* RFC 3339 has four-digit years: 0000-01-01T00:00:00Z .. 9999-12-31T23:59:59Z. */
#define KP_TIME_MIN (-62167219200LL)
#define KP_TIME_MAX (253402300799LL)

char *kp_time_format(int64_t unix_sec, char buf[KP_TIME_BUFSZ])
{
	int64_t days, secs, y;
	int m, d;

	if (unix_sec < KP_TIME_MIN || unix_sec > KP_TIME_MAX)
		return NULL;
	days = unix_sec / 86400;
	secs = unix_sec % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	/* the range check above keeps every field within its width */
	snprintf(buf, KP_TIME_BUFSZ, "%04u-%02u-%02uT%02u:%02u:%02uZ", (unsigned)y % 10000u,
		 (unsigned)m % 100u, (unsigned)d % 100u, (unsigned)(secs / 3600) % 100u,
		 (unsigned)(secs / 60 % 60), (unsigned)(secs % 60));
	return buf;
}

/* Reads exactly n digits. */
static int digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int kp_time_parse(const char *s, int64_t *unix_sec)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	const char *p = s;

	if (!s || !unix_sec)
		return KP_EINVAL;
	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
	    digits(&p, 2, &d))
		return KP_EINVAL;
	if (*p != 'T' && *p != 't')
		return KP_EINVAL;
	p++;
	if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' ||
	    digits(&p, 2, &sec))
		return KP_EINVAL;
	if (*p == '.') {
		/* The fraction is dropped: kplane timestamps have second precision. */
		if (p[1] < '0' || p[1] > '9')
			return KP_EINVAL;
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 || om > 59)
			return KP_EINVAL;
	} else {
		return KP_EINVAL;
	}
	if (*p)
		return KP_EINVAL;
	/* Go's time.Parse refuses leap seconds too (":60"). */
	if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59)
		return KP_EINVAL;
	if (d > mdays[mo - 1] + (mo == 2 && is_leap(y)))
		return KP_EINVAL;
	*unix_sec = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
		    sign * (oh * 3600 + om * 60);
	return 0;
}

int64_t kp_time_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

uint64_t kp_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- UUIDs ---- */

static int read_urandom(unsigned char *b, size_t n)
{
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	size_t got = 0;

	if (fd < 0)
		return -1;
	while (got < n) {
		ssize_t r = read(fd, b + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	return got == n ? 0 : -1;
}

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void kp_uuid4(char buf[37])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[16];
	ssize_t r;
	char *p = buf;

	do
		r = getrandom(b, sizeof(b), 0);
	while (r < 0 && errno == EINTR);
	if (r != (ssize_t)sizeof(b) && read_urandom(b, sizeof(b)) < 0) {
		/*
		 * No kernel randomness at all (a broken chroot): uids must still
		 * be unique within this process and across restarts, which time,
		 * pid and a counter give; they are just not unpredictable.
		 */
		static uint64_t counter;
		uint64_t seed = kp_mono_ns() ^ ((uint64_t)getpid() << 32) ^
				(uint64_t)kp_time_now() ^ __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
		uint64_t a = splitmix64(&seed), c = splitmix64(&seed);
		memcpy(b, &a, 8);
		memcpy(b + 8, &c, 8);
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hex[b[i] >> 4];
		*p++ = hex[b[i] & 15];
	}
	*p = '\0';
}

/* ---- conditions ---------------------------------------------------------- */

json_t *kp_obj_condition(const json_t *obj, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(kp_obj_get(obj, "status.conditions"), i, c) {
		const char *t = json_string_value(json_object_get(c, "type"));
		if (t && type && !strcmp(t, type))
			return c;
	}
	return NULL;
}

static bool same_str_field(const json_t *a, const json_t *b, const char *key)
{
	const char *x = json_string_value(json_object_get(a, key));
	const char *y = json_string_value(json_object_get(b, key));
	return x == y || (x && y && !strcmp(x, y));
}

int kp_obj_set_condition(json_t *obj, json_t *cond)
{
	const char *type = json_string_value(json_object_get(cond, "type"));
	if (!type) {
		json_decref(cond);
		return KP_EINVAL;
	}
	json_t *conds = kp_obj_get(obj, "status.conditions");
	if (!json_is_array(conds)) {
		conds = json_array();
		if (kp_obj_set(obj, "status.conditions", conds) < 0) {
			json_decref(cond);
			return KP_EINVAL;
		}
	}
	size_t i;
	json_t *c;
	json_array_foreach(conds, i, c) {
		const char *t = json_string_value(json_object_get(c, "type"));
		if (!t || strcmp(t, type))
			continue;
		if (same_str_field(c, cond, "status")) {
			if (same_str_field(c, cond, "reason") && same_str_field(c, cond, "message")) {
				json_decref(cond);
				return 1;
			}
			json_t *ltt = json_object_get(c, "lastTransitionTime");
			if (ltt)
				json_object_set(cond, "lastTransitionTime", ltt);
		}
		json_array_set_new(conds, i, cond);
		return 0;
	}
	json_array_append_new(conds, cond);
	return 0;
}

json_t *kp_condition_new(const char *type, const char *status, const char *reason,
			 const char *message)
{
	char ts[KP_TIME_BUFSZ];
	json_t *c = json_object();
	json_object_set_new(c, "type", json_string(type));
	json_object_set_new(c, "status", json_string(status));
	json_object_set_new(c, "lastProbeTime", json_null());
	json_object_set_new(c, "lastTransitionTime",
			    json_string(kp_time_format(kp_time_now(), ts)));
	if (reason)
		json_object_set_new(c, "reason", json_string(reason));
	if (message)
		json_object_set_new(c, "message", json_string(message));
	return c;
}

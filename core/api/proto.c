/*
 * proto.c - decodes Kubernetes protobuf request bodies
 * (application/vnd.kubernetes.protobuf) for the kinds kubectl's
 * imperative generators send that way and whose messages are small:
 * Namespace, ConfigMap, Secret (kubectl create namespace|configmap|secret).
 *
 * The envelope is "k8s\0" + runtime.Unknown{typeMeta=1{apiVersion=1,
 * kind=2}, raw=2, contentEncoding=3, contentType=4}; raw is the typed
 * message. Field numbers are those of k8s.io/api/core/v1/generated.proto
 * and apimachinery's meta/v1 generated.proto. A field the table does not
 * know makes the whole body KP_ENOTSUP (answered 415 as before), so nothing
 * a client sent is silently dropped. Empty scalars are left out of the JSON,
 * as the omitempty JSON encoding of those fields would.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kplane/kplane.h>

#include "core/api/internal.h"

enum pt { P_STR, P_BYTES, P_INT, P_BOOL, P_MSG, P_MAP_STR, P_MAP_BYTES, P_STRS, P_TIME,
	  P_MSGS };

struct pfield {
	unsigned num;
	const char *name;
	enum pt type;
	const struct pfield *sub; /* P_MSG, P_MSGS */
};

#define PF(...) ((const struct pfield[]){ __VA_ARGS__, { 0, NULL, 0, NULL } })

static const struct pfield owner_ref[] = {
	{ 1, "kind", P_STR, NULL }, { 3, "name", P_STR, NULL }, { 4, "uid", P_STR, NULL },
	{ 5, "apiVersion", P_STR, NULL }, { 6, "controller", P_BOOL, NULL },
	{ 7, "blockOwnerDeletion", P_BOOL, NULL }, { 0, NULL, 0, NULL }
};

static const struct pfield object_meta[] = {
	{ 1, "name", P_STR, NULL }, { 2, "generateName", P_STR, NULL },
	{ 3, "namespace", P_STR, NULL }, { 4, "selfLink", P_STR, NULL },
	{ 5, "uid", P_STR, NULL }, { 6, "resourceVersion", P_STR, NULL },
	{ 7, "generation", P_INT, NULL }, { 8, "creationTimestamp", P_TIME, NULL },
	{ 9, "deletionTimestamp", P_TIME, NULL }, { 10, "deletionGracePeriodSeconds", P_INT, NULL },
	{ 11, "labels", P_MAP_STR, NULL }, { 12, "annotations", P_MAP_STR, NULL },
	{ 13, "ownerReferences", P_MSGS, owner_ref }, { 14, "finalizers", P_STRS, NULL },
	{ 0, NULL, 0, NULL }
};

struct pkind {
	const char *api_version, *kind;
	const struct pfield *fields;
};

static const struct pkind kinds[] = {
	{ "v1", "Namespace",
	  PF({ 1, "metadata", P_MSG, object_meta },
	     { 2, "spec", P_MSG, PF({ 1, "finalizers", P_STRS, NULL }) },
	     { 3, "status", P_MSG, PF({ 1, "phase", P_STR, NULL }) }) },
	{ "v1", "ConfigMap",
	  PF({ 1, "metadata", P_MSG, object_meta }, { 2, "data", P_MAP_STR, NULL },
	     { 3, "binaryData", P_MAP_BYTES, NULL }, { 4, "immutable", P_BOOL, NULL }) },
	{ "v1", "Secret",
	  PF({ 1, "metadata", P_MSG, object_meta }, { 2, "data", P_MAP_BYTES, NULL },
	     { 3, "type", P_STR, NULL }, { 4, "stringData", P_MAP_STR, NULL },
	     { 5, "immutable", P_BOOL, NULL }) },
};

struct rd {
	const unsigned char *p, *end;
};

static int varint(struct rd *r, uint64_t *v)
{
	*v = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (r->p >= r->end)
			return -1;
		unsigned char b = *r->p++;
		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 0;
	}
	return -1;
}

/* Reads one length-delimited payload into *sub. */
static int lenpref(struct rd *r, struct rd *sub)
{
	uint64_t n;
	if (varint(r, &n) || n > (uint64_t)(r->end - r->p))
		return -1;
	sub->p = r->p;
	sub->end = r->p + n;
	r->p += n;
	return 0;
}

static json_t *b64(const unsigned char *p, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	struct kp_buf b = { 0 };
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);
		char q[4] = { tab[v >> 18 & 63], tab[v >> 12 & 63],
			      i + 1 < n ? tab[v >> 6 & 63] : '=', i + 2 < n ? tab[v & 63] : '=' };
		kp__buf_add(&b, q, 4);
	}
	json_t *s = json_stringn(b.p ? b.p : "", b.len);
	kp__buf_release(&b);
	return s;
}

static json_t *str_or_null(struct rd *s)
{
	return json_stringn((const char *)s->p, (size_t)(s->end - s->p));
}

static int decode_msg(struct rd *r, const struct pfield *fields, json_t *out, int depth);

/* map<string, string|bytes> entry {1 key, 2 value} into obj. */
static int map_entry(struct rd *e, json_t *obj, bool bytes)
{
	struct rd k = { NULL, NULL }, v = { NULL, NULL };
	while (e->p < e->end) {
		uint64_t tag;
		struct rd s;
		if (varint(e, &tag) || (tag & 7) != 2 || lenpref(e, &s))
			return -1;
		if (tag >> 3 == 1)
			k = s;
		else if (tag >> 3 == 2)
			v = s;
		else
			return -1;
	}
	if (!k.p)
		return -1;
	json_t *val = bytes ? b64(v.p, v.p ? (size_t)(v.end - v.p) : 0)
			    : (v.p ? str_or_null(&v) : json_string(""));
	char *key = strndup((const char *)k.p, (size_t)(k.end - k.p));
	if (!key || !val || memchr(k.p, 0, (size_t)(k.end - k.p))) {
		free(key);
		json_decref(val);
		return -1;
	}
	json_object_set_new(obj, key, val);
	free(key);
	return 0;
}

static json_t *time_json(struct rd *s)
{
	int64_t secs = 0;
	while (s->p < s->end) {
		uint64_t tag, v;
		if (varint(s, &tag) || (tag & 7) != 0 || varint(s, &v))
			return NULL;
		if (tag >> 3 == 1)
			secs = (int64_t)v;
	}
	time_t t = (time_t)secs;
	struct tm tm;
	char buf[64];
	if (!gmtime_r(&t, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
		return NULL;
	return json_string(buf);
}

static int decode_msg(struct rd *r, const struct pfield *fields, json_t *out, int depth)
{
	if (depth > 8)
		return -1;
	while (r->p < r->end) {
		uint64_t tag;
		if (varint(r, &tag))
			return -1;
		const struct pfield *f = fields;
		while (f->name && f->num != tag >> 3)
			f++;
		if (!f->name)
			return -1; /* a field the table does not know */
		unsigned wt = tag & 7;
		if (f->type == P_INT || f->type == P_BOOL) {
			uint64_t v;
			if (wt != 0 || varint(r, &v))
				return -1;
			if (v)
				json_object_set_new(out, f->name,
						    f->type == P_BOOL ? json_true()
								      : json_integer((json_int_t)v));
			continue;
		}
		struct rd s;
		if (wt != 2 || lenpref(r, &s))
			return -1;
		json_t *v = NULL;
		switch (f->type) {
		case P_STR:
			if (s.p == s.end)
				continue;
			v = str_or_null(&s);
			break;
		case P_BYTES:
			v = b64(s.p, (size_t)(s.end - s.p));
			break;
		case P_TIME:
			v = time_json(&s);
			break;
		case P_MSG:
			v = json_object_get(out, f->name);
			if (v)
				json_incref(v);
			else
				v = json_object();
			if (decode_msg(&s, f->sub, v, depth + 1)) {
				json_decref(v);
				return -1;
			}
			break;
		case P_MSGS:
		case P_STRS: {
			json_t *a = json_object_get(out, f->name);
			if (!a) {
				a = json_array();
				json_object_set_new(out, f->name, a);
			}
			json_t *e;
			if (f->type == P_STRS) {
				e = str_or_null(&s);
			} else {
				e = json_object();
				if (decode_msg(&s, f->sub, e, depth + 1)) {
					json_decref(e);
					return -1;
				}
			}
			if (!e)
				return -1;
			json_array_append_new(a, e);
			continue;
		}
		case P_MAP_STR:
		case P_MAP_BYTES: {
			json_t *m = json_object_get(out, f->name);
			if (!m) {
				m = json_object();
				json_object_set_new(out, f->name, m);
			}
			if (map_entry(&s, m, f->type == P_MAP_BYTES))
				return -1;
			continue;
		}
		default:
			return -1;
		}
		if (!v)
			return -1; /* invalid UTF-8 in a string, or a bad timestamp */
		json_object_set_new(out, f->name, v);
	}
	return 0;
}

int kp__proto_decode(const char *buf, size_t len, json_t **out, char **errmsg)
{
	*out = NULL;
	if (len < 4 || memcmp(buf, "k8s\0", 4))
		return kp_error_set(errmsg, KP_EINVAL, "missing the k8s protobuf envelope");
	struct rd r = { (const unsigned char *)buf + 4, (const unsigned char *)buf + len };
	struct rd tm = { NULL, NULL }, raw = { NULL, NULL };
	while (r.p < r.end) {
		uint64_t tag;
		struct rd s;
		if (varint(&r, &tag) || (tag & 7) != 2 || lenpref(&r, &s))
			return kp_error_set(errmsg, KP_EINVAL, "malformed protobuf envelope");
		if (tag >> 3 == 1)
			tm = s;
		else if (tag >> 3 == 2)
			raw = s;
		else if (tag >> 3 == 3 && s.p != s.end)
			return kp_error_set(errmsg, KP_ENOTSUP, "content encodings are not supported");
	}
	json_t *typemeta = json_object();
	if (!tm.p || decode_msg(&tm, PF({ 1, "apiVersion", P_STR, NULL },
					{ 2, "kind", P_STR, NULL }), typemeta, 0)) {
		json_decref(typemeta);
		return kp_error_set(errmsg, KP_EINVAL, "malformed protobuf type meta");
	}
	const char *av = json_string_value(json_object_get(typemeta, "apiVersion"));
	const char *kind = json_string_value(json_object_get(typemeta, "kind"));
	const struct pkind *k = NULL;
	for (size_t i = 0; av && kind && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kinds[i].api_version, av) && !strcmp(kinds[i].kind, kind))
			k = &kinds[i];
	if (!k || !raw.p) {
		int rc = kp_error_set(errmsg, KP_ENOTSUP, "protobuf bodies of %s %s are not supported",
				      av ? av : "?", kind ? kind : "?");
		json_decref(typemeta);
		return rc;
	}
	if (decode_msg(&raw, k->fields, typemeta, 0)) {
		json_decref(typemeta);
		return kp_error_set(errmsg, KP_ENOTSUP,
				    "the protobuf %s has a field kplane cannot decode", k->kind);
	}
	*out = typemeta;
	return 0;
}

/*
 * rest.c - the verbs: get, list, create, update, patch, delete, and the
 * subresources status, scale, binding, eviction, log and finalize.
 *
 * Stored values are the object's compact JSON without
 * metadata.resourceVersion; the store's mod_rev is spliced in on the way
 * out (kp__splice_rv), so a GET never decodes the object.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <kplane/kplane.h>

#include "core/api/internal.h"
#include "core/api/kinds.h"
#include "core/api/ssa.h"
#include "core/api/schema.h"

#define UPDATE_RETRIES 8
/*
 * How long a resourceVersion newer than the store's is waited for before it
 * is "Too large": a list's revision can run ahead of the store's counter
 * for an instant (kp_store_wait_revision). kube-apiserver waits up to 3 s
 * for its watch cache; kplane's store has no cache to wait for, and the
 * request holds an HTTP thread meanwhile.
 */
#define TOO_LARGE_RV_WAIT_MS 20

bool kp__rest_is_write(const struct kp_req *r)
{
	return r->method == KP_M_POST || r->method == KP_M_PUT || r->method == KP_M_PATCH ||
	       r->method == KP_M_DELETE;
}

/* ---- small helpers ---------------------------------------------------------- */

static bool dry_run(const struct kp_req *r)
{
	return r->q.dry_run && !strcmp(r->q.dry_run, "All");
}

static void key_of(const struct kp_req *r, const char *name, struct kp_buf *k)
{
	kp__registry_key(r->res, r->ns, name, k);
}

/* "Pod" or "Deployment.apps": the qualified kind of Invalid messages. */
static void qualified_kind(const struct kp_resource *res, char *buf, size_t n)
{
	if (*res->group)
		snprintf(buf, n, "%s.%s", res->kind, res->group);
	else
		snprintf(buf, n, "%s", res->kind);
}

static const char *cause_reason(enum kp_field_err_type t)
{
	switch (t) {
	case KP_FIELD_REQUIRED: return "FieldValueRequired";
	case KP_FIELD_NOT_SUPPORTED: return "FieldValueNotSupported";
	case KP_FIELD_DUPLICATE: return "FieldValueDuplicate";
	case KP_FIELD_TOO_LONG: return "FieldValueTooLong";
	case KP_FIELD_FORBIDDEN: return "FieldValueForbidden";
	case KP_FIELD_TYPE_INVALID: return "FieldValueTypeInvalid";
	case KP_FIELD_INVALID:
	default: return "FieldValueInvalid";
	}
}

void kp__reply_invalid(struct kp_req *r, const char *kind, const char *name, const void *el)
{
	const struct kp_errlist *errs = el;
	json_t *causes = json_array();
	for (size_t i = 0; i < errs->n; i++) {
		const struct kp_field_error *e = &errs->v[i];
		char *full = kp_field_error_string(e);
		const char *body = full ? full : "";
		size_t fl = e->field ? strlen(e->field) : 0;
		if (fl && !strncmp(body, e->field, fl) && !strncmp(body + fl, ": ", 2))
			body += fl + 2;
		json_array_append_new(causes, json_pack("{s:s, s:s, s:s}", "reason",
							cause_reason(e->type), "message", body,
							"field", e->field ? e->field : ""));
		free(full);
	}
	char *agg = kp_errlist_string(errs);
	json_t *details = json_object();
	json_object_set_new(details, "name", json_string(name ? name : ""));
	if (r->res && *r->res->group)
		json_object_set_new(details, "group", json_string(r->res->group));
	json_object_set_new(details, "kind", json_string(kind));
	json_object_set_new(details, "causes", causes);
	char qk[160];
	if (r->res)
		qualified_kind(r->res, qk, sizeof(qk));
	else
		snprintf(qk, sizeof(qk), "%s", kind);
	/* kp_errlist_string() brackets several errors as Kubernetes' aggregate does. */
	kp__reply_status(r, 422, "Invalid", details, "%s \"%s\" is invalid: %s", qk,
			 name ? name : "", agg ? agg : "");
	free(agg);
}

static void bad_request(struct kp_req *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bad_request(struct kp_req *r, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	kp__reply_status(r, 400, "BadRequest", NULL, "%s", msg ? msg : "bad request");
	free(msg);
}

static json_t *load_json(struct kp_req *r, json_error_t *je);

static bool ctype_is(const char *ct, const char *want)
{
	size_t n = strlen(want);
	if (strncasecmp(ct, want, n))
		return false;
	return ct[n] == 0 || ct[n] == ';' || ct[n] == ' ';
}

/*
 * Decodes the request body as one JSON object (JSON or YAML by
 * Content-Type). Returns NULL after filling a 400/415 reply.
 */
static json_t *decode_body(struct kp_req *r, bool allow_missing_ctype)
{
	const char *ct = r->content_type;
	bool yaml = false;
	if (ct && *ct) {
		if (ctype_is(ct, "application/json") || ctype_is(ct, "text/json") ||
		    ctype_is(ct, "*/*"))
			yaml = false;
		else if (ctype_is(ct, "application/yaml") || ctype_is(ct, "application/x-yaml") ||
			 ctype_is(ct, "text/yaml"))
			yaml = true;
		else if (ctype_is(ct, "application/vnd.kubernetes.protobuf")) {
			json_t *pv = NULL;
			char *perr = NULL;
			int prc = kp__proto_decode(r->body.p ? r->body.p : "", r->body.len, &pv,
						   &perr);
			if (prc == KP_ENOTSUP)
				kp__reply_status(r, 415, "UnsupportedMediaType", NULL,
						 "the body of the request was in an unknown format - "
						 "accepted media types include: application/json, "
						 "application/yaml (%s)", perr ? perr : "");
			else if (prc)
				bad_request(r, "the body of the request could not be decoded as "
					       "protobuf: %s", perr ? perr : "");
			free(perr);
			return pv;
		} else {
			kp__reply_status(r, 415, "UnsupportedMediaType", NULL,
					 "the body of the request was in an unknown format - "
					 "accepted media types include: application/json, "
					 "application/yaml");
			return NULL;
		}
	} else if (!allow_missing_ctype) {
		yaml = true; /* sniffed below */
	}
	if (r->body.len == 0) {
		bad_request(r, "the request body is empty: a %s object is required",
			    r->res ? r->res->kind : "JSON");
		return NULL;
	}
	json_t *v = NULL;
	if (!yaml) {
		json_error_t je;
		v = load_json(r, &je);
		if (!v) {
			bad_request(r, "the body of the request could not be decoded as JSON: %s "
				       "(line %d, column %d)",
				    je.text, je.line, je.column);
			return NULL;
		}
	} else {
		char *err = NULL;
		if (kp_yaml_or_json_load_one(r->body.p, r->body.len, &v, &err) || !v) {
			bad_request(r, "the body of the request could not be decoded as YAML or "
				       "JSON: %s",
				    err ? err : "empty document");
			free(err);
			return NULL;
		}
	}
	if (!json_is_object(v)) {
		bad_request(r, "the body of the request must be a JSON object, not %s",
			    json_is_array(v) ? "an array" : "a scalar");
		json_decref(v);
		return NULL;
	}
	return v;
}

/*
 * Checks apiVersion/kind against what the URL serves (filling missing
 * ones) and the basic shape of metadata. Returns false after a 400.
 */
static bool check_type_meta(struct kp_req *r, json_t *obj, const char *gv, const char *kind)
{
	json_t *av = json_object_get(obj, "apiVersion");
	json_t *k = json_object_get(obj, "kind");
	if (av && !json_is_string(av) && !json_is_null(av)) {
		bad_request(r, "apiVersion: expected a string");
		return false;
	}
	if (k && !json_is_string(k) && !json_is_null(k)) {
		bad_request(r, "kind: expected a string");
		return false;
	}
	const char *avs = json_is_string(av) ? json_string_value(av) : "";
	const char *ks = json_is_string(k) ? json_string_value(k) : "";
	if (*avs && strcmp(avs, gv)) {
		bad_request(r, "the API version in the data (%s) does not match the expected API "
			       "version (%s)",
			    avs, gv);
		return false;
	}
	if (*ks && strcmp(ks, kind)) {
		bad_request(r, "%s in version \"%s\" cannot be handled as a %s: the kind in the "
			       "data (%s) does not match the expected kind (%s)",
			    ks, *avs ? avs : gv, kind, ks, kind);
		return false;
	}
	json_object_set_new(obj, "apiVersion", json_string(gv));
	json_object_set_new(obj, "kind", json_string(kind));
	json_t *md = json_object_get(obj, "metadata");
	if (!md) {
		md = json_object();
		json_object_set_new(obj, "metadata", md);
	}
	if (!json_is_object(md)) {
		bad_request(r, "%s in version \"%s\" cannot be handled as a %s: metadata: expected "
			       "an object",
			    kind, gv, kind);
		return false;
	}
	char *err = NULL;
	if (kp__kinds_typecheck(r->res, obj, &err)) {
		bad_request(r, "%s in version \"%s\" cannot be handled as a %s: %s", kind, gv,
			    kind, err ? err : "wrong type");
		free(err);
		return false;
	}
	return true;
}

static json_t *details_name(const struct kp_req *r, const char *name)
{
	json_t *d = json_object();
	json_object_set_new(d, "name", json_string(name));
	if (*r->res->group)
		json_object_set_new(d, "group", json_string(r->res->group));
	json_object_set_new(d, "kind", json_string(r->res->plural));
	return d;
}

/*
 * Encodes obj for the store: compact JSON without metadata.resourceVersion;
 * custom resources of several versions are stored at the storage version
 * (conversion strategy None: only apiVersion changes).
 */
static char *encode_store(const struct kp_resource *res, json_t *obj, size_t *len)
{
	json_t *md = json_object_get(obj, "metadata");
	if (md)
		json_object_del(md, "resourceVersion");
	json_t *av = NULL;
	if (res->flags & KP_RES_HPA_V1) {
		json_t *v2 = json_deep_copy(obj);
		kp__hpa_to_v2(v2);
		struct kp_buf b = { 0 };
		kp__buf_add_json(&b, v2);
		json_decref(v2);
		return kp__buf_steal(&b, len);
	}
	if (res->flags & KP_RES_CONVERT) {
		av = json_incref(json_object_get(obj, "apiVersion"));
		json_object_set_new(obj, "apiVersion", json_string(kp__cr_storage_gv(res)));
	}
	struct kp_buf b = { 0 };
	kp__buf_add_json(&b, obj);
	if (av)
		json_object_set_new(obj, "apiVersion", av);
	return kp__buf_steal(&b, len);
}

static bool is_crd_kind(const struct kp_resource *res)
{
	return !res->crd && !strcmp(res->plural, "customresourcedefinitions") &&
	       !strcmp(res->group, "apiextensions.k8s.io");
}

/* A stored object as the request's version sees it (custom resources). */
static void convert_out(const struct kp_resource *res, json_t *obj)
{
	if (res->flags & KP_RES_HPA_V1)
		kp__hpa_to_v1(obj);
	else if (res->flags & KP_RES_CONVERT)
		json_object_set_new(obj, "apiVersion", json_string(res->group_version));
}

/* After a CRD write: serve what it says before answering (the informer catches up). */
static void crd_written(const struct kp_req *r, uint64_t rev)
{
	if (is_crd_kind(r->res))
		kp__crds_wait(r->srv, rev);
}

/* Replies with stored bytes and a revision. */
static void reply_stored(struct kp_req *r, int code, const char *json, size_t len, uint64_t rev)
{
	if (r->res && (r->res->flags & KP_RES_CONVERT)) {
		json_t *o = kp_json_loadb(json, len, 0, NULL);
		if (json_is_object(o)) {
			if (rev)
				kp_obj_set_resource_version(o, rev);
			convert_out(r->res, o);
			kp__reply_json(r, code, o);
			return;
		}
		json_decref(o);
	}
	struct kp_buf b = { 0 };
	if (rev) {
		if (!kp__splice_rv(&b, json, len, rev))
			kp__buf_add(&b, json, len);
	} else {
		kp__buf_add(&b, json, len);
	}
	kp__buf_add(&b, "\n", 1);
	kp__reply_buf(r, code, &b, "application/json");
}

static json_t *parse_stored(const struct kp_kv *kv)
{
	json_t *o = kp_json_loadb(kv->value, kv->len, 0, NULL);
	if (!o || !json_is_object(o)) {
		json_decref(o);
		return NULL;
	}
	kp_obj_set_resource_version(o, kv->mod_rev);
	return o;
}

/*
 * Reads and decodes the object stored at key (new reference, with its
 * resourceVersion; *rev gets the revision when rev is non-NULL). On failure
 * the error reply (404, 500 with what went wrong) is already sent and NULL
 * comes back.
 */
static json_t *load_stored(struct kp_req *r, const char *key, const char *name, uint64_t *rev)
{
	struct kp_kv kv;
	int rc = kp_store_get(r->srv->st, key, &kv);
	if (rc) {
		kp__reply_store_error(r, rc, name);
		return NULL;
	}
	json_t *o = parse_stored(&kv);
	if (o)
		convert_out(r->res, o);
	if (!o)
		kp__reply_status(r, 500, "InternalError", NULL,
				 "Internal error occurred: stored object %s is not a JSON object", key);
	else if (rev)
		*rev = kv.mod_rev;
	kp_kv_release(&kv);
	return o;
}

/* Replies with obj (as a Table if asked); steals obj. */
static void reply_object(struct kp_req *r, int code, json_t *obj)
{
	if (kp__wants_table(r->accept)) {
		json_t *items = json_array();
		json_array_append(items, obj);
		json_t *t = kp__table(r->res, items, r->q.include_object, NULL, NULL);
		json_decref(items);
		json_decref(obj);
		kp__reply_json(r, code, t);
		return;
	}
	kp__reply_json(r, code, obj);
}

/* 404 namespaces "x" not found / 403 terminating. Returns false after replying. */
static bool namespace_usable(struct kp_req *r)
{
	if (!(r->res->flags & KP_RES_NAMESPACED))
		return true;
	char key[320];
	snprintf(key, sizeof(key), "/registry/core/namespaces/%s", r->ns);
	struct kp_kv kv;
	int rc = kp_store_get(r->srv->st, key, &kv);
	if (rc == KP_ENOENT) {
		json_t *d = json_pack("{s:s, s:s}", "name", r->ns, "kind", "namespaces");
		kp__reply_status(r, 404, "NotFound", d, "namespaces \"%s\" not found", r->ns);
		return false;
	}
	if (rc) {
		kp__reply_store_error(r, rc, r->ns);
		return false;
	}
	/* Every namespaced create comes here: decode the namespace only when its
	 * bytes can say it is terminating. */
	bool terminating = false;
	if (memmem(kv.value, kv.len, "deletionTimestamp", 17) ||
	    memmem(kv.value, kv.len, "Terminating", 11)) {
		json_t *ns = kp_json_loadb(kv.value, kv.len, 0, NULL);
		terminating = ns && (kp_obj_str(ns, "metadata.deletionTimestamp") ||
				     (kp_obj_str(ns, "status.phase") &&
				      !strcmp(kp_obj_str(ns, "status.phase"), "Terminating")));
		json_decref(ns);
	}
	kp_kv_release(&kv);
	if (terminating) {
		json_t *d = json_pack("{s:s, s:s, s:[{s:s, s:s, s:s}]}", "name", r->ns, "kind",
				      "namespaces", "causes", "reason", "NamespaceTerminating",
				      "message",
				      "namespace is being terminated", "field",
				      "metadata.namespace");
		kp__reply_status(r, 403, "Forbidden", d,
				 "%s \"%s\" is forbidden: unable to create new content in namespace "
				 "%s because it is being terminated",
				 r->res->qualified, r->name ? r->name : "", r->ns);
		return false;
	}
	return true;
}

/* ---- get / list ------------------------------------------------------------- */

static void do_get(struct kp_req *r)
{
	struct kp_buf k = { 0 };
	key_of(r, r->name, &k);
	if (kp__wants_table(r->accept)) {
		json_t *o = load_stored(r, k.p, r->name, NULL);
		kp__buf_release(&k);
		if (o)
			reply_object(r, 200, o);
		return;
	}
	/* The plain GET sends the stored bytes with the revision spliced in:
	 * no decode/encode on the hot path. */
	struct kp_kv kv;
	int rc = kp_store_get(r->srv->st, k.p, &kv);
	kp__buf_release(&k);
	if (rc) {
		kp__reply_store_error(r, rc, r->name);
		return;
	}
	reply_stored(r, 200, kv.value, kv.len, kv.mod_rev);
	kp_kv_release(&kv);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *base64_encode(const char *s, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	if (!out)
		abort();
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)s[i] << 16;
		if (i + 1 < n)
			v |= (unsigned char)s[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)s[i + 2];
		out[o++] = b64[(v >> 18) & 63];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[o] = 0;
	return out;
}

static char *base64_decode(const char *s, size_t *outlen)
{
	size_t n = strlen(s);
	char *out = malloc(n + 1);
	if (!out)
		abort();
	unsigned v = 0;
	int bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '=')
			break;
		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		const char *p = strchr(b64, c);
		if (!p || !c) {
			free(out);
			return NULL;
		}
		v = (v << 6) | (unsigned)(p - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((v >> bits) & 0xff);
		}
	}
	out[o] = 0;
	*outlen = o;
	return out;
}

/* Kubernetes' continue token: base64(JSON {"v":"meta.k8s.io/v1","rv":N,"start":"rel-key"}). */
static char *make_continue(uint64_t rev, const char *rel_key)
{
	json_t *t = json_pack("{s:s, s:I, s:s}", "v", "meta.k8s.io/v1", "rv", (json_int_t)rev,
			      "start", rel_key);
	char *s = kp_json_dumps(t, NULL);
	json_decref(t);
	char *enc = base64_encode(s, strlen(s));
	free(s);
	return enc;
}

static int parse_continue(const char *tok, uint64_t *rev, char **rel_key)
{
	size_t n;
	char *dec = base64_decode(tok, &n);
	if (!dec)
		return KP_EINVAL;
	json_t *t = kp_json_loadb(dec, n, 0, NULL);
	free(dec);
	if (!t)
		return KP_EINVAL;
	json_t *rv = json_object_get(t, "rv");
	json_t *st = json_object_get(t, "start");
	const char *v = json_string_value(json_object_get(t, "v"));
	int rc = KP_EINVAL;
	if (json_is_integer(rv) && json_integer_value(rv) > 0 && json_is_string(st) && v &&
	    !strcmp(v, "meta.k8s.io/v1")) {
		*rev = (uint64_t)json_integer_value(rv);
		*rel_key = strdup(json_string_value(st));
		rc = 0;
	}
	json_decref(t);
	return rc;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	if (!s || !*s)
		return false;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end || *s == '-')
		return false;
	*out = v;
	return true;
}

struct selectors {
	struct kp_label_selector *ls;
	struct kp_field_selector *fs;
};

static void selectors_release(struct selectors *s)
{
	if (s->ls)
		kp_label_selector_free(s->ls);
	if (s->fs)
		kp_field_selector_free(s->fs);
	s->ls = NULL;
	s->fs = NULL;
}

static bool selectors_parse(struct kp_req *r, struct selectors *s)
{
	char *err = NULL;
	s->ls = NULL;
	s->fs = NULL;
	if (r->q.label_selector && *r->q.label_selector &&
	    kp_label_selector_parse(r->q.label_selector, &s->ls, &err)) {
		bad_request(r, "unable to parse requirement: %s", err ? err : r->q.label_selector);
		free(err);
		return false;
	}
	if (r->q.field_selector && *r->q.field_selector &&
	    kp_field_selector_parse(r->q.field_selector, &s->fs, &err)) {
		bad_request(r, "invalid field selector: %s", err ? err : r->q.field_selector);
		free(err);
		selectors_release(s);
		return false;
	}
	if (s->ls && kp_label_selector_is_everything(s->ls)) {
		kp_label_selector_free(s->ls);
		s->ls = NULL;
	}
	if (s->fs && s->fs->n == 0) {
		kp_field_selector_free(s->fs);
		s->fs = NULL;
	}
	return true;
}

bool kp__selectors_match(const void *ls, const void *fs, const json_t *obj)
{
	if (ls && !kp_label_selector_matches(ls, kp_obj_labels(obj)))
		return false;
	if (fs && !kp_field_selector_matches(fs, obj))
		return false;
	return true;
}

static void do_list(struct kp_req *r)
{
	struct kp_api_server *srv = r->srv;
	struct selectors sel;
	if (!selectors_parse(r, &sel))
		return;
	uint64_t limit = 0;
	if (r->q.limit && *r->q.limit && !parse_u64(r->q.limit, &limit)) {
		bad_request(r, "limit: invalid value \"%s\": must be a non-negative integer",
			    r->q.limit);
		selectors_release(&sel);
		return;
	}
	struct kp_buf prefix = { 0 };
	key_of(r, NULL, &prefix);
	uint64_t at_rev = 0;
	char *start = NULL;
	if (r->q.cont && *r->q.cont) {
		char *rel = NULL;
		if (parse_continue(r->q.cont, &at_rev, &rel)) {
			bad_request(r, "continue key is not valid: the continue token could not be "
				       "decoded");
			goto out;
		}
		if (strstr(rel, "..") || rel[0] == '/') {
			free(rel);
			bad_request(r, "continue key is not valid: invalid start key");
			goto out;
		}
		if (asprintf(&start, "%s%s", prefix.p, rel) < 0)
			abort();
		free(rel);
	} else if (r->q.resource_version && *r->q.resource_version &&
		   strcmp(r->q.resource_version, "0")) {
		uint64_t rv;
		if (!parse_u64(r->q.resource_version, &rv)) {
			bad_request(r, "resourceVersion: Invalid value: \"%s\": must be a "
				       "non-negative integer",
				    r->q.resource_version);
			goto out;
		}
		if (r->q.rv_match && !strcmp(r->q.rv_match, "Exact"))
			at_rev = rv;
		else if (!kp_store_wait_revision(srv->st, rv, TOO_LARGE_RV_WAIT_MS)) {
			kp__reply_status(r, 504, "Timeout", NULL,
					 "Too large resource version: %llu, current: %llu",
					 (unsigned long long)rv,
					 (unsigned long long)kp_store_revision(srv->st));
			goto out;
		}
	}
	bool table = kp__wants_table(r->accept);
	bool convert = r->res->flags & KP_RES_CONVERT;
	bool need_parse = sel.ls || sel.fs || table || convert;
	json_t *titems = table ? json_array() : NULL;
	struct kp_buf items = { 0 };
	size_t count = 0;
	uint64_t list_rev = 0;
	char *next = NULL;
	size_t page = limit ? (size_t)limit : 0;
	if (page && need_parse && page < 256)
		page = 256;
	for (;;) {
		struct kp_kv_list l;
		int rc = kp_store_list(srv->st, prefix.p, at_rev, start, page, &l);
		if (rc == KP_EEXPIRED) {
			if (r->q.cont)
				kp__reply_status(
					r, 410, "Expired", NULL,
					"The provided continue parameter is too old to display a "
					"consistent list result. You can start a new list without the "
					"continue parameter.");
			else
				kp__reply_status(r, 410, "Expired", NULL,
						 "The resourceVersion for the provided list is too "
						 "old.");
			json_decref(titems);
			kp__buf_release(&items);
			goto out;
		}
		if (rc) {
			kp__reply_store_error(r, rc, "");
			json_decref(titems);
			kp__buf_release(&items);
			goto out;
		}
		at_rev = list_rev = l.rev;
		bool full = false;
		for (size_t i = 0; i < l.n; i++) {
			const struct kp_kv *kv = &l.items[i];
			if (limit && count == limit) {
				next = strdup(kv->key);
				full = true;
				break;
			}
			json_t *o = NULL;
			if (need_parse) {
				o = parse_stored(kv);
				if (!o)
					continue;
				if (!kp__selectors_match(sel.ls, sel.fs, o)) {
					json_decref(o);
					continue;
				}
			}
			if (o)
				convert_out(r->res, o);
			if (table) {
				json_array_append_new(titems, o);
			} else if (convert) {
				if (count)
					kp__buf_add(&items, ",", 1);
				kp__buf_add_json(&items, o);
				json_decref(o);
			} else {
				json_decref(o);
				if (count)
					kp__buf_add(&items, ",", 1);
				if (!kp__splice_rv(&items, kv->value, kv->len, kv->mod_rev))
					kp__buf_add(&items, kv->value, kv->len);
			}
			count++;
		}
		if (!full && limit && count == limit && l.more)
			next = strdup(l.next_key), full = true;
		bool more = l.more && !full;
		free(start);
		start = more ? strdup(l.next_key) : NULL;
		kp_kv_list_release(&l);
		if (!more)
			break;
	}
	char rvbuf[32];
	snprintf(rvbuf, sizeof(rvbuf), "%llu", (unsigned long long)list_rev);
	char *cont = next ? make_continue(list_rev, next + prefix.len) : NULL;
	free(next);
	if (table) {
		json_t *t = kp__table(r->res, titems, r->q.include_object, rvbuf, cont);
		json_decref(titems);
		free(cont);
		kp__reply_json(r, 200, t);
		goto out;
	}
	struct kp_buf b = { 0 };
	kp__buf_grow(&b, items.len + 256);
	kp__buf_adds(&b, "{\"kind\":\"");
	kp__buf_adds(&b, r->res->list_kind);
	kp__buf_adds(&b, "\",\"apiVersion\":\"");
	kp__buf_adds(&b, r->res->group_version);
	kp__buf_adds(&b, "\",\"metadata\":{\"resourceVersion\":\"");
	kp__buf_adds(&b, rvbuf);
	kp__buf_adds(&b, "\"");
	if (cont) {
		kp__buf_adds(&b, ",\"continue\":");
		kp__buf_add_json_str(&b, cont);
	}
	kp__buf_adds(&b, "},\"items\":[");
	if (items.len)
		kp__buf_add(&b, items.p, items.len);
	kp__buf_adds(&b, "]}\n");
	kp__buf_release(&items);
	free(cont);
	kp__reply_buf(r, 200, &b, "application/json");
out:
	free(start);
	kp__buf_release(&prefix);
	selectors_release(&sel);
}

/* ---- defaults and validation ----------------------------------------------------- */

/* kp__kinds_default, and crd.c for custom resources and CRDs (st NULL: an update). */
static int kinds_default(const struct kp_resource *res, json_t *obj, struct kp_store *st,
			 char **errmsg)
{
	if (res->crd)
		kp__cr_default(res, obj, st != NULL);
	else if (is_crd_kind(res))
		kp__crd_default(obj, st != NULL);
	else
		return kp__kinds_default(res, obj, st, errmsg);
	return 0;
}

static void kinds_validate(struct kp_req *r, const struct kp_resource *res, const json_t *obj,
			   const json_t *old, struct kp_errlist *errs)
{
	if (res->crd) {
		kp__cr_validate(res, obj, errs);
	} else if (is_crd_kind(res)) {
		kp__crd_validate(obj, old, errs);
		kp__crd_check_names(r->srv, obj, errs);
	} else {
		kp__kinds_validate(res, obj, old, errs);
	}
}

/* ---- fieldValidation --------------------------------------------------------------- */

struct fv_item {
	size_t off;
	const char *what; /* "unknown field", "duplicate field", "json patch unknown field" */
	const char *path;
};

static int fv_cmp_off(const void *a, const void *b)
{
	const struct fv_item *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

static int fv_cmp_path(const void *a, const void *b)
{
	const struct fv_item *x = a, *y = b;
	return strcmp(x->path, y->path);
}

/* Keys of a JSON patch's operations that RFC 6902 does not define ("[0].foo"). */
static void json_patch_unknown(const json_t *ops, struct kp_schema_unknown *u)
{
	size_t i;
	json_t *op;
	json_array_foreach (ops, i, op) {
		const char *k;
		json_t *v;
		json_object_foreach (op, k, v) {
			if (!strcmp(k, "op") || !strcmp(k, "path") || !strcmp(k, "value") ||
			    !strcmp(k, "from"))
				continue;
			if (u->n == u->cap) {
				u->cap = u->cap ? u->cap * 2 : 4;
				u->v = realloc(u->v, u->cap * sizeof(*u->v));
				if (!u->v)
					abort();
			}
			if (asprintf(&u->v[u->n++], "[%zu].%s", i, k) < 0)
				abort();
		}
	}
}

/*
 * fieldValidation=Strict|Warn|Ignore (Warn when absent, as Kubernetes
 * since 1.27): unknown fields of obj (new since old, may be NULL) and keys
 * a JSON body repeats. Kubernetes' order: for creates and updates as the
 * body has them; for patches the patch's own problems first, then the
 * unknown fields of the patched object by path. Strict answers 400 with
 * Kubernetes' "strict decoding error", Warn adds `Warning: 299 - "..."`
 * headers; Warn and Ignore drop the unknown fields. patch_ops (may be
 * NULL) is a JSON patch's operation array. Returns false after replying.
 */
static bool field_validation(struct kp_req *r, json_t *obj, const json_t *old,
			     const json_t *patch_ops)
{
	const char *m = r->q.field_validation;
	if (m && *m && strcmp(m, "Strict") && strcmp(m, "Warn") && strcmp(m, "Ignore")) {
		bad_request(r, "fieldValidation: Unsupported value: \"%s\": supported values: "
			       "\"Ignore\", \"Strict\", \"Warn\"",
			    m);
		return false;
	}
	r->warnings.len = 0;
	bool strict = m && !strcmp(m, "Strict");
	if (m && !strcmp(m, "Ignore")) {
		kp__unknown_fields(r->res, obj, old, NULL, true);
		return true;
	}
	struct kp_schema_unknown unk = { 0 }, dups = { 0 }, ops = { 0 };
	kp__unknown_fields(r->res, obj, old, &unk, !strict);
	if (patch_ops)
		json_patch_unknown(patch_ops, &ops);
	if (!unk.n && !ops.n && !r->dup_keys)
		return true;
	bool patch = r->method == KP_M_PATCH;
	/* Offsets in the body give the document order. */
	json_t *want = json_object(), *dup_off = json_array();
	for (size_t i = 0; i < unk.n; i++)
		json_object_set_new(want, unk.v[i], json_null());
	for (size_t i = 0; i < ops.n; i++)
		json_object_set_new(want, ops.v[i], json_null());
	if (r->body.len)
		kp__json_scan_keys(r->body.p, r->body.len, want, r->dup_keys ? &dups : NULL,
				   dup_off);
	struct fv_item *items = calloc(unk.n + dups.n + ops.n + 1, sizeof(*items));
	if (!items)
		abort();
	size_t n = 0;
	for (size_t i = 0; i < ops.n; i++) {
		json_t *o = json_object_get(want, ops.v[i]);
		items[n++] = (struct fv_item){ (size_t)json_integer_value(o),
					       "json patch unknown field", ops.v[i] };
	}
	for (size_t i = 0; i < dups.n; i++) {
		/* A field both unknown and repeated is reported once, as unknown. */
		if (!patch && json_object_get(want, dups.v[i]))
			continue;
		items[n++] = (struct fv_item){ (size_t)json_integer_value(json_array_get(dup_off, i)),
					       patch_ops ? "json patch duplicate field" :
							   "duplicate field",
					       dups.v[i] };
	}
	size_t nfirst = n;
	for (size_t i = 0; i < unk.n; i++) {
		json_t *o = json_object_get(want, unk.v[i]);
		items[n++] = (struct fv_item){ json_is_integer(o) ? (size_t)json_integer_value(o) :
								    (size_t)-1,
					       "unknown field", unk.v[i] };
	}
	if (patch) {
		qsort(items, nfirst, sizeof(*items), fv_cmp_off);
		qsort(items + nfirst, n - nfirst, sizeof(*items), fv_cmp_path);
	} else {
		qsort(items, n, sizeof(*items), fv_cmp_off);
	}
	bool ok = true;
	if (strict) {
		struct kp_buf msg = { 0 };
		for (size_t i = 0; i < n; i++)
			kp__buf_addf(&msg, "%s%s \"%s\"", i ? ", " : "", items[i].what,
				     items[i].path);
		bad_request(r, "%s in version \"%s\" cannot be handled as a %s: strict decoding "
			       "error: %s",
			    r->res->kind, r->res->version, r->res->kind, msg.p);
		ok = false;
		kp__buf_release(&msg);
	} else {
		for (size_t i = 0; i < n; i++)
			kp__buf_addf(&r->warnings, "299 - \"%s \\\"%s\\\"\"\n", items[i].what,
				     items[i].path);
	}
	free(items);
	json_decref(want);
	json_decref(dup_off);
	kp__schema_unknown_release(&unk);
	kp__schema_unknown_release(&dups);
	kp__schema_unknown_release(&ops);
	return ok;
}

/*
 * Parses JSON; repeated keys are noted in r->dup_keys (for fieldValidation)
 * and the document decoded again with the last value winning, as Go's
 * decoder does. Strict duplicate checking costs nothing on the usual body.
 */
static json_t *load_json(struct kp_req *r, json_error_t *je)
{
	json_t *v = kp_json_loadb(r->body.p, r->body.len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
			       je);
	if (v || !strstr(je->text, "duplicate"))
		return v;
	r->dup_keys = true;
	return kp_json_loadb(r->body.p, r->body.len, JSON_DECODE_ANY, je);
}

/* ---- create -------------------------------------------------------------------- */

static void random_suffix(char out[6])
{
	static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
	char uid[37];
	kp_uuid4(uid);
	unsigned v = 0;
	for (int i = 0; i < 8; i++)
		v = v * 16 + (unsigned)(isdigit((unsigned char)uid[i]) ? uid[i] - '0' :
									 uid[i] - 'a' + 10);
	for (int i = 0; i < 5; i++) {
		out[i] = alphabet[v % (sizeof(alphabet) - 1)];
		v /= (unsigned)(sizeof(alphabet) - 1);
	}
	out[5] = 0;
}

/*
 * Prepares a new object for creation (metadata system fields, defaults,
 * validation). Returns false after replying.
 */
static bool prepare_create(struct kp_req *r, json_t *obj)
{
	const struct kp_resource *res = r->res;
	json_t *md = json_object_get(obj, "metadata");
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	if (res->flags & KP_RES_NAMESPACED) {
		if (ns && *ns && r->ns && strcmp(ns, r->ns)) {
			bad_request(r, "the namespace of the provided object does not match the "
				       "namespace sent on the request");
			return false;
		}
		if (r->ns)
			json_object_set_new(md, "namespace", json_string(r->ns));
	} else {
		json_object_del(md, "namespace");
	}
	const char *name = json_string_value(json_object_get(md, "name"));
	const char *gen = json_string_value(json_object_get(md, "generateName"));
	if ((!name || !*name) && gen && *gen) {
		char sfx[6], buf[300];
		random_suffix(sfx);
		snprintf(buf, sizeof(buf), "%.*s%s", 58, gen, sfx);
		json_object_set_new(md, "name", json_string(buf));
	}
	char uid[37], ts[KP_TIME_BUFSZ];
	kp_uuid4(uid);
	kp_time_format(kp_time_now(), ts);
	json_object_set_new(md, "uid", json_string(uid));
	json_object_set_new(md, "creationTimestamp", json_string(ts));
	json_object_del(md, "resourceVersion");
	json_object_del(md, "deletionTimestamp");
	json_object_del(md, "deletionGracePeriodSeconds");
	json_object_del(md, "selfLink");
	if (res->flags & KP_RES_GENERATION)
		json_object_set_new(md, "generation", json_integer(1));
	else
		json_object_del(md, "generation");
	char *forbidden = NULL;
	if (kinds_default(res, obj, r->srv->st, &forbidden)) {
		kp__reply_status(r, 403, "Forbidden", NULL, "%s \"%s\" is forbidden: %s",
				 res->qualified, kp_obj_name(obj) ? kp_obj_name(obj) : "",
				 forbidden ? forbidden : "admission denied");
		free(forbidden);
		return false;
	}

	struct kp_errlist errs = { 0 };
	kp_validate_object_meta(obj, res->flags & KP_RES_NAMESPACED,
				res->flags & KP_RES_NAME_LABEL, &errs);
	kinds_validate(r, res, obj, NULL, &errs);
	if (errs.n) {
		name = kp_obj_name(obj);
		kp__reply_invalid(r, res->kind, name, &errs);
		kp_errlist_release(&errs);
		return false;
	}
	return true;
}

static void do_create(struct kp_req *r)
{
	if ((r->res->flags & KP_RES_NAMESPACED) && !r->ns) {
		kp__reply_status(r, 404, "NotFound", json_object(),
				 "the server could not find the requested resource: %s are "
				 "namespaced: POST to /namespaces/<ns>/%s",
				 r->res->plural, r->res->plural);
		return;
	}
	if (kp__cr_terminating(r->res)) {
		kp__reply_status(r, 405, "MethodNotAllowed", NULL,
				 "create not allowed while custom resource definition is "
				 "terminating");
		return;
	}
	json_t *obj = decode_body(r, true);
	if (!obj)
		return;
	if (!check_type_meta(r, obj, r->res->group_version, r->res->kind) ||
	    !field_validation(r, obj, NULL, NULL)) {
		json_decref(obj);
		return;
	}
	if (!namespace_usable(r) || !prepare_create(r, obj)) {
		json_decref(obj);
		return;
	}
	if (!kp__ssa_check_options(r, false)) {
		json_decref(obj);
		return;
	}
	kp__ssa_set_update(r, NULL, obj);
	bool generated = !json_string_value(kp_obj_get(obj, "metadata.name")) ||
			 kp_obj_str(obj, "metadata.generateName");
	for (int attempt = 0;; attempt++) {
		const char *name = kp_obj_name(obj);
		if (dry_run(r)) {
			kp__reply_json(r, 201, obj);
			return;
		}
		struct kp_buf k = { 0 };
		key_of(r, name, &k);
		size_t len;
		char *s = encode_store(r->res, obj, &len);
		uint64_t rev = 0;
		int rc = kp_store_create(r->srv->st, k.p, s, len, &rev);
		kp__buf_release(&k);
		if (rc == KP_EEXIST && generated && attempt < 3 &&
		    kp_obj_str(obj, "metadata.generateName")) {
			free(s);
			char sfx[6], buf[300];
			random_suffix(sfx);
			snprintf(buf, sizeof(buf), "%.*s%s", 58,
				 kp_obj_str(obj, "metadata.generateName"), sfx);
			kp_obj_set_str(obj, "metadata.name", buf);
			continue;
		}
		if (rc) {
			free(s);
			kp__reply_store_error(r, rc, name);
			json_decref(obj);
			return;
		}
		crd_written(r, rev);
		if (kp__wants_table(r->accept)) {
			free(s);
			kp_obj_set_resource_version(obj, rev);
			reply_object(r, 201, obj);
			return;
		}
		json_decref(obj);
		reply_stored(r, 201, s, len, rev);
		free(s);
		return;
	}
}

/* ---- update machinery ---------------------------------------------------------- */

/* UPD_SYSTEM: server-internal changes (binding) that may touch spec and status. */
enum update_mode { UPD_MAIN, UPD_STATUS, UPD_FINALIZE, UPD_SYSTEM };

/*
 * Produces the desired object from the current one (cur, owned by the
 * caller; may be modified). Returns a new object, or NULL after replying.
 */
typedef json_t *(*mutate_fn)(struct kp_req *r, json_t *cur, void *ctx);

static void copy_field(json_t *dst, const json_t *src, const char *key)
{
	json_t *v = json_object_get(src, key);
	if (v)
		json_object_set_new(dst, key, json_deep_copy(v));
	else
		json_object_del(dst, key);
}

/*
 * Carries the fields a client cannot change through this endpoint from old
 * into obj (in place).
 */
static void carry_system_fields(const struct kp_resource *res, const json_t *old, json_t *obj,
				enum update_mode mode)
{
	json_t *nmd = json_object_get(obj, "metadata");
	const json_t *omd = json_object_get(old, "metadata");
	static const char *const keep[] = { "uid", "creationTimestamp", "deletionTimestamp",
					    "deletionGracePeriodSeconds", "namespace", "name",
					    "generation", "selfLink" };
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		copy_field(nmd, omd, keep[i]);
	json_object_del(nmd, "managedFields");
	if (mode == UPD_STATUS) {
		/* /status changes status (and metadata labels/annotations), nothing else. */
		json_t *status = json_incref(json_object_get(obj, "status"));
		json_t *labels = json_incref(json_object_get(nmd, "labels"));
		json_t *ann = json_incref(json_object_get(nmd, "annotations"));
		json_t *rv = json_incref(json_object_get(nmd, "resourceVersion"));
		json_object_clear(obj);
		json_object_update(obj, (json_t *)old);
		json_object_set_new(obj, "metadata", json_deep_copy(omd));
		nmd = json_object_get(obj, "metadata");
		if (labels)
			json_object_set_new(nmd, "labels", labels);
		if (ann)
			json_object_set_new(nmd, "annotations", ann);
		if (rv)
			json_object_set_new(nmd, "resourceVersion", rv);
		else
			json_object_del(nmd, "resourceVersion");
		if (status)
			json_object_set_new(obj, "status", status);
		else
			json_object_del(obj, "status");
	} else if (mode == UPD_FINALIZE) {
		json_t *fin = json_incref(kp_obj_get(obj, "spec.finalizers"));
		json_t *rv = json_incref(json_object_get(nmd, "resourceVersion"));
		json_object_clear(obj);
		json_object_update(obj, (json_t *)old);
		json_object_set_new(obj, "metadata", json_deep_copy(omd));
		nmd = json_object_get(obj, "metadata");
		if (rv)
			json_object_set_new(nmd, "resourceVersion", rv);
		else
			json_object_del(nmd, "resourceVersion");
		json_t *spec = json_object_get(obj, "spec");
		if (!json_is_object(spec)) {
			spec = json_object();
			json_object_set_new(obj, "spec", spec);
		} else {
			spec = json_deep_copy(spec);
			json_object_set_new(obj, "spec", spec);
		}
		if (fin)
			json_object_set_new(spec, "finalizers", fin);
		else
			json_object_del(spec, "finalizers");
	} else if (mode == UPD_MAIN && (res->flags & KP_RES_STATUS)) {
		copy_field(obj, old, "status");
	}
	if (res->flags & KP_RES_GENERATION) {
		json_int_t g = json_integer_value(json_object_get(omd, "generation"));
		if (g <= 0)
			g = 1;
		if (res->crd ? kp__cr_generation_changed(res, old, obj) :
			       !json_equal(json_object_get(obj, "spec"),
					   json_object_get((json_t *)old, "spec")))
			g++;
		json_object_set_new(nmd, "generation", json_integer(g));
	}
}

static bool finalizers_empty(const json_t *obj)
{
	json_t *f = kp_obj_get(obj, "metadata.finalizers");
	return !f || !json_is_array(f) || json_array_size(f) == 0;
}

/* Namespaces wait for spec.finalizers too (the namespace controller clears them). */
static bool can_vanish(const struct kp_resource *res, const json_t *obj)
{
	if (!finalizers_empty(obj))
		return false;
	if (res->flags & KP_RES_NS_FINALIZE) {
		json_t *f = kp_obj_get(obj, "spec.finalizers");
		if (f && json_is_array(f) && json_array_size(f))
			return false;
	}
	return true;
}

/*
 * The read-modify-write loop behind PUT, PATCH and the subresources. The
 * client's metadata.resourceVersion, when given, is a precondition (409 on
 * mismatch); otherwise conflicts with concurrent writers are retried.
 */
static void update_loop(struct kp_req *r, const char *name, enum update_mode mode, mutate_fn fn,
			void *ctx, int ok_code, json_t *const *applied)
{
	struct kp_buf k = { 0 };
	key_of(r, name, &k);
	for (int attempt = 0; attempt < UPDATE_RETRIES; attempt++) {
		int rc;
		uint64_t cur_rev = 0;
		json_t *old = load_stored(r, k.p, name, &cur_rev);
		if (!old)
			goto out;
		json_t *work = json_deep_copy(old);
		json_t *obj = fn(r, work, ctx);
		json_decref(work);
		if (!obj) {
			json_decref(old);
			goto out;
		}
		if (!json_is_object(obj)) {
			bad_request(r, "the result is not a JSON object");
			json_decref(obj);
			json_decref(old);
			goto out;
		}
		if (!check_type_meta(r, obj, r->res->group_version, r->res->kind) ||
		    !field_validation(r, obj, old, r->json_patch_ops)) {
			json_decref(obj);
			json_decref(old);
			goto out;
		}
		const char *oname = kp_obj_name(obj);
		if (oname && *oname && strcmp(oname, name)) {
			bad_request(r, "the name of the object (%s) does not match the name on the "
				       "URL (%s)",
				    oname, name);
			json_decref(obj);
			json_decref(old);
			goto out;
		}
		const char *ons = kp_obj_namespace(obj);
		if ((r->res->flags & KP_RES_NAMESPACED) && ons && *ons && r->ns &&
		    strcmp(ons, r->ns)) {
			bad_request(r, "the namespace of the provided object does not match the "
				       "namespace sent on the request");
			json_decref(obj);
			json_decref(old);
			goto out;
		}
		const char *crv = kp_obj_str(obj, "metadata.resourceVersion");
		bool precondition = crv && *crv;
		if (precondition) {
			uint64_t want;
			if (!parse_u64(crv, &want)) {
				bad_request(r, "metadata.resourceVersion: Invalid value: \"%s\": must "
					       "be a decimal revision",
					    crv);
				json_decref(obj);
				json_decref(old);
				goto out;
			}
			if (want != cur_rev) {
				kp__reply_store_error(r, KP_ECONFLICT, name);
				json_decref(obj);
				json_decref(old);
				goto out;
			}
		}
		carry_system_fields(r->res, old, obj, mode);
		kp_obj_set_resource_version(obj, cur_rev);
		if (mode == UPD_MAIN)
			kinds_default(r->res, obj, NULL, NULL);
		else if (mode == UPD_STATUS && r->res->crd)
			kp__cr_default(r->res, obj, false);
		else if (mode == UPD_STATUS) /* custom resources keep their strings */
			kp__kinds_norm_status_times(obj);
		/*
		 * managedFields: an apply computed them (applied); other writes own
		 * what they changed; bindings are the server's and leave them be.
		 */
		json_t *nmd = json_object_get(obj, "metadata");
		if (mode == UPD_SYSTEM)
			copy_field(nmd, json_object_get(old, "metadata"), "managedFields");
		else if (applied && *applied)
			json_object_set(nmd, "managedFields", *applied);
		else if (applied)
			json_object_del(nmd, "managedFields");
		else
			kp__ssa_set_update(r, old, obj);
		if (json_equal(obj, old)) {
			/* Nothing changed: Kubernetes does not write (no new revision). */
			json_decref(old);
			reply_object(r, ok_code, obj);
			goto out;
		}
		struct kp_errlist errs = { 0 };
		kp_validate_object_meta(obj, r->res->flags & KP_RES_NAMESPACED,
					r->res->flags & KP_RES_NAME_LABEL, &errs);
		kinds_validate(r, r->res, obj, old, &errs);
		json_decref(old);
		if (errs.n) {
			kp__reply_invalid(r, r->res->kind, name, &errs);
			kp_errlist_release(&errs);
			json_decref(obj);
			goto out;
		}
		if (dry_run(r)) {
			reply_object(r, ok_code, obj);
			goto out;
		}
		uint64_t rev = 0;
		if (kp_obj_str(obj, "metadata.deletionTimestamp") && can_vanish(r->res, obj)) {
			rc = kp_store_delete(r->srv->st, k.p, cur_rev, &rev, NULL);
		} else {
			size_t len;
			char *s = encode_store(r->res, obj, &len);
			rc = kp_store_update(r->srv->st, k.p, s, len, cur_rev, &rev);
			free(s);
		}
		if (rc == KP_ECONFLICT && !precondition) {
			json_decref(obj);
			continue;
		}
		if (rc) {
			kp__reply_store_error(r, rc, name);
			json_decref(obj);
			goto out;
		}
		crd_written(r, rev);
		kp_obj_set_resource_version(obj, rev);
		reply_object(r, ok_code, obj);
		goto out;
	}
	kp__reply_store_error(r, KP_ECONFLICT, name);
out:
	kp__buf_release(&k);
}

static json_t *mutate_replace(struct kp_req *r, json_t *cur, void *ctx)
{
	return json_incref(ctx);
}

static void do_update(struct kp_req *r, enum update_mode mode)
{
	json_t *obj = decode_body(r, true);
	if (!obj)
		return;
	if (kp__ssa_check_options(r, false))
		update_loop(r, r->name, mode, mutate_replace, obj, 200, NULL);
	json_decref(obj);
}

/* ---- patch ---------------------------------------------------------------------- */

enum patch_type { PATCH_JSON, PATCH_MERGE, PATCH_STRATEGIC, PATCH_APPLY };

struct patch_ctx {
	enum patch_type type;
	json_t *patch;
	json_t *managed; /* apply: the managedFields it computed (owned) */
};

static json_t *apply_patch(struct kp_req *r, const json_t *cur, struct patch_ctx *pc)
{
	char *err = NULL;
	json_t *doc;
	switch (pc->type) {
	case PATCH_JSON:
		doc = json_deep_copy(cur);
		if (kp__json_patch(doc, pc->patch, &err)) {
			json_decref(doc);
			kp__reply_status(r, 422, "Invalid", NULL,
					 "the server rejected our request due to an error in our "
					 "request: %s",
					 err ? err : "json patch failed");
			free(err);
			return NULL;
		}
		return doc;
	case PATCH_MERGE:
		return kp__merge_patch(cur, pc->patch);
	case PATCH_APPLY:
		json_decref(pc->managed);
		pc->managed = NULL;
		return kp__ssa_apply_req(r, cur, pc->patch, &pc->managed);
	case PATCH_STRATEGIC:
	default:
		doc = json_deep_copy(cur);
		if (kp__strategic_merge_patch(doc, pc->patch, &err)) {
			json_decref(doc);
			bad_request(r, "%s", err ? err : "strategic merge patch failed");
			free(err);
			return NULL;
		}
		return doc;
	}
}

static json_t *mutate_patch(struct kp_req *r, json_t *cur, void *ctx)
{
	json_t *rv = json_incref(kp_obj_get(cur, "metadata.resourceVersion"));
	/* The current revision is not a precondition unless the patch sets one. */
	kp_obj_del(cur, "metadata.resourceVersion");
	json_t *doc = apply_patch(r, cur, ctx);
	json_decref(rv);
	return doc;
}

static bool patch_type_of(struct kp_req *r, enum patch_type *t)
{
	const char *ct = r->content_type ? r->content_type : "";
	if (ctype_is(ct, "application/json-patch+json"))
		*t = PATCH_JSON;
	else if (ctype_is(ct, "application/merge-patch+json"))
		*t = PATCH_MERGE;
	else if (ctype_is(ct, "application/strategic-merge-patch+json") && !r->res->crd)
		*t = PATCH_STRATEGIC;
	else if (ctype_is(ct, "application/apply-patch+yaml") ||
		 ctype_is(ct, "application/apply-patch+cbor"))
		*t = PATCH_APPLY;
	else if (r->res->crd) {
		/* Custom resources have no patch strategies: Kubernetes refuses SMP. */
		kp__reply_status(r, 415, "UnsupportedMediaType", NULL,
				 "the body of the request was in an unknown format - accepted "
				 "media types include: application/json-patch+json, "
				 "application/merge-patch+json, application/apply-patch+yaml");
		return false;
	} else {
		kp__reply_status(r, 415, "UnsupportedMediaType", NULL,
				 "the body of the request was in an unknown format - accepted "
				 "media types include: application/json-patch+json, "
				 "application/merge-patch+json, "
				 "application/strategic-merge-patch+json, "
				 "application/apply-patch+yaml");
		return false;
	}
	return true;
}

static json_t *decode_patch(struct kp_req *r, enum patch_type t)
{
	if (r->body.len == 0) {
		bad_request(r, "the patch body is empty");
		return NULL;
	}
	json_t *v = NULL;
	char *err = NULL;
	if (t == PATCH_APPLY) {
		if (kp_yaml_or_json_load_one(r->body.p, r->body.len, &v, &err) || !v) {
			bad_request(r, "error decoding YAML: %s", err ? err : "empty document");
			free(err);
			return NULL;
		}
	} else {
		json_error_t je;
		v = load_json(r, &je);
		if (!v) {
			bad_request(r, "the patch could not be decoded as JSON: %s (line %d, "
				       "column %d)",
				    je.text, je.line, je.column);
			return NULL;
		}
	}
	if (t == PATCH_JSON ? !json_is_array(v) : !json_is_object(v)) {
		bad_request(r, t == PATCH_JSON ?
				       "json patch must be a JSON array of operations" :
				       "the patch must be a JSON object");
		json_decref(v);
		return NULL;
	}
	return v;
}

static void do_patch(struct kp_req *r, enum update_mode mode)
{
	enum patch_type t;
	if (!patch_type_of(r, &t) || !kp__ssa_check_options(r, t == PATCH_APPLY))
		return;
	json_t *p = decode_patch(r, t);
	if (!p)
		return;
	struct patch_ctx pc = { t, p, NULL };
	if (t == PATCH_APPLY && mode == UPD_MAIN) {
		/* Server-side apply creates a missing object. */
		struct kp_buf k = { 0 };
		key_of(r, r->name, &k);
		struct kp_kv kv;
		int rc = kp_store_get(r->srv->st, k.p, &kv);
		kp__buf_release(&k);
		if (rc == 0) {
			kp_kv_release(&kv);
		} else if (rc == KP_ENOENT) {
			json_t *obj = kp__ssa_apply_create(r, p);
			json_decref(p);
			if (!obj)
				return;
			if (kp__cr_terminating(r->res)) {
				kp__reply_status(r, 405, "MethodNotAllowed", NULL,
						 "create not allowed while custom resource "
						 "definition is terminating");
				json_decref(obj);
				return;
			}
			if (!check_type_meta(r, obj, r->res->group_version, r->res->kind) ||
			    !field_validation(r, obj, NULL, NULL)) {
				json_decref(obj);
				return;
			}
			const char *n = kp_obj_name(obj);
			if (n && strcmp(n, r->name)) {
				bad_request(r, "the name of the object (%s) does not match the name "
					       "on the URL (%s)",
					    n, r->name);
				json_decref(obj);
				return;
			}
			kp_obj_set_str(obj, "metadata.name", r->name);
			if (!namespace_usable(r) || !prepare_create(r, obj)) {
				json_decref(obj);
				return;
			}
			if (dry_run(r)) {
				kp__reply_json(r, 201, obj);
				return;
			}
			size_t len;
			char *s = encode_store(r->res, obj, &len);
			uint64_t rev;
			key_of(r, r->name, &k);
			rc = kp_store_create(r->srv->st, k.p, s, len, &rev);
			kp__buf_release(&k);
			json_decref(obj);
			if (rc) {
				kp__reply_store_error(r, rc, r->name);
			} else {
				crd_written(r, rev);
				reply_stored(r, 201, s, len, rev);
			}
			free(s);
			return;
		}
	}
	if (t == PATCH_JSON)
		r->json_patch_ops = p;
	update_loop(r, r->name, mode, mutate_patch, &pc, 200,
		    t == PATCH_APPLY ? &pc.managed : NULL);
	r->json_patch_ops = NULL;
	json_decref(pc.managed);
	json_decref(p);
}

/* ---- scale ---------------------------------------------------------------------- */

static json_t *scale_of(const struct kp_resource *res, const json_t *obj)
{
	json_t *md = json_object_get(obj, "metadata");
	json_t *smd = json_object();
	static const char *const keys[] = { "name", "namespace", "uid", "resourceVersion",
					    "creationTimestamp" };
	for (size_t i = 0; i < 5; i++) {
		json_t *v = json_object_get(md, keys[i]);
		if (v)
			json_object_set_new(smd, keys[i], json_deep_copy(v));
	}
	const char *spath, *stpath, *selpath;
	kp__cr_scale_paths(res, &spath, &stpath, &selpath);
	json_int_t replicas = json_integer_value(kp_obj_get(obj, spath));
	json_int_t sreplicas = json_integer_value(kp_obj_get(obj, stpath));
	json_t *status = json_pack("{s:I}", "replicas", sreplicas);
	struct kp_label_selector *ls = NULL;
	json_t *sel = res->crd ? NULL : kp_obj_get(obj, "spec.selector");
	const char *crsel = res->crd && selpath ? kp_obj_str(obj, selpath) : NULL;
	if (crsel)
		json_object_set_new(status, "selector", json_string(crsel));
	if (sel && kp_label_selector_from_json(sel, &ls, NULL) == 0) {
		char *s = kp_label_selector_string(ls);
		if (s && *s)
			json_object_set_new(status, "selector", json_string(s));
		free(s);
		kp_label_selector_free(ls);
	}
	return json_pack("{s:s, s:s, s:o, s:{s:I}, s:o}", "kind", "Scale", "apiVersion",
			 "autoscaling/v1", "metadata", smd, "spec", "replicas", replicas,
			 "status", status);
}

static void do_scale_get(struct kp_req *r)
{
	struct kp_buf k = { 0 };
	key_of(r, r->name, &k);
	json_t *o = load_stored(r, k.p, r->name, NULL);
	kp__buf_release(&k);
	if (!o)
		return;
	kp__reply_json(r, 200, scale_of(r->res, o));
	json_decref(o);
}

struct scale_ctx {
	json_t *scale;           /* PUT body */
	struct patch_ctx *patch; /* or a patch of the Scale */
};

static json_t *mutate_scale(struct kp_req *r, json_t *cur, void *ctx)
{
	struct scale_ctx *sc = ctx;
	json_t *scale;
	if (sc->patch) {
		json_t *s0 = scale_of(r->res, cur);
		kp_obj_del(s0, "metadata.resourceVersion");
		scale = apply_patch(r, s0, sc->patch);
		json_decref(s0);
		if (!scale)
			return NULL;
	} else {
		scale = json_incref(sc->scale);
	}
	const char *k = kp_obj_kind(scale);
	if (k && *k && strcmp(k, "Scale")) {
		bad_request(r, "the kind in the data (%s) does not match the expected kind (Scale)",
			    k);
		json_decref(scale);
		return NULL;
	}
	json_t *rep = kp_obj_get(scale, "spec.replicas");
	if (rep && !json_is_integer(rep)) {
		bad_request(r, "Scale in version \"autoscaling/v1\" cannot be handled as a Scale: "
			       "spec.replicas: expected an integer");
		json_decref(scale);
		return NULL;
	}
	json_int_t n = rep ? json_integer_value(rep) : 0;
	if (n < 0) {
		struct kp_errlist errs = { 0 };
		kp_errlist_add(&errs, KP_FIELD_INVALID, "spec.replicas", NULL,
			       "must be greater than or equal to 0");
		char buf[32];
		snprintf(buf, sizeof(buf), "%lld", (long long)n);
		free(errs.v[0].value);
		errs.v[0].value = strdup(buf);
		kp__reply_invalid(r, "Scale", r->name, &errs);
		kp_errlist_release(&errs);
		json_decref(scale);
		return NULL;
	}
	json_t *obj = json_deep_copy(cur);
	const char *spath, *stpath, *selpath;
	kp__cr_scale_paths(r->res, &spath, &stpath, &selpath);
	kp_obj_set(obj, spath, json_integer(n));
	const char *rv = kp_obj_str(scale, "metadata.resourceVersion");
	if (rv && *rv)
		kp_obj_set_str(obj, "metadata.resourceVersion", rv);
	else
		kp_obj_del(obj, "metadata.resourceVersion");
	json_decref(scale);
	return obj;
}

static void do_scale_write(struct kp_req *r)
{
	struct scale_ctx sc = { 0 };
	struct patch_ctx pc;
	if (r->method == KP_M_PATCH) {
		if (!patch_type_of(r, &pc.type))
			return;
		if (!(pc.patch = decode_patch(r, pc.type)))
			return;
		sc.patch = &pc;
	} else {
		if (!(sc.scale = decode_body(r, true)))
			return;
	}
	/* Reply with the Scale, not the object. */
	bool table = false;
	(void)table;
	update_loop(r, r->name, UPD_MAIN, mutate_scale, &sc, 200, NULL);
	if (r->code == 200 && r->reply) {
		json_t *o = kp_json_loadb(r->reply, r->reply_len, 0, NULL);
		if (o) {
			kp__reply_json(r, 200, scale_of(r->res, o));
			json_decref(o);
		}
	}
	json_decref(sc.scale);
	if (sc.patch)
		json_decref(pc.patch);
}

/* ---- delete ---------------------------------------------------------------------- */

struct delete_opts {
	char *propagation; /* owned or NULL */
	char *pre_uid, *pre_rv;
	bool dry;
};

static bool parse_delete_opts(struct kp_req *r, struct delete_opts *d)
{
	memset(d, 0, sizeof(*d));
	if (r->q.propagation_policy)
		d->propagation = strdup(r->q.propagation_policy);
	d->dry = dry_run(r);
	if (r->body.len) {
		json_error_t je;
		json_t *o = kp_json_loadb(r->body.p, r->body.len, 0, &je);
		if (!o || !json_is_object(o)) {
			bad_request(r, "DeleteOptions could not be decoded: %s",
				    o ? "not an object" : je.text);
			json_decref(o);
			return false;
		}
		const char *p = json_string_value(json_object_get(o, "propagationPolicy"));
		if (p) {
			free(d->propagation);
			d->propagation = strdup(p);
		}
		if (json_is_true(json_object_get(o, "orphanDependents")) && !d->propagation)
			d->propagation = strdup("Orphan");
		const char *u = kp_obj_str(o, "preconditions.uid");
		const char *v = kp_obj_str(o, "preconditions.resourceVersion");
		if (u)
			d->pre_uid = strdup(u);
		if (v)
			d->pre_rv = strdup(v);
		json_t *dr = json_object_get(o, "dryRun");
		if (json_is_array(dr) && json_array_size(dr) &&
		    !strcmp(json_string_value(json_array_get(dr, 0)) ?: "", "All"))
			d->dry = true;
		json_decref(o);
	}
	if (d->propagation && strcmp(d->propagation, "Orphan") &&
	    strcmp(d->propagation, "Background") && strcmp(d->propagation, "Foreground")) {
		struct kp_errlist errs = { 0 };
		kp_errlist_add(&errs, KP_FIELD_NOT_SUPPORTED, "propagationPolicy", NULL,
			       "supported values: \"Background\", \"Foreground\", \"Orphan\"");
		kp__reply_invalid(r, "DeleteOptions", "", &errs);
		kp_errlist_release(&errs);
		return false;
	}
	return true;
}

static void delete_opts_release(struct delete_opts *d)
{
	free(d->propagation);
	free(d->pre_uid);
	free(d->pre_rv);
}

static void add_finalizer(json_t *obj, const char *f)
{
	json_t *md = json_object_get(obj, "metadata");
	json_t *a = json_object_get(md, "finalizers");
	if (!json_is_array(a)) {
		a = json_array();
		json_object_set_new(md, "finalizers", a);
	}
	size_t i;
	json_t *v;
	json_array_foreach (a, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), f))
			return;
	json_array_append_new(a, json_string(f));
}

/*
 * Deletes one object. Returns 0 and sets *result (new ref: the deleted or
 * deletion-marked object) or fills an error reply and returns -1.
 */
static int delete_one(struct kp_req *r, const char *name, struct delete_opts *d, json_t **result)
{
	struct kp_buf k = { 0 };
	key_of(r, name, &k);
	int ret = -1;
	for (int attempt = 0; attempt < UPDATE_RETRIES; attempt++) {
		int rc;
		uint64_t cur_rev = 0;
		json_t *obj = load_stored(r, k.p, name, &cur_rev);
		if (!obj)
			goto out;
		const char *uid = kp_obj_uid(obj);
		if (d->pre_uid && strcmp(d->pre_uid, uid ? uid : "")) {
			kp__reply_status(r, 409, "Conflict", details_name(r, name),
					 "Operation cannot be fulfilled on %s \"%s\": Precondition "
					 "failed: UID in precondition: %s, UID in object meta: %s",
					 r->res->qualified, name, d->pre_uid, uid ? uid : "");
			json_decref(obj);
			goto out;
		}
		if (d->pre_rv) {
			uint64_t want = 0;
			if (!parse_u64(d->pre_rv, &want) || want != cur_rev) {
				kp__reply_status(r, 409, "Conflict", details_name(r, name),
						 "Operation cannot be fulfilled on %s \"%s\": "
						 "Precondition failed: ResourceVersion in "
						 "precondition: %s, ResourceVersion in object meta: "
						 "%llu",
						 r->res->qualified, name, d->pre_rv,
						 (unsigned long long)cur_rev);
				json_decref(obj);
				goto out;
			}
		}
		bool graceful = false;
		if (d->propagation && !strcmp(d->propagation, "Foreground")) {
			add_finalizer(obj, "foregroundDeletion");
			graceful = true;
		} else if (d->propagation && !strcmp(d->propagation, "Orphan")) {
			add_finalizer(obj, "orphan");
			graceful = true;
		}
		if (r->res->flags & KP_RES_NS_FINALIZE) {
			if (!kp_obj_get(obj, "status") || !json_is_object(kp_obj_get(obj, "status")))
				kp_obj_set(obj, "status", json_object());
			kp_obj_set_str(obj, "status.phase", "Terminating");
		}
		if (is_crd_kind(r->res)) {
			/* crd.c's informer deletes the custom resources, then the CRD. */
			add_finalizer(obj, "customresourcecleanup.apiextensions.k8s.io");
			graceful = true;
		}
		if (!can_vanish(r->res, obj))
			graceful = true;
		if (graceful) {
			if (kp_obj_str(obj, "metadata.deletionTimestamp") && !d->propagation &&
			    !(r->res->flags & KP_RES_NS_FINALIZE)) {
				/* Already being deleted: nothing to do. */
				*result = obj;
				ret = 0;
				goto out;
			}
			if (!kp_obj_str(obj, "metadata.deletionTimestamp")) {
				char ts[KP_TIME_BUFSZ];
				kp_obj_set_str(obj, "metadata.deletionTimestamp",
					       kp_time_format(kp_time_now(), ts));
				kp_obj_set(obj, "metadata.deletionGracePeriodSeconds",
					   json_integer(0));
			}
			if (d->dry) {
				*result = obj;
				ret = 0;
				goto out;
			}
			size_t len;
			char *s = encode_store(r->res, obj, &len);
			uint64_t rev;
			rc = kp_store_update(r->srv->st, k.p, s, len, cur_rev, &rev);
			free(s);
			if (rc == KP_ECONFLICT && !d->pre_rv) {
				json_decref(obj);
				continue;
			}
			if (rc) {
				kp__reply_store_error(r, rc, name);
				json_decref(obj);
				goto out;
			}
			crd_written(r, rev);
			kp_obj_set_resource_version(obj, rev);
			*result = obj;
			ret = 0;
			goto out;
		}
		if (d->dry) {
			*result = obj;
			ret = 0;
			goto out;
		}
		uint64_t rev;
		rc = kp_store_delete(r->srv->st, k.p, cur_rev, &rev, NULL);
		if (rc == KP_ECONFLICT && !d->pre_rv) {
			json_decref(obj);
			continue;
		}
		if (rc) {
			kp__reply_store_error(r, rc, name);
			json_decref(obj);
			goto out;
		}
		*result = obj;
		ret = 0;
		goto out;
	}
	kp__reply_store_error(r, KP_ECONFLICT, name);
out:
	kp__buf_release(&k);
	return ret;
}

static void do_delete(struct kp_req *r)
{
	struct delete_opts d;
	if (!parse_delete_opts(r, &d))
		return;
	json_t *obj = NULL;
	if (delete_one(r, r->name, &d, &obj) == 0)
		reply_object(r, 200, obj);
	delete_opts_release(&d);
}

static void do_delete_collection(struct kp_req *r)
{
	struct delete_opts d;
	if (!parse_delete_opts(r, &d))
		return;
	struct selectors sel;
	if (!selectors_parse(r, &sel)) {
		delete_opts_release(&d);
		return;
	}
	struct kp_buf prefix = { 0 };
	key_of(r, NULL, &prefix);
	struct kp_kv_list l;
	int rc = kp_store_list(r->srv->st, prefix.p, 0, NULL, 0, &l);
	if (rc) {
		kp__reply_store_error(r, rc, "");
		goto out;
	}
	json_t *items = json_array();
	for (size_t i = 0; i < l.n; i++) {
		json_t *o = parse_stored(&l.items[i]);
		if (!o)
			continue;
		if (!kp__selectors_match(sel.ls, sel.fs, o)) {
			json_decref(o);
			continue;
		}
		char *name = strdup(kp_obj_name(o) ? kp_obj_name(o) : "");
		json_decref(o);
		char *save_ns = r->ns;
		/* Cluster-wide deletecollection of a namespaced kind: per object namespace. */
		const char *slash = strrchr(l.items[i].key, '/');
		char *ns = NULL;
		if ((r->res->flags & KP_RES_NAMESPACED) && !r->ns && slash) {
			const char *nsb = l.items[i].key + prefix.len;
			ns = strndup(nsb, (size_t)(slash - nsb));
			r->ns = ns;
		}
		json_t *res = NULL;
		if (delete_one(r, name, &d, &res) == 0)
			json_array_append_new(items, res);
		else if (r->code == 404)
			r->replied = false; /* deleted concurrently: fine */
		else {
			r->ns = save_ns;
			free(ns);
			free(name);
			json_decref(items);
			kp_kv_list_release(&l);
			goto out;
		}
		r->ns = save_ns;
		free(ns);
		free(name);
	}
	char rv[32];
	snprintf(rv, sizeof(rv), "%llu", (unsigned long long)kp_store_revision(r->srv->st));
	kp_kv_list_release(&l);
	kp__reply_json(r, 200,
		       json_pack("{s:s, s:s, s:{s:s}, s:o}", "kind", r->res->list_kind, "apiVersion",
				 r->res->group_version, "metadata", "resourceVersion", rv, "items",
				 items));
out:
	kp__buf_release(&prefix);
	selectors_release(&sel);
	delete_opts_release(&d);
}

/* ---- pods/binding, pods/eviction, pods/log ------------------------------------ */

struct bind_ctx {
	const char *node;
	json_t *annotations;
};

static json_t *mutate_bind(struct kp_req *r, json_t *cur, void *ctx)
{
	struct bind_ctx *bc = ctx;
	const char *node = kp_obj_str(cur, "spec.nodeName");
	if (node && *node) {
		kp__reply_status(r, 409, "Conflict", details_name(r, kp_obj_name(cur)),
				 "Operation cannot be fulfilled on pods/binding \"%s\": pod %s is "
				 "already assigned to node \"%s\"",
				 kp_obj_name(cur), kp_obj_name(cur), node);
		return NULL;
	}
	if (kp_obj_str(cur, "metadata.deletionTimestamp")) {
		kp__reply_status(r, 409, "Conflict", details_name(r, kp_obj_name(cur)),
				 "Operation cannot be fulfilled on pods/binding \"%s\": pod %s is "
				 "being deleted, cannot be assigned to a host",
				 kp_obj_name(cur), kp_obj_name(cur));
		return NULL;
	}
	json_t *obj = json_deep_copy(cur);
	kp_obj_del(obj, "metadata.resourceVersion");
	kp_obj_set_str(obj, "spec.nodeName", bc->node);
	const char *k;
	json_t *v;
	json_object_foreach (bc->annotations, k, v)
		if (json_is_string(v))
			kp_obj_set_annotation(obj, k, json_string_value(v));
	/* PodScheduled=True, as the binding REST of Kubernetes records it. */
	json_t *status = json_object_get(obj, "status");
	if (!json_is_object(status)) {
		status = json_object();
		json_object_set_new(obj, "status", status);
	}
	json_t *conds = json_object_get(status, "conditions");
	if (!json_is_array(conds)) {
		conds = json_array();
		json_object_set_new(status, "conditions", conds);
	}
	char ts[KP_TIME_BUFSZ];
	kp_time_format(kp_time_now(), ts);
	json_t *c = NULL;
	size_t i;
	json_array_foreach (conds, i, v)
		if (!strcmp(kp_obj_str(v, "type") ?: "", "PodScheduled"))
			c = v;
	if (!c) {
		c = json_object();
		json_array_append_new(conds, c);
	}
	json_object_clear(c);
	json_object_set_new(c, "type", json_string("PodScheduled"));
	json_object_set_new(c, "status", json_string("True"));
	json_object_set_new(c, "lastProbeTime", json_null());
	json_object_set_new(c, "lastTransitionTime", json_string(ts));
	return obj;
}

static void do_binding(struct kp_req *r, const char *pod)
{
	json_t *b = decode_body(r, true);
	if (!b)
		return;
	const char *kind = kp_obj_kind(b);
	if (kind && *kind && strcmp(kind, "Binding")) {
		bad_request(r, "the kind in the data (%s) does not match the expected kind "
			       "(Binding)",
			    kind);
		json_decref(b);
		return;
	}
	const char *bname = kp_obj_name(b);
	if (bname && *bname && strcmp(bname, pod)) {
		bad_request(r, "the name of the object (%s) does not match the name on the URL (%s)",
			    bname, pod);
		json_decref(b);
		return;
	}
	const char *node = kp_obj_str(b, "target.name");
	if (!node || !*node) {
		struct kp_errlist errs = { 0 };
		kp_errlist_add(&errs, KP_FIELD_REQUIRED, "target.name", NULL, "%s", "");
		kp__reply_invalid(r, "Binding", pod, &errs);
		kp_errlist_release(&errs);
		json_decref(b);
		return;
	}
	struct bind_ctx bc = { node, kp_obj_get(b, "metadata.annotations") };
	/* pods/binding is stored on the pod: switch r->res to pods. */
	const struct kp_resource *saved = r->res;
	r->res = kp__registry_find("", "v1", "pods");
	update_loop(r, pod, UPD_SYSTEM, mutate_bind, &bc, 201, NULL);
	if (r->code == 201)
		kp__reply_success(r, 201, NULL);
	r->res = saved;
	json_decref(b);
}

/* kube's MaxDisruptedPodSize: evictions the disruption controller has not
 * confirmed yet, per budget. */
#define MAX_DISRUPTED_PODS 2000

static void reply_pdb_429(struct kp_req *r, const char *cause)
{
	json_t *d = json_pack("{s:[{s:s, s:s}]}", "causes", "reason", "DisruptionBudget",
			      "message", cause);
	kp__reply_status(r, 429, "TooManyRequests", d,
			 "Cannot evict pod as it would violate the pod's disruption budget.");
}

/*
 * The PodDisruptionBudgets of pods/eviction, as kube's eviction REST: the
 * one budget whose selector picks the pod must allow a disruption; its
 * status.disruptionsAllowed goes down by one (compare-and-swap on the
 * budget's revision, retried on conflict) and the pod is recorded in
 * status.disruptedPods until the disruption controller sees it go. Returns
 * true when the pod may be deleted, false after replying.
 */
static bool eviction_allowed(struct kp_req *r, const json_t *pod)
{
	const char *phase = kp_obj_str(pod, "status.phase");
	/* canIgnorePDB: finished or never started pods, and pods already going. */
	if ((phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed") ||
		       !strcmp(phase, "Pending"))) ||
	    kp_obj_str(pod, "metadata.deletionTimestamp"))
		return true;
	const struct kp_resource *pres = kp__registry_find("policy", "v1", "poddisruptionbudgets");
	if (!pres)
		return true;
	bool ready = false;
	size_t i;
	json_t *c;
	json_array_foreach(kp_obj_get(pod, "status.conditions"), i, c) {
		const char *t = kp_obj_str(c, "type"), *st = kp_obj_str(c, "status");
		if (t && !strcmp(t, "Ready") && st && !strcmp(st, "True"))
			ready = true;
	}
	struct kp_buf prefix = { 0 };
	kp__registry_key(pres, r->ns, NULL, &prefix);
	bool ok = false;
	for (int attempt = 0; attempt < UPDATE_RETRIES; attempt++) {
		struct kp_kv_list l;
		int rc = kp_store_list(r->srv->st, prefix.p, 0, NULL, 0, &l);
		if (rc) {
			kp__reply_store_error(r, rc, "");
			goto out;
		}
		json_t *pdb = NULL;
		char *key = NULL;
		uint64_t rev = 0;
		size_t n = 0;
		for (size_t j = 0; j < l.n; j++) {
			json_t *o = kp_json_loadb(l.items[j].value, l.items[j].len, 0, NULL);
			json_t *sel = o ? kp_obj_get(o, "spec.selector") : NULL;
			struct kp_label_selector *ls = NULL;
			/* policy/v1: a null selector picks no pod, an empty one all. */
			bool hit = json_is_object(sel) && kp_label_selector_from_json(sel, &ls, NULL) == 0 &&
				   kp_label_selector_matches(ls, kp_obj_labels(pod));
			if (ls)
				kp_label_selector_free(ls);
			if (hit && n++ == 0) {
				pdb = o;
				key = strdup(l.items[j].key);
				rev = l.items[j].mod_rev;
			} else {
				json_decref(o);
			}
		}
		kp_kv_list_release(&l);
		if (n == 0) {
			ok = true;
			goto out;
		}
		const char *pname = kp_obj_name(pdb);
		if (n > 1) {
			const char *m = "This pod has more than one PodDisruptionBudget, which the "
					"eviction subresource does not support.";
			kp__reply_status(r, 500, "InternalError",
					 json_pack("{s:[{s:s}]}", "causes", "message", m),
					 "Internal error occurred: %s", m);
			goto done;
		}
		json_int_t desired = kp_obj_int(pdb, "status.desiredHealthy", 0);
		json_int_t healthy = kp_obj_int(pdb, "status.currentHealthy", 0);
		/* A pod that is not ready does not count as healthy: evicting it costs
		 * nothing while the budget is met. */
		if (!ready) {
			const char *pol = kp_obj_str(pdb, "spec.unhealthyPodEvictionPolicy");
			if ((pol && !strcmp(pol, "AlwaysAllow")) || (healthy >= desired && desired > 0)) {
				ok = true;
				goto done;
			}
		}
		json_int_t allowed = kp_obj_int(pdb, "status.disruptionsAllowed", 0);
		if (!kp_obj_get(pdb, "status") ||
		    kp_obj_int(pdb, "status.observedGeneration", 0) <
			    kp_obj_int(pdb, "metadata.generation", 1)) {
			char cause[400];
			snprintf(cause, sizeof(cause),
				 "The disruption budget %s is still being processed by the server.",
				 pname);
			reply_pdb_429(r, cause);
			goto done;
		}
		if (allowed < 0) {
			kp__reply_status(r, 403, "Forbidden", NULL,
					 "pdb disruptions allowed is negative");
			goto done;
		}
		json_t *dp = kp_obj_get(pdb, "status.disruptedPods");
		if (json_object_size(dp) > MAX_DISRUPTED_PODS) {
			kp__reply_status(r, 403, "Forbidden", NULL,
					 "DisruptedPods map too big - too many evictions not "
					 "confirmed by PDB controller");
			goto done;
		}
		if (allowed == 0) {
			char cause[400];
			snprintf(cause, sizeof(cause),
				 "The disruption budget %s needs %lld healthy pods and has %lld "
				 "currently",
				 pname, (long long)desired, (long long)healthy);
			reply_pdb_429(r, cause);
			goto done;
		}
		if (dry_run(r)) {
			ok = true;
			goto done;
		}
		kp_obj_set(pdb, "status.disruptionsAllowed", json_integer(allowed - 1));
		if (allowed - 1 == 0) {
			json_t *conds = kp_obj_get(pdb, "status.conditions");
			json_t *cd;
			json_array_foreach(conds, i, cd) {
				const char *t = kp_obj_str(cd, "type");
				const char *st = kp_obj_str(cd, "status");
				if (!t || strcmp(t, "DisruptionAllowed"))
					continue;
				if (!st || strcmp(st, "False")) {
					char ts[KP_TIME_BUFSZ];
					kp_time_format(kp_time_now(), ts);
					json_object_set_new(cd, "lastTransitionTime", json_string(ts));
				}
				json_object_set_new(cd, "status", json_string("False"));
				json_object_set_new(cd, "reason", json_string("InsufficientPods"));
			}
		}
		if (!json_is_object(dp)) {
			dp = json_object();
			kp_obj_set(pdb, "status.disruptedPods", dp);
		}
		char ts[KP_TIME_BUFSZ];
		json_object_set_new(dp, kp_obj_name(pod), json_string(kp_time_format(kp_time_now(), ts)));
		size_t len;
		char *bytes = encode_store(pres, pdb, &len);
		uint64_t nrev = 0;
		rc = kp_store_update(r->srv->st, key, bytes, len, rev, &nrev);
		free(bytes);
		if (rc == KP_ECONFLICT) {
			json_decref(pdb);
			free(key);
			continue;
		}
		if (rc)
			kp__reply_store_error(r, rc, pname);
		else
			ok = true;
done:
		json_decref(pdb);
		free(key);
		goto out;
	}
	kp__reply_status(r, 429, "TooManyRequests", NULL,
			 "Cannot evict pod as it would violate the pod's disruption budget.");
out:
	kp__buf_release(&prefix);
	return ok;
}

static void do_eviction(struct kp_req *r)
{
	json_t *e = decode_body(r, true);
	if (!e)
		return;
	const char *kind = kp_obj_kind(e);
	if (kind && *kind && strcmp(kind, "Eviction")) {
		bad_request(r, "the kind in the data (%s) does not match the expected kind "
			       "(Eviction)",
			    kind);
		json_decref(e);
		return;
	}
	struct delete_opts d;
	memset(&d, 0, sizeof(d));
	d.dry = dry_run(r);
	const char *u = kp_obj_str(e, "deleteOptions.preconditions.uid");
	const char *v = kp_obj_str(e, "deleteOptions.preconditions.resourceVersion");
	if (u)
		d.pre_uid = strdup(u);
	if (v)
		d.pre_rv = strdup(v);
	json_decref(e);
	struct kp_buf k = { 0 };
	key_of(r, r->name, &k);
	json_t *pod = load_stored(r, k.p, r->name, NULL);
	kp__buf_release(&k);
	bool go = pod && eviction_allowed(r, pod);
	json_decref(pod);
	json_t *obj = NULL;
	if (go && delete_one(r, r->name, &d, &obj) == 0) {
		json_decref(obj);
		kp__reply_success(r, 201, NULL);
	}
	delete_opts_release(&d);
}

/* ---- dispatch --------------------------------------------------------------------- */

static void method_not_allowed(struct kp_req *r)
{
	kp__reply_status(r, 405, "MethodNotAllowed", NULL,
			 "the server does not allow this method on the requested resource");
}

void kp__rest_handle(struct kp_req *r)
{
	const struct kp_resource *res = r->res;
	enum kp_method m = r->method == KP_M_HEAD ? KP_M_GET : r->method;
	if (r->name && !*r->name) {
		method_not_allowed(r);
		return;
	}
	if (res->flags & KP_RES_BINDING) {
		/* POST /api/v1/namespaces/<ns>/bindings {metadata.name: pod} */
		if (m != KP_M_POST || r->name || !r->ns) {
			method_not_allowed(r);
			return;
		}
		json_t *b = decode_body(r, true);
		if (!b)
			return;
		const char *pod = kp_obj_name(b);
		char *podname = pod ? strdup(pod) : NULL;
		json_decref(b);
		if (!podname) {
			struct kp_errlist errs = { 0 };
			kp_errlist_add(&errs, KP_FIELD_REQUIRED, "metadata.name", NULL, "%s",
				       "name or generateName is required");
			kp__reply_invalid(r, "Binding", "", &errs);
			kp_errlist_release(&errs);
			return;
		}
		do_binding(r, podname);
		free(podname);
		return;
	}
	if (r->sub) {
		const char *s = r->sub;
		if (!strcmp(s, "status") && (res->flags & KP_RES_STATUS)) {
			if (m == KP_M_GET)
				do_get(r);
			else if (m == KP_M_PUT)
				do_update(r, UPD_STATUS);
			else if (m == KP_M_PATCH)
				do_patch(r, UPD_STATUS);
			else
				method_not_allowed(r);
		} else if (!strcmp(s, "scale") && (res->flags & KP_RES_SCALE)) {
			if (m == KP_M_GET)
				do_scale_get(r);
			else if (m == KP_M_PUT || m == KP_M_PATCH)
				do_scale_write(r);
			else
				method_not_allowed(r);
		} else if (!strcmp(s, "binding") && (res->flags & KP_RES_POD_SUBS)) {
			if (m == KP_M_POST)
				do_binding(r, r->name);
			else
				method_not_allowed(r);
		} else if (!strcmp(s, "eviction") && (res->flags & KP_RES_POD_SUBS)) {
			if (m == KP_M_POST)
				do_eviction(r);
			else
				method_not_allowed(r);
		} else if (!strcmp(s, "log") && (res->flags & KP_RES_POD_SUBS)) {
			if (m != KP_M_GET) {
				method_not_allowed(r);
				return;
			}
			do_get(r);
			if (r->code == 200)
				kp__reply_status(r, 400, "BadRequest", NULL,
						 "no logs for simulated pods: pod \"%s\" does not run "
						 "on a container runtime",
						 r->name);
		} else if (!strcmp(s, "finalize") && (res->flags & KP_RES_NS_FINALIZE)) {
			if (m == KP_M_PUT)
				do_update(r, UPD_FINALIZE);
			else
				method_not_allowed(r);
		} else {
			kp__reply_status(r, 404, "NotFound", json_object(),
					 "the server could not find the requested resource");
		}
		return;
	}
	if (!r->name) {
		switch (m) {
		case KP_M_GET:
			if (r->q.watch)
				kp__watch_start(r);
			else
				do_list(r);
			return;
		case KP_M_POST:
			do_create(r);
			return;
		case KP_M_DELETE:
			do_delete_collection(r);
			return;
		default:
			method_not_allowed(r);
			return;
		}
	}
	switch (m) {
	case KP_M_GET:
		if (r->q.watch) {
			/* /watch/.../name: a watch of one object */
			char *fs = NULL;
			if (asprintf(&fs, "metadata.name=%s%s%s", r->name,
				     r->q.field_selector && *r->q.field_selector ? "," : "",
				     r->q.field_selector ? r->q.field_selector : "") < 0)
				abort();
			free(r->q.field_selector);
			r->q.field_selector = fs;
			free(r->name);
			r->name = NULL;
			kp__watch_start(r);
			return;
		}
		do_get(r);
		return;
	case KP_M_PUT:
		do_update(r, UPD_MAIN);
		return;
	case KP_M_PATCH:
		do_patch(r, UPD_MAIN);
		return;
	case KP_M_DELETE:
		do_delete(r);
		return;
	default:
		method_not_allowed(r);
		return;
	}
}

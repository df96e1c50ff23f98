/*
 * gateway.c - the store gateway: the API server's store, reachable over HTTP
 * for components that run in other processes (`kplane scheduler --server`,
 * `kplane controller-manager --server`).
 *
 * In `kplane server` the scheduler and the controllers are store clients:
 * they list and watch the store and write objects with compare-and-swap
 * (runtime.h). Apart, they keep exactly that code and reach the store
 * through this gateway, which speaks the subset of etcd v3's JSON gateway
 * that kplane's own etcd client (store/etcd.c) uses: a single-key range or
 * a prefix range at a revision, a single compare-and-swap txn, compaction,
 * and a watch stream. A component opens its store as the etcd backend with
 * the API servers' /kplane/store URLs as endpoints, and so inherits that
 * client's failover between API servers and its rule of never resending a
 * write whose fate is unknown. Revisions are the serving store's (etcd's
 * when the API server runs on etcd), so every API server of a cluster
 * answers in the same revision space.
 *
 * Requests: POST /kplane/store/v3/kv/range | kv/txn | kv/compaction | watch,
 * JSON bodies as etcd's gateway takes them; errors are {"error", "code",
 * "message"} with etcd's messages for the cases the client maps (compacted,
 * future revision). Anything outside the subset is a 400 naming what is not
 * supported.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/kplane.h>

#include "core/api/internal.h"
#include "store/base64.h"

#define GW_PREFIX "/kplane/store/v3/"

bool kp__gateway_path(const char *url)
{
	return !strncmp(url, GW_PREFIX, sizeof(GW_PREFIX) - 1);
}

bool kp__gateway_is_write(const char *url)
{
	return kp__gateway_path(url) &&
	       (!strcmp(url + sizeof(GW_PREFIX) - 1, "kv/txn") ||
		!strcmp(url + sizeof(GW_PREFIX) - 1, "kv/compaction"));
}

/* How long a revision newer than the store's is waited for before it is "a future
 * revision" (see kp_store_wait_revision; the request holds an HTTP thread). */
#define FUTURE_REV_WAIT_MS 20

/* grpc-gateway's error shape; code is the gRPC code (3 invalid, 11 out of range, 13 internal). */
static void gw_error(struct kp_req *r, int http, int grpc, const char *msg)
{
	json_t *e = json_pack("{s:s, s:i, s:s}", "error", msg, "code", grpc, "message", msg);
	kp__reply_json(r, http, e);
}

static void gw_store_error(struct kp_req *r, int rc)
{
	if (rc == KP_EEXPIRED)
		gw_error(r, 400, 11, "etcdserver: mvcc: required revision has been compacted");
	else if (rc == KP_ERANGE)
		gw_error(r, 400, 11, "etcdserver: mvcc: required revision is a future revision");
	else if (rc == KP_E2BIG)
		gw_error(r, 400, 3, "etcdserver: request is too large");
	else {
		char *m = rc == KP_EIO ? kp_store_last_error(r->srv->st) : NULL;
		char buf[512];
		snprintf(buf, sizeof(buf), "kplane store: %s", m ? m : kp_strerror(rc));
		free(m);
		gw_error(r, 500, 13, buf);
	}
}

/* o[name] as a base64-decoded byte string; *out NULL when absent. false: not base64. */
static bool get_b64(const json_t *o, const char *name, char **out, size_t *len)
{
	const json_t *v = json_object_get(o, name);
	*out = NULL;
	*len = 0;
	if (!v)
		return true;
	if (!json_is_string(v) || kp__b64_decode(json_string_value(v), out, len))
		return false;
	return true;
}

/* An int64 field the gateway may send as a string or a number; false when malformed. */
static bool get_u64(const json_t *o, const char *name, uint64_t *out)
{
	const json_t *v = json_object_get(o, name);
	*out = 0;
	if (!v)
		return true;
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return true;
	}
	if (!json_is_string(v))
		return false;
	const char *s = json_string_value(v);
	char *end;
	if (!*s || *s == '-')
		return false;
	*out = strtoull(s, &end, 10);
	return !*end;
}

/*
 * The store prefix of a range [key, end): end must be the prefix's
 * successor (etcd's idiom for "every key with this prefix"), "\0" meaning
 * every key. *prefix is a new string ("" for every key).
 */
static bool range_prefix(const char *key, size_t klen, const char *end, size_t elen,
			 char **prefix)
{
	if (elen == 1 && end[0] == 0) {
		*prefix = strdup("");
		return *prefix != NULL;
	}
	if (!elen || memchr(end, 0, elen))
		return false;
	char *p = strndup(end, elen);
	if (!p)
		return false;
	p[elen - 1]--;
	/* key is the prefix itself or a key under it (a later page). */
	if (klen < elen || memcmp(key, p, elen) || memchr(key, 0, klen)) {
		free(p);
		return false;
	}
	*prefix = p;
	return true;
}

static json_t *kv_json(const struct kp_kv *kv, bool keys_only)
{
	char *k = kp__b64_encode(kv->key, strlen(kv->key));
	char *v = keys_only ? NULL : kp__b64_encode(kv->value ? kv->value : "", kv->len);
	char cr[24], mr[24];
	snprintf(cr, sizeof(cr), "%llu", (unsigned long long)kv->create_rev);
	snprintf(mr, sizeof(mr), "%llu", (unsigned long long)kv->mod_rev);
	json_t *o = json_pack("{s:s?, s:s, s:s, s:s}", "key", k, "create_revision", cr,
			      "mod_revision", mr, "version",
			      kv->create_rev == kv->mod_rev ? "1" : "2");
	if (o && v)
		json_object_set_new(o, "value", json_string(v));
	free(k);
	free(v);
	return o;
}

static json_t *header(uint64_t rev)
{
	char b[24];
	snprintf(b, sizeof(b), "%llu", (unsigned long long)rev);
	return json_pack("{s:s}", "revision", b);
}

static json_t *parse_body(struct kp_req *r)
{
	json_error_t jerr;
	json_t *j = r->body.len ? kp_json_loadb(r->body.p, r->body.len, 0, &jerr) : json_object();
	if (!json_is_object(j)) {
		json_decref(j);
		gw_error(r, 400, 3, "request body: a JSON object is required");
		return NULL;
	}
	return j;
}

static void do_range(struct kp_req *r, const json_t *q)
{
	struct kp_store *st = r->srv->st;
	char *key = NULL, *end = NULL, *prefix = NULL;
	size_t klen, elen;
	uint64_t rev, limit;
	bool count_only = json_is_true(json_object_get(q, "count_only"));
	bool keys_only = json_is_true(json_object_get(q, "keys_only"));
	if (!get_b64(q, "key", &key, &klen) || !key || !klen || !get_b64(q, "range_end", &end, &elen) ||
	    !get_u64(q, "revision", &rev) || !get_u64(q, "limit", &limit)) {
		gw_error(r, 400, 3, "range: key (base64, not empty), range_end (base64), "
				    "revision and limit (integers) are required to be well formed");
		goto out;
	}
	if (rev && !kp_store_wait_revision(st, rev, FUTURE_REV_WAIT_MS)) {
		gw_store_error(r, KP_ERANGE);
		goto out;
	}
	uint64_t now = kp_store_revision(st);
	if (rev && rev < kp_store_oldest_revision(st)) {
		gw_store_error(r, KP_EEXPIRED);
		goto out;
	}
	json_t *kvs = json_array(), *resp;
	size_t count = 0;
	bool more = false;
	uint64_t at = now;
	int rc = 0;
	if (!end) {
		/* One key ("\0", which no store key is, asks only for the revision). */
		if (klen == 1 && key[0] == 0) {
			count = 0;
		} else if (memchr(key, 0, klen)) {
			rc = KP_EINVAL;
		} else if (rev) {
			struct kp_kv_list l;
			rc = kp_store_list(st, key, rev, NULL, 1, &l);
			if (!rc) {
				if (l.n && !strcmp(l.items[0].key, key)) {
					count = 1;
					if (!count_only)
						json_array_append_new(kvs, kv_json(&l.items[0], keys_only));
				}
				at = l.rev;
				kp_kv_list_release(&l);
			}
		} else {
			struct kp_kv kv;
			rc = kp_store_get(st, key, &kv);
			if (!rc) {
				count = 1;
				if (!count_only)
					json_array_append_new(kvs, kv_json(&kv, keys_only));
				kp_kv_release(&kv);
			} else if (rc == KP_ENOENT) {
				rc = 0;
			}
		}
	} else if (!range_prefix(key, klen, end, elen, &prefix)) {
		json_decref(kvs);
		gw_error(r, 400, 3, "range: only prefix ranges are supported (range_end must be "
				    "the successor of a prefix of key, or \"\\0\")");
		goto out;
	} else if (count_only) {
		rc = kp_store_count(st, prefix, &count);
	} else {
		struct kp_kv_list l;
		bool first = klen == 1 && key[0] == 0;
		rc = kp_store_list(st, prefix, rev, first || !strcmp(key, prefix) ? NULL : key,
				   (size_t)limit, &l);
		if (!rc) {
			for (size_t i = 0; i < l.n; i++)
				json_array_append_new(kvs, kv_json(&l.items[i], keys_only));
			count = l.n;
			more = l.more;
			at = l.rev;
			kp_kv_list_release(&l);
		}
	}
	if (rc == KP_EINVAL) {
		json_decref(kvs);
		gw_error(r, 400, 3, "range: a key must not contain NUL");
		goto out;
	}
	if (rc) {
		json_decref(kvs);
		gw_store_error(r, rc);
		goto out;
	}
	char cnt[24];
	snprintf(cnt, sizeof(cnt), "%zu", count + (more ? 1 : 0));
	resp = json_pack("{s:o, s:s, s:b}", "header", header(at), "count", cnt, "more", more);
	if (json_array_size(kvs))
		json_object_set(resp, "kvs", kvs);
	json_decref(kvs);
	kp__reply_json(r, 200, resp);
out:
	free(key);
	free(end);
	free(prefix);
}

/*
 * The txn shapes etcd.c sends: one compare on the key (CREATE == 0: create;
 * MOD == rev: conditional; CREATE > 0: exists), one put or delete_range,
 * and for conditional writes a keys_only range on failure (which tells a
 * moved key from a missing one).
 */
static void do_txn(struct kp_req *r, const json_t *t)
{
	struct kp_store *st = r->srv->st;
	const json_t *cmp = json_array_get(json_object_get(t, "compare"), 0);
	const json_t *succ = json_array_get(json_object_get(t, "success"), 0);
	const json_t *put = json_object_get(succ, "request_put");
	const json_t *del = json_object_get(succ, "request_delete_range");
	const char *target = json_string_value(json_object_get(cmp, "target"));
	const char *result = json_string_value(json_object_get(cmp, "result"));
	char *ckey = NULL, *key = NULL, *val = NULL, *end = NULL;
	size_t cklen, klen, vlen, elen;
	uint64_t crev, mrev;
	if (json_array_size(json_object_get(t, "compare")) != 1 ||
	    json_array_size(json_object_get(t, "success")) != 1 || !!put == !!del || !target ||
	    !result || !get_b64(cmp, "key", &ckey, &cklen) || !ckey ||
	    !get_b64(put ? put : del, "key", &key, &klen) || !key || !klen ||
	    !get_b64(del, "range_end", &end, &elen) || end || cklen != klen ||
	    memcmp(ckey, key, klen) || memchr(key, 0, klen) ||
	    !get_b64(put, "value", &val, &vlen) || !get_u64(cmp, "create_revision", &crev) ||
	    !get_u64(cmp, "mod_revision", &mrev)) {
		gw_error(r, 400, 3, "txn: only a single-key compare-and-swap (one compare on the "
				    "key, one put or delete of it) is supported");
		goto out;
	}
	enum { CREATE, UPDATE, DELETE } op;
	uint64_t expect = 0;
	if (!strcmp(target, "CREATE") && !strcmp(result, "EQUAL") && crev == 0 && put) {
		op = CREATE;
	} else if (!strcmp(target, "MOD") && !strcmp(result, "EQUAL") && mrev) {
		op = put ? UPDATE : DELETE;
		expect = mrev;
	} else if (!strcmp(target, "CREATE") && !strcmp(result, "GREATER") && crev == 0) {
		op = put ? UPDATE : DELETE;
	} else {
		gw_error(r, 400, 3, "txn: compare must be CREATE == 0, CREATE > 0 or MOD == "
				    "revision");
		goto out;
	}
	uint64_t rev = 0;
	struct kp_kv prev = { 0 };
	int rc;
	if (op == CREATE)
		rc = kp_store_create(st, key, val ? val : "", vlen, &rev);
	else if (op == UPDATE)
		rc = kp_store_update(st, key, val ? val : "", vlen, expect, &rev);
	else
		rc = kp_store_delete(st, key, expect, &rev, &prev);
	json_t *resp;
	if (rc == KP_EEXIST || rc == KP_ENOENT || rc == KP_ECONFLICT) {
		/* Not applied: say whether the key is there (a conflict) or not. */
		json_t *kvs = json_array();
		if (rc == KP_ECONFLICT || rc == KP_EEXIST)
			json_array_append_new(kvs, json_pack("{s:s}", "key", ""));
		resp = json_pack("{s:o, s:b, s:[{s:{s:o}}]}", "header",
				 header(kp_store_revision(st)), "succeeded", 0, "responses",
				 "response_range", "kvs", kvs);
	} else if (rc) {
		gw_store_error(r, rc);
		goto out;
	} else if (op == DELETE) {
		json_t *pk = json_array();
		if (prev.key)
			json_array_append_new(pk, kv_json(&prev, false));
		kp_kv_release(&prev);
		resp = json_pack("{s:o, s:b, s:[{s:{s:s, s:o}}]}", "header", header(rev),
				 "succeeded", 1, "responses", "response_delete_range", "deleted",
				 "1", "prev_kvs", pk);
	} else {
		resp = json_pack("{s:o, s:b, s:[{s:{}}]}", "header", header(rev), "succeeded", 1,
				 "responses", "response_put");
	}
	kp__reply_json(r, 200, resp);
out:
	free(ckey);
	free(key);
	free(val);
	free(end);
}

static void do_compaction(struct kp_req *r, const json_t *q)
{
	uint64_t rev;
	if (!get_u64(q, "revision", &rev) || !rev) {
		gw_error(r, 400, 3, "compaction: revision (a positive integer) is required");
		return;
	}
	int rc = kp_store_compact(r->srv->st, rev);
	if (rc == KP_EINVAL) {
		gw_store_error(r, KP_ERANGE);
		return;
	}
	if (rc) {
		gw_store_error(r, rc);
		return;
	}
	kp__reply_json(r, 200, json_pack("{s:o}", "header", header(kp_store_revision(r->srv->st))));
}

static void do_watch(struct kp_req *r, const json_t *q)
{
	const json_t *c = json_object_get(q, "create_request");
	char *key = NULL, *end = NULL, *prefix = NULL;
	size_t klen, elen;
	uint64_t start;
	if (!json_is_object(c) || !get_b64(c, "key", &key, &klen) || !key || !klen ||
	    !get_b64(c, "range_end", &end, &elen) || !get_u64(c, "start_revision", &start)) {
		gw_error(r, 400, 3, "watch: create_request with key, range_end and "
				    "start_revision is required");
		goto out;
	}
	if (!end) {
		/* One key: a prefix watch of it would also see longer keys. */
		gw_error(r, 400, 3, "watch: only prefix watches (with range_end) are supported");
		goto out;
	}
	if (!range_prefix(key, klen, end, elen, &prefix) || (klen != 1 && strcmp(key, prefix))) {
		gw_error(r, 400, 3, "watch: range_end must be the successor of key (a prefix "
				    "watch) or \"\\0\"");
		goto out;
	}
	/* etcd's start_revision is the first revision to report; the store's, the last seen. */
	kp__watch_start_gateway(r, prefix, start ? start - 1 : 0, start == 0,
				json_is_true(json_object_get(c, "prev_kv")),
				json_is_true(json_object_get(c, "progress_notify")));
out:
	free(key);
	free(end);
	free(prefix);
}

void kp__gateway_handle(struct kp_req *r)
{
	const char *op = r->url + sizeof(GW_PREFIX) - 1;
	r->verb = "STORE";
	if (r->method != KP_M_POST) {
		gw_error(r, 405, 12, "the store gateway takes POST requests");
		return;
	}
	json_t *q = parse_body(r);
	if (!q)
		return;
	if (!strcmp(op, "kv/range"))
		do_range(r, q);
	else if (!strcmp(op, "kv/txn"))
		do_txn(r, q);
	else if (!strcmp(op, "kv/compaction"))
		do_compaction(r, q);
	else if (!strcmp(op, "watch"))
		do_watch(r, q);
	else
		gw_error(r, 404, 12, "the store gateway serves kv/range, kv/txn, kv/compaction "
				     "and watch");
	json_decref(q);
}

/* The watch stream's lines (encoders used by watch.c). */
void kp__gateway_encode_event(struct kp_buf *out, const struct kp_event *ev, bool prev_kv)
{
	bool del = ev->type == KP_EVENT_DELETED;
	/* etcd's DELETE kv is a tombstone; the last state travels as prev_kv. */
	struct kp_kv tomb = { .key = ev->kv.key, .value = "", .len = 0, .mod_rev = ev->kv.mod_rev };
	json_t *e = json_pack("{s:s, s:o}", "type", del ? "DELETE" : "PUT", "kv",
			      kv_json(del ? &tomb : &ev->kv, false));
	if (del) {
		json_t *kv = json_object_get(e, "kv");
		json_object_set_new(kv, "version", json_string("0"));
		json_object_set_new(kv, "create_revision", json_string("0"));
	}
	const struct kp_kv *pv = del ? &ev->kv : ev->prev.key ? &ev->prev : NULL;
	if (prev_kv && pv) {
		struct kp_kv p = *pv;
		if (del && ev->prev.key)
			p = ev->prev;
		json_object_set_new(e, "prev_kv", kv_json(&p, false));
	}
	json_t *line = json_pack("{s:{s:o, s:[o]}}", "result", "header", header(ev->kv.mod_rev),
				 "events", e);
	kp__buf_add_json(out, line);
	kp__buf_add(out, "\n", 1);
	json_decref(line);
}

void kp__gateway_encode_progress(struct kp_buf *out, uint64_t rev, bool created)
{
	json_t *line = json_pack("{s:{s:o}}", "result", "header", header(rev));
	if (created)
		json_object_set_new(json_object_get(line, "result"), "created", json_true());
	kp__buf_add_json(out, line);
	kp__buf_add(out, "\n", 1);
	json_decref(line);
}

void kp__gateway_encode_canceled(struct kp_buf *out, uint64_t compacted)
{
	char b[24];
	snprintf(b, sizeof(b), "%llu", (unsigned long long)compacted);
	json_t *line = json_pack("{s:{s:o, s:b, s:s, s:s}}", "result", "header", header(compacted),
				 "canceled", 1, "compact_revision", b, "cancel_reason",
				 "mvcc: required revision has been compacted");
	kp__buf_add_json(out, line);
	kp__buf_add(out, "\n", 1);
	json_decref(line);
}

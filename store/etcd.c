/*
 * etcd.c - the store over etcd v3's JSON gateway (see etcd.h and
 * docs/store.md, "etcd backend").
 *
 * Requests are unary POSTs of JSON to /v3/kv/{range,txn,compaction} on
 * pooled libcurl easy handles (keep-alive: a handle keeps its connection
 * between requests). Watches are one streaming POST to /v3/watch each, read
 * by a thread of their own through a multi handle (so that cancelling can
 * wake it with curl_multi_wakeup) into a bounded queue: when the consumer
 * lags the thread blocks, which stops reading the socket and lets TCP push
 * back on etcd instead of buffering the history in memory.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include <kplane/error.h>
#include <kplane/object.h>

#include "store/base64.h"
#include "store/etcd.h"

#define REQ_TIMEOUT_MS 30000L
#define CONNECT_TIMEOUT_MS 2000L
#define LIST_PAGE 1000          /* keys per range while scanning for a snapshot */
#define WATCH_QUEUE 1024        /* events buffered per watch before reading pauses */
#define RESTORE_TRIES 5


/* ---- JSON helpers ---- */

/* etcd's int64 fields are JSON strings; absent means 0 (proto3 default). */
static uint64_t jnum(const json_t *o, const char *name)
{
	const json_t *v = json_object_get(o, name);

	if (json_is_string(v))
		return strtoull(json_string_value(v), NULL, 10);
	if (json_is_integer(v) && json_integer_value(v) > 0)
		return (uint64_t)json_integer_value(v);
	return 0;
}

/* Sets o[name] to the base64 of bytes; steals nothing, returns KP_ENOMEM. */
static int jset_b64(json_t *o, const char *name, const char *bytes, size_t n)
{
	char *s = kp__b64_encode(bytes, n);
	int ret;

	if (!s)
		return KP_ENOMEM;
	ret = json_object_set_new(o, name, json_string(s)) ? KP_ENOMEM : 0;
	free(s);
	return ret;
}

static int jset_u64(json_t *o, const char *name, uint64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "%" PRIu64, v);
	return json_object_set_new(o, name, json_string(s)) ? KP_ENOMEM : 0;
}

/* A kv object of a response into a version (new reference). */
static int kv_from_json(const json_t *kv, struct kp__ver **out, char **errmsg)
{
	const char *k = json_string_value(json_object_get(kv, "key"));
	const char *v = json_string_value(json_object_get(kv, "value"));
	char *key = NULL, *val = NULL;
	size_t klen, vlen = 0;
	int ret;

	if (!k || kp__b64_decode(k, &key, &klen) || !klen) {
		free(key);
		return kp_error_set(errmsg, KP_EIO, "etcd: a key-value in the answer has no "
				    "valid key");
	}
	if (v && (ret = kp__b64_decode(v, &val, &vlen))) {
		ret = kp_error_set(errmsg, KP_EIO, "etcd: key %s: value is not base64", key);
		free(key);
		return ret;
	}
	*out = kp__ver_new(key, klen, val ? val : "", vlen, jnum(kv, "create_revision"),
			   jnum(kv, "mod_revision"));
	free(key);
	free(val);
	return *out ? 0 : kp_error_set(errmsg, KP_ENOMEM, "out of memory");
}

/* First key after every key with the prefix; "\0" (all keys) when there is none. */
static size_t prefix_end(const char *p, size_t n, char *out)
{
	memcpy(out, p, n);
	while (n && (unsigned char)out[n - 1] == 0xff)
		n--;
	if (!n) {
		out[0] = 0;
		return 1;
	}
	out[n - 1]++;
	return n;
}

/* ---- the client: endpoints, handle pool, requests ---- */

/* Shared by the store and its watches (refcounted: watches outlive the store). */
struct ehub {
	pthread_mutex_t lock;
	unsigned refs;
	bool closed;
	struct kp__etcd_watch *watches; /* live watches, for close */
	size_t nwatches;
	uint64_t compacted;   /* atomic */
	/* Endpoints and TLS, immutable after open. */
	char **endpoints;
	size_t nendpoints;
	unsigned cur;         /* atomic: endpoint that last answered */
	char *cert, *key, *ca;
};

struct kp__etcd {
	struct kp__backend be; /* first: kp__etcd_backend() casts back */
	struct ehub *hub;
	pthread_mutex_t pool_lock;
	CURL **pool;
	size_t npool, cappool;
	struct curl_slist *headers;
	uint64_t revision; /* atomic: newest header revision seen */
	uint64_t writes;   /* atomic */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void hub_unref(struct ehub *h)
{
	bool last;

	pthread_mutex_lock(&h->lock);
	last = --h->refs == 0;
	pthread_mutex_unlock(&h->lock);
	if (!last)
		return;
	for (size_t i = 0; i < h->nendpoints; i++)
		free(h->endpoints[i]);
	free(h->endpoints);
	free(h->cert);
	free(h->key);
	free(h->ca);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

static void note_rev(uint64_t *where, uint64_t rev)
{
	uint64_t cur = __atomic_load_n(where, __ATOMIC_RELAXED);

	while (rev > cur &&
	       !__atomic_compare_exchange_n(where, &cur, rev, false, __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED))
		;
}

static void tls_setup(CURL *c, const struct ehub *h)
{
	if (h->cert)
		curl_easy_setopt(c, CURLOPT_SSLCERT, h->cert);
	if (h->key)
		curl_easy_setopt(c, CURLOPT_SSLKEY, h->key);
	if (h->ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, h->ca);
}

static CURL *handle_get(struct kp__etcd *e)
{
	CURL *c = NULL;

	pthread_mutex_lock(&e->pool_lock);
	if (e->npool)
		c = e->pool[--e->npool];
	pthread_mutex_unlock(&e->pool_lock);
	if (c)
		return c;
	c = curl_easy_init();
	if (!c)
		return NULL;
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, REQ_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, e->headers);
	tls_setup(c, e->hub);
	return c;
}

static void handle_put(struct kp__etcd *e, CURL *c)
{
	pthread_mutex_lock(&e->pool_lock);
	if (e->npool == e->cappool) {
		size_t cap = e->cappool ? e->cappool * 2 : 16;
		void *p = realloc(e->pool, cap * sizeof(*e->pool));

		if (!p) {
			pthread_mutex_unlock(&e->pool_lock);
			curl_easy_cleanup(c);
			return;
		}
		e->pool = p;
		e->cappool = cap;
	}
	e->pool[e->npool++] = c;
	pthread_mutex_unlock(&e->pool_lock);
}

struct buf {
	char *p;
	size_t n, cap;
};

static size_t buf_cb(char *d, size_t sz, size_t nm, void *arg)
{
	struct buf *b = arg;
	size_t n = sz * nm;

	if (b->n + n + 1 > b->cap) {
		size_t cap = (b->n + n + 1) * 2;
		char *p = realloc(b->p, cap);

		if (!p)
			return 0;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, d, n);
	b->n += n;
	b->p[b->n] = 0;
	return n;
}

/* A request body handed to libcurl piecewise (writes: see request()). */
struct body {
	const char *p;
	size_t left;
};

static size_t body_read(char *d, size_t sz, size_t nm, void *arg)
{
	struct body *b = arg;
	size_t n = sz * nm < b->left ? sz * nm : b->left;

	memcpy(d, b->p, n);
	b->p += n;
	b->left -= n;
	return n;
}

static int body_noseek(void *arg, curl_off_t off, int origin)
{
	(void)arg, (void)off, (void)origin;
	return CURL_SEEKFUNC_CANTSEEK;
}

/* The KP_E* code for one of etcd's error messages. */
static int map_error(const char *msg)
{
	if (strstr(msg, "required revision has been compacted"))
		return KP_EEXPIRED;
	if (strstr(msg, "required revision is a future revision"))
		return KP_ERANGE;
	if (strstr(msg, "request is too large") || strstr(msg, "too many operations"))
		return KP_E2BIG;
	return KP_EIO;
}

/* Transport errors after which the request cannot have reached etcd. */
static bool not_sent(CURLcode rc)
{
	return rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
	       rc == CURLE_COULDNT_RESOLVE_PROXY || rc == CURLE_SSL_CONNECT_ERROR;
}

/*
 * POSTs body (borrowed) to path; *resp gets the parsed answer (new
 * reference). idempotent: a request that may have been delivered is
 * retried on the next endpoint too (reads); otherwise only connection
 * failures move on (writes: KP_EIO, outcome unknown).
 */
static int request(struct kp__etcd *e, const char *path, const json_t *body, bool idempotent,
		   json_t **resp, char **errmsg)
{
	struct ehub *h = e->hub;
	char *data = kp_json_dumps(body, NULL);
	unsigned start = __atomic_load_n(&h->cur, __ATOMIC_RELAXED);
	char errbuf[CURL_ERROR_SIZE], url[2048], lasterr[1024] = "";
	struct buf b = { 0 };
	struct body src;
	int noleader_waits = 0;
	CURL *c;
	int ret = KP_EIO;

	*resp = NULL;
	if (!data)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	c = handle_get(e);
	if (!c) {
		free(data);
		return kp_error_set(errmsg, KP_ENOMEM, "etcd: cannot create a curl handle");
	}
	/*
	 * libcurl silently sends a request again on a new connection when a
	 * reused keep-alive connection dies before any answer: right for reads,
	 * wrong for a write etcd may have applied (a create would come back
	 * KP_EEXIST, the caller's own write). A resend needs the body rewound:
	 * writes give the body through a read callback that cannot seek, so the
	 * resend fails instead (CURLE_SEND_FAIL_REWIND, reported as KP_EIO) and
	 * connections stay reused. t1001 checks with a fake etcd that drops txns.
	 */
	src = (struct body){ .p = data, .left = strlen(data) };
	if (idempotent) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)src.left);
	} else {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, body_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &src);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, body_noseek);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)src.left);
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, buf_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	for (size_t i = 0; i < h->nendpoints; i++) {
		unsigned ep = (unsigned)((start + i) % h->nendpoints);
		json_error_t jerr;
		json_t *j, *err;
		CURLcode rc;
		long code = 0;

		snprintf(url, sizeof(url), "%s%s", h->endpoints[ep], path);
		curl_easy_setopt(c, CURLOPT_URL, url);
		b.n = 0;
		errbuf[0] = 0;
		src = (struct body){ .p = data, .left = strlen(data) };
		rc = curl_easy_perform(c);
		if (rc != CURLE_OK) {
			size_t l = strlen(lasterr);

			snprintf(lasterr + l, sizeof(lasterr) - l, "%s%s: %s", l ? "; " : "",
				 h->endpoints[ep], rc == CURLE_SEND_FAIL_REWIND ?
				 "the connection closed before any answer" :
				 errbuf[0] ? errbuf : curl_easy_strerror(rc));
			if (not_sent(rc) || idempotent)
				continue;
			ret = kp_error_set(errmsg, KP_EIO, "etcd: %s%s: no answer (%s); the write "
					   "may or may not have been applied", h->endpoints[ep],
					   path, lasterr);
			goto out;
		}
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		__atomic_store_n(&h->cur, ep, __ATOMIC_RELAXED);
		j = b.n ? kp_json_loadb(b.p, b.n, 0, &jerr) : NULL;
		if (!j) {
			ret = kp_error_set(errmsg, KP_EIO, "etcd: %s%s: HTTP %ld, answer is not "
					   "JSON: %.200s", h->endpoints[ep], path, code,
					   b.n ? b.p : "(empty)");
			goto out;
		}
		err = json_object_get(j, "error");
		if (err || code != 200) {
			const char *m = json_string_value(json_object_get(j, "message"));

			if (!m)
				m = json_is_string(err) ? json_string_value(err) : "unknown error";
			/*
			 * During an election (~1 s after a leader dies): "no leader"
			 * means refused before anything was proposed, so even a write
			 * is safe to send again; "leader changed" and "request timed
			 * out" may hide an applied write, so only reads go again.
			 * Wait a little, up to 15 s: on a loaded machine an election
			 * can take several seconds.
			 */
			if ((strstr(m, "etcdserver: no leader") ||
			     (idempotent && (strstr(m, "etcdserver: leader changed") ||
					     strstr(m, "etcdserver: request timed out")))) &&
			    noleader_waits < 150) {
				struct timespec ts = { 0, 100 * 1000000L };

				noleader_waits++;
				json_decref(j);
				nanosleep(&ts, NULL);
				i--; /* the same endpoint again */
				continue;
			}
			ret = kp_error_set(errmsg, map_error(m), "etcd: %s%s: %s", h->endpoints[ep],
					   path, m);
			json_decref(j);
			goto out;
		}
		note_rev(&e->revision, jnum(json_object_get(j, "header"), "revision"));
		*resp = j;
		ret = 0;
		goto out;
	}
	ret = kp_error_set(errmsg, KP_EIO, "etcd: no endpoint answered (%s)", lasterr);
out:
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	handle_put(e, c);
	free(b.p);
	free(data);
	return ret;
}

/*
 * A range request: [key, end) (end NULL: the key alone), at rev (0: now),
 * limit (0: none).
 */
static int range(struct kp__etcd *e, const char *key, size_t klen, const char *end,
		 size_t elen, uint64_t rev, size_t limit, bool count_only, json_t **resp,
		 char **errmsg)
{
	json_t *q = json_object();
	int ret = q ? 0 : KP_ENOMEM;

	if (!ret)
		ret = jset_b64(q, "key", key, klen);
	if (!ret && end)
		ret = jset_b64(q, "range_end", end, elen);
	if (!ret && rev)
		ret = jset_u64(q, "revision", rev);
	if (!ret && limit)
		ret = jset_u64(q, "limit", limit);
	if (!ret && count_only)
		ret = json_object_set_new(q, "count_only", json_true()) ? KP_ENOMEM : 0;
	if (ret)
		ret = kp_error_set(errmsg, ret, "out of memory");
	else
		ret = request(e, "/v3/kv/range", q, true, resp, errmsg);
	json_decref(q);
	return ret;
}

uint64_t kp__etcd_revision(struct kp__etcd *e)
{
	json_t *r;

	if (!range(e, "\0", 1, NULL, 0, 0, 1, true, &r, NULL))
		json_decref(r);
	return __atomic_load_n(&e->revision, __ATOMIC_ACQUIRE);
}

uint64_t kp__etcd_compacted(struct kp__etcd *e)
{
	return __atomic_load_n(&e->hub->compacted, __ATOMIC_ACQUIRE);
}

/*
 * etcd does not say what it compacted: find the oldest revision a range
 * may still be read at (a binary search; one request when never compacted).
 */
static int probe_compacted(struct kp__etcd *e, uint64_t now, char **errmsg)
{
	uint64_t lo = 1, hi = now;
	json_t *r;
	int ret;

	while (lo < hi) {
		uint64_t mid = lo == 1 && hi == now ? 1 : lo + (hi - lo) / 2;

		ret = range(e, "\0", 1, NULL, 0, mid, 1, true, &r, errmsg);
		if (!ret) {
			json_decref(r);
			hi = mid;
		} else if (ret == KP_EEXPIRED) {
			free(*errmsg);
			*errmsg = NULL;
			lo = mid + 1;
		} else {
			return ret;
		}
	}
	note_rev(&e->hub->compacted, lo);
	return 0;
}

/* ---- read-only backend view (for get and the snapshot writer) ---- */

struct kp__bview {
	uint64_t rev;
};

static int be_get(struct kp__backend *b, const char *key, size_t klen, struct kp__ver **out,
		  char **errmsg)
{
	struct kp__etcd *e = (struct kp__etcd *)b;
	json_t *r, *kvs;
	int ret = range(e, key, klen, NULL, 0, 0, 0, false, &r, errmsg);

	if (ret)
		return ret;
	kvs = json_object_get(r, "kvs");
	if (json_array_size(kvs) == 0)
		ret = KP_ENOENT;
	else
		ret = kv_from_json(json_array_get(kvs, 0), out, errmsg);
	json_decref(r);
	return ret;
}

static int be_view_open(struct kp__backend *b, struct kp__bview **out, struct kp__meta *meta,
			char **errmsg)
{
	struct kp__etcd *e = (struct kp__etcd *)b;
	json_t *r;
	int ret = range(e, "\0", 1, "\0", 1, 0, 0, true, &r, errmsg);

	if (ret)
		return ret;
	meta->rev = jnum(json_object_get(r, "header"), "revision");
	meta->keys = jnum(r, "count");
	json_decref(r);
	*out = malloc(sizeof(**out));
	if (!*out)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	(*out)->rev = meta->rev;
	return 0;
}

/* Pages through every key >= from at the view's revision. */
static int be_scan(struct kp__backend *b, struct kp__bview *view, const char *from,
		   size_t fromlen, kp__scan_fn fn, void *arg, char **errmsg)
{
	struct kp__etcd *e = (struct kp__etcd *)b;
	char *next = NULL;
	size_t nlen = 0;
	int ret = 0;

	if (from && fromlen) {
		next = malloc(fromlen + 1);
		if (!next)
			return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
		memcpy(next, from, fromlen);
		nlen = fromlen;
	}
	for (;;) {
		json_t *r, *kvs;
		size_t n;
		bool more;

		ret = range(e, next ? next : "\0", next ? nlen : 1, "\0", 1, view->rev, LIST_PAGE,
			    false, &r, errmsg);
		if (ret)
			break;
		kvs = json_object_get(r, "kvs");
		n = json_array_size(kvs);
		more = json_is_true(json_object_get(r, "more"));
		for (size_t i = 0; i < n && !ret; i++) {
			struct kp__ver *v;

			ret = kv_from_json(json_array_get(kvs, i), &v, errmsg);
			if (ret)
				break;
			ret = fn(arg, v);
			if (i == n - 1 && !ret && more) {
				/* Next page from just after this key. */
				char *nn = realloc(next, v->klen + 2);

				if (!nn) {
					ret = kp_error_set(errmsg, KP_ENOMEM, "out of memory");
				} else {
					next = nn;
					memcpy(next, kp__ver_key(v), v->klen);
					next[v->klen] = 0;
					nlen = v->klen + 1;
				}
			}
			kp__ver_unref(v);
		}
		json_decref(r);
		if (ret || !more || !n)
			break;
	}
	free(next);
	return ret > 0 ? 0 : ret;
}

static void be_view_close(struct kp__backend *b, struct kp__bview *view)
{
	(void)b;
	free(view);
}

static int be_write(struct kp__backend *b, const struct kp__bop *ops, size_t n,
		    const struct kp__meta *meta, bool sync, char **errmsg)
{
	(void)b, (void)ops, (void)n, (void)meta, (void)sync;
	return kp_error_set(errmsg, KP_ENOTSUP, "etcd: batch writes go through txn");
}

static void be_close(struct kp__backend *b)
{
	(void)b; /* kp__etcd_close() owns the lifetime */
}

static const struct kp__backend_ops etcd_ops = {
	.name = "etcd",
	.get = be_get,
	.view_open = be_view_open,
	.scan = be_scan,
	.view_close = be_view_close,
	.write = be_write,
	.close = be_close,
};

struct kp__backend *kp__etcd_backend(struct kp__etcd *e)
{
	return &e->be;
}

/* ---- open / close ---- */

static char *dup_opt(const char *s)
{
	return s ? strdup(s) : NULL;
}

int kp__etcd_open(const struct kp_store_options *opts, struct kp__etcd **out, char **errmsg)
{
	struct kp__etcd *e;
	struct ehub *h;
	size_t n = 0;
	int ret;

	*out = NULL;
	while (opts->etcd_endpoints && opts->etcd_endpoints[n])
		n++;
	if (!n)
		return kp_error_set(errmsg, KP_EINVAL, "etcd_endpoints: at least one etcd URL "
				    "is required (--etcd-endpoints http://127.0.0.1:2379)");
	for (size_t i = 0; i < n; i++) {
		const char *u = opts->etcd_endpoints[i];

		if (strncmp(u, "http://", 7) && strncmp(u, "https://", 8))
			return kp_error_set(errmsg, KP_EINVAL, "etcd_endpoints: \"%s\" is not an "
					    "http:// or https:// URL", u);
		if (strlen(u) > 1000)
			return kp_error_set(errmsg, KP_EINVAL, "etcd_endpoints: URL too long");
	}
	if (!!opts->etcd_cert != !!opts->etcd_key)
		return kp_error_set(errmsg, KP_EINVAL, "etcd_cert and etcd_key go together");
	pthread_once(&curl_once, curl_init);
	e = calloc(1, sizeof(*e));
	h = calloc(1, sizeof(*h));
	if (!e || !h || !(h->endpoints = calloc(n, sizeof(char *)))) {
		free(e);
		free(h);
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	}
	pthread_mutex_init(&h->lock, NULL);
	h->refs = 1;
	h->nendpoints = n;
	for (size_t i = 0; i < n; i++) {
		size_t l;

		h->endpoints[i] = strdup(opts->etcd_endpoints[i]);
		/* "http://host:2379/" and "http://host:2379" mean the same. */
		if (h->endpoints[i] && (l = strlen(h->endpoints[i])) && h->endpoints[i][l - 1] == '/')
			h->endpoints[i][l - 1] = 0;
	}
	h->cert = dup_opt(opts->etcd_cert);
	h->key = dup_opt(opts->etcd_key);
	h->ca = dup_opt(opts->etcd_ca);
	e->be.ops = &etcd_ops;
	e->hub = h;
	pthread_mutex_init(&e->pool_lock, NULL);
	e->headers = curl_slist_append(NULL, "Content-Type: application/json");
	/* No "Expect: 100-continue" round trip before large bodies (restores). */
	if (e->headers && !curl_slist_append(e->headers, "Expect:")) {
		curl_slist_free_all(e->headers);
		e->headers = NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (!h->endpoints[i])
			goto out_nomem;
	if ((opts->etcd_cert && !h->cert) || (opts->etcd_key && !h->key) ||
	    (opts->etcd_ca && !h->ca) || !e->headers)
		goto out_nomem;
	{
		json_t *r;

		/* A first request: its error (refused, TLS, not etcd) is the open's. */
		ret = range(e, "\0", 1, NULL, 0, 0, 1, true, &r, errmsg);
		if (!ret) {
			json_decref(r);
			ret = probe_compacted(e, __atomic_load_n(&e->revision, __ATOMIC_ACQUIRE),
					      errmsg);
		}
	}
	if (ret) {
		kp__etcd_close(e);
		return ret;
	}
	*out = e;
	return 0;
out_nomem:
	kp__etcd_close(e);
	return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
}

/* ---- writes ---- */

static int write_op(enum kp__etcd_op op, const char *key, size_t klen, const char *value,
		    size_t len, uint64_t expect, json_t **txn)
{
	json_t *t = json_object(), *cmp = json_object(), *succ = json_object(),
	       *fail = NULL, *inner = json_object();
	int ret = t && cmp && succ && inner ? 0 : KP_ENOMEM;

	if (!ret)
		ret = jset_b64(cmp, "key", key, klen);
	if (!ret && op == KP__ETCD_CREATE) {
		json_object_set_new(cmp, "target", json_string("CREATE"));
		json_object_set_new(cmp, "result", json_string("EQUAL"));
		ret = jset_u64(cmp, "create_revision", 0);
	} else if (!ret && expect) {
		json_object_set_new(cmp, "target", json_string("MOD"));
		json_object_set_new(cmp, "result", json_string("EQUAL"));
		ret = jset_u64(cmp, "mod_revision", expect);
	} else if (!ret) {
		json_object_set_new(cmp, "target", json_string("CREATE"));
		json_object_set_new(cmp, "result", json_string("GREATER"));
		ret = jset_u64(cmp, "create_revision", 0);
	}
	if (!ret)
		ret = jset_b64(inner, "key", key, klen);
	if (!ret && op == KP__ETCD_DELETE)
		ret = json_object_set_new(inner, "prev_kv", json_true()) ? KP_ENOMEM : 0;
	else if (!ret)
		ret = jset_b64(inner, "value", value ? value : "", len);
	if (!ret) {
		json_object_set_new(succ, op == KP__ETCD_DELETE ? "request_delete_range" :
				    "request_put", inner);
		inner = NULL;
		json_object_set_new(t, "compare", json_pack("[o]", cmp));
		cmp = NULL;
		json_object_set_new(t, "success", json_pack("[o]", succ));
		succ = NULL;
	}
	/* A failed conditional write reads the key: absent (ENOENT) or moved (ECONFLICT). */
	if (!ret && op != KP__ETCD_CREATE && expect) {
		json_t *rr = json_object();

		if (!rr || jset_b64(rr, "key", key, klen) ||
		    json_object_set_new(rr, "keys_only", json_true()) ||
		    !(fail = json_pack("[{s:o}]", "request_range", rr)))
			ret = KP_ENOMEM;
		else
			json_object_set_new(t, "failure", fail);
	}
	json_decref(cmp);
	json_decref(succ);
	json_decref(inner);
	if (ret) {
		json_decref(t);
		return ret;
	}
	*txn = t;
	return 0;
}

int kp__etcd_write(struct kp__etcd *e, enum kp__etcd_op op, const char *key, size_t klen,
		   const char *value, size_t len, uint64_t expect, uint64_t *rev,
		   struct kp__ver **prev, char **errmsg)
{
	json_t *t = NULL, *r, *resp0;
	int ret = write_op(op, key, klen, value, len, expect, &t);

	if (ret)
		return kp_error_set(errmsg, ret, "out of memory");
	ret = request(e, "/v3/kv/txn", t, false, &r, errmsg);
	json_decref(t);
	if (ret)
		return ret;
	resp0 = json_array_get(json_object_get(r, "responses"), 0);
	if (!json_is_true(json_object_get(r, "succeeded"))) {
		if (op == KP__ETCD_CREATE)
			ret = KP_EEXIST;
		else if (!expect)
			ret = KP_ENOENT;
		else
			ret = json_array_size(json_object_get(json_object_get(resp0,
					"response_range"), "kvs")) ? KP_ECONFLICT : KP_ENOENT;
		json_decref(r);
		return ret;
	}
	if (rev)
		*rev = jnum(json_object_get(r, "header"), "revision");
	__atomic_fetch_add(&e->writes, 1, __ATOMIC_RELAXED);
	if (op == KP__ETCD_DELETE && prev) {
		json_t *pk = json_object_get(json_object_get(resp0, "response_delete_range"),
					     "prev_kvs");

		*prev = NULL;
		if (json_array_size(pk))
			ret = kv_from_json(json_array_get(pk, 0), prev, errmsg);
	}
	json_decref(r);
	return ret;
}

/* ---- reads ---- */

int kp__etcd_list(struct kp__etcd *e, const char *prefix, uint64_t at_rev,
		  const char *start_key, size_t limit, struct kp_kv_list *out, char **errmsg)
{
	const char *p = prefix ? prefix : "";
	size_t plen = strlen(p), elen;
	const char *from = start_key && strcmp(start_key, p) > 0 ? start_key : p;
	char *end = malloc(plen + 1);
	json_t *r = NULL, *kvs;
	size_t n;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!end)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	elen = prefix_end(p, plen, end);
	if (at_rev && at_rev < kp__etcd_compacted(e)) {
		free(end);
		return KP_EEXPIRED;
	}
	/* One more than asked: tells whether there is a next page and where it starts. */
	ret = range(e, *from ? from : "\0", *from ? strlen(from) : 1, end, elen, at_rev,
		    limit ? limit + 1 : 0, false, &r, errmsg);
	free(end);
	if (ret == KP_EEXPIRED) {
		/* Compacted by someone else: learn how far, for kp_store_oldest_revision(). */
		char *m = NULL;

		probe_compacted(e, kp__etcd_revision(e), &m);
		free(m);
	}
	if (ret)
		return ret;
	kvs = json_object_get(r, "kvs");
	n = json_array_size(kvs);
	out->rev = at_rev ? at_rev : jnum(json_object_get(r, "header"), "revision");
	if (n && !(out->items = calloc(n, sizeof(*out->items))))
		ret = kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	for (size_t i = 0; i < n && !ret; i++) {
		struct kp__ver *v;

		ret = kv_from_json(json_array_get(kvs, i), &v, errmsg);
		if (ret)
			break;
		if (limit && i == limit) {
			out->more = true;
			out->next_key = strdup(kp__ver_key(v));
			if (!out->next_key)
				ret = KP_ENOMEM;
		} else {
			ret = kp__ver_to_kv(v, &out->items[out->n]);
			if (!ret)
				out->n++;
		}
		kp__ver_unref(v);
	}
	json_decref(r);
	if (ret)
		kp_kv_list_release(out);
	return ret;
}

int kp__etcd_count(struct kp__etcd *e, const char *prefix, size_t *out, char **errmsg)
{
	const char *p = prefix ? prefix : "";
	size_t plen = strlen(p), elen;
	char *end = malloc(plen + 1);
	json_t *r;
	int ret;

	if (!end)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	elen = prefix_end(p, plen, end);
	ret = range(e, plen ? p : "\0", plen ? plen : 1, end, elen, 0, 0, true, &r, errmsg);
	free(end);
	if (ret)
		return ret;
	*out = (size_t)jnum(r, "count");
	json_decref(r);
	return 0;
}

int kp__etcd_compact(struct kp__etcd *e, uint64_t rev, char **errmsg)
{
	json_t *q = json_object(), *r;
	int ret;

	if (!q || jset_u64(q, "revision", rev)) {
		json_decref(q);
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	}
	if (rev <= kp__etcd_compacted(e)) {
		json_decref(q);
		return 0;
	}
	ret = request(e, "/v3/kv/compaction", q, false, &r, errmsg);
	json_decref(q);
	if (!ret) {
		json_decref(r);
		note_rev(&e->hub->compacted, rev);
	} else if (ret == KP_EEXPIRED) {
		/* Someone compacted further already: compacting backwards does nothing. */
		free(*errmsg);
		*errmsg = NULL;
		ret = 0;
	} else if (ret == KP_ERANGE) {
		ret = KP_EINVAL;
	}
	return ret;
}

void kp__etcd_stats(struct kp__etcd *e, struct kp_store_stats *out)
{
	size_t keys = 0;

	memset(out, 0, sizeof(*out));
	if (!kp__etcd_count(e, NULL, &keys, NULL))
		out->keys = keys;
	out->writes = __atomic_load_n(&e->writes, __ATOMIC_RELAXED);
	pthread_mutex_lock(&e->hub->lock);
	out->watchers = e->hub->nwatches;
	pthread_mutex_unlock(&e->hub->lock);
}

/* ---- restore ---- */

struct keyset {
	struct kp__ver **v;
	size_t n, cap;
};

static int keys_cb(void *arg, struct kp__ver *v)
{
	struct keyset *s = arg;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		void *p = realloc(s->v, cap * sizeof(*s->v));

		if (!p)
			return KP_ENOMEM;
		s->v = p;
		s->cap = cap;
	}
	s->v[s->n++] = kp__ver_ref(v);
	return 0;
}

static int cmp_keys(const struct kp__ver *a, const struct kp__ver *b)
{
	size_t n = a->klen < b->klen ? a->klen : b->klen;
	int c = memcmp(kp__ver_key(a), kp__ver_key(b), n);

	return c ? c : (a->klen > b->klen) - (a->klen < b->klen);
}

/* One txn: nothing changed since rev, delete old keys not in vers, put every one of vers. */
static int restore_txn(struct kp__etcd *e, const struct keyset *old, uint64_t rev,
		       struct kp__ver *const *vers, size_t n, json_t **out)
{
	json_t *t = json_object(), *succ = json_array(), *cmp = json_object();
	size_t i = 0, j = 0;
	int ret = t && succ && cmp ? 0 : KP_ENOMEM;

	/* A range compare: every key's mod_revision <= rev, i.e. no write since the listing. */
	if (!ret && (jset_b64(cmp, "key", "\0", 1) || jset_b64(cmp, "range_end", "\0", 1) ||
		     json_object_set_new(cmp, "target", json_string("MOD")) ||
		     json_object_set_new(cmp, "result", json_string("LESS")) ||
		     jset_u64(cmp, "mod_revision", rev + 1)))
		ret = KP_ENOMEM;
	/* Both lists are sorted: a merge finds the old keys to delete. */
	while (!ret && i < old->n) {
		int c = j < n ? cmp_keys(old->v[i], vers[j]) : -1;
		json_t *d;

		if (c > 0) {
			j++;
			continue;
		}
		if (c < 0) {
			d = json_object();
			if (!d || jset_b64(d, "key", kp__ver_key(old->v[i]), old->v[i]->klen) ||
			    json_array_append_new(succ, json_pack("{s:o}", "request_delete_range",
								  d)))
				ret = KP_ENOMEM;
		}
		i++;
	}
	for (j = 0; !ret && j < n; j++) {
		json_t *p = json_object();

		if (!p || jset_b64(p, "key", kp__ver_key(vers[j]), vers[j]->klen) ||
		    jset_b64(p, "value", kp__ver_value(vers[j]), vers[j]->vlen) ||
		    json_array_append_new(succ, json_pack("{s:o}", "request_put", p)))
			ret = KP_ENOMEM;
	}
	if (!ret) {
		json_object_set_new(t, "compare", json_pack("[o]", cmp));
		json_object_set_new(t, "success", succ);
		*out = t;
		return 0;
	}
	json_decref(t);
	json_decref(succ);
	json_decref(cmp);
	return ret;
}

int kp__etcd_restore(struct kp__etcd *e, struct kp__ver *const *vers, size_t n, uint64_t *rev,
		     char **errmsg)
{
	int ret = 0;

	for (int attempt = 0; attempt < RESTORE_TRIES; attempt++) {
		struct keyset old = { 0 };
		struct kp__bview *view;
		struct kp__meta meta;
		json_t *t = NULL, *r = NULL;
		bool done = false;

		ret = be_view_open(&e->be, &view, &meta, errmsg);
		if (ret)
			return ret;
		ret = be_scan(&e->be, view, NULL, 0, keys_cb, &old, errmsg);
		be_view_close(&e->be, view);
		if (!ret && (ret = restore_txn(e, &old, meta.rev, vers, n, &t)))
			ret = kp_error_set(errmsg, ret, "out of memory");
		if (!ret)
			ret = request(e, "/v3/kv/txn", t, false, &r, errmsg);
		if (ret == KP_E2BIG) {
			char *m = *errmsg;

			*errmsg = NULL;
			kp_error_set(errmsg, ret, "restore: %zu keys in one etcd txn: %s (start etcd "
				     "with a larger --max-txn-ops / --max-request-bytes)", n,
				     m ? m : "");
			free(m);
		}
		if (!ret && json_is_true(json_object_get(r, "succeeded"))) {
			*rev = jnum(json_object_get(r, "header"), "revision");
			done = true;
		}
		json_decref(r);
		json_decref(t);
		for (size_t i = 0; i < old.n; i++)
			kp__ver_unref(old.v[i]);
		free(old.v);
		if (ret)
			return ret;
		if (done)
			return kp__etcd_compact(e, *rev, errmsg);
		/* A write came in between listing and the txn: list again. */
	}
	return kp_error_set(errmsg, KP_EBUSY, "restore: the keyspace kept changing during %d "
			    "attempts", RESTORE_TRIES);
}

/* ---- watches ---- */

struct kp__etcd_watch {
	struct kp__etcd_watch *next_w, *prev_w; /* hub->watches, under hub->lock */
	struct ehub *hub;
	pthread_t thr;
	pthread_mutex_t mu;
	pthread_cond_t cond;     /* CLOCK_MONOTONIC: queue changed, stop, error */
	struct kp_event q[WATCH_QUEUE];
	size_t qhead, qlen;
	uint64_t start;          /* next revision to ask for (resume point) */
	uint64_t seen;           /* atomic: kp__etcd_watch_revision() */
	uint64_t hdr;            /* header revision of the last progress/event answer */
	int err;                 /* sticky end of stream: KP_EEXPIRED, KP_EIO */
	char *errmsg;
	bool stop;               /* free/close: the thread must end */
	bool cancelled, closed;
	CURLM *multi;
	char *key, *end;         /* base64 */
	struct buf line;
	bool got_any;            /* the current connection delivered an answer */
};

static void wake_stream(struct kp__etcd_watch *w)
{
	if (w->multi)
		curl_multi_wakeup(w->multi);
}

/* Queues ev (stolen) waiting for room; false when the watch is stopping. */
static bool enqueue(struct kp__etcd_watch *w, struct kp_event *ev)
{
	pthread_mutex_lock(&w->mu);
	while (w->qlen == WATCH_QUEUE && !w->stop)
		pthread_cond_wait(&w->cond, &w->mu);
	if (w->stop) {
		pthread_mutex_unlock(&w->mu);
		kp_event_release(ev);
		return false;
	}
	w->q[(w->qhead + w->qlen++) % WATCH_QUEUE] = *ev;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mu);
	return true;
}

static void watch_fail(struct kp__etcd_watch *w, int err, char *msg)
{
	pthread_mutex_lock(&w->mu);
	if (!w->err) {
		w->err = err;
		w->errmsg = msg;
		msg = NULL;
	}
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mu);
	free(msg);
}

static int ver_event(struct kp__ver *v, struct kp_kv *out)
{
	int ret = kp__ver_to_kv(v, out);

	kp__ver_unref(v);
	return ret;
}

/* One answer of the stream; false to end it. */
static bool on_answer(struct kp__etcd_watch *w, const char *s, size_t n)
{
	json_error_t jerr;
	json_t *j = kp_json_loadb(s, n, 0, &jerr), *res, *evs;
	char *msg = NULL;
	bool go = true;

	if (!j) {
		kp_error_set(&msg, KP_EIO, "etcd watch: answer is not JSON: %.200s", s);
		watch_fail(w, KP_EIO, msg);
		return false;
	}
	res = json_object_get(j, "result");
	if (!res) {
		const json_t *err = json_object_get(j, "error");
		const char *m = json_string_value(json_object_get(err, "message"));

		kp_error_set(&msg, KP_EIO, "etcd watch: %s", m ? m : s);
		watch_fail(w, m ? map_error(m) : KP_EIO, msg);
		json_decref(j);
		return false;
	}
	w->got_any = true;
	if (json_is_true(json_object_get(res, "canceled"))) {
		uint64_t c = jnum(res, "compact_revision");
		const char *why = json_string_value(json_object_get(res, "cancel_reason"));

		if (c) {
			note_rev(&w->hub->compacted, c);
			kp_error_set(&msg, KP_EEXPIRED, "etcd watch: revision %" PRIu64 " is "
				     "compacted (oldest %" PRIu64 ")", w->start, c);
			watch_fail(w, KP_EEXPIRED, msg);
		} else {
			kp_error_set(&msg, KP_EIO, "etcd watch cancelled: %s", why ? why : "");
			watch_fail(w, KP_EIO, msg);
		}
		json_decref(j);
		return false;
	}
	evs = json_object_get(res, "events");
	for (size_t i = 0; go && i < json_array_size(evs); i++) {
		const json_t *je = json_array_get(evs, i), *jkv = json_object_get(je, "kv"),
			     *jprev = json_object_get(je, "prev_kv");
		const char *type = json_string_value(json_object_get(je, "type"));
		struct kp_event ev = { 0 };
		struct kp__ver *v = NULL, *pv = NULL;
		uint64_t mr = jnum(jkv, "mod_revision");
		int ret = kv_from_json(jkv, &v, &msg);

		if (!ret && jprev)
			ret = kv_from_json(jprev, &pv, &msg);
		if (ret) {
			kp__ver_unref(v);
			watch_fail(w, ret, msg);
			go = false;
			break;
		}
		if (type && !strcmp(type, "DELETE")) {
			/* etcd's DELETE kv is a bare tombstone: the event carries the last state. */
			ev.type = KP_EVENT_DELETED;
			if (pv) {
				kp__ver_unref(v);
				v = kp__ver_ref(pv);
			}
		} else {
			ev.type = jnum(jkv, "version") == 1 ? KP_EVENT_ADDED : KP_EVENT_MODIFIED;
		}
		ret = ver_event(v, &ev.kv);
		if (!ret && pv)
			ret = ver_event(kp__ver_ref(pv), &ev.prev);
		kp__ver_unref(pv);
		if (ret) {
			kp_event_release(&ev);
			watch_fail(w, KP_ENOMEM, NULL);
			go = false;
			break;
		}
		ev.kv.mod_rev = mr;
		w->start = mr + 1;
		go = enqueue(w, &ev);
	}
	/*
	 * A progress notification or a batch of events: everything up to its
	 * header revision was sent. The "created" answer is not: it carries the
	 * current revision before the history from start was replayed.
	 */
	if (go && !json_is_true(json_object_get(res, "created"))) {
		uint64_t hr = jnum(json_object_get(res, "header"), "revision");

		pthread_mutex_lock(&w->mu);
		if (hr > w->hdr)
			w->hdr = hr;
		if (!w->qlen && w->hdr > w->seen)
			__atomic_store_n(&w->seen, w->hdr, __ATOMIC_RELEASE);
		if (w->hdr + 1 > w->start)
			w->start = w->hdr + 1;
		pthread_mutex_unlock(&w->mu);
	}
	json_decref(j);
	return go;
}

/* The gateway sends one JSON answer per line. */
static size_t stream_cb(char *d, size_t sz, size_t nm, void *arg)
{
	struct kp__etcd_watch *w = arg;
	size_t n = sz * nm, off = 0;

	if (!buf_cb(d, 1, n, &w->line))
		return 0;
	for (;;) {
		char *nl = memchr(w->line.p + off, '\n', w->line.n - off);

		if (!nl)
			break;
		if (nl > w->line.p + off && !on_answer(w, w->line.p + off, (size_t)(nl - w->line.p) - off))
			return 0;
		off = (size_t)(nl - w->line.p) + 1;
	}
	memmove(w->line.p, w->line.p + off, w->line.n - off);
	w->line.n -= off;
	return n;
}

static bool stopping(struct kp__etcd_watch *w)
{
	bool s;

	pthread_mutex_lock(&w->mu);
	s = w->stop || w->err;
	pthread_mutex_unlock(&w->mu);
	return s;
}

/* One connection: until it ends, the watch stops or fails. */
static CURLcode stream_once(struct kp__etcd_watch *w, const char *endpoint, char *errbuf)
{
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	CURL *c = curl_easy_init();
	CURLcode rc = CURLE_OK;
	char url[2048], *body = NULL;
	int running = 1;

	if (!c || !hdr) {
		curl_slist_free_all(hdr);
		curl_easy_cleanup(c);
		return CURLE_OUT_OF_MEMORY;
	}
	if (asprintf(&body, "{\"create_request\":{\"key\":\"%s\",\"range_end\":\"%s\","
		     "\"start_revision\":\"%" PRIu64 "\",\"prev_kv\":true,"
		     "\"progress_notify\":true}}", w->key, w->end, w->start) < 0) {
		curl_slist_free_all(hdr);
		curl_easy_cleanup(c);
		return CURLE_OUT_OF_MEMORY;
	}
	snprintf(url, sizeof(url), "%s/v3/watch", endpoint);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, stream_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	/* Dead peers: TCP keepalive, since a quiet watch is legitimately silent. */
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 10L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 5L);
	tls_setup(c, w->hub);
	w->line.n = 0;
	curl_multi_add_handle(w->multi, c);
	while (running && !stopping(w)) {
		CURLMsg *m;
		int left;

		curl_multi_perform(w->multi, &running);
		while ((m = curl_multi_info_read(w->multi, &left)))
			if (m->msg == CURLMSG_DONE)
				rc = m->data.result;
		if (running)
			curl_multi_poll(w->multi, NULL, 0, 1000, NULL);
	}
	curl_multi_remove_handle(w->multi, c);
	curl_easy_cleanup(c);
	curl_slist_free_all(hdr);
	free(body);
	return rc;
}

static void *stream_main(void *arg)
{
	struct kp__etcd_watch *w = arg;
	struct ehub *h = w->hub;
	unsigned ep = __atomic_load_n(&h->cur, __ATOMIC_RELAXED);
	size_t failures = 0;
	char errbuf[CURL_ERROR_SIZE] = "";

	while (!stopping(w)) {
		CURLcode rc;

		w->got_any = false;
		errbuf[0] = 0;
		rc = stream_once(w, h->endpoints[ep % h->nendpoints], errbuf);
		if (stopping(w))
			break;
		/* The stream ended (etcd went away): resume where we were, on the next endpoint. */
		failures = w->got_any ? 1 : failures + 1;
		if (failures > h->nendpoints) {
			char *msg = NULL;

			kp_error_set(&msg, KP_EIO, "etcd watch: no endpoint serves the stream "
				     "(last: %s: %s)", h->endpoints[ep % h->nendpoints],
				     errbuf[0] ? errbuf : curl_easy_strerror(rc));
			watch_fail(w, KP_EIO, msg);
			break;
		}
		ep++;
		if (!w->got_any) {
			struct timespec ts = { 0, 100 * 1000000L };

			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

int kp__etcd_watch(struct kp__etcd *e, const char *prefix, uint64_t from_rev,
		   struct kp__etcd_watch **out)
{
	struct ehub *h = e->hub;
	const char *p = prefix ? prefix : "";
	size_t plen = strlen(p), elen;
	struct kp__etcd_watch *w;
	pthread_condattr_t ca;
	char *end;
	int ret = 0;

	*out = NULL;
	if (from_rev && from_rev < kp__etcd_compacted(e))
		return KP_EEXPIRED;
	if (!from_rev) {
		from_rev = kp__etcd_revision(e);
	} else {
		/*
		 * etcd would say "compacted" only on the stream, ~100 ms later: ask
		 * now, so that callers get KP_EEXPIRED from here (a range at the
		 * compacted revision itself still works, as the contract wants).
		 */
		json_t *r;
		char *msg = NULL;

		ret = range(e, "\0", 1, NULL, 0, from_rev, 1, true, &r, &msg);
		free(msg);
		msg = NULL;
		if (!ret)
			json_decref(r);
		if (ret == KP_EEXPIRED) {
			probe_compacted(e, kp__etcd_revision(e), &msg);
			free(msg);
			return KP_EEXPIRED;
		}
		ret = 0;
	}
	w = calloc(1, sizeof(*w));
	end = malloc(plen + 1);
	if (!w || !end) {
		free(w);
		free(end);
		return KP_ENOMEM;
	}
	elen = prefix_end(p, plen, end);
	w->key = plen ? kp__b64_encode(p, plen) : kp__b64_encode("\0", 1);
	w->end = kp__b64_encode(end, elen);
	free(end);
	w->multi = curl_multi_init();
	if (!w->key || !w->end || !w->multi) {
		free(w->key);
		free(w->end);
		if (w->multi)
			curl_multi_cleanup(w->multi);
		free(w);
		return KP_ENOMEM;
	}
	w->start = from_rev + 1;
	w->seen = w->hdr = from_rev;
	w->hub = h;
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &ca);
	pthread_condattr_destroy(&ca);

	pthread_mutex_lock(&h->lock);
	if (h->closed) {
		ret = KP_ECLOSED;
	} else {
		h->refs++;
		h->nwatches++;
		w->next_w = h->watches;
		if (h->watches)
			h->watches->prev_w = w;
		h->watches = w;
	}
	pthread_mutex_unlock(&h->lock);
	if (!ret && pthread_create(&w->thr, NULL, stream_main, w)) {
		w->closed = true; /* no thread: the watch only reports closed */
		w->thr = 0;
		watch_fail(w, KP_ENOMEM, NULL);
	}
	if (ret) {
		free(w->key);
		free(w->end);
		curl_multi_cleanup(w->multi);
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return ret;
	}
	*out = w;
	return 0;
}

int kp__etcd_watch_next(struct kp__etcd_watch *w, struct kp_event *ev, int timeout_ms)
{
	struct timespec deadline;
	int ret;

	memset(ev, 0, sizeof(*ev));
	if (timeout_ms > 0) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += timeout_ms / 1000;
		deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_lock(&w->mu);
	for (;;) {
		if (w->closed || w->cancelled) {
			ret = KP_ECLOSED;
			break;
		}
		if (w->qlen) {
			*ev = w->q[w->qhead];
			memset(&w->q[w->qhead], 0, sizeof(w->q[0]));
			w->qhead = (w->qhead + 1) % WATCH_QUEUE;
			w->qlen--;
			__atomic_store_n(&w->seen, w->qlen || w->hdr < ev->kv.mod_rev ?
					 ev->kv.mod_rev : w->hdr, __ATOMIC_RELEASE);
			pthread_cond_broadcast(&w->cond);
			ret = 0;
			break;
		}
		if (w->err) {
			ret = w->err;
			break;
		}
		if (timeout_ms == 0) {
			ret = KP_ETIMEDOUT;
			break;
		}
		if (timeout_ms < 0) {
			pthread_cond_wait(&w->cond, &w->mu);
		} else if (pthread_cond_timedwait(&w->cond, &w->mu, &deadline) == ETIMEDOUT) {
			timeout_ms = 0;
		}
	}
	pthread_mutex_unlock(&w->mu);
	return ret;
}

uint64_t kp__etcd_watch_revision(struct kp__etcd_watch *w)
{
	return __atomic_load_n(&w->seen, __ATOMIC_ACQUIRE);
}

void kp__etcd_watch_cancel(struct kp__etcd_watch *w)
{
	pthread_mutex_lock(&w->mu);
	w->cancelled = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mu);
}

/* Ends the stream thread (close and free). */
static void watch_stop(struct kp__etcd_watch *w, bool closed)
{
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	if (closed)
		w->closed = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mu);
	wake_stream(w);
}

void kp__etcd_watch_free(struct kp__etcd_watch *w)
{
	struct ehub *h;

	if (!w)
		return;
	h = w->hub;
	pthread_mutex_lock(&h->lock);
	if (w->prev_w)
		w->prev_w->next_w = w->next_w;
	else if (h->watches == w)
		h->watches = w->next_w;
	if (w->next_w)
		w->next_w->prev_w = w->prev_w;
	h->nwatches--;
	pthread_mutex_unlock(&h->lock);
	watch_stop(w, false);
	if (w->thr)
		pthread_join(w->thr, NULL);
	for (size_t i = 0; i < w->qlen; i++)
		kp_event_release(&w->q[(w->qhead + i) % WATCH_QUEUE]);
	curl_multi_cleanup(w->multi);
	free(w->key);
	free(w->end);
	free(w->line.p);
	free(w->errmsg);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->mu);
	free(w);
	hub_unref(h);
}

void kp__etcd_close(struct kp__etcd *e)
{
	struct ehub *h;

	if (!e)
		return;
	h = e->hub;
	pthread_mutex_lock(&h->lock);
	h->closed = true;
	for (struct kp__etcd_watch *w = h->watches; w; w = w->next_w)
		watch_stop(w, true);
	pthread_mutex_unlock(&h->lock);
	for (size_t i = 0; i < e->npool; i++)
		curl_easy_cleanup(e->pool[i]);
	free(e->pool);
	curl_slist_free_all(e->headers);
	pthread_mutex_destroy(&e->pool_lock);
	free(e);
	hub_unref(h);
}

/*
 * watch.c - watch streams as suspended connections.
 *
 * Each watch owns a store cursor (kp_store_watch: events are stored once
 * and shared) and a chunked libmicrohttpd response. When the cursor has
 * nothing to send, the content reader suspends the connection: an idle
 * watcher holds no thread. One hub thread follows the whole /registry/
 * prefix and resumes the suspended watchers whose prefix an event touched
 * (and those whose timeout or bookmark is due), so a write wakes only the
 * watchers that can care.
 *
 * Lost wake-ups cannot happen: the reader polls its cursor and suspends
 * under the watcher's mutex, and the hub resumes under the same mutex after
 * the store has published the event to every cursor.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/kplane.h>

#include "core/api/internal.h"
#include "core/api/kinds.h"

#define HUB_BATCH 256
#define PUMP_BATCH 512
#define OUT_HIGH_WATER (256 * 1024)

struct wconn {
	struct kp_api_server *srv;
	struct MHD_Connection *conn;
	struct kp_watch *w; /* NULL for a stream that only reports an error */
	const struct kp_resource *res;
	char *prefix;
	size_t prefix_len;
	struct kp_label_selector *ls;
	struct kp_field_selector *fs;
	bool table;
	char *include_object;
	bool bookmarks;
	bool gateway, prev_kv; /* a store gateway stream (gateway.c's encoding) */
	uint64_t deadline_ns, next_bookmark_ns, bookmark_iv_ns;
	pthread_mutex_t mu;
	bool suspended, done;
	struct kp_buf out;
	size_t off;
	struct wconn *prev, *next;
};

struct kp_watch_hub {
	pthread_mutex_t mu;
	struct wconn *head;
	size_t count;
	pthread_t thread;
	bool thread_started;
	int stop;
	struct kp_watch *w;
};

void kp__watch_wake_all(struct kp_api_server *srv)
{
	struct kp_watch_hub *h = srv->hub;
	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	for (struct wconn *wc = h->head; wc; wc = wc->next) {
		pthread_mutex_lock(&wc->mu);
		if (wc->suspended) {
			wc->suspended = false;
			MHD_resume_connection(wc->conn);
		}
		pthread_mutex_unlock(&wc->mu);
	}
	pthread_mutex_unlock(&h->mu);
}

size_t kp__watch_count(struct kp_api_server *srv)
{
	struct kp_watch_hub *h = srv->hub;
	if (!h)
		return 0;
	pthread_mutex_lock(&h->mu);
	size_t n = h->count;
	pthread_mutex_unlock(&h->mu);
	return n;
}

/* ---- encoding -------------------------------------------------------------------- */

static void add_event_obj(struct wconn *wc, const char *type, json_t *obj);

static void add_event_raw(struct wconn *wc, const char *type, const char *json, size_t len,
			  uint64_t rev)
{
	if (wc->res && (wc->res->flags & KP_RES_CONVERT)) {
		/* Custom resources of several versions: apiVersion as the watcher asked. */
		json_t *o = kp_json_loadb(json, len, 0, NULL);
		if (json_is_object(o)) {
			kp_obj_set_resource_version(o, rev);
			add_event_obj(wc, type, o);
			json_decref(o);
			return;
		}
		json_decref(o);
	}
	kp__buf_adds(&wc->out, "{\"type\":\"");
	kp__buf_adds(&wc->out, type);
	kp__buf_adds(&wc->out, "\",\"object\":");
	if (!kp__splice_rv(&wc->out, json, len, rev))
		kp__buf_add(&wc->out, json, len);
	kp__buf_adds(&wc->out, "}\n");
}

/* obj borrowed, its resourceVersion already set. */
static void add_event_obj(struct wconn *wc, const char *type, json_t *obj)
{
	if (wc->res->flags & KP_RES_HPA_V1)
		kp__hpa_to_v1(obj);
	else if (wc->res->flags & KP_RES_CONVERT)
		json_object_set_new(obj, "apiVersion", json_string(wc->res->group_version));
	kp__buf_adds(&wc->out, "{\"type\":\"");
	kp__buf_adds(&wc->out, type);
	kp__buf_adds(&wc->out, "\",\"object\":");
	if (wc->table) {
		json_t *items = json_array();
		json_array_append(items, obj);
		json_t *t = kp__table(wc->res, items, wc->include_object, NULL, NULL);
		kp__buf_add_json(&wc->out, t);
		json_decref(t);
		json_decref(items);
	} else {
		kp__buf_add_json(&wc->out, obj);
	}
	kp__buf_adds(&wc->out, "}\n");
}

static json_t *parse_kv(const struct kp_kv *kv, uint64_t rev)
{
	json_t *o = kp_json_loadb(kv->value, kv->len, 0, NULL);
	if (o && json_is_object(o))
		kp_obj_set_resource_version(o, rev);
	return o;
}

static void add_error_event(struct kp_buf *out, int code, const char *reason, const char *msg)
{
	json_t *st = json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s, s:i}", "kind", "Status",
			       "apiVersion", "v1", "metadata", "status", "Failure", "message", msg,
			       "reason", reason, "code", code);
	kp__buf_adds(out, "{\"type\":\"ERROR\",\"object\":");
	kp__buf_add_json(out, st);
	kp__buf_adds(out, "}\n");
	json_decref(st);
}

static bool simple(const struct wconn *wc)
{
	return !wc->ls && !wc->fs && !wc->table;
}

/* Encodes one store event as the client sees it (after selectors). */
static void encode_event(struct wconn *wc, const struct kp_event *ev)
{
	if (wc->gateway) {
		kp__gateway_encode_event(&wc->out, ev, wc->prev_kv);
		return;
	}
	if (simple(wc)) {
		add_event_raw(wc, kp_event_type_string(ev->type), ev->kv.value, ev->kv.len,
			      ev->kv.mod_rev);
		return;
	}
	json_t *cur = parse_kv(&ev->kv, ev->kv.mod_rev);
	if (!cur)
		return;
	bool cm = kp__selectors_match(wc->ls, wc->fs, cur);
	if (ev->type == KP_EVENT_ADDED) {
		if (cm)
			add_event_obj(wc, "ADDED", cur);
	} else if (ev->type == KP_EVENT_DELETED) {
		if (cm)
			add_event_obj(wc, "DELETED", cur);
	} else {
		bool pm = false;
		if (ev->prev.key) {
			json_t *prev = parse_kv(&ev->prev, ev->prev.mod_rev);
			pm = prev && kp__selectors_match(wc->ls, wc->fs, prev);
			json_decref(prev);
		}
		if (cm && pm)
			add_event_obj(wc, "MODIFIED", cur);
		else if (cm)
			add_event_obj(wc, "ADDED", cur);
		else if (pm)
			add_event_obj(wc, "DELETED", cur);
	}
	json_decref(cur);
}

static void add_bookmark(struct wconn *wc)
{
	uint64_t rev = kp_watch_revision(wc->w);
	if (!rev)
		return;
	if (wc->gateway) {
		kp__gateway_encode_progress(&wc->out, rev, false);
		return;
	}
	kp__buf_addf(&wc->out,
		     "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"%s\",\"apiVersion\":\"%s\","
		     "\"metadata\":{\"resourceVersion\":\"%llu\"}}}\n",
		     wc->res->kind, wc->res->group_version, (unsigned long long)rev);
}

/* Moves available events into wc->out; called with wc->mu held. */
static void pump(struct wconn *wc)
{
	if (!wc->w)
		return;
	for (int i = 0; i < PUMP_BATCH && wc->out.len < OUT_HIGH_WATER; i++) {
		struct kp_event ev;
		int rc = kp_watch_next(wc->w, &ev, 0);
		if (rc == KP_ETIMEDOUT)
			return;
		if (rc == KP_EEXPIRED && wc->gateway) {
			kp__gateway_encode_canceled(&wc->out, kp_store_oldest_revision(wc->srv->st));
			wc->done = true;
			return;
		}
		if (rc == KP_EEXPIRED) {
			add_error_event(&wc->out, 410, "Expired",
					"too old resource version: the watch fell behind the "
					"retained history; relist and watch again");
			wc->done = true;
			return;
		}
		if (rc) {
			wc->done = true;
			return;
		}
		encode_event(wc, &ev);
		kp_event_release(&ev);
	}
}

/* ---- libmicrohttpd callbacks ------------------------------------------------------- */

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct wconn *wc = cls;
	struct kp_watch_hub *hub = wc->srv->hub;
	pthread_mutex_lock(&wc->mu);
	for (;;) {
		if (wc->off < wc->out.len) {
			size_t n = wc->out.len - wc->off;
			if (n > max)
				n = max;
			memcpy(buf, wc->out.p + wc->off, n);
			wc->off += n;
			if (wc->off == wc->out.len)
				wc->off = wc->out.len = 0;
			pthread_mutex_unlock(&wc->mu);
			return (ssize_t)n;
		}
		if (wc->done) {
			pthread_mutex_unlock(&wc->mu);
			return MHD_CONTENT_READER_END_OF_STREAM;
		}
		uint64_t now = kp_mono_ns();
		if (__atomic_load_n(&hub->stop, __ATOMIC_ACQUIRE) || wc->srv->shutting_down ||
		    now >= wc->deadline_ns) {
			wc->done = true;
			continue;
		}
		/* Custom resources whose CRD (or version) went away: the stream ends. */
		if (wc->res && wc->res->crd &&
		    !kp__crds_find(wc->srv, wc->res->group, wc->res->version, wc->res->plural)) {
			pump(wc);
			wc->done = true;
			continue;
		}
		pump(wc);
		if (wc->out.len || wc->done)
			continue;
		if (wc->bookmarks && now >= wc->next_bookmark_ns) {
			wc->next_bookmark_ns = now + wc->bookmark_iv_ns;
			add_bookmark(wc);
			if (wc->out.len)
				continue;
		}
		wc->suspended = true;
		MHD_suspend_connection(wc->conn);
		pthread_mutex_unlock(&wc->mu);
		return 0;
	}
}

static void wconn_free(void *cls)
{
	struct wconn *wc = cls;
	struct kp_watch_hub *hub = wc->srv->hub;
	pthread_mutex_lock(&hub->mu);
	if (wc->prev)
		wc->prev->next = wc->next;
	else if (hub->head == wc)
		hub->head = wc->next;
	if (wc->next)
		wc->next->prev = wc->prev;
	hub->count--;
	pthread_mutex_unlock(&hub->mu);
	if (wc->w)
		kp_watch_free(wc->w);
	if (wc->ls)
		kp_label_selector_free(wc->ls);
	if (wc->fs)
		kp_field_selector_free(wc->fs);
	free(wc->include_object);
	free(wc->prefix);
	kp__buf_release(&wc->out);
	pthread_mutex_destroy(&wc->mu);
	free(wc);
}

/* ---- hub ---------------------------------------------------------------------------- */

static void wake(struct wconn *wc)
{
	pthread_mutex_lock(&wc->mu);
	if (wc->suspended) {
		wc->suspended = false;
		MHD_resume_connection(wc->conn);
	}
	pthread_mutex_unlock(&wc->mu);
}

static void *hub_main(void *arg)
{
	struct kp_api_server *srv = arg;
	struct kp_watch_hub *hub = srv->hub;
	char *keys[HUB_BATCH];
	while (!__atomic_load_n(&hub->stop, __ATOMIC_ACQUIRE)) {
		size_t nk = 0;
		bool all = false;
		struct kp_event ev;
		int rc = kp_watch_next(hub->w, &ev, 250);
		while (rc == 0) {
			if (nk < HUB_BATCH)
				keys[nk++] = strdup(ev.kv.key);
			else
				all = true;
			kp_event_release(&ev);
			rc = kp_watch_next(hub->w, &ev, 0);
		}
		if (rc == KP_EEXPIRED) {
			/* The hub fell behind: start over from now and wake everyone. */
			kp_watch_free(hub->w);
			hub->w = NULL;
			if (kp_store_watch(srv->st, NULL, 0, &hub->w))
				hub->w = NULL;
			all = true;
		} else if (rc == KP_ECLOSED) {
			all = true;
		}
		uint64_t now = kp_mono_ns();
		pthread_mutex_lock(&hub->mu);
		for (struct wconn *wc = hub->head; wc; wc = wc->next) {
			bool w = all || now >= wc->deadline_ns ||
				 (wc->bookmarks && now >= wc->next_bookmark_ns);
			for (size_t i = 0; i < nk && !w; i++)
				w = !strncmp(keys[i], wc->prefix, wc->prefix_len);
			if (w)
				wake(wc);
		}
		pthread_mutex_unlock(&hub->mu);
		for (size_t i = 0; i < nk; i++)
			free(keys[i]);
		if (rc == KP_ECLOSED || !hub->w)
			break;
	}
	return NULL;
}

int kp__watch_hub_start(struct kp_api_server *srv, char **errmsg)
{
	struct kp_watch_hub *hub = calloc(1, sizeof(*hub));
	if (!hub)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	pthread_mutex_init(&hub->mu, NULL);
	int rc = kp_store_watch(srv->st, NULL, 0, &hub->w);
	if (rc) {
		pthread_mutex_destroy(&hub->mu);
		free(hub);
		return kp_error_set(errmsg, rc, "store watch: %s", kp_strerror(rc));
	}
	srv->hub = hub;
	if (pthread_create(&hub->thread, NULL, hub_main, srv) == 0) {
		pthread_setname_np(hub->thread, "watch-hub");
	} else {
		kp_watch_free(hub->w);
		pthread_mutex_destroy(&hub->mu);
		free(hub);
		srv->hub = NULL;
		return kp_error_set(errmsg, KP_EIO, "cannot start the watch hub thread");
	}
	hub->thread_started = true;
	return 0;
}

void kp__watch_hub_stop(struct kp_api_server *srv)
{
	struct kp_watch_hub *hub = srv->hub;
	if (!hub)
		return;
	__atomic_store_n(&hub->stop, 1, __ATOMIC_RELEASE);
	if (hub->thread_started) {
		if (hub->w)
			kp_watch_cancel(hub->w);
		pthread_join(hub->thread, NULL);
		hub->thread_started = false;
	}
	if (hub->w) {
		kp_watch_free(hub->w);
		hub->w = NULL;
	}
	pthread_mutex_lock(&hub->mu);
	for (struct wconn *wc = hub->head; wc; wc = wc->next) {
		pthread_mutex_lock(&wc->mu);
		wc->done = true;
		if (wc->suspended) {
			wc->suspended = false;
			MHD_resume_connection(wc->conn);
		}
		pthread_mutex_unlock(&wc->mu);
	}
	pthread_mutex_unlock(&hub->mu);
}

void kp__watch_hub_free(struct kp_api_server *srv)
{
	struct kp_watch_hub *hub = srv->hub;
	if (!hub)
		return;
	pthread_mutex_destroy(&hub->mu);
	free(hub);
	srv->hub = NULL;
}

/* ---- starting a watch ---------------------------------------------------------------- */

static bool parse_uint(const char *s, uint64_t *out)
{
	if (!s || !*s || *s == '-')
		return false;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end)
		return false;
	*out = v;
	return true;
}

/* Registers wc with the hub and queues its streaming response (wc is then owned by it). */
static void launch(struct kp_req *r, struct wconn *wc, const char *ctype)
{
	struct kp_watch_hub *hub = r->srv->hub;
	pthread_mutex_lock(&hub->mu);
	wc->next = hub->head;
	if (hub->head)
		hub->head->prev = wc;
	hub->head = wc;
	hub->count++;
	pthread_mutex_unlock(&hub->mu);

	struct MHD_Response *resp =
		MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, reader, wc, wconn_free);
	if (!resp) {
		wconn_free(wc);
		kp__reply_status(r, 500, "InternalError", NULL, "cannot create the watch stream");
		return;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache, private");
	MHD_queue_response(r->conn, 200, resp);
	MHD_destroy_response(resp);
	r->streaming = true;
	r->code = 200;
}

void kp__watch_start(struct kp_req *r)
{
	struct kp_api_server *srv = r->srv;
	struct kp_watch_hub *hub = srv->hub;
	if (__atomic_load_n(&hub->stop, __ATOMIC_ACQUIRE) || srv->shutting_down) {
		kp__reply_status(r, 503, "ServiceUnavailable", NULL, "apiserver is shutting down");
		return;
	}
	struct wconn *wc = calloc(1, sizeof(*wc));
	if (!wc) {
		kp__reply_status(r, 500, "InternalError", NULL, "out of memory");
		return;
	}
	pthread_mutex_init(&wc->mu, NULL);
	wc->srv = srv;
	wc->conn = r->conn;
	wc->res = r->res;
	char *err = NULL;
	if (r->q.label_selector && *r->q.label_selector &&
	    kp_label_selector_parse(r->q.label_selector, &wc->ls, &err)) {
		kp__reply_status(r, 400, "BadRequest", NULL, "unable to parse requirement: %s",
				 err ? err : r->q.label_selector);
		goto fail;
	}
	if (r->q.field_selector && *r->q.field_selector &&
	    kp_field_selector_parse(r->q.field_selector, &wc->fs, &err)) {
		kp__reply_status(r, 400, "BadRequest", NULL, "invalid field selector: %s",
				 err ? err : r->q.field_selector);
		goto fail;
	}
	if (wc->ls && kp_label_selector_is_everything(wc->ls)) {
		kp_label_selector_free(wc->ls);
		wc->ls = NULL;
	}
	if (wc->fs && wc->fs->n == 0) {
		kp_field_selector_free(wc->fs);
		wc->fs = NULL;
	}
	uint64_t timeout = 0;
	if (r->q.timeout_seconds && *r->q.timeout_seconds &&
	    !parse_uint(r->q.timeout_seconds, &timeout)) {
		kp__reply_status(r, 400, "BadRequest", NULL,
				 "timeoutSeconds: invalid value \"%s\": must be a non-negative "
				 "integer",
				 r->q.timeout_seconds);
		goto fail;
	}
	uint64_t now = kp_mono_ns();
	wc->deadline_ns = now + (timeout ? timeout * 1000000000ull :
					   (uint64_t)(srv->opt.watch_timeout * 1e9));
	wc->bookmarks = r->q.allow_bookmarks;
	wc->bookmark_iv_ns = (uint64_t)(srv->opt.bookmark_interval * 1e9);
	wc->next_bookmark_ns = now + wc->bookmark_iv_ns;
	wc->table = kp__wants_table(r->accept);
	if (r->q.include_object)
		wc->include_object = strdup(r->q.include_object);
	struct kp_buf prefix = { 0 };
	kp__registry_key(r->res, r->ns, NULL, &prefix);
	wc->prefix_len = prefix.len;
	wc->prefix = kp__buf_steal(&prefix, NULL);

	const char *rvs = r->q.resource_version;
	uint64_t from = 0;
	if (rvs && *rvs && strcmp(rvs, "0")) {
		if (!parse_uint(rvs, &from)) {
			kp__reply_status(r, 400, "BadRequest", NULL,
					 "resourceVersion: Invalid value: \"%s\": must be a "
					 "non-negative integer",
					 rvs);
			goto fail;
		}
		int rc = kp_store_watch(srv->st, wc->prefix, from, &wc->w);
		if (rc == KP_EEXPIRED) {
			char msg[160];
			snprintf(msg, sizeof(msg), "too old resource version: %llu (%llu)",
				 (unsigned long long)from,
				 (unsigned long long)(kp_store_oldest_revision(srv->st) ?
							      kp_store_oldest_revision(srv->st) - 1 :
							      0));
			add_error_event(&wc->out, 410, "Expired", msg);
			wc->done = true;
			wc->w = NULL;
		} else if (rc) {
			kp__reply_store_error(r, rc, "");
			goto fail;
		}
	} else {
		/* No resourceVersion (or "0"): the current state as ADDED events, then changes. */
		struct kp_kv_list l;
		int rc = kp_store_list(srv->st, wc->prefix, 0, NULL, 0, &l);
		if (rc) {
			kp__reply_store_error(r, rc, "");
			goto fail;
		}
		for (size_t i = 0; i < l.n; i++) {
			struct kp_event ev = { .type = KP_EVENT_ADDED, .kv = l.items[i] };
			encode_event(wc, &ev);
		}
		uint64_t rev = l.rev;
		kp_kv_list_release(&l);
		rc = kp_store_watch(srv->st, wc->prefix, rev, &wc->w);
		if (rc) {
			kp__reply_store_error(r, rc, "");
			goto fail;
		}
	}

	launch(r, wc, wc->table ? "application/json;as=Table;v=v1;g=meta.k8s.io" :
				       "application/json");
	return;
fail:
	free(err);
	if (wc->ls)
		kp_label_selector_free(wc->ls);
	if (wc->fs)
		kp_field_selector_free(wc->fs);
	if (wc->w)
		kp_watch_free(wc->w);
	free(wc->include_object);
	free(wc->prefix);
	kp__buf_release(&wc->out);
	pthread_mutex_destroy(&wc->mu);
	free(wc);
}

void kp__watch_start_gateway(struct kp_req *r, const char *prefix, uint64_t from, bool from_now,
			     bool prev_kv, bool progress)
{
	struct kp_api_server *srv = r->srv;
	struct kp_watch_hub *hub = srv->hub;
	if (__atomic_load_n(&hub->stop, __ATOMIC_ACQUIRE) || srv->shutting_down) {
		kp__reply_status(r, 503, "ServiceUnavailable", NULL, "apiserver is shutting down");
		return;
	}
	struct wconn *wc = calloc(1, sizeof(*wc));
	if (!wc || !(wc->prefix = strdup(prefix))) {
		free(wc);
		kp__reply_status(r, 500, "InternalError", NULL, "out of memory");
		return;
	}
	pthread_mutex_init(&wc->mu, NULL);
	wc->srv = srv;
	wc->conn = r->conn;
	wc->gateway = true;
	wc->prev_kv = prev_kv;
	wc->prefix_len = strlen(prefix);
	/* A component's stream lasts as long as the component (etcd's do too). */
	uint64_t now = kp_mono_ns();
	wc->deadline_ns = UINT64_MAX / 2;
	wc->bookmarks = progress;
	wc->bookmark_iv_ns = (uint64_t)(srv->opt.bookmark_interval * 1e9);
	wc->next_bookmark_ns = now + wc->bookmark_iv_ns;
	/* etcd's start 1 is "from the first revision", which the store forgot if it ever compacted. */
	int rc = from == 0 && kp_store_oldest_revision(srv->st) > 0 && !from_now
			 ? KP_EEXPIRED :
			 kp_store_watch(srv->st, *prefix ? prefix : NULL, from, &wc->w);
	if (rc == KP_EEXPIRED) {
		kp__gateway_encode_canceled(&wc->out, kp_store_oldest_revision(srv->st));
		wc->done = true;
		wc->w = NULL;
	} else if (rc) {
		free(wc->prefix);
		pthread_mutex_destroy(&wc->mu);
		free(wc);
		kp__reply_store_error(r, rc, "");
		return;
	} else {
		kp__gateway_encode_progress(&wc->out, kp_store_revision(srv->st), true);
	}
	launch(r, wc, "application/json");
}

/*
 * server.c - libmicrohttpd glue: connections, bodies, routing, replies,
 * write offload, metrics, health and discovery endpoints.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <kplane/kplane.h>

#include "core/api/internal.h"

#define DEFAULT_MAX_BODY (3u * 1024 * 1024)

/* ---- metrics --------------------------------------------------------------- */

static const double buckets[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0,
				  1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60 };
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

struct counter {
	char verb[16];
	const struct kp_resource *res; /* NULL for non-resource paths */
	int code;
	uint64_t count;
};

struct histo {
	char verb[16];
	const struct kp_resource *res;
	uint64_t b[NBUCKETS];
	uint64_t count;
	double sum;
};

struct kp_metrics {
	pthread_mutex_t mu;
	struct counter *c;
	size_t nc, capc;
	struct histo *h;
	size_t nh, caph;
	uint64_t inflight;
};

/*
 * One series per group and resource: a custom resource's entries are
 * rebuilt when its CRD changes (and exist per version), so they are
 * compared by name. They stay allocated while the server runs.
 */
static bool same_res(const struct kp_resource *a, const struct kp_resource *b)
{
	return a == b || (a && b && a->crd && b->crd && !strcmp(a->plural, b->plural) &&
			  !strcmp(a->group, b->group));
}

static void metrics_observe(struct kp_metrics *m, const char *verb,
			    const struct kp_resource *res, int code, double secs)
{
	pthread_mutex_lock(&m->mu);
	size_t i;
	for (i = 0; i < m->nc; i++)
		if (same_res(m->c[i].res, res) && m->c[i].code == code &&
		    !strcmp(m->c[i].verb, verb))
			break;
	if (i == m->nc) {
		if (m->nc == m->capc) {
			m->capc = m->capc ? m->capc * 2 : 64;
			m->c = realloc(m->c, m->capc * sizeof(*m->c));
			if (!m->c)
				abort();
		}
		memset(&m->c[i], 0, sizeof(m->c[i]));
		snprintf(m->c[i].verb, sizeof(m->c[i].verb), "%s", verb);
		m->c[i].res = res;
		m->c[i].code = code;
		m->nc++;
	}
	m->c[i].count++;
	for (i = 0; i < m->nh; i++)
		if (same_res(m->h[i].res, res) && !strcmp(m->h[i].verb, verb))
			break;
	if (i == m->nh) {
		if (m->nh == m->caph) {
			m->caph = m->caph ? m->caph * 2 : 32;
			m->h = realloc(m->h, m->caph * sizeof(*m->h));
			if (!m->h)
				abort();
		}
		memset(&m->h[i], 0, sizeof(m->h[i]));
		snprintf(m->h[i].verb, sizeof(m->h[i].verb), "%s", verb);
		m->h[i].res = res;
		m->nh++;
	}
	struct histo *h = &m->h[i];
	for (size_t b = 0; b < NBUCKETS; b++)
		if (secs <= buckets[b])
			h->b[b]++;
	h->count++;
	h->sum += secs;
	pthread_mutex_unlock(&m->mu);
}

static void res_labels(const struct kp_resource *r, const char **group, const char **resource)
{
	*group = r ? r->group : "";
	*resource = r ? r->plural : "";
}

void kp__metrics_render(struct kp_api_server *srv, struct kp_buf *out)
{
	struct kp_metrics *m = srv->metrics;
	pthread_mutex_lock(&m->mu);
	kp__buf_adds(out, "# HELP apiserver_request_total Counter of apiserver requests broken out "
			  "for each verb, group, resource and HTTP response code.\n"
			  "# TYPE apiserver_request_total counter\n");
	for (size_t i = 0; i < m->nc; i++) {
		const char *g, *r;
		res_labels(m->c[i].res, &g, &r);
		kp__buf_addf(out,
			     "apiserver_request_total{code=\"%d\",group=\"%s\",resource=\"%s\","
			     "verb=\"%s\"} %llu\n",
			     m->c[i].code, g, r, m->c[i].verb, (unsigned long long)m->c[i].count);
	}
	kp__buf_adds(out, "# HELP apiserver_request_duration_seconds Response latency "
			  "distribution in seconds for each verb, group and resource.\n"
			  "# TYPE apiserver_request_duration_seconds histogram\n");
	for (size_t i = 0; i < m->nh; i++) {
		const char *g, *r;
		res_labels(m->h[i].res, &g, &r);
		for (size_t b = 0; b < NBUCKETS; b++)
			kp__buf_addf(out,
				     "apiserver_request_duration_seconds_bucket{group=\"%s\","
				     "resource=\"%s\",verb=\"%s\",le=\"%g\"} %llu\n",
				     g, r, m->h[i].verb, buckets[b], (unsigned long long)m->h[i].b[b]);
		kp__buf_addf(out,
			     "apiserver_request_duration_seconds_bucket{group=\"%s\",resource=\"%s\","
			     "verb=\"%s\",le=\"+Inf\"} %llu\n",
			     g, r, m->h[i].verb, (unsigned long long)m->h[i].count);
		kp__buf_addf(out,
			     "apiserver_request_duration_seconds_sum{group=\"%s\",resource=\"%s\","
			     "verb=\"%s\"} %.6f\n",
			     g, r, m->h[i].verb, m->h[i].sum);
		kp__buf_addf(out,
			     "apiserver_request_duration_seconds_count{group=\"%s\",resource=\"%s\","
			     "verb=\"%s\"} %llu\n",
			     g, r, m->h[i].verb, (unsigned long long)m->h[i].count);
	}
	uint64_t inflight = m->inflight;
	pthread_mutex_unlock(&m->mu);

	struct kp_store_stats s;
	kp_store_stats(srv->st, &s);
	kp__buf_addf(out,
		     "# HELP apiserver_current_inflight_requests Requests being served now.\n"
		     "# TYPE apiserver_current_inflight_requests gauge\n"
		     "apiserver_current_inflight_requests %llu\n"
		     "# HELP apiserver_registered_watchers Watch streams open now.\n"
		     "# TYPE apiserver_registered_watchers gauge\n"
		     "apiserver_registered_watchers %zu\n"
		     "# HELP kplane_store_revision Current store revision.\n"
		     "# TYPE kplane_store_revision gauge\n"
		     "kplane_store_revision %llu\n"
		     "# HELP kplane_store_oldest_revision Oldest revision a watch may start from.\n"
		     "# TYPE kplane_store_oldest_revision gauge\n"
		     "kplane_store_oldest_revision %llu\n"
		     "# HELP kplane_store_keys Keys in the store.\n"
		     "# TYPE kplane_store_keys gauge\n"
		     "kplane_store_keys %llu\n"
		     "# HELP kplane_store_writes_total Committed store writes.\n"
		     "# TYPE kplane_store_writes_total counter\n"
		     "kplane_store_writes_total %llu\n"
		     "# HELP kplane_store_syncs_total Store fsyncs (writes/syncs = group commit).\n"
		     "# TYPE kplane_store_syncs_total counter\n"
		     "kplane_store_syncs_total %llu\n"
		     "# HELP kplane_store_watchers Store watch cursors open now.\n"
		     "# TYPE kplane_store_watchers gauge\n"
		     "kplane_store_watchers %llu\n"
		     "# HELP kplane_store_events_held Events retained for watches.\n"
		     "# TYPE kplane_store_events_held gauge\n"
		     "kplane_store_events_held %llu\n",
		     (unsigned long long)inflight, kp__watch_count(srv),
		     (unsigned long long)kp_store_revision(srv->st),
		     (unsigned long long)kp_store_oldest_revision(srv->st),
		     (unsigned long long)s.keys, (unsigned long long)s.writes,
		     (unsigned long long)s.syncs, (unsigned long long)s.watchers,
		     (unsigned long long)s.events_held);
	kp__buf_adds(out, "# HELP apiserver_storage_objects Number of stored objects per "
			  "resource.\n# TYPE apiserver_storage_objects gauge\n");
	for (size_t i = 0; i < kp__registry_count(); i++) {
		const struct kp_resource *r = kp__registry_at(i);
		size_t n = 0;
		if (r->flags & (KP_RES_BINDING | KP_RES_HPA_V1)) /* v1 HPAs: the v2 objects */
			continue;
		if (kp_store_count(srv->st, r->key_prefix, &n) == 0)
			kp__buf_addf(out, "apiserver_storage_objects{resource=\"%s\"} %zu\n",
				     r->qualified, n);
	}
	kp__crds_storage_metrics(srv, out);
	if (srv->opt.extra_metrics) {
		char *extra = srv->opt.extra_metrics(srv->opt.extra_metrics_arg);
		if (extra)
			kp__buf_adds(out, extra);
		free(extra);
	}
}

/* ---- replies -------------------------------------------------------------- */

void kp__reply_buf(struct kp_req *r, int code, struct kp_buf *b, const char *ctype)
{
	free(r->reply);
	r->code = code;
	r->reply = kp__buf_steal(b, &r->reply_len);
	r->reply_type = ctype;
	r->replied = true;
}

void kp__reply_json(struct kp_req *r, int code, json_t *v)
{
	struct kp_buf b = { 0 };
	kp__buf_add_json(&b, v);
	kp__buf_add(&b, "\n", 1);
	json_decref(v);
	kp__reply_buf(r, code, &b, "application/json");
}

void kp__reply_text(struct kp_req *r, int code, const char *text)
{
	struct kp_buf b = { 0 };
	kp__buf_adds(&b, text);
	kp__reply_buf(r, code, &b, "text/plain; charset=utf-8");
}

void kp__reply_status(struct kp_req *r, int code, const char *reason, json_t *details,
		      const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	json_t *st = json_pack("{s:s, s:s, s:{}, s:s, s:s}", "kind", "Status", "apiVersion", "v1",
			       "metadata", "status", "Failure", "message", msg ? msg : "");
	if (reason && *reason)
		json_object_set_new(st, "reason", json_string(reason));
	if (details)
		json_object_set_new(st, "details", details);
	json_object_set_new(st, "code", json_integer(code));
	free(msg);
	kp__reply_json(r, code, st);
}

void kp__reply_success(struct kp_req *r, int code, json_t *details)
{
	json_t *st = json_pack("{s:s, s:s, s:{}, s:s}", "kind", "Status", "apiVersion", "v1",
			       "metadata", "status", "Success");
	if (details)
		json_object_set_new(st, "details", details);
	json_object_set_new(st, "code", json_integer(code));
	kp__reply_json(r, code, st);
}

static json_t *details_for(const struct kp_req *r, const char *name)
{
	json_t *d = json_object();
	if (name)
		json_object_set_new(d, "name", json_string(name));
	if (r->res) {
		if (*r->res->group)
			json_object_set_new(d, "group", json_string(r->res->group));
		json_object_set_new(d, "kind", json_string(r->res->plural));
	}
	return d;
}

void kp__reply_store_error(struct kp_req *r, int err, const char *name)
{
	const char *q = r->res ? r->res->qualified : "objects";
	switch (err) {
	case KP_ENOENT:
		kp__reply_status(r, 404, "NotFound", details_for(r, name), "%s \"%s\" not found", q,
				 name);
		break;
	case KP_EEXIST:
		kp__reply_status(r, 409, "AlreadyExists", details_for(r, name),
				 "%s \"%s\" already exists", q, name);
		break;
	case KP_ECONFLICT:
		kp__reply_status(r, 409, "Conflict", details_for(r, name),
				 "Operation cannot be fulfilled on %s \"%s\": the object has been "
				 "modified; please apply your changes to the latest version and "
				 "try again",
				 q, name);
		break;
	case KP_EEXPIRED:
		kp__reply_status(r, 410, "Expired", NULL,
				 "The resourceVersion for the provided list is too old.");
		break;
	case KP_EIO: {
		/* The backend's own words (a disk error, etcd's message, "may or may
		 * not have been applied") say more than the code. */
		char *why = kp_store_last_error(r->srv->st);
		kp__reply_status(r, 500, "InternalError", NULL, "Internal error occurred: store: %s",
				 why ? why : kp_strerror(err));
		free(why);
		break;
	}
	case KP_ENOMEM:
	default:
		kp__reply_status(r, 500, "InternalError", NULL,
				 "Internal error occurred: store: %s", kp_strerror(err));
		break;
	}
}

/* ---- query and headers -------------------------------------------------- */

bool kp__parse_bool(const char *s)
{
	return s && (!strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "True") ||
		     !strcmp(s, "TRUE") || !strcmp(s, "t") || !strcmp(s, "T"));
}

static enum MHD_Result query_it(void *cls, enum MHD_ValueKind kind, const char *key,
				const char *value)
{
	struct kp_query *q = cls;
	struct {
		const char *name;
		char **slot;
	} map[] = {
		{ "labelSelector", &q->label_selector },
		{ "fieldSelector", &q->field_selector },
		{ "continue", &q->cont },
		{ "resourceVersion", &q->resource_version },
		{ "resourceVersionMatch", &q->rv_match },
		{ "timeoutSeconds", &q->timeout_seconds },
		{ "includeObject", &q->include_object },
		{ "dryRun", &q->dry_run },
		{ "propagationPolicy", &q->propagation_policy },
		{ "gracePeriodSeconds", &q->grace_period },
		{ "fieldManager", &q->field_manager },
		{ "limit", &q->limit },
		{ "fieldValidation", &q->field_validation },
	};
	if (!value)
		value = "";
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(key, map[i].name)) {
			free(*map[i].slot);
			*map[i].slot = strdup(value);
			return MHD_YES;
		}
	if (!strcmp(key, "watch"))
		q->watch = kp__parse_bool(value);
	else if (!strcmp(key, "allowWatchBookmarks"))
		q->allow_bookmarks = kp__parse_bool(value);
	else if (!strcmp(key, "force"))
		q->force = kp__parse_bool(value);
	return MHD_YES;
}

static void query_release(struct kp_query *q)
{
	free(q->label_selector);
	free(q->field_selector);
	free(q->cont);
	free(q->resource_version);
	free(q->rv_match);
	free(q->timeout_seconds);
	free(q->include_object);
	free(q->dry_run);
	free(q->propagation_policy);
	free(q->grace_period);
	free(q->field_manager);
	free(q->limit);
	free(q->field_validation);
}

static char *header_dup(struct MHD_Connection *c, const char *name)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
	return v ? strdup(v) : NULL;
}

static void req_free(struct kp_req *r)
{
	if (!r)
		return;
	query_release(&r->q);
	free(r->url);
	free(r->content_type);
	free(r->accept);
	kp__buf_release(&r->body);
	free(r->ns);
	free(r->name);
	free(r->sub);
	free(r->reply);
	kp__buf_release(&r->warnings);
	free(r);
}

/* ---- routing -------------------------------------------------------------- */

/* Splits path into at most max segments (modifies path); returns the count. */
static size_t split_path(char *path, char **seg, size_t max)
{
	size_t n = 0;
	char *save = NULL;
	for (char *t = strtok_r(path, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (n == max)
			return max + 1;
		seg[n++] = t;
	}
	return n;
}

static void reply_not_found_path(struct kp_req *r)
{
	kp__reply_status(r, 404, "NotFound", json_object(), "the server could not find the "
							    "requested resource");
}

/* The KP_VERB_* a request on a resource (not a subresource) asks for. */
static unsigned verb_of(const struct kp_req *r)
{
	switch (r->method) {
	case KP_M_GET:
	case KP_M_HEAD:
		return r->q.watch ? KP_VERB_WATCH : r->name ? KP_VERB_GET : KP_VERB_LIST;
	case KP_M_POST: return KP_VERB_CREATE;
	case KP_M_PUT: return KP_VERB_UPDATE;
	case KP_M_PATCH: return KP_VERB_PATCH;
	case KP_M_DELETE: return r->name ? KP_VERB_DELETE : KP_VERB_DELETECOLLECTION;
	default: return 0;
	}
}

/*
 * Routes /api/v1/... and /apis/<g>/<v>/...; returns true when r names a
 * resource (r->res set), false when a reply was already filled.
 */
static bool route_resource(struct kp_req *r, char **seg, size_t n, const char *group,
			   const char *version)
{
	/* seg[] is what follows the version. */
	size_t i = 0;
	if (i < n && !strcmp(seg[i], "watch")) {
		r->q.watch = true;
		i++;
	}
	const char *ns = NULL;
	if (n - i >= 2 && !strcmp(seg[i], "namespaces") &&
	    (n - i == 2 || (n - i == 3 && (!strcmp(seg[i + 2], "status") ||
					   !strcmp(seg[i + 2], "finalize"))))) {
		/* the namespace object itself */
	} else if (n - i >= 3 && !strcmp(seg[i], "namespaces")) {
		ns = seg[i + 1];
		i += 2;
	}
	if (i >= n) {
		reply_not_found_path(r);
		return false;
	}
	const struct kp_resource *res = kp__registry_find(group, version, seg[i]);
	if (!res && *group)
		res = kp__crds_find(r->srv, group, version, seg[i]);
	if (!res) {
		reply_not_found_path(r);
		return false;
	}
	if (ns && !(res->flags & KP_RES_NAMESPACED)) {
		reply_not_found_path(r);
		return false;
	}
	r->res = res;
	if (ns)
		r->ns = strdup(ns);
	if (i + 1 < n)
		r->name = strdup(seg[i + 1]);
	if (i + 2 < n)
		r->sub = strdup(seg[i + 2]);
	if (i + 3 < n) {
		reply_not_found_path(r);
		return false;
	}
	if (!r->sub && !(res->verbs & verb_of(r))) {
		/* metrics.k8s.io is read-only; namespaces have no deletecollection. */
		kp__reply_status(r, 405, "MethodNotAllowed", NULL,
				 "the server does not allow this method on the requested resource");
		return false;
	}
	return true;
}

static void reply_version(struct kp_req *r)
{
	json_t *v = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "major", "1",
			      "minor", "32", "gitVersion", "v1.32.0+kplane-" PACKAGE_VERSION,
			      "gitCommit", "", "gitTreeState", "clean", "buildDate",
			      "1970-01-01T00:00:00Z", "goVersion", "none", "compiler", "gcc",
			      "platform", "linux/amd64");
	kp__reply_json(r, 200, v);
}

/* Routes and serves everything; sets r->res for resource requests. */
static void dispatch(struct kp_req *r)
{
	char *path = strdup(r->url);
	char *seg[16];
	size_t n = split_path(path, seg, 16);
	if (n > 16) {
		reply_not_found_path(r);
		goto out;
	}
	if (n == 1 && (!strcmp(seg[0], "healthz") || !strcmp(seg[0], "livez") ||
		       !strcmp(seg[0], "readyz"))) {
		if (!strcmp(seg[0], "readyz") && r->srv->shutting_down)
			kp__reply_text(r, 500, "[-]shutdown failed: reason withheld\nreadyz check failed\n");
		else
			kp__reply_text(r, 200, "ok");
		goto out;
	}
	if (n == 2 && (!strcmp(seg[0], "healthz") || !strcmp(seg[0], "livez") ||
		       !strcmp(seg[0], "readyz"))) {
		kp__reply_text(r, 200, "ok");
		goto out;
	}
	if (n == 1 && !strcmp(seg[0], "metrics")) {
		struct kp_buf b = { 0 };
		kp__metrics_render(r->srv, &b);
		kp__reply_buf(r, 200, &b, "text/plain; version=0.0.4; charset=utf-8");
		goto out;
	}
	if (n == 1 && !strcmp(seg[0], "version")) {
		reply_version(r);
		goto out;
	}
	if (n >= 2 && !strcmp(seg[0], "openapi")) {
		kp__openapi_handle(r, seg, n);
		goto out;
	}
	if (n >= 1 && !strcmp(seg[0], "api")) {
		if (n == 1) {
			kp__reply_json(r, 200, kp__discovery_api_versions());
			goto out;
		}
		if (strcmp(seg[1], "v1")) {
			reply_not_found_path(r);
			goto out;
		}
		if (n == 2) {
			kp__reply_json(r, 200, kp__discovery_resources("", "v1"));
			goto out;
		}
		if (route_resource(r, seg + 2, n - 2, "", "v1"))
			kp__rest_handle(r);
		goto out;
	}
	if (n >= 1 && !strcmp(seg[0], "apis")) {
		json_t *d = NULL;
		if (n == 1) {
			d = kp__discovery_groups();
			kp__crds_discovery_groups(r->srv, json_object_get(d, "groups"));
		} else if (n == 2) {
			d = kp__discovery_group(seg[1]);
			if (!d)
				d = kp__crds_discovery_group(r->srv, seg[1]);
		} else if (n == 3) {
			d = kp__discovery_resources(seg[1], seg[2]);
			if (!d)
				d = kp__crds_discovery_resources(r->srv, seg[1], seg[2]);
		}
		else {
			if (route_resource(r, seg + 3, n - 3, seg[1], seg[2]))
				kp__rest_handle(r);
			goto out;
		}
		if (d)
			kp__reply_json(r, 200, d);
		else
			reply_not_found_path(r);
		goto out;
	}
	reply_not_found_path(r);
out:
	free(path);
}

/* ---- write offload ---------------------------------------------------------- */

static void *worker_main(void *arg)
{
	struct kp_api_server *srv = arg;
	pthread_mutex_lock(&srv->jobs_mu);
	for (;;) {
		while (!srv->jobs_head && !srv->jobs_stop)
			pthread_cond_wait(&srv->jobs_cv, &srv->jobs_mu);
		if (!srv->jobs_head)
			break;
		struct kp_req *r = srv->jobs_head;
		srv->jobs_head = r->job_next;
		if (!srv->jobs_head)
			srv->jobs_tail = NULL;
		srv->jobs_running++;
		pthread_mutex_unlock(&srv->jobs_mu);

		if (kp__gateway_path(r->url))
			kp__gateway_handle(r);
		else
			kp__rest_handle(r);
		if (!r->replied)
			kp__reply_status(r, 500, "InternalError", NULL, "Internal error occurred: "
									"no reply");
		MHD_resume_connection(r->conn);

		pthread_mutex_lock(&srv->jobs_mu);
		srv->jobs_running--;
		if (!srv->jobs_head && !srv->jobs_running)
			pthread_cond_broadcast(&srv->jobs_idle_cv);
	}
	pthread_mutex_unlock(&srv->jobs_mu);
	return NULL;
}

static void offload(struct kp_req *r)
{
	struct kp_api_server *srv = r->srv;
	r->offloaded = true;
	MHD_suspend_connection(r->conn);
	pthread_mutex_lock(&srv->jobs_mu);
	r->job_next = NULL;
	if (srv->jobs_tail)
		srv->jobs_tail->job_next = r;
	else
		srv->jobs_head = r;
	srv->jobs_tail = r;
	pthread_mutex_unlock(&srv->jobs_mu);
	/* After unlocking: a worker woken under the lock would block on it again. */
	pthread_cond_signal(&srv->jobs_cv);
}

/* ---- libmicrohttpd callbacks -------------------------------------------------- */

static enum kp_method parse_method(const char *m)
{
	if (!strcmp(m, "GET"))
		return KP_M_GET;
	if (!strcmp(m, "POST"))
		return KP_M_POST;
	if (!strcmp(m, "PUT"))
		return KP_M_PUT;
	if (!strcmp(m, "PATCH"))
		return KP_M_PATCH;
	if (!strcmp(m, "DELETE"))
		return KP_M_DELETE;
	if (!strcmp(m, "HEAD"))
		return KP_M_HEAD;
	return KP_M_OTHER;
}

static enum MHD_Result queue_reply(struct kp_req *r)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		r->reply_len, r->reply, MHD_RESPMEM_MUST_FREE);
	if (!resp)
		return MHD_NO;
	r->reply = NULL;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				r->reply_type ? r->reply_type : "application/json");
	if (r->code == 405)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
					"GET, POST, PUT, PATCH, DELETE");
	for (char *w = r->warnings.p, *nl; w && w < r->warnings.p + r->warnings.len; w = nl + 1) {
		nl = memchr(w, '\n', (size_t)(r->warnings.p + r->warnings.len - w));
		if (!nl)
			break;
		*nl = 0;
		MHD_add_response_header(resp, "Warning", w);
	}
	if (r->srv->shutting_down)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)r->code, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct kp_api_server *srv = cls;
	struct kp_req *r = *con_cls;
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		r->srv = srv;
		r->conn = conn;
		r->start_ns = kp_mono_ns();
		r->method = parse_method(method);
		r->url = strdup(url);
		r->verb = method;
		*con_cls = r;
		pthread_mutex_lock(&srv->metrics->mu);
		srv->metrics->inflight++;
		pthread_mutex_unlock(&srv->metrics->mu);
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > srv->opt.max_body)
			r->body_too_large = true;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (r->body.len + *upload_data_size > srv->opt.max_body)
			r->body_too_large = true;
		else
			kp__buf_add(&r->body, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (r->offloaded)
		return r->replied ? queue_reply(r) : MHD_YES;

	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, query_it, &r->q);
	r->content_type = header_dup(conn, MHD_HTTP_HEADER_CONTENT_TYPE);
	r->accept = header_dup(conn, MHD_HTTP_HEADER_ACCEPT);
	if (r->body_too_large) {
		kp__reply_status(r, 413, "RequestEntityTooLarge", NULL,
				 "the server has received a request that is too large: request "
				 "body exceeds %zu bytes",
				 srv->opt.max_body);
		return queue_reply(r);
	}
	if (r->method == KP_M_OTHER) {
		kp__reply_status(r, 405, "MethodNotAllowed", NULL,
				 "the server does not allow this method on the requested resource");
		return queue_reply(r);
	}
	if (kp__gateway_path(r->url)) {
		if (kp__gateway_is_write(r->url) && r->method == KP_M_POST) {
			if (srv->shutting_down) {
				kp__reply_status(r, 503, "ServiceUnavailable", NULL,
						 "apiserver is shutting down");
				return queue_reply(r);
			}
			offload(r);
			return MHD_YES;
		}
		kp__gateway_handle(r);
		if (r->streaming)
			return MHD_YES;
		return queue_reply(r);
	}
	/* Route first (cheap); writes then run on a worker. */
	char *path = strdup(r->url);
	char *seg[16];
	size_t n = split_path(path, seg, 16);
	bool resource = n >= 3 && n <= 16 &&
			((!strcmp(seg[0], "api") && !strcmp(seg[1], "v1")) ||
			 (!strcmp(seg[0], "apis") && n >= 4));
	if (resource) {
		bool ok = !strcmp(seg[0], "api") ?
				  route_resource(r, seg + 2, n - 2, "", "v1") :
				  route_resource(r, seg + 3, n - 3, seg[1], seg[2]);
		free(path);
		if (!ok)
			return queue_reply(r);
		if (kp__rest_is_write(r)) {
			if (srv->shutting_down) {
				kp__reply_status(r, 503, "ServiceUnavailable", NULL,
						 "apiserver is shutting down");
				return queue_reply(r);
			}
			offload(r);
			return MHD_YES;
		}
		kp__rest_handle(r);
	} else {
		free(path);
		dispatch(r);
	}
	if (r->streaming)
		return MHD_YES;
	if (!r->replied)
		kp__reply_status(r, 500, "InternalError", NULL, "Internal error occurred: no reply");
	return queue_reply(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct kp_api_server *srv = cls;
	struct kp_req *r = *con_cls;
	if (!r)
		return;
	double secs = (double)(kp_mono_ns() - r->start_ns) / 1e9;
	const struct kp_resource *res = r->res;
	const char *verb = r->verb;
	char vbuf[16];
	if (r->res) {
		if (r->streaming || (r->method == KP_M_GET && r->q.watch))
			verb = "WATCH";
		else if (r->method == KP_M_GET && !r->name)
			verb = "LIST";
		else if (r->method == KP_M_DELETE && !r->name)
			verb = "DELETECOLLECTION";
	}
	snprintf(vbuf, sizeof(vbuf), "%s", verb ? verb : "OTHER");
	metrics_observe(srv->metrics, vbuf, res, r->code ? r->code : 200, secs);
	pthread_mutex_lock(&srv->metrics->mu);
	srv->metrics->inflight--;
	pthread_mutex_unlock(&srv->metrics->mu);
	req_free(r);
	*con_cls = NULL;
}

/* ---- start / stop ------------------------------------------------------------- */

static int open_listener(const char *listen_addr, int *fd_out, uint16_t *port_out,
			 char **errmsg)
{
	char host[256];
	const char *colon = strrchr(listen_addr, ':');
	if (!colon || colon == listen_addr)
		return kp_error_set(errmsg, KP_EINVAL,
				    "--listen: \"%s\" is not ADDR:PORT (e.g. 127.0.0.1:6443)",
				    listen_addr);
	size_t hl = (size_t)(colon - listen_addr);
	if (hl >= sizeof(host))
		return kp_error_set(errmsg, KP_EINVAL, "--listen: address too long");
	memcpy(host, listen_addr, hl);
	host[hl] = 0;
	char *end;
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (*end || colon[1] == 0 || port > 65535 || errno)
		return kp_error_set(errmsg, KP_EINVAL, "--listen: bad port \"%s\"", colon + 1);
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof(ss));
	int family;
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		host[hl - 1] = 0;
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
			return kp_error_set(errmsg, KP_EINVAL, "--listen: bad IPv6 address \"%s\"",
					    host + 1);
		family = AF_INET6;
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		if (!strcmp(host, "localhost"))
			strcpy(host, "127.0.0.1");
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return kp_error_set(errmsg, KP_EINVAL, "--listen: bad IPv4 address \"%s\"",
					    host);
		family = AF_INET;
		sl = sizeof(*s4);
	}
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return kp_error_set(errmsg, KP_EIO, "socket: %s", strerror(errno));
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		int e = errno;
		close(fd);
		return kp_error_set(errmsg, e == EADDRINUSE ? KP_EBUSY : KP_EIO,
				    "cannot listen on %s: %s", listen_addr, strerror(e));
	}
	if (listen(fd, 4096) < 0) {
		int e = errno;
		close(fd);
		return kp_error_set(errmsg, KP_EIO, "listen %s: %s", listen_addr, strerror(e));
	}
	struct sockaddr_storage got;
	socklen_t gl = sizeof(got);
	getsockname(fd, (struct sockaddr *)&got, &gl);
	*port_out = ntohs(family == AF_INET ? ((struct sockaddr_in *)&got)->sin_port :
					      ((struct sockaddr_in6 *)&got)->sin6_port);
	*fd_out = fd;
	return 0;
}

static const char *const system_namespaces[] = { "default", "kube-system", "kube-public",
						 "kube-node-lease" };

static int create_system_namespaces(struct kp_store *st, char **errmsg)
{
	for (size_t i = 0; i < sizeof(system_namespaces) / sizeof(system_namespaces[0]); i++) {
		char key[128];
		snprintf(key, sizeof(key), "/registry/core/namespaces/%s", system_namespaces[i]);
		struct kp_kv kv;
		if (kp_store_get(st, key, &kv) == 0) {
			kp_kv_release(&kv);
			continue;
		}
		char uid[37], ts[KP_TIME_BUFSZ];
		kp_uuid4(uid);
		kp_time_format(kp_time_now(), ts);
		json_t *o = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:{s:s}}, s:{s:[s]}, "
				      "s:{s:s}}",
				      "apiVersion", "v1", "kind", "Namespace", "metadata", "name",
				      system_namespaces[i], "uid", uid, "creationTimestamp", ts,
				      "labels", "kubernetes.io/metadata.name", system_namespaces[i],
				      "spec", "finalizers", "kubernetes", "status", "phase",
				      "Active");
		char *s = kp_json_dumps(o, NULL);
		json_decref(o);
		int rc = kp_store_create(st, key, s, strlen(s), NULL);
		free(s);
		if (rc && rc != KP_EEXIST)
			return kp_error_set(errmsg, rc, "creating namespace %s: %s",
					    system_namespaces[i], kp_strerror(rc));
	}
	return 0;
}

static void *compactor_main(void *arg)
{
	struct kp_api_server *srv = arg;
	uint64_t prev = kp_store_revision(srv->st);
	pthread_mutex_lock(&srv->bg_mu);
	while (!srv->bg_stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		double iv = srv->opt.compact_interval;
		ts.tv_sec += (time_t)iv;
		ts.tv_nsec += (long)((iv - (double)(time_t)iv) * 1e9);
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		int rc = 0;
		while (!srv->bg_stop && rc != ETIMEDOUT)
			rc = pthread_cond_timedwait(&srv->bg_cv, &srv->bg_mu, &ts);
		if (srv->bg_stop)
			break;
		pthread_mutex_unlock(&srv->bg_mu);
		/* etcd-style: compact up to what was current one interval ago. */
		uint64_t now = kp_store_revision(srv->st);
		if (prev > kp_store_oldest_revision(srv->st))
			kp_store_compact(srv->st, prev);
		prev = now;
		pthread_mutex_lock(&srv->bg_mu);
	}
	pthread_mutex_unlock(&srv->bg_mu);
	return NULL;
}

static void stop_workers(struct kp_api_server *srv)
{
	pthread_mutex_lock(&srv->jobs_mu);
	srv->jobs_stop = true;
	pthread_cond_broadcast(&srv->jobs_cv);
	pthread_mutex_unlock(&srv->jobs_mu);
	for (unsigned i = 0; i < srv->nworkers; i++)
		pthread_join(srv->workers[i], NULL);
	free(srv->workers);
	srv->workers = NULL;
	srv->nworkers = 0;
}

static void server_free(struct kp_api_server *srv)
{
	if (srv->metrics) {
		free(srv->metrics->c);
		free(srv->metrics->h);
		pthread_mutex_destroy(&srv->metrics->mu);
		free(srv->metrics);
	}
	pthread_mutex_destroy(&srv->jobs_mu);
	pthread_cond_destroy(&srv->jobs_cv);
	pthread_cond_destroy(&srv->jobs_idle_cv);
	pthread_mutex_destroy(&srv->bg_mu);
	pthread_cond_destroy(&srv->bg_cv);
	free(srv->server_url);
	free(srv);
}

int kp_api_server_start(struct kp_store *st, const struct kp_api_options *opts,
			struct kp_api_server **out, char **errmsg)
{
	kp__registry_init();
	kp__openapi_init();
	struct kp_api_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	srv->st = st;
	if (opts)
		srv->opt = *opts;
	if (!srv->opt.listen)
		srv->opt.listen = "127.0.0.1:6443";
	if (!srv->opt.threads) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		srv->opt.threads = n > 0 ? (unsigned)n : 2;
	}
	if (!srv->opt.write_workers)
		srv->opt.write_workers = 64;
	if (!srv->opt.max_body)
		srv->opt.max_body = DEFAULT_MAX_BODY;
	if (srv->opt.compact_interval <= 0)
		srv->opt.compact_interval = 300;
	if (srv->opt.bookmark_interval <= 0)
		srv->opt.bookmark_interval = 60;
	if (srv->opt.watch_timeout <= 0)
		srv->opt.watch_timeout = 1800;
	srv->listen_fd = -1;
	pthread_mutex_init(&srv->jobs_mu, NULL);
	pthread_cond_init(&srv->jobs_cv, NULL);
	pthread_cond_init(&srv->jobs_idle_cv, NULL);
	pthread_mutex_init(&srv->bg_mu, NULL);
	pthread_cond_init(&srv->bg_cv, NULL);
	srv->metrics = calloc(1, sizeof(*srv->metrics));
	if (!srv->metrics) {
		server_free(srv);
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	}
	pthread_mutex_init(&srv->metrics->mu, NULL);

	int rc = create_system_namespaces(st, errmsg);
	if (rc)
		goto out_free;
	rc = open_listener(srv->opt.listen, &srv->listen_fd, &srv->port, errmsg);
	if (rc)
		goto out_free;
	rc = kp__watch_hub_start(srv, errmsg);
	if (rc)
		goto out_close;
	/* After the hub: the CRD informer wakes watchers when the served set changes. */
	rc = kp__crds_start(srv, errmsg);
	if (rc)
		goto out_crds;
	srv->workers = calloc(srv->opt.write_workers, sizeof(pthread_t));
	if (!srv->workers) {
		rc = kp_error_set(errmsg, KP_ENOMEM, "out of memory");
		goto out_crds;
	}
	for (unsigned i = 0; i < srv->opt.write_workers; i++) {
		if (pthread_create(&srv->workers[i], NULL, worker_main, srv) == 0)
			pthread_setname_np(srv->workers[i], "api-write");
		else
			break;
		srv->nworkers++;
	}
	if (!srv->nworkers) {
		rc = kp_error_set(errmsg, KP_EIO, "cannot start worker threads");
		goto out_workers;
	}
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO;
	srv->daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_LISTEN_SOCKET, srv->listen_fd,
		MHD_OPTION_THREAD_POOL_SIZE, srv->opt.threads, MHD_OPTION_NOTIFY_COMPLETED,
		on_completed, srv, MHD_OPTION_CONNECTION_LIMIT, (unsigned)20000,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)600, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)(32 * 1024), MHD_OPTION_END);
	if (!srv->daemon) {
		rc = kp_error_set(errmsg, KP_EIO, "libmicrohttpd failed to start on %s",
				  srv->opt.listen);
		goto out_workers;
	}
	if (pthread_create(&srv->compactor, NULL, compactor_main, srv) == 0)
		srv->compactor_started = true;
	*out = srv;
	return 0;

out_workers:
	stop_workers(srv);
out_crds:
	kp__crds_free(srv);
	kp__watch_hub_stop(srv);
	kp__watch_hub_free(srv);
out_close:
	close(srv->listen_fd);
out_free:
	server_free(srv);
	return rc;
}

uint16_t kp_api_server_port(const struct kp_api_server *srv)
{
	return srv->port;
}

void kp_api_server_stop(struct kp_api_server *srv)
{
	if (!srv)
		return;
	srv->shutting_down = 1;
	int fd = MHD_quiesce_daemon(srv->daemon);
	if (fd >= 0)
		close(fd);
	/* Let queued and running writes finish: they were acknowledged to nobody yet. */
	pthread_mutex_lock(&srv->jobs_mu);
	while (srv->jobs_head || srv->jobs_running)
		pthread_cond_wait(&srv->jobs_idle_cv, &srv->jobs_mu);
	pthread_mutex_unlock(&srv->jobs_mu);
	/* The CRD informer wakes watchers: it stops before the hub goes. */
	kp__crds_stop(srv);
	kp__watch_hub_stop(srv);
	/* Give resumed connections a moment to flush their last bytes. */
	for (int i = 0; i < 50 && kp__watch_count(srv) > 0; i++)
		usleep(10000);
	MHD_stop_daemon(srv->daemon);
	kp__watch_hub_free(srv);
	stop_workers(srv);
	if (srv->compactor_started) {
		pthread_mutex_lock(&srv->bg_mu);
		srv->bg_stop = true;
		pthread_cond_broadcast(&srv->bg_cv);
		pthread_mutex_unlock(&srv->bg_mu);
		pthread_join(srv->compactor, NULL);
	}
	kp__crds_free(srv);
	server_free(srv);
}

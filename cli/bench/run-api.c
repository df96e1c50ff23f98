/*
 * run-api.c - a workload through a whole kplane: `kplane server --store
 * leveldb` started here on loopback (or --server URL), nodes and pods
 * created over REST by concurrent keep-alive libcurl clients (one multi
 * handle, --threads transfers in flight), the server's own scheduler
 * binding them, and a watch on pods telling us when each one is bound.
 *
 * A pod counts as bound at the moment its MODIFIED event with a
 * spec.nodeName arrives on the watch, as upstream's scheduler_perf counts
 * from its informer; unschedulable means its PodScheduled=False condition
 * arrived and it is not bound.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include <kplane/error.h>
#include <kplane/object.h>

#include "cli/bench/bench.h"

/* Pods POSTed at once: the API benchmark's 64 clients, enough that creates keep the
 * scheduler busy (16 left it waiting on their synced writes). */
#define SB_API_CLIENTS 64

struct prec {
	int64_t create_ns;
	_Atomic int64_t bind_ns;   /* 0 = not bound */
	atomic_bool unsched;
	int32_t midx;
	int32_t op;
	bool gated;                /* created with spec.schedulingGates */
	atomic_bool deleted;
	char *node;                /* set by the watch thread before bind_ns */
};

struct api;

/* Background work (deletePods with skipWaitToCompletion, churn). */
struct bg_delete {
	struct api *a;
	const struct sb_op *op;
	pthread_t thread;
	int rc;
	char *err;
};

struct api {
	const struct sb_options *o;
	const struct sb_workload *w;
	struct sb_result *r;
	char url[256];
	pid_t pid;                 /* server we started, 0 = --server */
	char *dir;                 /* its data dir */
	/* pods: "ns/name" -> index; recs preallocated for every createPods op */
	pthread_mutex_t lock;
	json_t *index;
	struct prec *recs;
	int64_t nrecs, caprecs;
	json_t *pods;              /* rendered pods (for the final check) */
	json_t *nodes;
	json_t *namespaces;
	int64_t seq;
	char prefix[32];           /* name prefix with --server */
	/* watch */
	pthread_t watch_thread;
	bool watching;
	atomic_bool stop;
	atomic_bool watch_failed;
	_Atomic int64_t nbound, nunsched;
	_Atomic int64_t last_change;  /* a pod bound or turned unschedulable */
	char *wbuf;
	size_t wlen, wcap;
	int64_t last_progress;
	struct bg_delete **bg;
	size_t nbg;
};

/* ------------------------------------------------------------------ */
/* server                                                             */

static char *find_kplane(const struct sb_options *o)
{
	if (o->kplane_bin)
		return strdup(o->kplane_bin);
	const char *env = getenv("KPLANE");
	if (env && *env)
		return strdup(env);
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		char *d = dirname(exe);
		/* in a build tree we run from cli/.libs: prefer the libtool wrapper */
		static const char *const cands[] = { "/../kplane", "/kplane", NULL };
		for (size_t i = 0; cands[i]; i++) {
			char *p = NULL;
			if (asprintf(&p, "%s%s", d, cands[i]) < 0)
				return NULL;
			struct stat st;
			if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0)
				return p;
			free(p);
		}
	}
	return strdup("kplane"); /* from PATH */
}

void sb_build_tree_plugin_path(void)
{
	const char *kpp = getenv("KPLANE_PLUGIN_PATH");
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if ((kpp && *kpp) || n <= 0)
		return;
	exe[n] = 0;
	char *d = dirname(exe);
	static const char *const rel[] = { "/../plugins/.libs", "/../../plugins/.libs", NULL };
	for (size_t i = 0; rel[i]; i++) {
		char p[PATH_MAX + 32];
		struct stat st;
		snprintf(p, sizeof(p), "%s%s", d, rel[i]);
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			setenv("KPLANE_PLUGIN_PATH", p, 1);
			return;
		}
	}
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int start_server(struct api *a, char **errmsg)
{
	const char *tmp = getenv("TMPDIR");
	if (asprintf(&a->dir, "%s/sched-bench.XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	if (!mkdtemp(a->dir)) {
		int rc = kp_error_set(errmsg, -errno, "mkdtemp %s: %s", a->dir, strerror(errno));
		free(a->dir);
		a->dir = NULL;
		return rc;
	}
	char *bin = find_kplane(a->o);
	char data[PATH_MAX], portf[PATH_MAX], logf[PATH_MAX], seed[32];
	snprintf(data, sizeof(data), "%s/data", a->dir);
	snprintf(portf, sizeof(portf), "%s/port", a->dir);
	snprintf(logf, sizeof(logf), "%s/server.log", a->dir);
	snprintf(seed, sizeof(seed), "%llu", (unsigned long long)a->o->seed);
	const char *argv[16];
	int ac = 0;
	argv[ac++] = bin;
	argv[ac++] = "server";
	argv[ac++] = "--store";
	argv[ac++] = "leveldb";
	argv[ac++] = "--data-dir";
	argv[ac++] = data;
	argv[ac++] = "--listen";
	argv[ac++] = "127.0.0.1:0";
	argv[ac++] = "--port-file";
	argv[ac++] = portf;
	argv[ac++] = "--seed";
	argv[ac++] = seed;
	if (a->o->sched_config) {
		argv[ac++] = "--scheduler-config";
		argv[ac++] = a->o->sched_config;
	}
	argv[ac] = NULL;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		free(bin);
		return kp_error_set(errmsg, -errno, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		/* a server from a build tree finds the tree's plugin modules */
		char pd[PATH_MAX + 32];
		char bcopy[PATH_MAX];
		snprintf(bcopy, sizeof(bcopy), "%s", bin);
		snprintf(pd, sizeof(pd), "%s/../plugins/.libs", dirname(bcopy));
		struct stat pst;
		const char *kpp = getenv("KPLANE_PLUGIN_PATH");
		if ((!kpp || !*kpp) && strchr(bin, '/') && stat(pd, &pst) == 0)
			setenv("KPLANE_PLUGIN_PATH", pd, 1);
		int fd = open(logf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execvp(bin, (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	a->pid = pid;
	int64_t deadline = sb_now_ns() + 20000000000LL;
	for (;;) {
		char *buf = NULL;
		if (sb_read_file(portf, &buf, NULL) == 0) {
			int port = atoi(buf);
			free(buf);
			if (port > 0) {
				snprintf(a->url, sizeof(a->url), "http://127.0.0.1:%d", port);
				break;
			}
		}
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid || sb_now_ns() > deadline) {
			char *log = NULL;
			sb_read_file(logf, &log, NULL);
			int rc = kp_error_set(errmsg, KP_EIO, "%s server did not start: %s", bin,
					      log && *log ? log : "no output");
			free(log);
			free(bin);
			if (waitpid(pid, &st, WNOHANG) == 0) {
				kill(pid, SIGKILL);
				waitpid(pid, &st, 0);
			}
			a->pid = 0;
			return rc;
		}
		usleep(20000);
	}
	free(bin);
	return 0;
}

static int64_t server_peak_rss(pid_t pid)
{
	char p[64], *buf = NULL;
	snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
	if (sb_read_file(p, &buf, NULL) < 0)
		return 0;
	char *h = strstr(buf, "VmHWM:");
	int64_t kb = h ? strtoll(h + 6, NULL, 10) : 0;
	free(buf);
	return kb * 1024;
}

static void stop_server(struct api *a)
{
	if (a->pid > 0) {
		int st;
		kill(a->pid, SIGTERM);
		int64_t deadline = sb_now_ns() + 10000000000LL;
		while (waitpid(a->pid, &st, WNOHANG) == 0) {
			if (sb_now_ns() > deadline) {
				kill(a->pid, SIGKILL);
				waitpid(a->pid, &st, 0);
				break;
			}
			usleep(10000);
		}
		a->pid = 0;
	}
	if (a->dir) {
		nftw(a->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		free(a->dir);
		a->dir = NULL;
	}
}

/* ------------------------------------------------------------------ */
/* HTTP                                                               */

struct buf {
	char *p;
	size_t n;
};

static size_t collect(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;
	size_t n = size * nmemb;
	char *q = realloc(b->p, b->n + n + 1);
	if (!q)
		return 0;
	memcpy(q + b->n, ptr, n);
	b->n += n;
	q[b->n] = 0;
	b->p = q;
	return n;
}

static CURL *easy(struct curl_slist *hdr)
{
	CURL *c = curl_easy_init();
	if (!c)
		return NULL;
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	return c;
}

/* GET url into *out (caller frees); returns HTTP status or negative. */
static long http_get(const char *url, char **out)
{
	struct buf b = { 0 };
	CURL *c = easy(NULL);
	if (!c)
		return KP_ENOMEM;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	long code = 0;
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	else
		code = KP_EIO;
	curl_easy_cleanup(c);
	*out = b.p;
	return code;
}

struct post {
	char *url;    /* owned */
	char *body;   /* owned */
	int64_t *sent_ns; /* where to store the send time, may be NULL */
};

struct slot {
	CURL *c;
	struct buf resp;
	size_t item;
};

/*
 * POSTs every item with up to `conc` transfers in flight over keep-alive
 * connections. 409 AlreadyExists is fine when ok_conflict. The first
 * failure stops new transfers and is returned with the response body.
 */
static int post_all(struct api *a, struct post *items, size_t n, int conc, bool ok_conflict,
		    const char *what, char **errmsg)
{
	if (!n)
		return 0;
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	hdr = curl_slist_append(hdr, "Accept: application/json");
	CURLM *m = curl_multi_init();
	curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)conc);
	struct slot *slots = calloc((size_t)conc, sizeof(*slots));
	int rc = 0;
	size_t next = 0, done = 0;
	int running = 0;
	if (!m || !slots) {
		rc = kp_error_set(errmsg, KP_ENOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < conc; i++) {
		slots[i].c = easy(hdr);
		curl_easy_setopt(slots[i].c, CURLOPT_WRITEFUNCTION, collect);
		curl_easy_setopt(slots[i].c, CURLOPT_WRITEDATA, &slots[i].resp);
		curl_easy_setopt(slots[i].c, CURLOPT_PRIVATE, &slots[i]);
		curl_easy_setopt(slots[i].c, CURLOPT_POST, 1L);
	}
	for (int i = 0; i < conc && next < n; i++) {
		struct slot *s = &slots[i];
		s->item = next++;
		curl_easy_setopt(s->c, CURLOPT_URL, items[s->item].url);
		curl_easy_setopt(s->c, CURLOPT_POSTFIELDS, items[s->item].body);
		if (items[s->item].sent_ns)
			*items[s->item].sent_ns = sb_now_ns();
		curl_multi_add_handle(m, s->c);
	}
	while (done < n) {
		curl_multi_perform(m, &running);
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(m, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			struct slot *s;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
			long code = 0;
			curl_easy_getinfo(s->c, CURLINFO_RESPONSE_CODE, &code);
			CURLcode cres = msg->data.result;
			curl_multi_remove_handle(m, s->c);
			done++;
			if (!rc && (cres != CURLE_OK || !((code >= 200 && code < 300) || (ok_conflict && code == 409))))
				rc = kp_error_set(errmsg, KP_EIO, "%s: POST %s: %s %ld %s", what,
						  items[s->item].url,
						  cres != CURLE_OK ? curl_easy_strerror(cres) : "HTTP", code,
						  s->resp.p ? s->resp.p : "");
			free(s->resp.p);
			s->resp.p = NULL;
			s->resp.n = 0;
			if (!rc && next < n) {
				s->item = next++;
				curl_easy_setopt(s->c, CURLOPT_URL, items[s->item].url);
				curl_easy_setopt(s->c, CURLOPT_POSTFIELDS, items[s->item].body);
				if (items[s->item].sent_ns)
					*items[s->item].sent_ns = sb_now_ns();
				curl_multi_add_handle(m, s->c);
			} else if (rc && next < n) {
				done += n - next; /* never sent */
				next = n;
			}
		}
		if (done < n)
			curl_multi_poll(m, NULL, 0, 100, NULL);
		if (a->o->progress) {
			int64_t now = sb_now_ns();
			if (now - a->last_progress > 200000000LL) {
				a->last_progress = now;
				sb_progress(a->o, "%s: %s %zu/%zu created, %lld bound", a->w->full, what,
					    done, n, (long long)atomic_load(&a->nbound));
			}
		}
	}
out:
	for (int i = 0; slots && i < conc; i++) {
		if (slots[i].c) {
			curl_multi_remove_handle(m, slots[i].c);
			curl_easy_cleanup(slots[i].c);
		}
		free(slots[i].resp.p);
	}
	free(slots);
	if (m)
		curl_multi_cleanup(m);
	curl_slist_free_all(hdr);
	return rc;
}

/* ------------------------------------------------------------------ */
/* watch                                                              */

static bool has(const char *line, size_t len, const char *s)
{
	return memmem(line, len, s, strlen(s)) != NULL;
}

static void on_event(struct api *a, const char *line, size_t len)
{
	/*
	 * Only a bound pod (spec.nodeName), an unschedulable one (its
	 * PodScheduled condition) or an ERROR tells us anything: an event whose
	 * text has none of the three words is skipped undecoded - the ADDED
	 * event of every new pod, half of all events.
	 */
	if (!has(line, len, "\"nodeName\"") && !has(line, len, "PodScheduled") &&
	    !has(line, len, "ERROR"))
		return;
	/* read only: its empty objects may be one shared object */
	json_t *ev = kp_json_loadb(line, len, KP_JSON_SHARED_EMPTY, NULL);
	if (!ev)
		return;
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_t *obj = json_object_get(ev, "object");
	if (type && !strcmp(type, "ERROR"))
		atomic_store(&a->watch_failed, true);
	if (!type || (strcmp(type, "ADDED") && strcmp(type, "MODIFIED"))) {
		json_decref(ev);
		return;
	}
	const char *ns = kp_obj_namespace(obj), *name = kp_obj_name(obj);
	char key[512];
	snprintf(key, sizeof(key), "%s/%s", ns ? ns : "", name ? name : "");
	pthread_mutex_lock(&a->lock);
	json_t *ix = json_object_get(a->index, key);
	int64_t i = ix ? json_integer_value(ix) : -1;
	pthread_mutex_unlock(&a->lock);
	if (i >= 0) {
		struct prec *p = &a->recs[i];
		const char *node = kp_obj_str(obj, "spec.nodeName");
		if (node && *node && atomic_load(&p->bind_ns) == 0) {
			p->node = strdup(node);
			atomic_store(&p->bind_ns, sb_now_ns());
			atomic_fetch_add(&a->nbound, 1);
			atomic_store(&a->last_change, sb_now_ns());
		} else if (!node || !*node) {
			size_t k;
			json_t *c;
			json_array_foreach(kp_obj_get(obj, "status.conditions"), k, c) {
				const char *ct = json_string_value(json_object_get(c, "type"));
				const char *cs = json_string_value(json_object_get(c, "status"));
				if (ct && cs && !strcmp(ct, "PodScheduled") && !strcmp(cs, "False") &&
				    !atomic_exchange(&p->unsched, true)) {
					atomic_fetch_add(&a->nunsched, 1);
					atomic_store(&a->last_change, sb_now_ns());
				}
			}
		}
	}
	json_decref(ev);
}

static size_t watch_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct api *a = arg;
	size_t n = size * nmemb;
	if (a->wlen + n + 1 > a->wcap) {
		size_t nc = (a->wlen + n + 1) * 2;
		char *q = realloc(a->wbuf, nc);
		if (!q)
			return 0;
		a->wbuf = q;
		a->wcap = nc;
	}
	memcpy(a->wbuf + a->wlen, ptr, n);
	a->wlen += n;
	size_t start = 0;
	for (size_t i = 0; i < a->wlen; i++) {
		if (a->wbuf[i] == '\n') {
			if (i > start)
				on_event(a, a->wbuf + start, i - start);
			start = i + 1;
		}
	}
	memmove(a->wbuf, a->wbuf + start, a->wlen - start);
	a->wlen -= start;
	return n;
}

static int watch_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	struct api *a = arg;
	return atomic_load(&a->stop) ? 1 : 0;
}

static void *watch_main(void *arg)
{
	struct api *a = arg;
	char url[400];
	snprintf(url, sizeof(url), "%s/api/v1/pods?watch=1&timeoutSeconds=86400", a->url);
	CURL *c = easy(NULL);
	if (!c) {
		atomic_store(&a->watch_failed, true);
		return NULL;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, watch_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, watch_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, a);
	CURLcode rc = curl_easy_perform(c);
	if (rc != CURLE_ABORTED_BY_CALLBACK)
		atomic_store(&a->watch_failed, true);
	curl_easy_cleanup(c);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* ops                                                                */

static char *dump(json_t *o)
{
	return json_dumps(o, JSON_COMPACT);
}

static void free_posts(struct post *p, size_t n)
{
	for (size_t i = 0; p && i < n; i++) {
		free(p[i].url);
		free(p[i].body);
	}
	free(p);
}

static int ensure_namespace(struct api *a, const char *ns, const json_t *tmpl, char **errmsg)
{
	if (json_object_get(a->namespaces, ns))
		return 0;
	json_t *o = sb_render_namespace(tmpl, ns);
	struct post p = { NULL, o ? dump(o) : NULL, NULL };
	json_object_set_new(a->namespaces, ns, o ? json_incref(kp_obj_labels(o)) : json_object());
	json_decref(o);
	if (asprintf(&p.url, "%s/api/v1/namespaces", a->url) < 0)
		p.url = NULL;
	int rc = p.url && p.body ? post_all(a, &p, 1, 1, true, "namespaces", errmsg)
				 : kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	free(p.url);
	free(p.body);
	return rc;
}

static void prefix_name(struct api *a, json_t *o)
{
	if (!a->prefix[0])
		return;
	char n[300];
	snprintf(n, sizeof(n), "%s%s", a->prefix, kp_obj_name(o));
	kp_obj_set_str(o, "metadata.name", n);
}

static int op_nodes(struct api *a, const struct sb_op *op, char **errmsg)
{
	struct post *p = calloc((size_t)op->count + 1, sizeof(*p));
	if (!p)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	int rc = 0;
	for (int64_t i = 0; i < op->count; i++) {
		json_t *n = sb_render_node(op, i, a->seq++, errmsg);
		if (!n) {
			rc = KP_EINVAL;
			break;
		}
		prefix_name(a, n);
		if (a->prefix[0])
			kp_obj_set_label(n, "kubernetes.io/hostname", kp_obj_name(n));
		p[i].body = dump(n);
		if (asprintf(&p[i].url, "%s/api/v1/nodes", a->url) < 0)
			p[i].url = NULL;
		json_array_append_new(a->nodes, n);
	}
	if (rc == 0)
		rc = post_all(a, p, (size_t)op->count, a->o->threads > 0 ? a->o->threads : SB_API_CLIENTS, false,
			      "nodes", errmsg);
	free_posts(p, (size_t)op->count);
	a->r->nodes += op->count;
	return rc;
}

/* Until every pod of [first, first+n) is bound, unschedulable or deleted
 * (with attempted, gated pods count as done: they are never attempted). */
static int wait_pods(struct api *a, int64_t first, int64_t n, bool attempted)
{
	int64_t deadline = sb_now_ns() + (int64_t)(a->o->timeout_s * 1e9);
	for (;;) {
		int64_t bound = 0, uns = 0;
		for (int64_t i = first; i < first + n; i++) {
			if (atomic_load(&a->recs[i].bind_ns))
				bound++;
			else if (atomic_load(&a->recs[i].unsched) || atomic_load(&a->recs[i].deleted) ||
				 (attempted && a->recs[i].gated))
				uns++;
		}
		/* all bound; or every pod accounted for and nothing changed for
		 * --settle seconds: an unschedulable pod may still be bound after
		 * a backoff (preemption: once its victims are gone; kube's backoff
		 * reaches 10 s) */
		if (bound >= n)
			return 0;
		if (bound + uns >= n &&
		    sb_now_ns() - atomic_load(&a->last_change) > (int64_t)(a->o->settle_s * 1e9))
			return 0;
		if (atomic_load(&a->watch_failed) || sb_now_ns() > deadline)
			return KP_ETIMEDOUT;
		if (a->o->progress) {
			int64_t now = sb_now_ns();
			if (now - a->last_progress > 200000000LL) {
				a->last_progress = now;
				sb_progress(a->o, "%s: pods %lld/%lld bound, %lld unschedulable", a->w->full,
					    (long long)bound, (long long)n, (long long)uns);
			}
		}
		usleep(2000);
	}
}

static int op_pods(struct api *a, const struct sb_op *op, size_t opi, char **errmsg)
{
	char *defns = op->ns ? NULL : sb_default_namespace(opi);
	const char *ns = op->ns ? op->ns : defns;
	int rc = ensure_namespace(a, ns, NULL, errmsg);
	struct post *p = calloc((size_t)op->count + 1, sizeof(*p));
	if (rc < 0 || !p) {
		free(defns);
		free(p);
		return rc < 0 ? rc : kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	}
	int64_t first = a->nrecs;
	int64_t mbase = a->r->measured;
	if (op->collect_metrics) {
		int64_t *b = realloc(a->r->bind_ns, (size_t)(mbase + op->count) * sizeof(int64_t));
		int64_t *c = b ? realloc(a->r->create_ns, (size_t)(mbase + op->count) * sizeof(int64_t)) : NULL;
		if (b)
			a->r->bind_ns = b;
		if (c)
			a->r->create_ns = c;
		if (!c)
			rc = kp_error_set(errmsg, KP_ENOMEM, "out of memory");
		else
			a->r->measured += op->count;
	}
	for (int64_t i = 0; rc == 0 && i < op->count; i++) {
		json_t *pod = sb_render_pod(op, ns, i, a->seq++, errmsg);
		if (!pod) {
			rc = KP_EINVAL;
			break;
		}
		prefix_name(a, pod);
		int64_t k = a->nrecs++;
		struct prec *r = &a->recs[k];
		r->midx = op->collect_metrics ? (int32_t)(mbase + i) : -1;
		r->op = (int32_t)opi;
		char key[512];
		snprintf(key, sizeof(key), "%s/%s", ns, kp_obj_name(pod));
		pthread_mutex_lock(&a->lock);
		json_object_set_new(a->index, key, json_integer((json_int_t)k));
		pthread_mutex_unlock(&a->lock);
		p[i].body = dump(pod);
		if (asprintf(&p[i].url, "%s/api/v1/namespaces/%s/pods", a->url, ns) < 0)
			p[i].url = NULL;
		p[i].sent_ns = &r->create_ns;
		r->gated = json_array_size(kp_obj_get(pod, "spec.schedulingGates")) > 0;
		pthread_mutex_lock(&a->lock);
		json_array_append_new(a->pods, pod);
		pthread_mutex_unlock(&a->lock);
	}
	if (rc == 0) {
		if (op->collect_metrics && !a->r->t0_ns)
			a->r->t0_ns = sb_now_ns();
		rc = post_all(a, p, (size_t)op->count, a->o->threads > 0 ? a->o->threads : SB_API_CLIENTS, false,
			      "pods", errmsg);
	}
	if (rc == 0 && !op->skip_wait) {
		rc = wait_pods(a, first, op->count, false);
		if (rc == KP_ETIMEDOUT)
			rc = kp_error_set(errmsg, rc, "%s",
					  atomic_load(&a->watch_failed)
						  ? "the pods watch failed"
						  : "pods not bound or unschedulable within --timeout");
	}
	if (op->collect_metrics) {
		int64_t last = 0;
		for (int64_t i = first; i < a->nrecs; i++) {
			int64_t b = atomic_load(&a->recs[i].bind_ns);
			if (b > last)
				last = b;
		}
		a->r->t1_ns = last > a->r->t0_ns ? last : sb_now_ns();
	}
	free_posts(p, (size_t)op->count);
	free(defns);
	return rc;
}

/* Deletes the pods of op's namespace (and labels) at op's rate. Pods are
 * looked up under the lock: the main thread may be appending. */
static int delete_pods(struct api *a, const struct sb_op *op, char **errmsg)
{
	struct buf b = { 0 };
	CURL *c = easy(NULL);
	if (!c)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	int64_t gap = op->delete_per_second > 0 ? (int64_t)(1e9 / op->delete_per_second) : 0;
	int64_t next = sb_now_ns();
	int rc = 0;
	for (size_t i = 0;; i++) {
		char name[300];
		pthread_mutex_lock(&a->lock);
		json_t *pod = json_array_get(a->pods, i);
		bool ok = pod && !strcmp(kp_obj_namespace(pod), op->ns);
		const char *k;
		json_t *v;
		json_object_foreach(op->label_selector, k, v) {
			const char *have = pod ? kp_obj_label(pod, k) : NULL;
			if (!have || !json_is_string(v) || strcmp(have, json_string_value(v)))
				ok = false;
		}
		if (ok)
			snprintf(name, sizeof(name), "%s", kp_obj_name(pod));
		pthread_mutex_unlock(&a->lock);
		if (!pod)
			break;
		if (!ok || atomic_load(&a->recs[i].deleted))
			continue;
		while (gap && sb_now_ns() < next && !atomic_load(&a->stop))
			usleep(1000);
		if (atomic_load(&a->stop))
			break;
		next += gap;
		char *u = NULL;
		if (asprintf(&u, "%s/api/v1/namespaces/%s/pods/%s", a->url, op->ns, name) < 0)
			break;
		curl_easy_setopt(c, CURLOPT_URL, u);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
		long code = 0;
		if (curl_easy_perform(c) == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		free(u);
		if (code != 200 && code != 202 && code != 404) {
			rc = kp_error_set(errmsg, KP_EIO, "deletePods: DELETE %s/%s: HTTP %ld %s", op->ns,
					  name, code, b.p ? b.p : "");
			break;
		}
		atomic_store(&a->recs[i].deleted, true);
		free(b.p);
		b.p = NULL;
		b.n = 0;
	}
	free(b.p);
	curl_easy_cleanup(c);
	return rc;
}

static void *bg_delete_main(void *arg)
{
	struct bg_delete *d = arg;
	d->rc = delete_pods(d->a, d->op, &d->err);
	return NULL;
}

/* POST or DELETE one object over c; HTTP status or 0 on transport failure. */
static long request(CURL *c, const char *method, const char *url, const char *body, struct buf *b)
{
	b->n = 0;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	if (!body)
		curl_easy_setopt(c, CURLOPT_HTTPGET, 0L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	long code = 0;
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	return code;
}

/* churn: every intervalMilliseconds one object from the next template;
 * recreate mode deletes a full round of `number` per template and starts
 * again. Runs until the workload ends. */
static void *churn_main(void *arg)
{
	struct bg_delete *d = arg;
	struct api *a = d->a;
	const struct sb_op *op = d->op;
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	CURL *c = easy(hdr);
	struct buf b = { 0 };
	json_t *live = json_array(); /* URLs of objects made in this round */
	size_t nt = json_array_size(op->churn_tmpls), t = 0;
	int64_t made = 0, seq = 0, next = sb_now_ns();
	const char *ns = op->ns ? op->ns : "default";
	while (c && !atomic_load(&a->stop)) {
		while (sb_now_ns() < next && !atomic_load(&a->stop))
			usleep(1000);
		if (atomic_load(&a->stop))
			break;
		next += op->interval_ms * 1000000LL;
		if (op->churn_recreate && op->number &&
		    (int64_t)json_array_size(live) >= op->number * (int64_t)nt) {
			size_t i;
			json_t *u;
			json_array_foreach(live, i, u)
				request(c, "DELETE", json_string_value(u), NULL, &b);
			json_array_clear(live);
			continue;
		}
		if (!op->churn_recreate && op->number && made >= op->number)
			continue;
		made++;
		json_t *o = json_deep_copy(json_array_get(op->churn_tmpls, t));
		t = (t + 1) % nt;
		char name[200];
		const char *gn = kp_obj_str(o, "metadata.generateName");
		snprintf(name, sizeof(name), "%s%schurn-%lld", a->prefix, gn ? gn : "", (long long)seq++);
		kp_obj_set_str(o, "metadata.name", name);
		bool pod = !strcmp(kp_obj_kind(o), "Pod");
		char *coll = NULL, *one = NULL, *body = dump(o);
		if (pod ? asprintf(&coll, "%s/api/v1/namespaces/%s/pods", a->url, ns) < 0
			: asprintf(&coll, "%s/api/v1/nodes", a->url) < 0)
			coll = NULL;
		if (coll && body && request(c, "POST", coll, body, &b) / 100 == 2 &&
		    asprintf(&one, "%s/%s", coll, name) >= 0)
			json_array_append_new(live, json_string(one));
		free(one);
		free(coll);
		free(body);
		json_decref(o);
	}
	json_decref(live);
	free(b.p);
	if (c)
		curl_easy_cleanup(c);
	curl_slist_free_all(hdr);
	return NULL;
}

static int start_bg(struct api *a, const struct sb_op *op, void *(*fn)(void *), char **errmsg)
{
	struct bg_delete *d = calloc(1, sizeof(*d));
	struct bg_delete **n = d ? realloc(a->bg, (a->nbg + 1) * sizeof(*n)) : NULL;
	if (!n) {
		free(d);
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	}
	a->bg = n;
	d->a = a;
	d->op = op;
	if (pthread_create(&d->thread, NULL, fn, d) != 0) {
		free(d);
		return kp_error_set(errmsg, KP_ENOMEM, "cannot start a background thread");
	}
	a->bg[a->nbg++] = d;
	return 0;
}

static int op_delete(struct api *a, const struct sb_op *op, char **errmsg)
{
	if (!op->skip_wait)
		return delete_pods(a, op, errmsg);
	return start_bg(a, op, bg_delete_main, errmsg);
}

/* Joins the background threads (stop: cut them short); first error wins. */
static int join_bg(struct api *a, char **errmsg)
{
	int rc = 0;
	for (size_t i = 0; i < a->nbg; i++) {
		pthread_join(a->bg[i]->thread, NULL);
		if (a->bg[i]->rc < 0 && rc == 0) {
			rc = a->bg[i]->rc;
			if (errmsg) {
				*errmsg = a->bg[i]->err;
				a->bg[i]->err = NULL;
			}
		}
		free(a->bg[i]->err);
		free(a->bg[i]);
	}
	free(a->bg);
	a->bg = NULL;
	a->nbg = 0;
	return rc;
}

static json_t *list_items(struct api *a, const char *path, char **errmsg)
{
	char *url = NULL, *body = NULL;
	if (asprintf(&url, "%s%s", a->url, path) < 0)
		return NULL;
	long code = http_get(url, &body);
	free(url);
	json_t *doc = code == 200 && body ? kp_json_loadb(body, strlen(body), 0, NULL) : NULL;
	free(body);
	json_t *items = json_incref(json_object_get(doc, "items"));
	json_decref(doc);
	if (!json_is_array(items)) {
		json_decref(items);
		kp_error_set(errmsg, KP_EIO, "GET %s: HTTP %ld", path, code);
		return NULL;
	}
	return items;
}

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int sb_run_api(const struct sb_workload *w, const struct sb_options *o, struct sb_result *r,
	       char **errmsg)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, curl_init_once);
	struct api *a = calloc(1, sizeof(*a));
	if (!a)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	a->o = o;
	a->w = w;
	a->r = r;
	r->name = w->full;
	r->bytes_per_node = r->bytes_per_pod = -1;
	pthread_mutex_init(&a->lock, NULL);
	a->index = json_object();
	a->pods = json_array();
	a->nodes = json_array();
	a->namespaces = json_object();
	int64_t total = 0;
	for (size_t i = 0; i < w->nops; i++)
		if (w->ops[i].code == SB_OP_CREATE_PODS)
			total += w->ops[i].count;
	a->recs = calloc((size_t)total + 1, sizeof(*a->recs));
	int rc = 0;
	if (!a->recs) {
		rc = kp_error_set(errmsg, KP_ENOMEM, "out of memory");
		goto out;
	}
	if (o->server) {
		snprintf(a->url, sizeof(a->url), "%s", o->server);
		size_t l = strlen(a->url);
		while (l && a->url[l - 1] == '/')
			a->url[--l] = 0;
		/* a shared server keeps earlier runs' objects: make names unique */
		snprintf(a->prefix, sizeof(a->prefix), "sb%x-", (unsigned)(time(NULL) ^ getpid()) & 0xfffffff);
	} else if ((rc = start_server(a, errmsg)) < 0) {
		goto out;
	}
	if (pthread_create(&a->watch_thread, NULL, watch_main, a) != 0) {
		rc = kp_error_set(errmsg, KP_ENOMEM, "cannot start the watch thread");
		goto out;
	}
	a->watching = true;
	for (size_t i = 0; i < w->nops && rc == 0; i++) {
		const struct sb_op *op = &w->ops[i];
		switch (op->code) {
		case SB_OP_CREATE_NODES:
			rc = op_nodes(a, op, errmsg);
			break;
		case SB_OP_CREATE_NAMESPACES:
			for (int64_t k = 0; k < op->count && rc == 0; k++) {
				char ns[300];
				snprintf(ns, sizeof(ns), "%s-%lld", op->prefix, (long long)k);
				rc = ensure_namespace(a, ns, op->tmpl, errmsg);
			}
			break;
		case SB_OP_CREATE_PODS:
			rc = op_pods(a, op, i, errmsg);
			r->pods_total += op->count;
			break;
		case SB_OP_BARRIER:
			rc = wait_pods(a, 0, a->nrecs, op->attempted);
			if (rc == KP_ETIMEDOUT)
				rc = kp_error_set(errmsg, rc, "barrier: pods not bound within --timeout");
			break;
		case SB_OP_SLEEP:
			usleep((useconds_t)(op->duration_ms * 1000));
			break;
		case SB_OP_CHURN:
			if (op->ns)
				rc = ensure_namespace(a, op->ns, NULL, errmsg);
			if (rc == 0)
				rc = start_bg(a, op, churn_main, errmsg);
			break;
		case SB_OP_DELETE_PODS:
			rc = op_delete(a, op, errmsg);
			break;
		}
	}
	sb_progress_done(o);
	/* background deletions end with the workload, as upstream cancels them */
	atomic_store(&a->stop, true);
	if (rc == 0)
		rc = join_bg(a, errmsg);
	if (rc < 0)
		goto out;
	/* the final state as the server holds it */
	json_t *nodes = list_items(a, "/api/v1/nodes", errmsg);
	json_t *pods = nodes ? list_items(a, "/api/v1/pods", errmsg) : NULL;
	if (!pods) {
		json_decref(nodes);
		rc = KP_EIO;
		goto out;
	}
	r->nodes_final = nodes;
	r->ns_labels = json_incref(a->namespaces);
	r->pods_final = json_array();
	size_t i;
	json_t *p;
	json_array_foreach(pods, i, p) {
		char key[512];
		snprintf(key, sizeof(key), "%s/%s", kp_obj_namespace(p), kp_obj_name(p));
		if (json_object_get(a->index, key))
			json_array_append(r->pods_final, p);
	}
	json_decref(pods);
	for (int64_t k = 0; k < a->nrecs; k++) {
		struct prec *x = &a->recs[k];
		if (x->midx < 0)
			continue;
		int64_t b = atomic_load(&x->bind_ns);
		r->bind_ns[x->midx] = b ? b : -1;
		r->create_ns[x->midx] = x->create_ns;
		if (b)
			r->scheduled++;
		else
			r->unschedulable++;
	}
	char *murl = NULL, *mtext = NULL;
	if (asprintf(&murl, "%s/metrics", a->url) >= 0 && http_get(murl, &mtext) == 200)
		r->metrics_text = mtext;
	else
		free(mtext);
	free(murl);
	if (a->pid > 0)
		r->peak_rss = server_peak_rss(a->pid);
out:
	atomic_store(&a->stop, true);
	join_bg(a, NULL);
	if (a->watching)
		pthread_join(a->watch_thread, NULL);
	stop_server(a);
	for (int64_t k = 0; k < a->nrecs; k++)
		free(a->recs[k].node);
	free(a->recs);
	free(a->wbuf);
	json_decref(a->index);
	json_decref(a->pods);
	json_decref(a->nodes);
	json_decref(a->namespaces);
	pthread_mutex_destroy(&a->lock);
	free(a);
	return rc;
}

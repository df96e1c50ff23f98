/*
 * sched-more-lib.h - a small cluster for the VolumeBinding and
 * DefaultPreemption unit tests (t2170, t2171), which call the plugins
 * through their static descriptors (kp_plugin_<Name>, -DKP_PLUGIN_STATIC:
 * no dlopen).
 *
 * Pods and nodes are written as JSON and compiled by the framework
 * (kp__pod_compile, kp__node_compile); binding a pod updates the node's pod
 * list and sums as the cache does (kp__node_add_pod). The snapshot is the
 * framework's real cache (struct kp__cache, first member the kp_snapshot):
 * objects (PV, PVC, StorageClass, PDB) go in through kp__cache_set_object()
 * and the nodes are indexed in it, so kp_snapshot_object/_each_object/_node
 * and the node copies (kp_node_info_clone and friends) are libkplane's own;
 * cycles are real cycle states (kp__cycle_init).
 *
 * The test program plays the scheduler host and profile (libkplane's
 * versions need a running scheduler): these functions, defined here, take
 * precedence over the library's:
 *  - kp_sched_run_filters() is a stand-in for the profile's filters: pod
 *    count, cpu and memory against allocatable, with NodeResourcesFit's
 *    reasons ("Too many pods", "Insufficient cpu", "Insufficient memory"),
 *    counting its calls; the PreFilter extensions only count theirs;
 *  - host writes, deletions, rejections, nominations and events are
 *    recorded in `t_host` for the tests to inspect; kp_sched_rand() is 0;
 *  - kp_cycle_clone() shares the slots (no profile to copy them with).
 * The framework side of these (nominated pods, extensions, host-less
 * writes, Permit) is tested with the real scheduler in t2006 and t2007.
 *
 * Everything allocated here lives until the program exits, then is
 * released, so that LeakSanitizer reports only leaks of the plugins.
 */
#ifndef KPLANE_T_SCHED_MORE_LIB_H
#define KPLANE_T_SCHED_MORE_LIB_H

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/object.h>
#include <kplane/plugin.h>

#include "core/sched/internal.h"
#include "t/tap.h"

#define T_MAX 64

/* Releases run at exit, last registered first. */
struct t_defer {
	void (*fn)(void *);
	void *arg;
};
static struct t_defer t_defers[4096];
static int t_ndefers;

static void t_run_defers(void)
{
	while (t_ndefers > 0) {
		t_ndefers--;
		t_defers[t_ndefers].fn(t_defers[t_ndefers].arg);
	}
}

static void t_defer(void (*fn)(void *), void *arg)
{
	if (t_ndefers == 0)
		atexit(t_run_defers);
	if (t_ndefers == (int)(sizeof(t_defers) / sizeof(t_defers[0]))) {
		fprintf(stderr, "too many deferred releases\n");
		exit(99);
	}
	t_defers[t_ndefers++] = (struct t_defer){ fn, arg };
}

static void t_json_release(void *arg)
{
	json_decref(arg);
}

static void *t_alloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);
	if (!p) {
		fprintf(stderr, "out of memory\n");
		exit(99);
	}
	t_defer(free, p);
	return p;
}

/* For what the doubles free again (not kept). */
static void *t_calloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);
	if (!p) {
		fprintf(stderr, "out of memory\n");
		exit(99);
	}
	return p;
}

static json_t *t_json(const char *text)
{
	json_error_t e;
	json_t *o = json_loads(text, 0, &e);
	if (!o) {
		fprintf(stderr, "bad JSON (%s): %s\n", e.text, text);
		exit(99);
	}
	return o;
}

/* ---- pods and nodes: compiled by the framework from JSON */

/* "k=v,k2=v2" as a JSON object (new reference). */
static json_t *t_labels_json(const char *spec)
{
	json_t *l = json_object();
	char *copy = strdup(spec), *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		*eq = 0;
		json_object_set_new(l, tok, json_string(eq + 1));
	}
	free(copy);
	return l;
}

/* A compiled pod (struct kp__pod, whose first member is the kp_pod_info). */
struct tpod {
	struct kp_pod_info info;
};

static void t_pod_release(void *arg)
{
	kp__pod_free(arg);
}

/*
 * A pod in namespace "default" with priority prio, cpu in millicores and
 * memory in bytes (0: not requested), labels "k=v,..."; extra_spec /
 * extra_status are JSON members (without braces) added to spec/status, ""
 * for none. Compiled by kp__pod_compile() as the scheduler compiles pods.
 */
static struct tpod *t_pod(const char *name, int32_t prio, int64_t cpu, int64_t mem,
			  const char *labels, const char *extra_spec, const char *extra_status)
{
	char req[128] = "";
	if (cpu && mem)
		snprintf(req, sizeof(req), "\"cpu\":\"%lldm\",\"memory\":\"%lld\"", (long long)cpu,
			 (long long)mem);
	else if (cpu)
		snprintf(req, sizeof(req), "\"cpu\":\"%lldm\"", (long long)cpu);
	else if (mem)
		snprintf(req, sizeof(req), "\"memory\":\"%lld\"", (long long)mem);
	char buf[4096];
	snprintf(buf, sizeof(buf),
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"namespace\":\"default\","
		 "\"name\":\"%s\",\"uid\":\"uid-%s\",\"resourceVersion\":\"5\"},"
		 "\"spec\":{\"priority\":%d,\"containers\":[{\"name\":\"c\",\"image\":\"x\","
		 "\"resources\":{\"requests\":{%s}}}]%s%s},\"status\":{%s}}",
		 name, name, (int)prio, req, *extra_spec ? "," : "", extra_spec, extra_status);
	json_t *obj = t_json(buf);
	json_object_set_new(json_object_get(obj, "metadata"), "labels", t_labels_json(labels));
	struct kp__pod *p = NULL;
	char *err = NULL;
	if (kp__pod_compile(obj, &p, &err) < 0) {
		fprintf(stderr, "bad test pod %s: %s\n", name, err ? err : "?");
		exit(99);
	}
	json_decref(obj);
	t_defer(t_pod_release, p);
	return (struct tpod *)p;
}

/* A compiled node (struct kp__node, first member the kp_node_info). */
struct tnode {
	struct kp_node_info info;
};

static void t_node_release(void *arg)
{
	kp__node_free(arg);
}

static struct tnode *t_node(const char *name, const char *labels, int64_t cpu, int64_t mem,
			    int64_t pods)
{
	json_t *obj = json_pack("{s:s,s:s,s:{s:s,s:o},s:{s:{}}}", "apiVersion", "v1", "kind",
				"Node", "metadata", "name", name, "labels", t_labels_json(labels),
				"status", "allocatable");
	char v[64];
	snprintf(v, sizeof(v), "%lldm", (long long)cpu);
	kp_obj_set_str(obj, "status.allocatable.cpu", v);
	snprintf(v, sizeof(v), "%lld", (long long)mem);
	kp_obj_set_str(obj, "status.allocatable.memory", v);
	snprintf(v, sizeof(v), "%lld", (long long)pods);
	kp_obj_set_str(obj, "status.allocatable.pods", v);
	struct kp__node *n = NULL;
	char *err = NULL;
	if (kp__node_compile(obj, &n, &err) < 0) {
		fprintf(stderr, "bad test node %s: %s\n", name, err ? err : "?");
		exit(99);
	}
	json_decref(obj);
	t_defer(t_node_release, n);
	return (struct tnode *)n;
}

/* Binds p to n: the node's pod list and sums as the cache keeps them. */
__attribute__((unused)) static void t_bind(struct tnode *n, struct tpod *p)
{
	p->info.node_name = n->info.name_id;
	if (kp__node_add_pod((struct kp__node *)n, &p->info) < 0) {
		fprintf(stderr, "out of memory\n");
		exit(99);
	}
}

struct tsnap {
	union {
		struct kp__cache cache;   /* the framework's cache ... */
		struct kp_snapshot snap;  /* ... whose first member plugins see */
	};
	const struct kp_node_info *nodes[T_MAX];
};

static void t_snap_release(void *arg)
{
	struct tsnap *s = arg;
	/* the nodes are the test's (t_node), only indexed by this cache */
	kp__imap_release(&s->cache.nodes);
	kp__cache_release(&s->cache);
}

static struct tsnap *t_snap(void)
{
	struct tsnap *s = t_alloc(sizeof(*s));
	kp__cache_init(&s->cache);
	t_defer(t_snap_release, s);
	s->snap.nodes = s->nodes;
	return s;
}

/* Adds nodes (NULL-terminated) in order; node->index is the position, and
 * kp_snapshot_node() finds them by name. */
static void t_snap_nodes(struct tsnap *s, ...)
{
	va_list ap;
	va_start(ap, s);
	for (struct tnode *n; (n = va_arg(ap, struct tnode *));) {
		n->info.index = (int32_t)s->snap.nnodes;
		s->nodes[s->snap.nnodes++] = &n->info;
		if (kp__imap_put(&s->cache.nodes, n->info.name_id, n) < 0) {
			fprintf(stderr, "out of memory\n");
			exit(99);
		}
	}
	va_end(ap);
}

/* Caches an object (JSON text) of kind, replacing one with the same name;
 * returns it (borrowed from the cache). */
static json_t *t_object(struct tsnap *s, const char *kind, const char *json_text)
{
	json_t *o = t_json(json_text);
	kp__cache_set_object(&s->cache, kind, kp_obj_namespace(o), kp_obj_name(o), o);
	json_decref(o);
	return o;
}

/* ---- what the plugins wrote through the host */

struct t_host_log {
	json_t *updates;          /* objects given to kp_sched_host_update, in order */
	json_t *deleted;          /* names of deleted pods */
	json_t *events;           /* "reason: message" */
	json_t *rejected;         /* uids rejected through kp_sched_reject */
	const char *waiting[8];   /* uids of pods waiting in Permit */
	int fail_update;          /* KP_E* code the next updates fail with, 0 = none */
	int32_t *restricted;      /* kp_node_set_restrict's last names, NULL when not called */
	size_t nrestricted;
	int filter_runs;          /* kp_sched_run_filters calls */
	int ext_runs;             /* kp_sched_run_pre_filter_{add,remove}_pod calls */
	const struct kp_pod_info *nominated[8]; /* pods nominated (by their nominated_node) */
	json_t *cleared;          /* names of pods whose nomination was cleared */
};
static struct t_host_log t_host;

static void t_host_reset(void)
{
	json_decref(t_host.updates);
	json_decref(t_host.deleted);
	json_decref(t_host.events);
	json_decref(t_host.rejected);
	json_decref(t_host.cleared);
	free(t_host.restricted);
	memset(&t_host, 0, sizeof(t_host));
	t_host.updates = json_array();
	t_host.deleted = json_array();
	t_host.events = json_array();
	t_host.rejected = json_array();
	t_host.cleared = json_array();
}

/* ---- test doubles */

int kp_node_set_restrict(struct kp_node_set *set, const int32_t *names, size_t n)
{
	(void)set;
	free(t_host.restricted);
	t_host.restricted = t_calloc(n * sizeof(*names) + 1);
	memcpy(t_host.restricted, names, n * sizeof(*names));
	t_host.nrestricted = n;
	return 0;
}

int kp_sched_host_update(struct kp_sched_handle *h, const json_t *obj, char **errmsg)
{
	(void)h;
	if (t_host.fail_update)
		return kp_error_set(errmsg, t_host.fail_update, "injected failure");
	json_array_append_new(t_host.updates, json_deep_copy(obj));
	return 0;
}

int kp_sched_host_delete_pod(struct kp_sched_handle *h, const struct kp_pod_info *pod,
			     const char *reason, char **errmsg)
{
	(void)h;
	(void)reason;
	(void)errmsg;
	json_array_append_new(t_host.deleted, json_string(pod->name));
	return 0;
}

int kp_sched_reject(struct kp_sched_handle *h, const char *uid, const char *msg)
{
	(void)h;
	(void)msg;
	for (int i = 0; i < 8 && t_host.waiting[i]; i++)
		if (!strcmp(t_host.waiting[i], uid)) {
			json_array_append_new(t_host.rejected, json_string(uid));
			return 0;
		}
	return KP_ENOENT;
}

void kp_sched_event(struct kp_sched_handle *h, const struct kp_pod_info *pod, const char *type,
		    const char *reason, const char *fmt, ...)
{
	char msg[512], line[700];
	va_list ap;
	(void)h;
	(void)pod;
	(void)type;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "%s: %s", reason, msg);
	json_array_append_new(t_host.events, json_string(line));
}

void kp_sched_log(struct kp_sched_handle *h, int level, const char *fmt, ...)
{
	(void)h;
	(void)level;
	(void)fmt;
}

/* The stand-in filter: NodeResourcesFit's checks for pods, cpu, memory. */
int kp_sched_run_filters(struct kp_sched_handle *h, struct kp_cycle *cy,
			 const struct kp_pod_info *pod, const struct kp_node_info *node,
			 struct kp_status *st)
{
	(void)h;
	(void)cy;
	t_host.filter_runs++;
	if (node->requested.pods + 1 > node->allocatable.pods)
		kp_status_add(st, "Too many pods");
	if (node->requested.milli_cpu + pod->requests.milli_cpu > node->allocatable.milli_cpu)
		kp_status_add(st, "Insufficient cpu");
	if (node->requested.memory + pod->requests.memory > node->allocatable.memory)
		kp_status_add(st, "Insufficient memory");
	return st->nreasons ? KP_STATUS_UNSCHEDULABLE : KP_STATUS_SUCCESS;
}

/* The stand-in filter reads the node only: no PreFilter state to adjust. */
int kp_sched_run_pre_filter_remove_pod(struct kp_sched_handle *h, struct kp_cycle *cy,
				       const struct kp_pod_info *pod,
				       const struct kp_pod_info *other,
				       const struct kp_node_info *node, struct kp_status *st)
{
	(void)h, (void)cy, (void)pod, (void)other, (void)node, (void)st;
	t_host.ext_runs++;
	return KP_STATUS_SUCCESS;
}

int kp_sched_run_pre_filter_add_pod(struct kp_sched_handle *h, struct kp_cycle *cy,
				    const struct kp_pod_info *pod, const struct kp_pod_info *other,
				    const struct kp_node_info *node, struct kp_status *st)
{
	(void)h, (void)cy, (void)pod, (void)other, (void)node, (void)st;
	t_host.ext_runs++;
	return KP_STATUS_SUCCESS;
}

/* Offset 0: candidates are tried in node order. */
uint64_t kp_sched_rand(struct kp_sched_handle *h)
{
	(void)h;
	return 0;
}

/* Nominated pods: t_host.nominated (pods, node name ids). */
int kp_sched_each_nominated_pod(struct kp_sched_handle *h, int32_t node_name,
				int (*fn)(const struct kp_pod_info *pod, void *arg), void *arg)
{
	(void)h;
	for (int i = 0; i < 8 && t_host.nominated[i]; i++)
		if (t_host.nominated[i]->nominated_node == node_name) {
			int rc = fn(t_host.nominated[i], arg);
			if (rc)
				return rc;
		}
	return 0;
}

int kp_sched_clear_nominated(struct kp_sched_handle *h, const struct kp_pod_info *pod,
			     char **errmsg)
{
	(void)h;
	(void)errmsg;
	json_array_append_new(t_host.cleared, json_string(pod->name));
	return 0;
}

struct kp_cycle *kp_cycle_clone(struct kp_sched_handle *h, const struct kp_cycle *cy)
{
	(void)h;
	struct kp_cycle *c = t_calloc(sizeof(*c));
	*c = *cy;
	return c;
}

void kp_cycle_free(struct kp_cycle *cy)
{
	free(cy);
}

/* ---- running a plugin */

struct tcycle {
	struct kp_cycle cy;
};

static struct tcycle t_the_cycle;

/* Ends the attempt: runs the release callbacks (frees plugin state). */
static void t_cycle_end(void)
{
	kp__cycle_release(&t_the_cycle.cy);
}

static void t_cycle_atexit(void *arg)
{
	(void)arg;
	t_cycle_end();
}

/* A fresh real cycle state over s (the previous attempt ends). */
static struct tcycle *t_cycle(struct tsnap *s)
{
	static bool registered;
	if (!registered) {
		t_defer(t_cycle_atexit, NULL);
		registered = true;
	}
	t_cycle_end();
	if (kp__cycle_init(&t_the_cycle.cy, &s->snap, 2) < 0) {
		fprintf(stderr, "out of memory\n");
		exit(99);
	}
	return &t_the_cycle;
}


/*
 * The plugin's args struct from its spec's defaults, then from args_json
 * (an object, may be NULL), as the framework fills it (INT and JSON only,
 * which is all these plugins declare).
 */
static void *t_args(const struct kp_plugin *pl, const char *args_json)
{
	char *a = t_alloc(pl->args_size);
	json_t *given = args_json ? t_json(args_json) : NULL;
	if (given)
		t_defer(t_json_release, given);
	for (const struct kp_arg_spec *sp = pl->args; sp && sp->name; sp++) {
		json_t *v = given ? json_object_get(given, sp->name) : NULL;
		json_t *def = sp->def ? json_loads(sp->def, JSON_DECODE_ANY, NULL) : NULL;
		if (!v)
			v = def;
		if (v && sp->type == KP_ARG_INT)
			*(int64_t *)(a + sp->offset) = json_integer_value(v);
		else if (v && sp->type == KP_ARG_JSON) {
			t_defer(t_json_release, json_incref(v));
			*(const json_t **)(a + sp->offset) = v;
		}
		json_decref(def);
	}
	return a;
}

/* init with the given args; returns self (NULL and *errmsg on failure). */
static void *t_init(const struct kp_plugin *pl, const char *args_json, char **errmsg)
{
	struct kp_sched_init in;
	void *self = NULL;
	memset(&in, 0, sizeof(in));
	in.args = t_args(pl, args_json);
	in.slot = 0;
	in.profile = "default-scheduler";
	if (pl->sched->init(&in, &self, errmsg) < 0)
		return NULL;
	return self;
}

/* The reasons of a status joined with "; " (static buffer). */
__attribute__((unused)) static const char *t_reasons(const struct kp_status *st)
{
	static char buf[1024];
	buf[0] = 0;
	for (uint32_t i = 0; i < st->nreasons; i++) {
		if (i)
			strcat(buf, "; ");
		strncat(buf, st->reasons[i], sizeof(buf) - strlen(buf) - 3);
	}
	return buf;
}

#endif

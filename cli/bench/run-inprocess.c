/*
 * run-inprocess.c - a workload against the scheduler core in this process:
 * the in-tree plugins from the static table (plus modules on the plugin
 * path), objects handed to kp_scheduler_apply() as an informer would, the
 * scheduling loop driven on this thread so that every attempt is timed, and
 * a host binder that only records where each pod went.
 *
 * Pods of a createPods op are rendered before the clock starts (that is the
 * client's work, not the scheduler's); then a feeder thread hands them to
 * the scheduler while this thread schedules, so compiling a pod (the
 * informer's work) overlaps scheduling as it does in a server. --preload
 * hands them all before the clock starts instead.
 */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#if defined(__SANITIZE_ADDRESS__)
/* the sanitizer runtime's (LLVM's sanitizer/allocator_interface.h; GCC 12
 * ships the runtime without that header) */
size_t __sanitizer_get_current_allocated_bytes(void);
#elif defined(HAVE_JEMALLOC)
#include <jemalloc/jemalloc.h>
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <kplane/error.h>
#include <kplane/object.h>
#include <kplane/scheduler.h>

#include "cli/bench/bench.h"
#include "plugins/sched-static.h"

struct rec {
	json_t *pod;      /* owned */
	int64_t create_ns, bind_ns;
	int32_t node;     /* index into st.nodes, -1 = not bound */
	int32_t midx;     /* index among measured pods, -1 = not measured */
	bool deleted;
};

struct deleter {
	const struct sb_op *op;
	int64_t next_ns, gap, cursor;
	bool done;
};

struct churn {
	const struct sb_op *op;
	int64_t next_ns;
	size_t tmpl;      /* next template */
	json_t *live;     /* recreate: objects created in this round */
	int64_t made;
};

struct st {
	const struct sb_options *o;
	const struct sb_workload *w;
	struct kp_scheduler *s;
	json_t *nodes;        /* array of Node objects */
	json_t *node_index;   /* name -> integer index */
	struct rec *recs;
	int64_t nrecs, caprecs;
	int64_t seq;
	int64_t measured_bound;
	struct sb_result *r;
	bool measuring;
	int64_t *att;
	size_t natt, capatt;
	struct churn *churns;
	size_t nchurns;
	struct deleter *deleters;
	size_t ndeleters;
	json_t *namespaces;   /* names applied */
	int64_t last_progress;
};

/* The binder: runs on the scheduling thread (inline_bind). */
static int record_bind(void *arg, const json_t *pod, const char *node, char **errmsg)
{
	struct st *st = arg;
	const char *uid = kp_obj_uid(pod);
	char *end;
	if (uid && strncmp(uid, "sb-", 3))
		return 0; /* a churn pod: bound, not recorded */
	long long i = uid ? strtoll(uid + 3, &end, 10) : -1;
	if (i < 0 || i >= st->nrecs)
		return kp_error_set(errmsg, KP_EINVAL, "bind: pod uid %s is not one of ours", uid ? uid : "?");
	struct rec *r = &st->recs[i];
	json_t *ni = json_object_get(st->node_index, node);
	if (!ni)
		return kp_error_set(errmsg, KP_ENOENT, "bind: node %s unknown", node);
	r->node = (int32_t)json_integer_value(ni);
	r->bind_ns = sb_now_ns();
	if (r->midx >= 0) {
		st->r->bind_ns[r->midx] = r->bind_ns;
		st->measured_bound++;
	}
	return 0;
}

/* Preemption's victims: gone from the cluster as the store would make them. */
static int record_delete(void *arg, const json_t *pod, const char *reason, char **errmsg)
{
	struct st *st = arg;
	(void)reason;
	const char *uid = kp_obj_uid(pod);
	char *end;
	long long i = uid && !strncmp(uid, "sb-", 3) ? strtoll(uid + 3, &end, 10) : -1;
	if (i < 0 || i >= st->nrecs || st->recs[i].deleted)
		return kp_scheduler_apply(st->s, KP_SCHED_DELETED, (json_t *)pod, errmsg);
	st->recs[i].deleted = true;
	return kp_scheduler_apply(st->s, KP_SCHED_DELETED, st->recs[i].pod, errmsg);
}

/* Object updates (preemption's nominatedNodeName, volume binding): the
 * scheduler keeps its own view; nothing else reads them here. */
static int record_update(void *arg, const json_t *obj, char **errmsg)
{
	(void)arg;
	(void)obj;
	(void)errmsg;
	return 0;
}

static void quiet_log(void *arg, int level, const char *line)
{
	(void)arg;
	(void)level;
	(void)line;
}

/* CPU time of the whole process (scheduling thread, pool, feeder): what a
 * loaded machine does not distort the way it distorts wall time. */
static int64_t cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Bytes the program has allocated and not freed, from whichever allocator
 * it runs on (glibc's mallinfo2 knows nothing of jemalloc's or ASan's). */
static size_t heap_in_use(void)
{
#if defined(__SANITIZE_ADDRESS__)
	/* AddressSanitizer's allocator: mallinfo2 would say 0 */
	return __sanitizer_get_current_allocated_bytes();
#elif defined(HAVE_JEMALLOC)
	uint64_t epoch = 1;
	size_t allocated = 0, len = sizeof(allocated), elen = sizeof(epoch);
	/* the statistics are refreshed when the epoch advances */
	mallctl("epoch", &epoch, &elen, &epoch, elen);
	if (mallctl("stats.allocated", &allocated, &len, NULL, 0) == 0)
		return allocated;
#endif
#if !defined(__SANITIZE_ADDRESS__)
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
#endif
}

static void progress(struct st *st, const char *what, int64_t done, int64_t total)
{
	if (!st->o->progress)
		return;
	int64_t now = sb_now_ns();
	if (now - st->last_progress < 200000000LL && done != total)
		return;
	st->last_progress = now;
	sb_progress(st->o, "%s: %s %lld/%lld", st->w->full, what, (long long)done, (long long)total);
}

static void churn_pump(struct st *st, int64_t now);
static void delete_pump(struct st *st, int64_t now);

/* One attempt, timed when measuring. Returns schedule_one's code. */
static int attempt(struct st *st, int timeout_ms)
{
	int64_t a = sb_now_ns();
	if (st->nchurns)
		churn_pump(st, a);
	if (st->ndeleters)
		delete_pump(st, a);
	int rc = kp_scheduler_schedule_one(st->s, timeout_ms, NULL);
	if (rc == 0 && st->measuring) {
		int64_t b = sb_now_ns();
		if (st->natt == st->capatt) {
			size_t nc = st->capatt ? st->capatt * 2 : 4096;
			int64_t *n = realloc(st->att, nc * sizeof(*n));
			if (n) {
				st->att = n;
				st->capatt = nc;
			}
		}
		if (st->natt < st->capatt)
			st->att[st->natt++] = b - a;
	}
	return rc;
}

/* Schedules until nothing is runnable now (active queue empty). */
static void run_until_idle(struct st *st)
{
	for (;;) {
		int rc = attempt(st, 0);
		if (rc == KP_ETIMEDOUT) {
			struct kp_scheduler_stats ss;
			kp_scheduler_stats(st->s, &ss);
			if (ss.active == 0 && ss.backoff == 0)
				return;
			attempt(st, 1);
		}
	}
}

static int apply(struct st *st, int change, json_t *obj, char **errmsg)
{
	return kp_scheduler_apply(st->s, change, obj, errmsg);
}

/* A namespace is created once per name (its template's labels matter to
 * namespaceSelector terms). */
static int ensure_namespace(struct st *st, const char *ns, const json_t *tmpl, char **errmsg)
{
	if (json_object_get(st->namespaces, ns))
		return 0;
	json_t *o = sb_render_namespace(tmpl, ns);
	int rc = o ? apply(st, KP_SCHED_ADDED, o, errmsg) : KP_ENOMEM;
	json_object_set_new(st->namespaces, ns, o ? json_incref(kp_obj_labels(o)) : json_object());
	json_decref(o);
	return rc;
}

static int add_node(struct st *st, json_t *n, char **errmsg)
{
	const char *name = kp_obj_name(n);
	if (json_object_get(st->node_index, name)) {
		json_decref(n);
		return kp_error_set(errmsg, KP_EEXIST, "node %s created twice (a named node template with count > 1?)", name);
	}
	json_object_set_new(st->node_index, name, json_integer((json_int_t)json_array_size(st->nodes)));
	json_array_append_new(st->nodes, n);
	return apply(st, KP_SCHED_ADDED, n, errmsg);
}

static int grow_recs(struct st *st, int64_t more)
{
	if (st->nrecs + more <= st->caprecs)
		return 0;
	int64_t nc = st->caprecs ? st->caprecs : 1024;
	while (nc < st->nrecs + more)
		nc *= 2;
	struct rec *n = realloc(st->recs, (size_t)nc * sizeof(*n));
	if (!n)
		return KP_ENOMEM;
	st->recs = n;
	st->caprecs = nc;
	return 0;
}

/* Renders a pod for rec index st->nrecs (uid "sb-<index>" finds it again). */
static json_t *new_pod(struct st *st, const struct sb_op *op, const char *ns, int64_t i, char **errmsg)
{
	json_t *p = sb_render_pod(op, ns, i, st->seq++, errmsg);
	if (!p)
		return NULL;
	char uid[32];
	snprintf(uid, sizeof(uid), "sb-%lld", (long long)st->nrecs);
	kp_obj_set_str(p, "metadata.uid", uid);
	struct rec *r = &st->recs[st->nrecs++];
	memset(r, 0, sizeof(*r));
	r->pod = p;
	r->node = -1;
	r->midx = -1;
	r->bind_ns = -1;
	return p;
}

struct feeder {
	struct st *st;
	int64_t first, n;
	int rc;
	char *err;
};

static void *feed_main(void *arg)
{
	struct feeder *f = arg;
	for (int64_t i = f->first; i < f->first + f->n; i++) {
		struct rec *r = &f->st->recs[i];
		r->create_ns = sb_now_ns();
		if (r->midx >= 0)
			f->st->r->create_ns[r->midx] = r->create_ns;
		int rc = kp_scheduler_apply(f->st->s, KP_SCHED_ADDED, r->pod, &f->err);
		if (rc < 0) {
			f->rc = rc;
			break;
		}
	}
	return NULL;
}

static int op_create_pods(struct st *st, const struct sb_op *op, size_t opi, char **errmsg)
{
	char *defns = op->ns ? NULL : sb_default_namespace(opi);
	const char *ns = op->ns ? op->ns : defns;
	int rc = ensure_namespace(st, ns, NULL, errmsg);
	if (rc < 0 || (rc = grow_recs(st, op->count)) < 0)
		goto out;
	int64_t first = st->nrecs;
	for (int64_t i = 0; i < op->count; i++) {
		if (!new_pod(st, op, ns, i, errmsg)) {
			rc = KP_EINVAL;
			goto out;
		}
	}
	if (op->collect_metrics) {
		struct sb_result *r = st->r;
		int64_t base = r->measured;
		int64_t *b = realloc(r->bind_ns, (size_t)(base + op->count) * sizeof(int64_t));
		int64_t *c = b ? realloc(r->create_ns, (size_t)(base + op->count) * sizeof(int64_t)) : NULL;
		if (b)
			r->bind_ns = b;
		if (c)
			r->create_ns = c;
		if (!b || !c) {
			rc = kp_error_set(errmsg, KP_ENOMEM, "out of memory");
			goto out;
		}
		for (int64_t i = 0; i < op->count; i++) {
			st->recs[first + i].midx = (int32_t)(base + i);
			r->bind_ns[base + i] = -1;
			r->create_ns[base + i] = 0;
		}
		r->measured += op->count;
	}
	size_t heap0 = heap_in_use();
	struct feeder f = { .st = st, .first = first, .n = op->count };
	pthread_t th;
	bool threaded = !st->o->preload && op->count > 64;
	if (!threaded)
		feed_main(&f);
	int64_t cpu0 = cpu_now();
	if (op->collect_metrics) {
		st->measuring = true;
		if (!st->r->t0_ns)
			st->r->t0_ns = sb_now_ns();
	}
	if (threaded && pthread_create(&th, NULL, feed_main, &f) != 0) {
		threaded = false;
		feed_main(&f);
	}
	if (op->skip_wait) {
		if (threaded)
			pthread_join(th, NULL);
	} else {
		bool fed = !threaded;
		int64_t done = 0;
		for (;;) {
			int arc = attempt(st, fed ? 0 : 1);
			if (arc == 0) {
				done++;
				progress(st, "scheduling", done, op->count);
				continue;
			}
			if (!fed) {
				/* the feeder signals nothing: poll whether it finished */
				if (pthread_tryjoin_np(th, NULL) == 0)
					fed = true;
				continue;
			}
			/* done when nothing is runnable or waiting out a backoff: the
			 * rest sit in the unschedulable queue until a cluster event */
			struct kp_scheduler_stats ss;
			kp_scheduler_stats(st->s, &ss);
			if (ss.active == 0 && ss.backoff == 0)
				break;
			attempt(st, 1);
		}
		if (!fed)
			pthread_join(th, NULL);
	}
	if (op->collect_metrics) {
		st->measuring = false;
		int64_t last = 0;
		for (int64_t i = first; i < first + op->count; i++)
			if (st->recs[i].bind_ns > last)
				last = st->recs[i].bind_ns;
		st->r->t1_ns = last > st->r->t0_ns ? last : sb_now_ns();
		st->r->cpu_ns += cpu_now() - cpu0;
	}
	size_t heap1 = heap_in_use();
	if (op->count && !op->skip_wait && st->r->bytes_per_pod < 0)
		st->r->bytes_per_pod = ((double)heap1 - (double)heap0) / (double)op->count;
	if (f.rc < 0) {
		rc = f.rc;
		if (errmsg) {
			*errmsg = f.err;
			f.err = NULL;
		}
	}
	free(f.err);
out:
	free(defns);
	return rc;
}

/* Deletes the next pod of d's namespace (and labels) from d->cursor on;
 * false when there is none left. */
static bool delete_next(struct st *st, struct deleter *d)
{
	const struct sb_op *op = d->op;
	for (; d->cursor < st->nrecs; d->cursor++) {
		struct rec *r = &st->recs[d->cursor];
		if (r->deleted || strcmp(kp_obj_namespace(r->pod), op->ns))
			continue;
		bool ok = true;
		const char *k;
		json_t *v;
		json_object_foreach(op->label_selector, k, v) {
			const char *have = kp_obj_label(r->pod, k);
			if (!have || !json_is_string(v) || strcmp(have, json_string_value(v)))
				ok = false;
		}
		if (!ok)
			continue;
		kp_scheduler_apply(st->s, KP_SCHED_DELETED, r->pod, NULL);
		r->deleted = true;
		d->cursor++;
		return true;
	}
	return false;
}

static int op_delete_pods(struct st *st, const struct sb_op *op, char **errmsg)
{
	struct deleter d = { .op = op, .next_ns = sb_now_ns(),
			     .gap = op->delete_per_second > 0 ? (int64_t)(1e9 / op->delete_per_second) : 0 };
	if (op->skip_wait) {
		/* upstream deletes in the background while the next ops run */
		struct deleter *n = realloc(st->deleters, (st->ndeleters + 1) * sizeof(*n));
		if (!n)
			return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
		st->deleters = n;
		st->deleters[st->ndeleters++] = d;
		return 0;
	}
	for (;;) {
		while (d.gap && sb_now_ns() < d.next_ns)
			attempt(st, 1);
		d.next_ns += d.gap;
		if (!delete_next(st, &d))
			return 0;
	}
}

static void delete_pump(struct st *st, int64_t now)
{
	for (size_t i = 0; i < st->ndeleters; i++) {
		struct deleter *d = &st->deleters[i];
		while (!d->done && now >= d->next_ns) {
			d->next_ns += d->gap;
			if (!delete_next(st, d))
				d->done = true;
		}
	}
}

static void churn_pump(struct st *st, int64_t now)
{
	for (size_t c = 0; c < st->nchurns; c++) {
		struct churn *ch = &st->churns[c];
		while (now >= ch->next_ns) {
			ch->next_ns += ch->op->interval_ms * 1000000LL;
			size_t nt = json_array_size(ch->op->churn_tmpls);
			json_t *t = json_array_get(ch->op->churn_tmpls, ch->tmpl);
			ch->tmpl = (ch->tmpl + 1) % nt;
			if (ch->op->churn_recreate && ch->op->number &&
			    (int64_t)json_array_size(ch->live) >= ch->op->number * (int64_t)nt) {
				/* a full round exists: delete it, the next ticks recreate */
				size_t i;
				json_t *o;
				json_array_foreach(ch->live, i, o)
					kp_scheduler_apply(st->s, KP_SCHED_DELETED, o, NULL);
				json_array_clear(ch->live);
				continue;
			}
			if (!ch->op->churn_recreate && ch->op->number && ch->made >= ch->op->number)
				continue;
			ch->made++;
			json_t *o = json_deep_copy(t);
			char name[128];
			const char *gn = kp_obj_str(o, "metadata.generateName");
			snprintf(name, sizeof(name), "%schurn-%lld", gn ? gn : "", (long long)st->seq++);
			kp_obj_set_str(o, "metadata.name", name);
			kp_obj_set_str(o, "metadata.uid", name);
			if (!strcmp(kp_obj_kind(o), "Pod")) {
				kp_obj_set_str(o, "metadata.namespace", ch->op->ns ? ch->op->ns : "default");
			} else {
				/* measured pods may land on a churn node: the binder must know
				 * it (a deleted one stays in the checked node list) */
				if (!kp_obj_label(o, "kubernetes.io/hostname"))
					kp_obj_set_label(o, "kubernetes.io/hostname", name);
				json_t *cap = kp_obj_get(o, "status.capacity");
				if (!kp_obj_get(o, "status.allocatable") && cap)
					kp_obj_set(o, "status.allocatable", json_deep_copy(cap));
				json_object_set_new(st->node_index, name,
						    json_integer((json_int_t)json_array_size(st->nodes)));
				json_array_append(st->nodes, o);
			}
			/* churn pods are bound but not recorded (uid not "sb-") */
			kp_scheduler_apply(st->s, KP_SCHED_ADDED, o, NULL);
			json_array_append_new(ch->live, o);
		}
	}
}

/* VmHWM, reset at the start of each run (clear_refs 5) so that a run's peak
 * is its own, not the largest of the workloads run before in this process;
 * getrusage's high-water mark when /proc says nothing. */
static void reset_peak_rss(void)
{
	malloc_trim(0); /* give back what earlier runs freed */
	FILE *f = fopen("/proc/self/clear_refs", "w");
	if (f) {
		fputs("5", f);
		fclose(f);
	}
}

static int64_t peak_rss(void)
{
	char *buf = NULL;
	if (sb_read_file("/proc/self/status", &buf, NULL) == 0) {
		char *h = strstr(buf, "VmHWM:");
		int64_t kb = h ? strtoll(h + 6, NULL, 10) : 0;
		free(buf);
		if (kb > 0)
			return kb * 1024;
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (int64_t)ru.ru_maxrss * 1024;
}

int sb_run_inprocess(const struct sb_workload *w, const struct sb_options *o,
		     struct sb_result *r, char **errmsg)
{
	struct st st = { .o = o, .w = w, .r = r };
	struct kp_sched_config *cfg = NULL;
	struct kp_registry *reg = NULL;
	int rc;
	r->name = w->full;
	r->bytes_per_node = r->bytes_per_pod = -1;
	reset_peak_rss();
	st.nodes = json_array();
	st.node_index = json_object();
	st.namespaces = json_object();
	if (o->sched_config) {
		rc = kp_sched_config_load(o->sched_config, &cfg, errmsg);
	} else {
		json_t *c = json_pack("{s:s,s:s}", "apiVersion", "kubescheduler.config.k8s.io/v1",
				      "kind", "KubeSchedulerConfiguration");
		if (o->threads > 0)
			json_object_set_new(c, "parallelism", json_integer(o->threads));
		rc = kp_sched_config_parse(c, &cfg, errmsg);
		json_decref(c);
	}
	if (rc < 0)
		goto out;
	if (o->plugins_so)
		sb_build_tree_plugin_path();
	/* static: the in-tree table, plus modules on the plugin path (those
	 * repeating an in-tree name are refused and the table's kept);
	 * so: only modules, as `kplane server` loads them */
	if ((rc = kp_registry_new(&reg)) < 0 ||
	    (!o->plugins_so && (rc = kp_registry_add_table(reg, kp_sched_static_plugins, errmsg)) < 0) ||
	    (rc = kp_registry_load_path(reg, kp_sched_config_plugin_dirs(cfg), o->plugins_so, errmsg)) < 0)
		goto out;
	struct kp_sched_host host = { .arg = &st, .bind = record_bind, .update = record_update,
				      .delete_pod = record_delete, .log = quiet_log };
	struct kp_scheduler_options so = { .seed = o->seed, .inline_bind = true };
	if ((rc = kp_scheduler_new(cfg, reg, &host, &so, &st.s, errmsg)) < 0)
		goto out;
	for (size_t i = 0; i < w->nops && rc == 0; i++) {
		const struct sb_op *op = &w->ops[i];
		switch (op->code) {
		case SB_OP_CREATE_NODES: {
			json_t **tmp = calloc((size_t)op->count + 1, sizeof(json_t *));
			if (!tmp) {
				rc = kp_error_set(errmsg, KP_ENOMEM, "out of memory");
				break;
			}
			for (int64_t k = 0; k < op->count && rc == 0; k++)
				if (!(tmp[k] = sb_render_node(op, k, st.seq++, errmsg)))
					rc = KP_EINVAL;
			size_t heap0 = heap_in_use();
			for (int64_t k = 0; k < op->count && rc == 0; k++) {
				rc = add_node(&st, tmp[k], errmsg);
				tmp[k] = NULL;
				progress(&st, "nodes", k + 1, op->count);
			}
			/* the scheduler compiles on apply; its cache takes the node on drain */
			attempt(&st, 0);
			size_t heap1 = heap_in_use();
			if (op->count && r->bytes_per_node < 0)
				r->bytes_per_node = ((double)heap1 - (double)heap0) / (double)op->count;
			for (int64_t k = 0; k < op->count; k++)
				json_decref(tmp[k]);
			free(tmp);
			r->nodes += op->count;
			break;
		}
		case SB_OP_CREATE_NAMESPACES:
			for (int64_t k = 0; k < op->count && rc == 0; k++) {
				char ns[300];
				snprintf(ns, sizeof(ns), "%s-%lld", op->prefix, (long long)k);
				rc = ensure_namespace(&st, ns, op->tmpl, errmsg);
			}
			break;
		case SB_OP_CREATE_PODS:
			rc = op_create_pods(&st, op, i, errmsg);
			r->pods_total += op->count;
			break;
		case SB_OP_BARRIER:
			run_until_idle(&st);
			break;
		case SB_OP_SLEEP: {
			int64_t end = sb_now_ns() + op->duration_ms * 1000000LL;
			while (sb_now_ns() < end)
				attempt(&st, 1);
			break;
		}
		case SB_OP_CHURN: {
			struct churn *n = realloc(st.churns, (st.nchurns + 1) * sizeof(*n));
			if (!n) {
				rc = kp_error_set(errmsg, KP_ENOMEM, "out of memory");
				break;
			}
			st.churns = n;
			st.churns[st.nchurns++] = (struct churn){ .op = op, .next_ns = sb_now_ns(),
								   .live = json_array() };
			break;
		}
		case SB_OP_DELETE_PODS:
			rc = op_delete_pods(&st, op, errmsg);
			break;
		}
	}
	sb_progress_done(o);
	if (rc < 0)
		goto out;
	/* the final state, for the placement check */
	r->metrics_text = kp_scheduler_metrics_text(st.s);
	r->peak_rss = peak_rss();
	r->nodes_final = json_incref(st.nodes);
	r->ns_labels = json_incref(st.namespaces);
	r->pods_final = json_array();
	/* the scheduler holds references to our pod objects: once it is gone
	 * they are ours to edit, which saves a copy of every pod (a million
	 * pods are several GiB of JSON) */
	kp_scheduler_free(st.s);
	st.s = NULL;
	for (int64_t i = 0; i < st.nrecs; i++) {
		struct rec *x = &st.recs[i];
		if (x->deleted)
			continue;
		json_t *p = json_incref(x->pod);
		if (x->node >= 0)
			kp_obj_set_str(p, "spec.nodeName",
				       kp_obj_name(json_array_get(st.nodes, (size_t)x->node)));
		json_array_append_new(r->pods_final, p);
	}
	for (int64_t i = 0; i < r->measured; i++) {
		if (r->bind_ns[i] >= 0)
			r->scheduled++;
		else
			r->unschedulable++;
	}
	r->attempt_ns = st.att;
	r->nattempts = st.natt;
	st.att = NULL;
out:
	kp_scheduler_free(st.s);
	kp_sched_config_free(cfg);
	kp_registry_free(reg);
	for (int64_t i = 0; i < st.nrecs; i++)
		json_decref(st.recs[i].pod);
	free(st.recs);
	free(st.att);
	for (size_t c = 0; c < st.nchurns; c++)
		json_decref(st.churns[c].live);
	free(st.churns);
	free(st.deleters);
	json_decref(st.nodes);
	json_decref(st.node_index);
	json_decref(st.namespaces);
	return rc;
}

/*
 * scheduler.c - the scheduling cycle (kube-scheduler's schedule_one.go):
 * pop, PreFilter, Filter in parallel from a rotating start index until
 * enough feasible nodes, PostFilter, PreScore/Score/NormalizeScore with
 * weights, seeded random tie-break, assume, Reserve, Permit, then the
 * binding cycle (inline or on the binding thread). Also the inbox through
 * which informer events reach the single scheduling thread, the worker
 * pool, failure messages, and the handle API plugins call.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kplane/error.h>
#include <kplane/object.h>

#include "core/sched/internal.h"

#define MIN_FEASIBLE_NODES 100
#define MIN_FEASIBLE_PERCENT 5
#define CHUNK 64
#define PAR_MIN_NODES 2048   /* Filter: nodes to evaluate before going parallel */
#define PAR_MIN_SCORES 16384 /* Score: node x plugin calls before going parallel */
#define KP__DEFAULT_BIND_WORKERS 64 /* bindings in flight; see kp_scheduler_options */
#define MAX_COUNTERS 256

/* ------------------------------------------------------------------ */
/* types                                                              */

enum item_kind { IT_POD, IT_POD_DELETE, IT_NODE, IT_NODE_DELETE, IT_OBJECT, IT_BIND_DONE };

struct item {
	struct item *next;
	int kind;
	struct kp__pod *pod;
	struct kp__node *node;
	json_t *obj;
	char *name, *ns, *objkind;
	int rc;
	int code;      /* IT_BIND_DONE: KP_STATUS_UNSCHEDULABLE when Permit rejected */
	char *msg;
};

struct node_fail {
	uint16_t plugin;   /* instance index + 1; 0: excluded by PreFilter's node set */
	uint8_t code;
	uint8_t nreasons;
	int32_t reasons[KP_STATUS_MAX_REASONS]; /* interned reason texts */
};

struct kp_node_set {
	bool restricted;
	uint32_t n, cap;
	int32_t *ids;
	const char *by[8];
	uint32_t nby;
};

struct cycle_priv {
	struct kp__profile *profile;
	uint32_t cap_slots;
	uint64_t skip_filter;     /* instance bits whose PreFilter returned SKIP */
	struct kp__arena arena;
	struct release { void (*fn)(void *); void *arg; } *rel;
	uint32_t nrel, caprel;
};

struct counter {
	char *name;
	char *help;
	_Atomic uint64_t value;
};

struct bind_job {
	struct bind_job *next;
	struct kp__pod *pod;
	struct kp_cycle *cy;
	struct kp__node *node;
	/* Permit WAIT */
	uint64_t pending;            /* instance bits still to allow */
	int64_t deadline[64];        /* per pending instance, now_ns() clock */
	int64_t wait_start;
	bool waited;                 /* went through Permit WAIT */
	bool rejected;
	char *msg;                   /* rejection message */
};

struct pool;

struct kp_scheduler {
	struct kp_sched_host host;
	struct kp_scheduler_options opts;
	struct kp__profile *profiles;
	uint32_t nprofiles;
	struct kp__cache cache;
	struct kp__queue queue;
	int32_t percentage;
	int parallelism;
	uint64_t rng;
	uint32_t next_start;
	uint64_t cycle;
	json_t *pending;          /* uid -> pod owned by the queue side (queued, inflight, binding) */
	struct kp__imap nominated; /* node name id -> struct nomlist: pending pods nominated there */
	uint32_t nnominated;

	pthread_mutex_t lock;     /* inbox, bindings, waiting */
	pthread_cond_t cond;      /* inbox non-empty / bindings done */
	struct item *in_head, *in_tail;
	uint32_t bindings_inflight;

	pthread_t thread;
	bool running, stop;
	/* binding workers: kube binds each pod in its own goroutine; several
	 * workers let the store's group commit batch bindings */
	pthread_t *bind_threads;
	int nbind_threads;
	bool bind_running;
	struct bind_job *bq_head, *bq_tail;
	pthread_cond_t bind_cond;
	/* Permit WAIT (kube's waitingPods): pods waiting for kp_sched_allow(),
	 * under lock; `ready` holds resolved ones for inline binding */
	struct bind_job *waiting;
	struct bind_job *ready_head, *ready_tail;

	struct pool *pool;
	uint32_t last_processed;      /* nodes the last Filter pass evaluated */

	/* cycle states kept for reuse (kp_cycle_free), under lock */
	struct kp_cycle *free_cycles[32];
	uint32_t nfree_cycles;

	/* per-attempt buffers, grown as needed */
	uint32_t *failed_idx;         /* by failed node, node indexes */
	uint32_t cap_nodes;
	struct node_fail *fails;      /* by node index */
	uint8_t *evaluated;           /* by position in the rotated order: 0 no, 1 feasible, 2 failed */
	const struct kp_node_info **feasible;
	uint32_t *feasible_idx;       /* their node indexes (for the batch entry points) */
	int64_t *scores;              /* [score plugin][feasible] */
	int64_t *totals;
	size_t cap_scores;
	void **slots;
	uint32_t cap_slots;

	struct counter counters[MAX_COUNTERS];
	_Atomic int ncounters;

	_Atomic uint64_t st_attempts, st_scheduled, st_unsched, st_errors, st_bind_fail;
};

/* ------------------------------------------------------------------ */
/* small helpers                                                      */

static int64_t mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t now_ns(struct kp_scheduler *s)
{
	return s->opts.now_ns ? s->opts.now_ns(s->opts.now_arg) : mono_now();
}

/* splitmix64: small, seedable, good enough for tie-breaking */
static uint64_t rnd(struct kp_scheduler *s)
{
	uint64_t z = (s->rng += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

void kp__log(struct kp_scheduler *s, int level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (s && s->host.log)
		s->host.log(s->host.arg, level, buf);
	else if (level <= KP_LOG_WARN)
		fprintf(stderr, "kplane scheduler: %s\n", buf);
}

static struct kp__pod *pending_get(struct kp_scheduler *s, const char *uid)
{
	json_t *v = json_object_get(s->pending, uid);
	return v ? (struct kp__pod *)(intptr_t)json_integer_value(v) : NULL;
}

/* ---- nominator: pending pods by nominated node (kube's nominator) */

struct nomlist {
	uint32_t n, cap;
	struct kp__pod **v;
};

static void nom_del(struct kp_scheduler *s, struct kp__pod *p)
{
	if (!p->in_nominator)
		return;
	struct nomlist *l = kp__imap_get(&s->nominated, p->nominated_in);
	for (uint32_t i = 0; l && i < l->n; i++)
		if (l->v[i] == p) {
			l->v[i] = l->v[--l->n];
			s->nnominated--;
			break;
		}
	if (l && l->n == 0) {
		kp__imap_del(&s->nominated, p->nominated_in);
		free(l->v);
		free(l);
	}
	p->in_nominator = false;
}

static void nom_add(struct kp_scheduler *s, struct kp__pod *p)
{
	nom_del(s, p);
	int32_t node = p->info.nominated_node;
	if (node < 0)
		return;
	struct nomlist *l = kp__imap_get(&s->nominated, node);
	if (!l) {
		l = calloc(1, sizeof(*l));
		if (!l || kp__imap_put(&s->nominated, node, l) < 0) {
			free(l);
			return; /* out of memory: the nomination is only not honoured by Filter */
		}
	}
	if (l->n == l->cap) {
		uint32_t nc = l->cap ? l->cap * 2 : 4;
		void *v = realloc(l->v, nc * sizeof(*l->v));
		if (!v)
			return;
		l->v = v;
		l->cap = nc;
	}
	l->v[l->n++] = p;
	s->nnominated++;
	p->in_nominator = true;
	p->nominated_in = node;
}

static void pending_put(struct kp_scheduler *s, struct kp__pod *p)
{
	json_object_set_new(s->pending, p->info.uid, json_integer((json_int_t)(intptr_t)p));
	nom_add(s, p);
}

static void pending_del(struct kp_scheduler *s, struct kp__pod *p)
{
	nom_del(s, p);
	json_object_del(s->pending, p->info.uid);
}

/* Sets or clears (KP_ID_NONE) p's nomination in the nominator. */
static void nominate(struct kp_scheduler *s, struct kp__pod *p, int32_t node)
{
	p->info.nominated_node = node;
	if (node >= 0 && pending_get(s, p->info.uid) == p)
		nom_add(s, p);
	else
		nom_del(s, p);
}

static struct kp__profile *profile_for(struct kp_scheduler *s, int32_t name_id)
{
	for (uint32_t i = 0; i < s->nprofiles; i++)
		if (s->profiles[i].name_id == name_id)
			return &s->profiles[i];
	return NULL;
}

/* ------------------------------------------------------------------ */
/* duration metrics                                                   */

static void hist_observe(struct kp__hist *h, int64_t ns)
{
	if (!h)
		return;
	if (ns < 0)
		ns = 0;
	atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_ns, (uint64_t)ns, memory_order_relaxed);
	uint64_t le = 100000; /* 0.1 ms */
	for (int i = 0; i < KP__HIST_BUCKETS; i++, le *= 2)
		if ((uint64_t)ns <= le) {
			atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
			return;
		}
}

static struct kp__hist *pt_hist(struct kp__profile *pr, int pt)
{
	return pr->pt_hist ? &pr->pt_hist[pt] : NULL;
}

static struct kp__hist *plugin_hist(struct kp__profile *pr, const struct kp__inst *in, int pt)
{
	return pr->plugin_hist ? &pr->plugin_hist[(size_t)in->slot * (KP__NPOINTS - 1) + pt] : NULL;
}

/* ------------------------------------------------------------------ */
/* worker pool: parallel_for over [0, n) in chunks                    */

typedef void (*work_fn)(void *arg, uint32_t begin, uint32_t end, int worker);

struct pool {
	int nthreads;            /* helper threads (the caller works too) */
	pthread_t *threads;
	pthread_mutex_t lock;
	pthread_cond_t start, done;
	uint64_t gen;
	work_fn fn;
	void *arg;
	uint32_t n, chunk;
	_Atomic uint32_t next;
	_Atomic bool stop_early;  /* set by fn to stop handing out chunks */
	int busy;
	bool quit;
	_Atomic int worker_ids;
};

static void pool_run_chunks(struct pool *p, int worker)
{
	for (;;) {
		if (atomic_load_explicit(&p->stop_early, memory_order_relaxed))
			break;
		uint32_t b = atomic_fetch_add(&p->next, p->chunk);
		if (b >= p->n)
			break;
		uint32_t e = b + p->chunk < p->n ? b + p->chunk : p->n;
		p->fn(p->arg, b, e, worker);
	}
}

static void *pool_main(void *arg)
{
	struct pool *p = arg;
	int id = atomic_fetch_add(&p->worker_ids, 1) + 1;
	uint64_t seen = 0;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->quit && p->gen == seen)
			pthread_cond_wait(&p->start, &p->lock);
		if (p->quit)
			break;
		seen = p->gen;
		pthread_mutex_unlock(&p->lock);
		pool_run_chunks(p, id);
		pthread_mutex_lock(&p->lock);
		if (--p->busy == 0)
			pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static struct pool *pool_new(int nthreads)
{
	struct pool *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->start, NULL);
	pthread_cond_init(&p->done, NULL);
	p->threads = calloc(nthreads > 0 ? nthreads : 1, sizeof(pthread_t));
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&p->threads[p->nthreads], NULL, pool_main, p) == 0 &&
		    (pthread_setname_np(p->threads[p->nthreads], "sched-pool"), 1))
			p->nthreads++;
	return p;
}

static void pool_free(struct pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->quit = true;
	pthread_cond_broadcast(&p->start);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	free(p->threads);
	free(p);
}

/* Runs fn over [0, n); serially when !par (too little work to pay for
 * waking the helpers), the work fits one chunk, or there are no helpers. */
static void parallel_for(struct pool *p, uint32_t n, uint32_t chunk, work_fn fn, void *arg,
			 bool par)
{
	if (p)
		atomic_store(&p->stop_early, false); /* a previous run may have stopped early */
	if (!par || !p || p->nthreads == 0 || n <= chunk) {
		for (uint32_t b = 0; b < n; b += chunk) {
			fn(arg, b, b + chunk < n ? b + chunk : n, 0);
			if (p && atomic_load(&p->stop_early))
				break;
		}
		return;
	}
	pthread_mutex_lock(&p->lock);
	p->fn = fn;
	p->arg = arg;
	p->n = n;
	p->chunk = chunk;
	atomic_store(&p->next, 0);
	p->busy = p->nthreads;
	p->gen++;
	pthread_cond_broadcast(&p->start);
	pthread_mutex_unlock(&p->lock);
	pool_run_chunks(p, 0);
	pthread_mutex_lock(&p->lock);
	while (p->busy)
		pthread_cond_wait(&p->done, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

/* ------------------------------------------------------------------ */
/* cycle state                                                        */

static void cycle_reset(struct kp_cycle *cy)
{
	struct cycle_priv *cp = cy->priv;
	for (uint32_t i = cp->nrel; i-- > 0;)
		cp->rel[i].fn(cp->rel[i].arg);
	cp->nrel = 0;
	cp->skip_filter = 0;
	kp__arena_release(&cp->arena);
	memset(cy->slots, 0, cy->nslots * sizeof(void *));
}

void *kp_cycle_alloc(struct kp_cycle *cy, size_t size)
{
	return kp__arena_alloc(&((struct cycle_priv *)cy->priv)->arena, size);
}

int kp_cycle_on_release(struct kp_cycle *cy, void (*fn)(void *arg), void *arg)
{
	struct cycle_priv *cp = cy->priv;
	if (cp->nrel == cp->caprel) {
		uint32_t nc = cp->caprel ? cp->caprel * 2 : 8;
		void *v = realloc(cp->rel, nc * sizeof(*cp->rel));
		if (!v)
			return KP_ENOMEM;
		cp->rel = v;
		cp->caprel = nc;
	}
	cp->rel[cp->nrel++] = (struct release){ fn, arg };
	return 0;
}

static struct kp_cycle *cycle_new(struct kp__profile *pr, uint32_t nslots)
{
	/* a cycle freed earlier is reused: the per-attempt allocations were a
	 * measurable part of scheduling a simple pod */
	struct kp_scheduler *sch = pr ? pr->sched : NULL;
	if (sch) {
		struct kp_cycle *cy = NULL;
		pthread_mutex_lock(&sch->lock);
		if (sch->nfree_cycles)
			cy = sch->free_cycles[--sch->nfree_cycles];
		pthread_mutex_unlock(&sch->lock);
		if (cy) {
			struct cycle_priv *cp = cy->priv;
			if (cp->cap_slots < nslots) {
				void *v = realloc(cy->slots, nslots * sizeof(void *));
				if (!v) {
					kp_cycle_free(cy);
					return NULL;
				}
				cy->slots = v;
				cp->cap_slots = nslots;
			}
			memset(cy->slots, 0, nslots * sizeof(void *));
			cp->profile = pr;
			cp->skip_filter = 0;
			cy->nslots = nslots;
			cy->snapshot = NULL;
			cy->attempt = 0;
			cy->cycle = 0;
			return cy;
		}
	}
	struct kp_cycle *cy = calloc(1, sizeof(*cy));
	struct cycle_priv *cp = calloc(1, sizeof(*cp));
	void **slots = calloc(nslots ? nslots : 1, sizeof(void *));
	if (!cy || !cp || !slots) {
		free(cy);
		free(cp);
		free(slots);
		return NULL;
	}
	cp->profile = pr;
	cp->cap_slots = nslots;
	cy->priv = cp;
	cy->slots = slots;
	cy->nslots = nslots;
	return cy;
}

int kp__cycle_init(struct kp_cycle *cy, const struct kp_snapshot *snap, uint32_t nslots)
{
	memset(cy, 0, sizeof(*cy));
	struct cycle_priv *cp = calloc(1, sizeof(*cp));
	void **slots = calloc(nslots ? nslots : 1, sizeof(void *));
	if (!cp || !slots) {
		free(cp);
		free(slots);
		return KP_ENOMEM;
	}
	cy->priv = cp;
	cy->slots = slots;
	cy->nslots = nslots;
	cy->snapshot = snap;
	cy->attempt = 1;
	cy->cycle = 1;
	return 0;
}

void kp__cycle_release(struct kp_cycle *cy)
{
	if (!cy->priv)
		return;
	cycle_reset(cy);
	free(((struct cycle_priv *)cy->priv)->rel);
	free(cy->priv);
	free(cy->slots);
	memset(cy, 0, sizeof(*cy));
}

void kp_cycle_free(struct kp_cycle *cy)
{
	if (!cy)
		return;
	cycle_reset(cy);
	struct cycle_priv *cp = cy->priv;
	struct kp_scheduler *sch = cp->profile ? cp->profile->sched : NULL;
	if (sch) {
		bool kept = false;
		pthread_mutex_lock(&sch->lock);
		if (sch->nfree_cycles < sizeof(sch->free_cycles) / sizeof(sch->free_cycles[0])) {
			sch->free_cycles[sch->nfree_cycles++] = cy;
			kept = true;
		}
		pthread_mutex_unlock(&sch->lock);
		if (kept)
			return;
	}
	free(((struct cycle_priv *)cy->priv)->rel);
	free(cy->priv);
	free(cy->slots);
	free(cy);
}

static struct kp_cycle *cycle_clone(struct kp__profile *p, const struct kp_cycle *src)
{
	struct kp_cycle *cy = cycle_new(p, src->nslots);
	if (!cy)
		return NULL;
	((struct cycle_priv *)cy->priv)->skip_filter =
		((const struct cycle_priv *)src->priv)->skip_filter;
	cy->snapshot = src->snapshot;
	cy->attempt = src->attempt;
	cy->cycle = src->cycle;
	for (uint32_t i = 0; i < src->nslots && i < p->ninsts; i++) {
		struct kp__inst *in = &p->insts[i];
		if (in->ops.cycle_copy) {
			if (in->ops.cycle_copy(in->self, src, cy) < 0) {
				kp_cycle_free(cy);
				return NULL;
			}
		} else {
			cy->slots[i] = src->slots[i];
		}
	}
	return cy;
}

struct kp_cycle *kp_cycle_clone(struct kp_sched_handle *h, const struct kp_cycle *src)
{
	return cycle_clone(h->profile, src);
}

int kp_node_set_restrict(struct kp_node_set *set, const int32_t *ids, size_t n)
{
	if (!set->restricted) {
		set->ids = malloc((n ? n : 1) * sizeof(int32_t));
		if (!set->ids)
			return KP_ENOMEM;
		if (n)
			memcpy(set->ids, ids, n * sizeof(int32_t));
		set->n = (uint32_t)n;
		set->restricted = true;
		return 0;
	}
	uint32_t w = 0;
	for (uint32_t i = 0; i < set->n; i++) {
		bool keep = false;
		for (size_t j = 0; j < n && !keep; j++)
			keep = ids[j] == set->ids[i];
		if (keep)
			set->ids[w++] = set->ids[i];
	}
	set->n = w;
	return 0;
}

/* ------------------------------------------------------------------ */
/* handle API                                                         */

void kp_sched_log(struct kp_sched_handle *h, int level, const char *fmt, ...)
{
	char buf[900];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	kp__log(h->sched, level, "%s/%s: %s", h->profile->name, h->inst->plugin->name, buf);
}

void kp_sched_event(struct kp_sched_handle *h, const struct kp_pod_info *pod, const char *type,
		    const char *reason, const char *fmt, ...)
{
	if (!h->sched->host.event)
		return;
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	h->sched->host.event(h->sched->host.arg, pod->obj, type, reason, buf);
}

int kp_sched_counter(struct kp_sched_handle *h, const char *name, const char *help)
{
	struct kp_scheduler *s = h->sched;
	for (const char *c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
			return KP_EINVAL;
	int n = atomic_load(&s->ncounters);
	for (int i = 0; i < n; i++)
		if (!strcmp(s->counters[i].name + strlen("kplane_plugin_"), name))
			return i;
	if (n >= MAX_COUNTERS)
		return KP_E2BIG;
	char *full = NULL;
	if (asprintf(&full, "kplane_plugin_%s", name) < 0)
		return KP_ENOMEM;
	s->counters[n].name = full;
	s->counters[n].help = strdup(help ? help : "");
	atomic_store(&s->ncounters, n + 1);
	return n;
}

void kp_sched_counter_add(struct kp_sched_handle *h, int id, uint64_t delta)
{
	if (id >= 0 && id < atomic_load(&h->sched->ncounters))
		atomic_fetch_add_explicit(&h->sched->counters[id].value, delta, memory_order_relaxed);
}

const char *kp_sched_profile(const struct kp_sched_handle *h)
{
	return h->profile->name;
}

int kp_sched_parallelism(const struct kp_sched_handle *h)
{
	return h->sched->parallelism;
}


int kp_sched_host_bind(struct kp_sched_handle *h, const struct kp_pod_info *pod,
		       const struct kp_node_info *node, char **errmsg)
{
	struct kp_scheduler *s = h->sched;
	if (!s->host.bind)
		return 0; /* no host store: the assumed placement is the result */
	return s->host.bind(s->host.arg, pod->obj, node->name, errmsg);
}

int kp_sched_host_update(struct kp_sched_handle *h, const json_t *obj, char **errmsg)
{
	struct kp_scheduler *s = h->sched;
	if (!s->host.update)
		return kp_scheduler_apply(s, KP_SCHED_MODIFIED, (json_t *)obj, errmsg);
	return s->host.update(s->host.arg, obj, errmsg);
}

int kp_sched_host_delete_pod(struct kp_sched_handle *h, const struct kp_pod_info *pod,
			     const char *reason, char **errmsg)
{
	struct kp_scheduler *s = h->sched;
	if (!s->host.delete_pod)
		return kp_scheduler_apply(s, KP_SCHED_DELETED, (json_t *)pod->obj, errmsg);
	return s->host.delete_pod(s->host.arg, pod->obj, reason, errmsg);
}

/* The Filter plugins of pr in order, minus those SKIPped in cy; the failing
 * instance's slot + 1 in *failed. */
static inline int run_filter_plugins(struct kp__profile *pr, struct kp_cycle *cy,
			      const struct kp_pod_info *pod, const struct kp_node_info *n,
			      struct kp_status *st, uint16_t *failed)
{
	uint64_t skip = ((struct cycle_priv *)cy->priv)->skip_filter;
	for (uint32_t i = 0; i < pr->npt[KP__PT_FILTER]; i++) {
		struct kp__inst *in = pr->pt[KP__PT_FILTER][i].inst;
		if (skip & (1ull << in->slot))
			continue;
		st->nreasons = 0;
		st->buflen = 0;
		int code = in->ops.filter(in->self, cy, pod, n, st);
		if (code != KP_STATUS_SUCCESS && code != KP_STATUS_SKIP) {
			if (failed)
				*failed = (uint16_t)(in->slot + 1);
			return code;
		}
	}
	return KP_STATUS_SUCCESS;
}

static int run_extensions(struct kp__profile *pr, struct kp_cycle *cy,
			  const struct kp_pod_info *pod, const struct kp_pod_info *other,
			  const struct kp_node_info *n, struct kp_status *st, bool add)
{
	uint64_t skip = ((struct cycle_priv *)cy->priv)->skip_filter;
	for (uint32_t i = 0; i < pr->npt[KP__PT_PRE_FILTER]; i++) {
		struct kp__inst *in = pr->pt[KP__PT_PRE_FILTER][i].inst;
		if (skip & (1ull << in->slot))
			continue;
		int (*fn)(void *, struct kp_cycle *, const struct kp_pod_info *,
			  const struct kp_pod_info *, const struct kp_node_info *, struct kp_status *) =
			add ? in->ops.pre_filter_add_pod : in->ops.pre_filter_remove_pod;
		if (!fn)
			continue;
		st->nreasons = 0;
		st->buflen = 0;
		int code = fn(in->self, cy, pod, other, n, st);
		if (code != KP_STATUS_SUCCESS)
			return code;
	}
	return KP_STATUS_SUCCESS;
}

/* Is q nominated to a node and to be counted there for pod (kube's
 * addNominatedPods: priority >= pod's, not pod itself)? */
static bool nominee_counts(const struct kp__pod *q, const struct kp_pod_info *pod)
{
	return !q->assumed && !q->binding && q->info.priority >= pod->priority &&
	       strcmp(q->info.uid, pod->uid) != 0;
}

/* kube's RunFilterPluginsWithNominatedPods. May run on worker threads: the
 * nominator is only changed between attempts or by PostFilter, when no
 * worker runs. */
static int filter_with_nominated(struct kp_scheduler *s, struct kp__profile *pr,
				 struct kp_cycle *cy, const struct kp_pod_info *pod,
				 const struct kp_node_info *n, struct kp_status *st, uint16_t *failed)
{
	if (s->nnominated) {
		const struct nomlist *l = kp__imap_get(&s->nominated, n->name_id);
		uint32_t k = 0;
		while (l && k < l->n && !nominee_counts(l->v[k], pod))
			k++;
		if (l && k < l->n) {
			struct kp_node_info *copy = kp_node_info_clone(n);
			struct kp_cycle *c2 = copy ? cycle_clone(pr, cy) : NULL;
			int code = KP_STATUS_SUCCESS;
			if (!copy || !c2) {
				kp_status_add(st, "out of memory adding nominated pods");
				code = KP_STATUS_ERROR;
			}
			for (; code == KP_STATUS_SUCCESS && k < l->n; k++) {
				const struct kp__pod *q = l->v[k];
				if (!nominee_counts(q, pod))
					continue;
				if (kp_node_info_add_pod(copy, &q->info) < 0) {
					kp_status_add(st, "out of memory adding nominated pods");
					code = KP_STATUS_ERROR;
					break;
				}
				code = run_extensions(pr, c2, pod, &q->info, copy, st, true);
			}
			if (code == KP_STATUS_SUCCESS)
				code = run_filter_plugins(pr, c2, pod, copy, st, failed);
			else if (failed)
				*failed = 0;
			kp_cycle_free(c2);
			kp_node_info_free(copy);
			if (code != KP_STATUS_SUCCESS)
				return code;
		}
	}
	return run_filter_plugins(pr, cy, pod, n, st, failed);
}

int kp_sched_run_filters(struct kp_sched_handle *h, struct kp_cycle *cy,
			 const struct kp_pod_info *pod, const struct kp_node_info *node,
			 struct kp_status *st)
{
	return filter_with_nominated(h->sched, h->profile, cy, pod, node, st, NULL);
}

int kp_sched_run_pre_filter_remove_pod(struct kp_sched_handle *h, struct kp_cycle *cy,
				       const struct kp_pod_info *pod,
				       const struct kp_pod_info *other,
				       const struct kp_node_info *node, struct kp_status *st)
{
	return run_extensions(h->profile, cy, pod, other, node, st, false);
}

int kp_sched_run_pre_filter_add_pod(struct kp_sched_handle *h, struct kp_cycle *cy,
				    const struct kp_pod_info *pod, const struct kp_pod_info *other,
				    const struct kp_node_info *node, struct kp_status *st)
{
	return run_extensions(h->profile, cy, pod, other, node, st, true);
}

int kp_sched_each_nominated_pod(struct kp_sched_handle *h, int32_t node_name,
				int (*fn)(const struct kp_pod_info *pod, void *arg), void *arg)
{
	struct kp_scheduler *s = h->sched;
	const struct nomlist *l = node_name >= 0 ? kp__imap_get(&s->nominated, node_name) : NULL;
	for (uint32_t i = 0; l && i < l->n; i++) {
		if (l->v[i]->assumed || l->v[i]->binding)
			continue;
		int rc = fn(&l->v[i]->info, arg);
		if (rc)
			return rc;
	}
	return 0;
}

int kp_sched_clear_nominated(struct kp_sched_handle *h, const struct kp_pod_info *pod,
			     char **errmsg)
{
	struct kp_scheduler *s = h->sched;
	struct kp__pod *p = pending_get(s, pod->uid);
	if (!p)
		return kp_error_set(errmsg, KP_ENOENT, "pod %s/%s is not pending in this scheduler",
				    pod->ns, pod->name);
	nominate(s, p, KP_ID_NONE);
	if (!s->host.update || !p->obj || !kp_obj_get(p->obj, "status.nominatedNodeName"))
		return 0;
	json_t *copy = json_deep_copy(p->obj);
	json_t *status = copy ? json_object_get(copy, "status") : NULL;
	if (!copy)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	json_object_del(status, "nominatedNodeName");
	int rc = s->host.update(s->host.arg, copy, errmsg);
	json_decref(copy);
	return rc;
}

uint64_t kp_sched_rand(struct kp_sched_handle *h)
{
	return rnd(h->sched);
}

/* ------------------------------------------------------------------ */
/* construction                                                       */

int kp_scheduler_new(const struct kp_sched_config *cfg, struct kp_registry *reg,
		     const struct kp_sched_host *host, const struct kp_scheduler_options *opts,
		     struct kp_scheduler **out, char **errmsg)
{
	struct kp_scheduler *s = calloc(1, sizeof(*s));
	if (!s)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	if (host)
		s->host = *host;
	if (opts)
		s->opts = *opts;
	s->rng = s->opts.seed ? s->opts.seed : 0x6b706c616e65ull;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	pthread_cond_init(&s->bind_cond, NULL);
	kp__cache_init(&s->cache);
	kp__queue_init(&s->queue);
	s->pending = json_object();
	s->percentage = cfg->percentage;
	s->parallelism = cfg->parallelism;
	s->queue.initial_backoff_ns = cfg->initial_backoff_s * 1000000000LL;
	s->queue.max_backoff_ns = cfg->max_backoff_s * 1000000000LL;
	s->profiles = calloc(cfg->nprofiles, sizeof(*s->profiles));
	if (!s->profiles) {
		free(s);
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	}
	int rc = 0;
	for (uint32_t i = 0; i < cfg->nprofiles; i++) {
		s->nprofiles++;
		rc = kp__profile_build(s, &cfg->profiles[i], reg, s->opts.allow_missing,
				       &s->profiles[i], errmsg);
		if (rc < 0)
			goto fail;
	}
	/* one queue for all profiles: their QueueSort plugins must agree (as kube requires) */
	for (uint32_t i = 1; i < s->nprofiles; i++)
		if (s->profiles[i].pt[KP__PT_QUEUE_SORT][0].inst->plugin !=
		    s->profiles[0].pt[KP__PT_QUEUE_SORT][0].inst->plugin) {
			rc = kp_error_set(errmsg, KP_EINVAL,
					  "profiles[%u].plugins.queueSort: all profiles must use the same queue sort plugin",
					  i);
			goto fail;
		}
	for (uint32_t i = 0; i < s->nprofiles; i++) {
		struct kp__profile *pr = &s->profiles[i];
		pr->pt_hist = calloc(KP__NPOINTS - 1, sizeof(*pr->pt_hist));
		pr->plugin_hist = calloc((size_t)(pr->ninsts ? pr->ninsts : 1) * (KP__NPOINTS - 1),
					 sizeof(*pr->plugin_hist));
	}
	struct kp__inst *qs = s->profiles[0].pt[KP__PT_QUEUE_SORT][0].inst;
	s->queue.less = qs->ops.less;
	s->queue.less_self = qs->self;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int threads = s->parallelism < ncpu ? s->parallelism : (int)ncpu;
	s->pool = pool_new(threads > 1 ? threads - 1 : 0);
	*out = s;
	return 0;
fail:
	kp_scheduler_free(s);
	return rc;
}

static void item_free(struct item *it)
{
	kp__pod_free(it->pod);
	kp__node_free(it->node);
	json_decref(it->obj);
	free(it->name);
	free(it->ns);
	free(it->objkind);
	free(it->msg);
	free(it);
}

static void resolve_waiting_locked(struct kp_scheduler *s, struct bind_job *j);
static void bind_ready(struct kp_scheduler *s);

void kp_scheduler_free(struct kp_scheduler *s)
{
	if (!s)
		return;
	kp_scheduler_stop(s);
	/* pods still waiting in Permit are rejected (kube does the same when a
	 * profile's framework stops) */
	pthread_mutex_lock(&s->lock);
	while (s->waiting) {
		struct bind_job *j = s->waiting;
		j->rejected = true;
		if (!j->msg)
			j->msg = strdup("the scheduler stopped while the pod waited in Permit");
		resolve_waiting_locked(s, j);
	}
	pthread_mutex_unlock(&s->lock);
	if (s->opts.inline_bind)
		bind_ready(s);
	kp_scheduler_wait_bindings(s);
	if (s->nbind_threads) {
		pthread_mutex_lock(&s->lock);
		s->stop = true;
		pthread_cond_broadcast(&s->bind_cond);
		pthread_mutex_unlock(&s->lock);
		for (int i = 0; i < s->nbind_threads; i++)
			pthread_join(s->bind_threads[i], NULL);
	}
	pool_free(s->pool);
	struct item *it = s->in_head;
	while (it) {
		struct item *next = it->next;
		item_free(it);
		it = next;
	}
	/* queue-side pods; assumed ones are owned by the cache */
	const char *k;
	json_t *v;
	json_object_foreach(s->pending, k, v) {
		struct kp__pod *p = (struct kp__pod *)(intptr_t)json_integer_value(v);
		if (!p->assumed)
			kp__pod_free(p);
	}
	json_decref(s->pending);
	for (uint32_t i = 0; i < s->nominated.cap; i++)
		if (s->nominated.keys[i] >= 0) {
			struct nomlist *l = s->nominated.vals[i];
			free(l->v);
			free(l);
		}
	kp__imap_release(&s->nominated);
	kp__queue_release(&s->queue);
	kp__cache_release(&s->cache);
	for (uint32_t i = 0; i < s->nfree_cycles; i++) {
		struct kp_cycle *cy = s->free_cycles[i];
		((struct cycle_priv *)cy->priv)->profile = NULL;
		kp_cycle_free(cy);
	}
	s->nfree_cycles = 0;
	for (uint32_t i = 0; i < s->nprofiles; i++) {
		free(s->profiles[i].pt_hist);
		free(s->profiles[i].plugin_hist);
		kp__profile_release(&s->profiles[i]);
	}
	free(s->profiles);
	for (int i = 0; i < atomic_load(&s->ncounters); i++) {
		free(s->counters[i].name);
		free(s->counters[i].help);
	}
	free(s->bind_threads);
	free(s->fails);
	free(s->failed_idx);
	free(s->evaluated);
	free(s->feasible);
	free(s->feasible_idx);
	free(s->scores);
	free(s->totals);
	free(s->slots);
	pthread_cond_destroy(&s->bind_cond);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* ------------------------------------------------------------------ */
/* inbox                                                              */

static void post(struct kp_scheduler *s, struct item *it)
{
	pthread_mutex_lock(&s->lock);
	if (s->in_tail)
		s->in_tail->next = it;
	else
		s->in_head = it;
	s->in_tail = it;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static const char *const object_kinds[] = {
	"Namespace", "PersistentVolume", "PersistentVolumeClaim", "StorageClass", "CSINode",
	"PriorityClass", "PodDisruptionBudget", "Service", "ReplicationController", "ReplicaSet",
	"StatefulSet", NULL,
};

int kp_scheduler_apply(struct kp_scheduler *s, int change, json_t *obj, char **errmsg)
{
	const char *kind = kp_obj_kind(obj);
	if (!kind)
		return kp_error_set(errmsg, KP_EINVAL, "kind: Required value");
	struct item *it = calloc(1, sizeof(*it));
	if (!it)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	int rc = 0;
	if (!strcmp(kind, "Pod")) {
		if (change == KP_SCHED_DELETED) {
			it->kind = IT_POD_DELETE;
		} else {
			it->kind = IT_POD;
		}
		/* compile for both: deletion needs the uid as compiled (fallback ns/name) */
		rc = kp__pod_compile(obj, &it->pod, errmsg);
		if (rc == 0)
			it->pod->timestamp_ns = now_ns(s); /* queue order is arrival order */
		if (rc < 0) {
			char *e = errmsg ? *errmsg : NULL;
			if (errmsg) {
				*errmsg = NULL;
				kp_error_set(errmsg, rc, "pod %s/%s: %s",
					     kp_obj_namespace(obj) ? kp_obj_namespace(obj) : "default",
					     kp_obj_name(obj) ? kp_obj_name(obj) : "?", e ? e : "invalid");
				free(e);
			}
			free(it);
			return rc;
		}
	} else if (!strcmp(kind, "Node")) {
		if (change == KP_SCHED_DELETED) {
			it->kind = IT_NODE_DELETE;
			const char *n = kp_obj_name(obj);
			if (!n) {
				free(it);
				return kp_error_set(errmsg, KP_EINVAL, "node: metadata.name: Required value");
			}
			it->name = strdup(n);
		} else {
			it->kind = IT_NODE;
			if ((rc = kp__node_compile(obj, &it->node, errmsg)) < 0) {
				free(it);
				return rc;
			}
		}
	} else {
		bool known = false;
		for (size_t i = 0; object_kinds[i]; i++)
			if (!strcmp(kind, object_kinds[i]))
				known = true;
		if (!known) {
			free(it);
			return 0;
		}
		const char *n = kp_obj_name(obj);
		if (!n) {
			free(it);
			return kp_error_set(errmsg, KP_EINVAL, "%s: metadata.name: Required value", kind);
		}
		it->kind = IT_OBJECT;
		it->objkind = strdup(kind);
		it->name = strdup(n);
		const char *ns = kp_obj_namespace(obj);
		it->ns = ns ? strdup(ns) : NULL;
		it->obj = change == KP_SCHED_DELETED ? NULL : json_incref(obj);
	}
	post(s, it);
	return 0;
}

/* Could the event (resource, actions) make p schedulable, judging by the
 * plugins that rejected it? */
static bool event_helps(void *arg, const struct kp__pod *p, uint32_t res, uint32_t act)
{
	(void)arg;
	if (p->reject_any || !p->rejectors || !p->profile)
		return true;
	for (uint32_t i = 0; i < p->profile->ninsts; i++) {
		if (!(p->rejectors & (1ull << i)))
			continue;
		const struct kp__inst *in = &p->profile->insts[i];
		if (!in->ops.events_to_register)
			return true; /* no registration: any event may help (kube's default) */
		for (uint32_t e = 0; e < in->nevents; e++)
			if ((in->events[e].resource == res || in->events[e].resource == KP_EV_ANY_RESOURCE) &&
			    (in->events[e].actions & act))
				return true;
	}
	return false;
}

static void on_event(struct kp_scheduler *s, uint32_t res, uint32_t act)
{
	s->queue.move_request_cycle = s->cycle;
	kp__queue_on_event(&s->queue, res, act, now_ns(s), event_helps, s);
}

static int run_pre_enqueue(struct kp_scheduler *s, struct kp__pod *p)
{
	struct kp__profile *pr = p->profile;
	struct kp_status st;
	for (uint32_t i = 0; i < pr->npt[KP__PT_PRE_ENQUEUE]; i++) {
		struct kp__inst *in = pr->pt[KP__PT_PRE_ENQUEUE][i].inst;
		st.nreasons = 0;
		st.buflen = 0;
		int code = in->ops.pre_enqueue(in->self, &p->info, &st);
		if (code != KP_STATUS_SUCCESS)
			return code;
	}
	(void)s;
	return KP_STATUS_SUCCESS;
}

static void enqueue_new(struct kp_scheduler *s, struct kp__pod *p, int64_t now)
{
	if (p->timestamp_ns)
		now = p->timestamp_ns;
	kp__cache_resolve_priority(&s->cache, p);
	pending_put(s, p);
	if (run_pre_enqueue(s, p) != KP_STATUS_SUCCESS) {
		kp__queue_add_unsched(&s->queue, p, now);
		p->qstate = KP__Q_GATED;
		return;
	}
	kp__queue_add_active(&s->queue, p, now);
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool same_json(const json_t *a, const json_t *b)
{
	return (!a && !b) || (a && b && json_equal((json_t *)a, (json_t *)b));
}

/* Only status (or resourceVersion/managedFields) differs between two
 * versions of a pod. */
static bool update_is_status_only(const json_t *old, const json_t *new)
{
	return old && new && same_json(json_object_get(old, "spec"), json_object_get(new, "spec")) &&
	       same_json(kp_obj_get(old, "metadata.labels"), kp_obj_get(new, "metadata.labels")) &&
	       same_json(kp_obj_get(old, "metadata.annotations"),
			 kp_obj_get(new, "metadata.annotations")) &&
	       same_json(kp_obj_get(old, "metadata.deletionTimestamp"),
			 kp_obj_get(new, "metadata.deletionTimestamp"));
}

static uint32_t pod_update_bits(const struct kp__pod *old, const struct kp__pod *new)
{
	uint32_t bits = 0;
	if (old->info.labels.n != new->info.labels.n ||
	    (old->info.labels.n && memcmp(old->info.labels.v, new->info.labels.v,
					  old->info.labels.n * sizeof(struct kp_label))))
		bits |= KP_EV_UPDATE_POD_LABEL;
	if (new->info.requests.milli_cpu < old->info.requests.milli_cpu ||
	    new->info.requests.memory < old->info.requests.memory)
		bits |= KP_EV_UPDATE_POD_SCALE_DOWN;
	return bits ? bits : KP_EV_UPDATE_OTHER;
}

static void finish_binding(struct kp_scheduler *s, struct kp__pod *p, int rc, const char *msg,
			   int code);
static struct bind_job *waiting_find_locked(struct kp_scheduler *s, const char *uid);

static void handle_item(struct kp_scheduler *s, struct item *it)
{
	int64_t now = now_ns(s);
	switch (it->kind) {
	case IT_NODE: {
		struct kp__node *n = it->node;
		it->node = NULL;
		uint32_t bits = kp__cache_set_node(&s->cache, n);
		if (bits)
			on_event(s, KP_EV_NODE, bits);
		break;
	}
	case IT_NODE_DELETE:
		if (kp__cache_delete_node(&s->cache, it->name) == 0)
			on_event(s, KP_EV_NODE, KP_EV_DELETE);
		break;
	case IT_OBJECT: {
		kp__cache_set_object(&s->cache, it->objkind, it->ns, it->name, it->obj);
		static const struct { const char *kind; uint32_t res; } map[] = {
			{ "PersistentVolume", KP_EV_PV }, { "PersistentVolumeClaim", KP_EV_PVC },
			{ "StorageClass", KP_EV_STORAGE_CLASS }, { "CSINode", KP_EV_CSI_NODE },
			{ "Namespace", KP_EV_NAMESPACE },
		};
		for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
			if (!strcmp(map[i].kind, it->objkind))
				on_event(s, map[i].res, it->obj ? KP_EV_ADD | KP_EV_UPDATE : KP_EV_DELETE);
		break;
	}
	case IT_POD: {
		struct kp__pod *p = it->pod;
		it->pod = NULL;
		struct kp__pod *mine = pending_get(s, p->info.uid);
		if (p->info.node_name != KP_ID_NONE) {
			if (mine) {
				if (mine->binding) {
					/* our own binding confirmed before its completion was
					 * processed: keep the assumed pod until then */
					kp__pod_free(p);
					break;
				}
				pending_del(s, mine);
				if (!mine->assumed) {
					kp__queue_remove(&s->queue, mine);
					kp__pod_free(mine);
				}
			}
			/* the bits before the add, which frees p when it is terminal */
			struct kp__pod *prev = kp__cache_get_pod(&s->cache, p->info.uid);
			uint32_t bits = p->terminal ? (prev ? KP_EV_DELETE : 0)
				      : prev ? pod_update_bits(prev, p) : KP_EV_ADD;
			struct kp__pod *old = NULL;
			kp__cache_add_pod(&s->cache, p, &old);
			kp__pod_free(old);
			if (bits)
				on_event(s, KP_EV_POD, bits);
			break;
		}
		/* unassigned */
		struct kp__pod *cached = kp__cache_remove_pod(&s->cache, p->info.uid);
		if (cached) {
			if (cached == mine)
				mine->assumed = false;
			else
				kp__pod_free(cached);
		}
		p->profile = profile_for(s, p->info.scheduler_name);
		if (!p->profile) {
			/* another scheduler's pod: left alone */
			kp__pod_free(p);
			break;
		}
		if (mine) {
			if (mine->binding || mine->qstate == KP__Q_INFLIGHT) {
				kp__pod_free(p);
				break;
			}
			p->attempts = mine->attempts;
			p->initial_attempt_ns = mine->initial_attempt_ns;
			p->timestamp_ns = mine->timestamp_ns;
			int old_state = mine->qstate;
			/* kube's isPodUpdated: a change of status only (our own
			 * PodScheduled condition, nominatedNodeName) does not make
			 * the pod schedulable, so it keeps its place */
			bool status_only = update_is_status_only(mine->obj, p->obj);
			int64_t unsched_since = mine->unsched_since_ns;
			p->rejectors = mine->rejectors;
			p->reject_any = mine->reject_any;
			p->sched_cycle = mine->sched_cycle;
			/* nominatedNodeName unchanged in the API: the scheduler's own
			 * nomination (not written yet, or no store) stands */
			if (same_str(kp_obj_str(mine->obj, "status.nominatedNodeName"),
				     kp_obj_str(p->obj, "status.nominatedNodeName")))
				p->info.nominated_node = mine->info.nominated_node;
			kp__queue_remove(&s->queue, mine);
			pending_del(s, mine);
			if (mine->assumed)
				kp__cache_forget(&s->cache, mine);
			kp__pod_free(mine);
			kp__cache_resolve_priority(&s->cache, p);
			pending_put(s, p);
			if (run_pre_enqueue(s, p) != KP_STATUS_SUCCESS) {
				kp__queue_add_unsched(&s->queue, p, now);
				p->qstate = KP__Q_GATED;
			} else if (status_only && old_state == KP__Q_UNSCHED) {
				int64_t ts = p->timestamp_ns;
				kp__queue_add_unsched(&s->queue, p, unsched_since);
				p->timestamp_ns = ts;
			} else if (old_state == KP__Q_BACKOFF &&
				   kp__queue_backoff_until(&s->queue, p) > now) {
				kp__queue_add_backoff(&s->queue, p, p->timestamp_ns);
			} else {
				kp__queue_add_active(&s->queue, p, old_state == KP__Q_ACTIVE ? p->timestamp_ns : now);
			}
			break;
		}
		enqueue_new(s, p, now);
		break;
	}
	case IT_POD_DELETE: {
		const char *uid = it->pod->info.uid;
		struct kp__pod *mine = pending_get(s, uid);
		if (mine) {
			if (mine->binding) {
				/* the binding completion drops it; a pod waiting in
				 * Permit is rejected now (kube's RejectWaitingPod) */
				mine->deleted = true;
				pthread_mutex_lock(&s->lock);
				struct bind_job *j = waiting_find_locked(s, uid);
				if (j) {
					j->rejected = true;
					if (!j->msg)
						j->msg = strdup("the pod was deleted while waiting in Permit");
					resolve_waiting_locked(s, j);
				}
				pthread_mutex_unlock(&s->lock);
				break;
			}
			pending_del(s, mine);
			kp__queue_remove(&s->queue, mine);
			if (mine->assumed)
				kp__cache_forget(&s->cache, mine);
			kp__pod_free(mine);
			on_event(s, KP_EV_POD, KP_EV_DELETE);
			break;
		}
		struct kp__pod *old = kp__cache_remove_pod(&s->cache, uid);
		if (old) {
			kp__pod_free(old);
			on_event(s, KP_EV_POD, KP_EV_DELETE);
		}
		break;
	}
	case IT_BIND_DONE: {
		struct kp__pod *p = it->pod;
		it->pod = NULL;
		finish_binding(s, p, it->rc, it->msg, it->code);
		break;
	}
	}
}

static void drain(struct kp_scheduler *s)
{
	pthread_mutex_lock(&s->lock);
	struct item *it = s->in_head;
	s->in_head = s->in_tail = NULL;
	pthread_mutex_unlock(&s->lock);
	while (it) {
		struct item *next = it->next;
		handle_item(s, it);
		item_free(it);
		it = next;
	}
}

/* status.nominatedNodeName as the nominator has it, through the host (kube
 * writes it with the failure's status); a host without update keeps it in
 * memory only. A conflict (the pod moved meanwhile) is left to the next
 * attempt. */
static void write_nomination(struct kp_scheduler *s, struct kp__pod *p)
{
	if (!s->host.update || !p->obj)
		return;
	json_t *copy = json_deep_copy(p->obj);
	if (!copy)
		return;
	int rc;
	if (p->info.nominated_node >= 0)
		rc = kp_obj_set_str(copy, "status.nominatedNodeName",
				    kp_intern_str(p->info.nominated_node));
	else
		rc = kp_obj_del(copy, "status.nominatedNodeName");
	char *e = NULL;
	if (rc >= 0 && s->host.update(s->host.arg, copy, &e) < 0)
		kp__log(s, KP_LOG_DEBUG, "pod %s/%s: writing nominatedNodeName: %s", p->info.ns,
			p->info.name, e ? e : "failed");
	free(e);
	json_decref(copy);
}

/* ------------------------------------------------------------------ */
/* failure message                                                    */

struct reason_count {
	int32_t reason;
	uint32_t count;
};

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "0/N nodes are available: <count reason, sorted as strings>." (FitError.Error()). */
static char *fit_error(struct kp_scheduler *s, uint32_t nnodes, const char *prefilter_msg,
		       const uint32_t *failed_idx, uint32_t nfailed, const char *postfilter_msg)
{
	size_t cap = 256, len = 0;
	char *out = malloc(cap);
	if (!out)
		return NULL;
#define APPEND(...) do { \
	int n_ = snprintf(out + len, cap - len, __VA_ARGS__); \
	if (n_ < 0) break; \
	if ((size_t)n_ >= cap - len) { \
		cap = (len + (size_t)n_ + 1) * 2; \
		char *no_ = realloc(out, cap); \
		if (!no_) { free(out); return NULL; } \
		out = no_; \
		snprintf(out + len, cap - len, __VA_ARGS__); \
	} \
	len += (size_t)n_; \
} while (0)
	APPEND("0/%u nodes are available:", nnodes);
	if (prefilter_msg) {
		APPEND(" %s.", prefilter_msg);
	} else if (nfailed) {
		struct reason_count *rc = calloc(nfailed * KP_STATUS_MAX_REASONS, sizeof(*rc));
		uint32_t nrc = 0;
		for (uint32_t i = 0; rc && i < nfailed; i++) {
			const struct node_fail *f = &s->fails[failed_idx[i]];
			for (uint32_t r = 0; r < f->nreasons; r++) {
				uint32_t j;
				for (j = 0; j < nrc; j++)
					if (rc[j].reason == f->reasons[r])
						break;
				if (j == nrc)
					rc[nrc++] = (struct reason_count){ f->reasons[r], 0 };
				rc[j].count++;
			}
		}
		char **strs = calloc(nrc ? nrc : 1, sizeof(char *));
		for (uint32_t j = 0; strs && j < nrc; j++)
			if (asprintf(&strs[j], "%u %s", rc[j].count, kp_intern_str(rc[j].reason)) < 0)
				strs[j] = NULL;
		if (strs) {
			qsort(strs, nrc, sizeof(char *), cmp_strp);
			for (uint32_t j = 0; j < nrc; j++)
				APPEND("%s%s", j ? ", " : " ", strs[j] ? strs[j] : "");
			if (nrc)
				APPEND(".");
			for (uint32_t j = 0; j < nrc; j++)
				free(strs[j]);
		}
		free(strs);
		free(rc);
	}
	if (postfilter_msg && *postfilter_msg)
		APPEND(" %s.", postfilter_msg);
#undef APPEND
	return out;
}

/* ------------------------------------------------------------------ */
/* the cycle                                                          */

struct attempt {
	struct kp_scheduler *s;
	struct kp__profile *pr;
	struct kp__pod *pod;
	struct kp_cycle *cy;
	uint64_t skip_filter;     /* bits by instance */
	uint64_t skip_score;
	/* filter */
	const struct kp_node_info *const *nodes; /* candidate list (all, or PreFilter's set) */
	uint32_t nnodes;
	uint32_t start;
	uint32_t want;
	_Atomic uint32_t nfeasible;
	struct pool *pool;
	bool batch;               /* the snapshot's columns are there: batch entry points */
	bool all_nodes;           /* nodes == snapshot nodes: position i has index i */
	/* score */
	uint32_t nfeas;
	uint32_t nscore;
	uint32_t nact;            /* score plugins not SKIPped by PreScore ... */
	uint32_t act[64];         /* ... their indexes in pr->pt[KP__PT_SCORE] */
};

/*
 * The id of a reason. Reasons added with kp_status_add() are static strings
 * (the API's contract), so a per-thread cache by address spares the intern
 * table's lock on every failing node; formatted ones live in st->buf and
 * are interned by content.
 */
static int32_t reason_id(const struct kp_status *st, const char *r)
{
	static _Thread_local struct { const char *p; int32_t id; } cache[16];
	if (r >= st->buf && r < st->buf + sizeof(st->buf))
		return kp_intern(r);
	uint32_t h = (uint32_t)(((uintptr_t)r >> 3) * 0x9E3779B1u) >> 28;
	if (cache[h].p == r)
		return cache[h].id;
	int32_t id = kp_intern(r);
	cache[h].p = r;
	cache[h].id = id;
	return id;
}

static bool intern_status(struct node_fail *f, uint16_t plugin, int code, const struct kp_status *st)
{
	f->plugin = plugin;
	f->code = (uint8_t)code;
	f->nreasons = 0;
	for (uint32_t r = 0; r < st->nreasons && r < KP_STATUS_MAX_REASONS; r++)
		f->reasons[f->nreasons++] = reason_id(st, st->reasons[r]);
	return true;
}

/* Filter plugins for one node; returns the code (fills s->fails on failure). */
static int filter_node(struct attempt *a, const struct kp_node_info *n, struct kp_status *st)
{
	uint16_t failed = 0;
	/* the common case (no nominated pods anywhere) without the detour */
	int code = a->s->nnominated
			   ? filter_with_nominated(a->s, a->pr, a->cy, &a->pod->info, n, st, &failed)
			   : run_filter_plugins(a->pr, a->cy, &a->pod->info, n, st, &failed);
	if (code != KP_STATUS_SUCCESS)
		intern_status(&a->s->fails[n->index], failed, code, st);
	return code;
}

/* Filter plugins per node, for when pods are nominated somewhere (each node
 * may need its nominated pods added first). */
static void filter_chunk_nominated(struct attempt *a, uint32_t b, uint32_t e)
{
	struct kp_status st;
	for (uint32_t pos = b; pos < e; pos++) {
		const struct kp_node_info *n = a->nodes[(a->start + pos) % a->nnodes];
		int code = filter_node(a, n, &st);
		a->s->evaluated[pos] = code == KP_STATUS_SUCCESS ? 1 : 2;
		if (code == KP_STATUS_SUCCESS && a->pool &&
		    atomic_fetch_add_explicit(&a->nfeasible, 1, memory_order_relaxed) + 1 >= a->want)
			atomic_store(&a->pool->stop_early, true);
	}
}

/*
 * Filter over positions [b, e) of the rotated order (at most CHUNK), one
 * plugin at a time over the nodes that passed the plugins before it: a
 * plugin with filter_batch is called once for them all, the others per
 * node. Each node meets the same plugins in the same order as when every
 * plugin runs per node (filters are pure), so the first failing plugin,
 * its code and reasons are the same: for a node a batch rejects, the
 * per-node filter is called to get them.
 */
static void filter_chunk(void *arg, uint32_t b, uint32_t e, int worker)
{
	struct attempt *a = arg;
	struct kp_scheduler *s = a->s;
	(void)worker;
	if (s->nnominated) {
		filter_chunk_nominated(a, b, e);
		return;
	}
	struct kp__profile *pr = a->pr;
	const struct kp_pod_info *pod = &a->pod->info;
	const struct kp_node_info *cand[CHUNK];
	uint32_t pos[CHUNK], cidx[CHUNK];
	uint8_t fit[CHUNK];
	struct kp_status st;
	uint32_t m = 0;
	uint32_t idx = a->start + b; /* start < nnodes and b < nnodes */
	if (idx >= a->nnodes)
		idx -= a->nnodes;
	for (uint32_t p = b; p < e && m < CHUNK; p++) {
		cand[m] = a->nodes[idx];
		/* the node index without touching the node when it is known */
		cidx[m] = a->all_nodes ? idx : (uint32_t)cand[m]->index;
		pos[m++] = p;
		if (++idx == a->nnodes)
			idx = 0;
	}
	uint64_t skip = a->skip_filter;
	for (uint32_t k = 0; k < pr->npt[KP__PT_FILTER] && m; k++) {
		struct kp__inst *in = pr->pt[KP__PT_FILTER][k].inst;
		if (skip & (1ull << in->slot))
			continue;
		bool batch = a->batch && in->ops.filter_batch;
		if (batch) {
			if (in->ops.filter_batch(in->self, a->cy, pod, cand, cidx, m, fit) == 0)
				continue;
		} else {
			for (uint32_t j = 0; j < m; j++) {
				st.nreasons = 0;
				st.buflen = 0;
				int code = in->ops.filter(in->self, a->cy, pod, cand[j], &st);
				fit[j] = code == KP_STATUS_SUCCESS || code == KP_STATUS_SKIP;
				if (!fit[j]) {
					intern_status(&s->fails[cand[j]->index], (uint16_t)(in->slot + 1), code,
						      &st);
					s->evaluated[pos[j]] = 2;
				}
			}
		}
		uint32_t w = 0;
		for (uint32_t j = 0; j < m; j++) {
			if (!fit[j] && batch) {
				st.nreasons = 0;
				st.buflen = 0;
				int code = in->ops.filter(in->self, a->cy, pod, cand[j], &st);
				if (code == KP_STATUS_SUCCESS || code == KP_STATUS_SKIP) {
					fit[j] = 1; /* the per-node answer is the reference */
				} else {
					intern_status(&s->fails[cand[j]->index], (uint16_t)(in->slot + 1), code,
						      &st);
					s->evaluated[pos[j]] = 2;
				}
			}
			if (fit[j]) {
				cand[w] = cand[j];
				cidx[w] = cidx[j];
				pos[w++] = pos[j];
			}
		}
		m = w;
	}
	for (uint32_t j = 0; j < m; j++)
		s->evaluated[pos[j]] = 1;
	if (m && a->pool &&
	    atomic_fetch_add_explicit(&a->nfeasible, m, memory_order_relaxed) + m >= a->want)
		atomic_store(&a->pool->stop_early, true);
}

/* Score rows [b, e) of the feasible nodes for the plugins not SKIPped by
 * PreScore (a->act); rows of skipped plugins are never read. */
static void score_chunk(void *arg, uint32_t b, uint32_t e, int worker)
{
	struct attempt *a = arg;
	struct kp_scheduler *s = a->s;
	struct kp__profile *pr = a->pr;
	struct kp_status st;
	(void)worker;
	for (uint32_t x = 0; x < a->nact; x++) {
		uint32_t k = a->act[x];
		struct kp__inst *in = pr->pt[KP__PT_SCORE][k].inst;
		int64_t *row = s->scores + (size_t)k * a->nfeas;
		if (a->batch && in->ops.score_batch &&
		    in->ops.score_batch(in->self, a->cy, &a->pod->info, s->feasible + b,
					s->feasible_idx + b, e - b, row + b) == KP_STATUS_SUCCESS)
			continue;
		for (uint32_t i = b; i < e; i++) {
			st.nreasons = 0;
			st.buflen = 0;
			int64_t sc = 0;
			int code = in->ops.score(in->self, a->cy, &a->pod->info, s->feasible[i], &sc, &st);
			if (code != KP_STATUS_SUCCESS)
				sc = 0; /* an erroring score plugin does not decide the node */
			row[i] = sc;
		}
	}
}

static int grow_buffers(struct kp_scheduler *s, uint32_t nnodes, uint32_t nscore, uint32_t nslots)
{
	if (nnodes > s->cap_nodes) {
		uint32_t nc = nnodes * 2;
		void *a = realloc(s->fails, nc * sizeof(*s->fails));
		if (!a)
			return KP_ENOMEM;
		s->fails = a;
		void *b = realloc(s->evaluated, nc);
		if (!b)
			return KP_ENOMEM;
		s->evaluated = b;
		void *c = realloc(s->feasible, nc * sizeof(*s->feasible));
		if (!c)
			return KP_ENOMEM;
		s->feasible = c;
		void *fi = realloc(s->feasible_idx, nc * sizeof(*s->feasible_idx));
		if (!fi)
			return KP_ENOMEM;
		s->feasible_idx = fi;
		void *d = realloc(s->totals, nc * sizeof(*s->totals));
		if (!d)
			return KP_ENOMEM;
		s->totals = d;
		void *f = realloc(s->failed_idx, nc * sizeof(*s->failed_idx));
		if (!f)
			return KP_ENOMEM;
		s->failed_idx = f;
		s->cap_nodes = nc;
	}
	size_t need = (size_t)s->cap_nodes * (nscore ? nscore : 1);
	if (need > s->cap_scores) {
		void *v = realloc(s->scores, need * sizeof(*s->scores));
		if (!v)
			return KP_ENOMEM;
		s->scores = v;
		s->cap_scores = need;
	}
	if (nslots > s->cap_slots) {
		void *v = realloc(s->slots, nslots * sizeof(void *));
		if (!v)
			return KP_ENOMEM;
		s->slots = v;
		s->cap_slots = nslots;
	}
	return 0;
}

/* kube-scheduler's numFeasibleNodesToFind. */
static uint32_t num_feasible_to_find(int32_t percentage, uint32_t n)
{
	if (n < MIN_FEASIBLE_NODES)
		return n;
	int64_t pct = percentage;
	if (pct == 0) {
		pct = 50 - (int64_t)n / 125;
		if (pct < MIN_FEASIBLE_PERCENT)
			pct = MIN_FEASIBLE_PERCENT;
	}
	uint64_t num = (uint64_t)n * (uint64_t)pct / 100;
	if (num < MIN_FEASIBLE_NODES)
		return MIN_FEASIBLE_NODES;
	return (uint32_t)num;
}


static char *status_text(const struct kp_status *st)
{
	size_t len = 1;
	for (uint32_t i = 0; i < st->nreasons; i++)
		len += strlen(st->reasons[i]) + 2;
	char *out = malloc(len);
	if (!out)
		return NULL;
	out[0] = 0;
	for (uint32_t i = 0; i < st->nreasons; i++) {
		if (i)
			strcat(out, ", ");
		strcat(out, st->reasons[i]);
	}
	return out;
}

static void unreserve_all(struct kp__profile *pr, struct kp_cycle *cy, struct kp__pod *p,
			  const struct kp_node_info *n)
{
	for (uint32_t i = pr->npt[KP__PT_RESERVE]; i-- > 0;) {
		struct kp__inst *in = pr->pt[KP__PT_RESERVE][i].inst;
		if (in->ops.unreserve)
			in->ops.unreserve(in->self, cy, &p->info, n);
	}
}

/*
 * The Scheduled event, as kube-scheduler records it: once the binding
 * succeeded (a binding that fails is retried and may land elsewhere).
 */
static void scheduled_event(struct kp_scheduler *s, struct kp__pod *p,
			    const struct kp_node_info *n)
{
	if (!s->host.event)
		return;
	char ev[600];
	snprintf(ev, sizeof(ev), "Successfully assigned %s/%s to %s", p->info.ns, p->info.name,
		 n->name);
	s->host.event(s->host.arg, p->obj, "Normal", "Scheduled", ev);
}

/* The binding cycle: PreBind, Bind (first that does not SKIP), PostBind. */
static int run_binding(struct kp_scheduler *s, struct kp__pod *p, struct kp_cycle *cy,
		       const struct kp_node_info *n, char **msg)
{
	struct kp__profile *pr = p->profile;
	struct kp_status st;
	bool sample = p->sched_cycle % 10 == 0;
	int64_t t_pt = mono_now(), t_pl;
	for (uint32_t i = 0; i < pr->npt[KP__PT_PRE_BIND]; i++) {
		struct kp__inst *in = pr->pt[KP__PT_PRE_BIND][i].inst;
		st.nreasons = 0;
		st.buflen = 0;
		t_pl = sample ? mono_now() : 0;
		int code = in->ops.pre_bind(in->self, cy, &p->info, n, &st);
		if (sample)
			hist_observe(plugin_hist(pr, in, KP__PT_PRE_BIND), mono_now() - t_pl);
		if (code != KP_STATUS_SUCCESS && code != KP_STATUS_SKIP) {
			char *t = status_text(&st);
			if (asprintf(msg, "running PreBind plugin \"%s\": %s", in->plugin->name,
				     t ? t : "") < 0)
				*msg = NULL;
			free(t);
			return KP_EIO;
		}
	}
	hist_observe(pt_hist(pr, KP__PT_PRE_BIND), mono_now() - t_pt);
	t_pt = mono_now();
	bool bound = false;
	for (uint32_t i = 0; i < pr->npt[KP__PT_BIND] && !bound; i++) {
		struct kp__inst *in = pr->pt[KP__PT_BIND][i].inst;
		st.nreasons = 0;
		st.buflen = 0;
		t_pl = sample ? mono_now() : 0;
		int code = in->ops.bind(in->self, cy, &p->info, n, &st);
		if (sample)
			hist_observe(plugin_hist(pr, in, KP__PT_BIND), mono_now() - t_pl);
		if (code == KP_STATUS_SKIP)
			continue;
		if (code != KP_STATUS_SUCCESS) {
			char *t = status_text(&st);
			if (asprintf(msg, "binding rejected: running Bind plugin \"%s\": %s",
				     in->plugin->name, t ? t : "") < 0)
				*msg = NULL;
			free(t);
			return KP_EIO;
		}
		bound = true;
	}
	hist_observe(pt_hist(pr, KP__PT_BIND), mono_now() - t_pt);
	if (!bound) {
		*msg = strdup("no bind plugin bound the pod");
		return KP_EIO;
	}
	t_pt = mono_now();
	for (uint32_t i = 0; i < pr->npt[KP__PT_POST_BIND]; i++) {
		struct kp__inst *in = pr->pt[KP__PT_POST_BIND][i].inst;
		in->ops.post_bind(in->self, cy, &p->info, n);
	}
	hist_observe(pt_hist(pr, KP__PT_POST_BIND), mono_now() - t_pt);
	(void)s;
	return 0;
}

static void handle_failure(struct kp_scheduler *s, struct kp__pod *p, int code, const char *msg);

/* Runs on the scheduling thread once the binding cycle ended (or Permit
 * rejected the pod: code UNSCHEDULABLE). */
static void finish_binding(struct kp_scheduler *s, struct kp__pod *p, int rc, const char *msg,
			   int code)
{
	p->binding = false;
	pending_del(s, p);
	if (p->deleted) {
		/* deleted meanwhile: whatever the binding did, it is gone */
		kp__cache_forget(&s->cache, p);
		kp__pod_free(p);
		on_event(s, KP_EV_POD, KP_EV_DELETE);
		return;
	}
	if (rc == 0) {
		atomic_fetch_add(&s->st_scheduled, 1);
		p->qstate = KP__Q_NONE;
		/* stays in the cache as assumed until the informer confirms it */
		return;
	}
	if (code != KP_STATUS_UNSCHEDULABLE)
		atomic_fetch_add(&s->st_bind_fail, 1);
	kp__cache_forget(&s->cache, p);
	pending_put(s, p);
	handle_failure(s, p, code == KP_STATUS_UNSCHEDULABLE ? code : KP_STATUS_ERROR,
		       msg ? msg : "binding failed");
	/* its node has room again (kube's AssignedPodDelete on forgetting) */
	on_event(s, KP_EV_POD, KP_EV_DELETE);
}

/*
 * The binding cycle of a job that left Permit (approved, or rejected: no
 * binding), with Unreserve on failure and the Scheduled event on success.
 * *msg (caller frees) and *code describe a failure for finish_binding.
 */
static int bind_job_run(struct kp_scheduler *s, struct bind_job *j, char **msg, int *code)
{
	int rc;
	*code = KP_STATUS_ERROR;
	if (j->rejected) {
		rc = KP_ECLOSED; /* Permit rejected: no binding */
		*code = KP_STATUS_UNSCHEDULABLE;
		*msg = j->msg;
		j->msg = NULL;
	} else {
		rc = run_binding(s, j->pod, j->cy, &j->node->info, msg);
	}
	if (rc < 0)
		unreserve_all(j->pod->profile, j->cy, j->pod, &j->node->info);
	else
		scheduled_event(s, j->pod, &j->node->info);
	kp_cycle_free(j->cy);
	return rc;
}

static void *bind_main(void *arg)
{
	struct kp_scheduler *s = arg;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->bq_head && !s->stop)
			pthread_cond_wait(&s->bind_cond, &s->lock);
		if (!s->bq_head && s->stop)
			break;
		struct bind_job *j = s->bq_head;
		s->bq_head = j->next;
		if (!s->bq_head)
			s->bq_tail = NULL;
		pthread_mutex_unlock(&s->lock);
		char *msg = NULL;
		int code;
		int rc = bind_job_run(s, j, &msg, &code);
		free(j->msg);
		struct item *it = calloc(1, sizeof(*it));
		pthread_mutex_lock(&s->lock);
		if (it) {
			it->kind = IT_BIND_DONE;
			it->pod = j->pod;
			it->rc = rc;
			it->code = code;
			it->msg = msg;
			if (s->in_tail)
				s->in_tail->next = it;
			else
				s->in_head = it;
			s->in_tail = it;
		} else {
			free(msg);
		}
		s->bindings_inflight--;
		pthread_cond_broadcast(&s->cond);
		free(j);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* Starts the binding workers on first use (under s->lock). */
static void start_binders(struct kp_scheduler *s)
{
	if (s->bind_running)
		return;
	s->bind_running = true;
	int n = s->opts.bind_workers > 0 ? s->opts.bind_workers : KP__DEFAULT_BIND_WORKERS;
	s->bind_threads = calloc((size_t)n, sizeof(pthread_t));
	for (int i = 0; s->bind_threads && i < n; i++)
		if (pthread_create(&s->bind_threads[s->nbind_threads], NULL, bind_main, s) == 0 &&
		    (pthread_setname_np(s->bind_threads[s->nbind_threads], "sched-bind"), 1))
			s->nbind_threads++;
	if (!s->nbind_threads)
		s->bind_running = false; /* retried at the next binding */
}

/* ---- Permit WAIT */

/* A waiting job got its answer (all allowed, or rejected): hand it to the
 * binding thread, or to the ready list for inline binding. Under s->lock. */
static void resolve_waiting_locked(struct kp_scheduler *s, struct bind_job *j)
{
	struct bind_job **pp = &s->waiting;
	while (*pp && *pp != j)
		pp = &(*pp)->next;
	if (*pp)
		*pp = j->next;
	j->next = NULL;
	if (s->opts.inline_bind) {
		if (s->ready_tail)
			s->ready_tail->next = j;
		else
			s->ready_head = j;
		s->ready_tail = j;
		pthread_cond_broadcast(&s->cond);
		return;
	}
	start_binders(s);
	if (s->bq_tail)
		s->bq_tail->next = j;
	else
		s->bq_head = j;
	s->bq_tail = j;
	s->bindings_inflight++;
	pthread_cond_signal(&s->bind_cond);
}

static struct bind_job *waiting_find_locked(struct kp_scheduler *s, const char *uid)
{
	for (struct bind_job *j = s->waiting; j; j = j->next)
		if (!strcmp(j->pod->info.uid, uid))
			return j;
	return NULL;
}

int kp_sched_allow(struct kp_sched_handle *h, const char *uid)
{
	struct kp_scheduler *s = h->sched;
	pthread_mutex_lock(&s->lock);
	struct bind_job *j = waiting_find_locked(s, uid);
	if (j) {
		j->pending &= ~(1ull << h->inst->slot);
		if (!j->pending)
			resolve_waiting_locked(s, j);
	}
	pthread_mutex_unlock(&s->lock);
	return j ? 0 : KP_ENOENT;
}

int kp_sched_reject(struct kp_sched_handle *h, const char *uid, const char *msg)
{
	struct kp_scheduler *s = h->sched;
	pthread_mutex_lock(&s->lock);
	struct bind_job *j = waiting_find_locked(s, uid);
	if (j) {
		j->rejected = true;
		j->pod->rejectors |= 1ull << h->inst->slot;
		if (asprintf(&j->msg, "%s", msg ? msg : "rejected by Permit") < 0)
			j->msg = NULL;
		resolve_waiting_locked(s, j);
	}
	pthread_mutex_unlock(&s->lock);
	return j ? 0 : KP_ENOENT;
}

/* Rejects waiting pods whose wait at some plugin expired (kube's
 * "rejected due to timeout after waiting %v at plugin %v"). */
static void expire_waiting(struct kp_scheduler *s)
{
	int64_t now = now_ns(s);
	pthread_mutex_lock(&s->lock);
	for (struct bind_job *j = s->waiting, *next; j; j = next) {
		next = j->next;
		struct kp__profile *pr = j->pod->profile;
		for (uint32_t i = 0; i < pr->ninsts && i < 64; i++) {
			if (!(j->pending & (1ull << i)) || j->deadline[i] > now)
				continue;
			j->rejected = true;
			j->pod->rejectors |= 1ull << i;
			/* the plugin's timeout, as Go prints a time.Duration */
			int64_t ms = (j->deadline[i] - j->wait_start) / 1000000;
			char dur[32];
			if (ms % 1000 == 0)
				snprintf(dur, sizeof(dur), "%llds", (long long)(ms / 1000));
			else
				snprintf(dur, sizeof(dur), "%lldms", (long long)ms);
			if (asprintf(&j->msg, "rejected due to timeout after waiting %s at plugin %s",
				     dur, pr->insts[i].plugin->name) < 0)
				j->msg = NULL;
			resolve_waiting_locked(s, j);
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
}

static void handle_failure(struct kp_scheduler *s, struct kp__pod *p, int code, const char *msg)
{
	int64_t now = now_ns(s);
	bool unsched = code == KP_STATUS_UNSCHEDULABLE || code == KP_STATUS_UNRESOLVABLE;
	if (unsched)
		atomic_fetch_add(&s->st_unsched, 1);
	else
		atomic_fetch_add(&s->st_errors, 1);
	if (s->host.unschedulable)
		s->host.unschedulable(s->host.arg, p->obj, unsched ? "Unschedulable" : "SchedulerError",
				      msg);
	if (s->host.event)
		s->host.event(s->host.arg, p->obj, "Warning", "FailedScheduling", msg);
	p->qstate = KP__Q_NONE;
	if (!unsched) {
		p->reject_any = true;
		kp__queue_add_backoff(&s->queue, p, now);
	} else if (s->queue.move_request_cycle >= p->sched_cycle) {
		/* something moved while it was being scheduled: retry after backoff */
		kp__queue_add_backoff(&s->queue, p, now);
	} else {
		kp__queue_add_unsched(&s->queue, p, now);
	}
}

static json_t *trace_new(const struct kp__pod *p)
{
	return json_pack("{s:s,s:s,s:n,s:s,s:[],s:{},s:{}}", "namespace", p->info.ns, "name",
			 p->info.name, "node", "message", "", "feasible", "filtered", "scores");
}

static void trace_filtered(struct kp_scheduler *s, json_t *trace, const struct kp_node_info *n)
{
	const struct node_fail *f = &s->fails[n->index];
	char buf[1024];
	size_t len = 0;
	buf[0] = 0;
	for (uint32_t r = 0; r < f->nreasons; r++)
		len += (size_t)snprintf(buf + len, len < sizeof(buf) ? sizeof(buf) - len : 0, "%s%s",
					r ? ", " : "", kp_intern_str(f->reasons[r]));
	json_object_set_new(json_object_get(trace, "filtered"), n->name, json_string(buf));
}

/* One attempt for p (popped). Returns 0; outcome through queue/cache/host. */
static int schedule_pod(struct kp_scheduler *s, struct kp__pod *p, json_t *trace)
{
	struct kp__profile *pr = p->profile;
	struct kp__cache *c = &s->cache;
	kp__cache_snapshot(c);
	const struct kp_snapshot *snap = &c->snap;
	atomic_fetch_add(&s->st_attempts, 1);
	p->attempts++;
	if (!p->initial_attempt_ns)
		p->initial_attempt_ns = now_ns(s);
	p->sched_cycle = ++s->cycle;
	p->rejectors = 0;
	p->reject_any = false;

	if (grow_buffers(s, snap->nnodes + 1, pr->npt[KP__PT_SCORE], pr->ninsts) < 0) {
		handle_failure(s, p, KP_STATUS_ERROR, "out of memory");
		return 0;
	}
	struct kp_cycle *cy = cycle_new(pr, pr->ninsts);
	if (!cy) {
		handle_failure(s, p, KP_STATUS_ERROR, "out of memory");
		return 0;
	}
	cy->snapshot = snap;
	cy->attempt = p->attempts;
	cy->cycle = s->cycle;
	struct attempt a = { .s = s, .pr = pr, .pod = p, .cy = cy, .pool = s->pool,
			     .batch = kp_snapshot_cols(snap)->n == snap->nnodes };
	struct kp_status st;
	struct kp_node_set set = { 0 };
	char *msg = NULL;
	int code = KP_STATUS_SUCCESS;
	const char *prefilter_msg = NULL;
	char *prefilter_buf = NULL;
	uint32_t *failed_idx = NULL;
	uint32_t nfailed = 0;
	const struct kp_node_info *chosen = NULL;

	if (snap->nnodes == 0) {
		msg = strdup("no nodes available to schedule pods");
		code = KP_STATUS_ERROR;
		goto fail;
	}
	/* PreFilter */
	int pre_unsched = 0;
	bool sample = s->cycle % 10 == 0;
	int64_t t_pt = mono_now(), t_pl;
	for (uint32_t i = 0; i < pr->npt[KP__PT_PRE_FILTER]; i++) {
		struct kp__inst *in = pr->pt[KP__PT_PRE_FILTER][i].inst;
		st.nreasons = 0;
		st.buflen = 0;
		bool was_restricted = set.restricted;
		uint32_t before = set.n;
		t_pl = sample ? mono_now() : 0;
		int rc = in->ops.pre_filter(in->self, cy, &p->info, &set, &st);
		if (sample)
			hist_observe(plugin_hist(pr, in, KP__PT_PRE_FILTER), mono_now() - t_pl);
		if (rc == KP_STATUS_SKIP) {
			a.skip_filter |= 1ull << in->slot;
			((struct cycle_priv *)cy->priv)->skip_filter = a.skip_filter;
			continue;
		}
		if (rc != KP_STATUS_SUCCESS) {
			p->rejectors |= 1ull << in->slot;
			if (rc == KP_STATUS_UNSCHEDULABLE || rc == KP_STATUS_UNRESOLVABLE) {
				if (!prefilter_buf)
					prefilter_buf = status_text(&st);
				pre_unsched = rc;
				if (rc == KP_STATUS_UNRESOLVABLE)
					break;
				continue;
			}
			char *t = status_text(&st);
			if (asprintf(&msg, "running PreFilter plugin \"%s\": %s", in->plugin->name,
				     t ? t : "") < 0)
				msg = NULL;
			free(t);
			code = KP_STATUS_ERROR;
			goto fail;
		}
		if (set.restricted && (!was_restricted || set.n != before) && set.nby < 8)
			set.by[set.nby++] = in->plugin->name;
	}
	hist_observe(pt_hist(pr, KP__PT_PRE_FILTER), mono_now() - t_pt);
	if (pre_unsched) {
		prefilter_msg = prefilter_buf ? prefilter_buf : "";
		code = pre_unsched;
		goto unschedulable;
	}
	/* candidate nodes */
	const struct kp_node_info **cand = NULL;
	a.nodes = snap->nodes;
	a.nnodes = snap->nnodes;
	a.all_nodes = true;
	if (set.restricted) {
		cand = malloc((set.n ? set.n : 1) * sizeof(*cand));
		uint32_t k = 0;
		for (uint32_t i = 0; cand && i < set.n; i++) {
			const struct kp_node_info *n = kp_snapshot_node(snap, set.ids[i]);
			if (n)
				cand[k++] = n;
		}
		a.nodes = cand;
		a.nnodes = k;
		a.all_nodes = false;
		if (k == 0) {
			char buf[512];
			size_t len = 0;
			if (set.nby == 1) {
				snprintf(buf, sizeof(buf), "node(s) didn't satisfy plugin %s", set.by[0]);
			} else {
				len = (size_t)snprintf(buf, sizeof(buf), "node(s) didn't satisfy plugin(s) [");
				for (uint32_t i = 0; i < set.nby && len < sizeof(buf); i++)
					len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? " " : "",
								set.by[i]);
				if (len < sizeof(buf))
					snprintf(buf + len, sizeof(buf) - len, "] simultaneously");
			}
			prefilter_buf = strdup(buf);
			prefilter_msg = prefilter_buf;
			code = KP_STATUS_UNRESOLVABLE;
			free(cand);
			cand = NULL;
			goto unschedulable;
		}
	}
	uint32_t nfeas = 0;
	t_pt = mono_now();
	/* nominated node first */
	if (p->info.nominated_node != KP_ID_NONE) {
		const struct kp_node_info *n = kp_snapshot_node(snap, p->info.nominated_node);
		if (n && filter_node(&a, n, &st) == KP_STATUS_SUCCESS) {
			s->feasible_idx[nfeas] = (uint32_t)n->index;
			s->feasible[nfeas++] = n;
			if (trace)
				json_array_append_new(json_object_get(trace, "feasible"), json_string(n->name));
		}
	}
	if (nfeas == 0) {
		int32_t pct = pr->percentage >= 0 ? pr->percentage : s->percentage;
		a.want = num_feasible_to_find(pct, a.nnodes);
		a.start = a.nnodes ? s->next_start % a.nnodes : 0;
		memset(s->evaluated, 0, a.nnodes);
		atomic_store(&a.nfeasible, 0);
		if (s->pool)
			atomic_store(&s->pool->stop_early, false);
		if (pr->npt[KP__PT_FILTER] == 0) {
			for (uint32_t i = 0; i < a.want; i++) {
				const struct kp_node_info *n = a.nodes[(a.start + i) % a.nnodes];
				s->feasible_idx[nfeas] = (uint32_t)n->index;
				s->feasible[nfeas++] = n;
			}
		} else {
			/* parallel only for a pass expected to be long: handing chunks
			 * to other threads costs more than filtering a few hundred
			 * nodes (measured with t/helper/sched-microbench) */
			bool par = a.want >= PAR_MIN_NODES || s->last_processed >= PAR_MIN_NODES;
			parallel_for(s->pool, a.nnodes, CHUNK, filter_chunk, &a, par);
			failed_idx = s->failed_idx;
			uint32_t processed = 0;
			uint32_t idx = a.start;
			for (uint32_t pos = 0; pos < a.nnodes && nfeas < a.want; pos++) {
				const struct kp_node_info *n = a.nodes[idx];
				uint32_t at = idx;
				if (++idx == a.nnodes)
					idx = 0;
				uint8_t ev = s->evaluated[pos];
				if (!ev)
					break;
				processed = pos + 1;
				if (ev == 1) {
					/* the index without touching the node when it is known */
					s->feasible_idx[nfeas] = a.all_nodes ? at : (uint32_t)n->index;
					s->feasible[nfeas++] = n;
				} else if (failed_idx) {
					failed_idx[nfailed++] = (uint32_t)n->index;
					p->rejectors |= 1ull << (s->fails[n->index].plugin - 1);
				}
			}
			s->next_start = a.nnodes ? (s->next_start + processed) % a.nnodes : 0;
			s->last_processed = processed;
			if (trace) {
				for (uint32_t i = 0; i < nfeas; i++)
					json_array_append_new(json_object_get(trace, "feasible"),
							      json_string(s->feasible[i]->name));
				for (uint32_t i = 0; i < nfailed; i++)
					trace_filtered(s, trace, snap->nodes[failed_idx[i]]);
			}
		}
		if (set.restricted) {
			/* nodes outside PreFilter's set count as rejected by it */
			if (trace) {
				for (uint32_t i = 0; i < snap->nnodes; i++) {
					const struct kp_node_info *n = snap->nodes[i];
					bool in = false;
					for (uint32_t j = 0; j < a.nnodes && !in; j++)
						in = a.nodes[j] == n;
					if (!in)
						json_object_set_new(json_object_get(trace, "filtered"), n->name,
								    json_string("node(s) didn't satisfy the PreFilter node set"));
				}
			}
		}
	}
	free(cand);
	cand = NULL;
	hist_observe(pt_hist(pr, KP__PT_FILTER), mono_now() - t_pt);
	if (nfeas == 0) {
		code = KP_STATUS_UNSCHEDULABLE;
		for (uint32_t i = 0; i < nfailed; i++)
			if (s->fails[failed_idx[i]].code == KP_STATUS_ERROR) {
				code = KP_STATUS_ERROR;
				if (asprintf(&msg, "running Filter plugin: %s",
					     kp_intern_str(s->fails[failed_idx[i]].reasons[0])) < 0)
					msg = NULL;
				goto fail;
			}
		goto unschedulable;
	}
	a.nfeas = nfeas;
	if (nfeas == 1) {
		chosen = s->feasible[0];
	} else {
		/* PreScore */
		t_pt = mono_now();
		for (uint32_t i = 0; i < pr->npt[KP__PT_PRE_SCORE]; i++) {
			struct kp__inst *in = pr->pt[KP__PT_PRE_SCORE][i].inst;
			st.nreasons = 0;
			st.buflen = 0;
			t_pl = sample ? mono_now() : 0;
			int rc = in->ops.pre_score(in->self, cy, &p->info, s->feasible, nfeas, &st);
			if (sample)
				hist_observe(plugin_hist(pr, in, KP__PT_PRE_SCORE), mono_now() - t_pl);
			if (rc == KP_STATUS_SKIP) {
				a.skip_score |= 1ull << in->slot;
				continue;
			}
			if (rc != KP_STATUS_SUCCESS) {
				char *t = status_text(&st);
				if (asprintf(&msg, "running PreScore plugin \"%s\": %s", in->plugin->name,
					     t ? t : "") < 0)
					msg = NULL;
				free(t);
				code = KP_STATUS_ERROR;
				goto fail;
			}
		}
		hist_observe(pt_hist(pr, KP__PT_PRE_SCORE), mono_now() - t_pt);
		t_pt = mono_now();
		uint32_t nsc = pr->npt[KP__PT_SCORE];
		a.nact = 0;
		for (uint32_t k = 0; k < nsc && a.nact < 64; k++)
			if (!(a.skip_score & (1ull << pr->pt[KP__PT_SCORE][k].inst->slot)))
				a.act[a.nact++] = k;
		for (uint32_t i = 0; i < nfeas; i++)
			s->totals[i] = 0;
		if (a.nact) {
			parallel_for(s->pool, nfeas, CHUNK * 4, score_chunk, &a,
				     (uint64_t)nfeas * a.nact >= PAR_MIN_SCORES);
			/* NormalizeScore, the clamp to 0..100 and the weighted sum,
			 * plugin by plugin (skipped plugins add 0) */
			for (uint32_t x = 0; x < a.nact; x++) {
				uint32_t k = a.act[x];
				struct kp__inst *in = pr->pt[KP__PT_SCORE][k].inst;
				int64_t *row = s->scores + (size_t)k * nfeas;
				int64_t w = pr->pt[KP__PT_SCORE][k].weight;
				if (in->ops.normalize_score) {
					st.nreasons = 0;
					st.buflen = 0;
					in->ops.normalize_score(in->self, cy, &p->info, s->feasible, row, nfeas,
								&st);
				}
				int64_t *tot = s->totals;
				for (uint32_t i = 0; i < nfeas; i++) {
					int64_t v = row[i];
					/* one unsigned compare catches both ends; rarely taken */
					if ((uint64_t)v > KP_MAX_NODE_SCORE) {
						v = v < 0 ? 0 : KP_MAX_NODE_SCORE;
						row[i] = v;
					}
					tot[i] += v * w;
				}
			}
		}
		hist_observe(pt_hist(pr, KP__PT_SCORE), mono_now() - t_pt);
		/*
		 * Each node with the best total wins with equal probability, as
		 * kube's reservoir sampling gives; counted first and then picked
		 * with one random number, since on identical nodes most of them
		 * tie and a division per tie was a tenth of an attempt.
		 */
		int64_t best = INT64_MIN;
		uint32_t nbest = 0;
		const int64_t *tot = s->totals;
		for (uint32_t i = 0; i < nfeas; i++) {
			if (tot[i] > best) {
				best = tot[i];
				nbest = 1;
			} else if (tot[i] == best) {
				nbest++;
			}
		}
		if (nbest) {
			/* multiply-shift: uniform in 0..nbest-1 without a division */
			uint32_t pick = (uint32_t)(((rnd(s) >> 32) * (uint64_t)nbest) >> 32);
			for (uint32_t i = 0; i < nfeas; i++)
				if (tot[i] == best && pick-- == 0) {
					chosen = s->feasible[i];
					break;
				}
		}
		if (trace) {
			json_t *scores = json_object_get(trace, "scores");
			for (uint32_t i = 0; i < nfeas; i++) {
				json_t *pl = json_object();
				for (uint32_t k = 0; k < nsc; k++) {
					struct kp__inst *in = pr->pt[KP__PT_SCORE][k].inst;
					if (a.skip_score & (1ull << in->slot))
						continue;
					json_object_set_new(pl, in->plugin->name,
							    json_integer(s->scores[(size_t)k * nfeas + i]));
				}
				json_object_set_new(scores, s->feasible[i]->name,
						    json_pack("{s:I,s:o}", "total", (json_int_t)s->totals[i],
							      "plugins", pl));
			}
		}
	}
	failed_idx = NULL;
	free(set.ids);
	free(prefilter_buf);

	/* assume, Reserve, Permit */
	struct kp__node *node = (struct kp__node *)chosen;
	if (kp__cache_assume(c, p, node) < 0) {
		msg = strdup("out of memory assuming the pod");
		code = KP_STATUS_ERROR;
		goto fail_nofree;
	}
	t_pt = mono_now();
	for (uint32_t i = 0; i < pr->npt[KP__PT_RESERVE]; i++) {
		struct kp__inst *in = pr->pt[KP__PT_RESERVE][i].inst;
		if (!in->ops.reserve)
			continue;
		st.nreasons = 0;
		st.buflen = 0;
		t_pl = sample ? mono_now() : 0;
		int rc = in->ops.reserve(in->self, cy, &p->info, chosen, &st);
		if (sample)
			hist_observe(plugin_hist(pr, in, KP__PT_RESERVE), mono_now() - t_pl);
		if (rc != KP_STATUS_SUCCESS) {
			unreserve_all(pr, cy, p, chosen);
			kp__cache_forget(c, p);
			char *t = status_text(&st);
			if (asprintf(&msg, "running Reserve plugin \"%s\": %s", in->plugin->name,
				     t ? t : "") < 0)
				msg = NULL;
			free(t);
			code = rc == KP_STATUS_UNSCHEDULABLE || rc == KP_STATUS_UNRESOLVABLE ? rc : KP_STATUS_ERROR;
			if (code != KP_STATUS_ERROR)
				p->rejectors |= 1ull << in->slot;
			goto fail_nofree;
		}
	}
	/* Permit: every plugin runs; a rejection wins, else WAITs make the pod
	 * wait (kube's waitingPods) for kp_sched_allow() of each waiting plugin
	 * or its timeout (at most 15 min, as kube caps it) */
	hist_observe(pt_hist(pr, KP__PT_RESERVE), mono_now() - t_pt);
	t_pt = mono_now();
	uint64_t waiting = 0;
	int64_t deadlines[64];
	int64_t wait_start = now_ns(s);
	for (uint32_t i = 0; i < pr->npt[KP__PT_PERMIT]; i++) {
		struct kp__inst *in = pr->pt[KP__PT_PERMIT][i].inst;
		st.nreasons = 0;
		st.buflen = 0;
		uint32_t timeout = 0;
		t_pl = sample ? mono_now() : 0;
		int rc = in->ops.permit(in->self, cy, &p->info, chosen, &timeout, &st);
		if (sample)
			hist_observe(plugin_hist(pr, in, KP__PT_PERMIT), mono_now() - t_pl);
		if (rc == KP_STATUS_SUCCESS)
			continue;
		if (rc == KP_STATUS_WAIT && in->slot < 64) {
			if (timeout > 15u * 60 * 1000)
				timeout = 15u * 60 * 1000;
			waiting |= 1ull << in->slot;
			deadlines[in->slot] = wait_start + (int64_t)timeout * 1000000LL;
			continue;
		}
		unreserve_all(pr, cy, p, chosen);
		kp__cache_forget(c, p);
		char *t = status_text(&st);
		if (asprintf(&msg, "%s", t ? t : "rejected by Permit") < 0)
			msg = NULL;
		code = rc == KP_STATUS_UNSCHEDULABLE || rc == KP_STATUS_UNRESOLVABLE ? rc : KP_STATUS_ERROR;
		free(t);
		p->rejectors |= 1ull << in->slot;
		goto fail_nofree;
	}
	hist_observe(pt_hist(pr, KP__PT_PERMIT), mono_now() - t_pt);
	if (waiting) {
		struct bind_job *w = calloc(1, sizeof(*w));
		if (!w) {
			unreserve_all(pr, cy, p, chosen);
			kp__cache_forget(c, p);
			msg = strdup("out of memory");
			code = KP_STATUS_ERROR;
			goto fail_nofree;
		}
		w->pod = p;
		w->cy = cy;
		w->node = node;
		w->pending = waiting;
		w->waited = true;
		w->wait_start = wait_start;
		memcpy(w->deadline, deadlines, sizeof(deadlines));
		p->binding = true; /* assumed, not to be taken from the queue */
		p->qstate = KP__Q_NONE;
		if (trace)
			json_object_set_new(trace, "message",
					    json_string("waiting on Permit"));
		pthread_mutex_lock(&s->lock);
		w->next = s->waiting;
		s->waiting = w;
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	if (trace)
		json_object_set_new(trace, "node", json_string(chosen->name));
	p->binding = true;
	p->qstate = KP__Q_NONE;
	if (s->opts.inline_bind) {
		char *bmsg = NULL;
		int rc = run_binding(s, p, cy, chosen, &bmsg);
		if (rc < 0)
			unreserve_all(pr, cy, p, chosen);
		else
			scheduled_event(s, p, chosen);
		kp_cycle_free(cy);
		if (rc < 0 && trace) {
			json_object_set_new(trace, "node", json_null());
			json_object_set_new(trace, "message", json_string(bmsg ? bmsg : "binding failed"));
		}
		finish_binding(s, p, rc, bmsg, KP_STATUS_ERROR);
		free(bmsg);
		return 0;
	}
	struct bind_job *j = calloc(1, sizeof(*j));
	if (!j) {
		p->binding = false;
		unreserve_all(pr, cy, p, chosen);
		kp__cache_forget(c, p);
		msg = strdup("out of memory");
		code = KP_STATUS_ERROR;
		goto fail_nofree;
	}
	j->pod = p;
	j->cy = cy;
	j->node = node;
	pthread_mutex_lock(&s->lock);
	start_binders(s);
	if (s->bq_tail)
		s->bq_tail->next = j;
	else
		s->bq_head = j;
	s->bq_tail = j;
	s->bindings_inflight++;
	pthread_cond_signal(&s->bind_cond);
	pthread_mutex_unlock(&s->lock);
	return 0;

unschedulable: {
		/* PostFilter (preemption) */
		char *post_msg = NULL;
		bool all_unresolvable = prefilter_msg && code == KP_STATUS_UNRESOLVABLE;
		if (!all_unresolvable) {
			struct kp_filter_results fr = { snap->nnodes, NULL };
			uint8_t *codes = calloc(snap->nnodes ? snap->nnodes : 1, 1);
			if (codes) {
				if (prefilter_msg) {
					memset(codes, code, snap->nnodes);
				} else {
					for (uint32_t i = 0; i < nfailed; i++)
						codes[failed_idx[i]] = s->fails[failed_idx[i]].code;
				}
				fr.codes = codes;
			}
			int64_t t_post = mono_now();
			int32_t nominated_before = p->info.nominated_node;
			for (uint32_t i = 0; codes && i < pr->npt[KP__PT_POST_FILTER]; i++) {
				struct kp__inst *in = pr->pt[KP__PT_POST_FILTER][i].inst;
				struct kp_post_filter_result res = { KP_ID_NONE };
				st.nreasons = 0;
				st.buflen = 0;
				int64_t t_one = mono_now();
				int rc = in->ops.post_filter(in->self, cy, &p->info, &fr, &res, &st);
				hist_observe(plugin_hist(pr, in, KP__PT_POST_FILTER), mono_now() - t_one);
				if (res.nominated_node == KP_NOMINATE_CLEAR)
					nominate(s, p, KP_ID_NONE);
				else if (res.nominated_node >= 0)
					nominate(s, p, res.nominated_node);
				if (rc == KP_STATUS_SUCCESS)
					break;
				if (rc != KP_STATUS_SKIP && st.nreasons && !post_msg)
					post_msg = status_text(&st);
			}
			free(codes);
			hist_observe(pt_hist(pr, KP__PT_POST_FILTER), mono_now() - t_post);
			if (p->info.nominated_node != nominated_before)
				write_nomination(s, p);
		}
		msg = fit_error(s, snap->nnodes, prefilter_msg, failed_idx, prefilter_msg ? 0 : nfailed,
				post_msg);
		free(post_msg);
	}
fail:
	free(set.ids);
	free(prefilter_buf);
fail_nofree:
	if (trace)
		json_object_set_new(trace, "message", json_string(msg ? msg : ""));
	cycle_reset(cy);
	kp_cycle_free(cy);
	handle_failure(s, p, code, msg ? msg : "scheduling failed");
	free(msg);
	return 0;
}

/* Inline binding of pods whose Permit wait ended (scheduling thread). */
static void bind_ready(struct kp_scheduler *s)
{
	pthread_mutex_lock(&s->lock);
	struct bind_job *j = s->ready_head;
	s->ready_head = s->ready_tail = NULL;
	pthread_mutex_unlock(&s->lock);
	while (j) {
		struct bind_job *next = j->next;
		char *msg = NULL;
		int code;
		int rc = bind_job_run(s, j, &msg, &code);
		finish_binding(s, j->pod, rc, msg, code);
		free(msg);
		free(j->msg);
		free(j);
		j = next;
	}
}

int kp_scheduler_schedule_one(struct kp_scheduler *s, int timeout_ms, json_t **trace)
{
	if (trace)
		*trace = NULL;
	int64_t deadline = mono_now() + (int64_t)timeout_ms * 1000000LL;
	struct kp__pod *p;
	for (;;) {
		drain(s);
		expire_waiting(s);
		if (s->opts.inline_bind)
			bind_ready(s);
		kp__queue_flush(&s->queue, now_ns(s));
		p = kp__queue_pop(&s->queue);
		if (p)
			break;
		int64_t left = deadline - mono_now();
		if (left <= 0)
			return KP_ETIMEDOUT;
		/* wait for the inbox, a binding, or the next backoff expiry */
		int64_t nb = kp__queue_next_backoff(&s->queue);
		if (nb != INT64_MAX && nb - now_ns(s) < left)
			left = nb - now_ns(s) > 0 ? nb - now_ns(s) : 1000000;
		if (left > 100000000LL)
			left = 100000000LL;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t t = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec + left;
		ts.tv_sec = t / 1000000000LL;
		ts.tv_nsec = t % 1000000000LL;
		pthread_mutex_lock(&s->lock);
		if (!s->in_head && !s->stop)
			pthread_cond_timedwait(&s->cond, &s->lock, &ts);
		bool stop = s->stop;
		pthread_mutex_unlock(&s->lock);
		if (stop)
			return KP_ECLOSED;
	}
	json_t *t = trace ? trace_new(p) : NULL;
	schedule_pod(s, p, t);
	if (trace)
		*trace = t;
	return 0;
}

static void *sched_main(void *arg)
{
	struct kp_scheduler *s = arg;
	for (;;) {
		int rc = kp_scheduler_schedule_one(s, 100, NULL);
		if (rc == KP_ECLOSED)
			break;
		pthread_mutex_lock(&s->lock);
		bool stop = s->stop;
		pthread_mutex_unlock(&s->lock);
		if (stop)
			break;
	}
	return NULL;
}

int kp_scheduler_start(struct kp_scheduler *s)
{
	if (s->running)
		return 0;
	s->stop = false;
	if (pthread_create(&s->thread, NULL, sched_main, s) == 0)
		pthread_setname_np(s->thread, "sched");
	else
		return KP_ENOMEM;
	s->running = true;
	return 0;
}

void kp_scheduler_stop(struct kp_scheduler *s)
{
	if (!s->running)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	s->running = false;
	pthread_mutex_lock(&s->lock);
	s->stop = false;
	pthread_mutex_unlock(&s->lock);
}

void kp_scheduler_wait_bindings(struct kp_scheduler *s)
{
	pthread_mutex_lock(&s->lock);
	while (s->bindings_inflight)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
	if (!s->running)
		drain(s);
}

void kp_scheduler_stats(struct kp_scheduler *s, struct kp_scheduler_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->attempts = atomic_load(&s->st_attempts);
	out->scheduled = atomic_load(&s->st_scheduled);
	out->unschedulable = atomic_load(&s->st_unsched);
	out->errors = atomic_load(&s->st_errors);
	out->bind_failures = atomic_load(&s->st_bind_fail);
	out->active = s->queue.nheap;
	out->backoff = s->queue.nbackoff;
	out->unschedulable_pods = json_object_size(s->queue.unsched);
	out->nodes = s->cache.norder;
	out->pods = s->cache.npods;
}

/* One histogram's series; nothing for one never observed. */
static void hist_print(FILE *f, const char *name, const char *labels, struct kp__hist *h)
{
	if (!h)
		return;
	uint64_t count = atomic_load(&h->count);
	if (!count)
		return;
	uint64_t cum = 0;
	double le = 0.0001;
	for (int i = 0; i < KP__HIST_BUCKETS; i++, le *= 2) {
		cum += atomic_load(&h->bucket[i]);
		fprintf(f, "%s_bucket{%s,le=\"%g\"} %llu\n", name, labels, le, (unsigned long long)cum);
	}
	fprintf(f, "%s_bucket{%s,le=\"+Inf\"} %llu\n", name, labels, (unsigned long long)count);
	fprintf(f, "%s_sum{%s} %.9f\n", name, labels, (double)atomic_load(&h->sum_ns) / 1e9);
	fprintf(f, "%s_count{%s} %llu\n", name, labels, (unsigned long long)count);
}

char *kp_scheduler_metrics_text(struct kp_scheduler *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	struct kp_scheduler_stats st;
	kp_scheduler_stats(s, &st);
	fprintf(f, "# TYPE kplane_scheduler_schedule_attempts_total counter\n");
	fprintf(f, "kplane_scheduler_schedule_attempts_total{result=\"scheduled\"} %llu\n",
		(unsigned long long)st.scheduled);
	fprintf(f, "kplane_scheduler_schedule_attempts_total{result=\"unschedulable\"} %llu\n",
		(unsigned long long)st.unschedulable);
	fprintf(f, "kplane_scheduler_schedule_attempts_total{result=\"error\"} %llu\n",
		(unsigned long long)st.errors);
	fprintf(f, "# TYPE kplane_scheduler_pending_pods gauge\n");
	fprintf(f, "kplane_scheduler_pending_pods{queue=\"active\"} %llu\n",
		(unsigned long long)st.active);
	fprintf(f, "kplane_scheduler_pending_pods{queue=\"backoff\"} %llu\n",
		(unsigned long long)st.backoff);
	fprintf(f, "kplane_scheduler_pending_pods{queue=\"unschedulable\"} %llu\n",
		(unsigned long long)st.unschedulable_pods);
	static const char *const pt_names[KP__NPOINTS - 1] = {
		"PreEnqueue", "QueueSort", "PreFilter", "Filter", "PostFilter", "PreScore", "Score",
		"Reserve", "Permit", "PreBind", "Bind", "PostBind",
	};
	fprintf(f, "# HELP kplane_scheduler_framework_extension_point_duration_seconds Latency of "
		   "running all plugins of a specific extension point.\n"
		   "# TYPE kplane_scheduler_framework_extension_point_duration_seconds histogram\n");
	for (uint32_t i = 0; i < s->nprofiles; i++)
		for (int pt = 0; pt < KP__NPOINTS - 1; pt++) {
			char labels[256];
			snprintf(labels, sizeof(labels), "extension_point=\"%s\",profile=\"%s\"",
				 pt_names[pt], s->profiles[i].name);
			hist_print(f, "kplane_scheduler_framework_extension_point_duration_seconds",
				   labels, pt_hist(&s->profiles[i], pt));
		}
	fprintf(f, "# HELP kplane_scheduler_plugin_execution_duration_seconds Duration of running a "
		   "plugin at a specific extension point (one attempt in 10; Filter and Score per "
		   "node are not timed).\n"
		   "# TYPE kplane_scheduler_plugin_execution_duration_seconds histogram\n");
	for (uint32_t i = 0; i < s->nprofiles; i++) {
		struct kp__profile *pr = &s->profiles[i];
		for (uint32_t k = 0; k < pr->ninsts; k++)
			for (int pt = 0; pt < KP__NPOINTS - 1; pt++) {
				char labels[256];
				snprintf(labels, sizeof(labels),
					 "plugin=\"%s\",extension_point=\"%s\",profile=\"%s\"",
					 pr->insts[k].plugin->name, pt_names[pt], pr->name);
				hist_print(f, "kplane_scheduler_plugin_execution_duration_seconds", labels,
					   plugin_hist(pr, &pr->insts[k], pt));
			}
	}
	int n = atomic_load(&s->ncounters);
	for (int i = 0; i < n; i++) {
		fprintf(f, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", s->counters[i].name,
			s->counters[i].help, s->counters[i].name, s->counters[i].name,
			(unsigned long long)atomic_load(&s->counters[i].value));
	}
	fclose(f);
	return buf;
}

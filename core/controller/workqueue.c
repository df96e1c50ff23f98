/*
 * workqueue.c - deduplicating work queue with delays and rate limiting.
 * See workqueue.h.
 *
 * One mutex guards everything: a key's state lives in one hash entry (dirty,
 * processing, failure count), ready keys in a FIFO of entries, delayed adds
 * in a binary min-heap of (deadline, key copy). Waiters sleep on a condition
 * variable until the FIFO has an entry or the earliest deadline passes; no
 * timer thread is needed.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kplane/error.h>
#include <kplane/object.h>

#include "core/controller/workqueue.h"

struct entry {
	struct entry *next;   /* hash chain */
	struct entry *qnext;  /* FIFO link */
	char *key;
	uint32_t hash;
	bool dirty, processing;
	unsigned failures;
};

struct delayed {
	uint64_t due;
	char *key;
};

struct kp_wq {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct entry **tab;
	size_t tabsz, nent;
	struct entry *head, *tail;
	size_t qlen;
	struct delayed *heap;
	size_t nheap, capheap;
	bool shutdown;
	struct kp_wq_options o;
	/* token bucket */
	double tokens;
	uint64_t last_ns;
};

static uint64_t mono(void *arg)
{
	(void)arg;
	return kp_mono_ns();
}

static uint64_t now(struct kp_wq *q)
{
	return q->o.now_ns(q->o.now_arg);
}

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

int kp_wq_new(const struct kp_wq_options *opts, struct kp_wq **out)
{
	struct kp_wq *q = calloc(1, sizeof(*q));
	if (!q)
		return KP_ENOMEM;
	if (opts)
		q->o = *opts;
	if (!q->o.base_delay_ns)
		q->o.base_delay_ns = 5 * 1000000ull;
	if (!q->o.max_delay_ns)
		q->o.max_delay_ns = 1000 * 1000000000ull;
	if (q->o.qps <= 0)
		q->o.qps = 10;
	if (!q->o.burst)
		q->o.burst = 100;
	if (!q->o.now_ns)
		q->o.now_ns = mono;
	q->tabsz = 64;
	q->tab = calloc(q->tabsz, sizeof(*q->tab));
	if (!q->tab) {
		free(q);
		return KP_ENOMEM;
	}
	q->tokens = q->o.burst;
	q->last_ns = now(q);
	pthread_mutex_init(&q->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cond, &ca);
	pthread_condattr_destroy(&ca);
	*out = q;
	return 0;
}

void kp_wq_free(struct kp_wq *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < q->tabsz; i++)
		for (struct entry *e = q->tab[i], *n; e; e = n) {
			n = e->next;
			free(e->key);
			free(e);
		}
	for (size_t i = 0; i < q->nheap; i++)
		free(q->heap[i].key);
	free(q->heap);
	free(q->tab);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

static struct entry *find(struct kp_wq *q, const char *key, uint32_t h)
{
	for (struct entry *e = q->tab[h & (q->tabsz - 1)]; e; e = e->next)
		if (e->hash == h && !strcmp(e->key, key))
			return e;
	return NULL;
}

static void grow(struct kp_wq *q)
{
	size_t nsz = q->tabsz * 2;
	struct entry **nt = calloc(nsz, sizeof(*nt));
	if (!nt)
		return; /* keep the longer chains */
	for (size_t i = 0; i < q->tabsz; i++)
		for (struct entry *e = q->tab[i], *n; e; e = n) {
			n = e->next;
			e->next = nt[e->hash & (nsz - 1)];
			nt[e->hash & (nsz - 1)] = e;
		}
	free(q->tab);
	q->tab = nt;
	q->tabsz = nsz;
}

/* Finds or creates key's entry; NULL only when out of memory. */
static struct entry *lookup(struct kp_wq *q, const char *key, bool create)
{
	uint32_t h = hash(key);
	struct entry *e = find(q, key, h);
	if (e || !create)
		return e;
	e = calloc(1, sizeof(*e));
	if (!e || !(e->key = strdup(key))) {
		free(e);
		return NULL;
	}
	e->hash = h;
	if (q->nent + 1 > q->tabsz * 3 / 4)
		grow(q);
	e->next = q->tab[h & (q->tabsz - 1)];
	q->tab[h & (q->tabsz - 1)] = e;
	q->nent++;
	return e;
}

/* Frees an entry that carries no state any more. */
static void maybe_drop(struct kp_wq *q, struct entry *e)
{
	if (e->dirty || e->processing || e->failures)
		return;
	struct entry **pp = &q->tab[e->hash & (q->tabsz - 1)];
	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	q->nent--;
	free(e->key);
	free(e);
}

static void push(struct kp_wq *q, struct entry *e)
{
	e->qnext = NULL;
	if (q->tail)
		q->tail->qnext = e;
	else
		q->head = e;
	q->tail = e;
	q->qlen++;
	pthread_cond_signal(&q->cond);
}

static void add_locked(struct kp_wq *q, const char *key)
{
	if (q->shutdown)
		return;
	struct entry *e = lookup(q, key, true);
	if (!e || e->dirty)
		return;
	e->dirty = true;
	if (!e->processing)
		push(q, e);
}

void kp_wq_add(struct kp_wq *q, const char *key)
{
	pthread_mutex_lock(&q->lock);
	add_locked(q, key);
	pthread_mutex_unlock(&q->lock);
}

static void heap_up(struct kp_wq *q, size_t i)
{
	while (i) {
		size_t p = (i - 1) / 2;
		if (q->heap[p].due <= q->heap[i].due)
			break;
		struct delayed t = q->heap[p];
		q->heap[p] = q->heap[i];
		q->heap[i] = t;
		i = p;
	}
}

static void heap_down(struct kp_wq *q, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < q->nheap && q->heap[l].due < q->heap[m].due)
			m = l;
		if (r < q->nheap && q->heap[r].due < q->heap[m].due)
			m = r;
		if (m == i)
			return;
		struct delayed t = q->heap[m];
		q->heap[m] = q->heap[i];
		q->heap[i] = t;
		i = m;
	}
}

static void add_after_locked(struct kp_wq *q, const char *key, uint64_t delay_ns)
{
	if (q->shutdown)
		return;
	if (!delay_ns) {
		add_locked(q, key);
		return;
	}
	if (q->nheap == q->capheap) {
		size_t nc = q->capheap ? q->capheap * 2 : 64;
		void *p = realloc(q->heap, nc * sizeof(*q->heap));
		if (!p)
			return;
		q->heap = p;
		q->capheap = nc;
	}
	char *k = strdup(key);
	if (!k)
		return;
	q->heap[q->nheap].due = now(q) + delay_ns;
	q->heap[q->nheap].key = k;
	heap_up(q, q->nheap++);
	/* A waiter may be sleeping until a later deadline. */
	pthread_cond_broadcast(&q->cond);
}

void kp_wq_add_after(struct kp_wq *q, const char *key, uint64_t delay_ns)
{
	pthread_mutex_lock(&q->lock);
	add_after_locked(q, key, delay_ns);
	pthread_mutex_unlock(&q->lock);
}

uint64_t kp_wq_backoff_ns(uint64_t base_ns, uint64_t max_ns, unsigned failures)
{
	uint64_t d = base_ns;
	for (unsigned i = 0; i < failures; i++) {
		if (d >= max_ns / 2) {
			d = max_ns;
			break;
		}
		d *= 2;
	}
	return d > max_ns ? max_ns : d;
}

/* Token bucket: the delay until a token is available, taking it (reserving). */
static uint64_t bucket_delay(struct kp_wq *q)
{
	uint64_t t = now(q);
	if (t > q->last_ns) {
		q->tokens += (double)(t - q->last_ns) * q->o.qps / 1e9;
		if (q->tokens > q->o.burst)
			q->tokens = q->o.burst;
		q->last_ns = t;
	}
	q->tokens -= 1;
	if (q->tokens >= 0)
		return 0;
	return (uint64_t)(-q->tokens / q->o.qps * 1e9);
}

uint64_t kp_wq_add_rate_limited(struct kp_wq *q, const char *key)
{
	pthread_mutex_lock(&q->lock);
	struct entry *e = lookup(q, key, true);
	unsigned f = e ? e->failures : 0;
	if (e)
		e->failures++;
	uint64_t d = kp_wq_backoff_ns(q->o.base_delay_ns, q->o.max_delay_ns, f);
	uint64_t b = bucket_delay(q);
	if (b > d)
		d = b;
	add_after_locked(q, key, d);
	pthread_mutex_unlock(&q->lock);
	return d;
}

void kp_wq_forget(struct kp_wq *q, const char *key)
{
	pthread_mutex_lock(&q->lock);
	struct entry *e = lookup(q, key, false);
	if (e) {
		e->failures = 0;
		maybe_drop(q, e);
	}
	pthread_mutex_unlock(&q->lock);
}

unsigned kp_wq_num_requeues(struct kp_wq *q, const char *key)
{
	pthread_mutex_lock(&q->lock);
	struct entry *e = lookup(q, key, false);
	unsigned n = e ? e->failures : 0;
	pthread_mutex_unlock(&q->lock);
	return n;
}

/* Moves delayed keys whose time came into the FIFO; returns the next deadline or 0. */
static uint64_t promote(struct kp_wq *q)
{
	uint64_t t = now(q);
	while (q->nheap && q->heap[0].due <= t) {
		char *k = q->heap[0].key;
		q->heap[0] = q->heap[--q->nheap];
		heap_down(q, 0);
		add_locked(q, k);
		free(k);
	}
	return q->nheap ? q->heap[0].due : 0;
}

static void abs_deadline(struct timespec *ts, uint64_t ns_from_now)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	uint64_t n = (uint64_t)ts->tv_nsec + ns_from_now;
	ts->tv_sec += (time_t)(n / 1000000000u);
	ts->tv_nsec = (long)(n % 1000000000u);
}

int kp_wq_get(struct kp_wq *q, int timeout_ms, char **key)
{
	uint64_t start = kp_mono_ns();
	pthread_mutex_lock(&q->lock);
	for (;;) {
		uint64_t next = promote(q);
		if (q->head) {
			struct entry *e = q->head;
			q->head = e->qnext;
			if (!q->head)
				q->tail = NULL;
			q->qlen--;
			e->dirty = false;
			e->processing = true;
			*key = strdup(e->key);
			pthread_mutex_unlock(&q->lock);
			return *key ? 0 : KP_ENOMEM;
		}
		if (q->shutdown) {
			pthread_mutex_unlock(&q->lock);
			return KP_ECLOSED;
		}
		uint64_t waited = kp_mono_ns() - start;
		uint64_t limit = UINT64_MAX;
		if (timeout_ms >= 0) {
			uint64_t tmo = (uint64_t)timeout_ms * 1000000u;
			if (waited >= tmo) {
				pthread_mutex_unlock(&q->lock);
				return KP_ETIMEDOUT;
			}
			limit = tmo - waited;
		}
		if (next) {
			uint64_t t = now(q);
			uint64_t d = next > t ? next - t : 0;
			if (d < limit)
				limit = d;
		}
		if (limit == UINT64_MAX) {
			pthread_cond_wait(&q->cond, &q->lock);
		} else {
			struct timespec ts;
			/* A fake clock does not move while we sleep: poll it every 1 ms. */
			if (q->o.now_ns != mono && limit > 1000000u)
				limit = 1000000u;
			abs_deadline(&ts, limit);
			pthread_cond_timedwait(&q->cond, &q->lock, &ts);
		}
	}
}

void kp_wq_done(struct kp_wq *q, const char *key)
{
	pthread_mutex_lock(&q->lock);
	struct entry *e = lookup(q, key, false);
	if (e) {
		e->processing = false;
		if (e->dirty && !q->shutdown)
			push(q, e);
		else
			maybe_drop(q, e);
	}
	pthread_mutex_unlock(&q->lock);
}

size_t kp_wq_len(struct kp_wq *q)
{
	pthread_mutex_lock(&q->lock);
	promote(q);
	size_t n = q->qlen;
	pthread_mutex_unlock(&q->lock);
	return n;
}

void kp_wq_shutdown(struct kp_wq *q)
{
	pthread_mutex_lock(&q->lock);
	q->shutdown = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

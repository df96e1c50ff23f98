/*
 * queue.c - kube-scheduler's scheduling queue: an active heap ordered by
 * the QueueSort plugin, a backoff heap ordered by backoff expiry, and the
 * unschedulable set whose pods move back on the cluster events their
 * rejecting plugins registered (or after podMaxInUnschedulablePodsDuration).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/error.h>

#include "core/sched/internal.h"

void kp__queue_init(struct kp__queue *q)
{
	memset(q, 0, sizeof(*q));
	q->unsched = json_object();
	q->initial_backoff_ns = 1000000000LL;
	q->max_backoff_ns = 10000000000LL;
	q->max_unsched_ns = 300000000000LL; /* 5 minutes, kube's default */
}

void kp__queue_release(struct kp__queue *q)
{
	free(q->heap);
	free(q->backoff);
	json_decref(q->unsched);
	memset(q, 0, sizeof(*q));
}

static bool active_less(const struct kp__queue *q, const struct kp__pod *a, const struct kp__pod *b)
{
	struct kp_queued_pod qa = { &a->info, a->timestamp_ns, a->initial_attempt_ns, a->attempts };
	struct kp_queued_pod qb = { &b->info, b->timestamp_ns, b->initial_attempt_ns, b->attempts };
	if (q->less)
		return q->less(q->less_self, &qa, &qb);
	return a->timestamp_ns < b->timestamp_ns;
}

int64_t kp__queue_backoff_until(const struct kp__queue *q, const struct kp__pod *p)
{
	if (p->attempts == 0)
		return p->timestamp_ns;
	int64_t d = q->initial_backoff_ns;
	for (uint32_t i = 1; i < p->attempts; i++) {
		if (d > q->max_backoff_ns - d) {
			d = q->max_backoff_ns;
			break;
		}
		d += d;
	}
	if (d > q->max_backoff_ns)
		d = q->max_backoff_ns;
	return p->timestamp_ns + d;
}

static bool backoff_less(const struct kp__queue *q, const struct kp__pod *a, const struct kp__pod *b)
{
	return kp__queue_backoff_until(q, a) < kp__queue_backoff_until(q, b);
}

typedef bool (*less_fn)(const struct kp__queue *, const struct kp__pod *, const struct kp__pod *);

static void sift_up(const struct kp__queue *q, struct kp__pod **h, uint32_t i, less_fn less)
{
	struct kp__pod *x = h[i];
	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (!less(q, x, h[parent]))
			break;
		h[i] = h[parent];
		h[i]->heap_pos = (int32_t)i;
		i = parent;
	}
	h[i] = x;
	x->heap_pos = (int32_t)i;
}

static void sift_down(const struct kp__queue *q, struct kp__pod **h, uint32_t n, uint32_t i,
		      less_fn less)
{
	struct kp__pod *x = h[i];
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		struct kp__pod *best = x;
		if (l < n && less(q, h[l], best)) {
			m = l;
			best = h[l];
		}
		if (r < n && less(q, h[r], best)) {
			m = r;
			best = h[r];
		}
		if (m == i)
			break;
		h[i] = h[m];
		h[i]->heap_pos = (int32_t)i;
		i = m;
	}
	h[i] = x;
	x->heap_pos = (int32_t)i;
}

static int heap_push(const struct kp__queue *q, struct kp__pod ***h, uint32_t *n, uint32_t *cap,
		     struct kp__pod *p, less_fn less)
{
	if (*n == *cap) {
		uint32_t nc = *cap ? *cap * 2 : 256;
		void *v = realloc(*h, nc * sizeof(**h));
		if (!v)
			return KP_ENOMEM;
		*h = v;
		*cap = nc;
	}
	(*h)[*n] = p;
	sift_up(q, *h, (*n)++, less);
	return 0;
}

static void heap_remove(const struct kp__queue *q, struct kp__pod **h, uint32_t *n, uint32_t i,
			less_fn less)
{
	struct kp__pod *gone = h[i];
	(*n)--;
	if (i != *n) {
		h[i] = h[*n];
		h[i]->heap_pos = (int32_t)i;
		sift_down(q, h, *n, i, less);
		sift_up(q, h, (uint32_t)h[i]->heap_pos, less);
	}
	gone->heap_pos = -1;
}

int kp__queue_add_active(struct kp__queue *q, struct kp__pod *p, int64_t now)
{
	kp__queue_remove(q, p);
	p->timestamp_ns = now;
	int rc = heap_push(q, &q->heap, &q->nheap, &q->cap_heap, p, active_less);
	if (rc == 0)
		p->qstate = KP__Q_ACTIVE;
	return rc;
}

int kp__queue_add_backoff(struct kp__queue *q, struct kp__pod *p, int64_t now)
{
	kp__queue_remove(q, p);
	p->timestamp_ns = now;
	int rc = heap_push(q, &q->backoff, &q->nbackoff, &q->cap_backoff, p, backoff_less);
	if (rc == 0)
		p->qstate = KP__Q_BACKOFF;
	return rc;
}

int kp__queue_add_unsched(struct kp__queue *q, struct kp__pod *p, int64_t now)
{
	kp__queue_remove(q, p);
	p->timestamp_ns = now;
	p->unsched_since_ns = now;
	if (json_object_set_new(q->unsched, p->info.uid, json_integer((json_int_t)(intptr_t)p)) < 0)
		return KP_ENOMEM;
	p->qstate = KP__Q_UNSCHED;
	return 0;
}

void kp__queue_remove(struct kp__queue *q, struct kp__pod *p)
{
	switch (p->qstate) {
	case KP__Q_ACTIVE:
		heap_remove(q, q->heap, &q->nheap, (uint32_t)p->heap_pos, active_less);
		break;
	case KP__Q_BACKOFF:
		heap_remove(q, q->backoff, &q->nbackoff, (uint32_t)p->heap_pos, backoff_less);
		break;
	case KP__Q_UNSCHED:
	case KP__Q_GATED:
		json_object_del(q->unsched, p->info.uid);
		break;
	default:
		break;
	}
	p->qstate = KP__Q_NONE;
}

struct kp__pod *kp__queue_pop(struct kp__queue *q)
{
	if (!q->nheap)
		return NULL;
	struct kp__pod *p = q->heap[0];
	heap_remove(q, q->heap, &q->nheap, 0, active_less);
	p->qstate = KP__Q_INFLIGHT;
	return p;
}

int64_t kp__queue_next_backoff(const struct kp__queue *q)
{
	return q->nbackoff ? kp__queue_backoff_until(q, q->backoff[0]) : INT64_MAX;
}

/* Moves p out of the unschedulable set to backoff (still backing off) or active. */
static void requeue(struct kp__queue *q, struct kp__pod *p, int64_t now)
{
	int64_t ts = p->timestamp_ns;
	if (kp__queue_backoff_until(q, p) > now)
		kp__queue_add_backoff(q, p, ts);
	else
		kp__queue_add_active(q, p, ts);
}

void kp__queue_flush(struct kp__queue *q, int64_t now)
{
	while (q->nbackoff && kp__queue_backoff_until(q, q->backoff[0]) <= now) {
		struct kp__pod *p = q->backoff[0];
		heap_remove(q, q->backoff, &q->nbackoff, 0, backoff_less);
		p->qstate = KP__Q_NONE;
		kp__queue_add_active(q, p, p->timestamp_ns);
	}
	if (!json_object_size(q->unsched))
		return;
	const char *k;
	json_t *v, *tmp;
	json_object_foreach_safe(q->unsched, tmp, k, v) {
		struct kp__pod *p = (struct kp__pod *)(intptr_t)json_integer_value(v);
		if (p->qstate == KP__Q_UNSCHED && now - p->unsched_since_ns > q->max_unsched_ns)
			requeue(q, p, now);
	}
}

void kp__queue_on_event(struct kp__queue *q, uint32_t resource, uint32_t actions, int64_t now,
			bool (*helps)(void *arg, const struct kp__pod *p, uint32_t res, uint32_t act),
			void *arg)
{
	if (!json_object_size(q->unsched))
		return;
	const char *k;
	json_t *v, *tmp;
	json_object_foreach_safe(q->unsched, tmp, k, v) {
		struct kp__pod *p = (struct kp__pod *)(intptr_t)json_integer_value(v);
		if (p->qstate == KP__Q_UNSCHED && helps(arg, p, resource, actions))
			requeue(q, p, now);
	}
}

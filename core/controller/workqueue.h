/*
 * workqueue.h - the controller work queue (client-go's workqueue semantics):
 *
 *  - a key is queued at most once: adding a queued key does nothing;
 *  - a key being processed (taken by kp_wq_get, not yet kp_wq_done) is not
 *    handed to a second worker: adding it marks it dirty and it is queued
 *    again when the worker calls kp_wq_done;
 *  - kp_wq_add_after delays an add (a timer; the earliest deadline wins);
 *  - kp_wq_add_rate_limited delays by the larger of a per-item exponential
 *    backoff (base * 2^failures, capped) and an overall token bucket
 *    (client-go's DefaultControllerRateLimiter: 5 ms .. 1000 s, 10 qps with
 *    a burst of 100); kp_wq_forget resets the item's failure count.
 *
 * Thread-safe. Keys are copied on add; the string kp_wq_get returns is owned
 * by the caller (free it after kp_wq_done).
 */
#ifndef KPLANE_CONTROLLER_WORKQUEUE_H
#define KPLANE_CONTROLLER_WORKQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kp_wq;

struct kp_wq_options {
	uint64_t base_delay_ns; /* per-item backoff base; 0 = 5 ms */
	uint64_t max_delay_ns;  /* per-item backoff cap; 0 = 1000 s */
	double qps;             /* token bucket rate; 0 = 10 */
	unsigned burst;         /* token bucket size; 0 = 100 */
	/* Clock in ns (monotonic); NULL = kp_mono_ns. Tests pass a fake one. */
	uint64_t (*now_ns)(void *arg);
	void *now_arg;
};

/* opts may be NULL (defaults). KP_ENOMEM. */
int kp_wq_new(const struct kp_wq_options *opts, struct kp_wq **out);
/* Frees the queue; no thread may be using it. */
void kp_wq_free(struct kp_wq *q);

void kp_wq_add(struct kp_wq *q, const char *key);
void kp_wq_add_after(struct kp_wq *q, const char *key, uint64_t delay_ns);
/* Returns the delay it chose (for logs and tests). */
uint64_t kp_wq_add_rate_limited(struct kp_wq *q, const char *key);
void kp_wq_forget(struct kp_wq *q, const char *key);
/* Failures counted for key since the last forget. */
unsigned kp_wq_num_requeues(struct kp_wq *q, const char *key);

/*
 * Takes the next key, waiting up to timeout_ms (-1 = until one is ready or
 * shutdown). 0 with *key (caller frees), KP_ETIMEDOUT, or KP_ECLOSED after
 * kp_wq_shutdown once nothing is ready.
 */
int kp_wq_get(struct kp_wq *q, int timeout_ms, char **key);
/* Ends processing of key (as returned by kp_wq_get; borrowed). */
void kp_wq_done(struct kp_wq *q, const char *key);
/* Keys queued and ready now (not delayed, not processing). */
size_t kp_wq_len(struct kp_wq *q);
/* Wakes every waiter; later gets return KP_ECLOSED when nothing is ready. */
void kp_wq_shutdown(struct kp_wq *q);

/*
 * The per-item exponential delay after `failures` previous failures
 * (base * 2^failures, capped at max), exposed for tests.
 */
uint64_t kp_wq_backoff_ns(uint64_t base_ns, uint64_t max_ns, unsigned failures);

#endif

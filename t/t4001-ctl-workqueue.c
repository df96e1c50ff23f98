/*
 * t4001-ctl-workqueue - the controller work queue: deduplication, no key
 * processed twice at once, delays, per-item exponential backoff and the
 * overall token bucket, worked out from client-go's semantics
 * (DefaultControllerRateLimiter: 5 ms * 2^failures capped at 1000 s, and
 * 10 qps with a burst of 100).
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/error.h>

#include "core/controller/workqueue.h"
#include "t/tap.h"

#define MS 1000000ull

static uint64_t fake_now;
static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return __atomic_load_n(&fake_now, __ATOMIC_SEQ_CST);
}

static struct kp_wq *fake_queue(void)
{
	struct kp_wq_options o = { .now_ns = fake_clock };
	struct kp_wq *q = NULL;
	if (kp_wq_new(&o, &q) < 0)
		abort();
	return q;
}

/* Takes one key without waiting; returns it (caller frees) or NULL. */
static char *take(struct kp_wq *q)
{
	char *k = NULL;
	return kp_wq_get(q, 0, &k) == 0 ? k : NULL;
}

static void test_dedup(void)
{
	struct kp_wq *q = fake_queue();
	kp_wq_add(q, "ns/a");
	kp_wq_add(q, "ns/b");
	kp_wq_add(q, "ns/a");
	is_uint(kp_wq_len(q), 2, "adding a queued key again does not queue it twice");
	char *k = take(q);
	is_str(k, "ns/a", "keys come out in the order first added");
	/* While a is processed, adding it marks it dirty but does not hand it out. */
	kp_wq_add(q, "ns/a");
	char *k2 = take(q);
	is_str(k2, "ns/b", "a key being processed is not handed to another worker");
	ok(take(q) == NULL, "nothing else is ready while a is processing");
	kp_wq_done(q, k);
	char *k3 = take(q);
	is_str(k3, "ns/a", "done re-queues a key added while it was processed");
	kp_wq_done(q, k3);
	kp_wq_done(q, k2);
	ok(take(q) == NULL, "a key done without new adds is not queued again");
	free(k);
	free(k2);
	free(k3);
	kp_wq_free(q);
}

static void test_delay(void)
{
	struct kp_wq *q = fake_queue();
	fake_now = 1000 * MS;
	kp_wq_add_after(q, "late", 50 * MS);
	kp_wq_add_after(q, "early", 10 * MS);
	ok(take(q) == NULL, "delayed keys are not ready at once");
	fake_now += 10 * MS;
	char *k = take(q);
	is_str(k, "early", "a delayed key is ready when its time comes");
	ok(take(q) == NULL, "the later key still waits");
	fake_now += 40 * MS;
	char *k2 = take(q);
	is_str(k2, "late", "and then the later one");
	free(k);
	free(k2);
	kp_wq_free(q);
}

static void test_backoff(void)
{
	uint64_t base = 5 * MS, max = 1000000ull * MS;
	is_uint(kp_wq_backoff_ns(base, max, 0), 5 * MS, "first failure waits 5ms");
	is_uint(kp_wq_backoff_ns(base, max, 1), 10 * MS, "second 10ms");
	is_uint(kp_wq_backoff_ns(base, max, 4), 80 * MS, "fifth 5ms*2^4 = 80ms");
	/* 5ms * 2^17 = 655.36s < 1000s; 2^18 would be 1310.72s: capped. */
	is_uint(kp_wq_backoff_ns(base, max, 17), 655360 * MS, "18th 655.36s");
	is_uint(kp_wq_backoff_ns(base, max, 18), max, "19th is capped at 1000s");
	is_uint(kp_wq_backoff_ns(base, max, 500), max, "no overflow after many failures");

	struct kp_wq *q = fake_queue();
	fake_now = 5000 * MS;
	is_uint(kp_wq_add_rate_limited(q, "x"), 5 * MS, "rate-limited add: 5ms first");
	is_uint(kp_wq_add_rate_limited(q, "x"), 10 * MS, "then 10ms");
	is_uint(kp_wq_add_rate_limited(q, "x"), 20 * MS, "then 20ms");
	is_uint(kp_wq_num_requeues(q, "x"), 3, "three failures counted");
	is_uint(kp_wq_add_rate_limited(q, "y"), 5 * MS, "failures are per item");
	kp_wq_forget(q, "x");
	is_uint(kp_wq_num_requeues(q, "x"), 0, "forget resets the count");
	is_uint(kp_wq_add_rate_limited(q, "x"), 5 * MS, "and the delay");
	kp_wq_free(q);
}

static void test_bucket(void)
{
	struct kp_wq *q = fake_queue();
	fake_now = 10000 * MS;
	char key[32];
	uint64_t d = 0;
	/* 100 tokens: 100 distinct first failures take only the 5ms item delay. */
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		d = kp_wq_add_rate_limited(q, key);
	}
	is_uint(d, 5 * MS, "the 100th add still has a token");
	/* The 101st must wait for a token: 1/10 qps = 100ms. */
	is_uint(kp_wq_add_rate_limited(q, "k100"), 100 * MS, "the 101st waits 100ms for a token");
	is_uint(kp_wq_add_rate_limited(q, "k101"), 200 * MS, "the 102nd 200ms");
	/* One second later 10 tokens came back, two were owed: the next is free again. */
	fake_now += 1000 * MS;
	is_uint(kp_wq_add_rate_limited(q, "k102"), 5 * MS, "tokens refill at 10 per second");
	kp_wq_free(q);
}

static void *closer(void *arg)
{
	kp_wq_shutdown(arg);
	return NULL;
}

static void test_shutdown(void)
{
	struct kp_wq *q = NULL;
	kp_wq_new(NULL, &q);
	char *k = NULL;
	is_int(kp_wq_get(q, 10, &k), KP_ETIMEDOUT, "an empty queue times out");
	pthread_t t;
	pthread_create(&t, NULL, closer, q);
	is_int(kp_wq_get(q, -1, &k), KP_ECLOSED, "shutdown wakes a waiting worker");
	pthread_join(t, NULL);
	kp_wq_add(q, "after");
	is_int(kp_wq_get(q, 0, &k), KP_ECLOSED, "adds after shutdown are ignored");
	kp_wq_free(q);
}

int main(void)
{
	plan(30);
	test_dedup();
	test_delay();
	test_backoff();
	test_bucket();
	test_shutdown();
	return done_testing();
}

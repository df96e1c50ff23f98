/*
 * events.c - the Event recorder shared by in-process components. See runtime.h.
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <kplane/error.h>
#include <kplane/object.h>

#include "core/runtime/runtime.h"
#include "store/store.h"

/* Past this many queued events new ones are dropped rather than slowing the
 * component that reports them. */
#define EVENT_QUEUE_MAX 10000
/* Identical events within this window update one Event (kube's EventCorrelator);
 * at most this many distinct ones are remembered (then aggregation restarts). */
#define EVENT_AGGREGATE_SEC 600
#define EVENT_AGGREGATE_MAX 4096

struct event_item {
	struct event_item *next;
	json_t *event; /* owned: a new Event, or (repeat) {metadata, count, lastTimestamp} */
	bool repeat;
};

/*
 * Writer threads. One wrote an event, waited for it to be durable, wrote the
 * next: a synced commit of its own per event whenever nothing else was being
 * written (11,000 of them after a 10,000-pod sched-bench run). Several
 * writers' events share commits. An event and its repeats go to the same
 * writer, so a repeat never overtakes the Event it counts on.
 */
#define EVENT_WRITERS 4
/* Added to the writers' nice value (see writer()). */
#define EVENT_WRITER_NICE 10

struct kp_recorder;

struct event_writer {
	struct kp_recorder *r;
	pthread_t thread;
	bool started;
	pthread_cond_t cond;
	struct event_item *head, *tail; /* r->lock */
};

struct kp_recorder {
	struct kp_store *st;
	char *component;
	struct event_writer w[EVENT_WRITERS];
	pthread_mutex_t lock;
	size_t len; /* queued, all writers */
	bool stop;
	uint64_t dropped;
	atomic_uint_fast64_t seq;
	json_t *seen; /* aggregation key -> [namespace, name, count, first seen] (lock) */
};

/* kp_store_edit_json callback: count and lastTimestamp from a repeat. */
static int bump_event(json_t *obj, void *arg, char **errmsg)
{
	json_t *r = arg;
	json_int_t cur = json_integer_value(json_object_get(obj, "count"));
	json_int_t want = json_integer_value(json_object_get(r, "count"));
	if (want <= cur)
		return 1;
	json_object_set_new(obj, "count", json_integer(want));
	json_object_set(obj, "lastTimestamp", json_object_get(r, "lastTimestamp"));
	return 0;
}

static void *writer(void *p)
{
	struct event_writer *w = p;
	struct kp_recorder *r = w->r;
	/*
	 * Events are best effort (kube's broadcaster drops them when its queue
	 * is full, as the queue here does): their writers yield the CPU to the
	 * work they report on. Linux takes a thread id here; should it refuse,
	 * the writers run at the component's priority.
	 */
	(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), EVENT_WRITER_NICE);
	pthread_mutex_lock(&r->lock);
	for (;;) {
		while (!w->head && !r->stop)
			pthread_cond_wait(&w->cond, &r->lock);
		struct event_item *it = w->head;
		if (!it)
			break; /* stopping and drained */
		w->head = it->next;
		if (!w->head)
			w->tail = NULL;
		r->len--;
		pthread_mutex_unlock(&r->lock);

		char key[1024];
		snprintf(key, sizeof(key), "/registry/core/events/%s/%s",
			 kp_obj_namespace(it->event), kp_obj_name(it->event));
		if (it->repeat) {
			/* Gone (deleted, or its namespace went): the repeat is dropped. */
			char *err = NULL;
			kp_store_edit_json(r->st, key, bump_event, it->event, &err);
			free(err);
		} else {
			char *s = kp_json_dumps(it->event, NULL);
			if (s) {
				int rc = kp_store_create(r->st, key, s, strlen(s), NULL);
				if (rc < 0 && rc != KP_EEXIST)
					fprintf(stderr, "kplane: %s: event %s: %s\n", r->component,
						key, kp_strerror(rc));
				free(s);
			}
		}
		json_decref(it->event);
		free(it);
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

int kp_recorder_start(struct kp_store *st, const char *component, struct kp_recorder **out,
		      char **errmsg)
{
	struct kp_recorder *r = calloc(1, sizeof(*r));
	if (!r || !(r->component = strdup(component)) || !(r->seen = json_object())) {
		if (r)
			free(r->component);
		free(r);
		return kp_error_set(errmsg, KP_ENOMEM, "event recorder: out of memory");
	}
	r->st = st;
	pthread_mutex_init(&r->lock, NULL);
	for (int i = 0; i < EVENT_WRITERS; i++) {
		struct event_writer *w = &r->w[i];
		w->r = r;
		pthread_cond_init(&w->cond, NULL);
		if (pthread_create(&w->thread, NULL, writer, w) == 0) {
			w->started = true;
			pthread_setname_np(w->thread, "event-writer");
		} else if (i == 0) {
			pthread_cond_destroy(&w->cond);
			pthread_mutex_destroy(&r->lock);
			json_decref(r->seen);
			free(r->component);
			free(r);
			return kp_error_set(errmsg, KP_ENOMEM,
					    "event recorder: cannot start a thread");
		}
	}
	*out = r;
	return 0;
}

/*
 * Appends to the queue of the writer of Event `name` (a started one); the
 * caller holds r->lock. Steals ev.
 */
static void enqueue_locked(struct kp_recorder *r, const char *name, json_t *ev, bool repeat)
{
	struct event_item *it = malloc(sizeof(*it));
	if (!it || r->len >= EVENT_QUEUE_MAX || r->stop) {
		r->dropped++;
		json_decref(ev);
		free(it);
		return;
	}
	uint32_t h = 2166136261u;
	for (const char *c = name ? name : ""; *c; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	struct event_writer *w = &r->w[h % EVENT_WRITERS];
	if (!w->started) /* its thread could not start: the first one always did */
		w = &r->w[0];
	it->next = NULL;
	it->event = ev;
	it->repeat = repeat;
	if (w->tail)
		w->tail->next = it;
	else
		w->head = it;
	w->tail = it;
	r->len++;
	pthread_cond_signal(&w->cond);
}

/* Sets obj[key] to v (stolen); *bad on failure, also when v is NULL. */
static void set_new(json_t *obj, const char *key, json_t *v, bool *bad)
{
	if (!obj) {
		json_decref(v);
		*bad = true;
	} else if (json_object_set_new_nocheck(obj, key, v)) {
		*bad = true;
	}
}

static void set_str(json_t *obj, const char *key, const char *s, bool *bad)
{
	set_new(obj, key, s ? json_string(s) : NULL, bad);
}

/* As json_pack's "s?": a NULL string is a JSON null. */
static void set_str_or_null(json_t *obj, const char *key, const char *s, bool *bad)
{
	set_new(obj, key, s ? json_string(s) : json_null(), bad);
}

void kp_recorder_event(struct kp_recorder *r, const char *component, const json_t *regarding,
		       const char *type, const char *reason, const char *message)
{
	const char *ns = kp_obj_namespace(regarding), *name = kp_obj_name(regarding);
	if (!r || !name)
		return;
	if (!ns)
		ns = "default"; /* events about cluster-scoped objects live in default */
	if (!component)
		component = r->component;
	if (!message)
		message = "";
	int64_t now = kp_time_now();
	char ts[KP_TIME_BUFSZ];
	kp_time_format(now, ts);

	/* The same event about the same object again: count it on the first one. */
	char *akey = NULL;
	if (asprintf(&akey, "%s|%s|%s|%s|%s",
		     kp_obj_uid(regarding) ? kp_obj_uid(regarding) : name, component, type, reason,
		     message) < 0)
		return;
	pthread_mutex_lock(&r->lock);
	json_t *seen = json_object_get(r->seen, akey);
	if (seen && now - json_integer_value(json_array_get(seen, 3)) < EVENT_AGGREGATE_SEC) {
		json_int_t count = json_integer_value(json_array_get(seen, 2)) + 1;
		json_array_set_new(seen, 2, json_integer(count));
		json_t *rep = json_pack("{s:{s:O, s:O}, s:I, s:s}", "metadata", "namespace",
					json_array_get(seen, 0), "name", json_array_get(seen, 1),
					"count", count, "lastTimestamp", ts);
		if (rep)
			enqueue_locked(r, json_string_value(json_array_get(seen, 1)), rep, true);
		pthread_mutex_unlock(&r->lock);
		free(akey);
		return;
	}
	pthread_mutex_unlock(&r->lock);

	char uid[37], ename[512];
	/* client-go names events "<object>.<hex unix nanos>"; the sequence keeps
	 * two events of the same nanosecond apart. */
	snprintf(ename, sizeof(ename), "%s.%" PRIx64, name,
		 (uint64_t)now * 1000000000u + atomic_fetch_add(&r->seq, 1));
	kp_uuid4(uid);
	/* Built member by member: json_pack's format parsing was half the cost
	 * of recording the Scheduled event of every pod. */
	bool bad = false;
	json_t *ev = json_object(), *meta = json_object(), *inv = json_object(),
	       *src = json_object();
	set_str(ev, "apiVersion", "v1", &bad);
	set_str(ev, "kind", "Event", &bad);
	set_str(meta, "name", ename, &bad);
	set_str(meta, "namespace", ns, &bad);
	set_str(meta, "uid", uid, &bad);
	set_str(meta, "creationTimestamp", ts, &bad);
	set_new(ev, "metadata", meta, &bad);
	set_str_or_null(inv, "apiVersion", kp_obj_api_version(regarding), &bad);
	set_str_or_null(inv, "kind", kp_obj_kind(regarding), &bad);
	set_str_or_null(inv, "namespace", kp_obj_namespace(regarding), &bad);
	set_str(inv, "name", name, &bad);
	set_str_or_null(inv, "uid", kp_obj_uid(regarding), &bad);
	set_new(ev, "involvedObject", inv, &bad);
	set_str(ev, "type", type, &bad);
	set_str(ev, "reason", reason, &bad);
	set_str(ev, "message", message, &bad);
	set_str(src, "component", component, &bad);
	set_new(ev, "source", src, &bad);
	set_str(ev, "firstTimestamp", ts, &bad);
	set_str(ev, "lastTimestamp", ts, &bad);
	set_new(ev, "count", json_integer(1), &bad);
	set_str(ev, "reportingComponent", component, &bad);
	set_str(ev, "reportingInstance", "kplane", &bad);
	if (bad) { /* out of memory, or a string that is not UTF-8 */
		json_decref(ev);
		free(akey);
		return;
	}
	pthread_mutex_lock(&r->lock);
	if (json_object_size(r->seen) >= EVENT_AGGREGATE_MAX)
		json_object_clear(r->seen); /* bounded memory; aggregation restarts */
	json_object_set_new(r->seen, akey, json_pack("[s, s, i, I]", ns, ename, 1, (json_int_t)now));
	enqueue_locked(r, ename, ev, false);
	pthread_mutex_unlock(&r->lock);
	free(akey);
}

uint64_t kp_recorder_dropped(struct kp_recorder *r)
{
	pthread_mutex_lock(&r->lock);
	uint64_t n = r->dropped;
	pthread_mutex_unlock(&r->lock);
	return n;
}

void kp_recorder_stop(struct kp_recorder *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	for (int i = 0; i < EVENT_WRITERS; i++)
		pthread_cond_signal(&r->w[i].cond);
	pthread_mutex_unlock(&r->lock);
	for (int i = 0; i < EVENT_WRITERS; i++) {
		if (r->w[i].started)
			pthread_join(r->w[i].thread, NULL);
		pthread_cond_destroy(&r->w[i].cond);
	}
	pthread_mutex_destroy(&r->lock);
	json_decref(r->seen);
	free(r->component);
	free(r);
}

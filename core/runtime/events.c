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

#include <kplane/error.h>
#include <kplane/object.h>

#include "core/runtime/runtime.h"
#include "store/store.h"

/* Past this many queued events new ones are dropped rather than slowing the
 * component that reports them. */
#define EVENT_QUEUE_MAX 10000

struct event_item {
	struct event_item *next;
	json_t *event; /* owned */
};

struct kp_recorder {
	struct kp_store *st;
	char *component;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct event_item *head, *tail;
	size_t len;
	bool stop;
	uint64_t dropped;
	atomic_uint_fast64_t seq;
};

static void *writer(void *p)
{
	struct kp_recorder *r = p;
	pthread_mutex_lock(&r->lock);
	for (;;) {
		while (!r->head && !r->stop)
			pthread_cond_wait(&r->cond, &r->lock);
		struct event_item *it = r->head;
		if (!it)
			break; /* stopping and drained */
		r->head = it->next;
		if (!r->head)
			r->tail = NULL;
		r->len--;
		pthread_mutex_unlock(&r->lock);

		char key[1024];
		snprintf(key, sizeof(key), "/registry/core/events/%s/%s",
			 kp_obj_namespace(it->event), kp_obj_name(it->event));
		char *s = json_dumps(it->event, JSON_COMPACT);
		if (s) {
			int rc = kp_store_create(r->st, key, s, strlen(s), NULL);
			if (rc < 0 && rc != KP_EEXIST)
				fprintf(stderr, "kplane: %s: event %s: %s\n", r->component, key,
					kp_strerror(rc));
			free(s);
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
	if (!r || !(r->component = strdup(component))) {
		free(r);
		return kp_error_set(errmsg, KP_ENOMEM, "event recorder: out of memory");
	}
	r->st = st;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	if (pthread_create(&r->thread, NULL, writer, r)) {
		pthread_cond_destroy(&r->cond);
		pthread_mutex_destroy(&r->lock);
		free(r->component);
		free(r);
		return kp_error_set(errmsg, KP_ENOMEM, "event recorder: cannot start a thread");
	}
	*out = r;
	return 0;
}

void kp_recorder_event(struct kp_recorder *r, const json_t *regarding, const char *type,
		       const char *reason, const char *message)
{
	const char *ns = kp_obj_namespace(regarding), *name = kp_obj_name(regarding);
	if (!r || !name)
		return;
	if (!ns)
		ns = "default"; /* events about cluster-scoped objects live in default */
	char ts[KP_TIME_BUFSZ], uid[37], ename[512];
	/* client-go names events "<object>.<hex unix nanos>"; the sequence keeps
	 * two events of the same nanosecond apart. */
	snprintf(ename, sizeof(ename), "%s.%" PRIx64, name,
		 (uint64_t)kp_time_now() * 1000000000u + atomic_fetch_add(&r->seq, 1));
	kp_uuid4(uid);
	kp_time_format(kp_time_now(), ts);
	json_t *ev = json_pack(
		"{s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:{s:s?, s:s?, s:s?, s:s, s:s?}, s:s, s:s, s:s,"
		" s:{s:s}, s:s, s:s, s:i, s:s, s:s}",
		"apiVersion", "v1", "kind", "Event",
		"metadata", "name", ename, "namespace", ns, "uid", uid, "creationTimestamp", ts,
		"involvedObject", "apiVersion", kp_obj_api_version(regarding),
		"kind", kp_obj_kind(regarding), "namespace", kp_obj_namespace(regarding),
		"name", name, "uid", kp_obj_uid(regarding),
		"type", type, "reason", reason, "message", message ? message : "",
		"source", "component", r->component,
		"firstTimestamp", ts, "lastTimestamp", ts, "count", 1,
		"reportingComponent", r->component, "reportingInstance", "kplane");
	if (!ev)
		return;
	struct event_item *it = malloc(sizeof(*it));
	if (!it) {
		json_decref(ev);
		return;
	}
	it->next = NULL;
	it->event = ev;
	pthread_mutex_lock(&r->lock);
	if (r->len >= EVENT_QUEUE_MAX || r->stop) {
		r->dropped++;
		pthread_mutex_unlock(&r->lock);
		json_decref(ev);
		free(it);
		return;
	}
	if (r->tail)
		r->tail->next = it;
	else
		r->head = it;
	r->tail = it;
	r->len++;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
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
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r->component);
	free(r);
}

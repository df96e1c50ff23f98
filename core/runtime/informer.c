/*
 * informer.c - list + watch over the store, delivering object changes in
 * revision order on one thread per informer. See runtime.h.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kplane/error.h>
#include <kplane/object.h>

#include "core/runtime/runtime.h"
#include "store/store.h"

/* Page size of the initial list: bounds memory per page, not correctness. */
#define LIST_PAGE 1000
/* How long one watch wait lasts before the thread checks for stop. */
#define WATCH_WAIT_MS 500

struct kp_informer {
	struct kp_store *st;
	char *prefix;
	kp_informer_fn fn;
	void *arg;
	pthread_t thread;
	atomic_bool stop;
	atomic_bool synced;
	pthread_mutex_t lock; /* guards w against kp_informer_stop's cancel */
	struct kp_watch *w;
	/* Last known state of every key: store key -> object (the informer's cache). */
	json_t *known;
};

/* Decodes a stored value and fills metadata.resourceVersion; new reference or NULL. */
static json_t *decode(const struct kp_kv *kv)
{
	json_error_t jerr;
	json_t *obj = json_loadb(kv->value, kv->len, 0, &jerr);
	if (!obj || !json_is_object(obj)) {
		fprintf(stderr, "kplane: informer: %s: stored value is not a JSON object: %s\n",
			kv->key, obj ? "wrong type" : jerr.text);
		json_decref(obj);
		return NULL;
	}
	kp_obj_set_resource_version(obj, kv->mod_rev);
	return obj;
}

/*
 * Lists everything under the prefix at one revision and reports the
 * difference against what is known. Returns the list's revision, or 0 when
 * stopping or on a store error (after a pause the caller retries).
 */
static uint64_t relist(struct kp_informer *inf)
{
	json_t *now = json_object();
	char *start = NULL;
	uint64_t rev = 0;

	for (;;) {
		struct kp_kv_list l = { 0 };
		int rc = kp_store_list(inf->st, inf->prefix, rev, start, LIST_PAGE, &l);
		free(start);
		start = NULL;
		if (rc == KP_EEXPIRED) { /* compacted between pages: start over */
			json_object_clear(now);
			rev = 0;
			continue;
		}
		if (rc < 0) {
			fprintf(stderr, "kplane: informer %s: list: %s\n", inf->prefix, kp_strerror(rc));
			json_decref(now);
			return 0;
		}
		rev = l.rev;
		for (size_t i = 0; i < l.n; i++) {
			json_t *obj = decode(&l.items[i]);
			if (obj)
				json_object_set_new(now, l.items[i].key, obj);
		}
		if (l.more && l.next_key)
			start = strdup(l.next_key);
		bool more = l.more;
		kp_kv_list_release(&l);
		if (!more)
			break;
	}

	/* Report deletions first, then additions and changes. */
	const char *key;
	json_t *old, *cur;
	void *tmp;
	json_object_foreach_safe(inf->known, tmp, key, old) {
		if (!json_object_get(now, key))
			inf->fn(inf->arg, KP_INFORMER_DELETED, old);
	}
	json_object_foreach(now, key, cur) {
		old = json_object_get(inf->known, key);
		if (!old)
			inf->fn(inf->arg, KP_INFORMER_ADDED, cur);
		else if (kp_obj_resource_version(old) != kp_obj_resource_version(cur))
			inf->fn(inf->arg, KP_INFORMER_MODIFIED, cur);
	}
	json_decref(inf->known);
	inf->known = now;
	return rev;
}

static void deliver(struct kp_informer *inf, struct kp_event *ev)
{
	json_t *obj = decode(&ev->kv);
	if (!obj)
		return;
	switch (ev->type) {
	case KP_EVENT_DELETED:
		inf->fn(inf->arg, KP_INFORMER_DELETED, obj);
		json_object_del(inf->known, ev->kv.key);
		json_decref(obj);
		break;
	case KP_EVENT_ADDED:
	case KP_EVENT_MODIFIED: {
		int change = json_object_get(inf->known, ev->kv.key) ? KP_INFORMER_MODIFIED
								      : KP_INFORMER_ADDED;
		json_object_set_new(inf->known, ev->kv.key, obj);
		inf->fn(inf->arg, change, obj);
		break;
	}
	}
}

static void *run(void *p)
{
	struct kp_informer *inf = p;

	while (!atomic_load(&inf->stop)) {
		uint64_t rev = relist(inf);
		if (!rev) {
			if (atomic_load(&inf->stop))
				break;
			struct timespec ts = { 0, 200 * 1000 * 1000 };
			nanosleep(&ts, NULL);
			continue;
		}
		atomic_store(&inf->synced, true);

		struct kp_watch *w = NULL;
		int rc = kp_store_watch(inf->st, inf->prefix, rev, &w);
		if (rc < 0)
			continue; /* expired already: relist */
		pthread_mutex_lock(&inf->lock);
		inf->w = w;
		pthread_mutex_unlock(&inf->lock);

		while (!atomic_load(&inf->stop)) {
			struct kp_event ev;
			rc = kp_watch_next(w, &ev, WATCH_WAIT_MS);
			if (rc == KP_ETIMEDOUT)
				continue;
			if (rc < 0)
				break; /* KP_EEXPIRED: relist; KP_ECLOSED: stop or store closing */
			deliver(inf, &ev);
			kp_event_release(&ev);
		}

		pthread_mutex_lock(&inf->lock);
		inf->w = NULL;
		pthread_mutex_unlock(&inf->lock);
		kp_watch_free(w);
		if (rc == KP_ECLOSED)
			break;
	}
	return NULL;
}

int kp_informer_start(struct kp_store *st, const char *prefix, kp_informer_fn fn, void *arg,
		      struct kp_informer **out, char **errmsg)
{
	struct kp_informer *inf = calloc(1, sizeof(*inf));
	if (!inf || !(inf->prefix = strdup(prefix)) || !(inf->known = json_object())) {
		if (inf) {
			free(inf->prefix);
			free(inf);
		}
		return kp_error_set(errmsg, KP_ENOMEM, "informer %s: out of memory", prefix);
	}
	inf->st = st;
	inf->fn = fn;
	inf->arg = arg;
	pthread_mutex_init(&inf->lock, NULL);
	if (pthread_create(&inf->thread, NULL, run, inf)) {
		pthread_mutex_destroy(&inf->lock);
		json_decref(inf->known);
		free(inf->prefix);
		free(inf);
		return kp_error_set(errmsg, KP_ENOMEM, "informer %s: cannot start a thread", prefix);
	}
	*out = inf;
	return 0;
}

bool kp_informer_synced(struct kp_informer *inf)
{
	return atomic_load(&inf->synced);
}

void kp_informer_stop(struct kp_informer *inf)
{
	if (!inf)
		return;
	atomic_store(&inf->stop, true);
	pthread_mutex_lock(&inf->lock);
	if (inf->w)
		kp_watch_cancel(inf->w);
	pthread_mutex_unlock(&inf->lock);
	pthread_join(inf->thread, NULL);
	pthread_mutex_destroy(&inf->lock);
	json_decref(inf->known);
	free(inf->prefix);
	free(inf);
}

int kp_store_edit_json(struct kp_store *st, const char *key,
		       int (*edit)(json_t *obj, void *arg, char **errmsg), void *arg,
		       char **errmsg)
{
	/* Conflicts mean someone else wrote in between: reread and redo. The
	 * bound keeps a pathological writer from spinning us forever. */
	for (int attempt = 0; attempt < 100; attempt++) {
		struct kp_kv kv;
		int rc = kp_store_get(st, key, &kv);
		if (rc < 0)
			return kp_error_set(errmsg, rc, "%s: %s", key, kp_strerror(rc));
		json_error_t jerr;
		json_t *obj = json_loadb(kv.value, kv.len, 0, &jerr);
		uint64_t rev = kv.mod_rev;
		kp_kv_release(&kv);
		if (!obj || !json_is_object(obj)) {
			json_decref(obj);
			return kp_error_set(errmsg, KP_EIO, "%s: stored value is not a JSON object", key);
		}
		rc = edit(obj, arg, errmsg);
		if (rc != 0) {
			json_decref(obj);
			return rc > 0 ? 0 : rc;
		}
		/* Stored objects never carry resourceVersion (the revision is). */
		kp_obj_del(obj, "metadata.resourceVersion");
		char *s = json_dumps(obj, JSON_COMPACT);
		json_decref(obj);
		if (!s)
			return kp_error_set(errmsg, KP_ENOMEM, "%s: out of memory", key);
		rc = kp_store_update(st, key, s, strlen(s), rev, NULL);
		free(s);
		if (rc == KP_ECONFLICT)
			continue;
		if (rc < 0)
			return kp_error_set(errmsg, rc, "%s: %s", key, kp_strerror(rc));
		return 0;
	}
	return kp_error_set(errmsg, KP_ECONFLICT, "%s: too many concurrent updates", key);
}

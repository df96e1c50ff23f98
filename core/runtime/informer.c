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

/*
 * Decoded watch events shared by the informers of a store: kplane server
 * runs several informers over the same keys (the scheduler's and the
 * controller manager's pods, for one), and each decoded every event again.
 * A slot is found by store, revision, key and a hash of the value, so an
 * object is only ever shared for the very same stored bytes. Objects handed
 * to informer callbacks are therefore read-only (they already were: the
 * informer keeps them as its own cache).
 */
#define SHARE_SLOTS 1024
#define SHARE_KEY 200

struct share_slot {
	const struct kp_store *st;
	uint64_t rev;
	uint64_t vhash;
	size_t vlen;
	json_t *obj;
	char key[SHARE_KEY];
};

static pthread_mutex_t share_mu = PTHREAD_MUTEX_INITIALIZER;
static struct share_slot share[SHARE_SLOTS];
static unsigned share_users; /* running informers; the last one out empties the slots */

static uint64_t value_hash(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i = 0;

	/* FNV-1a over 8-byte words: far cheaper than the decode it saves. */
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x100000001b3ULL;
	}
	for (; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 0x100000001b3ULL;
	return h;
}

static struct share_slot *share_slot(const struct kp_store *st, uint64_t rev)
{
	return &share[(rev ^ ((uintptr_t)st >> 4)) % SHARE_SLOTS];
}

/* Decodes a stored value and fills metadata.resourceVersion; new reference or NULL. */
static json_t *decode(const struct kp_kv *kv);

/* decode() for a watch event, through the shared slots; new reference or NULL. */
static json_t *decode_shared(const struct kp_store *st, const struct kp_kv *kv)
{
	size_t klen = strlen(kv->key);
	if (klen >= SHARE_KEY)
		return decode(kv);
	uint64_t h = value_hash(kv->value, kv->len);
	struct share_slot *s = share_slot(st, kv->mod_rev);
	json_t *obj = NULL;

	pthread_mutex_lock(&share_mu);
	if (s->obj && s->st == st && s->rev == kv->mod_rev && s->vhash == h &&
	    s->vlen == kv->len && !strcmp(s->key, kv->key))
		obj = json_incref(s->obj);
	pthread_mutex_unlock(&share_mu);
	if (obj)
		return obj;
	obj = decode(kv);
	if (!obj)
		return NULL;
	json_t *old = NULL;
	pthread_mutex_lock(&share_mu);
	old = s->obj;
	s->st = st;
	s->rev = kv->mod_rev;
	s->vhash = h;
	s->vlen = kv->len;
	memcpy(s->key, kv->key, klen + 1);
	s->obj = json_incref(obj);
	pthread_mutex_unlock(&share_mu);
	json_decref(old);
	return obj;
}

static void share_join(void)
{
	pthread_mutex_lock(&share_mu);
	share_users++;
	pthread_mutex_unlock(&share_mu);
}

static void share_leave(void)
{
	pthread_mutex_lock(&share_mu);
	if (--share_users == 0) {
		for (size_t i = 0; i < SHARE_SLOTS; i++) {
			json_decref(share[i].obj);
			share[i].obj = NULL;
			share[i].st = NULL;
		}
	}
	pthread_mutex_unlock(&share_mu);
}

static json_t *decode(const struct kp_kv *kv)
{
	json_error_t jerr;
	json_t *obj = kp_json_loadb(kv->value, kv->len, KP_JSON_SHARED_EMPTY, &jerr);
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
	json_t *obj = decode_shared(inf->st, &ev->kv);
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
	share_join();
	if (pthread_create(&inf->thread, NULL, run, inf) == 0) {
		/* "inf:" and group/kind of the store key ("inf:core/pods/"),
		 * truncated to the 15 bytes a thread name holds, for top -H */
		const char *k = prefix;
		for (int slashes = 0; *k && slashes < 2; k++)
			slashes += *k == '/';
		char name[16];
		snprintf(name, sizeof(name), "inf:%s", *k ? k : prefix);
		pthread_setname_np(inf->thread, name);
	} else {
		share_leave();
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
	share_leave();
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
		json_t *obj = kp_json_loadb(kv.value, kv.len, 0, &jerr);
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
		char *s = kp_json_dumps(obj, NULL);
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

/*
 * store.c - the revisioned store over a current-state backend (backend.h).
 *
 * Write path (docs/store.md, "Group commit"): a writer checks its
 * precondition against the pending overlay (keys written but not yet
 * durable) or the backend, takes the next revision, appends its change to
 * the pending batch and waits. Whoever finds no commit in flight becomes the
 * leader: it swaps the batch out, writes it with one synced backend write
 * outside the mutex, publishes its events to the ring, marks it committed
 * and wakes everyone. Revisions are assigned under the mutex in batch order,
 * so they are strictly increasing and gap-free, and a batch is applied
 * atomically with its last revision as the recovered counter.
 *
 * Reads never take the store mutex: gets go straight to the backend, which
 * only ever shows committed (durable) data.
 *
 * Events live in one ring indexed by revision (hub); watchers are cursors
 * into it. The same ring lets a list be answered "as of" an older revision:
 * current state minus the retained events newer than it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <kplane/error.h>

#include "store/backend.h"
#include "store/etcd.h"
#include "store/store.h"

#define DEFAULT_RETENTION 100000
/* A synced batch smaller than this waits for one yield before it commits. */
#define GATHER_BELOW 16
#define MAX_RETENTION (1u << 26)

/* ---- versions ---- */

struct kp__ver *kp__ver_new(const char *key, size_t klen, const char *value, size_t vlen,
			    uint64_t create_rev, uint64_t mod_rev)
{
	struct kp__ver *v = malloc(sizeof(*v) + klen + vlen + 2);

	if (!v)
		return NULL;
	v->refs = 1;
	v->klen = (uint32_t)klen;
	v->vlen = (uint32_t)vlen;
	v->create_rev = create_rev;
	v->mod_rev = mod_rev;
	memcpy(v->data, key, klen);
	v->data[klen] = 0;
	if (vlen)
		memcpy(v->data + klen + 1, value, vlen);
	v->data[klen + 1 + vlen] = 0;
	return v;
}

void kp__ver_free_(struct kp__ver *v)
{
	free(v);
}

int kp__ver_to_kv(const struct kp__ver *v, struct kp_kv *out)
{
	out->key = malloc((size_t)v->klen + 1);
	out->value = malloc((size_t)v->vlen + 1);
	if (!out->key || !out->value) {
		free(out->key);
		free(out->value);
		memset(out, 0, sizeof(*out));
		return KP_ENOMEM;
	}
	memcpy(out->key, kp__ver_key(v), (size_t)v->klen + 1);
	memcpy(out->value, kp__ver_value(v), (size_t)v->vlen + 1);
	out->len = v->vlen;
	out->create_rev = v->create_rev;
	out->mod_rev = v->mod_rev;
	return 0;
}

void kp_kv_release(struct kp_kv *kv)
{
	if (!kv)
		return;
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

void kp_kv_list_release(struct kp_kv_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		kp_kv_release(&l->items[i]);
	free(l->items);
	free(l->next_key);
	memset(l, 0, sizeof(*l));
}

void kp_event_release(struct kp_event *ev)
{
	if (!ev)
		return;
	kp_kv_release(&ev->kv);
	kp_kv_release(&ev->prev);
}

const char *kp_event_type_string(enum kp_event_type t)
{
	switch (t) {
	case KP_EVENT_ADDED: return "ADDED";
	case KP_EVENT_MODIFIED: return "MODIFIED";
	case KP_EVENT_DELETED: return "DELETED";
	}
	return "UNKNOWN";
}

int kp_store_backend_parse(const char *s, enum kp_store_backend *out)
{
	if (s && !strcmp(s, "memory")) {
		*out = KP_STORE_MEMORY;
		return 0;
	}
	if (s && !strcmp(s, "leveldb")) {
		*out = KP_STORE_LEVELDB;
		return 0;
	}
	if (s && !strcmp(s, "etcd")) {
		*out = KP_STORE_ETCD;
		return 0;
	}
	return KP_EINVAL;
}

/* ---- events: the shared ring ---- */

/* One change; also the unit of a pending batch. */
struct event {
	uint64_t rev;
	enum kp_event_type type;
	struct kp__ver *cur;  /* new state; NULL for DELETED */
	struct kp__ver *prev; /* state before; NULL for ADDED */
};

static const struct kp__ver *event_key(const struct event *e)
{
	return e->cur ? e->cur : e->prev;
}

static void event_clear(struct event *e)
{
	kp__ver_unref(e->cur);
	kp__ver_unref(e->prev);
	memset(e, 0, sizeof(*e));
}

/*
 * Outlives the store while watches are open (refs: the store + each watch),
 * so kp_store_close() can wake watchers with KP_ECLOSED without waiting for
 * them to be freed.
 */
struct hub {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC; signalled on publish/close/cancel */
	unsigned refs;
	struct event *ring; /* event of revision r at ring[r % cap] */
	size_t cap;
	uint64_t published;  /* newest event watchers may see */
	uint64_t compacted;  /* events <= this are gone (state at it is still known) */
	size_t watchers;
	bool closed;
	/*
	 * Watchers blocked in kp_watch_next, each on its own condition: a
	 * publish wakes only those with an event under their prefix (or that
	 * must see expiry or close). One shared condition woke every informer
	 * thread on every write, and those wake-ups and the lock hand-offs after
	 * them were the largest cost of a server running scheduler and
	 * controllers.
	 */
	struct kp_watch *waiting;
};

struct kp_watch {
	struct hub *hub;
	char *prefix;
	size_t plen;
	uint64_t cursor;  /* atomic: next revision to look at */
	bool cancelled;   /* under hub->lock */
	pthread_cond_t cond;                /* CLOCK_MONOTONIC; this watcher's wake-up */
	struct kp_watch *wnext, **wprev;    /* in hub->waiting while blocked (hub->lock) */
	bool kind_prefix; /* prefix is a whole "/registry/<group>/<plural>/" (see kind_len) */
};

static void hub_wake_locked(struct hub *h);

static void hub_unref_locked(struct hub *h, bool *last)
{
	*last = --h->refs == 0;
}

static void hub_free(struct hub *h)
{
	for (size_t i = 0; i < h->cap; i++)
		event_clear(&h->ring[i]);
	free(h->ring);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

static struct hub *hub_new(size_t cap, uint64_t rev)
{
	struct hub *h = calloc(1, sizeof(*h));
	pthread_condattr_t ca;

	if (!h || !(h->ring = calloc(cap, sizeof(h->ring[0])))) {
		free(h);
		return NULL;
	}
	h->cap = cap;
	h->refs = 1;
	h->published = h->compacted = rev;
	pthread_mutex_init(&h->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->cond, &ca);
	pthread_condattr_destroy(&ca);
	return h;
}

/* Moves the events (ascending, gap-free revisions) into the ring. */
static void hub_publish(struct hub *h, struct event *evs, size_t n)
{
	uint64_t last = evs[n - 1].rev;

	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < n; i++) {
		struct event *slot = &h->ring[evs[i].rev % h->cap];

		event_clear(slot);
		*slot = evs[i];
		memset(&evs[i], 0, sizeof(evs[i]));
	}
	h->published = last;
	/* The ring just overwrote revision last - cap: it is gone. */
	if (last > h->cap && last - h->cap > h->compacted)
		h->compacted = last - h->cap;
	pthread_cond_broadcast(&h->cond);
	hub_wake_locked(h);
	pthread_mutex_unlock(&h->lock);
}

/* Forgets every event: after a restore nothing before rev can be replayed. */
static void hub_reset(struct hub *h, uint64_t rev)
{
	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < h->cap; i++)
		event_clear(&h->ring[i]);
	h->published = h->compacted = rev;
	pthread_cond_broadcast(&h->cond);
	hub_wake_locked(h);
	pthread_mutex_unlock(&h->lock);
}

/* ---- the pending overlay: keys written but not yet durable ---- */

struct ovl {
	struct ovl *next;
	uint32_t hash;
	bool deleted;         /* pending state is "absent" */
	struct kp__ver *ver;  /* pending state, or the deleted one (for its key) */
	uint64_t rev;         /* newest pending revision of the key */
};

static uint32_t hash_key(const char *k, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)k[i]) * 16777619u;
	return h;
}

static bool ver_key_eq(const struct kp__ver *v, const char *k, size_t n)
{
	return v->klen == n && memcmp(kp__ver_key(v), k, n) == 0;
}

/* A batch: events and the backend ops that apply them, grown together. */
struct batch {
	struct event *ev;
	struct kp__bop *ops;
	size_t n, cap;
};

struct kp_store {
	struct kp__backend *be;
	/*
	 * etcd owns revisions, CAS, history and watches: when set, the public
	 * calls go to etcd.c and only be (its read-only view, for gets and
	 * snapshots) and lasterr of the fields below are used.
	 */
	struct kp__etcd *etcd;
	struct kp__etcd_watch *feed; /* etcd: every key, into the hub (under mu) */
	pthread_t feed_thread;
	bool feed_stop;              /* under mu */
	bool sync;

	pthread_mutex_t mu;
	pthread_cond_t cond;      /* commit ended, exclusivity or activity changed: for
				     restore, close and writers kept out by a restore */
	/*
	 * Writers of batch number k wait on the futex word bword[k & 1]: at
	 * most two batches live at once (one committing, one pending), so a
	 * commit wakes only its own writers plus one leader for the next batch
	 * instead of every waiter (that herd cost half the CPU with 64
	 * writers). A futex rather than a condition variable: woken writers see
	 * their revision committed and return without taking mu, where a
	 * condition variable made each of them queue for mu again behind the
	 * others (a second sleep and wake-up per write).
	 */
	uint32_t bword[2];        /* atomic; bumped under mu at each wake-up */
	uint32_t bsleepers[2];    /* atomic: writers asleep (or about to be) on bword */
	uint64_t pending_seq;     /* number of the pending batch */
	uint64_t next_rev;        /* last revision handed out */
	uint64_t committed;       /* atomic: last durable revision */
	uint64_t gen;             /* atomic: bumped under mu whenever the backend changes */
	uint64_t keys_pending;    /* key count including the pending batch */
	uint64_t keys_committed;
	struct batch pending, spare;
	bool committing;          /* a leader is writing a batch */
	bool exclusive;           /* a restore owns the write path */
	bool closing;             /* atomic (read by writers leaving without mu) */
	bool failed;              /* a batch write failed: refuse writes (sticky) */
	unsigned active;          /* atomic: writers/restores inside the write path */
	struct ovl **ovl;
	size_t ovl_nb, ovl_n;
	uint64_t writes, syncs;

	struct hub *hub;

	pthread_mutex_t errlock;
	char *lasterr;
};

static void set_lasterr(struct kp_store *st, char *msg)
{
	if (!msg)
		return;
	pthread_mutex_lock(&st->errlock);
	free(st->lasterr);
	st->lasterr = msg;
	pthread_mutex_unlock(&st->errlock);
}

char *kp_store_last_error(struct kp_store *st)
{
	char *m = NULL;

	pthread_mutex_lock(&st->errlock);
	if (st->lasterr)
		m = strdup(st->lasterr);
	pthread_mutex_unlock(&st->errlock);
	return m;
}

static struct ovl *ovl_find(struct kp_store *st, uint32_t h, const char *k, size_t n)
{
	if (!st->ovl_n)
		return NULL;
	for (struct ovl *e = st->ovl[h & (st->ovl_nb - 1)]; e; e = e->next)
		if (e->hash == h && ver_key_eq(e->ver, k, n))
			return e;
	return NULL;
}

static int ovl_grow(struct kp_store *st)
{
	size_t nb = st->ovl_nb ? st->ovl_nb * 2 : 256;
	struct ovl **b = calloc(nb, sizeof(*b));

	if (!b)
		return KP_ENOMEM;
	for (size_t i = 0; i < st->ovl_nb; i++) {
		for (struct ovl *e = st->ovl[i], *next; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	free(st->ovl);
	st->ovl = b;
	st->ovl_nb = nb;
	return 0;
}

/* Drops the entry of ver's key if no write newer than rev is pending for it. */
static void ovl_forget(struct kp_store *st, const struct kp__ver *key, uint64_t rev)
{
	uint32_t h = hash_key(kp__ver_key(key), key->klen);
	struct ovl **pp = &st->ovl[h & (st->ovl_nb - 1)];

	for (struct ovl *e; (e = *pp); pp = &e->next) {
		if (e->hash != h || !ver_key_eq(e->ver, kp__ver_key(key), key->klen))
			continue;
		if (e->rev <= rev) {
			*pp = e->next;
			kp__ver_unref(e->ver);
			free(e);
			st->ovl_n--;
		}
		return;
	}
}

static int batch_reserve(struct batch *b)
{
	size_t cap;
	void *p;

	if (b->n < b->cap)
		return 0;
	cap = b->cap ? b->cap * 2 : 64;
	p = realloc(b->ev, cap * sizeof(b->ev[0]));
	if (!p)
		return KP_ENOMEM;
	b->ev = p;
	p = realloc(b->ops, cap * sizeof(b->ops[0]));
	if (!p)
		return KP_ENOMEM;
	b->ops = p;
	b->cap = cap;
	return 0;
}

/*
 * Commits the pending batch. Called and returns with st->mu held, with
 * committing false and a non-empty pending batch.
 */
/*
 * Wakes up to n writers of batch seq (mu held). The bump makes a writer that
 * read the word but is not asleep yet return at once, so no wake-up is lost.
 */
static void batch_wake(struct kp_store *st, uint64_t seq, int n)
{
	uint32_t *w = &st->bword[seq & 1];

	__atomic_add_fetch(w, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&st->bsleepers[seq & 1], __ATOMIC_SEQ_CST))
		syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

static void lead(struct kp_store *st)
{
	struct batch b = st->pending;
	struct kp__meta meta = { .rev = b.ev[b.n - 1].rev, .keys = st->keys_pending };
	uint64_t seq = st->pending_seq++;
	char *msg = NULL;
	int ret;

	st->pending = st->spare;
	memset(&st->spare, 0, sizeof(st->spare));
	st->committing = true;
	pthread_mutex_unlock(&st->mu);

	ret = st->be->ops->write(st->be, b.ops, b.n, &meta, st->sync, &msg);
	if (!ret) {
		/*
		 * Durable, and visible to every backend view opened from now on:
		 * the revision says so at once. Set only after re-taking the
		 * mutex, it lagged lists (whose revision is their view's) by the
		 * time the leader waited for it, and a list's resourceVersion
		 * could be "too large" for the very next request.
		 */
		__atomic_store_n(&st->committed, meta.rev, __ATOMIC_RELEASE);
		hub_publish(st->hub, b.ev, b.n);
	}

	pthread_mutex_lock(&st->mu);
	if (!ret) {
		for (size_t i = 0; i < b.n; i++)
			ovl_forget(st, b.ops[i].ver, meta.rev);
		st->keys_committed = meta.keys;
		st->writes += b.n;
		st->syncs += st->sync;
		__atomic_store_n(&st->gen, st->gen + 1, __ATOMIC_RELEASE);
		__atomic_store_n(&st->committed, meta.rev, __ATOMIC_RELEASE);
	} else {
		/*
		 * The batch may or may not reach the disk (leveldb refuses every
		 * later write after a failed sync anyway), and later pending
		 * writes were checked against it: stop writing rather than guess.
		 */
		st->failed = true;
		set_lasterr(st, msg);
		for (size_t i = 0; i < b.n; i++)
			event_clear(&b.ev[i]);
	}
	b.n = 0;
	if (!st->spare.cap) {
		st->spare = b;
	} else {
		free(b.ev);
		free(b.ops);
	}
	st->committing = false;
	batch_wake(st, seq, INT_MAX);
	if (st->failed)
		batch_wake(st, st->pending_seq, INT_MAX);
	else if (st->pending.n)
		batch_wake(st, st->pending_seq, 1); /* the next leader */
	if (st->exclusive || st->closing)
		pthread_cond_broadcast(&st->cond);
}

/* Leaves the write path without mu; the last one out wakes a closing store. */
static void leave_unlocked(struct kp_store *st)
{
	/* seq_cst against kp_store_close: it sets closing, then reads active. */
	if (__atomic_sub_fetch(&st->active, 1, __ATOMIC_SEQ_CST) == 0 &&
	    __atomic_load_n(&st->closing, __ATOMIC_SEQ_CST)) {
		pthread_mutex_lock(&st->mu);
		pthread_cond_broadcast(&st->cond);
		pthread_mutex_unlock(&st->mu);
	}
}

/* Leaves the write path (mu held); the last one out wakes a closing store. */
static void leave(struct kp_store *st)
{
	if (__atomic_sub_fetch(&st->active, 1, __ATOMIC_SEQ_CST) == 0 && st->closing)
		pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->mu);
}

/* Enters the write path (mu held on success). */
static int enter(struct kp_store *st)
{
	pthread_mutex_lock(&st->mu);
	if (st->closing) {
		pthread_mutex_unlock(&st->mu);
		return KP_ECLOSED;
	}
	__atomic_add_fetch(&st->active, 1, __ATOMIC_SEQ_CST);
	while (st->exclusive)
		pthread_cond_wait(&st->cond, &st->mu);
	if (st->failed) {
		leave(st);
		return KP_EIO;
	}
	return 0;
}

static int check_key(const char *key, size_t *klen)
{
	if (!key || !*key)
		return KP_EINVAL;
	*klen = strnlen(key, KP__KEY_MAX + 1);
	return *klen > KP__KEY_MAX ? KP_E2BIG : 0;
}

enum op { OP_CREATE, OP_UPDATE, OP_DELETE };

static void etcd_wait_published(struct kp_store *st, uint64_t rev);

static int do_write(struct kp_store *st, enum op op, const char *key, const char *value,
		    size_t len, uint64_t expect, uint64_t *rev_out, struct kp_kv *prev_out)
{
	struct kp__ver *nv = NULL, *pre = NULL, *cur, *keep = NULL;
	struct event *ev;
	struct ovl *e;
	char *msg = NULL;
	uint64_t gen0, r = 0, seq;
	size_t klen;
	uint32_t h;
	int ret, gret;

	ret = check_key(key, &klen);
	if (ret)
		return ret;
	if (op != OP_DELETE) {
		if (len > KP__VALUE_MAX)
			return KP_E2BIG;
		if (len && !value)
			return KP_EINVAL;
		nv = kp__ver_new(key, klen, value, len, 0, 0);
		if (!nv)
			return KP_ENOMEM;
	}
	if (st->etcd) {
		kp__ver_unref(nv);
		ret = kp__etcd_write(st->etcd, op == OP_CREATE ? KP__ETCD_CREATE :
				     op == OP_UPDATE ? KP__ETCD_UPDATE : KP__ETCD_DELETE, key, klen,
				     value, len, expect, &r, prev_out ? &keep : NULL, &msg);
		if (ret == KP_EIO || ret == KP_ENOMEM)
			set_lasterr(st, msg);
		else
			free(msg);
		if (!ret) {
			etcd_wait_published(st, r);
			if (rev_out)
				*rev_out = r;
		}
		if (!ret && keep) {
			ret = kp__ver_to_kv(keep, prev_out);
			kp__ver_unref(keep);
		}
		return ret;
	}
	h = hash_key(key, klen);

	/*
	 * Read the key's durable state before taking the mutex, so that writers
	 * do not queue behind each other's backend reads. It is still current
	 * under the mutex if no batch committed since (gen unchanged); a key
	 * with a pending write is answered by the overlay instead.
	 */
	gen0 = __atomic_load_n(&st->gen, __ATOMIC_ACQUIRE);
	gret = st->be->ops->get(st->be, key, klen, &pre, NULL);

	ret = enter(st);
	if (ret)
		goto out_free;
	e = ovl_find(st, h, key, klen);
	if (e) {
		cur = e->deleted ? NULL : e->ver;
	} else {
		if (st->gen != gen0 || (gret && gret != KP_ENOENT)) {
			kp__ver_unref(pre);
			pre = NULL;
			gret = st->be->ops->get(st->be, key, klen, &pre, &msg);
			if (gret && gret != KP_ENOENT) {
				set_lasterr(st, msg);
				ret = gret;
				goto out_leave;
			}
		}
		cur = gret ? NULL : pre;
	}
	switch (op) {
	case OP_CREATE:
		if (cur)
			ret = KP_EEXIST;
		break;
	case OP_UPDATE:
	case OP_DELETE:
		if (!cur)
			ret = KP_ENOENT;
		else if (expect && cur->mod_rev != expect)
			ret = KP_ECONFLICT;
		break;
	}
	if (ret)
		goto out_leave;

	/* Allocate everything before taking a revision: after it, no failure. */
	ret = batch_reserve(&st->pending);
	if (!ret && !e) {
		if (st->ovl_n >= st->ovl_nb)
			ret = ovl_grow(st);
		if (!ret && !(e = calloc(1, sizeof(*e))))
			ret = KP_ENOMEM;
		if (!ret) {
			e->hash = h;
			e->next = st->ovl[h & (st->ovl_nb - 1)];
			st->ovl[h & (st->ovl_nb - 1)] = e;
			st->ovl_n++;
		}
	}
	if (ret)
		goto out_leave;

	r = ++st->next_rev;
	ev = &st->pending.ev[st->pending.n];
	ev->rev = r;
	ev->prev = cur ? kp__ver_ref(cur) : NULL;
	if (op == OP_DELETE) {
		ev->type = KP_EVENT_DELETED;
		ev->cur = NULL;
		st->keys_pending--;
	} else {
		ev->type = op == OP_CREATE ? KP_EVENT_ADDED : KP_EVENT_MODIFIED;
		nv->create_rev = op == OP_CREATE ? r : cur->create_rev;
		nv->mod_rev = r;
		ev->cur = nv; /* steals */
		nv = NULL;
		if (op == OP_CREATE)
			st->keys_pending++;
	}
	st->pending.ops[st->pending.n].ver = ev->cur ? ev->cur : ev->prev;
	st->pending.ops[st->pending.n].del = op == OP_DELETE;
	st->pending.n++;
	/* The overlay entry's ver may be e's old one: take the new ref first. */
	{
		struct kp__ver *old = e->ver;

		e->ver = kp__ver_ref(ev->cur ? ev->cur : ev->prev);
		e->deleted = op == OP_DELETE;
		e->rev = r;
		kp__ver_unref(old);
	}
	if (prev_out)
		keep = kp__ver_ref(ev->prev);

	seq = st->pending_seq;
	bool yielded = false;
	while (__atomic_load_n(&st->committed, __ATOMIC_ACQUIRE) < r) {
		uint32_t *w = &st->bword[seq & 1], *sl = &st->bsleepers[seq & 1], v;

		if (st->failed) {
			ret = KP_EIO;
			break;
		}
		if (!st->committing) {
			/*
			 * About to lead a small synced batch: first let the
			 * threads that are ready to run (writers among them,
			 * just short of appending) have the CPU once. Under
			 * load their writes join this batch instead of each
			 * paying for an fdatasync of its own (a fifth fewer
			 * syncs under the sched-bench api load, ~90 us of CPU
			 * each on this VM); with nothing else to run the yield
			 * returns at once.
			 */
			if (!yielded && st->sync && st->pending.n < GATHER_BELOW) {
				yielded = true;
				pthread_mutex_unlock(&st->mu);
				sched_yield();
				pthread_mutex_lock(&st->mu);
				continue;
			}
			lead(st);
			continue;
		}
		v = __atomic_load_n(w, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(sl, 1, __ATOMIC_SEQ_CST);
		pthread_mutex_unlock(&st->mu);
		syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
		__atomic_sub_fetch(sl, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&st->committed, __ATOMIC_ACQUIRE) >= r) {
			/* committed: the common way out, without mu */
			leave_unlocked(st);
			goto out_done;
		}
		pthread_mutex_lock(&st->mu);
	}
out_leave:
	leave(st);
out_done:
	if (!ret) {
		if (rev_out)
			*rev_out = r;
		if (keep)
			ret = kp__ver_to_kv(keep, prev_out);
	}
out_free:
	kp__ver_unref(keep);
	kp__ver_unref(pre);
	kp__ver_unref(nv);
	return ret;
}

int kp_store_create(struct kp_store *st, const char *key, const char *value, size_t len,
		    uint64_t *rev)
{
	return do_write(st, OP_CREATE, key, value, len, 0, rev, NULL);
}

int kp_store_update(struct kp_store *st, const char *key, const char *value, size_t len,
		    uint64_t expect_rev, uint64_t *rev)
{
	return do_write(st, OP_UPDATE, key, value, len, expect_rev, rev, NULL);
}

int kp_store_delete(struct kp_store *st, const char *key, uint64_t expect_rev, uint64_t *rev,
		    struct kp_kv *prev)
{
	if (prev)
		memset(prev, 0, sizeof(*prev));
	return do_write(st, OP_DELETE, key, NULL, 0, expect_rev, rev, prev);
}

/* ---- etcd: one stream over every key feeds the ring ---- */

/*
 * With etcd the ring is filled by one etcd watch over the whole keyspace
 * (the feed) rather than by the write path, so that every watcher of a
 * store sees the same events in the same order (the API server wakes its
 * watch connections from one watcher and expects the others to have the
 * event too) and etcd streams each event once per store, not once per
 * watcher. Revisions of other etcd clients that carry no event of ours do
 * not exist in etcd (every revision has one); a revision with several
 * events (a restore's txn) cannot be put in the ring: it resets it, and
 * watchers relist, as after a restore on the other backends.
 */

static void ring_put(struct hub *h, struct event *e)
{
	struct event *slot = &h->ring[e->rev % h->cap];

	event_clear(slot);
	*slot = *e;
	memset(e, 0, sizeof(*e));
	h->published = slot->rev;
	if (h->published > h->cap && h->published - h->cap > h->compacted)
		h->compacted = h->published - h->cap;
}

static void ring_reset_locked(struct hub *h, uint64_t rev)
{
	for (size_t i = 0; i < h->cap; i++)
		event_clear(&h->ring[i]);
	h->published = h->compacted = rev;
}

/* Empty slots up to rev (exclusive of events): revisions nobody here watches. */
static void ring_skip_to(struct hub *h, uint64_t rev)
{
	if (rev <= h->published)
		return;
	if (rev - h->published > h->cap) {
		ring_reset_locked(h, rev);
		return;
	}
	while (h->published < rev) {
		struct event gap = { .rev = h->published + 1 };

		ring_put(h, &gap);
	}
}

static struct kp__ver *kv_ver(const struct kp_kv *kv)
{
	return kp__ver_new(kv->key, strlen(kv->key), kv->value, kv->len, kv->create_rev,
			   kv->mod_rev);
}

/* Publishes n events from the feed (and the progress up to upto), then wakes watchers. */
static void feed_publish(struct hub *h, struct kp_event *evs, size_t n, uint64_t upto)
{
	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < n; i++) {
		const struct kp_event *ev = &evs[i];
		uint64_t r = ev->kv.mod_rev;
		struct event e = { .rev = r, .type = ev->type };
		bool nomem;

		if (r <= h->published) {
			/* A second event of one revision: the ring cannot hold it. */
			if (r == h->published && r > h->compacted)
				ring_reset_locked(h, r);
			continue;
		}
		ring_skip_to(h, r - 1);
		if (ev->type != KP_EVENT_DELETED)
			e.cur = kv_ver(&ev->kv);
		if (ev->prev.key)
			e.prev = kv_ver(&ev->prev);
		else if (ev->type == KP_EVENT_DELETED)
			e.prev = kv_ver(&ev->kv);
		nomem = ev->type == KP_EVENT_DELETED ? !e.prev : !e.cur || (ev->prev.key && !e.prev);
		if (nomem) {
			/* Watchers must not silently miss it: make them relist. */
			event_clear(&e);
			ring_reset_locked(h, r);
			continue;
		}
		ring_put(h, &e);
	}
	ring_skip_to(h, upto);
	pthread_cond_broadcast(&h->cond);
	hub_wake_locked(h);
	pthread_mutex_unlock(&h->lock);
}

static bool feed_stopping(struct kp_store *st)
{
	bool stop;

	pthread_mutex_lock(&st->mu);
	stop = st->feed_stop;
	pthread_mutex_unlock(&st->mu);
	return stop;
}

#define FEED_BATCH 256

static void *feed_main(void *arg)
{
	struct kp_store *st = arg;
	struct kp_event *evs = calloc(FEED_BATCH, sizeof(*evs));

	while (evs && !feed_stopping(st)) {
		struct kp__etcd_watch *nw = NULL;
		size_t n = 0;
		uint64_t from;
		int ret = kp__etcd_watch_next(st->feed, &evs[0], 250);

		if (!ret) {
			n = 1;
			while (n < FEED_BATCH && !kp__etcd_watch_next(st->feed, &evs[n], 0))
				n++;
		}
		feed_publish(st->hub, evs, n, kp__etcd_watch_revision(st->feed));
		for (size_t i = 0; i < n; i++)
			kp_event_release(&evs[i]);
		if (!ret || ret == KP_ETIMEDOUT || ret == KP_ECLOSED)
			continue;
		/*
		 * The stream broke for good (no endpoint, or its resume point was
		 * compacted): start again, from where the ring is if etcd still
		 * has it, else from now with a reset ring (watchers relist).
		 */
		{
			struct timespec ts = { 0, 200 * 1000000L };

			nanosleep(&ts, NULL);
		}
		pthread_mutex_lock(&st->hub->lock);
		from = st->hub->published;
		pthread_mutex_unlock(&st->hub->lock);
		if (ret == KP_EEXPIRED || kp__etcd_watch(st->etcd, NULL, from, &nw) == KP_EEXPIRED) {
			from = kp__etcd_revision(st->etcd);
			pthread_mutex_lock(&st->hub->lock);
			ring_reset_locked(st->hub, from);
			pthread_cond_broadcast(&st->hub->cond);
			hub_wake_locked(st->hub);
			pthread_mutex_unlock(&st->hub->lock);
			if (!nw && kp__etcd_watch(st->etcd, NULL, from, &nw))
				nw = NULL;
		}
		if (!nw)
			continue; /* keep the old one: it reports the failure again */
		pthread_mutex_lock(&st->mu);
		kp__etcd_watch_free(st->feed);
		st->feed = nw;
		if (st->feed_stop)
			kp__etcd_watch_cancel(nw);
		pthread_mutex_unlock(&st->mu);
	}
	free(evs);
	return NULL;
}

/*
 * etcd: waits (a bounded time) until the ring has rev, so that a write is
 * visible to this store's watchers when it returns, as on the other
 * backends. A feed that cannot keep up only delays the caller.
 */
static void etcd_wait_published(struct kp_store *st, uint64_t rev)
{
	struct hub *h = st->hub;
	struct timespec deadline;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += 5;
	pthread_mutex_lock(&h->lock);
	while (h->published < rev && !h->closed)
		if (pthread_cond_timedwait(&h->cond, &h->lock, &deadline) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&h->lock);
}

static int etcd_open(const struct kp_store_options *opts, struct kp_store *st, size_t cap,
		     char **errmsg)
{
	uint64_t rev;
	int ret = kp__etcd_open(opts, &st->etcd, errmsg);

	if (ret)
		return ret;
	st->be = kp__etcd_backend(st->etcd);
	pthread_mutex_init(&st->errlock, NULL);
	pthread_mutex_init(&st->mu, NULL);
	rev = kp__etcd_revision(st->etcd);
	st->hub = hub_new(cap, rev);
	if (!st->hub) {
		ret = kp_error_set(errmsg, KP_ENOMEM, "out of memory for %zu retained events", cap);
		goto out_etcd;
	}
	ret = kp__etcd_watch(st->etcd, NULL, rev, &st->feed);
	if (ret) {
		kp_error_set(errmsg, ret, "etcd: cannot start the watch stream: %s",
			     kp_strerror(ret));
		goto out_hub;
	}
	if (pthread_create(&st->feed_thread, NULL, feed_main, st)) {
		ret = kp_error_set(errmsg, KP_ENOMEM, "cannot start the etcd feed thread");
		kp__etcd_watch_free(st->feed);
		goto out_hub;
	}
	return 0;
out_hub:
	hub_free(st->hub);
out_etcd:
	kp__etcd_close(st->etcd);
	pthread_mutex_destroy(&st->mu);
	pthread_mutex_destroy(&st->errlock);
	return ret;
}

static void etcd_close(struct kp_store *st)
{
	struct hub *h = st->hub;
	bool last;

	pthread_mutex_lock(&st->mu);
	st->feed_stop = true;
	kp__etcd_watch_cancel(st->feed);
	pthread_mutex_unlock(&st->mu);
	pthread_join(st->feed_thread, NULL);
	kp__etcd_watch_free(st->feed);
	pthread_mutex_lock(&h->lock);
	h->closed = true;
	pthread_cond_broadcast(&h->cond);
	hub_wake_locked(h);
	hub_unref_locked(h, &last);
	pthread_mutex_unlock(&h->lock);
	if (last)
		hub_free(h);
	kp__etcd_close(st->etcd);
	pthread_mutex_destroy(&st->mu);
	pthread_mutex_destroy(&st->errlock);
	free(st->lasterr);
	free(st);
}

/* ---- open / close ---- */

int kp_store_open(const struct kp_store_options *opts, struct kp_store **out, char **errmsg)
{
	struct kp_store *st;
	struct kp__meta meta;
	size_t cap;
	int ret;

	*out = NULL;
	if (!opts)
		return kp_error_set(errmsg, KP_EINVAL, "store options are required");
	cap = opts->event_retention ? opts->event_retention : DEFAULT_RETENTION;
	if (cap > MAX_RETENTION)
		return kp_error_set(errmsg, KP_ERANGE, "event_retention: %zu is more than %u",
				    cap, MAX_RETENTION);
	st = calloc(1, sizeof(*st));
	if (!st)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	if (opts->backend == KP_STORE_ETCD) {
		ret = etcd_open(opts, st, cap, errmsg);
		if (ret) {
			free(st);
			return ret;
		}
		*out = st;
		return 0;
	}
	switch (opts->backend) {
	case KP_STORE_MEMORY:
		ret = kp__backend_memory_open(&st->be, &meta, errmsg);
		break;
	case KP_STORE_LEVELDB:
		ret = kp__backend_leveldb_open(opts->data_dir, &st->be, &meta, errmsg);
		break;
	default:
		ret = kp_error_set(errmsg, KP_EINVAL, "backend: unknown store backend %d",
				   (int)opts->backend);
	}
	if (ret) {
		free(st);
		return ret;
	}
	st->hub = hub_new(cap, meta.rev);
	if (!st->hub) {
		st->be->ops->close(st->be);
		free(st);
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory for %zu retained events", cap);
	}
	st->sync = opts->backend == KP_STORE_LEVELDB && !opts->no_sync;
	st->next_rev = st->committed = meta.rev;
	st->keys_pending = st->keys_committed = meta.keys;
	pthread_mutex_init(&st->mu, NULL);
	pthread_cond_init(&st->cond, NULL);
	pthread_mutex_init(&st->errlock, NULL);
	*out = st;
	return 0;
}

static void batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		event_clear(&b->ev[i]);
	free(b->ev);
	free(b->ops);
}

void kp_store_close(struct kp_store *st)
{
	struct hub *h;
	bool last;

	if (!st)
		return;
	if (st->etcd) {
		etcd_close(st);
		return;
	}
	pthread_mutex_lock(&st->mu);
	__atomic_store_n(&st->closing, true, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&st->active, __ATOMIC_SEQ_CST))
		pthread_cond_wait(&st->cond, &st->mu);
	pthread_mutex_unlock(&st->mu);

	h = st->hub;
	pthread_mutex_lock(&h->lock);
	h->closed = true;
	pthread_cond_broadcast(&h->cond);
	hub_wake_locked(h);
	hub_unref_locked(h, &last);
	pthread_mutex_unlock(&h->lock);
	if (last)
		hub_free(h);

	/* Entries left only after a failed batch. */
	for (size_t i = 0; i < st->ovl_nb; i++) {
		for (struct ovl *e = st->ovl[i], *next; e; e = next) {
			next = e->next;
			kp__ver_unref(e->ver);
			free(e);
		}
	}
	free(st->ovl);
	batch_free(&st->pending);
	batch_free(&st->spare);
	st->be->ops->close(st->be);
	pthread_cond_destroy(&st->cond);
	pthread_mutex_destroy(&st->mu);
	pthread_mutex_destroy(&st->errlock);
	free(st->lasterr);
	free(st);
}

uint64_t kp_store_revision(struct kp_store *st)
{
	if (st->etcd)
		return kp__etcd_revision(st->etcd);
	return __atomic_load_n(&st->committed, __ATOMIC_ACQUIRE);
}

bool kp_store_wait_revision(struct kp_store *st, uint64_t rev, int timeout_ms)
{
	for (int waited = 0; kp_store_revision(st) < rev; waited++) {
		if (waited >= timeout_ms)
			return false;
		struct timespec ms = { 0, 1000000L };
		nanosleep(&ms, NULL);
	}
	return true;
}

uint64_t kp_store_oldest_revision(struct kp_store *st)
{
	uint64_t r;

	pthread_mutex_lock(&st->hub->lock);
	r = st->hub->compacted;
	pthread_mutex_unlock(&st->hub->lock);
	/* etcd: its compaction (by anyone) also limits lists. */
	if (st->etcd && kp__etcd_compacted(st->etcd) > r)
		r = kp__etcd_compacted(st->etcd);
	return r;
}

void kp_store_stats(struct kp_store *st, struct kp_store_stats *out)
{
	if (st->etcd) {
		kp__etcd_stats(st->etcd, out);
		pthread_mutex_lock(&st->hub->lock);
		out->watchers = st->hub->watchers;
		out->events_held = st->hub->published - st->hub->compacted;
		pthread_mutex_unlock(&st->hub->lock);
		return;
	}
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&st->mu);
	out->writes = st->writes;
	out->syncs = st->syncs;
	out->keys = st->keys_committed;
	pthread_mutex_unlock(&st->mu);
	pthread_mutex_lock(&st->hub->lock);
	out->watchers = st->hub->watchers;
	out->events_held = st->hub->published - st->hub->compacted;
	pthread_mutex_unlock(&st->hub->lock);
}

/* ---- reads ---- */

int kp_store_get(struct kp_store *st, const char *key, struct kp_kv *out)
{
	struct kp__ver *v;
	char *msg = NULL;
	size_t klen;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = check_key(key, &klen);
	if (ret)
		return ret == KP_E2BIG ? KP_ENOENT : ret;
	ret = st->be->ops->get(st->be, key, klen, &v, &msg);
	if (ret) {
		set_lasterr(st, msg);
		return ret;
	}
	ret = kp__ver_to_kv(v, out);
	kp__ver_unref(v);
	return ret;
}

static bool has_prefix(const struct kp__ver *v, const char *p, size_t n)
{
	return v->klen >= n && memcmp(kp__ver_key(v), p, n) == 0;
}

static int cmp_ver_keys(const struct kp__ver *a, const struct kp__ver *b)
{
	size_t n = a->klen < b->klen ? a->klen : b->klen;
	int c = memcmp(kp__ver_key(a), kp__ver_key(b), n);

	if (c)
		return c;
	return a->klen < b->klen ? -1 : a->klen > b->klen;
}

/* A key whose state at the listed revision differs from the current one. */
struct override {
	struct kp__ver *key;   /* carries the key */
	struct kp__ver *state; /* state at the revision; NULL: absent then */
	uint64_t rev;          /* of the event it was taken from */
};

static int cmp_override(const void *a, const void *b)
{
	const struct override *x = a, *y = b;
	int c = cmp_ver_keys(x->key, y->key);

	if (c)
		return c;
	return x->rev < y->rev ? -1 : x->rev > y->rev;
}

struct list_ctx {
	const char *prefix;
	size_t plen;
	struct override *ov;
	size_t nov, iov;
	size_t limit, cap;
	struct kp_kv_list *out;
	bool full;  /* limit reached: next_key set */
	size_t count;
};

static int emit(struct list_ctx *c, const struct kp__ver *v)
{
	struct kp_kv_list *o = c->out;

	if (!v)
		return 0;
	if (c->limit && o->n == c->limit) {
		o->more = true;
		o->next_key = strdup(kp__ver_key(v));
		c->full = true;
		return o->next_key ? 1 : KP_ENOMEM;
	}
	if (o->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		void *p = realloc(o->items, cap * sizeof(o->items[0]));

		if (!p)
			return KP_ENOMEM;
		o->items = p;
		c->cap = cap;
	}
	if (kp__ver_to_kv(v, &o->items[o->n]))
		return KP_ENOMEM;
	o->n++;
	return 0;
}

/* Merges the backend's current keys with the overrides, both in key order. */
static int list_cb(void *arg, struct kp__ver *v)
{
	struct list_ctx *c = arg;
	int r;

	if (!has_prefix(v, c->prefix, c->plen))
		return 1;
	while (c->iov < c->nov) {
		struct override *o = &c->ov[c->iov];
		int cmp = cmp_ver_keys(o->key, v);

		if (cmp > 0)
			break;
		c->iov++;
		r = emit(c, o->state);
		if (r || cmp == 0)
			return r;
	}
	return emit(c, v);
}

/*
 * Collects, for keys in [from, end of prefix), the state at revision at from
 * the events in (at, upto]: the prev of the first such event of each key.
 */
static int collect_overrides(struct kp_store *st, struct list_ctx *c, const char *from,
			     uint64_t at, uint64_t upto)
{
	struct hub *h = st->hub;
	size_t flen = from ? strlen(from) : 0, cap = 0, n = 0;
	struct override *ov = NULL;
	int ret = 0;

	pthread_mutex_lock(&h->lock);
	/* The backend already shows upto; its leader is about to publish it. */
	while (h->published < upto && !h->closed)
		pthread_cond_wait(&h->cond, &h->lock);
	if (h->closed)
		ret = KP_ECLOSED;
	else if (at < h->compacted)
		ret = KP_EEXPIRED;
	for (uint64_t r = at + 1; !ret && r <= upto; r++) {
		struct event *e = &h->ring[r % h->cap];
		const struct kp__ver *k = event_key(e);

		if (!has_prefix(k, c->prefix, c->plen))
			continue;
		if (from) {
			size_t m = k->klen < flen ? k->klen : flen;
			int cmp = memcmp(kp__ver_key(k), from, m);

			if (cmp < 0 || (cmp == 0 && k->klen < flen))
				continue;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			void *p = realloc(ov, ncap * sizeof(*ov));

			if (!p) {
				ret = KP_ENOMEM;
				break;
			}
			ov = p;
			cap = ncap;
		}
		ov[n].key = kp__ver_ref((struct kp__ver *)k);
		ov[n].state = e->prev ? kp__ver_ref(e->prev) : NULL;
		ov[n].rev = r;
		n++;
	}
	pthread_mutex_unlock(&h->lock);

	if (n > 1)
		qsort(ov, n, sizeof(*ov), cmp_override);
	/* Keep the oldest event of each key: its prev is the state at `at`. */
	c->nov = 0;
	for (size_t i = 0; i < n; i++) {
		if (c->nov && cmp_ver_keys(ov[c->nov - 1].key, ov[i].key) == 0) {
			kp__ver_unref(ov[i].key);
			kp__ver_unref(ov[i].state);
			continue;
		}
		ov[c->nov++] = ov[i];
	}
	c->ov = ov;
	return ret;
}

int kp_store_list(struct kp_store *st, const char *prefix, uint64_t at_rev,
		  const char *start_key, size_t limit, struct kp_kv_list *out)
{
	struct list_ctx c = { .prefix = prefix ? prefix : "", .limit = limit, .out = out };
	struct kp__bview *view;
	struct kp__meta meta;
	const char *from;
	char *msg = NULL;
	uint64_t at;
	int ret;

	memset(out, 0, sizeof(*out));
	if (st->etcd) {
		if (at_rev && at_rev < kp_store_oldest_revision(st))
			return KP_EEXPIRED;
		ret = kp__etcd_list(st->etcd, prefix, at_rev, start_key, limit, out, &msg);
		if (ret == KP_EIO)
			set_lasterr(st, msg);
		else
			free(msg);
		return ret;
	}
	c.plen = strlen(c.prefix);
	from = start_key && strcmp(start_key, c.prefix) > 0 ? start_key : c.prefix;
	ret = st->be->ops->view_open(st->be, &view, &meta, &msg);
	if (ret) {
		set_lasterr(st, msg);
		return ret;
	}
	at = at_rev ? at_rev : meta.rev;
	if (at > meta.rev)
		ret = KP_ERANGE;
	else if (at < meta.rev)
		ret = collect_overrides(st, &c, from, at, meta.rev);
	if (!ret)
		ret = st->be->ops->scan(st->be, view, from, strlen(from), list_cb, &c, &msg);
	st->be->ops->view_close(st->be, view);
	/* Keys absent now but present at `at`, after the backend's last one. */
	while (!ret && !c.full && c.iov < c.nov)
		ret = emit(&c, c.ov[c.iov++].state);
	if (ret > 0)
		ret = 0; /* emit's "page full" */
	for (size_t i = 0; i < c.nov; i++) {
		kp__ver_unref(c.ov[i].key);
		kp__ver_unref(c.ov[i].state);
	}
	free(c.ov);
	if (ret == KP_EIO)
		set_lasterr(st, msg);
	else
		free(msg);
	if (ret) {
		kp_kv_list_release(out);
		return ret;
	}
	out->rev = at;
	return 0;
}

static int count_cb(void *arg, struct kp__ver *v)
{
	struct list_ctx *c = arg;

	if (!has_prefix(v, c->prefix, c->plen))
		return 1;
	c->count++;
	return 0;
}

int kp_store_count(struct kp_store *st, const char *prefix, size_t *out)
{
	struct list_ctx c = { .prefix = prefix ? prefix : "" };
	struct kp__bview *view;
	struct kp__meta meta;
	char *msg = NULL;
	int ret;

	c.plen = strlen(c.prefix);
	if (st->etcd) {
		ret = kp__etcd_count(st->etcd, prefix, out, &msg);
		if (ret)
			set_lasterr(st, msg);
		return ret;
	}
	ret = st->be->ops->view_open(st->be, &view, &meta, &msg);
	if (!ret) {
		ret = st->be->ops->scan(st->be, view, c.prefix, c.plen, count_cb, &c, &msg);
		st->be->ops->view_close(st->be, view);
	}
	if (ret) {
		set_lasterr(st, msg);
		return ret;
	}
	*out = c.count;
	return 0;
}

/* ---- watch ---- */

/*
 * Prefixes here are "/registry/<group>/<plural>/": the byte before the last
 * slash tells most of them apart without a call (every publish runs this for
 * every blocked watcher).
 */
static inline bool wakes(const struct kp__ver *k, const struct kp_watch *w)
{
	size_t pl = w->plen;

	return k && k->klen >= pl && (pl < 2 || kp__ver_key(k)[pl - 2] == w->prefix[pl - 2]) &&
	       memcmp(kp__ver_key(k), w->prefix, pl) == 0;
}

static bool watch_ready_locked(const struct hub *h, const struct kp_watch *w)
{
	if (h->closed || w->cancelled || w->cursor <= h->compacted)
		return true;
	for (uint64_t c = w->cursor; c <= h->published; c++)
		if (wakes(event_key(&h->ring[c % h->cap]), w))
			return true;
	return false;
}

static void waiting_unlink(struct kp_watch *w)
{
	if (!w->wprev)
		return;
	*w->wprev = w->wnext;
	if (w->wnext)
		w->wnext->wprev = w->wprev;
	w->wnext = NULL;
	w->wprev = NULL;
}

/*
 * Length of the kind part of a key: up to and including its fourth '/'
 * ("/registry/core/pods/" of "/registry/core/pods/ns/name"); the whole key
 * when it has fewer.
 */
static size_t kind_len(const char *k, size_t n)
{
	int slashes = 0;
	for (size_t i = 0; i < n; i++)
		if (k[i] == '/' && ++slashes == 4)
			return i + 1;
	return n;
}

/*
 * A blocked watcher that nothing up to h->published wakes has nothing there
 * to return either: move its cursor past those events, as its own
 * kp_watch_next would. Otherwise a watch on a quiet kind (secrets, say)
 * kept its old cursor, every publish after it took the slow path below and
 * rescanned the whole backlog for it - a fifth of the API write thread under
 * a pod load - and the ring wrapping past it expired it for nothing.
 */
static void skip_seen_locked(const struct hub *h, struct kp_watch *w)
{
	if (!h->closed && !w->cancelled && w->cursor > h->compacted)
		__atomic_store_n(&w->cursor, h->published + 1, __ATOMIC_RELEASE);
}

/* Signals (and unlinks) every blocked watcher that has something to return. */
static void hub_wake_locked(struct hub *h)
{
	struct kp_watch *w, *next;
	uint64_t lo = UINT64_MAX;
	size_t n;

	if (!h->waiting)
		return;
	for (w = h->waiting; w; w = w->wnext)
		if (w->cursor < lo)
			lo = w->cursor;
	n = lo <= h->published ? (size_t)(h->published - lo + 1) : 0;
	if (h->closed || lo <= h->compacted || n > 64) {
		for (w = h->waiting; w; w = next) {
			next = w->wnext;
			if (watch_ready_locked(h, w)) {
				waiting_unlink(w);
				pthread_cond_signal(&w->cond);
			} else {
				skip_seen_locked(h, w);
			}
		}
		return;
	}
	/*
	 * The usual case: a batch of new events and a few dozen informers
	 * waiting from just before it. Look the keys up once, not once per
	 * watcher (a ring index costs a division).
	 */
	const struct kp__ver *keys[64];
	/*
	 * The kinds in the batch (a few: pods, events, ...) and the last event
	 * of each: an informer watching a whole kind, as nearly all do, is then
	 * matched against those instead of against every event of the batch.
	 */
	struct {
		const char *p;
		size_t len, last;
	} kinds[64];
	size_t nk = 0;

	for (size_t i = 0; i < n; i++) {
		keys[i] = event_key(&h->ring[(lo + i) % h->cap]);
		if (!keys[i])
			continue;
		const char *k = kp__ver_key(keys[i]);
		size_t kl = kind_len(k, keys[i]->klen), j;
		for (j = 0; j < nk; j++)
			if (kinds[j].len == kl && !memcmp(kinds[j].p, k, kl))
				break;
		if (j == nk)
			kinds[nk++] = (typeof(kinds[0])){ k, kl, i };
		else
			kinds[j].last = i;
	}
	for (w = h->waiting; w; w = next) {
		next = w->wnext;
		size_t from = (size_t)(w->cursor - lo);
		if (w->kind_prefix) {
			for (size_t j = 0; j < nk; j++) {
				if (kinds[j].len == w->plen && kinds[j].last >= from &&
				    !memcmp(kinds[j].p, w->prefix, w->plen)) {
					waiting_unlink(w);
					pthread_cond_signal(&w->cond);
					break;
				}
			}
			if (w->wprev)
				skip_seen_locked(h, w);
			continue;
		}
		for (size_t i = from; i < n; i++) {
			if (wakes(keys[i], w)) {
				waiting_unlink(w);
				pthread_cond_signal(&w->cond);
				break;
			}
		}
		if (w->wprev)
			skip_seen_locked(h, w);
	}
}

int kp_store_watch(struct kp_store *st, const char *prefix, uint64_t from_rev,
		   struct kp_watch **out)
{
	struct hub *h = st->hub;
	struct kp_watch *w = calloc(1, sizeof(*w));
	int ret = 0;

	*out = NULL;
	if (w && st->etcd) {
		/* "Now" is etcd's revision: the ring may not have caught up with it yet. */
		if (!from_rev)
			from_rev = kp__etcd_revision(st->etcd);
		if (from_rev < kp__etcd_compacted(st->etcd)) {
			free(w);
			return KP_EEXPIRED;
		}
	}
	if (!w || !(w->prefix = strdup(prefix ? prefix : ""))) {
		free(w);
		return KP_ENOMEM;
	}
	w->plen = strlen(w->prefix);
	/*
	 * Only a prefix that ends at its fourth slash: for a shorter one ("/c/")
	 * a key's kind part is longer than the prefix, and comparing the two
	 * would never wake the watcher.
	 */
	{
		size_t slashes = 0;
		for (size_t i = 0; i < w->plen; i++)
			slashes += w->prefix[i] == '/';
		w->kind_prefix = slashes == 4 && w->prefix[w->plen - 1] == '/';
	}
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&w->cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	pthread_mutex_lock(&h->lock);
	if (h->closed) {
		ret = KP_ECLOSED;
	} else if (from_rev && from_rev < h->compacted) {
		ret = KP_EEXPIRED;
	} else {
		w->cursor = (from_rev ? from_rev : h->published) + 1;
		w->hub = h;
		h->refs++;
		h->watchers++;
	}
	pthread_mutex_unlock(&h->lock);
	if (ret) {
		pthread_cond_destroy(&w->cond);
		free(w->prefix);
		free(w);
		return ret;
	}
	*out = w;
	return 0;
}

static int fill_event(struct kp_event *ev, const struct event *e)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = e->type;
	if (kp__ver_to_kv(e->cur ? e->cur : e->prev, &ev->kv))
		return KP_ENOMEM;
	if (!e->cur)
		ev->kv.mod_rev = e->rev;
	if (e->prev && kp__ver_to_kv(e->prev, &ev->prev)) {
		kp_event_release(ev);
		return KP_ENOMEM;
	}
	return 0;
}

int kp_watch_next(struct kp_watch *w, struct kp_event *ev, int timeout_ms)
{
	struct hub *h = w->hub;
	struct event got = { 0 };
	struct timespec deadline;
	bool timed_out = false;
	int ret;

	memset(ev, 0, sizeof(*ev));
	if (timeout_ms > 0) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += timeout_ms / 1000;
		deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_lock(&h->lock);
	for (;;) {
		uint64_t c = w->cursor;

		if (h->closed || w->cancelled) {
			ret = KP_ECLOSED;
			break;
		}
		if (c <= h->compacted) {
			ret = KP_EEXPIRED;
			break;
		}
		while (c <= h->published && !got.rev) {
			const struct event *e = &h->ring[c++ % h->cap];

			/* etcd: revisions without an event of ours are empty slots. */
			if (event_key(e) && has_prefix(event_key(e), w->prefix, w->plen)) {
				got = *e;
				if (got.cur)
					kp__ver_ref(got.cur);
				if (got.prev)
					kp__ver_ref(got.prev);
			}
		}
		__atomic_store_n(&w->cursor, c, __ATOMIC_RELEASE);
		if (got.rev) {
			ret = 0;
			break;
		}
		if (timeout_ms == 0 || timed_out) {
			ret = KP_ETIMEDOUT;
			break;
		}
		/* Linked until a publish finds something for us (it unlinks). */
		w->wnext = h->waiting;
		w->wprev = &h->waiting;
		if (h->waiting)
			h->waiting->wprev = &w->wnext;
		h->waiting = w;
		if (timeout_ms < 0)
			pthread_cond_wait(&w->cond, &h->lock);
		else if (pthread_cond_timedwait(&w->cond, &h->lock, &deadline) == ETIMEDOUT)
			timed_out = true;
		waiting_unlink(w);
	}
	pthread_mutex_unlock(&h->lock);
	if (got.rev) {
		ret = fill_event(ev, &got);
		kp__ver_unref(got.cur);
		kp__ver_unref(got.prev);
	}
	return ret;
}

uint64_t kp_watch_revision(struct kp_watch *w)
{
	return __atomic_load_n(&w->cursor, __ATOMIC_ACQUIRE) - 1;
}

void kp_watch_cancel(struct kp_watch *w)
{
	pthread_mutex_lock(&w->hub->lock);
	w->cancelled = true;
	pthread_cond_broadcast(&w->hub->cond);
	waiting_unlink(w);
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->hub->lock);
}

void kp_watch_free(struct kp_watch *w)
{
	struct hub *h;
	bool last;

	if (!w)
		return;
	h = w->hub;
	pthread_mutex_lock(&h->lock);
	h->watchers--;
	hub_unref_locked(h, &last);
	pthread_mutex_unlock(&h->lock);
	if (last)
		hub_free(h);
	pthread_cond_destroy(&w->cond);
	free(w->prefix);
	free(w);
}

int kp_store_compact(struct kp_store *st, uint64_t rev)
{
	struct hub *h = st->hub;
	int ret = 0;

	if (st->etcd) {
		char *msg = NULL;

		ret = kp__etcd_compact(st->etcd, rev, &msg);
		if (ret == KP_EIO)
			set_lasterr(st, msg);
		else
			free(msg);
		if (ret)
			return ret;
		/* The ring forgets the same events (it may still be catching up to rev). */
		etcd_wait_published(st, rev);
	}
	pthread_mutex_lock(&h->lock);
	if (rev > h->published) {
		ret = KP_EINVAL;
	} else if (rev > h->compacted) {
		uint64_t first = h->compacted + 1;

		if (h->published >= h->cap && first <= h->published - h->cap)
			first = h->published - h->cap + 1;
		for (uint64_t r = first; r <= rev; r++)
			event_clear(&h->ring[r % h->cap]);
		h->compacted = rev;
	}
	pthread_mutex_unlock(&h->lock);
	return ret;
}

/* ---- snapshot / restore (format: docs/store.md) ---- */

static const char snap_magic[8] = { 'K', 'P', 'S', 'N', 'A', 'P', '\r', '\n' };
#define SNAP_VERSION 1
#define SNAP_HDR 24     /* magic, version u32, flags u32, revision u64 */
#define SNAP_ENTRY 24   /* klen u32, vlen u32, create_rev u64, mod_rev u64 */
#define SNAP_TAIL 20    /* terminator (8 zero bytes), count u64, crc32 u32 */

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

/* CRC-32 (IEEE 802.3, as zlib's crc32()); start with crc 0. */
static uint32_t crc32_update(uint32_t crc, const void *buf, size_t n)
{
	const unsigned char *p = buf;

	pthread_once(&crc_once, crc_init);
	crc = ~crc;
	while (n--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* Exposed for the tests (the snapshot checksum must match a known CRC). */
uint32_t kp__crc32(uint32_t crc, const void *buf, size_t n);
uint32_t kp__crc32(uint32_t crc, const void *buf, size_t n)
{
	return crc32_update(crc, buf, n);
}

static void le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const unsigned char *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

struct snap_writer {
	FILE *f;
	uint32_t crc;
	uint64_t count;
	bool err;
};

static void sw_put(struct snap_writer *w, const void *p, size_t n)
{
	if (n && fwrite(p, 1, n, w->f) != n)
		w->err = true;
	w->crc = crc32_update(w->crc, p, n);
}

static int snap_cb(void *arg, struct kp__ver *v)
{
	struct snap_writer *w = arg;
	unsigned char e[SNAP_ENTRY];

	le32(e, v->klen);
	le32(e + 4, v->vlen);
	le64(e + 8, v->create_rev);
	le64(e + 16, v->mod_rev);
	sw_put(w, e, sizeof(e));
	sw_put(w, kp__ver_key(v), v->klen);
	sw_put(w, kp__ver_value(v), v->vlen);
	w->count++;
	return w->err ? KP_EIO : 0;
}

/* fsync the directory holding path, so that a rename into it is durable. */
static int sync_parent(const char *path)
{
	char *d = strdup(path), *slash;
	int fd, ret = 0;

	if (!d)
		return KP_ENOMEM;
	slash = strrchr(d, '/');
	if (slash == d)
		slash[1] = 0;
	else if (slash)
		*slash = 0;
	fd = open(slash ? d : ".", O_RDONLY | O_DIRECTORY);
	if (fd < 0 || fsync(fd) < 0)
		ret = KP_EIO;
	if (fd >= 0)
		close(fd);
	free(d);
	return ret;
}

int kp_store_snapshot(struct kp_store *st, const char *path, char **errmsg)
{
	struct snap_writer w = { 0 };
	unsigned char buf[SNAP_HDR];
	struct kp__bview *view;
	struct kp__meta meta;
	char *tmp = NULL;
	int ret, fd;

	if (!path || !*path)
		return kp_error_set(errmsg, KP_EINVAL, "snapshot: path is required");
	if (asprintf(&tmp, "%s.tmp", path) < 0)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || !(w.f = fdopen(fd, "w"))) {
		ret = kp_error_set(errmsg, KP_EIO, "snapshot: cannot create %s: %s", tmp,
				   strerror(errno));
		if (fd >= 0)
			close(fd);
		free(tmp);
		return ret;
	}
	setvbuf(w.f, NULL, _IOFBF, 1 << 16);
	ret = st->be->ops->view_open(st->be, &view, &meta, errmsg);
	if (ret)
		goto out_file;
	memcpy(buf, snap_magic, 8);
	le32(buf + 8, SNAP_VERSION);
	le32(buf + 12, 0);
	le64(buf + 16, meta.rev);
	sw_put(&w, buf, SNAP_HDR);
	ret = st->be->ops->scan(st->be, view, NULL, 0, snap_cb, &w, errmsg);
	st->be->ops->view_close(st->be, view);
	if (ret)
		goto out_file;
	memset(buf, 0, 8);
	le64(buf + 8, w.count);
	sw_put(&w, buf, 16);
	le32(buf, w.crc);
	if (fwrite(buf, 1, 4, w.f) != 4)
		w.err = true;
	if (fflush(w.f) || fsync(fileno(w.f)))
		w.err = true;
out_file:
	if (fclose(w.f))
		w.err = true;
	if (!ret && w.err)
		ret = kp_error_set(errmsg, KP_EIO, "snapshot: writing %s: %s", tmp,
				   strerror(errno));
	if (!ret && rename(tmp, path) < 0)
		ret = kp_error_set(errmsg, KP_EIO, "snapshot: renaming %s to %s: %s", tmp, path,
				   strerror(errno));
	if (!ret && sync_parent(path))
		ret = kp_error_set(errmsg, KP_EIO, "snapshot: syncing the directory of %s", path);
	if (ret)
		unlink(tmp);
	free(tmp);
	return ret;
}

/* Checks the whole file; fills vers (sorted, new references) and *rev. */
static int snap_parse(const unsigned char *p, size_t size, const char *path,
		      struct kp__ver ***vers_out, size_t *n_out, uint64_t *rev, char **errmsg)
{
	struct kp__ver **vers = NULL;
	size_t off = SNAP_HDR, n = 0, cap = 0;
	uint32_t version;
	uint64_t count;
	int ret = 0;

	if (size < SNAP_HDR + SNAP_TAIL || memcmp(p, snap_magic, 8))
		return kp_error_set(errmsg, KP_EINVAL, "restore: %s is not a kplane snapshot", path);
	if (crc32_update(0, p, size - 4) != rd32(p + size - 4))
		return kp_error_set(errmsg, KP_EINVAL, "restore: %s: checksum mismatch (file "
				    "damaged or truncated)", path);
	version = rd32(p + 8);
	if (version != SNAP_VERSION)
		return kp_error_set(errmsg, KP_EINVAL, "restore: %s: snapshot version %u, this "
				    "kplane reads version %d", path, version, SNAP_VERSION);
	*rev = rd64(p + 16);
	for (;;) {
		uint32_t klen, vlen;
		uint64_t cr, mr;
		const char *key;
		struct kp__ver *v;

		if (size - 12 - off < 8) {
			ret = kp_error_set(errmsg, KP_EINVAL, "restore: %s: entries run past the "
					   "end at byte %zu", path, off);
			break;
		}
		klen = rd32(p + off);
		vlen = rd32(p + off + 4);
		if (klen == 0) {
			if (vlen != 0)
				ret = kp_error_set(errmsg, KP_EINVAL, "restore: %s: bad terminator "
						   "at byte %zu", path, off);
			off += 8;
			break;
		}
		if (klen > KP__KEY_MAX || vlen > KP__VALUE_MAX ||
		    size - 12 - off < (size_t)SNAP_ENTRY + klen + vlen) {
			ret = kp_error_set(errmsg, KP_EINVAL, "restore: %s: entry %zu at byte %zu: "
					   "bad length (key %u, value %u bytes)", path, n, off,
					   klen, vlen);
			break;
		}
		cr = rd64(p + off + 8);
		mr = rd64(p + off + 16);
		key = (const char *)p + off + SNAP_ENTRY;
		if (cr == 0 || mr < cr || mr > *rev || memchr(key, 0, klen)) {
			ret = kp_error_set(errmsg, KP_EINVAL, "restore: %s: entry %zu at byte %zu: "
					   "bad key or revisions", path, n, off);
			break;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 1024;
			void *np = realloc(vers, ncap * sizeof(*vers));

			if (!np) {
				ret = kp_error_set(errmsg, KP_ENOMEM, "restore: out of memory");
				break;
			}
			vers = np;
			cap = ncap;
		}
		v = kp__ver_new(key, klen, key + klen, vlen, cr, mr);
		if (!v) {
			ret = kp_error_set(errmsg, KP_ENOMEM, "restore: out of memory");
			break;
		}
		if (n && cmp_ver_keys(vers[n - 1], v) >= 0) {
			kp__ver_unref(v);
			ret = kp_error_set(errmsg, KP_EINVAL, "restore: %s: entry %zu: keys out of "
					   "order or duplicated", path, n);
			break;
		}
		vers[n++] = v;
		off += SNAP_ENTRY + klen + vlen;
	}
	if (!ret) {
		count = rd64(p + off);
		if (off + 12 != size)
			ret = kp_error_set(errmsg, KP_EINVAL, "restore: %s: %zu unexpected bytes "
					   "after the entries", path, size - off - 12);
		else if (count != n)
			ret = kp_error_set(errmsg, KP_EINVAL, "restore: %s: holds %zu entries but "
					   "says %llu", path, n, (unsigned long long)count);
	}
	if (ret) {
		for (size_t i = 0; i < n; i++)
			kp__ver_unref(vers[i]);
		free(vers);
		return ret;
	}
	*vers_out = vers;
	*n_out = n;
	return 0;
}

/* Reads a whole file into memory (read(), not mmap: a file shrinking under us must not SIGBUS). */
static int slurp(const char *path, unsigned char **out, size_t *size, char **errmsg)
{
	struct stat sb;
	unsigned char *buf;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return kp_error_set(errmsg, errno == ENOENT ? KP_ENOENT : KP_EIO,
				    "restore: cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return kp_error_set(errmsg, KP_EINVAL, "restore: %s is not a regular file", path);
	}
	buf = malloc(sb.st_size ? (size_t)sb.st_size : 1);
	if (!buf) {
		close(fd);
		return kp_error_set(errmsg, KP_ENOMEM, "restore: out of memory for %s", path);
	}
	while (got < (size_t)sb.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)sb.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (got != (size_t)sb.st_size) {
		free(buf);
		return kp_error_set(errmsg, KP_EIO, "restore: reading %s: short read", path);
	}
	*out = buf;
	*size = got;
	return 0;
}

struct ver_vec {
	struct kp__ver **v;
	size_t n, cap;
};

static int collect_cb(void *arg, struct kp__ver *v)
{
	struct ver_vec *c = arg;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 1024;
		void *p = realloc(c->v, cap * sizeof(*c->v));

		if (!p)
			return KP_ENOMEM;
		c->v = p;
		c->cap = cap;
	}
	c->v[c->n++] = kp__ver_ref(v);
	return 0;
}

int kp_store_restore(struct kp_store *st, const char *path, char **errmsg)
{
	struct ver_vec old = { 0 };
	struct kp__ver **vers = NULL;
	struct kp__bop *ops = NULL;
	struct kp__bview *view;
	struct kp__meta meta, now;
	unsigned char *buf = NULL;
	uint64_t srev = 0;
	size_t size = 0, n = 0;
	char *msg = NULL;
	int ret;

	if (!path || !*path)
		return kp_error_set(errmsg, KP_EINVAL, "restore: path is required");
	ret = slurp(path, &buf, &size, errmsg);
	if (ret)
		return ret;
	ret = snap_parse(buf, size, path, &vers, &n, &srev, errmsg);
	free(buf);
	if (ret)
		return ret;
	if (st->etcd) {
		uint64_t rrev;

		ret = kp__etcd_restore(st->etcd, vers, n, &rrev, errmsg);
		if (!ret)
			etcd_wait_published(st, rrev);
		goto out_vers;
	}

	ret = enter(st);
	if (ret) {
		kp_error_set(errmsg, ret, "restore: the store is %s",
			     ret == KP_ECLOSED ? "closing" : "failed (see kp_store_last_error)");
		goto out_vers;
	}
	/* Own the write path: drain what is pending, keep newcomers out. */
	st->exclusive = true;
	while ((st->committing || st->pending.n) && !st->failed) {
		if (!st->committing)
			lead(st);
		else
			pthread_cond_wait(&st->cond, &st->mu);
	}
	if (st->failed) {
		ret = kp_error_set(errmsg, KP_EIO, "restore: the store failed while draining writes");
		goto out_exclusive;
	}
	meta.rev = (srev > st->next_rev ? srev : st->next_rev) + 1;
	meta.keys = n;
	st->committing = true;
	pthread_mutex_unlock(&st->mu);

	ret = st->be->ops->view_open(st->be, &view, &now, &msg);
	if (!ret) {
		ret = st->be->ops->scan(st->be, view, NULL, 0, collect_cb, &old, &msg);
		st->be->ops->view_close(st->be, view);
	}
	if (!ret && !(ops = calloc(old.n + n + 1, sizeof(*ops))))
		ret = KP_ENOMEM;
	if (!ret) {
		for (size_t i = 0; i < old.n; i++)
			ops[i] = (struct kp__bop){ .ver = old.v[i], .del = true };
		for (size_t i = 0; i < n; i++)
			ops[old.n + i] = (struct kp__bop){ .ver = vers[i] };
		ret = st->be->ops->write(st->be, ops, old.n + n, &meta, st->sync, &msg);
	}

	pthread_mutex_lock(&st->mu);
	st->committing = false;
	if (ret) {
		/* A half-written restore cannot be told from a whole one: stop. */
		st->failed = st->failed || ret == KP_EIO;
		kp_error_set(errmsg, ret, "restore: %s", msg ? msg : kp_strerror(ret));
		set_lasterr(st, msg);
		msg = NULL;
		goto out_exclusive;
	}
	st->next_rev = meta.rev;
	st->keys_pending = st->keys_committed = n;
	__atomic_store_n(&st->gen, st->gen + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&st->committed, meta.rev, __ATOMIC_RELEASE);
	hub_reset(st->hub, meta.rev);
out_exclusive:
	st->exclusive = false;
	pthread_cond_broadcast(&st->cond);
	leave(st);
out_vers:
	free(msg);
	free(ops);
	for (size_t i = 0; i < old.n; i++)
		kp__ver_unref(old.v[i]);
	free(old.v);
	for (size_t i = 0; i < n; i++)
		kp__ver_unref(vers[i]);
	free(vers);
	return ret;
}

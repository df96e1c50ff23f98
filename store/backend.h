/*
 * backend.h - what store.c needs from a "current state" key-value backend.
 *
 * The revisioned semantics (revision counter, compare-and-swap, group
 * commit, events, list at an older revision, snapshots) live once in
 * store.c. A backend only keeps the latest value of every key plus two meta
 * numbers (revision, key count), and offers:
 *  - point reads, safe from any thread at any time (never blocked by the
 *    store's write path);
 *  - a consistent read view for ordered scans, which also tells the revision
 *    it is consistent at;
 *  - an atomic batch write carrying the new meta numbers (so recovery finds
 *    the revision of the last batch that reached the disk, never a torn one).
 * Only one batch write is ever in flight (store.c serialises them), but reads
 * and views may run concurrently with it.
 *
 * Internal to store/; not installed.
 */
#ifndef KPLANE_STORE_BACKEND_H
#define KPLANE_STORE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* Longest key (bytes) and value the store accepts; see store.h. */
#define KP__KEY_MAX 4096
#define KP__VALUE_MAX (64u << 20)

/*
 * One immutable version of one key, shared by reference between the memory
 * backend, the pending-write overlay and the event ring so that a value is
 * stored once however many watchers see it. Layout of data[]: key bytes, NUL,
 * value bytes, NUL.
 */
struct kp__ver {
	unsigned refs;      /* atomic (__atomic builtins) */
	uint32_t klen;
	uint32_t vlen;
	uint64_t create_rev;
	uint64_t mod_rev;
	char data[];
};

static inline const char *kp__ver_key(const struct kp__ver *v)
{
	return v->data;
}

static inline const char *kp__ver_value(const struct kp__ver *v)
{
	return v->data + v->klen + 1;
}

/* Allocates a version with one reference; NULL when out of memory. */
struct kp__ver *kp__ver_new(const char *key, size_t klen, const char *value, size_t vlen,
			    uint64_t create_rev, uint64_t mod_rev);

static inline struct kp__ver *kp__ver_ref(struct kp__ver *v)
{
	__atomic_fetch_add(&v->refs, 1, __ATOMIC_RELAXED);
	return v;
}

/* Frees v; only kp__ver_unref() calls it, when the last reference goes. */
void kp__ver_free_(struct kp__ver *v);

static inline void kp__ver_unref(struct kp__ver *v)
{
	if (v && __atomic_sub_fetch(&v->refs, 1, __ATOMIC_ACQ_REL) == 0)
		kp__ver_free_(v);
}

/* Fills a public kp_kv with copies of v's fields; KP_ENOMEM. */
int kp__ver_to_kv(const struct kp__ver *v, struct kp_kv *out);

/* Revision and key count, written atomically with every batch. */
struct kp__meta {
	uint64_t rev;
	uint64_t keys;
};

/* One change in a batch: put ver (its key and fields), or delete ver's key. */
struct kp__bop {
	struct kp__ver *ver; /* borrowed */
	bool del;
};

struct kp__backend;
struct kp__bview;

/*
 * Called for each key of a scan, in key order. v is borrowed for the call
 * (take a reference to keep it). Return 0 to go on, 1 to stop, or a
 * negative KP_E* code to stop and make the scan return it.
 */
typedef int (*kp__scan_fn)(void *arg, struct kp__ver *v);

struct kp__backend_ops {
	const char *name;
	/*
	 * Current value of key (klen bytes, no NUL inside). 0 with *out a new
	 * reference, KP_ENOENT, or KP_EIO/KP_ENOMEM with a message in *errmsg.
	 */
	int (*get)(struct kp__backend *b, const char *key, size_t klen, struct kp__ver **out,
		   char **errmsg);
	/* Opens a consistent read view; *meta gets the state it shows. */
	int (*view_open)(struct kp__backend *b, struct kp__bview **out, struct kp__meta *meta,
			 char **errmsg);
	/* Scans the view in key order from the first key >= from (NULL: first key). */
	int (*scan)(struct kp__backend *b, struct kp__bview *view, const char *from, size_t fromlen,
		    kp__scan_fn fn, void *arg, char **errmsg);
	void (*view_close)(struct kp__backend *b, struct kp__bview *view);
	/*
	 * Applies ops in order, atomically, and records meta; with sync the data
	 * is on stable storage when this returns 0. Never concurrent with itself.
	 */
	int (*write)(struct kp__backend *b, const struct kp__bop *ops, size_t n,
		     const struct kp__meta *meta, bool sync, char **errmsg);
	void (*close)(struct kp__backend *b);
};

struct kp__backend {
	const struct kp__backend_ops *ops;
};

/* Opens a backend; *meta gets the recovered revision and key count. */
int kp__backend_memory_open(struct kp__backend **out, struct kp__meta *meta, char **errmsg);
int kp__backend_leveldb_open(const char *dir, struct kp__backend **out, struct kp__meta *meta,
			     char **errmsg);

#endif

/*
 * store.h - the revisioned key-value store every component talks to.
 *
 * Model (etcd's, which Kubernetes is built on):
 *  - keys are byte strings without NUL, by convention
 *    /registry/<resource>/<namespace>/<name>; values are opaque bytes (the
 *    object's JSON);
 *  - one global revision counter, bumped by every successful write; each key
 *    remembers the revision that created it and the one that last modified
 *    it (mod_rev becomes metadata.resourceVersion);
 *  - updates and deletes may be conditional on the key's current mod_rev
 *    (compare-and-swap), KP_ECONFLICT when it moved;
 *  - recent events (ADDED/MODIFIED/DELETED) are retained in memory so that a
 *    watch or a paginated list can start from any retained revision;
 *    older ones fail with KP_EEXPIRED (HTTP 410);
 *  - a write returns only after it is durable (leveldb: synced to disk;
 *    concurrent writers share one sync - group commit; etcd: committed by
 *    etcd's raft quorum) and its event is visible to this store's watchers.
 * With KP_STORE_ETCD, etcd owns the revision counter, compare-and-swap and
 * history; docs/store.md ("etcd backend") lists what differs.
 * All functions are thread-safe, except that nothing may be called on a
 * store concurrently with or after kp_store_close() (watches excepted, see
 * there).
 *
 * Limits: keys are 1..4096 bytes (KP_EINVAL when empty or NULL, KP_E2BIG when
 * longer), values at most 64 MiB (KP_E2BIG).
 *
 * I/O failure: if a batch write fails (disk full, I/O error) every write in
 * it returns KP_EIO and the store refuses all later writes with KP_EIO
 * (reads go on); reopen it. Such a write may or may not be found after the
 * reopen. kp_store_last_error() tells what happened.
 *
 * Ownership: every struct kp_kv / kp_kv_list / kp_event filled by the store
 * is owned by the caller and released with the matching _release() call.
 */
#ifndef KPLANE_STORE_H
#define KPLANE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kp_store;
struct kp_watch;

enum kp_store_backend {
	KP_STORE_MEMORY,
	KP_STORE_LEVELDB,
	KP_STORE_ETCD,       /* etcd v3 over its JSON gateway (store/etcd.h) */
};

struct kp_store_options {
	enum kp_store_backend backend;
	const char *data_dir;    /* leveldb: directory (created if missing); borrowed */
	bool no_sync;            /* leveldb: skip fsync (benchmarks only, loses durability) */
	size_t event_retention;  /* events kept in memory for watch/list-at-revision;
				    0 = default (100000); not used by etcd (its history is) */
	/*
	 * etcd: NULL-terminated list of client URLs ("http://127.0.0.1:2379",
	 * "https://..."), tried in order with failover; borrowed (copied at open).
	 * The TLS paths are optional (NULL: none), PEM files, borrowed.
	 */
	const char *const *etcd_endpoints;
	const char *etcd_cert;   /* client certificate */
	const char *etcd_key;    /* its private key */
	const char *etcd_ca;     /* CA bundle to verify etcd with (NULL: system's) */
};

/* Parses "memory" / "leveldb" / "etcd"; KP_EINVAL otherwise. */
int kp_store_backend_parse(const char *s, enum kp_store_backend *out);

/*
 * Opens a store. leveldb: creates data_dir if needed, takes an exclusive lock
 * (KP_EBUSY if another process has it), recovers the revision counter.
 */
int kp_store_open(const struct kp_store_options *opts, struct kp_store **out, char **errmsg);
/* Waits for in-flight writes, wakes every watcher with KP_ECLOSED, frees. */
void kp_store_close(struct kp_store *st);

/* One key's state. */
struct kp_kv {
	char *key;        /* owned, NUL-terminated */
	char *value;      /* owned, NUL-terminated for convenience; len excludes it */
	size_t len;
	uint64_t create_rev;
	uint64_t mod_rev;
};
void kp_kv_release(struct kp_kv *kv);

/* Current revision (of the last durable write). */
uint64_t kp_store_revision(struct kp_store *st);
/*
 * Waits up to timeout_ms for the revision to reach rev; returns whether it
 * did. For a revision a client got a moment ago (a list's), which may run
 * ahead of the counter by the instant between a batch becoming visible and
 * the counter moving; kube-apiserver likewise waits for its cache before
 * calling a resourceVersion too large.
 */
bool kp_store_wait_revision(struct kp_store *st, uint64_t rev, int timeout_ms);
/*
 * Oldest revision a list may be consistent at and a watch may start after:
 * the compacted revision (events up to it are forgotten, the state at it is
 * still known). A list with 0 < at_rev < this, or a watch with
 * 0 < from_rev < this, fails with KP_EEXPIRED. Right after open it is the
 * recovered revision (nothing older is retained across a restart; etcd:
 * etcd's revision at open), after a restore the restore's revision; it moves
 * up with kp_store_compact(), when the event ring (event_retention) wraps,
 * and (etcd) when this store learns that another client compacted etcd.
 */
uint64_t kp_store_oldest_revision(struct kp_store *st);

/*
 * Reads one key (committed data only). KP_ENOENT when absent, KP_EIO when the
 * stored value cannot be read (message: kp_store_last_error()). *out is
 * zeroed on failure.
 */
int kp_store_get(struct kp_store *st, const char *key, struct kp_kv *out);

/*
 * The message of the latest KP_EIO any call on st returned, or NULL; the
 * caller frees it.
 */
char *kp_store_last_error(struct kp_store *st);

struct kp_kv_list {
	size_t n;
	struct kp_kv *items; /* sorted by key */
	uint64_t rev;        /* revision the list is consistent at */
	bool more;           /* true when limit cut the list; continue from next_key */
	char *next_key;      /* owned; first key not returned (NULL unless more) */
};
void kp_kv_list_release(struct kp_kv_list *l);

/*
 * Lists keys starting with prefix, in key order, as of revision at_rev
 * (0 = now). start_key (NULL = from the beginning of prefix) is the first key
 * to include: pass the previous page's next_key with its rev to paginate
 * consistently. limit 0 = no limit. prefix NULL = every key. KP_EEXPIRED when
 * at_rev is older than kp_store_oldest_revision(), KP_ERANGE when it is newer
 * than the store's revision. *out is zeroed on failure.
 */
int kp_store_list(struct kp_store *st, const char *prefix, uint64_t at_rev,
		  const char *start_key, size_t limit, struct kp_kv_list *out);
/* Number of keys with the prefix now (a scan: O(keys with the prefix)). */
int kp_store_count(struct kp_store *st, const char *prefix, size_t *out);

/*
 * Creates key with a copy of value (len bytes; value may be NULL when len is
 * 0); KP_EEXIST if it exists. *rev (may be NULL) gets the new revision.
 * Returns once the write is durable (see kp_store_options.no_sync).
 */
int kp_store_create(struct kp_store *st, const char *key, const char *value, size_t len,
		    uint64_t *rev);
/*
 * Replaces key's value. expect_rev != 0: only if the key's mod_rev equals it
 * (KP_ECONFLICT otherwise). KP_ENOENT if the key is absent.
 */
int kp_store_update(struct kp_store *st, const char *key, const char *value, size_t len,
		    uint64_t expect_rev, uint64_t *rev);
/*
 * Deletes key (conditional like update). prev (may be NULL) receives the
 * deleted state (caller releases it; zeroed on failure); *rev the revision
 * of the deletion.
 */
int kp_store_delete(struct kp_store *st, const char *key, uint64_t expect_rev, uint64_t *rev,
		    struct kp_kv *prev);

enum kp_event_type {
	KP_EVENT_ADDED = 1,
	KP_EVENT_MODIFIED,
	KP_EVENT_DELETED,
};

/* One change. For DELETED, kv holds the last state and kv.mod_rev the deletion revision. */
struct kp_event {
	enum kp_event_type type;
	struct kp_kv kv;       /* owned copy */
	struct kp_kv prev;     /* state before the change (MODIFIED/DELETED); key NULL if none */
};
void kp_event_release(struct kp_event *ev);
const char *kp_event_type_string(enum kp_event_type t); /* "ADDED", ... */

/*
 * Starts a watch on keys with prefix (NULL = all) for events with revision >
 * from_rev (0 = from now). KP_EEXPIRED if from_rev < kp_store_oldest_revision().
 * A from_rev in the future is allowed (events arrive when it is reached).
 * A watcher costs a cursor: events are stored once and shared. The caller
 * frees *out with kp_watch_free(), also after kp_store_close().
 */
int kp_store_watch(struct kp_store *st, const char *prefix, uint64_t from_rev,
		   struct kp_watch **out);
/*
 * Next event, waiting up to timeout_ms (-1 = forever, 0 = poll). Returns 0
 * with *ev filled, KP_ETIMEDOUT, KP_ECLOSED (store closing or watch
 * cancelled), or KP_EEXPIRED (the watcher fell behind what is retained; it
 * must relist). Only one thread may call next on a given watch.
 */
int kp_watch_next(struct kp_watch *w, struct kp_event *ev, int timeout_ms);
/* Revision up to which this watch has seen every event (for bookmarks). */
uint64_t kp_watch_revision(struct kp_watch *w);
/*
 * Wakes a blocked kp_watch_next() with KP_ECLOSED (and makes later calls
 * return it); safe from any thread while the watch is not being freed.
 */
void kp_watch_cancel(struct kp_watch *w);
/* Ends the watch and frees it; not concurrently with kp_watch_next(). */
void kp_watch_free(struct kp_watch *w);

/*
 * Forgets events with revision <= rev; KP_EINVAL if rev is newer than the
 * current revision. Compacting to an older revision than already compacted
 * does nothing.
 */
int kp_store_compact(struct kp_store *st, uint64_t rev);

/*
 * Writes every key and the revision counter, consistent at one revision, to
 * a file (written to path.tmp, fsynced, renamed, directory fsynced). The
 * format carries a CRC-32; see docs/store.md. Writers are not blocked on
 * leveldb; on the memory backend they wait until the file is written.
 */
int kp_store_snapshot(struct kp_store *st, const char *path, char **errmsg);
/*
 * Replaces the whole content of st with a snapshot file, in one atomic
 * batch. The whole file is checked first (checksum, structure, key order):
 * a bad file changes nothing and returns KP_EINVAL (KP_ENOENT: no file). The
 * revision counter becomes max(snapshot's, current) + 1 so that revisions
 * never go back; restored keys keep their snapshot revisions; no event is
 * emitted: watchers get KP_EEXPIRED and must relist.
 */
int kp_store_restore(struct kp_store *st, const char *path, char **errmsg);

/* Counters for /metrics and benchmarks. */
struct kp_store_stats {
	uint64_t writes;       /* committed write operations */
	uint64_t syncs;        /* fsyncs (writes/syncs = group commit factor) */
	uint64_t keys;         /* keys now */
	uint64_t watchers;     /* open watches */
	uint64_t events_held;  /* events retained in memory */
};
void kp_store_stats(struct kp_store *st, struct kp_store_stats *out);

#endif

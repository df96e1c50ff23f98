/*
 * etcd.h - the etcd v3 store backend (store/etcd.c), internal to store/.
 *
 * Unlike the "current state" backends of backend.h, etcd owns the
 * revision counter, compare-and-swap, history, watch and compaction, so
 * store.c forwards most public calls here when opts.backend is
 * KP_STORE_ETCD (see docs/store.md, "etcd backend"). Requests go to etcd's
 * JSON gateway (/v3/kv/..., /v3/watch) with libcurl; keys and values are
 * base64 in the JSON. All functions are thread-safe.
 *
 * Failover: a request goes to the endpoint that last answered; on a
 * connection failure it moves to the next one. A write whose request may
 * have reached etcd (sent, but no answer) is never retried: it returns
 * KP_EIO, and may or may not have been applied.
 *
 * Error messages (char **errmsg) are allocated for the caller to free and
 * carry etcd's own message when etcd answered with an error.
 */
#ifndef KPLANE_STORE_ETCD_H
#define KPLANE_STORE_ETCD_H

#include <stdint.h>

#include "store/backend.h"
#include "store/store.h"

struct kp__etcd;
struct kp__etcd_watch;

/*
 * Connects to opts->etcd_endpoints (borrowed; copied), checks that one
 * answers, and learns the current and compacted revisions. *out is freed
 * with kp__etcd_close().
 */
int kp__etcd_open(const struct kp_store_options *opts, struct kp__etcd **out, char **errmsg);
/* Stops every watch stream (their kp_watch_next returns KP_ECLOSED) and frees. */
void kp__etcd_close(struct kp__etcd *e);

/*
 * A read-only backend (backend.h) over e: get, and views that are ranges
 * at one revision, so that store.c's snapshot writer works unchanged. Its
 * write op refuses (KP_ENOTSUP) and its close does nothing. Borrowed from e.
 */
struct kp__backend *kp__etcd_backend(struct kp__etcd *e);

enum kp__etcd_op { KP__ETCD_CREATE, KP__ETCD_UPDATE, KP__ETCD_DELETE };

/*
 * One write as a txn: create if absent, update/delete if present (and, with
 * expect != 0, if mod_revision == expect). Returns 0 with *rev (may be NULL)
 * the write's revision and, for a delete, *prev (may be NULL) the deleted
 * state (a new reference); KP_EEXIST, KP_ENOENT, KP_ECONFLICT as store.h;
 * KP_EIO with a message (etcd's error or the transport's).
 */
int kp__etcd_write(struct kp__etcd *e, enum kp__etcd_op op, const char *key, size_t klen,
		   const char *value, size_t len, uint64_t expect, uint64_t *rev,
		   struct kp__ver **prev, char **errmsg);

/* kp_store_list() semantics (out zeroed first; filled on success). */
int kp__etcd_list(struct kp__etcd *e, const char *prefix, uint64_t at_rev,
		  const char *start_key, size_t limit, struct kp_kv_list *out, char **errmsg);
int kp__etcd_count(struct kp__etcd *e, const char *prefix, size_t *out, char **errmsg);

/* Current revision (asks etcd; the last one seen if it does not answer). */
uint64_t kp__etcd_revision(struct kp__etcd *e);
/* Compacted revision as known here (learnt at open, by compacting, from errors). */
uint64_t kp__etcd_compacted(struct kp__etcd *e);
/* kp_store_compact() semantics over /v3/kv/compaction. */
int kp__etcd_compact(struct kp__etcd *e, uint64_t rev, char **errmsg);

/*
 * Replaces the whole keyspace with vers[0..n) (sorted, borrowed) in one txn,
 * then compacts to that txn's revision (nothing before a restore is
 * replayed). *rev gets the revision.
 * etcd must accept a txn of that size (--max-txn-ops, --max-request-bytes):
 * KP_E2BIG with etcd's message otherwise.
 */
int kp__etcd_restore(struct kp__etcd *e, struct kp__ver *const *vers, size_t n, uint64_t *rev,
		     char **errmsg);

/* Fills the counters etcd can give (keys, watchers, writes made here). */
void kp__etcd_stats(struct kp__etcd *e, struct kp_store_stats *out);

/*
 * Watch streams: one /v3/watch stream (and one thread) per watch, resuming
 * on the next endpoint after a connection failure. store.c runs one of
 * these per store over every key (the feed) and fans it out to its
 * watchers through its event ring. Semantics of kp_store_watch() and
 * friends, except: no ring, so no KP_EEXPIRED after a compaction through
 * this store; kp__etcd_watch_revision advances over other keys only with
 * progress notifications. KP_EIO when no endpoint serves the stream. A watch
 * outlives kp__etcd_close() (it then returns KP_ECLOSED).
 */
int kp__etcd_watch(struct kp__etcd *e, const char *prefix, uint64_t from_rev,
		   struct kp__etcd_watch **out);
int kp__etcd_watch_next(struct kp__etcd_watch *w, struct kp_event *ev, int timeout_ms);
uint64_t kp__etcd_watch_revision(struct kp__etcd_watch *w);
void kp__etcd_watch_cancel(struct kp__etcd_watch *w);
void kp__etcd_watch_free(struct kp__etcd_watch *w);

#endif

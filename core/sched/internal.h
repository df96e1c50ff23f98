/*
 * internal.h - declarations shared by the scheduler framework's files
 * (core/sched/); not installed, not for plugins.
 *
 * Layout: intern.c (strings <-> ids), util.c (selector/toleration helpers),
 * arena.c/map.c (memory, hash maps), podinfo.c (pod and node JSON -> compact
 * structs), cache.c (nodes, pods, other objects; snapshot), queue.c
 * (active/backoff/unschedulable), config.c (KubeSchedulerConfiguration),
 * registry.c (static table, dlopen loader), framework.c (profiles: plugin
 * instances per extension point), scheduler.c (the cycle, workers, binding).
 */
#ifndef KPLANE_SCHED_INTERNAL_H
#define KPLANE_SCHED_INTERNAL_H

#include <pthread.h>
#include <sys/types.h>
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include <kplane/plugin.h>
#include <kplane/scheduler.h>

#ifndef KP_PLUGIN_DIR
#define KP_PLUGIN_DIR "/usr/local/lib/kplane/plugins"
#endif
#define KP_PLUGIN_DIR_TEXT KP_PLUGIN_DIR

/* Number of strings interned so far (ids are 0..count-1). */
uint32_t kp__intern_count(void);

/* ---- arena: many small allocations freed at once */
struct kp__arena {
	struct kp__arena_block *head;
	size_t left;
	char *next;
};
void *kp__arena_alloc(struct kp__arena *a, size_t size); /* zeroed, 16-aligned; NULL on ENOMEM */
char *kp__arena_strdup(struct kp__arena *a, const char *s);
void kp__arena_release(struct kp__arena *a);

/* ---- int32 -> pointer open-addressing map (keys >= 0) */
struct kp__imap {
	uint32_t cap, n;
	int32_t *keys;  /* -1 empty, -2 deleted */
	void **vals;
};
void *kp__imap_get(const struct kp__imap *m, int32_t key);
int kp__imap_put(struct kp__imap *m, int32_t key, void *val);
void *kp__imap_del(struct kp__imap *m, int32_t key);
void kp__imap_release(struct kp__imap *m);

/* ---- compiled pod */
enum kp__qstate {
	KP__Q_NONE = 0,
	KP__Q_ACTIVE,
	KP__Q_BACKOFF,
	KP__Q_UNSCHED,
	KP__Q_GATED,     /* rejected by PreEnqueue */
	KP__Q_INFLIGHT,  /* popped, being scheduled */
};

struct kp__profile;

struct kp__pod {
	struct kp_pod_info info;       /* first: plugins see &pod->info */
	json_t *obj;                   /* own reference */
	struct kp__arena arena;        /* compiled arrays and strings */
	bool has_priority;             /* spec.priority given */
	const char *priority_class;    /* spec.priorityClassName or NULL (arena) */
	bool terminal;                 /* phase Succeeded/Failed */
	/* cache */
	struct kp__node *node;         /* node it counts on, or NULL */
	bool assumed;
	bool binding;                  /* binding in flight: do not take from the queue */
	/* queue */
	int qstate;
	int32_t heap_pos;
	int64_t timestamp_ns;
	int64_t initial_attempt_ns;
	int64_t unsched_since_ns;
	uint32_t attempts;
	uint64_t sched_cycle;          /* cycle of its last attempt */
	uint64_t rejectors;            /* bits: profile plugin indexes that rejected it */
	bool reject_any;               /* rejected without plugin attribution (error) */
	struct kp__profile *profile;
	int32_t nominated_in;          /* node name id of its nominator list, when in_nominator */
	bool in_nominator;
	bool deleted;                  /* deleted while binding or waiting in Permit */
};

/* Compiles a Pod object (borrowed; a reference is taken). *errmsg names the field. */
int kp__pod_compile(json_t *obj, struct kp__pod **out, char **errmsg);
void kp__pod_free(struct kp__pod *p);

/* ---- node in the cache (and what-if clones) */
struct kp__node {
	struct kp_node_info info;      /* first */
	json_t *obj;                   /* own reference; NULL for a ghost (deleted, pods remain) */
	struct kp__arena arena;        /* labels, taints, allocatable, images */
	/* growable owned arrays behind info's const pointers */
	const struct kp_pod_info **pods;
	uint32_t cap_pods;
	const struct kp_pod_info **aff;
	uint32_t cap_aff;
	const struct kp_pod_info **anti;
	uint32_t cap_anti;
	struct kp_scalar *req_scalar;
	uint32_t cap_req_scalar;
	struct kp_host_port *ports;
	uint32_t cap_ports;
	bool clone;
};

/* Compiles a Node object into a fresh kp__node without pods. */
int kp__node_compile(json_t *obj, struct kp__node **out, char **errmsg);
/* Moves the compiled object part (labels, taints, allocatable...) of src into
 * dst, keeping dst's pods; frees src. */
void kp__node_replace_object(struct kp__node *dst, struct kp__node *src);
void kp__node_free(struct kp__node *n);
int kp__node_add_pod(struct kp__node *n, const struct kp_pod_info *pod);
int kp__node_remove_pod(struct kp__node *n, const struct kp_pod_info *pod);

/* Parses labels object (borrowed) into sorted interned labels in arena. */
int kp__labels_compile(const json_t *labels, struct kp__arena *a, struct kp_labels *out);

/* ---- cache + snapshot (single-threaded: the scheduling thread) */
struct kp__cache {
	struct kp_snapshot snap;       /* nodes array points into `order` */
	struct kp__imap nodes;         /* name id -> kp__node (incl. ghosts) */
	struct kp__node **order;       /* live nodes in insertion order */
	uint32_t norder, cap_order;
	json_t *pods;                  /* uid -> (integer pointer) of kp__pod in the cache */
	uint64_t npods;
	struct kp__imap images;        /* image id -> (uintptr) number of nodes */
	struct kp__imap namespaces;    /* ns id -> struct kp__ns */
	json_t *objects;               /* kind -> { "ns/name": obj } */
	bool lists_dirty;              /* nodes_with_affinity/_req_anti need a rebuild */
	const struct kp_node_info **with_aff, **with_anti;
	uint32_t cap_lists;
	uint64_t generation;
	/* node change log for kp_snapshot_each_changed_node(): a ring of
	 * (generation, node name id), oldest overwritten first */
	struct kp__change { uint64_t gen; int32_t node; } *log;
	uint32_t log_cap, log_head, log_n;
	uint64_t log_floor;            /* changes at generations <= this may be lost */
	/* kp_snapshot_cols(): columns by node index, refreshed by
	 * kp__cache_snapshot() from the change log (all of them after the node
	 * order changed) */
	struct kp_node_cols cols;
	void *cols_block;              /* one allocation behind every column */
	uint32_t cols_cap;
	uint64_t cols_gen;             /* generation the columns reflect */
	bool cols_rebuild;             /* node order changed: refresh every node */
};

struct kp__ns {
	struct kp_labels labels;
	struct kp__arena arena;
};

void kp__cache_init(struct kp__cache *c);
void kp__cache_release(struct kp__cache *c);
/* Node add/update: takes ownership of n. Returns the KP_EV_* action bits of
 * what changed (for requeueing). */
uint32_t kp__cache_set_node(struct kp__cache *c, struct kp__node *n);
int kp__cache_delete_node(struct kp__cache *c, const char *name);
/* Adds an assigned pod (info.node_name set) or replaces the same uid
 * (confirming an assumed one). Takes ownership of p; returns the old pod
 * removed from the cache (caller frees) through *old. */
int kp__cache_add_pod(struct kp__cache *c, struct kp__pod *p, struct kp__pod **old);
/* Removes a pod by uid; returns it (caller frees) or NULL. */
struct kp__pod *kp__cache_remove_pod(struct kp__cache *c, const char *uid);
struct kp__pod *kp__cache_get_pod(struct kp__cache *c, const char *uid);
/* Assume: counts p on node (p stays owned by the queue side until confirmed). */
int kp__cache_assume(struct kp__cache *c, struct kp__pod *p, struct kp__node *node);
void kp__cache_forget(struct kp__cache *c, struct kp__pod *p);
/* Other kinds (Namespace too). obj borrowed; NULL to delete. */
void kp__cache_set_object(struct kp__cache *c, const char *kind, const char *ns,
			  const char *name, json_t *obj);
/* Brings snap up to date (lists of nodes with affinity pods). */
void kp__cache_snapshot(struct kp__cache *c);
/* Resolves a pod's priority from PriorityClass objects when spec.priority is absent. */
void kp__cache_resolve_priority(struct kp__cache *c, struct kp__pod *p);

/* ---- cycles for plugin unit tests (t/sched-*-lib.h): a real cycle state
 * (arena, release callbacks) in caller-provided storage, outside any
 * profile (kp_cycle_clone() needs a scheduler). Release runs the callbacks. */
int kp__cycle_init(struct kp_cycle *cy, const struct kp_snapshot *snap, uint32_t nslots);
void kp__cycle_release(struct kp_cycle *cy);

/* ---- queue */
struct kp__queue {
	struct kp__pod **heap;          /* active, ordered by less */
	uint32_t nheap, cap_heap;
	struct kp__pod **backoff;       /* ordered by backoff expiry */
	uint32_t nbackoff, cap_backoff;
	json_t *unsched;                /* uid -> pointer, unschedulable + gated pods */
	bool (*less)(void *self, const struct kp_queued_pod *a, const struct kp_queued_pod *b);
	void *less_self;
	int64_t initial_backoff_ns, max_backoff_ns, max_unsched_ns;
	uint64_t move_request_cycle;    /* cycle at which pods were last moved */
};
void kp__queue_init(struct kp__queue *q);
void kp__queue_release(struct kp__queue *q);
int kp__queue_add_active(struct kp__queue *q, struct kp__pod *p, int64_t now);
int kp__queue_add_backoff(struct kp__queue *q, struct kp__pod *p, int64_t now);
int kp__queue_add_unsched(struct kp__queue *q, struct kp__pod *p, int64_t now);
/* Removes p wherever it is queued. */
void kp__queue_remove(struct kp__queue *q, struct kp__pod *p);
/* Moves expired backoff pods to active and stale unschedulable pods (older
 * than max_unsched_ns) to backoff/active. */
void kp__queue_flush(struct kp__queue *q, int64_t now);
/* Pops the best active pod or NULL. */
struct kp__pod *kp__queue_pop(struct kp__queue *q);
/* Backoff expiry of p (timestamp + backoff for its attempts). */
int64_t kp__queue_backoff_until(const struct kp__queue *q, const struct kp__pod *p);
/* Moves unschedulable pods that the event may help (per their rejectors). */
void kp__queue_on_event(struct kp__queue *q, uint32_t resource, uint32_t actions, int64_t now,
			bool (*helps)(void *arg, const struct kp__pod *p, uint32_t res, uint32_t act),
			void *arg);
/* Earliest time a backoff pod becomes active, or INT64_MAX. */
int64_t kp__queue_next_backoff(const struct kp__queue *q);

/* ---- configuration */
enum kp__point {
	KP__PT_PRE_ENQUEUE,
	KP__PT_QUEUE_SORT,
	KP__PT_PRE_FILTER,
	KP__PT_FILTER,
	KP__PT_POST_FILTER,
	KP__PT_PRE_SCORE,
	KP__PT_SCORE,
	KP__PT_RESERVE,
	KP__PT_PERMIT,
	KP__PT_PRE_BIND,
	KP__PT_BIND,
	KP__PT_POST_BIND,
	KP__PT_MULTI,
	KP__NPOINTS
};
extern const char *const kp__point_names[KP__NPOINTS]; /* "preEnqueue", ..., "multiPoint" */

struct kp__cfg_plugin {
	char *name;
	int32_t weight;       /* 0 = unset */
	char *where;          /* config path for messages ("profiles[0].plugins.score.enabled[1]") */
};

struct kp__cfg_set {
	uint32_t nenabled, ndisabled;
	struct kp__cfg_plugin *enabled;
	struct kp__cfg_plugin *disabled;
};

struct kp__cfg_profile {
	char *scheduler_name;
	struct kp__cfg_set points[KP__NPOINTS]; /* merged with the defaults */
	json_t *plugin_config;  /* name -> args (own reference) */
	int32_t percentage;     /* -1 = unset (use global) */
	char *where;
};

struct kp_sched_config {
	int32_t parallelism;
	int32_t percentage;            /* percentageOfNodesToScore; 0 = adaptive */
	int64_t initial_backoff_s, max_backoff_s;
	uint32_t nprofiles;
	struct kp__cfg_profile *profiles;
	char **plugin_dirs;            /* NULL-terminated */
};

/* ---- registry */
struct kp__module {
	const struct kp_plugin *plugin;
	char *path;                    /* NULL for static */
	void *dl;
	dev_t dev;
	ino_t ino;
};

struct kp_registry {
	struct kp__module *mods;
	size_t n, cap;
	struct kp_registry_entry *entries;
	char **refused_path, **refused_reason;
	size_t nrefused;
};

/* ---- profile (framework) */
struct kp_sched_handle {
	struct kp_scheduler *sched;
	struct kp__profile *profile;
	struct kp__inst *inst;
};

/* One plugin instance in a profile. */
struct kp__inst {
	const struct kp_plugin *plugin;
	struct kp_sched_ops ops;       /* copied up to the module's size, rest NULL */
	void *self;
	void *args;                    /* filled args struct (spec) */
	json_t *args_json;             /* resolved args JSON (own ref) */
	struct kp_sched_handle handle;
	int slot;                      /* index in profile->insts = cycle slot = rejector bit */
	uint32_t nevents;
	struct kp_cluster_event events[32];
	bool inited;
};

struct kp__pt_entry {
	struct kp__inst *inst;
	int32_t weight;                /* score only */
};

struct kp__profile {
	char *name;
	int32_t name_id;
	struct kp_scheduler *sched;
	struct kp__inst *insts;
	uint32_t ninsts;
	struct kp__pt_entry *pt[KP__NPOINTS - 1];
	uint32_t npt[KP__NPOINTS - 1];
	int32_t percentage;            /* -1: global */
	/* durations: per extension point, and per plugin instance and point
	 * (sampled: one attempt in 10, as kube samples plugin metrics) */
	struct kp__hist *pt_hist;      /* [KP__NPOINTS - 1] */
	struct kp__hist *plugin_hist;  /* [ninsts * (KP__NPOINTS - 1)] */
};

/* A Prometheus histogram of durations, updated lock-free from any thread:
 * buckets 0.1 ms * 2^i (kube's ExponentialBuckets(0.0001, 2, 12)). */
#define KP__HIST_BUCKETS 12
struct kp__hist {
	_Atomic uint64_t count, sum_ns;
	_Atomic uint64_t bucket[KP__HIST_BUCKETS]; /* not cumulative */
};

int kp__profile_build(struct kp_scheduler *s, const struct kp__cfg_profile *cp,
		      struct kp_registry *reg, bool allow_missing, struct kp__profile *out,
		      char **errmsg);
void kp__profile_release(struct kp__profile *p);

/* Fills a plugin's args struct from JSON per its spec. */
int kp__args_fill(const struct kp_plugin *pl, const json_t *args, const char *where,
		  void **out, json_t **resolved, char **errmsg);
void kp__args_free(const struct kp_plugin *pl, void *args);

/* Logs through the host. */
void kp__log(struct kp_scheduler *s, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Default plugins of kube-scheduler's v1 config, in order, with weights. */
struct kp__default_plugin {
	const char *name;
	int32_t weight;
};
extern const struct kp__default_plugin kp__default_plugins[];

#endif

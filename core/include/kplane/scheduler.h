/*
 * scheduler.h - running the scheduler: the plugin registry (static table and
 * dlopen loader), configuration (KubeSchedulerConfiguration), and the
 * scheduler object that programs embed (kplane server, sched-bench).
 *
 * Plugins do not need this header; they use <kplane/plugin.h>.
 */
#ifndef KPLANE_SCHEDULER_H
#define KPLANE_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include <kplane/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Registry and loader                                                */
/* ------------------------------------------------------------------ */

struct kp_registry;

/* An empty registry; free with kp_registry_free() after every scheduler
 * built from it is freed (it dlcloses the modules). */
int kp_registry_new(struct kp_registry **out);
void kp_registry_free(struct kp_registry *r);

/*
 * Adds a descriptor linked into the program (borrowed; static data). Checks
 * ABI version and layout like the loader. KP_EEXIST for a duplicate name.
 */
int kp_registry_add_static(struct kp_registry *r, const struct kp_plugin *p, char **errmsg);
/* Adds every descriptor of a NULL-terminated table; stops at the first error. */
int kp_registry_add_table(struct kp_registry *r, const struct kp_plugin *const *table,
			  char **errmsg);

/*
 * Loads one module file: dlopen(RTLD_NOW|RTLD_LOCAL), dlsym("kp_plugin"),
 * checks ABI version, layout, kind and name before anything else. Loading
 * the same file again is a no-op (0). On refusal the module is closed, the
 * reason recorded (kp_registry_refused) and returned in *errmsg, naming the
 * file and the fix. Codes: KP_EABI, KP_EEXIST (duplicate name), KP_EINVAL.
 */
int kp_registry_load_file(struct kp_registry *r, const char *path, char **errmsg);
/*
 * Loads every regular file whose name ends in ".so" in dir (sorted by name),
 * continuing past refused modules (recorded as above). A missing directory
 * is KP_ENOENT when required, else skipped.
 */
int kp_registry_load_dir(struct kp_registry *r, const char *dir, bool required, char **errmsg);
/*
 * Scans the plugin path in order: dirs (config pluginDirs, NULL-terminated,
 * may be NULL; each required), then $KPLANE_PLUGIN_PATH (colon-separated),
 * then the installed default KP_PLUGIN_DIR when use_default.
 */
int kp_registry_load_path(struct kp_registry *r, const char *const *dirs, bool use_default,
			  char **errmsg);

/* One registered plugin. */
struct kp_registry_entry {
	const struct kp_plugin *plugin; /* borrowed from the module */
	const char *path;               /* module file, NULL for static ones */
};
size_t kp_registry_count(const struct kp_registry *r);
const struct kp_registry_entry *kp_registry_get(const struct kp_registry *r, size_t i);
/* By config name; NULL when not registered. */
const struct kp_plugin *kp_registry_find(const struct kp_registry *r, const char *name);
/* Refused modules: path and reason (borrowed from the registry). */
size_t kp_registry_nrefused(const struct kp_registry *r);
void kp_registry_refused(const struct kp_registry *r, size_t i, const char **path,
			 const char **reason);

/* ------------------------------------------------------------------ */
/* Configuration                                                      */
/* ------------------------------------------------------------------ */

struct kp_sched_config;

/*
 * Parses a KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1) JSON
 * value (borrowed; NULL = all defaults), applies kube-scheduler's defaults
 * and merge rules. Plugin names are not checked here (the registry may not
 * be loaded yet): kp_scheduler_new() does. Errors name the field
 * ("profiles[0].plugins.score.enabled[1].weight: must be >= 0").
 */
int kp_sched_config_parse(const json_t *cfg, struct kp_sched_config **out, char **errmsg);
/* Reads a YAML or JSON file and parses it as above. */
int kp_sched_config_load(const char *path, struct kp_sched_config **out, char **errmsg);
void kp_sched_config_free(struct kp_sched_config *c);
/* Config pluginDirs, NULL-terminated (borrowed from c). */
const char *const *kp_sched_config_plugin_dirs(const struct kp_sched_config *c);
/*
 * The effective configuration as JSON (new reference): profiles with the
 * merged plugin list of every extension point, weights and args. For
 * `kplane plugins --config` and tests.
 */
json_t *kp_sched_config_dump(const struct kp_sched_config *c);

/* ------------------------------------------------------------------ */
/* The scheduler                                                      */
/* ------------------------------------------------------------------ */

/*
 * What the embedding program provides. Every callback is optional except
 * bind when a profile uses DefaultBinder; all may run on any scheduler
 * thread, bind/update/event concurrently from several binding workers
 * (kp_scheduler_options.bind_workers). Objects are borrowed for the call.
 */
struct kp_sched_host {
	void *arg;
	/* Sets pod's node (in-process: spec.nodeName in the store; remote: pods/binding). */
	int (*bind)(void *arg, const json_t *pod, const char *node, char **errmsg);
	/* Writes an updated object (VolumeBinding, preemption's nominatedNodeName). */
	int (*update)(void *arg, const json_t *obj, char **errmsg);
	/* Deletes a pod (preemption victims). */
	int (*delete_pod)(void *arg, const json_t *pod, const char *reason, char **errmsg);
	/* The pod could not be scheduled: PodScheduled=False with reason
	 * ("Unschedulable", "SchedulerError") and kube-scheduler's message. */
	void (*unschedulable)(void *arg, const json_t *pod, const char *reason,
			      const char *message);
	/* An event (type "Normal"/"Warning", reason "Scheduled"/"FailedScheduling"...). */
	void (*event)(void *arg, const json_t *regarding, const char *type, const char *reason,
		      const char *message);
	/* A log line (no trailing newline); default: stderr for WARN and worse. */
	void (*log)(void *arg, int level, const char *line);
};

struct kp_scheduler_options {
	uint64_t seed;          /* tie-breaking RNG seed (0: a fixed default) */
	bool inline_bind;       /* bind on the scheduling thread (simulate, tests) */
	bool allow_missing;     /* drop plugins the registry lacks from profiles
				   (with a warning) instead of failing */
	/* Clock for queue timestamps and backoff, ns; NULL = CLOCK_MONOTONIC. */
	int64_t (*now_ns)(void *arg);
	void *now_arg;
	/* Binding workers (without inline_bind): pods are bound concurrently,
	 * as kube-scheduler binds each in its own goroutine, so a host whose
	 * bind waits for a synced write gets many in one group commit.
	 * 0 = 16. The host's bind/update/event callbacks must then be
	 * thread-safe. */
	int bind_workers;
};

struct kp_scheduler;

/*
 * Builds a scheduler: instantiates every profile's plugins from the
 * registry (borrowed; must outlive the scheduler) and config (borrowed
 * during the call). Fails when a profile names a plugin that is not loaded
 * (listing refused modules that might be it), with bad args, or when init
 * fails. host is copied; opts may be NULL.
 */
int kp_scheduler_new(const struct kp_sched_config *cfg, struct kp_registry *reg,
		     const struct kp_sched_host *host, const struct kp_scheduler_options *opts,
		     struct kp_scheduler **out, char **errmsg);
/* Stops threads, finishes in-flight bindings, calls every plugin's fini. */
void kp_scheduler_free(struct kp_scheduler *s);

enum kp_sched_change {
	KP_SCHED_ADDED = 1,
	KP_SCHED_MODIFIED = 2,
	KP_SCHED_DELETED = 3,
};

/*
 * Feeds an informer event: Node, Pod, Namespace, PersistentVolume(Claim),
 * StorageClass, CSINode, PriorityClass, PodDisruptionBudget; other kinds are
 * ignored. obj is borrowed (the scheduler keeps its own reference). Safe
 * from any thread: the change is compiled here and applied by the
 * scheduling thread before its next attempt. KP_EINVAL (with the field)
 * when the object cannot be understood.
 */
int kp_scheduler_apply(struct kp_scheduler *s, int change, json_t *obj, char **errmsg);

/*
 * One scheduling attempt for the next pod of the active queue, on the
 * calling thread (not with kp_scheduler_start()). Waits up to timeout_ms
 * (0: do not wait) for a pod; KP_ETIMEDOUT when none came. With trace, *trace
 * gets a new JSON object describing the attempt in `sched-bench simulate`'s
 * shape: {"namespace","name","node","message","feasible","filtered","scores"}.
 */
int kp_scheduler_schedule_one(struct kp_scheduler *s, int timeout_ms, json_t **trace);

/* Runs the scheduling loop on its own thread until kp_scheduler_stop(). */
int kp_scheduler_start(struct kp_scheduler *s);
void kp_scheduler_stop(struct kp_scheduler *s);
/* Waits until every pending binding finished (for tests and benchmarks). */
void kp_scheduler_wait_bindings(struct kp_scheduler *s);

/* Counters (monotonic). */
struct kp_scheduler_stats {
	uint64_t attempts, scheduled, unschedulable, errors, bind_failures;
	uint64_t active, backoff, unschedulable_pods; /* queue lengths now */
	uint64_t nodes, pods;                          /* in the cache now */
};
void kp_scheduler_stats(struct kp_scheduler *s, struct kp_scheduler_stats *out);
/* Prometheus text of the scheduler and plugin counters (caller frees). */
char *kp_scheduler_metrics_text(struct kp_scheduler *s);

#ifdef __cplusplus
}
#endif

#endif

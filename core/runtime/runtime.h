/*
 * runtime.h - components that run next to the API server inside `kplane
 * server`: informers over the store, and the scheduler wired to them.
 *
 * Components learn about change the way Kubernetes components do, by list +
 * watch, but in-process they list and watch the store directly (no HTTP, no
 * second JSON encoding). Writes a component makes (binding a pod, a
 * PodScheduled condition, an Event) are compare-and-swap updates of the
 * stored object, retried on conflict, so they interleave safely with API
 * writes. Store values are compact JSON without metadata.resourceVersion; the
 * informer fills it in from the key's mod_rev, as the API server does.
 */
#ifndef KPLANE_RUNTIME_H
#define KPLANE_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

struct kp_store;
struct kp_informer;

enum kp_informer_change {
	KP_INFORMER_ADDED = 1,
	KP_INFORMER_MODIFIED = 2,
	KP_INFORMER_DELETED = 3,
};

/*
 * Called on the informer's thread for each change, in revision order. obj is
 * borrowed for the call (json_incref it to keep it); for DELETED it is the
 * last known state.
 */
typedef void (*kp_informer_fn)(void *arg, int change, json_t *obj);

/*
 * Starts an informer on every key under prefix (e.g. "/registry/core/pods/"):
 * it lists at one revision (ADDED for each object), then watches from that
 * revision. When the watch expires (compaction) it relists and reports the
 * difference, so the consumer never misses a deletion. st and arg are
 * borrowed and must outlive the informer.
 */
int kp_informer_start(struct kp_store *st, const char *prefix, kp_informer_fn fn, void *arg,
		      struct kp_informer **out, char **errmsg);
/* True once the first list has been delivered. */
bool kp_informer_synced(struct kp_informer *inf);
/* Stops the thread and frees the informer (no callback runs after it returns). */
void kp_informer_stop(struct kp_informer *inf);

/*
 * Compare-and-swap edit of a stored object: reads key, calls edit(obj, arg)
 * on a private copy (obj is borrowed; edit returns 0 to write, 1 for
 * "nothing to change", or a negative KP_E* with *errmsg to give up), writes it
 * back conditional on the revision read, and retries on KP_ECONFLICT.
 */
int kp_store_edit_json(struct kp_store *st, const char *key,
		       int (*edit)(json_t *obj, void *arg, char **errmsg), void *arg,
		       char **errmsg);

/*
 * Event recorder: components report what they did as core/v1 Events
 * (`kpctl describe` and `kpctl events` show them). Recording never blocks the
 * caller on the store: events queue for one writer thread, and past a bound
 * they are dropped, as Kubernetes' event broadcaster does under load.
 */
struct kp_recorder;

/* component is the source ("default-scheduler", "replicaset-controller"); copied. */
int kp_recorder_start(struct kp_store *st, const char *component, struct kp_recorder **out,
		      char **errmsg);
/*
 * Queues an Event about `regarding` (borrowed: its apiVersion, kind,
 * namespace, name and uid are copied). type is "Normal" or "Warning";
 * component (NULL: the recorder's) names the source. As Kubernetes' event
 * correlator does, the same event about the same object within 10 minutes
 * raises the count and lastTimestamp of the first Event instead of creating
 * another one.
 */
void kp_recorder_event(struct kp_recorder *r, const char *component, const json_t *regarding,
		       const char *type, const char *reason, const char *message);
/* Events dropped because the queue was full. */
uint64_t kp_recorder_dropped(struct kp_recorder *r);
/* Writes what is queued, then stops the writer and frees r. NULL is a no-op. */
void kp_recorder_stop(struct kp_recorder *r);

struct kp_sched_config;
struct kp_registry;
struct kp_sched_runner;

/*
 * Runs the scheduler over the store: informers for the kinds the scheduler
 * caches, a host that binds pods (spec.nodeName plus the PodScheduled
 * condition), records PodScheduled=False for unschedulable pods and writes
 * Events. cfg and reg are borrowed and must outlive the runner. seed 0 picks a
 * fixed default (tie-breaking stays reproducible).
 */
int kp_sched_runner_start(struct kp_store *st, const struct kp_sched_config *cfg,
			  struct kp_registry *reg, uint64_t seed, struct kp_sched_runner **out,
			  char **errmsg);
/* Stops informers and the scheduling loop, finishes bindings, frees. */
void kp_sched_runner_stop(struct kp_sched_runner *r);
/* The scheduler's metrics in Prometheus text (kp_scheduler_metrics_text);
 * malloc'ed, caller frees; NULL when out of memory. */
char *kp_sched_runner_metrics(struct kp_sched_runner *r);

/*
 * Leader election over a coordination.k8s.io/v1 Lease in the store, with
 * client-go's rules (core/runtime/leader.c): a candidate takes the lease
 * when it is free or its record has not changed for lease_duration by the
 * candidate's own clock; the leader renews every retry_period and has lost
 * when it could not renew for renew_deadline. Durations in seconds; 0 takes
 * kube-scheduler's defaults 15, 10, 2.
 */
struct kp_leader;
struct kp_leader_options {
	const char *lease_namespace; /* NULL: "kube-system"; borrowed (copied) */
	const char *lease_name;      /* "kube-scheduler"; borrowed (copied) */
	const char *identity;        /* holderIdentity (hostname_uuid); borrowed (copied) */
	double lease_duration, renew_deadline, retry_period;
};
/*
 * Starts campaigning on a thread. KP_EINVAL with a message for options
 * client-go refuses (lease_duration <= renew_deadline, renew_deadline <=
 * 1.2 x retry_period). st is borrowed and must outlive the elector.
 */
int kp_leader_start(struct kp_store *st, const struct kp_leader_options *o,
		    struct kp_leader **out, char **errmsg);
/* The option checks of kp_leader_start alone (identity not needed). */
int kp_leader_check(const struct kp_leader_options *o, char **errmsg);
/*
 * Waits up to timeout_ms for this process to lead; returns whether it
 * leads. *lost (may be NULL) is set once leadership was held and lost (the
 * elector then stops campaigning: the caller must stop acting).
 */
bool kp_leader_wait(struct kp_leader *le, int timeout_ms, bool *lost);
bool kp_leader_leading(struct kp_leader *le);
/* holderIdentity last seen in the Lease ("" when free); caller frees. */
char *kp_leader_holder(struct kp_leader *le);
const char *kp_leader_identity(const struct kp_leader *le); /* borrowed */
/* Stops campaigning; with release_lease a leader hands the lease back. Frees. */
void kp_leader_stop(struct kp_leader *le, bool release_lease);

#endif

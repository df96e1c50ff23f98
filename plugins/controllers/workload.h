/*
 * workload.h - logic shared by the workload controllers (replicaset,
 * deployment, daemonset, statefulset, job, node-sim), kept free of I/O so
 * that t/t4002 and t/t4122 test it directly. Compiled into each module that uses it (and into the static
 * table), never exported from a module.
 */
#ifndef KPLANE_PLUGINS_CONTROLLERS_WORKLOAD_H
#define KPLANE_PLUGINS_CONTROLLERS_WORKLOAD_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

/* ---- pods (borrowed JSON everywhere) ---- */

/* Not Succeeded/Failed and not being deleted (kube's IsPodActive). */
bool kp__pod_active(const json_t *pod);
/* The Ready condition is True. */
bool kp__pod_ready(const json_t *pod);
/* Unix seconds of the Ready=True transition, 0 when not ready or unknown. */
int64_t kp__pod_ready_since(const json_t *pod);
/* Ready for at least min_ready seconds at `now` (kube's IsPodAvailable). */
bool kp__pod_available(const json_t *pod, int64_t min_ready, int64_t now);

/*
 * Sorts pods (a JSON array, modified in place) in the order a ReplicaSet
 * deletes surplus pods (kube's ActivePodsWithRanks): unassigned before
 * assigned; Pending before Unknown before Running; not ready before ready;
 * lower controller.kubernetes.io/pod-deletion-cost first; more pods of the
 * array on the same node first; ready for less time first; more container
 * restarts first; newer first.
 */
void kp__pods_sort_for_deletion(json_t *pods);

/* ---- int-or-percent (intstr.IntOrString) ---- */

/*
 * Resolves an IntOrString against total: an integer as is, "N%" as N% of
 * total rounded up or down. 0 or KP_EINVAL (*errmsg names `field`) for a
 * string that is not a percentage or a negative value. v NULL gives def.
 */
int kp__int_or_percent(const json_t *v, int64_t def, int64_t total, bool round_up,
		       const char *field, int64_t *out, char **errmsg);

/*
 * kube's ResolveFenceposts: maxSurge rounds up, maxUnavailable down; when
 * both come out 0, maxUnavailable becomes 1 so a rollout can progress.
 */
int kp__resolve_fenceposts(const json_t *max_surge, const json_t *max_unavailable,
			   int64_t replicas, int64_t *surge, int64_t *unavailable, char **errmsg);

/* ---- rolling update arithmetic ---- */

/* One ReplicaSet as the deployment planner sees it. */
struct kp__rs_count {
	int64_t spec;      /* spec.replicas (the planner updates it) */
	int64_t available; /* status.availableReplicas */
};

/*
 * Replicas the new ReplicaSet should have (kube's NewRSNewReplicas for
 * RollingUpdate): grow it so that the sum of every ReplicaSet's spec stays
 * within replicas + surge and the new one never exceeds replicas. total is
 * the sum of spec.replicas over all ReplicaSets, new_spec the new one's.
 */
int64_t kp__new_rs_replicas(int64_t replicas, int64_t surge, int64_t total, int64_t new_spec);

/*
 * Scales old ReplicaSets down (kube's reconcileOldReplicaSets): old[] is
 * sorted oldest first; first unhealthy replicas are removed, then
 * available ones while more than replicas - unavailable stay available.
 * Updates old[i].spec; returns the number of replicas scaled down.
 */
int64_t kp__scale_down_old(struct kp__rs_count *old, size_t nold, const struct kp__rs_count *newrs,
			   int64_t replicas, int64_t unavailable);

/* One active ReplicaSet for proportional scaling. */
struct kp__rs_prop {
	int64_t spec;    /* spec.replicas (> 0) */
	int64_t max_ann; /* deployment.kubernetes.io/max-replicas, -1 when absent */
	int64_t created; /* creation time, for ties */
	bool is_new;     /* the deployment's new ReplicaSet */
	int64_t target;  /* out: the replicas it should have */
};

/*
 * Splits a change of the deployment's replica count over its active
 * ReplicaSets in proportion to their sizes (kube's scale() with
 * GetProportion/getReplicaSetFraction): the total may reach replicas +
 * surge; larger ReplicaSets first (newer first when adding, older first
 * when removing); each gets round(spec * allowed / max-replicas) - spec
 * (status_replicas stands in for a missing annotation), within what is left
 * to distribute; the remainder goes to the new ReplicaSet, else the first.
 */
void kp__proportional_scale(struct kp__rs_prop *rs, size_t n, int64_t replicas, int64_t surge,
			    int64_t status_replicas);

/*
 * pod-template-hash of a pod template (borrowed) and a collision count:
 * FNV-1a 32 over the template's canonical JSON, the count appended,
 * written with Kubernetes' SafeEncodeString alphabet into out (16 bytes).
 */
void kp__template_hash(const json_t *tmpl, int64_t collision_count, char out[16]);

/* ---- ControllerRevision history (daemonset, statefulset) ---- */

/*
 * Plans an owner's ControllerRevisions as kube's history code does. revs
 * (borrowed) holds the owner's revisions; cur names the one of the current
 * template (it may be missing from revs); live (borrowed object, keys =
 * revision names still in use by pods) protects revisions from pruning.
 * *revision gets the number cur must carry: its own when it already is the
 * highest, else one more than the highest other (a rollback to an old
 * template makes that revision the newest). Names to delete are appended to
 * prune (borrowed array): revisions other than cur and not live, lowest
 * revision first, as many as exceed limit. With live_counts, live revisions
 * count towards limit (kube's DaemonSet cleanupHistory); without, only the
 * others do (the StatefulSet's truncateHistory).
 */
void kp__history_plan(const json_t *revs, const char *cur, const json_t *live, int64_t limit,
		      bool live_counts, int64_t *revision, json_t *prune);

#endif

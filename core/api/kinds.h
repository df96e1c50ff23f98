/*
 * kinds.h - per-kind knowledge of the built-in resources: field types
 * (what a typed Go decoder would reject), defaulting and validation, as
 * Kubernetes does them for the fields kplane uses.
 */
#ifndef KPLANE_API_KINDS_H
#define KPLANE_API_KINDS_H

#include <jansson.h>

#include "core/api/internal.h"

struct kp_errlist;

/*
 * Checks JSON types of known fields of obj (borrowed). Returns 0, or
 * KP_EINVAL with *errmsg like "spec.replicas: expected an integer, got a
 * string" (caller frees).
 */
int kp__kinds_typecheck(const struct kp_resource *res, const json_t *obj, char **errmsg);

/*
 * Fills defaults into obj in place (restartPolicy, schedulerName, QoS
 * class, replicas, strategy, ...). st (may be NULL: skip lookups) is used to
 * resolve spec.priorityClassName; when the class does not exist the
 * function returns KP_ENOENT with *errmsg naming it (the caller answers 403
 * Forbidden as the Priority admission plugin does).
 */
int kp__kinds_default(const struct kp_resource *res, json_t *obj, struct kp_store *st,
		      char **errmsg);

/* Appends kind-specific validation errors of obj (old is NULL on create). */
void kp__kinds_validate(const struct kp_resource *res, const json_t *obj, const json_t *old,
			struct kp_errlist *errs);

/*
 * Puts the times of obj's status (borrowed, changed in place) in UTC as
 * Kubernetes marshals a metav1.Time ("2024-01-02T01:04:05Z"): conditions'
 * last*Time, startTime, completionTime, lastScheduleTime,
 * lastSuccessfulTime, lastScaleTime and container states' startedAt and
 * finishedAt. Values that do not parse stay as they are.
 */
void kp__kinds_norm_status_times(json_t *obj);

/*
 * HorizontalPodAutoscaler between autoscaling/v2 (stored) and autoscaling/v1,
 * in place on obj (borrowed). v1 keeps the CPU utilization target and the
 * current CPU utilization; the v2 fields it cannot express (other metrics,
 * behavior, conditions) travel in metadata.annotations so that a v1 read,
 * write back and v2 read loses nothing.
 */
void kp__hpa_to_v1(json_t *obj);
void kp__hpa_to_v2(json_t *obj);

#endif

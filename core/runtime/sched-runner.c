/*
 * sched-runner.c - the scheduler inside `kplane server`: informers feed the
 * scheduler's cache, and its host callbacks write bindings, conditions and
 * Events back to the store. See runtime.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/error.h>
#include <kplane/object.h>
#include <kplane/scheduler.h>

#include "core/runtime/runtime.h"
#include "store/store.h"

/*
 * What the scheduler caches, by store prefix (the API server's key scheme,
 * docs/api.md). Kinds the scheduler does not know are ignored by it.
 */
static const char *const watched[] = {
	"/registry/core/nodes/",
	"/registry/core/namespaces/",
	"/registry/core/persistentvolumes/",
	"/registry/core/persistentvolumeclaims/",
	"/registry/storage.k8s.io/storageclasses/",
	"/registry/scheduling.k8s.io/priorityclasses/",
	"/registry/policy/poddisruptionbudgets/",
	"/registry/core/services/",
	"/registry/core/replicationcontrollers/",
	"/registry/apps/replicasets/",
	"/registry/apps/statefulsets/",
	/* Pods last: nodes are known by the time the first pods are queued. */
	"/registry/core/pods/",
};
#define NWATCHED (sizeof(watched) / sizeof(watched[0]))

struct kp_sched_runner {
	struct kp_store *st;
	struct kp_scheduler *sched;
	struct kp_informer *inf[NWATCHED];
	struct kp_recorder *events;
};

static void pod_key(char *buf, size_t n, const json_t *pod)
{
	const char *ns = kp_obj_namespace(pod);
	snprintf(buf, n, "/registry/core/pods/%s/%s", ns ? ns : "default",
		 kp_obj_name(pod) ? kp_obj_name(pod) : "");
}

/* The object in the store is the same pod the scheduler saw (not a namesake). */
static bool same_pod(const json_t *stored, const json_t *seen)
{
	const char *a = kp_obj_uid(stored), *b = kp_obj_uid(seen);
	return !a || !b || !strcmp(a, b);
}

struct bind_edit {
	const json_t *pod;
	const char *node;
};

static int bind_edit(json_t *obj, void *arg, char **errmsg)
{
	struct bind_edit *be = arg;
	if (!same_pod(obj, be->pod))
		return kp_error_set(errmsg, KP_ENOENT, "pod was deleted and recreated");
	if (kp_obj_get(obj, "metadata.deletionTimestamp"))
		return kp_error_set(errmsg, KP_ENOENT, "pod is being deleted");
	const char *cur = kp_obj_str(obj, "spec.nodeName");
	if (cur && *cur)
		return kp_error_set(errmsg, KP_ECONFLICT, "pod is already assigned to node \"%s\"",
				    cur);
	kp_obj_set_str(obj, "spec.nodeName", be->node);
	kp_obj_set_condition(obj, kp_condition_new("PodScheduled", "True", NULL, NULL));
	return 0;
}

/*
 * Returns 0 when bound, negative with *errmsg when refused, 1 when the pod
 * must be bound from the stored object instead.
 *
 * The scheduler's pod is the informer's copy, which carries the revision it
 * was stored at: the binding is written as a compare-and-swap on that
 * revision, without reading and decoding the pod again (that read was a
 * third of a binding's cost). What bind_edit refuses on that copy it would
 * refuse on any later one (deletionTimestamp and nodeName are never
 * cleared); when the pod changed since, the swap fails and the binding is
 * redone on the stored object.
 */
/*
 * A copy of the informer's pod that bind_edit and the resourceVersion
 * removal may change: new objects down the paths they write (metadata, spec,
 * status, status.conditions), every other member shared with the informer's
 * copy, which nobody writes. A deep copy cost every binding an allocation
 * per node of the pod, its managedFields included. New reference or NULL.
 */
static json_t *bind_copy(const json_t *pod)
{
	json_t *obj = json_copy((json_t *)pod);
	if (!obj)
		return NULL;
	static const char *const members[] = { "metadata", "spec", "status" };
	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
		json_t *m = json_object_get(obj, members[i]), *c;
		if (!json_is_object(m))
			continue;
		if (!(c = json_copy(m)) || json_object_set_new(obj, members[i], c)) {
			json_decref(obj);
			return NULL;
		}
		json_t *conds = json_object_get(c, "conditions");
		if (i == 2 && json_is_array(conds)) {
			json_t *cc = json_copy(conds);
			if (!cc || json_object_set_new(c, "conditions", cc)) {
				json_decref(obj);
				return NULL;
			}
		}
	}
	return obj;
}

static int bind_at(struct kp_sched_runner *r, const char *key, struct bind_edit *be,
		   char **errmsg)
{
	uint64_t rv = kp_obj_resource_version(be->pod);
	if (!rv)
		return 1;
	json_t *obj = bind_copy(be->pod);
	if (!obj)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	int rc = bind_edit(obj, be, errmsg);
	if (rc < 0) {
		json_decref(obj);
		return rc;
	}
	kp_obj_del(obj, "metadata.resourceVersion");
	char *s = kp_json_dumps(obj, NULL);
	json_decref(obj);
	if (!s)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	rc = kp_store_update(r->st, key, s, strlen(s), rv, NULL);
	free(s);
	if (rc == KP_ECONFLICT || rc == KP_ENOENT)
		return 1;
	if (rc < 0)
		return kp_error_set(errmsg, rc, "%s: %s", key, kp_strerror(rc));
	return 0;
}

static int host_bind(void *arg, const json_t *pod, const char *node, char **errmsg)
{
	struct kp_sched_runner *r = arg;
	char key[1024];
	struct bind_edit be = { pod, node };
	pod_key(key, sizeof(key), pod);
	int rc = bind_at(r, key, &be, errmsg);
	if (rc <= 0)
		return rc;
	/* Changed (or gone) since the scheduler saw it: decide on what is stored. */
	return kp_store_edit_json(r->st, key, bind_edit, &be, errmsg);
}

struct unsched_edit {
	const json_t *pod;
	const char *reason, *message;
};

static int unsched_edit(json_t *obj, void *arg, char **errmsg)
{
	struct unsched_edit *ue = arg;
	if (!same_pod(obj, ue->pod))
		return 1;
	const char *node = kp_obj_str(obj, "spec.nodeName");
	if (node && *node)
		return 1; /* bound meanwhile: nothing to report */
	/* Retries keep failing the same way: an identical condition is not rewritten. */
	if (kp_obj_set_condition(obj, kp_condition_new("PodScheduled", "False", ue->reason,
							ue->message)) != 0)
		return 1;
	if (!kp_obj_str(obj, "status.phase"))
		kp_obj_set_str(obj, "status.phase", "Pending");
	return 0;
}

static void host_unschedulable(void *arg, const json_t *pod, const char *reason,
			       const char *message)
{
	struct kp_sched_runner *r = arg;
	char key[1024];
	char *err = NULL;
	struct unsched_edit ue = { pod, reason, message ? message : "" };
	pod_key(key, sizeof(key), pod);
	if (kp_store_edit_json(r->st, key, unsched_edit, &ue, &err) < 0 && err)
		fprintf(stderr, "kplane: scheduler: %s: %s\n", key, err);
	free(err);
}

/* Store prefix for the kinds plugins may update; NULL for others. */
static const char *kind_prefix(const char *kind)
{
	if (!kind)
		return NULL;
	if (!strcmp(kind, "Pod"))
		return "/registry/core/pods/";
	if (!strcmp(kind, "PersistentVolumeClaim"))
		return "/registry/core/persistentvolumeclaims/";
	if (!strcmp(kind, "PersistentVolume"))
		return "/registry/core/persistentvolumes/";
	return NULL;
}

/*
 * What the scheduler writes on a pod is its own part of the status: the
 * conditions it sets (PodScheduled, DisruptionTarget on preemption victims)
 * and status.nominatedNodeName. The pod object a plugin holds may predate the
 * scheduler's own binding write, so pods are updated by applying those fields
 * to the stored object rather than by compare-and-swap on a stale revision.
 */
static int pod_status_edit(json_t *cur, void *arg, char **errmsg)
{
	const json_t *want = arg;
	bool changed = false;
	if (!same_pod(cur, want))
		return kp_error_set(errmsg, KP_ENOENT, "pod was deleted and recreated");
	size_t i;
	json_t *c;
	json_array_foreach(kp_obj_get(want, "status.conditions"), i, c) {
		if (json_is_object(c) && kp_obj_set_condition(cur, json_deep_copy(c)) == 0)
			changed = true;
	}
	const char *nn = kp_obj_str(want, "status.nominatedNodeName");
	const char *cn = kp_obj_str(cur, "status.nominatedNodeName");
	if (nn && *nn && (!cn || strcmp(cn, nn))) {
		kp_obj_set_str(cur, "status.nominatedNodeName", nn);
		changed = true;
	} else if ((!nn || !*nn) && cn) {
		kp_obj_del(cur, "status.nominatedNodeName");
		changed = true;
	}
	return changed ? 0 : 1;
}

static int host_update(void *arg, const json_t *obj, char **errmsg)
{
	struct kp_sched_runner *r = arg;
	if (kp_obj_kind(obj) && !strcmp(kp_obj_kind(obj), "Pod")) {
		char key[1024];
		pod_key(key, sizeof(key), obj);
		return kp_store_edit_json(r->st, key, pod_status_edit, (void *)obj, errmsg);
	}
	const char *prefix = kind_prefix(kp_obj_kind(obj));
	const char *name = kp_obj_name(obj), *ns = kp_obj_namespace(obj);
	if (!prefix || !name)
		return kp_error_set(errmsg, KP_ENOTSUP, "scheduler cannot update a %s",
				    kp_obj_kind(obj) ? kp_obj_kind(obj) : "kindless object");
	char key[1024];
	if (!strcmp(kp_obj_kind(obj), "PersistentVolume"))
		snprintf(key, sizeof(key), "%s%s", prefix, name);
	else
		snprintf(key, sizeof(key), "%s%s/%s", prefix, ns ? ns : "default", name);
	json_t *copy = json_deep_copy(obj);
	uint64_t rv = kp_obj_resource_version(copy);
	kp_obj_del(copy, "metadata.resourceVersion");
	char *s = kp_json_dumps(copy, NULL);
	json_decref(copy);
	if (!s)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	int rc = kp_store_update(r->st, key, s, strlen(s), rv, NULL);
	free(s);
	if (rc < 0)
		return kp_error_set(errmsg, rc, "%s: %s", key, kp_strerror(rc));
	return 0;
}

static int host_delete_pod(void *arg, const json_t *pod, const char *reason, char **errmsg)
{
	struct kp_sched_runner *r = arg;
	char key[1024];
	pod_key(key, sizeof(key), pod);
	int rc = kp_store_delete(r->st, key, 0, NULL, NULL);
	if (rc < 0 && rc != KP_ENOENT)
		return kp_error_set(errmsg, rc, "%s: %s", key, kp_strerror(rc));
	return 0;
}

static void host_event(void *arg, const json_t *regarding, const char *type, const char *reason,
		       const char *message)
{
	struct kp_sched_runner *r = arg;
	kp_recorder_event(r->events, NULL, regarding, type, reason, message);
}

static void on_change(void *arg, int change, json_t *obj)
{
	struct kp_sched_runner *r = arg;
	char *err = NULL;
	/* KP_INFORMER_* and KP_SCHED_* share their values. */
	if (kp_scheduler_apply(r->sched, change, obj, &err) < 0) {
		fprintf(stderr, "kplane: scheduler: ignoring %s %s/%s: %s\n",
			kp_obj_kind(obj) ? kp_obj_kind(obj) : "object",
			kp_obj_namespace(obj) ? kp_obj_namespace(obj) : "",
			kp_obj_name(obj) ? kp_obj_name(obj) : "?", err ? err : "invalid");
	}
	free(err);
}

int kp_sched_runner_start(struct kp_store *st, const struct kp_sched_config *cfg,
			  struct kp_registry *reg, uint64_t seed, struct kp_sched_runner **out,
			  char **errmsg)
{
	_Static_assert((int)KP_INFORMER_ADDED == (int)KP_SCHED_ADDED &&
		       (int)KP_INFORMER_MODIFIED == (int)KP_SCHED_MODIFIED &&
		       (int)KP_INFORMER_DELETED == (int)KP_SCHED_DELETED, "change codes differ");
	struct kp_sched_runner *r = calloc(1, sizeof(*r));
	if (!r)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	r->st = st;

	struct kp_sched_host host = {
		.arg = r,
		.bind = host_bind,
		.update = host_update,
		.delete_pod = host_delete_pod,
		.unschedulable = host_unschedulable,
		.event = host_event,
	};
	struct kp_scheduler_options opts = { .seed = seed };
	int rc = kp_scheduler_new(cfg, reg, &host, &opts, &r->sched, errmsg);
	if (rc < 0)
		goto out_free_runner;
	if ((rc = kp_recorder_start(st, "default-scheduler", &r->events, errmsg)) < 0)
		goto out_free_sched;
	for (size_t i = 0; i < NWATCHED; i++) {
		rc = kp_informer_start(st, watched[i], on_change, r, &r->inf[i], errmsg);
		if (rc < 0)
			goto out_stop;
	}
	if ((rc = kp_scheduler_start(r->sched)) < 0) {
		kp_error_set(errmsg, rc, "cannot start the scheduling loop: %s", kp_strerror(rc));
		goto out_stop;
	}
	*out = r;
	return 0;

out_stop:
	for (size_t i = 0; i < NWATCHED; i++)
		kp_informer_stop(r->inf[i]);
	kp_recorder_stop(r->events);
out_free_sched:
	kp_scheduler_free(r->sched);
out_free_runner:
	free(r);
	return rc;
}

void kp_sched_runner_stop(struct kp_sched_runner *r)
{
	if (!r)
		return;
	/* Informers first, so no change arrives at a stopping scheduler. */
	for (size_t i = 0; i < NWATCHED; i++)
		kp_informer_stop(r->inf[i]);
	kp_scheduler_stop(r->sched);
	kp_scheduler_wait_bindings(r->sched);
	kp_scheduler_free(r->sched);
	/* Then let the queued events reach the store. */
	kp_recorder_stop(r->events);
	free(r);
}

char *kp_sched_runner_metrics(struct kp_sched_runner *r)
{
	return kp_scheduler_metrics_text(r->sched);
}

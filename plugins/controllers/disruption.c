/*
 * disruption.c - kube-controller-manager's disruption controller for the
 * simple cases: the status of every policy/v1 PodDisruptionBudget from the
 * pods its spec.selector picks in its namespace. The eviction subresource
 * (core/api/rest.c) reads that status to allow or refuse an eviction and
 * records the evicted pod in status.disruptedPods.
 *
 * expectedPods is the number of selected pods. Kubernetes takes it from the
 * scale of the pods' controllers when maxUnavailable or a percentage
 * minAvailable is used; for pods whose controllers are at their desired
 * size (the steady state) both counts are the same, during a scale-up the
 * controller's count is larger.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <kplane/controller.h>

#include "plugins/controllers/common.h"
#include "plugins/controllers/workload.h"

enum { K_PDB, K_POD };

static const struct kp_ctl_kind kinds[] = {
	{ "policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets" },
	{ "", "v1", "Pod", "pods" },
	{ NULL, NULL, NULL, NULL },
};

/* kube's DeletionTimeout: an evicted pod not yet being deleted after this is
 * counted again. */
#define DELETION_TIMEOUT 120

static void on_change(struct kp_ctl *c, void *state, unsigned kind, int change,
		      const json_t *old, const json_t *obj)
{
	(void)state;
	(void)change;
	if (kind == K_PDB) {
		kp__enqueue_obj(c, obj);
		return;
	}
	/* A pod change concerns the budgets of its namespace: they are few, and
	 * reconcile applies the selectors (matching them here too would only save
	 * a cache read per budget). */
	(void)old;
	json_t *pdbs = kp_ctl_list(c, K_PDB, kp_obj_namespace(obj), NULL);
	size_t i;
	json_t *p;
	json_array_foreach(pdbs, i, p)
		kp__enqueue_obj(c, p);
	json_decref(pdbs);
}

/* Sets status.conditions[DisruptionAllowed], keeping the transition time when
 * the status stays. */
static void set_allowed_condition(json_t *pdb, const json_t *old_status, bool allowed,
				  const char *reason, const char *message, json_int_t gen)
{
	const char *st = allowed ? "True" : "False";
	const char *ltt = NULL;
	size_t i;
	json_t *oc;
	json_array_foreach(json_object_get(old_status, "conditions"), i, oc) {
		const char *t = json_string_value(json_object_get(oc, "type"));
		const char *s = json_string_value(json_object_get(oc, "status"));
		if (t && !strcmp(t, "DisruptionAllowed") && s && !strcmp(s, st))
			ltt = json_string_value(json_object_get(oc, "lastTransitionTime"));
	}
	char ts[KP_TIME_BUFSZ];
	if (!ltt)
		ltt = kp_time_format(kp_time_now(), ts);
	json_t *cond = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s}", "type", "DisruptionAllowed",
				 "status", st, "observedGeneration", gen, "lastTransitionTime",
				 ltt, "reason", reason, "message", message);
	kp__set_condition(pdb, cond);
}

static int64_t reconcile(struct kp_ctl *c, void *state, const char *key, char **errmsg)
{
	(void)state;
	char ns[256], name[256];
	if (!kp__split_key(key, ns, name, sizeof(ns)))
		return 0;
	json_t *pdb = kp_ctl_get(c, K_PDB, ns, name);
	if (!pdb)
		return 0;
	json_t *sel = kp_obj_get(pdb, "spec.selector");
	/* policy/v1: a null selector selects nothing, an empty one every pod. */
	json_t *pods = json_is_object(sel) ? kp_ctl_list(c, K_POD, ns, sel) : json_array();
	int64_t now = kp_time_now();
	int64_t expected = (int64_t)json_array_size(pods);
	int64_t desired = 0;
	char *err = NULL;
	json_t *min_av = kp_obj_get(pdb, "spec.minAvailable");
	json_t *max_un = kp_obj_get(pdb, "spec.maxUnavailable");
	int rc;
	if (max_un && !json_is_null(max_un)) {
		int64_t mu = 0;
		rc = kp__int_or_percent(max_un, 0, expected, true, "spec.maxUnavailable", &mu,
					&err);
		desired = expected - mu;
		if (desired < 0)
			desired = 0;
	} else {
		rc = kp__int_or_percent(min_av, 0, expected, true, "spec.minAvailable", &desired,
					&err);
	}

	/* Recently evicted pods that still exist and are not being deleted. */
	json_t *old_status = kp_obj_get(pdb, "status");
	json_t *disrupted = json_object();
	int64_t next_expiry = 0;
	const char *pn;
	json_t *pt;
	json_object_foreach(json_object_get(old_status, "disruptedPods"), pn, pt) {
		int64_t t = 0;
		if (!json_string_value(pt) || kp_time_parse(json_string_value(pt), &t) < 0)
			continue;
		json_t *pod = kp_ctl_get(c, K_POD, ns, pn);
		bool keep = pod && !kp_obj_str(pod, "metadata.deletionTimestamp") &&
			    t + DELETION_TIMEOUT > now;
		json_decref(pod);
		if (!keep)
			continue;
		json_object_set(disrupted, pn, pt);
		if (!next_expiry || t + DELETION_TIMEOUT < next_expiry)
			next_expiry = t + DELETION_TIMEOUT;
	}
	int64_t healthy = 0;
	size_t i;
	json_t *pod;
	json_array_foreach(pods, i, pod) {
		if (kp_obj_str(pod, "metadata.deletionTimestamp"))
			continue;
		if (json_object_get(disrupted, kp_obj_name(pod)))
			continue;
		if (kp__pod_ready(pod))
			healthy++;
	}
	json_decref(pods);

	json_t *copy = json_deep_copy(pdb);
	json_int_t gen = kp_obj_int(pdb, "metadata.generation", 1);
	json_t *status = json_object();
	json_object_set(status, "conditions", json_object_get(old_status, "conditions") ?: json_array());
	json_object_set_new(copy, "status", status);
	int64_t allowed = 0;
	if (rc) {
		/* kube's failSafe: nothing may be disrupted while the budget is unusable. */
		json_object_set_new(status, "disruptionsAllowed", json_integer(0));
		json_object_set_new(status, "currentHealthy",
				    json_integer(kp_obj_int(old_status ? old_status : pdb,
							    "currentHealthy", 0)));
		json_object_set_new(status, "desiredHealthy",
				    json_integer(kp_obj_int(old_status ? old_status : pdb,
							    "desiredHealthy", 0)));
		json_object_set_new(status, "expectedPods", json_integer(expected));
		set_allowed_condition(copy, old_status, false, "SyncFailed", err ? err : "",
				      gen);
	} else {
		allowed = healthy - desired;
		if (allowed < 0 || expected <= 0)
			allowed = 0;
		json_object_set_new(status, "disruptionsAllowed", json_integer(allowed));
		json_object_set_new(status, "currentHealthy", json_integer(healthy));
		json_object_set_new(status, "desiredHealthy", json_integer(desired));
		json_object_set_new(status, "expectedPods", json_integer(expected));
		set_allowed_condition(copy, old_status, allowed > 0,
				      allowed > 0 ? "SufficientPods" : "InsufficientPods", "", gen);
	}
	free(err);
	json_object_set_new(status, "observedGeneration", json_integer(gen));
	if (json_object_size(disrupted))
		json_object_set(status, "disruptedPods", disrupted);
	json_decref(disrupted);
	int wrc = 0;
	if (!json_equal(status, old_status))
		wrc = kp_ctl_update_status(c, K_PDB, copy, NULL, errmsg);
	json_decref(copy);
	json_decref(pdb);
	if (wrc < 0)
		return wrc;
	return next_expiry ? (next_expiry - now) * 1000 + 1 : 0;
}

static const struct kp_controller_ops ops = {
	KP_CONTROLLER_OPS,
	.kinds = kinds,
	.workers = 2,
	.on_change = on_change,
	.reconcile = reconcile,
};

KP_PLUGIN_DEFINE(disruption) = {
	KP_PLUGIN_HEADER(KP_PLUGIN_CONTROLLER),
	.name = "disruption",
	.version = "1.0",
	.description = "keeps a PodDisruptionBudget's status from the pods it selects",
	.controller = &ops,
};

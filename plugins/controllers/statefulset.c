/*
 * statefulset.c - kube-controller-manager's StatefulSet controller: pods
 * with stable names <sts>-0..N-1 (hostname = pod name, subdomain =
 * serviceName), one PersistentVolumeClaim per volumeClaimTemplate and pod
 * (<template>-<pod>, created before the pod and kept after it), OrderedReady
 * (one pod at a time, in order, each Running and Ready before the next;
 * scale-down from the highest ordinal) or Parallel pod management, and
 * updates by revision (label controller-revision-hash = <sts>-<hash>, a
 * ControllerRevision per template): RollingUpdate replaces pods from the
 * highest ordinal down to spec.updateStrategy.rollingUpdate.partition, one
 * at a time or up to maxUnavailable at once; OnDelete leaves them to the
 * user. spec.ordinals.start moves the first ordinal;
 * persistentVolumeClaimRetentionPolicy gives claims owner references to the
 * set (whenDeleted: Delete) or to their condemned pod (whenScaled: Delete)
 * so that the garbage collector removes them; minReadySeconds holds ordered
 * creation and updates until a pod is available. Old ControllerRevisions
 * beyond revisionHistoryLimit that no pod runs are deleted.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/controller.h>

#include "plugins/controllers/common.h"
#include "plugins/controllers/workload.h"

enum { K_STS, K_POD, K_PVC, K_CR };

static const struct kp_ctl_kind kinds[] = {
	{ "apps", "v1", "StatefulSet", "statefulsets" },
	{ "", "v1", "Pod", "pods" },
	{ "", "v1", "PersistentVolumeClaim", "persistentvolumeclaims" },
	{ "apps", "v1", "ControllerRevision", "controllerrevisions" },
	{ NULL, NULL, NULL, NULL },
};

#define REV_LABEL "controller-revision-hash"
#define NAME_LABEL "statefulset.kubernetes.io/pod-name"
#define INDEX_LABEL "apps.kubernetes.io/pod-index"
#define MAX_REPLICAS 100000

static void on_change(struct kp_ctl *c, void *state, unsigned kind, int change,
		      const json_t *old, const json_t *obj)
{
	(void)state;
	(void)change;
	(void)old;
	if (kind == K_STS) {
		kp__enqueue_obj(c, obj);
		return;
	}
	kp__enqueue_owner(c, obj, "StatefulSet");
}

static bool running_ready(const json_t *pod)
{
	const char *ph = kp_obj_str(pod, "status.phase");
	return ph && !strcmp(ph, "Running") && kp__pod_ready(pod) &&
	       !kp_obj_str(pod, "metadata.deletionTimestamp");
}

/* The ordinal of a pod named <sts>-<n>, or -1. */
static int64_t ordinal(const char *sts, const char *pod)
{
	size_t l = strlen(sts);
	if (strncmp(pod, sts, l) || pod[l] != '-' || !pod[l + 1])
		return -1;
	char *end;
	long long n = strtoll(pod + l + 1, &end, 10);
	return *end || n < 0 ? -1 : n;
}

static json_t *claim_for(const json_t *sts, const json_t *tmpl, const char *pod)
{
	char name[600];
	snprintf(name, sizeof(name), "%s-%s", kp_obj_name(tmpl), pod);
	json_t *pvc = json_pack("{s:{s:s, s:s}, s:O}", "metadata", "name", name, "namespace",
				kp_obj_namespace(sts), "spec", kp_obj_get(tmpl, "spec"));
	json_t *ml = kp_obj_get(sts, "spec.selector.matchLabels");
	json_t *labels = kp_obj_get(tmpl, "metadata.labels");
	json_t *l = labels ? json_deep_copy(labels) : json_object();
	if (ml)
		json_object_update(l, ml);
	kp_obj_set(pvc, "metadata.labels", l);
	return pvc;
}

static bool policy_delete(const json_t *sts, const char *when)
{
	char path[128];
	snprintf(path, sizeof(path), "spec.persistentVolumeClaimRetentionPolicy.%s", when);
	const char *v = kp_obj_str(sts, path);
	return v && !strcmp(v, "Delete");
}

/* Adds (want) or removes a non-controller reference to owner; true when obj changed. */
static bool set_ref(json_t *obj, const json_t *owner, bool want)
{
	bool have = kp_obj_owned_by(obj, kp_obj_uid(owner));
	if (have == want)
		return false;
	if (want)
		return kp_obj_add_owner_ref(obj, owner, false) == 0;
	kp__remove_owner_ref(obj, kp_obj_uid(owner));
	return true;
}

/*
 * kube's updateClaimOwnerRefForSetAndPod: whenDeleted Delete makes the set
 * an owner of the claims of pods in range; whenScaled Delete makes a
 * condemned pod the owner of its claims (and the set no longer), so the
 * garbage collector deletes them with the pod or the set.
 */
static int sync_claim_refs(struct kp_ctl *c, const json_t *sts, const json_t *pod, bool condemned,
			   char **errmsg)
{
	bool del_set = policy_delete(sts, "whenDeleted"), del_scaled = policy_delete(sts, "whenScaled");
	bool want_set = del_set && !(del_scaled && condemned);
	bool want_pod = del_scaled && condemned;
	size_t i;
	json_t *t;
	json_array_foreach(kp_obj_get(sts, "spec.volumeClaimTemplates"), i, t) {
		char cn[600];
		snprintf(cn, sizeof(cn), "%s-%s", kp_obj_name(t) ? kp_obj_name(t) : "", kp_obj_name(pod));
		json_t *claim = kp_ctl_get(c, K_PVC, kp_obj_namespace(sts), cn);
		if (!claim)
			continue;
		json_t *copy = json_deep_copy(claim);
		json_decref(claim);
		bool changed = set_ref(copy, sts, want_set);
		changed |= set_ref(copy, pod, want_pod);
		int rc = changed ? kp_ctl_update(c, K_PVC, copy, NULL, errmsg) : 0;
		json_decref(copy);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static json_t *pod_for(const json_t *sts, int64_t ord, const char *rev)
{
	char name[300], idx[32];
	snprintf(name, sizeof(name), "%s-%lld", kp_obj_name(sts), (long long)ord);
	snprintf(idx, sizeof(idx), "%lld", (long long)ord);
	json_t *tmpl = kp_obj_get(sts, "spec.template");
	json_t *pod = json_pack("{s:{s:s, s:s}}", "metadata", "name", name, "namespace",
				kp_obj_namespace(sts));
	json_t *md = json_object_get(pod, "metadata");
	json_t *v = kp_obj_get(tmpl, "metadata.labels");
	json_object_set_new(md, "labels", v ? json_deep_copy(v) : json_object());
	if ((v = kp_obj_get(tmpl, "metadata.annotations")))
		json_object_set_new(md, "annotations", json_deep_copy(v));
	kp_obj_set_label(pod, NAME_LABEL, name);
	kp_obj_set_label(pod, INDEX_LABEL, idx);
	kp_obj_set_label(pod, REV_LABEL, rev);
	json_t *spec = json_deep_copy(json_object_get(tmpl, "spec"));
	if (!json_is_object(spec)) {
		json_decref(spec);
		spec = json_object();
	}
	json_object_set_new(spec, "hostname", json_string(name));
	const char *svc = kp_obj_str(sts, "spec.serviceName");
	if (svc && *svc)
		json_object_set_new(spec, "subdomain", json_string(svc));
	/* Each claim template becomes the pod's volume of that name. */
	json_t *vols = json_object_get(spec, "volumes");
	if (!json_is_array(vols)) {
		vols = json_array();
		json_object_set_new(spec, "volumes", vols);
	}
	size_t i;
	json_t *t;
	json_array_foreach(kp_obj_get(sts, "spec.volumeClaimTemplates"), i, t) {
		const char *vn = kp_obj_name(t);
		if (!vn)
			continue;
		for (size_t j = 0; j < json_array_size(vols);) {
			const char *n = json_string_value(json_object_get(json_array_get(vols, j), "name"));
			if (n && !strcmp(n, vn))
				json_array_remove(vols, j);
			else
				j++;
		}
		char cn[600];
		snprintf(cn, sizeof(cn), "%s-%s", vn, name);
		json_array_append_new(vols, json_pack("{s:s, s:{s:s}}", "name", vn,
						      "persistentVolumeClaim", "claimName", cn));
	}
	if (!json_array_size(vols))
		json_object_del(spec, "volumes");
	json_object_set_new(pod, "spec", spec);
	kp_obj_add_owner_ref(pod, sts, true);
	return pod;
}

/*
 * Makes sure the ControllerRevision rev of the current template exists with
 * the highest revision number (a rollback renumbers the old one), and
 * deletes history beyond revisionHistoryLimit that neither the current, the
 * update revision nor a pod uses (kube's truncateHistory). live: revision
 * names in use (object used as a set). Returns 0, 1 when the name belongs to
 * another object and status.collisionCount was raised, or a KP_E* code.
 */
static int ensure_revision(struct kp_ctl *c, const json_t *sts, const char *rev, const json_t *live,
			   char **errmsg)
{
	const char *ns = kp_obj_namespace(sts);
	json_t *owned = kp_ctl_list_owned(c, K_CR, ns, kp_obj_uid(sts));
	json_t *prune = json_array();
	int64_t revision = 1;
	kp__history_plan(owned, rev, live, kp_obj_int(sts, "spec.revisionHistoryLimit", 10), false,
			 &revision, prune);
	json_decref(owned);
	json_t *cr = kp_ctl_get(c, K_CR, ns, rev);
	int rc = 0;
	if (cr && !kp_obj_owned_by(cr, kp_obj_uid(sts))) {
		/* Another object holds the name: hash again with a new collisionCount. */
		json_t *copy = json_deep_copy(sts);
		kp_obj_set(copy, "status.collisionCount",
			   json_integer(kp_obj_int(sts, "status.collisionCount", 0) + 1));
		rc = kp_ctl_update_status(c, K_STS, copy, NULL, errmsg);
		json_decref(copy);
		if (rc == 0)
			rc = 1;
	} else if (cr && kp_obj_int(cr, "revision", 0) != revision) {
		json_t *copy = json_deep_copy(cr);
		json_object_set_new(copy, "revision", json_integer(revision));
		rc = kp_ctl_update(c, K_CR, copy, NULL, errmsg);
		json_decref(copy);
	} else if (!cr) {
		json_t *tmpl = json_deep_copy(kp_obj_get(sts, "spec.template"));
		json_object_set_new(tmpl, "$patch", json_string("replace"));
		json_t *obj = json_pack("{s:{s:s, s:s}, s:I, s:{s:{s:o}}}", "metadata", "name", rev,
					"namespace", ns, "revision", (json_int_t)revision, "data", "spec",
					"template", tmpl);
		json_t *ml = kp_obj_get(sts, "spec.selector.matchLabels");
		if (ml)
			kp_obj_set(obj, "metadata.labels", json_deep_copy(ml));
		kp_obj_set_label(obj, REV_LABEL, rev);
		kp_obj_add_owner_ref(obj, sts, true);
		rc = kp_ctl_create(c, K_CR, obj, NULL, errmsg);
		json_decref(obj);
		if (rc == KP_EEXIST) {
			free(*errmsg);
			*errmsg = NULL;
			rc = 0;
		}
	}
	json_decref(cr);
	size_t i;
	json_t *pn;
	json_array_foreach(prune, i, pn) {
		if (rc < 0)
			break;
		int r = kp_ctl_delete(c, K_CR, ns, json_string_value(pn), NULL, KP_CTL_BACKGROUND, NULL);
		if (r < 0 && r != KP_ENOENT)
			rc = kp_error_set(errmsg, r, "deleting ControllerRevision %s",
					  json_string_value(pn));
	}
	json_decref(prune);
	return rc;
}

static int create_pod(struct kp_ctl *c, const json_t *sts, int64_t ord, const char *rev,
		      char **errmsg)
{
	char pname[300];
	snprintf(pname, sizeof(pname), "%s-%lld", kp_obj_name(sts), (long long)ord);
	size_t i;
	json_t *t;
	json_array_foreach(kp_obj_get(sts, "spec.volumeClaimTemplates"), i, t) {
		json_t *pvc = claim_for(sts, t, pname);
		if (policy_delete(sts, "whenDeleted"))
			kp_obj_add_owner_ref(pvc, sts, false);
		json_t *have = kp_ctl_get(c, K_PVC, kp_obj_namespace(sts), kp_obj_name(pvc));
		int rc = 0;
		if (!have) {
			rc = kp_ctl_create(c, K_PVC, pvc, NULL, errmsg);
			if (rc == KP_EEXIST) {
				free(*errmsg);
				*errmsg = NULL;
				rc = 0;
			} else if (rc == 0) {
				kp_ctl_event(c, sts, "Normal", "SuccessfulCreate",
					     "create Claim %s Pod %s in StatefulSet %s success",
					     kp_obj_name(pvc), pname, kp_obj_name(sts));
			}
		}
		json_decref(have);
		json_decref(pvc);
		if (rc < 0)
			return rc;
	}
	json_t *pod = pod_for(sts, ord, rev);
	int rc = kp_ctl_create(c, K_POD, pod, NULL, errmsg);
	json_decref(pod);
	if (rc == KP_EEXIST) {
		free(*errmsg);
		*errmsg = NULL;
		return 0; /* the cache lags; the next sync sees it */
	}
	if (rc == 0)
		kp_ctl_event(c, sts, "Normal", "SuccessfulCreate",
			     "create Pod %s in StatefulSet %s successful", pname, kp_obj_name(sts));
	return rc;
}

static int delete_pod(struct kp_ctl *c, const json_t *sts, const json_t *pod, char **errmsg)
{
	int rc = kp_ctl_delete(c, K_POD, kp_obj_namespace(pod), kp_obj_name(pod), kp_obj_uid(pod),
			       KP_CTL_BACKGROUND, errmsg);
	if (rc == 0)
		kp_ctl_event(c, sts, "Normal", "SuccessfulDelete",
			     "delete Pod %s in StatefulSet %s successful", kp_obj_name(pod),
			     kp_obj_name(sts));
	return rc == KP_ECONFLICT || rc == KP_ENOENT ? 0 : rc;
}

/* kube's isHealthy: Running, Ready for minReadySeconds, not being deleted. */
static bool healthy(const json_t *pod, int64_t min_ready, int64_t now)
{
	return running_ready(pod) && kp__pod_available(pod, min_ready, now);
}

static int64_t reconcile(struct kp_ctl *c, void *state, const char *key, char **errmsg)
{
	(void)state;
	char ns[256], name[256];
	if (!kp__split_key(key, ns, name, sizeof(ns)))
		return 0;
	json_t *sts = kp_ctl_get(c, K_STS, ns, name);
	if (!sts)
		return 0;
	int64_t replicas = kp_obj_int(sts, "spec.replicas", 1);
	if (replicas > MAX_REPLICAS)
		replicas = MAX_REPLICAS;
	if (replicas < 0)
		replicas = 0;
	int64_t start = kp_obj_int(sts, "spec.ordinals.start", 0);
	if (start < 0 || start > INT32_MAX)
		start = 0;
	const char *mgmt = kp_obj_str(sts, "spec.podManagementPolicy");
	bool parallel = mgmt && !strcmp(mgmt, "Parallel");
	const char *stype = kp_obj_str(sts, "spec.updateStrategy.type");
	bool on_delete = stype && !strcmp(stype, "OnDelete");
	int64_t partition = kp_obj_int(sts, "spec.updateStrategy.rollingUpdate.partition", 0);
	char hash[16], rev[300];
	kp__template_hash(kp_obj_get(sts, "spec.template"), kp_obj_int(sts, "status.collisionCount", 0),
			  hash);
	snprintf(rev, sizeof(rev), "%.*s-%s", 240, name, hash);
	int rc = 0;
	int64_t ret = 0;
	bool deleting = kp_obj_str(sts, "metadata.deletionTimestamp") != NULL;
	/* Pods by index (ordinal - start); those outside the range are condemned. */
	json_t *owned = kp_ctl_list_owned(c, K_POD, ns, kp_obj_uid(sts));
	json_t **slot = calloc((size_t)replicas + 1, sizeof(*slot));
	json_t *condemned = json_array();
	json_t *live = json_object();
	size_t i;
	json_t *p;
	int64_t ready = 0, available = 0, current = 0, updated = 0, count = 0;
	const char *cur_rev = kp_obj_str(sts, "status.currentRevision");
	int64_t min_ready = kp_obj_int(sts, "spec.minReadySeconds", 0), now = kp_time_now();
	json_object_set_new(live, rev, json_true());
	if (cur_rev)
		json_object_set_new(live, cur_rev, json_true());
	json_array_foreach(owned, i, p) {
		int64_t o = ordinal(name, kp_obj_name(p));
		if (o < 0)
			continue;
		count++;
		if (running_ready(p))
			ready++;
		if (healthy(p, min_ready, now))
			available++;
		const char *pr = kp_obj_label(p, REV_LABEL);
		if (pr)
			json_object_set_new(live, pr, json_true());
		if (pr && !strcmp(pr, rev))
			updated++;
		if (pr && cur_rev && !strcmp(pr, cur_rev))
			current++;
		if (o >= start && o - start < replicas && slot)
			slot[o - start] = p;
		else
			json_array_append(condemned, p);
	}
	if (!slot) {
		rc = kp_error_set(errmsg, KP_ENOMEM, "out of memory");
		goto status;
	}
	if (deleting)
		goto status;
	if ((rc = ensure_revision(c, sts, rev, live, errmsg)) != 0) {
		/* A new collisionCount (> 0) renames the revision: start over then. */
		json_decref(live);
		json_decref(condemned);
		json_decref(owned);
		free(slot);
		json_decref(sts);
		return rc < 0 ? rc : 0;
	}
	/* Claims follow the retention policy before any pod goes. */
	if (json_array_size(kp_obj_get(sts, "spec.volumeClaimTemplates"))) {
		for (int64_t k = 0; k < replicas; k++)
			if (slot[k] && (rc = sync_claim_refs(c, sts, slot[k], false, errmsg)) < 0)
				goto status;
		json_array_foreach(condemned, i, p)
			if ((rc = sync_claim_refs(c, sts, p, true, errmsg)) < 0)
				goto status;
	}
	/* kube's processing order: create/replace missing and failed pods in ordinal order. */
	for (int64_t k = 0; k < replicas; k++) {
		json_t *pod = slot[k];
		if (pod) {
			const char *ph = kp_obj_str(pod, "status.phase");
			if (ph && (!strcmp(ph, "Failed") || !strcmp(ph, "Succeeded")) &&
			    !kp_obj_str(pod, "metadata.deletionTimestamp")) {
				rc = delete_pod(c, sts, pod, errmsg);
				goto status; /* recreated when the deletion shows */
			}
		}
		if (!pod) {
			if ((rc = create_pod(c, sts, start + k, rev, errmsg)) < 0)
				goto status;
			if (!parallel)
				goto status; /* OrderedReady: one at a time */
			continue;
		}
		if (!parallel && !healthy(pod, min_ready, now))
			goto status; /* wait for it (Running, Ready, minReadySeconds) first */
	}
	/* Scale down: highest ordinal first; OrderedReady one at a time. */
	if (json_array_size(condemned)) {
		json_t *victim = NULL;
		int64_t best = -1;
		json_array_foreach(condemned, i, p) {
			if (kp_obj_str(p, "metadata.deletionTimestamp")) {
				if (!parallel)
					goto status;
				continue;
			}
			int64_t o = ordinal(name, kp_obj_name(p));
			if (parallel) {
				if ((rc = delete_pod(c, sts, p, errmsg)) < 0)
					goto status;
			} else if (o > best) {
				best = o;
				victim = p;
			}
		}
		if (victim)
			rc = delete_pod(c, sts, victim, errmsg);
		goto status;
	}
	if (on_delete)
		goto status;
	json_t *mu = kp_obj_get(sts, "spec.updateStrategy.rollingUpdate.maxUnavailable");
	if (mu && !json_is_null(mu)) {
		/* maxUnavailable (kube's MaxUnavailableStatefulSet): round down, at
		 * least 1; replace old pods from the highest index down to the
		 * partition while fewer than that are unhealthy. */
		int64_t max_unav = 1, unhealthy = 0;
		char *err = NULL;
		if (kp__int_or_percent(mu, 1, replicas, false,
				       "spec.updateStrategy.rollingUpdate.maxUnavailable", &max_unav,
				       &err) < 0)
			kp_ctl_event(c, sts, "Warning", "InvalidStrategy", "%s", err);
		free(err);
		if (max_unav < 1)
			max_unav = 1;
		for (int64_t k = 0; k < replicas; k++)
			unhealthy += !slot[k] || !healthy(slot[k], min_ready, now);
		for (int64_t k = replicas - 1; k >= partition && k >= 0 && unhealthy < max_unav; k--) {
			const char *pr = slot[k] ? kp_obj_label(slot[k], REV_LABEL) : NULL;
			if (!slot[k] || (pr && !strcmp(pr, rev)) ||
			    kp_obj_str(slot[k], "metadata.deletionTimestamp"))
				continue;
			bool was_healthy = healthy(slot[k], min_ready, now);
			if ((rc = delete_pod(c, sts, slot[k], errmsg)) < 0)
				goto status;
			unhealthy += was_healthy;
		}
		goto status;
	}
	/* RollingUpdate: highest index >= partition with an old revision, one at a time. */
	for (int64_t k = replicas - 1; k >= partition && k >= 0; k--) {
		json_t *pod = slot[k];
		if (!pod)
			break; /* Parallel: still being created */
		const char *pr = kp_obj_label(pod, REV_LABEL);
		if (pr && !strcmp(pr, rev)) {
			if (!healthy(pod, min_ready, now))
				break; /* the last replaced pod must be available first */
			continue;
		}
		rc = delete_pod(c, sts, pod, errmsg);
		break;
	}
status:;
	json_t *copy = json_deep_copy(sts);
	json_t *st = json_object_get(copy, "status");
	if (!json_is_object(st)) {
		st = json_object();
		json_object_set_new(copy, "status", st);
	}
	json_object_set_new(st, "observedGeneration",
			    json_integer(kp_obj_int(sts, "metadata.generation", 1)));
	json_object_set_new(st, "replicas", json_integer(count));
	json_object_set_new(st, "readyReplicas", json_integer(ready));
	json_object_set_new(st, "availableReplicas", json_integer(available));
	json_object_set_new(st, "updatedReplicas", json_integer(updated));
	json_object_set_new(st, "updateRevision", json_string(rev));
	/* The update is complete when every wanted pod runs the new revision. */
	if (!cur_rev || (updated == replicas && count == replicas)) {
		json_object_set_new(st, "currentRevision", json_string(rev));
		current = updated;
	}
	json_object_set_new(st, "currentReplicas", json_integer(current));
	if (!json_equal(st, kp_obj_get(sts, "status"))) {
		char *serr = NULL;
		int r = kp_ctl_update_status(c, K_STS, copy, NULL, rc ? &serr : errmsg);
		free(serr);
		if (r < 0 && r != KP_ENOENT && !rc)
			rc = r;
	}
	json_decref(copy);
	/* Ready pods become available minReadySeconds later: look again then. */
	if (min_ready > 0 && ready > available)
		ret = 1000;
	free(slot);
	json_decref(live);
	json_decref(condemned);
	json_decref(owned);
	json_decref(sts);
	return rc < 0 ? rc : ret;
}

static const struct kp_controller_ops ops = {
	KP_CONTROLLER_OPS,
	.kinds = kinds,
	.workers = 5,
	.on_change = on_change,
	.reconcile = reconcile,
};

KP_PLUGIN_DEFINE(statefulset) = {
	KP_PLUGIN_HEADER(KP_PLUGIN_CONTROLLER),
	.name = "statefulset",
	.version = "1.0",
	.description = "stable, ordered pods with their own claims",
	.controller = &ops,
};

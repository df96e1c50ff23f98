/*
 * replicaset.c - the ReplicaSet controller (kube-controller-manager's
 * replicaset controller): keeps spec.replicas active pods matching the
 * selector, adopts orphans, releases pods that stopped matching, deletes
 * surplus pods in kube's order, and writes the status counts.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <kplane/controller.h>
#include <kplane/selector.h>

#include "plugins/controllers/common.h"
#include "plugins/controllers/workload.h"

enum { K_RS, K_POD };

static const struct kp_ctl_kind kinds[] = {
	{ "apps", "v1", "ReplicaSet", "replicasets" },
	{ "", "v1", "Pod", "pods" },
	{ NULL, NULL, NULL, NULL },
};

/* kube's burstReplicas: at most this many creations or deletions per sync. */
#define BURST 500

/* Orphan pods wake every ReplicaSet of their namespace whose selector matches. */
static void enqueue_matching(struct kp_ctl *c, const json_t *pod)
{
	json_t *rss = kp_ctl_list(c, K_RS, kp_obj_namespace(pod), NULL);
	size_t i;
	json_t *rs;
	json_array_foreach(rss, i, rs) {
		struct kp_label_selector *sel = NULL;
		if (kp_label_selector_from_json(kp_obj_get(rs, "spec.selector"), &sel, NULL) == 0 &&
		    !kp_label_selector_is_everything(sel) &&
		    kp_label_selector_matches(sel, kp_obj_labels(pod)))
			kp__enqueue_obj(c, rs);
		kp_label_selector_free(sel);
	}
	json_decref(rss);
}

static void owner_or_matching(struct kp_ctl *c, const json_t *pod)
{
	if (kp__enqueue_owner(c, pod, "ReplicaSet"))
		return;
	enqueue_matching(c, pod);
}

static void on_change(struct kp_ctl *c, void *state, unsigned kind, int change,
		      const json_t *old, const json_t *obj)
{
	(void)state;
	if (kind == K_RS) {
		kp__enqueue_obj(c, obj);
		return;
	}
	owner_or_matching(c, obj);
	if (old && change == KP_CTL_MODIFIED &&
	    (!json_equal(kp_obj_get(old, "metadata.ownerReferences"),
			 kp_obj_get(obj, "metadata.ownerReferences")) ||
	     !json_equal(kp_obj_labels(old), kp_obj_labels(obj))))
		owner_or_matching(c, old);
}

/* A pod for rs from its template (kube's GetPodFromTemplate). New reference. */
static json_t *pod_from_template(const json_t *rs)
{
	json_t *tmpl = kp_obj_get(rs, "spec.template");
	char gen[300];
	snprintf(gen, sizeof(gen), "%.*s-", 57, kp_obj_name(rs));
	json_t *pod = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "v1", "kind", "Pod",
				"metadata", "generateName", gen, "namespace", kp_obj_namespace(rs));
	json_t *md = json_object_get(pod, "metadata");
	json_t *v;
	if ((v = kp_obj_get(tmpl, "metadata.labels")))
		json_object_set_new(md, "labels", json_deep_copy(v));
	if ((v = kp_obj_get(tmpl, "metadata.annotations")))
		json_object_set_new(md, "annotations", json_deep_copy(v));
	if ((v = kp_obj_get(tmpl, "metadata.finalizers")))
		json_object_set_new(md, "finalizers", json_deep_copy(v));
	json_t *spec = json_object_get(tmpl, "spec");
	json_object_set_new(pod, "spec", spec ? json_deep_copy(spec) : json_object());
	kp_obj_add_owner_ref(pod, rs, true);
	return pod;
}

struct counts {
	int64_t replicas, labeled, ready, available;
	int64_t next_available; /* seconds until a ready pod becomes available; 0 none */
};

static int manage(struct kp_ctl *c, const char *key, const json_t *rs, json_t *pods,
		  char **errmsg)
{
	int64_t want = kp_obj_int(rs, "spec.replicas", 1);
	int64_t diff = (int64_t)json_array_size(pods) - want;
	if (diff < 0) {
		int64_t n = -diff > BURST ? BURST : -diff;
		kp_ctl_expect(c, key, (int)n, 0);
		json_t *pod = pod_from_template(rs);
		for (int64_t i = 0; i < n; i++) {
			json_t *made = NULL;
			char *err = NULL;
			int rc = kp_ctl_create(c, K_POD, pod, &made, &err);
			if (rc < 0) {
				/* The creations not made will never be observed. */
				kp_ctl_observe(c, key, (int)(n - i), 0);
				if (rc == KP_EBUSY) {
					/* The namespace is terminating: nothing to retry (kube
					 * ignores NamespaceTerminatingCause the same way). */
					free(err);
					json_decref(pod);
					return 0;
				}
				kp_ctl_event(c, rs, "Warning", "FailedCreate", "Error creating: %s",
					     err ? err : kp_strerror(rc));
				kp_error_set(errmsg, rc, "creating a pod: %s", err ? err : kp_strerror(rc));
				free(err);
				json_decref(pod);
				return rc;
			}
			kp_ctl_event(c, rs, "Normal", "SuccessfulCreate", "Created pod: %s",
				     kp_obj_name(made));
			json_decref(made);
		}
		json_decref(pod);
	} else if (diff > 0) {
		int64_t n = diff > BURST ? BURST : diff;
		kp__pods_sort_for_deletion(pods);
		kp_ctl_expect(c, key, 0, (int)n);
		int ret = 0;
		for (int64_t i = 0; i < n; i++) {
			json_t *p = json_array_get(pods, (size_t)i);
			char *err = NULL;
			int rc = kp_ctl_delete(c, K_POD, kp_obj_namespace(p), kp_obj_name(p),
					       kp_obj_uid(p), KP_CTL_BACKGROUND, &err);
			if (rc < 0) {
				kp_ctl_observe(c, key, 0, 1);
				if (rc == KP_ENOENT) { /* gone already: what we wanted */
					free(err);
					continue;
				}
				kp_ctl_event(c, rs, "Warning", "FailedDelete", "Error deleting: %s",
					     err ? err : kp_strerror(rc));
				if (!ret)
					ret = kp_error_set(errmsg, rc, "deleting pod %s: %s",
							   kp_obj_name(p), err ? err : kp_strerror(rc));
				free(err);
				continue;
			}
			kp_ctl_event(c, rs, "Normal", "SuccessfulDelete", "Deleted pod: %s",
				     kp_obj_name(p));
		}
		return ret;
	}
	return 0;
}

/*
 * Claims the namespace's active pods for rs (kube's ClaimPods): owned and
 * matching stay, owned and not matching are released, matching orphans are
 * adopted while rs is not being deleted. Returns a new array of rs's pods.
 */
static json_t *claim(struct kp_ctl *c, const json_t *rs, const struct kp_label_selector *sel,
		     int *rc, char **errmsg)
{
	const char *uid = kp_obj_uid(rs);
	bool deleting = kp_obj_str(rs, "metadata.deletionTimestamp") != NULL;
	bool fresh_checked = false;
	/* Its own pods and the namespace's orphans: nothing else can be claimed. */
	json_t *all = kp_ctl_list_owned(c, K_POD, kp_obj_namespace(rs), uid);
	json_t *orphans = kp_ctl_list_orphans(c, K_POD, kp_obj_namespace(rs));
	size_t oi;
	json_t *op;
	json_array_foreach(orphans, oi, op)
		if (!kp_obj_owned_by(op, uid)) /* else already listed as owned */
			json_array_append(all, op);
	json_decref(orphans);
	json_t *mine = json_array();
	size_t i;
	json_t *p;
	json_array_foreach(all, i, p) {
		if (!kp__pod_active(p))
			continue;
		json_t *ref = kp_obj_controller_ref(p);
		bool match = kp_label_selector_matches(sel, kp_obj_labels(p));
		if (ref) {
			const char *ru = json_string_value(json_object_get(ref, "uid"));
			if (!ru || strcmp(ru, uid))
				continue;
			if (match) {
				json_array_append(mine, p);
				continue;
			}
			if (deleting)
				continue;
			json_t *copy = json_deep_copy(p);
			kp__remove_owner_ref(copy, uid);
			char *err = NULL;
			int r = kp_ctl_update(c, K_POD, copy, NULL, &err);
			if (r < 0 && r != KP_ENOENT && r != KP_ECONFLICT && !*rc)
				*rc = kp_error_set(errmsg, r, "releasing pod %s: %s", kp_obj_name(p),
						   err ? err : kp_strerror(r));
			free(err);
			json_decref(copy);
			continue;
		}
		if (!match || deleting || kp_obj_str(p, "metadata.deletionTimestamp"))
			continue;
		if (!fresh_checked) {
			/* kube re-reads the owner uncached before adopting (RecheckDeletionTimestamp). */
			json_t *live = kp_ctl_get_live(c, K_RS, kp_obj_namespace(rs), kp_obj_name(rs));
			bool ok = live && kp_obj_uid(live) && !strcmp(kp_obj_uid(live), uid) &&
				  !kp_obj_str(live, "metadata.deletionTimestamp");
			json_decref(live);
			if (!ok)
				break;
			fresh_checked = true;
		}
		json_t *copy = json_deep_copy(p);
		json_t *adopted = NULL;
		char *err = NULL;
		int r = kp_obj_add_owner_ref(copy, rs, true);
		if (r == 0)
			r = kp_ctl_update(c, K_POD, copy, &adopted, &err);
		if (r == 0)
			json_array_append_new(mine, adopted);
		else if (r != KP_ENOENT && r != KP_ECONFLICT && !*rc)
			*rc = kp_error_set(errmsg, r, "adopting pod %s: %s", kp_obj_name(p),
					   err ? err : kp_strerror(r));
		free(err);
		json_decref(copy);
	}
	json_decref(all);
	return mine;
}

static void count(const json_t *rs, const json_t *pods, struct counts *ct)
{
	int64_t min_ready = kp_obj_int(rs, "spec.minReadySeconds", 0), now = kp_time_now();
	json_t *tl = kp_obj_get(rs, "spec.template.metadata.labels");
	memset(ct, 0, sizeof(*ct));
	size_t i;
	json_t *p;
	json_array_foreach(pods, i, p) {
		ct->replicas++;
		if (!tl || kp__labels_subset(tl, kp_obj_labels(p)))
			ct->labeled++;
		if (!kp__pod_ready(p))
			continue;
		ct->ready++;
		if (kp__pod_available(p, min_ready, now)) {
			ct->available++;
		} else {
			int64_t left = kp__pod_ready_since(p) + min_ready - now;
			if (left < 1)
				left = 1;
			if (!ct->next_available || left < ct->next_available)
				ct->next_available = left;
		}
	}
}

static int write_status(struct kp_ctl *c, const json_t *rs, const struct counts *ct,
			char **errmsg)
{
	json_t *copy = json_deep_copy(rs);
	json_t *st = json_object_get(copy, "status");
	if (!json_is_object(st)) {
		st = json_object();
		json_object_set_new(copy, "status", st);
	}
	json_object_set_new(st, "replicas", json_integer(ct->replicas));
	json_object_set_new(st, "fullyLabeledReplicas", json_integer(ct->labeled));
	json_object_set_new(st, "readyReplicas", json_integer(ct->ready));
	json_object_set_new(st, "availableReplicas", json_integer(ct->available));
	json_object_set_new(st, "observedGeneration",
			    json_integer(kp_obj_int(rs, "metadata.generation", 1)));
	int rc = 0;
	if (!json_equal(st, kp_obj_get(rs, "status"))) {
		kp_obj_del(copy, "metadata.resourceVersion");
		rc = kp_ctl_update_status(c, K_RS, copy, NULL, errmsg);
		if (rc == KP_ENOENT)
			rc = 0;
	}
	json_decref(copy);
	return rc;
}

static int64_t reconcile(struct kp_ctl *c, void *state, const char *key, char **errmsg)
{
	(void)state;
	char ns[256], name[256];
	if (!kp__split_key(key, ns, name, sizeof(ns)))
		return 0;
	json_t *rs = kp_ctl_get(c, K_RS, ns, name);
	if (!rs) {
		kp_ctl_forget_expectations(c, key);
		return 0;
	}
	bool needs_sync = kp_ctl_satisfied(c, key);
	struct kp_label_selector *sel = NULL;
	char *serr = NULL;
	if (kp_label_selector_from_json(kp_obj_get(rs, "spec.selector"), &sel, &serr) < 0) {
		/* Validation should have refused it; nothing sane to do. */
		kp_ctl_event(c, rs, "Warning", "InvalidSelector", "spec.selector: %s",
			     serr ? serr : "invalid");
		free(serr);
		json_decref(rs);
		return 0;
	}
	int rc = 0;
	json_t *pods = claim(c, rs, sel, &rc, errmsg);
	kp_label_selector_free(sel);
	if (needs_sync && !kp_obj_str(rs, "metadata.deletionTimestamp") && rc == 0)
		rc = manage(c, key, rs, pods, errmsg);
	struct counts ct;
	count(rs, pods, &ct);
	json_decref(pods);
	char *serr2 = NULL;
	int src = write_status(c, rs, &ct, rc ? &serr2 : errmsg);
	free(serr2);
	json_decref(rs);
	if (rc < 0)
		return rc;
	if (src < 0)
		return src;
	return ct.next_available ? ct.next_available * 1000 : 0;
}

static const struct kp_controller_ops ops = {
	KP_CONTROLLER_OPS,
	.kinds = kinds,
	.workers = 5,
	.on_change = on_change,
	.reconcile = reconcile,
};

KP_PLUGIN_DEFINE(replicaset) = {
	KP_PLUGIN_HEADER(KP_PLUGIN_CONTROLLER),
	.name = "replicaset",
	.version = "1.0",
	.description = "keeps a ReplicaSet's pods at spec.replicas",
	.controller = &ops,
};

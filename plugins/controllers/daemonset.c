/*
 * daemonset.c - kube-controller-manager's DaemonSet controller: one pod per
 * eligible node — the node matches the template's nodeSelector and required
 * node affinity, and its NoSchedule/NoExecute taints are tolerated by the
 * template's tolerations plus the ones kube adds to every daemon pod — placed
 * through the scheduler with a node affinity term on metadata.name. Pods
 * follow nodes added, removed and relabelled; extra or misplaced pods are
 * deleted, failed ones replaced. Each template is a ControllerRevision
 * <ds>-<hash> (the pods' controller-revision-hash label), so rollout
 * history and undo work. RollingUpdate replaces pods of an older template
 * while at most maxUnavailable nodes lack an available daemon pod, or with
 * maxSurge starts the new pod first and deletes the old one once the new one
 * is available; OnDelete leaves them until deleted.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <kplane/controller.h>
#include <kplane/selector.h>

#include "plugins/controllers/common.h"
#include "plugins/controllers/workload.h"

enum { K_DS, K_POD, K_NODE, K_CR };

static const struct kp_ctl_kind kinds[] = {
	{ "apps", "v1", "DaemonSet", "daemonsets" },
	{ "", "v1", "Pod", "pods" },
	{ "", "v1", "Node", "nodes" },
	{ "apps", "v1", "ControllerRevision", "controllerrevisions" },
	{ NULL, NULL, NULL, NULL },
};

#define HASH_LABEL "controller-revision-hash"

/* kube's AddOrUpdateDaemonPodTolerations (hostNetwork adds network-unavailable). */
static const char *const default_tolerations[][2] = {
	{ "node.kubernetes.io/not-ready", "NoExecute" },
	{ "node.kubernetes.io/unreachable", "NoExecute" },
	{ "node.kubernetes.io/disk-pressure", "NoSchedule" },
	{ "node.kubernetes.io/memory-pressure", "NoSchedule" },
	{ "node.kubernetes.io/pid-pressure", "NoSchedule" },
	{ "node.kubernetes.io/unschedulable", "NoSchedule" },
	/* Last: only for hostNetwork pods. */
	{ "node.kubernetes.io/network-unavailable", "NoSchedule" },
};

static void on_change(struct kp_ctl *c, void *state, unsigned kind, int change,
		      const json_t *old, const json_t *obj)
{
	(void)state;
	(void)change;
	(void)old;
	if (kind == K_DS) {
		kp__enqueue_obj(c, obj);
	} else if (kind == K_POD || kind == K_CR) {
		kp__enqueue_owner(c, obj, "DaemonSet");
	} else {
		/* Any node change may change where daemons run. */
		json_t *all = kp_ctl_list(c, K_DS, NULL, NULL);
		size_t i;
		json_t *d;
		json_array_foreach(all, i, d)
			kp__enqueue_obj(c, d);
		json_decref(all);
	}
}

/* The template's tolerations plus the daemon defaults (new reference). */
static json_t *tolerations(const json_t *ds)
{
	json_t *tol = json_deep_copy(kp_obj_get(ds, "spec.template.spec.tolerations"));
	if (!json_is_array(tol)) {
		json_decref(tol);
		tol = json_array();
	}
	size_t n = sizeof(default_tolerations) / sizeof(default_tolerations[0]) - 1;
	/* Host-network daemons (CNI agents) must run before the network is up. */
	if (kp_obj_bool(ds, "spec.template.spec.hostNetwork", false))
		n++;
	for (size_t k = 0; k < n; k++) {
		bool have = false;
		size_t i;
		json_t *t;
		json_array_foreach(tol, i, t) {
			const char *tk = json_string_value(json_object_get(t, "key"));
			const char *te = json_string_value(json_object_get(t, "effect"));
			if (tk && te && !strcmp(tk, default_tolerations[k][0]) &&
			    !strcmp(te, default_tolerations[k][1]))
				have = true;
		}
		if (!have)
			json_array_append_new(tol, json_pack("{s:s, s:s, s:s}", "key",
							     default_tolerations[k][0], "operator",
							     "Exists", "effect",
							     default_tolerations[k][1]));
	}
	return tol;
}

/* kube's NodeShouldRunDaemonPod: selector, required affinity, taints. */
static bool should_run(const json_t *ds, const json_t *tol, const json_t *node,
		       const struct kp_node_selector *aff)
{
	json_t *sel = kp_obj_get(ds, "spec.template.spec.nodeSelector");
	if (json_is_object(sel) && !kp__labels_subset(sel, kp_obj_labels(node)))
		return false;
	if (aff && !kp_node_selector_matches(aff, kp_obj_labels(node), kp_obj_name(node)))
		return false;
	size_t i;
	json_t *t;
	json_array_foreach(kp_obj_get(node, "spec.taints"), i, t) {
		const char *e = json_string_value(json_object_get(t, "effect"));
		if (!e || (strcmp(e, "NoSchedule") && strcmp(e, "NoExecute")))
			continue;
		bool ok = false;
		size_t j;
		json_t *to;
		json_array_foreach(tol, j, to)
			ok |= kp__tolerates(to, t);
		if (!ok)
			return false;
	}
	return true;
}

static json_t *daemon_pod(const json_t *ds, const json_t *tol, const char *node, const char *hash)
{
	json_t *tmpl = kp_obj_get(ds, "spec.template");
	char gen[300];
	snprintf(gen, sizeof(gen), "%.*s-", 57, kp_obj_name(ds));
	json_t *pod = json_pack("{s:{s:s, s:s}}", "metadata", "generateName", gen, "namespace",
				kp_obj_namespace(ds));
	json_t *md = json_object_get(pod, "metadata");
	json_t *v = kp_obj_get(tmpl, "metadata.labels");
	json_object_set_new(md, "labels", v ? json_deep_copy(v) : json_object());
	if ((v = kp_obj_get(tmpl, "metadata.annotations")))
		json_object_set_new(md, "annotations", json_deep_copy(v));
	kp_obj_set_label(pod, HASH_LABEL, hash);
	json_t *spec = json_deep_copy(json_object_get(tmpl, "spec"));
	if (!json_is_object(spec)) {
		json_decref(spec);
		spec = json_object();
	}
	json_object_set_new(spec, "tolerations", json_deep_copy(tol));
	/* kube's ReplaceDaemonSetPodNodeNameNodeAffinity: the scheduler places it on node. */
	json_t *term = json_pack("{s:[{s:s, s:s, s:[s]}]}", "matchFields", "key", "metadata.name",
				 "operator", "In", "values", node);
	kp_obj_set(spec, "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution",
		   json_pack("{s:[o]}", "nodeSelectorTerms", term));
	json_object_set_new(pod, "spec", spec);
	kp_obj_add_owner_ref(pod, ds, true);
	return pod;
}

/* The node a daemon pod is for: spec.nodeName, else its metadata.name affinity. */
static const char *pod_node(const json_t *pod)
{
	const char *n = kp_obj_str(pod, "spec.nodeName");
	if (n && *n)
		return n;
	json_t *terms = kp_obj_get(pod, "spec.affinity.nodeAffinity."
					"requiredDuringSchedulingIgnoredDuringExecution."
					"nodeSelectorTerms");
	json_t *mf = json_object_get(json_array_get(terms, 0), "matchFields");
	return json_string_value(json_array_get(json_object_get(json_array_get(mf, 0), "values"), 0));
}

/* Creation time (unix seconds) for sorting; 0 when unknown. */
static int64_t created_at(const json_t *p)
{
	int64_t t = 0;
	const char *ts = kp_obj_str(p, "metadata.creationTimestamp");
	if (ts)
		kp_time_parse(ts, &t);
	return t;
}

/* kube's podByCreationTimestampAndPhase: oldest first, ties by name. */
static int by_age(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int64_t tx = created_at(x), ty = created_at(y);
	if (tx != ty)
		return tx < ty ? -1 : 1;
	return strcmp(kp_obj_name(x) ?: "", kp_obj_name(y) ?: "");
}

static void sort_by_age(json_t *arr)
{
	size_t n = json_array_size(arr);
	json_t **v = malloc((n + 1) * sizeof(*v));
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	qsort(v, n, sizeof(*v), by_age);
	json_array_clear(arr);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, v[i]);
	free(v);
}

static bool has_hash(const json_t *pod, const char *hash)
{
	const char *h = kp_obj_label(pod, HASH_LABEL);
	return h && !strcmp(h, hash);
}

static void rev_name(const json_t *ds, const char *hash, char *out, size_t n)
{
	snprintf(out, n, "%.*s-%s", 240, kp_obj_name(ds), hash);
}

/*
 * kube's constructHistory/cleanupHistory: the ControllerRevision of the
 * current template exists and carries the highest revision, old ones beyond
 * revisionHistoryLimit that no pod runs are deleted. live: hashes of the
 * DaemonSet's pods (object used as a set). Returns 0, > 0 when the status
 * took a new collisionCount (resync), or a KP_E* code.
 */
static int sync_history(struct kp_ctl *c, const json_t *ds, const char *hash, const json_t *live,
			char **errmsg)
{
	const char *ns = kp_obj_namespace(ds);
	char cur[300];
	rev_name(ds, hash, cur, sizeof(cur));
	json_t *owned = kp_ctl_list_owned(c, K_CR, ns, kp_obj_uid(ds));
	json_t *mine = json_array(), *live_names = json_object(), *prune = json_array();
	size_t i;
	json_t *o;
	json_array_foreach(owned, i, o)
		if (kp_obj_owned_by(o, kp_obj_uid(ds)))
			json_array_append(mine, o);
	const char *h;
	json_t *hv;
	json_object_foreach((json_t *)live, h, hv) {
		char n[300];
		rev_name(ds, h, n, sizeof(n));
		json_object_set_new(live_names, n, json_true());
	}
	int64_t revision = 1;
	kp__history_plan(mine, cur, live_names, kp_obj_int(ds, "spec.revisionHistoryLimit", 10), true,
			 &revision, prune);
	int rc = 0;
	json_t *have = kp_ctl_get(c, K_CR, ns, cur);
	if (have && !kp_obj_owned_by(have, kp_obj_uid(ds))) {
		/* Another object holds the name: hash again with a new collisionCount. */
		json_t *copy = json_deep_copy(ds);
		kp_obj_set(copy, "status.collisionCount",
			   json_integer(kp_obj_int(ds, "status.collisionCount", 0) + 1));
		rc = kp_ctl_update_status(c, K_DS, copy, NULL, errmsg);
		json_decref(copy);
		if (rc == 0)
			rc = 1;
	} else if (have && kp_obj_int(have, "revision", 0) != revision) {
		json_t *copy = json_deep_copy(have);
		json_object_set_new(copy, "revision", json_integer(revision));
		rc = kp_ctl_update(c, K_CR, copy, NULL, errmsg);
		json_decref(copy);
	} else if (!have) {
		json_t *tmpl = json_deep_copy(kp_obj_get(ds, "spec.template"));
		if (!json_is_object(tmpl)) {
			json_decref(tmpl);
			tmpl = json_object();
		}
		json_object_set_new(tmpl, "$patch", json_string("replace"));
		json_t *cr = json_pack("{s:{s:s, s:s}, s:I, s:{s:{s:o}}}", "metadata", "name", cur,
				       "namespace", ns, "revision", (json_int_t)revision, "data",
				       "spec", "template", tmpl);
		json_t *l = kp_obj_get(ds, "spec.template.metadata.labels");
		kp_obj_set(cr, "metadata.labels", l ? json_deep_copy(l) : json_object());
		kp_obj_set_label(cr, HASH_LABEL, hash);
		kp_obj_add_owner_ref(cr, ds, true);
		rc = kp_ctl_create(c, K_CR, cr, NULL, errmsg);
		json_decref(cr);
		if (rc == KP_EEXIST) { /* the cache lags; the next sync looks again */
			free(*errmsg);
			*errmsg = NULL;
			rc = 0;
		}
	}
	json_decref(have);
	json_t *pn;
	json_array_foreach(prune, i, pn) {
		if (rc < 0)
			break;
		int r = kp_ctl_delete(c, K_CR, ns, json_string_value(pn), NULL, KP_CTL_BACKGROUND,
				      NULL);
		if (r < 0 && r != KP_ENOENT)
			rc = kp_error_set(errmsg, r, "deleting ControllerRevision %s",
					  json_string_value(pn));
	}
	json_decref(prune);
	json_decref(live_names);
	json_decref(mine);
	json_decref(owned);
	return rc;
}

static int64_t reconcile(struct kp_ctl *c, void *state, const char *key, char **errmsg)
{
	(void)state;
	char ns[256], name[256];
	if (!kp__split_key(key, ns, name, sizeof(ns)))
		return 0;
	json_t *ds = kp_ctl_get(c, K_DS, ns, name);
	if (!ds) {
		kp_ctl_forget_expectations(c, key);
		return 0;
	}
	int rc = 0;
	int64_t ret = 0, now = kp_time_now();
	struct kp_node_selector *aff = NULL;
	json_t *req = kp_obj_get(ds, "spec.template.spec.affinity.nodeAffinity."
				     "requiredDuringSchedulingIgnoredDuringExecution");
	if (req && kp_node_selector_from_json(req, &aff, NULL) < 0)
		aff = NULL;
	json_t *tol = tolerations(ds);
	char hash[16];
	kp__template_hash(kp_obj_get(ds, "spec.template"), kp_obj_int(ds, "status.collisionCount", 0),
			  hash);
	json_t *nodes = kp_ctl_list(c, K_NODE, NULL, NULL);
	json_t *pods = kp_ctl_list_owned(c, K_POD, ns, kp_obj_uid(ds));
	json_t *by_node = json_object(); /* node -> [active pods] */
	json_t *to_delete = json_array();
	json_t *live = json_object(); /* hashes pods run */
	size_t i;
	json_t *p;
	json_array_foreach(pods, i, p) {
		json_t *ref = kp_obj_controller_ref(p);
		if (!ref || strcmp(json_string_value(json_object_get(ref, "uid")), kp_obj_uid(ds)))
			continue;
		if (kp_obj_label(p, HASH_LABEL))
			json_object_set_new(live, kp_obj_label(p, HASH_LABEL), json_true());
		if (kp_obj_str(p, "metadata.deletionTimestamp"))
			continue;
		const char *ph = kp_obj_str(p, "status.phase");
		if (ph && !strcmp(ph, "Failed")) {
			json_array_append(to_delete, p); /* replaced on the next sync */
			continue;
		}
		if (ph && !strcmp(ph, "Succeeded"))
			continue;
		const char *n = pod_node(p);
		if (!n)
			continue;
		json_t *arr = json_object_get(by_node, n);
		if (!arr) {
			arr = json_array();
			json_object_set_new(by_node, n, arr);
		}
		json_array_append(arr, p);
	}
	bool deleting = kp_obj_str(ds, "metadata.deletionTimestamp") != NULL;
	if (!deleting) {
		int r = sync_history(c, ds, hash, live, errmsg);
		if (r != 0) {
			json_decref(live);
			json_decref(to_delete);
			json_decref(by_node);
			json_decref(pods);
			json_decref(nodes);
			json_decref(tol);
			kp_node_selector_free(aff);
			json_decref(ds);
			return r < 0 ? r : 0; /* a new collisionCount comes back as a change */
		}
	}
	json_decref(live);
	int64_t desired = 0, current = 0, misscheduled = 0, ready = 0, available = 0, updated = 0;
	int64_t min_ready = kp_obj_int(ds, "spec.minReadySeconds", 0);
	const char *stype = kp_obj_str(ds, "spec.updateStrategy.type");
	bool rolling = !stype || !strcmp(stype, "RollingUpdate");
	/* Desired count first: the percentages resolve against it. */
	json_t *run = json_array();
	json_t *n;
	json_array_foreach(nodes, i, n) {
		bool r = should_run(ds, tol, n, aff);
		json_array_append_new(run, json_boolean(r));
		desired += r;
	}
	/* kube's updatedDesiredNodeCounts: both round up; neither set allows one unavailable. */
	int64_t max_unav = 0, max_surge = 0;
	if (rolling) {
		char *err = NULL;
		const char *ru = "spec.updateStrategy.rollingUpdate";
		if (kp__int_or_percent(kp_obj_get(ds, "spec.updateStrategy.rollingUpdate.maxUnavailable"),
				       1, desired, true,
				       "spec.updateStrategy.rollingUpdate.maxUnavailable", &max_unav,
				       &err) < 0 ||
		    kp__int_or_percent(kp_obj_get(ds, "spec.updateStrategy.rollingUpdate.maxSurge"), 0,
				       desired, true, "spec.updateStrategy.rollingUpdate.maxSurge",
				       &max_surge, &err) < 0) {
			kp_ctl_event(c, ds, "Warning", "InvalidStrategy", "%s: %s", ru, err);
			max_unav = 1;
			max_surge = 0;
		}
		free(err);
		if (desired > 0 && max_unav == 0 && max_surge == 0)
			max_unav = 1;
	}
	bool surge = rolling && max_surge > 0;
	json_t *to_create = json_array();  /* node names */
	json_t *candidates = json_array(); /* old available pods (no surge) / nodes (surge) */
	int64_t unavailable = 0, surging = 0;
	json_array_foreach(nodes, i, n) {
		const char *nn = kp_obj_name(n);
		json_t *arr = json_incref(json_object_get(by_node, nn));
		/* What stays in by_node afterwards belongs to nodes that are gone. */
		json_object_del(by_node, nn);
		if (!json_is_true(json_array_get(run, i))) {
			size_t j;
			json_t *q;
			json_array_foreach(arr, j, q)
				json_array_append(to_delete, q);
			if (json_array_size(arr))
				misscheduled++;
			json_decref(arr);
			continue;
		}
		if (!json_array_size(arr)) {
			json_array_append_new(to_create, json_string(nn));
			unavailable++;
			json_decref(arr);
			continue;
		}
		current++;
		sort_by_age(arr);
		/* Status reads the oldest pod of the node, as kube's does. */
		json_t *first = json_array_get(arr, 0);
		if (kp__pod_ready(first)) {
			ready++;
			if (kp__pod_available(first, min_ready, now))
				available++;
		}
		if (has_hash(first, hash))
			updated++;
		/* One pod per node; with surge, the oldest new and the oldest old. */
		json_t *newp = NULL, *oldp = NULL;
		size_t j;
		json_t *q;
		json_array_foreach(arr, j, q) {
			if (has_hash(q, hash) && !newp && surge)
				newp = q;
			else if (!has_hash(q, hash) && !oldp && surge)
				oldp = q;
			else if (!surge && j == 0 && has_hash(q, hash))
				newp = q;
			else if (!surge && j == 0)
				oldp = q;
			else
				json_array_append(to_delete, q);
		}
		json_decref(arr);
		bool new_av = newp && kp__pod_available(newp, min_ready, now);
		if (newp && oldp) {
			/* Surged here: the old pod goes once the new one is available. */
			if (new_av)
				json_array_append(to_delete, oldp);
			else
				surging++;
			continue;
		}
		if (newp) {
			if (!new_av)
				unavailable++;
			continue;
		}
		bool old_av = kp__pod_available(oldp, min_ready, now);
		if (!rolling)
			continue; /* OnDelete: old pods stay until someone deletes them */
		if (surge) {
			if (!old_av)
				json_array_append_new(to_create, json_string(nn));
			else
				json_array_append_new(candidates, json_string(nn));
		} else if (!old_av) {
			json_array_append(to_delete, oldp); /* an unavailable old pod goes at once */
			unavailable++;
		} else {
			json_array_append(candidates, oldp);
		}
	}
	json_decref(run);
	/* Pods of deleted nodes go (kube's pod GC does it there). */
	const char *gk;
	json_t *garr;
	json_object_foreach(by_node, gk, garr) {
		size_t j;
		json_t *q;
		json_array_foreach(garr, j, q)
			json_array_append(to_delete, q);
	}
	/* kube's rollingUpdate: replace within maxUnavailable, or surge within maxSurge. */
	int64_t budget = surge ? max_surge - surging : max_unav - unavailable;
	for (i = 0; i < json_array_size(candidates) && budget > 0; i++, budget--)
		json_array_append(surge ? to_create : to_delete, json_array_get(candidates, i));
	if (kp_ctl_satisfied(c, key) && !deleting) {
		size_t nc = json_array_size(to_create), nd = json_array_size(to_delete);
		kp_ctl_expect(c, key, (int)nc, (int)nd);
		json_array_foreach(to_delete, i, p) {
			char *err = NULL;
			int r = kp_ctl_delete(c, K_POD, ns, kp_obj_name(p), kp_obj_uid(p),
					      KP_CTL_BACKGROUND, &err);
			if (r < 0) {
				kp_ctl_observe(c, key, 0, 1);
				if (!rc && r != KP_ECONFLICT && r != KP_ENOENT)
					rc = kp_error_set(errmsg, r, "deleting %s: %s", kp_obj_name(p),
							  err ? err : kp_strerror(r));
			} else {
				kp_ctl_event(c, ds, "Normal", "SuccessfulDelete", "Deleted pod: %s",
					     kp_obj_name(p));
			}
			free(err);
		}
		json_t *nn;
		json_array_foreach(to_create, i, nn) {
			json_t *pod = daemon_pod(ds, tol, json_string_value(nn), hash), *out = NULL;
			char *err = NULL;
			int r = kp_ctl_create(c, K_POD, pod, &out, &err);
			json_decref(pod);
			if (r < 0) {
				kp_ctl_observe(c, key, (int)(nc - i), 0);
				if (r != KP_EBUSY) {
					kp_ctl_event(c, ds, "Warning", "FailedCreate", "Error creating: %s",
						     err ? err : kp_strerror(r));
					if (!rc)
						rc = kp_error_set(errmsg, r, "creating a pod: %s",
								  err ? err : kp_strerror(r));
				}
				free(err);
				break;
			}
			kp_ctl_event(c, ds, "Normal", "SuccessfulCreate", "Created pod: %s",
				     kp_obj_name(out));
			json_decref(out);
		}
	}
	json_t *copy = json_deep_copy(ds);
	json_t *st = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "currentNumberScheduled",
			       (json_int_t)current, "numberMisscheduled", (json_int_t)misscheduled,
			       "desiredNumberScheduled", (json_int_t)desired, "numberReady",
			       (json_int_t)ready, "numberAvailable", (json_int_t)available,
			       "updatedNumberScheduled", (json_int_t)updated, "observedGeneration",
			       (json_int_t)kp_obj_int(ds, "metadata.generation", 1),
			       "numberUnavailable",
			       (json_int_t)(desired > available ? desired - available : 0));
	if (!json_integer_value(json_object_get(st, "numberUnavailable")))
		json_object_del(st, "numberUnavailable");
	if (!json_integer_value(json_object_get(st, "numberAvailable")))
		json_object_del(st, "numberAvailable");
	json_t *cc = kp_obj_get(ds, "status.collisionCount");
	if (cc)
		json_object_set(st, "collisionCount", cc);
	if (!json_equal(st, kp_obj_get(ds, "status"))) {
		json_object_set(copy, "status", st);
		char *serr = NULL;
		int r = kp_ctl_update_status(c, K_DS, copy, NULL, rc ? &serr : errmsg);
		free(serr);
		if (r < 0 && r != KP_ENOENT && !rc)
			rc = r;
	}
	json_decref(st);
	json_decref(copy);
	/* Ready pods become available minReadySeconds later: look again then. */
	if (min_ready > 0 && ready > available)
		ret = 1000;
	json_decref(to_create);
	json_decref(candidates);
	json_decref(to_delete);
	json_decref(by_node);
	json_decref(pods);
	json_decref(nodes);
	json_decref(tol);
	kp_node_selector_free(aff);
	json_decref(ds);
	return rc < 0 ? rc : ret;
}

static const struct kp_controller_ops ops = {
	KP_CONTROLLER_OPS,
	.kinds = kinds,
	.workers = 2,
	.on_change = on_change,
	.reconcile = reconcile,
};

KP_PLUGIN_DEFINE(daemonset) = {
	KP_PLUGIN_HEADER(KP_PLUGIN_CONTROLLER),
	.name = "daemonset",
	.version = "1.0",
	.description = "one pod per eligible node",
	.controller = &ops,
};

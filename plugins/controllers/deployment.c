/*
 * deployment.c - the Deployment controller (kube-controller-manager's
 * deployment controller): one ReplicaSet per pod template (named
 * <deployment>-<pod-template-hash>), RollingUpdate within maxSurge and
 * maxUnavailable, Recreate, revisions (deployment.kubernetes.io/revision;
 * reusing an old template, as `rollout undo` does, gives that ReplicaSet
 * the next revision), revisionHistoryLimit, pause, proportional scaling
 * during a rollout, and the Available/Progressing conditions with
 * progressDeadlineSeconds.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <kplane/controller.h>
#include <kplane/selector.h>

#include "plugins/controllers/common.h"
#include "plugins/controllers/workload.h"

enum { K_DEPLOY, K_RS };

static const struct kp_ctl_kind kinds[] = {
	{ "apps", "v1", "Deployment", "deployments" },
	{ "apps", "v1", "ReplicaSet", "replicasets" },
	{ NULL, NULL, NULL, NULL },
};

#define A_REVISION "deployment.kubernetes.io/revision"
#define A_DESIRED "deployment.kubernetes.io/desired-replicas"
#define A_MAX "deployment.kubernetes.io/max-replicas"
#define HASH_LABEL "pod-template-hash"

static void rs_changed(struct kp_ctl *c, const json_t *rs)
{
	if (kp__enqueue_owner(c, rs, "Deployment"))
		return;
	/* An orphan wakes the deployments that could adopt it. */
	json_t *ds = kp_ctl_list(c, K_DEPLOY, kp_obj_namespace(rs), NULL);
	size_t i;
	json_t *d;
	json_array_foreach(ds, i, d) {
		struct kp_label_selector *sel = NULL;
		if (kp_label_selector_from_json(kp_obj_get(d, "spec.selector"), &sel, NULL) == 0 &&
		    !kp_label_selector_is_everything(sel) &&
		    kp_label_selector_matches(sel, kp_obj_labels(rs)))
			kp__enqueue_obj(c, d);
		kp_label_selector_free(sel);
	}
	json_decref(ds);
}

static void on_change(struct kp_ctl *c, void *state, unsigned kind, int change,
		      const json_t *old, const json_t *obj)
{
	(void)state;
	(void)change;
	if (kind == K_DEPLOY) {
		kp__enqueue_obj(c, obj);
		return;
	}
	rs_changed(c, obj);
	if (old && !json_equal(kp_obj_get(old, "metadata.ownerReferences"),
			       kp_obj_get(obj, "metadata.ownerReferences")))
		rs_changed(c, old);
}

/* ---- one sync's view ---- */

struct rsv {
	json_t *rs; /* owned */
	int64_t spec, available, replicas, ready;
	int64_t revision;
	int64_t created;
};

struct sync {
	struct kp_ctl *c;
	json_t *d; /* owned deep copy of the deployment */
	const char *ns, *name;
	int64_t replicas, surge, unavailable;
	bool recreate;
	struct rsv *rs;
	size_t nrs;
	struct rsv *newrs; /* into rs[] or NULL */
	/* Scratch arrays with room for every ReplicaSet (no VLAs). */
	struct rsv **pa, **pb;
	struct kp__rs_count *cnt;
	int64_t *tgt;
	bool progressed;   /* a ReplicaSet was created or scaled in this sync */
	const char *reason;
	char msg[512];
};

static int64_t ann_int(const json_t *o, const char *key, int64_t def)
{
	const char *v = kp_obj_annotation(o, key);
	if (!v || !*v)
		return def;
	char *end;
	long long n = strtoll(v, &end, 10);
	return *end ? def : n;
}

static void fill(struct rsv *r, json_t *rs)
{
	r->rs = rs;
	r->spec = kp_obj_int(rs, "spec.replicas", 1);
	r->available = kp_obj_int(rs, "status.availableReplicas", 0);
	r->replicas = kp_obj_int(rs, "status.replicas", 0);
	r->ready = kp_obj_int(rs, "status.readyReplicas", 0);
	r->revision = ann_int(rs, A_REVISION, 0);
	const char *ct = kp_obj_str(rs, "metadata.creationTimestamp");
	if (!ct || kp_time_parse(ct, &r->created) < 0)
		r->created = 0;
}

static int by_created(const void *a, const void *b)
{
	const struct rsv *x = a, *y = b;
	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(kp_obj_name(x->rs), kp_obj_name(y->rs));
}

/* The template without the pod-template-hash label (kube's EqualIgnoreHash). New ref. */
static json_t *strip_hash(const json_t *tmpl)
{
	json_t *t = json_deep_copy(tmpl);
	json_t *labels = kp_obj_get(t, "metadata.labels");
	if (labels) {
		json_object_del(labels, HASH_LABEL);
		if (!json_object_size(labels))
			kp_obj_del(t, "metadata.labels");
	}
	json_t *md = json_object_get(t, "metadata");
	if (md && !json_object_size(md))
		json_object_del(t, "metadata");
	return t;
}

static bool same_template(const json_t *a, const json_t *b)
{
	json_t *x = strip_hash(a), *y = strip_hash(b);
	bool eq = json_equal(x, y);
	json_decref(x);
	json_decref(y);
	return eq;
}

/* Claims the namespace's ReplicaSets (kube's ClaimReplicaSets). */
static int claim(struct sync *s, const struct kp_label_selector *sel, char **errmsg)
{
	struct kp_ctl *c = s->c;
	const char *uid = kp_obj_uid(s->d);
	bool deleting = kp_obj_str(s->d, "metadata.deletionTimestamp") != NULL;
	json_t *all = kp_ctl_list(c, K_RS, s->ns, NULL);
	size_t cap = json_array_size(all) + 1;
	s->rs = calloc(cap, sizeof(*s->rs));
	s->pa = calloc(cap, sizeof(*s->pa));
	s->pb = calloc(cap, sizeof(*s->pb));
	s->cnt = calloc(cap, sizeof(*s->cnt));
	s->tgt = calloc(cap, sizeof(*s->tgt));
	if (!s->rs || !s->pa || !s->pb || !s->cnt || !s->tgt) {
		json_decref(all);
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	}
	size_t i;
	json_t *rs;
	int rc = 0;
	json_array_foreach(all, i, rs) {
		json_t *ref = kp_obj_controller_ref(rs);
		bool match = kp_label_selector_matches(sel, kp_obj_labels(rs));
		if (ref) {
			const char *ru = json_string_value(json_object_get(ref, "uid"));
			if (!ru || strcmp(ru, uid))
				continue;
			if (match) {
				fill(&s->rs[s->nrs++], json_incref(rs));
			} else if (!deleting) {
				json_t *copy = json_deep_copy(rs);
				kp__remove_owner_ref(copy, uid);
				int r = kp_ctl_update(c, K_RS, copy, NULL, NULL);
				if (r < 0 && r != KP_ENOENT && r != KP_ECONFLICT && !rc)
					rc = kp_error_set(errmsg, r, "releasing %s", kp_obj_name(rs));
				json_decref(copy);
			}
			continue;
		}
		if (!match || deleting || kp_obj_str(rs, "metadata.deletionTimestamp"))
			continue;
		json_t *copy = json_deep_copy(rs), *adopted = NULL;
		int r = kp_obj_add_owner_ref(copy, s->d, true);
		if (r == 0)
			r = kp_ctl_update(c, K_RS, copy, &adopted, NULL);
		if (r == 0)
			fill(&s->rs[s->nrs++], adopted);
		else if (r != KP_ENOENT && r != KP_ECONFLICT && !rc)
			rc = kp_error_set(errmsg, r, "adopting %s", kp_obj_name(rs));
		json_decref(copy);
	}
	json_decref(all);
	qsort(s->rs, s->nrs, sizeof(*s->rs), by_created);
	/* The oldest ReplicaSet with the deployment's template is the new one. */
	json_t *tmpl = kp_obj_get(s->d, "spec.template");
	for (i = 0; i < s->nrs && !s->newrs; i++)
		if (same_template(kp_obj_get(s->rs[i].rs, "spec.template"), tmpl))
			s->newrs = &s->rs[i];
	return rc;
}

static void sync_release(struct sync *s)
{
	for (size_t i = 0; i < s->nrs; i++)
		json_decref(s->rs[i].rs);
	free(s->rs);
	free(s->pa);
	free(s->pb);
	free(s->cnt);
	free(s->tgt);
	json_decref(s->d);
}

static int64_t max_old_revision(struct sync *s)
{
	int64_t m = 0;
	for (size_t i = 0; i < s->nrs; i++)
		if (&s->rs[i] != s->newrs && s->rs[i].revision > m)
			m = s->rs[i].revision;
	return m;
}

/* Writes r's spec.replicas = n with the desired/max annotations (kube's scaleReplicaSet). */
static int scale_rs(struct sync *s, struct rsv *r, int64_t n, char **errmsg)
{
	char want[32], max[32];
	snprintf(want, sizeof(want), "%lld", (long long)s->replicas);
	snprintf(max, sizeof(max), "%lld", (long long)(s->replicas + s->surge));
	const char *cw = kp_obj_annotation(r->rs, A_DESIRED), *cm = kp_obj_annotation(r->rs, A_MAX);
	if (r->spec == n && cw && !strcmp(cw, want) && cm && !strcmp(cm, max))
		return 0;
	json_t *copy = json_deep_copy(r->rs), *out = NULL;
	kp_obj_set(copy, "spec.replicas", json_integer(n));
	kp_obj_set_annotation(copy, A_DESIRED, want);
	kp_obj_set_annotation(copy, A_MAX, max);
	int rc = kp_ctl_update(s->c, K_RS, copy, &out, errmsg);
	json_decref(copy);
	if (rc < 0)
		return rc;
	if (r->spec != n) {
		kp_ctl_event(s->c, s->d, "Normal", "ScalingReplicaSet",
			     "Scaled %s replica set %s to %lld from %lld", n > r->spec ? "up" : "down",
			     kp_obj_name(r->rs), (long long)n, (long long)r->spec);
		s->progressed = true;
	}
	json_decref(r->rs);
	fill(r, out);
	return 0;
}

/*
 * Finds or creates the new ReplicaSet and keeps its revision the newest
 * (kube's getNewReplicaSet); create=false only updates an existing one.
 */
static int ensure_new_rs(struct sync *s, bool create, char **errmsg)
{
	int64_t rev = max_old_revision(s) + 1;
	char revs[32];
	snprintf(revs, sizeof(revs), "%lld", (long long)rev);
	if (s->newrs) {
		if (s->newrs->revision < rev) {
			json_t *copy = json_deep_copy(s->newrs->rs), *out = NULL;
			kp_obj_set_annotation(copy, A_REVISION, revs);
			int rc = kp_ctl_update(s->c, K_RS, copy, &out, errmsg);
			json_decref(copy);
			if (rc < 0)
				return rc;
			json_decref(s->newrs->rs);
			fill(s->newrs, out);
		}
	} else if (create) {
		int64_t collisions = kp_obj_int(s->d, "status.collisionCount", 0);
		json_t *tmpl = json_deep_copy(kp_obj_get(s->d, "spec.template"));
		char hash[16];
		kp__template_hash(tmpl, collisions, hash);
		kp_obj_set_label(tmpl, HASH_LABEL, hash);
		char name[300];
		snprintf(name, sizeof(name), "%.*s-%s", 240, s->name, hash);
		int64_t total = 0;
		for (size_t i = 0; i < s->nrs; i++)
			total += s->rs[i].spec;
		int64_t n = s->recreate ? s->replicas :
					  kp__new_rs_replicas(s->replicas, s->surge, total, 0);
		json_t *sel = json_deep_copy(kp_obj_get(s->d, "spec.selector"));
		json_t *ml = json_object_get(sel, "matchLabels");
		if (!json_is_object(ml)) {
			ml = json_object();
			json_object_set_new(sel, "matchLabels", ml);
		}
		json_object_set_new(ml, HASH_LABEL, json_string(hash));
		json_t *rs = json_pack("{s:{s:s, s:s, s:o}, s:{s:I, s:I, s:o, s:o}}", "metadata",
				       "name", name, "namespace", s->ns, "labels",
				       json_deep_copy(kp_obj_get(tmpl, "metadata.labels")), "spec",
				       "replicas", (json_int_t)n, "minReadySeconds",
				       (json_int_t)kp_obj_int(s->d, "spec.minReadySeconds", 0),
				       "selector", sel, "template", tmpl);
		char want[32], max[32];
		snprintf(want, sizeof(want), "%lld", (long long)s->replicas);
		snprintf(max, sizeof(max), "%lld", (long long)(s->replicas + s->surge));
		kp_obj_set_annotation(rs, A_REVISION, revs);
		kp_obj_set_annotation(rs, A_DESIRED, want);
		kp_obj_set_annotation(rs, A_MAX, max);
		kp_obj_add_owner_ref(rs, s->d, true);
		json_t *out = NULL;
		char *err = NULL;
		int rc = kp_ctl_create(s->c, K_RS, rs, &out, &err);
		json_decref(rs);
		if (rc == KP_EEXIST) {
			/* A ReplicaSet of that name with another template: a hash collision. */
			free(err);
			json_t *live = kp_ctl_get_live(s->c, K_RS, s->ns, name);
			bool ours = live && kp_obj_owned_by(live, kp_obj_uid(s->d)) &&
				    same_template(kp_obj_get(live, "spec.template"),
						  kp_obj_get(s->d, "spec.template"));
			json_decref(live);
			if (ours)
				return 0; /* the cache lags: the next sync finds it */
			json_t *copy = json_deep_copy(s->d);
			kp_obj_set(copy, "status.collisionCount", json_integer(collisions + 1));
			kp_ctl_update_status(s->c, K_DEPLOY, copy, NULL, NULL);
			json_decref(copy);
			return kp_error_set(errmsg, KP_ECONFLICT,
					    "hash collision for ReplicaSet %s: retrying with "
					    "collisionCount %lld",
					    name, (long long)(collisions + 1));
		}
		if (rc < 0) {
			kp_ctl_event(s->c, s->d, "Warning", "FailedCreate",
				     "Failed to create new replica set \"%s\": %s", name,
				     err ? err : kp_strerror(rc));
			kp_error_set(errmsg, rc, "creating ReplicaSet %s: %s", name,
				     err ? err : kp_strerror(rc));
			free(err);
			return rc;
		}
		s->newrs = &s->rs[s->nrs];
		fill(&s->rs[s->nrs++], out);
		kp_ctl_event(s->c, s->d, "Normal", "ScalingReplicaSet",
			     "Scaled up replica set %s to %lld", name, (long long)n);
		s->progressed = true;
		s->reason = "NewReplicaSetCreated";
		snprintf(s->msg, sizeof(s->msg), "Created new replica set \"%s\"", name);
	}
	/* The deployment carries its new ReplicaSet's revision. */
	if (s->newrs) {
		char cur[32];
		snprintf(cur, sizeof(cur), "%lld", (long long)s->newrs->revision);
		const char *have = kp_obj_annotation(s->d, A_REVISION);
		if (!have || strcmp(have, cur)) {
			json_t *copy = json_deep_copy(s->d), *out = NULL;
			kp_obj_set_annotation(copy, A_REVISION, cur);
			kp_obj_del(copy, "metadata.resourceVersion");
			if (kp_ctl_update(s->c, K_DEPLOY, copy, &out, NULL) == 0) {
				json_decref(s->d);
				s->d = out;
			}
			json_decref(copy);
		}
	}
	return 0;
}

/* ---- scaling (kube's scale(): not a rollout, the replica count changed) ---- */

static bool is_scaling_event(struct sync *s)
{
	for (size_t i = 0; i < s->nrs; i++) {
		if (s->rs[i].spec == 0)
			continue;
		int64_t want = ann_int(s->rs[i].rs, A_DESIRED, -1);
		if (want >= 0 && want != s->replicas)
			return true;
	}
	return false;
}

static int scale(struct sync *s, char **errmsg)
{
	struct rsv **active = s->pa;
	size_t na = 0;
	for (size_t i = 0; i < s->nrs; i++)
		if (s->rs[i].spec > 0)
			active[na++] = &s->rs[i];
	/* One active (or none: the newest) takes the whole count. */
	if (na <= 1) {
		struct rsv *t = na ? active[0] : s->newrs;
		if (!t && s->nrs)
			t = &s->rs[s->nrs - 1];
		return t ? scale_rs(s, t, s->replicas, errmsg) : 0;
	}
	/* A saturated new ReplicaSet: old ones go to zero. */
	if (s->newrs && s->newrs->spec == s->replicas &&
	    ann_int(s->newrs->rs, A_DESIRED, -1) == s->replicas &&
	    s->newrs->available == s->replicas) {
		for (size_t i = 0; i < s->nrs; i++)
			if (&s->rs[i] != s->newrs && s->rs[i].spec) {
				int rc = scale_rs(s, &s->rs[i], 0, errmsg);
				if (rc < 0)
					return rc;
			}
		return 0;
	}
	if (s->recreate)
		return 0;
	/* Proportional scaling (kube's GetProportion / getReplicaSetFraction). */
	int64_t all = 0, *target = s->tgt;
	for (size_t i = 0; i < na; i++)
		all += active[i]->spec;
	struct kp__rs_prop *props = calloc(na, sizeof(*props));
	if (!props)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	for (size_t i = 0; i < na; i++) {
		props[i].spec = active[i]->spec;
		props[i].max_ann = ann_int(active[i]->rs, A_MAX, -1);
		props[i].created = active[i]->created;
		props[i].is_new = active[i] == s->newrs;
	}
	kp__proportional_scale(props, na, s->replicas, s->surge,
			       kp_obj_int(s->d, "status.replicas", all));
	for (size_t i = 0; i < na; i++)
		target[i] = props[i].target;
	free(props);
	for (size_t i = 0; i < na; i++) {
		int rc = scale_rs(s, active[i], target[i], errmsg);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- rollouts ---- */

static int rolling(struct sync *s, char **errmsg)
{
	int rc = ensure_new_rs(s, true, errmsg);
	if (rc < 0 || !s->newrs)
		return rc;
	/* reconcileNewReplicaSet */
	struct rsv *n = s->newrs;
	if (n->spec > s->replicas)
		return scale_rs(s, n, s->replicas, errmsg);
	if (n->spec < s->replicas) {
		int64_t total = 0;
		for (size_t i = 0; i < s->nrs; i++)
			total += s->rs[i].spec;
		int64_t want = kp__new_rs_replicas(s->replicas, s->surge, total, n->spec);
		if (want != n->spec)
			return scale_rs(s, n, want, errmsg);
	}
	/* reconcileOldReplicaSets, oldest first (rs[] is sorted by creation). */
	struct kp__rs_count *old = s->cnt, nc = { n->spec, n->available };
	struct rsv **oldp = s->pa;
	size_t no = 0;
	for (size_t i = 0; i < s->nrs; i++) {
		if (&s->rs[i] == n)
			continue;
		oldp[no] = &s->rs[i];
		old[no].spec = s->rs[i].spec;
		old[no].available = s->rs[i].available;
		no++;
	}
	if (kp__scale_down_old(old, no, &nc, s->replicas, s->unavailable) > 0) {
		for (size_t i = 0; i < no; i++)
			if (old[i].spec != oldp[i]->spec &&
			    (rc = scale_rs(s, oldp[i], old[i].spec, errmsg)) < 0)
				return rc;
	}
	return 0;
}

static int recreate(struct sync *s, char **errmsg)
{
	int rc = ensure_new_rs(s, false, errmsg);
	if (rc < 0)
		return rc;
	bool scaled = false;
	int64_t old_running = 0;
	for (size_t i = 0; i < s->nrs; i++) {
		if (&s->rs[i] == s->newrs)
			continue;
		if (s->rs[i].spec) {
			if ((rc = scale_rs(s, &s->rs[i], 0, errmsg)) < 0)
				return rc;
			scaled = true;
		}
		old_running += s->rs[i].replicas;
	}
	/* Recreate waits until every old pod is gone before creating new ones. */
	if (scaled || old_running)
		return 0;
	if (!s->newrs && (rc = ensure_new_rs(s, true, errmsg)) < 0)
		return rc;
	return s->newrs ? scale_rs(s, s->newrs, s->replicas, errmsg) : 0;
}

static int by_revision(const void *a, const void *b)
{
	const struct rsv *x = *(struct rsv *const *)a, *y = *(struct rsv *const *)b;
	if (x->revision != y->revision)
		return x->revision < y->revision ? -1 : 1;
	return by_created(x, y);
}

/* Deletes old, empty ReplicaSets beyond revisionHistoryLimit, oldest revision first. */
static void cleanup(struct sync *s)
{
	int64_t limit = kp_obj_int(s->d, "spec.revisionHistoryLimit", 10);
	struct rsv **cand = s->pb;
	size_t n = 0;
	for (size_t i = 0; i < s->nrs; i++) {
		struct rsv *r = &s->rs[i];
		if (r != s->newrs && !kp_obj_str(r->rs, "metadata.deletionTimestamp"))
			cand[n++] = r;
	}
	if ((int64_t)n <= limit)
		return;
	qsort(cand, n, sizeof(*cand), by_revision);
	int64_t del = (int64_t)n - limit;
	for (size_t i = 0; i < n && del > 0; i++) {
		struct rsv *r = cand[i];
		if (r->spec || r->replicas)
			continue;
		kp_ctl_delete(s->c, K_RS, s->ns, kp_obj_name(r->rs), kp_obj_uid(r->rs),
			      KP_CTL_BACKGROUND, NULL);
		del--;
	}
}

/* ---- status ---- */

static json_t *condition(const char *type, const char *status, const char *reason,
			 const char *msg, const char *ts, const json_t *prev, bool touch)
{
	const char *pst = prev ? json_string_value(json_object_get(prev, "status")) : NULL;
	const char *pr = prev ? json_string_value(json_object_get(prev, "reason")) : NULL;
	bool same = pst && !strcmp(pst, status);
	const char *trans = same ? json_string_value(json_object_get(prev, "lastTransitionTime")) :
				   NULL;
	const char *upd = same && !touch && pr && !strcmp(pr, reason) ?
				  json_string_value(json_object_get(prev, "lastUpdateTime")) :
				  NULL;
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", type, "status", status,
			 "lastUpdateTime", upd ? upd : ts, "lastTransitionTime", trans ? trans : ts,
			 "reason", reason, "message", msg);
}

/* Returns ms until the progress deadline should be checked again, 0 for none. */
static int64_t write_status(struct sync *s, char **errmsg, int *rc)
{
	int64_t avail = 0, total = 0, spec_total = 0, ready = 0;
	for (size_t i = 0; i < s->nrs; i++) {
		avail += s->rs[i].available;
		total += s->rs[i].replicas;
		spec_total += s->rs[i].spec;
		ready += s->rs[i].ready;
	}
	int64_t updated = s->newrs ? s->newrs->replicas : 0;
	json_t *d = json_deep_copy(s->d);
	json_t *st = json_object_get(d, "status");
	if (!json_is_object(st)) {
		st = json_object();
		json_object_set_new(d, "status", st);
	}
	json_object_set_new(st, "observedGeneration",
			    json_integer(kp_obj_int(s->d, "metadata.generation", 1)));
	json_object_set_new(st, "replicas", json_integer(total));
	json_object_set_new(st, "updatedReplicas", json_integer(updated));
	json_object_set_new(st, "readyReplicas", json_integer(ready));
	json_object_set_new(st, "availableReplicas", json_integer(avail));
	json_object_set_new(st, "unavailableReplicas",
			    json_integer(spec_total > avail ? spec_total - avail : 0));
	char ts[KP_TIME_BUFSZ];
	int64_t now = kp_time_now();
	kp_time_format(now, ts);
	int64_t max_unavail = s->recreate ? 0 : s->unavailable;
	bool min_ok = avail >= s->replicas - max_unavail;
	kp__set_condition(d, condition("Available", min_ok ? "True" : "False",
				       min_ok ? "MinimumReplicasAvailable" :
						"MinimumReplicasUnavailable",
				       min_ok ? "Deployment has minimum availability." :
						"Deployment does not have minimum availability.",
				       ts, kp_obj_condition(s->d, "Available"), false));
	/* Progressing (kube's syncRolloutStatus). */
	json_t *prog = kp_obj_condition(s->d, "Progressing");
	const char *preason = prog ? json_string_value(json_object_get(prog, "reason")) : NULL;
	int64_t deadline = kp_obj_int(s->d, "spec.progressDeadlineSeconds", 600);
	bool complete = s->newrs && updated == s->replicas && total == s->replicas &&
			avail == s->replicas && s->newrs->spec == s->replicas;
	const char *rsname = s->newrs ? kp_obj_name(s->newrs->rs) : "";
	char msg[512];
	int64_t requeue = 0;
	if (kp_obj_bool(s->d, "spec.paused", false)) {
		if (!preason || strcmp(preason, "DeploymentPaused"))
			kp__set_condition(d, condition("Progressing", "Unknown", "DeploymentPaused",
						       "Deployment is paused", ts, prog, true));
	} else if (complete) {
		snprintf(msg, sizeof(msg), "ReplicaSet \"%s\" has successfully progressed.", rsname);
		kp__set_condition(d, condition("Progressing", "True", "NewReplicaSetAvailable", msg,
					       ts, prog, false));
	} else if (s->progressed || !prog || (preason && !strcmp(preason, "DeploymentPaused"))) {
		if (s->reason) {
			kp__set_condition(d, condition("Progressing", "True", s->reason, s->msg, ts,
						       prog, true));
		} else {
			snprintf(msg, sizeof(msg), "ReplicaSet \"%s\" is progressing.", rsname);
			kp__set_condition(d, condition("Progressing", "True", "ReplicaSetUpdated",
						       msg, ts, prog, true));
		}
		requeue = deadline * 1000 + 1;
	} else if (prog && preason && strcmp(preason, "ProgressDeadlineExceeded")) {
		const char *lu = json_string_value(json_object_get(prog, "lastUpdateTime"));
		int64_t t = 0;
		if (lu && kp_time_parse(lu, &t) == 0 && t + deadline <= now &&
		    strcmp(preason, "NewReplicaSetAvailable")) {
			snprintf(msg, sizeof(msg), "ReplicaSet \"%s\" has timed out progressing.",
				 rsname);
			kp__set_condition(d, condition("Progressing", "False",
						       "ProgressDeadlineExceeded", msg, ts, prog,
						       true));
			kp_ctl_event(s->c, s->d, "Warning", "ProgressDeadlineExceeded", "%s", msg);
		} else if (t && strcmp(preason, "NewReplicaSetAvailable")) {
			requeue = (t + deadline - now) * 1000 + 1;
		}
	}
	*rc = 0;
	if (!json_equal(json_object_get(d, "status"), kp_obj_get(s->d, "status"))) {
		kp_obj_del(d, "metadata.resourceVersion");
		*rc = kp_ctl_update_status(s->c, K_DEPLOY, d, NULL, errmsg);
		if (*rc == KP_ENOENT)
			*rc = 0;
	}
	json_decref(d);
	return requeue;
}

static int64_t reconcile(struct kp_ctl *c, void *state, const char *key, char **errmsg)
{
	(void)state;
	char ns[256], name[256];
	if (!kp__split_key(key, ns, name, sizeof(ns)))
		return 0;
	json_t *cached = kp_ctl_get(c, K_DEPLOY, ns, name);
	if (!cached)
		return 0;
	struct sync s = { .c = c, .ns = ns, .name = name };
	s.d = json_deep_copy(cached);
	json_decref(cached);
	s.replicas = kp_obj_int(s.d, "spec.replicas", 1);
	const char *type = kp_obj_str(s.d, "spec.strategy.type");
	s.recreate = type && !strcmp(type, "Recreate");
	int rc = 0;
	if (!s.recreate) {
		rc = kp__resolve_fenceposts(kp_obj_get(s.d, "spec.strategy.rollingUpdate.maxSurge"),
					    kp_obj_get(s.d, "spec.strategy.rollingUpdate.maxUnavailable"),
					    s.replicas, &s.surge, &s.unavailable, errmsg);
		if (rc < 0) {
			kp_ctl_event(c, s.d, "Warning", "InvalidStrategy", "%s", *errmsg);
			sync_release(&s);
			return 0; /* nothing to retry until the user fixes it */
		}
	}
	struct kp_label_selector *sel = NULL;
	if (kp_label_selector_from_json(kp_obj_get(s.d, "spec.selector"), &sel, NULL) < 0 ||
	    kp_label_selector_is_everything(sel)) {
		kp_ctl_event(c, s.d, "Warning", "SelectingAll",
			     "This deployment is selecting all pods. A non-empty selector is "
			     "required.");
		kp_label_selector_free(sel);
		sync_release(&s);
		return 0;
	}
	rc = claim(&s, sel, errmsg);
	kp_label_selector_free(sel);
	int64_t ret = 0;
	if (rc == 0 && !kp_obj_str(s.d, "metadata.deletionTimestamp")) {
		if (kp_obj_bool(s.d, "spec.paused", false)) {
			if ((rc = ensure_new_rs(&s, false, errmsg)) == 0)
				rc = scale(&s, errmsg);
			if (rc == 0)
				cleanup(&s);
		} else if (is_scaling_event(&s)) {
			if ((rc = ensure_new_rs(&s, false, errmsg)) == 0)
				rc = scale(&s, errmsg);
		} else {
			rc = s.recreate ? recreate(&s, errmsg) : rolling(&s, errmsg);
			if (rc == 0 && s.newrs && s.newrs->available == s.replicas &&
			    s.newrs->spec == s.replicas)
				cleanup(&s);
		}
	}
	int src = 0;
	char *serr = NULL;
	ret = write_status(&s, rc ? &serr : errmsg, &src);
	free(serr);
	sync_release(&s);
	if (rc < 0)
		return rc;
	if (src < 0)
		return src;
	return ret;
}

static const struct kp_controller_ops ops = {
	KP_CONTROLLER_OPS,
	.kinds = kinds,
	.workers = 5,
	.on_change = on_change,
	.reconcile = reconcile,
};

KP_PLUGIN_DEFINE(deployment) = {
	KP_PLUGIN_HEADER(KP_PLUGIN_CONTROLLER),
	.name = "deployment",
	.version = "1.0",
	.description = "rolls Deployments out through ReplicaSets",
	.controller = &ops,
};

/*
 * workload.c - pure helpers of the workload controllers. See workload.h.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/error.h>
#include <kplane/object.h>

#include "plugins/controllers/workload.h"

bool kp__pod_active(const json_t *pod)
{
	const char *ph = kp_obj_str(pod, "status.phase");
	if (ph && (!strcmp(ph, "Succeeded") || !strcmp(ph, "Failed")))
		return false;
	return !kp_obj_str(pod, "metadata.deletionTimestamp");
}

static const json_t *ready_cond(const json_t *pod)
{
	json_t *conds = kp_obj_get(pod, "status.conditions");
	size_t i;
	json_t *c;
	json_array_foreach(conds, i, c) {
		const char *t = json_string_value(json_object_get(c, "type"));
		if (t && !strcmp(t, "Ready"))
			return c;
	}
	return NULL;
}

bool kp__pod_ready(const json_t *pod)
{
	const json_t *c = ready_cond(pod);
	const char *s = c ? json_string_value(json_object_get(c, "status")) : NULL;
	return s && !strcmp(s, "True");
}

int64_t kp__pod_ready_since(const json_t *pod)
{
	if (!kp__pod_ready(pod))
		return 0;
	const char *t = json_string_value(json_object_get(ready_cond(pod), "lastTransitionTime"));
	int64_t v = 0;
	if (!t || kp_time_parse(t, &v) < 0)
		return 0;
	return v;
}

bool kp__pod_available(const json_t *pod, int64_t min_ready, int64_t now)
{
	if (!kp__pod_ready(pod))
		return false;
	if (min_ready <= 0)
		return true;
	int64_t since = kp__pod_ready_since(pod);
	return since && since + min_ready <= now;
}

/* ---- deletion order ---- */

struct ranked {
	json_t *pod;
	int rank;
	const char *node;
	int phase;
	bool ready;
	int64_t cost;
	int64_t ready_since;
	int64_t restarts;
	int64_t created;
};

static int phase_ordinal(const char *ph)
{
	/* kube's podPhaseToOrdinal; phases it lacks count as 0 (a Go map miss). */
	if (ph && !strcmp(ph, "Unknown"))
		return 1;
	if (ph && !strcmp(ph, "Running"))
		return 2;
	return 0;
}

static int64_t max_restarts(const json_t *pod)
{
	int64_t m = 0;
	size_t i;
	json_t *cs;
	json_array_foreach(kp_obj_get(pod, "status.containerStatuses"), i, cs) {
		json_int_t r = json_integer_value(json_object_get(cs, "restartCount"));
		if (r > m)
			m = r;
	}
	return m;
}

/* kube's afterOrZero: a zero time sorts first, then the later time. */
static int after_or_zero(int64_t a, int64_t b)
{
	if (a == b)
		return 0;
	if (!a)
		return -1;
	if (!b)
		return 1;
	return a > b ? -1 : 1;
}

static int delete_cmp(const void *pa, const void *pb)
{
	const struct ranked *a = pa, *b = pb;
	bool ua = !a->node || !*a->node, ub = !b->node || !*b->node;
	if (ua != ub)
		return ua ? -1 : 1;
	if (a->phase != b->phase)
		return a->phase < b->phase ? -1 : 1;
	if (a->ready != b->ready)
		return a->ready ? 1 : -1;
	if (a->cost != b->cost)
		return a->cost < b->cost ? -1 : 1;
	if (a->rank != b->rank)
		return a->rank > b->rank ? -1 : 1;
	if (a->ready && b->ready) {
		int r = after_or_zero(a->ready_since, b->ready_since);
		if (r)
			return r;
	}
	if (a->restarts != b->restarts)
		return a->restarts > b->restarts ? -1 : 1;
	return after_or_zero(a->created, b->created);
}

void kp__pods_sort_for_deletion(json_t *pods)
{
	size_t n = json_array_size(pods);
	if (n < 2)
		return;
	struct ranked *r = calloc(n, sizeof(*r));
	if (!r)
		return;
	for (size_t i = 0; i < n; i++) {
		json_t *p = json_array_get(pods, i);
		r[i].pod = json_incref(p);
		r[i].node = kp_obj_str(p, "spec.nodeName");
		r[i].phase = phase_ordinal(kp_obj_str(p, "status.phase"));
		r[i].ready = kp__pod_ready(p);
		const char *cost = kp_obj_annotation(p, "controller.kubernetes.io/pod-deletion-cost");
		r[i].cost = cost ? strtoll(cost, NULL, 10) : 0;
		r[i].ready_since = kp__pod_ready_since(p);
		r[i].restarts = max_restarts(p);
		const char *ct = kp_obj_str(p, "metadata.creationTimestamp");
		if (!ct || kp_time_parse(ct, &r[i].created) < 0)
			r[i].created = 0;
	}
	/* Rank: how many of these pods share the node (doubled-up pods go first). */
	for (size_t i = 0; i < n; i++) {
		if (!r[i].node || !*r[i].node)
			continue;
		for (size_t j = 0; j < n; j++)
			if (j != i && r[j].node && !strcmp(r[i].node, r[j].node))
				r[i].rank++;
	}
	qsort(r, n, sizeof(*r), delete_cmp);
	json_array_clear(pods);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(pods, r[i].pod);
	free(r);
}

/* ---- int or percent ---- */

int kp__int_or_percent(const json_t *v, int64_t def, int64_t total, bool round_up,
		       const char *field, int64_t *out, char **errmsg)
{
	if (!v || json_is_null(v)) {
		*out = def;
		return 0;
	}
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return kp_error_set(errmsg, KP_EINVAL, "%s: must be greater than or equal to 0",
					    field);
		*out = json_integer_value(v);
		return 0;
	}
	const char *s = json_string_value(v);
	size_t len = s ? strlen(s) : 0;
	if (!len || s[len - 1] != '%')
		return kp_error_set(errmsg, KP_EINVAL,
				    "%s: invalid value for IntOrString: invalid type: string is not a "
				    "percentage",
				    field);
	char *end;
	errno = 0;
	long long pct = strtoll(s, &end, 10);
	if (end != s + len - 1 || errno || pct < 0 || end == s)
		return kp_error_set(errmsg, KP_EINVAL, "%s: invalid value \"%s\"", field, s);
	if (round_up)
		*out = (pct * total + 99) / 100;
	else
		*out = pct * total / 100;
	return 0;
}

int kp__resolve_fenceposts(const json_t *max_surge, const json_t *max_unavailable,
			   int64_t replicas, int64_t *surge, int64_t *unavailable, char **errmsg)
{
	static const char *def = "25%";
	json_t *d = json_string(def);
	/* Absent or null: the API default, 25%. */
	if (json_is_null(max_surge))
		max_surge = NULL;
	if (json_is_null(max_unavailable))
		max_unavailable = NULL;
	int rc = kp__int_or_percent(max_surge ? max_surge : d, 0, replicas, true,
				    "spec.strategy.rollingUpdate.maxSurge", surge, errmsg);
	if (!rc)
		rc = kp__int_or_percent(max_unavailable ? max_unavailable : d, 0, replicas, false,
					"spec.strategy.rollingUpdate.maxUnavailable", unavailable,
					errmsg);
	json_decref(d);
	if (rc)
		return rc;
	if (*surge == 0 && *unavailable == 0)
		*unavailable = 1;
	return 0;
}

int64_t kp__new_rs_replicas(int64_t replicas, int64_t surge, int64_t total, int64_t new_spec)
{
	int64_t max_total = replicas + surge;
	if (total >= max_total)
		return new_spec;
	int64_t up = max_total - total;
	if (up > replicas - new_spec)
		up = replicas - new_spec;
	if (up < 0)
		up = 0;
	return new_spec + up;
}

int64_t kp__scale_down_old(struct kp__rs_count *old, size_t nold, const struct kp__rs_count *newrs,
			   int64_t replicas, int64_t unavailable)
{
	int64_t old_pods = 0, all = newrs->spec, avail_all = newrs->available;
	for (size_t i = 0; i < nold; i++) {
		old_pods += old[i].spec;
		all += old[i].spec;
		avail_all += old[i].available;
	}
	if (old_pods == 0)
		return 0;
	int64_t min_available = replicas - unavailable;
	int64_t new_unavailable = newrs->spec - newrs->available;
	int64_t max_down = all - min_available - new_unavailable;
	if (max_down <= 0)
		return 0;
	/* Unhealthy replicas first: removing them costs no availability. */
	int64_t cleaned = 0;
	for (size_t i = 0; i < nold && cleaned < max_down; i++) {
		if (old[i].spec == 0 || old[i].spec <= old[i].available)
			continue;
		int64_t d = old[i].spec - old[i].available;
		if (d > max_down - cleaned)
			d = max_down - cleaned;
		old[i].spec -= d;
		cleaned += d;
	}
	/* Then available ones, keeping min_available. */
	if (avail_all <= min_available)
		return cleaned;
	int64_t want = avail_all - min_available, done = 0;
	for (size_t i = 0; i < nold && done < want; i++) {
		if (old[i].spec == 0)
			continue;
		int64_t d = old[i].spec < want - done ? old[i].spec : want - done;
		old[i].spec -= d;
		done += d;
	}
	return cleaned + done;
}

static int prop_add_order(const void *a, const void *b)
{
	const struct kp__rs_prop *x = *(struct kp__rs_prop *const *)a, *y = *(struct kp__rs_prop *const *)b;
	if (x->spec != y->spec)
		return x->spec > y->spec ? -1 : 1;
	return x->created > y->created ? -1 : x->created < y->created ? 1 : 0;
}

static int prop_remove_order(const void *a, const void *b)
{
	const struct kp__rs_prop *x = *(struct kp__rs_prop *const *)a, *y = *(struct kp__rs_prop *const *)b;
	if (x->spec != y->spec)
		return x->spec > y->spec ? -1 : 1;
	return x->created < y->created ? -1 : x->created > y->created ? 1 : 0;
}

void kp__proportional_scale(struct kp__rs_prop *rs, size_t n, int64_t replicas, int64_t surge,
			    int64_t status_replicas)
{
	struct kp__rs_prop **order = calloc(n + 1, sizeof(*order));
	if (!order)
		return;
	int64_t all = 0;
	for (size_t i = 0; i < n; i++) {
		order[i] = &rs[i];
		all += rs[i].spec;
		rs[i].target = rs[i].spec;
	}
	int64_t allowed = replicas > 0 ? replicas + surge : 0;
	int64_t to_add = allowed - all, added = 0;
	qsort(order, n, sizeof(*order), to_add > 0 ? prop_add_order : prop_remove_order);
	for (size_t i = 0; i < n; i++) {
		struct kp__rs_prop *r = order[i];
		if (to_add == 0 || to_add == added)
			break;
		int64_t frac;
		if (replicas == 0) {
			frac = -r->spec;
		} else {
			int64_t annotated = r->max_ann > 0 ? r->max_ann : status_replicas;
			double sz = annotated > 0 ? (double)r->spec * (double)allowed / (double)annotated :
						    (double)r->spec;
			frac = (int64_t)(sz + 0.5) - r->spec;
		}
		int64_t left = to_add - added;
		int64_t prop = to_add > 0 ? (frac < left ? frac : left) : (frac > left ? frac : left);
		r->target += prop;
		added += prop;
	}
	if (added != to_add && n) {
		struct kp__rs_prop *t = order[0];
		for (size_t i = 0; i < n; i++)
			if (order[i]->is_new)
				t = order[i];
		t->target += to_add - added;
		if (t->target < 0)
			t->target = 0;
	}
	free(order);
}

void kp__template_hash(const json_t *tmpl, int64_t collision_count, char out[16])
{
	static const char alpha[] = "bcdfghjklmnpqrstvwxz2456789";
	char *s = json_dumps(tmpl, JSON_COMPACT | JSON_SORT_KEYS);
	uint32_t h = 2166136261u;
	for (const char *p = s ? s : ""; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	free(s);
	if (collision_count > 0) {
		uint32_t c = (uint32_t)collision_count;
		for (int i = 0; i < 4; i++)
			h = (h ^ ((c >> (8 * i)) & 0xff)) * 16777619u;
	}
	char dec[16];
	snprintf(dec, sizeof(dec), "%u", h);
	size_t i;
	for (i = 0; dec[i] && i < 15; i++)
		out[i] = alpha[(unsigned char)dec[i] % (sizeof(alpha) - 1)];
	out[i] = 0;
}

static int by_revision(const void *a, const void *b)
{
	int64_t x = kp_obj_int(*(json_t *const *)a, "revision", 0);
	int64_t y = kp_obj_int(*(json_t *const *)b, "revision", 0);
	return x < y ? -1 : x > y;
}

void kp__history_plan(const json_t *revs, const char *cur, const json_t *live, int64_t limit,
		      bool live_counts, int64_t *revision, json_t *prune)
{
	size_t n = json_array_size(revs), nold = 0;
	json_t **old = calloc(n + 1, sizeof(*old));
	int64_t max_other = 0, cur_rev = -1;
	for (size_t i = 0; i < n; i++) {
		json_t *r = json_array_get(revs, i);
		const char *name = kp_obj_name(r);
		int64_t v = kp_obj_int(r, "revision", 0);
		if (name && !strcmp(name, cur)) {
			cur_rev = v;
			continue;
		}
		if (v > max_other)
			max_other = v;
		if (old && (live_counts || !json_object_get(live, name ? name : "")))
			old[nold++] = r;
	}
	*revision = cur_rev > max_other ? cur_rev : max_other + 1;
	if (!old)
		return;
	qsort(old, nold, sizeof(*old), by_revision);
	int64_t kill = (int64_t)nold - (limit < 0 ? 0 : limit);
	for (size_t i = 0; i < nold && kill > 0; i++) {
		const char *name = kp_obj_name(old[i]);
		if (!name || json_object_get(live, name))
			continue;
		json_array_append_new(prune, json_string(name));
		kill--;
	}
	free(old);
}

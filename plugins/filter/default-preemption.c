/*
 * default-preemption.c - DefaultPreemption: when no node fits a pod, find a
 * node where evicting lower-priority pods makes it fit, evict them and
 * nominate the node (kube-scheduler's plugins/defaultpreemption with the
 * preemption evaluator of framework/preemption).
 *
 * PostFilter, on the scheduling thread:
 *  1. eligibility: preemptionPolicy Never, or a terminating victim of an
 *     earlier preemption still on the pod's nominated node, stop here;
 *  2. candidates: nodes whose filters said Unschedulable (not Unresolvable),
 *     visited from a pseudo-random offset; per node, on a copy of the node
 *     and of the cycle state, remove every lower-priority pod, check that
 *     the pod fits, then put pods back (PDB-violating ones first, each group
 *     from the most important) while it still fits: those that cannot come
 *     back are the victims. The visit stops once at least one candidate
 *     violates no PDB and max(minCandidateNodesPercentage% of the nodes,
 *     minCandidateNodesAbsolute) candidates were found;
 *  3. the node: fewest PDB violations, then lowest highest victim priority,
 *     lowest sum of priorities, fewest victims, latest start of the highest
 *     priority victims, then the first;
 *  4. victims waiting in Permit are rejected, the others get the
 *     DisruptionTarget condition and are deleted; the node is nominated.
 *
 * Messages are kube-scheduler's ("preemption: 0/5 nodes are available: 2 No
 * preemption victims found for incoming pod, 3 Preemption is not helpful
 * for scheduling."). What is left out is listed in
 * docs/plugins-reference-volumes-preemption.md.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/object.h>
#include <kplane/plugin.h>
#include <kplane/selector.h>

#define R_NO_VICTIMS "No preemption victims found for incoming pod"
#define R_NOT_HELPFUL "Preemption is not helpful for scheduling"

/* DefaultPreemptionArgs */
struct args {
	int64_t min_candidate_nodes_percentage;
	int64_t min_candidate_nodes_absolute;
};

static const struct kp_arg_spec arg_spec[] = {
	{ "minCandidateNodesPercentage", KP_ARG_INT,
	  offsetof(struct args, min_candidate_nodes_percentage), "10", 0, 100 },
	{ "minCandidateNodesAbsolute", KP_ARG_INT,
	  offsetof(struct args, min_candidate_nodes_absolute), "100", 0, INT32_MAX },
	{ NULL, 0, 0, NULL, 0, 0 },
};

struct self {
	struct kp_sched_handle *handle;
	int64_t pct, abs;
};

static int init(const struct kp_sched_init *in, void **out, char **errmsg)
{
	const struct args *a = in->args;
	int64_t pct = a ? a->min_candidate_nodes_percentage : 10;
	int64_t abs = a ? a->min_candidate_nodes_absolute : 100;
	/* ValidateDefaultPreemptionArgs (ranges are checked by the arg spec) */
	if (pct == 0 && abs == 0)
		return kp_error_set(errmsg, KP_EINVAL,
				    "pluginConfig[DefaultPreemption].args: Invalid value: both "
				    "minCandidateNodesPercentage and minCandidateNodesAbsolute "
				    "cannot be zero");
	struct self *s = calloc(1, sizeof(*s));
	if (!s)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	s->handle = in->handle;
	s->pct = pct;
	s->abs = abs;
	*out = s;
	return 0;
}

static void fini(void *self)
{
	free(self);
}

/* ------------------------------------------------------------------ */
/* PodDisruptionBudgets                                               */

struct pdb {
	int32_t ns;
	struct kp_isel sel;
	bool usable;              /* selector compiled and not empty */
	int64_t allowed;          /* status.disruptionsAllowed */
	const json_t *disrupted;  /* status.disruptedPods (borrowed), keyed by pod name */
};

struct pdbs {
	struct pdb *v;
	uint32_t n, cap;
	int rc;
};

static int collect_pdb(const json_t *obj, void *arg)
{
	struct pdbs *p = arg;
	if (p->n == p->cap) {
		uint32_t nc = p->cap ? p->cap * 2 : 8;
		void *v = realloc(p->v, nc * sizeof(*p->v));
		if (!v) {
			p->rc = KP_ENOMEM;
			return 1;
		}
		p->v = v;
		p->cap = nc;
	}
	struct pdb *d = &p->v[p->n++];
	memset(d, 0, sizeof(*d));
	const char *ns = kp_obj_namespace(obj);
	d->ns = kp_intern(ns ? ns : "default");
	d->allowed = kp_obj_int(obj, "status.disruptionsAllowed", 0);
	d->disrupted = kp_obj_get(obj, "status.disruptedPods");
	/* An invalid, nil or empty selector matches nothing. */
	struct kp_label_selector *sel = NULL;
	if (kp_label_selector_from_json(kp_obj_get(obj, "spec.selector"), &sel, NULL) == 0) {
		if (!sel->nothing && sel->n > 0 && kp_isel_compile(sel, &d->sel, NULL) == 0)
			d->usable = true;
		kp_label_selector_free(sel);
	}
	return 0;
}

static void pdbs_release(struct pdbs *p)
{
	for (uint32_t i = 0; i < p->n; i++)
		if (p->v[i].usable)
			kp_isel_release(&p->v[i].sel);
	free(p->v);
}

/* ------------------------------------------------------------------ */
/* Victims                                                            */

struct victim {
	const struct kp_pod_info *pod;
	int64_t start;            /* status.startTime, ns; "now" when unset */
	bool violating;
};

/* GetPodStartTime: pods not started yet count as starting now. */
static int64_t start_time(const struct kp_pod_info *p, int64_t now)
{
	const char *s = kp_obj_str(p->obj, "status.startTime");
	int64_t sec;
	if (s && kp_time_parse(s, &sec) == 0)
		return sec * 1000000000LL;
	return now;
}

/* MoreImportantPod: higher priority, then started earlier. */
static bool more_important(const struct victim *a, const struct victim *b)
{
	if (a->pod->priority != b->pod->priority)
		return a->pod->priority > b->pod->priority;
	return a->start < b->start;
}

/* Stable sort by descending importance (insertion: victim lists are short
 * and Go's sort.Slice gives no order for equal pods anyway). */
static void sort_victims(struct victim *v, uint32_t n)
{
	for (uint32_t i = 1; i < n; i++) {
		struct victim x = v[i];
		uint32_t j = i;
		while (j > 0 && more_important(&x, &v[j - 1])) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
}

/* filterPodsWithPDBViolation over the sorted victims: each pod matching a
 * PDB of its namespace (and not already in its disruptedPods) uses up one
 * allowed disruption; a pod that drives any budget below zero violates. */
static void mark_violations(struct victim *v, uint32_t n, const struct pdbs *p, int64_t *allowed)
{
	for (uint32_t i = 0; i < p->n; i++)
		allowed[i] = p->v[i].allowed;
	for (uint32_t k = 0; k < n; k++) {
		const struct kp_pod_info *pod = v[k].pod;
		v[k].violating = false;
		if (!pod->labels.n)
			continue;
		for (uint32_t i = 0; i < p->n; i++) {
			const struct pdb *d = &p->v[i];
			if (!d->usable || d->ns != pod->ns_id || !kp_isel_matches(&d->sel, &pod->labels))
				continue;
			if (json_object_get(d->disrupted, pod->name))
				continue;
			if (--allowed[i] < 0)
				v[k].violating = true;
		}
	}
}

struct candidate {
	const struct kp_node_info *node;
	struct victim *victims;   /* sorted by descending importance */
	uint32_t nvictims;
	uint32_t nviolating;
};

struct ctx {
	struct self *s;
	struct kp_cycle *cy;
	const struct kp_pod_info *pod;
	const struct pdbs *pdbs;
	int64_t *allowed;         /* scratch, one per PDB */
	int64_t now;
};

/*
 * SelectVictimsOnNode on a copy of node. Returns a kp_code: SUCCESS with
 * c filled (victims malloc'ed), or the failure with reasons in st.
 */
static int select_victims(struct ctx *x, const struct kp_node_info *node, struct candidate *c,
			  struct kp_status *st)
{
	int code;
	struct kp_node_info *copy = kp_node_info_clone(node);
	struct kp_cycle *cy = kp_cycle_clone(x->s->handle, x->cy);
	struct victim *v = NULL, *out = NULL;
	if (!copy || !cy)
		goto out_nomem;
	v = calloc(node->npods ? node->npods : 1, sizeof(*v));
	out = calloc(node->npods ? node->npods : 1, sizeof(*out));
	if (!v || !out)
		goto out_nomem;
	uint32_t n = 0;
	for (uint32_t i = 0; i < node->npods; i++) {
		const struct kp_pod_info *p = node->pods[i];
		if (p->priority < x->pod->priority) {
			v[n].pod = p;
			v[n].start = start_time(p, x->now);
			n++;
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		if (kp_node_info_remove_pod(copy, v[i].pod) < 0)
			goto out_error;
		code = kp_sched_run_pre_filter_remove_pod(x->s->handle, cy, x->pod, v[i].pod, copy, st);
		if (code != KP_STATUS_SUCCESS)
			goto out_free;
	}
	if (!n) {
		kp_status_add(st, R_NO_VICTIMS);
		code = KP_STATUS_UNRESOLVABLE;
		goto out_free;
	}
	code = kp_sched_run_filters(x->s->handle, cy, x->pod, copy, st);
	if (code != KP_STATUS_SUCCESS)
		goto out_free;

	sort_victims(v, n);
	mark_violations(v, n, x->pdbs, x->allowed);
	uint32_t nout = 0, nviol = 0, nviolating_group = 0;
	/* reprieve: the violating group first, then the rest, each in order */
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < n; i++) {
			if (v[i].violating != (pass == 0))
				continue;
			if (pass == 0)
				nviolating_group++;
			if (kp_node_info_add_pod(copy, v[i].pod) < 0)
				goto out_error;
			struct kp_status tmp;
			memset(&tmp, 0, sizeof(tmp));
			code = kp_sched_run_pre_filter_add_pod(x->s->handle, cy, x->pod, v[i].pod, copy,
							       &tmp);
			if (code != KP_STATUS_SUCCESS) {
				*st = tmp;
				goto out_free;
			}
			if (kp_sched_run_filters(x->s->handle, cy, x->pod, copy, &tmp) ==
			    KP_STATUS_SUCCESS)
				continue;
			if (kp_node_info_remove_pod(copy, v[i].pod) < 0)
				goto out_error;
			memset(&tmp, 0, sizeof(tmp));
			code = kp_sched_run_pre_filter_remove_pod(x->s->handle, cy, x->pod, v[i].pod,
								  copy, &tmp);
			if (code != KP_STATUS_SUCCESS) {
				*st = tmp;
				goto out_free;
			}
			out[nout++] = v[i];
			if (pass == 0)
				nviol++;
		}
	}
	if (nviolating_group && nviolating_group < n)
		sort_victims(out, nout);
	if (!nout) {
		kp_status_addf(st, "expected at least one victim pod on node \"%s\"", node->name);
		code = KP_STATUS_ERROR;
		goto out_free;
	}
	c->node = node;
	c->victims = out;
	c->nvictims = nout;
	c->nviolating = nviol;
	out = NULL;
	code = KP_STATUS_SUCCESS;
	goto out_free;

out_error:
	kp_status_addf(st, "preemption: could not update the copy of node \"%s\"", node->name);
	code = KP_STATUS_ERROR;
	goto out_free;
out_nomem:
	kp_status_add(st, "out of memory");
	code = KP_STATUS_ERROR;
out_free:
	free(v);
	free(out);
	if (cy)
		kp_cycle_free(cy);
	if (copy)
		kp_node_info_free(copy);
	return code;
}

/* GetEarliestPodStartTime: the earliest start among the highest-priority victims. */
static int64_t earliest_top_start(const struct candidate *c)
{
	int32_t top = c->victims[0].pod->priority;
	int64_t t = c->victims[0].start;
	for (uint32_t i = 1; i < c->nvictims; i++) {
		const struct victim *v = &c->victims[i];
		if (v->pod->priority > top) {
			top = v->pod->priority;
			t = v->start;
		} else if (v->pod->priority == top && v->start < t) {
			t = v->start;
		}
	}
	return t;
}

static int64_t crit(const struct candidate *c, int k)
{
	switch (k) {
	case 0:
		return -(int64_t)c->nviolating;
	case 1:
		return -(int64_t)c->victims[0].pod->priority;
	case 2: {
		/* +2^31 per pod, so that more negative-priority pods never win */
		int64_t sum = 0;
		for (uint32_t i = 0; i < c->nvictims; i++)
			sum += (int64_t)c->victims[i].pod->priority + ((int64_t)INT32_MAX + 1);
		return -sum;
	}
	case 3:
		return -(int64_t)c->nvictims;
	default:
		return earliest_top_start(c);
	}
}

/* pickOneNodeForPreemption: each criterion keeps the best-scoring
 * candidates; the first remaining one wins. sel is scratch of n entries. */
static const struct candidate *pick(const struct candidate *cands, uint32_t n, uint32_t *sel)
{
	uint32_t ns = n;
	for (uint32_t i = 0; i < n; i++)
		sel[i] = i;
	for (int k = 0; k < 5 && ns > 1; k++) {
		int64_t best = INT64_MIN;
		uint32_t keep = 0;
		for (uint32_t i = 0; i < ns; i++) {
			int64_t sc = crit(&cands[sel[i]], k);
			if (sc > best) {
				best = sc;
				keep = 0;
			}
			if (sc == best)
				sel[keep++] = sel[i];
		}
		ns = keep;
	}
	return &cands[sel[0]];
}

/* ------------------------------------------------------------------ */
/* The "0/N nodes are available: ..." message                         */

struct reason_count {
	const char *reason;
	uint32_t count;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * FitError.Error() prefixed "preemption: ": counts each reason of each
 * node's status, prints "<count> <reason>" for each, sorted as strings.
 */
static void fit_message(struct kp_status *out, uint32_t nall, const struct kp_status *sts,
			uint32_t nsts, uint32_t not_helpful)
{
	struct reason_count *rc = calloc((size_t)nsts * KP_STATUS_MAX_REASONS + 1, sizeof(*rc));
	char **lines = calloc((size_t)nsts * KP_STATUS_MAX_REASONS + 1, sizeof(*lines));
	uint32_t nrc = 0;
	if (!rc || !lines)
		goto out_nomem;
	for (uint32_t i = 0; i < nsts; i++)
		for (uint32_t r = 0; r < sts[i].nreasons; r++) {
			uint32_t k = 0;
			while (k < nrc && strcmp(rc[k].reason, sts[i].reasons[r]))
				k++;
			if (k == nrc)
				rc[nrc++].reason = sts[i].reasons[r];
			rc[k].count++;
		}
	if (not_helpful) {
		uint32_t k = 0;
		while (k < nrc && strcmp(rc[k].reason, R_NOT_HELPFUL))
			k++;
		if (k == nrc)
			rc[nrc++].reason = R_NOT_HELPFUL;
		rc[k].count += not_helpful;
	}
	size_t len = 0;
	for (uint32_t k = 0; k < nrc; k++) {
		if (asprintf(&lines[k], "%u %s", rc[k].count, rc[k].reason) < 0) {
			lines[k] = NULL;
			goto out_free_lines;
		}
		len += strlen(lines[k]) + 2;
	}
	qsort(lines, nrc, sizeof(*lines), cmp_str);
	char *msg = malloc(len + 64);
	if (!msg)
		goto out_free_lines;
	int w = sprintf(msg, "0/%u nodes are available:", nall);
	for (uint32_t k = 0; k < nrc; k++)
		w += sprintf(msg + w, "%s%s", k ? ", " : " ", lines[k]);
	if (nrc)
		msg[w++] = '.';
	msg[w] = 0;
	kp_status_addf(out, "preemption: %s", msg);
	free(msg);
	for (uint32_t k = 0; k < nrc; k++)
		free(lines[k]);
	free(lines);
	free(rc);
	return;
out_free_lines:
	for (uint32_t k = 0; k < nrc; k++)
		free(lines[k]);
out_nomem:
	free(lines);
	free(rc);
	kp_status_add(out, "preemption: out of memory");
}

/* ------------------------------------------------------------------ */
/* Evicting                                                           */

/* podTerminatingByPreemption */
static bool terminating_by_preemption(const struct kp_pod_info *p)
{
	if (!(p->flags & KP_POD_TERMINATING))
		return false;
	size_t i;
	json_t *c;
	json_array_foreach(kp_obj_get(p->obj, "status.conditions"), i, c) {
		const char *type = kp_obj_str(c, "type");
		if (!type || strcmp(type, "DisruptionTarget"))
			continue;
		const char *status = kp_obj_str(c, "status"), *reason = kp_obj_str(c, "reason");
		return status && !strcmp(status, "True") && reason &&
		       !strcmp(reason, "PreemptionByScheduler");
	}
	return false;
}

/* The victim with the DisruptionTarget condition set (new reference), or
 * NULL when it already carries it unchanged (apipod.UpdatePodCondition). */
static json_t *with_disruption_condition(const json_t *obj, const char *scheduler, int *rc)
{
	char msg[300], ts[KP_TIME_BUFSZ];
	snprintf(msg, sizeof(msg), "%s: preempting to accommodate a higher priority pod", scheduler);
	*rc = 0;
	json_t *conds = kp_obj_get(obj, "status.conditions");
	size_t i, at = (size_t)-1;
	json_t *c;
	json_array_foreach(conds, i, c) {
		const char *type = kp_obj_str(c, "type");
		if (type && !strcmp(type, "DisruptionTarget")) {
			const char *st = kp_obj_str(c, "status"), *re = kp_obj_str(c, "reason"),
				   *me = kp_obj_str(c, "message");
			if (st && !strcmp(st, "True") && re && !strcmp(re, "PreemptionByScheduler") &&
			    me && !strcmp(me, msg))
				return NULL;
			at = i;
			break;
		}
	}
	json_t *copy = json_deep_copy(obj);
	json_t *cond = json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "DisruptionTarget", "status",
				 "True", "reason", "PreemptionByScheduler", "message", msg,
				 "lastTransitionTime",
				 kp_time_format(kp_time_now(), ts) ? ts : "");
	if (!copy || !cond)
		goto out_nomem;
	json_t *arr = kp_obj_get(copy, "status.conditions");
	if (!json_is_array(arr)) {
		if (kp_obj_set(copy, "status.conditions", json_array()) < 0)
			goto out_nomem;
		arr = kp_obj_get(copy, "status.conditions");
	}
	if ((at != (size_t)-1 ? json_array_set_new(arr, at, cond) :
				json_array_append_new(arr, cond)) < 0) {
		cond = NULL;
		goto out_nomem;
	}
	return copy;
out_nomem:
	json_decref(cond);
	json_decref(copy);
	*rc = KP_ENOMEM;
	return NULL;
}

/* PreemptPod for one victim: reject it if it waits in Permit, otherwise
 * mark it DisruptionTarget and delete it. A victim already gone is fine. */
static int preempt_pod(struct self *s, const struct kp_pod_info *pod, const struct kp_pod_info *victim,
		       const struct kp_node_info *node, char **errmsg)
{
	if (kp_sched_reject(s->handle, victim->uid, "preempted") < 0) {
		int rc;
		json_t *upd = with_disruption_condition(victim->obj,
							kp_intern_str(pod->scheduler_name), &rc);
		if (rc < 0)
			return kp_error_set(errmsg, rc, "out of memory");
		if (upd) {
			rc = kp_sched_host_update(s->handle, upd, errmsg);
			json_decref(upd);
			if (rc == KP_ENOENT) {
				free(*errmsg);
				*errmsg = NULL;
				return 0;
			}
			if (rc == KP_ENOTSUP) {
				/* a host that cannot write objects: the condition is
				 * informational, the deletion below is what matters */
				free(*errmsg);
				*errmsg = NULL;
				rc = 0;
			}
			if (rc < 0)
				return rc;
		}
		char reason[512];
		snprintf(reason, sizeof(reason), "Preempted by pod %s on node %s", pod->uid,
			 node->name);
		rc = kp_sched_host_delete_pod(s->handle, victim, reason, errmsg);
		if (rc == KP_ENOENT) {
			free(*errmsg);
			*errmsg = NULL;
			return 0;
		}
		if (rc < 0)
			return rc;
	}
	kp_sched_event(s->handle, victim, "Normal", "Preempted", "Preempted by pod %s on node %s",
		       pod->uid, node->name);
	return 0;
}

/* ------------------------------------------------------------------ */
/* PostFilter                                                         */

/* GetOffsetAndNumCandidates' random start among the potential nodes, from
 * the scheduler's seeded generator (reproducible with --seed). */
static uint32_t offset_for(struct self *s, uint32_t n)
{
	return n ? (uint32_t)(kp_sched_rand(s->handle) % n) : 0;
}

struct lower_ctx {
	int32_t priority;
	const struct kp_pod_info *pods[64];
	uint32_t n;
};

static int collect_lower(const struct kp_pod_info *p, void *arg)
{
	struct lower_ctx *c = arg;
	if (p->priority < c->priority && c->n < 64)
		c->pods[c->n++] = p;
	return 0;
}

static int post_filter(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		       const struct kp_filter_results *filtered, struct kp_post_filter_result *res,
		       struct kp_status *st)
{
	struct self *s = self;
	const struct kp_snapshot *snap = cy->snapshot;
	res->nominated_node = KP_ID_NONE;

	/* 1) PodEligibleToPreemptOthers */
	const char *policy = kp_obj_str(pod->obj, "spec.preemptionPolicy");
	if (policy && !strcmp(policy, "Never")) {
		kp_status_add(st, "preemption: not eligible due to preemptionPolicy=Never.");
		return KP_STATUS_UNSCHEDULABLE;
	}
	if (pod->nominated_node != KP_ID_NONE) {
		const struct kp_node_info *nn = kp_snapshot_node(snap, pod->nominated_node);
		bool unresolvable = nn && (uint32_t)nn->index < filtered->nnodes &&
				    filtered->codes[nn->index] == KP_STATUS_UNRESOLVABLE;
		for (uint32_t i = 0; nn && !unresolvable && i < nn->npods; i++)
			if (nn->pods[i]->priority < pod->priority &&
			    terminating_by_preemption(nn->pods[i])) {
				kp_status_add(st, "preemption: not eligible due to a terminating pod "
					      "on the nominated node.");
				return KP_STATUS_UNSCHEDULABLE;
			}
	}

	/* 2) candidates */
	uint32_t nall = snap->nnodes;
	if (!nall) {
		kp_status_add(st, "preemption: no nodes available");
		return KP_STATUS_ERROR;
	}
	int code = KP_STATUS_ERROR;
	struct pdbs pdbs = { 0 };
	const struct kp_node_info **pot = calloc(nall, sizeof(*pot));
	struct kp_status *sts = NULL;
	struct candidate *nonviol = NULL, *viol = NULL, *all = NULL;
	uint32_t nnonviol = 0, nviol = 0, *sel = NULL;
	int64_t *allowed = NULL;
	if (!pot)
		goto out_nomem;
	uint32_t npot = 0;
	for (uint32_t i = 0; i < nall && i < filtered->nnodes; i++)
		if (filtered->codes[i] == KP_STATUS_UNSCHEDULABLE)
			pot[npot++] = snap->nodes[i];
	if (!npot) {
		/* nothing to try: every node is "not helpful"; clear the nomination */
		res->nominated_node = KP_NOMINATE_CLEAR;
		fit_message(st, nall, NULL, 0, nall);
		code = KP_STATUS_UNSCHEDULABLE;
		goto out_free;
	}
	kp_snapshot_each_object(snap, "PodDisruptionBudget", NULL, collect_pdb, &pdbs);
	if (pdbs.rc < 0)
		goto out_nomem;
	allowed = calloc(pdbs.n + 1, sizeof(*allowed));
	sts = calloc(npot, sizeof(*sts));
	/* GetOffsetAndNumCandidates */
	int64_t want = (int64_t)npot * s->pct / 100;
	if (want < s->abs)
		want = s->abs;
	if (want > npot)
		want = npot;
	nonviol = calloc((size_t)want, sizeof(*nonviol));
	viol = calloc((size_t)want, sizeof(*viol));
	if (!allowed || !sts || !nonviol || !viol)
		goto out_nomem;
	uint32_t off = offset_for(s, npot), nsts = 0;
	struct ctx x = { s, cy, pod, &pdbs, allowed, kp_time_now() * 1000000000LL };
	const char *first_error = NULL;
	for (uint32_t i = 0; i < npot; i++) {
		const struct kp_node_info *node = pot[(off + i) % npot];
		struct candidate c = { 0 };
		struct kp_status *ns = &sts[nsts];
		memset(ns, 0, sizeof(*ns));
		int rc = select_victims(&x, node, &c, ns);
		if (rc == KP_STATUS_SUCCESS) {
			/* candidateList.add drops what does not fit its size */
			struct candidate *list = c.nviolating ? viol : nonviol;
			uint32_t *nl = c.nviolating ? &nviol : &nnonviol;
			if (*nl < want)
				list[(*nl)++] = c;
			else
				free(c.victims);
			if (nnonviol > 0 && nnonviol + nviol >= want)
				break;
			continue;
		}
		if (rc == KP_STATUS_ERROR && !first_error)
			first_error = ns->nreasons ? ns->reasons[0] : "error";
		nsts++;
	}
	uint32_t ncand = nnonviol + nviol;
	if (!ncand) {
		if (first_error) {
			kp_status_addf(st, "preemption: %s", first_error);
			code = KP_STATUS_ERROR;
			goto out_free;
		}
		/* nodes not tried (unresolvable ones) are "not helpful" */
		res->nominated_node = KP_NOMINATE_CLEAR;
		fit_message(st, nall, sts, nsts, nall - nsts);
		code = KP_STATUS_UNSCHEDULABLE;
		goto out_free;
	}

	/* 3) SelectCandidate: non-violating candidates first, as kube lists them */
	all = calloc(ncand, sizeof(*all));
	sel = calloc(ncand, sizeof(*sel));
	if (!all || !sel)
		goto out_nomem;
	memcpy(all, nonviol, nnonviol * sizeof(*all));
	memcpy(all + nnonviol, viol, nviol * sizeof(*all));
	const struct candidate *best = pick(all, ncand, sel);

	/* 4) prepareCandidate */
	for (uint32_t i = 0; i < best->nvictims; i++) {
		const struct kp_pod_info *v = best->victims[i].pod;
		if (v->flags & KP_POD_TERMINATING)
			continue;
		char *err = NULL;
		int rc = preempt_pod(s, pod, v, best->node, &err);
		if (rc < 0) {
			kp_status_addf(st, "preemption: %s", err ? err : kp_strerror(rc));
			free(err);
			code = KP_STATUS_ERROR;
			goto out_free;
		}
	}
	/* lower-priority pods nominated to the node lose their nomination
	 * (collected first: clearing changes the nominator being walked) */
	struct lower_ctx lc = { .priority = pod->priority };
	kp_sched_each_nominated_pod(s->handle, best->node->name_id, collect_lower, &lc);
	for (uint32_t i = 0; i < lc.n; i++) {
		char *err = NULL;
		if (kp_sched_clear_nominated(s->handle, lc.pods[i], &err) < 0)
			kp_sched_log(s->handle, KP_LOG_WARN, "clearing the nomination of %s/%s: %s",
				     lc.pods[i]->ns, lc.pods[i]->name, err ? err : "failed");
		free(err);
	}
	kp_sched_log(s->handle, KP_LOG_DEBUG, "pod %s/%s nominated to node %s, %u victim(s)",
		     pod->ns, pod->name, best->node->name, best->nvictims);
	res->nominated_node = best->node->name_id;
	code = KP_STATUS_SUCCESS;
	goto out_free;

out_nomem:
	kp_status_add(st, "preemption: out of memory");
	code = KP_STATUS_ERROR;
out_free:
	for (uint32_t i = 0; i < nnonviol; i++)
		free(nonviol[i].victims);
	for (uint32_t i = 0; i < nviol; i++)
		free(viol[i].victims);
	free(nonviol);
	free(viol);
	free(all);
	free(sel);
	free(sts);
	free(allowed);
	free(pot);
	pdbs_release(&pdbs);
	return code;
}

static const struct kp_sched_ops ops = {
	KP_SCHED_OPS,
	.init = init,
	.fini = fini,
	.post_filter = post_filter,
};

KP_PLUGIN_DEFINE(DefaultPreemption) = {
	KP_PLUGIN_HEADER(KP_PLUGIN_SCHED),
	.name = "DefaultPreemption",
	.version = "1.0",
	.description = "postFilter: preempts lower-priority pods to make room, nominates the node",
	.sched = &ops,
	.args = arg_spec,
	.args_size = sizeof(struct args),
};

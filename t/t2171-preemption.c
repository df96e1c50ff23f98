/*
 * t2171-preemption.c - DefaultPreemption (plugins/filter/default-preemption.c)
 * through its static descriptor. The profile's filters are the stand-in of
 * t/sched-more-lib.h: pod count, cpu and memory against allocatable.
 *
 * Every node has 4000m cpu (memory never matters here); the preemptor
 * asks for 2000m with priority 100 unless said otherwise. Expected
 * victims and nodes are worked out from kube-scheduler's
 * SelectVictimsOnNode and pickOneNodeForPreemption as each case explains.
 */
#include "config.h"

#include "t/sched-more-lib.h"

extern const struct kp_plugin kp_plugin_DefaultPreemption;
static const struct kp_plugin *PL = &kp_plugin_DefaultPreemption;

#define GI (1LL << 30)

static struct kp_status ST;
static struct kp_post_filter_result RES;
static uint8_t CODES[T_MAX];

/* Runs PostFilter with codes[] ("U" Unschedulable, "R" Unresolvable per node). */
static int post_filter(void *self, struct tsnap *s, struct tpod *p, const char *codes)
{
	struct tcycle *c = t_cycle(s);
	struct kp_filter_results fr = { s->snap.nnodes, CODES };
	for (uint32_t i = 0; i < s->snap.nnodes; i++)
		CODES[i] = codes[i] == 'R' ? KP_STATUS_UNRESOLVABLE : KP_STATUS_UNSCHEDULABLE;
	memset(&ST, 0, sizeof(ST));
	RES.nominated_node = 12345;
	t_host.filter_runs = 0;
	return PL->sched->post_filter(self, &c->cy, &p->info, &fr, &RES, &ST);
}

static struct tnode *node(const char *name)
{
	return t_node(name, "", 4000, 64 * GI, 110);
}

static struct tpod *victim(const char *name, int32_t prio, int64_t cpu, const char *labels,
			   const char *start)
{
	char status[128] = "";
	if (start)
		snprintf(status, sizeof(status), "\"startTime\":\"%s\"", start);
	return t_pod(name, prio, cpu, GI, labels, "", status);
}

static void terminating(struct tpod *p, bool by_preemption)
{
	kp_obj_set_str((json_t *)p->info.obj, "metadata.deletionTimestamp", "2024-01-01T00:00:00Z");
	if (by_preemption)
		kp_obj_set((json_t *)p->info.obj, "status.conditions",
			   t_json("[{\"type\":\"DisruptionTarget\",\"status\":\"True\","
				  "\"reason\":\"PreemptionByScheduler\"}]"));
	p->info.flags |= KP_POD_TERMINATING;
}

/* The deleted pods, comma-joined. */
static const char *deleted(void)
{
	static char buf[256];
	buf[0] = 0;
	size_t i;
	json_t *v;
	json_array_foreach(t_host.deleted, i, v) {
		if (i)
			strcat(buf, ",");
		strcat(buf, json_string_value(v));
	}
	return buf;
}

int main(void)
{
	plan(53);
	char *err = NULL;
	void *self;

	/* Args: kube refuses both minimums at zero. */
	ok(!t_init(PL, "{\"minCandidateNodesPercentage\":0,\"minCandidateNodesAbsolute\":0}", &err) &&
	   err && strstr(err, "cannot be zero"), "args: both minimums zero refused");
	free(err);
	err = NULL;
	self = t_init(PL, NULL, &err);
	ok(self != NULL, "init with defaults (10%%, 100)");

	/* ---- eligibility */
	t_host_reset();
	struct tsnap *s = t_snap();
	struct tnode *n1 = node("n1"), *n2 = node("n2");
	struct tpod *low = victim("low", 10, 3000, "", NULL);
	t_bind(n1, low);
	t_snap_nodes(s, n1, n2, NULL);

	struct tpod *never = t_pod("never", 100, 2000, 0, "", "\"preemptionPolicy\":\"Never\"", "");
	is_int(post_filter(self, s, never, "UU"), KP_STATUS_UNSCHEDULABLE, "Never: unschedulable");
	is_str(t_reasons(&ST), "preemption: not eligible due to preemptionPolicy=Never.",
	       "Never: message");
	is_int(RES.nominated_node, KP_ID_NONE, "Never: no nomination");
	is_int((int)json_array_size(t_host.deleted), 0, "Never: nothing deleted");

	/* Nominated to n1, where a lower-priority victim of an earlier
	 * preemption is still terminating: wait for it. */
	struct tnode *m1 = node("m1"), *m2 = node("m2");
	struct tpod *dying = victim("dying", 10, 3000, "", NULL);
	terminating(dying, true);
	t_bind(m1, dying);
	struct tsnap *s2 = t_snap();
	t_snap_nodes(s2, m1, m2, NULL);
	struct tpod *nom = t_pod("nom", 100, 2000, 0, "", "", "");
	nom->info.nominated_node = m1->info.name_id;
	is_int(post_filter(self, s2, nom, "UU"), KP_STATUS_UNSCHEDULABLE,
	       "terminating victim on nominated node: unschedulable");
	is_str(t_reasons(&ST), "preemption: not eligible due to a terminating pod on the "
	       "nominated node.", "terminating victim message");
	/* ... unless the filters found the nominated node unresolvable; then it
	 * preempts again. m1's only pod is terminating (no new deletion) and m2
	 * is empty but "Unschedulable": removing nothing there -> no victims. */
	is_int(post_filter(self, s2, nom, "RU"), KP_STATUS_UNSCHEDULABLE,
	       "nominated node unresolvable: eligible again");
	is_str(t_reasons(&ST), "preemption: 0/2 nodes are available: 1 No preemption victims found "
	       "for incoming pod, 1 Preemption is not helpful for scheduling.",
	       "eligible again: m2 has no victims, m1 not helpful");
	/* A terminating pod without the DisruptionTarget condition does not block. */
	struct tpod *dying2 = victim("dying2", 10, 3000, "", NULL);
	terminating(dying2, false);
	struct tnode *k1 = node("k1");
	t_bind(k1, dying2);
	struct tsnap *s3 = t_snap();
	t_snap_nodes(s3, k1, NULL);
	nom->info.nominated_node = k1->info.name_id;
	t_host_reset();
	is_int(post_filter(self, s3, nom, "U"), KP_STATUS_SUCCESS,
	       "terminating pod not by preemption: preempts");
	is_int(RES.nominated_node, k1->info.name_id, "... nominates k1");
	is_str(deleted(), "", "... the already terminating victim is not deleted again");

	/* ---- messages when preemption cannot help */
	/* 5 nodes; n3..n5 Unresolvable; on x1 the only pod has priority 200
	 * and on x2 priority 100 (equal is not lower): no victims on either. */
	struct tsnap *s5 = t_snap();
	struct tnode *x[5];
	const char *xn[5] = { "x1", "x2", "x3", "x4", "x5" };
	for (int i = 0; i < 5; i++)
		x[i] = node(xn[i]);
	t_bind(x[0], victim("hi", 200, 3000, "", NULL));
	t_bind(x[1], victim("eq", 100, 3000, "", NULL));
	t_snap_nodes(s5, x[0], x[1], x[2], x[3], x[4], NULL);
	struct tpod *P = t_pod("P", 100, 2000, 0, "", "", "");
	t_host_reset();
	is_int(post_filter(self, s5, P, "UURRR"), KP_STATUS_UNSCHEDULABLE, "no victims: unschedulable");
	is_str(t_reasons(&ST), "preemption: 0/5 nodes are available: 2 No preemption victims found "
	       "for incoming pod, 3 Preemption is not helpful for scheduling.",
	       "kube's message for 2 nodes without victims, 3 unresolvable");
	/* kube returns a result with an empty nominated node here: an older
	 * nomination is cleared (not left as it is, as for an ineligible pod) */
	is_int(RES.nominated_node, KP_NOMINATE_CLEAR, "no candidate: nomination cleared");
	is_str(deleted(), "", "no candidate: nothing deleted");

	/* Everything unresolvable: nothing is even tried. */
	is_int(post_filter(self, s5, P, "RRRRR"), KP_STATUS_UNSCHEDULABLE, "all unresolvable");
	is_str(t_reasons(&ST), "preemption: 0/5 nodes are available: 5 Preemption is not helpful "
	       "for scheduling.", "all unresolvable message");
	is_int(t_host.filter_runs, 0, "all unresolvable: filters never run");

	/* Removing every lower-priority pod is not enough: y1 keeps a 3000m
	 * priority-200 pod, so 3000 + 2000 > 4000 -> the filter's reason. */
	struct tsnap *s6 = t_snap();
	struct tnode *y1 = node("y1"), *y2 = node("y2");
	t_bind(y1, victim("y-hi", 200, 3000, "", NULL));
	t_bind(y1, victim("y-lo", 10, 500, "", NULL));
	t_snap_nodes(s6, y1, y2, NULL);
	is_int(post_filter(self, s6, P, "UR"), KP_STATUS_UNSCHEDULABLE, "does not fit even so");
	is_str(t_reasons(&ST), "preemption: 0/2 nodes are available: 1 Insufficient cpu, "
	       "1 Preemption is not helpful for scheduling.", "filter reason is reported");

	/* ---- victims: remove all lower, reprieve from the most important.
	 * z1: a (50, 1500m), b (40, 1000m), c (30, 1000m): 3500m used. Without
	 * them 0m; put back a: 1500+2000 = 3500 fits; b: 4500 no -> victim;
	 * c: 4500 no -> victim. Victims b and c (not just a, which would also
	 * have made room: kube keeps the higher priority pod). */
	struct tsnap *s7 = t_snap();
	struct tnode *z1 = node("z1");
	t_bind(z1, victim("a", 50, 1500, "", NULL));
	t_bind(z1, victim("b", 40, 1000, "", NULL));
	t_bind(z1, victim("c", 30, 1000, "", NULL));
	t_snap_nodes(s7, z1, NULL);
	t_host_reset();
	t_host.waiting[0] = "uid-c"; /* c waits in Permit: rejected, not deleted */
	/* two other pods nominated to z1: priority 50 (< P's 100) loses its
	 * nomination (prepareCandidate), priority 100 keeps it */
	struct tpod *nlow = t_pod("nlow", 50, 100, 0, "", "", "");
	struct tpod *neq = t_pod("neq", 100, 100, 0, "", "", "");
	nlow->info.nominated_node = z1->info.name_id;
	neq->info.nominated_node = z1->info.name_id;
	t_host.nominated[0] = &nlow->info;
	t_host.nominated[1] = &neq->info;
	is_int(post_filter(self, s7, P, "U"), KP_STATUS_SUCCESS, "reprieve: preempts");
	/* 3 removals, a added back (fits), b and c added then removed again */
	is_int(t_host.ext_runs, 3 + 1 + 2 + 2, "PreFilter extensions follow every what-if change");
	is_int((int)json_array_size(t_host.cleared), 1, "one nomination cleared");
	is_str(json_string_value(json_array_get(t_host.cleared, 0)), "nlow",
	       "the lower-priority nominated pod lost its nomination");
	is_int(RES.nominated_node, z1->info.name_id, "reprieve: nominates z1");
	is_str(deleted(), "b", "reprieve: b deleted; a reprieved; c waiting");
	ok(json_array_size(t_host.rejected) == 1 &&
	   !strcmp(json_string_value(json_array_get(t_host.rejected, 0)), "uid-c"),
	   "the waiting victim c is rejected in Permit");
	is_int((int)json_array_size(t_host.updates), 1, "one status write (b's condition)");
	const json_t *cond = json_array_get(kp_obj_get(json_array_get(t_host.updates, 0),
						       "status.conditions"), 0);
	is_str(kp_obj_str(cond, "type"), "DisruptionTarget", "condition type");
	is_str(kp_obj_str(cond, "reason"), "PreemptionByScheduler", "condition reason");
	is_str(kp_obj_str(cond, "message"), "default-scheduler: preempting to accommodate a higher "
	       "priority pod", "condition message");
	ok(json_array_size(t_host.events) == 2 &&
	   !strcmp(json_string_value(json_array_get(t_host.events, 0)),
		   "Preempted: Preempted by pod uid-P on node z1"), "Preempted event on the victim");

	/* ---- PDB-violating pods are reprieved first.
	 * w1: p1 (10, 2000m, app=web, PDB allows 0) and p2 (20, 2000m). Both
	 * go; p1 is in the violating group, reprieved first: 2000+2000 fits;
	 * p2: 6000 no -> victim. So the higher priority p2 goes, p1 stays. */
	struct tsnap *s8 = t_snap();
	struct tnode *w1 = node("w1");
	t_bind(w1, victim("p1", 10, 2000, "app=web", NULL));
	t_bind(w1, victim("p2", 20, 2000, "", NULL));
	t_snap_nodes(s8, w1, NULL);
	t_object(s8, "PodDisruptionBudget", "{\"metadata\":{\"namespace\":\"default\",\"name\":\"web\"},"
		 "\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"web\"}}},"
		 "\"status\":{\"disruptionsAllowed\":0}}");
	t_host_reset();
	is_int(post_filter(self, s8, P, "U"), KP_STATUS_SUCCESS, "PDB: preempts");
	is_str(deleted(), "p2", "PDB: the pod under budget is reprieved first");

	/* ---- choosing the node */
	/* 1. fewest PDB violations: on v1 the only victim is protected by a PDB
	 * (allowed 0), on v2 the victim has higher priority but no PDB -> v2. */
	struct tsnap *s9 = t_snap();
	struct tnode *v1 = node("v1"), *v2 = node("v2");
	t_bind(v1, victim("prot", 10, 3000, "app=db", NULL));
	t_bind(v2, victim("free", 50, 3000, "", NULL));
	t_snap_nodes(s9, v1, v2, NULL);
	t_object(s9, "PodDisruptionBudget", "{\"metadata\":{\"namespace\":\"default\",\"name\":\"db\"},"
		 "\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"db\"}}},"
		 "\"status\":{\"disruptionsAllowed\":0}}");
	t_host_reset();
	is_int(post_filter(self, s9, P, "UU"), KP_STATUS_SUCCESS, "pick by PDB: preempts");
	is_int(RES.nominated_node, v2->info.name_id, "pick by PDB: v2 (no violation)");
	is_str(deleted(), "free", "pick by PDB: victim on v2");
	/* the same with the PDB allowing one disruption: now the lowest
	 * highest-priority victim wins (10 < 50) -> v1 */
	json_object_set_new(json_object_get((json_t *)kp_snapshot_object(&s9->snap,
			    "PodDisruptionBudget", "default", "db"), "status"), "disruptionsAllowed",
			    json_integer(1));
	t_host_reset();
	is_int(post_filter(self, s9, P, "UU"), KP_STATUS_SUCCESS, "pick by priority: preempts");
	is_int(RES.nominated_node, v1->info.name_id, "pick by priority: v1 (victim priority 10)");
	/* a pod listed in status.disruptedPods does not use up the budget: with
	 * allowed 0 again but "prot" already disrupted, v1 violates nothing */
	json_t *pdbst = json_object_get((json_t *)kp_snapshot_object(&s9->snap,
					"PodDisruptionBudget", "default", "db"), "status");
	json_object_set_new(pdbst, "disruptionsAllowed", json_integer(0));
	json_object_set_new(pdbst, "disruptedPods", t_json("{\"prot\":\"2024-01-01T00:00:00Z\"}"));
	t_host_reset();
	post_filter(self, s9, P, "UU");
	is_int(RES.nominated_node, v1->info.name_id, "disruptedPods: no violation, v1 again");

	/* 3. smallest sum of priorities: u1 has victims 20+20 (h1 200 keeps
	 * 1000m: 1000+1500+2000 > 4000 for each), u2 one victim 20 -> u2. Both
	 * highest victim priorities are 20, so the sum decides. */
	struct tsnap *s10 = t_snap();
	struct tnode *u1 = node("u1"), *u2 = node("u2");
	t_bind(u1, victim("h1", 200, 1000, "", NULL));
	t_bind(u1, victim("u1a", 20, 1500, "", NULL));
	t_bind(u1, victim("u1b", 20, 1500, "", NULL));
	t_bind(u2, victim("u2a", 20, 2500, "", NULL));
	t_bind(u2, victim("h2", 200, 1500, "", NULL));
	t_snap_nodes(s10, u1, u2, NULL);
	t_host_reset();
	is_int(post_filter(self, s10, P, "UU"), KP_STATUS_SUCCESS, "pick by sum: preempts");
	is_int(RES.nominated_node, u2->info.name_id, "pick by sum: u2 (one victim of 20)");
	is_str(deleted(), "u2a", "pick by sum: u2a deleted");

	/* 5. latest start time of the highest-priority victims: same priority
	 * and count; t2's victim started later -> t2. */
	struct tsnap *s11 = t_snap();
	struct tnode *t1 = node("t1"), *t2 = node("t2");
	t_bind(t1, victim("old", 20, 3000, "", "2024-01-01T00:00:00Z"));
	t_bind(t2, victim("new", 20, 3000, "", "2024-06-01T00:00:00Z"));
	t_snap_nodes(s11, t1, t2, NULL);
	t_host_reset();
	is_int(post_filter(self, s11, P, "UU"), KP_STATUS_SUCCESS, "pick by start time: preempts");
	is_int(RES.nominated_node, t2->info.name_id, "pick by start time: t2 (latest start)");

	PL->sched->fini(self);

	/* ---- minCandidateNodesAbsolute 1, percentage 0: the dry run stops at
	 * the first candidate. Three nodes each with one 3000m victim: each
	 * costs 2 filter runs (fit without victims, then the failed reprieve),
	 * so 2 runs instead of 6. */
	self = t_init(PL, "{\"minCandidateNodesPercentage\":0,\"minCandidateNodesAbsolute\":1}", &err);
	ok(self != NULL, "init with minCandidateNodesAbsolute 1");
	struct tsnap *s12 = t_snap();
	struct tnode *q1 = node("q1"), *q2 = node("q2"), *q3 = node("q3");
	t_bind(q1, victim("q1v", 20, 3000, "", NULL));
	t_bind(q2, victim("q2v", 20, 3000, "", NULL));
	t_bind(q3, victim("q3v", 20, 3000, "", NULL));
	t_snap_nodes(s12, q1, q2, q3, NULL);
	t_host_reset();
	is_int(post_filter(self, s12, P, "UUU"), KP_STATUS_SUCCESS, "one candidate enough: preempts");
	is_int(t_host.filter_runs, 2, "one candidate enough: one node evaluated");
	is_int((int)json_array_size(t_host.deleted), 1, "one candidate enough: one victim");
	PL->sched->fini(self);
	self = t_init(PL, NULL, &err);
	t_host_reset();
	post_filter(self, s12, P, "UUU");
	ok(RES.nominated_node == q1->info.name_id, "kp_sched_rand 0: the first node is tried first");
	is_int(t_host.filter_runs, 6, "defaults (100 absolute): all three nodes evaluated");
	PL->sched->fini(self);

	t_cycle_end();
	t_host_reset();
	return done_testing();
}

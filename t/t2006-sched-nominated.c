/*
 * t2006: the framework around preemption, with the real scheduler: pods
 * nominated to a node count there during Filter when their priority is at
 * least the incoming pod's (RunFilterPluginsWithNominatedPods); preemption
 * in a host without a store deletes the victim from the scheduler's cache
 * so the preemptor lands on its next attempt; Services are cached, so
 * PodTopologySpread's system default constraints apply.
 */
#include "config.h"

#include <kplane/object.h>

#include "t/sched-lib.h"

#define SEC 1000000000LL

#define PODY(name, prio, cpu, extra) \
	"kind: Pod\nmetadata: {name: " name ", namespace: t, uid: uid-" name ", labels: {app: web}}\n" \
	"spec:\n  priority: " prio "\n" extra \
	"  containers: [{name: c, image: x, resources: {requests: {cpu: " cpu "}}}]\n"

static void nominated_in_filter(void)
{
	struct ts *t = ts_new(NULL, 1);
	ts_apply(t, ts_node("a", "2", "4Gi", NULL));
	ts_apply(t, ts_node("b", "2", "4Gi", NULL));
	/* hi (priority 100, 1500m) is nominated to a and held back by a gate:
	 * it stays pending with its nomination */
	ts_apply(t, PODY("hi", "100", "1500m", "  schedulingGates: [{name: wait}]\n")
		 "status: {nominatedNodeName: a}\n");
	ok(ts_next(t) == NULL, "the gated nominated pod is not attempted");
	json_t *tr = ts_schedule(t, PODY("lo", "0", "1000m", ""));
	/* on a: 1500m nominated + 1000m > 2000m */
	is_str(tr_node(tr), "b", "a lower-priority pod does not take the nominated pod's room");
	is_str(tr_filtered(tr, "a"), "Insufficient cpu", "a is full with the nominated pod");
	json_decref(tr);
	tr = ts_schedule(t, PODY("top", "200", "1500m", ""));
	/* b has lo (1000m): 2500m > 2000m; a is empty but for the nomination of
	 * a lower-priority pod, which does not count for top */
	is_str(tr_node(tr), "a", "a higher-priority pod ignores lower nominations");
	json_decref(tr);
	ts_free(t);
}

static void preemption_completes(void)
{
	struct ts *t = ts_new(NULL, 1);
	t->now = 1 * SEC;
	ts_apply(t, ts_node("a", "2", "4Gi", NULL));
	ts_apply(t, ts_node("b", "1", "4Gi", NULL)); /* too small for anyone here */
	ts_apply(t, PODY("victim", "0", "1500m", "  nodeName: a\n"));
	json_t *tr = ts_schedule(t, PODY("pre", "100", "1500m", ""));
	ok(tr_node(tr) == NULL, "first attempt: no room");
	const char *m = tr_msg(tr);
	ok(m && strstr(m, "0/2 nodes are available: 2 Insufficient cpu."),
	   "first attempt: Insufficient cpu (%s)", m ? m : "");
	json_decref(tr);
	struct kp_scheduler_stats st;
	kp_scheduler_stats(t->s, &st);
	is_int((int)st.pods, 1, "the victim is in the cache until the deletion is applied");
	/* the informer brings a status-only update of the preemptor (say its
	 * PodScheduled condition) without nominatedNodeName: the scheduler's
	 * own nomination stands */
	ts_apply_change(t, KP_SCHED_MODIFIED,
			PODY("pre", "100", "1500m", "")
			"status: {conditions: [{type: PodScheduled, status: \"False\"}]}\n");
	t->now = 10 * SEC; /* past the backoff */
	tr = ts_next(t);
	is_str(tr ? tr_node(tr) : NULL, "a", "second attempt: the preemptor lands on the nominated node");
	ok(tr && json_array_size(json_object_get(tr, "feasible")) == 1 &&
	   json_object_size(json_object_get(tr, "filtered")) == 0,
	   "only the nominated node was evaluated (b not even filtered)");
	json_decref(tr);
	kp_scheduler_stats(t->s, &st);
	is_int((int)st.pods, 1, "the victim is gone, the preemptor counts");
	ts_free(t);
}

/* kube's isPodUpdated: a status-only update does not requeue a pod */
static void status_only_updates(void)
{
	struct ts *t = ts_new(NULL, 1);
	t->now = 1 * SEC;
	ts_apply(t, ts_node("a", "1", "4Gi", NULL));
	json_t *tr = ts_schedule(t, PODY("big", "0", "2", ""));
	ok(tr && tr_node(tr) == NULL, "big does not fit");
	json_decref(tr);
	t->now = 100 * SEC;
	ts_apply_change(t, KP_SCHED_MODIFIED,
			PODY("big", "0", "2", "")
			"status: {conditions: [{type: PodScheduled, status: \"False\"}]}\n");
	ok(ts_next(t) == NULL, "a status-only update leaves it parked");
	ts_apply_change(t, KP_SCHED_MODIFIED,
			"kind: Pod\nmetadata: {name: big, namespace: t, uid: uid-big, labels: {app: other}}\n"
			"spec:\n  priority: 0\n"
			"  containers: [{name: c, image: x, resources: {requests: {cpu: \"2\"}}}]\n");
	tr = ts_next(t);
	is_str(tr ? json_string_value(json_object_get(tr, "name")) : NULL, "big",
	       "a label change is retried at once");
	json_decref(tr);
	ts_free(t);
}

/* a bound pod that finishes (Succeeded) frees its node: the cache drops
 * it and the pods waiting for room are retried */
static void terminal_pod(void)
{
	struct ts *t = ts_new(NULL, 1);
	t->now = 1 * SEC;
	ts_apply(t, ts_node("a", "2", "4Gi", NULL));
	ts_apply(t, PODY("job", "0", "1500m", "  nodeName: a\n"));
	json_t *tr = ts_schedule(t, PODY("next", "0", "1500m", ""));
	ok(tr && tr_node(tr) == NULL, "no room while the job runs");
	json_decref(tr);
	ts_apply_change(t, KP_SCHED_MODIFIED,
			PODY("job", "0", "1500m", "  nodeName: a\n") "status: {phase: Succeeded}\n");
	t->now = 30 * SEC;
	tr = ts_next(t);
	is_str(tr ? tr_node(tr) : NULL, "a", "the finished job's room is taken");
	json_decref(tr);
	ts_free(t);
}

/* the nomination is written through the host, as kube writes it */
static json_t *updates;
static struct kp_scheduler *the_sched;

static int rec_update(void *arg, const json_t *obj, char **errmsg)
{
	(void)arg, (void)errmsg;
	json_array_append_new(updates, json_deep_copy(obj));
	return 0;
}

static int rec_delete(void *arg, const json_t *pod, const char *reason, char **errmsg)
{
	(void)arg, (void)reason;
	/* as an informer would: the deletion reaches the scheduler later */
	return kp_scheduler_apply(the_sched, KP_SCHED_DELETED, (json_t *)pod, errmsg);
}

static void nomination_written(void)
{
	struct kp_sched_config *cfg = NULL;
	struct kp_registry *reg = NULL;
	char *e = NULL;
	updates = json_array();
	struct kp_sched_host host = { .update = rec_update, .delete_pod = rec_delete };
	struct kp_scheduler_options o = { .seed = 1, .inline_bind = true };
	if (kp_sched_config_parse(NULL, &cfg, &e) < 0 || kp_registry_new(&reg) < 0 ||
	    kp_registry_add_table(reg, kp_sched_static_plugins, &e) < 0 ||
	    kp_scheduler_new(cfg, reg, &host, &o, &the_sched, &e) < 0) {
		printf("Bail out! %s\n", e ? e : "setup");
		exit(1);
	}
	json_t *docs = ts_yaml(PODY("low", "0", "1500m", "  nodeName: a\n") "---\n"
			       PODY("pre", "100", "1500m", ""));
	json_t *node = ts_yaml(ts_node("a", "2", "4Gi", NULL));
	kp_scheduler_apply(the_sched, KP_SCHED_ADDED, json_array_get(node, 0), &e);
	kp_scheduler_apply(the_sched, KP_SCHED_ADDED, json_array_get(docs, 0), &e);
	kp_scheduler_apply(the_sched, KP_SCHED_ADDED, json_array_get(docs, 1), &e);
	json_t *tr = NULL;
	kp_scheduler_schedule_one(the_sched, 0, &tr);
	json_decref(tr);
	/* 1: the victim's DisruptionTarget condition, 2: the preemptor's nomination */
	json_t *last = json_array_get(updates, json_array_size(updates) - 1);
	is_int((int)json_array_size(updates), 2, "two writes: victim condition, nomination");
	is_str(kp_obj_name(last), "pre", "the nomination is written on the preemptor");
	is_str(kp_obj_str(last, "status.nominatedNodeName"), "a", "status.nominatedNodeName: a");
	json_decref(docs);
	json_decref(node);
	kp_scheduler_free(the_sched);
	json_decref(updates);
	kp_sched_config_free(cfg);
	kp_registry_free(reg);
}

static void services_cached(void)
{
	struct ts *t = ts_new(NULL, 1);
	ts_apply(t, ts_node("n1", "8", "16Gi",
			    "  labels: {kubernetes.io/hostname: n1, topology.kubernetes.io/zone: z1}"));
	ts_apply(t, ts_node("n2", "8", "16Gi",
			    "  labels: {kubernetes.io/hostname: n2, topology.kubernetes.io/zone: z2}"));
	ts_apply(t, PODY("w1", "0", "100m", "  nodeName: n1\n"));
	ts_apply(t, PODY("w2", "0", "100m", "  nodeName: n1\n"));
	json_t *tr = ts_schedule(t, PODY("px", "0", "100m", ""));
	ok(tr_score(tr, "n1", "PodTopologySpread") < 0, "no Service, no owner: no default spreading");
	json_decref(tr);
	ts_apply_change(t, KP_SCHED_DELETED, PODY("px", "0", "100m", ""));
	ts_apply(t, "kind: Service\nmetadata: {name: web, namespace: t}\nspec: {selector: {app: web}}\n");
	tr = ts_schedule(t, PODY("py", "0", "100m", ""));
	/* System defaults (ScheduleAnyway): hostname maxSkew 3, zone maxSkew 5,
	 * 2 domains each, weight ln(4). n1: 2 ln4 + 2 + 2 ln4 + 4 = 11.55 -> 12;
	 * n2: 0 + 2 + 0 + 4 = 6. Normalised 100 (max + min - s) / max: n1 50, n2 100. */
	is_int((int)tr_score(tr, "n1", "PodTopologySpread"), 50, "Service selector: n1 scores 50");
	is_int((int)tr_score(tr, "n2", "PodTopologySpread"), 100, "Service selector: n2 scores 100");
	json_decref(tr);
	ts_free(t);
}

int main(void)
{
	plan(21);
	nominated_in_filter();
	preemption_completes();
	status_only_updates();
	terminal_pod();
	nomination_written();
	services_cached();
	return done_testing();
}

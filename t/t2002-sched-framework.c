/*
 * t2002-sched-framework - the scheduling cycle and queue: QueueSort order,
 * backoff durations, requeue on registered events only, scheduling gates,
 * profiles by schedulerName, nominated node first, the adaptive number of
 * feasible nodes and the rotating start index, seeded tie-breaking.
 */
#include "config.h"

#include "t/sched-lib.h"
#include "core/sched/internal.h"

#define SEC 1000000000LL
#define POD(name, extra) "kind: Pod\nmetadata: {name: " name ", namespace: t}\nspec:\n" extra \
	"  containers: [{name: c, image: x, resources: {requests: {cpu: 100m}}}]\n"

static void queue_order(void)
{
	struct ts *t = ts_new(NULL, 1);
	ts_apply(t, ts_node("node1", "64", "64Gi", NULL));
	ts_apply(t, "kind: PriorityClass\nmetadata: {name: mid}\nvalue: 10\n");
	t->now = 1 * SEC;
	ts_apply(t, POD("low-a", ""));
	t->now = 2 * SEC;
	ts_apply(t, POD("high", "  priority: 100\n"));
	t->now = 3 * SEC;
	ts_apply(t, POD("mid", "  priorityClassName: mid\n"));
	t->now = 4 * SEC;
	ts_apply(t, POD("low-b", ""));
	const char *want[] = { "high", "mid", "low-a", "low-b" };
	for (int i = 0; i < 4; i++) {
		json_t *tr = ts_next(t);
		is_str(tr ? json_string_value(json_object_get(tr, "name")) : NULL, want[i],
		       "pop %d: priority first, then first in (PriorityClass resolved)", i);
		json_decref(tr);
	}
	ok(ts_next(t) == NULL, "queue empty");
	ts_free(t);
}

static void backoff(void)
{
	struct kp__queue q;
	kp__queue_init(&q);
	q.initial_backoff_ns = 1 * SEC;
	q.max_backoff_ns = 10 * SEC;
	struct kp__pod p;
	memset(&p, 0, sizeof(p));
	p.timestamp_ns = 100 * SEC;
	long long want[] = { 0, 1, 2, 4, 8, 10, 10 };
	for (uint32_t a = 0; a < 7; a++) {
		p.attempts = a;
		is_int((kp__queue_backoff_until(&q, &p) - 100 * SEC) / SEC, want[a],
		       "backoff after %u attempts: initial*2^(n-1) capped at max", a);
	}
	kp__queue_release(&q);

	/* end to end with podInitialBackoffSeconds 2 */
	struct ts *t = ts_new("apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n"
			      "podInitialBackoffSeconds: 2\npodMaxBackoffSeconds: 5\n", 1);
	ts_apply(t, ts_node("small", "1", "1Gi", NULL));
	json_t *tr = ts_schedule(t, "kind: Pod\nmetadata: {name: big, namespace: t}\nspec:\n"
				    "  containers: [{name: c, image: x, resources: {requests: {cpu: \"2\"}}}]\n");
	is_str(tr_msg(tr), "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod..",
	       "unschedulable message");
	json_decref(tr);
	t->now = 60 * SEC;
	ts_apply(t, "kind: Namespace\nmetadata: {name: unrelated}\n");
	ok(ts_next(t) == NULL, "an event NodeResourcesFit did not register leaves the pod parked");
	t->now = 61 * SEC;
	ts_apply(t, ts_node("big", "4", "4Gi", NULL));
	/* backoff counts from the failure at 0s: 0 + 2s < 61s, so it is active right away */
	tr = ts_next(t);
	is_str(tr ? tr_node(tr) : NULL, "big", "a node add (registered by NodeResourcesFit) requeues it");
	json_decref(tr);
	ts_free(t);

	t = ts_new("apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n"
		   "podInitialBackoffSeconds: 2\npodMaxBackoffSeconds: 5\n", 1);
	ts_apply(t, ts_node("small", "1", "1Gi", NULL));
	t->now = 10 * SEC;
	tr = ts_schedule(t, "kind: Pod\nmetadata: {name: big, namespace: t}\nspec:\n"
			    "  containers: [{name: c, image: x, resources: {requests: {cpu: \"2\"}}}]\n");
	ok(tr && !tr_node(tr), "first attempt fails at 10s");
	json_decref(tr);
	t->now = 11 * SEC;
	ts_apply(t, ts_node("big", "4", "4Gi", NULL));
	ok(ts_next(t) == NULL, "at 11s the pod is still backing off (until 12s)");
	t->now = 12 * SEC;
	tr = ts_next(t);
	is_str(tr ? tr_node(tr) : NULL, "big", "at 12s it is retried and lands on the new node");
	json_decref(tr);
	ts_free(t);
}

static void gates_and_profiles(void)
{
	struct ts *t = ts_new(NULL, 1);
	ts_apply(t, ts_node("node1", "4", "4Gi", NULL));
	ok(ts_schedule(t, POD("gated", "  schedulingGates: [{name: wait}]\n")) == NULL,
	   "a gated pod is not attempted");
	ts_apply_change(t, KP_SCHED_MODIFIED, POD("gated", ""));
	json_t *tr = ts_next(t);
	is_str(tr ? tr_node(tr) : NULL, "node1", "without gates it is scheduled");
	json_decref(tr);
	ok(ts_schedule(t, POD("other", "  schedulerName: someone-else\n")) == NULL,
	   "pods for an unknown scheduler are left alone");
	ts_free(t);

	t = ts_new("apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n"
		   "- schedulerName: default-scheduler\n- schedulerName: packer\n  plugins:\n    score:\n"
		   "      disabled: [{name: '*'}]\n      enabled: [{name: NodeResourcesFit}]\n"
		   "  pluginConfig:\n  - name: NodeResourcesFit\n    args: {scoringStrategy: {type: MostAllocated}}\n",
		   1);
	ts_apply(t, ts_node("a", "4", "4Gi", NULL));
	ts_apply(t, ts_node("b", "4", "4Gi", NULL));
	ts_apply(t, "kind: Pod\nmetadata: {name: o, namespace: t}\nspec:\n  nodeName: a\n  containers: [{name: c, resources: {requests: {cpu: \"1\"}}}]\n");
	tr = ts_schedule(t, POD("p", "  schedulerName: packer\n"));
	is_str(tr_node(tr), "a", "the packer profile (MostAllocated only) packs onto a");
	is_int(tr_score(tr, "a", "TaintToleration"), -1, "its score point has only NodeResourcesFit");
	json_decref(tr);
	tr = ts_schedule(t, POD("q", ""));
	is_str(tr_node(tr), "b", "the default profile spreads onto b");
	json_decref(tr);
	ts_free(t);
}

static void nominated_and_percentage(void)
{
	struct ts *t = ts_new(NULL, 1);
	char name[32];
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "n%04d", i);
		ts_apply(t, ts_node(name, "4", "4Gi", NULL));
	}
	json_t *tr = ts_schedule(t, POD("nom", "") "status: {nominatedNodeName: n0500}\n");
	is_str(tr_node(tr), "n0500", "nominated node tried first and taken");
	is_int(json_array_size(json_object_get(tr, "feasible")), 1, "only the nominated node evaluated");
	json_decref(tr);
	tr = ts_schedule(t, POD("p1", ""));
	/* adaptive: 50 - 1000/125 = 42% of 1000 */
	is_int(json_array_size(json_object_get(tr, "feasible")), 420, "adaptive percentage: 420 of 1000");
	is_str(json_string_value(json_array_get(json_object_get(tr, "feasible"), 0)), "n0000",
	       "first attempt starts at node 0");
	json_decref(tr);
	tr = ts_schedule(t, POD("p2", ""));
	is_str(json_string_value(json_array_get(json_object_get(tr, "feasible"), 0)), "n0420",
	       "the next attempt starts where the last stopped");
	json_decref(tr);
	ts_free(t);

	t = ts_new("apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n"
		   "percentageOfNodesToScore: 20\nprofiles:\n- schedulerName: default-scheduler\n"
		   "- schedulerName: tiny\n  percentageOfNodesToScore: 5\n", 1);
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "n%04d", i);
		ts_apply(t, ts_node(name, "4", "4Gi", NULL));
	}
	tr = ts_schedule(t, POD("g", ""));
	is_int(json_array_size(json_object_get(tr, "feasible")), 200, "global percentage 20: 200");
	json_decref(tr);
	tr = ts_schedule(t, POD("h", "  schedulerName: tiny\n"));
	is_int(json_array_size(json_object_get(tr, "feasible")), 100, "profile 5 percent = 50, raised to the minimum 100");
	json_decref(tr);
	ts_free(t);

	t = ts_new(NULL, 1);
	for (int i = 0; i < 150; i++) {
		snprintf(name, sizeof(name), "n%04d", i);
		ts_apply(t, ts_node(name, "4", "4Gi", NULL));
	}
	tr = ts_schedule(t, POD("m", ""));
	/* 150 nodes: 49% = 73 < 100, so 100 */
	is_int(json_array_size(json_object_get(tr, "feasible")), 100, "150 nodes: at least 100");
	json_decref(tr);
	ts_free(t);
}

/* 10 identical nodes; each pod is deleted after placement so every attempt ties */
static void tie_sequence(unsigned long long seed, char out[200][8])
{
	struct ts *t = ts_new(NULL, seed);
	char name[32];
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		ts_apply(t, ts_node(name, "4", "4Gi", NULL));
	}
	for (int i = 0; i < 200; i++) {
		json_t *tr = ts_schedule(t, POD("p", ""));
		snprintf(out[i], 8, "%s", tr && tr_node(tr) ? tr_node(tr) : "-");
		json_decref(tr);
		ts_apply_change(t, KP_SCHED_DELETED, POD("p", ""));
	}
	ts_free(t);
}

static void ties(void)
{
	static char a[200][8], b[200][8], c[200][8];
	tie_sequence(7, a);
	tie_sequence(7, b);
	tie_sequence(8, c);
	int same = 1, diff = 0, seen[10] = { 0 }, times[10] = { 0 };
	for (int i = 0; i < 200; i++) {
		same &= !strcmp(a[i], b[i]);
		diff += strcmp(a[i], c[i]) != 0;
		if (a[i][0] == 'n') {
			seen[a[i][1] - '0'] = 1;
			times[a[i][1] - '0']++;
		}
	}
	ok(same, "the same seed gives the same choices");
	ok(diff > 0, "another seed gives other choices (%d of 200 differ)", diff);
	int all = 1;
	for (int i = 0; i < 10; i++)
		all &= seen[i];
	ok(all, "every tied node gets chosen");
	/* uniform: 20 each expected; below 5 has odds near 1e-5 per node */
	int fewest = 200;
	for (int i = 0; i < 10; i++)
		if (times[i] < fewest)
			fewest = times[i];
	ok(fewest >= 5, "ties are broken evenly (the least chosen of 10 nodes: %d of 200)", fewest);
}

int main(void)
{
	queue_order();
	backoff();
	gates_and_profiles();
	nominated_and_percentage();
	ties();
	return done_testing();
}

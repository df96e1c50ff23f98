/*
 * t2142: PodTopologySpread's PreFilter counts are kept across attempts and
 * updated from the cache's node change log (nodecache.h). With the real
 * scheduler, every change that moves a count must be seen by the next pod:
 * an assumed pod, a deleted pod, a node relabelled into another domain, a
 * new node. Expected placements worked out by hand from
 * skew = count(domain) + 1 - min(count) <= maxSkew (1).
 */
#include "config.h"

#include "t/sched-lib.h"

#define SPREAD(name, extra) \
	"kind: Pod\nmetadata: {name: " name ", namespace: t, uid: uid-" name ", labels: {app: s}}\n" \
	"spec:\n" extra \
	"  topologySpreadConstraints: [{maxSkew: 1, topologyKey: zone, whenUnsatisfiable: DoNotSchedule,\n" \
	"    labelSelector: {matchLabels: {app: s}}}]\n" \
	"  containers: [{name: c, image: x, resources: {requests: {cpu: 100m}}}]\n"

static const char *feasible(const json_t *tr)
{
	static char buf[256];
	size_t i, len = 0;
	json_t *v;
	buf[0] = 0;
	json_array_foreach(json_object_get(tr, "feasible"), i, v)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? " " : "",
					json_string_value(v));
	return buf;
}

#define ANYWAY(name, extra) \
	"kind: Pod\nmetadata: {name: " name ", namespace: t, uid: uid-" name ", labels: {app: p}}\n" \
	"spec:\n" extra \
	"  topologySpreadConstraints: [{maxSkew: 1, topologyKey: zone, whenUnsatisfiable: ScheduleAnyway,\n" \
	"    labelSelector: {matchLabels: {app: p}}}]\n" \
	"  containers: [{name: c, image: x, resources: {requests: {cpu: 100m}}}]\n"

/* ScheduleAnyway: PreScore's per-domain counts are kept the same way.
 * score(node) = round(count(domain) * ln(domains + 2) + maxSkew - 1),
 * normalised to 100 (max + min - s) / max. */
static void scoring(void)
{
	struct ts *t = ts_new(NULL, 1);
	ts_apply(t, ts_node("z1", "8", "8Gi", "  labels: {zone: a}"));
	ts_apply(t, ts_node("z2", "8", "8Gi", "  labels: {zone: b}"));
	ts_apply(t, ANYWAY("b1", "  nodeName: z1\n"));
	ts_apply(t, ANYWAY("b2", "  nodeName: z1\n"));
	/* a=2 b=0: z1 round(2 ln 4) = 3, z2 0; normalised z1 0, z2 100 */
	json_t *tr = ts_schedule(t, ANYWAY("s1", ""));
	is_int((int)tr_score(tr, "z1", "PodTopologySpread"), 0, "a=2 b=0: z1 scores 0");
	is_int((int)tr_score(tr, "z2", "PodTopologySpread"), 100, "a=2 b=0: z2 scores 100");
	is_str(tr_node(tr), "z2", "s1 to z2");
	json_decref(tr);
	/* b1, b2 deleted, s1 assumed on z2: a=0 b=1: z1 0, z2 round(ln 4) = 1;
	 * normalised z1 100, z2 0 */
	ts_apply_change(t, KP_SCHED_DELETED, ANYWAY("b1", "  nodeName: z1\n"));
	ts_apply_change(t, KP_SCHED_DELETED, ANYWAY("b2", "  nodeName: z1\n"));
	tr = ts_schedule(t, ANYWAY("s2", ""));
	is_int((int)tr_score(tr, "z1", "PodTopologySpread"), 100, "a=0 b=1: z1 scores 100");
	is_int((int)tr_score(tr, "z2", "PodTopologySpread"), 0, "a=0 b=1: z2 scores 0");
	json_decref(tr);
	ts_free(t);
}

#define GROUP(name, app) \
	"kind: Pod\nmetadata: {name: " name ", namespace: t, uid: uid-" name ", labels: {app: " app "}}\n" \
	"spec:\n" \
	"  topologySpreadConstraints: [{maxSkew: 1, topologyKey: zone, whenUnsatisfiable: DoNotSchedule,\n" \
	"    labelSelector: {matchLabels: {app: " app "}}}]\n" \
	"  containers: [{name: c, image: x, resources: {requests: {cpu: 100m}}}]\n"

static const char *zone_of(const json_t *tr)
{
	const char *n = tr_node(tr);
	return !n ? "-" : !strcmp(n, "a1") ? "a" : "b";
}

/* Two groups interleaved in the queue: each has its own kept counts, and
 * each sees the other's changes too when it comes back. */
static void interleaved(void)
{
	struct ts *t = ts_new(NULL, 1);
	ts_apply(t, ts_node("a1", "8", "8Gi", "  labels: {zone: a}"));
	ts_apply(t, ts_node("b1", "8", "8Gi", "  labels: {zone: b}"));
	char zx[4][2], zy[4][2];
	const char *xs[4] = { GROUP("x1", "gx"), GROUP("x2", "gx"), GROUP("x3", "gx"), GROUP("x4", "gx") };
	const char *ys[4] = { GROUP("y1", "gy"), GROUP("y2", "gy"), GROUP("y3", "gy"), GROUP("y4", "gy") };
	for (int i = 0; i < 4; i++) {
		json_t *tr = ts_schedule(t, xs[i]);
		snprintf(zx[i], 2, "%s", zone_of(tr));
		json_decref(tr);
		tr = ts_schedule(t, ys[i]);
		snprintf(zy[i], 2, "%s", zone_of(tr));
		json_decref(tr);
	}
	/* maxSkew 1 over two zones: each pair of consecutive pods of a group
	 * takes both zones */
	ok(strcmp(zx[0], zx[1]) && strcmp(zx[2], zx[3]) && zx[0][0] != '-' && zx[2][0] != '-',
	   "group x alternates zones: %s %s %s %s", zx[0], zx[1], zx[2], zx[3]);
	ok(strcmp(zy[0], zy[1]) && strcmp(zy[2], zy[3]) && zy[0][0] != '-' && zy[2][0] != '-',
	   "group y alternates zones: %s %s %s %s", zy[0], zy[1], zy[2], zy[3]);
	ts_free(t);
}

int main(void)
{
	plan(18);
	scoring();
	interleaved();
	struct ts *t = ts_new(NULL, 1);
	ts_apply(t, ts_node("a1", "8", "8Gi", "  labels: {zone: a}"));
	ts_apply(t, ts_node("b1", "8", "8Gi", "  labels: {zone: b}"));
	ts_apply(t, SPREAD("e1", "  nodeName: a1\n"));
	ts_apply(t, SPREAD("e2", "  nodeName: a1\n"));

	/* a=2 b=0: a gives 2+1-0 = 3 */
	json_t *tr = ts_schedule(t, SPREAD("q1", ""));
	is_str(tr_node(tr), "b1", "a=2 b=0: q1 to b");
	json_decref(tr);
	/* q1 assumed on b1: a=2 b=1; a: 2+1-1 = 2, b: 1+1-1 = 1 */
	tr = ts_schedule(t, SPREAD("q2", ""));
	is_str(tr_node(tr), "b1", "the assumed q1 counts: a=2 b=1, q2 to b");
	is_str(tr_filtered(tr, "a1"), "node(s) didn't match pod topology spread constraints",
	       "a1 rejected for skew");
	json_decref(tr);
	/* e1, e2 deleted: a=0 b=2; b: 2+1-0 = 3 */
	ts_apply_change(t, KP_SCHED_DELETED, SPREAD("e1", "  nodeName: a1\n"));
	ts_apply_change(t, KP_SCHED_DELETED, SPREAD("e2", "  nodeName: a1\n"));
	tr = ts_schedule(t, SPREAD("q3", ""));
	is_str(tr_node(tr), "a1", "deleted pods leave the count: a=0 b=2, q3 to a");
	is_str(feasible(tr), "a1", "only a1 feasible");
	json_decref(tr);
	/* b1 relabelled into zone a: one domain {a1, b1} with 3 pods, skew
	 * 3+1-3 = 1: both nodes pass (with b separate, b1 would fail) */
	ts_apply_change(t, KP_SCHED_MODIFIED, ts_node("b1", "8", "8Gi", "  labels: {zone: a}"));
	tr = ts_schedule(t, SPREAD("q4", ""));
	ok(tr_node(tr) != NULL, "relabelled node: q4 placed");
	ok(json_object_size(json_object_get(tr, "filtered")) == 0,
	   "one domain after the relabel: no node filtered");
	json_decref(tr);
	/* a new node in zone c: a=4 c=0, a: 4+1-0 = 5 */
	ts_apply(t, ts_node("c1", "8", "8Gi", "  labels: {zone: c}"));
	tr = ts_schedule(t, SPREAD("q5", ""));
	is_str(tr_node(tr), "c1", "new empty domain: q5 to c");
	json_decref(tr);
	/* a node without the key: UnschedulableAndUnresolvable, counted nowhere */
	ts_apply(t, ts_node("x1", "8", "8Gi", NULL));
	tr = ts_schedule(t, SPREAD("q6", ""));
	is_str(tr_filtered(tr, "x1"),
	       "node(s) didn't match pod topology spread constraints (missing required label)",
	       "node without the key");
	/* a=4 c=1: c: 1+1-1 = 1, a: 4+1-1 = 4 */
	is_str(tr_node(tr), "c1", "a=4 c=1: q6 to c");
	json_decref(tr);
	/* a bound pod with other labels counts nowhere */
	tr = ts_schedule(t, "kind: Pod\nmetadata: {name: o1, namespace: t, labels: {app: o}}\n"
		      "spec:\n  nodeName: c1\n  containers: [{name: c, image: x}]\n");
	json_decref(tr);
	tr = ts_schedule(t, SPREAD("q7", ""));
	/* a=4 c=2: c: 2+1-2 = 1 */
	is_str(tr_node(tr), "c1", "a=4 c=2: q7 to c");
	json_decref(tr);
	ts_free(t);
	return done_testing();
}

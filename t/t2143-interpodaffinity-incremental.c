/*
 * t2143: InterPodAffinity keeps its PreFilter counts and PreScore sums
 * across attempts and updates them from the cache's node change log
 * (nodecache.h). With the real scheduler, each change must be seen by the
 * next pod: assumed pods, deleted pods, pods added elsewhere. Placements and
 * scores worked out by hand from kube's rules (anti-affinity: no matching
 * pod in the node's domain; affinity: a matching pod in it; preferred
 * affinity weight w: w per matching pod in the domain, normalised so the
 * best node has 100 and the worst 0).
 */
#include "config.h"

#include "t/sched-lib.h"

#define SEC 1000000000LL

#define ANTI(name) \
	"kind: Pod\nmetadata: {name: " name ", namespace: t, uid: uid-" name ", labels: {app: a}}\n" \
	"spec:\n  affinity: {podAntiAffinity: {requiredDuringSchedulingIgnoredDuringExecution:\n" \
	"    [{labelSelector: {matchLabels: {app: a}}, topologyKey: kubernetes.io/hostname}]}}\n" \
	"  containers: [{name: c, image: x}]\n"

#define DB(name, node) \
	"kind: Pod\nmetadata: {name: " name ", namespace: t, uid: uid-" name ", labels: {app: db}}\n" \
	"spec:\n  nodeName: " node "\n  containers: [{name: c, image: x}]\n"

#define WEB(name, aff) \
	"kind: Pod\nmetadata: {name: " name ", namespace: t, uid: uid-" name ", labels: {app: web}}\n" \
	"spec:\n  affinity: {podAffinity: {" aff "}}\n  containers: [{name: c, image: x}]\n"
#define REQ "requiredDuringSchedulingIgnoredDuringExecution:\n" \
	"    [{labelSelector: {matchLabels: {app: db}}, topologyKey: zone}]"
#define PREF "preferredDuringSchedulingIgnoredDuringExecution:\n" \
	"    [{weight: 100, podAffinityTerm: {labelSelector: {matchLabels: {app: db}}, topologyKey: zone}}]"

static void anti(void)
{
	struct ts *t = ts_new(NULL, 1);
	t->now = 1 * SEC;
	ts_apply(t, ts_node("n1", "8", "8Gi", "  labels: {kubernetes.io/hostname: n1}"));
	ts_apply(t, ts_node("n2", "8", "8Gi", "  labels: {kubernetes.io/hostname: n2}"));
	ts_apply(t, ts_node("n3", "8", "8Gi", "  labels: {kubernetes.io/hostname: n3}"));
	char used[3][8] = { "", "", "" };
	const char *names[3] = { ANTI("a1"), ANTI("a2"), ANTI("a3") };
	for (int i = 0; i < 3; i++) {
		json_t *tr = ts_schedule(t, names[i]);
		snprintf(used[i], sizeof(used[i]), "%s", tr_node(tr) ? tr_node(tr) : "");
		json_decref(tr);
	}
	ok(used[0][0] && used[1][0] && used[2][0] && strcmp(used[0], used[1]) &&
	   strcmp(used[0], used[2]) && strcmp(used[1], used[2]),
	   "three anti-affine pods on three nodes (%s %s %s)", used[0], used[1], used[2]);
	json_t *tr = ts_schedule(t, ANTI("a4"));
	ok(tr_node(tr) == NULL, "a fourth has no node");
	ok(tr_msg(tr) && strstr(tr_msg(tr), "3 node(s) didn't match pod anti-affinity rules"),
	   "each node holds a matching pod: %s", tr_msg(tr) ? tr_msg(tr) : "");
	json_decref(tr);
	ts_apply_change(t, KP_SCHED_DELETED, ANTI("a2"));
	t->now = 30 * SEC;
	tr = ts_next(t);
	is_str(tr ? tr_node(tr) : NULL, used[1], "a2 deleted: a4 takes its node");
	json_decref(tr);
	ts_free(t);
}

static void affinity(void)
{
	struct ts *t = ts_new(NULL, 1);
	ts_apply(t, ts_node("z1", "8", "8Gi", "  labels: {zone: a}"));
	ts_apply(t, ts_node("z2", "8", "8Gi", "  labels: {zone: b}"));
	ts_apply(t, DB("db1", "z2"));
	json_t *tr = ts_schedule(t, WEB("w1", REQ));
	is_str(tr_node(tr), "z2", "required affinity: with db1 in zone b");
	json_decref(tr);
	ts_apply_change(t, KP_SCHED_DELETED, DB("db1", "z2"));
	ts_apply(t, DB("db2", "z1"));
	tr = ts_schedule(t, WEB("w2", REQ));
	is_str(tr_node(tr), "z1", "db moved to zone a: w2 follows");
	is_str(tr_filtered(tr, "z2"), "node(s) didn't match pod affinity rules", "z2 has no db now");
	json_decref(tr);

	/* preferred: weight 100 per db pod in the node's zone, normalised */
	tr = ts_schedule(t, WEB("w3", PREF));
	is_int((int)tr_score(tr, "z1", "InterPodAffinity"), 100, "preferred: db2's zone scores 100");
	is_int((int)tr_score(tr, "z2", "InterPodAffinity"), 0, "preferred: the other 0");
	json_decref(tr);
	ts_apply_change(t, KP_SCHED_DELETED, DB("db2", "z1"));
	ts_apply(t, DB("db3", "z2"));
	ts_apply(t, DB("db4", "z2"));
	tr = ts_schedule(t, WEB("w4", PREF));
	is_int((int)tr_score(tr, "z2", "InterPodAffinity"), 100, "db pods moved: zone b scores 100");
	is_int((int)tr_score(tr, "z1", "InterPodAffinity"), 0, "zone a 0");
	json_decref(tr);
	ts_free(t);
}

int main(void)
{
	plan(11);
	anti();
	affinity();
	return done_testing();
}

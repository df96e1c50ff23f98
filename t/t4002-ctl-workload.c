/*
 * t4002-ctl-workload - the pure logic of the workload controllers, with
 * expected values worked out by hand from the Kubernetes documentation and
 * kube-controller-manager's rules:
 *  - maxSurge rounds up, maxUnavailable rounds down ("Deployments", Rolling
 *    Update Deployment); both 0 makes maxUnavailable 1;
 *  - the new ReplicaSet grows while the total stays within replicas +
 *    maxSurge; old ones shrink while replicas - maxUnavailable stay
 *    available, unhealthy replicas first, oldest ReplicaSet first;
 *  - surplus pods go in ActivePodsWithRanks order;
 *  - a scaled Deployment splits the change over its ReplicaSets in proportion
 *    (the Deployments docs' proportional scaling example).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <kplane/error.h>
#include <kplane/object.h>

#include "plugins/controllers/cron.h"
#include "plugins/controllers/workload.h"
#include "t/tap.h"

static void fence(const char *surge, const char *unav, int64_t replicas, int64_t ws, int64_t wu,
		  const char *what)
{
	json_error_t e;
	json_t *s = json_loads(surge, JSON_DECODE_ANY, &e), *u = json_loads(unav, JSON_DECODE_ANY, &e);
	int64_t gs = -1, gu = -1;
	int rc = kp__resolve_fenceposts(s, u, replicas, &gs, &gu, NULL);
	ok(rc == 0 && gs == ws && gu == wu, "%s: surge %lld unavailable %lld", what,
	   (long long)gs, (long long)gu);
	json_decref(s);
	json_decref(u);
}

static void test_fenceposts(void)
{
	fence("\"25%\"", "\"25%\"", 10, 3, 2, "10 replicas, 25%/25%: ceil(2.5)=3, floor(2.5)=2");
	fence("\"25%\"", "\"25%\"", 3, 1, 0, "3 replicas, 25%/25%: ceil(.75)=1, floor(.75)=0");
	fence("\"30%\"", "\"30%\"", 10, 3, 3, "the docs' 30% of 10: 3 and 3");
	fence("0", "0", 5, 0, 1, "0/0 becomes maxUnavailable 1");
	fence("\"0%\"", "\"10%\"", 5, 0, 1, "0% and floor(0.5)=0 also becomes 1");
	fence("2", "\"100%\"", 4, 2, 4, "integers as given, 100% of 4");
	fence("null", "null", 8, 2, 2, "absent fields default to 25%");

	char *err = NULL;
	int64_t v;
	json_t *bad = json_string("5");
	is_int(kp__int_or_percent(bad, 0, 10, true, "spec.x", &v, &err), KP_EINVAL,
	       "a string without %% is refused");
	ok(err && strstr(err, "spec.x"), "the message names the field: %s", err ? err : "");
	free(err);
	err = NULL;
	json_decref(bad);
	bad = json_string("-5%");
	is_int(kp__int_or_percent(bad, 0, 10, true, "f", &v, &err), KP_EINVAL,
	       "a negative percentage is refused");
	free(err);
	err = NULL;
	json_decref(bad);
	bad = json_integer(-1);
	is_int(kp__int_or_percent(bad, 0, 10, true, "f", &v, &err), KP_EINVAL,
	       "a negative integer is refused");
	free(err);
	json_decref(bad);
}

static void test_new_rs(void)
{
	is_int(kp__new_rs_replicas(10, 3, 10, 0), 3, "rollout start: new RS grows by the surge (3)");
	is_int(kp__new_rs_replicas(10, 3, 13, 3), 3, "at replicas+surge it does not grow");
	is_int(kp__new_rs_replicas(10, 3, 10, 9), 10, "it never passes replicas (9 -> 10)");
	is_int(kp__new_rs_replicas(3, 1, 3, 0), 1, "3 replicas, surge 1: one new pod first");
	is_int(kp__new_rs_replicas(3, 1, 3, 3), 3, "a complete new RS stays");
}

static void test_scale_down(void)
{
	/* Docs: maxUnavailable 30% of 10 -> the old RS can go to 70% at once.
	 * all = 13, minAvailable = 7, new unavailable = 3: maxScaledDown = 3. */
	struct kp__rs_count old[2] = { { 10, 10 } }, nw = { 3, 0 };
	is_int(kp__scale_down_old(old, 1, &nw, 10, 3), 3, "old RS scaled down by 3");
	is_int(old[0].spec, 7, "to 70%% of 10");

	/* Unhealthy first: 2 of the old 10 are unavailable; maxScaledDown 3,
	 * cleanup removes 2, then available 8 > 7 allows one more. */
	old[0] = (struct kp__rs_count){ 10, 8 };
	is_int(kp__scale_down_old(old, 1, &nw, 10, 3), 3, "2 unhealthy + 1 available");
	is_int(old[0].spec, 7, "old RS at 7");

	/* New pods not yet available block further scale-down: 13 - 7 - 6 = 0. */
	old[0] = (struct kp__rs_count){ 7, 7 };
	nw = (struct kp__rs_count){ 6, 0 };
	is_int(kp__scale_down_old(old, 1, &nw, 10, 3), 0, "unavailable new pods hold the old ones");
	is_int(old[0].spec, 7, "old RS untouched");

	/* Oldest first: available 10 > minAvailable 8 -> 2 go, from the oldest. */
	old[0] = (struct kp__rs_count){ 2, 2 };
	old[1] = (struct kp__rs_count){ 5, 5 };
	nw = (struct kp__rs_count){ 3, 3 };
	is_int(kp__scale_down_old(old, 2, &nw, 10, 2), 2, "two replicas scaled down");
	ok(old[0].spec == 0 && old[1].spec == 5, "from the oldest ReplicaSet (%lld, %lld)",
	   (long long)old[0].spec, (long long)old[1].spec);

	old[0] = (struct kp__rs_count){ 0, 0 };
	is_int(kp__scale_down_old(old, 1, &nw, 3, 1), 0, "no old pods: nothing to do");
}

static void test_proportional(void)
{
	/* The Deployments docs' example: 10 replicas, maxSurge 3, a stuck rollout
	 * with the old ReplicaSet at 8 and the new at 5 (both annotated
	 * max-replicas 13); scaled to 15: allowed 18, 5 to add, 3 to the old
	 * (round(8 * 18 / 13) = 11) and 2 to the new (round(5 * 18 / 13) = 7). */
	struct kp__rs_prop rs[2] = {
		{ .spec = 8, .max_ann = 13, .created = 100, .is_new = false },
		{ .spec = 5, .max_ann = 13, .created = 200, .is_new = true },
	};
	kp__proportional_scale(rs, 2, 15, 3, 13);
	ok(rs[0].target == 11 && rs[1].target == 7, "docs example: old 8 -> 11, new 5 -> 7 (%lld, %lld)",
	   (long long)rs[0].target, (long long)rs[1].target);
	/* Back down to 10: allowed 13, 5 to remove: round(11 * 13 / 18) = 8 (-3), then
	 * round(7 * 13 / 18) = 5 (-2). */
	rs[0] = (struct kp__rs_prop){ .spec = 11, .max_ann = 18, .created = 100 };
	rs[1] = (struct kp__rs_prop){ .spec = 7, .max_ann = 18, .created = 200, .is_new = true };
	kp__proportional_scale(rs, 2, 10, 3, 18);
	ok(rs[0].target == 8 && rs[1].target == 5, "and back to 10: 8 and 5 (%lld, %lld)",
	   (long long)rs[0].target, (long long)rs[1].target);
	/* Rounding leaves one over: it goes to the new ReplicaSet. 3 + 3 of max 6,
	 * to 7 replicas + surge 0: allowed 7, round(3 * 7 / 6 = 3.5) = 4 (+1) for the
	 * first (newer first on ties), the second gets nothing left. */
	rs[0] = (struct kp__rs_prop){ .spec = 3, .max_ann = 6, .created = 100 };
	rs[1] = (struct kp__rs_prop){ .spec = 3, .max_ann = 6, .created = 200, .is_new = true };
	kp__proportional_scale(rs, 2, 7, 0, 6);
	ok(rs[0].target + rs[1].target == 7 && rs[1].target == 4,
	   "the newer of equal ReplicaSets takes the extra one (%lld, %lld)",
	   (long long)rs[0].target, (long long)rs[1].target);
	/* Scaling to 0 empties every ReplicaSet. */
	rs[0] = (struct kp__rs_prop){ .spec = 4, .max_ann = 9, .created = 100 };
	rs[1] = (struct kp__rs_prop){ .spec = 2, .max_ann = 9, .created = 200, .is_new = true };
	kp__proportional_scale(rs, 2, 0, 2, 6);
	ok(rs[0].target == 0 && rs[1].target == 0, "to 0: both 0");
}

static json_t *pod(const char *name, const char *node, const char *phase, bool ready,
		   const char *ready_at, int restarts, const char *created, const char *cost)
{
	json_t *p = json_pack("{s:{s:s, s:s}, s:{}, s:{s:s}}", "metadata", "name", name,
			      "creationTimestamp", created, "spec", "status", "phase", phase);
	if (node)
		json_object_set_new(json_object_get(p, "spec"), "nodeName", json_string(node));
	if (ready)
		json_object_set_new(json_object_get(p, "status"), "conditions",
				    json_pack("[{s:s, s:s, s:s}]", "type", "Ready", "status", "True",
					      "lastTransitionTime", ready_at));
	json_object_set_new(json_object_get(p, "status"), "containerStatuses",
			    json_pack("[{s:s, s:i}]", "name", "c", "restartCount", restarts));
	if (cost)
		json_object_set_new(json_object_get(p, "metadata"), "annotations",
				    json_pack("{s:s}", "controller.kubernetes.io/pod-deletion-cost",
					      cost));
	return p;
}

static void order_is(json_t *pods, const char *want, const char *what)
{
	char got[256] = "";
	size_t i;
	json_t *p;
	kp__pods_sort_for_deletion(pods);
	json_array_foreach(pods, i, p) {
		if (i)
			strcat(got, " ");
		strcat(got, json_string_value(json_object_get(json_object_get(p, "metadata"), "name")));
	}
	is_str(got, want, "%s", what);
}

static void test_delete_order(void)
{
	const char *t0 = "2026-01-01T00:00:00Z";
	json_t *pods = json_array();
	/* Listed in the reverse of the expected order. */
	json_array_append_new(pods, pod("d", "n1", "Running", true, "2026-01-01T00:01:40Z", 0, t0, NULL));
	json_array_append_new(pods, pod("e", "n2", "Running", true, "2026-01-01T00:00:50Z", 0, t0, NULL));
	json_array_append_new(pods, pod("f", "n2", "Running", true, "2026-01-01T00:03:20Z", 0, t0, NULL));
	json_array_append_new(pods, pod("g", "n3", "Running", true, "2026-01-01T00:01:40Z", 0, t0, "-5"));
	json_array_append_new(pods, pod("c", "n4", "Running", false, NULL, 0, t0, NULL));
	json_array_append_new(pods, pod("b", "n5", "Pending", false, NULL, 0, t0, NULL));
	json_array_append_new(pods, pod("a", NULL, "Pending", false, NULL, 0, t0, NULL));
	/* a unassigned; b Pending; c not ready; g lower deletion cost; e and f
	 * share n2 (rank 1) before d (rank 0); of e and f, f became ready later. */
	order_is(pods, "a b c g f e d", "unassigned, pending, not ready, cost, doubled-up, ready time");
	json_decref(pods);

	pods = json_array();
	json_array_append_new(pods, pod("few", "n1", "Running", true, t0, 0, t0, NULL));
	json_array_append_new(pods, pod("many", "n2", "Running", true, t0, 4, t0, NULL));
	order_is(pods, "many few", "more restarts go first");
	json_decref(pods);

	pods = json_array();
	json_array_append_new(pods, pod("old", "n1", "Running", true, t0, 0, t0, NULL));
	json_array_append_new(pods, pod("new", "n2", "Running", true, t0, 0, "2026-01-02T00:00:00Z", NULL));
	order_is(pods, "new old", "newer pods go first");
	json_decref(pods);

	pods = json_array();
	json_array_append_new(pods, pod("run", "n1", "Running", false, NULL, 0, t0, NULL));
	json_array_append_new(pods, pod("unk", "n2", "Unknown", false, NULL, 0, t0, NULL));
	order_is(pods, "unk run", "Unknown before Running");
	json_decref(pods);
}

static void test_pods(void)
{
	json_t *p = pod("p", "n", "Running", true, "2026-01-01T00:00:00Z", 0, "2026-01-01T00:00:00Z", NULL);
	int64_t t;
	kp_time_parse("2026-01-01T00:00:00Z", &t);
	ok(kp__pod_active(p), "a running pod is active");
	ok(kp__pod_available(p, 0, t), "ready with minReadySeconds 0 is available");
	ok(!kp__pod_available(p, 10, t + 9), "ready 9s with minReadySeconds 10 is not");
	ok(kp__pod_available(p, 10, t + 10), "ready 10s is");
	json_object_set_new(json_object_get(p, "status"), "phase", json_string("Succeeded"));
	ok(!kp__pod_active(p), "a Succeeded pod is not active");
	json_decref(p);

	json_t *tmpl = json_pack("{s:{s:{s:s}}}", "metadata", "labels", "app", "web");
	char h1[16], h2[16], h3[16];
	kp__template_hash(tmpl, 0, h1);
	kp__template_hash(tmpl, 0, h2);
	kp__template_hash(tmpl, 1, h3);
	is_str(h1, h2, "the template hash is deterministic");
	ok(strcmp(h1, h3) != 0, "a collision count changes it");
	ok(strspn(h1, "bcdfghjklmnpqrstvwxz2456789") == strlen(h1) && strlen(h1) >= 6,
	   "it uses SafeEncodeString's alphabet: %s", h1);
	json_decref(tmpl);
}

static int64_t at(const char *s)
{
	int64_t t = 0;
	kp_time_parse(s, &t);
	return t;
}

static void next_is(const char *spec, const char *from, int32_t off, const char *want)
{
	struct kp__cron c;
	char *err = NULL;
	char got[KP_TIME_BUFSZ] = "none";
	if (kp__cron_parse(spec, &c, &err) == 0) {
		int64_t n = kp__cron_next(&c, at(from), off);
		if (n)
			kp_time_format(n, got);
	} else {
		snprintf(got, sizeof(got), "error");
	}
	free(err);
	is_str(got, want, "\"%s\" after %s (offset %d)", spec, from, off);
}

static void test_cron(void)
{
	/* 2026-01-01 is a Thursday. */
	next_is("*/15 * * * *", "2026-01-01T00:07:00Z", 0, "2026-01-01T00:15:00Z");
	next_is("*/15 * * * *", "2026-01-01T00:15:00Z", 0, "2026-01-01T00:30:00Z");
	next_is("5/15 * * * *", "2026-01-01T00:06:00Z", 0, "2026-01-01T00:20:00Z");
	next_is("0 9 * * 1-5", "2026-01-02T10:00:00Z", 0, "2026-01-05T09:00:00Z");
	next_is("@monthly", "2026-01-15T12:00:00Z", 0, "2026-02-01T00:00:00Z");
	next_is("@hourly", "2026-12-31T23:59:00Z", 0, "2027-01-01T00:00:00Z");
	next_is("0 0 13 * 5", "2026-01-01T00:00:00Z", 0, "2026-01-02T00:00:00Z");
	next_is("0 0 13 * *", "2026-01-01T00:00:00Z", 0, "2026-01-13T00:00:00Z");
	next_is("0 0 * JAN,jul sun", "2026-01-01T00:00:00Z", 0, "2026-01-04T00:00:00Z");
	next_is("0 0 29 2 *", "2026-03-01T00:00:00Z", 0, "2028-02-29T00:00:00Z");
	next_is("0 0 30 2 *", "2026-01-01T00:00:00Z", 0, "none");
	/* Etc/GMT+5 (UTC-5): 02:30 local on Jan 1 is 07:30 UTC. */
	next_is("30 2 * * *", "2026-01-01T00:00:00Z", -5 * 3600, "2026-01-01T07:30:00Z");
	next_is("60 * * * *", "2026-01-01T00:00:00Z", 0, "error");
	next_is("* * *", "2026-01-01T00:00:00Z", 0, "error");
	next_is("* * * * 7", "2026-01-01T00:00:00Z", 0, "error");
	next_is("@every 5m", "2026-01-01T00:00:00Z", 0, "error");
	char *err = NULL;
	struct kp__cron c;
	struct kp__tz tz;
	if (kp__tz_load("Europe/Berlin", &tz, NULL) == 0) {
		/* CET +1 in winter, CEST +2 from 2026-03-29 01:00 UTC to 2026-10-25 01:00 UTC. */
		is_int(kp__tz_offset(&tz, at("2026-01-10T00:00:00Z")), 3600, "Berlin in January: +1h");
		is_int(kp__tz_offset(&tz, at("2026-07-10T00:00:00Z")), 7200, "Berlin in July: +2h");
		char got[KP_TIME_BUFSZ];
		kp__cron_parse("0 9 * * *", &c, NULL);
		is_str(kp_time_format(kp__cron_next_tz(&c, at("2026-01-10T00:00:00Z"), &tz), got),
		       "2026-01-10T08:00:00Z", "09:00 Berlin in winter is 08:00 UTC");
		is_str(kp_time_format(kp__cron_next_tz(&c, at("2026-07-10T00:00:00Z"), &tz), got),
		       "2026-07-10T07:00:00Z", "09:00 Berlin in summer is 07:00 UTC");
		kp__cron_parse("30 2 * * *", &c, NULL);
		is_str(kp_time_format(kp__cron_next_tz(&c, at("2026-03-28T23:00:00Z"), &tz), got),
		       "2026-03-30T00:30:00Z", "02:30 does not exist on 2026-03-29 in Berlin: next day");
		is_str(kp_time_format(kp__cron_next_tz(&c, at("2026-10-25T00:30:00Z"), &tz), got),
		       "2026-10-25T01:30:00Z", "02:30 happens twice on 2026-10-25: the second one");
		kp__tz_release(&tz);
	} else {
		skip(6, "no tz database");
	}
	err = NULL;
	is_int(kp__tz_load("../etc/passwd", &tz, &err), KP_EINVAL, "a path is not a zone name");
	free(err);
	err = NULL;
	is_int(kp__tz_load("Mars/Olympus", &tz, &err), KP_ENOENT, "an unknown zone");
	free(err);
	err = NULL;
	kp__cron_parse("0 25 * * *", &c, &err);
	ok(err && strstr(err, "hour"), "the message names the field: %s", err ? err : "");
	free(err);
}

int main(void)
{
	plan(66);
	test_fenceposts();
	test_new_rs();
	test_scale_down();
	test_proportional();
	test_delete_order();
	test_pods();
	test_cron();
	return done_testing();
}

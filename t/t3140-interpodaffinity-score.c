/*
 * t3140-interpodaffinity-score - InterPodAffinity's PreScore/Score/
 * NormalizeScore. Raw score of a node = sum over topology keys of the
 * weights accumulated for the node's (key, value); normalised as
 * int(100 * (s - min) / (max - min)), 0 for all when max == min.
 *
 * Layout: n1, n2 in zone a; n3 in zone b; n4 has no zone label.
 */
#include "config.h"

#include "t/sched-affinity-lib.h"

extern const struct kp_plugin kp_plugin_InterPodAffinity;
static const struct kp_plugin *PL = &kp_plugin_InterPodAffinity;

#define ZONE "topology.kubernetes.io/zone"
#define HOST "kubernetes.io/hostname"

static struct tnode *n1, *n2, *n3, *n4;

static struct tsnap *setup(void)
{
	n1 = t_node("n1", ZONE "=a," HOST "=n1");
	n2 = t_node("n2", ZONE "=a," HOST "=n2");
	n3 = t_node("n3", ZONE "=b," HOST "=n3");
	n4 = t_node("n4", HOST "=n4");
	return t_snap();
}

static const char *fmt4(const int64_t *v)
{
	static char buf[128];
	snprintf(buf, sizeof(buf), "%lld %lld %lld %lld", (long long)v[0], (long long)v[1],
		 (long long)v[2], (long long)v[3]);
	return buf;
}

int main(void)
{
	void *self = t_init_ok(PL, NULL);
	struct tsnap *s;
	struct tcycle *c;
	struct tpod *p, *q;
	int64_t out[4];

	/* Preferred affinity weight 5 to app=db over zone; db on n1:
	 * zone a += 5 -> raw 5 5 0 0 -> min 0, max 5 -> 100 100 0 0. */
	s = setup();
	t_bind(n1, t_pod("default", "db", "app=db"));
	t_snap_nodes(s, n1, n2, n3, n4, NULL);
	c = t_cycle(s);
	p = t_pod("default", "web", "app=web");
	t_term(p, T_PREF_AFF, "app=db", ZONE, 5, NULL, NULL);
	is_int(t_scores(PL, self, c, p, out, n1, n2, n3, n4, NULL), KP_STATUS_SUCCESS, "scores");
	is_str(fmt4(out), "100 100 0 0", "preferred affinity over zone");

	/* Preferred anti weight 10 to app=db over zone (db on n3) and
	 * preferred affinity weight 4 to app=cache over hostname (cache on
	 * n1): zone b -10, host n1 +4 -> raw 4 0 -10 0; min -10, max 4,
	 * diff 14: n1 100*14/14 = 100, n2 and n4 100*10/14 = 71.4 -> 71,
	 * n3 0. */
	s = setup();
	t_bind(n3, t_pod("default", "db", "app=db"));
	t_bind(n1, t_pod("default", "cache", "app=cache"));
	t_snap_nodes(s, n1, n2, n3, n4, NULL);
	c = t_cycle(s);
	p = t_pod("default", "web", "app=web");
	t_term(p, T_PREF_ANTI, "app=db", ZONE, 10, NULL, NULL);
	t_term(p, T_PREF_AFF, "app=cache", HOST, 4, NULL, NULL);
	t_scores(PL, self, c, p, out, n1, n2, n3, n4, NULL);
	is_str(fmt4(out), "100 71 0 71", "anti over zone + affinity over host");

	/* Symmetry with the incoming pod having no terms: x on n3 has
	 * required affinity to app=web over zone (hardPodAffinityWeight 1),
	 * y on n1 preferred affinity weight 2 to app=web over hostname:
	 * zone b +1, host n1 +2 -> raw 2 0 1 0 -> 100 0 50 0. */
	s = setup();
	q = t_pod("default", "x", "app=x");
	t_term(q, T_REQ_AFF, "app=web", ZONE, 0, NULL, NULL);
	t_bind(n3, q);
	q = t_pod("default", "y", "app=y");
	t_term(q, T_PREF_AFF, "app=web", HOST, 2, NULL, NULL);
	t_bind(n1, q);
	t_snap_nodes(s, n1, n2, n3, n4, NULL);
	c = t_cycle(s);
	p = t_pod("default", "web", "app=web");
	t_scores(PL, self, c, p, out, n1, n2, n3, n4, NULL);
	is_str(fmt4(out), "100 0 50 0", "existing pods' terms, hard weight 1");

	/* Same with hardPodAffinityWeight 5: zone b +5 -> raw 2 0 5 0 ->
	 * n1 100*2/5 = 40, n3 100. */
	void *h5 = t_init_ok(PL, "{\"hardPodAffinityWeight\": 5}");
	c = t_cycle(s);
	t_scores(PL, h5, c, p, out, n1, n2, n3, n4, NULL);
	is_str(fmt4(out), "40 0 100 0", "hardPodAffinityWeight 5");
	PL->sched->fini(h5);
	/* hardPodAffinityWeight 0 drops the required term: raw 2 0 0 0. */
	void *h0 = t_init_ok(PL, "{\"hardPodAffinityWeight\": 0}");
	c = t_cycle(s);
	t_scores(PL, h0, c, p, out, n1, n2, n3, n4, NULL);
	is_str(fmt4(out), "100 0 0 0", "hardPodAffinityWeight 0");
	PL->sched->fini(h0);
	/* ignorePreferredTermsOfExistingPods with an incoming pod without
	 * preferred terms: Skip. */
	void *ig = t_init_ok(PL, "{\"ignorePreferredTermsOfExistingPods\": true}");
	c = t_cycle(s);
	is_int(t_scores(PL, ig, c, p, out, n1, n2, n3, n4, NULL), KP_STATUS_SKIP,
	       "ignorePreferredTermsOfExistingPods: Skip");
	PL->sched->fini(ig);

	/* An existing pod's preferred anti-affinity weight 3 to app=web over
	 * zone, on n2: zone a -3 -> raw -3 -3 0 0 -> 0 0 100 100. */
	s = setup();
	q = t_pod("default", "z", "app=z");
	t_term(q, T_PREF_ANTI, "app=web", ZONE, 3, NULL, NULL);
	t_bind(n2, q);
	t_snap_nodes(s, n1, n2, n3, n4, NULL);
	c = t_cycle(s);
	p = t_pod("default", "web", "app=web");
	t_scores(PL, self, c, p, out, n1, n2, n3, n4, NULL);
	is_str(fmt4(out), "0 0 100 100", "existing preferred anti-affinity");

	/* Existing pod's term in another namespace does not select the web
	 * pod in default: nothing accumulates, Skip. */
	s = setup();
	q = t_pod("other", "z", "app=z");
	t_term(q, T_PREF_ANTI, "app=web", ZONE, 3, NULL, NULL);
	t_bind(n2, q);
	t_snap_nodes(s, n1, n2, n3, n4, NULL);
	c = t_cycle(s);
	p = t_pod("default", "web", "app=web");
	is_int(t_scores(PL, self, c, p, out, n1, n2, n3, n4, NULL), KP_STATUS_SKIP,
	       "nothing matches: Skip");

	/* Weights that cancel still make the domain count as scored: +5 and
	 * -5 on zone a -> raw all 0 -> max == min -> 0 everywhere. */
	s = setup();
	t_bind(n1, t_pod("default", "db", "app=db"));
	t_snap_nodes(s, n1, n2, n3, n4, NULL);
	c = t_cycle(s);
	p = t_pod("default", "web", "app=web");
	t_term(p, T_PREF_AFF, "app=db", ZONE, 5, NULL, NULL);
	t_term(p, T_PREF_ANTI, "app=db", ZONE, 5, NULL, NULL);
	is_int(t_scores(PL, self, c, p, out, n1, n2, n3, n4, NULL), KP_STATUS_SUCCESS,
	       "cancelling weights still score");
	is_str(fmt4(out), "0 0 0 0", "all equal -> 0");

	/* Only the feasible nodes are normalised: scoring n3, n4 alone for the
	 * first case (raw 0 0) gives 0 0 even though zone a has weight. */
	s = setup();
	t_bind(n1, t_pod("default", "db", "app=db"));
	t_snap_nodes(s, n1, n2, n3, n4, NULL);
	c = t_cycle(s);
	p = t_pod("default", "web", "app=web");
	t_term(p, T_PREF_AFF, "app=db", ZONE, 5, NULL, NULL);
	t_scores(PL, self, c, p, out, n3, n4, n1, NULL);
	ok(out[0] == 0 && out[1] == 0 && out[2] == 100, "subset n3 n4 n1 -> 0 0 100 (got %s)",
	   fmt4(out));

	t_cycle_end(c);
	PL->sched->fini(self);
	return done_testing();
}

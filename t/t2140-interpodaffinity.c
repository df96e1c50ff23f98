/*
 * t2140-interpodaffinity - InterPodAffinity's PreFilter/Filter, expected
 * results worked out by hand from kube-scheduler's filtering.go rules
 * (comments give the reasoning), many mirroring its filtering_test.go.
 *
 * Layout used throughout: n1, n2 in zone a; n3 in zone b; n4 has no zone
 * label. Every node has kubernetes.io/hostname = its name.
 */
#include "config.h"

#include "t/sched-affinity-lib.h"

extern const struct kp_plugin kp_plugin_InterPodAffinity;
static const struct kp_plugin *PL = &kp_plugin_InterPodAffinity;

#define ZONE "topology.kubernetes.io/zone"
#define HOST "kubernetes.io/hostname"
#define AFF "UnschedulableAndUnresolvable: node(s) didn't match pod affinity rules"
#define ANTI "Unschedulable: node(s) didn't match pod anti-affinity rules"
#define EXIST "Unschedulable: node(s) didn't satisfy existing pods anti-affinity rules"

static struct tnode *n1, *n2, *n3, *n4;

static void nodes(void)
{
	n1 = t_node("n1", ZONE "=a," HOST "=n1");
	n2 = t_node("n2", ZONE "=a," HOST "=n2");
	n3 = t_node("n3", ZONE "=b," HOST "=n3");
	n4 = t_node("n4", HOST "=n4");
}

static struct tsnap *snap(void)
{
	struct tsnap *s = t_snap();
	t_snap_nodes(s, n1, n2, n3, n4, NULL);
	return s;
}

/* Filter on n1..n4 as "r1|r2|r3|r4". */
static const char *all4(void *self, struct tcycle *c, struct tpod *p)
{
	static char out[2048];
	struct tnode *ns[4] = { n1, n2, n3, n4 };
	out[0] = 0;
	for (int i = 0; i < 4; i++) {
		if (i)
			strcat(out, "|");
		strcat(out, t_filter(PL, self, c, p, ns[i]));
	}
	return out;
}

int main(void)
{
	void *self = t_init_ok(PL, NULL);
	struct tcycle *c;
	struct tpod *p, *q, *r;
	struct tsnap *s;

	/* No terms and no existing anti-affinity: nothing to check, Skip. */
	nodes();
	t_bind(n1, t_pod("default", "db", "app=db"));
	s = snap();
	c = t_cycle(s);
	p = t_pod("default", "plain", "app=web");
	is_int(t_pre_filter(PL, self, c, p), KP_STATUS_SKIP, "no terms: PreFilter skips");

	/* Required affinity app=db over zone; a db pod on n1 (zone a): zone a
	 * has 1 match, zone b 0 -> n1, n2 pass, n3 fails; n4 lacks the zone
	 * key and fails whatever the counts. */
	nodes();
	t_bind(n1, t_pod("default", "db", "app=db"));
	s = snap();
	c = t_cycle(s);
	p = t_pod("default", "web", "app=web");
	t_term(p, T_REQ_AFF, "app=db", ZONE, 0, NULL, NULL);
	is_int(t_pre_filter(PL, self, c, p), KP_STATUS_SUCCESS, "affinity: PreFilter runs");
	is_str(all4(self, c, p), "OK|OK|" AFF "|" AFF, "affinity: only zone a passes");

	/* First-pod exception: the pod (app=web) has affinity to app=web and
	 * no web pod exists: every node with the topology key passes. */
	nodes();
	s = snap();
	c = t_cycle(s);
	p = t_pod("default", "web", "app=web");
	t_term(p, T_REQ_AFF, "app=web", ZONE, 0, NULL, NULL);
	t_pre_filter(PL, self, c, p);
	is_str(all4(self, c, p), "OK|OK|OK|" AFF, "first pod of a self-affine group");

	/* Once a web pod exists (on n1, zone a) the exception is over: zone
	 * b has 0 matches while the count map is not empty -> n3 fails. */
	nodes();
	t_bind(n1, t_pod("default", "web-0", "app=web"));
	struct tsnap *s2 = snap();
	c = t_cycle(s2);
	p = t_pod("default", "web-1", "app=web");
	t_term(p, T_REQ_AFF, "app=web", ZONE, 0, NULL, NULL);
	t_pre_filter(PL, self, c, p);
	is_str(all4(self, c, p), "OK|OK|" AFF "|" AFF, "no exception once a match exists");

	/* With no web pod at all, still no exception for a pod that does not
	 * match its own term. */
	p = t_pod("default", "api", "app=api");
	t_term(p, T_REQ_AFF, "app=web", ZONE, 0, NULL, NULL);
	c = t_cycle(s);
	t_pre_filter(PL, self, c, p);
	is_str(all4(self, c, p), AFF "|" AFF "|" AFF "|" AFF, "no exception for a non-self match");

	/* A web pod on n4, which has no zone label, is counted nowhere (the
	 * count is per (zone, value)), so the map stays empty and the
	 * exception still applies. */
	nodes();
	t_bind(n4, t_pod("default", "web-old", "app=web"));
	s = snap();
	c = t_cycle(s);
	p = t_pod("default", "web", "app=web");
	t_term(p, T_REQ_AFF, "app=web", ZONE, 0, NULL, NULL);
	t_pre_filter(PL, self, c, p);
	is_str(all4(self, c, p), "OK|OK|OK|" AFF, "match on a node without the key counts nowhere");

	/* Two affinity terms: an existing pod counts only if it matches ALL
	 * terms. db (no tier) on n1 does not; db,tier=back on n3 does:
	 * (zone,b) and (host,n3) get 1 -> only n3 passes. */
	nodes();
	t_bind(n1, t_pod("default", "db1", "app=db"));
	t_bind(n3, t_pod("default", "db2", "app=db,tier=back"));
	s = snap();
	c = t_cycle(s);
	p = t_pod("default", "web", "app=web");
	t_term(p, T_REQ_AFF, "app=db", ZONE, 0, NULL, NULL);
	t_term(p, T_REQ_AFF, "tier=back", HOST, 0, NULL, NULL);
	t_pre_filter(PL, self, c, p);
	is_str(all4(self, c, p), AFF "|" AFF "|OK|" AFF, "all terms must match one pod");

	/* Required anti-affinity app=db over hostname, db on n1: only n1 fails
	 * (Unschedulable: preemption may help). */
	nodes();
	t_bind(n1, t_pod("default", "db", "app=db"));
	s = snap();
	c = t_cycle(s);
	p = t_pod("default", "web", "app=web");
	t_term(p, T_REQ_ANTI, "app=db", HOST, 0, NULL, NULL);
	t_pre_filter(PL, self, c, p);
	is_str(all4(self, c, p), ANTI "|OK|OK|OK", "anti-affinity over hostname");

	/* Anti-affinity over zone with the db pod on n4 (no zone): nothing
	 * counted, every node passes. */
	nodes();
	t_bind(n4, t_pod("default", "db", "app=db"));
	s = snap();
	c = t_cycle(s);
	p = t_pod("default", "web", "app=web");
	t_term(p, T_REQ_ANTI, "app=db", ZONE, 0, NULL, NULL);
	t_pre_filter(PL, self, c, p);
	is_str(all4(self, c, p), "OK|OK|OK|OK", "anti-affinity: match without the key");

	/* Symmetry: an existing pod on n3 has required anti-affinity to
	 * app=web over zone; the incoming web pod cannot go to zone b (n3);
	 * n4 has no zone label and passes. The incoming pod has no terms. */
	nodes();
	q = t_pod("default", "guard", "app=guard");
	t_term(q, T_REQ_ANTI, "app=web", ZONE, 0, NULL, NULL);
	t_bind(n3, q);
	s = snap();
	c = t_cycle(s);
	p = t_pod("default", "web", "app=web");
	is_int(t_pre_filter(PL, self, c, p), KP_STATUS_SUCCESS,
	       "existing anti-affinity alone: PreFilter runs");
	is_str(all4(self, c, p), "OK|OK|" EXIST "|OK", "existing pods' anti-affinity");

	/* What-if (preemption): removing the guard pod lifts it; adding it
	 * back restores it. */
	struct kp_status st;
	memset(&st, 0, sizeof(st));
	is_int(PL->sched->pre_filter_remove_pod(self, &c->cy, &p->info, &q->info, &n3->info, &st),
	       KP_STATUS_SUCCESS, "RemovePod");
	is_str(t_filter(PL, self, c, p, n3), "OK", "guard removed: n3 passes");
	PL->sched->pre_filter_add_pod(self, &c->cy, &p->info, &q->info, &n3->info, &st);
	is_str(t_filter(PL, self, c, p, n3), EXIST, "guard added back: n3 fails again");

	/* A cycle copy is independent: removing on the copy leaves the original. */
	struct tcycle copy;
	memset(&copy, 0, sizeof(copy));
	t_cycle_init(&copy, s);
	is_int(PL->sched->cycle_copy(self, &c->cy, &copy.cy), 0, "cycle_copy");
	PL->sched->pre_filter_remove_pod(self, &copy.cy, &p->info, &q->info, &n3->info, &st);
	is_str(t_filter(PL, self, &copy, p, n3), "OK", "copy: guard removed");
	/* the copy's state is released with the copy, the original's stays */
	t_cycle_end(&copy);
	is_str(t_filter(PL, self, c, p, n3), EXIST, "original unchanged");

	/* An existing guard in another namespace only selects its own
	 * namespace by default: the web pod in "default" is unaffected. */
	nodes();
	q = t_pod("other", "guard", "app=guard");
	t_term(q, T_REQ_ANTI, "app=web", ZONE, 0, NULL, NULL);
	t_bind(n3, q);
	s = snap();
	c = t_cycle(s);
	p = t_pod("default", "web", "app=web");
	is_int(t_pre_filter(PL, self, c, p), KP_STATUS_SKIP,
	       "guard in another namespace: nothing matches, Skip");

	/* namespaces: ["other"]: db in default on n1 does not count, db in
	 * other on n3 does -> only n3 passes. */
	nodes();
	t_bind(n1, t_pod("default", "db1", "app=db"));
	t_bind(n3, t_pod("other", "db2", "app=db"));
	s = snap();
	c = t_cycle(s);
	p = t_pod("default", "web", "app=web");
	t_term(p, T_REQ_AFF, "app=db", ZONE, 0, "other", NULL);
	t_pre_filter(PL, self, c, p);
	is_str(all4(self, c, p), AFF "|" AFF "|OK|" AFF, "namespaces list");

	/* namespaceSelector {} selects every namespace, known or not. */
	nodes();
	t_bind(n3, t_pod("nowhere", "db", "app=db"));
	s = snap();
	c = t_cycle(s);
	p = t_pod("default", "web", "app=web");
	t_term(p, T_REQ_AFF, "app=db", ZONE, 0, NULL, "");
	t_pre_filter(PL, self, c, p);
	is_str(all4(self, c, p), AFF "|" AFF "|OK|" AFF, "namespaceSelector {} = all namespaces");

	/* namespaceSelector env=prod: db in prod (env=prod) on n1 counts, db
	 * in dev (env=dev) on n3 and db in "ghost" (no Namespace object) on n2
	 * do not -> zone a passes. */
	nodes();
	t_bind(n1, t_pod("prod", "db1", "app=db"));
	t_bind(n3, t_pod("dev", "db2", "app=db"));
	t_bind(n2, t_pod("ghost", "db3", "app=db"));
	s = snap();
	t_namespace(s, "prod", "env=prod");
	t_namespace(s, "dev", "env=dev");
	c = t_cycle(s);
	p = t_pod("default", "web", "app=web");
	t_term(p, T_REQ_AFF, "app=db", ZONE, 0, NULL, "env=prod");
	t_pre_filter(PL, self, c, p);
	is_str(all4(self, c, p), "OK|OK|" AFF "|" AFF, "namespaceSelector env=prod");

	/* The incoming pod's namespaceSelector on an unknown namespace with
	 * a selector that an empty label set satisfies (env notin (prod)):
	 * kube-scheduler lists Namespace objects, so "ghost" is not selected;
	 * dev is: db2 (dev) on n3 counts, db3 (ghost) on n2 does not. */
	p = t_pod("default", "web2", "app=web");
	t_term(p, T_REQ_ANTI, "app=db", HOST, 0, NULL, "env notin (prod)");
	c = t_cycle(s);
	t_pre_filter(PL, self, c, p);
	is_str(all4(self, c, p), "OK|OK|" ANTI "|OK", "anti namespaceSelector: dev selected");

	/* An existing pod's term with a namespaceSelector is matched against
	 * the incoming pod's namespace labels: guard on n1 repels web pods in
	 * env=prod namespaces over hostname. */
	nodes();
	q = t_pod("ops", "guard", "app=guard");
	t_term(q, T_REQ_ANTI, "app=web", HOST, 0, NULL, "env=prod");
	t_bind(n1, q);
	s = snap();
	t_namespace(s, "prod", "env=prod");
	t_namespace(s, "dev", "env=dev");
	c = t_cycle(s);
	p = t_pod("prod", "web", "app=web");
	t_pre_filter(PL, self, c, p);
	is_str(all4(self, c, p), EXIST "|OK|OK|OK", "existing term nsSelector vs prod pod");
	c = t_cycle(s);
	r = t_pod("dev", "web", "app=web");
	is_int(t_pre_filter(PL, self, c, r), KP_STATUS_SKIP, "existing term nsSelector vs dev pod");
	/* For an existing pod's term an unknown namespace has empty labels,
	 * which "env notin (prod)" matches. */
	nodes();
	q = t_pod("ops", "guard", "app=guard");
	t_term(q, T_REQ_ANTI, "app=web", HOST, 0, NULL, "env notin (prod)");
	t_bind(n2, q);
	s = snap();
	c = t_cycle(s);
	p = t_pod("ghost", "web", "app=web");
	t_pre_filter(PL, self, c, p);
	is_str(all4(self, c, p), "OK|" EXIST "|OK|OK", "existing term: unknown ns has no labels");

	/* Affinity checked first: a node failing both affinity and anti
	 * reports affinity (UnschedulableAndUnresolvable). */
	nodes();
	t_bind(n1, t_pod("default", "db", "app=db"));
	t_bind(n3, t_pod("default", "cache", "app=cache"));
	s = snap();
	c = t_cycle(s);
	p = t_pod("default", "web", "app=web");
	t_term(p, T_REQ_AFF, "app=db", ZONE, 0, NULL, NULL);
	t_term(p, T_REQ_ANTI, "app=cache", ZONE, 0, NULL, NULL);
	t_pre_filter(PL, self, c, p);
	is_str(all4(self, c, p), "OK|OK|" AFF "|" AFF, "affinity reported before anti-affinity");

	/* Absent labelSelector selects nothing: affinity can never be met
	 * (and the pod cannot match itself either). */
	p = t_pod("default", "odd", "app=db");
	t_term(p, T_REQ_AFF, "!nothing", ZONE, 0, NULL, NULL);
	c = t_cycle(s);
	t_pre_filter(PL, self, c, p);
	is_str(all4(self, c, p), AFF "|" AFF "|" AFF "|" AFF, "null labelSelector matches nothing");

	/* Args: hardPodAffinityWeight range 0..100. */
	void *bad;
	char *err = NULL;
	is_int(t_init(PL, "{\"hardPodAffinityWeight\": 101}", &bad, &err), KP_EINVAL,
	       "hardPodAffinityWeight 101 refused");
	ok(err && strstr(err, "hardPodAffinityWeight"), "message names the field: %s",
	   err ? err : "(none)");
	free(err);

	t_cycle_end(c);
	PL->sched->fini(self);
	return done_testing();
}

/*
 * t3141-podtopologyspread-score - PodTopologySpread's PreScore/Score/
 * NormalizeScore, worked by hand from kube-scheduler's scoring.go:
 *   raw = round(sum over constraints of cnt * ln(size + 2) + (maxSkew - 1))
 *   (size: number of domains among the scored nodes; for hostname the
 *   number of scored, not ignored nodes), then
 *   normalized = 100 * (max + min - raw) / max (integer division),
 *   100 for every node when max is 0, 0 for ignored nodes.
 *
 * Layout: n1, n2 in zone a; n3 in zone b; n4 (when used) has no zone.
 */
#include "config.h"

#include "t/sched-affinity-lib.h"

extern const struct kp_plugin kp_plugin_PodTopologySpread;
static const struct kp_plugin *PL = &kp_plugin_PodTopologySpread;

#define ZONE "topology.kubernetes.io/zone"
#define HOST "kubernetes.io/hostname"
#define SA KP_SPREAD_SCHEDULE_ANYWAY

static struct tnode *n1, *n2, *n3, *n4;

static struct tsnap *setup(int web1, int web3)
{
	struct tsnap *s = t_snap();
	n1 = t_node("n1", ZONE "=a," HOST "=n1");
	n2 = t_node("n2", ZONE "=a," HOST "=n2");
	n3 = t_node("n3", ZONE "=b," HOST "=n3");
	n4 = t_node("n4", HOST "=n4");
	for (int i = 0; i < web1; i++)
		t_bind(n1, t_pod("default", "w", "app=web"));
	for (int i = 0; i < web3; i++)
		t_bind(n3, t_pod("default", "w", "app=web"));
	return s;
}

static const char *fmt(const int64_t *v, int n)
{
	static char buf[128];
	buf[0] = 0;
	for (int i = 0; i < n; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%lld", i ? " " : "",
			 (long long)v[i]);
	return buf;
}

int main(void)
{
	void *self = t_init_ok(PL, NULL);
	struct tsnap *s;
	struct tcycle *c;
	struct tpod *p;
	int64_t out[4];

	/* Zone, maxSkew 1; web: n1 2, n3 1. Domains a, b: size 2, weight
	 * ln 4 = 1.3863. a: 2 * 1.3863 = 2.77 -> 3 (n1, n2); b: 1.39 -> 1.
	 * min 1, max 3: n1, n2 100 * (3+1-3) / 3 = 33; n3 100 * 3/3 = 100. */
	s = setup(2, 1);
	t_snap_nodes(s, n1, n2, n3, NULL);
	c = t_cycle(s);
	p = t_pod("default", "web", "app=web");
	t_spread(p, 1, ZONE, SA, "app=web");
	is_int(t_scores(PL, self, c, p, out, n1, n2, n3, NULL), KP_STATUS_SUCCESS, "scores");
	is_str(fmt(out, 3), "33 33 100", "zone constraint");

	/* Hostname, maxSkew 2; same pods. size 3 nodes, weight ln 5 = 1.6094.
	 * n1: 2 * 1.6094 + 1 = 4.22 -> 4; n2: 0 + 1 = 1; n3: 1.61 + 1 = 2.61
	 * -> 3. min 1, max 4: n1 100 * 1/4 = 25, n2 100 * 4/4 = 100,
	 * n3 100 * 2/4 = 50. */
	p = t_pod("default", "web-h", "app=web");
	t_spread(p, 2, HOST, SA, "app=web");
	c = t_cycle(s);
	t_scores(PL, self, c, p, out, n1, n2, n3, NULL);
	is_str(fmt(out, 3), "25 100 50", "hostname constraint");

	/* A node without the zone label is ignored: n4 scores 0 and does not
	 * count as a domain (size stays 2): the others as in the first case. */
	s = setup(2, 1);
	t_snap_nodes(s, n1, n2, n3, n4, NULL);
	c = t_cycle(s);
	p = t_pod("default", "web", "app=web");
	t_spread(p, 1, ZONE, SA, "app=web");
	t_scores(PL, self, c, p, out, n1, n2, n3, n4, NULL);
	is_str(fmt(out, 4), "33 33 100 0", "node missing the key is ignored");

	/* No matching pods: raw 0 everywhere, max 0 -> 100 for all. */
	s = setup(0, 0);
	t_snap_nodes(s, n1, n2, n3, NULL);
	c = t_cycle(s);
	t_scores(PL, self, c, p, out, n1, n2, n3, NULL);
	is_str(fmt(out, 3), "100 100 100", "nothing to spread: all 100");

	/* Counts cover every node of a scored domain, not only scored ones:
	 * scoring n2 and n3 alone, zone a still holds n1's 2 pods; size is 2
	 * (a, b) -> n2 3, n3 1 -> 33 100. */
	s = setup(2, 1);
	t_snap_nodes(s, n1, n2, n3, NULL);
	c = t_cycle(s);
	t_scores(PL, self, c, p, out, n2, n3, NULL);
	is_str(fmt(out, 2), "33 100", "domain counts include unscored nodes");

	/* maxSkew 3 on zone adds 2 to every raw score: a 2.77 + 2 -> 5,
	 * b 1.39 + 2 -> 3: 100 * (5+3-5)/5 = 60, 100 * 5/5 = 100. */
	p = t_pod("default", "web-3", "app=web");
	t_spread(p, 3, ZONE, SA, "app=web");
	c = t_cycle(s);
	t_scores(PL, self, c, p, out, n1, n2, n3, NULL);
	is_str(fmt(out, 3), "60 60 100", "maxSkew softens the skew");

	/* System default constraints (hostname maxSkew 3, zone maxSkew 5)
	 * for a pod without constraints owned by ReplicaSet rs1 (selector
	 * app=web). Web: n1 1, n3 2. Defaults do not require every key, so
	 * n4 (no zone) is scored; its missing zone is the "" domain.
	 *  hostname size 4: w = ln 6 = 1.7918; zone domains a, b, "": w = ln 5
	 *  = 1.6094; zone counts a 1, b 2, "" 0.
	 *  n1: 1.7918 + 2 + 1.6094 + 4 = 9.40 -> 9
	 *  n2: 0 + 2 + 1.6094 + 4 = 7.61 -> 8
	 *  n3: 3.5835 + 2 + 3.2189 + 4 = 12.80 -> 13
	 *  n4: 0 + 2 (no zone label: no zone term) -> 2
	 *  min 2, max 13: 100*(15-9)/13 = 46, 100*7/13 = 53, 100*2/13 = 15,
	 *  100*13/13 = 100. */
	s = setup(1, 2);
	t_snap_nodes(s, n1, n2, n3, n4, NULL);
	t_object(s, "ReplicaSet", "{\"metadata\": {\"namespace\": \"default\", \"name\": \"rs1\"},"
				  " \"spec\": {\"selector\": {\"matchLabels\": {\"app\": \"web\"}}}}");
	json_t *owned = json_loads("{\"metadata\": {\"ownerReferences\": [{\"apiVersion\": "
				   "\"apps/v1\", \"kind\": \"ReplicaSet\", \"name\": \"rs1\", "
				   "\"controller\": true}]}}", 0, NULL);
	p = t_pod("default", "web", "app=web");
	p->info.obj = owned;
	c = t_cycle(s);
	is_int(t_scores(PL, self, c, p, out, n1, n2, n3, n4, NULL), KP_STATUS_SUCCESS,
	       "system defaults apply to a ReplicaSet's pod");
	is_str(fmt(out, 4), "46 53 15 100", "system default constraints");

	/* The same through a Service selecting app=web instead of an owner. */
	t_object(s, "Service", "{\"metadata\": {\"namespace\": \"default\", \"name\": \"svc\"},"
			       " \"spec\": {\"selector\": {\"app\": \"web\"}}}");
	p = t_pod("default", "web-svc", "app=web");
	c = t_cycle(s);
	t_scores(PL, self, c, p, out, n1, n2, n3, n4, NULL);
	is_str(fmt(out, 4), "46 53 15 100", "system defaults from a Service");

	/* A Service whose selector the pod does not match gives nothing, and
	 * the pod has no owner: no defaults, Skip. */
	p = t_pod("default", "api", "app=api");
	c = t_cycle(s);
	is_int(t_scores(PL, self, c, p, out, n1, n2, n3, n4, NULL), KP_STATUS_SKIP,
	       "no owner, no matching Service: Skip");

	/* defaultingType List without defaults: nothing for unconstrained pods. */
	void *none = t_init_ok(PL, "{\"defaultingType\": \"List\"}");
	p = t_pod("default", "web-l", "app=web");
	p->info.obj = owned;
	c = t_cycle(s);
	is_int(t_scores(PL, none, c, p, out, n1, n2, n3, n4, NULL), KP_STATUS_SKIP,
	       "List without defaults: Skip");
	PL->sched->fini(none);

	t_cycle_end(c);
	json_decref(owned);
	PL->sched->fini(self);
	return done_testing();
}

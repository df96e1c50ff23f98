/*
 * t2141-podtopologyspread - PodTopologySpread's PreFilter/Filter and args,
 * expected results worked out by hand from kube-scheduler's rule
 *   count(domain of node) + selfMatch - globalMin <= maxSkew
 * where globalMin is 0 when fewer eligible domains than minDomains exist.
 *
 * Layout: n1, n2 in zone a; n3 in zone b; n4 has no zone label. All nodes
 * have kubernetes.io/hostname = their name. Constraints select app=web in
 * the pod's namespace (default).
 */
#include "config.h"

#include "t/sched-affinity-lib.h"

extern const struct kp_plugin kp_plugin_PodTopologySpread;
static const struct kp_plugin *PL = &kp_plugin_PodTopologySpread;

#define ZONE "topology.kubernetes.io/zone"
#define HOST "kubernetes.io/hostname"
#define SKEW "Unschedulable: node(s) didn't match pod topology spread constraints"
#define LABEL "UnschedulableAndUnresolvable: node(s) didn't match pod topology spread " \
	      "constraints (missing required label)"
#define DNS KP_SPREAD_DO_NOT_SCHEDULE
#define SA KP_SPREAD_SCHEDULE_ANYWAY

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

static void web(struct tnode *n, int count)
{
	for (int i = 0; i < count; i++)
		t_bind(n, t_pod("default", "web-old", "app=web"));
}

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
	struct tpod *p;
	struct tsnap *s;
	struct kp_spread_constraint *k;

	/* No DoNotSchedule constraint (only ScheduleAnyway): Skip. */
	nodes();
	s = snap();
	c = t_cycle(s);
	p = t_pod("default", "web", "app=web");
	t_spread(p, 1, ZONE, SA, "app=web");
	is_int(t_pre_filter(PL, self, c, p), KP_STATUS_SKIP, "ScheduleAnyway only: Skip");
	/* No constraints and not owned by anything: no defaults apply either. */
	p = t_pod("default", "bare", "app=web");
	is_int(t_pre_filter(PL, self, c, p), KP_STATUS_SKIP, "no constraints: Skip");

	/* Zone maxSkew 1, two web pods on n1: a=2, b=0 (n4 is no domain),
	 * min 0. n1/n2: 2+1-0 = 3 > 1 fail; n3: 0+1-0 = 1 ok; n4: no zone. */
	nodes();
	web(n1, 2);
	s = snap();
	c = t_cycle(s);
	p = t_pod("default", "web", "app=web");
	t_spread(p, 1, ZONE, DNS, "app=web");
	is_int(t_pre_filter(PL, self, c, p), KP_STATUS_SUCCESS, "PreFilter runs");
	is_str(all4(self, c, p), SKEW "|" SKEW "|OK|" LABEL, "maxSkew 1, a=2 b=0");

	/* The pod does not match its own selector: selfMatch 0, a: 2-0 = 2 > 1. */
	p = t_pod("default", "api", "app=api");
	t_spread(p, 1, ZONE, DNS, "app=web");
	c = t_cycle(s);
	t_pre_filter(PL, self, c, p);
	is_str(all4(self, c, p), SKEW "|" SKEW "|OK|" LABEL, "no self match, a still too full");

	/* maxSkew 3: a: 2+1-0 = 3 <= 3 ok. */
	p = t_pod("default", "web3", "app=web");
	t_spread(p, 3, ZONE, DNS, "app=web");
	c = t_cycle(s);
	t_pre_filter(PL, self, c, p);
	is_str(all4(self, c, p), "OK|OK|OK|" LABEL, "maxSkew 3 tolerates a=2");

	/* minDomains: a=1 (n1), b=1 (n3): min 1, a: 1+1-1 = 1 ok. With
	 * minDomains 3 only 2 domains exist: min is taken as 0 -> 2 > 1. */
	nodes();
	web(n1, 1);
	web(n3, 1);
	s = snap();
	p = t_pod("default", "web", "app=web");
	t_spread(p, 1, ZONE, DNS, "app=web");
	c = t_cycle(s);
	t_pre_filter(PL, self, c, p);
	is_str(all4(self, c, p), "OK|OK|OK|" LABEL, "balanced: every domain ok");
	p = t_pod("default", "web-md", "app=web");
	k = t_spread(p, 1, ZONE, DNS, "app=web");
	k->min_domains = 3;
	c = t_cycle(s);
	t_pre_filter(PL, self, c, p);
	is_str(all4(self, c, p), SKEW "|" SKEW "|" SKEW "|" LABEL, "minDomains 3 > 2 domains");
	p = t_pod("default", "web-md2", "app=web");
	k = t_spread(p, 1, ZONE, DNS, "app=web");
	k->min_domains = 2;
	c = t_cycle(s);
	t_pre_filter(PL, self, c, p);
	is_str(all4(self, c, p), "OK|OK|OK|" LABEL, "minDomains 2 = 2 domains");

	/* nodeAffinityPolicy: the pod requires zone in (a). One web pod on n1.
	 * Honor (default): only zone a is a domain: a=1, min 1 -> n1 ok
	 * (1+1-1); n3's zone b has no count: 0+1-1 = 0 ok. Ignore: a=1, b=0,
	 * min 0 -> zone a 1+1-0 = 2 fails. */
	nodes();
	web(n1, 1);
	s = snap();
	p = t_pod("default", "web", "app=web");
	t_node_affinity(p, ZONE " in (a)");
	t_spread(p, 1, ZONE, DNS, "app=web");
	c = t_cycle(s);
	t_pre_filter(PL, self, c, p);
	is_str(all4(self, c, p), "OK|OK|OK|" LABEL, "nodeAffinityPolicy Honor");
	p = t_pod("default", "web-ign", "app=web");
	t_node_affinity(p, ZONE " in (a)");
	k = t_spread(p, 1, ZONE, DNS, "app=web");
	k->node_affinity_policy = KP_SPREAD_POLICY_IGNORE;
	c = t_cycle(s);
	t_pre_filter(PL, self, c, p);
	is_str(all4(self, c, p), SKEW "|" SKEW "|OK|" LABEL, "nodeAffinityPolicy Ignore");

	/* nodeTaintsPolicy: n3 (zone b) has an untolerated NoSchedule taint;
	 * one web pod on n1. Ignore (default): a=1, b=0, min 0 -> a fails.
	 * Honor: n3 drops out, only a=1 remains, min 1 -> a ok. A toleration
	 * brings n3 back. */
	nodes();
	web(n1, 1);
	t_taint(n3, "dedicated", "x", KP_EFFECT_NO_SCHEDULE);
	s = snap();
	p = t_pod("default", "web", "app=web");
	t_spread(p, 1, ZONE, DNS, "app=web");
	c = t_cycle(s);
	t_pre_filter(PL, self, c, p);
	is_str(all4(self, c, p), SKEW "|" SKEW "|OK|" LABEL, "nodeTaintsPolicy Ignore");
	p = t_pod("default", "web-h", "app=web");
	k = t_spread(p, 1, ZONE, DNS, "app=web");
	k->node_taints_policy = KP_SPREAD_POLICY_HONOR;
	c = t_cycle(s);
	t_pre_filter(PL, self, c, p);
	is_str(all4(self, c, p), "OK|OK|OK|" LABEL, "nodeTaintsPolicy Honor");
	p->tols[0] = (struct kp_toleration){ .key = kp_intern("dedicated"), .value = kp_intern("x"),
					     .op = KP_TOL_EQUAL, .effect = KP_EFFECT_NO_SCHEDULE,
					     .toleration_seconds = -1 };
	p->info.ntolerations = 1;
	c = t_cycle(s);
	t_pre_filter(PL, self, c, p);
	is_str(all4(self, c, p), SKEW "|" SKEW "|OK|" LABEL, "Honor with a toleration");

	/* Terminating pods and pods of other namespaces are not counted:
	 * a=0, b=0 -> all nodes with a zone pass. */
	nodes();
	struct tpod *dying = t_pod("default", "dying", "app=web");
	dying->info.flags |= KP_POD_TERMINATING;
	t_bind(n1, dying);
	t_bind(n1, t_pod("other", "web-other", "app=web"));
	s = snap();
	p = t_pod("default", "web", "app=web");
	t_spread(p, 1, ZONE, DNS, "app=web");
	c = t_cycle(s);
	t_pre_filter(PL, self, c, p);
	is_str(all4(self, c, p), "OK|OK|OK|" LABEL, "terminating / other namespace not counted");

	/* Two constraints (zone and hostname, maxSkew 1), one web pod on n1.
	 * zone: a=1, b=0, min 0 -> n1, n2 fail (2 > 1). hostname: n1=1,
	 * others 0 -> n1 fails too; n3 passes both; n4 has no zone. */
	nodes();
	web(n1, 1);
	s = snap();
	p = t_pod("default", "web", "app=web");
	t_spread(p, 1, HOST, DNS, "app=web");
	t_spread(p, 1, ZONE, DNS, "app=web");
	c = t_cycle(s);
	t_pre_filter(PL, self, c, p);
	is_str(all4(self, c, p), SKEW "|" SKEW "|OK|" LABEL, "hostname + zone constraints");

	/* Hostname only: domains n1..n4 (all have the key); n1=1, min 0:
	 * n1 1+1 = 2 > 1 fails, the others pass, n4 included. */
	p = t_pod("default", "web-h", "app=web");
	t_spread(p, 1, HOST, DNS, "app=web");
	c = t_cycle(s);
	t_pre_filter(PL, self, c, p);
	is_str(all4(self, c, p), SKEW "|OK|OK|OK", "hostname only");

	/* What-if: two web pods on n1 (a=2). Removing one: a=1, min 0 ->
	 * 1+1 = 2 still fails; removing both: a=0 -> passes. */
	nodes();
	struct tpod *w1 = t_pod("default", "w1", "app=web"), *w2 = t_pod("default", "w2", "app=web");
	t_bind(n1, w1);
	t_bind(n1, w2);
	s = snap();
	p = t_pod("default", "web", "app=web");
	t_spread(p, 1, ZONE, DNS, "app=web");
	c = t_cycle(s);
	t_pre_filter(PL, self, c, p);
	struct kp_status st;
	memset(&st, 0, sizeof(st));
	PL->sched->pre_filter_remove_pod(self, &c->cy, &p->info, &w1->info, &n1->info, &st);
	is_str(t_filter(PL, self, c, p, n1), SKEW, "one removed: a=1 still too many");
	PL->sched->pre_filter_remove_pod(self, &c->cy, &p->info, &w2->info, &n1->info, &st);
	is_str(t_filter(PL, self, c, p, n1), "OK", "both removed: a=0");
	/* Adding to zone b raises the minimum: a=0,b=1 -> n3 1+1-0 = 2 fails. */
	PL->sched->pre_filter_add_pod(self, &c->cy, &p->info, &w1->info, &n3->info, &st);
	is_str(t_filter(PL, self, c, p, n3), SKEW, "added to b: b=1 a=0");

	/* Default constraints of type List with DoNotSchedule: applied to a
	 * pod without constraints owned by a ReplicaSet, with the selector
	 * of the ReplicaSet (app=web). One web pod on n1 -> zone a fails. */
	void *lself = t_init_ok(PL, "{\"defaultingType\": \"List\", \"defaultConstraints\": "
				    "[{\"maxSkew\": 1, \"topologyKey\": \"" ZONE "\", "
				    "\"whenUnsatisfiable\": \"DoNotSchedule\"}]}");
	nodes();
	web(n1, 1);
	s = snap();
	t_object(s, "ReplicaSet", "{\"metadata\": {\"namespace\": \"default\", \"name\": \"rs1\"},"
				  " \"spec\": {\"selector\": {\"matchLabels\": {\"app\": \"web\"}}}}");
	json_t *obj = json_loads("{\"metadata\": {\"ownerReferences\": [{\"apiVersion\": "
				 "\"apps/v1\", \"kind\": \"ReplicaSet\", \"name\": \"rs1\", "
				 "\"controller\": true}]}}", 0, NULL);
	p = t_pod("default", "web", "app=web");
	p->info.obj = obj;
	c = t_cycle(s);
	is_int(t_pre_filter(PL, lself, c, p), KP_STATUS_SUCCESS, "List defaults apply to owned pod");
	is_str(all4(lself, c, p), SKEW "|" SKEW "|OK|" LABEL, "List default: selector from RS");
	/* The same pod without an owner: nothing to deduce, no constraints. */
	p = t_pod("default", "orphan", "app=web");
	c = t_cycle(s);
	is_int(t_pre_filter(PL, lself, c, p), KP_STATUS_SKIP, "List defaults need an owner");
	PL->sched->fini(lself);

	/* Args validation. */
	void *bad;
	char *err = NULL;
	is_int(t_init(PL, "{\"defaultingType\": \"Foo\"}", &bad, &err), KP_EINVAL,
	       "defaultingType Foo refused");
	ok(err && strstr(err, "defaultingType"), "names the field: %s", err ? err : "");
	free(err);
	err = NULL;
	is_int(t_init(PL, "{\"defaultConstraints\": [{\"maxSkew\": 1, \"topologyKey\": \"k\", "
			  "\"whenUnsatisfiable\": \"DoNotSchedule\"}]}", &bad, &err),
	       KP_EINVAL, "System with defaultConstraints refused");
	ok(err && strstr(err, "must be empty"), "says why: %s", err ? err : "");
	free(err);
	err = NULL;
	is_int(t_init(PL, "{\"defaultingType\": \"List\", \"defaultConstraints\": [{\"maxSkew\": 1, "
			  "\"topologyKey\": \"k\", \"whenUnsatisfiable\": \"DoNotSchedule\", "
			  "\"labelSelector\": {}}]}", &bad, &err),
	       KP_EINVAL, "default constraint with a selector refused");
	ok(err && strstr(err, "defaultConstraints[0].labelSelector"), "names it: %s", err ? err : "");
	free(err);
	err = NULL;
	is_int(t_init(PL, "{\"defaultingType\": \"List\", \"defaultConstraints\": [{\"maxSkew\": 0, "
			  "\"topologyKey\": \"k\", \"whenUnsatisfiable\": \"DoNotSchedule\"}]}",
		      &bad, &err),
	       KP_EINVAL, "maxSkew 0 refused");
	ok(err && strstr(err, "defaultConstraints[0].maxSkew"), "names it: %s", err ? err : "");
	free(err);
	err = NULL;
	is_int(t_init(PL, "{\"defaultingType\": \"List\", \"defaultConstraints\": ["
			  "{\"maxSkew\": 1, \"topologyKey\": \"k\", \"whenUnsatisfiable\": \"DoNotSchedule\"},"
			  "{\"maxSkew\": 2, \"topologyKey\": \"k\", \"whenUnsatisfiable\": \"DoNotSchedule\"}]}",
		      &bad, &err),
	       KP_EINVAL, "duplicate default constraint refused");
	ok(err && strstr(err, "Duplicate"), "says duplicate: %s", err ? err : "");
	free(err);

	t_cycle_end(c);
	json_decref(obj);
	PL->sched->fini(self);
	return done_testing();
}

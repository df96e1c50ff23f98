/*
 * t2001-sched-filters - the basic filter plugins through the real
 * scheduler: NodeUnschedulable, NodeName, NodePorts, NodeResourcesFit
 * (init containers, sidecars, overhead, extended resources, pod count,
 * ignoredResources), NodeAffinity (nodeSelector, operators, matchFields,
 * addedAffinity), TaintToleration; and the reasons they give.
 */
#include "config.h"

#include "t/sched-lib.h"

static const char *pod(const char *name, const char *spec)
{
	static char buf[4096];
	snprintf(buf, sizeof(buf), "kind: Pod\nmetadata: {name: %s, namespace: t}\nspec:\n%s\n", name,
		 spec);
	return buf;
}

#define C1 "  containers: [{name: c, image: x, resources: {requests: {cpu: \"1\", memory: 1Gi}}}]"

static void unschedulable_and_taints(void)
{
	struct ts *t = ts_new(NULL, 1);
	ts_apply(t, ts_node("cordoned", "4", "8Gi", "spec: {unschedulable: true}"));
	ts_apply(t, ts_node("tainted", "4", "8Gi",
			    "spec: {taints: [{key: dedicated, value: db, effect: NoSchedule}, {key: soft, effect: PreferNoSchedule}]}"));
	ts_apply(t, ts_node("noexec", "4", "8Gi", "spec: {taints: [{key: gone, effect: NoExecute}]}"));
	json_t *tr = ts_schedule(t, pod("a", C1));
	ok(tr && !tr_node(tr), "no node for a pod without tolerations");
	is_str(tr_filtered(tr, "cordoned"), "node(s) were unschedulable", "cordoned node reason");
	is_str(tr_filtered(tr, "tainted"), "node(s) had untolerated taint {dedicated: db}",
	       "taint reason names key and value");
	is_str(tr_filtered(tr, "noexec"), "node(s) had untolerated taint {gone: }",
	       "NoExecute taint without value");
	is_str(tr_msg(tr),
	       "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: db}, 1 node(s) had untolerated taint {gone: }, 1 node(s) were unschedulable. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling..",
	       "message: counts sorted as strings, preemption appended");
	json_decref(tr);
	/* tolerations: Exists on the unschedulable taint, Equal on dedicated=db */
	tr = ts_schedule(t, pod("b",
				"  tolerations: [{key: node.kubernetes.io/unschedulable, operator: Exists, effect: NoSchedule}]\n" C1));
	is_str(tr_node(tr), "cordoned", "toleration of the unschedulable taint lets it on");
	json_decref(tr);
	tr = ts_schedule(t, pod("c", "  tolerations: [{key: dedicated, operator: Equal, value: db}]\n" C1));
	is_str(tr_node(tr), "tainted", "Equal toleration with empty effect tolerates NoSchedule");
	json_decref(tr);
	tr = ts_schedule(t, pod("d", "  tolerations: [{key: dedicated, operator: Equal, value: other}]\n" C1));
	ok(!tr_node(tr), "toleration with another value does not tolerate");
	json_decref(tr);
	tr = ts_schedule(t, pod("e", "  tolerations: [{operator: Exists}]\n" C1));
	ok(tr_node(tr) != NULL, "empty key + Exists tolerates everything");
	ok(json_array_size(json_object_get(tr, "feasible")) == 3, "all three nodes feasible");
	json_decref(tr);
	ts_free(t);
}

static void resources(void)
{
	struct ts *t = ts_new(NULL, 1);
	ts_apply(t, ts_node("small", "2", "4Gi", NULL));
	ts_apply(t, "kind: Node\nmetadata: {name: gpu}\nstatus:\n  allocatable: {cpu: \"4\", memory: 8Gi, pods: \"2\", example.com/gpu: \"2\"}\n");
	/* init container needing 3 cpu dominates 1 cpu of containers: fits only gpu (4 cpu) */
	json_t *tr = ts_schedule(t, pod("init",
		"  initContainers: [{name: i, image: x, resources: {requests: {cpu: \"3\"}}}]\n"
		"  containers: [{name: c, image: x, resources: {requests: {cpu: \"1\"}}}]"));
	is_str(tr_node(tr), "gpu", "init container's 3 cpu decide");
	is_str(tr_filtered(tr, "small"), "Insufficient cpu", "small lacks cpu");
	json_decref(tr);
	/* now gpu has 3 cpu requested (max(1,3)), 1 left; a sidecar adds to the sum:
	   containers 500m + sidecar 600m = 1100m > 1000m left on gpu, fits small (2 cpu) */
	tr = ts_schedule(t, pod("sidecar",
		"  initContainers: [{name: s, image: x, restartPolicy: Always, resources: {requests: {cpu: 600m}}}]\n"
		"  containers: [{name: c, image: x, resources: {requests: {cpu: 500m}}}]"));
	is_str(tr_node(tr), "small", "sidecar request counts with the containers");
	is_str(tr_filtered(tr, "gpu"), "Insufficient cpu", "1100m does not fit 1000m");
	json_decref(tr);
	/* overhead: 1 cpu + 500m overhead: small has 2000-1100=900m left, gpu 1000m: nowhere */
	tr = ts_schedule(t, pod("overhead",
		"  overhead: {cpu: 500m}\n"
		"  containers: [{name: c, image: x, resources: {requests: {cpu: 600m}}}]"));
	ok(!tr_node(tr), "overhead counts (1100m fits neither)");
	json_decref(tr);
	/* extended resource, memory from limits (requests default to limits), pod count */
	tr = ts_schedule(t, pod("gpu1",
		"  containers: [{name: c, image: x, resources: {limits: {example.com/gpu: \"2\", memory: 5Gi}}}]"));
	is_str(tr_node(tr), "gpu", "extended resource fits where it exists");
	is_str(tr_filtered(tr, "small"), "Insufficient memory, Insufficient example.com/gpu",
	       "both reasons, memory from limits");
	json_decref(tr);
	tr = ts_schedule(t, pod("gpu2",
		"  containers: [{name: c, image: x, resources: {requests: {example.com/gpu: \"1\"}}}]"));
	is_str(tr_filtered(tr, "gpu"), "Too many pods, Insufficient example.com/gpu",
	       "pod count (2 allowed) and the exhausted gpu");
	{
		const char *want = "0/2 nodes are available: 1 Too many pods, 2 Insufficient example.com/gpu.";
		const char *got = tr_msg(tr);
		ok(got && !strncmp(got, want, strlen(want)), "histogram sorted as strings: %s", got);
	}
	json_decref(tr);
	ts_free(t);

	/* ignoredResources */
	t = ts_new("apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n"
		   "profiles:\n- pluginConfig:\n  - name: NodeResourcesFit\n    args: {ignoredResources: [example.com/gpu], ignoredResourceGroups: [foo.io]}\n",
		   1);
	ts_apply(t, ts_node("plain", "2", "4Gi", NULL));
	tr = ts_schedule(t, pod("ign",
		"  containers: [{name: c, image: x, resources: {requests: {example.com/gpu: \"1\", foo.io/x: \"3\"}}}]"));
	is_str(tr_node(tr), "plain", "ignored extended resources and groups are not checked");
	json_decref(tr);
	tr = ts_schedule(t, pod("notign",
		"  containers: [{name: c, image: x, resources: {requests: {bar.io/y: \"1\"}}}]"));
	is_str(tr_filtered(tr, "plain"), "Insufficient bar.io/y", "others still are");
	json_decref(tr);
	ts_free(t);
}

static void ports_and_names(void)
{
	struct ts *t = ts_new(NULL, 1);
	ts_apply(t, ts_node("n1", "4", "8Gi", NULL));
	ts_apply(t, ts_node("n2", "4", "8Gi", NULL));
	ts_apply(t, "kind: Pod\nmetadata: {name: web, namespace: t}\nspec:\n  nodeName: n1\n"
		    "  containers: [{name: c, image: x, ports: [{containerPort: 80, hostPort: 8080}]}]\n");
	json_t *tr = ts_schedule(t, pod("p", "  containers: [{name: c, image: x, ports: [{containerPort: 80, hostPort: 8080}]}]"));
	is_str(tr_node(tr), "n2", "host port taken on n1");
	is_str(tr_filtered(tr, "n1"), "node(s) didn't have free ports for the requested pod ports",
	       "NodePorts reason");
	json_decref(tr);
	tr = ts_schedule(t, pod("udp",
		"  containers: [{name: c, image: x, ports: [{containerPort: 80, hostPort: 8080, protocol: UDP}]}]"));
	ok(tr_filtered(tr, "n1") == NULL && tr_filtered(tr, "n2") == NULL, "UDP 8080 does not conflict with TCP");
	json_decref(tr);
	tr = ts_schedule(t, pod("ip",
		"  containers: [{name: c, image: x, ports: [{containerPort: 80, hostPort: 8080, hostIP: 10.0.0.1}]}]"));
	ok(tr_filtered(tr, "n1") && tr_filtered(tr, "n2"),
	   "a specific hostIP conflicts with 0.0.0.0 on both nodes");
	json_decref(tr);
	ts_free(t);
}

static void affinity(void)
{
	struct ts *t = ts_new(NULL, 1);
	ts_apply(t, ts_node("a1", "4", "8Gi", "  labels: {zone: a, gen: \"3\"}"));
	ts_apply(t, ts_node("a2", "4", "8Gi", "  labels: {zone: a, gen: \"5\"}"));
	ts_apply(t, ts_node("b1", "4", "8Gi", "  labels: {zone: b}"));
	json_t *tr = ts_schedule(t, pod("sel", "  nodeSelector: {zone: b}\n" C1));
	is_str(tr_node(tr), "b1", "nodeSelector");
	is_str(tr_filtered(tr, "a1"), "node(s) didn't match Pod's node affinity/selector",
	       "NodeAffinity reason");
	json_decref(tr);
	tr = ts_schedule(t, pod("gt",
		"  affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: gen, operator: Gt, values: [\"4\"]}]}]}}}\n" C1));
	is_str(tr_node(tr), "a2", "Gt compares integers (5 > 4; b1 has no label)");
	json_decref(tr);
	tr = ts_schedule(t, pod("or",
		"  affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: ["
		"{matchExpressions: [{key: zone, operator: NotIn, values: [a]}]},"
		"{matchExpressions: [{key: gen, operator: Lt, values: [\"4\"]}]}]}}}\n" C1));
	ok(tr_filtered(tr, "a2") && !tr_filtered(tr, "a1") && !tr_filtered(tr, "b1"),
	   "terms are ORed (NotIn matches nodes without the key value; Lt)");
	json_decref(tr);
	tr = ts_schedule(t, pod("in2",
		"  affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: In, values: [c, b]}, {key: zone, operator: Exists}]}]}}}\n" C1));
	ok(tr_filtered(tr, "a1") && tr_filtered(tr, "a2") && !tr_filtered(tr, "b1"),
	   "one term of In expressions: every expression must hold, any listed value");
	json_decref(tr);
	tr = ts_schedule(t, pod("in-missing",
		"  affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: gen, operator: In, values: [\"3\", \"5\"]}]}]}}}\n" C1));
	ok(!tr_filtered(tr, "a1") && !tr_filtered(tr, "a2") && tr_filtered(tr, "b1"),
	   "In on a key a node lacks filters that node");
	json_decref(tr);
	tr = ts_schedule(t, pod("empty-term",
		"  affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: []}]}}}\n" C1));
	ok(tr_filtered(tr, "a1") && tr_filtered(tr, "a2") && tr_filtered(tr, "b1"),
	   "an empty term matches no node");
	json_decref(tr);
	/* the label columns Filter reads follow node changes between attempts */
	{
		struct ts *t2 = ts_new(NULL, 1);
#define ZONE_A "  affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: In, values: [a]}]}]}}}\n" C1
		ts_apply(t2, ts_node("c1", "4", "8Gi", "  labels: {zone: a}"));
		ts_apply(t2, ts_node("c2", "4", "8Gi", "  labels: {zone: b}"));
		json_t *r = ts_schedule(t2, pod("z1", ZONE_A));
		is_str(tr_node(r), "c1", "zone a: c1");
		json_decref(r);
		ts_apply_change(t2, KP_SCHED_MODIFIED, ts_node("c1", "4", "8Gi", "  labels: {zone: b}"));
		ts_apply_change(t2, KP_SCHED_MODIFIED, ts_node("c2", "4", "8Gi", "  labels: {zone: a}"));
		r = ts_schedule(t2, pod("z2", ZONE_A));
		is_str(tr_node(r), "c2", "after relabelling, zone a is c2");
		ok(tr_filtered(r, "c1") != NULL, "and c1 (now zone b) is filtered out");
		json_decref(r);
		ts_apply_change(t2, KP_SCHED_DELETED, ts_node("c2", "4", "8Gi", "  labels: {zone: a}"));
		ts_apply(t2, ts_node("c3", "4", "8Gi", "  labels: {zone: a}"));
		ts_apply(t2, ts_node("c4", "4", "8Gi", "  labels: {zone: b}"));
		r = ts_schedule(t2, pod("z3", ZONE_A));
		is_str(tr_node(r), "c3", "a node deleted and others added: zone a is c3");
		ok(tr_filtered(r, "c1") && tr_filtered(r, "c4"), "c1 and c4 (zone b) filtered out");
		json_decref(r);
#undef ZONE_A
		ts_free(t2);
	}
	tr = ts_schedule(t, pod("fields",
		"  affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchFields: [{key: metadata.name, operator: In, values: [a1]}]}]}}}\n" C1));
	is_str(tr_node(tr), "a1", "matchFields metadata.name");
	ok(json_array_size(json_object_get(tr, "feasible")) == 1, "PreFilter restricted the nodes to a1");
	json_decref(tr);
	tr = ts_schedule(t, pod("fields-none",
		"  affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchFields: [{key: metadata.name, operator: In, values: [zz]}]}]}}}\n" C1));
	is_str(tr_msg(tr), "0/3 nodes are available: node(s) didn't satisfy plugin NodeAffinity.",
	       "PreFilter node set without any existing node");
	json_decref(tr);
	ts_free(t);

	t = ts_new("apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n"
		   "profiles:\n- pluginConfig:\n  - name: NodeAffinity\n    args:\n      addedAffinity:\n"
		   "        requiredDuringSchedulingIgnoredDuringExecution:\n"
		   "          nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: In, values: [a]}]}]\n",
		   1);
	ts_apply(t, ts_node("a1", "4", "8Gi", "  labels: {zone: a}"));
	ts_apply(t, ts_node("b1", "4", "8Gi", "  labels: {zone: b}"));
	tr = ts_schedule(t, pod("x", C1));
	is_str(tr_node(tr), "a1", "addedAffinity applies to every pod");
	is_str(tr_filtered(tr, "b1"), "node(s) didn't match scheduler-enforced node affinity",
	       "addedAffinity reason");
	json_decref(tr);
	ts_free(t);
}

static void bad_pods(void)
{
	struct ts *t = ts_new(NULL, 1);
	json_t *docs = ts_yaml("kind: Pod\nmetadata: {name: bad}\nspec:\n  containers: [{name: c, resources: {requests: {cpu: lots}}}]\n");
	char *e = NULL;
	ok(kp_scheduler_apply(t->s, KP_SCHED_ADDED, json_array_get(docs, 0), &e) == KP_EINVAL,
	   "bad quantity refused");
	ok(e && strstr(e, "spec.containers[0].resources.requests.cpu"), "message names the field: %s", e);
	free(e);
	e = NULL;
	json_decref(docs);
	docs = ts_yaml("kind: Pod\nmetadata: {name: bad2}\nspec:\n  tolerations: [{key: a, operator: Maybe}]\n  containers: [{name: c}]\n");
	ok(kp_scheduler_apply(t->s, KP_SCHED_ADDED, json_array_get(docs, 0), &e) == KP_EINVAL &&
	   e && strstr(e, "spec.tolerations[0].operator"), "bad toleration operator named");
	free(e);
	json_decref(docs);
	ts_free(t);
}

int main(void)
{
	unschedulable_and_taints();
	resources();
	ports_and_names();
	affinity();
	bad_pods();
	return done_testing();
}

/*
 * t7001-sched-bench-parse - sched-bench's reading of scheduler_perf configs
 * (params, templates relative to the config, node strategies, {{.Index}},
 * unsupported ops and fields named), its throughput sampling, and the
 * placement checker on hand-made final states with known violations.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <kplane/object.h>

#include "cli/bench/bench.h"
#include "t/tap.h"

static char dir[] = "/tmp/t7001.XXXXXX";

static void put(const char *rel, const char *text)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	FILE *f = fopen(p, "w");
	if (!f) {
		perror(p);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
}

static struct sb_workload *find(struct sb_config *c, const char *full)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->w[i].full, full))
			return &c->w[i];
	return NULL;
}

static void test_parse(void)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/tmpl", dir);
	mkdir(p, 0777);
	snprintf(p, sizeof(p), "%s/conf", dir);
	mkdir(p, 0777);
	put("tmpl/node.yaml", "apiVersion: v1\nkind: Node\nmetadata: {generateName: n-}\n"
			      "status: {capacity: {cpu: '4', memory: 8Gi, pods: '110'}}\n");
	put("tmpl/pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {generateName: p-, labels: {app: x}}\n"
			     "spec: {containers: [{name: c, image: i}]}\n");
	put("tmpl/indexed.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: 'ix-{{.Index}}'}\n"
				 "spec: {containers: [{name: c, image: i}]}\n");
	put("tmpl/ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {labels: {team: devops}}\n");
	put("tmpl/gotmpl.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n"
				"spec: {priority: {{if .p}}1{{end}}}\n");
	put("conf/perf.yaml",
	    "- name: Basic\n"
	    "  defaultPodTemplatePath: ../tmpl/pod.yaml\n"
	    "  workloadTemplate:\n"
	    "  - opcode: createNodes\n"
	    "    countParam: $nodes\n"
	    "    nodeTemplatePath: ../tmpl/node.yaml\n"
	    "    labelNodePrepareStrategy: {labelKey: zone, labelValues: [a, b, c]}\n"
	    "    uniqueNodeLabelStrategy: {labelKey: uniq}\n"
	    "    nodeAllocatableStrategy: {nodeAllocatable: {cpu: '2'}}\n"
	    "  - opcode: createNamespaces\n"
	    "    prefix: ns\n"
	    "    count: 2\n"
	    "  - opcode: createPods\n"
	    "    countParam: $pods\n"
	    "    namespace: ns-1\n"
	    "    collectMetrics: true\n"
	    "  - opcode: createPods\n"
	    "    count: 2\n"
	    "    podTemplatePath: ../tmpl/indexed.yaml\n"
	    "    skipWaitToCompletion: true\n"
	    "  - opcode: barrier\n"
	    "  - opcode: sleep\n"
	    "    duration: 1m30s\n"
	    "  - opcode: deletePods\n"
	    "    namespace: ns-1\n"
	    "    deletePodsPerSecond: 50\n"
	    "  workloads:\n"
	    "  - name: small\n"
	    "    threshold: 100\n"
	    "    featureGates: {SchedulerQueueingHints: true}\n"
	    "    params: {nodes: 5, pods: 7}\n"
	    "  - name: noparam\n"
	    "    params: {nodes: 5}\n"
	    "- name: Odd\n"
	    "  workloadTemplate:\n"
	    "  - opcode: createNodes\n"
	    "    count: 1\n"
	    "  - opcode: createAny\n"
	    "    templatePath: x.yaml\n"
	    "  workloads:\n"
	    "  - name: a\n"
	    "- name: Field\n"
	    "  workloadTemplate:\n"
	    "  - opcode: createPods\n"
	    "    count: 1\n"
	    "    steadyState: true\n"
	    "  workloads:\n"
	    "  - name: a\n"
	    "- name: GoTemplate\n"
	    "  workloadTemplate:\n"
	    "  - opcode: createPods\n"
	    "    count: 1\n"
	    "    podTemplatePath: ../tmpl/gotmpl.yaml\n"
	    "  workloads:\n"
	    "  - name: a\n"
	    "- name: Missing\n"
	    "  workloadTemplate:\n"
	    "  - opcode: createPods\n"
	    "    count: 1\n"
	    "    podTemplatePath: ../tmpl/nope.yaml\n"
	    "  workloads:\n"
	    "  - name: a\n"
	    "- name: Sets\n"
	    "  workloadTemplate:\n"
	    "  - opcode: createNamespaces\n"
	    "    prefix: team\n"
	    "    count: 3\n"
	    "    namespaceTemplatePath: ../tmpl/ns.yaml\n"
	    "  - opcode: createPodSets\n"
	    "    countParam: $sets\n"
	    "    namespacePrefix: team\n"
	    "    createPodsOp: {opcode: createPods, countParam: $per}\n"
	    "  - opcode: barrier\n"
	    "    stageRequirement: Attempted\n"
	    "  - opcode: deletePods\n"
	    "    namespace: team-1\n"
	    "    skipWaitToCompletion: true\n"
	    "  workloads:\n"
	    "  - name: a\n"
	    "    params: {sets: 3, per: 4}\n"
	    "- name: BadCase\n"
	    "  schedulerConfigPath: x.yaml\n"
	    "  workloadTemplate:\n"
	    "  - opcode: barrier\n"
	    "  workloads:\n"
	    "  - name: a\n");
	snprintf(p, sizeof(p), "%s/conf/perf.yaml", dir);
	struct sb_config *c = NULL;
	char *e = NULL;
	is_int(sb_config_load(p, &c, &e), 0, "config loads (%s)", e ? e : "");
	if (!c) {
		free(e);
		return;
	}
	is_uint(c->n, 8, "8 workloads over 7 test cases");
	struct sb_workload *w = find(c, "Basic/small");
	ok(w && !w->skip_reason, "Basic/small runs (%s)", w && w->skip_reason ? w->skip_reason : "");
	if (w && !w->skip_reason) {
		is_uint(w->nops, 7, "7 ops");
		is_int(w->ops[0].code, SB_OP_CREATE_NODES, "op 0 createNodes");
		is_int(w->ops[0].count, 5, "countParam $nodes substituted");
		is_int(w->ops[1].count, 2, "createNamespaces count");
		is_int(w->ops[2].count, 7, "countParam $pods substituted");
		is_str(w->ops[2].ns, "ns-1", "namespace");
		ok(w->ops[2].collect_metrics && !w->ops[2].skip_wait, "collectMetrics");
		is_str(kp_obj_str(w->ops[2].tmpl, "metadata.generateName"), "p-",
		       "defaultPodTemplatePath resolved relative to the config file");
		ok(w->ops[3].skip_wait, "skipWaitToCompletion");
		is_int(w->ops[5].duration_ms, 90000, "sleep 1m30s = 90000 ms");
		ok(w->ops[6].delete_per_second == 50, "deletePodsPerSecond");
		ok(w->threshold == 100, "threshold");

		/* nodes: labels round-robin over labelValues, unique label, allocatable */
		json_t *n0 = sb_render_node(&w->ops[0], 0, 10, &e);
		json_t *n4 = sb_render_node(&w->ops[0], 4, 14, &e);
		is_str(kp_obj_name(n0), "n-10", "node name from generateName and sequence");
		is_str(kp_obj_label(n0, "zone"), "a", "node 0 in zone a");
		is_str(kp_obj_label(n4, "zone"), "b", "node 4 in zone b (4 mod 3 = 1)");
		is_str(kp_obj_label(n0, "kubernetes.io/hostname"), "n-10", "hostname label");
		ok(kp_obj_label(n0, "uniq") && kp_obj_label(n4, "uniq") &&
			   strcmp(kp_obj_label(n0, "uniq"), kp_obj_label(n4, "uniq")),
		   "uniqueNodeLabelStrategy gives distinct values");
		is_str(kp_obj_str(n0, "status.allocatable.cpu"), "2", "nodeAllocatable overrides cpu");
		is_str(kp_obj_str(n0, "status.allocatable.memory"), "8Gi",
		       "allocatable defaults to capacity (API defaulting)");
		json_decref(n0);
		json_decref(n4);

		json_t *pod = sb_render_pod(&w->ops[2], "ns-1", 3, 20, &e);
		is_str(kp_obj_name(pod), "p-20", "pod name");
		is_str(kp_obj_namespace(pod), "ns-1", "pod namespace");
		is_str(kp_obj_label(pod, "app"), "x", "template labels kept");
		json_decref(pod);
		json_t *ix = sb_render_pod(&w->ops[3], "namespace-3", 7, 21, &e);
		is_str(kp_obj_name(ix), "ix-7", "{{.Index}} rendered per object, explicit name kept");
		json_decref(ix);
	}
	w = find(c, "Sets/a");
	ok(w && !w->skip_reason, "Sets/a runs (%s)", w && w->skip_reason ? w->skip_reason : "");
	if (w && !w->skip_reason) {
		/* createNamespaces, 3 createPods from createPodSets, barrier, deletePods */
		is_uint(w->nops, 6, "createPodSets expands into one createPods per namespace");
		ok(w->ops[1].code == SB_OP_CREATE_PODS && w->ops[3].code == SB_OP_CREATE_PODS,
		   "expanded ops are createPods");
		is_str(w->ops[1].ns, "team-0", "first set in team-0");
		is_str(w->ops[3].ns, "team-2", "third set in team-2");
		is_int(w->ops[2].count, 4, "createPodsOp countParam substituted");
		ok(w->ops[4].code == SB_OP_BARRIER && w->ops[4].attempted, "barrier stageRequirement Attempted");
		ok(w->ops[5].code == SB_OP_DELETE_PODS && w->ops[5].skip_wait, "deletePods skipWaitToCompletion");
		json_t *ns = sb_render_namespace(w->ops[0].tmpl, "team-2");
		is_str(kp_obj_name(ns), "team-2", "namespace named");
		is_str(kp_obj_label(ns, "team"), "devops", "namespace template labels kept");
		is_str(kp_obj_label(ns, "kubernetes.io/metadata.name"), "team-2", "metadata.name label");
		json_decref(ns);
	}
	w = find(c, "Basic/noparam");
	ok(w && w->skip_reason && strstr(w->skip_reason, "$pods") &&
		   strstr(w->skip_reason, "not defined"),
	   "an undefined param skips the workload, naming it: %s",
	   w && w->skip_reason ? w->skip_reason : "(none)");
	w = find(c, "Odd/a");
	ok(w && w->skip_reason && strstr(w->skip_reason, "op createAny is not supported"),
	   "unsupported op named: %s", w && w->skip_reason ? w->skip_reason : "(none)");
	w = find(c, "Field/a");
	ok(w && w->skip_reason && strstr(w->skip_reason, "createPods.steadyState is not supported"),
	   "unsupported field named: %s", w && w->skip_reason ? w->skip_reason : "(none)");
	w = find(c, "GoTemplate/a");
	ok(w && w->skip_reason && strstr(w->skip_reason, "{{if .p}}"),
	   "Go template action named: %s", w && w->skip_reason ? w->skip_reason : "(none)");
	w = find(c, "Missing/a");
	ok(w && w->skip_reason && strstr(w->skip_reason, "nope.yaml"),
	   "missing template named: %s", w && w->skip_reason ? w->skip_reason : "(none)");
	w = find(c, "BadCase/a");
	ok(w && w->skip_reason && strstr(w->skip_reason, "schedulerConfigPath"),
	   "unsupported test-case field named: %s", w && w->skip_reason ? w->skip_reason : "(none)");

	w = find(c, "Basic/small");
	ok(sb_workload_match(w, NULL), "no pattern matches all");
	ok(sb_workload_match(w, "Basic"), "test name matches every case");
	ok(sb_workload_match(w, "Basic/small"), "test/case matches");
	ok(sb_workload_match(w, "*/sm*"), "patterns");
	ok(!sb_workload_match(w, "Basic/noparam"), "other case does not match");
	ok(!sb_workload_match(w, "Bas"), "prefix alone does not match");
	sb_config_free(c);

	/* whole-file errors */
	put("conf/bad.yaml", "- name: x\n  workloads: 3\n");
	snprintf(p, sizeof(p), "%s/conf/bad.yaml", dir);
	c = NULL;
	ok(sb_config_load(p, &c, &e) < 0 && e && strstr(e, "workloads"), "workloads not a list: %s",
	   e ? e : "");
	free(e);
	e = NULL;
	put("conf/notyaml.yaml", "- [\n");
	snprintf(p, sizeof(p), "%s/conf/notyaml.yaml", dir);
	ok(sb_config_load(p, &c, &e) < 0 && e && strstr(e, "notyaml.yaml"), "bad YAML: %s", e ? e : "");
	free(e);
	e = NULL;
	ok(sb_config_load("/nonexistent/perf.yaml", &c, &e) < 0 && e, "missing file: %s", e ? e : "");
	free(e);
}

/* upstream's own configs: the runnable ones parse, the rest are named */
static void test_upstream(void)
{
	const char *src = getenv("KP_SRC_DIR");
	char p[600];
	snprintf(p, sizeof(p), "%s/../shared/scheduler_perf/topology_spreading/performance-config.yaml",
		 src ? src : "..");
	if (access(p, R_OK) != 0) {
		skip(4, "no ../shared/scheduler_perf next to the source tree");
		return;
	}
	struct sb_config *c = NULL;
	char *e = NULL;
	is_int(sb_config_load(p, &c, &e), 0, "upstream topology_spreading config loads");
	if (!c) {
		free(e);
		return;
	}
	struct sb_workload *w = find(c, "TopologySpreading/5000Nodes_5000Pods");
	ok(w && !w->skip_reason && w->nops == 3 && w->ops[0].count == 5000 &&
		   w->ops[0].nlabel_values == 3 && w->ops[2].count == 5000 && w->ops[2].collect_metrics,
	   "TopologySpreading/5000Nodes_5000Pods: 5000 nodes in 3 zones, 5000 measured pods");
	ok(w && w->threshold == 460, "threshold 460");
	w = find(c, "DefaultTopologySpreading/500Nodes");
	ok(w && w->skip_reason && strstr(w->skip_reason, "createAny"),
	   "DefaultTopologySpreading skipped for createAny: %s",
	   w && w->skip_reason ? w->skip_reason : "(none)");
	sb_config_free(c);
}

static void test_summary(void)
{
	/* t0 = 1 s; 100 binds in the first second, 50 in the second, 25 in the
	 * last half second: samples 100, 50 and 25/0.5 = 50 */
	struct sb_result r = { 0 };
	int64_t n = 175, s = 1000000000LL;
	r.measured = n;
	r.bind_ns = calloc((size_t)n, sizeof(int64_t));
	r.create_ns = calloc((size_t)n, sizeof(int64_t));
	for (int64_t i = 0; i < 100; i++)
		r.bind_ns[i] = s + i * (s / 100);
	for (int64_t i = 0; i < 50; i++)
		r.bind_ns[100 + i] = 2 * s + i * (s / 50);
	for (int64_t i = 0; i < 25; i++)
		r.bind_ns[150 + i] = 3 * s + i * (s / 50);
	r.t0_ns = s;
	r.t1_ns = 3 * s + s / 2;
	struct sb_summary sm;
	sb_summarise(&r, 1.0, &sm);
	is_uint(sm.nsamples, 3, "three samples (two full seconds, one half)");
	is_double(sm.samples[2], 50.0, 1e-9, "partial interval scaled by its length");
	is_double(sm.tput_avg, 200.0 / 3.0, 1e-9, "Average = mean of samples");
	is_double(sm.tput_p50, 50.0, 1e-9, "Perc50 = sorted[ceil(3*0.5)-1] = 50");
	is_double(sm.tput_p90, 100.0, 1e-9, "Perc90 = sorted[ceil(2.7)-1] = 100");
	is_double(sm.wall_s, 2.5, 1e-9, "wall time");
	sb_summary_release(&sm);
	free(r.bind_ns);
	free(r.create_ns);
	double v[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	is_double(sb_percentile(v, 10, 99), 10, 0, "p99 of 10 is the largest");
	is_double(sb_percentile(v, 10, 50), 5, 0, "p50 of 10 is the 5th");
}

static json_t *node(const char *name, const char *zone, const char *cpu, bool tainted)
{
	json_t *n = json_pack("{s:s,s:s,s:{s:s,s:{s:s}},s:{},s:{s:{s:s,s:s,s:s}}}", "apiVersion", "v1",
			      "kind", "Node", "metadata", "name", name, "labels",
			      "kubernetes.io/hostname", name, "spec", "status", "allocatable", "cpu", cpu,
			      "memory", "4Gi", "pods", "3");
	if (zone)
		kp_obj_set_label(n, "zone", zone);
	if (tainted)
		kp_obj_set(n, "spec.taints", json_pack("[{s:s,s:s,s:s}]", "key", "k", "value", "v",
						       "effect", "NoSchedule"));
	return n;
}

static json_t *pod(const char *name, const char *nodename, const char *cpu, const char *color)
{
	json_t *p = json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:[{s:s,s:{s:{s:s}}}]}}", "apiVersion", "v1",
			      "kind", "Pod", "metadata", "name", name, "namespace", "ns", "spec",
			      "containers", "name", "c", "resources", "requests", "cpu", cpu);
	if (nodename)
		kp_obj_set_str(p, "spec.nodeName", nodename);
	if (color)
		kp_obj_set_label(p, "color", color);
	return p;
}

static int64_t check(json_t *nodes, json_t *pods, struct sb_result *out)
{
	memset(out, 0, sizeof(*out));
	out->nodes_final = nodes;
	out->pods_final = pods;
	sb_check_placement(out);
	size_t i;
	json_t *v;
	json_array_foreach(out->violation_list, i, v)
		diag("violation: %s", json_string_value(v));
	return out->violations;
}

static void test_placement(void)
{
	struct sb_result r;
	/* clean: a has 2 cpu, b 1 cpu; 1500m on a, 500m on b */
	json_t *nodes = json_pack("[o,o,o]", node("a", "z1", "2", false), node("b", "z2", "1", false),
				  node("t", "z2", "8", true));
	json_t *pods = json_pack("[o,o,o,o]", pod("p1", "a", "1", NULL), pod("p2", "a", "500m", NULL),
				 pod("p3", "b", "500m", NULL), pod("p4", NULL, "100", NULL));
	is_int(check(json_incref(nodes), json_incref(pods), &r), 0, "a fitting placement has no violation");
	is_double(r.cpu_mean, (0.75 + 0.5 + 0) / 3, 1e-9, "cpu mean (1500/2000, 500/1000, 0)");
	is_double(r.cpu_max, 0.75, 1e-9, "cpu max");
	sb_result_free(&r);

	/* overcommit cpu on b (1500m > 1000m) and a 4th pod on a (pods: 3) */
	json_array_append_new(pods, pod("p5", "b", "1", NULL));
	json_array_append_new(pods, pod("p6", "a", "0", NULL));
	json_array_append_new(pods, pod("p7", "a", "0", NULL));
	is_int(check(json_incref(nodes), json_incref(pods), &r), 2,
	       "cpu over allocatable on b and 4 pods on a (allocatable 3)");
	sb_result_free(&r);
	json_decref(pods);

	/* a pod on the tainted node; a pod whose nodeSelector does not match */
	pods = json_pack("[o,o]", pod("q1", "t", "1", NULL), pod("q2", "a", "1", NULL));
	kp_obj_set(json_array_get(pods, 1), "spec.nodeSelector", json_pack("{s:s}", "zone", "z2"));
	is_int(check(json_incref(nodes), json_incref(pods), &r), 2, "untolerated taint and nodeSelector");
	sb_result_free(&r);
	/* tolerating the taint removes one */
	kp_obj_set(json_array_get(pods, 0), "spec.tolerations",
		   json_pack("[{s:s,s:s}]", "key", "k", "operator", "Exists"));
	is_int(check(json_incref(nodes), json_incref(pods), &r), 1, "a toleration with Exists clears it");
	sb_result_free(&r);
	json_decref(pods);

	/* anti-affinity by zone: g1 on a (z1), g2 on b (z2), g3 on t (z2) clashes with g2 */
	json_t *anti = json_pack("{s:{s:[{s:{s:{s:s}},s:s}]}}", "podAntiAffinity",
				 "requiredDuringSchedulingIgnoredDuringExecution", "labelSelector",
				 "matchLabels", "color", "green", "topologyKey", "zone");
	pods = json_pack("[o,o,o]", pod("g1", "a", "0", "green"), pod("g2", "b", "0", "green"),
			 pod("g3", "t", "0", "green"));
	json_t *tol = json_pack("[{s:s}]", "operator", "Exists");
	for (size_t i = 0; i < 3; i++) {
		kp_obj_set(json_array_get(pods, i), "spec.affinity", json_deep_copy(anti));
		kp_obj_set(json_array_get(pods, i), "spec.tolerations", json_deep_copy(tol));
	}
	/* g2 and g3 each see the other: two reports of one clash */
	is_int(check(json_incref(nodes), json_incref(pods), &r), 2, "anti-affinity clash in z2 (seen from both pods)");
	sb_result_free(&r);
	json_decref(pods);
	json_decref(anti);

	/* affinity by zone: b1 first (exception), b2 joins z1: fine; b3 alone in z2 after b1: bad */
	json_t *aff = json_pack("{s:{s:[{s:{s:{s:s}},s:s}]}}", "podAffinity",
				"requiredDuringSchedulingIgnoredDuringExecution", "labelSelector",
				"matchLabels", "color", "blue", "topologyKey", "zone");
	pods = json_pack("[o,o,o]", pod("b1", "a", "0", "blue"), pod("b2", "a", "0", "blue"),
			 pod("b3", "b", "0", "blue"));
	for (size_t i = 0; i < 3; i++)
		kp_obj_set(json_array_get(pods, i), "spec.affinity", json_deep_copy(aff));
	is_int(check(json_incref(nodes), json_incref(pods), &r), 1,
	       "required affinity: only b3 (alone in z2 while b1 existed) violates");
	sb_result_free(&r);
	json_decref(pods);
	json_decref(aff);

	/* spreading over zones z1, z2 with maxSkew 1: 3 in z1, 1 in z2 -> skew 2 */
	json_t *tsc = json_pack("[{s:i,s:s,s:s,s:{s:{s:s}}}]", "maxSkew", 1, "topologyKey", "zone",
				"whenUnsatisfiable", "DoNotSchedule", "labelSelector", "matchLabels",
				"color", "red");
	pods = json_pack("[o,o,o,o]", pod("r1", "a", "0", "red"), pod("r2", "a", "0", "red"),
			 pod("r3", "a", "0", "red"), pod("r4", "b", "0", "red"));
	for (size_t i = 0; i < 4; i++)
		kp_obj_set(json_array_get(pods, i), "spec.topologySpreadConstraints", json_deep_copy(tsc));
	is_int(check(json_incref(nodes), json_incref(pods), &r), 1, "spread skew 2 > maxSkew 1, reported once");
	sb_result_free(&r);
	/* move r3 to t (z2, tolerating): 2 and 2 */
	kp_obj_set_str(json_array_get(pods, 2), "spec.nodeName", "t");
	kp_obj_set(json_array_get(pods, 2), "spec.tolerations", json_deep_copy(tol));
	is_int(check(json_incref(nodes), json_incref(pods), &r), 0, "skew 0 after moving r3");
	sb_result_free(&r);
	json_decref(pods);
	json_decref(tsc);
	json_decref(tol);

	/* namespaceSelector: g1 in ns a (team=devops), g2 in ns b (no labels), both
	 * on node a with a hostname anti-affinity term over team=devops namespaces:
	 * only g2's term covers g1 -> one violation; label b too -> both clash */
	json_t *nsanti = json_pack("{s:{s:[{s:{s:{s:s}},s:{s:{s:s}},s:s}]}}", "podAntiAffinity",
				   "requiredDuringSchedulingIgnoredDuringExecution", "labelSelector",
				   "matchLabels", "color", "green", "namespaceSelector", "matchLabels",
				   "team", "devops", "topologyKey", "kubernetes.io/hostname");
	pods = json_pack("[o,o]", pod("g1", "a", "0", "green"), pod("g2", "a", "0", "green"));
	kp_obj_set_str(json_array_get(pods, 0), "metadata.namespace", "a");
	kp_obj_set_str(json_array_get(pods, 1), "metadata.namespace", "b");
	for (size_t i = 0; i < 2; i++)
		kp_obj_set(json_array_get(pods, i), "spec.affinity", json_deep_copy(nsanti));
	memset(&r, 0, sizeof(r));
	r.nodes_final = json_incref(nodes);
	r.pods_final = json_incref(pods);
	r.ns_labels = json_pack("{s:{s:s},s:{}}", "a", "team", "devops", "b");
	sb_check_placement(&r);
	is_int(r.violations, 1, "namespaceSelector: only the term covering namespace a matches");
	json_object_set_new(r.ns_labels, "b", json_pack("{s:s}", "team", "devops"));
	sb_check_placement(&r);
	is_int(r.violations, 2, "both namespaces selected: both terms match");
	sb_result_free(&r);
	json_decref(pods);
	json_decref(nsanti);

	/* bound to a node that does not exist */
	pods = json_pack("[o]", pod("x", "ghost", "0", NULL));
	is_int(check(json_incref(nodes), json_incref(pods), &r), 1, "unknown node");
	sb_result_free(&r);
	json_decref(pods);
	json_decref(nodes);
}

/*
 * The scheduler's duration histograms read back from Prometheus text;
 * expected values by hand (histogram_quantile: linear inside the bucket
 * holding the rank, the first bucket from 0, +Inf reads as the highest
 * finite bound).
 */
static void test_hists(void)
{
	static const char text[] =
		"# TYPE kplane_scheduler_framework_extension_point_duration_seconds histogram\n"
		"kplane_scheduler_framework_extension_point_duration_seconds_bucket{extension_point=\"Filter\",profile=\"p\",le=\"0.0001\"} 2\n"
		"kplane_scheduler_framework_extension_point_duration_seconds_bucket{extension_point=\"Filter\",profile=\"p\",le=\"0.0002\"} 6\n"
		"kplane_scheduler_framework_extension_point_duration_seconds_bucket{extension_point=\"Filter\",profile=\"p\",le=\"0.0004\"} 10\n"
		"kplane_scheduler_framework_extension_point_duration_seconds_bucket{extension_point=\"Filter\",profile=\"p\",le=\"+Inf\"} 10\n"
		"kplane_scheduler_framework_extension_point_duration_seconds_sum{extension_point=\"Filter\",profile=\"p\"} 0.0015\n"
		"kplane_scheduler_framework_extension_point_duration_seconds_count{extension_point=\"Filter\",profile=\"p\"} 10\n"
		"kplane_scheduler_schedule_attempts_total{result=\"scheduled\"} 10\n"
		"kplane_scheduler_plugin_execution_duration_seconds_bucket{plugin=\"X\",extension_point=\"Bind\",profile=\"p\",le=\"0.0001\"} 0\n"
		"kplane_scheduler_plugin_execution_duration_seconds_bucket{plugin=\"X\",extension_point=\"Bind\",profile=\"p\",le=\"0.0002\"} 0\n"
		"kplane_scheduler_plugin_execution_duration_seconds_bucket{plugin=\"X\",extension_point=\"Bind\",profile=\"p\",le=\"+Inf\"} 4\n"
		"kplane_scheduler_plugin_execution_duration_seconds_sum{plugin=\"X\",extension_point=\"Bind\",profile=\"p\"} 0.004\n"
		"kplane_scheduler_plugin_execution_duration_seconds_count{plugin=\"X\",extension_point=\"Bind\",profile=\"p\"} 4\n"
		"kplane_scheduler_plugin_execution_duration_seconds_sum{plugin=\"Y\",extension_point=\"Score\",profile=\"p\"} 0\n"
		"kplane_scheduler_plugin_execution_duration_seconds_count{plugin=\"Y\",extension_point=\"Score\",profile=\"p\"} 0\n";
	struct sb_hist *h = NULL;
	size_t n = sb_sched_hists(text, &h);
	is_int((int)n, 2, "two histograms with observations (Y has none)");
	if (n != 2) {
		free(h);
		return;
	}
	const struct sb_hist *f = !*h[0].plugin ? &h[0] : &h[1], *x = f == &h[0] ? &h[1] : &h[0];
	is_str(f->metric, "scheduler_framework_extension_point_duration_seconds",
	       "upstream's metric name");
	is_str(f->ext, "Filter", "extension_point label");
	is_str(f->profile, "p", "profile label");
	is_double(f->count, 10, 1e-9, "count");
	is_double(f->avg_ms, 0.15, 1e-9, "average = sum / count = 0.15 ms");
	is_double(f->p50_ms, 0.175, 1e-9, "p50: rank 5 in (0.1, 0.2] ms holding 2..6");
	is_double(f->p90_ms, 0.35, 1e-9, "p90: rank 9 in (0.2, 0.4] ms holding 6..10");
	is_double(f->p99_ms, 0.395, 1e-9, "p99: rank 9.9");
	is_str(x->metric, "scheduler_plugin_execution_duration_seconds", "plugin metric");
	is_str(x->plugin, "X", "plugin label");
	is_str(x->ext, "Bind", "its extension point");
	is_double(x->avg_ms, 1.0, 1e-9, "plugin average 1 ms");
	is_double(x->p50_ms, 0.2, 1e-9, "all in +Inf: the highest finite bound");
	free(h);
	is_int((int)sb_sched_hists(NULL, &h), 0, "no text, no histograms");
	ok(h == NULL, "and nothing allocated");
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_parse();
	test_upstream();
	test_summary();
	test_placement();
	test_hists();
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	return done_testing();
}

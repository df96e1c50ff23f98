/*
 * t3001-sched-scores - the basic score plugins through the real scheduler,
 * with expected values worked out by hand from kube-scheduler's formulas
 * (comments show the arithmetic).
 */
#include "config.h"

#include "t/sched-lib.h"

#define CFG "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- pluginConfig:\n"

static const char *const weights_name[] = { "TaintToleration", "NodeAffinity", "NodeResourcesFit",
					    "NodeResourcesBalancedAllocation", "ImageLocality",
					    "PodTopologySpread", "InterPodAffinity", NULL };
static const int weights[] = { 3, 2, 1, 1, 1, 2, 2 };

/* total must be the weighted sum of the plugins' normalised scores */
static long long weighted(const json_t *tr, const char *node)
{
	long long sum = 0;
	for (int i = 0; weights_name[i]; i++) {
		long long s = tr_score(tr, node, weights_name[i]);
		if (s >= 0)
			sum += s * weights[i];
	}
	return sum;
}

static void two_nodes(struct ts *t)
{
	ts_apply(t, ts_node("A", "4", "8Gi", NULL));
	ts_apply(t, ts_node("B", "2", "4Gi", NULL));
	ts_apply(t, "kind: Pod\nmetadata: {name: old, namespace: t}\nspec:\n  nodeName: A\n"
		    "  containers: [{name: c, image: x, resources: {requests: {cpu: \"1\", memory: 2Gi}}}]\n");
}

#define POD_1_1 "kind: Pod\nmetadata: {name: p, namespace: t}\nspec:\n  containers: [{name: c, image: x, resources: {requests: {cpu: \"1\", memory: 1Gi}}}]\n"

static void least_allocated_and_balance(void)
{
	struct ts *t = ts_new(NULL, 1);
	two_nodes(t);
	json_t *tr = ts_schedule(t, POD_1_1);
	/* A: cpu (4000-2000)*100/4000 = 50, memory (8-3)*100/8 = 62; (50+62)/2 = 56 */
	is_int(tr_score(tr, "A", "NodeResourcesFit"), 56, "LeastAllocated on A");
	/* B: cpu (2000-1000)*100/2000 = 50, memory (4-1)*100/4 = 75; 125/2 = 62 */
	is_int(tr_score(tr, "B", "NodeResourcesFit"), 62, "LeastAllocated on B");
	/* A: fractions .5 and .375, std .0625 -> 93.75 -> 93 */
	is_int(tr_score(tr, "A", "NodeResourcesBalancedAllocation"), 93, "BalancedAllocation on A");
	/* B: .5 and .25, std .125 -> 87.5 -> 87 */
	is_int(tr_score(tr, "B", "NodeResourcesBalancedAllocation"), 87, "BalancedAllocation on B");
	is_int(tr_score(tr, "A", "TaintToleration"), 100, "no taints: TaintToleration 100");
	is_int(tr_total(tr, "A"), weighted(tr, "A"), "total is the weighted sum (A)");
	is_int(tr_total(tr, "B"), weighted(tr, "B"), "total is the weighted sum (B)");
	is_int(tr_score(tr, "A", "NodeAffinity"), -1, "NodeAffinity skipped without preferred terms");
	json_decref(tr);
	ts_free(t);

	/* zero requests: scoring uses 100m / 200Mi; balance is skipped */
	t = ts_new(NULL, 1);
	ts_apply(t, ts_node("C1", "1", "1000Mi", NULL));
	ts_apply(t, ts_node("C2", "1", "1000Mi", NULL));
	tr = ts_schedule(t, "kind: Pod\nmetadata: {name: be, namespace: t}\nspec:\n  containers: [{name: c, image: x}]\n");
	/* cpu (1000-100)*100/1000 = 90, memory (1000-200)*100/1000 = 80 -> 85 */
	is_int(tr_score(tr, "C1", "NodeResourcesFit"), 85, "non-zero defaults for a best-effort pod");
	is_int(tr_score(tr, "C1", "NodeResourcesBalancedAllocation"), -1,
	       "BalancedAllocation skipped for a pod without requests");
	json_decref(tr);
	ts_free(t);
}

static void most_allocated_and_rtcr(void)
{
	struct ts *t = ts_new(CFG "  - name: NodeResourcesFit\n    args:\n      scoringStrategy:\n"
			      "        type: MostAllocated\n        resources: [{name: cpu, weight: 3}, {name: memory, weight: 1}]\n",
			      1);
	two_nodes(t);
	json_t *tr = ts_schedule(t, POD_1_1);
	/* A: cpu 2000*100/4000 = 50, memory 3*100/8 = 37; (50*3 + 37)/4 = 187/4 = 46 */
	is_int(tr_score(tr, "A", "NodeResourcesFit"), 46, "MostAllocated with weights on A");
	/* B: cpu 50, memory 25; (150 + 25)/4 = 43 */
	is_int(tr_score(tr, "B", "NodeResourcesFit"), 43, "MostAllocated with weights on B");
	is_str(tr_node(tr), "A", "MostAllocated packs (A wins)");
	json_decref(tr);
	ts_free(t);

	t = ts_new(CFG "  - name: NodeResourcesFit\n    args:\n      scoringStrategy:\n"
		   "        type: RequestedToCapacityRatio\n"
		   "        requestedToCapacityRatio: {shape: [{utilization: 0, score: 0}, {utilization: 100, score: 10}]}\n",
		   1);
	two_nodes(t);
	tr = ts_schedule(t, POD_1_1);
	/* shape maps utilisation u to u; A: cpu 50, memory 300/8 = 37; round(87/2 = 43.5) = 44 */
	is_int(tr_score(tr, "A", "NodeResourcesFit"), 44, "RequestedToCapacityRatio on A (rounded)");
	/* B: cpu 50, memory 25; round(37.5) = 38 */
	is_int(tr_score(tr, "B", "NodeResourcesFit"), 38, "RequestedToCapacityRatio on B");
	json_decref(tr);
	ts_free(t);

	/* a broken-linear shape: (0,10) (50,0) (100,10): u=50 -> 0 is ignored, u=25 -> 50 */
	t = ts_new(CFG "  - name: NodeResourcesFit\n    args:\n      scoringStrategy:\n"
		   "        type: RequestedToCapacityRatio\n"
		   "        requestedToCapacityRatio: {shape: [{utilization: 0, score: 10}, {utilization: 50, score: 0}, {utilization: 100, score: 10}]}\n",
		   1);
	two_nodes(t);
	tr = ts_schedule(t, POD_1_1);
	/* B: cpu u=50 -> 0 (dropped from the average), memory u=25 -> 100 - 100*25/50 = 50 -> 50 */
	is_int(tr_score(tr, "B", "NodeResourcesFit"), 50, "zero-scoring resources leave the average");
	json_decref(tr);
	ts_free(t);
}

static void balanced_three(void)
{
	struct ts *t = ts_new(CFG "  - name: NodeResourcesBalancedAllocation\n    args:\n"
			      "      resources: [{name: cpu, weight: 1}, {name: memory, weight: 1}, {name: ephemeral-storage, weight: 1}]\n",
			      1);
#define NODE3 "kind: Node\nmetadata: {name: %s}\nstatus:\n  allocatable: {cpu: \"4\", memory: 8Gi, ephemeral-storage: 100Gi, pods: \"110\"}\n"
	char buf[512];
	snprintf(buf, sizeof(buf), NODE3, "D");
	ts_apply(t, buf);
	snprintf(buf, sizeof(buf), NODE3, "E");
	ts_apply(t, buf);
	json_t *tr = ts_schedule(t, "kind: Pod\nmetadata: {name: p, namespace: t}\nspec:\n"
				    "  containers: [{name: c, image: x, resources: {requests: {cpu: \"1\", memory: 4Gi, ephemeral-storage: 10Gi}}}]\n");
	/* fractions .25 .5 .1, mean .28333, variance .081667/3 = .027222, std .164992 -> 83.5 -> 83 */
	is_int(tr_score(tr, "D", "NodeResourcesBalancedAllocation"), 83, "std-dev over three resources");
	json_decref(tr);
	ts_free(t);
}

static void taints_affinity_images(void)
{
	struct ts *t = ts_new(NULL, 1);
	ts_apply(t, ts_node("T0", "4", "8Gi", NULL));
	ts_apply(t, ts_node("T1", "4", "8Gi", "spec: {taints: [{key: x, effect: PreferNoSchedule}]}"));
	ts_apply(t, ts_node("T2", "4", "8Gi",
			    "spec: {taints: [{key: x, effect: PreferNoSchedule}, {key: w, value: v, effect: PreferNoSchedule}]}"));
	json_t *tr = ts_schedule(t, POD_1_1);
	/* intolerable PreferNoSchedule counts 0,1,2; reverse-normalised by max 2: 100, 50, 0 */
	is_int(tr_score(tr, "T0", "TaintToleration"), 100, "no taints -> 100");
	is_int(tr_score(tr, "T1", "TaintToleration"), 50, "one of two -> 50");
	is_int(tr_score(tr, "T2", "TaintToleration"), 0, "most taints -> 0");
	json_decref(tr);
	tr = ts_schedule(t, "kind: Pod\nmetadata: {name: q, namespace: t}\nspec:\n"
			    "  tolerations: [{key: x, operator: Exists, effect: PreferNoSchedule}, {key: w, operator: Exists, effect: NoSchedule}]\n"
			    "  containers: [{name: c, image: x}]\n");
	/* x tolerated; w's toleration has effect NoSchedule so it does not count: 0,0,1 */
	is_int(tr_score(tr, "T1", "TaintToleration"), 100, "tolerated PreferNoSchedule taint");
	is_int(tr_score(tr, "T2", "TaintToleration"), 0, "a NoSchedule toleration does not help scoring");
	json_decref(tr);
	ts_free(t);

	t = ts_new(NULL, 1);
	ts_apply(t, ts_node("N1", "4", "8Gi", "  labels: {zone: a}"));
	ts_apply(t, ts_node("N2", "4", "8Gi", "  labels: {zone: a, disk: ssd}"));
	ts_apply(t, ts_node("N3", "4", "8Gi", NULL));
	tr = ts_schedule(t, "kind: Pod\nmetadata: {name: p, namespace: t}\nspec:\n"
			    "  affinity: {nodeAffinity: {preferredDuringSchedulingIgnoredDuringExecution: ["
			    "{weight: 20, preference: {matchExpressions: [{key: zone, operator: In, values: [a]}]}},"
			    "{weight: 60, preference: {matchExpressions: [{key: disk, operator: Exists}]}}]}}\n"
			    "  containers: [{name: c, image: x}]\n");
	/* raw 20, 80, 0; normalised by 80: 25, 100, 0 */
	is_int(tr_score(tr, "N1", "NodeAffinity"), 25, "preferred weights normalised (20/80)");
	is_int(tr_score(tr, "N2", "NodeAffinity"), 100, "best node 100");
	is_int(tr_score(tr, "N3", "NodeAffinity"), 0, "no match 0");
	is_str(tr_node(tr), "N2", "NodeAffinity weight 2 decides");
	json_decref(tr);
	ts_free(t);

	t = ts_new(NULL, 1);
#define IMG "kind: Node\nmetadata: {name: %s}\nstatus:\n  allocatable: {cpu: \"4\", memory: 8Gi, pods: \"110\"}\n" \
	"  images: [{names: [\"%s\"], sizeBytes: %lld}]\n"
	char buf[512];
	long long mb = 1024LL * 1024;
	snprintf(buf, sizeof(buf), IMG, "I1", "img:1", 500 * mb);
	ts_apply(t, buf);
	snprintf(buf, sizeof(buf), IMG, "I2", "img:1", 500 * mb);
	ts_apply(t, buf);
	snprintf(buf, sizeof(buf), IMG, "I3", "other:latest", 800 * mb);
	ts_apply(t, buf);
	ts_apply(t, ts_node("I4", "4", "8Gi", NULL));
	tr = ts_schedule(t, "kind: Pod\nmetadata: {name: p, namespace: t}\nspec:\n  containers: [{name: c, image: \"img:1\"}]\n");
	/* 500MiB on 2 of 4 nodes -> 250MiB; (250-23)*100/(1000-23) = 22700/977 = 23 */
	is_int(tr_score(tr, "I1", "ImageLocality"), 23, "image size scaled by spread");
	is_int(tr_score(tr, "I4", "ImageLocality"), 0, "no image -> 0");
	json_decref(tr);
	tr = ts_schedule(t, "kind: Pod\nmetadata: {name: q, namespace: t}\nspec:\n  containers: [{name: c, image: other}]\n");
	/* "other" means other:latest; 800MiB on 1 of 4 -> 200MiB; 17700/977 = 18 */
	is_int(tr_score(tr, "I3", "ImageLocality"), 18, "untagged image normalised to :latest");
	json_decref(tr);
	ts_free(t);
}

int main(void)
{
	least_allocated_and_balance();
	most_allocated_and_rtcr();
	balanced_three();
	taints_affinity_images();
	return done_testing();
}

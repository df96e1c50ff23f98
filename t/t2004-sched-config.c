/*
 * t2004-sched-config - KubeSchedulerConfiguration: kube's defaults, the
 * merge rules (defaults keep order, a re-listed default is replaced in
 * place, custom plugins are appended, '*' disables the defaults, a specific
 * point beats multiPoint) and bad configuration messages naming the field.
 */
#include "config.h"

#include "t/sched-lib.h"

static json_t *dump(const char *yaml)
{
	struct kp_sched_config *c;
	char *e = NULL;
	json_t *docs = yaml ? ts_yaml(yaml) : NULL;
	int rc = kp_sched_config_parse(docs ? json_array_get(docs, 0) : NULL, &c, &e);
	json_decref(docs);
	if (rc < 0) {
		diag("parse failed: %s", e);
		free(e);
		return NULL;
	}
	json_t *d = kp_sched_config_dump(c);
	kp_sched_config_free(c);
	return d;
}

static char *names(const json_t *d, const char *point, const char *which)
{
	json_t *arr = json_object_get(json_object_get(json_object_get(
		json_array_get(json_object_get(d, "profiles"), 0), "plugins"), point), which);
	static char buf[2048];
	size_t len = 0, i;
	json_t *p;
	buf[0] = 0;
	json_array_foreach(arr, i, p) {
		json_t *w = json_object_get(p, "weight");
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? " " : "",
					json_string_value(json_object_get(p, "name")));
		if (w)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, ":%lld",
						(long long)json_integer_value(w));
	}
	return buf;
}

static const char *parse_error(const char *yaml)
{
	static char buf[1024];
	struct kp_sched_config *c;
	char *e = NULL;
	json_t *docs = ts_yaml(yaml);
	int rc = kp_sched_config_parse(json_array_get(docs, 0), &c, &e);
	json_decref(docs);
	if (rc == 0) {
		kp_sched_config_free(c);
		return "(accepted)";
	}
	snprintf(buf, sizeof(buf), "%s", e ? e : "");
	free(e);
	return buf;
}

static const char *build_error(const char *yaml)
{
	static char buf[2048];
	struct ts *t = ts_try_new(yaml, 1);
	snprintf(buf, sizeof(buf), "%s", t->error ? t->error : "(accepted)");
	ts_free(t);
	return buf;
}

#define HDR "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n"

int main(void)
{
	json_t *d = dump(NULL);
	is_str(names(d, "multiPoint", "enabled"),
	       "SchedulingGates PrioritySort NodeUnschedulable NodeName TaintToleration:3 NodeAffinity:2 "
	       "NodePorts NodeResourcesFit:1 VolumeBinding PodTopologySpread:2 InterPodAffinity:2 "
	       "DefaultPreemption NodeResourcesBalancedAllocation:1 ImageLocality:1 DefaultBinder",
	       "default multiPoint plugins and weights");
	is_int(json_integer_value(json_object_get(d, "parallelism")), 16, "parallelism 16");
	is_int(json_integer_value(json_object_get(d, "podInitialBackoffSeconds")), 1, "initial backoff 1s");
	is_int(json_integer_value(json_object_get(d, "podMaxBackoffSeconds")), 10, "max backoff 10s");
	is_int(json_integer_value(json_object_get(d, "percentageOfNodesToScore")), 0, "adaptive by default");
	is_str(json_string_value(json_object_get(json_array_get(json_object_get(d, "profiles"), 0), "schedulerName")),
	       "default-scheduler", "default profile name");
	json_decref(d);

	d = dump(HDR "profiles:\n- plugins:\n    multiPoint:\n"
		 "      enabled: [{name: Extra, weight: 4}, {name: TaintToleration, weight: 7}]\n"
		 "      disabled: [{name: NodeAffinity}, {name: ImageLocality}]\n");
	is_str(names(d, "multiPoint", "enabled"),
	       "SchedulingGates PrioritySort NodeUnschedulable NodeName TaintToleration:7 NodePorts "
	       "NodeResourcesFit:1 VolumeBinding PodTopologySpread:2 InterPodAffinity:2 DefaultPreemption "
	       "NodeResourcesBalancedAllocation:1 DefaultBinder Extra:4",
	       "disabled removed, re-listed replaced in place, custom appended");
	json_decref(d);

	d = dump(HDR "profiles:\n- plugins:\n    multiPoint:\n      disabled: [{name: '*'}]\n"
		 "      enabled: [{name: PrioritySort}, {name: DefaultBinder}]\n");
	is_str(names(d, "multiPoint", "enabled"), "PrioritySort DefaultBinder", "'*' drops every default");
	json_decref(d);

	/* specific point beats multiPoint: the score weight and the order */
	struct ts *t = ts_new(HDR "profiles:\n- plugins:\n    score:\n      enabled: [{name: ImageLocality, weight: 5}, {name: NodeResourcesFit, weight: 4}]\n", 1);
	ts_apply(t, ts_node("A", "4", "8Gi", NULL));
	ts_apply(t, ts_node("B", "2", "4Gi", NULL));
	json_t *tr = ts_schedule(t, "kind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: x, resources: {requests: {cpu: \"1\", memory: 1Gi}}}]\n");
	/* B: TaintToleration 100*3 + Fit 62*4 + Balanced 87*1 + ImageLocality 0*5 */
	is_int(tr_score(tr, "B", "NodeResourcesFit"), 62, "fit score on B");
	is_int(tr_total(tr, "B"), 300 + 62 * 4 + 87, "the score point's weight (4) replaces multiPoint's (1)");
	json_t *pl = json_object_get(json_object_get(json_object_get(tr, "scores"), "B"), "plugins");
	const char *first = NULL;
	const char *k;
	json_t *v;
	json_object_foreach(pl, k, v) {
		first = k;
		break;
	}
	is_str(first, "ImageLocality", "overridden plugins run first, in the score point's order");
	json_decref(tr);
	ts_free(t);

	is_str(parse_error(HDR "bogus: 1\n"), "bogus: unknown field", "unknown top-level field");
	is_str(parse_error(HDR "profiles:\n- plugins:\n    score:\n      enabled: [{name: X, weight: -1}]\n"),
	       "profiles[0].plugins.score.enabled[0].weight: Invalid value: -1: must be between 0 and 1000000",
	       "negative weight");
	is_str(parse_error(HDR "profiles:\n- plugins:\n    filtr: {}\n"), "profiles[0].plugins.filtr: unknown field",
	       "misspelt extension point");
	is_str(parse_error(HDR "profiles:\n- schedulerName: a\n- schedulerName: a\n"),
	       "profiles[1].schedulerName: Duplicate value: \"a\"", "duplicate profile");
	is_str(parse_error(HDR "percentageOfNodesToScore: 101\n"),
	       "percentageOfNodesToScore: Invalid value: 101: must be between 0 and 100", "percentage range");
	is_str(parse_error(HDR "podInitialBackoffSeconds: 5\npodMaxBackoffSeconds: 2\n"),
	       "podMaxBackoffSeconds: Invalid value: 2: must be greater than or equal to podInitialBackoffSeconds",
	       "max backoff below initial");
	is_str(parse_error("apiVersion: kubescheduler.config.k8s.io/v1beta3\n"),
	       "apiVersion: Unsupported value: \"kubescheduler.config.k8s.io/v1beta3\": supported values: \"kubescheduler.config.k8s.io/v1\"",
	       "old API version");
	is_str(parse_error(HDR "profiles:\n- pluginConfig:\n  - {name: A}\n  - {name: A}\n"),
	       "profiles[0].pluginConfig[1].name: Duplicate value: \"A\"", "duplicate pluginConfig");

	ok(strstr(build_error(HDR "profiles:\n- plugins:\n    filter:\n      enabled: [{name: Nope}]\n"),
		  "profiles[0].plugins.filter.enabled[0]: plugin \"Nope\" is not loaded") != NULL,
	   "unknown plugin named with its field");
	is_str(build_error(HDR "profiles:\n- plugins:\n    filter:\n      enabled: [{name: PrioritySort}]\n"),
	       "profiles[0].plugins.filter.enabled[0]: plugin \"PrioritySort\" does not extend FilterPlugin",
	       "plugin at a point it does not implement");
	is_str(build_error(HDR "profiles:\n- plugins:\n    queueSort:\n      disabled: [{name: '*'}]\n    multiPoint:\n      disabled: [{name: PrioritySort}]\n"),
	       "profiles[0].plugins.queueSort: exactly one queue sort plugin must be enabled, found 0",
	       "no queue sort");
	is_str(build_error(HDR "profiles:\n- pluginConfig:\n  - name: NodeResourcesFit\n    args: {scoringStrategy: {type: Bogus}}\n"),
	       "profiles[0].pluginConfig[NodeResourcesFit].args: plugin \"NodeResourcesFit\" failed to start: scoringStrategy.type: Unsupported value: \"Bogus\": supported values: \"LeastAllocated\", \"MostAllocated\", \"RequestedToCapacityRatio\"",
	       "bad plugin args");
	is_str(build_error(HDR "profiles:\n- pluginConfig:\n  - name: NodeResourcesFit\n    args: {kind: NodeResourcesFitArgs, ignoredResource: [a]}\n"),
	       "profiles[0].pluginConfig[NodeResourcesFit].args.ignoredResource: unknown field",
	       "unknown args field (kind is accepted)");
	is_str(build_error(HDR "profiles:\n- pluginConfig:\n  - name: NodeResourcesFit\n    args: {ignoredResources: a}\n"),
	       "profiles[0].pluginConfig[NodeResourcesFit].args.ignoredResources: Invalid value: must be a list of strings",
	       "wrongly typed args field");
	return done_testing();
}

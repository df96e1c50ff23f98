/*
 * t2007: Permit WAIT (kube-scheduler's waiting pods). A plugin that returns
 * WAIT keeps the pod assumed on its node until kp_sched_allow() (binding
 * follows), kp_sched_reject() (the pod fails with the given message and
 * its node is freed) or its timeout ("rejected due to timeout after
 * waiting 5s at plugin Gate", as kube words it).
 */
#include "config.h"

#include "t/sched-lib.h"

#define SEC 1000000000LL

static struct kp_sched_handle *gate;

static int gate_init(const struct kp_sched_init *in, void **self, char **errmsg)
{
	(void)errmsg;
	gate = in->handle;
	*self = NULL;
	return 0;
}

static int gate_permit(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		       const struct kp_node_info *node, uint32_t *timeout_ms, struct kp_status *st)
{
	(void)self, (void)cy, (void)pod, (void)node, (void)st;
	*timeout_ms = 5000;
	return KP_STATUS_WAIT;
}

static const struct kp_sched_ops gate_ops = {
	KP_SCHED_OPS,
	.init = gate_init,
	.permit = gate_permit,
};

static const struct kp_plugin gate_plugin = {
	KP_PLUGIN_HEADER(KP_PLUGIN_SCHED),
	.name = "Gate",
	.version = "1",
	.sched = &gate_ops,
};

static char last_unsched[512];
static int nunsched;

static void on_unsched(void *arg, const json_t *pod, const char *reason, const char *message)
{
	(void)arg, (void)pod, (void)reason;
	snprintf(last_unsched, sizeof(last_unsched), "%s", message);
	nunsched++;
}

static int64_t now;
static int64_t clock_fn(void *arg)
{
	(void)arg;
	return now;
}

#define POD(name) "kind: Pod\nmetadata: {name: " name ", namespace: t, uid: uid-" name "}\n" \
	"spec:\n  containers: [{name: c, image: x, resources: {requests: {cpu: 1500m}}}]\n"

static void apply(struct kp_scheduler *s, const char *y)
{
	json_t *docs = ts_yaml(y);
	char *e = NULL;
	if (kp_scheduler_apply(s, KP_SCHED_ADDED, json_array_get(docs, 0), &e) < 0) {
		printf("Bail out! %s\n", e);
		exit(1);
	}
	json_decref(docs);
}

static json_t *attempt(struct kp_scheduler *s)
{
	json_t *tr = NULL;
	if (kp_scheduler_schedule_one(s, 0, &tr) < 0)
		return NULL;
	return tr;
}

int main(void)
{
	plan(22);
	struct kp_sched_config *cfg = NULL;
	struct kp_registry *reg = NULL;
	struct kp_scheduler *s = NULL;
	char *e = NULL;
	json_t *docs = ts_yaml("apiVersion: kubescheduler.config.k8s.io/v1\n"
			       "kind: KubeSchedulerConfiguration\nprofiles:\n"
			       "- plugins: {multiPoint: {enabled: [{name: Gate}]}}\n");
	if (kp_sched_config_parse(json_array_get(docs, 0), &cfg, &e) < 0 ||
	    kp_registry_new(&reg) < 0 || kp_registry_add_table(reg, kp_sched_static_plugins, &e) < 0 ||
	    kp_registry_add_static(reg, &gate_plugin, &e) < 0) {
		printf("Bail out! %s\n", e ? e : "setup");
		return 1;
	}
	json_decref(docs);
	struct kp_sched_host host = { .unschedulable = on_unsched };
	struct kp_scheduler_options o = { .seed = 1, .inline_bind = true, .now_ns = clock_fn };
	if (kp_scheduler_new(cfg, reg, &host, &o, &s, &e) < 0) {
		printf("Bail out! %s\n", e);
		return 1;
	}
	now = 1 * SEC;
	apply(s, ts_node("n1", "2", "4Gi", NULL));

	/* allowed */
	apply(s, POD("w1"));
	json_t *tr = attempt(s);
	is_str(tr_msg(tr), "waiting on Permit", "w1 waits in Permit");
	json_decref(tr);
	struct kp_scheduler_stats st;
	kp_scheduler_stats(s, &st);
	is_int((int)st.scheduled, 0, "not bound while waiting");
	is_int((int)st.pods, 1, "but assumed on its node");
	is_int(kp_sched_allow(gate, "uid-w1"), 0, "allow finds the waiting pod");
	is_int(kp_sched_allow(gate, "uid-w1"), KP_ENOENT, "allowing it again: no such waiting pod");
	ok(attempt(s) == NULL, "nothing to pop; the allowed pod is bound on the way");
	kp_scheduler_stats(s, &st);
	is_int((int)st.scheduled, 1, "w1 bound after allow");

	/* rejected: the node it held is freed */
	apply(s, ts_node("n2", "2", "4Gi", NULL));
	apply(s, POD("w2"));
	tr = attempt(s);
	is_str(tr_msg(tr), "waiting on Permit", "w2 waits (on n2: n1 is full with w1)");
	json_decref(tr);
	apply(s, POD("w4"));
	tr = attempt(s);
	ok(tr && tr_node(tr) == NULL && strstr(tr_msg(tr), "0/2 nodes are available: 2 Insufficient cpu."),
	   "w4: n2 is held by the waiting w2 (%s)", tr ? tr_msg(tr) : "");
	json_decref(tr);
	is_int(kp_sched_reject(gate, "uid-w2", "no quota left"), 0, "reject finds w2");
	apply(s, POD("w3"));
	tr = attempt(s); /* processes the rejection, then pops w3 */
	is_str(last_unsched, "no quota left", "w2 unschedulable with the plugin's message");
	is_str(tr ? json_string_value(json_object_get(tr, "name")) : NULL, "w3", "w3 attempted next");
	is_str(tr_msg(tr), "waiting on Permit", "w3 waits on the node w2 freed");
	json_decref(tr);

	/* timeout: 5 s after w3 started waiting */
	now = 20 * SEC;
	json_decref(attempt(s));
	ok(strstr(last_unsched, "rejected due to timeout after waiting 5s at plugin Gate") != NULL,
	   "w3's wait expired: %s", last_unsched);

	kp_scheduler_free(s);

	/* the binding thread: an allowed pod is bound there */
	o.inline_bind = false;
	if (kp_scheduler_new(cfg, reg, &host, &o, &s, &e) < 0) {
		printf("Bail out! %s\n", e);
		return 1;
	}
	apply(s, ts_node("n1", "4", "4Gi", NULL));
	apply(s, POD("b1"));
	json_decref(attempt(s));
	is_int(kp_sched_allow(gate, "uid-b1"), 0, "allow on the threaded scheduler");
	kp_scheduler_wait_bindings(s);
	kp_scheduler_stats(s, &st);
	is_int((int)st.scheduled, 1, "bound by the binding thread");
	apply(s, POD("b2"));
	json_decref(attempt(s));
	/* durations per extension point: two attempts reached Permit, one pod
	 * was bound */
	char *m = kp_scheduler_metrics_text(s);
	ok(m && strstr(m, "kplane_scheduler_framework_extension_point_duration_seconds_count"
			  "{extension_point=\"Permit\",profile=\"default-scheduler\"} 2\n"),
	   "metrics: 2 Permit runs");
	ok(m && strstr(m, "kplane_scheduler_framework_extension_point_duration_seconds_count"
			  "{extension_point=\"Bind\",profile=\"default-scheduler\"} 1\n"),
	   "metrics: 1 Bind run");
	ok(m && strstr(m, "kplane_scheduler_framework_extension_point_duration_seconds_bucket"
			  "{extension_point=\"Bind\",profile=\"default-scheduler\",le=\"+Inf\"} 1\n"),
	   "metrics: histogram buckets end with +Inf");
	free(m);
	/* a waiting pod that is deleted is rejected at once and forgotten */
	json_t *docs2 = ts_yaml(POD("b2"));
	kp_scheduler_apply(s, KP_SCHED_DELETED, json_array_get(docs2, 0), &e);
	json_decref(docs2);
	ok(attempt(s) == NULL, "nothing left to schedule after the deletion");
	kp_scheduler_wait_bindings(s);
	kp_scheduler_stats(s, &st);
	is_int((int)st.pods, 1, "the deleted waiting pod left the cache (b1 remains)");
	is_int((int)(st.active + st.backoff + st.unschedulable_pods), 0, "and is not requeued");
	apply(s, POD("b3"));
	json_decref(attempt(s));
	kp_scheduler_free(s); /* b3 still waits: rejected at shutdown, no leak */
	kp_sched_config_free(cfg);
	kp_registry_free(reg);
	return done_testing();
}

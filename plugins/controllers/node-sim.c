/*
 * node-sim.c - simulated nodes, with KWOK's convention: every Node annotated
 * kwok.x-k8s.io/node: fake is kept Ready (conditions, lastHeartbeatTime and
 * its Lease in kube-node-lease renewed every heartbeat), and the pods bound
 * to it are started after podStartDelayMs (phase Running, Ready, pod IP,
 * container statuses). A pod annotated sim.kplane.io/run-seconds: N ends N
 * seconds after it started with the exit code of sim.kplane.io/exit-code
 * (default 0): Succeeded or Failed, or restarted in place when its
 * restartPolicy says so (Always; OnFailure with a non-zero code), as the
 * kubelet does. A node annotated sim.kplane.io/stop-heartbeat: "true" stops
 * reporting. With createNodes N it also creates N such nodes at start
 * (<nodeNamePrefix>0.., from nodeTemplate).
 */
#include "config.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kplane/controller.h>

#include "plugins/controllers/common.h"

enum { K_NODE, K_POD, K_LEASE };

static const struct kp_ctl_kind kinds[] = {
	{ "", "v1", "Node", "nodes" },
	{ "", "v1", "Pod", "pods" },
	{ "coordination.k8s.io", "v1", "Lease", "leases" },
	{ NULL, NULL, NULL, NULL },
};

struct args {
	int64_t pod_start_delay_ms;
	int64_t heartbeat_seconds;
	int64_t lease_duration_seconds;
	int64_t create_nodes;
	const char *node_name_prefix;
	const json_t *node_template;
};

static const struct kp_arg_spec arg_spec[] = {
	{ "podStartDelayMs", KP_ARG_INT, offsetof(struct args, pod_start_delay_ms), "0", 0,
	  86400000 },
	{ "heartbeatSeconds", KP_ARG_INT, offsetof(struct args, heartbeat_seconds), "10", 1, 3600 },
	{ "leaseDurationSeconds", KP_ARG_INT, offsetof(struct args, lease_duration_seconds), "40",
	  1, 3600 },
	{ "createNodes", KP_ARG_INT, offsetof(struct args, create_nodes), "0", 0, 100000 },
	{ "nodeNamePrefix", KP_ARG_STRING, offsetof(struct args, node_name_prefix),
	  "\"kwok-node-\"", 0, 0 },
	{ "nodeTemplate", KP_ARG_JSON, offsetof(struct args, node_template), NULL, 0, 0 },
	{ NULL, 0, 0, NULL, 0, 0 },
};

struct state {
	struct args a;
	atomic_uint next_ip;
};

static bool is_fake(const json_t *node)
{
	const char *v = kp_obj_annotation(node, "kwok.x-k8s.io/node");
	return v && !strcmp(v, "fake");
}

/*
 * Creates createNodes nodes <prefix>0.. from nodeTemplate (a Node, or just
 * its metadata/spec/status parts), annotated as fake; existing ones stay.
 */
static int create_nodes(struct kp_ctl *c, const struct args *a, char **errmsg)
{
	const json_t *t = a->node_template;
	if (t && !json_is_object(t))
		return kp_error_set(errmsg, KP_EINVAL,
				    "controllers.node-sim.args.nodeTemplate: expected a Node object");
	for (int64_t i = 0; i < a->create_nodes; i++) {
		json_t *n = t ? json_deep_copy(t) : json_object();
		char name[300];
		snprintf(name, sizeof(name), "%s%lld", a->node_name_prefix ? a->node_name_prefix : "",
			 (long long)i);
		json_object_del(n, "apiVersion");
		json_object_del(n, "kind");
		kp_obj_set_str(n, "metadata.name", name);
		kp_obj_del(n, "metadata.generateName");
		kp_obj_set_annotation(n, "kwok.x-k8s.io/node", "fake");
		kp_obj_set_label(n, "kubernetes.io/hostname", name);
		kp_obj_set_label(n, "type", "kwok");
		int rc = kp_ctl_create(c, K_NODE, n, NULL, errmsg);
		json_decref(n);
		if (rc == KP_EEXIST) {
			free(*errmsg);
			*errmsg = NULL;
		} else if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

static int init(struct kp_ctl *c, const void *args, void **st, char **errmsg)
{
	struct state *s = calloc(1, sizeof(*s));
	if (!s)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	s->a = *(const struct args *)args;
	int rc = create_nodes(c, &s->a, errmsg);
	if (rc < 0) {
		free(s);
		return rc;
	}
	*st = s;
	return 0;
}

static void fini(void *st)
{
	free(st);
}

static void on_change(struct kp_ctl *c, void *st, unsigned kind, int change, const json_t *old,
		      const json_t *obj)
{
	(void)st;
	(void)old;
	char k[700];
	if (change == KP_CTL_DELETED)
		return;
	if (kind == K_NODE) {
		if (is_fake(obj)) {
			snprintf(k, sizeof(k), "node/%s", kp_obj_name(obj));
			kp_ctl_enqueue(c, k, 0);
		}
	} else if (kind == K_POD) {
		const char *node = kp_obj_str(obj, "spec.nodeName");
		const char *ph = kp_obj_str(obj, "status.phase");
		if (!node || !*node || (ph && (!strcmp(ph, "Succeeded") || !strcmp(ph, "Failed"))))
			return;
		snprintf(k, sizeof(k), "pod/%s/%s", kp_obj_namespace(obj), kp_obj_name(obj));
		kp_ctl_enqueue(c, k, 0);
	}
}

static json_t *cond(const char *type, const char *status, const char *reason, const char *msg,
		    const char *ts, const json_t *prev, bool heartbeat)
{
	const char *pst = prev ? json_string_value(json_object_get(prev, "status")) : NULL;
	const char *trans = pst && !strcmp(pst, status) ?
				    json_string_value(json_object_get(prev, "lastTransitionTime")) :
				    NULL;
	json_t *c = json_pack("{s:s, s:s, s:s}", "type", type, "status", status,
			      "lastTransitionTime", trans ? trans : ts);
	/* Kubernetes omits empty reasons and messages. */
	if (*reason)
		json_object_set_new(c, "reason", json_string(reason));
	if (*msg)
		json_object_set_new(c, "message", json_string(msg));
	if (heartbeat)
		json_object_set_new(c, "lastHeartbeatTime", json_string(ts));
	else
		json_object_set_new(c, "lastProbeTime", json_null());
	return c;
}

/* "10.0.x.y" for a node, stable from its name. */
static void node_ip(const char *name, char *buf, size_t n)
{
	uint32_t h = 2166136261u;
	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	snprintf(buf, n, "10.0.%u.%u", (h >> 8) & 255, (h & 253) + 1);
}

static const char *internal_ip(const json_t *node)
{
	size_t i;
	json_t *a;
	json_array_foreach(kp_obj_get(node, "status.addresses"), i, a) {
		const char *t = json_string_value(json_object_get(a, "type"));
		if (t && !strcmp(t, "InternalIP"))
			return json_string_value(json_object_get(a, "address"));
	}
	return NULL;
}

static void set_default(json_t *o, const char *k, json_t *v)
{
	if (!json_object_get(o, k))
		json_object_set_new(o, k, v);
	else
		json_decref(v);
}

static int renew_lease(struct kp_ctl *c, struct state *s, const json_t *node, char **errmsg)
{
	char ts[64];
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct tm tm;
	gmtime_r(&now.tv_sec, &tm);
	size_t n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof(ts) - n, ".%06ldZ", now.tv_nsec / 1000);
	const char *name = kp_obj_name(node);
	json_t *lease = kp_ctl_get(c, K_LEASE, "kube-node-lease", name);
	int rc;
	if (!lease) {
		json_t *l = json_pack("{s:{s:s, s:s}, s:{s:s, s:I, s:s}}", "metadata", "name", name,
				      "namespace", "kube-node-lease", "spec", "holderIdentity", name,
				      "leaseDurationSeconds", (json_int_t)s->a.lease_duration_seconds,
				      "renewTime", ts);
		kp_obj_add_owner_ref(l, node, false);
		rc = kp_ctl_create(c, K_LEASE, l, NULL, errmsg);
		json_decref(l);
		if (rc != KP_EEXIST)
			return rc;
		free(*errmsg);
		*errmsg = NULL;
		lease = kp_ctl_get_live(c, K_LEASE, "kube-node-lease", name);
		if (!lease)
			return 0;
	}
	json_t *l = json_deep_copy(lease);
	json_decref(lease);
	kp_obj_set_str(l, "spec.renewTime", ts);
	kp_obj_set_str(l, "spec.holderIdentity", name);
	kp_obj_set(l, "spec.leaseDurationSeconds", json_integer(s->a.lease_duration_seconds));
	kp_obj_del(l, "metadata.resourceVersion");
	rc = kp_ctl_update(c, K_LEASE, l, NULL, errmsg);
	json_decref(l);
	return rc;
}

static int64_t sync_node(struct kp_ctl *c, struct state *s, const char *name, char **errmsg)
{
	json_t *node = kp_ctl_get(c, K_NODE, NULL, name);
	if (!node || !is_fake(node)) {
		json_decref(node);
		return 0;
	}
	const char *stop = kp_obj_annotation(node, "sim.kplane.io/stop-heartbeat");
	if (stop && !strcmp(stop, "true")) {
		json_decref(node);
		return 0;
	}
	int64_t now = kp_time_now(), hb = s->a.heartbeat_seconds;
	json_t *ready = kp_obj_condition(node, "Ready");
	const char *last = ready ? json_string_value(json_object_get(ready, "lastHeartbeatTime")) :
				   NULL;
	const char *rst = ready ? json_string_value(json_object_get(ready, "status")) : NULL;
	int64_t last_s = 0;
	if (last && rst && !strcmp(rst, "True") && kp_time_parse(last, &last_s) == 0 &&
	    last_s + hb > now && internal_ip(node)) {
		json_decref(node);
		return (last_s + hb - now) * 1000;
	}
	char ts[KP_TIME_BUFSZ];
	kp_time_format(now, ts);
	json_t *n = json_deep_copy(node);
	json_t *st = json_object_get(n, "status");
	if (!json_is_object(st)) {
		st = json_object();
		json_object_set_new(n, "status", st);
	}
	set_default(st, "capacity",
		    json_pack("{s:s, s:s, s:s}", "cpu", "32", "memory", "256Gi", "pods", "110"));
	set_default(st, "allocatable", json_deep_copy(json_object_get(st, "capacity")));
	if (!internal_ip(node)) {
		char ip[32];
		node_ip(name, ip, sizeof(ip));
		json_object_set_new(st, "addresses",
				    json_pack("[{s:s, s:s}, {s:s, s:s}]", "type", "InternalIP",
					      "address", ip, "type", "Hostname", "address", name));
	}
	set_default(st, "nodeInfo",
		    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "architecture",
			      "amd64", "operatingSystem", "linux", "kubeletVersion", "fake",
			      "kubeProxyVersion", "fake", "containerRuntimeVersion", "kwok",
			      "kernelVersion", "", "osImage", "", "machineID", "", "systemUUID",
			      "", "bootID", ""));
	json_object_set_new(st, "phase", json_string("Running"));
	kp__set_condition(n, cond("Ready", "True", "KubeletReady", "kubelet is posting ready status",
				  ts, ready, true));
	kp__set_condition(n, cond("MemoryPressure", "False", "KubeletHasSufficientMemory",
				  "kubelet has sufficient memory available", ts,
				  kp_obj_condition(node, "MemoryPressure"), true));
	kp__set_condition(n, cond("DiskPressure", "False", "KubeletHasNoDiskPressure",
				  "kubelet has no disk pressure", ts,
				  kp_obj_condition(node, "DiskPressure"), true));
	kp__set_condition(n, cond("PIDPressure", "False", "KubeletHasSufficientPID",
				  "kubelet has sufficient PID available", ts,
				  kp_obj_condition(node, "PIDPressure"), true));
	int rc = kp_ctl_update_status(c, K_NODE, n, NULL, errmsg);
	json_decref(n);
	if (rc == 0) {
		char *lerr = NULL;
		if (renew_lease(c, s, node, &lerr) < 0)
			kp_ctl_log(c, "lease of node %s: %s", name, lerr ? lerr : "failed");
		free(lerr);
	}
	json_decref(node);
	if (rc == KP_ENOENT)
		return 0;
	return rc < 0 ? rc : hb * 1000;
}

static int64_t ms_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static json_t *container_statuses(const json_t *pod, const char *ts, bool ready,
				  const json_t *prev)
{
	json_t *out = json_array();
	size_t i;
	json_t *ct;
	json_array_foreach(kp_obj_get(pod, "spec.containers"), i, ct) {
		const char *name = json_string_value(json_object_get(ct, "name"));
		const char *image = json_string_value(json_object_get(ct, "image"));
		json_int_t restarts = json_integer_value(
			json_object_get(json_array_get(prev, i), "restartCount"));
		char cid[128];
		snprintf(cid, sizeof(cid), "kwok://%s-%s-%" JSON_INTEGER_FORMAT,
			 kp_obj_uid(pod) ? kp_obj_uid(pod) : "", name ? name : "", restarts);
		json_array_append_new(
			out, json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:I, s:{s:{s:s}}}", "name",
				       name ? name : "", "image", image ? image : "", "imageID", "",
				       "containerID", cid, "ready", ready, "started", ready,
				       "restartCount", restarts, "state", "running", "startedAt", ts));
	}
	return out;
}

static int64_t sync_pod(struct kp_ctl *c, struct state *s, const char *ns, const char *name,
			char **errmsg)
{
	json_t *pod = kp_ctl_get(c, K_POD, ns, name);
	if (!pod)
		return 0;
	json_t *node = kp_ctl_get(c, K_NODE, NULL, kp_obj_str(pod, "spec.nodeName"));
	int64_t ret = 0;
	json_t *p = NULL;
	if (!node || !is_fake(node) || kp_obj_str(pod, "metadata.deletionTimestamp"))
		goto out;
	const char *ph = kp_obj_str(pod, "status.phase");
	int64_t now = kp_time_now();
	char ts[KP_TIME_BUFSZ];
	kp_time_format(now, ts);
	const char *run = kp_obj_annotation(pod, "sim.kplane.io/run-seconds");
	int64_t run_s = run ? strtoll(run, NULL, 10) : -1;
	if (!ph || !strcmp(ph, "Pending")) {
		json_t *sc = kp_obj_condition(pod, "PodScheduled");
		const char *bt = sc ? json_string_value(json_object_get(sc, "lastTransitionTime")) :
				      NULL;
		int64_t bound = 0;
		if (!bt || kp_time_parse(bt, &bound) < 0)
			bound = now;
		int64_t due = bound * 1000 + s->a.pod_start_delay_ms, nms = ms_now();
		if (nms < due) {
			ret = due - nms;
			goto out;
		}
		p = json_deep_copy(pod);
		json_t *st = json_object_get(p, "status");
		if (!json_is_object(st)) {
			st = json_object();
			json_object_set_new(p, "status", st);
		}
		const char *hip = internal_ip(node);
		char pip[32];
		unsigned nidx = atomic_fetch_add(&s->next_ip, 1);
		snprintf(pip, sizeof(pip), "10.%u.%u.%u", 244 + ((nidx / 65024) % 8),
			 (nidx / 254) % 256, nidx % 254 + 1);
		json_object_set_new(st, "phase", json_string("Running"));
		if (hip) {
			json_object_set_new(st, "hostIP", json_string(hip));
			json_object_set_new(st, "hostIPs", json_pack("[{s:s}]", "ip", hip));
		}
		json_object_set_new(st, "podIP", json_string(pip));
		json_object_set_new(st, "podIPs", json_pack("[{s:s}]", "ip", pip));
		json_object_set_new(st, "startTime", json_string(ts));
		kp__set_condition(p, cond("Initialized", "True", "", "", ts, NULL, false));
		kp__set_condition(p, cond("ContainersReady", "True", "", "", ts, NULL, false));
		kp__set_condition(p, cond("Ready", "True", "", "", ts, NULL, false));
		json_object_set_new(st, "containerStatuses",
				    container_statuses(pod, ts, true,
						       kp_obj_get(pod, "status.containerStatuses")));
		int rc = kp_ctl_update_status(c, K_POD, p, NULL, errmsg);
		if (rc < 0 && rc != KP_ENOENT)
			ret = rc;
		else if (run_s >= 0)
			ret = run_s * 1000 + 1;
		goto out;
	}
	if (strcmp(ph, "Running") || run_s < 0)
		goto out;
	const char *started = kp_obj_str(pod, "status.startTime");
	int64_t st0 = 0;
	/* A restarted container runs from its latest start. */
	const char *cst = kp_obj_str(json_array_get(kp_obj_get(pod, "status.containerStatuses"), 0),
				     "state.running.startedAt");
	if (cst)
		started = cst;
	if (!started || kp_time_parse(started, &st0) < 0)
		st0 = now;
	if (st0 + run_s > now) {
		ret = (st0 + run_s - now) * 1000;
		goto out;
	}
	const char *ec = kp_obj_annotation(pod, "sim.kplane.io/exit-code");
	int code = ec ? atoi(ec) : 0;
	const char *policy = kp_obj_str(pod, "spec.restartPolicy");
	bool restart = !policy || !strcmp(policy, "Always") ||
		       (!strcmp(policy, "OnFailure") && code != 0);
	p = json_deep_copy(pod);
	json_t *css = kp_obj_get(p, "status.containerStatuses");
	size_t i;
	json_t *cs;
	json_array_foreach(css, i, cs) {
		json_t *term = json_pack("{s:{s:i, s:s, s:s?, s:s, s:s?}}", "terminated", "exitCode",
					 code, "reason", code ? "Error" : "Completed", "startedAt",
					 kp_obj_str(cs, "state.running.startedAt"), "finishedAt", ts,
					 "containerID",
					 json_string_value(json_object_get(cs, "containerID")));
		if (restart) {
			json_object_set_new(cs, "lastState", term);
			json_object_set_new(cs, "restartCount",
					    json_integer(json_integer_value(
								 json_object_get(cs, "restartCount")) +
							 1));
			json_object_set_new(cs, "state",
					    json_pack("{s:{s:s}}", "running", "startedAt", ts));
		} else {
			json_object_set_new(cs, "state", term);
			json_object_set_new(cs, "ready", json_false());
			json_object_set_new(cs, "started", json_false());
		}
	}
	if (!restart) {
		kp_obj_set_str(p, "status.phase", code ? "Failed" : "Succeeded");
		kp__set_condition(p, cond("Ready", "False", "PodCompleted", "", ts,
					  kp_obj_condition(pod, "Ready"), false));
		kp__set_condition(p, cond("ContainersReady", "False", "PodCompleted", "", ts,
					  kp_obj_condition(pod, "ContainersReady"), false));
	}
	int rc = kp_ctl_update_status(c, K_POD, p, NULL, errmsg);
	if (rc < 0 && rc != KP_ENOENT)
		ret = rc;
	else if (restart)
		ret = run_s * 1000 + 1;
out:
	json_decref(p);
	json_decref(node);
	json_decref(pod);
	return ret;
}

static int64_t reconcile(struct kp_ctl *c, void *st, const char *key, char **errmsg)
{
	struct state *s = st;
	if (!strncmp(key, "node/", 5))
		return sync_node(c, s, key + 5, errmsg);
	char ns[256], name[256];
	if (!strncmp(key, "pod/", 4) && kp__split_key(key + 4, ns, name, sizeof(ns)))
		return sync_pod(c, s, ns, name, errmsg);
	return 0;
}

static const struct kp_controller_ops ops = {
	KP_CONTROLLER_OPS,
	.kinds = kinds,
	.workers = 4,
	.init = init,
	.fini = fini,
	.on_change = on_change,
	.reconcile = reconcile,
};

KP_PLUGIN_DEFINE(node_sim) = {
	KP_PLUGIN_HEADER(KP_PLUGIN_CONTROLLER),
	.name = "node-sim",
	.version = "1.0",
	.description = "simulated (KWOK) nodes: heartbeats, pods started and finished",
	.controller = &ops,
	.args = arg_spec,
	.args_size = sizeof(struct args),
};

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
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kplane/controller.h>
#include <kplane/quantity.h>

#include "plugins/controllers/common.h"

enum { K_NODE, K_POD, K_LEASE, K_PM, K_NM };

static const struct kp_ctl_kind kinds[] = {
	{ "", "v1", "Node", "nodes" },
	{ "", "v1", "Pod", "pods" },
	{ "coordination.k8s.io", "v1", "Lease", "leases" },
	{ "metrics.k8s.io", "v1beta1", "PodMetrics", "pods" },
	{ "metrics.k8s.io", "v1beta1", "NodeMetrics", "nodes" },
	{ NULL, NULL, NULL, NULL },
};

struct args {
	int64_t pod_start_delay_ms;
	int64_t heartbeat_seconds;
	int64_t lease_duration_seconds;
	int64_t create_nodes;
	const char *node_name_prefix;
	const json_t *node_template;
	int64_t metrics_window_seconds;
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
	{ "metricsWindowSeconds", KP_ARG_INT, offsetof(struct args, metrics_window_seconds), "30",
	  1, 3600 },
	{ NULL, 0, 0, NULL, 0, 0 },
};

/* The usage node-sim reported last for one pod, to sum a node's. */
struct usage {
	struct usage *next;
	char *key;  /* "ns/name" */
	char *node;
	int64_t cpu_m, mem_b;
};

#define USAGE_BUCKETS 4096

struct state {
	struct args a;
	atomic_uint next_ip;
	pthread_mutex_t mu; /* guards u */
	struct usage *u[USAGE_BUCKETS];
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
	pthread_mutex_init(&s->mu, NULL);
	*st = s;
	return 0;
}

static void fini(void *st)
{
	struct state *s = st;
	for (size_t b = 0; b < USAGE_BUCKETS; b++)
		for (struct usage *u = s->u[b], *n; u; u = n) {
			n = u->next;
			free(u->key);
			free(u->node);
			free(u);
		}
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static bool usage_has(struct state *s, const char *key);

static void on_change(struct kp_ctl *c, void *st, unsigned kind, int change, const json_t *old,
		      const json_t *obj)
{
	(void)old;
	char k[700];
	if (change == KP_CTL_DELETED) {
		/* Their metrics go with them. */
		if (kind == K_NODE)
			snprintf(k, sizeof(k), "nodem/%s", kp_obj_name(obj));
		else if (kind == K_POD)
			snprintf(k, sizeof(k), "pod/%s/%s", kp_obj_namespace(obj), kp_obj_name(obj));
		else
			return;
		kp_ctl_enqueue(c, k, 0);
		return;
	}
	if (kind == K_NODE) {
		if (is_fake(obj)) {
			snprintf(k, sizeof(k), "node/%s", kp_obj_name(obj));
			kp_ctl_enqueue(c, k, 0);
			snprintf(k, sizeof(k), "nodem/%s", kp_obj_name(obj));
			kp_ctl_enqueue(c, k, 0);
		}
	} else if (kind == K_POD) {
		const char *node = kp_obj_str(obj, "spec.nodeName");
		/* Finished pods too: their metrics are removed. */
		if (!node || !*node)
			return;
		snprintf(k, sizeof(k), "pod/%s/%s", kp_obj_namespace(obj), kp_obj_name(obj));
		/*
		 * A pod on a real node is none of ours (unless usage of it is
		 * still counted, under "ns/name"): waking the worker for every
		 * pod a scheduler binds cost a thread switch each, for nothing.
		 */
		json_t *n = kp_ctl_get(c, K_NODE, NULL, node);
		bool skip = n && !is_fake(n) && !usage_has(st, k + 4);
		json_decref(n);
		if (skip)
			return;
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

/* ---- metrics.k8s.io ------------------------------------------------------- */

static int64_t qty_milli(const char *v, bool *ok)
{
	struct kp_quantity q;
	if (!v || kp_quantity_parse(v, &q, NULL) || q.value < 0) {
		*ok = false;
		return 0;
	}
	*ok = true;
	return kp_quantity_milli_sat(&q);
}

/*
 * The usage (milli-units) of one resource the pod declares at `elapsed`
 * seconds after it started: the value of the last point of its curve
 * annotation sim.kplane.io/<res>-usage-curve ("0=100m,30=500m": seconds
 * since start = quantity, a step function) at or before elapsed, else its
 * flat annotation sim.kplane.io/<res>-usage. false when it declares none
 * (or only malformed ones). *next: seconds since start of the curve's next
 * step, -1 when none.
 */
static bool declared(const json_t *pod, const char *res, int64_t elapsed, int64_t *out,
		     int64_t *next)
{
	char ann[64];
	bool ok = false;
	*next = -1;
	snprintf(ann, sizeof(ann), "sim.kplane.io/%s-usage-curve", res);
	const char *curve = kp_obj_annotation(pod, ann);
	if (curve) {
		char buf[1024];
		snprintf(buf, sizeof(buf), "%s", curve);
		char *save = NULL;
		for (char *pt = strtok_r(buf, ",", &save); pt; pt = strtok_r(NULL, ",", &save)) {
			char *eq = strchr(pt, '=');
			char *end = NULL;
			if (!eq)
				return false;
			*eq = 0;
			long long t = strtoll(pt, &end, 10);
			bool qok;
			int64_t v = qty_milli(eq + 1, &qok);
			if (end == pt || *end || t < 0 || !qok)
				return false; /* a malformed curve is no curve */
			if (t <= elapsed) {
				*out = v;
				ok = true;
			} else if (*next < 0 || t < *next) {
				*next = t;
			}
		}
		if (ok)
			return true;
	}
	snprintf(ann, sizeof(ann), "sim.kplane.io/%s-usage", res);
	*out = qty_milli(kp_obj_annotation(pod, ann), &ok);
	return ok;
}

static size_t bucket(const char *key)
{
	uint32_t h = 2166136261u;
	for (const char *p = key; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h % USAGE_BUCKETS;
}

/* Whether usage of pod "ns/name" is counted. */
static bool usage_has(struct state *s, const char *key)
{
	pthread_mutex_lock(&s->mu);
	struct usage *u = s->u[bucket(key)];
	while (u && strcmp(u->key, key))
		u = u->next;
	pthread_mutex_unlock(&s->mu);
	return u != NULL;
}

/*
 * Records (node non-NULL) or forgets (node NULL) a pod's usage; returns the
 * node whose sum changed (malloc'ed; NULL when none) and, in *old_node, the
 * node the pod was counted on before when that differs.
 */
static char *usage_set(struct state *s, const char *key, const char *node, int64_t cpu,
		       int64_t mem, char **old_node)
{
	*old_node = NULL;
	char *changed = NULL;
	pthread_mutex_lock(&s->mu);
	struct usage **pp = &s->u[bucket(key)], *u;
	while ((u = *pp) && strcmp(u->key, key))
		pp = &u->next;
	if (!node) {
		if (u) {
			*pp = u->next;
			changed = u->node;
			free(u->key);
			free(u);
		}
	} else if (u) {
		if (strcmp(u->node, node)) {
			*old_node = u->node;
			u->node = strdup(node);
			changed = strdup(node);
		} else if (u->cpu_m != cpu || u->mem_b != mem) {
			changed = strdup(node);
		}
		u->cpu_m = cpu;
		u->mem_b = mem;
	} else if ((u = calloc(1, sizeof(*u)))) {
		u->key = strdup(key);
		u->node = strdup(node);
		u->cpu_m = cpu;
		u->mem_b = mem;
		u->next = s->u[bucket(key)];
		s->u[bucket(key)] = u;
		changed = strdup(node);
	}
	pthread_mutex_unlock(&s->mu);
	return changed;
}

static void enqueue_nodem(struct kp_ctl *c, char *node)
{
	if (!node)
		return;
	char k[600];
	snprintf(k, sizeof(k), "nodem/%s", node);
	kp_ctl_enqueue(c, k, 0);
	free(node);
}

/* A quantity string: cpu from milli-cores, memory from bytes. */
static json_t *qty_json(int64_t milli, bool cpu)
{
	struct kp_quantity q = cpu ? kp_quantity_make(milli, -3, KP_QUANTITY_DECIMAL_SI) :
				     kp_quantity_make(milli / 1000, 0, KP_QUANTITY_BINARY_SI);
	char buf[KP_QUANTITY_BUFSZ];
	return json_string(kp_quantity_format(&q, buf));
}

/*
 * Writes obj's metrics object (kind K_PM or K_NM) when its payload
 * (`field`, and labels) changed; absent: created. want (borrowed) carries
 * metadata (name, namespace, labels), timestamp, window and the payload.
 */
static int put_metrics(struct kp_ctl *c, unsigned kind, const json_t *want, const char *field,
		       char **errmsg)
{
	const char *ns = kp_obj_namespace(want), *name = kp_obj_name(want);
	json_t *cur = kp_ctl_get(c, kind, ns, name);
	int rc = 0;
	if (cur && json_equal(json_object_get(cur, field), json_object_get(want, field)) &&
	    json_equal(kp_obj_labels(cur), kp_obj_labels(want))) {
		json_decref(cur);
		return 0;
	}
	if (!cur) {
		rc = kp_ctl_create(c, kind, want, NULL, errmsg);
		if (rc != KP_EEXIST)
			return rc == KP_ENOENT || rc == KP_EBUSY ? 0 : rc;
		free(*errmsg);
		*errmsg = NULL;
		if (!(cur = kp_ctl_get_live(c, kind, ns, name)))
			return KP_ECONFLICT;
	}
	json_t *o = json_deep_copy(cur);
	json_decref(cur);
	json_object_set(o, field, json_object_get(want, field));
	json_object_set(o, "timestamp", json_object_get(want, "timestamp"));
	json_object_set(o, "window", json_object_get(want, "window"));
	json_t *labels = kp_obj_labels(want);
	if (labels)
		kp_obj_set(o, "metadata.labels", json_deep_copy(labels));
	else
		kp_obj_del(o, "metadata.labels");
	rc = kp_ctl_update(c, kind, o, NULL, errmsg);
	json_decref(o);
	return rc == KP_ENOENT ? 0 : rc;
}

static int drop_metrics(struct kp_ctl *c, unsigned kind, const char *ns, const char *name,
			char **errmsg)
{
	json_t *cur = kp_ctl_get(c, kind, ns, name);
	if (!cur)
		return 0;
	json_decref(cur);
	int rc = kp_ctl_delete(c, kind, ns, name, NULL, KP_CTL_BACKGROUND, errmsg);
	return rc == KP_ENOENT ? 0 : rc;
}

static json_t *metrics_meta(const json_t *obj, const char *window_s, const char *ts)
{
	json_t *m = json_pack("{s:{s:s}, s:s, s:s}", "metadata", "name", kp_obj_name(obj),
			      "timestamp", ts, "window", window_s);
	if (kp_obj_namespace(obj))
		kp_obj_set_str(m, "metadata.namespace", kp_obj_namespace(obj));
	json_t *labels = kp_obj_labels(obj);
	if (json_is_object(labels) && json_object_size(labels))
		kp_obj_set(m, "metadata.labels", json_deep_copy(labels));
	return m;
}

/*
 * metrics-server's PodMetrics of a running pod on a fake node that declares
 * its usage: the pod's labels, one entry per container with the pod's usage
 * split evenly (the remainder to the first). *after: ms until the pod's
 * curve steps next (-1: never).
 */
static int sync_pod_metrics(struct kp_ctl *c, struct state *s, const char *ns, const char *name,
			    int64_t *after, char **errmsg)
{
	*after = -1;
	char key[600];
	snprintf(key, sizeof(key), "%s/%s", ns, name);
	json_t *pod = kp_ctl_get(c, K_POD, ns, name);
	const char *nn = pod ? kp_obj_str(pod, "spec.nodeName") : NULL;
	json_t *node = nn ? kp_ctl_get(c, K_NODE, NULL, nn) : NULL;
	const char *ph = pod ? kp_obj_str(pod, "status.phase") : NULL;
	const char *started = pod ? kp_obj_str(pod, "status.startTime") : NULL;
	int64_t st0 = 0, now = kp_time_now(), cpu = 0, mem = 0, ncpu, nmem;
	bool want = node && is_fake(node) && ph && !strcmp(ph, "Running") && started &&
		    !kp_time_parse(started, &st0);
	if (want) {
		bool hc = declared(pod, "cpu", now - st0, &cpu, &ncpu);
		bool hm = declared(pod, "memory", now - st0, &mem, &nmem);
		want = hc || hm;
		int64_t nx = ncpu < 0 ? nmem : nmem < 0 ? ncpu : ncpu < nmem ? ncpu : nmem;
		if (nx >= 0)
			*after = (st0 + nx - now) * 1000 + 1;
	}
	int rc;
	char *old = NULL;
	if (!want) {
		enqueue_nodem(c, usage_set(s, key, NULL, 0, 0, &old));
		rc = drop_metrics(c, K_PM, ns, name, errmsg);
		goto out;
	}
	enqueue_nodem(c, usage_set(s, key, nn, cpu, mem, &old));
	enqueue_nodem(c, old);
	char ts[KP_TIME_BUFSZ], win[32];
	kp_time_format(now, ts);
	snprintf(win, sizeof(win), "%llds", (long long)s->a.metrics_window_seconds);
	json_t *pm = metrics_meta(pod, win, ts);
	json_t *cts = json_array();
	json_t *ctl = kp_obj_get(pod, "spec.containers");
	int64_t n = (int64_t)json_array_size(ctl);
	size_t i;
	json_t *ct;
	json_array_foreach(ctl, i, ct) {
		/* memory in milli-bytes: whole bytes per container, the rest to the first */
		int64_t cc = cpu / n + (i ? 0 : cpu % n);
		int64_t mb = mem / 1000, cm = (mb / n + (i ? 0 : mb % n)) * 1000;
		json_array_append_new(cts, json_pack("{s:s, s:{s:o, s:o}}", "name",
						     kp_obj_str(ct, "name") ? kp_obj_str(ct, "name") : "",
						     "usage", "cpu", qty_json(cc, true), "memory",
						     qty_json(cm, false)));
	}
	json_object_set_new(pm, "containers", cts);
	rc = put_metrics(c, K_PM, pm, "containers", errmsg);
	json_decref(pm);
out:
	json_decref(node);
	json_decref(pod);
	return rc;
}

/*
 * NodeMetrics of a fake node that reports: the sum of its pods' usage.
 * A silent (stop-heartbeat) or deleted node has none, as metrics-server
 * cannot scrape an unreachable kubelet.
 */
static int sync_node_metrics(struct kp_ctl *c, struct state *s, const char *name, char **errmsg)
{
	json_t *node = kp_ctl_get(c, K_NODE, NULL, name);
	const char *stop = node ? kp_obj_annotation(node, "sim.kplane.io/stop-heartbeat") : NULL;
	if (!node || !is_fake(node) || (stop && !strcmp(stop, "true"))) {
		json_decref(node);
		return drop_metrics(c, K_NM, NULL, name, errmsg);
	}
	int64_t cpu = 0, mem = 0;
	pthread_mutex_lock(&s->mu);
	for (size_t b = 0; b < USAGE_BUCKETS; b++)
		for (struct usage *u = s->u[b]; u; u = u->next)
			if (!strcmp(u->node, name)) {
				cpu += u->cpu_m;
				mem += u->mem_b;
			}
	pthread_mutex_unlock(&s->mu);
	char ts[KP_TIME_BUFSZ], win[32];
	kp_time_format(kp_time_now(), ts);
	snprintf(win, sizeof(win), "%llds", (long long)s->a.metrics_window_seconds);
	json_t *nm = metrics_meta(node, win, ts);
	json_object_set_new(nm, "usage", json_pack("{s:o, s:o}", "cpu", qty_json(cpu, true),
						   "memory", qty_json(mem, false)));
	int rc = put_metrics(c, K_NM, nm, "usage", errmsg);
	json_decref(nm);
	json_decref(node);
	return rc;
}

static int64_t reconcile(struct kp_ctl *c, void *st, const char *key, char **errmsg)
{
	struct state *s = st;
	if (!strncmp(key, "node/", 5))
		return sync_node(c, s, key + 5, errmsg);
	if (!strncmp(key, "nodem/", 6))
		return sync_node_metrics(c, s, key + 6, errmsg);
	char ns[256], name[256];
	if (!strncmp(key, "pod/", 4) && kp__split_key(key + 4, ns, name, sizeof(ns))) {
		int64_t ret = sync_pod(c, s, ns, name, errmsg), after;
		if (ret < 0)
			return ret;
		int rc = sync_pod_metrics(c, s, ns, name, &after, errmsg);
		if (rc < 0)
			return rc;
		return after > 0 && (ret == 0 || after < ret) ? after : ret;
	}
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

/*
 * node-lifecycle.c - kube-controller-manager's node lifecycle controller
 * with taint-based eviction:
 *  - a node whose kubelet stopped reporting (neither the Ready condition's
 *    lastHeartbeatTime nor its Lease in kube-node-lease renewed for
 *    nodeMonitorGracePeriodSeconds) gets Ready, MemoryPressure, DiskPressure
 *    and PIDPressure Unknown ("Kubelet stopped posting node status.");
 *  - Ready Unknown taints the node node.kubernetes.io/unreachable, Ready
 *    False node.kubernetes.io/not-ready, both NoSchedule and NoExecute;
 *    Ready True removes them;
 *  - pods on a node with NoExecute taints they do not tolerate are deleted at
 *    once; tolerated with tolerationSeconds, that long after the taint was
 *    added (admission gives every pod 300 s for these two taints); without
 *    tolerationSeconds, never.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

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
	int64_t grace;
};

static const struct kp_arg_spec arg_spec[] = {
	{ "nodeMonitorGracePeriodSeconds", KP_ARG_INT, offsetof(struct args, grace), "40", 1,
	  86400 },
	{ NULL, 0, 0, NULL, 0, 0 },
};

#define T_UNREACHABLE "node.kubernetes.io/unreachable"
#define T_NOT_READY "node.kubernetes.io/not-ready"

static int init(struct kp_ctl *c, const void *args, void **state, char **errmsg)
{
	(void)c;
	struct args *a = malloc(sizeof(*a));
	if (!a)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	*a = *(const struct args *)args;
	*state = a;
	return 0;
}

static void fini(void *state)
{
	free(state);
}

static bool has_noexecute(const json_t *node)
{
	size_t i;
	json_t *t;
	json_array_foreach(kp_obj_get(node, "spec.taints"), i, t) {
		const char *e = json_string_value(json_object_get(t, "effect"));
		if (e && !strcmp(e, "NoExecute"))
			return true;
	}
	return false;
}

static void enqueue_pods_on(struct kp_ctl *c, const char *node)
{
	json_t *pods = kp_ctl_list(c, K_POD, NULL, NULL);
	size_t i;
	json_t *p;
	char k[700];
	json_array_foreach(pods, i, p) {
		const char *n = kp_obj_str(p, "spec.nodeName");
		if (n && !strcmp(n, node)) {
			snprintf(k, sizeof(k), "pod/%s/%s", kp_obj_namespace(p), kp_obj_name(p));
			kp_ctl_enqueue(c, k, 0);
		}
	}
	json_decref(pods);
}

static void on_change(struct kp_ctl *c, void *state, unsigned kind, int change,
		      const json_t *old, const json_t *obj)
{
	(void)state;
	char k[700];
	if (change == KP_CTL_DELETED)
		return;
	if (kind == K_NODE) {
		snprintf(k, sizeof(k), "node/%s", kp_obj_name(obj));
		kp_ctl_enqueue(c, k, 0);
		if (has_noexecute(obj) &&
		    (!old || !json_equal(kp_obj_get(old, "spec.taints"), kp_obj_get(obj, "spec.taints"))))
			enqueue_pods_on(c, kp_obj_name(obj));
	} else if (kind == K_LEASE) {
		const char *ns = kp_obj_namespace(obj);
		if (ns && !strcmp(ns, "kube-node-lease")) {
			snprintf(k, sizeof(k), "node/%s", kp_obj_name(obj));
			kp_ctl_enqueue(c, k, 0);
		}
	} else {
		/*
		 * Only a pod on a node with a NoExecute taint has anything to
		 * evict (sync_pod); a taint added later enqueues the node's pods
		 * above. Waking the worker for every pod bound elsewhere cost a
		 * thread switch per binding.
		 */
		const char *n = kp_obj_str(obj, "spec.nodeName");
		if (n && *n) {
			json_t *node = kp_ctl_get(c, K_NODE, NULL, n);
			bool tainted = node && has_noexecute(node);
			json_decref(node);
			if (!tainted)
				return;
			snprintf(k, sizeof(k), "pod/%s/%s", kp_obj_namespace(obj), kp_obj_name(obj));
			kp_ctl_enqueue(c, k, 0);
		}
	}
}

/* Unix seconds of the kubelet's last sign of life (condition or Lease), 0 if none. */
static int64_t last_probe(struct kp_ctl *c, const json_t *node)
{
	int64_t t = 0, l = 0;
	json_t *ready = kp_obj_condition(node, "Ready");
	const char *hb = ready ? json_string_value(json_object_get(ready, "lastHeartbeatTime")) :
				 NULL;
	if (hb)
		kp_time_parse(hb, &t);
	json_t *lease = kp_ctl_get(c, K_LEASE, "kube-node-lease", kp_obj_name(node));
	const char *rt = lease ? kp_obj_str(lease, "spec.renewTime") : NULL;
	if (rt && kp_time_parse(rt, &l) == 0 && l > t)
		t = l;
	json_decref(lease);
	return t;
}

static bool taint_is(const json_t *t, const char *key, const char *effect)
{
	const char *k = json_string_value(json_object_get(t, "key"));
	const char *e = json_string_value(json_object_get(t, "effect"));
	return k && e && !strcmp(k, key) && !strcmp(e, effect);
}

/* Makes node's lifecycle taints exactly `want` (T_UNREACHABLE, T_NOT_READY or NULL). */
static bool set_taints(json_t *node, const char *want, const char *ts)
{
	json_t *taints = kp_obj_get(node, "spec.taints");
	bool changed = false;
	for (size_t i = 0; i < json_array_size(taints);) {
		json_t *t = json_array_get(taints, i);
		const char *k = json_string_value(json_object_get(t, "key"));
		if (k && (!strcmp(k, T_UNREACHABLE) || !strcmp(k, T_NOT_READY)) &&
		    (!want || strcmp(k, want))) {
			json_array_remove(taints, i);
			changed = true;
		} else {
			i++;
		}
	}
	if (want) {
		static const char *const effects[] = { "NoSchedule", "NoExecute" };
		for (int e = 0; e < 2; e++) {
			bool have = false;
			size_t i;
			json_t *t;
			json_array_foreach(taints, i, t)
				have |= taint_is(t, want, effects[e]);
			if (have)
				continue;
			if (!json_is_array(taints)) {
				taints = json_array();
				kp_obj_set(node, "spec.taints", taints);
			}
			json_t *nt = json_pack("{s:s, s:s}", "key", want, "effect", effects[e]);
			if (e == 1)
				json_object_set_new(nt, "timeAdded", json_string(ts));
			json_array_append_new(taints, nt);
			changed = true;
		}
	}
	if (taints && !json_array_size(taints))
		kp_obj_del(node, "spec.taints");
	return changed;
}

static int64_t sync_node(struct kp_ctl *c, const struct args *a, const char *name, char **errmsg)
{
	json_t *node = kp_ctl_get(c, K_NODE, NULL, name);
	if (!node)
		return 0;
	int64_t now = kp_time_now(), probe = last_probe(c, node), ret = 0;
	char ts[KP_TIME_BUFSZ];
	kp_time_format(now, ts);
	json_t *ready = kp_obj_condition(node, "Ready");
	const char *rs = ready ? json_string_value(json_object_get(ready, "status")) : NULL;
	int rc = 0;
	if (probe && probe + a->grace <= now && rs && strcmp(rs, "Unknown")) {
		/* The kubelet went silent: what it last said no longer holds. */
		json_t *n = json_deep_copy(node);
		static const char *const types[] = { "Ready", "MemoryPressure", "DiskPressure",
						     "PIDPressure" };
		for (size_t i = 0; i < 4; i++) {
			json_t *prev = kp_obj_condition(node, types[i]);
			const char *hb = prev ? json_string_value(json_object_get(prev, "lastHeartbeatTime")) :
						NULL;
			json_t *cnd = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", types[i], "status",
						"Unknown", "reason", "NodeStatusUnknown", "message",
						"Kubelet stopped posting node status.",
						"lastTransitionTime", ts);
			json_object_set_new(cnd, "lastHeartbeatTime", json_string(hb ? hb : ts));
			kp__set_condition(n, cnd);
		}
		rc = kp_ctl_update_status(c, K_NODE, n, NULL, errmsg);
		json_decref(n);
		if (rc == 0)
			kp_ctl_event(c, node, "Normal", "NodeNotReady",
				     "Node %s status is now: NodeNotReady", name);
		goto out; /* the status change comes back through the informer */
	}
	const char *want = !rs || !strcmp(rs, "True") ? NULL :
			   !strcmp(rs, "Unknown")     ? T_UNREACHABLE :
							T_NOT_READY;
	json_t *n = json_deep_copy(node);
	if (set_taints(n, want, ts))
		rc = kp_ctl_update(c, K_NODE, n, NULL, errmsg);
	json_decref(n);
	if (probe && (!rs || !strcmp(rs, "True")))
		ret = (probe + a->grace - now) * 1000 + 1;
out:
	json_decref(node);
	if (rc == KP_ENOENT)
		rc = 0;
	return rc < 0 ? rc : ret > 0 ? ret : 0;
}

static int64_t sync_pod(struct kp_ctl *c, const char *ns, const char *name, char **errmsg)
{
	json_t *pod = kp_ctl_get(c, K_POD, ns, name);
	if (!pod)
		return 0;
	json_t *node = kp_ctl_get(c, K_NODE, NULL, kp_obj_str(pod, "spec.nodeName"));
	int64_t ret = 0, now = kp_time_now();
	if (!node || kp_obj_str(pod, "metadata.deletionTimestamp"))
		goto out;
	bool evict = false;
	int64_t due = -1; /* unix seconds; -1 never */
	size_t i;
	json_t *t;
	json_array_foreach(kp_obj_get(node, "spec.taints"), i, t) {
		const char *e = json_string_value(json_object_get(t, "effect"));
		if (!e || strcmp(e, "NoExecute"))
			continue;
		int64_t added = now;
		const char *ta = json_string_value(json_object_get(t, "timeAdded"));
		if (ta)
			kp_time_parse(ta, &added);
		bool tolerated = false;
		int64_t secs = -1; /* the shortest tolerationSeconds among matches; -1 forever */
		size_t j;
		json_t *tol;
		json_array_foreach(kp_obj_get(pod, "spec.tolerations"), j, tol) {
			if (!kp__tolerates(tol, t))
				continue;
			tolerated = true;
			json_t *s = json_object_get(tol, "tolerationSeconds");
			/* Without tolerationSeconds a toleration lasts forever (kube's
			 * getMinTolerationTime ignores it). */
			if (json_is_integer(s) && (secs < 0 || json_integer_value(s) < secs))
				secs = json_integer_value(s) < 0 ? 0 : json_integer_value(s);
		}
		if (!tolerated) {
			evict = true;
			break;
		}
		if (secs >= 0 && (due < 0 || added + secs < due))
			due = added + secs;
	}
	if (!evict && due >= 0 && due <= now)
		evict = true;
	if (evict) {
		kp_ctl_event(c, pod, "Normal", "TaintManagerEviction", "Marking for deletion Pod %s/%s",
			     ns, name);
		int rc = kp_ctl_delete(c, K_POD, ns, name, kp_obj_uid(pod), KP_CTL_BACKGROUND, errmsg);
		ret = rc == KP_ECONFLICT || rc == KP_ENOENT ? 0 : rc;
	} else if (due >= 0) {
		ret = (due - now) * 1000 + 1;
	}
out:
	json_decref(node);
	json_decref(pod);
	return ret;
}

static int64_t reconcile(struct kp_ctl *c, void *state, const char *key, char **errmsg)
{
	if (!strncmp(key, "node/", 5))
		return sync_node(c, state, key + 5, errmsg);
	char ns[256], name[256];
	if (!strncmp(key, "pod/", 4) && kp__split_key(key + 4, ns, name, sizeof(ns)))
		return sync_pod(c, ns, name, errmsg);
	return 0;
}

static const struct kp_controller_ops ops = {
	KP_CONTROLLER_OPS,
	.kinds = kinds,
	.workers = 2,
	.init = init,
	.fini = fini,
	.on_change = on_change,
	.reconcile = reconcile,
};

KP_PLUGIN_DEFINE(node_lifecycle) = {
	KP_PLUGIN_HEADER(KP_PLUGIN_CONTROLLER),
	.name = "node-lifecycle",
	.version = "1.0",
	.description = "marks silent nodes Unknown, taints them, evicts their pods",
	.controller = &ops,
	.args = arg_spec,
	.args_size = sizeof(struct args),
};

/*
 * endpoints.c - kube-controller-manager's endpoints controller: for every
 * Service with a selector, an Endpoints object of the same name listing the
 * pods that match (ready ones under addresses, the others under
 * notReadyAddresses, terminal and deleting ones left out), with the
 * Service's ports resolved against each pod's container ports (a named
 * targetPort finds the container port of that name). Endpoints of a Service
 * that went away, or lost its selector, are deleted.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <kplane/controller.h>
#include <kplane/selector.h>

#include "plugins/controllers/common.h"
#include "plugins/controllers/workload.h"

enum { K_SVC, K_POD, K_EP };

static const struct kp_ctl_kind kinds[] = {
	{ "", "v1", "Service", "services" },
	{ "", "v1", "Pod", "pods" },
	{ "", "v1", "Endpoints", "endpoints" },
	{ NULL, NULL, NULL, NULL },
};

static void on_change(struct kp_ctl *c, void *state, unsigned kind, int change,
		      const json_t *old, const json_t *obj)
{
	(void)state;
	(void)change;
	char k[600];
	if (kind == K_SVC || kind == K_EP) {
		snprintf(k, sizeof(k), "%s/%s", kp_obj_namespace(obj), kp_obj_name(obj));
		kp_ctl_enqueue(c, k, 0);
		return;
	}
	/* A pod change concerns the Services whose selector matches it now or before. */
	json_t *svcs = kp_ctl_list(c, K_SVC, kp_obj_namespace(obj), NULL);
	size_t i;
	json_t *s;
	json_array_foreach(svcs, i, s) {
		json_t *sel = kp_obj_get(s, "spec.selector");
		if (!json_is_object(sel) || !json_object_size(sel))
			continue;
		bool hit = kp__labels_subset(sel, kp_obj_labels(obj)) ||
			   (old && kp__labels_subset(sel, kp_obj_labels(old)));
		if (hit) {
			snprintf(k, sizeof(k), "%s/%s", kp_obj_namespace(s), kp_obj_name(s));
			kp_ctl_enqueue(c, k, 0);
		}
	}
	json_decref(svcs);
}

/* The port number a Service port's targetPort means for this pod; 0 when none. */
static int64_t target_port(const json_t *sport, const json_t *pod)
{
	json_t *tp = json_object_get(sport, "targetPort");
	if (!tp || json_is_null(tp))
		return json_integer_value(json_object_get(sport, "port"));
	if (json_is_integer(tp))
		return json_integer_value(tp);
	const char *name = json_string_value(tp);
	const char *proto = json_string_value(json_object_get(sport, "protocol"));
	size_t i, j;
	json_t *ct, *cp;
	json_array_foreach(kp_obj_get(pod, "spec.containers"), i, ct) {
		json_array_foreach(json_object_get(ct, "ports"), j, cp) {
			const char *n = json_string_value(json_object_get(cp, "name"));
			const char *pp = json_string_value(json_object_get(cp, "protocol"));
			if (n && name && !strcmp(n, name) &&
			    !strcmp(pp ? pp : "TCP", proto ? proto : "TCP"))
				return json_integer_value(json_object_get(cp, "containerPort"));
		}
	}
	return 0;
}

/* The pod's ports for the Service, as an EndpointPort list (new reference). */
static json_t *ports_for(const json_t *svc, const json_t *pod)
{
	json_t *out = json_array();
	size_t i;
	json_t *sp;
	json_array_foreach(kp_obj_get(svc, "spec.ports"), i, sp) {
		int64_t port = target_port(sp, pod);
		if (port <= 0)
			continue;
		json_t *ep = json_pack("{s:I, s:s}", "port", (json_int_t)port, "protocol",
				       json_string_value(json_object_get(sp, "protocol")) ?
					       json_string_value(json_object_get(sp, "protocol")) :
					       "TCP");
		const char *name = json_string_value(json_object_get(sp, "name"));
		if (name && *name)
			json_object_set_new(ep, "name", json_string(name));
		json_array_append_new(out, ep);
	}
	return out;
}

static int by_ip(const void *a, const void *b)
{
	const char *x = kp_obj_str(*(json_t *const *)a, "ip");
	const char *y = kp_obj_str(*(json_t *const *)b, "ip");
	return strcmp(x ? x : "", y ? y : "");
}

/* Sorts an array of addresses by ip so that unchanged sets compare equal. */
static void sort_addrs(json_t *arr)
{
	size_t n = json_array_size(arr);
	json_t **v = calloc(n + 1, sizeof(*v));
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	qsort(v, n, sizeof(*v), by_ip);
	json_array_clear(arr);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, v[i]);
	free(v);
}

static int64_t reconcile(struct kp_ctl *c, void *state, const char *key, char **errmsg)
{
	(void)state;
	char ns[256], name[256];
	if (!kp__split_key(key, ns, name, sizeof(ns)))
		return 0;
	json_t *svc = kp_ctl_get(c, K_SVC, ns, name);
	json_t *sel = svc ? kp_obj_get(svc, "spec.selector") : NULL;
	json_t *cur = kp_ctl_get(c, K_EP, ns, name);
	int rc = 0;
	if (!svc || !json_is_object(sel) || !json_object_size(sel)) {
		/* Endpoints of a selector-less Service belong to its user. */
		if (!svc && cur)
			rc = kp_ctl_delete(c, K_EP, ns, name, kp_obj_uid(cur), KP_CTL_BACKGROUND,
					   errmsg);
		json_decref(cur);
		json_decref(svc);
		return rc == KP_ECONFLICT ? 0 : rc;
	}
	/* Subsets grouped by port list, as the EndpointSubset repacking does. */
	json_t *groups = json_object();
	json_t *pods = kp_ctl_list(c, K_POD, ns, NULL);
	size_t i;
	json_t *p;
	bool publish_not_ready = kp_obj_bool(svc, "spec.publishNotReadyAddresses", false);
	json_array_foreach(pods, i, p) {
		const char *ip = kp_obj_str(p, "status.podIP");
		if (!ip || !*ip || !kp__pod_active(p) || !kp__labels_subset(sel, kp_obj_labels(p)))
			continue;
		json_t *ports = ports_for(svc, p);
		char *pk = json_dumps(ports, JSON_COMPACT | JSON_SORT_KEYS);
		json_t *g = json_object_get(groups, pk ? pk : "");
		if (!g) {
			g = json_pack("{s:[], s:[], s:O}", "addresses", "notReadyAddresses", "ports",
				      ports);
			json_object_set_new(groups, pk ? pk : "", g);
		}
		free(pk);
		json_decref(ports);
		json_t *addr = json_pack("{s:s, s:{s:s, s:s, s:s, s:s?}}", "ip", ip, "targetRef",
					 "kind", "Pod", "namespace", ns, "name", kp_obj_name(p), "uid",
					 kp_obj_uid(p));
		const char *node = kp_obj_str(p, "spec.nodeName");
		if (node && *node)
			json_object_set_new(addr, "nodeName", json_string(node));
		bool ready = kp__pod_ready(p) || publish_not_ready;
		json_array_append_new(json_object_get(g, ready ? "addresses" : "notReadyAddresses"),
				      addr);
	}
	json_decref(pods);
	json_t *subsets = json_array();
	const char *gk;
	json_t *g;
	json_object_foreach(groups, gk, g) {
		if (!json_array_size(json_object_get(g, "ports")))
			continue;
		sort_addrs(json_object_get(g, "addresses"));
		sort_addrs(json_object_get(g, "notReadyAddresses"));
		if (!json_array_size(json_object_get(g, "addresses")))
			json_object_del(g, "addresses");
		if (!json_array_size(json_object_get(g, "notReadyAddresses")))
			json_object_del(g, "notReadyAddresses");
		json_array_append(subsets, g);
	}
	json_decref(groups);
	json_t *labels = kp_obj_labels(svc);
	if (cur) {
		json_t *have = kp_obj_get(cur, "subsets");
		bool same = have ? json_equal(have, subsets) : !json_array_size(subsets);
		if (!same || !json_equal(kp_obj_labels(cur), labels)) {
			json_t *ep = json_deep_copy(cur);
			json_object_set(ep, "subsets", subsets);
			if (labels)
				kp_obj_set(ep, "metadata.labels", json_deep_copy(labels));
			rc = kp_ctl_update(c, K_EP, ep, NULL, errmsg);
			json_decref(ep);
		}
	} else {
		json_t *ep = json_pack("{s:{s:s, s:s}, s:O}", "metadata", "name", name, "namespace",
				       ns, "subsets", subsets);
		if (labels)
			kp_obj_set(ep, "metadata.labels", json_deep_copy(labels));
		rc = kp_ctl_create(c, K_EP, ep, NULL, errmsg);
		json_decref(ep);
		if (rc == KP_EEXIST || rc == KP_EBUSY) {
			free(*errmsg);
			*errmsg = NULL;
			rc = rc == KP_EEXIST ? KP_ECONFLICT : 0; /* the cache lags: come back */
		}
	}
	json_decref(subsets);
	json_decref(cur);
	json_decref(svc);
	return rc;
}

static const struct kp_controller_ops ops = {
	KP_CONTROLLER_OPS,
	.kinds = kinds,
	.workers = 5,
	.on_change = on_change,
	.reconcile = reconcile,
};

KP_PLUGIN_DEFINE(endpoints) = {
	KP_PLUGIN_HEADER(KP_PLUGIN_CONTROLLER),
	.name = "endpoints",
	.version = "1.0",
	.description = "Service selectors to Endpoints of their pods",
	.controller = &ops,
};

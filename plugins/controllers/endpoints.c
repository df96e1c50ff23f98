/*
 * endpoints.c - kube-controller-manager's endpoints controller: for every
 * Service with a selector, an Endpoints object of the same name listing the
 * pods that match (ready ones under addresses, the others under
 * notReadyAddresses, terminal and deleting ones left out), with the
 * Service's ports resolved against each pod's container ports (a named
 * targetPort finds the container port of that name). Endpoints of a Service
 * that went away, or lost its selector, are deleted.
 *
 * It also does the work of kube's EndpointSlice controller for the same
 * Services: discovery.k8s.io/v1 EndpointSlices (addressType IPv4, at most
 * 100 endpoints each) labelled kubernetes.io/service-name and
 * endpointslice.kubernetes.io/managed-by, owned by the Service; see
 * sync_slices().
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <kplane/controller.h>
#include <kplane/selector.h>

#include "plugins/controllers/common.h"
#include "plugins/controllers/workload.h"

enum { K_SVC, K_POD, K_EP, K_EPS, K_NODE };

static const struct kp_ctl_kind kinds[] = {
	{ "", "v1", "Service", "services" },
	{ "", "v1", "Pod", "pods" },
	{ "", "v1", "Endpoints", "endpoints" },
	{ "discovery.k8s.io", "v1", "EndpointSlice", "endpointslices" },
	{ "", "v1", "Node", "nodes" }, /* for the endpoints' zone */
	{ NULL, NULL, NULL, NULL },
};

#define SLICE_MAX 100 /* kube-controller-manager's --max-endpoints-per-slice default */
static const char MANAGED_BY[] = "endpointslice-controller.k8s.io";

static void on_change(struct kp_ctl *c, void *state, unsigned kind, int change,
		      const json_t *old, const json_t *obj)
{
	(void)state;
	(void)change;
	char k[600];
	if (kind == K_NODE)
		return; /* read for zones; kube does not resync slices on node changes either */
	if (kind == K_SVC || kind == K_EP) {
		snprintf(k, sizeof(k), "%s/%s", kp_obj_namespace(obj), kp_obj_name(obj));
		kp_ctl_enqueue(c, k, 0);
		return;
	}
	if (kind == K_EPS) {
		/* Our slices (by their labels) lead back to their Service. */
		const char *svc = kp_obj_label(obj, "kubernetes.io/service-name");
		const char *by = kp_obj_label(obj, "endpointslice.kubernetes.io/managed-by");
		if (svc && by && !strcmp(by, MANAGED_BY)) {
			snprintf(k, sizeof(k), "%s/%s", kp_obj_namespace(obj), svc);
			kp_ctl_enqueue(c, k, 0);
		}
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

/*
 * The pod's ports for the Service, as an EndpointPort list (new reference).
 * slice: discovery/v1 EndpointPorts (name always set, appProtocol copied)
 * instead of core/v1 ones (name omitted when empty).
 */
static json_t *ports_for(const json_t *svc, const json_t *pod, bool slice)
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
		if (slice || (name && *name))
			json_object_set_new(ep, "name", json_string(name ? name : ""));
		const char *app = json_string_value(json_object_get(sp, "appProtocol"));
		if (slice && app)
			json_object_set_new(ep, "appProtocol", json_string(app));
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

/* ---- EndpointSlices ------------------------------------------------------ */


/*
 * The discovery/v1 Endpoint of pod for svc (new reference), or NULL when the
 * pod is not one (no IP, finished). Terminating pods stay, not ready, as
 * kube's EndpointSlice controller keeps them. zone: the node's
 * topology.kubernetes.io/zone label.
 */
static json_t *slice_endpoint(struct kp_ctl *c, const json_t *svc, const json_t *pod)
{
	const char *ip = kp_obj_str(pod, "status.podIP");
	const char *ph = kp_obj_str(pod, "status.phase");
	if (!ip || !*ip || (ph && (!strcmp(ph, "Succeeded") || !strcmp(ph, "Failed"))))
		return NULL;
	bool pnr = kp_obj_bool(svc, "spec.publishNotReadyAddresses", false);
	bool serving = kp__pod_ready(pod);
	bool terminating = kp_obj_str(pod, "metadata.deletionTimestamp") != NULL;
	bool ready = pnr || (serving && !terminating);
	json_t *ep = json_pack("{s:[s], s:{s:b, s:b, s:b}, s:{s:s, s:s, s:s, s:s?}}", "addresses",
			       ip, "conditions", "ready", ready, "serving", pnr || serving,
			       "terminating", terminating, "targetRef", "kind", "Pod", "namespace",
			       kp_obj_namespace(pod), "name", kp_obj_name(pod), "uid",
			       kp_obj_uid(pod));
	if (!ep)
		return NULL;
	const char *node = kp_obj_str(pod, "spec.nodeName");
	if (node && *node) {
		json_object_set_new(ep, "nodeName", json_string(node));
		json_t *n = kp_ctl_get(c, K_NODE, NULL, node);
		const char *zone = n ? kp_obj_label(n, "topology.kubernetes.io/zone") : NULL;
		if (zone)
			json_object_set_new(ep, "zone", json_string(zone));
		json_decref(n);
	}
	const char *host = kp_obj_str(pod, "spec.hostname");
	const char *sub = kp_obj_str(pod, "spec.subdomain");
	if (host && *host && sub && !strcmp(sub, kp_obj_name(svc)))
		json_object_set_new(ep, "hostname", json_string(host));
	return ep;
}

/* The uid of an endpoint's pod ("" when it has none). */
static const char *ep_uid(const json_t *ep)
{
	const char *u = kp_obj_str(ep, "targetRef.uid");
	return u ? u : "";
}

static int by_addr(const void *a, const void *b)
{
	const char *x = json_string_value(json_array_get(json_object_get(*(json_t *const *)a,
									  "addresses"), 0));
	const char *y = json_string_value(json_array_get(json_object_get(*(json_t *const *)b,
									  "addresses"), 0));
	return strcmp(x ? x : "", y ? y : "");
}

/* The labels a managed slice of svc carries (new reference): the Service's plus kube's. */
static json_t *slice_labels(const json_t *svc)
{
	json_t *l = json_deep_copy(kp_obj_labels(svc));
	if (!json_is_object(l)) {
		json_decref(l);
		l = json_object();
	}
	json_object_set_new(l, "kubernetes.io/service-name", json_string(kp_obj_name(svc)));
	json_object_set_new(l, "endpointslice.kubernetes.io/managed-by", json_string(MANAGED_BY));
	const char *cip = kp_obj_str(svc, "spec.clusterIP");
	if (cip && !strcmp(cip, "None"))
		json_object_set_new(l, "service.kubernetes.io/headless", json_string(""));
	return l;
}

/* A canonical key of a port list, to group endpoints and match slices. */
static char *ports_key(const json_t *ports)
{
	json_t *empty = json_array();
	char *k = json_dumps(json_is_array(ports) ? ports : empty, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(empty);
	return k;
}

struct slice_sync {
	struct kp_ctl *c;
	const char *key, *ns, *svc_name;
	int rc;
	char **errmsg;
};

static void note_err(struct slice_sync *ss, int rc, char *msg)
{
	if (rc < 0 && rc != KP_ENOENT && !ss->rc) {
		ss->rc = rc;
		*ss->errmsg = msg;
	} else {
		free(msg);
	}
}

/* True when the manager counts this slice's deletion against our key. */
static bool counted(const struct slice_sync *ss, const json_t *slice)
{
	json_t *ref = kp_obj_controller_ref(slice);
	const char *k = ref ? json_string_value(json_object_get(ref, "kind")) : NULL;
	const char *n = ref ? json_string_value(json_object_get(ref, "name")) : NULL;
	return k && n && !strcmp(k, "Service") && !strcmp(n, ss->svc_name);
}

static void slice_delete(struct slice_sync *ss, const json_t *slice)
{
	char *msg = NULL;
	bool cnt = counted(ss, slice);
	if (cnt)
		kp_ctl_expect(ss->c, ss->key, 0, 1);
	int rc = kp_ctl_delete(ss->c, K_EPS, ss->ns, kp_obj_name(slice), kp_obj_uid(slice),
			       KP_CTL_BACKGROUND, &msg);
	if (rc < 0 && cnt)
		kp_ctl_observe(ss->c, ss->key, 0, 1);
	note_err(ss, rc == KP_ECONFLICT ? KP_ENOENT : rc, msg);
}

/* Writes slice (a copy, borrowed) when it differs from the cached old. */
static void slice_update(struct slice_sync *ss, const json_t *slice, const json_t *old)
{
	if (json_equal((json_t *)slice, (json_t *)old))
		return;
	char *msg = NULL;
	int rc = kp_ctl_update(ss->c, K_EPS, slice, NULL, &msg);
	note_err(ss, rc, msg);
}

static void slice_create(struct slice_sync *ss, const json_t *svc, json_t *labels, json_t *ports,
			 json_t *eps)
{
	char gen[300];
	snprintf(gen, sizeof(gen), "%s-", kp_obj_name(svc));
	json_t *s = json_pack("{s:{s:s, s:s, s:O}, s:s, s:O, s:O}", "metadata", "generateName",
			      gen, "namespace", ss->ns, "labels", labels, "addressType", "IPv4",
			      "endpoints", eps, "ports", ports);
	kp_obj_add_owner_ref(s, svc, true);
	char *msg = NULL;
	kp_ctl_expect(ss->c, ss->key, 1, 0);
	int rc = kp_ctl_create(ss->c, K_EPS, s, NULL, &msg);
	if (rc < 0)
		kp_ctl_observe(ss->c, ss->key, 1, 0);
	note_err(ss, rc == KP_EBUSY ? 0 : rc, msg);
	json_decref(s);
}

/*
 * kube's EndpointSlice reconciler, in short: the Service's endpoints are
 * grouped by their resolved port list; each existing slice of a group keeps
 * the endpoints it has that are still wanted (updated in place), new ones
 * fill slices with room, then new slices (at most SLICE_MAX endpoints
 * each). Slices left without endpoints are reused for new ones before being
 * deleted, which keeps churn down. A Service without endpoints keeps one
 * empty placeholder slice. svc NULL (gone) or without selector: our slices
 * are deleted (the garbage collector would also take them via the owner
 * reference).
 */
static int sync_slices(struct kp_ctl *c, const char *key, const char *ns, const char *name,
		       const json_t *svc, char **errmsg)
{
	struct slice_sync ss = { c, key, ns, name, 0, errmsg };
	if (!kp_ctl_satisfied(c, key))
		return 0; /* our own writes are not in the cache yet: their events requeue us */
	json_t *lsel = json_pack("{s:{s:s, s:s}}", "matchLabels", "kubernetes.io/service-name",
				 name, "endpointslice.kubernetes.io/managed-by", MANAGED_BY);
	json_t *have = kp_ctl_list(c, K_EPS, ns, lsel);
	json_decref(lsel);
	json_t *sel = svc ? kp_obj_get(svc, "spec.selector") : NULL;
	size_t i, j;
	json_t *o;
	if (!svc || !json_is_object(sel) || !json_object_size(sel)) {
		json_array_foreach(have, i, o)
			slice_delete(&ss, o);
		json_decref(have);
		return ss.rc;
	}
	/* Desired: port key -> {ports, eps: {pod uid: endpoint}}. */
	json_t *groups = json_object();
	json_t *pods = kp_ctl_list(c, K_POD, ns, NULL);
	json_array_foreach(pods, i, o) {
		if (!kp__labels_subset(sel, kp_obj_labels(o)))
			continue;
		json_t *ep = slice_endpoint(c, svc, o);
		if (!ep)
			continue;
		json_t *ports = ports_for(svc, o, true);
		char *pk = ports_key(ports);
		json_t *g = json_object_get(groups, pk ? pk : "");
		if (!g) {
			g = json_pack("{s:O, s:{}}", "ports", ports, "eps");
			json_object_set_new(groups, pk ? pk : "", g);
		}
		free(pk);
		json_decref(ports);
		json_object_set_new(json_object_get(g, "eps"), ep_uid(ep), ep);
	}
	json_decref(pods);
	const char *svc_uid = kp_obj_uid(svc);
	json_t *labels = slice_labels(svc);
	json_t *pool = json_array(); /* slices no group keeps: reused, else deleted */
	json_t *kept = json_array(); /* [copy, cached] of slices a group keeps */
	json_array_foreach(have, i, o) {
		json_t *ref = kp_obj_controller_ref(o);
		const char *ruid = ref ? json_string_value(json_object_get(ref, "uid")) : NULL;
		const char *at = kp_obj_str(o, "addressType");
		if (!ruid || strcmp(ruid, svc_uid) || !at || strcmp(at, "IPv4")) {
			slice_delete(&ss, o); /* a former Service's, or not ours to reuse */
			continue;
		}
		char *pk = ports_key(json_object_get(o, "ports"));
		json_t *g = json_object_get(groups, pk ? pk : "");
		free(pk);
		json_t *eps = json_array();
		json_t *e;
		json_array_foreach(json_object_get(o, "endpoints"), j, e) {
			json_t *want = g ? json_object_get(json_object_get(g, "eps"), ep_uid(e)) : NULL;
			if (want) {
				json_array_append(eps, want);
				json_object_del(json_object_get(g, "eps"), ep_uid(e));
			}
		}
		if (!json_array_size(eps)) {
			json_array_append(pool, o);
			json_decref(eps);
			continue;
		}
		json_t *copy = json_deep_copy(o);
		json_object_set_new(copy, "endpoints", eps);
		kp_obj_set(copy, "metadata.labels", json_deep_copy(labels));
		json_array_append_new(kept, json_pack("[o, O]", copy, o));
	}
	/* The endpoints no slice holds yet: into kept slices with room, then new slices. */
	size_t next_pool = 0;
	const char *pk;
	json_t *g;
	json_object_foreach(groups, pk, g) {
		json_t *left = json_object_get(g, "eps");
		size_t n = json_object_size(left);
		json_t **v = calloc(n + 1, sizeof(*v));
		if (!v) {
			ss.rc = KP_ENOMEM;
			break;
		}
		size_t k = 0;
		const char *u;
		json_t *e;
		json_object_foreach(left, u, e)
			v[k++] = e;
		qsort(v, n, sizeof(*v), by_addr);
		k = 0;
		json_array_foreach(kept, i, o) {
			json_t *copy = json_array_get(o, 0);
			char *ck = ports_key(json_object_get(copy, "ports"));
			bool same = ck && !strcmp(ck, pk);
			free(ck);
			json_t *eps = json_object_get(copy, "endpoints");
			while (same && k < n && json_array_size(eps) < SLICE_MAX)
				json_array_append(eps, v[k++]);
		}
		while (k < n) {
			json_t *eps = json_array();
			for (size_t m = 0; m < SLICE_MAX && k < n; m++)
				json_array_append(eps, v[k++]);
			json_t *reuse = json_array_get(pool, next_pool);
			if (reuse) {
				next_pool++;
				json_t *copy = json_deep_copy(reuse);
				json_object_set_new(copy, "endpoints", eps);
				json_object_set(copy, "ports", json_object_get(g, "ports"));
				kp_obj_set(copy, "metadata.labels", json_deep_copy(labels));
				json_array_append_new(kept, json_pack("[o, O]", copy, reuse));
			} else {
				slice_create(&ss, svc, labels, json_object_get(g, "ports"), eps);
				json_decref(eps);
			}
		}
		free(v);
	}
	if (!json_object_size(groups) && !json_array_size(kept)) {
		/* The placeholder: one slice without endpoints or ports. */
		json_t *reuse = json_array_get(pool, next_pool);
		json_t *none = json_array();
		if (reuse) {
			next_pool++;
			json_t *copy = json_deep_copy(reuse);
			json_object_set_new(copy, "endpoints", json_array());
			json_object_set_new(copy, "ports", json_array());
			kp_obj_set(copy, "metadata.labels", json_deep_copy(labels));
			json_array_append_new(kept, json_pack("[o, O]", copy, reuse));
		} else {
			slice_create(&ss, svc, labels, none, none);
		}
		json_decref(none);
	}
	json_array_foreach(kept, i, o)
		slice_update(&ss, json_array_get(o, 0), json_array_get(o, 1));
	for (i = next_pool; i < json_array_size(pool); i++)
		slice_delete(&ss, json_array_get(pool, i));
	json_decref(kept);
	json_decref(pool);
	json_decref(labels);
	json_decref(groups);
	json_decref(have);
	return ss.rc;
}

static int sync_endpoints(struct kp_ctl *c, const char *ns, const char *name, char **errmsg)
{
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
		return rc == KP_ECONFLICT || rc == KP_ENOENT ? 0 : rc;
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
		json_t *ports = ports_for(svc, p, false);
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

static int64_t reconcile(struct kp_ctl *c, void *state, const char *key, char **errmsg)
{
	(void)state;
	char ns[256], name[256];
	if (!kp__split_key(key, ns, name, sizeof(ns)))
		return 0;
	int rc = sync_endpoints(c, ns, name, errmsg);
	if (rc < 0)
		return rc;
	json_t *svc = kp_ctl_get(c, K_SVC, ns, name);
	rc = sync_slices(c, key, ns, name, svc, errmsg);
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
	.description = "Service selectors to Endpoints and EndpointSlices of their pods",
	.controller = &ops,
};

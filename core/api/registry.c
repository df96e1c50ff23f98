/*
 * registry.c - the built-in resource table: it drives routing, discovery
 * and storage keys. One row per (group, version, resource).
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/api/internal.h"

#define NS KP_RES_NAMESPACED
#define ST KP_RES_STATUS
#define SC KP_RES_SCALE
#define GEN KP_RES_GENERATION
#define ALL KP_VERBS_ALL
/* The fields kp__registry_init() computes. */
#define RT NULL, NULL, NULL, NULL, 0, NULL

static struct kp_resource table[] = {
	/* core/v1 */
	{ "", "v1", "Pod", "pods", "pod", { "po" }, true, ALL,
	  NS | ST | KP_RES_POD_SUBS, KP_TABLE_POD, RT },
	{ "", "v1", "Node", "nodes", "node", { "no" }, false, ALL,
	  ST | KP_RES_KEEP_STATUS, KP_TABLE_NODE, RT },
	{ "", "v1", "Namespace", "namespaces", "namespace", { "ns" }, false,
	  ALL & ~KP_VERB_DELETECOLLECTION, ST | KP_RES_NAME_LABEL | KP_RES_NS_FINALIZE,
	  KP_TABLE_NAMESPACE, RT },
	{ "", "v1", "Service", "services", "service", { "svc" }, true, ALL,
	  NS | ST | KP_RES_NAME_LABEL, KP_TABLE_SERVICE, RT },
	{ "", "v1", "Endpoints", "endpoints", "endpoints", { "ep" }, false, ALL, NS,
	  KP_TABLE_ENDPOINTS, RT },
	{ "", "v1", "ConfigMap", "configmaps", "configmap", { "cm" }, false, ALL, NS,
	  KP_TABLE_CONFIGMAP, RT },
	{ "", "v1", "Secret", "secrets", "secret", { 0 }, false, ALL, NS, KP_TABLE_SECRET, RT },
	{ "", "v1", "Event", "events", "event", { "ev" }, false, ALL, NS, KP_TABLE_EVENT, RT },
	{ "", "v1", "PersistentVolume", "persistentvolumes", "persistentvolume", { "pv" }, false,
	  ALL, ST | KP_RES_KEEP_STATUS, KP_TABLE_PV, RT },
	{ "", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", "persistentvolumeclaim",
	  { "pvc" }, false, ALL, NS | ST, KP_TABLE_PVC, RT },
	{ "", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", { "sa" }, false, ALL,
	  NS, KP_TABLE_SERVICEACCOUNT, RT },
	{ "", "v1", "ResourceQuota", "resourcequotas", "resourcequota", { "quota" }, false, ALL,
	  NS | ST, KP_TABLE_RESOURCEQUOTA, RT },
	{ "", "v1", "LimitRange", "limitranges", "limitrange", { "limits" }, false, ALL, NS,
	  KP_TABLE_DEFAULT, RT },
	{ "", "v1", "Binding", "bindings", "binding", { 0 }, false, KP_VERB_CREATE,
	  NS | KP_RES_BINDING, KP_TABLE_DEFAULT, RT },
	/* apps/v1 */
	{ "apps", "v1", "Deployment", "deployments", "deployment", { "deploy" }, true, ALL,
	  NS | ST | SC | GEN, KP_TABLE_DEPLOYMENT, RT },
	{ "apps", "v1", "ReplicaSet", "replicasets", "replicaset", { "rs" }, true, ALL,
	  NS | ST | SC | GEN, KP_TABLE_REPLICASET, RT },
	{ "apps", "v1", "StatefulSet", "statefulsets", "statefulset", { "sts" }, true, ALL,
	  NS | ST | SC | GEN, KP_TABLE_STATEFULSET, RT },
	{ "apps", "v1", "DaemonSet", "daemonsets", "daemonset", { "ds" }, true, ALL,
	  NS | ST | GEN, KP_TABLE_DAEMONSET, RT },
	{ "apps", "v1", "ControllerRevision", "controllerrevisions", "controllerrevision", { 0 },
	  false, ALL, NS, KP_TABLE_CONTROLLERREVISION, RT },
	/* batch/v1 */
	{ "batch", "v1", "Job", "jobs", "job", { 0 }, true, ALL, NS | ST | GEN, KP_TABLE_JOB, RT },
	{ "batch", "v1", "CronJob", "cronjobs", "cronjob", { "cj" }, true, ALL, NS | ST | GEN,
	  KP_TABLE_CRONJOB, RT },
	/* autoscaling/v2 */
	{ "autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers",
	  "horizontalpodautoscaler", { "hpa" }, true, ALL, NS | ST | GEN, KP_TABLE_HPA, RT },
	/* autoscaling/v1: the same objects, converted (kinds.c kp__hpa_to_v1) */
	{ "autoscaling", "v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers",
	  "horizontalpodautoscaler", { "hpa" }, true, ALL,
	  NS | ST | GEN | KP_RES_CONVERT | KP_RES_HPA_V1, KP_TABLE_HPA, RT },
	/* policy/v1 */
	{ "policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", "poddisruptionbudget",
	  { "pdb" }, false, ALL, NS | ST | GEN, KP_TABLE_PDB, RT },
	/* networking.k8s.io/v1 */
	{ "networking.k8s.io", "v1", "Ingress", "ingresses", "ingress", { "ing" }, false, ALL,
	  NS | ST | GEN, KP_TABLE_INGRESS, RT },
	{ "networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", "networkpolicy",
	  { "netpol" }, false, ALL, NS | GEN, KP_TABLE_NETWORKPOLICY, RT },
	/* discovery.k8s.io/v1 (the endpoints controller writes them) */
	{ "discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", "endpointslice", { 0 },
	  false, ALL, NS, KP_TABLE_ENDPOINTSLICE, RT },
	/*
	 * metrics.k8s.io/v1beta1, read-only as metrics-server serves it: node-sim
	 * writes the objects straight to the store (docs/controllers.md).
	 */
	{ "metrics.k8s.io", "v1beta1", "NodeMetrics", "nodes", "", { 0 }, false,
	  KP_VERB_GET | KP_VERB_LIST, 0, KP_TABLE_NODEMETRICS, RT },
	{ "metrics.k8s.io", "v1beta1", "PodMetrics", "pods", "", { 0 }, false,
	  KP_VERB_GET | KP_VERB_LIST, NS, KP_TABLE_PODMETRICS, RT },
	/* rbac.authorization.k8s.io/v1 */
	{ "rbac.authorization.k8s.io", "v1", "Role", "roles", "role", { 0 }, false, ALL, NS,
	  KP_TABLE_DEFAULT, RT },
	{ "rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", "rolebinding", { 0 },
	  false, ALL, NS, KP_TABLE_ROLEBINDING, RT },
	{ "rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", "clusterrole", { 0 },
	  false, ALL, 0, KP_TABLE_DEFAULT, RT },
	{ "rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings",
	  "clusterrolebinding", { 0 }, false, ALL, 0, KP_TABLE_ROLEBINDING, RT },
	/* scheduling.k8s.io/v1 */
	{ "scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", "priorityclass",
	  { "pc" }, false, ALL, 0, KP_TABLE_PRIORITYCLASS, RT },
	/* coordination.k8s.io/v1 */
	{ "coordination.k8s.io", "v1", "Lease", "leases", "lease", { 0 }, false, ALL, NS,
	  KP_TABLE_LEASE, RT },
	/* storage.k8s.io/v1 (the scheduler's volume plugins read it) */
	{ "storage.k8s.io", "v1", "StorageClass", "storageclasses", "storageclass", { "sc" },
	  false, ALL, 0, KP_TABLE_DEFAULT, RT },
	/* apiextensions.k8s.io/v1 */
	{ "apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions",
	  "customresourcedefinition", { "crd", "crds" }, false, ALL, ST | GEN, KP_TABLE_DEFAULT, RT },
};

#define NRES (sizeof(table) / sizeof(table[0]))

static pthread_once_t once = PTHREAD_ONCE_INIT;

/* a + sep + b, malloc'ed. */
static char *join3(const char *a, const char *sep, const char *b)
{
	char *s = NULL;
	if (asprintf(&s, "%s%s%s", a, sep, b) < 0)
		abort();
	return s;
}

static void init_once(void)
{
	for (size_t i = 0; i < NRES; i++) {
		struct kp_resource *r = &table[i];
		r->index = i;
		if (*r->group) {
			r->group_version = join3(r->group, "/", r->version);
			r->qualified = join3(r->plural, ".", r->group);
		} else {
			r->group_version = strdup(r->version);
			r->qualified = strdup(r->plural);
		}
		r->list_kind = join3(r->kind, "", "List");
		if (asprintf(&r->key_prefix, "/registry/%s/%s/", *r->group ? r->group : "core",
			     r->plural) < 0)
			abort();
		if (!r->group_version || !r->qualified)
			abort();
	}
}

void kp__registry_init(void)
{
	pthread_once(&once, init_once);
}

size_t kp__registry_count(void)
{
	return NRES;
}

const struct kp_resource *kp__registry_at(size_t i)
{
	kp__registry_init();
	return i < NRES ? &table[i] : NULL;
}

const struct kp_resource *kp__registry_find(const char *group, const char *version,
					    const char *plural)
{
	kp__registry_init();
	for (size_t i = 0; i < NRES; i++)
		if (!strcmp(table[i].plural, plural) && !strcmp(table[i].group, group) &&
		    !strcmp(table[i].version, version))
			return &table[i];
	return NULL;
}

const struct kp_resource *kp__registry_find_kind(const char *group, const char *kind)
{
	kp__registry_init();
	for (size_t i = 0; i < NRES; i++)
		if (!strcmp(table[i].kind, kind) && !strcmp(table[i].group, group))
			return &table[i];
	return NULL;
}

void kp__registry_key(const struct kp_resource *r, const char *ns, const char *name,
		      struct kp_buf *out)
{
	kp__buf_adds(out, r->key_prefix);
	if ((r->flags & KP_RES_NAMESPACED) && ns) {
		kp__buf_adds(out, ns);
		kp__buf_add(out, "/", 1);
	}
	if (name)
		kp__buf_adds(out, name);
}

/* ---- discovery ------------------------------------------------------------ */

static json_t *verbs_json(unsigned v)
{
	static const char *names[] = { "get", "list", "watch", "create", "update", "patch",
				       "delete", "deletecollection" };
	static const unsigned bits[] = { KP_VERB_GET, KP_VERB_LIST, KP_VERB_WATCH,
					 KP_VERB_CREATE, KP_VERB_UPDATE, KP_VERB_PATCH,
					 KP_VERB_DELETE, KP_VERB_DELETECOLLECTION };
	/* Kubernetes lists verbs in this order in discovery. */
	static const int order[] = { 3, 6, 7, 0, 1, 5, 4, 2 };
	json_t *a = json_array();
	for (size_t i = 0; i < 8; i++)
		if (v & bits[order[i]])
			json_array_append_new(a, json_string(names[order[i]]));
	return a;
}

static json_t *sub_json(const struct kp_resource *r, const char *sub, const char *group,
			const char *version, const char *kind, unsigned verbs)
{
	char name[128];
	snprintf(name, sizeof(name), "%s/%s", r->plural, sub);
	json_t *o = json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", name, "singularName", "",
			      "namespaced", !!(r->flags & KP_RES_NAMESPACED), "kind", kind,
			      "verbs", verbs_json(verbs));
	if (group) {
		json_object_set_new(o, "group", json_string(group));
		json_object_set_new(o, "version", json_string(version));
	}
	return o;
}

json_t *kp__discovery_resources(const char *group, const char *version)
{
	kp__registry_init();
	json_t *list = json_array();
	bool any = false;
	for (size_t i = 0; i < NRES; i++) {
		const struct kp_resource *r = &table[i];
		if (strcmp(r->group, group) || strcmp(r->version, version))
			continue;
		any = true;
		json_t *o = json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", r->plural,
				      "singularName", r->singular, "namespaced",
				      !!(r->flags & KP_RES_NAMESPACED), "kind", r->kind, "verbs",
				      verbs_json(r->verbs));
		if (r->short_names[0]) {
			json_t *sn = json_array();
			for (size_t j = 0; j < 3 && r->short_names[j]; j++)
				json_array_append_new(sn, json_string(r->short_names[j]));
			json_object_set_new(o, "shortNames", sn);
		}
		if (r->all_category)
			json_object_set_new(o, "categories", json_pack("[s]", "all"));
		json_array_append_new(list, o);
		unsigned upd = KP_VERB_GET | KP_VERB_PATCH | KP_VERB_UPDATE;
		if (r->flags & KP_RES_NS_FINALIZE)
			json_array_append_new(list, sub_json(r, "finalize", NULL, NULL, r->kind,
							     KP_VERB_UPDATE));
		if (r->flags & KP_RES_POD_SUBS) {
			json_array_append_new(list, sub_json(r, "binding", NULL, NULL, "Binding",
							     KP_VERB_CREATE));
			json_array_append_new(list, sub_json(r, "eviction", "policy", "v1",
							     "Eviction", KP_VERB_CREATE));
			json_array_append_new(list, sub_json(r, "log", NULL, NULL, r->kind,
							     KP_VERB_GET));
		}
		if (r->flags & KP_RES_SCALE)
			json_array_append_new(list, sub_json(r, "scale", "autoscaling", "v1",
							     "Scale", upd));
		if (r->flags & KP_RES_STATUS)
			json_array_append_new(list, sub_json(r, "status", NULL, NULL, r->kind, upd));
	}
	if (!any) {
		json_decref(list);
		return NULL;
	}
	char gv[128];
	if (*group)
		snprintf(gv, sizeof(gv), "%s/%s", group, version);
	else
		snprintf(gv, sizeof(gv), "%s", version);
	return json_pack("{s:s, s:s, s:s, s:o}", "kind", "APIResourceList", "apiVersion", "v1",
			 "groupVersion", gv, "resources", list);
}

json_t *kp__discovery_api_versions(void)
{
	return json_pack("{s:s, s:[s], s:[{s:s, s:s}]}", "kind", "APIVersions", "versions", "v1",
			 "serverAddressByClientCIDRs", "clientCIDR", "0.0.0.0/0", "serverAddress",
			 "");
}

static json_t *group_json(const char *group)
{
	json_t *versions = json_array();
	const char *first = NULL;
	for (size_t i = 0; i < NRES; i++) {
		if (strcmp(table[i].group, group))
			continue;
		bool seen = false;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(table[j].group, group) &&
			    !strcmp(table[j].version, table[i].version))
				seen = true;
		if (seen)
			continue;
		if (!first)
			first = table[i].group_version;
		json_array_append_new(versions,
				      json_pack("{s:s, s:s}", "groupVersion",
						table[i].group_version, "version",
						table[i].version));
	}
	if (!first) {
		json_decref(versions);
		return NULL;
	}
	json_t *pref = json_deep_copy(json_array_get(versions, 0));
	return json_pack("{s:s, s:o, s:o}", "name", group, "versions", versions,
			 "preferredVersion", pref);
}

json_t *kp__discovery_groups(void)
{
	kp__registry_init();
	json_t *groups = json_array();
	for (size_t i = 0; i < NRES; i++) {
		if (!*table[i].group)
			continue;
		bool seen = false;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(table[j].group, table[i].group))
				seen = true;
		if (!seen)
			json_array_append_new(groups, group_json(table[i].group));
	}
	return json_pack("{s:s, s:s, s:o}", "kind", "APIGroupList", "apiVersion", "v1", "groups",
			 groups);
}

json_t *kp__discovery_group(const char *group)
{
	kp__registry_init();
	if (!*group)
		return NULL;
	json_t *g = group_json(group);
	if (!g)
		return NULL;
	json_object_set_new(g, "kind", json_string("APIGroup"));
	json_object_set_new(g, "apiVersion", json_string("v1"));
	return g;
}

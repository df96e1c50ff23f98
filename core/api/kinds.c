/*
 * kinds.c - field types, defaults and validation of the built-in kinds.
 *
 * Kubernetes decodes bodies into typed Go structs, so a string where an
 * int32 belongs is a 400 before any validation runs. kplane keeps objects
 * as JSON; the type table below gives the same early, clear rejection for
 * the fields the control plane reads. Defaults and validation cover what
 * the scheduler and controllers rely on (see docs/api.md for the list).
 */
#include "config.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/kplane.h>

#include "core/api/kinds.h"

/* ---- types ---------------------------------------------------------------- */

enum ftype { T_OBJ, T_ARR, T_STR, T_INT, T_BOOL, T_NUM, T_INTSTR, T_QTY };

struct fcheck {
	const char *path; /* dotted; "x[]" = each element of array x; "*" = each value */
	enum ftype type;
};

static const struct fcheck meta_checks[] = {
	{ "metadata.name", T_STR },         { "metadata.generateName", T_STR },
	{ "metadata.namespace", T_STR },    { "metadata.labels", T_OBJ },
	{ "metadata.labels.*", T_STR },     { "metadata.annotations", T_OBJ },
	{ "metadata.annotations.*", T_STR }, { "metadata.finalizers", T_ARR },
	{ "metadata.finalizers[]", T_STR }, { "metadata.ownerReferences", T_ARR },
	{ "metadata.ownerReferences[]", T_OBJ }, { "metadata.uid", T_STR },
	{ "metadata.resourceVersion", T_STR }, { "metadata.generation", T_INT },
	{ NULL, 0 },
};

/* Relative to a PodSpec. */
static const struct fcheck podspec_checks[] = {
	{ "containers", T_ARR },
	{ "containers[]", T_OBJ },
	{ "containers[].name", T_STR },
	{ "containers[].image", T_STR },
	{ "containers[].command", T_ARR },
	{ "containers[].command[]", T_STR },
	{ "containers[].args", T_ARR },
	{ "containers[].args[]", T_STR },
	{ "containers[].ports", T_ARR },
	{ "containers[].ports[]", T_OBJ },
	{ "containers[].ports[].containerPort", T_INT },
	{ "containers[].ports[].hostPort", T_INT },
	{ "containers[].ports[].protocol", T_STR },
	{ "containers[].env", T_ARR },
	{ "containers[].env[]", T_OBJ },
	{ "containers[].env[].name", T_STR },
	{ "containers[].env[].value", T_STR },
	{ "containers[].resources", T_OBJ },
	{ "containers[].resources.requests", T_OBJ },
	{ "containers[].resources.requests.*", T_QTY },
	{ "containers[].resources.limits", T_OBJ },
	{ "containers[].resources.limits.*", T_QTY },
	{ "initContainers", T_ARR },
	{ "initContainers[]", T_OBJ },
	{ "initContainers[].name", T_STR },
	{ "initContainers[].image", T_STR },
	{ "initContainers[].resources.requests.*", T_QTY },
	{ "initContainers[].resources.limits.*", T_QTY },
	{ "nodeName", T_STR },
	{ "nodeSelector", T_OBJ },
	{ "nodeSelector.*", T_STR },
	{ "schedulerName", T_STR },
	{ "priority", T_INT },
	{ "priorityClassName", T_STR },
	{ "restartPolicy", T_STR },
	{ "terminationGracePeriodSeconds", T_INT },
	{ "activeDeadlineSeconds", T_INT },
	{ "hostNetwork", T_BOOL },
	{ "serviceAccountName", T_STR },
	{ "affinity", T_OBJ },
	{ "tolerations", T_ARR },
	{ "tolerations[]", T_OBJ },
	{ "tolerations[].key", T_STR },
	{ "tolerations[].operator", T_STR },
	{ "tolerations[].value", T_STR },
	{ "tolerations[].effect", T_STR },
	{ "tolerations[].tolerationSeconds", T_INT },
	{ "volumes", T_ARR },
	{ "volumes[]", T_OBJ },
	{ "volumes[].name", T_STR },
	{ "topologySpreadConstraints", T_ARR },
	{ "topologySpreadConstraints[]", T_OBJ },
	{ "topologySpreadConstraints[].maxSkew", T_INT },
	{ "topologySpreadConstraints[].topologyKey", T_STR },
	{ "topologySpreadConstraints[].whenUnsatisfiable", T_STR },
	{ "overhead.*", T_QTY },
	{ NULL, 0 },
};

static const struct fcheck workload_checks[] = {
	{ "spec.replicas", T_INT },
	{ "spec.selector", T_OBJ },
	{ "spec.selector.matchLabels", T_OBJ },
	{ "spec.selector.matchLabels.*", T_STR },
	{ "spec.selector.matchExpressions", T_ARR },
	{ "spec.template", T_OBJ },
	{ "spec.template.metadata", T_OBJ },
	{ "spec.template.metadata.labels", T_OBJ },
	{ "spec.template.metadata.labels.*", T_STR },
	{ "spec.template.spec", T_OBJ },
	{ "spec.minReadySeconds", T_INT },
	{ "spec.revisionHistoryLimit", T_INT },
	{ "spec.paused", T_BOOL },
	{ "spec.progressDeadlineSeconds", T_INT },
	{ "spec.serviceName", T_STR },
	{ "spec.volumeClaimTemplates", T_ARR },
	{ "spec.parallelism", T_INT },
	{ "spec.completions", T_INT },
	{ "spec.backoffLimit", T_INT },
	{ "spec.activeDeadlineSeconds", T_INT },
	{ "spec.suspend", T_BOOL },
	{ "spec.schedule", T_STR },
	{ "spec.jobTemplate", T_OBJ },
	{ "spec.backoffLimitPerIndex", T_INT },
	{ "spec.maxFailedIndexes", T_INT },
	{ "spec.podReplacementPolicy", T_STR },
	{ "spec.podFailurePolicy", T_OBJ },
	{ "spec.podFailurePolicy.rules", T_ARR },
	{ "spec.podFailurePolicy.rules[]", T_OBJ },
	{ "spec.podFailurePolicy.rules[].action", T_STR },
	{ "spec.podFailurePolicy.rules[].onExitCodes", T_OBJ },
	{ "spec.podFailurePolicy.rules[].onExitCodes.containerName", T_STR },
	{ "spec.podFailurePolicy.rules[].onExitCodes.operator", T_STR },
	{ "spec.podFailurePolicy.rules[].onExitCodes.values", T_ARR },
	{ "spec.podFailurePolicy.rules[].onExitCodes.values[]", T_INT },
	{ "spec.podFailurePolicy.rules[].onPodConditions", T_ARR },
	{ "spec.podFailurePolicy.rules[].onPodConditions[]", T_OBJ },
	{ "spec.podFailurePolicy.rules[].onPodConditions[].type", T_STR },
	{ "spec.podFailurePolicy.rules[].onPodConditions[].status", T_STR },
	{ "spec.ordinals", T_OBJ },
	{ "spec.ordinals.start", T_INT },
	{ "spec.persistentVolumeClaimRetentionPolicy", T_OBJ },
	{ "spec.persistentVolumeClaimRetentionPolicy.whenDeleted", T_STR },
	{ "spec.persistentVolumeClaimRetentionPolicy.whenScaled", T_STR },
	{ NULL, 0 },
};

static const struct fcheck other_checks[] = {
	/* services */
	{ "spec.ports", T_ARR },
	{ "spec.ports[]", T_OBJ },
	{ "spec.ports[].port", T_INT },
	{ "spec.ports[].targetPort", T_INTSTR },
	{ "spec.ports[].nodePort", T_INT },
	{ "spec.ports[].protocol", T_STR },
	{ "spec.ports[].name", T_STR },
	{ "spec.type", T_STR },
	{ "spec.clusterIP", T_STR },
	/* nodes */
	{ "spec.unschedulable", T_BOOL },
	{ "spec.taints", T_ARR },
	{ "spec.taints[]", T_OBJ },
	{ "spec.taints[].key", T_STR },
	{ "spec.taints[].value", T_STR },
	{ "spec.taints[].effect", T_STR },
	{ "status.capacity", T_OBJ },
	{ "status.capacity.*", T_QTY },
	{ "status.allocatable", T_OBJ },
	{ "status.allocatable.*", T_QTY },
	/* hpa, pdb, leases, priority classes */
	{ "spec.minReplicas", T_INT },
	{ "spec.maxReplicas", T_INT },
	{ "spec.minAvailable", T_INTSTR },
	{ "spec.maxUnavailable", T_INTSTR },
	{ "spec.holderIdentity", T_STR },
	{ "spec.leaseDurationSeconds", T_INT },
	{ "value", T_INT },
	{ "globalDefault", T_BOOL },
	{ NULL, 0 },
};

static const struct fcheck eps_checks[] = {
	{ "addressType", T_STR },
	{ "endpoints", T_ARR },
	{ "endpoints[]", T_OBJ },
	{ "endpoints[].addresses", T_ARR },
	{ "endpoints[].addresses[]", T_STR },
	{ "endpoints[].conditions", T_OBJ },
	{ "endpoints[].conditions.ready", T_BOOL },
	{ "endpoints[].conditions.serving", T_BOOL },
	{ "endpoints[].conditions.terminating", T_BOOL },
	{ "endpoints[].hostname", T_STR },
	{ "endpoints[].nodeName", T_STR },
	{ "endpoints[].zone", T_STR },
	{ "endpoints[].targetRef", T_OBJ },
	{ "ports", T_ARR },
	{ "ports[]", T_OBJ },
	{ "ports[].name", T_STR },
	{ "ports[].port", T_INT },
	{ "ports[].protocol", T_STR },
	{ "ports[].appProtocol", T_STR },
	{ NULL, 0 },
};

static const struct fcheck cm_checks[] = {
	{ "data", T_OBJ }, { "data.*", T_STR }, { "binaryData", T_OBJ }, { "binaryData.*", T_STR },
	{ "stringData", T_OBJ }, { "stringData.*", T_STR }, { "type", T_STR }, { NULL, 0 },
};

static const char *type_name(enum ftype t)
{
	switch (t) {
	case T_OBJ: return "an object";
	case T_ARR: return "an array";
	case T_STR: return "a string";
	case T_INT: return "an integer";
	case T_BOOL: return "a boolean";
	case T_NUM: return "a number";
	case T_INTSTR: return "an integer or a string";
	case T_QTY: return "a quantity (string or number)";
	}
	return "?";
}

static const char *json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "?";
}

static bool type_ok(const json_t *v, enum ftype t)
{
	if (json_is_null(v))
		return true; /* a Go decoder takes null as the zero value */
	switch (t) {
	case T_OBJ: return json_is_object(v);
	case T_ARR: return json_is_array(v);
	case T_STR: return json_is_string(v);
	case T_INT:
		return json_is_integer(v) ||
		       (json_is_real(v) && json_real_value(v) == (double)(long long)json_real_value(v));
	case T_BOOL: return json_is_boolean(v);
	case T_NUM: return json_is_number(v);
	case T_INTSTR: return json_is_integer(v) || json_is_string(v);
	case T_QTY: return json_is_string(v) || json_is_number(v);
	}
	return false;
}

/*
 * Appends ".name" (or "name" at the start) to path at plen; returns the new
 * length, or 0 when it does not fit. Type checks run on every create and
 * update, so the path is built with memcpy rather than snprintf.
 */
static size_t path_add(char *path, size_t plen, const char *name, size_t nlen)
{
	size_t need = plen + (plen ? 1 : 0) + nlen;
	if (need >= 512)
		return 0;
	if (plen)
		path[plen++] = '.';
	memcpy(path + plen, name, nlen);
	path[need] = 0;
	return need;
}

/* Appends "[idx]"; returns the new length, or 0 when it does not fit. */
static size_t path_add_index(char *path, size_t plen, size_t idx)
{
	char digits[24];
	size_t nd = 0;
	do {
		digits[nd++] = (char)('0' + idx % 10);
		idx /= 10;
	} while (idx);
	if (plen + nd + 2 >= 512)
		return 0;
	path[plen++] = '[';
	while (nd)
		path[plen++] = digits[--nd];
	path[plen++] = ']';
	path[plen] = 0;
	return plen;
}

/*
 * The check tables compiled once into tries of path segments, so that a
 * request walks each part of its object once (spec, then each container,
 * then each of its fields) instead of once per check from the root, and
 * never splits a path string. Built on first use, kept for the process.
 */
enum seg_kind { SEG_ROOT, SEG_NAME, SEG_EACH /* x[] */, SEG_STAR /* * */ };

struct cnode {
	enum seg_kind kind;
	const char *name; /* SEG_NAME: points into the table's path (not NUL-ended) */
	size_t len;
	bool has_type;
	enum ftype type;
	struct cnode *kids; /* in the order the table first names them */
	size_t nkids;
};

static struct cnode *cnode_child(struct cnode *n, enum seg_kind kind, const char *name, size_t len)
{
	for (size_t i = 0; i < n->nkids; i++) {
		struct cnode *k = &n->kids[i];
		if (k->kind == kind && k->len == len && (!len || !memcmp(k->name, name, len)))
			return k;
	}
	struct cnode *kids = realloc(n->kids, (n->nkids + 1) * sizeof(*kids));
	if (!kids)
		abort();
	n->kids = kids;
	struct cnode *k = &kids[n->nkids++];
	*k = (struct cnode){ .kind = kind, .name = name, .len = len };
	return k;
}

static void compile_checks(struct cnode *root, const struct fcheck *checks)
{
	*root = (struct cnode){ .kind = SEG_ROOT };
	for (const struct fcheck *c = checks; c->path; c++) {
		struct cnode *n = root;
		const char *p = c->path;
		while (*p) {
			const char *e = strchr(p, '.');
			size_t sl = e ? (size_t)(e - p) : strlen(p);
			if (sl == 1 && *p == '*') {
				n = cnode_child(n, SEG_STAR, NULL, 0);
			} else if (sl > 2 && p[sl - 1] == ']' && p[sl - 2] == '[') {
				n = cnode_child(n, SEG_NAME, p, sl - 2);
				n = cnode_child(n, SEG_EACH, NULL, 0);
			} else {
				n = cnode_child(n, SEG_NAME, p, sl);
			}
			p += sl + (e ? 1 : 0);
		}
		n->has_type = true;
		n->type = c->type;
	}
}

/* Checks v against node n; path (512 bytes) holds v's concrete path, plen its length. */
static int walk(const struct cnode *n, const json_t *v, char *path, size_t plen, char **errmsg)
{
	if (n->has_type && !type_ok(v, n->type))
		return kp_error_set(errmsg, KP_EINVAL, "%s: expected %s, got %s", path,
				    type_name(n->type), json_type_name(v));
	for (size_t i = 0; i < n->nkids; i++) {
		const struct cnode *k = &n->kids[i];
		int rc = 0;
		if (k->kind == SEG_NAME) {
			json_t *c = json_is_object(v) ? json_object_getn(v, k->name, k->len) : NULL;
			size_t np = c ? path_add(path, plen, k->name, k->len) : 0;
			if (np)
				rc = walk(k, c, path, np, errmsg);
		} else if (k->kind == SEG_EACH && json_is_array(v)) {
			size_t idx;
			json_t *e;
			json_array_foreach (v, idx, e) {
				size_t ni = path_add_index(path, plen, idx);
				if (ni && (rc = walk(k, e, path, ni, errmsg)))
					break;
			}
		} else if (k->kind == SEG_STAR && json_is_object(v)) {
			const char *key;
			json_t *c;
			json_object_foreach ((json_t *)v, key, c) {
				size_t np = path_add(path, plen, key, strlen(key));
				if (np && (rc = walk(k, c, path, np, errmsg)))
					break;
			}
		}
		path[plen] = 0;
		if (rc)
			return rc;
	}
	return 0;
}

static struct cnode meta_trie, podspec_trie, workload_trie, cm_trie, eps_trie, other_trie;
static pthread_once_t tries_once = PTHREAD_ONCE_INIT;

static void compile_tries(void)
{
	compile_checks(&meta_trie, meta_checks);
	compile_checks(&podspec_trie, podspec_checks);
	compile_checks(&workload_trie, workload_checks);
	compile_checks(&cm_trie, cm_checks);
	compile_checks(&eps_trie, eps_checks);
	compile_checks(&other_trie, other_checks);
}

/*
 * Runs the checks of trie under obj's dotted prefix ("" = obj itself; a
 * prefix that is missing or not an object has nothing to check).
 */
static int run_checks(const json_t *obj, const char *prefix, const struct cnode *trie,
		      char **errmsg)
{
	char path[512];
	size_t plen = strlen(prefix);
	if (plen >= sizeof(path))
		return 0;
	memcpy(path, prefix, plen + 1);
	const json_t *v = obj;
	for (const char *p = prefix; *p && v;) {
		const char *e = strchr(p, '.');
		size_t sl = e ? (size_t)(e - p) : strlen(p);
		v = json_is_object(v) ? json_object_getn(v, p, sl) : NULL;
		p += sl + (e ? 1 : 0);
	}
	if (!v)
		return 0;
	return walk(trie, v, path, plen, errmsg);
}

/* metrics.k8s.io reuses the plurals pods and nodes: never take it for core/v1. */
static bool is(const struct kp_resource *res, const char *plural)
{
	return !strcmp(res->plural, plural) && strcmp(res->group, "metrics.k8s.io");
}

/* Where a kind keeps its PodSpec, or NULL. */
static const char *podspec_path(const struct kp_resource *res)
{
	if (is(res, "pods"))
		return "spec";
	if (is(res, "deployments") || is(res, "replicasets") || is(res, "statefulsets") ||
	    is(res, "daemonsets") || is(res, "jobs"))
		return "spec.template.spec";
	if (is(res, "cronjobs"))
		return "spec.jobTemplate.spec.template.spec";
	return NULL;
}

int kp__kinds_typecheck(const struct kp_resource *res, const json_t *obj, char **errmsg)
{
	pthread_once(&tries_once, compile_tries);
	int rc = run_checks(obj, "", &meta_trie, errmsg);
	if (rc || res->crd) /* custom resources: their schema checks types (crd.c) */
		return rc;
	json_t *spec = json_object_get(obj, "spec");
	if (spec && !json_is_object(spec))
		return kp_error_set(errmsg, KP_EINVAL, "spec: expected an object, got %s",
				    json_type_name(spec));
	json_t *status = json_object_get(obj, "status");
	if (status && !json_is_object(status) && !json_is_null(status))
		return kp_error_set(errmsg, KP_EINVAL, "status: expected an object, got %s",
				    json_type_name(status));
	const char *ps = podspec_path(res);
	if (ps) {
		if ((rc = run_checks(obj, ps, &podspec_trie, errmsg)))
			return rc;
		if (!is(res, "pods") && (rc = run_checks(obj, "", &workload_trie, errmsg)))
			return rc;
		return 0;
	}
	if (is(res, "configmaps") || is(res, "secrets"))
		return run_checks(obj, "", &cm_trie, errmsg);
	if (is(res, "endpointslices"))
		return run_checks(obj, "", &eps_trie, errmsg);
	return run_checks(obj, "", &other_trie, errmsg);
}

/* ---- defaults ----------------------------------------------------------------- */

static json_t *ensure_obj(json_t *parent, const char *key)
{
	json_t *v = json_object_get(parent, key);
	if (!json_is_object(v)) {
		v = json_object();
		json_object_set_new(parent, key, v);
	}
	return v;
}

static void set_default(json_t *o, const char *key, json_t *v)
{
	json_t *cur = json_object_get(o, key);
	if (!cur || json_is_null(cur))
		json_object_set_new(o, key, v);
	else
		json_decref(v);
}

static void default_container(json_t *c)
{
	set_default(c, "terminationMessagePath", json_string("/dev/termination-log"));
	set_default(c, "terminationMessagePolicy", json_string("File"));
	const char *image = json_string_value(json_object_get(c, "image"));
	if (image && !json_object_get(c, "imagePullPolicy")) {
		const char *slash = strrchr(image, '/');
		const char *colon = strrchr(slash ? slash : image, ':');
		bool latest = !colon || !strcmp(colon, ":latest");
		if (strchr(image, '@'))
			latest = false;
		json_object_set_new(c, "imagePullPolicy",
				    json_string(latest ? "Always" : "IfNotPresent"));
	}
	json_t *res = ensure_obj(c, "resources");
	/* requests default to limits, so the scheduler sees what was promised. */
	json_t *limits = json_object_get(res, "limits");
	if (json_is_object(limits) && json_object_size(limits)) {
		json_t *req = ensure_obj(res, "requests");
		const char *k;
		json_t *v;
		json_object_foreach (limits, k, v)
			if (!json_object_get(req, k))
				json_object_set_new(req, k, json_deep_copy(v));
	}
	json_t *ports = json_object_get(c, "ports");
	size_t i;
	json_t *p;
	if (json_is_array(ports))
		json_array_foreach (ports, i, p)
			if (json_is_object(p))
				set_default(p, "protocol", json_string("TCP"));
}

static int qty_cmp_str(const json_t *a, const json_t *b)
{
	struct kp_quantity qa, qb;
	char sa[64], sb[64];
	if (json_is_string(a))
		snprintf(sa, sizeof(sa), "%s", json_string_value(a));
	else
		snprintf(sa, sizeof(sa), "%lld", (long long)json_number_value(a));
	if (json_is_string(b))
		snprintf(sb, sizeof(sb), "%s", json_string_value(b));
	else
		snprintf(sb, sizeof(sb), "%lld", (long long)json_number_value(b));
	if (kp_quantity_parse(sa, &qa, NULL) || kp_quantity_parse(sb, &qb, NULL))
		return strcmp(sa, sb);
	return kp_quantity_cmp(&qa, &qb);
}

/* Kubernetes' QoS class (pkg/apis/core/helper/qos), for cpu and memory. */
static const char *qos_class(const json_t *spec)
{
	bool any = false, guaranteed = true;
	static const char *const lists[] = { "containers", "initContainers" };
	static const char *const names[] = { "cpu", "memory" };
	for (size_t l = 0; l < 2; l++) {
		json_t *cs = json_object_get(spec, lists[l]);
		size_t i;
		json_t *c;
		if (!json_is_array(cs))
			continue;
		json_array_foreach (cs, i, c) {
			json_t *req = kp_obj_get(c, "resources.requests");
			json_t *lim = kp_obj_get(c, "resources.limits");
			for (size_t n = 0; n < 2; n++) {
				json_t *rq = json_object_get(req, names[n]);
				json_t *lm = json_object_get(lim, names[n]);
				if (rq || lm)
					any = true;
				if (!lm || (rq && qty_cmp_str(rq, lm)))
					guaranteed = false;
			}
		}
	}
	if (!any)
		return "BestEffort";
	return guaranteed ? "Guaranteed" : "Burstable";
}

static void default_podspec(json_t *spec)
{
	if (!json_is_object(spec))
		return;
	set_default(spec, "restartPolicy", json_string("Always"));
	set_default(spec, "terminationGracePeriodSeconds", json_integer(30));
	set_default(spec, "dnsPolicy", json_string("ClusterFirst"));
	set_default(spec, "securityContext", json_object());
	set_default(spec, "schedulerName", json_string("default-scheduler"));
	static const char *const lists[] = { "containers", "initContainers" };
	for (size_t l = 0; l < 2; l++) {
		json_t *cs = json_object_get(spec, lists[l]);
		size_t i;
		json_t *c;
		if (json_is_array(cs))
			json_array_foreach (cs, i, c)
				if (json_is_object(c))
					default_container(c);
	}
}

static int resolve_priority(json_t *spec, struct kp_store *st, char **errmsg)
{
	if (json_object_get(spec, "priority") && !json_object_get(spec, "priorityClassName"))
		return 0;
	const char *pc = json_string_value(json_object_get(spec, "priorityClassName"));
	if (!pc || !*pc) {
		set_default(spec, "priority", json_integer(0));
		set_default(spec, "preemptionPolicy", json_string("PreemptLowerPriority"));
		return 0;
	}
	if (!strcmp(pc, "system-node-critical") || !strcmp(pc, "system-cluster-critical")) {
		json_object_set_new(spec, "priority",
				    json_integer(pc[7] == 'n' ? 2000001000 : 2000000000));
		set_default(spec, "preemptionPolicy", json_string("PreemptLowerPriority"));
		return 0;
	}
	if (!st)
		return 0;
	char key[320];
	snprintf(key, sizeof(key), "/registry/scheduling.k8s.io/priorityclasses/%s", pc);
	struct kp_kv kv;
	if (kp_store_get(st, key, &kv))
		return kp_error_set(errmsg, KP_ENOENT, "no PriorityClass with name %s was found",
				    pc);
	json_t *o = kp_json_loadb(kv.value, kv.len, 0, NULL);
	kp_kv_release(&kv);
	json_object_set_new(spec, "priority",
			    json_integer(json_integer_value(json_object_get(o, "value"))));
	const char *pp = kp_obj_str(o, "preemptionPolicy");
	set_default(spec, "preemptionPolicy", json_string(pp ? pp : "PreemptLowerPriority"));
	json_decref(o);
	return 0;
}

static void default_workload(const struct kp_resource *res, json_t *obj)
{
	json_t *spec = ensure_obj(obj, "spec");
	if (!is(res, "daemonsets") && !is(res, "jobs") && !is(res, "cronjobs"))
		set_default(spec, "replicas", json_integer(1));
	if (is(res, "deployments")) {
		json_t *s = ensure_obj(spec, "strategy");
		set_default(s, "type", json_string("RollingUpdate"));
		if (!strcmp(json_string_value(json_object_get(s, "type")) ?: "", "RollingUpdate")) {
			json_t *ru = ensure_obj(s, "rollingUpdate");
			set_default(ru, "maxUnavailable", json_string("25%"));
			set_default(ru, "maxSurge", json_string("25%"));
		}
		set_default(spec, "revisionHistoryLimit", json_integer(10));
		set_default(spec, "progressDeadlineSeconds", json_integer(600));
	} else if (is(res, "statefulsets")) {
		set_default(spec, "podManagementPolicy", json_string("OrderedReady"));
		json_t *s = ensure_obj(spec, "updateStrategy");
		set_default(s, "type", json_string("RollingUpdate"));
		if (!strcmp(json_string_value(json_object_get(s, "type")) ?: "", "RollingUpdate"))
			set_default(ensure_obj(s, "rollingUpdate"), "partition", json_integer(0));
		set_default(spec, "revisionHistoryLimit", json_integer(10));
		json_t *rp = ensure_obj(spec, "persistentVolumeClaimRetentionPolicy");
		set_default(rp, "whenDeleted", json_string("Retain"));
		set_default(rp, "whenScaled", json_string("Retain"));
	} else if (is(res, "daemonsets")) {
		json_t *s = ensure_obj(spec, "updateStrategy");
		set_default(s, "type", json_string("RollingUpdate"));
		if (!strcmp(json_string_value(json_object_get(s, "type")) ?: "", "RollingUpdate")) {
			json_t *ru = ensure_obj(s, "rollingUpdate");
			set_default(ru, "maxUnavailable", json_integer(1));
			set_default(ru, "maxSurge", json_integer(0));
		}
		set_default(spec, "revisionHistoryLimit", json_integer(10));
	} else if (is(res, "jobs")) {
		set_default(spec, "parallelism", json_integer(1));
		if (!json_object_get(spec, "completions") &&
		    json_integer_value(json_object_get(spec, "parallelism")) == 1)
			json_object_set_new(spec, "completions", json_integer(1));
		/* SetDefaults_Job: a per-index limit leaves the Job-wide one unbounded. */
		if (json_is_integer(json_object_get(spec, "backoffLimitPerIndex")))
			set_default(spec, "backoffLimit", json_integer(2147483647));
		set_default(spec, "backoffLimit", json_integer(6));
		set_default(spec, "completionMode", json_string("NonIndexed"));
		json_t *pfp = json_object_get(spec, "podFailurePolicy");
		set_default(spec, "podReplacementPolicy",
			    json_string(json_is_object(pfp) ? "Failed" : "TerminatingOrFailed"));
		size_t i, j;
		json_t *rule, *pat;
		json_array_foreach(json_object_get(pfp, "rules"), i, rule)
			json_array_foreach(json_object_get(rule, "onPodConditions"), j, pat)
				if (json_is_object(pat))
					set_default(pat, "status", json_string("True"));
		set_default(spec, "suspend", json_false());
	} else if (is(res, "cronjobs")) {
		set_default(spec, "concurrencyPolicy", json_string("Allow"));
		set_default(spec, "suspend", json_false());
		set_default(spec, "successfulJobsHistoryLimit", json_integer(3));
		set_default(spec, "failedJobsHistoryLimit", json_integer(1));
	}
	json_t *tspec = kp_obj_get(obj, podspec_path(res));
	default_podspec(tspec);
}

/*
 * Timestamps are written back in UTC as Kubernetes marshals them: a Time
 * with second precision ("...T01:04:05Z"), a MicroTime with six fraction
 * digits ("...T01:04:05.500000Z"); a client may send any RFC 3339 offset
 * and fraction. Values that do not parse are left for validation.
 */
static void norm_time(json_t *parent, const char *key, bool micro)
{
	json_t *v = json_object_get(parent, key);
	const char *s = json_string_value(v);
	if (!s)
		return;
	size_t n = strlen(s);
	/* Already canonical: the common case costs a length check. */
	if (s[n ? n - 1 : 0] == 'Z' && n == (micro ? 27u : 20u))
		return;
	int64_t sec;
	if (kp_time_parse(s, &sec))
		return;
	char buf[KP_TIME_BUFSZ];
	if (!kp_time_format(sec, buf))
		return;
	if (micro) {
		char frac[7] = "000000";
		const char *dot = strchr(s, '.');
		if (dot)
			for (int i = 0; i < 6 && dot[1 + i] >= '0' && dot[1 + i] <= '9'; i++)
				frac[i] = dot[1 + i];
		char out[KP_TIME_BUFSZ + 8];
		snprintf(out, sizeof(out), "%.19s.%sZ", buf, frac);
		json_object_set_new(parent, key, json_string(out));
	} else {
		json_object_set_new(parent, key, json_string(buf));
	}
}

static void norm_state_times(json_t *statuses)
{
	size_t i;
	json_t *cs;
	json_array_foreach (statuses, i, cs) {
		static const char *const states[] = { "state", "lastState" };
		for (size_t j = 0; j < 2; j++) {
			json_t *st = json_object_get(cs, states[j]);
			norm_time(json_object_get(st, "running"), "startedAt", false);
			json_t *t = json_object_get(st, "terminated");
			norm_time(t, "startedAt", false);
			norm_time(t, "finishedAt", false);
		}
	}
}

void kp__kinds_norm_status_times(json_t *obj)
{
	json_t *st = json_object_get(obj, "status");
	if (!json_is_object(st))
		return;
	size_t i;
	json_t *c;
	json_array_foreach (json_object_get(st, "conditions"), i, c) {
		norm_time(c, "lastTransitionTime", false);
		norm_time(c, "lastProbeTime", false);
		norm_time(c, "lastHeartbeatTime", false);
		norm_time(c, "lastUpdateTime", false);
	}
	/* pods and jobs, jobs, cronjobs (two), horizontalpodautoscalers */
	static const char *const times[] = { "startTime", "completionTime", "lastScheduleTime",
					     "lastSuccessfulTime", "lastScaleTime" };
	for (size_t j = 0; j < sizeof(times) / sizeof(times[0]); j++)
		norm_time(st, times[j], false);
	norm_state_times(json_object_get(st, "containerStatuses"));
	norm_state_times(json_object_get(st, "initContainerStatuses"));
	norm_state_times(json_object_get(st, "ephemeralContainerStatuses"));
}

static void norm_times(const struct kp_resource *res, json_t *obj)
{
	kp__kinds_norm_status_times(obj);
	if (is(res, "events")) {
		norm_time(obj, "firstTimestamp", false);
		norm_time(obj, "lastTimestamp", false);
		norm_time(obj, "eventTime", true);
		norm_time(json_object_get(obj, "series"), "lastObservedTime", true);
	} else if (is(res, "leases")) {
		json_t *spec = json_object_get(obj, "spec");
		norm_time(spec, "acquireTime", true);
		norm_time(spec, "renewTime", true);
	}
}

int kp__kinds_default(const struct kp_resource *res, json_t *obj, struct kp_store *st,
		      char **errmsg)
{
	bool create = st != NULL;
	norm_times(res, obj);
	if (is(res, "pods")) {
		json_t *spec = ensure_obj(obj, "spec");
		default_podspec(spec);
		/* SetDefaults_Pod, not _PodSpec: templates do not get it */
		set_default(spec, "enableServiceLinks", json_true());
		if (create) {
			int rc = resolve_priority(spec, st, errmsg);
			if (rc)
				return rc;
		}
		/* DefaultTolerationSeconds admission, on create and update as in
		 * Kubernetes: an update (a client-side apply's patch replacing the
		 * atomic tolerations list) must not lose the defaults. */
		{
			json_t *tol = json_object_get(spec, "tolerations");
			if (!json_is_array(tol)) {
				tol = json_array();
				json_object_set_new(spec, "tolerations", tol);
			}
			static const char *const keys[] = { "node.kubernetes.io/not-ready",
							    "node.kubernetes.io/unreachable" };
			for (size_t k = 0; k < 2; k++) {
				bool found = false;
				size_t i;
				json_t *t;
				json_array_foreach (tol, i, t) {
					const char *tk = kp_obj_str(t, "key");
					const char *te = kp_obj_str(t, "effect");
					if ((!tk || !strcmp(tk, keys[k]) || !*tk) &&
					    (!te || !*te || !strcmp(te, "NoExecute")))
						found = true;
				}
				if (!found)
					json_array_append_new(
						tol, json_pack("{s:s, s:s, s:s, s:i}", "key", keys[k],
							       "operator", "Exists", "effect",
							       "NoExecute", "tolerationSeconds", 300));
			}
		}
		if (create) {
			json_object_set_new(obj, "status",
					    json_pack("{s:s, s:s}", "phase", "Pending", "qosClass",
						      qos_class(spec)));
		}
		return 0;
	}
	if (podspec_path(res)) {
		default_workload(res, obj);
		if (create && (res->flags & KP_RES_STATUS))
			json_object_set_new(obj, "status", json_object());
		return 0;
	}
	if (is(res, "namespaces")) {
		json_t *spec = ensure_obj(obj, "spec");
		if (create)
			set_default(spec, "finalizers", json_pack("[s]", "kubernetes"));
		json_t *status = ensure_obj(obj, "status");
		set_default(status, "phase", json_string("Active"));
		const char *name = kp_obj_name(obj);
		if (name)
			kp_obj_set_label(obj, "kubernetes.io/metadata.name", name);
		return 0;
	}
	if (is(res, "services")) {
		json_t *spec = ensure_obj(obj, "spec");
		set_default(spec, "type", json_string("ClusterIP"));
		set_default(spec, "sessionAffinity", json_string("None"));
		const char *type = json_string_value(json_object_get(spec, "type"));
		if (create && type && strcmp(type, "ExternalName") && !json_object_get(spec, "clusterIP")) {
			/* 10.96.0.0/16 from random bits; collisions are not checked yet. */
			char uid[37], ip[32];
			kp_uuid4(uid);
			unsigned v = (unsigned)strtoul(uid + 24, NULL, 16);
			snprintf(ip, sizeof(ip), "10.96.%u.%u", (v >> 8) & 255, (v & 254) + 1);
			json_object_set_new(spec, "clusterIP", json_string(ip));
			json_object_set_new(spec, "clusterIPs", json_pack("[s]", ip));
		}
		if (type && strcmp(type, "ExternalName")) {
			set_default(spec, "ipFamilies", json_pack("[s]", "IPv4"));
			set_default(spec, "ipFamilyPolicy", json_string("SingleStack"));
			set_default(spec, "internalTrafficPolicy", json_string("Cluster"));
		}
		json_t *ports = json_object_get(spec, "ports");
		size_t i;
		json_t *p;
		if (json_is_array(ports))
			json_array_foreach (ports, i, p) {
				if (!json_is_object(p))
					continue;
				set_default(p, "protocol", json_string("TCP"));
				json_t *port = json_object_get(p, "port");
				if (port && !json_object_get(p, "targetPort"))
					json_object_set_new(p, "targetPort", json_deep_copy(port));
			}
		if (create)
			json_object_set_new(obj, "status", json_pack("{s:{}}", "loadBalancer"));
		return 0;
	}
	if (is(res, "secrets")) {
		set_default(obj, "type", json_string("Opaque"));
		return 0;
	}
	if (is(res, "persistentvolumeclaims")) {
		json_t *spec = ensure_obj(obj, "spec");
		set_default(spec, "volumeMode", json_string("Filesystem"));
		if (create)
			json_object_set_new(obj, "status", json_pack("{s:s}", "phase", "Pending"));
		return 0;
	}
	if (is(res, "persistentvolumes")) {
		json_t *spec = ensure_obj(obj, "spec");
		set_default(spec, "persistentVolumeReclaimPolicy", json_string("Retain"));
		set_default(spec, "volumeMode", json_string("Filesystem"));
		if (create)
			set_default(obj, "status", json_pack("{s:s}", "phase", "Pending"));
		return 0;
	}
	if (is(res, "priorityclasses")) {
		set_default(obj, "preemptionPolicy", json_string("PreemptLowerPriority"));
		return 0;
	}
	if (is(res, "horizontalpodautoscalers")) {
		set_default(ensure_obj(obj, "spec"), "minReplicas", json_integer(1));
		return 0;
	}
	if (is(res, "endpointslices")) {
		/* SetDefaults_EndpointPort */
		size_t i;
		json_t *p;
		json_array_foreach (json_object_get(obj, "ports"), i, p) {
			if (!json_is_object(p))
				continue;
			set_default(p, "name", json_string(""));
			set_default(p, "protocol", json_string("TCP"));
		}
		return 0;
	}
	if (create && (res->flags & KP_RES_STATUS) && !(res->flags & KP_RES_KEEP_STATUS))
		json_object_del(obj, "status");
	return 0;
}

/* ---- validation ------------------------------------------------------------- */

static char *jtext(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

static void validate_containers(const json_t *spec, const char *path, struct kp_errlist *errs,
				bool required)
{
	char f[512];
	static const char *const lists[] = { "containers", "initContainers" };
	json_t *names = json_object();
	for (size_t l = 0; l < 2; l++) {
		json_t *cs = json_object_get(spec, lists[l]);
		if (!cs || json_is_null(cs) || (json_is_array(cs) && !json_array_size(cs))) {
			if (l == 0 && required) {
				snprintf(f, sizeof(f), "%s.containers", path);
				kp_errlist_add(errs, KP_FIELD_REQUIRED, f, NULL, "%s", "");
			}
			continue;
		}
		size_t i;
		json_t *c;
		json_array_foreach (cs, i, c) {
			const char *name = json_string_value(json_object_get(c, "name"));
			snprintf(f, sizeof(f), "%s.%s[%zu].name", path, lists[l], i);
			if (!name || !*name) {
				kp_errlist_add(errs, KP_FIELD_REQUIRED, f, NULL, "%s", "");
			} else {
				const char *bad = kp_check_dns1123_label(name);
				char *vt = jtext(json_object_get(c, "name"));
				if (bad)
					kp_errlist_add(errs, KP_FIELD_INVALID, f, vt, "%s", bad);
				else if (json_object_get(names, name))
					kp_errlist_add(errs, KP_FIELD_DUPLICATE, f, vt, "%s", "");
				free(vt);
				json_object_set_new(names, name, json_true());
			}
			const char *image = json_string_value(json_object_get(c, "image"));
			if (!image || !*image) {
				snprintf(f, sizeof(f), "%s.%s[%zu].image", path, lists[l], i);
				kp_errlist_add(errs, KP_FIELD_REQUIRED, f, NULL, "%s", "");
			}
			static const char *const kinds[] = { "requests", "limits" };
			for (size_t k = 0; k < 2; k++) {
				json_t *m = kp_obj_getv(c, "resources", kinds[k], NULL);
				const char *rk;
				json_t *rv;
				json_object_foreach (m, rk, rv) {
					char s[64];
					if (json_is_string(rv))
						snprintf(s, sizeof(s), "%s", json_string_value(rv));
					else
						snprintf(s, sizeof(s), "%g", json_number_value(rv));
					struct kp_quantity q;
					snprintf(f, sizeof(f), "%s.%s[%zu].resources.%s[%s]", path,
						 lists[l], i, kinds[k], rk);
					char *vt = jtext(rv);
					if (kp_quantity_parse(s, &q, NULL))
						kp_errlist_add(errs, KP_FIELD_INVALID, f, vt, "%s",
							       "quantities must match the regular "
							       "expression '^([+-]?[0-9.]+)([eEinumkKMGTP]"
							       "*[-+]?[0-9]*)$'");
					else if (q.value < 0)
						kp_errlist_add(errs, KP_FIELD_INVALID, f, vt, "%s",
							       "must be greater than or equal to 0");
					free(vt);
				}
			}
		}
	}
	json_decref(names);
}

static void validate_podspec(const json_t *spec, const char *path, struct kp_errlist *errs)
{
	validate_containers(spec, path, errs, true);
	const char *rp = json_string_value(json_object_get(spec, "restartPolicy"));
	char f[512];
	if (rp && strcmp(rp, "Always") && strcmp(rp, "OnFailure") && strcmp(rp, "Never")) {
		snprintf(f, sizeof(f), "%s.restartPolicy", path);
		char *vt = jtext(json_object_get(spec, "restartPolicy"));
		kp_errlist_add(errs, KP_FIELD_NOT_SUPPORTED, f, vt, "%s",
			       "supported values: \"Always\", \"OnFailure\", \"Never\"");
		free(vt);
	}
	json_t *tol = json_object_get(spec, "tolerations");
	size_t i;
	json_t *t;
	json_array_foreach (tol, i, t) {
		const char *op = kp_obj_str(t, "operator");
		const char *eff = kp_obj_str(t, "effect");
		if (op && *op && strcmp(op, "Exists") && strcmp(op, "Equal")) {
			snprintf(f, sizeof(f), "%s.tolerations[%zu].operator", path, i);
			char *vt = jtext(json_object_get(t, "operator"));
			kp_errlist_add(errs, KP_FIELD_NOT_SUPPORTED, f, vt, "%s",
				       "supported values: \"Equal\", \"Exists\"");
			free(vt);
		}
		if (eff && *eff && strcmp(eff, "NoSchedule") && strcmp(eff, "PreferNoSchedule") &&
		    strcmp(eff, "NoExecute")) {
			snprintf(f, sizeof(f), "%s.tolerations[%zu].effect", path, i);
			char *vt = jtext(json_object_get(t, "effect"));
			kp_errlist_add(errs, KP_FIELD_NOT_SUPPORTED, f, vt, "%s",
				       "supported values: \"NoSchedule\", \"PreferNoSchedule\", "
				       "\"NoExecute\"");
			free(vt);
		}
	}
}

static void nonneg(const json_t *obj, const char *path, struct kp_errlist *errs)
{
	json_t *v = kp_obj_get(obj, path);
	if (json_is_integer(v) && json_integer_value(v) < 0) {
		char *vt = jtext(v);
		kp_errlist_add(errs, KP_FIELD_INVALID, path, vt, "%s",
			       "must be greater than or equal to 0");
		free(vt);
	}
}

/* ValidateJobSpec's rules for podFailurePolicy, backoffLimitPerIndex and podReplacementPolicy. */
static void validate_job_policies(const json_t *obj, struct kp_errlist *errs)
{
	char f[160];
	json_t *v;
	char *vt;
	const char *mode = kp_obj_str(obj, "spec.completionMode");
	bool indexed = mode && !strcmp(mode, "Indexed");
	bool per_index = json_is_integer(kp_obj_get(obj, "spec.backoffLimitPerIndex"));
	nonneg(obj, "spec.backoffLimitPerIndex", errs);
	nonneg(obj, "spec.maxFailedIndexes", errs);
	if (per_index && !indexed) {
		vt = jtext(kp_obj_get(obj, "spec.backoffLimitPerIndex"));
		kp_errlist_add(errs, KP_FIELD_INVALID, "spec.backoffLimitPerIndex", vt, "%s",
			       "requires indexed completion mode");
		free(vt);
	}
	if ((v = kp_obj_get(obj, "spec.maxFailedIndexes")) && !json_is_null(v) && !per_index) {
		vt = jtext(v);
		kp_errlist_add(errs, KP_FIELD_INVALID, "spec.maxFailedIndexes", vt, "%s",
			       "cannot set maxFailedIndexes when backoffLimitPerIndex is not set");
		free(vt);
	}
	json_t *sp = kp_obj_get(obj, "spec.successPolicy");
	if (sp && !json_is_null(sp)) {
		if (!indexed) {
			kp_errlist_add(errs, KP_FIELD_INVALID, "spec.successPolicy", NULL, "%s",
				       "requires indexed completion mode");
		}
		json_t *rules = json_object_get(sp, "rules");
		if (!json_array_size(rules))
			kp_errlist_add(errs, KP_FIELD_REQUIRED, "spec.successPolicy.rules", NULL, "%s",
				       "at least one rules must be specified when the successPolicy is specified");
		size_t i;
		json_t *r;
		json_array_foreach(rules, i, r) {
			json_t *cnt = json_object_get(r, "succeededCount");
			json_t *si = json_object_get(r, "succeededIndexes");
			snprintf(f, sizeof(f), "spec.successPolicy.rules[%zu]", i);
			if ((!cnt || json_is_null(cnt)) && (!si || json_is_null(si)))
				kp_errlist_add(errs, KP_FIELD_REQUIRED, f, NULL, "%s",
					       "at least one of succeededCount or succeededIndexes must be specified");
			if (si && !json_is_null(si) && !json_is_string(si)) {
				snprintf(f, sizeof(f), "spec.successPolicy.rules[%zu].succeededIndexes", i);
				kp_errlist_add(errs, KP_FIELD_INVALID, f, NULL, "%s", "must be a string");
			}
			if (cnt && !json_is_null(cnt) &&
			    (!json_is_integer(cnt) || json_integer_value(cnt) < 0 ||
			     json_integer_value(cnt) > kp_obj_int(obj, "spec.completions", 0))) {
				vt = jtext(cnt);
				snprintf(f, sizeof(f), "spec.successPolicy.rules[%zu].succeededCount", i);
				kp_errlist_add(errs, KP_FIELD_INVALID, f, vt, "%s",
					       "must be between 0 and .spec.completions");
				free(vt);
			}
		}
	}
	json_t *pfp = kp_obj_get(obj, "spec.podFailurePolicy");
	const char *rpol = kp_obj_str(obj, "spec.podReplacementPolicy");
	if (rpol && strcmp(rpol, "Failed") && (strcmp(rpol, "TerminatingOrFailed") || pfp)) {
		vt = jtext(kp_obj_get(obj, "spec.podReplacementPolicy"));
		kp_errlist_add(errs, KP_FIELD_NOT_SUPPORTED, "spec.podReplacementPolicy", vt, "%s",
			       pfp ? "supported values: \"Failed\"" :
				     "supported values: \"Failed\", \"TerminatingOrFailed\"");
		free(vt);
	}
	if (!json_is_object(pfp))
		return;
	const char *rp = kp_obj_str(obj, "spec.template.spec.restartPolicy");
	if (rp && strcmp(rp, "Never")) {
		vt = jtext(kp_obj_get(obj, "spec.template.spec.restartPolicy"));
		kp_errlist_add(errs, KP_FIELD_INVALID, "spec.template.spec.restartPolicy", vt, "%s",
			       "only \"Never\" is supported when podFailurePolicy is specified");
		free(vt);
	}
	size_t i;
	json_t *rule;
	json_array_foreach(json_object_get(pfp, "rules"), i, rule) {
		const char *act = json_string_value(json_object_get(rule, "action"));
		snprintf(f, sizeof(f), "spec.podFailurePolicy.rules[%zu].action", i);
		if (!act) {
			kp_errlist_add(errs, KP_FIELD_REQUIRED, f, NULL, "%s", "");
		} else if (strcmp(act, "FailJob") && strcmp(act, "FailIndex") && strcmp(act, "Ignore") &&
			   strcmp(act, "Count")) {
			vt = jtext(json_object_get(rule, "action"));
			kp_errlist_add(errs, KP_FIELD_NOT_SUPPORTED, f, vt, "%s",
				       "supported values: \"Count\", \"FailIndex\", \"FailJob\", \"Ignore\"");
			free(vt);
		} else if (!strcmp(act, "FailIndex") && !per_index) {
			vt = jtext(json_object_get(rule, "action"));
			kp_errlist_add(errs, KP_FIELD_INVALID, f, vt, "%s",
				       "requires the backoffLimitPerIndex to be set");
			free(vt);
		}
		json_t *oec = json_object_get(rule, "onExitCodes");
		json_t *opc = json_object_get(rule, "onPodConditions");
		bool has_oec = oec && !json_is_null(oec), has_opc = opc && !json_is_null(opc);
		snprintf(f, sizeof(f), "spec.podFailurePolicy.rules[%zu]", i);
		if (has_oec == has_opc) {
			kp_errlist_add(errs, KP_FIELD_INVALID, f, NULL, "%s",
				       "specifying one of OnExitCodes and OnPodConditions is required");
			continue;
		}
		if (has_opc)
			continue;
		const char *op = json_string_value(json_object_get(oec, "operator"));
		snprintf(f, sizeof(f), "spec.podFailurePolicy.rules[%zu].onExitCodes.operator", i);
		if (!op || (strcmp(op, "In") && strcmp(op, "NotIn"))) {
			vt = op ? jtext(json_object_get(oec, "operator")) : NULL;
			kp_errlist_add(errs, op ? KP_FIELD_NOT_SUPPORTED : KP_FIELD_REQUIRED, f, vt, "%s",
				       "supported values: \"In\", \"NotIn\"");
			free(vt);
		}
		json_t *vals = json_object_get(oec, "values");
		snprintf(f, sizeof(f), "spec.podFailurePolicy.rules[%zu].onExitCodes.values", i);
		if (!json_array_size(vals))
			kp_errlist_add(errs, KP_FIELD_REQUIRED, f, NULL, "%s", "at least one value is required");
		size_t j;
		json_array_foreach(vals, j, v)
			if (op && !strcmp(op, "In") && json_integer_value(v) == 0) {
				snprintf(f, sizeof(f),
					 "spec.podFailurePolicy.rules[%zu].onExitCodes.values[%zu]", i, j);
				kp_errlist_add(errs, KP_FIELD_INVALID, f, "0", "%s",
					       "must not be 0 for the In operator");
			}
	}
}

/* getIntOrPercentValue: an integer, or the number of "N%"; -1 for anything else. */
static long long intstr_value(const json_t *v)
{
	if (json_is_integer(v))
		return json_integer_value(v);
	const char *s = json_string_value(v);
	char *end;
	long long n = s ? strtoll(s, &end, 10) : -1;
	return s && end != s && end[0] == '%' && !end[1] ? n : -1;
}

/* ValidateRollingUpdateDaemonSet: exactly one of maxSurge and maxUnavailable is non-zero. */
static void validate_ds_strategy(const json_t *obj, struct kp_errlist *errs)
{
	json_t *ru = kp_obj_get(obj, "spec.updateStrategy.rollingUpdate");
	const char *type = kp_obj_str(obj, "spec.updateStrategy.type");
	if (!json_is_object(ru) || (type && strcmp(type, "RollingUpdate")))
		return;
	json_t *mu = json_object_get(ru, "maxUnavailable"), *ms = json_object_get(ru, "maxSurge");
	bool has_unav = mu && intstr_value(mu) != 0, has_surge = ms && intstr_value(ms) != 0;
	if (has_unav && has_surge) {
		char *vt = jtext(ms);
		kp_errlist_add(errs, KP_FIELD_INVALID, "spec.updateStrategy.rollingUpdate.maxSurge", vt,
			       "%s", "may not be set when maxUnavailable is non-zero");
		free(vt);
	} else if (!has_unav && !has_surge) {
		kp_errlist_add(errs, KP_FIELD_REQUIRED, "spec.updateStrategy.rollingUpdate.maxUnavailable",
			       NULL, "%s", "cannot be 0 when maxSurge is 0");
	}
}

/* ValidateStatefulSetSpec's rules for ordinals, maxUnavailable and the claim retention policy. */
static void validate_sts_fields(const json_t *obj, struct kp_errlist *errs)
{
	nonneg(obj, "spec.ordinals.start", errs);
	json_t *mu = kp_obj_get(obj, "spec.updateStrategy.rollingUpdate.maxUnavailable");
	if (mu && !json_is_null(mu) && intstr_value(mu) == 0) {
		char *vt = jtext(mu);
		kp_errlist_add(errs, KP_FIELD_INVALID, "spec.updateStrategy.rollingUpdate.maxUnavailable",
			       vt, "%s", "cannot be 0");
		free(vt);
	}
	static const char *const when[] = { "whenDeleted", "whenScaled" };
	for (size_t i = 0; i < 2; i++) {
		char f[96];
		snprintf(f, sizeof(f), "spec.persistentVolumeClaimRetentionPolicy.%s", when[i]);
		const char *v = kp_obj_str(obj, f);
		if (v && strcmp(v, "Retain") && strcmp(v, "Delete")) {
			char *vt = jtext(kp_obj_get(obj, f));
			kp_errlist_add(errs, KP_FIELD_NOT_SUPPORTED, f, vt, "%s",
				       "supported values: \"Delete\", \"Retain\"");
			free(vt);
		}
	}
}

static void validate_workload(const struct kp_resource *res, const json_t *obj,
			      struct kp_errlist *errs)
{
	const char *tpath = is(res, "cronjobs") ? "spec.jobTemplate.spec.template" : "spec.template";
	nonneg(obj, "spec.replicas", errs);
	if (is(res, "statefulsets"))
		validate_sts_fields(obj, errs);
	if (is(res, "daemonsets"))
		validate_ds_strategy(obj, errs);
	if (is(res, "jobs") || is(res, "cronjobs")) {
		char f[128];
		snprintf(f, sizeof(f), "%s.spec.restartPolicy", tpath);
		const char *rp = kp_obj_str(obj, f);
		if (!rp || (strcmp(rp, "OnFailure") && strcmp(rp, "Never"))) {
			json_t *v = kp_obj_get(obj, f);
			char *vt = v ? jtext(v) : NULL;
			kp_errlist_add(errs, rp ? KP_FIELD_NOT_SUPPORTED : KP_FIELD_REQUIRED, f, vt,
				       "%s", "supported values: \"OnFailure\", \"Never\"");
			free(vt);
		}
		nonneg(obj, "spec.parallelism", errs);
		nonneg(obj, "spec.completions", errs);
		nonneg(obj, "spec.backoffLimit", errs);
		if (is(res, "jobs"))
			validate_job_policies(obj, errs);
		if (is(res, "cronjobs") && !kp_obj_str(obj, "spec.schedule"))
			kp_errlist_add(errs, KP_FIELD_REQUIRED, "spec.schedule", NULL, "%s", "");
	}
	if (!is(res, "jobs") && !is(res, "cronjobs")) {
		json_t *sel = kp_obj_get(obj, "spec.selector");
		if (!sel || json_is_null(sel)) {
			kp_errlist_add(errs, KP_FIELD_REQUIRED, "spec.selector", NULL, "%s", "");
		} else {
			struct kp_label_selector *ls = NULL;
			char *err = NULL;
			if (kp_label_selector_from_json(sel, &ls, &err)) {
				char *vt = jtext(sel);
				kp_errlist_add(errs, KP_FIELD_INVALID, "spec.selector", vt, "%s",
					       err ? err : "invalid selector");
				free(vt);
				free(err);
			} else if (kp_label_selector_is_everything(ls)) {
				char *vt = jtext(sel);
				kp_errlist_add(errs, KP_FIELD_INVALID, "spec.selector", vt,
					       "empty selector is invalid for %s", res->singular);
				free(vt);
			} else {
				json_t *labels = kp_obj_get(obj, "spec.template.metadata.labels");
				if (!kp_label_selector_matches(ls, labels)) {
					char *vt = labels ? jtext(labels) : strdup("{}");
					kp_errlist_add(errs, KP_FIELD_INVALID,
						       "spec.template.metadata.labels", vt, "%s",
						       "`selector` does not match template `labels`");
					free(vt);
				}
			}
			if (ls)
				kp_label_selector_free(ls);
		}
	}
	char sp[128];
	snprintf(sp, sizeof(sp), "%s.spec", tpath);
	json_t *tspec = kp_obj_get(obj, sp);
	if (!tspec)
		kp_errlist_add(errs, KP_FIELD_REQUIRED, sp, NULL, "%s", "");
	else
		validate_podspec(tspec, sp, errs);
}

static void validate_service(const json_t *obj, struct kp_errlist *errs)
{
	const char *type = kp_obj_str(obj, "spec.type");
	const char *cip = kp_obj_str(obj, "spec.clusterIP");
	if (type && strcmp(type, "ClusterIP") && strcmp(type, "NodePort") &&
	    strcmp(type, "LoadBalancer") && strcmp(type, "ExternalName")) {
		char *vt = jtext(kp_obj_get(obj, "spec.type"));
		kp_errlist_add(errs, KP_FIELD_NOT_SUPPORTED, "spec.type", vt, "%s",
			       "supported values: \"ClusterIP\", \"ExternalName\", "
			       "\"LoadBalancer\", \"NodePort\"");
		free(vt);
	}
	json_t *ports = kp_obj_get(obj, "spec.ports");
	bool headless = cip && !strcmp(cip, "None");
	if ((!json_is_array(ports) || !json_array_size(ports)) && !headless &&
	    !(type && !strcmp(type, "ExternalName")))
		kp_errlist_add(errs, KP_FIELD_REQUIRED, "spec.ports", NULL, "%s", "");
	size_t i;
	json_t *p;
	json_array_foreach (ports, i, p) {
		json_t *port = json_object_get(p, "port");
		char f[64];
		snprintf(f, sizeof(f), "spec.ports[%zu].port", i);
		if (!port)
			kp_errlist_add(errs, KP_FIELD_REQUIRED, f, NULL, "%s", "");
		else if (json_integer_value(port) < 1 || json_integer_value(port) > 65535) {
			char *vt = jtext(port);
			kp_errlist_add(errs, KP_FIELD_INVALID, f, vt, "%s",
				       "must be between 1 and 65535, inclusive");
			free(vt);
		}
	}
}

static void validate_node(const json_t *obj, struct kp_errlist *errs)
{
	json_t *taints = kp_obj_get(obj, "spec.taints");
	size_t i;
	json_t *t;
	json_array_foreach (taints, i, t) {
		char f[64];
		const char *eff = kp_obj_str(t, "effect");
		snprintf(f, sizeof(f), "spec.taints[%zu].effect", i);
		if (!eff || !*eff)
			kp_errlist_add(errs, KP_FIELD_REQUIRED, f, NULL, "%s", "");
		else if (strcmp(eff, "NoSchedule") && strcmp(eff, "PreferNoSchedule") &&
			 strcmp(eff, "NoExecute")) {
			char *vt = jtext(json_object_get(t, "effect"));
			kp_errlist_add(errs, KP_FIELD_NOT_SUPPORTED, f, vt, "%s",
				       "supported values: \"NoSchedule\", \"PreferNoSchedule\", "
				       "\"NoExecute\"");
			free(vt);
		}
		const char *key = kp_obj_str(t, "key");
		snprintf(f, sizeof(f), "spec.taints[%zu].key", i);
		if (!key || !*key)
			kp_errlist_add(errs, KP_FIELD_REQUIRED, f, NULL, "%s", "");
		else if (kp_check_qualified_name(key)) {
			char *vt = jtext(json_object_get(t, "key"));
			kp_errlist_add(errs, KP_FIELD_INVALID, f, vt, "%s",
				       kp_check_qualified_name(key));
			free(vt);
		}
	}
}

static void validate_configmap(const json_t *obj, struct kp_errlist *errs)
{
	static const char *const maps[] = { "data", "binaryData", "stringData" };
	for (size_t m = 0; m < 3; m++) {
		json_t *d = json_object_get(obj, maps[m]);
		const char *k;
		json_t *v;
		json_object_foreach (d, k, v) {
			bool ok = *k && strlen(k) <= 253;
			for (const char *p = k; *p && ok; p++)
				ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
				     (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.';
			if (!ok) {
				char f[320], vt[300];
				snprintf(f, sizeof(f), "%s[%s]", maps[m], k);
				snprintf(vt, sizeof(vt), "\"%.250s\"", k);
				kp_errlist_add(errs, KP_FIELD_INVALID, f, vt, "%s",
					       "a valid config key must consist of alphanumeric "
					       "characters, '-', '_' or '.' (e.g. 'key.name',  or "
					       "'KEY_NAME',  or 'key-name', regex used for validation "
					       "is '[-._a-zA-Z0-9]+')");
			}
		}
	}
}

/* ValidateNonSpecialIP for an IPv4 address in network order bytes. */
static const char *special_ipv4(const unsigned char *b)
{
	if (!b[0] && !b[1] && !b[2] && !b[3])
		return "may not be unspecified (0.0.0.0)";
	if (b[0] == 127)
		return "may not be in the loopback range (127.0.0.0/8, ::1/128)";
	if (b[0] == 169 && b[1] == 254)
		return "may not be in the link-local range (169.254.0.0/16, fe80::/10)";
	if (b[0] == 224 && !b[1] && !b[2])
		return "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)";
	return NULL;
}

static void validate_endpointslice(const json_t *obj, const json_t *old,
				   struct kp_errlist *errs)
{
	char f[128];
	const char *at = kp_obj_str(obj, "addressType");
	bool v4 = false, v6 = false, fqdn = false;
	if (!at || !*at) {
		kp_errlist_add(errs, KP_FIELD_REQUIRED, "addressType", NULL, "%s", "");
	} else if (!(v4 = !strcmp(at, "IPv4")) && !(v6 = !strcmp(at, "IPv6")) &&
		   !(fqdn = !strcmp(at, "FQDN"))) {
		char *vt = jtext(json_object_get(obj, "addressType"));
		kp_errlist_add(errs, KP_FIELD_NOT_SUPPORTED, "addressType", vt, "%s",
			       "supported values: \"FQDN\", \"IPv4\", \"IPv6\"");
		free(vt);
	}
	const char *oat = old ? kp_obj_str(old, "addressType") : NULL;
	if (oat && (!at || strcmp(at, oat))) {
		char *vt = jtext(json_object_get(obj, "addressType"));
		kp_errlist_add(errs, KP_FIELD_INVALID, "addressType", vt, "%s",
			       "field is immutable");
		free(vt);
	}
	json_t *eps = json_object_get(obj, "endpoints");
	if (json_array_size(eps) > 1000) {
		kp_errlist_add(errs, KP_FIELD_INVALID, "endpoints", NULL,
			       "Too many: %zu: must have at most 1000 items", json_array_size(eps));
		eps = NULL;
	}
	size_t i, j;
	json_t *e, *a;
	json_array_foreach (eps, i, e) {
		json_t *addrs = json_object_get(e, "addresses");
		snprintf(f, sizeof(f), "endpoints[%zu].addresses", i);
		if (!json_array_size(addrs))
			kp_errlist_add(errs, KP_FIELD_REQUIRED, f, NULL, "%s",
				       "must contain at least 1 address");
		else if (json_array_size(addrs) > 100)
			kp_errlist_add(errs, KP_FIELD_INVALID, f, NULL,
				       "Too many: %zu: must have at most 100 items",
				       json_array_size(addrs));
		json_array_foreach (addrs, j, a) {
			const char *ip = json_string_value(a);
			const char *bad = NULL;
			unsigned char buf[16];
			if (!ip)
				continue;
			if (v4)
				bad = inet_pton(AF_INET, ip, buf) != 1 ? "must be a valid IPv4 address" :
									   special_ipv4(buf);
			else if (v6)
				bad = inet_pton(AF_INET6, ip, buf) != 1 || strchr(ip, '.') ?
					      "must be a valid IPv6 address" :
					      NULL;
			else if (fqdn)
				bad = kp_check_dns1123_subdomain(ip) ? kp_check_dns1123_subdomain(ip) :
				      !strchr(ip, '.') ? "should be a domain with at least two segments separated by dots" :
							 NULL;
			if (bad) {
				char af[160];
				snprintf(af, sizeof(af), "%s[%zu]", f, j);
				char *vt = jtext(a);
				kp_errlist_add(errs, KP_FIELD_INVALID, af, vt, "%s", bad);
				free(vt);
			}
		}
		const char *host = kp_obj_str(e, "hostname");
		if (host && kp_check_dns1123_label(host)) {
			snprintf(f, sizeof(f), "endpoints[%zu].hostname", i);
			char *vt = jtext(json_object_get(e, "hostname"));
			kp_errlist_add(errs, KP_FIELD_INVALID, f, vt, "%s",
				       kp_check_dns1123_label(host));
			free(vt);
		}
	}
	json_t *ports = json_object_get(obj, "ports");
	if (json_array_size(ports) > 100) {
		kp_errlist_add(errs, KP_FIELD_INVALID, "ports", NULL,
			       "Too many: %zu: must have at most 100 items", json_array_size(ports));
		return;
	}
	json_t *names = json_object();
	json_t *p;
	json_array_foreach (ports, i, p) {
		const char *name = kp_obj_str(p, "name");
		name = name ? name : "";
		snprintf(f, sizeof(f), "ports[%zu].name", i);
		if (*name && kp_check_dns1123_label(name)) {
			char *vt = jtext(json_object_get(p, "name"));
			kp_errlist_add(errs, KP_FIELD_INVALID, f, vt, "%s", kp_check_dns1123_label(name));
			free(vt);
		}
		if (json_object_get(names, name)) {
			json_t *nv = json_string(name);
			char *vt = jtext(nv);
			kp_errlist_add(errs, KP_FIELD_DUPLICATE, f, vt, "%s", "");
			free(vt);
			json_decref(nv);
		}
		json_object_set_new(names, name, json_true());
		json_t *port = json_object_get(p, "port");
		if (json_is_integer(port) &&
		    (json_integer_value(port) < 0 || json_integer_value(port) > 65535)) {
			snprintf(f, sizeof(f), "ports[%zu].port", i);
			char *vt = jtext(port);
			kp_errlist_add(errs, KP_FIELD_INVALID, f, vt, "%s",
				       "must be between 0 and 65535, inclusive");
			free(vt);
		}
		const char *proto = kp_obj_str(p, "protocol");
		snprintf(f, sizeof(f), "ports[%zu].protocol", i);
		if (!proto)
			kp_errlist_add(errs, KP_FIELD_REQUIRED, f, NULL, "%s", "");
		else if (strcmp(proto, "TCP") && strcmp(proto, "UDP") && strcmp(proto, "SCTP")) {
			char *vt = jtext(json_object_get(p, "protocol"));
			kp_errlist_add(errs, KP_FIELD_NOT_SUPPORTED, f, vt, "%s",
				       "supported values: \"SCTP\", \"TCP\", \"UDP\"");
			free(vt);
		}
	}
	json_decref(names);
}

void kp__kinds_validate(const struct kp_resource *res, const json_t *obj, const json_t *old,
			struct kp_errlist *errs)
{
	if (is(res, "pods")) {
		json_t *spec = json_object_get(obj, "spec");
		if (!spec)
			kp_errlist_add(errs, KP_FIELD_REQUIRED, "spec", NULL, "%s", "");
		else
			validate_podspec(spec, "spec", errs);
		if (old) {
			const char *on = kp_obj_str(old, "spec.nodeName");
			const char *nn = kp_obj_str(obj, "spec.nodeName");
			if (on && *on && (!nn || strcmp(on, nn))) {
				char *vt = jtext(kp_obj_get(obj, "spec.nodeName"));
				kp_errlist_add(errs, KP_FIELD_FORBIDDEN, "spec.nodeName", NULL, "%s",
					       "pod updates may not change spec.nodeName once set");
				free(vt);
			}
		}
	} else if (podspec_path(res)) {
		validate_workload(res, obj, errs);
	} else if (is(res, "services")) {
		validate_service(obj, errs);
	} else if (is(res, "nodes")) {
		validate_node(obj, errs);
	} else if (is(res, "configmaps") || is(res, "secrets")) {
		validate_configmap(obj, errs);
	} else if (is(res, "priorityclasses")) {
		if (!json_object_get(obj, "value"))
			kp_errlist_add(errs, KP_FIELD_REQUIRED, "value", NULL, "%s", "");
	} else if (is(res, "endpointslices")) {
		validate_endpointslice(obj, old, errs);
	} else if (is(res, "horizontalpodautoscalers")) {
		if (!kp_obj_get(obj, "spec.maxReplicas"))
			kp_errlist_add(errs, KP_FIELD_REQUIRED, "spec.maxReplicas", NULL, "%s", "");
		if (!kp_obj_get(obj, "spec.scaleTargetRef"))
			kp_errlist_add(errs, KP_FIELD_REQUIRED, "spec.scaleTargetRef", NULL, "%s",
				       "");
	}
}

/* ---- autoscaling/v1 <-> autoscaling/v2 HorizontalPodAutoscaler ------------------ */

/*
 * What v1 cannot say travels in annotations, as kube-apiserver does for
 * conditions and behavior. Metrics other than the CPU utilization target
 * are kept in their autoscaling/v2 shape under kplane's own names (the
 * upstream alpha annotations hold the older MetricSpec shape).
 */
#define HPA_ANN_CONDITIONS "autoscaling.alpha.kubernetes.io/conditions"
#define HPA_ANN_BEHAVIOR "autoscaling.alpha.kubernetes.io/behavior"
#define HPA_ANN_METRICS "autoscaling.kplane.io/v2-metrics"
#define HPA_ANN_CURRENT "autoscaling.kplane.io/v2-current-metrics"

static bool is_cpu_resource(const json_t *m)
{
	const char *t = json_string_value(json_object_get(m, "type"));
	const char *n = json_string_value(kp_obj_get(m, "resource.name"));
	return t && n && !strcmp(t, "Resource") && !strcmp(n, "cpu");
}

/* Moves obj[key] (stolen from obj) into annotation name as compact JSON. */
static void hpa_stash(json_t *obj, json_t *from, const char *key, const char *name)
{
	json_t *v = json_object_get(from, key);
	if (!v)
		return;
	if (!json_is_null(v) && !(json_is_array(v) && !json_array_size(v))) {
		char *s = json_dumps(v, JSON_COMPACT);
		if (s) {
			json_t *md = ensure_obj(obj, "metadata");
			json_object_set_new(ensure_obj(md, "annotations"), name, json_string(s));
			free(s);
		}
	}
	json_object_del(from, key);
}

/* Takes annotation name out of obj: its parsed JSON (new reference) or NULL. */
static json_t *hpa_unstash(json_t *obj, const char *name)
{
	json_t *ann = kp_obj_get(obj, "metadata.annotations");
	const char *s = json_string_value(json_object_get(ann, name));
	if (!s)
		return NULL;
	json_t *v = json_loads(s, 0, NULL);
	json_object_del(ann, name);
	if (!json_object_size(ann))
		json_object_del(json_object_get(obj, "metadata"), "annotations");
	return v;
}

void kp__hpa_to_v1(json_t *obj)
{
	json_object_set_new(obj, "apiVersion", json_string("autoscaling/v1"));
	json_t *spec = json_object_get(obj, "spec");
	if (json_is_object(spec)) {
		json_t *rest = json_array(), *m;
		size_t i;
		bool cpu = false;
		json_array_foreach (json_object_get(spec, "metrics"), i, m) {
			json_t *pct = kp_obj_get(m, "resource.target.averageUtilization");
			const char *tt = kp_obj_str(m, "resource.target.type");
			if (!cpu && is_cpu_resource(m) && json_is_integer(pct) && tt &&
			    !strcmp(tt, "Utilization") &&
			    json_object_size(kp_obj_get(m, "resource.target")) == 2) {
				json_object_set(spec, "targetCPUUtilizationPercentage", pct);
				cpu = true;
			} else {
				json_array_append(rest, m);
			}
		}
		json_object_set_new(spec, "v2-metrics", rest);
		hpa_stash(obj, spec, "v2-metrics", HPA_ANN_METRICS);
		json_object_del(spec, "metrics");
		hpa_stash(obj, spec, "behavior", HPA_ANN_BEHAVIOR);
	}
	json_t *st = json_object_get(obj, "status");
	if (json_is_object(st)) {
		json_t *rest = json_array(), *m;
		size_t i;
		bool cpu = false;
		json_array_foreach (json_object_get(st, "currentMetrics"), i, m) {
			json_t *pct = kp_obj_get(m, "resource.current.averageUtilization");
			if (!cpu && is_cpu_resource(m) && json_is_integer(pct)) {
				json_object_set(st, "currentCPUUtilizationPercentage", pct);
				cpu = true;
			} else {
				json_array_append(rest, m);
			}
		}
		json_object_set_new(st, "v2-current", rest);
		hpa_stash(obj, st, "v2-current", HPA_ANN_CURRENT);
		json_object_del(st, "currentMetrics");
		hpa_stash(obj, st, "conditions", HPA_ANN_CONDITIONS);
	}
}

void kp__hpa_to_v2(json_t *obj)
{
	json_object_set_new(obj, "apiVersion", json_string("autoscaling/v2"));
	json_t *extra = hpa_unstash(obj, HPA_ANN_METRICS);
	json_t *behavior = hpa_unstash(obj, HPA_ANN_BEHAVIOR);
	json_t *spec = json_object_get(obj, "spec");
	if (json_is_object(spec)) {
		json_t *metrics = json_array();
		json_t *pct = json_object_get(spec, "targetCPUUtilizationPercentage");
		if (pct)
			json_array_append_new(
				metrics, json_pack("{s:s, s:{s:s, s:{s:s, s:O}}}", "type", "Resource",
						   "resource", "name", "cpu", "target", "type",
						   "Utilization", "averageUtilization", pct));
		json_object_del(spec, "targetCPUUtilizationPercentage");
		if (json_is_array(extra))
			json_array_extend(metrics, extra);
		if (json_array_size(metrics))
			json_object_set(spec, "metrics", metrics);
		json_decref(metrics);
		if (behavior)
			json_object_set(spec, "behavior", behavior);
	}
	json_decref(extra);
	json_decref(behavior);
	extra = hpa_unstash(obj, HPA_ANN_CURRENT);
	json_t *conds = hpa_unstash(obj, HPA_ANN_CONDITIONS);
	json_t *st = json_object_get(obj, "status");
	if (json_is_object(st)) {
		json_t *metrics = json_array();
		json_t *pct = json_object_get(st, "currentCPUUtilizationPercentage");
		if (pct)
			json_array_append_new(metrics,
					      json_pack("{s:s, s:{s:s, s:{s:O}}}", "type", "Resource",
							"resource", "name", "cpu", "current",
							"averageUtilization", pct));
		json_object_del(st, "currentCPUUtilizationPercentage");
		if (json_is_array(extra))
			json_array_extend(metrics, extra);
		if (json_array_size(metrics))
			json_object_set(st, "currentMetrics", metrics);
		json_decref(metrics);
		if (json_is_array(conds))
			json_object_set(st, "conditions", conds);
	}
	json_decref(extra);
	json_decref(conds);
}

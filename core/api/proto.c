/*
 * proto.c - decodes Kubernetes protobuf request bodies
 * (application/vnd.kubernetes.protobuf), which kubectl's typed clients send
 * for the imperative generators (kubectl create deployment|job|cronjob|
 * service|configmap|secret|namespace|quota|priorityclass|serviceaccount|
 * role|rolebinding|clusterrole|clusterrolebinding|poddisruptionbudget|
 * ingress). kubectl always offers JSON in Accept, so replies stay JSON and
 * no encoder is needed.
 *
 * The envelope is "k8s\0" + runtime.Unknown{typeMeta=1{apiVersion=1,
 * kind=2}, raw=2, contentEncoding=3, contentType=4}; raw is the typed
 * message. The tables below are indexed by field number; the numbers,
 * names and types are those of k8s.io/api/<group>/<version>/generated.proto
 * and apimachinery's meta/v1, intstr and resource generated.proto (as
 * compiled into kubectl 1.32). A field number a table does not list is
 * skipped by its wire type (statuses, probes, affinity, ... are not
 * decoded), so a newer client's additions do not fail the request.
 *
 * Go's protobuf encoder writes every non-pointer field, zero or not, while
 * the JSON encoding omits zero values (omitempty); zero scalars are
 * therefore left out, except for the fields marked KEEP0: Go pointers
 * (replicas, backoffLimit, automountServiceAccountToken, ...) and the few
 * fields without omitempty, where a zero is something the client said.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kplane/kplane.h>

#include "core/api/internal.h"

enum pt {
	P_STR = 1,
	P_BYTES,    /* base64 in JSON */
	P_I32,
	P_I64,
	P_BOOL,
	P_MSG,
	P_INLINE,   /* embedded Go struct: its fields land in the parent object */
	P_MSGS,     /* repeated message */
	P_STRS,     /* repeated string */
	P_MAP_STR,  /* map<string, string> */
	P_MAP_BYTES,
	P_MAP_QTY,  /* map<string, resource.Quantity> */
	P_TIME,     /* meta/v1 Time {seconds=1, nanos=2} */
	P_INTSTR,   /* intstr.IntOrString {type=1, intVal=2, strVal=3} */
	P_QTY,      /* resource.Quantity {string=1} */
};

#define KEEP0 1

struct pmsg;
struct pfield {
	const char *name;
	unsigned char type, flags;
	const struct pmsg *sub;
};
struct pmsg {
	unsigned n; /* entries in f, indexed by field number */
	const struct pfield *f;
};

#define MSG(id, ...)                                                                        \
	static const struct pfield id##_f[] = { __VA_ARGS__ };                               \
	static const struct pmsg id = { sizeof(id##_f) / sizeof(id##_f[0]), id##_f }
#define F(num, nm, ty) [num] = { nm, ty, 0, NULL }
#define K(num, nm, ty) [num] = { nm, ty, KEEP0, NULL }
#define M(num, nm, ty, s) [num] = { nm, ty, 0, &s }

/* ---- apimachinery meta/v1 -------------------------------------------------------- */

MSG(owner_ref, F(1, "kind", P_STR), F(3, "name", P_STR), F(4, "uid", P_STR),
    F(5, "apiVersion", P_STR), K(6, "controller", P_BOOL), K(7, "blockOwnerDeletion", P_BOOL));
MSG(object_meta, F(1, "name", P_STR), F(2, "generateName", P_STR), F(3, "namespace", P_STR),
    F(4, "selfLink", P_STR), F(5, "uid", P_STR), F(6, "resourceVersion", P_STR),
    F(7, "generation", P_I64), F(8, "creationTimestamp", P_TIME),
    F(9, "deletionTimestamp", P_TIME), K(10, "deletionGracePeriodSeconds", P_I64),
    F(11, "labels", P_MAP_STR), F(12, "annotations", P_MAP_STR),
    M(13, "ownerReferences", P_MSGS, owner_ref), F(14, "finalizers", P_STRS));
MSG(selector_req, F(1, "key", P_STR), F(2, "operator", P_STR), F(3, "values", P_STRS));
MSG(label_selector, F(1, "matchLabels", P_MAP_STR),
    M(2, "matchExpressions", P_MSGS, selector_req));

/* ---- core/v1: pods ----------------------------------------------------------------- */

MSG(local_ref, F(1, "name", P_STR));
MSG(object_ref, F(1, "kind", P_STR), F(2, "namespace", P_STR), F(3, "name", P_STR),
    F(4, "uid", P_STR), F(5, "apiVersion", P_STR), F(6, "resourceVersion", P_STR),
    F(7, "fieldPath", P_STR));
MSG(container_port, F(1, "name", P_STR), F(2, "hostPort", P_I32), K(3, "containerPort", P_I32),
    F(4, "protocol", P_STR), F(5, "hostIP", P_STR));
MSG(field_sel, F(1, "apiVersion", P_STR), F(2, "fieldPath", P_STR));
MSG(resource_sel, F(1, "containerName", P_STR), F(2, "resource", P_STR),
    F(3, "divisor", P_QTY));
MSG(key_sel, M(1, "localObjectReference", P_INLINE, local_ref), F(2, "key", P_STR),
    K(3, "optional", P_BOOL));
MSG(env_source, M(1, "fieldRef", P_MSG, field_sel), M(2, "resourceFieldRef", P_MSG, resource_sel),
    M(3, "configMapKeyRef", P_MSG, key_sel), M(4, "secretKeyRef", P_MSG, key_sel));
MSG(env_var, F(1, "name", P_STR), F(2, "value", P_STR), M(3, "valueFrom", P_MSG, env_source));
MSG(env_from_ref, M(1, "localObjectReference", P_INLINE, local_ref), K(2, "optional", P_BOOL));
MSG(env_from, F(1, "prefix", P_STR), M(2, "configMapRef", P_MSG, env_from_ref),
    M(3, "secretRef", P_MSG, env_from_ref));
MSG(resource_claim, F(1, "name", P_STR), F(2, "request", P_STR));
MSG(resources, F(1, "limits", P_MAP_QTY), F(2, "requests", P_MAP_QTY),
    M(3, "claims", P_MSGS, resource_claim));
MSG(volume_mount, F(1, "name", P_STR), F(2, "readOnly", P_BOOL), F(3, "mountPath", P_STR),
    F(4, "subPath", P_STR), K(5, "mountPropagation", P_STR), F(6, "subPathExpr", P_STR),
    K(7, "recursiveReadOnly", P_STR));
MSG(container, F(1, "name", P_STR), F(2, "image", P_STR), F(3, "command", P_STRS),
    F(4, "args", P_STRS), F(5, "workingDir", P_STR), M(6, "ports", P_MSGS, container_port),
    M(7, "env", P_MSGS, env_var), M(8, "resources", P_MSG, resources),
    M(9, "volumeMounts", P_MSGS, volume_mount), F(13, "terminationMessagePath", P_STR),
    F(14, "imagePullPolicy", P_STR), F(16, "stdin", P_BOOL), F(17, "stdinOnce", P_BOOL),
    F(18, "tty", P_BOOL), M(19, "envFrom", P_MSGS, env_from),
    F(20, "terminationMessagePolicy", P_STR), K(24, "restartPolicy", P_STR));
MSG(key_to_path, F(1, "key", P_STR), F(2, "path", P_STR), K(3, "mode", P_I32));
MSG(empty_dir, F(1, "medium", P_STR), F(2, "sizeLimit", P_QTY));
MSG(secret_vol, F(1, "secretName", P_STR), M(2, "items", P_MSGS, key_to_path),
    K(3, "defaultMode", P_I32), K(4, "optional", P_BOOL));
MSG(configmap_vol, M(1, "localObjectReference", P_INLINE, local_ref),
    M(2, "items", P_MSGS, key_to_path), K(3, "defaultMode", P_I32), K(4, "optional", P_BOOL));
MSG(host_path, F(1, "path", P_STR), K(2, "type", P_STR));
MSG(pvc_vol, F(1, "claimName", P_STR), F(2, "readOnly", P_BOOL));
MSG(volume_source, M(1, "hostPath", P_MSG, host_path), M(2, "emptyDir", P_MSG, empty_dir),
    M(6, "secret", P_MSG, secret_vol), M(10, "persistentVolumeClaim", P_MSG, pvc_vol),
    M(19, "configMap", P_MSG, configmap_vol));
MSG(volume, F(1, "name", P_STR), M(2, "volumeSource", P_INLINE, volume_source));
MSG(toleration, F(1, "key", P_STR), F(2, "operator", P_STR), F(3, "value", P_STR),
    F(4, "effect", P_STR), K(5, "tolerationSeconds", P_I64));
MSG(pod_spec, M(1, "volumes", P_MSGS, volume), M(2, "containers", P_MSGS, container),
    F(3, "restartPolicy", P_STR), K(4, "terminationGracePeriodSeconds", P_I64),
    K(5, "activeDeadlineSeconds", P_I64), F(6, "dnsPolicy", P_STR),
    F(7, "nodeSelector", P_MAP_STR), F(8, "serviceAccountName", P_STR),
    F(9, "serviceAccount", P_STR), F(10, "nodeName", P_STR), F(11, "hostNetwork", P_BOOL),
    F(12, "hostPID", P_BOOL), F(13, "hostIPC", P_BOOL),
    M(15, "imagePullSecrets", P_MSGS, local_ref), F(16, "hostname", P_STR),
    F(17, "subdomain", P_STR), F(19, "schedulerName", P_STR),
    M(20, "initContainers", P_MSGS, container), K(21, "automountServiceAccountToken", P_BOOL),
    M(22, "tolerations", P_MSGS, toleration), F(24, "priorityClassName", P_STR),
    K(25, "priority", P_I32), K(27, "shareProcessNamespace", P_BOOL),
    K(29, "runtimeClassName", P_STR), K(30, "enableServiceLinks", P_BOOL),
    K(31, "preemptionPolicy", P_STR), K(35, "setHostnameAsFQDN", P_BOOL),
    K(37, "hostUsers", P_BOOL), M(40, "resources", P_MSG, resources));
MSG(pod_template, M(1, "metadata", P_MSG, object_meta), M(2, "spec", P_MSG, pod_spec));

/* ---- apps/v1, batch/v1 ------------------------------------------------------------- */

MSG(rolling_update, F(1, "maxUnavailable", P_INTSTR), F(2, "maxSurge", P_INTSTR));
MSG(deploy_strategy, F(1, "type", P_STR), M(2, "rollingUpdate", P_MSG, rolling_update));
MSG(deploy_spec, K(1, "replicas", P_I32), M(2, "selector", P_MSG, label_selector),
    M(3, "template", P_MSG, pod_template), M(4, "strategy", P_MSG, deploy_strategy),
    F(5, "minReadySeconds", P_I32), K(6, "revisionHistoryLimit", P_I32), F(7, "paused", P_BOOL),
    K(9, "progressDeadlineSeconds", P_I32));
MSG(job_spec, K(1, "parallelism", P_I32), K(2, "completions", P_I32),
    K(3, "activeDeadlineSeconds", P_I64), M(4, "selector", P_MSG, label_selector),
    K(5, "manualSelector", P_BOOL), M(6, "template", P_MSG, pod_template),
    K(7, "backoffLimit", P_I32), K(8, "ttlSecondsAfterFinished", P_I32),
    K(9, "completionMode", P_STR), K(10, "suspend", P_BOOL), K(12, "backoffLimitPerIndex", P_I32),
    K(13, "maxFailedIndexes", P_I32), K(14, "podReplacementPolicy", P_STR),
    K(15, "managedBy", P_STR));
MSG(job_template, M(1, "metadata", P_MSG, object_meta), M(2, "spec", P_MSG, job_spec));
MSG(cronjob_spec, F(1, "schedule", P_STR), K(2, "startingDeadlineSeconds", P_I64),
    F(3, "concurrencyPolicy", P_STR), K(4, "suspend", P_BOOL),
    M(5, "jobTemplate", P_MSG, job_template), K(6, "successfulJobsHistoryLimit", P_I32),
    K(7, "failedJobsHistoryLimit", P_I32), K(8, "timeZone", P_STR));

/* ---- core/v1: services, quotas, ... -------------------------------------------------- */

MSG(service_port, F(1, "name", P_STR), F(2, "protocol", P_STR), K(3, "port", P_I32),
    F(4, "targetPort", P_INTSTR), F(5, "nodePort", P_I32), K(6, "appProtocol", P_STR));
MSG(client_ip, K(1, "timeoutSeconds", P_I32));
MSG(affinity_config, M(1, "clientIP", P_MSG, client_ip));
MSG(service_spec, M(1, "ports", P_MSGS, service_port), F(2, "selector", P_MAP_STR),
    F(3, "clusterIP", P_STR), F(4, "type", P_STR), F(5, "externalIPs", P_STRS),
    F(7, "sessionAffinity", P_STR), F(8, "loadBalancerIP", P_STR),
    F(9, "loadBalancerSourceRanges", P_STRS), F(10, "externalName", P_STR),
    F(11, "externalTrafficPolicy", P_STR), F(12, "healthCheckNodePort", P_I32),
    F(13, "publishNotReadyAddresses", P_BOOL),
    M(14, "sessionAffinityConfig", P_MSG, affinity_config), K(17, "ipFamilyPolicy", P_STR),
    F(18, "clusterIPs", P_STRS), F(19, "ipFamilies", P_STRS),
    K(20, "allocateLoadBalancerNodePorts", P_BOOL), K(21, "loadBalancerClass", P_STR),
    K(22, "internalTrafficPolicy", P_STR), K(23, "trafficDistribution", P_STR));
MSG(scoped_req, F(1, "scopeName", P_STR), F(2, "operator", P_STR), F(3, "values", P_STRS));
MSG(scope_selector, M(1, "matchExpressions", P_MSGS, scoped_req));
MSG(quota_spec, F(1, "hard", P_MAP_QTY), F(2, "scopes", P_STRS),
    M(3, "scopeSelector", P_MSG, scope_selector));
MSG(namespace_spec, F(1, "finalizers", P_STRS));
MSG(namespace_status, F(1, "phase", P_STR));

/* ---- rbac, policy, networking, scheduling ------------------------------------------ */

MSG(policy_rule, F(1, "verbs", P_STRS), F(2, "apiGroups", P_STRS), F(3, "resources", P_STRS),
    F(4, "resourceNames", P_STRS), F(5, "nonResourceURLs", P_STRS));
MSG(aggregation_rule, M(1, "clusterRoleSelectors", P_MSGS, label_selector));
MSG(subject, F(1, "kind", P_STR), F(2, "apiGroup", P_STR), F(3, "name", P_STR),
    F(4, "namespace", P_STR));
MSG(role_ref, F(1, "apiGroup", P_STR), F(2, "kind", P_STR), F(3, "name", P_STR));
MSG(pdb_spec, F(1, "minAvailable", P_INTSTR), M(2, "selector", P_MSG, label_selector),
    F(3, "maxUnavailable", P_INTSTR), K(4, "unhealthyPodEvictionPolicy", P_STR));
MSG(typed_local_ref, K(1, "apiGroup", P_STR), F(2, "kind", P_STR), F(3, "name", P_STR));
MSG(backend_port, F(1, "name", P_STR), F(2, "number", P_I32));
MSG(service_backend, F(1, "name", P_STR), M(2, "port", P_MSG, backend_port));
MSG(ingress_backend, M(3, "resource", P_MSG, typed_local_ref),
    M(4, "service", P_MSG, service_backend));
MSG(http_path, F(1, "path", P_STR), M(2, "backend", P_MSG, ingress_backend),
    K(3, "pathType", P_STR));
MSG(http_rule, M(1, "paths", P_MSGS, http_path));
MSG(rule_value, M(1, "http", P_MSG, http_rule));
MSG(ingress_rule, F(1, "host", P_STR), M(2, "ingressRuleValue", P_INLINE, rule_value));
MSG(ingress_tls, F(1, "hosts", P_STRS), F(2, "secretName", P_STR));
MSG(ingress_spec, M(1, "defaultBackend", P_MSG, ingress_backend),
    M(2, "tls", P_MSGS, ingress_tls), M(3, "rules", P_MSGS, ingress_rule),
    K(4, "ingressClassName", P_STR));

/* ---- top-level kinds ----------------------------------------------------------------- */

MSG(k_namespace, M(1, "metadata", P_MSG, object_meta), M(2, "spec", P_MSG, namespace_spec),
    M(3, "status", P_MSG, namespace_status));
MSG(k_configmap, M(1, "metadata", P_MSG, object_meta), F(2, "data", P_MAP_STR),
    F(3, "binaryData", P_MAP_BYTES), K(4, "immutable", P_BOOL));
MSG(k_secret, M(1, "metadata", P_MSG, object_meta), F(2, "data", P_MAP_BYTES),
    F(3, "type", P_STR), F(4, "stringData", P_MAP_STR), K(5, "immutable", P_BOOL));
MSG(k_pod, M(1, "metadata", P_MSG, object_meta), M(2, "spec", P_MSG, pod_spec));
MSG(k_service, M(1, "metadata", P_MSG, object_meta), M(2, "spec", P_MSG, service_spec));
MSG(k_quota, M(1, "metadata", P_MSG, object_meta), M(2, "spec", P_MSG, quota_spec));
MSG(k_serviceaccount, M(1, "metadata", P_MSG, object_meta), M(2, "secrets", P_MSGS, object_ref),
    M(3, "imagePullSecrets", P_MSGS, local_ref),
    K(4, "automountServiceAccountToken", P_BOOL));
MSG(k_deployment, M(1, "metadata", P_MSG, object_meta), M(2, "spec", P_MSG, deploy_spec));
MSG(k_job, M(1, "metadata", P_MSG, object_meta), M(2, "spec", P_MSG, job_spec));
MSG(k_cronjob, M(1, "metadata", P_MSG, object_meta), M(2, "spec", P_MSG, cronjob_spec));
MSG(k_role, M(1, "metadata", P_MSG, object_meta), M(2, "rules", P_MSGS, policy_rule));
MSG(k_clusterrole, M(1, "metadata", P_MSG, object_meta), M(2, "rules", P_MSGS, policy_rule),
    M(3, "aggregationRule", P_MSG, aggregation_rule));
MSG(k_binding, M(1, "metadata", P_MSG, object_meta), M(2, "subjects", P_MSGS, subject),
    M(3, "roleRef", P_MSG, role_ref));
MSG(k_pdb, M(1, "metadata", P_MSG, object_meta), M(2, "spec", P_MSG, pdb_spec));
MSG(k_ingress, M(1, "metadata", P_MSG, object_meta), M(2, "spec", P_MSG, ingress_spec));
MSG(k_priorityclass, M(1, "metadata", P_MSG, object_meta), K(2, "value", P_I32),
    F(3, "globalDefault", P_BOOL), F(4, "description", P_STR), K(5, "preemptionPolicy", P_STR));

struct pkind {
	const char *api_version, *kind;
	const struct pmsg *msg;
};

static const struct pkind kinds[] = {
	{ "v1", "Namespace", &k_namespace },
	{ "v1", "ConfigMap", &k_configmap },
	{ "v1", "Secret", &k_secret },
	{ "v1", "Pod", &k_pod },
	{ "v1", "Service", &k_service },
	{ "v1", "ResourceQuota", &k_quota },
	{ "v1", "ServiceAccount", &k_serviceaccount },
	{ "apps/v1", "Deployment", &k_deployment },
	{ "batch/v1", "Job", &k_job },
	{ "batch/v1", "CronJob", &k_cronjob },
	{ "rbac.authorization.k8s.io/v1", "Role", &k_role },
	{ "rbac.authorization.k8s.io/v1", "ClusterRole", &k_clusterrole },
	{ "rbac.authorization.k8s.io/v1", "RoleBinding", &k_binding },
	{ "rbac.authorization.k8s.io/v1", "ClusterRoleBinding", &k_binding },
	{ "policy/v1", "PodDisruptionBudget", &k_pdb },
	{ "networking.k8s.io/v1", "Ingress", &k_ingress },
	{ "scheduling.k8s.io/v1", "PriorityClass", &k_priorityclass },
};

/* ---- wire format ------------------------------------------------------------------- */

/* Nesting the tables allow is about 12 (a cronjob's env var key ref); this bounds it. */
#define MAX_DEPTH 32

struct rd {
	const unsigned char *p, *end;
};

/* Why a body is malformed, for the 400 message. */
struct dctx {
	const char *why;
	const char *field; /* the JSON name being decoded, when known */
};

static int varint(struct rd *r, uint64_t *v)
{
	*v = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (r->p >= r->end)
			return -1;
		unsigned char b = *r->p++;
		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 0;
	}
	return -1; /* more than ten bytes */
}

/* Reads one length-delimited payload into *sub. */
static int lenpref(struct rd *r, struct rd *sub)
{
	uint64_t n;
	if (varint(r, &n) || n > (uint64_t)(r->end - r->p))
		return -1;
	sub->p = r->p;
	sub->end = r->p + n;
	r->p += n;
	return 0;
}

/* Skips a field of an unknown number by its wire type. */
static int skip(struct rd *r, unsigned wt)
{
	uint64_t v;
	struct rd s;
	switch (wt) {
	case 0: return varint(r, &v);
	case 1:
		if (r->end - r->p < 8)
			return -1;
		r->p += 8;
		return 0;
	case 2: return lenpref(r, &s);
	case 5:
		if (r->end - r->p < 4)
			return -1;
		r->p += 4;
		return 0;
	default: return -1; /* groups (3, 4) are not used by Kubernetes; 6, 7 do not exist */
	}
}

static json_t *b64(const unsigned char *p, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	struct kp_buf b = { 0 };
	kp__buf_grow(&b, (n + 2) / 3 * 4 + 1);
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);
		char q[4] = { tab[v >> 18 & 63], tab[v >> 12 & 63],
			      i + 1 < n ? tab[v >> 6 & 63] : '=', i + 2 < n ? tab[v & 63] : '=' };
		kp__buf_add(&b, q, 4);
	}
	json_t *s = json_stringn(b.p ? b.p : "", b.len);
	kp__buf_release(&b);
	return s;
}

/* A string field; NULL when it is not UTF-8 (JSON cannot carry it). */
static json_t *str(const struct rd *s)
{
	return json_stringn((const char *)s->p, (size_t)(s->end - s->p));
}

/* Reads a message of varint fields {1, 2, 3...} into v[0..n), skipping others. */
static int small_msg(struct rd *s, uint64_t *v, unsigned n, struct rd *str3)
{
	while (s->p < s->end) {
		uint64_t tag, x;
		if (varint(s, &tag))
			return -1;
		unsigned num = (unsigned)(tag >> 3), wt = tag & 7;
		if (str3 && num == 3 && wt == 2) {
			if (lenpref(s, str3))
				return -1;
		} else if (num >= 1 && num <= n && wt == 0) {
			if (varint(s, &x))
				return -1;
			v[num - 1] = x;
		} else if (skip(s, wt)) {
			return -1;
		}
	}
	return 0;
}

/* meta/v1 Time; *out NULL for the zero time (JSON null, left out). */
static int time_json(struct rd *s, json_t **out)
{
	uint64_t v[2] = { 0, 0 };
	*out = NULL;
	if (small_msg(s, v, 2, NULL))
		return -1;
	int64_t secs = (int64_t)v[0];
	if (!secs && !v[1])
		return 0;
	time_t t = (time_t)secs;
	struct tm tm;
	char buf[64];
	if (secs < -62135596800LL || secs > 253402300799LL || !gmtime_r(&t, &tm) ||
	    !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
		return -1; /* outside years 1..9999, as RFC 3339 requires */
	*out = json_string(buf);
	return 0;
}

static int intstr_json(struct rd *s, json_t **out)
{
	uint64_t v[2] = { 0, 0 };
	struct rd sv = { NULL, NULL };
	if (small_msg(s, v, 2, &sv))
		return -1;
	if (v[0] == 1)
		*out = sv.p ? str(&sv) : json_string("");
	else
		*out = json_integer((int32_t)v[1]);
	return *out ? 0 : -1;
}

/* resource.Quantity {string=1}: its canonical string. */
static int qty_json(struct rd *s, json_t **out)
{
	struct rd q = { NULL, NULL };
	while (s->p < s->end) {
		uint64_t tag;
		if (varint(s, &tag))
			return -1;
		if (tag >> 3 == 1 && (tag & 7) == 2) {
			if (lenpref(s, &q))
				return -1;
		} else if (skip(s, tag & 7)) {
			return -1;
		}
	}
	*out = q.p ? str(&q) : json_string("0");
	return *out ? 0 : -1;
}

/* A map entry {key=1, value=2} into obj; value as the map's type says. */
static int map_entry(struct rd *e, json_t *obj, enum pt type)
{
	struct rd k = { NULL, NULL }, v = { NULL, NULL };
	while (e->p < e->end) {
		uint64_t tag;
		if (varint(e, &tag))
			return -1;
		unsigned num = (unsigned)(tag >> 3);
		if ((num == 1 || num == 2) && (tag & 7) == 2) {
			if (lenpref(e, num == 1 ? &k : &v))
				return -1;
		} else if (skip(e, tag & 7)) {
			return -1;
		}
	}
	if (!k.p)
		return -1;
	json_t *val;
	if (type == P_MAP_BYTES)
		val = b64(v.p, v.p ? (size_t)(v.end - v.p) : 0);
	else if (type == P_MAP_QTY) {
		if (!v.p)
			val = json_string("0");
		else if (qty_json(&v, &val))
			return -1;
	} else
		val = v.p ? str(&v) : json_string("");
	size_t kl = (size_t)(k.end - k.p);
	if (!val || memchr(k.p, 0, kl)) {
		json_decref(val);
		return -1;
	}
	char *key = strndup((const char *)k.p, kl);
	if (!key)
		abort();
	int rc = json_object_set_new(obj, key, val); /* fails for a non-UTF-8 key */
	free(key);
	return rc ? -1 : 0;
}

/* Gets out[name] as a container of the given kind, creating it. */
static json_t *child(json_t *out, const char *name, bool array)
{
	json_t *c = json_object_get(out, name);
	if (array ? json_is_array(c) : json_is_object(c))
		return c;
	c = array ? json_array() : json_object();
	json_object_set_new(out, name, c);
	return c;
}

static int decode_msg(struct rd *r, const struct pmsg *m, json_t *out, int depth,
		      struct dctx *cx)
{
	if (depth > MAX_DEPTH) {
		cx->why = "messages nested too deeply";
		return -1;
	}
	while (r->p < r->end) {
		uint64_t tag;
		if (varint(r, &tag)) {
			cx->why = "truncated field tag";
			return -1;
		}
		uint64_t num = tag >> 3;
		unsigned wt = tag & 7;
		const struct pfield *f = num < m->n && m->f[num].name ? &m->f[num] : NULL;
		if (!f) {
			if (skip(r, wt)) {
				cx->why = "truncated or invalid unknown field";
				return -1;
			}
			continue;
		}
		cx->field = f->name;
		bool scalar = f->type == P_I32 || f->type == P_I64 || f->type == P_BOOL;
		if (scalar != (wt == 0) || (!scalar && wt != 2)) {
			cx->why = "wrong wire type";
			return -1;
		}
		if (scalar) {
			uint64_t v;
			if (varint(r, &v)) {
				cx->why = "truncated varint";
				return -1;
			}
			if (!v && !(f->flags & KEEP0))
				continue;
			json_t *j = f->type == P_BOOL  ? json_boolean(v != 0)
				    : f->type == P_I32 ? json_integer((int32_t)v)
						       : json_integer((json_int_t)(int64_t)v);
			json_object_set_new(out, f->name, j);
			continue;
		}
		struct rd s;
		if (lenpref(r, &s)) {
			cx->why = "length past the end of the body";
			return -1;
		}
		json_t *v = NULL;
		int rc = 0;
		switch (f->type) {
		case P_STR:
			if (s.p == s.end && !(f->flags & KEEP0))
				continue;
			v = str(&s);
			break;
		case P_BYTES: v = b64(s.p, (size_t)(s.end - s.p)); break;
		case P_TIME:
			if (time_json(&s, &v)) {
				cx->why = "invalid timestamp";
				return -1;
			}
			if (!v)
				continue;
			break;
		case P_INTSTR: rc = intstr_json(&s, &v); break;
		case P_QTY: rc = qty_json(&s, &v); break;
		case P_MSG:
			if (decode_msg(&s, f->sub, child(out, f->name, false), depth + 1, cx))
				return -1;
			continue;
		case P_INLINE:
			if (decode_msg(&s, f->sub, out, depth + 1, cx))
				return -1;
			continue;
		case P_MSGS: {
			json_t *e = json_object();
			json_array_append_new(child(out, f->name, true), e);
			if (decode_msg(&s, f->sub, e, depth + 1, cx))
				return -1;
			continue;
		}
		case P_STRS:
			v = str(&s);
			if (!v || json_array_append_new(child(out, f->name, true), v)) {
				cx->why = "a string is not UTF-8";
				return -1;
			}
			continue;
		case P_MAP_STR:
		case P_MAP_BYTES:
		case P_MAP_QTY:
			if (map_entry(&s, child(out, f->name, false), f->type)) {
				cx->why = "invalid map entry";
				return -1;
			}
			continue;
		default: rc = -1; break;
		}
		if (rc || !v) {
			cx->why = "invalid value (a string that is not UTF-8?)";
			return -1;
		}
		json_object_set_new(out, f->name, v);
	}
	return 0;
}

int kp__proto_decode(const char *buf, size_t len, json_t **out, char **errmsg)
{
	*out = NULL;
	if (len < 4 || memcmp(buf, "k8s\0", 4))
		return kp_error_set(errmsg, KP_EINVAL, "missing the k8s protobuf envelope");
	struct rd r = { (const unsigned char *)buf + 4, (const unsigned char *)buf + len };
	struct rd tm = { NULL, NULL }, raw = { NULL, NULL };
	while (r.p < r.end) {
		uint64_t tag;
		struct rd s;
		if (varint(&r, &tag))
			return kp_error_set(errmsg, KP_EINVAL, "malformed protobuf envelope");
		unsigned num = (unsigned)(tag >> 3), wt = tag & 7;
		if (num >= 1 && num <= 4 && wt != 2)
			return kp_error_set(errmsg, KP_EINVAL, "malformed protobuf envelope");
		if (num < 1 || num > 4) {
			if (skip(&r, wt))
				return kp_error_set(errmsg, KP_EINVAL,
						    "malformed protobuf envelope");
			continue;
		}
		if (lenpref(&r, &s))
			return kp_error_set(errmsg, KP_EINVAL, "malformed protobuf envelope");
		if (num == 1)
			tm = s;
		else if (num == 2)
			raw = s;
		else if (num == 3 && s.p != s.end)
			return kp_error_set(errmsg, KP_ENOTSUP, "content encodings are not supported");
	}
	/* runtime.TypeMeta is {apiVersion=1, kind=2} (unlike meta/v1's). */
	static const struct pfield tm_f[] = { F(1, "apiVersion", P_STR), F(2, "kind", P_STR) };
	static const struct pmsg tm_m = { 3, tm_f };
	struct dctx cx = { NULL, NULL };
	json_t *obj = json_object();
	if (!tm.p || decode_msg(&tm, &tm_m, obj, 0, &cx)) {
		json_decref(obj);
		return kp_error_set(errmsg, KP_EINVAL, "malformed protobuf type meta");
	}
	const char *av = json_string_value(json_object_get(obj, "apiVersion"));
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	const struct pkind *k = NULL;
	for (size_t i = 0; av && kind && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kinds[i].api_version, av) && !strcmp(kinds[i].kind, kind))
			k = &kinds[i];
	if (!k) {
		int rc = kp_error_set(errmsg, KP_ENOTSUP, "protobuf bodies of %s %s are not supported",
				      av ? av : "?", kind ? kind : "?");
		json_decref(obj);
		return rc;
	}
	if (!raw.p) {
		json_decref(obj);
		return kp_error_set(errmsg, KP_EINVAL, "the protobuf envelope has no object");
	}
	if (decode_msg(&raw, k->msg, obj, 0, &cx)) {
		int rc = kp_error_set(errmsg, KP_EINVAL, "%s %s%s%s", k->kind,
				      cx.why ? cx.why : "malformed", cx.field ? " at field " : "",
				      cx.field ? cx.field : "");
		json_decref(obj);
		return rc;
	}
	*out = obj;
	return 0;
}

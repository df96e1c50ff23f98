/*
 * openapi.c - /openapi/v3 and /openapi/v2, generated once at startup from
 * the resource registry and a compact table of schemas.
 *
 * What clients use them for decides what is in them:
 *  - kubectl's field validation asks /openapi/v3 whether the PATCH
 *    operation of a kind takes the fieldValidation query parameter; when it
 *    does, kubectl leaves validation to the server instead of validating on
 *    the client. So every kind gets collection and item paths whose
 *    operations carry x-kubernetes-group-version-kind and those parameters.
 *  - client-side apply builds its strategic merge patch from the schema
 *    (x-kubernetes-patch-merge-key/strategy) when the PATCH operation
 *    accepts application/strategic-merge-patch+json.
 *  - kubectl explain walks components.schemas from the kind whose
 *    x-kubernetes-group-version-kind matches, following $ref.
 * The table below describes the fields kplane works with; everything else
 * is an object with x-kubernetes-preserve-unknown-fields, so that no real
 * manifest is rejected for a field the table leaves out.
 *
 * /openapi/v2 is answered in the protobuf encoding of gnostic's
 * openapi_v2.Document (what kubectl asks for) or as JSON otherwise, with
 * the same definitions (refs rewritten to #/definitions/).
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/api/internal.h"

/* ---- the schema table ------------------------------------------------------ */

/*
 * A field type is one of:
 *   string integer number boolean time (RFC 3339 string)
 *   object   any object (x-kubernetes-preserve-unknown-fields)
 *   ios      int-or-string          qty  a resource quantity
 *   []T      a list of T; "[]T@key" merges by key (patch strategy merge),
 *            "[]T@" merges a list of scalars as a set
 *   {}T      a map from string to T
 *   a.b.C    a named type of the table (io.k8s.api.a.b.C; "meta.v1.X" is
 *            io.k8s.apimachinery.pkg.apis.meta.v1.X)
 * A field name ending in '!' is required.
 */
struct oa_field {
	const char *name, *type, *desc;
};

struct oa_type {
	const char *name, *desc;
	const struct oa_field *fields;
};

#define F(...) ((const struct oa_field[]){ __VA_ARGS__, { 0 } })

static const struct oa_type types[] = {
	/* meta */
	{ "meta.v1.ObjectMeta",
	  "ObjectMeta is metadata that all persisted resources must have, which includes all "
	  "objects users must create.",
	  F({ "name", "string", "Name must be unique within a namespace." },
	    { "generateName", "string",
	      "An optional prefix used by the server to generate a unique name." },
	    { "namespace", "string", "The namespace the object belongs to." },
	    { "uid", "string", "Unique in time and space; set by the server." },
	    { "resourceVersion", "string",
	      "The internal version of this object, for optimistic concurrency." },
	    { "generation", "integer", "A sequence number for the desired state." },
	    { "creationTimestamp", "time", "When the object was created (set by the server)." },
	    { "deletionTimestamp", "time", "When the object will be deleted." },
	    { "deletionGracePeriodSeconds", "integer", NULL },
	    { "labels", "{}string", "Map of string keys and values for selecting objects." },
	    { "annotations", "{}string", "Unstructured key value map stored with the object." },
	    { "ownerReferences", "[]meta.v1.OwnerReference@uid",
	      "Objects this object depends on." },
	    { "finalizers", "[]string@", "Must be empty before the object is deleted." },
	    { "selfLink", "string", "Deprecated; not set by the server." },
	    { "managedFields", "[]object", NULL }) },
	{ "meta.v1.OwnerReference", "Identifies an owning object.",
	  F({ "apiVersion!", "string", NULL }, { "kind!", "string", NULL },
	    { "name!", "string", NULL }, { "uid!", "string", NULL },
	    { "controller", "boolean", NULL }, { "blockOwnerDeletion", "boolean", NULL }) },
	{ "meta.v1.LabelSelector", "A label query over a set of resources.",
	  F({ "matchLabels", "{}string", NULL },
	    { "matchExpressions", "[]meta.v1.LabelSelectorRequirement", NULL }) },
	{ "meta.v1.LabelSelectorRequirement", NULL,
	  F({ "key!", "string", NULL }, { "operator!", "string", "In, NotIn, Exists, DoesNotExist." },
	    { "values", "[]string", NULL }) },
	/* core/v1 pods */
	{ "core.v1.Pod",
	  "Pod is a collection of containers that can run on a host. This resource is created "
	  "by clients and scheduled onto hosts.",
	  F({ "spec", "core.v1.PodSpec", "Specification of the desired behavior of the pod." },
	    { "status", "object", "Most recently observed status of the pod." }) },
	{ "core.v1.PodTemplateSpec", "Describes the data a pod should have when created from a "
				     "template.",
	  F({ "metadata", "meta.v1.ObjectMeta", NULL }, { "spec", "core.v1.PodSpec", NULL }) },
	{ "core.v1.PodSpec", "PodSpec is a description of a pod.",
	  F({ "containers!", "[]core.v1.Container@name",
	      "List of containers belonging to the pod." },
	    { "initContainers", "[]core.v1.Container@name", NULL },
	    { "ephemeralContainers", "[]object@name", NULL },
	    { "volumes", "[]core.v1.Volume@name", NULL },
	    { "nodeName", "string", "The node the pod is bound to." },
	    { "nodeSelector", "{}string", "Labels a node must have for the pod to fit." },
	    { "affinity", "core.v1.Affinity", "The pod's scheduling constraints." },
	    { "tolerations", "[]core.v1.Toleration", NULL },
	    { "topologySpreadConstraints", "[]core.v1.TopologySpreadConstraint@topologyKey",
	      NULL },
	    { "schedulerName", "string", NULL },
	    { "priorityClassName", "string", NULL },
	    { "priority", "integer", NULL },
	    { "preemptionPolicy", "string", NULL },
	    { "restartPolicy", "string", "Always, OnFailure or Never." },
	    { "terminationGracePeriodSeconds", "integer", NULL },
	    { "activeDeadlineSeconds", "integer", NULL },
	    { "dnsPolicy", "string", NULL },
	    { "dnsConfig", "object", NULL },
	    { "serviceAccountName", "string", NULL },
	    { "serviceAccount", "string", NULL },
	    { "automountServiceAccountToken", "boolean", NULL },
	    { "hostNetwork", "boolean", NULL }, { "hostPID", "boolean", NULL },
	    { "hostIPC", "boolean", NULL }, { "shareProcessNamespace", "boolean", NULL },
	    { "securityContext", "object", NULL },
	    { "imagePullSecrets", "[]object@name", NULL },
	    { "hostname", "string", NULL }, { "subdomain", "string", NULL },
	    { "hostAliases", "[]object@ip", NULL },
	    { "runtimeClassName", "string", NULL },
	    { "enableServiceLinks", "boolean", NULL },
	    { "overhead", "{}qty", NULL },
	    { "readinessGates", "[]object", NULL },
	    { "schedulingGates", "[]object@name", NULL },
	    { "os", "object", NULL }, { "hostUsers", "boolean", NULL },
	    { "resourceClaims", "[]object@name", NULL },
	    { "setHostnameAsFQDN", "boolean", NULL }, { "resources", "object", NULL }) },
	{ "core.v1.Container", "A single application container to run within a pod.",
	  F({ "name!", "string", "Name of the container (a DNS label)." },
	    { "image", "string", "Container image name." },
	    { "command", "[]string", NULL }, { "args", "[]string", NULL },
	    { "workingDir", "string", NULL },
	    { "ports", "[]core.v1.ContainerPort@containerPort", NULL },
	    { "env", "[]core.v1.EnvVar@name", NULL }, { "envFrom", "[]object", NULL },
	    { "resources", "core.v1.ResourceRequirements", "Compute resources required." },
	    { "resizePolicy", "[]object", NULL }, { "restartPolicy", "string", NULL },
	    { "volumeMounts", "[]core.v1.VolumeMount@mountPath", NULL },
	    { "volumeDevices", "[]object@devicePath", NULL },
	    { "livenessProbe", "object", NULL }, { "readinessProbe", "object", NULL },
	    { "startupProbe", "object", NULL }, { "lifecycle", "object", NULL },
	    { "terminationMessagePath", "string", NULL },
	    { "terminationMessagePolicy", "string", NULL },
	    { "imagePullPolicy", "string", "Always, Never or IfNotPresent." },
	    { "securityContext", "object", NULL }, { "stdin", "boolean", NULL },
	    { "stdinOnce", "boolean", NULL }, { "tty", "boolean", NULL }) },
	{ "core.v1.ContainerPort", NULL,
	  F({ "containerPort!", "integer", NULL }, { "name", "string", NULL },
	    { "protocol", "string", NULL }, { "hostPort", "integer", NULL },
	    { "hostIP", "string", NULL }) },
	{ "core.v1.EnvVar", NULL,
	  F({ "name!", "string", NULL }, { "value", "string", NULL },
	    { "valueFrom", "object", NULL }) },
	{ "core.v1.VolumeMount", NULL,
	  F({ "name!", "string", NULL }, { "mountPath!", "string", NULL },
	    { "subPath", "string", NULL }, { "subPathExpr", "string", NULL },
	    { "readOnly", "boolean", NULL }, { "mountPropagation", "string", NULL },
	    { "recursiveReadOnly", "string", NULL }) },
	{ "core.v1.ResourceRequirements", "Compute resource requirements.",
	  F({ "limits", "{}qty", "The maximum amount of compute resources allowed." },
	    { "requests", "{}qty", "The minimum amount of compute resources required." },
	    { "claims", "[]object@name", NULL }) },
	{ "core.v1.Volume", "A named volume in a pod (the volume source fields are kept as "
			    "given).",
	  F({ "name!", "string", NULL }, { "persistentVolumeClaim", "object", NULL },
	    { "configMap", "object", NULL }, { "secret", "object", NULL },
	    { "emptyDir", "object", NULL }, { "hostPath", "object", NULL },
	    { "projected", "object", NULL }, { "downwardAPI", "object", NULL },
	    { "ephemeral", "object", NULL }, { "csi", "object", NULL },
	    { "nfs", "object", NULL }) },
	{ "core.v1.Toleration", NULL,
	  F({ "key", "string", NULL }, { "operator", "string", "Exists or Equal." },
	    { "value", "string", NULL }, { "effect", "string", NULL },
	    { "tolerationSeconds", "integer", NULL }) },
	{ "core.v1.TopologySpreadConstraint", NULL,
	  F({ "maxSkew!", "integer", NULL }, { "topologyKey!", "string", NULL },
	    { "whenUnsatisfiable!", "string", NULL },
	    { "labelSelector", "meta.v1.LabelSelector", NULL },
	    { "minDomains", "integer", NULL }, { "nodeAffinityPolicy", "string", NULL },
	    { "nodeTaintsPolicy", "string", NULL }, { "matchLabelKeys", "[]string", NULL }) },
	{ "core.v1.Affinity", "Group of affinity scheduling rules.",
	  F({ "nodeAffinity", "object", NULL }, { "podAffinity", "object", NULL },
	    { "podAntiAffinity", "object", NULL }) },
	/* core/v1 others */
	{ "core.v1.Node", "Node is a worker node.",
	  F({ "spec", "core.v1.NodeSpec", NULL }, { "status", "object", NULL }) },
	{ "core.v1.NodeSpec", NULL,
	  F({ "unschedulable", "boolean", NULL }, { "taints", "[]core.v1.Taint", NULL },
	    { "podCIDR", "string", NULL }, { "podCIDRs", "[]string@", NULL },
	    { "providerID", "string", NULL }, { "configSource", "object", NULL },
	    { "externalID", "string", NULL }) },
	{ "core.v1.Taint", NULL,
	  F({ "key!", "string", NULL }, { "value", "string", NULL },
	    { "effect!", "string", "NoSchedule, PreferNoSchedule or NoExecute." },
	    { "timeAdded", "time", NULL }) },
	{ "core.v1.Service", "A named abstraction of software service.",
	  F({ "spec", "core.v1.ServiceSpec", NULL }, { "status", "object", NULL }) },
	{ "core.v1.ServiceSpec", NULL,
	  F({ "ports", "[]core.v1.ServicePort@port", NULL }, { "selector", "{}string", NULL },
	    { "type", "string", "ClusterIP, NodePort, LoadBalancer or ExternalName." },
	    { "clusterIP", "string", NULL }, { "clusterIPs", "[]string", NULL },
	    { "externalName", "string", NULL }, { "sessionAffinity", "string", NULL },
	    { "externalIPs", "[]string", NULL }, { "ipFamilies", "[]string", NULL },
	    { "ipFamilyPolicy", "string", NULL }, { "internalTrafficPolicy", "string", NULL },
	    { "externalTrafficPolicy", "string", NULL },
	    { "publishNotReadyAddresses", "boolean", NULL },
	    { "loadBalancerIP", "string", NULL }, { "sessionAffinityConfig", "object", NULL },
	    { "allocateLoadBalancerNodePorts", "boolean", NULL },
	    { "loadBalancerSourceRanges", "[]string", NULL },
	    { "loadBalancerClass", "string", NULL }, { "healthCheckNodePort", "integer", NULL },
	    { "trafficDistribution", "string", NULL }) },
	{ "core.v1.ServicePort", NULL,
	  F({ "port!", "integer", NULL }, { "name", "string", NULL },
	    { "protocol", "string", NULL }, { "targetPort", "ios", NULL },
	    { "nodePort", "integer", NULL }, { "appProtocol", "string", NULL }) },
	{ "core.v1.ConfigMap", "Holds configuration data for pods to consume.",
	  F({ "data", "{}string", NULL }, { "binaryData", "{}string", NULL },
	    { "immutable", "boolean", NULL }) },
	{ "core.v1.Secret", "Holds secret data of a certain type.",
	  F({ "data", "{}string", "Base64-encoded values." },
	    { "stringData", "{}string", "Write-only convenience: merged into data." },
	    { "type", "string", NULL }, { "immutable", "boolean", NULL }) },
	{ "core.v1.Namespace", "Namespace provides a scope for names.",
	  F({ "spec", "object", NULL }, { "status", "object", NULL }) },
	/* apps/v1 */
	{ "apps.v1.Deployment", "Deployment enables declarative updates for Pods and "
				"ReplicaSets.",
	  F({ "spec", "apps.v1.DeploymentSpec", NULL }, { "status", "object", NULL }) },
	{ "apps.v1.DeploymentSpec", NULL,
	  F({ "replicas", "integer", "Number of desired pods (default 1)." },
	    { "selector!", "meta.v1.LabelSelector", NULL },
	    { "template!", "core.v1.PodTemplateSpec", NULL },
	    { "strategy", "apps.v1.DeploymentStrategy", NULL },
	    { "minReadySeconds", "integer", NULL },
	    { "revisionHistoryLimit", "integer", NULL }, { "paused", "boolean", NULL },
	    { "progressDeadlineSeconds", "integer", NULL }) },
	{ "apps.v1.ReplicaSet", "ReplicaSet ensures that a specified number of pod replicas "
				"are running at any given time.",
	  F({ "spec", "apps.v1.ReplicaSetSpec", NULL }, { "status", "object", NULL }) },
	{ "apps.v1.ReplicaSetSpec", NULL,
	  F({ "replicas", "integer", NULL }, { "selector!", "meta.v1.LabelSelector", NULL },
	    { "template", "core.v1.PodTemplateSpec", NULL },
	    { "minReadySeconds", "integer", NULL }) },
	{ "apps.v1.StatefulSet", "StatefulSet represents a set of pods with consistent "
				 "identities.",
	  F({ "spec", "apps.v1.StatefulSetSpec", NULL }, { "status", "object", NULL }) },
	{ "apps.v1.StatefulSetSpec", NULL,
	  F({ "replicas", "integer", NULL }, { "selector!", "meta.v1.LabelSelector", NULL },
	    { "template!", "core.v1.PodTemplateSpec", NULL },
	    { "volumeClaimTemplates", "[]object", NULL }, { "serviceName", "string", NULL },
	    { "podManagementPolicy", "string", NULL },
	    { "updateStrategy", "apps.v1.StatefulSetUpdateStrategy", NULL },
	    { "revisionHistoryLimit", "integer", NULL }, { "minReadySeconds", "integer", NULL },
	    { "persistentVolumeClaimRetentionPolicy", "object", NULL },
	    { "ordinals", "object", NULL }) },
	{ "apps.v1.DaemonSet", "DaemonSet represents the configuration of a daemon set.",
	  F({ "spec", "apps.v1.DaemonSetSpec", NULL }, { "status", "object", NULL }) },
	{ "apps.v1.DaemonSetSpec", NULL,
	  F({ "selector!", "meta.v1.LabelSelector", NULL },
	    { "template!", "core.v1.PodTemplateSpec", NULL },
	    { "updateStrategy", "apps.v1.DaemonSetUpdateStrategy", NULL },
	    { "minReadySeconds", "integer", NULL }, { "revisionHistoryLimit", "integer", NULL }) },
	/* The update strategies are typed because client-side apply walks
	 * into them (a server default such as a DaemonSet's maxSurge: 0 sits
	 * beside the manifest's fields) and warns about an untyped field. */
	{ "apps.v1.DeploymentStrategy", NULL,
	  F({ "type", "string", "Recreate or RollingUpdate (the default)." },
	    { "rollingUpdate", "apps.v1.RollingUpdateDeployment", NULL }) },
	{ "apps.v1.RollingUpdateDeployment", NULL,
	  F({ "maxUnavailable", "ios", NULL }, { "maxSurge", "ios", NULL }) },
	{ "apps.v1.StatefulSetUpdateStrategy", NULL,
	  F({ "type", "string", "OnDelete or RollingUpdate (the default)." },
	    { "rollingUpdate", "apps.v1.RollingUpdateStatefulSetStrategy", NULL }) },
	{ "apps.v1.RollingUpdateStatefulSetStrategy", NULL,
	  F({ "partition", "integer", NULL }, { "maxUnavailable", "ios", NULL }) },
	{ "apps.v1.DaemonSetUpdateStrategy", NULL,
	  F({ "type", "string", "OnDelete or RollingUpdate (the default)." },
	    { "rollingUpdate", "apps.v1.RollingUpdateDaemonSet", NULL }) },
	{ "apps.v1.RollingUpdateDaemonSet", NULL,
	  F({ "maxUnavailable", "ios", NULL }, { "maxSurge", "ios", NULL }) },
	/* batch/v1 */
	{ "batch.v1.Job", "Job represents the configuration of a single job.",
	  F({ "spec", "batch.v1.JobSpec", NULL }, { "status", "object", NULL }) },
	{ "batch.v1.JobSpec", NULL,
	  F({ "template!", "core.v1.PodTemplateSpec", NULL },
	    { "parallelism", "integer", NULL }, { "completions", "integer", NULL },
	    { "backoffLimit", "integer", NULL }, { "activeDeadlineSeconds", "integer", NULL },
	    { "selector", "meta.v1.LabelSelector", NULL },
	    { "manualSelector", "boolean", NULL }, { "completionMode", "string", NULL },
	    { "suspend", "boolean", NULL }, { "ttlSecondsAfterFinished", "integer", NULL },
	    { "podFailurePolicy", "object", NULL }, { "podReplacementPolicy", "string", NULL },
	    { "backoffLimitPerIndex", "integer", NULL }, { "maxFailedIndexes", "integer", NULL },
	    { "successPolicy", "object", NULL }, { "managedBy", "string", NULL }) },
	{ "batch.v1.CronJob", "CronJob represents the configuration of a single cron job.",
	  F({ "spec", "batch.v1.CronJobSpec", NULL }, { "status", "object", NULL }) },
	{ "batch.v1.CronJobSpec", NULL,
	  F({ "schedule!", "string", "The schedule in Cron format." },
	    { "jobTemplate!", "batch.v1.JobTemplateSpec", NULL },
	    { "timeZone", "string", NULL }, { "startingDeadlineSeconds", "integer", NULL },
	    { "concurrencyPolicy", "string", NULL }, { "suspend", "boolean", NULL },
	    { "successfulJobsHistoryLimit", "integer", NULL },
	    { "failedJobsHistoryLimit", "integer", NULL }) },
	{ "batch.v1.JobTemplateSpec", NULL,
	  F({ "metadata", "meta.v1.ObjectMeta", NULL }, { "spec", "batch.v1.JobSpec", NULL }) },
	/* apiextensions.k8s.io/v1: typed down to the lists (atomic, as in
	 * Kubernetes) so that client-side apply of a CRD finds spec. */
	{ "apiextensions.v1.CustomResourceDefinition",
	  "CustomResourceDefinition represents a resource that should be exposed on the API "
	  "server.",
	  F({ "spec!", "apiextensions.v1.CustomResourceDefinitionSpec", NULL },
	    { "status", "object", NULL }) },
	{ "apiextensions.v1.CustomResourceDefinitionSpec", NULL,
	  F({ "group!", "string", "The API group of the defined custom resource." },
	    { "names!", "apiextensions.v1.CustomResourceDefinitionNames", NULL },
	    { "scope!", "string", "Cluster or Namespaced." },
	    { "versions!", "[]object", "The API versions of the defined custom resource." },
	    { "conversion", "object", NULL }, { "preserveUnknownFields", "boolean", NULL }) },
	{ "apiextensions.v1.CustomResourceDefinitionNames", NULL,
	  F({ "plural!", "string", NULL }, { "singular", "string", NULL },
	    { "shortNames", "[]string", NULL }, { "kind!", "string", NULL },
	    { "listKind", "string", NULL }, { "categories", "[]string", NULL }) },
};

#define NTYPES (sizeof(types) / sizeof(types[0]))

/* ---- building the documents ------------------------------------------------- */

struct gv_doc {
	char *path;     /* "api/v1", "apis/apps/v1" */
	char *json;     /* the OpenAPI v3 document */
	size_t len;
	char hash[17];
};

static struct {
	struct gv_doc *docs;
	size_t ndocs;
	char *root;     /* /openapi/v3 */
	size_t root_len;
	char *v2_json, *v2_pb;
	size_t v2_json_len, v2_pb_len;
	json_t *defs; /* v3 components.schemas, for fieldValidation and CRD documents */
} oa;

static pthread_once_t oa_once = PTHREAD_ONCE_INIT;

/* "meta.v1.X" -> io.k8s.apimachinery.pkg.apis.meta.v1.X, "a.v1.X" -> io.k8s.api.a.v1.X */
static void full_name(const char *short_name, char *out, size_t n)
{
	if (!strncmp(short_name, "meta.", 5))
		snprintf(out, n, "io.k8s.apimachinery.pkg.apis.%s", short_name);
	else if (!strncmp(short_name, "apiextensions.", 14))
		snprintf(out, n, "io.k8s.apiextensions-apiserver.pkg.apis.%s", short_name);
	else
		snprintf(out, n, "io.k8s.api.%s", short_name);
}

/* The Kubernetes Go package of a group: "" -> core, "rbac.authorization.k8s.io" -> rbac. */
static void group_pkg(const char *group, char *out, size_t n)
{
	if (!*group) {
		snprintf(out, n, "core");
		return;
	}
	size_t len = strcspn(group, ".");
	snprintf(out, n, "%.*s", (int)len, group);
}

static json_t *ref_schema(const char *short_name, const char *prefix)
{
	char full[256], ref[320];
	full_name(short_name, full, sizeof(full));
	snprintf(ref, sizeof(ref), "%s%s", prefix, full);
	return json_pack("{s:s}", "$ref", ref);
}

/* Schema of a field type (see the table's comment); prefix is the $ref prefix. */
static json_t *type_schema(const char *t, const char *prefix)
{
	if (!strcmp(t, "string") || !strcmp(t, "integer") || !strcmp(t, "number") ||
	    !strcmp(t, "boolean"))
		return json_pack("{s:s}", "type", t);
	if (!strcmp(t, "time"))
		return json_pack("{s:s, s:s}", "type", "string", "format", "date-time");
	if (!strcmp(t, "object"))
		return json_pack("{s:s, s:b}", "type", "object",
				 "x-kubernetes-preserve-unknown-fields", 1);
	if (!strcmp(t, "ios"))
		return json_pack("{s:s, s:b}", "format", "int-or-string",
				 "x-kubernetes-int-or-string", 1);
	if (!strcmp(t, "qty"))
		return ref_schema("resource.Quantity", prefix);
	if (!strncmp(t, "{}", 2))
		return json_pack("{s:s, s:o}", "type", "object", "additionalProperties",
				 type_schema(t + 2, prefix));
	if (!strncmp(t, "[]", 2)) {
		char item[128];
		const char *at = strchr(t, '@');
		size_t len = at ? (size_t)(at - t - 2) : strlen(t + 2);
		snprintf(item, sizeof(item), "%.*s", (int)len, t + 2);
		json_t *s = json_pack("{s:s, s:o}", "type", "array", "items",
				      type_schema(item, prefix));
		if (at && at[1]) {
			json_object_set_new(s, "x-kubernetes-patch-merge-key", json_string(at + 1));
			json_object_set_new(s, "x-kubernetes-patch-strategy", json_string("merge"));
			json_object_set_new(s, "x-kubernetes-list-type", json_string("map"));
			json_object_set_new(s, "x-kubernetes-list-map-keys",
					    json_pack("[s]", at + 1));
		} else if (at) {
			json_object_set_new(s, "x-kubernetes-patch-strategy", json_string("merge"));
			json_object_set_new(s, "x-kubernetes-list-type", json_string("set"));
		}
		return s;
	}
	return ref_schema(t, prefix);
}

static json_t *gvk_json(const struct kp_resource *r)
{
	return json_pack("{s:s, s:s, s:s}", "group", r->group, "kind", r->kind, "version",
			 r->version);
}

static const struct oa_type *find_type(const char *short_name)
{
	for (size_t i = 0; i < NTYPES; i++)
		if (!strcmp(types[i].name, short_name))
			return &types[i];
	return NULL;
}

/* The schema of table type t; kind (may be NULL) adds the kind's fields. */
static json_t *struct_schema(const struct oa_type *t, const struct kp_resource *kind,
			     const char *prefix)
{
	json_t *s = json_object();
	json_t *props = json_object();
	json_t *req = json_array();
	json_object_set_new(s, "type", json_string("object"));
	if (t && t->desc)
		json_object_set_new(s, "description", json_string(t->desc));
	if (kind) {
		json_object_set_new(props, "apiVersion",
				    json_pack("{s:s, s:s}", "type", "string", "description",
					      "APIVersion defines the versioned schema of this "
					      "representation of an object."));
		json_object_set_new(props, "kind",
				    json_pack("{s:s, s:s}", "type", "string", "description",
					      "Kind is a string value representing the REST "
					      "resource this object represents."));
		json_t *md = ref_schema("meta.v1.ObjectMeta", prefix);
		json_object_set_new(md, "description", json_string("Standard object's metadata."));
		json_object_set_new(props, "metadata", md);
		json_object_set_new(s, "x-kubernetes-group-version-kind",
				    json_pack("[o]", gvk_json(kind)));
	}
	for (const struct oa_field *f = t ? t->fields : NULL; f && f->name; f++) {
		char name[128];
		size_t len = strlen(f->name);
		bool required = len && f->name[len - 1] == '!';
		snprintf(name, sizeof(name), "%.*s", (int)(len - required), f->name);
		json_t *fs = type_schema(f->type, prefix);
		if (f->desc) {
			/* A sibling of $ref is ignored by OpenAPI 3.0: wrap it as Kubernetes does. */
			if (json_object_get(fs, "$ref") && !strcmp(prefix, "#/components/schemas/"))
				fs = json_pack("{s:[o], s:s}", "allOf", fs, "description", f->desc);
			else
				json_object_set_new(fs, "description", json_string(f->desc));
		}
		json_object_set_new(props, name, fs);
		if (required)
			json_array_append_new(req, json_string(name));
	}
	json_object_set_new(s, "properties", props);
	if (json_array_size(req))
		json_object_set_new(s, "required", req);
	else
		json_decref(req);
	if (!t)
		/* A kind the table does not describe: keep whatever it holds. */
		json_object_set_new(s, "x-kubernetes-preserve-unknown-fields", json_true());
	return s;
}

/* All schemas (table types, Quantity, and one per kind) into defs. */
static void add_schemas(json_t *defs, const char *prefix)
{
	char full[256], pkg[64], short_name[160];
	for (size_t i = 0; i < NTYPES; i++) {
		/* Kinds are added below, with their GVK. */
		bool is_kind = false;
		for (size_t j = 0; j < kp__registry_count(); j++) {
			const struct kp_resource *r = kp__registry_at(j);
			group_pkg(r->group, pkg, sizeof(pkg));
			snprintf(short_name, sizeof(short_name), "%s.%s.%s", pkg, r->version,
				 r->kind);
			if (!strcmp(short_name, types[i].name))
				is_kind = true;
		}
		if (is_kind)
			continue;
		full_name(types[i].name, full, sizeof(full));
		json_object_set_new(defs, full, struct_schema(&types[i], NULL, prefix));
	}
	full_name("resource.Quantity", full, sizeof(full));
	json_object_set_new(defs, full,
			    json_pack("{s:s, s:s, s:b}", "description",
				      "A fixed-point number: 1, 500m, 1.5Gi, 2e3 ...", "format",
				      "quantity", "x-kubernetes-int-or-string", 1));
	for (size_t j = 0; j < kp__registry_count(); j++) {
		const struct kp_resource *r = kp__registry_at(j);
		group_pkg(r->group, pkg, sizeof(pkg));
		snprintf(short_name, sizeof(short_name), "%s.%s.%s", pkg, r->version, r->kind);
		full_name(short_name, full, sizeof(full));
		json_object_set_new(defs, full, struct_schema(find_type(short_name), r, prefix));
	}
}

static json_t *param(const char *name, const char *in, const char *desc)
{
	json_t *p = json_pack("{s:s, s:s, s:s, s:{s:s}}", "name", name, "in", in, "description",
			      desc, "schema", "type", "string");
	if (!strcmp(in, "path"))
		json_object_set_new(p, "required", json_true());
	return p;
}

static json_t *operation(const struct kp_resource *r, const char *action, const char *op_id,
			 const char *schema_ref, bool body, bool patch, bool strategic)
{
	json_t *params = json_array();
	if (body || patch) {
		json_array_append_new(params, param("dryRun", "query",
						    "When present (All), changes are not persisted."));
		json_array_append_new(params, param("fieldManager", "query",
						    "The name of the actor making the change."));
		json_array_append_new(params, param("fieldValidation", "query",
						    "Ignore, Warn or Strict: how the server treats "
						    "unknown or duplicate fields."));
	}
	if (patch)
		json_array_append_new(params, param("force", "query",
						    "Force apply requests (server-side apply)."));
	json_t *resp = json_pack("{s:{s:s, s:{s:{s:{s:s}}}}}", "200", "description", "OK",
				 "content", "application/json", "schema", "$ref", schema_ref);
	json_t *o = json_pack("{s:s, s:o, s:o, s:s, s:o}", "operationId", op_id, "parameters",
			      params, "responses", resp, "x-kubernetes-action", action,
			      "x-kubernetes-group-version-kind", gvk_json(r));
	if (body) {
		json_t *content = json_object();
		json_object_set_new(content, "*/*",
				    json_pack("{s:{s:s}}", "schema", "$ref", schema_ref));
		json_object_set_new(o, "requestBody",
				    json_pack("{s:o, s:b}", "content", content, "required", 1));
	}
	if (patch) {
		static const char *const ctypes[] = { "application/apply-patch+yaml",
						      "application/json-patch+json",
						      "application/merge-patch+json",
						      "application/strategic-merge-patch+json" };
		json_t *content = json_object();
		for (size_t i = 0; i < (strategic ? 4u : 3u); i++)
			json_object_set_new(content, ctypes[i],
					    json_pack("{s:{s:s}}", "schema", "type", "object"));
		json_object_set_new(o, "requestBody",
				    json_pack("{s:o, s:b}", "content", content, "required", 1));
	}
	return o;
}

void kp__openapi_add_paths(json_t *paths, const struct kp_resource *r, const char *schema_ref,
			   bool strategic)
{
	char coll[256], item[300], id[128];
	const char *root = *r->group ? "/apis/" : "/api/";
	snprintf(coll, sizeof(coll), "%s%s/%s%s", root, r->group_version,
		 (r->flags & KP_RES_NAMESPACED) ? "namespaces/{namespace}/" : "", r->plural);
	snprintf(item, sizeof(item), "%s/{name}", coll);
	/* Kubernetes' operation ids are unique verbs+kind; a simple form suffices. */
	json_t *c = json_object();
	if (r->verbs & KP_VERB_LIST) {
		snprintf(id, sizeof(id), "list%s", r->kind);
		json_object_set_new(c, "get", operation(r, "list", id, schema_ref, false, false, strategic));
	}
	if (r->verbs & KP_VERB_CREATE) {
		snprintf(id, sizeof(id), "create%s", r->kind);
		json_object_set_new(c, "post", operation(r, "post", id, schema_ref, true, false, strategic));
	}
	json_object_set_new(paths, coll, c);
	if (r->flags & KP_RES_BINDING)
		return;
	json_t *it = json_object();
	snprintf(id, sizeof(id), "read%s", r->kind);
	json_object_set_new(it, "get", operation(r, "get", id, schema_ref, false, false, strategic));
	if (r->verbs & KP_VERB_UPDATE) {
		snprintf(id, sizeof(id), "replace%s", r->kind);
		json_object_set_new(it, "put", operation(r, "put", id, schema_ref, true, false, strategic));
	}
	if (r->verbs & KP_VERB_PATCH) {
		snprintf(id, sizeof(id), "patch%s", r->kind);
		json_object_set_new(it, "patch", operation(r, "patch", id, schema_ref, false, true, strategic));
	}
	if (r->verbs & KP_VERB_DELETE) {
		snprintf(id, sizeof(id), "delete%s", r->kind);
		json_object_set_new(it, "delete", operation(r, "delete", id, schema_ref, false, false, strategic));
	}
	json_object_set_new(paths, item, it);
}

static uint64_t fnv1a(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ull;
	}
	return h;
}

static char *dump(json_t *v, size_t *len)
{
	struct kp_buf b = { 0 };
	kp__buf_add_json(&b, v);
	return kp__buf_steal(&b, len);
}

static void build_v3(void)
{
	json_t *root_paths = json_object();
	for (size_t i = 0; i < kp__registry_count(); i++) {
		const struct kp_resource *r = kp__registry_at(i);
		bool seen = false;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(kp__registry_at(j)->group_version, r->group_version))
				seen = true;
		if (seen)
			continue;
		json_t *paths = json_object();
		json_t *schemas = json_object();
		add_schemas(schemas, "#/components/schemas/");
		for (size_t j = i; j < kp__registry_count(); j++) {
			const struct kp_resource *k = kp__registry_at(j);
			if (strcmp(k->group_version, r->group_version))
				continue;
			char pkg[64], short_name[160], full[256], ref[300];
			group_pkg(k->group, pkg, sizeof(pkg));
			snprintf(short_name, sizeof(short_name), "%s.%s.%s", pkg, k->version,
				 k->kind);
			full_name(short_name, full, sizeof(full));
			snprintf(ref, sizeof(ref), "#/components/schemas/%s", full);
			kp__openapi_add_paths(paths, k, ref, true);
		}
		json_t *doc = json_pack("{s:s, s:{s:s, s:s}, s:o, s:{s:o}}", "openapi", "3.0.0",
					"info", "title", "Kubernetes", "version",
					"v1.32.0+kplane-" PACKAGE_VERSION, "paths", paths,
					"components", "schemas", schemas);
		oa.docs = realloc(oa.docs, (oa.ndocs + 1) * sizeof(*oa.docs));
		if (!oa.docs)
			abort();
		struct gv_doc *d = &oa.docs[oa.ndocs++];
		if (asprintf(&d->path, "%s%s", *r->group ? "apis/" : "api/", r->group_version) < 0)
			abort();
		d->json = dump(doc, &d->len);
		json_decref(doc);
		snprintf(d->hash, sizeof(d->hash), "%016llX",
			 (unsigned long long)fnv1a(d->json, d->len));
		char url[300];
		snprintf(url, sizeof(url), "/openapi/v3/%s?hash=%s", d->path, d->hash);
		json_object_set_new(root_paths, d->path,
				    json_pack("{s:s}", "serverRelativeURL", url));
	}
	json_t *root = json_pack("{s:o}", "paths", root_paths);
	oa.root = dump(root, &oa.root_len);
	json_decref(root);
}

/* ---- OpenAPI v2 ------------------------------------------------------------- */

/*
 * Protobuf encoding of gnostic's openapi_v2 messages (field numbers from
 * OpenAPIv2.proto): Document{swagger=1, info=2, paths=8, definitions=9},
 * Info{title=1, version=2}, Definitions{additional_properties=1 NamedSchema},
 * NamedSchema{name=1, value=2 Schema}, Schema{_ref=1, format=2,
 * description=4, required=19, additional_properties=21
 * AdditionalPropertiesItem{schema=1}, type=22 TypeItem{value=1},
 * items=23 ItemsItem{schema=1}, all_of=24, properties=25
 * Properties{additional_properties=1 NamedSchema}, vendor_extension=31
 * NamedAny{name=1, value=2 Any{yaml=2}}}.
 */
static void pb_varint(struct kp_buf *b, uint64_t v)
{
	unsigned char tmp[10];
	size_t n = 0;
	do {
		tmp[n] = v & 0x7f;
		v >>= 7;
		if (v)
			tmp[n] |= 0x80;
		n++;
	} while (v);
	kp__buf_add(b, tmp, n);
}

static void pb_bytes(struct kp_buf *b, unsigned field, const void *p, size_t n)
{
	pb_varint(b, (uint64_t)field << 3 | 2);
	pb_varint(b, n);
	kp__buf_add(b, p, n);
}

static void pb_str(struct kp_buf *b, unsigned field, const char *s)
{
	pb_bytes(b, field, s, strlen(s));
}

/* Appends sub as a length-delimited field and releases it. */
static void pb_msg(struct kp_buf *b, unsigned field, struct kp_buf *sub)
{
	pb_bytes(b, field, sub->p ? sub->p : "", sub->len);
	kp__buf_release(sub);
}

static void pb_schema(struct kp_buf *b, const json_t *s);

static void pb_named_schema(struct kp_buf *b, unsigned field, const char *name, const json_t *s)
{
	struct kp_buf ns = { 0 }, sch = { 0 };
	pb_str(&ns, 1, name);
	pb_schema(&sch, s);
	pb_msg(&ns, 2, &sch);
	pb_msg(b, field, &ns);
}

/* A vendor extension whose value is given as YAML (JSON is YAML). */
static void pb_extension(struct kp_buf *b, unsigned field, const char *name, const json_t *v)
{
	struct kp_buf na = { 0 }, any = { 0 };
	char *yaml = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!yaml)
		abort();
	pb_str(&any, 2, yaml);
	free(yaml);
	pb_str(&na, 1, name);
	pb_msg(&na, 2, &any);
	pb_msg(b, field, &na);
}

static void pb_schema(struct kp_buf *b, const json_t *s)
{
	const char *k;
	json_t *v;
	const char *ref = json_string_value(json_object_get(s, "$ref"));
	if (ref)
		pb_str(b, 1, ref);
	if (json_is_string(json_object_get(s, "format")))
		pb_str(b, 2, json_string_value(json_object_get(s, "format")));
	if (json_is_string(json_object_get(s, "description")))
		pb_str(b, 4, json_string_value(json_object_get(s, "description")));
	size_t i;
	json_array_foreach(json_object_get(s, "required"), i, v)
		pb_str(b, 19, json_string_value(v));
	json_t *ap = json_object_get(s, "additionalProperties");
	if (json_is_object(ap)) {
		struct kp_buf api = { 0 }, sch = { 0 };
		pb_schema(&sch, ap);
		pb_msg(&api, 1, &sch);
		pb_msg(b, 21, &api);
	}
	if (json_is_string(json_object_get(s, "type"))) {
		struct kp_buf ti = { 0 };
		pb_str(&ti, 1, json_string_value(json_object_get(s, "type")));
		pb_msg(b, 22, &ti);
	}
	json_t *items = json_object_get(s, "items");
	if (json_is_object(items)) {
		struct kp_buf ii = { 0 }, sch = { 0 };
		pb_schema(&sch, items);
		pb_msg(&ii, 1, &sch);
		pb_msg(b, 23, &ii);
	}
	json_array_foreach(json_object_get(s, "allOf"), i, v) {
		struct kp_buf sch = { 0 };
		pb_schema(&sch, v);
		pb_msg(b, 24, &sch);
	}
	json_t *props = json_object_get(s, "properties");
	if (json_is_object(props)) {
		struct kp_buf pr = { 0 };
		json_object_foreach(props, k, v)
			pb_named_schema(&pr, 1, k, v);
		pb_msg(b, 25, &pr);
	}
	json_object_foreach((json_t *)s, k, v)
		if (!strncmp(k, "x-", 2))
			pb_extension(b, 31, k, v);
}

static void build_v2(void)
{
	json_t *defs = json_object();
	add_schemas(defs, "#/definitions/");
	/* v2 has no int-or-string type: a Quantity is a string there, as in Kubernetes. */
	json_t *doc = json_pack("{s:s, s:{s:s, s:s}, s:{}, s:o}", "swagger", "2.0", "info",
				"title", "Kubernetes", "version",
				"v1.32.0+kplane-" PACKAGE_VERSION, "paths", "definitions", defs);
	oa.v2_json = dump(doc, &oa.v2_json_len);

	struct kp_buf b = { 0 }, info = { 0 }, paths = { 0 }, d = { 0 };
	pb_str(&b, 1, "2.0");
	pb_str(&info, 1, "Kubernetes");
	pb_str(&info, 2, "v1.32.0+kplane-" PACKAGE_VERSION);
	pb_msg(&b, 2, &info);
	pb_msg(&b, 8, &paths);
	const char *k;
	json_t *v;
	json_object_foreach(defs, k, v)
		pb_named_schema(&d, 1, k, v);
	pb_msg(&b, 9, &d);
	oa.v2_pb = kp__buf_steal(&b, &oa.v2_pb_len);
	json_decref(doc);
}

static void build_once(void)
{
	kp__registry_init();
	build_v3();
	build_v2();
	oa.defs = json_object();
	add_schemas(oa.defs, "#/components/schemas/");
}

const json_t *kp__openapi_defs(void)
{
	kp__openapi_init();
	return oa.defs;
}

const json_t *kp__openapi_kind_schema(const struct kp_resource *r)
{
	char pkg[64], short_name[160], full[256];
	group_pkg(r->group, pkg, sizeof(pkg));
	snprintf(short_name, sizeof(short_name), "%s.%s.%s", pkg, r->version, r->kind);
	full_name(short_name, full, sizeof(full));
	return json_object_get(kp__openapi_defs(), full);
}

void kp__openapi_init(void)
{
	pthread_once(&oa_once, build_once);
}

static void reply_copy(struct kp_req *r, const char *p, size_t n, const char *ctype)
{
	struct kp_buf b = { 0 };
	kp__buf_add(&b, p, n);
	kp__reply_buf(r, 200, &b, ctype);
}

void kp__openapi_handle(struct kp_req *r, char **seg, size_t n)
{
	kp__openapi_init();
	if (r->method != KP_M_GET && r->method != KP_M_HEAD) {
		kp__reply_status(r, 405, "MethodNotAllowed", NULL,
				 "the server does not allow this method on the requested resource");
		return;
	}
	if (n == 2 && !strcmp(seg[1], "v2")) {
		if (r->accept && strstr(r->accept, "protobuf"))
			reply_copy(r, oa.v2_pb, oa.v2_pb_len,
				   "application/com.github.proto-openapi.spec.v2.v1.0+protobuf");
		else
			reply_copy(r, oa.v2_json, oa.v2_json_len, "application/json");
		return;
	}
	if (n >= 2 && !strcmp(seg[1], "v3")) {
		if (n == 2) {
			json_t *root = json_loadb(oa.root, oa.root_len, 0, NULL);
			kp__crds_openapi_index(r->srv, json_object_get(root, "paths"));
			kp__reply_json(r, 200, root);
			return;
		}
		/* seg[2..] joined is the group-version path. */
		char path[256];
		size_t off = 0;
		for (size_t i = 2; i < n && off < sizeof(path); i++)
			off += (size_t)snprintf(path + off, sizeof(path) - off, "%s%s",
						i > 2 ? "/" : "", seg[i]);
		for (size_t i = 0; i < oa.ndocs; i++)
			if (!strcmp(oa.docs[i].path, path)) {
				reply_copy(r, oa.docs[i].json, oa.docs[i].len, "application/json");
				return;
			}
		json_t *doc = kp__crds_openapi_doc(r->srv, path);
		if (doc) {
			kp__reply_json(r, 200, doc);
			return;
		}
	}
	kp__reply_status(r, 404, "NotFound", json_object(),
			 "the server could not find the requested resource");
}

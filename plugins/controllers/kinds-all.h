/*
 * kinds-all.h - the namespaced kinds of the built-in API (docs/api.md), as
 * kp_ctl_kind initializers, for the controllers that act on every kind
 * (garbage-collector, namespace). Events are left to the users of this list.
 */
#ifndef KPLANE_PLUGINS_CONTROLLERS_KINDS_ALL_H
#define KPLANE_PLUGINS_CONTROLLERS_KINDS_ALL_H

#define KP__NAMESPACED_KINDS \
	{ "", "v1", "Pod", "pods" }, \
	{ "", "v1", "Service", "services" }, \
	{ "", "v1", "Endpoints", "endpoints" }, \
	{ "", "v1", "ConfigMap", "configmaps" }, \
	{ "", "v1", "Secret", "secrets" }, \
	{ "", "v1", "PersistentVolumeClaim", "persistentvolumeclaims" }, \
	{ "", "v1", "ServiceAccount", "serviceaccounts" }, \
	{ "", "v1", "ResourceQuota", "resourcequotas" }, \
	{ "", "v1", "LimitRange", "limitranges" }, \
	{ "apps", "v1", "Deployment", "deployments" }, \
	{ "apps", "v1", "ReplicaSet", "replicasets" }, \
	{ "apps", "v1", "StatefulSet", "statefulsets" }, \
	{ "apps", "v1", "DaemonSet", "daemonsets" }, \
	{ "apps", "v1", "ControllerRevision", "controllerrevisions" }, \
	{ "batch", "v1", "Job", "jobs" }, \
	{ "batch", "v1", "CronJob", "cronjobs" }, \
	{ "autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers" }, \
	{ "policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets" }, \
	{ "networking.k8s.io", "v1", "Ingress", "ingresses" }, \
	{ "networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies" }, \
	{ "rbac.authorization.k8s.io", "v1", "Role", "roles" }, \
	{ "rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings" }, \
	{ "coordination.k8s.io", "v1", "Lease", "leases" }, \
	{ "discovery.k8s.io", "v1", "EndpointSlice", "endpointslices" }

#endif

/*
 * table.c - meta.k8s.io/v1 Tables with kubectl's columns per kind
 * (the server-side printers of kubernetes/pkg/printers/internalversion).
 */
#include "config.h"

#include <ctype.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <kplane/kplane.h>

#include "core/api/internal.h"
#include "core/api/kinds.h"

bool kp__wants_table(const char *accept)
{
	return accept && strstr(accept, "as=Table") && strstr(accept, "g=meta.k8s.io");
}

/* kubectl's duration.HumanDuration. */
static void human_duration(int64_t secs, char *buf, size_t n)
{
	if (secs < -1) {
		snprintf(buf, n, "<invalid>");
		return;
	}
	if (secs < 0)
		secs = 0;
	if (secs < 120) {
		snprintf(buf, n, "%llds", (long long)secs);
		return;
	}
	int64_t minutes = secs / 60;
	if (minutes < 10) {
		int64_t s = secs % 60;
		if (s == 0)
			snprintf(buf, n, "%lldm", (long long)minutes);
		else
			snprintf(buf, n, "%lldm%llds", (long long)minutes, (long long)s);
		return;
	}
	if (minutes < 180) {
		snprintf(buf, n, "%lldm", (long long)minutes);
		return;
	}
	int64_t hours = secs / 3600;
	if (hours < 8) {
		int64_t m = minutes % 60;
		if (m == 0)
			snprintf(buf, n, "%lldh", (long long)hours);
		else
			snprintf(buf, n, "%lldh%lldm", (long long)hours, (long long)m);
	} else if (hours < 48) {
		snprintf(buf, n, "%lldh", (long long)hours);
	} else if (hours < 24 * 8) {
		int64_t h = hours % 24;
		if (h == 0)
			snprintf(buf, n, "%lldd", (long long)(hours / 24));
		else
			snprintf(buf, n, "%lldd%lldh", (long long)(hours / 24), (long long)h);
	} else if (hours < 24 * 365 * 2) {
		snprintf(buf, n, "%lldd", (long long)(hours / 24));
	} else if (hours < 24 * 365 * 8) {
		int64_t dy = (hours / 24) % 365;
		if (dy == 0)
			snprintf(buf, n, "%lldy", (long long)(hours / 24 / 365));
		else
			snprintf(buf, n, "%lldy%lldd", (long long)(hours / 24 / 365), (long long)dy);
	} else {
		snprintf(buf, n, "%lldy", (long long)(hours / 24 / 365));
	}
}

static json_t *age_of(const json_t *obj, const char *path)
{
	const char *ts = kp_obj_str(obj, path);
	int64_t t;
	if (!ts || kp_time_parse(ts, &t))
		return json_string("<unknown>");
	char buf[32];
	human_duration(kp_time_now() - t, buf, sizeof(buf));
	return json_string(buf);
}

json_t *kp__table_age(const char *rfc3339)
{
	int64_t t;
	if (!rfc3339 || kp_time_parse(rfc3339, &t))
		return json_string("<invalid>");
	char buf[32];
	human_duration(kp_time_now() - t, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *str_or(const json_t *obj, const char *path, const char *def)
{
	const char *s = kp_obj_str(obj, path);
	return json_string(s && *s ? s : def);
}

static json_int_t intv(const json_t *obj, const char *path)
{
	return json_integer_value(kp_obj_get(obj, path));
}

struct col {
	const char *name, *type, *format;
	int priority;
};

static void add_cols(json_t *defs, const struct col *cols)
{
	for (const struct col *c = cols; c->name; c++)
		json_array_append_new(defs, json_pack("{s:s, s:s, s:s, s:s, s:i}", "name", c->name,
						      "type", c->type, "format", c->format,
						      "description", "", "priority", c->priority));
}

/* Kubernetes' default table convertor, for kinds kubectl has no printer for
 * (Role, ClusterRole, LimitRange): the creation time itself, RFC 3339. */
static const struct col default_cols[] = {
	{ "Name", "string", "name", 0 }, { "Created At", "date", "", 0 }, { 0 } };
static const struct col pod_cols[] = {
	{ "Name", "string", "name", 0 },     { "Ready", "string", "", 0 },
	{ "Status", "string", "", 0 },       { "Restarts", "string", "", 0 },
	{ "Age", "string", "", 0 },          { "IP", "string", "", 1 },
	{ "Node", "string", "", 1 },         { "Nominated Node", "string", "", 1 },
	{ "Readiness Gates", "string", "", 1 }, { 0 } };
static const struct col node_cols[] = {
	{ "Name", "string", "name", 0 },       { "Status", "string", "", 0 },
	{ "Roles", "string", "", 0 },          { "Age", "string", "", 0 },
	{ "Version", "string", "", 0 },        { "Internal-IP", "string", "", 1 },
	{ "External-IP", "string", "", 1 },    { "OS-Image", "string", "", 1 },
	{ "Kernel-Version", "string", "", 1 }, { "Container-Runtime", "string", "", 1 }, { 0 } };
static const struct col deploy_cols[] = {
	{ "Name", "string", "name", 0 },  { "Ready", "string", "", 0 },
	{ "Up-to-date", "integer", "", 0 }, { "Available", "integer", "", 0 },
	{ "Age", "string", "", 0 },       { "Containers", "string", "", 1 },
	{ "Images", "string", "", 1 },    { "Selector", "string", "", 1 }, { 0 } };
static const struct col rs_cols[] = {
	{ "Name", "string", "name", 0 }, { "Desired", "integer", "", 0 },
	{ "Current", "integer", "", 0 }, { "Ready", "integer", "", 0 },
	{ "Age", "string", "", 0 },      { "Containers", "string", "", 1 },
	{ "Images", "string", "", 1 },   { "Selector", "string", "", 1 }, { 0 } };
static const struct col sts_cols[] = {
	{ "Name", "string", "name", 0 }, { "Ready", "string", "", 0 }, { "Age", "string", "", 0 },
	{ "Containers", "string", "", 1 }, { "Images", "string", "", 1 }, { 0 } };
static const struct col ds_cols[] = {
	{ "Name", "string", "name", 0 },     { "Desired", "integer", "", 0 },
	{ "Current", "integer", "", 0 },     { "Ready", "integer", "", 0 },
	{ "Up-to-date", "integer", "", 0 },  { "Available", "integer", "", 0 },
	{ "Node Selector", "string", "", 0 }, { "Age", "string", "", 0 },
	{ "Containers", "string", "", 1 },   { "Images", "string", "", 1 },
	{ "Selector", "string", "", 1 },     { 0 } };
static const struct col svc_cols[] = {
	{ "Name", "string", "name", 0 },      { "Type", "string", "", 0 },
	{ "Cluster-IP", "string", "", 0 },    { "External-IP", "string", "", 0 },
	{ "Port(s)", "string", "", 0 },       { "Age", "string", "", 0 },
	{ "Selector", "string", "", 1 },      { 0 } };
static const struct col ns_cols[] = {
	{ "Name", "string", "name", 0 }, { "Status", "string", "", 0 }, { "Age", "string", "", 0 },
	{ 0 } };
static const struct col job_cols[] = {
	{ "Name", "string", "name", 0 },   { "Status", "string", "", 0 },
	{ "Completions", "string", "", 0 }, { "Duration", "string", "", 0 },
	{ "Age", "string", "", 0 },        { "Containers", "string", "", 1 },
	{ "Images", "string", "", 1 },     { "Selector", "string", "", 1 }, { 0 } };
static const struct col cm_cols[] = {
	{ "Name", "string", "name", 0 }, { "Data", "integer", "", 0 }, { "Age", "string", "", 0 },
	{ 0 } };
static const struct col secret_cols[] = {
	{ "Name", "string", "name", 0 }, { "Type", "string", "", 0 },
	{ "Data", "integer", "", 0 },    { "Age", "string", "", 0 }, { 0 } };
static const struct col event_cols[] = {
	{ "Last Seen", "string", "", 0 }, { "Type", "string", "", 0 },
	{ "Reason", "string", "", 0 },    { "Object", "string", "", 0 },
	{ "Message", "string", "", 0 },   { 0 } };
static const struct col pvc_cols[] = {
	{ "Name", "string", "name", 0 },     { "Status", "string", "", 0 },
	{ "Volume", "string", "", 0 },       { "Capacity", "string", "", 0 },
	{ "Access Modes", "string", "", 0 }, { "StorageClass", "string", "", 0 },
	{ "VolumeAttributesClass", "string", "", 0 }, { "Age", "string", "", 0 },
	{ "VolumeMode", "string", "", 1 },   { 0 } };
static const struct col pv_cols[] = {
	{ "Name", "string", "name", 0 },       { "Capacity", "string", "", 0 },
	{ "Access Modes", "string", "", 0 },   { "Reclaim Policy", "string", "", 0 },
	{ "Status", "string", "", 0 },         { "Claim", "string", "", 0 },
	{ "StorageClass", "string", "", 0 },   { "VolumeAttributesClass", "string", "", 0 },
	{ "Reason", "string", "", 0 },         { "Age", "string", "", 0 },
	{ "VolumeMode", "string", "", 1 },     { 0 } };
static const struct col pc_cols[] = {
	{ "Name", "string", "name", 0 },          { "Value", "integer", "", 0 },
	{ "Global-Default", "boolean", "", 0 },   { "Age", "string", "", 0 },
	{ "PreemptionPolicy", "string", "", 0 }, { 0 } };

static const struct col eps_cols[] = {
	{ "Name", "string", "name", 0 },      { "AddressType", "string", "", 0 },
	{ "Ports", "string", "", 0 },         { "Endpoints", "string", "", 0 },
	{ "Age", "string", "", 0 },           { 0 } };

/* metrics-server's columns for NodeMetrics and PodMetrics. */
static const struct col metrics_cols[] = {
	{ "Name", "string", "name", 0 }, { "CPU", "string", "", 0 },
	{ "Memory", "string", "", 0 },   { "Window", "string", "", 0 }, { 0 } };

static const struct col cronjob_cols[] = {
	{ "Name", "string", "name", 0 },      { "Schedule", "string", "", 0 },
	{ "Timezone", "string", "", 0 },      { "Suspend", "boolean", "", 0 },
	{ "Active", "integer", "", 0 },       { "Last Schedule", "string", "", 0 },
	{ "Age", "string", "", 0 },           { "Containers", "string", "", 1 },
	{ "Images", "string", "", 1 },        { "Selector", "string", "", 1 }, { 0 } };
static const struct col ingress_cols[] = {
	{ "Name", "string", "name", 0 }, { "Class", "string", "", 0 },
	{ "Hosts", "string", "", 0 },    { "Address", "string", "", 0 },
	{ "Ports", "string", "", 0 },    { "Age", "string", "", 0 }, { 0 } };
static const struct col netpol_cols[] = {
	{ "Name", "string", "name", 0 }, { "Pod-Selector", "string", "", 0 },
	{ "Age", "string", "", 0 }, { 0 } };
static const struct col pdb_cols[] = {
	{ "Name", "string", "name", 0 },           { "Min Available", "string", "", 0 },
	{ "Max Unavailable", "string", "", 0 },    { "Allowed Disruptions", "integer", "", 0 },
	{ "Age", "string", "", 0 },                { 0 } };
static const struct col sa_cols[] = {
	{ "Name", "string", "name", 0 }, { "Secrets", "string", "", 0 },
	{ "Age", "string", "", 0 }, { 0 } };
static const struct col rb_cols[] = {
	{ "Name", "string", "name", 0 }, { "Role", "string", "", 0 },
	{ "Age", "string", "", 0 },      { "Users", "string", "", 1 },
	{ "Groups", "string", "", 1 },   { "ServiceAccounts", "string", "", 1 }, { 0 } };
static const struct col lease_cols[] = {
	{ "Name", "string", "name", 0 }, { "Holder", "string", "", 0 },
	{ "Age", "string", "", 0 }, { 0 } };
static const struct col rq_cols[] = {
	{ "Name", "string", "name", 0 }, { "Age", "string", "", 0 },
	{ "Request", "string", "", 0 }, { "Limit", "string", "", 0 }, { 0 } };
static const struct col cr_cols[] = {
	{ "Name", "string", "name", 0 }, { "Controller", "string", "", 0 },
	{ "Revision", "string", "", 0 }, { "Age", "string", "", 0 }, { 0 } };
static const struct col ep_cols[] = {
	{ "Name", "string", "name", 0 }, { "Endpoints", "string", "", 0 },
	{ "Age", "string", "", 0 }, { 0 } };

static const struct col hpa_cols[] = {
	{ "Name", "string", "name", 0 }, { "Reference", "string", "", 0 },
	{ "Targets", "string", "", 0 },  { "MinPods", "string", "", 0 },
	{ "MaxPods", "string", "", 0 },  { "Replicas", "string", "", 0 },
	{ "Age", "string", "", 0 },      { 0 } };

static const struct col *cols_of(enum kp_table_kind k)
{
	switch (k) {
	case KP_TABLE_POD: return pod_cols;
	case KP_TABLE_NODE: return node_cols;
	case KP_TABLE_DEPLOYMENT: return deploy_cols;
	case KP_TABLE_REPLICASET: return rs_cols;
	case KP_TABLE_STATEFULSET: return sts_cols;
	case KP_TABLE_DAEMONSET: return ds_cols;
	case KP_TABLE_SERVICE: return svc_cols;
	case KP_TABLE_NAMESPACE: return ns_cols;
	case KP_TABLE_JOB: return job_cols;
	case KP_TABLE_CONFIGMAP: return cm_cols;
	case KP_TABLE_SECRET: return secret_cols;
	case KP_TABLE_EVENT: return event_cols;
	case KP_TABLE_PVC: return pvc_cols;
	case KP_TABLE_PV: return pv_cols;
	case KP_TABLE_PRIORITYCLASS: return pc_cols;
	case KP_TABLE_ENDPOINTSLICE: return eps_cols;
	case KP_TABLE_PODMETRICS:
	case KP_TABLE_NODEMETRICS: return metrics_cols;
	case KP_TABLE_CRONJOB: return cronjob_cols;
	case KP_TABLE_INGRESS: return ingress_cols;
	case KP_TABLE_NETWORKPOLICY: return netpol_cols;
	case KP_TABLE_PDB: return pdb_cols;
	case KP_TABLE_SERVICEACCOUNT: return sa_cols;
	case KP_TABLE_ROLEBINDING: return rb_cols;
	case KP_TABLE_LEASE: return lease_cols;
	case KP_TABLE_CONTROLLERREVISION: return cr_cols;
	case KP_TABLE_ENDPOINTS: return ep_cols;
	case KP_TABLE_HPA: return hpa_cols;
	case KP_TABLE_RESOURCEQUOTA: return rq_cols;
	default: return default_cols;
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * kubectl's REQUEST and LIMIT of a ResourceQuota: "name: used/hard, ..." for
 * each resource of spec.hard in name order, limits.* in LIMIT. used and hard
 * come from status (0 when not there yet); kplane runs no quota controller,
 * so hard falls back to spec.hard.
 */
static void quota_cells(const json_t *o, json_t *cells)
{
	json_t *hard = kp_obj_get(o, "spec.hard");
	size_t n = json_object_size(hard), i = 0;
	const char **names = n ? calloc(n, sizeof(*names)) : NULL;
	const char *k;
	json_t *v;
	json_object_foreach ((json_t *)hard, k, v)
		if (names)
			names[i++] = k;
	if (names)
		qsort(names, n, sizeof(*names), cmp_str);
	struct kp_buf req = { 0 }, lim = { 0 };
	for (i = 0; names && i < n; i++) {
		struct kp_buf *b = !strncmp(names[i], "limits.", 7) ? &lim : &req;
		json_t *u = json_object_get(kp_obj_get(o, "status.used"), names[i]);
		json_t *h = json_object_get(kp_obj_get(o, "status.hard"), names[i]);
		if (!json_is_string(h))
			h = json_object_get(hard, names[i]);
		if (b->len)
			kp__buf_adds(b, ", ");
		kp__buf_addf(b, "%s: %s/%s", names[i], json_is_string(u) ? json_string_value(u) : "0",
			     json_is_string(h) ? json_string_value(h) : "0");
	}
	free(names);
	json_array_append_new(cells, json_string(req.p ? req.p : ""));
	json_array_append_new(cells, json_string(lim.p ? lim.p : ""));
	kp__buf_release(&req);
	kp__buf_release(&lim);
}

/* "a,b" of a field of each container in the template (containers names / images). */
static json_t *containers_join(const json_t *obj, const char *spec_path, const char *field)
{
	char p[128];
	snprintf(p, sizeof(p), "%s.containers", spec_path);
	json_t *cs = kp_obj_get(obj, p);
	struct kp_buf b = { 0 };
	size_t i;
	json_t *c;
	json_array_foreach (cs, i, c) {
		const char *s = kp_obj_str(c, field);
		if (b.len)
			kp__buf_add(&b, ",", 1);
		kp__buf_adds(&b, s ? s : "");
	}
	json_t *r = json_string(b.p ? b.p : "");
	kp__buf_release(&b);
	return r;
}

static json_t *selector_str(const json_t *obj, const char *path)
{
	json_t *sel = kp_obj_get(obj, path);
	struct kp_label_selector *ls = NULL;
	if (!sel || kp_label_selector_from_json(sel, &ls, NULL))
		return json_string("<none>");
	char *s = kp_label_selector_string(ls);
	kp_label_selector_free(ls);
	json_t *r = json_string(s && *s ? s : "<none>");
	free(s);
	return r;
}

static json_t *map_str(const json_t *obj, const char *path)
{
	json_t *m = kp_obj_get(obj, path);
	struct kp_buf b = { 0 };
	const char *k;
	json_t *v;
	json_object_foreach (m, k, v) {
		if (b.len)
			kp__buf_add(&b, ",", 1);
		kp__buf_addf(&b, "%s=%s", k, json_string_value(v) ? json_string_value(v) : "");
	}
	json_t *r = json_string(b.len ? b.p : "<none>");
	kp__buf_release(&b);
	return r;
}

static void pod_cells(json_t *cells, const json_t *pod)
{
	json_t *cs = kp_obj_get(pod, "spec.containers");
	size_t total = json_array_size(cs);
	size_t ready = 0;
	json_int_t restarts = 0;
	const char *reason = kp_obj_str(pod, "status.phase");
	if (kp_obj_str(pod, "status.reason"))
		reason = kp_obj_str(pod, "status.reason");
	bool running = false;
	json_t *st = kp_obj_get(pod, "status.containerStatuses");
	for (size_t i = json_array_size(st); i-- > 0;) {
		json_t *c = json_array_get(st, i);
		restarts += json_integer_value(json_object_get(c, "restartCount"));
		const char *w = kp_obj_str(c, "state.waiting.reason");
		const char *t = kp_obj_str(c, "state.terminated.reason");
		if (w && *w)
			reason = w;
		else if (t && *t)
			reason = t;
		else if (kp_obj_get(c, "state.terminated"))
			reason = "Error";
		else if (kp_obj_bool(c, "ready", false) && kp_obj_get(c, "state.running")) {
			running = true;
			ready++;
		}
	}
	if (reason && !strcmp(reason, "Completed") && running)
		reason = "Running";
	if (kp_obj_str(pod, "metadata.deletionTimestamp"))
		reason = (kp_obj_str(pod, "status.reason") &&
			  !strcmp(kp_obj_str(pod, "status.reason"), "NodeLost")) ?
				 "Unknown" :
				 "Terminating";
	char buf[64];
	snprintf(buf, sizeof(buf), "%zu/%zu", ready, total);
	json_array_append_new(cells, json_string(buf));
	json_array_append_new(cells, json_string(reason ? reason : "Unknown"));
	snprintf(buf, sizeof(buf), "%lld", (long long)restarts);
	json_array_append_new(cells, json_string(buf));
	json_array_append_new(cells, age_of(pod, "metadata.creationTimestamp"));
	json_array_append_new(cells, str_or(pod, "status.podIP", "<none>"));
	json_array_append_new(cells, str_or(pod, "spec.nodeName", "<none>"));
	json_array_append_new(cells, str_or(pod, "status.nominatedNodeName", "<none>"));
	json_t *gates = kp_obj_get(pod, "spec.readinessGates");
	if (!json_array_size(gates)) {
		json_array_append_new(cells, json_string("<none>"));
	} else {
		size_t n = json_array_size(gates), ok = 0, i, j;
		json_t *g, *c;
		json_array_foreach (gates, i, g)
			json_array_foreach (kp_obj_get(pod, "status.conditions"), j, c)
				if (!strcmp(kp_obj_str(c, "type") ?: "", kp_obj_str(g, "conditionType") ?: "-") &&
				    !strcmp(kp_obj_str(c, "status") ?: "", "True"))
					ok++;
		snprintf(buf, sizeof(buf), "%zu/%zu", ok, n);
		json_array_append_new(cells, json_string(buf));
	}
}

static void node_cells(json_t *cells, const json_t *node)
{
	const char *ready = "Unknown";
	size_t i;
	json_t *c;
	json_array_foreach (kp_obj_get(node, "status.conditions"), i, c)
		if (!strcmp(kp_obj_str(c, "type") ?: "", "Ready")) {
			const char *s = kp_obj_str(c, "status") ?: "";
			ready = !strcmp(s, "True") ? "Ready" : !strcmp(s, "False") ? "NotReady" :
										    "Unknown";
		}
	char status[64];
	snprintf(status, sizeof(status), "%s%s", ready,
		 kp_obj_bool(node, "spec.unschedulable", false) ? ",SchedulingDisabled" : "");
	json_array_append_new(cells, json_string(status));
	struct kp_buf roles = { 0 };
	const char *k;
	json_t *v;
	json_object_foreach (kp_obj_labels(node), k, v) {
		const char *role = NULL;
		if (!strncmp(k, "node-role.kubernetes.io/", 24) && k[24])
			role = k + 24;
		else if (!strcmp(k, "kubernetes.io/role") && json_string_value(v))
			role = json_string_value(v);
		if (role) {
			if (roles.len)
				kp__buf_add(&roles, ",", 1);
			kp__buf_adds(&roles, role);
		}
	}
	json_array_append_new(cells, json_string(roles.len ? roles.p : "<none>"));
	kp__buf_release(&roles);
	json_array_append_new(cells, age_of(node, "metadata.creationTimestamp"));
	json_array_append_new(cells, str_or(node, "status.nodeInfo.kubeletVersion", ""));
	const char *iip = "<none>", *eip = "<none>";
	json_array_foreach (kp_obj_get(node, "status.addresses"), i, c) {
		const char *t = kp_obj_str(c, "type") ?: "";
		if (!strcmp(t, "InternalIP"))
			iip = kp_obj_str(c, "address") ?: "<none>";
		else if (!strcmp(t, "ExternalIP"))
			eip = kp_obj_str(c, "address") ?: "<none>";
	}
	json_array_append_new(cells, json_string(iip));
	json_array_append_new(cells, json_string(eip));
	json_array_append_new(cells, str_or(node, "status.nodeInfo.osImage", "<unknown>"));
	json_array_append_new(cells, str_or(node, "status.nodeInfo.kernelVersion", "<unknown>"));
	json_array_append_new(cells,
			      str_or(node, "status.nodeInfo.containerRuntimeVersion", "<unknown>"));
}

static void svc_cells(json_t *cells, const json_t *svc)
{
	const char *type = kp_obj_str(svc, "spec.type") ?: "ClusterIP";
	json_array_append_new(cells, json_string(type));
	json_array_append_new(cells, str_or(svc, "spec.clusterIP", "<none>"));
	const char *ext = "<none>";
	if (!strcmp(type, "ExternalName"))
		ext = kp_obj_str(svc, "spec.externalName") ?: "<none>";
	else if (!strcmp(type, "LoadBalancer"))
		ext = "<pending>";
	json_array_append_new(cells, json_string(ext));
	struct kp_buf b = { 0 };
	size_t i;
	json_t *p;
	json_array_foreach (kp_obj_get(svc, "spec.ports"), i, p) {
		if (b.len)
			kp__buf_add(&b, ",", 1);
		kp__buf_addf(&b, "%lld", (long long)json_integer_value(json_object_get(p, "port")));
		if (json_integer_value(json_object_get(p, "nodePort")))
			kp__buf_addf(&b, ":%lld",
				     (long long)json_integer_value(json_object_get(p, "nodePort")));
		kp__buf_addf(&b, "/%s", kp_obj_str(p, "protocol") ?: "TCP");
	}
	json_array_append_new(cells, json_string(b.len ? b.p : "<none>"));
	kp__buf_release(&b);
	json_array_append_new(cells, age_of(svc, "metadata.creationTimestamp"));
	json_array_append_new(cells, map_str(svc, "spec.selector"));
}

/*
 * kubectl's listWithMoreString: the first three joined by ",", then
 * " + N more..."; "<unset>" when empty. b holds the shown items.
 */
static json_t *more_str(struct kp_buf *b, size_t count)
{
	if (count > 3)
		kp__buf_addf(b, " + %zu more...", count - 3);
	json_t *s = json_string(b->len ? b->p : "<unset>");
	kp__buf_release(b);
	return s;
}

/* EndpointSlice: ports (number, else name, else "*") and addresses, as kubectl prints them. */
static void eps_cells(json_t *cells, const json_t *o)
{
	json_array_append_new(cells, str_or(o, "addressType", ""));
	struct kp_buf b = { 0 };
	size_t i, j, n = 0;
	json_t *p, *e, *a;
	json_array_foreach (kp_obj_get(o, "ports"), i, p) {
		if (n++ >= 3)
			continue;
		if (b.len)
			kp__buf_add(&b, ",", 1);
		json_t *port = json_object_get(p, "port");
		const char *name = kp_obj_str(p, "name");
		if (json_is_integer(port))
			kp__buf_addf(&b, "%lld", (long long)json_integer_value(port));
		else
			kp__buf_adds(&b, name ? name : "*");
	}
	json_array_append_new(cells, more_str(&b, n));
	n = 0;
	json_array_foreach (kp_obj_get(o, "endpoints"), i, e) {
		json_array_foreach (json_object_get(e, "addresses"), j, a) {
			if (n++ >= 3 || !json_is_string(a))
				continue;
			if (b.len)
				kp__buf_add(&b, ",", 1);
			kp__buf_adds(&b, json_string_value(a));
		}
	}
	json_array_append_new(cells, more_str(&b, n));
	json_array_append_new(cells, age_of(o, "metadata.creationTimestamp"));
}

/* The sum of usage[res] over usages (an array of usage maps); canonical quantity. */
static json_t *usage_sum(json_t *usages, const char *res)
{
	struct kp_quantity sum = kp_quantity_make(0, 0, KP_QUANTITY_DECIMAL_SI), q;
	size_t i;
	json_t *u;
	json_array_foreach (usages, i, u) {
		const char *v = json_string_value(json_object_get(u, res));
		if (v && !kp_quantity_parse(v, &q, NULL))
			kp_quantity_add(&sum, &q);
	}
	char buf[KP_QUANTITY_BUFSZ];
	return json_string(kp_quantity_format(&sum, buf));
}

/* NodeMetrics (usage) and PodMetrics (containers[].usage summed) as metrics-server shows them. */
static void metrics_cells(json_t *cells, const json_t *o, bool pod)
{
	json_t *usages = json_array();
	size_t i;
	json_t *c;
	if (pod)
		json_array_foreach (kp_obj_get(o, "containers"), i, c)
			json_array_append(usages, json_object_get(c, "usage"));
	else if (kp_obj_get(o, "usage"))
		json_array_append(usages, kp_obj_get(o, "usage"));
	json_array_append_new(cells, usage_sum(usages, "cpu"));
	json_array_append_new(cells, usage_sum(usages, "memory"));
	json_array_append_new(cells, str_or(o, "window", ""));
	json_decref(usages);
}

/* An int-or-string field as IntOrString.String() prints it; def when unset. */
static json_t *intstr_or(const json_t *obj, const char *path, const char *def)
{
	json_t *v = kp_obj_get(obj, path);
	if (json_is_integer(v)) {
		char buf[32];
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
		return json_string(buf);
	}
	return json_string(json_is_string(v) ? json_string_value(v) : def);
}

/* Ingress hosts as kubectl's formatHosts: the first three hosts, then
 * " + N more..." counting rules; "*" when no rule names a host. */
static json_t *ingress_hosts(const json_t *o)
{
	json_t *rules = kp_obj_get(o, "spec.rules");
	struct kp_buf b = { 0 };
	size_t i, n = 0;
	bool more = false;
	json_t *r;
	json_array_foreach (rules, i, r) {
		if (n == 3)
			more = true;
		const char *h = kp_obj_str(r, "host");
		if (!more && h && *h) {
			if (b.len)
				kp__buf_add(&b, ",", 1);
			kp__buf_adds(&b, h);
			n++;
		}
	}
	if (!n) {
		kp__buf_release(&b);
		return json_string("*");
	}
	if (more)
		kp__buf_addf(&b, " + %zu more...", json_array_size(rules) - 3);
	json_t *s = json_string(b.p);
	kp__buf_release(&b);
	return s;
}

/* Load-balancer ingress points (IP, else hostname), sorted and unique,
 * clipped to 16 bytes ("..." at the end) as kubectl does outside -o wide. */
static json_t *lb_address(const json_t *o)
{
	const char *v[64];
	size_t n = 0, i;
	json_t *e;
	json_array_foreach (kp_obj_get(o, "status.loadBalancer.ingress"), i, e) {
		const char *a = kp_obj_str(e, "ip");
		if (!a || !*a)
			a = kp_obj_str(e, "hostname");
		if (a && *a && n < 64)
			v[n++] = a;
	}
	for (size_t x = 1; x < n; x++)
		for (size_t y = x; y > 0 && strcmp(v[y - 1], v[y]) > 0; y--) {
			const char *t = v[y];
			v[y] = v[y - 1];
			v[y - 1] = t;
		}
	struct kp_buf b = { 0 };
	for (i = 0; i < n; i++) {
		if (i && !strcmp(v[i], v[i - 1]))
			continue;
		if (b.len)
			kp__buf_add(&b, ",", 1);
		kp__buf_adds(&b, v[i]);
	}
	if (b.len > 16) {
		b.p[13] = '.', b.p[14] = '.', b.p[15] = '.', b.p[16] = 0;
	}
	json_t *s = json_string(b.len ? b.p : "");
	kp__buf_release(&b);
	return s;
}

/* RoleBinding subjects as rbac's SubjectsStrings: users, groups and
 * service accounts ("ns/name"), each joined by ", ". */
static void binding_subjects(json_t *cells, const json_t *o)
{
	struct kp_buf u = { 0 }, g = { 0 }, sa = { 0 };
	size_t i;
	json_t *s;
	json_array_foreach (kp_obj_get(o, "subjects"), i, s) {
		const char *k = kp_obj_str(s, "kind") ?: "";
		const char *name = kp_obj_str(s, "name") ?: "";
		struct kp_buf *b = !strcmp(k, "User") ? &u : !strcmp(k, "Group") ? &g :
				   !strcmp(k, "ServiceAccount") ? &sa : NULL;
		if (!b)
			continue;
		if (b->len)
			kp__buf_adds(b, ", ");
		if (b == &sa)
			kp__buf_addf(b, "%s/%s", kp_obj_str(s, "namespace") ?: "", name);
		else
			kp__buf_adds(b, name);
	}
	struct kp_buf *all[] = { &u, &g, &sa };
	for (i = 0; i < 3; i++) {
		json_array_append_new(cells, json_string(all[i]->len ? all[i]->p : ""));
		kp__buf_release(all[i]);
	}
}

/* Endpoints as kubectl's formatEndpoints: "ip:port" for every port and
 * address of every subset (the address alone without ports), the first three,
 * then " + N more..."; "<none>" when there are none. */
static json_t *endpoints_str(const json_t *o)
{
	struct kp_buf b = { 0 };
	size_t count = 0, i, j, k;
	json_t *ss, *a, *p;
	json_array_foreach (kp_obj_get(o, "subsets"), i, ss) {
		json_t *ports = json_object_get(ss, "ports");
		json_t *addrs = json_object_get(ss, "addresses");
		if (!json_array_size(ports)) {
			json_array_foreach (addrs, j, a)
				if (count++ < 3)
					kp__buf_addf(&b, "%s%s", b.len ? "," : "",
						     kp_obj_str(a, "ip") ?: "");
			continue;
		}
		json_array_foreach (ports, k, p)
			json_array_foreach (addrs, j, a)
				if (count++ < 3)
					kp__buf_addf(&b, "%s%s:%lld", b.len ? "," : "",
						     kp_obj_str(a, "ip") ?: "",
						     (long long)json_integer_value(
							     json_object_get(p, "port")));
	}
	if (count > 3)
		kp__buf_addf(&b, " + %zu more...", count - 3);
	json_t *s = json_string(b.len ? b.p : "<none>");
	kp__buf_release(&b);
	return s;
}

/* A ControllerRevision's controller as "kind.group/name" (lower-case kind). */
static json_t *controller_of(const json_t *o)
{
	size_t i;
	json_t *r;
	json_array_foreach (kp_obj_get(o, "metadata.ownerReferences"), i, r) {
		if (!kp_obj_bool(r, "controller", false))
			continue;
		const char *av = kp_obj_str(r, "apiVersion") ?: "";
		const char *slash = strchr(av, '/');
		char buf[512];
		int n = snprintf(buf, sizeof(buf), "%s", kp_obj_str(r, "kind") ?: "");
		for (int c = 0; c < n && c < (int)sizeof(buf); c++)
			buf[c] = (char)tolower((unsigned char)buf[c]);
		if (slash && n >= 0 && (size_t)n < sizeof(buf))
			n += snprintf(buf + n, sizeof(buf) - (size_t)n, ".%.*s", (int)(slash - av), av);
		if (n >= 0 && (size_t)n < sizeof(buf))
			snprintf(buf + n, sizeof(buf) - (size_t)n, "/%s", kp_obj_str(r, "name") ?: "");
		return json_string(buf);
	}
	return json_string("<none>");
}

/* Access modes as GetAccessModesAsString: the short forms present, in the
 * order RWO, ROX, RWX, RWOP, joined by ",". */
static json_t *access_modes(const json_t *modes)
{
	static const char *const longs[] = { "ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany",
					     "ReadWriteOncePod" };
	static const char *const shorts[] = { "RWO", "ROX", "RWX", "RWOP" };
	char buf[32] = "";
	for (size_t k = 0; k < 4; k++) {
		size_t i;
		json_t *m;
		json_array_foreach (modes, i, m)
			if (json_is_string(m) && !strcmp(json_string_value(m), longs[k])) {
				if (*buf)
					strcat(buf, ",");
				strcat(buf, shorts[k]);
				break;
			}
	}
	return json_string(buf);
}

/* A quantity or integer of a metric target or current value, as a string. */
static const char *qty_at(const json_t *o, const char *path, char *buf, size_t n)
{
	json_t *v = kp_obj_get(o, path);
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, n, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	return NULL;
}

/*
 * An autoscaling/v2 HPA's metrics as kubectl's formatHPAMetrics: per metric
 * "current/target" with "<unknown>" for a current value the status lacks,
 * resources prefixed by their name ("cpu: <unknown>/70%"), "(avg)" after
 * an Object or External average; the first two, then " + N more...".
 */
static json_t *hpa_targets(const json_t *o)
{
	json_t *specs = kp_obj_get(o, "spec.metrics");
	json_t *sts = kp_obj_get(o, "status.currentMetrics");
	if (!json_array_size(specs))
		return json_string("<none>");
	struct kp_buf b = { 0 };
	size_t i, count = 0;
	json_t *m;
	json_array_foreach (specs, i, m) {
		count++;
		if (count > 2)
			continue;
		const char *type = kp_obj_str(m, "type") ?: "";
		json_t *st = json_array_get(sts, i);
		char item[512], cb[32], tb[32];
		const char *cur = NULL, *tgt;
		if (b.len)
			kp__buf_adds(&b, ", ");
		if (!strcmp(type, "Resource") || !strcmp(type, "ContainerResource")) {
			const char *src = !strcmp(type, "Resource") ? "resource" : "containerResource";
			char p[96];
			snprintf(p, sizeof(p), "%s.target.averageValue", src);
			const char *name = kp_obj_str(m, !strcmp(src, "resource") ? "resource.name" :
										    "containerResource.name") ?: "";
			if ((tgt = qty_at(m, p, tb, sizeof(tb)))) {
				snprintf(p, sizeof(p), "%s.current.averageValue", src);
				cur = qty_at(st, p, cb, sizeof(cb));
				snprintf(item, sizeof(item), "%s: %s/%s", name, cur ? cur : "<unknown>", tgt);
			} else {
				char ct[32] = "<unknown>", tt[32] = "<auto>";
				snprintf(p, sizeof(p), "%s.current.averageUtilization", src);
				if (json_is_integer(kp_obj_get(st, p)))
					snprintf(ct, sizeof(ct), "%lld%%", (long long)intv(st, p));
				snprintf(p, sizeof(p), "%s.target.averageUtilization", src);
				if (json_is_integer(kp_obj_get(m, p)))
					snprintf(tt, sizeof(tt), "%lld%%", (long long)intv(m, p));
				snprintf(item, sizeof(item), "%s: %s/%s", name, ct, tt);
			}
		} else if (!strcmp(type, "Pods")) {
			cur = qty_at(st, "pods.current.averageValue", cb, sizeof(cb));
			tgt = qty_at(m, "pods.target.averageValue", tb, sizeof(tb));
			snprintf(item, sizeof(item), "%s/%s", cur ? cur : "<unknown>", tgt ? tgt : "");
		} else if (!strcmp(type, "Object") || !strcmp(type, "External")) {
			const char *src = !strcmp(type, "Object") ? "object" : "external";
			char p[96];
			snprintf(p, sizeof(p), "%s.target.averageValue", src);
			bool avg = (tgt = qty_at(m, p, tb, sizeof(tb))) != NULL;
			if (!avg) {
				snprintf(p, sizeof(p), "%s.target.value", src);
				tgt = qty_at(m, p, tb, sizeof(tb));
			}
			snprintf(p, sizeof(p), "%s.current.%s", src, avg ? "averageValue" : "value");
			cur = qty_at(st, p, cb, sizeof(cb));
			snprintf(item, sizeof(item), "%s/%s%s", cur ? cur : "<unknown>", tgt ? tgt : "",
				 avg ? " (avg)" : "");
		} else {
			snprintf(item, sizeof(item), "<unknown type>");
		}
		kp__buf_adds(&b, item);
	}
	if (count > 2)
		kp__buf_addf(&b, " + %zu more...", count - 2);
	json_t *r = json_string(b.p);
	kp__buf_release(&b);
	return r;
}

static json_t *row_object(const json_t *obj, const char *include)
{
	if (include && !strcmp(include, "None"))
		return NULL;
	if (include && !strcmp(include, "Object"))
		return json_incref((json_t *)obj);
	json_t *md = kp_obj_get(obj, "metadata");
	return json_pack("{s:s, s:s, s:O}", "kind", "PartialObjectMetadata", "apiVersion",
			 "meta.k8s.io/v1", "metadata", md ? md : json_object());
}

static json_t *row_for(const struct kp_resource *res, const json_t *o)
{
	json_t *cells = json_array();
	char buf[64];
	if (res->table != KP_TABLE_EVENT)
		json_array_append_new(cells, str_or(o, "metadata.name", ""));
	switch (res->table) {
	case KP_TABLE_POD:
		pod_cells(cells, o);
		break;
	case KP_TABLE_NODE:
		node_cells(cells, o);
		break;
	case KP_TABLE_DEPLOYMENT:
		snprintf(buf, sizeof(buf), "%lld/%lld", (long long)intv(o, "status.readyReplicas"),
			 (long long)intv(o, "spec.replicas"));
		json_array_append_new(cells, json_string(buf));
		json_array_append_new(cells, json_integer(intv(o, "status.updatedReplicas")));
		json_array_append_new(cells, json_integer(intv(o, "status.availableReplicas")));
		json_array_append_new(cells, age_of(o, "metadata.creationTimestamp"));
		json_array_append_new(cells, containers_join(o, "spec.template.spec", "name"));
		json_array_append_new(cells, containers_join(o, "spec.template.spec", "image"));
		json_array_append_new(cells, selector_str(o, "spec.selector"));
		break;
	case KP_TABLE_REPLICASET:
		json_array_append_new(cells, json_integer(intv(o, "spec.replicas")));
		json_array_append_new(cells, json_integer(intv(o, "status.replicas")));
		json_array_append_new(cells, json_integer(intv(o, "status.readyReplicas")));
		json_array_append_new(cells, age_of(o, "metadata.creationTimestamp"));
		json_array_append_new(cells, containers_join(o, "spec.template.spec", "name"));
		json_array_append_new(cells, containers_join(o, "spec.template.spec", "image"));
		json_array_append_new(cells, selector_str(o, "spec.selector"));
		break;
	case KP_TABLE_STATEFULSET:
		snprintf(buf, sizeof(buf), "%lld/%lld", (long long)intv(o, "status.readyReplicas"),
			 (long long)intv(o, "spec.replicas"));
		json_array_append_new(cells, json_string(buf));
		json_array_append_new(cells, age_of(o, "metadata.creationTimestamp"));
		json_array_append_new(cells, containers_join(o, "spec.template.spec", "name"));
		json_array_append_new(cells, containers_join(o, "spec.template.spec", "image"));
		break;
	case KP_TABLE_DAEMONSET:
		json_array_append_new(cells, json_integer(intv(o, "status.desiredNumberScheduled")));
		json_array_append_new(cells, json_integer(intv(o, "status.currentNumberScheduled")));
		json_array_append_new(cells, json_integer(intv(o, "status.numberReady")));
		json_array_append_new(cells, json_integer(intv(o, "status.updatedNumberScheduled")));
		json_array_append_new(cells, json_integer(intv(o, "status.numberAvailable")));
		json_array_append_new(cells, map_str(o, "spec.template.spec.nodeSelector"));
		json_array_append_new(cells, age_of(o, "metadata.creationTimestamp"));
		json_array_append_new(cells, containers_join(o, "spec.template.spec", "name"));
		json_array_append_new(cells, containers_join(o, "spec.template.spec", "image"));
		json_array_append_new(cells, selector_str(o, "spec.selector"));
		break;
	case KP_TABLE_SERVICE:
		svc_cells(cells, o);
		break;
	case KP_TABLE_NAMESPACE:
		json_array_append_new(cells, str_or(o, "status.phase", "Active"));
		json_array_append_new(cells, age_of(o, "metadata.creationTimestamp"));
		break;
	case KP_TABLE_JOB: {
		/* kubectl's order: Complete, Failed, Terminating, Suspended,
		 * FailureTarget, else Running. */
		bool cond[4] = { false };
		static const char *const types[] = { "Complete", "Failed", "Suspended",
						     "FailureTarget" };
		size_t i;
		json_t *c;
		json_array_foreach (kp_obj_get(o, "status.conditions"), i, c) {
			const char *t = kp_obj_str(c, "type") ?: "";
			for (size_t k = 0; k < 4; k++)
				if (!strcmp(t, types[k]))
					cond[k] = !strcmp(kp_obj_str(c, "status") ?: "", "True");
		}
		const char *status = cond[0] ? "Complete" :
				     cond[1] ? "Failed" :
				     kp_obj_str(o, "metadata.deletionTimestamp") ? "Terminating" :
				     cond[2] ? "Suspended" :
				     cond[3] ? "FailureTarget" :
					       "Running";
		json_array_append_new(cells, json_string(status));
		if (kp_obj_get(o, "spec.completions"))
			snprintf(buf, sizeof(buf), "%lld/%lld", (long long)intv(o, "status.succeeded"),
				 (long long)intv(o, "spec.completions"));
		else if (intv(o, "spec.parallelism") > 1)
			snprintf(buf, sizeof(buf), "%lld/1 of %lld", (long long)intv(o, "status.succeeded"),
				 (long long)intv(o, "spec.parallelism"));
		else
			snprintf(buf, sizeof(buf), "%lld/1", (long long)intv(o, "status.succeeded"));
		json_array_append_new(cells, json_string(buf));
		int64_t s, e;
		const char *st = kp_obj_str(o, "status.startTime");
		const char *ct = kp_obj_str(o, "status.completionTime");
		if (st && !kp_time_parse(st, &s)) {
			if (!ct || kp_time_parse(ct, &e))
				e = kp_time_now();
			human_duration(e - s, buf, sizeof(buf));
			json_array_append_new(cells, json_string(buf));
		} else {
			json_array_append_new(cells, json_string(""));
		}
		json_array_append_new(cells, age_of(o, "metadata.creationTimestamp"));
		json_array_append_new(cells, containers_join(o, "spec.template.spec", "name"));
		json_array_append_new(cells, containers_join(o, "spec.template.spec", "image"));
		json_array_append_new(cells, selector_str(o, "spec.selector"));
		break;
	}
	case KP_TABLE_CONFIGMAP:
		json_array_append_new(cells,
				      json_integer((json_int_t)(json_object_size(kp_obj_get(o, "data")) +
								json_object_size(kp_obj_get(o, "binaryData")))));
		json_array_append_new(cells, age_of(o, "metadata.creationTimestamp"));
		break;
	case KP_TABLE_SECRET:
		json_array_append_new(cells, str_or(o, "type", "Opaque"));
		json_array_append_new(cells,
				      json_integer((json_int_t)json_object_size(kp_obj_get(o, "data"))));
		json_array_append_new(cells, age_of(o, "metadata.creationTimestamp"));
		break;
	case KP_TABLE_EVENT: {
		const char *last = kp_obj_str(o, "lastTimestamp") ? "lastTimestamp" :
				   kp_obj_str(o, "eventTime")   ? "eventTime" :
								  "metadata.creationTimestamp";
		json_array_append_new(cells, age_of(o, last));
		json_array_append_new(cells, str_or(o, "type", ""));
		json_array_append_new(cells, str_or(o, "reason", ""));
		/* kubectl's printer: strings.ToLower(kind) + "/" + name. */
		char obj[320];
		const char *kind = kp_obj_str(o, "involvedObject.kind") ?: "";
		int n = snprintf(obj, sizeof(obj), "%s/%s", kind,
				 kp_obj_str(o, "involvedObject.name") ?: "");
		for (int i = 0; i < n && i < (int)sizeof(obj) && obj[i] != '/'; i++)
			obj[i] = (char)tolower((unsigned char)obj[i]);
		json_array_append_new(cells, json_string(obj));
		json_array_append_new(cells, str_or(o, "message", ""));
		break;
	}
	case KP_TABLE_PVC: {
		json_array_append_new(cells, kp_obj_str(o, "metadata.deletionTimestamp") ?
						     json_string("Terminating") :
						     str_or(o, "status.phase", "Pending"));
		json_array_append_new(cells, str_or(o, "spec.volumeName", ""));
		json_array_append_new(cells, str_or(o, "status.capacity.storage", ""));
		json_array_append_new(cells, access_modes(kp_obj_get(o, "status.accessModes")));
		json_array_append_new(cells, str_or(o, "spec.storageClassName", "<unset>"));
		json_array_append_new(cells, str_or(o, "spec.volumeAttributesClassName", "<unset>"));
		json_array_append_new(cells, age_of(o, "metadata.creationTimestamp"));
		json_array_append_new(cells, str_or(o, "spec.volumeMode", "<unset>"));
		break;
	}
	case KP_TABLE_PV: {
		json_array_append_new(cells, str_or(o, "spec.capacity.storage", ""));
		json_array_append_new(cells, access_modes(kp_obj_get(o, "spec.accessModes")));
		json_array_append_new(cells, str_or(o, "spec.persistentVolumeReclaimPolicy", ""));
		json_array_append_new(cells, kp_obj_str(o, "metadata.deletionTimestamp") ?
						     json_string("Terminating") :
						     str_or(o, "status.phase", ""));
		char claim[320] = "";
		if (kp_obj_str(o, "spec.claimRef.name"))
			snprintf(claim, sizeof(claim), "%s/%s",
				 kp_obj_str(o, "spec.claimRef.namespace") ?: "",
				 kp_obj_str(o, "spec.claimRef.name"));
		json_array_append_new(cells, json_string(claim));
		json_array_append_new(cells, str_or(o, "spec.storageClassName", ""));
		json_array_append_new(cells, str_or(o, "spec.volumeAttributesClassName", "<unset>"));
		json_array_append_new(cells, str_or(o, "status.reason", ""));
		json_array_append_new(cells, age_of(o, "metadata.creationTimestamp"));
		json_array_append_new(cells, str_or(o, "spec.volumeMode", "<unset>"));
		break;
	}
	case KP_TABLE_PRIORITYCLASS:
		json_array_append_new(cells, json_integer(intv(o, "value")));
		json_array_append_new(cells, json_boolean(kp_obj_bool(o, "globalDefault", false)));
		json_array_append_new(cells, age_of(o, "metadata.creationTimestamp"));
		json_array_append_new(cells, str_or(o, "preemptionPolicy", "PreemptLowerPriority"));
		break;
	case KP_TABLE_ENDPOINTSLICE:
		eps_cells(cells, o);
		break;
	case KP_TABLE_PODMETRICS:
	case KP_TABLE_NODEMETRICS:
		metrics_cells(cells, o, res->table == KP_TABLE_PODMETRICS);
		break;
	case KP_TABLE_CRONJOB: {
		json_array_append_new(cells, str_or(o, "spec.schedule", ""));
		json_array_append_new(cells, str_or(o, "spec.timeZone", "<none>"));
		json_t *susp = kp_obj_get(o, "spec.suspend");
		json_array_append_new(cells, json_string(!json_is_boolean(susp) ? "<unset>" :
							  json_is_true(susp)      ? "True" :
										    "False"));
		json_array_append_new(
			cells, json_integer((json_int_t)json_array_size(kp_obj_get(o, "status.active"))));
		json_array_append_new(cells, kp_obj_str(o, "status.lastScheduleTime") ?
						     age_of(o, "status.lastScheduleTime") :
						     json_string("<none>"));
		json_array_append_new(cells, age_of(o, "metadata.creationTimestamp"));
		json_array_append_new(cells,
				      containers_join(o, "spec.jobTemplate.spec.template.spec", "name"));
		json_array_append_new(cells,
				      containers_join(o, "spec.jobTemplate.spec.template.spec", "image"));
		json_array_append_new(cells, selector_str(o, "spec.jobTemplate.spec.selector"));
		break;
	}
	case KP_TABLE_INGRESS:
		json_array_append_new(cells, str_or(o, "spec.ingressClassName", "<none>"));
		json_array_append_new(cells, ingress_hosts(o));
		json_array_append_new(cells, lb_address(o));
		json_array_append_new(cells, json_string(json_array_size(kp_obj_get(o, "spec.tls")) ?
								  "80, 443" :
								  "80"));
		json_array_append_new(cells, age_of(o, "metadata.creationTimestamp"));
		break;
	case KP_TABLE_NETWORKPOLICY:
		json_array_append_new(cells, selector_str(o, "spec.podSelector"));
		json_array_append_new(cells, age_of(o, "metadata.creationTimestamp"));
		break;
	case KP_TABLE_PDB:
		json_array_append_new(cells, intstr_or(o, "spec.minAvailable", "N/A"));
		json_array_append_new(cells, intstr_or(o, "spec.maxUnavailable", "N/A"));
		json_array_append_new(cells, json_integer(intv(o, "status.disruptionsAllowed")));
		json_array_append_new(cells, age_of(o, "metadata.creationTimestamp"));
		break;
	case KP_TABLE_SERVICEACCOUNT:
		json_array_append_new(
			cells, json_integer((json_int_t)json_array_size(kp_obj_get(o, "secrets"))));
		json_array_append_new(cells, age_of(o, "metadata.creationTimestamp"));
		break;
	case KP_TABLE_ROLEBINDING:
		snprintf(buf, sizeof(buf), "%s/", kp_obj_str(o, "roleRef.kind") ?: "");
		{
			char role[320];
			snprintf(role, sizeof(role), "%s%s", buf, kp_obj_str(o, "roleRef.name") ?: "");
			json_array_append_new(cells, json_string(role));
		}
		json_array_append_new(cells, age_of(o, "metadata.creationTimestamp"));
		binding_subjects(cells, o);
		break;
	case KP_TABLE_LEASE:
		json_array_append_new(cells, str_or(o, "spec.holderIdentity", ""));
		json_array_append_new(cells, age_of(o, "metadata.creationTimestamp"));
		break;
	case KP_TABLE_RESOURCEQUOTA:
		json_array_append_new(cells, age_of(o, "metadata.creationTimestamp"));
		quota_cells(o, cells);
		break;
	case KP_TABLE_CONTROLLERREVISION:
		json_array_append_new(cells, controller_of(o));
		json_array_append_new(cells, json_integer(intv(o, "revision")));
		json_array_append_new(cells, age_of(o, "metadata.creationTimestamp"));
		break;
	case KP_TABLE_HPA: {
		char ref[320];
		snprintf(ref, sizeof(ref), "%s/%s", kp_obj_str(o, "spec.scaleTargetRef.kind") ?: "",
			 kp_obj_str(o, "spec.scaleTargetRef.name") ?: "");
		json_array_append_new(cells, json_string(ref));
		/* A v1 object's targets as the stored v2 metrics say them. */
		json_t *v2 = NULL;
		const char *av = kp_obj_str(o, "apiVersion");
		if (av && !strcmp(av, "autoscaling/v1")) {
			v2 = json_deep_copy(o);
			kp__hpa_to_v2(v2);
		}
		json_array_append_new(cells, hpa_targets(v2 ? v2 : o));
		json_decref(v2);
		if (json_is_integer(kp_obj_get(o, "spec.minReplicas"))) {
			snprintf(buf, sizeof(buf), "%lld", (long long)intv(o, "spec.minReplicas"));
			json_array_append_new(cells, json_string(buf));
		} else {
			json_array_append_new(cells, json_string("<unset>"));
		}
		json_array_append_new(cells, json_integer(intv(o, "spec.maxReplicas")));
		json_array_append_new(cells, json_integer(intv(o, "status.currentReplicas")));
		json_array_append_new(cells, age_of(o, "metadata.creationTimestamp"));
		break;
	}
	case KP_TABLE_ENDPOINTS:
		json_array_append_new(cells, endpoints_str(o));
		json_array_append_new(cells, age_of(o, "metadata.creationTimestamp"));
		break;
	default:
		json_array_append_new(cells, str_or(o, "metadata.creationTimestamp", ""));
		break;
	}
	return cells;
}

json_t *kp__table(const struct kp_resource *res, json_t *items, const char *include_object,
		  const char *list_rv, const char *cont)
{
	if (res->crd)
		return kp__cr_table(res, items, include_object, list_rv, cont);
	if (!strcmp(res->plural, "customresourcedefinitions"))
		return kp__crd_table(items, include_object, list_rv, cont);
	json_t *defs = json_array();
	add_cols(defs, cols_of(res->table));
	json_t *rows = json_array();
	size_t i;
	json_t *o;
	json_array_foreach (items, i, o) {
		json_t *row = json_pack("{s:o}", "cells", row_for(res, o));
		json_t *ro = row_object(o, include_object);
		if (ro)
			json_object_set_new(row, "object", ro);
		json_array_append_new(rows, row);
	}
	json_t *md = json_object();
	if (list_rv)
		json_object_set_new(md, "resourceVersion", json_string(list_rv));
	if (cont)
		json_object_set_new(md, "continue", json_string(cont));
	return json_pack("{s:s, s:s, s:o, s:o, s:o}", "kind", "Table", "apiVersion",
			 "meta.k8s.io/v1", "metadata", md, "columnDefinitions", defs, "rows", rows);
}

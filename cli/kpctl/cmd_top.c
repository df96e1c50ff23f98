/*
 * cmd_top.c - `kpctl top pods|nodes`: resource usage from the
 * metrics.k8s.io/v1beta1 API (PodMetrics, NodeMetrics), printed as kubectl
 * top prints it: CPU in millicores ("250m"), memory in whole MiB ("64Mi"),
 * and for nodes the share of the node's allocatable, truncated to an
 * integer percent.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/object.h>
#include <kplane/quantity.h>

#include "cli/kpctl/kpctl.h"
#include "cli/kpctl/printers.h"

static const char *usage_top =
	"Display resource (CPU/memory) usage of pods or nodes, from the metrics.k8s.io API\n"
	"(served by kplane from node-sim's simulated usage).\n\n"
	"Usage:\n"
	"  kpctl top pods [NAME] [-n NS | -A] [-l SELECTOR] [--containers] [--sort-by cpu|memory]\n"
	"  kpctl top nodes [NAME] [-l SELECTOR] [--sort-by cpu|memory]\n";

#define METRICS_PREFIX "/apis/metrics.k8s.io/v1beta1"

/* Milli-units of a quantity string (cpu) or its value times 1000 (memory); 0 when absent. */
static int64_t milli(const json_t *v)
{
	struct kp_quantity q;
	const char *s = json_string_value(v);
	if (!s || kp_quantity_parse(s, &q, NULL))
		return 0;
	return kp_quantity_milli_sat(&q);
}

/* kubectl's cells: "%vm" of the cpu MilliValue, "%vMi" of the memory Value / 2^20. */
static void fmt_usage(int64_t cpu_m, int64_t mem_m, char *cpu, size_t nc, char *mem, size_t nm)
{
	snprintf(cpu, nc, "%lldm", (long long)cpu_m);
	/* Value() rounds the milli-value up to whole bytes. */
	int64_t bytes = mem_m / 1000 + (mem_m % 1000 ? 1 : 0);
	snprintf(mem, nm, "%lldMi", (long long)(bytes / (1024 * 1024)));
}

/* True when discovery lists metrics.k8s.io (kubectl: "Metrics API not available"). */
static bool metrics_served(struct kpctl *k)
{
	for (size_t i = 0; i < k->disc->n; i++)
		if (!strcmp(k->disc->res[i].group, "metrics.k8s.io"))
			return true;
	return false;
}

/*
 * GETs path; returns the decoded body (new reference) or NULL with the
 * error printed as kubectl prints it.
 */
static json_t *get_json(struct kpctl *k, const char *path)
{
	struct kpc_response r;
	char *em = NULL;
	if (kpc_request(k->client, "GET", path, NULL, NULL, NULL, 0, &r, &em)) {
		kpctl_err("%s", em ? em : "request failed");
		free(em);
		return NULL;
	}
	json_t *out = NULL;
	if (r.status >= 300)
		kpctl_server_err(&r, NULL);
	else if (!json_is_object(r.json))
		kpctl_err("the server sent a response that is not JSON for %s", path);
	else
		out = json_incref(r.json);
	kpc_response_release(&r);
	return out;
}

/* "?labelSelector=<escaped>" or "" into buf. */
static void selector_query(const char *sel, char *buf, size_t n)
{
	buf[0] = 0;
	if (!sel || !*sel)
		return;
	char *e = kpc_escape(sel);
	snprintf(buf, n, "?labelSelector=%s", e ? e : "");
	free(e);
}

/* Sum of usage.<res> over obj's containers (pods) or of its usage (nodes), in milli-units. */
static int64_t total(const json_t *obj, const char *res)
{
	json_t *u = kp_obj_get(obj, "usage");
	if (u)
		return milli(json_object_get(u, res));
	int64_t sum = 0;
	size_t i;
	json_t *ct;
	json_array_foreach(json_object_get(obj, "containers"), i, ct)
		sum += milli(kp_obj_getv(ct, "usage", res, NULL));
	return sum;
}

struct ranked {
	json_t *obj;
	int64_t usage;
	size_t idx; /* the server's order, to break ties (qsort is not stable) */
};

static int by_usage(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;
	if (x->usage != y->usage)
		return x->usage > y->usage ? -1 : 1; /* largest first, as kubectl's --sort-by */
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Sorts items (in place) by descending usage of res ("cpu"/"memory"); NULL: unchanged. */
static void sort_items(json_t *items, const char *res)
{
	size_t n = json_array_size(items);
	if (!res || n < 2)
		return;
	struct ranked *v = calloc(n, sizeof(*v));
	if (!v)
		return;
	for (size_t i = 0; i < n; i++) {
		v[i].obj = json_incref(json_array_get(items, i));
		v[i].usage = total(v[i].obj, res);
		v[i].idx = i;
	}
	qsort(v, n, sizeof(*v), by_usage);
	json_array_clear(items);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(items, v[i].obj);
	free(v);
}

/* The items of a list, or the one object of a get, as a new array. */
static json_t *items_of(json_t *body, bool one)
{
	if (one)
		return json_pack("[O]", body);
	json_t *items = json_object_get(body, "items");
	return json_is_array(items) ? json_incref(items) : json_array();
}

static int top_pods(struct kpctl *k, char **pos, int npos, bool all_ns, const char *sel,
		    bool containers, bool no_headers, const char *sort_by)
{
	char q[1024], path[2048];
	if (npos > 1)
		return kpctl_usage_err(k, "only one pod name may be given");
	if (npos && sel)
		return kpctl_usage_err(k, "only one of NAME or --selector can be provided");
	selector_query(sel, q, sizeof(q));
	if (npos) {
		char *n = kpc_escape(pos[0]);
		snprintf(path, sizeof(path), METRICS_PREFIX "/namespaces/%s/pods/%s", k->namespace,
			 n ? n : "");
		free(n);
	} else if (all_ns) {
		snprintf(path, sizeof(path), METRICS_PREFIX "/pods%s", q);
	} else {
		snprintf(path, sizeof(path), METRICS_PREFIX "/namespaces/%s/pods%s", k->namespace, q);
	}
	json_t *body = get_json(k, path);
	if (!body)
		return 1;
	json_t *items = items_of(body, npos > 0);
	json_decref(body);
	sort_items(items, sort_by);
	if (!json_array_size(items)) {
		if (all_ns)
			fprintf(stderr, "No resources found\n");
		else
			fprintf(stderr, "No resources found in %s namespace.\n", k->namespace);
		json_decref(items);
		return 0;
	}
	struct kpc_table tab;
	kpc_table_init(&tab, stdout);
	if (!no_headers) {
		const char *h[] = { "NAMESPACE", "POD", "NAME", "CPU(cores)", "MEMORY(bytes)" };
		/* kubectl: NAMESPACE with -A; POD then the container's NAME with --containers. */
		const char *row[5];
		size_t n = 0;
		if (all_ns)
			row[n++] = h[0];
		if (containers)
			row[n++] = h[1];
		row[n++] = h[2];
		row[n++] = h[3];
		row[n++] = h[4];
		kpc_table_add(&tab, n, row);
	}
	size_t i, j;
	json_t *pm, *ct;
	json_array_foreach(items, i, pm) {
		const char *ns = kp_obj_namespace(pm), *name = kp_obj_name(pm);
		int64_t cpu = 0, mem = 0;
		char cs[64], ms[64];
		json_array_foreach(json_object_get(pm, "containers"), j, ct) {
			int64_t c = milli(kp_obj_get(ct, "usage.cpu"));
			int64_t m = milli(kp_obj_get(ct, "usage.memory"));
			cpu += c;
			mem += m;
			if (!containers)
				continue;
			fmt_usage(c, m, cs, sizeof(cs), ms, sizeof(ms));
			const char *row[5];
			size_t n = 0;
			if (all_ns)
				row[n++] = ns ? ns : "";
			row[n++] = name ? name : "";
			row[n++] = kp_obj_str(ct, "name") ? kp_obj_str(ct, "name") : "";
			row[n++] = cs;
			row[n++] = ms;
			kpc_table_add(&tab, n, row);
		}
		if (containers)
			continue;
		fmt_usage(cpu, mem, cs, sizeof(cs), ms, sizeof(ms));
		const char *row[4];
		size_t n = 0;
		if (all_ns)
			row[n++] = ns ? ns : "";
		row[n++] = name ? name : "";
		row[n++] = cs;
		row[n++] = ms;
		kpc_table_add(&tab, n, row);
	}
	kpc_table_flush(&tab);
	kpc_table_release(&tab);
	json_decref(items);
	return 0;
}

/* Integer percent of used over available (kubectl truncates); 0 when nothing is available. */
static long long percent(int64_t used, int64_t avail)
{
	return avail > 0 ? (long long)((double)used / (double)avail * 100.0) : 0;
}

static int top_nodes(struct kpctl *k, char **pos, int npos, const char *sel, bool no_headers,
		     const char *sort_by)
{
	char q[1024], mpath[2048], npath[2048];
	if (npos > 1)
		return kpctl_usage_err(k, "only one node name may be given");
	if (npos && sel)
		return kpctl_usage_err(k, "only one of NAME or --selector can be provided");
	selector_query(sel, q, sizeof(q));
	if (npos) {
		char *n = kpc_escape(pos[0]);
		snprintf(mpath, sizeof(mpath), METRICS_PREFIX "/nodes/%s", n ? n : "");
		snprintf(npath, sizeof(npath), "/api/v1/nodes/%s", n ? n : "");
		free(n);
	} else {
		snprintf(mpath, sizeof(mpath), METRICS_PREFIX "/nodes%s", q);
		snprintf(npath, sizeof(npath), "/api/v1/nodes%s", q);
	}
	json_t *mb = get_json(k, mpath);
	if (!mb)
		return 1;
	json_t *nb = get_json(k, npath);
	if (!nb) {
		json_decref(mb);
		return 1;
	}
	json_t *metrics = items_of(mb, npos > 0), *nodes = items_of(nb, npos > 0);
	json_decref(mb);
	json_decref(nb);
	sort_items(metrics, sort_by);
	/* Allocatable by node name; nodes without metrics are shown as <unknown>. */
	json_t *alloc = json_object();
	size_t i;
	json_t *o;
	json_array_foreach(nodes, i, o)
		if (kp_obj_name(o))
			json_object_set(alloc, kp_obj_name(o), kp_obj_get(o, "status.allocatable") ?
									 kp_obj_get(o, "status.allocatable") :
									 json_null());
	if (!json_array_size(metrics) && !json_object_size(alloc)) {
		fprintf(stderr, "No resources found\n");
		goto out;
	}
	struct kpc_table tab;
	kpc_table_init(&tab, stdout);
	if (!no_headers) {
		const char *h[] = { "NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)" };
		kpc_table_add(&tab, 5, h);
	}
	json_t *shown = json_object();
	json_array_foreach(metrics, i, o) {
		const char *name = kp_obj_name(o);
		json_t *a = name ? json_object_get(alloc, name) : NULL;
		if (!a)
			continue; /* kubectl shows the nodes it listed */
		int64_t cpu = milli(kp_obj_get(o, "usage.cpu")), mem = milli(kp_obj_get(o, "usage.memory"));
		char cs[64], ms[64], cp[32], mp[32];
		fmt_usage(cpu, mem, cs, sizeof(cs), ms, sizeof(ms));
		snprintf(cp, sizeof(cp), "%lld%%", percent(cpu, milli(json_object_get(a, "cpu"))));
		snprintf(mp, sizeof(mp), "%lld%%", percent(mem, milli(json_object_get(a, "memory"))));
		const char *row[] = { name, cs, cp, ms, mp };
		kpc_table_add(&tab, 5, row);
		json_object_set_new(shown, name, json_true());
	}
	const char *name;
	json_t *a;
	json_object_foreach(alloc, name, a) {
		if (json_object_get(shown, name))
			continue;
		const char *row[] = { name, "<unknown>", "<unknown>", "<unknown>", "<unknown>" };
		kpc_table_add(&tab, 5, row);
	}
	json_decref(shown);
	kpc_table_flush(&tab);
	kpc_table_release(&tab);
out:
	json_decref(alloc);
	json_decref(metrics);
	json_decref(nodes);
	return 0;
}

int kpctl_cmd_top(struct kpctl *k, int argc, char **argv)
{
	bool all_ns = false, containers = false, no_headers = false;
	const char *sel = NULL, *sort_by = NULL;
	struct kpc_opt opts[] = {
		{ "all-namespaces", 'A', KPC_OPT_BOOL, &all_ns, "Pods of every namespace", false },
		{ "selector", 'l', KPC_OPT_STRING, &sel, "Label selector to filter on", false },
		{ "containers", 0, KPC_OPT_BOOL, &containers, "Pods: one line per container", false },
		{ "no-headers", 0, KPC_OPT_BOOL, &no_headers, "Don't print headers", false },
		{ "sort-by", 0, KPC_OPT_STRING, &sort_by, "cpu or memory: largest first", false },
		{ NULL, 0, 0, NULL, NULL, false },
	};
	char **pos = NULL;
	int npos = 0, rc;
	k->usage = usage_top;
	if ((rc = kpctl_parse(k, argc, argv, opts, &pos, &npos)))
		return rc;
	rc = 1;
	if (!npos) {
		kpctl_usage_err(k, "a resource must be given: pods or nodes");
		goto out;
	}
	const char *what = pos[0];
	bool pods = !strcmp(what, "pods") || !strcmp(what, "pod") || !strcmp(what, "po");
	bool nodes = !strcmp(what, "nodes") || !strcmp(what, "node") || !strcmp(what, "no");
	if (!pods && !nodes) {
		kpctl_usage_err(k, "unknown resource \"%s\" for top: pods or nodes", what);
		goto out;
	}
	if (sort_by && strcmp(sort_by, "cpu") && strcmp(sort_by, "memory")) {
		kpctl_err("--sort-by accepts only cpu or memory");
		goto out;
	}
	if (kpctl_check_selectors(sel, NULL) || kpctl_discover(k))
		goto out;
	if (!metrics_served(k)) {
		kpctl_err("Metrics API not available");
		goto out;
	}
	rc = pods ? top_pods(k, pos + 1, npos - 1, all_ns, sel, containers, no_headers, sort_by) :
		    top_nodes(k, pos + 1, npos - 1, sel, no_headers, sort_by);
out:
	free(pos);
	return rc;
}

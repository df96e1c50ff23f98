/*
 * t6001-kpctl-units - kpctl's offline pieces: ages, table layout, flag
 * parsing, kubeconfig resolution, KIND resolution, manifest splitting,
 * apply's three-way merge patch and error wording. Expected values are
 * worked out by hand from kubectl's documented behaviour.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kplane/error.h>
#include <kplane/object.h>

#include "cli/kpctl/args.h"
#include "cli/kpctl/client.h"
#include "cli/kpctl/discovery.h"
#include "cli/kpctl/kubeconfig.h"
#include "cli/kpctl/manifest.h"
#include "cli/kpctl/patch.h"
#include "cli/kpctl/printers.h"
#include "t/tap.h"

static void test_durations(void)
{
	static const struct { long long s; const char *want; } cases[] = {
		{ -5, "<invalid>" }, { -2, "<invalid>" }, { -1, "0s" }, { 0, "0s" }, { 59, "59s" },
		{ 119, "119s" }, { 120, "2m" }, { 125, "2m5s" }, { 599, "9m59s" }, { 600, "10m" },
		{ 10799, "179m" }, { 10800, "3h" }, { 12600, "3h30m" }, { 28740, "7h59m" },
		{ 28800, "8h" }, { 47 * 3600 + 3599, "47h" }, { 48 * 3600, "2d" },
		{ 2 * 86400 + 3 * 3600, "2d3h" }, { 7 * 86400 + 23 * 3600 + 59 * 60, "7d23h" },
		{ 8 * 86400, "8d" }, { 364 * 86400, "364d" }, { 729 * 86400, "729d" },
		{ 730 * 86400LL, "2y" }, { (730 + 45) * 86400LL, "2y45d" }, { 2920 * 86400LL, "8y" },
		{ 3650 * 86400LL, "10y" },
	};
	char buf[KPC_AGE_BUFSZ];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_str(kpc_human_duration(cases[i].s, buf), cases[i].want, "HumanDuration(%llds)", cases[i].s);
	is_str(kpc_age("2024-01-01T00:00:00Z", 1704067200 + 200, buf), "3m20s", "age of a timestamp");
	is_str(kpc_age(NULL, 0, buf), "<unknown>", "age without a timestamp");
	is_str(kpc_age("yesterday", 0, buf), "<unknown>", "age of garbage");
}

static char *table_text(void (*fill)(struct kpc_table *))
{
	char *b = NULL;
	size_t bl = 0;
	FILE *m = open_memstream(&b, &bl);
	struct kpc_table t;
	kpc_table_init(&t, m);
	fill(&t);
	kpc_table_release(&t);
	fclose(m);
	return b;
}

static void fill_pods(struct kpc_table *t)
{
	const char *h[] = { "NAME", "READY", "STATUS", "RESTARTS", "AGE" };
	const char *r1[] = { "nginx", "1/1", "Running", "0", "5m" };
	const char *r2[] = { "web-7d4b9", "0/1", "Pending", "12", "3d4h" };
	kpc_table_add(t, 5, h);
	kpc_table_add(t, 5, r1);
	kpc_table_add(t, 5, r2);
	kpc_table_flush(t);
}

static void fill_watch(struct kpc_table *t)
{
	const char *h[] = { "NAME", "READY", "STATUS", "AGE" };
	const char *r1[] = { "a", "0/1", "Pending", "0s" };
	const char *r2[] = { "a", "0/1", "ContainerCreating", "1s" };
	const char *r3[] = { "a", "1/1", "Running", "2s" };
	kpc_table_add(t, 4, h);
	kpc_table_add(t, 4, r1);
	kpc_table_flush(t);
	kpc_table_add(t, 4, r2);
	kpc_table_flush(t);
	kpc_table_add(t, 4, r3);
	kpc_table_flush(t);
}

static void fill_narrow(struct kpc_table *t)
{
	const char *h[] = { "IP", "N", "X" };
	const char *r[] = { "-", "ü", "" };
	kpc_table_add(t, 3, h);
	kpc_table_add(t, 3, r);
	kpc_table_flush(t);
}

static void fill_multiline(struct kpc_table *t)
{
	const char *h[] = { "NAME", "DATA" };
	const char *r[] = { "two\nlines", "x" };
	kpc_table_add(t, 2, h);
	kpc_table_add(t, 2, r);
	kpc_table_flush(t);
}

static void test_tables(void)
{
	char *s = table_text(fill_pods);
	is_str(s, "NAME        READY   STATUS    RESTARTS   AGE\n"
		  "nginx       1/1     Running   0          5m\n"
		  "web-7d4b9   0/1     Pending   12         3d4h\n", "pods table: padding 3, last column bare");
	free(s);
	s = table_text(fill_watch);
	is_str(s, "NAME   READY   STATUS    AGE\n"
		  "a      0/1     Pending   0s\n"
		  "a      0/1     ContainerCreating   1s\n"
		  "a      1/1     Running             2s\n",
	       "watch rows: widths only grow across flushes");
	free(s);
	s = table_text(fill_narrow);
	is_str(s, "IP    N     X\n-     ü     \n", "minimum width 6, UTF-8 counted as one");
	free(s);
	s = table_text(fill_multiline);
	is_str(s, "NAME     DATA\ntwo...   x\n", "cells cut at a line break with ...");
	free(s);

	s = kpc_tabwrite("Name:\tx\nNamespace:\tdefault\nLabels:\ta=b\n\tc=d\nSpec:\n  Replicas:\t3\n", 0, 2);
	is_str(s, "Name:       x\nNamespace:  default\nLabels:     a=b\n            c=d\nSpec:\n  Replicas:  3\n",
	       "describe layout: blocks end at lines without a tab");
	free(s);
	s = kpc_tabwrite("Events:\n  Type\tReason\tAge\n  ----\t------\t---\n  Normal\tScheduled\t5s\n", 0, 2);
	is_str(s, "Events:\n  Type    Reason     Age\n  ----    ------     ---\n  Normal  Scheduled  5s\n",
	       "describe events table");
	free(s);
}

static void test_args(void)
{
	const char *ns = NULL, *out = NULL;
	bool all = false, watch = false;
	long replicas = -1;
	struct kpc_strlist files = { 0 };
	struct kpc_opt opts[] = {
		{ "all-namespaces", 'A', KPC_OPT_BOOL, &all, NULL, false },
		{ "watch", 'w', KPC_OPT_BOOL, &watch, NULL, false },
		{ "output", 'o', KPC_OPT_STRING, &out, NULL, false },
		{ "replicas", 0, KPC_OPT_INT, &replicas, NULL, false },
		{ "filename", 'f', KPC_OPT_LIST, &files, NULL, false },
		{ NULL, 0, 0, NULL, NULL, false },
	};
	struct kpc_opt glob[] = {
		{ "namespace", 'n', KPC_OPT_STRING, &ns, NULL, false },
		{ NULL, 0, 0, NULL, NULL, false },
	};
	char *argv1[] = { "get", "pods", "-Aw", "-ojson", "x", "--replicas=3", "-n", "kube-system",
			  "-f", "a.yaml", "--filename=b", "--", "-notaflag", NULL };
	char **pos = NULL, *em = NULL;
	int npos = 0;
	int rc = kpc_args_parse(13, argv1, opts, glob, &pos, &npos, &em);
	is_int(rc, 0, "flags anywhere, clustered, attached values");
	is_int(npos, 3, "three positional arguments");
	if (npos == 3) {
		is_str(pos[0], "pods", "pos 0");
		is_str(pos[1], "x", "pos 1");
		is_str(pos[2], "-notaflag", "after -- everything is positional");
	}
	ok(all && watch, "-Aw sets both booleans");
	is_str(out, "json", "-ojson");
	is_int(replicas, 3, "--replicas=3");
	is_str(ns, "kube-system", "global -n from the second table");
	is_int(files.n, 2, "repeatable -f");
	free(pos);
	kpc_strlist_release(&files);

	char *argv2[] = { "get", "--bogus", NULL };
	rc = kpc_args_parse(2, argv2, opts, glob, &pos, &npos, &em);
	is_int(rc, KP_EINVAL, "unknown long flag");
	is_str(em, "unknown flag: --bogus", "pflag's wording");
	free(em);
	em = NULL;
	char *argv3[] = { "get", "-x", NULL };
	rc = kpc_args_parse(2, argv3, opts, glob, &pos, &npos, &em);
	is_str(em, "unknown shorthand flag: 'x' in -x", "unknown shorthand");
	free(em);
	em = NULL;
	char *argv4[] = { "get", "-n", NULL };
	rc = kpc_args_parse(2, argv4, opts, glob, &pos, &npos, &em);
	is_str(em, "flag needs an argument: 'n' in -n", "missing value for a shorthand");
	free(em);
	em = NULL;
	char *argv5[] = { "scale", "--replicas", "three", NULL };
	rc = kpc_args_parse(3, argv5, opts, glob, &pos, &npos, &em);
	is_str(em, "invalid argument \"three\" for \"--replicas\" flag: strconv.ParseInt: parsing \"three\": invalid syntax",
	       "integer flag validated");
	free(em);
	em = NULL;
	char *argv6[] = { "get", "--watch=maybe", NULL };
	rc = kpc_args_parse(2, argv6, opts, glob, &pos, &npos, &em);
	is_int(rc, KP_EINVAL, "bad boolean value rejected");
	free(em);
	em = NULL;
	char *argv7[] = { "apply", "-f", "-", NULL };
	files.n = 0;
	rc = kpc_args_parse(3, argv7, opts, glob, &pos, &npos, &em);
	ok(rc == 0 && files.n == 1 && !strcmp(files.v[0], "-"), "-f - (stdin) is a value");
	free(pos);
	kpc_strlist_release(&files);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static void test_kubeconfig(void)
{
	char dir[] = "/tmp/t6001-XXXXXX", path[256], path2[256], home[256], *em = NULL;
	struct kpc_config cfg;
	if (!mkdtemp(dir)) {
		fail("mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/config", dir);
	snprintf(path2, sizeof(path2), "%s/second", dir);
	write_file(path,
		   "apiVersion: v1\nkind: Config\ncurrent-context: dev\n"
		   "clusters:\n- name: c1\n  cluster:\n    server: http://10.0.0.1:6443/\n"
		   "- name: c2\n  cluster:\n    server: https://prod.example:443\n    insecure-skip-tls-verify: true\n"
		   "    certificate-authority-data: aGVsbG8=\n"
		   "contexts:\n- name: dev\n  context:\n    cluster: c1\n    namespace: team-a\n    user: u\n"
		   "- name: prod\n  context:\n    cluster: c2\n"
		   "users:\n- name: u\n  user:\n    token: s3cret\n");
	struct kpc_config_flags fl = { .kubeconfig = path };
	is_int(kpc_config_load(&cfg, &fl, &em), 0, "kubeconfig loads");
	is_str(cfg.server, "http://10.0.0.1:6443", "current context's server, trailing / dropped");
	is_str(cfg.namespace, "team-a", "context namespace");
	is_str(cfg.token, "s3cret", "user token");
	kpc_config_release(&cfg);

	fl.context = "prod";
	is_int(kpc_config_load(&cfg, &fl, &em), 0, "--context prod");
	is_str(cfg.server, "https://prod.example:443", "prod server");
	ok(cfg.insecure, "insecure-skip-tls-verify");
	ok(cfg.ca_data && cfg.ca_len == 5 && !memcmp(cfg.ca_data, "hello", 5), "certificate-authority-data decoded");
	ok(cfg.namespace == NULL, "no namespace in prod context");
	kpc_config_release(&cfg);

	fl.context = "nope";
	is_int(kpc_config_load(&cfg, &fl, &em), KP_EINVAL, "unknown --context fails");
	is_str(em, "context was not found for specified context: nope", "kubectl's message");
	free(em);
	em = NULL;
	fl.context = NULL;

	fl.server = "127.0.0.1:9999";
	fl.env_server = "http://env:1";
	is_int(kpc_config_load(&cfg, &fl, &em), 0, "--server wins");
	is_str(cfg.server, "http://127.0.0.1:9999", "scheme-less --server gets http://");
	is_str(cfg.namespace, "team-a", "namespace still from the context");
	kpc_config_release(&cfg);
	fl.server = NULL;
	is_int(kpc_config_load(&cfg, &fl, &em), 0, "$KPLANE_SERVER");
	is_str(cfg.server, "http://env:1", "$KPLANE_SERVER beats the kubeconfig");
	kpc_config_release(&cfg);
	fl.env_server = NULL;

	/* $KUBECONFIG with a missing file first, then a partial file: first value wins. */
	write_file(path2, "current-context: prod\n");
	char list[600];
	snprintf(list, sizeof(list), "%s/missing:%s:%s", dir, path2, path);
	struct kpc_config_flags fl2 = { .env_kubeconfig = list };
	is_int(kpc_config_load(&cfg, &fl2, &em), 0, "$KUBECONFIG list");
	is_str(cfg.server, "https://prod.example:443", "current-context from the first file that sets it");
	kpc_config_release(&cfg);

	snprintf(home, sizeof(home), "%s/nohome", dir);
	struct kpc_config_flags fl3 = { .home = home };
	is_int(kpc_config_load(&cfg, &fl3, &em), 0, "no kubeconfig at all");
	is_str(cfg.server, KPC_DEFAULT_SERVER, "default server");
	kpc_config_release(&cfg);

	char missing[300];
	snprintf(missing, sizeof(missing), "%s/absent", dir);
	struct kpc_config_flags fl4 = { .kubeconfig = missing };
	ok(kpc_config_load(&cfg, &fl4, &em) != 0, "a missing --kubeconfig is an error");
	ok(em && strstr(em, "absent"), "message names the file: %s", em ? em : "(null)");
	free(em);
	em = NULL;

	write_file(path2, "clusters: [\n");
	struct kpc_config_flags fl5 = { .kubeconfig = path2 };
	ok(kpc_config_load(&cfg, &fl5, &em) != 0, "a broken kubeconfig is an error");
	ok(em && strstr(em, "error loading config file"), "message: %s", em ? em : "(null)");
	free(em);
	em = NULL;

	struct kpc_config_flags fl6 = { .server = "ftp://x" };
	ok(kpc_config_load(&cfg, &fl6, &em) != 0, "ftp:// rejected");
	free(em);
	em = NULL;
	unlink(path);
	unlink(path2);
	rmdir(dir);

	char *dec;
	size_t dl;
	ok(kpc_base64_decode("Zm9vYmFy", &dec, &dl) == 0 && dl == 6 && !strcmp(dec, "foobar"), "base64");
	free(dec);
	ok(kpc_base64_decode("Zm9v!", &dec, &dl) != 0, "bad base64 rejected");
}

static struct kpc_discovery *make_discovery(void)
{
	const char *order =
		"[{\"groupVersion\":\"v1\",\"preferred\":true},"
		" {\"groupVersion\":\"apps/v1\",\"preferred\":true},"
		" {\"groupVersion\":\"autoscaling/v2\",\"preferred\":true},"
		" {\"groupVersion\":\"autoscaling/v1\",\"preferred\":false},"
		" {\"groupVersion\":\"events.k8s.io/v1\",\"preferred\":true}]";
	const char *lists =
		"{\"v1\":{\"resources\":["
		"  {\"name\":\"pods\",\"singularName\":\"pod\",\"namespaced\":true,\"kind\":\"Pod\",\"shortNames\":[\"po\"],\"verbs\":[\"get\",\"list\"]},"
		"  {\"name\":\"pods/eviction\",\"namespaced\":true,\"kind\":\"Eviction\"},"
		"  {\"name\":\"nodes\",\"singularName\":\"\",\"namespaced\":false,\"kind\":\"Node\",\"shortNames\":[\"no\"]},"
		"  {\"name\":\"events\",\"singularName\":\"event\",\"namespaced\":true,\"kind\":\"Event\",\"shortNames\":[\"ev\"]}]},"
		" \"apps/v1\":{\"resources\":["
		"  {\"name\":\"deployments\",\"singularName\":\"deployment\",\"namespaced\":true,\"kind\":\"Deployment\",\"shortNames\":[\"deploy\"]},"
		"  {\"name\":\"deployments/scale\",\"namespaced\":true,\"kind\":\"Scale\"}]},"
		" \"autoscaling/v2\":{\"resources\":["
		"  {\"name\":\"horizontalpodautoscalers\",\"singularName\":\"horizontalpodautoscaler\",\"namespaced\":true,\"kind\":\"HorizontalPodAutoscaler\",\"shortNames\":[\"hpa\"]}]},"
		" \"autoscaling/v1\":{\"resources\":["
		"  {\"name\":\"horizontalpodautoscalers\",\"singularName\":\"horizontalpodautoscaler\",\"namespaced\":true,\"kind\":\"HorizontalPodAutoscaler\",\"shortNames\":[\"hpa\"]}]},"
		" \"events.k8s.io/v1\":{\"resources\":["
		"  {\"name\":\"events\",\"singularName\":\"event\",\"namespaced\":true,\"kind\":\"Event\",\"shortNames\":[\"ev\"]}]}}";
	json_t *o = json_loads(order, 0, NULL), *l = json_loads(lists, 0, NULL);
	struct kpc_discovery *d = NULL;
	char *em = NULL;
	int rc = kpc_discovery_from_json(o, l, &d, &em);
	is_int(rc, 0, "discovery from JSON%s%s", em ? ": " : "", em ? em : "");
	free(em);
	json_decref(o);
	json_decref(l);
	return d;
}

static void test_discovery(void)
{
	struct kpc_discovery *d = make_discovery();
	char *em = NULL;
	const struct kpc_resource *r;
	if (!d)
		return;
	static const struct { const char *arg, *name, *gv; } cases[] = {
		{ "po", "pods", "v1" }, { "pod", "pods", "v1" }, { "pods", "pods", "v1" }, { "Pod", "pods", "v1" },
		{ "PODS", "pods", "v1" }, { "no", "nodes", "v1" }, { "node", "nodes", "v1" },
		{ "deploy", "deployments", "apps/v1" }, { "deployments.apps", "deployments", "apps/v1" },
		{ "deployment.v1.apps", "deployments", "apps/v1" }, { "Deployment", "deployments", "apps/v1" },
		{ "hpa", "horizontalpodautoscalers", "autoscaling/v2" },
		{ "hpa.v1.autoscaling", "horizontalpodautoscalers", "autoscaling/v1" },
		{ "events", "events", "v1" }, { "ev", "events", "v1" },
		{ "events.events.k8s.io", "events", "events.k8s.io/v1" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = kpc_discovery_resolve(d, cases[i].arg, &em);
		ok(r && !strcmp(r->name, cases[i].name) && !strcmp(r->api_version, cases[i].gv),
		   "resolve %s -> %s %s (got %s %s)", cases[i].arg, cases[i].name, cases[i].gv,
		   r ? r->name : "-", r ? r->api_version : "-");
	}
	r = kpc_discovery_resolve(d, "nodes", &em);
	ok(r && !r->namespaced, "nodes are cluster-scoped");
	is_str(r ? r->singular : "", "node", "singular derived from kind when empty");
	r = kpc_discovery_resolve(d, "pods", &em);
	ok(r && (r->subresources & KPC_SUB_EVICTION), "pods/eviction seen");
	r = kpc_discovery_resolve(d, "deploy", &em);
	ok(r && (r->subresources & KPC_SUB_SCALE), "deployments/scale seen");
	r = kpc_discovery_resolve(d, "foo", &em);
	ok(!r, "unknown type");
	is_str(em, "the server doesn't have a resource type \"foo\"", "kubectl's message");
	free(em);
	em = NULL;
	ok(!kpc_discovery_resolve(d, "deployments.batch", &em), "wrong group");
	free(em);
	em = NULL;
	r = kpc_discovery_by_kind(d, "autoscaling/v1", "HorizontalPodAutoscaler", &em);
	ok(r && !strcmp(r->api_version, "autoscaling/v1"), "by kind uses the manifest's version");
	ok(!kpc_discovery_by_kind(d, "v1", "Widget", &em), "unknown kind");
	is_str(em, "no matches for kind \"Widget\" in version \"v1\"", "no matches message");
	free(em);
	em = NULL;

	r = kpc_discovery_resolve(d, "deploy", NULL);
	char *p = kpc_resource_path(r, "ns 1", "web", "scale");
	is_str(p, "/apis/apps/v1/namespaces/ns%201/deployments/web/scale", "namespaced path with subresource");
	free(p);
	p = kpc_resource_path(r, NULL, NULL, NULL);
	is_str(p, "/apis/apps/v1/deployments", "all-namespaces list path");
	free(p);
	r = kpc_discovery_resolve(d, "no", NULL);
	p = kpc_resource_path(r, "default", "n1", NULL);
	is_str(p, "/api/v1/nodes/n1", "cluster-scoped path ignores the namespace");
	free(p);
	kpc_discovery_free(d);
}

static void test_manifests(void)
{
	struct kpc_manifests m = { 0 };
	char *em = NULL;
	const char *y =
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n"
		"# only a comment\n---\n"
		"apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: p1\n"
		"- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: p2\n";
	is_int(kpc_manifests_parse(&m, y, strlen(y), "x.yaml", &em), 0, "multi-document YAML");
	is_int(m.n, 3, "empty document skipped, List expanded");
	if (m.n == 3) {
		is_str(kp_obj_name(m.v[0].obj), "a", "first object");
		is_str(kp_obj_name(m.v[2].obj), "p2", "last list item");
		is_str(m.v[1].source, "x.yaml", "source kept");
	}
	kpc_manifests_release(&m);
	const char *j = "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"j1\"}}\n"
			"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"j2\"}}";
	is_int(kpc_manifests_parse(&m, j, strlen(j), "s.json", &em), 0, "JSON stream");
	is_int(m.n, 2, "two JSON objects");
	kpc_manifests_release(&m);
	const char *bad = "apiVersion: v1\nmetadata:\n  name: x\n";
	is_int(kpc_manifests_parse(&m, bad, strlen(bad), "bad.yaml", &em), KP_EINVAL, "kind missing");
	is_str(em, "error validating \"bad.yaml\": error validating data: kind not set", "validation message");
	free(em);
	em = NULL;
	kpc_manifests_release(&m);
	const char *bad2 = "kind: Pod\n";
	kpc_manifests_parse(&m, bad2, strlen(bad2), "b2.yaml", &em);
	is_str(em, "error validating \"b2.yaml\": error validating data: apiVersion not set", "apiVersion missing");
	free(em);
	em = NULL;
	kpc_manifests_release(&m);
	const char *bad3 = "a: [1,\n";
	ok(kpc_manifests_parse(&m, bad3, strlen(bad3), "b3.yaml", &em) != 0, "broken YAML");
	ok(em && !strncmp(em, "error parsing b3.yaml: ", 23), "parse error names the file: %s", em ? em : "");
	free(em);
	em = NULL;
	kpc_manifests_release(&m);
	ok(kpc_manifests_read(&m, "/nonexistent/x.yaml", false, &em) == KP_ENOENT, "missing path");
	is_str(em, "the path \"/nonexistent/x.yaml\" does not exist", "kubectl's missing path message");
	free(em);
	kpc_manifests_release(&m);
}

static json_t *J(const char *s)
{
	json_t *v = json_loads(s, 0, NULL);
	if (!v)
		diag("bad JSON in test: %s", s);
	return v;
}

static void check_patch(const char *orig, const char *mod, const char *cur, const char *want, const char *name)
{
	json_t *o = orig ? J(orig) : NULL, *m = J(mod), *c = J(cur), *w = J(want);
	json_t *p = kpc_three_way_merge_patch(o, m, c);
	char *ps = p ? json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	char *ws = json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS);
	is_str(ps, ws, "%s", name);
	free(ps);
	free(ws);
	json_decref(o);
	json_decref(m);
	json_decref(c);
	json_decref(w);
	json_decref(p);
}

static void test_patch(void)
{
	check_patch("{\"spec\":{\"replicas\":2}}", "{\"spec\":{\"replicas\":2}}",
		    "{\"spec\":{\"replicas\":2,\"paused\":false},\"status\":{}}", "{}",
		    "unchanged manifest, defaults on the live object: empty patch");
	check_patch("{\"spec\":{\"replicas\":2}}", "{\"spec\":{\"replicas\":3}}",
		    "{\"spec\":{\"replicas\":2}}", "{\"spec\":{\"replicas\":3}}", "changed scalar");
	check_patch("{\"spec\":{\"replicas\":2}}", "{\"spec\":{\"replicas\":2}}",
		    "{\"spec\":{\"replicas\":5}}", "{\"spec\":{\"replicas\":2}}", "live drifted: manifest restores it");
	check_patch("{\"metadata\":{\"labels\":{\"a\":\"1\",\"b\":\"2\"}}}", "{\"metadata\":{\"labels\":{\"a\":\"1\"}}}",
		    "{\"metadata\":{\"labels\":{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\"}}}",
		    "{\"metadata\":{\"labels\":{\"b\":null}}}", "field dropped from the manifest is deleted; others' fields kept");
	check_patch("{\"c\":[{\"name\":\"x\",\"image\":\"a\"}]}", "{\"c\":[{\"name\":\"x\",\"image\":\"a\"}]}",
		    "{\"c\":[{\"name\":\"x\",\"image\":\"a\",\"pull\":\"Always\"}]}", "{}",
		    "list items with server defaults are a subset: no change");
	check_patch("{\"c\":[{\"name\":\"x\",\"image\":\"a\"}]}", "{\"c\":[{\"name\":\"x\",\"image\":\"b\"}]}",
		    "{\"c\":[{\"name\":\"x\",\"image\":\"a\",\"pull\":\"Always\"}]}",
		    "{\"c\":[{\"image\":\"b\",\"name\":\"x\"}]}", "changed list item: whole list replaced");
	check_patch("{\"c\":[{\"name\":\"x\",\"res\":{}}]}", "{\"c\":[{\"name\":\"x\"}]}",
		    "{\"c\":[{\"name\":\"x\",\"res\":{}}]}", "{\"c\":[{\"name\":\"x\"}]}",
		    "field removed inside a list item since last apply: list sent");
	check_patch(NULL, "{\"a\":1,\"n\":null}", "{\"a\":1.0,\"b\":2}", "{}",
		    "no last-applied: numbers compare by value, nulls mean absent");
	check_patch(NULL, "{\"a\":{\"b\":{\"c\":\"d\"}}}", "{}", "{\"a\":{\"b\":{\"c\":\"d\"}}}", "new subtree");

	json_t *t = J("{\"a\":{\"b\":1,\"c\":2},\"d\":[1]}");
	json_t *p = J("{\"a\":{\"b\":null,\"e\":{\"f\":null,\"g\":3}},\"d\":[2]}");
	kpc_merge_patch_apply(t, p);
	char *s = json_dumps(t, JSON_COMPACT | JSON_SORT_KEYS);
	is_str(s, "{\"a\":{\"c\":2,\"e\":{\"g\":3}},\"d\":[2]}", "RFC 7386 merge patch application");
	free(s);
	json_decref(t);
	json_decref(p);
}

static void test_names_and_errors(void)
{
	char *s = kpc_ref_name("Deployment", "apps/v1", "web");
	is_str(s, "deployment.apps/web", "ref name with group");
	free(s);
	s = kpc_ref_name("Pod", "v1", "x");
	is_str(s, "pod/x", "ref name of the core group");
	free(s);
	s = kpc_kind_group("HorizontalPodAutoscaler", "autoscaling/v2");
	is_str(s, "horizontalpodautoscaler.autoscaling", "kind.group");
	free(s);

	struct kpc_response r = { .status = 404 };
	r.json = J("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":\"pods \\\"x\\\" not found\","
		   "\"reason\":\"NotFound\",\"code\":404}");
	s = kpc_status_message(&r, NULL);
	is_str(s, "Error from server (NotFound): pods \"x\" not found", "NotFound");
	free(s);
	s = kpc_status_message(&r, "error when deleting \"p.yaml\"");
	is_str(s, "Error from server (NotFound): error when deleting \"p.yaml\": pods \"x\" not found", "with context");
	free(s);
	json_decref(r.json);
	r.status = 422;
	r.json = J("{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":\"Invalid\",\"code\":422,"
		   "\"message\":\"Pod \\\"p\\\" is invalid: ...\",\"details\":{\"name\":\"p\",\"kind\":\"Pod\","
		   "\"causes\":[{\"field\":\"spec.containers\",\"message\":\"Required value\"}]}}");
	s = kpc_status_message(&r, NULL);
	is_str(s, "The Pod \"p\" is invalid: spec.containers: Required value", "Invalid with one cause");
	free(s);
	json_decref(r.json);
	r.json = J("{\"kind\":\"Status\",\"reason\":\"Invalid\",\"code\":422,\"message\":\"m\",\"details\":{\"name\":\"p\","
		   "\"kind\":\"Pod\",\"causes\":[{\"field\":\"a\",\"message\":\"x\"},{\"field\":\"b\",\"message\":\"y\"}]}}");
	s = kpc_status_message(&r, NULL);
	is_str(s, "The Pod \"p\" is invalid: \n* a: x\n* b: y", "Invalid with two causes");
	free(s);
	json_decref(r.json);
	r.json = J("{\"kind\":\"Status\",\"code\":500,\"message\":\"boom\"}");
	s = kpc_status_message(&r, NULL);
	is_str(s, "Error from server: boom", "no reason");
	free(s);
	json_decref(r.json);
	r.json = NULL;
	r.status = 404;
	s = kpc_status_message(&r, NULL);
	is_str(s, "Error from server (NotFound): the server could not find the requested resource", "bare 404");
	free(s);
}

int main(void)
{
	test_durations();
	test_tables();
	test_args();
	test_kubeconfig();
	test_discovery();
	test_manifests();
	test_patch();
	test_names_and_errors();
	return done_testing();
}

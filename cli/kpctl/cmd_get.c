/*
 * cmd_get.c - `kpctl get`: server-side Tables printed as kubectl does,
 * -o wide|json|yaml|name, -l/--field-selector, -A, -w.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/error.h>
#include <kplane/object.h>

#include "cli/kpctl/kpctl.h"
#include "cli/kpctl/objects.h"
#include "cli/kpctl/printers.h"

enum out_mode { OUT_TABLE, OUT_WIDE, OUT_JSON, OUT_YAML, OUT_NAME };

struct get {
	struct kpctl *k;
	enum out_mode mode;
	bool all_ns, no_headers, show_labels, show_kind, ignore_not_found;
	const char *selector, *field_selector;
	struct kpc_table table;
	/* Current table's shape, fixed by the first Table seen for a type. */
	json_t *columns;     /* array of included column indexes (ints) */
	json_t *header;      /* array of header strings */
	bool header_printed;
	bool from_objects;   /* fallback NAME AGE from plain objects */
	const struct kpc_resource *res;
	json_t *rows_by_key; /* watch: last printed cells per "ns/name" */
	json_t *items;       /* -o json|yaml|name: collected objects */
	size_t printed;      /* rows printed for the current type */
	size_t yaml_docs;    /* -w -o yaml: documents printed ("---" goes between them) */
	int status;
};

static const char *usage_text =
	"Display one or many resources.\n\n"
	"Usage:\n"
	"  kpctl get TYPE[,TYPE...] [NAME...] [-n NS | -A] [-l SELECTOR] [--field-selector S]\n"
	"            [-o wide|json|yaml|name] [-w]\n"
	"  kpctl get TYPE/NAME...\n\n"
	"Examples:\n"
	"  kpctl get pods -A -o wide\n"
	"  kpctl get deploy,rs -l app=web\n"
	"  kpctl get node node-1 -o yaml\n";

static char *cell_text(const json_t *c)
{
	char *s = NULL;
	switch (json_typeof(c)) {
	case JSON_STRING: return strdup(json_string_value(c));
	case JSON_INTEGER:
		if (asprintf(&s, "%lld", (long long)json_integer_value(c)) < 0)
			s = NULL;
		return s;
	case JSON_REAL:
		if (asprintf(&s, "%g", json_real_value(c)) < 0)
			s = NULL;
		return s;
	case JSON_TRUE: return strdup("true");
	case JSON_FALSE: return strdup("false");
	case JSON_NULL: return strdup("");
	default: return json_dumps(c, JSON_COMPACT);
	}
}

static char *labels_text(const json_t *obj)
{
	json_t *l = kp_obj_labels(obj);
	if (!json_object_size(l))
		return strdup("<none>");
	/* Sorted key=value list, as kubectl's labels.FormatLabels. */
	size_t n = json_object_size(l), i = 0;
	const char **keys = calloc(n, sizeof(*keys));
	const char *key;
	json_t *v;
	char *b = NULL;
	size_t bl = 0;
	FILE *m;
	if (!keys)
		return NULL;
	json_object_foreach(l, key, v) keys[i++] = key;
	for (size_t a = 1; a < n; a++)
		for (size_t c = a; c > 0 && strcmp(keys[c - 1], keys[c]) > 0; c--) {
			const char *t = keys[c];
			keys[c] = keys[c - 1];
			keys[c - 1] = t;
		}
	m = open_memstream(&b, &bl);
	if (m) {
		for (i = 0; i < n; i++) {
			const char *val = json_string_value(json_object_get(l, keys[i]));
			fprintf(m, "%s%s=%s", i ? "," : "", keys[i], val ? val : "");
		}
		fclose(m);
	}
	free(keys);
	return b;
}

static void add_row(struct get *g, json_t *cells)
{
	size_t n = json_array_size(cells);
	const char **v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		v[i] = json_string_value(json_array_get(cells, i));
	if (!g->header_printed && !g->no_headers) {
		size_t hn = json_array_size(g->header);
		const char **h = calloc(hn ? hn : 1, sizeof(*h));
		if (h) {
			for (size_t i = 0; i < hn; i++)
				h[i] = json_string_value(json_array_get(g->header, i));
			kpc_table_add(&g->table, hn, h);
			free(h);
		}
	}
	g->header_printed = true;
	kpc_table_add(&g->table, n, v);
	free(v);
	g->printed++;
}

static char *upper(const char *s)
{
	char *u = strdup(s);
	for (char *p = u; p && *p; p++)
		*p = (char)toupper((unsigned char)*p);
	return u;
}

/* Fixes the table's shape from a server Table's columnDefinitions. */
static void shape_from_table(struct get *g, const json_t *table)
{
	if (g->columns)
		return;
	g->columns = json_array();
	g->header = json_array();
	if (g->all_ns && g->res->namespaced)
		json_array_append_new(g->header, json_string("NAMESPACE"));
	size_t i;
	json_t *cd;
	json_array_foreach(json_object_get(table, "columnDefinitions"), i, cd) {
		if (g->mode != OUT_WIDE && kp_obj_int(cd, "priority", 0) > 0)
			continue;
		const char *name = kp_obj_str(cd, "name");
		json_array_append_new(g->columns, json_integer((json_int_t)i));
		json_array_append_new(g->header, json_string_nocheck(""));
		char *u = upper(name ? name : "");
		json_array_set_new(g->header, json_array_size(g->header) - 1, json_string(u ? u : ""));
		free(u);
	}
	if (g->show_labels)
		json_array_append_new(g->header, json_string("LABELS"));
}

static void shape_from_objects(struct get *g)
{
	if (g->columns)
		return;
	g->from_objects = true;
	g->columns = json_array();
	g->header = json_array();
	if (g->all_ns && g->res->namespaced)
		json_array_append_new(g->header, json_string("NAMESPACE"));
	json_array_append_new(g->header, json_string("NAME"));
	json_array_append_new(g->header, json_string("AGE"));
	if (g->show_labels)
		json_array_append_new(g->header, json_string("LABELS"));
}

static char *prefixed_name(struct get *g, const char *name)
{
	if (!g->show_kind)
		return strdup(name ? name : "");
	return kpc_ref_name(g->res->kind, g->res->api_version, name);
}

static void remember(struct get *g, const json_t *obj, json_t *cells)
{
	char *key = NULL;
	const char *ns = kp_obj_namespace(obj), *name = kp_obj_name(obj);
	if (!g->rows_by_key || !name)
		return;
	if (asprintf(&key, "%s/%s", ns ? ns : "", name) >= 0)
		json_object_set(g->rows_by_key, key, cells);
	free(key);
}

/* One Table row -> printed cells. `obj` is row.object (may be NULL). */
static void table_row(struct get *g, const json_t *row)
{
	json_t *cells = json_array(), *src = json_object_get(row, "cells");
	const json_t *obj = json_object_get(row, "object");
	size_t i;
	json_t *ci;
	if (g->all_ns && g->res->namespaced) {
		const char *ns = kp_obj_namespace(obj);
		json_array_append_new(cells, json_string(ns ? ns : ""));
	}
	json_array_foreach(g->columns, i, ci) {
		json_t *c = json_array_get(src, (size_t)json_integer_value(ci));
		char *t = c ? cell_text(c) : strdup("");
		if (i == 0 && g->show_kind) {
			char *p = prefixed_name(g, t);
			free(t);
			t = p;
		}
		json_array_append_new(cells, json_string(t ? t : ""));
		free(t);
	}
	if (g->show_labels) {
		char *l = labels_text(obj);
		json_array_append_new(cells, json_string(l ? l : ""));
		free(l);
	}
	add_row(g, cells);
	remember(g, obj, cells);
	json_decref(cells);
}

static void object_row(struct get *g, const json_t *obj)
{
	json_t *cells = json_array();
	char age[KPC_AGE_BUFSZ];
	if (g->all_ns && g->res->namespaced) {
		const char *ns = kp_obj_namespace(obj);
		json_array_append_new(cells, json_string(ns ? ns : ""));
	}
	char *n = prefixed_name(g, kp_obj_name(obj));
	json_array_append_new(cells, json_string(n ? n : ""));
	free(n);
	json_array_append_new(cells, json_string(kpc_age(kp_obj_str(obj, "metadata.creationTimestamp"),
						       kp_time_now(), age)));
	if (g->show_labels) {
		char *l = labels_text(obj);
		json_array_append_new(cells, json_string(l ? l : ""));
		free(l);
	}
	add_row(g, cells);
	remember(g, obj, cells);
	json_decref(cells);
}

static bool is_table(const json_t *v)
{
	const char *kind = kp_obj_kind(v);
	return kind && !strcmp(kind, "Table") && json_is_array(json_object_get(v, "rows"));
}

/* Prints or collects one response body (a Table, a List or one object). */
static void consume(struct get *g, json_t *body)
{
	if (g->mode == OUT_JSON || g->mode == OUT_YAML || g->mode == OUT_NAME) {
		json_t *items = json_object_get(body, "items");
		if (json_is_array(items) && !json_object_get(body, "spec")) {
			size_t i;
			json_t *it;
			json_array_foreach(items, i, it) {
				if (!kp_obj_kind(it))
					json_object_set_new(it, "kind", json_string(g->res->kind));
				if (!kp_obj_api_version(it))
					json_object_set_new(it, "apiVersion", json_string(g->res->api_version));
				json_array_append(g->items, it);
			}
		} else {
			json_array_append(g->items, body);
		}
		return;
	}
	if (is_table(body)) {
		size_t i;
		json_t *row;
		shape_from_table(g, body);
		json_array_foreach(json_object_get(body, "rows"), i, row)
			table_row(g, row);
		return;
	}
	shape_from_objects(g);
	json_t *items = json_object_get(body, "items");
	if (json_is_array(items)) {
		size_t i;
		json_t *it;
		json_array_foreach(items, i, it)
			object_row(g, it);
	} else {
		object_row(g, body);
	}
}

static int add_selectors(struct get *g, char **path)
{
	char *np = NULL;
	const char *sep = strchr(*path, '?') ? "&" : "?";
	char *ls = g->selector ? kpc_escape(g->selector) : NULL;
	char *fs = g->field_selector ? kpc_escape(g->field_selector) : NULL;
	int r = asprintf(&np, "%s%s%s%s%s%s%s", *path,
			 ls || fs ? sep : "", ls ? "labelSelector=" : "", ls ? ls : "",
			 ls && fs ? "&" : "", fs ? "fieldSelector=" : "", fs ? fs : "");
	free(ls);
	free(fs);
	if (r < 0)
		return KP_ENOMEM;
	free(*path);
	*path = np;
	return 0;
}

static const char *accept_for(const struct get *g)
{
	return g->mode == OUT_TABLE || g->mode == OUT_WIDE ? KPC_ACCEPT_TABLE : KPC_CT_JSON;
}

/* GET of one path; prints server errors. Returns the body (new ref) or NULL. */
static json_t *get_body(struct get *g, const char *path, bool is_name, const char *name)
{
	struct kpc_response r;
	char *em = NULL;
	if (kpc_request(g->k->client, "GET", path, accept_for(g), NULL, NULL, 0, &r, &em)) {
		fprintf(stderr, "%s\n", em ? em : "request failed");
		free(em);
		g->status = 1;
		return NULL;
	}
	if (r.status != 200 || !json_is_object(r.json)) {
		if (!(is_name && r.status == 404 && g->ignore_not_found)) {
			if (r.status == 404 && is_name && !r.json) {
				/* no Status body: still say what was missing */
				char *kg = kpc_kind_group(g->res->kind, g->res->api_version);
				fprintf(stderr, "Error from server (NotFound): %s \"%s\" not found\n", g->res->name, name);
				free(kg);
			} else {
				kpctl_server_err(&r, NULL);
			}
			g->status = 1;
		}
		kpc_response_release(&r);
		return NULL;
	}
	json_t *b = json_incref(r.json);
	kpc_response_release(&r);
	return b;
}

struct watch_ctx {
	struct get *g;
	int rc;
};

static int on_event(json_t *ev, void *arg)
{
	struct watch_ctx *w = arg;
	struct get *g = w->g;
	const char *type = kp_obj_str(ev, "type");
	json_t *obj = json_object_get(ev, "object");
	if (!type || !obj)
		return 0;
	if (!strcmp(type, "BOOKMARK"))
		return 0;
	if (!strcmp(type, "ERROR")) {
		struct kpc_response r = { .status = kp_obj_int(obj, "code", 500), .json = obj };
		kpctl_server_err(&r, NULL);
		w->rc = 1;
		return 1;
	}
	if (g->mode == OUT_JSON) {
		kpc_print_json(stdout, obj);
		fflush(stdout);
		return 0;
	}
	if (g->mode == OUT_YAML) {
		if (g->yaml_docs++)
			fputs("---\n", stdout);
		kpc_print_yaml(stdout, obj, NULL);
		fflush(stdout);
		return 0;
	}
	if (g->mode == OUT_NAME) {
		char *n = kpc_ref_name(g->res->kind, g->res->api_version, kp_obj_name(obj));
		printf("%s\n", n ? n : "");
		free(n);
		fflush(stdout);
		return 0;
	}
	if (is_table(obj)) {
		size_t i;
		json_t *row;
		shape_from_table(g, obj);
		json_array_foreach(json_object_get(obj, "rows"), i, row)
			table_row(g, row);
	} else if (g->from_objects || !g->columns) {
		shape_from_objects(g);
		object_row(g, obj);
	} else {
		/* The server sent a plain object although our columns are the
		 * server's: reprint the last row for a deletion, else ask for
		 * the object's Table row. */
		char *key = NULL;
		const char *ns = kp_obj_namespace(obj), *name = kp_obj_name(obj);
		json_t *cells = NULL;
		if (asprintf(&key, "%s/%s", ns ? ns : "", name ? name : "") >= 0)
			cells = json_object_get(g->rows_by_key, key);
		free(key);
		if (!strcmp(type, "DELETED") && cells) {
			add_row(g, cells);
		} else if (name) {
			char *path = kpc_resource_path(g->res, ns, name, NULL);
			json_t *b = path ? get_body(g, path, true, name) : NULL;
			if (b && is_table(b)) {
				size_t i;
				json_t *row;
				json_array_foreach(json_object_get(b, "rows"), i, row)
					table_row(g, row);
			} else if (cells) {
				add_row(g, cells);
			}
			json_decref(b);
			free(path);
		}
	}
	kpc_table_flush(&g->table);
	return 0;
}

static int do_watch(struct get *g, const struct kpc_target *t, const char *rv)
{
	char *path = kpc_resource_path(t->res, g->all_ns ? NULL : t->ns, NULL, NULL), *em = NULL, *errbody = NULL;
	char *np = NULL;
	long status = 0;
	struct watch_ctx w = { g, 0 };
	if (!path || add_selectors(g, &path))
		return kpctl_err("out of memory");
	if (asprintf(&np, "%s%cwatch=true%s%s", path, strchr(path, '?') ? '&' : '?',
		     rv && *rv ? "&resourceVersion=" : "", rv && *rv ? rv : "") < 0) {
		free(path);
		return kpctl_err("out of memory");
	}
	free(path);
	g->rows_by_key = json_object();
	int rc = kpc_watch(g->k->client, np, accept_for(g), on_event, &w, &status, &errbody, &em);
	free(np);
	if (rc) {
		fprintf(stderr, "%s\n", em ? em : "watch failed");
		free(em);
		return 1;
	}
	if (status != 200) {
		struct kpc_response r = { .status = status, .body = errbody,
					  .len = errbody ? strlen(errbody) : 0 };
		r.json = errbody ? json_loads(errbody, 0, NULL) : NULL;
		kpctl_server_err(&r, NULL);
		json_decref(r.json);
		free(errbody);
		return 1;
	}
	free(errbody);
	return w.rc;
}

static void print_collected(struct get *g, bool single)
{
	if (g->mode == OUT_NAME) {
		size_t i;
		json_t *it;
		json_array_foreach(g->items, i, it) {
			char *n = kpc_ref_name(kp_obj_kind(it), kp_obj_api_version(it), kp_obj_name(it));
			printf("%s\n", n ? n : "");
			free(n);
		}
		return;
	}
	json_t *out;
	if (single && json_array_size(g->items) == 1)
		out = json_incref(json_array_get(g->items, 0));
	else
		out = json_pack("{s:s,s:O,s:s,s:{s:s}}", "apiVersion", "v1", "items", g->items, "kind", "List",
				"metadata", "resourceVersion", "");
	if (g->mode == OUT_JSON) {
		kpc_print_json(stdout, out);
	} else {
		char *em = NULL;
		if (kpc_print_yaml(stdout, out, &em)) {
			kpctl_err("%s", em ? em : "cannot print YAML");
			free(em);
			g->status = 1;
		}
	}
	json_decref(out);
}

static void reset_shape(struct get *g)
{
	json_decref(g->columns);
	json_decref(g->header);
	json_decref(g->rows_by_key);
	g->columns = g->header = g->rows_by_key = NULL;
	g->header_printed = false;
	g->from_objects = false;
	g->printed = 0;
}

int kpctl_cmd_get(struct kpctl *k, int argc, char **argv)
{
	struct get g = { .k = k };
	const char *output = NULL;
	bool watch = false, watch_only = false;
	struct kpc_opt opts[] = {
		{ "all-namespaces", 'A', KPC_OPT_BOOL, &g.all_ns, "List the requested object(s) across all namespaces", false },
		{ "selector", 'l', KPC_OPT_STRING, &g.selector, "Selector (label query) to filter on (e.g. -l key1=value1,key2=value2)", false },
		{ "field-selector", 0, KPC_OPT_STRING, &g.field_selector, "Selector (field query) to filter on (e.g. --field-selector status.phase=Running)", false },
		{ "output", 'o', KPC_OPT_STRING, &output, "Output format: wide, json, yaml, name", false },
		{ "watch", 'w', KPC_OPT_BOOL, &watch, "After listing/getting the requested object, watch for changes", false },
		{ "watch-only", 0, KPC_OPT_BOOL, &watch_only, "Watch for changes without listing/getting first", false },
		{ "no-headers", 0, KPC_OPT_BOOL, &g.no_headers, "Don't print headers", false },
		{ "show-labels", 0, KPC_OPT_BOOL, &g.show_labels, "Show all labels as the last column", false },
		{ "show-kind", 0, KPC_OPT_BOOL, &g.show_kind, "List the resource type for the requested object(s)", false },
		{ "ignore-not-found", 0, KPC_OPT_BOOL, &g.ignore_not_found, "Treat \"resource not found\" as a successful retrieval", false },
		{ NULL, 0, 0, NULL, NULL, false },
	};
	char **pos = NULL;
	int npos = 0, rc;
	struct kpc_targets t = { 0 };
	k->usage = usage_text;
	if ((rc = kpctl_parse(k, argc, argv, opts, &pos, &npos)))
		return rc;
	rc = 1;
	if (!output || !*output || !strcmp(output, "")) g.mode = OUT_TABLE;
	else if (!strcmp(output, "wide")) g.mode = OUT_WIDE;
	else if (!strcmp(output, "json")) g.mode = OUT_JSON;
	else if (!strcmp(output, "yaml")) g.mode = OUT_YAML;
	else if (!strcmp(output, "name")) g.mode = OUT_NAME;
	else {
		kpctl_err("unable to match a printer suitable for the output format \"%s\", allowed formats are: json,name,wide,yaml", output);
		goto out;
	}
	if (kpctl_check_selectors(g.selector, g.field_selector))
		goto out;
	if (watch_only)
		watch = true;
	if (npos == 0) {
		fprintf(stderr, "You must specify the type of resource to get. Use \"kpctl api-resources\" for a complete list of supported resources.\n\n");
		kpctl_usage_err(k, "Required resource not specified.");
		goto out;
	}
	if (kpctl_connect(k) || kpctl_targets_from_args(k, pos, npos, &t))
		goto out;
	bool by_name = t.v[0].name != NULL;
	if (by_name && (g.selector || g.field_selector) && !watch) {
		kpctl_usage_err(k, "a selector (-l/--field-selector) cannot be combined with resource names");
		goto out;
	}
	if (watch) {
		const struct kpc_resource *r0 = t.v[0].res;
		for (size_t i = 1; i < t.n; i++)
			if (t.v[i].res != r0) {
				kpctl_err("you may only specify a single resource type");
				goto out;
			}
		if (by_name && t.n > 1) {
			kpctl_err("watch is only supported on individual resources and resource collections, but %zu resources were found", t.n);
			goto out;
		}
	}
	size_t ntypes = 0;
	for (size_t i = 0; i < t.n; i++)
		if (i == 0 || t.v[i].res != t.v[i - 1].res)
			ntypes++;
	if (ntypes > 1)
		g.show_kind = true;
	g.items = json_array();
	kpc_table_init(&g.table, stdout);
	bool any_printed = false;
	char *list_rv = NULL;
	for (size_t i = 0; i < t.n; i++) {
		struct kpc_target *x = &t.v[i];
		bool new_type = i == 0 || x->res != t.v[i - 1].res;
		if (new_type && i > 0 && (g.mode == OUT_TABLE || g.mode == OUT_WIDE)) {
			kpc_table_flush(&g.table);
			if (g.printed)
				any_printed = true;
			kpc_table_release(&g.table);
			kpc_table_init(&g.table, stdout);
			reset_shape(&g);
		}
		g.res = x->res;
		char *path = kpc_resource_path(x->res, g.all_ns && !x->name ? NULL : x->ns, x->name, NULL);
		if (!path || (!x->name && add_selectors(&g, &path))) {
			free(path);
			kpctl_err("out of memory");
			goto out_free;
		}
		if (watch_only) {
			/* Only the list's resourceVersion is needed. */
			json_t *b = get_body(&g, path, x->name != NULL, x->name);
			free(path);
			if (!b)
				goto out_free;
			const char *rv = kp_obj_str(b, "metadata.resourceVersion");
			list_rv = rv ? strdup(rv) : NULL;
			json_decref(b);
			break;
		}
		json_t *b = get_body(&g, path, x->name != NULL, x->name);
		free(path);
		if (!b)
			continue;
		/* A blank line between two types' tables, as kubectl's separator
		 * (which it leaves out with --no-headers). */
		if (any_printed && !g.no_headers && (g.mode == OUT_TABLE || g.mode == OUT_WIDE) && !g.header_printed) {
			bool has_rows = is_table(b) ? json_array_size(json_object_get(b, "rows")) > 0 :
				        json_is_array(json_object_get(b, "items")) ? json_array_size(json_object_get(b, "items")) > 0 : true;
			if (has_rows)
				putchar('\n');
		}
		consume(&g, b);
		if (watch) {
			const char *rv = kp_obj_str(b, "metadata.resourceVersion");
			free(list_rv);
			list_rv = rv ? strdup(rv) : NULL;
		}
		json_decref(b);
	}
	if (g.mode == OUT_TABLE || g.mode == OUT_WIDE) {
		kpc_table_flush(&g.table);
		if (g.printed)
			any_printed = true;
		if (!any_printed && !watch && !by_name) {
			const struct kpc_resource *r0 = t.v[0].res;
			if (g.all_ns || !r0->namespaced)
				fprintf(stderr, "No resources found\n");
			else
				fprintf(stderr, "No resources found in %s namespace.\n", k->namespace);
		}
	} else if (!watch_only) {
		bool single = by_name && t.n == 1;
		if (watch) {
			/* A watch prints objects one by one, the listed ones first,
			 * exactly as its events will print (kubectl does the same). */
			struct watch_ctx w = { &g, 0 };
			size_t i;
			json_t *it;
			json_array_foreach(g.items, i, it) {
				json_t *ev = json_pack("{s:s,s:O}", "type", "ADDED", "object", it);
				on_event(ev, &w);
				json_decref(ev);
			}
		} else {
			print_collected(&g, single);
		}
	}
	fflush(stdout);
	if (watch) {
		if (by_name && !g.field_selector) {
			char *fs = NULL;
			if (asprintf(&fs, "metadata.name=%s", t.v[0].name) < 0)
				goto out_free;
			g.field_selector = fs;
			g.selector = NULL;
			int wr = do_watch(&g, &t.v[0], list_rv);
			free(fs);
			g.field_selector = NULL;
			if (wr)
				g.status = 1;
		} else if (do_watch(&g, &t.v[0], list_rv)) {
			g.status = 1;
		}
	}
	free(list_rv);
	rc = g.status;
out_free:
	kpc_table_release(&g.table);
	reset_shape(&g);
	json_decref(g.items);
out:
	kpctl_targets_release(&t);
	free(pos);
	return rc;
}

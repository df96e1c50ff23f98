/*
 * cmd_get.c - `kpctl get`: server-side Tables printed as kubectl does,
 * -o wide|json|yaml|name|jsonpath|custom-columns, --sort-by, -L,
 * -l/--field-selector, -A, -w.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/error.h>
#include <kplane/object.h>

#include "cli/kpctl/jsonpath.h"
#include "cli/kpctl/kpctl.h"
#include "cli/kpctl/objects.h"
#include "cli/kpctl/printers.h"

enum out_mode { OUT_TABLE, OUT_WIDE, OUT_JSON, OUT_YAML, OUT_NAME, OUT_JSONPATH, OUT_CUSTOM };

/* kubectl prints JSON and YAML without metadata.managedFields unless --show-managed-fields. */
static void hide_managed_fields(json_t *v)
{
	size_t i;
	json_t *it;
	json_array_foreach (json_object_get(v, "items"), i, it)
		kp_obj_del(it, "metadata.managedFields");
	kp_obj_del(v, "metadata.managedFields");
}

/* One -o custom-columns column. */
struct column {
	char *header;
	struct kpc_jsonpath *jp;
};

struct get {
	struct kpctl *k;
	enum out_mode mode;
	bool all_ns, no_headers, show_labels, show_kind, ignore_not_found, show_managed;
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
	struct kpc_jsonpath *jsonpath; /* -o jsonpath */
	const char *jsonpath_text;
	struct column *cols; /* -o custom-columns */
	size_t ncols;
	struct kpc_jsonpath *sort_by; /* --sort-by */
	const char *sort_by_text;
	char *file_text;     /* -o ...-file= content */
	char **label_cols;   /* -L keys */
	size_t nlabel_cols;
	int status;
};

static bool collects(const struct get *g)
{
	return g->mode != OUT_TABLE && g->mode != OUT_WIDE;
}

static const char *usage_text =
	"Display one or many resources.\n\n"
	"Usage:\n"
	"  kpctl get TYPE[,TYPE...] [NAME...] [-n NS | -A] [-l SELECTOR] [--field-selector S]\n"
	"            [-o wide|json|yaml|name|jsonpath=T|custom-columns=SPEC] [--sort-by EXPR] [-L KEY] [-w]\n"
	"  kpctl get TYPE/NAME...\n\n"
	"Examples:\n"
	"  kpctl get pods -A -o wide\n"
	"  kpctl get pods -o jsonpath='{range .items[*]}{.metadata.name}{\"\\t\"}{.status.phase}{\"\\n\"}{end}'\n"
	"  kpctl get pods -o custom-columns=NAME:.metadata.name,NODE:.spec.nodeName --sort-by=.spec.nodeName\n"
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
	/* labels.FormatLabels sorts the "key=value" strings, not the keys:
	 * "app.kubernetes.io/name=x" comes before "app=y". */
	size_t n = json_object_size(l), i = 0;
	char **pairs = calloc(n, sizeof(*pairs));
	const char *key;
	json_t *v;
	char *b = NULL;
	size_t bl = 0;
	FILE *m;
	if (!pairs)
		return NULL;
	json_object_foreach(l, key, v) {
		const char *val = json_string_value(v);
		if (asprintf(&pairs[i], "%s=%s", key, val ? val : "") < 0)
			pairs[i] = NULL;
		i++;
	}
	for (size_t a = 1; a < n; a++)
		for (size_t c = a; c > 0 && strcmp(pairs[c - 1] ? pairs[c - 1] : "", pairs[c] ? pairs[c] : "") > 0; c--) {
			char *t = pairs[c];
			pairs[c] = pairs[c - 1];
			pairs[c - 1] = t;
		}
	m = open_memstream(&b, &bl);
	if (m) {
		for (i = 0; i < n; i++)
			fprintf(m, "%s%s", i ? "," : "", pairs[i] ? pairs[i] : "");
		fclose(m);
	}
	for (i = 0; i < n; i++)
		free(pairs[i]);
	free(pairs);
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

/*
 * -L columns (kubectl heads them with the key's last path segment in upper
 * case), then LABELS for --show-labels.
 */
static void label_headers(struct get *g)
{
	for (size_t i = 0; i < g->nlabel_cols; i++) {
		const char *key = g->label_cols[i], *slash = strrchr(key, '/');
		char *u = upper(slash ? slash + 1 : key);
		json_array_append_new(g->header, json_string(u ? u : ""));
		free(u);
	}
	if (g->show_labels)
		json_array_append_new(g->header, json_string("LABELS"));
}

static void label_cells(struct get *g, const json_t *obj, json_t *cells)
{
	for (size_t i = 0; i < g->nlabel_cols; i++) {
		const char *v = kp_obj_label(obj, g->label_cols[i]);
		json_array_append_new(cells, json_string(v ? v : ""));
	}
	if (g->show_labels) {
		char *l = labels_text(obj);
		json_array_append_new(cells, json_string(l ? l : ""));
		free(l);
	}
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
	label_headers(g);
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
	label_headers(g);
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
	label_cells(g, obj, cells);
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
	label_cells(g, obj, cells);
	add_row(g, cells);
	remember(g, obj, cells);
	json_decref(cells);
}


/*
 * Orders objects (or a Table's rows, by row.object) by the --sort-by
 * expression, stably, as kubectl's sorters do. 0, or 1 with the message
 * printed.
 */
static int sort_values(struct get *g, json_t *arr, bool rows)
{
	size_t n = json_array_size(arr);
	char *em = NULL;
	int rc = 0;
	if (!g->sort_by || n == 0)
		return 0;
	json_t **keys = calloc(n, sizeof(*keys)), **els = calloc(n, sizeof(*els));
	bool any = false;
	if (!keys || !els) {
		free(keys);
		free(els);
		return kpctl_err("out of memory");
	}
	for (size_t i = 0; i < n && !rc; i++) {
		json_t *el = json_array_get(arr, i), *res = NULL;
		const json_t *obj = rows ? json_object_get(el, "object") : el;
		els[i] = json_incref(el);
		if (kpc_jsonpath_find(g->sort_by, obj ? obj : json_null(), true, &res, &em)) {
			rc = kpctl_err("%s", em ? em : "cannot evaluate --sort-by");
			free(em);
			break;
		}
		if (json_array_size(res)) {
			keys[i] = json_incref(json_array_get(res, 0));
			any = true;
		}
		json_decref(res);
	}
	/* kubectl 1.32 leaves the order alone when no object has the field */
	if (!rc && any) {
		/* insertion sort: stable, and lists are small */
		for (size_t i = 1; i < n; i++)
			for (size_t j = i; j > 0 && kpc_value_cmp(keys[j - 1], keys[j]) > 0; j--) {
				json_t *t = keys[j];
				keys[j] = keys[j - 1];
				keys[j - 1] = t;
				t = els[j];
				els[j] = els[j - 1];
				els[j - 1] = t;
			}
		for (size_t i = 0; i < n; i++)
			json_array_set(arr, i, els[i]);
	}
	for (size_t i = 0; i < n; i++) {
		json_decref(keys[i]);
		json_decref(els[i]);
	}
	free(keys);
	free(els);
	return rc;
}

static int print_jsonpath(struct get *g, const json_t *obj)
{
	char *em = NULL;
	if (kpc_jsonpath_exec(g->jsonpath, obj, true, stdout, &em)) {
		fflush(stdout);
		kpctl_err("error executing jsonpath \"%s\": Error executing template: %s", g->jsonpath_text,
			  em ? em : "failed");
		free(em);
		g->status = 1;
		return 1;
	}
	return 0;
}

/* -o custom-columns: one row per object, "<none>" for nothing found. */
static void custom_row(struct get *g, const json_t *obj)
{
	const char **cells = calloc(g->ncols, sizeof(*cells));
	char **owned = calloc(g->ncols, sizeof(*owned));
	if (!cells || !owned)
		goto out;
	if (!g->header_printed && !g->no_headers) {
		for (size_t i = 0; i < g->ncols; i++)
			cells[i] = g->cols[i].header;
		kpc_table_add(&g->table, g->ncols, cells);
	}
	g->header_printed = true;
	for (size_t i = 0; i < g->ncols; i++) {
		json_t *res = NULL, *v;
		char *em = NULL, *b = NULL;
		size_t bl = 0, j;
		if (kpc_jsonpath_find(g->cols[i].jp, obj, true, &res, &em)) {
			kpctl_err("%s", em ? em : "cannot evaluate a column");
			free(em);
			g->status = 1;
		}
		if (!json_array_size(res)) {
			owned[i] = strdup("<none>");
		} else {
			FILE *m = open_memstream(&b, &bl);
			if (m) {
				json_array_foreach(res, j, v) {
					char *t = kpc_go_format(v);
					fprintf(m, "%s%s", j ? "," : "", t ? t : "");
					free(t);
				}
				fclose(m);
			}
			owned[i] = b;
		}
		cells[i] = owned[i];
		json_decref(res);
	}
	kpc_table_add(&g->table, g->ncols, cells);
	g->printed++;
out:
	for (size_t i = 0; owned && i < g->ncols; i++)
		free(owned[i]);
	free(owned);
	free(cells);
}

static bool is_table(const json_t *v)
{
	const char *kind = kp_obj_kind(v);
	return kind && !strcmp(kind, "Table") && json_is_array(json_object_get(v, "rows"));
}

/* Prints or collects one response body (a Table, a List or one object). */
static void consume(struct get *g, json_t *body)
{
	if (collects(g)) {
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
		if (sort_values(g, json_object_get(body, "rows"), true)) {
			g->status = 1;
			return;
		}
		shape_from_table(g, body);
		json_array_foreach(json_object_get(body, "rows"), i, row)
			table_row(g, row);
		return;
	}
	shape_from_objects(g);
	json_t *items = json_object_get(body, "items");
	if (json_is_array(items) && sort_values(g, items, false)) {
		g->status = 1;
		return;
	}
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
	/* Table rows carry only metadata unless asked: --sort-by needs the rest. */
	if (g->sort_by && !collects(g)) {
		if (asprintf(&np, "%s%cincludeObject=Object", *path, strchr(*path, '?') ? '&' : '?') < 0)
			return KP_ENOMEM;
		free(*path);
		*path = np;
	}
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
	if ((g->mode == OUT_JSON || g->mode == OUT_YAML) && !g->show_managed)
		hide_managed_fields(obj);
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
	if (g->mode == OUT_JSONPATH) {
		int r = print_jsonpath(g, obj);
		fflush(stdout);
		return r;
	}
	if (g->mode == OUT_CUSTOM) {
		custom_row(g, obj);
		kpc_table_flush(&g->table);
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
	if (!single && sort_values(g, g->items, false)) {
		g->status = 1;
		return;
	}
	if (g->mode == OUT_CUSTOM) {
		size_t i;
		json_t *it;
		json_array_foreach(g->items, i, it)
			custom_row(g, it);
		kpc_table_flush(&g->table);
		return;
	}
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
	if (g->mode != OUT_JSONPATH && !g->show_managed)
		hide_managed_fields(out);
	if (g->mode == OUT_JSON) {
		kpc_print_json(stdout, out);
	} else if (g->mode == OUT_JSONPATH) {
		print_jsonpath(g, out);
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

/* Reads a -o ...-file= template; NULL with the message printed. */
static char *read_text_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *b = NULL, tmp[4096];
	size_t bl = 0, n;
	if (!f) {
		kpctl_err("error reading template %s, %m", path);
		return NULL;
	}
	FILE *m = open_memstream(&b, &bl);
	if (!m) {
		fclose(f);
		return NULL;
	}
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		fwrite(tmp, 1, n, m);
	fclose(f);
	fclose(m);
	return b;
}

static int add_column(struct get *g, const char *header, size_t hlen, const char *spec)
{
	char *em = NULL, *tmpl = kpc_jsonpath_relaxed(spec, &em);
	struct column *nc = realloc(g->cols, (g->ncols + 1) * sizeof(*nc));
	if (!tmpl || !nc) {
		if (nc)
			g->cols = nc;
		kpctl_err("%s", em ? em : "out of memory");
		free(em);
		free(tmpl);
		return 1;
	}
	g->cols = nc;
	struct column *c = &g->cols[g->ncols];
	c->jp = NULL;
	if (kpc_jsonpath_parse(tmpl, &c->jp, &em)) {
		kpctl_err("error parsing jsonpath %s, %s", tmpl, em ? em : "");
		free(em);
		free(tmpl);
		return 1;
	}
	free(tmpl);
	c->header = strndup(header, hlen);
	g->ncols++;
	return 0;
}

/* "NAME:.metadata.name,IMAGE:.spec.containers[*].image" */
static int parse_custom_columns(struct get *g, const char *spec)
{
	if (!*spec)
		return kpctl_err("custom-columns format specified but no custom columns given");
	const char *p = spec;
	for (;;) {
		size_t len = strcspn(p, ",");
		const char *colon = memchr(p, ':', len);
		if (!colon) {
			kpctl_err("unexpected custom-columns spec: %.*s, expected <header>:<json-path-expr>", (int)len, p);
			return 1;
		}
		char *path = strndup(colon + 1, len - (size_t)(colon + 1 - p));
		int rc = path ? add_column(g, p, (size_t)(colon - p), path) : 1;
		free(path);
		if (rc)
			return 1;
		if (!p[len])
			return 0;
		p += len + 1;
	}
}

/* custom-columns-file: a line of headers, a line of expressions. */
static int parse_custom_columns_file(struct get *g, char *text)
{
	char *save = NULL, *l1 = strtok_r(text, "\n", &save), *l2 = l1 ? strtok_r(NULL, "\n", &save) : NULL;
	char *s1 = NULL, *s2 = NULL;
	size_t nh = 0, ns = 0;
	if (!l1 || !l2)
		return kpctl_err("custom-columns file must have a line of headers and a line of field specs");
	for (char *h = strtok_r(l1, " \t", &s1); h; h = strtok_r(NULL, " \t", &s1))
		nh++;
	for (char *f = strtok_r(l2, " \t", &s2); f; f = strtok_r(NULL, " \t", &s2))
		ns++;
	if (nh != ns)
		return kpctl_err("number of headers (%zu) does not match number of field specs (%zu)", nh, ns);
	/* strtok_r left NULs between the words: walk them again */
	const char *h = l1, *f = l2;
	for (size_t i = 0; i < nh; i++) {
		while (*h == ' ' || *h == '\t' || !*h)
			h++;
		while (*f == ' ' || *f == '\t' || !*f)
			f++;
		if (add_column(g, h, strlen(h), f))
			return 1;
		h += strlen(h);
		f += strlen(f);
	}
	return 0;
}

static int parse_output(struct get *g, const char *output)
{
	char *em = NULL;
	const char *eq = output ? strchr(output, '=') : NULL;
	size_t kl = eq ? (size_t)(eq - output) : (output ? strlen(output) : 0);
	const char *arg = eq ? eq + 1 : NULL;
#define IS(w) (kl == strlen(w) && !strncmp(output, w, kl))
	if (!output || !*output) g->mode = OUT_TABLE;
	else if (!eq && !strcmp(output, "wide")) g->mode = OUT_WIDE;
	else if (!eq && !strcmp(output, "json")) g->mode = OUT_JSON;
	else if (!eq && !strcmp(output, "yaml")) g->mode = OUT_YAML;
	else if (!eq && !strcmp(output, "name")) g->mode = OUT_NAME;
	else if (IS("jsonpath") || IS("jsonpath-file")) {
		if (!arg || !*arg)
			return kpctl_err("template format specified but no template given");
		if (IS("jsonpath-file")) {
			if (!(g->file_text = read_text_file(arg)))
				return 1;
			arg = g->file_text;
		}
		g->mode = OUT_JSONPATH;
		g->jsonpath_text = arg;
		if (kpc_jsonpath_parse(arg, &g->jsonpath, &em)) {
			kpctl_err("error parsing jsonpath %s, %s", arg, em ? em : "");
			free(em);
			return 1;
		}
	} else if (IS("custom-columns") || IS("custom-columns-file")) {
		g->mode = OUT_CUSTOM;
		if (IS("custom-columns-file")) {
			if (!arg || !*arg)
				return kpctl_err("custom-columns-file format specified but no file given");
			if (!(g->file_text = read_text_file(arg)))
				return 1;
			return parse_custom_columns_file(g, g->file_text);
		}
		return parse_custom_columns(g, arg ? arg : "");
	} else if (IS("go-template") || IS("go-template-file") || IS("template") || IS("templatefile")) {
		return kpctl_err("kpctl does not implement Go templates (-o %.*s); use -o jsonpath=TEMPLATE, "
				 "whose {.field}, {range}...{end} and {\"\\n\"} cover the same ground", (int)kl, output);
	} else {
		return kpctl_err("unable to match a printer suitable for the output format \"%s\", allowed formats are: "
				 "custom-columns,custom-columns-file,json,jsonpath,jsonpath-file,name,wide,yaml", output);
	}
#undef IS
	return 0;
}

static int parse_sort_and_labels(struct get *g, const struct kpc_strlist *label_cols)
{
	char *em = NULL;
	if (g->sort_by_text && *g->sort_by_text) {
		char *tmpl = kpc_jsonpath_relaxed(g->sort_by_text, &em);
		if (!tmpl) {
			kpctl_err("%s", em ? em : "bad --sort-by");
			free(em);
			return 1;
		}
		if (kpc_jsonpath_parse(tmpl, &g->sort_by, &em)) {
			kpctl_err("error parsing jsonpath %s, %s", tmpl, em ? em : "");
			free(em);
			free(tmpl);
			return 1;
		}
		free(tmpl);
	}
	for (int i = 0; i < label_cols->n; i++) {
		const char *p = label_cols->v[i];
		while (*p) {
			size_t len = strcspn(p, ",");
			if (len) {
				char **nl = realloc(g->label_cols, (g->nlabel_cols + 1) * sizeof(*nl));
				if (!nl)
					return kpctl_err("out of memory");
				g->label_cols = nl;
				if (!(g->label_cols[g->nlabel_cols] = strndup(p, len)))
					return kpctl_err("out of memory");
				g->nlabel_cols++;
			}
			p += len;
			if (*p == ',')
				p++;
		}
	}
	return 0;
}

int kpctl_cmd_get(struct kpctl *k, int argc, char **argv)
{
	struct get g = { .k = k };
	const char *output = NULL;
	bool watch = false, watch_only = false;
	struct kpc_strlist label_cols = { 0 };
	struct kpc_opt opts[] = {
		{ "all-namespaces", 'A', KPC_OPT_BOOL, &g.all_ns, "List the requested object(s) across all namespaces", false },
		{ "selector", 'l', KPC_OPT_STRING, &g.selector, "Selector (label query) to filter on (e.g. -l key1=value1,key2=value2)", false },
		{ "field-selector", 0, KPC_OPT_STRING, &g.field_selector, "Selector (field query) to filter on (e.g. --field-selector status.phase=Running)", false },
		{ "output", 'o', KPC_OPT_STRING, &output, "Output format: wide, json, yaml, name, jsonpath=T, jsonpath-file=F, custom-columns=SPEC, custom-columns-file=F", false },
		{ "sort-by", 0, KPC_OPT_STRING, &g.sort_by_text, "Sort list types using this JSONPath expression (e.g. '{.metadata.name}')", false },
		{ "label-columns", 'L', KPC_OPT_LIST, &label_cols, "Labels to present as columns (-L a,b or -L a -L b)", false },
		{ "watch", 'w', KPC_OPT_BOOL, &watch, "After listing/getting the requested object, watch for changes", false },
		{ "watch-only", 0, KPC_OPT_BOOL, &watch_only, "Watch for changes without listing/getting first", false },
		{ "no-headers", 0, KPC_OPT_BOOL, &g.no_headers, "Don't print headers", false },
		{ "show-labels", 0, KPC_OPT_BOOL, &g.show_labels, "Show all labels as the last column", false },
		{ "show-managed-fields", 0, KPC_OPT_BOOL, &g.show_managed,
		  "Keep metadata.managedFields in JSON and YAML output", false },
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
	if (parse_output(&g, output) || parse_sort_and_labels(&g, &label_cols))
		goto out;
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
			if (g.mode == OUT_CUSTOM) {
				/* the listed rows align together, as kubectl prints the list */
				json_array_foreach(g.items, i, it)
					custom_row(&g, it);
				kpc_table_flush(&g.table);
			} else {
				json_array_foreach(g.items, i, it) {
					json_t *ev = json_pack("{s:s,s:O}", "type", "ADDED", "object", it);
					on_event(ev, &w);
					json_decref(ev);
				}
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
	kpc_jsonpath_free(g.jsonpath);
	kpc_jsonpath_free(g.sort_by);
	for (size_t i = 0; i < g.ncols; i++) {
		free(g.cols[i].header);
		kpc_jsonpath_free(g.cols[i].jp);
	}
	free(g.cols);
	for (size_t i = 0; i < g.nlabel_cols; i++)
		free(g.label_cols[i]);
	free(g.label_cols);
	kpc_strlist_release(&label_cols);
	free(g.file_text);
	free(pos);
	return rc;
}

/*
 * cmd_describe.c - `kpctl describe` (kubectl's generic describer layout for
 * every kind: header fields, the object's fields as indented "Title Case"
 * labels, then its Events) and `kpctl events`.
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

/* Words kubectl's describer prints upper-case (smartLabelFor's acronyms). */
static const char *const acronyms[] = {
	"API", "CIDR", "CPU", "CSI", "DNS", "FS", "GID", "HTTP", "HTTPS", "ID", "IO", "IP", "IPC", "JSON",
	"OS", "PID", "QOS", "RBD", "SELinux", "SCSI", "TCP", "TLS", "TTL", "UDP", "UID", "URL", "URI", NULL,
};

/* "creationTimestamp" -> "Creation Timestamp", "podIP" -> "Pod IP". */
static void smart_label(const char *field, FILE *m)
{
	size_t n = strlen(field), start = 0;
	bool first = true;
	for (size_t i = 1; i <= n; i++) {
		bool boundary = i == n ||
				(isupper((unsigned char)field[i]) &&
				 (!isupper((unsigned char)field[i - 1]) ||
				  (i + 1 < n && islower((unsigned char)field[i + 1]))));
		if (!boundary)
			continue;
		char word[128];
		size_t wl = i - start < sizeof(word) - 1 ? i - start : sizeof(word) - 1;
		memcpy(word, field + start, wl);
		word[wl] = 0;
		const char *acr = NULL;
		for (int a = 0; acronyms[a]; a++)
			if (!strcasecmp(acronyms[a], word))
				acr = acronyms[a];
		if (!first)
			fputc(' ', m);
		if (acr) {
			fputs(acr, m);
		} else {
			word[0] = (char)toupper((unsigned char)word[0]);
			fputs(word, m);
		}
		first = false;
		start = i;
	}
}

static void indent(FILE *m, int level)
{
	for (int i = 0; i < level; i++)
		fputs("  ", m);
}

static void scalar(FILE *m, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING: fputs(json_string_value(v), m); break;
	case JSON_INTEGER: fprintf(m, "%lld", (long long)json_integer_value(v)); break;
	case JSON_REAL: fprintf(m, "%g", json_real_value(v)); break;
	case JSON_TRUE: fputs("true", m); break;
	case JSON_FALSE: fputs("false", m); break;
	default: fputs("<nil>", m); break;
	}
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void content(FILE *m, int level, const json_t *obj, const char *prefix)
{
	size_t n = json_object_size(obj), i = 0;
	const char **keys = calloc(n ? n : 1, sizeof(*keys)), *key;
	json_t *v;
	if (!keys)
		return;
	json_object_foreach((json_t *)obj, key, v) keys[i++] = key;
	qsort(keys, n, sizeof(*keys), cmp_keys);
	for (i = 0; i < n; i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", keys[i]);
		if (!strcmp(path, "metadata.name") || !strcmp(path, "metadata.namespace") ||
		    !strcmp(path, "metadata.labels") || !strcmp(path, "metadata.annotations") ||
		    !strcmp(path, "metadata.managedFields"))
			continue;
		v = json_object_get(obj, keys[i]);
		indent(m, level);
		smart_label(keys[i], m);
		if (json_is_object(v)) {
			fputs(":\n", m);
			content(m, level + 1, v, path);
		} else if (json_is_array(v)) {
			fputs(":\n", m);
			size_t j;
			json_t *e;
			json_array_foreach(v, j, e) {
				if (json_is_object(e)) {
					content(m, level + 1, e, path);
				} else {
					indent(m, level + 1);
					scalar(m, e);
					fputc('\n', m);
				}
			}
		} else {
			fputs(":\t", m);
			scalar(m, v);
			fputc('\n', m);
		}
	}
	free(keys);
}

/* Labels/Annotations: first on the label's line, the rest aligned below. */
static void map_field(FILE *m, const char *label, const json_t *map, bool annotations)
{
	size_t n = json_object_size(map), i = 0;
	const char **keys = calloc(n ? n : 1, sizeof(*keys)), *key;
	json_t *v;
	fprintf(m, "%s:\t", label);
	if (!n || !keys) {
		fputs("<none>\n", m);
		free(keys);
		return;
	}
	/* kubectl hides apply's bookkeeping annotation. */
	json_object_foreach((json_t *)map, key, v)
		if (!annotations || strcmp(key, "kubectl.kubernetes.io/last-applied-configuration"))
			keys[i++] = key;
	n = i;
	if (!n) {
		fputs("<none>\n", m);
		free(keys);
		return;
	}
	qsort(keys, n, sizeof(*keys), cmp_keys);
	for (i = 0; i < n; i++) {
		const char *val = json_string_value(json_object_get(map, keys[i]));
		if (i)
			fputs("\t", m);
		fprintf(m, "%s%s%s\n", keys[i], annotations ? ": " : "=", val ? val : "");
	}
	free(keys);
}

static int64_t event_time(const json_t *e, const char *which)
{
	const char *ts = kp_obj_str(e, which);
	int64_t t = 0;
	if (!ts && !strcmp(which, "lastTimestamp"))
		ts = kp_obj_str(e, "eventTime");
	if (!ts && !strcmp(which, "firstTimestamp"))
		ts = kp_obj_str(e, "eventTime");
	if (!ts)
		ts = kp_obj_str(e, "metadata.creationTimestamp");
	if (ts && kp_time_parse(ts, &t) == 0)
		return t;
	return 0;
}

static int cmp_events(const void *a, const void *b)
{
	int64_t x = event_time(*(json_t *const *)a, "lastTimestamp");
	int64_t y = event_time(*(json_t *const *)b, "lastTimestamp");
	return x < y ? -1 : x > y;
}

/* "5m", or "5m (x3 over 10m)" for a repeated event, as kubectl. */
static void event_age(const json_t *e, int64_t now, char *buf, size_t sz)
{
	char last[KPC_AGE_BUFSZ], first[KPC_AGE_BUFSZ];
	long long count = kp_obj_int(e, "count", 0);
	kpc_human_duration(now - event_time(e, "lastTimestamp"), last);
	if (count > 1) {
		kpc_human_duration(now - event_time(e, "firstTimestamp"), first);
		snprintf(buf, sz, "%s (x%lld over %s)", last, count, first);
	} else {
		snprintf(buf, sz, "%s", last);
	}
}

static const char *event_source(const json_t *e, char *buf, size_t sz)
{
	const char *comp = kp_obj_str(e, "source.component"), *host = kp_obj_str(e, "source.host");
	if (!comp)
		comp = kp_obj_str(e, "reportingController");
	if (comp && host)
		snprintf(buf, sz, "%s, %s", comp, host);
	else
		snprintf(buf, sz, "%s", comp ? comp : "");
	return buf;
}

/* Events about obj (list of new references sorted by time), client-side filtered too. */
static json_t *fetch_events(struct kpctl *k, const json_t *obj, const char *ns, bool all_ns)
{
	const struct kpc_resource *er = NULL;
	char *em = NULL;
	if (k->disc)
		er = kpc_discovery_resolve(k->disc, "events", &em);
	free(em);
	if (!er)
		return NULL;
	char *path = kpc_resource_path(er, all_ns ? NULL : ns, NULL, NULL), *fs = NULL, *efs = NULL, *np = NULL;
	const char *name = obj ? kp_obj_name(obj) : NULL, *kind = obj ? kp_obj_kind(obj) : NULL;
	if (name && asprintf(&fs, "involvedObject.name=%s", name) >= 0)
		efs = kpc_escape(fs);
	if (path && asprintf(&np, "%s%s%s", path, efs ? "?fieldSelector=" : "", efs ? efs : "") < 0)
		np = NULL;
	free(path);
	free(fs);
	free(efs);
	struct kpc_response r;
	json_t *out = json_array();
	if (!np || kpc_request(k->client, "GET", np, NULL, NULL, NULL, 0, &r, NULL)) {
		free(np);
		return out;
	}
	free(np);
	size_t i;
	json_t *e;
	if (r.status == 200)
		json_array_foreach(json_object_get(r.json, "items"), i, e) {
			const char *in = kp_obj_str(e, "involvedObject.name");
			const char *ik = kp_obj_str(e, "involvedObject.kind");
			const char *iu = kp_obj_str(e, "involvedObject.uid");
			const char *uid = obj ? kp_obj_uid(obj) : NULL;
			if (name && (!in || strcmp(in, name)))
				continue;
			if (kind && ik && strcmp(ik, kind))
				continue;
			if (uid && iu && *iu && strcmp(iu, uid))
				continue;
			json_array_append(out, e);
		}
	kpc_response_release(&r);
	size_t n = json_array_size(out);
	json_t **v = calloc(n ? n : 1, sizeof(*v));
	if (v) {
		for (i = 0; i < n; i++)
			v[i] = json_incref(json_array_get(out, i));
		qsort(v, n, sizeof(*v), cmp_events);
		json_array_clear(out);
		for (i = 0; i < n; i++)
			json_array_append_new(out, v[i]);
		free(v);
	}
	return out;
}

static int describe_one(struct kpctl *k, const json_t *obj, const struct kpc_resource *res, bool show_events)
{
	char *b = NULL;
	size_t bl = 0;
	FILE *m = open_memstream(&b, &bl);
	if (!m)
		return kpctl_err("out of memory");
	fprintf(m, "Name:\t%s\n", kp_obj_name(obj) ? kp_obj_name(obj) : "");
	if (res->namespaced)
		fprintf(m, "Namespace:\t%s\n", kp_obj_namespace(obj) ? kp_obj_namespace(obj) : "");
	map_field(m, "Labels", kp_obj_labels(obj), false);
	map_field(m, "Annotations", kp_obj_annotations(obj), true);
	content(m, 0, obj, "");
	if (show_events) {
		json_t *evs = fetch_events(k, obj, kp_obj_namespace(obj) ? kp_obj_namespace(obj) : k->namespace, !res->namespaced);
		if (!json_array_size(evs)) {
			fputs("Events:\t<none>\n", m);
		} else {
			int64_t now = kp_time_now();
			size_t i;
			json_t *e;
			fputs("Events:\n  Type\tReason\tAge\tFrom\tMessage\n  ----\t------\t----\t----\t-------\n", m);
			json_array_foreach(evs, i, e) {
				char age[96], src[256];
				const char *msg = kp_obj_str(e, "message");
				event_age(e, now, age, sizeof(age));
				fprintf(m, "  %s\t%s\t%s\t%s\t", kp_obj_str(e, "type") ? kp_obj_str(e, "type") : "",
					kp_obj_str(e, "reason") ? kp_obj_str(e, "reason") : "", age,
					event_source(e, src, sizeof(src)));
				/* one line per event, as kubectl trims the message */
				for (const char *p = msg ? msg : ""; *p; p++)
					fputc(*p == '\n' || *p == '\t' ? ' ' : *p, m);
				fputc('\n', m);
			}
		}
		json_decref(evs);
	}
	fclose(m);
	char *out = b ? kpc_tabwrite(b, 0, 2) : NULL;
	free(b);
	if (!out)
		return kpctl_err("out of memory");
	fputs(out, stdout);
	free(out);
	return 0;
}

static const char *usage_describe =
	"Show details of a specific resource or group of resources, with its events.\n\n"
	"Usage:\n  kpctl describe TYPE [NAME_PREFIX | -l label] | TYPE/NAME | -f FILENAME\n";

int kpctl_cmd_describe(struct kpctl *k, int argc, char **argv)
{
	struct kpc_strlist files = { 0 };
	const char *selector = NULL;
	bool all_ns = false, show_events = true, recursive = false;
	struct kpc_opt opts[] = {
		{ "filename", 'f', KPC_OPT_LIST, &files, "Files naming the objects to describe", false },
		{ "recursive", 'R', KPC_OPT_BOOL, &recursive, "Process the directory used in -f recursively", false },
		{ "selector", 'l', KPC_OPT_STRING, &selector, "Selector (label query) to filter on", false },
		{ "all-namespaces", 'A', KPC_OPT_BOOL, &all_ns, "Describe across all namespaces", false },
		{ "show-events", 0, KPC_OPT_BOOL, &show_events, "Display events related to the described object (default true)", false },
		{ NULL, 0, 0, NULL, NULL, false },
	};
	char **pos = NULL;
	int npos = 0, rc;
	struct kpc_targets t = { 0 }, objs = { 0 };
	k->usage = usage_describe;
	if ((rc = kpctl_parse(k, argc, argv, opts, &pos, &npos))) {
		kpc_strlist_release(&files);
		return rc;
	}
	rc = 1;
	if (!files.n && !npos) {
		fprintf(stderr, "You must specify the type of resource to describe. Use \"kpctl api-resources\" for a complete list of supported resources.\n");
		goto out;
	}
	if (kpctl_connect(k))
		goto out;
	if (files.n ? kpctl_targets_from_files(k, &files, recursive, &t) : kpctl_targets_from_args(k, pos, npos, &t))
		goto out;
	rc = 0;
	for (size_t i = 0; i < t.n; i++) {
		struct kpc_target *x = &t.v[i];
		if (x->name) {
			json_t *o = NULL;
			if (kpctl_fetch(k, x, &o)) {
				rc = 1;
				continue;
			}
			kpctl_targets_add(&objs, x->res, x->name, x->ns, o, NULL);
			json_decref(o);
		} else if (kpctl_targets_list(k, x->res, all_ns, selector, NULL, &objs)) {
			rc = 1;
		}
	}
	if (!objs.n && !rc && t.n && !t.v[0].name) {
		if (all_ns || !t.v[0].res->namespaced)
			fprintf(stderr, "No resources found\n");
		else
			fprintf(stderr, "No resources found in %s namespace.\n", k->namespace);
	}
	for (size_t i = 0; i < objs.n; i++) {
		if (i)
			fputs("\n\n", stdout);
		if (describe_one(k, objs.v[i].obj, objs.v[i].res, show_events))
			rc = 1;
	}
out:
	kpctl_targets_release(&objs);
	kpctl_targets_release(&t);
	kpc_strlist_release(&files);
	free(pos);
	return rc;
}

static const char *usage_events =
	"List events, oldest first.\n\n"
	"Usage:\n  kpctl events [-n NS | -A] [--for TYPE/NAME] [--types Normal,Warning]\n";

int kpctl_cmd_events(struct kpctl *k, int argc, char **argv)
{
	bool all_ns = false, no_headers = false;
	const char *for_obj = NULL, *types = NULL;
	struct kpc_opt opts[] = {
		{ "all-namespaces", 'A', KPC_OPT_BOOL, &all_ns, "List events across all namespaces", false },
		{ "for", 0, KPC_OPT_STRING, &for_obj, "Only events about this object (TYPE/NAME)", false },
		{ "types", 0, KPC_OPT_STRING, &types, "Only events of these types (comma-separated: Normal,Warning)", false },
		{ "no-headers", 0, KPC_OPT_BOOL, &no_headers, "Don't print headers", false },
		{ NULL, 0, 0, NULL, NULL, false },
	};
	char **pos = NULL;
	int npos = 0, rc;
	json_t *filter = NULL;
	k->usage = usage_events;
	if ((rc = kpctl_parse(k, argc, argv, opts, &pos, &npos)))
		return rc;
	rc = 1;
	if (npos) {
		kpctl_usage_err(k, "unexpected argument \"%s\" (use --for TYPE/NAME)", pos[0]);
		goto out;
	}
	if (types) {
		char *c = strdup(types), *save = NULL;
		for (char *tk = strtok_r(c, ",", &save); tk; tk = strtok_r(NULL, ",", &save))
			if (strcasecmp(tk, "Normal") && strcasecmp(tk, "Warning")) {
				kpctl_usage_err(k, "valid --types are Normal or Warning, got \"%s\"", tk);
				free(c);
				goto out;
			}
		free(c);
	}
	if (kpctl_discover(k))
		goto out;
	if (for_obj) {
		const char *slash = strchr(for_obj, '/');
		if (!slash || !slash[1] || slash == for_obj) {
			kpctl_usage_err(k, "--for must be in resource/name form");
			goto out;
		}
		char *kind = strndup(for_obj, (size_t)(slash - for_obj));
		const struct kpc_resource *r = kpctl_resource(k, kind);
		free(kind);
		if (!r)
			goto out;
		filter = json_pack("{s:{s:s},s:s}", "metadata", "name", slash + 1, "kind", r->kind);
	}
	json_t *evs = fetch_events(k, filter, k->namespace, all_ns);
	if (!evs) {
		kpctl_err("the server doesn't have a resource type \"events\"");
		goto out;
	}
	struct kpc_table tab;
	kpc_table_init(&tab, stdout);
	int64_t now = kp_time_now();
	size_t i, shown = 0;
	json_t *e;
	json_array_foreach(evs, i, e) {
		const char *type = kp_obj_str(e, "type");
		if (types && (!type || !strcasestr(types, type)))
			continue;
		if (!shown && !no_headers) {
			const char *h[] = { "NAMESPACE", "LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE" };
			kpc_table_add(&tab, all_ns ? 6 : 5, all_ns ? h : h + 1);
		}
		char age[96];
		event_age(e, now, age, sizeof(age));
		char *ref = kpc_ref_name(kp_obj_str(e, "involvedObject.kind"), "v1", kp_obj_str(e, "involvedObject.name"));
		const char *ns = kp_obj_namespace(e);
		const char *cells[] = { ns ? ns : "", age, type ? type : "", kp_obj_str(e, "reason"), ref,
					kp_obj_str(e, "message") };
		kpc_table_add(&tab, all_ns ? 6 : 5, all_ns ? cells : cells + 1);
		free(ref);
		shown++;
	}
	kpc_table_flush(&tab);
	kpc_table_release(&tab);
	json_decref(evs);
	if (!shown) {
		if (all_ns)
			fprintf(stderr, "No events found.\n");
		else
			fprintf(stderr, "No events found in %s namespace.\n", k->namespace);
	}
	rc = 0;
out:
	json_decref(filter);
	free(pos);
	return rc;
}

/*
 * cmd_explain.c - `kpctl explain RESOURCE[.field...] [--recursive]`: the
 * schema of a kind from the server's OpenAPI v3 document of its group
 * version (else the /openapi/v2 JSON), laid out as kubectl 1.32's
 * plaintext template does: GROUP/KIND/VERSION, FIELD, DESCRIPTION wrapped
 * at 76 columns, FIELDS with kubectl's type guesses (<string>,
 * <[]Container>, <map[string]string>, <Object>) and -required-.
 * (externalDocs are not shown: kubectl 1.32's template has no section for
 * them; later kubectl versions print them.)
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/error.h>
#include <kplane/object.h>

#include "cli/kpctl/kpctl.h"

struct explain {
	const json_t *doc; /* the whole document, for $ref */
	bool recursive;
};

/* A "#/a/b/c" reference into the document, or NULL. */
static const json_t *resolve_ref(const struct explain *e, const json_t *schema)
{
	const char *ref = json_string_value(json_object_get(schema, "$ref"));
	if (!ref || ref[0] != '#')
		return NULL;
	const json_t *cur = e->doc;
	char *copy = strdup(ref + 1), *save = NULL;
	if (!copy)
		return NULL;
	for (char *p = strtok_r(copy, "/", &save); p && cur; p = strtok_r(NULL, "/", &save))
		cur = json_is_object(cur) ? json_object_get(cur, p) : NULL;
	free(copy);
	return json_is_object(cur) ? cur : NULL;
}

static const json_t *resolved(const struct explain *e, const json_t *schema)
{
	const json_t *r = resolve_ref(e, schema);
	return r ? r : schema;
}

/* additionalProperties when it is a schema (not a boolean). */
static const json_t *map_values(const json_t *s)
{
	const json_t *ap = json_object_get(s, "additionalProperties");
	return json_is_object(ap) ? ap : NULL;
}

/*
 * mitchellh/go-wordwrap's WrapString (what kubectl's word-wrap writer
 * uses): breaks at white space so that lines stay within lim runes, keeps
 * the text's own line breaks, never splits a word.
 */
static void word_wrap(FILE *out, const char *s, unsigned lim)
{
	char *word = malloc(strlen(s) + 1), *space = malloc(strlen(s) + 1);
	size_t wl = 0, sl = 0;       /* bytes */
	unsigned wlen = 0, slen = 0; /* runes */
	unsigned current = 0;
	if (!word || !space) {
		fputs(s, out);
		free(word);
		free(space);
		return;
	}
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		/* one UTF-8 sequence */
		size_t n = *p < 0x80 ? 1 : (*p >> 5) == 6 ? 2 : (*p >> 4) == 14 ? 3 : (*p >> 3) == 30 ? 4 : 1;
		for (size_t i = 1; i < n; i++)
			if (!p[i]) {
				n = i;
				break;
			}
		unsigned char c = *p;
		if (c == '\n') {
			if (!wl) {
				if (current + slen <= lim)
					fwrite(space, 1, sl, out);
			} else {
				fwrite(space, 1, sl, out);
				fwrite(word, 1, wl, out);
			}
			sl = wl = 0;
			slen = wlen = 0;
			fputc('\n', out);
			current = 0;
		} else if (n == 1 && (c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r')) {
			if (!sl || wl) {
				current += slen + wlen;
				fwrite(space, 1, sl, out);
				fwrite(word, 1, wl, out);
				sl = wl = 0;
				slen = wlen = 0;
			}
			space[sl++] = (char)c;
			slen++;
		} else {
			memcpy(word + wl, p, n);
			wl += n;
			wlen++;
			if (current + slen + wlen > lim && wlen < lim) {
				fputc('\n', out);
				current = 0;
				sl = 0;
				slen = 0;
			}
		}
		p += n;
	}
	if (!wl) {
		if (current + slen <= lim)
			fwrite(space, 1, sl, out);
	} else {
		fwrite(space, 1, sl, out);
		fwrite(word, 1, wl, out);
	}
	free(word);
	free(space);
}

/* wrap LIM | indent N, as the template pipes text. */
static void wrap_indent(FILE *out, const char *s, unsigned lim, int pad)
{
	char *w = NULL;
	size_t wlen = 0;
	FILE *m = open_memstream(&w, &wlen);
	if (!m)
		return;
	word_wrap(m, s, lim);
	fclose(m);
	fprintf(out, "%*s", pad, "");
	for (const char *p = w; p && *p; p++) {
		fputc(*p, out);
		if (*p == '\n')
			fprintf(out, "%*s", pad, "");
	}
	free(w);
}

/* kubectl's typeGuess. */
static void type_guess(const struct explain *e, const json_t *s, FILE *out)
{
	const json_t *items = json_object_get(s, "items"), *ap = map_values(s);
	const json_t *all_of = json_object_get(s, "allOf");
	const char *ref = json_string_value(json_object_get(s, "$ref"));
	if (json_is_object(items)) {
		fputs("[]", out);
		type_guess(e, items, out);
	} else if (ap) {
		fputs("map[string]", out);
		type_guess(e, ap, out);
	} else if (json_array_size(all_of) == 1 && !json_object_get(s, "properties")) {
		type_guess(e, json_array_get(all_of, 0), out);
	} else if (ref) {
		const json_t *rs = resolve_ref(e, s);
		const char *rt = rs ? json_string_value(json_object_get(rs, "type")) : NULL;
		if (!rs || !rt || !strcmp(rt, "object")) {
			const char *slash = strrchr(ref, '/'), *name = slash ? slash + 1 : ref;
			const char *dot = strrchr(name, '.');
			const char *last = dot ? dot + 1 : name;
			fputs(*last ? last : "Object", out);
		} else {
			fputs(rt, out);
		}
	} else {
		const char *t = json_string_value(json_object_get(s, "type"));
		fputs(!t || !strcmp(t, "object") ? "Object" : t, out);
	}
}

static void enum_value(const json_t *v, FILE *out)
{
	if (json_is_string(v)) {
		fputs(*json_string_value(v) ? json_string_value(v) : "\"\"", out);
	} else {
		char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		fputs(t ? t : "", out);
		free(t);
	}
}

/* extractEnum: the long view (ENUM: one per line) or the short one (enum: a, b, ....). */
static void extract_enum(const json_t *s, bool long_view, int limit, int indent, FILE *out)
{
	const json_t *en = json_object_get(s, "enum");
	size_t i;
	json_t *v;
	if (!json_array_size(en))
		return;
	if (long_view)
		fputs("ENUM:", out);
	else
		fprintf(out, "\n%*senum: ", indent, "");
	json_array_foreach(en, i, v) {
		if (limit > -1 && (int)i >= limit) {
			fputs(", ....", out);
			break;
		}
		if (i > 0 && !long_view)
			fputs(", ", out);
		else if (long_view)
			fputs("\n    ", out);
		enum_value(v, out);
	}
}

static bool is_required(const json_t *s, const char *name)
{
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(s, "required"), i, r)
		if (json_is_string(r) && !strcmp(json_string_value(r), name))
			return true;
	return false;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The ref strings on the way down, to stop at a cycle. */
struct hist {
	const char *refs[256];
	size_t n;
};

static bool hist_has(const struct hist *h, const char *ref)
{
	for (size_t i = 0; ref && i < h->n; i++)
		if (!strcmp(h->refs[i], ref))
			return true;
	return false;
}

static void field_list(const struct explain *e, const json_t *s, int level, struct hist h, FILE *out);

static void field_detail(const struct explain *e, const char *name, const json_t *parent, int level, FILE *out)
{
	int ind = level * 2;
	const json_t *fs = json_object_get(json_object_get(parent, "properties"), name);
	fprintf(out, "%*s%s\t<", ind, "", name);
	type_guess(e, fs, out);
	fputc('>', out);
	if (is_required(parent, name))
		fputs(" -required-", out);
	extract_enum(fs, false, 4, ind, out);
	fputc('\n', out);
	if (e->recursive)
		return;
	const char *d = json_string_value(json_object_get(fs, "description"));
	wrap_indent(out, d && *d ? d : "<no description>", (unsigned)(78 - ind), ind + 2);
	fputc('\n', out);
	fputc('\n', out);
}

static void field_list(const struct explain *e, const json_t *s, int level, struct hist h, FILE *out)
{
	const char *ref = json_string_value(json_object_get(s, "$ref"));
	if (!json_is_object(s) || (ref && hist_has(&h, ref)))
		return;
	if (ref && h.n < sizeof(h.refs) / sizeof(h.refs[0]))
		h.refs[h.n++] = ref;
	const json_t *r = resolved(e, s), *props = json_object_get(r, "properties");
	size_t n = json_object_size(props), i = 0;
	if (n) {
		const char **keys = calloc(n, sizeof(*keys)), *k;
		json_t *v;
		if (keys) {
			json_object_foreach((json_t *)props, k, v) keys[i++] = k;
			qsort(keys, n, sizeof(*keys), cmp_str);
			for (i = 0; i < n; i++) {
				field_detail(e, keys[i], r, level, out);
				if (e->recursive)
					field_list(e, json_object_get(props, keys[i]), level + 1, h, out);
			}
			free(keys);
		}
	}
	json_t *a;
	json_array_foreach(json_object_get(r, "allOf"), i, a)
		field_list(e, a, level, h, out);
	if (json_is_object(json_object_get(r, "items")))
		field_list(e, json_object_get(r, "items"), level, h, out);
	if (map_values(r))
		field_list(e, map_values(r), level, h, out);
}

/* The "description" template: this schema's, then allOf/items/map values'. */
static void description(const struct explain *e, const json_t *s, FILE *out)
{
	const json_t *r = resolved(e, s);
	const char *d = json_string_value(json_object_get(r, "description"));
	size_t i;
	json_t *a;
	if (d && *d)
		fprintf(out, "%s\n", d);
	json_array_foreach(json_object_get(r, "allOf"), i, a)
		description(e, a, out);
	if (json_is_object(json_object_get(r, "items")))
		description(e, json_object_get(r, "items"), out);
	if (map_values(r))
		description(e, map_values(r), out);
}

/* The "output" template: follows the field path, then DESCRIPTION and FIELDS. */
static void explain_output(const struct explain *e, const json_t *s, char **path, size_t npath, struct hist h, FILE *out)
{
	const char *ref = json_string_value(json_object_get(s, "$ref"));
	bool seen = ref && hist_has(&h, ref);
	if (ref && !seen && h.n < sizeof(h.refs) / sizeof(h.refs[0]))
		h.refs[h.n++] = ref;
	const json_t *r = resolved(e, s);
	if (!npath) {
		char *d = NULL, *fl = NULL;
		size_t dl = 0, fll = 0;
		FILE *m = open_memstream(&d, &dl);
		if (m) {
			description(e, r, m);
			fclose(m);
		}
		fputs("DESCRIPTION:\n", out);
		wrap_indent(out, d && *d ? d : "<empty>", 76, 4);
		fputc('\n', out);
		free(d);
		struct hist fresh = { .n = 0 };
		m = open_memstream(&fl, &fll);
		if (m) {
			field_list(e, r, 1, fresh, m);
			fclose(m);
		}
		if (fl && *fl)
			fprintf(out, "FIELDS:\n%s", fl);
		free(fl);
		return;
	}
	if (seen)
		return;
	const json_t *sub = json_object_get(json_object_get(r, "properties"), path[0]);
	if (sub) {
		if (npath == 1) {
			fprintf(out, "FIELD: %s <", path[0]);
			type_guess(e, sub, out);
			fputs(">\n", out);
			extract_enum(sub, true, -1, 0, out);
			fputs("\n\n", out);
		}
		struct hist fresh = { .n = 0 };
		explain_output(e, sub, path + 1, npath - 1, fresh, out);
	} else if (json_is_object(json_object_get(r, "items"))) {
		explain_output(e, json_object_get(r, "items"), path, npath, h, out);
	} else if (map_values(r)) {
		explain_output(e, map_values(r), path, npath, h, out);
	} else {
		size_t i;
		json_t *a;
		json_array_foreach(json_object_get(r, "allOf"), i, a) {
			char *t = NULL;
			size_t tl = 0;
			FILE *m = open_memstream(&t, &tl);
			if (!m)
				break;
			explain_output(e, a, path, npath, h, m);
			fclose(m);
			if (t && *t) {
				fputs(t, out);
				free(t);
				break;
			}
			free(t);
		}
	}
}

static bool gvk_matches(const json_t *schema, const char *group, const char *version, const char *kind)
{
	size_t i;
	json_t *g;
	json_array_foreach(json_object_get(schema, "x-kubernetes-group-version-kind"), i, g) {
		const char *gg = kp_obj_str(g, "group"), *gv = kp_obj_str(g, "version"), *gk = kp_obj_str(g, "kind");
		if (!strcmp(gg ? gg : "", group) && gv && !strcmp(gv, version) && gk && !strcmp(gk, kind))
			return true;
	}
	return false;
}

/* The first schema (in sorted name order, as the template ranges) of this GVK. */
static const json_t *find_schema(const json_t *schemas, const char *group, const char *version, const char *kind)
{
	size_t n = json_object_size(schemas), i = 0;
	const char **keys = calloc(n ? n : 1, sizeof(*keys)), *k;
	const json_t *found = NULL;
	json_t *v;
	if (!keys)
		return NULL;
	json_object_foreach((json_t *)schemas, k, v) keys[i++] = k;
	qsort(keys, n, sizeof(*keys), cmp_str);
	for (i = 0; i < n && !found; i++)
		if (gvk_matches(json_object_get(schemas, keys[i]), group, version, kind))
			found = json_object_get(schemas, keys[i]);
	free(keys);
	return found;
}

static json_t *get_json(struct kpctl *k, const char *path, long *status)
{
	struct kpc_response r;
	char *em = NULL;
	if (kpc_request(k->client, "GET", path, "application/json", NULL, NULL, 0, &r, &em)) {
		fprintf(stderr, "%s\n", em ? em : "request failed");
		free(em);
		*status = -1;
		return NULL;
	}
	*status = r.status;
	json_t *j = r.status == 200 && json_is_object(r.json) ? json_incref(r.json) : NULL;
	if (r.status != 200 && r.status != 404)
		kpctl_server_err(&r, NULL);
	kpc_response_release(&r);
	return j;
}

/*
 * The OpenAPI document describing group/version: the v3 one the /openapi/v3
 * index points at, else /openapi/v2. *schemas is its schema map (borrowed
 * from the returned document).
 */
static json_t *load_doc(struct kpctl *k, const char *group, const char *version, const json_t **schemas)
{
	long st = 0;
	json_t *index = get_json(k, "/openapi/v3", &st);
	if (st < 0)
		return NULL;
	if (index) {
		char key[300];
		if (*group)
			snprintf(key, sizeof(key), "apis/%s/%s", group, version);
		else
			snprintf(key, sizeof(key), "api/%s", version);
		const char *url = kp_obj_str(json_object_get(json_object_get(index, "paths"), key), "serverRelativeURL");
		json_t *doc = NULL;
		if (url)
			doc = get_json(k, url, &st);
		json_decref(index);
		if (doc) {
			*schemas = kp_obj_get(doc, "components.schemas");
			return doc;
		}
		if (st < 0)
			return NULL;
	}
	json_t *doc = get_json(k, "/openapi/v2", &st);
	if (doc)
		*schemas = json_object_get(doc, "definitions");
	return doc;
}

int kpctl_cmd_explain(struct kpctl *k, int argc, char **argv)
{
	struct explain e = { 0 };
	const char *api_version = NULL, *output = "plaintext";
	struct kpc_opt opts[] = {
		{ "recursive", 0, KPC_OPT_BOOL, &e.recursive, "Print the fields of fields (only their names and types)", false },
		{ "api-version", 0, KPC_OPT_STRING, &api_version, "Use this group/version of the resource (e.g. apps/v1)", false },
		{ "output", 'o', KPC_OPT_STRING, &output, "Output format: plaintext", false },
		{ NULL, 0, 0, NULL, NULL, false },
	};
	char **pos = NULL, **path = NULL;
	int npos = 0, rc;
	size_t npath = 0;
	json_t *doc = NULL;
	char *arg = NULL;
	k->usage = "Describe fields and structure of various resources.\n\n"
		   "Usage:\n  kpctl explain TYPE[.FIELD...] [--recursive] [--api-version GROUP/VERSION]\n\n"
		   "Examples:\n  kpctl explain pods\n  kpctl explain deployment.spec.template.spec.containers\n";
	if ((rc = kpctl_parse(k, argc, argv, opts, &pos, &npos)))
		return rc;
	rc = 1;
	if (strcmp(output, "plaintext")) {
		kpctl_err("unsupported output format: %s; only plaintext is available", output);
		goto out;
	}
	if (npos != 1) {
		if (!npos)
			fprintf(stderr, "You must specify the type of resource to explain. Use \"kpctl api-resources\" for a complete list of supported resources.\n\n");
		kpctl_usage_err(k, npos ? "We accept only this format: explain RESOURCE" : "Required resource not specified.");
		goto out;
	}
	if (!(arg = strdup(pos[0]))) {
		kpctl_err("out of memory");
		goto out;
	}
	/* RESOURCE.field.field: the first segment names the type */
	char *save = NULL, *type = strtok_r(arg, ".", &save);
	if (!type) {
		kpctl_usage_err(k, "Required resource not specified.");
		goto out;
	}
	for (char *f = strtok_r(NULL, ".", &save); f; f = strtok_r(NULL, ".", &save)) {
		char **np = realloc(path, (npath + 1) * sizeof(*np));
		if (!np) {
			kpctl_err("out of memory");
			goto out;
		}
		path = np;
		path[npath++] = f;
	}
	if (kpctl_discover(k))
		goto out;
	char *em = NULL;
	const struct kpc_resource *res = kpc_discovery_resolve(k->disc, type, &em);
	if (!res) {
		/* kubectl explain prints the mapper's message without "error: " */
		fprintf(stderr, "%s\n", em ? em : "unknown resource type");
		free(em);
		goto out;
	}
	char group[256], version[128];
	snprintf(group, sizeof(group), "%s", res->group);
	snprintf(version, sizeof(version), "%s", res->version);
	if (api_version) {
		const char *sl = strchr(api_version, '/');
		if (sl) {
			snprintf(group, sizeof(group), "%.*s", (int)(sl - api_version), api_version);
			snprintf(version, sizeof(version), "%s", sl + 1);
		} else {
			group[0] = 0;
			snprintf(version, sizeof(version), "%s", api_version);
		}
	}
	const json_t *schemas = NULL;
	if (!(doc = load_doc(k, group, version, &schemas)))
		goto out;
	e.doc = doc;
	const json_t *schema = find_schema(schemas, group, version, res->kind);
	if (!schema) {
		if (*group)
			kpctl_err("GVR (%s/%s, Resource=%s) not found in OpenAPI schema", group, version, res->name);
		else
			kpctl_err("GVR (/%s, Resource=%s) not found in OpenAPI schema", version, res->name);
		goto out;
	}
	if (*group)
		printf("GROUP:      %s\n", group);
	printf("KIND:       %s\nVERSION:    %s\n\n", res->kind, version);
	char *text = NULL;
	size_t tl = 0;
	FILE *m = open_memstream(&text, &tl);
	if (!m) {
		kpctl_err("out of memory");
		goto out;
	}
	struct hist h = { .n = 0 };
	explain_output(&e, schema, path, npath, h, m);
	fclose(m);
	if (!text || !*text) {
		fflush(stdout);
		kpctl_err("field \"%s\" does not exist", npath ? path[npath - 1] : type);
		free(text);
		goto out;
	}
	fputs(text, stdout);
	putchar('\n');
	free(text);
	rc = 0;
out:
	json_decref(doc);
	free(path);
	free(arg);
	free(pos);
	return rc;
}

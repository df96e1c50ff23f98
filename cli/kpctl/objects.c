/* objects.c - argument-to-object resolution for kpctl; see objects.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/error.h>
#include <kplane/object.h>

#include "cli/kpctl/manifest.h"
#include "cli/kpctl/objects.h"
#include "cli/kpctl/printers.h"

int kpctl_targets_add(struct kpc_targets *t, const struct kpc_resource *res, const char *name,
		      const char *ns, json_t *obj, const char *source)
{
	if (t->n == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 8;
		struct kpc_target *nv = realloc(t->v, nc * sizeof(*nv));
		if (!nv)
			return KP_ENOMEM;
		t->v = nv;
		t->cap = nc;
	}
	struct kpc_target *x = &t->v[t->n];
	memset(x, 0, sizeof(*x));
	x->res = res;
	if ((name && !(x->name = strdup(name))) || (ns && res->namespaced && !(x->ns = strdup(ns))) ||
	    (source && !(x->source = strdup(source)))) {
		free(x->name);
		free(x->ns);
		free(x->source);
		return KP_ENOMEM;
	}
	x->obj = obj ? json_incref(obj) : NULL;
	t->n++;
	return 0;
}

void kpctl_targets_release(struct kpc_targets *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].name);
		free(t->v[i].ns);
		free(t->v[i].source);
		json_decref(t->v[i].obj);
	}
	free(t->v);
	memset(t, 0, sizeof(*t));
}

int kpctl_targets_from_args(struct kpctl *k, char **pos, int npos, struct kpc_targets *out)
{
	if (npos == 0)
		return kpctl_usage_err(k, "Required resource not specified.");
	if (kpctl_discover(k))
		return 1;
	if (strchr(pos[0], '/')) {
		for (int i = 0; i < npos; i++) {
			char *slash = strchr(pos[i], '/');
			if (!slash)
				return kpctl_usage_err(k, "there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'kpctl get resource/<resource_name>' instead of 'kpctl get resource resource/<resource_name>'");
			if (!slash[1])
				return kpctl_usage_err(k, "arguments in resource/name form must have a single resource and name");
			*slash = 0;
			const struct kpc_resource *r = kpctl_resource(k, pos[i]);
			*slash = '/';
			if (!r)
				return 1;
			if (kpctl_targets_add(out, r, slash + 1, k->namespace, NULL, NULL))
				return kpctl_err("out of memory");
		}
		return 0;
	}
	for (int i = 1; i < npos; i++)
		if (strchr(pos[i], '/'))
			return kpctl_usage_err(k, "there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'kpctl get resource/<resource_name>' instead of 'kpctl get resource resource/<resource_name>'");
	char *kinds = strdup(pos[0]), *save = NULL;
	if (!kinds)
		return kpctl_err("out of memory");
	int rc = 0;
	for (char *kd = strtok_r(kinds, ",", &save); kd && !rc; kd = strtok_r(NULL, ",", &save)) {
		const struct kpc_resource *r = kpctl_resource(k, kd);
		if (!r) {
			rc = 1;
			break;
		}
		if (npos == 1) {
			if (kpctl_targets_add(out, r, NULL, k->namespace, NULL, NULL))
				rc = kpctl_err("out of memory");
			continue;
		}
		for (int i = 1; i < npos && !rc; i++) {
			if (!*pos[i])
				rc = kpctl_usage_err(k, "resource name may not be empty");
			else if (kpctl_targets_add(out, r, pos[i], k->namespace, NULL, NULL))
				rc = kpctl_err("out of memory");
		}
	}
	if (!rc && out->n == 0)
		rc = kpctl_usage_err(k, "Required resource not specified.");
	free(kinds);
	return rc;
}

int kpctl_targets_from_files(struct kpctl *k, const struct kpc_strlist *files, bool recursive,
			     struct kpc_targets *out)
{
	struct kpc_manifests m = { 0 };
	char *em = NULL;
	int rc = 0;
	if (kpctl_discover(k))
		return 1;
	for (int i = 0; i < files->n && !rc; i++)
		if (kpc_manifests_read(&m, files->v[i], recursive, &em)) {
			rc = kpctl_err("%s", em ? em : "cannot read manifests");
			free(em);
			em = NULL;
		}
	for (size_t i = 0; i < m.n && !rc; i++) {
		json_t *o = m.v[i].obj;
		const struct kpc_resource *r =
			kpc_discovery_by_kind(k->disc, kp_obj_api_version(o), kp_obj_kind(o), &em);
		if (!r) {
			const char *ns = kp_obj_namespace(o);
			rc = kpctl_err("resource mapping not found for name: \"%s\" namespace: \"%s\" from \"%s\": %s\n"
				       "ensure CRDs are installed first",
				       kp_obj_name(o) ? kp_obj_name(o) : "", ns ? ns : "", m.v[i].source, em ? em : "");
			free(em);
			em = NULL;
			break;
		}
		const char *ns = r->namespaced ? kpctl_object_namespace(k, o) : NULL;
		if (r->namespaced && !ns) {
			rc = 1;
			break;
		}
		if (kpctl_targets_add(out, r, kp_obj_name(o), ns, o, m.v[i].source))
			rc = kpctl_err("out of memory");
	}
	if (!rc && out->n == 0)
		rc = kpctl_err("no objects passed to %s", k->cmd);
	kpc_manifests_release(&m);
	return rc;
}

static int append_query(char **path, const char *key, const char *val)
{
	char *e = kpc_escape(val), *np = NULL;
	if (!e)
		return KP_ENOMEM;
	int r = asprintf(&np, "%s%c%s=%s", *path, strchr(*path, '?') ? '&' : '?', key, e);
	free(e);
	if (r < 0)
		return KP_ENOMEM;
	free(*path);
	*path = np;
	return 0;
}

int kpctl_targets_list(struct kpctl *k, const struct kpc_resource *res, bool all_ns,
		       const char *selector, const char *field_selector, struct kpc_targets *out)
{
	char *path = kpc_resource_path(res, all_ns ? NULL : k->namespace, NULL, NULL);
	struct kpc_response r;
	char *em = NULL;
	int rc = 0;
	if (kpctl_check_selectors(selector, field_selector)) {
		free(path);
		return 1;
	}
	if (!path || (selector && *selector && append_query(&path, "labelSelector", selector)) ||
	    (field_selector && *field_selector && append_query(&path, "fieldSelector", field_selector))) {
		free(path);
		return kpctl_err("out of memory");
	}
	if (kpc_request(k->client, "GET", path, NULL, NULL, NULL, 0, &r, &em)) {
		free(path);
		fprintf(stderr, "%s\n", em ? em : "request failed");
		free(em);
		return 1;
	}
	free(path);
	if (r.status != 200) {
		rc = kpctl_server_err(&r, NULL);
		kpc_response_release(&r);
		return rc;
	}
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(r.json, "items"), i, it) {
		if (!kp_obj_kind(it))
			json_object_set_new(it, "kind", json_string(res->kind));
		if (!kp_obj_api_version(it))
			json_object_set_new(it, "apiVersion", json_string(res->api_version));
		if (kpctl_targets_add(out, res, kp_obj_name(it), kp_obj_namespace(it), it, NULL)) {
			rc = kpctl_err("out of memory");
			break;
		}
	}
	kpc_response_release(&r);
	return rc;
}

int kpctl_fetch(struct kpctl *k, const struct kpc_target *t, json_t **out)
{
	char *path = kpc_resource_path(t->res, t->ns, t->name, NULL), *em = NULL;
	struct kpc_response r;
	int rc;
	if (!path)
		return kpctl_err("out of memory");
	rc = kpc_request(k->client, "GET", path, NULL, NULL, NULL, 0, &r, &em);
	free(path);
	if (rc) {
		fprintf(stderr, "%s\n", em ? em : "request failed");
		free(em);
		return 1;
	}
	if (r.status != 200 || !json_is_object(r.json)) {
		rc = kpctl_server_err(&r, NULL);
		kpc_response_release(&r);
		return rc;
	}
	*out = json_incref(r.json);
	kpc_response_release(&r);
	return 0;
}

char *kpctl_target_ref(const struct kpc_target *t)
{
	return kpc_ref_name(t->res->kind, t->res->api_version, t->name);
}

char *kpctl_target_quoted(const struct kpc_target *t)
{
	char *kg = kpc_kind_group(t->res->kind, t->res->api_version), *s = NULL;
	if (kg && asprintf(&s, "%s \"%s\"", kg, t->name ? t->name : "") < 0)
		s = NULL;
	free(kg);
	return s;
}

char *kpctl_selector_text(const json_t *sel)
{
	char *b = NULL;
	size_t bl = 0;
	FILE *m = open_memstream(&b, &bl);
	const char *k;
	json_t *v;
	bool first = true;
	if (!m)
		return NULL;
	/* a Service's selector is the label map itself */
	const json_t *labels = json_object_get(sel, "matchLabels");
	if (!labels && !json_object_get(sel, "matchExpressions"))
		labels = sel;
	json_object_foreach((json_t *)labels, k, v) {
		fprintf(m, "%s%s=%s", first ? "" : ",", k, json_string_value(v) ? json_string_value(v) : "");
		first = false;
	}
	size_t i, j;
	json_t *e, *val;
	json_array_foreach(json_object_get(sel, "matchExpressions"), i, e) {
		const char *key = kp_obj_str(e, "key"), *op = kp_obj_str(e, "operator");
		if (!key || !op)
			continue;
		fputs(first ? "" : ",", m);
		first = false;
		if (!strcmp(op, "Exists")) {
			fputs(key, m);
		} else if (!strcmp(op, "DoesNotExist")) {
			fprintf(m, "!%s", key);
		} else {
			fprintf(m, "%s %s (", key, !strcmp(op, "In") ? "in" : "notin");
			json_array_foreach(json_object_get(e, "values"), j, val)
				fprintf(m, "%s%s", j ? "," : "", json_string_value(val) ? json_string_value(val) : "");
			fputc(')', m);
		}
	}
	fclose(m);
	return b;
}

/* discovery.c - resource discovery and KIND resolution; see discovery.h. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <kplane/error.h>
#include <kplane/object.h>

#include "cli/kpctl/client.h"
#include "cli/kpctl/discovery.h"

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void kpc_discovery_free(struct kpc_discovery *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		struct kpc_resource *r = &d->res[i];
		free(r->group);
		free(r->version);
		free(r->api_version);
		free(r->name);
		free(r->singular);
		free(r->kind);
		free_strv(r->short_names, r->nshort);
		free_strv(r->verbs, r->nverbs);
		free_strv(r->categories, r->ncategories);
	}
	free(d->res);
	free(d);
}

static char *lower_dup(const char *s)
{
	char *d = strdup(s);
	for (char *p = d; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

static int strv_from_json(const json_t *arr, char ***out, size_t *n)
{
	size_t cnt = json_array_size(arr), i;
	json_t *e;
	*out = NULL;
	*n = 0;
	if (!cnt)
		return 0;
	char **v = calloc(cnt, sizeof(*v));
	if (!v)
		return KP_ENOMEM;
	json_array_foreach(arr, i, e) {
		if (!json_is_string(e))
			continue;
		if (!(v[*n] = strdup(json_string_value(e)))) {
			free_strv(v, *n);
			return KP_ENOMEM;
		}
		(*n)++;
	}
	*out = v;
	return 0;
}

static int add_list(struct kpc_discovery *d, size_t *cap, const char *gv, bool preferred,
		    const json_t *list, char **errmsg)
{
	json_t *resources = json_object_get(list, "resources"), *r;
	size_t i;
	const char *slash = strchr(gv, '/');
	if (!json_is_array(resources))
		return kp_error_set(errmsg, KP_EINVAL, "discovery of %s: resources: expected an array", gv);
	/* First pass: the subresources, to mark their parents. */
	json_array_foreach(resources, i, r) {
		const char *name = kp_obj_str(r, "name");
		if (!name)
			return kp_error_set(errmsg, KP_EINVAL, "discovery of %s: resources[%zu].name: Required value", gv, i);
		if (strchr(name, '/'))
			continue;
		if (!kp_obj_str(r, "kind"))
			return kp_error_set(errmsg, KP_EINVAL, "discovery of %s: resources[%zu].kind: Required value", gv, i);
		if (d->n == *cap) {
			size_t nc = *cap ? *cap * 2 : 64;
			struct kpc_resource *nr = realloc(d->res, nc * sizeof(*nr));
			if (!nr)
				return KP_ENOMEM;
			d->res = nr;
			*cap = nc;
		}
		struct kpc_resource *x = &d->res[d->n];
		memset(x, 0, sizeof(*x));
		d->n++;
		x->group = slash ? strndup(gv, (size_t)(slash - gv)) : strdup("");
		x->version = strdup(slash ? slash + 1 : gv);
		x->api_version = strdup(gv);
		x->name = strdup(name);
		x->kind = strdup(kp_obj_str(r, "kind"));
		const char *sing = kp_obj_str(r, "singularName");
		x->singular = sing && *sing ? strdup(sing) : lower_dup(x->kind);
		x->namespaced = kp_obj_bool(r, "namespaced", false);
		x->preferred = preferred;
		if (!x->group || !x->version || !x->api_version || !x->name || !x->kind || !x->singular ||
		    strv_from_json(json_object_get(r, "shortNames"), &x->short_names, &x->nshort) ||
		    strv_from_json(json_object_get(r, "verbs"), &x->verbs, &x->nverbs) ||
		    strv_from_json(json_object_get(r, "categories"), &x->categories, &x->ncategories))
			return KP_ENOMEM;
	}
	json_array_foreach(resources, i, r) {
		const char *name = kp_obj_str(r, "name"), *sl = strchr(name, '/');
		if (!sl)
			continue;
		unsigned bit = !strcmp(sl + 1, "status") ? KPC_SUB_STATUS :
			       !strcmp(sl + 1, "scale") ? KPC_SUB_SCALE :
			       !strcmp(sl + 1, "eviction") ? KPC_SUB_EVICTION : 0;
		for (size_t k = 0; k < d->n; k++)
			if (!strcmp(d->res[k].api_version, gv) && strlen(d->res[k].name) == (size_t)(sl - name) &&
			    !strncmp(d->res[k].name, name, (size_t)(sl - name)))
				d->res[k].subresources |= bit;
	}
	return 0;
}

int kpc_discovery_from_json(const json_t *order, const json_t *lists,
			    struct kpc_discovery **out, char **errmsg)
{
	struct kpc_discovery *d = calloc(1, sizeof(*d));
	size_t cap = 0, i;
	json_t *e;
	int rc = 0;
	if (!d)
		return KP_ENOMEM;
	json_array_foreach(order, i, e) {
		const char *gv = kp_obj_str(e, "groupVersion");
		json_t *list = json_object_get(lists, gv);
		if (!list)
			continue;
		if ((rc = add_list(d, &cap, gv, kp_obj_bool(e, "preferred", false), list, errmsg)))
			break;
	}
	if (rc) {
		kpc_discovery_free(d);
		return rc;
	}
	*out = d;
	return 0;
}

static int fetch(struct kpc_client *c, const char *path, json_t **out, char **errmsg)
{
	struct kpc_response r;
	int rc = kpc_request(c, "GET", path, NULL, NULL, NULL, 0, &r, errmsg);
	if (rc)
		return rc;
	if (r.status != 200 || !json_is_object(r.json)) {
		char *m = kpc_status_message(&r, NULL);
		rc = kp_error_set(errmsg, r.status == 404 ? KP_ENOENT : KP_EIO,
				  "couldn't get resource list for %s: %s", path, m ? m : "");
		free(m);
		kpc_response_release(&r);
		return rc;
	}
	*out = json_incref(r.json);
	kpc_response_release(&r);
	return 0;
}

int kpc_discovery_load(struct kpc_client *c, struct kpc_discovery **out, char **errmsg)
{
	json_t *order = json_array(), *lists = json_object(), *api = NULL, *apis = NULL;
	int rc = 0;
	size_t i, j;
	json_t *e, *v;
	if (!order || !lists) {
		rc = KP_ENOMEM;
		goto out;
	}
	if ((rc = fetch(c, "/api", &api, errmsg)))
		goto out;
	json_array_foreach(json_object_get(api, "versions"), i, v) {
		if (!json_is_string(v))
			continue;
		json_array_append_new(order, json_pack("{s:s,s:b}", "groupVersion", json_string_value(v),
						       "preferred", i == 0));
	}
	if ((rc = fetch(c, "/apis", &apis, errmsg)) && rc != KP_ENOENT)
		goto out;
	if (rc && errmsg) {
		free(*errmsg);
		*errmsg = NULL;
	}
	rc = 0;
	json_array_foreach(json_object_get(apis, "groups"), i, e) {
		const char *pref = kp_obj_str(e, "preferredVersion.groupVersion");
		json_array_foreach(json_object_get(e, "versions"), j, v) {
			const char *gv = kp_obj_str(v, "groupVersion");
			if (gv)
				json_array_append_new(order, json_pack("{s:s,s:b}", "groupVersion", gv,
								       "preferred", pref ? !strcmp(pref, gv) : j == 0));
		}
	}
	json_array_foreach(order, i, e) {
		const char *gv = kp_obj_str(e, "groupVersion");
		char *path = NULL;
		json_t *list = NULL;
		if (asprintf(&path, strchr(gv, '/') ? "/apis/%s" : "/api/%s", gv) < 0) {
			rc = KP_ENOMEM;
			goto out;
		}
		rc = fetch(c, path, &list, errmsg);
		free(path);
		if (rc == KP_ENOENT) { /* a listed but unserved version: skip it, as kubectl does */
			rc = 0;
			if (errmsg) {
				free(*errmsg);
				*errmsg = NULL;
			}
			continue;
		}
		if (rc)
			goto out;
		json_object_set_new(lists, gv, list);
	}
	rc = kpc_discovery_from_json(order, lists, out, errmsg);
out:
	json_decref(order);
	json_decref(lists);
	json_decref(api);
	json_decref(apis);
	return rc;
}

bool kpc_resource_has_verb(const struct kpc_resource *r, const char *verb)
{
	for (size_t i = 0; i < r->nverbs; i++)
		if (!strcmp(r->verbs[i], verb))
			return true;
	return false;
}

static bool matches_name(const struct kpc_resource *r, const char *n)
{
	if (!strcasecmp(r->name, n) || !strcasecmp(r->singular, n) || !strcasecmp(r->kind, n))
		return true;
	for (size_t i = 0; i < r->nshort; i++)
		if (!strcasecmp(r->short_names[i], n))
			return true;
	return false;
}

/* Rank of a candidate: lower is better (preferred first, then core). */
static int rank(const struct kpc_resource *r)
{
	return (r->preferred ? 0 : 2) + (r->group[0] ? 1 : 0);
}

static const struct kpc_resource *best(const struct kpc_discovery *d, const char *name,
				       const char *group, const char *version)
{
	const struct kpc_resource *b = NULL;
	for (size_t i = 0; i < d->n; i++) {
		const struct kpc_resource *r = &d->res[i];
		if (group && strcasecmp(r->group, group))
			continue;
		if (version && strcmp(r->version, version))
			continue;
		if (!matches_name(r, name))
			continue;
		if (!b || rank(r) < rank(b))
			b = r;
	}
	return b;
}

const struct kpc_resource *kpc_discovery_resolve(const struct kpc_discovery *d, const char *arg,
						 char **errmsg)
{
	const struct kpc_resource *r = NULL;
	char *copy = strdup(arg);
	if (!copy)
		return NULL;
	char *dot = strchr(copy, '.');
	if (!dot) {
		r = best(d, copy, NULL, NULL);
	} else {
		*dot = 0;
		const char *rest = dot + 1;
		/* "resource.group" first, then "resource.version.group". */
		r = best(d, copy, rest, NULL);
		if (!r) {
			char *d2 = strchr(rest, '.');
			if (d2) {
				*d2 = 0;
				r = best(d, copy, d2 + 1, rest);
			}
		}
	}
	free(copy);
	if (!r)
		kp_error_set(errmsg, KP_ENOENT, "the server doesn't have a resource type \"%s\"", arg);
	return r;
}

const struct kpc_resource *kpc_discovery_by_kind(const struct kpc_discovery *d,
						 const char *api_version, const char *kind,
						 char **errmsg)
{
	for (size_t i = 0; i < d->n; i++)
		if (!strcmp(d->res[i].api_version, api_version) && !strcmp(d->res[i].kind, kind))
			return &d->res[i];
	kp_error_set(errmsg, KP_ENOENT, "no matches for kind \"%s\" in version \"%s\"", kind, api_version);
	return NULL;
}

char *kpc_resource_path(const struct kpc_resource *r, const char *ns, const char *name,
			const char *sub)
{
	char *out = NULL, *en = name ? kpc_escape(name) : NULL, *ens = ns ? kpc_escape(ns) : NULL;
	if ((name && !en) || (ns && !ens)) {
		free(en);
		free(ens);
		return NULL;
	}
	const char *prefix = r->group[0] ? "/apis/" : "/api/";
	bool use_ns = r->namespaced && ns;
	if (asprintf(&out, "%s%s%s%s%s/%s%s%s%s%s", prefix, r->api_version,
		     use_ns ? "/namespaces/" : "", use_ns ? ens : "", "", r->name,
		     en ? "/" : "", en ? en : "", sub ? "/" : "", sub ? sub : "") < 0)
		out = NULL;
	free(en);
	free(ens);
	return out;
}

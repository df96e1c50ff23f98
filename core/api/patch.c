/*
 * patch.c - JSON merge patch (RFC 7386), JSON patch (RFC 6902) and
 * Kubernetes strategic merge patch with the merge keys of the built-in
 * types kplane serves.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/kplane.h>

#include "core/api/internal.h"

/* ---- RFC 7386 ------------------------------------------------------------------ */

json_t *kp__merge_patch(const json_t *target, const json_t *patch)
{
	if (!json_is_object(patch))
		return json_deep_copy(patch);
	json_t *out = json_is_object(target) ? json_deep_copy(target) : json_object();
	const char *k;
	json_t *v;
	json_object_foreach ((json_t *)patch, k, v) {
		if (json_is_null(v)) {
			json_object_del(out, k);
			continue;
		}
		json_t *m = kp__merge_patch(json_object_get(out, k), v);
		json_object_set_new(out, k, m);
	}
	return out;
}

/* ---- RFC 6902 ------------------------------------------------------------------ */

/* Splits a JSON pointer into unescaped tokens; returns count or -1. */
static int pointer_split(const char *ptr, char ***out)
{
	*out = NULL;
	if (!*ptr)
		return 0;
	if (*ptr != '/')
		return -1;
	int n = 0;
	for (const char *p = ptr; *p; p++)
		if (*p == '/')
			n++;
	char **toks = calloc((size_t)n, sizeof(char *));
	if (!toks)
		abort();
	const char *p = ptr + 1;
	for (int i = 0; i < n; i++) {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		char *t = malloc(len + 1);
		if (!t)
			abort();
		size_t o = 0;
		for (size_t j = 0; j < len; j++) {
			if (p[j] == '~' && j + 1 < len && p[j + 1] == '0') {
				t[o++] = '~';
				j++;
			} else if (p[j] == '~' && j + 1 < len && p[j + 1] == '1') {
				t[o++] = '/';
				j++;
			} else if (p[j] == '~') {
				for (int k = 0; k < i; k++)
					free(toks[k]);
				free(toks);
				free(t);
				return -1;
			} else {
				t[o++] = p[j];
			}
		}
		t[o] = 0;
		toks[i] = t;
		p = e ? e + 1 : p + len;
	}
	*out = toks;
	return n;
}

static void toks_free(char **t, int n)
{
	for (int i = 0; i < n; i++)
		free(t[i]);
	free(t);
}

static bool array_index(const char *tok, size_t size, bool allow_end, size_t *idx)
{
	if (allow_end && !strcmp(tok, "-")) {
		*idx = size;
		return true;
	}
	if (!*tok || (tok[0] == '0' && tok[1]))
		return false;
	char *end;
	unsigned long long v = strtoull(tok, &end, 10);
	if (*end || *tok == '-' || *tok == '+')
		return false;
	if (v > size || (!allow_end && v == size))
		return false;
	*idx = (size_t)v;
	return true;
}

/* Resolves all but the last token; returns the parent container (borrowed). */
static json_t *resolve_parent(json_t *doc, char **t, int n)
{
	json_t *cur = doc;
	for (int i = 0; i < n - 1; i++) {
		if (json_is_object(cur)) {
			cur = json_object_get(cur, t[i]);
		} else if (json_is_array(cur)) {
			size_t idx;
			if (!array_index(t[i], json_array_size(cur), false, &idx))
				return NULL;
			cur = json_array_get(cur, idx);
		} else {
			return NULL;
		}
		if (!cur)
			return NULL;
	}
	return cur;
}

static json_t *get_ptr(json_t *doc, const char *ptr)
{
	char **t;
	int n = pointer_split(ptr, &t);
	if (n < 0)
		return NULL;
	if (n == 0)
		return doc;
	json_t *parent = resolve_parent(doc, t, n);
	json_t *v = NULL;
	if (json_is_object(parent))
		v = json_object_get(parent, t[n - 1]);
	else if (json_is_array(parent)) {
		size_t idx;
		if (array_index(t[n - 1], json_array_size(parent), false, &idx))
			v = json_array_get(parent, idx);
	}
	toks_free(t, n);
	return v;
}

/* add/remove/replace at ptr. value stolen for add/replace. */
static int op_at(json_t *doc, const char *ptr, const char *op, json_t *value, char **errmsg)
{
	char **t;
	int n = pointer_split(ptr, &t);
	if (n < 0) {
		json_decref(value);
		return kp_error_set(errmsg, KP_EINVAL, "invalid JSON pointer \"%s\"", ptr);
	}
	if (n == 0) {
		json_decref(value);
		return kp_error_set(errmsg, KP_EINVAL, "%s at the document root is not supported",
				    op);
	}
	json_t *parent = resolve_parent(doc, t, n);
	const char *last = t[n - 1];
	int rc = 0;
	if (json_is_object(parent)) {
		if (!strcmp(op, "remove") || !strcmp(op, "replace")) {
			if (!json_object_get(parent, last)) {
				rc = kp_error_set(errmsg, KP_EINVAL,
						  "unable to %s nonexistent key: %s: missing value",
						  op, last);
				json_decref(value);
				goto out;
			}
		}
		if (!strcmp(op, "remove"))
			json_object_del(parent, last);
		else
			json_object_set_new(parent, last, value);
	} else if (json_is_array(parent)) {
		size_t idx;
		bool add = !strcmp(op, "add");
		if (!array_index(last, json_array_size(parent), add, &idx)) {
			rc = kp_error_set(errmsg, KP_EINVAL, "%s operation: index %s out of bounds",
					  op, last);
			json_decref(value);
			goto out;
		}
		if (add)
			json_array_insert_new(parent, idx, value);
		else if (!strcmp(op, "remove"))
			json_array_remove(parent, idx);
		else
			json_array_set_new(parent, idx, value);
	} else {
		json_decref(value);
		rc = kp_error_set(errmsg, KP_EINVAL, "%s operation does not apply: doc is missing "
						     "path: \"%s\": missing value",
				  op, ptr);
	}
out:
	toks_free(t, n);
	return rc;
}

int kp__json_patch(json_t *doc, const json_t *ops, char **errmsg)
{
	size_t i;
	json_t *o;
	json_array_foreach ((json_t *)ops, i, o) {
		const char *op = json_string_value(json_object_get(o, "op"));
		const char *path = json_string_value(json_object_get(o, "path"));
		json_t *value = json_object_get(o, "value");
		const char *from = json_string_value(json_object_get(o, "from"));
		if (!op || !path)
			return kp_error_set(errmsg, KP_EINVAL,
					    "operation %zu: \"op\" and \"path\" are required strings",
					    i);
		int rc;
		if (!strcmp(op, "add") || !strcmp(op, "replace")) {
			if (!value)
				return kp_error_set(errmsg, KP_EINVAL,
						    "operation %zu (%s): \"value\" is required", i, op);
			rc = op_at(doc, path, op, json_deep_copy(value), errmsg);
		} else if (!strcmp(op, "remove")) {
			rc = op_at(doc, path, op, NULL, errmsg);
		} else if (!strcmp(op, "move") || !strcmp(op, "copy")) {
			if (!from)
				return kp_error_set(errmsg, KP_EINVAL,
						    "operation %zu (%s): \"from\" is required", i, op);
			json_t *v = get_ptr(doc, from);
			if (!v)
				return kp_error_set(errmsg, KP_EINVAL,
						    "operation %zu (%s): from \"%s\" does not exist",
						    i, op, from);
			v = json_deep_copy(v);
			if (!strcmp(op, "move") && (rc = op_at(doc, from, "remove", NULL, errmsg))) {
				json_decref(v);
				return rc;
			}
			rc = op_at(doc, path, "add", v, errmsg);
		} else if (!strcmp(op, "test")) {
			json_t *v = get_ptr(doc, path);
			if (!v || !json_equal(v, value))
				return kp_error_set(errmsg, KP_EINVAL,
						    "testing value %s failed: test failed", path);
			rc = 0;
		} else {
			return kp_error_set(errmsg, KP_EINVAL, "Unexpected kind: %s", op);
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- strategic merge patch ----------------------------------------------------- */

/* patchMergeKey of list fields, by field name (the built-in types agree on these). */
static const char *merge_key(const char *field, const json_t *list)
{
	static const struct {
		const char *field, *key;
	} keys[] = {
		{ "containers", "name" },
		{ "initContainers", "name" },
		{ "ephemeralContainers", "name" },
		{ "env", "name" },
		{ "volumes", "name" },
		{ "volumeMounts", "mountPath" },
		{ "volumeDevices", "devicePath" },
		{ "imagePullSecrets", "name" },
		{ "hostAliases", "ip" },
		{ "conditions", "type" },
		{ "addresses", "type" },
		{ "ownerReferences", "uid" },
		{ "topologySpreadConstraints", "topologyKey" },
		{ "resourceClaims", "name" },
		{ "readinessGates", "conditionType" },
		{ "containerStatuses", "name" },
		{ "initContainerStatuses", "name" },
	};
	if (!strcmp(field, "ports")) {
		/* container ports merge by containerPort, service ports by port */
		size_t i;
		json_t *e;
		json_array_foreach ((json_t *)list, i, e)
			if (json_object_get(e, "containerPort"))
				return "containerPort";
		return "port";
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(field, keys[i].field))
			return keys[i].key;
	return NULL;
}

/* Primitive lists with patchStrategy merge. */
static bool merge_primitive(const char *field)
{
	return !strcmp(field, "finalizers");
}

static int smp_object(json_t *doc, const json_t *patch, char **errmsg);

static json_t *find_by_key(json_t *list, const char *key, const json_t *val, size_t *idx)
{
	size_t i;
	json_t *e;
	json_array_foreach (list, i, e)
		if (json_equal(json_object_get(e, key), val)) {
			*idx = i;
			return e;
		}
	return NULL;
}

static int smp_list(json_t *parent, const char *field, json_t *cur, const json_t *patch,
		    char **errmsg)
{
	const char *key = merge_key(field, patch);
	if (!key && merge_primitive(field)) {
		json_t *out = json_is_array(cur) ? json_deep_copy(cur) : json_array();
		size_t i, j;
		json_t *v, *w;
		json_array_foreach ((json_t *)patch, i, v) {
			bool found = false;
			json_array_foreach (out, j, w)
				if (json_equal(v, w))
					found = true;
			if (!found)
				json_array_append_new(out, json_deep_copy(v));
		}
		json_object_set_new(parent, field, out);
		return 0;
	}
	if (!key) {
		json_object_set_new(parent, field, json_deep_copy(patch));
		return 0;
	}
	/* {"$patch": "replace"} anywhere in the list replaces it with the rest. */
	size_t i;
	json_t *e;
	json_array_foreach ((json_t *)patch, i, e) {
		const char *d = json_string_value(json_object_get(e, "$patch"));
		if (d && !strcmp(d, "replace")) {
			json_t *out = json_array();
			size_t j;
			json_t *f;
			json_array_foreach ((json_t *)patch, j, f)
				if (!json_object_get(f, "$patch"))
					json_array_append_new(out, json_deep_copy(f));
			json_object_set_new(parent, field, out);
			return 0;
		}
	}
	json_t *out = json_is_array(cur) ? json_deep_copy(cur) : json_array();
	json_array_foreach ((json_t *)patch, i, e) {
		if (!json_is_object(e)) {
			json_decref(out);
			return kp_error_set(errmsg, KP_EINVAL,
					    "%s: elements must be objects with the merge key \"%s\"",
					    field, key);
		}
		json_t *kv = json_object_get(e, key);
		if (!kv) {
			json_decref(out);
			return kp_error_set(errmsg, KP_EINVAL,
					    "map: %s does not contain declared merge key: %s", field,
					    key);
		}
		const char *d = json_string_value(json_object_get(e, "$patch"));
		size_t idx;
		json_t *existing = find_by_key(out, key, kv, &idx);
		if (d && !strcmp(d, "delete")) {
			if (existing)
				json_array_remove(out, idx);
			continue;
		}
		if (existing) {
			int rc = smp_object(existing, e, errmsg);
			if (rc) {
				json_decref(out);
				return rc;
			}
		} else {
			json_t *n = json_object();
			int rc = smp_object(n, e, errmsg);
			if (rc) {
				json_decref(n);
				json_decref(out);
				return rc;
			}
			json_array_append_new(out, n);
		}
	}
	json_object_set_new(parent, field, out);
	return 0;
}

static int smp_object(json_t *doc, const json_t *patch, char **errmsg)
{
	const char *d = json_string_value(json_object_get(patch, "$patch"));
	if (d && !strcmp(d, "replace")) {
		json_object_clear(doc);
		const char *k;
		json_t *v;
		json_object_foreach ((json_t *)patch, k, v)
			if (strcmp(k, "$patch"))
				json_object_set_new(doc, k, json_deep_copy(v));
		return 0;
	}
	if (d && strcmp(d, "merge") && strcmp(d, "delete"))
		return kp_error_set(errmsg, KP_EINVAL, "unknown patch type: %s in map", d);
	json_t *retain = json_object_get(patch, "$retainKeys");
	const char *k;
	json_t *v;
	void *tmp;
	json_object_foreach ((json_t *)patch, k, v) {
		if (!strcmp(k, "$patch") || !strcmp(k, "$retainKeys") ||
		    !strncmp(k, "$setElementOrder/", 17))
			continue;
		if (!strncmp(k, "$deleteFromPrimitiveList/", 25)) {
			const char *f = k + 25;
			json_t *list = json_object_get(doc, f);
			if (json_is_array(list) && json_is_array(v)) {
				size_t i, j;
				json_t *x, *y;
				json_array_foreach (v, i, x)
					json_array_foreach (list, j, y)
						if (json_equal(x, y)) {
							json_array_remove(list, j);
							j--;
						}
			}
			continue;
		}
		if (json_is_null(v)) {
			json_object_del(doc, k);
			continue;
		}
		json_t *cur = json_object_get(doc, k);
		if (json_is_object(v)) {
			const char *vd = json_string_value(json_object_get(v, "$patch"));
			if (vd && !strcmp(vd, "delete")) {
				json_object_del(doc, k);
				continue;
			}
			if (!json_is_object(cur)) {
				cur = json_object();
				json_object_set_new(doc, k, cur);
			}
			int rc = smp_object(cur, v, errmsg);
			if (rc)
				return rc;
		} else if (json_is_array(v)) {
			int rc = smp_list(doc, k, cur, v, errmsg);
			if (rc)
				return rc;
		} else {
			json_object_set_new(doc, k, json_deep_copy(v));
		}
	}
	if (json_is_array(retain)) {
		json_object_foreach_safe (doc, tmp, k, v) {
			bool keep = false;
			size_t i;
			json_t *r;
			json_array_foreach (retain, i, r)
				if (json_is_string(r) && !strcmp(json_string_value(r), k))
					keep = true;
			if (!keep)
				json_object_del(doc, k);
		}
	}
	return 0;
}

int kp__strategic_merge_patch(json_t *doc, const json_t *patch, char **errmsg)
{
	if (!json_is_object(doc) || !json_is_object(patch))
		return kp_error_set(errmsg, KP_EINVAL, "strategic merge patch: expected objects");
	return smp_object(doc, patch, errmsg);
}

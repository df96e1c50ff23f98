/* cmd_meta.c - `kpctl label`, `annotate`, `patch` and `scale`. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/error.h>
#include <kplane/object.h>
#include <kplane/validate.h>
#include <kplane/yaml.h>

#include "cli/kpctl/kpctl.h"
#include "cli/kpctl/objects.h"
#include "cli/kpctl/patch.h"
#include "cli/kpctl/printers.h"

static int send_patch(struct kpctl *k, const struct kpc_target *t, const char *sub, const char *ctype,
		      const json_t *patch, json_t **result)
{
	char *path = kpc_resource_path(t->res, t->ns, t->name, sub), *em = NULL;
	struct kpc_response r;
	int rc;
	if (!path)
		return kpctl_err("out of memory");
	rc = kpc_request_json(k->client, "PATCH", path, ctype, patch, &r, &em);
	free(path);
	if (rc) {
		fprintf(stderr, "%s\n", em ? em : "request failed");
		free(em);
		return 1;
	}
	if (r.status >= 300) {
		rc = kpctl_server_err(&r, NULL);
	} else if (result) {
		*result = json_incref(r.json);
	}
	kpc_response_release(&r);
	return rc;
}

static void print_ref(const struct kpc_target *t, const char *what)
{
	char *ref = kpctl_target_ref(t);
	printf("%s %s\n", ref ? ref : "", what);
	free(ref);
}

/*
 * Collects the objects named by the resource arguments, -l or --all; the
 * caller has already removed the non-resource arguments from pos.
 */
static int collect(struct kpctl *k, char **pos, int npos, struct kpc_strlist *files, const char *selector,
		   bool all, bool all_ns, struct kpc_targets *out)
{
	struct kpc_targets named = { 0 };
	int rc = 0;
	if (kpctl_connect(k))
		return 1;
	if (files && files->n)
		return kpctl_targets_from_files(k, files, false, out);
	if (kpctl_targets_from_args(k, pos, npos, &named))
		return 1;
	if (named.v[0].name) {
		if (selector || all) {
			kpctl_targets_release(&named);
			return kpctl_usage_err(k, "cannot set --all and --selector at the same time as resource names");
		}
		*out = named;
		return 0;
	}
	if (!selector && !all) {
		kpctl_targets_release(&named);
		return kpctl_usage_err(k, "resource(s) were provided, but no name was specified");
	}
	for (size_t i = 0; i < named.n && !rc; i++)
		rc = kpctl_targets_list(k, named.v[i].res, all_ns, selector, NULL, out);
	kpctl_targets_release(&named);
	return rc;
}

/* label and annotate share everything but the map and the words. */
static int meta_cmd(struct kpctl *k, int argc, char **argv, bool is_label)
{
	bool overwrite = false, all = false, all_ns = false, list = false;
	const char *selector = NULL, *rv = NULL;
	struct kpc_strlist files = { 0 };
	struct kpc_opt opts[] = {
		{ "overwrite", 0, KPC_OPT_BOOL, &overwrite, "Allow existing keys to get a new value", false },
		{ "all", 0, KPC_OPT_BOOL, &all, "Select all resources of the type in the namespace", false },
		{ "all-namespaces", 'A', KPC_OPT_BOOL, &all_ns, "With --all/-l: across all namespaces", false },
		{ "selector", 'l', KPC_OPT_STRING, &selector, "Selector (label query) to filter on", false },
		{ "filename", 'f', KPC_OPT_LIST, &files, "Files naming the objects to update", false },
		{ "list", 0, KPC_OPT_BOOL, &list, "Print the current values instead of changing them", false },
		{ "resource-version", 0, KPC_OPT_STRING, &rv, "Only update if the object still has this resourceVersion", false },
		{ NULL, 0, 0, NULL, NULL, false },
	};
	const char *what = is_label ? "label" : "annotation";
	char **pos = NULL;
	int npos = 0, rc;
	struct kpc_targets t = { 0 };
	json_t *set = json_object(), *del = json_array();
	k->usage = is_label ?
		"Update the labels on a resource.\n\nUsage:\n  kpctl label [--overwrite] (-f FILENAME | TYPE NAME | TYPE/NAME | TYPE -l SEL | TYPE --all)\n"
		"              KEY_1=VAL_1 ... KEY_N=VAL_N | KEY-\n" :
		"Update the annotations on a resource.\n\nUsage:\n  kpctl annotate [--overwrite] (-f FILENAME | TYPE NAME | TYPE/NAME | TYPE -l SEL | TYPE --all)\n"
		"              KEY_1=VAL_1 ... KEY_N=VAL_N | KEY-\n";
	if ((rc = kpctl_parse(k, argc, argv, opts, &pos, &npos)))
		goto out0;
	rc = 1;
	if (kpctl_check_selectors(selector, NULL))
		goto out;
	/* Split resource arguments from KEY=VAL / KEY- arguments. */
	int nres = 0;
	for (int i = 0; i < npos; i++) {
		const char *a = pos[i], *eq = strchr(a, '=');
		size_t len = strlen(a);
		if (eq) {
			char *key = strndup(a, (size_t)(eq - a));
			const char *bad = key ? kp_check_qualified_name(key) : "out of memory";
			if (!bad && is_label)
				bad = kp_check_label_value(eq + 1);
			if (bad) {
				kpctl_err("invalid %s spec: %s: %s", what, a, bad);
				free(key);
				goto out;
			}
			json_object_set_new(set, key, json_string(eq + 1));
			free(key);
		} else if (len > 1 && a[len - 1] == '-' && !list) {
			char *key = strndup(a, len - 1);
			const char *bad = key ? kp_check_qualified_name(key) : "out of memory";
			if (bad) {
				kpctl_err("invalid %s spec: %s: %s", what, a, bad);
				free(key);
				goto out;
			}
			json_array_append_new(del, json_string(key));
			free(key);
		} else {
			if (json_object_size(set) || json_array_size(del)) {
				kpctl_usage_err(k, "all resources must be specified before %s changes: %s", what, a);
				goto out;
			}
			pos[nres++] = pos[i];
		}
	}
	size_t di;
	json_t *dk;
	json_array_foreach(del, di, dk)
		if (json_object_get(set, json_string_value(dk))) {
			kpctl_err("can not both modify and remove the following %s(s) in the same command: %s",
				  what, json_string_value(dk));
			goto out;
		}
	if (!list && !json_object_size(set) && !json_array_size(del)) {
		kpctl_usage_err(k, "at least one %s update is required", what);
		goto out;
	}
	if (!files.n && !nres) {
		kpctl_usage_err(k, "one or more resources must be specified as <resource> <name> or <resource>/<name>");
		goto out;
	}
	if (collect(k, pos, nres, &files, selector, all, all_ns, &t))
		goto out;
	rc = 0;
	for (size_t i = 0; i < t.n; i++) {
		struct kpc_target *x = &t.v[i];
		json_t *obj = NULL;
		if (x->obj && !x->source)
			obj = json_incref(x->obj);
		else if (kpctl_fetch(k, x, &obj)) {
			rc = 1;
			continue;
		}
		json_t *cur = is_label ? kp_obj_labels(obj) : kp_obj_annotations(obj);
		if (list) {
			const char *key;
			json_t *v;
			json_object_foreach(cur, key, v)
				printf("%s=%s\n", key, json_string_value(v) ? json_string_value(v) : "");
			json_decref(obj);
			continue;
		}
		const char *key;
		json_t *v;
		bool conflict = false;
		if (!overwrite)
			json_object_foreach(set, key, v) {
				const char *old = json_string_value(json_object_get(cur, key));
				if (old && strcmp(old, json_string_value(v))) {
					if (is_label)
						kpctl_err("'%s' already has a value (%s), and --overwrite is false", key, old);
					else
						kpctl_err("--overwrite is false but found the following declared annotation(s): "
							  "'%s' already has a value (%s)", key, old);
					conflict = true;
				}
			}
		if (conflict) {
			json_decref(obj);
			rc = 1;
			continue;
		}
		/* The object before and after, to word the result as kubectl. */
		char *before = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
		json_t *after = json_deep_copy(obj), *map_patch = json_object();
		json_t *amap = is_label ? kp_obj_labels(after) : kp_obj_annotations(after);
		json_object_foreach(set, key, v) {
			json_object_set(map_patch, key, v);
			if (is_label)
				kp_obj_set_label(after, key, json_string_value(v));
			else
				kp_obj_set_annotation(after, key, json_string_value(v));
			amap = is_label ? kp_obj_labels(after) : kp_obj_annotations(after);
		}
		json_array_foreach(del, di, dk) {
			const char *dkey = json_string_value(dk);
			if (!json_object_get(cur, dkey) && is_label)
				printf("label \"%s\" not found.\n", dkey);
			json_object_set_new(map_patch, dkey, json_null());
			if (amap)
				json_object_del(amap, dkey);
		}
		char *after_s = json_dumps(after, JSON_COMPACT | JSON_SORT_KEYS);
		bool changed = before && after_s && strcmp(before, after_s);
		const char *msg;
		if (is_label)
			msg = !changed ? "not labeled" :
			      (!overwrite && strlen(after_s) < strlen(before)) ? "unlabeled" : "labeled";
		else
			msg = "annotated";
		int pr = 0;
		if (changed) {
			json_t *patch = json_pack("{s:{s:o}}", "metadata", is_label ? "labels" : "annotations", map_patch);
			map_patch = NULL;
			if (rv)
				kp_obj_set_str(patch, "metadata.resourceVersion", rv);
			pr = send_patch(k, x, NULL, KPC_CT_MERGE_PATCH, patch, NULL);
			json_decref(patch);
		}
		if (pr)
			rc = 1;
		else
			print_ref(x, msg);
		json_decref(map_patch);
		free(before);
		free(after_s);
		json_decref(after);
		json_decref(obj);
	}
out:
	kpctl_targets_release(&t);
out0:
	json_decref(set);
	json_decref(del);
	kpc_strlist_release(&files);
	free(pos);
	return rc;
}

int kpctl_cmd_label(struct kpctl *k, int argc, char **argv)
{
	return meta_cmd(k, argc, argv, true);
}

int kpctl_cmd_annotate(struct kpctl *k, int argc, char **argv)
{
	return meta_cmd(k, argc, argv, false);
}

/* Drops what changes on every write, to tell "patched" from "no change". */
static void strip_volatile(json_t *o)
{
	kp_obj_del(o, "metadata.resourceVersion");
	kp_obj_del(o, "metadata.managedFields");
}

int kpctl_cmd_patch(struct kpctl *k, int argc, char **argv)
{
	const char *patch_s = NULL, *patch_file = NULL, *type = "strategic", *sub = NULL;
	struct kpc_strlist files = { 0 };
	struct kpc_opt opts[] = {
		{ "patch", 'p', KPC_OPT_STRING, &patch_s, "The patch to be applied (JSON or YAML)", false },
		{ "patch-file", 0, KPC_OPT_STRING, &patch_file, "A file containing the patch", false },
		{ "type", 0, KPC_OPT_STRING, &type, "The type of patch: json, merge or strategic (default)", false },
		{ "subresource", 0, KPC_OPT_STRING, &sub, "Patch this subresource (status, scale)", false },
		{ "filename", 'f', KPC_OPT_LIST, &files, "Files naming the objects to patch", false },
		{ NULL, 0, 0, NULL, NULL, false },
	};
	char **pos = NULL;
	int npos = 0, rc;
	struct kpc_targets t = { 0 };
	json_t *patch = NULL;
	const char *ctype;
	k->usage = "Update fields of a resource using a strategic merge, JSON merge or JSON patch.\n\n"
		   "Usage:\n  kpctl patch (-f FILENAME | TYPE NAME | TYPE/NAME) -p PATCH [--type strategic|merge|json]\n";
	if ((rc = kpctl_parse(k, argc, argv, opts, &pos, &npos))) {
		kpc_strlist_release(&files);
		return rc;
	}
	rc = 1;
	if (!strcmp(type, "strategic")) ctype = KPC_CT_STRATEGIC_PATCH;
	else if (!strcmp(type, "merge")) ctype = KPC_CT_MERGE_PATCH;
	else if (!strcmp(type, "json")) ctype = KPC_CT_JSON_PATCH;
	else {
		kpctl_err("--type must be one of [json merge strategic], not \"%s\"", type);
		goto out;
	}
	if (sub && strcmp(sub, "status") && strcmp(sub, "scale")) {
		kpctl_usage_err(k, "invalid subresource value: \"%s\". Must be one of [status scale]", sub);
		goto out;
	}
	if (!!patch_s == !!patch_file) {
		kpctl_usage_err(k, "must specify exactly one of --patch or --patch-file");
		goto out;
	}
	char *em = NULL, *buf = NULL;
	size_t blen = 0;
	if (patch_file) {
		FILE *f = fopen(patch_file, "rb");
		FILE *m = f ? open_memstream(&buf, &blen) : NULL;
		char tmp[4096];
		size_t n;
		if (!f || !m) {
			if (f)
				fclose(f);
			kpctl_err("unable to read patch file: open %s: No such file or directory", patch_file);
			goto out;
		}
		while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
			fwrite(tmp, 1, n, m);
		fclose(f);
		fclose(m);
	}
	const char *src = patch_s ? patch_s : buf;
	size_t slen = patch_s ? strlen(patch_s) : blen;
	if (kp_yaml_or_json_load_one(src, slen, &patch, &em) || !patch) {
		kpctl_err("unable to parse \"%s\": %s", src, em ? em : "empty patch");
		free(em);
		free(buf);
		goto out;
	}
	free(buf);
	bool json_patch = !strcmp(type, "json");
	if (json_patch ? !json_is_array(patch) : !json_is_object(patch)) {
		kpctl_err("unable to parse \"%s\": a %s patch must be a JSON %s", patch_s ? patch_s : patch_file,
			  type, json_patch ? "array" : "object");
		goto out;
	}
	if (!files.n && !npos) {
		kpctl_usage_err(k, "must specify -f or a resource and name");
		goto out;
	}
	if (collect(k, pos, npos, &files, NULL, false, false, &t))
		goto out;
	rc = 0;
	for (size_t i = 0; i < t.n; i++) {
		struct kpc_target *x = &t.v[i];
		json_t *before = NULL, *after = NULL;
		if (kpctl_fetch(k, x, &before)) {
			rc = 1;
			continue;
		}
		if (send_patch(k, x, sub, ctype, patch, &after)) {
			rc = 1;
		} else {
			strip_volatile(before);
			if (after)
				strip_volatile(after);
			/* With a subresource the answer is the subresource's object. */
			bool same = after && !sub && json_equal(before, after);
			print_ref(x, same ? "patched (no change)" : "patched");
		}
		json_decref(before);
		json_decref(after);
	}
out:
	json_decref(patch);
	kpctl_targets_release(&t);
	kpc_strlist_release(&files);
	free(pos);
	return rc;
}

int kpctl_cmd_scale(struct kpctl *k, int argc, char **argv)
{
	long replicas = -1, current = -1;
	bool all = false;
	const char *selector = NULL, *rv = NULL;
	struct kpc_strlist files = { 0 };
	struct kpc_opt opts[] = {
		{ "replicas", 0, KPC_OPT_INT, &replicas, "The new desired number of replicas (required)", false },
		{ "current-replicas", 0, KPC_OPT_INT, &current, "Precondition: only scale if the current size is this", false },
		{ "resource-version", 0, KPC_OPT_STRING, &rv, "Precondition for resource version", false },
		{ "selector", 'l', KPC_OPT_STRING, &selector, "Selector (label query) to filter on", false },
		{ "all", 0, KPC_OPT_BOOL, &all, "Select all resources of the type in the namespace", false },
		{ "filename", 'f', KPC_OPT_LIST, &files, "Files naming the objects to scale", false },
		{ NULL, 0, 0, NULL, NULL, false },
	};
	char **pos = NULL;
	int npos = 0, rc;
	struct kpc_targets t = { 0 };
	k->usage = "Set a new size for a deployment, replica set, stateful set or anything with a scale subresource.\n\n"
		   "Usage:\n  kpctl scale [--current-replicas=N] --replicas=COUNT (-f FILENAME | TYPE NAME | TYPE/NAME)\n";
	if ((rc = kpctl_parse(k, argc, argv, opts, &pos, &npos))) {
		kpc_strlist_release(&files);
		return rc;
	}
	rc = 1;
	if (!opts[0].seen) {
		kpctl_err("required flag(s) \"replicas\" not set");
		goto out;
	}
	if (replicas < 0) {
		kpctl_usage_err(k, "The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0");
		goto out;
	}
	if (replicas > 2147483647) {
		kpctl_usage_err(k, "--replicas=%ld is out of range (at most 2147483647)", replicas);
		goto out;
	}
	if (!files.n && !npos) {
		kpctl_usage_err(k, "Required resource not specified.");
		goto out;
	}
	if (collect(k, pos, npos, &files, selector, all, false, &t))
		goto out;
	rc = 0;
	for (size_t i = 0; i < t.n; i++) {
		struct kpc_target *x = &t.v[i];
		if (!(x->res->subresources & KPC_SUB_SCALE)) {
			char *ref = kpctl_target_ref(x);
			kpctl_err("%s: the server does not serve a scale subresource for %s", ref ? ref : "", x->res->name);
			free(ref);
			rc = 1;
			continue;
		}
		if (current >= 0) {
			char *path = kpc_resource_path(x->res, x->ns, x->name, "scale");
			struct kpc_response r;
			if (!path || kpc_request(k->client, "GET", path, NULL, NULL, NULL, 0, &r, NULL)) {
				free(path);
				rc = kpctl_err("cannot read the current scale");
				continue;
			}
			free(path);
			if (r.status != 200) {
				rc = kpctl_server_err(&r, NULL);
				kpc_response_release(&r);
				continue;
			}
			long have = (long)kp_obj_int(r.json, "spec.replicas", 0);
			kpc_response_release(&r);
			if (have != current) {
				rc = kpctl_err("Expected replicas to be %ld, was %ld", current, have);
				continue;
			}
		}
		json_t *patch = json_pack("{s:{s:I}}", "spec", "replicas", (json_int_t)replicas);
		if (rv)
			kp_obj_set_str(patch, "metadata.resourceVersion", rv);
		if (send_patch(k, x, "scale", KPC_CT_MERGE_PATCH, patch, NULL))
			rc = 1;
		else
			print_ref(x, "scaled");
		json_decref(patch);
	}
out:
	kpctl_targets_release(&t);
	kpc_strlist_release(&files);
	free(pos);
	return rc;
}

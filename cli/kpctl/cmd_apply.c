/*
 * cmd_apply.c - `kpctl apply`, `create` and `replace` from -f sources.
 *
 * apply is a client-side apply: the manifest is stored in the
 * kubectl.kubernetes.io/last-applied-configuration annotation as kubectl
 * does; an existing object gets a JSON merge patch computed three ways
 * (last applied, manifest, live; see patch.h), and no request at all when
 * that patch is empty ("unchanged"). kubectl sends a strategic merge patch
 * for built-in kinds; the merge patch replaces lists whole instead, which
 * only matters for list items added to the live object by someone else.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/error.h>
#include <kplane/object.h>

#include "cli/kpctl/kpctl.h"
#include "cli/kpctl/objects.h"
#include "cli/kpctl/patch.h"
#include "cli/kpctl/printers.h"

#define LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

enum verb { APPLY, CREATE, REPLACE };

static int transport(const char *em)
{
	fprintf(stderr, "%s\n", em ? em : "request failed");
	return 1;
}

static void print_result(const struct kpc_target *t, const char *what)
{
	char *ref = kpc_ref_name(kp_obj_kind(t->obj), kp_obj_api_version(t->obj), kp_obj_name(t->obj));
	printf("%s %s\n", ref ? ref : "", what);
	free(ref);
}

static char *ctx_msg(const char *verb, const struct kpc_target *t)
{
	char *s = NULL;
	if (asprintf(&s, "error when %s \"%s\"", verb, t->source ? t->source : "STDIN") < 0)
		s = NULL;
	return s;
}

static int post(struct kpctl *k, const struct kpc_target *t, const json_t *body, const char *what)
{
	char *path = kpc_resource_path(t->res, t->ns, NULL, NULL), *em = NULL;
	struct kpc_response r;
	int rc;
	if (!path)
		return kpctl_err("out of memory");
	rc = kpc_request_json(k->client, "POST", path, NULL, body, &r, &em);
	free(path);
	if (rc) {
		rc = transport(em);
		free(em);
		return rc;
	}
	if (r.status >= 300) {
		char *c = ctx_msg("creating", t);
		rc = kpctl_server_err(&r, c);
		free(c);
	} else {
		print_result(t, what);
	}
	kpc_response_release(&r);
	return rc;
}

/* The manifest as stored in the annotation: compact, sorted, with "\n" as kubectl. */
static char *last_applied_text(const json_t *obj)
{
	json_t *copy = json_deep_copy(obj);
	char *s = NULL, *out = NULL;
	if (!copy)
		return NULL;
	kp_obj_del(copy, "metadata.annotations." LAST_APPLIED);
	json_t *ann = kp_obj_get(copy, "metadata.annotations");
	if (json_is_object(ann) && !json_object_size(ann))
		kp_obj_del(copy, "metadata.annotations");
	s = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(copy);
	if (s && asprintf(&out, "%s\n", s) < 0)
		out = NULL;
	free(s);
	return out;
}

static int apply_one(struct kpctl *k, struct kpc_target *t)
{
	json_t *modified = json_deep_copy(t->obj);
	int rc = 1;
	char *em = NULL;
	if (!modified)
		return kpctl_err("out of memory");
	if (t->ns && !kp_obj_namespace(modified))
		kp_obj_set_str(modified, "metadata.namespace", t->ns);
	char *la = last_applied_text(modified);
	if (!la || kp_obj_set_annotation(modified, LAST_APPLIED, la)) {
		free(la);
		json_decref(modified);
		return kpctl_err("out of memory");
	}
	free(la);
	if (!t->name) {
		/* generateName objects are always new. */
		rc = post(k, t, modified, "created");
		json_decref(modified);
		return rc;
	}
	char *path = kpc_resource_path(t->res, t->ns, t->name, NULL);
	struct kpc_response r;
	if (!path || kpc_request(k->client, "GET", path, NULL, NULL, NULL, 0, &r, &em)) {
		rc = path ? transport(em) : kpctl_err("out of memory");
		goto out;
	}
	if (r.status == 404) {
		kpc_response_release(&r);
		rc = post(k, t, modified, "created");
		goto out;
	}
	if (r.status != 200 || !json_is_object(r.json)) {
		char *c = ctx_msg("retrieving current configuration of", t);
		rc = kpctl_server_err(&r, c);
		free(c);
		kpc_response_release(&r);
		goto out;
	}
	json_t *live = json_incref(r.json);
	kpc_response_release(&r);
	json_t *original = NULL;
	const char *prev = kp_obj_annotation(live, LAST_APPLIED);
	if (prev)
		original = json_loads(prev, 0, NULL);
	else {
		char *ref = kpctl_target_ref(t);
		fprintf(stderr, "Warning: resource %s is missing the " LAST_APPLIED " annotation which is "
			"required by kpctl apply. kpctl apply should only be used on resources created declaratively "
			"by either kpctl create --save-config or kpctl apply. The missing annotation will be patched "
			"automatically.\n", ref ? ref : "");
		free(ref);
	}
	/* Identity and bookkeeping fields are not the manifest's to change. */
	json_t *patch = kpc_three_way_merge_patch(original, modified, live);
	json_decref(original);
	json_decref(live);
	if (!patch) {
		rc = kpctl_err("out of memory");
		goto out;
	}
	if (!json_object_size(patch)) {
		print_result(t, "unchanged");
		rc = 0;
		json_decref(patch);
		goto out;
	}
	rc = kpc_request_json(k->client, "PATCH", path, KPC_CT_MERGE_PATCH, patch, &r, &em);
	json_decref(patch);
	if (rc) {
		rc = transport(em);
		goto out;
	}
	if (r.status >= 300) {
		char *c = ctx_msg("applying patch to", t);
		rc = kpctl_server_err(&r, c);
		free(c);
	} else {
		print_result(t, "configured");
	}
	kpc_response_release(&r);
out:
	free(em);
	free(path);
	json_decref(modified);
	return rc;
}

static int replace_one(struct kpctl *k, struct kpc_target *t)
{
	char *em = NULL;
	struct kpc_response r;
	int rc;
	if (!t->name)
		return kpctl_err("error when replacing \"%s\": resource name may not be empty",
				 t->source ? t->source : "STDIN");
	json_t *body = json_deep_copy(t->obj);
	char *path = kpc_resource_path(t->res, t->ns, t->name, NULL);
	if (!body || !path) {
		json_decref(body);
		free(path);
		return kpctl_err("out of memory");
	}
	if (!kp_obj_str(body, "metadata.resourceVersion")) {
		/* An unconditional replace: take the live resourceVersion so that
		 * servers requiring one accept the update. */
		if (kpc_request(k->client, "GET", path, NULL, NULL, NULL, 0, &r, &em)) {
			rc = transport(em);
			goto out;
		}
		if (r.status != 200) {
			char *c = ctx_msg("replacing", t);
			rc = kpctl_server_err(&r, c);
			free(c);
			kpc_response_release(&r);
			goto out;
		}
		const char *rv = kp_obj_str(r.json, "metadata.resourceVersion");
		if (rv)
			kp_obj_set_str(body, "metadata.resourceVersion", rv);
		kpc_response_release(&r);
	}
	if (kpc_request_json(k->client, "PUT", path, NULL, body, &r, &em)) {
		rc = transport(em);
		goto out;
	}
	if (r.status >= 300) {
		char *c = ctx_msg("replacing", t);
		rc = kpctl_server_err(&r, c);
		free(c);
	} else {
		print_result(t, "replaced");
		rc = 0;
	}
	kpc_response_release(&r);
out:
	free(em);
	free(path);
	json_decref(body);
	return rc;
}

static const char *usage_apply =
	"Apply a configuration to a resource by file name or stdin: create it when absent, patch it\n"
	"to match the manifest when present (client-side apply with the last-applied annotation).\n\n"
	"Usage:\n  kpctl apply -f FILENAME|DIR|- [-R]\n";
static const char *usage_create =
	"Create a resource from a file or from stdin.\n\n"
	"Usage:\n  kpctl create -f FILENAME|DIR|- [-R] [--save-config]\n  kpctl create namespace NAME\n";
static const char *usage_replace =
	"Replace a resource by file name or stdin (the object must exist).\n\n"
	"Usage:\n  kpctl replace -f FILENAME|DIR|- [-R]\n";

static int create_namespace(struct kpctl *k, const char *name)
{
	json_t *ns = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata", "name", name);
	const struct kpc_resource *r = kpctl_resource(k, "namespaces");
	struct kpc_target t = { .res = r, .obj = ns, .source = NULL };
	int rc = 1;
	if (r && ns) {
		char *path = kpc_resource_path(r, NULL, NULL, NULL), *em = NULL;
		struct kpc_response resp;
		if (path && !kpc_request_json(k->client, "POST", path, NULL, ns, &resp, &em)) {
			if (resp.status >= 300)
				rc = kpctl_server_err(&resp, NULL);
			else {
				print_result(&t, "created");
				rc = 0;
			}
			kpc_response_release(&resp);
		} else if (path) {
			rc = transport(em);
		}
		free(em);
		free(path);
	}
	json_decref(ns);
	return rc;
}

static int run(struct kpctl *k, int argc, char **argv, enum verb verb)
{
	struct kpc_strlist files = { 0 };
	bool recursive = false, save_config = false;
	struct kpc_opt opts[] = {
		{ "filename", 'f', KPC_OPT_LIST, &files, "The files, directories or - (stdin) that contain the configuration", false },
		{ "recursive", 'R', KPC_OPT_BOOL, &recursive, "Process the directory used in -f recursively", false },
		{ "save-config", 0, KPC_OPT_BOOL, &save_config, "create: store the manifest in the last-applied annotation", false },
		{ NULL, 0, 0, NULL, NULL, false },
	};
	char **pos = NULL;
	int npos = 0, rc;
	struct kpc_targets t = { 0 };
	k->usage = verb == APPLY ? usage_apply : verb == CREATE ? usage_create : usage_replace;
	if ((rc = kpctl_parse(k, argc, argv, opts, &pos, &npos))) {
		kpc_strlist_release(&files);
		return rc;
	}
	rc = 1;
	if (save_config && verb != CREATE) {
		kpctl_usage_err(k, "unknown flag: --save-config");
		goto out;
	}
	if (verb == CREATE && files.n == 0 && npos >= 1 &&
	    (!strcmp(pos[0], "namespace") || !strcmp(pos[0], "ns"))) {
		if (npos != 2) {
			kpctl_usage_err(k, "exactly one NAME is required, got %d", npos - 1);
			goto out;
		}
		if (kpctl_connect(k) == 0)
			rc = create_namespace(k, pos[1]);
		goto out;
	}
	if (files.n == 0) {
		kpctl_usage_err(k, "must specify one of -f and -k");
		goto out;
	}
	if (npos > 0) {
		kpctl_usage_err(k, "unexpected arguments: %s (objects come from -f)", pos[0]);
		goto out;
	}
	if (kpctl_connect(k) || kpctl_targets_from_files(k, &files, recursive, &t))
		goto out;
	rc = 0;
	for (size_t i = 0; i < t.n; i++) {
		int r1;
		if (verb == APPLY) {
			r1 = apply_one(k, &t.v[i]);
		} else if (verb == REPLACE) {
			r1 = replace_one(k, &t.v[i]);
		} else {
			json_t *body = json_incref(t.v[i].obj);
			if (save_config) {
				json_decref(body);
				body = json_deep_copy(t.v[i].obj);
				char *la = body ? last_applied_text(body) : NULL;
				if (la)
					kp_obj_set_annotation(body, LAST_APPLIED, la);
				free(la);
			}
			r1 = body ? post(k, &t.v[i], body, "created") : kpctl_err("out of memory");
			json_decref(body);
		}
		if (r1)
			rc = 1;
	}
out:
	kpctl_targets_release(&t);
	kpc_strlist_release(&files);
	free(pos);
	return rc;
}

int kpctl_cmd_apply(struct kpctl *k, int argc, char **argv)
{
	return run(k, argc, argv, APPLY);
}

int kpctl_cmd_create(struct kpctl *k, int argc, char **argv)
{
	return run(k, argc, argv, CREATE);
}

int kpctl_cmd_replace(struct kpctl *k, int argc, char **argv)
{
	return run(k, argc, argv, REPLACE);
}

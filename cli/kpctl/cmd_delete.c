/* cmd_delete.c - `kpctl delete` by name, -f, -l or --all (waits until gone). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kplane/error.h>
#include <kplane/object.h>

#include "cli/kpctl/kpctl.h"
#include "cli/kpctl/objects.h"

static const char *usage_text =
	"Delete resources by file names, stdin, resources and names, or by resources and label selector.\n\n"
	"Usage:\n"
	"  kpctl delete ([-f FILENAME] | TYPE [(NAME | -l label | --all)])\n\n"
	"Examples:\n"
	"  kpctl delete pod web-0\n"
	"  kpctl delete -f manifests/\n"
	"  kpctl delete deploy -l app=web\n";

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Polls until the object is gone or replaced (another uid); 0, or 1 on timeout. */
static int wait_gone(struct kpctl *k, const char *path, const char *uid, long timeout_s)
{
	uint64_t deadline = kp_mono_ns() + (uint64_t)timeout_s * 1000000000ull;
	for (long delay = 20;; delay = delay < 500 ? delay * 2 : 500) {
		struct kpc_response r;
		if (kpc_request(k->client, "GET", path, NULL, NULL, NULL, 0, &r, NULL))
			return 1;
		bool gone = r.status == 404;
		if (!gone && r.status == 200 && uid) {
			const char *u = kp_obj_uid(r.json);
			gone = u && strcmp(u, uid);
		}
		kpc_response_release(&r);
		if (gone)
			return 0;
		if (timeout_s > 0 && kp_mono_ns() > deadline)
			return 1;
		sleep_ms(delay);
	}
}

int kpctl_cmd_delete(struct kpctl *k, int argc, char **argv)
{
	struct kpc_strlist files = { 0 };
	bool recursive = false, all = false, all_ns = false, ignore_nf = false, wait = true, now = false, force = false;
	const char *selector = NULL, *field_selector = NULL, *cascade = NULL;
	long grace = -1, timeout = 0;
	struct kpc_opt opts[] = {
		{ "filename", 'f', KPC_OPT_LIST, &files, "Files, directories or - (stdin) naming the objects to delete", false },
		{ "recursive", 'R', KPC_OPT_BOOL, &recursive, "Process the directory used in -f recursively", false },
		{ "selector", 'l', KPC_OPT_STRING, &selector, "Selector (label query) to filter on", false },
		{ "field-selector", 0, KPC_OPT_STRING, &field_selector, "Selector (field query) to filter on", false },
		{ "all", 0, KPC_OPT_BOOL, &all, "Delete all resources of the type in the namespace", false },
		{ "all-namespaces", 'A', KPC_OPT_BOOL, &all_ns, "With -l/--all: across all namespaces", false },
		{ "ignore-not-found", 0, KPC_OPT_BOOL, &ignore_nf, "Treat \"resource not found\" as a successful delete", false },
		{ "wait", 0, KPC_OPT_BOOL, &wait, "Wait for resources to be gone before returning (default true)", false },
		{ "timeout", 0, KPC_OPT_INT, &timeout, "Seconds to wait with --wait (0: forever)", false },
		{ "cascade", 0, KPC_OPT_STRING, &cascade, "background, foreground or orphan (default background)", false },
		{ "grace-period", 0, KPC_OPT_INT, &grace, "Seconds given to the resource to terminate gracefully", false },
		{ "now", 0, KPC_OPT_BOOL, &now, "Same as --grace-period=1", false },
		{ "force", 0, KPC_OPT_BOOL, &force, "With --grace-period=0: immediate deletion", false },
		{ NULL, 0, 0, NULL, NULL, false },
	};
	char **pos = NULL;
	int npos = 0, rc;
	struct kpc_targets t = { 0 };
	k->usage = usage_text;
	if ((rc = kpctl_parse(k, argc, argv, opts, &pos, &npos))) {
		kpc_strlist_release(&files);
		return rc;
	}
	rc = 1;
	const char *policy = "Background";
	if (cascade) {
		if (!strcmp(cascade, "background") || !strcmp(cascade, "true")) policy = "Background";
		else if (!strcmp(cascade, "foreground")) policy = "Foreground";
		else if (!strcmp(cascade, "orphan") || !strcmp(cascade, "false")) policy = "Orphan";
		else {
			kpctl_usage_err(k, "invalid cascade value (%s). Must be \"background\", \"foreground\", or \"orphan\"", cascade);
			goto out;
		}
	}
	if (kpctl_check_selectors(selector, field_selector))
		goto out;
	if (now)
		grace = 1;
	if (timeout < 0) {
		kpctl_usage_err(k, "--timeout must not be negative");
		goto out;
	}
	if (files.n && npos) {
		kpctl_usage_err(k, "when paths, URLs, or stdin is provided as input, you may not specify resource arguments as well");
		goto out;
	}
	if (!files.n && npos == 0) {
		fprintf(stderr, "You must provide one or more resources by argument or filename.\nExample resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n   '<resource> <name>'\n   '<resource>'\n");
		goto out;
	}
	if (kpctl_connect(k))
		goto out;
	if (files.n) {
		if (kpctl_targets_from_files(k, &files, recursive, &t))
			goto out;
	} else {
		struct kpc_targets named = { 0 };
		if (kpctl_targets_from_args(k, pos, npos, &named))
			goto out;
		bool has_names = named.v[0].name != NULL;
		if (has_names && (all || selector || field_selector)) {
			kpctl_targets_release(&named);
			kpctl_usage_err(k, "name cannot be provided when a selector is specified");
			goto out;
		}
		if (!has_names && !all && !selector && !field_selector && !all_ns) {
			kpctl_targets_release(&named);
			kpctl_err("resource(s) were provided, but no name was specified");
			goto out;
		}
		if (has_names) {
			t = named;
		} else {
			int lr = 0;
			for (size_t i = 0; i < named.n && !lr; i++)
				lr = kpctl_targets_list(k, named.v[i].res, all_ns, selector, field_selector, &t);
			kpctl_targets_release(&named);
			if (lr)
				goto out;
			if (t.n == 0) {
				printf("No resources found\n");
				rc = 0;
				goto out;
			}
		}
	}
	json_t *opts_body = json_pack("{s:s,s:s,s:s}", "kind", "DeleteOptions", "apiVersion", "v1",
				      "propagationPolicy", policy);
	if (grace >= 0)
		json_object_set_new(opts_body, "gracePeriodSeconds", json_integer(grace));
	rc = 0;
	for (size_t i = 0; i < t.n; i++) {
		struct kpc_target *x = &t.v[i];
		char *path = kpc_resource_path(x->res, x->ns, x->name, NULL), *em = NULL;
		struct kpc_response r;
		if (!path) {
			rc = kpctl_err("out of memory");
			break;
		}
		if (kpc_request_json(k->client, "DELETE", path, NULL, opts_body, &r, &em)) {
			fprintf(stderr, "%s\n", em ? em : "request failed");
			free(em);
			free(path);
			rc = 1;
			break;
		}
		if (r.status == 404 && ignore_nf) {
			/* nothing to say */
		} else if (r.status >= 300) {
			char *c = NULL;
			if (x->source && asprintf(&c, "error when deleting \"%s\"", x->source) < 0)
				c = NULL;
			rc = kpctl_server_err(&r, c);
			free(c);
		} else {
			char *q = kpctl_target_quoted(x);
			/* The uid of what was deleted: a new object of the same
			 * name is not what we wait for. */
			const char *uid = kp_obj_uid(r.json);
			char *uidc = uid ? strdup(uid) : NULL;
			printf("%s deleted\n", q ? q : "");
			fflush(stdout);
			if (wait && wait_gone(k, path, uidc, timeout)) {
				kpctl_err("timed out waiting for the condition on %s", q ? q : "");
				rc = 1;
			}
			free(uidc);
			free(q);
		}
		kpc_response_release(&r);
		free(path);
	}
	json_decref(opts_body);
out:
	kpctl_targets_release(&t);
	kpc_strlist_release(&files);
	free(pos);
	return rc;
}

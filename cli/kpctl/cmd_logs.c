/*
 * cmd_logs.c - `kpctl logs POD [-c CONTAINER]`: checks the pod and the
 * container as kubectl does, then prints what pods/log answers. kplane's
 * simulated pods have no logs: the server says so (400) and kpctl prints
 * that as kubectl prints any server error, exiting 1.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/object.h>

#include "cli/kpctl/kpctl.h"
#include "cli/kpctl/objects.h"

static bool has_container(const json_t *pod, const char *name)
{
	static const char *const lists[] = { "spec.containers", "spec.initContainers", "spec.ephemeralContainers" };
	for (size_t l = 0; l < 3; l++) {
		size_t i;
		json_t *c;
		json_array_foreach(kp_obj_get(pod, lists[l]), i, c)
			if (kp_obj_str(c, "name") && !strcmp(kp_obj_str(c, "name"), name))
				return true;
	}
	return false;
}

static int add_param(char **path, const char *key, const char *val)
{
	char *e = kpc_escape(val), *np = NULL;
	if (!e)
		return 1;
	int r = asprintf(&np, "%s%c%s=%s", *path, strchr(*path, '?') ? '&' : '?', key, e);
	free(e);
	if (r < 0)
		return 1;
	free(*path);
	*path = np;
	return 0;
}

int kpctl_cmd_logs(struct kpctl *k, int argc, char **argv)
{
	const char *container = NULL;
	long tail = -1;
	bool previous = false, timestamps = false;
	struct kpc_opt opts[] = {
		{ "container", 'c', KPC_OPT_STRING, &container, "Print the logs of this container", false },
		{ "tail", 0, KPC_OPT_INT, &tail, "Lines of recent log to display (-1: all)", false },
		{ "previous", 'p', KPC_OPT_BOOL, &previous, "Print the logs of the previous instance of the container", false },
		{ "timestamps", 0, KPC_OPT_BOOL, &timestamps, "Include timestamps on each line", false },
		{ NULL, 0, 0, NULL, NULL, false },
	};
	char **pos = NULL;
	int npos = 0, rc;
	json_t *pod = NULL;
	k->usage = "Print the logs for a container in a pod.\n\n"
		   "Usage:\n  kpctl logs [pod/]POD [-c CONTAINER] [--tail N] [-p] [--timestamps]\n\n"
		   "Pods that kplane only simulates have no logs; the server says so.\n";
	if ((rc = kpctl_parse(k, argc, argv, opts, &pos, &npos)))
		return rc;
	rc = 1;
	if (npos < 1) {
		kpctl_usage_err(k, "expected 'logs [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\n"
				"POD or TYPE/NAME is a required argument for the logs command");
		goto out;
	}
	if (npos > 2) {
		kpctl_usage_err(k, "expected at most one pod and one container name");
		goto out;
	}
	const char *name = pos[0];
	if (!strncmp(name, "pod/", 4) || !strncmp(name, "pods/", 5))
		name = strchr(name, '/') + 1;
	else if (strchr(name, '/')) {
		kpctl_err("kpctl logs reads pods only: give POD or pod/POD, not %s", name);
		goto out;
	}
	if (npos == 2) {
		if (container) {
			kpctl_usage_err(k, "only one of -c or an inline container name may be given");
			goto out;
		}
		container = pos[1];
	}
	const struct kpc_resource *res = kpctl_resource(k, "pods");
	if (!res)
		goto out;
	char *path = kpc_resource_path(res, k->namespace, name, NULL), *em = NULL;
	struct kpc_response r;
	if (!path || kpc_request(k->client, "GET", path, NULL, NULL, NULL, 0, &r, &em)) {
		fprintf(stderr, "%s\n", em ? em : "request failed");
		free(em);
		free(path);
		goto out;
	}
	free(path);
	if (r.status != 200) {
		/* kubectl's logs wraps the lookup error: "error: error from server (NotFound): ... in namespace" */
		const char *reason = kp_obj_str(r.json, "reason"), *msg = kp_obj_str(r.json, "message");
		if (r.status == 404 && msg)
			kpctl_err("error from server (%s): %s in namespace \"%s\"", reason ? reason : "NotFound", msg,
				  k->namespace);
		else
			kpctl_server_err(&r, NULL);
		kpc_response_release(&r);
		goto out;
	}
	pod = json_incref(r.json);
	kpc_response_release(&r);
	if (container && !has_container(pod, container)) {
		kpctl_err("container %s is not valid for pod %s", container, name);
		goto out;
	}
	if (!container) {
		const char *def = kp_obj_annotation(pod, "kubectl.kubernetes.io/default-container");
		json_t *cs = kp_obj_get(pod, "spec.containers");
		if (def && has_container(pod, def)) {
			container = def;
		} else if (json_array_size(cs)) {
			container = kp_obj_str(json_array_get(cs, 0), "name");
			if (json_array_size(cs) > 1) {
				size_t i;
				json_t *c;
				fprintf(stderr, "Defaulted container \"%s\" out of: ", container ? container : "");
				json_array_foreach(cs, i, c)
					fprintf(stderr, "%s%s", i ? ", " : "", kp_obj_str(c, "name") ? kp_obj_str(c, "name") : "");
				fputc('\n', stderr);
			}
		}
	}
	path = kpc_resource_path(res, k->namespace, name, "log");
	char num[32];
	snprintf(num, sizeof(num), "%ld", tail);
	if (!path || (container && add_param(&path, "container", container)) ||
	    (tail >= 0 && add_param(&path, "tailLines", num)) || (previous && add_param(&path, "previous", "true")) ||
	    (timestamps && add_param(&path, "timestamps", "true"))) {
		free(path);
		kpctl_err("out of memory");
		goto out;
	}
	if (kpc_request(k->client, "GET", path, "*/*", NULL, NULL, 0, &r, &em)) {
		fprintf(stderr, "%s\n", em ? em : "request failed");
		free(em);
		free(path);
		goto out;
	}
	free(path);
	if (r.status != 200) {
		kpctl_server_err(&r, NULL);
	} else {
		fwrite(r.body, 1, r.len, stdout);
		rc = 0;
	}
	kpc_response_release(&r);
out:
	json_decref(pod);
	free(pos);
	return rc;
}

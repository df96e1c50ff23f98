/*
 * cmd_logs.c - `kpctl logs POD|TYPE/NAME [-c CONTAINER]`: picks the pod
 * (one of a workload's, as kubectl's ByLogging order), checks it and the
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

/*
 * GETs res/name in the namespace. A failure is worded as kubectl logs words
 * it ("error: error from server (NotFound): pods \"x\" not found in
 * namespace \"default\""). 0 with *out (new reference), or 1.
 */
static int lookup(struct kpctl *k, const struct kpc_resource *res, const char *name, json_t **out)
{
	char *path = kpc_resource_path(res, k->namespace, name, NULL), *em = NULL;
	struct kpc_response r;
	if (!path || kpc_request(k->client, "GET", path, NULL, NULL, NULL, 0, &r, &em)) {
		fprintf(stderr, "%s\n", em ? em : "request failed");
		free(em);
		free(path);
		return 1;
	}
	free(path);
	if (r.status != 200 || !json_is_object(r.json)) {
		const char *reason = kp_obj_str(r.json, "reason"), *msg = kp_obj_str(r.json, "message");
		if (r.status == 404 && msg)
			kpctl_err("error from server (%s): %s in namespace \"%s\"", reason ? reason : "NotFound", msg,
				  k->namespace);
		else
			kpctl_server_err(&r, NULL);
		kpc_response_release(&r);
		return 1;
	}
	*out = json_incref(r.json);
	kpc_response_release(&r);
	return 0;
}

static int phase_rank(const json_t *pod)
{
	const char *p = kp_obj_str(pod, "status.phase");
	if (p && !strcmp(p, "Running"))
		return 0;
	if (p && !strcmp(p, "Unknown"))
		return 1;
	if (p && !strcmp(p, "Pending"))
		return 2;
	return 3;
}

static const char *ready_since(const json_t *pod)
{
	json_t *c = kp_obj_condition(pod, "Ready");
	const char *st = c ? kp_obj_str(c, "status") : NULL;
	return st && !strcmp(st, "True") ? (kp_obj_str(c, "lastTransitionTime") ? kp_obj_str(c, "lastTransitionTime") : "") : NULL;
}

static int64_t max_restarts(const json_t *pod)
{
	int64_t m = 0;
	size_t i;
	json_t *c;
	json_array_foreach(kp_obj_get(pod, "status.containerStatuses"), i, c)
		if (kp_obj_int(c, "restartCount", 0) > m)
			m = kp_obj_int(c, "restartCount", 0);
	return m;
}

/* An empty time sorts last; RFC 3339 "Z" times compare as text. */
static int time_cmp(const char *a, const char *b)
{
	bool ea = !a || !*a, eb = !b || !*b;
	if (ea || eb)
		return ea == eb ? 0 : (ea ? 1 : -1);
	return strcmp(a, b);
}

/* podutils.ByLogging: the pod kubectl would read the logs of first. */
static bool better_for_logs(const json_t *a, const json_t *b)
{
	const char *na = kp_obj_str(a, "spec.nodeName"), *nb = kp_obj_str(b, "spec.nodeName");
	bool aa = na && *na, ab = nb && *nb;
	if (aa != ab)
		return aa;
	if (phase_rank(a) != phase_rank(b))
		return phase_rank(a) < phase_rank(b);
	const char *ra = ready_since(a), *rb = ready_since(b);
	if (!!ra != !!rb)
		return ra != NULL;
	if (ra && rb && time_cmp(ra, rb))
		return time_cmp(ra, rb) < 0;
	if (max_restarts(a) != max_restarts(b))
		return max_restarts(a) > max_restarts(b);
	return time_cmp(kp_obj_str(a, "metadata.creationTimestamp"), kp_obj_str(b, "metadata.creationTimestamp")) < 0;
}

/*
 * TYPE/NAME: a pod, or one pod of a workload or service chosen as kubectl
 * does ("Found 3 pods, using pod/x" when there is a choice). *out is the
 * pod's name (malloc'ed). 0, or 1 with the message printed.
 */
static int pick_pod(struct kpctl *k, const char *arg, char **out)
{
	char *type = strndup(arg, (size_t)(strchr(arg, '/') - arg));
	const char *name = strchr(arg, '/') + 1;
	const struct kpc_resource *res = type ? kpctl_resource(k, type) : NULL;
	struct kpc_targets pods = { 0 };
	json_t *obj = NULL;
	int rc = 1;
	if (!res)
		goto out;
	if (!strcmp(res->kind, "Pod") && !*res->group) {
		*out = strdup(name);
		rc = 0;
		goto out;
	}
	if (lookup(k, res, name, &obj))
		goto out;
	const json_t *sel = kp_obj_get(obj, "spec.selector");
	if (!json_object_size(sel)) {
		kpctl_err("cannot attach to %s: selector for %s not implemented", res->kind, arg);
		goto out;
	}
	char *text = kpctl_selector_text(sel);
	const struct kpc_resource *pr = kpctl_resource(k, "pods");
	if (!text || !pr || kpctl_targets_list(k, pr, false, text, NULL, &pods)) {
		free(text);
		goto out;
	}
	free(text);
	if (!pods.n) {
		kpctl_err("no pods found for %s", arg);
		goto out;
	}
	size_t best = 0;
	for (size_t i = 1; i < pods.n; i++)
		if (better_for_logs(pods.v[i].obj, pods.v[best].obj))
			best = i;
	if (pods.n > 1)
		fprintf(stderr, "Found %zu pods, using pod/%s\n", pods.n, pods.v[best].name);
	*out = strdup(pods.v[best].name);
	rc = *out ? 0 : kpctl_err("out of memory");
out:
	json_decref(obj);
	kpctl_targets_release(&pods);
	free(type);
	return rc;
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
	char **pos = NULL, *picked = NULL;
	int npos = 0, rc;
	json_t *pod = NULL;
	k->usage = "Print the logs for a container in a pod.\n\n"
		   "Usage:\n  kpctl logs (POD | TYPE/NAME) [-c CONTAINER] [--tail N] [-p] [--timestamps]\n\n"
		   "For a workload or service (deploy/web, svc/x) one of its pods is chosen as kubectl does.\n"
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
	if (strchr(name, '/') && pick_pod(k, name, &picked))
		goto out;
	if (picked)
		name = picked;
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
	if (lookup(k, res, name, &pod))
		goto out;
	char *path, *em = NULL;
	struct kpc_response r;
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
	free(picked);
	free(pos);
	return rc;
}

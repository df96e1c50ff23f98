/*
 * cmd_rollout.c - `kpctl rollout status|history|undo|pause|resume|restart`
 * for deployments, statefulsets and daemonsets, worked out on the client
 * as kubectl does: status from the object's status fields, history from the
 * Deployment's ReplicaSets (annotation deployment.kubernetes.io/revision)
 * or the ControllerRevisions a StatefulSet/DaemonSet owns, undo by copying
 * that revision's pod template back into the object.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kplane/error.h>
#include <kplane/object.h>

#include "cli/kpctl/kpctl.h"
#include "cli/kpctl/objects.h"
#include "cli/kpctl/printers.h"

#define REVISION_ANN "deployment.kubernetes.io/revision"
#define CHANGE_CAUSE_ANN "kubernetes.io/change-cause"
#define HASH_LABEL "pod-template-hash"
#define RESTARTED_AT_ANN "kubectl.kubernetes.io/restartedAt"

enum wkind { W_OTHER, W_DEPLOYMENT, W_STATEFULSET, W_DAEMONSET };

static enum wkind kind_of(const struct kpc_resource *r)
{
	if (strcmp(r->group, "apps"))
		return W_OTHER;
	if (!strcmp(r->kind, "Deployment"))
		return W_DEPLOYMENT;
	if (!strcmp(r->kind, "StatefulSet"))
		return W_STATEFULSET;
	if (!strcmp(r->kind, "DaemonSet"))
		return W_DAEMONSET;
	return W_OTHER;
}

/* "Deployment.apps" / "Pod": kubectl's GroupKind in "not implemented" errors. */
static void group_kind(const struct kpc_resource *r, char *buf, size_t sz)
{
	snprintf(buf, sz, "%s%s%s", r->kind, *r->group ? "." : "", r->group);
}

/*
 * The objects of kind `type` (a TYPE argument) that obj controls (its uid
 * in a controller ownerReference) and that its selector matches, as a new
 * JSON array; NULL with the message printed.
 */
static json_t *owned(struct kpctl *k, const json_t *obj, const char *type)
{
	const struct kpc_resource *res = kpctl_resource(k, type);
	struct kpc_targets t = { 0 };
	char *sel = kpctl_selector_text(kp_obj_get(obj, "spec.selector"));
	json_t *out = NULL;
	const char *uid = kp_obj_uid(obj);
	if (!res || !sel) {
		free(sel);
		return NULL;
	}
	if (kpctl_targets_list(k, res, false, *sel ? sel : NULL, NULL, &t) == 0) {
		out = json_array();
		for (size_t i = 0; i < t.n; i++) {
			json_t *cr = kp_obj_controller_ref(t.v[i].obj);
			const char *cu = cr ? kp_obj_str(cr, "uid") : NULL;
			if (cu && uid && !strcmp(cu, uid))
				json_array_append(out, t.v[i].obj);
		}
	}
	kpctl_targets_release(&t);
	free(sel);
	return out;
}

/* deploymentutil.Revision: the annotation as a number, -1 when absent or bad. */
static long long rs_revision(const json_t *rs)
{
	const char *v = kp_obj_annotation(rs, REVISION_ANN);
	char *end;
	if (!v || !*v)
		return -1;
	long long r = strtoll(v, &end, 10);
	return *end ? -1 : r;
}

/* A copy of a pod template without the pod-template-hash label. */
static json_t *template_without_hash(const json_t *tmpl)
{
	json_t *c = json_deep_copy(tmpl ? tmpl : json_null());
	json_t *labels = kp_obj_get(c, "metadata.labels");
	if (json_is_object(labels)) {
		json_object_del(labels, HASH_LABEL);
		if (!json_object_size(labels))
			kp_obj_del(c, "metadata.labels");
	}
	if (json_is_object(kp_obj_get(c, "metadata")) && !json_object_size(kp_obj_get(c, "metadata")))
		kp_obj_del(c, "metadata");
	return c;
}

/* One revision of a workload: number, pod template (borrowed), change cause. */
struct revision {
	long long rev;
	json_t *tmpl;
	const char *cause;
	const json_t *src; /* the ReplicaSet or ControllerRevision */
};

struct history {
	struct revision *v;
	size_t n;
	json_t *objs; /* keeps the fetched objects alive */
};

static void history_release(struct history *h)
{
	for (size_t i = 0; i < h->n; i++)
		json_decref(h->v[i].tmpl);
	free(h->v);
	json_decref(h->objs);
	memset(h, 0, sizeof(*h));
}

static int rev_cmp(const void *a, const void *b)
{
	long long x = ((const struct revision *)a)->rev, y = ((const struct revision *)b)->rev;
	return x < y ? -1 : x > y;
}

/*
 * Revisions in increasing order: ReplicaSets for a Deployment (a revision
 * seen twice keeps the later one, as kubectl's map does), ControllerRevisions
 * for the others (their data is {"spec":{"template":{..., "$patch":"replace"}}}).
 */
static int load_history(struct kpctl *k, enum wkind wk, const json_t *obj, struct history *h)
{
	memset(h, 0, sizeof(*h));
	h->objs = owned(k, obj, wk == W_DEPLOYMENT ? "replicasets.apps" : "controllerrevisions.apps");
	if (!h->objs)
		return 1;
	size_t n = json_array_size(h->objs), i;
	json_t *o;
	h->v = calloc(n ? n : 1, sizeof(*h->v));
	if (!h->v)
		return kpctl_err("out of memory");
	json_array_foreach(h->objs, i, o) {
		long long rev;
		json_t *tmpl;
		if (wk == W_DEPLOYMENT) {
			rev = rs_revision(o);
			tmpl = json_deep_copy(kp_obj_get(o, "spec.template"));
		} else {
			rev = kp_obj_int(o, "revision", -1);
			tmpl = json_deep_copy(kp_obj_get(o, "data.spec.template"));
			if (json_is_object(tmpl))
				json_object_del(tmpl, "$patch");
		}
		if (rev < 0 || !tmpl) {
			json_decref(tmpl);
			continue;
		}
		size_t j;
		for (j = 0; j < h->n && h->v[j].rev != rev; j++)
			;
		if (j < h->n)
			json_decref(h->v[j].tmpl);
		else
			h->n++;
		h->v[j] = (struct revision){ rev, tmpl, kp_obj_annotation(o, CHANGE_CAUSE_ANN), o };
	}
	qsort(h->v, h->n, sizeof(*h->v), rev_cmp);
	return 0;
}

/* ---- the pod template, as kubectl's DescribePodTemplate prints it ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * printLabelsMultiline ("k=v") and printAnnotationsMultiline ("k: v", the
 * last-applied annotation left out, lines cut at 140 characters with "...").
 */
static void print_map_multiline(FILE *f, const char *title, const json_t *map, bool annotations)
{
	fprintf(f, "%s:\t", title);
	json_t *m = json_deep_copy(map ? map : json_null());
	if (annotations && json_is_object(m))
		json_object_del(m, "kubectl.kubernetes.io/last-applied-configuration");
	map = m;
	size_t n = json_object_size(map), i = 0;
	if (!n) {
		fputs("<none>\n", f);
		json_decref(m);
		return;
	}
	const char **keys = calloc(n, sizeof(*keys)), *k;
	json_t *v;
	if (!keys) {
		json_decref(m);
		return;
	}
	json_object_foreach((json_t *)map, k, v) keys[i++] = k;
	qsort(keys, n, sizeof(*keys), cmp_str);
	for (i = 0; i < n; i++) {
		const char *val = json_string_value(json_object_get(map, keys[i]));
		char *line = NULL;
		if (asprintf(&line, "%s%s%s", keys[i], annotations ? ": " : "=", val ? val : "") < 0)
			continue;
		if (annotations && strlen(line) > 140)
			fprintf(f, "%s%.140s...\n", i ? "\t" : "", line);
		else
			fprintf(f, "%s%s\n", i ? "\t" : "", line);
		free(line);
	}
	free(keys);
	json_decref(m);
}

static void print_ports(FILE *f, const json_t *ports, bool host)
{
	char *b = NULL;
	size_t bl = 0, i;
	json_t *p;
	FILE *m = open_memstream(&b, &bl);
	if (!m)
		return;
	json_array_foreach(ports, i, p) {
		const char *proto = kp_obj_str(p, "protocol");
		fprintf(m, "%s%lld/%s", i ? ", " : "", (long long)kp_obj_int(p, host ? "hostPort" : "containerPort", 0),
			proto ? proto : "TCP");
	}
	fclose(m);
	bool several = b && strchr(b, ',');
	fprintf(f, "    %s%s:\t%s\n", host ? "Host Port" : "Port", several ? "s" : "", b && *b ? b : "<none>");
	free(b);
}

static void print_resources(FILE *f, const json_t *res, const char *which, const char *title)
{
	const json_t *m = json_object_get(res, which);
	size_t n = json_object_size(m), i = 0;
	if (!n)
		return;
	const char **keys = calloc(n, sizeof(*keys)), *k;
	json_t *v;
	if (!keys)
		return;
	json_object_foreach((json_t *)m, k, v) keys[i++] = k;
	qsort(keys, n, sizeof(*keys), cmp_str);
	fprintf(f, "    %s:\n", title);
	for (i = 0; i < n; i++) {
		json_t *q = json_object_get(m, keys[i]);
		char *t = json_is_string(q) ? strdup(json_string_value(q)) : json_dumps(q, JSON_ENCODE_ANY);
		fprintf(f, "      %s:\t%s\n", keys[i], t ? t : "");
		free(t);
	}
	free(keys);
}

static void print_containers(FILE *f, const char *label, const json_t *cs)
{
	size_t i, j;
	json_t *c, *x;
	fprintf(f, "  %s:%s\n", label, json_array_size(cs) ? "" : " <none>");
	json_array_foreach(cs, i, c) {
		const char *name = kp_obj_str(c, "name"), *image = kp_obj_str(c, "image");
		fprintf(f, "   %s:\n    Image:\t%s\n", name ? name : "", image ? image : "");
		print_ports(f, json_object_get(c, "ports"), false);
		print_ports(f, json_object_get(c, "ports"), true);
		if (json_array_size(json_object_get(c, "command"))) {
			fputs("    Command:\n", f);
			json_array_foreach(json_object_get(c, "command"), j, x)
				fprintf(f, "      %s\n", json_string_value(x) ? json_string_value(x) : "");
		}
		if (json_array_size(json_object_get(c, "args"))) {
			fputs("    Args:\n", f);
			json_array_foreach(json_object_get(c, "args"), j, x)
				fprintf(f, "      %s\n", json_string_value(x) ? json_string_value(x) : "");
		}
		print_resources(f, json_object_get(c, "resources"), "limits", "Limits");
		print_resources(f, json_object_get(c, "resources"), "requests", "Requests");
		json_t *env = json_object_get(c, "env");
		if (!json_array_size(env)) {
			fputs("    Environment:\t<none>\n", f);
		} else {
			fputs("    Environment:\n", f);
			json_array_foreach(env, j, x) {
				const char *en = kp_obj_str(x, "name"), *ev = kp_obj_str(x, "value");
				if (ev || !json_object_get(x, "valueFrom"))
					fprintf(f, "      %s:\t%s\n", en ? en : "", ev ? ev : "");
				else
					fprintf(f, "      %s:\t<set from valueFrom>\n", en ? en : "");
			}
		}
		json_t *mounts = json_object_get(c, "volumeMounts");
		if (!json_array_size(mounts)) {
			fputs("    Mounts:\t<none>\n", f);
		} else {
			fputs("    Mounts:\n", f);
			json_array_foreach(mounts, j, x) {
				const char *mp = kp_obj_str(x, "mountPath"), *vn = kp_obj_str(x, "name");
				fprintf(f, "      %s from %s (%s)\n", mp ? mp : "", vn ? vn : "",
					kp_obj_bool(x, "readOnly", false) ? "ro" : "rw");
			}
		}
	}
}

static void print_template(FILE *f, const json_t *tmpl)
{
	const json_t *spec = json_object_get(tmpl, "spec");
	fputs("Pod Template:\n", f);
	print_map_multiline(f, "  Labels", kp_obj_get(tmpl, "metadata.labels"), false);
	if (json_object_size(kp_obj_get(tmpl, "metadata.annotations")))
		print_map_multiline(f, "  Annotations", kp_obj_get(tmpl, "metadata.annotations"), true);
	const char *sa = kp_obj_str(spec, "serviceAccountName");
	if (sa && *sa)
		fprintf(f, "  Service Account:\t%s\n", sa);
	if (json_array_size(json_object_get(spec, "initContainers")))
		print_containers(f, "Init Containers", json_object_get(spec, "initContainers"));
	print_containers(f, "Containers", json_object_get(spec, "containers"));
	json_t *vols = json_object_get(spec, "volumes");
	if (!json_array_size(vols)) {
		fputs("  Volumes:\t<none>\n", f);
	} else {
		size_t i;
		json_t *v;
		fputs("  Volumes:\n", f);
		json_array_foreach(vols, i, v) {
			const char *vn = kp_obj_str(v, "name"), *k, *type = "<unknown>";
			json_t *x;
			json_object_foreach(v, k, x)
				if (strcmp(k, "name"))
					type = k;
			fprintf(f, "   %s:\n    Type:\t%s\n", vn ? vn : "", type);
		}
	}
	const char *pc = kp_obj_str(spec, "priorityClassName");
	if (pc && *pc)
		fprintf(f, "  Priority Class Name:\t%s\n", pc);
	print_map_multiline(f, "  Node-Selectors", json_object_get(spec, "nodeSelector"), false);
	json_t *tols = json_object_get(spec, "tolerations");
	fputs("  Tolerations:\t", f);
	if (!json_array_size(tols)) {
		fputs("<none>\n", f);
	} else {
		size_t i;
		json_t *t;
		json_array_foreach(tols, i, t) {
			const char *key = kp_obj_str(t, "key"), *val = kp_obj_str(t, "value");
			const char *eff = kp_obj_str(t, "effect"), *op = kp_obj_str(t, "operator");
			if (i)
				fputs("\t", f);
			fprintf(f, "%s", key ? key : "");
			if (val && *val)
				fprintf(f, "=%s", val);
			if (eff && *eff)
				fprintf(f, ":%s", eff);
			if (op && !strcmp(op, "Exists") && !(val && *val))
				fputs(" op=Exists", f);
			if (json_object_get(t, "tolerationSeconds"))
				fprintf(f, " for %llds", (long long)kp_obj_int(t, "tolerationSeconds", 0));
			fputc('\n', f);
		}
	}
}

/* ---- subcommands ---- */

struct rollout {
	struct kpctl *k;
	const char *sub;
	long revision;        /* status --revision, history --revision */
	long to_revision;     /* undo --to-revision */
	bool watch;
	const char *timeout;
};

static char *ref_of(const struct kpc_target *t)
{
	return kpctl_target_ref(t);
}

/*
 * kubectl's status viewers. Returns 0 with *msg (malloc'ed) and *done, or
 * 1 with an error message in *msg.
 */
static int status_of(enum wkind wk, const json_t *o, long revision, char **msg, bool *done)
{
	const char *name = kp_obj_name(o);
	int64_t gen = kp_obj_int(o, "metadata.generation", 0), obs = kp_obj_int(o, "status.observedGeneration", 0);
	int r = 0;
	*done = false;
	*msg = NULL;
	if (wk == W_DEPLOYMENT) {
		if (revision > 0) {
			long long have = rs_revision(o);
			if (have != revision) {
				r = asprintf(msg, "desired revision (%ld) is different from the running revision (%lld)",
					     revision, have < 0 ? 0 : have);
				return r < 0 ? -1 : 1;
			}
		}
		if (gen > obs) {
			r = asprintf(msg, "Waiting for deployment spec update to be observed...\n");
		} else {
			json_t *c = kp_obj_condition(o, "Progressing");
			const char *reason = c ? kp_obj_str(c, "reason") : NULL;
			if (reason && !strcmp(reason, "ProgressDeadlineExceeded")) {
				r = asprintf(msg, "deployment \"%s\" exceeded its progress deadline", name);
				return r < 0 ? -1 : 1;
			}
			json_t *sr = kp_obj_get(o, "spec.replicas");
			int64_t want = json_is_integer(sr) ? json_integer_value(sr) : -1;
			int64_t updated = kp_obj_int(o, "status.updatedReplicas", 0);
			int64_t replicas = kp_obj_int(o, "status.replicas", 0);
			int64_t avail = kp_obj_int(o, "status.availableReplicas", 0);
			if (want >= 0 && updated < want)
				r = asprintf(msg, "Waiting for deployment \"%s\" rollout to finish: %lld out of %lld new replicas have been updated...\n",
					     name, (long long)updated, (long long)want);
			else if (replicas > updated)
				r = asprintf(msg, "Waiting for deployment \"%s\" rollout to finish: %lld old replicas are pending termination...\n",
					     name, (long long)(replicas - updated));
			else if (avail < updated)
				r = asprintf(msg, "Waiting for deployment \"%s\" rollout to finish: %lld of %lld updated replicas are available...\n",
					     name, (long long)avail, (long long)updated);
			else {
				r = asprintf(msg, "deployment \"%s\" successfully rolled out\n", name);
				*done = true;
			}
		}
	} else if (wk == W_DAEMONSET) {
		const char *type = kp_obj_str(o, "spec.updateStrategy.type");
		if (type && *type && strcmp(type, "RollingUpdate")) {
			r = asprintf(msg, "rollout status is only available for RollingUpdate strategy type");
			return r < 0 ? -1 : 1;
		}
		if (gen > obs) {
			r = asprintf(msg, "Waiting for daemon set spec update to be observed...\n");
		} else {
			int64_t desired = kp_obj_int(o, "status.desiredNumberScheduled", 0);
			int64_t updated = kp_obj_int(o, "status.updatedNumberScheduled", 0);
			int64_t avail = kp_obj_int(o, "status.numberAvailable", 0);
			if (updated < desired)
				r = asprintf(msg, "Waiting for daemon set \"%s\" rollout to finish: %lld out of %lld new pods have been updated...\n",
					     name, (long long)updated, (long long)desired);
			else if (avail < desired)
				r = asprintf(msg, "Waiting for daemon set \"%s\" rollout to finish: %lld of %lld updated pods are available...\n",
					     name, (long long)avail, (long long)desired);
			else {
				r = asprintf(msg, "daemon set \"%s\" successfully rolled out\n", name);
				*done = true;
			}
		}
	} else {
		const char *type = kp_obj_str(o, "spec.updateStrategy.type");
		if (type && *type && strcmp(type, "RollingUpdate")) {
			r = asprintf(msg, "rollout status is only available for RollingUpdate strategy type");
			return r < 0 ? -1 : 1;
		}
		json_t *sr = kp_obj_get(o, "spec.replicas");
		int64_t want = json_is_integer(sr) ? json_integer_value(sr) : -1;
		int64_t ready = kp_obj_int(o, "status.readyReplicas", 0);
		int64_t updated = kp_obj_int(o, "status.updatedReplicas", 0);
		json_t *part = kp_obj_get(o, "spec.updateStrategy.rollingUpdate.partition");
		const char *cur = kp_obj_str(o, "status.currentRevision"), *upd = kp_obj_str(o, "status.updateRevision");
		if (obs == 0 || gen > obs) {
			r = asprintf(msg, "Waiting for statefulset spec update to be observed...\n");
		} else if (want >= 0 && ready < want) {
			r = asprintf(msg, "Waiting for %lld pods to be ready...\n", (long long)(want - ready));
		} else if (json_is_object(kp_obj_get(o, "spec.updateStrategy.rollingUpdate"))) {
			if (want >= 0 && json_is_integer(part) && updated < want - json_integer_value(part)) {
				r = asprintf(msg, "Waiting for partitioned roll out to finish: %lld out of %lld new pods have been updated...\n",
					     (long long)updated, (long long)(want - json_integer_value(part)));
			} else {
				r = asprintf(msg, "partitioned roll out complete: %lld new pods have been updated...\n",
					     (long long)updated);
				*done = true;
			}
		} else if (upd && (!cur || strcmp(upd, cur))) {
			r = asprintf(msg, "waiting for statefulset rolling update to complete %lld pods at revision %s...\n",
				     (long long)updated, upd);
		} else {
			r = asprintf(msg, "statefulset rolling update complete %lld pods at revision %s...\n",
				     (long long)kp_obj_int(o, "status.currentReplicas", 0), cur ? cur : "");
			*done = true;
		}
	}
	return r < 0 ? -1 : 0;
}

static long parse_duration(const char *s)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || v < 0)
		return -1;
	if (!*end || !strcmp(end, "s"))
		return (long)(v * 1000);
	if (!strcmp(end, "ms"))
		return (long)v;
	if (!strcmp(end, "m"))
		return (long)(v * 60000);
	if (!strcmp(end, "h"))
		return (long)(v * 3600000);
	return -1;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Polls the object (4 times a second) and prints each new status line, as
 * kubectl prints them from its watch (kubectl may repeat a line; kpctl
 * prints a line again only when it changed).
 */
static int do_status(struct rollout *ro, const struct kpc_target *t, enum wkind wk, long timeout_ms)
{
	char *last = NULL;
	int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
	int rc = 1;
	for (;;) {
		struct kpc_response r;
		char *em = NULL, *path = kpc_resource_path(t->res, t->ns, t->name, NULL);
		if (!path || kpc_request(ro->k->client, "GET", path, NULL, NULL, NULL, 0, &r, &em)) {
			fprintf(stderr, "%s\n", em ? em : "request failed");
			free(em);
			free(path);
			break;
		}
		free(path);
		if (r.status == 404 && last) {
			kpc_response_release(&r);
			kpctl_err("object has been deleted");
			break;
		}
		if (r.status != 200) {
			kpctl_server_err(&r, NULL);
			kpc_response_release(&r);
			break;
		}
		char *msg = NULL;
		bool done = false;
		int s = status_of(wk, r.json, ro->revision, &msg, &done);
		kpc_response_release(&r);
		if (s) {
			kpctl_err("%s", msg ? msg : "out of memory");
			free(msg);
			break;
		}
		if (!last || strcmp(last, msg)) {
			fputs(msg, stdout);
			fflush(stdout);
		}
		free(last);
		last = msg;
		if (done || !ro->watch) {
			rc = 0;
			break;
		}
		if (deadline && now_ms() >= deadline) {
			kpctl_err("timed out waiting for the condition");
			break;
		}
		struct timespec ts = { 0, 250 * 1000000L };
		nanosleep(&ts, NULL);
	}
	free(last);
	return rc;
}

static int do_history(struct rollout *ro, const struct kpc_target *t, enum wkind wk)
{
	json_t *obj = NULL;
	struct history h;
	int rc = 1;
	if (kpctl_fetch(ro->k, t, &obj))
		return 1;
	if (load_history(ro->k, wk, obj, &h))
		goto out;
	char *ref = ref_of(t);
	if (ro->revision > 0) {
		size_t i;
		for (i = 0; i < h.n && h.v[i].rev != ro->revision; i++)
			;
		if (i == h.n) {
			kpctl_err("unable to find the specified revision");
		} else {
			printf("%s with revision #%ld\n", ref ? ref : "", ro->revision);
			json_t *tmpl = json_deep_copy(h.v[i].tmpl);
			if (h.v[i].cause)
				kp_obj_set_annotation(tmpl, CHANGE_CAUSE_ANN, h.v[i].cause);
			print_template(stdout, tmpl);
			json_decref(tmpl);
			putchar('\n');
			rc = 0;
		}
	} else if (!h.n) {
		printf("%s \nNo rollout history found.\n", ref ? ref : "");
		rc = 0;
	} else {
		char *b = NULL;
		size_t bl = 0;
		FILE *m = open_memstream(&b, &bl);
		if (m) {
			fputs("REVISION\tCHANGE-CAUSE\n", m);
			for (size_t i = 0; i < h.n; i++)
				fprintf(m, "%lld\t%s\n", h.v[i].rev, h.v[i].cause && *h.v[i].cause ? h.v[i].cause : "<none>");
			fclose(m);
			char *tw = kpc_tabwrite(b, 0, 2);
			printf("%s \n%s\n", ref ? ref : "", tw ? tw : "");
			free(tw);
			free(b);
			rc = 0;
		}
	}
	free(ref);
out:
	history_release(&h);
	json_decref(obj);
	return rc;
}

static int send(struct rollout *ro, const struct kpc_target *t, const char *ctype, const json_t *patch)
{
	char *path = kpc_resource_path(t->res, t->ns, t->name, NULL), *em = NULL;
	struct kpc_response r;
	int rc = 0;
	if (!path || kpc_request_json(ro->k->client, "PATCH", path, ctype, patch, &r, &em)) {
		fprintf(stderr, "%s\n", em ? em : "request failed");
		free(em);
		free(path);
		return 1;
	}
	free(path);
	if (r.status >= 300)
		rc = kpctl_server_err(&r, NULL);
	kpc_response_release(&r);
	return rc;
}

/* Annotations kubectl's rollback keeps from the Deployment, not the ReplicaSet. */
static bool skip_annotation(const char *k)
{
	static const char *const skip[] = {
		"kubectl.kubernetes.io/last-applied-configuration", REVISION_ANN,
		"deployment.kubernetes.io/revision-history", "deployment.kubernetes.io/desired-replicas",
		"deployment.kubernetes.io/max-replicas", "deprecated.deployment.rollback.to",
	};
	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (!strcmp(k, skip[i]))
			return true;
	return false;
}

static int do_undo(struct rollout *ro, const struct kpc_target *t, enum wkind wk)
{
	json_t *obj = NULL, *patch = NULL;
	struct history h = { 0 };
	int rc = 1;
	char *ref = ref_of(t);
	if (kpctl_fetch(ro->k, t, &obj))
		goto out;
	if (wk == W_DEPLOYMENT && kp_obj_bool(obj, "spec.paused", false)) {
		kpctl_err("you cannot rollback a paused deployment; resume it first with 'kpctl rollout resume' and try again");
		goto out;
	}
	if (load_history(ro->k, wk, obj, &h))
		goto out;
	const struct revision *target = NULL;
	if (ro->to_revision > 0) {
		for (size_t i = 0; i < h.n; i++)
			if (h.v[i].rev == ro->to_revision)
				target = &h.v[i];
		if (!target) {
			kpctl_err("unable to find specified revision %ld in history", ro->to_revision);
			goto out;
		}
	} else if (h.n >= 2) {
		target = &h.v[h.n - 2]; /* the newest but one */
	} else {
		if (wk == W_DEPLOYMENT)
			kpctl_err("no rollout history found for deployment \"%s\"", t->name);
		else
			kpctl_err("unable to find specified revision 0 in history");
		goto out;
	}
	json_t *want = template_without_hash(target->tmpl);
	json_t *have = template_without_hash(kp_obj_get(obj, "spec.template"));
	bool same = json_equal(want, have);
	json_decref(have);
	if (same) {
		json_decref(want);
		printf("%s skipped rollback (current template already matches revision %ld)\n", ref ? ref : "",
		       ro->to_revision);
		rc = 0;
		goto out;
	}
	/* kubectl's rollback is a JSON patch replacing the template (and, for
	 * a Deployment, the annotations: the ReplicaSet's, except the
	 * bookkeeping ones the Deployment keeps). */
	json_t *ops = json_array();
	json_array_append_new(ops, json_pack("{s:s,s:s,s:o}", "op", "replace", "path", "/spec/template", "value", want));
	if (wk == W_DEPLOYMENT) {
		json_t *ann = json_object(), *v;
		const char *k;
		json_object_foreach(kp_obj_annotations(obj), k, v)
			if (skip_annotation(k))
				json_object_set(ann, k, v);
		json_object_foreach(kp_obj_annotations(target->src), k, v)
			if (!skip_annotation(k))
				json_object_set(ann, k, v);
		json_array_append_new(ops, json_pack("{s:s,s:s,s:o}", "op", "replace", "path", "/metadata/annotations",
						     "value", ann));
	}
	patch = ops;
	if (send(ro, t, KPC_CT_JSON_PATCH, patch))
		goto out;
	printf("%s rolled back\n", ref ? ref : "");
	rc = 0;
out:
	history_release(&h);
	json_decref(patch);
	json_decref(obj);
	free(ref);
	return rc;
}

static int do_pause(struct rollout *ro, const struct kpc_target *t, bool pause)
{
	json_t *obj = NULL;
	char *ref = ref_of(t);
	int rc = 1;
	if (kpctl_fetch(ro->k, t, &obj))
		goto out;
	if (kp_obj_bool(obj, "spec.paused", false) == pause) {
		kpctl_err("deployments.apps \"%s\" is %s", t->name, pause ? "already paused" : "not paused");
		goto out;
	}
	json_t *patch = json_pack("{s:{s:b}}", "spec", "paused", pause);
	rc = send(ro, t, KPC_CT_MERGE_PATCH, patch);
	json_decref(patch);
	if (!rc)
		printf("%s %s\n", ref ? ref : "", pause ? "paused" : "resumed");
out:
	json_decref(obj);
	free(ref);
	return rc;
}

static int do_restart(struct rollout *ro, const struct kpc_target *t, enum wkind wk)
{
	json_t *obj = NULL;
	char *ref = ref_of(t);
	int rc = 1;
	if (kpctl_fetch(ro->k, t, &obj))
		goto out;
	if (wk == W_DEPLOYMENT && kp_obj_bool(obj, "spec.paused", false)) {
		kpctl_err("deployments.apps \"%s\" can't restart paused deployment (run rollout resume first)", t->name);
		goto out;
	}
	/* time.Now().Format(time.RFC3339): local time with its offset */
	char ts[64];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S%z", &tm);
	size_t l = strlen(ts);
	if (l >= 5 && !strcmp(ts + l - 5, "+0000")) {
		strcpy(ts + l - 5, "Z");
	} else if (l >= 5) {
		memmove(ts + l - 1, ts + l - 2, 3);
		ts[l - 2] = ':';
	}
	json_t *patch = json_pack("{s:{s:{s:{s:{s:s}}}}}", "spec", "template", "metadata", "annotations",
				  RESTARTED_AT_ANN, ts);
	rc = send(ro, t, KPC_CT_MERGE_PATCH, patch);
	json_decref(patch);
	if (!rc)
		printf("%s restarted\n", ref ? ref : "");
out:
	json_decref(obj);
	free(ref);
	return rc;
}

static const char *rollout_usage =
	"Manage the rollout of one or many resources.\n\n"
	"Usage:\n"
	"  kpctl rollout status  (TYPE NAME | TYPE/NAME) [--watch=false] [--timeout=D] [--revision=N]\n"
	"  kpctl rollout history (TYPE NAME | TYPE/NAME) [--revision=N]\n"
	"  kpctl rollout undo    (TYPE NAME | TYPE/NAME) [--to-revision=N]\n"
	"  kpctl rollout pause   (TYPE NAME | TYPE/NAME)   (deployments)\n"
	"  kpctl rollout resume  (TYPE NAME | TYPE/NAME)   (deployments)\n"
	"  kpctl rollout restart (TYPE NAME | TYPE/NAME)\n\n"
	"Valid resource types: deployments, daemonsets, statefulsets.\n";

int kpctl_cmd_rollout(struct kpctl *k, int argc, char **argv)
{
	struct rollout ro = { .k = k, .watch = true };
	const char *timeout = NULL;
	struct kpc_opt opts[] = {
		{ "watch", 'w', KPC_OPT_BOOL, &ro.watch, "status: watch until the rollout finishes (default true)", false },
		{ "timeout", 0, KPC_OPT_STRING, &timeout, "status: give up after this long (30s, 5m; 0 waits forever)", false },
		{ "revision", 0, KPC_OPT_INT, &ro.revision, "status: pin to this revision; history: show its pod template", false },
		{ "to-revision", 0, KPC_OPT_INT, &ro.to_revision, "undo: the revision to go back to (default: the previous one)", false },
		{ NULL, 0, 0, NULL, NULL, false },
	};
	char **pos = NULL;
	int npos = 0, rc;
	struct kpc_targets t = { 0 };
	k->usage = rollout_usage;
	if ((rc = kpctl_parse(k, argc, argv, opts, &pos, &npos)))
		return rc;
	rc = 1;
	static const char *const subs[] = { "status", "history", "undo", "pause", "resume", "restart" };
	if (!npos) {
		kpctl_usage_err(k, "a subcommand is required: status, history, undo, pause, resume or restart");
		goto out;
	}
	ro.sub = pos[0];
	size_t si;
	for (si = 0; si < sizeof(subs) / sizeof(subs[0]) && strcmp(subs[si], ro.sub); si++)
		;
	if (si == sizeof(subs) / sizeof(subs[0])) {
		kpctl_err("unknown command \"%s\" for \"kpctl rollout\"", ro.sub);
		goto out;
	}
	long timeout_ms = 0;
	if (timeout && (timeout_ms = parse_duration(timeout)) < 0) {
		kpctl_err("invalid argument \"%s\" for \"--timeout\" flag: use a duration like 30s or 5m", timeout);
		goto out;
	}
	if (ro.revision < 0 || ro.to_revision < 0) {
		kpctl_err("revision must be a positive integer: %ld", ro.revision < 0 ? ro.revision : ro.to_revision);
		goto out;
	}
	if (npos < 2) {
		kpctl_usage_err(k, "required resource not specified");
		goto out;
	}
	if (kpctl_connect(k) || kpctl_targets_from_args(k, pos + 1, npos - 1, &t))
		goto out;
	rc = 0;
	for (size_t i = 0; i < t.n; i++) {
		struct kpc_target *x = &t.v[i];
		enum wkind wk = kind_of(x->res);
		char gk[200];
		group_kind(x->res, gk, sizeof(gk));
		if (!x->name) {
			rc = kpctl_usage_err(k, "a resource name is required: TYPE NAME or TYPE/NAME");
			break;
		}
		bool pause_cmd = !strcmp(ro.sub, "pause") || !strcmp(ro.sub, "resume");
		if (wk == W_OTHER || (pause_cmd && wk != W_DEPLOYMENT)) {
			char *ref = ref_of(x);
			if (!strcmp(ro.sub, "status"))
				kpctl_err("no status viewer has been implemented for %s", gk);
			else if (!strcmp(ro.sub, "history"))
				kpctl_err("no history viewer has been implemented for %s", gk);
			else if (!strcmp(ro.sub, "undo"))
				kpctl_err("no rollbacker has been implemented for %s", gk);
			else
				kpctl_err("%s %s is not supported", ref ? ref : "",
					  !strcmp(ro.sub, "pause") ? "pausing" : !strcmp(ro.sub, "resume") ? "resuming" : "restarting");
			free(ref);
			rc = 1;
			continue;
		}
		int r;
		if (!strcmp(ro.sub, "status"))
			r = do_status(&ro, x, wk, timeout_ms);
		else if (!strcmp(ro.sub, "history"))
			r = do_history(&ro, x, wk);
		else if (!strcmp(ro.sub, "undo"))
			r = do_undo(&ro, x, wk);
		else if (pause_cmd)
			r = do_pause(&ro, x, !strcmp(ro.sub, "pause"));
		else
			r = do_restart(&ro, x, wk);
		if (r)
			rc = 1;
	}
out:
	kpctl_targets_release(&t);
	free(pos);
	return rc;
}

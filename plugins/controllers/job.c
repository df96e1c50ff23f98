/*
 * job.c - the Job controller (kube-controller-manager's job controller,
 * counting from the Job's pods): runs up to `parallelism` pods until
 * `completions` succeed (NonIndexed, or one pod per index 0..completions-1
 * with completionMode Indexed; without completions, until one succeeds and
 * none is active), recreates failed pods after an exponential delay until
 * more than `backoffLimit` failures (container restarts count with
 * restartPolicy OnFailure), fails the Job after `activeDeadlineSeconds`,
 * honours `suspend`, writes Complete/Failed/Suspended conditions, and
 * deletes finished Jobs after `ttlSecondsAfterFinished` (the TTL-after-
 * finished controller's job).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <kplane/controller.h>

#include "plugins/controllers/common.h"
#include "plugins/controllers/workload.h"

enum { K_JOB, K_POD };

static const struct kp_ctl_kind kinds[] = {
	{ "batch", "v1", "Job", "jobs" },
	{ "", "v1", "Pod", "pods" },
	{ NULL, NULL, NULL, NULL },
};

struct args {
	int64_t backoff_base_ms;
	int64_t backoff_max_ms;
};

static const struct kp_arg_spec arg_spec[] = {
	/* kube's DefaultJobPodFailureBackOff and MaxJobPodFailureBackOff. */
	{ "podFailureBackoffMs", KP_ARG_INT, offsetof(struct args, backoff_base_ms), "10000", 0,
	  3600000 },
	{ "maxPodFailureBackoffMs", KP_ARG_INT, offsetof(struct args, backoff_max_ms), "360000", 0,
	  86400000 },
	{ NULL, 0, 0, NULL, 0, 0 },
};

#define A_INDEX "batch.kubernetes.io/job-completion-index"
#define MAX_INDEXES 100000

static int init(struct kp_ctl *c, const void *args, void **state, char **errmsg)
{
	(void)c;
	struct args *a = malloc(sizeof(*a));
	if (!a)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	*a = *(const struct args *)args;
	*state = a;
	return 0;
}

static void fini(void *state)
{
	free(state);
}

static void on_change(struct kp_ctl *c, void *state, unsigned kind, int change,
		      const json_t *old, const json_t *obj)
{
	(void)state;
	(void)old;
	(void)change;
	if (kind == K_JOB) {
		kp__enqueue_obj(c, obj);
		return;
	}
	kp__enqueue_owner(c, obj, "Job");
}

static const char *phase(const json_t *pod)
{
	const char *p = kp_obj_str(pod, "status.phase");
	return p ? p : "Pending";
}

static int64_t pod_index(const json_t *pod)
{
	const char *v = kp_obj_annotation(pod, A_INDEX);
	if (!v || !*v)
		return -1;
	char *end;
	long long n = strtoll(v, &end, 10);
	return *end || n < 0 ? -1 : n;
}

static json_t *condition(const char *type, const char *status, const char *reason,
			 const char *msg, const char *ts)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", type, "status", status,
			 "lastProbeTime", ts, "lastTransitionTime", ts, "reason", reason, "message",
			 msg);
}

static bool cond_true(const json_t *job, const char *type)
{
	json_t *c = kp_obj_condition(job, type);
	const char *s = c ? json_string_value(json_object_get(c, "status")) : NULL;
	return s && !strcmp(s, "True");
}

/* "0-2,4,6-7" from a bitmap of n indexes (Kubernetes' completedIndexes). */
static void index_ranges(const unsigned char *done, int64_t n, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = 0;
	for (int64_t i = 0; i < n && o + 48 < len; i++) {
		if (!done[i])
			continue;
		int64_t j = i;
		while (j + 1 < n && done[j + 1])
			j++;
		o += (size_t)snprintf(buf + o, len - o, "%s%lld", o ? "," : "", (long long)i);
		if (j > i)
			o += (size_t)snprintf(buf + o, len - o, "-%lld", (long long)j);
		i = j;
	}
}

static json_t *pod_for(const json_t *job, int64_t index)
{
	json_t *tmpl = kp_obj_get(job, "spec.template");
	char gen[300], idx[32];
	if (index >= 0)
		snprintf(gen, sizeof(gen), "%.*s-%lld-", 48, kp_obj_name(job), (long long)index);
	else
		snprintf(gen, sizeof(gen), "%.*s-", 57, kp_obj_name(job));
	json_t *pod = json_pack("{s:{s:s, s:s}}", "metadata", "generateName", gen, "namespace",
				kp_obj_namespace(job));
	json_t *md = json_object_get(pod, "metadata");
	json_t *v = kp_obj_get(tmpl, "metadata.labels");
	json_object_set_new(md, "labels", v ? json_deep_copy(v) : json_object());
	if ((v = kp_obj_get(tmpl, "metadata.annotations")))
		json_object_set_new(md, "annotations", json_deep_copy(v));
	/* The labels kube's Job strategy puts on the template. */
	kp_obj_set_label(pod, "batch.kubernetes.io/controller-uid", kp_obj_uid(job));
	kp_obj_set_label(pod, "batch.kubernetes.io/job-name", kp_obj_name(job));
	kp_obj_set_label(pod, "controller-uid", kp_obj_uid(job));
	kp_obj_set_label(pod, "job-name", kp_obj_name(job));
	json_t *spec = json_object_get(tmpl, "spec");
	json_object_set_new(pod, "spec", spec ? json_deep_copy(spec) : json_object());
	if (index >= 0) {
		snprintf(idx, sizeof(idx), "%lld", (long long)index);
		kp_obj_set_annotation(pod, A_INDEX, idx);
		kp_obj_set_label(pod, A_INDEX, idx);
		char host[300];
		snprintf(host, sizeof(host), "%.*s-%lld", 48, kp_obj_name(job), (long long)index);
		kp_obj_set_str(pod, "spec.hostname", host);
	}
	kp_obj_add_owner_ref(pod, job, true);
	return pod;
}

static void delete_pods(struct kp_ctl *c, const json_t *job, json_t *pods, size_t n,
			const char *key)
{
	kp_ctl_expect(c, key, 0, (int)n);
	for (size_t i = 0; i < n; i++) {
		json_t *p = json_array_get(pods, i);
		if (kp_ctl_delete(c, K_POD, kp_obj_namespace(p), kp_obj_name(p), kp_obj_uid(p),
				  KP_CTL_BACKGROUND, NULL) < 0)
			kp_ctl_observe(c, key, 0, 1);
		else
			kp_ctl_event(c, job, "Normal", "SuccessfulDelete", "Deleted pod: %s",
				     kp_obj_name(p));
	}
}

static int64_t reconcile(struct kp_ctl *c, void *state, const char *key, char **errmsg)
{
	const struct args *a = state;
	char ns[256], name[256];
	if (!kp__split_key(key, ns, name, sizeof(ns)))
		return 0;
	json_t *cached = kp_ctl_get(c, K_JOB, ns, name);
	if (!cached) {
		kp_ctl_forget_expectations(c, key);
		return 0;
	}
	json_t *job = json_deep_copy(cached);
	json_decref(cached);
	int64_t now = kp_time_now(), ret = 0;
	char ts[KP_TIME_BUFSZ];
	kp_time_format(now, ts);
	int rc = 0;
	json_t *pods = NULL, *active = json_array();
	unsigned char *done = NULL;

	if (cond_true(job, "Complete") || cond_true(job, "Failed")) {
		/* Finished: only the TTL is left. */
		int64_t ttl = kp_obj_int(job, "spec.ttlSecondsAfterFinished", -1), fin = 0;
		const char *ft = kp_obj_str(job, "status.completionTime");
		json_t *fc = kp_obj_condition(job, cond_true(job, "Complete") ? "Complete" : "Failed");
		if (!ft && fc)
			ft = json_string_value(json_object_get(fc, "lastTransitionTime"));
		if (ttl >= 0 && ft && kp_time_parse(ft, &fin) == 0) {
			if (fin + ttl <= now)
				rc = kp_ctl_delete(c, K_JOB, ns, name, kp_obj_uid(job),
						   KP_CTL_FOREGROUND, errmsg);
			else
				ret = (fin + ttl - now) * 1000;
		}
		goto out;
	}
	if (kp_obj_str(job, "metadata.deletionTimestamp"))
		goto out;

	pods = kp_ctl_list_owned(c, K_POD, ns, kp_obj_uid(job));
	const char *policy = kp_obj_str(job, "spec.template.spec.restartPolicy");
	bool on_failure = policy && !strcmp(policy, "OnFailure");
	bool indexed = kp_obj_str(job, "spec.completionMode") &&
		       !strcmp(kp_obj_str(job, "spec.completionMode"), "Indexed");
	json_t *cv = kp_obj_get(job, "spec.completions");
	int64_t completions = json_is_integer(cv) ? json_integer_value(cv) : -1;
	int64_t parallelism = kp_obj_int(job, "spec.parallelism", 1);
	int64_t backoff_limit = kp_obj_int(job, "spec.backoffLimit", 6);
	if (indexed && (completions < 0 || completions > MAX_INDEXES)) {
		kp_ctl_event(c, job, "Warning", "InvalidCompletions",
			     "Indexed jobs need spec.completions in 0..%d", MAX_INDEXES);
		goto out;
	}
	int64_t succeeded = 0, failed = 0, restarts = 0, ready = 0, last_fail = 0;
	if (indexed && !(done = calloc((size_t)completions + 1, 1))) {
		rc = kp_error_set(errmsg, KP_ENOMEM, "out of memory");
		goto out;
	}
	size_t i;
	json_t *p;
	json_array_foreach(pods, i, p) {
		if (!kp_obj_controller_ref(p) ||
		    strcmp(json_string_value(json_object_get(kp_obj_controller_ref(p), "uid")),
			   kp_obj_uid(job)))
			continue;
		const char *ph = phase(p);
		if (!strcmp(ph, "Succeeded")) {
			int64_t ix = pod_index(p);
			if (!indexed)
				succeeded++;
			else if (ix >= 0 && ix < completions && !done[ix]) {
				done[ix] = 1;
				succeeded++;
			}
		} else if (!strcmp(ph, "Failed")) {
			failed++;
			json_t *cs = json_array_get(kp_obj_get(p, "status.containerStatuses"), 0);
			const char *ft = kp_obj_str(cs, "state.terminated.finishedAt");
			int64_t t = 0;
			if (ft && kp_time_parse(ft, &t) == 0 && t > last_fail)
				last_fail = t;
		} else if (!kp_obj_str(p, "metadata.deletionTimestamp")) {
			json_array_append(active, p);
			if (kp__pod_ready(p))
				ready++;
			if (on_failure) {
				size_t j;
				json_t *cs;
				json_array_foreach(kp_obj_get(p, "status.containerStatuses"), j, cs)
					restarts += json_integer_value(json_object_get(cs, "restartCount"));
			}
		}
	}
	json_t *st = json_object_get(job, "status");
	if (!json_is_object(st)) {
		st = json_object();
		json_object_set_new(job, "status", st);
	}
	bool suspended = kp_obj_bool(job, "spec.suspend", false);
	const char *fail_reason = NULL, *fail_msg = NULL;
	int64_t deadline = kp_obj_int(job, "spec.activeDeadlineSeconds", -1), start = 0;
	const char *startt = kp_obj_str(job, "status.startTime");
	if (startt)
		kp_time_parse(startt, &start);
	/* With OnFailure the kubelet restarts containers: those count as failures. */
	if (failed + restarts > backoff_limit) {
		fail_reason = "BackoffLimitExceeded";
		fail_msg = "Job has reached the specified backoff limit";
	} else if (deadline >= 0 && start && !suspended && start + deadline <= now) {
		fail_reason = "DeadlineExceeded";
		fail_msg = "Job was active longer than specified deadline";
	}
	bool complete = !fail_reason &&
			(completions >= 0 ? succeeded >= completions :
					    succeeded > 0 && json_array_size(active) == 0);
	if (fail_reason || complete) {
		delete_pods(c, job, active, json_array_size(active), key);
		json_array_clear(active);
		ready = 0;
		kp__set_condition(job, condition(fail_reason ? "Failed" : "Complete", "True",
						 fail_reason ? fail_reason : "CompletionsReached",
						 fail_reason ? fail_msg : "Reached expected number of succeeded pods",
						 ts));
		if (complete)
			json_object_set_new(st, "completionTime", json_string(ts));
		kp_ctl_event(c, job, fail_reason ? "Warning" : "Normal",
			     fail_reason ? fail_reason : "Completed", "%s",
			     fail_reason ? fail_msg : "Job completed");
		int64_t ttl = kp_obj_int(job, "spec.ttlSecondsAfterFinished", -1);
		if (ttl >= 0)
			ret = ttl * 1000 + 1;
	} else if (suspended) {
		delete_pods(c, job, active, json_array_size(active), key);
		json_array_clear(active);
		ready = 0;
		if (!cond_true(job, "Suspended")) {
			kp__set_condition(job, condition("Suspended", "True", "JobSuspended",
							 "Job suspended", ts));
			kp_ctl_event(c, job, "Normal", "Suspended", "Job suspended");
		}
		json_object_del(st, "startTime");
	} else if (kp_ctl_satisfied(c, key)) {
		if (cond_true(job, "Suspended")) {
			kp__set_condition(job, condition("Suspended", "False", "JobResumed",
							 "Job resumed", ts));
			kp_ctl_event(c, job, "Normal", "Resumed", "Job resumed");
		}
		if (!startt) {
			json_object_set_new(st, "startTime", json_string(ts));
			start = now;
		}
		int64_t want = parallelism;
		if (completions >= 0 && completions - succeeded < want)
			want = completions - succeeded;
		if (completions < 0 && succeeded > 0)
			want = 0;
		int64_t have = (int64_t)json_array_size(active);
		if (have > want) {
			kp__pods_sort_for_deletion(active);
			delete_pods(c, job, active, (size_t)(have - want), key);
		} else if (have < want) {
			/* Recreating after failures waits base * 2^(failures-1), as kube does. */
			int64_t wait_ms = 0;
			if (failed > 0 && last_fail) {
				/* Only failed pods delay recreation (restarts happen in place). */
				int64_t d = a->backoff_base_ms;
				for (int64_t f = 1; f < failed && d < a->backoff_max_ms; f++)
					d *= 2;
				if (d > a->backoff_max_ms)
					d = a->backoff_max_ms;
				wait_ms = last_fail * 1000 + d - now * 1000;
			}
			if (wait_ms > 0) {
				ret = wait_ms;
			} else {
				unsigned char *busy = NULL;
				if (indexed) {
					busy = calloc((size_t)completions + 1, 1);
					json_array_foreach(active, i, p) {
						int64_t ix = pod_index(p);
						if (busy && ix >= 0 && ix < completions)
							busy[ix] = 1;
					}
				}
				int64_t n = want - have, next = 0;
				kp_ctl_expect(c, key, (int)n, 0);
				for (int64_t made = 0; made < n; made++) {
					int64_t ix = -1;
					if (indexed) {
						while (next < completions && (done[next] || (busy && busy[next])))
							next++;
						if (next >= completions) {
							kp_ctl_observe(c, key, (int)(n - made), 0);
							break;
						}
						ix = next++;
					}
					json_t *pod = pod_for(job, ix), *out = NULL;
					char *err = NULL;
					int r = kp_ctl_create(c, K_POD, pod, &out, &err);
					json_decref(pod);
					if (r < 0) {
						kp_ctl_observe(c, key, (int)(n - made), 0);
						if (r != KP_EBUSY) {
							kp_ctl_event(c, job, "Warning", "FailedCreate",
								     "Error creating: %s",
								     err ? err : kp_strerror(r));
							rc = kp_error_set(errmsg, r, "creating a pod: %s",
									  err ? err : kp_strerror(r));
						}
						free(err);
						break;
					}
					kp_ctl_event(c, job, "Normal", "SuccessfulCreate",
						     "Created pod: %s", kp_obj_name(out));
					json_decref(out);
				}
				free(busy);
			}
		}
		if (deadline >= 0 && start && !ret)
			ret = (start + deadline - now) * 1000 + 1;
	}
	json_object_set_new(st, "active", json_integer((json_int_t)json_array_size(active)));
	json_object_set_new(st, "ready", json_integer(ready));
	json_object_set_new(st, "succeeded", json_integer(succeeded));
	json_object_set_new(st, "failed", json_integer(failed));
	if (indexed) {
		char buf[4096];
		index_ranges(done, completions, buf, sizeof(buf));
		if (*buf)
			json_object_set_new(st, "completedIndexes", json_string(buf));
	}
	/* Zero counts are omitted, as in Kubernetes' JSON. */
	static const char *const counts[] = { "active", "ready", "succeeded", "failed" };
	for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++)
		if (json_integer_value(json_object_get(st, counts[k])) == 0 &&
		    strcmp(counts[k], "ready"))
			json_object_del(st, counts[k]);
	if (!json_equal(st, kp_obj_get(cached = kp_ctl_get(c, K_JOB, ns, name), "status"))) {
		char *serr = NULL;
		int r = kp_ctl_update_status(c, K_JOB, job, NULL, rc ? &serr : errmsg);
		free(serr);
		if (r < 0 && r != KP_ENOENT && !rc)
			rc = r;
	}
	json_decref(cached);
out:
	free(done);
	json_decref(active);
	json_decref(pods);
	json_decref(job);
	return rc < 0 ? rc : ret;
}

static const struct kp_controller_ops ops = {
	KP_CONTROLLER_OPS,
	.kinds = kinds,
	.workers = 5,
	.init = init,
	.fini = fini,
	.on_change = on_change,
	.reconcile = reconcile,
};

KP_PLUGIN_DEFINE(job) = {
	KP_PLUGIN_HEADER(KP_PLUGIN_CONTROLLER),
	.name = "job",
	.version = "1.0",
	.description = "runs Jobs' pods to completion",
	.controller = &ops,
	.args = arg_spec,
	.args_size = sizeof(struct args),
};

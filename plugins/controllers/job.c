/*
 * job.c - the Job controller (kube-controller-manager's job controller,
 * counting from the Job's pods): runs up to `parallelism` pods until
 * `completions` succeed (NonIndexed, or one pod per index 0..completions-1
 * with completionMode Indexed; without completions, until one succeeds and
 * none is active), recreates failed pods after an exponential delay until
 * more than `backoffLimit` failures (container restarts count with
 * restartPolicy OnFailure), fails the Job after `activeDeadlineSeconds`,
 * applies `podFailurePolicy` rules to failed pods (FailJob, FailIndex,
 * Ignore, Count on exit codes or pod conditions), retries each index of an
 * Indexed Job up to `backoffLimitPerIndex` times (`maxFailedIndexes`),
 * replaces terminating pods at once or only once they are gone
 * (`podReplacementPolicy`), declares Indexed Jobs done early by their
 * `successPolicy`, honours `suspend`, writes the interim
 * FailureTarget/SuccessCriteriaMet conditions, then Failed/Complete once no
 * pod is left running, and deletes finished Jobs after
 * `ttlSecondsAfterFinished` (the TTL-after-finished controller's job).
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
#define A_FAILS "batch.kubernetes.io/job-index-failure-count"
#define A_IGNORED "batch.kubernetes.io/job-index-ignored-failure-count"
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

/* What an Indexed Job knows about one index. */
struct ixstate {
	unsigned char done;   /* a pod of the index succeeded */
	unsigned char failed; /* the index failed (backoffLimitPerIndex, FailIndex) */
	unsigned char busy;   /* a pod of the index runs (or terminates, policy Failed) */
	int32_t fails;        /* failures counted against backoffLimitPerIndex */
	int32_t ignored;      /* failures an Ignore rule matched */
	int64_t last;         /* when the latest failure of the index ended */
};

static json_t *pod_for(const json_t *job, int64_t index, const struct ixstate *ixs)
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
		/* kube carries an index's failure counts on its next pod. */
		if (ixs) {
			snprintf(idx, sizeof(idx), "%d", (int)ixs->fails);
			kp_obj_set_annotation(pod, A_FAILS, idx);
			if (ixs->ignored) {
				snprintf(idx, sizeof(idx), "%d", (int)ixs->ignored);
				kp_obj_set_annotation(pod, A_IGNORED, idx);
			}
		}
	}
	kp_obj_add_owner_ref(pod, job, true);
	return pod;
}

/*
 * Deletes the first n pods. key (may be NULL) raises deletion expectations:
 * only where a sync runs once expectations are met, since a pod deleted
 * twice from a stale cache (a deletion that is no error) shows one event.
 */
static void delete_pods(struct kp_ctl *c, const json_t *job, json_t *pods, size_t n,
			const char *key)
{
	if (key)
		kp_ctl_expect(c, key, 0, (int)n);
	for (size_t i = 0; i < n; i++) {
		json_t *p = json_array_get(pods, i);
		if (kp_ctl_delete(c, K_POD, kp_obj_namespace(p), kp_obj_name(p), kp_obj_uid(p),
				  KP_CTL_BACKGROUND, NULL) < 0) {
			if (key)
				kp_ctl_observe(c, key, 0, 1);
		} else {
			kp_ctl_event(c, job, "Normal", "SuccessfulDelete", "Deleted pod: %s",
				     kp_obj_name(p));
		}
	}
}

/* ---- podFailurePolicy (kube's matchPodFailurePolicy) ---- */

enum pfp_action { PFP_NONE, PFP_COUNT, PFP_IGNORE, PFP_FAILJOB, PFP_FAILINDEX };

/*
 * The first terminated container of statuses (borrowed) whose non-zero exit
 * code satisfies the onExitCodes requirement req, or NULL. Exit code 0 never
 * matches, whatever the operator.
 */
static const json_t *match_exit_codes(const json_t *statuses, const json_t *req)
{
	const char *cname = json_string_value(json_object_get(req, "containerName"));
	const char *op = json_string_value(json_object_get(req, "operator"));
	json_t *values = json_object_get(req, "values");
	if (!op || (strcmp(op, "In") && strcmp(op, "NotIn")))
		return NULL;
	bool in = !strcmp(op, "In");
	size_t i;
	json_t *cs;
	json_array_foreach(statuses, i, cs) {
		json_t *code = kp_obj_get(cs, "state.terminated.exitCode");
		if (!json_is_integer(code) || json_integer_value(code) == 0)
			continue;
		const char *n = json_string_value(json_object_get(cs, "name"));
		if (cname && (!n || strcmp(cname, n)))
			continue;
		bool listed = false;
		size_t j;
		json_t *v;
		json_array_foreach(values, j, v)
			listed |= json_is_integer(v) && json_integer_value(v) == json_integer_value(code);
		if (listed == in)
			return cs;
	}
	return NULL;
}

/*
 * The action of the first rule of policy (borrowed) that the failed pod
 * matches; for FailJob, msg gets kube's message. Rules with an action this
 * controller does not know are skipped, as the API asks of clients.
 */
static enum pfp_action match_policy(const json_t *policy, const json_t *pod, char *msg,
				    size_t len)
{
	size_t i;
	json_t *rule;
	json_array_foreach(json_object_get(policy, "rules"), i, rule) {
		const char *action = json_string_value(json_object_get(rule, "action"));
		enum pfp_action a;
		if (!action)
			continue;
		else if (!strcmp(action, "FailJob"))
			a = PFP_FAILJOB;
		else if (!strcmp(action, "FailIndex"))
			a = PFP_FAILINDEX;
		else if (!strcmp(action, "Ignore"))
			a = PFP_IGNORE;
		else if (!strcmp(action, "Count"))
			a = PFP_COUNT;
		else
			continue;
		json_t *oec = json_object_get(rule, "onExitCodes");
		json_t *opc = json_object_get(rule, "onPodConditions");
		if (json_is_object(oec)) {
			const json_t *cs = match_exit_codes(kp_obj_get(pod, "status.containerStatuses"), oec);
			if (!cs)
				cs = match_exit_codes(kp_obj_get(pod, "status.initContainerStatuses"), oec);
			if (!cs)
				continue;
			snprintf(msg, len,
				 "Container %s for pod %s/%s failed with exit code %lld matching %s rule at index %zu",
				 json_string_value(json_object_get(cs, "name")) ?: "",
				 kp_obj_namespace(pod), kp_obj_name(pod),
				 (long long)json_integer_value(kp_obj_get(cs, "state.terminated.exitCode")),
				 action, i);
			return a;
		}
		if (!json_is_array(opc))
			continue;
		size_t j, k;
		json_t *pc, *pat;
		json_array_foreach(kp_obj_get(pod, "status.conditions"), j, pc) {
			const char *t = json_string_value(json_object_get(pc, "type"));
			const char *s = json_string_value(json_object_get(pc, "status"));
			json_array_foreach(opc, k, pat) {
				const char *pt = json_string_value(json_object_get(pat, "type"));
				const char *ps = json_string_value(json_object_get(pat, "status"));
				if (!t || !s || !pt || strcmp(t, pt) || strcmp(s, ps ? ps : "True"))
					continue;
				snprintf(msg, len, "Pod %s/%s has condition %s matching %s rule at index %zu",
					 kp_obj_namespace(pod), kp_obj_name(pod), t, action, i);
				return a;
			}
		}
	}
	return PFP_NONE;
}

/*
 * Marks the indexes of a "0-2,4" list below n in want (n bytes, cleared
 * first); the number marked, 0 when the text is malformed (kube's
 * parseIndexesFromString then skips the rule).
 */
static int64_t parse_indexes(const char *s, int64_t n, unsigned char *want)
{
	memset(want, 0, (size_t)n);
	int64_t total = 0;
	while (s && *s) {
		char *end;
		long long a = strtoll(s, &end, 10), b = a;
		if (end == s || a < 0)
			return 0;
		if (*end == '-') {
			const char *t = end + 1;
			b = strtoll(t, &end, 10);
			if (end == t || b < a)
				return 0;
		}
		if (*end && *end != ',')
			return 0;
		for (long long i = a; i <= b && i < n; i++)
			if (!want[i]) {
				want[i] = 1;
				total++;
			}
		s = *end ? end + 1 : end;
	}
	return total;
}

/*
 * kube's matchSuccessPolicy for an Indexed Job: the first rule whose
 * succeededIndexes all succeeded (or at least succeededCount of them), or
 * with only succeededCount, that many indexes succeeded. Writes kube's
 * message into msg; false when no rule matches.
 */
static bool match_success_policy(const json_t *job, const struct ixstate *ixs, int64_t n,
				 int64_t succeeded, char *msg, size_t len)
{
	json_t *rules = kp_obj_get(job, "spec.successPolicy.rules");
	if (!json_array_size(rules) || !succeeded)
		return false;
	unsigned char *want = malloc((size_t)n + 1);
	if (!want)
		return false;
	bool met = false;
	size_t i;
	json_t *r;
	json_array_foreach(rules, i, r) {
		const char *si = json_string_value(json_object_get(r, "succeededIndexes"));
		json_t *cnt = json_object_get(r, "succeededCount");
		if (si) {
			int64_t need = parse_indexes(si, n, want), have = 0;
			if (!need)
				continue;
			for (int64_t k = 0; k < n; k++)
				have += want[k] && ixs[k].done;
			met = have == need || (json_is_integer(cnt) && have >= json_integer_value(cnt));
		} else {
			met = json_is_integer(cnt) && succeeded >= json_integer_value(cnt);
		}
		if (met) {
			snprintf(msg, len, "Matched rules at index %zu", i);
			break;
		}
	}
	free(want);
	return met;
}

/* When a finished pod ended: its containers' latest finishedAt, else 0. */
static int64_t finished_at(const json_t *pod)
{
	int64_t best = 0;
	size_t i;
	json_t *cs;
	json_array_foreach(kp_obj_get(pod, "status.containerStatuses"), i, cs) {
		const char *ft = kp_obj_str(cs, "state.terminated.finishedAt");
		int64_t t = 0;
		if (ft && kp_time_parse(ft, &t) == 0 && t > best)
			best = t;
	}
	return best;
}

/* Milliseconds until a pod may replace the n-th failure that ended at last. */
static int64_t backoff_wait(const struct args *a, int64_t n, int64_t last, int64_t now_ms)
{
	if (n <= 0 || !last)
		return 0;
	int64_t d = a->backoff_base_ms;
	for (int64_t f = 1; f < n && d < a->backoff_max_ms; f++)
		d *= 2;
	if (d > a->backoff_max_ms)
		d = a->backoff_max_ms;
	int64_t w = last * 1000 + d - now_ms;
	return w > 0 ? w : 0;
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
	json_t *pods = NULL, *active = json_array(), *extra = json_array();
	struct ixstate *ixs = NULL;

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
			if (rc == KP_ENOENT) /* gone already */
				rc = 0;
			else
				ret = (fin + ttl - now) * 1000;
		}
		goto out;
	}
	if (kp_obj_str(job, "metadata.deletionTimestamp"))
		goto out;
	/* spec.managedBy names another controller: the Job is its business. */
	const char *managed_by = kp_obj_str(job, "spec.managedBy");
	if (managed_by && strcmp(managed_by, "kubernetes.io/job-controller"))
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
	json_t *pfp = kp_obj_get(job, "spec.podFailurePolicy");
	if (!json_is_object(pfp))
		pfp = NULL;
	json_t *v = kp_obj_get(job, "spec.backoffLimitPerIndex");
	int64_t per_index = indexed && json_is_integer(v) ? json_integer_value(v) : -1;
	v = kp_obj_get(job, "spec.maxFailedIndexes");
	int64_t max_failed_ix = per_index >= 0 && json_is_integer(v) ? json_integer_value(v) : -1;
	/* kube's default: Failed with a podFailurePolicy, else TerminatingOrFailed. */
	const char *rpol = kp_obj_str(job, "spec.podReplacementPolicy");
	bool only_failed = rpol ? !strcmp(rpol, "Failed") : pfp != NULL;
	if (indexed && (completions < 0 || completions > MAX_INDEXES)) {
		kp_ctl_event(c, job, "Warning", "InvalidCompletions",
			     "Indexed jobs need spec.completions in 0..%d", MAX_INDEXES);
		goto out;
	}
	int64_t succeeded = 0, failed = 0, restarts = 0, ready = 0, terminating = 0;
	int64_t last_fail = 0, last_success = 0, failjob_at = 0;
	char failjob_msg[1024] = "";
	if (indexed && !(ixs = calloc((size_t)completions + 1, sizeof(*ixs)))) {
		rc = kp_error_set(errmsg, KP_ENOMEM, "out of memory");
		goto out;
	}
	/* Failed pods with their end times, to count those after the last success. */
	json_t *fail_times = json_array();
	size_t i;
	json_t *p;
	json_array_foreach(pods, i, p) {
		if (!kp_obj_controller_ref(p) ||
		    strcmp(json_string_value(json_object_get(kp_obj_controller_ref(p), "uid")),
			   kp_obj_uid(job)))
			continue;
		const char *ph = phase(p);
		int64_t ix = indexed ? pod_index(p) : -1;
		if (ix >= completions)
			ix = -1;
		bool deleting = kp_obj_str(p, "metadata.deletionTimestamp") != NULL;
		bool terminal = !strcmp(ph, "Succeeded") || !strcmp(ph, "Failed");
		if (deleting && !terminal) {
			terminating++;
			if (ix >= 0 && only_failed)
				ixs[ix].busy = 1;
		}
		if (!strcmp(ph, "Succeeded")) {
			if (!indexed)
				succeeded++;
			else if (ix >= 0 && !ixs[ix].done) {
				ixs[ix].done = 1;
				succeeded++;
			}
			int64_t t = finished_at(p);
			if (t > last_success)
				last_success = t;
		} else if (!strcmp(ph, "Failed") || (deleting && !only_failed)) {
			/* kube counts a pod deleted before it ended as failed unless
			 * only Failed pods are replaced. */
			char msg[1024];
			enum pfp_action act = pfp && !deleting ? match_policy(pfp, p, msg, sizeof(msg)) :
								 PFP_NONE;
			int64_t t = finished_at(p);
			if (deleting && !terminal)
				kp_time_parse(kp_obj_str(p, "metadata.deletionTimestamp"), &t);
			json_array_append_new(fail_times, json_integer(t));
			if (t > last_fail)
				last_fail = t;
			if (ix >= 0 && t > ixs[ix].last)
				ixs[ix].last = t;
			if (act == PFP_IGNORE) {
				if (ix >= 0)
					ixs[ix].ignored++;
				continue;
			}
			failed++;
			if (act == PFP_FAILJOB && (!*failjob_msg || t < failjob_at)) {
				strcpy(failjob_msg, msg);
				failjob_at = t;
			}
			if (ix >= 0) {
				ixs[ix].fails++;
				if (act == PFP_FAILINDEX && per_index >= 0)
					ixs[ix].failed = 1;
			}
		} else if (!deleting) {
			json_array_append(active, p);
			if (ix >= 0)
				ixs[ix].busy = 1;
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
	/* Failures since the last success set the delay, as kube's backoff record does. */
	int64_t recent_fails = 0;
	json_array_foreach(fail_times, i, p)
		if (json_integer_value(p) >= last_success)
			recent_fails++;
	json_decref(fail_times);
	/*
	 * Indexed: active pods of an index that succeeded or failed, of no
	 * valid index, or a second one of an index go (kube's
	 * appendDuplicatedIndexPodsForRemoval keeps the best ranked).
	 */
	if (indexed) {
		json_t *byix = json_object();
		json_array_foreach(active, i, p) {
			int64_t ix = pod_index(p);
			if (ix < 0 || ix >= completions || ixs[ix].done || ixs[ix].failed) {
				json_array_append(extra, p);
				continue;
			}
			char k[32];
			snprintf(k, sizeof(k), "%lld", (long long)ix);
			json_t *arr = json_object_get(byix, k);
			if (!arr) {
				arr = json_array();
				json_object_set_new(byix, k, arr);
			}
			json_array_append(arr, p);
		}
		const char *k;
		json_t *arr;
		json_object_foreach(byix, k, arr) {
			if (json_array_size(arr) < 2)
				continue;
			kp__pods_sort_for_deletion(arr);
			for (size_t j = 0; j + 1 < json_array_size(arr); j++)
				json_array_append(extra, json_array_get(arr, j));
		}
		json_decref(byix);
	}
	int64_t failed_ix = 0;
	if (per_index >= 0)
		for (int64_t k = 0; k < completions; k++) {
			if (!ixs[k].done && ixs[k].fails > per_index)
				ixs[k].failed = 1;
			if (ixs[k].done)
				ixs[k].failed = 0;
			failed_ix += ixs[k].failed;
		}
	json_t *st = json_object_get(job, "status");
	if (!json_is_object(st)) {
		st = json_object();
		json_object_set_new(job, "status", st);
	}
	bool suspended = kp_obj_bool(job, "spec.suspend", false);
	int64_t deadline = kp_obj_int(job, "spec.activeDeadlineSeconds", -1), start = 0;
	const char *startt = kp_obj_str(job, "status.startTime");
	if (startt)
		kp_time_parse(startt, &start);

	/*
	 * The Job's fate, in kube's order: a FailureTarget or SuccessCriteriaMet
	 * written before stands; then a FailJob rule, the backoff limit (with
	 * OnFailure the kubelet's restarts count), the deadline, the failed
	 * indexes; else success once enough pods succeeded.
	 */
	const char *fin_type = NULL, *fin_reason = NULL, *fin_msg = NULL;
	char sp_msg[64];
	json_t *interim = kp_obj_condition(job, "FailureTarget");
	if (interim && cond_true(job, "FailureTarget"))
		fin_type = "FailureTarget";
	else if ((interim = kp_obj_condition(job, "SuccessCriteriaMet")) &&
		 cond_true(job, "SuccessCriteriaMet"))
		fin_type = "SuccessCriteriaMet";
	if (fin_type) {
		fin_reason = json_string_value(json_object_get(interim, "reason")) ?: "";
		fin_msg = json_string_value(json_object_get(interim, "message")) ?: "";
	} else if (*failjob_msg) {
		fin_type = "FailureTarget";
		fin_reason = "PodFailurePolicy";
		fin_msg = failjob_msg;
	} else if (failed > backoff_limit ||
		   (on_failure && (backoff_limit ? restarts >= backoff_limit : restarts > 0))) {
		fin_type = "FailureTarget";
		fin_reason = "BackoffLimitExceeded";
		fin_msg = "Job has reached the specified backoff limit";
	} else if (deadline >= 0 && start && !suspended && start + deadline <= now) {
		fin_type = "FailureTarget";
		fin_reason = "DeadlineExceeded";
		fin_msg = "Job was active longer than specified deadline";
	} else if (max_failed_ix >= 0 && failed_ix > max_failed_ix) {
		fin_type = "FailureTarget";
		fin_reason = "MaxFailedIndexesExceeded";
		fin_msg = "Job has exceeded the specified maximal number of failed indexes";
	} else if (failed_ix > 0 && failed_ix + succeeded >= completions) {
		fin_type = "FailureTarget";
		fin_reason = "FailedIndexes";
		fin_msg = "Job has failed indexes";
	} else if (indexed && match_success_policy(job, ixs, completions, succeeded, sp_msg,
						   sizeof(sp_msg))) {
		fin_type = "SuccessCriteriaMet";
		fin_reason = "SuccessPolicy";
		fin_msg = sp_msg;
	} else if (completions >= 0 ? succeeded >= completions :
				      succeeded > 0 && json_array_size(active) == 0) {
		fin_type = "SuccessCriteriaMet";
		fin_reason = "CompletionsReached";
		fin_msg = "Reached expected number of succeeded pods";
	}
	if (fin_type) {
		bool fail = !strcmp(fin_type, "FailureTarget");
		size_t running = json_array_size(active);
		if (!cond_true(job, fin_type))
			kp__set_condition(job, condition(fin_type, "True", fin_reason, fin_msg, ts));
		delete_pods(c, job, active, running, NULL);
		json_array_clear(active);
		ready = 0;
		/* The terminal condition waits until no pod of the Job runs any more
		 * (in the cache: their deletions bring the Job back). */
		if (!running && !terminating && kp_ctl_satisfied(c, key)) {
			kp__set_condition(job, condition(fail ? "Failed" : "Complete", "True",
							 fin_reason, fin_msg, ts));
			if (!fail)
				json_object_set_new(st, "completionTime", json_string(ts));
			kp_ctl_event(c, job, fail ? "Warning" : "Normal",
				     fail ? fin_reason : "Completed", "%s",
				     fail ? fin_msg : "Job completed");
			int64_t ttl = kp_obj_int(job, "spec.ttlSecondsAfterFinished", -1);
			if (ttl >= 0)
				ret = ttl * 1000 + 1;
		} else if (!running && !terminating) {
			/* Creations in flight: look again once they show. */
			ret = 100;
		}
	} else if (suspended) {
		delete_pods(c, job, active, json_array_size(active), NULL);
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
		int64_t left = completions >= 0 ? completions - succeeded - failed_ix : want;
		if (left < want)
			want = left;
		if (completions < 0 && succeeded > 0)
			want = 0;
		if (want < 0)
			want = 0;
		/* With podReplacementPolicy Failed a terminating pod still holds its place. */
		if (json_array_size(extra)) {
			delete_pods(c, job, extra, json_array_size(extra), key);
			json_t *keep = json_array();
			json_array_foreach(active, i, p) {
				bool gone = false;
				size_t j;
				json_t *q;
				json_array_foreach(extra, j, q)
					gone |= q == p;
				if (!gone)
					json_array_append(keep, p);
				else if (kp__pod_ready(p))
					ready--;
			}
			json_decref(active);
			active = keep;
		}
		int64_t have = (int64_t)json_array_size(active) + (only_failed ? terminating : 0);
		int64_t now_ms = now * 1000;
		if (have > want) {
			int64_t n = have - want;
			if (n > (int64_t)json_array_size(active))
				n = (int64_t)json_array_size(active);
			kp__pods_sort_for_deletion(active);
			delete_pods(c, job, active, (size_t)n, key);
		} else if (have < want) {
			/* Recreating after failures waits base * 2^(failures-1), as kube
			 * does: per index with backoffLimitPerIndex, else for the Job. */
			int64_t wait_ms = per_index >= 0 ? 0 :
					  backoff_wait(a, recent_fails, last_fail, now_ms);
			if (wait_ms > 0) {
				ret = wait_ms;
			} else {
				int64_t n = want - have, next = 0, made = 0;
				kp_ctl_expect(c, key, (int)n, 0);
				for (; made < n; made++) {
					int64_t ix = -1;
					if (indexed) {
						while (next < completions) {
							struct ixstate *s = &ixs[next];
							int64_t w = 0;
							if (!s->done && !s->failed && !s->busy && per_index >= 0)
								w = backoff_wait(a, s->fails + s->ignored, s->last,
										 now_ms);
							if (!s->done && !s->failed && !s->busy && !w)
								break;
							if (w > 0 && (!ret || w < ret))
								ret = w;
							next++;
						}
						if (next >= completions)
							break;
						ix = next++;
					}
					json_t *pod = pod_for(job, ix, per_index >= 0 ? &ixs[ix] : NULL);
					json_t *out = NULL;
					char *err = NULL;
					int r = kp_ctl_create(c, K_POD, pod, &out, &err);
					json_decref(pod);
					if (r < 0) {
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
				if (made < n)
					kp_ctl_observe(c, key, (int)(n - made), 0);
			}
		}
		if (deadline >= 0 && start) {
			int64_t d = (start + deadline - now) * 1000 + 1;
			if (!ret || d < ret)
				ret = d;
		}
	}
	json_object_set_new(st, "active", json_integer((json_int_t)json_array_size(active)));
	json_object_set_new(st, "ready", json_integer(ready));
	json_object_set_new(st, "terminating", json_integer(terminating));
	json_object_set_new(st, "succeeded", json_integer(succeeded));
	json_object_set_new(st, "failed", json_integer(failed));
	if (indexed) {
		char *buf = malloc(65536);
		unsigned char *bits = malloc((size_t)completions + 1);
		if (!buf || !bits) {
			free(buf);
			free(bits);
			rc = kp_error_set(errmsg, KP_ENOMEM, "out of memory");
			goto out;
		}
		for (int64_t k = 0; k < completions; k++)
			bits[k] = ixs[k].done;
		index_ranges(bits, completions, buf, 65536);
		if (*buf)
			json_object_set_new(st, "completedIndexes", json_string(buf));
		if (per_index >= 0) {
			for (int64_t k = 0; k < completions; k++)
				bits[k] = ixs[k].failed;
			index_ranges(bits, completions, buf, 65536);
			json_object_set_new(st, "failedIndexes", json_string(buf));
		}
		free(bits);
		free(buf);
	}
	/* Zero counts are omitted, as in Kubernetes' JSON (ready and terminating
	 * are pointers there, so 0 shows). */
	static const char *const counts[] = { "active", "succeeded", "failed" };
	for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++)
		if (json_integer_value(json_object_get(st, counts[k])) == 0)
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
	free(ixs);
	json_decref(extra);
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

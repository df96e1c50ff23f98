/*
 * cronjob.c - kube-controller-manager's CronJob controller: creates a Job
 * (<cronjob>-<scheduled unix minutes>) from spec.jobTemplate at each
 * scheduled time, in UTC or spec.timeZone (from the tz database); when several times were missed only the latest runs (more
 * than 100 missed is reported); startingDeadlineSeconds skips a run that is
 * too late; concurrencyPolicy Allow, Forbid (skip while one is active) or
 * Replace (delete the active ones first); suspend; status.active,
 * lastScheduleTime, lastSuccessfulTime; and keeps
 * successfulJobsHistoryLimit / failedJobsHistoryLimit finished Jobs.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kplane/controller.h>

#include "plugins/controllers/common.h"
#include "plugins/controllers/cron.h"

enum { K_CJ, K_JOB };

static const struct kp_ctl_kind kinds[] = {
	{ "batch", "v1", "CronJob", "cronjobs" },
	{ "batch", "v1", "Job", "jobs" },
	{ NULL, NULL, NULL, NULL },
};

#define A_SCHEDULED "batch.kubernetes.io/cronjob-scheduled-timestamp"
#define MISSED_REPORT 100

static void on_change(struct kp_ctl *c, void *state, unsigned kind, int change,
		      const json_t *old, const json_t *obj)
{
	(void)state;
	(void)change;
	(void)old;
	if (kind == K_CJ) {
		kp__enqueue_obj(c, obj);
		return;
	}
	kp__enqueue_owner(c, obj, "CronJob");
}

static const char *finished(const json_t *job)
{
	json_t *c = kp_obj_condition(job, "Complete");
	const char *s = c ? json_string_value(json_object_get(c, "status")) : NULL;
	if (s && !strcmp(s, "True"))
		return "Complete";
	c = kp_obj_condition(job, "Failed");
	s = c ? json_string_value(json_object_get(c, "status")) : NULL;
	if (s && !strcmp(s, "True"))
		return "Failed";
	return NULL;
}

static int by_start(const void *a, const void *b)
{
	const char *x = kp_obj_str(*(json_t *const *)a, "metadata.creationTimestamp");
	const char *y = kp_obj_str(*(json_t *const *)b, "metadata.creationTimestamp");
	int r = strcmp(x ? x : "", y ? y : "");
	return r ? r : strcmp(kp_obj_name(*(json_t *const *)a), kp_obj_name(*(json_t *const *)b));
}

/* Deletes the oldest of jobs[0..n) beyond limit. */
static void trim(struct kp_ctl *c, const json_t *cj, json_t **jobs, size_t n, int64_t limit)
{
	if (limit < 0 || (int64_t)n <= limit)
		return;
	qsort(jobs, n, sizeof(*jobs), by_start);
	for (size_t i = 0; i < n - (size_t)limit; i++) {
		if (kp_ctl_delete(c, K_JOB, kp_obj_namespace(jobs[i]), kp_obj_name(jobs[i]),
				  kp_obj_uid(jobs[i]), KP_CTL_BACKGROUND, NULL) == 0)
			kp_ctl_event(c, cj, "Normal", "SuccessfulDelete", "Deleted job %s",
				     kp_obj_name(jobs[i]));
	}
}

static json_t *job_ref(const json_t *job)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s?}", "apiVersion", "batch/v1", "kind", "Job",
			 "namespace", kp_obj_namespace(job), "name", kp_obj_name(job), "uid",
			 kp_obj_uid(job));
}

static int64_t reconcile(struct kp_ctl *c, void *state, const char *key, char **errmsg)
{
	(void)state;
	char ns[256], name[256];
	if (!kp__split_key(key, ns, name, sizeof(ns)))
		return 0;
	json_t *cj = kp_ctl_get(c, K_CJ, ns, name);
	if (!cj)
		return 0;
	int64_t now = kp_time_now(), ret = 0;
	int rc = 0;
	char ts[KP_TIME_BUFSZ];
	json_t *jobs = kp_ctl_list_owned(c, K_JOB, ns, kp_obj_uid(cj));
	size_t nj = json_array_size(jobs);
	json_t **ok = calloc(nj + 1, sizeof(*ok)), **bad = calloc(nj + 1, sizeof(*bad));
	size_t nok = 0, nbad = 0;
	json_t *active = json_array();
	int64_t last_success = 0;
	size_t i;
	json_t *j;
	json_array_foreach(jobs, i, j) {
		json_t *ref = kp_obj_controller_ref(j);
		if (!ref || strcmp(json_string_value(json_object_get(ref, "uid")), kp_obj_uid(cj)) ||
		    kp_obj_str(j, "metadata.deletionTimestamp"))
			continue;
		const char *f = finished(j);
		if (!f) {
			json_array_append(active, j);
		} else if (!strcmp(f, "Complete")) {
			if (ok)
				ok[nok++] = j;
			int64_t t = 0;
			const char *ct = kp_obj_str(j, "status.completionTime");
			if (ct && kp_time_parse(ct, &t) == 0 && t > last_success)
				last_success = t;
		} else if (bad) {
			bad[nbad++] = j;
		}
	}
	if (ok && bad) {
		trim(c, cj, ok, nok, kp_obj_int(cj, "spec.successfulJobsHistoryLimit", 3));
		trim(c, cj, bad, nbad, kp_obj_int(cj, "spec.failedJobsHistoryLimit", 1));
	}
	free(ok);
	free(bad);

	json_t *copy = json_deep_copy(cj);
	json_t *st = json_object_get(copy, "status");
	if (!json_is_object(st)) {
		st = json_object();
		json_object_set_new(copy, "status", st);
	}
	if (last_success)
		json_object_set_new(st, "lastSuccessfulTime",
				    json_string(kp_time_format(last_success, ts)));

	struct kp__cron sched;
	struct kp__tz zone = { 0 }, *tzp = NULL;
	char *perr = NULL;
	const char *tz = kp_obj_str(cj, "spec.timeZone");
	if (kp__cron_parse(kp_obj_str(cj, "spec.schedule"), &sched, &perr) < 0) {
		kp_ctl_event(c, cj, "Warning", "InvalidSchedule", "invalid schedule: %s: %s",
			     kp_obj_str(cj, "spec.schedule") ? kp_obj_str(cj, "spec.schedule") : "",
			     perr ? perr : "");
		free(perr);
		goto status;
	}
	if (tz) {
		if (kp__tz_load(tz, &zone, &perr) < 0) {
			kp_ctl_event(c, cj, "Warning", "UnknownTimeZone", "invalid timeZone: \"%s\": %s",
				     tz, perr ? perr : "");
			free(perr);
			goto status;
		}
		tzp = &zone;
	}
	if (kp_obj_bool(cj, "spec.suspend", false))
		goto status;
	/* The latest scheduled time in (earliest, now]. */
	int64_t earliest = 0;
	const char *ls = kp_obj_str(cj, "status.lastScheduleTime");
	if (!ls || kp_time_parse(ls, &earliest) < 0) {
		const char *ct = kp_obj_str(cj, "metadata.creationTimestamp");
		if (!ct || kp_time_parse(ct, &earliest) < 0)
			earliest = now;
	}
	int64_t deadline = kp_obj_int(cj, "spec.startingDeadlineSeconds", -1);
	if (deadline >= 0 && earliest < now - deadline)
		earliest = now - deadline;
	/* A long outage: do not walk years of minutes. */
	if (earliest < now - 7 * 86400)
		earliest = now - 7 * 86400;
	int64_t t = earliest, latest = 0, missed = 0;
	for (;;) {
		int64_t n = kp__cron_next_tz(&sched, t, tzp);
		if (!n || n > now)
			break;
		latest = n;
		missed++;
		t = n;
	}
	int64_t next = kp__cron_next_tz(&sched, now, tzp);
	if (next)
		ret = (next - now) * 1000 + 100;
	if (!latest)
		goto status;
	if (missed > MISSED_REPORT)
		kp_ctl_event(c, cj, "Warning", "TooManyMissedTimes",
			     "too many missed start times: %lld. Set or decrease "
			     ".spec.startingDeadlineSeconds or check clock skew",
			     (long long)missed);
	if (deadline >= 0 && latest + deadline < now) {
		kp_ctl_event(c, cj, "Warning", "MissSchedule", "Missed scheduled time to start a job: %s",
			     kp_time_format(latest, ts));
		goto status;
	}
	const char *policy = kp_obj_str(cj, "spec.concurrencyPolicy");
	if (policy && !strcmp(policy, "Forbid") && json_array_size(active)) {
		/* kube leaves lastScheduleTime alone and tries again at the next time. */
		goto status;
	}
	if (policy && !strcmp(policy, "Replace")) {
		json_array_foreach(active, i, j) {
			if (kp_ctl_delete(c, K_JOB, ns, kp_obj_name(j), kp_obj_uid(j), KP_CTL_BACKGROUND,
					  NULL) == 0)
				kp_ctl_event(c, cj, "Normal", "SuccessfulDelete", "Deleted job %s",
					     kp_obj_name(j));
		}
		json_array_clear(active);
	}
	char jname[300];
	snprintf(jname, sizeof(jname), "%.*s-%lld", 52, name, (long long)(latest / 60));
	json_t *tmpl = kp_obj_get(cj, "spec.jobTemplate");
	json_t *jspec = kp_obj_get(tmpl, "spec");
	json_t *job = json_pack("{s:{s:s, s:s}, s:o}", "metadata", "name", jname, "namespace", ns,
				"spec", jspec ? json_deep_copy(jspec) : json_object());
	json_t *v;
	if ((v = kp_obj_get(tmpl, "metadata.labels")))
		kp_obj_set(job, "metadata.labels", json_deep_copy(v));
	if ((v = kp_obj_get(tmpl, "metadata.annotations")))
		kp_obj_set(job, "metadata.annotations", json_deep_copy(v));
	char sts[64];
	int32_t off = kp__tz_offset(tzp, latest);
	time_t wall = (time_t)(latest + off);
	struct tm tm;
	gmtime_r(&wall, &tm);
	if (off)
		snprintf(sts, sizeof(sts), "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, off < 0 ? '-' : '+', abs(off) / 3600, abs(off) % 3600 / 60);
	else
		kp_time_format(latest, sts);
	kp_obj_set_annotation(job, A_SCHEDULED, sts);
	kp_obj_add_owner_ref(job, cj, true);
	json_t *made = NULL;
	char *err = NULL;
	rc = kp_ctl_create(c, K_JOB, job, &made, &err);
	json_decref(job);
	if (rc == KP_EEXIST) {
		/* Made by an earlier sync whose status write did not land. */
		rc = 0;
		made = kp_ctl_get_live(c, K_JOB, ns, jname);
	} else if (rc < 0) {
		kp_ctl_event(c, cj, "Warning", "FailedCreate", "Error creating job: %s",
			     err ? err : kp_strerror(rc));
		rc = kp_error_set(errmsg, rc, "creating job %s: %s", jname, err ? err : kp_strerror(rc));
	} else {
		kp_ctl_event(c, cj, "Normal", "SuccessfulCreate", "Created job %s", jname);
	}
	free(err);
	if (made && !finished(made)) {
		bool have = false;
		json_array_foreach(active, i, j)
			have |= !strcmp(kp_obj_name(j), jname);
		if (!have)
			json_array_append(active, made);
	}
	json_decref(made);
	if (rc == 0)
		json_object_set_new(st, "lastScheduleTime", json_string(kp_time_format(latest, ts)));
status:;
	kp__tz_release(&zone);
	json_t *refs = json_array();
	json_array_foreach(active, i, j)
		json_array_append_new(refs, job_ref(j));
	if (json_array_size(refs))
		json_object_set_new(st, "active", refs);
	else {
		json_object_del(st, "active");
		json_decref(refs);
	}
	if (!json_equal(st, kp_obj_get(cj, "status"))) {
		char *serr = NULL;
		int r = kp_ctl_update_status(c, K_CJ, copy, NULL, rc ? &serr : errmsg);
		free(serr);
		if (r < 0 && r != KP_ENOENT && !rc)
			rc = r;
	}
	json_decref(copy);
	json_decref(active);
	json_decref(jobs);
	json_decref(cj);
	return rc < 0 ? rc : ret;
}

static const struct kp_controller_ops ops = {
	KP_CONTROLLER_OPS,
	.kinds = kinds,
	.workers = 2,
	.on_change = on_change,
	.reconcile = reconcile,
};

KP_PLUGIN_DEFINE(cronjob) = {
	KP_PLUGIN_HEADER(KP_PLUGIN_CONTROLLER),
	.name = "cronjob",
	.version = "1.0",
	.description = "creates Jobs on a cron schedule",
	.controller = &ops,
};

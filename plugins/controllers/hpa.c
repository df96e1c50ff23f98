/*
 * hpa.c - the HorizontalPodAutoscaler controller (autoscaling/v2, Resource
 * metrics): every syncPeriodSeconds it measures the target's pods, computes
 * kube's desired count — ceil(current * usage / target), unchanged within
 * the 10% tolerance, the largest over the metrics — applies `behavior`
 * (stabilization windows; scale-up/down policies by Pods or Percent per
 * period with selectPolicy Max/Min/Disabled; kube's defaults), clamps to
 * minReplicas..maxReplicas, and writes spec.replicas of the Deployment,
 * ReplicaSet or StatefulSet. Conditions AbleToScale, ScalingActive,
 * ScalingLimited; status currentMetrics, currentReplicas, desiredReplicas,
 * lastScaleTime.
 *
 * Metrics: metrics.k8s.io/v1beta1 PodMetrics (what metrics-server serves;
 * node-sim writes them for simulated pods), read from this controller's
 * cache of that kind: a pod's usage is the sum over its containers. Pods
 * are grouped as kube's replica calculator does (ignored, unready, missing
 * metrics, measured) and missing and unready pods weigh on the result as
 * they do there; see reconcile().
 */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/controller.h>
#include <kplane/quantity.h>
#include <kplane/selector.h>

#include "plugins/controllers/common.h"
#include "plugins/controllers/workload.h"

enum { K_HPA, K_POD, K_DEPLOY, K_RS, K_STS, K_PM };

static const struct kp_ctl_kind kinds[] = {
	{ "autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers" },
	{ "", "v1", "Pod", "pods" },
	{ "apps", "v1", "Deployment", "deployments" },
	{ "apps", "v1", "ReplicaSet", "replicasets" },
	{ "apps", "v1", "StatefulSet", "statefulsets" },
	{ "metrics.k8s.io", "v1beta1", "PodMetrics", "pods" },
	{ NULL, NULL, NULL, NULL },
};

struct args {
	int64_t sync_period;
	double tolerance;
};

static const struct kp_arg_spec arg_spec[] = {
	{ "syncPeriodSeconds", KP_ARG_INT, offsetof(struct args, sync_period), "15", 1, 3600 },
	{ "tolerance", KP_ARG_FLOAT, offsetof(struct args, tolerance), "0.1", 0, 0 },
	{ NULL, 0, 0, NULL, 0, 0 },
};

#define MAX_EVENTS 64

/* What the controller remembers per HPA: recommendations and scale events. */
struct hist {
	struct hist *next;
	char *key;
	int64_t rec_t[MAX_EVENTS], rec_n[MAX_EVENTS]; /* recommendations (time, replicas) */
	int nrec;
	int64_t ev_t[MAX_EVENTS], ev_d[MAX_EVENTS];   /* scale events (time, +/- replicas) */
	int nev;
};

struct state {
	struct args a;
	pthread_mutex_t lock;
	struct hist *h;
};

static int init(struct kp_ctl *c, const void *args, void **st, char **errmsg)
{
	(void)c;
	struct state *s = calloc(1, sizeof(*s));
	if (!s)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	s->a = *(const struct args *)args;
	if (s->a.tolerance < 0 || s->a.tolerance >= 1) {
		free(s);
		return kp_error_set(errmsg, KP_EINVAL, "controllers.hpa.args.tolerance: must be in [0, 1)");
	}
	pthread_mutex_init(&s->lock, NULL);
	*st = s;
	return 0;
}

static void fini(void *st)
{
	struct state *s = st;
	for (struct hist *h = s->h, *n; h; h = n) {
		n = h->next;
		free(h->key);
		free(h);
	}
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static void on_change(struct kp_ctl *c, void *state, unsigned kind, int change,
		      const json_t *old, const json_t *obj)
{
	(void)state;
	(void)old;
	if (kind != K_HPA || change == KP_CTL_DELETED)
		return;
	char k[600];
	snprintf(k, sizeof(k), "%s/%s", kp_obj_namespace(obj), kp_obj_name(obj));
	kp_ctl_enqueue(c, k, 0);
}

static int64_t qty_milli(const char *s)
{
	struct kp_quantity q;
	if (!s || kp_quantity_parse(s, &q, NULL) < 0)
		return -1;
	return kp_quantity_milli_sat(&q);
}

/* Sum of the containers' requests of resource (milli-units); -1 if one lacks it. */
static int64_t pod_request(const json_t *pod, const char *res)
{
	int64_t sum = 0;
	size_t i;
	json_t *ct;
	json_array_foreach(kp_obj_get(pod, "spec.containers"), i, ct) {
		json_t *r = kp_obj_get(ct, "resources.requests");
		int64_t v = qty_milli(json_string_value(json_object_get(r, res)));
		if (v < 0)
			return -1;
		sum += v;
	}
	return sum;
}

/*
 * The pod's usage of res (milli-units) from its PodMetrics: the sum over
 * the containers; -1 when it has no metrics or a container lacks res.
 */
static int64_t pod_usage(struct kp_ctl *c, const json_t *pod, const char *res)
{
	json_t *pm = kp_ctl_get(c, K_PM, kp_obj_namespace(pod), kp_obj_name(pod));
	json_t *cts = pm ? json_object_get(pm, "containers") : NULL;
	int64_t sum = json_array_size(cts) ? 0 : -1;
	size_t i;
	json_t *ct;
	json_array_foreach(cts, i, ct) {
		int64_t v = qty_milli(json_string_value(kp_obj_getv(ct, "usage", res, NULL)));
		if (v < 0) {
			sum = -1;
			break;
		}
		sum += v;
	}
	json_decref(pm);
	return sum;
}

static struct hist *hist_for(struct state *s, const char *key)
{
	for (struct hist *h = s->h; h; h = h->next)
		if (!strcmp(h->key, key))
			return h;
	struct hist *h = calloc(1, sizeof(*h));
	if (!h || !(h->key = strdup(key))) {
		free(h);
		return NULL;
	}
	h->next = s->h;
	s->h = h;
	return h;
}

static void push(int64_t *t, int64_t *v, int *n, int64_t tt, int64_t vv)
{
	if (*n == MAX_EVENTS) {
		memmove(t, t + 1, (MAX_EVENTS - 1) * sizeof(*t));
		memmove(v, v + 1, (MAX_EVENTS - 1) * sizeof(*v));
		(*n)--;
	}
	t[*n] = tt;
	v[*n] = vv;
	(*n)++;
}

/*
 * kube's behavior: the most restrictive change its policies allow within
 * their periods, given the scale events already made (calculateScaleUpLimit
 * WithScalingRules / ...ScaleDown...). up: the largest allowed count;
 * down: the smallest.
 */
static int64_t policy_limit(const json_t *rules, bool up, int64_t cur, const struct hist *h,
			    int64_t now)
{
	const char *select = json_string_value(json_object_get(rules, "selectPolicy"));
	if (select && !strcmp(select, "Disabled"))
		return cur;
	bool use_min = select && !strcmp(select, "Min");
	json_t *pols = json_object_get(rules, "policies");
	int64_t best = -1;
	size_t i;
	json_t *p;
	json_array_foreach(pols, i, p) {
		const char *type = json_string_value(json_object_get(p, "type"));
		int64_t value = json_integer_value(json_object_get(p, "value"));
		int64_t period = json_integer_value(json_object_get(p, "periodSeconds"));
		/* The replicas at the start of the period: undo the changes made in it. */
		int64_t changed = 0;
		for (int e = 0; h && e < h->nev; e++)
			if (h->ev_t[e] > now - period && ((h->ev_d[e] > 0) == up))
				changed += h->ev_d[e];
		int64_t base = cur - changed, lim;
		if (type && !strcmp(type, "Pods"))
			lim = up ? base + value : base - value;
		else
			lim = up ? (int64_t)ceil((double)base * (1.0 + value / 100.0)) :
				   (int64_t)ceil((double)base * (1.0 - value / 100.0));
		if (best < 0 || (up != use_min ? lim > best : lim < best))
			best = lim;
	}
	if (best < 0)
		return up ? INT64_MAX / 4 : 0;
	return best;
}

/* The user's rules (borrowed, may be NULL) completed from kube's defaults; new reference. */
static json_t *with_defaults(const json_t *given, const json_t *def)
{
	json_t *r = given ? json_deep_copy(given) : json_object();
	if (!json_object_get(r, "policies"))
		json_object_set(r, "policies", json_object_get(def, "policies"));
	if (!json_object_get(r, "selectPolicy"))
		json_object_set(r, "selectPolicy", json_object_get(def, "selectPolicy"));
	return r;
}

static json_t *cond(const char *type, const char *status, const char *reason, const char *msg,
		    const char *ts, const json_t *hpa)
{
	json_t *prev = kp_obj_condition(hpa, type);
	const char *ps = prev ? json_string_value(json_object_get(prev, "status")) : NULL;
	const char *lt = ps && !strcmp(ps, status) ?
				 json_string_value(json_object_get(prev, "lastTransitionTime")) :
				 NULL;
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", type, "status", status, "reason",
			 reason, "message", msg, "lastTransitionTime", lt ? lt : ts);
}

static int64_t reconcile(struct kp_ctl *c, void *st, const char *key, char **errmsg)
{
	struct state *s = st;
	char ns[256], name[256];
	if (!kp__split_key(key, ns, name, sizeof(ns)))
		return 0;
	json_t *hpa = kp_ctl_get(c, K_HPA, ns, name);
	if (!hpa)
		return 0;
	int64_t period_ms = s->a.sync_period * 1000, now = kp_time_now();
	char ts[KP_TIME_BUFSZ];
	kp_time_format(now, ts);
	json_t *copy = json_deep_copy(hpa);
	json_t *status = json_object_get(copy, "status");
	if (!json_is_object(status)) {
		status = json_object();
		json_object_set_new(copy, "status", status);
	}
	int rc = 0;
	json_t *target = NULL, *pods = NULL;
	const char *tkind = kp_obj_str(hpa, "spec.scaleTargetRef.kind");
	const char *tname = kp_obj_str(hpa, "spec.scaleTargetRef.name");
	unsigned tk = !tkind                            ? 0 :
		      !strcmp(tkind, "Deployment")      ? K_DEPLOY :
		      !strcmp(tkind, "ReplicaSet")      ? K_RS :
		      !strcmp(tkind, "StatefulSet")     ? K_STS :
							  0;
	if (tk)
		target = kp_ctl_get(c, tk, ns, tname);
	if (!target) {
		char msg[512];
		snprintf(msg, sizeof(msg), "the HPA controller was unable to get the target's current scale: %s %s not found",
			 tkind ? tkind : "?", tname ? tname : "?");
		kp__set_condition(copy, cond("AbleToScale", "False", "FailedGetScale", msg, ts, hpa));
		goto write;
	}
	int64_t cur = kp_obj_int(target, "spec.replicas", 1);
	int64_t minr = kp_obj_int(hpa, "spec.minReplicas", 1), maxr = kp_obj_int(hpa, "spec.maxReplicas", 1);
	kp__set_condition(copy, cond("AbleToScale", "True", "SucceededGetScale",
				     "the HPA controller was able to get the target's current scale",
				     ts, hpa));
	if (cur == 0 && minr > 0) {
		kp__set_condition(copy, cond("ScalingActive", "False", "ScalingDisabled",
					     "scaling is disabled since the replica count of the target is zero",
					     ts, hpa));
		json_object_set_new(status, "currentReplicas", json_integer(0));
		json_object_set_new(status, "desiredReplicas", json_integer(0));
		goto write;
	}
	/* The target's pods: its selector, ready and running. */
	json_t *sel = kp_obj_get(target, "spec.selector");
	pods = kp_ctl_list(c, K_POD, ns, sel);
	int64_t desired = -1;
	json_t *current_metrics = json_array();
	char why[256] = "";
	size_t i;
	json_t *m;
	json_array_foreach(kp_obj_get(hpa, "spec.metrics"), i, m) {
		const char *type = kp_obj_str(m, "type");
		const char *res = kp_obj_str(m, "resource.name");
		const char *ttype = kp_obj_str(m, "resource.target.type");
		if (!type || strcmp(type, "Resource") || !res || !ttype ||
		    (strcmp(res, "cpu") && strcmp(res, "memory"))) {
			snprintf(why, sizeof(why), "metrics[%zu]: only Resource metrics of cpu and memory are supported", i);
			continue;
		}
		/*
		 * kube's groupPods: being deleted or Failed: ignored; Pending, or
		 * (cpu) not Ready: unready; no PodMetrics: missing; else measured.
		 */
		int64_t usage = 0, request = 0, n = 0;
		int64_t miss_req = 0, n_miss = 0, unready_req = 0, n_unready = 0;
		bool no_request = false;
		size_t j;
		json_t *p;
		json_array_foreach(pods, j, p) {
			const char *ph = kp_obj_str(p, "status.phase");
			if (kp_obj_str(p, "metadata.deletionTimestamp") || !ph ||
			    !strcmp(ph, "Failed") || !strcmp(ph, "Succeeded"))
				continue;
			int64_t r = pod_request(p, res);
			if (r <= 0)
				no_request = true;
			r = r > 0 ? r : 0;
			if (!strcmp(ph, "Pending") || (!strcmp(res, "cpu") && !kp__pod_ready(p))) {
				unready_req += r;
				n_unready++;
				continue;
			}
			int64_t u = pod_usage(c, p, res);
			if (u < 0) {
				miss_req += r;
				n_miss++;
				continue;
			}
			usage += u;
			request += r;
			n++;
		}
		if (!n) {
			snprintf(why, sizeof(why),
				 "unable to get metrics for resource %s: no metrics returned from resource metrics API",
				 res);
			continue;
		}
		json_t *cm = json_pack("{s:s, s:{s:s, s:{}}}", "type", "Resource", "resource", "name",
				       res, "current");
		json_t *cur_obj = kp_obj_get(cm, "resource.current");
		char avg[64];
		snprintf(avg, sizeof(avg), "%lldm", (long long)(usage / n));
		json_object_set_new(cur_obj, "averageValue", json_string(avg));
		bool util_target = !strcmp(ttype, "Utilization");
		int64_t want = 0;
		double ratio;
		if (util_target) {
			if (no_request) {
				snprintf(why, sizeof(why), "missing request for %s", res);
				json_decref(cm);
				continue;
			}
			want = kp_obj_int(m, "resource.target.averageUtilization", 80);
			want = want > 0 ? want : 1;
			double util = 100.0 * (double)usage / (double)request;
			json_object_set_new(cur_obj, "averageUtilization", json_integer((json_int_t)util));
			ratio = util / (double)want;
		} else if (!strcmp(ttype, "AverageValue")) {
			want = qty_milli(kp_obj_str(m, "resource.target.averageValue"));
			if (want <= 0) {
				snprintf(why, sizeof(why), "metrics[%zu]: bad averageValue", i);
				json_decref(cm);
				continue;
			}
			ratio = (double)usage / (double)n / (double)want;
		} else {
			snprintf(why, sizeof(why), "metrics[%zu]: target type %s is not supported", i, ttype);
			json_decref(cm);
			continue;
		}
		json_array_append_new(current_metrics, cm);
		double tol = s->a.tolerance;
		int64_t d;
		bool rebalance = n_unready > 0 && ratio > 1.0;
		if (!rebalance && !n_miss) {
			/* inside the tolerance nothing changes; else ceil(ratio * pods measured) */
			d = fabs(ratio - 1.0) <= tol ? cur : (int64_t)ceil(ratio * (double)n);
		} else {
			/*
			 * kube's replica calculator: missing pods count as using 100% of
			 * the target (at least of their request) when scaling down, nothing
			 * when scaling up; unready pods count as using nothing when
			 * scaling up. A recomputed ratio that changes direction, or a
			 * count that moves against it, keeps the current count.
			 */
			double u = (double)usage, r = (double)request;
			int64_t cnt = n;
			if (n_miss) {
				if (util_target)
					u += ratio < 1.0 ? (double)miss_req * (double)(want > 100 ? want : 100) / 100.0 : 0;
				else
					u += ratio < 1.0 ? (double)want * (double)n_miss : 0;
				r += (double)miss_req;
				cnt += n_miss;
			}
			if (rebalance) {
				r += (double)unready_req;
				cnt += n_unready;
			}
			double nr = util_target ? (r > 0 ? 100.0 * u / r / (double)want : 0) :
						  u / (double)cnt / (double)want;
			d = (int64_t)ceil(nr * (double)cnt);
			if (fabs(nr - 1.0) <= tol || (ratio < 1.0 && nr > 1.0) || (ratio > 1.0 && nr < 1.0) ||
			    (nr < 1.0 && d > cur) || (nr > 1.0 && d < cur))
				d = cur;
		}
		if (d > desired)
			desired = d;
	}
	json_object_set_new(status, "currentMetrics", current_metrics);
	json_object_set_new(status, "currentReplicas", json_integer(cur));
	if (desired < 0) {
		kp__set_condition(copy, cond("ScalingActive", "False", "FailedGetResourceMetric",
					     *why ? why : "no metrics", ts, hpa));
		json_object_set_new(status, "desiredReplicas", json_integer(cur));
		goto write;
	}
	kp__set_condition(copy, cond("ScalingActive", "True", "ValidMetricFound",
				     "the HPA was able to successfully calculate a replica count",
				     ts, hpa));
	/* behavior: stabilization, then the rate policies, then min/max. */
	json_t *up = kp_obj_get(hpa, "spec.behavior.scaleUp");
	json_t *down = kp_obj_get(hpa, "spec.behavior.scaleDown");
	json_t *def_up = json_pack("{s:s, s:[{s:s, s:i, s:i}, {s:s, s:i, s:i}]}", "selectPolicy", "Max",
				   "policies", "type", "Percent", "value", 100, "periodSeconds", 15,
				   "type", "Pods", "value", 4, "periodSeconds", 15);
	json_t *def_down = json_pack("{s:s, s:[{s:s, s:i, s:i}]}", "selectPolicy", "Max", "policies",
				     "type", "Percent", "value", 100, "periodSeconds", 15);
	up = with_defaults(up, def_up);
	down = with_defaults(down, def_down);
	int64_t win_up = kp_obj_int(up, "stabilizationWindowSeconds", 0);
	int64_t win_down = kp_obj_int(down, "stabilizationWindowSeconds", 300);
	pthread_mutex_lock(&s->lock);
	struct hist *h = hist_for(s, key);
	int64_t stab = desired;
	if (h) {
		push(h->rec_t, h->rec_n, &h->nrec, now, desired);
		/* Up: the lowest recommendation of the up window; down: the highest of the down window. */
		int64_t lo = desired, hi = desired;
		for (int r = 0; r < h->nrec; r++) {
			if (h->rec_t[r] > now - win_up && h->rec_n[r] < lo)
				lo = h->rec_n[r];
			if (h->rec_t[r] > now - win_down && h->rec_n[r] > hi)
				hi = h->rec_n[r];
		}
		stab = desired > cur ? (lo > cur ? lo : cur) : desired < cur ? (hi < cur ? hi : cur) : cur;
	}
	int64_t next = stab;
	const char *limited = NULL;
	if (next > cur) {
		int64_t lim = policy_limit(up, true, cur, h, now);
		if (next > lim) {
			next = lim;
			limited = "ScaleUpLimit";
		}
	} else if (next < cur) {
		int64_t lim = policy_limit(down, false, cur, h, now);
		if (next < lim) {
			next = lim;
			limited = "ScaleDownLimit";
		}
	}
	if (next > maxr) {
		next = maxr;
		limited = "TooManyReplicas";
	} else if (next < minr) {
		next = minr;
		limited = "TooFewReplicas";
	}
	if (h && next != cur)
		push(h->ev_t, h->ev_d, &h->nev, now, next - cur);
	pthread_mutex_unlock(&s->lock);
	json_decref(up);
	json_decref(down);
	json_decref(def_up);
	json_decref(def_down);
	if (limited && (!strcmp(limited, "TooManyReplicas") || !strcmp(limited, "TooFewReplicas")))
		kp__set_condition(copy, cond("ScalingLimited", "True", limited,
					     !strcmp(limited, "TooManyReplicas") ?
						     "the desired replica count is more than the maximum replica count" :
						     "the desired replica count is less than the minimum replica count",
					     ts, hpa));
	else
		kp__set_condition(copy, cond("ScalingLimited", "False", "DesiredWithinRange",
					     "the desired count is within the acceptable range", ts, hpa));
	json_object_set_new(status, "desiredReplicas", json_integer(next));
	if (next != cur) {
		json_t *t = json_deep_copy(target);
		kp_obj_set(t, "spec.replicas", json_integer(next));
		rc = kp_ctl_update(c, tk, t, NULL, errmsg);
		json_decref(t);
		if (rc == 0) {
			json_object_set_new(status, "lastScaleTime", json_string(ts));
			kp_ctl_event(c, hpa, "Normal", "SuccessfulRescale",
				     "New size: %lld; reason: %s", (long long)next,
				     next > cur ? "resource metric above target" : "All metrics below target");
		}
	}
write:
	if (!json_equal(json_object_get(copy, "status"), kp_obj_get(hpa, "status"))) {
		char *serr = NULL;
		int r = kp_ctl_update_status(c, K_HPA, copy, NULL, rc ? &serr : errmsg);
		free(serr);
		if (r < 0 && r != KP_ENOENT && !rc)
			rc = r;
	}
	json_decref(copy);
	json_decref(pods);
	json_decref(target);
	json_decref(hpa);
	return rc < 0 ? rc : period_ms;
}

static const struct kp_controller_ops ops = {
	KP_CONTROLLER_OPS,
	.kinds = kinds,
	.workers = 2,
	.init = init,
	.fini = fini,
	.on_change = on_change,
	.reconcile = reconcile,
};

KP_PLUGIN_DEFINE(hpa) = {
	KP_PLUGIN_HEADER(KP_PLUGIN_CONTROLLER),
	.name = "hpa",
	.version = "1.0",
	.description = "scales workloads on cpu and memory use",
	.controller = &ops,
	.args = arg_spec,
	.args_size = sizeof(struct args),
};

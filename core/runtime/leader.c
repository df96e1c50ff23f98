/*
 * leader.c - leader election with a coordination.k8s.io/v1 Lease, as
 * client-go's leaderelection package does it.
 *
 * Every candidate reads the Lease each retry period. It may take the lease
 * when nobody holds it, when it holds it already (a renewal), or when the
 * record (holder and renewTime) has not changed for a whole lease duration
 * by the candidate's own monotonic clock — never by comparing timestamps
 * written by another machine, whose clock may differ. Writes are
 * compare-and-swap on the Lease's revision, so of two candidates only one
 * wins. A leader that cannot renew within the renew deadline has lost: it
 * must stop acting (the commands exit, as kube-scheduler does), because
 * somebody else may take over one lease duration after its last renewal.
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kplane/kplane.h>

#include "core/runtime/runtime.h"
#include "store/store.h"

struct kp_leader {
	struct kp_store *st;
	char *key, *ns, *name, *id;
	uint64_t lease_ns, renew_ns, retry_ns;
	int64_t lease_s;

	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop, leading, lost;
	char *holder;          /* holderIdentity last seen ("" none) */
	uint64_t transitions;  /* leases this process acquired */

	/* thread-only */
	char *observed;        /* holder|renewTime last seen */
	uint64_t observed_ns;  /* when it last changed, by our clock */
	uint64_t renewed_ns;   /* our last successful acquire or renew */
	uint64_t expiry_ns;    /* when another holder's lease runs out (0: not known) */
};

/* metav1.MicroTime: RFC 3339 with microseconds, UTC. */
static void micro_time(char buf[64])
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000);
}

static void set_holder(struct kp_leader *le, const char *h)
{
	pthread_mutex_lock(&le->mu);
	if (!le->holder || strcmp(le->holder, h)) {
		free(le->holder);
		le->holder = strdup(h);
	}
	pthread_mutex_unlock(&le->mu);
}

static void observe(struct kp_leader *le, const char *holder, const char *renew, uint64_t now)
{
	char rec[512];
	snprintf(rec, sizeof(rec), "%s|%s", holder, renew);
	if (!le->observed || strcmp(le->observed, rec)) {
		free(le->observed);
		le->observed = strdup(rec);
		le->observed_ns = now;
	}
	set_holder(le, holder);
}

static json_t *new_lease(const struct kp_leader *le, const char *now)
{
	char uid[37], ts[KP_TIME_BUFSZ];
	kp_uuid4(uid);
	return json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:{s:s, s:I, s:s, s:s, s:i}}",
			 "apiVersion", "coordination.k8s.io/v1", "kind", "Lease", "metadata",
			 "name", le->name, "namespace", le->ns, "uid", uid, "creationTimestamp",
			 kp_time_format(kp_time_now(), ts), "spec", "holderIdentity", le->id,
			 "leaseDurationSeconds", (json_int_t)le->lease_s, "acquireTime", now,
			 "renewTime", now, "leaseTransitions", 0);
}

/* One attempt; true when this process holds the lease afterwards. */
static bool try_acquire_or_renew(struct kp_leader *le)
{
	uint64_t now = kp_mono_ns();
	char ts[64];
	micro_time(ts);
	struct kp_kv kv;
	int rc = kp_store_get(le->st, le->key, &kv);
	if (rc == KP_ENOENT) {
		json_t *l = new_lease(le, ts);
		char *s = l ? kp_json_dumps(l, NULL) : NULL;
		json_decref(l);
		rc = s ? kp_store_create(le->st, le->key, s, strlen(s), NULL) : KP_ENOMEM;
		free(s);
		if (rc)
			return false;
		observe(le, le->id, ts, now);
		return true;
	}
	if (rc)
		return false;
	json_t *l = json_loadb(kv.value, kv.len, 0, NULL);
	uint64_t rev = kv.mod_rev;
	kp_kv_release(&kv);
	json_t *spec = json_object_get(l, "spec");
	if (!json_is_object(l) || !json_is_object(spec)) {
		/* Not a Lease we can read: leave it to whoever wrote it. */
		json_decref(l);
		return false;
	}
	const char *holder = json_string_value(json_object_get(spec, "holderIdentity"));
	const char *renew = json_string_value(json_object_get(spec, "renewTime"));
	holder = holder ? holder : "";
	observe(le, holder, renew ? renew : "", now);
	bool mine = !strcmp(holder, le->id);
	le->expiry_ns = 0;
	if (*holder && !mine && now < le->observed_ns + le->lease_ns) {
		le->expiry_ns = le->observed_ns + le->lease_ns;
		json_decref(l);
		return false;
	}
	spec = json_deep_copy(spec);
	if (!mine) {
		json_int_t t = json_integer_value(json_object_get(spec, "leaseTransitions"));
		json_object_set_new(spec, "leaseTransitions", json_integer(*holder ? t + 1 : t));
		json_object_set_new(spec, "acquireTime", json_string(ts));
	}
	json_object_set_new(spec, "holderIdentity", json_string(le->id));
	json_object_set_new(spec, "leaseDurationSeconds", json_integer(le->lease_s));
	json_object_set_new(spec, "renewTime", json_string(ts));
	json_object_set_new(l, "spec", spec);
	char *s = kp_json_dumps(l, NULL);
	json_decref(l);
	rc = s ? kp_store_update(le->st, le->key, s, strlen(s), rev, NULL) : KP_ENOMEM;
	free(s);
	if (rc)
		return false;
	observe(le, le->id, ts, now);
	return true;
}

/* On a clean stop the leader hands the lease back, so a follower need not wait it out. */
static void release(struct kp_leader *le)
{
	struct kp_kv kv;
	if (kp_store_get(le->st, le->key, &kv))
		return;
	json_t *l = json_loadb(kv.value, kv.len, 0, NULL);
	uint64_t rev = kv.mod_rev;
	kp_kv_release(&kv);
	json_t *spec = json_object_get(l, "spec");
	const char *holder = json_string_value(json_object_get(spec, "holderIdentity"));
	if (json_is_object(spec) && holder && !strcmp(holder, le->id)) {
		char ts[64];
		micro_time(ts);
		json_object_set_new(spec, "holderIdentity", json_string(""));
		json_object_set_new(spec, "leaseDurationSeconds", json_integer(1));
		json_object_set_new(spec, "renewTime", json_string(ts));
		char *s = kp_json_dumps(l, NULL);
		if (s)
			kp_store_update(le->st, le->key, s, strlen(s), rev, NULL);
		free(s);
	}
	json_decref(l);
}

static void *elect_main(void *arg)
{
	struct kp_leader *le = arg;
	pthread_mutex_lock(&le->mu);
	while (!le->stop) {
		pthread_mutex_unlock(&le->mu);
		bool ok = try_acquire_or_renew(le);
		uint64_t now = kp_mono_ns();
		pthread_mutex_lock(&le->mu);
		if (ok) {
			le->renewed_ns = now;
			if (!le->leading) {
				le->leading = true;
				le->transitions++;
				fprintf(stderr, "kplane: %s: successfully acquired lease %s/%s\n",
					le->id, le->ns, le->name);
			}
		} else if (le->leading && now - le->renewed_ns > le->renew_ns) {
			le->leading = false;
			le->lost = true;
			fprintf(stderr, "kplane: %s: failed to renew lease %s/%s within %.1f s: "
					"leader election lost\n",
				le->id, le->ns, le->name, le->renew_ns / 1e9);
			pthread_cond_broadcast(&le->cv);
			break;
		}
		pthread_cond_broadcast(&le->cv);
		struct timespec dl;
		clock_gettime(CLOCK_MONOTONIC, &dl);
		/* Followers retry with up to 20% jitter (client-go's JitterFactor 1.2). */
		uint64_t wait = le->retry_ns + (le->leading ? 0 : (uint64_t)(rand() % 1000) *
							 le->retry_ns / 5000);
		/*
		 * A follower also wakes when the holder's lease runs out, so that
		 * a dead leader is replaced one lease duration after the
		 * follower last saw it renew, not up to a retry period later.
		 */
		if (!ok && le->expiry_ns > now && le->expiry_ns - now + 1000000 < wait)
			wait = le->expiry_ns - now + 1000000;
		dl.tv_sec += (time_t)(wait / 1000000000ull);
		dl.tv_nsec += (long)(wait % 1000000000ull);
		if (dl.tv_nsec >= 1000000000L) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000L;
		}
		while (!le->stop && pthread_cond_timedwait(&le->cv, &le->mu, &dl) == 0)
			;
	}
	pthread_mutex_unlock(&le->mu);
	return NULL;
}

int kp_leader_check(const struct kp_leader_options *o, char **errmsg)
{
	double lease = o->lease_duration > 0 ? o->lease_duration : 15;
	double renew = o->renew_deadline > 0 ? o->renew_deadline : 10;
	double retry = o->retry_period > 0 ? o->retry_period : 2;
	if (!o->lease_name || !*o->lease_name)
		return kp_error_set(errmsg, KP_EINVAL, "leader election: the lease name is required");
	/* client-go's own checks (leaderelection.NewLeaderElector). */
	if (lease <= renew)
		return kp_error_set(errmsg, KP_EINVAL, "leader election: the lease duration "
				    "(%.3g s) must be greater than the renew deadline (%.3g s)",
				    lease, renew);
	if (renew <= retry * 1.2)
		return kp_error_set(errmsg, KP_EINVAL, "leader election: the renew deadline "
				    "(%.3g s) must be greater than 1.2 x the retry period (%.3g s)",
				    renew, retry);
	if (lease < 1 || lease > 86400)
		return kp_error_set(errmsg, KP_EINVAL, "leader election: the lease duration "
				    "must be between 1 s and 1 day");
	return 0;
}

int kp_leader_start(struct kp_store *st, const struct kp_leader_options *o,
		    struct kp_leader **out, char **errmsg)
{
	double lease = o->lease_duration > 0 ? o->lease_duration : 15;
	double renew = o->renew_deadline > 0 ? o->renew_deadline : 10;
	double retry = o->retry_period > 0 ? o->retry_period : 2;
	const char *ns = o->lease_namespace && *o->lease_namespace ? o->lease_namespace :
								       "kube-system";
	*out = NULL;
	int rc = kp_leader_check(o, errmsg);
	if (rc)
		return rc;
	if (!o->identity || !*o->identity)
		return kp_error_set(errmsg, KP_EINVAL, "leader election: the identity is required");
	struct kp_leader *le = calloc(1, sizeof(*le));
	if (!le)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	le->st = st;
	le->ns = strdup(ns);
	le->name = strdup(o->lease_name);
	le->id = strdup(o->identity);
	le->holder = strdup("");
	le->lease_ns = (uint64_t)(lease * 1e9);
	le->renew_ns = (uint64_t)(renew * 1e9);
	le->retry_ns = (uint64_t)(retry * 1e9);
	le->lease_s = (int64_t)(lease + 0.5);
	if (asprintf(&le->key, "/registry/coordination.k8s.io/leases/%s/%s", le->ns,
		     le->name) < 0)
		le->key = NULL;
	pthread_mutex_init(&le->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&le->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (!le->ns || !le->name || !le->id || !le->holder || !le->key ||
	    pthread_create(&le->thread, NULL, elect_main, le)) {
		le->thread = 0;
		kp_leader_stop(le, false);
		return kp_error_set(errmsg, KP_ENOMEM, "leader election: cannot start");
	}
	*out = le;
	return 0;
}

bool kp_leader_wait(struct kp_leader *le, int timeout_ms, bool *lost)
{
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&le->mu);
	while (!le->leading && !le->lost &&
	       pthread_cond_timedwait(&le->cv, &le->mu, &dl) == 0)
		;
	bool l = le->leading;
	if (lost)
		*lost = le->lost;
	pthread_mutex_unlock(&le->mu);
	return l;
}

bool kp_leader_leading(struct kp_leader *le)
{
	pthread_mutex_lock(&le->mu);
	bool l = le->leading;
	pthread_mutex_unlock(&le->mu);
	return l;
}

char *kp_leader_holder(struct kp_leader *le)
{
	pthread_mutex_lock(&le->mu);
	char *h = strdup(le->holder ? le->holder : "");
	pthread_mutex_unlock(&le->mu);
	return h;
}

const char *kp_leader_identity(const struct kp_leader *le)
{
	return le->id;
}

void kp_leader_stop(struct kp_leader *le, bool release_lease)
{
	if (!le)
		return;
	if (le->thread) {
		pthread_mutex_lock(&le->mu);
		le->stop = true;
		pthread_cond_broadcast(&le->cv);
		pthread_mutex_unlock(&le->mu);
		pthread_join(le->thread, NULL);
	}
	if (release_lease && le->leading)
		release(le);
	pthread_mutex_destroy(&le->mu);
	pthread_cond_destroy(&le->cv);
	free(le->key);
	free(le->ns);
	free(le->name);
	free(le->id);
	free(le->holder);
	free(le->observed);
	free(le);
}

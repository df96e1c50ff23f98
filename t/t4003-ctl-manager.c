/*
 * t4003-ctl-manager - the controller manager over a memory store, without
 * the API server or dlopen: refusals of bad descriptors and settings, the
 * in-process client's API-server bookkeeping (defaults, validation,
 * preconditions, finalizers, propagation), expectations counted down by
 * the informers, and the replicaset controller from the static table
 * keeping a ReplicaSet's pods.
 */
#include "config.h"

#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include <kplane/controller.h>
#include <kplane/error.h>
#include <kplane/object.h>

#include "core/controller/manager.h"
#include "plugins/controllers/static.h"
#include "store/store.h"
#include "t/tap.h"

static struct kp_store *st;

/* ---- a test controller that only gives us its context ---- */

static struct kp_ctl *tctl, *lctl;
static const struct kp_ctl_kind tkinds[] = {
	{ "", "v1", "ConfigMap", "configmaps" },
	{ "", "v1", "Secret", "secrets" },
	{ "", "v1", "Namespace", "namespaces" },
	{ NULL, NULL, NULL, NULL },
};
/* Keeps the context of the "test" controller in tctl, of "live" (below) in lctl. */
static int tinit(struct kp_ctl *c, const void *args, void **state, char **errmsg)
{
	(void)args;
	(void)state;
	(void)errmsg;
	*(strcmp(kp_ctl_name(c), "live") ? &tctl : &lctl) = c;
	return 0;
}
static int64_t trec(struct kp_ctl *c, void *state, const char *key, char **errmsg)
{
	(void)c;
	(void)state;
	(void)key;
	(void)errmsg;
	return 0;
}
static const struct kp_controller_ops tops = {
	KP_CONTROLLER_OPS,
	.kinds = tkinds,
	.init = tinit,
	.reconcile = trec,
};
static const struct kp_plugin tplugin = {
	KP_PLUGIN_HEADER(KP_PLUGIN_CONTROLLER),
	.name = "test",
	.controller = &tops,
};

static const struct kp_controller_ops small_ops = { .size = 8, .kinds = tkinds, .reconcile = trec };
static const struct kp_plugin small = {
	KP_PLUGIN_HEADER(KP_PLUGIN_CONTROLLER), .name = "small", .controller = &small_ops,
};
static const struct kp_ctl_kind badkinds[] = {
	{ "example.com", "v1", "Widget", "widgets" },
	{ NULL, NULL, NULL, NULL },
};
static const struct kp_controller_ops bad_ops = { KP_CONTROLLER_OPS, .kinds = badkinds,
						  .reconcile = trec };
static const struct kp_plugin badkind = {
	KP_PLUGIN_HEADER(KP_PLUGIN_CONTROLLER), .name = "badkind", .controller = &bad_ops,
};

/* ---- a controller with Secrets uncached ---- */

static atomic_int secret_changes;
static void lchange(struct kp_ctl *c, void *state, unsigned kind, int change, const json_t *old,
		    const json_t *obj)
{
	(void)c;
	(void)state;
	(void)change;
	(void)old;
	(void)obj;
	if (kind == 1)
		atomic_fetch_add(&secret_changes, 1);
}
static const struct kp_controller_ops live_ops = {
	KP_CONTROLLER_OPS, .kinds = tkinds, .init = tinit, .on_change = lchange,
	.reconcile = trec, .uncached = 1ull << 1,
};
static const struct kp_plugin live = {
	KP_PLUGIN_HEADER(KP_PLUGIN_CONTROLLER), .name = "live", .controller = &live_ops,
};
static const struct kp_controller_ops live0_ops = {
	KP_CONTROLLER_OPS, .kinds = tkinds, .reconcile = trec, .uncached = 1,
};
static const struct kp_plugin live0 = {
	KP_PLUGIN_HEADER(KP_PLUGIN_CONTROLLER), .name = "live0", .controller = &live0_ops,
};

static const struct kp_plugin *find_static(const char *name)
{
	for (const struct kp_plugin *const *p = kp_ctl_static_plugins; *p; p++)
		if (!strcmp((*p)->name, name))
			return *p;
	return NULL;
}

static void put(const char *key, const char *json)
{
	if (kp_store_create(st, key, json, strlen(json), NULL) < 0)
		abort();
}

static json_t *stored(const char *key)
{
	struct kp_kv kv;
	if (kp_store_get(st, key, &kv) < 0)
		return NULL;
	json_t *o = json_loadb(kv.value, kv.len, 0, NULL);
	kp_obj_set_resource_version(o, kv.mod_rev);
	kp_kv_release(&kv);
	return o;
}

static size_t count_prefix(const char *prefix)
{
	size_t n = 0;
	kp_store_count(st, prefix, &n);
	return n;
}

/* Polls cond up to 10 s. */
#define WAIT(cond) ({ int ok_ = 0; for (int w_ = 0; w_ < 1000 && !(ok_ = !!(cond)); w_++) usleep(10000); ok_; })

static void test_refusals(void)
{
	struct kp_ctl_manager *m = NULL;
	char *err = NULL;
	kp_ctl_manager_new(st, &m, NULL);
	is_int(kp_ctl_manager_add(m, &small, NULL, 0, &err), KP_EABI, "a short ops table is refused");
	ok(err && strstr(err, "KP_CONTROLLER_OPS"), "telling to set .size: %s", err ? err : "");
	free(err);
	err = NULL;
	is_int(kp_ctl_manager_add(m, &badkind, NULL, 0, &err), KP_EINVAL, "an unserved kind is refused");
	ok(err && strstr(err, "widgets"), "naming it: %s", err ? err : "");
	free(err);
	err = NULL;
	json_t *args = json_pack("{s:s}", "heartbeatSeconds", "often");
	ok(kp_ctl_manager_add(m, find_static("node-sim"), args, 0, &err) < 0 && err &&
		   strstr(err, "controllers.node-sim.args.heartbeatSeconds"),
	   "a mistyped argument is refused naming the field: %s", err ? err : "");
	json_decref(args);
	free(err);
	err = NULL;
	args = json_pack("{s:i}", "nope", 1);
	ok(kp_ctl_manager_add(m, find_static("node-sim"), args, 0, &err) < 0 && err &&
		   strstr(err, "nope"),
	   "an unknown argument is refused: %s", err ? err : "");
	json_decref(args);
	free(err);
	err = NULL;
	is_int(kp_ctl_manager_add(m, &tplugin, NULL, 0, NULL), 0, "a good controller is added");
	is_int(kp_ctl_manager_add(m, &tplugin, NULL, 0, NULL), KP_EEXIST, "twice is refused");
	kp_ctl_manager_free(m);
}

static void test_client(void)
{
	struct kp_ctl *c = tctl;
	char *err = NULL;
	json_t *out = NULL;
	json_t *cm = json_pack("{s:{s:s, s:s}, s:{s:s}}", "metadata", "generateName", "cm-",
			       "namespace", "default", "data", "a", "b");
	is_int(kp_ctl_create(c, 0, cm, &out, &err), 0, "create a ConfigMap from generateName");
	ok(out && !strncmp(kp_obj_name(out), "cm-", 3) && strlen(kp_obj_name(out)) == 8,
	   "named cm-xxxxx: %s", out ? kp_obj_name(out) : "");
	ok(out && kp_obj_uid(out) && kp_obj_str(out, "metadata.creationTimestamp") &&
		   kp_obj_resource_version(out) > 0,
	   "with uid, creationTimestamp and resourceVersion");
	is_str(out ? kp_obj_kind(out) : NULL, "ConfigMap", "kind filled in");
	json_decref(cm);

	/* Stale resourceVersion: compare-and-swap. */
	json_t *upd = json_deep_copy(out);
	kp_obj_set_str(upd, "data.a", "c");
	is_int(kp_ctl_update(c, 0, upd, NULL, NULL), 0, "update at the current revision");
	is_int(kp_ctl_update(c, 0, upd, NULL, &err), KP_ECONFLICT,
	       "the same resourceVersion again conflicts");
	free(err);
	err = NULL;
	kp_obj_del(upd, "metadata.resourceVersion");
	kp_obj_set_str(upd, "metadata.uid", "forged");
	kp_obj_set_str(upd, "data.a", "d");
	json_t *res = NULL;
	is_int(kp_ctl_update(c, 0, upd, &res, NULL), 0, "without resourceVersion it applies");
	is_str(res ? kp_obj_uid(res) : NULL, kp_obj_uid(out), "but the uid is the stored one");
	json_decref(res);
	json_decref(upd);

	json_t *bad = json_pack("{s:{s:s, s:s}}", "metadata", "name", "Not_Valid", "namespace",
				"default");
	is_int(kp_ctl_create(c, 0, bad, NULL, &err), KP_EINVAL, "an invalid name is refused");
	ok(err && strstr(err, "metadata.name"), "naming the field: %s", err ? err : "");
	free(err);
	err = NULL;
	kp_obj_set_str(bad, "metadata.name", "ok");
	kp_obj_set_str(bad, "metadata.namespace", "missing");
	is_int(kp_ctl_create(c, 0, bad, NULL, &err), KP_ENOENT, "a missing namespace is refused");
	free(err);
	err = NULL;
	json_decref(bad);

	/* Foreground deletion marks, the finalizer's removal deletes. */
	char key[300];
	snprintf(key, sizeof(key), "/registry/core/configmaps/default/%s", kp_obj_name(out));
	is_int(kp_ctl_delete(c, 0, "default", kp_obj_name(out), "other-uid", KP_CTL_BACKGROUND,
			     &err),
	       KP_ECONFLICT, "a uid precondition that does not match conflicts");
	free(err);
	err = NULL;
	is_int(kp_ctl_delete(c, 0, "default", kp_obj_name(out), kp_obj_uid(out), KP_CTL_FOREGROUND,
			     NULL),
	       0, "Foreground delete");
	json_t *marked = stored(key);
	ok(marked && kp_obj_str(marked, "metadata.deletionTimestamp") &&
		   !strcmp(json_string_value(json_array_get(
				   kp_obj_get(marked, "metadata.finalizers"), 0)),
			   "foregroundDeletion"),
	   "marks the object with deletionTimestamp and foregroundDeletion");
	kp_obj_del(marked, "metadata.finalizers");
	is_int(kp_ctl_update(c, 0, marked, NULL, NULL), 0, "removing the finalizer");
	ok(!stored(key), "deletes the object");
	json_decref(marked);
	char *nf = NULL;
	is_int(kp_ctl_delete(c, 0, "default", "absent", NULL, KP_CTL_BACKGROUND, &nf), KP_ENOENT,
	       "deleting an absent object is NotFound (the caller lowers its expectation)");
	ok(nf && strstr(nf, "\"absent\" not found"), "and names it: %s", nf ? nf : "(null)");
	free(nf);

	/* Repeated events are counted on one Event, as kube's recorder does. */
	kp_ctl_event(c, out, "Normal", "Tested", "the same %s", "message");
	kp_ctl_event(c, out, "Normal", "Tested", "the same %s", "message");
	kp_ctl_event(c, out, "Warning", "Tested", "another message");
	ok(WAIT(({
		   struct kp_kv_list l = { 0 };
		   kp_store_list(st, "/registry/core/events/default/", 0, NULL, 0, &l);
		   int twice = 0, once = 0;
		   for (size_t i = 0; i < l.n; i++) {
			   json_t *e = json_loadb(l.items[i].value, l.items[i].len, 0, NULL);
			   const char *r = kp_obj_str(e, "reason"), *t = kp_obj_str(e, "type");
			   if (r && !strcmp(r, "Tested") && t && !strcmp(t, "Normal") &&
			       kp_obj_int(e, "count", 0) == 2)
				   twice++;
			   if (r && !strcmp(r, "Tested") && t && !strcmp(t, "Warning") &&
			       kp_obj_int(e, "count", 0) == 1)
				   once++;
			   json_decref(e);
		   }
		   size_t n = l.n;
		   kp_kv_list_release(&l);
		   twice == 1 && once == 1 && n == 2;
	   })),
	   "two identical events make one Event of count 2, a different one its own");
	json_decref(out);
}

static void test_expectations(void)
{
	struct kp_ctl *c = tctl;
	ok(kp_ctl_satisfied(c, "default/owner"), "nothing expected: satisfied");
	kp_ctl_expect(c, "default/owner", 2, 0);
	ok(!kp_ctl_satisfied(c, "default/owner"), "two creations expected");
	kp_ctl_observe(c, "default/owner", 1, 0);
	ok(!kp_ctl_satisfied(c, "default/owner"), "one seen, one pending");
	/* The informer counts the second when it sees a Secret owned by the ConfigMap. */
	put("/registry/core/secrets/default/s1",
	    "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"s1\","
	    "\"namespace\":\"default\",\"uid\":\"u-s1\",\"ownerReferences\":[{\"apiVersion\":"
	    "\"v1\",\"kind\":\"ConfigMap\",\"name\":\"owner\",\"uid\":\"u-o\",\"controller\":"
	    "true}]}}");
	ok(WAIT(kp_ctl_satisfied(c, "default/owner")), "the informer observed the creation");
	json_t *owned = NULL;
	ok(WAIT((json_decref(owned), owned = kp_ctl_list_owned(c, 1, "default", "u-o"),
		 json_array_size(owned) == 1)),
	   "the owner index finds the Secret by owner uid");
	json_decref(owned);
	json_t *orph = kp_ctl_list_orphans(c, 1, "default");
	is_uint(json_array_size(orph), 0, "a Secret with a controller is no orphan");
	json_decref(orph);
	orph = NULL;
	put("/registry/core/secrets/default/s2",
	    "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"s2\","
	    "\"namespace\":\"default\",\"uid\":\"u-s2\"}}");
	ok(WAIT((json_decref(orph), orph = kp_ctl_list_orphans(c, 1, "default"),
		 json_array_size(orph) == 1)),
	   "one without is listed by the orphan index");
	is_str(kp_obj_name(json_array_get(orph, 0)), "s2", "it is s2");
	json_decref(orph);
}

static void test_replicaset(void)
{
	struct kp_ctl_manager *m = NULL;
	kp_ctl_manager_new(st, &m, NULL);
	is_int(kp_ctl_manager_add(m, find_static("replicaset"), NULL, 2, NULL), 0,
	       "the replicaset controller from the static table");
	is_int(kp_ctl_manager_start(m, NULL), 0, "starts");
	put("/registry/apps/replicasets/default/web",
	    "{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"metadata\":{\"name\":\"web\","
	    "\"namespace\":\"default\",\"uid\":\"u-rs\",\"generation\":1},\"spec\":{\"replicas\":3,"
	    "\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":"
	    "{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}}}");
	ok(WAIT(count_prefix("/registry/core/pods/default/web-") == 3), "three pods are created");
	struct kp_kv_list l = { 0 };
	kp_store_list(st, "/registry/core/pods/default/web-", 0, NULL, 0, &l);
	json_t *p = l.n ? json_loadb(l.items[0].value, l.items[0].len, 0, NULL) : NULL;
	kp_kv_list_release(&l);
	json_t *ref = p ? kp_obj_controller_ref(p) : NULL;
	ok(ref && !strcmp(json_string_value(json_object_get(ref, "uid")), "u-rs") &&
		   json_is_true(json_object_get(ref, "blockOwnerDeletion")),
	   "owned by the ReplicaSet (controller, blockOwnerDeletion)");
	is_str(p ? kp_obj_label(p, "app") : NULL, "web", "with the template's labels");
	/* API defaulting ran (the scheduler relies on it). */
	is_str(p ? kp_obj_str(p, "spec.schedulerName") : NULL, "default-scheduler",
	       "defaulted like an API create (schedulerName)");
	is_str(p ? kp_obj_str(p, "spec.restartPolicy") : NULL, "Always", "restartPolicy Always");
	json_decref(p);
	ok(WAIT(({
		   json_t *rs = stored("/registry/apps/replicasets/default/web");
		   int done = rs && kp_obj_int(rs, "status.replicas", -1) == 3 &&
			      kp_obj_int(rs, "status.observedGeneration", -1) == 1;
		   json_decref(rs);
		   done;
	   })),
	   "status.replicas 3, observedGeneration 1");
	/* Scale down to 1 by writing the store as the API would. */
	json_t *rs = stored("/registry/apps/replicasets/default/web");
	kp_obj_set(rs, "spec.replicas", json_integer(1));
	kp_obj_set(rs, "metadata.generation", json_integer(2));
	uint64_t rv = kp_obj_resource_version(rs);
	kp_obj_del(rs, "metadata.resourceVersion");
	char *s = json_dumps(rs, JSON_COMPACT);
	is_int(kp_store_update(st, "/registry/apps/replicasets/default/web", s, strlen(s), rv, NULL),
	       0, "scale to 1");
	free(s);
	json_decref(rs);
	ok(WAIT(count_prefix("/registry/core/pods/default/web-") == 1), "two pods are deleted");
	usleep(200000);
	is_uint(count_prefix("/registry/core/pods/default/web-"), 1, "and no more are created");
	kp_ctl_manager_free(m);
}

/* kp_controller_ops.uncached: read from the store when asked, never watched. */
static void test_uncached(void)
{
	struct kp_ctl_manager *m = NULL;
	char *err = NULL;
	kp_ctl_manager_new(st, &m, NULL);
	is_int(kp_ctl_manager_add(m, &live0, NULL, 0, &err), KP_EINVAL,
	       "an uncached primary kind is refused");
	ok(err && strstr(err, "kinds[0]"), "naming it: %s", err ? err : "");
	free(err);
	is_int(kp_ctl_manager_add(m, &live, NULL, 0, NULL), 0, "a controller with Secrets uncached");
	is_int(kp_ctl_manager_start(m, NULL), 0, "starts");
	ok(lctl && WAIT(kp_ctl_synced(lctl)), "synced without a Secret informer");
	put("/registry/core/secrets/default/live-s1",
	    "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"live-s1\","
	    "\"namespace\":\"default\",\"labels\":{\"app\":\"x\"}}}");
	put("/registry/core/secrets/other/live-s2",
	    "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"s2\","
	    "\"namespace\":\"other\"}}");
	/* no waiting: nothing is cached, the store answers */
	json_t *o = kp_ctl_get(lctl, 1, "default", "live-s1");
	is_str(o ? kp_obj_name(o) : NULL, "live-s1", "get reads the store at once");
	ok(o && kp_obj_resource_version(o) > 0, "with its resourceVersion");
	json_decref(o);
	/* the earlier tests left Secrets in default too: count what is stored */
	json_t *l = kp_ctl_list(lctl, 1, "default", NULL);
	is_int((int)json_array_size(l), (int)count_prefix("/registry/core/secrets/default/"),
	       "list in a namespace: what the store holds there");
	json_decref(l);
	l = kp_ctl_list(lctl, 1, NULL, NULL);
	is_int((int)json_array_size(l), (int)count_prefix("/registry/core/secrets/"),
	       "list in all namespaces: every stored Secret");
	json_decref(l);
	json_t *sel = json_pack("{s:{s:s}}", "matchLabels", "app", "x");
	l = kp_ctl_list(lctl, 1, NULL, sel);
	is_str(kp_obj_name(json_array_get(l, 0)), "live-s1", "a selector: the labelled one");
	is_int((int)json_array_size(l), 1, "only it");
	json_decref(l);
	json_decref(sel);
	l = kp_ctl_list_owned(lctl, 1, "default", "u-1");
	is_int((int)json_array_size(l), 0, "list_owned: nothing for an uncached kind");
	json_decref(l);
	/* a ConfigMap change does reach on_change; wait for one to know the
	 * informers ran past the Secrets */
	put("/registry/core/configmaps/default/after", "{\"apiVersion\":\"v1\",\"kind\":"
	    "\"ConfigMap\",\"metadata\":{\"name\":\"after\",\"namespace\":\"default\"}}");
	ok(WAIT((o = kp_ctl_get(lctl, 0, "default", "after")) != NULL), "the cached kind is watched");
	json_decref(o);
	is_int(atomic_load(&secret_changes), 0, "on_change never saw a Secret");
	kp_ctl_manager_free(m);
	kp_store_delete(st, "/registry/core/secrets/default/live-s1", 0, NULL, NULL);
	kp_store_delete(st, "/registry/core/secrets/other/live-s2", 0, NULL, NULL);
	kp_store_delete(st, "/registry/core/configmaps/default/after", 0, NULL, NULL);
}

int main(void)
{
	plan(64);
	struct kp_store_options so = { .backend = KP_STORE_MEMORY };
	if (kp_store_open(&so, &st, NULL) < 0)
		return 1;
	put("/registry/core/namespaces/default",
	    "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"default\","
	    "\"uid\":\"u-ns\"},\"spec\":{\"finalizers\":[\"kubernetes\"]},\"status\":{\"phase\":"
	    "\"Active\"}}");
	test_refusals();

	struct kp_ctl_manager *m = NULL;
	kp_ctl_manager_new(st, &m, NULL);
	is_int(kp_ctl_manager_add(m, &tplugin, NULL, 0, NULL), 0, "test controller added");
	is_int(kp_ctl_manager_start(m, NULL), 0, "and started");
	ok(tctl && WAIT(kp_ctl_synced(tctl)), "its caches sync");
	is_str(kp_ctl_name(tctl), "test", "its name");
	test_client();
	test_expectations();
	kp_ctl_manager_free(m);

	test_replicaset();
	test_uncached();
	kp_store_close(st);
	return done_testing();
}

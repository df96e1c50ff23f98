/*
 * t2003-sched-loader - the dlopen loader against deliberately broken
 * modules (t/plugins/ sources, built as check_LTLIBRARIES into t/.libs/): wrong
 * ABI, wrong layout, no descriptor, duplicate name, a failing init; and a
 * good module used by a profile.
 */
#include "config.h"

#include "t/sched-lib.h"

static char dir[4096];

static int load(struct kp_registry *r, const char *name, char **e)
{
	char path[4300];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	free(*e);
	*e = NULL;
	return kp_registry_load_file(r, path, e);
}

int main(void)
{
	const char *b = getenv("KP_BUILD_DIR");
	snprintf(dir, sizeof(dir), "%s/t/.libs", b ? b : ".");
	struct kp_registry *r;
	char *e = NULL;
	kp_registry_new(&r);
	ok(kp_registry_add_table(r, kp_sched_static_plugins, &e) == 0, "static table registers");
	size_t nstatic = kp_registry_count(r);

	is_int(load(r, "plugin-wrong-abi.so", &e), KP_EABI, "wrong ABI refused");
	ok(e && strstr(e, "plugin-wrong-abi.so\" built for plugin ABI 2, this kplane speaks 1: rebuild it against kplane's headers"),
	   "message names file, both versions and the fix: %s", e);
	is_int(load(r, "plugin-wrong-layout.so", &e), KP_EABI, "wrong layout refused");
	ok(e && strstr(e, "struct layout") && strstr(e, "rebuild"), "layout message: %s", e);
	is_int(load(r, "plugin-no-symbol.so", &e), KP_EINVAL, "module without descriptor refused");
	ok(e && strstr(e, "has no \"kp_plugin\" descriptor"), "missing symbol message: %s", e);
	is_int(load(r, "plugin-duplicate.so", &e), KP_EEXIST, "duplicate name refused");
	ok(e && strstr(e, "provides plugin \"NodeUnschedulable\", already loaded from"),
	   "duplicate message: %s", e);
	is_int(load(r, "missing.so", &e), KP_ENOENT, "absent file");
	is_int(load(r, "plugin-good.so", &e), 0, "good module loads");
	is_int(load(r, "plugin-good.so", &e), 0, "loading the same file again is a no-op");
	is_int(kp_registry_count(r), nstatic + 1, "exactly one module added");
	ok(kp_registry_nrefused(r) == 5, "refusals recorded");

	/* the directory scan keeps going past refused modules */
	struct kp_registry *r2;
	kp_registry_new(&r2);
	free(e);
	e = NULL;
	ok(kp_registry_load_dir(r2, dir, true, &e) == 0, "scan of t/.libs succeeds");
	ok(kp_registry_find(r2, "TestDraining") && kp_registry_find(r2, "NodeUnschedulable"),
	   "good and first-of-a-name modules loaded");
	ok(kp_registry_nrefused(r2) == 3, "three refused in the scan (abi, layout, symbol)");
	ok(kp_registry_load_dir(r2, "/nonexistent/dir", true, &e) == KP_ENOENT, "required missing dir");
	ok(kp_registry_load_dir(r2, "/nonexistent/dir", false, &e) == 0, "optional missing dir skipped");
	kp_registry_free(r2);

	/* a profile using the module; and one whose plugin is not loaded */
	struct kp_sched_config *cfg;
	json_t *docs = ts_yaml("profiles:\n- plugins:\n    filter:\n      enabled: [{name: TestDraining}]\n");
	ok(kp_sched_config_parse(json_array_get(docs, 0), &cfg, &e) == 0, "config parses");
	json_decref(docs);
	struct kp_scheduler *s = NULL;
	struct kp_scheduler_options o = { .inline_bind = true };
	ok(kp_scheduler_new(cfg, r, NULL, &o, &s, &e) == 0, "scheduler with the module");
	docs = ts_yaml("kind: Node\nmetadata: {name: d, labels: {draining: \"true\"}}\nstatus: {allocatable: {cpu: \"1\", memory: 1Gi, pods: \"9\"}}\n"
		       "---\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c}]}\n");
	kp_scheduler_apply(s, KP_SCHED_ADDED, json_array_get(docs, 0), &e);
	kp_scheduler_apply(s, KP_SCHED_ADDED, json_array_get(docs, 1), &e);
	json_t *tr = NULL;
	kp_scheduler_schedule_one(s, 0, &tr);
	is_str(tr_filtered(tr, "d"), "node(s) are draining", "the module's filter ran");
	json_decref(tr);
	json_decref(docs);
	kp_scheduler_free(s);
	kp_sched_config_free(cfg);

	docs = ts_yaml("profiles:\n- pluginConfig:\n  - {name: TestDraining, args: {fail: true}}\n  plugins:\n    filter:\n      enabled: [{name: TestDraining}]\n");
	kp_sched_config_parse(json_array_get(docs, 0), &cfg, &e);
	json_decref(docs);
	int rc = kp_scheduler_new(cfg, r, NULL, &o, &s, &e);
	ok(rc == KP_EINVAL && e && strstr(e, "plugin \"TestDraining\" failed to start: asked to fail"),
	   "failing init stops with its message: %s", e);
	kp_sched_config_free(cfg);

	docs = ts_yaml("profiles:\n- plugins:\n    filter:\n      enabled: [{name: WrongAbi}]\n");
	kp_sched_config_parse(json_array_get(docs, 0), &cfg, &e);
	json_decref(docs);
	rc = kp_scheduler_new(cfg, r, NULL, &o, &s, &e);
	ok(rc == KP_ENOENT && e &&
	   strstr(e, "profiles[0].plugins.filter.enabled[0]: plugin \"WrongAbi\" is not loaded") &&
	   strstr(e, "refused modules:") && strstr(e, "built for plugin ABI 2"),
	   "a needed plugin that was refused: the config error lists refusals: %s", e);
	kp_sched_config_free(cfg);
	free(e);
	kp_registry_free(r);
	return done_testing();
}

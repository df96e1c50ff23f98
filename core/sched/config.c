/*
 * config.c - KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1):
 * strict parsing (unknown fields are errors naming the field), kube's
 * defaults, and kube's merge of a profile's plugins with the default set
 * (mergePluginSet: defaults keep their order, a re-listed default is
 * replaced in place, other custom plugins are appended, '*' disables all).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/error.h>
#include <kplane/object.h>
#include <kplane/yaml.h>

#include "core/sched/internal.h"

const char *const kp__point_names[KP__NPOINTS] = {
	"preEnqueue", "queueSort", "preFilter", "filter", "postFilter", "preScore",
	"score", "reserve", "permit", "preBind", "bind", "postBind", "multiPoint",
};

/*
 * kube-scheduler v1's default multiPoint list, without the in-tree cloud
 * volume plugins kplane does not ship (VolumeRestrictions, EBSLimits,
 * GCEPDLimits, NodeVolumeLimits, AzureDiskLimits, VolumeZone): see
 * docs/scheduler.md.
 */
const struct kp__default_plugin kp__default_plugins[] = {
	{ "SchedulingGates", 0 },
	{ "PrioritySort", 0 },
	{ "NodeUnschedulable", 0 },
	{ "NodeName", 0 },
	{ "TaintToleration", 3 },
	{ "NodeAffinity", 2 },
	{ "NodePorts", 0 },
	{ "NodeResourcesFit", 1 },
	{ "VolumeBinding", 0 },
	{ "PodTopologySpread", 2 },
	{ "InterPodAffinity", 2 },
	{ "DefaultPreemption", 0 },
	{ "NodeResourcesBalancedAllocation", 1 },
	{ "ImageLocality", 1 },
	{ "DefaultBinder", 0 },
	{ NULL, 0 },
};

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

/* Fails when obj has a key outside `known` (NULL-terminated). */
static int check_fields(const json_t *obj, const char *const *known, const char *where,
			char **errmsg)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)obj, k, v) {
		bool ok = false;
		for (size_t i = 0; known[i]; i++)
			if (!strcmp(k, known[i]))
				ok = true;
		if (!ok)
			return kp_error_set(errmsg, KP_EINVAL, "%s%s%s: unknown field", where,
					    *where ? "." : "", k);
	}
	return 0;
}

static void set_release(struct kp__cfg_set *s)
{
	for (uint32_t i = 0; i < s->nenabled; i++) {
		free(s->enabled[i].name);
		free(s->enabled[i].where);
	}
	for (uint32_t i = 0; i < s->ndisabled; i++) {
		free(s->disabled[i].name);
		free(s->disabled[i].where);
	}
	free(s->enabled);
	free(s->disabled);
	memset(s, 0, sizeof(*s));
}

static int plugin_list(const json_t *arr, bool enabled, const char *where,
		       struct kp__cfg_plugin **out, uint32_t *nout, char **errmsg)
{
	*out = NULL;
	*nout = 0;
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return kp_error_set(errmsg, KP_EINVAL, "%s: must be a list", where);
	size_t n = json_array_size(arr);
	struct kp__cfg_plugin *v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return KP_ENOMEM;
	size_t i;
	json_t *item;
	static const char *const known[] = { "name", "weight", NULL };
	json_array_foreach(arr, i, item) {
		char *w = fmt("%s[%zu]", where, i);
		int rc = 0;
		if (!json_is_object(item))
			rc = kp_error_set(errmsg, KP_EINVAL, "%s: must be an object", w);
		else if ((rc = check_fields(item, known, w, errmsg)) == 0) {
			const char *name = json_string_value(json_object_get(item, "name"));
			json_t *wt = json_object_get(item, "weight");
			if (!name || !*name)
				rc = kp_error_set(errmsg, KP_EINVAL, "%s.name: Required value", w);
			else if (wt && !json_is_null(wt) && !json_is_integer(wt))
				rc = kp_error_set(errmsg, KP_EINVAL, "%s.weight: must be an integer", w);
			else if (wt && json_is_integer(wt) &&
				 (json_integer_value(wt) < 0 || json_integer_value(wt) > 1000000))
				rc = kp_error_set(errmsg, KP_EINVAL,
						  "%s.weight: Invalid value: %lld: must be between 0 and 1000000",
						  w, (long long)json_integer_value(wt));
			else if (!enabled && wt && !json_is_null(wt))
				rc = kp_error_set(errmsg, KP_EINVAL, "%s.weight: not allowed in disabled", w);
			else {
				v[i].name = strdup(name);
				v[i].weight = json_is_integer(wt) ? (int32_t)json_integer_value(wt) : 0;
				v[i].where = w;
				w = NULL;
				(*nout)++;
			}
		}
		free(w);
		if (rc < 0) {
			for (uint32_t j = 0; j < *nout; j++) {
				free(v[j].name);
				free(v[j].where);
			}
			free(v);
			*nout = 0;
			return rc;
		}
	}
	*out = v;
	return 0;
}

static bool set_has(const struct kp__cfg_plugin *v, uint32_t n, const char *name)
{
	for (uint32_t i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return true;
	return false;
}

static void copy_plugin(struct kp__cfg_plugin *dst, const struct kp__cfg_plugin *src)
{
	dst->name = xstrdup(src->name);
	dst->weight = src->weight;
	dst->where = xstrdup(src->where);
}

/* kube's mergePluginSet(default, custom) into out. */
static int merge_set(const struct kp__cfg_set *def, const struct kp__cfg_set *cus,
		     struct kp__cfg_set *out)
{
	memset(out, 0, sizeof(*out));
	uint32_t ndis = def->ndisabled + cus->ndisabled;
	uint32_t nen = def->nenabled + cus->nenabled;
	out->disabled = calloc(ndis ? ndis : 1, sizeof(*out->disabled));
	out->enabled = calloc(nen ? nen : 1, sizeof(*out->enabled));
	bool *replaced = calloc(cus->nenabled ? cus->nenabled : 1, sizeof(bool));
	if (!out->disabled || !out->enabled || !replaced) {
		free(replaced);
		set_release(out);
		return KP_ENOMEM;
	}
	for (uint32_t i = 0; i < cus->ndisabled; i++)
		copy_plugin(&out->disabled[out->ndisabled++], &cus->disabled[i]);
	for (uint32_t i = 0; i < def->ndisabled; i++)
		copy_plugin(&out->disabled[out->ndisabled++], &def->disabled[i]);
	if (!set_has(out->disabled, out->ndisabled, "*")) {
		for (uint32_t i = 0; i < def->nenabled; i++) {
			const struct kp__cfg_plugin *d = &def->enabled[i];
			if (set_has(out->disabled, out->ndisabled, d->name))
				continue;
			/* the last custom entry of that name wins, as Go's map does */
			int idx = -1;
			for (uint32_t j = 0; j < cus->nenabled; j++)
				if (!strcmp(cus->enabled[j].name, d->name))
					idx = (int)j;
			if (idx >= 0) {
				replaced[idx] = true;
				d = &cus->enabled[idx];
			}
			copy_plugin(&out->enabled[out->nenabled++], d);
		}
	}
	for (uint32_t j = 0; j < cus->nenabled; j++)
		if (!replaced[j])
			copy_plugin(&out->enabled[out->nenabled++], &cus->enabled[j]);
	free(replaced);
	return 0;
}

static int default_profile_sets(struct kp__cfg_set def[KP__NPOINTS])
{
	memset(def, 0, sizeof(struct kp__cfg_set) * KP__NPOINTS);
	size_t n = 0;
	while (kp__default_plugins[n].name)
		n++;
	struct kp__cfg_set *m = &def[KP__PT_MULTI];
	m->enabled = calloc(n, sizeof(*m->enabled));
	if (!m->enabled)
		return KP_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		m->enabled[i].name = strdup(kp__default_plugins[i].name);
		m->enabled[i].weight = kp__default_plugins[i].weight;
		m->enabled[i].where = fmt("default plugins.multiPoint.enabled[%zu]", i);
	}
	m->nenabled = (uint32_t)n;
	return 0;
}

static void profile_release(struct kp__cfg_profile *p)
{
	free(p->scheduler_name);
	free(p->where);
	for (int i = 0; i < KP__NPOINTS; i++)
		set_release(&p->points[i]);
	json_decref(p->plugin_config);
}

void kp_sched_config_free(struct kp_sched_config *c)
{
	if (!c)
		return;
	for (uint32_t i = 0; i < c->nprofiles; i++)
		profile_release(&c->profiles[i]);
	free(c->profiles);
	if (c->plugin_dirs)
		for (char **d = c->plugin_dirs; *d; d++)
			free(*d);
	free(c->plugin_dirs);
	free(c);
}

static int int_field(const json_t *obj, const char *key, const char *where, int64_t min,
		     int64_t max, int64_t *out, bool *given, char **errmsg)
{
	json_t *v = json_object_get(obj, key);
	if (given)
		*given = false;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return kp_error_set(errmsg, KP_EINVAL, "%s%s: Invalid value: must be an integer", where,
				    key);
	int64_t x = json_integer_value(v);
	if (x < min || x > max)
		return kp_error_set(errmsg, KP_EINVAL, "%s%s: Invalid value: %lld: must be between %lld and %lld",
				    where, key, (long long)x, (long long)min, (long long)max);
	*out = x;
	if (given)
		*given = true;
	return 0;
}

static int parse_profile(const json_t *pj, size_t idx, struct kp__cfg_profile *p, char **errmsg)
{
	static const char *const known[] = { "schedulerName", "plugins", "pluginConfig",
					     "percentageOfNodesToScore", NULL };
	char where[64];
	snprintf(where, sizeof(where), "profiles[%zu]", idx);
	p->where = strdup(where);
	p->percentage = -1;
	p->plugin_config = json_object();
	if (!json_is_object(pj))
		return kp_error_set(errmsg, KP_EINVAL, "%s: must be an object", where);
	int rc = check_fields(pj, known, where, errmsg);
	if (rc < 0)
		return rc;
	const char *sn = json_string_value(json_object_get(pj, "schedulerName"));
	json_t *snj = json_object_get(pj, "schedulerName");
	if (snj && !json_is_string(snj))
		return kp_error_set(errmsg, KP_EINVAL, "%s.schedulerName: must be a string", where);
	p->scheduler_name = strdup(sn && *sn ? sn : "default-scheduler");
	char w2[96];
	snprintf(w2, sizeof(w2), "%s.", where);
	int64_t pct;
	bool given;
	if ((rc = int_field(pj, "percentageOfNodesToScore", w2, 0, 100, &pct, &given, errmsg)) < 0)
		return rc;
	if (given)
		p->percentage = (int32_t)pct;

	struct kp__cfg_set def[KP__NPOINTS], cus[KP__NPOINTS];
	memset(cus, 0, sizeof(cus));
	if ((rc = default_profile_sets(def)) < 0)
		return rc;
	json_t *plugins = json_object_get(pj, "plugins");
	if (plugins && !json_is_null(plugins)) {
		char pw[96];
		snprintf(pw, sizeof(pw), "%s.plugins", where);
		if (!json_is_object(plugins)) {
			rc = kp_error_set(errmsg, KP_EINVAL, "%s: must be an object", pw);
			goto out;
		}
		const char *known_pts[KP__NPOINTS + 1];
		for (int i = 0; i < KP__NPOINTS; i++)
			known_pts[i] = kp__point_names[i];
		known_pts[KP__NPOINTS] = NULL;
		if ((rc = check_fields(plugins, known_pts, pw, errmsg)) < 0)
			goto out;
		for (int i = 0; i < KP__NPOINTS; i++) {
			json_t *set = json_object_get(plugins, kp__point_names[i]);
			if (!set || json_is_null(set))
				continue;
			char sw[160];
			snprintf(sw, sizeof(sw), "%s.%s", pw, kp__point_names[i]);
			static const char *const known_set[] = { "enabled", "disabled", NULL };
			if (!json_is_object(set)) {
				rc = kp_error_set(errmsg, KP_EINVAL, "%s: must be an object", sw);
				goto out;
			}
			if ((rc = check_fields(set, known_set, sw, errmsg)) < 0)
				goto out;
			char ew[200];
			snprintf(ew, sizeof(ew), "%s.enabled", sw);
			if ((rc = plugin_list(json_object_get(set, "enabled"), true, ew,
					      &cus[i].enabled, &cus[i].nenabled, errmsg)) < 0)
				goto out;
			snprintf(ew, sizeof(ew), "%s.disabled", sw);
			if ((rc = plugin_list(json_object_get(set, "disabled"), false, ew,
					      &cus[i].disabled, &cus[i].ndisabled, errmsg)) < 0)
				goto out;
		}
	}
	for (int i = 0; i < KP__NPOINTS; i++)
		if ((rc = merge_set(&def[i], &cus[i], &p->points[i])) < 0)
			goto out;

	json_t *pc = json_object_get(pj, "pluginConfig");
	if (pc && !json_is_null(pc)) {
		if (!json_is_array(pc)) {
			rc = kp_error_set(errmsg, KP_EINVAL, "%s.pluginConfig: must be a list", where);
			goto out;
		}
		size_t i;
		json_t *item;
		static const char *const known_pc[] = { "name", "args", NULL };
		json_array_foreach(pc, i, item) {
			char cw[160];
			snprintf(cw, sizeof(cw), "%s.pluginConfig[%zu]", where, i);
			if (!json_is_object(item)) {
				rc = kp_error_set(errmsg, KP_EINVAL, "%s: must be an object", cw);
				goto out;
			}
			if ((rc = check_fields(item, known_pc, cw, errmsg)) < 0)
				goto out;
			const char *name = json_string_value(json_object_get(item, "name"));
			if (!name || !*name) {
				rc = kp_error_set(errmsg, KP_EINVAL, "%s.name: Required value", cw);
				goto out;
			}
			if (json_object_get(p->plugin_config, name)) {
				rc = kp_error_set(errmsg, KP_EINVAL, "%s.name: Duplicate value: \"%s\"", cw,
						  name);
				goto out;
			}
			json_t *args = json_object_get(item, "args");
			if (args && !json_is_null(args) && !json_is_object(args)) {
				rc = kp_error_set(errmsg, KP_EINVAL, "%s.args: must be an object", cw);
				goto out;
			}
			json_object_set_new(p->plugin_config, name,
					    args && !json_is_null(args) ? json_deep_copy(args) : json_object());
		}
	}
out:
	for (int i = 0; i < KP__NPOINTS; i++) {
		set_release(&def[i]);
		set_release(&cus[i]);
	}
	return rc;
}

int kp_sched_config_parse(const json_t *cfg, struct kp_sched_config **out, char **errmsg)
{
	static const char *const known[] = {
		"apiVersion", "kind", "parallelism", "percentageOfNodesToScore",
		"podInitialBackoffSeconds", "podMaxBackoffSeconds", "profiles", "pluginDirs",
		"leaderElection", "clientConnection", "healthzBindAddress", "metricsBindAddress",
		"enableProfiling", "enableContentionProfiling", "delayCacheUntilActive",
		"extenders", NULL,
	};
	struct kp_sched_config *c = calloc(1, sizeof(*c));
	if (!c)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	c->parallelism = 16;
	c->percentage = 0;
	c->initial_backoff_s = 1;
	c->max_backoff_s = 10;
	int rc = 0;
	json_t *profiles = NULL;
	if (cfg && !json_is_null(cfg)) {
		if (!json_is_object(cfg)) {
			rc = kp_error_set(errmsg, KP_EINVAL, "scheduler configuration: must be an object");
			goto fail;
		}
		if ((rc = check_fields(cfg, known, "", errmsg)) < 0)
			goto fail;
		const char *av = json_string_value(json_object_get(cfg, "apiVersion"));
		const char *kind = json_string_value(json_object_get(cfg, "kind"));
		if (av && strcmp(av, "kubescheduler.config.k8s.io/v1")) {
			rc = kp_error_set(errmsg, KP_EINVAL,
					  "apiVersion: Unsupported value: \"%s\": supported values: \"kubescheduler.config.k8s.io/v1\"",
					  av);
			goto fail;
		}
		if (kind && strcmp(kind, "KubeSchedulerConfiguration")) {
			rc = kp_error_set(errmsg, KP_EINVAL,
					  "kind: Unsupported value: \"%s\": supported values: \"KubeSchedulerConfiguration\"",
					  kind);
			goto fail;
		}
		json_t *ext = json_object_get(cfg, "extenders");
		if (ext && json_is_array(ext) && json_array_size(ext)) {
			rc = kp_error_set(errmsg, KP_ENOTSUP,
					  "extenders: not supported by kplane: write a plugin instead (docs/plugins.md)");
			goto fail;
		}
		int64_t v;
		bool given;
		if ((rc = int_field(cfg, "parallelism", "", 1, 1024, &v, &given, errmsg)) < 0)
			goto fail;
		if (given)
			c->parallelism = (int32_t)v;
		if ((rc = int_field(cfg, "percentageOfNodesToScore", "", 0, 100, &v, &given, errmsg)) < 0)
			goto fail;
		if (given)
			c->percentage = (int32_t)v;
		if ((rc = int_field(cfg, "podInitialBackoffSeconds", "", 1, 86400, &c->initial_backoff_s,
				    NULL, errmsg)) < 0)
			goto fail;
		if ((rc = int_field(cfg, "podMaxBackoffSeconds", "", 1, 86400, &c->max_backoff_s, NULL,
				    errmsg)) < 0)
			goto fail;
		if (c->max_backoff_s < c->initial_backoff_s) {
			rc = kp_error_set(errmsg, KP_EINVAL,
					  "podMaxBackoffSeconds: Invalid value: %lld: must be greater than or equal to podInitialBackoffSeconds",
					  (long long)c->max_backoff_s);
			goto fail;
		}
		json_t *dirs = json_object_get(cfg, "pluginDirs");
		if (dirs && !json_is_null(dirs)) {
			if (!json_is_array(dirs)) {
				rc = kp_error_set(errmsg, KP_EINVAL, "pluginDirs: must be a list of directories");
				goto fail;
			}
			c->plugin_dirs = calloc(json_array_size(dirs) + 1, sizeof(char *));
			if (!c->plugin_dirs)
				goto nomem;
			size_t i;
			json_t *d;
			json_array_foreach(dirs, i, d) {
				if (!json_is_string(d) || !*json_string_value(d)) {
					rc = kp_error_set(errmsg, KP_EINVAL,
							  "pluginDirs[%zu]: must be a non-empty string", i);
					goto fail;
				}
				c->plugin_dirs[i] = strdup(json_string_value(d));
			}
		}
		profiles = json_object_get(cfg, "profiles");
		if (profiles && !json_is_null(profiles) && !json_is_array(profiles)) {
			rc = kp_error_set(errmsg, KP_EINVAL, "profiles: must be a list");
			goto fail;
		}
	}
	if (!c->plugin_dirs) {
		c->plugin_dirs = calloc(1, sizeof(char *));
		if (!c->plugin_dirs)
			goto nomem;
	}
	size_t np = profiles && json_is_array(profiles) ? json_array_size(profiles) : 0;
	c->profiles = calloc(np ? np : 1, sizeof(*c->profiles));
	if (!c->profiles)
		goto nomem;
	if (np == 0) {
		c->nprofiles = 1;
		json_t *empty = json_object();
		rc = parse_profile(empty, 0, &c->profiles[0], errmsg);
		json_decref(empty);
		if (rc < 0)
			goto fail;
	} else {
		for (size_t i = 0; i < np; i++) {
			c->nprofiles++;
			if ((rc = parse_profile(json_array_get(profiles, i), i, &c->profiles[i], errmsg)) < 0)
				goto fail;
			for (size_t j = 0; j < i; j++)
				if (!strcmp(c->profiles[j].scheduler_name, c->profiles[i].scheduler_name)) {
					rc = kp_error_set(errmsg, KP_EINVAL,
							  "profiles[%zu].schedulerName: Duplicate value: \"%s\"",
							  i, c->profiles[i].scheduler_name);
					goto fail;
				}
		}
	}
	*out = c;
	return 0;
nomem:
	rc = kp_error_set(errmsg, KP_ENOMEM, "out of memory");
fail:
	kp_sched_config_free(c);
	return rc;
}

int kp_sched_config_load(const char *path, struct kp_sched_config **out, char **errmsg)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return kp_error_set(errmsg, KP_ENOENT, "%s: cannot open: %m", path);
	char *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len + 4096 > cap) {
			cap = cap ? cap * 2 : 65536;
			char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
			}
			buf = nb;
		}
		size_t n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	fclose(f);
	json_t *cfg = NULL;
	char *e = NULL;
	int rc = kp_yaml_or_json_load_one(buf, len, &cfg, &e);
	free(buf);
	if (rc < 0) {
		kp_error_set(errmsg, rc, "%s: %s", path, e ? e : "cannot parse");
		free(e);
		return rc;
	}
	rc = kp_sched_config_parse(cfg, out, &e);
	json_decref(cfg);
	if (rc < 0) {
		kp_error_set(errmsg, rc, "%s: %s", path, e ? e : "invalid");
		free(e);
	}
	return rc;
}

const char *const *kp_sched_config_plugin_dirs(const struct kp_sched_config *c)
{
	return (const char *const *)c->plugin_dirs;
}

json_t *kp_sched_config_dump(const struct kp_sched_config *c)
{
	json_t *root = json_pack("{s:s,s:s,s:i,s:i,s:I,s:I}", "apiVersion",
				 "kubescheduler.config.k8s.io/v1", "kind", "KubeSchedulerConfiguration",
				 "parallelism", c->parallelism, "percentageOfNodesToScore", c->percentage,
				 "podInitialBackoffSeconds", (json_int_t)c->initial_backoff_s,
				 "podMaxBackoffSeconds", (json_int_t)c->max_backoff_s);
	json_t *profiles = json_array();
	for (uint32_t i = 0; i < c->nprofiles; i++) {
		const struct kp__cfg_profile *p = &c->profiles[i];
		json_t *pj = json_pack("{s:s}", "schedulerName", p->scheduler_name);
		json_t *plugins = json_object();
		for (int k = 0; k < KP__NPOINTS; k++) {
			const struct kp__cfg_set *s = &p->points[k];
			if (!s->nenabled && !s->ndisabled)
				continue;
			json_t *en = json_array(), *dis = json_array();
			for (uint32_t j = 0; j < s->nenabled; j++) {
				json_t *e = json_pack("{s:s}", "name", s->enabled[j].name);
				if (s->enabled[j].weight)
					json_object_set_new(e, "weight", json_integer(s->enabled[j].weight));
				json_array_append_new(en, e);
			}
			for (uint32_t j = 0; j < s->ndisabled; j++)
				json_array_append_new(dis, json_pack("{s:s}", "name", s->disabled[j].name));
			json_t *sj = json_object();
			json_object_set_new(sj, "enabled", en);
			if (s->ndisabled)
				json_object_set_new(sj, "disabled", dis);
			else
				json_decref(dis);
			json_object_set_new(plugins, kp__point_names[k], sj);
		}
		json_object_set_new(pj, "plugins", plugins);
		json_t *pc = json_array();
		const char *k;
		json_t *v;
		json_object_foreach(p->plugin_config, k, v)
			json_array_append_new(pc, json_pack("{s:s,s:O}", "name", k, "args", v));
		json_object_set_new(pj, "pluginConfig", pc);
		if (p->percentage >= 0)
			json_object_set_new(pj, "percentageOfNodesToScore", json_integer(p->percentage));
		json_array_append_new(profiles, pj);
	}
	json_object_set_new(root, "profiles", profiles);
	json_t *dirs = json_array();
	for (char **d = c->plugin_dirs; d && *d; d++)
		json_array_append_new(dirs, json_string(*d));
	json_object_set_new(root, "pluginDirs", dirs);
	return root;
}

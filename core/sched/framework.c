/*
 * framework.c - profiles: plugin instances, their declarative args, and the
 * per-extension-point lists built with kube-scheduler's multiPoint
 * expansion (framework.go expandMultiPointPlugins): plugins re-listed at a
 * specific point come first, then multiPoint ones, then the remaining
 * specific ones; score weights from the score point win over multiPoint's,
 * and 0 means 1.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/error.h>

#include "core/sched/internal.h"

/* ------------------------------------------------------------------ */
/* args                                                               */

static const char *type_name(int t)
{
	switch (t) {
	case KP_ARG_BOOL: return "a boolean";
	case KP_ARG_INT: return "an integer";
	case KP_ARG_FLOAT: return "a number";
	case KP_ARG_STRING: return "a string";
	case KP_ARG_STRINGS: return "a list of strings";
	case KP_ARG_JSON: return "a value";
	}
	return "?";
}

static int store_arg(const struct kp_arg_spec *a, void *args, json_t *v, const char *where,
		     char **errmsg)
{
	char *field = (char *)args + a->offset;
	switch (a->type) {
	case KP_ARG_BOOL:
		if (!json_is_boolean(v))
			goto type;
		*(bool *)field = json_is_true(v);
		return 0;
	case KP_ARG_INT: {
		if (!json_is_integer(v))
			goto type;
		int64_t x = json_integer_value(v);
		if (a->min < a->max && (x < a->min || x > a->max))
			return kp_error_set(errmsg, KP_EINVAL,
					    "%s.%s: Invalid value: %lld: must be between %lld and %lld",
					    where, a->name, (long long)x, (long long)a->min,
					    (long long)a->max);
		*(int64_t *)field = x;
		return 0;
	}
	case KP_ARG_FLOAT:
		if (!json_is_number(v))
			goto type;
		*(double *)field = json_number_value(v);
		return 0;
	case KP_ARG_STRING:
		if (!json_is_string(v))
			goto type;
		free(*(char **)field);
		*(char **)field = strdup(json_string_value(v));
		return 0;
	case KP_ARG_STRINGS: {
		if (!json_is_array(v))
			goto type;
		size_t n = json_array_size(v), i;
		json_t *s;
		json_array_foreach(v, i, s)
			if (!json_is_string(s))
				return kp_error_set(errmsg, KP_EINVAL, "%s.%s[%zu]: must be a string",
						    where, a->name, i);
		char **old = *(char ***)field;
		if (old) {
			for (char **p = old; *p; p++)
				free(*p);
			free(old);
		}
		char **list = calloc(n + 1, sizeof(char *));
		if (!list)
			return KP_ENOMEM;
		json_array_foreach(v, i, s)
			list[i] = strdup(json_string_value(s));
		*(char ***)field = list;
		return 0;
	}
	case KP_ARG_JSON:
		/* the resolved args JSON keeps the reference alive */
		*(const json_t **)field = v;
		return 0;
	}
	return kp_error_set(errmsg, KP_EINVAL, "%s.%s: bad argument type in the plugin's spec",
			    where, a->name);
type:
	return kp_error_set(errmsg, KP_EINVAL, "%s.%s: Invalid value: must be %s", where, a->name,
			    type_name(a->type));
}

void kp__args_free(const struct kp_plugin *pl, void *args)
{
	if (!args)
		return;
	for (const struct kp_arg_spec *a = pl->args; a && a->name; a++) {
		char *field = (char *)args + a->offset;
		if (a->type == KP_ARG_STRING) {
			free(*(char **)field);
		} else if (a->type == KP_ARG_STRINGS) {
			char **l = *(char ***)field;
			for (char **p = l; p && *p; p++)
				free(*p);
			free(l);
		}
	}
	free(args);
}

int kp__args_fill(const struct kp_plugin *pl, const json_t *given, const char *where,
		  void **out, json_t **resolved, char **errmsg)
{
	*out = NULL;
	*resolved = json_object();
	if (!*resolved)
		return KP_ENOMEM;
	if (given && json_is_object(given)) {
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)given, k, v) {
			if (!strcmp(k, "apiVersion") || !strcmp(k, "kind"))
				continue;
			bool known = false;
			for (const struct kp_arg_spec *a = pl->args; a && a->name; a++)
				if (!strcmp(a->name, k))
					known = true;
			if (!known)
				return kp_error_set(errmsg, KP_EINVAL, "%s.%s: unknown field", where, k);
		}
	}
	if (!pl->args)
		return 0;
	void *args = calloc(1, pl->args_size);
	if (!args)
		return KP_ENOMEM;
	int rc = 0;
	for (const struct kp_arg_spec *a = pl->args; a->name; a++) {
		json_t *v = given ? json_object_get(given, a->name) : NULL;
		if (v && !json_is_null(v)) {
			json_object_set(*resolved, a->name, v);
		} else if (a->def) {
			json_error_t je;
			json_t *d = json_loads(a->def, JSON_DECODE_ANY, &je);
			if (!d) {
				rc = kp_error_set(errmsg, KP_EINVAL, "%s.%s: the plugin's default is not JSON",
						  where, a->name);
				break;
			}
			json_object_set_new(*resolved, a->name, d);
		} else {
			continue;
		}
		if ((rc = store_arg(a, args, json_object_get(*resolved, a->name), where, errmsg)) < 0)
			break;
	}
	if (rc < 0) {
		kp__args_free(pl, args);
		return rc;
	}
	*out = args;
	return 0;
}

/* ------------------------------------------------------------------ */
/* profile                                                            */

static bool implements(const struct kp_sched_ops *o, int pt)
{
	switch (pt) {
	case KP__PT_PRE_ENQUEUE: return o->pre_enqueue;
	case KP__PT_QUEUE_SORT: return o->less;
	case KP__PT_PRE_FILTER: return o->pre_filter;
	case KP__PT_FILTER: return o->filter;
	case KP__PT_POST_FILTER: return o->post_filter;
	case KP__PT_PRE_SCORE: return o->pre_score;
	case KP__PT_SCORE: return o->score;
	case KP__PT_RESERVE: return o->reserve || o->unreserve;
	case KP__PT_PERMIT: return o->permit;
	case KP__PT_PRE_BIND: return o->pre_bind;
	case KP__PT_BIND: return o->bind;
	case KP__PT_POST_BIND: return o->post_bind;
	}
	return false;
}

static const char *const point_types[KP__NPOINTS] = {
	"PreEnqueuePlugin", "QueueSortPlugin", "PreFilterPlugin", "FilterPlugin",
	"PostFilterPlugin", "PreScorePlugin", "ScorePlugin", "ReservePlugin", "PermitPlugin",
	"PreBindPlugin", "BindPlugin", "PostBindPlugin", "MultiPoint",
};

static struct kp__inst *inst_find(struct kp__profile *p, const char *name)
{
	for (uint32_t i = 0; i < p->ninsts; i++)
		if (!strcmp(p->insts[i].plugin->name, name))
			return &p->insts[i];
	return NULL;
}

/* A message for a plugin that is not loaded, mentioning refused modules. */
static int missing_plugin(struct kp_registry *reg, const char *name, const char *where,
			  char **errmsg)
{
	size_t cap = 1024;
	char *extra = calloc(1, cap);
	if (!extra)
		return KP_ENOMEM;
	for (size_t i = 0; i < reg->nrefused; i++) {
		size_t used = strlen(extra);
		snprintf(extra + used, cap - used, "%s%s", i ? "; " : "; refused modules: ",
			 reg->refused_reason[i]);
	}
	int rc = kp_error_set(errmsg, KP_ENOENT,
			      "%s: plugin \"%s\" is not loaded: put its module in a plugin directory (pluginDirs, $KPLANE_PLUGIN_PATH or %s) or remove it from the profile%s",
			      where, name, KP_PLUGIN_DIR_TEXT, extra);
	free(extra);
	return rc;
}

int kp__profile_build(struct kp_scheduler *s, const struct kp__cfg_profile *cp,
		      struct kp_registry *reg, bool allow_missing, struct kp__profile *p,
		      char **errmsg)
{
	memset(p, 0, sizeof(*p));
	p->sched = s;
	p->name = strdup(cp->scheduler_name);
	p->name_id = kp_intern(cp->scheduler_name);
	p->percentage = cp->percentage;
	size_t total = 0;
	for (int pt = 0; pt < KP__NPOINTS; pt++)
		total += cp->points[pt].nenabled;
	p->insts = calloc(total ? total : 1, sizeof(*p->insts));
	if (!p->name || !p->insts)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	/* skipped[] marks names dropped with allow_missing */
	int rc;
	for (int pt = 0; pt < KP__NPOINTS; pt++) {
		const struct kp__cfg_set *set = &cp->points[pt];
		for (uint32_t i = 0; i < set->nenabled; i++) {
			const char *name = set->enabled[i].name;
			if (inst_find(p, name))
				continue;
			const struct kp_plugin *pl = kp_registry_find(reg, name);
			if (!pl) {
				if (allow_missing) {
					kp__log(s, KP_LOG_WARN,
						"profile %s: plugin \"%s\" is not loaded; running without it",
						p->name, name);
					continue;
				}
				return missing_plugin(reg, name, set->enabled[i].where, errmsg);
			}
			if (pl->kind != KP_PLUGIN_SCHED)
				return kp_error_set(errmsg, KP_EINVAL,
						    "%s: plugin \"%s\" is not a scheduler plugin",
						    set->enabled[i].where, name);
			struct kp__inst *in = &p->insts[p->ninsts];
			in->plugin = pl;
			in->slot = (int)p->ninsts;
			size_t sz = pl->sched->size < sizeof(in->ops) ? pl->sched->size : sizeof(in->ops);
			memcpy(&in->ops, pl->sched, sz);
			in->ops.size = (uint32_t)sizeof(in->ops);
			in->handle.sched = s;
			in->handle.profile = p;
			in->handle.inst = in;
			p->ninsts++;
		}
	}
	if (p->ninsts > 64)
		return kp_error_set(errmsg, KP_E2BIG, "%s: more than 64 plugins in one profile",
				    cp->where);
	/* args and init, in order of first appearance */
	for (uint32_t i = 0; i < p->ninsts; i++) {
		struct kp__inst *in = &p->insts[i];
		char where[256];
		snprintf(where, sizeof(where), "%s.pluginConfig[%s].args", cp->where, in->plugin->name);
		json_t *given = json_object_get(cp->plugin_config, in->plugin->name);
		if ((rc = kp__args_fill(in->plugin, given, where, &in->args, &in->args_json, errmsg)) < 0)
			return rc;
		if (in->ops.init) {
			struct kp_sched_init init = {
				.args = in->args,
				.raw_args = given,
				.handle = &in->handle,
				.slot = in->slot,
				.profile = p->name,
			};
			char *e = NULL;
			rc = in->ops.init(&init, &in->self, &e);
			if (rc < 0) {
				kp_error_set(errmsg, rc, "%s: plugin \"%s\" failed to start: %s", where,
					     in->plugin->name, e ? e : kp_strerror(rc));
				free(e);
				return rc;
			}
		}
		in->inited = true;
		if (in->ops.events_to_register)
			in->nevents = (uint32_t)in->ops.events_to_register(
				in->self, in->events, sizeof(in->events) / sizeof(in->events[0]));
	}
	/* extension point lists */
	const struct kp__cfg_set *multi = &cp->points[KP__PT_MULTI];
	for (int pt = 0; pt < KP__PT_MULTI; pt++) {
		const struct kp__cfg_set *set = &cp->points[pt];
		struct kp__pt_entry *list = calloc(p->ninsts ? p->ninsts : 1, sizeof(*list));
		if (!list)
			return KP_ENOMEM;
		p->pt[pt] = list;
		uint32_t n = 0;
		/* specific entries, validated */
		struct kp__inst *specific[64];
		const struct kp__cfg_plugin *specific_cfg[64];
		uint32_t nspec = 0;
		for (uint32_t i = 0; i < set->nenabled; i++) {
			struct kp__inst *in = inst_find(p, set->enabled[i].name);
			if (!in)
				continue; /* dropped (allow_missing) */
			if (!implements(&in->ops, pt))
				return kp_error_set(errmsg, KP_EINVAL,
						    "%s: plugin \"%s\" does not extend %s",
						    set->enabled[i].where, in->plugin->name, point_types[pt]);
			for (uint32_t j = 0; j < nspec; j++)
				if (specific[j] == in)
					return kp_error_set(errmsg, KP_EINVAL,
							    "%s: plugin \"%s\" already registered as \"%s\"",
							    set->enabled[i].where, in->plugin->name,
							    point_types[pt]);
			if (nspec < 64) {
				specific_cfg[nspec] = &set->enabled[i];
				specific[nspec++] = in;
			}
		}
		bool all_disabled = false;
		for (uint32_t i = 0; i < set->ndisabled; i++)
			if (!strcmp(set->disabled[i].name, "*"))
				all_disabled = true;
		bool override[64] = { false };
		struct kp__inst *mp[64];
		const struct kp__cfg_plugin *mp_cfg[64];
		uint32_t nmp = 0;
		if (!all_disabled) {
			for (uint32_t i = 0; i < multi->nenabled; i++) {
				struct kp__inst *in = inst_find(p, multi->enabled[i].name);
				if (!in || !implements(&in->ops, pt))
					continue;
				bool disabled = false;
				for (uint32_t j = 0; j < set->ndisabled; j++)
					if (!strcmp(set->disabled[j].name, in->plugin->name))
						disabled = true;
				if (disabled)
					continue;
				bool spec = false;
				for (uint32_t j = 0; j < nspec; j++)
					if (specific[j] == in) {
						override[j] = true;
						spec = true;
					}
				if (spec)
					continue;
				for (uint32_t j = 0; j < nmp; j++)
					if (mp[j] == in)
						return kp_error_set(errmsg, KP_EINVAL,
								    "%s: plugin \"%s\" already registered as \"%s\"",
								    multi->enabled[i].where, in->plugin->name,
								    point_types[pt]);
				mp_cfg[nmp] = &multi->enabled[i];
				mp[nmp++] = in;
			}
		}
		for (uint32_t j = 0; j < nspec; j++)
			if (override[j])
				list[n++] = (struct kp__pt_entry){ specific[j], specific_cfg[j]->weight };
		for (uint32_t j = 0; j < nmp; j++)
			list[n++] = (struct kp__pt_entry){ mp[j], mp_cfg[j]->weight };
		for (uint32_t j = 0; j < nspec; j++)
			if (!override[j])
				list[n++] = (struct kp__pt_entry){ specific[j], specific_cfg[j]->weight };
		p->npt[pt] = n;
		if (pt == KP__PT_SCORE) {
			/* weights: the score point's own entry wins, else multiPoint's; 0 means 1 */
			for (uint32_t j = 0; j < n; j++) {
				int32_t w = -1;
				for (uint32_t k = 0; k < set->nenabled; k++)
					if (!strcmp(set->enabled[k].name, list[j].inst->plugin->name)) {
						w = set->enabled[k].weight;
						break;
					}
				if (w < 0)
					for (uint32_t k = 0; k < multi->nenabled; k++)
						if (!strcmp(multi->enabled[k].name, list[j].inst->plugin->name)) {
							w = multi->enabled[k].weight;
							break;
						}
				list[j].weight = w > 0 ? w : 1;
			}
		}
	}
	if (p->npt[KP__PT_QUEUE_SORT] != 1)
		return kp_error_set(errmsg, KP_EINVAL,
				    "%s.plugins.queueSort: exactly one queue sort plugin must be enabled, found %u",
				    cp->where, p->npt[KP__PT_QUEUE_SORT]);
	if (p->npt[KP__PT_BIND] == 0)
		return kp_error_set(errmsg, KP_EINVAL,
				    "%s.plugins.bind: at least one bind plugin is needed", cp->where);
	return 0;
}

void kp__profile_release(struct kp__profile *p)
{
	for (uint32_t i = 0; i < p->ninsts; i++) {
		struct kp__inst *in = &p->insts[i];
		if (in->inited && in->ops.fini)
			in->ops.fini(in->self);
		kp__args_free(in->plugin, in->args);
		json_decref(in->args_json);
	}
	for (int pt = 0; pt < KP__PT_MULTI; pt++)
		free(p->pt[pt]);
	free(p->insts);
	free(p->name);
	memset(p, 0, sizeof(*p));
}

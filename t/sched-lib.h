/*
 * sched-lib.h - drives the real scheduler (static plugin table, no dlopen)
 * from YAML snippets for the framework, filter and score tests:
 *
 *   struct ts *t = ts_new(config_yaml_or_NULL, seed);
 *   ts_apply(t, "kind: Node ...");           (multi-document YAML)
 *   json_t *tr = ts_schedule(t, "kind: Pod ...");  (trace, see scheduler.h)
 *   ts_free(t);
 *
 * Failures to build the scheduler or parse input abort the test with a
 * diagnostic: they are bugs in the test, not results.
 */
#ifndef KPLANE_T_SCHED_LIB_H
#define KPLANE_T_SCHED_LIB_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/error.h>
#include <kplane/scheduler.h>
#include <kplane/yaml.h>

#include "plugins/sched-static.h"
#include "t/tap.h"

struct ts {
	struct kp_sched_config *cfg;
	struct kp_registry *reg;
	struct kp_scheduler *s;
	int64_t now;  /* fake clock, ns */
	char *error;  /* kp_scheduler_new's message when ts_try_new failed */
};

static inline int64_t ts_clock(void *arg)
{
	return ((struct ts *)arg)->now;
}

static inline json_t *ts_yaml(const char *y)
{
	json_t *docs = NULL;
	char *e = NULL;
	if (kp_yaml_load(y, strlen(y), &docs, &e) < 0) {
		printf("Bail out! bad test YAML: %s\n", e);
		exit(1);
	}
	return docs;
}

/* Returns NULL (message in t->error) when the scheduler cannot be built. */
static inline struct ts *ts_try_new(const char *config, unsigned long long seed)
{
	struct ts *t = calloc(1, sizeof(*t));
	char *e = NULL;
	json_t *cj = NULL;
	if (config) {
		json_t *docs = ts_yaml(config);
		cj = json_incref(json_array_get(docs, 0));
		json_decref(docs);
	}
	if (kp_sched_config_parse(cj, &t->cfg, &e) < 0) {
		t->error = e;
		json_decref(cj);
		return t;
	}
	json_decref(cj);
	if (kp_registry_new(&t->reg) < 0 ||
	    kp_registry_add_table(t->reg, kp_sched_static_plugins, &e) < 0) {
		printf("Bail out! registry: %s\n", e ? e : "?");
		exit(1);
	}
	struct kp_scheduler_options o = { .seed = seed, .inline_bind = true, .now_ns = ts_clock,
					  .now_arg = t };
	if (kp_scheduler_new(t->cfg, t->reg, NULL, &o, &t->s, &e) < 0)
		t->error = e;
	return t;
}

static inline struct ts *ts_new(const char *config, unsigned long long seed)
{
	struct ts *t = ts_try_new(config, seed);
	if (t->error) {
		printf("Bail out! scheduler: %s\n", t->error);
		exit(1);
	}
	return t;
}

static inline void ts_free(struct ts *t)
{
	kp_scheduler_free(t->s);
	kp_sched_config_free(t->cfg);
	kp_registry_free(t->reg);
	free(t->error);
	free(t);
}

static inline void ts_apply_change(struct ts *t, int change, const char *y)
{
	json_t *docs = ts_yaml(y);
	size_t i;
	json_t *d;
	char *e = NULL;
	json_array_foreach(docs, i, d)
		if (kp_scheduler_apply(t->s, change, d, &e) < 0) {
			printf("Bail out! apply: %s\n", e);
			exit(1);
		}
	json_decref(docs);
}

static inline void ts_apply(struct ts *t, const char *y)
{
	ts_apply_change(t, KP_SCHED_ADDED, y);
}

/* Runs one attempt of whatever is at the head of the queue; NULL if none. */
static inline json_t *ts_next(struct ts *t)
{
	json_t *tr = NULL;
	if (kp_scheduler_schedule_one(t->s, 0, &tr) < 0)
		return NULL;
	return tr;
}

/* Applies pod(s) and runs one attempt. */
static inline json_t *ts_schedule(struct ts *t, const char *pod)
{
	ts_apply(t, pod);
	return ts_next(t);
}

static inline const char *tr_node(const json_t *tr)
{
	return json_string_value(json_object_get(tr, "node"));
}

static inline const char *tr_msg(const json_t *tr)
{
	return json_string_value(json_object_get(tr, "message"));
}

/* Normalised score of plugin on node, -1 when absent. */
static inline long long tr_score(const json_t *tr, const char *node, const char *plugin)
{
	json_t *v = json_object_get(json_object_get(json_object_get(json_object_get(tr, "scores"), node),
						    "plugins"), plugin);
	return v ? (long long)json_integer_value(v) : -1;
}

static inline long long tr_total(const json_t *tr, const char *node)
{
	json_t *v = json_object_get(json_object_get(json_object_get(tr, "scores"), node), "total");
	return v ? (long long)json_integer_value(v) : -1;
}

static inline const char *tr_filtered(const json_t *tr, const char *node)
{
	return json_string_value(json_object_get(json_object_get(tr, "filtered"), node));
}

/* A node YAML with cpu (cores or milli string), memory, pods and extra
 * fields; the text lives in a static ring of 8 buffers (no freeing). */
static inline const char *ts_node(const char *name, const char *cpu, const char *mem,
				  const char *extra)
{
	static char ring[8][1024];
	static int next;
	char *s = ring[next++ % 8];
	snprintf(s, sizeof(ring[0]),
		 "kind: Node\nmetadata:\n  name: %s\n%s\nstatus:\n  allocatable: {cpu: \"%s\", memory: \"%s\", pods: \"110\"}\n",
		 name, extra ? extra : "", cpu, mem);
	return s;
}

#endif

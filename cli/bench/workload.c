/*
 * workload.c - reading scheduler_perf's performance-config.yaml: test cases,
 * their workloadTemplate ops, workloads[].params substitution, templates
 * (relative to the config file) and the node preparation strategies.
 *
 * Anything we do not implement is named in the workload's skip_reason so
 * that the runner lists it and skips the workload instead of running
 * something that only looks like it.
 */
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/error.h>
#include <kplane/object.h>
#include <kplane/yaml.h>

#include "cli/bench/bench.h"

int sb_read_file(const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -errno;
	size_t cap = 65536, n = 0;
	char *b = malloc(cap);
	while (b) {
		size_t got = fread(b + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
		if (n + 1 == cap) {
			char *nb = realloc(b, cap * 2);
			if (!nb) {
				free(b);
				b = NULL;
				break;
			}
			b = nb;
			cap *= 2;
		}
	}
	fclose(f);
	if (!b)
		return KP_ENOMEM;
	b[n] = 0;
	*buf = b;
	if (len)
		*len = n;
	return 0;
}

/* upstream's makeBaseNode / the default pod when a createPods op has no template */
static const char default_node[] =
	"{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"generateName\":\"scheduler-perf-\"},"
	"\"spec\":{},\"status\":{\"capacity\":{\"pods\":\"110\",\"cpu\":\"4\",\"memory\":\"32Gi\"},"
	"\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}],\"phase\":\"Running\"}}";
static const char default_pod[] =
	"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"generateName\":\"pod-\"},"
	"\"spec\":{\"containers\":[{\"name\":\"pause\",\"image\":\"registry.k8s.io/pause:3.10\","
	"\"ports\":[{\"containerPort\":80}],\"resources\":{\"limits\":{\"cpu\":\"100m\",\"memory\":\"500Mi\"},"
	"\"requests\":{\"cpu\":\"100m\",\"memory\":\"500Mi\"}}}]}}";

static void op_release(struct sb_op *op)
{
	json_decref(op->tmpl);
	free(op->tmpl_text);
	free(op->tmpl_path);
	free(op->ns);
	free(op->prefix);
	free(op->label_key);
	for (size_t i = 0; i < op->nlabel_values; i++)
		free(op->label_values[i]);
	free(op->label_values);
	free(op->unique_label_key);
	json_decref(op->allocatable);
	json_decref(op->churn_tmpls);
	json_decref(op->label_selector);
}

void sb_config_free(struct sb_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		struct sb_workload *w = &c->w[i];
		for (size_t j = 0; j < w->nops; j++)
			op_release(&w->ops[j]);
		free(w->ops);
		free(w->test);
		free(w->name);
		free(w->full);
		free(w->skip_reason);
	}
	free(c->w);
	free(c->path);
	free(c);
}

/* First problem wins: later ones are usually consequences. */
static void skipf(struct sb_workload *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void skipf(struct sb_workload *w, const char *fmt, ...)
{
	if (w->skip_reason)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&w->skip_reason, fmt, ap) < 0)
		w->skip_reason = NULL;
	va_end(ap);
}

static bool in_list(const char *k, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(k, *list))
			return true;
	return false;
}

/*
 * The value of field `name` of op after substitution: `nameParam: $p` is
 * looked up in params. Returns borrowed JSON or NULL (absent); sets a skip
 * reason for an undefined param.
 */
static json_t *field(struct sb_workload *w, size_t opi, const json_t *op, const json_t *params,
		     const char *name)
{
	char pk[64];
	snprintf(pk, sizeof(pk), "%sParam", name);
	json_t *pv = json_object_get(op, pk);
	if (pv) {
		const char *ref = json_string_value(pv);
		if (!ref || ref[0] != '$') {
			skipf(w, "workloadTemplate[%zu].%s: must be a string \"$name\"", opi, pk);
			return NULL;
		}
		json_t *v = json_object_get(params, ref + 1);
		if (!v)
			skipf(w, "workloadTemplate[%zu].%s: param %s is not defined in workload %s", opi,
			      pk, ref, w->name);
		return v;
	}
	json_t *v = json_object_get(op, name);
	/* a plain "$x" value is a reference too (some upstream versions write count: $x) */
	if (json_is_string(v) && json_string_value(v)[0] == '$') {
		json_t *r = json_object_get(params, json_string_value(v) + 1);
		if (!r)
			skipf(w, "workloadTemplate[%zu].%s: param %s is not defined in workload %s", opi,
			      name, json_string_value(v), w->name);
		return r;
	}
	return v;
}

static int64_t int_field(struct sb_workload *w, size_t opi, const json_t *op, const json_t *params,
			 const char *name, int64_t def)
{
	json_t *v = field(w, opi, op, params, name);
	if (!v)
		return def;
	if (json_is_integer(v) && json_integer_value(v) >= 0)
		return json_integer_value(v);
	if (json_is_real(v) && json_real_value(v) >= 0 && json_real_value(v) < 9e15)
		return (int64_t)json_real_value(v);
	skipf(w, "workloadTemplate[%zu].%s: not a non-negative integer", opi, name);
	return def;
}

/* Go duration ("1s", "500ms", "1m30s") to ms; -1 when malformed. */
static int64_t parse_duration_ms(const char *s)
{
	double total = 0;
	if (!*s)
		return -1;
	while (*s) {
		char *end;
		double v = strtod(s, &end);
		if (end == s)
			return -1;
		s = end;
		double mul;
		if (!strncmp(s, "ms", 2)) { mul = 1; s += 2; }
		else if (!strncmp(s, "us", 2)) { mul = 0.001; s += 2; }
		else if (!strncmp(s, "ns", 2)) { mul = 1e-6; s += 2; }
		else if (*s == 's') { mul = 1000; s++; }
		else if (*s == 'm') { mul = 60000; s++; }
		else if (*s == 'h') { mul = 3600000; s++; }
		else return -1;
		total += v * mul;
	}
	return (int64_t)total;
}

static char *resolve(const char *dir, const char *rel)
{
	char *p = NULL;
	if (rel[0] == '/')
		return strdup(rel);
	if (asprintf(&p, "%s/%s", dir, rel) < 0)
		return NULL;
	return p;
}

/*
 * Loads a template: one YAML document. Go-template actions other than
 * {{.Index}} are unsupported; with {{.Index}} the text is kept for
 * rendering per object.
 */
static int load_template(struct sb_workload *w, const char *dir, const char *rel, const char *what,
			 json_t **obj, char **text, char **path)
{
	char *p = resolve(dir, rel);
	char *buf = NULL, *e = NULL;
	size_t len = 0;
	int rc = p ? sb_read_file(p, &buf, &len) : KP_ENOMEM;
	if (rc < 0) {
		skipf(w, "%s: %s: %s", what, p ? p : rel, strerror(-rc));
		free(p);
		return -1;
	}
	bool index = false;
	for (const char *q = strstr(buf, "{{"); q; q = strstr(q + 2, "{{")) {
		if (!strncmp(q, "{{.Index}}", 10)) {
			index = true;
			continue;
		}
		const char *end = strstr(q, "}}");
		int n = end ? (int)(end - q) + 2 : (int)strcspn(q, "\n");
		skipf(w, "%s: %s: Go template action %.*s is not supported (only {{.Index}})", what,
		      p, n, q);
		free(buf);
		free(p);
		return -1;
	}
	/* parse with a stand-in index so that the structure is checked now */
	char *probe = buf;
	if (index) {
		size_t cap = len * 2 + 16, o = 0;
		probe = malloc(cap);
		for (const char *q = buf; probe && *q;) {
			if (!strncmp(q, "{{.Index}}", 10)) {
				probe[o++] = '0';
				q += 10;
			} else {
				probe[o++] = *q++;
			}
		}
		if (probe)
			probe[o] = 0;
	}
	json_t *docs = NULL;
	rc = probe ? kp_yaml_load(probe, strlen(probe), &docs, &e) : KP_ENOMEM;
	if (probe != buf)
		free(probe);
	if (rc < 0 || json_array_size(docs) != 1 || !json_is_object(json_array_get(docs, 0))) {
		skipf(w, "%s: %s: %s", what, p, rc < 0 ? (e ? e : "bad YAML") : "not one YAML object");
		free(e);
		free(buf);
		free(p);
		json_decref(docs);
		return -1;
	}
	*obj = json_incref(json_array_get(docs, 0));
	json_decref(docs);
	if (index)
		*text = buf;
	else
		free(buf);
	*path = p;
	return 0;
}

static const char *const op_fields_common[] = { "opcode", NULL };

static void parse_op(struct sb_workload *w, size_t opi, const json_t *op, const json_t *params,
		     const char *dir, const char *default_pod_tmpl, struct sb_op *o)
{
	const char *code = json_string_value(json_object_get(op, "opcode"));
	static const char *const f_nodes[] = { "count", "countParam", "nodeTemplatePath",
					       "nodeAllocatableStrategy", "labelNodePrepareStrategy",
					       "uniqueNodeLabelStrategy", NULL };
	static const char *const f_ns[] = { "count", "countParam", "prefix", "namespaceTemplatePath",
					    NULL };
	static const char *const f_pods[] = { "count", "countParam", "podTemplatePath", "namespace",
					      "collectMetrics", "skipWaitToCompletion", NULL };
	static const char *const f_barrier[] = { "namespaces", "stageRequirement", NULL };
	static const char *const f_sleep[] = { "duration", "durationParam", NULL };
	static const char *const f_churn[] = { "mode", "templatePaths", "intervalMilliseconds",
					       "number", "namespace", NULL };
	static const char *const f_delete[] = { "namespace", "labelSelector", "deletePodsPerSecond",
						"skipWaitToCompletion", NULL };
	const char *const *allowed;
	if (!code) {
		skipf(w, "workloadTemplate[%zu].opcode: Required value", opi);
		return;
	}
	if (!strcmp(code, "createNodes")) { o->code = SB_OP_CREATE_NODES; allowed = f_nodes; }
	else if (!strcmp(code, "createNamespaces")) { o->code = SB_OP_CREATE_NAMESPACES; allowed = f_ns; }
	else if (!strcmp(code, "createPods")) { o->code = SB_OP_CREATE_PODS; allowed = f_pods; }
	else if (!strcmp(code, "barrier")) { o->code = SB_OP_BARRIER; allowed = f_barrier; }
	else if (!strcmp(code, "sleep")) { o->code = SB_OP_SLEEP; allowed = f_sleep; }
	else if (!strcmp(code, "churn")) { o->code = SB_OP_CHURN; allowed = f_churn; }
	else if (!strcmp(code, "deletePods")) { o->code = SB_OP_DELETE_PODS; allowed = f_delete; }
	else {
		skipf(w, "workloadTemplate[%zu]: op %s is not supported", opi, code);
		return;
	}
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)op, k, v) {
		if (!in_list(k, op_fields_common) && !in_list(k, allowed))
			skipf(w, "workloadTemplate[%zu]: %s.%s is not supported", opi, code, k);
	}
	switch (o->code) {
	case SB_OP_CREATE_NODES: {
		o->count = int_field(w, opi, op, params, "count", -1);
		if (o->count < 0)
			skipf(w, "workloadTemplate[%zu].count: Required value", opi);
		const char *t = json_string_value(json_object_get(op, "nodeTemplatePath"));
		if (t)
			load_template(w, dir, t, "nodeTemplatePath", &o->tmpl, &o->tmpl_text,
				      &o->tmpl_path);
		else
			o->tmpl = json_loads(default_node, 0, NULL);
		json_t *l = json_object_get(op, "labelNodePrepareStrategy");
		if (l) {
			const char *lk = json_string_value(json_object_get(l, "labelKey"));
			json_t *vals = json_object_get(l, "labelValues");
			if (!lk || !json_array_size(vals)) {
				skipf(w, "workloadTemplate[%zu].labelNodePrepareStrategy: labelKey and labelValues are required", opi);
				break;
			}
			o->label_key = strdup(lk);
			o->label_values = calloc(json_array_size(vals), sizeof(char *));
			size_t i;
			json_t *x;
			json_array_foreach(vals, i, x) {
				if (!json_is_string(x)) {
					skipf(w, "workloadTemplate[%zu].labelNodePrepareStrategy.labelValues[%zu]: not a string", opi, i);
					break;
				}
				o->label_values[o->nlabel_values++] = strdup(json_string_value(x));
			}
		}
		json_t *u = json_object_get(op, "uniqueNodeLabelStrategy");
		if (u) {
			const char *lk = json_string_value(json_object_get(u, "labelKey"));
			if (!lk)
				skipf(w, "workloadTemplate[%zu].uniqueNodeLabelStrategy.labelKey: Required value", opi);
			else
				o->unique_label_key = strdup(lk);
		}
		json_t *a = json_object_get(op, "nodeAllocatableStrategy");
		if (a) {
			json_object_foreach(a, k, v) {
				if (strcmp(k, "nodeAllocatable"))
					skipf(w, "workloadTemplate[%zu]: nodeAllocatableStrategy.%s is not supported (no CSINode support)", opi, k);
			}
			json_t *na = json_object_get(a, "nodeAllocatable");
			if (!json_is_object(na))
				skipf(w, "workloadTemplate[%zu].nodeAllocatableStrategy.nodeAllocatable: Required value", opi);
			else
				o->allocatable = json_incref(na);
		}
		break;
	}
	case SB_OP_CREATE_NAMESPACES: {
		o->count = int_field(w, opi, op, params, "count", -1);
		if (o->count < 0)
			skipf(w, "workloadTemplate[%zu].count: Required value", opi);
		const char *p = json_string_value(json_object_get(op, "prefix"));
		o->prefix = strdup(p ? p : "namespace");
		const char *t = json_string_value(json_object_get(op, "namespaceTemplatePath"));
		if (t)
			load_template(w, dir, t, "namespaceTemplatePath", &o->tmpl, &o->tmpl_text,
				      &o->tmpl_path);
		break;
	}
	case SB_OP_CREATE_PODS: {
		o->count = int_field(w, opi, op, params, "count", -1);
		if (o->count < 0)
			skipf(w, "workloadTemplate[%zu].count: Required value", opi);
		const char *t = json_string_value(json_object_get(op, "podTemplatePath"));
		if (!t)
			t = default_pod_tmpl;
		if (t)
			load_template(w, dir, t, "podTemplatePath", &o->tmpl, &o->tmpl_text,
				      &o->tmpl_path);
		else
			o->tmpl = json_loads(default_pod, 0, NULL);
		json_t *ns = field(w, opi, op, params, "namespace");
		if (ns) {
			if (!json_is_string(ns))
				skipf(w, "workloadTemplate[%zu].namespace: not a string", opi);
			else
				o->ns = strdup(json_string_value(ns));
		}
		o->collect_metrics = json_is_true(json_object_get(op, "collectMetrics"));
		o->skip_wait = json_is_true(json_object_get(op, "skipWaitToCompletion"));
		break;
	}
	case SB_OP_BARRIER: {
		/* Attempted: every pod went through a scheduling attempt (gated
		 * pods never do); Scheduled (the default): every pod bound */
		const char *sr = json_string_value(json_object_get(op, "stageRequirement"));
		if (sr && strcmp(sr, "Attempted") && strcmp(sr, "Scheduled"))
			skipf(w, "workloadTemplate[%zu].stageRequirement: %s is not Attempted or Scheduled", opi, sr);
		o->attempted = sr && !strcmp(sr, "Attempted");
		break;
	}
	case SB_OP_SLEEP: {
		json_t *d = field(w, opi, op, params, "duration");
		int64_t ms = -1;
		if (json_is_string(d))
			ms = parse_duration_ms(json_string_value(d));
		else if (json_is_integer(d))
			ms = json_integer_value(d) / 1000000; /* time.Duration in ns */
		if (ms < 0)
			skipf(w, "workloadTemplate[%zu].duration: not a duration", opi);
		o->duration_ms = ms;
		break;
	}
	case SB_OP_CHURN: {
		const char *m = json_string_value(json_object_get(op, "mode"));
		if (!m || (strcmp(m, "create") && strcmp(m, "recreate")))
			skipf(w, "workloadTemplate[%zu].mode: must be create or recreate", opi);
		o->churn_recreate = m && !strcmp(m, "recreate");
		o->interval_ms = int_field(w, opi, op, params, "intervalMilliseconds", 500);
		o->number = int_field(w, opi, op, params, "number", 0);
		json_t *ns = json_object_get(op, "namespace");
		if (json_is_string(ns))
			o->ns = strdup(json_string_value(ns));
		json_t *tp = json_object_get(op, "templatePaths");
		o->churn_tmpls = json_array();
		size_t i;
		json_t *x;
		if (!json_array_size(tp))
			skipf(w, "workloadTemplate[%zu].templatePaths: Required value", opi);
		json_array_foreach(tp, i, x) {
			json_t *obj = NULL;
			char *txt = NULL, *path = NULL;
			if (!json_is_string(x)) {
				skipf(w, "workloadTemplate[%zu].templatePaths[%zu]: not a string", opi, i);
				continue;
			}
			if (load_template(w, dir, json_string_value(x), "templatePaths", &obj, &txt,
					  &path) < 0)
				continue;
			const char *kind = kp_obj_kind(obj);
			if (!kind || (strcmp(kind, "Node") && strcmp(kind, "Pod")))
				skipf(w, "workloadTemplate[%zu].templatePaths[%zu]: churn of kind %s is not supported (Node and Pod are)",
				      opi, i, kind ? kind : "?");
			if (txt)
				skipf(w, "workloadTemplate[%zu].templatePaths[%zu]: {{.Index}} in churn templates is not supported", opi, i);
			json_array_append_new(o->churn_tmpls, obj);
			free(txt);
			free(path);
		}
		break;
	}
	case SB_OP_DELETE_PODS: {
		json_t *ns = field(w, opi, op, params, "namespace");
		if (!json_is_string(ns))
			skipf(w, "workloadTemplate[%zu].namespace: Required value", opi);
		else
			o->ns = strdup(json_string_value(ns));
		json_t *ls = json_object_get(op, "labelSelector");
		if (ls) {
			/* upstream's labelSelector is a plain map (matchLabels) */
			if (!json_is_object(ls))
				skipf(w, "workloadTemplate[%zu].labelSelector: must be a map", opi);
			else
				o->label_selector = json_incref(ls);
		}
		json_t *r = json_object_get(op, "deletePodsPerSecond");
		if (r && !json_is_number(r))
			skipf(w, "workloadTemplate[%zu].deletePodsPerSecond: not a number", opi);
		o->delete_per_second = r ? json_number_value(r) : 0;
		o->skip_wait = json_is_true(json_object_get(op, "skipWaitToCompletion"));
		break;
	}
	}
}

static void parse_case(struct sb_config *c, const json_t *tc, size_t tci, const char *dir)
{
	const char *tname = json_string_value(json_object_get(tc, "name"));
	char tbuf[32];
	if (!tname) {
		snprintf(tbuf, sizeof(tbuf), "testcase[%zu]", tci);
		tname = tbuf;
	}
	static const char *const tc_fields[] = { "name", "defaultPodTemplatePath", "workloadTemplate",
						 "workloads", "featureGates", "labels",
						 "metricsCollectorConfig", NULL };
	static const char *const w_fields[] = { "name", "params", "labels", "featureGates",
						"threshold", NULL };
	char *tc_problem = NULL;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)tc, k, v) {
		if (!in_list(k, tc_fields) && !tc_problem && asprintf(&tc_problem, "%s.%s is not supported", tname, k) < 0)
			tc_problem = NULL;
	}
	const char *dpt = json_string_value(json_object_get(tc, "defaultPodTemplatePath"));
	json_t *tmpl = json_object_get(tc, "workloadTemplate");
	json_t *wls = json_object_get(tc, "workloads");
	size_t i;
	json_t *wl;
	json_array_foreach(wls, i, wl) {
		struct sb_workload *w = &c->w[c->n++];
		const char *wn = json_string_value(json_object_get(wl, "name"));
		w->test = strdup(tname);
		if (wn)
			w->name = strdup(wn);
		else if (asprintf(&w->name, "workloads[%zu]", i) < 0)
			w->name = NULL;
		if (asprintf(&w->full, "%s/%s", w->test, w->name ? w->name : "?") < 0)
			w->full = NULL;
		if (tc_problem)
			skipf(w, "%s", tc_problem);
		json_object_foreach(wl, k, v) {
			if (!in_list(k, w_fields))
				skipf(w, "workloads[%zu].%s is not supported", i, k);
		}
		json_t *th = json_object_get(wl, "threshold");
		w->threshold = json_is_number(th) ? json_number_value(th) : 0;
		json_t *params = json_object_get(wl, "params");
		if (!json_is_array(tmpl) || !json_array_size(tmpl)) {
			skipf(w, "%s.workloadTemplate: Required value", tname);
			continue;
		}
		size_t cap = json_array_size(tmpl);
		w->ops = calloc(cap, sizeof(*w->ops));
		size_t j;
		json_t *op;
		json_array_foreach(tmpl, j, op) {
			if (!json_is_object(op)) {
				skipf(w, "workloadTemplate[%zu]: not a mapping", j);
				continue;
			}
			const char *code = json_string_value(json_object_get(op, "opcode"));
			if (!code || strcmp(code, "createPodSets")) {
				if (w->nops == cap)
					continue; /* only after an allocation failure below */
				parse_op(w, j, op, params, dir, dpt, &w->ops[w->nops++]);
				continue;
			}
			/* createPodSets: createPodsOp once per namespace <prefix>-<i>,
			 * expanded here into that many createPods ops */
			json_object_foreach(op, k, v) {
				if (strcmp(k, "opcode") && strcmp(k, "count") && strcmp(k, "countParam") &&
				    strcmp(k, "namespacePrefix") && strcmp(k, "createPodsOp"))
					skipf(w, "workloadTemplate[%zu]: createPodSets.%s is not supported", j, k);
			}
			int64_t n = int_field(w, j, op, params, "count", -1);
			const char *prefix = json_string_value(json_object_get(op, "namespacePrefix"));
			json_t *inner = json_object_get(op, "createPodsOp");
			const char *icode = json_string_value(json_object_get(inner, "opcode"));
			if (n < 0 || !prefix || !icode || strcmp(icode, "createPods")) {
				skipf(w, "workloadTemplate[%zu]: createPodSets needs count, namespacePrefix and a createPods createPodsOp", j);
				continue;
			}
			if (json_object_get(inner, "namespace"))
				skipf(w, "workloadTemplate[%zu].createPodsOp.namespace: not allowed in createPodSets", j);
			struct sb_op *grown = realloc(w->ops, (cap + (size_t)n) * sizeof(*w->ops));
			if (!grown) {
				skipf(w, "workloadTemplate[%zu]: out of memory", j);
				continue;
			}
			w->ops = grown;
			memset(w->ops + cap, 0, (size_t)n * sizeof(*w->ops));
			cap += (size_t)n;
			for (int64_t x = 0; x < n; x++) {
				json_t *one = json_deep_copy(inner);
				char ns[300];
				snprintf(ns, sizeof(ns), "%s-%lld", prefix, (long long)x);
				json_object_set_new(one, "namespace", json_string(ns));
				parse_op(w, j, one, params, dir, dpt, &w->ops[w->nops++]);
				json_decref(one);
			}
		}
	}
	free(tc_problem);
}

int sb_config_load(const char *path, struct sb_config **out, char **errmsg)
{
	char *buf = NULL, *e = NULL;
	size_t len = 0;
	*out = NULL;
	int rc = sb_read_file(path, &buf, &len);
	if (rc < 0)
		return kp_error_set(errmsg, rc, "%s: %s", path, strerror(-rc));
	json_t *docs = NULL;
	rc = kp_yaml_load(buf, len, &docs, &e);
	free(buf);
	if (rc < 0) {
		rc = kp_error_set(errmsg, rc, "%s: %s", path, e ? e : "bad YAML");
		free(e);
		return rc;
	}
	json_t *cases = json_array_get(docs, 0);
	if (json_array_size(docs) != 1 || !json_is_array(cases)) {
		json_decref(docs);
		return kp_error_set(errmsg, KP_EINVAL, "%s: expected one YAML document, a list of test cases", path);
	}
	size_t total = 0, i;
	json_t *tc;
	json_array_foreach(cases, i, tc) {
		if (!json_is_object(tc) || !json_is_array(json_object_get(tc, "workloads"))) {
			json_decref(docs);
			return kp_error_set(errmsg, KP_EINVAL, "%s: testcase[%zu].workloads: Required value",
					    path, i);
		}
		total += json_array_size(json_object_get(tc, "workloads"));
	}
	struct sb_config *c = calloc(1, sizeof(*c));
	char *pcopy = strdup(path);
	if (!c || !pcopy || !(c->w = calloc(total ? total : 1, sizeof(*c->w)))) {
		free(pcopy);
		free(c);
		json_decref(docs);
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	}
	c->path = strdup(path);
	const char *dir = dirname(pcopy);
	json_array_foreach(cases, i, tc)
		parse_case(c, tc, i, dir);
	free(pcopy);
	json_decref(docs);
	*out = c;
	return 0;
}

bool sb_workload_match(const struct sb_workload *w, const char *pattern)
{
	if (!pattern)
		return true;
	const char *slash = strchr(pattern, '/');
	if (!slash)
		return fnmatch(pattern, w->test, 0) == 0;
	char *tp = strndup(pattern, (size_t)(slash - pattern));
	bool ok = tp && fnmatch(tp, w->test, 0) == 0 && fnmatch(slash + 1, w->name, 0) == 0;
	free(tp);
	return ok;
}

char *sb_default_namespace(size_t opi)
{
	char *s = NULL;
	if (asprintf(&s, "namespace-%zu", opi) < 0)
		return NULL;
	return s;
}

/* A fresh object for index i: deep copy, or the template text rendered. */
static json_t *instantiate(const struct sb_op *op, int64_t i, char **errmsg)
{
	if (!op->tmpl_text)
		return json_deep_copy(op->tmpl);
	char idx[24];
	int il = snprintf(idx, sizeof(idx), "%lld", (long long)i);
	size_t n = strlen(op->tmpl_text);
	char *out = malloc(n * 3 + 32), *o = out;
	if (!out)
		return NULL;
	for (const char *q = op->tmpl_text; *q;) {
		if (!strncmp(q, "{{.Index}}", 10)) {
			memcpy(o, idx, (size_t)il);
			o += il;
			q += 10;
		} else {
			*o++ = *q++;
		}
	}
	*o = 0;
	json_t *docs = NULL;
	int rc = kp_yaml_load(out, (size_t)(o - out), &docs, errmsg);
	free(out);
	if (rc < 0)
		return NULL;
	json_t *obj = json_incref(json_array_get(docs, 0));
	json_decref(docs);
	return obj;
}

static void set_name(json_t *obj, int64_t seq, const char *fallback)
{
	if (kp_obj_name(obj))
		return;
	const char *gn = kp_obj_str(obj, "metadata.generateName");
	char name[256];
	snprintf(name, sizeof(name), "%s%lld", gn ? gn : fallback, (long long)seq);
	kp_obj_set_str(obj, "metadata.name", name);
	kp_obj_del(obj, "metadata.generateName");
}

json_t *sb_render_node(const struct sb_op *op, int64_t i, int64_t seq, char **errmsg)
{
	json_t *n = instantiate(op, i, errmsg);
	if (!n)
		return NULL;
	set_name(n, seq, "scheduler-perf-");
	const char *name = kp_obj_name(n);
	/* kubernetes.io/hostname as the kubelet would set it (hostname topology) */
	if (!kp_obj_label(n, "kubernetes.io/hostname"))
		kp_obj_set_label(n, "kubernetes.io/hostname", name);
	if (op->label_key)
		kp_obj_set_label(n, op->label_key, op->label_values[i % (int64_t)op->nlabel_values]);
	if (op->unique_label_key) {
		char v[300];
		snprintf(v, sizeof(v), "%s-%lld", name, (long long)seq);
		kp_obj_set_label(n, op->unique_label_key, v);
	}
	/* the API server's defaulting: allocatable = capacity when absent */
	json_t *cap = kp_obj_get(n, "status.capacity");
	if (!kp_obj_get(n, "status.allocatable") && json_is_object(cap))
		kp_obj_set(n, "status.allocatable", json_deep_copy(cap));
	if (op->allocatable) {
		const char *k;
		json_t *v;
		json_t *alloc = kp_obj_get(n, "status.allocatable");
		if (!alloc) {
			kp_obj_set(n, "status.allocatable", json_object());
			alloc = kp_obj_get(n, "status.allocatable");
		}
		json_object_foreach(op->allocatable, k, v) {
			json_object_set(alloc, k, v);
			json_t *c = kp_obj_get(n, "status.capacity");
			if (c)
				json_object_set(c, k, v);
		}
	}
	return n;
}

json_t *sb_render_pod(const struct sb_op *op, const char *ns, int64_t i, int64_t seq,
		      char **errmsg)
{
	json_t *p = instantiate(op, i, errmsg);
	if (!p)
		return NULL;
	set_name(p, seq, "pod-");
	kp_obj_set_str(p, "metadata.namespace", ns);
	return p;
}

json_t *sb_render_namespace(const json_t *tmpl, const char *ns)
{
	json_t *o = tmpl ? json_deep_copy(tmpl) : json_pack("{s:s,s:s}", "apiVersion", "v1", "kind", "Namespace");
	if (!o)
		return NULL;
	kp_obj_set_str(o, "kind", "Namespace");
	kp_obj_set_str(o, "metadata.name", ns);
	kp_obj_del(o, "metadata.generateName");
	kp_obj_set_label(o, "kubernetes.io/metadata.name", ns);
	return o;
}

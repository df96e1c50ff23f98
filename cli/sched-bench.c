/*
 * sched-bench - scheduling experiments. This file holds the `simulate`
 * command: "what would the scheduler do with these pods on this cluster".
 *
 *   sched-bench simulate --cluster CLUSTER.yaml --pods PODS.yaml
 *                        [--config SCHEDCONFIG.yaml] [--seed N] [-o json|table]
 *
 * The in-tree plugins come from the static table; modules found on the
 * plugin path (config pluginDirs, $KPLANE_PLUGIN_PATH, the installed
 * directory) are added unless they repeat an in-tree name.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/error.h>
#include <kplane/object.h>
#include <kplane/scheduler.h>
#include <kplane/yaml.h>

#include "plugins/sched-static.h"
#include "cli/bench/bench.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sched-bench simulate --cluster CLUSTER.yaml --pods PODS.yaml\n"
		"                            [--config SCHEDCONFIG.yaml] [--seed N] [-o json|table]\n"
		"       sched-bench run CONFIG.yaml [--workload NAME[/CASE]] [--mode inprocess|api]\n"
		"                            [--runs N] [-o table|json] [--report DIR] ...\n"
		"       sched-bench compare A.json B.json\n"
		"\n"
		"simulate: what the scheduler would do with PODS on CLUSTER (docs/scheduler.md)\n"
		"run:      scheduling experiments on scheduler_perf workloads (docs/bench.md;\n"
		"          `sched-bench run --help` for every option)\n"
		"compare:  ratios between two `run -o json` results\n");
}

static int read_file(const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -errno;
	size_t cap = 65536;
	*len = 0;
	*buf = malloc(cap);
	for (;;) {
		if (!*buf) {
			fclose(f);
			return -ENOMEM;
		}
		size_t n = fread(*buf + *len, 1, cap - *len - 1, f);
		*len += n;
		if (n == 0)
			break;
		if (*len + 1 == cap) {
			cap *= 2;
			*buf = realloc(*buf, cap);
		}
	}
	(*buf)[*len] = 0;
	fclose(f);
	return 0;
}

/* Loads a multi-document YAML/JSON file; `kind: List` documents are flattened. */
static int load_objects(const char *path, json_t **out)
{
	char *buf = NULL;
	size_t len = 0;
	int rc = read_file(path, &buf, &len);
	if (rc < 0) {
		fprintf(stderr, "sched-bench: %s: %s\n", path, strerror(-rc));
		return -1;
	}
	json_t *docs = NULL;
	char *e = NULL;
	const char *p = buf;
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	if (*p == '{' || *p == '[') {
		json_t *one = NULL;
		rc = kp_yaml_or_json_load_one(buf, len, &one, &e);
		if (rc == 0) {
			docs = json_is_array(one) ? json_incref(one) : json_pack("[O]", one);
			json_decref(one);
		}
	} else {
		rc = kp_yaml_load(buf, len, &docs, &e);
	}
	free(buf);
	if (rc < 0) {
		fprintf(stderr, "sched-bench: %s: %s\n", path, e ? e : "cannot parse");
		free(e);
		return -1;
	}
	json_t *flat = json_array();
	size_t i;
	json_t *d;
	json_array_foreach(docs, i, d) {
		if (json_is_null(d))
			continue;
		const char *kind = kp_obj_kind(d);
		if (kind && !strcmp(kind, "List")) {
			size_t j;
			json_t *it;
			json_array_foreach(json_object_get(d, "items"), j, it)
				json_array_append(flat, it);
		} else {
			json_array_append(flat, d);
		}
	}
	json_decref(docs);
	*out = flat;
	return 0;
}

static void print_table(const json_t *result)
{
	size_t i;
	json_t *p;
	printf("%-40s %-24s %s\n", "POD", "NODE", "MESSAGE");
	json_array_foreach(json_object_get(result, "pods"), i, p) {
		char name[512];
		snprintf(name, sizeof(name), "%s/%s", json_string_value(json_object_get(p, "namespace")),
			 json_string_value(json_object_get(p, "name")));
		const char *node = json_string_value(json_object_get(p, "node"));
		printf("%-40s %-24s %s\n", name, node ? node : "<none>",
		       json_string_value(json_object_get(p, "message")));
		const char *n;
		json_t *v;
		json_object_foreach(json_object_get(p, "scores"), n, v) {
			printf("    score %-24s total %-6lld", n,
			       (long long)json_integer_value(json_object_get(v, "total")));
			const char *pl;
			json_t *sc;
			json_object_foreach(json_object_get(v, "plugins"), pl, sc)
				printf(" %s=%lld", pl, (long long)json_integer_value(sc));
			printf("\n");
		}
		json_object_foreach(json_object_get(p, "filtered"), n, v)
			printf("    filtered %-21s %s\n", n, json_string_value(v));
	}
}

static int simulate(int argc, char **argv)
{
	const char *cluster = NULL, *pods = NULL, *config = NULL, *output = "json";
	unsigned long long seed = 0;
	static const struct option opts[] = {
		{ "cluster", required_argument, NULL, 'c' },
		{ "pods", required_argument, NULL, 'p' },
		{ "config", required_argument, NULL, 'f' },
		{ "seed", required_argument, NULL, 's' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cluster = optarg; break;
		case 'p': pods = optarg; break;
		case 'f': config = optarg; break;
		case 's': {
			char *end;
			errno = 0;
			seed = strtoull(optarg, &end, 10);
			if (errno || *end || !*optarg) {
				fprintf(stderr, "sched-bench: --seed: not a number: \"%s\"\n", optarg);
				return 2;
			}
			break;
		}
		case 'o': output = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!cluster || !pods || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (strcmp(output, "json") && strcmp(output, "table")) {
		fprintf(stderr, "sched-bench: -o: unsupported format \"%s\" (json or table)\n", output);
		return 2;
	}
	int status = 1;
	char *e = NULL;
	struct kp_sched_config *cfg = NULL;
	struct kp_registry *reg = NULL;
	struct kp_scheduler *s = NULL;
	json_t *cobjs = NULL, *pobjs = NULL, *result = NULL;
	if (config ? kp_sched_config_load(config, &cfg, &e) : kp_sched_config_parse(NULL, &cfg, &e)) {
		fprintf(stderr, "sched-bench: %s\n", e);
		goto out;
	}
	if (kp_registry_new(&reg) < 0 || kp_registry_add_table(reg, kp_sched_static_plugins, &e) < 0) {
		fprintf(stderr, "sched-bench: %s\n", e ? e : "out of memory");
		goto out;
	}
	if (kp_registry_load_path(reg, kp_sched_config_plugin_dirs(cfg), true, &e) < 0) {
		fprintf(stderr, "sched-bench: %s\n", e);
		goto out;
	}
	struct kp_scheduler_options so = { .seed = seed, .inline_bind = true,
					   .allow_missing = config == NULL };
	if (kp_scheduler_new(cfg, reg, NULL, &so, &s, &e) < 0) {
		fprintf(stderr, "sched-bench: %s\n", e);
		goto out;
	}
	if (load_objects(cluster, &cobjs) < 0 || load_objects(pods, &pobjs) < 0)
		goto out;
	size_t i;
	json_t *o;
	json_array_foreach(cobjs, i, o) {
		const char *kind = kp_obj_kind(o);
		if (kind && !strcmp(kind, "Pod") && !kp_obj_str(o, "spec.nodeName")) {
			fprintf(stderr, "sched-bench: %s: pod %s has no spec.nodeName: put pending pods in --pods\n",
				cluster, kp_obj_name(o) ? kp_obj_name(o) : "?");
			continue;
		}
		if (kp_scheduler_apply(s, KP_SCHED_ADDED, o, &e) < 0) {
			fprintf(stderr, "sched-bench: %s: %s\n", cluster, e);
			goto out;
		}
	}
	result = json_pack("{s:[]}", "pods");
	json_array_foreach(pobjs, i, o) {
		const char *kind = kp_obj_kind(o);
		if (kind && strcmp(kind, "Pod")) {
			fprintf(stderr, "sched-bench: %s: document %zu is a %s, not a Pod\n", pods, i, kind);
			goto out;
		}
		if (kp_scheduler_apply(s, KP_SCHED_ADDED, o, &e) < 0) {
			fprintf(stderr, "sched-bench: %s: %s\n", pods, e);
			goto out;
		}
		json_t *trace = NULL;
		int rc = kp_scheduler_schedule_one(s, 0, &trace);
		if (rc == KP_ETIMEDOUT) {
			/* not attempted: another scheduler's pod, or held by PreEnqueue */
			const char *ns = kp_obj_namespace(o);
			json_t *gates = kp_obj_get(o, "spec.schedulingGates");
			trace = json_pack("{s:s,s:s,s:n,s:s,s:[],s:{},s:{}}", "namespace",
					  ns && *ns ? ns : "default", "name",
					  kp_obj_name(o) ? kp_obj_name(o) : "", "node", "message",
					  json_array_size(gates)
						  ? "Scheduling is blocked due to non-empty scheduling gates"
						  : "",
					  "feasible", "filtered", "scores");
		} else if (rc < 0) {
			fprintf(stderr, "sched-bench: scheduling failed: %s\n", kp_strerror(rc));
			goto out;
		}
		json_array_append_new(json_object_get(result, "pods"), trace);
	}
	if (!strcmp(output, "json")) {
		char *txt = json_dumps(result, JSON_COMPACT);
		if (txt) {
			puts(txt);
			free(txt);
		}
	} else {
		print_table(result);
	}
	status = 0;
out:
	free(e);
	json_decref(result);
	json_decref(cobjs);
	json_decref(pobjs);
	kp_scheduler_free(s);
	kp_sched_config_free(cfg);
	kp_registry_free(reg);
	return status;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "simulate"))
		return simulate(argc - 1, argv + 1);
	else if (!strcmp(argv[1], "run"))
		return sb_cmd_run(argc - 1, argv + 1);
	else if (!strcmp(argv[1], "compare"))
		return sb_cmd_compare(argc - 1, argv + 1);
	fprintf(stderr, "sched-bench: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}

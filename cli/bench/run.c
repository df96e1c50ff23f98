/*
 * run.c - `sched-bench run CONFIG.yaml ...`: options, the loop over the
 * selected workloads and runs, and the output (table, DataItems JSON,
 * --report DIR).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kplane/error.h>
#include <kplane/object.h>

#include "cli/bench/bench.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sched-bench run CONFIG.yaml [--workload NAME[/CASE]] [--mode inprocess|api]\n"
		"                       [--server URL] [--runs N] [--threads N] [-o table|json]\n"
		"                       [--report DIR] [--list] [--preload] [--seed N]\n"
		"                       [--scheduler-config FILE] [--kplane PATH] [--timeout SECONDS]\n"
		"                       [--interval SECONDS] [--plugins static|so] [--settle SECONDS]\n"
		"                       [--placements FILE]\n"
		"  CONFIG.yaml is kube-scheduler's scheduler_perf performance-config.yaml format.\n"
		"  --workload   fnmatch patterns: NAME selects all cases of a test, NAME/CASE one\n"
		"  --threads    inprocess: scheduler parallelism; api: concurrent clients (default 64)\n"
		"  --list       list the workloads (and why any is skipped), run nothing\n"
		"  --preload    inprocess: hand every pod to the scheduler before the clock starts\n"
		"  --interval   throughput sampling interval (default 1 s, as upstream)\n"
		"  --settle     api: how long nothing must change before pods with PodScheduled=False\n"
		"               count as unschedulable (default 10 s, kube's longest backoff)\n"
		"  --plugins    inprocess: the in-tree plugin table (static, default) or only the\n"
		"               .so modules on the plugin path (so; $KPLANE_PLUGIN_PATH)\n"
		"  --placements write \"namespace/name node\" of every pod of the last run to FILE\n"
		"               (with --preload and --seed, two builds can be compared with diff)\n");
}

void sb_progress(const struct sb_options *o, const char *fmt, ...)
{
	if (!o->progress)
		return;
	char buf[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "\r\033[K%s", buf);
	fflush(stderr);
}

void sb_progress_done(const struct sb_options *o)
{
	if (o->progress) {
		fprintf(stderr, "\r\033[K");
		fflush(stderr);
	}
}

static bool parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (!*s || *end || errno || v > max || *s == '-')
		return false;
	*out = v;
	return true;
}

static bool parse_pos_double(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (!*s || *end || errno || !(v > 0))
		return false;
	*out = v;
	return true;
}

/* The run whose Average is the median (lower median for even n). */
static size_t median_index(const struct sb_summary *ss, size_t n)
{
	size_t *idx = calloc(n, sizeof(size_t));
	if (!idx)
		return 0;
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && ss[idx[j - 1]].tput_avg > ss[idx[j]].tput_avg; j--) {
			size_t t = idx[j];
			idx[j] = idx[j - 1];
			idx[j - 1] = t;
		}
	size_t m = idx[(n - 1) / 2];
	free(idx);
	return m;
}

/* One "namespace/name node" line per pod of the final state ("-" when not
 * bound), in creation order: a placement fingerprint for comparing builds. */
static int write_placements(const char *path, const struct sb_result *r)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	for (size_t i = 0; i < json_array_size(r->pods_final); i++) {
		const json_t *p = json_array_get(r->pods_final, i);
		const char *node = json_string_value(
			json_object_get(json_object_get(p, "spec"), "nodeName"));
		fprintf(f, "%s/%s %s\n", kp_obj_namespace(p) ? kp_obj_namespace(p) : "",
			kp_obj_name(p) ? kp_obj_name(p) : "", node ? node : "-");
	}
	bool bad = ferror(f) != 0;
	return fclose(f) == 0 && !bad ? 0 : -1;
}

int sb_cmd_run(int argc, char **argv)
{
	struct sb_options o = { .mode = SB_MODE_INPROCESS, .timeout_s = 600, .settle_s = 10 };
	const char *pattern = NULL, *output = "table", *report = NULL, *placements = NULL;
	unsigned long long runs = 1, u;
	double interval = 1.0;
	bool list = false;
	static const struct option opts[] = {
		{ "workload", required_argument, NULL, 'w' },
		{ "mode", required_argument, NULL, 'm' },
		{ "server", required_argument, NULL, 'S' },
		{ "runs", required_argument, NULL, 'n' },
		{ "threads", required_argument, NULL, 't' },
		{ "output", required_argument, NULL, 'o' },
		{ "report", required_argument, NULL, 'r' },
		{ "list", no_argument, NULL, 'l' },
		{ "preload", no_argument, NULL, 'P' },
		{ "seed", required_argument, NULL, 's' },
		{ "scheduler-config", required_argument, NULL, 'c' },
		{ "kplane", required_argument, NULL, 'k' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "interval", required_argument, NULL, 'i' },
		{ "plugins", required_argument, NULL, 'p' },
		{ "settle", required_argument, NULL, 'e' },
		{ "placements", required_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'w': pattern = optarg; break;
		case 'm':
			if (!strcmp(optarg, "inprocess")) o.mode = SB_MODE_INPROCESS;
			else if (!strcmp(optarg, "api")) o.mode = SB_MODE_API;
			else {
				fprintf(stderr, "sched-bench: --mode: \"%s\" is not inprocess or api\n", optarg);
				return 2;
			}
			break;
		case 'S': o.server = optarg; break;
		case 'n':
			if (!parse_uint(optarg, 1000, &runs) || runs == 0) {
				fprintf(stderr, "sched-bench: --runs: not a number 1..1000: \"%s\"\n", optarg);
				return 2;
			}
			break;
		case 't':
			if (!parse_uint(optarg, 1024, &u) || u == 0) {
				fprintf(stderr, "sched-bench: --threads: not a number 1..1024: \"%s\"\n", optarg);
				return 2;
			}
			o.threads = (int)u;
			break;
		case 'o': output = optarg; break;
		case 'r': report = optarg; break;
		case 'l': list = true; break;
		case 'P': o.preload = true; break;
		case 's':
			if (!parse_uint(optarg, UINT64_MAX, &u)) {
				fprintf(stderr, "sched-bench: --seed: not a number: \"%s\"\n", optarg);
				return 2;
			}
			o.seed = u;
			break;
		case 'c': o.sched_config = optarg; break;
		case 'k': o.kplane_bin = optarg; break;
		case 'T':
			if (!parse_pos_double(optarg, &o.timeout_s)) {
				fprintf(stderr, "sched-bench: --timeout: not a positive number: \"%s\"\n", optarg);
				return 2;
			}
			break;
		case 'i':
			if (!parse_pos_double(optarg, &interval)) {
				fprintf(stderr, "sched-bench: --interval: not a positive number: \"%s\"\n", optarg);
				return 2;
			}
			break;
		case 'e':
			if (!parse_pos_double(optarg, &o.settle_s)) {
				fprintf(stderr, "sched-bench: --settle: not a positive number: \"%s\"\n", optarg);
				return 2;
			}
			break;
		case 'p':
			if (!strcmp(optarg, "so")) o.plugins_so = true;
			else if (!strcmp(optarg, "static")) o.plugins_so = false;
			else {
				fprintf(stderr, "sched-bench: --plugins: \"%s\" is not static or so\n", optarg);
				return 2;
			}
			break;
		case 'x': placements = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	if (strcmp(output, "table") && strcmp(output, "json")) {
		fprintf(stderr, "sched-bench: -o: unsupported format \"%s\" (table or json)\n", output);
		return 2;
	}
	if (o.server && o.mode != SB_MODE_API) {
		fprintf(stderr, "sched-bench: --server needs --mode api\n");
		return 2;
	}
	o.progress = isatty(2);
	char *e = NULL;
	struct sb_config *cfg = NULL;
	if (sb_config_load(argv[optind], &cfg, &e) < 0) {
		fprintf(stderr, "sched-bench: %s\n", e);
		free(e);
		return 1;
	}
	size_t selected = 0, skipped = 0;
	for (size_t i = 0; i < cfg->n; i++) {
		if (!sb_workload_match(&cfg->w[i], pattern))
			continue;
		selected++;
		if (list)
			printf("%s%s%s\n", cfg->w[i].full, cfg->w[i].skip_reason ? "\tskipped: " : "",
			       cfg->w[i].skip_reason ? cfg->w[i].skip_reason : "");
	}
	if (list) {
		sb_config_free(cfg);
		return 0;
	}
	if (!selected) {
		fprintf(stderr, "sched-bench: no workload of %s matches \"%s\"\n", argv[optind],
			pattern ? pattern : "*");
		sb_config_free(cfg);
		return 1;
	}
	int status = 0;
	json_t *items = json_array();
	struct sb_result **keep_r = calloc(selected, sizeof(*keep_r));
	struct sb_summary **keep_s = calloc(selected, sizeof(*keep_s));
	size_t nkeep = 0;
	bool first_table = true;
	for (size_t i = 0; i < cfg->n; i++) {
		struct sb_workload *w = &cfg->w[i];
		if (!sb_workload_match(w, pattern))
			continue;
		if (w->skip_reason) {
			fprintf(stderr, "sched-bench: %s: skipped: %s\n", w->full, w->skip_reason);
			skipped++;
			continue;
		}
		struct sb_result *rs = calloc(runs, sizeof(*rs));
		struct sb_summary *ss = calloc(runs, sizeof(*ss));
		size_t done = 0;
		bool failed = false;
		for (size_t k = 0; rs && ss && k < runs; k++) {
			if (runs > 1)
				sb_progress(&o, "%s: run %zu/%llu", w->full, k + 1, runs);
			int rc = o.mode == SB_MODE_API ? sb_run_api(w, &o, &rs[k], &e)
						       : sb_run_inprocess(w, &o, &rs[k], &e);
			if (rc < 0) {
				sb_progress_done(&o);
				fprintf(stderr, "sched-bench: %s: %s\n", w->full, e ? e : kp_strerror(rc));
				free(e);
				e = NULL;
				sb_result_free(&rs[k]);
				failed = true;
				status = 1;
				break;
			}
			sb_check_placement(&rs[k]);
			if (placements && write_placements(placements, &rs[k]) < 0) {
				fprintf(stderr, "sched-bench: --placements: %s: %s\n", placements,
					strerror(errno));
				status = 1;
			}
			sb_summarise(&rs[k], interval, &ss[k]);
			done++;
			if (rs[k].violations)
				status = 1;
			/* only the median run's final state is kept for the report */
			if (!report) {
				json_decref(rs[k].nodes_final);
				json_decref(rs[k].pods_final);
				rs[k].nodes_final = rs[k].pods_final = NULL;
			}
		}
		if (!failed && done) {
			size_t med = median_index(ss, done);
			sb_data_items(items, rs, ss, done, med);
			if (!strcmp(output, "table")) {
				if (!first_table)
					printf("\n");
				first_table = false;
				sb_print_table(stdout, rs, ss, done, med, w->threshold);
				fflush(stdout);
			}
			if (report) {
				keep_r[nkeep] = malloc(sizeof(struct sb_result));
				keep_s[nkeep] = malloc(sizeof(struct sb_summary));
				if (keep_r[nkeep] && keep_s[nkeep]) {
					*keep_r[nkeep] = rs[med];
					*keep_s[nkeep] = ss[med];
					memset(&rs[med], 0, sizeof(rs[med]));
					memset(&ss[med], 0, sizeof(ss[med]));
					nkeep++;
				}
			}
		}
		for (size_t k = 0; k < done; k++) {
			sb_result_free(&rs[k]);
			sb_summary_release(&ss[k]);
		}
		free(rs);
		free(ss);
	}
	if (!strcmp(output, "json")) {
		json_t *doc = json_pack("{s:s,s:O}", "version", "v1", "dataItems", items);
		char *txt = json_dumps(doc, JSON_INDENT(1));
		if (txt)
			puts(txt);
		free(txt);
		json_decref(doc);
	}
	if (report) {
		if (sb_write_report(report, (const struct sb_result *const *)keep_r,
				    (const struct sb_summary *const *)keep_s, nkeep, &e) < 0) {
			fprintf(stderr, "sched-bench: --report: %s\n", e);
			free(e);
			status = 1;
		}
	}
	for (size_t k = 0; k < nkeep; k++) {
		sb_result_free(keep_r[k]);
		sb_summary_release(keep_s[k]);
		free(keep_r[k]);
		free(keep_s[k]);
	}
	free(keep_r);
	free(keep_s);
	json_decref(items);
	if (skipped == selected) {
		fprintf(stderr, "sched-bench: every selected workload was skipped\n");
		status = 1;
	}
	sb_config_free(cfg);
	return status;
}

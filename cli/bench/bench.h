/*
 * bench.h - `sched-bench run` and `sched-bench compare`: kube-scheduler's
 * scheduler_perf workloads (performance-config.yaml) run against kplane's
 * scheduler, in-process or through a whole `kplane server`.
 *
 *   workload.c      config, params and templates -> struct sb_workload
 *   run-inprocess.c the scheduler core fed directly, a binder that records
 *   run-api.c       a kplane server driven over REST (libcurl), watched
 *   report.c        samples -> metrics, placement check, table and DataItems JSON
 *   hist.c          the scheduler's extension-point and plugin duration histograms
 *   svg.c           --report DIR: index.html with inline SVG charts
 *   compare.c       ratios between two DataItems files
 *
 * Everything here is single-owner data: a struct is freed by the matching
 * _free and owns every pointer in it unless a comment says "borrowed".
 */
#ifndef KPLANE_SCHED_BENCH_H
#define KPLANE_SCHED_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* ------------------------------------------------------------------ */
/* Workloads                                                          */

enum sb_opcode {
	SB_OP_CREATE_NODES,
	SB_OP_CREATE_NAMESPACES,
	SB_OP_CREATE_PODS,
	SB_OP_BARRIER,
	SB_OP_SLEEP,
	SB_OP_CHURN,
	SB_OP_DELETE_PODS,
};

/* One op of a workload with its params substituted. */
struct sb_op {
	enum sb_opcode code;
	int64_t count;
	/* createNodes / createPods / createNamespaces: the template (a parsed
	 * object, NULL = built-in default) and its raw text when it holds
	 * {{.Index}} so that each object is rendered from text. */
	json_t *tmpl;
	char *tmpl_text;
	char *tmpl_path;    /* resolved path, for messages (NULL for defaults) */
	char *ns;           /* createPods/deletePods: namespace (NULL = per-op default) */
	char *prefix;       /* createNamespaces (tmpl: namespaceTemplatePath, may be NULL) */
	bool collect_metrics;
	bool skip_wait;     /* createPods/deletePods.skipWaitToCompletion: run on in the background */
	bool attempted;     /* barrier.stageRequirement: Attempted */
	/* createNodes strategies */
	char *label_key;            /* labelNodePrepareStrategy */
	char **label_values;
	size_t nlabel_values;
	char *unique_label_key;     /* uniqueNodeLabelStrategy */
	json_t *allocatable;        /* nodeAllocatableStrategy.nodeAllocatable (object) */
	/* sleep */
	int64_t duration_ms;
	/* churn */
	bool churn_recreate;        /* mode recreate (else create) */
	json_t *churn_tmpls;        /* array of parsed objects */
	int64_t interval_ms;
	int64_t number;             /* churn: objects per template (recreate), 0 = unbounded */
	/* deletePods */
	double delete_per_second;   /* 0 = all at once */
	json_t *label_selector;     /* deletePods.labelSelector (matchLabels object) */
};

struct sb_workload {
	char *test;      /* test case name, e.g. SchedulingBasic */
	char *name;      /* workload name, e.g. 500Nodes */
	char *full;      /* "test/name" */
	struct sb_op *ops;
	size_t nops;
	double threshold; /* upstream's minimum Average pods/s, 0 = none */
	/* Why it cannot run (unsupported op or field, bad param): NULL when it
	 * can. A workload with a reason is listed and skipped, never run. */
	char *skip_reason;
};

struct sb_config {
	char *path;
	struct sb_workload *w;
	size_t n;
};

/*
 * Reads a scheduler_perf performance-config.yaml, substitutes each
 * workload's params and loads the templates (paths relative to the
 * config's directory). Only errors that make the whole file unusable
 * (unreadable, not YAML, not a list of test cases) fail: a workload that
 * uses something unsupported gets skip_reason instead. *out is freed with
 * sb_config_free(); *errmsg (caller frees) names the field on failure.
 */
int sb_config_load(const char *path, struct sb_config **out, char **errmsg);
void sb_config_free(struct sb_config *c);

/* Does workload w match the --workload pattern (NULL matches all)?
 * "NAME" selects every case of test NAME, "NAME/CASE" one case; both parts
 * are fnmatch(3) patterns. */
bool sb_workload_match(const struct sb_workload *w, const char *pattern);

/*
 * Renders object i of an op: a deep copy of the template (or the text with
 * {{.Index}} replaced), with metadata.name set from generateName + index
 * (kept when the template names it), the namespace set for pods, node
 * strategies applied. Returns a new reference or NULL with *errmsg.
 * seq is the global sequence number used to make names unique.
 */
json_t *sb_render_node(const struct sb_op *op, int64_t i, int64_t seq, char **errmsg);
json_t *sb_render_pod(const struct sb_op *op, const char *ns, int64_t i, int64_t seq,
		      char **errmsg);
/* A Namespace named ns from tmpl (borrowed, NULL = bare) with the
 * kubernetes.io/metadata.name label; new reference or NULL. */
json_t *sb_render_namespace(const json_t *tmpl, const char *ns);
/* The namespace of a createPods op at index opi without one (upstream's). */
char *sb_default_namespace(size_t opi);

/* ------------------------------------------------------------------ */
/* Runs                                                               */

enum sb_mode { SB_MODE_INPROCESS, SB_MODE_API };

struct sb_options {
	enum sb_mode mode;
	const char *server;        /* api: existing server URL, NULL = start one */
	const char *kplane_bin;    /* api: kplane binary, NULL = next to sched-bench */
	const char *sched_config;  /* KubeSchedulerConfiguration file, NULL = default */
	int threads;               /* inprocess: scheduler parallelism; api: clients */
	bool preload;              /* inprocess: hand all pods before the clock starts */
	bool plugins_so;           /* inprocess: plugins from .so modules only (else static table) */
	bool progress;             /* progress line on stderr */
	double timeout_s;          /* give up waiting for pods after this long */
	double settle_s;           /* api: quiet time before unschedulable pods count as such */
	uint64_t seed;
};

/* What one run measured; filled by the runners, summarised by report.c. */
struct sb_result {
	char *name;                 /* borrowed from the workload */
	int64_t nodes, pods_total;  /* created */
	int64_t measured;           /* pods of collectMetrics ops */
	int64_t scheduled;          /* measured pods bound */
	int64_t unschedulable;      /* measured pods not bound at the end */
	int64_t t0_ns, t1_ns;       /* measured window (monotonic) */
	int64_t cpu_ns;             /* inprocess: process CPU time in measured ops, 0 unknown */
	int64_t *bind_ns;           /* per measured pod: bind time, -1 = never */
	int64_t *create_ns;         /* per measured pod: handed/created time */
	int64_t *attempt_ns;        /* attempt durations (inprocess), nattempts of them */
	size_t nattempts;
	int64_t peak_rss;           /* bytes (scheduler process) */
	double bytes_per_node, bytes_per_pod; /* scheduler cache growth, <0 unknown */
	char *metrics_text;         /* scheduler /metrics text, may be NULL */
	json_t *nodes_final;        /* array of Node objects */
	json_t *pods_final;         /* array of Pod objects with spec.nodeName */
	json_t *ns_labels;          /* namespace name -> labels object (for namespaceSelector) */
	/* Filled by sb_check_placement. */
	int64_t violations;
	json_t *violation_list;     /* array of strings (first ones) */
	double cpu_mean, cpu_sd, cpu_max, mem_mean, mem_sd, mem_max;
	double *node_cpu, *node_mem; /* per node utilisation 0..1, nodes_final order */
};
void sb_result_free(struct sb_result *r);

/* Runs one workload. r is zeroed by the caller; filled even on failure as
 * far as it got. 0 or negative with *errmsg. */
int sb_run_inprocess(const struct sb_workload *w, const struct sb_options *o,
		     struct sb_result *r, char **errmsg);
int sb_run_api(const struct sb_workload *w, const struct sb_options *o, struct sb_result *r,
	       char **errmsg);

/* Sets $KPLANE_PLUGIN_PATH to the build tree's plugins/.libs when it is
 * unset and this program runs from a build tree (cli/ or cli/.libs/). */
void sb_build_tree_plugin_path(void);

/* Progress line on stderr (no-op unless o->progress). */
void sb_progress(const struct sb_options *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sb_progress_done(const struct sb_options *o);
int64_t sb_now_ns(void);

/* ------------------------------------------------------------------ */
/* Reports                                                            */

/*
 * Checks the final placement independently of the scheduler: resources
 * (cpu, memory, ephemeral-storage, pods, extended) within allocatable,
 * nodeName/nodeSelector/required node affinity, NoSchedule/NoExecute taints
 * tolerated, required pod anti-affinity and affinity, DoNotSchedule spread
 * skew; fills violations and the utilisation figures of r.
 */
void sb_check_placement(struct sb_result *r);

/* Summary statistics of a run. */
struct sb_summary {
	double tput_avg, tput_p50, tput_p90, tput_p95, tput_p99; /* pods/s */
	size_t nsamples;
	double wall_s;
	double att_p50, att_p90, att_p95, att_p99, att_avg;      /* ms */
	double e2e_p50, e2e_p90, e2e_p99;                        /* ms */
	double *samples;                                         /* per-interval pods/s */
};
/* interval_s: sampling interval (upstream: 1 s); the last partial interval
 * counts scaled by its length, as upstream's collector does. */
void sb_summarise(const struct sb_result *r, double interval_s, struct sb_summary *s);
void sb_summary_release(struct sb_summary *s);

/*
 * One duration histogram of the scheduler (whole workload, every profile
 * separately): metric is upstream's name, "scheduler_framework_extension_
 * point_duration_seconds" (plugin "") or "scheduler_plugin_execution_
 * duration_seconds" (the scheduler times plugins one attempt in ten, and
 * Filter and Score per node not at all).
 */
struct sb_hist {
	char metric[64];
	char ext[32], plugin[96], profile[96];
	double count, sum_s;
	double avg_ms, p50_ms, p90_ms, p95_ms, p99_ms;
};
/* The histograms with observations in metrics text (Prometheus format);
 * returns how many, *out (caller frees) NULL when none. */
size_t sb_sched_hists(const char *metrics_text, struct sb_hist **out);
/* Sorts n histograms by total time (sum_s), the longest first. */
void sb_hists_by_time(struct sb_hist *h, size_t n);

/* DataItems for one workload (median run at index med of rs[0..n)); appended to items. */
void sb_data_items(json_t *items, const struct sb_result *rs, const struct sb_summary *ss,
		   size_t n, size_t med);
/* One table block for a person. */
void sb_print_table(FILE *f, const struct sb_result *rs, const struct sb_summary *ss, size_t n,
		    size_t med, double threshold);

/* --report DIR: writes DIR/index.html for the runs (median run of each). */
int sb_write_report(const char *dir, const struct sb_result *const *rs,
		    const struct sb_summary *const *ss, size_t n, char **errmsg);

/* Commands. */
int sb_cmd_run(int argc, char **argv);
int sb_cmd_compare(int argc, char **argv);

/* Helpers shared by the files. */
int sb_read_file(const char *path, char **buf, size_t *len);
double sb_percentile(double *sorted, size_t n, double p);
int64_t sb_quantity_milli(const json_t *v); /* string/number quantity -> milli units, -1 bad */

#endif

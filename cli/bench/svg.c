/*
 * svg.c - `--report DIR`: DIR/index.html, one section per workload with
 * SVG charts drawn here (no scripts, no external files): throughput over
 * time, the attempt-latency CDF, a node utilisation heatmap and the
 * scheduler's time by extension point and plugin.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <kplane/error.h>

#include "cli/bench/bench.h"

#define W 640
#define H 260
#define ML 60 /* margins */
#define MR 20
#define MT 20
#define MB 40

static void html_escape(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

/* A "nice" axis maximum: 1, 2 or 5 times a power of ten, >= v. */
static double nice_max(double v)
{
	if (!(v > 0))
		return 1;
	double p = pow(10, floor(log10(v)));
	for (int i = 0; i < 3; i++) {
		double m = (i == 0 ? 1 : i == 1 ? 2 : 5) * p;
		if (m >= v)
			return m;
	}
	return 10 * p;
}

static void axes(FILE *f, double xmax, double ymax, const char *xl, const char *yl)
{
	int pw = W - ML - MR, ph = H - MT - MB;
	fprintf(f, "<rect x='%d' y='%d' width='%d' height='%d' fill='#fff' stroke='#999'/>\n", ML, MT,
		pw, ph);
	for (int i = 0; i <= 4; i++) {
		double y = MT + ph - ph * i / 4.0, x = ML + pw * i / 4.0;
		fprintf(f, "<line x1='%d' x2='%d' y1='%.1f' y2='%.1f' stroke='#eee'/>", ML, ML + pw, y, y);
		fprintf(f, "<text x='%d' y='%.1f' font-size='10' text-anchor='end'>%g</text>\n", ML - 4,
			y + 3, ymax * i / 4);
		fprintf(f, "<text x='%.1f' y='%d' font-size='10' text-anchor='middle'>%g</text>\n", x,
			MT + ph + 14, xmax * i / 4);
	}
	fprintf(f, "<text x='%d' y='%d' font-size='11' text-anchor='middle'>", ML + pw / 2, H - 6);
	html_escape(f, xl);
	fprintf(f, "</text><text x='12' y='%d' font-size='11' transform='rotate(-90 12 %d)' text-anchor='middle'>",
		MT + ph / 2, MT + ph / 2);
	html_escape(f, yl);
	fprintf(f, "</text>\n");
}

/*
 * Horizontal bars: the scheduler's total time in each extension point, then
 * in each plugin at an extension point (plugins are timed one attempt in
 * ten, so theirs is a tenth of the time spent), the longest first.
 */
static void chart_hists(FILE *f, const struct sb_result *r)
{
	struct sb_hist *hs = NULL;
	size_t nh = sb_sched_hists(r->metrics_text, &hs);
	if (!nh) {
		fprintf(f, "<p>(no scheduler metrics)</p>\n");
		return;
	}
	sb_hists_by_time(hs, nh);
	double mx = nice_max(hs[0].sum_s * 1e3);
	/* labels left of the bars, figures right of them */
	int row = 16, h = MT + (int)nh * row + 10, lw = 260, cw = 800, pw = cw - lw - 240;
	fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d'>\n", cw, h);
	for (size_t i = 0; i < nh; i++) {
		double y = MT + (double)i * row, bw = pw * (hs[i].sum_s * 1e3) / mx;
		fprintf(f, "<text x='%d' y='%.1f' font-size='10' text-anchor='end'>", lw - 4, y + 11);
		if (*hs[i].plugin) {
			html_escape(f, hs[i].plugin);
			fputc('/', f);
		}
		html_escape(f, hs[i].ext);
		fprintf(f, "</text><rect x='%d' y='%.1f' width='%.1f' height='%d' fill='%s'/>", lw, y + 2,
			bw, row - 4, *hs[i].plugin ? "#e08a3c" : "#3c78d8");
		fprintf(f, "<text x='%.1f' y='%.1f' font-size='10'>%.2f ms total, %.4f ms avg x %.0f</text>\n",
			lw + bw + 4, y + 11, hs[i].sum_s * 1e3, hs[i].avg_ms, hs[i].count);
	}
	fprintf(f, "</svg>\n<p>Blue: extension points (every attempt); orange: plugins "
		   "(timed one attempt in ten; Filter and Score per node not timed).</p>\n");
	free(hs);
}

/* Throughput in pods/s over 50 equal slices of the measured window (finer
 * than the 1 s samples, which a sub-second run has only one of). */
static void chart_throughput(FILE *f, const struct sb_result *r)
{
	const int nb = 50;
	double counts[50] = { 0 };
	double span = (double)(r->t1_ns - r->t0_ns) / 1e9;
	if (!(span > 0))
		span = 1e-3;
	for (int64_t i = 0; i < r->measured; i++) {
		if (r->bind_ns[i] < 0)
			continue;
		int k = (int)((double)(r->bind_ns[i] - r->t0_ns) / 1e9 / span * nb);
		if (k < 0)
			k = 0;
		if (k >= nb)
			k = nb - 1;
		counts[k]++;
	}
	double ymax = 0;
	for (int k = 0; k < nb; k++) {
		counts[k] /= span / nb;
		if (counts[k] > ymax)
			ymax = counts[k];
	}
	ymax = nice_max(ymax);
	double xmax = nice_max(span);
	int pw = W - ML - MR, ph = H - MT - MB;
	fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d'>\n", W, H);
	axes(f, xmax, ymax, "seconds since the measured op started", "pods/s");
	fprintf(f, "<polyline fill='none' stroke='#1f77b4' stroke-width='2' points='");
	for (int k = 0; k < nb; k++) {
		double t = span * (k + 0.5) / nb;
		fprintf(f, "%.1f,%.1f ", ML + pw * t / xmax, MT + ph - ph * counts[k] / ymax);
	}
	fprintf(f, "'/>\n</svg>\n");
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* CDF of attempt latency (log x would hide the body; linear up to p99.9). */
static void chart_cdf(FILE *f, const struct sb_result *r)
{
	size_t n = r->nattempts;
	int64_t *a = n ? malloc(n * sizeof(*a)) : NULL;
	fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d'>\n", W, H);
	if (!a) {
		fprintf(f, "<text x='20' y='40'>no attempt latencies (api mode measures created-to-bound only)</text></svg>\n");
		return;
	}
	memcpy(a, r->attempt_ns, n * sizeof(*a));
	qsort(a, n, sizeof(*a), cmp_i64);
	double xmax = nice_max((double)a[(size_t)((double)(n - 1) * 0.999)] / 1e6);
	int pw = W - ML - MR, ph = H - MT - MB;
	axes(f, xmax, 1, "attempt latency, ms", "fraction of attempts");
	fprintf(f, "<polyline fill='none' stroke='#d62728' stroke-width='2' points='");
	size_t step = n > 400 ? n / 400 : 1;
	for (size_t i = 0; i < n; i += step) {
		double x = (double)a[i] / 1e6;
		if (x > xmax)
			break;
		fprintf(f, "%.1f,%.1f ", ML + pw * x / xmax, MT + ph - ph * (double)(i + 1) / (double)n);
	}
	fprintf(f, "'/>\n</svg>\n");
	free(a);
}

/* One cell per node, colour by cpu utilisation (white 0 -> dark red 1). */
static void chart_heatmap(FILE *f, const struct sb_result *r)
{
	size_t n = json_array_size(r->nodes_final);
	if (!n || !r->node_cpu) {
		fprintf(f, "<p>no nodes</p>\n");
		return;
	}
	size_t cols = (size_t)ceil(sqrt((double)n * 2.5));
	if (cols > 100)
		cols = 100;
	size_t rows = (n + cols - 1) / cols;
	int cell = (int)((W - 20) / cols);
	if (cell > 24)
		cell = 24;
	if (cell < 3)
		cell = 3;
	fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='%zu' height='%zu'>\n",
		cols * (size_t)cell + 20, rows * (size_t)cell + 30);
	for (size_t i = 0; i < n; i++) {
		double u = r->node_cpu[i];
		if (u > 1)
			u = 1;
		int g = (int)(255 * (1 - u));
		fprintf(f, "<rect x='%zu' y='%zu' width='%d' height='%d' fill='rgb(255,%d,%d)'><title>%.0f%% cpu, %.0f%% memory</title></rect>",
			10 + (i % cols) * (size_t)cell, 10 + (i / cols) * (size_t)cell, cell - 1, cell - 1,
			g, g, 100 * r->node_cpu[i], 100 * r->node_mem[i]);
		if (i % 16 == 15)
			fputc('\n', f);
	}
	fprintf(f, "<text x='10' y='%zu' font-size='11'>cell = node in creation order; white = idle, red = cpu fully requested</text>\n",
		rows * (size_t)cell + 24);
	fprintf(f, "</svg>\n");
}

int sb_write_report(const char *dir, const struct sb_result *const *rs,
		    const struct sb_summary *const *ss, size_t n, char **errmsg)
{
	if (mkdir(dir, 0777) < 0 && errno != EEXIST)
		return kp_error_set(errmsg, -errno, "%s: %s", dir, strerror(errno));
	char *path = NULL;
	if (asprintf(&path, "%s/index.html", dir) < 0)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	FILE *f = fopen(path, "w");
	if (!f) {
		int rc = kp_error_set(errmsg, -errno, "%s: %s", path, strerror(errno));
		free(path);
		return rc;
	}
	fprintf(f, "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>sched-bench report</title>\n"
		"<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
		"td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}h2{margin-top:2em}</style>"
		"</head><body>\n<h1>sched-bench report</h1>\n");
	fprintf(f, "<table><tr><th>workload</th><th>nodes</th><th>pods</th><th>pods/s avg</th><th>p50</th>"
		"<th>p90</th><th>p99</th><th>attempt p50 ms</th><th>attempt p99 ms</th>"
		"<th>unschedulable</th><th>violations</th></tr>\n");
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "<tr><td style='text-align:left'><a href='#w%zu'>", i);
		html_escape(f, rs[i]->name);
		fprintf(f, "</a></td><td>%lld</td><td>%lld</td><td>%.0f</td><td>%.0f</td><td>%.0f</td><td>%.0f</td>"
			"<td>%.4f</td><td>%.4f</td><td>%lld</td><td>%lld</td></tr>\n",
			(long long)rs[i]->nodes, (long long)rs[i]->measured, ss[i]->tput_avg, ss[i]->tput_p50,
			ss[i]->tput_p90, ss[i]->tput_p99, ss[i]->att_p50, ss[i]->att_p99,
			(long long)rs[i]->unschedulable, (long long)rs[i]->violations);
	}
	fprintf(f, "</table>\n");
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "<h2 id='w%zu'>", i);
		html_escape(f, rs[i]->name);
		fprintf(f, "</h2>\n<p>%lld pods in %.3f s; cpu utilisation mean %.3f, sd %.3f, max %.3f; "
			"memory mean %.3f, sd %.3f, max %.3f; %lld placement violations.</p>\n",
			(long long)rs[i]->measured, ss[i]->wall_s, rs[i]->cpu_mean, rs[i]->cpu_sd,
			rs[i]->cpu_max, rs[i]->mem_mean, rs[i]->mem_sd, rs[i]->mem_max,
			(long long)rs[i]->violations);
		fprintf(f, "<h3>Throughput over time</h3>\n");
		chart_throughput(f, rs[i]);
		fprintf(f, "<h3>Attempt latency CDF</h3>\n");
		chart_cdf(f, rs[i]);
		fprintf(f, "<h3>Node cpu utilisation</h3>\n");
		chart_heatmap(f, rs[i]);
		fprintf(f, "<h3>Scheduler time by extension point and plugin (whole workload)</h3>\n");
		chart_hists(f, rs[i]);
	}
	fprintf(f, "</body></html>\n");
	int rc = 0;
	if (fclose(f) != 0)
		rc = kp_error_set(errmsg, KP_EIO, "%s: write failed", path);
	free(path);
	return rc;
}

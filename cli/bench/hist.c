/*
 * hist.c - the scheduler's per-extension-point and per-plugin duration
 * histograms, read back from its Prometheus text (kp_scheduler_metrics_text
 * in-process, GET /metrics of a server in api mode) and summarised the way
 * upstream's scheduler_perf summarises them: Average from _sum/_count,
 * percentiles by linear interpolation inside the bucket that holds them
 * (Prometheus' histogram_quantile, the first bucket starting at 0).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/bench/bench.h"

#define EXT_METRIC "scheduler_framework_extension_point_duration_seconds"
#define PLUGIN_METRIC "scheduler_plugin_execution_duration_seconds"
#define MAX_BUCKETS 64

struct acc {
	struct sb_hist h;
	char key[256]; /* the label set without le */
	double le[MAX_BUCKETS], cum[MAX_BUCKETS];
	int nb;
};

/* Copies label `name`'s value out of `labels` ("a=\"x\",b=\"y\""); "" if absent. */
static void label(const char *labels, size_t len, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	out[0] = 0;
	for (size_t i = 0; i + nl + 2 <= len; i++) {
		if ((i && labels[i - 1] != ',') || strncmp(labels + i, name, nl) ||
		    labels[i + nl] != '=' || labels[i + nl + 1] != '"')
			continue;
		const char *v = labels + i + nl + 2, *e = memchr(v, '"', len - (size_t)(v - labels));
		size_t n = e ? (size_t)(e - v) : 0;
		if (n >= cap)
			n = cap - 1;
		memcpy(out, v, n);
		out[n] = 0;
		return;
	}
}

static double quantile(const struct acc *a, double q)
{
	double rank = q * a->h.count;
	for (int i = 0; i < a->nb; i++) {
		if (a->cum[i] < rank)
			continue;
		double lo = i ? a->le[i - 1] : 0, clo = i ? a->cum[i - 1] : 0;
		if (a->le[i] > 1e300) /* +Inf: the highest finite bound, as Prometheus */
			return lo;
		if (a->cum[i] <= clo)
			return a->le[i];
		return lo + (a->le[i] - lo) * (rank - clo) / (a->cum[i] - clo);
	}
	return a->nb ? a->le[a->nb - 1] : 0;
}

static struct acc *find(struct acc **all, size_t *n, size_t *cap, const char *metric,
			const char *key, size_t klen)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*all)[i].h.metric, metric) && strlen((*all)[i].key) == klen &&
		    !strncmp((*all)[i].key, key, klen))
			return &(*all)[i];
	if (klen >= sizeof((*all)[0].key))
		return NULL;
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct acc *p = realloc(*all, nc * sizeof(*p));
		if (!p)
			return NULL;
		*all = p;
		*cap = nc;
	}
	struct acc *a = &(*all)[(*n)++];
	memset(a, 0, sizeof(*a));
	snprintf(a->h.metric, sizeof(a->h.metric), "%s", metric);
	memcpy(a->key, key, klen);
	a->key[klen] = 0;
	label(key, klen, "extension_point", a->h.ext, sizeof(a->h.ext));
	label(key, klen, "plugin", a->h.plugin, sizeof(a->h.plugin));
	label(key, klen, "profile", a->h.profile, sizeof(a->h.profile));
	return a;
}

static int cmp_time_desc(const void *a, const void *b)
{
	const struct sb_hist *x = a, *y = b;
	return (y->sum_s > x->sum_s) - (y->sum_s < x->sum_s);
}

void sb_hists_by_time(struct sb_hist *h, size_t n)
{
	qsort(h, n, sizeof(*h), cmp_time_desc);
}

size_t sb_sched_hists(const char *text, struct sb_hist **out)
{
	static const char *const metrics[] = { EXT_METRIC, PLUGIN_METRIC };
	struct acc *all = NULL;
	size_t n = 0, cap = 0;
	*out = NULL;
	for (const char *l = text; l && *l;) {
		const char *eol = strchr(l, '\n');
		size_t len = eol ? (size_t)(eol - l) : strlen(l);
		const char *next = eol ? eol + 1 : l + len;
		/* kplane's names carry a "kplane_" prefix upstream's do not */
		const char *name = !strncmp(l, "kplane_", 7) ? l + 7 : l;
		for (size_t m = 0; m < 2; m++) {
			size_t ml = strlen(metrics[m]);
			if (strncmp(name, metrics[m], ml))
				continue;
			const char *suf = name + ml, *lb = memchr(suf, '{', len - (size_t)(suf - l));
			const char *rb = lb ? memchr(lb, '}', len - (size_t)(lb - l)) : NULL;
			if (!rb)
				break;
			double v = strtod(rb + 1, NULL);
			size_t klen = (size_t)(rb - lb - 1);
			const char *le = NULL;
			bool bucket = !strncmp(suf, "_bucket{", 8);
			if (bucket) {
				/* the label set without its trailing ,le="..." */
				le = strstr(lb, ",le=\"");
				if (!le || le > rb)
					break;
				klen = (size_t)(le - lb - 1);
			} else if (strncmp(suf, "_sum{", 5) && strncmp(suf, "_count{", 7)) {
				break;
			}
			struct acc *a = find(&all, &n, &cap, metrics[m], lb + 1, klen);
			if (!a)
				break;
			if (bucket && a->nb < MAX_BUCKETS) {
				a->le[a->nb] = !strncmp(le + 5, "+Inf", 4) ? 1e308 : strtod(le + 5, NULL);
				a->cum[a->nb++] = v;
			} else if (suf[1] == 's') {
				a->h.sum_s = v;
			} else if (suf[1] == 'c') {
				a->h.count = v;
			}
			break;
		}
		l = next;
	}
	size_t k = 0;
	struct sb_hist *h = n ? calloc(n, sizeof(*h)) : NULL;
	for (size_t i = 0; h && i < n; i++) {
		struct acc *a = &all[i];
		if (a->h.count <= 0)
			continue;
		a->h.avg_ms = a->h.sum_s / a->h.count * 1e3;
		a->h.p50_ms = quantile(a, 0.50) * 1e3;
		a->h.p90_ms = quantile(a, 0.90) * 1e3;
		a->h.p95_ms = quantile(a, 0.95) * 1e3;
		a->h.p99_ms = quantile(a, 0.99) * 1e3;
		h[k++] = a->h;
	}
	free(all);
	if (!k) {
		free(h);
		h = NULL;
	}
	*out = h;
	return k;
}

/*
 * store-bench - store throughput figures (a tool, not a test: no assertions).
 *
 *   store-bench [--backend leveldb|memory|both|etcd] [--dir DIR] [--runs N]
 *               [--seconds S] [--writers 1,8,64] [--readers 2] [--watchers 100]
 *               [--watch-events 50000] [--value-size BYTES] [--no-sync]
 *               [--only creates|gets|watch] [--etcd-endpoints URL[,URL...]]
 *
 * For each backend and each of N runs, on a fresh store (leveldb: a new
 * directory under DIR, removed afterwards): creates/s with each writer count
 * (synced on leveldb unless --no-sync), gets/s with --readers threads over
 * the keys just written, and watch delivery: --watchers watchers each
 * replaying the last 50,000 events from the shared ring, counted as events
 * delivered per second over all watchers. Prints one line per figure with
 * the median and every run, plus the group-commit factor (writes per fsync).
 * --only measures one kind (the others still fill the store, untimed), for
 * perf record.
 *
 * --backend etcd runs the same figures against a running etcd
 * (--etcd-endpoints, required): keys carry the run and the process id so
 * that runs do not collide; it is not emptied. Watchers replay 10,000 events
 * there by default, and one more figure says how fast one etcd watch stream
 * replays history (the rate a store's feed can fill its ring).
 */
#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <kplane/error.h>

#include "store/etcd.h"
#include "store/store.h"

#define MAX_WRITERS 256
#define MAX_RUNS 21
#define MAX_FIGS 16

static const char *dir = "store-bench.d";
static int runs = 3, readers = 2, nwatchers = 100, nwriter_sets = 3;
static int writer_sets[8] = { 1, 8, 64 };
static double seconds = 1.0;
static size_t value_size = 512;
static bool no_sync;
static const char *only; /* creates, gets or watch: run just that (for profiling) */
static char *value;
static unsigned long watch_events = 50000;
static const char *etcd_eps[17];
static char run_tag[32]; /* in every key: etcd keeps keys across runs */

struct fig {
	char name[64];
	double v[MAX_RUNS];
	double extra[MAX_RUNS]; /* writes per sync, for creates */
	bool has_extra;
};

static struct fig figs[MAX_FIGS];
static int nfigs;
static struct fig scratch; /* figures measured but not shown (--only) */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct fig *fig(const char *name)
{
	for (int i = 0; i < nfigs; i++)
		if (!strcmp(figs[i].name, name))
			return &figs[i];
	snprintf(figs[nfigs].name, sizeof(figs[nfigs].name), "%s", name);
	return &figs[nfigs++];
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	return remove(p);
}

/* ---- creates ---- */

struct wctx {
	struct kp_store *st;
	int set, id;
	volatile int *stop;
	unsigned long n;
	int err;
};

static void *create_loop(void *arg)
{
	struct wctx *c = arg;
	char key[96];

	while (!*c->stop) {
		snprintf(key, sizeof(key), "/registry/pods/bench%d/%sw%d-%lu", c->set, run_tag, c->id,
			 c->n);
		c->err = kp_store_create(c->st, key, value, value_size, NULL);
		if (c->err)
			break;
		c->n++;
	}
	return NULL;
}

/* Returns creates/s; per-thread counts stay in ctx for the readers. */
static double bench_creates(struct kp_store *st, int w, struct wctx *ctx, double *per_sync)
{
	pthread_t t[MAX_WRITERS];
	volatile int stop = 0;
	struct kp_store_stats s0, s1;
	unsigned long total = 0;
	double t0, t1;

	kp_store_stats(st, &s0);
	for (int i = 0; i < w; i++) {
		ctx[i] = (struct wctx){ .st = st, .set = w, .id = i, .stop = &stop };
		pthread_create(&t[i], NULL, create_loop, &ctx[i]);
	}
	t0 = now();
	usleep((useconds_t)(seconds * 1e6));
	stop = 1;
	for (int i = 0; i < w; i++) {
		pthread_join(t[i], NULL);
		total += ctx[i].n;
		if (ctx[i].err) {
			char *m = kp_store_last_error(st);

			fprintf(stderr, "store-bench: create: %s %s\n", kp_strerror(ctx[i].err),
				m ? m : "");
			free(m);
			exit(1);
		}
	}
	t1 = now();
	kp_store_stats(st, &s1);
	*per_sync = s1.syncs > s0.syncs ? (double)(s1.writes - s0.writes) /
					  (double)(s1.syncs - s0.syncs) : 0;
	return (double)total / (t1 - t0);
}

/* ---- gets ---- */

struct rctx {
	struct kp_store *st;
	const struct wctx *keys; /* the writers of the largest create set */
	int nkeys_writers;
	volatile int *stop;
	unsigned long n;
	unsigned seed;
};

static void *get_loop(void *arg)
{
	struct rctx *c = arg;
	char key[96];

	while (!*c->stop) {
		const struct wctx *w;
		struct kp_kv kv;

		/* Batch 64 gets per stop check: keeps the flag off the hot path. */
		for (int k = 0; k < 64; k++) {
			w = &c->keys[rand_r(&c->seed) % (unsigned)c->nkeys_writers];
			if (!w->n)
				continue;
			snprintf(key, sizeof(key), "/registry/pods/bench%d/%sw%d-%lu", w->set, run_tag,
				 w->id, (unsigned long)rand_r(&c->seed) % w->n);
			if (kp_store_get(c->st, key, &kv)) {
				fprintf(stderr, "store-bench: get %s failed\n", key);
				exit(1);
			}
			kp_kv_release(&kv);
			c->n++;
		}
	}
	return NULL;
}

static double bench_gets(struct kp_store *st, const struct wctx *keys, int nw)
{
	pthread_t t[64];
	struct rctx c[64];
	volatile int stop = 0;
	unsigned long total = 0;
	double t0, t1;

	for (int i = 0; i < readers; i++) {
		c[i] = (struct rctx){ .st = st, .keys = keys, .nkeys_writers = nw, .stop = &stop,
				      .seed = 12345u + (unsigned)i };
		pthread_create(&t[i], NULL, get_loop, &c[i]);
	}
	t0 = now();
	usleep((useconds_t)(seconds * 1e6));
	stop = 1;
	for (int i = 0; i < readers; i++) {
		pthread_join(t[i], NULL);
		total += c[i].n;
	}
	t1 = now();
	return (double)total / (t1 - t0);
}

/* ---- watch delivery ---- */

struct wa {
	struct kp_store *st;
	uint64_t from;
	unsigned long want, got;
	int err;
};

static void *watch_loop(void *arg)
{
	struct wa *a = arg;
	struct kp_watch *w;
	struct kp_event ev;

	a->err = kp_store_watch(a->st, "/registry/", a->from, &w);
	if (a->err)
		return NULL;
	while (a->got < a->want) {
		a->err = kp_watch_next(w, &ev, 10000);
		if (a->err)
			break;
		kp_event_release(&ev);
		a->got++;
	}
	kp_watch_free(w);
	return NULL;
}

static double bench_watch(struct kp_store *st)
{
	uint64_t rev = kp_store_revision(st), from;
	pthread_t *t = calloc((size_t)nwatchers, sizeof(*t));
	struct wa *a = calloc((size_t)nwatchers, sizeof(*a));
	unsigned long total = 0;
	double t0, t1;

	/*
	 * Make sure watch_events events are retained (default retention 100000)
	 * and from > 0: a watch from revision 0 means "from now". Filled by 64
	 * writers: one synced writer would take seconds.
	 */
	if (rev - kp_store_oldest_revision(st) <= watch_events) {
		struct wctx fill[64];
		pthread_t ft[64];
		volatile int stop = 0;

		for (int i = 0; i < 64; i++) {
			fill[i] = (struct wctx){ .st = st, .set = 0, .id = i, .stop = &stop };
			pthread_create(&ft[i], NULL, create_loop, &fill[i]);
		}
		while (kp_store_revision(st) - kp_store_oldest_revision(st) <= watch_events)
			usleep(1000);
		stop = 1;
		for (int i = 0; i < 64; i++)
			pthread_join(ft[i], NULL);
		rev = kp_store_revision(st);
	}
	from = rev - watch_events;
	t0 = now();
	for (int i = 0; i < nwatchers; i++) {
		a[i] = (struct wa){ .st = st, .from = from, .want = watch_events };
		pthread_create(&t[i], NULL, watch_loop, &a[i]);
	}
	for (int i = 0; i < nwatchers; i++) {
		pthread_join(t[i], NULL);
		if (a[i].err) {
			fprintf(stderr, "store-bench: watch from %" PRIu64 " (now %" PRIu64 "): %s after %lu events\n",
				from, kp_store_revision(st), kp_strerror(a[i].err), a[i].got);
			exit(1);
		}
		total += a[i].got;
	}
	t1 = now();
	free(t);
	free(a);
	return (double)total / (t1 - t0);
}

/*
 * etcd: what one etcd watch stream delivers (HTTP, JSON, base64 decoding):
 * the rate at which a store's feed fills its ring. The watch figure above
 * is the ring's fan-out to the store's watchers, the same code as leveldb.
 */
static double bench_etcd_stream(struct kp_store *st)
{
	struct kp_store_options o = { .backend = KP_STORE_ETCD, .etcd_endpoints = etcd_eps };
	uint64_t rev = kp_store_revision(st), from = rev > watch_events ? rev - watch_events : 1;
	struct kp__etcd *e;
	struct kp__etcd_watch *w;
	struct kp_event ev;
	unsigned long got = 0;
	char *msg = NULL;
	double t0, t1;
	int ret;

	if (kp__etcd_open(&o, &e, &msg) || kp__etcd_watch(e, "/registry/", from, &w)) {
		fprintf(stderr, "store-bench: etcd stream: %s\n", msg ? msg : "cannot start");
		exit(1);
	}
	t0 = now();
	while (got < rev - from && !(ret = kp__etcd_watch_next(w, &ev, 10000))) {
		kp_event_release(&ev);
		got++;
	}
	t1 = now();
	kp__etcd_watch_free(w);
	kp__etcd_close(e);
	return (double)got / (t1 - t0);
}

/* ---- driver ---- */

static void one_run(enum kp_store_backend be, int run)
{
	struct kp_store_options o = { .backend = be, .no_sync = no_sync,
				      .etcd_endpoints = etcd_eps };
	const char *bn = be == KP_STORE_LEVELDB ? "leveldb" : be == KP_STORE_ETCD ? "etcd" :
			 "memory";
	struct wctx *ctx[8];
	struct kp_store *st;
	char path[4096], name[64], *msg = NULL;
	double per_sync;
	int ret, big = 0;

	if (be == KP_STORE_LEVELDB) {
		snprintf(path, sizeof(path), "%s/run%d-%d", dir, run, (int)getpid());
		o.data_dir = path;
	}
	if (be == KP_STORE_ETCD)
		snprintf(run_tag, sizeof(run_tag), "r%d-%d-", run, (int)getpid());
	ret = kp_store_open(&o, &st, &msg);
	if (ret) {
		fprintf(stderr, "store-bench: open: %s: %s\n", kp_strerror(ret), msg ? msg : "");
		exit(1);
	}
	for (int s = 0; s < nwriter_sets; s++) {
		struct fig *f;
		bool quiet = only && strcmp(only, "creates");

		ctx[s] = calloc((size_t)writer_sets[s], sizeof(*ctx[s]));
		snprintf(name, sizeof(name), "%s %s creates/s, %d writer%s", bn,
			 be == KP_STORE_ETCD ? "durable" :
			 be == KP_STORE_LEVELDB && !no_sync ? "synced" : "unsynced", writer_sets[s],
			 writer_sets[s] > 1 ? "s" : "");
		f = quiet ? &scratch : fig(name);
		/* The other figures need keys: a short untimed fill when not measured. */
		if (quiet)
			seconds /= 10;
		f->v[run] = bench_creates(st, writer_sets[s], ctx[s], &per_sync);
		if (quiet)
			seconds *= 10;
		f->extra[run] = per_sync;
		f->has_extra = be == KP_STORE_LEVELDB && !no_sync;
		if (writer_sets[s] > writer_sets[big])
			big = s;
	}
	snprintf(name, sizeof(name), "%s gets/s, %d reader%s", bn, readers, readers > 1 ? "s" : "");
	if (!only || !strcmp(only, "gets"))
		fig(name)->v[run] = bench_gets(st, ctx[big], writer_sets[big]);
	snprintf(name, sizeof(name), "%s watch events delivered/s, %d watchers", bn, nwatchers);
	if (!only || !strcmp(only, "watch"))
		fig(name)->v[run] = bench_watch(st);
	if (be == KP_STORE_ETCD && (!only || !strcmp(only, "watch")))
		fig("etcd stream events/s, 1 stream replaying")->v[run] = bench_etcd_stream(st);
	for (int s = 0; s < nwriter_sets; s++)
		free(ctx[s]);
	kp_store_close(st);
	if (be == KP_STORE_LEVELDB)
		nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
	double s[MAX_RUNS];

	memcpy(s, v, (size_t)n * sizeof(*v));
	qsort(s, (size_t)n, sizeof(*s), cmp_d);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static void usage(void)
{
	fprintf(stderr, "usage: store-bench [--backend leveldb|memory|both|etcd] [--dir DIR] [--runs N]\n"
		"       [--seconds S] [--writers 1,8,64] [--readers N] [--watchers N]\n"
		"       [--watch-events N] [--value-size BYTES] [--no-sync]\n"
		"       [--only creates|gets|watch] [--etcd-endpoints URL[,URL...]]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *backend = "both";
	char host[256] = "?", *eplist = NULL;
	bool events_set = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--no-sync")) {
			no_sync = true;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--backend"))
			backend = v;
		else if (!strcmp(a, "--only"))
			only = v;
		else if (!strcmp(a, "--dir"))
			dir = v;
		else if (!strcmp(a, "--runs"))
			runs = atoi(v);
		else if (!strcmp(a, "--seconds"))
			seconds = atof(v);
		else if (!strcmp(a, "--readers"))
			readers = atoi(v);
		else if (!strcmp(a, "--watchers"))
			nwatchers = atoi(v);
		else if (!strcmp(a, "--watch-events")) {
			watch_events = strtoul(v, NULL, 10);
			events_set = true;
		} else if (!strcmp(a, "--etcd-endpoints")) {
			int n = 0;

			free(eplist);
			eplist = strdup(v);
			for (char *save = NULL, *t = strtok_r(eplist, ",", &save); t && n < 16;
			     t = strtok_r(NULL, ",", &save))
				etcd_eps[n++] = t;
		}
		else if (!strcmp(a, "--value-size"))
			value_size = (size_t)atol(v);
		else if (!strcmp(a, "--writers")) {
			char *copy = strdup(v), *save = NULL;

			nwriter_sets = 0;
			for (char *tok = strtok_r(copy, ",", &save); tok && nwriter_sets < 8;
			     tok = strtok_r(NULL, ",", &save))
				writer_sets[nwriter_sets++] = atoi(tok);
			free(copy);
		} else
			usage();
	}
	if (runs < 1 || runs > MAX_RUNS || seconds <= 0 || readers < 1 || readers > 64 ||
	    nwatchers < 1 || nwriter_sets < 1 || value_size > (1 << 20))
		usage();
	for (int s = 0; s < nwriter_sets; s++)
		if (writer_sets[s] < 1 || writer_sets[s] > MAX_WRITERS)
			usage();
	if (strcmp(backend, "both") && strcmp(backend, "leveldb") && strcmp(backend, "memory") &&
	    strcmp(backend, "etcd"))
		usage();
	if (!strcmp(backend, "etcd")) {
		if (!etcd_eps[0]) {
			fprintf(stderr, "store-bench: --backend etcd needs --etcd-endpoints\n");
			return 2;
		}
		/* etcd replays history to a new stream at ~10,000 events/s: keep it short. */
		if (!events_set)
			watch_events = 10000;
	}
	if (watch_events < 1)
		usage();
	if (only && strcmp(only, "creates") && strcmp(only, "gets") && strcmp(only, "watch"))
		usage();
	value = malloc(value_size + 1);
	for (size_t i = 0; i < value_size; i++)
		value[i] = "{\"metadata\":\"bench\"}"[i % 20];
	if (strcmp(backend, "memory") && strcmp(backend, "etcd") && mkdir(dir, 0700) < 0 &&
	    errno != EEXIST) {
		fprintf(stderr, "store-bench: cannot create %s: %s\n", dir, strerror(errno));
		return 1;
	}
	gethostname(host, sizeof(host) - 1);
	printf("# store-bench: %d run(s) of %.1fs per figure, %zu-byte values, %ld CPUs, host %s%s\n",
	       runs, seconds, value_size, sysconf(_SC_NPROCESSORS_ONLN), host,
	       no_sync ? ", leveldb NOT synced" : "");
	for (int r = 0; r < runs; r++) {
		if (!strcmp(backend, "etcd")) {
			one_run(KP_STORE_ETCD, r);
			continue;
		}
		if (strcmp(backend, "memory"))
			one_run(KP_STORE_LEVELDB, r);
		if (strcmp(backend, "leveldb"))
			one_run(KP_STORE_MEMORY, r);
	}
	printf("%-52s %12s   %s\n", "figure", "median", "runs");
	for (int i = 0; i < nfigs; i++) {
		printf("%-52s %12.0f  ", figs[i].name, median(figs[i].v, runs));
		for (int r = 0; r < runs; r++)
			printf(" %.0f", figs[i].v[r]);
		if (figs[i].has_extra)
			printf("   (%.1f writes/fsync)", median(figs[i].extra, runs));
		putchar('\n');
	}
	free(value);
	free(eplist);
	return 0;
}

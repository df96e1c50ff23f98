/*
 * kplane-server.c - `kplane server`: the API server on a store.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <kplane/kplane.h>

#include "cli/commands.h"
#include "core/api/api.h"
#include "core/controller/manager.h"
#include "core/runtime/runtime.h"
#include "store/store.h"
#include <kplane/scheduler.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kplane server [options]\n"
		"\n"
		"  --listen ADDR:PORT   address to serve on (default 127.0.0.1:6443; port 0 picks a\n"
		"                       free port, printed as \"kplane: serving on URL\")\n"
		"  --data-dir DIR       leveldb data directory (default /var/lib/kplane as root,\n"
		"                       else $XDG_DATA_HOME/kplane or ~/.local/share/kplane)\n"
		"  --store BACKEND      leveldb (default), memory or etcd\n"
		"  --etcd-endpoints URLS  etcd client URLs, comma-separated (--store etcd)\n"
		"  --etcd-cert FILE, --etcd-key FILE, --etcd-ca FILE  TLS to etcd (PEM)\n"
		"  --config FILE        YAML/JSON file with listen, dataDir, store (flags win)\n"
		"  --port-file FILE     write the bound port to FILE once serving\n"
		"  --threads N          HTTP poll threads (default: number of CPUs)\n"
		"  --write-workers N    threads running writes (default 64)\n"
		"  --components LIST    what to run, comma-separated: api, scheduler, controllers\n"
		"                       (default api,scheduler,controllers)\n"
		"  --controllers LIST   which controllers run: \"*\" all, \"name\" on, \"-name\" off\n"
		"                       (default \"*\"; docs/controllers.md)\n"
		"  --scheduler-config FILE  KubeSchedulerConfiguration (default: kube-scheduler's\n"
		"                       default profile)\n"
		"  --seed N             seed of the scheduler's tie-breaking (default fixed)\n"
		"  --leader-elect=BOOL  run the scheduler and the controllers only while holding\n"
		"                       their Leases, so that several servers can share a store\n"
		"                       (default: true with --store etcd, else false; docs/ha.md)\n"
		"  -h, --help           this help\n");
}

static char *default_data_dir(void)
{
	char *s = NULL;
	if (geteuid() == 0)
		return strdup("/var/lib/kplane");
	const char *x = getenv("XDG_DATA_HOME");
	if (x && *x) {
		if (asprintf(&s, "%s/kplane", x) < 0)
			return NULL;
		return s;
	}
	const char *h = getenv("HOME");
	if (asprintf(&s, "%s/.local/share/kplane", h && *h ? h : ".") < 0)
		return NULL;
	return s;
}

static bool parse_double(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (*s == 0 || *end || errno || v < 0)
		return false;
	*out = v;
	return true;
}

static bool parse_unsigned(const char *s, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (*s == 0 || *end || errno || v > 100000 || *s == '-')
		return false;
	*out = (unsigned)v;
	return true;
}

struct settings {
	char *listen, *data_dir, *store, *port_file, *sched_config;
	bool run_scheduler, run_controllers;
	uint64_t seed;
	char *controllers;    /* --controllers list, NULL = "*" */
	json_t *ctl_settings; /* config "controllers": name -> {workers, args}; owned */
};

/* --components: "api" is always on (the other components run on its store). */
static int parse_components(const char *list, struct settings *s)
{
	char *copy = strdup(list), *save = NULL;
	int rc = 0;
	s->run_scheduler = false;
	s->run_controllers = false;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!strcmp(t, "api"))
			continue;
		if (!strcmp(t, "scheduler")) {
			s->run_scheduler = true;
			continue;
		}
		if (!strcmp(t, "controllers")) {
			s->run_controllers = true;
			continue;
		}
		fprintf(stderr, "kplane server: --components: unknown component \"%s\" "
				"(known: api, scheduler, controllers)\n", t);
		rc = -1;
	}
	free(copy);
	return rc;
}

/*
 * Loads the plugins and starts the scheduler on the store. The config and
 * registry live as long as the runner; *cfg_out and *reg_out are freed by the
 * caller after kp_sched_runner_stop().
 */
int kp__cli_start_scheduler(const char *prog, struct kp_store *st, const char *sched_config,
			    uint64_t seed, struct kp_sched_config **cfg_out,
			    struct kp_registry **reg_out, struct kp_sched_runner **out)
{
	struct kp_sched_config *cfg = NULL;
	struct kp_registry *reg = NULL;
	char *err = NULL;
	int rc = sched_config ? kp_sched_config_load(sched_config, &cfg, &err)
			      : kp_sched_config_parse(NULL, &cfg, &err);
	if (rc < 0) {
		fprintf(stderr, "%s: --scheduler-config %s: %s\n", prog,
			sched_config ? sched_config : "(defaults)", err ? err : kp_strerror(rc));
		goto fail;
	}
	if ((rc = kp_registry_new(&reg)) < 0)
		goto fail;
	rc = kp_registry_load_path(reg, kp_sched_config_plugin_dirs(cfg), true, &err);
	if (rc < 0) {
		fprintf(stderr, "%s: loading plugins: %s\n", prog, err ? err : kp_strerror(rc));
		goto fail;
	}
	for (size_t i = 0; i < kp_registry_nrefused(reg); i++) {
		const char *path, *why;
		kp_registry_refused(reg, i, &path, &why);
		fprintf(stderr, "%s: plugin %s refused: %s\n", prog, path, why);
	}
	rc = kp_sched_runner_start(st, cfg, reg, seed, out, &err);
	if (rc < 0) {
		fprintf(stderr, "%s: cannot start the scheduler: %s\n", prog,
			err ? err : kp_strerror(rc));
		goto fail;
	}
	fprintf(stderr, "kplane: scheduler running with %zu plugin modules\n",
		kp_registry_count(reg));
	*cfg_out = cfg;
	*reg_out = reg;
	return 0;
fail:
	free(err);
	kp_registry_free(reg);
	kp_sched_config_free(cfg);
	return rc < 0 ? rc : KP_EINVAL;
}

/*
 * Loads the controller plugins (the scheduler's plugin path) and starts the
 * controller manager; *reg_out is freed by the caller after the manager.
 */
int kp__cli_start_controllers(const char *prog, struct kp_store *st, const char *enabled,
			      const json_t *settings, struct kp_registry **reg_out,
			      struct kp_ctl_manager **out)
{
	struct kp_registry *reg = NULL;
	struct kp_ctl_manager *m = NULL;
	char *err = NULL;
	int rc = kp_registry_new(&reg);
	if (rc < 0)
		goto fail;
	rc = kp_registry_load_path(reg, NULL, true, &err);
	if (rc < 0)
		goto fail;
	if ((rc = kp_ctl_manager_new(st, &m, &err)) < 0)
		goto fail;
	rc = kp_ctl_manager_add_registry(m, reg, enabled, settings, &err);
	if (rc < 0)
		goto fail;
	if ((rc = kp_ctl_manager_start(m, &err)) < 0)
		goto fail;
	fprintf(stderr, "kplane: %zu controllers running\n", kp_ctl_manager_count(m));
	*reg_out = reg;
	*out = m;
	return 0;
fail:
	fprintf(stderr, "%s: cannot start the controllers: %s\n", prog,
		err ? err : kp_strerror(rc));
	free(err);
	kp_ctl_manager_free(m);
	kp_registry_free(reg);
	return rc < 0 ? rc : KP_EINVAL;
}

static int load_config(const char *path, struct settings *s)
{
	json_t *cfg = NULL;
	if (kp__cli_load_doc("kplane server", "--config", path, &cfg))
		return -1;
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
		{ "listen", offsetof(struct settings, listen) },
		{ "dataDir", offsetof(struct settings, data_dir) },
		{ "store", offsetof(struct settings, store) },
	};
	const char *k;
	json_t *v;
	json_object_foreach (cfg, k, v) {
		if (!strcmp(k, "controllers")) {
			if (!json_is_object(v)) {
				fprintf(stderr, "kplane server: --config %s: controllers: expected a "
						"mapping of controller name to {workers, args}\n",
					path);
				json_decref(cfg);
				return -1;
			}
			json_decref(s->ctl_settings);
			s->ctl_settings = json_incref(v);
			continue;
		}
		size_t i;
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (!strcmp(k, keys[i].key))
				break;
		if (i == sizeof(keys) / sizeof(keys[0]) || !json_is_string(v)) {
			fprintf(stderr,
				"kplane server: --config %s: %s: %s (known keys: listen, dataDir, "
				"store, all strings; controllers)\n",
				path, k, i == sizeof(keys) / sizeof(keys[0]) ? "unknown key" :
									   "expected a string");
			json_decref(cfg);
			return -1;
		}
		char **slot = (char **)((char *)s + keys[i].off);
		free(*slot);
		*slot = strdup(json_string_value(v));
	}
	json_decref(cfg);
	return 0;
}

/* The scheduler or the controllers, with their lease when elected. */
/*
 * The running scheduler, for GET /metrics (kube-scheduler serves its own;
 * here it shares the API server's): set when it starts, cleared before it
 * stops, under the lock the HTTP threads read it with.
 */
static pthread_mutex_t metrics_mu = PTHREAD_MUTEX_INITIALIZER;
static struct kp_sched_runner *metrics_sched;

static char *sched_metrics(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&metrics_mu);
	char *text = metrics_sched ? kp_sched_runner_metrics(metrics_sched) : NULL;
	pthread_mutex_unlock(&metrics_mu);
	return text;
}

struct elected {
	bool on;
	const char *lease;
	struct kp_leader *le;
	bool running;
	struct kp_sched_config *cfg;
	struct kp_registry *reg;
	struct kp_sched_runner *sched;
	struct kp_ctl_manager *ctl;
};

static int campaign(struct kp_store *st, struct elected *e, const char *identity)
{
	struct kp_leader_options lo = { .lease_name = e->lease, .identity = identity };
	char *err = NULL;
	int rc = kp_leader_start(st, &lo, &e->le, &err);
	if (rc < 0)
		fprintf(stderr, "kplane server: leader election for %s: %s\n", e->lease,
			err ? err : kp_strerror(rc));
	free(err);
	return rc;
}

/* which: 0 the scheduler, 1 the controllers. */
static int act(struct kp_store *st, const struct settings *set, struct elected *e, int which)
{
	int rc = which == 0 ? kp__cli_start_scheduler("kplane server", st, set->sched_config,
						      set->seed, &e->cfg, &e->reg, &e->sched) :
			      kp__cli_start_controllers("kplane server", st, set->controllers,
							set->ctl_settings, &e->reg, &e->ctl);
	e->running = rc == 0;
	if (rc == 0 && which == 0) {
		pthread_mutex_lock(&metrics_mu);
		metrics_sched = e->sched;
		pthread_mutex_unlock(&metrics_mu);
	}
	return rc;
}

static void stand_down(struct elected *e, bool release)
{
	kp_ctl_manager_free(e->ctl);
	pthread_mutex_lock(&metrics_mu);
	if (metrics_sched == e->sched)
		metrics_sched = NULL;
	pthread_mutex_unlock(&metrics_mu);
	kp_sched_runner_stop(e->sched);
	kp_registry_free(e->reg);
	kp_sched_config_free(e->cfg);
	e->ctl = NULL;
	e->sched = NULL;
	e->reg = NULL;
	e->cfg = NULL;
	e->running = false;
	kp_leader_stop(e->le, release);
	e->le = NULL;
}

static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int kp_cmd_server(int argc, char **argv)
{
	enum { O_LISTEN = 256, O_DATA, O_STORE, O_CONFIG, O_PORTFILE, O_THREADS, O_WORKERS,
	       O_COMPACT, O_BOOKMARK, O_NOSYNC, O_RETENTION, O_COMPONENTS, O_SCHEDCFG, O_SEED, O_CONTROLLERS,
	       O_ETCD, O_ETCD_CERT, O_ETCD_KEY, O_ETCD_CA, O_LE };
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "data-dir", required_argument, NULL, O_DATA },
		{ "store", required_argument, NULL, O_STORE },
		{ "etcd-endpoints", required_argument, NULL, O_ETCD },
		{ "etcd-cert", required_argument, NULL, O_ETCD_CERT },
		{ "etcd-key", required_argument, NULL, O_ETCD_KEY },
		{ "etcd-ca", required_argument, NULL, O_ETCD_CA },
		{ "config", required_argument, NULL, O_CONFIG },
		{ "port-file", required_argument, NULL, O_PORTFILE },
		{ "threads", required_argument, NULL, O_THREADS },
		{ "write-workers", required_argument, NULL, O_WORKERS },
		{ "components", required_argument, NULL, O_COMPONENTS },
		{ "scheduler-config", required_argument, NULL, O_SCHEDCFG },
		{ "seed", required_argument, NULL, O_SEED },
		{ "controllers", required_argument, NULL, O_CONTROLLERS },
		{ "leader-elect", optional_argument, NULL, O_LE },
		/* hidden: for tests and benchmarks */
		{ "compact-interval", required_argument, NULL, O_COMPACT },
		{ "bookmark-interval", required_argument, NULL, O_BOOKMARK },
		{ "no-sync", no_argument, NULL, O_NOSYNC },
		{ "event-retention", required_argument, NULL, O_RETENTION },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct settings set = { .run_scheduler = true, .run_controllers = true };
	int leader_elect = -1; /* -1: only on etcd */
	struct kp_api_options ao = { 0 };
	struct kp_store_options so = { 0 };
	char *etcd_list = NULL;          /* --etcd-endpoints, split in place into etcd_eps */
	const char *etcd_eps[17] = { 0 };
	char *config = NULL;
	int ret = 1;
	unsigned u;
	/* First pass: only --config, so that flags override the file. */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			config = argv[i + 1];
		else if (!strncmp(argv[i], "--config=", 9))
			config = argv[i] + 9;
	}
	if (config && load_config(config, &set))
		goto out;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_LISTEN: free(set.listen); set.listen = strdup(optarg); break;
		case O_DATA: free(set.data_dir); set.data_dir = strdup(optarg); break;
		case O_STORE: free(set.store); set.store = strdup(optarg); break;
		case O_ETCD: {
			size_t n = 0;
			free(etcd_list);
			etcd_list = strdup(optarg);
			for (char *save = NULL, *t = strtok_r(etcd_list, ",", &save); t;
			     t = strtok_r(NULL, ",", &save)) {
				if (n == 16) {
					fprintf(stderr, "kplane server: --etcd-endpoints: at most 16\n");
					ret = 2;
					goto out;
				}
				etcd_eps[n++] = t;
			}
			etcd_eps[n] = NULL;
			so.etcd_endpoints = etcd_eps;
			break;
		}
		case O_ETCD_CERT: so.etcd_cert = optarg; break;
		case O_ETCD_KEY: so.etcd_key = optarg; break;
		case O_ETCD_CA: so.etcd_ca = optarg; break;
		case O_CONFIG: break;
		case O_PORTFILE: free(set.port_file); set.port_file = strdup(optarg); break;
		case O_THREADS:
			if (!parse_unsigned(optarg, &ao.threads)) {
				fprintf(stderr, "kplane server: --threads: \"%s\" is not a count\n",
					optarg);
				goto out;
			}
			break;
		case O_WORKERS:
			if (!parse_unsigned(optarg, &ao.write_workers)) {
				fprintf(stderr,
					"kplane server: --write-workers: \"%s\" is not a count\n",
					optarg);
				goto out;
			}
			break;
		case O_COMPACT:
			if (!parse_double(optarg, &ao.compact_interval)) {
				fprintf(stderr, "kplane server: --compact-interval: \"%s\" is not a "
						"number of seconds\n",
					optarg);
				goto out;
			}
			break;
		case O_BOOKMARK:
			if (!parse_double(optarg, &ao.bookmark_interval)) {
				fprintf(stderr, "kplane server: --bookmark-interval: \"%s\" is not a "
						"number of seconds\n",
					optarg);
				goto out;
			}
			break;
		case O_NOSYNC: so.no_sync = true; break;
		case O_COMPONENTS:
			if (parse_components(optarg, &set)) {
				ret = 2;
				goto out;
			}
			break;
		case O_CONTROLLERS:
			free(set.controllers);
			set.controllers = strdup(optarg);
			break;
		case O_SCHEDCFG:
			free(set.sched_config);
			set.sched_config = strdup(optarg);
			break;
		case O_SEED: {
			char *end;
			errno = 0;
			set.seed = strtoull(optarg, &end, 10);
			if (!*optarg || *end || errno || *optarg == '-') {
				fprintf(stderr, "kplane server: --seed: \"%s\" is not a number\n",
					optarg);
				ret = 2;
				goto out;
			}
			break;
		}
		case O_RETENTION:
			if (!parse_unsigned(optarg, &u)) {
				fprintf(stderr, "kplane server: --event-retention: \"%s\" is not a "
						"count\n",
					optarg);
				goto out;
			}
			so.event_retention = u;
			break;
		case O_LE:
			if (!optarg || !strcmp(optarg, "true"))
				leader_elect = 1;
			else if (!strcmp(optarg, "false"))
				leader_elect = 0;
			else {
				fprintf(stderr, "kplane server: --leader-elect: \"%s\" is not true or "
						"false\n", optarg);
				ret = 2;
				goto out;
			}
			break;
		case 'h': usage(stdout); ret = 0; goto out;
		default: usage(stderr); ret = 2; goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kplane server: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		ret = 2;
		goto out;
	}
	so.backend = KP_STORE_LEVELDB;
	if (set.store && kp_store_backend_parse(set.store, &so.backend)) {
		fprintf(stderr, "kplane server: --store: \"%s\" is not a backend (leveldb, memory, etcd)\n",
			set.store);
		ret = 2;
		goto out;
	}
	if (so.backend == KP_STORE_LEVELDB) {
		if (!set.data_dir)
			set.data_dir = default_data_dir();
		so.data_dir = set.data_dir;
	}
	ao.listen = set.listen ? set.listen : "127.0.0.1:6443";
	ao.extra_metrics = sched_metrics;

	/* Signals are taken by sigwait below; every thread started later inherits the mask. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();

	struct kp_store *st = NULL;
	char *err = NULL;
	int rc = kp_store_open(&so, &st, &err);
	if (rc) {
		fprintf(stderr, "kplane server: cannot open the %s store%s%s: %s\n",
			so.backend == KP_STORE_LEVELDB ? "leveldb" :
			so.backend == KP_STORE_ETCD ? "etcd" : "memory",
			so.data_dir ? " in " : "", so.data_dir ? so.data_dir : "",
			err ? err : kp_strerror(rc));
		free(err);
		goto out;
	}
	struct kp_api_server *srv = NULL;
	rc = kp_api_server_start(st, &ao, &srv, &err);
	if (rc) {
		fprintf(stderr, "kplane server: %s\n", err ? err : kp_strerror(rc));
		free(err);
		kp_store_close(st);
		goto out;
	}
	if (leader_elect < 0)
		leader_elect = so.backend == KP_STORE_ETCD;
	struct elected comps[2] = {
		{ .on = set.run_scheduler, .lease = "kube-scheduler" },
		{ .on = set.run_controllers, .lease = "kube-controller-manager" },
	};
	char *identity = leader_elect ? kp__cli_identity() : NULL;
	for (int i = 0; i < 2; i++) {
		if (!comps[i].on)
			continue;
		if (leader_elect ? campaign(st, &comps[i], identity) < 0 :
				   act(st, &set, &comps[i], i) < 0) {
			for (int j = 0; j < 2; j++)
				stand_down(&comps[j], false);
			free(identity);
			kp_api_server_stop(srv);
			kp_store_close(st);
			goto out;
		}
	}
	char host[256];
	const char *colon = strrchr(ao.listen, ':');
	snprintf(host, sizeof(host), "%.*s", (int)(colon - ao.listen), ao.listen);
	if (!strcmp(host, "0.0.0.0") || !*host)
		snprintf(host, sizeof(host), "127.0.0.1");
	printf("kplane: serving on http://%s:%u\n", host, kp_api_server_port(srv));
	fflush(stdout);
	if (set.port_file) {
		char tmp[4096];
		snprintf(tmp, sizeof(tmp), "%s.tmp", set.port_file);
		FILE *pf = fopen(tmp, "w");
		if (!pf || fprintf(pf, "%u\n", kp_api_server_port(srv)) < 0 || fclose(pf) ||
		    rename(tmp, set.port_file)) {
			fprintf(stderr, "kplane server: --port-file %s: %s\n", set.port_file,
				strerror(errno));
		}
	}
	int sig = 0;
	for (;;) {
		struct timespec tick = { 0, 100 * 1000000L };
		sig = sigtimedwait(&sigs, NULL, &tick);
		if (sig == SIGINT || sig == SIGTERM)
			break;
		/* Elected components start when their lease is won and stop when it is lost. */
		for (int i = 0; i < 2; i++) {
			struct elected *e = &comps[i];
			bool lost = false;
			if (!e->le)
				continue;
			bool leading = kp_leader_wait(e->le, 0, &lost);
			if (lost) {
				fprintf(stderr, "kplane: lost the %s lease: stopping it and campaigning "
						"again\n", e->lease);
				stand_down(e, false);
				campaign(st, e, identity);
			} else if (leading && !e->running && act(st, &set, e, i) < 0) {
				stand_down(e, true);
			}
		}
	}
	fprintf(stderr, "kplane: %s received, finishing in-flight requests\n",
		sig == SIGINT ? "SIGINT" : "SIGTERM");
	/* Controllers and scheduler write through the store: stop them before it closes. */
	for (int i = 1; i >= 0; i--)
		stand_down(&comps[i], true);
	free(identity);
	kp_api_server_stop(srv);
	kp_store_close(st);
	fprintf(stderr, "kplane: stopped\n");
	ret = 0;
out:
	free(etcd_list);
	free(set.listen);
	free(set.data_dir);
	free(set.store);
	free(set.port_file);
	free(set.sched_config);
	free(set.controllers);
	json_decref(set.ctl_settings);
	return ret;
}

/*
 * kplane-component.c - `kplane scheduler` and `kplane controller-manager`:
 * the scheduler or the controllers in a process of their own, against one
 * or more API servers, with leader election.
 *
 * The component's store is the API servers' store gateway
 * (core/api/gateway.c) opened as the etcd backend: the same informers,
 * compare-and-swap writes and plugins as inside `kplane server`, with
 * failover between the --server URLs. With --leader-elect (the default, as
 * in kube-scheduler) the component only acts while it holds its Lease, and
 * exits when it loses it, as kube-scheduler does; a supervisor restarts it
 * as a follower. /healthz and /metrics on --listen say who leads.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include <kplane/kplane.h>
#include <kplane/scheduler.h>

#include "cli/commands.h"
#include "core/controller/manager.h"
#include "core/runtime/runtime.h"
#include "store/store.h"

enum kind { SCHEDULER, CONTROLLER_MANAGER };

struct component {
	enum kind kind;
	const char *prog;        /* "kplane scheduler" */
	const char *metric_name; /* leader_election_master_status{name=...} */
	char *servers, *listen, *port_file, *sched_config, *controllers, *lease_name,
		*lease_ns, *identity, *config;
	bool leader_elect;
	double lease_duration, renew_deadline, retry_period;
	uint64_t seed;
	json_t *ctl_settings;

	struct kp_leader *le;
	volatile int running; /* the scheduler or the controllers are acting */
};

static void usage(FILE *f, const struct component *c)
{
	fprintf(f,
		"usage: %s --server URL[,URL...] [options]\n"
		"\n"
		"  --server URLS        API servers (comma-separated; failover in order; default\n"
		"                       $KPLANE_SERVER)\n"
		"  --listen ADDR:PORT   /healthz and /metrics (default 127.0.0.1:%s; port 0 picks one)\n"
		"  --port-file FILE     write the bound port to FILE once serving\n"
		"  --leader-elect=BOOL  act only while holding the Lease (default true)\n"
		"  --leader-elect-lease-duration D   (default 15s)\n"
		"  --leader-elect-renew-deadline D   (default 10s)\n"
		"  --leader-elect-retry-period D     (default 2s)\n"
		"  --leader-elect-resource-name NAME       (default %s)\n"
		"  --leader-elect-resource-namespace NS    (default kube-system)\n"
		"  --identity ID        holder identity (default HOSTNAME_UUID)\n",
		c->prog, c->kind == SCHEDULER ? "10259" : "10257", c->metric_name);
	if (c->kind == SCHEDULER)
		fprintf(f, "  --scheduler-config FILE  KubeSchedulerConfiguration\n"
			   "  --seed N             seed of the tie-breaking\n");
	else
		fprintf(f, "  --controllers LIST   \"*\" all, \"name\" on, \"-name\" off (default \"*\")\n"
			   "  --config FILE        YAML/JSON with `controllers:` settings (workers, args)\n");
	fprintf(f, "  -h, --help           this help\n\n"
		   "Durations: 15s, 1500ms, 1m, or plain seconds. docs/ha.md explains the topology.\n");
}

/* "15s", "1500ms", "1m", "2.5" (seconds); false when malformed or not positive. */
static bool parse_duration(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || v <= 0)
		return false;
	if (!strcmp(end, "ms"))
		v /= 1000;
	else if (!strcmp(end, "m"))
		v *= 60;
	else if (*end && strcmp(end, "s"))
		return false;
	*out = v;
	return true;
}

static bool parse_bool(const char *s, bool *out)
{
	if (!strcmp(s, "true") || !strcmp(s, "1")) {
		*out = true;
		return true;
	}
	if (!strcmp(s, "false") || !strcmp(s, "0")) {
		*out = false;
		return true;
	}
	return false;
}

/* The controller-manager's --config: a mapping with `controllers:` only. */
static int load_ctl_config(struct component *c)
{
	json_t *cfg = NULL;
	if (kp__cli_load_doc(c->prog, "--config", c->config, &cfg))
		return -1;
	const char *k;
	json_t *v;
	json_object_foreach (cfg, k, v) {
		if (strcmp(k, "controllers") || !json_is_object(v)) {
			fprintf(stderr, "%s: --config %s: %s: %s\n", c->prog, c->config, k,
				strcmp(k, "controllers") ? "unknown key (known: controllers)" :
							   "expected a mapping of controller name to "
							   "{workers, args}");
			json_decref(cfg);
			return -1;
		}
		json_decref(c->ctl_settings);
		c->ctl_settings = json_incref(v);
	}
	json_decref(cfg);
	return 0;
}

/* ---- /healthz and /metrics ---- */

static enum MHD_Result on_health(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version, const char *upload,
				 size_t *upload_size, void **con_cls)
{
	struct component *c = cls;
	char body[1024];
	const char *ctype = "text/plain; charset=utf-8";
	unsigned code = 200;
	bool leading = c->le ? kp_leader_leading(c->le) : true;
	char *holder = c->le ? kp_leader_holder(c->le) : strdup("");
	const char *id = c->le ? kp_leader_identity(c->le) : "";
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		code = 405;
		snprintf(body, sizeof(body), "method not allowed\n");
	} else if (!strcmp(url, "/healthz") || !strcmp(url, "/livez") || !strcmp(url, "/readyz")) {
		if (MHD_lookup_connection_value_n(conn, MHD_GET_ARGUMENT_KIND, "verbose", 7, NULL,
						  NULL) == MHD_YES)
			snprintf(body, sizeof(body),
				 "[+]ping ok\n[+]leaderElection ok\n%s check passed\n"
				 "leader: %s%s\n",
				 url + 1, c->le ? (*holder ? holder : "(none)") : "(election off)",
				 c->le && *holder && !strcmp(holder, id) ? " (this process)" : "");
		else
			snprintf(body, sizeof(body), "ok");
	} else if (!strcmp(url, "/metrics")) {
		ctype = "text/plain; version=0.0.4; charset=utf-8";
		snprintf(body, sizeof(body),
			 "# HELP leader_election_master_status Gauge of if the reporting system is "
			 "master of the relevant lease, 0 indicates backup, 1 indicates master.\n"
			 "# TYPE leader_election_master_status gauge\n"
			 "leader_election_master_status{name=\"%s\"} %d\n"
			 "# HELP kplane_leader_info The holder of the lease, as this process last "
			 "read it.\n"
			 "# TYPE kplane_leader_info gauge\n"
			 "kplane_leader_info{name=\"%s\",holder=\"%s\",identity=\"%s\"} 1\n"
			 "# HELP kplane_component_running 1 while this process schedules or "
			 "reconciles.\n"
			 "# TYPE kplane_component_running gauge\n"
			 "kplane_component_running %d\n",
			 c->metric_name, leading ? 1 : 0, c->metric_name, holder, id,
			 c->running ? 1 : 0);
	} else {
		code = 404;
		snprintf(body, sizeof(body), "404 page not found\n");
	}
	free(holder);
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	enum MHD_Result ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

static struct MHD_Daemon *start_health(struct component *c, unsigned *port)
{
	const char *colon = strrchr(c->listen, ':');
	struct sockaddr_in a = { .sin_family = AF_INET };
	char host[64];
	char *end;
	unsigned long p = colon ? strtoul(colon + 1, &end, 10) : 0;
	if (!colon || colon == c->listen || (size_t)(colon - c->listen) >= sizeof(host) ||
	    !colon[1] || *end || p > 65535) {
		fprintf(stderr, "%s: --listen %s: expected ADDR:PORT\n", c->prog, c->listen);
		return NULL;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - c->listen), c->listen);
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		fprintf(stderr, "%s: --listen %s: %s is not an IPv4 address\n", c->prog, c->listen,
			host);
		return NULL;
	}
	a.sin_port = htons((uint16_t)p);
	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, on_health, c,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&a, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "%s: --listen %s: cannot serve there (port in use?)\n", c->prog,
			c->listen);
		return NULL;
	}
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	*port = i ? i->port : (unsigned)p;
	return d;
}

/* ---- the component ---- */

struct acting {
	struct kp_sched_config *cfg;
	struct kp_registry *reg;
	struct kp_sched_runner *sched;
	struct kp_ctl_manager *ctl;
};

static int act(struct component *c, struct kp_store *st, struct acting *a)
{
	int rc = c->kind == SCHEDULER ?
			 kp__cli_start_scheduler(c->prog, st, c->sched_config, c->seed, &a->cfg,
						 &a->reg, &a->sched) :
			 kp__cli_start_controllers(c->prog, st, c->controllers, c->ctl_settings,
						   &a->reg, &a->ctl);
	if (!rc)
		c->running = 1;
	return rc;
}

static void stop_acting(struct component *c, struct acting *a)
{
	kp_ctl_manager_free(a->ctl);
	kp_sched_runner_stop(a->sched);
	kp_registry_free(a->reg);
	kp_sched_config_free(a->cfg);
	memset(a, 0, sizeof(*a));
	c->running = 0;
}

char *kp__cli_identity(void)
{
	char host[256] = "localhost", uid[37], *s = NULL;
	gethostname(host, sizeof(host) - 1);
	kp_uuid4(uid);
	if (asprintf(&s, "%s_%s", host, uid) < 0)
		return NULL;
	return s;
}

/* Splits the --server list into store gateway endpoints (NULL-terminated; caller frees). */
static char **gateway_endpoints(const struct component *c)
{
	size_t n = 1;
	for (const char *p = c->servers; *p; p++)
		n += *p == ',';
	char **eps = calloc(n + 1, sizeof(char *)), *copy = strdup(c->servers), *save = NULL;
	size_t i = 0;
	for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t && eps;
	     t = strtok_r(NULL, ",", &save)) {
		size_t l = strlen(t);
		while (l && t[l - 1] == '/')
			t[--l] = 0;
		if (strncmp(t, "http://", 7) && strncmp(t, "https://", 8)) {
			fprintf(stderr, "%s: --server: \"%s\" is not an http:// or https:// URL\n",
				c->prog, t);
			goto fail;
		}
		if (asprintf(&eps[i], "%s/kplane/store", t) < 0)
			goto fail;
		i++;
	}
	if (!eps || !i) {
		fprintf(stderr, "%s: --server: at least one API server URL is required\n", c->prog);
		goto fail;
	}
	free(copy);
	return eps;
fail:
	for (size_t j = 0; eps && eps[j]; j++)
		free(eps[j]);
	free(eps);
	free(copy);
	return NULL;
}

static int run(struct component *c, int argc, char **argv)
{
	enum { O_SERVER = 256, O_LISTEN, O_PORTFILE, O_LE, O_LE_LEASE, O_LE_RENEW, O_LE_RETRY,
	       O_LE_NAME, O_LE_NS, O_ID, O_SCHEDCFG, O_SEED, O_CONTROLLERS, O_CONFIG };
	static const struct option opts[] = {
		{ "server", required_argument, NULL, O_SERVER },
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "port-file", required_argument, NULL, O_PORTFILE },
		{ "leader-elect", optional_argument, NULL, O_LE },
		{ "leader-elect-lease-duration", required_argument, NULL, O_LE_LEASE },
		{ "leader-elect-renew-deadline", required_argument, NULL, O_LE_RENEW },
		{ "leader-elect-retry-period", required_argument, NULL, O_LE_RETRY },
		{ "leader-elect-resource-name", required_argument, NULL, O_LE_NAME },
		{ "leader-elect-resource-namespace", required_argument, NULL, O_LE_NS },
		{ "identity", required_argument, NULL, O_ID },
		{ "scheduler-config", required_argument, NULL, O_SCHEDCFG },
		{ "seed", required_argument, NULL, O_SEED },
		{ "controllers", required_argument, NULL, O_CONTROLLERS },
		{ "config", required_argument, NULL, O_CONFIG },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ret = 2, o;
	char **eps = NULL;
	c->leader_elect = true;
	optind = 1;
	int li = -1;
	while ((o = getopt_long(argc, argv, "h", opts, &li)) != -1) {
		const char *oname = li >= 0 ? opts[li].name : "?";
		li = -1;
		char **slot = NULL;
		double *dur = NULL;
		switch (o) {
		case O_SERVER: slot = &c->servers; break;
		case O_LISTEN: slot = &c->listen; break;
		case O_PORTFILE: slot = &c->port_file; break;
		case O_LE_NAME: slot = &c->lease_name; break;
		case O_LE_NS: slot = &c->lease_ns; break;
		case O_ID: slot = &c->identity; break;
		case O_LE_LEASE: dur = &c->lease_duration; break;
		case O_LE_RENEW: dur = &c->renew_deadline; break;
		case O_LE_RETRY: dur = &c->retry_period; break;
		case O_SCHEDCFG:
		case O_SEED:
			if (c->kind != SCHEDULER)
				goto only;
			if (o == O_SCHEDCFG) {
				slot = &c->sched_config;
				break;
			}
			{
				char *end;
				errno = 0;
				c->seed = strtoull(optarg, &end, 10);
				if (!*optarg || *end || errno || *optarg == '-') {
					fprintf(stderr, "%s: --seed: \"%s\" is not a non-negative "
							"integer\n", c->prog, optarg);
					goto out;
				}
			}
			continue;
		case O_CONTROLLERS:
		case O_CONFIG:
			if (c->kind != CONTROLLER_MANAGER)
				goto only;
			slot = o == O_CONFIG ? &c->config : &c->controllers;
			break;
		case O_LE:
			if (optarg && !parse_bool(optarg, &c->leader_elect)) {
				fprintf(stderr, "%s: --leader-elect: \"%s\" is not true or false\n",
					c->prog, optarg);
				goto out;
			}
			if (!optarg)
				c->leader_elect = true;
			continue;
		case 'h': usage(stdout, c); ret = 0; goto out;
		default: usage(stderr, c); goto out;
		}
		if (slot) {
			free(*slot);
			*slot = strdup(optarg);
		} else if (!parse_duration(optarg, dur)) {
			fprintf(stderr, "%s: --%s: \"%s\" is not a positive duration (15s, 1500ms, "
					"1m)\n", c->prog, oname, optarg);
			goto out;
		}
		continue;
only:
		fprintf(stderr, "%s: --%s is not an option of this command\n", c->prog, oname);
		usage(stderr, c);
		goto out;
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument \"%s\"\n", c->prog, argv[optind]);
		goto out;
	}
	if (!c->servers && getenv("KPLANE_SERVER") && *getenv("KPLANE_SERVER"))
		c->servers = strdup(getenv("KPLANE_SERVER"));
	if (!c->servers) {
		fprintf(stderr, "%s: --server URL is required (or $KPLANE_SERVER)\n", c->prog);
		goto out;
	}
	if (!(eps = gateway_endpoints(c)))
		goto out;
	struct kp_leader_options lo = {
		.lease_namespace = c->lease_ns,
		.lease_name = c->lease_name ? c->lease_name : c->metric_name,
		.lease_duration = c->lease_duration, .renew_deadline = c->renew_deadline,
		.retry_period = c->retry_period,
	};
	char *err = NULL;
	if (c->leader_elect && kp_leader_check(&lo, &err)) {
		fprintf(stderr, "%s: %s\n", c->prog, err ? err : "bad leader election options");
		free(err);
		goto out;
	}
	if (c->config && load_ctl_config(c))
		goto out;
	if (!c->listen)
		c->listen = strdup(c->kind == SCHEDULER ? "127.0.0.1:10259" : "127.0.0.1:10257");
	if (!c->identity)
		c->identity = kp__cli_identity();

	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct kp_store_options so = { .backend = KP_STORE_ETCD,
				       .etcd_endpoints = (const char *const *)eps };
	struct kp_store *st = NULL;
	ret = 1;
	if (kp_store_open(&so, &st, &err)) {
		fprintf(stderr, "%s: cannot reach the API server(s) %s: %s\n", c->prog, c->servers,
			err ? err : "?");
		free(err);
		goto out;
	}
	unsigned port = 0;
	struct MHD_Daemon *health = start_health(c, &port);
	if (!health) {
		kp_store_close(st);
		goto out;
	}
	if (c->leader_elect) {
		lo.identity = c->identity;
		if (kp_leader_start(st, &lo, &c->le, &err)) {
			fprintf(stderr, "%s: %s\n", c->prog, err ? err : "leader election failed");
			free(err);
			MHD_stop_daemon(health);
			kp_store_close(st);
			ret = 2;
			goto out;
		}
	}
	fprintf(stderr, "%s: %s against %s; /healthz and /metrics on port %u%s\n", c->prog,
		c->identity, c->servers, port,
		c->le ? "; waiting to lead" : " (leader election off)");
	if (c->port_file) {
		char tmp[4096];
		snprintf(tmp, sizeof(tmp), "%s.tmp", c->port_file);
		FILE *pf = fopen(tmp, "w");
		if (!pf || fprintf(pf, "%u\n", port) < 0 || fclose(pf) || rename(tmp, c->port_file))
			fprintf(stderr, "%s: --port-file %s: %s\n", c->prog, c->port_file,
				strerror(errno));
	}

	struct acting a = { 0 };
	bool lost = false;
	ret = 0;
	for (;;) {
		struct timespec ts = { 0, 100 * 1000000L };
		int sig = sigtimedwait(&sigs, NULL, &ts);
		if (sig == SIGINT || sig == SIGTERM) {
			fprintf(stderr, "%s: %s received, stopping\n", c->prog,
				sig == SIGINT ? "SIGINT" : "SIGTERM");
			break;
		}
		bool leading = !c->le || kp_leader_wait(c->le, 0, &lost);
		if (lost) {
			/* Somebody may lead already: stop acting at once, and exit as kube does. */
			fprintf(stderr, "%s: leaderelection lost\n", c->prog);
			ret = 1;
			break;
		}
		if (leading && !c->running) {
			if (act(c, st, &a)) {
				ret = 1;
				break;
			}
			fprintf(stderr, "%s: leading: %s\n", c->prog,
				c->kind == SCHEDULER ? "scheduling" : "reconciling");
		}
	}
	stop_acting(c, &a);
	kp_leader_stop(c->le, !lost);
	c->le = NULL;
	MHD_stop_daemon(health);
	kp_store_close(st);
	fprintf(stderr, "%s: stopped\n", c->prog);
out:
	for (size_t i = 0; eps && eps[i]; i++)
		free(eps[i]);
	free(eps);
	free(c->servers);
	free(c->listen);
	free(c->port_file);
	free(c->sched_config);
	free(c->controllers);
	free(c->lease_name);
	free(c->lease_ns);
	free(c->identity);
	free(c->config);
	json_decref(c->ctl_settings);
	return ret;
}

int kp_cmd_scheduler(int argc, char **argv)
{
	struct component c = { .kind = SCHEDULER, .prog = "kplane scheduler",
			       .metric_name = "kube-scheduler" };
	return run(&c, argc, argv);
}

int kp_cmd_controller_manager(int argc, char **argv)
{
	struct component c = { .kind = CONTROLLER_MANAGER, .prog = "kplane controller-manager",
			       .metric_name = "kube-controller-manager" };
	return run(&c, argc, argv);
}

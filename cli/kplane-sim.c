/*
 * kplane-sim.c - `kplane sim nodes N`: creates N simulated nodes through the
 * API, with KWOK's convention (annotation kwok.x-k8s.io/node: fake), so that
 * node-sim (plugins/controllers/node-sim.c) runs them. The same nodes
 * node-sim's createNodes argument makes, but from the command line, against
 * any server, at any time.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include <kplane/kplane.h>

#include "cli/commands.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kplane sim nodes N [options]\n"
		"\n"
		"Creates N nodes PREFIX0..PREFIX<N-1> annotated kwok.x-k8s.io/node: fake, which\n"
		"node-sim keeps Ready and runs pods on. Existing nodes are left alone.\n"
		"\n"
		"  --server URL       API server (default $KPLANE_SERVER, else http://127.0.0.1:6443)\n"
		"  --prefix P         node name prefix (default kwok-node-)\n"
		"  --start I          first index (default 0)\n"
		"  --template FILE    a Node (YAML or JSON) to copy: labels, taints, capacity...\n"
		"  --cpu Q            capacity and allocatable cpu (default 32)\n"
		"  --memory Q         capacity and allocatable memory (default 256Gi)\n"
		"  --pods N           capacity and allocatable pods (default 110)\n"
		"  -q, --quiet        no progress line\n"
		"  -h, --help         this help\n");
}

static size_t discard(char *p, size_t sz, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return sz * n;
}

static int load_template(const char *path, json_t **out)
{
	if (kp__cli_load_doc("kplane sim", "--template", path, out))
		return -1;
	const char *kind = json_string_value(json_object_get(*out, "kind"));
	if (kind && strcmp(kind, "Node")) {
		fprintf(stderr, "kplane sim: --template %s: expected a Node object, not a %s\n",
			path, kind);
		json_decref(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

static bool check_quantity(const char *flag, const char *v)
{
	struct kp_quantity q;
	char *err = NULL;
	if (kp_quantity_parse(v, &q, &err) == 0) {
		free(err);
		return true;
	}
	fprintf(stderr, "kplane sim: --%s: \"%s\" is not a quantity%s%s\n", flag, v,
		err ? ": " : "", err ? err : "");
	free(err);
	return false;
}

static int sim_nodes(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "start", required_argument, NULL, 'i' },
		{ "template", required_argument, NULL, 't' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "memory", required_argument, NULL, 'm' },
		{ "pods", required_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *server = getenv("KPLANE_SERVER"), *prefix = "kwok-node-", *tpath = NULL,
		   *cpu = "32", *mem = "256Gi", *pods = "110";
	long start = 0;
	bool quiet = false;
	int o;
	char *end;
	optind = 1;
	while ((o = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		switch (o) {
		case 's': server = optarg; break;
		case 'p': prefix = optarg; break;
		case 't': tpath = optarg; break;
		case 'c': cpu = optarg; break;
		case 'm': mem = optarg; break;
		case 'n': pods = optarg; break;
		case 'q': quiet = true; break;
		case 'i':
			errno = 0;
			start = strtol(optarg, &end, 10);
			if (!*optarg || *end || errno || start < 0) {
				fprintf(stderr, "kplane sim: --start: \"%s\" is not a non-negative "
						"integer\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	errno = 0;
	long count = strtol(argv[optind], &end, 10);
	if (!*argv[optind] || *end || errno || count < 1 || count > 1000000) {
		fprintf(stderr, "kplane sim nodes: N: \"%s\" is not a count from 1 to 1000000\n",
			argv[optind]);
		return 2;
	}
	if (!server || !*server)
		server = "http://127.0.0.1:6443";
	if (strncmp(server, "http://", 7) && strncmp(server, "https://", 8)) {
		fprintf(stderr, "kplane sim: --server: \"%s\" is not an http:// or https:// URL\n",
			server);
		return 2;
	}
	if (strlen(prefix) > 200 || !check_quantity("cpu", cpu) ||
	    !check_quantity("memory", mem) || !check_quantity("pods", pods))
		return 2;
	json_t *tmpl = NULL;
	if (tpath && load_template(tpath, &tmpl))
		return 2;
	if (!tmpl)
		tmpl = json_object();
	/* Allocatable defaults to the capacity (a kubelet without reservations)... */
	if (json_is_object(kp_obj_get(tmpl, "status.capacity")) &&
	    !kp_obj_get(tmpl, "status.allocatable"))
		json_object_set_new(json_object_get(tmpl, "status"), "allocatable",
				    json_deep_copy(kp_obj_get(tmpl, "status.capacity")));
	/* ...and the flags fill what the template does not say. */
	const char *res[][2] = { { "cpu", cpu }, { "memory", mem }, { "pods", pods } };
	for (int w = 0; w < 2; w++) {
		const char *path = w ? "status.allocatable" : "status.capacity";
		for (int i = 0; i < 3; i++) {
			char p[64];
			snprintf(p, sizeof(p), "%s.%s", path, res[i][0]);
			if (!kp_obj_get(tmpl, p))
				kp_obj_set_str(tmpl, p, res[i][1]);
		}
	}
	json_object_set_new(tmpl, "apiVersion", json_string("v1"));
	json_object_set_new(tmpl, "kind", json_string("Node"));
	kp_obj_del(tmpl, "metadata.resourceVersion");
	kp_obj_del(tmpl, "metadata.uid");
	kp_obj_del(tmpl, "metadata.generateName");
	kp_obj_set_annotation(tmpl, "kwok.x-k8s.io/node", "fake");
	kp_obj_set_label(tmpl, "type", "kwok");

	curl_global_init(CURL_GLOBAL_DEFAULT);
	CURL *c = curl_easy_init();
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	char url[2048];
	snprintf(url, sizeof(url), "%s/api/v1/nodes", server);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	long created = 0, existed = 0;
	int ret = 0;
	bool tty = !quiet && isatty(2);
	for (long i = start; i < start + count; i++) {
		char name[300];
		snprintf(name, sizeof(name), "%s%ld", prefix, i);
		kp_obj_set_str(tmpl, "metadata.name", name);
		kp_obj_set_label(tmpl, "kubernetes.io/hostname", name);
		char *body = json_dumps(tmpl, JSON_COMPACT);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		long code = 0;
		CURLcode cr = curl_easy_perform(c);
		free(body);
		if (cr == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		if (code == 201) {
			created++;
		} else if (code == 409) {
			existed++;
		} else {
			fprintf(stderr, "%skplane sim: node %s: %s%ld\n", tty ? "\n" : "", name,
				cr != CURLE_OK ? curl_easy_strerror(cr) : "HTTP ",
				cr != CURLE_OK ? 0L : code);
			ret = 1;
			break;
		}
		if (tty && ((i - start) % 100 == 99 || i == start + count - 1))
			fprintf(stderr, "\rnodes: %ld/%ld", i - start + 1, count);
	}
	if (tty)
		fputc('\n', stderr);
	printf("%ld node(s) created, %ld already there\n", created, existed);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	curl_global_cleanup();
	json_decref(tmpl);
	return ret;
}

int kp_cmd_sim(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "nodes"))
		return sim_nodes(argc - 1, argv + 1);
	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argc >= 2)
		fprintf(stderr, "kplane sim: unknown subcommand \"%s\" (known: nodes)\n", argv[1]);
	else
		fprintf(stderr, "kplane sim: a subcommand is required (known: nodes)\n");
	return 2;
}

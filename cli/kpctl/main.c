/*
 * main.c - kpctl, kubectl's habits for kplane: command dispatch, the global
 * flags, help, and the helpers of kpctl.h.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/error.h>
#include <kplane/object.h>
#include <kplane/selector.h>

#include "cli/kpctl/kpctl.h"

static struct kpctl K;

static struct kpc_opt global_opts[] = {
	{ "server", 's', KPC_OPT_STRING, &K.server_flag, "The address and port of the API server", false },
	{ "kubeconfig", 0, KPC_OPT_STRING, &K.kubeconfig, "Path to the kubeconfig file to use", false },
	{ "context", 0, KPC_OPT_STRING, &K.context, "The name of the kubeconfig context to use", false },
	{ "cluster", 0, KPC_OPT_STRING, &K.cluster, "The name of the kubeconfig cluster to use", false },
	{ "namespace", 'n', KPC_OPT_STRING, &K.namespace_flag, "If present, the namespace scope for this CLI request", false },
	{ "request-timeout", 0, KPC_OPT_STRING, &K.request_timeout,
	  "Seconds to wait for one request (\"0\" waits forever; s/m/h suffixes accepted)", false },
	{ "help", 'h', KPC_OPT_BOOL, &K.help, "help for this command", false },
	{ NULL, 0, 0, NULL, NULL, false },
};

struct command {
	const char *name;
	int (*run)(struct kpctl *k, int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "get", kpctl_cmd_get, "Display one or many resources" },
	{ "describe", kpctl_cmd_describe, "Show details of a specific resource or group of resources" },
	{ "apply", kpctl_cmd_apply, "Apply a configuration to a resource by file name or stdin" },
	{ "create", kpctl_cmd_create, "Create a resource from a file or from stdin" },
	{ "replace", kpctl_cmd_replace, "Replace a resource by file name or stdin" },
	{ "delete", kpctl_cmd_delete, "Delete resources by file names, stdin, resources and names, or by resources and label selector" },
	{ "edit", kpctl_cmd_edit, "Edit a resource on the server with $KUBE_EDITOR or $EDITOR" },
	{ "patch", kpctl_cmd_patch, "Update fields of a resource" },
	{ "label", kpctl_cmd_label, "Update the labels on a resource" },
	{ "annotate", kpctl_cmd_annotate, "Update the annotations on a resource" },
	{ "scale", kpctl_cmd_scale, "Set a new size for a deployment, replica set, or stateful set" },
	{ "taint", kpctl_cmd_taint, "Update the taints on one or more nodes" },
	{ "rollout", kpctl_cmd_rollout, "Manage the rollout of a deployment, daemon set or stateful set" },
	{ "cordon", kpctl_cmd_cordon, "Mark node as unschedulable" },
	{ "uncordon", kpctl_cmd_uncordon, "Mark node as schedulable" },
	{ "drain", kpctl_cmd_drain, "Drain node in preparation for maintenance" },
	{ "events", kpctl_cmd_events, "List events" },
	{ "top", kpctl_cmd_top, "Display resource (CPU/memory) usage" },
	{ "explain", kpctl_cmd_explain, "Get documentation for a resource" },
	{ "logs", kpctl_cmd_logs, "Print the logs for a container in a pod" },
	{ "api-resources", kpctl_cmd_api_resources, "Print the supported API resources on the server" },
	{ "version", kpctl_cmd_version, "Print the client and server version information" },
	{ "completion", kpctl_cmd_completion, "Output shell completion code for the specified shell (bash)" },
};

static void usage(FILE *f)
{
	fprintf(f, "kpctl controls a kplane (Kubernetes-style) control plane.\n\n"
		   "Usage:\n  kpctl [flags] <command> [options]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-15s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nGlobal flags (accepted by every command):\n");
	fflush(f);
	if (f == stdout)
		kpc_args_help(global_opts);
	fprintf(f, "\nThe server is --server, else $KPLANE_SERVER, else the current context of\n"
		   "$KUBECONFIG or ~/.kube/config, else " KPC_DEFAULT_SERVER ".\n"
		   "Use \"kpctl <command> --help\" for more information about a given command.\n");
}

int kpctl_err(const char *fmt, ...)
{
	va_list ap;
	fputs("error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int kpctl_usage_err(struct kpctl *k, const char *fmt, ...)
{
	va_list ap;
	fputs("error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nSee 'kpctl %s -h' for help and examples\n", k->cmd);
	return 1;
}

int kpctl_check_selectors(const char *label_selector, const char *field_selector)
{
	char *em = NULL;
	if (label_selector) {
		struct kp_label_selector *ls = NULL;
		if (kp_label_selector_parse(label_selector, &ls, &em)) {
			kpctl_err("unable to parse requirement: %s", em ? em : label_selector);
			free(em);
			return 1;
		}
		kp_label_selector_free(ls);
	}
	if (field_selector) {
		struct kp_field_selector *fs = NULL;
		if (kp_field_selector_parse(field_selector, &fs, &em)) {
			kpctl_err("invalid field selector \"%s\": %s", field_selector, em ? em : "");
			free(em);
			return 1;
		}
		kp_field_selector_free(fs);
	}
	return 0;
}

int kpctl_server_err(const struct kpc_response *r, const char *context)
{
	char *m = kpc_status_message(r, context);
	fprintf(stderr, "%s\n", m ? m : "Error from server");
	free(m);
	return 1;
}

int kpctl_parse(struct kpctl *k, int argc, char **argv, struct kpc_opt *opts,
		char ***pos, int *npos)
{
	char *em = NULL;
	if (kpc_args_parse(argc, argv, opts, global_opts, pos, npos, &em)) {
		fprintf(stderr, "error: %s\nSee 'kpctl %s --help' for usage.\n", em ? em : "bad flags", k->cmd);
		free(em);
		return 1;
	}
	if (k->help) {
		printf("%s\nOptions:\n", k->usage ? k->usage : "");
		kpc_args_help(opts);
		printf("\nGlobal flags:\n");
		kpc_args_help(global_opts);
		free(*pos);
		*pos = NULL;
		return -1;
	}
	if (k->namespace_flag) {
		if (!*k->namespace_flag)
			return kpctl_err("a namespace must be specified (--namespace is empty)");
		k->namespace = k->namespace_flag;
		k->namespace_explicit = true;
	}
	return 0;
}

/* "30", "30s", "2m", "1h" -> seconds; -1 when malformed. */
static long parse_timeout(const char *s)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || v < 0)
		return -1;
	if (!*end || !strcmp(end, "s"))
		return (long)v;
	if (!strcmp(end, "ms"))
		return v > 0 && v < 1000 ? 1 : (long)(v / 1000);
	if (!strcmp(end, "m"))
		return (long)(v * 60);
	if (!strcmp(end, "h"))
		return (long)(v * 3600);
	return -1;
}

int kpctl_connect(struct kpctl *k)
{
	char *em = NULL;
	if (k->client)
		return 0;
	if (!k->cfg_loaded) {
		struct kpc_config_flags fl = {
			.server = k->server_flag, .kubeconfig = k->kubeconfig, .context = k->context,
			.cluster = k->cluster, .env_server = getenv("KPLANE_SERVER"),
			.env_kubeconfig = getenv("KUBECONFIG"), .home = getenv("HOME"),
		};
		if (kpc_config_load(&k->cfg, &fl, &em)) {
			kpctl_err("%s", em ? em : "cannot load the configuration");
			free(em);
			return 1;
		}
		k->cfg_loaded = true;
		if (!k->namespace_explicit)
			k->namespace = k->cfg.namespace && *k->cfg.namespace ? k->cfg.namespace : "default";
	}
	long timeout = 0;
	if (k->request_timeout && (timeout = parse_timeout(k->request_timeout)) < 0)
		return kpctl_err("invalid --request-timeout \"%s\": use a number of seconds or a duration like 30s, 2m",
				 k->request_timeout);
	if (kpc_client_new(&k->cfg, timeout, &k->client, &em)) {
		kpctl_err("%s", em ? em : "cannot create the HTTP client");
		free(em);
		return 1;
	}
	return 0;
}

int kpctl_discover(struct kpctl *k)
{
	char *em = NULL;
	if (k->disc)
		return 0;
	if (kpctl_connect(k))
		return 1;
	if (kpc_discovery_load(k->client, &k->disc, &em)) {
		/* Transport errors already read like kubectl's ("The connection to..."). */
		fprintf(stderr, "%s\n", em ? em : "discovery failed");
		free(em);
		return 1;
	}
	return 0;
}

const struct kpc_resource *kpctl_resource(struct kpctl *k, const char *arg)
{
	char *em = NULL;
	if (kpctl_discover(k))
		return NULL;
	const struct kpc_resource *r = kpc_discovery_resolve(k->disc, arg, &em);
	if (!r) {
		kpctl_err("%s", em ? em : "unknown resource type");
		free(em);
	}
	return r;
}

const char *kpctl_object_namespace(struct kpctl *k, const json_t *obj)
{
	const char *ons = kp_obj_namespace(obj);
	if (ons && *ons) {
		if (k->namespace_explicit && strcmp(ons, k->namespace)) {
			kpctl_err("the namespace from the provided object \"%s\" does not match the namespace \"%s\". "
				  "You must pass '--namespace=%s' to perform this operation.", ons, k->namespace, ons);
			return NULL;
		}
		return ons;
	}
	return k->namespace;
}

static bool is_global_with_value(const char *a, bool *known)
{
	*known = false;
	if (a[0] != '-')
		return false;
	if (a[1] == '-') {
		const char *n = a + 2;
		size_t l = strcspn(n, "=");
		for (struct kpc_opt *o = global_opts; o->name; o++)
			if (strlen(o->name) == l && !strncmp(o->name, n, l)) {
				*known = true;
				return o->type != KPC_OPT_BOOL && !n[l];
			}
		return false;
	}
	for (struct kpc_opt *o = global_opts; o->name; o++)
		if (o->shorthand == a[1]) {
			*known = true;
			return o->type != KPC_OPT_BOOL && !a[2];
		}
	return false;
}

int main(int argc, char **argv)
{
	int ci = 1;
	/* Global flags may come before the command: `kpctl -n x get pods`. */
	while (ci < argc && argv[ci][0] == '-' && argv[ci][1]) {
		bool known;
		bool takes = is_global_with_value(argv[ci], &known);
		if (!known)
			break;
		ci += takes ? 2 : 1;
	}
	if (ci >= argc) {
		for (int i = 1; i < argc; i++)
			if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
				usage(stdout);
				return 0;
			}
		usage(stderr);
		return 1;
	}
	const char *name = argv[ci];
	if (!strcmp(name, "help")) {
		usage(stdout);
		return 0;
	}
	const struct command *cmd = NULL;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			cmd = &commands[i];
	if (!cmd) {
		if (name[0] == '-')
			fprintf(stderr, "error: unknown flag: %s\nSee 'kpctl --help' for usage.\n", name);
		else
			fprintf(stderr, "error: unknown command \"%s\" for \"kpctl\"\nRun 'kpctl --help' for usage.\n", name);
		return 1;
	}
	/* Rebuild argv as: command, leading globals, the rest. */
	char **nargv = calloc((size_t)argc + 1, sizeof(*nargv));
	int n = 0;
	if (!nargv)
		return 1;
	nargv[n++] = argv[ci];
	for (int i = 1; i < ci; i++)
		nargv[n++] = argv[i];
	for (int i = ci + 1; i < argc; i++)
		nargv[n++] = argv[i];
	K.cmd = cmd->name;
	K.namespace = "default";
	int rc = cmd->run(&K, n, nargv);
	free(nargv);
	kpc_discovery_free(K.disc);
	kpc_client_free(K.client);
	kpc_config_release(&K.cfg);
	fflush(stdout);
	return rc < 0 ? 0 : rc;
}

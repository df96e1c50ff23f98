/*
 * kpctl.h - state shared by kpctl's commands (cli/kpctl/cmd_*.c) and the
 * helpers every command uses: flag parsing with the global flags, lazy
 * connection and discovery, kubectl-shaped error output.
 *
 * Ownership: cli/kpctl/ is owned by the kpctl work. Module map:
 *   main.c       dispatch, global flags, help      args.c       flag parser
 *   kubeconfig.c kubeconfig / server resolution    client.c     HTTP (libcurl)
 *   discovery.c  resource types, KIND resolution   printers.c   tables, ages, output
 *   manifest.c   -f files, dirs, stdin             patch.c      client-side merge patches
 *   objects.c    fetching/listing objects for commands (by name, -f, -l)
 *   cmd_*.c      one file per command family
 */
#ifndef KPCTL_KPCTL_H
#define KPCTL_KPCTL_H

#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>

#include "cli/kpctl/args.h"
#include "cli/kpctl/client.h"
#include "cli/kpctl/kubeconfig.h"
#include "cli/kpctl/discovery.h"

struct kpctl {
	/* Global flags (borrowed from argv). */
	const char *server_flag, *kubeconfig, *context, *cluster, *namespace_flag;
	const char *request_timeout;
	bool help;

	const char *cmd;        /* command name for messages ("get") */
	const char *usage;      /* the command's usage text */
	const char *namespace;  /* effective namespace (flag, context, "default") */
	bool namespace_explicit; /* given with -n/--namespace */

	struct kpc_config cfg;
	bool cfg_loaded;
	struct kpc_client *client;
	struct kpc_discovery *disc;
};

/*
 * Parses a command's flags plus the global ones. Handles -h/--help
 * (prints usage and flags; returns -1 so the caller exits 0). On a flag
 * error prints kubectl's "error: ...\nSee 'kpctl CMD --help' for usage."
 * and returns 1. 0 on success with the positional arguments in *pos and
 * their count in *npos (free *pos).
 */
int kpctl_parse(struct kpctl *k, int argc, char **argv, struct kpc_opt *opts,
		char ***pos, int *npos);

/* Loads the kubeconfig and creates the HTTP client (idempotent). 0 or 1 (message printed). */
int kpctl_connect(struct kpctl *k);
/* kpctl_connect() plus discovery (idempotent). 0 or 1 (message printed). */
int kpctl_discover(struct kpctl *k);
/* Resolves a KIND argument; prints "error: the server doesn't have..." and returns NULL. */
const struct kpc_resource *kpctl_resource(struct kpctl *k, const char *arg);

/*
 * Parses -l and --field-selector values (either may be NULL) before any
 * request, so that a typo is reported as kubectl does
 * ("error: unable to parse requirement: ..."). 0, or 1 with the message printed.
 */
int kpctl_check_selectors(const char *label_selector, const char *field_selector);

/* "error: <msg>" on stderr; returns 1 (the exit status). */
int kpctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Usage error: "error: <msg>\nSee 'kpctl CMD -h' for help and examples"; returns 1. */
int kpctl_usage_err(struct kpctl *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints a failed response as kubectl does (see kpc_status_message()); returns 1. */
int kpctl_server_err(const struct kpc_response *r, const char *context);

/*
 * The namespace to use for an object from a manifest: its own
 * metadata.namespace, else the effective namespace. Fails (message
 * printed, returns NULL) when both are explicit and differ, as kubectl.
 */
const char *kpctl_object_namespace(struct kpctl *k, const json_t *obj);

/* Commands: each returns the process exit status. */
int kpctl_cmd_get(struct kpctl *k, int argc, char **argv);
int kpctl_cmd_apply(struct kpctl *k, int argc, char **argv);
int kpctl_cmd_create(struct kpctl *k, int argc, char **argv);
int kpctl_cmd_replace(struct kpctl *k, int argc, char **argv);
int kpctl_cmd_delete(struct kpctl *k, int argc, char **argv);
int kpctl_cmd_describe(struct kpctl *k, int argc, char **argv);
int kpctl_cmd_label(struct kpctl *k, int argc, char **argv);
int kpctl_cmd_annotate(struct kpctl *k, int argc, char **argv);
int kpctl_cmd_patch(struct kpctl *k, int argc, char **argv);
int kpctl_cmd_edit(struct kpctl *k, int argc, char **argv);
int kpctl_cmd_rollout(struct kpctl *k, int argc, char **argv);
int kpctl_cmd_explain(struct kpctl *k, int argc, char **argv);
int kpctl_cmd_logs(struct kpctl *k, int argc, char **argv);
int kpctl_cmd_scale(struct kpctl *k, int argc, char **argv);
int kpctl_cmd_taint(struct kpctl *k, int argc, char **argv);
int kpctl_cmd_cordon(struct kpctl *k, int argc, char **argv);
int kpctl_cmd_uncordon(struct kpctl *k, int argc, char **argv);
int kpctl_cmd_drain(struct kpctl *k, int argc, char **argv);
int kpctl_cmd_events(struct kpctl *k, int argc, char **argv);
int kpctl_cmd_top(struct kpctl *k, int argc, char **argv);
int kpctl_cmd_api_resources(struct kpctl *k, int argc, char **argv);
int kpctl_cmd_version(struct kpctl *k, int argc, char **argv);
int kpctl_cmd_completion(struct kpctl *k, int argc, char **argv);

#endif

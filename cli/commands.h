/*
 * commands.h - subcommands of the `kplane` binary. Each lives in its own
 * cli/kplane-<name>.c and returns the process exit status.
 */
#ifndef KPLANE_CLI_COMMANDS_H
#define KPLANE_CLI_COMMANDS_H

struct kp_command {
	const char *name;
	int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
	const char *summary;
};

/* The subcommands; argv[0] is the subcommand's name. */
int kp_cmd_server(int argc, char **argv);  /* cli/kplane-server.c */
int kp_cmd_plugins(int argc, char **argv); /* cli/kplane-plugins.c */
int kp_cmd_scheduler(int argc, char **argv);          /* cli/kplane-component.c */
int kp_cmd_controller_manager(int argc, char **argv); /* cli/kplane-component.c */
int kp_cmd_sim(int argc, char **argv);                /* cli/kplane-sim.c */

#include <stdint.h>
#include <jansson.h>

struct kp_store;
struct kp_sched_config;
struct kp_registry;
struct kp_sched_runner;
struct kp_ctl_manager;

/*
 * Loads the scheduler plugins and starts the scheduler on st (cli/kplane-
 * server.c; shared with `kplane scheduler`). sched_config NULL: kube-
 * scheduler's default profile. Errors are printed prefixed with prog. The
 * caller frees *cfg_out and *reg_out after kp_sched_runner_stop(*out).
 */
int kp__cli_start_scheduler(const char *prog, struct kp_store *st, const char *sched_config,
			    uint64_t seed, struct kp_sched_config **cfg_out,
			    struct kp_registry **reg_out, struct kp_sched_runner **out);
/*
 * Loads the controller plugins and starts the controllers `enabled` selects
 * (NULL: all) with settings (borrowed, may be NULL); the caller frees
 * *reg_out after kp_ctl_manager_free(*out).
 */
/*
 * Reads path as one YAML or JSON document that must be a mapping; on any
 * error prints "PROG: FLAG PATH: why" and returns -1. *out is a new
 * reference on success.
 */
int kp__cli_load_doc(const char *prog, const char *flag, const char *path, json_t **out);
/* A new "HOSTNAME_UUID" leader-election identity (caller frees), as kube's components use. */
char *kp__cli_identity(void);
int kp__cli_start_controllers(const char *prog, struct kp_store *st, const char *enabled,
			      const json_t *settings, struct kp_registry **reg_out,
			      struct kp_ctl_manager **out);

#endif

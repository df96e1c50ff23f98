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

#endif

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

#endif

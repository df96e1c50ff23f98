/*
 * kplane - the control plane binary (k3s-style: one binary, several roles).
 * This file only dispatches to the subcommands in cli/kplane-*.c.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <kplane/kplane.h>

#include "cli/commands.h"

static int cmd_version(int argc, char **argv)
{
	printf("kplane %s\n", kp_version());
	return 0;
}

static const struct kp_command commands[] = {
	{ "version", cmd_version, "print the version" },
	{ "server", kp_cmd_server, "run the control plane (API server on the store)" },
	{ "scheduler", kp_cmd_scheduler, "run the scheduler against API servers (--server URL)" },
	{ "controller-manager", kp_cmd_controller_manager,
	  "run the controllers against API servers (--server URL)" },
	{ "sim", kp_cmd_sim, "create simulated (KWOK) nodes: sim nodes N" },
	{ "plugins", kp_cmd_plugins, "list the plugin modules found, loaded and refused" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: kplane <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-20s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nRun `kplane <command> --help` for a command's options.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version"))
		return cmd_version(argc - 1, argv + 1);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "kplane: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}

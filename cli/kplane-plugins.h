/* kplane-plugins.h - `kplane plugins` (cli/kplane-plugins.c). */
#ifndef KPLANE_CLI_PLUGINS_H
#define KPLANE_CLI_PLUGINS_H

/* Lists loaded and refused plugin modules; argv[0] is "plugins". Exit status. */
int kp_cmd_plugins(int argc, char **argv);

#endif

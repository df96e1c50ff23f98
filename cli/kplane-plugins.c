/*
 * kplane-plugins.c - `kplane plugins [--config FILE] [--dir DIR]... [-o table|json]`:
 * scans the plugin path as the scheduler does and lists what loads and what
 * is refused (with the reason). With --config it also builds the profiles,
 * so a missing or failing plugin is reported exactly as at startup.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/error.h>
#include <kplane/scheduler.h>

#include "cli/kplane-plugins.h"

static const char *kind_name(uint32_t k)
{
	return k == KP_PLUGIN_SCHED ? "scheduler" : k == KP_PLUGIN_CONTROLLER ? "controller" : "?";
}

int kp_cmd_plugins(int argc, char **argv)
{
	const char *config = NULL, *output = "table";
	const char *dirs[33];
	int ndirs = 0;
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "dir", required_argument, NULL, 'd' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:d:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'd':
			if (ndirs < 32)
				dirs[ndirs++] = optarg;
			break;
		case 'o': output = optarg; break;
		case 'h':
			printf("usage: kplane plugins [--config SCHEDCONFIG.yaml] [--dir DIR]... [-o table|json]\n");
			return 0;
		default:
			return 2;
		}
	}
	dirs[ndirs] = NULL;
	if (strcmp(output, "table") && strcmp(output, "json")) {
		fprintf(stderr, "kplane plugins: -o: unsupported format \"%s\" (table or json)\n", output);
		return 2;
	}
	int status = 1;
	char *e = NULL;
	struct kp_sched_config *cfg = NULL;
	struct kp_registry *reg = NULL;
	struct kp_scheduler *s = NULL;
	if (config && kp_sched_config_load(config, &cfg, &e) < 0) {
		fprintf(stderr, "kplane plugins: %s\n", e);
		goto out;
	}
	if (kp_registry_new(&reg) < 0)
		goto out;
	for (int i = 0; i < ndirs; i++)
		if (kp_registry_load_dir(reg, dirs[i], true, &e) < 0) {
			fprintf(stderr, "kplane plugins: %s\n", e);
			goto out;
		}
	if (kp_registry_load_path(reg, cfg ? kp_sched_config_plugin_dirs(cfg) : NULL, true, &e) < 0) {
		fprintf(stderr, "kplane plugins: %s\n", e);
		goto out;
	}
	status = 0;
	if (cfg && kp_scheduler_new(cfg, reg, NULL, NULL, &s, &e) < 0) {
		fprintf(stderr, "kplane plugins: %s\n", e);
		status = 1;
	}
	if (!strcmp(output, "json")) {
		json_t *out = json_pack("{s:[],s:[]}", "plugins", "refused");
		for (size_t i = 0; i < kp_registry_count(reg); i++) {
			const struct kp_registry_entry *en = kp_registry_get(reg, i);
			json_array_append_new(json_object_get(out, "plugins"),
					      json_pack("{s:s,s:s,s:s,s:s?,s:s?}", "name", en->plugin->name,
							"version", en->plugin->version ? en->plugin->version : "",
							"kind", kind_name(en->plugin->kind), "file", en->path,
							"description", en->plugin->description));
		}
		for (size_t i = 0; i < kp_registry_nrefused(reg); i++) {
			const char *path, *reason;
			kp_registry_refused(reg, i, &path, &reason);
			json_array_append_new(json_object_get(out, "refused"),
					      json_pack("{s:s,s:s}", "file", path, "reason", reason));
		}
		char *txt = json_dumps(out, JSON_INDENT(2));
		puts(txt ? txt : "{}");
		free(txt);
		json_decref(out);
	} else {
		printf("%-34s %-8s %-11s %s\n", "NAME", "VERSION", "KIND", "FILE");
		for (size_t i = 0; i < kp_registry_count(reg); i++) {
			const struct kp_registry_entry *en = kp_registry_get(reg, i);
			printf("%-34s %-8s %-11s %s\n", en->plugin->name,
			       en->plugin->version ? en->plugin->version : "", kind_name(en->plugin->kind),
			       en->path ? en->path : "(built in)");
		}
		for (size_t i = 0; i < kp_registry_nrefused(reg); i++) {
			const char *path, *reason;
			kp_registry_refused(reg, i, &path, &reason);
			printf("refused: %s\n", reason);
		}
	}
out:
	free(e);
	kp_scheduler_free(s);
	kp_sched_config_free(cfg);
	kp_registry_free(reg);
	return status;
}

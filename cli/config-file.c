/*
 * config-file.c - reading the YAML/JSON files the kplane subcommands take
 * (--config, --template): one document, errors printed in one shape.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/kplane.h>

#include "cli/commands.h"

int kp__cli_load_doc(const char *prog, const char *flag, const char *path, json_t **out)
{
	*out = NULL;
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "%s: %s %s: %s\n", prog, flag, path, strerror(errno));
		return -1;
	}
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	char chunk[4096];
	size_t n;
	while (m && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, m);
	fclose(f);
	if (!m) {
		fprintf(stderr, "%s: %s %s: out of memory\n", prog, flag, path);
		return -1;
	}
	fclose(m);
	char *err = NULL;
	int rc = kp_yaml_or_json_load_one(buf, len, out, &err);
	free(buf);
	if (rc || !json_is_object(*out)) {
		fprintf(stderr, "%s: %s %s: %s\n", prog, flag, path,
			err ? err : "expected a mapping at the top level");
		free(err);
		json_decref(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

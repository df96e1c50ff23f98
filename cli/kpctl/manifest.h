/*
 * manifest.h - reading objects from -f FILE|DIR|URL-less sources: files,
 * directories (*.json, *.yaml, *.yml, sorted by name, -R to descend) and
 * stdin ("-"). Multi-document YAML and concatenated JSON both work; `List`
 * kinds (v1 List, PodList, ...) are expanded into their items.
 * Owned by the kpctl work (cli/kpctl/).
 */
#ifndef KPCTL_MANIFEST_H
#define KPCTL_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

struct kpc_manifest {
	json_t *obj;  /* owned reference */
	char *source; /* file name ("STDIN" for -), owned */
};

struct kpc_manifests {
	size_t n, cap;
	struct kpc_manifest *v;
};

/*
 * Appends the objects found at path. Every object must be a mapping with
 * apiVersion and kind; errors name the file ("error validating \"f.yaml\":
 * error validating data: kind not set"). Returns 0 or KP_E*.
 */
int kpc_manifests_read(struct kpc_manifests *m, const char *path, bool recursive, char **errmsg);
/* Parses one in-memory buffer (a file's content) named `source`. */
int kpc_manifests_parse(struct kpc_manifests *m, const char *buf, size_t len, const char *source,
			char **errmsg);
void kpc_manifests_release(struct kpc_manifests *m);

#endif

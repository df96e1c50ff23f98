/*
 * yaml.h - YAML <-> JSON for Kubernetes manifests (libyaml).
 *
 * Scalars are typed as Kubernetes' YAML decoder (sigs.k8s.io/yaml, YAML 1.1
 * rules) does: plain `80` is an integer, `"80"` and '80' stay strings,
 * `true/false` (also True/TRUE, yes/no, on/off) are booleans, `null`, `~`
 * and empty values are null, `1.5` and `1e3` are numbers, 0x1F and 0o17 are
 * integers, anything else is a string. Anchors and aliases are resolved.
 * Mapping keys are always strings. Duplicate keys are an error.
 */
#ifndef KPLANE_YAML_H
#define KPLANE_YAML_H

#include <stddef.h>
#include <jansson.h>

/*
 * Parses a multi-document YAML stream into a new JSON array with one element
 * per non-empty document (new reference in *out). Errors carry line and
 * column: "line 3, column 5: mapping values are not allowed in this context".
 */
int kp_yaml_load(const char *buf, size_t len, json_t **out, char **errmsg);
/*
 * Parses a body that is either JSON or YAML (one document) into *out (new
 * reference). JSON is recognised by its first non-blank byte ('{' or '[').
 */
int kp_yaml_or_json_load_one(const char *buf, size_t len, json_t **out, char **errmsg);
/*
 * Writes v as block-style YAML (strings quoted where a plain scalar would
 * read back as another type). *out is malloc'ed and NUL-terminated; caller
 * frees. Documents are not prefixed with "---".
 */
int kp_yaml_dump(const json_t *v, char **out, size_t *len);

#endif

/*
 * yaml.h - YAML <-> JSON for Kubernetes manifests (libyaml).
 *
 * Scalars are typed as Kubernetes' YAML decoder (sigs.k8s.io/yaml over
 * go-yaml v2, YAML 1.1 rules) does: plain `80` is an integer, `"80"` and
 * '80' stay strings, `true/false` (also True/TRUE, yes/no, on/off and even
 * y/n, as go-yaml v2 has it) are booleans, `null`, `~` and empty values are
 * null, `1.5` and `1e3` are numbers, 0x1F, 0o17, 017 and 0b101 are integers
 * and `1_000` is 1000; timestamps and anything else are strings. Quoted and
 * block (`|`, `>`) scalars are strings; explicit tags win (`!!str 80` is
 * "80", `!!int "80"` is 80, `!!int 1.5` is an error);
 * unknown tags leave the text a string.
 *
 * Numbers go the way they go through Kubernetes' YAML -> JSON text -> object
 * path: a float with an integral value within int64 (`1e3`, `8.0`, `08`)
 * becomes an integer; integers beyond int64 become reals. `.inf` and `.nan`
 * cannot be held by JSON and are an error naming their line.
 *
 * Mapping keys are always strings: scalar keys are converted as
 * sigs.k8s.io/yaml does (`80:` -> "80", `yes:` -> "true"), null keys,
 * mapping and sequence keys are errors, duplicate keys are an error. Merge
 * keys (`<<: *base`) are honoured, explicit keys winning. Anchors and
 * aliases are resolved into copies; a document whose aliases copy more than
 * 100000 nodes is refused (alias bombs), as is nesting deeper than 256.
 */
#ifndef KPLANE_YAML_H
#define KPLANE_YAML_H

#include <stddef.h>
#include <jansson.h>

/*
 * Parses a multi-document YAML stream into a new JSON array with one element
 * per non-empty document (new reference in *out; *out is NULL on failure).
 * Documents that are empty, comments only, or null are skipped. buf need not
 * be NUL-terminated. Returns 0, KP_EINVAL for bad YAML or KP_ENOMEM; errors
 * carry line and column (1-based) in *errmsg (caller frees):
 * "line 3, column 5: mapping values are not allowed in this context".
 */
int kp_yaml_load(const char *buf, size_t len, json_t **out, char **errmsg);
/*
 * Parses a body that is either JSON or YAML (one document) into *out (new
 * reference). JSON is recognised by its first non-blank byte ('{' or '[');
 * its duplicate keys are refused as in YAML, and its errors also read
 * "line L, column C: ...". Zero or several YAML documents are KP_EINVAL.
 */
int kp_yaml_or_json_load_one(const char *buf, size_t len, json_t **out, char **errmsg);
/*
 * Writes v (borrowed) as block-style YAML that kp_yaml_load() reads back
 * equal, except that integral reals come back as integers (see above).
 * Strings that would read back as another type ("80", "true", "y", "",
 * "1e3", "0x1F", "2001-12-14") are double-quoted, strings plain YAML cannot
 * hold (": ", leading "- ", "#", surrounding blanks) are quoted by libyaml,
 * multi-line strings become literal blocks (`|`) when they can. Key order is
 * the object's iteration order (insertion order in jansson). *out is
 * malloc'ed and NUL-terminated, its length in *len (may be NULL); caller
 * frees. Documents are not prefixed with "---".
 */
int kp_yaml_dump(const json_t *v, char **out, size_t *len);

#endif

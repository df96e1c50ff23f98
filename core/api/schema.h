/*
 * schema.h - structural OpenAPI v3 schemas (schema.c): what the
 * apiextensions API server does with a CRD version's openAPIV3Schema, and
 * the unknown-field detection behind fieldValidation for every kind.
 *
 * Every schema and defs argument is borrowed and only read; defs (may be
 * NULL) resolves "$ref": "#/.../Name" by its last path segment.
 */
#ifndef KPLANE_API_SCHEMA_H
#define KPLANE_API_SCHEMA_H

#include <stdbool.h>
#include <jansson.h>

#include "core/api/internal.h"

struct kp_errlist;

/* Paths of unknown fields ("spec.foo", "spec.items[0].bar"), each owned. */
struct kp_schema_unknown {
	char **v;
	size_t n, cap;
};
void kp__schema_unknown_release(struct kp_schema_unknown *u);

/*
 * Walks obj (modified in place when prune or defaults) against schema.
 * Fields that no properties/additionalProperties describe, outside
 * x-kubernetes-preserve-unknown-fields, are unknown: appended to unk (may
 * be NULL) unless old (may be NULL; the stored object) already had them,
 * and removed when prune. defaults fills `default` values of missing
 * properties. apiVersion, kind and metadata of the root (and of
 * x-kubernetes-embedded-resource objects) are kept; metadata is walked
 * against meta_schema (ObjectMeta; NULL skips it).
 */
void kp__schema_prune(const json_t *schema, const json_t *defs, const json_t *meta_schema,
		      json_t *obj, const json_t *old, bool prune, bool defaults,
		      struct kp_schema_unknown *unk);

/*
 * Validates obj's values (type, enum, minimum/maximum, lengths, pattern,
 * items, required, nullable, int-or-string) against schema, appending
 * errors with paths like "spec.replicas" to errs.
 */
void kp__schema_validate(const json_t *schema, const json_t *defs, const json_t *obj,
			 struct kp_errlist *errs);

/*
 * Checks that a CRD's openAPIV3Schema is structural (types set, items for
 * arrays, object at the root, valid patterns); path is where it sits
 * ("spec.versions[0].schema.openAPIV3Schema"), errors go to errs.
 */
void kp__schema_check_structural(const json_t *schema, const char *path,
				 struct kp_errlist *errs);

/*
 * Scans raw JSON (already known to parse) for object keys: each path of
 * want (an object whose values are null; borrowed, modified) gets the byte
 * offset of its first key; keys repeated within one object are appended to
 * dups with their offsets (JSON integers) to dup_offsets (both may be NULL
 * together).
 */
void kp__json_scan_keys(const char *buf, size_t len, json_t *want, struct kp_schema_unknown *dups,
			json_t *dup_offsets);

#endif

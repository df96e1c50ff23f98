/*
 * patch.h - client-side JSON helpers for apply, label, patch: the
 * three-way JSON merge patch of `kpctl apply` and a "does the live object
 * already say this" test. Owned by the kpctl work (cli/kpctl/).
 */
#ifndef KPCTL_PATCH_H
#define KPCTL_PATCH_H

#include <stdbool.h>
#include <jansson.h>

/*
 * True when every field of `want` is present in `have` with an equal value:
 * objects by key (extra keys in `have` are fine: defaults the server
 * added), arrays element by element with equal lengths, numbers by value
 * (1 equals 1.0), other scalars exactly.
 */
bool kpc_json_subset(const json_t *want, const json_t *have);

/*
 * The RFC 7386 merge patch that makes `current` (the live object) carry
 * everything `modified` (the manifest) says, and drops fields that
 * `original` (the last applied manifest, may be NULL) had and `modified`
 * no longer has. A field whose manifest value is already a subset of the
 * live value is left out, unless the manifest changed it since `original`
 * (so that removing a nested field from a list element is still sent).
 * Lists are replaced whole, as merge patch does. All three are borrowed;
 * returns a new reference (an empty object when nothing is to change) or
 * NULL on allocation failure.
 */
json_t *kpc_three_way_merge_patch(const json_t *original, const json_t *modified,
				  const json_t *current);

/*
 * The RFC 7386 merge patch that turns `original` into `modified` (both
 * objects, borrowed): changed and added keys with their new values, nested
 * objects diffed key by key, removed keys set to null, arrays and other
 * values replaced whole. An empty object when they are equal. Returns a
 * new reference, NULL on allocation failure. (`kpctl edit`'s patch.)
 */
json_t *kpc_merge_patch_create(const json_t *original, const json_t *modified);

/* Applies an RFC 7386 merge patch to target in place (borrowed patch). */
int kpc_merge_patch_apply(json_t *target, const json_t *patch);

#endif

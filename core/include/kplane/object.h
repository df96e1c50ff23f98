/*
 * object.h - Kubernetes-shaped objects as jansson JSON values.
 *
 * An object is a json_t object with apiVersion/kind/metadata/spec/status.
 * Reference rules (jansson's, restated; docs/hacking.md has the long form):
 *  - "borrowed": the returned pointer belongs to the containing object and is
 *    valid until that object is modified or freed; do not json_decref it.
 *  - "new reference": the caller owns it and must json_decref() it.
 *  - "steals": the function takes over the caller's reference.
 * Strings returned as `const char *` are borrowed from the JSON value.
 */
#ifndef KPLANE_OBJECT_H
#define KPLANE_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/*
 * Looks up a dotted path ("metadata.name", "spec.template.metadata.labels").
 * Path segments never contain dots; use kp_obj_getv() for keys that do.
 * Returns a borrowed value, or NULL when any segment is missing or is not
 * an object.
 */
json_t *kp_obj_get(const json_t *obj, const char *path);
/* Like kp_obj_get() with the segments given one by one, NULL-terminated. */
json_t *kp_obj_getv(const json_t *obj, ...);

/* Borrowed string at path, or NULL if missing or not a string. */
const char *kp_obj_str(const json_t *obj, const char *path);
/* Integer at path, or def if missing or not an integer. */
int64_t kp_obj_int(const json_t *obj, const char *path, int64_t def);
/* Boolean at path, or def if missing or not a boolean. */
bool kp_obj_bool(const json_t *obj, const char *path, bool def);

/*
 * Sets the value at a dotted path, creating intermediate objects (a null
 * intermediate is replaced); steals `value` (also on failure). Fails with
 * KP_EINVAL if an intermediate segment exists and is not an object, or the
 * path is empty or has an empty segment; KP_ENOMEM if value is NULL (so
 * that kp_obj_set(o, p, json_string(s)) reports a failed allocation).
 */
int kp_obj_set(json_t *obj, const char *path, json_t *value);
/* kp_obj_set() with a copied string; KP_EINVAL if s is NULL or not UTF-8. */
int kp_obj_set_str(json_t *obj, const char *path, const char *s);
/* Removes the value at path; "not there" is success. */
int kp_obj_del(json_t *obj, const char *path);

/* Shorthands; all borrowed, NULL when absent. */
const char *kp_obj_name(const json_t *obj);
const char *kp_obj_namespace(const json_t *obj);
const char *kp_obj_uid(const json_t *obj);
const char *kp_obj_kind(const json_t *obj);
const char *kp_obj_api_version(const json_t *obj);
/* metadata.labels / metadata.annotations (borrowed), NULL when absent. */
json_t *kp_obj_labels(const json_t *obj);
json_t *kp_obj_annotations(const json_t *obj);
/* One label or annotation value (borrowed), NULL when absent. */
const char *kp_obj_label(const json_t *obj, const char *key);
const char *kp_obj_annotation(const json_t *obj, const char *key);
/*
 * Sets metadata.labels[key] / metadata.annotations[key] (copies both;
 * keys may contain dots). KP_EINVAL if metadata or the map is not an object.
 */
int kp_obj_set_label(json_t *obj, const char *key, const char *value);
int kp_obj_set_annotation(json_t *obj, const char *key, const char *value);

/*
 * The ownerReference with controller: true (borrowed), or NULL.
 */
json_t *kp_obj_controller_ref(const json_t *obj);
/*
 * Appends an ownerReference built from owner (borrowed; apiVersion, kind,
 * name, uid are copied) with controller and blockOwnerDeletion both set to
 * `controller`, as Kubernetes' NewControllerRef does. KP_EINVAL if owner
 * lacks one of the four fields; KP_EEXIST if obj already references this
 * uid, or already has a controller and `controller` is true.
 */
int kp_obj_add_owner_ref(json_t *obj, const json_t *owner, bool controller);
/* True when obj has an ownerReference with this uid. */
bool kp_obj_owned_by(const json_t *obj, const char *uid);

/*
 * Conditions (status.conditions of pods, nodes, deployments, ...). A
 * condition is an object with at least "type" and "status".
 *
 * kp_obj_condition: the condition of this type (borrowed), or NULL.
 * kp_obj_set_condition: sets the condition of cond's type, stealing cond.
 * As Kubernetes does, lastTransitionTime moves only when status changes:
 * when the existing condition has the same status, its lastTransitionTime is
 * kept. Returns 1 (and drops cond) when an identical condition (same status,
 * reason and message) is already there, so callers can skip a write; 0 when
 * the object changed; KP_EINVAL when cond has no type.
 */
json_t *kp_obj_condition(const json_t *obj, const char *type);
int kp_obj_set_condition(json_t *obj, json_t *cond);
/*
 * A new condition object (new reference) with lastTransitionTime now;
 * reason and message may be NULL.
 */
json_t *kp_condition_new(const char *type, const char *status, const char *reason,
			 const char *message);

/*
 * metadata.resourceVersion as a number; 0 when absent or not a decimal
 * string (Kubernetes keeps it as an opaque string, kplane's are revisions).
 */
uint64_t kp_obj_resource_version(const json_t *obj);
/* Sets metadata.resourceVersion to the decimal form of rev. */
int kp_obj_set_resource_version(json_t *obj, uint64_t rev);

/*
 * Compact JSON text of v (any value, keys in insertion order): the same
 * bytes as json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY), written several
 * times faster (no cycle bookkeeping; kplane's values have no cycles).
 * kp_json_append appends to *buf (realloc'd and NUL-terminated; *len and
 * *cap track it; the caller owns and frees *buf, also after an error).
 * Returns 0, KP_ENOMEM, or KP_EINVAL (NaN/infinite real, nesting deeper
 * than 4096), leaving *len as it was on error.
 * kp_json_dumps returns a new string (caller frees) and its length in *len
 * (may be NULL), or NULL on error.
 */
int kp_json_append(const json_t *v, char **buf, size_t *len, size_t *cap);
char *kp_json_dumps(const json_t *v, size_t *len);

/*
 * json_loadb(buf, len, flags, error) (new reference, or NULL with *error
 * filled), several times faster on the documents kplane stores and
 * receives: the same values, key order and refusals, and jansson's own
 * error messages (anything off the fast path is handed to jansson).
 * flags: jansson's; JSON_DECODE_ANY and JSON_REJECT_DUPLICATES take the fast
 * path, any other goes to jansson as it is. Plus KP_JSON_SHARED_EMPTY:
 * every empty object ("{}") in the result is one shared object, for
 * read-only caches only - nothing may add members to it (the informers'
 * objects, which already are read-only, are decoded so).
 */
#define KP_JSON_SHARED_EMPTY ((size_t)1 << 24)
json_t *kp_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *error);

/*
 * Time. Kubernetes writes RFC 3339 with second precision in UTC
 * ("2026-11-25T12:00:00Z"); input may carry fractions and offsets.
 */
#define KP_TIME_BUFSZ 32
/*
 * Formats unix seconds as RFC 3339 UTC into buf (KP_TIME_BUFSZ bytes) and
 * returns buf; NULL when the year falls outside 0000..9999, which RFC 3339
 * cannot write.
 */
char *kp_time_format(int64_t unix_sec, char buf[KP_TIME_BUFSZ]);
/*
 * Parses RFC 3339 (Z or +hh:mm offsets, optional fraction, which is
 * dropped) to unix seconds. 0 or KP_EINVAL (bad syntax, Feb 30, 24:00,
 * leap second :60 -- refused like Go's time.Parse does).
 */
int kp_time_parse(const char *s, int64_t *unix_sec);
/* Wall clock now, unix seconds. */
int64_t kp_time_now(void);
/* Monotonic clock in nanoseconds (for durations, never for timestamps). */
uint64_t kp_mono_ns(void);

/*
 * Generates a random RFC 4122 version-4 UUID (for metadata.uid) into buf
 * (37 bytes including the NUL), lowercase, from getrandom() or
 * /dev/urandom (never fails: without kernel randomness it falls back to a
 * unique but predictable mix of clock, pid and a counter).
 */
void kp_uuid4(char buf[37]);

#endif

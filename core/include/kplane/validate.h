/*
 * validate.h - Kubernetes name, label and metadata validation.
 *
 * Messages are Kubernetes' own wording so that clients see familiar text:
 * `metadata.name: Invalid value: "Foo_1": a lowercase RFC 1123 subdomain
 * must consist of ...`. Errors accumulate in a kp_errlist so that one
 * request reports every bad field at once (as HTTP 422 causes).
 */
#ifndef KPLANE_VALIDATE_H
#define KPLANE_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

/* Kubernetes' field.ErrorType, with its text. */
enum kp_field_err_type {
	KP_FIELD_INVALID,       /* "Invalid value" */
	KP_FIELD_REQUIRED,      /* "Required value" */
	KP_FIELD_NOT_SUPPORTED, /* "Unsupported value" */
	KP_FIELD_DUPLICATE,     /* "Duplicate value" */
	KP_FIELD_TOO_LONG,      /* "Too long" */
	KP_FIELD_FORBIDDEN,     /* "Forbidden" */
	KP_FIELD_TYPE_INVALID,  /* "Invalid value" for wrong JSON types */
};

struct kp_field_error {
	enum kp_field_err_type type;
	char *field;  /* "metadata.labels" (owned) */
	char *value;  /* offending value as JSON text, or NULL (owned) */
	char *detail; /* explanation (owned) */
};

/* A growable list; zero-initialise, then kp_errlist_release(). */
struct kp_errlist {
	size_t n, cap;
	struct kp_field_error *v;
};

/*
 * Appends an error; value_json (the bad value as JSON text) may be NULL to
 * leave the value out of the message. Copies all strings. Out of memory
 * aborts: a validation error must never be lost silently.
 */
void kp_errlist_add(struct kp_errlist *l, enum kp_field_err_type type, const char *field,
		    const char *value_json, const char *detail_fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* "Invalid value", "Required value", ... */
const char *kp_field_err_type_string(enum kp_field_err_type t);
/* One error as Kubernetes prints it: `field: Type: value: detail`; caller frees. */
char *kp_field_error_string(const struct kp_field_error *e);
/*
 * Kubernetes' aggregate form (utilerrors.Aggregate): identical messages
 * once, joined with ", ", in brackets when more than one remains; "" for an
 * empty list. Caller frees; NULL only when out of memory.
 */
char *kp_errlist_string(const struct kp_errlist *l);
void kp_errlist_release(struct kp_errlist *l);

/*
 * Single-value checks. Each returns NULL when valid, or a static detail
 * string in Kubernetes' words when not. Limits: DNS-1123 label 63,
 * subdomain 253, label value 63, qualified name 63 with a DNS-1123
 * subdomain prefix of up to 253.
 */
const char *kp_check_dns1123_label(const char *s);
const char *kp_check_dns1123_subdomain(const char *s);
const char *kp_check_dns1035_label(const char *s);
const char *kp_check_qualified_name(const char *s); /* label and annotation keys */
const char *kp_check_label_value(const char *s);

/* metadata.labels: keys qualified names, values label values. */
void kp_validate_labels(const json_t *labels, const char *path, struct kp_errlist *errs);
/* metadata.annotations: keys qualified names, total size <= 256 KiB. */
void kp_validate_annotations(const json_t *ann, const char *path, struct kp_errlist *errs);

/*
 * Validates an object's metadata (ValidateObjectMeta): name as a DNS-1123
 * subdomain unless name_is_label (then a DNS-1123 label, as for
 * namespaces and services); an empty name is allowed only with a
 * generateName, itself checked as such a name with a trailing '-' allowed;
 * namespace required (a DNS-1123 label) when `namespaced`, forbidden
 * otherwise; generation >= 0; labels and annotations; ownerReferences need
 * apiVersion, kind, name and uid, and at most one is the controller;
 * finalizers are qualified names. Wrong JSON types are "Invalid value"
 * errors of type KP_FIELD_TYPE_INVALID. Appends to errs; obj is borrowed.
 */
void kp_validate_object_meta(const json_t *obj, bool namespaced, bool name_is_label,
			     struct kp_errlist *errs);

/* Total bytes of annotation keys and values allowed (256 KiB). */
#define KP_ANNOTATIONS_MAX_BYTES (256 * 1024)

#endif

/*
 * ssa.h - server-side apply and metadata.managedFields (ssa.c), after
 * sigs.k8s.io/structured-merge-diff as the Kubernetes API server uses it.
 *
 * A field set is kept as a JSON object in the FieldsV1 shape: keys are path
 * elements ("f:name", "k:{\"name\":\"web\"}", "v:\"x\"", "i:0") whose values
 * are the sets below them. Lists are associative (items keyed by their merge
 * keys: containers and env by name, container ports by containerPort and
 * protocol, ...), sets (finalizers) or atomic (owned as a whole).
 */
#ifndef KPLANE_API_SSA_H
#define KPLANE_API_SSA_H

#include <stdbool.h>
#include <jansson.h>

/* Who writes, and what part of the object the write may touch. */
struct kp_ssa_op {
	const char *manager;     /* fieldManager (borrowed) */
	const char *api_version; /* "apps/v1" (borrowed) */
	const char *subresource; /* NULL for the main resource, "status", "scale", ... */
	bool has_status;         /* the kind has a status subresource: the main
				    resource does not own status, /status owns only it */
	bool force;              /* apply: take fields other managers own */
};

/*
 * The managedFields of obj after a write that is not an apply (create,
 * update, non-apply patch, subresources): fields the write added or
 * changed go to op->manager (operation Update), and leave every other
 * manager; removed fields leave everyone. old is the stored object (NULL
 * on create) with its managedFields; obj the object about to be stored,
 * whose managedFields are ignored. Both borrowed. Returns a new array, or
 * NULL when no manager owns anything (leave the field out).
 */
json_t *kp__ssa_update(const json_t *old, const json_t *obj, const struct kp_ssa_op *op);

/*
 * Server-side apply of config (the applied configuration) to live (the
 * stored object with its managedFields, NULL when it does not exist). On
 * success returns 0 with *merged (new object: live merged with config,
 * fields that op->manager applied before, left out now and owned by no
 * one else removed) and *managed (new managedFields array) for the caller
 * to store after defaulting. When fields other managers own would change
 * and !op->force, returns KP_ECONFLICT with *message (Kubernetes' "Apply
 * failed with N conflicts: ..."; caller frees) and *causes (new array of
 * FieldManagerConflict causes). Everything is borrowed; outputs are set
 * only for the return that names them.
 */
int kp__ssa_apply(const json_t *live, const json_t *config, const struct kp_ssa_op *op,
		  json_t **merged, json_t **managed, char **message, json_t **causes);

/*
 * Checks a fieldManager value as Kubernetes does (at most 128 bytes,
 * printable characters). Returns NULL when valid, else a message for a 422
 * naming the field (caller frees).
 */
char *kp__ssa_check_manager(const char *manager);

/*
 * The manager of a write without fieldManager: the User-Agent's product
 * name (the text before the first '/'), truncated to 128 bytes, into buf.
 */
void kp__ssa_default_manager(const char *user_agent, char *buf, size_t n);

/* ---- for rest.c (requests) ---- */

struct kp_req;
#define KP_SSA_MANAGER_BUFSZ 130

/*
 * Checks the write options of r as Kubernetes validates Create/Update/
 * PatchOptions: fieldManager required for apply, valid when given; force
 * only on apply. Returns false after replying 422.
 */
bool kp__ssa_check_options(struct kp_req *r, bool apply);
/* The write's identity: fieldManager or the User-Agent default (buf holds it). */
void kp__ssa_op_of(struct kp_req *r, struct kp_ssa_op *op, char buf[KP_SSA_MANAGER_BUFSZ]);
/* Sets (or removes) obj's metadata.managedFields for a non-apply write of r. */
void kp__ssa_set_update(struct kp_req *r, const json_t *old, json_t *obj);
/*
 * kp__ssa_apply for request r: returns the merged object (new) and the
 * managedFields to store in *managed (new, may be NULL), or NULL after
 * replying 409 Conflict with Kubernetes' message and causes.
 */
json_t *kp__ssa_apply_req(struct kp_req *r, const json_t *live, const json_t *config,
			  json_t **managed);
/*
 * Apply to a missing object: the configuration (borrowed) as a new object
 * with its Apply managedFields in metadata; NULL after replying.
 */
json_t *kp__ssa_apply_create(struct kp_req *r, const json_t *config);

#endif

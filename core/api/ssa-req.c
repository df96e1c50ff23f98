/*
 * ssa-req.c - server-side apply and managedFields for requests: the write
 * options Kubernetes validates, the manager of a write, and the glue rest.c
 * calls (ssa.h). Apart from ssa.c so that the fuzz build needs no HTTP.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/kplane.h>

#include "core/api/internal.h"
#include "core/api/ssa.h"

/* ---- requests ---------------------------------------------------------------------- */

/* The "XOptions.meta.k8s.io \"\" is invalid" 422 Kubernetes answers for bad options. */
static void options_invalid(struct kp_req *r, const char *kind, const char *field,
			    const char *reason, const char *detail)
{
	json_t *details = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s, s:s}]}", "name", "", "group",
				    "meta.k8s.io", "kind", kind, "causes", "reason", reason,
				    "message", detail, "field", field);
	kp__reply_status(r, 422, "Invalid", details, "%s.meta.k8s.io \"\" is invalid: %s: %s",
			 kind, field, detail);
}

bool kp__ssa_check_options(struct kp_req *r, bool apply)
{
	const char *kind = r->method == KP_M_POST  ? "CreateOptions" :
			   r->method == KP_M_PATCH ? "PatchOptions" :
						     "UpdateOptions";
	const char *fm = r->q.field_manager ? r->q.field_manager : "";
	if (apply && !*fm) {
		options_invalid(r, kind, "fieldManager", "FieldValueRequired",
				"Required value: is required for apply patch");
		return false;
	}
	if (!apply && r->q.force && r->method == KP_M_PATCH) {
		options_invalid(r, kind, "force", "FieldValueForbidden",
				"Forbidden: may not be specified for non-apply patch");
		return false;
	}
	char *bad = kp__ssa_check_manager(fm);
	if (bad) {
		const char *detail = bad + strlen("fieldManager: ");
		options_invalid(r, kind, "fieldManager",
				!strncmp(detail, "Too long", 8) ? "FieldValueTooLong" :
								  "FieldValueInvalid",
				detail);
		free(bad);
		return false;
	}
	return true;
}

void kp__ssa_op_of(struct kp_req *r, struct kp_ssa_op *op, char buf[KP_SSA_MANAGER_BUFSZ])
{
	const char *m = r->q.field_manager;
	if (!m || !*m) {
		/* Headers of a suspended connection are not touched by libmicrohttpd. */
		const char *ua = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_USER_AGENT);
		kp__ssa_default_manager(ua, buf, KP_SSA_MANAGER_BUFSZ);
		m = buf;
	}
	op->manager = m;
	op->api_version = r->res->group_version;
	op->subresource = r->sub;
	op->has_status = r->res->flags & KP_RES_STATUS;
	op->force = r->q.force;
}

void kp__ssa_set_update(struct kp_req *r, const json_t *old, json_t *obj)
{
	struct kp_ssa_op op;
	char buf[KP_SSA_MANAGER_BUFSZ];
	kp__ssa_op_of(r, &op, buf);
	json_t *mf = kp__ssa_update(old, obj, &op);
	json_t *md = json_object_get(obj, "metadata");
	if (!json_is_object(md))
		json_decref(mf);
	else if (mf)
		json_object_set_new(md, "managedFields", mf);
	else
		json_object_del(md, "managedFields");
}

json_t *kp__ssa_apply_req(struct kp_req *r, const json_t *live, const json_t *config,
			  json_t **managed)
{
	struct kp_ssa_op op;
	char buf[KP_SSA_MANAGER_BUFSZ];
	kp__ssa_op_of(r, &op, buf);
	json_t *merged = NULL, *causes = NULL;
	char *msg = NULL;
	*managed = NULL;
	if (kp__ssa_apply(live, config, &op, &merged, managed, &msg, &causes)) {
		kp__reply_status(r, 409, "Conflict", json_pack("{s:o}", "causes", causes), "%s",
				 msg);
		free(msg);
		return NULL;
	}
	return merged;
}

json_t *kp__ssa_apply_create(struct kp_req *r, const json_t *config)
{
	json_t *mf = NULL;
	json_t *obj = kp__ssa_apply_req(r, NULL, config, &mf);
	if (!obj)
		return NULL;
	json_t *md = json_object_get(obj, "metadata");
	if (!md) {
		md = json_object();
		json_object_set_new(obj, "metadata", md);
	}
	if (json_is_object(md) && mf)
		json_object_set_new(md, "managedFields", mf);
	else
		json_decref(mf);
	return obj;
}

/*
 * fuzz-body: a request body through what create/update do with it: the
 * JSON or YAML decoder, then for every built-in resource the type check,
 * and when that passes, defaulting and validation (as rest.c orders them).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <kplane/kplane.h>

#include "core/api/internal.h"
#include "core/api/kinds.h"
#include "t/fuzz/fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *v = NULL;
	char *err = NULL;
	json_error_t je;
	/* The raw JSON decoder as rest.c calls it for application/json. */
	json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY, &je);
	json_decref(j);
	/* The protobuf body decoder (application/vnd.kubernetes.protobuf). */
	json_t *pb = NULL;
	char *perr = NULL;
	kp__proto_decode((const char *)data, size, &pb, &perr);
	json_decref(pb);
	free(perr);
	if (kp_yaml_or_json_load_one((const char *)data, size, &v, &err) || !v) {
		free(err);
		json_decref(v);
		return 0;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		return 0;
	}
	for (size_t i = 0; i < kp__registry_count(); i++) {
		const struct kp_resource *res = kp__registry_at(i);
		json_t *obj = json_deep_copy(v);
		char *msg = NULL;
		if (!kp__kinds_typecheck(res, obj, &msg)) {
			if (!kp__kinds_default(res, obj, NULL, &msg)) {
				struct kp_errlist errs = { 0 };
				kp__kinds_validate(res, obj, NULL, &errs);
				kp__kinds_validate(res, obj, v, &errs);
				kp_errlist_release(&errs);
			}
		}
		free(msg);
		json_decref(obj);
	}
	json_decref(v);
	return 0;
}

/*
 * fuzz-proto: a protobuf request body (application/vnd.kubernetes.protobuf)
 * through what create does with it: the envelope and message decoder
 * (core/api/proto.c), then, when it decodes, the type check, defaulting and
 * validation of the resource its apiVersion and kind name. The seeds in
 * corpus/proto/ are bodies the real kubectl 1.32 sent for its generators.
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
	json_t *obj = NULL;
	char *err = NULL;
	if (kp__proto_decode((const char *)data, size, &obj, &err)) {
		free(err);
		return 0;
	}
	kp__registry_init();
	const char *av = json_string_value(json_object_get(obj, "apiVersion"));
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	const char *slash = av ? strchr(av, '/') : NULL;
	char group[128] = "";
	if (slash && (size_t)(slash - av) < sizeof(group))
		memcpy(group, av, (size_t)(slash - av));
	const struct kp_resource *res = kind ? kp__registry_find_kind(group, kind) : NULL;
	char *msg = NULL;
	if (res && !kp__kinds_typecheck(res, obj, &msg) && !kp__kinds_default(res, obj, NULL, &msg)) {
		struct kp_errlist errs = { 0 };
		kp__kinds_validate(res, obj, NULL, &errs);
		kp_errlist_release(&errs);
	}
	free(msg);
	json_decref(obj);
	return 0;
}

/*
 * fuzz-patch: the three patch bodies (merge, JSON patch, strategic merge)
 * applied to a pod. The input is "TARGET\0PATCH"; without a NUL byte the
 * whole input is the patch and the target is a fixed pod.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <kplane/kplane.h>

#include "core/api/internal.h"
#include "t/fuzz/fuzz-common.h"

static const char pod[] =
	"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"labels\":{\"a\":\"b\"},"
	"\"finalizers\":[\"x\",\"y\"]},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\","
	"\"ports\":[{\"containerPort\":80}],\"env\":[{\"name\":\"A\",\"value\":\"1\"}],"
	"\"volumeMounts\":[{\"name\":\"v\",\"mountPath\":\"/m\"}]}],\"volumes\":[{\"name\":\"v\"}],"
	"\"tolerations\":[{\"key\":\"k\"}]},\"status\":{\"conditions\":[{\"type\":\"Ready\"}]}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	const char *nul = memchr(p, 0, size);
	json_t *target, *patch;
	if (nul) {
		target = json_loadb(p, (size_t)(nul - p), JSON_DECODE_ANY, NULL);
		patch = json_loadb(nul + 1, size - (size_t)(nul - p) - 1, JSON_DECODE_ANY, NULL);
	} else {
		target = json_loads(pod, 0, NULL);
		patch = json_loadb(p, size, JSON_DECODE_ANY, NULL);
	}
	if (!target || !patch)
		goto out;
	json_decref(kp__merge_patch(target, patch));
	char *err = NULL;
	json_t *doc = json_deep_copy(target);
	kp__json_patch(doc, patch, &err);
	free(err);
	err = NULL;
	json_decref(doc);
	doc = json_deep_copy(target);
	kp__strategic_merge_patch(doc, patch, &err);
	free(err);
	json_decref(doc);
out:
	json_decref(target);
	json_decref(patch);
	return 0;
}

/*
 * fuzz-ssa: server-side apply and managedFields (core/api/ssa.c) on a JSON
 * document {"live": OBJECT|null, "config": OBJECT, "force": BOOL}: the
 * apply of config to live (whose managedFields may be anything), then the
 * Update bookkeeping of live → config, then an apply by a second manager
 * to the first result. Checks that results are objects and arrays.
 */
#include "config.h"

#include <stdlib.h>

#include <kplane/kplane.h>

#include "core/api/ssa.h"
#include "t/fuzz/fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *doc = json_loadb((const char *)data, size, 0, NULL);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return 0;
	}
	json_t *live = json_object_get(doc, "live");
	json_t *config = json_object_get(doc, "config");
	if (!json_is_object(live))
		live = NULL;
	if (!json_is_object(config)) {
		json_decref(doc);
		return 0;
	}
	struct kp_ssa_op op = { "fuzz", "apps/v1", NULL, true,
				json_is_true(json_object_get(doc, "force")) };
	json_t *merged = NULL, *managed = NULL, *causes = NULL;
	char *msg = NULL;
	if (kp__ssa_apply(live, config, &op, &merged, &managed, &msg, &causes) == 0) {
		if (!json_is_object(merged) || (managed && !json_is_array(managed)))
			abort();
		json_t *md = json_object_get(merged, "metadata");
		if (json_is_object(md) && managed)
			json_object_set(md, "managedFields", managed);
		struct kp_ssa_op op2 = { "other", "apps/v1", "status", true, false };
		json_t *m2 = NULL, *mf2 = NULL;
		if (kp__ssa_apply(merged, config, &op2, &m2, &mf2, &msg, &causes) == 0) {
			json_decref(m2);
			json_decref(mf2);
		} else {
			free(msg);
			json_decref(causes);
		}
		json_decref(merged);
		json_decref(managed);
	} else {
		if (!msg || !json_is_array(causes))
			abort();
		free(msg);
		json_decref(causes);
	}
	json_decref(kp__ssa_update(live, config, &op));
	json_decref(doc);
	return 0;
}

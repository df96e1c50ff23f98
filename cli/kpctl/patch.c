/* patch.c - client-side merge patches for kpctl; see patch.h. */
#include "config.h"

#include <string.h>

#include <kplane/error.h>

#include "cli/kpctl/patch.h"

bool kpc_json_subset(const json_t *want, const json_t *have)
{
	if (json_is_number(want) && json_is_number(have))
		return json_number_value(want) == json_number_value(have);
	if (json_typeof(want) != json_typeof(have))
		return false;
	if (json_is_object(want)) {
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)want, k, v) {
			json_t *h = json_object_get(have, k);
			if (!h) {
				/* `key: null` in a manifest means "no value". */
				if (json_is_null(v))
					continue;
				return false;
			}
			if (!kpc_json_subset(v, h))
				return false;
		}
		return true;
	}
	if (json_is_array(want)) {
		if (json_array_size(want) != json_array_size(have))
			return false;
		for (size_t i = 0; i < json_array_size(want); i++)
			if (!kpc_json_subset(json_array_get(want, i), json_array_get(have, i)))
				return false;
		return true;
	}
	return json_equal((json_t *)want, (json_t *)have);
}

json_t *kpc_three_way_merge_patch(const json_t *original, const json_t *modified,
				  const json_t *current)
{
	json_t *patch = json_object();
	const char *k;
	json_t *mv;
	if (!patch)
		return NULL;
	json_object_foreach((json_t *)modified, k, mv) {
		json_t *cv = json_object_get(current, k);
		json_t *ov = json_is_object(original) ? json_object_get(original, k) : NULL;
		if (!cv || json_is_null(cv)) {
			if (!json_is_null(mv))
				json_object_set_new(patch, k, json_deep_copy(mv));
			continue;
		}
		if (json_is_object(mv) && json_is_object(cv)) {
			json_t *sub = kpc_three_way_merge_patch(json_is_object(ov) ? ov : NULL, mv, cv);
			if (!sub) {
				json_decref(patch);
				return NULL;
			}
			if (json_object_size(sub))
				json_object_set_new(patch, k, sub);
			else
				json_decref(sub);
			continue;
		}
		if (!kpc_json_subset(mv, cv) || (ov && !json_equal(ov, mv) && !json_equal(mv, cv)))
			json_object_set_new(patch, k, json_is_null(mv) ? json_null() : json_deep_copy(mv));
	}
	if (json_is_object(original)) {
		json_t *ov;
		json_object_foreach((json_t *)original, k, ov) {
			if (!json_object_get(modified, k) && json_object_get(current, k))
				json_object_set_new(patch, k, json_null());
		}
	}
	return patch;
}

int kpc_merge_patch_apply(json_t *target, const json_t *patch)
{
	const char *k;
	json_t *pv;
	if (!json_is_object(target) || !json_is_object(patch))
		return KP_EINVAL;
	json_object_foreach((json_t *)patch, k, pv) {
		if (json_is_null(pv)) {
			json_object_del(target, k);
			continue;
		}
		json_t *tv = json_object_get(target, k);
		if (json_is_object(pv)) {
			if (!json_is_object(tv)) {
				tv = json_object();
				if (!tv || json_object_set_new(target, k, tv))
					return KP_ENOMEM;
			}
			int rc = kpc_merge_patch_apply(tv, pv);
			if (rc)
				return rc;
			continue;
		}
		if (json_object_set_new(target, k, json_deep_copy(pv)))
			return KP_ENOMEM;
	}
	return 0;
}

json_t *kpc_merge_patch_create(const json_t *original, const json_t *modified)
{
	json_t *patch = json_object();
	const char *k;
	json_t *v;
	if (!patch)
		return NULL;
	json_object_foreach((json_t *)modified, k, v) {
		json_t *o = json_object_get(original, k);
		if (o && json_is_object(o) && json_is_object(v)) {
			json_t *sub = kpc_merge_patch_create(o, v);
			if (!sub) {
				json_decref(patch);
				return NULL;
			}
			if (json_object_size(sub))
				json_object_set_new(patch, k, sub);
			else
				json_decref(sub);
		} else if (!o || !json_equal(o, v)) {
			json_object_set(patch, k, v);
		}
	}
	json_object_foreach((json_t *)original, k, v)
		if (!json_object_get(modified, k))
			json_object_set_new(patch, k, json_null());
	return patch;
}

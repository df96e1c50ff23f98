/*
 * fuzz-selector: labelSelector and fieldSelector query strings: parse,
 * print back and re-parse (the printed form must parse), and match
 * against a fixed object.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <kplane/kplane.h>

#include "t/fuzz/fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	json_t *obj = json_pack("{s:{s:s, s:s, s:{s:s, s:s}}, s:{s:s}, s:{s:s}}", "metadata",
				"name", "p", "namespace", "default", "labels", "app", "web",
				"tier", "front", "spec", "nodeName", "n1", "status", "phase",
				"Running");
	struct kp_label_selector *ls = NULL;
	char *err = NULL;
	if (!kp_label_selector_parse(s, &ls, &err)) {
		kp_label_selector_matches(ls, json_object_get(json_object_get(obj, "metadata"),
							  "labels"));
		char *back = kp_label_selector_string(ls);
		struct kp_label_selector *again = NULL;
		char *err2 = NULL;
		if (back && kp_label_selector_parse(back, &again, &err2))
			abort(); /* the printed form of a selector must parse */
		kp_label_selector_free(again);
		free(err2);
		free(back);
		kp_label_selector_free(ls);
	}
	free(err);
	err = NULL;
	struct kp_field_selector *fs = NULL;
	if (!kp_field_selector_parse(s, &fs, &err)) {
		kp_field_selector_matches(fs, obj);
		kp_field_selector_free(fs);
	}
	free(err);
	json_decref(obj);
	free(s);
	return 0;
}

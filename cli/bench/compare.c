/*
 * compare.c - `sched-bench compare A.json B.json`: for every data item
 * present in both DataItems files (same Name and Metric labels), each
 * numeric field of A, B and the ratio B/A.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/bench/bench.h"

static json_t *load(const char *path)
{
	json_error_t je;
	json_t *d = json_load_file(path, 0, &je);
	if (!d) {
		fprintf(stderr, "sched-bench: %s: line %d: %s\n", path, je.line, je.text);
		return NULL;
	}
	if (!json_is_array(json_object_get(d, "dataItems"))) {
		fprintf(stderr, "sched-bench: %s: dataItems: Required value (not a DataItems file)\n", path);
		json_decref(d);
		return NULL;
	}
	return d;
}

static const char *label(const json_t *it, const char *k)
{
	const char *v = json_string_value(json_object_get(json_object_get(it, "labels"), k));
	return v ? v : "";
}

/* Labels other than Name and Metric must match too (e.g. extension point). */
static bool same_labels(const json_t *a, const json_t *b)
{
	return json_equal(json_object_get(a, "labels"), json_object_get(b, "labels"));
}

int sb_cmd_compare(int argc, char **argv)
{
	bool help = argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"));
	if (argc != 3 || help) {
		fprintf(help ? stdout : stderr, "usage: sched-bench compare A.json B.json\n"
			"  prints, for every metric in both files, A, B and B/A\n");
		return help ? 0 : 2;
	}
	json_t *a = load(argv[1]), *b = a ? load(argv[2]) : NULL;
	if (!a || !b) {
		json_decref(a);
		return 1;
	}
	printf("%-44s %-30s %-12s %14s %14s %8s\n", "NAME", "METRIC", "FIELD", "A", "B", "B/A");
	size_t i, j, matched = 0;
	json_t *x, *y;
	json_array_foreach(json_object_get(a, "dataItems"), i, x) {
		json_array_foreach(json_object_get(b, "dataItems"), j, y) {
			if (!same_labels(x, y))
				continue;
			matched++;
			const char *k;
			json_t *va;
			json_object_foreach(json_object_get(x, "data"), k, va) {
				json_t *vb = json_object_get(json_object_get(y, "data"), k);
				if (!json_is_number(va) || !json_is_number(vb))
					continue;
				double da = json_number_value(va), db = json_number_value(vb);
				char ratio[32];
				if (da != 0)
					snprintf(ratio, sizeof(ratio), "%.3f", db / da);
				else
					snprintf(ratio, sizeof(ratio), "%s", db == 0 ? "=" : "inf");
				printf("%-44s %-30s %-12s %14.4g %14.4g %8s\n", label(x, "Name"),
				       label(x, "Metric"), k, da, db, ratio);
			}
			break;
		}
	}
	json_decref(a);
	json_decref(b);
	if (!matched) {
		fprintf(stderr, "sched-bench: %s and %s have no data item in common\n", argv[1], argv[2]);
		return 1;
	}
	return 0;
}

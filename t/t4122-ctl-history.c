/*
 * t4122-ctl-history - kp__history_plan, the ControllerRevision bookkeeping
 * of the daemonset and statefulset controllers, against kube's rules worked
 * by hand: the current template's revision is one more than the highest
 * other unless it already is the highest (a rollback renumbers the old
 * revision); DaemonSets prune the lowest revisions beyond
 * revisionHistoryLimit counting live ones but never deleting them
 * (cleanupHistory); StatefulSets count only revisions no pod runs
 * (truncateHistory).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "plugins/controllers/workload.h"
#include "t/tap.h"

/* revs "a:1,b:2": names with revision numbers. */
static json_t *revs(const char *spec)
{
	json_t *a = json_array();
	char *s = strdup(spec), *save = NULL;
	for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(t, ':');
		*colon = 0;
		json_array_append_new(a, json_pack("{s:{s:s}, s:I}", "metadata", "name", t, "revision",
						   (json_int_t)atoll(colon + 1)));
	}
	free(s);
	return a;
}

static json_t *set(const char *names)
{
	json_t *o = json_object();
	char *s = strdup(names), *save = NULL;
	for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save))
		json_object_set_new(o, t, json_true());
	free(s);
	return o;
}

static void check(const char *spec, const char *cur, const char *live, int64_t limit,
		  bool live_counts, int64_t want_rev, const char *want_prune, const char *what)
{
	json_t *r = revs(spec), *l = set(live), *prune = json_array();
	int64_t rev = -1;
	kp__history_plan(r, cur, l, limit, live_counts, &rev, prune);
	char got[256] = "";
	size_t i;
	json_t *p;
	json_array_foreach(prune, i, p) {
		if (i)
			strcat(got, ",");
		strcat(got, json_string_value(p));
	}
	is_int(rev, want_rev, "%s: revision", what);
	is_str(got, want_prune, "%s: pruned", what);
	json_decref(r);
	json_decref(l);
	json_decref(prune);
}

int main(void)
{
	plan(16);
	check("", "ds-a", "", 10, true, 1, "", "first template");
	check("ds-a:1", "ds-b", "ds-a", 10, true, 2, "", "second template");
	check("ds-a:1,ds-b:2", "ds-b", "ds-b", 10, true, 2, "", "current is the highest: kept");
	check("ds-a:1,ds-b:2", "ds-a", "ds-b", 10, true, 3, "", "rollback renumbers the old one");
	/* Five old revisions, limit 2: three to go, oldest first, live ones skipped. */
	check("a:1,b:2,c:3,d:4,e:5,f:6", "f", "b", 2, true, 6, "a,c,d",
	      "DaemonSet: live ones count but stay");
	check("a:1,b:2,c:3,d:4,e:5,f:6", "f", "b", 2, false, 6, "a,c",
	      "StatefulSet: only dead ones count");
	check("a:1,b:2,c:3", "c", "", 0, true, 3, "a,b", "limit 0 keeps only the current one");
	check("a:4,b:2,c:9", "b", "a,c", 0, false, 10, "", "everything live: nothing pruned");
	return done_testing();
}

/*
 * t0010-runtime-recorder - the Event recorder of core/runtime over a memory
 * store: Events are Kubernetes-shaped, repeats within the correlation window
 * raise the count of the first Event (kube's EventCorrelator), and a
 * different reason or component makes a new one.
 */
#include "config.h"

#include <string.h>

#include <kplane/object.h>

#include "core/runtime/runtime.h"
#include "store/store.h"
#include "t/tap.h"

/* The events stored under the default namespace, as a JSON array (new reference). */
static json_t *stored_events(struct kp_store *st)
{
	struct kp_kv_list l = { 0 };
	json_t *out = json_array();
	if (kp_store_list(st, "/registry/core/events/default/", 0, NULL, 0, &l) == 0) {
		for (size_t i = 0; i < l.n; i++)
			json_array_append_new(out, json_loadb(l.items[i].value, l.items[i].len, 0, NULL));
		kp_kv_list_release(&l);
	}
	return out;
}

int main(void)
{
	struct kp_store_options so = { .backend = KP_STORE_MEMORY };
	struct kp_store *st = NULL;
	struct kp_recorder *r = NULL;
	char *err = NULL;
	plan(14);

	ok(kp_store_open(&so, &st, &err) == 0, "memory store opens");
	ok(kp_recorder_start(st, "default-scheduler", &r, &err) == 0, "recorder starts");

	json_t *pod = json_loads("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
				 "\"web\",\"namespace\":\"default\",\"uid\":\"u-1\"}}", 0, NULL);
	for (int i = 0; i < 3; i++)
		kp_recorder_event(r, NULL, pod, "Warning", "FailedScheduling", "0/1 nodes are available");
	kp_recorder_event(r, NULL, pod, "Normal", "Scheduled", "Successfully assigned default/web to n1");
	kp_recorder_event(r, "kubelet", pod, "Normal", "Scheduled", "Successfully assigned default/web to n1");
	kp_recorder_stop(r); /* writes everything queued */

	json_t *evs = stored_events(st);
	is_int(json_array_size(evs), 3, "three distinct events stored (repeats folded)");
	json_t *failed = NULL, *sched = NULL, *kubelet = NULL;
	size_t i;
	json_t *e;
	json_array_foreach(evs, i, e) {
		const char *reason = kp_obj_str(e, "reason"), *src = kp_obj_str(e, "source.component");
		if (reason && !strcmp(reason, "FailedScheduling"))
			failed = e;
		else if (src && !strcmp(src, "kubelet"))
			kubelet = e;
		else
			sched = e;
	}
	ok(failed && sched && kubelet, "one FailedScheduling, one Scheduled per component");
	is_int(kp_obj_int(failed, "count", 0), 3, "the repeated event counts 3");
	is_int(kp_obj_int(sched, "count", 0), 1, "a single event counts 1");
	is_str(kp_obj_str(failed, "kind"), "Event", "kind Event");
	is_str(kp_obj_str(failed, "type"), "Warning", "type kept");
	is_str(kp_obj_str(failed, "involvedObject.kind"), "Pod", "involvedObject.kind");
	is_str(kp_obj_str(failed, "involvedObject.uid"), "u-1", "involvedObject.uid");
	is_str(kp_obj_str(failed, "source.component"), "default-scheduler", "default component");
	ok(!strncmp(kp_obj_name(failed) ? kp_obj_name(failed) : "", "web.", 4),
	   "named <object>.<hex>, as client-go does");
	int64_t t;
	ok(kp_time_parse(kp_obj_str(failed, "lastTimestamp"), &t) == 0, "lastTimestamp is RFC 3339");
	is_str(kp_obj_str(kubelet, "reportingComponent"), "kubelet", "a given component is used");

	json_decref(evs);
	json_decref(pod);
	kp_store_close(st);
	free(err);
	return done_testing();
}

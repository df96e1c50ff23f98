/*
 * t0003-object: JSON object helpers, owner references, RFC 3339 time,
 * UUIDv4. Expected timestamps are worked out by hand from the calendar
 * (e.g. 2000-01-01T00:00:00Z = 946684800, +60 days to 2000-03-01).
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include <kplane/kplane.h>

#include "tap.h"

static json_t *pod(void)
{
	json_error_t err;
	json_t *o = json_loads(
		"{\"apiVersion\": \"v1\", \"kind\": \"Pod\","
		" \"metadata\": {\"name\": \"web-0\", \"namespace\": \"default\", \"uid\": \"u-1\","
		"   \"resourceVersion\": \"42\","
		"   \"labels\": {\"app.kubernetes.io/name\": \"web\", \"tier\": \"front\"},"
		"   \"annotations\": {\"note\": \"x\"}},"
		" \"spec\": {\"nodeName\": \"n1\", \"priority\": 7, \"hostNetwork\": true,"
		"   \"containers\": [{\"name\": \"c\"}]}}",
		0, &err);
	if (!o)
		diag("fixture: %s", err.text);
	return o;
}

static void test_paths(void)
{
	json_t *o = pod();

	is_str(kp_obj_str(o, "metadata.name"), "web-0", "dotted path to a string");
	is_str(kp_obj_str(o, "spec.nodeName"), "n1", "spec.nodeName");
	ok(kp_obj_get(o, "spec.containers") && json_is_array(kp_obj_get(o, "spec.containers")),
	   "path to an array");
	ok(kp_obj_get(o, "spec.containers.name") == NULL, "cannot walk through an array");
	ok(kp_obj_get(o, "spec.nope.x") == NULL, "missing intermediate gives NULL");
	ok(kp_obj_get(o, "metadata..name") == NULL, "empty segment gives NULL");
	ok(kp_obj_get(NULL, "a") == NULL, "NULL object gives NULL");
	ok(kp_obj_str(o, "spec.priority") == NULL, "kp_obj_str on an integer is NULL");
	is_int(kp_obj_int(o, "spec.priority", -1), 7, "kp_obj_int");
	is_int(kp_obj_int(o, "spec.nodeName", -1), -1, "kp_obj_int default on a string");
	ok(kp_obj_bool(o, "spec.hostNetwork", false), "kp_obj_bool");
	ok(!kp_obj_bool(o, "spec.missing", false), "kp_obj_bool default");
	is_str(json_string_value(kp_obj_getv(o, "metadata", "labels", "app.kubernetes.io/name", NULL)),
	       "web", "kp_obj_getv takes keys with dots");

	is_str(kp_obj_name(o), "web-0", "name");
	is_str(kp_obj_namespace(o), "default", "namespace");
	is_str(kp_obj_uid(o), "u-1", "uid");
	is_str(kp_obj_kind(o), "Pod", "kind");
	is_str(kp_obj_api_version(o), "v1", "apiVersion");
	is_str(kp_obj_label(o, "app.kubernetes.io/name"), "web", "label with dots in the key");
	ok(kp_obj_label(o, "missing") == NULL, "absent label");
	is_str(kp_obj_annotation(o, "note"), "x", "annotation");
	is_int(json_object_size(kp_obj_labels(o)), 2, "labels object");

	is_int(kp_obj_set(o, "status.phase", json_string("Running")), 0, "set creates status");
	is_str(kp_obj_str(o, "status.phase"), "Running", "value set");
	is_int(kp_obj_set_str(o, "spec.template.metadata.name", "t"), 0, "set creates a chain");
	is_str(kp_obj_str(o, "spec.template.metadata.name"), "t", "deep value set");
	is_int(kp_obj_set(o, "spec.nodeName.x", json_integer(1)), KP_EINVAL,
	       "set through a string fails (value stolen anyway)");
	is_str(kp_obj_str(o, "spec.nodeName"), "n1", "failed set changed nothing");
	is_int(kp_obj_set(o, "", json_integer(1)), KP_EINVAL, "empty path");
	is_int(kp_obj_set(o, "a", NULL), KP_ENOMEM, "NULL value reports allocation failure");
	is_int(kp_obj_set_str(o, "spec.bad", "\xff\xfe"), KP_EINVAL, "non-UTF-8 string refused");
	is_int(kp_obj_set_str(o, "spec.nodeName", "n2"), 0, "overwrite");
	is_str(kp_obj_str(o, "spec.nodeName"), "n2", "overwritten");

	is_int(kp_obj_del(o, "spec.nodeName"), 0, "delete");
	ok(kp_obj_get(o, "spec.nodeName") == NULL, "deleted");
	is_int(kp_obj_del(o, "spec.nodeName"), 0, "deleting again is fine");
	is_int(kp_obj_del(o, "no.such.path"), 0, "deleting under a missing parent is fine");

	is_int(kp_obj_set_label(o, "example.com/role", "db"), 0, "set label with dotted key");
	is_str(kp_obj_label(o, "example.com/role"), "db", "label set");
	is_int(kp_obj_set_annotation(o, "a.b/c", "v"), 0, "set annotation");
	is_str(kp_obj_annotation(o, "a.b/c"), "v", "annotation set");
	json_decref(o);

	o = json_object();
	is_int(kp_obj_set_label(o, "k", "v"), 0, "set label creates metadata.labels");
	is_str(kp_obj_label(o, "k"), "v", "label on a bare object");
	json_object_set_new(json_object_get(o, "metadata"), "annotations", json_string("oops"));
	is_int(kp_obj_set_annotation(o, "k", "v"), KP_EINVAL, "annotations not an object");
	json_decref(o);
}

static void test_resource_version(void)
{
	json_t *o = pod();

	is_uint(kp_obj_resource_version(o), 42, "resourceVersion parsed");
	is_int(kp_obj_set_resource_version(o, UINT64_MAX), 0, "set max");
	is_str(kp_obj_str(o, "metadata.resourceVersion"), "18446744073709551615", "max as decimal");
	is_uint(kp_obj_resource_version(o), UINT64_MAX, "max read back");
	kp_obj_set_str(o, "metadata.resourceVersion", "18446744073709551616");
	is_uint(kp_obj_resource_version(o), 0, "overflow reads as 0");
	kp_obj_set_str(o, "metadata.resourceVersion", "12a");
	is_uint(kp_obj_resource_version(o), 0, "not decimal reads as 0");
	kp_obj_set_str(o, "metadata.resourceVersion", "");
	is_uint(kp_obj_resource_version(o), 0, "empty reads as 0");
	kp_obj_del(o, "metadata.resourceVersion");
	is_uint(kp_obj_resource_version(o), 0, "absent reads as 0");
	json_decref(o);
}

static void test_owner_refs(void)
{
	json_t *child = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Pod", "metadata",
				  "name", "web-0");
	json_t *rs = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "apps/v1", "kind",
			       "ReplicaSet", "metadata", "name", "web", "uid", "rs-uid");
	json_t *rs2 = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "apps/v1", "kind",
				"ReplicaSet", "metadata", "name", "web2", "uid", "rs2-uid");
	json_t *nouid = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Node",
				  "metadata", "name", "n1");
	json_t *ref;

	ok(kp_obj_controller_ref(child) == NULL, "no controller yet");
	ok(!kp_obj_owned_by(child, "rs-uid"), "not owned yet");
	is_int(kp_obj_add_owner_ref(child, rs, true), 0, "add controller ref");
	ref = kp_obj_controller_ref(child);
	ok(ref != NULL, "controller ref found");
	is_str(json_string_value(json_object_get(ref, "apiVersion")), "apps/v1", "ref apiVersion");
	is_str(json_string_value(json_object_get(ref, "kind")), "ReplicaSet", "ref kind");
	is_str(json_string_value(json_object_get(ref, "name")), "web", "ref name");
	is_str(json_string_value(json_object_get(ref, "uid")), "rs-uid", "ref uid");
	ok(json_is_true(json_object_get(ref, "blockOwnerDeletion")), "blockOwnerDeletion true");
	ok(kp_obj_owned_by(child, "rs-uid"), "owned by rs");
	is_int(kp_obj_add_owner_ref(child, rs, false), KP_EEXIST, "same owner twice");
	is_int(kp_obj_add_owner_ref(child, rs2, true), KP_EEXIST, "second controller");
	is_int(kp_obj_add_owner_ref(child, rs2, false), 0, "second, non-controller owner");
	ref = json_array_get(kp_obj_get(child, "metadata.ownerReferences"), 1);
	ok(json_is_false(json_object_get(ref, "controller")), "non-controller ref");
	ok(json_is_false(json_object_get(ref, "blockOwnerDeletion")), "does not block deletion");
	is_str(json_string_value(json_object_get(kp_obj_controller_ref(child), "uid")), "rs-uid",
	       "controller still the first");
	is_int(kp_obj_add_owner_ref(child, nouid, false), KP_EINVAL, "owner without uid");
	is_int(json_array_size(kp_obj_get(child, "metadata.ownerReferences")), 2, "two refs");
	json_decref(child);
	json_decref(rs);
	json_decref(rs2);
	json_decref(nouid);
}

static void test_time(void)
{
	char buf[KP_TIME_BUFSZ];
	int64_t t = 0;

	is_str(kp_time_format(0, buf), "1970-01-01T00:00:00Z", "epoch");
	is_str(kp_time_format(-1, buf), "1969-12-31T23:59:59Z", "one second before epoch");
	is_str(kp_time_format(946684800, buf), "2000-01-01T00:00:00Z", "Y2K");
	is_str(kp_time_format(951782400, buf), "2000-02-29T00:00:00Z", "leap day 2000");
	is_str(kp_time_format(1700000000, buf), "2023-11-14T22:13:20Z", "1.7e9");
	is_str(kp_time_format(253402300799LL, buf), "9999-12-31T23:59:59Z", "last writable second");
	ok(kp_time_format(253402300800LL, buf) == NULL, "year 10000 cannot be written");
	is_str(kp_time_format(-62167219200LL, buf), "0000-01-01T00:00:00Z", "year 0");
	ok(kp_time_format(-62167219201LL, buf) == NULL, "year -1 cannot be written");

	is_int(kp_time_parse("2023-11-14T22:13:20Z", &t), 0, "parse Z");
	is_int(t, 1700000000, "value");
	t = 0;
	is_int(kp_time_parse("2023-11-15T00:13:20+02:00", &t), 0, "parse +02:00");
	is_int(t, 1700000000, "offset applied");
	t = 0;
	is_int(kp_time_parse("2023-11-14T17:13:20.987654321-05:00", &t), 0, "fraction and -05:00");
	is_int(t, 1700000000, "fraction dropped, offset applied");
	t = 0;
	is_int(kp_time_parse("2023-11-14t22:13:20z", &t), 0, "lowercase t and z");
	is_int(t, 1700000000, "value");
	is_int(kp_time_parse("2024-02-29T00:00:00Z", &t), 0, "leap day 2024");
	is_int(t, 1709164800, "2024-02-29");
	is_int(kp_time_parse("1969-12-31T23:59:59Z", &t), 0, "before epoch");
	is_int(t, -1, "negative");

	static const char *const bad[] = {
		"", "2023-11-14", "2023-11-14T22:13:20", "2023-11-14 22:13:20Z",
		"2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2023-13-01T00:00:00Z",
		"2023-00-01T00:00:00Z", "2023-04-31T00:00:00Z", "2023-11-14T24:00:00Z",
		"2023-11-14T22:60:00Z", "2023-11-14T22:13:60Z", "2023-11-14T22:13:20.Z",
		"2023-11-14T22:13:20Zjunk", "2023-11-14T22:13:20+0200", "2023-11-14T22:13:20+24:00",
		"23-11-14T22:13:20Z", "2023-1-14T22:13:20Z", "+2023-11-14T22:13:20Z",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(kp_time_parse(bad[i], &t), KP_EINVAL, "refused: '%s'", bad[i]);
	is_int(kp_time_parse(NULL, &t), KP_EINVAL, "NULL refused");

	/* format and parse are inverses over a spread of instants */
	int roundtrip = 1;
	for (int64_t s = -62167219200LL; s < 253402300799LL; s += 987654321) {
		int64_t back = 0;
		if (kp_time_parse(kp_time_format(s, buf), &back) || back != s) {
			diag("roundtrip of %lld: '%s' -> %lld", (long long)s, buf, (long long)back);
			roundtrip = 0;
			break;
		}
	}
	ok(roundtrip, "format/parse round trip across years 0..9999");

	ok(kp_time_now() > 1700000000, "wall clock is after 2023");
	uint64_t a = kp_mono_ns(), b = kp_mono_ns();
	ok(a > 0 && b >= a, "monotonic clock does not go back");
}

static int uuid_shape(const char *u)
{
	if (strlen(u) != 36)
		return 0;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (u[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)u[i]) || isupper((unsigned char)u[i])) {
			return 0;
		}
	}
	return u[14] == '4' && strchr("89ab", u[19]) != NULL;
}

static void test_uuid(void)
{
	char a[37], b[37];
	int shapes = 1;

	kp_uuid4(a);
	kp_uuid4(b);
	ok(uuid_shape(a), "uuid shape (version 4, RFC 4122 variant): %s", a);
	ok(strcmp(a, b) != 0, "two uuids differ");
	for (int i = 0; i < 200; i++) {
		kp_uuid4(a);
		shapes &= uuid_shape(a);
	}
	ok(shapes, "200 uuids all well-formed");
}

/* Kubernetes keeps lastTransitionTime when only reason/message change and
 * moves it when status flips; an identical condition is no change at all. */
static void test_conditions(void)
{
	json_t *pod = json_loads("{\"status\":{\"conditions\":[{\"type\":\"Ready\","
				 "\"status\":\"True\",\"lastTransitionTime\":\"2020-01-01T00:00:00Z\"}]}}",
				 0, NULL);
	ok(kp_obj_condition(pod, "Ready") != NULL, "Ready condition found");
	ok(kp_obj_condition(pod, "PodScheduled") == NULL, "absent condition is NULL");

	is_int(kp_obj_set_condition(pod, kp_condition_new("PodScheduled", "False", "Unschedulable",
							  "0/1 nodes are available")),
	       0, "a new condition type is appended");
	is_int(json_array_size(kp_obj_get(pod, "status.conditions")), 2, "two conditions now");
	is_int(kp_obj_set_condition(pod, kp_condition_new("PodScheduled", "False", "Unschedulable",
							  "0/1 nodes are available")),
	       1, "the identical condition again is reported as no change");

	is_int(kp_obj_set_condition(pod, kp_condition_new("Ready", "True", "Better", "msg")), 0,
	       "same status, new reason: replaced");
	is_str(json_string_value(json_object_get(kp_obj_condition(pod, "Ready"), "lastTransitionTime")),
	       "2020-01-01T00:00:00Z", "same status keeps lastTransitionTime");
	is_str(json_string_value(json_object_get(kp_obj_condition(pod, "Ready"), "reason")), "Better",
	       "reason replaced");

	is_int(kp_obj_set_condition(pod, kp_condition_new("Ready", "False", NULL, NULL)), 0,
	       "status flip replaces");
	const char *ltt = json_string_value(
		json_object_get(kp_obj_condition(pod, "Ready"), "lastTransitionTime"));
	ok(ltt && strcmp(ltt, "2020-01-01T00:00:00Z") != 0, "status flip moves lastTransitionTime");
	is_int(json_array_size(kp_obj_get(pod, "status.conditions")), 2, "still two conditions");

	json_t *bare = json_object();
	is_int(kp_obj_set_condition(bare, json_pack("{s:s}", "status", "True")), KP_EINVAL,
	       "a condition without type is refused");
	is_int(kp_obj_set_condition(bare, kp_condition_new("Available", "True", NULL, NULL)), 0,
	       "conditions array created when missing");
	ok(json_is_array(kp_obj_get(bare, "status.conditions")), "status.conditions is an array");
	json_decref(bare);
	json_decref(pod);
}

int main(void)
{
	test_paths();
	test_resource_version();
	test_owner_refs();
	test_time();
	test_uuid();
	test_conditions();
	return done_testing();
}

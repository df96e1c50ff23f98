/*
 * t0004-validate: names, labels, annotations, object metadata. Expected
 * messages are Kubernetes' own text from apimachinery
 * pkg/util/validation/validation.go (RegexError joins examples as
 * "'a',  or 'b'", double space included) and field/errors.go
 * ("<field>: <Type>: <value>: <detail>").
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <kplane/kplane.h>

#include "tap.h"

#define MSG_LABEL \
	"a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
#define MSG_SUBDOMAIN \
	"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
#define MSG_1035 \
	"a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
#define MSG_QNAME \
	"must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
#define MSG_LABEL_VALUE \
	"a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void test_single_checks(void)
{
	char *a63 = repeat('a', 63), *a64 = repeat('a', 64);
	char *sub253, *sub254;

	ok(kp_check_dns1123_label("my-name") == NULL, "label my-name");
	ok(kp_check_dns1123_label("123-abc") == NULL, "label 123-abc");
	ok(kp_check_dns1123_label(a63) == NULL, "63-char label");
	is_str(kp_check_dns1123_label(a64), "must be no more than 63 characters", "64-char label");
	is_str(kp_check_dns1123_label("Foo_1"), MSG_LABEL, "label Foo_1");
	is_str(kp_check_dns1123_label("-a"), MSG_LABEL, "label starting with '-'");
	is_str(kp_check_dns1123_label("a-"), MSG_LABEL, "label ending with '-'");
	is_str(kp_check_dns1123_label("a.b"), MSG_LABEL, "label with a dot");
	is_str(kp_check_dns1123_label(""), MSG_LABEL, "empty label");
	is_str(kp_check_dns1123_label("caf\xc3\xa9"), MSG_LABEL, "non-ASCII label");

	/* 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 */
	sub253 = malloc(256);
	snprintf(sub253, 256, "%s.%s.%s.%.*s", a63, a63, a63, 61, a63);
	ok(strlen(sub253) == 253 && kp_check_dns1123_subdomain(sub253) == NULL, "253-char subdomain");
	sub254 = malloc(256);
	snprintf(sub254, 256, "%s.%s.%s.%.*s", a63, a63, a63, 62, a63);
	is_str(kp_check_dns1123_subdomain(sub254), "must be no more than 253 characters",
	       "254-char subdomain");
	ok(kp_check_dns1123_subdomain("example.com") == NULL, "example.com");
	ok(kp_check_dns1123_subdomain("a") == NULL, "single char");
	is_str(kp_check_dns1123_subdomain("Foo_1"), MSG_SUBDOMAIN, "subdomain Foo_1");
	is_str(kp_check_dns1123_subdomain("a..b"), MSG_SUBDOMAIN, "empty label in subdomain");
	is_str(kp_check_dns1123_subdomain("a.-b"), MSG_SUBDOMAIN, "label starting with '-' in subdomain");
	is_str(kp_check_dns1123_subdomain("example.com."), MSG_SUBDOMAIN, "trailing dot");

	ok(kp_check_dns1035_label("abc-123") == NULL, "1035 abc-123");
	is_str(kp_check_dns1035_label("123-abc"), MSG_1035, "1035 must start with a letter");
	is_str(kp_check_dns1035_label(a64), "must be no more than 63 characters", "1035 64 chars");

	ok(kp_check_qualified_name("app") == NULL, "qname app");
	ok(kp_check_qualified_name("MyName") == NULL, "qname MyName");
	ok(kp_check_qualified_name("my.name_x-1") == NULL, "qname with . _ -");
	ok(kp_check_qualified_name("app.kubernetes.io/name") == NULL, "qname with prefix");
	ok(kp_check_qualified_name(a63) == NULL, "63-char name part");
	is_str(kp_check_qualified_name(a64), "name part must be no more than 63 characters",
	       "64-char name part");
	is_str(kp_check_qualified_name("-x"), "name part " MSG_QNAME, "name part starting with '-'");
	is_str(kp_check_qualified_name(""), "name part must be non-empty", "empty key");
	is_str(kp_check_qualified_name("/x"), "prefix part must be non-empty", "empty prefix");
	is_str(kp_check_qualified_name("Example.com/x"), "prefix part " MSG_SUBDOMAIN,
	       "uppercase prefix");
	is_str(kp_check_qualified_name("example.com/"), "name part must be non-empty", "empty name part");
	is_str(kp_check_qualified_name("a/b/c"),
	       "a qualified name " MSG_QNAME
	       " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
	       "two slashes");

	ok(kp_check_label_value("") == NULL, "empty label value is valid");
	ok(kp_check_label_value("MyValue") == NULL, "MyValue");
	ok(kp_check_label_value("my_value") == NULL, "my_value");
	ok(kp_check_label_value("12345") == NULL, "12345");
	ok(kp_check_label_value(a63) == NULL, "63-char value");
	is_str(kp_check_label_value(a64), "must be no more than 63 characters", "64-char value");
	is_str(kp_check_label_value("a b"), MSG_LABEL_VALUE, "value with a space");
	is_str(kp_check_label_value("x."), MSG_LABEL_VALUE, "value ending with '.'");
	free(a63);
	free(a64);
	free(sub253);
	free(sub254);
}

/* The aggregate text of validating one JSON document. */
static char *meta_errors(const char *json, bool namespaced, bool name_is_label, size_t *n)
{
	json_error_t jerr;
	json_t *o = json_loads(json, 0, &jerr);
	struct kp_errlist errs = { 0 };
	char *s;

	if (!o) {
		diag("bad fixture %s: %s", json, jerr.text);
		return strdup("fixture");
	}
	kp_validate_object_meta(o, namespaced, name_is_label, &errs);
	s = kp_errlist_string(&errs);
	if (n)
		*n = errs.n;
	kp_errlist_release(&errs);
	json_decref(o);
	return s;
}

#define META_IS(json, ns, lbl, want, ...) do { \
	char *got_ = meta_errors(json, ns, lbl, NULL); \
	is_str(got_, want, __VA_ARGS__); \
	free(got_); \
} while (0)

static void test_object_meta(void)
{
	char *s;
	size_t n;

	META_IS("{\"metadata\": {\"name\": \"web\", \"namespace\": \"default\"}}", true, false, "",
		"valid namespaced object");
	META_IS("{\"metadata\": {\"name\": \"n1.example.com\"}}", false, false, "",
		"valid cluster-scoped object, dotted name");
	META_IS("{\"metadata\": {\"name\": \"Foo_1\", \"namespace\": \"default\"}}", true, false,
		"metadata.name: Invalid value: \"Foo_1\": " MSG_SUBDOMAIN, "bad name, Kubernetes' text");
	META_IS("{\"metadata\": {\"name\": \"a.b\"}}", false, true,
		"metadata.name: Invalid value: \"a.b\": " MSG_LABEL,
		"name that must be a label (namespaces, services)");
	META_IS("{\"metadata\": {\"namespace\": \"default\"}}", true, false,
		"metadata.name: Required value: name or generateName is required", "name required");
	META_IS("{\"metadata\": {\"generateName\": \"web-\", \"namespace\": \"default\"}}", true,
		false, "", "generateName with trailing '-' instead of a name");
	META_IS("{\"metadata\": {\"generateName\": \"web--\", \"namespace\": \"default\"}}", true,
		false, "", "generateName: Kubernetes masks the last two characters");
	META_IS("{\"metadata\": {\"generateName\": \"Web-\", \"namespace\": \"default\"}}", true,
		false, "metadata.generateName: Invalid value: \"Web-\": " MSG_SUBDOMAIN,
		"bad generateName");
	META_IS("{\"metadata\": {\"generateName\": \"-\", \"namespace\": \"default\"}}", true,
		false, "metadata.generateName: Invalid value: \"-\": " MSG_SUBDOMAIN,
		"a lone '-' is not masked");
	META_IS("{\"metadata\": {\"name\": \"web\"}}", true, false,
		"metadata.namespace: Required value", "namespace required");
	META_IS("{\"metadata\": {\"name\": \"n1\", \"namespace\": \"default\"}}", false, false,
		"metadata.namespace: Forbidden: not allowed on this type",
		"namespace forbidden on cluster-scoped kinds");
	META_IS("{\"metadata\": {\"name\": \"web\", \"namespace\": \"Bad_NS\"}}", true, false,
		"metadata.namespace: Invalid value: \"Bad_NS\": " MSG_LABEL, "bad namespace");
	META_IS("{\"metadata\": {\"name\": \"web\", \"namespace\": \"d\", \"generation\": -1}}", true,
		false, "metadata.generation: Invalid value: -1: must be greater than or equal to 0",
		"negative generation");
	META_IS("{}", true, false,
		"[metadata.name: Required value: name or generateName is required, "
		"metadata.namespace: Required value]",
		"no metadata: aggregate of two, in brackets");
	META_IS("{\"metadata\": 5}", true, false, "metadata: Invalid value: 5: must be of type object",
		"metadata of the wrong type");
	META_IS("{\"metadata\": {\"name\": 5}}", false, false,
		"metadata.name: Invalid value: 5: must be of type string", "name of the wrong type");

	META_IS("{\"metadata\": {\"name\": \"w\", \"labels\": {\"app\": \"web\", \"tier\": \"\"}}}",
		false, false, "", "valid labels, empty value allowed");
	META_IS("{\"metadata\": {\"name\": \"w\", \"labels\": {\"app\": "
		"\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}}}",
		false, false,
		"metadata.labels: Invalid value: "
		"\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\": "
		"must be no more than 63 characters",
		"64-char label value");
	META_IS("{\"metadata\": {\"name\": \"w\", \"labels\": {\"example.com/\": \"x\"}}}", false,
		false,
		"[metadata.labels: Invalid value: \"example.com/\": name part must be non-empty, "
		"metadata.labels: Invalid value: \"example.com/\": name part " MSG_QNAME "]",
		"empty name part gives both of Kubernetes' messages");
	META_IS("{\"metadata\": {\"name\": \"w\", \"labels\": {\"app\": 80}}}", false, false,
		"metadata.labels: Invalid value: 80: must be of type string", "label value not a string");
	META_IS("{\"metadata\": {\"name\": \"w\", \"labels\": \"app=web\"}}", false, false,
		"metadata.labels: Invalid value: \"app=web\": must be of type object",
		"labels not an object");

	META_IS("{\"metadata\": {\"name\": \"w\", \"annotations\": {\"Example.com/Note\": \"x\"}}}",
		false, false, "", "annotation keys are checked lowercased");
	META_IS("{\"metadata\": {\"name\": \"w\", \"annotations\": {\"a b\": \"x\"}}}", false, false,
		"metadata.annotations: Invalid value: \"a b\": name part " MSG_QNAME,
		"bad annotation key");

	META_IS("{\"metadata\": {\"name\": \"p\", \"ownerReferences\": [{\"apiVersion\": \"apps/v1\","
		" \"kind\": \"ReplicaSet\", \"name\": \"rs\", \"uid\": \"u1\", \"controller\": true}]}}",
		false, false, "", "valid owner reference");
	META_IS("{\"metadata\": {\"name\": \"p\", \"ownerReferences\": [{\"apiVersion\": \"apps/\","
		" \"kind\": \"ReplicaSet\", \"name\": \"rs\"}]}}",
		false, false,
		"[metadata.ownerReferences.apiVersion: Invalid value: \"apps/\": version must not be empty, "
		"metadata.ownerReferences.uid: Invalid value: \"\": uid must not be empty]",
		"owner reference without version and uid");
	META_IS("{\"metadata\": {\"name\": \"p\", \"ownerReferences\": [{}]}}", false, false,
		"[metadata.ownerReferences.apiVersion: Invalid value: \"\": version must not be empty, "
		"metadata.ownerReferences.kind: Invalid value: \"\": kind must not be empty, "
		"metadata.ownerReferences.name: Invalid value: \"\": name must not be empty, "
		"metadata.ownerReferences.uid: Invalid value: \"\": uid must not be empty]",
		"empty owner reference");
	s = meta_errors("{\"metadata\": {\"name\": \"p\", \"ownerReferences\": ["
			"{\"apiVersion\": \"apps/v1\", \"kind\": \"ReplicaSet\", \"name\": \"a\", \"uid\": \"1\", \"controller\": true},"
			"{\"apiVersion\": \"apps/v1\", \"kind\": \"ReplicaSet\", \"name\": \"b\", \"uid\": \"2\", \"controller\": true}]}}",
			false, false, &n);
	is_int(n, 1, "two controllers: one error");
	ok(s && strncmp(s, "metadata.ownerReferences: Invalid value: [", 42) == 0 &&
	   strstr(s, "]: Only one reference can have Controller set to true. Found \"true\" in "
		     "references for ReplicaSet/a and ReplicaSet/b"),
	   "two controllers: Kubernetes' message (%s)", s);
	free(s);
	s = meta_errors("{\"metadata\": {\"name\": \"p\", \"finalizers\": [\"orphan\", \"foregroundDeletion\", \"bad one\"]}}",
			false, false, &n);
	is_int(n, 2, "finalizers: bad name and conflicting pair");
	ok(s && strstr(s, "metadata.finalizers: Invalid value: \"bad one\": name part ") &&
	   strstr(s, "finalizer orphan and foregroundDeletion cannot be both set"),
	   "finalizer messages (%s)", s);
	free(s);
}

static void test_annotation_size(void)
{
	json_t *ann = json_object();
	struct kp_errlist errs = { 0 };
	char *v = repeat('x', KP_ANNOTATIONS_MAX_BYTES - 1);
	char *s;

	/* key "a" (1 byte) + value 262143 bytes = 262144: exactly the limit */
	json_object_set_new(ann, "a", json_string(v));
	kp_validate_annotations(ann, "metadata.annotations", &errs);
	is_int(errs.n, 0, "annotations of exactly 256 KiB pass");
	json_object_set_new(ann, "b", json_string(""));
	kp_validate_annotations(ann, "metadata.annotations", &errs);
	is_int(errs.n, 1, "one byte more fails");
	s = kp_errlist_string(&errs);
	is_str(s, "metadata.annotations: Too long: must have at most 262144 bytes",
	       "Kubernetes' Too long text, without the value");
	free(s);
	kp_errlist_release(&errs);
	is_int(errs.n, 0, "released list is empty");
	json_decref(ann);
	free(v);
}

static void test_errlist(void)
{
	struct kp_errlist l = { 0 };
	char *s;

	s = kp_errlist_string(&l);
	is_str(s, "", "empty list");
	free(s);
	kp_errlist_add(&l, KP_FIELD_NOT_SUPPORTED, "spec.restartPolicy", "\"Sometimes\"",
		       "supported values: %s, %s", "\"Always\"", "\"Never\"");
	s = kp_field_error_string(&l.v[0]);
	is_str(s, "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"Never\"",
	       "unsupported value");
	free(s);
	kp_errlist_add(&l, KP_FIELD_DUPLICATE, "spec.containers[1].name", "\"web\"", NULL);
	s = kp_field_error_string(&l.v[1]);
	is_str(s, "spec.containers[1].name: Duplicate value: \"web\"", "duplicate, no detail");
	free(s);
	kp_errlist_add(&l, KP_FIELD_DUPLICATE, "spec.containers[1].name", "\"web\"", NULL);
	s = kp_errlist_string(&l);
	is_str(s, "[spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"Never\", "
		  "spec.containers[1].name: Duplicate value: \"web\"]",
	       "aggregate drops the repeated message");
	free(s);
	kp_errlist_add(&l, KP_FIELD_FORBIDDEN, "spec.x", "\"v\"", "may not be set");
	s = kp_field_error_string(&l.v[3]);
	is_str(s, "spec.x: Forbidden: may not be set", "forbidden never shows the value");
	free(s);
	is_str(kp_field_err_type_string(KP_FIELD_TYPE_INVALID), "Invalid value", "type-invalid text");
	is_str(kp_field_err_type_string(KP_FIELD_TOO_LONG), "Too long", "too-long text");
	kp_errlist_release(&l);
}

int main(void)
{
	test_single_checks();
	test_object_meta();
	test_annotation_size();
	test_errlist();
	return done_testing();
}

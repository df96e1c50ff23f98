/*
 * t0005-yaml: YAML <-> JSON. Expected types follow what kubectl sees
 * through sigs.k8s.io/yaml (go-yaml v2 resolve.go, YAML 1.1): "80" quoted
 * stays a string, 80 plain is an integer, yes/on/y are booleans, 017 and
 * 0o17 are octal, 0x1F hex, integral floats reach the API as integers.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <kplane/kplane.h>

#include "tap.h"

/* Compact JSON text of a YAML stream's documents (as an array), or "ERR: msg". */
static char *load_text(const char *yaml)
{
	json_t *docs = NULL;
	char *err = NULL, *s = NULL;
	int r = kp_yaml_load(yaml, strlen(yaml), &docs, &err);

	if (r < 0) {
		if (asprintf(&s, "ERR: %s", err ? err : "(no message)") < 0)
			s = NULL;
		free(err);
		return s;
	}
	if (err)
		diag("errmsg set on success");
	s = json_dumps(docs, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(10));
	json_decref(docs);
	return s;
}

#define LOADS(yaml, want, ...) do { \
	char *got_ = load_text(yaml); \
	is_str(got_, want, __VA_ARGS__); \
	free(got_); \
} while (0)

/* The error text must start with want. */
#define LOAD_FAILS(yaml, want, ...) do { \
	char *got_ = load_text(yaml); \
	if (!ok(got_ && strncmp(got_, "ERR: " want, strlen("ERR: " want)) == 0, __VA_ARGS__)) \
		diag("got: %s\n#  want prefix: ERR: %s", got_ ? got_ : "NULL", want); \
	free(got_); \
} while (0)

static const char deployment[] =
	"# from the Kubernetes docs (Deployments), with a few typed values\n"
	"apiVersion: apps/v1\n"
	"kind: Deployment\n"
	"metadata:\n"
	"  name: nginx-deployment\n"
	"  labels:\n"
	"    app: nginx\n"
	"  annotations:\n"
	"    prometheus.io/port: \"80\"\n"
	"    prometheus.io/scrape: 'true'\n"
	"spec:\n"
	"  replicas: 3\n"
	"  selector:\n"
	"    matchLabels:\n"
	"      app: nginx\n"
	"  template:\n"
	"    metadata:\n"
	"      labels:\n"
	"        app: nginx\n"
	"    spec:\n"
	"      containers:\n"
	"      - name: nginx\n"
	"        image: nginx:1.14.2\n"
	"        ports:\n"
	"        - containerPort: 80\n"
	"        env:\n"
	"        - name: PORT\n"
	"          value: \"80\"\n"
	"        - name: EMPTY\n"
	"          value:\n"
	"        resources:\n"
	"          limits: {cpu: 500m, memory: 128Mi}\n"
	"        stdin: true\n";

static void test_manifest(void)
{
	json_t *docs = NULL, *d;
	char *err = NULL;

	is_int(kp_yaml_load(deployment, strlen(deployment), &docs, &err), 0, "deployment loads");
	is_int(json_array_size(docs), 1, "one document");
	d = json_array_get(docs, 0);
	is_str(kp_obj_kind(d), "Deployment", "kind");
	is_str(kp_obj_name(d), "nginx-deployment", "name");
	ok(json_is_integer(kp_obj_get(d, "spec.replicas")), "replicas: 3 is an integer");
	is_int(kp_obj_int(d, "spec.replicas", 0), 3, "replicas value");
	is_str(kp_obj_annotation(d, "prometheus.io/port"), "80", "quoted \"80\" stays a string");
	is_str(kp_obj_annotation(d, "prometheus.io/scrape"), "true", "single-quoted 'true' stays a string");
	json_t *c = json_array_get(kp_obj_get(d, "spec.template.spec.containers"), 0);
	is_str(kp_obj_str(c, "image"), "nginx:1.14.2", "colon without space stays in the string");
	json_t *port = kp_obj_get(json_array_get(json_object_get(c, "ports"), 0), "containerPort");
	ok(json_is_integer(port) && json_integer_value(port) == 80, "containerPort: 80 is integer 80");
	json_t *env = json_object_get(c, "env");
	is_str(kp_obj_str(json_array_get(env, 0), "value"), "80", "env value \"80\" is a string");
	ok(json_is_null(json_object_get(json_array_get(env, 1), "value")), "empty value is null");
	is_str(kp_obj_str(c, "resources.limits.cpu"), "500m", "flow mapping inside block");
	ok(kp_obj_bool(c, "stdin", false), "stdin: true is a boolean");
	/* key order is the file's */
	const char *first = NULL;
	void *it = json_object_iter(d);
	if (it)
		first = json_object_iter_key(it);
	is_str(first, "apiVersion", "first key kept first");
	json_decref(docs);
	free(err);
}

static void test_multidoc(void)
{
	LOADS("a: 1\n---\nb: 2\n", "[{\"a\":1},{\"b\":2}]", "two documents");
	LOADS("---\na: 1\n---\n---\n# only a comment\n---\nb: 2\n...\n", "[{\"a\":1},{\"b\":2}]",
	      "empty and comment-only documents skipped");
	LOADS("", "[]", "empty stream");
	LOADS("# nothing\n", "[]", "comment-only stream");
	LOADS("---\n~\n---\nnull\n", "[]", "null documents skipped");
	LOADS("--- [1, 2]\n--- x\n", "[[1,2],\"x\"]", "non-object documents");
	LOADS("apiVersion: v1\nkind: Service\n---\napiVersion: v1\nkind: Pod\n",
	      "[{\"apiVersion\":\"v1\",\"kind\":\"Service\"},{\"apiVersion\":\"v1\",\"kind\":\"Pod\"}]",
	      "typical kubectl apply -f file");
}

static void test_scalars(void)
{
	static const struct {
		const char *yaml, *json, *what;
	} cases[] = {
		{ "80", "80", "plain integer" },
		{ "\"80\"", "\"80\"", "double-quoted digits" },
		{ "'80'", "\"80\"", "single-quoted digits" },
		{ "-12", "-12", "negative integer" },
		{ "+12", "12", "explicit plus" },
		{ "true", "true", "true" },
		{ "True", "true", "True" },
		{ "FALSE", "false", "FALSE" },
		{ "yes", "true", "yes (YAML 1.1)" },
		{ "No", "false", "No" },
		{ "on", "true", "on" },
		{ "OFF", "false", "OFF" },
		{ "y", "true", "y (go-yaml v2)" },
		{ "N", "false", "N" },
		{ "yEs", "\"yEs\"", "mixed case is a string" },
		{ "~", "null", "~" },
		{ "null", "null", "null" },
		{ "Null", "null", "Null" },
		{ "", "null", "empty value" },
		{ "1.5", "1.5", "float" },
		{ ".5", "0.5", "leading dot float" },
		{ "-2.5e-3", "-0.0025", "float with exponent" },
		{ "1e3", "1000", "1e3 reaches JSON as 1000" },
		{ "1.0", "1", "integral float becomes an integer" },
		{ "1.", "1", "trailing dot" },
		{ "08", "8", "08: not octal, read as float 8" },
		{ "0x1F", "31", "hex" },
		{ "0X1f", "31", "hex, upper X" },
		{ "-0x10", "-16", "negative hex" },
		{ "0o17", "15", "0o octal" },
		{ "017", "15", "leading-zero octal" },
		{ "0b101", "5", "binary" },
		{ "1_000", "1000", "underscores dropped" },
		{ "0", "0", "zero" },
		{ "9223372036854775807", "9223372036854775807", "int64 max" },
		{ "-9223372036854775808", "-9223372036854775808", "int64 min" },
		{ "9223372036854775808", "9.223372037e18", "beyond int64: a real" },
		{ "1e400", "\"1e400\"", "float overflow stays a string (Go ParseFloat fails)" },
		{ "0x", "\"0x\"", "bare 0x" },
		{ "1:20", "\"1:20\"", "sexagesimal is a string" },
		{ "2001-12-14", "\"2001-12-14\"", "timestamp stays a string" },
		{ "2001-12-14T21:59:43.10-05:00", "\"2001-12-14T21:59:43.10-05:00\"", "datetime string" },
		{ "500m", "\"500m\"", "quantity is a string" },
		{ "1Gi", "\"1Gi\"", "binary quantity is a string" },
		{ "nginx:1.25", "\"nginx:1.25\"", "image reference" },
		{ "hello world", "\"hello world\"", "plain words" },
		{ "!!str 80", "\"80\"", "!!str tag" },
		{ "!!int \"80\"", "80", "!!int on a quoted scalar" },
		{ "!!bool \"yes\"", "true", "!!bool" },
		{ "!!null ''", "null", "!!null" },
		{ "!!float 2.5", "2.5", "!!float" },
		{ "! 80", "\"80\"", "non-specific tag makes a string" },
		{ "!custom 80", "\"80\"", "unknown tag leaves a string" },
		{ "|\n  line1\n  line2\n", "\"line1\\nline2\\n\"", "literal block" },
		{ "|-\n  line1\n  line2\n", "\"line1\\nline2\"", "literal block, strip" },
		{ ">\n  folded\n  text\n", "\"folded text\\n\"", "folded block" },
		{ "|\n  80\n", "\"80\\n\"", "block scalars are strings" },
		{ "\"tab\\there\"", "\"tab\\there\"", "escape in double quotes" },
		{ "'it''s'", "\"it's\"", "single-quote escape" },
		{ "[1, \"2\", three, {a: b}]", "[1,\"2\",\"three\",{\"a\":\"b\"}]", "flow sequence" },
		{ "{}", "{}", "empty flow mapping" },
		{ "[]", "[]", "empty flow sequence" },
		{ "\"caf\xc3\xa9\"", "\"caf\xc3\xa9\"", "UTF-8 kept" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *yaml = NULL, *want = NULL;
		if (asprintf(&yaml, "v: %s\n", cases[i].yaml) < 0 ||
		    asprintf(&want, "[{\"v\":%s}]", cases[i].json) < 0)
			return;
		char *got = load_text(yaml);
		is_str(got, want, "scalar %s: %s", cases[i].what,
		       strchr(cases[i].yaml, '\n') ? "(block)" : cases[i].yaml);
		free(got);
		free(yaml);
		free(want);
	}

	json_t *docs = NULL;
	kp_yaml_load("a: 1.5\nb: 9223372036854775808\n", 30, &docs, NULL);
	ok(json_is_real(kp_obj_get(json_array_get(docs, 0), "a")), "1.5 is a real");
	ok(json_is_real(kp_obj_get(json_array_get(docs, 0), "b")), "2^63 is a real");
	json_decref(docs);
}

static void test_keys_anchors(void)
{
	LOADS("80: a\n\"81\": b\ntrue: c\nyes: d\n1.5: e\n0x10: f\n", "ERR: line 4, column 1: duplicate mapping key \"true\"",
	      "yes: and true: are the same key");
	LOADS("80: a\n\"81\": b\non: c\n1.5: e\n0x10: f\n1e3: g\n",
	      "[{\"80\":\"a\",\"81\":\"b\",\"true\":\"c\",\"1.5\":\"e\",\"16\":\"f\",\"1000\":\"g\"}]",
	      "scalar keys become strings as in sigs.k8s.io/yaml");
	LOAD_FAILS("~: a\n", "line 1, column 1: unsupported map key: null", "null key");
	LOAD_FAILS("? [a, b]\n: c\n", "line 1, column 3: mapping keys must be scalars, not a sequence",
		   "sequence key");
	LOAD_FAILS("{a: 1}: x\n", "line 1, column 1: mapping keys must be scalars, not a mapping",
		   "mapping key");
	LOAD_FAILS("metadata:\n  name: a\n  labels: {}\n  name: b\n",
		   "line 4, column 3: duplicate mapping key \"name\"", "duplicate key, with position");
	LOAD_FAILS("a: 1\n\"a\": 2\n", "line 2, column 1: duplicate mapping key \"a\"",
		   "quoted duplicate is still a duplicate");

	LOADS("base: &b {cpu: 1, memory: 2Gi}\nlimits: *b\n",
	      "[{\"base\":{\"cpu\":1,\"memory\":\"2Gi\"},\"limits\":{\"cpu\":1,\"memory\":\"2Gi\"}}]",
	      "anchor and alias");
	LOADS("- &x 80\n- *x\n- &x two\n- *x\n", "[[80,80,\"two\",\"two\"]]", "anchors can be redefined");
	LOADS("defaults: &d {a: 1, b: 2}\nitem:\n  b: 3\n  <<: *d\n  c: 4\n",
	      "[{\"defaults\":{\"a\":1,\"b\":2},\"item\":{\"b\":3,\"c\":4,\"a\":1}}]",
	      "merge key: explicit keys win, merged keys appended");
	LOADS("p: &x {a: 1}\nq: &y {a: 2, b: 2}\nr:\n  <<: [*x, *y]\n",
	      "[{\"p\":{\"a\":1},\"q\":{\"a\":2,\"b\":2},\"r\":{\"a\":1,\"b\":2}}]",
	      "merge list: earlier maps win");
	LOAD_FAILS("a: &a 1\nb:\n  <<: *a\n", "line 3, column 3: map merge requires map or sequence of maps",
		   "merge of a scalar");
	LOAD_FAILS("a: *nope\n", "line 1, column 4: unknown anchor 'nope' referenced", "unknown alias");
	LOADS("k: &k key\n*k : v\n", "[{\"k\":\"key\",\"key\":\"v\"}]", "alias as a key");

	/* anchors are copied: changing one place must not change the other */
	json_t *docs = NULL;
	const char *y = "a: &x {num: 1}\nb: *x\n";
	kp_yaml_load(y, strlen(y), &docs, NULL);
	json_t *d = json_array_get(docs, 0);
	kp_obj_set(d, "b.num", json_integer(2));
	is_int(kp_obj_int(d, "a.num", 0), 1, "alias is a copy, not a shared node");
	LOADS("y: 1\nn: 2\n", "[{\"true\":1,\"false\":2}]", "keys y and n are booleans in go-yaml v2");
	json_decref(docs);

	/* billion laughs: 9 copies per level; the sixth level copies ~600k nodes */
	const char *bomb =
		"a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
		"b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
		"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
		"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
		"f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
		"g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n";
	LOAD_FAILS(bomb, "line 6, column ", "alias bomb refused");
	char *got = load_text(bomb);
	ok(got && strstr(got, "aliases to more than 100000 nodes"), "alias bomb message: %s", got);
	free(got);

	char deep[700];
	memset(deep, '[', 300);
	memset(deep + 300, ']', 300);
	deep[600] = '\0';
	LOAD_FAILS(deep, "line 1, column 258: nesting deeper than 256 levels", "deep nesting refused");
}

static void test_errors(void)
{
	LOAD_FAILS("a: [1, 2\n", "line 2, column 1: did not find expected ',' or ']'", "unterminated flow sequence");
	LOAD_FAILS("a:\n\tb: 1\n", "line 2, column 1: found character that cannot start any token",
		   "tab indentation");
	LOAD_FAILS("a: b: c\n", "line 1, column 5: mapping values are not allowed in this context",
		   "mapping value in a plain scalar");
	LOAD_FAILS("a: \"unterminated\n", "line 2, column 1: found unexpected end of stream",
		   "truncated quoted string");
	LOAD_FAILS("spec:\n  replicas: 1\n foo: 2\n", "line 3, column 2: did not find expected key",
		   "bad indentation");
	LOAD_FAILS("a: 1\nb: .inf\n", "line 2, column 4: .inf (infinity or NaN) cannot be represented in JSON",
		   ".inf");
	LOAD_FAILS("- -.Inf\n", "line 1, column 3: -.Inf", "-.Inf");
	LOAD_FAILS("x: .NaN\n", "line 1, column 4: .NaN", ".NaN");
	LOAD_FAILS("x: !!int 1.5\n", "line 1, column 4: cannot decode `1.5` as a !!int", "!!int mismatch");
	LOAD_FAILS("x: !!bool maybe\n", "line 1, column 4: cannot decode `maybe` as a !!bool", "!!bool mismatch");
	LOAD_FAILS("a: 1\nb: \xff\n", "line 2: invalid", "invalid UTF-8");

	json_t *out = (json_t *)1;
	is_int(kp_yaml_load("a: [", 4, &out, NULL), KP_EINVAL, "NULL errmsg allowed");
	ok(out == NULL, "*out NULL on failure");
	/* not NUL-terminated: only len bytes are read */
	char *got;
	json_t *docs = NULL;
	is_int(kp_yaml_load("a: 1\nb: [", 5, &docs, NULL), 0, "len bounds the input");
	got = json_dumps(docs, JSON_COMPACT);
	is_str(got, "[{\"a\":1}]", "only the first len bytes parsed");
	free(got);
	json_decref(docs);
}

static void test_load_one(void)
{
	json_t *v = NULL;
	char *err = NULL;
	const char *s;

	s = "  \n{\"kind\": \"Pod\", \"spec\": {\"port\": 80}}";
	is_int(kp_yaml_or_json_load_one(s, strlen(s), &v, &err), 0, "JSON body");
	is_str(kp_obj_kind(v), "Pod", "JSON parsed");
	json_decref(v);
	s = "kind: Pod\nspec:\n  port: \"80\"\n";
	is_int(kp_yaml_or_json_load_one(s, strlen(s), &v, &err), 0, "YAML body");
	is_str(kp_obj_str(v, "spec.port"), "80", "YAML parsed");
	json_decref(v);
	s = "[1, 2]";
	is_int(kp_yaml_or_json_load_one(s, strlen(s), &v, &err), 0, "JSON array body");
	is_int(json_array_size(v), 2, "array");
	json_decref(v);

	s = "{\n  \"a\": 1,\n  \"b\": \n}";
	is_int(kp_yaml_or_json_load_one(s, strlen(s), &v, &err), KP_EINVAL, "bad JSON");
	ok(err && strncmp(err, "line 4, column 1: ", 18) == 0, "JSON error position: %s", err);
	free(err);
	err = NULL;
	s = "\n\n{\"a\": 1,\n\"a\": 2}";
	is_int(kp_yaml_or_json_load_one(s, strlen(s), &v, &err), KP_EINVAL, "JSON duplicate key");
	ok(err && strncmp(err, "line 4, column ", 15) == 0 && strstr(err, "duplicate"),
	   "duplicate reported on the whole body's line 4: %s", err);
	free(err);
	err = NULL;
	s = "a: 1\n---\nb: 2\n";
	is_int(kp_yaml_or_json_load_one(s, strlen(s), &v, &err), KP_EINVAL, "two documents");
	is_str(err, "found 2 YAML documents, expected one", "message");
	free(err);
	err = NULL;
	is_int(kp_yaml_or_json_load_one("\n# c\n", 5, &v, &err), KP_EINVAL, "no document");
	ok(err != NULL, "message for an empty body");
	free(err);
	err = NULL;
	s = "a:\n  - b\n  c: d\n";
	is_int(kp_yaml_or_json_load_one(s, strlen(s), &v, &err), KP_EINVAL, "bad YAML");
	ok(err && strncmp(err, "line 3, column 3: ", 18) == 0, "YAML error position: %s", err);
	free(err);
}

static char *dump(const json_t *v)
{
	char *out = NULL;
	size_t len = 0;

	if (kp_yaml_dump(v, &out, &len) < 0)
		return NULL;
	if (strlen(out) != len)
		diag("length mismatch");
	return out;
}

static void test_dump(void)
{
	json_error_t jerr;
	json_t *pod = json_loads(
		"{\"apiVersion\": \"v1\", \"kind\": \"Pod\","
		" \"metadata\": {\"name\": \"web\", \"labels\": {\"app\": \"web\"},"
		"   \"annotations\": {\"port\": \"80\", \"enabled\": \"true\", \"empty\": \"\", \"on\": \"yes\"}},"
		" \"spec\": {\"containers\": [{\"name\": \"nginx\", \"image\": \"nginx:1.25\","
		"   \"ports\": [{\"containerPort\": 80}], \"args\": [\"line1\\nline2\\n\", \"a: b\", \"- x\"]}],"
		"   \"nodeSelector\": {}, \"tolerations\": [], \"priority\": null, \"weight\": 0.5,"
		"   \"hostNetwork\": false}}",
		0, &jerr);
	const char *want =
		"apiVersion: v1\n"
		"kind: Pod\n"
		"metadata:\n"
		"  name: web\n"
		"  labels:\n"
		"    app: web\n"
		"  annotations:\n"
		"    port: \"80\"\n"
		"    enabled: \"true\"\n"
		"    empty: \"\"\n"
		"    \"on\": \"yes\"\n"
		"spec:\n"
		"  containers:\n"
		"  - name: nginx\n"
		"    image: nginx:1.25\n"
		"    ports:\n"
		"    - containerPort: 80\n"
		"    args:\n"
		"    - |\n"
		"      line1\n"
		"      line2\n"
		"    - 'a: b'\n"
		"    - '- x'\n"
		"  nodeSelector: {}\n"
		"  tolerations: []\n"
		"  priority: null\n"
		"  weight: 0.5\n"
		"  hostNetwork: false\n";
	char *got = dump(pod);

	is_str(got, want, "pod dumped as kubectl-style block YAML");
	json_t *back = NULL;
	is_int(kp_yaml_load(got, strlen(got), &back, NULL), 0, "dump reads back");
	ok(json_equal(json_array_get(back, 0), pod), "and equals the original");
	json_decref(back);
	free(got);
	json_decref(pod);

	json_t *v = json_string("plain");
	got = dump(v);
	is_str(got, "plain\n", "top-level scalar, no document markers");
	free(got);
	json_decref(v);
	v = json_integer(-7);
	got = dump(v);
	is_str(got, "-7\n", "top-level integer");
	free(got);
	json_decref(v);
	v = json_real(1e21);
	got = dump(v);
	is_str(got, "1e+21\n", "large real keeps an exponent");
	free(got);
	json_decref(v);

	/* every string comes back as itself, whatever plain YAML would make of it */
	static const char *const strs[] = {
		"", " ", "a ", " a", "-", "- a", "-a", "#x", "a #b", "a#b", "@x", "`x", "%x", "!x",
		"&x", "*x", "|", ">", "?", "? a", ",", "[", "]", "{", "}", "'", "\"", "a: b", "a:b",
		":", "a:", "\n", "\nx", "x\n", "x\n\n", "  x\ny", "a\tb", "a \nb", "caf\xc3\xa9",
		"~", "null", "Null", "NULL", "y", "Y", "n", "no", "on", "OFF", "1", "-1", "+1",
		"1.5", ".5", "1e3", "1E3", "0x1F", "0o17", "017", "08", "1_000", ".inf", ".nan",
		"-.inf", "<<", "=", "2001-12-14", "1:20", "0b101", "---", "...", "--- a", "a\r\nb",
		"\x01", "x\x7f", "1.", "+", ".", "0.", "9223372036854775808", "true", "False",
	};
	int all = 1;
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		json_t *o = json_pack("{s:s, s:[s], s:s}", "v", strs[i], "l", strs[i], strs[i], "k");
		char *d = dump(o);
		json_t *b = NULL;
		char *err = NULL;
		if (!d || kp_yaml_load(d, strlen(d), &b, &err) < 0 ||
		    !json_equal(json_array_get(b, 0), o)) {
			diag("string '%s' did not round-trip: %s / %s", strs[i], d ? d : "(dump failed)",
			     err ? err : "");
			all = 0;
		}
		free(err);
		free(d);
		json_decref(b);
		json_decref(o);
	}
	ok(all, "%zu tricky strings round-trip as values, list items and keys",
	   sizeof(strs) / sizeof(strs[0]));

	/* the deployment fixture survives load -> dump -> load */
	json_t *docs = NULL, *docs2 = NULL;
	kp_yaml_load(deployment, strlen(deployment), &docs, NULL);
	got = dump(json_array_get(docs, 0));
	kp_yaml_load(got ? got : "", got ? strlen(got) : 0, &docs2, NULL);
	ok(json_equal(docs, docs2), "deployment round-trips through dump");
	free(got);
	json_decref(docs);
	json_decref(docs2);

	is_int(kp_yaml_dump(NULL, &got, NULL), KP_EINVAL, "NULL value refused");
}

int main(void)
{
	test_manifest();
	test_multidoc();
	test_scalars();
	test_keys_anchors();
	test_errors();
	test_load_one();
	test_dump();
	return done_testing();
}

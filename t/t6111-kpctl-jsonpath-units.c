/*
 * t6111-kpctl-jsonpath-units - kpctl's JSONPath engine and Go value
 * formatting offline, and edit's two-way merge patch. Expected values are
 * worked out by hand from client-go's jsonpath semantics, Go's fmt %v /
 * encoding/json number rules and RFC 7386.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/error.h>

#include "cli/kpctl/jsonpath.h"
#include "cli/kpctl/patch.h"
#include "t/tap.h"

static const char *doc_text =
	"{\"kind\":\"List\",\"items\":["
	"{\"metadata\":{\"name\":\"a\",\"labels\":{\"app\":\"web\",\"x.io/n\":\"1\"}},"
	" \"spec\":{\"n\":3,\"r\":0.5,\"c\":[{\"name\":\"c1\",\"image\":\"i1\"},{\"name\":\"c2\",\"image\":\"i2\"}]}},"
	"{\"metadata\":{\"name\":\"b\",\"labels\":{\"app\":\"db\"}},"
	" \"spec\":{\"n\":1,\"r\":1e6,\"c\":[{\"name\":\"c3\",\"image\":\"<i&3>\"}]}}]}";

/* Runs tmpl on doc; returns the text (static buffer) or "ERR: message". */
static const char *run(const json_t *doc, const char *tmpl)
{
	static char out[2048];
	struct kpc_jsonpath *jp = NULL;
	char *em = NULL, *b = NULL;
	size_t bl = 0;
	if (kpc_jsonpath_parse(tmpl, &jp, &em)) {
		snprintf(out, sizeof(out), "ERR: %s", em ? em : "?");
		free(em);
		return out;
	}
	FILE *m = open_memstream(&b, &bl);
	int rc = kpc_jsonpath_exec(jp, doc, true, m, &em);
	fclose(m);
	if (rc)
		snprintf(out, sizeof(out), "ERR: %s", em ? em : "?");
	else
		snprintf(out, sizeof(out), "%s", b ? b : "");
	free(em);
	free(b);
	kpc_jsonpath_free(jp);
	return out;
}

static void test_templates(void)
{
	json_t *doc = json_loads(doc_text, 0, NULL);
	static const struct { const char *tmpl, *want; } cases[] = {
		{ "{.kind}", "List" },
		{ "{.items[*].metadata.name}", "a b" },
		{ "x={.items[0].spec.n}!", "x=3!" },
		{ "{.items[-1].metadata.name}", "b" },
		{ "{.items[0].spec.c[0:1].name}", "c1" },
		{ "{.items[0].spec.c[::2].name}", "c1" },
		{ "{.items[1,0].metadata.name}", "b a" },
		{ "{.items[0].spec.c[*]['name','image']}", "c1 c2 i1 i2" },
		{ "{range .items[*]}{.metadata.name}:{.spec.n}{\"\\n\"}{end}", "a:3\nb:1\n" },
		{ "{range.items[*]}{.metadata.name} {end }", "a b " },
		{ "{range .items[*]}[{range .spec.c[*]}{.name},{end}]{end}", "[c1,c2,][c3,]" },
		{ "{.items[?(@.spec.n>2)].metadata.name}", "a" },
		{ "{.items[?(@.spec.n<=1)].metadata.name}", "b" },
		{ "{.items[?(@.metadata.labels.app==\"db\")].metadata.name}", "b" },
		{ "{.items[?(@.metadata.labels.app!='db')].metadata.name}", "a" },
		{ "{.items[?(@.metadata.labels.x\\.io/n)].metadata.name}", "a" },
		{ "{..image}", "i1 i2 <i&3>" },
		{ "{$.kind}{@.kind}", "ListList" },
		{ "{.items[0].metadata.labels}", "{\"app\":\"web\",\"x.io/n\":\"1\"}" },
		{ "{.items[1].spec.c[0]}", "{\"image\":\"\\u003ci\\u00263\\u003e\",\"name\":\"c3\"}" },
		{ "{.items[0].spec.r} {.items[1].spec.r}", "0.5 1e+06" },
		{ "{.nothing}|{.items[0].nothing.deeper}|{.kind.x}", "||" },
		{ "{.items[5]}", "ERR: array index out of bounds: index 5, length 2" },
		{ "{.items[x]}", "ERR: invalid array index x" },
		{ "{.kind", "ERR: unclosed action" },
		{ "{end}", "ERR: not in range, nothing to end" },
		{ "{range .items[*]}", "ERR: unclosed range" },
		{ "{.items[*][\"name\"]}", "ERR: invalid array index \"name\"" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_str(run(doc, cases[i].tmpl), cases[i].want, "template %s", cases[i].tmpl);
	json_decref(doc);
}

static void test_find_and_relaxed(void)
{
	json_t *doc = json_loads(doc_text, 0, NULL), *res = NULL;
	struct kpc_jsonpath *jp = NULL;
	char *em = NULL, *t;
	ok(!kpc_jsonpath_parse("{.items[*].spec.n}", &jp, &em), "parse a column expression");
	ok(!kpc_jsonpath_find(jp, doc, true, &res, &em) && json_array_size(res) == 2 &&
	   json_integer_value(json_array_get(res, 1)) == 1, "find returns every value");
	json_decref(res);
	kpc_jsonpath_free(jp);
	static const struct { const char *in, *want; } rel[] = {
		{ ".metadata.name", "{.metadata.name}" }, { "metadata.name", "{.metadata.name}" },
		{ "{.metadata.name}", "{.metadata.name}" }, { "{metadata.name}", "{.metadata.name}" },
		{ "{{.x}}", NULL }, { "a{b", NULL },
	};
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		t = kpc_jsonpath_relaxed(rel[i].in, &em);
		if (rel[i].want)
			is_str(t, rel[i].want, "relaxed %s", rel[i].in);
		else
			ok(!t && em && strstr(em, "unexpected path string"), "relaxed %s refused", rel[i].in);
		free(t);
		free(em);
		em = NULL;
	}
	json_decref(doc);
}

static void test_go_values(void)
{
	static const struct { double d; const char *want; } fl[] = {
		{ 0.5, "0.5" }, { 100.25, "100.25" }, { -3.75, "-3.75" }, { 123456, "123456" },
		{ 1e6, "1e+06" }, { 1234567, "1.234567e+06" }, { 0.0001, "0.0001" }, { 0.00001, "1e-05" },
		{ 2.5e-7, "2.5e-07" }, { 1e21, "1e+21" }, { 0.1, "0.1" },
	};
	char buf[64];
	for (size_t i = 0; i < sizeof(fl) / sizeof(fl[0]); i++) {
		kpc_go_float(fl[i].d, buf, sizeof(buf));
		is_str(buf, fl[i].want, "Go %%v of %g", fl[i].d);
	}
	json_t *v = json_loads("{\"b\":[1,\"x\",null],\"a\":true,\"c\":{}}", 0, NULL);
	char *s = kpc_go_format(v);
	is_str(s, "map[a:true b:[1 x <nil>] c:map[]]", "Go %%v of a map");
	free(s);
	json_decref(v);

	json_t *n1 = json_integer(2), *n2 = json_real(10.5), *s1 = json_string("p10"), *s2 = json_string("p2");
	ok(kpc_value_cmp(n1, n2) < 0, "numbers by value (2 < 10.5)");
	ok(kpc_value_cmp(s1, s2) < 0, "strings byte by byte (p10 < p2)");
	ok(kpc_value_cmp(NULL, n1) < 0 && kpc_value_cmp(n1, NULL) > 0, "missing values first");
	ok(kpc_value_cmp(json_false(), json_true()) < 0, "false before true");
	json_decref(n1);
	json_decref(n2);
	json_decref(s1);
	json_decref(s2);
}

static void test_merge_patch_create(void)
{
	json_t *o = json_loads("{\"a\":1,\"b\":{\"c\":2,\"d\":3},\"l\":[1],\"k\":\"same\"}", 0, NULL);
	json_t *m = json_loads("{\"a\":1,\"b\":{\"c\":2},\"l\":[1,2],\"n\":\"x\",\"k\":\"same\"}", 0, NULL);
	json_t *p = kpc_merge_patch_create(o, m);
	char *s = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
	is_str(s, "{\"b\":{\"d\":null},\"l\":[1,2],\"n\":\"x\"}", "two-way merge patch: removed -> null, lists whole");
	free(s);
	json_decref(p);
	p = kpc_merge_patch_create(o, o);
	ok(p && json_object_size(p) == 0, "no change -> empty patch");
	json_decref(p);
	/* applying the patch to the original gives the modified object */
	p = kpc_merge_patch_create(o, m);
	json_t *c = json_deep_copy(o);
	kpc_merge_patch_apply(c, p);
	ok(json_equal(c, m), "original + patch == modified");
	json_decref(c);
	json_decref(p);
	json_decref(o);
	json_decref(m);
}

int main(void)
{
	test_templates();
	test_find_and_relaxed();
	test_go_values();
	test_merge_patch_create();
	return done_testing();
}

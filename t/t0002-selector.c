/*
 * t0002-selector: label selector strings and objects, node selectors and
 * field selectors. Cases and expected results follow Kubernetes'
 * labels/selector_test.go (TestSelectorParse, TestSelectorMatches,
 * TestToString, TestSetSelectorParser, TestRequirementConstructor), the
 * nodeaffinity rules and fields.ParseSelector; each was checked by hand
 * against those rules, not taken from this code's output.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <kplane/error.h>
#include <kplane/selector.h>

#include "tap.h"

static json_t *J(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &e);
	if (!j)
		diag("bad test JSON %s: %s", text, e.text);
	return j;
}

/* s with control characters shown as \xNN, so TAP lines stay whole. */
static const char *esc(const char *s)
{
	static char bufs[2][256];
	static int which;
	char *b = bufs[which ^= 1];
	size_t o = 0;

	for (; *s && o < sizeof(bufs[0]) - 5; s++) {
		if ((unsigned char)*s < 0x20)
			o += (size_t)snprintf(b + o, 5, "\\x%02x", (unsigned char)*s);
		else
			b[o++] = *s;
	}
	b[o] = '\0';
	return b;
}

/* Parses and prints back; "ERR" on failure. Caller frees. */
static char *restring(const char *s)
{
	struct kp_label_selector *sel;
	char *err = NULL, *out;

	if (kp_label_selector_parse(s, &sel, &err) < 0) {
		diag("parse of '%s' failed: %s", esc(s), err ? err : "?");
		free(err);
		return strdup("ERR");
	}
	out = kp_label_selector_string(sel);
	kp_label_selector_free(sel);
	return out;
}

static void test_parse_good(void)
{
	static const struct { const char *in, *out; } t[] = {
		{ "x=a,y=b,z=c", "x=a,y=b,z=c" },
		{ "", "" },
		{ "x!=a,y=b", "x!=a,y=b" },
		{ "x=", "x=" },
		{ "x= ", "x=" },
		{ "x=,z= ", "x=,z=" },
		{ "x= ,z= ", "x=,z=" },
		{ "!x", "!x" },
		{ "x>1", "x>1" },
		{ "x>1,z<5", "x>1,z<5" },
		{ "x=a,a=x", "a=x,x=a" },
		{ "x==a", "x=a" },
		{ "a=b,c!=d,e in (x,y),f notin (z),g,!h", "a=b,c!=d,e in (x,y),f notin (z),g,!h" },
		{ "!h,g,f notin (z),e in (y,x),c!=d,a=b", "a=b,c!=d,e in (x,y),f notin (z),g,!h" },
		{ "x in (b,a,a)", "x in (a,b)" },
		{ "x in ()", "x in ()" },
		{ "x in (abc,)", "x in (,abc)" },
		{ "x in (,abc)", "x in (,abc)" },
		{ "x notin (abc,def),bar,z in (),w", "bar,w,x notin (abc,def),z in ()" },
		{ "\rx", "x" },
		{ "foo  in\t (abc)", "foo in (abc)" },
		{ "x notin\n (abc)", "x notin (abc)" },
		{ "this-is-a-dns.domain.com/key-with-dash", "this-is-a-dns.domain.com/key-with-dash" },
		{ "0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
		  "0.1.2.domain/99 notin (10.10.100.1,tick.tack.clock)" },
		{ "in in (in,notin)", "in in (in,notin)" },
		{ "notin=in", "notin=in" },
		{ "z,!z", "z,!z" },
		{ "1234 in (bar)", "1234 in (bar)" },
		{ "example.com/My_Name.x=Val_1", "example.com/My_Name.x=Val_1" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char *s = restring(t[i].in);
		is_str(s, t[i].out, "restring '%s'", esc(t[i].in));
		free(s);
	}
}

static void test_parse_bad(void)
{
	static const struct { const char *in, *has; } t[] = {
		{ "x=a||y=b", "x=a||y=b" },
		{ "x==a==b", "column 5" },
		{ "!x=a", "expected: ',' or end of string" },
		{ "x<a", "must be an integer" },
		{ "x>1.5", "must be an integer" },
		{ "x>-3", "values[0]: Invalid value: \"-3\"" }, /* values are label values too */
		{ "x>99999999999999999999", "must be an integer" },
		{ "x in (a", "column 8: found end of string, expected: ',' or ')'" },
		{ "x in a", "expected: '('" },
		{ "x in (a b)", "found 'b'" },
		{ "x in (a)(", "found '('" },
		{ ",x", "column 1" },
		{ "x,", "identifier after ','" },
		{ "x y", "found 'y', expected: in, notin" },
		{ "=a", "found '='" },
		{ "x=(a)", "found '('" },
		{ "!", "expected: identifier" },
		{ "!!x", "found '!'" },
		{ "x!", "found '!'" },
		{ "-a", "name part" },
		{ "a/b/c", "qualified name" },
		{ "example.com/", "name part must be non-empty" },
		{ "/a", "prefix part must be non-empty" },
		{ "Example.com/a", "prefix part" },
		{ "a..b/c", "prefix part" },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  "no more than 63 characters" },
		{ "x=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  "values[0]: Invalid value" },
		{ "x=-bad", "a valid label must be an empty string" },
		{ "x in (ok,bad_)", "values[0]" },
		{ "x=a\"b", "\\\"" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct kp_label_selector *sel = (void *)1;
		char *err = NULL;
		int rc = kp_label_selector_parse(t[i].in, &sel, &err);
		is_int(rc, KP_EINVAL, "'%s' is rejected", t[i].in);
		ok(sel == NULL, "no selector returned for '%s'", t[i].in);
		ok(err && strstr(err, t[i].has), "message for '%s' says '%s': %s", t[i].in, t[i].has,
		   err ? err : "(null)");
		free(err);
	}
	/* A key of 254 characters breaks the 253 limit of the prefix. */
	char key[300];
	memset(key, 'a', 253);
	strcpy(key + 253, "a/b");
	struct kp_label_selector *sel;
	is_int(kp_label_selector_parse(key, &sel, NULL), KP_EINVAL, "254-byte prefix rejected");
	key[253] = '\0';
	memcpy(key + 252, "/b", 3);
	is_int(kp_label_selector_parse(key, &sel, NULL), 0, "252-byte prefix accepted");
	kp_label_selector_free(sel);
}

static bool matches(const char *sel_text, const char *labels_json)
{
	struct kp_label_selector *sel;
	json_t *labels = labels_json ? J(labels_json) : NULL;
	bool m;

	if (kp_label_selector_parse(sel_text, &sel, NULL) < 0) {
		diag("cannot parse %s", sel_text);
		json_decref(labels);
		return false;
	}
	m = kp_label_selector_matches(sel, labels);
	kp_label_selector_free(sel);
	json_decref(labels);
	return m;
}

static void test_match(void)
{
	static const struct { const char *sel, *labels; bool want; } t[] = {
		{ "", "{\"x\":\"y\"}", true },
		{ "x=y", "{\"x\":\"y\"}", true },
		{ "x=y,z=w", "{\"x\":\"y\",\"z\":\"w\"}", true },
		{ "x!=y,z!=w", "{\"x\":\"z\",\"z\":\"a\"}", true },
		{ "notin=in", "{\"notin\":\"in\"}", true },
		{ "x", "{\"x\":\"z\"}", true },
		{ "!x", "{\"y\":\"z\"}", true },
		{ "x>1", "{\"x\":\"2\"}", true },
		{ "x<1", "{\"x\":\"0\"}", true },
		{ "x=z", "{}", false },
		{ "x=y", "{\"x\":\"z\"}", false },
		{ "x=y,z=w", "{\"x\":\"w\",\"z\":\"w\"}", false },
		{ "x!=y,z!=w", "{\"x\":\"z\",\"z\":\"w\"}", false },
		{ "x", "{\"y\":\"z\"}", false },
		{ "!x", "{\"x\":\"z\"}", false },
		{ "x>1", "{\"x\":\"0\"}", false },
		{ "x<1", "{\"x\":\"2\"}", false },
		{ "foo=bar,foobar=bar,baz=blah", "{\"foo\":\"bar\",\"baz\":\"blah\"}", false },
		{ "foo=bar,baz=blah", "{\"foo\":\"bar\",\"baz\":\"blah\"}", true },
		/* TestRequirementSelectorMatching */
		{ "x in (foo),y notin (alpha)", "{\"x\":\"foo\",\"y\":\"baz\"}", true },
		{ "x in (foo),y in (alpha)", "{\"x\":\"foo\",\"y\":\"baz\"}", false },
		{ "x notin (),y", "{\"y\":\"\"}", true },
		{ "!x,y", "{\"y\":\"\"}", true },
		{ "x notin (),!y", "{\"y\":\"\"}", false },
		{ "x in ()", "{\"y\":\"baz\"}", false },
		{ "x in ()", "{\"x\":\"\"}", true },
		{ "z>1", "{\"z\":\"2\"}", true },
		{ "z>1", "{\"z\":\"v2\"}", false },
		/* absent keys: != and notin match, = and in do not */
		{ "x!=a", "{}", true },
		{ "x notin (a)", "{}", true },
		{ "x notin (a)", "{\"x\":\"a\"}", false },
		{ "x notin (a,b)", "{\"x\":\"c\"}", true },
		{ "x in (a)", "{}", false },
		{ "x!=", "{\"x\":\"\"}", false },
		{ "x=", "{\"x\":\"\"}", true },
		/* integers as Go's ParseInt sees them */
		{ "x>9223372036854775806", "{\"x\":\"9223372036854775807\"}", true },
		{ "x<0", "{\"x\":\"-9223372036854775808\"}", true },
		{ "x>1", "{\"x\":\"9223372036854775808\"}", false },
		{ "x<5", "{\"x\":\"-6\"}", true },
		{ "x>1", "{\"x\":\" 2\"}", false },
		{ "x>1", "{\"x\":\"+2\"}", true },
		{ "x>1", "{}", false },
		/* non-string label values count as absent */
		{ "x", "{\"x\":1}", false },
		{ "!x", "{\"x\":true}", true },
		/* binary search over many values */
		{ "x in (a,b,c,d,e,f,g,h,i,j,k,l,m)", "{\"x\":\"a\"}", true },
		{ "x in (a,b,c,d,e,f,g,h,i,j,k,l,m)", "{\"x\":\"g\"}", true },
		{ "x in (a,b,c,d,e,f,g,h,i,j,k,l,m)", "{\"x\":\"m\"}", true },
		{ "x in (a,b,c,d,e,f,g,h,i,j,k,l,m)", "{\"x\":\"ga\"}", false },
		{ "x in (a,b,c,d,e,f,g,h,i,j,k,l,m)", "{\"x\":\"0\"}", false },
		{ "x in (m,l,k,j,i,h,g,f,e,d,c,b,a)", "{\"x\":\"z\"}", false },
		/* no labels at all */
		{ "x", NULL, false },
		{ "!x", NULL, true },
		{ "", NULL, true },
		{ "x", "[]", false }, /* not an object: no labels */
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		is_int(matches(t[i].sel, t[i].labels), t[i].want, "'%s' %s %s", t[i].sel,
		       t[i].want ? "matches" : "does not match", t[i].labels ? t[i].labels : "no labels");
}

static const char *lookup_pairs(const char *key, void *arg)
{
	const char *const *kv = arg;
	for (; kv[0]; kv += 2)
		if (strcmp(kv[0], key) == 0)
			return kv[1];
	return NULL;
}

static void test_match_fn_and_everything(void)
{
	struct kp_label_selector *sel;
	const char *node[] = { "zone", "a", "disk", "ssd", NULL };
	const char *other[] = { "zone", "b", NULL };

	is_int(kp_label_selector_parse("zone in (a,c),disk", &sel, NULL), 0, "parse");
	ok(kp_label_selector_matches_fn(sel, lookup_pairs, (void *)node), "lookup function: match");
	ok(!kp_label_selector_matches_fn(sel, lookup_pairs, (void *)other), "lookup function: no match");
	ok(!kp_label_selector_is_everything(sel), "not everything");
	is_int(sel->n, 2, "two requirements");
	is_str(sel->reqs[0].key, "disk", "sorted by key");
	is_int(sel->reqs[1].op, KP_SEL_IN, "op In");
	is_int(sel->reqs[1].nvalues, 2, "two values");
	kp_label_selector_free(sel);

	is_int(kp_label_selector_parse("   ", &sel, NULL), 0, "blank string parses");
	ok(kp_label_selector_is_everything(sel), "blank string selects everything");
	kp_label_selector_free(sel);
	is_int(kp_label_selector_parse(NULL, &sel, NULL), 0, "NULL string parses");
	ok(kp_label_selector_is_everything(sel), "NULL string selects everything");
	kp_label_selector_free(sel);
	kp_label_selector_free(NULL);
}

/* LabelSelector objects */
static void test_from_json(void)
{
	static const struct { const char *json, *str, *yes, *no; } good[] = {
		{ "{}", "", "{\"a\":\"b\"}", NULL },
		{ "{\"matchLabels\":{}}", "", "{}", NULL },
		{ "{\"matchLabels\":null,\"matchExpressions\":[]}", "", "{}", NULL },
		{ "{\"matchLabels\":{\"tier\":\"fe\",\"app\":\"web\"}}", "app=web,tier=fe",
		  "{\"app\":\"web\",\"tier\":\"fe\",\"x\":\"y\"}", "{\"app\":\"web\"}" },
		{ "{\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"In\",\"values\":[\"prod\",\"dev\"]}]}",
		  "env in (dev,prod)", "{\"env\":\"dev\"}", "{\"env\":\"qa\"}" },
		{ "{\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"NotIn\",\"values\":[\"prod\"]}]}",
		  "env notin (prod)", "{}", "{\"env\":\"prod\"}" },
		{ "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\"},"
		  "{\"key\":\"b\",\"operator\":\"DoesNotExist\",\"values\":[]}]}",
		  "a,!b", "{\"a\":\"\"}", "{\"a\":\"1\",\"b\":\"2\"}" },
		{ "{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":[{\"key\":\"app\","
		  "\"operator\":\"In\",\"values\":[\"db\"]}]}",
		  "app=web,app in (db)", NULL, "{\"app\":\"web\"}" },
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct kp_label_selector *sel = NULL;
		json_t *j = J(good[i].json);
		char *err = NULL, *s;
		is_int(kp_label_selector_from_json(j, &sel, &err), 0, "compile %s", good[i].json);
		if (!sel) {
			diag("%s", err ? err : "?");
			free(err);
			json_decref(j);
			continue;
		}
		s = kp_label_selector_string(sel);
		is_str(s, good[i].str, "string of %s", good[i].json);
		free(s);
		if (good[i].yes) {
			json_t *l = J(good[i].yes);
			ok(kp_label_selector_matches(sel, l), "%s matches %s", good[i].json, good[i].yes);
			json_decref(l);
		}
		if (good[i].no) {
			json_t *l = J(good[i].no);
			ok(!kp_label_selector_matches(sel, l), "%s does not match %s", good[i].json,
			   good[i].no);
			json_decref(l);
		}
		kp_label_selector_free(sel);
		json_decref(j);
	}

	/* NULL / null: the selector that selects nothing */
	struct kp_label_selector *sel;
	json_t *none = json_null(), *l = J("{\"a\":\"b\"}");
	is_int(kp_label_selector_from_json(NULL, &sel, NULL), 0, "NULL LabelSelector");
	ok(sel->nothing && !kp_label_selector_matches(sel, l), "NULL selects nothing");
	ok(!kp_label_selector_is_everything(sel), "nothing is not everything");
	char *s = kp_label_selector_string(sel);
	is_str(s, "", "nothing prints as empty");
	free(s);
	kp_label_selector_free(sel);
	is_int(kp_label_selector_from_json(none, &sel, NULL), 0, "JSON null LabelSelector");
	ok(!kp_label_selector_matches(sel, l), "null selects nothing");
	kp_label_selector_free(sel);
	json_decref(l);

	static const struct { const char *json, *has; } bad[] = {
		{ "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Foo\"}]}",
		  "matchExpressions[0].operator: Unsupported value: \"Foo\"" },
		{ "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\"},{\"key\":\"a\",\"operator\":\"Gt\",\"values\":[\"1\"]}]}",
		  "matchExpressions[1].operator: Unsupported value: \"Gt\"" },
		{ "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[]}]}",
		  "matchExpressions[0].values" },
		{ "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"NotIn\"}]}",
		  "matchExpressions[0].values" },
		{ "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\",\"values\":[\"x\"]}]}",
		  "matchExpressions[0].values" },
		{ "{\"matchExpressions\":[{\"key\":\"a b\",\"operator\":\"Exists\"}]}",
		  "matchExpressions[0].key: Invalid value: \"a b\"" },
		{ "{\"matchExpressions\":[{\"operator\":\"Exists\"}]}", "matchExpressions[0].key: Required" },
		{ "{\"matchExpressions\":[{\"key\":\"a\"}]}", "matchExpressions[0].operator: Required" },
		{ "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[\"ok\",7]}]}",
		  "matchExpressions[0].values[1]" },
		{ "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[\"ok\",\"-no\"]}]}",
		  "matchExpressions[0].values[1]: Invalid value: \"-no\"" },
		{ "{\"matchExpressions\":{}}", "matchExpressions: Invalid value" },
		{ "{\"matchExpressions\":[3]}", "matchExpressions[0]" },
		{ "{\"matchLabels\":{\"a\":1}}", "matchLabels[a]" },
		{ "{\"matchLabels\":{\"a\":\"b c\"}}", "matchLabels[a]: Invalid value: \"b c\"" },
		{ "{\"matchLabels\":{\"-a\":\"b\"}}", "matchLabels: Invalid value: \"-a\"" },
		{ "{\"matchLabels\":[]}", "matchLabels: Invalid value" },
		{ "[]", "must be an object" },
		{ "\"app=web\"", "must be an object" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j = J(bad[i].json);
		char *err = NULL;
		sel = (void *)1;
		is_int(kp_label_selector_from_json(j, &sel, &err), KP_EINVAL, "reject %s", bad[i].json);
		ok(sel == NULL, "nothing returned");
		ok(err && strstr(err, bad[i].has), "message has '%s': %s", bad[i].has, err ? err : "(null)");
		free(err);
		json_decref(j);
	}
}

static bool node_match(const char *ns_json, const char *labels_json, const char *name)
{
	struct kp_node_selector *ns;
	json_t *j = J(ns_json), *l = labels_json ? J(labels_json) : NULL;
	char *err = NULL;
	bool m = false;

	if (kp_node_selector_from_json(j, &ns, &err) < 0) {
		diag("cannot compile %s: %s", ns_json, err ? err : "?");
		free(err);
	} else {
		m = kp_node_selector_matches(ns, l, name);
		kp_node_selector_free(ns);
	}
	json_decref(j);
	json_decref(l);
	return m;
}

static void test_node_selector(void)
{
	static const char *zone_or_gpu =
		"{\"nodeSelectorTerms\":["
		"{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\",\"values\":[\"a\",\"b\"]}]},"
		"{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"Exists\"}]}]}";
	static const char *cpu_gt_4 =
		"{\"nodeSelectorTerms\":[{\"matchExpressions\":["
		"{\"key\":\"cpu\",\"operator\":\"Gt\",\"values\":[\"4\"]},"
		"{\"key\":\"mem\",\"operator\":\"Lt\",\"values\":[\"64\"]}]}]}";
	static const char *by_name =
		"{\"nodeSelectorTerms\":[{\"matchFields\":["
		"{\"key\":\"metadata.name\",\"operator\":\"In\",\"values\":[\"node-1\"]}]}]}";
	static const char *not_name_and_zone =
		"{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\","
		"\"values\":[\"a\"]}],\"matchFields\":["
		"{\"key\":\"metadata.name\",\"operator\":\"NotIn\",\"values\":[\"node-1\"]}]}]}";
	static const char *empty_then_gpu =
		"{\"nodeSelectorTerms\":[{},{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"DoesNotExist\"}]}]}";

	ok(node_match(zone_or_gpu, "{\"zone\":\"a\"}", "n"), "first term matches");
	ok(node_match(zone_or_gpu, "{\"gpu\":\"\"}", "n"), "second term matches");
	ok(!node_match(zone_or_gpu, "{\"zone\":\"c\"}", "n"), "no term matches");
	ok(!node_match(zone_or_gpu, NULL, "n"), "node without labels");
	ok(node_match(cpu_gt_4, "{\"cpu\":\"8\",\"mem\":\"32\"}", "n"), "Gt and Lt both hold");
	ok(!node_match(cpu_gt_4, "{\"cpu\":\"4\",\"mem\":\"32\"}", "n"), "Gt is strict");
	ok(!node_match(cpu_gt_4, "{\"cpu\":\"8\",\"mem\":\"64\"}", "n"), "Lt is strict");
	ok(!node_match(cpu_gt_4, "{\"cpu\":\"eight\",\"mem\":\"32\"}", "n"), "non-integer label fails Gt");
	ok(!node_match(cpu_gt_4, "{\"mem\":\"32\"}", "n"), "missing label fails Gt");
	ok(node_match(by_name, "{}", "node-1"), "matchFields In by name");
	ok(!node_match(by_name, "{}", "node-2"), "matchFields In, other name");
	ok(node_match(by_name, "{}", NULL), "no node name: fields not checked (Kubernetes)");
	ok(node_match(not_name_and_zone, "{\"zone\":\"a\"}", "node-2"), "NotIn name and zone");
	ok(!node_match(not_name_and_zone, "{\"zone\":\"a\"}", "node-1"), "NotIn excludes node-1");
	ok(!node_match(not_name_and_zone, "{\"zone\":\"b\"}", "node-2"), "both parts must hold");
	ok(node_match(empty_then_gpu, "{}", "n"), "empty term skipped, second matches");
	ok(!node_match(empty_then_gpu, "{\"gpu\":\"1\"}", "n"), "empty term matches nothing");
	ok(!node_match("{\"nodeSelectorTerms\":[]}", "{}", "n"), "no terms: nothing");
	ok(!node_match("{\"nodeSelectorTerms\":[{\"matchExpressions\":[],\"matchFields\":[]}]}", "{}", "n"),
	   "term with empty lists matches nothing");

	/* one term on its own (preferred terms) */
	struct kp_node_selector_term t;
	json_t *j = J("{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"NotIn\",\"values\":[\"x\",\"y\"]}]}");
	json_t *l = J("{\"zone\":\"z\"}");
	is_int(kp_node_selector_term_from_json(j, &t, NULL), 0, "single term compiles");
	ok(kp_node_selector_term_matches(&t, l, "n"), "single term matches");
	char *s = kp_label_selector_string(&t.exprs);
	is_str(s, "zone notin (x,y)", "term expressions print");
	free(s);
	kp_node_selector_term_release(&t);
	json_decref(j);
	json_decref(l);

	static const struct { const char *json, *has; } bad[] = {
		{ "{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\"},"
		  "{\"key\":\"b\",\"operator\":\"Foo\"}]}]}",
		  "nodeSelectorTerms[0].matchExpressions[1].operator: Unsupported value: \"Foo\"" },
		{ "{\"nodeSelectorTerms\":[{},{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Gt\","
		  "\"values\":[\"1\",\"2\"]}]}]}",
		  "nodeSelectorTerms[1].matchExpressions[0].values" },
		{ "{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Lt\","
		  "\"values\":[\"abc\"]}]}]}",
		  "nodeSelectorTerms[0].matchExpressions[0].values[0]: Invalid value: \"abc\"" },
		{ "{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Gt\"}]}]}",
		  "nodeSelectorTerms[0].matchExpressions[0].values" },
		{ "{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\"}]}]}",
		  "nodeSelectorTerms[0].matchExpressions[0].values" },
		{ "{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"DoesNotExist\","
		  "\"values\":[\"v\"]}]}]}",
		  "nodeSelectorTerms[0].matchExpressions[0].values" },
		{ "{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"-a\",\"operator\":\"Exists\"}]}]}",
		  "nodeSelectorTerms[0].matchExpressions[0].key" },
		{ "{\"nodeSelectorTerms\":[{\"matchFields\":[{\"key\":\"metadata.uid\",\"operator\":\"In\","
		  "\"values\":[\"x\"]}]}]}",
		  "nodeSelectorTerms[0].matchFields[0].key: Invalid value: \"metadata.uid\"" },
		{ "{\"nodeSelectorTerms\":[{\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":\"In\","
		  "\"values\":[\"x\",\"y\"]}]}]}",
		  "nodeSelectorTerms[0].matchFields[0].values: Invalid value: must have one element" },
		{ "{\"nodeSelectorTerms\":[{\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":\"Exists\"}]}]}",
		  "nodeSelectorTerms[0].matchFields[0].operator: Unsupported value: \"Exists\"" },
		{ "{\"nodeSelectorTerms\":[7]}", "nodeSelectorTerms[0]: Invalid value" },
		{ "{\"nodeSelectorTerms\":{}}", "nodeSelectorTerms: Invalid value" },
		{ "[]", "must be an object" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct kp_node_selector *ns = (void *)1;
		char *err = NULL;
		j = J(bad[i].json);
		is_int(kp_node_selector_from_json(j, &ns, &err), KP_EINVAL, "reject node selector %d", (int)i);
		ok(ns == NULL, "nothing returned");
		ok(err && strstr(err, bad[i].has), "message has '%s': %s", bad[i].has, err ? err : "(null)");
		free(err);
		json_decref(j);
	}
	char *err = NULL;
	j = J("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Foo\"}]}");
	is_int(kp_node_selector_term_from_json(j, &t, &err), KP_EINVAL, "bad single term");
	static const char want[] = "matchExpressions[0].operator: Unsupported value: \"Foo\"";
	ok(err && strncmp(err, want, sizeof(want) - 1) == 0,
	   "single term path has no prefix: %s", err ? err : "(null)");
	free(err);
	json_decref(j);
}

static bool field_match(const char *sel_text, const char *obj_json)
{
	struct kp_field_selector *fs;
	json_t *o = J(obj_json);
	char *err = NULL;
	bool m = false;

	if (kp_field_selector_parse(sel_text, &fs, &err) < 0) {
		diag("cannot parse %s: %s", sel_text, err ? err : "?");
		free(err);
	} else {
		m = kp_field_selector_matches(fs, o);
		kp_field_selector_free(fs);
	}
	json_decref(o);
	return m;
}

static void test_field_selector(void)
{
	static const char *pod =
		"{\"metadata\":{\"name\":\"web-0\",\"namespace\":\"default\"},"
		"\"spec\":{\"nodeName\":\"n1\",\"replicas\":3,\"unschedulable\":true,\"ratio\":0.5,"
		"\"tolerations\":[]},\"status\":{\"phase\":\"Running\"}}";
	static const char *pending = "{\"metadata\":{\"name\":\"a,b=c\\\\d\"},\"status\":{\"phase\":\"Pending\"}}";
	const struct { const char *sel, *obj; bool want; } t[] = {
		{ "", pod, true },
		{ ",,", pod, true },
		{ "metadata.name=web-0", pod, true },
		{ "metadata.name==web-0", pod, true },
		{ "metadata.name!=web-0", pod, false },
		{ "metadata.name=web-1", pod, false },
		{ "metadata.namespace=default,status.phase=Running", pod, true },
		{ "status.phase==Running,spec.nodeName=n2", pod, false },
		{ "spec.nodeName=", pod, false },
		{ "spec.nodeName!=", pod, true },
		{ "spec.nodeName=", pending, true },     /* missing compares as "" */
		{ "spec.nodeName!=", pending, false },
		{ "spec.nodeName!=n1", pending, true },
		{ "metadata.name=a\\,b\\=c\\\\d", pending, true },
		{ "metadata.name!=a\\,b\\=c\\\\d", pending, false },
		{ "spec.replicas=3", pod, true },
		{ "spec.unschedulable=true", pod, true },
		{ "spec.unschedulable!=false", pod, true },
		{ "spec.ratio=0.5", pod, true },
		{ "spec.tolerations=", pod, false },      /* a list equals no value */
		{ "spec.tolerations!=x", pod, true },
		{ "spec=", pod, false },
		{ "metadata.name.first=", pod, true },    /* below a string: missing */
		{ "status.phase=Running,", pod, true },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		is_int(field_match(t[i].sel, t[i].obj), t[i].want, "field selector '%s' %s", t[i].sel,
		       t[i].want ? "matches" : "does not match");

	struct kp_field_selector *fs;
	is_int(kp_field_selector_parse("status.phase=Running,metadata.name!=x", &fs, NULL), 0, "parse");
	is_int(fs->n, 2, "two terms");
	is_str(fs->reqs[0].key, "metadata.name", "sorted by field");
	is_int(fs->reqs[0].op, KP_SEL_NOT_EQUALS, "!=");
	is_str(fs->reqs[0].values[0], "x", "value");
	is_int(fs->reqs[1].op, KP_SEL_EQUALS, "=");
	kp_field_selector_free(fs);

	static const struct { const char *in, *has; } bad[] = {
		{ "metadata.name", "can't understand 'metadata.name'" },
		{ "metadata.name=a,b", "can't understand 'b'" },
		{ "metadata.name=a=b", "unescaped '='" },
		{ "metadata.name=a\\b", "invalid escape sequence '\\b'" },
		{ "metadata.name=a\\", "invalid escape sequence" },
		{ "=a", "no field name" },
		{ "a>b", "can't understand" },
		{ "x=1,y", "can't understand 'y'" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *err = NULL;
		fs = (void *)1;
		is_int(kp_field_selector_parse(bad[i].in, &fs, &err), KP_EINVAL, "reject '%s'", bad[i].in);
		ok(fs == NULL, "nothing returned");
		ok(err && strstr(err, bad[i].has), "message has '%s': %s", bad[i].has, err ? err : "(null)");
		free(err);
	}
	kp_field_selector_free(NULL);
}

int main(void)
{
	test_parse_good();
	test_parse_bad();
	test_match();
	test_match_fn_and_everything();
	test_from_json();
	test_node_selector();
	test_field_selector();
	return done_testing();
}

/*
 * jsonpath.h - kubectl's JSONPath templates (k8s.io/client-go/util/jsonpath)
 * for `-o jsonpath=`, `-o custom-columns=` and `--sort-by`.
 *
 * Template syntax: literal text with actions in braces. Inside an action:
 * `$` (the root) or `@` (the current object), `.field`, `.*`, `..field`
 * (recursive descent), `[n]`, `[-n]`, `[a:b]`, `[a:b:step]`, `[*]`,
 * `[n,m]`, `['a','b']` (single quotes only, as client-go), `[?(@.x == "y")]` (==, !=, <, <=, >, >=, or just
 * `@.x` for "has x"), field names with `\.` escapes (`labels.app\.io/x`),
 * `range EXPR` ... `end`, and string literals (`{"\n"}`, Go escapes).
 * Each action prints its results separated by one space: strings raw,
 * numbers and booleans as Go prints them, maps and lists as compact JSON
 * with sorted keys (Go's encoding/json, HTML characters escaped).
 * Owned by the kpctl work (cli/kpctl/).
 */
#ifndef KPCTL_JSONPATH_H
#define KPCTL_JSONPATH_H

#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>

struct kpc_jsonpath;

/*
 * Parses a template. Returns 0 with *out (free with kpc_jsonpath_free()),
 * or KP_EINVAL with a message in kubectl's words ("unclosed action",
 * "invalid array index x", "not in range, nothing to end").
 */
int kpc_jsonpath_parse(const char *tmpl, struct kpc_jsonpath **out, char **errmsg);
void kpc_jsonpath_free(struct kpc_jsonpath *jp);

/*
 * Executes the template against data (borrowed) and writes the text to out.
 * Missing fields yield nothing when allow_missing (what kubectl get does),
 * else "KEY is not found". An out-of-range index is always an error
 * ("array index out of bounds: index 5, length 1"). 0 or KP_EINVAL.
 */
int kpc_jsonpath_exec(const struct kpc_jsonpath *jp, const json_t *data, bool allow_missing,
		      FILE *out, char **errmsg);

/*
 * The results of every action of the template (ranges are not expanded),
 * flattened into one new JSON array of the values found (copies). Used by
 * custom-columns and --sort-by, whose templates are single expressions.
 */
int kpc_jsonpath_find(const struct kpc_jsonpath *jp, const json_t *data, bool allow_missing,
		      json_t **out, char **errmsg);

/*
 * kubectl's RelaxedJSONPathExpression: "name1.name2", ".name1.name2",
 * "{name1.name2}" and "{.name1.name2}" all become "{.name1.name2}".
 * Returns a malloc'ed template or NULL with KP_EINVAL's message.
 */
char *kpc_jsonpath_relaxed(const char *expr, char **errmsg);

/* Go's fmt "%v" of a JSON value ("map[a:1 b:x]", "[1 2]", "<nil>"); caller frees. */
char *kpc_go_format(const json_t *v);

/* Go's %v of a float64 (shortest representation, exponent from 1e21). */
void kpc_go_float(double d, char *buf, size_t bufsz);

/*
 * The --sort-by order: numbers by value, strings byte by byte ("p10"
 * before "p2", as kubectl 1.32 prints them), false before true; a missing
 * value (NULL) sorts first. Returns <0, 0, >0.
 */
int kpc_value_cmp(const json_t *a, const json_t *b);

#endif

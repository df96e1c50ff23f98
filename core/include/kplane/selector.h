/*
 * selector.h - label selectors, node selectors and field selectors.
 *
 * Every selector is parsed once into a compiled form that matching then
 * walks without re-parsing. The compiled structs are public so that the
 * scheduler can translate them into its interned (integer) form.
 *
 * Semantics are Kubernetes':
 *  - string syntax: `a=b,a==b,c!=d,e in (x,y),f notin (z),g,!h`; `!=` and
 *    `notin` match objects that lack the key; `a>1`, `a<1` are accepted as
 *    Kubernetes does; `x in ()` and `x=` mean the empty value; keys must be
 *    qualified names and every value a valid label value (so a Gt/Lt value
 *    cannot be negative, as in Kubernetes);
 *  - LabelSelector object: matchLabels AND matchExpressions
 *    (In/NotIn/Exists/DoesNotExist); an empty object `{}` selects everything,
 *    a missing (NULL) one selects nothing;
 *  - node selector requirements add Gt/Lt (single integer value compared
 *    with the label parsed as an integer); a NodeSelector is the OR of its
 *    terms, a term the AND of its matchExpressions and matchFields, and a
 *    term with neither matches nothing;
 *  - field selectors: `metadata.name=x,spec.nodeName!=,status.phase==Running`.
 *
 * Compile errors are KP_EINVAL (KP_ENOMEM on allocation failure) and report
 * the first problem found. Matching never allocates.
 */
#ifndef KPLANE_SELECTOR_H
#define KPLANE_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

enum kp_sel_op {
	KP_SEL_EQUALS,         /* a=b, a==b (one value) */
	KP_SEL_NOT_EQUALS,     /* a!=b (one value); matches when a is absent */
	KP_SEL_IN,             /* a in (x,y) */
	KP_SEL_NOT_IN,         /* a notin (x,y); matches when a is absent */
	KP_SEL_EXISTS,         /* a */
	KP_SEL_DOES_NOT_EXIST, /* !a */
	KP_SEL_GT,             /* node selectors only: label > value (integers) */
	KP_SEL_LT,             /* node selectors only: label < value (integers) */
};

/*
 * One requirement; owns key and values (sorted by strcmp, unique, so In and
 * NotIn can binary-search). Gt/Lt keep their one value as text; it is known
 * to parse as an int64.
 */
struct kp_sel_req {
	char *key;
	enum kp_sel_op op;
	size_t nvalues;
	char **values;
};

/*
 * A conjunction of requirements. `nothing` marks the selector that matches
 * no object (from a NULL LabelSelector); n == 0 && !nothing matches all.
 */
struct kp_label_selector {
	size_t n;
	struct kp_sel_req *reqs; /* sorted by key, then op */
	bool nothing;
};

/*
 * Parses the string syntax. *out is allocated; free with
 * kp_label_selector_free(). The empty string selects everything.
 */
int kp_label_selector_parse(const char *s, struct kp_label_selector **out, char **errmsg);
/*
 * Compiles a metav1.LabelSelector JSON object (borrowed). sel == NULL or
 * JSON null gives the "nothing" selector. Errors name the field, e.g.
 * "matchExpressions[0].operator: Unsupported value: \"Foo\"".
 */
int kp_label_selector_from_json(const json_t *sel, struct kp_label_selector **out, char **errmsg);
/* labels is a JSON object of string values (borrowed); NULL means no labels. */
bool kp_label_selector_matches(const struct kp_label_selector *sel, const json_t *labels);
/*
 * Matching against labels kept elsewhere: lookup(key, arg) returns the
 * label's value (borrowed) or NULL when absent.
 */
bool kp_label_selector_matches_fn(const struct kp_label_selector *sel,
				  const char *(*lookup)(const char *key, void *arg), void *arg);
/* True for the selector that matches everything. */
bool kp_label_selector_is_everything(const struct kp_label_selector *sel);
/*
 * Canonical string form (Kubernetes' Selector.String()); caller frees; NULL
 * only when out of memory. `a==b` prints as `a=b`; the "nothing" selector
 * prints as "" like Kubernetes' Nothing().
 */
char *kp_label_selector_string(const struct kp_label_selector *sel);
void kp_label_selector_free(struct kp_label_selector *sel);
/* Releases the contents of a selector embedded in another struct. */
void kp_label_selector_release(struct kp_label_selector *sel);

/* One NodeSelectorTerm: both parts must match. */
struct kp_node_selector_term {
	struct kp_label_selector exprs;  /* matchExpressions against node labels */
	struct kp_label_selector fields; /* matchFields; only metadata.name is valid */
};

/* A NodeSelector: OR of terms. */
struct kp_node_selector {
	size_t n;
	struct kp_node_selector_term *terms;
};

/*
 * Compiles {"nodeSelectorTerms": [...]} (borrowed); *out is allocated, free
 * with kp_node_selector_free(). Errors name the field
 * ("nodeSelectorTerms[1].matchExpressions[0].values: Required value ...").
 * matchExpressions take In/NotIn (>= 1 value), Exists/DoesNotExist (no
 * value), Gt/Lt (one integer); matchFields only key "metadata.name" with
 * In/NotIn and exactly one value. No terms at all match nothing.
 */
int kp_node_selector_from_json(const json_t *ns, struct kp_node_selector **out, char **errmsg);
/*
 * Compiles a single NodeSelectorTerm (as preferred terms carry one) into
 * *out (caller-provided; release with kp_node_selector_term_release()).
 * Error paths start at "matchExpressions"/"matchFields". A term with
 * neither has exprs.nothing set.
 */
int kp_node_selector_term_from_json(const json_t *term, struct kp_node_selector_term *out,
				    char **errmsg);
/*
 * node_labels borrowed, may be NULL. As in Kubernetes, matchFields are not
 * checked when node_name is NULL or empty.
 */
bool kp_node_selector_term_matches(const struct kp_node_selector_term *t,
				   const json_t *node_labels, const char *node_name);
bool kp_node_selector_matches(const struct kp_node_selector *ns,
			      const json_t *node_labels, const char *node_name);
void kp_node_selector_term_release(struct kp_node_selector_term *t);
void kp_node_selector_free(struct kp_node_selector *ns);

/*
 * Field selectors: requirements use only EQUALS and NOT_EQUALS, one value
 * each, sorted by key. Values are unescaped (`\,` `\=` `\\`); another
 * escape or an unescaped ',' or '=' in a value is KP_EINVAL. Empty terms
 * are skipped; "" or NULL selects everything. Free with
 * kp_field_selector_free().
 */
struct kp_field_selector {
	size_t n;
	struct kp_sel_req *reqs;
};
int kp_field_selector_parse(const char *s, struct kp_field_selector **out, char **errmsg);
/*
 * Matches an object (borrowed): each key is a dotted path into obj
 * ("spec.nodeName"); a missing field or null compares as the empty string;
 * numbers and booleans compare by their JSON text; an object or array
 * equals no value.
 */
bool kp_field_selector_matches(const struct kp_field_selector *sel, const json_t *obj);
void kp_field_selector_free(struct kp_field_selector *sel);

#endif

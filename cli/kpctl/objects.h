/*
 * objects.h - turning a command's arguments into the objects it acts on:
 * "KIND NAME...", "KIND/NAME...", "KIND1,KIND2 NAME", -f sources, and
 * label-selected lists. Shared by get, delete, describe, label, annotate,
 * patch and friends. Owned by the kpctl work (cli/kpctl/).
 */
#ifndef KPCTL_OBJECTS_H
#define KPCTL_OBJECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "cli/kpctl/kpctl.h"

struct kpc_target {
	const struct kpc_resource *res; /* borrowed from k->disc */
	char *name;                     /* NULL for "every object of res" */
	char *ns;                       /* NULL for cluster-scoped or all namespaces */
	json_t *obj;                    /* manifest object (-f) or fetched object; may be NULL */
	char *source;                   /* -f file name, NULL otherwise */
};

struct kpc_targets {
	size_t n, cap;
	struct kpc_target *v;
};

/*
 * Parses positional arguments. `KIND` alone yields one target with a NULL
 * name per kind (comma lists allowed); `KIND NAME...` and `KIND/NAME...`
 * yield one target per name. Messages are printed; returns 0 or 1.
 */
int kpctl_targets_from_args(struct kpctl *k, char **pos, int npos, struct kpc_targets *out);
/* One target per object of the -f sources, with obj set. 0 or 1. */
int kpctl_targets_from_files(struct kpctl *k, const struct kpc_strlist *files, bool recursive,
			     struct kpc_targets *out);
/*
 * Lists the objects of res (in ns, or every namespace when all_ns) that
 * match the label selector (may be NULL) and adds one target each, obj set.
 */
int kpctl_targets_list(struct kpctl *k, const struct kpc_resource *res, bool all_ns,
		       const char *selector, const char *field_selector, struct kpc_targets *out);
int kpctl_targets_add(struct kpc_targets *t, const struct kpc_resource *res, const char *name,
		      const char *ns, json_t *obj, const char *source);
void kpctl_targets_release(struct kpc_targets *t);

/*
 * GETs the target's object (new reference into *out). On an HTTP error
 * prints kubectl's message and returns 1; 0 on success.
 */
int kpctl_fetch(struct kpctl *k, const struct kpc_target *t, json_t **out);

/* "deployment.apps/web" for a target; caller frees. */
char *kpctl_target_ref(const struct kpc_target *t);
/* `deployment.apps "web"` (delete's wording); caller frees. */
char *kpctl_target_quoted(const struct kpc_target *t);

/*
 * The text of a selector as labels.Selector prints it ("app=web,tier in
 * (a,b),!x"): a LabelSelector (matchLabels, matchExpressions) or, as a
 * Service's spec.selector, a plain map of labels. Borrows sel (may be
 * NULL: ""). Returns a malloc'ed string, NULL on allocation failure.
 */
char *kpctl_selector_text(const json_t *sel);

#endif

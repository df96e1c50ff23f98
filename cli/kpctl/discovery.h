/*
 * discovery.h - the server's resource types, read once per process from
 * /api, /api/v1, /apis and /apis/<group>/<version>, and resolution of the
 * KIND arguments kubectl accepts (plural, singular, kind, short names,
 * "resource.group", "resource.version.group"; case-insensitive).
 * Owned by the kpctl work (cli/kpctl/).
 */
#ifndef KPCTL_DISCOVERY_H
#define KPCTL_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

struct kpc_client;

/* One resource of one group version. Strings owned by the discovery. */
struct kpc_resource {
	char *group;    /* "" for the core group */
	char *version;  /* "v1" */
	char *api_version; /* "v1" or "apps/v1" */
	char *name;     /* plural: "deployments" */
	char *singular; /* "deployment" (derived from kind when the server omits it) */
	char *kind;     /* "Deployment" */
	char **short_names;
	size_t nshort;
	char **verbs;
	size_t nverbs;
	char **categories;
	size_t ncategories;
	bool namespaced;
	bool preferred; /* of the group's preferred version */
	unsigned subresources; /* KPC_SUB_* bits seen as "name/sub" */
};

#define KPC_SUB_STATUS 1u
#define KPC_SUB_SCALE 2u
#define KPC_SUB_EVICTION 4u

struct kpc_discovery {
	size_t n;
	struct kpc_resource *res; /* discovery order: core first, groups as /apis lists them */
};

/* Fetches discovery (the client is borrowed). Caller frees with kpc_discovery_free(). */
int kpc_discovery_load(struct kpc_client *c, struct kpc_discovery **out, char **errmsg);
/*
 * Builds a discovery from already-fetched documents: `groups` maps each
 * group version path ("/api/v1", "/apis/apps/v1") to its APIResourceList
 * and `order` is the JSON array of { "groupVersion", "preferred" } in
 * discovery order. Used by kpc_discovery_load() and by the unit tests.
 */
int kpc_discovery_from_json(const json_t *order, const json_t *lists,
			    struct kpc_discovery **out, char **errmsg);
void kpc_discovery_free(struct kpc_discovery *d);

/*
 * Resolves a KIND argument ("po", "deploy", "deployments.apps",
 * "Deployment", "hpa.v1.autoscaling"). Preferred versions win over others,
 * the core group over the rest, then discovery order. Returns the resource
 * (borrowed) or NULL with *errmsg set to kubectl's
 * `the server doesn't have a resource type "foo"`.
 */
const struct kpc_resource *kpc_discovery_resolve(const struct kpc_discovery *d, const char *arg,
						 char **errmsg);
/* The resource serving apiVersion+kind (from a manifest), or NULL with a message. */
const struct kpc_resource *kpc_discovery_by_kind(const struct kpc_discovery *d,
						 const char *api_version, const char *kind,
						 char **errmsg);
/* True when the resource lists verb. */
bool kpc_resource_has_verb(const struct kpc_resource *r, const char *verb);

/*
 * The URL path of a resource: "/api/v1/namespaces/ns/pods/name/sub".
 * ns is ignored for cluster-scoped resources and omitted when NULL (all
 * namespaces); name and sub may be NULL. Escapes name. Caller frees.
 */
char *kpc_resource_path(const struct kpc_resource *r, const char *ns, const char *name,
			const char *sub);

#endif

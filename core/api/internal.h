/*
 * internal.h - shared internals of libkpapi (not installed, not for plugins).
 */
#ifndef KPLANE_API_INTERNAL_H
#define KPLANE_API_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <microhttpd.h>

#include "core/api/api.h"
#include "store/store.h"

/* ---- growable byte buffer ---------------------------------------------- */

struct kp_buf {
	char *p;
	size_t len, cap;
};

/* All append functions abort() only on out-of-memory, like xmalloc. */
void kp__buf_grow(struct kp_buf *b, size_t extra);
void kp__buf_add(struct kp_buf *b, const void *p, size_t n);
void kp__buf_adds(struct kp_buf *b, const char *s);
void kp__buf_addf(struct kp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal (with quotes). */
void kp__buf_add_json_str(struct kp_buf *b, const char *s);
/* Appends the compact JSON encoding of v (borrowed). */
void kp__buf_add_json(struct kp_buf *b, const json_t *v);
void kp__buf_release(struct kp_buf *b);
/* Hands the bytes over (NUL-terminated); the buffer is empty afterwards. */
char *kp__buf_steal(struct kp_buf *b, size_t *len);

/*
 * Appends the stored object JSON (json, len) to out with
 * metadata.resourceVersion set to rv, without decoding the object: the
 * top-level "metadata" object is located by a byte scanner and an existing
 * resourceVersion is replaced. Returns false when json is not an object with
 * a metadata object (out unchanged).
 */
bool kp__splice_rv(struct kp_buf *out, const char *json, size_t len, uint64_t rv);

/* ---- resource registry --------------------------------------------------- */

enum {
	KP_VERB_GET = 1 << 0,
	KP_VERB_LIST = 1 << 1,
	KP_VERB_WATCH = 1 << 2,
	KP_VERB_CREATE = 1 << 3,
	KP_VERB_UPDATE = 1 << 4,
	KP_VERB_PATCH = 1 << 5,
	KP_VERB_DELETE = 1 << 6,
	KP_VERB_DELETECOLLECTION = 1 << 7,
};
#define KP_VERBS_ALL 0xff

enum {
	KP_RES_NAMESPACED = 1 << 0,
	KP_RES_STATUS = 1 << 1,       /* has a status subresource */
	KP_RES_SCALE = 1 << 2,        /* has a scale subresource (autoscaling/v1 Scale) */
	KP_RES_GENERATION = 1 << 3,   /* metadata.generation tracks spec changes */
	KP_RES_KEEP_STATUS = 1 << 4,  /* create keeps the given status (nodes) */
	KP_RES_NAME_LABEL = 1 << 5,   /* name must be a DNS-1123 label */
	KP_RES_POD_SUBS = 1 << 6,     /* pods: binding, eviction, log */
	KP_RES_NS_FINALIZE = 1 << 7,  /* namespaces: finalize subresource */
	KP_RES_BINDING = 1 << 8,      /* the core/v1 bindings create-only resource */
	KP_RES_CONVERT = 1 << 9,      /* custom resources of a CRD with several versions:
					 apiVersion is rewritten on the way in and out */
	KP_RES_HPA_V1 = 1 << 10,      /* autoscaling/v1 HPAs, stored as autoscaling/v2
					 (with KP_RES_CONVERT: converted in and out) */
};

struct kp_crd_version;
struct kp_errlist;

/* How a kind is shown as a Table. */
enum kp_table_kind {
	KP_TABLE_DEFAULT,
	KP_TABLE_POD,
	KP_TABLE_NODE,
	KP_TABLE_DEPLOYMENT,
	KP_TABLE_REPLICASET,
	KP_TABLE_STATEFULSET,
	KP_TABLE_DAEMONSET,
	KP_TABLE_SERVICE,
	KP_TABLE_NAMESPACE,
	KP_TABLE_JOB,
	KP_TABLE_CONFIGMAP,
	KP_TABLE_SECRET,
	KP_TABLE_EVENT,
	KP_TABLE_PVC,
	KP_TABLE_PV,
	KP_TABLE_PRIORITYCLASS,
	KP_TABLE_ENDPOINTSLICE,
	KP_TABLE_PODMETRICS,
	KP_TABLE_NODEMETRICS,
	KP_TABLE_CRONJOB,
	KP_TABLE_INGRESS,
	KP_TABLE_NETWORKPOLICY,
	KP_TABLE_PDB,
	KP_TABLE_SERVICEACCOUNT,
	KP_TABLE_ROLEBINDING,
	KP_TABLE_LEASE,
	KP_TABLE_CONTROLLERREVISION,
	KP_TABLE_ENDPOINTS,
	KP_TABLE_HPA,
	KP_TABLE_RESOURCEQUOTA,
};

struct kp_resource {
	const char *group;   /* "" for the core group */
	const char *version;
	const char *kind;
	const char *plural;
	const char *singular;
	const char *short_names[3];
	bool all_category;   /* categories: ["all"] */
	unsigned verbs;
	unsigned flags;
	enum kp_table_kind table;
	/* Filled by kp__registry_init(): */
	char *group_version;   /* "v1", "apps/v1" */
	char *qualified;       /* "pods", "deployments.apps" (Kubernetes error texts) */
	char *list_kind;       /* "PodList" */
	char *key_prefix;      /* "/registry/core/pods/" */
	size_t index;
	/* Custom resources (crd.c) only: the CRD version served; NULL for built-ins. */
	const struct kp_crd_version *crd;
};

/* The built-in table; initialised once (idempotent, thread-safe). */
void kp__registry_init(void);
size_t kp__registry_count(void);
const struct kp_resource *kp__registry_at(size_t i);
/* Looks a resource up by group, version and plural; NULL when unknown. */
const struct kp_resource *kp__registry_find(const char *group, const char *version,
					    const char *plural);
/* By group + kind (first version served). */
const struct kp_resource *kp__registry_find_kind(const char *group, const char *kind);
/*
 * Storage key into out: prefix + (ns + "/" when namespaced and ns) + name
 * (name may be NULL for the collection prefix).
 */
void kp__registry_key(const struct kp_resource *r, const char *ns, const char *name,
		      struct kp_buf *out);

/* Discovery documents (new references). */
json_t *kp__discovery_api_versions(void);      /* /api */
json_t *kp__discovery_groups(void);            /* /apis */
json_t *kp__discovery_group(const char *group); /* /apis/<group>, NULL if unknown */
json_t *kp__discovery_resources(const char *group, const char *version); /* NULL if unknown */

/* ---- server state --------------------------------------------------------- */

struct kp_metrics;
struct kp_watch_hub;
struct kp_crds;

struct kp_api_server {
	struct kp_store *st;
	struct kp_api_options opt;
	struct MHD_Daemon *daemon;
	int listen_fd;
	uint16_t port;
	char *server_url;

	/* write offload */
	pthread_mutex_t jobs_mu;
	pthread_cond_t jobs_cv, jobs_idle_cv;
	struct kp_req *jobs_head, *jobs_tail;
	unsigned jobs_running;
	bool jobs_stop;
	pthread_t *workers;
	unsigned nworkers;

	/* background: compaction */
	pthread_t compactor;
	pthread_mutex_t bg_mu;
	pthread_cond_t bg_cv;
	bool bg_stop;
	bool compactor_started;

	volatile int shutting_down;
	struct kp_metrics *metrics;
	struct kp_watch_hub *hub;
	struct kp_crds *crds;
};

/* ---- requests ------------------------------------------------------------- */

enum kp_method {
	KP_M_GET,
	KP_M_POST,
	KP_M_PUT,
	KP_M_PATCH,
	KP_M_DELETE,
	KP_M_HEAD,
	KP_M_OTHER,
};

/* Query parameters the API understands (decoded by libmicrohttpd; owned). */
struct kp_query {
	char *label_selector, *field_selector, *cont, *resource_version, *rv_match;
	char *timeout_seconds, *include_object, *dry_run, *propagation_policy;
	char *grace_period, *field_manager, *limit, *field_validation;
	bool watch, allow_bookmarks, force;
};

struct kp_req {
	struct kp_api_server *srv;
	struct MHD_Connection *conn;
	enum kp_method method;
	char *url;
	struct kp_query q;
	char *content_type;  /* owned, may be NULL */
	char *accept;        /* owned, may be NULL */
	struct kp_buf body;
	bool body_too_large;
	uint64_t start_ns;

	/* routing */
	const struct kp_resource *res;
	char *ns, *name, *sub; /* owned, NULL when absent */
	const char *verb;      /* for metrics: "GET", "LIST", "WATCH", "POST", ... */

	/* reply */
	int code;
	char *reply;
	size_t reply_len;
	const char *reply_type;
	struct kp_buf warnings; /* Warning header values, each ending in '\n' */
	bool dup_keys;          /* the JSON body repeats a key (fieldValidation) */
	const json_t *json_patch_ops; /* a JSON patch being applied (borrowed) or NULL */
	bool replied;        /* reply filled (possibly by a worker) */
	bool offloaded;      /* handed to a worker; connection suspended */
	bool streaming;      /* a watch response was queued */
	struct kp_req *job_next;
};

/* Reply helpers: they fill r->code/r->reply. */
void kp__reply_json(struct kp_req *r, int code, json_t *v); /* steals v */
void kp__reply_buf(struct kp_req *r, int code, struct kp_buf *b, const char *ctype); /* steals b's bytes */
void kp__reply_text(struct kp_req *r, int code, const char *text);
/*
 * A metav1 Status failure: reason ("NotFound"), message, and optional
 * details (stolen, may be NULL).
 */
void kp__reply_status(struct kp_req *r, int code, const char *reason, json_t *details,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Status for a store error code (ENOENT/EEXIST/ECONFLICT/EEXPIRED/...) on name. */
void kp__reply_store_error(struct kp_req *r, int err, const char *name);
/* {"status":"Success"} Status with code. */
void kp__reply_success(struct kp_req *r, int code, json_t *details);

/* Handles a routed resource request (rest.c); fills the reply. */
void kp__rest_handle(struct kp_req *r);
/* True when a routed request writes (and so runs on a worker thread). */
bool kp__rest_is_write(const struct kp_req *r);

/* Watch (watch.c) */
int kp__watch_hub_start(struct kp_api_server *srv, char **errmsg);
/* Ends every watch (used at shutdown) and stops the hub thread. */
void kp__watch_hub_stop(struct kp_api_server *srv);
/* Frees the hub; only after the HTTP daemon stopped (no watch callbacks left). */
void kp__watch_hub_free(struct kp_api_server *srv);
/* Starts a watch response for r; on error fills a Status reply instead. */
void kp__watch_start(struct kp_req *r);
size_t kp__watch_count(struct kp_api_server *srv);
/* Resumes every suspended watcher (the served custom resources changed). */
void kp__watch_wake_all(struct kp_api_server *srv);
/*
 * Starts a store gateway watch stream (gateway.c's line format) on keys
 * with prefix ("" = all; borrowed) after revision from, or from now.
 */
void kp__watch_start_gateway(struct kp_req *r, const char *prefix, uint64_t from, bool from_now,
			     bool prev_kv, bool progress);

/* Store gateway (gateway.c): the store over HTTP for components apart. */
bool kp__gateway_path(const char *url);     /* under /kplane/store/v3/ */
bool kp__gateway_is_write(const char *url); /* runs on a write worker */
void kp__gateway_handle(struct kp_req *r);
/* Lines of a gateway watch stream, appended to out. */
void kp__gateway_encode_event(struct kp_buf *out, const struct kp_event *ev, bool prev_kv);
void kp__gateway_encode_progress(struct kp_buf *out, uint64_t rev, bool created);
void kp__gateway_encode_canceled(struct kp_buf *out, uint64_t compacted);

/* Patches (patch.c). Each returns a new object or NULL with *errmsg. */
json_t *kp__merge_patch(const json_t *target, const json_t *patch);
int kp__json_patch(json_t *doc, const json_t *ops, char **errmsg); /* modifies doc in place */
int kp__strategic_merge_patch(json_t *doc, const json_t *patch, char **errmsg);

/* Tables (table.c): builds a meta.k8s.io/v1 Table of items (borrowed array). */
json_t *kp__table(const struct kp_resource *res, json_t *items, const char *include_object,
		  const char *list_rv, const char *cont);
/* True when an Accept header asks for as=Table. */
bool kp__wants_table(const char *accept);

/*
 * Protobuf bodies (proto.c): decodes a "k8s\0"-enveloped body of the kinds
 * kubectl's generators send (Namespace, ConfigMap, Secret, Pod, Service,
 * ResourceQuota, ServiceAccount, Deployment, Job, CronJob, RBAC roles and
 * bindings, PodDisruptionBudget, Ingress, PriorityClass) into a new JSON
 * object in *out (caller owns it). Field numbers the tables do not know are
 * skipped. KP_ENOTSUP for other kinds or a content encoding, KP_EINVAL for
 * a malformed body; *errmsg says which (caller frees).
 */
int kp__proto_decode(const char *buf, size_t len, json_t **out, char **errmsg);

/* OpenAPI (openapi.c): builds the documents (idempotent, thread-safe). */
void kp__openapi_init(void);
/* Serves /openapi/v2 and /openapi/v3[/...]; seg[0] is "openapi", n >= 1. */
void kp__openapi_handle(struct kp_req *r, char **seg, size_t n);
/*
 * The collection and item paths of r into paths (borrowed, modified);
 * schema_ref names the kind's schema. strategic: PATCH lists
 * strategic-merge-patch (built-in kinds; not custom resources, for which
 * kubectl must build merge patches).
 */
void kp__openapi_add_paths(json_t *paths, const struct kp_resource *r, const char *schema_ref,
			   bool strategic);
/* The v3 components.schemas of the built-in kinds (borrowed, read-only, built once). */
const json_t *kp__openapi_defs(void);
/* The schema of a built-in kind in kp__openapi_defs() (borrowed), or NULL. */
const json_t *kp__openapi_kind_schema(const struct kp_resource *r);

/* Tables (table.c): a humanised age cell ("5m", "3d") of an RFC 3339 time (new ref). */
json_t *kp__table_age(const char *rfc3339);

/* ---- custom resources (crd.c) ---------------------------------------------------- */

/*
 * Starts the CRD informer of srv (srv->crds): lists the stored CRDs, then
 * follows them with a store watch. kp__crds_stop ends the thread;
 * kp__crds_free (after the HTTP daemon stopped: no request holds a custom
 * resource's kp_resource any more) frees every entry.
 */
int kp__crds_start(struct kp_api_server *srv, char **errmsg);
void kp__crds_stop(struct kp_api_server *srv);
void kp__crds_free(struct kp_api_server *srv);
/* Waits (up to 10 s) until the informer has seen the CRD write at revision rev. */
void kp__crds_wait(struct kp_api_server *srv, uint64_t rev);
/* A served custom resource (valid until the server stops), or NULL. */
const struct kp_resource *kp__crds_find(struct kp_api_server *srv, const char *group,
					const char *version, const char *plural);
/* Discovery of the CRD groups: appended to groups (an APIGroupList's array), or new docs. */
void kp__crds_discovery_groups(struct kp_api_server *srv, json_t *groups);
json_t *kp__crds_discovery_group(struct kp_api_server *srv, const char *group);
json_t *kp__crds_discovery_resources(struct kp_api_server *srv, const char *group,
				     const char *version);
/* OpenAPI v3 of the CRD group-versions: index entries into paths; a document (new ref). */
void kp__crds_openapi_index(struct kp_api_server *srv, json_t *paths);
json_t *kp__crds_openapi_doc(struct kp_api_server *srv, const char *path);
/* apiserver_storage_objects lines of the served custom resources, appended to out. */
void kp__crds_storage_metrics(struct kp_api_server *srv, struct kp_buf *out);
/* True while the CRD of res is being deleted (creates are refused). */
bool kp__cr_terminating(const struct kp_resource *res);
/* "group/version" custom resources are stored at. */
const char *kp__cr_storage_gv(const struct kp_resource *res);
/* Custom resource objects: drop status on create when /status exists, prune, default. */
void kp__cr_default(const struct kp_resource *res, json_t *obj, bool create);
/* Schema validation of a custom resource (errors appended). */
void kp__cr_validate(const struct kp_resource *res, const json_t *obj, struct kp_errlist *errs);
/* metadata.generation: does obj differ from old in what counts for res? */
bool kp__cr_generation_changed(const struct kp_resource *res, const json_t *old,
			       const json_t *obj);
/* Dotted paths of the scale subresource (spec/status replicas, selector or NULL). */
void kp__cr_scale_paths(const struct kp_resource *res, const char **spec, const char **status,
			const char **selector);
/* A Table with the CRD version's additionalPrinterColumns (Name, Age by default). */
json_t *kp__cr_table(const struct kp_resource *res, json_t *items, const char *include_object,
		     const char *list_rv, const char *cont);
/* CRDs as a Table: Name and Created At, as Kubernetes' default table convertor. */
json_t *kp__crd_table(json_t *items, const char *include_object, const char *list_rv,
		      const char *cont);
/* The CustomResourceDefinition kind: defaults (names, conversion, status) and validation. */
void kp__crd_default(json_t *obj, bool create);
void kp__crd_validate(const json_t *obj, const json_t *old, struct kp_errlist *errs);
/* Names of a CRD that another served CRD of its group already uses (errors appended). */
void kp__crd_check_names(struct kp_api_server *srv, const json_t *obj, struct kp_errlist *errs);

/*
 * Unknown fields of obj for fieldValidation: paths absent from the kind's
 * schema (the CRD's structural schema, or the built-in OpenAPI table) that
 * old (may be NULL) did not have are appended to unk (schema.h); prune
 * removes every unknown field from obj, as a typed decoder drops them.
 */
struct kp_schema_unknown;
void kp__unknown_fields(const struct kp_resource *res, json_t *obj, const json_t *old,
			struct kp_schema_unknown *unk, bool prune);

/* Metrics (server.c) */
void kp__metrics_render(struct kp_api_server *srv, struct kp_buf *out);

/* Errors of a kp_errlist as a 422 Invalid Status for kind "name". */
void kp__reply_invalid(struct kp_req *r, const char *kind, const char *name,
		       const void *errlist);

/* Helpers shared by rest.c and watch.c */
bool kp__parse_bool(const char *s);
/* ls/fs: compiled label/field selectors (NULL = no constraint); obj borrowed. */
bool kp__selectors_match(const void *ls, const void *fs, const json_t *obj);

#endif

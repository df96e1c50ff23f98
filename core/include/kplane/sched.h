/*
 * sched.h - what a scheduler plugin sees: pods and nodes in compact form,
 * statuses, per-attempt cycle state, the extension points (ops table) and
 * the handle back into the scheduler (logging, events, metrics, permit).
 *
 * Include <kplane/plugin.h> (which includes this header) to write a plugin.
 * docs/plugins.md is the tutorial; this header is the reference.
 *
 * Threading. Filter and Score callbacks run on several worker threads at
 * once for the same pod (one node each); every other callback runs on the
 * scheduling thread, except PreBind/Bind/PostBind, which run on binding
 * workers (several pods are bound concurrently), and Unreserve, which may
 * run on either. A plugin's `self` state is therefore shared: write to it
 * only in init and in scheduling-thread callbacks, or protect it yourself.
 *
 * Ownership. Every `const struct kp_*_info *` and every pointer reachable
 * from it is borrowed from the scheduler's cache and stays valid for the
 * duration of the callback (and, for the pod and nodes of the current
 * attempt, until the attempt ends). Never free or keep them. Strings inside
 * are NUL-terminated and borrowed. Interned ids (int32_t) stay valid for the
 * life of the process.
 *
 * Hot path. Labels, taints, topology keys, resource names, namespaces, node
 * names and images are interned to int32_t ids once, when an object enters
 * the cache; plugins compare ids, never strings, in Filter and Score.
 */
#ifndef KPLANE_SCHED_H
#define KPLANE_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include <kplane/selector.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Interning                                                          */
/* ------------------------------------------------------------------ */

/* "No such string" / "absent". Valid ids are >= 0; the empty string is an
 * ordinary string with its own id. */
#define KP_ID_NONE (-1)

/*
 * Returns the id of s (borrowed; copied on first sight), creating it if
 * new; KP_ID_NONE only when out of memory. Thread-safe; takes a lock, so
 * call it in init/PreFilter, not per node.
 */
int32_t kp_intern(const char *s);
/* Like kp_intern() for a string of len bytes (need not be NUL-terminated). */
int32_t kp_intern_n(const char *s, size_t len);
/* The id of s if it was ever interned, else KP_ID_NONE (never creates). */
int32_t kp_intern_lookup(const char *s);
/* The string of an id (static storage for the process lifetime); "" for
 * KP_ID_NONE or an unknown id. Lock-free. */
const char *kp_intern_str(int32_t id);
/*
 * The string of id parsed as a decimal integer, as node selector Gt/Lt
 * need; false when it is not one. The parse is cached per id. Lock-free.
 */
bool kp_intern_int(int32_t id, int64_t *out);

/* ------------------------------------------------------------------ */
/* Interned labels and selectors                                      */
/* ------------------------------------------------------------------ */

struct kp_label {
	int32_t key;
	int32_t value;
};

/* A label set, sorted by key id (each key at most once). */
struct kp_labels {
	uint32_t n;
	const struct kp_label *v;
};

/* Value id of key in labels, or KP_ID_NONE when absent (binary search). */
int32_t kp_labels_get(const struct kp_labels *labels, int32_t key);
/*
 * The same, inline: for per-node loops, where a call into libkplane (through
 * the PLT, never inlined) costs more than the lookup. Label sets are small:
 * a linear scan up to 8 labels, binary search above.
 */
static inline int32_t kp_labels_find(const struct kp_labels *labels, int32_t key)
{
	const struct kp_label *v = labels->v;
	uint32_t lo = 0, hi = labels->n;
	if (hi <= 8) {
		for (uint32_t i = 0; i < hi; i++)
			if (v[i].key == key)
				return v[i].value;
		return KP_ID_NONE;
	}
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (v[mid].key < key)
			lo = mid + 1;
		else if (v[mid].key > key)
			hi = mid;
		else
			return v[mid].value;
	}
	return KP_ID_NONE;
}

/* One requirement of a compiled selector; op is enum kp_sel_op (selector.h). */
struct kp_isel_req {
	int32_t key;
	uint32_t op;
	uint32_t nvalues;
	const int32_t *values; /* value ids sorted ascending (In, NotIn, Equals, NotEquals) */
	int64_t num;           /* KP_SEL_GT / KP_SEL_LT: the integer to compare with */
};

/*
 * A label selector over interned labels: the AND of its requirements.
 * n == 0 && !nothing selects everything; nothing selects no object.
 */
struct kp_isel {
	uint32_t n;
	bool nothing;
	const struct kp_isel_req *reqs;
};

/* True when labels satisfy sel; Kubernetes' semantics (selector.h). */
bool kp_isel_matches(const struct kp_isel *sel, const struct kp_labels *labels);

/*
 * Compiles a selector.h selector into interned form. *out's arrays are
 * allocated in one block owned by *out; release with kp_isel_release().
 * Interns every key and value (so call it in init/PreFilter).
 */
int kp_isel_compile(const struct kp_label_selector *sel, struct kp_isel *out, char **errmsg);
void kp_isel_release(struct kp_isel *sel);

/* ------------------------------------------------------------------ */
/* Resources                                                          */
/* ------------------------------------------------------------------ */

/* One extended/hugepages/other scalar resource: name id and its amount
 * (whole units, or bytes for hugepages-*). */
struct kp_scalar {
	int32_t name;
	int64_t value;
};

/*
 * A resource vector as the scheduler's framework.Resource: cpu in milli
 * cores, memory and ephemeral storage in bytes, pods as a count, scalar
 * resources sorted by name id.
 */
struct kp_resources {
	int64_t milli_cpu;
	int64_t memory;
	int64_t ephemeral_storage;
	int64_t pods;
	uint32_t nscalar;
	const struct kp_scalar *scalar;
};

/* Amount of scalar resource `name` in r (0 when absent). */
int64_t kp_resources_scalar(const struct kp_resources *r, int32_t name);

/* Interned ids of the well-known resource names, fixed at startup. */
struct kp_res_ids {
	int32_t cpu, memory, ephemeral_storage, pods;
};
/* The ids of "cpu", "memory", "ephemeral-storage", "pods". */
const struct kp_res_ids *kp_res_ids(void);

/* ------------------------------------------------------------------ */
/* Taints and tolerations                                             */
/* ------------------------------------------------------------------ */

enum kp_taint_effect {
	KP_EFFECT_ALL = 0, /* tolerations only: empty effect matches every effect */
	KP_EFFECT_NO_SCHEDULE = 1,
	KP_EFFECT_PREFER_NO_SCHEDULE = 2,
	KP_EFFECT_NO_EXECUTE = 3,
};

struct kp_taint {
	int32_t key;
	int32_t value;  /* id of "" when the taint has no value */
	uint32_t effect; /* enum kp_taint_effect, never ALL */
};

enum kp_toleration_op {
	KP_TOL_EQUAL = 0,
	KP_TOL_EXISTS = 1,
};

struct kp_toleration {
	int32_t key;     /* KP_ID_NONE: empty key (with Exists tolerates everything) */
	int32_t value;   /* id of "" when empty */
	uint32_t op;     /* enum kp_toleration_op */
	uint32_t effect; /* enum kp_taint_effect; ALL when empty */
	int64_t toleration_seconds; /* -1 when unset */
};

/* Kubernetes' Toleration.ToleratesTaint. */
bool kp_toleration_tolerates(const struct kp_toleration *tol, const struct kp_taint *taint);
/* The taint as kube-scheduler prints it in reasons, "{key: value}" (also
 * with an empty value); NUL-terminated into buf (truncated to size), returns buf. */
char *kp_taint_string(const struct kp_taint *t, char *buf, size_t size);

/* ------------------------------------------------------------------ */
/* Affinity, spreading, ports                                         */
/* ------------------------------------------------------------------ */

/* One NodeSelectorTerm: exprs against node labels, fields against the node
 * name (the only valid matchFields key, metadata.name). */
struct kp_node_term {
	struct kp_isel exprs;
	struct kp_isel fields; /* keys are the id of "metadata.name", values node name ids */
};

struct kp_preferred_node_term {
	int32_t weight;
	struct kp_node_term term;
};

/* A pod's compiled node constraints: spec.nodeSelector and spec.affinity.nodeAffinity. */
struct kp_node_affinity {
	bool has_node_selector;
	struct kp_isel node_selector;       /* spec.nodeSelector as Equals requirements */
	bool has_required;                  /* requiredDuringSchedulingIgnoredDuringExecution given */
	uint32_t nrequired;                 /* terms ORed; none with has_required matches nothing */
	const struct kp_node_term *required;
	uint32_t npreferred;
	const struct kp_preferred_node_term *preferred;
};

/* True when node (labels + name id) satisfies the term / the required part
 * (nodeSelector AND required terms) of a. */
bool kp_node_term_matches(const struct kp_node_term *t, const struct kp_labels *labels,
			  int32_t node_name);
bool kp_node_affinity_required_matches(const struct kp_node_affinity *a,
				       const struct kp_labels *labels, int32_t node_name);

/* One PodAffinityTerm (matchLabelKeys/mismatchLabelKeys already merged into selector). */
struct kp_pod_affinity_term {
	struct kp_isel selector;
	uint32_t nnamespaces;          /* namespace ids the term selects by name */
	const int32_t *namespaces;     /* when none and no namespaceSelector: the pod's own */
	bool has_ns_selector;          /* namespaceSelector given ({} selects all namespaces) */
	struct kp_isel ns_selector;    /* against namespace labels (kp_snapshot_namespace_labels) */
	int32_t topology_key;
	int32_t weight;                /* preferred terms only, 1..100; 0 for required */
};

struct kp_pod_affinity {
	uint32_t nreq_affinity, npref_affinity, nreq_anti, npref_anti;
	const struct kp_pod_affinity_term *req_affinity;
	const struct kp_pod_affinity_term *pref_affinity;
	const struct kp_pod_affinity_term *req_anti;
	const struct kp_pod_affinity_term *pref_anti;
};

enum kp_spread_when {
	KP_SPREAD_DO_NOT_SCHEDULE = 0,
	KP_SPREAD_SCHEDULE_ANYWAY = 1,
};
enum kp_spread_policy {
	KP_SPREAD_POLICY_HONOR = 0,
	KP_SPREAD_POLICY_IGNORE = 1,
};

/* One TopologySpreadConstraint (matchLabelKeys merged into selector). */
struct kp_spread_constraint {
	int32_t max_skew;
	int32_t topology_key;
	uint32_t when;                 /* enum kp_spread_when */
	int32_t min_domains;           /* 1 when unset */
	uint32_t node_affinity_policy; /* enum kp_spread_policy; default Honor */
	uint32_t node_taints_policy;   /* enum kp_spread_policy; default Ignore */
	struct kp_isel selector;       /* nothing when labelSelector is absent */
};

enum kp_protocol {
	KP_PROTO_TCP = 0,
	KP_PROTO_UDP = 1,
	KP_PROTO_SCTP = 2,
};

/* A hostPort a container asks for (containers[].ports[] with hostPort > 0). */
struct kp_host_port {
	int32_t ip;      /* interned hostIP; the id of "0.0.0.0" when empty */
	uint16_t port;
	uint16_t protocol; /* enum kp_protocol */
};

/* ------------------------------------------------------------------ */
/* Pods and nodes                                                     */
/* ------------------------------------------------------------------ */

/*
 * A pod as the scheduler sees it, compiled once from its JSON when it enters
 * the cache or the queue.
 */
struct kp_pod_info {
	const char *ns;               /* metadata.namespace ("default" when absent) */
	const char *name;
	const char *uid;              /* metadata.uid, or "<ns>/<name>" when absent */
	int32_t ns_id;                /* interned namespace */
	int32_t node_name;            /* interned spec.nodeName, KP_ID_NONE when unbound */
	int32_t nominated_node;       /* interned status.nominatedNodeName, or KP_ID_NONE */
	int32_t scheduler_name;       /* interned spec.schedulerName ("default-scheduler") */
	int32_t priority;             /* spec.priority (0 when absent) */
	uint32_t nscheduling_gates;   /* len(spec.schedulingGates) */
	uint32_t flags;               /* KP_POD_* */
	struct kp_labels labels;
	/*
	 * Effective requests as Kubernetes computes them: max(sum of containers
	 * (+ restartable init containers), each init container with the sidecars
	 * started before it) + overhead. pods is 0: the pod slot is counted apart.
	 */
	struct kp_resources requests;
	/* cpu/memory with 100m / 200Mi substituted for zero container requests
	 * (scoring's "non-zero" requests). */
	int64_t nonzero_milli_cpu;
	int64_t nonzero_memory;
	struct kp_node_affinity node_affinity;
	uint32_t ntolerations;
	const struct kp_toleration *tolerations;
	struct kp_pod_affinity affinity;
	uint32_t nspread;
	const struct kp_spread_constraint *spread;
	uint32_t nhost_ports;
	const struct kp_host_port *host_ports;
	uint32_t nimages;
	const int32_t *images;        /* interned images of initContainers then containers,
					 untagged ones with ":latest" appended */
	uint32_t npvcs;
	const char *const *pvcs;      /* persistentVolumeClaim claimNames and generic
					 ephemeral volumes' "<pod>-<volume>" */
	int64_t creation_ns;          /* metadata.creationTimestamp in ns, 0 when absent */
	const json_t *obj;            /* the pod object (borrowed; do not modify) */
};

/* kp_pod_info.flags */
#define KP_POD_HAS_AFFINITY       0x1u /* any pod affinity or anti-affinity term */
#define KP_POD_HAS_REQ_ANTI       0x2u /* required anti-affinity terms */
#define KP_POD_TERMINATING        0x4u /* metadata.deletionTimestamp set */
#define KP_POD_BEST_EFFORT        0x8u /* no requests or limits at all */

/* An image present on a node (every name of status.images[] gets one entry). */
struct kp_node_image {
	int32_t name;
	int64_t size;
};

struct kp_node_info {
	const char *name;
	int32_t name_id;
	int32_t index;                 /* position in kp_snapshot.nodes */
	uint64_t generation;           /* bumped by every change to the node or its pods */
	bool unschedulable;            /* spec.unschedulable */
	struct kp_labels labels;
	uint32_t ntaints;
	const struct kp_taint *taints;
	struct kp_resources allocatable; /* status.allocatable; pods = allowed pod count */
	struct kp_resources requested;   /* sum of the pods' requests; pods = number of pods */
	int64_t nonzero_milli_cpu;       /* sum of the pods' non-zero requests */
	int64_t nonzero_memory;
	uint32_t nimages;
	const struct kp_node_image *images; /* sorted by name id */
	uint32_t nused_ports;
	const struct kp_host_port *used_ports;
	uint32_t npods;
	const struct kp_pod_info *const *pods;  /* pods bound or assumed to this node */
	uint32_t npods_with_affinity;
	const struct kp_pod_info *const *pods_with_affinity;      /* KP_POD_HAS_AFFINITY */
	uint32_t npods_with_req_anti;
	const struct kp_pod_info *const *pods_with_req_anti;      /* KP_POD_HAS_REQ_ANTI */
	const json_t *obj;             /* the node object (borrowed) */
};

/* Size of image `name` on the node, 0 when absent. */
int64_t kp_node_image_size(const struct kp_node_info *node, int32_t name);

/*
 * The cluster as of the start of the attempt. Nodes are in a stable order
 * (cache insertion order); node->index is the position in `nodes`.
 */
struct kp_snapshot {
	uint32_t nnodes;
	const struct kp_node_info *const *nodes;
	uint32_t nnodes_with_affinity;     /* nodes having pods with any (anti-)affinity */
	const struct kp_node_info *const *nodes_with_affinity;
	uint32_t nnodes_with_req_anti;     /* nodes having pods with required anti-affinity */
	const struct kp_node_info *const *nodes_with_req_anti;
	uint64_t generation;
};

/*
 * The snapshot's nodes as columns (struct of arrays), indexed by node
 * index (kp_node_info.index, the position in kp_snapshot.nodes): copies of
 * the node fields the common filters and scores read, laid out so that a
 * pass over consecutive nodes reads consecutive memory instead of one
 * scattered kp_node_info per node. Valid, and equal to the node structs,
 * during an attempt (brought up to date from the cache's change log before
 * each attempt). For the batch entry points, which get the indexes;
 * read-only, borrowed. What-if copies of nodes (kp_node_info_clone) are
 * not in it.
 */
struct kp_node_cols {
	uint32_t n;                    /* = kp_snapshot.nnodes */
	const int64_t *alloc_milli_cpu, *alloc_memory, *alloc_ephemeral_storage, *alloc_pods;
	const int64_t *req_milli_cpu, *req_memory, *req_ephemeral_storage, *req_pods;
	const int64_t *nonzero_milli_cpu, *nonzero_memory;
	const int32_t *name_id;
	const uint32_t *ntaints;
	const uint32_t *nimages;
	const uint8_t *unschedulable;
};

/* The columns of s (borrowed, valid for the attempt). Appended after the
 * batch entry points; scheduling thread and Filter/Score workers. */
const struct kp_node_cols *kp_snapshot_cols(const struct kp_snapshot *s);

/* Node by interned name, NULL when absent. O(1). */
const struct kp_node_info *kp_snapshot_node(const struct kp_snapshot *s, int32_t name_id);
/* Number of nodes that have the image (for ImageLocality's spread factor). */
uint32_t kp_snapshot_image_nodes(const struct kp_snapshot *s, int32_t image);
/* Labels of a namespace, NULL when the namespace object is unknown. */
const struct kp_labels *kp_snapshot_namespace_labels(const struct kp_snapshot *s, int32_t ns_id);

/*
 * Objects of other kinds the scheduler caches as JSON for the plugins that
 * need them: "PersistentVolume", "PersistentVolumeClaim", "StorageClass",
 * "CSINode", "PriorityClass", "PodDisruptionBudget", "Namespace", and
 * "Service", "ReplicationController", "ReplicaSet", "StatefulSet" (for
 * PodTopologySpread's system default constraints). ns is NULL
 * (or "") for cluster-scoped kinds. Returns a borrowed object valid during
 * the attempt, or NULL when absent.
 */
const json_t *kp_snapshot_object(const struct kp_snapshot *s, const char *kind, const char *ns,
				 const char *name);
/*
 * Calls fn(obj, arg) for every cached object of kind (in namespace ns, or in
 * all namespaces when ns is NULL) until fn returns non-zero, which is then
 * returned; 0 when all were visited. obj is borrowed.
 */
int kp_snapshot_each_object(const struct kp_snapshot *s, const char *kind, const char *ns,
			    int (*fn)(const json_t *obj, void *arg), void *arg);

/*
 * Incremental views for plugins that keep per-topology-domain counts in
 * their own state across attempts (PodTopologySpread, InterPodAffinity):
 * calls fn(name_id, arg) for every node whose labels, or whose set of pods,
 * changed after snapshot generation `since` (a node may be reported more
 * than once; a deleted node is reported and then absent from
 * kp_snapshot_node()). Returns 0, fn's non-zero value when it stopped the
 * walk, or KP_ERANGE when the change log no longer reaches back to `since`
 * (then rescan every node). The log is kept by the cache, so the cost is
 * O(changes), not O(nodes). Scheduling thread (PreFilter/PreScore) only.
 */
int kp_snapshot_each_changed_node(const struct kp_snapshot *s, uint64_t since,
				  int (*fn)(int32_t name_id, void *arg), void *arg);

/*
 * What-if copies of a node for preemption: a private, modifiable copy of
 * node (its pod list and sums are copied; the pods themselves are shared,
 * borrowed). Add or remove pods, run filters against it, then free it.
 * kp_node_info_remove_pod() returns KP_ENOENT when pod is not on the copy.
 */
struct kp_node_info *kp_node_info_clone(const struct kp_node_info *node);
int kp_node_info_add_pod(struct kp_node_info *node, const struct kp_pod_info *pod);
int kp_node_info_remove_pod(struct kp_node_info *node, const struct kp_pod_info *pod);
void kp_node_info_free(struct kp_node_info *node);

/* ------------------------------------------------------------------ */
/* Statuses                                                           */
/* ------------------------------------------------------------------ */

/* What an extension point returns (kube-scheduler's framework.Code). */
enum kp_code {
	KP_STATUS_SUCCESS = 0,
	KP_STATUS_ERROR = 1,                /* internal error: the attempt fails, pod backs off */
	KP_STATUS_UNSCHEDULABLE = 2,        /* preemption may help */
	KP_STATUS_UNRESOLVABLE = 3,         /* UnschedulableAndUnresolvable: preemption will not help */
	KP_STATUS_WAIT = 4,                 /* Permit only */
	KP_STATUS_SKIP = 5,                 /* PreFilter/PreScore: skip my Filter/Score for this pod;
					       Bind: not mine, try the next binder */
	KP_STATUS_PENDING = 6,              /* PreEnqueue/Filter: waiting for something external */
};
/* "Success", "Unschedulable", "UnschedulableAndUnresolvable", ... (static). */
const char *kp_code_string(int code);

#define KP_STATUS_MAX_REASONS 4
#define KP_STATUS_BUFSZ 256

/*
 * Reasons of a non-success result, in kube-scheduler's words ("Insufficient
 * cpu", "node(s) didn't match Pod's node affinity/selector"); each reason is
 * counted separately in the "0/N nodes are available" message. The
 * framework hands a cleared status to every call; a plugin only touches it
 * when it does not return KP_STATUS_SUCCESS.
 */
struct kp_status {
	uint32_t nreasons;
	uint32_t buflen;
	const char *reasons[KP_STATUS_MAX_REASONS]; /* static strings or into buf */
	char buf[KP_STATUS_BUFSZ];
};

/* Adds a reason that outlives the process (a string literal): no copy. */
static inline void kp_status_add(struct kp_status *st, const char *static_reason)
{
	if (st->nreasons < KP_STATUS_MAX_REASONS)
		st->reasons[st->nreasons++] = static_reason;
}
/* Adds a formatted reason, copied into st->buf (truncated if it is full). */
void kp_status_addf(struct kp_status *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------------ */
/* Cycle state                                                        */
/* ------------------------------------------------------------------ */

/*
 * Storage for one scheduling attempt of one pod. A plugin owns slot
 * `init->slot` (handed to it by init): it writes there in PreFilter/PreScore
 * and reads in Filter/Score with no lookup. Memory from kp_cycle_alloc() is
 * freed when the attempt ends; for anything else register a release
 * callback.
 */
struct kp_cycle {
	const struct kp_snapshot *snapshot;
	void **slots;
	uint32_t nslots;
	uint32_t attempt;        /* 1 for the first attempt of this pod */
	uint64_t cycle;          /* scheduling cycle counter of the scheduler */
	void *priv;              /* the framework's */
};

static inline void *kp_cycle_get(const struct kp_cycle *cy, int slot)
{
	return cy->slots[slot];
}
static inline void kp_cycle_set(struct kp_cycle *cy, int slot, void *data)
{
	cy->slots[slot] = data;
}
/* Zeroed memory valid until the attempt ends (NULL when out of memory). */
void *kp_cycle_alloc(struct kp_cycle *cy, size_t size);
/* Calls fn(arg) when the attempt ends (after Unreserve/PostBind). */
int kp_cycle_on_release(struct kp_cycle *cy, void (*fn)(void *arg), void *arg);

/* PreFilter's node restriction: set it to limit Filter to those nodes. */
struct kp_node_set;
/* Restricts this attempt to the given node name ids (intersected with what
 * other plugins allowed); n == 0 means no node at all. Copies ids. */
int kp_node_set_restrict(struct kp_node_set *set, const int32_t *node_names, size_t n);

/* ------------------------------------------------------------------ */
/* Cluster events (for requeueing unschedulable pods)                 */
/* ------------------------------------------------------------------ */

enum kp_event_resource {
	KP_EV_POD = 1,
	KP_EV_NODE,
	KP_EV_PV,
	KP_EV_PVC,
	KP_EV_STORAGE_CLASS,
	KP_EV_CSI_NODE,
	KP_EV_NAMESPACE,
	KP_EV_ANY_RESOURCE = 0xff,
};

/* Actions, as a bit mask. */
#define KP_EV_ADD                  0x0001u
#define KP_EV_DELETE               0x0002u
#define KP_EV_UPDATE_NODE_ALLOC    0x0004u /* node allocatable changed */
#define KP_EV_UPDATE_NODE_LABEL    0x0008u
#define KP_EV_UPDATE_NODE_TAINT    0x0010u /* taints or spec.unschedulable */
#define KP_EV_UPDATE_NODE_COND     0x0020u
#define KP_EV_UPDATE_POD_LABEL     0x0040u
#define KP_EV_UPDATE_POD_SCALE_DOWN 0x0080u /* a pod's requests shrank */
#define KP_EV_UPDATE_POD_TOLERATION 0x0100u
#define KP_EV_UPDATE_POD_GATES     0x0200u /* scheduling gates removed */
#define KP_EV_UPDATE_OTHER         0x8000u
#define KP_EV_UPDATE               0xfffcu /* any update */
#define KP_EV_ALL                  0xffffu

struct kp_cluster_event {
	uint32_t resource; /* enum kp_event_resource */
	uint32_t actions;  /* KP_EV_* bits */
};

/* ------------------------------------------------------------------ */
/* Handle: calls back into the scheduler                              */
/* ------------------------------------------------------------------ */

struct kp_sched_handle;

enum kp_log_level {
	KP_LOG_ERROR = 0,
	KP_LOG_WARN = 1,
	KP_LOG_INFO = 2,
	KP_LOG_DEBUG = 3,
};

/* Logs a line prefixed with the plugin and profile names. Any thread. */
void kp_sched_log(struct kp_sched_handle *h, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Records a Kubernetes event about pod (type "Normal"/"Warning"). Any thread. */
void kp_sched_event(struct kp_sched_handle *h, const struct kp_pod_info *pod, const char *type,
		    const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/*
 * Registers a counter `kplane_plugin_<name>` (name: [a-z0-9_]; help borrowed
 * only during the call) and returns its id (>= 0) or a KP_E* code. Call in
 * init. kp_sched_counter_add() is lock-free and may run in Filter/Score.
 */
int kp_sched_counter(struct kp_sched_handle *h, const char *name, const char *help);
void kp_sched_counter_add(struct kp_sched_handle *h, int id, uint64_t delta);

/* Profile name (schedulerName) this plugin instance serves (static while loaded). */
const char *kp_sched_profile(const struct kp_sched_handle *h);
/* Configured parallelism (worker threads for Filter/Score). */
int kp_sched_parallelism(const struct kp_sched_handle *h);

/*
 * Permit: lets a pod that is waiting (a plugin returned KP_STATUS_WAIT)
 * proceed, as far as this plugin is concerned, or rejects it (msg copied).
 * uid is the pod's metadata.uid. Any thread. KP_ENOENT when no such pod waits.
 */
int kp_sched_allow(struct kp_sched_handle *h, const char *uid);
int kp_sched_reject(struct kp_sched_handle *h, const char *uid, const char *msg);

/*
 * Binds pod to node through the host (in-process: writes spec.nodeName in
 * the store; remote: POST pods/binding). What DefaultBinder does. Runs on
 * the binding thread; *errmsg on failure.
 */
int kp_sched_host_bind(struct kp_sched_handle *h, const struct kp_pod_info *pod,
		       const struct kp_node_info *node, char **errmsg);

/*
 * Host writes for plugins that change other objects (VolumeBinding binds
 * PVs/PVCs in PreBind; DefaultPreemption deletes victims). obj is borrowed;
 * the host stores a copy. Binding thread or PostFilter only. *errmsg on
 * failure (KP_ECONFLICT when the object moved: re-read and retry).
 */
int kp_sched_host_update(struct kp_sched_handle *h, const json_t *obj, char **errmsg);
/*
 * The object is written as given, status included (in `kplane server` a
 * Pod's status.conditions, e.g. preemption's DisruptionTarget, are stored).
 * A host without update/delete callbacks (`sched-bench simulate`, tests) has
 * the change applied to the scheduler's own cache instead, as if its
 * informer had delivered it: before the next attempt, never under the
 * current one, so pods and nodes of this attempt stay valid. kp_sched_reject()
 * may be called from PostFilter (a victim waiting in Permit); delete the
 * victim only when it returns KP_ENOENT.
 */
int kp_sched_host_delete_pod(struct kp_sched_handle *h, const struct kp_pod_info *pod,
			     const char *reason, char **errmsg);

/*
 * kube-scheduler's RunFilterPluginsWithNominatedPods, for PostFilter
 * plugins: runs every Filter plugin of the handle's profile (except those
 * whose PreFilter returned SKIP in this attempt) for pod against node
 * (typically a kp_node_info_clone() with victims removed), in order, with
 * the PreFilter state of cy, stopping at the first failure, whose code is
 * returned (reasons in st).
 *
 * When pods other than pod are nominated to node (status.nominatedNodeName,
 * or nominated by a PostFilter earlier) with a priority >= pod's, the
 * filters first run against a copy of node with those pods added (and
 * every PreFilter plugin's pre_filter_add_pod applied to a clone of cy);
 * only when that passes do they run again against node itself, as kube
 * does (a pod that fits only thanks to nominated pods being absent fails,
 * and so does one that fits only because of them, e.g. affinity).
 * node and cy are not modified. Scheduling thread (PostFilter) only.
 */
int kp_sched_run_filters(struct kp_sched_handle *h, struct kp_cycle *cy,
			 const struct kp_pod_info *pod, const struct kp_node_info *node,
			 struct kp_status *st);
/*
 * kube's RunPreFilterExtensionRemovePod / AddPod: calls pre_filter_remove_pod
 * (pre_filter_add_pod) of every PreFilter plugin of the profile that did
 * not SKIP in this attempt, in order, so that their state in cy reflects
 * `other` removed from (added to) node. Call it on a kp_cycle_clone() when
 * the original state must stay intact. Returns KP_STATUS_SUCCESS or the
 * first failing code (reasons in st). Scheduling thread only.
 */
int kp_sched_run_pre_filter_remove_pod(struct kp_sched_handle *h, struct kp_cycle *cy,
				       const struct kp_pod_info *pod,
				       const struct kp_pod_info *other,
				       const struct kp_node_info *node, struct kp_status *st);
int kp_sched_run_pre_filter_add_pod(struct kp_sched_handle *h, struct kp_cycle *cy,
				    const struct kp_pod_info *pod, const struct kp_pod_info *other,
				    const struct kp_node_info *node, struct kp_status *st);
/*
 * A copy of cy for what-if evaluation: slots are copied with each plugin's
 * cycle_copy (or shared when it has none, then read-only), the PreFilter
 * SKIP set is copied. The clone has its own arena and release callbacks:
 * what a cycle_copy registers with kp_cycle_on_release(dst, ...) runs at
 * kp_cycle_free(clone), and freeing the clone never runs the callbacks of
 * the source. Free with kp_cycle_free(); NULL when out of memory or a
 * cycle_copy failed. Scheduling thread only.
 */
struct kp_cycle *kp_cycle_clone(struct kp_sched_handle *h, const struct kp_cycle *cy);
/* Runs cy's release callbacks (last registered first), frees its arena and cy. */
void kp_cycle_free(struct kp_cycle *cy);

/*
 * Calls fn(pod, arg) for each pod nominated to the node with name id
 * node_name (status.nominatedNodeName, or a PostFilter nomination of this
 * scheduler) that is still waiting to be scheduled, until fn returns
 * non-zero (then returned); 0 when all were visited. Pods are borrowed for
 * the call. Scheduling thread only.
 */
int kp_sched_each_nominated_pod(struct kp_sched_handle *h, int32_t node_name,
				int (*fn)(const struct kp_pod_info *pod, void *arg), void *arg);
/*
 * Clears pod's nomination (prepareCandidate's lower-priority pods): in the
 * scheduler's nominator at once, and status.nominatedNodeName through the
 * host's update (a copy of the pod object without it). A host without
 * update (sched-bench simulate) gets only the in-memory part. KP_ENOENT
 * when the scheduler does not hold pod as pending. Scheduling thread only.
 */
int kp_sched_clear_nominated(struct kp_sched_handle *h, const struct kp_pod_info *pod,
			     char **errmsg);
/*
 * A pseudo-random number from the scheduler's generator, seeded by
 * kp_scheduler_options.seed (the same one breaks score ties): runs with the
 * same seed and input make the same choices. Scheduling thread only.
 */
uint64_t kp_sched_rand(struct kp_sched_handle *h);

/* ------------------------------------------------------------------ */
/* The ops table                                                      */
/* ------------------------------------------------------------------ */

/* What init gets. Append-only: new members go at the end. */
struct kp_sched_init {
	const void *args;          /* the validated args struct (descriptor's args spec),
				      NULL without a spec; borrowed until fini */
	const json_t *raw_args;    /* pluginConfig[].args as given (borrowed, may be NULL) */
	struct kp_sched_handle *handle; /* valid until fini */
	int slot;                  /* this instance's cycle-state slot */
	const char *profile;       /* schedulerName (borrowed until fini) */
};

/* An entry of the active queue, for QueueSort. */
struct kp_queued_pod {
	const struct kp_pod_info *pod;
	int64_t timestamp_ns;         /* when it was (last) added to the queue */
	int64_t initial_attempt_ns;   /* first attempt, 0 before it */
	uint32_t attempts;
};

/* Per-node outcome of Filter, handed to PostFilter. */
struct kp_filter_results {
	uint32_t nnodes;           /* = snapshot nodes */
	const uint8_t *codes;      /* enum kp_code per node index; SUCCESS for feasible
				      and for nodes not evaluated */
};

/*
 * PostFilter's result: a nominated node (name id); KP_ID_NONE leaves the
 * pod's nomination as it is (kube's nil result: the pod was not eligible);
 * KP_NOMINATE_CLEAR clears it (kube's result with an empty node name: no
 * candidate was found). Read whatever code post_filter returns.
 */
struct kp_post_filter_result {
	int32_t nominated_node;
};
#define KP_NOMINATE_CLEAR (-2)

/*
 * Scheduler extension points. Every member is optional (NULL = not
 * implemented). Set .size = sizeof(struct kp_sched_ops) (the KP_SCHED_OPS
 * macro does): the table only grows at its end and the scheduler reads only
 * the members a module was built with.
 *
 * Common arguments: self is what init stored (NULL without init); cy the
 * attempt's cycle state; st a cleared status for reasons. Callbacks return
 * enum kp_code. Unless noted, returning anything but SUCCESS (or SKIP where
 * allowed) rejects the pod at that point.
 */
struct kp_sched_ops {
	uint32_t size;

	/* Lifecycle. init may fail with a KP_E* code and *errmsg; fini frees self. */
	int (*init)(const struct kp_sched_init *in, void **self, char **errmsg);
	void (*fini)(void *self);

	/* Cluster events that may make a pod this plugin rejected schedulable.
	 * Write up to cap into out, return the number written. */
	size_t (*events_to_register)(void *self, struct kp_cluster_event *out, size_t cap);

	/* PreEnqueue: may the pod enter the active queue? (SchedulingGates) */
	int (*pre_enqueue)(void *self, const struct kp_pod_info *pod, struct kp_status *st);
	/* QueueSort: true when a must be popped before b (exactly one per profile). */
	bool (*less)(void *self, const struct kp_queued_pod *a, const struct kp_queued_pod *b);

	/* PreFilter: once per attempt; may restrict nodes via `nodes` or SKIP. */
	int (*pre_filter)(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
			  struct kp_node_set *nodes, struct kp_status *st);
	/* Filter: per node, concurrently. */
	int (*filter)(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		      const struct kp_node_info *node, struct kp_status *st);
	/* PostFilter: after no node fit (preemption). SUCCESS with a nominated node,
	 * or UNSCHEDULABLE when it could not help. */
	int (*post_filter)(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
			   const struct kp_filter_results *filtered,
			   struct kp_post_filter_result *res, struct kp_status *st);
	/* PreScore: once per attempt with the feasible nodes; may SKIP. */
	int (*pre_score)(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
			 const struct kp_node_info *const *nodes, size_t n, struct kp_status *st);
	/* Score: per feasible node, concurrently; *score in any range until normalised. */
	int (*score)(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		     const struct kp_node_info *node, int64_t *score, struct kp_status *st);
	/* NormalizeScore: brings scores[i] (for nodes[i]) into 0..KP_MAX_NODE_SCORE. */
	int (*normalize_score)(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
			       const struct kp_node_info *const *nodes, int64_t *scores, size_t n,
			       struct kp_status *st);
	/* Reserve / Unreserve (unreserve must undo reserve and cannot fail). */
	int (*reserve)(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		       const struct kp_node_info *node, struct kp_status *st);
	void (*unreserve)(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
			  const struct kp_node_info *node);
	/* Permit: SUCCESS, reject, or WAIT with *timeout_ms (then kp_sched_allow/reject). */
	int (*permit)(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		      const struct kp_node_info *node, uint32_t *timeout_ms, struct kp_status *st);
	/* Binding cycle, on the binding thread. bind returns SKIP when not its pod. */
	int (*pre_bind)(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
			const struct kp_node_info *node, struct kp_status *st);
	int (*bind)(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		    const struct kp_node_info *node, struct kp_status *st);
	void (*post_bind)(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
			  const struct kp_node_info *node);

	/* PreFilterExtensions, for preemption's what-if evaluation: adjust the
	 * PreFilter state in cy as if pod `other` were added to / removed from node. */
	int (*pre_filter_add_pod)(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
				  const struct kp_pod_info *other, const struct kp_node_info *node,
				  struct kp_status *st);
	int (*pre_filter_remove_pod)(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
				     const struct kp_pod_info *other, const struct kp_node_info *node,
				     struct kp_status *st);
	/* Copies this plugin's slot of src into dst (what-if evaluation clones the
	 * cycle state); NULL: the slot pointer is shared, so it must be read-only. */
	int (*cycle_copy)(void *self, const struct kp_cycle *src, struct kp_cycle *dst);

	/*
	 * Batch entry points (appended after cycle_copy: a module built before
	 * them has a smaller .size, so the framework sees them as NULL and calls
	 * it per node as before; KP_PLUGIN_ABI_VERSION is unchanged). Optional, and only
	 * used when the per-node form is set too: they are a faster way to
	 * compute exactly what the per-node callbacks compute, one call per run
	 * of nodes instead of one indirect call per node, so that the plugin's
	 * loop over nodes can keep the pod's fields in registers.
	 *
	 * filter_batch: for i < n, fit[i] = 1 when filter(nodes[i]) would return
	 * SUCCESS (or SKIP), else 0; returns the number of zeros. No reasons:
	 * the framework calls filter() for the nodes set to 0 to get the code and
	 * the reasons (and keeps a node whose filter() then succeeds), so both
	 * must agree. Like filter: runs concurrently on worker threads, must not
	 * change anything, nodes and pod borrowed for the call. n is at most a
	 * few hundred; nodes are in the order Filter visits them. idx[i] is
	 * nodes[i]->index: the batch entry points only get snapshot nodes, so a
	 * plugin can read kp_snapshot_cols(cy->snapshot) at idx[i] instead of
	 * the node struct (consecutive indexes, consecutive memory).
	 *
	 * score_batch: scores[i] = what score(nodes[i]) would give, for i < n;
	 * returns KP_STATUS_SUCCESS. Any other return makes the framework call
	 * score() for each of these nodes instead (so a plugin may decline a
	 * pod it has no fast loop for). Concurrent like score.
	 */
	size_t (*filter_batch)(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
			       const struct kp_node_info *const *nodes, const uint32_t *idx,
			       size_t n, uint8_t *fit);
	int (*score_batch)(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
			   const struct kp_node_info *const *nodes, const uint32_t *idx, size_t n,
			   int64_t *scores);
};

#define KP_SCHED_OPS .size = sizeof(struct kp_sched_ops)

/* Scores are normalised into 0..KP_MAX_NODE_SCORE (kube's MaxNodeScore). */
#define KP_MAX_NODE_SCORE 100

#ifdef __cplusplus
}
#endif

#endif

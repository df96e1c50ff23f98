/*
 * node-resources-fit.c - NodeResourcesFit (kube-scheduler's
 * plugins/noderesources/fit.go).
 *
 * Filter: the pod's effective requests (containers, init containers,
 * overhead) must fit allocatable minus what the node's pods request, for
 * cpu, memory, ephemeral-storage, each requested scalar resource, and the
 * pod count. Score: scoringStrategy LeastAllocated (default),
 * MostAllocated or RequestedToCapacityRatio over the configured resources
 * (default cpu and memory, weight 1), using the "non-zero" cpu/memory
 * requests (100m / 200Mi for containers that request nothing).
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/plugin.h>

enum strategy { LEAST, MOST, RTCR };
enum res_kind { R_CPU, R_MEM, R_EPH, R_SCALAR };

struct res {
	int kind;
	int32_t name;
	int64_t weight;
};

struct point {
	int64_t utilization, score; /* score already scaled to 0..100 */
};

struct args {
	const char *const *ignored_resources;
	const char *const *ignored_groups;
	const json_t *scoring_strategy;
};

struct self {
	int strategy;
	uint32_t nres;
	struct res res[16];
	uint32_t nshape;
	struct point shape[16];
	uint32_t nignored;
	int32_t ignored[64];       /* ignored extended resource names */
	uint32_t nignored_groups;
	char *ignored_groups[16];
};

static const struct kp_arg_spec arg_spec[] = {
	{ "ignoredResources", KP_ARG_STRINGS, offsetof(struct args, ignored_resources), NULL, 0, 0 },
	{ "ignoredResourceGroups", KP_ARG_STRINGS, offsetof(struct args, ignored_groups), NULL, 0, 0 },
	{ "scoringStrategy", KP_ARG_JSON, offsetof(struct args, scoring_strategy),
	  "{\"type\":\"LeastAllocated\",\"resources\":[{\"name\":\"cpu\",\"weight\":1},{\"name\":\"memory\",\"weight\":1}]}",
	  0, 0 },
	{ NULL, 0, 0, NULL, 0, 0 },
};

static void fini(void *self)
{
	struct self *s = self;
	if (!s)
		return;
	for (uint32_t i = 0; i < s->nignored_groups; i++)
		free(s->ignored_groups[i]);
	free(s);
}

static int parse_resources(const json_t *list, struct res *out, uint32_t *n, uint32_t max,
			   const char *where, char **errmsg)
{
	*n = 0;
	if (!list || json_is_null(list) || (json_is_array(list) && json_array_size(list) == 0)) {
		out[0] = (struct res){ R_CPU, kp_intern("cpu"), 1 };
		out[1] = (struct res){ R_MEM, kp_intern("memory"), 1 };
		*n = 2;
		return 0;
	}
	if (!json_is_array(list))
		return kp_error_set(errmsg, KP_EINVAL, "%s.resources: must be a list", where);
	size_t i;
	json_t *r;
	json_array_foreach(list, i, r) {
		const char *name = json_string_value(json_object_get(r, "name"));
		json_t *w = json_object_get(r, "weight");
		if (!name || !*name)
			return kp_error_set(errmsg, KP_EINVAL, "%s.resources[%zu].name: Required value",
					    where, i);
		int64_t weight = json_is_integer(w) ? json_integer_value(w) : 1;
		if (weight < 1 || weight > 100)
			return kp_error_set(errmsg, KP_EINVAL,
					    "%s.resources[%zu].weight: Invalid value: %lld: must be in the range [1, 100]",
					    where, i, (long long)weight);
		if (*n == max)
			return kp_error_set(errmsg, KP_E2BIG, "%s.resources: more than %u entries", where, max);
		int kind = !strcmp(name, "cpu") ? R_CPU : !strcmp(name, "memory") ? R_MEM
			 : !strcmp(name, "ephemeral-storage") ? R_EPH : R_SCALAR;
		out[(*n)++] = (struct res){ kind, kp_intern(name), weight };
	}
	return 0;
}

static int init(const struct kp_sched_init *in, void **out, char **errmsg)
{
	const struct args *a = in->args;
	struct self *s = calloc(1, sizeof(*s));
	if (!s)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	int rc;
	for (const char *const *r = a->ignored_resources; r && *r; r++)
		if (s->nignored < 64)
			s->ignored[s->nignored++] = kp_intern(*r);
	for (const char *const *g = a->ignored_groups; g && *g; g++) {
		if (strchr(*g, '/')) {
			rc = kp_error_set(errmsg, KP_EINVAL,
					  "ignoredResourceGroups: Invalid value: \"%s\": resource group name can't contain '/'",
					  *g);
			goto fail;
		}
		if (s->nignored_groups < 16)
			s->ignored_groups[s->nignored_groups++] = strdup(*g);
	}
	const json_t *ss = a->scoring_strategy;
	if (!json_is_object(ss)) {
		rc = kp_error_set(errmsg, KP_EINVAL, "scoringStrategy: must be an object");
		goto fail;
	}
	const char *type = json_string_value(json_object_get(ss, "type"));
	if (!type || !strcmp(type, "LeastAllocated"))
		s->strategy = LEAST;
	else if (!strcmp(type, "MostAllocated"))
		s->strategy = MOST;
	else if (!strcmp(type, "RequestedToCapacityRatio"))
		s->strategy = RTCR;
	else {
		rc = kp_error_set(errmsg, KP_EINVAL,
				  "scoringStrategy.type: Unsupported value: \"%s\": supported values: \"LeastAllocated\", \"MostAllocated\", \"RequestedToCapacityRatio\"",
				  type);
		goto fail;
	}
	if ((rc = parse_resources(json_object_get(ss, "resources"), s->res, &s->nres, 16,
				  "scoringStrategy", errmsg)) < 0)
		goto fail;
	if (s->strategy == RTCR) {
		const json_t *shape = json_object_get(json_object_get(ss, "requestedToCapacityRatio"), "shape");
		if (!json_is_array(shape) || json_array_size(shape) == 0) {
			rc = kp_error_set(errmsg, KP_EINVAL,
					  "scoringStrategy.requestedToCapacityRatio.shape: Required value");
			goto fail;
		}
		size_t i;
		json_t *pt;
		json_array_foreach(shape, i, pt) {
			json_t *u = json_object_get(pt, "utilization"), *sc = json_object_get(pt, "score");
			if (!json_is_integer(u) || json_integer_value(u) < 0 || json_integer_value(u) > 100) {
				rc = kp_error_set(errmsg, KP_EINVAL,
						  "scoringStrategy.requestedToCapacityRatio.shape[%zu].utilization: Invalid value: must be in the range [0, 100]",
						  i);
				goto fail;
			}
			if (!json_is_integer(sc) || json_integer_value(sc) < 0 || json_integer_value(sc) > 10) {
				rc = kp_error_set(errmsg, KP_EINVAL,
						  "scoringStrategy.requestedToCapacityRatio.shape[%zu].score: Invalid value: must be in the range [0, 10]",
						  i);
				goto fail;
			}
			if (i && json_integer_value(u) <= s->shape[i - 1].utilization) {
				rc = kp_error_set(errmsg, KP_EINVAL,
						  "scoringStrategy.requestedToCapacityRatio.shape[%zu].utilization: Invalid value: utilization values must be sorted in increasing order",
						  i);
				goto fail;
			}
			if (i == 16) {
				rc = kp_error_set(errmsg, KP_E2BIG, "scoringStrategy.requestedToCapacityRatio.shape: more than 16 points");
				goto fail;
			}
			/* shape scores are 0..10; the scheduler's range is 0..100 */
			s->shape[i] = (struct point){ json_integer_value(u), json_integer_value(sc) * 10 };
			s->nshape++;
		}
	}
	*out = s;
	return 0;
fail:
	fini(s);
	return rc;
}

static size_t events(void *self, struct kp_cluster_event *out, size_t cap)
{
	static const struct kp_cluster_event ev[] = {
		{ KP_EV_POD, KP_EV_DELETE | KP_EV_UPDATE_POD_SCALE_DOWN },
		{ KP_EV_NODE, KP_EV_ADD | KP_EV_UPDATE_NODE_ALLOC | KP_EV_UPDATE_NODE_TAINT |
				      KP_EV_UPDATE_NODE_LABEL },
	};
	size_t n = cap < 2 ? cap : 2;
	for (size_t i = 0; i < n; i++)
		out[i] = ev[i];
	return n;
}

static bool ignored(const struct self *s, int32_t name)
{
	for (uint32_t i = 0; i < s->nignored; i++)
		if (s->ignored[i] == name)
			return true;
	if (s->nignored_groups) {
		const char *n = kp_intern_str(name);
		const char *slash = strchr(n, '/');
		if (slash)
			for (uint32_t i = 0; i < s->nignored_groups; i++)
				if (strlen(s->ignored_groups[i]) == (size_t)(slash - n) &&
				    !strncmp(s->ignored_groups[i], n, (size_t)(slash - n)))
					return true;
	}
	return false;
}

/* extended resources (domain-prefixed, not kubernetes.io) may be ignored */
static bool is_extended(int32_t name)
{
	const char *n = kp_intern_str(name);
	return strchr(n, '/') && !strstr(n, "kubernetes.io/");
}

static int filter(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		  const struct kp_node_info *node, struct kp_status *st)
{
	const struct self *s = self;
	const struct kp_resources *req = &pod->requests, *al = &node->allocatable,
				  *used = &node->requested;
	bool fail = false;
	if (used->pods + 1 > al->pods) {
		kp_status_add(st, "Too many pods");
		fail = true;
	}
	if (req->milli_cpu == 0 && req->memory == 0 && req->ephemeral_storage == 0 && req->nscalar == 0)
		return fail ? KP_STATUS_UNSCHEDULABLE : KP_STATUS_SUCCESS;
	if (req->milli_cpu > 0 && req->milli_cpu > al->milli_cpu - used->milli_cpu) {
		kp_status_add(st, "Insufficient cpu");
		fail = true;
	}
	if (req->memory > 0 && req->memory > al->memory - used->memory) {
		kp_status_add(st, "Insufficient memory");
		fail = true;
	}
	if (req->ephemeral_storage > 0 &&
	    req->ephemeral_storage > al->ephemeral_storage - used->ephemeral_storage) {
		kp_status_add(st, "Insufficient ephemeral-storage");
		fail = true;
	}
	for (uint32_t i = 0; i < req->nscalar; i++) {
		const struct kp_scalar *r = &req->scalar[i];
		if (r->value == 0)
			continue;
		if (is_extended(r->name) && ignored(s, r->name))
			continue;
		if (r->value > kp_resources_scalar(al, r->name) - kp_resources_scalar(used, r->name)) {
			kp_status_addf(st, "Insufficient %s", kp_intern_str(r->name));
			fail = true;
		}
	}
	return fail ? KP_STATUS_UNSCHEDULABLE : KP_STATUS_SUCCESS;
}

/*
 * The common pod (cpu, memory, ephemeral storage, no scalar resources) in
 * one loop with the requests in registers; the rest through filter().
 * Same comparisons as filter(), without the reasons.
 */
static size_t filter_batch(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
			   const struct kp_node_info *const *nodes, const uint32_t *idx,
			   size_t n, uint8_t *fit)
{
	const struct kp_resources *req = &pod->requests;
	size_t bad = 0;
	if (req->nscalar) {
		struct kp_status st;
		for (size_t i = 0; i < n; i++) {
			st.nreasons = 0;
			st.buflen = 0;
			fit[i] = filter(self, cy, pod, nodes[i], &st) == KP_STATUS_SUCCESS;
			bad += !fit[i];
		}
		return bad;
	}
	/* a request <= 0 is never insufficient: INT64_MIN always fits */
	const int64_t cpu = req->milli_cpu > 0 ? req->milli_cpu : INT64_MIN;
	const int64_t mem = req->memory > 0 ? req->memory : INT64_MIN;
	const int64_t eph = req->ephemeral_storage > 0 ? req->ephemeral_storage : INT64_MIN;
	const struct kp_node_cols *k = kp_snapshot_cols(cy->snapshot);
	for (size_t i = 0; i < n; i++) {
		uint32_t u = idx[i];
		bool ok = k->req_pods[u] + 1 <= k->alloc_pods[u] &&
			  cpu <= k->alloc_milli_cpu[u] - k->req_milli_cpu[u] &&
			  mem <= k->alloc_memory[u] - k->req_memory[u] &&
			  eph <= k->alloc_ephemeral_storage[u] - k->req_ephemeral_storage[u];
		fit[i] = ok;
		bad += !ok;
	}
	return bad;
}

static int64_t broken_linear(const struct self *s, int64_t p)
{
	for (uint32_t i = 0; i < s->nshape; i++) {
		if (p <= s->shape[i].utilization) {
			if (i == 0)
				return s->shape[0].score;
			return s->shape[i - 1].score + (s->shape[i].score - s->shape[i - 1].score) *
				(p - s->shape[i - 1].utilization) /
				(s->shape[i].utilization - s->shape[i - 1].utilization);
		}
	}
	return s->shape[s->nshape - 1].score;
}

static int score(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		 const struct kp_node_info *node, int64_t *out, struct kp_status *st)
{
	const struct self *s = self;
	int64_t total = 0, wsum = 0;
	for (uint32_t i = 0; i < s->nres; i++) {
		const struct res *r = &s->res[i];
		int64_t alloc, req;
		switch (r->kind) {
		case R_CPU:
			alloc = node->allocatable.milli_cpu;
			req = node->nonzero_milli_cpu + pod->nonzero_milli_cpu;
			break;
		case R_MEM:
			alloc = node->allocatable.memory;
			req = node->nonzero_memory + pod->nonzero_memory;
			break;
		case R_EPH:
			alloc = node->allocatable.ephemeral_storage;
			req = node->requested.ephemeral_storage + pod->requests.ephemeral_storage;
			break;
		default: {
			int64_t preq = kp_resources_scalar(&pod->requests, r->name);
			if (preq == 0)
				continue; /* scalars the pod does not ask for do not count */
			alloc = kp_resources_scalar(&node->allocatable, r->name);
			req = kp_resources_scalar(&node->requested, r->name) + preq;
		}
		}
		if (alloc == 0)
			continue;
		int64_t sc;
		switch (s->strategy) {
		case LEAST:
			sc = req > alloc ? 0 : (alloc - req) * KP_MAX_NODE_SCORE / alloc;
			break;
		case MOST:
			sc = (req > alloc ? alloc : req) * KP_MAX_NODE_SCORE / alloc;
			break;
		default:
			sc = broken_linear(s, req > alloc ? 100 : req * 100 / alloc);
			if (sc <= 0)
				continue; /* RequestedToCapacityRatio ignores zero-scoring resources */
		}
		total += sc * r->weight;
		wsum += r->weight;
	}
	if (wsum == 0)
		*out = 0;
	else if (s->strategy == RTCR)
		*out = (int64_t)llround((double)total / (double)wsum);
	else
		*out = total / wsum;
	return KP_STATUS_SUCCESS;
}

/*
 * LeastAllocated's (alloc - req) * 100 / alloc (0 when req > alloc) without
 * a 64-bit integer division, which costs ~40-80 cycles and is not
 * pipelined; the double division is, and gives the same integer here:
 * with 0 <= req <= alloc < 2^46, x = (alloc - req) * 100 and alloc are
 * exact doubles (x < 2^53), so fl(x / alloc) is within x/alloc * 2^-53 <=
 * 100 * 2^-53 of the true quotient q. If q is an integer, fl(q) = q. If
 * not, q is at least 1/alloc > 100 * 2^-53 below the next integer, and fl
 * is monotonic, so fl(q) lies in [floor(q), floor(q) + 1) and truncates
 * to floor(q) like the integer division. Other values take the integer
 * path.
 */
static inline int64_t least_allocated(int64_t req, int64_t alloc)
{
	if (req > alloc)
		return 0;
	if (req >= 0 && alloc < ((int64_t)1 << 46))
		return (int64_t)((double)((alloc - req) * KP_MAX_NODE_SCORE) / (double)alloc);
	return (alloc - req) * KP_MAX_NODE_SCORE / alloc;
}

/*
 * LeastAllocated / MostAllocated over cpu, memory and ephemeral storage
 * (the configurations without scalar resources) in one loop; anything
 * else is declined and scored per node.
 */
static int score_batch(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		       const struct kp_node_info *const *nodes, const uint32_t *idx,
		       size_t n, int64_t *scores)
{
	const struct self *s = self;
	if (s->strategy == RTCR || s->nres > 3)
		return KP_STATUS_ERROR;
	for (uint32_t r = 0; r < s->nres; r++)
		if (s->res[r].kind == R_SCALAR)
			return KP_STATUS_ERROR;
	const uint32_t nres = s->nres;
	const bool most = s->strategy == MOST;
	if (!most && nres == 2 && s->res[0].kind == R_CPU && s->res[1].kind == R_MEM) {
		/* the default: LeastAllocated over cpu and memory */
		const int64_t wc = s->res[0].weight, wm = s->res[1].weight;
		const int64_t pc = pod->nonzero_milli_cpu, pm = pod->nonzero_memory;
		const struct kp_node_cols *k = kp_snapshot_cols(cy->snapshot);
		for (size_t i = 0; i < n; i++) {
			uint32_t u = idx[i];
			int64_t ac = k->alloc_milli_cpu[u], am = k->alloc_memory[u];
			int64_t rc = k->nonzero_milli_cpu[u] + pc, rm = k->nonzero_memory[u] + pm;
			int64_t total = 0, wsum = 0;
			if (ac != 0) {
				total += least_allocated(rc, ac) * wc;
				wsum += wc;
			}
			if (am != 0) {
				total += least_allocated(rm, am) * wm;
				wsum += wm;
			}
			/* the default weights (1, 1) on a node with both: halve the
			 * non-negative sum (what the division does) */
			if (wsum == 2 && total >= 0)
				scores[i] = total >> 1;
			else
				scores[i] = wsum ? total / wsum : 0;
		}
		return KP_STATUS_SUCCESS;
	}
	for (size_t i = 0; i < n; i++) {
		const struct kp_node_info *node = nodes[i];
		int64_t total = 0, wsum = 0;
		for (uint32_t r = 0; r < nres; r++) {
			int64_t alloc, req;
			switch (s->res[r].kind) {
			case R_CPU:
				alloc = node->allocatable.milli_cpu;
				req = node->nonzero_milli_cpu + pod->nonzero_milli_cpu;
				break;
			case R_MEM:
				alloc = node->allocatable.memory;
				req = node->nonzero_memory + pod->nonzero_memory;
				break;
			default:
				alloc = node->allocatable.ephemeral_storage;
				req = node->requested.ephemeral_storage + pod->requests.ephemeral_storage;
			}
			if (alloc == 0)
				continue;
			int64_t sc;
			if (most)
				sc = (req > alloc ? alloc : req) * KP_MAX_NODE_SCORE / alloc;
			else
				sc = req > alloc ? 0 : (alloc - req) * KP_MAX_NODE_SCORE / alloc;
			total += sc * s->res[r].weight;
			wsum += s->res[r].weight;
		}
		scores[i] = wsum ? total / wsum : 0;
	}
	return KP_STATUS_SUCCESS;
}

static const struct kp_sched_ops ops = {
	KP_SCHED_OPS,
	.init = init,
	.fini = fini,
	.events_to_register = events,
	.filter = filter,
	.score = score,
	.filter_batch = filter_batch,
	.score_batch = score_batch,
};

KP_PLUGIN_DEFINE(NodeResourcesFit) = {
	KP_PLUGIN_HEADER(KP_PLUGIN_SCHED),
	.name = "NodeResourcesFit",
	.version = "1.0",
	.description = "filter: requests fit the node; score: Least/MostAllocated or RequestedToCapacityRatio",
	.sched = &ops,
	.args = arg_spec,
	.args_size = sizeof(struct args),
};

/*
 * node-resources-balanced-allocation.c - NodeResourcesBalancedAllocation
 * (kube-scheduler's plugins/noderesources/balanced_allocation.go): favours
 * nodes whose resource fractions (requested incl. this pod / allocatable,
 * capped at 1) are close to each other: score = (1 - stddev) * 100, with
 * stddev = |f1 - f2| / 2 for two resources. Uses actual requests (not the
 * non-zero defaults); skipped for pods that request none of the resources.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/plugin.h>

enum res_kind { R_CPU, R_MEM, R_EPH, R_SCALAR };

struct res {
	int kind;
	int32_t name;
};

struct args {
	const json_t *resources;
};

struct self {
	uint32_t nres;
	struct res res[16];
};

static const struct kp_arg_spec arg_spec[] = {
	{ "resources", KP_ARG_JSON, offsetof(struct args, resources),
	  "[{\"name\":\"cpu\",\"weight\":1},{\"name\":\"memory\",\"weight\":1}]", 0, 0 },
	{ NULL, 0, 0, NULL, 0, 0 },
};

static int init(const struct kp_sched_init *in, void **out, char **errmsg)
{
	const struct args *a = in->args;
	if (!json_is_array(a->resources))
		return kp_error_set(errmsg, KP_EINVAL, "resources: must be a list");
	struct self *s = calloc(1, sizeof(*s));
	if (!s)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	size_t i;
	json_t *r;
	json_array_foreach(a->resources, i, r) {
		const char *name = json_string_value(json_object_get(r, "name"));
		json_t *w = json_object_get(r, "weight");
		if (!name || !*name) {
			free(s);
			return kp_error_set(errmsg, KP_EINVAL, "resources[%zu].name: Required value", i);
		}
		/* kube only accepts weight 1 here: the formula ignores weights */
		if (w && (!json_is_integer(w) || json_integer_value(w) != 1)) {
			free(s);
			return kp_error_set(errmsg, KP_EINVAL,
					    "resources[%zu].weight: Invalid value: must be 1", i);
		}
		if (s->nres == 16) {
			free(s);
			return kp_error_set(errmsg, KP_E2BIG, "resources: more than 16 entries");
		}
		int kind = !strcmp(name, "cpu") ? R_CPU : !strcmp(name, "memory") ? R_MEM
			 : !strcmp(name, "ephemeral-storage") ? R_EPH : R_SCALAR;
		s->res[s->nres++] = (struct res){ kind, kp_intern(name) };
	}
	*out = s;
	return 0;
}

static void fini(void *self)
{
	free(self);
}

static int64_t pod_req(const struct res *r, const struct kp_pod_info *pod)
{
	switch (r->kind) {
	case R_CPU: return pod->requests.milli_cpu;
	case R_MEM: return pod->requests.memory;
	case R_EPH: return pod->requests.ephemeral_storage;
	}
	return kp_resources_scalar(&pod->requests, r->name);
}

static int pre_score(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		     const struct kp_node_info *const *nodes, size_t n, struct kp_status *st)
{
	const struct self *s = self;
	for (uint32_t i = 0; i < s->nres; i++)
		if (pod_req(&s->res[i], pod) != 0)
			return KP_STATUS_SUCCESS;
	return KP_STATUS_SKIP; /* best-effort for these resources: nothing to balance */
}

static int score(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		 const struct kp_node_info *node, int64_t *out, struct kp_status *st)
{
	const struct self *s = self;
	double fr[16], total = 0;
	uint32_t nf = 0;
	for (uint32_t i = 0; i < s->nres; i++) {
		const struct res *r = &s->res[i];
		int64_t preq = pod_req(r, pod), alloc, req;
		switch (r->kind) {
		case R_CPU:
			alloc = node->allocatable.milli_cpu;
			req = node->requested.milli_cpu + preq;
			break;
		case R_MEM:
			alloc = node->allocatable.memory;
			req = node->requested.memory + preq;
			break;
		case R_EPH:
			alloc = node->allocatable.ephemeral_storage;
			req = node->requested.ephemeral_storage + preq;
			break;
		default:
			if (preq == 0)
				continue;
			alloc = kp_resources_scalar(&node->allocatable, r->name);
			req = kp_resources_scalar(&node->requested, r->name) + preq;
		}
		if (alloc == 0)
			continue;
		double f = (double)req / (double)alloc;
		if (f > 1)
			f = 1;
		fr[nf++] = f;
		total += f;
	}
	double sd = 0;
	if (nf == 2) {
		sd = fabs((fr[0] - fr[1]) / 2);
	} else if (nf > 2) {
		double mean = total / nf, sum = 0;
		for (uint32_t i = 0; i < nf; i++)
			sum += (fr[i] - mean) * (fr[i] - mean);
		sd = sqrt(sum / nf);
	}
	*out = (int64_t)((1 - sd) * KP_MAX_NODE_SCORE);
	return KP_STATUS_SUCCESS;
}

/*
 * The same arithmetic as score(), in the same order (so the same doubles),
 * with the pod's requests looked up once; resource lists with scalar
 * resources are declined and scored per node.
 */
static int score_batch(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		       const struct kp_node_info *const *nodes, const uint32_t *idx,
		       size_t n, int64_t *scores)
{
	const struct self *s = self;
	int64_t preq[16];
	for (uint32_t r = 0; r < s->nres; r++) {
		if (s->res[r].kind == R_SCALAR)
			return KP_STATUS_ERROR;
		preq[r] = pod_req(&s->res[r], pod);
	}
	const uint32_t nres = s->nres;
	if (nres == 2 && s->res[0].kind == R_CPU && s->res[1].kind == R_MEM) {
		/* the default resources, unrolled */
		const int64_t pc = preq[0], pm = preq[1];
		const struct kp_node_cols *k = kp_snapshot_cols(cy->snapshot);
		for (size_t i = 0; i < n; i++) {
			uint32_t u = idx[i];
			int64_t ac = k->alloc_milli_cpu[u], am = k->alloc_memory[u];
			double fr[2];
			uint32_t nf = 0;
			if (ac != 0) {
				double f = (double)(k->req_milli_cpu[u] + pc) / (double)ac;
				fr[nf++] = f > 1 ? 1 : f;
			}
			if (am != 0) {
				double f = (double)(k->req_memory[u] + pm) / (double)am;
				fr[nf++] = f > 1 ? 1 : f;
			}
			double sd = nf == 2 ? fabs((fr[0] - fr[1]) / 2) : 0;
			scores[i] = (int64_t)((1 - sd) * KP_MAX_NODE_SCORE);
		}
		return KP_STATUS_SUCCESS;
	}
	for (size_t i = 0; i < n; i++) {
		const struct kp_node_info *node = nodes[i];
		double fr[16], total = 0;
		uint32_t nf = 0;
		for (uint32_t r = 0; r < nres; r++) {
			int64_t alloc, req;
			switch (s->res[r].kind) {
			case R_CPU:
				alloc = node->allocatable.milli_cpu;
				req = node->requested.milli_cpu + preq[r];
				break;
			case R_MEM:
				alloc = node->allocatable.memory;
				req = node->requested.memory + preq[r];
				break;
			default:
				alloc = node->allocatable.ephemeral_storage;
				req = node->requested.ephemeral_storage + preq[r];
			}
			if (alloc == 0)
				continue;
			double f = (double)req / (double)alloc;
			if (f > 1)
				f = 1;
			fr[nf++] = f;
			total += f;
		}
		double sd = 0;
		if (nf == 2) {
			sd = fabs((fr[0] - fr[1]) / 2);
		} else if (nf > 2) {
			double mean = total / nf, sum = 0;
			for (uint32_t k = 0; k < nf; k++)
				sum += (fr[k] - mean) * (fr[k] - mean);
			sd = sqrt(sum / nf);
		}
		scores[i] = (int64_t)((1 - sd) * KP_MAX_NODE_SCORE);
	}
	return KP_STATUS_SUCCESS;
}

static const struct kp_sched_ops ops = {
	KP_SCHED_OPS,
	.init = init,
	.fini = fini,
	.pre_score = pre_score,
	.score = score,
	.score_batch = score_batch,
};

KP_PLUGIN_DEFINE(NodeResourcesBalancedAllocation) = {
	KP_PLUGIN_HEADER(KP_PLUGIN_SCHED),
	.name = "NodeResourcesBalancedAllocation",
	.version = "1.0",
	.description = "score: balanced cpu/memory utilisation after placing the pod",
	.sched = &ops,
	.args = arg_spec,
	.args_size = sizeof(struct args),
};

/*
 * image-locality.c - ImageLocality (kube-scheduler's plugins/imagelocality):
 * favours nodes that already have the pod's images, each image's size
 * scaled by the fraction of nodes having it, the sum clamped to
 * [23 MiB, 1000 MiB x containers] and mapped linearly to 0..100.
 */
#include "config.h"

#include <kplane/plugin.h>

#define MB (1024LL * 1024)
#define MIN_THRESHOLD (23 * MB)
#define MAX_CONTAINER_THRESHOLD (1000 * MB)

static int score(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		 const struct kp_node_info *node, int64_t *out, struct kp_status *st)
{
	uint32_t total_nodes = cy->snapshot->nnodes;
	int64_t sum = 0;
	for (uint32_t i = 0; i < pod->nimages; i++) {
		int64_t size = kp_node_image_size(node, pod->images[i]);
		if (!size || !total_nodes)
			continue;
		double spread = (double)kp_snapshot_image_nodes(cy->snapshot, pod->images[i]) /
				(double)total_nodes;
		sum += (int64_t)((double)size * spread);
	}
	int64_t max = MAX_CONTAINER_THRESHOLD * (int64_t)(pod->nimages ? pod->nimages : 1);
	if (sum < MIN_THRESHOLD)
		sum = MIN_THRESHOLD;
	else if (sum > max)
		sum = max;
	*out = KP_MAX_NODE_SCORE * (sum - MIN_THRESHOLD) / (max - MIN_THRESHOLD);
	return KP_STATUS_SUCCESS;
}

/* A node without images scores what a sum of 0 gives: computed once. */
static int score_batch(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		       const struct kp_node_info *const *nodes, const uint32_t *idx,
		       size_t n, int64_t *scores)
{
	int64_t max = MAX_CONTAINER_THRESHOLD * (int64_t)(pod->nimages ? pod->nimages : 1);
	int64_t none = KP_MAX_NODE_SCORE * (MIN_THRESHOLD - MIN_THRESHOLD) / (max - MIN_THRESHOLD);
	const uint32_t *nimages = kp_snapshot_cols(cy->snapshot)->nimages;
	for (size_t i = 0; i < n; i++) {
		if (nimages[idx[i]] == 0 || pod->nimages == 0)
			scores[i] = none;
		else
			score(self, cy, pod, nodes[i], &scores[i], NULL);
	}
	return KP_STATUS_SUCCESS;
}

static const struct kp_sched_ops ops = {
	KP_SCHED_OPS,
	.score = score,
	.score_batch = score_batch,
};

KP_PLUGIN_DEFINE(ImageLocality) = {
	KP_PLUGIN_HEADER(KP_PLUGIN_SCHED),
	.name = "ImageLocality",
	.version = "1.0",
	.description = "score: nodes that already have the pod's images",
	.sched = &ops,
};

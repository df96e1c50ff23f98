/*
 * taint-toleration.c - TaintToleration (kube-scheduler's
 * plugins/tainttoleration). Filter: every NoSchedule/NoExecute taint must
 * be tolerated. Score: the number of PreferNoSchedule taints the pod does
 * not tolerate, normalised in reverse (fewest intolerable taints = 100).
 */
#include "config.h"

#include <kplane/plugin.h>

static size_t events(void *self, struct kp_cluster_event *out, size_t cap)
{
	static const struct kp_cluster_event ev[] = {
		{ KP_EV_NODE, KP_EV_ADD | KP_EV_UPDATE_NODE_TAINT },
		{ KP_EV_POD, KP_EV_UPDATE_POD_TOLERATION },
	};
	size_t n = cap < 2 ? cap : 2;
	for (size_t i = 0; i < n; i++)
		out[i] = ev[i];
	return n;
}

static bool tolerated(const struct kp_pod_info *pod, const struct kp_taint *t, bool prefer_only)
{
	for (uint32_t i = 0; i < pod->ntolerations; i++) {
		const struct kp_toleration *tol = &pod->tolerations[i];
		/* scoring considers only tolerations with effect PreferNoSchedule or empty */
		if (prefer_only && tol->effect != KP_EFFECT_ALL &&
		    tol->effect != KP_EFFECT_PREFER_NO_SCHEDULE)
			continue;
		if (kp_toleration_tolerates(tol, t))
			return true;
	}
	return false;
}

static int filter(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		  const struct kp_node_info *node, struct kp_status *st)
{
	for (uint32_t i = 0; i < node->ntaints; i++) {
		const struct kp_taint *t = &node->taints[i];
		if (t->effect != KP_EFFECT_NO_SCHEDULE && t->effect != KP_EFFECT_NO_EXECUTE)
			continue;
		if (!tolerated(pod, t, false)) {
			kp_status_addf(st, "node(s) had untolerated taint {%s: %s}", kp_intern_str(t->key),
				       kp_intern_str(t->value));
			return KP_STATUS_UNRESOLVABLE;
		}
	}
	return KP_STATUS_SUCCESS;
}

static int score(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		 const struct kp_node_info *node, int64_t *out, struct kp_status *st)
{
	int64_t n = 0;
	for (uint32_t i = 0; i < node->ntaints; i++) {
		const struct kp_taint *t = &node->taints[i];
		if (t->effect == KP_EFFECT_PREFER_NO_SCHEDULE && !tolerated(pod, t, true))
			n++;
	}
	*out = n;
	return KP_STATUS_SUCCESS;
}

/* Nodes without taints (most of them) pass and score 0 without a call. */
static size_t filter_batch(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
			   const struct kp_node_info *const *nodes, const uint32_t *idx,
			   size_t n, uint8_t *fit)
{
	struct kp_status st;
	size_t bad = 0;
	const uint32_t *ntaints = kp_snapshot_cols(cy->snapshot)->ntaints;
	for (size_t i = 0; i < n; i++) {
		if (ntaints[idx[i]] == 0) {
			fit[i] = 1;
			continue;
		}
		st.nreasons = 0;
		st.buflen = 0;
		fit[i] = filter(self, cy, pod, nodes[i], &st) == KP_STATUS_SUCCESS;
		bad += !fit[i];
	}
	return bad;
}

static int score_batch(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		       const struct kp_node_info *const *nodes, const uint32_t *idx,
		       size_t n, int64_t *scores)
{
	const uint32_t *ntaints = kp_snapshot_cols(cy->snapshot)->ntaints;
	for (size_t i = 0; i < n; i++) {
		scores[i] = 0;
		if (ntaints[idx[i]])
			score(self, cy, pod, nodes[i], &scores[i], NULL);
	}
	return KP_STATUS_SUCCESS;
}

/* kube's DefaultNormalizeScore(MaxNodeScore, reverse=true) */
static int normalize(void *self, struct kp_cycle *cy, const struct kp_pod_info *pod,
		     const struct kp_node_info *const *nodes, int64_t *scores, size_t n,
		     struct kp_status *st)
{
	int64_t max = 0;
	for (size_t i = 0; i < n; i++)
		if (scores[i] > max)
			max = scores[i];
	if (max == 0) {
		for (size_t i = 0; i < n; i++)
			scores[i] = KP_MAX_NODE_SCORE;
		return KP_STATUS_SUCCESS;
	}
	for (size_t i = 0; i < n; i++)
		scores[i] = max == 0 ? KP_MAX_NODE_SCORE
				     : KP_MAX_NODE_SCORE - KP_MAX_NODE_SCORE * scores[i] / max;
	return KP_STATUS_SUCCESS;
}

static const struct kp_sched_ops ops = {
	KP_SCHED_OPS,
	.events_to_register = events,
	.filter = filter,
	.score = score,
	.normalize_score = normalize,
	.filter_batch = filter_batch,
	.score_batch = score_batch,
};

KP_PLUGIN_DEFINE(TaintToleration) = {
	KP_PLUGIN_HEADER(KP_PLUGIN_SCHED),
	.name = "TaintToleration",
	.version = "1.0",
	.description = "filter: untolerated NoSchedule/NoExecute taints; score: PreferNoSchedule taints",
	.sched = &ops,
};

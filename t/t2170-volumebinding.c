/*
 * t2170-volumebinding.c - VolumeBinding (plugins/filter/volume-binding.c)
 * through its static descriptor, against hand-built PVs, PVCs and classes.
 *
 * Every expectation follows from kube-scheduler's volumebinding plugin and
 * volume binder as stated in the comment of each case (not from running
 * the plugin).
 */
#include "config.h"

#include "t/sched-more-lib.h"

extern const struct kp_plugin kp_plugin_VolumeBinding;
static const struct kp_plugin *PL = &kp_plugin_VolumeBinding;

static struct tsnap *S;
static struct tnode *N1, *N2, *N3;
static void *SELF;
static int node_set_dummy;
#define NODESET ((struct kp_node_set *)&node_set_dummy)

static void sc(const char *name, const char *mode, const char *prov, const char *extra)
{
	char b[1024];
	snprintf(b, sizeof(b),
		 "{\"kind\":\"StorageClass\",\"metadata\":{\"name\":\"%s\"},\"provisioner\":\"%s\","
		 "\"volumeBindingMode\":\"%s\"%s}", name, prov, mode, extra);
	t_object(S, "StorageClass", b);
}

/* A PV; affinity is a nodeSelectorTerms JSON array or NULL; claim a claimRef
 * object or NULL. */
static void pv(const char *name, const char *cls, const char *cap, const char *modes,
	       const char *affinity, const char *phase, const char *claim, const char *labels)
{
	char b[2048], aff[768] = "", ref[300] = "";
	if (affinity)
		snprintf(aff, sizeof(aff), ",\"nodeAffinity\":{\"required\":{\"nodeSelectorTerms\":%s}}",
			 affinity);
	if (claim)
		snprintf(ref, sizeof(ref), ",\"claimRef\":%s", claim);
	snprintf(b, sizeof(b),
		 "{\"kind\":\"PersistentVolume\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"%s\","
		 "\"resourceVersion\":\"7\",\"labels\":{%s}},\"spec\":{\"storageClassName\":\"%s\","
		 "\"capacity\":{\"storage\":\"%s\"},\"accessModes\":%s%s%s},"
		 "\"status\":{\"phase\":\"%s\"}}",
		 name, labels ? labels : "", cls, cap, modes, aff, ref, phase);
	t_object(S, "PersistentVolume", b);
}

/* A claim in "default"; volume is spec.volumeName or NULL; ann annotation
 * members; extra more spec members (with a leading comma). */
static void pvc(const char *name, const char *cls, const char *req, const char *volume,
		const char *ann, const char *extra)
{
	char b[2048], vol[200] = "";
	if (volume)
		snprintf(vol, sizeof(vol), ",\"volumeName\":\"%s\"", volume);
	snprintf(b, sizeof(b),
		 "{\"kind\":\"PersistentVolumeClaim\",\"apiVersion\":\"v1\",\"metadata\":{"
		 "\"namespace\":\"default\",\"name\":\"%s\",\"uid\":\"uid-%s\",\"resourceVersion\":\"9\","
		 "\"annotations\":{%s}},\"spec\":{\"storageClassName\":\"%s\",\"accessModes\":"
		 "[\"ReadWriteOnce\"],\"resources\":{\"requests\":{\"storage\":\"%s\"}}%s%s},"
		 "\"status\":{\"phase\":\"%s\"}}",
		 name, name, ann ? ann : "", cls, req, vol, extra ? extra : "",
		 volume ? "Bound" : "Pending");
	t_object(S, "PersistentVolumeClaim", b);
}

/* A pod using the claims (comma-separated). */
static struct tpod *pod_with(const char *name, const char *claims)
{
	char vols[1024] = "\"volumes\":[{\"name\":\"cache\",\"emptyDir\":{}}";
	char *copy = strdup(claims), *save = NULL;
	for (char *c = strtok_r(copy, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
		char one[200];
		snprintf(one, sizeof(one),
			 ",{\"name\":\"v-%s\",\"persistentVolumeClaim\":{\"claimName\":\"%s\"}}", c, c);
		strcat(vols, one);
	}
	strcat(vols, "]");
	free(copy);
	return t_pod(name, 0, 0, 0, "", vols, "");
}

static struct kp_status ST;

static int prefilter(struct tcycle *c, struct tpod *p)
{
	memset(&ST, 0, sizeof(ST));
	return PL->sched->pre_filter(SELF, &c->cy, &p->info, NODESET, &ST);
}

static int filter(struct tcycle *c, struct tpod *p, struct tnode *n)
{
	memset(&ST, 0, sizeof(ST));
	return PL->sched->filter(SELF, &c->cy, &p->info, &n->info, &ST);
}

static int reserve(struct tcycle *c, struct tpod *p, struct tnode *n)
{
	memset(&ST, 0, sizeof(ST));
	return PL->sched->reserve(SELF, &c->cy, &p->info, &n->info, &ST);
}

static int prebind(struct tcycle *c, struct tpod *p, struct tnode *n)
{
	memset(&ST, 0, sizeof(ST));
	return PL->sched->pre_bind(SELF, &c->cy, &p->info, &n->info, &ST);
}

/* Field of the i-th object written through the host. */
static const char *written(size_t i, const char *path)
{
	return kp_obj_str(json_array_get(t_host.updates, i), path);
}

#define RWO "[\"ReadWriteOnce\"]"
#define ZONE_A "[{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\",\"values\":[\"a\"]}]}]"
#define ZONE_B "[{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\",\"values\":[\"b\"]}]}]"
#define BIND_CONFLICT "node(s) didn't find available persistent volumes to bind"
#define NODE_CONFLICT "node(s) had volume node affinity conflict"

int main(void)
{
	plan(85);
	t_host_reset();
	S = t_snap();
	N1 = t_node("n1", "zone=a,kubernetes.io/hostname=n1", 4000, 1 << 30, 110);
	N2 = t_node("n2", "zone=b,kubernetes.io/hostname=n2", 4000, 1 << 30, 110);
	N3 = t_node("n3", "zone=a,kubernetes.io/hostname=n3", 4000, 1 << 30, 110);
	t_snap_nodes(S, N1, N2, N3, NULL);
	/* "local": WaitForFirstConsumer, no dynamic provisioning;
	 * "imm": Immediate; "dyn": WaitForFirstConsumer, provisioner, only zone b;
	 * "dyn2": WaitForFirstConsumer, provisioner, anywhere. */
	sc("local", "WaitForFirstConsumer", "kubernetes.io/no-provisioner", "");
	sc("imm", "Immediate", "example.com/csi", "");
	sc("dyn", "WaitForFirstConsumer", "example.com/csi",
	   ",\"allowedTopologies\":[{\"matchLabelExpressions\":[{\"key\":\"zone\",\"values\":[\"b\"]}]}]");
	sc("dyn2", "WaitForFirstConsumer", "example.com/csi", "");

	char *err = NULL;
	void *refused = t_init(PL, "{\"shape\":[{\"utilization\":0,\"score\":0}]}", &err);
	ok(!refused && err && strstr(err, "args.shape"), "args: shape is refused (scoring left out): %s",
	   err ? err : "(none)");
	free(err);
	err = NULL;
	SELF = t_init(PL, NULL, &err);
	ok(SELF != NULL, "init with default args (bindTimeoutSeconds 600)");

	struct tcycle *c;
	struct tpod *p;

	/* 1. No claim among the volumes: PreFilter says Skip (podHasPVCs false). */
	c = t_cycle(S);
	p = t_pod("plain", 0, 0, 0, "", "\"volumes\":[{\"name\":\"x\",\"emptyDir\":{}}]", "");
	is_int(prefilter(c, p), KP_STATUS_SKIP, "pod without claims: Skip");
	is_int(filter(c, p, N1), KP_STATUS_SUCCESS, "Filter after Skip passes");
	is_int(reserve(c, p, N1), KP_STATUS_SUCCESS, "Reserve after Skip passes");
	is_int(prebind(c, p, N1), KP_STATUS_SUCCESS, "PreBind after Skip has nothing to do");

	/* 2. Missing claim: the lister's NotFound text, UnschedulableAndUnresolvable. */
	c = t_cycle(S);
	p = pod_with("p-missing", "nope");
	is_int(prefilter(c, p), KP_STATUS_UNRESOLVABLE, "missing claim: unresolvable");
	is_str(t_reasons(&ST), "persistentvolumeclaim \"nope\" not found", "missing claim message");

	/* 3. Generic ephemeral volume whose claim "<pod>-<volume>" is not created yet. */
	c = t_cycle(S);
	p = t_pod("p-eph", 0, 0, 0, "", "\"volumes\":[{\"name\":\"scratch\",\"ephemeral\":"
		  "{\"volumeClaimTemplate\":{\"spec\":{}}}}]", "");
	is_int(prefilter(c, p), KP_STATUS_UNRESOLVABLE, "ephemeral claim missing: unresolvable");
	is_str(t_reasons(&ST), "waiting for ephemeral volume controller to create the "
	       "persistentvolumeclaim \"p-eph-scratch\"", "ephemeral claim message");
	/* ... and when it exists but another pod owns it */
	t_object(S, "PersistentVolumeClaim", "{\"metadata\":{\"namespace\":\"default\","
		 "\"name\":\"p-eph-scratch\",\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":"
		 "\"Pod\",\"name\":\"other\",\"uid\":\"uid-other\",\"controller\":true}]},"
		 "\"spec\":{\"storageClassName\":\"dyn2\"}}");
	c = t_cycle(S);
	is_int(prefilter(c, p), KP_STATUS_UNRESOLVABLE, "ephemeral claim of another pod");
	is_str(t_reasons(&ST), "PVC default/p-eph-scratch was not created for pod default/p-eph "
	       "(pod is not owner)", "ephemeral owner message");

	/* 4./5. Deleting and Lost claims. */
	pvc("del", "local", "1Gi", NULL, NULL, NULL);
	kp_obj_set_str((json_t *)kp_snapshot_object(&S->snap, "PersistentVolumeClaim", "default", "del"),
		       "metadata.deletionTimestamp", "2024-01-01T00:00:00Z");
	c = t_cycle(S);
	p = pod_with("p-del", "del");
	is_int(prefilter(c, p), KP_STATUS_UNRESOLVABLE, "deleting claim: unresolvable");
	is_str(t_reasons(&ST), "persistentvolumeclaim \"del\" is being deleted", "deleting message");
	pvc("lost", "local", "1Gi", "pv-gone", NULL, NULL);
	kp_obj_set_str((json_t *)kp_snapshot_object(&S->snap, "PersistentVolumeClaim", "default", "lost"),
		       "status.phase", "Lost");
	c = t_cycle(S);
	p = pod_with("p-lost", "lost");
	is_int(prefilter(c, p), KP_STATUS_UNRESOLVABLE, "lost claim: unresolvable");
	is_str(t_reasons(&ST), "persistentvolumeclaim \"lost\" bound to non-existent "
	       "persistentvolume \"pv-gone\"", "lost message");

	/* 6. Unbound claim of an Immediate class: the PV controller's job, not ours. */
	pvc("c-imm", "imm", "1Gi", NULL, NULL, NULL);
	c = t_cycle(S);
	p = pod_with("p-imm", "c-imm");
	is_int(prefilter(c, p), KP_STATUS_UNRESOLVABLE, "unbound Immediate claim: unresolvable");
	is_str(t_reasons(&ST), "pod has unbound immediate PersistentVolumeClaims", "immediate message");

	/* 7. volumeName set without pv.kubernetes.io/bind-completed: pre-bound,
	 * which kube treats as unbound immediate even in a WFFC class. */
	pvc("c-prebound", "local", "1Gi", "pv-x", NULL, NULL);
	c = t_cycle(S);
	p = pod_with("p-prebound", "c-prebound");
	is_int(prefilter(c, p), KP_STATUS_UNRESOLVABLE, "pre-bound claim counts as immediate");
	is_str(t_reasons(&ST), "pod has unbound immediate PersistentVolumeClaims", "pre-bound message");

	/* 8. Bound claim: its PV (zone a) must admit the node (CheckNodeAffinity). */
	pv("pv-a", "local", "10Gi", RWO, ZONE_A, "Bound", NULL, NULL);
	pvc("c-bound", "local", "1Gi", "pv-a", "\"pv.kubernetes.io/bind-completed\":\"yes\"", NULL);
	c = t_cycle(S);
	p = pod_with("p-bound", "c-bound");
	free(t_host.restricted);
	t_host.restricted = NULL;
	is_int(prefilter(c, p), KP_STATUS_SUCCESS, "bound claim: PreFilter passes");
	ok(t_host.restricted == NULL, "no hostname term: node set not restricted");
	is_int(filter(c, p, N1), KP_STATUS_SUCCESS, "bound PV in zone a fits n1 (zone a)");
	is_int(filter(c, p, N2), KP_STATUS_UNRESOLVABLE, "bound PV in zone a rejects n2 (zone b)");
	is_str(t_reasons(&ST), NODE_CONFLICT, "n2 reason");
	is_int(filter(c, p, N3), KP_STATUS_SUCCESS, "bound PV in zone a fits n3");
	is_int(reserve(c, p, N1), KP_STATUS_SUCCESS, "Reserve with only bound claims");
	is_int(prebind(c, p, N1), KP_STATUS_SUCCESS, "PreBind with only bound claims");
	is_int((int)json_array_size(t_host.updates), 0, "... writes nothing (all bound)");

	/* 9. Bound claim whose PV is gone. */
	pvc("c-orphan", "local", "1Gi", "pv-none", "\"pv.kubernetes.io/bind-completed\":\"yes\"", NULL);
	c = t_cycle(S);
	p = pod_with("p-orphan", "c-orphan");
	is_int(prefilter(c, p), KP_STATUS_SUCCESS, "bound claim without PV: PreFilter passes");
	is_int(filter(c, p, N1), KP_STATUS_UNRESOLVABLE, "... Filter rejects every node");
	is_str(t_reasons(&ST), "node(s) unavailable due to one or more pvc(s) bound to "
	       "non-existent pv(s)", "missing PV reason");

	/* 10. Bound local PV pinned with kubernetes.io/hostname In [n3]:
	 * GetEligibleNodes restricts the attempt to n3. */
	pv("pv-local", "local", "10Gi", RWO, "[{\"matchExpressions\":[{\"key\":"
	   "\"kubernetes.io/hostname\",\"operator\":\"In\",\"values\":[\"n3\"]}]}]", "Bound", NULL, NULL);
	pvc("c-local", "local", "1Gi", "pv-local", "\"pv.kubernetes.io/bind-completed\":\"yes\"", NULL);
	c = t_cycle(S);
	p = pod_with("p-local", "c-local");
	is_int(prefilter(c, p), KP_STATUS_SUCCESS, "bound local PV: PreFilter passes");
	ok(t_host.restricted && t_host.nrestricted == 1 && t_host.restricted[0] == N3->info.name_id,
	   "node set restricted to n3");
	is_int(filter(c, p, N1), KP_STATUS_UNRESOLVABLE, "local PV on n3 rejects n1");
	is_int(filter(c, p, N3), KP_STATUS_SUCCESS, "local PV on n3 fits n3");

	/* 11. WaitForFirstConsumer claim, 5Gi RWO, class "local". Of the PVs:
	 *  pv-big 20Gi no affinity         fits everywhere
	 *  pv-small 8Gi zone b             fits n2 only, and is smaller than pv-big
	 *  pv-tiny 1Gi                     too small
	 *  pv-taken 6Gi claimRef other     bound to another claim
	 *  pv-rox 6Gi ReadOnlyMany         access modes do not cover RWO
	 *  pv-pending 6Gi phase Pending    not Available
	 *  pv-other 6Gi class "imm"        other class
	 * FindMatchingVolume picks the smallest fitting: n1 -> pv-big,
	 * n2 -> pv-small, n3 -> pv-big. */
	pv("pv-big", "local", "20Gi", RWO, NULL, "Available", NULL, NULL);
	pv("pv-small", "local", "8Gi", RWO, ZONE_B, "Available", NULL, NULL);
	pv("pv-tiny", "local", "1Gi", RWO, NULL, "Available", NULL, NULL);
	pv("pv-taken", "local", "6Gi", RWO, NULL, "Available",
	   "{\"namespace\":\"default\",\"name\":\"someone\"}", NULL);
	pv("pv-rox", "local", "6Gi", "[\"ReadOnlyMany\"]", NULL, "Available", NULL, NULL);
	pv("pv-pending", "local", "6Gi", RWO, NULL, "Pending", NULL, NULL);
	pv("pv-other", "imm", "6Gi", RWO, NULL, "Available", NULL, NULL);
	pvc("c-w1", "local", "5Gi", NULL, NULL, NULL);
	c = t_cycle(S);
	struct tpod *pw1 = pod_with("p-w1", "c-w1");
	is_int(prefilter(c, pw1), KP_STATUS_SUCCESS, "WFFC claim: PreFilter passes");
	is_int(filter(c, pw1, N1), KP_STATUS_SUCCESS, "n1 has a volume (pv-big)");
	is_int(filter(c, pw1, N2), KP_STATUS_SUCCESS, "n2 has a volume (pv-small)");
	is_int(filter(c, pw1, N3), KP_STATUS_SUCCESS, "n3 has a volume (pv-big)");
	is_int(reserve(c, pw1, N2), KP_STATUS_SUCCESS, "Reserve on n2");
	is_int(prebind(c, pw1, N2), KP_STATUS_SUCCESS, "PreBind on n2");
	is_int((int)json_array_size(t_host.updates), 2, "PreBind wrote the PV and the claim");
	is_str(written(0, "metadata.name"), "pv-small", "the smallest fitting PV on n2 is pv-small");
	is_str(written(0, "spec.claimRef.name"), "c-w1", "PV claimRef names the claim");
	is_str(written(0, "spec.claimRef.uid"), "uid-c-w1", "PV claimRef carries the claim uid");
	is_str(written(1, "spec.volumeName"), "pv-small", "claim's volumeName is pv-small");
	is_str(kp_obj_annotation(json_array_get(t_host.updates, 1), "pv.kubernetes.io/bind-completed"),
	       "yes", "claim is marked bind-completed");

	/* 12. The assumed binding hides pv-small from the next pod (as kube's
	 * assume cache does) until the store shows a newer PV: another 5Gi
	 * claim on n2 now gets pv-big. */
	pvc("c-w2", "local", "5Gi", NULL, NULL, NULL);
	t_host_reset();
	c = t_cycle(S);
	struct tpod *pw2 = pod_with("p-w2", "c-w2");
	is_int(prefilter(c, pw2), KP_STATUS_SUCCESS, "second WFFC pod: PreFilter passes");
	is_int(filter(c, pw2, N2), KP_STATUS_SUCCESS, "n2 still has a volume");
	is_int(reserve(c, pw2, N2), KP_STATUS_SUCCESS, "Reserve second pod on n2");
	is_int(prebind(c, pw2, N2), KP_STATUS_SUCCESS, "PreBind second pod");
	is_str(written(0, "metadata.name"), "pv-big", "pv-small is assumed: second pod gets pv-big");
	/* Unreserve both: a third pod then gets pv-small again. */
	PL->sched->unreserve(SELF, &c->cy, &pw1->info, &N2->info);
	PL->sched->unreserve(SELF, &c->cy, &pw2->info, &N2->info);
	t_host_reset();
	c = t_cycle(S);
	struct tpod *pw3 = pod_with("p-w3", "c-w2");
	is_int(prefilter(c, pw3), KP_STATUS_SUCCESS, "after Unreserve: PreFilter passes");
	is_int(filter(c, pw3, N2), KP_STATUS_SUCCESS, "after Unreserve: n2 fits");
	reserve(c, pw3, N2);
	prebind(c, pw3, N2);
	is_str(written(0, "metadata.name"), "pv-small", "after Unreserve pv-small is free again");
	PL->sched->unreserve(SELF, &c->cy, &pw3->info, &N2->info);

	/* 13. Two 5Gi claims in one pod get two different volumes; on n1 only
	 * pv-big fits a 5Gi claim (pv-small is zone b), so the second claim has
	 * none and "local" cannot provision: bind conflict. On n2 the first
	 * claim (volume order, equal sizes) gets pv-small, the second pv-big. */
	t_host_reset();
	c = t_cycle(S);
	struct tpod *p2 = pod_with("p-two", "c-w1,c-w2");
	is_int(prefilter(c, p2), KP_STATUS_SUCCESS, "two claims: PreFilter passes");
	is_int(filter(c, p2, N1), KP_STATUS_UNRESOLVABLE, "two claims: n1 has one volume only");
	is_str(t_reasons(&ST), BIND_CONFLICT, "two claims: n1 reason");
	is_int(filter(c, p2, N2), KP_STATUS_SUCCESS, "two claims: n2 has two volumes");
	reserve(c, p2, N2);
	prebind(c, p2, N2);
	ok(json_array_size(t_host.updates) == 4 && !strcmp(written(0, "metadata.name"), "pv-small") &&
	   !strcmp(written(1, "metadata.name"), "c-w1") &&
	   !strcmp(written(2, "metadata.name"), "pv-big") &&
	   !strcmp(written(3, "metadata.name"), "c-w2"),
	   "two claims: c-w1 -> pv-small, c-w2 -> pv-big");
	PL->sched->unreserve(SELF, &c->cy, &p2->info, &N2->info);

	/* 14. A PV pre-bound to the claim decides alone (FindMatchingVolume
	 * returns it, or nothing when its affinity rejects the node), even with
	 * other Available volumes around and though it is not Available. */
	pv("pv-pre", "local", "10Gi", RWO, ZONE_A, "Pending",
	   "{\"namespace\":\"default\",\"name\":\"c-pre\",\"uid\":\"uid-c-pre\"}", NULL);
	pvc("c-pre", "local", "5Gi", NULL, NULL, NULL);
	t_host_reset();
	c = t_cycle(S);
	p = pod_with("p-pre", "c-pre");
	is_int(prefilter(c, p), KP_STATUS_SUCCESS, "pre-bound PV: PreFilter passes");
	is_int(filter(c, p, N2), KP_STATUS_UNRESOLVABLE, "pre-bound PV (zone a) rejects n2");
	is_str(t_reasons(&ST), BIND_CONFLICT, "pre-bound PV: n2 reason");
	is_int(filter(c, p, N1), KP_STATUS_SUCCESS, "pre-bound PV fits n1");
	reserve(c, p, N1);
	prebind(c, p, N1);
	is_str(written(0, "metadata.name"), "pv-pre", "the pre-bound PV is used");
	PL->sched->unreserve(SELF, &c->cy, &p->info, &N1->info);

	/* 15. Dynamic provisioning: "dyn" has a provisioner and allows zone b only. */
	pvc("c-dyn", "dyn", "5Gi", NULL, NULL, NULL);
	t_host_reset();
	c = t_cycle(S);
	p = pod_with("p-dyn", "c-dyn");
	is_int(prefilter(c, p), KP_STATUS_SUCCESS, "provisioned claim: PreFilter passes");
	is_int(filter(c, p, N1), KP_STATUS_UNRESOLVABLE, "allowedTopologies zone b rejects n1");
	is_str(t_reasons(&ST), BIND_CONFLICT, "provisioning topology reason");
	is_int(filter(c, p, N2), KP_STATUS_SUCCESS, "allowedTopologies zone b admits n2");
	reserve(c, p, N2);
	is_int(prebind(c, p, N2), KP_STATUS_SUCCESS, "PreBind of a provisioned claim");
	ok(json_array_size(t_host.updates) == 1 &&
	   !strcmp(kp_obj_annotation(json_array_get(t_host.updates, 0),
				     "volume.kubernetes.io/selected-node"), "n2"),
	   "the claim gets volume.kubernetes.io/selected-node: n2");
	PL->sched->unreserve(SELF, &c->cy, &p->info, &N2->info);

	/* 16. A claim already annotated with a selected node only fits that node. */
	pvc("c-sel", "dyn2", "5Gi", NULL, "\"volume.kubernetes.io/selected-node\":\"n3\"", NULL);
	c = t_cycle(S);
	p = pod_with("p-sel", "c-sel");
	is_int(prefilter(c, p), KP_STATUS_SUCCESS, "selected-node claim: PreFilter passes");
	is_int(filter(c, p, N1), KP_STATUS_UNRESOLVABLE, "selected node n3 rejects n1");
	is_int(filter(c, p, N3), KP_STATUS_SUCCESS, "selected node n3 admits n3");

	/* 17. Both reasons at once, in kube's order: the bound PV is zone a and
	 * the WFFC claim has no volume on n2 either (class "local", 50Gi). */
	pvc("c-huge", "local", "50Gi", NULL, NULL, NULL);
	c = t_cycle(S);
	p = pod_with("p-both", "c-bound,c-huge");
	is_int(prefilter(c, p), KP_STATUS_SUCCESS, "bound + unbound: PreFilter passes");
	is_int(filter(c, p, N2), KP_STATUS_UNRESOLVABLE, "bound + unbound: n2 fails");
	is_str(t_reasons(&ST), NODE_CONFLICT "; " BIND_CONFLICT, "both reasons, in order");

	/* 18. Claim selector and volume mode restrict the match: the Block
	 * claim matches no filesystem PV; the selector claim takes the labeled
	 * 30Gi PV over the unlabeled smaller ones. */
	pv("pv-gold", "local", "30Gi", RWO, NULL, "Available", NULL, "\"tier\":\"gold\"");
	pvc("c-gold", "local", "5Gi", NULL, NULL,
	    ",\"selector\":{\"matchLabels\":{\"tier\":\"gold\"}}");
	pvc("c-block", "local", "5Gi", NULL, NULL, ",\"volumeMode\":\"Block\"");
	t_host_reset();
	c = t_cycle(S);
	p = pod_with("p-gold", "c-gold");
	is_int(prefilter(c, p), KP_STATUS_SUCCESS, "selector claim: PreFilter passes");
	is_int(filter(c, p, N1), KP_STATUS_SUCCESS, "selector claim fits n1");
	reserve(c, p, N1);
	prebind(c, p, N1);
	is_str(written(0, "metadata.name"), "pv-gold", "selector claim gets pv-gold");
	PL->sched->unreserve(SELF, &c->cy, &p->info, &N1->info);
	c = t_cycle(S);
	p = pod_with("p-block", "c-block");
	prefilter(c, p);
	is_int(filter(c, p, N1), KP_STATUS_UNRESOLVABLE, "Block claim matches no filesystem PV");

	/* 19. A failed write fails PreBind with an Error naming the object. */
	t_host_reset();
	c = t_cycle(S);
	p = pod_with("p-fail", "c-w1");
	prefilter(c, p);
	filter(c, p, N1);
	reserve(c, p, N1);
	t_host.fail_update = KP_ECONFLICT;
	is_int(prebind(c, p, N1), KP_STATUS_ERROR, "PreBind write failure: Error");
	ok(strstr(t_reasons(&ST), "pv-big") != NULL, "... naming the PV: %s", t_reasons(&ST));
	/* A host without a store (simulate) cannot write: the assumption stands. */
	t_host.fail_update = KP_ENOTSUP;
	is_int(prebind(c, p, N1), KP_STATUS_SUCCESS, "PreBind on a host without a store passes");
	PL->sched->unreserve(SELF, &c->cy, &p->info, &N1->info);

	t_cycle_end();
	PL->sched->fini(SELF);
	t_host_reset();
	return done_testing();
}

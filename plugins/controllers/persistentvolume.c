/*
 * persistentvolume.c - kube-controller-manager's PersistentVolume binder,
 * with a simulated local-path provisioner (as k3s ships):
 *  - at start a default StorageClass "standard" (provisioner
 *    kplane.io/local-path, WaitForFirstConsumer, reclaimPolicy Delete) is
 *    created when missing; claims without storageClassName get the default
 *    class (kube's retroactive default StorageClass assignment);
 *  - an unbound claim of an Immediate class (or without class) is bound to
 *    the smallest Available volume that matches (class, access modes,
 *    capacity, volumeMode, selector); one of a WaitForFirstConsumer class
 *    waits for the scheduler's volume.kubernetes.io/selected-node;
 *  - a claim that nothing matches and whose class has our provisioner gets
 *    a new volume "pvc-<claim uid>" of the requested size (pinned to the
 *    selected node), and is bound to it;
 *  - volumes without a claim are Available; a volume whose claim went away
 *    is Released and, with reclaimPolicy Delete, deleted.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <kplane/controller.h>
#include <kplane/quantity.h>
#include <kplane/selector.h>

#include "plugins/controllers/common.h"

enum { K_PVC, K_PV, K_SC };

static const struct kp_ctl_kind kinds[] = {
	{ "", "v1", "PersistentVolumeClaim", "persistentvolumeclaims" },
	{ "", "v1", "PersistentVolume", "persistentvolumes" },
	{ "storage.k8s.io", "v1", "StorageClass", "storageclasses" },
	{ NULL, NULL, NULL, NULL },
};

#define PROVISIONER "kplane.io/local-path"
#define A_DEFAULT "storageclass.kubernetes.io/is-default-class"
#define A_SELECTED "volume.kubernetes.io/selected-node"
#define A_BIND_COMPLETED "pv.kubernetes.io/bind-completed"
#define A_BOUND_BY "pv.kubernetes.io/bound-by-controller"
#define A_PROVISIONED_BY "pv.kubernetes.io/provisioned-by"

static int init(struct kp_ctl *c, const void *args, void **state, char **errmsg)
{
	(void)args;
	(void)state;
	json_t *live = kp_ctl_get_live(c, K_SC, NULL, "standard");
	if (live) {
		json_decref(live);
		return 0;
	}
	json_t *sc = json_pack("{s:{s:s, s:{s:s}}, s:s, s:s, s:s}", "metadata", "name", "standard",
			       "annotations", A_DEFAULT, "true", "provisioner", PROVISIONER,
			       "reclaimPolicy", "Delete", "volumeBindingMode",
			       "WaitForFirstConsumer");
	int rc = kp_ctl_create(c, K_SC, sc, NULL, errmsg);
	json_decref(sc);
	if (rc == KP_EEXIST) {
		free(*errmsg);
		*errmsg = NULL;
		rc = 0;
	}
	return rc;
}

static void on_change(struct kp_ctl *c, void *state, unsigned kind, int change,
		      const json_t *old, const json_t *obj)
{
	(void)state;
	char k[700];
	if (kind == K_PVC) {
		snprintf(k, sizeof(k), "pvc/%s/%s", kp_obj_namespace(obj), kp_obj_name(obj));
		kp_ctl_enqueue(c, k, 0);
		/* Its volume learns it is released. */
		const char *vn = kp_obj_str(obj, "spec.volumeName");
		if (change == KP_CTL_DELETED && vn) {
			snprintf(k, sizeof(k), "pv/%s", vn);
			kp_ctl_enqueue(c, k, 0);
		}
	} else if (kind == K_PV) {
		snprintf(k, sizeof(k), "pv/%s", kp_obj_name(obj));
		kp_ctl_enqueue(c, k, 0);
		/* A volume that became Available may fit a waiting claim. Claims are
		 * only matched to Available volumes, and a new volume turns Available
		 * in a later write of this controller: requeue on that transition
		 * too, or a claim that was looked at in between waits for a resync. */
		const char *ph = kp_obj_str(obj, "status.phase");
		const char *oph = old ? kp_obj_str(old, "status.phase") : NULL;
		bool now_available = ph && !strcmp(ph, "Available") &&
				     !(oph && !strcmp(oph, "Available"));
		if (change == KP_CTL_ADDED || (change == KP_CTL_MODIFIED && now_available)) {
			json_t *pvcs = kp_ctl_list(c, K_PVC, NULL, NULL);
			size_t i;
			json_t *p;
			json_array_foreach(pvcs, i, p) {
				if (kp_obj_str(p, "spec.volumeName"))
					continue;
				snprintf(k, sizeof(k), "pvc/%s/%s", kp_obj_namespace(p), kp_obj_name(p));
				kp_ctl_enqueue(c, k, 0);
			}
			json_decref(pvcs);
		}
	}
}

static int64_t qty(const char *s)
{
	struct kp_quantity q;
	if (!s || kp_quantity_parse(s, &q, NULL) < 0)
		return -1;
	return kp_quantity_value_sat(&q);
}

static bool has_modes(const json_t *pv, const json_t *pvc)
{
	size_t i, j;
	json_t *m, *n;
	json_array_foreach(kp_obj_get(pvc, "spec.accessModes"), i, m) {
		bool found = false;
		json_array_foreach(kp_obj_get(pv, "spec.accessModes"), j, n)
			found |= json_equal(m, n);
		if (!found)
			return false;
	}
	return true;
}

static const char *class_of(const json_t *o)
{
	const char *c = kp_obj_str(o, "spec.storageClassName");
	return c ? c : "";
}

/* The smallest Available volume for the claim (new reference) or NULL. */
static json_t *find_volume(struct kp_ctl *c, const json_t *pvc)
{
	int64_t want = qty(kp_obj_str(pvc, "spec.resources.requests.storage"));
	struct kp_label_selector *sel = NULL;
	json_t *sj = kp_obj_get(pvc, "spec.selector");
	if (sj && kp_label_selector_from_json(sj, &sel, NULL) < 0)
		return NULL;
	json_t *pvs = kp_ctl_list(c, K_PV, NULL, NULL), *best = NULL;
	int64_t best_size = -1;
	const char *mode = kp_obj_str(pvc, "spec.volumeMode");
	size_t i;
	json_t *pv;
	json_array_foreach(pvs, i, pv) {
		json_t *ref = kp_obj_get(pv, "spec.claimRef");
		if (ref) {
			/* Pre-bound to this claim: it alone decides. */
			const char *rn = json_string_value(json_object_get(ref, "name"));
			const char *rns = json_string_value(json_object_get(ref, "namespace"));
			if (rn && rns && !strcmp(rn, kp_obj_name(pvc)) &&
			    !strcmp(rns, kp_obj_namespace(pvc))) {
				json_decref(best);
				best = json_incref(pv);
				break;
			}
			continue;
		}
		const char *ph = kp_obj_str(pv, "status.phase");
		int64_t size = qty(kp_obj_str(pv, "spec.capacity.storage"));
		const char *pm = kp_obj_str(pv, "spec.volumeMode");
		if (!ph || strcmp(ph, "Available") || kp_obj_str(pv, "metadata.deletionTimestamp") ||
		    strcmp(class_of(pv), class_of(pvc)) || size < want || !has_modes(pv, pvc) ||
		    strcmp(pm ? pm : "Filesystem", mode ? mode : "Filesystem") ||
		    (sel && !kp_label_selector_matches(sel, kp_obj_labels(pv))))
			continue;
		if (best_size < 0 || size < best_size) {
			json_decref(best);
			best = json_incref(pv);
			best_size = size;
		}
	}
	json_decref(pvs);
	kp_label_selector_free(sel);
	return best;
}

static int bind(struct kp_ctl *c, const json_t *pvc, const json_t *pv, char **errmsg)
{
	json_t *v = json_deep_copy(pv);
	kp_obj_set(v, "spec.claimRef",
		   json_pack("{s:s, s:s, s:s, s:s, s:s}", "kind", "PersistentVolumeClaim", "apiVersion",
			     "v1", "namespace", kp_obj_namespace(pvc), "name", kp_obj_name(pvc),
			     "uid", kp_obj_uid(pvc)));
	kp_obj_set_annotation(v, A_BOUND_BY, "yes");
	json_t *vout = NULL;
	int rc = kp_ctl_update(c, K_PV, v, &vout, errmsg);
	json_decref(v);
	if (rc < 0)
		return rc;
	kp_obj_set_str(vout, "status.phase", "Bound");
	rc = kp_ctl_update_status(c, K_PV, vout, NULL, errmsg);
	json_decref(vout);
	if (rc < 0)
		return rc;
	json_t *cl = json_deep_copy(pvc), *cout = NULL;
	kp_obj_set_str(cl, "spec.volumeName", kp_obj_name(pv));
	kp_obj_set_annotation(cl, A_BIND_COMPLETED, "yes");
	kp_obj_set_annotation(cl, A_BOUND_BY, "yes");
	kp_obj_del(cl, "metadata.resourceVersion");
	rc = kp_ctl_update(c, K_PVC, cl, &cout, errmsg);
	json_decref(cl);
	if (rc < 0)
		return rc;
	kp_obj_set_str(cout, "status.phase", "Bound");
	json_t *cap = kp_obj_get(pv, "spec.capacity");
	if (cap)
		kp_obj_set(cout, "status.capacity", json_deep_copy(cap));
	json_t *am = kp_obj_get(pv, "spec.accessModes");
	if (am)
		kp_obj_set(cout, "status.accessModes", json_deep_copy(am));
	rc = kp_ctl_update_status(c, K_PVC, cout, NULL, errmsg);
	json_decref(cout);
	return rc;
}

static json_t *default_class(struct kp_ctl *c)
{
	json_t *scs = kp_ctl_list(c, K_SC, NULL, NULL), *def = NULL;
	size_t i;
	json_t *sc;
	json_array_foreach(scs, i, sc) {
		const char *a = kp_obj_annotation(sc, A_DEFAULT);
		if (a && !strcmp(a, "true") && !def)
			def = json_incref(sc);
	}
	json_decref(scs);
	return def;
}

static int64_t sync_claim(struct kp_ctl *c, const char *ns, const char *name, char **errmsg)
{
	json_t *pvc = kp_ctl_get(c, K_PVC, ns, name);
	int rc = 0;
	json_t *sc = NULL, *pv = NULL;
	if (!pvc || kp_obj_str(pvc, "spec.volumeName") ||
	    kp_obj_str(pvc, "metadata.deletionTimestamp"))
		goto out;
	if (!kp_obj_str(pvc, "spec.storageClassName")) {
		json_t *def = default_class(c);
		if (def) {
			json_t *cl = json_deep_copy(pvc);
			kp_obj_set_str(cl, "spec.storageClassName", kp_obj_name(def));
			rc = kp_ctl_update(c, K_PVC, cl, NULL, errmsg);
			json_decref(cl);
			json_decref(def);
			goto out; /* the change comes back through the informer */
		}
	}
	const char *cls = class_of(pvc);
	sc = *cls ? kp_ctl_get(c, K_SC, NULL, cls) : NULL;
	const char *mode = sc ? kp_obj_str(sc, "volumeBindingMode") : NULL;
	const char *node = kp_obj_annotation(pvc, A_SELECTED);
	bool wait = mode && !strcmp(mode, "WaitForFirstConsumer");
	if (wait && !node)
		goto out; /* the scheduler decides (and binds static volumes itself) */
	pv = find_volume(c, pvc);
	if (pv) {
		rc = bind(c, pvc, pv, errmsg);
		goto out;
	}
	const char *prov = sc ? kp_obj_str(sc, "provisioner") : NULL;
	if (!prov || strcmp(prov, PROVISIONER))
		goto out; /* wait for a matching volume */
	const char *req = kp_obj_str(pvc, "spec.resources.requests.storage");
	if (!req) {
		kp_ctl_event(c, pvc, "Warning", "ProvisioningFailed",
			     "spec.resources.requests.storage is required");
		goto out;
	}
	char pvname[64], path[1024];
	snprintf(pvname, sizeof(pvname), "pvc-%s", kp_obj_uid(pvc));
	snprintf(path, sizeof(path), "/var/lib/kplane/local-path/%s_%s_%s", pvname, ns, name);
	const char *reclaim = kp_obj_str(sc, "reclaimPolicy");
	json_t *modes = kp_obj_get(pvc, "spec.accessModes") ?
				json_incref(kp_obj_get(pvc, "spec.accessModes")) :
				json_pack("[s]", "ReadWriteOnce");
	json_t *nv = json_pack("{s:{s:s, s:{s:s}}, s:{s:{s:s}, s:O, s:s, s:s, s:s?, s:{s:s}}}",
			       "metadata", "name", pvname, "annotations", A_PROVISIONED_BY,
			       PROVISIONER, "spec", "capacity", "storage", req, "accessModes", modes,
			       "storageClassName", cls, "persistentVolumeReclaimPolicy",
			       reclaim ? reclaim : "Delete", "volumeMode",
			       kp_obj_str(pvc, "spec.volumeMode"), "hostPath", "path", path);
	if (node)
		kp_obj_set(nv, "spec.nodeAffinity",
			   json_pack("{s:{s:[{s:[{s:s, s:s, s:[s]}]}]}}", "required",
				     "nodeSelectorTerms", "matchExpressions", "key",
				     "kubernetes.io/hostname", "operator", "In", "values", node));
	kp_obj_set(nv, "spec.claimRef",
		   json_pack("{s:s, s:s, s:s, s:s, s:s}", "kind", "PersistentVolumeClaim", "apiVersion",
			     "v1", "namespace", ns, "name", name, "uid", kp_obj_uid(pvc)));
	json_decref(modes);
	json_t *made = NULL;
	rc = kp_ctl_create(c, K_PV, nv, &made, errmsg);
	json_decref(nv);
	if (rc == KP_EEXIST) {
		free(*errmsg);
		*errmsg = NULL;
		made = kp_ctl_get_live(c, K_PV, NULL, pvname);
		rc = made ? 0 : KP_ECONFLICT;
	}
	if (rc < 0) {
		kp_ctl_event(c, pvc, "Warning", "ProvisioningFailed", "%s", *errmsg ? *errmsg : "");
		goto out;
	}
	kp_ctl_event(c, pvc, "Normal", "ProvisioningSucceeded",
		     "Successfully provisioned volume %s", pvname);
	rc = bind(c, pvc, made, errmsg);
	json_decref(made);
out:
	json_decref(pv);
	json_decref(sc);
	json_decref(pvc);
	return rc;
}

static int64_t sync_volume(struct kp_ctl *c, const char *name, char **errmsg)
{
	json_t *pv = kp_ctl_get(c, K_PV, NULL, name);
	int rc = 0;
	if (!pv || kp_obj_str(pv, "metadata.deletionTimestamp"))
		goto out;
	json_t *ref = kp_obj_get(pv, "spec.claimRef");
	const char *ph = kp_obj_str(pv, "status.phase");
	const char *want = NULL;
	if (!ref) {
		want = "Available";
	} else {
		const char *rn = json_string_value(json_object_get(ref, "name"));
		const char *rns = json_string_value(json_object_get(ref, "namespace"));
		const char *ruid = json_string_value(json_object_get(ref, "uid"));
		json_t *claim = rn && rns ? kp_ctl_get(c, K_PVC, rns, rn) : NULL;
		if (!claim && rn && rns)
			claim = kp_ctl_get_live(c, K_PVC, rns, rn);
		bool gone = !claim || (ruid && kp_obj_uid(claim) && strcmp(ruid, kp_obj_uid(claim)));
		json_decref(claim);
		if (!gone)
			goto out; /* bound, or pre-bound and waiting for its claim */
		if (!ruid)
			goto out; /* pre-bound to a claim not created yet */
		const char *policy = kp_obj_str(pv, "spec.persistentVolumeReclaimPolicy");
		if (policy && !strcmp(policy, "Delete")) {
			rc = kp_ctl_delete(c, K_PV, NULL, name, kp_obj_uid(pv), KP_CTL_BACKGROUND,
					   errmsg);
			if (rc == 0)
				kp_ctl_event(c, pv, "Normal", "VolumeDelete",
					     "deleted volume %s, its claim is gone", name);
			else if (rc == KP_ENOENT) /* gone already */
				rc = 0;
			goto out;
		}
		want = "Released";
	}
	if (!ph || strcmp(ph, want)) {
		json_t *v = json_deep_copy(pv);
		kp_obj_set_str(v, "status.phase", want);
		rc = kp_ctl_update_status(c, K_PV, v, NULL, errmsg);
		json_decref(v);
	}
out:
	json_decref(pv);
	return rc == KP_ENOENT ? 0 : rc;
}

static int64_t reconcile(struct kp_ctl *c, void *state, const char *key, char **errmsg)
{
	(void)state;
	char ns[256], name[256];
	if (!strncmp(key, "pv/", 3))
		return sync_volume(c, key + 3, errmsg);
	if (!strncmp(key, "pvc/", 4) && kp__split_key(key + 4, ns, name, sizeof(ns)))
		return sync_claim(c, ns, name, errmsg);
	return 0;
}

static const struct kp_controller_ops ops = {
	KP_CONTROLLER_OPS,
	.kinds = kinds,
	.workers = 2,
	.init = init,
	.on_change = on_change,
	.reconcile = reconcile,
};

KP_PLUGIN_DEFINE(persistentvolume) = {
	KP_PLUGIN_HEADER(KP_PLUGIN_CONTROLLER),
	.name = "persistentvolume",
	.version = "1.0",
	.description = "binds claims to volumes; provisions local-path volumes",
	.controller = &ops,
};

/* cmd_node.c - `kpctl taint`, `cordon`, `uncordon` and `drain`. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kplane/error.h>
#include <kplane/object.h>
#include <kplane/validate.h>

#include "cli/kpctl/kpctl.h"
#include "cli/kpctl/objects.h"
#include "cli/kpctl/printers.h"

static int patch_node(struct kpctl *k, const struct kpc_target *t, json_t *patch)
{
	char *path = kpc_resource_path(t->res, NULL, t->name, NULL), *em = NULL;
	struct kpc_response r;
	int rc;
	if (!path)
		return kpctl_err("out of memory");
	rc = kpc_request_json(k->client, "PATCH", path, KPC_CT_MERGE_PATCH, patch, &r, &em);
	free(path);
	if (rc) {
		fprintf(stderr, "%s\n", em ? em : "request failed");
		free(em);
		return 1;
	}
	rc = r.status >= 300 ? kpctl_server_err(&r, NULL) : 0;
	kpc_response_release(&r);
	return rc;
}

/* Node targets from "NAME..." (nodes implied) or "nodes NAME..." or -l. */
static int node_targets(struct kpctl *k, char **pos, int npos, const char *selector, struct kpc_targets *t,
			bool type_first)
{
	if (kpctl_discover(k))
		return 1;
	const struct kpc_resource *nodes = kpctl_resource(k, "nodes");
	if (!nodes)
		return 1;
	int start = 0;
	if (type_first) {
		if (npos < 1)
			return kpctl_usage_err(k, "at least one resource name must be specified since 'all' parameter is not set");
		const struct kpc_resource *r = kpctl_resource(k, pos[0]);
		if (!r)
			return 1;
		if (r != nodes)
			return kpctl_usage_err(k, "invalid resource type %s, only node types are supported", pos[0]);
		start = 1;
	}
	if (selector) {
		if (npos > start)
			return kpctl_usage_err(k, "cannot specify both a node name and a --selector option");
		return kpctl_targets_list(k, nodes, true, selector, NULL, t);
	}
	if (npos <= start)
		return kpctl_usage_err(k, "at least one node name must be specified");
	for (int i = start; i < npos; i++) {
		const char *name = pos[i];
		const char *slash = strchr(name, '/');
		if (slash) {
			char *kind = strndup(name, (size_t)(slash - name));
			const struct kpc_resource *r = kpctl_resource(k, kind);
			free(kind);
			if (!r)
				return 1;
			if (r != nodes)
				return kpctl_usage_err(k, "invalid resource type %s, only node types are supported", pos[i]);
			name = slash + 1;
		}
		if (kpctl_targets_add(t, nodes, name, NULL, NULL, NULL))
			return kpctl_err("out of memory");
	}
	return 0;
}

/* ---- taint ---- */

struct taint {
	char *key, *value, *effect; /* effect may be NULL for "key-" */
	bool remove;
};

static bool valid_effect(const char *e)
{
	return !strcmp(e, "NoSchedule") || !strcmp(e, "PreferNoSchedule") || !strcmp(e, "NoExecute");
}

static int parse_taint(struct kpctl *k_for_msgs, const char *spec, struct taint *t)
{
	char *s = strdup(spec);
	size_t len = s ? strlen(s) : 0;
	memset(t, 0, sizeof(*t));
	if (!s)
		return kpctl_err("out of memory");
	if (len && s[len - 1] == '-') {
		t->remove = true;
		s[--len] = 0;
	}
	char *colon = strrchr(s, ':');
	if (colon) {
		*colon = 0;
		t->effect = strdup(colon + 1);
	} else if (!t->remove) {
		free(s);
		return kpctl_err("invalid taint spec: %s, unknown taint spec format", spec);
	}
	char *eq = strchr(s, '=');
	if (eq) {
		*eq = 0;
		t->value = strdup(eq + 1);
	}
	t->key = strdup(s);
	free(s);
	const char *bad;
	if (!t->key || !*t->key)
		return kpctl_err("invalid taint spec: %s, the key must not be empty", spec);
	if ((bad = kp_check_qualified_name(t->key)))
		return kpctl_err("invalid taint spec: %s, %s", spec, bad);
	if (t->value && (bad = kp_check_label_value(t->value)))
		return kpctl_err("invalid taint spec: %s, %s", spec, bad);
	if (t->effect && !valid_effect(t->effect))
		return kpctl_usage_err(k_for_msgs, "invalid taint effect: %s, unsupported taint effect", t->effect);
	if (t->remove && t->value && !t->effect)
		return kpctl_err("invalid taint spec: %s, unknown taint spec format", spec);
	return 0;
}

static void taint_release(struct taint *t)
{
	free(t->key);
	free(t->value);
	free(t->effect);
}

static char *taint_string(const struct taint *t)
{
	char *s = NULL;
	if (asprintf(&s, "%s%s%s%s%s", t->key, t->value ? "=" : "", t->value ? t->value : "",
		     t->effect ? ":" : "", t->effect ? t->effect : "") < 0)
		s = NULL;
	return s;
}

int kpctl_cmd_taint(struct kpctl *k, int argc, char **argv)
{
	bool overwrite = false, all = false;
	const char *selector = NULL;
	struct kpc_opt opts[] = {
		{ "overwrite", 0, KPC_OPT_BOOL, &overwrite, "Allow taints to be overwritten", false },
		{ "selector", 'l', KPC_OPT_STRING, &selector, "Selector (label query) to filter on", false },
		{ "all", 0, KPC_OPT_BOOL, &all, "Select all nodes in the cluster", false },
		{ NULL, 0, 0, NULL, NULL, false },
	};
	char **pos = NULL;
	int npos = 0, rc;
	struct kpc_targets t = { 0 };
	struct taint *taints = NULL;
	int ntaints = 0, nres = 0;
	k->usage = "Update the taints on one or more nodes.\n\n"
		   "Usage:\n  kpctl taint nodes NAME KEY_1=VAL_1:TAINT_EFFECT_1 ... KEY_N=VAL_N:TAINT_EFFECT_N\n"
		   "  kpctl taint nodes NAME KEY:TAINT_EFFECT- | KEY-     (remove)\n\n"
		   "Effects: NoSchedule, PreferNoSchedule, NoExecute.\n";
	if ((rc = kpctl_parse(k, argc, argv, opts, &pos, &npos)))
		return rc;
	rc = 1;
	taints = calloc((size_t)npos + 1, sizeof(*taints));
	if (!taints)
		goto out;
	for (int i = 0; i < npos; i++) {
		const char *a = pos[i];
		size_t len = strlen(a);
		bool is_spec = strchr(a, '=') || strchr(a, ':') || (len > 1 && a[len - 1] == '-');
		/* "node/name" style resource args contain neither = nor : */
		if (!is_spec || (i == 0 && !strchr(a, '=') && !strchr(a, ':'))) {
			if (ntaints) {
				kpctl_usage_err(k, "all resources must be specified before taint changes: %s", a);
				goto out;
			}
			pos[nres++] = pos[i];
			continue;
		}
		if (parse_taint(k, a, &taints[ntaints++]))
			goto out;
	}
	if (!ntaints) {
		kpctl_usage_err(k, "at least one taint update is required");
		goto out;
	}
	for (int i = 0; i < ntaints; i++)
		for (int j = i + 1; j < ntaints; j++)
			if (!strcmp(taints[i].key, taints[j].key) && taints[i].remove != taints[j].remove &&
			    (!taints[i].effect || !taints[j].effect || !strcmp(taints[i].effect, taints[j].effect))) {
				kpctl_err("can not both modify and remove the following taint(s) in the same command: %s",
					  taints[i].key);
				goto out;
			}
	if (all && !selector)
		selector = "";
	if (kpctl_connect(k) || node_targets(k, pos, nres, selector, &t, true))
		goto out;
	rc = 0;
	for (size_t n = 0; n < t.n; n++) {
		json_t *node = NULL;
		if (kpctl_fetch(k, &t.v[n], &node)) {
			rc = 1;
			continue;
		}
		json_t *cur = kp_obj_get(node, "spec.taints");
		json_t *list = json_is_array(cur) ? json_deep_copy(cur) : json_array();
		int added = 0, removed_ops = 0, updated = 0;
		bool fail = false;
		for (int i = 0; i < ntaints && !fail; i++) {
			struct taint *tt = &taints[i];
			if (tt->remove) {
				bool removed = false;
				for (size_t j = 0; j < json_array_size(list);) {
					json_t *e = json_array_get(list, j);
					const char *ek = kp_obj_str(e, "key"), *ee = kp_obj_str(e, "effect");
					if (ek && !strcmp(ek, tt->key) && (!tt->effect || (ee && !strcmp(ee, tt->effect)))) {
						json_array_remove(list, j);
						removed = true;
					} else {
						j++;
					}
				}
				if (!removed) {
					char *ts = taint_string(tt);
					kpctl_err("taint \"%s\" not found", ts ? ts : tt->key);
					free(ts);
					fail = true;
				}
				removed_ops++;
				continue;
			}
			bool replaced = false;
			for (size_t j = 0; j < json_array_size(list); j++) {
				json_t *e = json_array_get(list, j);
				const char *ek = kp_obj_str(e, "key"), *ee = kp_obj_str(e, "effect");
				if (ek && ee && !strcmp(ek, tt->key) && !strcmp(ee, tt->effect)) {
					if (!overwrite) {
						kpctl_err("node %s already has %s taint(s) with same effect(s) and --overwrite is false",
							  t.v[n].name, tt->key);
						fail = true;
						break;
					}
					if (tt->value)
						json_object_set_new(e, "value", json_string(tt->value));
					else
						json_object_del(e, "value");
					replaced = true;
					updated++;
				}
			}
			if (fail)
				break;
			if (replaced)
				continue;
			json_t *e = json_pack("{s:s,s:s}", "key", tt->key, "effect", tt->effect);
			if (tt->value)
				json_object_set_new(e, "value", json_string(tt->value));
			if (!strcmp(tt->effect, "NoExecute")) {
				/* As kubectl: NoExecute taints carry the time they were added. */
				char ts[KP_TIME_BUFSZ];
				json_object_set_new(e, "timeAdded", json_string(kp_time_format(kp_time_now(), ts)));
			}
			json_array_append_new(list, e);
			added++;
		}
		if (!fail) {
			json_t *patch = json_pack("{s:{s:o}}", "spec", "taints",
						  json_array_size(list) ? json_incref(list) : json_null());
			if (patch_node(k, &t.v[n], patch)) {
				fail = true;
			} else {
				/* kubectl's words: only new taints, only removals, else modified. */
				const char *op = updated || (added && removed_ops) ? "modified" :
						 added ? "tainted" : "untainted";
				printf("node/%s %s\n", t.v[n].name, op);
			}
			json_decref(patch);
		}
		if (fail)
			rc = 1;
		json_decref(list);
		json_decref(node);
	}
out:
	for (int i = 0; i < ntaints; i++)
		taint_release(&taints[i]);
	free(taints);
	kpctl_targets_release(&t);
	free(pos);
	return rc;
}

/* ---- cordon / uncordon ---- */

static int set_unschedulable(struct kpctl *k, const struct kpc_target *t, bool on)
{
	json_t *node = NULL;
	if (kpctl_fetch(k, t, &node))
		return 1;
	bool cur = kp_obj_bool(node, "spec.unschedulable", false);
	json_decref(node);
	const char *word = on ? "cordoned" : "uncordoned";
	if (cur == on) {
		printf("node/%s already %s\n", t->name, word);
		return 0;
	}
	json_t *patch = json_pack("{s:{s:o}}", "spec", "unschedulable", on ? json_true() : json_null());
	int rc = patch_node(k, t, patch);
	json_decref(patch);
	if (!rc)
		printf("node/%s %s\n", t->name, word);
	fflush(stdout);
	return rc;
}

static int cordon_cmd(struct kpctl *k, int argc, char **argv, bool on)
{
	const char *selector = NULL;
	struct kpc_opt opts[] = {
		{ "selector", 'l', KPC_OPT_STRING, &selector, "Selector (label query) to filter on", false },
		{ NULL, 0, 0, NULL, NULL, false },
	};
	char **pos = NULL;
	int npos = 0, rc;
	struct kpc_targets t = { 0 };
	k->usage = on ? "Mark node as unschedulable.\n\nUsage:\n  kpctl cordon NODE... | -l SELECTOR\n" :
			"Mark node as schedulable.\n\nUsage:\n  kpctl uncordon NODE... | -l SELECTOR\n";
	if ((rc = kpctl_parse(k, argc, argv, opts, &pos, &npos)))
		return rc;
	rc = 1;
	if (!selector && !npos) {
		kpctl_usage_err(k, "USAGE: %s NODE [flags]", k->cmd);
		goto out;
	}
	if (kpctl_connect(k) || node_targets(k, pos, npos, selector, &t, false))
		goto out;
	rc = 0;
	for (size_t i = 0; i < t.n; i++)
		if (set_unschedulable(k, &t.v[i], on))
			rc = 1;
out:
	kpctl_targets_release(&t);
	free(pos);
	return rc;
}

int kpctl_cmd_cordon(struct kpctl *k, int argc, char **argv)
{
	return cordon_cmd(k, argc, argv, true);
}

int kpctl_cmd_uncordon(struct kpctl *k, int argc, char **argv)
{
	return cordon_cmd(k, argc, argv, false);
}

/* ---- drain ---- */

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

struct drain_opts {
	bool ignore_ds, force, delete_emptydir, disable_eviction;
	long grace, timeout;
};

static bool has_emptydir(const json_t *pod)
{
	size_t i;
	json_t *v;
	json_array_foreach(kp_obj_get(pod, "spec.volumes"), i, v)
		if (json_object_get(v, "emptyDir"))
			return true;
	return false;
}

static void add_name(char **list, const json_t *pod)
{
	char *n = NULL;
	if (asprintf(&n, "%s%s%s/%s", *list ? *list : "", *list ? ", " : "", kp_obj_namespace(pod),
		     kp_obj_name(pod)) < 0)
		return;
	free(*list);
	*list = n;
}

/* Evicts (or deletes) one pod, retrying while a PodDisruptionBudget says 429. */
static int evict(struct kpctl *k, const struct kpc_resource *pods, const json_t *pod,
		 const struct drain_opts *o, uint64_t deadline)
{
	const char *ns = kp_obj_namespace(pod), *name = kp_obj_name(pod);
	for (;;) {
		struct kpc_response r;
		char *em = NULL, *path;
		int rc;
		if (o->disable_eviction) {
			path = kpc_resource_path(pods, ns, name, NULL);
			json_t *body = o->grace >= 0 ? json_pack("{s:s,s:s,s:I}", "kind", "DeleteOptions", "apiVersion", "v1",
								 "gracePeriodSeconds", (json_int_t)o->grace) : NULL;
			rc = path ? kpc_request_json(k->client, "DELETE", path, NULL, body, &r, &em) : KP_ENOMEM;
			json_decref(body);
		} else {
			path = kpc_resource_path(pods, ns, name, "eviction");
			json_t *body = json_pack("{s:s,s:s,s:{s:s,s:s}}", "apiVersion", "policy/v1", "kind", "Eviction",
						 "metadata", "name", name, "namespace", ns);
			if (o->grace >= 0)
				json_object_set_new(body, "deleteOptions", json_pack("{s:I}", "gracePeriodSeconds", (json_int_t)o->grace));
			rc = path ? kpc_request_json(k->client, "POST", path, NULL, body, &r, &em) : KP_ENOMEM;
			json_decref(body);
		}
		free(path);
		if (rc) {
			fprintf(stderr, "%s\n", em ? em : "request failed");
			free(em);
			return 1;
		}
		long st = r.status;
		if (st < 300 || st == 404) {
			kpc_response_release(&r);
			return 0;
		}
		if (st == 429 && (!o->timeout || kp_mono_ns() < deadline)) {
			char *m = kpc_status_message(&r, NULL);
			fprintf(stderr, "error when evicting pods/\"%s\" -n \"%s\" (will retry after 5s): %s\n", name, ns,
				m ? m : "");
			free(m);
			kpc_response_release(&r);
			sleep_ms(5000);
			continue;
		}
		rc = kpctl_server_err(&r, NULL);
		kpc_response_release(&r);
		return rc;
	}
}

int kpctl_cmd_drain(struct kpctl *k, int argc, char **argv)
{
	struct drain_opts o = { .grace = -1 };
	const char *selector = NULL, *pod_selector = NULL;
	struct kpc_opt opts[] = {
		{ "ignore-daemonsets", 0, KPC_OPT_BOOL, &o.ignore_ds, "Ignore DaemonSet-managed pods", false },
		{ "force", 0, KPC_OPT_BOOL, &o.force, "Continue even if there are pods that do not declare a controller", false },
		{ "delete-emptydir-data", 0, KPC_OPT_BOOL, &o.delete_emptydir, "Continue even if there are pods using emptyDir", false },
		{ "disable-eviction", 0, KPC_OPT_BOOL, &o.disable_eviction, "Delete pods instead of evicting them (bypasses PodDisruptionBudgets)", false },
		{ "grace-period", 0, KPC_OPT_INT, &o.grace, "Seconds given to each pod to terminate gracefully", false },
		{ "timeout", 0, KPC_OPT_INT, &o.timeout, "Seconds to wait before giving up (0: forever)", false },
		{ "selector", 'l', KPC_OPT_STRING, &selector, "Selector (label query) on nodes", false },
		{ "pod-selector", 0, KPC_OPT_STRING, &pod_selector, "Label selector to filter pods on the node", false },
		{ NULL, 0, 0, NULL, NULL, false },
	};
	char **pos = NULL;
	int npos = 0, rc;
	struct kpc_targets nodes = { 0 };
	k->usage = "Drain node in preparation for maintenance: cordon it, then evict its pods.\n\n"
		   "Usage:\n  kpctl drain NODE [--ignore-daemonsets] [--force] [--delete-emptydir-data]\n";
	if ((rc = kpctl_parse(k, argc, argv, opts, &pos, &npos)))
		return rc;
	rc = 1;
	if (!selector && npos != 1) {
		kpctl_usage_err(k, "USAGE: drain NODE [flags]");
		goto out;
	}
	if (o.timeout < 0) {
		kpctl_usage_err(k, "--timeout must not be negative");
		goto out;
	}
	if (kpctl_connect(k) || node_targets(k, pos, npos, selector, &nodes, false))
		goto out;
	const struct kpc_resource *pods = kpctl_resource(k, "pods");
	if (!pods)
		goto out;
	uint64_t deadline = kp_mono_ns() + (uint64_t)o.timeout * 1000000000ull;
	rc = 0;
	for (size_t n = 0; n < nodes.n; n++) {
		const char *node = nodes.v[n].name;
		if (set_unschedulable(k, &nodes.v[n], true)) {
			rc = 1;
			continue;
		}
		char *fs = NULL;
		struct kpc_targets ptargets = { 0 };
		if (asprintf(&fs, "spec.nodeName=%s", node) < 0 ||
		    kpctl_targets_list(k, pods, true, pod_selector, fs, &ptargets)) {
			free(fs);
			rc = 1;
			continue;
		}
		free(fs);
		char *ds = NULL, *unmanaged = NULL, *local = NULL;
		/* Refusals grouped by message, in the order pods show them (kubectl's layout). */
		json_t *errs = json_object();
		json_t *to_evict = json_array();
		const struct kpc_resource *dsres = kpc_discovery_resolve(k->disc, "daemonsets.apps", NULL);
		for (size_t i = 0; i < ptargets.n; i++) {
			json_t *pod = ptargets.v[i].obj;
			const char *nn = kp_obj_str(pod, "spec.nodeName");
			const char *refusal = NULL;
			char *dsmsg = NULL;
			if (!nn || strcmp(nn, node)) /* the server may ignore the field selector */
				continue;
			if (kp_obj_str(pod, "metadata.deletionTimestamp"))
				continue;
			const char *phase = kp_obj_str(pod, "status.phase");
			bool finished = phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
			json_t *ctrl = kp_obj_controller_ref(pod);
			const char *ckind = ctrl ? kp_obj_str(ctrl, "kind") : NULL;
			if (ckind && !strcmp(ckind, "DaemonSet") && !finished) {
				/* A pod of a DaemonSet that is gone is an orphan: --force deletes it. */
				struct kpc_target dt = { .res = dsres, .ns = (char *)kp_obj_namespace(pod),
							 .name = (char *)kp_obj_str(ctrl, "name") };
				char *p = dsres && dt.name ? kpc_resource_path(dsres, dt.ns, dt.name, NULL) : NULL;
				struct kpc_response r = { 0 };
				bool exists = true;
				if (p && !kpc_request(k->client, "GET", p, NULL, NULL, NULL, 0, &r, NULL))
					exists = r.status != 404;
				kpc_response_release(&r);
				free(p);
				if (!exists) {
					if (!o.force) {
						if (asprintf(&dsmsg, "cannot delete daemonsets.apps \"%s\" not found", dt.name) < 0)
							dsmsg = NULL;
						refusal = dsmsg;
					}
				} else if (o.ignore_ds) {
					add_name(&ds, pod);
					continue;
				} else {
					refusal = "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore)";
				}
			} else if (kp_obj_annotation(pod, "kubernetes.io/config.mirror")) {
				continue;
			} else if (has_emptydir(pod) && !finished && !o.delete_emptydir) {
				refusal = "cannot delete Pods with local storage (use --delete-emptydir-data to override)";
			} else if (!ctrl && !finished) {
				if (!o.force)
					refusal = "cannot delete Pods that declare no controller (use --force to override)";
				else
					add_name(&unmanaged, pod);
			}
			if (!refusal && has_emptydir(pod) && !finished)
				add_name(&local, pod);
			if (refusal) {
				json_t *cur = json_object_get(errs, refusal);
				char *list = cur ? strdup(json_string_value(cur)) : NULL;
				add_name(&list, pod);
				json_object_set_new(errs, refusal, json_string(list ? list : ""));
				free(list);
			} else {
				json_array_append(to_evict, pod);
			}
			free(dsmsg);
		}
		if (json_object_size(errs)) {
			char *b = NULL, *lines = NULL;
			size_t bl = 0, ll = 0;
			FILE *m = open_memstream(&b, &bl), *lm = open_memstream(&lines, &ll);
			const char *msg;
			json_t *pods_s;
			size_t gi = 0, ng = json_object_size(errs);
			if (m && lm) {
				if (ng > 1)
					fputc('[', m);
				json_object_foreach(errs, msg, pods_s) {
					fprintf(m, "%s%s: %s", gi++ ? ", " : "", msg, json_string_value(pods_s));
					fprintf(lm, "%s: %s\n", msg, json_string_value(pods_s));
				}
				if (ng > 1)
					fputc(']', m);
			}
			if (m)
				fclose(m);
			if (lm)
				fclose(lm);
			fprintf(stderr, "error: unable to drain node \"%s\" due to error: %s, continuing command...\n"
					"There are pending nodes to be drained:\n %s\n%s",
				node, b ? b : "", node, lines ? lines : "");
			free(b);
			free(lines);
			rc = 1;
		} else {
			if (ds)
				fprintf(stderr, "Warning: ignoring DaemonSet-managed Pods: %s\n", ds);
			if (unmanaged)
				fprintf(stderr, "Warning: deleting Pods that declare no controller: %s\n", unmanaged);
			if (local)
				fprintf(stderr, "Warning: deleting Pods with local storage: %s\n", local);
			size_t i;
			json_t *pod;
			bool ok = true;
			json_array_foreach(to_evict, i, pod) {
				if (!o.disable_eviction)
					printf("evicting pod %s/%s\n", kp_obj_namespace(pod), kp_obj_name(pod));
				fflush(stdout);
				if (evict(k, pods, pod, &o, deadline))
					ok = false;
			}
			/* Wait until each pod is gone (or replaced by a new uid). */
			json_array_foreach(to_evict, i, pod) {
				char *path = kpc_resource_path(pods, kp_obj_namespace(pod), kp_obj_name(pod), NULL);
				for (long delay = 20; path; delay = delay < 500 ? delay * 2 : 500) {
					struct kpc_response r;
					if (kpc_request(k->client, "GET", path, NULL, NULL, NULL, 0, &r, NULL)) {
						ok = false;
						break;
					}
					bool gone = r.status == 404 ||
						    (r.status == 200 && kp_obj_uid(r.json) && kp_obj_uid(pod) &&
						     strcmp(kp_obj_uid(r.json), kp_obj_uid(pod)));
					kpc_response_release(&r);
					if (gone) {
						printf("pod/%s %s\n", kp_obj_name(pod), o.disable_eviction ? "deleted" : "evicted");
						fflush(stdout);
						break;
					}
					if (o.timeout && kp_mono_ns() > deadline) {
						kpctl_err("unable to drain node \"%s\" due to error: global timeout reached: %lds",
							  node, o.timeout);
						ok = false;
						break;
					}
					sleep_ms(delay);
				}
				free(path);
			}
			if (ok)
				printf("node/%s drained\n", node);
			else
				rc = 1;
		}
		json_decref(to_evict);
		json_decref(errs);
		free(ds);
		free(unmanaged);
		free(local);
		kpctl_targets_release(&ptargets);
	}
out:
	kpctl_targets_release(&nodes);
	free(pos);
	return rc;
}

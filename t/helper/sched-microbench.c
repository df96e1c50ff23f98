/*
 * sched-microbench - scheduling throughput of the in-process scheduler,
 * without the store or the API: N nodes, then P pending pods scheduled one
 * by one (inline binding, no host), timed from the first attempt to the
 * last, in wall-clock and in process CPU time (the latter is steadier on a
 * shared machine; with parallelism > 1 it adds up every thread's time).
 * A benchmark, not a test; docs/scheduler.md records its figures.
 *
 *   sched-microbench [--nodes 5000] [--pods 10000] [--existing 0]
 *                    [--workload basic|spread|pspread|anti|affinity] [--parallelism 16]
 *                    [--percentage 0]
 *
 * Workloads (after kube-scheduler's scheduler_perf): basic = cpu/memory
 * requests only; spread = a zone DoNotSchedule constraint (maxSkew 1) over
 * the pods' own label; pspread = the same, ScheduleAnyway; anti = required
 * anti-affinity to each other over hostname; affinity = required affinity
 * to pods of the same group over zone. --existing bound pods are spread
 * over the nodes first.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kplane/error.h>
#include <kplane/scheduler.h>

#include "plugins/sched-static.h"

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

static json_t *node_obj(int i, int zones)
{
	char name[32], zone[32];
	snprintf(name, sizeof(name), "node-%05d", i);
	snprintf(zone, sizeof(zone), "zone-%d", i % zones);
	return json_pack("{s:s,s:{s:s,s:{s:s,s:s}},s:{s:{s:s,s:s,s:s}}}", "kind", "Node",
			 "metadata", "name", name, "labels", "kubernetes.io/hostname", name,
			 "topology.kubernetes.io/zone", zone, "status", "allocatable", "cpu", "32",
			 "memory", "256Gi", "pods", "110");
}

static json_t *pod_obj(const char *workload, int i, const char *node)
{
	char name[48], uid[64];
	snprintf(name, sizeof(name), "%s-%d", node ? "existing" : "pod", i);
	snprintf(uid, sizeof(uid), "uid-%s", name);
	json_t *spec = json_pack("{s:[{s:s,s:s,s:{s:{s:s,s:s}}}]}", "containers", "name", "c",
				 "image", "registry.k8s.io/pause:3.9", "resources", "requests", "cpu",
				 "100m", "memory", "64Mi");
	json_t *labels = json_pack("{s:s}", "app", workload);
	if (node)
		json_object_set_new(spec, "nodeName", json_string(node));
	json_t *sel = json_pack("{s:{s:s}}", "matchLabels", "app", workload);
	if (!strcmp(workload, "spread") || !strcmp(workload, "pspread")) {
		json_object_set_new(spec, "topologySpreadConstraints",
				    json_pack("[{s:i,s:s,s:s,s:O}]", "maxSkew", 1, "topologyKey",
					      "topology.kubernetes.io/zone", "whenUnsatisfiable",
					      !strcmp(workload, "spread") ? "DoNotSchedule"
									  : "ScheduleAnyway",
					      "labelSelector", sel));
	} else if (!strcmp(workload, "anti")) {
		json_object_set_new(spec, "affinity",
				    json_pack("{s:{s:[{s:O,s:s}]}}", "podAntiAffinity",
					      "requiredDuringSchedulingIgnoredDuringExecution",
					      "labelSelector", sel, "topologyKey",
					      "kubernetes.io/hostname"));
	} else if (!strcmp(workload, "affinity")) {
		json_object_set_new(spec, "affinity",
				    json_pack("{s:{s:[{s:O,s:s}]}}", "podAffinity",
					      "requiredDuringSchedulingIgnoredDuringExecution",
					      "labelSelector", sel, "topologyKey",
					      "topology.kubernetes.io/zone"));
	}
	json_decref(sel);
	return json_pack("{s:s,s:{s:s,s:s,s:s,s:o},s:o}", "kind", "Pod", "metadata", "name", name,
			 "namespace", "bench", "uid", uid, "labels", labels, "spec", spec);
}

static void apply(struct kp_scheduler *s, json_t *o)
{
	char *e = NULL;
	if (kp_scheduler_apply(s, KP_SCHED_ADDED, o, &e) < 0) {
		fprintf(stderr, "sched-microbench: %s\n", e);
		exit(1);
	}
	json_decref(o);
}

int main(int argc, char **argv)
{
	int nnodes = 5000, npods = 10000, existing = 0, parallelism = 16, percentage = 0;
	const char *workload = "basic";
	static const struct option opts[] = {
		{ "nodes", required_argument, NULL, 'n' },
		{ "pods", required_argument, NULL, 'p' },
		{ "existing", required_argument, NULL, 'e' },
		{ "workload", required_argument, NULL, 'w' },
		{ "parallelism", required_argument, NULL, 'j' },
		{ "percentage", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': nnodes = atoi(optarg); break;
		case 'p': npods = atoi(optarg); break;
		case 'e': existing = atoi(optarg); break;
		case 'w': workload = optarg; break;
		case 'j': parallelism = atoi(optarg); break;
		case 'c': percentage = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: sched-microbench [--nodes N] [--pods P] [--existing E] "
				"[--workload basic|spread|pspread|anti|affinity] [--parallelism J] [--percentage P]\n");
			return 2;
		}
	}
	if (nnodes <= 0 || npods <= 0 || parallelism <= 0 || existing < 0) {
		fprintf(stderr, "sched-microbench: --nodes, --pods and --parallelism must be > 0\n");
		return 2;
	}
	char *e = NULL;
	struct kp_sched_config *cfg = NULL;
	struct kp_registry *reg = NULL;
	struct kp_scheduler *s = NULL;
	json_t *cj = json_pack("{s:s,s:s,s:i,s:i}", "apiVersion", "kubescheduler.config.k8s.io/v1",
			       "kind", "KubeSchedulerConfiguration", "parallelism", parallelism,
			       "percentageOfNodesToScore", percentage);
	if (kp_sched_config_parse(cj, &cfg, &e) < 0 || kp_registry_new(&reg) < 0 ||
	    kp_registry_add_table(reg, kp_sched_static_plugins, &e) < 0) {
		fprintf(stderr, "sched-microbench: %s\n", e ? e : "setup failed");
		return 1;
	}
	json_decref(cj);
	struct kp_scheduler_options so = { .seed = 1, .inline_bind = true };
	if (kp_scheduler_new(cfg, reg, NULL, &so, &s, &e) < 0) {
		fprintf(stderr, "sched-microbench: %s\n", e);
		return 1;
	}
	int zones = nnodes < 10 ? 1 : 10;
	for (int i = 0; i < nnodes; i++)
		apply(s, node_obj(i, zones));
	for (int i = 0; i < existing; i++) {
		char node[32];
		snprintf(node, sizeof(node), "node-%05d", i % nnodes);
		apply(s, pod_obj(!strcmp(workload, "anti") ? "other" : workload, i, node));
	}
	for (int i = 0; i < npods; i++)
		apply(s, pod_obj(workload, i, NULL));
	double t0 = now_s(), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	int done = 0;
	while (kp_scheduler_schedule_one(s, 0, NULL) == 0)
		done++;
	double dt = now_s() - t0, dc = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	struct kp_scheduler_stats st;
	kp_scheduler_stats(s, &st);
	printf("workload=%s nodes=%d existing=%d pods=%d parallelism=%d attempts=%d scheduled=%llu "
	       "unschedulable=%llu seconds=%.3f cpu_seconds=%.3f pods_per_second=%.0f "
	       "pods_per_cpu_second=%.0f\n",
	       workload, nnodes, existing, npods, parallelism, done,
	       (unsigned long long)st.scheduled, (unsigned long long)st.unschedulable, dt, dc,
	       dt > 0 ? st.scheduled / dt : 0.0, dc > 0 ? st.scheduled / dc : 0.0);
	kp_scheduler_free(s);
	kp_sched_config_free(cfg);
	kp_registry_free(reg);
	return 0;
}

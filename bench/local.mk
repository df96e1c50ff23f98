# sched-bench workloads (kube-scheduler's scheduler_perf format) run by make check and make bench.
EXTRA_DIST += \
	bench/performance-config.yaml \
	bench/scale.yaml \
	bench/templates/node-default.yaml \
	bench/templates/node-small.yaml \
	bench/templates/node-tainted.yaml \
	bench/templates/pod-affinity.yaml \
	bench/templates/pod-anti-affinity.yaml \
	bench/templates/pod-default.yaml \
	bench/templates/pod-node-affinity.yaml \
	bench/templates/pod-spread-preferred.yaml \
	bench/templates/pod-spread.yaml

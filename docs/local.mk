# Documentation shipped in the release tarball.
EXTRA_DIST += \
	docs/architecture.md \
	docs/hacking.md \
	docs/store.md \
	docs/api.md \
	docs/kpctl.md \
	docs/scheduler.md \
	docs/plugins.md \
	docs/plugins-reference.md \
	docs/controllers.md \
	docs/bench.md \
	docs/bench/controllers.md \
	docs/bench/api.md \
	docs/bench/etcd.md \
	docs/ha.md

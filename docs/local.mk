EXTRA_DIST += docs/architecture.md docs/store.md docs/hacking.md

EXTRA_DIST += docs/architecture.md docs/hacking.md

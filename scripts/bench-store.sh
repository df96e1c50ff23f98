#!/bin/sh
# scripts/bench-store.sh BUILD_DIR [store-bench options...]
# Runs the store benchmark (t/helper/store-bench) of an already built tree:
# synced creates/s with 1, 8 and 64 writers, gets/s with 2 readers and watch
# delivery, on leveldb and memory; median of 3 runs of 1 s per figure.
# The leveldb data goes to BUILD_DIR/store-bench.d (the disk under test; not
# /tmp, which may be tmpfs where fsync costs nothing) and is removed after.
# Extra options go to store-bench (e.g. --runs 5, --backend leveldb).
set -eu
if [ $# -lt 1 ]; then
	echo "usage: $0 BUILD_DIR [store-bench options...]" >&2
	exit 2
fi
build=$(cd "$1" && pwd)
shift
bench=$build/t/helper/store-bench
if [ ! -x "$bench" ]; then
	echo "$0: $bench is not built; run 'make check' (or 'make t/helper/store-bench') in $build" >&2
	exit 1
fi
data=$build/store-bench.d
rm -rf "$data"
trap 'rm -rf "$data"' EXIT INT TERM
"$bench" --dir "$data" --runs 3 --seconds 1 "$@"

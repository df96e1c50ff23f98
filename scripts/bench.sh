#!/bin/sh
# scripts/bench.sh BUILD_DIR - `make bench`: every benchmark, full size.
# Benchmarks print their own tables (medians over several runs); nothing here
# is a pass/fail test.
set -eu
build=$1
here=$(cd "$(dirname "$0")" && pwd)
for b in "$here"/bench-*.sh; do
	[ -f "$b" ] || continue
	echo "== $(basename "$b" .sh)"
	sh "$b" "$build"
done

#!/bin/sh
# scripts/build.sh DIR [configure options...]
# Configures (once) and builds kplane out of tree in DIR (relative to the repo top).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dir=$1; shift
cd "$top"
[ -x configure ] || ./autogen.sh >/dev/null 2>&1 || ./autogen.sh
mkdir -p "$dir"
cd "$dir"
# Reconfigure when the options changed since last time.
want="$*"
if [ ! -f Makefile ] || [ "$(cat .kp-configure-args 2>/dev/null)" != "$want" ]; then
	"$top/configure" -q "$@"
	printf '%s' "$want" > .kp-configure-args
fi
make -s -j"$(nproc)" >/dev/null

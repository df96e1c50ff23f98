#!/bin/sh
# Installs the Debian 12 packages kplane needs to build and test, if missing.
# Uses sudo when not root. Safe to run repeatedly: does nothing when all are there.
set -eu
PACKAGES="gcc make autoconf automake libtool pkg-config
libjansson-dev libyaml-dev libmicrohttpd-dev libleveldb-dev libcurl4-openssl-dev libjemalloc-dev
curl jq ca-certificates"
# Extra tools used by some tests and benchmarks when present (tests skip without them).
OPTIONAL="valgrind python3 python3-kubernetes wrk etcd-server"

missing=
for p in $PACKAGES $OPTIONAL; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -n "$missing" ] || exit 0

if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi
echo "deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Required packages must install; optional ones are tried one by one so that a
# missing optional package never blocks the build.
$SUDO apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
for p in $OPTIONAL; do
	$SUDO apt-get install -y -qq --no-install-recommends "$p" >/dev/null 2>&1 ||
		echo "deps: optional package $p not installed; tests that need it will skip" >&2
done

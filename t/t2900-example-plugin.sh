#!/bin/sh
test_description='examples/node-draining: built out of tree against the installed headers and the
kplane.pc of a staged install, dropped into a plugin directory, listed by `kplane plugins`, and
used by `sched-bench simulate` to keep a pod off a draining node'
. "$(dirname "$0")/test-lib.sh"

D="$TRASH_DIRECTORY/stage"

test_expect_success 'install libkplane, its headers and kplane.pc into a staging dir' '
	${MAKE:-make} -s -C "$KP_BUILD_DIR" install-libLTLIBRARIES install-kplaneincludeHEADERS \
		install-pkgconfigDATA DESTDIR="$D" >install.log 2>&1 &&
	pc=$(find "$D" -name kplane.pc) && test -n "$pc" &&
	test -f "$(find "$D" -path "*/kplane/plugin.h")"
'

# pkg-config reading the staged kplane.pc, its prefix moved under $D
kpc() {
	pc=$(find "$D" -name kplane.pc)
	prefix=$(sed -n "s/^prefix=//p" "$pc")
	PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --define-variable=prefix="$D$prefix" "$@" kplane
}

test_expect_success 'the example builds with cc $(pkg-config --cflags --libs kplane)' '
	cp "$KP_SRC_DIR/examples/node-draining/node-draining.c" . &&
	flags=$(kpc --cflags --libs) &&
	case "$flags" in *"$D"*) ;; *) echo "flags not from the staged install: $flags"; false;; esac &&
	cc -Wall -Wextra -Werror -shared -fPIC -o node-draining.so node-draining.c $flags &&
	mkdir plugins && cp node-draining.so plugins/
'

test_expect_success 'the example Makefile builds it too' '
	mkdir mk && cp "$KP_SRC_DIR/examples/node-draining/Makefile" \
		"$KP_SRC_DIR/examples/node-draining/node-draining.c" mk/ &&
	pc=$(find "$D" -name kplane.pc) &&
	prefix=$(sed -n "s/^prefix=//p" "$pc") &&
	PKG_CONFIG_PATH=$(dirname "$pc") \
	PKG_CONFIG="pkg-config --define-variable=prefix=$D$prefix" \
		${MAKE:-make} -s -C mk >mk.log 2>&1 &&
	test -f mk/node-draining.so
'

test_expect_success 'kplane plugins lists it from the plugin directory' '
	KPLANE_PLUGIN_PATH= kplane plugins --dir plugins >list &&
	grep "^NodeDraining  *1.0  *scheduler  *plugins/node-draining.so" list
'

cat >cluster.yaml <<'Y'
apiVersion: v1
kind: Node
metadata: {name: big, labels: {kplane.io/draining: "true"}}
status: {allocatable: {cpu: "16", memory: 32Gi, pods: "110"}}
---
apiVersion: v1
kind: Node
metadata: {name: small}
status: {allocatable: {cpu: "4", memory: 8Gi, pods: "110"}}
Y
cat >pods.yaml <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: c, image: nginx, resources: {requests: {cpu: "1", memory: 1Gi}}}]
Y

test_expect_success 'without the plugin the pod goes to the emptier draining node' '
	sched-bench simulate --cluster cluster.yaml --pods pods.yaml -o json >plain.json &&
	grep "\"node\": *\"big\"" plain.json
'

test_expect_success 'with NodeDraining enabled the pod stays off it' '
	cat >config.yaml <<-Y &&
	apiVersion: kubescheduler.config.k8s.io/v1
	kind: KubeSchedulerConfiguration
	pluginDirs: [$TRASH_DIRECTORY/plugins]
	profiles:
	- plugins: {multiPoint: {enabled: [{name: NodeDraining}]}}
	Y
	sched-bench simulate --cluster cluster.yaml --pods pods.yaml --config config.yaml -o json >out.json &&
	grep "\"node\": *\"small\"" out.json &&
	grep "\"big\": *\"node(s) were draining\"" out.json
'

test_done

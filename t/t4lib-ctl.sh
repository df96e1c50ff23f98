# t4lib-ctl.sh - helpers for the controller end-to-end scripts (t/t41xx);
# source after test-lib.sh and t5lib-api.sh.
#
#   K ARGS...            kpctl against the test server ($S)
#   wait_for SECS CMD    runs CMD (a shell string) every 0.1 s until it
#                        succeeds; fails after SECS seconds, printing CMD's
#                        last output
#   fake_nodes N         creates N KWOK-style nodes fake-1..fake-N

HOME=$TRASH_DIRECTORY
export HOME
unset KUBECONFIG KPLANE_SERVER

K() {
	kpctl --server "$S" "$@"
}

wait_for() {
	secs=$1
	shift
	n=$((secs * 10))
	i=0
	while :; do
		if (eval "$1") >wait.out 2>&1; then
			return 0
		fi
		i=$((i + 1))
		if [ $i -ge $n ]; then
			echo "timed out after ${secs}s waiting for: $1"
			cat wait.out
			return 1
		fi
		sleep 0.1
	done
}

fake_nodes() {
	i=1
	while [ $i -le "$1" ]; do
		cat <<NODE
---
apiVersion: v1
kind: Node
metadata:
  name: fake-$i
  annotations:
    kwok.x-k8s.io/node: fake
  labels:
    type: kwok
NODE
		i=$((i + 1))
	done >nodes.yaml
	K apply -f nodes.yaml >/dev/null
}

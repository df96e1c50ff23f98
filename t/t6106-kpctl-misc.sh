#!/bin/sh
test_description='kpctl api-resources, version, completion and server resolution'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t6lib-kpctl.sh"

test_expect_success 'offline: version --client, completion, help' '
	kpctl version --client >out &&
	grep "^Client Version: v[0-9]*\.[0-9]*\.[0-9]*$" out &&
	kpctl completion bash >comp &&
	grep "^complete -o default -F _kpctl kpctl$" comp &&
	bash -n comp &&
	! kpctl completion zsh 2>err &&
	echo "error: Unsupported shell type \"zsh\"." >expect && test_cmp expect err &&
	! kpctl completion 2>err && grep "Shell not specified." err &&
	kpctl --help >out && grep "^  get  " out &&
	kpctl get --help >out && grep -- "--all-namespaces" out &&
	! kpctl frobnicate 2>err &&
	grep "^error: unknown command \"frobnicate\" for \"kpctl\"$" err
'

test_expect_success 'bash completion completes commands' '
	cat >c.sh <<-\EOF &&
	. ./comp
	COMP_WORDS=(kpctl ap); COMP_CWORD=1; _kpctl; echo "${COMPREPLY[*]}"
	COMP_WORDS=(kpctl get -o y); COMP_CWORD=3; _kpctl; echo "${COMPREPLY[*]}"
	EOF
	bash c.sh >out &&
	printf "apply api-resources\nyaml\n" >expect && test_cmp expect out
'

kpctl_start_server || kpctl_skip_all "kplane server is not available"
URL=$KPLANE_SERVER
unset KPLANE_SERVER

test_expect_success 'version talks to the server' '
	kpctl --server "$URL" version >out &&
	grep "^Server Version: v1\." out &&
	kpctl -s "$URL" version -o json >out &&
	grep "^    \"serverVersion\": {$" out
'

test_expect_success 'api-resources: kubectl columns, sorted by group then name' '
	kpctl -s "$URL" api-resources >out &&
	head -n 1 out >h && grep "^NAME  *SHORTNAMES  *APIVERSION  *NAMESPACED  *KIND$" h &&
	grep "^pods  *po  *v1  *true  *Pod$" out &&
	grep "^nodes  *no  *v1  *false  *Node$" out &&
	grep "^deployments  *deploy  *apps/v1  *true  *Deployment$" out &&
	kpctl -s "$URL" api-resources --api-group apps -o name >out &&
	grep "^deployments.apps$" out && ! grep "^pods" out &&
	sort -c out &&
	kpctl -s "$URL" api-resources --namespaced=false -o name >out &&
	grep "^nodes$" out && grep "^namespaces$" out && ! grep "^pods$" out &&
	! kpctl -s "$URL" api-resources --namespaced=maybe 2>err
'

test_expect_success 'server from $KPLANE_SERVER' '
	KPLANE_SERVER=$URL kpctl get ns default -o name >out &&
	echo namespace/default >expect && test_cmp expect out
'

test_expect_success 'server and namespace from the kubeconfig current context' '
	mkdir -p .kube &&
	cat >.kube/config <<-EOF &&
	apiVersion: v1
	kind: Config
	current-context: here
	clusters:
	- name: local
	  cluster: {server: "$URL"}
	- name: nowhere
	  cluster: {server: "http://127.0.0.1:1"}
	contexts:
	- name: here
	  context: {cluster: local, namespace: kube-system}
	- name: broken
	  context: {cluster: nowhere}
	EOF
	kpctl get po >out 2>err &&
	echo "No resources found in kube-system namespace." >expect && test_cmp expect err &&
	! kpctl --context broken get ns 2>err &&
	grep "^The connection to the server 127.0.0.1:1 was refused" err &&
	! kpctl --context nope get ns 2>err &&
	echo "error: context was not found for specified context: nope" >expect && test_cmp expect err
'

test_expect_success '$KUBECONFIG beats ~/.kube/config, --server beats both' '
	sed "s/current-context: here/current-context: broken/" .kube/config >other &&
	! KUBECONFIG=$PWD/other kpctl get ns 2>err &&
	grep "127.0.0.1:1 was refused" err &&
	KUBECONFIG=$PWD/other kpctl --server "$URL" get ns default -o name >out &&
	echo namespace/default >expect && test_cmp expect out &&
	! kpctl --kubeconfig "$PWD/absent" get ns 2>err && grep "absent" err
'

test_done

#!/bin/sh
# kpctl get -o yaml|json hides metadata.managedFields as kubectl does, and
# --show-managed-fields keeps them.
test_description='kpctl get hides managedFields unless asked'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"
HOME=$TRASH_DIRECTORY
export HOME
unset KUBECONFIG KPLANE_SERVER

start_server --store memory || exit 1

test_expect_success 'the server keeps managedFields on the object' '
	echo "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\",\"namespace\":\"default\"},\"data\":{\"a\":\"1\"}}" |
		kpctl --server "$S" apply -f - &&
	expect_code 200 GET /api/v1/namespaces/default/configmaps/c &&
	test "$(jqo ".metadata.managedFields | length")" -ge 1
'

test_expect_success '-o yaml and -o json leave them out, one object or a list' '
	kpctl --server "$S" get cm c -o yaml >y &&
	grep -q "^  name: c$" y && ! grep -q managedFields y &&
	kpctl --server "$S" get cm -o json >j &&
	jq -e ".items | length == 1 and all(.[]; .metadata | has(\"managedFields\") | not)" j
'

test_expect_success '--show-managed-fields keeps them' '
	kpctl --server "$S" get cm c -o json --show-managed-fields >k &&
	jq -e ".metadata.managedFields | length >= 1" k
'

test_done

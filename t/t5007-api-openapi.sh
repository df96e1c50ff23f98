#!/bin/sh
test_description='API server: /openapi/v3 and /openapi/v2 documents'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"

start_server --store memory || exit 1

test_expect_success 'the v3 root lists every group-version with a hashed URL' '
	expect_code 200 GET /openapi/v3 &&
	jqo ".paths | keys | .[]" >keys &&
	grep -x "api/v1" keys && grep -x "apis/apps/v1" keys &&
	grep -x "apis/rbac.authorization.k8s.io/v1" keys &&
	jqo ".paths[\"apis/apps/v1\"].serverRelativeURL" >url &&
	grep -E "^/openapi/v3/apis/apps/v1\\?hash=[0-9A-F]{16}$" url
'

test_expect_success 'the hashed URL serves the apps/v1 document' '
	expect_code 200 GET "$(cat url)" &&
	jqo ".openapi" >v && echo 3.0.0 >expect && test_cmp expect v
'

test_expect_success 'the Deployment schema carries its group-version-kind' '
	jqo ".components.schemas[\"io.k8s.api.apps.v1.Deployment\"][\"x-kubernetes-group-version-kind\"] | .[0] | \"\\(.group) \\(.version) \\(.kind)\"" >gvk &&
	echo "apps v1 Deployment" >expect && test_cmp expect gvk
'

test_expect_success 'PATCH of a deployment takes fieldValidation and strategic merge patches' '
	p="/apis/apps/v1/namespaces/{namespace}/deployments/{name}" &&
	jq -r --arg p "$p" ".paths[\$p].patch.parameters[].name" out >params &&
	grep -x fieldValidation params && grep -x fieldManager params &&
	jq -r --arg p "$p" ".paths[\$p].patch.requestBody.content | keys[]" out >ctypes &&
	grep -x "application/strategic-merge-patch+json" ctypes &&
	jq -r --arg p "$p" ".paths[\$p].patch[\"x-kubernetes-group-version-kind\"].kind" out >k &&
	echo Deployment >expect && test_cmp expect k
'

test_expect_success 'pod containers merge by name, PodSpec refs resolve' '
	expect_code 200 GET /openapi/v3/api/v1 &&
	jqo ".components.schemas[\"io.k8s.api.core.v1.PodSpec\"].properties.containers[\"x-kubernetes-patch-merge-key\"]" >mk &&
	echo name >expect && test_cmp expect mk &&
	jqo "[.. | objects | .[\"\$ref\"]? // empty] | unique | .[]" | sed "s|#/components/schemas/||" >refs &&
	jqo ".components.schemas | keys[]" >defined &&
	sort refs >a && sort defined | comm -23 a - >missing &&
	test_cmp /dev/null missing
'

test_expect_success 'kinds the table does not describe keep unknown fields' '
	expect_code 200 GET /openapi/v3/apis/coordination.k8s.io/v1 &&
	jqo ".components.schemas[\"io.k8s.api.coordination.v1.Lease\"][\"x-kubernetes-preserve-unknown-fields\"]" >v &&
	echo true >expect && test_cmp expect v
'

test_expect_success 'unknown group-version and methods' '
	expect_code 404 GET /openapi/v3/apis/nope/v1 &&
	jqo .reason >v && echo NotFound >expect && test_cmp expect v &&
	expect_code 405 POST /openapi/v3
'

test_expect_success 'v2 as JSON has the definitions' '
	expect_code 200 GET /openapi/v2 &&
	jqo ".swagger" >v && echo 2.0 >expect && test_cmp expect v &&
	jqo ".definitions[\"io.k8s.api.core.v1.Pod\"][\"x-kubernetes-group-version-kind\"][0].kind" >v &&
	echo Pod >expect && test_cmp expect v &&
	jqo ".definitions[\"io.k8s.api.core.v1.PodTemplateSpec\"].properties.spec[\"\$ref\"]" >v &&
	echo "#/definitions/io.k8s.api.core.v1.PodSpec" >expect && test_cmp expect v
'

test_expect_success 'v2 as protobuf starts with swagger "2.0" (field 1) and info (field 2)' '
	curl -s -o pb -D hdr -H "Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf" "$S/openapi/v2" &&
	grep -i "^content-type: application/com.github.proto-openapi.spec.v2.v1.0+protobuf" hdr &&
	head -c 7 pb | od -An -tx1 | tr -s " " >v &&
	echo " 0a 03 32 2e 30 12 22" >expect && test_cmp expect v
'

test_done

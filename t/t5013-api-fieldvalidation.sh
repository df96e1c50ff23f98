#!/bin/sh
test_description='API server: fieldValidation=Strict|Warn|Ignore on create, update and patch'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"

start_server --store memory || exit 1

D=/apis/apps/v1/namespaces/default/deployments

# The body of Kubernetes' field validation integration test
# (test/integration/apiserver/field_validation_test.go): unknown fields at
# three depths and repeated keys; the expected errors and warnings below
# are the ones that test expects.
cat >invalid.json <<'EOF'
{
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {
		"name": "NAME",
		"name": "NAME",
		"unknownMeta": "metaVal",
		"labels": {"app": "nginx"}
	},
	"spec": {
		"unknown1": "val1",
		"unknownDupe": "valDupe",
		"unknownDupe": "valDupe2",
		"paused": true,
		"paused": false,
		"selector": {"matchLabels": {"app": "nginx"}},
		"template": {
			"metadata": {"labels": {"app": "nginx"}},
			"spec": {
				"containers": [{
					"name": "nginx",
					"image": "nginx:latest",
					"unknownNested": "val1",
					"imagePullPolicy": "Always",
					"imagePullPolicy": "Never"
				}]
			}
		}
	}
}
EOF
body() { sed "s/NAME/$1/" invalid.json; }

cat >expect-strict <<'EOF'
Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: duplicate field "metadata.name", unknown field "metadata.unknownMeta", unknown field "spec.unknown1", unknown field "spec.unknownDupe", duplicate field "spec.paused", unknown field "spec.template.spec.containers[0].unknownNested", duplicate field "spec.template.spec.containers[0].imagePullPolicy"
EOF
cat >expect-warn <<'EOF'
299 - "duplicate field \"metadata.name\""
299 - "unknown field \"metadata.unknownMeta\""
299 - "unknown field \"spec.unknown1\""
299 - "unknown field \"spec.unknownDupe\""
299 - "duplicate field \"spec.paused\""
299 - "unknown field \"spec.template.spec.containers[0].unknownNested\""
299 - "duplicate field \"spec.template.spec.containers[0].imagePullPolicy\""
EOF

# warnings: the Warning header values of the last reply (./headers)
warnings() {
	grep -i "^warning:" headers | sed -e "s/^[Ww]arning: //" -e "s/\r$//"
}
apih() {
	m=$1 p=$2
	shift 2
	curl -s -D headers -o out -w '%{http_code}' -X "$m" "$@" "$S$p"
}

test_expect_success 'POST Strict: 400 BadRequest naming every unknown and duplicate field' '
	test "$(body strict | apih POST "$D?fieldValidation=Strict" -H "$CT_JSON" --data-binary @-)" = 400 &&
	jqo .reason >v && echo BadRequest >expect && test_cmp expect v &&
	jqo .message >v && test_cmp expect-strict v &&
	expect_code 404 GET $D/strict
'

test_expect_success 'POST Warn: created, one Warning header per field, unknown fields dropped' '
	test "$(body warn | apih POST "$D?fieldValidation=Warn" -H "$CT_JSON" --data-binary @-)" = 201 &&
	warnings >v && test_cmp expect-warn v &&
	jqo ".spec.unknown1 // \"gone\", .metadata.unknownMeta // \"gone\", .spec.paused, .spec.template.spec.containers[0].imagePullPolicy" >v &&
	printf "gone\ngone\nfalse\nNever\n" >expect && test_cmp expect v
'

test_expect_success 'POST without fieldValidation warns (the server default is Warn)' '
	test "$(body default | apih POST "$D" -H "$CT_JSON" --data-binary @-)" = 201 &&
	warnings >v && test_cmp expect-warn v
'

test_expect_success 'POST Ignore: created silently, unknown fields dropped' '
	test "$(body ignore | apih POST "$D?fieldValidation=Ignore" -H "$CT_JSON" --data-binary @-)" = 201 &&
	warnings >v && test_cmp /dev/null v &&
	jqo ".spec.unknown1 // \"gone\"" >v && echo gone >expect && test_cmp expect v
'

test_expect_success 'an unsupported fieldValidation value is 400 and creates nothing' '
	test "$(body bogus | apih POST "$D?fieldValidation=Bogus" -H "$CT_JSON" --data-binary @-)" = 400 &&
	grep -q "fieldValidation" out &&
	expect_code 404 GET $D/bogus
'

test_expect_success 'PUT Strict is refused and changes nothing; PUT Warn warns' '
	expect_code 200 GET $D/warn && rv=$(jqo .metadata.resourceVersion) &&
	test "$(body warn | apih PUT "$D/warn?fieldValidation=Strict" -H "$CT_JSON" --data-binary @-)" = 400 &&
	jqo .message >v && test_cmp expect-strict v &&
	expect_code 200 GET $D/warn && test "$(jqo .metadata.resourceVersion)" = "$rv" &&
	body warn | sed "s/nginx:latest/nginx:1.25/" >put.json &&
	test "$(apih PUT "$D/warn?fieldValidation=Warn" -H "$CT_JSON" --data-binary @put.json)" = 200 &&
	warnings >v && test_cmp expect-warn v
'

cat >merge.json <<'EOF'
{
	"spec": {
		"unknown1": "val1",
		"unknownDupe": "valDupe",
		"unknownDupe": "valDupe2",
		"paused": true,
		"paused": false,
		"template": {
			"spec": {
				"containers": [{
					"name": "nginx",
					"image": "nginx:latest",
					"unknownNested": "val1",
					"imagePullPolicy": "Always",
					"imagePullPolicy": "Never"
				}]
			}
		}
	}
}
EOF
MP='Content-Type: application/merge-patch+json'

test_expect_success 'merge patch: the patch problems first, then unknown fields by path' '
	test "$(apih PATCH "$D/warn?fieldValidation=Strict" -H "$MP" --data-binary @merge.json)" = 400 &&
	jqo .message | sed "s/.*strict decoding error: //" >v &&
	echo "duplicate field \"spec.unknownDupe\", duplicate field \"spec.paused\", duplicate field \"spec.template.spec.containers[0].imagePullPolicy\", unknown field \"spec.template.spec.containers[0].unknownNested\", unknown field \"spec.unknown1\", unknown field \"spec.unknownDupe\"" >expect &&
	test_cmp expect v &&
	test "$(apih PATCH "$D/warn" -H "$MP" --data-binary @merge.json)" = 200 &&
	warnings | wc -l | tr -d " " >v && echo 6 >expect && test_cmp expect v
'

test_expect_success 'JSON patch: unknown and repeated keys of the operations too' '
	cat >jp.json <<-EOF &&
	[
		{"op": "add", "path": "/spec/unknown1", "value": "val1", "foo":"bar"},
		{"op": "add", "path": "/spec/unknown2", "path": "/spec/unknown3", "value": "val1"},
		{"op": "add", "path": "/spec/unknownDupe", "value": "valDupe"},
		{"op": "add", "path": "/spec/unknownDupe", "value": "valDupe2"},
		{"op": "add", "path": "/spec/paused", "value": true},
		{"op": "add", "path": "/spec/paused", "value": false},
		{"op": "add", "path": "/spec/template/spec/containers/0/unknownNested", "value": "val1"},
		{"op": "add", "path": "/spec/template/spec/containers/0/imagePullPolicy", "value": "Always"},
		{"op": "add", "path": "/spec/template/spec/containers/0/imagePullPolicy", "value": "Never"}
	]
	EOF
	test "$(apih PATCH "$D/warn?fieldValidation=Strict" -H "Content-Type: application/json-patch+json" --data-binary @jp.json)" = 400 &&
	jqo .message | sed "s/.*strict decoding error: //" >v &&
	echo "json patch unknown field \"[0].foo\", json patch duplicate field \"[1].path\", unknown field \"spec.template.spec.containers[0].unknownNested\", unknown field \"spec.unknown1\", unknown field \"spec.unknown3\", unknown field \"spec.unknownDupe\"" >expect &&
	test_cmp expect v
'

test_expect_success 'strategic merge patch without problems passes Strict' '
	test "$(apih PATCH "$D/warn?fieldValidation=Strict" -H "Content-Type: application/strategic-merge-patch+json" \
		-d "{\"spec\":{\"replicas\":2}}")" = 200 &&
	warnings >v && test_cmp /dev/null v && jqo .spec.replicas >v && echo 2 >expect && test_cmp expect v
'

test_expect_success 'a ConfigMap with a misspelt top-level field' '
	test "$(apih POST "/api/v1/namespaces/default/configmaps?fieldValidation=Strict" -H "$CT_JSON" \
		-d "{\"metadata\":{\"name\":\"c\"},\"dta\":{\"a\":\"1\"}}")" = 400 &&
	jqo .message >v &&
	echo "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: unknown field \"dta\"" >expect &&
	test_cmp expect v &&
	test "$(apih POST "/api/v1/namespaces/default/configmaps?fieldValidation=Strict" -H "$CT_JSON" \
		-d "{\"metadata\":{\"name\":\"c\"},\"data\":{\"a\":\"1\"}}")" = 201
'

cat >crd.json <<'EOF'
{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
 "metadata":{"name":"crontabs.stable.example.com"},
 "spec":{"group":"stable.example.com","scope":"Namespaced",
  "names":{"plural":"crontabs","singular":"crontab","kind":"CronTab","shortNames":["ct"]},
  "versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":
   {"type":"object","properties":{"spec":{"type":"object","properties":{
    "cronSpec":{"type":"string"},"image":{"type":"string"},"replicas":{"type":"integer"},
    "free":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}}}}}]}}
EOF
CT=/apis/stable.example.com/v1/namespaces/default/crontabs

test_expect_success 'custom resources: the structural schema says what is unknown' '
	expect_code 201 POST /apis/apiextensions.k8s.io/v1/customresourcedefinitions -H "$CT_JSON" --data-binary @crd.json &&
	test "$(apih POST "$CT?fieldValidation=Strict" -H "$CT_JSON" \
		-d "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"image\":\"i\",\"foo\":1,\"free\":{\"x\":1}}}")" = 400 &&
	jqo .message >v &&
	echo "CronTab in version \"v1\" cannot be handled as a CronTab: strict decoding error: unknown field \"spec.foo\"" >expect &&
	test_cmp expect v &&
	test "$(apih POST "$CT?fieldValidation=Warn" -H "$CT_JSON" \
		-d "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"image\":\"i\",\"foo\":1,\"free\":{\"x\":1}}}")" = 201 &&
	warnings >v && echo "299 - \"unknown field \\\"spec.foo\\\"\"" >expect && test_cmp expect v &&
	jqo ".spec.foo // \"gone\", .spec.free.x" >v && printf "gone\n1\n" >expect && test_cmp expect v &&
	test "$(apih PATCH "$CT/a?fieldValidation=Strict" -H "$MP" -d "{\"spec\":{\"bar\":1}}")" = 400 &&
	grep -q "unknown field \\\\\"spec.bar\\\\\"" out &&
	test "$(apih PATCH "$CT/a?fieldValidation=Strict" -H "$MP" -d "{\"spec\":{\"replicas\":3}}")" = 200
'

test_done

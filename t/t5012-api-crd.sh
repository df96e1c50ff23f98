#!/bin/sh
test_description='API server: CustomResourceDefinitions and their custom resources'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t5lib-api.sh"

start_server --store memory || exit 1

CRDS=/apis/apiextensions.k8s.io/v1/customresourcedefinitions
CT=/apis/stable.example.com/v1/namespaces/default/crontabs
CT_YAML='Content-Type: application/yaml'
TABLE='Accept: application/json;as=Table;v=v1;g=meta.k8s.io'

# The CronTab of the Kubernetes docs (Extend the Kubernetes API with
# CustomResourceDefinitions), with the validation, defaulting,
# additionalPrinterColumns and subresources examples of the same page.
cat >crd.yaml <<'YAML'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                cronSpec:
                  type: string
                  pattern: '^(\d+|\*)(/\d+)?(\s+(\d+|\*)(/\d+)?){4}$'
                  default: "5 0 * * *"
                image:
                  type: string
                replicas:
                  type: integer
                  minimum: 1
                  maximum: 10
                  default: 1
                size:
                  type: string
                  enum: [small, large]
                tags:
                  type: array
                  maxItems: 2
                  items:
                    type: string
                    maxLength: 8
                extra:
                  type: object
                  x-kubernetes-preserve-unknown-fields: true
                port:
                  x-kubernetes-int-or-string: true
                note:
                  type: string
                  nullable: true
            status:
              type: object
              properties:
                replicas:
                  type: integer
                labelSelector:
                  type: string
      subresources:
        status: {}
        scale:
          specReplicasPath: .spec.replicas
          statusReplicasPath: .status.replicas
          labelSelectorPath: .status.labelSelector
      additionalPrinterColumns:
      - name: Spec
        type: string
        description: The cron spec defining the interval a CronJob is run
        jsonPath: .spec.cronSpec
      - name: Replicas
        type: integer
        description: The number of jobs launched by the CronJob
        jsonPath: .spec.replicas
      - name: Age
        type: date
        jsonPath: .metadata.creationTimestamp
  scope: Namespaced
  names:
    plural: crontabs
    singular: crontab
    kind: CronTab
    shortNames:
    - ct
YAML

cat >cr.yaml <<'YAML'
apiVersion: "stable.example.com/v1"
kind: CronTab
metadata:
  name: my-new-cron-object
  labels:
    app: cron
spec:
  cronSpec: "* * * * */5"
  image: my-awesome-cron-image
  replicas: 2
YAML

test_expect_success 'a CRD is created and accepted' '
	expect_code 201 POST $CRDS -H "$CT_YAML" --data-binary @crd.yaml &&
	jqo ".status.conditions[] | select(.type==\"NamesAccepted\") | .status" >v &&
	echo True >expect && test_cmp expect v &&
	jqo ".status.conditions[] | select(.type==\"Established\") | .status" >v &&
	test_cmp expect v &&
	jqo ".status.acceptedNames.kind, .status.acceptedNames.listKind, .status.storedVersions[0]" >v &&
	printf "CronTab\nCronTabList\nv1\n" >expect && test_cmp expect v
'

test_expect_success 'CRDs print as Name and Created At (the default table convertor)' '
	expect_code 200 GET $CRDS -H "$TABLE" &&
	jqo "([.columnDefinitions[].name] | join(\",\")), .rows[0].cells[0]" >v &&
	printf "Name,Created At\ncrontabs.stable.example.com\n" >expect && test_cmp expect v &&
	jqo ".rows[0].cells[1]" | grep -E "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$"
'

test_expect_success 'discovery lists the group, its version and the resource' '
	expect_code 200 GET /apis &&
	jqo ".groups[] | select(.name==\"stable.example.com\") | .preferredVersion.groupVersion" >v &&
	echo stable.example.com/v1 >expect && test_cmp expect v &&
	expect_code 200 GET /apis/stable.example.com &&
	jqo ".kind, .versions[0].version" >v && printf "APIGroup\nv1\n" >expect && test_cmp expect v &&
	expect_code 200 GET /apis/stable.example.com/v1 &&
	jqo ".resources[] | select(.name==\"crontabs\") | [.singularName, .kind, (.namespaced|tostring), .shortNames[0]] | join(\" \")" >v &&
	echo "crontab CronTab true ct" >expect && test_cmp expect v &&
	jqo "[.resources[].name] | join(\" \")" >v &&
	echo "crontabs crontabs/status crontabs/scale" >expect && test_cmp expect v &&
	jqo ".resources[] | select(.name==\"crontabs/scale\") | .group + \"/\" + .version + \" \" + .kind" >v &&
	echo "autoscaling/v1 Scale" >expect && test_cmp expect v
'

test_expect_success 'create, get and list a custom resource' '
	expect_code 201 POST $CT -H "$CT_YAML" --data-binary @cr.yaml &&
	jqo ".metadata.generation, .spec.replicas, .metadata.namespace" >v &&
	printf "1\n2\ndefault\n" >expect && test_cmp expect v &&
	test -n "$(jqo .metadata.uid)" &&
	expect_code 200 GET $CT/my-new-cron-object &&
	jqo ".kind, .apiVersion, .spec.cronSpec" >v &&
	printf "CronTab\nstable.example.com/v1\n* * * * */5\n" >expect && test_cmp expect v &&
	expect_code 409 POST $CT -H "$CT_YAML" --data-binary @cr.yaml &&
	jqo .reason >v && echo AlreadyExists >expect && test_cmp expect v &&
	expect_code 200 GET $CT &&
	jqo ".kind, (.items|length)" >v && printf "CronTabList\n1\n" >expect && test_cmp expect v &&
	expect_code 200 GET /apis/stable.example.com/v1/crontabs &&
	jqo ".items[0].metadata.name" >v && echo my-new-cron-object >expect && test_cmp expect v
'

test_expect_success '/metrics counts custom resource requests and objects' '
	curl -s "$S/metrics" >m &&
	grep -x "apiserver_request_total{code=\"409\",group=\"stable.example.com\",resource=\"crontabs\",verb=\"POST\"} 1" m &&
	grep -x "apiserver_request_total{code=\"201\",group=\"stable.example.com\",resource=\"crontabs\",verb=\"POST\"} 1" m &&
	grep -x "apiserver_storage_objects{resource=\"crontabs.stable.example.com\"} 1" m
'

test_expect_success 'defaults from the schema fill missing fields' '
	expect_code 201 POST $CT -H "$CT_JSON" \
		-d "{\"metadata\":{\"name\":\"defaulted\"},\"spec\":{\"image\":\"i\"}}" &&
	jqo ".spec.cronSpec, .spec.replicas" >v &&
	printf "5 0 * * *\n1\n" >expect && test_cmp expect v
'

test_expect_success 'list with label and field selectors, limit and continue' '
	expect_code 200 GET "$CT?labelSelector=app%3Dcron" &&
	jqo "[.items[].metadata.name] | join(\" \")" >v &&
	echo my-new-cron-object >expect && test_cmp expect v &&
	expect_code 200 GET "$CT?fieldSelector=metadata.name%3Ddefaulted" &&
	jqo "[.items[].metadata.name] | join(\" \")" >v && echo defaulted >expect && test_cmp expect v &&
	expect_code 200 GET "/apis/stable.example.com/v1/crontabs?fieldSelector=metadata.namespace%3Dkube-system" &&
	jqo ".items | length" >v && echo 0 >expect && test_cmp expect v &&
	expect_code 200 GET "$CT?limit=1" &&
	jqo ".items[0].metadata.name" >v && echo defaulted >expect && test_cmp expect v &&
	c=$(jqo .metadata.continue) && test -n "$c" &&
	expect_code 200 GET "$CT?limit=1&continue=$c" &&
	jqo ".items[0].metadata.name, .metadata.continue // \"none\"" >v &&
	printf "my-new-cron-object\nnone\n" >expect && test_cmp expect v
'

test_expect_success 'schema violations are 422 Invalid with field paths, nothing stored' '
	expect_code 422 POST $CT -H "$CT_JSON" \
		-d "{\"metadata\":{\"name\":\"bad\"},\"spec\":{\"cronSpec\":\"* * * *\",\"replicas\":15}}" &&
	jqo ".reason, .details.kind, ([.details.causes[].field] | join(\" \"))" >v &&
	printf "Invalid\nCronTab\nspec.cronSpec spec.replicas\n" >expect && test_cmp expect v &&
	jqo .message >msg &&
	grep -F "CronTab.stable.example.com \"bad\" is invalid" msg &&
	grep -F "spec.replicas in body should be less than or equal to 10" msg &&
	expect_code 422 POST $CT -H "$CT_JSON" \
		-d "{\"metadata\":{\"name\":\"bad\"},\"spec\":{\"replicas\":\"two\",\"size\":\"huge\",\"tags\":[\"a\",\"b\",\"c\"],\"note\":null}}" &&
	jqo "[.details.causes[] | .field + \"=\" + .reason] | sort | join(\" \")" >v &&
	echo "spec.replicas=FieldValueTypeInvalid spec.size=FieldValueNotSupported spec.tags=FieldValueInvalid" >expect &&
	test_cmp expect v &&
	expect_code 422 POST $CT -H "$CT_JSON" \
		-d "{\"metadata\":{\"name\":\"bad\"},\"spec\":{\"replicas\":0,\"tags\":[\"waytoolongtag\"],\"port\":true}}" &&
	jqo "[.details.causes[] | .field + \"=\" + .reason] | sort | join(\" \")" >v &&
	echo "spec.port=FieldValueTypeInvalid spec.replicas=FieldValueInvalid spec.tags[0]=FieldValueTooLong" >expect &&
	test_cmp expect v &&
	expect_code 404 GET $CT/bad
'

test_expect_success 'unknown fields are pruned; preserve-unknown-fields keeps them' '
	expect_code 201 POST "$CT?fieldValidation=Ignore" -H "$CT_JSON" \
		-d "{\"metadata\":{\"name\":\"pruned\",\"someMeta\":1},\"spec\":{\"image\":\"i\",\"someRandomField\":42,\"port\":\"http\",\"extra\":{\"any\":{\"thing\":1}}},\"top\":true}" &&
	expect_code 200 GET $CT/pruned &&
	jqo ".spec.someRandomField // \"gone\", .top // \"gone\", .metadata.someMeta // \"gone\", .spec.extra.any.thing, .spec.port" >v &&
	printf "gone\ngone\ngone\n1\nhttp\n" >expect && test_cmp expect v
'

test_expect_success 'Table output uses the additionalPrinterColumns' '
	expect_code 200 GET "$CT/my-new-cron-object" -H "$TABLE" &&
	jqo "[.columnDefinitions[].name] | join(\" \")" >v &&
	echo "Name Spec Replicas Age" >expect && test_cmp expect v &&
	jqo ".rows[0].cells[0:3] | map(tostring) | join(\"|\")" >v &&
	echo "my-new-cron-object|* * * * */5|2" >expect && test_cmp expect v &&
	jqo ".rows[0].object.kind" >v && echo PartialObjectMetadata >expect && test_cmp expect v &&
	expect_code 200 GET "$CT" -H "$TABLE" &&
	jqo ".rows | length" >v && echo 3 >expect && test_cmp expect v
'

test_expect_success 'patches: merge, JSON, apply; strategic merge is 415' '
	expect_code 200 PATCH $CT/my-new-cron-object -H "Content-Type: application/merge-patch+json" \
		-d "{\"spec\":{\"replicas\":3}}" &&
	jqo ".spec.replicas, .spec.image, .metadata.generation" >v &&
	printf "3\nmy-awesome-cron-image\n2\n" >expect && test_cmp expect v &&
	expect_code 200 PATCH $CT/my-new-cron-object -H "Content-Type: application/json-patch+json" \
		-d "[{\"op\":\"replace\",\"path\":\"/spec/image\",\"value\":\"img2\"}]" &&
	jqo ".spec.image" >v && echo img2 >expect && test_cmp expect v &&
	expect_code 415 PATCH $CT/my-new-cron-object -H "Content-Type: application/strategic-merge-patch+json" \
		-d "{\"spec\":{\"replicas\":4}}" &&
	jqo .reason >v && echo UnsupportedMediaType >expect && test_cmp expect v &&
	expect_code 422 PATCH $CT/my-new-cron-object -H "Content-Type: application/merge-patch+json" \
		-d "{\"spec\":{\"replicas\":11}}" &&
	expect_code 200 GET $CT/my-new-cron-object && jqo .spec.replicas >v &&
	echo 3 >expect && test_cmp expect v &&
	expect_code 201 PATCH "$CT/applied?fieldManager=t" -H "Content-Type: application/apply-patch+yaml" \
		--data-binary "{\"apiVersion\":\"stable.example.com/v1\",\"kind\":\"CronTab\",\"metadata\":{\"name\":\"applied\"},\"spec\":{\"image\":\"x\"}}" &&
	jqo .spec.replicas >v && echo 1 >expect && test_cmp expect v
'

test_expect_success 'status: only through /status; generation follows spec only' '
	expect_code 200 GET $CT/my-new-cron-object && jqo .metadata.generation >g0 &&
	expect_code 200 PATCH $CT/my-new-cron-object -H "Content-Type: application/merge-patch+json" \
		-d "{\"status\":{\"replicas\":7}}" &&
	jqo ".status.replicas // \"none\"" >v && echo none >expect && test_cmp expect v &&
	expect_code 200 PATCH $CT/my-new-cron-object/status -H "Content-Type: application/merge-patch+json" \
		-d "{\"status\":{\"replicas\":2,\"labelSelector\":\"app=cron\"},\"spec\":{\"replicas\":9}}" &&
	jqo ".status.replicas, .spec.replicas, .metadata.generation" >v &&
	printf "2\n3\n%s\n" "$(cat g0)" >expect && test_cmp expect v &&
	expect_code 200 GET $CT/my-new-cron-object/status && jqo .status.labelSelector >v &&
	echo app=cron >expect && test_cmp expect v &&
	expect_code 422 PATCH $CT/my-new-cron-object/status -H "Content-Type: application/merge-patch+json" \
		-d "{\"status\":{\"replicas\":\"x\"}}" &&
	jqo ".details.causes[0].field" >v && echo status.replicas >expect && test_cmp expect v
'

test_expect_success 'scale subresource reads and writes the declared paths' '
	expect_code 200 GET $CT/my-new-cron-object/scale &&
	jqo ".kind, .apiVersion, .spec.replicas, .status.replicas, .status.selector" >v &&
	printf "Scale\nautoscaling/v1\n3\n2\napp=cron\n" >expect && test_cmp expect v &&
	expect_code 200 PUT $CT/my-new-cron-object/scale -H "$CT_JSON" \
		-d "{\"kind\":\"Scale\",\"apiVersion\":\"autoscaling/v1\",\"metadata\":{\"name\":\"my-new-cron-object\"},\"spec\":{\"replicas\":5}}" &&
	expect_code 200 GET $CT/my-new-cron-object && jqo .spec.replicas >v &&
	echo 5 >expect && test_cmp expect v
'

test_expect_success 'watch streams custom resource events' '
	expect_code 200 GET $CT && rv=$(jqo .metadata.resourceVersion) &&
	(curl -sN "$S$CT?watch=1&resourceVersion=$rv&timeoutSeconds=3" >events &) &&
	sleep 0.3 &&
	expect_code 201 POST $CT -H "$CT_JSON" -d "{\"metadata\":{\"name\":\"watched\"},\"spec\":{}}" &&
	expect_code 200 DELETE $CT/watched &&
	i=0 && while test $i -lt 40 && test "$(grep -c . events)" -lt 2; do sleep 0.1; i=$((i+1)); done &&
	jq -r ".type + \" \" + .object.metadata.name" events >v &&
	printf "ADDED watched\nDELETED watched\n" >expect && test_cmp expect v
'

test_expect_success 'bad CRDs are refused with 4xx and change nothing' '
	sed -e "s/name: crontabs.stable.example.com/name: widgets.stable.example.com/" \
	    -e "s/plural: crontabs/plural: widgets/" -e "s/singular: crontab/singular: widget/" \
	    -e "s/kind: CronTab/kind: Widget/" -e "s/- ct$/- wd/" crd.yaml >other.yaml &&
	sed -e "s/kind: Widget/kind: CronTab/" -e "s/- wd$/- ct/" other.yaml >clash.yaml &&
	expect_code 422 POST $CRDS -H "$CT_YAML" --data-binary @clash.yaml &&
	jqo "[.details.causes[] | .field + \": \" + .message] | join(\"; \")" >v &&
	echo "spec.names.kind: Invalid value: \"CronTab\": \"CronTab\" is already in use; spec.names.shortNames[0]: Invalid value: \"ct\": \"ct\" is already in use" >expect &&
	test_cmp expect v &&
	sed "s/type: integer/type: int/" other.yaml >badtype.yaml &&
	expect_code 422 POST $CRDS -H "$CT_YAML" --data-binary @badtype.yaml &&
	jqo "[.details.causes[].field] | join(\" \")" >v &&
	echo "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[replicas].type spec.versions[0].schema.openAPIV3Schema.properties[status].properties[replicas].type spec.versions[0].additionalPrinterColumns[1].type" >expect &&
	test_cmp expect v &&
	sed "/maxItems: 2/,/maxLength: 8/d" other.yaml >noitems.yaml &&
	expect_code 422 POST $CRDS -H "$CT_YAML" --data-binary @noitems.yaml &&
	jqo ".details.causes[0].field + \": \" + .details.causes[0].message" >v &&
	echo "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[tags].items: Required value: must be specified" >expect &&
	test_cmp expect v &&
	sed "s/name: widgets.stable.example.com/name: widget.stable.example.com/" other.yaml >badname.yaml &&
	expect_code 422 POST $CRDS -H "$CT_YAML" --data-binary @badname.yaml &&
	jqo ".details.causes[0].field" >v && echo metadata.name >expect && test_cmp expect v &&
	sed -e "s/widgets.stable.example.com/deployments.apps/" -e "s/group: stable.example.com/group: apps/" \
	    -e "s/plural: widgets/plural: deployments/" other.yaml >builtin.yaml &&
	expect_code 422 POST $CRDS -H "$CT_YAML" --data-binary @builtin.yaml &&
	jqo ".details.causes[0].field" >v && echo spec.group >expect && test_cmp expect v &&
	sed -e "s/stable.example.com/networking.k8s.io/g" other.yaml >builtin2.yaml &&
	expect_code 422 POST $CRDS -H "$CT_YAML" --data-binary @builtin2.yaml &&
	grep -q "served by a built-in API" out &&
	sed "s/storage: true/storage: false/" other.yaml >nostorage.yaml &&
	expect_code 422 POST $CRDS -H "$CT_YAML" --data-binary @nostorage.yaml &&
	grep -q "exactly one version marked as storage version" out &&
	expect_code 404 GET $CRDS/widgets.stable.example.com &&
	expect_code 404 GET /apis/stable.example.com/v1/namespaces/default/widgets &&
	expect_code 404 GET /apis/networking.k8s.io/v1/namespaces/default/widgets
'

test_expect_success 'a cluster-scoped CRD with two versions, served from the storage one' '
	cat >multi.json <<-EOF &&
	{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
	 "metadata":{"name":"gadgets.tools.example.org"},
	 "spec":{"group":"tools.example.org","scope":"Cluster",
	  "names":{"plural":"gadgets","kind":"Gadget","categories":["all"]},
	  "versions":[
	   {"name":"v1alpha1","served":false,"storage":false,"schema":{"openAPIV3Schema":{"type":"object"}}},
	   {"name":"v1beta1","served":true,"storage":false,"schema":{"openAPIV3Schema":{"type":"object","properties":{"spec":{"type":"object","properties":{"size":{"type":"integer"}}}}}}},
	   {"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","properties":{"spec":{"type":"object","properties":{"size":{"type":"integer"}}}}}}}]}}
	EOF
	expect_code 201 POST $CRDS -H "$CT_JSON" --data-binary @multi.json &&
	expect_code 200 GET /apis/tools.example.org &&
	jqo ".preferredVersion.version, ([.versions[].version] | join(\" \"))" >v &&
	printf "v1\nv1 v1beta1\n" >expect && test_cmp expect v &&
	expect_code 200 GET /apis/tools.example.org/v1 &&
	jqo ".resources[0] | (.namespaced|tostring) + \" \" + .singularName + \" \" + .categories[0]" >v &&
	echo "false gadget all" >expect && test_cmp expect v &&
	expect_code 201 POST /apis/tools.example.org/v1beta1/gadgets -H "$CT_JSON" \
		-d "{\"metadata\":{\"name\":\"g1\"},\"spec\":{\"size\":3}}" &&
	jqo .apiVersion >v && echo tools.example.org/v1beta1 >expect && test_cmp expect v &&
	expect_code 200 GET /apis/tools.example.org/v1/gadgets/g1 &&
	jqo ".apiVersion, .spec.size" >v && printf "tools.example.org/v1\n3\n" >expect && test_cmp expect v &&
	expect_code 200 GET /apis/tools.example.org/v1beta1/gadgets &&
	jqo ".items[0].apiVersion" >v && echo tools.example.org/v1beta1 >expect && test_cmp expect v &&
	expect_code 404 GET /apis/tools.example.org/v1/namespaces/default/gadgets/g1 &&
	expect_code 404 GET /apis/tools.example.org/v1alpha1/gadgets &&
	expect_code 404 GET /apis/tools.example.org/v1alpha1
'

test_expect_success 'the OpenAPI v3 index and document describe the custom resource' '
	expect_code 200 GET /openapi/v3 &&
	url=$(jqo ".paths[\"apis/stable.example.com/v1\"].serverRelativeURL") &&
	case "$url" in /openapi/v3/apis/stable.example.com/v1\?hash=*) ;; *) false ;; esac &&
	expect_code 200 GET "$url" &&
	jqo ".components.schemas[\"com.example.stable.v1.CronTab\"].properties.spec.properties.replicas.maximum" >v &&
	echo 10 >expect && test_cmp expect v &&
	p="/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}" &&
	jq -r --arg p "$p" ".paths[\$p].patch.requestBody.content | keys | join(\" \")" out >v &&
	echo "application/apply-patch+yaml application/json-patch+json application/merge-patch+json" >expect &&
	test_cmp expect v
'

test_expect_success 'deleting the CRD deletes its custom resources and its API' '
	expect_code 200 GET $CT && rv=$(jqo .metadata.resourceVersion) &&
	( (curl -sN "$S$CT?watch=1&resourceVersion=$rv&timeoutSeconds=60" >wevents; echo end >wdone) & ) &&
	sleep 0.3 &&
	expect_code 200 DELETE $CRDS/crontabs.stable.example.com &&
	i=0 && while test $i -lt 50 && test "$(api GET $CRDS/crontabs.stable.example.com)" = 200; do
		sleep 0.1; i=$((i+1)); done &&
	expect_code 404 GET $CRDS/crontabs.stable.example.com &&
	expect_code 404 GET $CT/my-new-cron-object &&
	expect_code 200 GET /apis &&
	jqo "[.groups[].name] | map(select(. == \"stable.example.com\")) | length" >v &&
	echo 0 >expect && test_cmp expect v &&
	i=0 && while test $i -lt 50 && ! test -f wdone; do sleep 0.1; i=$((i+1)); done &&
	test -f wdone &&
	jq -r "select(.object.metadata.name == \"my-new-cron-object\") | .type" wevents >v &&
	echo DELETED >expect && test_cmp expect v &&
	expect_code 201 POST $CRDS -H "$CT_YAML" --data-binary @crd.yaml &&
	expect_code 200 GET $CT && jqo ".items | length" >v && echo 0 >expect && test_cmp expect v
'

kubectl_tests() {
	# kubectl caches discovery under $HOME/.kube: keep it in the trash directory.
	HOME=$TRASH_DIRECTORY KUBECONFIG=$TRASH_DIRECTORY/no-kubeconfig
	export HOME KUBECONFIG
	sed "s/my-new-cron-object/k1/" cr.yaml >k1.yaml
	test_expect_success 'kubectl apply -f crd.yaml, then a custom resource' '
		k() { timeout 30 kubectl --server "$S" "$@"; } &&
		k apply -f crd.yaml >o 2>&1 && cat o &&
		k apply -f k1.yaml >o 2>&1 && cat o &&
		grep -x "crontab.stable.example.com/k1 created" o &&
		k apply -f k1.yaml >o 2>&1 && grep -x "crontab.stable.example.com/k1 unchanged" o &&
		sed "s/replicas: 2/replicas: 4/" k1.yaml >k1b.yaml &&
		k apply -f k1b.yaml >o 2>&1 && grep -x "crontab.stable.example.com/k1 configured" o
	'
	test_expect_success 'kubectl get crontabs, get ct -o yaml, api-resources' '
		k() { timeout 30 kubectl --server "$S" "$@"; } &&
		k get crontabs >o && head -1 o | tr -s " " >v &&
		echo "NAME SPEC REPLICAS AGE" >expect && test_cmp expect v &&
		grep "^k1 " o | tr -s " " | cut -d" " -f1-7 >v &&
		echo "k1 * * * * */5 4" >expect && test_cmp expect v &&
		k get ct k1 -o yaml >o && grep -x "  replicas: 4" o && grep -x "kind: CronTab" o &&
		k api-resources --api-group=stable.example.com >o && grep -E "^crontabs +ct +stable.example.com/v1 +true +CronTab" o
	'
	test_expect_success 'kubectl refuses unknown fields (--validate=strict is its default)' '
		k() { timeout 30 kubectl --server "$S" "$@"; } &&
		sed "s/  image:/  imagee:/" k1.yaml >typo.yaml &&
		! k apply -f typo.yaml >o 2>&1 && cat o &&
		grep -F "strict decoding error: unknown field \"spec.imagee\"" o &&
		k apply --validate=false -f typo.yaml >o 2>&1
	'
	test_expect_success 'kubectl scale and delete a custom resource' '
		k() { timeout 30 kubectl --server "$S" "$@"; } &&
		k scale ct k1 --replicas=6 >o 2>&1 && grep "scaled" o &&
		k get ct k1 -o jsonpath="{.spec.replicas}" >v && printf 6 >expect && test_cmp expect v &&
		k delete ct k1 >o 2>&1 && grep -x "crontab.stable.example.com \"k1\" deleted" o &&
		! k get ct k1 2>o && grep -F "NotFound" o &&
		k delete -f crd.yaml >o 2>&1 && cat o
	'
}
if command -v kubectl >/dev/null 2>&1; then
	kubectl_tests
else
	test_skip 'kubectl not found'
fi

stop_server
start_server --store leveldb --data-dir db || exit 1
test_expect_success 'a CRD and a custom resource on a leveldb server' '
	expect_code 201 POST $CRDS -H "$CT_YAML" --data-binary @crd.yaml &&
	expect_code 201 POST $CT -H "$CT_YAML" --data-binary @cr.yaml
'
stop_server
start_server --store leveldb --data-dir db || exit 1
test_expect_success 'after a restart the stored CRD is served again' '
	expect_code 200 GET $CT/my-new-cron-object &&
	jqo .spec.cronSpec >v && echo "* * * * */5" >expect && test_cmp expect v
'

# Two API servers on one etcd: what one is told, the other serves.
ETCD_PID=
# Ports below the kernel's ephemeral range (32768-), another try on other
# ports when they were taken (other tests run etcd beside this one).
start_etcd() {
	for try in 1 2 3; do
		base=$((20000 + ($$ * 7 + try * 1009) % 12000))
		E="http://127.0.0.1:$base"
		peer="http://127.0.0.1:$((base + 1))"
		rm -rf etcd
		etcd --data-dir etcd --listen-client-urls "$E" --advertise-client-urls "$E" \
			--listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
			--initial-cluster "default=$peer" --log-level warn >etcd.log 2>&1 &
		ETCD_PID=$!
		i=0
		while test $i -lt 100 && kill -0 $ETCD_PID 2>/dev/null; do
			if curl -s "$E/health" | grep -q '"health":"true"'; then
				test_when_finished "kill $ETCD_PID 2>/dev/null; wait $ETCD_PID 2>/dev/null"
				return 0
			fi
			i=$((i + 1))
			sleep 0.1
		done
		kill $ETCD_PID 2>/dev/null
		wait $ETCD_PID 2>/dev/null
	done
	return 1
}
if command -v etcd >/dev/null 2>&1 && stop_server && start_etcd &&
   start_server --store etcd --etcd-endpoints "$E" && A=$S &&
   start_server --store etcd --etcd-endpoints "$E" && B=$S; then
	test_expect_success 'two servers on one etcd serve the CRDs either was given' '
		S=$A && expect_code 201 POST $CRDS -H "$CT_YAML" --data-binary @crd.yaml &&
		S=$B && i=0 && while test "$(api GET $CT)" != 200; do
			i=$((i+1)); test $i -lt 50 || exit 1; sleep 0.1; done &&
		expect_code 201 POST $CT -H "$CT_YAML" --data-binary @cr.yaml &&
		S=$A && expect_code 200 GET $CT/my-new-cron-object &&
		S=$B && expect_code 200 DELETE $CRDS/crontabs.stable.example.com &&
		S=$A && i=0 && while test "$(api GET $CT)" != 404; do
			i=$((i+1)); test $i -lt 50 || exit 1; sleep 0.1; done &&
		S=$B && expect_code 404 GET $CT
	'
else
	test_skip 'two servers on one etcd (etcd not installed or would not start)'
fi

test_done

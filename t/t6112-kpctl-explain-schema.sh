#!/bin/sh
# kpctl explain against a fake API server (a few lines of Python) whose
# OpenAPI v3 document uses what kplane's own schemas do not: enums,
# externalDocs, allOf around a $ref, a $ref to a non-object, maps, arrays of
# a self-referencing type, and a description long enough to wrap. The
# expected text is worked out by hand from kubectl 1.32's plaintext
# template; real kubectl, when on PATH, must print the same.
test_description='kpctl explain: the plaintext template on a hand-made schema'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t6lib-kpctl.sh"

command -v python3 >/dev/null 2>&1 || kpctl_skip_all "python3 is needed for the fake server"

W="word word word word word word word word word word word word word word word word word word word word"
cat >server.py <<EOF
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
GVK = {"group": "example.com", "version": "v1", "kind": "Widget"}
S = "#/components/schemas/"
doc = {"openapi": "3.0.0",
  "paths": {"/apis/example.com/v1/namespaces/{namespace}/widgets": {"get": {"x-kubernetes-group-version-kind": GVK}}},
  "components": {"schemas": {
    "com.example.v1.Widget": {"type": "object", "x-kubernetes-group-version-kind": [GVK],
      "description": "$W\nSecond line.",
      "externalDocs": {"description": "More about widgets.", "url": "https://example.com/widgets"},
      "required": ["spec"],
      "properties": {"kind": {"type": "string", "description": "Kind."},
                     "spec": {"description": "The spec.", "allOf": [{"\$ref": S + "com.example.v1.WidgetSpec"}]}}},
    "com.example.v1.WidgetSpec": {"type": "object", "description": "WidgetSpec says what a widget is.",
      "required": ["size"],
      "properties": {"color": {"type": "string", "description": "Its colour.", "enum": ["red", "green", "", "blue", "black"]},
                     "size": {"type": "integer", "format": "int32"},
                     "parts": {"type": "array", "description": "Nested widgets.", "items": {"\$ref": S + "com.example.v1.WidgetSpec"}},
                     "tags": {"type": "object", "additionalProperties": {"type": "string"}},
                     "quantity": {"\$ref": S + "com.example.Quantity"}}},
    "com.example.Quantity": {"type": "string", "description": "A quantity."}}}}
routes = {
  "/api": {"kind": "APIVersions", "versions": ["v1"]},
  "/api/v1": {"kind": "APIResourceList", "groupVersion": "v1", "resources": []},
  "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": [{"name": "example.com",
    "versions": [{"groupVersion": "example.com/v1", "version": "v1"}],
    "preferredVersion": {"groupVersion": "example.com/v1", "version": "v1"}}]},
  "/apis/example.com/v1": {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "example.com/v1",
    "resources": [{"name": "widgets", "singularName": "widget", "namespaced": True, "kind": "Widget",
                   "verbs": ["get", "list"], "shortNames": ["wg"]}]},
  "/openapi/v3": {"paths": {"apis/example.com/v1": {"serverRelativeURL": "/openapi/v3/apis/example.com/v1?hash=1"}}},
  "/openapi/v3/apis/example.com/v1": doc,
  "/version": {"major": "1", "minor": "32", "gitVersion": "v1.32.0"},
}
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        body = routes.get(self.path.split("?")[0])
        code = 200 if body is not None else 404
        data = json.dumps(body if body is not None else {"kind": "Status", "code": 404}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, *a):
        pass
srv = HTTPServer(("127.0.0.1", 0), H)
open("port.tmp", "w").write(str(srv.server_port))
import os; os.rename("port.tmp", "port")
srv.serve_forever()
EOF

python3 server.py >server.log 2>&1 &
PY_PID=$!
test_when_finished "kill $PY_PID 2>/dev/null"
i=0
while ! test -s port && test $i -lt 100; do sleep 0.05; i=$((i + 1)); done
test -s port || { echo "1..0 # SKIP the fake server did not start"; exit 0; }
KPLANE_SERVER=http://127.0.0.1:$(cat port)
export KPLANE_SERVER

header() {
	printf "%s\n" "GROUP:      example.com" "KIND:       Widget" "VERSION:    v1" ""
}

test_expect_success 'a kind: wrapped description (76 columns), FIELDS' '
	kpctl explain widgets >out &&
	header >expect &&
	# 15 four-letter words take 74 columns; the 16th would pass 76
	# externalDocs are not printed: the template of kubectl 1.32 has no place for them
	printf "%s\n" "DESCRIPTION:" \
		"    word word word word word word word word word word word word word word word" \
		"    word word word word word" "    Second line." "    " \
		"FIELDS:" "  kind	<string>" "    Kind." "" \
		"  spec	<WidgetSpec> -required-" "    The spec." "" "" >>expect &&
	test_cmp expect out
'

test_expect_success 'a field behind allOf: descriptions of both, short enums, type guesses' '
	kpctl explain wg.spec >out &&
	header >expect &&
	printf "%s\n" "FIELD: spec <WidgetSpec>" "" "" "DESCRIPTION:" "    The spec." \
		"    WidgetSpec says what a widget is." "    " "FIELDS:" \
		"  color	<string>" "  enum: red, green, \"\", blue, ...." "    Its colour." "" \
		"  parts	<[]WidgetSpec>" "    Nested widgets." "" \
		"  quantity	<string>" "    <no description>" "" \
		"  size	<integer> -required-" "    <no description>" "" \
		"  tags	<map[string]string>" "    <no description>" "" "" >>expect &&
	test_cmp expect out
'

test_expect_success 'a leaf with an enum: ENUM one per line' '
	kpctl explain widget.spec.color >out &&
	header >expect &&
	printf "%s\n" "FIELD: color <string>" "ENUM:" "    red" "    green" "    \"\"" "    blue" "    black" "" \
		"DESCRIPTION:" "    Its colour." "    " "" >>expect &&
	test_cmp expect out
'

test_expect_success 'through an array of a self-referencing type; a $ref to a string' '
	kpctl explain widgets.spec.parts.size >out &&
	header >expect &&
	printf "%s\n" "FIELD: size <integer>" "" "" "DESCRIPTION:" "    <empty>" "" >>expect &&
	test_cmp expect out &&
	kpctl explain widgets.spec.quantity >out &&
	header >expect &&
	printf "%s\n" "FIELD: quantity <string>" "" "" "DESCRIPTION:" "    A quantity." "    " "" >>expect &&
	test_cmp expect out
'

test_expect_success '--recursive stops at a type already on the way down' '
	kpctl explain widgets.spec --recursive >out &&
	sed -n "/^FIELDS:/,\$p" out >fields &&
	printf "%s\n" "FIELDS:" "  color	<string>" "  enum: red, green, \"\", blue, ...." \
		"  parts	<[]WidgetSpec>" "  quantity	<string>" "  size	<integer> -required-" \
		"  tags	<map[string]string>" "" >expect &&
	test_cmp expect fields
'

test_expect_success 'a missing field after an array' '
	! kpctl explain widgets.spec.parts.nope >out 2>err &&
	echo "error: field \"nope\" does not exist" >expect && test_cmp expect err
'

test_expect_success 'real kubectl prints the same (when on PATH)' '
	if ! command -v kubectl >/dev/null 2>&1; then exit 0; fi
	for what in widgets wg.spec widget.spec.color widgets.spec.parts.size "widgets.spec --recursive"; do
		timeout 30 kubectl --server "$KPLANE_SERVER" explain $what >want 2>/dev/null &&
		kpctl explain $what >got && test_cmp want got || exit 1
	done
'

test_done

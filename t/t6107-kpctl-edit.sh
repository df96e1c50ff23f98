#!/bin/sh
test_description='kpctl edit: the editor loop of kubectl edit'
. "$(dirname "$0")/test-lib.sh"
. "$KP_SRC_DIR/t/t6lib-kpctl.sh"

kpctl_start_server || kpctl_skip_all "kplane server is not available"

# The "editor": pass N copies the file it was given to seen.N and applies
# step.N.sed to it when that exists (else saves it unchanged), so a test
# scripts what a user would do on each opening.
cat >ed.sh <<'EOF'
#!/bin/sh
n=$(cat count 2>/dev/null || echo 0)
n=$((n + 1))
echo $n >count
cp "$1" "seen.$n"
if test -f "step.$n.sed"; then sed -i -f "step.$n.sed" "$1"; fi
if test -f "step.$n.sh"; then sh "step.$n.sh" "$1"; fi
EOF
EDITOR="sh $TRASH_DIRECTORY/ed.sh"
TMPDIR=$TRASH_DIRECTORY/tmp
export EDITOR TMPDIR
unset KUBE_EDITOR
mkdir tmp

fresh() {
	rm -f count seen.* step.* tmp/*
}

cat >objs.yaml <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {color: blue, size: small}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: other}
data: {color: red}
---
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - {name: c, image: "nginx:1.25"}
YAML

header() {
	cat <<-\EOF
	# Please edit the object below. Lines beginning with a '#' will be ignored,
	# and an empty file will abort the edit. If an error occurs while saving this file will be
	# reopened with the relevant failures.
	#
	EOF
}

test_expect_success 'setup' '
	kpctl create -f objs.yaml >/dev/null
'

test_expect_success 'unchanged file: "Edit cancelled, no changes made.", exit 0, temp file removed' '
	fresh &&
	kpctl edit configmap cfg >out 2>err &&
	test ! -s out &&
	echo "Edit cancelled, no changes made." >expect && test_cmp expect err &&
	test "$(cat count)" = 1 &&
	head -n 4 seen.1 >h && header >expect && test_cmp expect h &&
	grep "^kind: ConfigMap$" seen.1 && grep "^  color: blue$" seen.1 &&
	grep "^  resourceVersion: " seen.1 &&
	! grep managedFields seen.1 &&
	test -z "$(ls tmp)"
'

test_expect_success 'a change is sent and reported as "edited"' '
	fresh &&
	echo "s/^  color: blue$/  color: green/" >step.1.sed &&
	kpctl edit cm/cfg >out 2>err &&
	echo "configmap/cfg edited" >expect && test_cmp expect out &&
	kpctl get cm cfg -o jsonpath="{.data.color} {.data.size}" >v &&
	printf "green small" >expect && test_cmp expect v &&
	test -z "$(ls tmp)"
'

test_expect_success 'removing a key removes it from the object (merge patch null)' '
	fresh &&
	echo "/^  size: small$/d" >step.1.sed &&
	kpctl edit configmap cfg >out &&
	kpctl get cm cfg -o jsonpath="{.data}" >v &&
	printf "{\"color\":\"green\"}" >expect && test_cmp expect v
'

test_expect_success '-o json edits JSON' '
	fresh &&
	echo "s/\"color\": \"green\"/\"color\": \"teal\"/" >step.1.sed &&
	kpctl edit configmap cfg -o json >out &&
	echo "configmap/cfg edited" >expect && test_cmp expect out &&
	sed -n 5p seen.1 >first && echo "{" >expect && test_cmp expect first &&
	kpctl get cm cfg -o jsonpath="{.data.color}" >v &&
	printf teal >expect && test_cmp expect v
'

test_expect_success 'KUBE_EDITOR wins over EDITOR; several objects open as one List' '
	fresh &&
	printf "%s\n" "s/color: teal/color: one/" "s/color: red/color: two/" >step.1.sed &&
	KUBE_EDITOR="sh $TRASH_DIRECTORY/ed.sh" EDITOR=false kpctl edit cm cfg other >out &&
	printf "configmap/cfg edited\nconfigmap/other edited\n" >expect && test_cmp expect out &&
	grep "^kind: List$" seen.1 &&
	kpctl get cm -o jsonpath="{.items[*].data.color}" >v &&
	printf "one two" >expect && test_cmp expect v
'

test_expect_success 'an invalid change re-opens the file with the causes at the top' '
	fresh &&
	echo "s/image: nginx:1.25/image: \"\"/" >step.1.sed &&
	echo "s/image: \"\"/image: nginx:1.26/" >step.2.sed &&
	kpctl edit pod web >out 2>err &&
	echo "error: pods \"web\" is invalid" >expect && test_cmp expect err &&
	echo "pod/web edited" >expect && test_cmp expect out &&
	test "$(cat count)" = 2 &&
	head -n 7 seen.2 >h &&
	header >expect &&
	cat >>expect <<-\EOF &&
	# pods "web" was not valid:
	# * spec.containers[0].image: Required value
	#
	EOF
	test_cmp expect h &&
	grep "image: \"\"" seen.2 &&
	kpctl get pod web -o jsonpath="{.spec.containers[0].image}" >v &&
	printf nginx:1.26 >expect && test_cmp expect v &&
	test -z "$(ls tmp)"
'

test_expect_success 'no further change after an error: cancelled, copy kept, exit 1' '
	fresh &&
	echo "s/image: nginx:1.26/image: \"\"/" >step.1.sed &&
	! kpctl edit pod web >out 2>err &&
	f=$(ls tmp) && test -n "$f" &&
	cat >expect <<-EOF &&
	error: pods "web" is invalid
	A copy of your changes has been stored to "$TMPDIR/$f"
	error: Edit cancelled, no valid changes were saved.
	EOF
	test_cmp expect err &&
	test "$(ls tmp | wc -l)" = 1 &&
	kpctl get pod web -o jsonpath="{.spec.containers[0].image}" >v &&
	printf nginx:1.26 >expect && test_cmp expect v
'

test_expect_success 'a syntax error re-opens the file with the error in the header' '
	fresh &&
	echo "s/^data:$/data: [/" >step.1.sed &&
	printf "%s\n" "s/^data: \\[$/data:/" "s/color: one/color: three/" >step.2.sed &&
	kpctl edit cm cfg >out 2>err &&
	echo "configmap/cfg edited" >expect && test_cmp expect out &&
	sed -n 5p seen.2 >l && grep "^# The edited file had a syntax error: " l &&
	sed -n 6p seen.2 >l && echo "#" >expect && test_cmp expect l &&
	kpctl get cm cfg -o jsonpath="{.data.color}" >v &&
	printf three >expect && test_cmp expect v
'

test_expect_success 'changing the name is refused, the copy kept' '
	fresh &&
	echo "s/^  name: cfg$/  name: renamed/" >step.1.sed &&
	! kpctl edit cm cfg >out 2>err &&
	f=$(ls tmp) &&
	cat >expect <<-EOF &&
	A copy of your changes has been stored to "$TMPDIR/$f"
	error: At least one of apiVersion, kind and name was changed
	EOF
	test_cmp expect err &&
	! kpctl get cm renamed 2>/dev/null
'

test_expect_success 'a stale resourceVersion gets 409: kubectl says how to retry' '
	fresh &&
	printf "%s\n" "s/^  resourceVersion: .*/  resourceVersion: \"1\"/" "s/color: three/color: four/" >step.1.sed &&
	! kpctl edit cm cfg >out 2>err &&
	f=$(ls tmp) &&
	cat >expect <<-EOF &&
	error: configmaps "cfg" could not be patched: Operation cannot be fulfilled on configmaps "cfg": the object has been modified; please apply your changes to the latest version and try again
	You can run \`kpctl replace -f $TMPDIR/$f\` to try this update again.
	EOF
	test_cmp expect err &&
	kpctl get cm cfg -o jsonpath="{.data.color}" >v &&
	printf three >expect && test_cmp expect v
'

test_expect_success 'an object deleted meanwhile: edits saved, exit 1' '
	fresh &&
	kpctl create -f - >/dev/null <<-\EOF &&
	apiVersion: v1
	kind: ConfigMap
	metadata: {name: gone}
	data: {a: b}
	EOF
	echo "kpctl delete cm gone --wait=false >/dev/null && sed -i \"s/a: b/a: c/\" \"\$1\"" >step.1.sh &&
	! kpctl edit cm gone >out 2>err &&
	f=$(ls tmp) &&
	cat >expect <<-EOF &&
	error: configmaps "gone" could not be found on the server
	The edits you made on deleted resources have been saved to "$TMPDIR/$f"
	EOF
	test_cmp expect err
'

test_expect_success 'an emptied file cancels; a failing editor is an error' '
	fresh &&
	echo "/^[^#]/d" >step.1.sed &&
	kpctl edit cm cfg >out 2>err &&
	echo "Edit cancelled, saved file was empty." >expect && test_cmp expect err &&
	fresh &&
	! EDITOR=false kpctl edit cm cfg 2>err &&
	echo "error: there was a problem with the editor \"false\"" >expect && test_cmp expect err
'

test_expect_success 'bad arguments' '
	! kpctl edit 2>err && grep "must provide one or more resources" err &&
	! kpctl edit cm nope 2>err &&
	echo "Error from server (NotFound): configmaps \"nope\" not found" >expect && test_cmp expect err &&
	! kpctl edit cm cfg -o wide 2>err && grep "must be one of yaml|json" err
'

test_done

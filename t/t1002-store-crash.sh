#!/bin/sh
# t1002-store-crash: a writer killed with SIGKILL at a random moment, many
# times; after each kill every write the store had acknowledged is present,
# the store opens cleanly and its revision never goes back.
test_description='store: acknowledged writes survive SIGKILL (leveldb)'
. "$(dirname "$0")/test-lib.sh"

W=store-crash-writer
ROUNDS=${KP_CRASH_ROUNDS:-20}

# A random whole number in [lo, hi] (dash has no $RANDOM).
rand() {
	od -An -N2 -tu2 /dev/urandom | awk -v lo="$1" -v hi="$2" '{ print lo + $1 % (hi - lo + 1) }'
}

test_expect_success 'crash writer helper is built' '
	command -v $W
'

minrev=0
i=1
while [ "$i" -le "$ROUNDS" ]; do
	ms=$(rand 30 250)
	threads=$(rand 1 8)
	test_expect_success "round $i: $threads writers killed after ${ms}ms lose no acknowledged write" '
		$W write db $i $threads >acks.$i 2>err.$i &
		pid=$!
		sleep $(awk -v m=$ms "BEGIN { print m / 1000 }") &&
		kill -9 $pid &&
		{ wait $pid || :; } &&
		if test -s err.$i; then cat err.$i; false; fi &&
		$W check db acks.$i $minrev >check.$i &&
		cat check.$i
	'
	test -s "check.$i" && minrev=$(awk '{ print $2 }' "check.$i")
	say "round $i: $(cat "check.$i" 2>/dev/null)"
	i=$((i + 1))
done

# Not vacuous: the kills landed while writes were being acknowledged.
test_expect_success 'the writers acknowledged writes before being killed' '
	total=$(cat acks.* | wc -l) &&
	echo "$total acknowledged writes" &&
	test "$total" -gt 100
'

test_done

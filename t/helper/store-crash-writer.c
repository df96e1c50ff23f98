/*
 * store-crash-writer - the two halves of the store crash test (t1002).
 *
 *   store-crash-writer write DIR ROUND [THREADS]
 *       Opens the leveldb store in DIR and creates keys /crash/ROUND/<t>/<i>
 *       from THREADS threads (default 4) as fast as it can, forever. A line
 *       "KEY REV" goes to stdout only after kp_store_create() returned 0 for
 *       KEY, i.e. after the store acknowledged it as durable. Meant to be
 *       killed with SIGKILL.
 *
 *   store-crash-writer check DIR ACKFILE MINREV
 *       Opens the store (it must open cleanly after the kill), checks that
 *       every complete line of ACKFILE names a present key with value KEY
 *       and mod_rev REV, that the recovered revision is >= MINREV and >=
 *       every acknowledged revision, that a full scan reads, and that the
 *       store takes a new write. Prints "rev N acked M" and exits 0, or
 *       explains on stderr and exits 1.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kplane/error.h>

#include "store/store.h"

static struct kp_store *st;
static const char *round_id;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void die(const char *what, int ret, char *msg)
{
	fprintf(stderr, "store-crash-writer: %s: %s%s%s\n", what, kp_strerror(ret),
		msg ? ": " : "", msg ? msg : "");
	exit(2);
}

static struct kp_store *open_dir(const char *dir)
{
	struct kp_store_options o = { .backend = KP_STORE_LEVELDB, .data_dir = dir };
	struct kp_store *s;
	char *msg = NULL;
	int ret = kp_store_open(&o, &s, &msg);

	if (ret)
		die("open", ret, msg);
	return s;
}

static void *writer(void *arg)
{
	int t = (int)(intptr_t)arg;
	char key[128], line[160];

	for (unsigned long i = 0;; i++) {
		uint64_t rev;
		int n, ret;

		snprintf(key, sizeof(key), "/crash/%s/%d/%lu", round_id, t, i);
		ret = kp_store_create(st, key, key, strlen(key), &rev);
		if (ret) {
			char *m = kp_store_last_error(st);

			die("create", ret, m);
		}
		n = snprintf(line, sizeof(line), "%s %" PRIu64 "\n", key, rev);
		/* One write() per line: a kill leaves at most a torn last line. */
		pthread_mutex_lock(&out_lock);
		if (write(1, line, (size_t)n) != n)
			exit(3);
		pthread_mutex_unlock(&out_lock);
	}
	return NULL;
}

static int do_write(const char *dir, const char *round, int threads)
{
	pthread_t t[64];

	if (threads < 1 || threads > 64)
		threads = 4;
	round_id = round;
	st = open_dir(dir);
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, writer, (void *)(intptr_t)i);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	return 0;
}

static int do_check(const char *dir, const char *ackfile, uint64_t minrev)
{
	FILE *f = fopen(ackfile, "r");
	char line[256];
	unsigned long acked = 0, bad = 0;
	uint64_t rev, maxack = 0;
	size_t nkeys = 0;
	int ret;

	if (!f) {
		fprintf(stderr, "store-crash-writer: %s: %s\n", ackfile, strerror(errno));
		return 1;
	}
	st = open_dir(dir);
	rev = kp_store_revision(st);
	while (fgets(line, sizeof(line), f)) {
		char *sp = strchr(line, ' ');
		struct kp_kv kv;
		uint64_t r;

		if (!sp || !strchr(sp, '\n'))
			continue; /* torn by the kill: never fully acknowledged to anyone */
		*sp = 0;
		r = strtoull(sp + 1, NULL, 10);
		acked++;
		if (r > maxack)
			maxack = r;
		ret = kp_store_get(st, line, &kv);
		if (ret) {
			fprintf(stderr, "acknowledged key %s (rev %" PRIu64 ") lost: %s\n", line, r,
				kp_strerror(ret));
			bad++;
			continue;
		}
		if (strcmp(kv.value, line) || kv.mod_rev != r || kv.create_rev != r) {
			fprintf(stderr, "key %s: value %s rev %" PRIu64 "/%" PRIu64
				", acknowledged rev %" PRIu64 "\n", line, kv.value, kv.create_rev,
				kv.mod_rev, r);
			bad++;
		}
		kp_kv_release(&kv);
	}
	fclose(f);
	if (rev < minrev) {
		fprintf(stderr, "revision went back: %" PRIu64 " < %" PRIu64 "\n", rev, minrev);
		bad++;
	}
	if (rev < maxack) {
		fprintf(stderr, "revision %" PRIu64 " is older than an acknowledged write (%" PRIu64
			")\n", rev, maxack);
		bad++;
	}
	ret = kp_store_count(st, "/", &nkeys);
	if (ret) {
		fprintf(stderr, "full scan failed: %s\n", kp_strerror(ret));
		bad++;
	}
	ret = kp_store_create(st, "/crash/check", "x", 1, NULL);
	if (ret == KP_EEXIST)
		ret = kp_store_delete(st, "/crash/check", 0, NULL, NULL);
	if (ret) {
		fprintf(stderr, "write after recovery failed: %s\n", kp_strerror(ret));
		bad++;
	}
	printf("rev %" PRIu64 " acked %lu keys %zu\n", rev, acked, nkeys);
	kp_store_close(st);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "write"))
		return do_write(argv[2], argv[3], argc > 4 ? atoi(argv[4]) : 4);
	if (argc == 5 && !strcmp(argv[1], "check"))
		return do_check(argv[2], argv[3], strtoull(argv[4], NULL, 10));
	fprintf(stderr, "usage: store-crash-writer write DIR ROUND [THREADS]\n"
		"       store-crash-writer check DIR ACKFILE MINREV\n");
	return 2;
}

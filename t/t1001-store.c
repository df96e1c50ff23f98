/*
 * t1001-store: one suite against every store backend (memory, leveldb, and
 * etcd when /usr/bin/etcd or an etcd on PATH is there: the test starts one on
 * loopback ports in its temporary directory and kills it by PID).
 *
 * Expected revisions are counted by hand from the writes each test makes:
 * every successful create/update/delete bumps the one global revision by
 * exactly one, failed ones do not (etcd semantics, which Kubernetes'
 * resourceVersion is built on).
 *
 * Built a second time as t1004-store-gateway (T1001_GATEWAY): the etcd
 * suite then runs against the API server's store gateway (core/api/gateway.c,
 * what `kplane scheduler --server` uses), served in this process on a
 * memory store that each wipe replaces.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <leveldb/c.h>

#include <kplane/error.h>

#include "store/backend.h"
#include "store/store.h"
#include "t/tap.h"
#ifdef T1001_GATEWAY
#include "core/api/api.h"
#endif

uint32_t kp__crc32(uint32_t crc, const void *buf, size_t n);

static char tmpdir[64];
static int ndirs;
static const char *bname; /* backend name, in every test description */
static enum kp_store_backend cur_be; /* the backend under test */

/* ---- etcd: started by the test when installed ---- */

static pid_t etcd_pid;
static char etcd_url[64], etcd_peer[64], etcd_dir[128], etcd_log[128];
static const char *etcd_eps[3];

static size_t sink(char *d, size_t sz, size_t nm, void *arg)
{
	struct { char b[256]; size_t n; } *o = arg;
	size_t n = sz * nm, room = sizeof(o->b) - 1 - o->n;

	memcpy(o->b + o->n, d, n < room ? n : room);
	o->n += n < room ? n : room;
	o->b[o->n] = 0;
	return n;
}

/* POSTs (body) or GETs (NULL) url; returns the HTTP code (0: no answer), answer in out. */
static long http(const char *url, const char *body, char *out, size_t outsz)
{
	struct { char b[256]; size_t n; } o = { .n = 0 };
	CURL *c = curl_easy_init();
	long code = 0;

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &o);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	if (out)
		snprintf(out, outsz, "%s", o.b);
	return code;
}

/* A port nobody listens on right now (bound then released). */
static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;

	if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof(a)) &&
	    !getsockname(fd, (struct sockaddr *)&a, &l))
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static bool have_etcd(void)
{
	return system("command -v etcd >/dev/null 2>&1") == 0;
}

/* Runs etcd on etcd_url/etcd_peer/etcd_dir; true when /health says so within 15 s. */
static bool etcd_spawn(void)
{
	char health[96], ans[256], *peer = etcd_peer, *dd = etcd_dir, *logf = etcd_log;

	{
		etcd_pid = fork();
		if (etcd_pid == 0) {
			char ic[96];
			int fd = open(logf, O_WRONLY | O_CREAT | O_APPEND, 0600);

			snprintf(ic, sizeof(ic), "default=%s", peer);
			dup2(fd, 1);
			dup2(fd, 2);
			/*
			 * Progress notifications every 100 ms let the watch revision
			 * test see them; the txn limits let a whole snapshot restore
			 * in one txn.
			 */
			execlp("etcd", "etcd", "--data-dir", dd, "--listen-client-urls", etcd_url,
			       "--advertise-client-urls", etcd_url, "--listen-peer-urls", peer,
			       "--initial-advertise-peer-urls", peer, "--initial-cluster", ic,
			       "--experimental-watch-progress-notify-interval", "100ms",
			       "--max-txn-ops", "100000", "--max-request-bytes", "33554432",
			       "--log-level", "warn", (char *)NULL);
			_exit(127);
		}
		snprintf(health, sizeof(health), "%s/health", etcd_url);
		for (int i = 0; i < 150; i++) {
			int st;

			if (http(health, NULL, ans, sizeof(ans)) == 200 && strstr(ans, "true")) {
				etcd_eps[0] = etcd_url;
				return true;
			}
			if (waitpid(etcd_pid, &st, WNOHANG) == etcd_pid)
				break; /* port taken meanwhile */
			usleep(100000);
		}
		kill(etcd_pid, SIGKILL);
		waitpid(etcd_pid, NULL, 0);
		etcd_pid = 0;
		diag("etcd did not start (log: %s)", logf);
	}
	return false;
}

/* Starts etcd in tmpdir/etcdN on free ports, trying other ports if taken meanwhile. */
static bool etcd_start(void)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		snprintf(etcd_url, sizeof(etcd_url), "http://127.0.0.1:%d", free_port());
		snprintf(etcd_peer, sizeof(etcd_peer), "http://127.0.0.1:%d", free_port());
		snprintf(etcd_dir, sizeof(etcd_dir), "%s/etcd%d", tmpdir, attempt);
		snprintf(etcd_log, sizeof(etcd_log), "%s/etcd%d.log", tmpdir, attempt);
		if (etcd_spawn())
			return true;
	}
	return false;
}

static void etcd_stop(void)
{
	if (etcd_pid > 0) {
		kill(etcd_pid, SIGTERM);
		waitpid(etcd_pid, NULL, 0);
		etcd_pid = 0;
	}
}

/* Every suite wants a fresh store: etcd keeps its revision but drops every key. */
#ifdef T1001_GATEWAY
static struct kp_store *gw_store;
static struct kp_api_server *gw_srv;
static size_t gw_base_keys;

static void gw_stop(void)
{
	if (gw_srv)
		kp_api_server_stop(gw_srv);
	if (gw_store)
		kp_store_close(gw_store);
	gw_srv = NULL;
	gw_store = NULL;
}

/* A fresh memory store behind a fresh API server: the gateway's "wipe". */
static bool gw_start(void)
{
	struct kp_store_options so = { .backend = KP_STORE_MEMORY };
	struct kp_api_options ao = { .listen = "127.0.0.1:0", .threads = 2, .write_workers = 8 };
	char *msg = NULL;

	gw_stop();
	if (kp_store_open(&so, &gw_store, &msg) || kp_api_server_start(gw_store, &ao, &gw_srv, &msg)) {
		diag("gateway server: %s", msg ? msg : "?");
		free(msg);
		return false;
	}
	kp_store_count(gw_store, NULL, &gw_base_keys);
	snprintf(etcd_url, sizeof(etcd_url), "http://127.0.0.1:%u/kplane/store",
		 (unsigned)kp_api_server_port(gw_srv));
	etcd_eps[0] = etcd_url;
	return true;
}

static void etcd_wipe(void)
{
	if (!gw_start())
		fail("the gateway server starts");
}
#else
static void etcd_wipe(void)
{
	char url[128];

	snprintf(url, sizeof(url), "%s/v3/kv/deleterange", etcd_url);
	if (http(url, "{\"key\":\"AA==\",\"range_end\":\"AA==\"}", NULL, 0) != 200)
		diag("could not empty etcd at %s", etcd_url);
}
#endif

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	return remove(p);
}

static void rm_rf(const char *p)
{
	nftw(p, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh leveldb dir per store so that suites do not see each other. */
static char *new_dir(void)
{
	char *d;

	if (asprintf(&d, "%s/db%d", tmpdir, ndirs++) < 0)
		abort();
	return d;
}

static struct kp_store *open_store(enum kp_store_backend be, const char *dir, size_t retention)
{
	struct kp_store_options o = { .backend = be, .data_dir = dir,
				      .event_retention = retention, .etcd_endpoints = etcd_eps };
	struct kp_store *st = NULL;
	char *msg = NULL;
	int ret;

	if (be == KP_STORE_ETCD)
		etcd_wipe();
	ret = kp_store_open(&o, &st, &msg);

	if (ret) {
		diag("open %s failed: %s (%s)", dir ? dir : "memory", kp_strerror(ret),
		     msg ? msg : "");
		free(msg);
		exit(1);
	}
	return st;
}

static int put(struct kp_store *st, const char *k, const char *v, uint64_t *rev)
{
	return kp_store_create(st, k, v, strlen(v), rev);
}

static int upd(struct kp_store *st, const char *k, const char *v, uint64_t expect, uint64_t *rev)
{
	return kp_store_update(st, k, v, strlen(v), expect, rev);
}

/* "k=v k=v ..." with keys shortened by the common prefix strip. */
static char *render(const struct kp_kv_list *l, const char *strip)
{
	size_t len, sl = strlen(strip);
	char *s = NULL;
	FILE *f = open_memstream(&s, &len);

	for (size_t i = 0; i < l->n; i++) {
		const char *k = l->items[i].key;

		if (!strncmp(k, strip, sl))
			k += sl;
		fprintf(f, "%s%s=%s", i ? " " : "", k, l->items[i].value);
	}
	fclose(f);
	return s;
}

#define is_list(l, strip, want, ...) do { \
	char *got_ = render((l), (strip)); \
	is_str(got_, (want), __VA_ARGS__); \
	free(got_); \
} while (0)

static void test_crud(struct kp_store *st)
{
	struct kp_kv kv, prev;
	uint64_t rev = 0, r0 = kp_store_revision(st);
	char big[KP__KEY_MAX + 2];
	static const char bin[] = { 'a', 0, 'b', (char)0xff };

	is_int(put(st, "/registry/pods/default/a", "A1", &rev), 0, "%s: create", bname);
	is_uint(rev, r0 + 1, "%s: create takes the next revision", bname);
	is_uint(kp_store_revision(st), r0 + 1, "%s: store revision follows", bname);
	is_int(kp_store_get(st, "/registry/pods/default/a", &kv), 0, "%s: get", bname);
	is_str(kv.value, "A1", "%s: get value", bname);
	is_uint(kv.len, 2, "%s: get len", bname);
	is_uint(kv.create_rev, r0 + 1, "%s: create_rev", bname);
	is_uint(kv.mod_rev, r0 + 1, "%s: mod_rev", bname);
	is_str(kv.key, "/registry/pods/default/a", "%s: get key", bname);
	kp_kv_release(&kv);

	is_int(put(st, "/registry/pods/default/a", "again", &rev), KP_EEXIST,
	       "%s: create of an existing key", bname);
	is_uint(kp_store_revision(st), r0 + 1, "%s: failed create keeps the revision", bname);

	is_int(upd(st, "/registry/pods/default/a", "A2", r0 + 1, &rev), 0, "%s: CAS update", bname);
	is_uint(rev, r0 + 2, "%s: update revision", bname);
	is_int(upd(st, "/registry/pods/default/a", "A3", r0 + 1, &rev), KP_ECONFLICT,
	       "%s: CAS update with a stale revision conflicts", bname);
	is_int(kp_store_get(st, "/registry/pods/default/a", &kv), 0, "%s: get after update", bname);
	is_str(kv.value, "A2", "%s: conflict left the value", bname);
	is_uint(kv.create_rev, r0 + 1, "%s: update keeps create_rev", bname);
	is_uint(kv.mod_rev, r0 + 2, "%s: update sets mod_rev", bname);
	kp_kv_release(&kv);
	is_int(upd(st, "/registry/pods/default/a", "A3", 0, &rev), 0,
	       "%s: unconditional update", bname);
	is_uint(rev, r0 + 3, "%s: unconditional update revision", bname);
	is_int(upd(st, "/registry/pods/default/none", "x", 0, NULL), KP_ENOENT,
	       "%s: update of a missing key", bname);
	is_int(kp_store_delete(st, "/registry/pods/default/none", 0, NULL, NULL), KP_ENOENT,
	       "%s: delete of a missing key", bname);
	is_int(kp_store_delete(st, "/registry/pods/default/a", r0 + 2, &rev, &prev), KP_ECONFLICT,
	       "%s: CAS delete with a stale revision conflicts", bname);
	ok(prev.key == NULL, "%s: failed delete leaves prev empty", bname);
	is_int(kp_store_delete(st, "/registry/pods/default/a", r0 + 3, &rev, &prev), 0,
	       "%s: CAS delete", bname);
	is_uint(rev, r0 + 4, "%s: delete revision", bname);
	is_str(prev.value, "A3", "%s: delete returns the last value", bname);
	is_uint(prev.mod_rev, r0 + 3, "%s: prev mod_rev", bname);
	kp_kv_release(&prev);
	is_int(kp_store_get(st, "/registry/pods/default/a", &kv), KP_ENOENT,
	       "%s: get after delete", bname);
	ok(kv.key == NULL && kv.value == NULL, "%s: failed get leaves out zeroed", bname);
	is_int(put(st, "/registry/pods/default/a", "B1", &rev), 0, "%s: re-create", bname);
	is_int(kp_store_get(st, "/registry/pods/default/a", &kv), 0, "%s: get re-created", bname);
	is_uint(kv.create_rev, r0 + 5, "%s: re-create gets a new create_rev", bname);
	kp_kv_release(&kv);

	/* Values are bytes: NULs and high bytes survive, length is exact. */
	is_int(kp_store_create(st, "/bin", bin, sizeof(bin), NULL), 0, "%s: binary value", bname);
	is_int(kp_store_get(st, "/bin", &kv), 0, "%s: get binary", bname);
	ok(kv.len == 4 && !memcmp(kv.value, bin, 4) && kv.value[4] == 0,
	   "%s: binary value round trip, NUL terminated", bname);
	kp_kv_release(&kv);
	is_int(kp_store_create(st, "/empty", NULL, 0, NULL), 0, "%s: empty value", bname);
	is_int(kp_store_get(st, "/empty", &kv), 0, "%s: get empty", bname);
	ok(kv.len == 0 && kv.value && kv.value[0] == 0, "%s: empty value round trip", bname);
	kp_kv_release(&kv);

	/* Bad input. */
	is_int(kp_store_create(st, NULL, "x", 1, NULL), KP_EINVAL, "%s: NULL key", bname);
	is_int(kp_store_create(st, "", "x", 1, NULL), KP_EINVAL, "%s: empty key", bname);
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	is_int(kp_store_create(st, big, "x", 1, NULL), KP_E2BIG, "%s: 4097-byte key", bname);
	big[KP__KEY_MAX] = 0;
	is_int(kp_store_create(st, big, "x", 1, NULL), 0, "%s: 4096-byte key is fine", bname);
	is_int(kp_store_create(st, "/v", NULL, 5, NULL), KP_EINVAL, "%s: NULL value with length",
	       bname);
	is_int(kp_store_create(st, "/v", "x", (size_t)KP__VALUE_MAX + 1, NULL), KP_E2BIG,
	       "%s: value over 64 MiB", bname);
	is_int(kp_store_get(st, NULL, &kv), KP_EINVAL, "%s: get NULL key", bname);
	is_uint(kp_store_revision(st), r0 + 8, "%s: 8 successful writes in this test", bname);
}

/* Writes one key 20 ms from now (kp_store_wait_revision's test). */
static void *write_later(void *arg)
{
	usleep(20000);
	put(arg, "/registry/late/k", "v", NULL);
	return NULL;
}

static void test_list(struct kp_store *st)
{
	struct kp_kv_list l, l2;
	char k[64], v[16];
	uint64_t r0, r1, rev;
	size_t n = 0;

	for (int i = 0; i < 10; i++) {
		snprintf(k, sizeof(k), "/registry/pods/ns1/p%d", i);
		snprintf(v, sizeof(v), "v%d", i);
		put(st, k, v, NULL);
	}
	put(st, "/registry/pods/ns2/q0", "q", NULL);
	put(st, "/registry/pods/ns10/z", "z", NULL); /* "ns10/" sorts after "ns1/": not in it */
	put(st, "/registry/services/ns1/s", "s", NULL);
	r0 = kp_store_revision(st);

	is_int(kp_store_list(st, "/registry/pods/ns1/", 0, NULL, 0, &l), 0, "%s: list", bname);
	is_list(&l, "/registry/pods/ns1/",
		"p0=v0 p1=v1 p2=v2 p3=v3 p4=v4 p5=v5 p6=v6 p7=v7 p8=v8 p9=v9",
		"%s: list by prefix, key order", bname);
	is_uint(l.rev, r0, "%s: list is at the current revision", bname);
	ok(!l.more && !l.next_key, "%s: unlimited list has no continuation", bname);
	kp_kv_list_release(&l);
	is_int(kp_store_count(st, "/registry/pods/", &n), 0, "%s: count", bname);
	is_uint(n, 13, "%s: count by prefix (12 here + test_crud's pod)", bname);

	is_int(kp_store_list(st, "/registry/pods/ns1/", 0, NULL, 3, &l), 0, "%s: page 1", bname);
	is_list(&l, "/registry/pods/ns1/", "p0=v0 p1=v1 p2=v2", "%s: page 1 items", bname);
	ok(l.more, "%s: page 1 has more", bname);
	is_str(l.next_key, "/registry/pods/ns1/p3", "%s: page 1 next_key", bname);
	r1 = l.rev;
	is_uint(r1, r0, "%s: page 1 revision", bname);

	/* Writes between pages must not show in later pages. */
	upd(st, "/registry/pods/ns1/p5", "CHANGED", 0, NULL);
	kp_store_delete(st, "/registry/pods/ns1/p7", 0, NULL, NULL);
	put(st, "/registry/pods/ns1/p35", "new", NULL);
	kp_store_delete(st, "/registry/pods/ns1/p3", 0, NULL, NULL);
	put(st, "/registry/pods/ns1/p3", "reborn", NULL);
	upd(st, "/registry/pods/ns1/p9", "CHANGED", 0, NULL);
	put(st, "/registry/pods/ns1/p99", "new", NULL);

	is_int(kp_store_list(st, "/registry/pods/ns1/", r1, l.next_key, 3, &l2), 0,
	       "%s: page 2 at the first page's revision", bname);
	is_list(&l2, "/registry/pods/ns1/", "p3=v3 p4=v4 p5=v5", "%s: page 2 shows old state",
		bname);
	is_uint(l2.rev, r1, "%s: page 2 revision", bname);
	is_str(l2.next_key, "/registry/pods/ns1/p6", "%s: page 2 next_key", bname);
	kp_kv_list_release(&l);
	is_int(kp_store_list(st, "/registry/pods/ns1/", r1, l2.next_key, 3, &l), 0, "%s: page 3",
	       bname);
	is_list(&l, "/registry/pods/ns1/", "p6=v6 p7=v7 p8=v8",
		"%s: page 3 has the since-deleted key", bname);
	kp_kv_list_release(&l2);
	is_int(kp_store_list(st, "/registry/pods/ns1/", r1, l.next_key, 3, &l2), 0, "%s: page 4",
	       bname);
	is_list(&l2, "/registry/pods/ns1/", "p9=v9", "%s: page 4 is the old last key", bname);
	ok(!l2.more && !l2.next_key, "%s: last page has no continuation", bname);
	kp_kv_list_release(&l);
	kp_kv_list_release(&l2);

	is_int(kp_store_list(st, "/registry/pods/ns1/", 0, NULL, 0, &l), 0, "%s: list now", bname);
	is_list(&l, "/registry/pods/ns1/",
		"p0=v0 p1=v1 p2=v2 p3=reborn p35=new p4=v4 p5=CHANGED p6=v6 p8=v8 p9=CHANGED p99=new",
		"%s: list now shows every change", bname);
	is_uint(l.rev, r0 + 7, "%s: 7 writes between pages", bname);
	kp_kv_list_release(&l);

	/* At r0 + 2: p5 updated, p7 deleted, the rest not yet. */
	is_int(kp_store_list(st, "/registry/pods/ns1/p", r0 + 2, "/registry/pods/ns1/p3", 0, &l),
	       0, "%s: list at a middle revision from a start key", bname);
	is_list(&l, "/registry/pods/ns1/", "p3=v3 p4=v4 p5=CHANGED p6=v6 p8=v8 p9=v9",
		"%s: state at the middle revision", bname);
	kp_kv_list_release(&l);
	is_int(kp_store_list(st, "/registry/pods/", r0 + 100, NULL, 0, &l), KP_ERANGE,
	       "%s: list at a future revision", bname);
	ok(kp_store_wait_revision(st, kp_store_revision(st), 0),
	   "%s: waiting for the current revision returns at once", bname);
	ok(!kp_store_wait_revision(st, kp_store_revision(st) + 1, 5),
	   "%s: a revision nobody writes is not reached in 5 ms", bname);
	{
		pthread_t t;
		uint64_t next = kp_store_revision(st) + 1;
		pthread_create(&t, NULL, write_later, st);
		ok(kp_store_wait_revision(st, next, 10000),
		   "%s: a revision written meanwhile is waited for", bname);
		pthread_join(t, NULL);
	}
	ok(l.n == 0 && l.items == NULL, "%s: failed list is zeroed", bname);
	is_int(kp_store_list(st, "/registry/nothing/", 0, NULL, 5, &l), 0, "%s: empty list", bname);
	ok(l.n == 0 && !l.more, "%s: empty prefix lists nothing", bname);
	kp_kv_list_release(&l);
	/* A limit that lands exactly on the last key: no continuation. */
	is_int(kp_store_list(st, "/registry/services/", 0, NULL, 1, &l), 0, "%s: limit = size",
	       bname);
	ok(l.n == 1 && !l.more, "%s: limit equal to the size has no continuation", bname);
	kp_kv_list_release(&l);

	/* A page that fills up on keys deleted since (after the last live key). */
	put(st, "/t/a", "1", NULL);
	put(st, "/t/b", "2", NULL);
	put(st, "/t/c", "3", &rev);
	kp_store_delete(st, "/t/b", 0, NULL, NULL);
	kp_store_delete(st, "/t/c", 0, NULL, NULL);
	is_int(kp_store_list(st, "/t/", rev, NULL, 2, &l), 0,
	       "%s: page ending on deleted keys", bname);
	is_list(&l, "/t/", "a=1 b=2", "%s: page of deleted keys, items", bname);
	is_str(l.next_key, "/t/c", "%s: page of deleted keys, next_key", bname);
	kp_kv_list_release(&l);
	is_int(kp_store_list(st, "/t/", rev, "/t/c", 2, &l), 0, "%s: last page of deleted keys",
	       bname);
	is_list(&l, "/t/", "c=3", "%s: last page of deleted keys, items", bname);
	ok(!l.more, "%s: last page of deleted keys has no continuation", bname);
	kp_kv_list_release(&l);
}

static void check_event(struct kp_watch *w, enum kp_event_type type, const char *key,
			const char *value, uint64_t mod_rev, const char *prev_value,
			const char *what)
{
	struct kp_event ev;
	int ret = kp_watch_next(w, &ev, 5000);

	is_int(ret, 0, "%s: %s: event arrives", bname, what);
	if (ret)
		return;
	is_str(kp_event_type_string(ev.type), kp_event_type_string(type), "%s: %s: type", bname,
	       what);
	is_str(ev.kv.key, key, "%s: %s: key", bname, what);
	is_str(ev.kv.value, value, "%s: %s: value", bname, what);
	is_uint(ev.kv.mod_rev, mod_rev, "%s: %s: revision", bname, what);
	is_str(ev.prev.value, prev_value, "%s: %s: previous value", bname, what);
	kp_event_release(&ev);
}

static void test_watch(struct kp_store *st)
{
	struct kp_watch *w, *w2, *old;
	struct kp_event ev;
	uint64_t r0 = kp_store_revision(st);

	is_int(kp_store_watch(st, "/registry/pods/", r0, &w), 0, "%s: watch from now", bname);
	is_int(kp_store_watch(st, "/registry/pods/", 0, &w2), 0, "%s: watch with 0", bname);
	is_int(kp_watch_next(w, &ev, 0), KP_ETIMEDOUT, "%s: no event yet (poll)", bname);
	is_int(kp_watch_next(w, &ev, 20), KP_ETIMEDOUT, "%s: no event yet (20ms)", bname);
	put(st, "/registry/pods/w/x", "x1", NULL);                      /* r0+1 */
	put(st, "/registry/services/w/x", "s", NULL);                   /* r0+2, other prefix */
	upd(st, "/registry/pods/w/x", "x2", 0, NULL);                   /* r0+3 */
	kp_store_delete(st, "/registry/pods/w/x", 0, NULL, NULL);       /* r0+4 */
	put(st, "/registry/services/w/y", "s", NULL);                   /* r0+5 */

	check_event(w, KP_EVENT_ADDED, "/registry/pods/w/x", "x1", r0 + 1, NULL, "ADDED");
	check_event(w, KP_EVENT_MODIFIED, "/registry/pods/w/x", "x2", r0 + 3, "x1", "MODIFIED");
	check_event(w, KP_EVENT_DELETED, "/registry/pods/w/x", "x2", r0 + 4, "x2", "DELETED");
	is_int(kp_watch_next(w, &ev, 0), KP_ETIMEDOUT, "%s: other prefix not delivered", bname);
	is_uint(kp_watch_revision(w), r0 + 5, "%s: watch revision covers skipped events", bname);
	check_event(w2, KP_EVENT_ADDED, "/registry/pods/w/x", "x1", r0 + 1, NULL,
		    "watch from 0 sees the same");

	/* Replay from an older revision. */
	is_int(kp_store_watch(st, "/registry/", r0 + 2, &old), 0, "%s: watch from the past", bname);
	check_event(old, KP_EVENT_MODIFIED, "/registry/pods/w/x", "x2", r0 + 3, "x1", "replay 1");
	check_event(old, KP_EVENT_DELETED, "/registry/pods/w/x", "x2", r0 + 4, "x2", "replay 2");
	check_event(old, KP_EVENT_ADDED, "/registry/services/w/y", "s", r0 + 5, NULL, "replay 3");
	kp_watch_free(old);

	/* Compaction: events up to r0 + 3 forgotten. */
	is_int(kp_store_compact(st, r0 + 3), 0, "%s: compact", bname);
	is_uint(kp_store_oldest_revision(st), r0 + 3, "%s: oldest revision after compact", bname);
	is_int(kp_watch_next(w2, &ev, 0), KP_EEXPIRED,
	       "%s: a watcher behind the compaction expires", bname);
	is_int(kp_watch_next(w2, &ev, 0), KP_EEXPIRED, "%s: and stays expired", bname);
	is_int(kp_store_watch(st, "/registry/", r0 + 2, &old), KP_EEXPIRED,
	       "%s: watch from before the compaction", bname);
	is_int(kp_store_watch(st, "/registry/", r0 + 3, &old), 0,
	       "%s: watch from the compacted revision itself", bname);
	check_event(old, KP_EVENT_DELETED, "/registry/pods/w/x", "x2", r0 + 4, "x2",
		    "first event after the compacted revision");
	kp_watch_free(old);
	{
		struct kp_kv_list l;

		is_int(kp_store_list(st, "/registry/", r0 + 2, NULL, 0, &l), KP_EEXPIRED,
		       "%s: list before the compaction", bname);
		is_int(kp_store_list(st, "/registry/pods/w/", r0 + 3, NULL, 0, &l), 0,
		       "%s: list at the compacted revision", bname);
		is_list(&l, "", "/registry/pods/w/x=x2", "%s: state at the compacted revision",
			bname);
		kp_kv_list_release(&l);
	}
	is_int(kp_store_compact(st, r0 + 1), 0, "%s: compacting backwards is a no-op", bname);
	is_uint(kp_store_oldest_revision(st), r0 + 3, "%s: oldest unchanged", bname);
	is_int(kp_store_compact(st, r0 + 6), KP_EINVAL, "%s: compact past the current revision",
	       bname);
	put(st, "/registry/pods/z", "z", NULL); /* r0+6 */
	check_event(w, KP_EVENT_ADDED, "/registry/pods/z", "z", r0 + 6, NULL,
		    "a watcher ahead of the compaction goes on");
	kp_watch_free(w);
	kp_watch_free(w2);
}

/* Must be called with nothing written yet after open: counts from the open revision. */
static void test_retention(enum kp_store_backend be)
{
	char *dir = be == KP_STORE_LEVELDB ? new_dir() : NULL;
	struct kp_store *st = open_store(be, dir, 8);
	struct kp_watch *w;
	uint64_t base = kp_store_revision(st);
	char k[32];

	for (int i = 0; i < 20; i++) {
		snprintf(k, sizeof(k), "/r/%02d", i);
		put(st, k, "v", NULL);
	}
	is_uint(kp_store_oldest_revision(st), base + 12, "%s: ring of 8 keeps the last 8 of 20",
		bname);
	is_int(kp_store_watch(st, "/r/", base + 11, &w), KP_EEXPIRED, "%s: watch beyond the ring",
	       bname);
	is_int(kp_store_watch(st, "/r/", base + 12, &w), 0, "%s: watch at the ring's start", bname);
	check_event(w, KP_EVENT_ADDED, "/r/12", "v", base + 13, NULL, "oldest retained event");
	kp_watch_free(w);
	{
		struct kp_store_stats s;

		kp_store_stats(st, &s);
		is_uint(s.events_held, 8, "%s: stats: events held", bname);
#ifdef T1001_GATEWAY
		/* The API server behind the gateway made its namespaces first. */
		is_uint(s.keys, 20 + gw_base_keys, "%s: stats: keys", bname);
#else
		is_uint(s.keys, 20, "%s: stats: keys", bname);
#endif
		is_uint(s.writes, 20, "%s: stats: writes", bname);
		is_uint(s.watchers, 0, "%s: stats: watchers", bname);
	}
	kp_store_close(st);
	free(dir);
}

/* ---- concurrency ---- */

#define WRITERS 8
#define PER_WRITER 150
#define COUNTER_THREADS 4
#define INCREMENTS 40

struct wargs {
	struct kp_store *st;
	int id;
	uint64_t revs[PER_WRITER];
	int errors;
};

static void *writer(void *arg)
{
	struct wargs *a = arg;
	char k[64];

	for (int i = 0; i < PER_WRITER; i++) {
		snprintf(k, sizeof(k), "/c/w%d/%04d", a->id, i);
		if (kp_store_create(a->st, k, k, strlen(k), &a->revs[i]))
			a->errors++;
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct wwatch {
	struct kp_store *st;
	uint64_t from;
	int want, got, out_of_order, errors;
};

static void *watcher(void *arg)
{
	struct wwatch *a = arg;
	struct kp_watch *w;
	uint64_t last = a->from;

	if (kp_store_watch(a->st, "/c/", a->from, &w)) {
		a->errors++;
		return NULL;
	}
	while (a->got < a->want) {
		struct kp_event ev;
		int ret = kp_watch_next(w, &ev, 10000);

		if (ret) {
			a->errors++;
			break;
		}
		if (ev.kv.mod_rev <= last)
			a->out_of_order++;
		last = ev.kv.mod_rev;
		a->got++;
		kp_event_release(&ev);
	}
	kp_watch_free(w);
	return NULL;
}

struct largs {
	struct kp_store *st;
	volatile int *stop;
	int iterations, mismatches, errors;
	uint64_t *revs; /* mutator: revisions of its successful writes */
	size_t nrevs;
};

/* Writes go on while listing: paging at a revision must equal one list at it. */
static void *lister(void *arg)
{
	struct largs *a = arg;

	while (!*a->stop || !a->iterations) {
		struct kp_kv_list full, page;
		char *want, *got = NULL, *next = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&got, &len);

		if (kp_store_list(a->st, "/c", 0, NULL, 0, &full)) {
			a->errors++;
			fclose(f);
			free(got);
			break;
		}
		want = render(&full, "");
		for (int first = 1;; first = 0) {
			char *s;

			int lret = kp_store_list(a->st, "/c", full.rev, next, 37, &page);

			if (lret) {
				if (!a->errors++)
					diag("paged list at %" PRIu64 " from %s: %s", full.rev,
					     next ? next : "-", kp_strerror(lret));
				break;
			}
			s = render(&page, "");
			fprintf(f, "%s%s", first || !*s ? "" : " ", s);
			free(s);
			free(next);
			next = page.next_key ? strdup(page.next_key) : NULL;
			kp_kv_list_release(&page);
			if (!next)
				break;
		}
		fclose(f);
		if (strcmp(want, got) && !a->mismatches++) {
			size_t d = 0;

			while (want[d] == got[d])
				d++;
			d = d > 60 ? d - 60 : 0;
			diag("at rev %" PRIu64 ": one list: ...%.160s", full.rev, want + d);
			diag("at rev %" PRIu64 ": paged:    ...%.160s", full.rev, got + d);
		}
		free(want);
		free(got);
		free(next);
		kp_kv_list_release(&full);
		a->iterations++;
	}
	return NULL;
}

/* Updates, deletes and re-creates keys next to the writers' (under "/c"). */
static void *mutator(void *arg)
{
	struct largs *a = arg;
	char k[32];

	for (int i = 0; !*a->stop; i++) {
		uint64_t r[2];
		int n = 0, ret;

		snprintf(k, sizeof(k), "/cm/%d", i % 10);
		ret = upd(a->st, k, "u", 0, &r[n]);
		if (ret == KP_ENOENT)
			ret = put(a->st, k, "c", &r[n]);
		if (!ret)
			n++;
		else
			a->errors++;
		if (!ret && i % 3 == 0 && !kp_store_delete(a->st, k, 0, &r[n], NULL))
			n++;
		a->revs = realloc(a->revs, (a->nrevs + 2) * sizeof(*a->revs));
		for (int j = 0; j < n; j++)
			a->revs[a->nrevs++] = r[j];
	}
	return NULL;
}

struct cargs {
	struct kp_store *st;
	int conflicts, errors;
};

/* Read-modify-write with CAS: the final count proves no update was lost. */
static void *incrementer(void *arg)
{
	struct cargs *a = arg;

	for (int i = 0; i < INCREMENTS; i++) {
		for (;;) {
			struct kp_kv kv;
			char v[32];
			int ret;

			if (kp_store_get(a->st, "/counter", &kv)) {
				a->errors++;
				return NULL;
			}
			snprintf(v, sizeof(v), "%ld", atol(kv.value) + 1);
			ret = upd(a->st, "/counter", v, kv.mod_rev, NULL);
			kp_kv_release(&kv);
			if (ret == KP_ECONFLICT) {
				a->conflicts++;
				continue;
			}
			if (ret)
				a->errors++;
			break;
		}
	}
	return NULL;
}

static void test_concurrency(struct kp_store *st)
{
	pthread_t t[WRITERS], wt[3], ct[COUNTER_THREADS], lt, mt;
	volatile int stop = 0;
	struct largs la = { .st = st, .stop = &stop }, ma = { .st = st, .stop = &stop };
	struct wargs a[WRITERS];
	struct wwatch wa[3];
	struct cargs ca[COUNTER_THREADS];
	uint64_t base = kp_store_revision(st), *all;
	size_t total;
	int errors = 0, missing = 0, gaps = 0;
	struct kp_kv kv;

	for (int i = 0; i < 3; i++) {
		wa[i] = (struct wwatch){ .st = st, .from = base, .want = WRITERS * PER_WRITER };
		pthread_create(&wt[i], NULL, watcher, &wa[i]);
	}
	for (int i = 0; i < WRITERS; i++) {
		a[i] = (struct wargs){ .st = st, .id = i };
		pthread_create(&t[i], NULL, writer, &a[i]);
	}
	pthread_create(&lt, NULL, lister, &la);
	pthread_create(&mt, NULL, mutator, &ma);
	for (int i = 0; i < WRITERS; i++)
		pthread_join(t[i], NULL);
	stop = 1;
	pthread_join(lt, NULL);
	pthread_join(mt, NULL);
	for (int i = 0; i < 3; i++)
		pthread_join(wt[i], NULL);
	is_int(la.errors, 0, "%s: lists during writes: no errors", bname);
	is_int(la.mismatches, 0, "%s: %d paginated lists during writes equal one list at their "
	       "revision", bname, la.iterations);

	total = WRITERS * PER_WRITER + ma.nrevs;
	all = calloc(total, sizeof(*all));
	if (ma.nrevs)
		memcpy(all + WRITERS * PER_WRITER, ma.revs, ma.nrevs * sizeof(*all));
	free(ma.revs);
	for (int i = 0; i < WRITERS; i++) {
		errors += a[i].errors;
		memcpy(all + i * PER_WRITER, a[i].revs, sizeof(a[i].revs));
		for (int j = 0; j < PER_WRITER; j++) {
			char k[64];

			snprintf(k, sizeof(k), "/c/w%d/%04d", i, j);
			if (kp_store_get(st, k, &kv) || kv.mod_rev != a[i].revs[j] ||
			    strcmp(kv.value, k))
				missing++;
			kp_kv_release(&kv);
		}
	}
	qsort(all, total, sizeof(*all), cmp_u64);
	for (size_t i = 0; i < total; i++)
		if (all[i] != base + 1 + (uint64_t)i)
			gaps++;
	free(all);
	is_int(errors + ma.errors, 0, "%s: %d concurrent writers and a mutator: no errors", bname,
	       WRITERS);
	is_int(gaps, 0, "%s: revisions are unique and gap-free", bname);
	is_int(missing, 0, "%s: every write is readable with its revision", bname);
	is_uint(kp_store_revision(st), base + total, "%s: final revision counts every write", bname);
	for (int i = 0; i < 3; i++) {
		is_int(wa[i].got, WRITERS * PER_WRITER, "%s: watcher %d saw every event", bname, i);
		is_int(wa[i].out_of_order + wa[i].errors, 0, "%s: watcher %d: in order, no errors",
		       bname, i);
	}

	is_int(put(st, "/counter", "0", NULL), 0, "%s: counter", bname);
	for (int i = 0; i < COUNTER_THREADS; i++) {
		ca[i] = (struct cargs){ .st = st };
		pthread_create(&ct[i], NULL, incrementer, &ca[i]);
	}
	errors = 0;
	for (int i = 0; i < COUNTER_THREADS; i++) {
		pthread_join(ct[i], NULL);
		errors += ca[i].errors;
	}
	is_int(errors, 0, "%s: CAS incrementers: no errors", bname);
	kp_store_get(st, "/counter", &kv);
	is_str(kv.value, "160", "%s: 4 x 40 CAS increments, none lost", bname);
	kp_kv_release(&kv);
}

struct blocked {
	struct kp_watch *w;
	int ret;
};

static void *block_next(void *arg)
{
	struct blocked *b = arg;
	struct kp_event ev;

	b->ret = kp_watch_next(b->w, &ev, -1);
	if (!b->ret)
		kp_event_release(&ev);
	return NULL;
}

static void test_cancel_close(enum kp_store_backend be)
{
	char *dir = be == KP_STORE_LEVELDB ? new_dir() : NULL;
	struct kp_store *st = open_store(be, dir, 0);
	struct blocked b = { 0 }, c = { 0 };
	pthread_t t, u;
	struct kp_event ev;

	kp_store_watch(st, "/", 0, &b.w);
	kp_store_watch(st, "/", 0, &c.w);
	pthread_create(&t, NULL, block_next, &b);
	pthread_create(&u, NULL, block_next, &c);
	usleep(20000);
	kp_watch_cancel(b.w);
	pthread_join(t, NULL);
	is_int(b.ret, KP_ECLOSED, "%s: cancel wakes a blocked watcher", bname);
	kp_store_close(st);
	pthread_join(u, NULL);
	is_int(c.ret, KP_ECLOSED, "%s: close wakes a blocked watcher", bname);
	is_int(kp_watch_next(c.w, &ev, 0), KP_ECLOSED, "%s: watch after close", bname);
	kp_watch_free(b.w);
	kp_watch_free(c.w);
	free(dir);
}

/* ---- snapshot / restore ---- */

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	*len = fread(buf, 1, (size_t)n, f);
	fclose(f);
	return buf;
}

static void spit(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	fwrite(buf, 1, len, f);
	fclose(f);
}

static char *dump(struct kp_store *st)
{
	struct kp_kv_list l;
	char *s;

	kp_store_list(st, NULL, 0, NULL, 0, &l);
	s = render(&l, "");
	kp_kv_list_release(&l);
	return s;
}

static void test_snapshot(struct kp_store *st, enum kp_store_backend be)
{
	char path[128], bad[128], tmp[140];
	char *before, *after, *msg = NULL, *buf;
	uint64_t rsnap, rev;
	struct kp_watch *w;
	struct kp_kv kv;
	size_t len = 0;
	struct kp_event ev;

	snprintf(path, sizeof(path), "%s/snap-%s", tmpdir, bname);
	snprintf(bad, sizeof(bad), "%s/bad-%s", tmpdir, bname);
	put(st, "/s/a", "1", NULL);
	put(st, "/s/b", "2", NULL);
	rsnap = kp_store_revision(st);
	is_int(kp_store_snapshot(st, path, &msg), 0, "%s: snapshot", bname);
	before = dump(st);

	buf = slurp(path, &len);
	ok(buf && len > 44 && !memcmp(buf, "KPSNAP\r\n", 8), "%s: snapshot starts with the magic",
	   bname);
	ok(buf && (unsigned char)buf[8] == 1 && !buf[9] && !buf[10] && !buf[11],
	   "%s: format version 1, little-endian", bname);
	if (buf) {
		uint64_t r = 0;

		for (int i = 7; i >= 0; i--)
			r = r << 8 | (unsigned char)buf[16 + i];
		is_uint(r, rsnap, "%s: header revision", bname);
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ok(access(tmp, F_OK) != 0, "%s: no temporary file left", bname);

	upd(st, "/s/a", "changed", 0, NULL);
	kp_store_delete(st, "/s/b", 0, NULL, NULL);
	put(st, "/s/c", "3", NULL);
	rev = kp_store_revision(st);
	kp_store_watch(st, "/", 0, &w);

	/* Damaged copies change nothing. */
	buf[len / 2] ^= 0x40;
	spit(bad, buf, len);
	is_int(kp_store_restore(st, bad, &msg), KP_EINVAL, "%s: flipped bit is refused", bname);
	ok(msg && strstr(msg, "checksum"), "%s: message says checksum: %s", bname, msg);
	buf[len / 2] ^= 0x40;
	spit(bad, buf, len - 3);
	is_int(kp_store_restore(st, bad, &msg), KP_EINVAL, "%s: truncated file is refused", bname);
	spit(bad, "hello", 5);
	is_int(kp_store_restore(st, bad, &msg), KP_EINVAL, "%s: garbage is refused", bname);
	ok(msg && strstr(msg, "not a kplane snapshot"), "%s: garbage message: %s", bname, msg);
	is_int(kp_store_restore(st, "no-such-file", &msg), KP_ENOENT, "%s: missing file", bname);
	{
		/* Valid checksum, keys out of order: structure is checked too. */
		unsigned char f[128];
		size_t o = 0;
		uint32_t crc;
		const char *keys[2] = { "/b", "/a" };

		memcpy(f, "KPSNAP\r\n", 8);
		memset(f + 8, 0, 16);
		f[8] = 1;
		f[16] = 9; /* revision 9 */
		o = 24;
		for (int i = 0; i < 2; i++) {
			memset(f + o, 0, 24);
			f[o] = 2;          /* klen */
			f[o + 4] = 1;      /* vlen */
			f[o + 8] = 1;      /* create_rev */
			f[o + 16] = 1;     /* mod_rev */
			memcpy(f + o + 24, keys[i], 2);
			f[o + 26] = 'x';
			o += 27;
		}
		memset(f + o, 0, 16);
		f[o + 8] = 2; /* count */
		o += 16;
		crc = kp__crc32(0, f, o);
		for (int i = 0; i < 4; i++)
			f[o + i] = (unsigned char)(crc >> (8 * i));
		o += 4;
		spit(bad, f, o);
		is_int(kp_store_restore(st, bad, &msg), KP_EINVAL, "%s: unsorted keys are refused",
		       bname);
		ok(msg && strstr(msg, "order"), "%s: message names the order: %s", bname, msg);
		/* Fix the order: the same bytes now restore. Checked on a throwaway store. */
		memcpy(f + 24 + 24, "/a", 2);
		memcpy(f + 24 + 27 + 24, "/b", 2);
		crc = kp__crc32(0, f, o - 4);
		for (int i = 0; i < 4; i++)
			f[o - 4 + i] = (unsigned char)(crc >> (8 * i));
		spit(bad, f, o);
		{
			struct kp_store *m = open_store(KP_STORE_MEMORY, NULL, 0);
			char *s;

			is_int(kp_store_restore(m, bad, &msg), 0, "%s: hand-made snapshot restores",
			       bname);
			s = dump(m);
			is_str(s, "/a=x /b=x", "%s: hand-made snapshot content", bname);
			is_uint(kp_store_revision(m), 10, "%s: revision is the snapshot's + 1", bname);
			free(s);
			kp_store_close(m);
		}
	}
	is_uint(kp_store_revision(st), rev, "%s: refused restores keep the revision", bname);
	after = dump(st);
	ok(strstr(after, "/s/a=changed") && strstr(after, "/s/c=3") && !strstr(after, "/s/b="),
	   "%s: refused restores keep the data", bname);
	free(after);
	is_int(kp_watch_next(w, &ev, 0), KP_ETIMEDOUT, "%s: refused restores emit nothing", bname);

	is_int(kp_store_restore(st, path, &msg), 0, "%s: restore", bname);
	after = dump(st);
	is_str(after, before, "%s: restore brings back the snapshot's content", bname);
	is_uint(kp_store_revision(st), rev + 1, "%s: restore revision is max(snap, now) + 1", bname);
	is_uint(kp_store_oldest_revision(st), rev + 1, "%s: nothing before the restore is retained",
		bname);
	is_int(kp_watch_next(w, &ev, 0), KP_EEXPIRED, "%s: watchers must relist", bname);
	kp_watch_free(w);
	is_int(kp_store_get(st, "/s/a", &kv), 0, "%s: restored key", bname);
	/* etcd assigns revisions itself: restored keys take the restore's. */
	is_uint(kv.mod_rev, be == KP_STORE_ETCD ? rev + 1 : rsnap - 1,
		"%s: restored key's revision", bname);
	kp_kv_release(&kv);
	is_int(put(st, "/s/d", "4", &rev), 0, "%s: write after restore", bname);
	is_uint(rev, kp_store_oldest_revision(st) + 1, "%s: continues after the restore revision",
		bname);

	/* The snapshot is backend-neutral. */
	{
		enum kp_store_backend other = be == KP_STORE_LEVELDB ? KP_STORE_MEMORY :
					      KP_STORE_LEVELDB;
		char *d = other == KP_STORE_LEVELDB ? new_dir() : NULL;
		struct kp_store *o = open_store(other, d, 0);
		char *s;

		is_int(kp_store_restore(o, path, &msg), 0, "%s: restore into the other backend",
		       bname);
		s = dump(o);
		is_str(s, before, "%s: same content in the other backend", bname);
		free(s);
		if (be == KP_STORE_ETCD) {
			/* And back: a leveldb snapshot restores into etcd. */
			char lpath[160];

			snprintf(lpath, sizeof(lpath), "%s/snap-from-leveldb", tmpdir);
			char *want;

			upd(o, "/s/a", "from leveldb", 0, NULL);
			want = dump(o);
			is_int(kp_store_snapshot(o, lpath, &msg), 0, "%s: leveldb snapshot", bname);
			is_int(kp_store_restore(st, lpath, &msg), 0,
			       "%s: leveldb snapshot restores into etcd", bname);
			s = dump(st);
			ok(strstr(s, "/s/a=from leveldb /s/b=2 "), "%s: leveldb's change is in etcd",
			   bname);
			is_str(s, want, "%s: leveldb content in etcd", bname);
			free(want);
			free(s);
		}
		kp_store_close(o);
		free(d);
	}
	free(before);
	free(after);
	free(buf);
	free(msg);
}

/* ---- leveldb specifics ---- */

static void test_leveldb_reopen(void)
{
	char *dir = new_dir(), *msg = NULL;
	struct kp_store *st = open_store(KP_STORE_LEVELDB, dir, 0), *st2 = NULL;
	struct kp_store_options o = { .backend = KP_STORE_LEVELDB, .data_dir = dir };
	struct kp_kv kv;
	uint64_t rev;
	size_t n;

	put(st, "/a", "1", NULL);
	put(st, "/b", "2", NULL);
	upd(st, "/a", "3", 0, NULL);
	kp_store_delete(st, "/b", 0, NULL, NULL);
	put(st, "/c", "5", &rev);
	is_int(kp_store_open(&o, &st2, &msg), KP_EBUSY, "leveldb: second open of a dir is busy");
	ok(msg && strstr(msg, dir), "leveldb: busy message names the dir: %s", msg);
	kp_store_close(st);

	st = open_store(KP_STORE_LEVELDB, dir, 0);
	is_uint(kp_store_revision(st), 5, "leveldb: reopen keeps the revision");
	is_uint(kp_store_oldest_revision(st), 5, "leveldb: events do not survive a reopen");
	is_int(kp_store_get(st, "/a", &kv), 0, "leveldb: reopen keeps data");
	ok(kv.value && !strcmp(kv.value, "3") && kv.create_rev == 1 && kv.mod_rev == 3,
	   "leveldb: value and revisions after reopen");
	kp_kv_release(&kv);
	is_int(kp_store_get(st, "/b", &kv), KP_ENOENT, "leveldb: deletes survive a reopen");
	kp_store_count(st, "/", &n);
	is_uint(n, 2, "leveldb: key count after reopen");
	{
		struct kp_store_stats s;

		kp_store_stats(st, &s);
		is_uint(s.keys, 2, "leveldb: stats key count recovered");
	}
	is_int(put(st, "/d", "6", &rev), 0, "leveldb: write after reopen");
	is_uint(rev, 6, "leveldb: revision continues");
	kp_store_close(st);
	free(msg);
	free(dir);
}

/* Writes raw leveldb content the store must refuse without crashing. */
static void test_leveldb_bad_data(void)
{
	char *dir = new_dir(), *dir2 = new_dir(), *err = NULL, *msg = NULL;
	leveldb_options_t *lo = leveldb_options_create();
	leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
	struct kp_store_options o = { .backend = KP_STORE_LEVELDB, .data_dir = dir };
	struct kp_store *st;
	struct kp_kv_list l;
	struct kp_kv kv;
	leveldb_t *db;
	int ret;

	st = open_store(KP_STORE_LEVELDB, dir, 0);
	put(st, "/good", "g", NULL);
	kp_store_close(st);
	leveldb_options_set_create_if_missing(lo, 1);
	db = leveldb_open(lo, dir, &err);
	leveldb_put(db, wo, "k/short", 7, "abc", 3, &err);
	leveldb_put(db, wo, "k/badrev", 8, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0x", 17, &err);
	leveldb_close(db);

	st = open_store(KP_STORE_LEVELDB, dir, 0);
	is_int(kp_store_get(st, "/short", &kv), KP_EIO, "leveldb: short value is an I/O error");
	free(msg);
	msg = kp_store_last_error(st);
	ok(msg && strstr(msg, "/short"), "leveldb: message names the key: %s", msg);
	is_int(kp_store_get(st, "/badrev", &kv), KP_EIO, "leveldb: revision 0 is an I/O error");
	is_int(kp_store_list(st, "/", 0, NULL, 0, &l), KP_EIO, "leveldb: list over bad data");
	is_int(kp_store_get(st, "/good", &kv), 0, "leveldb: good keys still read");
	kp_kv_release(&kv);
	is_int(upd(st, "/short", "x", 0, NULL), KP_EIO, "leveldb: update of a bad value refused");
	is_int(put(st, "/new", "x", NULL), 0, "leveldb: store still writes");
	kp_store_close(st);

	/* A leveldb that is not ours. */
	db = leveldb_open(lo, dir2, &err);
	leveldb_put(db, wo, "other", 5, "x", 1, &err);
	leveldb_close(db);
	o.data_dir = dir2;
	free(msg);
	msg = NULL;
	is_int(kp_store_open(&o, &st, &msg), KP_EINVAL, "leveldb: foreign database refused");
	ok(msg && strstr(msg, "not a kplane store"), "leveldb: foreign message: %s", msg);
	free(msg);
	msg = NULL;
	o.data_dir = "/proc/version/x";
	ret = kp_store_open(&o, &st, &msg);
	ok(ret < 0 && msg, "leveldb: unusable dir: %s", msg ? msg : "(no message)");
	free(msg);
	msg = NULL;
	o.data_dir = NULL;
	is_int(kp_store_open(&o, &st, &msg), KP_EINVAL, "leveldb: data_dir required");
	free(msg);
	leveldb_writeoptions_destroy(wo);
	leveldb_options_destroy(lo);
	free(dir);
	free(dir2);
}

/* ---- etcd specifics ---- */

/*
 * A fake etcd that answers ranges and watches but drops every txn after
 * reading it: the write may have been applied, so the store must say
 * KP_EIO and must not retry it (a retried create could report KP_EEXIST
 * for the caller's own write).
 */
static int fake_txns;

static void fake_reply(int fd, const char *body)
{
	char h[160];
	int n = snprintf(h, sizeof(h), "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\n\r\n", strlen(body));

	if (write(fd, h, (size_t)n) < 0 || write(fd, body, strlen(body)) < 0)
		return;
}

static void *fake_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[8192];
	size_t have = 0;

	for (;;) {
		char *end = NULL, *cl;
		size_t need;
		ssize_t r;

		while (!(end = memmem(buf, have, "\r\n\r\n", 4)) && have < sizeof(buf) - 1) {
			r = read(fd, buf + have, sizeof(buf) - 1 - have);
			if (r <= 0)
				goto out;
			have += (size_t)r;
		}
		if (!end)
			goto out;
		buf[have] = 0;
		cl = strcasestr(buf, "content-length:");
		need = (size_t)(end + 4 - buf) + (cl ? strtoul(cl + 15, NULL, 10) : 0);
		while (have < need && have < sizeof(buf) - 1) {
			r = read(fd, buf + have, sizeof(buf) - 1 - have);
			if (r <= 0)
				goto out;
			have += (size_t)r;
		}
		if (strstr(buf, "POST /v3/kv/txn")) {
			__atomic_fetch_add(&fake_txns, 1, __ATOMIC_RELAXED);
			goto out; /* read, maybe applied, never answered */
		}
		if (strstr(buf, "POST /v3/watch")) {
			static const char hdr[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n"
				"{\"result\":{\"header\":{\"revision\":\"5\"},\"created\":true}}\n";

			if (write(fd, hdr, sizeof(hdr) - 1) < 0)
				goto out;
			while (read(fd, buf, sizeof(buf)) > 0)
				;
			goto out;
		}
		fake_reply(fd, "{\"header\":{\"revision\":\"5\"},\"count\":\"0\"}");
		memmove(buf, buf + need, have - need);
		have -= need;
	}
out:
	close(fd);
	return NULL;
}

static void *fake_etcd(void *arg)
{
	int lfd = (int)(intptr_t)arg, fd;

	while ((fd = accept(lfd, NULL, NULL)) >= 0) {
		pthread_t t;

		if (pthread_create(&t, NULL, fake_conn, (void *)(intptr_t)fd) == 0)
			pthread_detach(t);
		else
			close(fd);
	}
	return NULL;
}

static void test_etcd_unanswered_write(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	char url[64], *msg = NULL;
	const char *eps[] = { url, url, NULL }; /* twice: a retry would have somewhere to go */
	struct kp_store_options o = { .backend = KP_STORE_ETCD, .etcd_endpoints = eps };
	struct kp_store *st = NULL;
	pthread_t t;

	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 16) ||
	    getsockname(lfd, (struct sockaddr *)&a, &l)) {
		ok(0, "etcd: fake etcd listens");
		return;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(a.sin_port));
	pthread_create(&t, NULL, fake_etcd, (void *)(intptr_t)lfd);
	is_int(kp_store_open(&o, &st, &msg), 0, "etcd: opens on a fake etcd: %s", msg ? msg : "");
	if (st) {
		is_int(put(st, "/x", "1", NULL), KP_EIO, "etcd: unanswered create is KP_EIO");
		free(msg);
		msg = kp_store_last_error(st);
		ok(msg && strstr(msg, "may or may not have been applied"),
		   "etcd: message says the outcome is unknown: %s", msg ? msg : "(none)");
		is_int(__atomic_load_n(&fake_txns, __ATOMIC_RELAXED), 1,
		       "etcd: the create was sent once, not retried");
		kp_store_close(st);
	}
	shutdown(lfd, SHUT_RDWR);
	close(lfd);
	pthread_join(t, NULL);
	free(msg);
}

/* Options are checked before any connection. */
static void test_etcd_options(void)
{
	struct kp_store_options o = { .backend = KP_STORE_ETCD };
	const char *bad[] = { "ftp://127.0.0.1:1", NULL };
	char dead[64];
	const char *deads[] = { dead, NULL };
	struct kp_store *st = NULL;
	char *msg = NULL;

	bname = "etcd";
	is_int(kp_store_open(&o, &st, &msg), KP_EINVAL, "etcd: endpoints are required");
	ok(msg && strstr(msg, "etcd_endpoints"), "etcd: message names the option: %s", msg);
	free(msg);
	msg = NULL;
	o.etcd_endpoints = bad;
	is_int(kp_store_open(&o, &st, &msg), KP_EINVAL, "etcd: not an http(s) URL");
	ok(msg && strstr(msg, "ftp://"), "etcd: message quotes the URL: %s", msg);
	free(msg);
	msg = NULL;
	snprintf(dead, sizeof(dead), "http://127.0.0.1:%d", free_port());
	o.etcd_endpoints = deads;
	o.etcd_cert = "client.pem";
	is_int(kp_store_open(&o, &st, &msg), KP_EINVAL, "etcd: a certificate needs its key");
	free(msg);
	msg = NULL;
	o.etcd_cert = NULL;
	is_int(kp_store_open(&o, &st, &msg), KP_EIO, "etcd: nobody listening");
	ok(msg && strstr(msg, dead), "etcd: message names the endpoint: %s", msg);
	free(msg);
}

/* Needs the test's etcd running; ends by killing it. */
static void test_etcd_specific(void)
{
	char dead[64], url[128], body[128], *msg = NULL;
	const char *eps[] = { dead, etcd_url, NULL };
	struct kp_store_options o = { .backend = KP_STORE_ETCD, .etcd_endpoints = eps };
	struct kp_store *st = NULL;
	struct kp_watch *w;
	struct kp_event ev;
	struct kp_kv kv;
	uint64_t r1, r2, r3;

	bname = "etcd";
	etcd_wipe();
	snprintf(dead, sizeof(dead), "http://127.0.0.1:%d", free_port());
	is_int(kp_store_open(&o, &st, &msg), 0, "etcd: opens with a dead first endpoint: %s",
	       msg ? msg : "");
	if (!st)
		return;
	is_int(put(st, "/f/a", "1", &r1), 0, "etcd: create fails over to the live endpoint");
	is_int(kp_store_get(st, "/f/a", &kv), 0, "etcd: get after failover");
	is_str(kv.value, "1", "etcd: value after failover");
	kp_kv_release(&kv);
	upd(st, "/f/a", "2", 0, &r2);
	upd(st, "/f/a", "3", 0, &r3);

	/* Compacted by someone else: etcd's answers teach the store. */
	snprintf(url, sizeof(url), "%s/v3/kv/compaction", etcd_url);
	snprintf(body, sizeof(body), "{\"revision\":\"%" PRIu64 "\"}", r3);
	is_int((int)http(url, body, NULL, 0), 200, "etcd: compaction by another client");
	{
		struct kp_kv_list l;

		is_int(kp_store_list(st, "/f/", r2, NULL, 0, &l), KP_EEXPIRED,
		       "etcd: list at a revision etcd compacted");
	}
	is_int(kp_store_watch(st, "/f/", r1, &w), KP_EEXPIRED,
	       "etcd: watch from a revision etcd compacted");
	is_uint(kp_store_oldest_revision(st), r3, "etcd: compacted revision learnt from etcd");
	is_int(kp_store_watch(st, "/f/", r3, &w), 0, "etcd: watch from the compacted revision");
	is_int(kp_watch_next(w, &ev, 0), KP_ETIMEDOUT, "etcd: nothing after it yet");
	kp_watch_free(w);

	/* etcd goes away: writes and streams fail with KP_EIO and a message. */
	is_int(kp_store_watch(st, "/f/", 0, &w), 0, "etcd: watch before etcd dies");
	kill(etcd_pid, SIGKILL);
	waitpid(etcd_pid, NULL, 0);
	etcd_pid = 0;
	is_int(put(st, "/f/b", "x", NULL), KP_EIO, "etcd: create with etcd down");
	free(msg);
	msg = kp_store_last_error(st);
	ok(msg && strstr(msg, etcd_url) && strstr(msg, dead),
	   "etcd: last error names the endpoints tried: %s", msg ? msg : "(none)");
	is_int(kp_watch_next(w, &ev, 300), KP_ETIMEDOUT, "etcd: a watcher waits while etcd is down");
	/* Back on the same ports and data: the store's stream resumes, nothing lost. */
	ok(etcd_spawn(), "etcd: restarts on its data");
	is_int(put(st, "/f/c", "back", &r1), 0, "etcd: create after etcd is back");
	check_event(w, KP_EVENT_ADDED, "/f/c", "back", r1, NULL, "watch resumes after the outage");
	kp_watch_free(w);
	kp_store_close(st);
	free(msg);
}

static void suite(enum kp_store_backend be)
{
	char *dir = be == KP_STORE_LEVELDB ? new_dir() : NULL;
	struct kp_store *st;

	bname = be == KP_STORE_LEVELDB ? "leveldb" : be == KP_STORE_ETCD ? "etcd" : "memory";
#ifdef T1001_GATEWAY
	bname = "gateway";
#endif
	cur_be = be;
	st = open_store(be, dir, 0);
	/* etcd starts at revision 1 and keeps counting across the test's wipes. */
	if (be == KP_STORE_ETCD)
		ok(kp_store_revision(st) >= 1, "%s: revision comes from etcd", bname);
	else
		is_uint(kp_store_revision(st), 0, "%s: fresh store at revision 0", bname);
	test_crud(st);
	test_list(st);
	test_watch(st);
	test_concurrency(st);
#ifndef T1001_GATEWAY
	/* (A restore is one big txn: the gateway takes single-key ones only.) */
	test_snapshot(st, be);
#else
	(void)test_snapshot;
#endif
	kp_store_close(st);
	test_retention(be);
	test_cancel_close(be);
	free(dir);
}

int main(void)
{
	enum kp_store_backend be;

	strcpy(tmpdir, "t1001-tmp-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
#ifdef T1001_GATEWAY
	(void)be;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!gw_start()) {
		fail("the gateway server starts");
		return done_testing();
	}
	suite(KP_STORE_ETCD);
	gw_stop();
	if (!tap_failed_)
		rm_rf(tmpdir);
	return done_testing();
#endif
	is_int(kp_store_backend_parse("memory", &be), 0, "parse memory");
	is_int(be, KP_STORE_MEMORY, "memory backend");
	is_int(kp_store_backend_parse("leveldb", &be), 0, "parse leveldb");
	is_int(be, KP_STORE_LEVELDB, "leveldb backend");
	is_int(kp_store_backend_parse("etcd", &be), 0, "parse etcd");
	is_int(be, KP_STORE_ETCD, "etcd backend");
	is_int(kp_store_backend_parse("etcd3", &be), KP_EINVAL, "unknown backend");
	is_int(kp_store_backend_parse(NULL, &be), KP_EINVAL, "NULL backend");
	is_str(kp_event_type_string(KP_EVENT_DELETED), "DELETED", "event type names");
	is_uint(kp__crc32(0, "123456789", 9), 0xcbf43926u, "CRC-32 check value");

	suite(KP_STORE_MEMORY);
	suite(KP_STORE_LEVELDB);
	bname = "leveldb";
	test_leveldb_reopen();
	test_leveldb_bad_data();

	curl_global_init(CURL_GLOBAL_DEFAULT);
	test_etcd_options();
	test_etcd_unanswered_write();
	if (!have_etcd()) {
		skip(1, "etcd not installed");
	} else if (!etcd_start()) {
		ok(0, "etcd starts on loopback");
	} else {
		suite(KP_STORE_ETCD);
		test_etcd_specific();
		etcd_stop();
	}

	if (!tap_failed_)
		rm_rf(tmpdir);
	return done_testing();
}

/*
 * leveldb.c - the embedded durable backend, on leveldb's C API.
 *
 * Layout (docs/store.md has the full story):
 *   "k" <key>   -> [create_rev u64 LE][mod_rev u64 LE][value bytes]
 *   "mformat"   -> u64 LE, 1
 *   "mrev"      -> u64 LE, revision of the last batch
 *   "mkeys"     -> u64 LE, number of "k" keys
 * The meta keys go into every batch, so leveldb's atomic batches make the
 * recovered revision exactly that of the last batch that reached the log.
 * A one-byte tag rather than "k/": keys already start with "/" and the tag
 * keeps data ('k') and meta ('m') in disjoint, ordered ranges.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <leveldb/c.h>

#include <kplane/error.h>

#include "store/backend.h"

#define FORMAT 1
#define HDR 16 /* create_rev + mod_rev in front of every value */

struct ldb {
	struct kp__backend base;
	char *dir;
	leveldb_t *db;
	leveldb_options_t *opts;
	leveldb_cache_t *cache;
	leveldb_filterpolicy_t *filter;
	leveldb_readoptions_t *ropts;
	leveldb_writeoptions_t *wsync, *wnosync;
	/* Used only by write(), which store.c never runs concurrently. */
	leveldb_writebatch_t *batch;
	char *buf;
	size_t bufcap;
};

struct kp__bview {
	const leveldb_snapshot_t *snap;
	leveldb_readoptions_t *ropts;
};

static void put_u64(char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (char)(v >> (8 * i));
}

static uint64_t get_u64(const char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | (unsigned char)p[i];
	return v;
}

/* Makes a version out of a stored value, refusing what cannot be ours. */
static int decode(struct ldb *l, const char *key, size_t klen, const char *val, size_t vlen,
		  struct kp__ver **out, char **errmsg)
{
	uint64_t cr, mr;

	if (vlen < HDR)
		return kp_error_set(errmsg, KP_EIO, "leveldb store %s: corrupt value for key %.*s "
				    "(%zu bytes, need at least %d)", l->dir, (int)klen, key, vlen, HDR);
	cr = get_u64(val);
	mr = get_u64(val + 8);
	if (cr == 0 || mr < cr || vlen - HDR > KP__VALUE_MAX)
		return kp_error_set(errmsg, KP_EIO, "leveldb store %s: corrupt value for key %.*s "
				    "(create_rev %llu, mod_rev %llu)", l->dir, (int)klen, key,
				    (unsigned long long)cr, (unsigned long long)mr);
	*out = kp__ver_new(key, klen, val + HDR, vlen - HDR, cr, mr);
	if (!*out)
		return kp_error_set(errmsg, KP_ENOMEM, "leveldb store: out of memory");
	return 0;
}

static int ldb_get(struct kp__backend *b, const char *key, size_t klen, struct kp__ver **out,
		   char **errmsg)
{
	struct ldb *l = (struct ldb *)b;
	char kbuf[1 + KP__KEY_MAX];
	char *err = NULL, *val;
	size_t vlen;
	int ret;

	if (klen > KP__KEY_MAX)
		return KP_ENOENT;
	kbuf[0] = 'k';
	memcpy(kbuf + 1, key, klen);
	val = leveldb_get(l->db, l->ropts, kbuf, klen + 1, &vlen, &err);
	if (err) {
		ret = kp_error_set(errmsg, KP_EIO, "leveldb store %s: reading %.*s: %s", l->dir,
				   (int)klen, key, err);
		leveldb_free(err);
		return ret;
	}
	if (!val)
		return KP_ENOENT;
	ret = decode(l, key, klen, val, vlen, out, errmsg);
	leveldb_free(val);
	return ret;
}

/* Reads a u64 meta key; absent -> *found false. */
static int read_meta(struct ldb *l, const leveldb_readoptions_t *ro, const char *name,
		     uint64_t *v, bool *found, char **errmsg)
{
	char *err = NULL, *val;
	size_t vlen;

	*found = false;
	val = leveldb_get(l->db, ro, name, strlen(name), &vlen, &err);
	if (err) {
		int ret = kp_error_set(errmsg, KP_EIO, "leveldb store %s: reading meta %s: %s",
				       l->dir, name + 1, err);
		leveldb_free(err);
		return ret;
	}
	if (!val)
		return 0;
	if (vlen != 8) {
		leveldb_free(val);
		return kp_error_set(errmsg, KP_EIO, "leveldb store %s: corrupt meta key %s "
				    "(%zu bytes instead of 8)", l->dir, name + 1, vlen);
	}
	*v = get_u64(val);
	*found = true;
	leveldb_free(val);
	return 0;
}

static int read_metas(struct ldb *l, const leveldb_readoptions_t *ro, struct kp__meta *meta,
		      char **errmsg)
{
	bool found;
	int ret;

	meta->rev = meta->keys = 0;
	ret = read_meta(l, ro, "mrev", &meta->rev, &found, errmsg);
	if (!ret)
		ret = read_meta(l, ro, "mkeys", &meta->keys, &found, errmsg);
	return ret;
}

static int ldb_view_open(struct kp__backend *b, struct kp__bview **out, struct kp__meta *meta,
			 char **errmsg)
{
	struct ldb *l = (struct ldb *)b;
	struct kp__bview *v = calloc(1, sizeof(*v));
	int ret;

	if (!v || !(v->ropts = leveldb_readoptions_create())) {
		free(v);
		return kp_error_set(errmsg, KP_ENOMEM, "leveldb store: out of memory");
	}
	v->snap = leveldb_create_snapshot(l->db);
	leveldb_readoptions_set_snapshot(v->ropts, v->snap);
	/* A scan reads each block once: do not churn the cache with it. */
	leveldb_readoptions_set_fill_cache(v->ropts, 0);
	ret = read_metas(l, v->ropts, meta, errmsg);
	if (ret) {
		leveldb_readoptions_destroy(v->ropts);
		leveldb_release_snapshot(l->db, v->snap);
		free(v);
		return ret;
	}
	*out = v;
	return 0;
}

static int ldb_scan(struct kp__backend *b, struct kp__bview *view, const char *from,
		    size_t fromlen, kp__scan_fn fn, void *arg, char **errmsg)
{
	struct ldb *l = (struct ldb *)b;
	leveldb_iterator_t *it = leveldb_create_iterator(l->db, view->ropts);
	char kbuf[1 + KP__KEY_MAX];
	char *err = NULL;
	int ret = 0;

	kbuf[0] = 'k';
	if (from) {
		if (fromlen > KP__KEY_MAX)
			fromlen = KP__KEY_MAX; /* a prefix of from sorts before it: still correct */
		memcpy(kbuf + 1, from, fromlen);
	} else {
		fromlen = 0;
	}
	for (leveldb_iter_seek(it, kbuf, fromlen + 1); leveldb_iter_valid(it);
	     leveldb_iter_next(it)) {
		size_t klen, vlen;
		const char *k = leveldb_iter_key(it, &klen);
		const char *val;
		struct kp__ver *v;

		if (klen < 1 || k[0] != 'k')
			break;
		if (klen - 1 > KP__KEY_MAX || memchr(k + 1, 0, klen - 1)) {
			ret = kp_error_set(errmsg, KP_EIO, "leveldb store %s: corrupt key "
					   "(%zu bytes)", l->dir, klen - 1);
			break;
		}
		val = leveldb_iter_value(it, &vlen);
		ret = decode(l, k + 1, klen - 1, val, vlen, &v, errmsg);
		if (ret)
			break;
		ret = fn(arg, v);
		kp__ver_unref(v);
		if (ret) {
			if (ret > 0)
				ret = 0;
			break;
		}
	}
	if (!ret) {
		leveldb_iter_get_error(it, &err);
		if (err) {
			ret = kp_error_set(errmsg, KP_EIO, "leveldb store %s: scan: %s", l->dir, err);
			leveldb_free(err);
		}
	}
	leveldb_iter_destroy(it);
	return ret;
}

static void ldb_view_close(struct kp__backend *b, struct kp__bview *view)
{
	struct ldb *l = (struct ldb *)b;

	leveldb_readoptions_destroy(view->ropts);
	leveldb_release_snapshot(l->db, view->snap);
	free(view);
}

static int grow(struct ldb *l, size_t need)
{
	char *p;
	size_t cap = l->bufcap ? l->bufcap : 4096;

	if (need <= l->bufcap)
		return 0;
	while (cap < need)
		cap *= 2;
	p = realloc(l->buf, cap);
	if (!p)
		return KP_ENOMEM;
	l->buf = p;
	l->bufcap = cap;
	return 0;
}

static int ldb_write(struct kp__backend *b, const struct kp__bop *ops, size_t n,
		     const struct kp__meta *meta, bool sync, char **errmsg)
{
	struct ldb *l = (struct ldb *)b;
	char *err = NULL, m[8];
	int ret;

	leveldb_writebatch_clear(l->batch);
	for (size_t i = 0; i < n; i++) {
		const struct kp__ver *v = ops[i].ver;
		size_t klen = (size_t)v->klen + 1;

		if (grow(l, klen + HDR + v->vlen))
			return kp_error_set(errmsg, KP_ENOMEM, "leveldb store: out of memory");
		l->buf[0] = 'k';
		memcpy(l->buf + 1, kp__ver_key(v), v->klen);
		if (ops[i].del) {
			leveldb_writebatch_delete(l->batch, l->buf, klen);
			continue;
		}
		put_u64(l->buf + klen, v->create_rev);
		put_u64(l->buf + klen + 8, v->mod_rev);
		memcpy(l->buf + klen + HDR, kp__ver_value(v), v->vlen);
		leveldb_writebatch_put(l->batch, l->buf, klen, l->buf + klen, HDR + v->vlen);
	}
	put_u64(m, meta->rev);
	leveldb_writebatch_put(l->batch, "mrev", 4, m, 8);
	put_u64(m, meta->keys);
	leveldb_writebatch_put(l->batch, "mkeys", 5, m, 8);
	leveldb_write(l->db, sync ? l->wsync : l->wnosync, l->batch, &err);
	if (err) {
		ret = kp_error_set(errmsg, KP_EIO, "leveldb store %s: write: %s", l->dir, err);
		leveldb_free(err);
		return ret;
	}
	return 0;
}

static void ldb_close(struct kp__backend *b)
{
	struct ldb *l = (struct ldb *)b;

	if (l->db)
		leveldb_close(l->db);
	if (l->opts)
		leveldb_options_destroy(l->opts);
	if (l->filter)
		leveldb_filterpolicy_destroy(l->filter);
	if (l->cache)
		leveldb_cache_destroy(l->cache);
	if (l->ropts)
		leveldb_readoptions_destroy(l->ropts);
	if (l->wsync)
		leveldb_writeoptions_destroy(l->wsync);
	if (l->wnosync)
		leveldb_writeoptions_destroy(l->wnosync);
	if (l->batch)
		leveldb_writebatch_destroy(l->batch);
	free(l->buf);
	free(l->dir);
	free(l);
}

static const struct kp__backend_ops ldb_ops = {
	.name = "leveldb",
	.get = ldb_get,
	.view_open = ldb_view_open,
	.scan = ldb_scan,
	.view_close = ldb_view_close,
	.write = ldb_write,
	.close = ldb_close,
};

/* mkdir -p */
static int make_dirs(const char *dir, char **errmsg)
{
	char *p = strdup(dir);
	int ret = 0;

	if (!p)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	for (char *s = p + 1; ; s++) {
		if (*s != '/' && *s)
			continue;
		char c = *s;

		*s = 0;
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			ret = kp_error_set(errmsg, KP_EIO, "cannot create data dir %s: %s", p,
					   strerror(errno));
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
	return ret;
}

/* A fresh database gets the format key; anything else must already carry it. */
static int check_format(struct ldb *l, char **errmsg)
{
	uint64_t format = 0;
	bool found;
	int ret = read_meta(l, l->ropts, "mformat", &format, &found, errmsg);
	leveldb_iterator_t *it;
	bool empty;
	char *err = NULL, m[8];

	if (ret)
		return ret;
	if (found) {
		if (format != FORMAT)
			return kp_error_set(errmsg, KP_EINVAL, "leveldb store %s has format %llu; "
					    "this kplane reads format %d", l->dir,
					    (unsigned long long)format, FORMAT);
		return 0;
	}
	it = leveldb_create_iterator(l->db, l->ropts);
	leveldb_iter_seek_to_first(it);
	empty = !leveldb_iter_valid(it);
	leveldb_iter_destroy(it);
	if (!empty)
		return kp_error_set(errmsg, KP_EINVAL, "%s holds a leveldb database that is not a "
				    "kplane store (no format key); refusing to use it", l->dir);
	put_u64(m, FORMAT);
	leveldb_put(l->db, l->wsync, "mformat", 7, m, 8, &err);
	if (err) {
		ret = kp_error_set(errmsg, KP_EIO, "leveldb store %s: write: %s", l->dir, err);
		leveldb_free(err);
	}
	return ret;
}

int kp__backend_leveldb_open(const char *dir, struct kp__backend **out, struct kp__meta *meta,
			     char **errmsg)
{
	struct ldb *l;
	char *err = NULL;
	int ret;

	if (!dir || !*dir)
		return kp_error_set(errmsg, KP_EINVAL, "leveldb store: data_dir is required");
	ret = make_dirs(dir, errmsg);
	if (ret)
		return ret;
	l = calloc(1, sizeof(*l));
	if (!l || !(l->dir = strdup(dir))) {
		free(l);
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	}
	l->base.ops = &ldb_ops;
	l->opts = leveldb_options_create();
	l->cache = leveldb_cache_create_lru(32 << 20);
	l->filter = leveldb_filterpolicy_create_bloom(10);
	l->ropts = leveldb_readoptions_create();
	l->wsync = leveldb_writeoptions_create();
	l->wnosync = leveldb_writeoptions_create();
	l->batch = leveldb_writebatch_create();
	if (!l->opts || !l->cache || !l->filter || !l->ropts || !l->wsync || !l->wnosync ||
	    !l->batch) {
		ldb_close(&l->base);
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	}
	leveldb_options_set_create_if_missing(l->opts, 1);
	leveldb_options_set_cache(l->opts, l->cache);
	leveldb_options_set_filter_policy(l->opts, l->filter);
	/* Bigger memtables: fewer level-0 compactions under write bursts. */
	leveldb_options_set_write_buffer_size(l->opts, 16 << 20);
	leveldb_writeoptions_set_sync(l->wsync, 1);
	leveldb_writeoptions_set_sync(l->wnosync, 0);

	l->db = leveldb_open(l->opts, dir, &err);
	if (err) {
		/* leveldb says "lock <dir>/LOCK: ..." when another opener holds it. */
		if (strstr(err, "lock ") && strstr(err, "/LOCK"))
			ret = kp_error_set(errmsg, KP_EBUSY, "data dir %s is in use by another "
					   "store (leveldb: %s)", dir, err);
		else
			ret = kp_error_set(errmsg, KP_EIO, "cannot open leveldb store in %s: %s",
					   dir, err);
		leveldb_free(err);
		l->db = NULL;
		ldb_close(&l->base);
		return ret;
	}
	ret = check_format(l, errmsg);
	if (!ret)
		ret = read_metas(l, l->ropts, meta, errmsg);
	if (ret) {
		ldb_close(&l->base);
		return ret;
	}
	*out = &l->base;
	return 0;
}

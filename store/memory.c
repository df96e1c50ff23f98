/*
 * memory.c - the in-memory backend: an ordered skiplist of shared versions
 * under one rwlock.
 *
 * A skiplist rather than a balanced tree: ordered iteration from any key is a
 * pointer walk, inserts touch O(log n) pointers without rebalancing, and the
 * code is short enough to trust. Nodes point at the same struct kp__ver the
 * event ring holds, so a value costs its bytes once.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/error.h>

#include "store/backend.h"

#define MAX_LEVEL 24

struct node {
	struct kp__ver *ver;
	int height;
	struct node *next[];
};

struct mem {
	struct kp__backend base;
	pthread_rwlock_t lock;
	struct node *head;
	int level;
	uint64_t rng;
	struct kp__meta meta;
};

static int cmp_key(const struct kp__ver *v, const char *key, size_t klen)
{
	size_t n = v->klen < klen ? v->klen : klen;
	int c = memcmp(kp__ver_key(v), key, n);

	if (c)
		return c;
	return v->klen < klen ? -1 : v->klen > klen;
}

/* First node whose key is >= key; fills prev[] with the nodes before it. */
static struct node *find_ge(struct mem *m, const char *key, size_t klen, struct node **prev)
{
	struct node *x = m->head;

	for (int i = m->level - 1; i >= 0; i--) {
		while (x->next[i] && cmp_key(x->next[i]->ver, key, klen) < 0)
			x = x->next[i];
		if (prev)
			prev[i] = x;
	}
	return x->next[0];
}

static int random_height(struct mem *m)
{
	int h = 1;

	/* xorshift64: the lock holder is the only user of rng. */
	m->rng ^= m->rng << 13;
	m->rng ^= m->rng >> 7;
	m->rng ^= m->rng << 17;
	for (uint64_t r = m->rng; h < MAX_LEVEL && (r & 3) == 0; r >>= 2)
		h++;
	return h;
}

static struct node *node_new(int height, struct kp__ver *v)
{
	struct node *n = calloc(1, sizeof(*n) + (size_t)height * sizeof(n->next[0]));

	if (!n)
		return NULL;
	n->height = height;
	n->ver = v;
	return n;
}

static int mem_get(struct kp__backend *b, const char *key, size_t klen, struct kp__ver **out,
		   char **errmsg)
{
	struct mem *m = (struct mem *)b;
	struct node *n;
	int ret = KP_ENOENT;

	pthread_rwlock_rdlock(&m->lock);
	n = find_ge(m, key, klen, NULL);
	if (n && cmp_key(n->ver, key, klen) == 0) {
		*out = kp__ver_ref(n->ver);
		ret = 0;
	}
	pthread_rwlock_unlock(&m->lock);
	return ret;
}

/* The view is the read lock itself: writers wait until it is closed. */
static int mem_view_open(struct kp__backend *b, struct kp__bview **out, struct kp__meta *meta,
			 char **errmsg)
{
	struct mem *m = (struct mem *)b;

	pthread_rwlock_rdlock(&m->lock);
	*meta = m->meta;
	*out = (struct kp__bview *)m;
	return 0;
}

static int mem_scan(struct kp__backend *b, struct kp__bview *view, const char *from,
		    size_t fromlen, kp__scan_fn fn, void *arg, char **errmsg)
{
	struct mem *m = (struct mem *)b;
	struct node *n = from ? find_ge(m, from, fromlen, NULL) : m->head->next[0];

	for (; n; n = n->next[0]) {
		int r = fn(arg, n->ver);

		if (r)
			return r < 0 ? r : 0;
	}
	return 0;
}

static void mem_view_close(struct kp__backend *b, struct kp__bview *view)
{
	pthread_rwlock_unlock(&((struct mem *)b)->lock);
}

static int apply(struct mem *m, const struct kp__bop *op)
{
	struct node *prev[MAX_LEVEL];
	struct kp__ver *v = op->ver;
	struct node *n = find_ge(m, kp__ver_key(v), v->klen, prev);
	int h;

	if (n && cmp_key(n->ver, kp__ver_key(v), v->klen) == 0) {
		if (op->del) {
			for (int i = 0; i < n->height; i++)
				prev[i]->next[i] = n->next[i];
			while (m->level > 1 && !m->head->next[m->level - 1])
				m->level--;
			kp__ver_unref(n->ver);
			free(n);
		} else {
			kp__ver_unref(n->ver);
			n->ver = kp__ver_ref(v);
		}
		return 0;
	}
	if (op->del)
		return 0;
	h = random_height(m);
	n = node_new(h, v);
	if (!n)
		return KP_ENOMEM;
	for (int i = m->level; i < h; i++)
		prev[i] = m->head;
	if (h > m->level)
		m->level = h;
	for (int i = 0; i < h; i++) {
		n->next[i] = prev[i]->next[i];
		prev[i]->next[i] = n;
	}
	kp__ver_ref(v);
	return 0;
}

static int mem_write(struct kp__backend *b, const struct kp__bop *ops, size_t n,
		     const struct kp__meta *meta, bool sync, char **errmsg)
{
	struct mem *m = (struct mem *)b;
	int ret = 0;

	pthread_rwlock_wrlock(&m->lock);
	/*
	 * Only node allocation can fail, and a half-applied batch would break
	 * atomicity: such a failure is reported and store.c stops writing
	 * (see "sticky failure" in docs/store.md).
	 */
	for (size_t i = 0; i < n && !ret; i++)
		ret = apply(m, &ops[i]);
	if (!ret)
		m->meta = *meta;
	pthread_rwlock_unlock(&m->lock);
	if (ret)
		return kp_error_set(errmsg, ret, "memory store: out of memory applying a batch");
	return 0;
}

static void mem_close(struct kp__backend *b)
{
	struct mem *m = (struct mem *)b;
	struct node *n = m->head;

	while (n) {
		struct node *next = n->next[0];

		kp__ver_unref(n->ver);
		free(n);
		n = next;
	}
	pthread_rwlock_destroy(&m->lock);
	free(m);
}

static const struct kp__backend_ops mem_ops = {
	.name = "memory",
	.get = mem_get,
	.view_open = mem_view_open,
	.scan = mem_scan,
	.view_close = mem_view_close,
	.write = mem_write,
	.close = mem_close,
};

int kp__backend_memory_open(struct kp__backend **out, struct kp__meta *meta, char **errmsg)
{
	struct mem *m = calloc(1, sizeof(*m));
	pthread_rwlockattr_t ra;

	if (!m || !(m->head = node_new(MAX_LEVEL, NULL))) {
		free(m);
		return kp_error_set(errmsg, KP_ENOMEM, "memory store: out of memory");
	}
	m->base.ops = &mem_ops;
	m->level = 1;
	m->rng = 0x9e3779b97f4a7c15ull;
	/*
	 * Writer-preferring: with glibc's default, back-to-back gets could keep
	 * the commit leader out forever. Safe because no thread takes the read
	 * lock twice (a list's view never calls get).
	 */
	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&m->lock, &ra);
	pthread_rwlockattr_destroy(&ra);
	*meta = m->meta;
	*out = &m->base;
	return 0;
}

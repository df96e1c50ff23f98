/*
 * intern.c - process-wide string interner (see <kplane/sched.h>).
 *
 * Strings are copied into append-only arenas and never freed, so that
 * kp_intern_str() can hand out pointers that live as long as the process
 * and can run without a lock: ids index a two-level table whose chunks,
 * once published, never move. Inserts and lookups by string take a mutex;
 * they happen when objects enter the cache, not in the per-node loop.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/sched.h>

#include "core/sched/internal.h"

#define CHUNK_BITS 12
#define CHUNK_SIZE (1u << CHUNK_BITS)
#define MAX_CHUNKS (1u << 16) /* 268 million strings */
#define ARENA_SIZE (64u * 1024)

struct entry {
	const char *s;
	uint32_t len;
	bool is_int;
	int64_t num;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(struct entry *) chunks[MAX_CHUNKS];
static atomic_uint_fast32_t count;
/* open addressing: slots hold id+1, 0 = empty */
static uint32_t *table;
static uint32_t table_cap;
static char *arena;
static size_t arena_left;

static uint32_t hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

static struct entry *entry_of(uint32_t id)
{
	struct entry *c = atomic_load_explicit(&chunks[id >> CHUNK_BITS], memory_order_acquire);
	return c ? &c[id & (CHUNK_SIZE - 1)] : NULL;
}

static bool parse_int(const char *s, size_t len, int64_t *out)
{
	char buf[32], *end;
	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = 0;
	errno = 0;
	long long v = strtoll(buf, &end, 10);
	if (errno || *end || end == buf)
		return false;
	*out = v;
	return true;
}

static int grow_table(void)
{
	uint32_t ncap = table_cap ? table_cap * 2 : 4096;
	uint32_t *nt = calloc(ncap, sizeof(*nt));
	if (!nt)
		return -1;
	for (uint32_t i = 0; i < table_cap; i++) {
		uint32_t v = table[i];
		if (!v)
			continue;
		struct entry *e = entry_of(v - 1);
		uint32_t h = hash(e->s, e->len) & (ncap - 1);
		while (nt[h])
			h = (h + 1) & (ncap - 1);
		nt[h] = v;
	}
	free(table);
	table = nt;
	table_cap = ncap;
	return 0;
}

/* Finds s; with create, inserts it. Called with the lock held. */
static int32_t find(const char *s, size_t len, bool create)
{
	if (!table_cap && grow_table() < 0)
		return KP_ID_NONE;
	uint32_t h = hash(s, len) & (table_cap - 1);
	for (;;) {
		uint32_t v = table[h];
		if (!v)
			break;
		struct entry *e = entry_of(v - 1);
		if (e->len == len && !memcmp(e->s, s, len))
			return (int32_t)(v - 1);
		h = (h + 1) & (table_cap - 1);
	}
	if (!create)
		return KP_ID_NONE;
	uint32_t id = (uint32_t)atomic_load_explicit(&count, memory_order_relaxed);
	if (id >= MAX_CHUNKS * CHUNK_SIZE - 1 || len > UINT32_MAX - 1)
		return KP_ID_NONE;
	if ((id & (CHUNK_SIZE - 1)) == 0 && !entry_of(id)) {
		struct entry *c = calloc(CHUNK_SIZE, sizeof(*c));
		if (!c)
			return KP_ID_NONE;
		atomic_store_explicit(&chunks[id >> CHUNK_BITS], c, memory_order_release);
	}
	if (arena_left < len + 1) {
		size_t sz = len + 1 > ARENA_SIZE ? len + 1 : ARENA_SIZE;
		char *a = malloc(sz);
		if (!a)
			return KP_ID_NONE;
		arena = a;
		arena_left = sz;
	}
	char *copy = arena;
	memcpy(copy, s, len);
	copy[len] = 0;
	arena += len + 1;
	arena_left -= len + 1;
	struct entry *e = entry_of(id);
	e->s = copy;
	e->len = (uint32_t)len;
	e->is_int = parse_int(s, len, &e->num);
	atomic_store_explicit(&count, id + 1, memory_order_release);
	table[h] = id + 1;
	/* keep the load factor under 1/2 */
	if ((id + 1) * 2 > table_cap && grow_table() < 0)
		return (int32_t)id; /* still inserted; next insert retries the growth */
	return (int32_t)id;
}

int32_t kp_intern_n(const char *s, size_t len)
{
	pthread_mutex_lock(&lock);
	int32_t id = find(s, len, true);
	pthread_mutex_unlock(&lock);
	return id;
}

int32_t kp_intern(const char *s)
{
	return kp_intern_n(s, strlen(s));
}

int32_t kp_intern_lookup(const char *s)
{
	pthread_mutex_lock(&lock);
	int32_t id = find(s, strlen(s), false);
	pthread_mutex_unlock(&lock);
	return id;
}

const char *kp_intern_str(int32_t id)
{
	if (id < 0 || (uint32_t)id >= atomic_load_explicit(&count, memory_order_acquire))
		return "";
	return entry_of((uint32_t)id)->s;
}

bool kp_intern_int(int32_t id, int64_t *out)
{
	if (id < 0 || (uint32_t)id >= atomic_load_explicit(&count, memory_order_acquire))
		return false;
	struct entry *e = entry_of((uint32_t)id);
	if (e->is_int)
		*out = e->num;
	return e->is_int;
}

uint32_t kp__intern_count(void)
{
	return (uint32_t)atomic_load_explicit(&count, memory_order_acquire);
}

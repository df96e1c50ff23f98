/*
 * mem.c - the scheduler's small memory tools: an arena for the compiled
 * arrays of one object (freed in one go when the object leaves the cache)
 * and an int32-keyed hash map for id lookups.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "core/sched/internal.h"

struct kp__arena_block {
	struct kp__arena_block *next;
	max_align_t data[];
};

#define ARENA_BLOCK 1024u

void *kp__arena_alloc(struct kp__arena *a, size_t size)
{
	size = (size + 15) & ~(size_t)15;
	if (size == 0)
		size = 16;
	if (a->left < size) {
		size_t bsz = size > ARENA_BLOCK ? size : ARENA_BLOCK;
		struct kp__arena_block *b = malloc(sizeof(*b) + bsz);
		if (!b)
			return NULL;
		b->next = a->head;
		a->head = b;
		a->next = (char *)b->data;
		a->left = bsz;
	}
	void *p = a->next;
	a->next += size;
	a->left -= size;
	memset(p, 0, size);
	return p;
}

char *kp__arena_strdup(struct kp__arena *a, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = kp__arena_alloc(a, n);
	if (p)
		memcpy(p, s, n);
	return p;
}

void kp__arena_release(struct kp__arena *a)
{
	struct kp__arena_block *b = a->head;
	while (b) {
		struct kp__arena_block *next = b->next;
		free(b);
		b = next;
	}
	memset(a, 0, sizeof(*a));
}

static uint32_t mix(int32_t k)
{
	uint32_t h = (uint32_t)k * 0x9E3779B1u;
	return h ^ (h >> 16);
}

void *kp__imap_get(const struct kp__imap *m, int32_t key)
{
	if (!m->cap)
		return NULL;
	uint32_t i = mix(key) & (m->cap - 1);
	for (;;) {
		int32_t k = m->keys[i];
		if (k == key)
			return m->vals[i];
		if (k == -1)
			return NULL;
		i = (i + 1) & (m->cap - 1);
	}
}

static int imap_grow(struct kp__imap *m)
{
	uint32_t ncap = m->cap ? m->cap * 2 : 64;
	int32_t *keys = malloc(ncap * sizeof(*keys));
	void **vals = malloc(ncap * sizeof(*vals));
	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -1;
	}
	memset(keys, 0xff, ncap * sizeof(*keys));
	uint32_t n = 0;
	for (uint32_t j = 0; j < m->cap; j++) {
		if (m->keys[j] < 0)
			continue;
		uint32_t i = mix(m->keys[j]) & (ncap - 1);
		while (keys[i] != -1)
			i = (i + 1) & (ncap - 1);
		keys[i] = m->keys[j];
		vals[i] = m->vals[j];
		n++;
	}
	free(m->keys);
	free(m->vals);
	m->keys = keys;
	m->vals = vals;
	m->cap = ncap;
	m->n = n;
	return 0;
}

int kp__imap_put(struct kp__imap *m, int32_t key, void *val)
{
	if ((m->n + 1) * 2 > m->cap && imap_grow(m) < 0)
		return -1;
	uint32_t i = mix(key) & (m->cap - 1);
	int32_t tomb = -1;
	for (;;) {
		int32_t k = m->keys[i];
		if (k == key) {
			m->vals[i] = val;
			return 0;
		}
		if (k == -2 && tomb < 0)
			tomb = (int32_t)i;
		if (k == -1)
			break;
		i = (i + 1) & (m->cap - 1);
	}
	if (tomb >= 0)
		i = (uint32_t)tomb;
	else
		m->n++; /* n counts used + deleted slots, so probing always ends */
	m->keys[i] = key;
	m->vals[i] = val;
	return 0;
}

void *kp__imap_del(struct kp__imap *m, int32_t key)
{
	if (!m->cap)
		return NULL;
	uint32_t i = mix(key) & (m->cap - 1);
	for (;;) {
		int32_t k = m->keys[i];
		if (k == key) {
			void *v = m->vals[i];
			m->keys[i] = -2;
			m->vals[i] = NULL;
			return v;
		}
		if (k == -1)
			return NULL;
		i = (i + 1) & (m->cap - 1);
	}
}

void kp__imap_release(struct kp__imap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

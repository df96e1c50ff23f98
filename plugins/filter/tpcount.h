/*
 * tpcount.h - a small open-addressing hash map from a 64-bit key to an
 * int64 count, shared (as static inline code, no exported symbols) by the
 * InterPodAffinity and PodTopologySpread plugins.
 *
 * Keys are topology domains: (topology key id, value id) packed by
 * tp_pair(), or a plain value id when the map belongs to one constraint.
 * Written only on the scheduling thread (PreFilter, PreScore, what-if
 * updates); Filter and Score on the worker threads only read it, so no
 * lock is needed.
 *
 * Ownership: a tpcount owns its arrays (malloc); tp_release() frees them.
 */
#ifndef KPLANE_PLUGINS_TPCOUNT_H
#define KPLANE_PLUGINS_TPCOUNT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/sched.h>

/* An empty slot's key: no valid pair has both halves == -1 (ids are >= 0). */
#define TP_EMPTY UINT64_MAX

struct tpcount {
	uint32_t cap;     /* power of two, 0 before the first insert */
	uint32_t n;       /* keys present (including those whose count fell to 0) */
	uint32_t nonzero; /* keys whose count is not 0: Go's len(map) after deletes */
	uint64_t *keys;
	int64_t *vals;
};

static inline uint64_t tp_pair(int32_t key, int32_t value)
{
	return ((uint64_t)(uint32_t)key << 32) | (uint32_t)value;
}

static inline uint32_t tp_hash(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (uint32_t)k;
}

static inline void tp_release(struct tpcount *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

/* Index of k, or of the empty slot where it would go (cap > 0). */
static inline uint32_t tp_slot(const struct tpcount *m, uint64_t k)
{
	uint32_t mask = m->cap - 1, i = tp_hash(k) & mask;
	while (m->keys[i] != TP_EMPTY && m->keys[i] != k)
		i = (i + 1) & mask;
	return i;
}

static inline int tp_grow(struct tpcount *m)
{
	uint32_t ncap = m->cap ? m->cap * 2 : 16;
	struct tpcount nm = { .cap = ncap, .n = m->n, .nonzero = m->nonzero };
	nm.keys = malloc(sizeof(*nm.keys) * ncap);
	nm.vals = malloc(sizeof(*nm.vals) * ncap);
	if (!nm.keys || !nm.vals) {
		free(nm.keys);
		free(nm.vals);
		return -1;
	}
	memset(nm.keys, 0xff, sizeof(*nm.keys) * ncap);
	for (uint32_t i = 0; i < m->cap; i++) {
		if (m->keys[i] == TP_EMPTY)
			continue;
		uint32_t j = tp_slot(&nm, m->keys[i]);
		nm.keys[j] = m->keys[i];
		nm.vals[j] = m->vals[i];
	}
	tp_release(m);
	*m = nm;
	return 0;
}

/* Makes room for `more` further keys without rehashing while inserting. */
static inline int tp_reserve(struct tpcount *m, uint32_t more)
{
	while ((uint64_t)(m->n + more) * 4 >= (uint64_t)m->cap * 3)
		if (tp_grow(m) < 0)
			return -1;
	return 0;
}

/* Pointer to k's count, inserting 0 when absent; NULL when out of memory. */
static inline int64_t *tp_ref(struct tpcount *m, uint64_t k)
{
	if ((uint64_t)(m->n + 1) * 4 >= (uint64_t)m->cap * 3 && tp_grow(m) < 0)
		return NULL;
	uint32_t i = tp_slot(m, k);
	if (m->keys[i] == TP_EMPTY) {
		m->keys[i] = k;
		m->vals[i] = 0;
		m->n++;
	}
	return &m->vals[i];
}

/* Adds delta to k's count, keeping `nonzero` right. -1 when out of memory. */
static inline int tp_add(struct tpcount *m, uint64_t k, int64_t delta)
{
	int64_t *v = tp_ref(m, k);
	if (!v)
		return -1;
	int64_t old = *v;
	*v += delta;
	if (old == 0 && *v != 0)
		m->nonzero++;
	else if (old != 0 && *v == 0)
		m->nonzero--;
	return 0;
}

/* k's count, 0 when absent. */
static inline int64_t tp_get(const struct tpcount *m, uint64_t k)
{
	if (m->n == 0)
		return 0;
	uint32_t i = tp_slot(m, k);
	return m->keys[i] == TP_EMPTY ? 0 : m->vals[i];
}

/* Pointer to k's count when present, else NULL. */
static inline const int64_t *tp_find(const struct tpcount *m, uint64_t k)
{
	if (m->n == 0)
		return NULL;
	uint32_t i = tp_slot(m, k);
	return m->keys[i] == TP_EMPTY ? NULL : &m->vals[i];
}

/* A deep copy of src into *dst (for what-if cycle copies). -1 on ENOMEM. */
static inline int tp_clone(struct tpcount *dst, const struct tpcount *src)
{
	memset(dst, 0, sizeof(*dst));
	if (src->cap == 0)
		return 0;
	dst->keys = malloc(sizeof(*dst->keys) * src->cap);
	dst->vals = malloc(sizeof(*dst->vals) * src->cap);
	if (!dst->keys || !dst->vals) {
		tp_release(dst);
		return -1;
	}
	memcpy(dst->keys, src->keys, sizeof(*dst->keys) * src->cap);
	memcpy(dst->vals, src->vals, sizeof(*dst->vals) * src->cap);
	dst->cap = src->cap;
	dst->n = src->n;
	dst->nonzero = src->nonzero;
	return 0;
}

#endif

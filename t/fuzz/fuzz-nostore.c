/*
 * fuzz-nostore.c - the harnesses call kp__kinds_default() without a store
 * (st == NULL: no PriorityClass lookups), so the store is not linked; these
 * two definitions satisfy kinds.c's references and fail loudly if a change
 * ever makes the no-store path reach them.
 */
#include "config.h"

#include <stdlib.h>

#include "store/store.h"

int kp_store_get(struct kp_store *st, const char *key, struct kp_kv *out)
{
	(void)st;
	(void)key;
	(void)out;
	abort();
}

void kp_kv_release(struct kp_kv *kv)
{
	(void)kv;
	abort();
}

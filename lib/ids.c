/*
 * ids.c -- the pool behind pgmm_next_id.
 *
 * IDs come in blocks from a master's offset sequence (pgmm.id_seq: START
 * slot INCREMENT stride, so no two masters ever hand out the same number)
 * and are handed out locally, oldest first.  Any ID may be used for any
 * table; when a transaction is bound to a master, the oldest ID whose shard
 * that master owns is taken and the others are kept for later.  Pure logic.
 *
 * Called by nextid.c and the unit tests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router_int.h"

void
pgmm_idpool_init(pgmm_idpool *p)
{
	p->ids = NULL;
	p->n = 0;
	p->cap = 0;
}

void
pgmm_idpool_free(pgmm_idpool *p)
{
	free(p->ids);
	pgmm_idpool_init(p);
}

int
pgmm_idpool_add(pgmm_idpool *p, const int64_t *ids, int n)
{
	if (n <= 0)
		return 0;
	if (n > 100000000 - p->n)
		return -1;
	if (p->n + n > p->cap)
	{
		int cap = p->cap ? p->cap : 64;
		int64_t *x;

		while (cap < p->n + n)
			cap *= 2;
		x = realloc(p->ids, (size_t) cap * sizeof(int64_t));
		if (x == NULL)
			return -1;
		p->ids = x;
		p->cap = cap;
	}
	memcpy(p->ids + p->n, ids, (size_t) n * sizeof(int64_t));
	p->n += n;
	return 0;
}

int
pgmm_id_owner(const pgmm_map *map, const pgmm_map_table *t, int64_t id)
{
	char buf[24], err[128];
	int len;

	if (t == NULL)
		return -1;
	if (t->kind == PGMM_TABLE_REFERENCE)
		return t->owner;
	if ((t->key_type == PGMM_KEY_INT4 && (id > INT32_MAX || id < INT32_MIN)) ||
	    (t->key_type == PGMM_KEY_INT2 && (id > INT16_MAX || id < INT16_MIN)))
		return -1;
	len = snprintf(buf, sizeof buf, "%lld", (long long) id);
	return pgmm_key_owner_text(map, t, buf, (size_t) len, err, sizeof err);
}

int
pgmm_idpool_take(pgmm_idpool *p, const pgmm_map *map, const pgmm_map_table *t, int want, int64_t *id)
{
	int i;

	for (i = 0; i < p->n; i++)
	{
		if (t != NULL && t->kind == PGMM_TABLE_DISTRIBUTED)
		{
			int o = pgmm_id_owner(map, t, p->ids[i]);

			if (o < 0)
				continue;		/* out of the key's range */
			if (want >= 0 && o != want)
				continue;
		}
		else if (want >= 0 && t != NULL && t->kind == PGMM_TABLE_REFERENCE && t->owner != want)
			return 1;
		*id = p->ids[i];
		memmove(p->ids + i, p->ids + i + 1, (size_t) (p->n - i - 1) * sizeof(int64_t));
		p->n--;
		return 0;
	}
	return 1;
}

void
pgmm_idpool_trim(pgmm_idpool *p, int max)
{
	int drop;

	if (max < 0 || p->n <= max)
		return;
	drop = p->n - max;
	memmove(p->ids, p->ids + drop, (size_t) max * sizeof(int64_t));
	p->n = max;
}
